/*
 * Element-wise and channel-plumbing kernels: add, mul, concat, shuffle,
 * split, table lookup, and the SE block built from them.
 */
#include <math.h>
#include <string.h>

#include "npu.h"
#include "ref/quant.h"
#include "ref/ref.h"

static inline int8_t clamp8(int64_t v, int32_t lo, int32_t hi)
{
	return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

void npu_ref_s8_add(const struct npu_ref_add_params *p, size_t n, const int8_t *in0,
                    const int8_t *in1, int8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		/* |x - zp| <= 255, so the left shift by 20 cannot overflow. */
		const int32_t x0 = (in0[i] - p->in0_zp) * (1 << NPU_REF_ADD_LEFT_SHIFT);
		const int32_t x1 = (in1[i] - p->in1_zp) * (1 << NPU_REF_ADD_LEFT_SHIFT);
		const int32_t y0 = npui_mbqm(x0, p->in0_mult, p->in0_shift);
		const int32_t y1 = npui_mbqm(x1, p->in1_mult, p->in1_shift);
		/* y0, y1 are at most 2^27 in magnitude (input multipliers <= 1/2). */
		const int32_t r = npui_mbqm(y0 + y1, p->out_mult, p->out_shift);

		out[i] = clamp8((int64_t)r + p->out_zp, p->act_min, p->act_max);
	}
}

static inline int8_t mul_one(const struct npu_ref_mul_params *p, int8_t a, int8_t b)
{
	const int32_t prod = (a - p->in0_zp) * (b - p->in1_zp);

	return clamp8((int64_t)p->out_zp + npui_mbqm(prod, p->mult, p->shift), p->act_min,
	              p->act_max);
}

void npu_ref_s8_mul(const struct npu_ref_mul_params *p, size_t n, const int8_t *in0,
                    const int8_t *in1, int8_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = mul_one(p, in0[i], in1[i]);
}

void npu_ref_s8_mul_bcast(const struct npu_ref_mul_params *p, size_t hw, int32_t c,
                          const int8_t *in0, const int8_t *in1, int8_t *out)
{
	for (size_t px = 0; px < hw; px++)
		for (int32_t ch = 0; ch < c; ch++)
			out[px * c + ch] = mul_one(p, in0[px * c + ch], in1[ch]);
}

void npu_ref_s8_concat(size_t hw, const struct npu_ref_concat_input *ins, uint32_t n, int32_t out_c,
                       int32_t out_zp, int8_t *out)
{
	int32_t off = 0;

	for (uint32_t k = 0; k < n; k++) {
		const struct npu_ref_concat_input *s = &ins[k];

		for (size_t px = 0; px < hw; px++) {
			const int8_t *x = s->data + px * s->c;
			int8_t *o = out + px * out_c + off;

			if (s->identity) {
				memcpy(o, x, (size_t)s->c);
				continue;
			}
			for (int32_t ch = 0; ch < s->c; ch++)
				o[ch] = clamp8((int64_t)out_zp +
				                       npui_mbqm(x[ch] - s->zp, s->mult, s->shift),
				               -128, 127);
		}
		off += s->c;
	}
}

void npu_ref_s8_shuffle(size_t hw, int32_t c, int32_t groups, const int8_t *in, int8_t *out)
{
	const int32_t n = c / groups;

	for (size_t px = 0; px < hw; px++) {
		const int8_t *x = in + px * c;
		int8_t *o = out + px * c;

		for (int32_t i = 0; i < groups; i++)
			for (int32_t k = 0; k < n; k++)
				o[k * groups + i] = x[i * n + k];
	}
}

void npu_ref_s8_split(size_t hw, int32_t in_c, int32_t begin, int32_t out_c, const int8_t *in,
                      int8_t *out)
{
	for (size_t px = 0; px < hw; px++)
		memcpy(out + px * out_c, in + px * in_c + begin, (size_t)out_c);
}

static double relu6(double x)
{
	return x < 0.0 ? 0.0 : (x > 6.0 ? 6.0 : x);
}

int npu_ref_lut_build(int fn, const struct npui_quant *in, const struct npui_quant *out,
                      int8_t table[256])
{
	int8_t t[256];

	for (int q = -128; q <= 127; q++) {
		const double x = (double)in->scale * (double)(q - in->zero_point);
		double y, v;

		switch (fn) {
		case NPUI_LUT_HSWISH:
			y = x * relu6(x + 3.0) / 6.0;
			break;
		case NPUI_LUT_HSIGMOID:
			y = relu6(x + 3.0) / 6.0;
			break;
		case NPUI_LUT_SIGMOID:
			y = 1.0 / (1.0 + exp(-x));
			break;
		case NPUI_LUT_RELU:
			y = x < 0.0 ? 0.0 : x;
			break;
		case NPUI_LUT_RELU6:
			y = relu6(x);
			break;
		default:
			return NPU_ERR_INVALID_ARG;
		}
		v = npui_round(y / (double)out->scale) + out->zero_point;
		t[q + 128] = (int8_t)(v < -128.0 ? -128 : (v > 127.0 ? 127 : v));
	}
	memcpy(table, t, sizeof(t));
	return NPU_OK;
}

void npu_ref_s8_lut(const int8_t table[256], size_t n, const int8_t *in, int8_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = table[in[i] + 128];
}

size_t npu_ref_se_scratch_size(const struct npu_ref_se_params *p)
{
	return 2 * (size_t)p->c + (size_t)p->mid;
}

void npu_ref_s8_se(const struct npu_ref_se_params *p, const int8_t *in, int8_t *out,
                   int8_t *scratch)
{
	int8_t *s = scratch;
	int8_t *t = s + p->c;
	int8_t *u = t + p->mid;

	npu_ref_s8_gap(&p->gap, in, s);
	npu_ref_s8_fc(&p->fc1, s, p->w1, p->b1, t);
	npu_ref_s8_fc(&p->fc2, t, p->w2, p->b2, u);
	npu_ref_s8_lut(p->hsig, (size_t)p->c, u, u);
	npu_ref_s8_mul_bcast(&p->mul, (size_t)p->h * p->w, p->c, in, u, out);
}

void npu_ref_f32_quantize(const float *x, size_t n, float scale, int32_t zp, int8_t *q)
{
	for (size_t i = 0; i < n; i++) {
		const double v = npui_round((double)x[i] / (double)scale) + zp;

		if (isnan(v))
			q[i] = (int8_t)(zp < -128 ? -128 : (zp > 127 ? 127 : zp));
		else
			q[i] = (int8_t)(v < -128.0 ? -128 : (v > 127.0 ? 127 : v));
	}
}

void npu_ref_s8_dequantize(const int8_t *q, size_t n, float scale, int32_t zp, float *x)
{
	for (size_t i = 0; i < n; i++)
		x[i] = scale * (float)(q[i] - zp);
}

void npu_ref_f32_softmax(const float *x, size_t n, float *out)
{
	float mx;
	double sum = 0.0;

	if (n == 0)
		return;
	mx = x[0];
	for (size_t i = 1; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	/* out may alias x: x[i] is read before out[i] is written. */
	for (size_t i = 0; i < n; i++) {
		const double e = exp((double)x[i] - (double)mx);

		out[i] = (float)e;
		sum += e;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (float)((double)out[i] / sum);
}
