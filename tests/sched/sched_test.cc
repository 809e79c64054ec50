// The scheduler (lib/sched): placement, folding, tiling and command
// streams. Every schedule is executed with the ISA-level model of the
// descriptors (isa_model.h, a test oracle, not a device) for the NPU
// segments and npui_ref_run_layer for the CPU segments; the graph output
// must equal, byte for byte, the whole graph run on the CPU kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "isa_model.h"
#include "npu.h"
#include "core/runtime.h"
#include "ir/graph.h"
#include "driver/npu_desc.h"
#include "driver/npu_regs.h"
#include "ref/ref.h"
#include "sched/sched.h"
#include "tests/common/placement.h"
#include "zoo/zoo.h"

namespace
{

constexpr uint64_t kArenaBase = 0x10000000ull;
constexpr uint64_t kConstBase = 0x80000000ull;

struct GraphDeleter {
	void operator()(npui_graph *g) const
	{
		npui_graph_free(g);
	}
};
using Graph = std::unique_ptr<npui_graph, GraphDeleter>;

struct SchedDeleter {
	void operator()(npui_sched *s) const
	{
		npui_sched_free(s);
	}
};
using Sched = std::unique_ptr<npui_sched, SchedDeleter>;

struct PlanDeleter {
	void operator()(npui_ref_plan *p) const
	{
		npui_ref_plan_free(p);
	}
};
using Plan = std::unique_ptr<npui_ref_plan, PlanDeleter>;

npui_caps Caps(bool small)
{
	npui_caps c;
	npui_caps_preset(&c, small ? 1 : 0);
	return c;
}

// ---- a small graph builder for the per-layer cases ----------------------

class Builder
{
      public:
	explicit Builder(uint32_t seed) : rng_(seed)
	{
	}
	int Input(int h, int w, int c)
	{
		return Tensor(h, w, c, 0.05f, Zp());
	}
	int Conv(int x, int cout, int k, int stride, int pad, int groups, int act = NPUI_ACT_RELU,
	         int kw = 0, int pad_b = -1)
	{
		const npui_tensor &t = t_[x];
		int kk = kw ? kw : k;
		int pb = pad_b < 0 ? pad : pad_b;
		int oh = (t.h + pad + pb - k) / stride + 1,
		    ow = (t.w + pad + pad - kk) / stride + 1;
		int cin_g = t.c / groups;
		double K = (double)k * kk * cin_g;
		float ws = 0.01f;
		int o = Tensor(oh, ow, cout, (float)(t.q.scale * ws * 5400.0 * std::sqrt(K) / 40.0),
		               Zp());
		npui_layer l = Layer(NPUI_OP_CONV, x, o, act);
		l.kh = (uint16_t)k;
		l.kw = (uint16_t)kk;
		l.stride_h = l.stride_w = (uint16_t)stride;
		l.pad_t = l.pad_l = l.pad_r = (uint16_t)pad;
		l.pad_b = (uint16_t)pb;
		l.groups = (uint16_t)groups;
		Weights(&l, (size_t)cout * k * kk * cin_g, cout, ws);
		l_.push_back(l);
		return o;
	}
	int Fc(int x, int cout)
	{
		const npui_tensor &t = t_[x];
		double K = (double)t.h * t.w * t.c;
		float ws = 0.01f;
		int o = Tensor(1, 1, cout, (float)(t.q.scale * ws * 5400.0 * std::sqrt(K) / 40.0),
		               Zp());
		npui_layer l = Layer(NPUI_OP_FC, x, o, NPUI_ACT_NONE);
		Weights(&l, (size_t)cout * (size_t)K, cout, ws);
		l_.push_back(l);
		return o;
	}
	int Pool(int op, int x, int k, int s, int pad, int pad_b, int cip)
	{
		const npui_tensor &t = t_[x];
		int oh = (t.h + pad + pad_b - k) / s + 1, ow = (t.w + pad + pad_b - k) / s + 1;
		int o = op == NPUI_OP_MAXPOOL ? Tensor(oh, ow, t.c, t.q.scale, t.q.zero_point)
		                              : Tensor(oh, ow, t.c, t.q.scale * 0.7f, Zp());
		npui_layer l = Layer(op, x, o, NPUI_ACT_NONE);
		l.kh = l.kw = (uint16_t)k;
		l.stride_h = l.stride_w = (uint16_t)s;
		l.pad_t = l.pad_l = (uint16_t)pad;
		l.pad_b = l.pad_r = (uint16_t)pad_b;
		l.count_include_pad = (uint8_t)cip;
		l_.push_back(l);
		return o;
	}
	int Gap(int x)
	{
		const npui_tensor &t = t_[x];
		int o = Tensor(1, 1, t.c, t.q.scale * 0.5f, Zp());
		l_.push_back(Layer(NPUI_OP_GAP, x, o, NPUI_ACT_NONE));
		return o;
	}
	int Add(int a, int b, int act)
	{
		const npui_tensor &t = t_[a];
		int o = Tensor(t.h, t.w, t.c, t.q.scale * 1.3f, Zp());
		npui_layer l = Layer(NPUI_OP_ADD, a, o, act);
		l.num_inputs = 2;
		l.inputs[1] = b;
		l_.push_back(l);
		return o;
	}
	int Concat(std::vector<int> ins)
	{
		int c = 0;
		for (int x : ins)
			c += t_[x].c;
		const npui_tensor t = t_[ins[0]];
		int o = Tensor(t.h, t.w, c, t.q.scale, t.q.zero_point);
		npui_layer l = Layer(NPUI_OP_CONCAT, ins[0], o, NPUI_ACT_NONE);
		l.num_inputs = (uint8_t)ins.size();
		for (size_t k = 0; k < ins.size(); k++) {
			l.inputs[k] = ins[k];
			t_[ins[k]].q = t_[o].q; // identity concat, as the zoo builds
		}
		l_.push_back(l);
		return o;
	}
	int Shuffle(int x, int g)
	{
		const npui_tensor t = t_[x];
		int o = Tensor(t.h, t.w, t.c, t.q.scale, t.q.zero_point);
		npui_layer l = Layer(NPUI_OP_SHUFFLE, x, o, NPUI_ACT_NONE);
		l.groups = (uint16_t)g;
		l_.push_back(l);
		return o;
	}
	int Split(int x, int begin, int c)
	{
		const npui_tensor t = t_[x];
		int o = Tensor(t.h, t.w, c, t.q.scale, t.q.zero_point);
		npui_layer l = Layer(NPUI_OP_SPLIT, x, o, NPUI_ACT_NONE);
		l.split_begin = begin;
		l_.push_back(l);
		return o;
	}
	int Lut(int x, int fn)
	{
		const npui_tensor t = t_[x];
		int o = Tensor(t.h, t.w, t.c, t.q.scale, Zp());
		npui_layer l = Layer(NPUI_OP_LUT, x, o, NPUI_ACT_NONE);
		l.lut_fn = (uint8_t)fn;
		l_.push_back(l);
		return o;
	}
	Graph Build(int output)
	{
		npui_graph *g = (npui_graph *)calloc(1, sizeof(*g));
		snprintf(g->name, sizeof(g->name), "unit");
		g->num_tensors = (uint32_t)t_.size();
		g->tensors = (npui_tensor *)calloc(t_.size(), sizeof(npui_tensor));
		memcpy(g->tensors, t_.data(), t_.size() * sizeof(npui_tensor));
		g->num_layers = (uint32_t)l_.size();
		g->layers = (npui_layer *)calloc(l_.size(), sizeof(npui_layer));
		memcpy(g->layers, l_.data(), l_.size() * sizeof(npui_layer));
		g->input = 0;
		g->output = output;
		l_.clear(); // ownership of weights moved
		char why[200] = "";
		EXPECT_EQ(npui_graph_validate(g, why, sizeof(why)), NPU_OK) << why;
		return Graph(g);
	}

