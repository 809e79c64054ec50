/*
 * Float graph builder: graph construction with float weights, the float forward
 * pass used for calibration, and post-training quantization. See zb.h for
 * the interface and docs/ZOO.md for the method.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "quant/zb.h"

struct zb_tensor {
	float *data;  /* live only during a forward pass */
	float lo, hi; /* calibration range seen so far */
	int parent;   /* union-find: tensors that must share one quant */
	int last_use; /* last layer that reads it; data is freed after */
	int fixed;    /* fq given by zb_set_quant: not calibrated */
	struct npui_quant fq;
};

struct zb_layer {
	float *w;    /* CONV: OHWI, FC: [cout][K] */
	float *bias; /* [cout]; holds the BN beta until the first pass */
	size_t nw;
	int cout;
	enum zb_norm norm;
	float *wscale; /* [cout] given weight scales, or NULL */
};

/* Percentile calibration: a histogram of |x| per tensor over [0, absmax]. */
#define ZB_HIST_BINS 4096

#ifndef ZB_ZOO_SCORE_HEADROOM
#define ZB_ZOO_SCORE_HEADROOM 2.0f
#endif

struct zb {
	struct npui_graph *g;
	struct zb_tensor *t;
	struct zb_layer *l;
	uint32_t cap_t, cap_l;
	uint64_t seed;
	uint64_t rng;
	int err;
	char why[200];
	uint64_t *hist; /* [num_tensors][ZB_HIST_BINS] on the histogram pass */
};

double zb_rng_normal(uint64_t *s)
{
	/* 1 - u is in (0, 1]: log never sees 0. */
	double u1 = 1.0 - zb_rng_uniform(s);
	double u2 = zb_rng_uniform(s);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void copy_name(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n > NPUI_NAME_MAX - 1)
		n = NPUI_NAME_MAX - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void zb_fail(struct zb *b, int status, const char *fmt, ...)
{
	va_list ap;

	if (b->err)
		return;
	b->err = status;
	va_start(ap, fmt);
	vsnprintf(b->why, sizeof(b->why), fmt, ap);
	va_end(ap);
}

int zb_error(const struct zb *b)
{
	return b->err;
}

int zb_input(const struct zb *b)
{
	return b->g ? b->g->input : -1;
}

int zb_channels(const struct zb *b, int t)
{
	return t < 0 ? 0 : b->g->tensors[t].c;
}

int zb_height(const struct zb *b, int t)
{
	return t < 0 ? 0 : b->g->tensors[t].h;
}

static int new_tensor(struct zb *b, const char *name, int h, int w, int c)
{
	struct npui_graph *g = b->g;
	struct npui_tensor *tt;
	int id;

	if (h < 1 || w < 1 || c < 1 || h > NPUI_MAX_DIM || w > NPUI_MAX_DIM || c > NPUI_MAX_DIM) {
		zb_fail(b, NPU_ERR_INTERNAL, "%s: output shape %dx%dx%d does not fit", name, h, w,
		        c);
		return -1;
	}
	if (g->num_tensors == b->cap_t) {
		uint32_t cap = b->cap_t ? 2 * b->cap_t : 64;
		void *nt = realloc(g->tensors, cap * sizeof(*g->tensors));

		if (nt)
			g->tensors = nt;
		nt = nt ? realloc(b->t, cap * sizeof(*b->t)) : NULL;
		if (!nt) {
			zb_fail(b, NPU_ERR_NO_MEM, "out of memory");
			return -1;
		}
		b->t = nt;
		b->cap_t = cap;
	}
	id = (int)g->num_tensors++;
	tt = &g->tensors[id];
	memset(tt, 0, sizeof(*tt));
	copy_name(tt->name, name);
	tt->h = h;
	tt->w = w;
	tt->c = c;
	memset(&b->t[id], 0, sizeof(b->t[id]));
	b->t[id].lo = INFINITY;
	b->t[id].hi = -INFINITY;
	b->t[id].parent = id;
	return id;
}

/* A new layer writing a new tensor of the given shape; NULL on error. The
 * pointer is valid until the next layer is added. */
static struct npui_layer *new_layer(struct zb *b, const char *name, enum npui_op op, int n,
                                    const int *ins, int oh, int ow, int oc)
{
	struct npui_graph *g = b->g;
	struct npui_layer *l;
	int out, i;

	if (b->err)
		return NULL;
	for (i = 0; i < n; i++) {
		if (ins[i] < 0 || (uint32_t)ins[i] >= g->num_tensors) {
			zb_fail(b, NPU_ERR_INTERNAL, "%s: bad input tensor", name);
			return NULL;
		}
	}
	out = new_tensor(b, name, oh, ow, oc);
	if (out < 0)
		return NULL;
	if (g->num_layers == b->cap_l) {
		uint32_t cap = b->cap_l ? 2 * b->cap_l : 64;
		void *nl = realloc(g->layers, cap * sizeof(*g->layers));

		if (nl)
			g->layers = nl;
		nl = nl ? realloc(b->l, cap * sizeof(*b->l)) : NULL;
		if (!nl) {
			zb_fail(b, NPU_ERR_NO_MEM, "out of memory");
			return NULL;
		}
		b->l = nl;
		b->cap_l = cap;
	}
	memset(&b->l[g->num_layers], 0, sizeof(b->l[0]));
	l = &g->layers[g->num_layers++];
	memset(l, 0, sizeof(*l));
	copy_name(l->name, name);
	l->op = (uint16_t)op;
	l->num_inputs = (uint8_t)n;
	for (i = 0; i < n; i++)
		l->inputs[i] = ins[i];
	l->output = out;
	return l;
}

struct zb *zb_new(const char *graph_name, int size, uint64_t seed)
{
	return zb_new_input(graph_name, size, size, 3, seed);
}

struct zb *zb_new_input(const char *graph_name, int h, int w, int c, uint64_t seed)
{
	struct zb *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->g = calloc(1, sizeof(*b->g));
	if (!b->g) {
		free(b);
		return NULL;
	}
	copy_name(b->g->name, graph_name);
	/* Its own stream: weights must not shift when calibration changes. */
	b->seed = seed;
	b->rng = seed ^ UINT64_C(0x7765696768747321);
	b->g->input = new_tensor(b, "input", h, w, c);
	b->g->output = -1;
	return b;
}

static void free_float_state(struct zb *b)
{
	uint32_t i;

	if (!b->g)
		return;
	for (i = 0; i < b->g->num_tensors; i++) {
		free(b->t[i].data);
		b->t[i].data = NULL;
	}
	for (i = 0; i < b->g->num_layers; i++) {
		free(b->l[i].w);
		free(b->l[i].bias);
		free(b->l[i].wscale);
		b->l[i].w = NULL;
		b->l[i].bias = NULL;
		b->l[i].wscale = NULL;
	}
}

void zb_free(struct zb *b)
{
	if (!b)
		return;
	free_float_state(b);
	npui_graph_free(b->g);
	free(b->t);
	free(b->l);
	free(b);
}

/* ---- layers ----------------------------------------------------------- */

/* He-init (normal, std sqrt(2 / fan_in)) and a small seeded bias / beta. */
static int init_weights(struct zb *b, int cout, size_t fan_in, enum zb_norm norm)
{
	struct zb_layer *zl = &b->l[b->g->num_layers - 1];
	double std = sqrt(2.0 / (double)fan_in);
	size_t i;

	zl->nw = (size_t)cout * fan_in;
	zl->cout = cout;
	zl->norm = norm;
	zl->w = malloc(zl->nw * sizeof(float));
	zl->bias = malloc((size_t)cout * sizeof(float));
	if (!zl->w || !zl->bias) {
		zb_fail(b, NPU_ERR_NO_MEM, "out of memory");
		return -1;
	}
	for (i = 0; i < zl->nw; i++)
		zl->w[i] = (float)(std * zb_rng_normal(&b->rng));
	for (i = 0; i < (size_t)cout; i++)
		zl->bias[i] = (float)(0.1 * zb_rng_normal(&b->rng));
	return 0;
}

static void set_window(struct npui_layer *l, int k, int stride, int pt, int pl, int pb, int pr)
{
	l->kh = l->kw = (uint16_t)k;
	l->stride_h = l->stride_w = (uint16_t)stride;
	l->pad_t = (uint16_t)pt;
	l->pad_l = (uint16_t)pl;
	l->pad_b = (uint16_t)pb;
	l->pad_r = (uint16_t)pr;
}

/* Floor-mode output size, or 0 when the window does not fit. */
static int out_size(int in, int k, int stride, int pad_a, int pad_b)
{
	int span = in + pad_a + pad_b - k;

	return span < 0 ? 0 : span / stride + 1;
}

int zb_conv(struct zb *b, const char *name, int in, int cout, int k, int stride, int pad,
            int groups, enum npui_act act, enum zb_norm norm)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;
	int oh, ow, cin, out;

	if (b->err || in < 0)
		return -1;
	ti = &b->g->tensors[in];
	cin = ti->c;
	if (groups < 1 || cin % groups || cout % groups) {
		zb_fail(b, NPU_ERR_INTERNAL, "%s: %d -> %d channels in %d groups", name, cin, cout,
		        groups);
		return -1;
	}
	oh = out_size(ti->h, k, stride, pad, pad);
	ow = out_size(ti->w, k, stride, pad, pad);
	l = new_layer(b, name, NPUI_OP_CONV, 1, &in, oh, ow, cout);
	if (!l)
		return -1;
	l->act = (uint8_t)act;
	l->groups = (uint16_t)groups;
	set_window(l, k, stride, pad, pad, pad, pad);
	out = l->output;
	if (init_weights(b, cout, (size_t)k * k * (cin / groups), norm))
		return -1;
	return out;
}

