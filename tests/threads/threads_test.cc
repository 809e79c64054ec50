// Many threads on one device (issue 14, item 5): 8 threads x 100 runs of
// three models mixed, every output byte equal to the cpu device's; and
// npu_model_free(), npu_close() and npu_wait() called while other threads
// submit: no use-after-free (ASan, `make tsan`), no hang, the documented
// results (docs/API.md, "Threading and overlap"). On `cpu` and on `sim`;
// the graphs are tiny (tests/model's GraphBuilder) so that sim stays fast:
// one job costs about 15 ms of Verilator time, mostly per-job overhead.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "npu.h"
#include "tests/common/backends.h"
#include "tests/common/test_env.h"
#include "tests/model/graph_builder.h"

namespace
{

using Bytes = std::vector<int8_t>;
using modeltest::GraphPtr;
using modeltest::ModelFile;

constexpr int kModels = 3;
constexpr int kInputs = 4; // per model

Bytes seeded(size_t n, uint32_t seed)
{
	Bytes x(n);
	uint32_t s = seed * 2654435761u + 7;
	for (auto &v : x) {
		s = s * 1664525u + 1013904223u;
		v = static_cast<int8_t>(s >> 24);
	}
	return x;
}

// A 1x1 conv (one NPU step); a depthwise conv then h-swish (an NPU step,
// then a CPU-fallback step: both lanes); global pool then FC.
GraphPtr pw_graph()
{
	modeltest::GraphBuilder b("pw", 11);
	int in = b.tensor("in", 4, 4, 8, 0.03f, 3);
	int out = b.conv("pw", in, 8, 1, 1, 0, 1, NPUI_ACT_RELU);
	return b.build(in, out);
}

GraphPtr dw_lut_graph()
{
	modeltest::GraphBuilder b("dw_lut", 12);
	int in = b.tensor("in", 4, 4, 8, 0.02f, -5);
	int d = b.dwconv("dw", in, 3, 1, 1);
	int out = b.lut("hswish", d, NPUI_LUT_HSWISH);
	return b.build(in, out);
}

GraphPtr gap_fc_graph()
{
	modeltest::GraphBuilder b("gap_fc", 13);
	int in = b.tensor("in", 2, 2, 8, 0.04f, 0);
	int g = b.gap("gap", in);
	int out = b.fc("fc", g, 4);
	return b.build(in, out);
}

// The three graphs, their inputs, and the cpu device's outputs.
struct Corpus {
	std::vector<uint8_t> file[kModels];
	size_t in_n[kModels], out_n[kModels];
	std::vector<Bytes> xs[kModels], want[kModels];

	Corpus()
	{
		GraphPtr g[kModels] = {pw_graph(), dw_lut_graph(), gap_fc_graph()};
		npu_device *cpu = nullptr;
		EXPECT_EQ(npu_open("cpu", &cpu), NPU_OK);
		for (int mi = 0; mi < kModels; mi++) {
			file[mi] = ModelFile(g[mi].get()).b;
			const npui_graph *gg = g[mi].get();
			const npui_tensor &ti = gg->tensors[gg->input],
			                  &to = gg->tensors[gg->output];
			in_n[mi] = static_cast<size_t>(ti.h) * ti.w * ti.c;
			out_n[mi] = static_cast<size_t>(to.h) * to.w * to.c;
			npu_model *m = nullptr;
			EXPECT_EQ(npu_model_load_memory(cpu, file[mi].data(), file[mi].size(), &m),
			          NPU_OK);
			for (int k = 0; k < kInputs; k++) {
				xs[mi].push_back(seeded(in_n[mi], 100 * mi + k));
				Bytes y(out_n[mi], 0x5a);
				npu_io io = {NPU_IO_INT8, xs[mi][k].data(), in_n[mi],
				             NPU_IO_INT8, y.data(),         out_n[mi]};
				EXPECT_EQ(npu_run(m, &io), NPU_OK);
				want[mi].push_back(y);
			}
			npu_model_free(m);
		}
		npu_close(cpu);
	}
};

const Corpus &corpus()
{
	static const Corpus c;
	return c;
}

// One inference of model mi, input k, in a fresh poisoned output buffer.
struct Frame {
	int mi, k;
	Bytes y;
	npu_io io;
	npu_job *job = nullptr;

