// Element-wise and channel kernels: add, mul, concat, shuffle, split, LUT
// activations, and the SE block.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ref_tester.h"

namespace
{

using reftest::Poisoned;
using reftest::Rng;

class AddTester
{
      public:
	AddTester &size(size_t n)
	{
		n_ = n;
		return *this;
	}
	AddTester &scale_ratio(double r)
	{
		ratio_ = r;
		return *this;
	}
	AddTester &act(int a)
	{
		act_ = a;
		return *this;
	}
	AddTester &seed(uint32_t s)
	{
		seed_ = s;
		return *this;
	}
	void Test() const
	{
		Rng rng(seed_);
		const npui_quant q0 = {rng.Scale(0.005, 0.2), rng.Int(-128, 127)};
		const npui_quant q1 = {(float)(q0.scale * ratio_), rng.Int(-128, 127)};
		const npui_quant qo = {(float)(std::max(q0.scale, q1.scale) * rng.Real(0.7, 3.0)),
		                       rng.Int(-60, 60)};
		const auto a = rng.Bytes(n_), b = rng.Bytes(n_);
		npu_ref_add_params p;
		ASSERT_EQ(npu_ref_add_init(&p, &q0, &q1, &qo, act_), NPU_OK);
		int32_t lo, hi;
		reftest::ActBounds(act_, qo.scale, qo.zero_point, &lo, &hi);
		ASSERT_EQ(p.act_min, lo);
		ASSERT_EQ(p.act_max, hi);
		Poisoned out(n_);
		npu_ref_s8_add(&p, n_, a.data(), b.data(), out.data());
		ASSERT_TRUE(out.GuardIntact());
		for (size_t i = 0; i < n_; i++) {
			const int32_t y0 = npui_mbqm((a[i] - q0.zero_point) * (1 << 20), p.in0_mult,
			                             p.in0_shift);
			const int32_t y1 = npui_mbqm((b[i] - q1.zero_point) * (1 << 20), p.in1_mult,
			                             p.in1_shift);
			ASSERT_EQ(out[i], reftest::Requant(y0 + y1, p.out_mult, p.out_shift,
			                                   qo.zero_point, lo, hi))
			        << "i=" << i;
			const double real = (double)q0.scale * (a[i] - q0.zero_point) +
			                    (double)q1.scale * (b[i] - q1.zero_point);
			const int32_t fref =
			        reftest::QuantizeRef(real, qo.scale, qo.zero_point, lo, hi);
			ASSERT_LE(std::abs(fref - out[i]), 1) << "float ref i=" << i;
		}
	}

