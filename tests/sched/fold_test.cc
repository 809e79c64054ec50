// Channel shuffles folded into the consumers' weight order (docs/SCHEDULER.md
// §4): SHUFFLE, SPLIT and CONCAT become views with a channel order, the
// 1x1/grouped/DW consumers permute their weights, and nothing moves bytes
// for them. Every graph runs on the sim device and on cpu, byte for byte;
// the schedule and the profile must show the folds (no descriptors, no
// cycles), and an order that cannot be absorbed must be materialized.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
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
#include "tests/common/backends.h"
#include "tests/common/inputs.h"
#include "tests/sched/sim_vs_cpu.h"
#include "zoo/zoo.h"

namespace
{

using sched_test::Graph;
using sched_test::RunSimVsCpu;
using sched_test::Sched;
using sched_test::Schedule;

bool IsFoldOp(const npui_layer &l)
{
	return l.op == NPUI_OP_SHUFFLE || l.op == NPUI_OP_SPLIT || l.op == NPUI_OP_CONCAT;
}

// Free: a view (relabelling) or contiguous channel slices the producers
// store into; not a store at channel stride g, a copy or the CPU.
bool IsFree(const npui_placement &p)
{
	return p.folded && !strstr(p.why, "channel stride");
}

// Every SHUFFLE/SPLIT/CONCAT of g is free: in the schedule of both builds
// no descriptor of its own (a segment's closing FENCE aside) and no DMA
// of any layer at a host channel stride other than 1 (no one-byte runs),
// and in the sim profile (when given) folded with 0 cycles. Returns how
// many there are.
int ExpectAllFoldsFree(const npui_graph *g, const std::vector<npu_layer_profile> *prof)
{
	int n = 0;
	for (int small = 0; small < 2; small++) {
		Sched s = Schedule(g, small != 0);
		if (!s)
			return 0;
		std::vector<uint32_t> own(g->num_layers, 0);
		for (uint32_t k = 0; k < s->num_segments; k++) {
			const npui_segment &sg = s->segments[k];
			for (uint32_t i = 0; i < sg.num_desc; i++) {
				npu_desc_hdr h{};
				npu_desc_hdr_unpack(&sg.desc[i * NPU_HW_DESC_WORDS], &h);
				if (h.opcode != NPU_HW_OP_FENCE)
					own[sg.layer_of_desc[i]]++;
				npu_desc_dma d{};
				if ((h.opcode == NPU_HW_OP_DMA_LOAD ||
				     h.opcode == NPU_HW_OP_DMA_STORE) &&
				    npu_desc_dma_unpack(&sg.desc[i * NPU_HW_DESC_WORDS], &d) == 0) {
					EXPECT_EQ(d.host_chan_stride, 1u)
					        << "layer " << g->layers[sg.layer_of_desc[i]].name;
				}
			}
		}
		n = 0;
		for (uint32_t i = 0; i < g->num_layers; i++) {
			if (!IsFoldOp(g->layers[i]))
				continue;
			n++;
			const npui_placement &p = s->placement[i];
			EXPECT_TRUE(IsFree(p)) << g->layers[i].name << " (small " << small
			                       << "): " << p.engine << ", " << p.why;
			EXPECT_EQ(own[i], 0u) << g->layers[i].name << " has descriptors";
		}
	}
	for (uint32_t i = 0; prof && i < g->num_layers && i < prof->size(); i++) {
		if (!IsFoldOp(g->layers[i]))
			continue;
		EXPECT_EQ((*prof)[i].folded, 1u) << (*prof)[i].name;
		EXPECT_EQ((*prof)[i].cycles, 0u) << (*prof)[i].name;
	}
	return n;
}

struct ZooFold {
	const char *net;
	int groups, size;
	float width;
	const char *label;
};

class SchedFoldZoo : public ::testing::TestWithParam<ZooFold>
{
};

// Bit-exact on sim, and every shuffle, split and concat free: no
// descriptors, no cycles, no strided DMA.
TEST_P(SchedFoldZoo, ShuffleNetFoldsAreFree)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const ZooFold &z = GetParam();
	zoo_opts o;
	zoo_opts_default(&o);
	o.size = z.size;
	o.calib = 2;
	o.groups = z.groups;
	o.width = z.width;
	npui_graph *gp = nullptr;
	char why[200] = "";
	ASSERT_EQ(zoo_build(z.net, &o, &gp, why, sizeof(why)), NPU_OK) << why;
	Graph g(gp, npui_graph_free);
	auto prof = RunSimVsCpu(g.get(), 11);
	ASSERT_EQ(prof.size(), g->num_layers);
	int n = ExpectAllFoldsFree(g.get(), &prof);
	if (strstr(z.net, "shufflenet") && (z.groups != 1 || strstr(z.net, "v2"))) {
		EXPECT_GT(n, 0);
	}
}

