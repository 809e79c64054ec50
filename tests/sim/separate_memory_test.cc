// A device with memory of its own (`sim:memory=separate`, driver/sim.c):
// the NPU sees only what the driver syncs, as on a USB board or a PCIe
// card. Every byte a reader needs must cross (bit-exact against cpu), and
// nothing else does: a job moves its input and the tensors CPU layers
// exchange with the NPU, not the whole activation arena per segment
// (lib/core/hw_device.c, hw_plan_sync).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "npu.h"
#include "core/runtime.h"
#include "driver/backend.h"
#include "driver/npu_regs.h"
#include "driver/sim.h"
#include "tests/common/backends.h"
#include "tests/common/placement.h"
#include "tests/sim/zoo_model.h"

namespace
{

struct Synced {
	uint64_t to_dev = 0, from_dev = 0;
};

Synced synced(npu_device *dev)
{
	Synced s;
	EXPECT_EQ(npu_sim_backend_sync_bytes(npui_device_hw(dev), &s.to_dev, &s.from_dev), 0);
	return s;
}

std::vector<int8_t> input(size_t n)
{
	std::vector<int8_t> x(n);
	uint32_t s = 12345;
	for (auto &v : x) {
		s = s * 1664525u + 1013904223u;
		v = static_cast<int8_t>(s >> 24);
	}
	return x;
}

// Runs net twice on dev; returns the output of the second run and the
// bytes that run synced, and the profile (placement).
std::vector<int8_t> run_twice(npu_device *dev, const std::vector<uint8_t> &file,
                              const std::vector<int8_t> &x, Synced *moved,
                              std::vector<npu_layer_profile> *prof, uint64_t *macs)
{
	npu_model *m = nullptr;
	EXPECT_EQ(npu_model_load_memory(dev, file.data(), file.size(), &m), NPU_OK)
	        << npu_last_error();
	if (!m)
		return {};
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements, 0x5a);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	EXPECT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
	std::fill(y.begin(), y.end(), 0x5a);
	Synced a = dev && moved ? synced(dev) : Synced{};
	EXPECT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
	if (moved) {
		Synced b = synced(dev);
		moved->to_dev = b.to_dev - a.to_dev;
		moved->from_dev = b.from_dev - a.from_dev;
	}
	if (prof) {
		unsigned n = npu_model_num_layers(m);
		prof->resize(n);
		npu_model_profile(m, prof->data(), n, &n);
		struct npu_model_cost cost;
		EXPECT_EQ(npu_model_cost(m, &cost), NPU_OK);
		*macs = cost.macs;
	}
	npu_model_free(m);
	return y;
}

class SimSeparate : public ::testing::TestWithParam<const char *>
{
};

// Bit-exact against cpu with separate memory, layers where the scheduler
// puts them (so the NPU did the work, on synced data).
TEST_P(SimSeparate, BitExactAgainstCpu)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const int size = 32;
	const char *net = GetParam();
	auto file = npu_test::zoo_model(net, size);
	npu_device *sim, *cpu;
	ASSERT_EQ(npu_open("sim:memory=separate", &sim), NPU_OK) << npu_last_error();
	ASSERT_EQ(npu_open("cpu", &cpu), NPU_OK);
	auto x = input((size_t)size * size * 3);
	Synced moved;
	std::vector<npu_layer_profile> prof;
	uint64_t macs = 0;
	auto ys = run_twice(sim, file, x, &moved, &prof, &macs);
	auto yc = run_twice(cpu, file, x, nullptr, nullptr, nullptr);
	ASSERT_FALSE(yc.empty());
	EXPECT_EQ(ys, yc);
	npu_test::ExpectPlacement(npu_test::ProfileRuns(prof),
	                          npu_test::zoo_plan_counts(file, false),
	                          npu_test::ExpectedZooPlacement(net, false, size), macs);
	// Something crossed both ways: the input in, the output back.
	EXPECT_GE(moved.to_dev, x.size());
	EXPECT_GE(moved.from_dev, ys.size());
	RecordProperty("to_dev", std::to_string(moved.to_dev));
	RecordProperty("from_dev", std::to_string(moved.from_dev));
	npu_close(cpu);
	npu_close(sim);
}

// mobilenet_v1, mobilenet_v2 and squeezenet place no layer on the CPU:
// one NPU segment, so a job moves exactly its input to the device and its
// output back, not the arena; the rest of what goes to the device is
// descriptors, NPU_HW_DESC_BYTES a ring slot.
TEST(SimSeparateTraffic, AllOnNpuMovesOnlyInputAndOutput)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const int size = 32;
	auto file = npu_test::zoo_model("mobilenet_v2", size);
	npu_device *sim;
	ASSERT_EQ(npu_open("sim:memory=separate", &sim), NPU_OK) << npu_last_error();
	auto x = input((size_t)size * size * 3);
	Synced moved;
	auto y = run_twice(sim, file, x, &moved, nullptr, nullptr);
	ASSERT_FALSE(y.empty());
	ASSERT_GE(moved.to_dev, x.size());
	EXPECT_EQ((moved.to_dev - x.size()) % NPU_HW_DESC_BYTES, 0u) << moved.to_dev;
	EXPECT_EQ(moved.from_dev, y.size());
	npu_close(sim);
}

// The option is checked.
TEST(SimSeparateTraffic, OptionValues)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	npu_device *d;
	ASSERT_EQ(npu_open("sim:memory=shared", &d), NPU_OK);
	uint64_t a, b;
	EXPECT_EQ(npu_sim_backend_sync_bytes(npui_device_hw(d), &a, &b), -1);
	npu_close(d);
	EXPECT_EQ(npu_open("sim:memory=other", &d), NPU_ERR_INVALID_ARG);
}

// Nets with CPU segments between NPU ones (MobileNetV3's h-swish and SE
// multiply) and folded shuffles (ShuffleNet v2), and one without either.
INSTANTIATE_TEST_SUITE_P(Zoo, SimSeparate,
                         ::testing::Values("mobilenet_v3_small", "mobilenet_v3_large",
                                           "shufflenet_v2_x1_0", "squeezenet1_1"));

} // namespace
