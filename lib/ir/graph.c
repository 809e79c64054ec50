/*
 * The in-memory graph (graph.h): validation, naming, cost, freeing.
 *
 * npui_graph_validate is the single gate every graph passes before a
 * kernel or the scheduler sees it, whether it came from a file or was
 * built by a tool. Kernels assume what it checks and check nothing
 * themselves, so each rule in graph.h's shape-rules comment is here.
 */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "ir/graph.h"
#include "ir/model_format.h"

/* Largest h*w*c of a tensor: 256 MiB of int8 keeps every element index and
 * byte count of a tensor comfortably inside int32/size_t arithmetic. */
#define MAX_ELEMENTS ((int64_t)1 << 28)

struct op_info {
	const char *name;
	uint8_t min_inputs, max_inputs;
	unsigned uses;
};

static const struct op_info op_table[NPUI_OP_COUNT] = {
        [NPUI_OP_CONV] = {"conv", 1, 1,
                          NPUI_USES_WINDOW | NPUI_USES_GROUPS | NPUI_USES_ACT | NPUI_USES_WEIGHTS},
        [NPUI_OP_FC] = {"fc", 1, 1, NPUI_USES_ACT | NPUI_USES_WEIGHTS},
        [NPUI_OP_MAXPOOL] = {"maxpool", 1, 1, NPUI_USES_WINDOW | NPUI_USES_ACT},
        [NPUI_OP_AVGPOOL] = {"avgpool", 1, 1,
                             NPUI_USES_WINDOW | NPUI_USES_ACT | NPUI_USES_COUNT_PAD},
        [NPUI_OP_GAP] = {"gap", 1, 1, 0},
        [NPUI_OP_ADD] = {"add", 2, 2, NPUI_USES_ACT},
        [NPUI_OP_MUL] = {"mul", 2, 2, NPUI_USES_ACT},
        [NPUI_OP_CONCAT] = {"concat", 2, NPUI_MAX_INPUTS, 0},
        [NPUI_OP_SHUFFLE] = {"shuffle", 1, 1, NPUI_USES_GROUPS},
        [NPUI_OP_SPLIT] = {"split", 1, 1, NPUI_USES_SPLIT},
        [NPUI_OP_LUT] = {"lut", 1, 1, NPUI_USES_LUT},
};

static const char *const lut_names[] = {
        [NPUI_LUT_HSWISH] = "hswish",   [NPUI_LUT_HSIGMOID] = "hsigmoid",
        [NPUI_LUT_SIGMOID] = "sigmoid", [NPUI_LUT_RELU] = "relu",
        [NPUI_LUT_RELU6] = "relu6",
};
#define LUT_FN_MAX NPUI_LUT_RELU6

static const struct op_info *op_lookup(unsigned op)
{
	if (op >= NPUI_OP_COUNT || !op_table[op].name)
		return NULL;
	return &op_table[op];
}

unsigned npui_op_uses(unsigned op)
{
	const struct op_info *info = op_lookup(op);

	return info ? info->uses | NPUI_USES_KNOWN : 0;
}

const char *npui_op_name(const struct npui_layer *l)
{
	if (!l || !op_lookup(l->op))
		return "?";
	if (l->op == NPUI_OP_LUT) {
		if (l->lut_fn < 1 || l->lut_fn > LUT_FN_MAX)
			return "?";
		return lut_names[l->lut_fn];
	}
	/*
	 * Depthwise is groups == Cin == Cout > 1, but this function sees no
	 * tensors. In a valid graph weights_count = Cout * kh*kw * Cin/groups
	 * with groups | Cout, so weights_count == groups*kh*kw holds exactly
	 * when Cout == groups and Cin/groups == 1, i.e. for depthwise.
	 */
	if (l->op == NPUI_OP_CONV && l->groups > 1 &&
	    l->weights_count == (size_t)l->groups * l->kh * l->kw)
		return "dwconv";
	return op_table[l->op].name;
}

