// The runtime's two lanes on the simulated NPU: frames of one model queued
// back to back give exactly the bytes of synchronous runs (and of the cpu
// device) while frame k's CPU fallback runs beside frame k+1's NPU work;
// threads and models share one device; a fault in the middle of a stream
// fails only the jobs it hits and leaves both lanes working.
#include <gtest/gtest.h>

#include <chrono>
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
#include "tests/common/inputs.h"
#include "tests/sim/zoo_model.h"

namespace
{

using Bytes = std::vector<int8_t>;

Bytes seeded(size_t n, uint32_t seed)
{
	return npu_test::SeededInput(n, seed);
}

// A model loaded on a device, with helpers for its I/O sizes.
struct Loaded {
	npu_model *m = nullptr;
	size_t in_n = 0, out_n = 0;

	Loaded(npu_device *dev, const std::vector<uint8_t> &file)
	{
		int rc = npu_model_load_memory(dev, file.data(), file.size(), &m);
		EXPECT_EQ(rc, NPU_OK) << npu_status_name(rc) << ": " << npu_last_error();
		if (!m)
			return;
		npu_tensor_info t;
		npu_model_input(m, &t);
		in_n = t.elements;
		npu_model_output(m, &t);
		out_n = t.elements;
	}
	~Loaded()
	{
		npu_model_free(m);
	}

	Bytes run(const Bytes &x, int *rc_out = nullptr) const
	{
		Bytes y(out_n, 0x5a);
		npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
		int rc = npu_run(m, &io);
		if (rc_out)
			*rc_out = rc;
		else
			EXPECT_EQ(rc, NPU_OK) << npu_status_name(rc) << ": " << npu_last_error();
		return rc == NPU_OK ? y : Bytes{};
	}
};

// Submit every input back to back, then wait for all; rcs[i] per frame.
std::vector<Bytes> queued(const Loaded &l, const std::vector<Bytes> &xs, std::vector<int> *rcs)
{
	const size_t n = xs.size();
	std::vector<Bytes> ys(n, Bytes(l.out_n, 0x5a));
	std::vector<npu_io> ios(n);
	std::vector<npu_job *> jobs(n);
	rcs->assign(n, NPU_ERR_INTERNAL);
	for (size_t i = 0; i < n; i++) {
		ios[i] = {NPU_IO_INT8, xs[i].data(), xs[i].size(),
		          NPU_IO_INT8, ys[i].data(), ys[i].size()};
		EXPECT_EQ(npu_submit(l.m, &ios[i], &jobs[i]), NPU_OK);
	}
	for (size_t i = 0; i < n; i++)
		(*rcs)[i] = npu_wait(jobs[i], -1);
	return ys;
}

double secs_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// mobilenet_v3_small input: small enough for sim in CI; SE and h-swish
// still fall back to the CPU.
constexpr int kSize = 32;

// N frames back to back: exactly the bytes of N synchronous runs on sim
// and on cpu, the profile of the last frame complete, and the counters
// show frame k's CPU fallback running beside a later frame's NPU work.
TEST(SimOverlap, QueuedFramesExactAndOverlapping)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	auto file = npu_test::zoo_model("mobilenet_v3_small", kSize);
	npu_device *sim, *cpu;
	ASSERT_EQ(npu_open("sim", &sim), NPU_OK) << npu_last_error();
	ASSERT_EQ(npu_open("cpu", &cpu), NPU_OK);
	{
		Loaded ls(sim, file), lc(cpu, file);
		ASSERT_TRUE(ls.m && lc.m);
		const int N = 4;
		std::vector<Bytes> xs, want;
		double sync_s = 0;
		for (int i = 0; i < N; i++) {
			xs.push_back(seeded(ls.in_n, 200 + i));
			auto t0 = std::chrono::steady_clock::now();
			Bytes ys = ls.run(xs[i]);
			sync_s += secs_since(t0);
			Bytes yc = lc.run(xs[i]);
			ASSERT_EQ(ys, yc) << "sim differs from cpu, frame " << i;
			want.push_back(ys);
		}
		unsigned nl = npu_model_num_layers(ls.m), cnt = 0;
		std::vector<npu_layer_profile> sync_prof(nl);
		ASSERT_EQ(npu_model_profile(ls.m, sync_prof.data(), nl, &cnt), NPU_OK);
		ASSERT_EQ(cnt, nl);

		npui_overlap_stats before;
		ASSERT_EQ(npui_model_overlap_stats(ls.m, &before), NPU_OK);
		// Synchronous runs never have two frames in flight.
		EXPECT_EQ(before.overlaps, 0u);
		ASSERT_GT(before.cpu_steps, 0u) << "mobilenet_v3_small has no CPU fallback here";
		ASSERT_GT(before.npu_steps, 0u);

		std::vector<int> rcs;
		auto t0 = std::chrono::steady_clock::now();
		auto ys = queued(ls, xs, &rcs);
		double queued_s = secs_since(t0);
		for (int i = 0; i < N; i++) {
			ASSERT_EQ(rcs[i], NPU_OK)
			        << "frame " << i << ": " << npu_status_name(rcs[i]);
			ASSERT_EQ(ys[i], want[i]) << "frame " << i;
		}

		npui_overlap_stats st;
		ASSERT_EQ(npui_model_overlap_stats(ls.m, &st), NPU_OK);
		RecordProperty("sync_s", std::to_string(sync_s));
		RecordProperty("queued_s", std::to_string(queued_s));
		RecordProperty("cpu_behind_npu",
		               std::to_string(st.cpu_behind_npu - before.cpu_behind_npu));
		EXPECT_EQ(st.cpu_steps - before.cpu_steps, (uint64_t)N * (before.cpu_steps / N));
		EXPECT_GT(st.cpu_behind_npu - before.cpu_behind_npu, 0u)
		        << "no CPU segment of frame k ran beside an NPU segment of a later frame";

		// The profile is the last frame's: same layers, engines and
		// placement as a synchronous run; every layer measured.
		std::vector<npu_layer_profile> prof(nl);
		ASSERT_EQ(npu_model_profile(ls.m, prof.data(), nl, &cnt), NPU_OK);
		ASSERT_EQ(cnt, nl);
		for (unsigned i = 0; i < nl; i++) {
			SCOPED_TRACE(prof[i].name);
			EXPECT_STREQ(prof[i].name, sync_prof[i].name);
			EXPECT_STREQ(prof[i].engine, sync_prof[i].engine);
			EXPECT_EQ(prof[i].macs, sync_prof[i].macs);
			EXPECT_EQ(prof[i].bound_cycles, sync_prof[i].bound_cycles);
			EXPECT_EQ(prof[i].folded, sync_prof[i].folded);
			if (!strcmp(prof[i].engine, "cpu")) {
				EXPECT_EQ(prof[i].cycles, 0u);
			} else if (!prof[i].folded) {
				EXPECT_GT(prof[i].cycles, 0u);
			}
		}
	}
	npu_close(cpu);
	npu_close(sim);
}

