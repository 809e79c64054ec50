// examples/classify as a user runs it: a Fashion-MNIST test image written
// as a PNG (libpng) gets npu-eval's prediction and npu-eval's very scores,
// from the preprocessing stored in the committed model (grey, 28 -> 32
// bilinear, mean/std); the same image as an RGB PNG or a JPEG decodes and
// classifies alike; sim gives cpu's bytes; a corrupt image or a model
// without metadata is one line on stderr and exit status 1.
#include <gtest/gtest.h>

#include <jpeglib.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/backends.h"
#include "tests/common/shell.h"
#include "tests/model/graph_builder.h"

using npu_test::bin;
using npu_test::exists;
using npu_test::Result;
using npu_test::run;

namespace
{

const char kModel[] = "models/fmnist_shufflenet_v2_x1_0.npu";
const char kImages[] = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const int kSide = 28;
const int kCount = 4; // test images 0 .. kCount-1

bool write_png(const std::string &path, int w, int h, int ch, const std::vector<uint8_t> &px)
{
	png_image pi;
	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	pi.width = static_cast<png_uint_32>(w);
	pi.height = static_cast<png_uint_32>(h);
	pi.format = ch == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	return png_image_write_to_file(&pi, path.c_str(), 0, px.data(), 0, nullptr) != 0;
}

bool write_jpeg(const std::string &path, int w, int h, int ch, const std::vector<uint8_t> &px,
                int quality)
{
	FILE *f = fopen(path.c_str(), "wb");
	if (!f)
		return false;
	jpeg_compress_struct ci;
	jpeg_error_mgr err;
	ci.err = jpeg_std_error(&err);
	jpeg_create_compress(&ci);
	jpeg_stdio_dest(&ci, f);
	ci.image_width = static_cast<JDIMENSION>(w);
	ci.image_height = static_cast<JDIMENSION>(h);
	ci.input_components = ch;
	ci.in_color_space = ch == 3 ? JCS_RGB : JCS_GRAYSCALE;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, quality, TRUE);
	jpeg_start_compress(&ci, TRUE);
	while (ci.next_scanline < ci.image_height) {
		JSAMPROW row = const_cast<uint8_t *>(px.data()) +
		               static_cast<size_t>(ci.next_scanline) * w * ch;
		jpeg_write_scanlines(&ci, &row, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	return fclose(f) == 0;
}

std::vector<uint8_t> slurp(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), {});
}

// One output line of classify: rank, probability, score, index, label.
struct Row {
	int rank = 0, index = -1;
	double prob = 0;
	float score = 0;
	std::string label;
};

// The lines after classify's first (the summary); empty on a parse error.
std::vector<Row> parse(const std::string &out)
{
	std::istringstream in(out);
	std::string line;
	std::vector<Row> rows;
	if (!std::getline(in, line))
		return {};
	while (std::getline(in, line)) {
		Row r;
		char label[256] = "";
		if (sscanf(line.c_str(), "%d %lf %f %d %255[^\n]", &r.rank, &r.prob, &r.score,
		           &r.index, label) != 5)
			return {};
		r.label = label;
		rows.push_back(r);
	}
	return rows;
}

class Classify : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/npu-classify-XXXXXX";
		dir_ = mkdtemp(tmpl);
		ASSERT_TRUE(exists(bin("classify"))) << bin("classify") << " not built";
	}
	void TearDown() override
	{
		run("rm -rf " + dir_);
	}

	// The first kCount test images, 28x28 bytes each; false (and a skip
	// reason) when the data set is not installed.
	bool images(std::vector<std::vector<uint8_t>> *v)
	{
		if (!exists(kImages) || !exists(kModel))
			return false;
		std::string raw = dir_ + "/images";
		Result r = run(std::string("gzip -dc ") + kImages + " > " + raw);
		EXPECT_EQ(r.status, 0) << r.out;
		std::vector<uint8_t> d = slurp(raw);
		if (d.size() < 16 + kCount * kSide * kSide)
			return false;
		for (int i = 0; i < kCount; i++)
			v->emplace_back(d.begin() + 16 + i * kSide * kSide,
			                d.begin() + 16 + (i + 1) * kSide * kSide);
		return true;
	}

	Result classify(const std::string &args)
	{
		return run(bin("classify") + " " + args);
	}

	std::string dir_;
};