      private:
	int Zp()
	{
		return (int)(rng_() % 61) - 30;
	}
	int Tensor(int h, int w, int c, float scale, int zp)
	{
		npui_tensor t;
		memset(&t, 0, sizeof(t));
		snprintf(t.name, sizeof(t.name), "t%zu", t_.size());
		t.h = h;
		t.w = w;
		t.c = c;
		t.q.scale = scale;
		t.q.zero_point = zp;
		t_.push_back(t);
		return (int)t_.size() - 1;
	}
	npui_layer Layer(int op, int in, int out, int act)
	{
		npui_layer l;
		memset(&l, 0, sizeof(l));
		snprintf(l.name, sizeof(l.name), "l%zu", l_.size());
		l.op = (uint16_t)op;
		l.act = (uint8_t)act;
		l.num_inputs = 1;
		l.inputs[0] = in;
		l.output = out;
		return l;
	}
	void Weights(npui_layer *l, size_t n, int cout, float ws)
	{
		l->weights = (int8_t *)malloc(n);
		l->weights_count = n;
		for (size_t i = 0; i < n; i++)
			l->weights[i] = (int8_t)((int)(rng_() % 255) - 127);
		l->bias = (int32_t *)malloc(cout * sizeof(int32_t));
		l->w_scale = (float *)malloc(cout * sizeof(float));
		for (int i = 0; i < cout; i++) {
			l->bias[i] = (int32_t)(rng_() % 20001) - 10000;
			l->w_scale[i] = ws * (0.75f + 0.5f * (float)(rng_() % 1000) / 1000.f);
		}
	}