// The cpu device (one lane, one context) keeps its contract: queued frames
// give the bytes of synchronous ones, and nothing overlaps.
TEST(SimOverlap, CpuDeviceQueuedFrames)
{
	auto file = npu_test::zoo_model("mobilenet_v3_small", kSize);
	npu_device *cpu;
	ASSERT_EQ(npu_open("cpu", &cpu), NPU_OK);
	{
		Loaded l(cpu, file);
		ASSERT_TRUE(l.m);
		std::vector<Bytes> xs, want;
		for (int i = 0; i < 5; i++) {
			xs.push_back(seeded(l.in_n, 300 + i));
			want.push_back(l.run(xs[i]));
		}
		std::vector<int> rcs;
		auto ys = queued(l, xs, &rcs);
		for (size_t i = 0; i < xs.size(); i++) {
			EXPECT_EQ(rcs[i], NPU_OK);
			EXPECT_EQ(ys[i], want[i]) << "frame " << i;
		}
		npui_overlap_stats st;
		ASSERT_EQ(npui_model_overlap_stats(l.m, &st), NPU_OK);
		EXPECT_EQ(st.overlaps, 0u);
		EXPECT_EQ(st.npu_steps, 0u);
		EXPECT_EQ(st.cpu_steps, 2 * xs.size());
	}
	npu_close(cpu);
}

// Four threads share one device and two models, each keeping two frames
// in flight: every frame has its synchronous bytes.
TEST(SimOverlap, FourThreadsTwoModels)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	auto f1 = npu_test::zoo_model("mobilenet_v3_small", kSize);
	auto f2 = npu_test::zoo_model("mobilenet_v2", 32);
	npu_device *sim;
	ASSERT_EQ(npu_open("sim", &sim), NPU_OK) << npu_last_error();
	{
		Loaded a(sim, f1), b(sim, f2);
		ASSERT_TRUE(a.m && b.m);
		const Loaded *models[2] = {&a, &b};
		const int K = 3; // inputs per model
		std::vector<Bytes> xs[2], want[2];
		for (int mi = 0; mi < 2; mi++)
			for (int k = 0; k < K; k++) {
				xs[mi].push_back(seeded(models[mi]->in_n, 400 + 10 * mi + k));
				want[mi].push_back(models[mi]->run(xs[mi][k]));
			}

		std::vector<int> bad(4, 0);
		std::vector<std::thread> th;
		for (int t = 0; t < 4; t++)
			th.emplace_back([&, t] {
				const int mi = t % 2;
				const Loaded &l = *models[mi];
				std::vector<Bytes> in = {xs[mi][t % K], xs[mi][(t + 1) % K]};
				std::vector<int> rcs;
				auto ys = queued(l, in, &rcs);
				for (int j = 0; j < 2; j++)
					if (rcs[j] != NPU_OK || ys[j] != want[mi][(t + j) % K])
						bad[t]++;
			});
		for (auto &t : th)
			t.join();
		for (int t = 0; t < 4; t++)
			EXPECT_EQ(bad[t], 0) << "thread " << t;
	}
	npu_close(sim);
}

