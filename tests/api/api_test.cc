// The public C API: status names, opening by URI, quantization helpers,
// and its contract on every device the build has (ApiDevice, instantiated
// over npu_backend_names() at run time: "cpu" and every driver backend,
// so a backend that lands joins it): open/close, model loading and its
// errors, int8 runs bit-exact against the layer-by-layer reference and
// the cpu device, float I/O, shape errors, submit/wait, threads, profile.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "npu.h"
#include "ir/graph.h"
#include "ref/ref.h"

namespace
{

// A small but real graph: conv3x3 s2 + ReLU6 -> dwconv3x3 -> conv1x1 ->
// add(residual with the dw output) -> GAP -> FC. Owned by the caller via
// npui_graph_free.
struct npui_graph *make_graph(int h, int w, uint32_t seed)
{
	std::mt19937 rng(seed);
	auto *g = static_cast<npui_graph *>(calloc(1, sizeof(npui_graph)));
	strcpy(g->name, "api_test_net");
	const int C0 = 3, C1 = 8, NCLS = 10;
	const int oh = (h + 2 - 3) / 2 + 1, ow = (w + 2 - 3) / 2 + 1;
	struct {
		const char *name;
		int h, w, c;
		float s;
		int zp;
	} ts[] = {
	        {"input", h, w, C0, 0.0078f, 0}, {"conv1", oh, ow, C1, 0.0235f, -128},
	        {"dw", oh, ow, C1, 0.05f, -10},  {"pw", oh, ow, C1, 0.06f, 5},
	        {"add", oh, ow, C1, 0.08f, -3},  {"gap", 1, 1, C1, 0.04f, 2},
	        {"logits", 1, 1, NCLS, 0.1f, 0},
	};
	g->num_tensors = sizeof(ts) / sizeof(ts[0]);
	g->tensors = static_cast<npui_tensor *>(calloc(g->num_tensors, sizeof(npui_tensor)));
	for (uint32_t i = 0; i < g->num_tensors; i++) {
		npui_tensor &t = g->tensors[i];
		strcpy(t.name, ts[i].name);
		t.h = ts[i].h;
		t.w = ts[i].w;
		t.c = ts[i].c;
		t.q.scale = ts[i].s;
		t.q.zero_point = ts[i].zp;
	}
	g->num_layers = 6;
	g->layers = static_cast<npui_layer *>(calloc(g->num_layers, sizeof(npui_layer)));
	auto conv = [&](npui_layer &l, const char *name, int in, int out, int k, int s, int p,
	                int groups, int act) {
		strcpy(l.name, name);
		l.op = NPUI_OP_CONV;
		l.act = act;
		l.num_inputs = 1;
		l.inputs[0] = in;
		l.output = out;
		l.kh = l.kw = k;
		l.stride_h = l.stride_w = s;
		l.pad_t = l.pad_l = l.pad_b = l.pad_r = p;
		l.groups = groups;
	};
	conv(g->layers[0], "conv1", 0, 1, 3, 2, 1, 1, NPUI_ACT_RELU6);
	conv(g->layers[1], "dw", 1, 2, 3, 1, 1, C1, NPUI_ACT_NONE);
	conv(g->layers[2], "pw", 2, 3, 1, 1, 0, 1, NPUI_ACT_NONE);
	npui_layer &add = g->layers[3];
	strcpy(add.name, "add");
	add.op = NPUI_OP_ADD;
	add.num_inputs = 2;
	add.inputs[0] = 2;
	add.inputs[1] = 3;
	add.output = 4;
	npui_layer &gap = g->layers[4];
	strcpy(gap.name, "gap");
	gap.op = NPUI_OP_GAP;
	gap.num_inputs = 1;
	gap.inputs[0] = 4;
	gap.output = 5;
	npui_layer &fc = g->layers[5];
	strcpy(fc.name, "fc");
	fc.op = NPUI_OP_FC;
	fc.num_inputs = 1;
	fc.inputs[0] = 5;
	fc.output = 6;
	g->input = 0;
	g->output = 6;

