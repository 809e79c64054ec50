// The model-file bytes of a zoo net for the sim tests, and the scheduler's
// plan for such a file.
#ifndef TESTS_SIM_ZOO_MODEL_H
#define TESTS_SIM_ZOO_MODEL_H

#include <cstdint>
#include <string>
#include <vector>

namespace npu_test
{

// zoo net NAME at SIZE x SIZE, serialized; calibrated on 2 inputs:
// bit-exactness does not depend on calibration quality, and 16 (the
// default) is slow under ASan. Failures are reported with EXPECT.
std::vector<uint8_t> zoo_model(const char *name, int size);

// Layers per engine (npu_test::EngineCounts, tests/common/placement.h) as
// lib/sched places the model FILE on a build (small: the 4x4 one), made
// apart from any run: the file parsed again, the build's CAPS preset and
// the scheduler's own arena plan, as the hardware device does at load.
std::string zoo_plan_counts(const std::vector<uint8_t> &file, bool small);

} // namespace npu_test

#endif
