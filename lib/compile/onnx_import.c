/*
 * ONNX importer, part 2: lowering an NCHW float ONNX graph onto the zoo
 * builder (lib/quant/zb.h) as an NHWC lwnpu graph, then calibrating and
 * quantizing it. The lowering table is docs/COMPILE.md.
 *
 * Nodes are visited once, in the file's (topological) order. A node whose
 * inputs are all constants is evaluated (onnx_const.c); otherwise it must
 * map onto lwnpu layers. Fusions look one step back (a Relu into the layer
 * that produced its input, BatchNormalization into its conv) and are done
 * only when the value in between has no other reader; the one look-ahead
 * is HardSigmoid followed by Mul with the same input (h-swish).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "compile/compile.h"
#include "compile/import.h"

void npuc_options_default(struct npuc_options *o)
{
	memset(o, 0, sizeof(*o));
	o->calib_method = NPUC_CALIB_MINMAX;
	o->percentile = NPUC_DEFAULT_PERCENTILE;
}

/* ---- small helpers -------------------------------------------------------- */

static int op_is(const Onnx__NodeProto *n, const char *op)
{
	return n->op_type && !strcmp(n->op_type, op);
}

/* lwnpu names hold 31 bytes: keep the tail of long ONNX names (the part
 * that tells layers apart, "features.3/conv/conv.1/Conv"). */
static void layer_name(const struct imp *ip, const Onnx__NodeProto *n, char *buf)
{
	const char *s = n->name && n->name[0]                            ? n->name
	                : n->n_output && n->output[0] && n->output[0][0] ? n->output[0]
	                                                                 : NULL;
	size_t len;

	if (!s) {
		snprintf(buf, NPUI_NAME_MAX, "%s_%u", n->op_type, ip->node_index);
		return;
	}
	while (*s == '/')
		s++;
	len = strlen(s);
	if (len > NPUI_NAME_MAX - 1)
		s += len - (NPUI_NAME_MAX - 1);
	snprintf(buf, NPUI_NAME_MAX, "%s", s);
}

static const struct npui_tensor *tensor_of(const struct imp *ip, const struct cv *v)
{
	return &zb_graph(ip->b)->tensors[v->t];
}

static int is_act(const struct cv *v)
{
	return v && (v->kind == CV_ACT || v->kind == CV_FLAT);
}

/* Input k as an activation of the given kinds (CV_ACT, CV_FLAT or both). */
static struct cv *act_in(struct imp *ip, const Onnx__NodeProto *n, size_t k, int allow_flat)
{
	struct cv *v = imp_input(ip, n, k);

	if (!v || (v->kind != CV_ACT && !(allow_flat && v->kind == CV_FLAT))) {
		imp_unsupported(ip, "input %zu must be %s", k,
		                allow_flat ? "a feature map or a flat vector"
		                           : "a 4-D feature map [1,C,H,W]");
		return NULL;
	}
	return v;
}

static struct cv *def_act(struct imp *ip, const Onnx__NodeProto *n, size_t k, enum cv_kind kind,
                          int t)
{
	struct cv *o;

	if (t < 0) {
		if (!ip->err)
			imp_fail(ip, zb_error(ip->b) ? zb_error(ip->b) : NPU_ERR_INTERNAL,
			         "could not add the layer");
		return NULL;
	}
	o = imp_output(ip, n, k);
	if (!o)
		return NULL;
	o->kind = kind;
	o->t = t;
	o->excl = 1;
	return o;
}

/* Output 0 is input x under another name (Identity, Dropout, Q/DQ, ...). */
static int alias(struct imp *ip, const Onnx__NodeProto *n, const struct cv *x, enum cv_kind kind)
{
	struct cv *o = imp_output(ip, n, 0);

	if (!o)
		return ip->err;
	o->kind = kind;
	o->t = x->t;
	o->groups = x->groups;
	o->excl = x->excl && x->consumers == 1;
	ip->st.removed++;
	return NPU_OK;
}

/* The layer that wrote x, when x is its only reader chain: the layer may
 * then be changed (fused act, folded BN or bias). -1 otherwise. */
static int mutable_producer(struct imp *ip, const struct cv *x, int want_op_mask)
{
	const struct npui_graph *g = zb_graph(ip->b);
	int li;

	if (!x->excl || x->consumers != 1 || x->t == g->output)
		return -1;
	li = zb_producer(ip->b, x->t);
	if (li < 0 || !(want_op_mask & (1 << g->layers[li].op)))
		return -1;
	return li;
}

#define OPBIT(op) (1 << (op))

/* ---- windows --------------------------------------------------------------- */

/* kernel, strides, pads (or auto_pad) and dilations of Conv and pools. */
static int get_window(struct imp *ip, const Onnx__NodeProto *n, int h, int w, int kh, int kw,
                      const int extra[4], struct zb_window *win)
{
	const Onnx__AttributeProto *ap = imp_attr(n, "auto_pad");
	const int64_t *s, *p, *d;
	size_t ns, np, nd, k;

	s = imp_attr_ints(n, "strides", &ns);
	p = imp_attr_ints(n, "pads", &np);
	d = imp_attr_ints(n, "dilations", &nd);
	if ((s && ns != 2) || (p && np != 4) || (d && nd != 2))
		return imp_unsupported(ip, "only 2-D windows (strides, pads, dilations)");
	for (k = 0; d && k < 2; k++)
		if (d[k] != 1)
			return imp_unsupported(ip, "dilation %lld (only 1)", (long long)d[k]);
	for (k = 0; s && k < 2; k++)
		if (s[k] < 1 || s[k] > 8)
			return imp_unsupported(ip, "stride %lld (1..8)", (long long)s[k]);
	win->kh = kh;
	win->kw = kw;
	win->sh = s ? (int)s[0] : 1;
	win->sw = s ? (int)s[1] : 1;
	if (kh < 1 || kw < 1 || kh > NPUI_MAX_KERNEL || kw > NPUI_MAX_KERNEL)
		return imp_unsupported(ip, "kernel %dx%d (1..%d)", kh, kw, NPUI_MAX_KERNEL);
	win->pt = win->pl = win->pb = win->pr = 0;
	if (ap && ap->has_s && ap->s.len && !(ap->s.len == 6 && !memcmp(ap->s.data, "NOTSET", 6))) {
		int same_u = ap->s.len == 10 && !memcmp(ap->s.data, "SAME_UPPER", 10);
		int same_l = ap->s.len == 10 && !memcmp(ap->s.data, "SAME_LOWER", 10);
		int in[2] = {h + extra[0] + extra[2], w + extra[1] + extra[3]}, kk[2] = {kh, kw},
		    st[2] = {win->sh, win->sw}, b[2], e[2];

		if (!(ap->s.len == 5 && !memcmp(ap->s.data, "VALID", 5))) {
			if (!same_u && !same_l)
				return imp_fail(ip, NPU_ERR_INVALID_ARG, "unknown auto_pad");
			for (k = 0; k < 2; k++) {
				int out = (in[k] + st[k] - 1) / st[k];
				int tot = (out - 1) * st[k] + kk[k] - in[k];

				tot = tot < 0 ? 0 : tot;
				b[k] = same_u ? tot / 2 : tot - tot / 2;
				e[k] = tot - b[k];
			}
			win->pt = b[0];
			win->pl = b[1];
			win->pb = e[0];
			win->pr = e[1];
		}
	} else if (p) {
		for (k = 0; k < 4; k++)
			if (p[k] < 0 || p[k] > 64)
				return imp_unsupported(ip, "padding %lld", (long long)p[k]);
		win->pt = (int)p[0];
		win->pl = (int)p[1];
		win->pb = (int)p[2];
		win->pr = (int)p[3];
	}
	win->pt += extra[0];
	win->pl += extra[1];
	win->pb += extra[2];
	win->pr += extra[3];
	if (win->pt >= kh || win->pb >= kh || win->pl >= kw || win->pr >= kw)
		return imp_unsupported(ip, "padding %d,%d,%d,%d not smaller than the %dx%d kernel",
		                       win->pt, win->pl, win->pb, win->pr, kh, kw);
	if (h + win->pt + win->pb < kh || w + win->pl + win->pr < kw)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "%dx%d window larger than the %dx%d input",
		                kh, kw, h, w);
	return NPU_OK;
}

/* ---- Conv, BatchNormalization, Gemm, MatMul ------------------------------- */

