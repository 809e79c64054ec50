// The layer-level API (npui_ref_prepare / npui_ref_run_layer) on small
// hand-built graphs: every op runs through the plan, and each layer's
// output equals calling its kernel directly with constants derived here.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ref_tester.h"

namespace
{

using reftest::Rng;

// Builds an npui_graph whose arrays live in this object.
class GraphBuilder
{
      public:
	int32_t Tensor(int32_t h, int32_t w, int32_t c, float scale, int32_t zp)
	{
		npui_tensor t = {};
		snprintf(t.name, sizeof(t.name), "t%zu", tensors_.size());
		t.h = h;
		t.w = w;
		t.c = c;
		t.q = {scale, zp};
		tensors_.push_back(t);
		return (int32_t)tensors_.size() - 1;
	}
	npui_layer &Layer(const char *name, int op, std::vector<int32_t> ins, int32_t out)
	{
		npui_layer l = {};
		snprintf(l.name, sizeof(l.name), "%s", name);
		l.op = (uint16_t)op;
		l.num_inputs = (uint8_t)ins.size();
		for (size_t i = 0; i < ins.size(); i++)
			l.inputs[i] = ins[i];
		l.output = out;
		layers_.push_back(l);
		return layers_.back();
	}
	// Pooling / conv geometry.
	static void Geo(npui_layer &l, int k, int s, int pt, int pl, int pb, int pr)
	{
		l.kh = l.kw = (uint16_t)k;
		l.stride_h = l.stride_w = (uint16_t)s;
		l.pad_t = (uint16_t)pt;
		l.pad_l = (uint16_t)pl;
		l.pad_b = (uint16_t)pb;
		l.pad_r = (uint16_t)pr;
	}
	// Random weights/bias/scales for a CONV/FC layer with n weights.
	void Weights(npui_layer &l, size_t n, int32_t cout, Rng &rng, float wscale)
	{
		weights_.push_back(std::make_unique<std::vector<int8_t>>(rng.Bytes(n, -127, 127)));
		bias_.push_back(std::make_unique<std::vector<int32_t>>(cout));
		wscale_.push_back(std::make_unique<std::vector<float>>(cout));
		for (auto &b : *bias_.back())
			b = rng.Int(-500, 500);
		for (auto &s : *wscale_.back())
			s = (float)(wscale * rng.Real(0.5, 2.0));
		l.weights = weights_.back()->data();
		l.weights_count = n;
		l.bias = bias_.back()->data();
		l.w_scale = wscale_.back()->data();
	}
	npui_graph Graph(int32_t input, int32_t output)
	{
		npui_graph g = {};
		snprintf(g.name, sizeof(g.name), "tiny");
		g.num_tensors = (uint32_t)tensors_.size();
		g.tensors = tensors_.data();
		g.num_layers = (uint32_t)layers_.size();
		g.layers = layers_.data();
		g.input = input;
		g.output = output;
		return g;
	}
	std::vector<npui_tensor> tensors_;
	std::vector<npui_layer> layers_;