      private:
	size_t n_ = 100;
	double ratio_ = 1.0;
	int act_ = NPUI_ACT_NONE;
	uint32_t seed_ = 1;
};

TEST(RefAdd, EqualScales)
{
	AddTester().size(1000).scale_ratio(1.0).seed(1).Test();
}

TEST(RefAdd, DifferentScales)
{
	Rng rng(5);
	for (uint32_t i = 0; i < 40; i++) {
		SCOPED_TRACE(i);
		AddTester()
		        .size(rng.Int(1, 777))
		        .scale_ratio(std::exp(rng.Real(std::log(0.1), std::log(10.0))))
		        .act(rng.Int(0, 2))
		        .seed(600 + i)
		        .Test();
	}
}

// s0 = 0.5, s1 = 0.25, s_out = 1, all zp 0: twice_max = 1, m0 = 1/2,
// m1 = 1/4, m_out = 2^-20 (mult 2^30, shift -19).
//   3*0.5 + -2*0.25 = 1.0 -> 1
//   1*0.5 + 0 = 0.5: y0 = 2^19, out = rdivpot(2^18, 19) = 0.5 -> 1 (tie away)
//   -1*0.5 = -0.5 -> -1 (tie away from zero)
//   127*0.5 + 127*0.25 = 95.25 -> 95
TEST(RefAdd, KnownAnswer)
{
	const npui_quant q0 = {0.5f, 0}, q1 = {0.25f, 0}, qo = {1.0f, 0};
	npu_ref_add_params p;
	ASSERT_EQ(npu_ref_add_init(&p, &q0, &q1, &qo, NPUI_ACT_NONE), NPU_OK);
	EXPECT_EQ(p.out_mult, 1 << 30);
	EXPECT_EQ(p.out_shift, -19);
	const int8_t a[4] = {3, 1, -1, 127}, b[4] = {-2, 0, 0, 127};
	const int8_t want[4] = {1, 1, -1, 95};
	int8_t out[4];
	npu_ref_s8_add(&p, 4, a, b, out);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(out[i], want[i]) << "i=" << i;
	// In place, and ReLU: -1 clamps to zp 0.
	int8_t c[4] = {3, 1, -1, 127};
	ASSERT_EQ(npu_ref_add_init(&p, &q0, &q1, &qo, NPUI_ACT_RELU), NPU_OK);
	npu_ref_s8_add(&p, 4, c, b, c);
	EXPECT_EQ(c[2], 0);
	EXPECT_EQ(c[3], 95);
}

TEST(RefMul, RandomBothForms)
{
	Rng rng(8);
	for (uint32_t i = 0; i < 30; i++) {
		const size_t hw = rng.Int(1, 50);
		const int32_t c = rng.Int(1, 70);
		const bool bcast = i % 2 == 0;
		const npui_quant q0 = {rng.Scale(0.01, 0.1), rng.Int(-128, 127)};
		const npui_quant q1 = {rng.Scale(1.0 / 256, 0.1), rng.Int(-128, 127)};
		const npui_quant qo = {(float)(q0.scale * q1.scale * 128 * rng.Real(0.3, 3.0)),
		                       rng.Int(-60, 60)};
		const int act = rng.Int(0, 2);
		const auto a = rng.Bytes(hw * c), b = rng.Bytes(bcast ? c : hw * c);
		npu_ref_mul_params p;
		ASSERT_EQ(npu_ref_mul_init(&p, &q0, &q1, &qo, act), NPU_OK);
		Poisoned out(hw * c);
		if (bcast)
			npu_ref_s8_mul_bcast(&p, hw, c, a.data(), b.data(), out.data());
		else
			npu_ref_s8_mul(&p, hw * c, a.data(), b.data(), out.data());
		ASSERT_TRUE(out.GuardIntact());
		for (size_t px = 0; px < hw; px++)
			for (int32_t ch = 0; ch < c; ch++) {
				const size_t idx = px * c + ch;
				const int32_t bv = b[bcast ? ch : idx];
				const int32_t prod =
				        (a[idx] - q0.zero_point) * (bv - q1.zero_point);
				ASSERT_EQ(out[idx],
				          reftest::Requant(prod, p.mult, p.shift, qo.zero_point,
				                           p.act_min, p.act_max))
				        << "i=" << i << " idx=" << idx;
				const double real = (double)q0.scale * q1.scale * prod;
				ASSERT_LE(
				        std::abs(reftest::QuantizeRef(real, qo.scale, qo.zero_point,
				                                      p.act_min, p.act_max) -
				                 out[idx]),
				        1)
				        << "float ref i=" << i << " idx=" << idx;
			}
	}
}

// s0 = s1 = 0.5, s_out = 0.25: M = 1. zp0 = 1, zp1 = -1, zp_out = 10.
// a = 4, b = 2: (3)(3) = 9 -> 19. a = -5, b = 2: (-6)(3) = -18 -> -8.
// Broadcast pixel 2 reuses b per channel.
TEST(RefMul, KnownAnswer)
{
	const npui_quant q0 = {0.5f, 1}, q1 = {0.5f, -1}, qo = {0.25f, 10};
	npu_ref_mul_params p;
	ASSERT_EQ(npu_ref_mul_init(&p, &q0, &q1, &qo, NPUI_ACT_NONE), NPU_OK);
	const int8_t a[4] = {4, -5, 1, 2}, b[2] = {2, 2};
	int8_t out[4];
	npu_ref_s8_mul_bcast(&p, 2, 2, a, b, out);
	EXPECT_EQ(out[0], 19);
	EXPECT_EQ(out[1], -8);
	EXPECT_EQ(out[2], 10); // (0)(3) = 0 -> zp
	EXPECT_EQ(out[3], 13); // (1)(3) = 3
}

TEST(RefConcat, RandomMixedQuants)
{
	Rng rng(13);
	for (uint32_t i = 0; i < 20; i++) {
		const size_t hw = rng.Int(1, 40);
		const uint32_t n = rng.Int(1, 8);
		const npui_quant qo = {rng.Scale(0.01, 0.1), rng.Int(-128, 127)};
		std::vector<std::vector<int8_t>> data(n);
		std::vector<npu_ref_concat_input> ins(n);
		std::vector<npui_quant> qs(n);
		int32_t out_c = 0;
		for (uint32_t k = 0; k < n; k++) {
			const int32_t c = rng.Int(1, 37);
			data[k] = rng.Bytes(hw * c);
			qs[k] = rng.Int(0, 2) == 0
			                ? qo
			                : npui_quant{(float)(qo.scale * rng.Real(0.2, 5.0)),
			                             rng.Int(-128, 127)};
			npu_ref_concat_input &in = ins[k];
			in.data = data[k].data();
			in.c = c;
			in.identity = qs[k].scale == qo.scale && qs[k].zero_point == qo.zero_point;
			in.zp = qs[k].zero_point;
			int sh = 0;
			in.mult = 0;
			if (!in.identity) {
				ASSERT_EQ(npui_quantize_multiplier((double)qs[k].scale / qo.scale,
				                                   &in.mult, &sh),
				          NPU_OK);
			}
			in.shift = sh;
			out_c += c;
		}
		Poisoned out(hw * out_c);
		npu_ref_s8_concat(hw, ins.data(), n, out_c, qo.zero_point, out.data());
		ASSERT_TRUE(out.GuardIntact());
		for (size_t px = 0; px < hw; px++) {
			int32_t off = 0;
			for (uint32_t k = 0; k < n; k++) {
				for (int32_t ch = 0; ch < ins[k].c; ch++) {
					const int32_t x = data[k][px * ins[k].c + ch];
					const size_t idx = px * out_c + off + ch;
					int32_t want = x;
					if (!ins[k].identity)
						want = reftest::Requant(x - ins[k].zp, ins[k].mult,
						                        ins[k].shift, qo.zero_point,
						                        -128, 127);
					ASSERT_EQ(out[idx], want) << "i=" << i << " px=" << px
					                          << " k=" << k << " c=" << ch;
					const int32_t fref = reftest::QuantizeRef(
					        (double)qs[k].scale * (x - qs[k].zero_point),
					        qo.scale, qo.zero_point);
					ASSERT_LE(std::abs(fref - out[idx]), 1);
				}
				off += ins[k].c;
			}
		}
	}
}

// Input 0 identical quant (copied); input 1 scale 2x the output's (M = 2,
// mult 2^30 shift 2), zp 5, out zp -3: 20 -> 2*15 - 3 = 27; 100 -> 187 -> 127.
TEST(RefConcat, KnownAnswer)
{
	const int8_t a[2] = {-7, 9}; // 1 pixel, 2 channels
	const int8_t b[2] = {20, 100};
	npu_ref_concat_input ins[2] = {{a, 2, 1, 0, 0, 0}, {b, 2, 0, 5, 0, 0}};
	int sh;
	ASSERT_EQ(npui_quantize_multiplier(2.0, &ins[1].mult, &sh), NPU_OK);
	ins[1].shift = sh;
	EXPECT_EQ(ins[1].mult, 1 << 30);
	EXPECT_EQ(sh, 2);
	Poisoned out(4);
	npu_ref_s8_concat(1, ins, 2, 4, -3, out.data());
	EXPECT_EQ(out[0], -7);
	EXPECT_EQ(out[1], 9);
	EXPECT_EQ(out[2], 27);
	EXPECT_EQ(out[3], 127);
	EXPECT_TRUE(out.GuardIntact());
}

TEST(RefShuffle, KnownAnswer)
{
	const int8_t in[12] = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}; // 2 pixels, C 6
	int8_t out[12];
	npu_ref_s8_shuffle(2, 6, 2, in, out); // [g=2][n=3] -> [3][2]
	const int8_t want2[12] = {0, 3, 1, 4, 2, 5, 10, 13, 11, 14, 12, 15};
	for (int i = 0; i < 12; i++)
		EXPECT_EQ(out[i], want2[i]) << "g=2 i=" << i;
	npu_ref_s8_shuffle(2, 6, 3, in, out); // [g=3][n=2] -> [2][3]
	const int8_t want3[12] = {0, 2, 4, 1, 3, 5, 10, 12, 14, 11, 13, 15};
	for (int i = 0; i < 12; i++)
		EXPECT_EQ(out[i], want3[i]) << "g=3 i=" << i;
}