static int weight_const(struct imp *ip, const Onnx__NodeProto *n, size_t k, int ndim, struct cv **w)
{
	*w = imp_input(ip, n, k);
	if (!*w || (*w)->kind != CV_CONST)
		return imp_unsupported(ip, "input %zu ('%s') must be a constant initializer", k,
		                       k < n->n_input && n->input[k] ? n->input[k] : "");
	if (ndim >= 0 && (*w)->ndim != ndim)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "input %zu ('%s') must be %d-D, not %d-D",
		                k, (*w)->name, ndim, (*w)->ndim);
	return NPU_OK;
}

/* Optional per-output bias of n values: NULL-safe, broadcasts a scalar. */
static int bias_const(struct imp *ip, const Onnx__NodeProto *n, size_t k, int cout, float beta,
                      float *bias)
{
	struct cv *b = imp_input(ip, n, k);
	int c;

	for (c = 0; c < cout; c++)
		bias[c] = 0.f;
	if (!b)
		return NPU_OK;
	if (b->kind != CV_CONST)
		return imp_unsupported(ip, "bias '%s' must be a constant", b->name);
	if (b->count != (size_t)cout && b->count != 1)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "bias '%s' has %zu values, expected %d",
		                b->name, b->count, cout);
	for (c = 0; c < cout; c++)
		bias[c] = (float)(beta * b->d[b->count == 1 ? 0 : c]);
	return NPU_OK;
}

/* Weight scales from a DequantizeLinear'd weight: per output channel
 * (axis 0) or one for all. */
static void take_weight_scales(struct imp *ip, int li, const struct cv *w, int cout, int oc_axis)
{
	float *s;
	int c;

	if (!w->qscale || !(w->nqscale == 1 || (w->nqscale == (size_t)cout && w->qaxis == oc_axis)))
		return;
	s = malloc((size_t)cout * sizeof(float));
	if (!s) {
		imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
		return;
	}
	for (c = 0; c < cout; c++)
		s[c] = w->qscale[w->nqscale == 1 ? 0 : c];
	zb_set_weight_scales(ip->b, li, s);
	free(s);
}

static int lower_conv(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = act_in(ip, n, 0, 0), *w;
	const struct npui_tensor *ti;
	const int64_t *ks;
	struct zb_window win;
	int64_t group = imp_attr_int(n, "group", 1);
	int cout, cin, icg, kh, kw, o, i, y, xx, t;
	size_t nk;
	float *wf = NULL, *bias = NULL;
	char name[NPUI_NAME_MAX];

	if (!x || weight_const(ip, n, 1, -1, &w))
		return ip->err;
	if (w->ndim != 4)
		return imp_unsupported(ip, "only 2-D convolution (weight is %d-D)", w->ndim);
	ti = tensor_of(ip, x);
	cin = ti->c;
	if (w->dims[0] < 1 || w->dims[0] > NPUI_MAX_DIM || group < 1 || group > cin)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad output channels or group");
	cout = (int)w->dims[0];
	icg = (int)(cin / group);
	if (cin % group || cout % group || w->dims[1] != icg)
		return imp_fail(ip, NPU_ERR_INVALID_ARG,
		                "weight %lldx%lld does not fit %d input channels in %lld groups",
		                (long long)w->dims[0], (long long)w->dims[1], cin,
		                (long long)group);
	if (w->dims[2] > NPUI_MAX_KERNEL || w->dims[3] > NPUI_MAX_KERNEL)
		return imp_unsupported(ip, "kernel %lldx%lld (at most %d)", (long long)w->dims[2],
		                       (long long)w->dims[3], NPUI_MAX_KERNEL);
	kh = (int)w->dims[2];
	kw = (int)w->dims[3];
	ks = imp_attr_ints(n, "kernel_shape", &nk);
	if (ks && (nk != 2 || ks[0] != kh || ks[1] != kw))
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "kernel_shape does not match the weight");
	if (get_window(ip, n, ti->h, ti->w, kh, kw, x->pad, &win))
		return ip->err;
	wf = malloc(w->count * sizeof(float));
	bias = malloc((size_t)cout * sizeof(float));
	if (!wf || !bias) {
		imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
		goto out;
	}
	if (bias_const(ip, n, 2, cout, 1.f, bias))
		goto out;
	/* OIHW -> OHWI */
	for (o = 0; o < cout; o++)
		for (i = 0; i < icg; i++)
			for (y = 0; y < kh; y++)
				for (xx = 0; xx < kw; xx++)
					wf[(((size_t)o * kh + y) * kw + xx) * icg + i] =
					        (float)w->d[(((size_t)o * icg + i) * kh + y) * kw +
					                    xx];
	layer_name(ip, n, name);
	t = zb_conv_given(ip->b, name, x->t, cout, &win, (int)group, NPUI_ACT_NONE, wf, bias);
	if (def_act(ip, n, 0, CV_ACT, t))
		take_weight_scales(ip, zb_producer(ip->b, t), w, cout, 0);
out:
	free(wf);
	free(bias);
	return ip->err;
}

/* Scale each output channel of a CONV/FC layer's float parameters by
 * mul[c] and add add[c] to its bias (BN folding, a constant Mul / Add). */
static int fold_affine(struct imp *ip, int li, const double *mul, const double *add, int n)
{
	float *w, *bias;
	size_t nw, per, k;
	int cout, c;

	if (zb_float_params(ip->b, li, &w, &bias, &nw, &cout))
		return imp_fail(ip, NPU_ERR_INTERNAL, "layer has no float parameters");
	if (cout != n)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "%d values for %d channels", n, cout);
	per = nw / (size_t)cout;
	for (c = 0; c < cout; c++) {
		double m = mul ? mul[c] : 1.0;

		for (k = 0; mul && k < per; k++)
			w[(size_t)c * per + k] = (float)(w[(size_t)c * per + k] * m);
		bias[c] = (float)(bias[c] * m + (add ? add[c] : 0.0));
	}
	if (mul)
		zb_set_weight_scales(ip->b, li, NULL); /* given scales no longer fit */
	return NPU_OK;
}

static int lower_batchnorm(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = act_in(ip, n, 0, 1), *p[4];
	double eps = imp_attr_float(n, "epsilon", 1e-5f), *mul = NULL, *add = NULL;
	int li, c, C, k;

	if (!x)
		return ip->err;
	C = tensor_of(ip, x)->c;
	for (k = 0; k < 4; k++) {
		if (weight_const(ip, n, (size_t)k + 1, -1, &p[k]))
			return ip->err;
		if (p[k]->count != (size_t)C)
			return imp_fail(ip, NPU_ERR_INVALID_ARG,
			                "'%s' has %zu values for %d channels", p[k]->name,
			                p[k]->count, C);
	}
	if (n->n_output > 1 && n->output[1] && n->output[1][0])
		return imp_unsupported(ip, "training-mode outputs");
	li = mutable_producer(ip, x, OPBIT(NPUI_OP_CONV) | OPBIT(NPUI_OP_FC));
	if (li < 0 || zb_graph(ip->b)->layers[li].act != NPUI_ACT_NONE)
		return imp_unsupported(ip, "BatchNormalization must directly follow a Conv or Gemm "
		                           "whose only reader it is (it is folded into it)");
	mul = malloc((size_t)C * sizeof(double));
	add = malloc((size_t)C * sizeof(double));
	if (!mul || !add) {
		imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
		goto out;
	}
	for (c = 0; c < C; c++) {
		double var = p[3]->d[c] + eps;

		if (!(var > 0)) {
			imp_fail(ip, NPU_ERR_INVALID_ARG, "variance + epsilon <= 0 at channel %d",
			         c);
			goto out;
		}
		/* y = (x - mean) * gamma / sqrt(var + eps) + beta */
		mul[c] = p[0]->d[c] / sqrt(var);
		add[c] = p[1]->d[c] - p[2]->d[c] * mul[c];
	}
	if (!fold_affine(ip, li, mul, add, C) && !alias(ip, n, x, x->kind)) {
		ip->st.removed--;
		ip->st.bn_folded++;
		imp_find(ip, n->output[0])->excl = 1;
	}
out:
	free(mul);
	free(add);
	return ip->err;
}