TEST_F(Classify, PngGetsNpuEvalsPredictionAndScores)
{
	std::vector<std::vector<uint8_t>> img;
	if (!images(&img))
		GTEST_SKIP() << "needs " << kImages << " (dataset-fashion-mnist) and " << kModel;

	// npu-eval's view of the same images.
	const std::string pred = dir_ + "/pred.txt", logits = dir_ + "/logits.npy";
	Result e = run(bin("npu-eval") + " " + kModel + " --dataset fashion-mnist --device cpu" +
	               " --limit " + std::to_string(kCount) + " --predictions " + pred +
	               " --logits " + logits + " 2>&1");
	ASSERT_EQ(e.status, 0) << e.out;
	std::ifstream pf(pred);
	std::vector<int> want;
	for (int x; pf >> x;)
		want.push_back(x);
	ASSERT_EQ(want.size(), static_cast<size_t>(kCount));
	std::vector<uint8_t> lb = slurp(logits);
	ASSERT_GT(lb.size(), 10u);
	size_t hl = lb[8] | static_cast<size_t>(lb[9]) << 8;
	ASSERT_EQ(lb.size(), 10 + hl + kCount * 10 * sizeof(float));
	std::vector<float> lg(kCount * 10);
	memcpy(lg.data(), lb.data() + 10 + hl, lg.size() * sizeof(float));

	for (int i = 0; i < kCount; i++) {
		SCOPED_TRACE("test image " + std::to_string(i));
		const std::string png = dir_ + "/img" + std::to_string(i) + ".png";
		ASSERT_TRUE(write_png(png, kSide, kSide, 1, img[i]));
		Result r = classify(std::string("--device cpu ") + kModel + " " + png);
		ASSERT_EQ(r.status, 0) << r.out;
		std::vector<Row> rows = parse(r.out);
		ASSERT_EQ(rows.size(), 5u) << r.out;
		EXPECT_NE(r.out.find("28x28 grey PNG -> 32x32x3, grey, stretch"), std::string::npos)
		        << r.out;
		EXPECT_EQ(rows[0].index, want[i]) << r.out;
		for (size_t k = 0; k < rows.size(); k++) {
			EXPECT_EQ(rows[k].rank, static_cast<int>(k + 1));
			// The scores are npu-eval's, to the bit (printed with %.9g).
			EXPECT_EQ(rows[k].score, lg[i * 10 + rows[k].index]) << "rank " << k + 1;
			if (k) {
				EXPECT_LE(rows[k].score, rows[k - 1].score);
			}
		}
		const char *const names[] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
		                             "Coat",        "Sandal",    "Shirt",    "Sneaker",
		                             "Bag",         "Ankle boot"};
		EXPECT_EQ(rows[0].label, names[want[i]]) << "labels come from the model file";
	}
}

TEST_F(Classify, RgbPngAndJpegDecodeAlike)
{
	std::vector<std::vector<uint8_t>> img;
	if (!images(&img))
		GTEST_SKIP() << "needs " << kImages << " (dataset-fashion-mnist) and " << kModel;
	const std::vector<uint8_t> &g = img[0];
	std::vector<uint8_t> rgb;
	for (uint8_t p : g)
		rgb.insert(rgb.end(), {p, p, p});
	const std::string png = dir_ + "/g.png", rgbpng = dir_ + "/rgb.png";
	const std::string jpg = dir_ + "/g.jpg", rgbjpg = dir_ + "/rgb.jpg";
	ASSERT_TRUE(write_png(png, kSide, kSide, 1, g));
	ASSERT_TRUE(write_png(rgbpng, kSide, kSide, 3, rgb));
	ASSERT_TRUE(write_jpeg(jpg, kSide, kSide, 1, g, 100));
	ASSERT_TRUE(write_jpeg(rgbjpg, kSide, kSide, 3, rgb, 100));

	Result a = classify(std::string("-d cpu ") + kModel + " " + png);
	ASSERT_EQ(a.status, 0) << a.out;
	std::vector<Row> ra = parse(a.out);
	ASSERT_EQ(ra.size(), 5u);

	// R = G = B: the luma is the grey value exactly, so every score agrees.
	Result b = classify(std::string("-d cpu ") + kModel + " " + rgbpng);
	ASSERT_EQ(b.status, 0) << b.out;
	EXPECT_NE(b.out.find("28x28 RGB PNG"), std::string::npos) << b.out;
	std::vector<Row> rb = parse(b.out);
	ASSERT_EQ(rb.size(), 5u);
	for (int k = 0; k < 5; k++) {
		EXPECT_EQ(rb[k].index, ra[k].index);
		EXPECT_EQ(rb[k].score, ra[k].score);
	}

	// JPEG is lossy: it decodes, and at quality 100 the class is the same.
	for (const std::string &j : {jpg, rgbjpg}) {
		Result c = classify(std::string("-d cpu --top 3 ") + kModel + " " + j);
		ASSERT_EQ(c.status, 0) << c.out;
		EXPECT_NE(c.out.find("JPEG"), std::string::npos) << c.out;
		std::vector<Row> rc = parse(c.out);
		ASSERT_EQ(rc.size(), 3u) << c.out;
		EXPECT_EQ(rc[0].index, ra[0].index) << c.out;
	}
}