TEST(RefShuffle, RandomIsAPermutationInvertedByTranspose)
{
	Rng rng(17);
	for (uint32_t i = 0; i < 20; i++) {
		const int32_t g = rng.Int(1, 8), n = rng.Int(1, 30);
		const size_t hw = rng.Int(1, 20);
		const auto in = rng.Bytes(hw * g * n);
		Poisoned mid(hw * g * n), back(hw * g * n);
		npu_ref_s8_shuffle(hw, g * n, g, in.data(), mid.data());
		// Shuffling [g][n] then [n][g] (groups = n) restores the input.
		npu_ref_s8_shuffle(hw, g * n, n, mid.data(), back.data());
		ASSERT_TRUE(mid.GuardIntact());
		for (size_t px = 0; px < hw; px++)
			for (int32_t gi = 0; gi < g; gi++)
				for (int32_t k = 0; k < n; k++)
					ASSERT_EQ(mid[px * g * n + k * g + gi],
					          in[px * g * n + gi * n + k])
					        << "px=" << px << " i=" << gi << " k=" << k;
		for (size_t j = 0; j < hw * g * n; j++)
			ASSERT_EQ(back[j], in[j]) << "j=" << j;
	}
}

TEST(RefSplit, KnownAnswer)
{
	const int8_t in[10] = {0, 1, 2, 3, 4, 10, 11, 12, 13, 14}; // 2 pixels, C 5
	Poisoned out(4);
	npu_ref_s8_split(2, 5, 2, 2, in, out.data());
	EXPECT_EQ(out[0], 2);
	EXPECT_EQ(out[1], 3);
	EXPECT_EQ(out[2], 12);
	EXPECT_EQ(out[3], 13);
	EXPECT_TRUE(out.GuardIntact());
}