static bool tensor_id_ok(const struct npui_graph *g, int32_t id)
{
	return id >= 0 && (uint32_t)id < g->num_tensors;
}

/* a * b, or UINT64_MAX when that does not fit. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	if (a && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

size_t npui_layer_weights_expected(const struct npui_graph *g, const struct npui_layer *l)
{
	const struct npui_tensor *in, *out;
	uint64_t n;

	if (!g || !l || (l->op != NPUI_OP_CONV && l->op != NPUI_OP_FC) || l->num_inputs < 1 ||
	    !tensor_id_ok(g, l->inputs[0]) || !tensor_id_ok(g, l->output))
		return 0;
	in = &g->tensors[l->inputs[0]];
	out = &g->tensors[l->output];
	if (in->h < 1 || in->w < 1 || in->c < 1 || out->c < 1)
		return 0;
	/* Callers may ask before validation, when dims are any positive
	 * int32: saturate rather than wrap, so a huge layer never looks
	 * like a small one. */
	if (l->op == NPUI_OP_CONV) {
		if (l->groups < 1)
			return 0;
		n = mul_sat((uint64_t)out->c, (uint64_t)l->kh * l->kw);
		n = mul_sat(n, (uint64_t)(in->c / l->groups));
	} else {
		n = mul_sat((uint64_t)in->h * (uint64_t)in->w, (uint64_t)in->c);
		n = mul_sat(n, (uint64_t)out->c);
	}
	if (n > SIZE_MAX)
		return SIZE_MAX;
	return (size_t)n;
}

uint64_t npui_layer_macs(const struct npui_graph *g, const struct npui_layer *l)
{
	const struct npui_tensor *out;
	uint64_t w = npui_layer_weights_expected(g, l);

	if (w == 0)
		return 0;
	/* Each weight is used once per output pixel. */
	out = &g->tensors[l->output];
	if (l->op == NPUI_OP_FC || out->h < 1 || out->w < 1)
		return w;
	return mul_sat(w, (uint64_t)out->h * (uint64_t)out->w);
}

void npui_graph_free(struct npui_graph *g)
{
	uint32_t i;

	if (!g)
		return;
	if (g->layers) {
		for (i = 0; i < g->num_layers; i++) {
			free(g->layers[i].weights);
			free(g->layers[i].bias);
			free(g->layers[i].w_scale);
		}
	}
	if (g->labels) {
		for (i = 0; i < g->num_labels; i++)
			free(g->labels[i]);
	}
	free(g->labels);
	free(g->layers);
	free(g->tensors);
	free(g);
}

/* ---- validation ------------------------------------------------------- */

struct vctx {
	const struct npui_graph *g;
	char *why;
	size_t why_len;
};

__attribute__((format(printf, 3, 4))) static int fail(struct vctx *v, int code, const char *fmt,
                                                      ...)
{
	va_list ap;

	if (v->why && v->why_len) {
		va_start(ap, fmt);
		vsnprintf(v->why, v->why_len, fmt, ap);
		va_end(ap);
	}
	return code;
}

static bool name_ok(const char *name)
{
	return memchr(name, '\0', NPUI_NAME_MAX) != NULL;
}

/* A name for messages; the caller has checked it is terminated. */
#define LNAME(l) ((l)->name[0] ? (l)->name : "(unnamed)")

static bool same_shape(const struct npui_tensor *a, const struct npui_tensor *b)
{
	return a->h == b->h && a->w == b->w && a->c == b->c;
}

static bool same_quant(const struct npui_tensor *a, const struct npui_tensor *b)
{
	/* Bitwise on purpose: "equal quant" means the kernel may copy bytes. */
	return memcmp(&a->q.scale, &b->q.scale, sizeof(float)) == 0 &&
	       a->q.zero_point == b->q.zero_point;
}

static bool scale_ok(float s)
{
	return isfinite(s) && s > 0.0f;
}

