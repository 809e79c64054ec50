// The stem (docs/SCHEDULER.md, "The stem: space-to-depth in the DMA
// load"): a stride-2 conv of at most 4 input channels runs on PW as a
// stride-1 conv over its input space-to-depth by 2, the rearrangement done
// by the loads. Each case is one conv with random int8 weights and zero
// points: on the sim device it must equal the cpu device byte for byte,
// its PW descriptors must have the rewritten shape (stride 1, the smaller
// kernel, the S channels), and where the shape does not qualify (odd
// sides, too many channels) the plain stride-2 conv must stay.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "npu.h"
#include "driver/npu_desc.h"
#include "driver/npu_regs.h"
#include "ir/graph.h"
extern "C" {
#include "quant/zb.h" // no C++ guards of its own
}
#include "ref/ref.h"
#include "sched/sched.h"
#include "sim_vs_cpu.h"
#include "tests/common/backends.h"

namespace
{

using sched_test::Graph;
using sched_test::Sched;
using sched_test::Schedule;

struct StemCase {
	int h, w, c, cout;
	int k, pt, pl, pb, pr;
	bool rewritten; // the default build takes the space-to-depth path
	const char *label;
};

void PrintTo(const StemCase &c, std::ostream *os)
{
	*os << c.label;
}

// One KxK stride-2 conv (ReLU) with random weights, bias and zero points.
Graph StemGraph(const StemCase &sc, uint32_t seed)
{
	zb *b = zb_new_input("stem", sc.h, sc.w, sc.c, seed);
	std::mt19937 rng(seed);
	std::uniform_real_distribution<float> u(-1.f, 1.f);
	std::vector<float> w((size_t)sc.cout * sc.k * sc.k * sc.c), bias((size_t)sc.cout);
	for (auto &v : w)
		v = u(rng);
	for (auto &v : bias)
		v = 0.2f * u(rng);
	zb_window win = {sc.k, sc.k, 2, 2, sc.pt, sc.pl, sc.pb, sc.pr};
	int y = zb_conv_given(b, "conv1", zb_input(b), sc.cout, &win, 1, NPUI_ACT_RELU, w.data(),
	                      bias.data());
	npui_graph *g = nullptr;
	char why[200] = "";
	EXPECT_EQ(zb_finish(b, y, 2, &g, why, sizeof(why)), NPU_OK) << why;
	zb_free(b);
	if (!g)
		return Graph(nullptr, npui_graph_free);
	// int8 weights over the whole range and zero points off 0: padded taps
	// and zero-weight taps must both contribute nothing
	npui_layer &l = g->layers[0];
	for (size_t i = 0; i < l.weights_count; i++)
		l.weights[i] = (int8_t)(rng() % 255 - 127);
	g->tensors[g->input].q.zero_point = (int32_t)(rng() % 201) - 100;
	g->tensors[g->output].q.zero_point = (int32_t)(rng() % 101) - 128;
	char vwhy[200] = "";
	EXPECT_EQ(npui_graph_validate(g, vwhy, sizeof(vwhy)), NPU_OK) << vwhy;
	return Graph(g, npui_graph_free);
}

// The PW_CONV descriptors of layer 0: all must share stride, kernel and
// input channels; returns the first (opcode 0 if none).
npu_desc_conv StemConv(const npui_sched *s)
{
	npu_desc_conv first{};
	bool seen = false;
	for (uint32_t k = 0; k < s->num_segments; k++) {
		const npui_segment &sg = s->segments[k];
		for (uint32_t i = 0; i < sg.num_desc; i++) {
			npu_desc_hdr h{};
			npu_desc_hdr_unpack(&sg.desc[i * NPU_HW_DESC_WORDS], &h);
			if (h.opcode != NPU_HW_OP_PW_CONV || sg.layer_of_desc[i] != 0)
				continue;
			npu_desc_conv d{};
			EXPECT_EQ(npu_desc_conv_unpack(&sg.desc[i * NPU_HW_DESC_WORDS], &d), 0);
			if (!seen) {
				first = d;
				seen = true;
				continue;
			}
			EXPECT_EQ(d.stride_h, first.stride_h);
			EXPECT_EQ(d.kh, first.kh);
			EXPECT_EQ(d.kw, first.kw);
			EXPECT_EQ(d.in_c, first.in_c);
		}
	}
	EXPECT_TRUE(seen) << "no PW_CONV for the stem";
	return first;
}

// Runs g on sim and on cpu (bytes must match); layer 0's sim cycles.
uint64_t StemCycles(const npui_graph *g, uint32_t seed)
{
	auto prof = sched_test::RunSimVsCpu(g, seed);
	if (prof.empty())
		return 0;
	EXPECT_EQ(std::string(prof[0].engine), "pw");
	return prof[0].cycles;
}

class SchedStem : public ::testing::TestWithParam<StemCase>
{
};

TEST_P(SchedStem, BitExactOnSimAndRewritten)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const StemCase &sc = GetParam();
	Graph g = StemGraph(sc, 100u + (uint32_t)sc.c * 7u + (uint32_t)sc.k);
	ASSERT_TRUE(g);
	Sched s = Schedule(g.get(), false);
	ASSERT_TRUE(s);
	npu_desc_conv d = StemConv(s.get());
	if (sc.rewritten) {
		// K' = (K - 1 + (pad & 1)) / 2 + 1 taps over 4C (or more) S channels
		EXPECT_EQ(d.stride_h, 1u);
		EXPECT_EQ(d.stride_w, 1u);
		EXPECT_EQ(d.kh, (uint32_t)((sc.k - 1 + (sc.pt & 1)) / 2 + 1));
		EXPECT_EQ(d.kw, (uint32_t)((sc.k - 1 + (sc.pl & 1)) / 2 + 1));
		EXPECT_GE(d.in_c, 4u * sc.c);
		EXPECT_TRUE(strstr(s->placement[0].why, "space-to-depth")) << s->placement[0].why;
	} else {
		EXPECT_EQ(d.stride_h, 2u);
		EXPECT_EQ(d.kh, (uint32_t)sc.k);
		EXPECT_EQ(d.in_c, (uint32_t)sc.c);
	}
	StemCycles(g.get(), 5);
}