int zb_dw(struct zb *b, const char *name, int in, int k, int stride, enum npui_act act,
          enum zb_norm norm)
{
	int c = zb_channels(b, in);

	return zb_conv(b, name, in, c, k, stride, (k - 1) / 2, c, act, norm);
}

int zb_fc(struct zb *b, const char *name, int in, int cout, enum npui_act act, enum zb_norm norm)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;
	size_t k;
	int out;

	if (b->err || in < 0)
		return -1;
	/* Read before new_layer: adding a tensor may move the array. */
	ti = &b->g->tensors[in];
	k = (size_t)ti->h * ti->w * ti->c;
	l = new_layer(b, name, NPUI_OP_FC, 1, &in, 1, 1, cout);
	if (!l)
		return -1;
	l->act = (uint8_t)act;
	out = l->output;
	if (init_weights(b, cout, k, norm))
		return -1;
	return out;
}

static void tie(struct zb *b, int x, int y);

/*
 * PyTorch ceil_mode: out = ceil((in + 2 pad - k) / s) + 1, minus one when
 * the last window would start in the right padding. The extra rows and
 * columns become pad_b/pad_r, which padding-never-wins makes exact.
 */
static int ceil_extra_pad(int in, int k, int stride, int pad)
{
	int o = (in + 2 * pad - k + stride - 1) / stride + 1;

	if ((o - 1) * stride >= in + pad)
		o--;
	return (o - 1) * stride + k - in - pad;
}

int zb_maxpool(struct zb *b, const char *name, int in, int k, int stride, int pad, int ceil_mode)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;
	int pb = pad, pr = pad, c;

	if (b->err || in < 0)
		return -1;
	ti = &b->g->tensors[in];
	c = ti->c;
	if (ceil_mode) {
		pb = ceil_extra_pad(ti->h, k, stride, pad);
		pr = ceil_extra_pad(ti->w, k, stride, pad);
		if (pb < pad)
			pb = pad;
		if (pr < pad)
			pr = pad;
	}
	l = new_layer(b, name, NPUI_OP_MAXPOOL, 1, &in, out_size(ti->h, k, stride, pad, pb),
	              out_size(ti->w, k, stride, pad, pr), c);
	if (!l)
		return -1;
	set_window(l, k, stride, pad, pad, pb, pr);
	tie(b, in, l->output);
	return l->output;
}

int zb_avgpool(struct zb *b, const char *name, int in, int k, int stride, int pad)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;

	if (b->err || in < 0)
		return -1;
	ti = &b->g->tensors[in];
	l = new_layer(b, name, NPUI_OP_AVGPOOL, 1, &in, out_size(ti->h, k, stride, pad, pad),
	              out_size(ti->w, k, stride, pad, pad), ti->c);
	if (!l)
		return -1;
	set_window(l, k, stride, pad, pad, pad, pad);
	l->count_include_pad = 1;
	return l->output;
}

int zb_gap(struct zb *b, const char *name, int in)
{
	struct npui_layer *l;

	if (b->err || in < 0)
		return -1;
	l = new_layer(b, name, NPUI_OP_GAP, 1, &in, 1, 1, b->g->tensors[in].c);
	return l ? l->output : -1;
}

static int same_shape(const struct npui_tensor *x, const struct npui_tensor *y)
{
	return x->h == y->h && x->w == y->w && x->c == y->c;
}