	std::uniform_int_distribution<int> wd(-127, 127), bd(-2000, 2000);
	std::uniform_real_distribution<float> sd(0.002f, 0.02f);
	for (uint32_t i = 0; i < g->num_layers; i++) {
		npui_layer &l = g->layers[i];
		if (l.op != NPUI_OP_CONV && l.op != NPUI_OP_FC)
			continue;
		size_t n = npui_layer_weights_expected(g, &l);
		int cout = g->tensors[l.output].c;
		l.weights_count = n;
		l.weights = static_cast<int8_t *>(malloc(n));
		l.bias = static_cast<int32_t *>(malloc(cout * sizeof(int32_t)));
		l.w_scale = static_cast<float *>(malloc(cout * sizeof(float)));
		for (size_t j = 0; j < n; j++)
			l.weights[j] = static_cast<int8_t>(wd(rng));
		for (int j = 0; j < cout; j++) {
			l.bias[j] = bd(rng);
			l.w_scale[j] = sd(rng);
		}
	}
	return g;
}

std::vector<uint8_t> serialize(const npui_graph *g)
{
	void *data = nullptr;
	size_t size = 0;
	EXPECT_EQ(npui_model_serialize(g, &data, &size), NPU_OK);
	std::vector<uint8_t> v(static_cast<uint8_t *>(data), static_cast<uint8_t *>(data) + size);
	free(data);
	return v;
}

TEST(ApiStatus, EveryCodeHasANameAndText)
{
	for (int s = 0; s >= NPU_ERR_MODEL_METADATA; s--) {
		EXPECT_STRNE(npu_status_name(s), "NPU_ERR_UNKNOWN") << "status " << s;
		EXPECT_STRNE(npu_strerror(s), "unknown status code") << "status " << s;
	}
	EXPECT_STREQ(npu_status_name(NPU_ERR_MODEL_CHECKSUM), "NPU_ERR_MODEL_CHECKSUM");
	EXPECT_STREQ(npu_status_name(-1000), "NPU_ERR_UNKNOWN");
	EXPECT_STREQ(npu_strerror(12345), "unknown status code");
}

TEST(ApiOpen, UnknownBackendIsNoDevice)
{
	npu_device *d = reinterpret_cast<npu_device *>(0x1);
	EXPECT_EQ(npu_open("warp-drive", &d), NPU_ERR_NO_DEVICE);
	EXPECT_EQ(d, reinterpret_cast<npu_device *>(0x1)) << "output written on failure";
	EXPECT_EQ(npu_open("cpux", &d), NPU_ERR_NO_DEVICE);
	EXPECT_EQ(npu_open("cpu", nullptr), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_open("cpu:bogus=1", &d), NPU_ERR_INVALID_ARG);
	EXPECT_NE(std::string(npu_last_error()).find("bogus"), std::string::npos);
}

TEST(ApiOpen, DefaultComesFromEnvironment)
{
	npu_device *d;
	setenv("NPU_DEVICE", "nosuch", 1);
	EXPECT_EQ(npu_open(nullptr, &d), NPU_ERR_NO_DEVICE);
	setenv("NPU_DEVICE", "cpu", 1);
	ASSERT_EQ(npu_open("", &d), NPU_OK);
	EXPECT_STREQ(npu_device_uri(d), "cpu");
	npu_close(d);
	unsetenv("NPU_DEVICE");
	ASSERT_EQ(npu_open(nullptr, &d), NPU_OK);
	EXPECT_STREQ(npu_device_uri(d), "cpu");
	npu_close(d);
	npu_close(nullptr);
}

TEST(ApiOpen, BackendNamesListCpu)
{
	const char *const *n = npu_backend_names();
	bool cpu = false;
	for (; *n; n++)
		cpu |= std::string(*n) == "cpu";
	EXPECT_TRUE(cpu);
}

// Every device name the library lists: "cpu", then the registry.
std::vector<std::string> device_names()
{
	std::vector<std::string> v;
	for (const char *const *n = npu_backend_names(); *n; n++)
		v.push_back(*n);
	return v;
}

// Run x on a fresh load of file on the device at uri (int8 in and out).
std::vector<int8_t> run_on(const char *uri, const std::vector<uint8_t> &file,
                           const std::vector<int8_t> &x, size_t out_n)
{
	npu_device *d;
	npu_model *m;
	std::vector<int8_t> y(out_n, 0x5a);
	EXPECT_EQ(npu_open(uri, &d), NPU_OK) << uri << ": " << npu_last_error();
	EXPECT_EQ(npu_model_load_memory(d, file.data(), file.size(), &m), NPU_OK)
	        << npu_last_error();
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	EXPECT_EQ(npu_run(m, &io), NPU_OK) << uri << ": " << npu_last_error();
	npu_model_free(m);
	npu_close(d);
	return y;
}

// The statuses with which a device that is not there (or cannot be
// driven from here) may refuse to open; anything else is a bug.
bool clean_open_failure(int rc)
{
	return rc == NPU_ERR_NO_DEVICE || rc == NPU_ERR_NOT_SUPPORTED || rc == NPU_ERR_IO ||
	       rc == NPU_ERR_DISCONNECTED;
}

class ApiDeviceOpen : public ::testing::TestWithParam<std::string>
{
};

// Not skipped for any device (no fixture that opens it first): it opens, names itself and closes,
// or it refuses with a status that says why, a message, and no output written.
TEST_P(ApiDeviceOpen, OpensAndClosesOrRefusesCleanly)
{
	const std::string uri = GetParam();
	npu_device *d = reinterpret_cast<npu_device *>(0x1);
	int rc = npu_open(uri.c_str(), &d);
	if (rc != NPU_OK) {
		EXPECT_TRUE(clean_open_failure(rc)) << uri << ": " << npu_status_name(rc);
		EXPECT_NE(uri, "cpu") << "the cpu device always opens";
		EXPECT_EQ(d, reinterpret_cast<npu_device *>(0x1)) << "output written on failure";
		// The message is this open's, not one left on the thread by an
		// earlier call: it names the device.
		const std::string scheme = uri.substr(0, uri.find(':'));
		EXPECT_NE(std::string(npu_last_error()).find(scheme), std::string::npos)
		        << uri << ": message does not name the device: " << npu_last_error();
		return;
	}
	EXPECT_STREQ(npu_device_uri(d), uri.c_str());
	npu_close(d);
	// Options a device does not know are refused, not ignored.
	EXPECT_EQ(npu_open((uri + ":bogus=1").c_str(), &d), NPU_ERR_INVALID_ARG);
}

// The public API's contract on one device. A device that cannot open here
// (the null backend: no device behind it, every operation is
// NPU_ERR_NOT_SUPPORTED) skips with its status and message, after
// ApiDeviceOpen has checked that the refusal is clean.
class ApiDevice : public ::testing::TestWithParam<std::string>
{
      protected:
	void SetUp() override
	{
		unsetenv("NPU_DEVICE");
		const char *uri = GetParam().c_str();
		int rc = npu_open(uri, &dev_);
		if (rc != NPU_OK && GetParam() != "cpu" && clean_open_failure(rc))
			GTEST_SKIP() << uri << " cannot open here: " << npu_status_name(rc) << ": "
			             << npu_last_error();
		ASSERT_EQ(rc, NPU_OK)
		        << uri << ": " << npu_status_name(rc) << ": " << npu_last_error();
		npui_graph *g = make_graph(17, 15, 42);
		file_ = serialize(g);
		npui_graph_free(g);
		ASSERT_EQ(npu_model_load_memory(dev_, file_.data(), file_.size(), &m_), NPU_OK)
		        << npu_last_error();
	}
	void TearDown() override
	{
		npu_model_free(m_);
		npu_close(dev_);
	}
	npu_device *dev_ = nullptr;
	npu_model *m_ = nullptr;
	std::vector<uint8_t> file_;
};

TEST_P(ApiDevice, TensorInfo)
{
	npu_tensor_info in, out;
	ASSERT_EQ(npu_model_input(m_, &in), NPU_OK);
	ASSERT_EQ(npu_model_output(m_, &out), NPU_OK);
	EXPECT_STREQ(in.name, "input");
	EXPECT_EQ(in.n, 1);
	EXPECT_EQ(in.h, 17);
	EXPECT_EQ(in.w, 15);
	EXPECT_EQ(in.c, 3);
	EXPECT_EQ(in.elements, 17u * 15 * 3);
	EXPECT_FLOAT_EQ(in.scale, 0.0078f);
	EXPECT_EQ(out.elements, 10u);
	EXPECT_EQ(npu_model_num_layers(m_), 6u);
	EXPECT_EQ(npu_model_num_labels(m_), 0u);
	EXPECT_EQ(npu_model_label(m_, 0), nullptr);
	EXPECT_EQ(npu_model_input(nullptr, &in), NPU_ERR_INVALID_ARG);
}

// The device must compute exactly what the layer kernels compute: run the
// graph layer by layer with the reference API and compare; and the bytes
// are the cpu device's.
TEST_P(ApiDevice, Int8RunEqualsLayerByLayerReferenceAndCpu)
{
	npui_graph *g = make_graph(17, 15, 42);
	npui_ref_plan *plan;
	ASSERT_EQ(npui_ref_prepare(g, &plan, nullptr, 0), NPU_OK);
	std::vector<std::vector<int8_t>> bufs(g->num_tensors);
	std::vector<int8_t *> ptrs(g->num_tensors);
	for (uint32_t t = 0; t < g->num_tensors; t++) {
		bufs[t].assign((size_t)g->tensors[t].h * g->tensors[t].w * g->tensors[t].c, 0x55);
		ptrs[t] = bufs[t].data();
	}
	std::mt19937 rng(7);
	for (auto &v : bufs[0])
		v = static_cast<int8_t>(rng());
	for (uint32_t i = 0; i < g->num_layers; i++)
		npui_ref_run_layer(plan, g, i, ptrs.data());

	std::vector<int8_t> out(10, 0x5a);
	npu_io io = {NPU_IO_INT8, bufs[0].data(), bufs[0].size(), NPU_IO_INT8, out.data(), 10};
	ASSERT_EQ(npu_run(m_, &io), NPU_OK) << npu_last_error();
	EXPECT_EQ(out, bufs[6]);
	EXPECT_EQ(out, run_on("cpu", file_, bufs[0], 10));
	// Not a constant output: the graph is live end to end.
	bool varied = false;
	for (int8_t v : out)
		varied |= v != out[0];
	EXPECT_TRUE(varied);
	npui_ref_plan_free(plan);
	npui_graph_free(g);
}

TEST_P(ApiDevice, FloatIoIsQuantizeRunDequantize)
{
	npu_tensor_info in, out;
	npu_model_input(m_, &in);
	npu_model_output(m_, &out);
	std::vector<float> x(in.elements), y(out.elements);
	std::mt19937 rng(3);
	std::uniform_real_distribution<float> d(-1.2f, 1.2f);
	for (auto &v : x)
		v = d(rng);
	std::vector<int8_t> xq(in.elements), yq(out.elements);
	npu_quantize(x.data(), x.size(), in.scale, in.zero_point, xq.data());

	npu_io fio = {NPU_IO_FLOAT32, x.data(), x.size() * 4,
	              NPU_IO_FLOAT32, y.data(), y.size() * 4};
	ASSERT_EQ(npu_run(m_, &fio), NPU_OK);
	npu_io qio = {NPU_IO_INT8, xq.data(), xq.size(), NPU_IO_INT8, yq.data(), yq.size()};
	ASSERT_EQ(npu_run(m_, &qio), NPU_OK);
	for (size_t i = 0; i < y.size(); i++)
		EXPECT_EQ(y[i], out.scale * (yq[i] - out.zero_point)) << "i=" << i;
}

TEST_P(ApiDevice, WrongSizesAreShapeErrorsAndTouchNothing)
{
	std::vector<int8_t> x(17 * 15 * 3), y(10, 0x11);
	npu_io io = {NPU_IO_INT8, x.data(), x.size() - 1, NPU_IO_INT8, y.data(), y.size()};
	EXPECT_EQ(npu_run(m_, &io), NPU_ERR_SHAPE);
	io.input_size = x.size();
	io.output_size = 11;
	EXPECT_EQ(npu_run(m_, &io), NPU_ERR_SHAPE);
	io.output_size = 10;
	io.output_type = NPU_IO_FLOAT32; // would need 40 bytes
	EXPECT_EQ(npu_run(m_, &io), NPU_ERR_SHAPE);
	io.output_type = static_cast<npu_io_type>(7);
	EXPECT_EQ(npu_run(m_, &io), NPU_ERR_INVALID_ARG);
	npu_job *job = reinterpret_cast<npu_job *>(0x1);
	io.output_type = NPU_IO_INT8;
	io.output_size = 9;
	EXPECT_EQ(npu_submit(m_, &io, &job), NPU_ERR_SHAPE);
	EXPECT_EQ(job, reinterpret_cast<npu_job *>(0x1)) << "output written on failure";
	for (int8_t v : y)
		EXPECT_EQ(v, 0x11);
	EXPECT_EQ(npu_run(m_, nullptr), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_submit(nullptr, &io, nullptr), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_wait(nullptr, 0), NPU_ERR_INVALID_ARG);
}

TEST_P(ApiDevice, AsyncJobsCompleteInOrderWithSameResults)
{
	const int N = GetParam() == "cpu" ? 8 : 4; // a sim run takes ~0.15 s
	std::vector<std::vector<int8_t>> xs(N, std::vector<int8_t>(17 * 15 * 3));
	std::vector<std::vector<int8_t>> ys(N, std::vector<int8_t>(10)), ref(N);
	std::mt19937 rng(11);
	for (auto &x : xs)
		for (auto &v : x)
			v = static_cast<int8_t>(rng());
	for (int i = 0; i < N; i++) {
		std::vector<int8_t> y(10);
		npu_io io = {NPU_IO_INT8, xs[i].data(), xs[i].size(), NPU_IO_INT8, y.data(), 10};
		ASSERT_EQ(npu_run(m_, &io), NPU_OK);
		ref[i] = y;
	}
	std::vector<npu_io> ios(N);
	std::vector<npu_job *> jobs(N);
	for (int i = 0; i < N; i++) {
		ios[i] = {NPU_IO_INT8, xs[i].data(), xs[i].size(), NPU_IO_INT8, ys[i].data(), 10};
		ASSERT_EQ(npu_submit(m_, &ios[i], &jobs[i]), NPU_OK);
	}
	// Wait in reverse order: completion order must not matter to the caller.
	for (int i = N - 1; i >= 0; i--)
		ASSERT_EQ(npu_wait(jobs[i], 10000), NPU_OK);
	for (int i = 0; i < N; i++)
		EXPECT_EQ(ys[i], ref[i]) << "job " << i;
}

TEST_P(ApiDevice, FourThreadsShareOneDevice)
{
	std::vector<int8_t> x(17 * 15 * 3, 3), expect(10);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, expect.data(), 10};
	ASSERT_EQ(npu_run(m_, &io), NPU_OK);
	// A second model on the same device, used concurrently with the first.
	npu_model *m2;
	ASSERT_EQ(npu_model_load_memory(dev_, file_.data(), file_.size(), &m2), NPU_OK);
	// 25 rounds each on cpu; 3 elsewhere (100 runs took 16 s on sim;
	// tests/threads shares devices between threads at length).
	const int rounds = GetParam() == "cpu" ? 25 : 3;
	std::vector<int> bad(4, 0);
	std::vector<std::thread> th;
	for (int t = 0; t < 4; t++)
		th.emplace_back([&, t] {
			npu_model *m = t % 2 ? m2 : m_;
			for (int r = 0; r < rounds; r++) {
				std::vector<int8_t> y(10);
				npu_io tio = {NPU_IO_INT8, x.data(), x.size(),
				              NPU_IO_INT8, y.data(), 10};
				if (npu_run(m, &tio) != NPU_OK || y != expect)
					bad[t]++;
			}
		});
	for (auto &t : th)
		t.join();
	for (int t = 0; t < 4; t++)
		EXPECT_EQ(bad[t], 0) << "thread " << t;
	npu_model_free(m2);
}