	std::mt19937 rng_;
	std::vector<npui_tensor> t_;
	std::vector<npui_layer> l_;
};

// ---- running a schedule --------------------------------------------------

struct Result {
	std::string err;
	std::vector<int8_t> out, golden;
	isa::Stats stats;
};

enum ArenaMode { kArenaDistinct, kArenaFolded, kArenaRuntime };

std::vector<size_t> PlanArena(const npui_graph *g, const npui_caps &caps, ArenaMode mode,
                              size_t *size)
{
	std::vector<size_t> off(g->num_tensors);
	if (mode == kArenaDistinct) {
		size_t at = 0;
		for (uint32_t t = 0; t < g->num_tensors; t++) {
			off[t] = at;
			at += ((size_t)g->tensors[t].h * g->tensors[t].w * g->tensors[t].c + 63) &
			      ~(size_t)63;
		}
		*size = at;
		return off;
	}
	npui_caps c = caps;
	if (mode == kArenaRuntime) // no folding: the runtime's own plan
		c.engines &= ~NPU_REG_CAPS_ENGINES_DMA_MASK;
	EXPECT_EQ(npui_sched_arena_plan(g, &c, off.data(), size), NPU_OK);
	return off;
}

Result RunBoth(const npui_graph *g, const npui_caps &caps, ArenaMode mode, uint32_t seed,
               Sched *keep = nullptr)
{
	Result res;
	char why[256] = "";
	npui_ref_plan *pp = nullptr;
	if (npui_ref_prepare(g, &pp, why, sizeof(why)) != NPU_OK) {
		res.err = std::string("prepare: ") + why;
		return res;
	}
	Plan plan(pp);

	// golden: every layer on the CPU kernels, one buffer per tensor
	std::mt19937 rng(seed);
	std::vector<std::vector<int8_t>> gold(g->num_tensors);
	for (uint32_t t = 0; t < g->num_tensors; t++)
		gold[t].resize((size_t)g->tensors[t].h * g->tensors[t].w * g->tensors[t].c);
	for (auto &v : gold[g->input])
		v = (int8_t)rng();
	std::vector<int8_t *> gb(g->num_tensors);
	for (uint32_t t = 0; t < g->num_tensors; t++)
		gb[t] = gold[t].data();
	for (uint32_t i = 0; i < g->num_layers; i++)
		npui_ref_run_layer(plan.get(), g, i, gb.data());
	res.golden = gold[g->output];

	size_t asize = 0;
	std::vector<size_t> off = PlanArena(g, caps, mode, &asize);
	npui_sched *sp = nullptr;
	int rc = npui_sched_build(g, plan.get(), &caps, off.data(), &sp, why, sizeof(why));
	if (rc != NPU_OK) {
		res.err = std::string("sched_build: ") + why;
		return res;
	}
	Sched s(sp);

	std::vector<uint8_t> arena(asize + 64);
	for (auto &v : arena) // poison: nothing may read what it did not write
		v = (uint8_t)rng();
	std::vector<int8_t *> bufs(g->num_tensors);
	for (uint32_t t = 0; t < g->num_tensors; t++)
		bufs[t] = (int8_t *)arena.data() + off[t];
	memcpy(bufs[g->input], gold[g->input].data(), gold[g->input].size());

	isa::Model m(caps, seed * 7 + 1);
	m.AddRegion(kArenaBase, arena.data(), arena.size(), true);
	std::vector<uint8_t> blob(s->const_blob, s->const_blob + s->const_size);
	m.AddRegion(kConstBase, blob.data(), blob.size(), false);
	for (uint32_t k = 0; k < s->num_segments; k++) {
		const npui_segment &sg = s->segments[k];
		if (sg.kind == NPUI_SEG_CPU) {
			for (uint32_t i = sg.first_layer; i < sg.first_layer + sg.num_layers; i++)
				npui_ref_run_layer(plan.get(), g, i, bufs.data());
			continue;
		}
		const uint32_t W = NPU_HW_DESC_WORDS;
		// relocated as the runtime does (lib/core, through the driver core)
		std::vector<uint32_t> d((size_t)sg.num_desc * W);
		EXPECT_EQ(npui_relocate_segment(&sg, kArenaBase, kConstBase, d.data()), NPU_OK)
		        << npu_last_error();
		for (uint32_t r = 0; r < sg.num_relocs; r++)
			EXPECT_EQ(sg.relocs[r].word, NPU_DESC_DMA_HOST_ADDR_WORD);
		// the segment ends with FENCE | IRQ; tags name the layer
		auto hdr = [&](uint32_t i) {
			npu_desc_hdr h{};
			npu_desc_hdr_unpack(&d[i * W], &h);
			return h;
		};
		EXPECT_EQ(hdr(sg.num_desc - 1).opcode, NPU_HW_OP_FENCE);
		EXPECT_TRUE(hdr(sg.num_desc - 1).flags & NPU_HW_FLAG_IRQ);
		for (uint32_t i = 0; i < sg.num_desc; i++) {
			EXPECT_EQ(hdr(i).tag, sg.layer_of_desc[i]);
			EXPECT_GE(sg.layer_of_desc[i], sg.first_layer);
			EXPECT_LT(sg.layer_of_desc[i], sg.first_layer + sg.num_layers);
		}
		if (getenv("SCHED_STEP")) {
			uint32_t start = 0;
			for (uint32_t i = 0; i < sg.num_desc; i++) {
				if (hdr(i).opcode != NPU_HW_OP_FENCE)
					continue;
				std::string e;
				if (getenv("SCHED_FRESH")) {
					isa::Model fm(caps, i);
					fm.AddRegion(kArenaBase, arena.data(), arena.size(), true);
					fm.AddRegion(kConstBase, blob.data(), blob.size(), false);
					e = fm.Run(d.data() + start * W, i + 1 - start);
				} else {
					e = m.Run(d.data() + start * W, i + 1 - start);
				}
				EXPECT_EQ(e, "") << "layer " << sg.layer_of_desc[i];
				int32_t t = g->layers[sg.layer_of_desc[i]].output;
				if (memcmp(bufs[t], gold[t].data(), gold[t].size()))
					printf("  step: layer %u (%s) output differs right after "
					       "it ran\n",
					       sg.layer_of_desc[i],
					       g->layers[sg.layer_of_desc[i]].name);
				start = i + 1;
			}
			continue;
		}
		std::string e = m.Run(d.data(), sg.num_desc);
		if (!e.empty()) {
			res.err = "segment " + std::to_string(k) + ": " + e;
			return res;
		}
	}
	if (getenv("SCHED_DIAG")) {
		for (uint32_t i = 0, shown = 0; i < g->num_layers && shown < 6; i++) {
			int32_t t = g->layers[i].output;
			if (memcmp(bufs[t], gold[t].data(), gold[t].size()) &&
			    !s->placement[i].folded) {
				printf("  mismatch: layer %u %s (%s: %s) tensor %dx%dx%d\n", i,
				       g->layers[i].name, s->placement[i].engine,
				       s->placement[i].why, g->tensors[t].h, g->tensors[t].w,
				       g->tensors[t].c);
				size_t nd = 0, first = 0;
				for (size_t k = gold[t].size(); k-- > 0;)
					if (bufs[t][k] != gold[t][k]) {
						nd++;
						first = k;
					}
				printf("    %zu diffs, first at pixel %zu chan %zu: got %d want "
				       "%d\n",
				       nd, first / g->tensors[t].c, first % g->tensors[t].c,
				       bufs[t][first], gold[t][first]);
				{
					std::string chs;
					int C = g->tensors[t].c;
					for (int cc = 0; cc < C; cc++) {
						size_t bad = 0;
						for (size_t k = cc; k < gold[t].size(); k += C)
							bad += bufs[t][k] != gold[t][k];
						if (bad)
							chs += std::to_string(cc) + ":" +
							       std::to_string(bad) + " ";
					}
					printf("    chans %s\n", chs.substr(0, 300).c_str());
				}
				shown++;
			}
		}
	}
	res.out.assign(bufs[g->output], bufs[g->output] + gold[g->output].size());
	res.stats = m.stats();
	if (keep)
		*keep = std::move(s);
	return res;
}

std::string FirstMismatch(const std::vector<int8_t> &a, const std::vector<int8_t> &b)
{
	if (a.size() != b.size())
		return "size " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
	for (size_t i = 0; i < a.size(); i++)
		if (a[i] != b[i])
			return "i=" + std::to_string(i) + " got " + std::to_string(a[i]) +
			       " want " + std::to_string(b[i]);
	return "";
}

// MACs layer i needs with padding taps skipped, as the engines run it:
// per output pixel, the kernel rows and columns that fall inside the input.
// A stride-2 stem the schedule s runs as a stride-1 conv over its input
// space-to-depth by 2 (docs/SCHEDULER.md, "The stem") does that conv's
// MACs: its descriptors' kernel and input channels over (H/2) x (W/2).
uint64_t InsideMacs(const npui_graph *g, const npui_sched *s, uint32_t i)
{
	const npui_layer &l = g->layers[i];
	if (l.op != NPUI_OP_CONV)
		return npui_layer_macs(g, &l); // FC: every weight once; others: 0
	const npui_tensor &in = g->tensors[l.inputs[0]], &out = g->tensors[l.output];
	auto taps = [](int n_out, int k, int stride, int pad, int n_in) {
		uint64_t t = 0;
		for (int o = 0; o < n_out; o++)
			for (int j = 0; j < k; j++)
				t += o * stride - pad + j >= 0 && o * stride - pad + j < n_in;
		return t;
	};
	for (uint32_t k = 0; s && k < s->num_segments; k++) {
		const npui_segment &sg = s->segments[k];
		for (uint32_t d = 0; d < sg.num_desc; d++) {
			npu_desc_hdr h{};
			npu_desc_conv cd{};
			npu_desc_hdr_unpack(&sg.desc[d * NPU_HW_DESC_WORDS], &h);
			if (sg.layer_of_desc[d] != i || h.opcode != NPU_HW_OP_PW_CONV)
				continue;
			npu_desc_conv_unpack(&sg.desc[d * NPU_HW_DESC_WORDS], &cd);
			if (cd.stride_h == l.stride_h)
				break;
			return (uint64_t)out.c * cd.in_c *
			       taps(out.h, cd.kh, 1, (l.pad_t + 1) / 2, in.h / 2) *
			       taps(out.w, cd.kw, 1, (l.pad_l + 1) / 2, in.w / 2);
		}
	}
	return (uint64_t)out.c * (uint64_t)(in.c / l.groups) *
	       taps(out.h, l.kh, l.stride_h, l.pad_t, in.h) *
	       taps(out.w, l.kw, l.stride_w, l.pad_l, in.w);
}

// Where the layers ran on the ISA model (tests/common/placement.h): a
// layer of a CPU segment ran on the host; a layer of an NPU segment on its
// planned engine, its work the descriptors with its tag that executed.
// Checked against the plan, the expected counts `want` (nullptr: none
// written), the MACs (cpu_macs of the graph's on the CPU, the rest on the
// engines), and per layer: the PW/DW MACs the ISA model executed equal
// the layer's MACs without padding taps (0 off the engines).
void ExpectRan(const npui_graph *g, const npui_sched *s, const isa::Stats &st, const char *want,
               uint64_t cpu_macs)
{
	std::vector<npu_test::LayerRun> ran(g->num_layers);
	uint64_t model_macs = 0;
	for (uint32_t k = 0; k < s->num_segments; k++) {
		const npui_segment &sg = s->segments[k];
		for (uint32_t i = sg.first_layer; i < sg.first_layer + sg.num_layers; i++) {
			auto w = st.by_layer.find(i);
			const uint64_t ops = w == st.by_layer.end() ? 0 : w->second.ops;
			const uint64_t macs = w == st.by_layer.end() ? 0 : w->second.macs;
			const bool npu = sg.kind == NPUI_SEG_NPU;
			ran[i] = {g->layers[i].name, npu ? s->placement[i].engine : "cpu",
			          s->placement[i].folded != 0, ops,
			          npui_layer_macs(g, &g->layers[i])};
			const bool mac_engine =
			        npu && (ran[i].engine == "pw" || ran[i].engine == "dw");
			EXPECT_EQ(macs, mac_engine ? InsideMacs(g, s, i) : 0)
			        << "MACs the ISA model ran for layer " << i << " " << ran[i].name
			        << " on " << ran[i].engine;
		}
	}
	for (uint32_t i = 0; i < g->num_layers; i++)
		model_macs += npui_layer_macs(g, &g->layers[i]);
	npu_test::ExpectPlacement(ran, npu_test::EngineCounts(s, g->num_layers), want, model_macs,
	                          cpu_macs);
}

// Runs g on the ISA model and checks it: no error, the output bytes of the
// CPU kernels, and where the layers ran (ExpectRan). keep gets the
// schedule when there was one.
Result RunExact(const npui_graph *g, const npui_caps &caps, ArenaMode mode, uint32_t seed,
                const char *want, Sched *keep = nullptr, uint64_t cpu_macs = 0)
{
	Sched s;
	Result r = RunBoth(g, caps, mode, seed, &s);
	EXPECT_EQ(r.err, "");
	if (!r.err.empty())
		return r;
	EXPECT_EQ(FirstMismatch(r.out, r.golden), "");
	ExpectRan(g, s.get(), r.stats, want, cpu_macs);
	if (keep)
		*keep = std::move(s);
	return r;
}

// ---- per-layer cases, both configurations --------------------------------

class SchedLayer : public ::testing::TestWithParam<bool>
{
      protected:
	npui_caps caps_ = Caps(GetParam());
};

TEST_P(SchedLayer, Conv1x1OddChannels)
{
	Builder b(1);
	int x = b.Input(13, 11, 37);
	Graph g = b.Build(b.Conv(x, 29, 1, 1, 0, 1));
	RunExact(g.get(), caps_, kArenaFolded, 1, "pw 1 dw 0 ppu 0 dma 0 (folded 0) cpu 0");
}

TEST_P(SchedLayer, Conv3x3Stride2Pad)
{
	Builder b(2);
	int x = b.Input(17, 15, 5);
	Graph g = b.Build(b.Conv(x, 19, 3, 2, 1, 1, NPUI_ACT_RELU6));
	RunExact(g.get(), caps_, kArenaFolded, 2, "pw 1 dw 0 ppu 0 dma 0 (folded 0) cpu 0");
}

TEST_P(SchedLayer, Conv5x5AndAsymmetricPad)
{
	Builder b(3);
	int x = b.Input(12, 9, 6);
	int y = b.Conv(x, 7, 5, 1, 2, 1);
	Graph g = b.Build(b.Conv(y, 10, 3, 2, 0, 1, NPUI_ACT_NONE, 3, 1));
	RunExact(g.get(), caps_, kArenaFolded, 3, "pw 2 dw 0 ppu 0 dma 0 (folded 0) cpu 0");
}

TEST_P(SchedLayer, GroupedConv)
{
	for (int groups : {1, 2, 3, 4, 8}) {
		Builder b(10 + groups);
		int x = b.Input(9, 10, 24);
		int y = b.Conv(x, 48, 1, 1, 0, groups);
		Graph g = b.Build(b.Conv(y, 24, 3, 1, 1, groups));
		SCOPED_TRACE("groups=" + std::to_string(groups));
		RunExact(g.get(), caps_, kArenaFolded, 10 + groups,
		         "pw 2 dw 0 ppu 0 dma 0 (folded 0) cpu 0");
	}
}

TEST_P(SchedLayer, Depthwise)
{
	for (int k : {3, 5})
		for (int s : {1, 2}) {
			Builder b(20 + k * 3 + s);
			int x = b.Input(19, 14, 37);
			Graph g = b.Build(b.Conv(x, 37, k, s, k / 2, 37, NPUI_ACT_RELU6));
			SCOPED_TRACE("k=" + std::to_string(k) + " s=" + std::to_string(s));
			Result r = RunExact(g.get(), caps_, kArenaFolded, 20 + k,
			                    "pw 0 dw 1 ppu 0 dma 0 (folded 0) cpu 0");
			EXPECT_GT(r.stats.dw, 0u);
		}
}

TEST_P(SchedLayer, Depthwise7x7GoesToPwPerGroup)
{
	Builder b(30);
	int x = b.Input(11, 11, 6);
	Graph g = b.Build(b.Conv(x, 6, 7, 1, 3, 6));
	Sched s;
	RunExact(g.get(), caps_, kArenaFolded, 30, "pw 1 dw 0 ppu 0 dma 0 (folded 0) cpu 0", &s);
	ASSERT_TRUE(s);
	EXPECT_NE(strstr(s->placement[0].why, "DW does 3x3/5x5"), nullptr) << s->placement[0].why;
}

TEST_P(SchedLayer, FullyConnected)
{
	Builder b(40);
	int x = b.Input(1, 1, 300);
	int y = b.Fc(x, 77);
	Builder b2(41);
	int x2 = b2.Input(3, 3, 20);
	Graph g = b.Build(y);
	Graph g2 = b2.Build(b2.Fc(x2, 10));
	RunExact(g.get(), caps_, kArenaFolded, 40, "pw 1 dw 0 ppu 0 dma 0 (folded 0) cpu 0");
	RunExact(g2.get(), caps_, kArenaFolded, 41, "pw 1 dw 0 ppu 0 dma 0 (folded 0) cpu 0");
}

TEST_P(SchedLayer, KSplitAccumulates)
{
	// A 1x1 whose weights per output-channel group exceed a WGT half.
	Builder b(50);
	int x = b.Input(3, 2, 4200);
	Graph g = b.Build(b.Conv(x, 20, 1, 1, 0, 1));
	Result r = RunExact(g.get(), caps_, kArenaFolded, 50,
	                    "pw 1 dw 0 ppu 0 dma 0 (folded 0) cpu 0");
	EXPECT_GT(r.stats.ppu, 0u) << "expected PPU_REQUANT after K-split passes";
}

TEST_P(SchedLayer, SpatialTilesWithHalo)
{
	Builder b(60);
	int x = b.Input(64, 60, 32);
	int y = b.Conv(x, 40, 3, 1, 1, 1);
	Graph g = b.Build(b.Conv(y, 24, 3, 2, 1, 1));
	Result r = RunExact(g.get(), caps_, kArenaFolded, 60,
	                    "pw 2 dw 0 ppu 0 dma 0 (folded 0) cpu 0");
	EXPECT_GT(r.stats.pw, 4u) << "expected several tiles";
}

TEST_P(SchedLayer, Pools)
{
	for (int cip : {0, 1}) {
		Builder b(70 + cip);
		int x = b.Input(15, 16, 20);
		int m = b.Pool(NPUI_OP_MAXPOOL, x, 3, 2, 0, 1, 0); // ceil mode
		int a = b.Pool(NPUI_OP_AVGPOOL, m, 3, 2, 1, 1, cip);
		Graph g = b.Build(b.Gap(a));
		RunExact(g.get(), caps_, kArenaFolded, 70 + cip,
		         "pw 0 dw 0 ppu 3 dma 0 (folded 0) cpu 0");
	}
	Builder b(72);
	int x = b.Input(9, 9, 10);
	Graph g = b.Build(b.Pool(NPUI_OP_MAXPOOL, x, 2, 2, 0, 0, 0));
	RunExact(g.get(), caps_, kArenaFolded, 72, "pw 0 dw 0 ppu 0 dma 0 (folded 0) cpu 1");
}

TEST_P(SchedLayer, ResidualAdd)
{
	Builder b(80);
	int x = b.Input(9, 7, 37);
	int y = b.Conv(x, 37, 1, 1, 0, 1);
	Graph g = b.Build(b.Add(x, y, NPUI_ACT_RELU));
	RunExact(g.get(), caps_, kArenaFolded, 80, "pw 1 dw 0 ppu 1 dma 0 (folded 0) cpu 0");
}

TEST_P(SchedLayer, ConcatShuffleSplitFold)
{
	// ShuffleNet v2 unit shape: split, branch, concat, shuffle, then a
	// consumer of both halves of the shuffled tensor.
	for (ArenaMode mode : {kArenaDistinct, kArenaFolded, kArenaRuntime}) {
		Builder b(90);
		int x = b.Input(8, 9, 12);
		int t = b.Conv(x, 22, 1, 1, 0, 1);
		int a = b.Split(t, 0, 11);
		int s2 = b.Split(t, 11, 11);
		int y = b.Conv(s2, 11, 3, 1, 1, 11, NPUI_ACT_NONE);
		y = b.Conv(y, 11, 1, 1, 0, 1);
		int c = b.Concat({a, y});
		int sh = b.Shuffle(c, 2);
		int z = b.Conv(sh, 16, 1, 1, 0, 1);
		int w = b.Split(sh, 0, 11);
		int q = b.Conv(w, 16, 1, 1, 0, 1);
		Graph g = b.Build(b.Add(z, q, NPUI_ACT_NONE));
		SCOPED_TRACE("arena mode " + std::to_string(mode));
		// all five folded (views, docs/SCHEDULER.md §4). The runtime's own
		// arena affords no fold.
		RunExact(g.get(), caps_, mode, 90,
		         mode == kArenaRuntime ? "pw 4 dw 1 ppu 1 dma 5 (folded 0) cpu 0"
		                               : "pw 4 dw 1 ppu 1 dma 5 (folded 5) cpu 0");
	}
}

TEST_P(SchedLayer, ShuffleV1Groups3)
{
	Builder b(95);
	int x = b.Input(7, 6, 24);
	int y = b.Conv(x, 30, 1, 1, 0, 3);
	int s = b.Shuffle(y, 3);
	int d = b.Conv(s, 30, 3, 2, 1, 30, NPUI_ACT_NONE);
	int p = b.Pool(NPUI_OP_AVGPOOL, x, 3, 2, 1, 1, 1);
	Graph g = b.Build(b.Concat({p, d}));
	Sched sc;
	RunExact(g.get(), caps_, kArenaFolded, 95, "pw 1 dw 1 ppu 1 dma 2 (folded 2) cpu 0", &sc);
	ASSERT_TRUE(sc);
	EXPECT_EQ(sc->placement[1].folded, 1) << sc->placement[1].why;
	EXPECT_EQ(sc->placement[4].folded, 1) << sc->placement[4].why;
}

TEST_P(SchedLayer, CpuSegmentsBetweenNpuSegments)
{
	Builder b(100);
	int x = b.Input(6, 5, 9);
	int y = b.Conv(x, 12, 3, 1, 1, 1);
	int h = b.Lut(y, NPUI_LUT_HSWISH);
	Graph g = b.Build(b.Conv(h, 8, 1, 1, 0, 1));
	Sched s;
	RunExact(g.get(), caps_, kArenaFolded, 100, "pw 2 dw 0 ppu 0 dma 0 (folded 0) cpu 1", &s);
	ASSERT_TRUE(s);
	ASSERT_EQ(s->num_segments, 3u);
	EXPECT_EQ(s->segments[0].kind, NPUI_SEG_NPU);
	EXPECT_EQ(s->segments[1].kind, NPUI_SEG_CPU);
	EXPECT_EQ(s->segments[2].kind, NPUI_SEG_NPU);
	EXPECT_STREQ(s->placement[1].why, "hswish: no LUT engine in hardware");
}

TEST_P(SchedLayer, NoDmaMeansAllCpu)
{
	Builder b(110);
	int x = b.Input(6, 5, 9);
	Graph g = b.Build(b.Conv(x, 12, 3, 1, 1, 1));
	npui_caps c = caps_;
	c.engines = 0x190; // what the CSR reports today: REQUANT, WDOG, PERF
	// Its one conv's MACs, all on the CPU: 12 x 3x3 x 9 per pixel, 6x5 pixels.
	Sched s;
	RunExact(g.get(), c, kArenaFolded, 110, "pw 0 dw 0 ppu 0 dma 0 (folded 0) cpu 1", &s,
	         12 * 9 * 9 * 6 * 5);
	ASSERT_TRUE(s);
	ASSERT_EQ(s->num_segments, 1u);
	EXPECT_EQ(s->segments[0].kind, NPUI_SEG_CPU);
}

INSTANTIATE_TEST_SUITE_P(Configs, SchedLayer, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool> &i) {
	                         return std::string(i.param ? "small" : "default");
                         });