/* A flat input [1,K], K = H*W*C of its tensor in NCHW order, times B. */
static int lower_fc(struct imp *ip, const Onnx__NodeProto *n, int gemm)
{
	struct cv *x = act_in(ip, n, 0, 1), *w;
	const struct npui_tensor *ti;
	int64_t transb = gemm ? imp_attr_int(n, "transB", 0) : 0;
	float alpha = gemm ? imp_attr_float(n, "alpha", 1.f) : 1.f;
	float beta = gemm ? imp_attr_float(n, "beta", 1.f) : 1.f;
	size_t K, N, k;
	int h, wd, c, y, xx, ch, t;
	float *wf = NULL, *bias = NULL;
	char name[NPUI_NAME_MAX];

	if (!x || weight_const(ip, n, 1, 2, &w))
		return ip->err;
	if (x->kind != CV_FLAT)
		return imp_unsupported(ip, "input must be flattened to [1,K] first");
	if (gemm && imp_attr_int(n, "transA", 0))
		return imp_unsupported(ip, "transA");
	ti = tensor_of(ip, x);
	h = ti->h;
	wd = ti->w;
	c = ti->c;
	K = (size_t)h * wd * c;
	N = (size_t)(transb ? w->dims[0] : w->dims[1]);
	if ((size_t)(transb ? w->dims[1] : w->dims[0]) != K || N < 1 || N > NPUI_MAX_DIM)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "weight %lldx%lld does not fit K=%zu%s",
		                (long long)w->dims[0], (long long)w->dims[1], K,
		                transb ? " (transB)" : "");
	wf = malloc(N * K * sizeof(float));
	bias = malloc(N * sizeof(float));
	if (!wf || !bias) {
		imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
		goto out;
	}
	if (bias_const(ip, n, 2, (int)N, beta, bias))
		goto out;
	/*
	 * ONNX flattens [C,H,W] as k = (ch*H + y)*W + x; lwnpu's FC reads its
	 * input in NHWC order, k' = (y*W + x)*C + ch. Column k' of the lwnpu
	 * weight is column k of the ONNX one.
	 */
	for (k = 0; k < N; k++)
		for (ch = 0; ch < c; ch++)
			for (y = 0; y < h; y++)
				for (xx = 0; xx < wd; xx++) {
					size_t src = ((size_t)ch * h + y) * wd + xx;
					size_t dst = ((size_t)y * wd + xx) * c + ch;
					double v = transb ? w->d[k * K + src] : w->d[src * N + k];

					wf[k * K + dst] = (float)(alpha * v);
				}
	layer_name(ip, n, name);
	t = zb_fc_given(ip->b, name, x->t, (int)N, NPUI_ACT_NONE, wf, bias);
	if (def_act(ip, n, 0, CV_FLAT, t) && alpha == 1.f)
		take_weight_scales(ip, zb_producer(ip->b, t), w, (int)N, transb ? 0 : 1);
out:
	free(wf);
	free(bias);
	return ip->err;
}

/* ---- activations ------------------------------------------------------------ */

static int lut(struct imp *ip, const Onnx__NodeProto *n, const struct cv *x, enum npui_lut_fn fn)
{
	char name[NPUI_NAME_MAX];

	layer_name(ip, n, name);
	return def_act(ip, n, 0, x->kind, zb_lut(ip->b, name, x->t, fn)) ? NPU_OK : ip->err;
}

/* Relu / ReLU6 fused into the producing CONV, FC or ADD, else a LUT. */
static int lower_act(struct imp *ip, const Onnx__NodeProto *n, struct cv *x, enum npui_act act)
{
	int li = mutable_producer(ip, x,
	                          OPBIT(NPUI_OP_CONV) | OPBIT(NPUI_OP_FC) | OPBIT(NPUI_OP_ADD));

	if (li >= 0) {
		int cur = zb_graph(ip->b)->layers[li].act;

		zb_set_act(ip->b, li, cur > (int)act ? (enum npui_act)cur : act);
		if (alias(ip, n, x, x->kind))
			return ip->err;
		ip->st.removed--;
		ip->st.act_fused++;
		imp_find(ip, n->output[0])->excl = 1;
		return NPU_OK;
	}
	return lut(ip, n, x, act == NPUI_ACT_RELU ? NPUI_LUT_RELU : NPUI_LUT_RELU6);
}

/* Clip bound from input k (opset >= 11) or attribute (opset 6). */
static int clip_bound(struct imp *ip, const Onnx__NodeProto *n, size_t k, const char *attr,
                      double def, double *v)
{
	struct cv *c = imp_input(ip, n, k);
	const Onnx__AttributeProto *a = imp_attr(n, attr);

	*v = def;
	if (c) {
		if (c->kind != CV_CONST || c->count != 1)
			return imp_unsupported(ip, "%s must be a constant scalar", attr);
		*v = c->d[0];
	} else if (a && a->has_f) {
		*v = a->f;
	}
	return NPU_OK;
}

static int lower_clip(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = act_in(ip, n, 0, 1);
	double lo, hi;

	if (!x || clip_bound(ip, n, 1, "min", -INFINITY, &lo) ||
	    clip_bound(ip, n, 2, "max", INFINITY, &hi))
		return ip->err;
	if (lo == 0 && hi == 6)
		return lower_act(ip, n, x, NPUI_ACT_RELU6);
	if (lo == 0 && (isinf(hi) || hi >= 3.4e38))
		return lower_act(ip, n, x, NPUI_ACT_RELU);
	return imp_unsupported(ip, "Clip(%g, %g): only Clip(0, 6) (ReLU6) and Clip(0, inf)", lo,
	                       hi);
}

/* The node with index i reading value v, when it is v's only reader. */
static const Onnx__NodeProto *only_reader(struct imp *ip, const struct cv *v)
{
	if (v->consumers != 1 || v->first_consumer < 0)
		return NULL;
	return ip->gp->node[v->first_consumer];
}

static int lower_hardsigmoid(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = act_in(ip, n, 0, 1), *o;
	double alpha = imp_attr_float(n, "alpha", 0.2f), beta = imp_attr_float(n, "beta", 0.5f);
	const Onnx__NodeProto *m;

	if (!x)
		return ip->err;
	if (fabs(alpha - 1.0 / 6.0) > 1e-5 || fabs(beta - 0.5) > 1e-6)
		return imp_unsupported(ip,
		                       "HardSigmoid(alpha=%g, beta=%g): only alpha=1/6, beta=0.5",
		                       alpha, beta);
	o = imp_find(ip, n->output[0]);
	m = o ? only_reader(ip, o) : NULL;
	/* x * HardSigmoid(x): h-swish (torch's Hardswish at opset < 14). */
	if (m && op_is(m, "Mul") && m->n_input == 2 && m->n_output >= 1 && m->input[0] &&
	    m->input[1] &&
	    ((!strcmp(m->input[0], x->name) && !strcmp(m->input[1], o->name)) ||
	     (!strcmp(m->input[1], x->name) && !strcmp(m->input[0], o->name)))) {
		const Onnx__NodeProto *self = ip->node;
		unsigned self_index = ip->node_index;
		int rc;

		/* o itself stays undefined: its only reader is absorbed. */
		ip->skip[o->first_consumer] = 1;
		ip->node = m;
		ip->node_index = (unsigned)o->first_consumer;
		rc = lut(ip, m, x, NPUI_LUT_HSWISH);
		ip->node = self;
		ip->node_index = self_index;
		ip->st.removed++;
		return rc;
	}
	return lut(ip, n, x, NPUI_LUT_HSIGMOID);
}

/* ---- element-wise Add / Mul ------------------------------------------------------ */

/* A constant that holds one value per channel of x (or one for all),
 * broadcast as ONNX would over an NCHW [1,C,H,W] or flat [1,C] input. */
static int per_channel(struct imp *ip, const struct cv *x, const struct cv *k, double *vals)
{
	const struct npui_tensor *t = tensor_of(ip, x);
	int C = x->kind == CV_FLAT ? t->h * t->w * t->c : t->c, c, j, ok = 0;

	if (k->count == 1)
		ok = 1;
	else if (k->count == (size_t)C && x->kind == CV_FLAT)
		ok = k->ndim >= 1 && k->dims[k->ndim - 1] == C && (k->ndim < 2 || k->dims[0] == 1);
	else if (k->count == (size_t)C && k->ndim >= 3)
		ok = k->dims[k->ndim - 3] == C && k->dims[k->ndim - 1] == 1 &&
		     k->dims[k->ndim - 2] == 1;
	for (j = 0; j < k->ndim - 4; j++)
		ok = 0;
	if (!ok)
		return 0;
	for (c = 0; c < C; c++)
		vals[c] = k->d[k->count == 1 ? 0 : c];
	return 1;
}

