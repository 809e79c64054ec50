// Small helpers shared by the RTL unit testbenches (rtl-sim/tb/*_tb.cc).
#ifndef NPU_TB_UTIL_H
#define NPU_TB_UTIL_H

#include <cstdint>
#include <cstdio>

// Deterministic 64-bit generator (splitmix64): the same seed gives the same
// vectors on every host, so a failure report is reproducible.
class TbRng
{
      public:
	explicit TbRng(uint64_t seed) : s_(seed)
	{
	}
	uint64_t next()
	{
		uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		return z ^ (z >> 31);
	}
	uint32_t u32()
	{
		return static_cast<uint32_t>(next() >> 32);
	}
	int32_t i32()
	{
		return static_cast<int32_t>(u32());
	}
	// Uniform in [lo, hi], both inclusive.
	int64_t range(int64_t lo, int64_t hi)
	{
		return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
	}
	double unit()
	{
		return static_cast<double>(next() >> 11) * 0x1.0p-53;
	}

      private:
	uint64_t s_;
};

// Pass/fail tally; prints the first few failures and the summary line.
struct TbTally {
	long passed = 0;
	long failed = 0;
	void check(bool ok, const char *what)
	{
		if (ok) {
			++passed;
			return;
		}
		if (failed < 10)
			std::printf("FAIL: %s\n", what);
		++failed;
	}
	int finish(const char *name) const
	{
		std::printf("%s: %ld passed, %ld failed\n", name, passed, failed);
		return failed == 0 && passed > 0 ? 0 : 1;
	}
};

#endif // NPU_TB_UTIL_H
