// The simulated NPU behind the public API: every zoo net on "sim" gives
// exactly the bytes of "cpu"; options, threads, async overlap, and faults
// injected at the driver boundary surface as named errors and leave the
// device usable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "npu.h"
#include "ir/graph.h"
#include "core/runtime.h"
#include "driver/backend.h"
#include "zoo/zoo.h"
#include "tests/common/backends.h"
#include "tests/common/test_env.h"
#include "tests/common/inputs.h"
#include "tests/common/placement.h"
#include "tests/sim/zoo_model.h"

namespace
{

// Input size of the zoo nets in these tests. 224 is the real thing; the
// small configuration runs at a smaller size to keep CI time sane.
int zoo_size(int fallback)
{
	return static_cast<int>(npu_test_env_int("NPU_SIM_TEST_SIZE", fallback, 16, 1024));
}

std::vector<int8_t> run_on(npu_device *dev, const std::vector<uint8_t> &file,
                           const std::vector<int8_t> &x, int *rc_out = nullptr,
                           std::vector<npu_layer_profile> *prof = nullptr,
                           struct npu_model_cost *cost = nullptr)
{
	npu_model *m = nullptr;
	int rc = npu_model_load_memory(dev, file.data(), file.size(), &m);
	if (rc_out)
		*rc_out = rc;
	if (rc != NPU_OK) {
		ADD_FAILURE() << "load: " << npu_status_name(rc) << ": " << npu_last_error();
		return {};
	}
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements, 0x5a);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	rc = npu_run(m, &io);
	if (rc_out)
		*rc_out = rc;
	if (rc == NPU_OK && prof) {
		unsigned n = npu_model_num_layers(m);
		prof->resize(n);
		npu_model_profile(m, prof->data(), n, &n);
	}
	if (rc == NPU_OK && cost) {
		EXPECT_EQ(npu_model_cost(m, cost), NPU_OK);
	}
	npu_model_free(m);
	return rc == NPU_OK ? y : std::vector<int8_t>{};
}

std::vector<int8_t> seeded_input(size_t n, uint32_t seed)
{
	return npu_test::SeededInput(n, seed);
}

TEST(SimOpen, OptionsAndIdentity)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	npu_device *d;
	ASSERT_EQ(npu_open("sim", &d), NPU_OK) << npu_last_error();
	EXPECT_STREQ(npu_device_uri(d), "sim");
	npu_close(d);
	ASSERT_EQ(npu_open("sim:config=small,latency=50,bw=4", &d), NPU_OK) << npu_last_error();
	npu_close(d);
	EXPECT_EQ(npu_open("sim:config=huge", &d), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_open("sim:speed=11", &d), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_open("sim:latency=x", &d), NPU_ERR_INVALID_ARG);
}

class SimZoo : public ::testing::TestWithParam<const char *>
{
};

// Bytes equal to cpu's prove nothing about layers the scheduler left on
// the CPU (they run cpu's own kernels): the run must also have placed
// each layer where the scheduler plans and the table says, given every
// engine layer cycles, and run all of the model's MACs on the engines
// (no zoo layer with MACs is on the CPU; tests/common/placement.h).
void expect_zoo_placement(const char *net, int size, bool small, const std::vector<uint8_t> &file,
                          const std::vector<npu_layer_profile> &prof,
                          const struct npu_model_cost &cost)
{
	npu_test::ExpectPlacement(npu_test::ProfileRuns(prof),
	                          npu_test::zoo_plan_counts(file, small),
	                          npu_test::ExpectedZooPlacement(net, small, size), cost.macs);
}

// The whole zoo, default configuration: byte-identical to the cpu device,
// with the layers on the engines the scheduler and the table say.
TEST_P(SimZoo, BitExactAgainstCpu)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const int size = zoo_size(224);
	auto file = npu_test::zoo_model(GetParam(), size);
	npu_device *sim, *cpu;
	ASSERT_EQ(npu_open("sim", &sim), NPU_OK);
	ASSERT_EQ(npu_open("cpu", &cpu), NPU_OK);
	auto x = seeded_input((size_t)size * size * 3, 7);
	std::vector<npu_layer_profile> prof;
	struct npu_model_cost cost;
	auto ys = run_on(sim, file, x, nullptr, &prof, &cost);
	auto yc = run_on(cpu, file, x);
	ASSERT_FALSE(yc.empty());
	ASSERT_EQ(ys.size(), yc.size());
	for (size_t i = 0; i < ys.size(); i++)
		ASSERT_EQ(ys[i], yc[i]) << "first mismatch at output " << i;
	expect_zoo_placement(GetParam(), size, false, file, prof, cost);
	uint64_t cycles = 0;
	for (auto &p : prof)
		cycles += p.cycles;
	RecordProperty("npu_cycles", std::to_string(cycles));
	npu_close(cpu);
	npu_close(sim);
}

INSTANTIATE_TEST_SUITE_P(Zoo, SimZoo,
                         ::testing::Values("squeezenet1_0", "squeezenet1_1", "mobilenet_v1",
                                           "shufflenet_v1_g3", "mobilenet_v2", "mobilenet_v3_large",
                                           "mobilenet_v3_small", "shufflenet_v2_x1_0"));

