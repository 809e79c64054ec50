/*
 * Placement: each layer onto an engine or the CPU, and the folding of
 * SHUFFLE / SPLIT / CONCAT into DMA addressing (docs/SCHEDULER.md §1, §4).
 *
 * Folding gives some tensors a location other than their own arena buffer:
 *   - store side: an input of a CONCAT or SHUFFLE lives inside the fold's
 *     output (a channel slice, or every g-th channel); its producer's
 *     stores write it there directly;
 *   - load side: a SPLIT output is a channel window of its input; its
 *     consumers' loads read it there.
 * A tensor may move only if every reader reaches it by DMA (no CPU
 * reader, not the graph output). Moving a tensor stretches the lifetime of
 * the buffer that hosts it; a fold the runtime's arena plan cannot afford
 * (bytes shared with a tensor live in the stretched interval) is undone and
 * done as a DMA copy instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "driver/npu_regs.h"
#include "ref/quant.h"
#include "ref/ref.h"
#include "sched/sched_int.h"

static uint32_t umax(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

void sp_geom_init(struct sp_geom *geo, const struct npui_caps *caps)
{
	memset(geo, 0, sizeof(*geo));
	geo->R = caps->pw_rows ? caps->pw_rows : 1;
	geo->Cc = caps->pw_cols ? caps->pw_cols : 1;
	geo->L = caps->dw_lanes ? caps->dw_lanes : 1;
	geo->aw = geo->Cc;
	geo->ww = geo->R * geo->Cc;
	geo->pl = umax(geo->R, geo->L);
	geo->pwb = 4 * geo->pl;
	geo->act = caps->act_bytes;
	geo->wgt_half = caps->wgt_bytes / 2 / geo->ww * geo->ww;
	geo->par_half = caps->param_bytes / geo->pwb / 2;
	geo->acc_words = caps->acc_bytes / (4 * geo->R);
	geo->dw_cpad = umax(geo->L, geo->aw);
	geo->ppl = caps->ppu_lanes ? caps->ppu_lanes : 1;
	geo->epl = caps->epi_lanes ? caps->epi_lanes : geo->ppl;
	geo->outst = caps->dma_outstanding ? caps->dma_outstanding : 8;
	geo->dmab = caps->dma_bytes ? caps->dma_bytes : 8;
}

/* ---- locations ---------------------------------------------------------- */

static void loc_own(struct sp_loc *L, int32_t t, int32_t c)
{
	L->n = 1;
	L->p[0].c0 = 0;
	L->p[0].n = c;
	L->p[0].phys = t;
	L->p[0].off = 0;
	L->p[0].stride = 1;
}

static int loc_forbidden(const struct sp_ctx *c, const struct sp_loc *L)
{
	for (int32_t k = 0; k < L->n; k++)
		if (c->forbid[L->p[k].phys])
			return 1;
	return 0;
}

/* ---- placement of one compute layer -------------------------------------- */

static int has(const struct npui_caps *caps, uint32_t mask)
{
	return (caps->engines & mask) == mask;
}

#define WHY(...) snprintf(pl->why, sizeof(pl->why), __VA_ARGS__)

