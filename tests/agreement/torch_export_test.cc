// npu-compile on what torch.onnx.export really writes (tools/train/
// export_check.py), not on graphs built by hand: a seeded net whose export
// has Pad + AveragePool (a padded AvgPool2d) and Pad + Conv (F.pad before
// a strided conv) compiles, and its int8 outputs on cpu follow torch's
// float outputs and are bit-identical on sim; torchvision's convnext_tiny,
// which uses ops lwnpu lacks, gets a one-line error naming the node.
// Skipped, with the reason, when Debian's torch/torchvision is absent.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "npu.h"
#include "tools/common/npy.h"
#include "tests/common/backends.h"
#include "tests/common/shell.h"

using npu_test::bin;
using npu_test::Result;
using npu_test::run;

namespace
{

const char kPython[] = "/usr/bin/python3";
const char kScript[] = "tools/train/export_check.py";

std::vector<float> read_npy(const std::string &path, std::vector<size_t> *shape)
{
	npui_npy n{};
	char why[200] = "";
	EXPECT_EQ(npui_npy_read(path.c_str(), &n, why, sizeof(why)), NPU_OK) << path << ": " << why;
	std::vector<float> v;
	if (n.dtype == NPUI_NPY_F32 && n.data)
		v.assign(static_cast<float *>(n.data), static_cast<float *>(n.data) + n.count);
	shape->assign(n.shape, n.shape + n.ndim);
	npui_npy_free(&n);
	return v;
}

// Runs the model on device `uri` over the NCHW images of x (shape
// [N,C,H,W]); returns the raw int8 outputs and the dequantized ones.
void run_model(const std::string &file, const char *uri, const std::vector<float> &x,
               const std::vector<size_t> &xs, std::vector<int8_t> *q, std::vector<float> *f,
               float *scale)
{
	npu_device *dev = nullptr;
	npu_model *mod = nullptr;
	ASSERT_EQ(npu_open(uri, &dev), NPU_OK) << npu_last_error();
	ASSERT_EQ(npu_model_load_file(dev, file.c_str(), &mod), NPU_OK) << npu_last_error();
	npu_tensor_info oi;
	ASSERT_EQ(npu_model_output(mod, &oi), NPU_OK);
	*scale = oi.scale;
	size_t C = xs[1], H = xs[2], W = xs[3], per = C * H * W;
	for (size_t i = 0; i < xs[0]; i++) {
		std::vector<float> in(per);
		for (size_t c = 0; c < C; c++)
			for (size_t y = 0; y < H; y++)
				for (size_t xx = 0; xx < W; xx++)
					in[(y * W + xx) * C + c] =
					        x[i * per + (c * H + y) * W + xx];
		std::vector<int8_t> oq(oi.elements);
		npu_io io = {NPU_IO_FLOAT32, in.data(), in.size() * 4,
		             NPU_IO_INT8,    oq.data(), oq.size()};
		ASSERT_EQ(npu_run(mod, &io), NPU_OK) << npu_last_error();
		q->insert(q->end(), oq.begin(), oq.end());
		for (int8_t v : oq)
			f->push_back(float((int(v) - oi.zero_point) * double(oi.scale)));
	}
	npu_model_free(mod);
	npu_close(dev);
}

// The exports are made once for the suite (about 5 s).
class TorchExport : public ::testing::Test
{
      protected:
	static void SetUpTestSuite()
	{
		Result py = run(std::string(kPython) + " -c 'import torch, torchvision'");
		if (py.status != 0) {
			skip = std::string(kPython) +
			       " cannot import torch, torchvision (install " +
			       "Debian's python3-torch python3-torchvision): " + py.out;
			return;
		}
		if (access(kScript, R_OK)) {
			skip = std::string(kScript) + " absent (run from the repository root)";
			return;
		}
		if (access(bin("npu-compile").c_str(), X_OK)) {
			skip = bin("npu-compile") + " not built";
			return;
		}
		char tmpl[] = "/tmp/npu-export-XXXXXX";
		if (!mkdtemp(tmpl)) {
			made = {1, "mkdtemp failed"};
			return;
		}
		dir = tmpl;
		made = run(std::string(kPython) + " " + kScript + " " + dir);
	}
	static void TearDownTestSuite()
	{
		if (!dir.empty())
			run("rm -rf " + dir);
		dir.clear();
	}
	void SetUp() override
	{
		if (!skip.empty())
			GTEST_SKIP() << skip;
		ASSERT_EQ(made.status, 0) << made.out;
	}
	static std::string dir, skip;
	static Result made;
};

std::string TorchExport::dir, TorchExport::skip;
Result TorchExport::made{-1, ""};

TEST_F(TorchExport, PaddedPoolAndConvCompileAndFollowTorch)
{
	Result r = run(bin("npu-compile") + " " + dir + "/padded.onnx -o " + dir +
	               "/padded.npu --calib " + dir + "/calib.npy");
	ASSERT_EQ(r.status, 0) << r.out;
	// Two Pads folded away: conv, conv, two average pools, GAP, FC.
	EXPECT_NE(r.out.find("6 layers (conv 2, fc 1, avgpool 2, gap 1)"), std::string::npos)
	        << r.out;

	std::vector<size_t> xs, ws;
	std::vector<float> x = read_npy(dir + "/x.npy", &xs),
	                   want = read_npy(dir + "/want.npy", &ws);
	ASSERT_EQ(xs.size(), 4u);
	ASSERT_EQ(ws.size(), 2u);
	std::vector<int8_t> q_cpu, q_sim;
	std::vector<float> f_cpu, f_sim;
	float scale = 0, scale_sim = 0;
	run_model(dir + "/padded.npu", "cpu", x, xs, &q_cpu, &f_cpu, &scale);
	ASSERT_EQ(f_cpu.size(), want.size());
	// Against torch: within a few output steps everywhere (measured: at
	// most ~2), and the same top-1 class for every image.
	for (size_t i = 0; i < ws[0]; i++) {
		const float *g = &f_cpu[i * ws[1]], *w = &want[i * ws[1]];
		double worst = 0;
		for (size_t k = 0; k < ws[1]; k++)
			worst = std::max(worst, std::fabs(double(g[k]) - w[k]) / scale);
		printf("  image %zu: max |int8 - torch| = %.2f output steps\n", i, worst);
		EXPECT_LE(worst, 4.0) << "image " << i;
		EXPECT_EQ(std::max_element(g, g + ws[1]) - g, std::max_element(w, w + ws[1]) - w)
		        << "image " << i;
	}
	// The simulated NPU gives the cpu device's bytes (the checks above
	// have run; only this part needs the sim backend).
	NPU_TEST_REQUIRE_BACKEND("sim");
	run_model(dir + "/padded.npu", "sim", x, xs, &q_sim, &f_sim, &scale_sim);
	EXPECT_EQ(q_sim, q_cpu);
}

TEST_F(TorchExport, TorchvisionModelWithMissingOpsIsOneLineError)
{
	Result r = run(bin("npu-compile") + " " + dir + "/convnext.onnx -o " + dir +
	               "/convnext.npu --calib " + dir + "/calib32.npy");
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_EQ(r.out.rfind("npu-compile: error: node '/features/", 0), 0u) << r.out;
	EXPECT_NE(r.out.find("(Transpose): not supported by lwnpu"), std::string::npos) << r.out;
	EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
	struct stat st;
	EXPECT_NE(stat((dir + "/convnext.npu").c_str(), &st), 0) << "no output file on error";
}

} // namespace
