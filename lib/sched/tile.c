/*
 * Tiling and command-stream emission for one NPU layer.
 *
 * Every NPU layer runs as a sequence of steps. A step loads what it needs
 * (input box, and weights/parameters when they change) into one of two
 * ACT IN buffers and WGT/PARAM halves, computes into one of two ACT OUT
 * buffers, and stores the output box. Dependency tokens (docs/HARDWARE.md
 * §2) let the load of step i+1, the compute of step i and the store of
 * step i-1 overlap:
 *   LOAD    first: POP_NEXT (c2l: IN buffer free)   last: PUSH_NEXT (l2c)
 *   COMPUTE first: POP_PREV (l2c), POP_NEXT (s2c: OUT buffer free)
 *           last:  PUSH_PREV (c2l), PUSH_NEXT (c2s)
 *   STORE   first: POP_PREV (c2s)                   last: PUSH_PREV (s2c)
 * primed with two c2l and two s2c tokens and drained at the end of the
 * layer, then a FENCE (the next layer reads what this one stored).
 * docs/SCHEDULER.md has the layout of each SRAM and the proofs.
 */
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "driver/npu_desc.h"
#include "driver/npu_regs.h"
#include "ref/quant.h"
#include "ref/ref.h"
#include "sched/sched_int.h"

#define W(d, i) ((d)[(i)])

static uint32_t rup(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}

static uint32_t cdiv(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a;
}

static int32_t imin(int32_t a, int32_t b)
{
	return a < b ? a : b;
}

static int32_t imax(int32_t a, int32_t b)
{
	return a > b ? a : b;
}

/* ---- layer geometry ---------------------------------------------------- */

/* The convolution a CONV/FC layer is, per group: FC is a 1x1 on 1x1xK.
 * s2d != 0: the stem rewrite (stem_geom) of a layer with s2d input
 * channels, the second input row's 2 * s2d bytes at S channel s2d_half. */
struct sp_conv {
	int32_t H, W, cin_g, OH, OW, cout_g, G;
	int32_t kh, kw, sh, sw, pt, pl;
	int fc;
	int32_t s2d, s2d_half;
};

static void conv_geom(const struct npui_graph *g, const struct npui_layer *l, struct sp_conv *v)
{
	const struct npui_tensor *in = &g->tensors[l->inputs[0]];
	const struct npui_tensor *out = &g->tensors[l->output];

	memset(v, 0, sizeof(*v));
	if (l->op == NPUI_OP_FC) {
		v->H = v->W = v->OH = v->OW = 1;
		v->cin_g = in->h * in->w * in->c;
		v->cout_g = out->c;
		v->G = 1;
		v->kh = v->kw = v->sh = v->sw = 1;
		v->fc = 1;
		return;
	}
	v->G = l->groups ? l->groups : 1;
	v->H = in->h;
	v->W = in->w;
	v->cin_g = in->c / v->G;
	v->OH = out->h;
	v->OW = out->w;
	v->cout_g = out->c / v->G;
	v->kh = l->kh;
	v->kw = l->kw;
	v->sh = l->stride_h;
	v->sw = l->stride_w;
	v->pt = l->pad_t;
	v->pl = l->pad_l;
}

/*
 * The sub-row dy = 1 starts at S channel h = rup(2C, DMA bytes) rather
 * than 2C when that keeps each load run inside one DMA chunk and still
 * fits an ACT word: a run that ends past a chunk costs the ACT port a
 * second write (npu_dma's flush), and that port is shared with the
 * epilogue's writes and the stores' reads. S channels in between get
 * weight 0.
 */
static int32_t stem_half(const struct sp_geom *geo, int32_t C)
{
	uint32_t off = 2 * (uint32_t)C, D = geo->dmab;

	if (off / D != (4 * (uint32_t)C - 1) / D && rup(off, D) + off <= geo->Cc)
		off = rup(off, D);
	return (int32_t)off;
}

/*
 * The stem (docs/SCHEDULER.md, "The stem: space-to-depth in the DMA load"):
 * a KxK stride-2 conv over H x W x C (H, W even, 4C <= PW cols) is a
 * stride-1 conv over S, (H/2) x (W/2) x (h + 2C) with h = stem_half() and
 *   S[Y][X][dy*h + dx*C + c] = in[2Y + dy][2X + dx][c].
 * Input row 2*oy - pt + ky is S row oy - pt' + j, sub-row dy, when
 * ky = 2j + dy - e with pt' = ceil(pt/2), e = pt & 1; so j < K' =
 * (K - 1 + e)/2 + 1 covers every ky, and (j, dy) with ky outside [0, K)
 * get weight 0 (stem_weights). S rows outside S are input rows outside
 * the input: padding either way. Columns likewise; OH, OW stay.
 */
static int stem_geom(const struct sp_geom *geo, const struct sp_conv *v, struct sp_conv *s)
{
	if (v->fc || v->G != 1 || v->sh != 2 || v->sw != 2 || (v->H & 1) || (v->W & 1) ||
	    4 * (uint32_t)v->cin_g > geo->Cc)
		return 0;
	*s = *v;
	s->H = v->H / 2;
	s->W = v->W / 2;
	s->s2d_half = stem_half(geo, v->cin_g);
	s->cin_g = s->s2d_half + 2 * v->cin_g;
	s->kh = (v->kh - 1 + (v->pt & 1)) / 2 + 1;
	s->kw = (v->kw - 1 + (v->pl & 1)) / 2 + 1;
	s->sh = s->sw = 1;
	s->pt = (v->pt + 1) / 2;
	s->pl = (v->pl + 1) / 2;
	s->s2d = v->cin_g;
	return 1;
}

/* The weights of stem conv s ([Cout][K'h][K'w][S channels]) from layer
 * l's ([Cout][K][K][C], geometry v); NULL when out of memory. */
static int8_t *stem_weights(const struct npui_layer *l, const struct sp_conv *v,
                            const struct sp_conv *s)
{
	const int32_t C = v->cin_g, et = v->pt & 1, el = v->pl & 1;
	int8_t *w = calloc((size_t)s->cout_g * s->kh * s->kw * s->cin_g, 1);

	for (int32_t oc = 0; w && oc < s->cout_g; oc++)
		for (int32_t j = 0; j < s->kh; j++)
			for (int32_t i = 0; i < s->kw; i++)
				for (int32_t q = 0; q < s->cin_g; q++) {
					int32_t dy = q >= s->s2d_half, r = q - dy * s->s2d_half;
					int32_t ky = 2 * j + dy - et, kx = 2 * i + r / C - el;

					if (r >= 2 * C || ky < 0 || ky >= v->kh || kx < 0 ||
					    kx >= v->kw)
						continue;
					w[(((size_t)oc * s->kh + j) * s->kw + i) * s->cin_g + q] =
					        l->weights[(((size_t)oc * v->kh + ky) * v->kw +
					                    kx) * C +
					                   r % C];
				}
	return w;
}

/* Input rows/cols an output range needs, clipped to the input. */
static void in_range(int32_t o0, int32_t on, int32_t s, int32_t pad, int32_t k, int32_t n,
                     int32_t *i0, int32_t *in, int32_t *tpad)
{
	int32_t lo = o0 * s - pad, hi = (o0 + on - 1) * s - pad + k;
	int32_t clo = imax(lo, 0), chi = imin(hi, n);

	*i0 = clo;
	*in = chi - clo;
	*tpad = clo - lo;
}

/* ---- DMA boxes and what they cost ------------------------------------------ */

struct dma_box {
	uint32_t rows, cols, chans;
	uint32_t h_cs, h_ps, h_rs; /* host strides */
	uint32_t s_ps, s_rs;       /* SRAM strides */
};

/*
 * Timing of the built device that the tiler's cost uses (docs/SCHEDULER.md
 * §2, "Cost") and that CAPS does not report: memory latency of the board
 * the harness models (docs/HARDWARE.md §14.3), beats per burst of npu_dma
 * (§6, its MaxBeats), and descriptors the command processor fetches ahead
 * (npu_cmdproc DescDepth). The bursts in flight are CAPS3.DMA_OUTST.
 */
#define SP_MEM_LATENCY   100
#define SP_DMA_MAX_BEATS 16
#define SP_DESC_AHEAD    2

/* Largest divisor of n that is at most lim (>= 1). */
static uint32_t divisor_upto(uint32_t n, uint32_t lim)
{
	uint32_t f = n < lim ? n : lim;

	while (f > 1 && n % f)
		f--;
	return f ? f : 1;
}

/*
 * The same box with fewer, longer runs. The walker (npu_dma_box) makes one
 * run per pixel when the host channel stride is 1 and cuts runs into
 * bursts, so a latency-bound DMA moves one pixel per burst; pixels, then
 * rows, that follow each other both in host memory and in SRAM are one run
 * instead (a multiple of them while chans fits its 16-bit field). Same
 * bytes at the same addresses; SRAM strides stay whole words.
 */
static void box_merge(struct dma_box *b)
{
	uint32_t f;

	if (b->h_cs != 1)
		return;
	if (b->cols > 1 && b->h_ps == b->chans && b->s_ps == b->chans) {
		f = divisor_upto(b->cols, 0xffffu / b->chans);
		b->chans *= f;
		b->cols /= f;
		b->h_ps = b->s_ps = b->chans;
	}
	if (b->cols == 1 && b->rows > 1 && b->h_rs == b->chans && b->s_rs == b->chans) {
		f = divisor_upto(b->rows, 0xffffu / b->chans);
		b->chans *= f;
		b->rows /= f;
		b->h_ps = b->s_ps = b->h_rs = b->s_rs = b->chans;
	}
}

