/*
 * The in-memory graph: what a model file holds, after parsing and
 * validation. This is the contract between the model loader
 * (lib/ir/model_format.c), the model writer used by tools (npu-zoo,
 * npu-compile), the CPU kernels (lib/ref/) and the scheduler.
 *
 * All activations are batch 1, NHWC, int8 asymmetric (scale, zero point).
 * Layers are stored in topological order: every input of layer i is the
 * graph input or the output of a layer j < i; each tensor other than the
 * graph input is written by exactly one layer.
 *
 * Tool header of lib/ir: the one header of lib/ir that tools/ and
 * examples/ may include (docs/ARCHITECTURE.md, tools/check-layers). What a
 * tool needs of the model file (write, read back, recognise) is declared
 * here; the byte layout stays in lib/ir/model_format.h.
 */
#ifndef NPUI_GRAPH_H
#define NPUI_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NPUI_NAME_MAX      32 /* including the NUL */
#define NPUI_MAX_INPUTS    8  /* per layer (concat fan-in) */
#define NPUI_MAX_TENSORS   65536
#define NPUI_MAX_LAYERS    65536
#define NPUI_MAX_DIM       32768 /* h, w, c each */
#define NPUI_MAX_KERNEL    15    /* kh, kw of conv and pooling */
#define NPUI_MAX_LABELS    100000
#define NPUI_MAX_LABEL_LEN 255

/* Layer operations. Values are stored in model files: never renumber. */
enum npui_op {
	/* KxK convolution, stride, padding, groups. in0 [H,W,Cin] ->
	 * [OH,OW,Cout]. Weights OHWI: [Cout][KH][KW][Cin/groups], int8,
	 * symmetric per output channel (w_scale[Cout]); bias int32 [Cout] in
	 * scale in_scale * w_scale[oc]. Depthwise is groups == Cin == Cout. */
	NPUI_OP_CONV = 1,
	/* Fully connected: in0 flattened in NHWC order (K = H*W*C) ->
	 * [1,1,Cout]. Weights [Cout][K]; bias/w_scale as for CONV. */
	NPUI_OP_FC = 2,
	/* Max pool KxK/stride/padding; padding never wins. Output quant must
	 * equal input quant. */
	NPUI_OP_MAXPOOL = 3,
	/* Average pool KxK/stride/padding; count_include_pad selects the
	 * divisor (window size, or valid elements only). Requantizes. */
	NPUI_OP_AVGPOOL = 4,
	/* Global average pool: [H,W,C] -> [1,1,C]. Requantizes. */
	NPUI_OP_GAP = 5,
	/* Residual add of in0 and in1 (same shape, own quants): TFLite int8
	 * ADD scheme, then act clamp. */
	NPUI_OP_ADD = 6,
	/* in0 [H,W,C] times in1 [1,1,C] broadcast over H,W (SE scale), or
	 * in1 of in0's shape (element-wise). TFLite int8 MUL scheme. */
	NPUI_OP_MUL = 7,
	/* Channel concat of num_inputs tensors with equal H,W; each input is
	 * requantized to the output quant (a copy when quants are equal). */
	NPUI_OP_CONCAT = 8,
	/* Channel shuffle with `groups` groups: C = g*n viewed as [g][n],
	 * transposed to [n][g]: out[k*g + i] = in[i*n + k]. Quant unchanged. */
	NPUI_OP_SHUFFLE = 9,
	/* Channel slice: out[c] = in[split_begin + c], c < out.C. Quant
	 * unchanged. */
	NPUI_OP_SPLIT = 10,
	/* Unary function through a 256-entry table built at load time. */
	NPUI_OP_LUT = 11,
};
#define NPUI_OP_COUNT 12

/* Fused activation: a clamp in the quantized domain of the output. */
enum npui_act {
	NPUI_ACT_NONE = 0,
	NPUI_ACT_RELU = 1,
	NPUI_ACT_RELU6 = 2,
};

/* LUT functions (NPUI_OP_LUT). Stored in files: never renumber. */
enum npui_lut_fn {
	NPUI_LUT_HSWISH = 1,   /* x * relu6(x + 3) / 6 */
	NPUI_LUT_HSIGMOID = 2, /* relu6(x + 3) / 6 */
	NPUI_LUT_SIGMOID = 3,  /* 1 / (1 + exp(-x)) */
	NPUI_LUT_RELU = 4,     /* max(x, 0) */
	NPUI_LUT_RELU6 = 5,    /* min(max(x, 0), 6) */
};

/* Input preprocessing (model metadata, file format version 2; public as
 * enum npu_color / npu_resize / npu_layout with the same values). Stored
 * in files: never renumber. */
enum npui_color {
	NPUI_COLOR_GRAY = 1, /* one grey value (luma) in every input channel */
	NPUI_COLOR_RGB = 2,  /* channels 0, 1, 2 = R, G, B */
	NPUI_COLOR_BGR = 3,  /* channels 0, 1, 2 = B, G, R */
};
enum npui_resize {
	NPUI_RESIZE_STRETCH = 1, /* whole image to H x W, aspect not kept */
	NPUI_RESIZE_CROP = 2,    /* centred crop of the input's aspect, then resize */
};
enum npui_layout {
	NPUI_LAYOUT_NHWC = 1, /* the layout the model's source framework took */
	NPUI_LAYOUT_NCHW = 2,
};
#define NPUI_META_CHANNELS 4 /* input channels a model with metadata may have */

/*
 * How an 8-bit image becomes the model's float input: colour, resize, then
 * x[c] = (p[c] / 255 - mean[c]) / std[c] for each input channel c < C
 * (docs/MODEL_FORMAT.md, "Metadata section"). Entries c >= C are zero.
 */