int zb_add(struct zb *b, const char *name, int in0, int in1, enum npui_act act)
{
	const struct npui_tensor *t0;
	struct npui_layer *l;
	int ins[2] = {in0, in1};

	if (b->err || in0 < 0 || in1 < 0)
		return -1;
	t0 = &b->g->tensors[in0];
	if (!same_shape(t0, &b->g->tensors[in1])) {
		zb_fail(b, NPU_ERR_INTERNAL, "%s: add of different shapes", name);
		return -1;
	}
	l = new_layer(b, name, NPUI_OP_ADD, 2, ins, t0->h, t0->w, t0->c);
	if (!l)
		return -1;
	l->act = (uint8_t)act;
	return l->output;
}

int zb_mul(struct zb *b, const char *name, int in0, int in1)
{
	const struct npui_tensor *t0, *t1;
	struct npui_layer *l;
	int ins[2] = {in0, in1};

	if (b->err || in0 < 0 || in1 < 0)
		return -1;
	t0 = &b->g->tensors[in0];
	t1 = &b->g->tensors[in1];
	if ((t1->h != 1 || t1->w != 1 || t1->c != t0->c) && !same_shape(t0, t1)) {
		zb_fail(b, NPU_ERR_INTERNAL, "%s: gate is not [1,1,%d] nor in0's shape", name,
		        t0->c);
		return -1;
	}
	l = new_layer(b, name, NPUI_OP_MUL, 2, ins, t0->h, t0->w, t0->c);
	return l ? l->output : -1;
}

int zb_concat(struct zb *b, const char *name, int n, const int *ins)
{
	const struct npui_tensor *t0;
	struct npui_layer *l;
	int i, c = 0;

	if (b->err)
		return -1;
	if (n < 1 || n > NPUI_MAX_INPUTS) {
		zb_fail(b, NPU_ERR_INTERNAL, "%s: %d concat inputs", name, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ins[i] < 0)
			return -1;
	}
	t0 = &b->g->tensors[ins[0]];
	for (i = 0; i < n; i++) {
		const struct npui_tensor *ti = &b->g->tensors[ins[i]];

		if (ti->h != t0->h || ti->w != t0->w) {
			zb_fail(b, NPU_ERR_INTERNAL, "%s: concat of different sizes", name);
			return -1;
		}
		c += ti->c;
	}
	l = new_layer(b, name, NPUI_OP_CONCAT, n, ins, t0->h, t0->w, c);
	if (!l)
		return -1;
	/* One quant for all inputs and the output: the concat is a copy. */
	for (i = 0; i < n; i++)
		tie(b, ins[i], l->output);
	return l->output;
}

int zb_shuffle(struct zb *b, const char *name, int in, int groups)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;

	if (b->err || in < 0)
		return -1;
	ti = &b->g->tensors[in];
	if (groups < 1 || ti->c % groups) {
		zb_fail(b, NPU_ERR_INTERNAL, "%s: %d channels in %d groups", name, ti->c, groups);
		return -1;
	}
	l = new_layer(b, name, NPUI_OP_SHUFFLE, 1, &in, ti->h, ti->w, ti->c);
	if (!l)
		return -1;
	l->groups = (uint16_t)groups;
	tie(b, in, l->output);
	return l->output;
}

int zb_split(struct zb *b, const char *name, int in, int begin, int c)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;

	if (b->err || in < 0)
		return -1;
	ti = &b->g->tensors[in];
	if (begin < 0 || c < 1 || begin + c > ti->c) {
		zb_fail(b, NPU_ERR_INTERNAL, "%s: slice %d+%d of %d channels", name, begin, c,
		        ti->c);
		return -1;
	}
	l = new_layer(b, name, NPUI_OP_SPLIT, 1, &in, ti->h, ti->w, c);
	if (!l)
		return -1;
	l->split_begin = begin;
	tie(b, in, l->output);
	return l->output;
}

int zb_lut(struct zb *b, const char *name, int in, enum npui_lut_fn fn)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;

	if (b->err || in < 0)
		return -1;
	ti = &b->g->tensors[in];
	l = new_layer(b, name, NPUI_OP_LUT, 1, &in, ti->h, ti->w, ti->c);
	if (!l)
		return -1;
	l->lut_fn = (uint8_t)fn;
	return l->output;
}

/* ---- layers with given parameters ------------------------------------- */

static void set_window_given(struct npui_layer *l, const struct zb_window *win)
{
	l->kh = (uint16_t)win->kh;
	l->kw = (uint16_t)win->kw;
	l->stride_h = (uint16_t)win->sh;
	l->stride_w = (uint16_t)win->sw;
	l->pad_t = (uint16_t)win->pt;
	l->pad_l = (uint16_t)win->pl;
	l->pad_b = (uint16_t)win->pb;
	l->pad_r = (uint16_t)win->pr;
}

static int window_ok(struct zb *b, const char *name, const struct zb_window *win)
{
	if (win->kh < 1 || win->kw < 1 || win->kh > NPUI_MAX_KERNEL || win->kw > NPUI_MAX_KERNEL ||
	    win->sh < 1 || win->sw < 1 || win->sh > 8 || win->sw > 8 || win->pt < 0 ||
	    win->pl < 0 || win->pb < 0 || win->pr < 0 || win->pt >= win->kh || win->pb >= win->kh ||
	    win->pl >= win->kw || win->pr >= win->kw) {
		zb_fail(b, NPU_ERR_INVALID_ARG,
		        "%s: window %dx%d stride %dx%d pads %d,%d,%d,%d not supported", name,
		        win->kh, win->kw, win->sh, win->sw, win->pt, win->pl, win->pb, win->pr);
		return 0;
	}
	return 1;
}

/* Copy given float parameters into the newest layer (ZB_FIXED). */
static int give_params(struct zb *b, int cout, size_t fan_in, const float *w, const float *bias)
{
	struct zb_layer *zl = &b->l[b->g->num_layers - 1];

	zl->nw = (size_t)cout * fan_in;
	zl->cout = cout;
	zl->norm = ZB_FIXED;
	zl->w = malloc(zl->nw * sizeof(float));
	zl->bias = calloc((size_t)cout, sizeof(float));
	if (!zl->w || !zl->bias) {
		zb_fail(b, NPU_ERR_NO_MEM, "out of memory");
		return -1;
	}
	memcpy(zl->w, w, zl->nw * sizeof(float));
	if (bias)
		memcpy(zl->bias, bias, (size_t)cout * sizeof(float));
	return 0;
}

