// npu-compile (lib/compile): small ONNX models built here, compiled, and
// checked twice — the lwnpu graph (ops, shapes, fused activations, folded
// constants) and the numbers: the int8 model on the cpu device against a
// float NCHW interpreter of the same ONNX graph (onnx_builder.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "npu.h"
#include "compile/compile.h"
#include "ir/graph.h"
#include "onnx_builder.h"

using onnxb::af;
using onnxb::ai;
using onnxb::as;
using onnxb::at;
using onnxb::ints;
using onnxb::Model;

namespace
{

struct GraphDeleter {
	void operator()(npui_graph *g) const
	{
		npui_graph_free(g);
	}
};
using Graph = std::unique_ptr<npui_graph, GraphDeleter>;

std::vector<float> inputs(const Model &m, int n, uint64_t seed)
{
	std::mt19937_64 r(seed);
	std::normal_distribution<float> nd(0.f, 1.f);
	std::vector<float> x(size_t(n) * m.c * m.h * m.w);
	for (auto &v : x)
		v = nd(r);
	return x;
}

struct Result {
	int rc = -1;
	std::string why;
	Graph g;
	npuc_stats st{};
};

Result compile_bytes(const std::vector<uint8_t> &bytes, const npuc_options *o)
{
	Result r;
	npui_graph *g = nullptr;
	char why[300] = "";
	r.rc = npuc_compile_onnx(bytes.data(), bytes.size(), o, &g, why, sizeof(why));
	r.why = why;
	if (r.rc == NPU_OK)
		r.g.reset(g);
	return r;
}

// Compile with 32 calibration inputs (minmax unless told): enough that
// the test inputs rarely fall outside the calibrated ranges.
Result compile(const Model &m, int calib = 32, npuc_calib_method method = NPUC_CALIB_MINMAX)
{
	npuc_options o;
	npuc_options_default(&o);
	std::vector<float> cx = inputs(m, calib, 777);
	o.calib = cx.data();
	o.calib_count = calib;
	o.calib_c = m.c;
	o.calib_h = m.h;
	o.calib_w = m.w;
	o.calib_method = method;
	Result r;
	o.stats = &r.st;
	Result c = compile_bytes(m.bytes(), &o);
	c.st = r.st;
	return c;
}

// One int8 inference on the cpu device: x NCHW -> output (NHWC flattened).
std::vector<float> run_cpu(const npui_graph *g, const std::vector<float> &x_nchw, int c, int h,
                           int w)
{
	void *data = nullptr;
	size_t size = 0;
	EXPECT_EQ(npui_model_serialize(g, &data, &size), NPU_OK);
	npu_device *dev = nullptr;
	npu_model *mod = nullptr;
	EXPECT_EQ(npu_open("cpu", &dev), NPU_OK);
	EXPECT_EQ(npu_model_load_memory(dev, data, size, &mod), NPU_OK) << npu_last_error();
	free(data);
	npu_tensor_info oi;
	npu_model_output(mod, &oi);
	std::vector<float> in(x_nchw.size()), out(oi.elements);
	for (int ch = 0; ch < c; ch++)
		for (int y = 0; y < h; y++)
			for (int xx = 0; xx < w; xx++)
				in[size_t((y * w + xx) * c + ch)] =
				        x_nchw[size_t((ch * h + y) * w + xx)];
	npu_io io = {NPU_IO_FLOAT32, in.data(),  in.size() * 4,
	             NPU_IO_FLOAT32, out.data(), out.size() * 4};
	EXPECT_EQ(npu_run(mod, &io), NPU_OK);
	npu_model_free(mod);
	npu_close(dev);
	return out;
}

// Reference output in NHWC order, to compare with lwnpu's.
std::vector<float> ref_nhwc(const Model &m, const std::vector<float> &x)
{
	onnxb::Tensor t = m.run(x);
	std::vector<float> o(t.numel());
	if (t.dims.size() == 4) {
		int64_t C = t.dims[1], H = t.dims[2], W = t.dims[3];
		for (int64_t ch = 0; ch < C; ch++)
			for (int64_t y = 0; y < H; y++)
				for (int64_t xx = 0; xx < W; xx++)
					o[size_t((y * W + xx) * C + ch)] =
					        float(t.v[size_t((ch * H + y) * W + xx)]);
	} else {
		for (size_t i = 0; i < o.size(); i++)
			o[i] = float(t.v[i]);
	}
	return o;
}

double cosine(const std::vector<float> &a, const std::vector<float> &b)
{
	double ab = 0, aa = 0, bb = 0;
	for (size_t i = 0; i < a.size() && i < b.size(); i++) {
		ab += double(a[i]) * b[i];
		aa += double(a[i]) * a[i];
		bb += double(b[i]) * b[i];
	}
	return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

// int8 on cpu vs the float reference on n fresh inputs: cosine >= min_cos
// each, and top-1 agreement on all of them (when top1).
void expect_agrees(const Model &m, const npui_graph *g, int n = 3, double min_cos = 0.99,
                   bool top1 = true)
{
	ASSERT_NE(g, nullptr);
	size_t per = size_t(m.c) * m.h * m.w;
	std::vector<float> xs = inputs(m, n, 4242);
	int top1_checked = 0;
	for (int s = 0; s < n; s++) {
		std::vector<float> x(xs.begin() + long(s * per), xs.begin() + long((s + 1) * per));
		std::vector<float> got = run_cpu(g, x, m.c, m.h, m.w), want = ref_nhwc(m, x);
		ASSERT_EQ(got.size(), want.size());
		EXPECT_GE(cosine(got, want), min_cos) << "input " << s;
		if (getenv("NPUC_TEST_DUMP"))
			for (size_t i = 0; i < got.size() && i < 16; i++)
				printf("  %zu: got %g want %g\n", i, got[i], want[i]);
		// Top-1 must agree unless the float reference's own top two are
		// within 3 output steps (then int8 rounding may swap them).
		std::vector<float> sorted = want;
		std::sort(sorted.rbegin(), sorted.rend());
		double step = g->tensors[g->output].q.scale;
		if (top1 && (sorted.size() < 2 || sorted[0] - sorted[1] > 3 * step)) {
			size_t ag = size_t(std::max_element(got.begin(), got.end()) - got.begin());
			size_t aw =
			        size_t(std::max_element(want.begin(), want.end()) - want.begin());
			EXPECT_EQ(ag, aw) << "input " << s;
			top1_checked++;
		}
	}
}

// Layers of the graph with this op.
std::vector<const npui_layer *> layers(const npui_graph *g, int op)
{
	std::vector<const npui_layer *> v;
	for (uint32_t i = 0; i < g->num_layers; i++)
		if (g->layers[i].op == op)
			v.push_back(&g->layers[i]);
	return v;
}

const npui_tensor &out_t(const npui_graph *g, const npui_layer *l)
{
	return g->tensors[l->output];
}

// A classifier head: GlobalAveragePool -> Flatten -> Gemm(n).
std::string head(Model &m, const std::string &x, int c, int n)
{
	std::string p = m.node("GlobalAveragePool", {x});
	std::string f = m.node("Flatten", {p}, {{"axis", ai(1)}});
	m.rand_init("fc.w", {n, c}, 1.0 / std::sqrt(double(c)));
	m.rand_init("fc.b", {n}, 0.1);
	return m.node("Gemm", {f, "fc.w", "fc.b"}, {{"transB", ai(1)}}, 1, "fc");
}

std::string conv(Model &m, const std::string &x, const std::string &name, int cin, int cout, int k,
                 int stride = 1, int groups = 1, bool bias = true)
{
	int pad = (k - 1) / 2;
	m.rand_init(name + ".w", {cout, cin / groups, k, k},
	            std::sqrt(2.0 / (double(cin) / groups * k * k)));
	std::vector<std::string> in{x, name + ".w"};
	if (bias) {
		m.rand_init(name + ".b", {cout}, 0.1);
		in.push_back(name + ".b");
	}
	return m.node("Conv", in,
	              {{"kernel_shape", ints({k, k})},
	               {"pads", ints({pad, pad, pad, pad})},
	               {"strides", ints({stride, stride})},
	               {"group", ai(groups)},
	               {"dilations", ints({1, 1})}},
	              1, name);
}

} // namespace

// ---- patterns ----------------------------------------------------------

TEST(Compile, ConvBatchNormReluFoldsIntoOneConv)
{
	Model m(3, 16, 16);
	std::string c = conv(m, "input", "conv1", 3, 8, 3, 1, 1, false);
	std::vector<double> gamma, beta, mean, var;
	for (int i = 0; i < 8; i++) {
		gamma.push_back(0.5 + 0.1 * i);
		beta.push_back(0.2 * i - 0.7);
		mean.push_back(0.05 * i - 0.2);
		var.push_back(0.5 + 0.25 * i);
	}
	m.init("bn.g", {8}, gamma);
	m.init("bn.b", {8}, beta);
	m.init("bn.m", {8}, mean);
	m.init("bn.v", {8}, var);
	std::string b = m.node("BatchNormalization", {c, "bn.g", "bn.b", "bn.m", "bn.v"},
	                       {{"epsilon", af(1e-3f)}});
	std::string r = m.node("Relu", {b});
	m.output(head(m, r, 8, 10));
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	const npui_graph *g = res.g.get();
	auto convs = layers(g, NPUI_OP_CONV);
	ASSERT_EQ(convs.size(), 1u);
	EXPECT_EQ(convs[0]->act, NPUI_ACT_RELU);
	EXPECT_EQ(g->num_layers, 3u); // conv, gap, fc
	EXPECT_EQ(res.st.bn_folded, 1u);
	// Folded weights: w * gamma / sqrt(var + eps), dequantized, within half a step.
	const onnxb::Tensor &w = m.inits["conv1.w"];
	for (int oc = 0; oc < 8; oc++) {
		double s = gamma[oc] / std::sqrt(var[oc] + 1e-3);
		for (int ic = 0; ic < 3; ic++)
			for (int y = 0; y < 3; y++)
				for (int x = 0; x < 3; x++) {
					double want =
					        w.v[size_t(((oc * 3 + ic) * 3 + y) * 3 + x)] * s;
					double got = convs[0]->weights[size_t(
					                     ((oc * 3 + y) * 3 + x) * 3 + ic)] *
					             double(convs[0]->w_scale[oc]);
					EXPECT_NEAR(got, want, 0.51 * convs[0]->w_scale[oc])
					        << "oc=" << oc << " ic=" << ic << " y=" << y
					        << " x=" << x;
				}
		// Folded bias: beta - mean * s, in the int32 accumulator scale.
		double bias = (beta[oc] - mean[oc] * s) /
		              (double(g->tensors[g->input].q.scale) * convs[0]->w_scale[oc]);
		EXPECT_NEAR(convs[0]->bias[oc], bias, 0.51) << "oc=" << oc;
	}
	expect_agrees(m, g);
}

TEST(Compile, ClipWithConstantNodesIsRelu6)
{
	Model m(3, 12, 12);
	std::string c = conv(m, "input", "c1", 3, 8, 3);
	onnxb::Tensor lo, hi;
	lo.v = {0.0};
	hi.v = {6.0};
	std::string mn = m.node("Constant", {}, {{"value", at(lo)}});
	std::string mx = m.node("Constant", {}, {{"value", at(hi)}});
	std::string r = m.node("Clip", {c, mn, mx});
	std::string c2 = conv(m, r, "c2", 8, 8, 3);
	std::string a = m.node("Add", {c2, r});
	m.init("zero", {}, {0.0});
	m.init("six", {}, {6.0});
	std::string r2 = m.node("Clip", {a, "zero", "six"});
	m.output(head(m, r2, 8, 10));
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	auto convs = layers(res.g.get(), NPUI_OP_CONV);
	auto adds = layers(res.g.get(), NPUI_OP_ADD);
	ASSERT_EQ(convs.size(), 2u);
	ASSERT_EQ(adds.size(), 1u);
	EXPECT_EQ(convs[0]->act, NPUI_ACT_RELU6);
	EXPECT_EQ(convs[1]->act, NPUI_ACT_NONE); // read by the Add only
	EXPECT_EQ(adds[0]->act, NPUI_ACT_RELU6); // Clip fused into the Add
	EXPECT_TRUE(layers(res.g.get(), NPUI_OP_LUT).empty());
	expect_agrees(m, res.g.get());
}

TEST(Compile, ReluWithTwoReadersIsNotFusedIntoIt)
{
	// c1's output feeds Relu and the Add: the Relu cannot become c1's act.
	Model m(3, 8, 8);
	std::string c1 = conv(m, "input", "c1", 3, 4, 3);
	std::string r = m.node("Relu", {c1});
	std::string a = m.node("Add", {r, c1});
	m.output(head(m, a, 4, 5));
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	auto convs = layers(res.g.get(), NPUI_OP_CONV);
	auto luts = layers(res.g.get(), NPUI_OP_LUT);
	ASSERT_EQ(convs.size(), 1u);
	EXPECT_EQ(convs[0]->act, NPUI_ACT_NONE);
	ASSERT_EQ(luts.size(), 1u);
	EXPECT_EQ(luts[0]->lut_fn, NPUI_LUT_RELU);
	expect_agrees(m, res.g.get());
}

TEST(Compile, HardSigmoidTimesInputIsHswish)
{
	Model m(3, 12, 12);
	std::string c = conv(m, "input", "c1", 3, 8, 3);
	// torch's Hardswish at opset 13: x * HardSigmoid(x, 1/6, 0.5)
	std::string hs = m.node("HardSigmoid", {c}, {{"alpha", af(1.f / 6)}, {"beta", af(0.5f)}});
	std::string sw = m.node("Mul", {c, hs});
	std::string c2 = conv(m, sw, "c2", 8, 8, 3);
	std::string sw2 = m.node("HardSwish", {c2});
	std::string c3 = conv(m, sw2, "c3", 8, 8, 1);
	std::string hsig = m.node("HardSigmoid", {c3}, {{"alpha", af(1.f / 6)}});
	std::string c4 = conv(m, hsig, "c4", 8, 8, 1);
	std::string sg = m.node("Sigmoid", {c4});
	m.output(head(m, sg, 8, 10));
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	auto luts = layers(res.g.get(), NPUI_OP_LUT);
	ASSERT_EQ(luts.size(), 4u);
	EXPECT_EQ(luts[0]->lut_fn, NPUI_LUT_HSWISH);
	EXPECT_EQ(luts[1]->lut_fn, NPUI_LUT_HSWISH);
	EXPECT_EQ(luts[2]->lut_fn, NPUI_LUT_HSIGMOID);
	EXPECT_EQ(luts[3]->lut_fn, NPUI_LUT_SIGMOID);
	EXPECT_TRUE(layers(res.g.get(), NPUI_OP_MUL).empty());
	expect_agrees(m, res.g.get());
}

TEST(Compile, ChannelShuffleThroughShapeSubgraph)
{
	// torchvision's channel_shuffle with dynamic sizes: x.size() ->
	// Shape/Gather, C // groups -> Div, Unsqueeze + Concat -> Reshape,
	// Transpose(0,2,1,3,4), Reshape back. All shape math folds away.
	Model m(3, 8, 8);
	std::string c = conv(m, "input", "c1", 3, 12, 3);
	std::string x = m.node("Relu", {c});
	std::string sh = m.node("Shape", {x});
	std::vector<std::string> d;
	for (int k = 0; k < 4; k++) {
		onnxb::Tensor idx;
		idx.v = {double(k)};
		idx.dtype = 7;
		std::string ik = m.node("Constant", {}, {{"value", at(idx)}});
		d.push_back(m.node("Gather", {sh, ik}, {{"axis", ai(0)}}));
	}
	onnxb::Tensor g3;
	g3.v = {3};
	g3.dtype = 7;
	std::string three = m.node("Constant", {}, {{"value", at(g3)}});
	std::string cpg = m.node("Div", {d[1], three});
	m.i64("ax0", {0});
	auto unsq = [&](const std::string &s) { return m.node("Unsqueeze", {s, "ax0"}); };
	std::string shape5 =
	        m.node("Concat", {unsq(d[0]), unsq(three), unsq(cpg), unsq(d[2]), unsq(d[3])},
	               {{"axis", ai(0)}});
	std::string r5 = m.node("Reshape", {x, shape5});
	std::string t5 = m.node("Transpose", {r5}, {{"perm", ints({0, 2, 1, 3, 4})}});
	m.i64("shape4", {1, -1, 8, 8});
	std::string r4 = m.node("Reshape", {t5, "shape4"});
	std::string c2 = conv(m, r4, "c2", 12, 6, 1);
	m.output(c2);
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	auto sh_l = layers(res.g.get(), NPUI_OP_SHUFFLE);
	ASSERT_EQ(sh_l.size(), 1u);
	EXPECT_EQ(sh_l[0]->groups, 3);
	EXPECT_EQ(res.g->num_layers, 3u); // conv, shuffle, conv
	EXPECT_GE(res.st.const_folded, 10u);
	expect_agrees(m, res.g.get(), 3, 0.99, false);
}

TEST(Compile, ChunkAsSplitAndSliceBecomesSplitLayers)
{
	Model m(3, 8, 8);
	std::string c = conv(m, "input", "c1", 3, 10, 3);
	m.i64("sizes", {4, 6});
	m.node("Split", {c, "sizes"}, {{"axis", ai(1)}}, 2, "split");
	std::string s0 = "split_out", s1 = "split_out1";
	m.i64("st", {6});
	m.i64("en", {INT64_MAX});
	m.i64("ax", {1});
	std::string sl = m.node("Slice", {c, "st", "en", "ax"});
	std::string b1 = conv(m, s1, "b1", 6, 4, 3);
	std::string cat = m.node("Concat", {s0, b1, sl}, {{"axis", ai(1)}});
	m.output(conv(m, cat, "c3", 12, 5, 1));
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	auto sp = layers(res.g.get(), NPUI_OP_SPLIT);
	ASSERT_EQ(sp.size(), 3u);
	EXPECT_EQ(sp[0]->split_begin, 0);
	EXPECT_EQ(out_t(res.g.get(), sp[0]).c, 4);
	EXPECT_EQ(sp[1]->split_begin, 4);
	EXPECT_EQ(out_t(res.g.get(), sp[1]).c, 6);
	EXPECT_EQ(sp[2]->split_begin, 6);
	EXPECT_EQ(out_t(res.g.get(), sp[2]).c, 4);
	auto cat_l = layers(res.g.get(), NPUI_OP_CONCAT);
	ASSERT_EQ(cat_l.size(), 1u);
	EXPECT_EQ(out_t(res.g.get(), cat_l[0]).c, 12);
	// Split keeps its input's quant.
	const npui_graph *g = res.g.get();
	EXPECT_EQ(g->tensors[sp[0]->inputs[0]].q.scale, out_t(g, sp[0]).q.scale);
	EXPECT_EQ(g->tensors[sp[0]->inputs[0]].q.zero_point, out_t(g, sp[0]).q.zero_point);
	expect_agrees(m, g, 3, 0.99, false);
}

TEST(Compile, GemmAfterFlattenOfSpatialMapPermutesWeights)
{
	// [1,6,4,4] flattened in NCHW order; lwnpu's FC reads NHWC. A wrong
	// column order would scramble the result completely.
	Model m(3, 8, 8);
	std::string c = conv(m, "input", "c1", 3, 6, 3, 2);
	std::string r = m.node("Relu", {c});
	std::string f = m.node("Flatten", {r}, {{"axis", ai(1)}});
	m.rand_init("w", {10, 96}, 0.15);
	m.rand_init("b", {10}, 0.1);
	std::string y = m.node("Gemm", {f, "w", "b"}, {{"transB", ai(1)}, {"alpha", af(0.5f)}});
	m.output(y);
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	auto fc = layers(res.g.get(), NPUI_OP_FC);
	ASSERT_EQ(fc.size(), 1u);
	EXPECT_EQ(res.g->tensors[fc[0]->inputs[0]].h, 4);
	EXPECT_EQ(out_t(res.g.get(), fc[0]).c, 10);
	expect_agrees(m, res.g.get(), 4);
}

TEST(Compile, MatMulPlusAddAndReshapeFlattenIsOneFc)
{
	Model m(3, 6, 6);
	std::string c = conv(m, "input", "c1", 3, 4, 3, 2);
	m.i64("flat", {1, -1});
	std::string f = m.node("Reshape", {c, "flat"});
	m.rand_init("w", {36, 7}, 0.2);
	m.rand_init("b", {7}, 0.3);
	std::string mm = m.node("MatMul", {f, "w"});
	m.output(m.node("Add", {mm, "b"}));
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	EXPECT_EQ(res.g->num_layers, 2u);
	EXPECT_EQ(res.st.bias_folded, 1u);
	expect_agrees(m, res.g.get(), 5);
}

TEST(Compile, SqueezeExciteMulIsChannelBroadcastMul)
{
	Model m(3, 8, 8);
	std::string x = m.node("Relu", {conv(m, "input", "c1", 3, 16, 3)});
	std::string p = m.node("GlobalAveragePool", {x});
	std::string s1 = m.node("Relu", {conv(m, p, "se1", 16, 4, 1)});
	std::string s2 = conv(m, s1, "se2", 4, 16, 1);
	std::string gate =
	        m.node("HardSigmoid", {s2}, {{"alpha", af(1.f / 6)}, {"beta", af(0.5f)}});
	std::string y = m.node("Mul", {gate, x}); // gate first: order must not matter
	m.output(head(m, y, 16, 10));
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	const npui_graph *g = res.g.get();
	auto mul = layers(g, NPUI_OP_MUL);
	ASSERT_EQ(mul.size(), 1u);
	EXPECT_EQ(g->tensors[mul[0]->inputs[0]].h, 8); // the feature map first
	EXPECT_EQ(g->tensors[mul[0]->inputs[1]].h, 1); // the [1,1,C] gate
	EXPECT_EQ(layers(g, NPUI_OP_LUT).size(), 1u);
	expect_agrees(m, g);
}

TEST(Compile, PoolsCeilModeAndCountIncludePad)
{
	Model m(3, 15, 15);
	std::string x = m.node("Relu", {conv(m, "input", "c1", 3, 8, 3)});
	std::string mp = m.node(
	        "MaxPool", {x},
	        {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"ceil_mode", ai(1)}});
	std::string ap = m.node("AveragePool", {mp},
	                        {{"kernel_shape", ints({3, 3})},
	                         {"pads", ints({1, 1, 1, 1})},
	                         {"count_include_pad", ai(1)}});
	std::string ap2 = m.node(
	        "AveragePool", {ap},
	        {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"ceil_mode", ai(1)}});
	m.output(ap2);
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	const npui_graph *g = res.g.get();
	auto mp_l = layers(g, NPUI_OP_MAXPOOL);
	auto ap_l = layers(g, NPUI_OP_AVGPOOL);
	ASSERT_EQ(mp_l.size(), 1u);
	ASSERT_EQ(ap_l.size(), 2u);
	EXPECT_EQ(out_t(g, mp_l[0]).h, 7); // ceil((15 - 3) / 2) + 1
	EXPECT_EQ(mp_l[0]->pad_b, 0);
	EXPECT_EQ(ap_l[0]->count_include_pad, 1);
	EXPECT_EQ(out_t(g, ap_l[1]).h, 4); // ceil((7 - 2) / 2) + 1, extra bottom pad
	EXPECT_EQ(ap_l[1]->pad_b, 1);
	EXPECT_EQ(g->tensors[mp_l[0]->inputs[0]].q.scale, out_t(g, mp_l[0]).q.scale);
	expect_agrees(m, g, 3, 0.99, false);
}

