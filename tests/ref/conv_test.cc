// Convolution and fully-connected kernels: randomized shapes against an
// exact integer model and a float model (within 1 LSB), fast paths
// bit-identical to the generic kernel, and hand-computed known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ref_tester.h"

namespace
{

using reftest::Poisoned;
using reftest::Rng;

enum class Variant { kDispatch, kGeneric, k1x1, kDw, kDw3x3, kDw5x5 };

const char *VariantName(Variant v)
{
	switch (v) {
	case Variant::kDispatch:
		return "dispatch";
	case Variant::kGeneric:
		return "generic";
	case Variant::k1x1:
		return "1x1";
	case Variant::kDw:
		return "dw";
	case Variant::kDw3x3:
		return "dw3x3";
	case Variant::kDw5x5:
		return "dw5x5";
	}
	return "?";
}

class ConvTester
{
      public:
	ConvTester &input(int32_t h, int32_t w, int32_t c)
	{
		h_ = h;
		w_ = w;
		c_ = c;
		return *this;
	}
	ConvTester &output_channels(int32_t oc)
	{
		oc_ = oc;
		return *this;
	}
	ConvTester &kernel(int32_t kh, int32_t kw)
	{
		kh_ = kh;
		kw_ = kw;
		return *this;
	}
	ConvTester &stride(int32_t sh, int32_t sw)
	{
		sh_ = sh;
		sw_ = sw;
		return *this;
	}
	ConvTester &pad(int32_t t, int32_t l, int32_t b, int32_t r)
	{
		pt_ = t;
		pl_ = l;
		pb_ = b;
		pr_ = r;
		return *this;
	}
	ConvTester &groups(int32_t g)
	{
		groups_ = g;
		return *this;
	}
	ConvTester &act(int a)
	{
		act_ = a;
		return *this;
	}
	ConvTester &seed(uint32_t s)
	{
		seed_ = s;
		return *this;
	}
	int32_t out_h() const
	{
		return (h_ + pt_ + pb_ - kh_) / sh_ + 1;
	}
	int32_t out_w() const
	{
		return (w_ + pl_ + pr_ - kw_) / sw_ + 1;
	}

