/*
 * Test helpers for the model format: build small valid graphs directly as
 * structs, compare graphs field by field, and edit file images.
 *
 * Every builder op creates its output tensor with the shape the shape
 * rules demand, so a built graph validates unless a test breaks it on
 * purpose. Weights come from a seeded generator: deterministic.
 */
#ifndef LWNPU_TESTS_MODEL_GRAPH_BUILDER_H
#define LWNPU_TESTS_MODEL_GRAPH_BUILDER_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "npu.h"
#include "ir/crc32.h"
#include "ir/graph.h"
#include "ir/model_format.h"

namespace modeltest
{

struct GraphDeleter {
	void operator()(npui_graph *g) const
	{
		npui_graph_free(g);
	}
};
using GraphPtr = std::unique_ptr<npui_graph, GraphDeleter>;

template <typename T> static T *dup_array(const std::vector<T> &v)
{
	if (v.empty())
		return nullptr;
	T *p = static_cast<T *>(malloc(sizeof(T) * v.size()));
	if (!p)
		abort();
	memcpy(p, v.data(), sizeof(T) * v.size());
	return p;
}

class GraphBuilder
{
      public:
	explicit GraphBuilder(const char *name, uint32_t seed = 1) : name_(name), rng_(seed)
	{
	}

	int tensor(const char *name, int h, int w, int c, float scale = 0.05f, int zp = 0)
	{
		npui_tensor t{};
		snprintf(t.name, sizeof(t.name), "%s", name);
		t.h = h;
		t.w = w;
		t.c = c;
		t.q.scale = scale;
		t.q.zero_point = zp;
		tensors_.push_back(t);
		return static_cast<int>(tensors_.size() - 1);
	}

	int conv(const char *name, int in, int cout, int k, int stride, int pad, int groups = 1,
	         int act = NPUI_ACT_NONE)
	{
		const npui_tensor &ti = tensors_[in];
		int oh = (ti.h + 2 * pad - k) / stride + 1;
		int ow = (ti.w + 2 * pad - k) / stride + 1;
		int cin = ti.c;
		int out = tensor(name, oh, ow, cout, next_scale(), next_zp());
		npui_layer &l = layer(name, NPUI_OP_CONV, {in}, out);
		l.kh = l.kw = static_cast<uint16_t>(k);
		l.stride_h = l.stride_w = static_cast<uint16_t>(stride);
		l.pad_t = l.pad_l = l.pad_b = l.pad_r = static_cast<uint16_t>(pad);
		l.groups = static_cast<uint16_t>(groups);
		l.act = static_cast<uint8_t>(act);
		add_weights(static_cast<size_t>(cout) * k * k * (cin / groups), cout);
		return out;
	}

	int dwconv(const char *name, int in, int k, int stride, int pad, int act = NPUI_ACT_NONE)
	{
		int c = tensors_[in].c;
		return conv(name, in, c, k, stride, pad, c, act);
	}

	int fc(const char *name, int in, int cout, int act = NPUI_ACT_NONE)
	{
		const npui_tensor &ti = tensors_[in];
		size_t k = static_cast<size_t>(ti.h) * ti.w * ti.c;
		int out = tensor(name, 1, 1, cout, next_scale(), next_zp());
		npui_layer &l = layer(name, NPUI_OP_FC, {in}, out);
		l.act = static_cast<uint8_t>(act);
		add_weights(k * cout, cout);
		return out;
	}

	int pool(const char *name, npui_op op, int in, int k, int stride, int pad, int cip = 0)
	{
		npui_tensor ti = tensors_[in];
		int oh = (ti.h + 2 * pad - k) / stride + 1;
		int ow = (ti.w + 2 * pad - k) / stride + 1;
		float s = op == NPUI_OP_MAXPOOL ? ti.q.scale : next_scale();
		int zp = op == NPUI_OP_MAXPOOL ? ti.q.zero_point : next_zp();
		int out = tensor(name, oh, ow, ti.c, s, zp);
		npui_layer &l = layer(name, op, {in}, out);
		l.kh = l.kw = static_cast<uint16_t>(k);
		l.stride_h = l.stride_w = static_cast<uint16_t>(stride);
		l.pad_t = l.pad_l = l.pad_b = l.pad_r = static_cast<uint16_t>(pad);
		l.count_include_pad = static_cast<uint8_t>(cip);
		return out;
	}