struct LutCase {
	int fn;
	int q;
	int want;
};

// s_in 0.125 zp 0 (x = q/8); every value below is a binary fraction, so
// the ties are real ties in double too.
TEST(RefLut, KnownAnswers)
{
	const npui_quant in = {0.125f, 0};
	// h-swish to s_out 0.25, zp -20.
	const npui_quant hs_out = {0.25f, -20};
	const LutCase hs[] = {
	        {NPUI_LUT_HSWISH, -12, -22}, // x -1.5: -0.375 -> -1.5 -> -2 (tie away)
	        {NPUI_LUT_HSWISH, 12, -15},  // x 1.5: 1.125 -> 4.5 -> 5 (tie away)
	        {NPUI_LUT_HSWISH, 24, -8},   // x 3: 3 -> 12
	        {NPUI_LUT_HSWISH, -24, -20}, // x -3: 0
	        {NPUI_LUT_HSWISH, -128, -20},
	        {NPUI_LUT_HSWISH, 4, -19},  // x 0.5: 0.2917 -> 1.167 -> 1
	        {NPUI_LUT_HSWISH, 127, 44}, // x 15.875 -> 63.5 -> 64
	};
	int8_t t[256];
	ASSERT_EQ(npu_ref_lut_build(NPUI_LUT_HSWISH, &in, &hs_out, t), NPU_OK);
	for (const auto &c : hs)
		EXPECT_EQ(t[c.q + 128], c.want) << "hswish q=" << c.q;
	// Sigmoid and h-sigmoid to the usual [0,1) quant: s 1/256, zp -128.
	const npui_quant unit = {1.0f / 256, -128};
	ASSERT_EQ(npu_ref_lut_build(NPUI_LUT_SIGMOID, &in, &unit, t), NPU_OK);
	EXPECT_EQ(t[0 + 128], 0);       // 0.5 -> 128 - 128
	EXPECT_EQ(t[-128 + 128], -128); // ~1e-7
	EXPECT_EQ(t[127 + 128], 127);   // ~1 -> 256 - 128 = 128, clamped
	EXPECT_EQ(t[8 + 128], 59);      // sigmoid(1) = 0.731059 -> 187.15 -> 187
	ASSERT_EQ(npu_ref_lut_build(NPUI_LUT_HSIGMOID, &in, &unit, t), NPU_OK);
	EXPECT_EQ(t[0 + 128], 0);
	EXPECT_EQ(t[24 + 128], 127);  // 1.0 -> 256 -> clamped
	EXPECT_EQ(t[-12 + 128], -64); // 0.25 -> 64
	EXPECT_EQ(t[-30 + 128], -128);
	// ReLU6 to s 0.125 zp 0; ReLU to s 0.25 zp -128.
	ASSERT_EQ(npu_ref_lut_build(NPUI_LUT_RELU6, &in, &in, t), NPU_OK);
	EXPECT_EQ(t[60 + 128], 48);
	EXPECT_EQ(t[-5 + 128], 0);
	EXPECT_EQ(t[20 + 128], 20);
	const npui_quant r_out = {0.25f, -128};
	ASSERT_EQ(npu_ref_lut_build(NPUI_LUT_RELU, &in, &r_out, t), NPU_OK);
	EXPECT_EQ(t[-5 + 128], -128);
	EXPECT_EQ(t[6 + 128], -125); // 0.75 -> 3
	EXPECT_EQ(t[2 + 128], -127); // 0.25 -> 1.0
	EXPECT_EQ(t[1 + 128], -127); // 0.125 -> 0.5 -> 1 (tie away)
	EXPECT_EQ(npu_ref_lut_build(99, &in, &in, t), NPU_ERR_INVALID_ARG);
}