	Frame(int mi_, int k_) : mi(mi_), k(k_), y(corpus().out_n[mi_], 0x5a)
	{
		const Bytes &x = corpus().xs[mi][k];
		io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	}
	bool exact() const
	{
		return y == corpus().want[mi][k];
	}
};

class Threads : public ::testing::TestWithParam<const char *>
{
      protected:
	void SetUp() override
	{
		NPU_TEST_REQUIRE_BACKEND(GetParam());
		int rc = npu_open(GetParam(), &dev_);
		ASSERT_EQ(rc, NPU_OK) << npu_status_name(rc) << ": " << npu_last_error();
	}
	void TearDown() override
	{
		npu_close(dev_);
	}

	npu_model *load(int mi)
	{
		const std::vector<uint8_t> &f = corpus().file[mi];
		npu_model *m = nullptr;
		int rc = npu_model_load_memory(dev_, f.data(), f.size(), &m);
		EXPECT_EQ(rc, NPU_OK) << npu_status_name(rc) << ": " << npu_last_error();
		return m;
	}

	npu_device *dev_ = nullptr;
};

// Runs per thread; NPU_THREADS_RUNS makes a run longer or shorter.
int runs_per_thread()
{
	return static_cast<int>(npu_test_env_int("NPU_THREADS_RUNS", 100, 1, 100000));
}

// 8 threads x 100 inferences on one device, three models, each thread
// cycling through them and through four ways of waiting: npu_run,
// submit + wait(-1), two frames in flight, and polling with wait(0)
// (NPU_ERR_TIMEOUT must leave the job alive). Every output is the cpu
// device's, byte for byte.
TEST_P(Threads, EightThreadsMixedModelsBitExact)
{
	const int kThreads = 8, kRuns = runs_per_thread();
	npu_model *m[kModels];
	for (int mi = 0; mi < kModels; mi++)
		ASSERT_NE(m[mi] = load(mi), nullptr);

	std::vector<int> bad(kThreads, 0), done(kThreads, 0), errors(kThreads, 0);
	std::vector<std::thread> th;
	for (int t = 0; t < kThreads; t++)
		th.emplace_back([&, t] {
			std::vector<Frame> f;
			f.reserve(kRuns);
			for (int i = 0; i < kRuns; i++)
				f.emplace_back((t + i) % kModels, (t * 7 + i) % kInputs);
			auto finish = [&](Frame &fr, int rc) {
				if (rc != NPU_OK)
					errors[t]++;
				else if (!fr.exact())
					bad[t]++;
				done[t]++;
			};
			for (int i = 0; i < kRuns; i++) {
				Frame &fr = f[i];
				npu_model *mm = m[fr.mi];
				switch (t % 4) {
				case 0:
					finish(fr, npu_run(mm, &fr.io));
					break;
				case 1:
					if (npu_submit(mm, &fr.io, &fr.job) != NPU_OK)
						errors[t]++;
					else
						finish(fr, npu_wait(fr.job, -1));
					break;
				case 2: // frame i in flight while frame i-1 is waited
					if (npu_submit(mm, &fr.io, &fr.job) != NPU_OK) {
						errors[t]++;
						fr.job = nullptr;
					}
					if (i > 0 && f[i - 1].job)
						finish(f[i - 1], npu_wait(f[i - 1].job, -1));
					if (i == kRuns - 1 && fr.job)
						finish(fr, npu_wait(fr.job, -1));
					break;
				default: {
					if (npu_submit(mm, &fr.io, &fr.job) != NPU_OK) {
						errors[t]++;
						break;
					}
					int rc;
					while ((rc = npu_wait(fr.job, 0)) == NPU_ERR_TIMEOUT)
						std::this_thread::yield();
					finish(fr, rc);
					unsigned count = 0;
					if (npu_model_profile(mm, nullptr, 0, &count) != NPU_OK ||
					    count != npu_model_num_layers(mm))
						errors[t]++;
				}
				}
			}
		});
	for (auto &x : th)
		x.join();
	for (int t = 0; t < kThreads; t++) {
		EXPECT_EQ(done[t], kRuns) << "thread " << t;
		EXPECT_EQ(errors[t], 0) << "thread " << t;
		EXPECT_EQ(bad[t], 0) << "thread " << t << ": outputs differ from cpu";
	}
	for (int mi = 0; mi < kModels; mi++)
		npu_model_free(m[mi]);
}

// npu_model_free() of one model while six threads keep submitting to the
// others: it waits for its own queued jobs only (which stay valid for
// npu_wait() afterwards, with their bytes), does not disturb the other
// models' frames, and loading again works while they run.
TEST_P(Threads, ModelFreeWhileOthersSubmit)
{
	const int kWorkers = 6, kRuns = 20, kCycles = 8;
	npu_model *m[2];
	for (int mi = 0; mi < 2; mi++)
		ASSERT_NE(m[mi] = load(mi), nullptr);

	std::atomic<int> bad{0};
	std::vector<std::thread> th;
	for (int t = 0; t < kWorkers; t++)
		th.emplace_back([&, t] {
			for (int i = 0; i < kRuns; i++) {
				Frame fr(t % 2, i % kInputs);
				if (npu_run(m[fr.mi], &fr.io) != NPU_OK || !fr.exact())
					bad++;
			}
		});
	int freed_bad = 0;
	for (int c = 0; c < kCycles; c++) {
		npu_model *x = load(2);
		ASSERT_NE(x, nullptr);
		std::vector<Frame> f;
		f.reserve(3);
		for (int k = 0; k < 3; k++) {
			f.emplace_back(2, (c + k) % kInputs);
			ASSERT_EQ(npu_submit(x, &f[k].io, &f[k].job), NPU_OK);
		}
		npu_model_free(x); // waits for the three jobs
		for (auto &fr : f) {
			// Finished by now: a zero timeout must find them done.
			if (npu_wait(fr.job, 0) != NPU_OK || !fr.exact())
				freed_bad++;
		}
	}
	for (auto &x : th)
		x.join();
	EXPECT_EQ(freed_bad, 0);
	EXPECT_EQ(bad.load(), 0);
	for (int mi = 0; mi < 2; mi++)
		npu_model_free(m[mi]);
}

// npu_close() while four threads still run their models on the device:
// it returns at once (no wait for the threads), the threads' frames go on
// with exact bytes, and the device is released by the last npu_model_free()
// or npu_wait(): a job submitted before its model is freed is still waited
// for after both the free and the close.
TEST_P(Threads, CloseWhileOthersRun)
{
	const int kWorkers = 4, kRuns = 20;
	npu_device *dev = nullptr;
	ASSERT_EQ(npu_open(GetParam(), &dev), NPU_OK) << npu_last_error();
	npu_model *m[kWorkers];
	for (int t = 0; t < kWorkers; t++) {
		const std::vector<uint8_t> &f = corpus().file[t % kModels];
		ASSERT_EQ(npu_model_load_memory(dev, f.data(), f.size(), &m[t]), NPU_OK);
	}
	std::atomic<int> started{0}, bad{0}, after_close{0};
	std::atomic<bool> closed{false};
	std::vector<std::thread> th;
	for (int t = 0; t < kWorkers; t++)
		th.emplace_back([&, t] {
			const int mi = t % kModels;
			for (int i = 0; i < kRuns; i++) {
				Frame fr(mi, i % kInputs);
				if (npu_run(m[t], &fr.io) != NPU_OK || !fr.exact())
					bad++;
				if (i == 0) {
					// Hold the rest of the runs until npu_close() has
					// returned, so that they run after it however fast
					// the device is; an npu_close() that waited for the
					// threads would leave them here for the whole 10 s
					// and after_close at 0.
					started++;
					auto until = std::chrono::steady_clock::now() +
					             std::chrono::seconds(10);
					while (!closed && std::chrono::steady_clock::now() < until)
						std::this_thread::yield();
				}
				if (closed)
					after_close++;
			}
			Frame last(mi, t % kInputs);
			if (npu_submit(m[t], &last.io, &last.job) != NPU_OK) {
				bad++;
				return;
			}
			npu_model_free(m[t]);
			if (npu_wait(last.job, -1) != NPU_OK || !last.exact())
				bad++;
		});
	while (started < kWorkers)
		std::this_thread::yield();
	npu_close(dev);
	closed = true;
	for (auto &x : th)
		x.join();
	EXPECT_EQ(bad.load(), 0);
	EXPECT_GT(after_close.load(), 0) << "npu_close() waited for the threads";
}

// Threads blocked in npu_wait(job, -1) while the submitting thread frees
// the model and closes the device at once: every waiter wakes with its
// job's status and bytes; none touches a released device (ASan/TSan).
TEST_P(Threads, WaitersOutliveModelFreeAndClose)
{
	const int kWaiters = 4;
	for (int round = 0; round < 3; round++) {
		npu_device *dev = nullptr;
		ASSERT_EQ(npu_open(GetParam(), &dev), NPU_OK) << npu_last_error();
		const std::vector<uint8_t> &f = corpus().file[round % kModels];
		npu_model *m = nullptr;
		ASSERT_EQ(npu_model_load_memory(dev, f.data(), f.size(), &m), NPU_OK);
		std::vector<Frame> fr;
		fr.reserve(kWaiters);
		for (int k = 0; k < kWaiters; k++) {
			fr.emplace_back(round % kModels, k % kInputs);
			ASSERT_EQ(npu_submit(m, &fr[k].io, &fr[k].job), NPU_OK);
		}
		std::vector<int> rc(kWaiters, NPU_ERR_INTERNAL);
		std::vector<std::thread> th;
		for (int k = 0; k < kWaiters; k++)
			th.emplace_back([&, k] { rc[k] = npu_wait(fr[k].job, -1); });
		npu_model_free(m);
		npu_close(dev);
		for (auto &x : th)
			x.join();
		for (int k = 0; k < kWaiters; k++) {
			EXPECT_EQ(rc[k], NPU_OK) << "round " << round << " job " << k;
			EXPECT_TRUE(fr[k].exact()) << "round " << round << " job " << k;
		}
	}
}

// The single-threaded form of the contract: jobs submitted, model freed,
// device closed, and only then waited for.
TEST_P(Threads, WaitAfterModelFreeAndClose)
{
	npu_device *dev = nullptr;
	ASSERT_EQ(npu_open(GetParam(), &dev), NPU_OK) << npu_last_error();
	npu_model *m = nullptr;
	const std::vector<uint8_t> &f = corpus().file[0];
	ASSERT_EQ(npu_model_load_memory(dev, f.data(), f.size(), &m), NPU_OK);
	std::vector<Frame> fr;
	fr.reserve(3);
	for (int k = 0; k < 3; k++) {
		fr.emplace_back(0, k);
		ASSERT_EQ(npu_submit(m, &fr[k].io, &fr[k].job), NPU_OK);
	}
	npu_model_free(m);
	npu_close(dev);
	for (auto &x : fr) {
		EXPECT_EQ(npu_wait(x.job, 0), NPU_OK);
		EXPECT_TRUE(x.exact());
	}
}

INSTANTIATE_TEST_SUITE_P(Devices, Threads, ::testing::Values("cpu", "sim"),
                         [](const ::testing::TestParamInfo<const char *> &i) {
	                         return std::string(i.param);
                         });

} // namespace