	int gap(const char *name, int in)
	{
		int out = tensor(name, 1, 1, tensors_[in].c, next_scale(), next_zp());
		layer(name, NPUI_OP_GAP, {in}, out);
		return out;
	}

	int add(const char *name, int a, int b, int act = NPUI_ACT_NONE)
	{
		npui_tensor ta = tensors_[a];
		int out = tensor(name, ta.h, ta.w, ta.c, next_scale(), next_zp());
		layer(name, NPUI_OP_ADD, {a, b}, out).act = static_cast<uint8_t>(act);
		return out;
	}

	int mul(const char *name, int a, int b)
	{
		npui_tensor ta = tensors_[a];
		int out = tensor(name, ta.h, ta.w, ta.c, next_scale(), next_zp());
		layer(name, NPUI_OP_MUL, {a, b}, out);
		return out;
	}

	int concat(const char *name, std::vector<int> ins)
	{
		int c = 0;
		for (int id : ins)
			c += tensors_[id].c;
		npui_tensor t0 = tensors_[ins[0]];
		int out = tensor(name, t0.h, t0.w, c, next_scale(), next_zp());
		layer(name, NPUI_OP_CONCAT, ins, out);
		return out;
	}

	int shuffle(const char *name, int in, int groups)
	{
		npui_tensor ti = tensors_[in];
		int out = tensor(name, ti.h, ti.w, ti.c, ti.q.scale, ti.q.zero_point);
		layer(name, NPUI_OP_SHUFFLE, {in}, out).groups = static_cast<uint16_t>(groups);
		return out;
	}

	int split(const char *name, int in, int begin, int c)
	{
		npui_tensor ti = tensors_[in];
		int out = tensor(name, ti.h, ti.w, c, ti.q.scale, ti.q.zero_point);
		layer(name, NPUI_OP_SPLIT, {in}, out).split_begin = begin;
		return out;
	}

	int lut(const char *name, int in, int fn)
	{
		npui_tensor ti = tensors_[in];
		int out = tensor(name, ti.h, ti.w, ti.c, next_scale(), next_zp());
		layer(name, NPUI_OP_LUT, {in}, out).lut_fn = static_cast<uint8_t>(fn);
		return out;
	}

	void label(const char *s)
	{
		labels_.push_back(s);
	}

	/* A graph owning malloc'ed copies of everything (npui_graph_free). */
	GraphPtr build(int input, int output) const
	{
		npui_graph *g = static_cast<npui_graph *>(calloc(1, sizeof(*g)));
		snprintf(g->name, sizeof(g->name), "%s", name_.c_str());
		g->num_tensors = static_cast<uint32_t>(tensors_.size());
		g->tensors = dup_array(tensors_);
		g->num_layers = static_cast<uint32_t>(layers_.size());
		g->layers = dup_array(layers_);
		for (size_t i = 0; i < layers_.size(); i++) {
			npui_layer &l = g->layers[i];
			l.weights = dup_array(weights_[i]);
			l.weights_count = weights_[i].size();
			l.bias = dup_array(bias_[i]);
			l.w_scale = dup_array(w_scale_[i]);
		}
		g->input = input;
		g->output = output;
		g->num_labels = static_cast<uint32_t>(labels_.size());
		if (!labels_.empty()) {
			g->labels = static_cast<char **>(calloc(labels_.size(), sizeof(char *)));
			for (size_t i = 0; i < labels_.size(); i++)
				g->labels[i] = strdup(labels_[i].c_str());
		}
		return GraphPtr(g);
	}

      private:
	npui_layer &layer(const char *name, npui_op op, std::vector<int> in, int out)
	{
		npui_layer l{};
		snprintf(l.name, sizeof(l.name), "%s", name);
		l.op = static_cast<uint16_t>(op);
		l.num_inputs = static_cast<uint8_t>(in.size());
		for (int k = 0; k < NPUI_MAX_INPUTS; k++)
			l.inputs[k] = k < static_cast<int>(in.size()) ? in[k] : -1;
		l.output = out;
		layers_.push_back(l);
		weights_.emplace_back();
		bias_.emplace_back();
		w_scale_.emplace_back();
		return layers_.back();
	}

