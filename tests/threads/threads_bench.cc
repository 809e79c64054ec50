// Throughput of N threads sharing one device against one thread (the
// table in docs/PERFORMANCE.md, "Many threads on one device"). A
// benchmark, not a test: disabled by default, it asserts only that every
// frame succeeded, and prints medians. Run it with
//
//   NPU_BUILD=build build/bin/npu-tests --gtest_also_run_disabled_tests
//       --gtest_filter='ThreadsBench.*'
//
// NPU_BENCH_DEVICE (default sim), NPU_BENCH_FRAMES (frames per measurement,
// default 8; four times that for the small graph) and NPU_BENCH_REPS
// (measurements per point, default 5) change it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "npu.h"
#include "tests/common/backends.h"
#include "tests/common/test_env.h"
#include "tests/model/graph_builder.h"
#include "tests/sim/zoo_model.h"

namespace
{

// Frames per second of `frames` npu_run() calls spread over `threads`
// threads, each running its own share back to back on model m.
double fps(npu_model *m, size_t in_n, size_t out_n, int threads, int frames)
{
	std::atomic<int> next{0}, failed{0};
	std::vector<std::thread> th;
	auto t0 = std::chrono::steady_clock::now();
	for (int t = 0; t < threads; t++)
		th.emplace_back([&, t] {
			std::vector<int8_t> x(in_n, static_cast<int8_t>(t)), y(out_n);
			npu_io io = {NPU_IO_INT8, x.data(), x.size(),
			             NPU_IO_INT8, y.data(), y.size()};
			while (next++ < frames)
				if (npu_run(m, &io) != NPU_OK)
					failed++;
		});
	for (auto &x : th)
		x.join();
	double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	EXPECT_EQ(failed.load(), 0);
	return frames / s;
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void bench(npu_device *dev, const char *name, const std::vector<uint8_t> &file, int frames,
           int reps)
{
	npu_model *m = nullptr;
	ASSERT_EQ(npu_model_load_memory(dev, file.data(), file.size(), &m), NPU_OK)
	        << npu_last_error();
	npu_tensor_info ti, to;
	npu_model_input(m, &ti);
	npu_model_output(m, &to);
	fps(m, ti.elements, to.elements, 1, 2); // warm-up
	double one = 0;
	printf("| %s | threads | frames/s (median of %d) | min .. max | vs 1 thread |\n", name,
	       reps);
	for (int n : {1, 2, 4, 8}) {
		std::vector<double> v;
		for (int r = 0; r < reps; r++)
			v.push_back(fps(m, ti.elements, to.elements, n, frames));
		double med = median(v);
		if (n == 1)
			one = med;
		printf("| | %d | %.2f | %.2f .. %.2f | %.2fx |\n", n, med,
		       *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()),
		       med / one);
		fflush(stdout);
	}
	npu_model_free(m);
}

TEST(ThreadsBench, DISABLED_ThroughputOneDevice)
{
	const char *uri = getenv("NPU_BENCH_DEVICE") ? getenv("NPU_BENCH_DEVICE") : "sim";
	NPU_TEST_REQUIRE_BACKEND(uri);
	const int frames = static_cast<int>(npu_test_env_int("NPU_BENCH_FRAMES", 8, 1, 100000));
	const int reps = static_cast<int>(npu_test_env_int("NPU_BENCH_REPS", 5, 1, 1000));
	npu_device *dev = nullptr;
	ASSERT_EQ(npu_open(uri, &dev), NPU_OK) << npu_last_error();
	printf("device %s, %d frames per measurement, %u host cores\n", uri, frames,
	       std::thread::hardware_concurrency());
	bench(dev, "tests/model mobile_graph (8x8x4)",
	      modeltest::ModelFile(modeltest::mobile_graph().get()).b, frames * 4, reps);
	bench(dev, "zoo mobilenet_v3_small 32x32", npu_test::zoo_model("mobilenet_v3_small", 32),
	      frames, reps);
	npu_close(dev);
}

} // namespace
