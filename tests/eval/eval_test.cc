// npu-eval as a user runs it: a committed Fashion-MNIST model classifies the
// first test images about as well as it did when it was measured (see
// models/README.md), the gzip and the already-gunzipped readers agree, and
// bad command lines and missing or broken data sets get clear errors.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>
#include "tests/common/backends.h"
#include "tests/common/shell.h"

using npu_test::bin_dir;
using npu_test::exists;
using npu_test::Result;
using npu_test::run;

namespace
{

// The model the test runs and what it scored on the first kImages test
// images on the cpu device when measured (models/README.md); the bound
// leaves a margin for a changed but still correct compiler or kernel.
const char kModel[] = "models/fmnist_shufflenet_v2_x1_0.npu";
const int kImages = 200;
const int kMinCorrect = 160; // measured 173/200 (86.5 %); margin 13 images

const char kDataDir[] = "/usr/share/datasets/fashion-mnist";

std::vector<int> read_predictions(const std::string &path)
{
	std::ifstream f(path);
	std::vector<int> v;
	int x;
	while (f >> x)
		v.push_back(x);
	return v;
}

// A .npy file's header dict and its payload as float32 (header length is
// bytes 8-9, version 1.0, as npu-eval writes it).
bool read_npy_f32(const std::string &path, std::string *header, std::vector<float> *v)
{
	std::ifstream f(path, std::ios::binary);
	std::vector<char> d((std::istreambuf_iterator<char>(f)), {});
	if (d.size() < 10 || memcmp(d.data(), "\x93NUMPY", 6) != 0)
		return false;
	size_t hl = (unsigned char)d[8] | (size_t)(unsigned char)d[9] << 8;
	if (d.size() < 10 + hl || (d.size() - 10 - hl) % 4)
		return false;
	header->assign(d.data() + 10, hl);
	v->resize((d.size() - 10 - hl) / 4);
	memcpy(v->data(), d.data() + 10 + hl, v->size() * 4);
	return true;
}

class Eval : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/npu-eval-XXXXXX";
		dir_ = mkdtemp(tmpl);
	}
	void TearDown() override
	{
		run("rm -rf " + dir_);
	}
	// Skips (with the reason) when the data set or the model is absent.
	bool need_data_and_model()
	{
		if (!exists(std::string(kDataDir) + "/t10k-images-idx3-ubyte.gz")) {
			skip_ = std::string(kDataDir) +
			        " absent: install Debian's dataset-fashion-mnist";
			return false;
		}
		if (!exists(kModel)) {
			skip_ = std::string(kModel) + " absent (run from the repository root)";
			return false;
		}
		return true;
	}
	std::string eval()
	{
		return bin_dir() + "npu-eval --dataset fashion-mnist ";
	}
	std::string dir_, skip_;
};

TEST_F(Eval, HelpAndUsageErrors)
{
	Result r = run(bin_dir() + "npu-eval --help");
	EXPECT_EQ(r.status, 0);
	for (const char *s : {"--dataset", "--data-dir", "--device", "--limit", "--size",
	                      "--predictions", "--logits", "0.2860", "0.3530", "exit status"})
		EXPECT_NE(r.out.find(s), std::string::npos) << s;
	EXPECT_EQ(run(bin_dir() + "npu-eval").status, 2);
	EXPECT_EQ(run(bin_dir() + "npu-eval m.npu").status, 2); // no --dataset
	EXPECT_EQ(run(bin_dir() + "npu-eval m.npu --dataset cifar10").status, 2);
	EXPECT_EQ(run(eval() + "m.npu --limit 0").status, 2);
	EXPECT_EQ(run(eval() + "m.npu --limit x").status, 2);
	EXPECT_EQ(run(eval() + "m.npu --size 0").status, 2);
	EXPECT_EQ(run(eval() + "a.npu b.npu").status, 2);
	EXPECT_EQ(run(eval() + "m.npu --bogus").status, 2);
}

