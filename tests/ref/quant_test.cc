// Requantization primitives and the float boundary. Expected values were
// computed with an independent exact-integer model of gemmlowp (Python
// big ints, truncating division) and are repeated in docs/NUMERICS.md.
#include <gtest/gtest.h>

#include <cfloat>
#include <climits>
#include <cmath>
#include <limits>

#include "ref_tester.h"

namespace
{

constexpr int32_t kHalf = 1 << 30; // Q31 0.5
constexpr int32_t kThreeQuarters = 1610612736;

TEST(RefQuant, SrdhmSaturatesOnlyMinTimesMin)
{
	EXPECT_EQ(npui_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
	// (2^31-1)^2 / 2^31 = 2^31 - 2 + tiny: rounds down.
	EXPECT_EQ(npui_srdhm(INT32_MAX, INT32_MAX), 2147483646);
	EXPECT_EQ(npui_srdhm(INT32_MIN, INT32_MAX), -2147483647);
	EXPECT_EQ(npui_srdhm(INT32_MIN, kHalf), -1073741824);
}

TEST(RefQuant, SrdhmTiesGoUp)
{
	// a * 0.5: x.5 results are ties; gemmlowp's nudge rounds them toward
	// +infinity (1.5 -> 2, -1.5 -> -1), not away from zero.
	EXPECT_EQ(npui_srdhm(3, kHalf), 2);
	EXPECT_EQ(npui_srdhm(-3, kHalf), -1);
	EXPECT_EQ(npui_srdhm(5, kHalf), 3);
	EXPECT_EQ(npui_srdhm(-5, kHalf), -2);
	EXPECT_EQ(npui_srdhm(1, kHalf), 1);
	EXPECT_EQ(npui_srdhm(-1, kHalf), 0);
	// 1000 * 0.75 = 750 exactly, either sign.
	EXPECT_EQ(npui_srdhm(1000, kThreeQuarters), 750);
	EXPECT_EQ(npui_srdhm(-1000, kThreeQuarters), -750);
}

TEST(RefQuant, RdivpotTiesAwayFromZero)
{
	EXPECT_EQ(npui_rdivpot(5, 1), 3);   // 2.5
	EXPECT_EQ(npui_rdivpot(-5, 1), -3); // -2.5
	EXPECT_EQ(npui_rdivpot(3, 1), 2);
	EXPECT_EQ(npui_rdivpot(-3, 1), -2);
	EXPECT_EQ(npui_rdivpot(1, 1), 1);
	EXPECT_EQ(npui_rdivpot(-1, 1), -1);
	EXPECT_EQ(npui_rdivpot(6, 2), 2);   // 1.5
	EXPECT_EQ(npui_rdivpot(-6, 2), -2); // -1.5
	EXPECT_EQ(npui_rdivpot(10, 2), 3);  // 2.5
	EXPECT_EQ(npui_rdivpot(-10, 2), -3);
	EXPECT_EQ(npui_rdivpot(7, 2), 2); // 1.75
	EXPECT_EQ(npui_rdivpot(-7, 2), -2);
	EXPECT_EQ(npui_rdivpot(12345, 0), 12345);
}

TEST(RefQuant, RdivpotExtremeExponent)
{
	EXPECT_EQ(npui_rdivpot(INT32_MAX, 31), 1);
	EXPECT_EQ(npui_rdivpot(INT32_MIN, 31), -1);
	EXPECT_EQ(npui_rdivpot(1 << 30, 31), 1);       // 0.5 tie -> 1
	EXPECT_EQ(npui_rdivpot(-(1 << 30), 31), -1);   // -0.5 tie -> -1
	EXPECT_EQ(npui_rdivpot((1 << 30) - 1, 31), 0); // just below the tie
	EXPECT_EQ(npui_rdivpot(-1, 31), 0);
}

TEST(RefQuant, MbqmSaturatingPreShift)
{
	// M = 1 is mult 2^30, shift 1: x*2 saturates before the multiply.
	EXPECT_EQ(npui_mbqm(1 << 30, kHalf, 1), 1 << 30);
	EXPECT_EQ(npui_mbqm(INT32_MAX, kHalf, 1), 1 << 30);
	EXPECT_EQ(npui_mbqm(INT32_MIN, kHalf, 1), -(1 << 30));
	EXPECT_EQ(npui_mbqm(3, kHalf, 1), 3);
	EXPECT_EQ(npui_mbqm(-3, kHalf, 1), -3);
}

TEST(RefQuant, MbqmTwoRoundings)
{
	// M = 0.5 (shift 0): only srdhm rounds, ties up.
	EXPECT_EQ(npui_mbqm(-3, kHalf, 0), -1);
	EXPECT_EQ(npui_mbqm(-1, kHalf, 0), 0);
	// M = 0.25 (shift -1): -0.75 -> srdhm -1.5 -> -1, then -0.5 -> -1.
	EXPECT_EQ(npui_mbqm(-3, kHalf, -1), -1);
	EXPECT_EQ(npui_mbqm(-2, kHalf, -1), -1);
	// M = 0.75 with shift 0: 7 * 0.75 = 5.25.
	EXPECT_EQ(npui_mbqm(7, kThreeQuarters, 0), 5);
	EXPECT_EQ(npui_mbqm(-7, kThreeQuarters, 0), -5);
	// M = 0.075 (0.6 with shift -3): srdhm gives +-60 exactly, then
	// +-60 / 8 = +-7.5 is a tie of rdivpot: away from zero.
	EXPECT_EQ(npui_mbqm(100, 1288490189, -3), 8);
	EXPECT_EQ(npui_mbqm(-100, 1288490189, -3), -8);
}

TEST(RefQuant, MbqmShiftExtremes)
{
	EXPECT_EQ(npui_mbqm(1, kHalf, 30), 536870912);
	EXPECT_EQ(npui_mbqm(1, kThreeQuarters, 30), 805306368);
	EXPECT_EQ(npui_mbqm(INT32_MAX, INT32_MAX, -31), 1);
	EXPECT_EQ(npui_mbqm(1 << 30, kHalf, -31), 0);
	EXPECT_EQ(npui_mbqm(12345, 0, 0), 0); // tiny multiplier encodes as 0
}

struct QmCase {
	double m;
	int32_t mult;
	int shift;
};

TEST(RefQuant, QuantizeMultiplierKnown)
{
	const QmCase cases[] = {
	        {1.0, kHalf, 1},
	        {0.5, kHalf, 0},
	        {0.25, kHalf, -1},
	        {0.75, kThreeQuarters, 0},
	        {1.5, kThreeQuarters, 1},
	        {3.0, kThreeQuarters, 2},
	        {0.1, 1717986918, -3},
	        {0.6, 1288490189, 0},
	        {std::ldexp(1.0, -31), kHalf, -30},
	        {std::ldexp(1.0, -32), kHalf, -31}, // smallest kept
	        {std::ldexp(1.0, -33), 0, 0},       // below: the result is 0
	        {1e-20, 0, 0},
	        {1.0 - std::ldexp(1.0, -40), kHalf, 1}, // rounds up to 2^31: halved
	        {std::ldexp(1.0, 29), kHalf, 30},       // largest power of two
	        {std::nextafter(1.0, 0.0), kHalf, 1},
	};
	for (const auto &c : cases) {
		int32_t mult = -1;
		int shift = -100;
		ASSERT_EQ(npui_quantize_multiplier(c.m, &mult, &shift), NPU_OK) << "m=" << c.m;
		EXPECT_EQ(mult, c.mult) << "m=" << c.m;
		EXPECT_EQ(shift, c.shift) << "m=" << c.m;
	}
}

TEST(RefQuant, QuantizeMultiplierPowersOfTwo)
{
	for (int e = -32; e <= 29; e++) {
		int32_t mult = 0;
		int shift = 0;
		ASSERT_EQ(npui_quantize_multiplier(std::ldexp(1.0, e), &mult, &shift), NPU_OK);
		EXPECT_EQ(mult, kHalf) << "e=" << e;
		EXPECT_EQ(shift, e + 1) << "e=" << e;
	}
}

TEST(RefQuant, QuantizeMultiplierRejects)
{
	const double bad[] = {0.0,
	                      -0.0,
	                      -1.0,
	                      std::ldexp(1.0, 30),
	                      1e300,
	                      std::numeric_limits<double>::infinity(),
	                      std::numeric_limits<double>::quiet_NaN()};
	for (double m : bad) {
		int32_t mult = 77;
		int shift = 77;
		EXPECT_EQ(npui_quantize_multiplier(m, &mult, &shift), NPU_ERR_INVALID_ARG)
		        << "m=" << m;
		EXPECT_EQ(mult, 77) << "written on error, m=" << m;
		EXPECT_EQ(shift, 77);
	}
}

// mbqm(x, q(M)) is within 1 of round(x * M) over random x and M.
TEST(RefQuant, MbqmMatchesRealProduct)
{
	reftest::Rng rng(1234);
	for (int i = 0; i < 20000; i++) {
		const double m = std::exp(rng.Real(std::log(1e-6), std::log(100.0)));
		const int32_t x = rng.Int(-(1 << 20), 1 << 20);
		int32_t mult;
		int shift;
		ASSERT_EQ(npui_quantize_multiplier(m, &mult, &shift), NPU_OK);
		const double want = std::round((double)x * m);
		const int32_t got = npui_mbqm(x, mult, shift);
		ASSERT_LE(std::fabs(got - want), 1.0) << "x=" << x << " m=" << m;
	}
}

TEST(RefQuant, ActBounds)
{
	int32_t lo, hi;
	struct npui_quant q = {0.05f, -10};
	ASSERT_EQ(npu_ref_act_bounds(NPUI_ACT_NONE, &q, &lo, &hi), NPU_OK);
	EXPECT_EQ(lo, -128);
	EXPECT_EQ(hi, 127);
	ASSERT_EQ(npu_ref_act_bounds(NPUI_ACT_RELU, &q, &lo, &hi), NPU_OK);
	EXPECT_EQ(lo, -10);
	EXPECT_EQ(hi, 127);
	// 6 / 0.05 = 120 -> -10 + 120 = 110.
	ASSERT_EQ(npu_ref_act_bounds(NPUI_ACT_RELU6, &q, &lo, &hi), NPU_OK);
	EXPECT_EQ(lo, -10);
	EXPECT_EQ(hi, 110);
	// 6 / 0.0235 = 255.3 -> capped at 127; zp -128 stays the floor.
	q = {0.0235f, -128};
	ASSERT_EQ(npu_ref_act_bounds(NPUI_ACT_RELU6, &q, &lo, &hi), NPU_OK);
	EXPECT_EQ(lo, -128);
	EXPECT_EQ(hi, 127);
	// 6 / 0.048 = 125 exactly in double? 0.048f is 0.0480000004: 124.99999 -> 125.
	q = {0.048f, -128};
	ASSERT_EQ(npu_ref_act_bounds(NPUI_ACT_RELU6, &q, &lo, &hi), NPU_OK);
	EXPECT_EQ(hi, -3);
	// Tiny scale: 6/s is huge, must not overflow.
	q = {1e-30f, 5};
	ASSERT_EQ(npu_ref_act_bounds(NPUI_ACT_RELU6, &q, &lo, &hi), NPU_OK);
	EXPECT_EQ(lo, 5);
	EXPECT_EQ(hi, 127);
	EXPECT_EQ(npu_ref_act_bounds(7, &q, &lo, &hi), NPU_ERR_INVALID_ARG);
}

TEST(RefFloat, QuantizeRoundsHalfAwayAndClamps)
{
	// scale 0.5, zp 3: x/s = 2*x.
	const float x[] = {0.25f,
	                   -0.25f,
	                   0.75f,
	                   -0.75f,
	                   0.2f,
	                   1000.f,
	                   -1000.f,
	                   0.f,
	                   std::numeric_limits<float>::quiet_NaN(),
	                   std::numeric_limits<float>::infinity()};
	// 0.5 -> 1, -0.5 -> -1, 1.5 -> 2, -1.5 -> -2, 0.4 -> 0, then clamps.
	const int8_t want[] = {4, 2, 5, 1, 3, 127, -128, 3, 3, 127};
	int8_t q[10];
	npu_quantize(x, 10, 0.5f, 3, q);
	for (int i = 0; i < 10; i++)
		EXPECT_EQ(q[i], want[i]) << "i=" << i;
}

TEST(RefFloat, DequantizeAndRoundTrip)
{
	int8_t q[256];
	float x[256];
	int8_t back[256];
	for (int i = 0; i < 256; i++)
		q[i] = (int8_t)(i - 128);
	npu_dequantize(q, 256, 0.02f, -7, x);
	EXPECT_FLOAT_EQ(x[0], 0.02f * (-128 + 7));
	EXPECT_FLOAT_EQ(x[255], 0.02f * (127 + 7));
	EXPECT_EQ(x[128 - 7], 0.0f);
	npu_quantize(x, 256, 0.02f, -7, back);
	for (int i = 0; i < 256; i++)
		ASSERT_EQ(back[i], q[i]) << "i=" << i;
}

TEST(RefFloat, Softmax)
{
	const float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};
	float y[4];
	npu_softmax(x, 4, y);
	// e^-3, e^-2, e^-1, 1 over their sum 1.5032147.
	EXPECT_NEAR(y[0], 0.0320586, 1e-6);
	EXPECT_NEAR(y[1], 0.0871443, 1e-6);
	EXPECT_NEAR(y[2], 0.2368828, 1e-6);
	EXPECT_NEAR(y[3], 0.6439143, 1e-6);
	// Large inputs: no overflow thanks to the max subtraction; in place.
	float big[3] = {1000.f, 1000.f, -1000.f};
	npu_softmax(big, 3, big);
	EXPECT_FLOAT_EQ(big[0], 0.5f);
	EXPECT_FLOAT_EQ(big[1], 0.5f);
	EXPECT_EQ(big[2], 0.0f);
	npu_softmax(x, 0, y); // no-op
}

} // namespace
