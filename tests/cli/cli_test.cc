// The command-line tools as a user runs them: npu-zoo builds the eight
// seed networks, npu-run runs each on the cpu device, repeatably, and
// corrupt model files are answered with a named error and exit status 1.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>
#include "tests/common/backends.h"
#include "tests/common/shell.h"

using npu_test::bin_dir;
using npu_test::Result;
using npu_test::run;

namespace
{

std::vector<char> slurp(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	return std::vector<char>(std::istreambuf_iterator<char>(f), {});
}

void spit(const std::string &path, const std::vector<char> &d)
{
	std::ofstream f(path, std::ios::binary);
	f.write(d.data(), d.size());
}

// The float32 payload of a .npy written by npu-run (header is 64-aligned).
std::vector<float> npy_floats(const std::vector<char> &d)
{
	if (d.size() < 10)
		return {};
	size_t hl = (unsigned char)d[8] | (size_t)(unsigned char)d[9] << 8;
	std::vector<float> v((d.size() - 10 - hl) / 4);
	memcpy(v.data(), d.data() + 10 + hl, v.size() * 4);
	return v;
}

const char *const kNets[] = {
        "squeezenet1_0", "squeezenet1_1",      "mobilenet_v1",       "shufflenet_v1_g3",
        "mobilenet_v2",  "mobilenet_v3_large", "mobilenet_v3_small", "shufflenet_v2_x1_0",
};

class Cli : public ::testing::Test
{
      protected:
	static void SetUpTestSuite()
	{
		char tmpl[] = "/tmp/npu-cli-XXXXXX";
		dir_ = mkdtemp(tmpl);
	}
	static void TearDownTestSuite()
	{
		run("rm -rf " + dir_);
	}
	// Build a zoo model once per suite, with 2 calibration inputs: these
	// tests are about the tools, and 16 (the default) costs more under ASan.
	static std::string model(const std::string &name)
	{
		std::string path = dir_ + "/" + name + ".npu";
		struct stat st;
		if (stat(path.c_str(), &st) != 0) {
			Result r = run(bin_dir() + "npu-zoo " + name + " --calib 2 -o " + path);
			EXPECT_EQ(r.status, 0) << r.out;
		}
		return path;
	}
	static std::string dir_;
};
std::string Cli::dir_;

TEST_F(Cli, RunHelpAndUsageErrors)
{
	Result r = run(bin_dir() + "npu-run --help");
	EXPECT_EQ(r.status, 0);
	for (const char *opt : {"--device", "--input", "--output", "--profile", "--repeat",
	                        "--verbose", "--seed", "exit status"})
		EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
	EXPECT_EQ(run(bin_dir() + "npu-run").status, 2);
	EXPECT_EQ(run(bin_dir() + "npu-run a b").status, 2);
	EXPECT_EQ(run(bin_dir() + "npu-run --repeat 0 x.npu").status, 2);
	EXPECT_EQ(run(bin_dir() + "npu-run --bogus x.npu").status, 2);
}

TEST_F(Cli, RunMissingFileAndUnknownDevice)
{
	Result r = run(bin_dir() + "npu-run " + dir_ + "/nope.npu");
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.out.find("NPU_ERR_IO"), std::string::npos) << r.out;
	r = run(bin_dir() + "npu-run --device quantum " + model("mobilenet_v3_small"));
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.out.find("NPU_ERR_NO_DEVICE"), std::string::npos) << r.out;
}

// Every zoo net: two runs give byte-identical outputs, which are not constant.
TEST_F(Cli, EveryZooNetRunsRepeatablyOnCpu)
{
	for (const char *net : kNets) {
		SCOPED_TRACE(net);
		std::string m = model(net), a = dir_ + "/" + net + ".a.npy",
		            b = dir_ + "/" + net + ".b.npy";
		Result r1 = run(bin_dir() + "npu-run --device cpu " + m + " --output " + a);
		ASSERT_EQ(r1.status, 0) << r1.out;
		EXPECT_NE(r1.out.find("top-5"), std::string::npos);
		Result r2 = run(bin_dir() + "npu-run --device cpu " + m + " --output " + b);
		ASSERT_EQ(r2.status, 0) << r2.out;
		auto da = slurp(a), db = slurp(b);
		ASSERT_GT(da.size(), 1000u * 4);
		EXPECT_EQ(da, db) << "two runs differ";
		auto v = npy_floats(da);
		ASSERT_EQ(v.size(), 1000u);
		std::set<float> distinct(v.begin(), v.end());
		EXPECT_GE(distinct.size(), 10u) << "output is (nearly) constant";
		// A different input seed gives a different output.
		std::string c = dir_ + "/" + net + ".c.npy";
		Result r3 = run(bin_dir() + "npu-run --seed 2 " + m + " --output " + c);
		ASSERT_EQ(r3.status, 0) << r3.out;
		EXPECT_NE(slurp(c), da) << "output does not depend on the input";
	}
}