TEST_F(Eval, MissingDataDirIsAClearError)
{
	Result r = run(eval() + "m.npu --data-dir " + dir_ + "/nowhere");
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("NPU_ERR_IO"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("t10k-images-idx3-ubyte"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("dataset-fashion-mnist"), std::string::npos) << r.out;
}

TEST_F(Eval, BrokenIdxFileIsAClearError)
{
	std::ofstream(dir_ + "/t10k-images-idx3-ubyte") << "not an idx file";
	Result r = run(eval() + "m.npu --data-dir " + dir_);
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("NPU_ERR_IO"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("not an IDX file"), std::string::npos) << r.out;
}

TEST_F(Eval, FirstTestImagesAccuracy)
{
	if (!need_data_and_model())
		GTEST_SKIP() << skip_;
	std::string pred = dir_ + "/pred.txt";
	Result r = run(eval() + kModel + " --device cpu --limit " + std::to_string(kImages) +
	               " --predictions " + pred);
	ASSERT_EQ(r.status, 0) << r.out;
	size_t at = r.out.find("accuracy: ");
	ASSERT_NE(at, std::string::npos) << r.out;
	double acc = 0;
	int correct = -1, total = -1;
	ASSERT_EQ(sscanf(r.out.c_str() + at, "accuracy: %lf (%d/%d)", &acc, &correct, &total), 3)
	        << r.out;
	EXPECT_EQ(total, kImages);
	EXPECT_GE(correct, kMinCorrect) << r.out;
	for (const char *s : {"confusion matrix", "T-shirt/top", "Ankle boot", "recall"})
		EXPECT_NE(r.out.find(s), std::string::npos) << s;

	std::vector<int> p = read_predictions(pred);
	ASSERT_EQ(p.size(), (size_t)kImages);
	for (int c : p)
		EXPECT_TRUE(c >= 0 && c < 10) << c;
}

TEST_F(Eval, GunzippedFilesGiveTheSamePredictions)
{
	if (!need_data_and_model())
		GTEST_SKIP() << skip_;
	for (const char *f : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
		ASSERT_EQ(run(std::string("gzip -dc ") + kDataDir + "/" + f + ".gz > " + dir_ +
		              "/" + f)
		                  .status,
		          0);
	Result a = run(eval() + kModel + " --limit 20 --predictions " + dir_ + "/a.txt");
	Result b = run(eval() + kModel + " --limit 20 --data-dir " + dir_ + " --predictions " +
	               dir_ + "/b.txt");
	ASSERT_EQ(a.status, 0) << a.out;
	ASSERT_EQ(b.status, 0) << b.out;
	std::vector<int> pa = read_predictions(dir_ + "/a.txt");
	EXPECT_EQ(pa.size(), 20u);
	EXPECT_EQ(pa, read_predictions(dir_ + "/b.txt"));
}

// --logits writes float32 [N,10], the dequantized outputs: multiples of the
// printed output scale from its zero point, whose argmax is the prediction.
TEST_F(Eval, LogitsAreTheDequantizedOutputs)
{
	if (!need_data_and_model())
		GTEST_SKIP() << skip_;
	const int n = 20;
	Result r = run(eval() + kModel + " --limit " + std::to_string(n) + " --predictions " +
	               dir_ + "/p.txt --logits " + dir_ + "/l.npy");
	ASSERT_EQ(r.status, 0) << r.out;
	size_t at = r.out.find("output: scale ");
	ASSERT_NE(at, std::string::npos) << r.out;
	double scale = 0;
	int zp = 0;
	ASSERT_EQ(sscanf(r.out.c_str() + at, "output: scale %lf, zero point %d", &scale, &zp), 2)
	        << r.out;
	ASSERT_GT(scale, 0);

	std::string header;
	std::vector<float> l;
	ASSERT_TRUE(read_npy_f32(dir_ + "/l.npy", &header, &l));
	EXPECT_NE(header.find("'<f4'"), std::string::npos) << header;
	EXPECT_NE(header.find("(20, 10)"), std::string::npos) << header;
	ASSERT_EQ(l.size(), (size_t)n * 10);
	std::vector<int> p = read_predictions(dir_ + "/p.txt");
	ASSERT_EQ(p.size(), (size_t)n);
	for (int i = 0; i < n; i++) {
		int best = 0;
		for (int k = 0; k < 10; k++) {
			double q = l[i * 10 + k] / scale + zp;
			EXPECT_NEAR(q, std::round(q), 1e-3) << "n=" << i << " k=" << k;
			EXPECT_TRUE(q > -128.5 && q < 127.5) << "n=" << i << " k=" << k;
			if (l[i * 10 + k] > l[i * 10 + best])
				best = k;
		}
		EXPECT_EQ(best, p[i]) << "n=" << i;
	}

	r = run(eval() + kModel + " --limit 1 --logits " + dir_ + "/nowhere/l.npy");
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("--logits: NPU_ERR_IO"), std::string::npos) << r.out;
}

// Every committed model on the simulated NPU gives the cpu device's output
// bytes on real test images (the full 200-image prediction check, a few
// minutes per model, is in models/README.md; this is its CI-sized part,
// 0.7-2.3 s per 32x32 image on sim; 2 images each).
TEST_F(Eval, EveryTrainedModelIsExactOnSim)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	if (!need_data_and_model())
		GTEST_SKIP() << skip_;
	const char *nets[] = {"squeezenet1_0",      "squeezenet1_1",     "mobilenet_v1",
	                      "shufflenet_v1_g3",   "mobilenet_v2",      "mobilenet_v3_large",
	                      "mobilenet_v3_small", "shufflenet_v2_x1_0"};
	for (const char *net : nets) {
		std::string model = std::string("models/fmnist_") + net + ".npu";
		std::string lc = dir_ + "/" + net + ".cpu.npy", ls = dir_ + "/" + net + ".sim.npy";
		Result c = run(eval() + model + " --limit 2 --device cpu --logits " + lc);
		Result m = run(eval() + model + " --limit 2 --device sim --logits " + ls);
		ASSERT_EQ(c.status, 0) << net << ": " << c.out;
		ASSERT_EQ(m.status, 0) << net << ": " << m.out;
		std::string hc, hs;
		std::vector<float> vc, vs;
		ASSERT_TRUE(read_npy_f32(lc, &hc, &vc)) << net;
		ASSERT_TRUE(read_npy_f32(ls, &hs, &vs)) << net;
		EXPECT_EQ(vc.size(), 20u) << net;
		EXPECT_EQ(vs, vc) << net << ": sim and cpu outputs differ";
	}
}

TEST_F(Eval, WrongSizeIsAShapeError)
{
	if (!need_data_and_model())
		GTEST_SKIP() << skip_;
	Result r = run(eval() + kModel + " --limit 1 --size 17");
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("NPU_ERR_SHAPE"), std::string::npos) << r.out;
}

} // namespace