int npui_tensor_check(const struct npui_tensor *t, uint32_t id, char *why, size_t why_len)
{
	struct vctx vv = {NULL, why, why_len}, *v = &vv;

	if (!name_ok(t->name))
		return fail(v, NPU_ERR_MODEL_TENSOR, "tensor %u: name not NUL-terminated", id);
	if (t->h < 1 || t->h > NPUI_MAX_DIM || t->w < 1 || t->w > NPUI_MAX_DIM || t->c < 1 ||
	    t->c > NPUI_MAX_DIM)
		return fail(v, NPU_ERR_MODEL_TENSOR,
		            "tensor %u '%s': dims %dx%dx%d, each must be 1..%d", id, t->name, t->h,
		            t->w, t->c, NPUI_MAX_DIM);
	if ((int64_t)t->h * t->w * t->c > MAX_ELEMENTS)
		return fail(v, NPU_ERR_MODEL_TENSOR,
		            "tensor %u '%s': %dx%dx%d exceeds 2^28 elements", id, t->name, t->h,
		            t->w, t->c);
	if (!scale_ok(t->q.scale))
		return fail(v, NPU_ERR_MODEL_TENSOR,
		            "tensor %u '%s': scale %g must be finite and > 0", id, t->name,
		            (double)t->q.scale);
	if (t->q.zero_point < -128 || t->q.zero_point > 127)
		return fail(v, NPU_ERR_MODEL_TENSOR,
		            "tensor %u '%s': zero point %d outside -128..127", id, t->name,
		            t->q.zero_point);
	return NPU_OK;
}

/* Kernel, stride and padding of CONV and the pools; sets *oh, *ow. */
static int check_window(struct vctx *v, uint32_t i, const struct npui_tensor *in, int32_t *oh,
                        int32_t *ow)
{
	const struct npui_layer *l = &v->g->layers[i];
	int64_t ph = (int64_t)in->h + l->pad_t + l->pad_b;
	int64_t pw = (int64_t)in->w + l->pad_l + l->pad_r;

	if (l->kh < 1 || l->kh > NPUI_MAX_KERNEL || l->kw < 1 || l->kw > NPUI_MAX_KERNEL)
		return fail(v, NPU_ERR_MODEL_LAYER,
		            "layer %u '%s': kernel %ux%u, each must be 1..%d", i, LNAME(l), l->kh,
		            l->kw, NPUI_MAX_KERNEL);
	if (l->stride_h < 1 || l->stride_h > 8 || l->stride_w < 1 || l->stride_w > 8)
		return fail(v, NPU_ERR_MODEL_LAYER,
		            "layer %u '%s': stride %ux%u, each must be 1..8", i, LNAME(l),
		            l->stride_h, l->stride_w);
	if (l->pad_t >= l->kh || l->pad_b >= l->kh || l->pad_l >= l->kw || l->pad_r >= l->kw)
		return fail(v, NPU_ERR_MODEL_LAYER,
		            "layer %u '%s': pads t%u l%u b%u r%u must be < kernel %ux%u", i,
		            LNAME(l), l->pad_t, l->pad_l, l->pad_b, l->pad_r, l->kh, l->kw);
	/* C division truncates toward zero, so a window larger than the
	 * padded input must be refused before dividing. */
	if (ph < l->kh || pw < l->kw)
		return fail(v, NPU_ERR_MODEL_LAYER,
		            "layer %u '%s': kernel %ux%u larger than padded input %lldx%lld", i,
		            LNAME(l), l->kh, l->kw, (long long)ph, (long long)pw);
	*oh = (int32_t)((ph - l->kh) / l->stride_h + 1);
	*ow = (int32_t)((pw - l->kw) / l->stride_w + 1);
	return NPU_OK;
}

static int shape_fail(struct vctx *v, uint32_t i, const char *rule)
{
	const struct npui_layer *l = &v->g->layers[i];

	return fail(v, NPU_ERR_MODEL_LAYER, "layer %u '%s' (%s): %s", i, LNAME(l),
	            op_table[l->op].name, rule);
}