	void Test(Variant v) const
	{
		Rng rng(seed_);
		const int32_t cin_g = c_ / groups_, cout_g = oc_ / groups_;
		const int32_t k = kh_ * kw_ * cin_g;
		const int32_t oh = out_h(), ow = out_w();
		const float s_in = rng.Scale(0.002, 0.2);
		const int32_t zp_in = rng.Int(-128, 127);
		const int32_t zp_out = rng.Int(-100, 100);
		std::vector<float> ws(oc_);
		for (auto &s : ws)
			s = rng.Scale(0.001, 0.05);
		// Typical |acc| is ~ 74 * 73 * sqrt(k); aim it at ~40 output LSBs,
		// with a random factor so some outputs saturate.
		const double typ = 74.0 * 73.0 * std::sqrt((double)k) * s_in * ws[0];
		const float s_out = (float)(typ / 40.0 * rng.Real(0.3, 3.0));
		const auto in = rng.Bytes((size_t)h_ * w_ * c_);
		const auto wt = rng.Bytes((size_t)oc_ * k, -127, 127);
		std::vector<int32_t> bias(oc_);
		for (auto &b : bias)
			b = rng.Int(-20 * k - 1000, 20 * k + 1000);

		std::vector<int32_t> mult(oc_), shift(oc_);
		ASSERT_EQ(npu_ref_conv_multipliers(s_in, ws.data(), s_out, oc_, mult.data(),
		                                   shift.data()),
		          NPU_OK);
		int32_t lo, hi;
		reftest::ActBounds(act_, s_out, zp_out, &lo, &hi);

		npu_ref_conv_params p = {};
		p.in_h = h_;
		p.in_w = w_;
		p.in_c = c_;
		p.out_h = oh;
		p.out_w = ow;
		p.out_c = oc_;
		p.kh = kh_;
		p.kw = kw_;
		p.stride_h = sh_;
		p.stride_w = sw_;
		p.pad_t = pt_;
		p.pad_l = pl_;
		p.groups = groups_;
		p.in_zp = zp_in;
		p.out_zp = zp_out;
		p.act_min = lo;
		p.act_max = hi;
		p.mult = mult.data();
		p.shift = shift.data();

		const size_t n_out = (size_t)oh * ow * oc_;
		Poisoned out(n_out);
		switch (v) {
		case Variant::kDispatch:
			npu_ref_s8_conv2d(&p, in.data(), wt.data(), bias.data(), out.data());
			break;
		case Variant::kGeneric:
			npu_ref_s8_conv2d_generic(&p, in.data(), wt.data(), bias.data(),
			                          out.data());
			break;
		case Variant::k1x1:
			npu_ref_s8_conv2d_1x1(&p, in.data(), wt.data(), bias.data(), out.data());
			break;
		case Variant::kDw:
			npu_ref_s8_dwconv(&p, in.data(), wt.data(), bias.data(), out.data());
			break;
		case Variant::kDw3x3:
			npu_ref_s8_dwconv3x3(&p, in.data(), wt.data(), bias.data(), out.data());
			break;
		case Variant::kDw5x5:
			npu_ref_s8_dwconv5x5(&p, in.data(), wt.data(), bias.data(), out.data());
			break;
		}
		ASSERT_TRUE(out.GuardIntact());

		// Generic and the raw accumulators, for the bit-identity check.
		Poisoned gen(n_out);
		npu_ref_s8_conv2d_generic(&p, in.data(), wt.data(), bias.data(), gen.data());
		std::vector<int32_t> acc32(n_out + 16, 0x5a5a5a5a);
		npu_ref_s8_conv2d_acc32(&p, in.data(), wt.data(), bias.data(), acc32.data());
		ASSERT_EQ(acc32[n_out], 0x5a5a5a5a) << "acc32 wrote past the end";

		for (int32_t oy = 0; oy < oh; oy++) {
			for (int32_t ox = 0; ox < ow; ox++) {
				for (int32_t oc = 0; oc < oc_; oc++) {
					const int32_t g = oc / cout_g;
					int64_t acc = bias[oc];
					for (int32_t ky = 0; ky < kh_; ky++) {
						for (int32_t kx = 0; kx < kw_; kx++) {
							const int32_t iy = oy * sh_ - pt_ + ky;
							const int32_t ix = ox * sw_ - pl_ + kx;
							for (int32_t ic = 0; ic < cin_g; ic++) {
								// Padding reads the zero point.
								int32_t x = zp_in;
								if (iy >= 0 && iy < h_ && ix >= 0 &&
								    ix < w_)
									x = in[((size_t)iy * w_ +
									        ix) * c_ +
									       g * cin_g + ic];
								acc += (int64_t)(x - zp_in) *
								       wt[(((size_t)oc * kh_ + ky) *
								                   kw_ +
								           kx) * cin_g +
								          ic];
							}
						}
					}
					const size_t idx = ((size_t)oy * ow + ox) * oc_ + oc;
					ASSERT_EQ(acc32[idx], acc) << "acc32 oy=" << oy
					                           << " ox=" << ox << " oc=" << oc;
					const int32_t want = reftest::Requant(
					        (int32_t)acc, mult[oc], shift[oc], zp_out, lo, hi);
					ASSERT_EQ(out[idx], want)
					        << VariantName(v) << " idx=" << idx << " oy=" << oy
					        << " ox=" << ox << " oc=" << oc;
					ASSERT_EQ(gen[idx], out[idx])
					        << "not bit-identical to generic, idx=" << idx;
					const double real = (double)acc * s_in * ws[oc];
					const int32_t fref =
					        reftest::QuantizeRef(real, s_out, zp_out, lo, hi);
					ASSERT_LE(std::abs(fref - out[idx]), 1)
					        << "float ref, idx=" << idx << " real=" << real;
				}
			}
		}
	}