/*
 * Cycles of a box as the DMA walks it (merged as emit_dma does): its
 * bursts stream at a beat a cycle (a store gathers each burst from SRAM
 * while the one before it sends: a beat a cycle and about two more per
 * burst) but no faster than the
 * bursts in flight allow against the latency, and the descriptor is done
 * a latency after its last burst. Its beats are added to *beats (the
 * memory port's budget is shared by both directions). 4 KiB crossings are
 * ignored.
 */
static double box_cycles(const struct sp_geom *geo, struct dma_box b, int store, double *beats)
{
	uint64_t maxb = (uint64_t)SP_DMA_MAX_BEATS * geo->dmab, runs, len, full, rem;
	double nb, nbeats, t;

	box_merge(&b);
	runs = (uint64_t)b.rows * b.cols * (b.h_cs == 1 ? 1 : b.chans);
	len = b.h_cs == 1 ? b.chans : 1;
	full = len / maxb;
	rem = len % maxb;
	nb = (double)runs * (double)(full + (rem ? 1 : 0));
	nbeats = (double)runs * (double)(full * SP_DMA_MAX_BEATS + cdiv((uint32_t)rem, geo->dmab));
	*beats += nbeats;
	t = store ? nbeats + 2 * nb : nbeats;
	if (nb * SP_MEM_LATENCY / geo->outst > t)
		t = nb * SP_MEM_LATENCY / geo->outst;
	return SP_MEM_LATENCY + t;
}

/* A linear load of n bytes (weights, parameters). */
static double linear_cycles(const struct sp_geom *geo, uint64_t n, double *beats)
{
	struct dma_box b = {1, 1, 0, 1, 0, 0, 0, 0};
	double t = 0;

	while (n) {
		b.chans = n > 32768 ? 32768 : (uint32_t)n;
		t += box_cycles(geo, b, 0, beats);
		n -= b.chans;
	}
	return t;
}

/* ---- tile sizing --------------------------------------------------------- */

/* What one tile of a layer needs (fits() decides) and does (the cost). */
struct sp_need {
	uint64_t in, out, wgt, par, acc; /* SRAM: bytes; PARAM words; ACC words */
	uint32_t nin;                    /* input boxes per step (ADD: 2) */
	uint32_t ih, iw, ic, ips;        /* input box: pixels, channels, SRAM pixel stride */
	uint32_t oh, ow, oc, ops;        /* output box (oc 0: no store) */
	uint32_t ndesc;                  /* descriptors per step, weights aside */
	double comp;                     /* engine cycles of the step */
};

/* The host side of a layer's boxes (own buffers, channels contiguous) and
 * how often weights are loaded. */
struct sp_host {
	uint32_t in_w, in_c, out_w, out_c;
	uint32_t sets;   /* weight loads per channel tile (PW: groups), 0: none */
	uint32_t all_ch; /* 1: all channels in one tile whenever that fits */
};

typedef void (*need_fn)(const struct sp_ctx *c, const void *arg, int32_t th, int32_t tw, int32_t ct,
                        int32_t kc, struct sp_need *n);

static int fits(const struct sp_geom *geo, const struct sp_need *n)
{
	uint64_t in = rup((uint32_t)n->in, geo->aw), out = rup((uint32_t)n->out, geo->aw);

	if (n->in > 0x7fffffff || n->out > 0x7fffffff)
		return 0;
	return 2 * (in + out) <= geo->act && n->wgt <= geo->wgt_half && n->par <= geo->par_half &&
	       n->acc <= geo->acc_words;
}

/* Candidate sizes: all, then about all/2, all/4, ... rounded up to unit. */
static int candidates(int32_t all, int32_t unit, int32_t *out, int max)
{
	int n = 0;

	for (int32_t d = 1; n < max; d *= 2) {
		int32_t v = (int32_t)rup(cdiv((uint32_t)all, (uint32_t)d), (uint32_t)unit);

		if (v > all)
			v = all;
		if (n == 0 || v < out[n - 1])
			out[n++] = v;
		if (v <= unit || v <= 1)
			break;
	}
	return n;
}

/* The sizes tiles of t take along an axis of `all`, with their counts. */
static int spans(int32_t all, int32_t t, int32_t sz[2], uint64_t cnt[2])
{
	int n = 0;

	if (all / t) {
		sz[n] = t;
		cnt[n++] = (uint64_t)(all / t);
	}
	if (all % t) {
		sz[n] = all % t;
		cnt[n++] = 1;
	}
	return n;
}

/*
 * Estimated cycles of a layer tiled th x tw x ct (x kc): per step, the
 * slowest of its loads, its compute, its store and the memory port's beats
 * (the three queues overlap), plus the fetch of its descriptors; plus the
 * first load and the last store, which nothing hides, plus the weight
 * loads. docs/SCHEDULER.md §2 "Cost".
 */
static double tile_cost(const struct sp_ctx *c, const void *arg, need_fn need,
                        const struct sp_host *hs, int32_t OH, int32_t OW, int32_t call,
                        int32_t kall, int32_t th, int32_t tw, int32_t ct, int32_t kc)
{
	const struct sp_geom *geo = &c->geo;
	double desc = ((double)SP_MEM_LATENCY + 64.0 / geo->dmab) / SP_DESC_AHEAD;
	int32_t hs_[2], ws_[2], cs_[2], ks_[2];
	uint64_t hc[2], wc[2], cc[2], kcnt[2];
	int nh = spans(OH, th, hs_, hc), nw = spans(OW, tw, ws_, wc);
	int nc = spans(call, ct, cs_, cc), nk = kall ? spans(kall, kc, ks_, kcnt) : 1;
	int ksplit = kall && kc < kall;
	double total = 0, edge = 0;

	if (!kall) {
		ks_[0] = 0;
		kcnt[0] = 1;
	}
	for (int a = 0; a < nc; a++) {
		for (int k = 0; k < nk; k++)
			for (int y = 0; y < nh; y++)
				for (int x = 0; x < nw; x++) {
					struct sp_need n;
					struct dma_box b;
					double beats = 0, ld, st = 0, wl = 0, step;
					uint32_t nd;

					need(c, arg, hs_[y], ws_[x], cs_[a], ks_[k], &n);
					b.rows = n.ih;
					b.cols = n.iw;
					b.chans = n.ic;
					b.h_cs = 1;
					b.h_ps = hs->in_c;
					b.h_rs = hs->in_w * hs->in_c;
					b.s_ps = n.ips;
					b.s_rs = n.iw * n.ips;
					ld = n.nin * box_cycles(geo, b, 0, &beats);
					beats *= n.nin;
					if (n.oc) {
						b.rows = n.oh;
						b.cols = n.ow;
						b.chans = n.oc;
						b.h_ps = hs->out_c;
						b.h_rs = hs->out_w * hs->out_c;
						b.s_ps = n.ops;
						b.s_rs = n.ow * n.ops;
						st = box_cycles(geo, b, 1, &beats);
					}
					nd = n.ndesc;
					if (ksplit) {
						/* weights of the chunk with every step */
						wl = linear_cycles(geo, n.wgt, &beats) +
						     linear_cycles(geo, n.par * geo->pwb, &beats);
						nd += 2;
					}
					step = ld + wl;
					if (st > step)
						step = st;
					if (n.comp > step)
						step = n.comp;
					if (beats > step)
						step = beats;
					/* measured: the steps' descriptor fetches are not
					 * hidden behind the work (two fetched ahead) */
					step += nd * desc;
					total += (double)(cc[a] * kcnt[k] * hc[y] * wc[x]) * step;
					if (!a && !k && !y && !x)
						edge = ld + wl + st;
				}
		if (hs->sets && !ksplit) {
			struct sp_need n;
			double beats = 0;

			need(c, arg, hs_[0], ws_[0], cs_[a], ks_[0], &n);
			total += (double)(cc[a] * hs->sets) *
			         (linear_cycles(geo, n.wgt, &beats) +
			          linear_cycles(geo, n.par * geo->pwb, &beats) + 2 * desc);
		}
	}
	return total + edge;
}

/*
 * Choose th, tw, ct, kc: the cheapest by tile_cost() among, for each
 * candidate (ct, kc) and tile width, the tallest tile that fits and that
 * height halved and quartered; with hs->all_ch only ct = call when one
 * pixel of all channels fits. A K-split only where it costs less (never
 * forcing one: a 1x1 of few input channels keeps them together). Returns 1
 * if some tiling fits.
 */
static int choose(const struct sp_ctx *c, const void *arg, need_fn need, const struct sp_host *hs,
                  int32_t OH, int32_t OW, int32_t call, int32_t cunit, int32_t kall, int32_t kunit,
                  struct sp_tile *best)
{
	int32_t cts[24], kcs[24], tws[40];
	int nct = candidates(call, cunit, cts, 24);
	int nkc = kall ? candidates(kall, kunit, kcs, 24) : 1;
	int ntw = 0;
	double best_score = -1;
	struct sp_need n;