double LutFn(int fn, double x)
{
	const auto relu6 = [](double v) { return std::min(6.0, std::max(0.0, v)); };
	switch (fn) {
	case NPUI_LUT_HSWISH:
		return x * relu6(x + 3) / 6;
	case NPUI_LUT_HSIGMOID:
		return relu6(x + 3) / 6;
	case NPUI_LUT_SIGMOID:
		return 1 / (1 + std::exp(-x));
	case NPUI_LUT_RELU:
		return std::max(0.0, x);
	default:
		return relu6(x);
	}
}

TEST(RefLut, RandomQuantsAndApply)
{
	Rng rng(19);
	for (uint32_t i = 0; i < 50; i++) {
		const int fn = rng.Int(NPUI_LUT_HSWISH, NPUI_LUT_RELU6);
		const npui_quant in = {rng.Scale(0.01, 0.2), rng.Int(-128, 127)};
		const npui_quant out = {rng.Scale(0.005, 0.1), rng.Int(-128, 127)};
		int8_t t[256];
		ASSERT_EQ(npu_ref_lut_build(fn, &in, &out, t), NPU_OK);
		for (int q = -128; q <= 127; q++) {
			const double y = LutFn(fn, (double)in.scale * (q - in.zero_point));
			ASSERT_EQ(t[q + 128], reftest::QuantizeRef(y, out.scale, out.zero_point))
			        << "fn=" << fn << " q=" << q;
		}
		const auto x = rng.Bytes(300);
		Poisoned y(300);
		npu_ref_s8_lut(t, 300, x.data(), y.data());
		ASSERT_TRUE(y.GuardIntact());
		for (size_t j = 0; j < 300; j++)
			ASSERT_EQ(y[j], t[x[j] + 128]) << "j=" << j;
	}
}