static int place_compute(struct sp_ctx *c, uint32_t li, struct npui_placement *pl)
{
	const struct npui_graph *g = c->g;
	const struct npui_caps *caps = c->caps;
	const struct npui_layer *l = &g->layers[li];
	const struct npui_tensor *in = &g->tensors[l->inputs[0]];
	int kind = SP_CPU;

	switch (l->op) {
	case NPUI_OP_CONV: {
		int32_t G = l->groups ? l->groups : 1;
		int dw = G > 1 && G == in->c && G == g->tensors[l->output].c;
		int dw_ok = l->kh == l->kw && (l->kh == 3 || l->kh == 5) &&
		            l->stride_h == l->stride_w && (l->stride_h == 1 || l->stride_h == 2);

		if (!has(caps, NPU_REG_CAPS_ENGINES_REQUANT_MASK)) {
			WHY("conv: no PPU requantizer in this build");
		} else if (dw && dw_ok && has(caps, NPU_REG_CAPS_ENGINES_DW_MASK)) {
			kind = SP_DW;
			WHY("dwconv %ux%u s%u: DW engine", l->kh, l->kw, l->stride_h);
		} else if (!has(caps, NPU_REG_CAPS_ENGINES_PW_MASK)) {
			WHY("conv %ux%u: no PW array (nor DW) in this build", l->kh, l->kw);
		} else if (l->kh > 15 || l->kw > 15 || l->stride_h > 15 || l->stride_w > 15 ||
		           l->pad_t > 15 || l->pad_l > 15) {
			WHY("conv %ux%u: kernel/stride/pad beyond descriptor fields", l->kh, l->kw);
		} else if (dw) {
			kind = SP_PW;
			WHY("dwconv %ux%u s%u: DW does 3x3/5x5 s1/s2; PW per group", l->kh, l->kw,
			    l->stride_h);
		} else {
			kind = SP_PW;
			WHY("conv %ux%u s%u g%d: PW array", l->kh, l->kw, l->stride_h, G);
		}
		break;
	}
	case NPUI_OP_FC:
		if (!has(caps, NPU_REG_CAPS_ENGINES_PW_MASK | NPU_REG_CAPS_ENGINES_REQUANT_MASK)) {
			WHY("fc: no PW array/requantizer in this build");
		} else {
			kind = SP_PW;
			WHY("fc %d->%d: PW array, 1x1 on 1x1xK", in->h * in->w * in->c,
			    g->tensors[l->output].c);
		}
		break;
	case NPUI_OP_MAXPOOL:
	case NPUI_OP_AVGPOOL: {
		const char *nm = l->op == NPUI_OP_MAXPOOL ? "maxpool" : "avgpool";

		if (!has(caps, NPU_REG_CAPS_ENGINES_POOL_MASK)) {
			WHY("%s: no PPU pooling in this build", nm);
		} else if (l->kh == 3 && l->kw == 3 && l->stride_h == 2 && l->stride_w == 2) {
			kind = SP_POOL;
			WHY("%s 3x3 s2: PPU", nm);
		} else {
			WHY("%s %ux%u s%u: PPU pools 3x3 s2 and global only", nm, l->kh, l->kw,
			    l->stride_h);
		}
		break;
	}
	case NPUI_OP_GAP:
		if (!has(caps, NPU_REG_CAPS_ENGINES_POOL_MASK)) {
			WHY("gap: no PPU pooling in this build");
		} else {
			kind = SP_POOL;
			WHY("gap: PPU global average");
		}
		break;
	case NPUI_OP_ADD:
		if (!has(caps, NPU_REG_CAPS_ENGINES_ADD_MASK)) {
			WHY("add: no PPU ADD in this build");
		} else {
			kind = SP_ADD;
			WHY("add: PPU (TFLite int8 ADD)");
		}
		break;
	case NPUI_OP_MUL:
		WHY("mul (SE scale): no multiply engine in hardware");
		break;
	case NPUI_OP_LUT:
		WHY("%s: no LUT engine in hardware", npui_op_name(l));
		break;
	default:
		WHY("op %u: no engine", l->op);
		break;
	}
	if (kind != SP_CPU && !sp_plan_tile(c, li, kind, &c->tile[li])) {
		WHY("%s: no tiling fits the SRAMs of this build", npui_op_name(l));
		kind = SP_CPU;
	}
	return kind;
}

/* ---- folding -------------------------------------------------------------- */

static int is_fold_op(uint16_t op)
{
	return op == NPUI_OP_CONCAT || op == NPUI_OP_SHUFFLE || op == NPUI_OP_SPLIT;
}

