// The tools that write input metadata: npu-zoo always (RGB, crop 0.875,
// mean = std = 0.5), npu-compile from --color/--mean/--std/--resize/
// --layout, and npu-compile's metadata-only mode on an lwnpu model, which
// keeps every section of the graph byte for byte.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "npu.h"
#include "ir/model_format.h"
#include "tests/common/shell.h"

using npu_test::bin;
using npu_test::Result;
using npu_test::run;

namespace
{

std::vector<uint8_t> slurp(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), {});
}

bool input_info(const std::string &path, npu_input_info *in)
{
	npu_device *dev = nullptr;
	npu_model *m = nullptr;
	if (npu_open("cpu", &dev) != NPU_OK)
		return false;
	bool ok = npu_model_load_file(dev, path.c_str(), &m) == NPU_OK &&
	          npu_model_input_info(m, in) == NPU_OK;
	npu_model_free(m);
	npu_close(dev);
	return ok;
}

class MetaTools : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/npu-meta-XXXXXX";
		dir_ = mkdtemp(tmpl);
		zoo_ = dir_ + "/zoo.npu";
		Result z =
		        run(bin("npu-zoo") + " mobilenet_v3_small --size 32 --calib 1 -o " + zoo_);
		ASSERT_EQ(z.status, 0) << z.out;
	}
	void TearDown() override
	{
		run("rm -rf " + dir_);
	}
	std::string dir_, zoo_;
};

TEST_F(MetaTools, ZooWritesImageNetStyleMetadata)
{
	npu_input_info in;
	ASSERT_TRUE(input_info(zoo_, &in));
	EXPECT_EQ(in.color, NPU_COLOR_RGB);
	EXPECT_EQ(in.resize, NPU_RESIZE_CENTER_CROP);
	EXPECT_EQ(in.crop, 0.875f);
	EXPECT_EQ(in.layout, NPU_LAYOUT_NHWC);
	for (int c = 0; c < 3; c++) {
		EXPECT_EQ(in.mean[c], 0.5f);
		EXPECT_EQ(in.std[c], 0.5f);
	}
	EXPECT_EQ(2u, npui_le_get32(&slurp(zoo_)[NPUI_FMT_HDR_VERSION]));
}

TEST_F(MetaTools, CompileRewritesOnlyTheMetadata)
{
	const std::string out = dir_ + "/grey.npu";
	Result r = run(bin("npu-compile") + " " + zoo_ + " -o " + out +
	               " --color gray --mean 0.1,0.2,0.3 --std 0.5 --resize stretch --layout nchw");
	ASSERT_EQ(r.status, 0) << r.out;
	npu_input_info in;
	ASSERT_TRUE(input_info(out, &in));
	EXPECT_EQ(in.color, NPU_COLOR_GRAY);
	EXPECT_EQ(in.resize, NPU_RESIZE_STRETCH);
	EXPECT_EQ(in.crop, 0.0f);
	EXPECT_EQ(in.layout, NPU_LAYOUT_NCHW);
	EXPECT_EQ(in.mean[0], 0.1f);
	EXPECT_EQ(in.mean[2], 0.3f);
	EXPECT_EQ(in.std[1], 0.5f);

	// Every section but the metadata is the zoo file's, byte for byte.
	std::vector<uint8_t> a = slurp(zoo_), b = slurp(out);
	ASSERT_GT(a.size(), (size_t)NPUI_FMT_HDR2_SIZE);
	ASSERT_EQ(a.size(), b.size());
	for (int s = 0; s < NPUI_FMT_SEC_COUNT; s++) {
		uint64_t off = npui_le_get64(&a[NPUI_FMT_SEC_OFFSET(s)]);
		uint64_t n = npui_le_get64(&a[NPUI_FMT_SEC_SIZE(s)]);
		ASSERT_EQ(off, npui_le_get64(&b[NPUI_FMT_SEC_OFFSET(s)]));
		EXPECT_TRUE(std::equal(a.begin() + off, a.begin() + off + n, b.begin() + off))
		        << "section " << s;
	}

	// crop:F, rgb, one std for all.
	r = run(bin("npu-compile") + " " + out + " -o " + out + " --color bgr --resize crop:0.5");
	ASSERT_EQ(r.status, 0) << r.out;
	ASSERT_TRUE(input_info(out, &in));
	EXPECT_EQ(in.color, NPU_COLOR_BGR);
	EXPECT_EQ(in.resize, NPU_RESIZE_CENTER_CROP);
	EXPECT_EQ(in.crop, 0.5f);
	EXPECT_EQ(in.mean[0], 0.0f);
	EXPECT_EQ(in.std[2], 1.0f);
}

TEST_F(MetaTools, CompileRefusesBadMetadata)
{
	const std::string out = dir_ + "/bad.npu",
	                  c = bin("npu-compile") + " " + zoo_ + " -o " + out;
	EXPECT_EQ(run(c + " --color purple").status, 2);
	EXPECT_EQ(run(c + " --mean 0.5").status, 2) << "--mean without --color";
	EXPECT_EQ(run(c + " --color rgb --mean x").status, 2);
	EXPECT_EQ(run(c + " --color rgb --mean 1,2,3,4,5").status, 2);
	EXPECT_EQ(run(c + " --color rgb --resize crop:0").status, 2);
	EXPECT_EQ(run(c + " --color rgb --resize crop:1.5").status, 2);
	EXPECT_EQ(run(c + " --color rgb --layout chwn").status, 2);
	EXPECT_EQ(run(c).status, 2) << "an lwnpu model needs --color";
	Result r = run(c + " --color rgb --mean 0.1,0.2");
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("3 channels"), std::string::npos) << r.out;
	r = run(c + " --color rgb --std 0");
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("metadata"), std::string::npos) << r.out;
}

} // namespace