// ---- the zoo ----------------------------------------------------------------

struct ZooCase {
	std::string net;
	bool small;
};

class SchedZoo : public ::testing::TestWithParam<ZooCase>
{
};

TEST_P(SchedZoo, BitExactOnIsaModel)
{
	const ZooCase &zc = GetParam();
	zoo_opts o;
	zoo_opts_default(&o);
	o.size = 64;
	o.calib = 1;
	npui_graph *gp = nullptr;
	char why[200] = "";
	ASSERT_EQ(zoo_build(zc.net.c_str(), &o, &gp, why, sizeof(why)), NPU_OK) << why;
	Graph g(gp);
	npui_caps caps = Caps(zc.small);
	Sched s;
	Result r = RunExact(g.get(), caps, getenv("SCHED_DIAG") ? kArenaDistinct : kArenaFolded, 7,
	                    npu_test::ExpectedZooPlacement(zc.net, zc.small, o.size), &s);
	ASSERT_TRUE(s);

	uint64_t nb = 0, nd = 0, lb = 0;
	npui_sched_net_bound(g.get(), &caps, s.get(), &nb, &nd);
	for (uint32_t i = 0; i < g->num_layers; i++)
		lb += s->placement[i].bound_cycles;
	uint32_t ndesc = 0;
	for (uint32_t k = 0; k < s->num_segments; k++)
		ndesc += s->segments[k].num_desc;
	printf("[sched] %-20s %-7s layers %3u: %s | "
	       "segs %2u desc %6u const %7zu B | net bound %8llu cyc, sum of layer bounds %8llu, "
	       "isa pw %llu dw %llu MACs, dma rd %llu wr %llu B\n",
	       zc.net.c_str(), zc.small ? "small" : "default", g->num_layers,
	       npu_test::EngineCounts(s.get(), g->num_layers).c_str(), s->num_segments, ndesc,
	       s->const_size, (unsigned long long)nb, (unsigned long long)lb,
	       (unsigned long long)r.stats.pw_macs, (unsigned long long)r.stats.dw_macs,
	       (unsigned long long)r.stats.rd_bytes, (unsigned long long)r.stats.wr_bytes);
	if (getenv("NPU_DEBUG"))
		for (uint32_t i = 0; i < g->num_layers; i++)
			printf("  %3u %-24s %-4s %s\n", i, g->layers[i].name,
			       s->placement[i].engine, s->placement[i].why);

	if (zc.net == "shufflenet_v2_x1_0") {
		int shuf = 0, shuf_f = 0, cat = 0, cat_f = 0, spl = 0, spl_f = 0;
		for (uint32_t i = 0; i < g->num_layers; i++) {
			const npui_placement &p = s->placement[i];
			switch (g->layers[i].op) {
			case NPUI_OP_SHUFFLE:
				shuf++;
				shuf_f += p.folded;
				break;
			case NPUI_OP_CONCAT:
				cat++;
				cat_f += p.folded;
				break;
			case NPUI_OP_SPLIT:
				spl++;
				spl_f += p.folded;
				break;
			}
		}
		printf("[sched] shufflenet_v2 folded: shuffle %d/%d concat %d/%d split %d/%d\n",
		       shuf_f, shuf, cat_f, cat, spl_f, spl);
		EXPECT_EQ(shuf_f, shuf);
		EXPECT_EQ(cat_f, cat);
		EXPECT_EQ(spl_f, spl); // both halves are views of the shuffle
	}
}