TEST_F(Classify, SimGivesCpuBytes)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	std::vector<std::vector<uint8_t>> img;
	if (!images(&img))
		GTEST_SKIP() << "needs " << kImages << " (dataset-fashion-mnist) and " << kModel;
	const std::string png = dir_ + "/g.png";
	ASSERT_TRUE(write_png(png, kSide, kSide, 1, img[1]));
	// squeezenet1_1: the committed net quickest on sim (models/README.md).
	const std::string model = "models/fmnist_squeezenet1_1.npu";
	Result c = classify("--device cpu " + model + " " + png);
	// The default device is $NPU_DEVICE.
	Result s = run("NPU_DEVICE=sim " + bin("classify") + " " + model + " " + png);
	ASSERT_EQ(c.status, 0) << c.out;
	ASSERT_EQ(s.status, 0) << s.out;
	EXPECT_NE(s.out.find(" on sim:"), std::string::npos) << s.out;
	EXPECT_EQ(s.out.substr(s.out.find('\n')), c.out.substr(c.out.find('\n')));
}

// A zoo net's metadata: RGB, centre crop 0.875, (p/255 - 0.5)/0.5; any
// image size; no labels ("-").
TEST_F(Classify, ZooModelCropsAnyImage)
{
	const std::string model = dir_ + "/mnv2.npu";
	Result z = run(bin("npu-zoo") + " mobilenet_v2 --size 32 --calib 1 -o " + model);
	ASSERT_EQ(z.status, 0) << z.out;
	std::vector<uint8_t> px;
	for (int i = 0; i < 50 * 30 * 3; i++)
		px.push_back(static_cast<uint8_t>(i * 7));
	const std::string png = dir_ + "/wide.png";
	ASSERT_TRUE(write_png(png, 50, 30, 3, px));
	Result r = classify("-d cpu " + model + " " + png);
	ASSERT_EQ(r.status, 0) << r.out;
	EXPECT_NE(r.out.find("50x30 RGB PNG -> 32x32x3, RGB, centre crop"), std::string::npos)
	        << r.out;
	std::vector<Row> rows = parse(r.out);
	ASSERT_EQ(rows.size(), 5u) << r.out;
	EXPECT_EQ(rows[0].label, "-");
	EXPECT_GE(rows[0].index, 0);
	EXPECT_LT(rows[0].index, 1000);
}

// A damaged or foreign file: exit 1 and exactly one line naming the file.
TEST_F(Classify, CorruptImagesAreOneLineErrors)
{
	std::vector<uint8_t> px(kSide * kSide);
	for (size_t i = 0; i < px.size(); i++)
		px[i] = static_cast<uint8_t>(i);
	const std::string png = dir_ + "/ok.png", jpg = dir_ + "/ok.jpg";
	ASSERT_TRUE(write_png(png, kSide, kSide, 1, px));
	ASSERT_TRUE(write_jpeg(jpg, kSide, kSide, 1, px, 90));
	std::vector<uint8_t> p = slurp(png), j = slurp(jpg);

	struct Bad {
		std::string name, want;
		std::vector<uint8_t> bytes;
	};
	std::vector<uint8_t> pflip = p;
	pflip[p.size() / 2] ^= 0xff; // inside the IDAT data: zlib or CRC error
	std::vector<Bad> bad = {
	        {"cut.png", "not a valid PNG image",
	         std::vector<uint8_t>(p.begin(), p.begin() + 40)},
	        {"flip.png", "not a valid PNG image", pflip},
	        {"cut.jpg", "not a valid JPEG image",
	         std::vector<uint8_t>(j.begin(), j.begin() + j.size() / 2)},
	        {"head.jpg", "not a valid JPEG image",
	         std::vector<uint8_t>(j.begin(), j.begin() + 4)},
	        {"text.png", "not a PNG or JPEG image", {'h', 'e', 'l', 'l', 'o', '\n'}},
	        {"empty.png", "not a PNG or JPEG image", {}},
	};
	const std::string model = exists(kModel) ? kModel : "";
	if (model.empty())
		GTEST_SKIP() << "needs " << kModel;
	for (const Bad &b : bad) {
		SCOPED_TRACE(b.name);
		const std::string path = dir_ + "/" + b.name;
		std::ofstream(path, std::ios::binary)
		        .write(reinterpret_cast<const char *>(b.bytes.data()),
		               static_cast<std::streamsize>(b.bytes.size()));
		Result r = classify("-d cpu " + model + " " + path);
		EXPECT_EQ(r.status, 1) << r.out;
		EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
		EXPECT_EQ(r.out.rfind("classify: " + path + ": " + b.want, 0), 0u) << r.out;
	}
	Result r = classify("-d cpu " + model + " " + dir_ + "/missing.png");
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("No such file"), std::string::npos) << r.out;
}

