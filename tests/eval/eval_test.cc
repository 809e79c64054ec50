// npu-eval as a user runs it: a committed Fashion-MNIST model classifies the
// first test images about as well as it did when it was measured (see
// models/README.md), the gzip and the already-gunzipped readers agree, and
// bad command lines and missing or broken data sets get clear errors.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace
{

// The model the test runs and what it scored on the first kImages test
// images on the cpu device when measured (models/README.md); the bound
// leaves a margin for a changed but still correct compiler or kernel.
const char kModel[] = "models/fmnist_shufflenet_v2_x1_0.npu";
const int kImages = 200;
const int kMinCorrect = 160; // measured 173/200 (86.5 %); margin 13 images

const char kDataDir[] = "/usr/share/datasets/fashion-mnist";

std::string bin_dir()
{
	const char *b = getenv("NPU_BUILD");
	return std::string(b && *b ? b : "build") + "/bin/";
}

struct Result {
	int status; // exit code, or 128+signal
	std::string out;
};

Result run(const std::string &cmd)
{
	Result r{-1, ""};
	FILE *p = popen((cmd + " 2>&1").c_str(), "r");
	if (!p)
		return r;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	int st = pclose(p);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

bool exists(const std::string &path)
{
	struct stat st;
	return stat(path.c_str(), &st) == 0;
}

std::vector<int> read_predictions(const std::string &path)
{
	std::ifstream f(path);
	std::vector<int> v;
	int x;
	while (f >> x)
		v.push_back(x);
	return v;
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
	                      "--predictions", "0.2860", "0.3530", "exit status"})
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

TEST_F(Eval, WrongSizeIsAShapeError)
{
	if (!need_data_and_model())
		GTEST_SKIP() << skip_;
	Result r = run(eval() + kModel + " --limit 1 --size 17");
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("NPU_ERR_SHAPE"), std::string::npos) << r.out;
}

} // namespace