/* x (op) constant: folded into the producing conv/FC as w*k, b*k or b+k. */
static int fold_const(struct imp *ip, const Onnx__NodeProto *n, struct cv *x, struct cv *k,
                      int is_mul)
{
	const struct npui_tensor *t = tensor_of(ip, x);
	int C = x->kind == CV_FLAT ? t->h * t->w * t->c : t->c, li, c, trivial = 1;
	double *vals = malloc((size_t)C * sizeof(double));

	if (!vals)
		return imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
	if (!per_channel(ip, x, k, vals)) {
		free(vals);
		return imp_unsupported(ip, "constant operand '%s' is not per-channel", k->name);
	}
	for (c = 0; c < C; c++)
		trivial &= vals[c] == (is_mul ? 1.0 : 0.0);
	if (trivial) {
		free(vals);
		return alias(ip, n, x, x->kind);
	}
	li = mutable_producer(ip, x, OPBIT(NPUI_OP_CONV) | OPBIT(NPUI_OP_FC));
	if (li < 0 || zb_graph(ip->b)->layers[li].act != NPUI_ACT_NONE ||
	    (x->kind == CV_FLAT && (t->h != 1 || t->w != 1))) {
		free(vals);
		return imp_unsupported(ip,
		                       "%s by a constant must follow a Conv/Gemm it can fold into",
		                       is_mul ? "Mul" : "Add");
	}
	if (!fold_affine(ip, li, is_mul ? vals : NULL, is_mul ? NULL : vals, C) &&
	    !alias(ip, n, x, x->kind)) {
		ip->st.removed--;
		ip->st.bias_folded++;
		imp_find(ip, n->output[0])->excl = 1;
	}
	free(vals);
	return ip->err;
}

static int same_view(const struct imp *ip, const struct cv *a, const struct cv *b)
{
	const struct npui_tensor *x = tensor_of(ip, a), *y = tensor_of(ip, b);

	return a->kind == b->kind && x->h == y->h && x->w == y->w && x->c == y->c;
}

static int lower_eltwise(struct imp *ip, const Onnx__NodeProto *n, int is_mul)
{
	struct cv *a = imp_input(ip, n, 0), *b = imp_input(ip, n, 1);
	char name[NPUI_NAME_MAX];
	int t;

	if (!a || !b || n->n_input != 2)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "needs two inputs");
	if (is_act(a) && b->kind == CV_CONST)
		return fold_const(ip, n, a, b, is_mul);
	if (is_act(b) && a->kind == CV_CONST)
		return fold_const(ip, n, b, a, is_mul);
	if (!is_act(a) || !is_act(b))
		return imp_unsupported(ip, "operands must be feature maps or constants");
	layer_name(ip, n, name);
	if (same_view(ip, a, b)) {
		t = is_mul ? zb_mul(ip->b, name, a->t, b->t)
		           : zb_add(ip->b, name, a->t, b->t, NPUI_ACT_NONE);
		return def_act(ip, n, 0, a->kind, t) ? NPU_OK : ip->err;
	}
	if (is_mul && a->kind == CV_ACT && b->kind == CV_ACT) {
		const struct npui_tensor *ta = tensor_of(ip, a), *tb = tensor_of(ip, b);

		/* SE scale: [1,C,H,W] * [1,C,1,1] in either order. */
		if (tb->h == 1 && tb->w == 1 && tb->c == ta->c)
			return def_act(ip, n, 0, CV_ACT, zb_mul(ip->b, name, a->t, b->t)) ? NPU_OK
			                                                                  : ip->err;
		if (ta->h == 1 && ta->w == 1 && ta->c == tb->c)
			return def_act(ip, n, 0, CV_ACT, zb_mul(ip->b, name, b->t, a->t)) ? NPU_OK
			                                                                  : ip->err;
	}
	return imp_unsupported(ip, "operand shapes (only equal shapes, or [1,C,H,W] * [1,C,1,1])");
}

/* ---- pooling ------------------------------------------------------------------------ */

/*
 * ceil_mode: the output size rounds up, but a window may not start in the
 * bottom/right padding (PyTorch's rule). The extra rows/columns become
 * bottom/right padding, which padding-never-wins (max) and the valid-count
 * divisor (average, count_include_pad = 0) make exact.
 */
static int ceil_pad(int in, int k, int s, int pa, int pb)
{
	int o = (in + pa + pb - k + s - 1) / s + 1;

	if ((o - 1) * s >= in + pa)
		o--;
	o = (o - 1) * s + k - in - pa;
	return o > pb ? o : pb;
}

static int lower_pool(struct imp *ip, const Onnx__NodeProto *n, int is_max)
{
	struct cv *x = act_in(ip, n, 0, 0);
	const struct npui_tensor *ti;
	const int64_t *ks;
	struct zb_window win;
	size_t nk, np, k;
	int cip = (int)imp_attr_int(n, "count_include_pad", 0), t, padded;
	char name[NPUI_NAME_MAX];

	if (!x)
		return ip->err;
	ti = tensor_of(ip, x);
	ks = imp_attr_ints(n, "kernel_shape", &nk);
	if (!ks || nk != 2)
		return imp_unsupported(ip, "only 2-D kernel_shape");
	if (ks[0] < 1 || ks[1] < 1 || ks[0] > NPUI_MAX_KERNEL || ks[1] > NPUI_MAX_KERNEL)
		return imp_unsupported(ip, "kernel %lldx%lld (1..%d)", (long long)ks[0],
		                       (long long)ks[1], NPUI_MAX_KERNEL);
	if (imp_attr_int(n, "storage_order", 0))
		return imp_unsupported(ip, "storage_order 1");
	if (n->n_output > 1 && n->output[1] && n->output[1][0] &&
	    imp_find(ip, n->output[1])->consumers)
		return imp_unsupported(ip, "the Indices output");
	padded = x->pad[0] || x->pad[1] || x->pad[2] || x->pad[3];
	if (padded) {
		const int64_t *own = imp_attr_ints(n, "pads", &np);

		/* Pad(constant 0) + AveragePool: the zeros count in every
		 * window, so the pool's own padding must count too. */
		for (k = 0; own && !cip && k < np; k++)
			if (own[k])
				return imp_unsupported(ip, "pads of its own without "
				                           "count_include_pad after a Pad");
		cip = 1;
	}
	if (get_window(ip, n, ti->h, ti->w, (int)ks[0], (int)ks[1], x->pad, &win))
		return ip->err;
	if (imp_attr_int(n, "ceil_mode", 0)) {
		int pb = ceil_pad(ti->h, win.kh, win.sh, win.pt, win.pb);
		int pr = ceil_pad(ti->w, win.kw, win.sw, win.pl, win.pr);

		if (!is_max && cip && (pb != win.pb || pr != win.pr))
			return imp_unsupported(ip, "ceil_mode with count_include_pad");
		win.pb = pb;
		win.pr = pr;
	}
	layer_name(ip, n, name);
	t = zb_pool_given(ip->b, name, is_max ? NPUI_OP_MAXPOOL : NPUI_OP_AVGPOOL, x->t, &win, cip);
	return def_act(ip, n, 0, CV_ACT, t) ? NPU_OK : ip->err;
}

/*
 * Pad(constant 0) on H and W, read only by a Conv or an AveragePool: the
 * zeros become that layer's window padding (torch.onnx.export writes
 * AvgPool2d(padding=p) with count_include_pad as Pad + AveragePool;
 * tf2onnx writes explicit padding as Pad + Conv). The padded value itself
 * is never materialised. Zero padding of the int8 input is the zero
 * point, which is what both layers pad with.
 */
