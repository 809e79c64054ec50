// What the PCIe guest's tests share (docs/PCIE.md, "The guest job"): the
// devices tools/pcie-guest/init bound and named in the environment, the
// models tools/pcie-guest/mkinitramfs put in the image, and one inference
// with its profile. Header-only; the tests run only inside the guest,
// where a missing device or model is a failure, never a skip.
#ifndef NPU_TESTS_GUEST_GUEST_H
#define NPU_TESTS_GUEST_GUEST_H

#include <gtest/gtest.h>

#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "npu.h"
#include "tests/common/inputs.h"
#include "tests/common/placement.h"
#include "tests/sim/zoo_model.h"

namespace npu_guest
{

using Clock = std::chrono::steady_clock;

inline double MsSince(Clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// $name as /init set it ("" and a test failure when unset: the binary ran
// outside the guest, or /init lost a device).
inline std::string Env(const char *name)
{
	const char *v = getenv(name);
	EXPECT_NE(v, nullptr) << name
	                      << " is not set: run this binary through tools/pcie-guest/run";
	return v ? v : "";
}

// The model file NET-SIZE.npu in $NPU_GUEST_MODELS; size 0: the smallest
// size there. *size_out gets the size found. Empty (and a failure) when
// there is none.
inline std::vector<uint8_t> LoadModel(const std::string &net, int size, int *size_out = nullptr)
{
	const std::string dir = Env("NPU_GUEST_MODELS");
	if (size == 0) {
		DIR *d = opendir(dir.c_str());
		EXPECT_NE(d, nullptr) << dir;
		while (dirent *e = d ? readdir(d) : nullptr) {
			const std::string n = e->d_name, prefix = net + "-";
			if (n.compare(0, prefix.size(), prefix) != 0)
				continue;
			const int s = atoi(n.c_str() + prefix.size());
			if (s > 0 && (size == 0 || s < size))
				size = s;
		}
		if (d)
			closedir(d);
	}
	const std::string path = dir + "/" + net + "-" + std::to_string(size) + ".npu";
	std::vector<uint8_t> v;
	if (FILE *f = fopen(path.c_str(), "rb")) {
		uint8_t buf[65536];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			v.insert(v.end(), buf, buf + n);
		fclose(f);
	}
	EXPECT_FALSE(v.empty()) << "no model " << path << " in the initramfs";
	if (size_out)
		*size_out = size;
	return v;
}

// One inference of a model on a device, int8 in and out.
struct Run {
	int rc = NPU_OK;         // the first failing call's status
	std::vector<int8_t> out; // empty unless it ran
	std::vector<npu_layer_profile> prof;
	struct npu_model_cost cost {
	};
	double run_ms = 0; // npu_run's host time
};

inline Run RunOnce(npu_device *dev, const std::vector<uint8_t> &file, const std::vector<int8_t> &x)
{
	Run r;
	npu_model *m = nullptr;
	r.rc = npu_model_load_memory(dev, file.data(), file.size(), &m);
	if (r.rc != NPU_OK)
		return r;
	npu_tensor_info info;
	npu_model_output(m, &info);
	std::vector<int8_t> y(info.elements, 0x5a);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	const auto t0 = Clock::now();
	r.rc = npu_run(m, &io);
	r.run_ms = MsSince(t0);
	if (r.rc == NPU_OK) {
		r.out = y;
		unsigned n = npu_model_num_layers(m);
		r.prof.resize(n);
		EXPECT_EQ(npu_model_profile(m, r.prof.data(), n, &n), NPU_OK);
		EXPECT_EQ(npu_model_cost(m, &r.cost), NPU_OK);
	}
	npu_model_free(m);
	return r;
}

// The seeded input of a SIZE x SIZE x 3 model.
inline std::vector<int8_t> Input(int size, uint32_t seed)
{
	return npu_test::SeededInput(static_cast<size_t>(size) * size * 3, seed);
}

// The model on device uri, bit-exact against the cpu device (computed
// here, in the guest: the cpu device is deterministic) and with every
// layer where the scheduler placed it, from the device's own profile: a
// layer that fell back to the CPU would give the same bytes, the profile
// catches it (tests/common/placement.h).
inline void ExpectBitExactWithPlacement(const std::string &uri, const std::string &net, int size,
                                        uint32_t seed)
{
	int got_size = 0;
	const std::vector<uint8_t> file = LoadModel(net, size, &got_size);
	ASSERT_FALSE(file.empty());
	const std::vector<int8_t> x = Input(got_size, seed);

	npu_device *cpu = nullptr;
	ASSERT_EQ(npu_open("cpu", &cpu), NPU_OK) << npu_last_error();
	const auto t_cpu = Clock::now();
	const Run want = RunOnce(cpu, file, x);
	const double cpu_ms = MsSince(t_cpu);
	npu_close(cpu);
	ASSERT_EQ(want.rc, NPU_OK)
	        << "cpu: " << npu_status_name(want.rc) << ": " << npu_last_error();

	npu_device *dev = nullptr;
	const int rc = npu_open(uri.c_str(), &dev);
	ASSERT_EQ(rc, NPU_OK) << uri << ": " << npu_status_name(rc) << ": " << npu_last_error();
	const Run r = RunOnce(dev, file, x);
	npu_close(dev);
	ASSERT_EQ(r.rc, NPU_OK) << uri << ": " << npu_status_name(r.rc) << ": " << npu_last_error();
	ASSERT_EQ(r.out.size(), want.out.size());
	long first = -1;
	for (size_t i = 0; i < r.out.size() && first < 0; i++)
		if (r.out[i] != want.out[i])
			first = static_cast<long>(i);
	EXPECT_EQ(first, -1) << net << "-" << got_size << " on " << uri
	                     << ": first output byte that differs from cpu";
	npu_test::ExpectPlacement(
	        npu_test::ProfileRuns(r.prof), npu_test::zoo_plan_counts(file, false),
	        npu_test::ExpectedZooPlacement(net, false, got_size), r.cost.macs);
	uint64_t cycles = 0;
	for (const npu_layer_profile &p : r.prof)
		cycles += p.cycles;
	::testing::Test::RecordProperty("npu_cycles", std::to_string(cycles));
	printf("  %s-%d on %s: npu_run %.0f ms (cpu device %.0f ms), %llu NPU cycles\n",
	       net.c_str(), got_size, uri.c_str(), r.run_ms, cpu_ms,
	       static_cast<unsigned long long>(cycles));
}

} // namespace npu_guest

#endif // NPU_TESTS_GUEST_GUEST_H
