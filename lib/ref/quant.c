/*
 * Multiplier encoding and derived constants shared by every CPU kernel and
 * by the layer plan. Kept out of line: these run once per model load.
 */
#include <math.h>

#include "npu.h"
#include "ref/quant.h"
#include "ref/ref.h"

double npui_round(double x)
{
	return round(x);
}

int npui_quantize_multiplier(double m, int32_t *mult, int *shift)
{
	double frac;
	long long q;
	int e;

	if (!isfinite(m) || !(m > 0.0))
		return NPU_ERR_INVALID_ARG;
	frac = frexp(m, &e);
	q = llround(frac * 2147483648.0);
	/* frac just below 1 can round up to 2^31, which is not a Q31 value. */
	if (q == (1LL << 31)) {
		q /= 2;
		++e;
	}
	if (e > 30)
		return NPU_ERR_INVALID_ARG;
	if (e < -31) {
		/* Below 2^-32 every int32 product rounds to 0 anyway. */
		q = 0;
		e = 0;
	}
	*mult = (int32_t)q;
	*shift = e;
	return NPU_OK;
}

/* Clamp a double into [lo, hi] before converting, so huge values stay defined. */
static int32_t clamp_to_int(double v, int32_t lo, int32_t hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return (int32_t)v;
}

int npu_ref_act_bounds(int act, const struct npui_quant *out, int32_t *act_min, int32_t *act_max)
{
	int32_t lo = -128, hi = 127;

	switch (act) {
	case NPUI_ACT_NONE:
		break;
	case NPUI_ACT_RELU:
		lo = out->zero_point > -128 ? out->zero_point : -128;
		break;
	case NPUI_ACT_RELU6:
		lo = out->zero_point > -128 ? out->zero_point : -128;
		hi = clamp_to_int(out->zero_point + npui_round(6.0 / (double)out->scale), -128,
		                  127);
		break;
	default:
		return NPU_ERR_INVALID_ARG;
	}
	*act_min = lo;
	*act_max = hi;
	return NPU_OK;
}

int npu_ref_conv_multipliers(float in_scale, const float *w_scale, float out_scale, int32_t n,
                             int32_t *mult, int32_t *shift)
{
	for (int32_t i = 0; i < n; i++) {
		double m = (double)in_scale * (double)w_scale[i] / (double)out_scale;
		int s;
		int rc = npui_quantize_multiplier(m, &mult[i], &s);

		if (rc != NPU_OK)
			return rc;
		shift[i] = s;
	}
	return NPU_OK;
}

int npu_ref_avgpool_multipliers(float in_scale, float out_scale, int32_t max_count, int32_t *mult,
                                int32_t *shift)
{
	for (int32_t i = 0; i < max_count; i++) {
		double m = (double)in_scale / ((double)out_scale * (double)(i + 1));
		int s;
		int rc = npui_quantize_multiplier(m, &mult[i], &s);

		if (rc != NPU_OK)
			return rc;
		shift[i] = s;
	}
	return NPU_OK;
}

int npu_ref_add_init(struct npu_ref_add_params *p, const struct npui_quant *q0,
                     const struct npui_quant *q1, const struct npui_quant *qo, int act)
{
	double s0 = q0->scale, s1 = q1->scale, so = qo->scale;
	double twice_max = 2.0 * (s0 > s1 ? s0 : s1);
	struct npu_ref_add_params r;
	int sh0, sh1, sho;
	int rc;

	rc = npui_quantize_multiplier(s0 / twice_max, &r.in0_mult, &sh0);
	if (rc == NPU_OK)
		rc = npui_quantize_multiplier(s1 / twice_max, &r.in1_mult, &sh1);
	if (rc == NPU_OK)
		rc = npui_quantize_multiplier(twice_max /
		                                      ((double)(1 << NPU_REF_ADD_LEFT_SHIFT) * so),
		                              &r.out_mult, &sho);
	if (rc == NPU_OK)
		rc = npu_ref_act_bounds(act, qo, &r.act_min, &r.act_max);
	if (rc != NPU_OK)
		return rc;
	r.in0_shift = sh0;
	r.in1_shift = sh1;
	r.out_shift = sho;
	r.in0_zp = q0->zero_point;
	r.in1_zp = q1->zero_point;
	r.out_zp = qo->zero_point;
	*p = r;
	return NPU_OK;
}

int npu_ref_mul_init(struct npu_ref_mul_params *p, const struct npui_quant *q0,
                     const struct npui_quant *q1, const struct npui_quant *qo, int act)
{
	struct npu_ref_mul_params r;
	int sh;
	int rc;

	rc = npui_quantize_multiplier((double)q0->scale * (double)q1->scale / (double)qo->scale,
	                              &r.mult, &sh);
	if (rc == NPU_OK)
		rc = npu_ref_act_bounds(act, qo, &r.act_min, &r.act_max);
	if (rc != NPU_OK)
		return rc;
	r.shift = sh;
	r.in0_zp = q0->zero_point;
	r.in1_zp = q1->zero_point;
	r.out_zp = qo->zero_point;
	*p = r;
	return NPU_OK;
}