int zb_conv_given(struct zb *b, const char *name, int in, int cout, const struct zb_window *win,
                  int groups, enum npui_act act, const float *w, const float *bias)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;
	int oh, ow, cin, out;

	if (b->err || in < 0 || !window_ok(b, name, win))
		return -1;
	ti = &b->g->tensors[in];
	cin = ti->c;
	if (groups < 1 || cout < 1 || cin % groups || cout % groups) {
		zb_fail(b, NPU_ERR_INVALID_ARG, "%s: %d -> %d channels in %d groups", name, cin,
		        cout, groups);
		return -1;
	}
	oh = out_size(ti->h, win->kh, win->sh, win->pt, win->pb);
	ow = out_size(ti->w, win->kw, win->sw, win->pl, win->pr);
	l = new_layer(b, name, NPUI_OP_CONV, 1, &in, oh, ow, cout);
	if (!l)
		return -1;
	l->act = (uint8_t)act;
	l->groups = (uint16_t)groups;
	set_window_given(l, win);
	out = l->output;
	if (give_params(b, cout, (size_t)win->kh * win->kw * (cin / groups), w, bias))
		return -1;
	return out;
}

int zb_fc_given(struct zb *b, const char *name, int in, int cout, enum npui_act act, const float *w,
                const float *bias)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;
	size_t k;
	int out;

	if (b->err || in < 0)
		return -1;
	ti = &b->g->tensors[in];
	k = (size_t)ti->h * ti->w * ti->c;
	l = new_layer(b, name, NPUI_OP_FC, 1, &in, 1, 1, cout);
	if (!l)
		return -1;
	l->act = (uint8_t)act;
	out = l->output;
	if (give_params(b, cout, k, w, bias))
		return -1;
	return out;
}

int zb_pool_given(struct zb *b, const char *name, enum npui_op op, int in,
                  const struct zb_window *win, int count_include_pad)
{
	const struct npui_tensor *ti;
	struct npui_layer *l;

	if (b->err || in < 0 || !window_ok(b, name, win))
		return -1;
	if (op != NPUI_OP_MAXPOOL && op != NPUI_OP_AVGPOOL) {
		zb_fail(b, NPU_ERR_INTERNAL, "%s: not a pooling op", name);
		return -1;
	}
	ti = &b->g->tensors[in];
	l = new_layer(b, name, op, 1, &in, out_size(ti->h, win->kh, win->sh, win->pt, win->pb),
	              out_size(ti->w, win->kw, win->sw, win->pl, win->pr), ti->c);
	if (!l)
		return -1;
	set_window_given(l, win);
	if (op == NPUI_OP_AVGPOOL)
		l->count_include_pad = (uint8_t)(count_include_pad != 0);
	else
		tie(b, in, l->output);
	return l->output;
}

const struct npui_graph *zb_graph(const struct zb *b)
{
	return b->g;
}

int zb_producer(const struct zb *b, int t)
{
	int i;

	if (!b->g)
		return -1;
	for (i = (int)b->g->num_layers - 1; i >= 0; i--)
		if (b->g->layers[i].output == t)
			return i;
	return -1;
}

void zb_set_act(struct zb *b, int li, enum npui_act act)
{
	if (b->err || li < 0 || (uint32_t)li >= b->g->num_layers)
		return;
	b->g->layers[li].act = (uint8_t)act;
}

int zb_float_params(struct zb *b, int li, float **w, float **bias, size_t *nw, int *cout)
{
	if (b->err || li < 0 || (uint32_t)li >= b->g->num_layers || !b->l[li].w)
		return -1;
	*w = b->l[li].w;
	*bias = b->l[li].bias;
	*nw = b->l[li].nw;
	*cout = b->l[li].cout;
	return 0;
}

void zb_set_weight_scales(struct zb *b, int li, const float *scales)
{
	struct zb_layer *zl;

	if (b->err || li < 0 || (uint32_t)li >= b->g->num_layers || !b->l[li].w)
		return;
	zl = &b->l[li];
	free(zl->wscale);
	zl->wscale = NULL;
	if (!scales)
		return;
	zl->wscale = malloc((size_t)zl->cout * sizeof(float));
	if (!zl->wscale) {
		zb_fail(b, NPU_ERR_NO_MEM, "out of memory");
		return;
	}
	memcpy(zl->wscale, scales, (size_t)zl->cout * sizeof(float));
}

void zb_set_quant(struct zb *b, int t, float scale, int zero_point)
{
	if (b->err || t < 0 || (uint32_t)t >= b->g->num_tensors)
		return;
	b->t[t].fixed = 1;
	b->t[t].fq.scale = scale;
	b->t[t].fq.zero_point = zero_point;
}

/* ---- quant sharing (union-find) ---------------------------------------- */

static int root(struct zb *b, int x)
{
	while (b->t[x].parent != x) {
		b->t[x].parent = b->t[b->t[x].parent].parent;
		x = b->t[x].parent;
	}
	return x;
}

static void tie(struct zb *b, int x, int y)
{
	int rx = root(b, x), ry = root(b, y);

	if (rx != ry)
		b->t[ry].parent = rx;
}

/* ---- float forward pass ------------------------------------------------ */

static float act_f(float v, int act)
{
	if (act == NPUI_ACT_RELU)
		return v > 0.f ? v : 0.f;
	if (act == NPUI_ACT_RELU6)
		return v > 0.f ? (v < 6.f ? v : 6.f) : 0.f;
	return v;
}

static float lut_f(float v, int fn)
{
	float r6 = act_f(v + 3.f, NPUI_ACT_RELU6);

	switch (fn) {
	case NPUI_LUT_HSWISH:
		return v * r6 / 6.f;
	case NPUI_LUT_HSIGMOID:
		return r6 / 6.f;
	case NPUI_LUT_SIGMOID:
		return 1.f / (1.f + expf(-v));
	case NPUI_LUT_RELU:
		return act_f(v, NPUI_ACT_RELU);
	default:
		return act_f(v, NPUI_ACT_RELU6);
	}
}

/* y[i] += a * x[i]. Unrolled by 8 so that -O2's SLP vectorizer turns the
 * body into vector code; restrict makes that legal without alias checks. */
static inline void axpy(float *restrict y, const float *restrict x, float a, int n)
{
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		y[i] += a * x[i];
		y[i + 1] += a * x[i + 1];
		y[i + 2] += a * x[i + 2];
		y[i + 3] += a * x[i + 3];
		y[i + 4] += a * x[i + 4];
		y[i + 5] += a * x[i + 5];
		y[i + 6] += a * x[i + 6];
		y[i + 7] += a * x[i + 7];
	}
	for (; i < n; i++)
		y[i] += a * x[i];
}

