// Pooling kernels: max, average (both divisor modes), global average.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ref_tester.h"

namespace
{

using reftest::Poisoned;
using reftest::Rng;

class PoolTester
{
      public:
	PoolTester &input(int32_t h, int32_t w, int32_t c)
	{
		h_ = h;
		w_ = w;
		c_ = c;
		return *this;
	}
	PoolTester &kernel(int32_t kh, int32_t kw)
	{
		kh_ = kh;
		kw_ = kw;
		return *this;
	}
	PoolTester &stride(int32_t sh, int32_t sw)
	{
		sh_ = sh;
		sw_ = sw;
		return *this;
	}
	PoolTester &pad(int32_t t, int32_t l, int32_t b, int32_t r)
	{
		pt_ = t;
		pl_ = l;
		pb_ = b;
		pr_ = r;
		return *this;
	}
	PoolTester &count_include_pad(bool v)
	{
		cip_ = v;
		return *this;
	}
	PoolTester &act(int a)
	{
		act_ = a;
		return *this;
	}
	PoolTester &seed(uint32_t s)
	{
		seed_ = s;
		return *this;
	}

	void TestMax() const
	{
		Rng rng(seed_);
		const float s = rng.Scale(0.01, 0.1);
		const int32_t zp = rng.Int(-128, 127);
		const auto in = rng.Bytes((size_t)h_ * w_ * c_);
		int32_t lo, hi;
		reftest::ActBounds(act_, s, zp, &lo, &hi);
		npu_ref_pool_params p = Params(zp, zp, lo, hi, nullptr, nullptr);
		Poisoned out((size_t)oh() * ow() * c_);
		npu_ref_s8_maxpool(&p, in.data(), out.data());
		ASSERT_TRUE(out.GuardIntact());
		for (int32_t oy = 0; oy < oh(); oy++)
			for (int32_t ox = 0; ox < ow(); ox++)
				for (int32_t c = 0; c < c_; c++) {
					int32_t m = INT32_MIN;
					for (int32_t ky = 0; ky < kh_; ky++)
						for (int32_t kx = 0; kx < kw_; kx++) {
							const int32_t iy = oy * sh_ - pt_ + ky;
							const int32_t ix = ox * sw_ - pl_ + kx;
							if (iy < 0 || iy >= h_ || ix < 0 ||
							    ix >= w_)
								continue;
							m = std::max<int32_t>(
							        m, in[((size_t)iy * w_ + ix) * c_ +
							              c]);
						}
					const size_t idx = ((size_t)oy * ow() + ox) * c_ + c;
					ASSERT_EQ(out[idx], std::min(hi, std::max(lo, m)))
					        << "oy=" << oy << " ox=" << ox << " c=" << c;
				}
	}

	void TestAvg() const
	{
		Rng rng(seed_);
		const float s_in = rng.Scale(0.01, 0.1);
		const float s_out = (float)(s_in * rng.Real(0.5, 2.0));
		const int32_t zp_in = rng.Int(-128, 127), zp_out = rng.Int(-60, 60);
		const auto in = rng.Bytes((size_t)h_ * w_ * c_);
		int32_t lo, hi;
		reftest::ActBounds(act_, s_out, zp_out, &lo, &hi);
		std::vector<int32_t> mult(kh_ * kw_), shift(kh_ * kw_);
		ASSERT_EQ(npu_ref_avgpool_multipliers(s_in, s_out, kh_ * kw_, mult.data(),
		                                      shift.data()),
		          NPU_OK);
		npu_ref_pool_params p = Params(zp_in, zp_out, lo, hi, mult.data(), shift.data());
		Poisoned out((size_t)oh() * ow() * c_);
		npu_ref_s8_avgpool(&p, in.data(), out.data());
		ASSERT_TRUE(out.GuardIntact());
		for (int32_t oy = 0; oy < oh(); oy++)
			for (int32_t ox = 0; ox < ow(); ox++)
				for (int32_t c = 0; c < c_; c++) {
					int32_t acc = 0, valid = 0;
					for (int32_t ky = 0; ky < kh_; ky++)
						for (int32_t kx = 0; kx < kw_; kx++) {
							const int32_t iy = oy * sh_ - pt_ + ky;
							const int32_t ix = ox * sw_ - pl_ + kx;
							if (iy < 0 || iy >= h_ || ix < 0 ||
							    ix >= w_)
								continue;
							acc += in[((size_t)iy * w_ + ix) * c_ + c] -
							       zp_in;
							valid++;
						}
					const int32_t count = cip_ ? kh_ * kw_ : valid;
					const size_t idx = ((size_t)oy * ow() + ox) * c_ + c;
					ASSERT_EQ(out[idx], reftest::Requant(acc, mult[count - 1],
					                                     shift[count - 1],
					                                     zp_out, lo, hi))
					        << "oy=" << oy << " ox=" << ox << " c=" << c;
					const int32_t fref = reftest::QuantizeRef(
					        (double)s_in * acc / count, s_out, zp_out, lo, hi);
					ASSERT_LE(std::abs(fref - out[idx]), 1)
					        << "float ref idx=" << idx;
				}
	}