      private:
	std::vector<std::unique_ptr<std::vector<int8_t>>> weights_;
	std::vector<std::unique_ptr<std::vector<int32_t>>> bias_;
	std::vector<std::unique_ptr<std::vector<float>>> wscale_;
};

struct Built {
	GraphBuilder b;
	int32_t in = 0, out = 0;
};

// Every op of graph.h once (conv, dwconv, 1x1, add, lut, shuffle, split,
// maxpool, avgpool, concat with a requantized input, gap, fc, both muls).
void BuildAllOps(Built &x)
{
	GraphBuilder &b = x.b;
	Rng rng(99);
	const int32_t t0 = b.Tensor(5, 5, 4, 0.05f, 3);
	const int32_t t1 = b.Tensor(5, 5, 6, 0.04f, -128);
	const int32_t t2 = b.Tensor(3, 3, 6, 0.03f, -5);
	const int32_t t3 = b.Tensor(3, 3, 6, 0.05f, 2);
	const int32_t t4 = b.Tensor(3, 3, 6, 0.06f, 0);
	const int32_t t5 = b.Tensor(3, 3, 6, 0.05f, -10);
	const int32_t t6 = b.Tensor(3, 3, 6, 0.05f, -10);
	const int32_t t7 = b.Tensor(3, 3, 3, 0.05f, -10);
	const int32_t t8 = b.Tensor(2, 2, 3, 0.05f, -10);
	const int32_t t9 = b.Tensor(2, 2, 3, 0.04f, 1);
	const int32_t t10 = b.Tensor(2, 2, 6, 0.04f, 1);
	const int32_t t11 = b.Tensor(1, 1, 6, 0.03f, 0);
	const int32_t t12 = b.Tensor(1, 1, 6, 0.05f, 0);
	const int32_t t13 = b.Tensor(2, 2, 6, 0.02f, 0);
	const int32_t t14 = b.Tensor(2, 2, 6, 0.01f, -3);
	const int32_t t15 = b.Tensor(1, 1, 5, 0.1f, 7);

	npui_layer *l = &b.Layer("conv0", NPUI_OP_CONV, {t0}, t1);
	GraphBuilder::Geo(*l, 3, 1, 1, 1, 1, 1);
	l->groups = 1;
	l->act = NPUI_ACT_RELU6;
	b.Weights(*l, 6 * 9 * 4, 6, rng, 0.01f);
	l = &b.Layer("dw1", NPUI_OP_CONV, {t1}, t2);
	GraphBuilder::Geo(*l, 3, 2, 1, 1, 1, 1);
	l->groups = 6;
	b.Weights(*l, 6 * 9, 6, rng, 0.02f);
	l = &b.Layer("pw2", NPUI_OP_CONV, {t2}, t3);
	GraphBuilder::Geo(*l, 1, 1, 0, 0, 0, 0);
	l->groups = 1;
	b.Weights(*l, 6 * 6, 6, rng, 0.01f);
	l = &b.Layer("add3", NPUI_OP_ADD, {t2, t3}, t4);
	l->act = NPUI_ACT_RELU;
	l = &b.Layer("hswish4", NPUI_OP_LUT, {t4}, t5);
	l->lut_fn = NPUI_LUT_HSWISH;
	l = &b.Layer("shuffle5", NPUI_OP_SHUFFLE, {t5}, t6);
	l->groups = 2;
	l = &b.Layer("split6", NPUI_OP_SPLIT, {t6}, t7);
	l->split_begin = 2;
	l = &b.Layer("max7", NPUI_OP_MAXPOOL, {t7}, t8);
	GraphBuilder::Geo(*l, 2, 1, 0, 0, 0, 0);
	l = &b.Layer("avg8", NPUI_OP_AVGPOOL, {t8}, t9);
	GraphBuilder::Geo(*l, 2, 1, 1, 1, 0, 0);
	l = &b.Layer("cat9", NPUI_OP_CONCAT, {t9, t8}, t10);
	l = &b.Layer("gap10", NPUI_OP_GAP, {t10}, t11);
	l = &b.Layer("fc11", NPUI_OP_FC, {t11}, t12);
	b.Weights(*l, 6 * 6, 6, rng, 0.02f);
	l = &b.Layer("mul12", NPUI_OP_MUL, {t10, t12}, t13);
	l = &b.Layer("mul13", NPUI_OP_MUL, {t13, t13}, t14);
	l = &b.Layer("fc14", NPUI_OP_FC, {t14}, t15);
	b.Weights(*l, 5 * 24, 5, rng, 0.01f);
	x.in = t0;
	x.out = t15;
}

size_t Elems(const npui_tensor &t)
{
	return (size_t)t.h * t.w * t.c;
}

// Run layer i's kernel directly, with constants derived independently of
// the plan, into `out`.
void RunDirect(const npui_graph &g, uint32_t i, int8_t *const *bufs, int8_t *out)
{
	const npui_layer &l = g.layers[i];
	const npui_tensor &in = g.tensors[l.inputs[0]];
	const npui_tensor &ot = g.tensors[l.output];
	int32_t lo, hi;
	reftest::ActBounds(l.act, ot.q.scale, ot.q.zero_point, &lo, &hi);
	std::vector<int32_t> mult(ot.c + l.kh * l.kw), shift(mult.size());
	const int8_t *x = bufs[l.inputs[0]];
	const size_t hw = (size_t)in.h * in.w;
	switch (l.op) {
	case NPUI_OP_CONV: {
		ASSERT_EQ(npu_ref_conv_multipliers(in.q.scale, l.w_scale, ot.q.scale, ot.c,
		                                   mult.data(), shift.data()),
		          NPU_OK);
		npu_ref_conv_params p = {in.h,
		                         in.w,
		                         in.c,
		                         ot.h,
		                         ot.w,
		                         ot.c,
		                         l.kh,
		                         l.kw,
		                         l.stride_h,
		                         l.stride_w,
		                         l.pad_t,
		                         l.pad_l,
		                         l.groups,
		                         in.q.zero_point,
		                         ot.q.zero_point,
		                         lo,
		                         hi,
		                         mult.data(),
		                         shift.data()};
		npu_ref_s8_conv2d_generic(&p, x, l.weights, l.bias, out);
		break;
	}
	case NPUI_OP_FC: {
		ASSERT_EQ(npu_ref_conv_multipliers(in.q.scale, l.w_scale, ot.q.scale, ot.c,
		                                   mult.data(), shift.data()),
		          NPU_OK);
		npu_ref_fc_params p = {(int32_t)Elems(in), ot.c,        in.q.zero_point,
		                       ot.q.zero_point,    lo,          hi,
		                       mult.data(),        shift.data()};
		npu_ref_s8_fc(&p, x, l.weights, l.bias, out);
		break;
	}
	case NPUI_OP_MAXPOOL:
	case NPUI_OP_AVGPOOL: {
		ASSERT_EQ(npu_ref_avgpool_multipliers(in.q.scale, ot.q.scale, l.kh * l.kw,
		                                      mult.data(), shift.data()),
		          NPU_OK);
		npu_ref_pool_params p = {in.h,
		                         in.w,
		                         in.c,
		                         ot.h,
		                         ot.w,
		                         l.kh,
		                         l.kw,
		                         l.stride_h,
		                         l.stride_w,
		                         l.pad_t,
		                         l.pad_l,
		                         l.count_include_pad,
		                         in.q.zero_point,
		                         ot.q.zero_point,
		                         lo,
		                         hi,
		                         mult.data(),
		                         shift.data()};
		if (l.op == NPUI_OP_MAXPOOL)
			npu_ref_s8_maxpool(&p, x, out);
		else
			npu_ref_s8_avgpool(&p, x, out);
		break;
	}
	case NPUI_OP_GAP: {
		npu_ref_gap_params p = {in.h, in.w, in.c, in.q.zero_point, ot.q.zero_point, lo,
		                        hi,   0,    0};
		int sh;
		ASSERT_EQ(npui_quantize_multiplier((double)in.q.scale /
		                                           ((double)ot.q.scale * in.h * in.w),
		                                   &p.mult, &sh),
		          NPU_OK);
		p.shift = sh;
		npu_ref_s8_gap(&p, x, out);
		break;
	}
	case NPUI_OP_ADD: {
		npu_ref_add_params p;
		ASSERT_EQ(npu_ref_add_init(&p, &in.q, &g.tensors[l.inputs[1]].q, &ot.q, l.act),
		          NPU_OK);
		npu_ref_s8_add(&p, Elems(in), x, bufs[l.inputs[1]], out);
		break;
	}
	case NPUI_OP_MUL: {
		npu_ref_mul_params p;
		const npui_tensor &b = g.tensors[l.inputs[1]];
		ASSERT_EQ(npu_ref_mul_init(&p, &in.q, &b.q, &ot.q, l.act), NPU_OK);
		if (Elems(b) == Elems(in))
			npu_ref_s8_mul(&p, Elems(in), x, bufs[l.inputs[1]], out);
		else
			npu_ref_s8_mul_bcast(&p, hw, in.c, x, bufs[l.inputs[1]], out);
		break;
	}
	case NPUI_OP_CONCAT: {
		std::vector<npu_ref_concat_input> ins(l.num_inputs);
		for (unsigned k = 0; k < l.num_inputs; k++) {
			const npui_tensor &t = g.tensors[l.inputs[k]];
			int sh = 0;
			ins[k] = {bufs[l.inputs[k]], t.c, 0, t.q.zero_point, 0, 0};
			ins[k].identity =
			        t.q.scale == ot.q.scale && t.q.zero_point == ot.q.zero_point;
			if (!ins[k].identity) {
				ASSERT_EQ(npui_quantize_multiplier((double)t.q.scale / ot.q.scale,
				                                   &ins[k].mult, &sh),
				          NPU_OK);
			}
			ins[k].shift = sh;
		}
		npu_ref_s8_concat(hw, ins.data(), l.num_inputs, ot.c, ot.q.zero_point, out);
		break;
	}
	case NPUI_OP_SHUFFLE:
		npu_ref_s8_shuffle(hw, in.c, l.groups, x, out);
		break;
	case NPUI_OP_SPLIT:
		npu_ref_s8_split(hw, in.c, l.split_begin, ot.c, x, out);
		break;
	case NPUI_OP_LUT: {
		int8_t t[256];
		ASSERT_EQ(npu_ref_lut_build(l.lut_fn, &in.q, &ot.q, t), NPU_OK);
		npu_ref_s8_lut(t, Elems(in), x, out);
		break;
	}
	default:
		FAIL() << "op " << l.op;
	}
}

TEST(RefPlan, EveryOpMatchesDirectKernel)
{
	Built x;
	BuildAllOps(x);
	npui_graph g = x.b.Graph(x.in, x.out);
	npui_ref_plan *plan = nullptr;
	char why[128] = "";
	ASSERT_EQ(npui_ref_prepare(&g, &plan, why, sizeof(why)), NPU_OK) << why;
	ASSERT_NE(plan, nullptr);

	std::vector<std::vector<int8_t>> store(g.num_tensors);
	std::vector<int8_t *> bufs(g.num_tensors);
	for (uint32_t t = 0; t < g.num_tensors; t++) {
		store[t].assign(Elems(g.tensors[t]) + reftest::kGuard, reftest::kPoison);
		bufs[t] = store[t].data();
	}
	Rng rng(5);
	const auto input = rng.Bytes(Elems(g.tensors[x.in]));
	std::memcpy(bufs[x.in], input.data(), input.size());

	int distinct = 0;
	for (uint32_t i = 0; i < g.num_layers; i++) {
		const npui_layer &l = g.layers[i];
		const size_t n = Elems(g.tensors[l.output]);
		npui_ref_run_layer(plan, &g, i, bufs.data());
		std::vector<int8_t> want(n + reftest::kGuard, reftest::kPoison);
		RunDirect(g, i, bufs.data(), want.data());
		for (size_t j = 0; j < n + reftest::kGuard; j++)
			ASSERT_EQ(bufs[l.output][j], want[j])
			        << "layer " << i << " (" << l.name << ") j=" << j;
		// The layer must do something: not all one byte.
		bool varied = false;
		for (size_t j = 1; j < n; j++)
			varied |= bufs[l.output][j] != bufs[l.output][0];
		distinct += varied;
	}
	// Most layers produce non-constant data (guards against a degenerate
	// graph where every comparison is trivially equal).
	EXPECT_GE(distinct, 12);
	// The input was never written.
	EXPECT_EQ(std::memcmp(bufs[x.in], input.data(), input.size()), 0);
	npui_ref_plan_free(plan);
}

TEST(RefPlan, MultiplierOutOfRangeNamesLayer)
{
	Built x;
	BuildAllOps(x);
	// fc11: M = 0.03 * w_scale / 0.05 with w_scale 1e10 is far beyond 2^30.
	for (auto &l : x.b.layers_)
		if (std::string(l.name) == "fc11")
			for (int i = 0; i < 6; i++)
				l.w_scale[i] = 1e10f;
	npui_graph g = x.b.Graph(x.in, x.out);
	npui_ref_plan *plan = reinterpret_cast<npui_ref_plan *>(0x1);
	char why[128] = "";
	EXPECT_EQ(npui_ref_prepare(&g, &plan, why, sizeof(why)), NPU_ERR_MODEL_LAYER);
	EXPECT_EQ(plan, reinterpret_cast<npui_ref_plan *>(0x1)) << "out written on error";
	EXPECT_NE(std::string(why).find("fc11"), std::string::npos) << why;
}

TEST(RefPlan, BadLutFunctionAndNullArgs)
{
	Built x;
	BuildAllOps(x);
	for (auto &l : x.b.layers_)
		if (l.op == NPUI_OP_LUT)
			l.lut_fn = 42;
	npui_graph g = x.b.Graph(x.in, x.out);
	npui_ref_plan *plan = nullptr;
	char why[128] = "";
	EXPECT_EQ(npui_ref_prepare(&g, &plan, why, sizeof(why)), NPU_ERR_MODEL_LAYER);
	EXPECT_NE(std::string(why).find("hswish4"), std::string::npos) << why;
	EXPECT_EQ(npui_ref_prepare(nullptr, &plan, nullptr, 0), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npui_ref_prepare(&g, nullptr, nullptr, 0), NPU_ERR_INVALID_ARG);
	npui_ref_plan_free(nullptr);
}

// Tiny network checked by hand: input [1,1,2] q(0.5, 0) -> 1x1 conv to 1
// channel, weights [2 -1], bias 1, w_scale 0.25 -> M = 0.5*0.25/0.25 = 0.5,
// out q(0.25, 4), ReLU. Input [7 3]: acc = 1 + 14 - 3 = 12 -> 6 -> 10.
// Input [-7 3]: 1 - 14 - 3 = -16 -> -8 -> -4, ReLU clamps at zp 4.
TEST(RefPlan, KnownAnswerTinyConv)
{
	GraphBuilder b;
	const int32_t t0 = b.Tensor(1, 1, 2, 0.5f, 0);
	const int32_t t1 = b.Tensor(1, 1, 1, 0.25f, 4);
	npui_layer &l = b.Layer("c", NPUI_OP_CONV, {t0}, t1);
	GraphBuilder::Geo(l, 1, 1, 0, 0, 0, 0);
	l.groups = 1;
	l.act = NPUI_ACT_RELU;
	int8_t w[2] = {2, -1};
	int32_t bias[1] = {1};
	float ws[1] = {0.25f};
	l.weights = w;
	l.weights_count = 2;
	l.bias = bias;
	l.w_scale = ws;
	npui_graph g = b.Graph(t0, t1);
	npui_ref_plan *plan = nullptr;
	ASSERT_EQ(npui_ref_prepare(&g, &plan, nullptr, 0), NPU_OK);
	int8_t in[2] = {7, 3}, out[1] = {0};
	int8_t *bufs[2] = {in, out};
	npui_ref_run_layer(plan, &g, 0, bufs);
	EXPECT_EQ(out[0], 10);
	in[0] = -7;
	npui_ref_run_layer(plan, &g, 0, bufs);
	EXPECT_EQ(out[0], 4);
	npui_ref_plan_free(plan);
}

} // namespace