std::vector<ZooCase> ZooCases()
{
	std::vector<ZooCase> v;
	unsigned n = 0;
	const zoo_net *nets = zoo_nets(&n);
	for (int small = 0; small < 2; small++)
		for (unsigned i = 0; i < n; i++)
			v.push_back({nets[i].name, small != 0});
	return v;
}

INSTANTIATE_TEST_SUITE_P(Nets, SchedZoo, ::testing::ValuesIn(ZooCases()),
                         [](const ::testing::TestParamInfo<ZooCase> &i) {
	                         return i.param.net + (i.param.small ? "_small" : "_default");
                         });

// ---- tiles that count bursts (docs/SCHEDULER.md §2, "Cost") -----------------

// A zoo net's schedule at 224x224 on the default build (descriptors only:
// SchedZoo and the simulator's SimZoo run them).
struct Built224 {
	Graph g;
	Sched s;
};

Built224 Build224(const char *net)
{
	Built224 b;
	zoo_opts o;
	zoo_opts_default(&o);
	o.size = 224;
	o.calib = 1;
	npui_graph *gp = nullptr;
	char why[200] = "";
	EXPECT_EQ(zoo_build(net, &o, &gp, why, sizeof(why)), NPU_OK) << why;
	b.g.reset(gp);
	if (!gp)
		return b;
	npui_ref_plan *pp = nullptr;
	EXPECT_EQ(npui_ref_prepare(gp, &pp, why, sizeof(why)), NPU_OK) << why;
	Plan plan(pp);
	npui_caps caps = Caps(false);
	size_t asize = 0;
	std::vector<size_t> off(gp->num_tensors);
	EXPECT_EQ(npui_sched_arena_plan(gp, &caps, off.data(), &asize), NPU_OK);
	npui_sched *sp = nullptr;
	EXPECT_EQ(npui_sched_build(gp, pp, &caps, off.data(), &sp, why, sizeof(why)), NPU_OK)
	        << why;
	b.s.reset(sp);
	return b;
}