/* Consumers of tensor t as a list: cons[cstart[t] .. cstart[t + 1]). */
struct sp_users {
	uint32_t *cstart;
	uint32_t *cons;
};

/* Every reader of t can reach it through DMA addressing. */
static int reader_ok(const struct sp_ctx *c, const struct sp_users *u, int32_t t)
{
	const struct npui_graph *g = c->g;

	if (t == g->output || t == g->input)
		return 0;
	for (uint32_t k = u->cstart[t]; k < u->cstart[t + 1]; k++) {
		const struct npui_layer *l = &g->layers[u->cons[k]];

		if (c->kind[u->cons[k]] == SP_CPU)
			return 0;
		if (l->op == NPUI_OP_FC && g->tensors[t].h * g->tensors[t].w > 1)
			return 0;
	}
	return 1;
}

/* t may live in a fold's output: something on the NPU stores it. */
static int can_home(const struct sp_ctx *c, const struct sp_users *u, int32_t t)
{
	int32_t p = c->producer[t];

	if (p < 0 || c->homed[t] || c->perm[t] || !reader_ok(c, u, t))
		return 0;
	/* a view already took t's location as it is */
	for (uint32_t k = u->cstart[t]; k < u->cstart[t + 1]; k++)
		if (c->viewed[u->cons[k]])
			return 0;
	switch (c->kind[p]) {
	case SP_PW:
	case SP_DW:
	case SP_POOL:
	case SP_ADD:
		return 1;
	case SP_FOLD:
	case SP_COPY:
		return is_fold_op(c->g->layers[p].op);
	default:
		return 0;
	}
}

/* ---- views: channel orders ------------------------------------------------ */

static int32_t ord_at(const struct sp_ctx *c, int32_t t, int32_t s)
{
	return c->perm[t] ? c->ord[t][s] : s;
}

/* Record o's order from ord[o] as filled: perm[o] = 0 if it is the identity. */
static void ord_settle(struct sp_ctx *c, int32_t o)
{
	int32_t C = c->g->tensors[o].c;

	c->perm[o] = 0;
	for (int32_t s = 0; s < C; s++)
		if (c->ord[o][s] != s) {
			c->perm[o] = 1;
			return;
		}
}

/*
 * A fold as a view: its output's location is built from its inputs' (no
 * byte moves) and its channel order composed with the op's permutation.
 *   SHUFFLE: the input's slots, logical channel i*m + k relabelled k*g + i;
 *   SPLIT: the input's slots holding channels [b, b + n), in slot order;
 *   CONCAT: the inputs' slots one after the other.
 * Returns 0 and fills loc/ord of the output, or -1 (too many pieces).
 */
static int view_build(struct sp_ctx *c, uint32_t li, struct sp_loc *L)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];
	int32_t o = l->output, in = l->inputs[0], C = g->tensors[o].c;
	int32_t *oo = c->ord[o];

	L->n = 0;
	if (l->op == NPUI_OP_SHUFFLE) {
		int32_t gr = l->groups ? l->groups : 1, m = C / gr;

		*L = c->loc[in];
		for (int32_t s = 0; s < C; s++) {
			int32_t lc = ord_at(c, in, s);
			oo[s] = (lc % m) * gr + lc / m;
		}
		return 0;
	}
	if (l->op == NPUI_OP_SPLIT) {
		int32_t b = l->split_begin, Ci = g->tensors[in].c, n = 0;

		for (int32_t s = 0; s < Ci;) {
			int32_t e = s;

			while (e < Ci && ord_at(c, in, e) >= b && ord_at(c, in, e) < b + C)
				e++;
			if (e > s) {
				if (sp_loc_append(L, &c->loc[in], s, e - s, n))
					return -1;
				for (int32_t k = s; k < e; k++)
					oo[n++] = ord_at(c, in, k) - b;
				s = e;
			} else {
				s++;
			}
		}
		return n == C ? 0 : -1;
	}
	/* CONCAT */
	{
		int32_t at = 0;

		for (unsigned k = 0; k < l->num_inputs; k++) {
			int32_t t = l->inputs[k], n = g->tensors[t].c;

			if (sp_loc_append(L, &c->loc[t], 0, n, at))
				return -1;
			for (int32_t s = 0; s < n; s++)
				oo[at + s] = at + ord_at(c, t, s);
			at += n;
		}
	}
	return 0;
}