// A backend call failing in the middle of a stream of queued frames: the
// frames it hits fail with a named error (and free their context), the
// others keep their exact bytes, and the next stream is all right.
TEST(SimOverlap, FaultMidStreamLeavesDeviceUsable)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	auto file = npu_test::zoo_model("mobilenet_v3_small", kSize);
	npu_device *sim;
	ASSERT_EQ(npu_open("sim", &sim), NPU_OK) << npu_last_error();
	npu_hw *hw = npui_device_hw(sim);
	ASSERT_NE(hw, nullptr);
	{
		Loaded l(sim, file);
		ASSERT_TRUE(l.m);
		const int N = 3;
		std::vector<Bytes> xs, want;
		uint64_t c0 = hw->calls;
		for (int i = 0; i < N; i++) {
			xs.push_back(seeded(l.in_n, 500 + i));
			want.push_back(l.run(xs[i]));
		}
		const long per_frame = (long)((hw->calls - c0) / N);
		ASSERT_GT(per_frame, 10);

		const int kinds[] = {NPU_ERR_DISCONNECTED, NPU_ERR_TIMEOUT, NPU_ERR_IO};
		// Early in frame 2 (frame 1's CPU tail may be running), and late
		// in frame 3.
		const long at[] = {per_frame + per_frame / 7, per_frame * 3 - 3};
		int total_failed = 0;
		for (size_t f = 0; f < sizeof(at) / sizeof(at[0]); f++) {
			SCOPED_TRACE("fault at call " + std::to_string(at[f]));
			// Set while the device is idle: the lanes see it through
			// the submit's lock.
			hw->fail_status = kinds[f % 3];
			hw->fail_countdown = at[f];
			std::vector<int> rcs;
			auto ys = queued(l, xs, &rcs);
			hw->fail_countdown = 0;
			int failed = 0;
			for (int i = 0; i < N; i++) {
				if (rcs[i] == NPU_OK) {
					EXPECT_EQ(ys[i], want[i]) << "frame " << i;
					continue;
				}
				failed++;
				EXPECT_TRUE(rcs[i] == kinds[f % 3] ||
				            rcs[i] == NPU_ERR_DEVICE_FAULT)
				        << "frame " << i << ": " << npu_status_name(rcs[i]);
			}
			EXPECT_GE(failed, 1);
			EXPECT_LT(failed, N) << "one fault failed every frame";
			total_failed += failed;

			auto again = queued(l, xs, &rcs);
			for (int i = 0; i < N; i++) {
				ASSERT_EQ(rcs[i], NPU_OK)
				        << "frame " << i
				        << " after the fault: " << npu_status_name(rcs[i]);
				ASSERT_EQ(again[i], want[i]) << "frame " << i << " after the fault";
			}
		}
		EXPECT_GT(total_failed, 0);
	}
	npu_close(sim);
}

// npu_model_free() waits for the model's queued jobs (both contexts busy
// and one waiting); they complete with their bytes and are still waited
// for afterwards, as npu_wait() requires; npu_close() then finds the lanes
// idle.
TEST(SimOverlap, ModelFreeWaitsForQueuedJobs)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	auto file = npu_test::zoo_model("mobilenet_v3_small", kSize);
	npu_device *sim;
	ASSERT_EQ(npu_open("sim", &sim), NPU_OK) << npu_last_error();
	std::vector<Bytes> xs, want;
	npu_model *m = nullptr;
	{
		Loaded l(sim, file);
		ASSERT_TRUE(l.m);
		for (int i = 0; i < 3; i++) {
			xs.push_back(seeded(l.in_n, 600 + i));
			want.push_back(l.run(xs[i]));
		}
	}
	ASSERT_EQ(npu_model_load_memory(sim, file.data(), file.size(), &m), NPU_OK);
	std::vector<Bytes> ys(3, Bytes(want[0].size(), 0x5a));
	std::vector<npu_io> ios(3);
	std::vector<npu_job *> jobs(3);
	for (int i = 0; i < 3; i++) {
		ios[i] = {NPU_IO_INT8, xs[i].data(), xs[i].size(),
		          NPU_IO_INT8, ys[i].data(), ys[i].size()};
		ASSERT_EQ(npu_submit(m, &ios[i], &jobs[i]), NPU_OK);
	}
	npu_model_free(m);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(npu_wait(jobs[i], 0), NPU_OK) << "frame " << i;
		EXPECT_EQ(ys[i], want[i]) << "frame " << i;
	}
	npu_close(sim);
}

} // namespace