// Every device profiles its last run (docs/API.md): one record per layer
// with the graph's names, ops and MACs; NPU cycles exactly on the layers
// an engine ran (engine other than "cpu"), none on the CPU's.
TEST_P(ApiDevice, ProfileHasEveryLayer)
{
	unsigned n = 99;
	ASSERT_EQ(npu_model_profile(m_, nullptr, 0, &n), NPU_OK);
	EXPECT_EQ(n, 0u) << "no run yet";
	std::vector<int8_t> x(17 * 15 * 3, 1), y(10);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), 10};
	ASSERT_EQ(npu_run(m_, &io), NPU_OK);
	std::vector<npu_layer_profile> p(6);
	ASSERT_EQ(npu_model_profile(m_, p.data(), 6, &n), NPU_OK);
	ASSERT_EQ(n, 6u);
	EXPECT_STREQ(p[0].name, "conv1");
	EXPECT_STREQ(p[0].op, "conv");
	EXPECT_STREQ(p[1].op, "dwconv");
	EXPECT_STREQ(p[3].op, "add");
	EXPECT_STREQ(p[5].op, "fc");
	// conv1: 9x8 output, 8 channels, 3x3x3 taps.
	EXPECT_EQ(p[0].macs, 9u * 8 * 8 * 27);
	EXPECT_EQ(p[5].macs, 80u);
	EXPECT_EQ(p[3].macs, 0u);
	for (unsigned i = 0; i < n; i++) {
		const bool on_cpu = std::string(p[i].engine) == "cpu";
		if (GetParam() == "cpu") {
			EXPECT_TRUE(on_cpu) << p[i].name << " on " << p[i].engine;
		}
		if (on_cpu) {
			EXPECT_EQ(p[i].cycles, 0u) << p[i].name;
		} else if (!p[i].folded) {
			EXPECT_GT(p[i].cycles, 0u) << p[i].name << " on " << p[i].engine;
		}
	}
}