static int lower_pad(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = act_in(ip, n, 0, 0), *o, *pc = NULL, *vc = NULL;
	const Onnx__AttributeProto *mode = imp_attr(n, "mode");
	const Onnx__NodeProto *m;
	int64_t p[8] = {0};
	const int64_t *pa;
	double value = imp_attr_float(n, "value", 0.f);
	size_t np, k;

	if (!x)
		return ip->err;
	if (mode && mode->has_s && !(mode->s.len == 8 && !memcmp(mode->s.data, "constant", 8)))
		return imp_unsupported(ip, "mode '%.*s' (only constant)", (int)mode->s.len,
		                       (const char *)mode->s.data);
	if (n->n_input > 3 && n->input[3] && n->input[3][0])
		return imp_unsupported(ip, "the axes input");
	if (n->n_input > 1 && n->input[1] && n->input[1][0]) {
		pc = imp_input(ip, n, 1);
		if (!pc || pc->kind != CV_CONST || !pc->is_int || pc->count != 8)
			return imp_unsupported(ip, "pads must be 8 constant integers");
		for (k = 0; k < 8; k++)
			p[k] = (int64_t)pc->d[k];
	} else if ((pa = imp_attr_ints(n, "pads", &np))) {
		if (np != 8)
			return imp_unsupported(ip, "pads must be 8 integers");
		memcpy(p, pa, sizeof(p));
	}
	if (n->n_input > 2 && n->input[2] && n->input[2][0]) {
		vc = imp_input(ip, n, 2);
		if (!vc || vc->kind != CV_CONST || vc->count != 1)
			return imp_unsupported(ip, "the padding value must be one constant");
		value = vc->d[0];
	}
	if (value != 0.0)
		return imp_unsupported(ip, "padding with %g (only 0)", value);
	if (p[0] || p[1] || p[4] || p[5])
		return imp_unsupported(ip, "padding of the batch or channel axis");
	for (k = 0; k < 8; k++)
		if (p[k] < 0 || p[k] > 64)
			return imp_unsupported(ip, "pad %lld (0..64; negative pads crop)",
			                       (long long)p[k]);
	o = imp_find(ip, n->output[0]);
	m = o ? only_reader(ip, o) : NULL;
	if (!m || !(op_is(m, "Conv") || op_is(m, "AveragePool")) || m->n_input < 1 ||
	    !m->input[0] || strcmp(m->input[0], o->name))
		return imp_unsupported(ip, "a Pad must be read by exactly one Conv or AveragePool "
		                           "(as its input), which takes it as window padding");
	if (alias(ip, n, x, CV_ACT))
		return ip->err;
	o->excl = 0;
	o->pad[0] = (int)p[2];
	o->pad[1] = (int)p[3];
	o->pad[2] = (int)p[6];
	o->pad[3] = (int)p[7];
	return NPU_OK;
}

static int lower_gap(struct imp *ip, const Onnx__NodeProto *n, int keepdims)
{
	struct cv *x = act_in(ip, n, 0, 0);
	char name[NPUI_NAME_MAX];

	if (!x)
		return ip->err;
	layer_name(ip, n, name);
	return def_act(ip, n, 0, keepdims ? CV_ACT : CV_FLAT, zb_gap(ip->b, name, x->t)) ? NPU_OK
	                                                                                 : ip->err;
}

static int lower_reducemean(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = act_in(ip, n, 0, 0), *ca = imp_input(ip, n, 1);
	const int64_t *a;
	int64_t ax[2];
	size_t na, k;

	if (!x)
		return ip->err;
	if (ca) {
		if (ca->kind != CV_CONST || ca->count > 2)
			return imp_unsupported(ip, "axes must be constant");
		na = ca->count;
		for (k = 0; k < na; k++)
			ax[k] = imp_i64(ca->d[k]);
	} else {
		a = imp_attr_ints(n, "axes", &na);
		if (na > 2)
			return imp_unsupported(ip, "mean over %zu axes (only H and W)", na);
		for (k = 0; k < na; k++)
			ax[k] = a[k];
	}
	for (k = 0; k < na; k++)
		ax[k] = ax[k] < 0 ? ax[k] + 4 : ax[k];
	if (na != 2 || !((ax[0] == 2 && ax[1] == 3) || (ax[0] == 3 && ax[1] == 2)))
		return imp_unsupported(ip, "mean over axes other than H, W (2, 3)");
	return lower_gap(ip, n, (int)imp_attr_int(n, "keepdims", 1));
}

/* ---- layout: Flatten, Reshape, Transpose, Squeeze, Unsqueeze -------------------- */

static int lower_reshape(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = imp_input(ip, n, 0);
	int64_t in[NPUC_MAX_DIMS], d[NPUC_MAX_DIMS];
	const struct npui_tensor *t;
	int nin, nd, k, same = 1;
	char name[NPUI_NAME_MAX];

	if (!x || x->kind == CV_UNDEF || x->kind == CV_CONST)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad data input");
	if (imp_shape_of(ip, x, in, &nin) ||
	    imp_reshape_target(ip, imp_input(ip, n, 1), nin, in, &nd, d))
		return ip->err;
	t = tensor_of(ip, x);
	for (k = 0; k < nd && nd == nin; k++)
		same &= d[k] == in[k];
	if (same && nd == nin)
		return alias(ip, n, x, x->kind);
	if (nd == 2 && d[0] == 1 && (x->kind == CV_ACT || x->kind == CV_FLAT))
		return alias(ip, n, x, CV_FLAT);
	if (nd == 4 && d[0] == 1 && d[2] == 1 && d[3] == 1 && x->kind == CV_FLAT && t->h == 1 &&
	    t->w == 1)
		return alias(ip, n, x, CV_ACT);
	if (nd == 5 && x->kind == CV_ACT && d[0] == 1 && d[1] * d[2] == t->c && d[3] == t->h &&
	    d[4] == t->w && d[1] <= 65535) {
		int rc = alias(ip, n, x, CV_SHUF5);

		if (!rc)
			imp_find(ip, n->output[0])->groups = (int)d[1];
		return rc;
	}
	if (nd == 4 && x->kind == CV_SHUF5T && d[0] == 1 && d[1] == t->c && d[2] == t->h &&
	    d[3] == t->w) {
		layer_name(ip, n, name);
		ip->st.removed++; /* the Reshape and Transpose before it */
		return def_act(ip, n, 0, CV_ACT, zb_shuffle(ip->b, name, x->t, x->groups))
		               ? NPU_OK
		               : ip->err;
	}
	if (nd == 4 && x->kind == CV_SHUF5 && d[0] == 1 && d[1] == t->c && d[2] == t->h &&
	    d[3] == t->w)
		return alias(ip, n, x, CV_ACT);
	return imp_unsupported(ip,
	                       "reshape of [%lld,%lld,...] (%d-D) to %d-D (only flatten and "
	                       "the channel-shuffle pattern)",
	                       (long long)in[0], (long long)(nin > 1 ? in[1] : 0), nin, nd);
}

static int lower_transpose(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = imp_input(ip, n, 0);
	size_t np, k;
	const int64_t *p = imp_attr_ints(n, "perm", &np);
	int ident = 1;

	if (!x || x->kind == CV_UNDEF)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad input");
	for (k = 0; p && k < np; k++)
		ident &= p[k] == (int64_t)k;
	if (p && ident)
		return alias(ip, n, x, x->kind);
	if (x->kind == CV_SHUF5 && p && np == 5 && p[0] == 0 && p[1] == 2 && p[2] == 1 &&
	    p[3] == 3 && p[4] == 4) {
		int rc = alias(ip, n, x, CV_SHUF5T);

		ip->st.removed -= !rc;
		return rc;
	}
	return imp_unsupported(ip, "only the [0,2,1,3,4] transpose of a channel shuffle");
}

static int lower_squeeze(struct imp *ip, const Onnx__NodeProto *n, int squeeze)
{
	struct cv *x = act_in(ip, n, 0, 1);
	int64_t axes[NPUC_MAX_DIMS];
	const struct npui_tensor *t;
	struct cv *ca;
	const int64_t *a;
	size_t na, k;
	int hw = 0;

	if (!x)
		return ip->err;
	t = tensor_of(ip, x);
	ca = imp_input(ip, n, 1);
	if (ca) {
		if (ca->kind != CV_CONST || ca->count > NPUC_MAX_DIMS)
			return imp_unsupported(ip, "axes must be constant");
		na = ca->count;
		for (k = 0; k < na; k++)
			axes[k] = imp_i64(ca->d[k]);
	} else {
		a = imp_attr_ints(n, "axes", &na);
		if (na > NPUC_MAX_DIMS)
			return imp_unsupported(ip, "too many axes");
		for (k = 0; k < na; k++)
			axes[k] = a[k];
	}
	for (k = 0; k < na; k++) {
		int64_t v = axes[k] < 0 ? axes[k] + (squeeze ? 4 : 4) : axes[k];

		hw |= v == 2 ? 1 : v == 3 ? 2 : 4;
	}
	if (t->h == 1 && t->w == 1 && hw == 3 && squeeze && x->kind == CV_ACT)
		return alias(ip, n, x, CV_FLAT);
	if (t->h == 1 && t->w == 1 && hw == 3 && !squeeze && x->kind == CV_FLAT)
		return alias(ip, n, x, CV_ACT);
	return imp_unsupported(ip, "only [1,C,1,1] <-> [1,C] over axes 2, 3");
}

/* ---- channel concat, split, slice ---------------------------------------------------- */