// Calls f(header, words) for every descriptor of layer li.
template <class F> void ForLayerDescs(const npui_sched *s, uint32_t li, F f)
{
	for (uint32_t k = 0; k < s->num_segments; k++) {
		const npui_segment &sg = s->segments[k];
		for (uint32_t i = 0; sg.kind == NPUI_SEG_NPU && i < sg.num_desc; i++) {
			if (sg.layer_of_desc[i] != li)
				continue;
			npu_desc_hdr h{};
			npu_desc_hdr_unpack(&sg.desc[i * NPU_HW_DESC_WORDS], &h);
			f(h, &sg.desc[i * NPU_HW_DESC_WORDS]);
		}
	}
}

int LayerByName(const npui_graph *g, const char *name)
{
	for (uint32_t i = 0; i < g->num_layers; i++)
		if (!strcmp(g->layers[i].name, name))
			return (int)i;
	return -1;
}

// Every DW layer whose parameters for all its channels fit a PARAM half
// runs all channels in one tile (a pixel is one run, not one per channel
// tile): MobileNetV2's block2.dw ran in 32-channel tiles, block4.dw in 16.
TEST(SchedTiles, DepthwiseTakesAllChannelsWhenTheyFit)
{
	Built224 b = Build224("mobilenet_v2");
	ASSERT_TRUE(b.s);
	npui_caps caps = Caps(false);
	uint32_t pl = std::max(caps.pw_rows, caps.dw_lanes);
	uint32_t par_half = caps.param_bytes / (4 * pl) / 2; // words
	int checked = 0;
	for (uint32_t i = 0; i < b.g->num_layers; i++) {
		if (strcmp(b.s->placement[i].engine, "dw"))
			continue;
		uint32_t C = (uint32_t)b.g->tensors[b.g->layers[i].inputs[0]].c;
		if (3 * ((C + caps.dw_lanes - 1) / caps.dw_lanes) > par_half)
			continue; // bias, mult, shift of all channels do not fit
		int convs = 0;
		ForLayerDescs(b.s.get(), i, [&](const npu_desc_hdr &h, const uint32_t *w) {
			if (h.opcode != NPU_HW_OP_DW_CONV)
				return;
			npu_desc_conv cd{};
			npu_desc_conv_unpack(w, &cd);
			EXPECT_EQ(cd.in_c, C) << b.g->layers[i].name;
			convs++;
		});
		EXPECT_GT(convs, 0) << b.g->layers[i].name;
		checked++;
	}
	EXPECT_GE(checked, 5); // blocks 1-7 (192 channels at most)
}

