// Deterministic test inputs: the same seed gives the same bytes on every
// machine and in every suite, so a mismatch found in one suite can be
// reproduced in another. Header-only.
#ifndef NPU_TEST_INPUTS_H
#define NPU_TEST_INPUTS_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace npu_test
{

// n int8 values from a linear congruential generator seeded with seed.
inline std::vector<int8_t> SeededInput(size_t n, uint32_t seed)
{
	std::vector<int8_t> x(n);
	uint32_t s = seed * 2654435761u + 1;
	for (auto &v : x) {
		s = s * 1664525u + 1013904223u;
		v = static_cast<int8_t>(s >> 24);
	}
	return x;
}

} // namespace npu_test

#endif