// torch.onnx.export writes AvgPool2d(3, 2, padding=1) as Pad(constant 0)
// + AveragePool(pads 0); tf2onnx writes explicit padding as Pad + Conv.
// Both fold into the window padding of one layer, the zeros counted.
TEST(Compile, PadFoldsIntoAveragePoolAndConv)
{
	Model m(3, 12, 12);
	std::string x = m.node("Relu", {conv(m, "input", "c1", 3, 8, 3)});
	m.i64("pads1", {0, 0, 1, 1, 0, 0, 1, 1});
	m.init("zero", {}, {0.0});
	std::string p1 = m.node("Pad", {x, "pads1", "zero"}, {{"mode", as("constant")}});
	std::string ap = m.node("AveragePool", {p1},
	                        {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}});
	// opset < 11 form: pads as an attribute; TF "SAME" at stride 2 pads
	// only bottom/right.
	std::string p2 = m.node("Pad", {ap}, {{"pads", ints({0, 0, 0, 0, 0, 0, 1, 1})}});
	m.rand_init("c2.w", {6, 8, 3, 3}, 0.2);
	std::string c2 = m.node("Conv", {p2, "c2.w"}, {{"strides", ints({2, 2})}}, 1, "c2");
	m.output(c2);
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	const npui_graph *g = res.g.get();
	auto ap_l = layers(g, NPUI_OP_AVGPOOL);
	auto cv_l = layers(g, NPUI_OP_CONV);
	ASSERT_EQ(ap_l.size(), 1u);
	ASSERT_EQ(cv_l.size(), 2u);
	EXPECT_EQ(ap_l[0]->pad_t, 1);
	EXPECT_EQ(ap_l[0]->pad_b, 1);
	EXPECT_EQ(ap_l[0]->count_include_pad, 1);
	EXPECT_EQ(out_t(g, ap_l[0]).h, 6); // (12 + 2 - 3) / 2 + 1
	EXPECT_EQ(cv_l[1]->pad_t, 0);
	EXPECT_EQ(cv_l[1]->pad_l, 0);
	EXPECT_EQ(cv_l[1]->pad_b, 1);
	EXPECT_EQ(cv_l[1]->pad_r, 1);
	EXPECT_EQ(out_t(g, cv_l[1]).h, 3); // (6 + 1 - 3) / 2 + 1
	EXPECT_EQ(res.st.removed, 2u);
	expect_agrees(m, g, 3, 0.99, false);
	// Tighter than the cosine: every output within a few int8 steps of the
	// float graph (a pool that did not count the zeros is off by up to
	// 9/4 at the borders, tens of steps).
	std::vector<float> xin = inputs(m, 1, 99);
	std::vector<float> got = run_cpu(g, xin, m.c, m.h, m.w), want = ref_nhwc(m, xin);
	ASSERT_EQ(got.size(), want.size());
	double worst = 0, step = g->tensors[g->output].q.scale;
	for (size_t i = 0; i < got.size(); i++)
		worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / step);
	printf("  max |int8 - float| = %.2f output steps\n", worst);
	EXPECT_LE(worst, 4.0);
}

