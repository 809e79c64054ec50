/*
 * The model zoo: the eight target networks built as lwnpu graphs with
 * seeded random weights and calibrated int8 quantization (docs/ZOO.md).
 *
 * Used by tools/npu-zoo and by tests/zoo. Nothing here touches files: a
 * build returns an npui_graph that validates; the caller serializes it.
 *
 * Tool header of lib/zoo: the one header of lib/zoo that tools/ and
 * examples/ may include (docs/ARCHITECTURE.md, tools/check-layers).
 */
#ifndef NPUI_ZOO_H
#define NPUI_ZOO_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZOO_DEFAULT_SIZE     224
#define ZOO_DEFAULT_CALIB    16 /* at sizes <= 256; zoo_default_calib() */
#define ZOO_DEFAULT_SEED     1
#define ZOO_CLASSES          1000
#define ZOO_MIN_SIZE         32 /* every net downsamples by 32 */
#define ZOO_MAX_SIZE         1024
#define ZOO_MAX_CALIB        16
#define ZOO_MAX_CALIB_PIXELS (16 * 256 * 256) /* calib * size^2 */

struct zoo_opts {
	float width;   /* mobilenet_v1 alpha: 0.25, 0.5, 0.75, 1.0 */
	int groups;    /* shufflenet_v1 groups: 1, 2, 3, 4, 8 */
	uint64_t seed; /* weights and calibration inputs */
	int calib;     /* calibration inputs; 0: no forward pass, placeholder quant */
	int size;      /* input is 1 x size x size x 3 */
};

/* width 1.0, groups 3, seed 1, calib 2, size 224. */
void zoo_opts_default(struct zoo_opts *o);

/* One zoo network. ref_* are the reference costs at the default options
 * (224x224, 1000 classes, width 1.0, groups 3): torchvision 0.14.1's
 * definitions, the papers' architectures for mobilenet_v1 and
 * shufflenet_v1_g3 (docs/ZOO.md, "The nets"). */
struct zoo_net {
	const char *name;
	const char *source;   /* where its definition comes from */
	uint64_t ref_macs;    /* conv + FC multiply-accumulates */
	uint64_t ref_weights; /* conv + FC weight elements */
	unsigned uses_width : 1;
	unsigned uses_groups : 1;
};

/* The nets in list order; *count gets their number. */
const struct zoo_net *zoo_nets(unsigned *count);
/* A net by exact name, or NULL. */
const struct zoo_net *zoo_find(const char *name);

/*
 * Check options: width/groups values in the sets above, 32 <= size <=
 * 1024, 0 <= calib <= 16, calib * size^2 <= 2^20. Returns NPU_OK or NPU_ERR_INVALID_ARG and then
 * writes a one-line reason into why (if not NULL).
 */
int zoo_opts_check(const struct zoo_opts *o, char *why, size_t why_len);

/*
 * The default number of calibration inputs at input size S: ZOO_MAX_CALIB,
 * fewer where calib * S^2 would pass ZOO_MAX_CALIB_PIXELS (at least 1).
 * zoo_opts_default() sets ZOO_DEFAULT_CALIB, right for its default size;
 * a caller that changes the size without choosing calib uses this.
 */
int zoo_default_calib(int size);

/*
 * Build net `name`: construct the float graph, He-init its weights from
 * o->seed, run o->calib calibration inputs through it (the first one also
 * sets the folded-BatchNorm statistics, see docs/ZOO.md), and quantize.
 * Returns NPU_OK (*out is a graph that passes npui_graph_validate; free it
 * with npui_graph_free), NPU_ERR_INVALID_ARG (unknown name, bad options,
 * NULL out), NPU_ERR_NO_MEM, or NPU_ERR_INTERNAL (a net definition does not
 * fit its input size). why as for zoo_opts_check.
 */
int zoo_build(const char *name, const struct zoo_opts *o, struct npui_graph **out, char *why,
              size_t why_len);

/*
 * Calibration input `index` of `seed`: n floats uniform in [-1, 1), NHWC.
 * zoo_build calibrates on exactly these, indexes 0 .. calib-1.
 */
void zoo_calib_input(uint64_t seed, int index, float *x, size_t n);

/*
 * ShuffleNet v2's guidelines as controlled experiments (lib/zoo/
 * guidelines.c, `npu-bench --guidelines`): per guideline a family of
 * networks of about equal MACs that differ only in what the guideline is
 * about (G1 channel ratio, G2 groups, G3 fragmentation, G4 element-wise
 * ops).
 */
struct zoo_guideline {
	const char *name;        /* "g1_1_2", ... */
	int guideline;           /* 1 .. 4 */
	const char *description; /* one line */
	int c, p;                /* block input channels; the variant's parameter */
};

/* The variants in order (G1, G2, G3, G4); *count gets their number. */
const struct zoo_guideline *zoo_guidelines(unsigned *count);
const struct zoo_guideline *zoo_guideline_find(const char *name);
/* Build variant `name` at size x size with seeded weights and calib
 * calibration inputs (0 .. ZOO_MAX_CALIB). Returns as zoo_build. */
int zoo_guideline_build(const char *name, int size, uint64_t seed, int calib,
                        struct npui_graph **out, char *why, size_t why_len);

/* Sum of npui_layer_macs and of CONV/FC weights_count over the graph. */
void zoo_graph_cost(const struct npui_graph *g, uint64_t *macs, uint64_t *weights);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_ZOO_H */