      private:
	int32_t oh() const
	{
		return (h_ + pt_ + pb_ - kh_) / sh_ + 1;
	}
	int32_t ow() const
	{
		return (w_ + pl_ + pr_ - kw_) / sw_ + 1;
	}
	npu_ref_pool_params Params(int32_t zp_in, int32_t zp_out, int32_t lo, int32_t hi,
	                           const int32_t *mult, const int32_t *shift) const
	{
		npu_ref_pool_params p = {};
		p.in_h = h_;
		p.in_w = w_;
		p.c = c_;
		p.out_h = oh();
		p.out_w = ow();
		p.kh = kh_;
		p.kw = kw_;
		p.stride_h = sh_;
		p.stride_w = sw_;
		p.pad_t = pt_;
		p.pad_l = pl_;
		p.count_include_pad = cip_;
		p.in_zp = zp_in;
		p.out_zp = zp_out;
		p.act_min = lo;
		p.act_max = hi;
		p.mult = mult;
		p.shift = shift;
		return p;
	}

	int32_t h_ = 5, w_ = 5, c_ = 3;
	int32_t kh_ = 3, kw_ = 3, sh_ = 2, sw_ = 2;
	int32_t pt_ = 0, pl_ = 0, pb_ = 0, pr_ = 0;
	bool cip_ = false;
	int act_ = NPUI_ACT_NONE;
	uint32_t seed_ = 1;
};

PoolTester RandomPool(Rng &rng, uint32_t seed)
{
	const int32_t kh = rng.Int(1, 5), kw = rng.Int(1, 5);
	PoolTester t;
	t.input(rng.Int(kh, 12), rng.Int(kw, 12), rng.Int(1, 70))
	        .kernel(kh, kw)
	        .stride(rng.Int(1, 3), rng.Int(1, 3))
	        .pad(rng.Int(0, kh - 1), rng.Int(0, kw - 1), rng.Int(0, kh - 1), rng.Int(0, kw - 1))
	        .act(rng.Int(0, 2))
	        .seed(seed);
	return t;
}

TEST(RefPool, MaxRandom)
{
	Rng rng(21);
	for (uint32_t i = 0; i < 40; i++) {
		SCOPED_TRACE(i);
		RandomPool(rng, 100 + i).TestMax();
	}
}

TEST(RefPool, AvgRandomValidCount)
{
	Rng rng(22);
	for (uint32_t i = 0; i < 40; i++) {
		SCOPED_TRACE(i);
		RandomPool(rng, 200 + i).count_include_pad(false).TestAvg();
	}
}

TEST(RefPool, AvgRandomIncludePad)
{
	Rng rng(23);
	for (uint32_t i = 0; i < 40; i++) {
		SCOPED_TRACE(i);
		RandomPool(rng, 300 + i).count_include_pad(true).TestAvg();
	}
}

// 2x2 input, 1 channel, [-100 -120; -90 -128], zp 0, 3x3 window, pad 1,
// stride 1: every window holds all four; padding (value 0 > all) must not
// win, so every output is -90.
TEST(RefPool, KnownAnswerMaxPaddingNeverWins)
{
	const int8_t in[4] = {-100, -120, -90, -128};
	npu_ref_pool_params p = {};
	p.in_h = p.in_w = p.out_h = p.out_w = 2;
	p.c = 1;
	p.kh = p.kw = 3;
	p.stride_h = p.stride_w = 1;
	p.pad_t = p.pad_l = 1;
	p.act_min = -128;
	p.act_max = 127;
	Poisoned out(4);
	npu_ref_s8_maxpool(&p, in, out.data());
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(out[i], -90) << "i=" << i;
}

// Same input with zp_in = zp_out = 0 and equal scales, 3x3 pad 1 average
// at output (0,0): sum = -438. Valid count 4 -> -109.5 -> -110 (the M=1/4
// path: srdhm(-438, 2^30) = -219 exactly, rdivpot(-219, 1) = -109.5 -> -110
// away from zero). count_include_pad: 9 -> -48.67 -> -49.
TEST(RefPool, KnownAnswerAvgBothModes)
{
	const int8_t in[4] = {-100, -120, -90, -128};
	std::vector<int32_t> mult(9), shift(9);
	ASSERT_EQ(npu_ref_avgpool_multipliers(0.1f, 0.1f, 9, mult.data(), shift.data()), NPU_OK);
	npu_ref_pool_params p = {};
	p.in_h = p.in_w = p.out_h = p.out_w = 2;
	p.c = 1;
	p.kh = p.kw = 3;
	p.stride_h = p.stride_w = 1;
	p.pad_t = p.pad_l = 1;
	p.act_min = -128;
	p.act_max = 127;
	p.mult = mult.data();
	p.shift = shift.data();
	int8_t out[4];
	npu_ref_s8_avgpool(&p, in, out);
	EXPECT_EQ(out[0], -110);
	p.count_include_pad = 1;
	npu_ref_s8_avgpool(&p, in, out);
	EXPECT_EQ(out[0], -49);
}

TEST(RefPool, GapRandom)
{
	Rng rng(31);
	for (uint32_t i = 0; i < 20; i++) {
		const int32_t h = rng.Int(1, 15), w = rng.Int(1, 15), c = rng.Int(1, 150);
		const float s_in = rng.Scale(0.01, 0.1);
		const float s_out = (float)(s_in * rng.Real(0.3, 2.0));
		const int32_t zp_in = rng.Int(-128, 127), zp_out = rng.Int(-60, 60);
		const int act = rng.Int(0, 2);
		const auto in = rng.Bytes((size_t)h * w * c);
		npu_ref_gap_params p = {h, w, c, zp_in, zp_out, 0, 0, 0, 0};
		reftest::ActBounds(act, s_out, zp_out, &p.act_min, &p.act_max);
		int sh;
		ASSERT_EQ(npui_quantize_multiplier((double)s_in / ((double)s_out * h * w), &p.mult,
		                                   &sh),
		          NPU_OK);
		p.shift = sh;
		Poisoned out(c);
		npu_ref_s8_gap(&p, in.data(), out.data());
		ASSERT_TRUE(out.GuardIntact());
		for (int32_t ch = 0; ch < c; ch++) {
			int32_t acc = 0;
			for (int32_t px = 0; px < h * w; px++)
				acc += in[(size_t)px * c + ch] - zp_in;
			ASSERT_EQ(out[ch], reftest::Requant(acc, p.mult, p.shift, zp_out, p.act_min,
			                                    p.act_max))
			        << "i=" << i << " c=" << ch;
			const int32_t fref = reftest::QuantizeRef(
			        (double)s_in * acc / (h * w), s_out, zp_out, p.act_min, p.act_max);
			ASSERT_LE(std::abs(fref - out[ch]), 1) << "i=" << i << " c=" << ch;
		}
	}
}

} // namespace