TEST(Compile, ReduceMeanWithoutKeepdimsFeedsGemm)
{
	Model m(3, 8, 8);
	std::string x = m.node("Relu", {conv(m, "input", "c1", 3, 8, 3)});
	std::string p = m.node("ReduceMean", {x}, {{"axes", ints({2, 3})}, {"keepdims", ai(0)}});
	m.rand_init("w", {5, 8}, 0.4);
	std::string d = m.node("Dropout", {p});
	m.output(m.node("Gemm", {d, "w"}, {{"transB", ai(1)}}));
	Result res = compile(m);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	EXPECT_EQ(layers(res.g.get(), NPUI_OP_GAP).size(), 1u);
	EXPECT_EQ(res.g->num_layers, 3u);
	expect_agrees(m, res.g.get());
}

TEST(Compile, PercentileCalibrationAndLabels)
{
	Model m(3, 10, 10);
	std::string x = m.node("Relu", {conv(m, "input", "c1", 3, 8, 3)});
	m.output(head(m, x, 8, 4));
	npuc_options o;
	npuc_options_default(&o);
	std::vector<float> cx = inputs(m, 8, 1);
	const char *labels[] = {"cat", "dog", "ship", "frog"};
	o.calib = cx.data();
	o.calib_count = 8;
	o.calib_c = 3;
	o.calib_h = o.calib_w = 10;
	o.labels = labels;
	o.num_labels = 4;
	Result mm = compile_bytes(m.bytes(), &o);
	o.calib_method = NPUC_CALIB_PERCENTILE;
	o.percentile = 99.0;
	Result pc = compile_bytes(m.bytes(), &o);
	ASSERT_EQ(mm.rc, NPU_OK) << mm.why;
	ASSERT_EQ(pc.rc, NPU_OK) << pc.why;
	ASSERT_EQ(pc.g->num_labels, 4u);
	EXPECT_STREQ(pc.g->labels[2], "ship");
	// Clipping the tails can only narrow the input range.
	EXPECT_LT(pc.g->tensors[pc.g->input].q.scale, mm.g->tensors[mm.g->input].q.scale);
	expect_agrees(m, pc.g.get(), 3, 0.98, false);
}