/* Slots of input channel group gi of a grouped PW layer, in slot order,
 * as runs of consecutive slots; the number of runs (the loads per tile). */
int sp_group_runs(const struct sp_ctx *c, int32_t t, int32_t cin_g, int32_t gi)
{
	int32_t C = c->g->tensors[t].c, runs = 0, prev = -2;

	if (!c->perm[t])
		return 1;
	for (int32_t s = 0; s < C; s++)
		if (c->ord[t][s] / cin_g == gi) {
			runs += s != prev + 1;
			prev = s;
		}
	return runs;
}

/* Can layer li read input t (in slot order, perm[t] set) by permuting its
 * weights, or does it pass the order on? */
static int absorbs(const struct sp_ctx *c, uint32_t li, int32_t t)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[li];

	switch (c->kind[li]) {
	case SP_PW: {
		int32_t G = l->groups ? l->groups : 1, cin_g = g->tensors[t].c / G;

		if (l->op == NPUI_OP_FC)
			return g->tensors[t].h * g->tensors[t].w == 1;
		for (int32_t gi = 0; gi < G; gi++)
			if (sp_group_runs(c, t, cin_g, gi) > SP_MAX_PIECES)
				return 0;
		return 1;
	}
	case SP_DW:
	case SP_POOL:
		return 1;
	case SP_ADD:
		return c->perm[l->inputs[0]] && c->perm[l->inputs[1]] &&
		       !memcmp(c->ord[l->inputs[0]], c->ord[l->inputs[1]],
		               (size_t)g->tensors[t].c * sizeof(int32_t));
	case SP_FOLD:
		return c->viewed[li];
	default:
		return 0;
	}
}

/* The order on t cannot stay: refuse the view that made it (the nearest
 * one upstream through DW, pools and ADD, which pass orders on). */
static int refuse_origin(struct sp_ctx *c, int32_t t)
{
	int32_t p = t >= 0 ? c->producer[t] : -1;
	int changed = 0;

	/* every order starts at a view: p < 0 cannot hold a perm */
	if (p < 0)
		return 0;
	if (c->viewed[p]) {
		c->noview[p] = 1;
		return 1;
	}
	for (unsigned k = 0; k < c->g->layers[p].num_inputs; k++)
		if (c->perm[c->g->layers[p].inputs[k]])
			changed |= refuse_origin(c, c->g->layers[p].inputs[k]);
	return changed;
}

/* Every channel order reaches only consumers that absorb it. Refuses views
 * where not; returns 1 if it refused any. */
static int order_check(struct sp_ctx *c)
{
	const struct npui_graph *g = c->g;
	int changed = 0;

	if (c->perm[g->output])
		changed |= refuse_origin(c, g->output);
	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];

		for (unsigned k = 0; k < l->num_inputs; k++)
			if (c->perm[l->inputs[k]] && !absorbs(c, i, l->inputs[k]))
				changed |= refuse_origin(c, l->inputs[k]);
	}
	return changed;
}

/* Every input of CONCAT li can be stored into its slice by its producer
 * (the store-side fold, one contiguous run per pixel): then a view would
 * only make the readers load two pieces instead of one (SqueezeNet's fire
 * concats: 0.6-1.8 % more cycles as views). */
