// Where the layers of a schedule ran, checked against the scheduler's plan
// and a table written in the test. A layer the scheduler puts on the CPU
// runs the same lib/ref kernel as the golden model, so the output bytes
// match whatever the placement is: an exactness test on its own would pass
// with every layer on the CPU (try NPU_SCHED_FORCE_CPU=1,
// docs/SCHEDULER.md §1). ExpectPlacement() is what makes it fail.
//
// Header-only: the GoogleTest suites (tests/sim, tests/sched) and the
// harness tests (tests/rtl)
// include it.
#ifndef NPU_TESTS_COMMON_PLACEMENT_H
#define NPU_TESTS_COMMON_PLACEMENT_H

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "npu.h"
#include "sched/sched.h"

namespace npu_test
{

// One layer as it ran.
struct LayerRun {
	std::string name;
	std::string engine; // "pw", "dw", "ppu", "dma"; "cpu" when the host ran it
	bool folded;        // folded into addressing: no descriptors of its own
	uint64_t work;      // NPU cycles (a device) or executed descriptors (ISA model)
	uint64_t macs;      // the layer's MACs (npui_layer_macs)
};

// Layers per engine as one line, so that a failure shows both sides:
// "pw 36 dw 17 ppu 11 dma 0 (folded 0) cpu 0". dma counts folded layers
// and DMA copies.
inline std::string EngineCounts(const std::vector<LayerRun> &ran)
{
	static const char *const names[] = {"pw", "dw", "ppu", "dma", "cpu"};
	int count[5] = {0, 0, 0, 0, 0}, other = 0, folded = 0;
	for (const LayerRun &r : ran) {
		int k = 0;
		while (k < 5 && r.engine != names[k])
			k++;
		(k < 5 ? count[k] : other)++;
		folded += r.folded ? 1 : 0;
	}
	std::string s = "pw " + std::to_string(count[0]) + " dw " + std::to_string(count[1]) +
	                " ppu " + std::to_string(count[2]) + " dma " + std::to_string(count[3]) +
	                " (folded " + std::to_string(folded) + ") cpu " + std::to_string(count[4]);
	return other ? s + " other " + std::to_string(other) : s;
}

// The same for the scheduler's plan of num_layers layers.
inline std::string EngineCounts(const npui_sched *s, uint32_t num_layers)
{
	std::vector<LayerRun> plan;
	for (uint32_t i = 0; i < num_layers; i++)
		plan.push_back({"", s->placement[i].engine, s->placement[i].folded != 0, 0, 0});
	return EngineCounts(plan);
}

// The expected placement of a zoo net (docs/SCHEDULER.md §1), derived from
// the scheduler (NPU_DEBUG=1) and checked against the nets' structure:
//  squeezenet1_0/1_1: conv1, 24 fire convs and conv10 on PW; 3 maxpools
//    3x3 s2 and the GAP on the PPU; the 8 fire concats folded.
//  mobilenet_v1: conv1, 13 pointwise and the FC on PW, 13 depthwise on
//    DW, the GAP on the PPU.
//  shufflenet_v1_g3: conv1, 32 grouped 1x1 and the FC on PW, 16 depthwise
//    on DW; maxpool, 13 ADDs, 3 avgpools 3x3 s2 and the GAP on the PPU;
//    16 shuffles and 3 concats folded.
//  mobilenet_v2: 64 layers, none on the CPU: conv1, 16 expansions, 17
//    projections, conv_last, FC on PW; 17 depthwise; 10 ADDs + GAP.
//  mobilenet_v3_large / _small: on the CPU only the h-swish (21 / 19),
//    h-sigmoid (8 / 9) and SE multiply (8 / 9) layers: no LUT or multiply
//    engine. The SE FCs are 1x1 convs on PW, the SE GAPs on the PPU.
//  shufflenet_v2_x1_0: 16 shuffles, 16 concats and all 26 splits folded
//    (views: docs/SCHEDULER.md §4); maxpool and GAP on the PPU.
// No layer with MACs is on the CPU in any net: every MAC runs on PW or DW.
// Checked at sizes 32, 48, 64, 96, 128, 160 and 224 (the tests use 32, 64
// and 224): the same on both builds up to 160 and on the default build at
// 224; beyond that nullptr (not written). mobilenet_v3_small's first SE
// GAP plane (size/4 squared) stops fitting ACT at 192 on the small build
// and at 256 on the default one, and goes to the CPU (ppu 15, cpu 38).
// An unknown net fails the test.
inline const char *ExpectedZooPlacement(const std::string &net, bool small, int size)
{
	static const char *const rows[][2] = {
	        {"squeezenet1_0", "pw 26 dw 0 ppu 4 dma 8 (folded 8) cpu 0"},
	        {"squeezenet1_1", "pw 26 dw 0 ppu 4 dma 8 (folded 8) cpu 0"},
	        {"mobilenet_v1", "pw 15 dw 13 ppu 1 dma 0 (folded 0) cpu 0"},
	        {"shufflenet_v1_g3", "pw 34 dw 16 ppu 18 dma 19 (folded 19) cpu 0"},
	        {"mobilenet_v2", "pw 36 dw 17 ppu 11 dma 0 (folded 0) cpu 0"},
	        {"mobilenet_v3_large", "pw 49 dw 15 ppu 19 dma 0 (folded 0) cpu 37"},
	        {"mobilenet_v3_small", "pw 43 dw 11 ppu 16 dma 0 (folded 0) cpu 37"},
	        {"shufflenet_v2_x1_0", "pw 38 dw 19 ppu 2 dma 58 (folded 58) cpu 0"},
	};
	for (const auto &r : rows)
		if (net == r[0])
			return size > (small ? 160 : 224) ? nullptr : r[1];
	ADD_FAILURE() << "no expected placement written for zoo net " << net;
	return nullptr;
}

// A device's profile (npu_model_profile) as what ran: cycles are the work.
inline std::vector<LayerRun> ProfileRuns(const std::vector<npu_layer_profile> &prof)
{
	std::vector<LayerRun> ran;
	for (const npu_layer_profile &p : prof)
		ran.push_back({p.name, p.engine, p.folded != 0, p.cycles, p.macs});
	return ran;
}

// What ran (one LayerRun per graph layer) against the plan's counts
// (EngineCounts(sched, n)), the expected counts (nullptr: none written),
// and the MACs: engine layers together did model_macs - cpu_macs, the
// CPU layers cpu_macs. Every layer on an engine did work (cycles or
// descriptors) except folded ones, which by design have none.
inline void ExpectPlacement(const std::vector<LayerRun> &ran, const std::string &plan,
                            const char *want, uint64_t model_macs, uint64_t cpu_macs = 0)
{
	const std::string got = EngineCounts(ran);
	EXPECT_EQ(got, plan) << "layers per engine: what ran vs the scheduler's plan";
	if (want) {
		EXPECT_EQ(got, want) << "layers per engine vs the expected placement";
	}
	uint64_t engine_macs = 0, host_macs = 0;
	std::string idle;
	for (const LayerRun &r : ran) {
		if (r.engine == "cpu") {
			host_macs += r.macs;
			continue;
		}
		engine_macs += r.macs;
		if (!r.folded && r.work == 0)
			idle += " " + r.name + " (" + r.engine + ")";
	}
	EXPECT_EQ(idle, "") << "layers placed on an engine that did no NPU work";
	EXPECT_EQ(engine_macs, model_macs - cpu_macs) << "MACs run on the engines";
	EXPECT_EQ(host_macs, cpu_macs) << "MACs run on the CPU";
}

} // namespace npu_test

#endif