// The ShuffleNets at every group count, and nets whose folds are only
// contiguous concat slices (SqueezeNet) or that have none (MobileNet v1 at
// every width): bit-exact, every fold free.
INSTANTIATE_TEST_SUITE_P(
        Nets, SchedFoldZoo,
        ::testing::Values(ZooFold{"shufflenet_v2_x1_0", 3, 32, 1.0f, "v2_32"},
                          ZooFold{"shufflenet_v2_x1_0", 3, 64, 1.0f, "v2_64"},
                          ZooFold{"shufflenet_v1_g3", 1, 32, 1.0f, "v1_g1_32"},
                          ZooFold{"shufflenet_v1_g3", 2, 32, 1.0f, "v1_g2_32"},
                          ZooFold{"shufflenet_v1_g3", 3, 64, 1.0f, "v1_g3_64"},
                          ZooFold{"shufflenet_v1_g3", 4, 32, 1.0f, "v1_g4_32"},
                          ZooFold{"shufflenet_v1_g3", 8, 32, 1.0f, "v1_g8_32"},
                          ZooFold{"squeezenet1_1", 3, 32, 1.0f, "squeezenet1_1_32"},
                          ZooFold{"mobilenet_v1", 3, 32, 0.25f, "mobilenet_v1_x025_32"},
                          ZooFold{"mobilenet_v1", 3, 32, 0.5f, "mobilenet_v1_x05_32"},
                          ZooFold{"mobilenet_v1", 3, 32, 0.75f, "mobilenet_v1_x075_32"}),
        [](const ::testing::TestParamInfo<ZooFold> &i) { return std::string(i.param.label); });

// ---- hand-built graphs -------------------------------------------------------

struct Zb {
	zb *b;
	explicit Zb(int h, int w, int c, uint64_t seed) : b(zb_new_input("fold", h, w, c, seed))
	{
	}
	~Zb()
	{
		zb_free(b);
	}
	Graph Finish(int out)
	{
		npui_graph *g = nullptr;
		char why[200] = "";
		EXPECT_EQ(zb_finish(b, out, 2, &g, why, sizeof(why)), NPU_OK) << why;
		return Graph(g, npui_graph_free);
	}
};

int LayerNamed(const npui_graph *g, const char *name)
{
	for (uint32_t i = 0; i < g->num_layers; i++)
		if (!strcmp(g->layers[i].name, name))
			return (int)i;
	ADD_FAILURE() << "no layer " << name;
	return 0;
}