/* y[i] += x[i] * w[i] (depthwise taps). */
static inline void vmac(float *restrict y, const float *restrict x, const float *restrict w, int n)
{
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		y[i] += x[i] * w[i];
		y[i + 1] += x[i + 1] * w[i + 1];
		y[i + 2] += x[i + 2] * w[i + 2];
		y[i + 3] += x[i + 3] * w[i + 3];
		y[i + 4] += x[i + 4] * w[i + 4];
		y[i + 5] += x[i + 5] * w[i + 5];
		y[i + 6] += x[i + 6] * w[i + 6];
		y[i + 7] += x[i + 7] * w[i + 7];
	}
	for (; i < n; i++)
		y[i] += x[i] * w[i];
}

/*
 * Convolution, NHWC. Weights are first transposed so the innermost loop
 * runs over output channels (depthwise: over channels) with unit stride;
 * zero inputs (half of every post-ReLU tensor) are skipped.
 */
static int conv_f(const struct npui_layer *l, const struct npui_tensor *ti, const float *in,
                  const struct npui_tensor *to, float *out, const float *w, const float *bias,
                  int nb)
{
	int K = l->kh, cin = ti->c, cout = to->c, G = l->groups;
	int icg = cin / G, ocg = cout / G;
	int dw = G == cin && G == cout;
	size_t nw = (size_t)cout * K * K * icg;
	float *wt = malloc(nw * sizeof(float));
	int oy, ox, g, ky, kx, i, o;

	if (!wt)
		return NPU_ERR_NO_MEM;
	for (g = 0; g < G; g++)
		for (o = 0; o < ocg; o++)
			for (ky = 0; ky < K; ky++)
				for (kx = 0; kx < K; kx++)
					for (i = 0; i < icg; i++) {
						size_t src = ((((size_t)g * ocg + o) * K + ky) * K +
						              kx) * icg +
						             i;
						size_t dst = dw ? ((size_t)ky * K + kx) * cout + g
						                : ((((size_t)g * K + ky) * K + kx) *
						                           icg +
						                   i) * ocg + o;
						wt[dst] = w[src];
					}

	for (oy = 0; oy < to->h * nb; oy++) {
		/* Samples stacked: row oy of the batch is row oy % h of sample
		 * oy / h. */
		const float *in_s = in + (size_t)(oy / to->h) * ti->h * ti->w * cin;

		for (ox = 0; ox < to->w; ox++) {
			float *acc = out + ((size_t)oy * to->w + ox) * cout;

			if (bias)
				memcpy(acc, bias, (size_t)cout * sizeof(float));
			else
				memset(acc, 0, (size_t)cout * sizeof(float));
			for (ky = 0; ky < K; ky++) {
				int iy = (oy % to->h) * l->stride_h - l->pad_t + ky;

				if (iy < 0 || iy >= ti->h)
					continue;
				for (kx = 0; kx < K; kx++) {
					int ix = ox * l->stride_w - l->pad_l + kx;
					const float *px;

					if (ix < 0 || ix >= ti->w)
						continue;
					px = in_s + ((size_t)iy * ti->w + ix) * cin;
					if (dw) {
						vmac(acc, px, wt + ((size_t)ky * K + kx) * cout,
						     cout);
						continue;
					}
					for (g = 0; g < G; g++) {
						const float *wk =
						        wt +
						        (((size_t)g * K + ky) * K + kx) * icg * ocg;

						for (i = 0; i < icg; i++) {
							float a = px[g * icg + i];

							if (a != 0.f)
								axpy(acc + g * ocg,
								     wk + (size_t)i * ocg, a, ocg);
						}
					}
				}
			}
		}
	}
	free(wt);
	return NPU_OK;
}

static void fc_f(size_t k, int cout, const float *in, float *out, const float *w, const float *bias)
{
	int o;
	size_t i;

	for (o = 0; o < cout; o++) {
		double acc = bias ? bias[o] : 0.0;

		for (i = 0; i < k; i++)
			acc += (double)w[(size_t)o * k + i] * in[i];
		out[o] = (float)acc;
	}
}

static void pool_f(const struct npui_layer *l, const struct npui_tensor *ti, const float *in,
                   const struct npui_tensor *to, float *out)
{
	int is_max = l->op == NPUI_OP_MAXPOOL;
	int oy, ox, ky, kx, c, C = ti->c;

	for (oy = 0; oy < to->h; oy++) {
		for (ox = 0; ox < to->w; ox++) {
			float *o = out + ((size_t)oy * to->w + ox) * C;
			int n = 0;

			for (c = 0; c < C; c++)
				o[c] = is_max ? -FLT_MAX : 0.f;
			for (ky = 0; ky < l->kh; ky++) {
				int iy = oy * l->stride_h - l->pad_t + ky;

				if (iy < 0 || iy >= ti->h)
					continue;
				for (kx = 0; kx < l->kw; kx++) {
					int ix = ox * l->stride_w - l->pad_l + kx;
					const float *p;

					if (ix < 0 || ix >= ti->w)
						continue;
					p = in + ((size_t)iy * ti->w + ix) * C;
					n++;
					for (c = 0; c < C; c++) {
						if (!is_max)
							o[c] += p[c];
						else if (p[c] > o[c])
							o[c] = p[c];
					}
				}
			}
			if (!is_max) {
				float d = l->count_include_pad ? (float)(l->kh * l->kw) : (float)n;

				for (c = 0; c < C; c++)
					o[c] /= d;
			}
		}
	}
}

/*
 * Data-dependent init of a conv/FC just computed without (ZB_BN) or with
 * (ZB_PLAIN) its bias: rescale its weights, set its bias, and fix up its
 * output so the result equals running the final weights.
 */