static int check_weights(struct vctx *v, uint32_t i)
{
	const struct npui_layer *l = &v->g->layers[i];
	const struct npui_tensor *in = &v->g->tensors[l->inputs[0]];
	const struct npui_tensor *out = &v->g->tensors[l->output];
	size_t expect = npui_layer_weights_expected(v->g, l);
	int64_t k, max_bias = 0;
	int32_t c;

	if (!l->weights || !l->bias || !l->w_scale)
		return fail(v, NPU_ERR_MODEL_WEIGHTS,
		            "layer %u '%s': weights, bias and w_scale are all required", i,
		            LNAME(l));
	if (l->weights_count != expect)
		return fail(v, NPU_ERR_MODEL_WEIGHTS, "layer %u '%s': %zu weights, shapes need %zu",
		            i, LNAME(l), l->weights_count, expect);
	for (c = 0; c < out->c; c++) {
		int64_t b = l->bias[c];

		if (!scale_ok(l->w_scale[c]))
			return fail(v, NPU_ERR_MODEL_WEIGHTS,
			            "layer %u '%s': w_scale[%d] = %g must be finite and > 0", i,
			            LNAME(l), c, (double)l->w_scale[c]);
		if (b < 0)
			b = -b;
		if (b > max_bias)
			max_bias = b;
	}
	/* |x - zp| <= 255 and |w| <= 127 (weights are symmetric, -128 is
	 * not expected but costs only one more unit): bound the accumulator. */
	if (l->op == NPUI_OP_CONV)
		k = (int64_t)l->kh * l->kw * (in->c / l->groups);
	else
		k = (int64_t)in->h * in->w * in->c;
	if (k * 255 * 127 + max_bias > INT32_MAX)
		return fail(v, NPU_ERR_MODEL_WEIGHTS,
		            "layer %u '%s': K=%lld with max |bias| %lld may overflow int32", i,
		            LNAME(l), (long long)k, (long long)max_bias);
	return NPU_OK;
}