TEST(Compile, SymbolicInputSizeNeedsInputSize)
{
	Model m(3, -1, -1);
	m.output(conv(m, "input", "c1", 3, 4, 3));
	npuc_options o;
	npuc_options_default(&o);
	Result r = compile_bytes(m.bytes(), &o);
	EXPECT_EQ(r.rc, NPU_ERR_INVALID_ARG);
	EXPECT_NE(r.why.find("--input-size"), std::string::npos) << r.why;
}

// ---- QDQ -------------------------------------------------------------------

TEST(Compile, QdqModelUsesItsScalesWithoutCalibration)
{
	Model m(3, 8, 8);
	// activation Q/DQ (uint8, zp 128 -> int8 zp 0), per-channel int8 weights
	m.init("in.s", {}, {0.03125});
	m.init("in.z", {}, {128}, 2);
	std::string q = m.node("QuantizeLinear", {"input", "in.s", "in.z"});
	std::string dq = m.node("DequantizeLinear", {q, "in.s", "in.z"});
	std::vector<double> wq, ws;
	std::mt19937 r(3);
	for (int i = 0; i < 8 * 3 * 9; i++)
		wq.push_back(double(int(r() % 255) - 127));
	for (int c = 0; c < 8; c++)
		ws.push_back(0.002 * (c + 1));
	m.init("w.q", {8, 3, 3, 3}, wq, 3);
	m.init("w.s", {8}, ws);
	m.init("w.z", {8}, std::vector<double>(8, 0.0), 3);
	std::string w = m.node("DequantizeLinear", {"w.q", "w.s", "w.z"}, {{"axis", ai(0)}});
	m.rand_init("b", {8}, 0.05);
	std::string c = m.node("Conv", {dq, w, "b"}, {{"pads", ints({1, 1, 1, 1})}}, 1, "qconv");
	std::string rl = m.node("Relu", {c});
	m.init("o.s", {}, {0.0078125});
	m.init("o.z", {}, {0}, 2);
	std::string q2 = m.node("QuantizeLinear", {rl, "o.s", "o.z"});
	std::string dq2 = m.node("DequantizeLinear", {q2, "o.s", "o.z"});
	m.output(dq2);
	npuc_options o;
	npuc_options_default(&o); // no calibration
	Result res = compile_bytes(m.bytes(), &o);
	ASSERT_EQ(res.rc, NPU_OK) << res.why;
	const npui_graph *g = res.g.get();
	ASSERT_EQ(g->num_layers, 1u);
	const npui_layer *l = &g->layers[0];
	EXPECT_EQ(l->act, NPUI_ACT_RELU);
	EXPECT_FLOAT_EQ(g->tensors[g->input].q.scale, 0.03125f);
	EXPECT_EQ(g->tensors[g->input].q.zero_point, 0);
	EXPECT_FLOAT_EQ(g->tensors[g->output].q.scale, 0.0078125f);
	EXPECT_EQ(g->tensors[g->output].q.zero_point, -128);
	for (int oc = 0; oc < 8; oc++)
		EXPECT_FLOAT_EQ(l->w_scale[oc], float(ws[oc])) << "oc=" << oc;
	// The int8 weights are the model's own, reordered OIHW -> OHWI.
	EXPECT_EQ(l->weights[0], int8_t(wq[0]));
	EXPECT_EQ(l->weights[1], int8_t(wq[9])); // ic 1 at (0,0)
	expect_agrees(m, g, 3, 0.99, false);
}