static int concat_storable(const struct sp_ctx *c, const struct sp_users *u, uint32_t li)
{
	const struct npui_layer *l = &c->g->layers[li];

	for (unsigned k = 0; k < l->num_inputs; k++) {
		int32_t t = l->inputs[k], p = c->producer[t];

		if (p < 0 || c->perm[t] || !reader_ok(c, u, t))
			return 0;
		if (c->kind[p] != SP_PW && c->kind[p] != SP_DW && c->kind[p] != SP_POOL &&
		    c->kind[p] != SP_ADD)
			return 0;
		for (uint32_t r = u->cstart[t]; r < u->cstart[t + 1]; r++)
			if (u->cons[r] != li && is_fold_op(c->g->layers[u->cons[r]].op))
				return 0;
	}
	return 1;
}

/* Views in layer order; DW, pools and ADD pass their input's order on. */
static void view_pass(struct sp_ctx *c, const struct sp_users *u)
{
	const struct npui_graph *g = c->g;
	struct sp_loc tmp;

	/* a shuffle that is no view and has more groups than a location has
	 * pieces can be neither folded at the store nor copied: the CPU */
	for (uint32_t i = 0; i < g->num_layers; i++)
		if (c->kind[i] == SP_FOLD && c->noview[i] && g->layers[i].op == NPUI_OP_SHUFFLE &&
		    g->layers[i].groups > SP_MAX_PIECES)
			c->kind[i] = SP_CPU;
	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];
		int32_t o = l->output, in = l->num_inputs ? l->inputs[0] : -1;

		c->viewed[i] = 0;
		if (c->kind[i] == SP_FOLD && is_fold_op(l->op)) {
			if (c->noview[i] || !reader_ok(c, u, o) ||
			    (l->op == NPUI_OP_CONCAT && concat_storable(c, u, i)))
				continue;
			if (view_build(c, i, &tmp) || loc_forbidden(c, &tmp)) {
				c->noview[i] = 1;
				continue;
			}
			c->loc[o] = tmp;
			c->homed[o] = 2;
			c->viewed[i] = 1;
			ord_settle(c, o);
		} else if ((c->kind[i] == SP_DW || c->kind[i] == SP_POOL || c->kind[i] == SP_ADD) &&
		           c->perm[in] && g->tensors[o].c == g->tensors[in].c) {
			memcpy(c->ord[o], c->ord[in], (size_t)g->tensors[o].c * sizeof(int32_t));
			c->perm[o] = 1;
		}
	}
}

static void fold_pass(struct sp_ctx *c, const struct sp_users *u, const uint8_t *base_kind)
{
	const struct npui_graph *g = c->g;
	struct sp_loc tmp;

	for (uint32_t t = 0; t < g->num_tensors; t++) {
		loc_own(&c->loc[t], (int32_t)t, g->tensors[t].c);
		c->homed[t] = 0;
		c->perm[t] = 0;
	}
	memcpy(c->kind, base_kind, g->num_layers);
	view_pass(c, u);

	/* store side, last layer first: a fold's output location is final
	 * before its inputs are placed inside it */
	for (uint32_t i = g->num_layers; i-- > 0;) {
		const struct npui_layer *l = &g->layers[i];
		const struct sp_loc *Lo = &c->loc[l->output];
		int all = 1;

		if (c->kind[i] != SP_FOLD || c->viewed[i])
			continue;
		if (l->op == NPUI_OP_CONCAT) {
			int32_t off = 0;

			for (unsigned k = 0; k < l->num_inputs; k++) {
				int32_t t = l->inputs[k], n = g->tensors[t].c;

				if (can_home(c, u, t) && sp_loc_slice(Lo, off, n, &tmp) == 0 &&
				    !loc_forbidden(c, &tmp)) {
					c->loc[t] = tmp;
					c->homed[t] = 1;
				} else {
					all = 0;
				}
				off += n;
			}
		} else if (l->op == NPUI_OP_SHUFFLE) {
			int32_t t = l->inputs[0];

			if (can_home(c, u, t) &&
			    sp_loc_unshuffle(Lo, g->tensors[t].c, l->groups, &tmp) == 0 &&
			    !loc_forbidden(c, &tmp)) {
				c->loc[t] = tmp;
				c->homed[t] = 1;
			} else {
				all = 0;
			}
		}
		if (!all)
			c->kind[i] = SP_COPY;
	}

	/* load side, in order: a SPLIT output is a window of its input */
	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];
		int32_t t = l->output;

		if (c->kind[i] != SP_FOLD || c->viewed[i] || l->op != NPUI_OP_SPLIT)
			continue;
		if (c->homed[t] == 1) {
			/* stored into a concat/shuffle output: a copy */
			c->kind[i] = SP_COPY;
			continue;
		}
		if (reader_ok(c, u, t) &&
		    sp_loc_slice(&c->loc[l->inputs[0]], l->split_begin, g->tensors[t].c, &tmp) ==
		            0 &&
		    !loc_forbidden(c, &tmp)) {
			c->loc[t] = tmp;
			c->homed[t] = 2;
		} else {
			c->kind[i] = SP_COPY;
		}
	}
}