static int check_shapes(struct vctx *v, uint32_t i)
{
	const struct npui_graph *g = v->g;
	const struct npui_layer *l = &g->layers[i];
	const struct npui_tensor *in = &g->tensors[l->inputs[0]];
	const struct npui_tensor *out = &g->tensors[l->output];
	const struct npui_tensor *in1;
	int32_t oh = 0, ow = 0;
	int64_t sum;
	int rc;
	unsigned k;

	switch (l->op) {
	case NPUI_OP_CONV:
	case NPUI_OP_MAXPOOL:
	case NPUI_OP_AVGPOOL:
		rc = check_window(v, i, in, &oh, &ow);
		if (rc)
			return rc;
		if (out->h != oh || out->w != ow)
			return fail(v, NPU_ERR_MODEL_LAYER,
			            "layer %u '%s': output %dx%d, window arithmetic gives %dx%d", i,
			            LNAME(l), out->h, out->w, oh, ow);
		if (l->op == NPUI_OP_CONV) {
			if (l->groups < 1 || in->c % l->groups || out->c % l->groups)
				return fail(
				        v, NPU_ERR_MODEL_LAYER,
				        "layer %u '%s': groups %u must divide Cin %d and Cout %d",
				        i, LNAME(l), l->groups, in->c, out->c);
			return NPU_OK;
		}
		if (out->c != in->c)
			return shape_fail(v, i, "output channels must equal input channels");
		if (l->op == NPUI_OP_AVGPOOL && l->count_include_pad > 1)
			return shape_fail(v, i, "count_include_pad must be 0 or 1");
		if (l->op == NPUI_OP_MAXPOOL && !same_quant(in, out))
			return shape_fail(v, i, "output quant must equal input quant");
		return NPU_OK;
	case NPUI_OP_FC:
	case NPUI_OP_GAP:
		if (out->h != 1 || out->w != 1)
			return shape_fail(v, i, "output must be 1x1xC");
		if (l->op == NPUI_OP_GAP && out->c != in->c)
			return shape_fail(v, i, "output channels must equal input channels");
		return NPU_OK;
	case NPUI_OP_ADD:
		in1 = &g->tensors[l->inputs[1]];
		if (!same_shape(in, out) || !same_shape(in1, out))
			return shape_fail(v, i, "both inputs and the output must have one shape");
		return NPU_OK;
	case NPUI_OP_MUL:
		in1 = &g->tensors[l->inputs[1]];
		if (!same_shape(in, out))
			return shape_fail(v, i, "output must have input 0's shape");
		if (!same_shape(in1, in) && !(in1->h == 1 && in1->w == 1 && in1->c == in->c))
			return shape_fail(v, i, "input 1 must be 1x1xC or input 0's shape");
		return NPU_OK;
	case NPUI_OP_CONCAT:
		sum = 0;
		for (k = 0; k < l->num_inputs; k++) {
			const struct npui_tensor *t = &g->tensors[l->inputs[k]];

			if (t->h != out->h || t->w != out->w)
				return shape_fail(v, i, "inputs must have the output's H and W");
			sum += t->c;
		}
		if (sum != out->c)
			return shape_fail(v, i, "input channels must sum to the output's");
		return NPU_OK;
	case NPUI_OP_SHUFFLE:
		if (l->groups < 1 || in->c % l->groups)
			return fail(v, NPU_ERR_MODEL_LAYER,
			            "layer %u '%s': groups %u must be >= 1 and divide C %d", i,
			            LNAME(l), l->groups, in->c);
		if (!same_shape(in, out))
			return shape_fail(v, i, "output must have the input's shape");
		if (!same_quant(in, out))
			return shape_fail(v, i, "output quant must equal input quant");
		return NPU_OK;
	case NPUI_OP_SPLIT:
		if (in->h != out->h || in->w != out->w)
			return shape_fail(v, i, "output must have the input's H and W");
		if (l->split_begin < 0 || (int64_t)l->split_begin + out->c > in->c)
			return fail(v, NPU_ERR_MODEL_LAYER,
			            "layer %u '%s': channels [%d, %lld) outside input's %d", i,
			            LNAME(l), l->split_begin, (long long)l->split_begin + out->c,
			            in->c);
		if (!same_quant(in, out))
			return shape_fail(v, i, "output quant must equal input quant");
		return NPU_OK;
	case NPUI_OP_LUT:
		if (l->lut_fn < 1 || l->lut_fn > LUT_FN_MAX)
			return fail(v, NPU_ERR_MODEL_LAYER, "layer %u '%s': unknown lut_fn %u", i,
			            LNAME(l), l->lut_fn);
		if (!same_shape(in, out))
			return shape_fail(v, i, "output must have the input's shape");
		return NPU_OK;
	}
	assert(!"op without a shape rule");
	return fail(v, NPU_ERR_INTERNAL, "layer %u: op %u passed lookup but has no rule", i, l->op);
}