static void normalize(struct zb_layer *zl, float *out, size_t npos)
{
	int cout = zl->cout, c;
	size_t per = zl->nw / (size_t)cout, p, i;
	/* Per-channel statistics need enough positions to mean something;
	 * FC, SE and tiny maps get one mean and std for the whole tensor. */
	int per_channel = zl->norm == ZB_BN && npos >= 32;
	double *mean = calloc((size_t)cout, sizeof(double));
	double *sc = calloc((size_t)cout, sizeof(double));
	double *sq = calloc((size_t)cout, sizeof(double));
	double tot = 0, tot2 = 0, tmean, tvar, tgain;

	if (!mean || !sc || !sq)
		goto out_free; /* leave the He-init scale: still a valid net */
	for (p = 0; p < npos; p++) {
		for (c = 0; c < cout; c++) {
			double v = out[p * cout + c];

			mean[c] += v;
			sq[c] += v * v;
		}
	}
	for (c = 0; c < cout; c++) {
		tot += mean[c];
		tot2 += sq[c];
	}
	tmean = tot / ((double)npos * cout);
	tvar = tot2 / ((double)npos * cout) - tmean * tmean;
	tgain = tvar > 1e-12 ? 1.0 / sqrt(tvar) : 1.0;
	for (c = 0; c < cout; c++) {
		double m = mean[c] / (double)npos, var = sq[c] / (double)npos - m * m;

		if (!per_channel) {
			mean[c] = tmean;
			sc[c] = tgain;
			continue;
		}
		/* A channel that barely varies on the calibration batch would
		 * get a huge gain and amplify quantization noise in every
		 * later layer: cap it at 4x the layer's overall gain. */
		mean[c] = m;
		sc[c] = var > 1e-12 ? fmin(1.0 / sqrt(var), 4.0 * tgain) : tgain;
	}
	for (c = 0; c < cout; c++) {
		for (i = 0; i < per; i++)
			zl->w[c * per + i] = (float)(zl->w[c * per + i] * sc[c]);
		if (zl->norm == ZB_BN)
			zl->bias[c] = (float)(zl->bias[c] - mean[c] * sc[c]);
		else
			zl->bias[c] = (float)(zl->bias[c] * sc[c]);
	}
	for (p = 0; p < npos; p++) {
		for (c = 0; c < cout; c++) {
			float *v = &out[p * cout + c];

			/* BN ran without bias, PLAIN with the old one. */
			if (zl->norm == ZB_BN)
				*v = (float)(*v * sc[c] + zl->bias[c]);
			else
				*v = (float)(*v * sc[c]);
		}
	}
out_free:
	free(mean);
	free(sc);
	free(sq);
}

/* One sample of a layer other than CONV/FC. in[j]: input j of the sample. */
static void run_other(const struct zb *b, const struct npui_layer *l, const float *const *in,
                      float *out)
{
	const struct npui_tensor *ti = &b->g->tensors[l->inputs[0]];
	const struct npui_tensor *to = &b->g->tensors[l->output];
	size_t npos = (size_t)to->h * to->w, n = npos * to->c, p, i;
	int C = to->c, c, j, off = 0;

	switch (l->op) {
	case NPUI_OP_MAXPOOL:
	case NPUI_OP_AVGPOOL:
		pool_f(l, ti, in[0], to, out);
		break;
	case NPUI_OP_GAP:
		for (c = 0; c < C; c++) {
			size_t hw = (size_t)ti->h * ti->w;
			double sum = 0;

			for (p = 0; p < hw; p++)
				sum += in[0][p * C + c];
			out[c] = (float)(sum / (double)hw);
		}
		break;
	case NPUI_OP_ADD:
		for (i = 0; i < n; i++)
			out[i] = in[0][i] + in[1][i];
		break;
	case NPUI_OP_MUL: {
		/* in1 is a [1,1,C] gate broadcast over H,W, or in0's shape. */
		const struct npui_tensor *t1 = &b->g->tensors[l->inputs[1]];
		size_t step = t1->h * t1->w == 1 ? 0 : (size_t)C;

		for (p = 0; p < npos; p++)
			for (c = 0; c < C; c++)
				out[p * C + c] = in[0][p * C + c] * in[1][p * step + c];
		break;
	}
	case NPUI_OP_CONCAT:
		for (j = 0; j < l->num_inputs; j++) {
			int cj = b->g->tensors[l->inputs[j]].c;

			for (p = 0; p < npos; p++)
				memcpy(out + p * C + off, in[j] + p * cj,
				       (size_t)cj * sizeof(float));
			off += cj;
		}
		break;
	case NPUI_OP_SHUFFLE: {
		int G = l->groups, nper = C / G, k;

		for (p = 0; p < npos; p++)
			for (j = 0; j < G; j++)
				for (k = 0; k < nper; k++)
					out[p * C + k * G + j] = in[0][p * C + j * nper + k];
		break;
	}
	case NPUI_OP_SPLIT:
		for (p = 0; p < npos; p++)
			memcpy(out + p * C, in[0] + p * ti->c + l->split_begin,
			       (size_t)C * sizeof(float));
		break;
	case NPUI_OP_LUT:
		for (i = 0; i < n; i++)
			out[i] = lut_f(in[0][i], l->lut_fn);
		break;
	}
}

/* Record the range of tensor t's values (or, on the histogram pass, their
 * |x| histogram). */
static void observe(struct zb *b, int t, const float *v, size_t n)
{
	struct zb_tensor *zt = &b->t[t];
	size_t i;

	if (b->hist) {
		uint64_t *h = b->hist + (size_t)t * ZB_HIST_BINS;
		double top = fmax(fabs(zt->lo), fabs(zt->hi));
		double k = top > 0 ? ZB_HIST_BINS / top : 0;

		for (i = 0; i < n; i++) {
			double bin = fabs(v[i]) * k;

			h[bin < ZB_HIST_BINS - 1 ? (size_t)bin : ZB_HIST_BINS - 1]++;
		}
		return;
	}
	for (i = 0; i < n; i++) {
		if (v[i] < zt->lo)
			zt->lo = v[i];
		if (v[i] > zt->hi)
			zt->hi = v[i];
	}
}

/* Layer li on a batch of nb samples, stacked [nb][h][w][c]. */
static int run_layer(struct zb *b, uint32_t li, int nb, int first)
{
	const struct npui_layer *l = &b->g->layers[li];
	struct zb_layer *zl = &b->l[li];
	const struct npui_tensor *ti = &b->g->tensors[l->inputs[0]];
	const struct npui_tensor *to = &b->g->tensors[l->output];
	size_t npos = (size_t)to->h * to->w, n = npos * to->c, i;
	int act = l->act, s, j;
	float *out = malloc(n * nb * sizeof(float));
	/* Conv+BN is computed without bias on the normalizing pass: the
	 * bias is derived from the statistics there. */
	const float *bias = first && zl->norm == ZB_BN ? NULL : zl->bias;

	if (!out)
		return NPU_ERR_NO_MEM;
	if (l->op == NPUI_OP_CONV) {
		if (conv_f(l, ti, b->t[l->inputs[0]].data, to, out, zl->w, bias, nb)) {
			free(out);
			return NPU_ERR_NO_MEM;
		}
	} else if (l->op == NPUI_OP_FC) {
		size_t k = (size_t)ti->h * ti->w * ti->c;

		for (s = 0; s < nb; s++)
			fc_f(k, to->c, b->t[l->inputs[0]].data + s * k, out + s * n, zl->w, bias);
	} else {
		for (s = 0; s < nb; s++) {
			const float *in[NPUI_MAX_INPUTS];

			for (j = 0; j < l->num_inputs; j++) {
				const struct npui_tensor *tj = &b->g->tensors[l->inputs[j]];

				in[j] = b->t[l->inputs[j]].data + (size_t)s * tj->h * tj->w * tj->c;
			}
			run_other(b, l, in, out + s * n);
		}
		if (l->op != NPUI_OP_ADD)
			act = NPUI_ACT_NONE; /* pools carry no fused act here */
	}
	/* Batch statistics, as BatchNorm has: every sample's positions. */
	if (first && (l->op == NPUI_OP_CONV || l->op == NPUI_OP_FC) && zl->norm != ZB_FIXED)
		normalize(zl, out, npos * nb);
	for (i = 0; i < n * nb; i++)
		out[i] = act_f(out[i], act);
	observe(b, l->output, out, n * nb);
	b->t[l->output].data = out;
	return NPU_OK;
}