// A 1x1 whose input channels fit the SRAMs many times over is not K-split
// (MobileNetV2's block1.project split its 32 input channels in two): no
// 1x1 of the zoo with at most 64 input channels accumulates. (A KxK may
// split where the cost says so: SqueezeNet's 3x3 expands of 48 and 64.)
TEST(SchedTiles, NoKSplitOfSmallInputs)
{
	unsigned n = 0;
	const zoo_net *nets = zoo_nets(&n);
	int checked = 0;
	for (unsigned k = 0; k < n; k++) {
		Built224 b = Build224(nets[k].name);
		ASSERT_TRUE(b.s) << nets[k].name;
		for (uint32_t i = 0; i < b.g->num_layers; i++) {
			const npui_layer &l = b.g->layers[i];
			if (strcmp(b.s->placement[i].engine, "pw") || l.op != NPUI_OP_CONV ||
			    l.kh != 1 || l.kw != 1 ||
			    b.g->tensors[l.inputs[0]].c / (l.groups ? l.groups : 1) > 64)
				continue;
			checked++;
			ForLayerDescs(b.s.get(), i, [&](const npu_desc_hdr &h, const uint32_t *) {
				EXPECT_FALSE(h.flags & NPU_HW_FLAG_ACCUMULATE)
				        << nets[k].name << " " << l.name;
				EXPECT_NE(h.opcode, NPU_HW_OP_PPU_REQUANT)
				        << nets[k].name << " " << l.name;
			});
		}
	}
	EXPECT_GT(checked, 50);
}

