/*
 * CPU kernels: the golden reference of the lwnpu numerics
 * (docs/NUMERICS.md) and the fallback for layers the hardware lacks.
 *
 * Two levels:
 *   - npu_ref_s8_*: one kernel per operation, raw pointers plus a params
 *     struct holding everything already derived from the quant params
 *     (multipliers, shifts, clamp bounds). No allocation, no failure: the
 *     caller guarantees shapes and buffer sizes.
 *   - npui_ref_*: layer-level API for the runtime. npui_ref_prepare()
 *     derives every constant of a validated graph once; npui_ref_run_layer()
 *     runs one layer on tensor buffers.
 *
 * All tensors are batch 1, NHWC, int8. Every kernel writes only its output.
 * Input and output buffers must not overlap unless a kernel says so.
 */
#ifndef NPUI_REF_H
#define NPUI_REF_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- layer-level API (runtime) ---------------------------------------- */

/* Per-graph prepared constants: multipliers, shifts, act bounds, LUTs. */
struct npui_ref_plan;

/*
 * Compute everything derived from quant params, once per model load. The
 * graph must have passed npui_graph_validate() and must outlive the plan.
 * Returns NPU_OK (*out written), NPU_ERR_NO_MEM, NPU_ERR_INVALID_ARG (NULL
 * g or out), or NPU_ERR_MODEL_LAYER / NPU_ERR_MODEL_TENSOR when a derived
 * multiplier is out of range (too large for Q31 with shift <= 30); then why
 * (if not NULL) gets a one-line reason naming the layer.
 */
int npui_ref_prepare(const struct npui_graph *g, struct npui_ref_plan **out, char *why,
                     size_t why_len);

/* Free a plan. NULL is a no-op. */
void npui_ref_plan_free(struct npui_ref_plan *p);

/*
 * Run layer `layer` of g on the CPU. bufs[t] is tensor t's int8 NHWC buffer
 * (h*w*c bytes). Reads the layer's inputs, writes only its output. The
 * output buffer must not alias an input. Thread-safe for distinct outputs:
 * the plan is read-only here.
 */
void npui_ref_run_layer(const struct npui_ref_plan *p, const struct npui_graph *g, uint32_t layer,
                        int8_t *const *bufs);

/* ---- helpers deriving kernel constants --------------------------------- */

/*
 * Clamp bounds of a fused activation in the output's quantized domain:
 * NONE [-128,127]; RELU [max(-128,zp),127];
 * RELU6 [max(-128,zp), min(127, zp + round(6/scale))].
 * Returns NPU_OK or NPU_ERR_INVALID_ARG (unknown act).
 */
int npu_ref_act_bounds(int act, const struct npui_quant *out, int32_t *act_min, int32_t *act_max);

/*
 * Requantization constants of a CONV/FC layer: mult/shift[oc] for
 * M = in_scale * w_scale[oc] / out_scale, computed in double.
 * Returns NPU_OK or NPU_ERR_INVALID_ARG (some M not representable).
 */
int npu_ref_conv_multipliers(float in_scale, const float *w_scale, float out_scale, int32_t n,
                             int32_t *mult, int32_t *shift);

/*
 * Average-pool multipliers, one per possible divisor: entry i is for
 * count = i + 1, M = in_scale / (out_scale * count), i < max_count.
 * Returns NPU_OK or NPU_ERR_INVALID_ARG.
 */
int npu_ref_avgpool_multipliers(float in_scale, float out_scale, int32_t max_count, int32_t *mult,
                                int32_t *shift);

/* ---- convolution ------------------------------------------------------- */

/*
 * Convolution geometry and requantization. The output size is given (it
 * must follow the graph.h shape rule); pad_b/pad_r are implied by it:
 * taps outside the input are skipped, which equals reading in_zp there.
 * Weights OHWI [out_c][kh][kw][in_c/groups]; bias [out_c] or NULL (0).
 */
struct npu_ref_conv_params {
	int32_t in_h, in_w, in_c;
	int32_t out_h, out_w, out_c;
	int32_t kh, kw;
	int32_t stride_h, stride_w;
	int32_t pad_t, pad_l;
	int32_t groups; /* in_c % groups == 0, out_c % groups == 0 */
	int32_t in_zp, out_zp;
	int32_t act_min, act_max;
	const int32_t *mult;  /* [out_c], Q31 in [2^30, 2^31) or 0 */
	const int32_t *shift; /* [out_c], -31 .. 30 */
};

/* Any conv: picks the fastest kernel below that applies. All are
 * bit-identical to npu_ref_s8_conv2d_generic. */