	void add_weights(size_t n, int cout)
	{
		std::uniform_int_distribution<int> w(-127, 127), b(-2000, 2000);
		std::uniform_real_distribution<float> s(0.001f, 0.05f);
		for (size_t i = 0; i < n; i++)
			weights_.back().push_back(static_cast<int8_t>(w(rng_)));
		for (int c = 0; c < cout; c++) {
			bias_.back().push_back(b(rng_));
			w_scale_.back().push_back(s(rng_));
		}
	}

	float next_scale()
	{
		return std::uniform_real_distribution<float>(0.01f, 0.2f)(rng_);
	}

	int next_zp()
	{
		return std::uniform_int_distribution<int>(-128, 127)(rng_);
	}

	std::string name_;
	std::mt19937 rng_;
	std::vector<npui_tensor> tensors_;
	std::vector<npui_layer> layers_;
	std::vector<std::vector<int8_t>> weights_;
	std::vector<std::vector<int32_t>> bias_;
	std::vector<std::vector<float>> w_scale_;
	std::vector<std::string> labels_;
};

/*
 * conv -> dwconv -> conv -> squeeze-excite (gap, fc, fc, hsigmoid, mul) ->
 * residual add -> hswish -> maxpool -> avgpool -> gap -> fc.
 * Every op that carries weights or parameters appears at least once.
 */
static inline GraphPtr mobile_graph(uint32_t seed = 1)
{
	GraphBuilder b("mobile", seed);
	int in = b.tensor("input", 8, 8, 4, 0.02f, -3);
	int c1 = b.conv("stem", in, 16, 3, 2, 1, 1, NPUI_ACT_RELU6);
	int d1 = b.dwconv("dw", c1, 3, 1, 1, NPUI_ACT_RELU6);
	int p1 = b.conv("project", d1, 16, 1, 1, 0);
	int g1 = b.gap("se_pool", p1);
	int f1 = b.fc("se_fc1", g1, 4, NPUI_ACT_RELU);
	int f2 = b.fc("se_fc2", f1, 16);
	int hs = b.lut("se_gate", f2, NPUI_LUT_HSIGMOID);
	int m = b.mul("se_scale", p1, hs);
	int a = b.add("residual", m, c1, NPUI_ACT_NONE);
	int h = b.lut("hswish", a, NPUI_LUT_HSWISH);
	int mp = b.pool("maxpool", NPUI_OP_MAXPOOL, h, 2, 2, 0);
	int ap = b.pool("avgpool", NPUI_OP_AVGPOOL, mp, 2, 1, 0, 1);
	int gp = b.gap("gap", ap);
	int out = b.fc("classifier", gp, 10);
	return b.build(in, out);
}

/* ShuffleNet v2 style: split, branch, concat, shuffle; a padded avgpool. */
static inline GraphPtr shuffle_graph(uint32_t seed = 2)
{
	GraphBuilder b("shuffle", seed);
	int in = b.tensor("input", 6, 6, 8, 0.03f, 5);
	int x = b.conv("conv0", in, 8, 1, 1, 0, 1, NPUI_ACT_RELU);
	int left = b.split("left", x, 0, 4);
	int right = b.split("right", x, 4, 4);
	int r1 = b.conv("pw1", right, 4, 1, 1, 0, 1, NPUI_ACT_RELU);
	int r2 = b.dwconv("dw", r1, 3, 1, 1);
	int r3 = b.conv("pw2", r2, 4, 1, 1, 0, 1, NPUI_ACT_RELU);
	int cat = b.concat("concat", {left, r3});
	int sh = b.shuffle("shuffle", cat, 2);
	int g = b.conv("group", sh, 8, 3, 2, 1, 2);
	int cat3 = b.concat("concat3", {g, g, g});
	int ap = b.pool("avgpool", NPUI_OP_AVGPOOL, cat3, 3, 1, 1, 0);
	int out = b.lut("sigmoid", ap, NPUI_LUT_SIGMOID);
	return b.build(in, out);
}

/* A classifier with labels, including UTF-8 and an empty label. */
static inline GraphPtr labeled_graph(uint32_t seed = 3)
{
	GraphBuilder b("labeled", seed);
	int in = b.tensor("input", 4, 4, 3, 0.0078125f, 0);
	int c = b.conv("conv", in, 8, 3, 1, 1, 1, NPUI_ACT_RELU);
	int r = b.lut("relu6", c, NPUI_LUT_RELU6);
	int g = b.gap("gap", r);
	int out = b.fc("fc", g, 5);
	b.label("cat");
	b.label("caf\xc3\xa9");
	b.label("");
	b.label("\xe6\x97\xa5\xe6\x9c\xac");
	b.label(std::string(255, 'x').c_str());
	return b.build(in, out);
}

/* Field-by-field equality; reports the first difference through gtest. */
static inline void expect_graphs_equal(const npui_graph *a, const npui_graph *b)
{
	ASSERT_STREQ(a->name, b->name);
	ASSERT_EQ(a->num_tensors, b->num_tensors);
	ASSERT_EQ(a->num_layers, b->num_layers);
	ASSERT_EQ(a->input, b->input);
	ASSERT_EQ(a->output, b->output);
	for (uint32_t i = 0; i < a->num_tensors; i++) {
		const npui_tensor &x = a->tensors[i], &y = b->tensors[i];
		ASSERT_STREQ(x.name, y.name) << "tensor " << i;
		ASSERT_EQ(x.h, y.h) << "tensor " << i;
		ASSERT_EQ(x.w, y.w) << "tensor " << i;
		ASSERT_EQ(x.c, y.c) << "tensor " << i;
		ASSERT_EQ(0, memcmp(&x.q.scale, &y.q.scale, sizeof(float))) << "tensor " << i;
		ASSERT_EQ(x.q.zero_point, y.q.zero_point) << "tensor " << i;
	}
	for (uint32_t i = 0; i < a->num_layers; i++) {
		const npui_layer &x = a->layers[i], &y = b->layers[i];
		ASSERT_STREQ(x.name, y.name) << "layer " << i;
		ASSERT_EQ(x.op, y.op) << "layer " << i;
		ASSERT_EQ(x.act, y.act) << "layer " << i;
		ASSERT_EQ(x.num_inputs, y.num_inputs) << "layer " << i;
		for (unsigned k = 0; k < x.num_inputs; k++)
			ASSERT_EQ(x.inputs[k], y.inputs[k]) << "layer " << i << " input " << k;
		ASSERT_EQ(x.output, y.output) << "layer " << i;
		ASSERT_EQ(x.kh, y.kh) << "layer " << i;
		ASSERT_EQ(x.kw, y.kw) << "layer " << i;
		ASSERT_EQ(x.stride_h, y.stride_h) << "layer " << i;
		ASSERT_EQ(x.stride_w, y.stride_w) << "layer " << i;
		ASSERT_EQ(x.pad_t, y.pad_t) << "layer " << i;
		ASSERT_EQ(x.pad_l, y.pad_l) << "layer " << i;
		ASSERT_EQ(x.pad_b, y.pad_b) << "layer " << i;
		ASSERT_EQ(x.pad_r, y.pad_r) << "layer " << i;
		ASSERT_EQ(x.groups, y.groups) << "layer " << i;
		ASSERT_EQ(x.count_include_pad, y.count_include_pad) << "layer " << i;
		ASSERT_EQ(x.lut_fn, y.lut_fn) << "layer " << i;
		ASSERT_EQ(x.split_begin, y.split_begin) << "layer " << i;
		ASSERT_EQ(x.weights_count, y.weights_count) << "layer " << i;
		ASSERT_EQ(x.weights == nullptr, y.weights == nullptr) << "layer " << i;
		if (x.weights) {
			ASSERT_EQ(0, memcmp(x.weights, y.weights, x.weights_count))
			        << "layer " << i;
		}
		ASSERT_EQ(x.bias == nullptr, y.bias == nullptr) << "layer " << i;
		ASSERT_EQ(x.w_scale == nullptr, y.w_scale == nullptr) << "layer " << i;
		int32_t cout = a->tensors[x.output].c;
		for (int32_t c = 0; x.bias && c < cout; c++) {
			ASSERT_EQ(x.bias[c], y.bias[c]) << "layer " << i << " c=" << c;
			ASSERT_EQ(0, memcmp(&x.w_scale[c], &y.w_scale[c], sizeof(float)))
			        << "layer " << i << " c=" << c;
		}
	}
	ASSERT_EQ(a->num_labels, b->num_labels);
	for (uint32_t i = 0; i < a->num_labels; i++)
		ASSERT_STREQ(a->labels[i], b->labels[i]) << "label " << i;
	ASSERT_EQ(a->has_meta, b->has_meta);
	if (a->has_meta) {
		const npui_input_meta &x = a->meta, &y = b->meta;
		ASSERT_EQ(x.color, y.color);
		ASSERT_EQ(x.resize, y.resize);
		ASSERT_EQ(x.layout, y.layout);
		ASSERT_EQ(0, memcmp(&x.crop, &y.crop, sizeof(float)));
		ASSERT_EQ(0, memcmp(x.mean, y.mean, sizeof(x.mean)));
		ASSERT_EQ(0, memcmp(x.std, y.std, sizeof(x.std)));
	}
}

/* ImageNet-style metadata on a 3-channel input (RGB, centre crop 0.875). */
static inline void set_rgb_meta(npui_graph *g)
{
	g->has_meta = 1;
	g->meta = npui_input_meta{};
	g->meta.color = NPUI_COLOR_RGB;
	g->meta.resize = NPUI_RESIZE_CROP;
	g->meta.layout = NPUI_LAYOUT_NCHW;
	g->meta.crop = 0.875f;
	const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
	for (int c = 0; c < 3; c++) {
		g->meta.mean[c] = mean[c];
		g->meta.std[c] = std[c];
	}
}

/* A serialized file image plus accessors for crafting hostile variants. */
struct ModelFile {
	std::vector<uint8_t> b;