static int lower_concat(struct imp *ip, const Onnx__NodeProto *n)
{
	int ins[NPUI_MAX_INPUTS];
	struct cv *x0 = act_in(ip, n, 0, 1);
	int64_t axis = imp_attr_int(n, "axis", 1);
	size_t k;
	char name[NPUI_NAME_MAX];

	if (!x0)
		return ip->err;
	if (n->n_input > NPUI_MAX_INPUTS)
		return imp_unsupported(ip, "%zu inputs (at most %d)", n->n_input, NPUI_MAX_INPUTS);
	if (!(axis == 1 || (x0->kind == CV_ACT && axis == -3) ||
	      (x0->kind == CV_FLAT && axis == -1)))
		return imp_unsupported(ip, "concat on axis %lld (only channels)", (long long)axis);
	for (k = 0; k < n->n_input; k++) {
		struct cv *x = act_in(ip, n, k, 1);

		if (!x)
			return ip->err;
		if (x->kind != x0->kind ||
		    (x->kind == CV_FLAT && (tensor_of(ip, x)->h != 1 || tensor_of(ip, x)->w != 1)))
			return imp_unsupported(ip, "inputs of different kinds");
		if (tensor_of(ip, x)->h != tensor_of(ip, x0)->h ||
		    tensor_of(ip, x)->w != tensor_of(ip, x0)->w)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "inputs differ in H or W");
		ins[k] = x->t;
	}
	if (n->n_input == 1)
		return alias(ip, n, x0, x0->kind);
	layer_name(ip, n, name);
	return def_act(ip, n, 0, x0->kind, zb_concat(ip->b, name, (int)n->n_input, ins)) ? NPU_OK
	                                                                                 : ip->err;
}

/* Output k of the node = channels [begin, begin + c) of x. */
static int split_out(struct imp *ip, const Onnx__NodeProto *n, size_t k, const struct cv *x,
                     int begin, int c)
{
	const struct npui_tensor *t = tensor_of(ip, x);
	char name[NPUI_NAME_MAX];
	struct cv *o;
	size_t len;

	if (k >= n->n_output || !n->output[k] || !n->output[k][0])
		return NPU_OK;
	o = imp_find(ip, n->output[k]);
	if (o && !o->consumers)
		return NPU_OK; /* unused: no layer */
	if (begin == 0 && c == t->c) {
		o = imp_output(ip, n, k);
		if (!o)
			return ip->err;
		o->kind = x->kind;
		o->t = x->t;
		o->excl = 0;
		return NPU_OK;
	}
	layer_name(ip, n, name);
	len = strlen(name);
	if (len > NPUI_NAME_MAX - 4)
		memmove(name, name + 4, len - 3);
	snprintf(name + strlen(name), 4, ".%zu", k % 100);
	return def_act(ip, n, k, CV_ACT, zb_split(ip->b, name, x->t, begin, c)) ? NPU_OK : ip->err;
}

static int lower_split(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = act_in(ip, n, 0, 0), *cs = imp_input(ip, n, 1);
	int64_t axis = imp_attr_int(n, "axis", 0), sizes[NPUI_MAX_INPUTS * 8];
	size_t no = n->n_output, k, na;
	const int64_t *a;
	int C, begin = 0;

	if (!x)
		return ip->err;
	C = tensor_of(ip, x)->c;
	if (axis != 1 && axis != -3)
		return imp_unsupported(ip, "split on axis %lld (only channels)", (long long)axis);
	if (no < 1 || no > sizeof(sizes) / sizeof(sizes[0]))
		return imp_unsupported(ip, "%zu outputs", no);
	a = imp_attr_ints(n, "split", &na);
	if (cs) {
		if (cs->kind != CV_CONST || cs->count != no)
			return imp_fail(ip, NPU_ERR_INVALID_ARG,
			                "split sizes must be %zu constants", no);
		for (k = 0; k < no; k++)
			sizes[k] = imp_i64(cs->d[k]);
	} else if (a) {
		if (na != no)
			return imp_fail(ip, NPU_ERR_INVALID_ARG,
			                "split has %zu sizes for %zu outputs", na, no);
		for (k = 0; k < no; k++)
			sizes[k] = a[k];
	} else {
		int64_t each = (C + (int64_t)no - 1) / (int64_t)no;

		for (k = 0; k < no; k++)
			sizes[k] = k + 1 < no ? each : C - each * (int64_t)(no - 1);
	}
	for (k = 0; k < no; k++) {
		if (sizes[k] < 1 || begin + sizes[k] > C)
			return imp_fail(ip, NPU_ERR_INVALID_ARG,
			                "split sizes do not fit %d channels", C);
		if (split_out(ip, n, k, x, begin, (int)sizes[k]))
			return ip->err;
		begin += (int)sizes[k];
	}
	if (begin != C)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "split sizes sum to %d, not %d", begin, C);
	return NPU_OK;
}

static int lower_slice(struct imp *ip, const Onnx__NodeProto *n)
{
	struct cv *x = act_in(ip, n, 0, 0);
	int64_t dims[4], start[4], step[4], size[4];
	int nd, k;

	if (!x || imp_shape_of(ip, x, dims, &nd) ||
	    imp_slice_params(ip, n, nd, dims, start, step, size))
		return ip->err;
	for (k = 0; k < 4; k++) {
		if (k != 1 && (start[k] != 0 || size[k] != dims[k]))
			return imp_unsupported(ip, "slice on axis %d (only channels)", k);
		if (step[k] != 1 && size[k] > 1)
			return imp_unsupported(ip, "slice step %lld", (long long)step[k]);
	}
	if (size[1] < 1)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "empty slice");
	return split_out(ip, n, 0, x, (int)start[1], (int)size[1]);
}

/* ---- QDQ ---------------------------------------------------------------------------------- */

static int lower_quant(struct imp *ip, const Onnx__NodeProto *n, int quant)
{
	struct cv *x = imp_input(ip, n, 0), *s = imp_input(ip, n, 1), *z = imp_input(ip, n, 2);
	double zp;

	if (!x || x->kind == CV_UNDEF || x->kind == CV_CONST)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "bad input");
	if (!quant)
		return alias(ip, n, x, x->kind);
	if (!s || s->kind != CV_CONST || s->count != 1 || !(s->d[0] > 0) ||
	    (z && (z->kind != CV_CONST || z->count != 1)))
		return imp_unsupported(ip, "activation quant must be one constant scale and zero "
		                           "point");
	zp = z ? z->d[0] : 0;
	if (!z || z->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8)
		zp -= 128; /* uint8 -> int8: same real values */
	else if (z->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__INT8)
		return imp_unsupported(ip, "zero point type %d (only int8, uint8)", z->dtype);
	if (zp < -128 || zp > 127)
		return imp_fail(ip, NPU_ERR_INVALID_ARG, "zero point out of range");
	zb_set_quant(ip->b, x->t, (float)s->d[0], (int)zp);
	ip->st.qdq_quants++;
	return alias(ip, n, x, x->kind);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int lower_node(struct imp *ip, const Onnx__NodeProto *n)
{
	const char *op = n->op_type;
	struct cv *x;

	if (!strcmp(op, "Conv"))
		return lower_conv(ip, n);
	if (!strcmp(op, "BatchNormalization"))
		return lower_batchnorm(ip, n);
	if (!strcmp(op, "Gemm"))
		return lower_fc(ip, n, 1);
	if (!strcmp(op, "MatMul"))
		return lower_fc(ip, n, 0);
	if (!strcmp(op, "Relu"))
		return (x = act_in(ip, n, 0, 1)) ? lower_act(ip, n, x, NPUI_ACT_RELU) : ip->err;
	if (!strcmp(op, "Clip"))
		return lower_clip(ip, n);
	if (!strcmp(op, "HardSigmoid"))
		return lower_hardsigmoid(ip, n);
	if (!strcmp(op, "HardSwish"))
		return (x = act_in(ip, n, 0, 1)) ? lut(ip, n, x, NPUI_LUT_HSWISH) : ip->err;
	if (!strcmp(op, "Sigmoid"))
		return (x = act_in(ip, n, 0, 1)) ? lut(ip, n, x, NPUI_LUT_SIGMOID) : ip->err;
	if (!strcmp(op, "Add"))
		return lower_eltwise(ip, n, 0);
	if (!strcmp(op, "Mul"))
		return lower_eltwise(ip, n, 1);
	if (!strcmp(op, "MaxPool"))
		return lower_pool(ip, n, 1);
	if (!strcmp(op, "AveragePool"))
		return lower_pool(ip, n, 0);
	if (!strcmp(op, "GlobalAveragePool"))
		return lower_gap(ip, n, 1);
	if (!strcmp(op, "Pad"))
		return lower_pad(ip, n);
	if (!strcmp(op, "ReduceMean"))
		return lower_reducemean(ip, n);
	if (!strcmp(op, "Flatten")) {
		int64_t axis = imp_attr_int(n, "axis", 1);

		if (!(x = act_in(ip, n, 0, 1)))
			return ip->err;
		if (axis != 1 && axis != 0 && !(x->kind == CV_ACT && axis == -3))
			return imp_unsupported(ip, "flatten at axis %lld", (long long)axis);
		return alias(ip, n, x, CV_FLAT);
	}
	if (!strcmp(op, "Reshape"))
		return lower_reshape(ip, n);
	if (!strcmp(op, "Transpose"))
		return lower_transpose(ip, n);
	if (!strcmp(op, "Squeeze"))
		return lower_squeeze(ip, n, 1);
	if (!strcmp(op, "Unsqueeze"))
		return lower_squeeze(ip, n, 0);
	if (!strcmp(op, "Concat"))
		return lower_concat(ip, n);
	if (!strcmp(op, "Split"))
		return lower_split(ip, n);
	if (!strcmp(op, "Slice"))
		return lower_slice(ip, n);
	if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
		x = imp_input(ip, n, 0);
		if (!x)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "missing input");
		if (n->n_output > 1 && n->output[1] && n->output[1][0] &&
		    imp_find(ip, n->output[1])->consumers)
			return imp_unsupported(ip, "the Dropout mask output");
		return alias(ip, n, x, x->kind);
	}
	if (!strcmp(op, "Cast")) {
		x = imp_input(ip, n, 0);
		if (imp_attr_int(n, "to", 0) != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
			return imp_unsupported(ip, "cast of a feature map to a non-float type");
		return alias(ip, n, x, x->kind);
	}
	if (!strcmp(op, "QuantizeLinear"))
		return lower_quant(ip, n, 1);
	if (!strcmp(op, "DequantizeLinear"))
		return lower_quant(ip, n, 0);
	return imp_unsupported(ip, "%s", "");
}

