// The npu-compile command line: a model compiles with a calibration .npy
// and labels and loads on the cpu device; errors are one line and exit 1;
// bad command lines exit 2. Binaries are taken from $NPU_BUILD/bin.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "npu.h"
#include "onnx_builder.h"
#include "tools/common/npy.h"
#include "tests/common/shell.h"

using onnxb::ai;
using onnxb::ints;
using onnxb::Model;

using npu_test::bin;
using npu_test::Result;
using npu_test::run;

namespace
{

class NpuCompileCli : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		if (access(bin("npu-compile").c_str(), X_OK))
			GTEST_SKIP() << bin("npu-compile") << " not built";
		char tmpl[] = "/tmp/npuc-cli-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir = tmpl;
	}
	void TearDown() override
	{
		if (!dir.empty())
			run("rm -rf '" + dir + "'");
	}
	void write(const std::string &name, const std::vector<uint8_t> &b)
	{
		std::ofstream f(dir + "/" + name, std::ios::binary);
		f.write(reinterpret_cast<const char *>(b.data()), std::streamsize(b.size()));
	}
	std::string dir;
};

Model small_net()
{
	Model m(3, 8, 8);
	m.rand_init("w", {4, 3, 3, 3}, 0.4);
	std::string c = m.node("Conv", {"input", "w"}, {{"pads", ints({1, 1, 1, 1})}}, 1, "conv");
	std::string r = m.node("Relu", {c});
	std::string p = m.node("GlobalAveragePool", {r});
	std::string f = m.node("Flatten", {p});
	m.rand_init("fw", {3, 4}, 0.5);
	m.output(m.node("Gemm", {f, "fw"}, {{"transB", ai(1)}}, 1, "fc"));
	return m;
}

} // namespace

TEST_F(NpuCompileCli, CompilesWithCalibrationAndLabels)
{
	Model m = small_net();
	write("m.onnx", m.bytes());
	std::vector<float> x(4 * 3 * 8 * 8);
	for (size_t i = 0; i < x.size(); i++)
		x[i] = float((i * 37 % 101) / 50.0 - 1.0);
	size_t shape[4] = {4, 3, 8, 8};
	ASSERT_EQ(npui_npy_write((dir + "/calib.npy").c_str(), NPUI_NPY_F32, shape, 4, x.data()),
	          NPU_OK);
	std::ofstream(dir + "/labels.txt") << "ant\nbee\ncat\n";
	Result r = run(bin("npu-compile") + " " + dir + "/m.onnx -o " + dir + "/m.npu --calib " +
	               dir + "/calib.npy --labels " + dir + "/labels.txt");
	ASSERT_EQ(r.status, 0) << r.out;
	EXPECT_NE(r.out.find("3 layers (conv 1, fc 1, gap 1)"), std::string::npos) << r.out;

	npu_device *dev;
	npu_model *mod;
	ASSERT_EQ(npu_open("cpu", &dev), NPU_OK);
	ASSERT_EQ(npu_model_load_file(dev, (dir + "/m.npu").c_str(), &mod), NPU_OK);
	EXPECT_EQ(npu_model_num_labels(mod), 3u);
	EXPECT_STREQ(npu_model_label(mod, 1), "bee");
	npu_model_free(mod);
	npu_close(dev);

	// A directory of .npy files works the same.
	run("mkdir -p " + dir + "/cal && cp " + dir + "/calib.npy " + dir + "/cal/a.npy");
	r = run(bin("npu-compile") + " " + dir + "/m.onnx -o " + dir + "/m2.npu -q --calib " + dir +
	        "/cal --calib-method percentile");
	EXPECT_EQ(r.status, 0) << r.out;
	EXPECT_EQ(r.out, "");
}

TEST_F(NpuCompileCli, ErrorsAreOneLine)
{
	Model m(3, 8, 8);
	m.output(m.node("LSTM", {"input"}, {}, 1, "/rnn/LSTM"));
	write("bad.onnx", m.bytes());
	Result r = run(bin("npu-compile") + " " + dir + "/bad.onnx -o " + dir + "/x.npu");
	EXPECT_EQ(r.status, 1);
	EXPECT_EQ(r.out, "npu-compile: error: node '/rnn/LSTM' (LSTM): not supported by lwnpu\n");

	write("junk.onnx", {0x12, 0x34, 0xff, 0xff, 0xff});
	r = run(bin("npu-compile") + " " + dir + "/junk.onnx -o " + dir + "/x.npu");
	EXPECT_EQ(r.status, 1);
	EXPECT_EQ(r.out, "npu-compile: error: not an ONNX model (protobuf ModelProto does not "
	                 "parse)\n");

	write("m.onnx", small_net().bytes());
	r = run(bin("npu-compile") + " " + dir + "/m.onnx -o " + dir + "/x.npu");
	EXPECT_EQ(r.status, 1);
	EXPECT_NE(r.out.find("no calibration inputs were given"), std::string::npos) << r.out;
	EXPECT_EQ(access((dir + "/x.npu").c_str(), F_OK), -1);

	r = run(bin("npu-compile") + " " + dir + "/m.onnx -o " + dir + "/x.npu --calib " + dir +
	        "/none.npy");
	EXPECT_EQ(r.status, 1) << r.out;
}

TEST_F(NpuCompileCli, BadCommandLines)
{
	EXPECT_EQ(run(bin("npu-compile")).status, 2);
	EXPECT_EQ(run(bin("npu-compile") + " m.onnx").status, 2);
	EXPECT_EQ(run(bin("npu-compile") + " m.onnx -o x --calib-method best").status, 2);
	EXPECT_EQ(run(bin("npu-compile") + " m.onnx -o x --input-size 64").status, 2);
	EXPECT_EQ(run(bin("npu-compile") + " m.onnx -o x --bogus").status, 2);
	Result r = run(bin("npu-compile") + " --help");
	EXPECT_EQ(r.status, 0);
	EXPECT_NE(r.out.find("--calib"), std::string::npos);
}