      private:
	int32_t h_ = 5, w_ = 5, c_ = 3, oc_ = 4;
	int32_t kh_ = 3, kw_ = 3, sh_ = 1, sw_ = 1;
	int32_t pt_ = 0, pl_ = 0, pb_ = 0, pr_ = 0;
	int32_t groups_ = 1;
	int act_ = NPUI_ACT_NONE;
	uint32_t seed_ = 1;
};

TEST(RefConv, Generic3x3Basic)
{
	ConvTester().input(7, 6, 5).output_channels(7).kernel(3, 3).Test(Variant::kGeneric);
}

TEST(RefConv, GenericRandomShapes)
{
	Rng rng(42);
	for (uint32_t i = 0; i < 60; i++) {
		const int32_t groups = std::vector<int32_t>{1, 2, 3, 4, 8}[rng.Int(0, 4)];
		const int32_t k = rng.Int(1, 5);
		const int32_t kw = rng.Int(1, 5);
		const int32_t s = rng.Int(1, 2);
		ConvTester t;
		t.input(rng.Int(k, 11), rng.Int(kw, 11), groups * rng.Int(1, 7))
		        .output_channels(groups * rng.Int(1, 5))
		        .kernel(k, kw)
		        .stride(s, rng.Int(1, 3))
		        .pad(rng.Int(0, k - 1), rng.Int(0, kw - 1), rng.Int(0, k - 1),
		             rng.Int(0, kw - 1))
		        .groups(groups)
		        .act(rng.Int(0, 2))
		        .seed(1000 + i);
		SCOPED_TRACE(i);
		t.Test(Variant::kDispatch);
		t.Test(Variant::kGeneric);
	}
}

TEST(RefConv, Pointwise1x1MatchesGeneric)
{
	Rng rng(7);
	for (uint32_t i = 0; i < 30; i++) {
		const int32_t groups = std::vector<int32_t>{1, 1, 2, 3, 4, 8}[rng.Int(0, 5)];
		ConvTester t;
		t.input(rng.Int(1, 13), rng.Int(1, 13), groups * rng.Int(1, 40))
		        .output_channels(groups * rng.Int(1, 21))
		        .kernel(1, 1)
		        .groups(groups)
		        .act(rng.Int(0, 2))
		        .seed(2000 + i);
		SCOPED_TRACE(i);
		t.Test(Variant::k1x1);
		t.Test(Variant::kDispatch);
	}
}

TEST(RefConv, Pointwise1x1LargeK)
{
	// Cin 300 exercises the 16-wide dot chunks plus a remainder of 12.
	ConvTester().input(9, 8, 300).output_channels(19).kernel(1, 1).seed(5).Test(Variant::k1x1);
}

TEST(RefConv, Depthwise3x3)
{
	Rng rng(9);
	for (uint32_t i = 0; i < 24; i++) {
		const int32_t c = rng.Int(1, 53);
		const int32_t s = 1 + (int32_t)(i % 2);
		ConvTester t;
		t.input(rng.Int(3, 14), rng.Int(3, 14), c)
		        .output_channels(c)
		        .groups(c)
		        .kernel(3, 3)
		        .stride(s, s)
		        .pad(rng.Int(0, 2), rng.Int(0, 2), rng.Int(0, 2), rng.Int(0, 2))
		        .act(rng.Int(0, 2))
		        .seed(3000 + i);
		SCOPED_TRACE(i);
		t.Test(Variant::kDw3x3);
		t.Test(Variant::kDw);
		t.Test(Variant::kDispatch);
	}
}

TEST(RefConv, Depthwise5x5)
{
	Rng rng(11);
	for (uint32_t i = 0; i < 16; i++) {
		const int32_t c = rng.Int(1, 45);
		const int32_t s = 1 + (int32_t)(i % 2);
		ConvTester t;
		t.input(rng.Int(5, 15), rng.Int(5, 15), c)
		        .output_channels(c)
		        .groups(c)
		        .kernel(5, 5)
		        .stride(s, s)
		        .pad(rng.Int(0, 4), rng.Int(0, 4), rng.Int(0, 4), rng.Int(0, 4))
		        .act(rng.Int(0, 2))
		        .seed(4000 + i);
		SCOPED_TRACE(i);
		t.Test(Variant::kDw5x5);
		t.Test(Variant::kDw);
		t.Test(Variant::kDispatch);
	}
}

TEST(RefConv, DepthwiseOddKernels)
{
	// 7x7 (ShuffleNet-style large kernels), 1x1 and non-square.
	ConvTester()
	        .input(12, 11, 33)
	        .output_channels(33)
	        .groups(33)
	        .kernel(7, 7)
	        .pad(3, 3, 3, 3)
	        .seed(8)
	        .Test(Variant::kDw);
	ConvTester().input(6, 6, 17).output_channels(17).groups(17).kernel(1, 1).seed(9).Test(
	        Variant::kDw);
	ConvTester()
	        .input(9, 6, 18)
	        .output_channels(18)
	        .groups(18)
	        .kernel(3, 1)
	        .stride(2, 1)
	        .pad(1, 0, 1, 0)
	        .seed(10)
	        .Test(Variant::kDispatch);
}

TEST(RefConv, FirstLayerStride2)
{
	// MobileNet stem shape (scaled down): 3x3 s2, Cin 3, pad right/bottom only.
	ConvTester()
	        .input(17, 16, 3)
	        .output_channels(16)
	        .kernel(3, 3)
	        .stride(2, 2)
	        .pad(0, 0, 1, 1)
	        .act(NPUI_ACT_RELU6)
	        .seed(12)
	        .Test(Variant::kDispatch);
}

// Hand-computed: input 2x2x1 q = [3 5; 1 -1], zp_in 1 -> x - zp = [2 4; 0 -2].
// Kernel 3x3 = [1 2 3; 4 5 6; 7 8 9], pad 1, bias 3, M = 0.5 (s_in 0.5,
// w_scale 1, s_out 1), zp_out -5. Valid taps per output:
//   (0,0): 2*5 + 4*6 + 0*8 - 2*9 = 16, +3 = 19 -> 9.5 -> 10 -> 5
//   (0,1): 2*4 + 4*5 + 0*7 - 2*8 = 12, +3 = 15 -> 7.5 -> 8 -> 3
//   (1,0): 2*2 + 4*3 + 0*5 - 2*6 =  4, +3 =  7 -> 3.5 -> 4 -> -1
//   (1,1): 2*1 + 4*2 + 0*4 - 2*5 =  0, +3 =  3 -> 1.5 -> 2 -> -3
TEST(RefConv, KnownAnswerPadded3x3)
{
	const int8_t in[4] = {3, 5, 1, -1};
	const int8_t w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	const int32_t bias[1] = {3};
	const float ws[1] = {1.0f};
	int32_t mult, shift;
	ASSERT_EQ(npu_ref_conv_multipliers(0.5f, ws, 1.0f, 1, &mult, &shift), NPU_OK);
	npu_ref_conv_params p = {};
	p.in_h = p.in_w = 2;
	p.in_c = p.out_c = 1;
	p.out_h = p.out_w = 2;
	p.kh = p.kw = 3;
	p.stride_h = p.stride_w = 1;
	p.pad_t = p.pad_l = 1;
	p.groups = 1;
	p.in_zp = 1;
	p.out_zp = -5;
	p.act_min = -128;
	p.act_max = 127;
	p.mult = &mult;
	p.shift = &shift;
	const int8_t want[4] = {5, 3, -1, -3};
	Poisoned out(4);
	npu_ref_s8_conv2d(&p, in, w, bias, out.data());
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(out[i], want[i]) << "i=" << i;
	// Same as a depthwise conv (groups == 1 == C).
	Poisoned dw(4);
	npu_ref_s8_dwconv3x3(&p, in, w, bias, dw.data());
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(dw[i], want[i]) << "i=" << i;
	int32_t acc[4];
	npu_ref_s8_conv2d_acc32(&p, in, w, bias, acc);
	EXPECT_EQ(acc[0], 19);
	EXPECT_EQ(acc[1], 15);
	EXPECT_EQ(acc[2], 7);
	EXPECT_EQ(acc[3], 3);
	// ReLU with zp_out -5 clamps at -5: [5 3 -1 -3] unchanged; with zp 0 and
	// a bias of -17 the accumulators are -1 -5 -13 -17 -> x0.5 -> 0 -2 -6 -8
	// (-0.5 and -2.5 are srdhm ties: toward +inf), ReLU -> 0 0 0 0.
	const int32_t neg_bias[1] = {-17};
	p.out_zp = 0;
	npu_ref_s8_conv2d(&p, in, w, neg_bias, out.data());
	const int8_t want_neg[4] = {0, -2, -6, -8};
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(out[i], want_neg[i]) << "i=" << i;
	p.act_min = 0;
	npu_ref_s8_conv2d(&p, in, w, neg_bias, out.data());
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(out[i], 0) << "i=" << i;
}

// Grouped 1x1 by hand: C = 4 in 2 groups, out 2 (one per group),
// zp_in 0, weights per group [1 1], M = 1 (s_in 1, ws 1, s_out 1).
// Pixel [10 20 -3 -4] -> group 0: 30, group 1: -7.
TEST(RefConv, KnownAnswerGrouped1x1)
{
	const int8_t in[4] = {10, 20, -3, -4};
	const int8_t w[4] = {1, 1, 1, 1};
	const float ws[2] = {1.0f, 1.0f};
	int32_t mult[2], shift[2];
	ASSERT_EQ(npu_ref_conv_multipliers(1.0f, ws, 1.0f, 2, mult, shift), NPU_OK);
	npu_ref_conv_params p = {};
	p.in_h = p.in_w = p.out_h = p.out_w = 1;
	p.in_c = 4;
	p.out_c = 2;
	p.kh = p.kw = 1;
	p.stride_h = p.stride_w = 1;
	p.groups = 2;
	p.act_min = -128;
	p.act_max = 127;
	p.mult = mult;
	p.shift = shift;
	Poisoned out(2);
	npu_ref_s8_conv2d_1x1(&p, in, w, nullptr, out.data());
	EXPECT_EQ(out[0], 30);
	EXPECT_EQ(out[1], -7);
	EXPECT_TRUE(out.GuardIntact());
}

class FcTester
{
      public:
	FcTester &k(int32_t v)
	{
		k_ = v;
		return *this;
	}
	FcTester &out_c(int32_t v)
	{
		oc_ = v;
		return *this;
	}
	FcTester &act(int a)
	{
		act_ = a;
		return *this;
	}
	FcTester &seed(uint32_t s)
	{
		seed_ = s;
		return *this;
	}
	void Test() const
	{
		Rng rng(seed_);
		const float s_in = rng.Scale(0.002, 0.2);
		const int32_t zp_in = rng.Int(-128, 127), zp_out = rng.Int(-100, 100);
		std::vector<float> ws(oc_);
		for (auto &s : ws)
			s = rng.Scale(0.001, 0.05);
		const float s_out = (float)(74.0 * 73.0 * std::sqrt((double)k_) * s_in * ws[0] /
		                            40.0 * rng.Real(0.3, 3.0));
		const auto in = rng.Bytes(k_);
		const auto w = rng.Bytes((size_t)oc_ * k_, -127, 127);
		std::vector<int32_t> bias(oc_);
		for (auto &b : bias)
			b = rng.Int(-30000, 30000);
		std::vector<int32_t> mult(oc_), shift(oc_);
		ASSERT_EQ(npu_ref_conv_multipliers(s_in, ws.data(), s_out, oc_, mult.data(),
		                                   shift.data()),
		          NPU_OK);
		int32_t lo, hi;
		reftest::ActBounds(act_, s_out, zp_out, &lo, &hi);
		npu_ref_fc_params p = {k_, oc_, zp_in, zp_out, lo, hi, mult.data(), shift.data()};
		Poisoned out(oc_);
		npu_ref_s8_fc(&p, in.data(), w.data(), bias.data(), out.data());
		ASSERT_TRUE(out.GuardIntact());
		for (int32_t oc = 0; oc < oc_; oc++) {
			int64_t acc = bias[oc];
			for (int32_t i = 0; i < k_; i++)
				acc += (int64_t)(in[i] - zp_in) * w[(size_t)oc * k_ + i];
			ASSERT_EQ(out[oc], reftest::Requant((int32_t)acc, mult[oc], shift[oc],
			                                    zp_out, lo, hi))
			        << "oc=" << oc;
			const int32_t fref = reftest::QuantizeRef((double)acc * s_in * ws[oc],
			                                          s_out, zp_out, lo, hi);
			ASSERT_LE(std::abs(fref - out[oc]), 1) << "float ref oc=" << oc;
		}
	}