/* Lifetimes of the buffers as folding uses them: a host's interval grows
 * to cover every tensor placed in it. Unhosted tensors keep theirs. */
void sp_ext_lifetimes(const struct sp_ctx *c, int64_t *ef, int64_t *el)
{
	const struct npui_graph *g = c->g;

	for (uint32_t t = 0; t < g->num_tensors; t++) {
		ef[t] = c->homed[t] ? 0 : c->first[t];
		el[t] = c->homed[t] ? -2 : c->last[t];
	}
	for (uint32_t t = 0; t < g->num_tensors; t++) {
		if (!c->homed[t])
			continue;
		for (int32_t k = 0; k < c->loc[t].n; k++) {
			int32_t P = c->loc[t].p[k].phys;

			if (c->first[t] < ef[P])
				ef[P] = c->first[t];
			if (c->last[t] > el[P])
				el[P] = c->last[t];
		}
	}
}

/* Forbid hosts whose stretched lifetime collides in the given arena.
 * Returns 1 if anything new was forbidden. */
static int arena_check(struct sp_ctx *c, int64_t *ef, int64_t *el)
{
	const struct npui_graph *g = c->g;
	int changed = 0;

	sp_ext_lifetimes(c, ef, el);
	for (uint32_t P = 0; P < g->num_tensors; P++) {
		const struct npui_tensor *tp = &g->tensors[P];
		size_t po = c->arena_off[P], pe = po + (size_t)tp->h * tp->w * tp->c;

		if (c->homed[P] || c->forbid[P] || (ef[P] == c->first[P] && el[P] == c->last[P]))
			continue;
		if (c->last[P] < c->first[P]) {
			/* hosts others but has no buffer of its own */
			c->forbid[P] = 1;
			changed = 1;
			continue;
		}
		for (uint32_t Q = 0; Q < g->num_tensors; Q++) {
			const struct npui_tensor *tq = &g->tensors[Q];
			size_t qo = c->arena_off[Q], qe = qo + (size_t)tq->h * tq->w * tq->c;

			if (Q == P || c->homed[Q] || c->last[Q] < c->first[Q])
				continue;
			if (el[Q] < ef[P] || el[P] < ef[Q] || qe <= po || pe <= qo)
				continue;
			c->forbid[P] = 1;
			changed = 1;
			break;
		}
	}
	return changed;
}