	if (!kall)
		kcs[0] = 0;
	need(c, arg, 1, 1, call, kcs[0], &n);
	if (hs->all_ch && fits(&c->geo, &n))
		nct = 1;
	for (int32_t d = 1; ntw < 40 && d <= OW; d = d < 16 ? d + 1 : d * 2) {
		int32_t v = (int32_t)cdiv((uint32_t)OW, (uint32_t)d);
		if (ntw == 0 || v < tws[ntw - 1])
			tws[ntw++] = v;
	}
	for (int ik = 0; ik < nkc; ik++) {
		for (int ic = 0; ic < nct; ic++) {
			int32_t ct = cts[ic], kc = kcs[ik];

			for (int it = 0; it < ntw; it++) {
				int32_t tw = tws[it], lo = 1, hi = OH, prev = 0;

				need(c, arg, 1, tw, ct, kc, &n);
				if (!fits(&c->geo, &n))
					continue;
				while (lo < hi) {
					int32_t mid = (lo + hi + 1) / 2;
					need(c, arg, mid, tw, ct, kc, &n);
					if (fits(&c->geo, &n))
						lo = mid;
					else
						hi = mid - 1;
				}
				for (int32_t q = 1; q <= 4; q *= 2) {
					/* the same number of rows of tiles, evened out */
					int32_t nt = (int32_t)cdiv((uint32_t)OH, (uint32_t)lo) * q;
					int32_t th = (int32_t)cdiv((uint32_t)OH, (uint32_t)nt);
					double score;

					if (th == prev)
						break;
					prev = th;
					score = tile_cost(c, arg, need, hs, OH, OW, call, kall, th,
					                  tw, ct, kc);
					if (best_score < 0 || score < best_score) {
						best_score = score;
						best->th = th;
						best->tw = tw;
						best->ct = ct;
						best->kc = kc;
					}
				}
			}
		}
	}
	if (best_score < 0)
		return 0;
	best->cost = best_score;
	/* buffers for the largest tile of the chosen sizes */
	need(c, arg, best->th, best->tw, best->ct, best->kc, &n);
	best->in_sz = (uint32_t)rup((uint32_t)n.in, c->geo.aw);
	best->out_sz = (uint32_t)rup((uint32_t)n.out, c->geo.aw);
	return 1;
}

/* The boxes of a step: input ih x iw x ic at SRAM pixel stride ips, output
 * oh x ow x oc at ops; three descriptors (load, compute, store). */
static void need_boxes(struct sp_need *n, int32_t ih, int32_t iw, uint32_t ic, uint32_t ips,
                       int32_t oh, int32_t ow, uint32_t oc, uint32_t ops)
{
	n->nin = 1;
	n->ih = (uint32_t)ih;
	n->iw = (uint32_t)iw;
	n->ic = ic;
	n->ips = ips;
	n->oh = (uint32_t)oh;
	n->ow = (uint32_t)ow;
	n->oc = oc;
	n->ops = ops;
	n->ndesc = 3;
}

static void need_pw(const struct sp_ctx *c, const void *arg, int32_t th, int32_t tw, int32_t ct,
                    int32_t kc, struct sp_need *n)
{
	const struct sp_conv *v = arg;
	const struct sp_geom *geo = &c->geo;
	uint32_t icgs = cdiv((uint32_t)kc, geo->Cc), ocgs = cdiv((uint32_t)ct, geo->R);
	int32_t ih = imin(v->H, (th - 1) * v->sh + v->kh),
	        iw = imin(v->W, (tw - 1) * v->sw + v->kw);
	double px = (double)th * tw * ocgs, taps = (double)v->kh * v->kw * icgs;
	double epi = (double)geo->R / geo->epl;

	n->in = (uint64_t)ih * iw * icgs * geo->Cc;
	n->out = (uint64_t)th * tw * rup((uint32_t)ct, geo->aw);
	n->wgt = (uint64_t)ocgs * v->kh * v->kw * icgs * geo->ww;
	n->par = 3ull * ocgs;
	n->acc = kc < v->cin_g ? (uint64_t)th * tw * ocgs : 0;
	need_boxes(n, ih, iw, (uint32_t)kc, icgs * geo->Cc, th, tw, (uint32_t)ct,
	           rup((uint32_t)ct, geo->aw));
	if (v->s2d) {
		/* two loads (input rows 2Y and 2Y + 1) of 2C bytes per S pixel */
		n->nin = 2;
		n->ic = 2 * (uint32_t)v->s2d;
		n->ndesc++;
	}
	/* an ACT word of one tap a cycle per output pixel and channel group;
	 * the epilogue takes R results at epi_lanes a cycle. K-split: raw
	 * accumulators, and a PPU_REQUANT (R results at ppu_lanes a cycle)
	 * after the last chunk. */
	if (kc < v->cin_g) {
		double nkc = (double)cdiv((uint32_t)v->cin_g, (uint32_t)kc);
		n->comp = px * taps + px * ((double)geo->R / geo->ppl) / nkc;
		n->ndesc = 4;
	} else {
		n->comp = px * (taps > epi ? taps : epi);
	}
}

static void need_dw(const struct sp_ctx *c, const void *arg, int32_t th, int32_t tw, int32_t ct,
                    int32_t kc, struct sp_need *n)
{
	const struct sp_conv *v = arg;
	const struct sp_geom *geo = &c->geo;
	uint32_t cp = rup((uint32_t)ct, geo->dw_cpad);
	int32_t ih = imin(v->H, (th - 1) * v->sh + v->kh),
	        iw = imin(v->W, (tw - 1) * v->sw + v->kw);
	double taps = (double)v->kh * v->kw, epi = (double)geo->L / geo->epl;

	(void)kc;
	n->in = (uint64_t)ih * iw * cp;
	n->out = (uint64_t)th * tw * cp;
	n->wgt = rup((uint32_t)(v->kh * v->kw) * cp, geo->ww);
	n->par = 3ull * cdiv((uint32_t)ct, geo->L);
	n->acc = 0;
	need_boxes(n, ih, iw, (uint32_t)ct, cp, th, tw, (uint32_t)ct, cp);
	/* one tap a cycle per pixel and lane group (npu_dw) */
	n->comp = (double)th * tw * cdiv((uint32_t)ct, geo->L) * (taps > epi ? taps : epi);
}

/* Pools reuse sp_conv for the window geometry (cin_g = C). */
static void need_pool(const struct sp_ctx *c, const void *arg, int32_t th, int32_t tw, int32_t ct,
                      int32_t kc, struct sp_need *n)
{
	const struct sp_conv *v = arg;
	uint32_t cp = rup((uint32_t)ct, c->geo.aw);
	int32_t ih = imin(v->H, (th - 1) * v->sh + v->kh),
	        iw = imin(v->W, (tw - 1) * v->sw + v->kw);

	(void)kc;
	n->in = (uint64_t)ih * iw * cp;
	n->out = (uint64_t)th * tw * cp;
	n->wgt = 0;
	n->par = v->G; /* AVG: table words (kh*kw), else 0 */
	n->acc = 0;
	need_boxes(n, ih, iw, (uint32_t)ct, cp, th, tw, (uint32_t)ct, cp);
	/* one ACT word per window tap, then the word through the lanes */
	n->comp = (double)th * tw * (cp / c->geo.aw) *
	          ((double)v->kh * v->kw + (double)c->geo.aw / c->geo.ppl);
}

/* ADD (two inputs) and COPY (no OUT buffer): elementwise boxes. G = 2 for
 * ADD, 0 for COPY. */
static void need_elt(const struct sp_ctx *c, const void *arg, int32_t th, int32_t tw, int32_t ct,
                     int32_t kc, struct sp_need *n)
{
	const struct sp_conv *v = arg;
	uint32_t cp = rup((uint32_t)ct, c->geo.aw);
	uint64_t box = (uint64_t)th * tw * cp;

	(void)kc;
	n->in = v->G == 2 ? 2 * box : box;
	n->out = v->G == 2 ? box : 0;
	n->wgt = n->par = n->acc = 0;
	need_boxes(n, th, tw, (uint32_t)ct, cp, th, tw, (uint32_t)ct, cp);
	n->nin = v->G == 2 ? 2 : 1;
	n->ndesc = 4; /* ADD: two loads; COPY: two SYNCs */
	/* ADD: AddLanes (4, or the PPU lanes if fewer) elements a cycle */
	n->comp = v->G == 2 ? (double)box / (c->geo.ppl < 4 ? c->geo.ppl : 4) : 0;
}

static void pool_geom(const struct npui_graph *g, const struct npui_layer *l, struct sp_conv *v)
{
	const struct npui_tensor *in = &g->tensors[l->inputs[0]];
	const struct npui_tensor *out = &g->tensors[l->output];

	memset(v, 0, sizeof(*v));
	v->H = in->h;
	v->W = in->w;
	v->cin_g = v->cout_g = in->c;
	v->OH = out->h;
	v->OW = out->w;
	if (l->op == NPUI_OP_GAP) {
		v->kh = in->h;
		v->kw = in->w;
		v->sh = v->sw = 1;
		return;
	}
	v->kh = l->kh;
	v->kw = l->kw;
	v->sh = l->stride_h;
	v->sw = l->stride_w;
	v->pt = l->pad_t;
	v->pl = l->pad_l;
	v->G = l->op == NPUI_OP_AVGPOOL ? l->kh * l->kw : 0;
}

