/*
 * Zoo builder: an npui_graph under construction with float weights beside
 * it, a float forward pass for calibration, and the quantizer. The net
 * definitions (zoo_nets.c) call only the zb_* layer functions below.
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

#include "core/graph.h"

/* How a conv/FC layer's float weights are set by the first calibration
 * input (the data-dependent init that stands in for trained BatchNorm). */
enum zb_norm {
	/* Conv + BatchNorm folded: each output channel standardized (mean 0,
	 * std 1), then a small seeded beta added, like a freshly folded BN. */
	ZB_BN = 0,
	/* No BatchNorm in the original: weights and bias scaled together so
	 * the whole output tensor has std 1 (LSUV-style). */
	ZB_PLAIN = 1,
};

struct zb;

struct zb *zb_new(const char *graph_name, int size, uint64_t seed);
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
/* in0 [H,W,C] times in1 [1,1,C]. */
int zb_mul(struct zb *b, const char *name, int in0, int in1);
int zb_concat(struct zb *b, const char *name, int n, const int *ins);
int zb_shuffle(struct zb *b, const char *name, int in, int groups);
int zb_split(struct zb *b, const char *name, int in, int begin, int c);
int zb_lut(struct zb *b, const char *name, int in, enum npui_lut_fn fn);

/*
 * Mark the graph output, run calib calibration inputs (the first sets the
 * data-dependent weight scales), quantize, and hand over the graph.
 * Returns NPU_OK (*out written) or the builder's first error.
 */
int zb_finish(struct zb *b, int output, int calib, struct npui_graph **out, char *why,
              size_t why_len);

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

#endif /* NPUI_ZB_H */