static void fold_why(const struct sp_ctx *c, uint32_t i, struct npui_placement *pl)
{
	const struct npui_layer *l = &c->g->layers[i];

	if (c->kind[i] == SP_FOLD && c->viewed[i]) {
		pl->folded = 1;
		snprintf(pl->engine, sizeof(pl->engine), "dma");
		if (l->op == NPUI_OP_CONCAT)
			WHY("concat: a view of its inputs' channels, no bytes move");
		else if (l->op == NPUI_OP_SHUFFLE)
			WHY("shuffle g%u: a relabelling; consumers permute weights", l->groups);
		else
			WHY("split: a view of its input's slots %s",
			    c->perm[l->output] ? "(permuted)" : "");
		return;
	}
	if (c->kind[i] == SP_FOLD) {
		pl->folded = 1;
		snprintf(pl->engine, sizeof(pl->engine), "dma");
		if (l->op == NPUI_OP_CONCAT)
			WHY("concat: producers store into their channel slices");
		else if (l->op == NPUI_OP_SHUFFLE)
			WHY("shuffle g%u: producers store with channel stride %u", l->groups,
			    l->groups);
		else if (l->op == NPUI_OP_SPLIT)
			WHY("split: consumers load at channel offset %d", l->split_begin);
		else
			WHY("%s: output unused, skipped", npui_op_name(l));
		return;
	}
	snprintf(pl->engine, sizeof(pl->engine), "dma");
	pl->folded = 0;
	if (l->op == NPUI_OP_SPLIT)
		WHY("split: DMA copy of the slice into its concat/shuffle slot");
	else if (l->op == NPUI_OP_CONCAT)
		WHY("concat: DMA copy of inputs no NPU producer stores");
	else
		WHY("shuffle g%u: DMA copy with channel-strided stores", l->groups);
}

/*
 * NPU_SCHED_FORCE_CPU, a debugging knob (docs/SCHEDULER.md §1): "1" or
 * "all" puts every layer on the CPU; a comma-separated list of op names
 * (npui_op_name: conv, dwconv, fc, add, maxpool, concat, ...) only the
 * layers of those ops. Unset, "" or "0": off. The exactness tests use it
 * to show that their placement checks fire when the CPU does the work.
 */
static int forced_to_cpu(const char *knob, const struct npui_layer *l)
{
	const char *op = npui_op_name(l);
	size_t n = strlen(op);

	if (!knob || !*knob || !strcmp(knob, "0"))
		return 0;
	if (!strcmp(knob, "1") || !strcmp(knob, "all"))
		return 1;
	for (const char *p = knob;; p++) {
		size_t k = strcspn(p, ",");

		if (k == n && !strncmp(p, op, n))
			return 1;
		p += k;
		if (!*p)
			return 0;
	}
}

/*
 * The stem rewrite (docs/SCHEDULER.md, "The stem"): a stride-2 PW conv of
 * few input channels as a stride-1 conv over its input space-to-depth by
 * 2, where the tiler's cost says it pays. Its loads read the input's own
 * buffer row by row, so only an input that is its own contiguous buffer
 * in channel order qualifies. NPU_SCHED_STEM=0 turns it off (the tests
 * compare both).
 */
static void stem_pass(struct sp_ctx *c, struct npui_placement *pl_all)
{
	const char *knob = getenv("NPU_SCHED_STEM");
	const struct npui_graph *g = c->g;

	if (knob && !strcmp(knob, "0"))
		return;
	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];
		struct npui_placement *pl = &pl_all[i];
		int32_t in = l->num_inputs ? l->inputs[0] : -1;
		const struct sp_loc *L = in >= 0 ? &c->loc[in] : NULL;
		struct sp_tile t;

		if (c->kind[i] != SP_PW || !L || c->perm[in] || c->homed[in] || L->n != 1 ||
		    L->p[0].phys != in || L->p[0].off || L->p[0].stride != 1)
			continue;
		if (!sp_plan_stem(c, i, &t) || t.cost >= c->tile[i].cost)
			continue;
		c->tile[i] = t;
		WHY("conv %ux%u s2: PW array, space-to-depth by 2 in the load", l->kh, l->kw);
	}
}