int sp_plan_tile(const struct sp_ctx *c, uint32_t li, int kind, struct sp_tile *t)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];
	const struct npui_tensor *in = &g->tensors[l->inputs[0]];
	const struct npui_tensor *out = &g->tensors[l->output];
	struct sp_host hs = {
	        (uint32_t)in->w, (uint32_t)in->c, (uint32_t)out->w, (uint32_t)out->c, 0, 0};
	struct sp_conv v;

	memset(t, 0, sizeof(*t));
	switch (kind) {
	case SP_PW:
		conv_geom(g, l, &v);
		hs.sets = (uint32_t)v.G;
		if (v.fc) /* a 1x1 on 1x1xK */
			hs.in_w = 1, hs.in_c = (uint32_t)v.cin_g, hs.out_w = 1;
		return choose(c, &v, need_pw, &hs, v.OH, v.OW, v.cout_g, (int32_t)c->geo.R, v.cin_g,
		              (int32_t)c->geo.Cc, t);
	case SP_DW:
		conv_geom(g, l, &v);
		v.cin_g = in->c;
		hs.sets = 1;
		/* a pixel's channels as one run, its weights loaded once */
		hs.all_ch = 1;
		return choose(c, &v, need_dw, &hs, v.OH, v.OW, in->c, (int32_t)c->geo.dw_cpad, 0, 0,
		              t);
	case SP_POOL:
		pool_geom(g, l, &v);
		if (l->op == NPUI_OP_GAP) /* one tile covers the whole plane */
			return choose(c, &v, need_pool, &hs, 1, 1, in->c, (int32_t)c->geo.aw, 0, 0,
			              t);
		return choose(c, &v, need_pool, &hs, v.OH, v.OW, in->c, (int32_t)c->geo.aw, 0, 0,
		              t);
	case SP_ADD:
		memset(&v, 0, sizeof(v));
		v.G = 2;
		v.H = v.OH = out->h;
		v.W = v.OW = out->w;
		v.kh = v.kw = v.sh = v.sw = 1;
		return choose(c, &v, need_elt, &hs, out->h, out->w, out->c, (int32_t)c->geo.aw, 0,
		              0, t);
	case SP_COPY: {
		int32_t cmax = 0;

		/* the widest tensor this layer moves */
		for (unsigned k = 0; k < l->num_inputs; k++)
			cmax = imax(cmax, g->tensors[l->inputs[k]].c);
		cmax = imax(cmax, out->c);
		memset(&v, 0, sizeof(v));
		v.H = v.OH = out->h;
		v.W = v.OW = out->w;
		v.kh = v.kw = v.sh = v.sw = 1;
		hs.in_c = hs.out_c = (uint32_t)cmax;
		return choose(c, &v, need_elt, &hs, out->h, out->w, cmax, (int32_t)c->geo.aw, 0, 0,
		              t);
	}
	default:
		return 0;
	}
}

int sp_plan_stem(const struct sp_ctx *c, uint32_t li, struct sp_tile *t)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];
	struct sp_conv v, s;
	struct sp_host hs;

	memset(t, 0, sizeof(*t));
	if (l->op != NPUI_OP_CONV)
		return 0;
	conv_geom(g, l, &v);
	if (!stem_geom(&c->geo, &v, &s))
		return 0;
	/* a load box's pixel is 2C bytes of an input row, its row two rows */
	hs.in_w = (uint32_t)v.W;
	hs.in_c = 2 * (uint32_t)v.cin_g;
	hs.out_w = (uint32_t)v.OW;
	hs.out_c = (uint32_t)v.cout_g;
	hs.sets = 1;
	hs.all_ch = 0;
	if (!choose(c, &s, need_pw, &hs, s.OH, s.OW, s.cout_g, (int32_t)c->geo.R, s.cin_g,
	            (int32_t)c->geo.Cc, t))
		return 0;
	t->s2d = 1;
	return 1;
}