struct npui_input_meta {
	uint8_t color;  /* enum npui_color */
	uint8_t resize; /* enum npui_resize */
	uint8_t layout; /* enum npui_layout */
	float crop;     /* NPUI_RESIZE_CROP: side fraction kept, (0, 1]; else 0 */
	float mean[NPUI_META_CHANNELS];
	float std[NPUI_META_CHANNELS];
};

struct npui_quant {
	float scale;        /* > 0, finite */
	int32_t zero_point; /* -128 .. 127 */
};

struct npui_tensor {
	char name[NPUI_NAME_MAX];
	int32_t h, w, c; /* each 1 .. NPUI_MAX_DIM */
	struct npui_quant q;
};

struct npui_layer {
	char name[NPUI_NAME_MAX];
	uint16_t op; /* enum npui_op */
	uint8_t act; /* enum npui_act (CONV, FC, ADD, MUL, pools) */
	uint8_t num_inputs;
	int32_t inputs[NPUI_MAX_INPUTS];
	int32_t output;

	/* CONV, MAXPOOL, AVGPOOL */
	uint16_t kh, kw;
	uint16_t stride_h, stride_w;
	uint16_t pad_t, pad_l, pad_b, pad_r;
	uint16_t groups;           /* CONV groups, SHUFFLE groups; else 0 */
	uint8_t count_include_pad; /* AVGPOOL */
	uint8_t lut_fn;            /* LUT: enum npui_lut_fn */
	int32_t split_begin;       /* SPLIT */

	/* CONV, FC: owned by the graph (NULL for other ops). */
	int8_t *weights; /* weights_count bytes */
	size_t weights_count;
	int32_t *bias;  /* [Cout] */
	float *w_scale; /* [Cout], > 0 and finite */
};

struct npui_graph {
	char name[NPUI_NAME_MAX];
	uint32_t num_tensors;
	struct npui_tensor *tensors;
	uint32_t num_layers;
	struct npui_layer *layers;
	int32_t input;  /* tensor id of the graph input */
	int32_t output; /* tensor id of the graph output */
	uint32_t num_labels;
	char **labels; /* num_labels NUL-terminated strings, or NULL */
	/* Input metadata; written (as format version 2) only when has_meta. */
	int has_meta;
	struct npui_input_meta meta;
};

/*
 * Shape rules (checked by npui_graph_validate, assumed by the kernels):
 *   CONV, MAXPOOL, AVGPOOL: OH = (H + pad_t + pad_b - kh) / stride_h + 1
 *     (floor; >= 1), OW likewise; pads < kernel size; stride 1..8.
 *     CONV: Cin % groups == 0, Cout % groups == 0. Pools: Cout == Cin.
 *   FC: out [1,1,Cout], K = H*W*C. GAP: out [1,1,C].
 *   ADD: in0, in1, out all the same shape. MUL: out == in0, in1 is
 *     [1,1,C] or in0's shape. CONCAT: equal H,W, sum of C == out C.
 *   SHUFFLE: C % groups == 0, out == in. SPLIT: equal H,W,
 *     0 <= split_begin, split_begin + out C <= in C. LUT: out == in.
 *   MAXPOOL, SHUFFLE, SPLIT: out quant == in quant.
 *   CONV/FC: K * 255 * 127 + max|bias| must fit in int32 (no accumulator
 *     overflow is possible), K = kh*kw*Cin/groups or H*W*C.
 */

/* Conv/FC multiply-accumulates of one layer (0 for other ops). */
uint64_t npui_layer_macs(const struct npui_graph *g, const struct npui_layer *l);

/* Short op name for profiles: "conv", "dwconv", "fc", "maxpool", "avgpool",
 * "gap", "add", "mul", "concat", "shuffle", "split", "hswish", "hsigmoid",
 * "sigmoid", "relu", "relu6"; "?" for an unknown op. */
const char *npui_op_name(const struct npui_layer *l);

/* Expected weight count of a CONV/FC layer, from its tensors' shapes. */
size_t npui_layer_weights_expected(const struct npui_graph *g, const struct npui_layer *l);

/* Free everything a graph owns, then the graph. NULL is a no-op. */
void npui_graph_free(struct npui_graph *g);

/*
 * Check a graph completely: ids in range, topological order, single
 * writers, shapes consistent with every op's parameters, quant params
 * valid, weights present with the right size, scales finite and > 0.
 * Returns NPU_OK or the NPU_ERR_MODEL_* that names the first problem; when
 * why != NULL, writes a one-line reason (layer/tensor name) into it.
 */
int npui_graph_validate(const struct npui_graph *g, char *why, size_t why_len);

/*
 * Serialize to the model file format (docs/MODEL_FORMAT.md). The graph must
 * validate. On NPU_OK, *data is malloc'ed (caller frees) and *size set.
 */
int npui_model_serialize(const struct npui_graph *g, void **data, size_t *size);

/*
 * Parse and validate a model file image. Never reads outside
 * [data, data + size). On NPU_OK *out is a new graph (npui_graph_free).
 * Errors: NPU_ERR_MODEL_* naming the first problem, NPU_ERR_NO_MEM,
 * NPU_ERR_INVALID_ARG. why as for npui_graph_validate.
 */
int npui_model_parse(const void *data, size_t size, struct npui_graph **out, char *why,
                     size_t why_len);

/*
 * Whether data starts with the model file's magic: 1 for what looks like an
 * lwnpu model (npui_model_parse still checks everything else), 0 for any
 * other bytes, such as an ONNX file. data may be NULL only when size is 0.
 */
int npui_model_has_magic(const void *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_GRAPH_H */