/* Nodes whose every input is constant are evaluated; Shape only needs the
 * input's (static) shape. */
static int all_const(struct imp *ip, const Onnx__NodeProto *n)
{
	size_t k;

	if (op_is(n, "Shape"))
		return 1;
	for (k = 0; k < n->n_input; k++) {
		struct cv *c = imp_input(ip, n, k);

		if (c && c->kind != CV_CONST)
			return 0;
	}
	return 1;
}

static int node_dead(struct imp *ip, const Onnx__NodeProto *n)
{
	size_t k;

	for (k = 0; k < n->n_output; k++) {
		struct cv *o;

		if (!n->output[k] || !n->output[k][0])
			continue;
		o = imp_find(ip, n->output[k]);
		if (o && (o->consumers || o->first_consumer >= 0))
			return 0;
	}
	return 1;
}

/* ---- the graph ---------------------------------------------------------------------------- */

static int is_initializer(const Onnx__GraphProto *gp, const char *name)
{
	size_t k;

	for (k = 0; k < gp->n_initializer; k++)
		if (gp->initializer[k] && gp->initializer[k]->name &&
		    !strcmp(gp->initializer[k]->name, name))
			return 1;
	return 0;
}

/* The one real (non-initializer) graph input: its value info and dims. */
static int find_input(const Onnx__GraphProto *gp, const Onnx__ValueInfoProto **in, int64_t dims[4],
                      char *why, size_t why_len)
{
	const Onnx__ValueInfoProto *vi = NULL;
	const Onnx__TypeProto__Tensor *tt;
	size_t k, found = 0;

	for (k = 0; k < gp->n_input; k++) {
		if (!gp->input[k] || !gp->input[k]->name || !gp->input[k]->name[0])
			goto bad;
		if (is_initializer(gp, gp->input[k]->name))
			continue;
		vi = gp->input[k];
		found++;
	}
	if (found != 1) {
		snprintf(why, why_len, "the graph has %zu inputs; lwnpu models have one", found);
		return NPU_ERR_NOT_SUPPORTED;
	}
	tt = vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
	             ? vi->type->tensor_type
	             : NULL;
	if (!tt || (tt->has_elem_type && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) ||
	    !tt->shape || tt->shape->n_dim != 4) {
		snprintf(why, why_len, "graph input '%s' must be a 4-D float tensor [N,C,H,W]",
		         vi->name);
		return NPU_ERR_NOT_SUPPORTED;
	}
	for (k = 0; k < 4; k++) {
		const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];

		dims[k] = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
		                  ? d->dim_value
		                  : 0;
		if (dims[k] < 0 || dims[k] > NPUI_MAX_DIM) {
			snprintf(why, why_len, "graph input '%s': dimension %zu out of range",
			         vi->name, k);
			return NPU_ERR_INVALID_ARG;
		}
	}
	*in = vi;
	return NPU_OK;
bad:
	snprintf(why, why_len, "graph input without a name");
	return NPU_ERR_INVALID_ARG;
}

static Onnx__ModelProto *unpack(const void *data, size_t size, char *why, size_t why_len)
{
	Onnx__ModelProto *m;

	if (!data || !size) {
		snprintf(why, why_len, "empty ONNX file");
		return NULL;
	}
	m = onnx__model_proto__unpack(NULL, size, data);
	if (!m) {
		snprintf(why, why_len, "not an ONNX model (protobuf ModelProto does not parse)");
		return NULL;
	}
	if (!m->graph) {
		snprintf(why, why_len, "ONNX model has no graph");
		onnx__model_proto__free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

int npuc_onnx_input_shape(const void *data, size_t size, int64_t dims[4], char *why, size_t why_len)
{
	char buf[200];
	const Onnx__ValueInfoProto *vi;
	Onnx__ModelProto *m = unpack(data, size, buf, sizeof(buf));
	int rc;

	if (!m) {
		rc = NPU_ERR_INVALID_ARG;
	} else {
		rc = find_input(m->graph, &vi, dims, buf, sizeof(buf));
		onnx__model_proto__free_unpacked(m, NULL);
	}
	if (rc && why && why_len)
		snprintf(why, why_len, "%s", buf);
	return rc;
}

/* Count each value's readers; check names. */
static int count_consumers(struct imp *ip)
{
	const Onnx__GraphProto *gp = ip->gp;
	size_t i, k;

	for (i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *n = gp->node[i];

		ip->node = n;
		ip->node_index = (unsigned)i;
		if (!n || !n->op_type)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "node %zu has no op_type", i);
		for (k = 0; k < n->n_input; k++) {
			struct cv *c;

			if (!n->input[k] || !n->input[k][0])
				continue;
			c = imp_value(ip, n->input[k]);
			if (!c)
				return imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
			if (!op_is(n, "Shape"))
				c->consumers++;
			if (c->first_consumer < 0)
				c->first_consumer = (int)i;
		}
		for (k = 0; k < n->n_output; k++)
			if (n->output[k] && n->output[k][0] && !imp_value(ip, n->output[k]))
				return imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
	}
	ip->node = NULL;
	for (k = 0; k < gp->n_output; k++) {
		struct cv *c;

		if (!gp->output[k] || !gp->output[k]->name)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "graph output without a name");
		c = imp_value(ip, gp->output[k]->name);
		if (!c)
			return imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
		c->consumers++;
		c->first_consumer = c->first_consumer < 0 ? INT32_MAX : c->first_consumer;
	}
	return NPU_OK;
}

static int lower_graph(struct imp *ip)
{
	const Onnx__GraphProto *gp = ip->gp;
	size_t i, k;

	for (i = 0; i < gp->n_initializer; i++) {
		const Onnx__TensorProto *tp = gp->initializer[i];
		struct cv *c;

		if (!tp || !tp->name || !tp->name[0])
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "initializer %zu has no name", i);
		c = imp_value(ip, tp->name);
		if (!c)
			return imp_fail(ip, NPU_ERR_NO_MEM, "out of memory");
		if (c->kind != CV_UNDEF)
			return imp_fail(ip, NPU_ERR_INVALID_ARG, "initializer '%s' defined twice",
			                tp->name);
		if (!c->consumers && c->first_consumer < 0)
			continue; /* unused: not even decoded */
		if (imp_const_from_proto(ip, c, tp))
			return ip->err;
	}
	for (i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *n = gp->node[i];

		if (ip->skip[i])
			continue;
		ip->node = n;
		ip->node_index = (unsigned)i;
		if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
			return imp_unsupported(ip, "operator domain '%s'", n->domain);
		if (node_dead(ip, n)) {
			ip->st.removed++;
			continue;
		}
		for (k = 0; k < n->n_input; k++) {
			struct cv *c;

			if (!n->input[k] || !n->input[k][0])
				continue;
			c = imp_find(ip, n->input[k]);
			if (!c || c->kind == CV_UNDEF)
				return imp_fail(ip, NPU_ERR_INVALID_ARG,
				                "input '%s' is not produced by an earlier node, an "
				                "initializer or the graph input",
				                n->input[k]);
		}
		if (all_const(ip, n) && imp_const_eval(ip, n)) {
			if (ip->err)
				return ip->err;
			ip->st.const_folded++;
			continue;
		}
		if (lower_node(ip, n))
			return ip->err;
		if (zb_error(ip->b))
			return imp_fail(ip, zb_error(ip->b), "layer rejected by the builder");
	}
	ip->node = NULL;
	return NPU_OK;
}