/* ---- emission primitives ------------------------------------------------ */

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t n;
	void *q;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 256;
	while (n < need)
		n *= 2;
	q = realloc(*p, (size_t)n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/*
 * Append descriptor w, which npu_desc_<layout>_pack() filled with return
 * code rc; returns its index (or UINT32_MAX after an error). A field value
 * that does not fit (rc != 0) is a tiling bug: NPU_ERR_INTERNAL rather
 * than a silently truncated descriptor. Each emitter sets the tag to
 * c->layer, for attribution.
 */
static uint32_t emit(struct sp_ctx *c, int rc, const uint32_t w[NPU_HW_DESC_WORDS])
{
	uint32_t i = c->ndesc;
	uint32_t cap = c->desc_cap;

	if (c->err)
		return UINT32_MAX;
	if (rc) {
		c->err = NPU_ERR_INTERNAL;
		return UINT32_MAX;
	}
	if (grow((void **)&c->desc, &cap, (i + 1) * NPU_HW_DESC_WORDS, sizeof(uint32_t))) {
		c->err = NPU_ERR_NO_MEM;
		return UINT32_MAX;
	}
	/* lod grows in step with desc (desc_cap counts words) */
	if (cap != c->desc_cap || !c->lod) {
		uint32_t *q = realloc(c->lod, (size_t)cap / NPU_HW_DESC_WORDS * sizeof(uint32_t));
		if (!q) {
			c->err = NPU_ERR_NO_MEM;
			return UINT32_MAX;
		}
		c->lod = q;
	}
	c->desc_cap = cap;
	memcpy(&c->desc[i * NPU_HW_DESC_WORDS], w, NPU_HW_DESC_WORDS * sizeof(uint32_t));
	c->lod[i] = c->layer;
	c->ndesc++;
	return i;
}

/* Set token flags on an emitted descriptor (mark() knows them only once
 * the transfers around a compute step are emitted). */
static void add_flags(struct sp_ctx *c, uint32_t i, uint32_t flags)
{
	if (i != UINT32_MAX && !c->err)
		c->desc[i * NPU_HW_DESC_WORDS + NPU_DESC_HDR_FLAGS_WORD] |=
		        flags << NPU_DESC_HDR_FLAGS_SHIFT;
}

static void reloc(struct sp_ctx *c, uint32_t desc, uint8_t kind, uint64_t off)
{
	uint32_t cap = c->rel_cap;

	if (c->err || desc == UINT32_MAX)
		return;
	if (grow((void **)&c->rel, &cap, c->nrel + 1, sizeof(*c->rel))) {
		c->err = NPU_ERR_NO_MEM;
		return;
	}
	c->rel_cap = cap;
	c->rel[c->nrel].desc = desc;
	c->rel[c->nrel].word = NPU_DESC_DMA_HOST_ADDR_WORD;
	c->rel[c->nrel].kind = kind;
	c->rel[c->nrel].offset = off;
	c->nrel++;
}

/* Append bytes to the const blob, 64-byte aligned; returns the offset. */
static size_t blob_alloc(struct sp_ctx *c, size_t n, uint8_t **p)
{
	size_t off = (c->blob_size + 63) & ~(size_t)63;

	*p = NULL;
	if (c->err)
		return 0;
	if (off + n > c->blob_cap) {
		size_t cap = c->blob_cap ? c->blob_cap : 4096;
		uint8_t *q;

		while (cap < off + n)
			cap *= 2;
		q = realloc(c->blob, cap);
		if (!q) {
			c->err = NPU_ERR_NO_MEM;
			return 0;
		}
		c->blob = q;
		c->blob_cap = cap;
	}
	memset(c->blob + c->blob_size, 0, off + n - c->blob_size);
	c->blob_size = off + n;
	*p = c->blob + off;
	return off;
}

static uint32_t emit_dma(struct sp_ctx *c, int store, uint8_t rk, uint64_t host, uint32_t sram_sel,
                         uint32_t sram, const struct dma_box *box)
{
	struct dma_box m = *box, *b = &m;

	box_merge(b);
	/* host_addr stays 0: the runtime relocates it (reloc below) */
	struct npu_desc_dma s = {
	        .opcode = store ? NPU_HW_OP_DMA_STORE : NPU_HW_OP_DMA_LOAD,
	        .tag = c->layer,
	        .sram_sel = sram_sel,
	        .sram_addr = sram,
	        .chans = b->chans,
	        .cols = b->cols,
	        .rows = b->rows,
	        .host_chan_stride = b->h_cs,
	        .host_pix_stride = b->h_ps,
	        .host_row_stride = b->h_rs,
	        .sram_pix_stride = b->s_ps,
	        .sram_row_stride = b->s_rs,
	};
	uint32_t w[NPU_HW_DESC_WORDS];
	uint32_t i = emit(c, npu_desc_dma_pack(&s, w), w);

	reloc(c, i, rk, host);
	return i;
}

/* Linear bytes from the const blob into an SRAM (weights, parameters). */
static void load_linear(struct sp_ctx *c, uint64_t blob_off, uint32_t sel, uint32_t sram,
                        uint32_t n, uint32_t *first, uint32_t *last)
{
	while (n) {
		uint32_t k = n > 32768 ? 32768 : n;
		struct dma_box b = {1, 1, k, 1, k, k, k, k};
		uint32_t i = emit_dma(c, 0, NPUI_RELOC_CONST, blob_off, sel, sram, &b);

		if (*first == UINT32_MAX)
			*first = i;
		*last = i;
		blob_off += k;
		sram += k;
		n -= k;
	}
}

/*
 * Move a box of tensor t (rows y0.., cols x0.., logical channels c0..c0+nc)
 * between the arena and ACT SRAM (channels contiguous from sram, pixel
 * stride s_ps, row stride s_rs): one DMA per piece of t's location.
 */
static void xfer(struct sp_ctx *c, int store, const struct sp_loc *L, int32_t y0, int32_t x0,
                 int32_t nh, int32_t nw, int32_t c0, int32_t nc, uint32_t sram, uint32_t s_ps,
                 uint32_t s_rs, uint32_t *first, uint32_t *last)
{
	for (int32_t k = 0; k < L->n; k++) {
		const struct sp_piece *p = &L->p[k];
		const struct npui_tensor *P = &c->g->tensors[p->phys];
		int32_t lo = imax(p->c0, c0), hi = imin(p->c0 + p->n, c0 + nc);
		struct dma_box b;
		uint64_t host;
		uint32_t i;

		if (lo >= hi)
			continue;
		host = c->arena_off[p->phys] + ((uint64_t)y0 * P->w + x0) * P->c + p->off +
		       (uint64_t)(lo - p->c0) * p->stride;
		b.rows = (uint32_t)nh;
		b.cols = (uint32_t)nw;
		b.chans = (uint32_t)(hi - lo);
		b.h_cs = (uint32_t)p->stride;
		b.h_ps = (uint32_t)P->c;
		b.h_rs = (uint32_t)(P->w * P->c);
		b.s_ps = s_ps;
		b.s_rs = s_rs;
		i = emit_dma(c, store, NPUI_RELOC_ARENA, host, NPU_HW_SRAM_ACT,
		             sram + (uint32_t)(lo - c0), &b);
		if (*first == UINT32_MAX)
			*first = i;
		*last = i;
	}
}

/*
 * Load S rows y0.. and cols x0.. (nh x nw) of the stem input t (its own
 * buffer, H x W x C, channels contiguous) space-to-depth into ACT: for dy
 * 0, 1, input row 2Y + dy from col 2*x0 is contiguous and lands as nw
 * pixels of 2C bytes at byte dy * half of each S pixel (stride s_ps).
 */
static void xfer_stem(struct sp_ctx *c, int32_t t, int32_t y0, int32_t x0, int32_t nh, int32_t nw,
                      uint32_t sram, uint32_t s_ps, uint32_t half, uint32_t *first, uint32_t *last)
{
	const struct npui_tensor *T = &c->g->tensors[t];
	const uint32_t C = (uint32_t)T->c;

	for (uint32_t dy = 0; dy < 2; dy++) {
		struct dma_box b = {.rows = (uint32_t)nh,
		                    .cols = (uint32_t)nw,
		                    .chans = 2 * C,
		                    .h_cs = 1,
		                    .h_ps = 2 * C,
		                    .h_rs = 2 * (uint32_t)T->w * C,
		                    .s_ps = s_ps,
		                    .s_rs = (uint32_t)nw * s_ps};
		uint64_t host = c->arena_off[t] +
		                ((uint64_t)(2 * y0 + (int32_t)dy) * T->w + 2 * (uint64_t)x0) * C;
		uint32_t i = emit_dma(c, 0, NPUI_RELOC_ARENA, host, NPU_HW_SRAM_ACT,
		                      sram + dy * half, &b);

		if (*first == UINT32_MAX)
			*first = i;
		*last = i;
	}
}

static void emit_sync(struct sp_ctx *c, uint32_t queue, uint32_t flags)
{
	struct npu_desc_sync s = {.flags = flags, .tag = c->layer, .queue = queue};
	uint32_t w[NPU_HW_DESC_WORDS];

	emit(c, npu_desc_sync_pack(&s, w), w);
}

void sp_emit_fence(struct sp_ctx *c, uint32_t flags)
{
	struct npu_desc_fence s = {.flags = flags, .tag = c->layer};
	uint32_t w[NPU_HW_DESC_WORDS];

	emit(c, npu_desc_fence_pack(&s, w), w);
}

static void prime(struct sp_ctx *c)
{
	for (int k = 0; k < 2; k++)
		emit_sync(c, NPU_HW_QUEUE_COMPUTE, NPU_HW_FLAG_PUSH_PREV);
	for (int k = 0; k < 2; k++)
		emit_sync(c, NPU_HW_QUEUE_STORE, NPU_HW_FLAG_PUSH_PREV);
}

/* Take back the tokens prime() gave; then every counter is zero. */
static void drain(struct sp_ctx *c, int outputs)
{
	for (int k = 0; k < 2; k++)
		emit_sync(c, NPU_HW_QUEUE_LOAD, NPU_HW_FLAG_POP_NEXT);
	for (int k = 0; k < 2 && outputs; k++)
		emit_sync(c, NPU_HW_QUEUE_COMPUTE, NPU_HW_FLAG_POP_NEXT);
	sp_emit_fence(c, 0);
}

static void mark(struct sp_ctx *c, uint32_t first, uint32_t last, uint32_t ff, uint32_t lf)
{
	add_flags(c, first, ff);
	add_flags(c, last, lf);
}

/* A conv tile's geometry and kernel, the same for PW and DW: input ih x iw
 * (with padding pt, pl inside the tile), output th x tw. */
static void conv_tile(struct npu_desc_conv *cd, const struct sp_conv *v, int32_t ih, int32_t iw,
                      int32_t th, int32_t tw, int32_t pt, int32_t pl)
{
	cd->in_h = (uint32_t)ih;
	cd->in_w = (uint32_t)iw;
	cd->out_h = (uint32_t)th;
	cd->out_w = (uint32_t)tw;
	cd->kh = (uint32_t)v->kh;
	cd->kw = (uint32_t)v->kw;
	cd->stride_h = (uint32_t)v->sh;
	cd->stride_w = (uint32_t)v->sw;
	cd->pad_t = (uint32_t)pt;
	cd->pad_l = (uint32_t)pl;
}

static void act_bounds(const struct npui_graph *g, const struct npui_layer *l, int32_t *lo,
                       int32_t *hi)
{
	if (npu_ref_act_bounds(l->act, &g->tensors[l->output].q, lo, hi) != NPU_OK) {
		*lo = -128;
		*hi = 127;
	}
}

/* Location of the FC input: channels of a 1x1xK view of a tensor that is
 * either 1x1 (any location) or stored contiguously on its own. */
static void fc_loc(const struct sp_ctx *c, int32_t t, struct sp_loc *L)
{
	const struct npui_tensor *T = &c->g->tensors[t];

	if (T->h * T->w == 1) {
		*L = c->loc[t];
		return;
	}
	L->n = 1;
	L->p[0].c0 = 0;
	L->p[0].n = T->h * T->w * T->c;
	L->p[0].phys = t; /* physical: checked by placement */
	L->p[0].off = 0;
	L->p[0].stride = 1;
}

/* ---- PW array: CONV (1x1, KxK, grouped) and FC ------------------------- */

static void emit_pw(struct sp_ctx *c, uint32_t li)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];
	const struct sp_geom *geo = &c->geo;
	const struct sp_tile *t = &c->tile[li];
	const struct npui_tensor *ti = &g->tensors[l->inputs[0]];
	const struct npui_tensor *to = &g->tensors[l->output];
	struct sp_conv v;
	struct sp_loc inloc;
	int32_t *mult = NULL, *shift = NULL, *gat = NULL, *wcol = NULL, lo, hi;
	uint64_t *wofs = NULL, *pofs = NULL;
	uint32_t nkc, noct, nset, wl = 0, step = 0, ot = 0, cur = UINT32_MAX;
	const int8_t *wsrc = l->weights;
	int8_t *wstem = NULL;

	conv_geom(g, l, &v);
	if (t->s2d) {
		struct sp_conv s;

		/* placement chose it: the shape qualifies */
		stem_geom(geo, &v, &s);
		wsrc = wstem = stem_weights(l, &v, &s);
		v = s;
		if (!wstem) {
			c->err = NPU_ERR_NO_MEM;
			return;
		}
	}
	if (v.fc)
		fc_loc(c, l->inputs[0], &inloc);
	else
		inloc = c->loc[l->inputs[0]];
	nkc = cdiv((uint32_t)v.cin_g, (uint32_t)t->kc);
	noct = cdiv((uint32_t)v.cout_g, (uint32_t)t->ct);
	nset = (uint32_t)v.G * noct * nkc;
	mult = calloc((size_t)to->c, sizeof(*mult));
	shift = calloc((size_t)to->c, sizeof(*shift));
	wofs = calloc(nset, sizeof(*wofs));
	pofs = calloc((size_t)v.G * noct, sizeof(*pofs));
	gat = calloc((size_t)v.G * v.cin_g, sizeof(*gat));
	wcol = calloc((size_t)v.G * v.cin_g, sizeof(*wcol));
	if (!mult || !shift || !wofs || !pofs || !gat || !wcol) {
		c->err = NPU_ERR_NO_MEM;
		goto out;
	}
	/* The input in slot order (docs/SCHEDULER.md §4): group gi reads the
	 * slots holding its channels, in slot order, into consecutive ACT
	 * channels (gat: slot of each position); the weights follow (wcol:
	 * the channel within the group each position holds). MAC sums do not
	 * depend on the order, so the outputs stay exact. */
	if (!c->perm[l->inputs[0]]) {
		for (int32_t q = 0; q < v.G * v.cin_g; q++) {
			gat[q] = q;
			wcol[q] = q % v.cin_g;
		}
	} else {
		const int32_t *ord = c->ord[l->inputs[0]];
		int32_t *fill = calloc((size_t)v.G, sizeof(*fill));

		if (!fill) {
			c->err = NPU_ERR_NO_MEM;
			goto out;
		}
		for (int32_t sl = 0; sl < v.G * v.cin_g; sl++) {
			int32_t gi = ord[sl] / v.cin_g, q = gi * v.cin_g + fill[gi]++;

			gat[q] = sl;
			wcol[q] = ord[sl] % v.cin_g;
		}
		free(fill);
	}
	/* the plan already checked these multipliers */
	npu_ref_conv_multipliers(ti->q.scale, l->w_scale, to->q.scale, to->c, mult, shift);
	act_bounds(g, l, &lo, &hi);

	/* constants: weights per (group, oc tile, K chunk) in the array's
	 * order [ocg][ky][kx][icg] x (R x Cc), parameters per (group, oc tile) */
	for (int32_t gi = 0; gi < v.G; gi++) {
		for (uint32_t oct = 0; oct < noct; oct++) {
			int32_t oc0 = (int32_t)oct * t->ct, ocn = imin(t->ct, v.cout_g - oc0);
			uint32_t ocgs = cdiv((uint32_t)ocn, geo->R);
			uint8_t *p;
			size_t po = blob_alloc(c, (size_t)ocgs * 3 * geo->pwb, &p);

			pofs[gi * noct + oct] = po;
			for (uint32_t q = 0; p && q < ocgs; q++) {
				for (uint32_t r = 0; r < geo->R; r++) {
					int32_t oc =
					        gi * v.cout_g + oc0 + (int32_t)(q * geo->R + r);
					int32_t vals[3];

					if ((int32_t)(q * geo->R + r) >= ocn)
						break;
					vals[0] = l->bias ? l->bias[oc] : 0;
					vals[1] = mult[oc];
					vals[2] = shift[oc];
					for (int k = 0; k < 3; k++)
						memcpy(p + ((size_t)k * ocgs + q) * geo->pwb +
						               r * 4,
						       &vals[k], 4);
				}
			}
			for (uint32_t kc = 0; kc < nkc; kc++) {
				int32_t ic0 = (int32_t)kc * t->kc, icn = imin(t->kc, v.cin_g - ic0);
				uint32_t icgs = cdiv((uint32_t)icn, geo->Cc);
				size_t n = (size_t)ocgs * v.kh * v.kw * icgs * geo->ww;
				size_t wo = blob_alloc(c, n, &p);

				wofs[(gi * noct + oct) * nkc + kc] = wo;
				for (uint32_t q = 0; p && q < ocgs; q++)
					for (int32_t ky = 0; ky < v.kh; ky++)
						for (int32_t kx = 0; kx < v.kw; kx++)
							for (uint32_t ig = 0; ig < icgs; ig++)
								for (uint32_t r = 0; r < geo->R;
								     r++)
									for (uint32_t cc = 0;
									     cc < geo->Cc; cc++) {
										int32_t ocl =
										        (int32_t)(q * geo->R +
										                  r);
										int32_t icl =
										        (int32_t)(ig * geo->Cc +
										                  cc);
										size_t at =
										        ((((size_t)q *
										                   v.kh +
										           ky) * v.kw +
										          kx) * icgs +
										         ig) * geo->ww +
										        r * geo->Cc +
										        cc;
										int32_t oc =
										        gi * v.cout_g +
										        oc0 + ocl;

										if (ocl >= ocn ||
										    icl >= icn)
											continue;
										p[at] = (uint8_t)wsrc
										        [(((size_t)oc *
										                   v.kh +
										           ky) * v.kw +
										          kx) * v.cin_g +
										         wcol[gi * v.cin_g +
										              ic0 +
										              icl]];
									}
			}
		}
	}

	prime(c);
	for (int32_t gi = 0; gi < v.G; gi++)
		for (uint32_t oct = 0; oct < noct; oct++)
			for (int32_t oy = 0; oy < v.OH; oy += t->th)
				for (int32_t ox = 0; ox < v.OW; ox += t->tw)
					for (uint32_t kc = 0; kc < nkc; kc++) {
						int32_t oc0 = (int32_t)oct * t->ct,
						        ocn = imin(t->ct, v.cout_g - oc0);
						int32_t ic0 = (int32_t)kc * t->kc,
						        icn = imin(t->kc, v.cin_g - ic0);
						uint32_t icgs = cdiv((uint32_t)icn, geo->Cc),
						         ocgs = cdiv((uint32_t)ocn, geo->R);
						uint32_t cpi = icgs * geo->Cc,
						         opad = rup((uint32_t)ocn, geo->aw);
						int32_t th = imin(t->th, v.OH - oy),
						        tw = imin(t->tw, v.OW - ox);
						int32_t iy, ih, pt, ix, iw, pl;
						uint32_t set = (gi * noct + oct) * nkc + kc;
						uint32_t in_b = (step & 1) * t->in_sz;
						uint32_t out_b =
						        2 * t->in_sz + (ot & 1) * t->out_sz;
						uint32_t whalf = 0, phalf = 0, lf = UINT32_MAX,
						         ll = UINT32_MAX;
						uint32_t cf, cl, w[NPU_HW_DESC_WORDS];
						int last = kc + 1 == nkc;

						in_range(oy, th, v.sh, v.pt, v.kh, v.H, &iy, &ih,
						         &pt);
						in_range(ox, tw, v.sw, v.pl, v.kw, v.W, &ix, &iw,
						         &pl);
						if (set != cur) {
							uint32_t h = wl & 1;
							uint32_t wn =
							        ocgs * v.kh * v.kw * icgs * geo->ww;

							load_linear(c, wofs[set], NPU_HW_SRAM_WGT,
							            h * geo->wgt_half, wn, &lf,
							            &ll);
							load_linear(c, pofs[gi * noct + oct],
							            NPU_HW_SRAM_PARAM,
							            h * geo->par_half * geo->pwb,
							            ocgs * 3 * geo->pwb, &lf, &ll);
							cur = set;
							wl++;
						}
						whalf = ((wl - 1) & 1) * geo->wgt_half;
						phalf = ((wl - 1) & 1) * geo->par_half;
						if (t->s2d)
							xfer_stem(c, l->inputs[0], iy, ix, ih, iw,
							          in_b, cpi, (uint32_t)v.s2d_half,
							          &lf, &ll);
						for (int32_t p = 0, r; !t->s2d && p < icn; p += r) {
							const int32_t *gs =
							        gat + gi * v.cin_g + ic0;

							for (r = 1;
							     p + r < icn && gs[p + r] == gs[p] + r;
							     r++)
								;
							xfer(c, 0, &inloc, iy, ix, ih, iw, gs[p], r,
							     in_b + (uint32_t)p, cpi,
							     (uint32_t)iw * cpi, &lf, &ll);
						}
						mark(c, lf, ll, NPU_HW_FLAG_POP_NEXT,
						     NPU_HW_FLAG_PUSH_NEXT);

						struct npu_desc_conv cd = {
						        .opcode = NPU_HW_OP_PW_CONV,
						        .flags = (nkc == 1 ? NPU_HW_FLAG_EPILOGUE
						                           : 0) |
						                 (kc ? NPU_HW_FLAG_ACCUMULATE : 0),
						        .tag = c->layer,
						        .in_addr = in_b,
						        .wgt_addr = whalf,
						        .out_addr = nkc == 1 ? out_b : 0,
						        .param_entry = phalf,
						        .in_c = (uint32_t)icn,
						        .out_c = (uint32_t)ocn,
						        .groups = 1,
						        .in_zp = ti->q.zero_point,
						        .out_zp = to->q.zero_point,
						        .act_min = lo,
						        .act_max = hi,
						        .in_row_stride = (uint32_t)iw * cpi,
						        .in_pix_stride = cpi,
						        .out_row_stride =
						                nkc == 1 ? (uint32_t)tw * opad
						                         : (uint32_t)tw * ocgs,
						        .out_pix_stride = nkc == 1 ? opad : ocgs,
						};

						conv_tile(&cd, &v, ih, iw, th, tw, pt, pl);
						cf = emit(c, npu_desc_conv_pack(&cd, w), w);
						cl = cf;
						if (nkc > 1 && last) {
							struct npu_desc_requant rd = {
							        .tag = c->layer,
							        .src_addr = 0,
							        .dst_addr = out_b,
							        .param_entry = phalf,
							        .pixels = (uint32_t)(th * tw),
							        .channels = (uint32_t)ocn,
							        .out_zp = to->q.zero_point,
							        .act_min = lo,
							        .act_max = hi,
							};

							cl = emit(c, npu_desc_requant_pack(&rd, w),
							          w);
						}
						mark(c, cf, cl,
						     NPU_HW_FLAG_POP_PREV |
						             (last ? NPU_HW_FLAG_POP_NEXT : 0),
						     NPU_HW_FLAG_PUSH_PREV |
						             (last ? NPU_HW_FLAG_PUSH_NEXT : 0));
						if (last) {
							uint32_t sf = UINT32_MAX, sl = UINT32_MAX;

							xfer(c, 1, &c->loc[l->output], oy, ox, th,
							     tw, gi * v.cout_g + oc0, ocn, out_b,
							     opad, (uint32_t)tw * opad, &sf, &sl);
							mark(c, sf, sl, NPU_HW_FLAG_POP_PREV,
							     NPU_HW_FLAG_PUSH_PREV);
							ot++;
						}
						step++;
					}
	drain(c, 1);