TEST_F(Cli, InputFileRoundTripAndShapeErrors)
{
	std::string m = model("mobilenet_v3_small");
	// Write the seeded input ourselves as a .npy and feed it back.
	std::string x = dir_ + "/x.npy";
	std::string hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 224, 224, 3), }";
	while ((10 + hdr.size() + 1) % 64)
		hdr += ' ';
	hdr += '\n';
	std::vector<char> f = {'\x93',
	                       'N',
	                       'U',
	                       'M',
	                       'P',
	                       'Y',
	                       1,
	                       0,
	                       (char)(hdr.size() & 0xff),
	                       (char)(hdr.size() >> 8)};
	f.insert(f.end(), hdr.begin(), hdr.end());
	std::vector<float> px(224 * 224 * 3);
	for (size_t i = 0; i < px.size(); i++)
		px[i] = (float)((i * 7919) % 255) / 127.5f - 1.0f;
	f.insert(f.end(), (char *)px.data(), (char *)px.data() + px.size() * 4);
	spit(x, f);
	Result r =
	        run(bin_dir() + "npu-run " + m + " --input " + x + " --output " + dir_ + "/y1.npy");
	ASSERT_EQ(r.status, 0) << r.out;
	r = run(bin_dir() + "npu-run " + m + " --input " + x + " --output " + dir_ + "/y2.npy");
	ASSERT_EQ(r.status, 0) << r.out;
	EXPECT_EQ(slurp(dir_ + "/y1.npy"), slurp(dir_ + "/y2.npy"));

	// Wrong shape: a clear NPU_ERR_SHAPE, exit 1.
	std::string bad = dir_ + "/bad.npy";
	auto g = f;
	std::string s = "(1, 224, 224, 3)";
	std::string t = "(1, 3, 224, 224)";
	std::string all(g.begin(), g.end());
	all.replace(all.find(s), s.size(), t);
	spit(bad, std::vector<char>(all.begin(), all.end()));
	r = run(bin_dir() + "npu-run " + m + " --input " + bad);
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.out.find("NPU_ERR_SHAPE"), std::string::npos) << r.out;
	// ... which is the right shape when read as NCHW.
	r = run(bin_dir() + "npu-run " + m + " --nchw --input " + bad);
	EXPECT_EQ(r.status, 0) << r.out;
	// Not a .npy at all.
	r = run(bin_dir() + "npu-run " + m + " --input " + m);
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.out.find("not a .npy"), std::string::npos) << r.out;
}

TEST_F(Cli, ProfileJsonHasTheKeys)
{
	std::string m = model("shufflenet_v2_x1_0"), p = dir_ + "/p.json";
	Result r = run(bin_dir() + "npu-run " + m + " --profile " + p + " --repeat 2 --verbose");
	ASSERT_EQ(r.status, 0) << r.out;
	auto d = slurp(p);
	std::string j(d.begin(), d.end());
	for (const char *k :
	     {"\"total_cycles\"", "\"network_bound_cycles\"", "\"sum_layer_bound_cycles\"",
	      "\"bound_cycles\"", "\"macs\"", "\"dram_bytes\"", "\"cpu_ns\"", "\"clock_mhz\"",
	      "\"layers\"", "\"engine\"", "\"split\"", "\"shuffle\"", "\"concat\""})
		EXPECT_NE(j.find(k), std::string::npos) << k;
	if (system("command -v python3 >/dev/null 2>&1") == 0) {
		Result v = run("python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
		               "assert d[\"macs\"] == sum(l[\"macs\"] for l in d[\"layers\"])' " +
		               p);
		EXPECT_EQ(v.status, 0) << v.out;
	}
}

// The number after `"key": ` in npu-run's profile JSON (top-level keys are
// unique there); ~0 when the key is missing.
unsigned long long json_u64(const std::string &j, const std::string &key)
{
	size_t at = j.find("\"" + key + "\": ");
	return at == std::string::npos ? ~0ull
	                               : strtoull(j.c_str() + at + key.size() + 4, NULL, 10);
}

