// Shared helpers of the CPU-kernel tests: seeded data, scale choices, the
// float reference quantizer, and a poisoned output buffer with guard bytes.
#ifndef LWNPU_TESTS_REF_TESTER_H
#define LWNPU_TESTS_REF_TESTER_H

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "npu.h"
#include "ref/quant.h"
#include "ref/ref.h"

namespace reftest
{

constexpr int8_t kPoison = 0x5a;
constexpr size_t kGuard = 64;

class Rng
{
      public:
	explicit Rng(uint32_t seed) : gen_(seed)
	{
	}
	int32_t Int(int32_t lo, int32_t hi)
	{
		return std::uniform_int_distribution<int32_t>(lo, hi)(gen_);
	}
	double Real(double lo, double hi)
	{
		return std::uniform_real_distribution<double>(lo, hi)(gen_);
	}
	// Log-uniform in [lo, hi]: scales span decades.
	float Scale(double lo, double hi)
	{
		return (float)std::exp(Real(std::log(lo), std::log(hi)));
	}
	std::vector<int8_t> Bytes(size_t n, int32_t lo = -128, int32_t hi = 127)
	{
		std::vector<int8_t> v(n);
		for (auto &b : v)
			b = (int8_t)Int(lo, hi);
		return v;
	}

      private:
	std::mt19937 gen_;
};

// Output buffer pre-filled with a poison byte plus a guard zone after the
// end that must stay untouched.
class Poisoned
{
      public:
	explicit Poisoned(size_t n) : n_(n), buf_(n + kGuard, kPoison)
	{
	}
	int8_t *data()
	{
		return buf_.data();
	}
	const int8_t *data() const
	{
		return buf_.data();
	}
	int8_t operator[](size_t i) const
	{
		return buf_[i];
	}
	size_t size() const
	{
		return n_;
	}
	::testing::AssertionResult GuardIntact() const
	{
		for (size_t i = n_; i < buf_.size(); i++)
			if (buf_[i] != kPoison)
				return ::testing::AssertionFailure()
				       << "wrote past the end at +" << (i - n_);
		return ::testing::AssertionSuccess();
	}

      private:
	size_t n_;
	std::vector<int8_t> buf_;
};

// The float-domain reference: round half away from zero, add zp, clamp.
inline int32_t QuantizeRef(double real, double scale, int32_t zp, int32_t lo = -128,
                           int32_t hi = 127)
{
	double v = std::round(real / scale) + zp;
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return (int32_t)v;
}

// Activation bounds computed independently of npu_ref_act_bounds.
inline void ActBounds(int act, double out_scale, int32_t zp, int32_t *lo, int32_t *hi)
{
	*lo = -128;
	*hi = 127;
	if (act != NPUI_ACT_NONE)
		*lo = std::max(-128, zp);
	if (act == NPUI_ACT_RELU6)
		*hi = (int32_t)std::min(127.0, zp + std::round(6.0 / out_scale));
}

inline int32_t Requant(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi)
{
	int64_t v = (int64_t)npui_mbqm(acc, mult, shift) + zp;
	return (int32_t)std::min<int64_t>(hi, std::max<int64_t>(lo, v));
}

} // namespace reftest

#endif