void npu_ref_s8_conv2d(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                       const int32_t *bias, int8_t *out);
/* Direct loops, any shape: the definition the fast paths are tested on. */
void npu_ref_s8_conv2d_generic(const struct npu_ref_conv_params *p, const int8_t *in,
                               const int8_t *w, const int32_t *bias, int8_t *out);
/* kh == kw == 1, stride 1, no padding; any groups (a GEMM per group). */
void npu_ref_s8_conv2d_1x1(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                           const int32_t *bias, int8_t *out);
/* Depthwise (groups == in_c == out_c), any kernel size and stride. */
void npu_ref_s8_dwconv(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                       const int32_t *bias, int8_t *out);
/* Depthwise with kh == kw == 3 / 5 (any stride, padding). */
void npu_ref_s8_dwconv3x3(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                          const int32_t *bias, int8_t *out);
void npu_ref_s8_dwconv5x5(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                          const int32_t *bias, int8_t *out);
/*
 * Raw accumulators, no requantization: out[oy][ox][oc] = bias[oc] +
 * sum (x - in_zp) * w (ONNX ConvInteger; hardware accumulator tests).
 * Uses only the geometry fields and in_zp of p.
 */
void npu_ref_s8_conv2d_acc32(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                             const int32_t *bias, int32_t *out);

/* ---- fully connected -------------------------------------------------- */

struct npu_ref_fc_params {
	int32_t k; /* input elements (NHWC flatten) */
	int32_t out_c;
	int32_t in_zp, out_zp;
	int32_t act_min, act_max;
	const int32_t *mult;  /* [out_c] */
	const int32_t *shift; /* [out_c] */
};

/* Weights [out_c][k]; bias [out_c] or NULL. */
void npu_ref_s8_fc(const struct npu_ref_fc_params *p, const int8_t *in, const int8_t *w,
                   const int32_t *bias, int8_t *out);

/* ---- pooling ----------------------------------------------------------- */

struct npu_ref_pool_params {
	int32_t in_h, in_w, c;
	int32_t out_h, out_w;
	int32_t kh, kw;
	int32_t stride_h, stride_w;
	int32_t pad_t, pad_l;
	int32_t count_include_pad; /* avg: divisor kh*kw (1) or valid count (0) */
	int32_t in_zp, out_zp;     /* avg only; max keeps the quant */
	int32_t act_min, act_max;
	/* avg: [kh*kw], entry count-1 (npu_ref_avgpool_multipliers) */
	const int32_t *mult;
	const int32_t *shift;
};

/* Max over the valid window elements (padding never wins), then clamp. */
void npu_ref_s8_maxpool(const struct npu_ref_pool_params *p, const int8_t *in, int8_t *out);
/* out = clamp(out_zp + mbqm(sum(x - in_zp), M[count]), act). */
void npu_ref_s8_avgpool(const struct npu_ref_pool_params *p, const int8_t *in, int8_t *out);

struct npu_ref_gap_params {
	int32_t h, w, c;
	int32_t in_zp, out_zp;
	int32_t act_min, act_max;
	int32_t mult, shift; /* M = in_scale / (out_scale * h * w) */
};

/* Global average pool [h,w,c] -> [c]. The channel sum saturates to int32
 * (reachable only for h*w > 2^23; no real network comes near). */
void npu_ref_s8_gap(const struct npu_ref_gap_params *p, const int8_t *in, int8_t *out);

/* ---- element-wise ------------------------------------------------------ */

/* TFLite int8 ADD. npu_ref_add_init fills the multipliers. */
#define NPU_REF_ADD_LEFT_SHIFT 20
struct npu_ref_add_params {
	int32_t in0_zp, in1_zp, out_zp;
	int32_t in0_mult, in0_shift;
	int32_t in1_mult, in1_shift;
	int32_t out_mult, out_shift;
	int32_t act_min, act_max;
};

/* Derive the ADD constants from the quants and act. Returns NPU_OK or
 * NPU_ERR_INVALID_ARG (a multiplier out of range, unknown act). */
int npu_ref_add_init(struct npu_ref_add_params *p, const struct npui_quant *q0,
                     const struct npui_quant *q1, const struct npui_quant *qo, int act);
/* n elements; out may alias either input. */
void npu_ref_s8_add(const struct npu_ref_add_params *p, size_t n, const int8_t *in0,
                    const int8_t *in1, int8_t *out);

struct npu_ref_mul_params {
	int32_t in0_zp, in1_zp, out_zp;
	int32_t mult, shift; /* M = s0 * s1 / s_out */
	int32_t act_min, act_max;
};