// The profile's network_bound_cycles is the bound npu-run --verbose prints
// (the network's, npu_model_cost()), so both give the same cycles/bound;
// the sum of the layers' bounds is named as one. On sim, at 32x32 (a net
// takes 3 to 12 s there even so), three nets that cover the placements:
// pools and concats, CPU fallback and DW, folded shuffles and split copies.
// All eight agree at 64x64 too (docs/API.md, "Profile outputs").
TEST_F(Cli, ProfileBoundIsTheNetworkBoundOnSim)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	for (const char *net : {"squeezenet1_1", "mobilenet_v3_small", "shufflenet_v2_x1_0"}) {
		SCOPED_TRACE(net);
		std::string m = dir_ + "/" + net + ".32.npu", p = dir_ + "/" + net + ".32.json";
		Result z = run(bin_dir() + "npu-zoo " + net + " --calib 2 --size 32 -o " + m);
		ASSERT_EQ(z.status, 0) << z.out;
		Result r =
		        run(bin_dir() + "npu-run --device sim " + m + " --verbose --profile " + p);
		ASSERT_EQ(r.status, 0) << r.out;
		unsigned long long cycles = 0, bound = 0, sum = 0;
		char ratio[32] = "";
		size_t at = r.out.find("\nNPU: ");
		ASSERT_NE(at, std::string::npos) << r.out;
		ASSERT_EQ(sscanf(r.out.c_str() + at + 1,
		                 "NPU: %llu cycles, network bound %llu cycles: cycles/bound "
		                 "%31[0-9.] "
		                 "(sum of layer bounds %llu cycles)",
		                 &cycles, &bound, ratio, &sum),
		          4)
		        << r.out.substr(at);
		auto d = slurp(p);
		std::string j(d.begin(), d.end());
		unsigned long long total = json_u64(j, "total_cycles");
		unsigned long long net_bound = json_u64(j, "network_bound_cycles");
		EXPECT_EQ(total, cycles);
		EXPECT_EQ(net_bound, bound);
		EXPECT_EQ(json_u64(j, "sum_layer_bound_cycles"), sum);
		ASSERT_GT(net_bound, 0u);
		char want[32];
		snprintf(want, sizeof(want), "%.2f", (double)total / (double)net_bound);
		EXPECT_STREQ(want, ratio);
		// The sum is the layers' bounds added up, never below the network's.
		unsigned long long layers = 0;
		for (size_t k = j.find("\"bound_cycles\": "); k != std::string::npos;
		     k = j.find("\"bound_cycles\": ", k + 1))
			layers += strtoull(j.c_str() + k + 16, NULL, 10);
		EXPECT_EQ(layers, sum);
		EXPECT_GE(sum, net_bound);
	}
}

// Truncated and bit-flipped files: exit 1, a named error, never a crash.
TEST_F(Cli, CorruptModelsGiveNamedErrors)
{
	std::string m = model("mobilenet_v3_small");
	auto good = slurp(m);
	ASSERT_GT(good.size(), 1000u);
	struct Case {
		std::string what;
		std::vector<char> data;
		const char *err;
	};
	std::vector<Case> cases;
	cases.push_back({"empty", {}, "NPU_ERR_MODEL_TRUNCATED"});
	cases.push_back({"half", std::vector<char>(good.begin(), good.begin() + good.size() / 2),
	                 "NPU_ERR_MODEL_TRUNCATED"});
	cases.push_back({"minus1", std::vector<char>(good.begin(), good.end() - 1),
	                 "NPU_ERR_MODEL_TRUNCATED"});
	for (size_t at : {size_t(100), good.size() / 3, good.size() - 5}) {
		auto f = good;
		f[at] ^= 0x04;
		cases.push_back({"flip@" + std::to_string(at), f, "NPU_ERR_MODEL_CHECKSUM"});
	}
	auto mg = good;
	mg[1] = 'X';
	cases.push_back({"magic", mg, "NPU_ERR_MODEL_MAGIC"});
	for (auto &c : cases) {
		std::string path = dir_ + "/corrupt.npu";
		spit(path, c.data);
		Result r = run(bin_dir() + "npu-run " + path);
		EXPECT_EQ(r.status, 1) << c.what << ": " << r.out;
		EXPECT_NE(r.out.find(c.err), std::string::npos) << c.what << ": " << r.out;
		EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1)
		        << c.what << ": " << r.out;
	}
}

} // namespace

// npu-bench --guidelines: the named variants run on sim, bit-exact against
// cpu, and the summary gives each its cycles per MAC against the family's
// first (1.00 for the first itself; G4's ReLU is fused, so with and without
// it the cycles are the same).
TEST_F(Cli, BenchGuidelinesRunsExactAndRelative)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	Result r = run(bin_dir() +
	               "npu-bench --guidelines --size 8 g2_g1 g2_g8 g4_relu_add g4_add 2>&1");
	ASSERT_EQ(r.status, 0) << r.out;
	for (const char *v : {"g2_g1", "g2_g8", "g4_relu_add", "g4_add"}) {
		size_t at = r.out.find(std::string("\n") + v + " ");
		ASSERT_NE(at, std::string::npos) << v << "\n" << r.out;
		std::string row = r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1);
		EXPECT_NE(row.find(" yes"), std::string::npos) << row;
	}
	double mm, mc, cpm, rel;
	char what[8];
	auto summary = [&](const char *v) {
		size_t at = r.out.find(std::string(" ") + v + " ", r.out.find("\nguideline"));
		EXPECT_NE(at, std::string::npos) << v << "\n" << r.out;
		if (at == std::string::npos)
			return -1.0;
		EXPECT_EQ(5, sscanf(r.out.c_str() + at, " %*s %lf %lf %lf %lf %7s", &mm, &mc, &cpm,
		                    &rel, what));
		return rel;
	};
	EXPECT_DOUBLE_EQ(1.0, summary("g2_g1"));
	EXPECT_GT(summary("g2_g8"), 1.0); // 8 groups cost more per MAC on a 16 x 16 array
	EXPECT_DOUBLE_EQ(1.0, summary("g4_relu_add"));
	EXPECT_DOUBLE_EQ(1.0, summary("g4_add"));
	Result bad = run(bin_dir() + "npu-bench --guidelines --size 8 g9_x 2>&1");
	EXPECT_EQ(1, bad.status) << bad.out;
	EXPECT_NE(bad.out.find("g9_x"), std::string::npos) << bad.out;
}