TEST(RefSe, MatchesStepByStep)
{
	Rng rng(23);
	for (uint32_t i = 0; i < 10; i++) {
		const int32_t h = rng.Int(1, 9), w = rng.Int(1, 9), c = rng.Int(1, 60);
		const int32_t mid = rng.Int(1, 20);
		const npui_quant qx = {rng.Scale(0.01, 0.1), rng.Int(-128, 127)};
		const npui_quant qs = {(float)(qx.scale * rng.Real(0.5, 1.5)), rng.Int(-20, 20)};
		const npui_quant qt = {rng.Scale(0.01, 0.1), -128};
		const npui_quant qu = {rng.Scale(0.02, 0.1), rng.Int(-20, 20)};
		const npui_quant qv = {1.0f / 256, -128};
		const npui_quant qo = {(float)(qx.scale * rng.Real(0.5, 1.5)), rng.Int(-20, 20)};
		npu_ref_se_params p = {};
		p.h = h;
		p.w = w;
		p.c = c;
		p.mid = mid;
		p.gap = {h, w, c, qx.zero_point, qs.zero_point, -128, 127, 0, 0};
		int sh;
		ASSERT_EQ(npui_quantize_multiplier((double)qx.scale / ((double)qs.scale * h * w),
		                                   &p.gap.mult, &sh),
		          NPU_OK);
		p.gap.shift = sh;
		const auto w1 = rng.Bytes((size_t)mid * c, -127, 127);
		const auto w2 = rng.Bytes((size_t)c * mid, -127, 127);
		std::vector<int32_t> b1(mid), b2(c);
		for (auto &b : b1)
			b = rng.Int(-2000, 2000);
		for (auto &b : b2)
			b = rng.Int(-2000, 2000);
		std::vector<float> ws1(mid), ws2(c);
		for (auto &s : ws1)
			s = (float)(qt.scale * 40 / (qs.scale * 73 * 73 * std::sqrt(c)));
		for (auto &s : ws2)
			s = (float)(qu.scale * 40 / (qt.scale * 73 * 73 * std::sqrt(mid)));
		std::vector<int32_t> m1(mid), s1(mid), m2(c), s2(c);
		ASSERT_EQ(npu_ref_conv_multipliers(qs.scale, ws1.data(), qt.scale, mid, m1.data(),
		                                   s1.data()),
		          NPU_OK);
		ASSERT_EQ(npu_ref_conv_multipliers(qt.scale, ws2.data(), qu.scale, c, m2.data(),
		                                   s2.data()),
		          NPU_OK);
		p.fc1 = {c,   mid,       qs.zero_point, qt.zero_point, qt.zero_point,
		         127, m1.data(), s1.data()};
		p.w1 = w1.data();
		p.b1 = b1.data();
		p.fc2 = {mid, c, qt.zero_point, qu.zero_point, -128, 127, m2.data(), s2.data()};
		p.w2 = w2.data();
		p.b2 = b2.data();
		ASSERT_EQ(npu_ref_lut_build(NPUI_LUT_HSIGMOID, &qu, &qv, p.hsig), NPU_OK);
		ASSERT_EQ(npu_ref_mul_init(&p.mul, &qx, &qv, &qo, NPUI_ACT_NONE), NPU_OK);

		const auto x = rng.Bytes((size_t)h * w * c);
		std::vector<int8_t> scratch(npu_ref_se_scratch_size(&p));
		ASSERT_EQ(scratch.size(), 2 * (size_t)c + mid);
		Poisoned out((size_t)h * w * c);
		npu_ref_s8_se(&p, x.data(), out.data(), scratch.data());
		ASSERT_TRUE(out.GuardIntact());

		// Step by step with naive loops.
		std::vector<int32_t> s(c), t(mid), v(c);
		for (int32_t ch = 0; ch < c; ch++) {
			int32_t acc = 0;
			for (int32_t px = 0; px < h * w; px++)
				acc += x[(size_t)px * c + ch] - qx.zero_point;
			s[ch] = reftest::Requant(acc, p.gap.mult, p.gap.shift, qs.zero_point, -128,
			                         127);
		}
		for (int32_t o = 0; o < mid; o++) {
			int32_t acc = b1[o];
			for (int32_t k = 0; k < c; k++)
				acc += (s[k] - qs.zero_point) * w1[(size_t)o * c + k];
			t[o] = reftest::Requant(acc, m1[o], s1[o], qt.zero_point, qt.zero_point,
			                        127);
		}
		for (int32_t o = 0; o < c; o++) {
			int32_t acc = b2[o];
			for (int32_t k = 0; k < mid; k++)
				acc += (t[k] - qt.zero_point) * w2[(size_t)o * mid + k];
			const int32_t u =
			        reftest::Requant(acc, m2[o], s2[o], qu.zero_point, -128, 127);
			v[o] = reftest::QuantizeRef(
			        LutFn(NPUI_LUT_HSIGMOID, (double)qu.scale * (u - qu.zero_point)),
			        qv.scale, qv.zero_point);
		}
		for (int32_t px = 0; px < h * w; px++)
			for (int32_t ch = 0; ch < c; ch++) {
				const size_t idx = (size_t)px * c + ch;
				const int32_t prod =
				        (x[idx] - qx.zero_point) * (v[ch] - qv.zero_point);
				ASSERT_EQ(out[idx], reftest::Requant(prod, p.mul.mult, p.mul.shift,
				                                     qo.zero_point, -128, 127))
				        << "i=" << i << " px=" << px << " c=" << ch;
			}
		// In place gives the same bytes.
		std::vector<int8_t> inplace = x;
		npu_ref_s8_se(&p, inplace.data(), inplace.data(), scratch.data());
		for (size_t j = 0; j < inplace.size(); j++)
			ASSERT_EQ(inplace[j], out[j]) << "in place j=" << j;
	}
}

} // namespace