TEST_P(ApiDevice, BadFilesGiveNamedErrorsAndTheDeviceStillWorks)
{
	npu_model *m = reinterpret_cast<npu_model *>(0x1);
	EXPECT_EQ(npu_model_load_file(dev_, "/nonexistent/model.npu", &m), NPU_ERR_IO);
	EXPECT_NE(std::string(npu_last_error()).find("/nonexistent/model.npu"), std::string::npos);
	EXPECT_EQ(npu_model_load_file(dev_, "/", &m), NPU_ERR_IO);

	npui_graph *g = make_graph(9, 9, 1);
	auto file = serialize(g);
	npui_graph_free(g);
	EXPECT_EQ(npu_model_load_memory(dev_, file.data(), 3, &m), NPU_ERR_MODEL_TRUNCATED);
	auto flipped = file;
	flipped[flipped.size() / 2] ^= 0x10;
	EXPECT_EQ(npu_model_load_memory(dev_, flipped.data(), flipped.size(), &m),
	          NPU_ERR_MODEL_CHECKSUM);
	auto magic = file;
	magic[0] ^= 0xff;
	EXPECT_EQ(npu_model_load_memory(dev_, magic.data(), magic.size(), &m), NPU_ERR_MODEL_MAGIC);
	EXPECT_EQ(npu_model_load_memory(dev_, nullptr, 10, &m), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(m, reinterpret_cast<npu_model *>(0x1)) << "output written on failure";
	// After all that, the device still loads and runs.
	ASSERT_EQ(npu_model_load_memory(dev_, file.data(), file.size(), &m), NPU_OK);
	std::vector<int8_t> x(9 * 9 * 3, 2), y(10);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), 10};
	EXPECT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
	npu_model_free(m);
}

