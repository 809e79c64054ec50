/*
 * The float graph builder (lib/quant, used by lib/zoo and lib/compile; the
 * zb_ prefix is its old name, "zoo builder"): an npui_graph under construction with float weights
 * beside it, a float forward pass for calibration, and the quantizer. The net definitions (zoo.c)
 * call only the zb_* layer functions below.
 *
 * Tensors are referred to by id. A builder that fails (out of memory, a
 * shape that does not fit) records the first error and every later call is
 * a no-op returning -1, so a net definition needs no error checks; its
 * caller looks at zb_error() once at the end.
 */
#ifndef NPUI_ZB_H
#define NPUI_ZB_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

/* How a conv/FC layer's float weights are set by the first calibration
 * input (the data-dependent init that stands in for trained BatchNorm). */
enum zb_norm {
	/* Conv + BatchNorm folded: each output channel standardized (mean 0,
	 * std 1), then a small seeded beta added, like a freshly folded BN. */
	ZB_BN = 0,
	/* No BatchNorm in the original: weights and bias scaled together so
	 * the whole output tensor has std 1 (LSUV-style). */
	ZB_PLAIN = 1,
	/* Weights and bias given by the caller (an imported trained model):
	 * used as they are, no data-dependent init. */
	ZB_FIXED = 2,
};

struct zb;

struct zb *zb_new(const char *graph_name, int size, uint64_t seed);
/* As zb_new with an input of h x w x c (zb_new is h = w = size, c = 3). */
struct zb *zb_new_input(const char *graph_name, int h, int w, int c, uint64_t seed);
/* Frees the builder and, unless taken by zb_finish, its graph. */
void zb_free(struct zb *b);
int zb_error(const struct zb *b);
/* Record an error (first one wins) with a printf-style reason. */
void zb_fail(struct zb *b, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int zb_input(const struct zb *b);
int zb_channels(const struct zb *b, int t);
int zb_height(const struct zb *b, int t);

/* Conv kh = kw = k, symmetric padding pad, OHWI weights. */
int zb_conv(struct zb *b, const char *name, int in, int cout, int k, int stride, int pad,
            int groups, enum npui_act act, enum zb_norm norm);
/* Depthwise k x k, pad (k - 1) / 2. */
int zb_dw(struct zb *b, const char *name, int in, int k, int stride, enum npui_act act,
          enum zb_norm norm);
int zb_fc(struct zb *b, const char *name, int in, int cout, enum npui_act act, enum zb_norm norm);
/* ceil_mode: PyTorch's output size rule, expressed as extra pad_b/pad_r. */
int zb_maxpool(struct zb *b, const char *name, int in, int k, int stride, int pad, int ceil_mode);
/* count_include_pad = 1 (PyTorch AvgPool2d default). */
int zb_avgpool(struct zb *b, const char *name, int in, int k, int stride, int pad);
int zb_gap(struct zb *b, const char *name, int in);
int zb_add(struct zb *b, const char *name, int in0, int in1, enum npui_act act);
/* in0 [H,W,C] times in1 [1,1,C] (broadcast), or times in1 of in0's shape. */
int zb_mul(struct zb *b, const char *name, int in0, int in1);
int zb_concat(struct zb *b, const char *name, int n, const int *ins);
int zb_shuffle(struct zb *b, const char *name, int in, int groups);
int zb_split(struct zb *b, const char *name, int in, int begin, int c);
int zb_lut(struct zb *b, const char *name, int in, enum npui_lut_fn fn);

/* ---- layers with given parameters (the ONNX importer, lib/compile) ---- */

/* A conv or pooling window: kernel, stride, padding top/left/bottom/right. */
struct zb_window {
	int kh, kw;
	int sh, sw;
	int pt, pl, pb, pr;
};

/* Conv with caller-given float weights (OHWI, cout * kh * kw * cin/groups)
 * and bias ([cout], NULL: zero); both are copied. The layer is ZB_FIXED. */
int zb_conv_given(struct zb *b, const char *name, int in, int cout, const struct zb_window *win,
                  int groups, enum npui_act act, const float *w, const float *bias);
/* FC with given weights [cout][K] (K = H*W*C of in, NHWC order) and bias. */
int zb_fc_given(struct zb *b, const char *name, int in, int cout, enum npui_act act, const float *w,
                const float *bias);
/* MAXPOOL (quant tied to its input) or AVGPOOL with a general window. */
int zb_pool_given(struct zb *b, const char *name, enum npui_op op, int in,
                  const struct zb_window *win, int count_include_pad);

/* The graph under construction (read-only view; NULL after zb_finish*). */
const struct npui_graph *zb_graph(const struct zb *b);
/* Index of the layer that writes tensor t, or -1 (the graph input). */
int zb_producer(const struct zb *b, int t);
/* Set the fused activation of layer li (CONV, FC or ADD). */
void zb_set_act(struct zb *b, int li, enum npui_act act);
/*
 * The float weights and bias of CONV/FC layer li, for folding (BatchNorm,
 * a following bias add) before calibration. Returns 0, or -1 for another
 * op. The pointers stay valid until the next layer is added.
 */
int zb_float_params(struct zb *b, int li, float **w, float **bias, size_t *nw, int *cout);
/* Use these per-output-channel weight scales for layer li instead of
 * max|w| / 127 (scales from a quantized model); copied. NULL clears. */
void zb_set_weight_scales(struct zb *b, int li, const float *scales);
/* Give tensor t (and every tensor that must share its quant) this quant
 * instead of a calibrated one. A later call for the same tensor wins. */
void zb_set_quant(struct zb *b, int t, float scale, int zero_point);

/*
 * Mark the graph output, run calib calibration inputs (the first sets the
 * data-dependent weight scales), quantize, and hand over the graph.
 * Returns NPU_OK (*out written) or the builder's first error.
 */
int zb_finish(struct zb *b, int output, int calib, struct npui_graph **out, char *why,
              size_t why_len);

enum zb_calib_method {
	ZB_CALIB_MINMAX = 0,     /* range = [min, max] seen */
	ZB_CALIB_PERCENTILE = 1, /* |x| clipped at a percentile, see docs/COMPILE.md */
};

struct zb_calib {
	const float *x; /* n inputs, NHWC, each the input tensor's size */
	int n;
	enum zb_calib_method method;
	double percentile; /* ZB_CALIB_PERCENTILE: e.g. 99.99 */
};

/*
 * As zb_finish for a graph of ZB_FIXED layers: calibrate on the caller's
 * inputs (in batches; the weights are never changed) and quantize. A tensor
 * given a quant by zb_set_quant keeps it. With c == NULL or c->n == 0 every
 * tensor must have a given quant, else NPU_ERR_INVALID_ARG naming one that
 * has none.
 */
int zb_finish_calib(struct zb *b, int output, const struct zb_calib *c, struct npui_graph **out,
                    char *why, size_t why_len);

/* ---- deterministic random numbers (splitmix64) ---------------------- */

static inline uint64_t zb_rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double zb_rng_uniform(uint64_t *s)
{
	return (double)(zb_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box-Muller; one of the pair is dropped for simplicity). */
double zb_rng_normal(uint64_t *s);

/*
 * Calibration input `index` of `seed`: n floats uniform in [-1, 1), NHWC.
 * zb_finish calibrates on exactly these, indexes 0 .. calib-1.
 */
void zb_calib_input(uint64_t seed, int index, float *x, size_t n);

#endif /* NPUI_ZB_H */