static int check_layer(struct vctx *v, uint32_t i, uint8_t *written)
{
	const struct npui_graph *g = v->g;
	const struct npui_layer *l = &g->layers[i];
	const struct op_info *info;
	unsigned k;
	int rc;

	if (!name_ok(l->name))
		return fail(v, NPU_ERR_MODEL_LAYER, "layer %u: name not NUL-terminated", i);
	info = op_lookup(l->op);
	if (!info)
		return fail(v, NPU_ERR_MODEL_LAYER, "layer %u '%s': unknown op %u", i, LNAME(l),
		            l->op);
	if (l->num_inputs < info->min_inputs || l->num_inputs > info->max_inputs)
		return fail(v, NPU_ERR_MODEL_LAYER, "layer %u '%s': %s takes %u..%u inputs, has %u",
		            i, LNAME(l), info->name, info->min_inputs, info->max_inputs,
		            l->num_inputs);
	for (k = 0; k < l->num_inputs; k++) {
		int32_t id = l->inputs[k];

		if (!tensor_id_ok(g, id))
			return fail(v, NPU_ERR_MODEL_GRAPH,
			            "layer %u '%s': input %u is tensor %d, only %u tensors", i,
			            LNAME(l), k, id, g->num_tensors);
		if (id != g->input && !written[id])
			return fail(v, NPU_ERR_MODEL_GRAPH,
			            "layer %u '%s': input %u (tensor %d '%s') not yet written: "
			            "layers out of topological order",
			            i, LNAME(l), k, id, g->tensors[id].name);
	}
	if (!tensor_id_ok(g, l->output))
		return fail(v, NPU_ERR_MODEL_GRAPH,
		            "layer %u '%s': output is tensor %d, only %u tensors", i, LNAME(l),
		            l->output, g->num_tensors);
	if (l->output == g->input)
		return fail(v, NPU_ERR_MODEL_GRAPH, "layer %u '%s': writes the graph input", i,
		            LNAME(l));
	if (written[l->output])
		return fail(v, NPU_ERR_MODEL_GRAPH,
		            "layer %u '%s': tensor %d '%s' already written by an earlier layer", i,
		            LNAME(l), l->output, g->tensors[l->output].name);
	written[l->output] = 1;

	if (l->act > NPUI_ACT_RELU6)
		return fail(v, NPU_ERR_MODEL_LAYER, "layer %u '%s': unknown act %u", i, LNAME(l),
		            l->act);
	if (l->act != NPUI_ACT_NONE && !(info->uses & NPUI_USES_ACT))
		return fail(v, NPU_ERR_MODEL_LAYER, "layer %u '%s': %s takes no fused activation",
		            i, LNAME(l), info->name);

	rc = check_shapes(v, i);
	if (rc)
		return rc;

	if (info->uses & NPUI_USES_WEIGHTS)
		return check_weights(v, i);
	if (l->weights || l->bias || l->w_scale || l->weights_count)
		return fail(v, NPU_ERR_MODEL_WEIGHTS, "layer %u '%s': %s must carry no weights", i,
		            LNAME(l), info->name);
	return NPU_OK;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned need, k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

static int check_labels(struct vctx *v)
{
	const struct npui_graph *g = v->g;
	uint32_t i;

	if (g->num_labels > NPUI_MAX_LABELS)
		return fail(v, NPU_ERR_MODEL_LABELS, "%u labels, at most %d", g->num_labels,
		            NPUI_MAX_LABELS);
	if (g->num_labels && !g->labels)
		return fail(v, NPU_ERR_MODEL_LABELS, "%u labels but no label array", g->num_labels);
	for (i = 0; i < g->num_labels; i++) {
		const char *s = g->labels[i];
		size_t n;

		if (!s)
			return fail(v, NPU_ERR_MODEL_LABELS, "label %u is NULL", i);
		n = strnlen(s, NPUI_MAX_LABEL_LEN + 1);
		if (n > NPUI_MAX_LABEL_LEN)
			return fail(v, NPU_ERR_MODEL_LABELS, "label %u longer than %d bytes", i,
			            NPUI_MAX_LABEL_LEN);
		if (!utf8_ok((const unsigned char *)s, n))
			return fail(v, NPU_ERR_MODEL_LABELS, "label %u is not valid UTF-8", i);
	}
	return NPU_OK;
}

static bool f32_is_zero_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u == 0;
}

/* The input metadata against the input tensor (run after the tensors and
 * the input id were checked). Unused entries must be +0.0 exactly: one
 * encoding per graph. */