// A box whose pixels follow each other in host memory and in SRAM is one
// run (npu_dma_box makes a run per pixel otherwise, a burst each): no DMA
// descriptor of the zoo is left that could have been merged, and
// MobileNetV2's block2.dw reads its 112x112x96 input in far fewer runs
// than pixels.
TEST(SchedTiles, ContiguousBoxesAreMerged)
{
	unsigned n = 0;
	const zoo_net *nets = zoo_nets(&n);
	for (unsigned k = 0; k < n; k++) {
		Built224 b = Build224(nets[k].name);
		ASSERT_TRUE(b.s) << nets[k].name;
		for (uint32_t i = 0; i < b.g->num_layers; i++)
			ForLayerDescs(b.s.get(), i, [&](const npu_desc_hdr &h, const uint32_t *w) {
				if (h.opcode != NPU_HW_OP_DMA_LOAD &&
				    h.opcode != NPU_HW_OP_DMA_STORE)
					return;
				npu_desc_dma d{};
				npu_desc_dma_unpack(w, &d);
				bool pix = d.cols > 1 && d.host_chan_stride == 1 &&
				           d.host_pix_stride == d.chans &&
				           d.sram_pix_stride == d.chans && 2 * d.chans <= 0xffff;
				EXPECT_FALSE(pix) << nets[k].name << " " << b.g->layers[i].name
				                  << ": " << d.cols << " pixels of " << d.chans;
			});
	}

	Built224 b = Build224("mobilenet_v2");
	ASSERT_TRUE(b.s);
	int li = LayerByName(b.g.get(), "block2.dw");
	ASSERT_GE(li, 0);
	const npui_tensor &in = b.g->tensors[b.g->layers[li].inputs[0]];
	uint64_t runs = 0, bytes = 0;
	ForLayerDescs(b.s.get(), (uint32_t)li, [&](const npu_desc_hdr &h, const uint32_t *w) {
		npu_desc_dma d{};
		npu_desc_dma_unpack(w, &d);
		if (h.opcode != NPU_HW_OP_DMA_LOAD || d.sram_sel != NPU_HW_SRAM_ACT)
			return;
		runs += (uint64_t)d.rows * d.cols;
		bytes += (uint64_t)d.rows * d.cols * d.chans;
	});
	EXPECT_GE(bytes, (uint64_t)in.h * in.w * in.c);
	EXPECT_LT(runs * 10, (uint64_t)in.h * in.w) << "runs " << runs;
}

// The runtime's own arena (no lifetime stretching): folds it cannot afford
// become copies, and the result stays exact.
TEST(SchedZooArena, RuntimeArenaStaysExact)
{
	for (const char *net : {"shufflenet_v2_x1_0", "squeezenet1_1"}) {
		zoo_opts o;
		zoo_opts_default(&o);
		o.size = 64;
		o.calib = 1;
		npui_graph *gp = nullptr;
		ASSERT_EQ(zoo_build(net, &o, &gp, nullptr, 0), NPU_OK);
		Graph g(gp);
		SCOPED_TRACE(net);
		RunExact(g.get(), Caps(false), kArenaRuntime, 11, nullptr);
	}
}

} // namespace

// One layer of a zoo net on its own: the sweep below, and a debugging aid
// (REPRO_NET, REPRO_LAYER, REPRO_SMALL) over many interleavings.
namespace
{
Graph SingleLayer(const npui_graph *g, uint32_t i)
{
	const npui_layer &l = g->layers[i];
	npui_graph *n = (npui_graph *)calloc(1, sizeof(*n));
	n->num_tensors = l.num_inputs + 1;
	n->tensors = (npui_tensor *)calloc(n->num_tensors, sizeof(npui_tensor));
	n->num_layers = 1;
	n->layers = (npui_layer *)calloc(1, sizeof(npui_layer));
	n->layers[0] = l;
	for (unsigned k = 0; k < l.num_inputs; k++) {
		n->tensors[k] = g->tensors[l.inputs[k]];
		n->layers[0].inputs[k] = (int32_t)k;
	}
	n->tensors[l.num_inputs] = g->tensors[l.output];
	n->layers[0].output = (int32_t)l.num_inputs;
	n->output = (int32_t)l.num_inputs;
	auto dup = [](const void *p, size_t n) {
		void *q = malloc(n);
		memcpy(q, p, n);
		return q;
	};
	if (l.weights) {
		int32_t co = g->tensors[l.output].c;
		n->layers[0].weights = (int8_t *)dup(l.weights, l.weights_count);
		n->layers[0].bias = (int32_t *)dup(l.bias, co * 4);
		n->layers[0].w_scale = (float *)dup(l.w_scale, co * 4);
	}
	return Graph(n);
}
// Every single-input layer of a zoo net scheduled alone (as SingleLayer cuts
// it out) matches the reference on the ISA model, for a few input seeds. A
// graph has one input, so ADD/MUL/CONCAT cannot be cut out alone (their
// other operand would be unwritten memory); the whole-net tests above cover
// them. By default
// mobilenet_v3_small at 64x64 (SE, h-swish, 5x5 depthwise), seeds 1-3; to
// chase one layer: REPRO_NET=NAME REPRO_LAYER=I [REPRO_SMALL=1] runs only
// layer I of NAME, seeds 1-39.
TEST(SchedRepro, ZooLayer)
{
	const char *net = getenv("REPRO_NET"), *layer = getenv("REPRO_LAYER");
	zoo_opts o;
	zoo_opts_default(&o);
	o.size = 64;
	o.calib = 1;
	npui_graph *gp = nullptr;
	char why[160] = "";
	ASSERT_EQ(zoo_build(net ? net : "mobilenet_v3_small", &o, &gp, why, sizeof(why)), NPU_OK)
	        << why;
	Graph g(gp);
	uint32_t first = 0, last = g->num_layers, seeds = 3;
	if (net && layer) {
		first = (uint32_t)atoi(layer);
		ASSERT_LT(first, g->num_layers) << "REPRO_LAYER";
		last = first + 1;
		seeds = 39;
	}
	int checked = 0;
	for (uint32_t i = first; i < last; i++) {
		if (g->layers[i].num_inputs != 1) {
			EXPECT_FALSE(net && layer)
			        << "layer " << i << " has " << g->layers[i].num_inputs << " inputs";
			continue;
		}
		checked++;
		SCOPED_TRACE("layer " + std::to_string(i) + " " + g->layers[i].name);
		Graph s = SingleLayer(g.get(), i);
		for (uint32_t seed = 1; seed <= seeds; seed++)
			RunExact(s.get(), Caps(getenv("REPRO_SMALL") != nullptr), kArenaFolded,
			         seed, nullptr);
	}
	EXPECT_GT(checked, 0);
}
} // namespace