INSTANTIATE_TEST_SUITE_P(Shapes, SchedStem,
                         ::testing::Values(
                                 // MobileNets, ShuffleNets: 3x3 s2 pad 1
                                 StemCase{30, 26, 3, 24, 3, 1, 1, 1, 1, true, "k3_pad1_c3"},
                                 // SqueezeNet 1.1: 3x3 s2 pad 0 (the last column unused)
                                 StemCase{32, 30, 3, 20, 3, 0, 0, 0, 0, true, "k3_pad0_c3"},
                                 // SqueezeNet 1.0: 7x7 s2 pad 0; and pad 3
                                 StemCase{34, 28, 3, 40, 7, 0, 0, 0, 0, true, "k7_pad0_c3"},
                                 StemCase{28, 32, 3, 17, 7, 3, 3, 3, 3, true, "k7_pad3_c3"},
                                 StemCase{24, 24, 1, 16, 3, 1, 1, 1, 1, true, "k3_pad1_c1"},
                                 StemCase{22, 26, 1, 9, 7, 3, 3, 3, 3, true, "k7_pad3_c1"},
                                 StemCase{26, 24, 4, 32, 3, 1, 1, 1, 1, true, "k3_pad1_c4"},
                                 StemCase{24, 28, 4, 33, 3, 0, 0, 0, 0, true, "k3_pad0_c4"},
                                 StemCase{30, 26, 4, 24, 7, 3, 3, 3, 3, true, "k7_pad3_c4"},
                                 // TF "SAME" at even sides: pad only bottom/right; and the
                                 // reverse, each axis on its own
                                 StemCase{32, 32, 3, 16, 3, 0, 0, 1, 1, true, "k3_same_c3"},
                                 StemCase{30, 28, 2, 16, 3, 1, 0, 0, 1, true, "k3_mixed_c2"},
                                 StemCase{26, 30, 3, 16, 5, 2, 1, 1, 2, true, "k5_mixed_c3"},
                                 // not rewritten: odd sides, 5 channels
                                 StemCase{31, 26, 3, 16, 3, 1, 1, 1, 1, false, "odd_h"},
                                 StemCase{26, 27, 3, 16, 3, 1, 1, 1, 1, false, "odd_w"},
                                 StemCase{26, 26, 5, 16, 3, 1, 1, 1, 1, false, "c5"}),
                         [](const ::testing::TestParamInfo<StemCase> &i) {
	                         return std::string(i.param.label);
                         });

// The rewrite pays on sim: a 3x3 s2 stem at 64x64 takes fewer cycles than
// the plain stride-2 conv (NPU_SCHED_STEM=0), with the same bytes.
TEST(SchedStemCycles, FewerThanPlain)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	StemCase sc{64, 64, 3, 32, 3, 1, 1, 1, 1, true, "k3_64"};
	Graph g = StemGraph(sc, 9);
	ASSERT_TRUE(g);
	uint64_t s2d = StemCycles(g.get(), 2);
	setenv("NPU_SCHED_STEM", "0", 1);
	Sched plain = Schedule(g.get(), false);
	uint64_t base = StemCycles(g.get(), 2);
	unsetenv("NPU_SCHED_STEM");
	ASSERT_TRUE(plain);
	EXPECT_EQ(StemConv(plain.get()).stride_h, 2u);
	EXPECT_GT(s2d, 0u);
	EXPECT_LT(s2d * 10, base * 8) << "s2d " << s2d << " plain " << base;
}

} // namespace