// The test name's suffix: the device name, alphanumerics only.
std::string device_test_name(const ::testing::TestParamInfo<std::string> &i)
{
	std::string s = i.param;
	for (char &c : s)
		if (!isalnum(static_cast<unsigned char>(c)))
			c = '_';
	return s;
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiDeviceOpen, ::testing::ValuesIn(device_names()),
                         device_test_name);
INSTANTIATE_TEST_SUITE_P(Backends, ApiDevice, ::testing::ValuesIn(device_names()),
                         device_test_name);

TEST(ApiAsync, ZeroTimeoutOnABusyDeviceTimesOutThenCompletes)
{
	npu_device *dev;
	npu_model *m;
	ASSERT_EQ(npu_open("cpu", &dev), NPU_OK);
	npui_graph *g = make_graph(384, 384, 5); // big enough to take a while
	auto file = serialize(g);
	npui_graph_free(g);
	ASSERT_EQ(npu_model_load_memory(dev, file.data(), file.size(), &m), NPU_OK);
	std::vector<int8_t> x(384 * 384 * 3, 1), y(10);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	const int N = 8;
	npu_job *jobs[N];
	for (auto &j : jobs)
		ASSERT_EQ(npu_submit(m, &io, &j), NPU_OK);
	// The last of eight queued jobs cannot have finished at once.
	EXPECT_EQ(npu_wait(jobs[N - 1], 0), NPU_ERR_TIMEOUT);
	for (auto &j : jobs)
		EXPECT_EQ(npu_wait(j, -1), NPU_OK);
	npu_model_free(m);
	npu_close(dev);
}

