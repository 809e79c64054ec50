// The model-file bytes of a zoo net for the sim tests.
#ifndef TESTS_SIM_ZOO_MODEL_H
#define TESTS_SIM_ZOO_MODEL_H

#include <cstdint>
#include <vector>

namespace npu_test
{

// zoo net NAME at SIZE x SIZE, serialized; calibrated on 2 inputs:
// bit-exactness does not depend on calibration quality, and 16 (the
// default) is slow under ASan. Failures are reported with EXPECT.
std::vector<uint8_t> zoo_model(const char *name, int size);

} // namespace npu_test

#endif
