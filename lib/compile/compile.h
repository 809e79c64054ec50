/*
 * npu-compile's library: an ONNX model (as torch.onnx.export writes it,
 * opset 13, NCHW float, or QDQ-quantized) lowered to an lwnpu int8 graph
 * (NHWC) with post-training quantization. docs/COMPILE.md has the lowering
 * table, the quantization method and the error forms.
 *
 * The ONNX bytes are untrusted: every malformed, inconsistent or
 * unsupported model is answered with an error and a one-line reason that
 * names the node and its op; nothing is read outside the given buffer.
 *
 * Tool header of lib/compile: the one header of lib/compile that tools/
 * and examples/ may include (docs/ARCHITECTURE.md, tools/check-layers).
 */
#ifndef NPUC_COMPILE_H
#define NPUC_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

enum npuc_calib_method {
	NPUC_CALIB_MINMAX = 0,     /* activation range = [min, max] seen */
	NPUC_CALIB_PERCENTILE = 1, /* |x| clipped at the given percentile */
};

#define NPUC_DEFAULT_PERCENTILE 99.99

/* What the lowering did, for the tool's summary and the tests. */
struct npuc_stats {
	unsigned onnx_nodes;   /* nodes in the ONNX graph */
	unsigned const_folded; /* nodes evaluated on constants (shape math) */
	unsigned bn_folded;    /* BatchNormalization folded into a conv/FC */
	unsigned act_fused;    /* Relu/Clip fused into the producing layer */
	unsigned bias_folded;  /* Add/Mul of a constant folded into a conv/FC */
	unsigned removed;      /* Identity, Dropout, Q/DQ pairs, no-op reshapes */
	unsigned qdq_quants;   /* activation quants taken from QuantizeLinear */
};

struct npuc_options {
	/* Input H x W when the model leaves them symbolic; 0: from the model.
	 * A model with fixed H, W must agree. */
	int input_h, input_w;
	/* calib_count calibration inputs, NCHW float32 [n][C][H][W] exactly as
	 * the ONNX model takes them (after the model's own preprocessing).
	 * calib_c/h/w give the per-input shape and must match the model's. */
	const float *calib;
	int calib_count;
	int calib_c, calib_h, calib_w;
	enum npuc_calib_method calib_method;
	double percentile; /* NPUC_CALIB_PERCENTILE, in (0, 100] */
	/* Class labels stored in the model (copied); may be NULL. */
	const char *const *labels;
	unsigned num_labels;
	/* Graph name; NULL: the ONNX graph's name. */
	const char *name;
	struct npuc_stats *stats; /* filled on success when not NULL */
};

/* No calibration, minmax, percentile NPUC_DEFAULT_PERCENTILE, no labels. */
void npuc_options_default(struct npuc_options *o);

/*
 * The input of an ONNX model as N C H W (0 for a symbolic dimension).
 * Returns NPU_OK, NPU_ERR_INVALID_ARG (not an ONNX model, no single
 * 4-D float input; why says which).
 */
int npuc_onnx_input_shape(const void *data, size_t size, int64_t dims[4], char *why,
                          size_t why_len);

/*
 * Compile ONNX model bytes. On NPU_OK *out is a graph that validates
 * (free with npui_graph_free). Errors: NPU_ERR_INVALID_ARG (malformed
 * ONNX, bad options, a tensor with no quant and no calibration),
 * NPU_ERR_NOT_SUPPORTED (an op or pattern lwnpu lacks), NPU_ERR_NO_MEM,
 * or a graph validation error. why gets one line, e.g.
 * "node 'Foo' (LSTM): not supported by lwnpu".
 */
int npuc_compile_onnx(const void *data, size_t size, const struct npuc_options *o,
                      struct npui_graph **out, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif /* NPUC_COMPILE_H */