out:
	free(mult);
	free(shift);
	free(wofs);
	free(pofs);
	free(gat);
	free(wcol);
	free(wstem);
}

/* ---- DW engine ------------------------------------------------------------ */

static void emit_dw(struct sp_ctx *c, uint32_t li)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];
	const struct sp_geom *geo = &c->geo;
	const struct sp_tile *t = &c->tile[li];
	const struct npui_tensor *ti = &g->tensors[l->inputs[0]];
	const struct npui_tensor *to = &g->tensors[l->output];
	const int32_t C = ti->c;
	struct sp_conv v;
	int32_t *mult, *shift, *ord, lo, hi;
	uint32_t step = 0, nct = cdiv((uint32_t)C, (uint32_t)t->ct);

	conv_geom(g, l, &v);
	mult = calloc((size_t)C, sizeof(*mult));
	shift = calloc((size_t)C, sizeof(*shift));
	ord = calloc((size_t)C, sizeof(*ord));
	if (!mult || !shift || !ord) {
		c->err = NPU_ERR_NO_MEM;
		goto out;
	}
	npu_ref_conv_multipliers(ti->q.scale, l->w_scale, to->q.scale, C, mult, shift);
	if (c->perm[l->inputs[0]]) {
		memcpy(ord, c->ord[l->inputs[0]], (size_t)C * sizeof(*ord));
	} else {
		for (int32_t ch = 0; ch < C; ch++)
			ord[ch] = ch;
	}
	act_bounds(g, l, &lo, &hi);
	prime(c);
	for (uint32_t ct = 0; ct < nct; ct++) {
		int32_t c0 = (int32_t)ct * t->ct, cn = imin(t->ct, C - c0);
		uint32_t cp = rup((uint32_t)cn, geo->dw_cpad), ngr = cdiv((uint32_t)cn, geo->L);
		uint32_t wn = (uint32_t)(v.kh * v.kw) * cp, h = ct & 1;
		uint8_t *wp, *pp;
		size_t wo = blob_alloc(c, wn, &wp);
		size_t po = blob_alloc(c, (size_t)ngr * 3 * geo->pwb, &pp);

		/* the second allocation may have moved the blob */
		wp = pp ? c->blob + wo : NULL;

		/* weights HWC, channels padded; parameters per lane group; lane
		 * = slot: a channel order on the input is the output's too */
		for (int32_t k = 0; wp && pp && k < v.kh * v.kw; k++)
			for (int32_t ch = 0; ch < cn; ch++)
				wp[(size_t)k * cp + ch] =
				        (uint8_t)l->weights[(size_t)ord[c0 + ch] * v.kh * v.kw + k];
		for (int32_t ch = 0; wp && pp && ch < cn; ch++) {
			int32_t lc = ord[c0 + ch];
			int32_t vals[3] = {l->bias ? l->bias[lc] : 0, mult[lc], shift[lc]};
			uint32_t q = (uint32_t)ch / geo->L, r = (uint32_t)ch % geo->L;

			for (int k = 0; k < 3; k++)
				memcpy(pp + ((size_t)k * ngr + q) * geo->pwb + r * 4, &vals[k], 4);
		}
		for (int32_t oy = 0; oy < v.OH; oy += t->th)
			for (int32_t ox = 0; ox < v.OW; ox += t->tw) {
				int32_t th = imin(t->th, v.OH - oy), tw = imin(t->tw, v.OW - ox);
				int32_t iy, ih, pt, ix, iw, pl;
				uint32_t in_b = (step & 1) * t->in_sz;
				uint32_t out_b = 2 * t->in_sz + (step & 1) * t->out_sz;
				uint32_t lf = UINT32_MAX, ll = UINT32_MAX, sf = UINT32_MAX,
				         sl = UINT32_MAX;
				uint32_t w[NPU_HW_DESC_WORDS];

				in_range(oy, th, v.sh, v.pt, v.kh, v.H, &iy, &ih, &pt);
				in_range(ox, tw, v.sw, v.pl, v.kw, v.W, &ix, &iw, &pl);
				if (oy == 0 && ox == 0) {
					load_linear(c, wo, NPU_HW_SRAM_WGT, h * geo->wgt_half, wn,
					            &lf, &ll);
					load_linear(c, po, NPU_HW_SRAM_PARAM,
					            h * geo->par_half * geo->pwb,
					            ngr * 3 * geo->pwb, &lf, &ll);
				}
				xfer(c, 0, &c->loc[l->inputs[0]], iy, ix, ih, iw, c0, cn, in_b, cp,
				     (uint32_t)iw * cp, &lf, &ll);
				mark(c, lf, ll, NPU_HW_FLAG_POP_NEXT, NPU_HW_FLAG_PUSH_NEXT);
				struct npu_desc_conv cd = {
				        .opcode = NPU_HW_OP_DW_CONV,
				        .flags = NPU_HW_FLAG_EPILOGUE | NPU_HW_FLAG_POP_PREV |
				                 NPU_HW_FLAG_POP_NEXT | NPU_HW_FLAG_PUSH_PREV |
				                 NPU_HW_FLAG_PUSH_NEXT,
				        .tag = c->layer,
				        .in_addr = in_b,
				        .wgt_addr = h * geo->wgt_half,
				        .out_addr = out_b,
				        .param_entry = h * geo->par_half,
				        .in_c = (uint32_t)cn,
				        .out_c = (uint32_t)cn,
				        .groups = 0, /* DW */
				        .in_zp = ti->q.zero_point,
				        .out_zp = to->q.zero_point,
				        .act_min = lo,
				        .act_max = hi,
				        .in_row_stride = (uint32_t)iw * cp,
				        .in_pix_stride = cp,
				        .out_row_stride = (uint32_t)tw * cp,
				        .out_pix_stride = cp,
				};

				conv_tile(&cd, &v, ih, iw, th, tw, pt, pl);
				emit(c, npu_desc_conv_pack(&cd, w), w);
				xfer(c, 1, &c->loc[l->output], oy, ox, th, tw, c0, cn, out_b, cp,
				     (uint32_t)tw * cp, &sf, &sl);
				mark(c, sf, sl, NPU_HW_FLAG_POP_PREV, NPU_HW_FLAG_PUSH_PREV);
				step++;
			}
	}
	drain(c, 1);