// The small (4x4) configuration tiles differently: same bytes and
// placement again.
TEST(SimSmall, TwoNetsBitExact)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const int size = zoo_size(64) < 64 ? zoo_size(64) : 64;
	npu_device *sim, *cpu;
	ASSERT_EQ(npu_open("sim:config=small", &sim), NPU_OK);
	ASSERT_EQ(npu_open("cpu", &cpu), NPU_OK);
	for (const char *net : {"mobilenet_v2", "shufflenet_v2_x1_0"}) {
		SCOPED_TRACE(net);
		auto file = npu_test::zoo_model(net, size);
		auto x = seeded_input((size_t)size * size * 3, 3);
		std::vector<npu_layer_profile> prof;
		struct npu_model_cost cost;
		auto ys = run_on(sim, file, x, nullptr, &prof, &cost);
		auto yc = run_on(cpu, file, x);
		ASSERT_FALSE(yc.empty());
		EXPECT_EQ(ys, yc);
		expect_zoo_placement(net, size, true, file, prof, cost);
	}
	npu_close(cpu);
	npu_close(sim);
}

// Frames queued back to back: CPU fallback of one overlaps nothing it
// must not, and every frame's bytes equal its synchronous result.
TEST(SimAsync, QueuedFramesAndFourThreads)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const int size = 32;
	auto file = npu_test::zoo_model("mobilenet_v3_small", size);
	npu_device *sim;
	ASSERT_EQ(npu_open("sim", &sim), NPU_OK);
	npu_model *m;
	ASSERT_EQ(npu_model_load_memory(sim, file.data(), file.size(), &m), NPU_OK);
	npu_tensor_info out;
	npu_model_output(m, &out);
	const int N = 3;
	std::vector<std::vector<int8_t>> xs, ys(N, std::vector<int8_t>(out.elements)), ref;
	for (int i = 0; i < N; i++) {
		xs.push_back(seeded_input((size_t)size * size * 3, 100 + i));
		std::vector<int8_t> y(out.elements);
		npu_io io = {NPU_IO_INT8, xs[i].data(), xs[i].size(),
		             NPU_IO_INT8, y.data(),     y.size()};
		ASSERT_EQ(npu_run(m, &io), NPU_OK);
		ref.push_back(y);
	}
	std::vector<npu_io> ios(N);
	std::vector<npu_job *> jobs(N);
	for (int i = 0; i < N; i++) {
		ios[i] = {NPU_IO_INT8, xs[i].data(), xs[i].size(),
		          NPU_IO_INT8, ys[i].data(), ys[i].size()};
		ASSERT_EQ(npu_submit(m, &ios[i], &jobs[i]), NPU_OK);
	}
	for (int i = 0; i < N; i++)
		ASSERT_EQ(npu_wait(jobs[i], -1), NPU_OK);
	EXPECT_EQ(ys, ref);

	std::vector<int> bad(4, 0);
	std::vector<std::thread> th;
	for (int t = 0; t < 4; t++)
		th.emplace_back([&, t] {
			int k = t % N;
			std::vector<int8_t> y(out.elements);
			npu_io io = {NPU_IO_INT8, xs[k].data(), xs[k].size(),
			             NPU_IO_INT8, y.data(),     y.size()};
			if (npu_run(m, &io) != NPU_OK || y != ref[k])
				bad[t]++;
		});
	for (auto &t : th)
		t.join();
	for (int t = 0; t < 4; t++)
		EXPECT_EQ(bad[t], 0) << "thread " << t;
	npu_model_free(m);
	npu_close(sim);
}

// Fault sweep at the driver boundary: make the Nth backend call of one
// inference fail, for N over the whole job. Each run fails with a named error or
// succeeds with the right bytes, and the next clean run is right again.
TEST(SimFaults, EveryBackendCallFailingOnce)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const int size = 32;
	auto file = npu_test::zoo_model("squeezenet1_1", size);
	npu_device *sim, *cpu;
	ASSERT_EQ(npu_open("sim:config=small", &sim), NPU_OK);
	ASSERT_EQ(npu_open("cpu", &cpu), NPU_OK);
	auto x = seeded_input((size_t)size * size * 3, 9);
	auto want = run_on(cpu, file, x);
	npu_model *m;
	ASSERT_EQ(npu_model_load_memory(sim, file.data(), file.size(), &m), NPU_OK);
	npu_hw *hw = npui_device_hw(sim);
	ASSERT_NE(hw, nullptr);
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};

	uint64_t c0 = hw->calls;
	ASSERT_EQ(npu_run(m, &io), NPU_OK);
	const long calls = (long)(hw->calls - c0);
	ASSERT_GT(calls, 0);
	int failed = 0;
	// Every call of the job's set-up (windows, first ring fills), then
	// samples spread over the rest: each run is a whole simulated net.
	const long dense = 24, samples = 12;
	const long step = calls > dense + samples ? (calls - dense) / samples : 1;
	// Each kind of backend failure: a vanished device, a wait that timed
	// out (a hang), an I/O error.
	const int kinds[] = {NPU_ERR_DISCONNECTED, NPU_ERR_TIMEOUT, NPU_ERR_IO};
	for (long n = 1; n <= calls; n += n < dense ? 1 : step) {
		hw->fail_status = kinds[n % 3];
		hw->fail_countdown = n;
		int rc = npu_run(m, &io);
		hw->fail_countdown = 0;
		if (rc != NPU_OK) {
			failed++;
			EXPECT_STRNE(npu_status_name(rc), "NPU_ERR_UNKNOWN") << "n=" << n;
			EXPECT_TRUE(rc == kinds[n % 3] || rc == NPU_ERR_DEVICE_FAULT)
			        << "n=" << n << ": " << npu_status_name(rc);
		}
		std::fill(y.begin(), y.end(), 0x33);
		ASSERT_EQ(npu_run(m, &io), NPU_OK) << "device not usable after fault at call " << n
		                                   << ": " << npu_last_error();
		ASSERT_EQ(y, want) << "wrong bytes after fault at call " << n;
	}
	EXPECT_GT(failed, 0);
	npu_model_free(m);
	npu_close(cpu);
	npu_close(sim);
}

} // namespace