TEST(Compile, WithoutCalibrationAFloatModelIsAnError)
{
	Model m(3, 8, 8);
	m.output(conv(m, "input", "c1", 3, 4, 3));
	npuc_options o;
	npuc_options_default(&o);
	Result r = compile_bytes(m.bytes(), &o);
	EXPECT_EQ(r.rc, NPU_ERR_INVALID_ARG);
	EXPECT_NE(r.why.find("no calibration"), std::string::npos) << r.why;
}

// ---- errors ------------------------------------------------------------------

TEST(Compile, UnsupportedOpNamesTheNode)
{
	Model m(3, 8, 8);
	std::string c = conv(m, "input", "c1", 3, 4, 3);
	std::string e = m.node("Erf", {c}, {}, 1, "/block3/Erf_7");
	m.output(e);
	Result r = compile(m);
	EXPECT_EQ(r.rc, NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(r.why, "node '/block3/Erf_7' (Erf): not supported by lwnpu") << r.why;
}

TEST(Compile, UnsupportedParametersSayWhy)
{
	struct Case {
		const char *what;
		std::function<void(Model &)> build;
		const char *expect;
	};
	std::vector<Case> cases = {
	        {"dilation",
	         [](Model &m) {
		         m.rand_init("w", {4, 3, 3, 3}, 0.3);
		         m.output(m.node("Conv", {"input", "w"}, {{"dilations", ints({2, 2})}}, 1,
		                         "dil"));
	         },
	         "node 'dil' (Conv): not supported by lwnpu: dilation 2 (only 1)"},
	        {"clip range",
	         [](Model &m) {
		         m.init("lo", {}, {-1.0});
		         m.init("hi", {}, {1.0});
		         m.output(m.node("Clip", {conv(m, "input", "c", 3, 4, 3), "lo", "hi"}, {},
		                         1, "clp"));
	         },
	         "node 'clp' (Clip): not supported by lwnpu: Clip(-1, 1)"},
	        {"non-constant weight",
	         [](Model &m) {
		         std::string a = conv(m, "input", "c", 3, 3, 3);
		         m.output(m.node("Conv", {"input", a}, {}, 1, "dyn"));
	         },
	         "node 'dyn' (Conv): not supported by lwnpu: input 1"},
	        {"missing initializer",
	         [](Model &m) {
		         m.output(m.node("Conv", {"input", "nowhere"}, {}, 1, "lost"));
	         },
	         "node 'lost' (Conv): input 'nowhere' is not produced"},
	        {"wrong weight dims",
	         [](Model &m) {
		         m.rand_init("w", {4, 5, 3, 3}, 0.3);
		         m.output(m.node("Conv", {"input", "w"}, {}, 1, "bad"));
	         },
	         "node 'bad' (Conv): weight 4x5"},
	        {"transpose",
	         [](Model &m) {
		         m.output(m.node("Transpose", {conv(m, "input", "c", 3, 4, 3)},
		                         {{"perm", ints({0, 2, 3, 1})}}, 1, "tr"));
	         },
	         "node 'tr' (Transpose): not supported by lwnpu"},
	        {"reflect padding",
	         [](Model &m) {
		         m.i64("p", {0, 0, 1, 1, 0, 0, 1, 1});
		         std::string q =
		                 m.node("Pad", {"input", "p"}, {{"mode", as("reflect")}}, 1, "pad");
		         m.output(conv(m, q, "c", 3, 4, 3));
	         },
	         "node 'pad' (Pad): not supported by lwnpu: mode 'reflect' (only constant)"},
	        {"padding with a non-zero value",
	         [](Model &m) {
		         m.i64("p", {0, 0, 1, 1, 0, 0, 1, 1});
		         m.init("v", {}, {-1.0});
		         std::string q = m.node("Pad", {"input", "p", "v"}, {}, 1, "pad");
		         m.output(conv(m, q, "c", 3, 4, 3));
	         },
	         "node 'pad' (Pad): not supported by lwnpu: padding with -1 (only 0)"},
	        {"cropping pad",
	         [](Model &m) {
		         m.i64("p", {0, 0, -1, 0, 0, 0, 0, 0});
		         std::string q = m.node("Pad", {"input", "p"}, {}, 1, "pad");
		         m.output(conv(m, q, "c", 3, 4, 3));
	         },
	         "node 'pad' (Pad): not supported by lwnpu: pad -1"},
	        {"pad of the channels",
	         [](Model &m) {
		         m.i64("p", {0, 1, 0, 0, 0, 0, 0, 0});
		         std::string q = m.node("Pad", {"input", "p"}, {}, 1, "pad");
		         m.output(conv(m, q, "c", 4, 4, 3));
	         },
	         "node 'pad' (Pad): not supported by lwnpu: padding of the batch or channel"},
	        {"pad read by a max pool",
	         [](Model &m) {
		         m.i64("p", {0, 0, 1, 1, 0, 0, 1, 1});
		         std::string q = m.node("Pad", {"input", "p"}, {}, 1, "pad");
		         m.output(m.node("MaxPool", {q}, {{"kernel_shape", ints({3, 3})}}));
	         },
	         "node 'pad' (Pad): not supported by lwnpu: a Pad must be read by exactly one "
	         "Conv or AveragePool"},
	        {"pad wider than the kernel",
	         [](Model &m) {
		         m.i64("p", {0, 0, 2, 2, 0, 0, 2, 2});
		         std::string q = m.node("Pad", {"input", "p"}, {}, 1, "pad");
		         m.output(m.node("AveragePool", {q}, {{"kernel_shape", ints({2, 2})}}, 1,
		                         "ap"));
	         },
	         "node 'ap' (AveragePool): not supported by lwnpu: padding 2,2,2,2 not smaller"},
	        {"relu of the graph input (a LUT, fine)",
	         [](Model &m) { m.output(m.node("Relu", {"input"}, {}, 1, "r")); }, nullptr},
	};
	for (auto &c : cases) {
		Model m(3, 8, 8);
		c.build(m);
		Result r = compile(m);
		if (!c.expect) {
			EXPECT_EQ(r.rc, NPU_OK) << c.what << ": " << r.why;
			continue;
		}
		EXPECT_NE(r.rc, NPU_OK) << c.what;
		EXPECT_EQ(r.why.compare(0, strlen(c.expect), c.expect), 0)
		        << c.what << ": got '" << r.why << "'";
		EXPECT_EQ(r.why.find('\n'), std::string::npos) << c.what;
	}
}

TEST(Compile, MalformedBytesGiveACleanError)
{
	Model m(3, 8, 8);
	std::string x = m.node("Relu", {conv(m, "input", "c1", 3, 8, 3)});
	m.output(head(m, x, 8, 4));
	std::vector<uint8_t> good = m.bytes();
	npuc_options o;
	npuc_options_default(&o);
	std::vector<float> cx = inputs(m, 2, 1);
	o.calib = cx.data();
	o.calib_count = 2;
	o.calib_c = 3;
	o.calib_h = o.calib_w = 8;
	ASSERT_EQ(compile_bytes(good, &o).rc, NPU_OK);
	// Every truncation.
	int accepted = 0;
	for (size_t n = 0; n < good.size(); n++) {
		std::vector<uint8_t> t(good.begin(), good.begin() + long(n));
		Result r = compile_bytes(t, &o);
		// A cut at a field boundary can leave a valid, smaller model
		// (e.g. without the trailing opset_import).
		if (r.rc == NPU_OK) {
			EXPECT_EQ(npui_graph_validate(r.g.get(), nullptr, 0), NPU_OK) << "n=" << n;
		} else {
			EXPECT_FALSE(r.why.empty()) << "n=" << n;
		}
		accepted += r.rc == NPU_OK;
	}
	EXPECT_LT(accepted, 20); // only cuts within the trailing metadata
	// Random bytes, and the model with random bytes flipped.
	std::mt19937_64 rng(99);
	for (int k = 0; k < 300; k++) {
		std::vector<uint8_t> t(size_t(rng() % 2000));
		for (auto &b : t)
			b = uint8_t(rng());
		Result r = compile_bytes(t, &o);
		if (r.rc != NPU_OK) {
			EXPECT_FALSE(r.why.empty());
		}
	}
	// Byte flips of this model and of one with shape math, shuffle, split
	// and concat; NPUC_FUZZ_ITERS raises the count (e.g. under ASan).
	Model sm(3, 8, 8);
	std::string c = conv(sm, "input", "c1", 3, 12, 3);
	std::string sh = sm.node("Shape", {c});
	sm.i64("i1", {1});
	std::string ch = sm.node("Gather", {sh, "i1"}, {{"axis", ai(0)}});
	sm.i64("two", {2});
	std::string half = sm.node("Div", {ch, "two"});
	sm.i64("one", {1});
	std::string v5 = sm.node("Concat", {"one", "two", half, "two", "two"}, {{"axis", ai(0)}});
	sm.i64("v5b", {1, 2, 6, 8, 8});
	std::string r5 = sm.node("Reshape", {c, "v5b"});
	std::string t5 = sm.node("Transpose", {r5}, {{"perm", ints({0, 2, 1, 3, 4})}});
	sm.i64("v4", {1, -1, 8, 8});
	std::string r4 = sm.node("Reshape", {t5, "v4"});
	sm.i64("sizes", {5, 7});
	sm.node("Split", {r4, "sizes"}, {{"axis", ai(1)}}, 2, "sp");
	std::string cat = sm.node("Concat", {"sp_out1", "sp_out"}, {{"axis", ai(1)}});
	std::string mp = sm.node("MaxPool", {cat},
	                         {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}});
	sm.output(head(sm, mp, 12, 3));
	(void)v5;
	std::vector<uint8_t> good2 = sm.bytes();
	ASSERT_EQ(compile_bytes(good2, &o).rc, NPU_OK) << compile_bytes(good2, &o).why;
	const char *it = getenv("NPUC_FUZZ_ITERS");
	int iters = it ? atoi(it) : 300;
	for (int k = 0; k < 2 * iters; k++) {
		std::vector<uint8_t> t = k % 2 ? good2 : good;
		int flips = 1 + int(rng() % 6);
		for (int j = 0; j < flips; j++)
			t[size_t(rng() % t.size())] = uint8_t(rng());
		Result r = compile_bytes(t, &o);
		if (r.rc != NPU_OK) {
			EXPECT_FALSE(r.why.empty());
		} else {
			EXPECT_EQ(npui_graph_validate(r.g.get(), nullptr, 0), NPU_OK);
		}
	}
}