// ShuffleNet v2 units by hand: concat -> shuffle -> split -> (1x1 branch,
// the identity half) -> concat, three deep, then a 1x1 over the last
// shuffle and a second one over a split of it. All views, bit-exact.
TEST(SchedFold, ConcatShuffleSplitChains)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	Zb z(10, 9, 40, 5);
	int x = zb_conv(z.b, "stem", zb_input(z.b), 40, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
	for (int u = 0; u < 3; u++) {
		char nm[32];
		int cat[2];
		snprintf(nm, sizeof(nm), "u%d.split1", u);
		cat[0] = zb_split(z.b, nm, x, 0, 20);
		snprintf(nm, sizeof(nm), "u%d.split2", u);
		cat[1] = zb_split(z.b, nm, x, 20, 20);
		snprintf(nm, sizeof(nm), "u%d.pw1", u);
		cat[1] = zb_conv(z.b, nm, cat[1], 20, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
		snprintf(nm, sizeof(nm), "u%d.dw", u);
		cat[1] = zb_dw(z.b, nm, cat[1], 3, 1, NPUI_ACT_NONE, ZB_BN);
		snprintf(nm, sizeof(nm), "u%d.pw2", u);
		cat[1] = zb_conv(z.b, nm, cat[1], 20, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
		snprintf(nm, sizeof(nm), "u%d.concat", u);
		x = zb_concat(z.b, nm, 2, cat);
		snprintf(nm, sizeof(nm), "u%d.shuffle", u);
		x = zb_shuffle(z.b, nm, x, 2);
	}
	int a = zb_conv(z.b, "head", x, 24, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
	int h = zb_split(z.b, "tail.split", x, 8, 24);
	int c = zb_conv(z.b, "tail", h, 24, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
	Graph g = z.Finish(zb_add(z.b, "out", a, c, NPUI_ACT_NONE));
	ASSERT_TRUE(g);
	auto prof = RunSimVsCpu(g.get(), 3);
	EXPECT_EQ(ExpectAllFoldsFree(g.get(), &prof), 3 * 4 + 1);
}

// A v1 unit: grouped 1x1, shuffle, depthwise, grouped 1x1 whose groups
// each gather three runs of slots. All views, bit-exact.
TEST(SchedFold, GroupedConvGathersShuffledGroups)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	Zb z(9, 8, 24, 6);
	int y = zb_conv(z.b, "gconv1", zb_input(z.b), 30, 1, 1, 0, 3, NPUI_ACT_RELU, ZB_BN);
	y = zb_shuffle(z.b, "shuffle", y, 3);
	y = zb_dw(z.b, "dw", y, 3, 1, NPUI_ACT_NONE, ZB_BN);
	y = zb_conv(z.b, "gconv2", y, 24, 1, 1, 0, 3, NPUI_ACT_NONE, ZB_BN);
	Graph g = z.Finish(zb_add(z.b, "add", zb_input(z.b), y, NPUI_ACT_RELU));
	ASSERT_TRUE(g);
	auto prof = RunSimVsCpu(g.get(), 4);
	EXPECT_EQ(ExpectAllFoldsFree(g.get(), &prof), 1);
}

// Orders that cannot be absorbed are materialized (the producer stores
// at channel stride, a copy, or the CPU), and the bytes stay exact:
//   - a shuffle that is the graph output;
//   - a shuffle whose order a DW passes on to the graph output;
//   - a shuffle feeding a CPU layer (h-swish has no engine);
//   - a grouped conv whose groups straddle the shuffled order (each of
//     its 2 groups would gather 32 one-slot runs, more than SP_MAX_PIECES).
TEST(SchedFold, UnabsorbableOrdersAreMaterialized)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	for (int variant = 0; variant < 4; variant++) {
		SCOPED_TRACE("variant " + std::to_string(variant));
		Zb z(7, 6, 16, 7 + variant);
		int y = zb_conv(z.b, "conv", zb_input(z.b), 48, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
		int out = -1;
		switch (variant) {
		case 0:
			out = zb_shuffle(z.b, "shuffle", y, 3);
			break;
		case 1:
			y = zb_shuffle(z.b, "shuffle", y, 2);
			out = zb_dw(z.b, "dw", y, 3, 1, NPUI_ACT_NONE, ZB_BN);
			break;
		case 2:
			y = zb_shuffle(z.b, "shuffle", y, 2);
			y = zb_lut(z.b, "hswish", y, NPUI_LUT_HSWISH);
			out = zb_conv(z.b, "after", y, 8, 1, 1, 0, 1, NPUI_ACT_NONE, ZB_BN);
			break;
		default:
			y = zb_conv(z.b, "conv64", y, 64, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
			y = zb_shuffle(z.b, "shuffle", y, 32);
			y = zb_conv(z.b, "gconv", y, 16, 1, 1, 0, 2, NPUI_ACT_RELU, ZB_BN);
			out = zb_conv(z.b, "after", y, 8, 1, 1, 0, 1, NPUI_ACT_NONE, ZB_BN);
			break;
		}
		Graph g = z.Finish(out);
		ASSERT_TRUE(g);
		RunSimVsCpu(g.get(), 20 + variant);
		for (int small = 0; small < 2; small++) {
			Sched s = Schedule(g.get(), small != 0);
			ASSERT_TRUE(s);
			const npui_placement &p = s->placement[LayerNamed(g.get(), "shuffle")];
			EXPECT_FALSE(IsFree(p)) << p.engine << ", " << p.why;
		}
	}
}

} // namespace