TEST(ApiQuant, QuantizeRoundsHalfAwayAndClamps)
{
	const float x[] = {0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.49f, 1000.0f, -1000.0f, 0.25f};
	int8_t q[9];
	npu_quantize(x, 9, 1.0f, 0, q);
	const int8_t want[] = {0, 1, -1, 2, -2, 2, 127, -128, 0};
	for (int i = 0; i < 9; i++)
		EXPECT_EQ(q[i], want[i]) << "i=" << i;
	npu_quantize(x, 9, 0.5f, -3, q);
	const int8_t want2[] = {-3, -2, -4, 0, -6, 2, 127, -128, -2};
	for (int i = 0; i < 9; i++)
		EXPECT_EQ(q[i], want2[i]) << "i=" << i;
	float back[3];
	const int8_t qs[] = {-128, 0, 127};
	npu_dequantize(qs, 3, 0.5f, -3, back);
	EXPECT_EQ(back[0], -62.5f);
	EXPECT_EQ(back[1], 1.5f);
	EXPECT_EQ(back[2], 65.0f);
}

TEST(ApiQuant, SoftmaxSumsToOneAndIsStable)
{
	float x[4] = {1000.0f, 1001.0f, 999.0f, 1000.0f}, p[4];
	npu_softmax(x, 4, p);
	float s = p[0] + p[1] + p[2] + p[3];
	EXPECT_NEAR(s, 1.0f, 1e-6);
	EXPECT_NEAR(p[1] / p[0], std::exp(1.0f), 1e-4);
	EXPECT_FALSE(std::isnan(p[2]));
}

} // namespace