	explicit ModelFile(const npui_graph *g)
	{
		void *data = nullptr;
		size_t size = 0;
		int rc = npui_model_serialize(g, &data, &size);
		EXPECT_EQ(NPU_OK, rc);
		if (rc == NPU_OK)
			b.assign(static_cast<uint8_t *>(data), static_cast<uint8_t *>(data) + size);
		free(data);
	}

	/* Recompute the CRC (and, with fix_size, the size field) after an edit. */
	void reseal(bool fix_size = false)
	{
		if (fix_size)
			npui_le_put64(&b[NPUI_FMT_HDR_FILE_SIZE], b.size());
		npui_le_put32(&b[NPUI_FMT_HDR_CRC], npui_fmt_file_crc(b.data(), b.size()));
	}

	uint64_t sec_off(int s) const
	{
		return npui_le_get64(&b[NPUI_FMT_SEC_OFFSET(s)]);
	}
	uint64_t sec_size(int s) const
	{
		return npui_le_get64(&b[NPUI_FMT_SEC_SIZE(s)]);
	}
	uint8_t *tensor(uint32_t i)
	{
		return &b[sec_off(NPUI_FMT_SEC_TENSORS) + i * NPUI_FMT_TEN_SIZE];
	}
	uint8_t *layer(uint32_t i)
	{
		return &b[sec_off(NPUI_FMT_SEC_LAYERS) + i * NPUI_FMT_LAY_SIZE];
	}
	uint8_t *blob()
	{
		return &b[sec_off(NPUI_FMT_SEC_BLOB)];
	}
	uint8_t *labels()
	{
		return &b[sec_off(NPUI_FMT_SEC_LABELS)];
	}