out:
	free(mult);
	free(shift);
	free(ord);
}

/* ---- PPU: pools and ADD ---------------------------------------------------- */

static void emit_pool(struct sp_ctx *c, uint32_t li)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];
	const struct sp_geom *geo = &c->geo;
	const struct sp_tile *t = &c->tile[li];
	const struct npui_tensor *ti = &g->tensors[l->inputs[0]];
	const struct npui_tensor *to = &g->tensors[l->output];
	const int32_t C = ti->c;
	const int gap = l->op == NPUI_OP_GAP, avg = l->op == NPUI_OP_AVGPOOL;
	struct sp_conv v;
	int32_t lo, hi, gmult = 0, gshift = 0;
	uint32_t step = 0, nct = cdiv((uint32_t)C, (uint32_t)t->ct);
	size_t tab = 0;

	pool_geom(g, l, &v);
	act_bounds(g, l, &lo, &hi);
	if (gap) {
		int sh = 0;

		npui_quantize_multiplier((double)ti->q.scale /
		                                 ((double)to->q.scale * ((double)ti->h * ti->w)),
		                         &gmult, &sh);
		gshift = sh;
	}
	if (avg) {
		int32_t n = v.kh * v.kw, *m = calloc((size_t)n, 4), *s = calloc((size_t)n, 4);
		uint8_t *p;

		if (!m || !s) {
			free(m);
			free(s);
			c->err = NPU_ERR_NO_MEM;
			return;
		}
		npu_ref_avgpool_multipliers(ti->q.scale, to->q.scale, n, m, s);
		tab = blob_alloc(c, (size_t)n * geo->pwb, &p);
		for (int32_t k = 0; p && k < n; k++) {
			memcpy(p + (size_t)k * geo->pwb, &m[k], 4);
			memcpy(p + (size_t)k * geo->pwb + 4, &s[k], 4);
		}
		free(m);
		free(s);
	}
	prime(c);
	for (uint32_t ct = 0; ct < nct; ct++) {
		int32_t c0 = (int32_t)ct * t->ct, cn = imin(t->ct, C - c0);
		uint32_t cp = rup((uint32_t)cn, geo->aw);

		for (int32_t oy = 0; oy < v.OH; oy += t->th)
			for (int32_t ox = 0; ox < v.OW; ox += t->tw) {
				int32_t th = imin(t->th, v.OH - oy), tw = imin(t->tw, v.OW - ox);
				int32_t iy, ih, pt, ix, iw, pl;
				uint32_t in_b = (step & 1) * t->in_sz;
				uint32_t out_b = 2 * t->in_sz + (step & 1) * t->out_sz;
				uint32_t lf = UINT32_MAX, ll = UINT32_MAX, sf = UINT32_MAX,
				         sl = UINT32_MAX;
				uint32_t w[NPU_HW_DESC_WORDS];

				if (gap) {
					iy = ix = pt = pl = 0;
					ih = v.H;
					iw = v.W;
				} else {
					in_range(oy, th, v.sh, v.pt, v.kh, v.H, &iy, &ih, &pt);
					in_range(ox, tw, v.sw, v.pl, v.kw, v.W, &ix, &iw, &pl);
				}
				if (avg && step == 0)
					load_linear(c, tab, NPU_HW_SRAM_PARAM, 0,
					            (uint32_t)(v.kh * v.kw) * geo->pwb, &lf, &ll);
				xfer(c, 0, &c->loc[l->inputs[0]], iy, ix, ih, iw, c0, cn, in_b, cp,
				     (uint32_t)iw * cp, &lf, &ll);
				mark(c, lf, ll, NPU_HW_FLAG_POP_NEXT, NPU_HW_FLAG_PUSH_NEXT);
				/* GLOBAL: no kernel fields (the decoder requires them 0) */
				struct npu_desc_pool pd = {
				        .flags = NPU_HW_FLAG_POP_PREV | NPU_HW_FLAG_POP_NEXT |
				                 NPU_HW_FLAG_PUSH_PREV | NPU_HW_FLAG_PUSH_NEXT,
				        .tag = c->layer,
				        .src_addr = in_b,
				        .dst_addr = out_b,
				        .param_entry = 0,
				        .in_h = (uint32_t)ih,
				        .in_w = (uint32_t)iw,
				        .channels = (uint32_t)cn,
				        .out_h = (uint32_t)th,
				        .out_w = (uint32_t)tw,
				        .kh = gap ? 0 : (uint32_t)v.kh,
				        .kw = gap ? 0 : (uint32_t)v.kw,
				        .stride_h = gap ? 0 : (uint32_t)v.sh,
				        .stride_w = gap ? 0 : (uint32_t)v.sw,
				        .pad_t = gap ? 0 : (uint32_t)pt,
				        .pad_l = gap ? 0 : (uint32_t)pl,
				        .mode = gap   ? NPU_HW_POOL_GLOBAL
				                : avg ? NPU_HW_POOL_AVG
				                      : NPU_HW_POOL_MAX,
				        .count_include_pad = l->count_include_pad ? 1 : 0,
				        .in_zp = ti->q.zero_point,
				        .out_zp = to->q.zero_point,
				        .act_min = lo,
				        .act_max = hi,
				        .global_mult = gap ? gmult : 0,
				        .global_shift = gap ? gshift : 0,
				};

				emit(c, npu_desc_pool_pack(&pd, w), w);
				xfer(c, 1, &c->loc[l->output], oy, ox, th, tw, c0, cn, out_b, cp,
				     (uint32_t)tw * cp, &sf, &sl);
				mark(c, sf, sl, NPU_HW_FLAG_POP_PREV, NPU_HW_FLAG_PUSH_PREV);
				step++;
			}
	}
	drain(c, 1);
}