int sp_place(struct sp_ctx *c, struct npui_placement *pl_all)
{
	const char *force = getenv("NPU_SCHED_FORCE_CPU");
	const struct npui_graph *g = c->g;
	struct sp_users u = {NULL, NULL};
	uint8_t *base = NULL;
	int64_t *ef = NULL, *el = NULL;
	uint32_t nt = g->num_tensors, n = 0;
	int rc = NPU_ERR_NO_MEM;

	u.cstart = calloc(nt + 1, sizeof(*u.cstart));
	base = calloc(g->num_layers ? g->num_layers : 1, 1);
	ef = calloc(nt, sizeof(*ef));
	el = calloc(nt, sizeof(*el));
	for (uint32_t i = 0; i < g->num_layers; i++)
		n += g->layers[i].num_inputs;
	u.cons = calloc(n ? n : 1, sizeof(*u.cons));
	if (!u.cstart || !base || !ef || !el || !u.cons)
		goto out;
	for (uint32_t i = 0; i < g->num_layers; i++)
		for (unsigned k = 0; k < g->layers[i].num_inputs; k++)
			u.cstart[g->layers[i].inputs[k] + 1]++;
	for (uint32_t t = 0; t < nt; t++)
		u.cstart[t + 1] += u.cstart[t];
	{
		uint32_t *fill = calloc(nt ? nt : 1, sizeof(*fill));

		if (!fill)
			goto out;
		for (uint32_t i = 0; i < g->num_layers; i++)
			for (unsigned k = 0; k < g->layers[i].num_inputs; k++) {
				int32_t t = g->layers[i].inputs[k];
				u.cons[u.cstart[t] + fill[t]++] = i;
			}
		free(fill);
	}

	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];
		struct npui_placement *pl = &pl_all[i];
		int32_t o = l->output;

		if (forced_to_cpu(force, l)) {
			base[i] = SP_CPU;
			WHY("%s: forced to the CPU (NPU_SCHED_FORCE_CPU)", npui_op_name(l));
			continue;
		}
		if (o != g->output && c->last[o] < c->first[o]) {
			base[i] = SP_FOLD; /* nobody reads it: nothing to run */
			continue;
		}
		if (is_fold_op(l->op)) {
			int identity = 1;

			for (unsigned k = 0; l->op == NPUI_OP_CONCAT && k < l->num_inputs; k++) {
				const struct npui_quant *q = &g->tensors[l->inputs[k]].q;
				identity &= q->scale == g->tensors[o].q.scale &&
				            q->zero_point == g->tensors[o].q.zero_point;
			}
			base[i] = identity ? SP_FOLD : SP_CPU;
			if (!identity)
				WHY("concat: inputs need requantizing; DMA only copies");
			if (identity && !sp_plan_tile(c, i, SP_COPY, &c->tile[i])) {
				/* a copy must stay possible if the fold is undone */
				base[i] = SP_CPU;
				WHY("%s: no copy tile fits the SRAMs", npui_op_name(l));
			}
			continue;
		}
		base[i] = (uint8_t)place_compute(c, i, pl);
	}

	for (uint32_t iter = 0; iter <= nt + g->num_layers; iter++) {
		int changed;

		fold_pass(c, &u, base);
		changed = order_check(c);
		if (c->arena_off && arena_check(c, ef, el))
			changed = 1;
		if (!changed)
			break;
	}
	stem_pass(c, pl_all);

	for (uint32_t i = 0; i < g->num_layers; i++) {
		struct npui_placement *pl = &pl_all[i];
		static const char *const names[] = {"cpu", "pw", "dw", "ppu", "ppu", "dma", "dma"};

		snprintf(pl->engine, sizeof(pl->engine), "%s", names[c->kind[i]]);
		pl->folded = 0;
		if (c->kind[i] == SP_CPU && base[i] == SP_FOLD)
			WHY("shuffle g%u: no view, more groups than DMA pieces",
			    g->layers[i].groups);
		if (c->kind[i] == SP_FOLD || c->kind[i] == SP_COPY)
			fold_why(c, i, pl);
	}
	rc = NPU_OK;
out:
	free(u.cstart);
	free(u.cons);
	free(base);
	free(ef);
	free(el);
	return rc;
}