/*
 * Run the nb inputs in x ([nb][h][w][c], c the input channels) through the graph as one batch,
 * layer by layer, recording every tensor's range. first: this pass also
 * sets the data-dependent weight scales.
 */
static int forward(struct zb *b, const float *x, int nb, int first)
{
	struct npui_graph *g = b->g;
	struct zb_tensor *tin = &b->t[g->input];
	const struct npui_tensor *ti = &g->tensors[g->input];
	size_t n = (size_t)ti->h * ti->w * ti->c * nb, i;
	uint32_t li;
	int rc = NPU_OK, j;

	tin->data = malloc(n * sizeof(float));
	if (!tin->data)
		return NPU_ERR_NO_MEM;
	memcpy(tin->data, x, n * sizeof(float));
	observe(b, g->input, x, n);
	for (li = 0; li < g->num_layers && rc == NPU_OK; li++) {
		rc = run_layer(b, li, nb, first);
		/* Keep peak memory to the live tensors only. */
		for (j = 0; j < g->layers[li].num_inputs; j++) {
			struct zb_tensor *t = &b->t[g->layers[li].inputs[j]];

			if (t->last_use == (int)li) {
				free(t->data);
				t->data = NULL;
			}
		}
	}
	for (i = 0; i < g->num_tensors; i++) {
		free(b->t[i].data);
		b->t[i].data = NULL;
	}
	return rc;
}

/* ---- quantization ------------------------------------------------------- */

static struct npui_quant quant_of_range(float lo, float hi)
{
	struct npui_quant q;
	double l = lo < 0.f ? lo : 0.0, h = hi > 0.f ? hi : 0.0, zp;

	if (!(h - l > 1e-6))
		h = l + 1.0; /* a constant tensor: any scale represents it */
	q.scale = (float)((h - l) / 255.0);
	zp = round(-128.0 - l / q.scale);
	q.zero_point = (int32_t)(zp < -128 ? -128 : (zp > 127 ? 127 : zp));
	return q;
}

/*
 * calibrated: ranges were recorded. strict: a tensor with neither a range
 * nor a given quant is an error (else it gets a placeholder quant).
 */
static int quantize(struct zb *b, int calibrated, int strict)
{
	struct npui_graph *g = b->g;
	float *lo = malloc(g->num_tensors * sizeof(float));
	float *hi = malloc(g->num_tensors * sizeof(float));
	int *fixed = calloc(g->num_tensors, sizeof(int));
	uint32_t i;

	if (!lo || !hi || !fixed) {
		free(lo);
		free(hi);
		free(fixed);
		return NPU_ERR_NO_MEM;
	}
	for (i = 0; i < g->num_tensors; i++) {
		lo[i] = INFINITY;
		hi[i] = -INFINITY;
	}
	/* A shared quant covers the union of its members' ranges; a given
	 * quant of any member is the group's (the root's own wins). */
	for (i = 0; i < g->num_tensors; i++) {
		int r = root(b, (int)i);

		lo[r] = fminf(lo[r], b->t[i].lo);
		hi[r] = fmaxf(hi[r], b->t[i].hi);
		if (b->t[i].fixed && (!fixed[r] || (int)i == r)) {
			fixed[r] = 1;
			g->tensors[r].q = b->t[i].fq;
		}
	}
	for (i = 0; i < g->num_tensors; i++) {
		int r = root(b, (int)i);

		if (fixed[r]) {
			g->tensors[i].q = g->tensors[r].q;
		} else if (strict && !calibrated) {
			free(lo);
			free(hi);
			free(fixed);
			zb_fail(b, NPU_ERR_INVALID_ARG,
			        "tensor '%s' has no quantization (no QuantizeLinear) and no "
			        "calibration inputs were given",
			        g->tensors[i].name);
			return b->err;
		} else {
			/* Uncalibrated: a placeholder range that still validates. */
			g->tensors[i].q = calibrated ? quant_of_range(lo[r], hi[r])
			                             : quant_of_range(-4.f, 4.f);
		}
	}
	free(lo);
	free(hi);
	free(fixed);

	for (i = 0; i < g->num_layers; i++) {
		struct npui_layer *l = &g->layers[i];
		struct zb_layer *zl = &b->l[i];
		double s_in = g->tensors[l->inputs[0]].q.scale;
		size_t per, k;
		int c;
		double bmax;

		if (l->op != NPUI_OP_CONV && l->op != NPUI_OP_FC)
			continue;
		per = zl->nw / (size_t)zl->cout;
		/* graph.h: K * 255 * 127 + max|bias| must fit in int32. */
		bmax = (double)INT32_MAX - (double)per * 255.0 * 127.0;
		l->weights = malloc(zl->nw);
		l->weights_count = zl->nw;
		l->bias = malloc((size_t)zl->cout * sizeof(int32_t));
		l->w_scale = malloc((size_t)zl->cout * sizeof(float));
		if (!l->weights || !l->bias || !l->w_scale)
			return NPU_ERR_NO_MEM;
		for (c = 0; c < zl->cout; c++) {
			const float *w = zl->w + (size_t)c * per;
			double m = 0, ws, bq;

			for (k = 0; k < per; k++)
				m = fmax(m, fabs(w[k]));
			ws = m > 0 ? m / 127.0 : 1.0;
			if (zl->wscale)
				ws = zl->wscale[c];
			l->w_scale[c] = (float)ws;
			ws = l->w_scale[c]; /* quantize with the stored scale */
			for (k = 0; k < per; k++) {
				double q = round(w[k] / ws);

				l->weights[(size_t)c * per + k] =
				        (int8_t)(q > 127 ? 127 : (q < -127 ? -127 : q));
			}
			bq = round(zl->bias[c] / (s_in * ws));
			bq = bq > bmax ? bmax : (bq < -bmax ? -bmax : bq);
			l->bias[c] = (int32_t)bq;
		}
	}
	return NPU_OK;
}