static void nchw_to_nhwc(const float *src, float *dst, int n, int c, int h, int w)
{
	size_t per = (size_t)c * h * w;
	int s, ch, y, x;

	for (s = 0; s < n; s++)
		for (ch = 0; ch < c; ch++)
			for (y = 0; y < h; y++)
				for (x = 0; x < w; x++)
					dst[s * per + ((size_t)y * w + x) * c + ch] =
					        src[s * per + ((size_t)ch * h + y) * w + x];
}

static int set_labels(struct npui_graph *g, const struct npuc_options *o)
{
	unsigned i;

	if (!o->num_labels)
		return NPU_OK;
	g->labels = calloc(o->num_labels, sizeof(char *));
	if (!g->labels)
		return NPU_ERR_NO_MEM;
	g->num_labels = o->num_labels;
	for (i = 0; i < o->num_labels; i++) {
		g->labels[i] = strdup(o->labels[i] ? o->labels[i] : "");
		if (!g->labels[i])
			return NPU_ERR_NO_MEM;
	}
	return NPU_OK;
}

int npuc_compile_onnx(const void *data, size_t size, const struct npuc_options *o,
                      struct npui_graph **out, char *why, size_t why_len)
{
	struct npuc_options def;
	struct imp ip;
	const Onnx__ValueInfoProto *vi;
	Onnx__ModelProto *m;
	struct npui_graph *g = NULL;
	struct zb_calib calib;
	float *x = NULL;
	int64_t dims[4];
	struct cv *in, *res;
	size_t i;
	int h, w, rc;
	char vwhy[200];

	memset(&ip, 0, sizeof(ip));
	if (!o) {
		npuc_options_default(&def);
		o = &def;
	}
	if (!out) {
		snprintf(ip.why, sizeof(ip.why), "no output pointer");
		rc = NPU_ERR_INVALID_ARG;
		goto out_why;
	}
	m = unpack(data, size, ip.why, sizeof(ip.why));
	if (!m) {
		rc = NPU_ERR_INVALID_ARG;
		goto out_why;
	}
	ip.gp = m->graph;
	for (i = 0; i < m->n_opset_import; i++)
		if (m->opset_import[i] &&
		    (!m->opset_import[i]->domain || !m->opset_import[i]->domain[0]))
			ip.opset = m->opset_import[i]->version;
	rc = find_input(ip.gp, &vi, dims, ip.why, sizeof(ip.why));
	if (rc)
		goto out_free_model;
	h = (int)dims[2];
	w = (int)dims[3];
	if (o->input_h || o->input_w) {
		if ((h && h != o->input_h) || (w && w != o->input_w)) {
			snprintf(ip.why, sizeof(ip.why),
			         "input size %dx%d given, the model has %dx%d", o->input_h,
			         o->input_w, h, w);
			rc = NPU_ERR_INVALID_ARG;
			goto out_free_model;
		}
		h = o->input_h;
		w = o->input_w;
	}
	if (!dims[1] || h < 1 || w < 1 || (dims[0] != 0 && dims[0] != 1)) {
		snprintf(
		        ip.why, sizeof(ip.why),
		        "graph input '%s' is [%lld,%lld,%lld,%lld]: batch must be 1 or symbolic, C "
		        "fixed, H and W fixed or given (--input-size)",
		        vi->name, (long long)dims[0], (long long)dims[1], (long long)dims[2],
		        (long long)dims[3]);
		rc = NPU_ERR_INVALID_ARG;
		goto out_free_model;
	}
	if (o->calib_count && (o->calib_c != dims[1] || o->calib_h != h || o->calib_w != w)) {
		snprintf(ip.why, sizeof(ip.why),
		         "calibration inputs are %dx%dx%d (CxHxW), the model takes %lldx%dx%d",
		         o->calib_c, o->calib_h, o->calib_w, (long long)dims[1], h, w);
		rc = NPU_ERR_INVALID_ARG;
		goto out_free_model;
	}
	if (o->calib_count < 0 || (o->calib_count && !o->calib) ||
	    (o->calib_method == NPUC_CALIB_PERCENTILE &&
	     !(o->percentile > 0 && o->percentile <= 100))) {
		snprintf(ip.why, sizeof(ip.why), "bad calibration options");
		rc = NPU_ERR_INVALID_ARG;
		goto out_free_model;
	}
	ip.b = zb_new_input(o->name                         ? o->name
	                    : ip.gp->name && ip.gp->name[0] ? ip.gp->name
	                                                    : "onnx",
	                    h, w, (int)dims[1], 0);
	ip.skip = calloc(ip.gp->n_node + 1, 1);
	if (!ip.b || !ip.skip) {
		rc = imp_fail(&ip, NPU_ERR_NO_MEM, "out of memory");
		goto out_free;
	}
	ip.st.onnx_nodes = (unsigned)ip.gp->n_node;
	if (count_consumers(&ip))
		goto out_err;
	in = imp_value(&ip, vi->name);
	if (!in) {
		imp_fail(&ip, NPU_ERR_NO_MEM, "out of memory");
		goto out_err;
	}
	in->kind = CV_ACT;
	in->t = zb_input(ip.b);
	if (ip.gp->n_output != 1) {
		imp_fail(&ip, NPU_ERR_NOT_SUPPORTED,
		         "the graph has %zu outputs; lwnpu models have one", ip.gp->n_output);
		goto out_err;
	}
	if (lower_graph(&ip))
		goto out_err;
	res = imp_find(&ip, ip.gp->output[0]->name);
	if (!res || !is_act(res) || res->t == zb_input(ip.b)) {
		imp_fail(&ip, NPU_ERR_NOT_SUPPORTED,
		         "graph output '%s' is not a feature map computed from the input",
		         ip.gp->output[0]->name);
		goto out_err;
	}
	memset(&calib, 0, sizeof(calib));
	if (o->calib_count) {
		size_t n = (size_t)o->calib_count * dims[1] * h * w;

		x = malloc(n * sizeof(float));
		if (!x) {
			imp_fail(&ip, NPU_ERR_NO_MEM, "out of memory");
			goto out_err;
		}
		nchw_to_nhwc(o->calib, x, o->calib_count, (int)dims[1], h, w);
		calib.x = x;
		calib.n = o->calib_count;
		calib.method = o->calib_method == NPUC_CALIB_PERCENTILE ? ZB_CALIB_PERCENTILE
		                                                        : ZB_CALIB_MINMAX;
		calib.percentile = o->percentile;
	}
	rc = zb_finish_calib(ip.b, res->t, &calib, &g, vwhy, sizeof(vwhy));
	if (rc) {
		imp_fail(&ip, rc, "%s", vwhy);
		goto out_err;
	}
	rc = set_labels(g, o);
	if (!rc)
		rc = npui_graph_validate(g, vwhy, sizeof(vwhy));
	if (rc) {
		imp_fail(&ip, rc, "%s", rc == NPU_ERR_NO_MEM ? "out of memory" : vwhy);
		npui_graph_free(g);
		goto out_err;
	}
	if (o->stats)
		*o->stats = ip.st;
	*out = g;
	rc = NPU_OK;
	goto out_free;

out_err:
	rc = ip.err ? ip.err : NPU_ERR_INTERNAL;
out_free:
	free(x);
	for (i = 0; i < ip.nv; i++)
		imp_const_free(&ip.v[i]);
	free(ip.v);
	free(ip.slot);
	free(ip.skip);
	zb_free(ip.b);
out_free_model:
	onnx__model_proto__free_unpacked(m, NULL);
out_why:
	if (rc && why && why_len)
		snprintf(why, why_len, "%s", ip.why);
	return rc;
}