      private:
	int32_t k_ = 16, oc_ = 10;
	int act_ = NPUI_ACT_NONE;
	uint32_t seed_ = 1;
};

TEST(RefFc, RandomShapes)
{
	Rng rng(77);
	for (uint32_t i = 0; i < 30; i++) {
		SCOPED_TRACE(i);
		FcTester()
		        .k(rng.Int(1, 700))
		        .out_c(rng.Int(1, 40))
		        .act(rng.Int(0, 2))
		        .seed(500 + i)
		        .Test();
	}
}

// K = 3, zp_in -2: x = [0 1 -3] -> x - zp = [2 3 -1]; w = [5 -1 2];
// acc = 10 - 3 - 2 = 5, + bias 2 = 7; M = 0.25 -> 1.75 -> 2; zp_out 1 -> 3.
TEST(RefFc, KnownAnswer)
{
	const int8_t in[3] = {0, 1, -3};
	const int8_t w[3] = {5, -1, 2};
	const int32_t bias[1] = {2};
	const float ws[1] = {0.5f};
	int32_t mult, shift;
	ASSERT_EQ(npu_ref_conv_multipliers(0.5f, ws, 1.0f, 1, &mult, &shift), NPU_OK);
	npu_ref_fc_params p = {3, 1, -2, 1, -128, 127, &mult, &shift};
	int8_t out[1] = {0};
	npu_ref_s8_fc(&p, in, w, bias, out);
	EXPECT_EQ(out[0], 3);
}

} // namespace