void zb_calib_input(uint64_t seed, int index, float *x, size_t n)
{
	uint64_t s = seed ^ UINT64_C(0x63616c6962726174) ^
	             ((uint64_t)(index + 1) * UINT64_C(0xd1b54a32d192ed03));
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = (float)(2.0 * zb_rng_uniform(&s) - 1.0);
}

/* Mark the output and each tensor's last reader (forward frees after it). */
static void set_output(struct zb *b, int output)
{
	struct npui_graph *g = b->g;
	uint32_t i;
	int j;

	g->output = output;
	for (i = 0; i < g->num_tensors; i++)
		b->t[i].last_use = -1;
	for (i = 0; i < g->num_layers; i++)
		for (j = 0; j < g->layers[i].num_inputs; j++)
			b->t[g->layers[i].inputs[j]].last_use = (int)i;
	b->t[output].last_use = (int)g->num_layers;
}

int zb_finish(struct zb *b, int output, int calib, struct npui_graph **out, char *why,
              size_t why_len)
{
	struct npui_graph *g = b->g;
	char vwhy[160];
	float *x = NULL;
	size_t n;
	int j, rc;

	if (!b->err && output < 0)
		zb_fail(b, NPU_ERR_INTERNAL, "no output tensor");
	if (b->err)
		goto out_why;
	set_output(b, output);

	n = (size_t)g->tensors[g->input].h * g->tensors[g->input].w * g->tensors[g->input].c;
	if (calib > 0) {
		x = malloc(n * calib * sizeof(float));
		if (!x) {
			zb_fail(b, NPU_ERR_NO_MEM, "out of memory");
			goto out_why;
		}
		for (j = 0; j < calib; j++)
			zb_calib_input(b->seed, j, x + n * j, n);
		rc = forward(b, x, calib, 1);
		if (rc) {
			zb_fail(b, rc, "calibration pass: %s", npu_strerror(rc));
			goto out_free_x;
		}
		/* The class scores of a random-weight net spread much more
		 * from one input to the next than a trained net's: give the
		 * output range headroom beyond what the calibration saw. */
		b->t[output].lo *= ZB_ZOO_SCORE_HEADROOM;
		b->t[output].hi *= ZB_ZOO_SCORE_HEADROOM;
	}
	rc = quantize(b, calib > 0, 0);
	if (rc) {
		zb_fail(b, rc, "out of memory");
		goto out_free_x;
	}
	rc = npui_graph_validate(g, vwhy, sizeof(vwhy));
	if (rc) {
		zb_fail(b, NPU_ERR_INTERNAL, "built graph does not validate: %s", vwhy);
		goto out_free_x;
	}
	free(x);
	free_float_state(b);
	*out = g;
	b->g = NULL;
	return NPU_OK;

out_free_x:
	free(x);
out_why:
	if (why && why_len)
		snprintf(why, why_len, "%s", b->why);
	return b->err;
}

/* Inputs per forward batch: bounds the float activations held at once. */
#define ZB_CALIB_BATCH_VALUES (1u << 20)

/* Run all calibration inputs, in batches, through the float graph. */
static int calib_passes(struct zb *b, const struct zb_calib *c)
{
	const struct npui_tensor *ti = &b->g->tensors[b->g->input];
	size_t per = (size_t)ti->h * ti->w * ti->c;
	int nb = (int)(ZB_CALIB_BATCH_VALUES / per), s, rc;

	if (nb < 1)
		nb = 1;
	for (s = 0; s < c->n; s += nb) {
		int k = c->n - s < nb ? c->n - s : nb;

		rc = forward(b, c->x + (size_t)s * per, k, 0);
		if (rc)
			return rc;
	}
	return NPU_OK;
}

/* Replace each tensor's [lo, hi] by its intersection with [-T, T], T the
 * given percentile of |x| (upper edge of the bin where it falls). */
static int percentile_ranges(struct zb *b, const struct zb_calib *c)
{
	uint32_t nt = b->g->num_tensors, t;
	int rc;

	b->hist = calloc((size_t)nt * ZB_HIST_BINS, sizeof(uint64_t));
	if (!b->hist)
		return NPU_ERR_NO_MEM;
	rc = calib_passes(b, c);
	for (t = 0; rc == NPU_OK && t < nt; t++) {
		const uint64_t *h = b->hist + (size_t)t * ZB_HIST_BINS;
		struct zb_tensor *zt = &b->t[t];
		double top = fmax(fabs(zt->lo), fabs(zt->hi)), want, thr;
		uint64_t total = 0, run = 0;
		int k;

		if (!(top > 0) || !isfinite(top))
			continue;
		for (k = 0; k < ZB_HIST_BINS; k++)
			total += h[k];
		want = c->percentile / 100.0 * (double)total;
		for (k = 0; k < ZB_HIST_BINS - 1; k++) {
			run += h[k];
			if ((double)run >= want)
				break;
		}
		thr = top * (k + 1) / ZB_HIST_BINS;
		zt->lo = (float)fmax(zt->lo, -thr);
		zt->hi = (float)fmin(zt->hi, thr);
	}
	free(b->hist);
	b->hist = NULL;
	return rc;
}

int zb_finish_calib(struct zb *b, int output, const struct zb_calib *c, struct npui_graph **out,
                    char *why, size_t why_len)
{
	struct npui_graph *g = b->g;
	int calibrated = c && c->n > 0;
	char vwhy[160];
	int rc;

	if (!b->err && output < 0)
		zb_fail(b, NPU_ERR_INTERNAL, "no output tensor");
	if (b->err)
		goto out_why;
	set_output(b, output);
	if (calibrated) {
		rc = calib_passes(b, c);
		if (!rc && c->method == ZB_CALIB_PERCENTILE)
			rc = percentile_ranges(b, c);
		if (rc) {
			zb_fail(b, rc, "calibration pass: %s", npu_strerror(rc));
			goto out_why;
		}
	}
	rc = quantize(b, calibrated, 1);
	if (rc) {
		zb_fail(b, rc, "out of memory");
		goto out_why;
	}
	rc = npui_graph_validate(g, vwhy, sizeof(vwhy));
	if (rc) {
		zb_fail(b, rc, "graph does not validate: %s", vwhy);
		goto out_why;
	}
	free_float_state(b);
	*out = g;
	b->g = NULL;
	return NPU_OK;

out_why:
	if (why && why_len)
		snprintf(why, why_len, "%s", b->why);
	return b->err;
}