static void emit_add(struct sp_ctx *c, uint32_t li)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];
	const struct sp_tile *t = &c->tile[li];
	const struct npui_tensor *to = &g->tensors[l->output];
	struct npu_ref_add_params ap;
	uint32_t step = 0;

	memset(&ap, 0, sizeof(ap));
	npu_ref_add_init(&ap, &g->tensors[l->inputs[0]].q, &g->tensors[l->inputs[1]].q, &to->q,
	                 l->act);
	prime(c);
	for (int32_t c0 = 0; c0 < to->c; c0 += t->ct)
		for (int32_t oy = 0; oy < to->h; oy += t->th)
			for (int32_t ox = 0; ox < to->w; ox += t->tw) {
				int32_t cn = imin(t->ct, to->c - c0), th = imin(t->th, to->h - oy);
				int32_t tw = imin(t->tw, to->w - ox);
				uint32_t cp = rup((uint32_t)cn, c->geo.aw),
				         box = (uint32_t)(th * tw) * cp;
				uint32_t in_b = (step & 1) * t->in_sz, half = t->in_sz / 2;
				uint32_t out_b = 2 * t->in_sz + (step & 1) * t->out_sz;
				uint32_t lf = UINT32_MAX, ll = UINT32_MAX, sf = UINT32_MAX,
				         sl = UINT32_MAX;
				uint32_t w[NPU_HW_DESC_WORDS];

				half = half / c->geo.aw * c->geo.aw;
				xfer(c, 0, &c->loc[l->inputs[0]], oy, ox, th, tw, c0, cn, in_b, cp,
				     (uint32_t)tw * cp, &lf, &ll);
				xfer(c, 0, &c->loc[l->inputs[1]], oy, ox, th, tw, c0, cn,
				     in_b + half, cp, (uint32_t)tw * cp, &lf, &ll);
				mark(c, lf, ll, NPU_HW_FLAG_POP_NEXT, NPU_HW_FLAG_PUSH_NEXT);
				struct npu_desc_add ad = {
				        .flags = NPU_HW_FLAG_POP_PREV | NPU_HW_FLAG_POP_NEXT |
				                 NPU_HW_FLAG_PUSH_PREV | NPU_HW_FLAG_PUSH_NEXT,
				        .tag = c->layer,
				        .src_a_addr = in_b,
				        .src_b_addr = in_b + half,
				        .dst_addr = out_b,
				        .count = box,
				        .in0_zp = ap.in0_zp,
				        .in1_zp = ap.in1_zp,
				        .out_zp = ap.out_zp,
				        .in0_mult = ap.in0_mult,
				        .in1_mult = ap.in1_mult,
				        .out_mult = ap.out_mult,
				        .in0_shift = ap.in0_shift,
				        .in1_shift = ap.in1_shift,
				        .out_shift = ap.out_shift,
				        .act_min = ap.act_min,
				        .act_max = ap.act_max,
				};

				emit(c, npu_desc_add_pack(&ad, w), w);
				xfer(c, 1, &c->loc[l->output], oy, ox, th, tw, c0, cn, out_b, cp,
				     (uint32_t)tw * cp, &sf, &sl);
				mark(c, sf, sl, NPU_HW_FLAG_POP_PREV, NPU_HW_FLAG_PUSH_PREV);
				step++;
			}
	drain(c, 1);
}

/* ---- DMA copies: SHUFFLE / SPLIT / CONCAT inputs that could not fold -------- */

/*
 * Copy tensor data from location `src` to location `dst` (same logical
 * channels 0..C) through the IN buffers. Per tile: LOAD (POP_NEXT c2l,
 * PUSH_NEXT l2c), SYNC compute (POP_PREV l2c, PUSH_NEXT c2s), STORE
 * (POP_PREV c2s, PUSH_PREV s2c), and one tile later SYNC compute
 * (POP_NEXT s2c, PUSH_PREV c2l) hands the buffer back to LOAD.
 */
struct copy_job {
	const struct sp_loc *src, *dst;
	int32_t C;
};

static void emit_copies(struct sp_ctx *c, uint32_t li, const struct copy_job *jobs, int njobs)
{
	const struct npui_tensor *to = &c->g->tensors[c->g->layers[li].output];
	const struct sp_tile *t = &c->tile[li];
	uint32_t step = 0;

	for (int k = 0; k < 2; k++)
		emit_sync(c, NPU_HW_QUEUE_COMPUTE, NPU_HW_FLAG_PUSH_PREV);
	for (int j = 0; j < njobs; j++)
		for (int32_t c0 = 0; c0 < jobs[j].C; c0 += t->ct)
			for (int32_t oy = 0; oy < to->h; oy += t->th)
				for (int32_t ox = 0; ox < to->w; ox += t->tw) {
					int32_t cn = imin(t->ct, jobs[j].C - c0),
					        th = imin(t->th, to->h - oy);
					int32_t tw = imin(t->tw, to->w - ox);
					uint32_t cp = rup((uint32_t)cn, c->geo.aw),
					         b = (step & 1) * t->in_sz;
					uint32_t lf = UINT32_MAX, ll = UINT32_MAX, sf = UINT32_MAX,
					         sl = UINT32_MAX;

					xfer(c, 0, jobs[j].src, oy, ox, th, tw, c0, cn, b, cp,
					     (uint32_t)tw * cp, &lf, &ll);
					mark(c, lf, ll, NPU_HW_FLAG_POP_NEXT,
					     NPU_HW_FLAG_PUSH_NEXT);
					emit_sync(c, NPU_HW_QUEUE_COMPUTE,
					          NPU_HW_FLAG_POP_PREV | NPU_HW_FLAG_PUSH_NEXT);
					xfer(c, 1, jobs[j].dst, oy, ox, th, tw, c0, cn, b, cp,
					     (uint32_t)tw * cp, &sf, &sl);
					mark(c, sf, sl, NPU_HW_FLAG_POP_PREV,
					     NPU_HW_FLAG_PUSH_PREV);
					if (step)
						emit_sync(c, NPU_HW_QUEUE_COMPUTE,
						          NPU_HW_FLAG_POP_NEXT |
						                  NPU_HW_FLAG_PUSH_PREV);
					step++;
				}
	if (step)
		emit_sync(c, NPU_HW_QUEUE_COMPUTE, NPU_HW_FLAG_POP_NEXT | NPU_HW_FLAG_PUSH_PREV);
	drain(c, 0);
}

static void emit_copy(struct sp_ctx *c, uint32_t li)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];
	struct copy_job jobs[NPUI_MAX_INPUTS];
	struct sp_loc *tmp = calloc(NPUI_MAX_INPUTS + 1, sizeof(*tmp));
	int nj = 0;

	if (!tmp) {
		c->err = NPU_ERR_NO_MEM;
		return;
	}
	switch (l->op) {
	case NPUI_OP_CONCAT: {
		int32_t off = 0;

		/* inputs homed in the output were stored there by their producers
		 * (a compute layer, or a SPLIT copying its slice straight in) */
		for (unsigned k = 0; k < l->num_inputs; k++) {
			int32_t t = l->inputs[k], n = g->tensors[t].c;

			if (!c->homed[t] &&
			    sp_loc_slice(&c->loc[l->output], off, n, &tmp[nj]) == 0) {
				jobs[nj].src = &c->loc[t];
				jobs[nj].dst = &tmp[nj];
				jobs[nj].C = n;
				nj++;
			}
			off += n;
		}
		break;
	}
	case NPUI_OP_SHUFFLE: {
		const struct npui_tensor *T = &g->tensors[l->output];

		if (sp_loc_unshuffle(&c->loc[l->output], T->c, l->groups, &tmp[0]) == 0) {
			jobs[0].src = &c->loc[l->inputs[0]];
			jobs[0].dst = &tmp[0];
			jobs[0].C = T->c;
			nj = 1;
		}
		break;
	}
	case NPUI_OP_SPLIT: {
		const struct npui_tensor *T = &g->tensors[l->output];

		if (sp_loc_slice(&c->loc[l->inputs[0]], l->split_begin, T->c, &tmp[0]) == 0) {
			jobs[0].src = &tmp[0];
			jobs[0].dst = &c->loc[l->output];
			jobs[0].C = T->c;
			nj = 1;
		}
		break;
	}
	default:
		break;
	}
	emit_copies(c, li, jobs, nj);
	free(tmp);
}

void sp_emit_layer(struct sp_ctx *c, uint32_t li)
{
	c->layer = li;
	switch (c->kind[li]) {
	case SP_PW:
		emit_pw(c, li);
		break;
	case SP_DW:
		emit_dw(c, li);
		break;
	case SP_POOL:
		emit_pool(c, li);
		break;
	case SP_ADD:
		emit_add(c, li);
		break;
	case SP_COPY:
		emit_copy(c, li);
		break;
	default:
		break;
	}
}