/* Returns NPU_OK or NPU_ERR_INVALID_ARG. */
int npu_ref_mul_init(struct npu_ref_mul_params *p, const struct npui_quant *q0,
                     const struct npui_quant *q1, const struct npui_quant *qo, int act);
/* Element-wise: in0, in1, out all n elements; out may alias an input. */
void npu_ref_s8_mul(const struct npu_ref_mul_params *p, size_t n, const int8_t *in0,
                    const int8_t *in1, int8_t *out);
/* Channel broadcast: in0 [hw][c] times in1 [c]; out [hw][c] may alias in0. */
void npu_ref_s8_mul_bcast(const struct npu_ref_mul_params *p, size_t hw, int32_t c,
                          const int8_t *in0, const int8_t *in1, int8_t *out);

/* ---- channel plumbing ---------------------------------------------------- */

/* One input of a concat. identity: quants equal, bytes are copied. */
struct npu_ref_concat_input {
	const int8_t *data; /* [hw][c] */
	int32_t c;
	int32_t identity;
	int32_t zp;          /* when !identity: */
	int32_t mult, shift; /* M = s_in / s_out (may exceed 1) */
};

/* out [hw][out_c] with out_c = sum of the inputs' c, in input order. */
void npu_ref_s8_concat(size_t hw, const struct npu_ref_concat_input *ins, uint32_t n, int32_t out_c,
                       int32_t out_zp, int8_t *out);

/* Channel shuffle, per pixel: c = groups*n, out[k*groups + i] = in[i*n + k]. */
void npu_ref_s8_shuffle(size_t hw, int32_t c, int32_t groups, const int8_t *in, int8_t *out);

/* Channel slice, per pixel: out[j] = in[begin + j], j < out_c. */
void npu_ref_s8_split(size_t hw, int32_t in_c, int32_t begin, int32_t out_c, const int8_t *in,
                      int8_t *out);

/* ---- tables ------------------------------------------------------------- */

/*
 * table[q + 128] = clamp(round(f(s_in*(q - zp_in)) / s_out) + zp_out), in
 * double, f = enum npui_lut_fn. Returns NPU_OK or NPU_ERR_INVALID_ARG
 * (unknown fn).
 */
int npu_ref_lut_build(int fn, const struct npui_quant *in, const struct npui_quant *out,
                      int8_t table[256]);
/* out[i] = table[in[i] + 128]; out may alias in. */
void npu_ref_s8_lut(const int8_t table[256], size_t n, const int8_t *in, int8_t *out);

/* ---- squeeze-and-excitation --------------------------------------------- */

/*
 * SE block as one kernel: s = GAP(x); t = FC1(s) with ReLU (act bounds in
 * fc1); u = FC2(t); v = h-sigmoid LUT(u); out = x * v (channel broadcast).
 * Each step requantizes to its own quant (the constants below); the result
 * equals running those five kernels one after another.
 */
struct npu_ref_se_params {
	int32_t h, w, c;
	int32_t mid;                   /* squeeze channels */
	struct npu_ref_gap_params gap; /* [h,w,c] -> [c] */
	struct npu_ref_fc_params fc1;  /* k = c, out_c = mid */
	const int8_t *w1;
	const int32_t *b1;
	struct npu_ref_fc_params fc2; /* k = mid, out_c = c */
	const int8_t *w2;
	const int32_t *b2;
	int8_t hsig[256];              /* npu_ref_lut_build(HSIGMOID) */
	struct npu_ref_mul_params mul; /* x times the gate */
};

/* Scratch bytes npu_ref_s8_se needs: 2*c + mid. */
size_t npu_ref_se_scratch_size(const struct npu_ref_se_params *p);
/* out [h,w,c] may alias in. */
void npu_ref_s8_se(const struct npu_ref_se_params *p, const int8_t *in, int8_t *out,
                   int8_t *scratch);

/* ---- float boundary ------------------------------------------------------- */

/* q = clamp(round_half_away((double)x / scale) + zp, -128, 127); NaN -> zp. */
void npu_ref_f32_quantize(const float *x, size_t n, float scale, int32_t zp, int8_t *q);
/* x = scale * (float)(q - zp). */
void npu_ref_s8_dequantize(const int8_t *q, size_t n, float scale, int32_t zp, float *x);
/* exp(x - max) / sum, sums in double; out may alias x. n == 0 is a no-op. */
void npu_ref_f32_softmax(const float *x, size_t n, float *out);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_REF_H */
