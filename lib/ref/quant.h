/*
 * Fixed-point requantization primitives, bit-exact with gemmlowp / TFLite
 * (reference kernels, non-single-rounding). Every engine of lwnpu (RTL,
 * CPU) computes exactly these; docs/NUMERICS.md has worked examples.
 *
 * Real multiplier M > 0 is encoded as M ~= mult * 2^(shift - 31) with
 * mult in [2^30, 2^31) (or mult == 0 for M below 2^-32).
 */
#ifndef NPUI_QUANT_H
#define NPUI_QUANT_H

#include <assert.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * SaturatingRoundingDoublingHighMul: round(a * b / 2^31), ties away from
 * zero; the single overflow case INT32_MIN * INT32_MIN gives INT32_MAX.
 */
static inline int32_t npui_srdhm(int32_t a, int32_t b)
{
	int64_t ab;
	int64_t nudge;

	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	ab = (int64_t)a * (int64_t)b;
	nudge = ab >= 0 ? (INT64_C(1) << 30) : 1 - (INT64_C(1) << 30);
	/* C division truncates toward zero, as gemmlowp relies on. */
	return (int32_t)((ab + nudge) / (INT64_C(1) << 31));
}

/*
 * RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from
 * zero. exponent in 0..31.
 */
static inline int32_t npui_rdivpot(int32_t x, int exponent)
{
	int32_t mask, remainder, threshold;

	assert(exponent >= 0 && exponent <= 31);
	mask = (int32_t)((INT64_C(1) << exponent) - 1);
	remainder = x & mask;
	threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	/* >> of a negative int32 is arithmetic on every compiler we target. */
	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* Saturate an int64 to int32. */
static inline int32_t npui_sat32(int64_t v)
{
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN)
		return INT32_MIN;
	return (int32_t)v;
}

/*
 * MultiplyByQuantizedMultiplier: x * mult * 2^(shift - 31), rounded. A
 * positive shift is applied first as a left shift that SATURATES to int32
 * (TFLite leaves that overflow undefined); a negative one is a rounding
 * right shift after the high multiply. shift in -31..30.
 */
static inline int32_t npui_mbqm(int32_t x, int32_t mult, int shift)
{
	int left = shift > 0 ? shift : 0;
	int right = shift > 0 ? 0 : -shift;

	assert(shift >= -31 && shift <= 30);
	return npui_rdivpot(npui_srdhm(npui_sat32((int64_t)x * (INT64_C(1) << left)), mult), right);
}

/* Clamp an int32 to [lo, hi]. */
static inline int32_t npui_clamp(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/*
 * Encode a real multiplier m (finite, > 0): frexp(m) = f * 2^e, mult =
 * llround(f * 2^31) (if that rounds up to 2^31: halve it, ++e), shift = e.
 * e < -31: mult = 0, shift = 0 (every product rounds to 0).
 * Returns NPU_OK, or NPU_ERR_INVALID_ARG for m not finite, m <= 0, or
 * e > 30 (m >= 2^30). Outputs are written only on NPU_OK.
 */
int npui_quantize_multiplier(double m, int32_t *mult, int *shift);

/* Round half away from zero, for every float -> int conversion (C round). */
double npui_round(double x);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_QUANT_H */