// python/examples/classify.py: the same preprocessing in numpy float32, so
// the same output, line for line, as the C example. libnpu.so is
// preloaded: numpy and torch leave too little static TLS for dlopen() of it
// (its Verilator harness), "cannot allocate memory in static TLS block".
TEST_F(Classify, PythonExamplePrintsWhatTheCExamplePrints)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	// A sanitizer build's libnpu.so needs its runtime loaded before Python
	// starts; the release build (make test) runs this test.
	GTEST_SKIP() << "python cannot load a sanitizer-instrumented libnpu.so";
#endif
	const std::string so = npu_test::bin_dir() + "../libnpu.so.1";
	if (!exists(so) || !exists(kModel))
		GTEST_SKIP() << "needs " << so << " (make shared) and " << kModel;
	if (run("/usr/bin/python3 -c 'import numpy, torchvision' 2>&1").status != 0)
		GTEST_SKIP() << "needs /usr/bin/python3 with numpy and torchvision";
	const std::string py = "LD_PRELOAD=" + so + " LWNPU_LIBRARY=" + so +
	                       " /usr/bin/python3 python/examples/classify.py ";
	std::vector<uint8_t> px(kSide * kSide), rgb;
	for (size_t i = 0; i < px.size(); i++)
		px[i] = static_cast<uint8_t>((i * 37) % 256);
	for (uint8_t p : px)
		rgb.insert(rgb.end(),
		           {p, static_cast<uint8_t>(255 - p), static_cast<uint8_t>(p / 2)});
	const std::string png = dir_ + "/g.png", rgbpng = dir_ + "/rgb.png";
	ASSERT_TRUE(write_png(png, kSide, kSide, 1, px));
	ASSERT_TRUE(write_png(rgbpng, kSide, kSide, 3, rgb));
	for (const std::string &img : {png, rgbpng}) {
		Result c = classify(std::string("-d cpu ") + kModel + " " + img);
		Result p = run(py + "-d cpu " + kModel + " " + img);
		ASSERT_EQ(c.status, 0) << c.out;
		ASSERT_EQ(p.status, 0) << p.out;
		EXPECT_EQ(p.out, c.out);
	}
	const std::string bad = dir_ + "/bad.png";
	std::ofstream(bad) << "hello\n";
	Result p = run(py + "-d cpu " + kModel + " " + bad);
	EXPECT_EQ(p.status, 1) << p.out;
	EXPECT_EQ(std::count(p.out.begin(), p.out.end(), '\n'), 1) << p.out;
	EXPECT_NE(p.out.find("not a PNG or JPEG image"), std::string::npos) << p.out;
}

TEST_F(Classify, ModelWithoutMetadataAndBadUsage)
{
	// A version 1 file: no metadata, so no preprocessing to follow.
	modeltest::GraphPtr g = modeltest::labeled_graph();
	modeltest::ModelFile f(g.get());
	const std::string model = dir_ + "/v1.npu", png = dir_ + "/x.png";
	std::ofstream(model, std::ios::binary)
	        .write(reinterpret_cast<const char *>(f.b.data()),
	               static_cast<std::streamsize>(f.b.size()));
	ASSERT_TRUE(write_png(png, 4, 4, 3, std::vector<uint8_t>(48, 100)));
	Result r = classify("-d cpu " + model + " " + png);
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
	EXPECT_NE(r.out.find("no input metadata"), std::string::npos) << r.out;

	EXPECT_EQ(classify("").status, 2);
	EXPECT_EQ(classify(model).status, 2);
	EXPECT_EQ(classify("--top 0 " + model + " " + png).status, 2);
	EXPECT_EQ(classify("--bogus " + model + " " + png).status, 2);
	Result h = classify("--help");
	EXPECT_EQ(h.status, 0);
	EXPECT_NE(h.out.find("usage: classify"), std::string::npos);
	Result d = classify("-d warp-drive " + model + " " + png);
	EXPECT_EQ(d.status, 1) << d.out;
	EXPECT_NE(d.out.find("NPU_ERR_NO_DEVICE"), std::string::npos) << d.out;
}

} // namespace