static int check_meta(struct vctx *v)
{
	const struct npui_graph *g = v->g;
	const struct npui_input_meta *m = &g->meta;
	int32_t c = g->tensors[g->input].c, k;

	if (!g->has_meta)
		return NPU_OK;
	if (m->color < NPUI_COLOR_GRAY || m->color > NPUI_COLOR_BGR)
		return fail(v, NPU_ERR_MODEL_METADATA, "unknown colour %u", m->color);
	if (m->resize < NPUI_RESIZE_STRETCH || m->resize > NPUI_RESIZE_CROP)
		return fail(v, NPU_ERR_MODEL_METADATA, "unknown resize mode %u", m->resize);
	if (m->layout < NPUI_LAYOUT_NHWC || m->layout > NPUI_LAYOUT_NCHW)
		return fail(v, NPU_ERR_MODEL_METADATA, "unknown layout %u", m->layout);
	if (c > NPUI_META_CHANNELS)
		return fail(v, NPU_ERR_MODEL_METADATA,
		            "input has %d channels; metadata describes at most %d", c,
		            NPUI_META_CHANNELS);
	if (m->color != NPUI_COLOR_GRAY && c != 3)
		return fail(v, NPU_ERR_MODEL_METADATA, "colour %s needs 3 input channels, has %d",
		            m->color == NPUI_COLOR_RGB ? "RGB" : "BGR", c);
	if (m->resize == NPUI_RESIZE_CROP ? !(m->crop > 0.0f && m->crop <= 1.0f)
	                                  : !f32_is_zero_bits(m->crop))
		return fail(v, NPU_ERR_MODEL_METADATA, "crop %g: want (0, 1] to crop, else 0",
		            (double)m->crop);
	for (k = 0; k < NPUI_META_CHANNELS; k++) {
		if (k >= c) {
			if (!f32_is_zero_bits(m->mean[k]) || !f32_is_zero_bits(m->std[k]))
				return fail(v, NPU_ERR_MODEL_METADATA,
				            "mean/std of channel %d set, the input has %d", k, c);
			continue;
		}
		if (!isfinite(m->mean[k]) || !isfinite(m->std[k]) || !(m->std[k] > 0.0f))
			return fail(v, NPU_ERR_MODEL_METADATA,
			            "channel %d: mean %g, std %g; need finite, std > 0", k,
			            (double)m->mean[k], (double)m->std[k]);
	}
	return NPU_OK;
}

int npui_graph_validate(const struct npui_graph *g, char *why, size_t why_len)
{
	struct vctx v = {g, why, why_len};
	const struct npui_tensor *out;
	uint8_t *written;
	uint32_t i;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (!g)
		return fail(&v, NPU_ERR_INVALID_ARG, "graph is NULL");
	if (!name_ok(g->name))
		return fail(&v, NPU_ERR_MODEL_GRAPH, "graph name not NUL-terminated");
	if (g->num_tensors < 2 || g->num_tensors > NPUI_MAX_TENSORS || !g->tensors)
		return fail(&v, NPU_ERR_MODEL_TENSOR, "%u tensors, need 2..%d", g->num_tensors,
		            NPUI_MAX_TENSORS);
	if (g->num_layers < 1 || g->num_layers > NPUI_MAX_LAYERS || !g->layers)
		return fail(&v, NPU_ERR_MODEL_LAYER, "%u layers, need 1..%d", g->num_layers,
		            NPUI_MAX_LAYERS);
	for (i = 0; i < g->num_tensors; i++) {
		rc = npui_tensor_check(&g->tensors[i], i, why, why_len);
		if (rc)
			return rc;
	}
	if (!tensor_id_ok(g, g->input) || !tensor_id_ok(g, g->output))
		return fail(&v, NPU_ERR_MODEL_GRAPH,
		            "graph input %d / output %d not among %u tensors", g->input, g->output,
		            g->num_tensors);
	if (g->input == g->output)
		return fail(&v, NPU_ERR_MODEL_GRAPH, "graph input and output are one tensor");

	written = calloc(g->num_tensors, 1);
	if (!written)
		return fail(&v, NPU_ERR_NO_MEM, "out of memory");
	for (i = 0; i < g->num_layers; i++) {
		rc = check_layer(&v, i, written);
		if (rc)
			goto out_free_written;
	}
	out = &g->tensors[g->output];
	if (!written[g->output]) {
		rc = fail(&v, NPU_ERR_MODEL_GRAPH,
		          "graph output tensor %d '%s' written by no layer", g->output, out->name);
		goto out_free_written;
	}
	rc = check_labels(&v);
	if (!rc)
		rc = check_meta(&v);
out_free_written:
	free(written);
	return rc;
}