	/* Parse; on success also checks the graph validates and frees it. */
	int parse(std::string *why = nullptr) const
	{
		char buf[256];
		npui_graph *g = nullptr;
		int rc = npui_model_parse(b.data(), b.size(), &g, buf, sizeof(buf));
		if (why)
			*why = buf;
		if (rc == NPU_OK) {
			EXPECT_EQ(NPU_OK, npui_graph_validate(g, nullptr, 0));
			npui_graph_free(g);
		} else {
			EXPECT_EQ(nullptr, g) << "out written on error";
			EXPECT_NE('\0', buf[0]) << "error " << rc << " without a reason";
		}
		return rc;
	}
};

/* Is rc one of the documented model errors (not OK, not a stray code)? */
static inline bool is_model_error(int rc)
{
	switch (rc) {
	case NPU_ERR_MODEL_MAGIC:
	case NPU_ERR_MODEL_VERSION:
	case NPU_ERR_MODEL_TRUNCATED:
	case NPU_ERR_MODEL_CHECKSUM:
	case NPU_ERR_MODEL_TENSOR:
	case NPU_ERR_MODEL_METADATA:
	case NPU_ERR_MODEL_LAYER:
	case NPU_ERR_MODEL_GRAPH:
	case NPU_ERR_MODEL_WEIGHTS:
	case NPU_ERR_MODEL_LABELS:
		return true;
	default:
		return false;
	}
}

} // namespace modeltest

#endif /* LWNPU_TESTS_MODEL_GRAPH_BUILDER_H */
