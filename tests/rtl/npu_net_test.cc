// Whole schedules on the simulated device: a zoo net is scheduled by
// lib/sched (npui_sched_build with the configuration's npui_caps_preset and
// an arena from npui_sched_arena_plan); its NPU segments run on npu_top
// through the sim backend and the driver core (driver/npu_dev.h), as
// lib/core/hw_device.c runs them but without the runtime around it:
// descriptors relocated by npui_relocate_segment, one layer's descriptors
// + FENCE|IRQ per npu_dev_stream batch; its CPU segments on
// npui_ref_run_layer; every output byte must equal the whole
// graph run layer by layer on the CPU kernels (npui_ref_run_layer), and
// the layers must have run where the schedule and the expected table put
// them, each engine layer with device cycles, all MACs on the engines
// (tests/common/placement.h).
//
// Environment: NPU_NET_NETS (comma-separated net names; default: the nets
// of the CI set below), NPU_NET_SIZE (input size, default 32), NPU_NET_STEP=1
// (check each NPU layer's inputs before and output after it runs; a folded
// output lives in another tensor's buffer, so a report there is only a
// hint), NPU_NET_DUMP=1 (with STEP: the differing layer's descriptors).
#include <gtest/gtest.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "driver/backend.h"
#include "driver/npu_desc.h"
#include "driver/npu_dev.h"
#include "driver/npu_regs.h"
#include "driver/sim.h"
#include "ir/graph.h"
#include "npu.h"
#include "rtl-sim/harness/npu_sim.h"
#include "tests/common/placement.h"
#include "tests/common/test_env.h"
#include "ref/ref.h"
#include "sched/sched.h"
#include "zoo/zoo.h"

namespace
{

constexpr uint32_t kRingEntries = 1024;
constexpr uint32_t kWatchdogCycles = 20000000;
constexpr int kLayerTimeoutMs = 60000;

// A DMA buffer of the sim backend, freed before the device closes.
struct DmaBuf {
	npu_hw *hw;
	npu_hw_buf b = {};
	explicit DmaBuf(npu_hw *h) : hw(h)
	{
	}
	~DmaBuf()
	{
		npu_hw_buf_free(hw, &b);
	}
	uint8_t *host() const
	{
		return static_cast<uint8_t *>(b.host);
	}
};

struct NetCase {
	std::string net;
	bool small;
};

std::string Env(const char *name, const char *def)
{
	const char *e = std::getenv(name);
	return e ? e : def;
}

// Where the layers of a run went (tests/common/placement.h): a layer of a
// CPU segment ran on the host, one of an NPU segment on its planned engine
// with the device cycles of its ring batch; plan is the schedule's counts.
struct Placed {
	std::vector<npu_test::LayerRun> ran;
	std::string plan;
	uint64_t model_macs = 0;
};

// Runs net on the device; returns "" or what went wrong.
std::string RunNet(const NetCase &nc, int size, uint64_t *cycles, uint32_t *npu_layers,
                   uint32_t *cpu_layers, Placed *placed)
{
	zoo_opts o;
	zoo_opts_default(&o);
	o.size = size;
	o.calib = 1;
	npui_graph *gp = nullptr;
	char why[256] = "";
	if (zoo_build(nc.net.c_str(), &o, &gp, why, sizeof(why)) != NPU_OK)
		return std::string("zoo_build: ") + why;
	std::unique_ptr<npui_graph, void (*)(npui_graph *)> g(gp, npui_graph_free);
	npui_ref_plan *pp = nullptr;
	if (npui_ref_prepare(g.get(), &pp, why, sizeof(why)) != NPU_OK)
		return std::string("prepare: ") + why;
	std::unique_ptr<npui_ref_plan, void (*)(npui_ref_plan *)> plan(pp, npui_ref_plan_free);

	// Golden: every layer on the CPU kernels, one buffer per tensor.
	std::mt19937 rng(7);
	std::vector<std::vector<int8_t>> gold(g->num_tensors);
	for (uint32_t t = 0; t < g->num_tensors; t++)
		gold[t].resize(static_cast<size_t>(g->tensors[t].h) * g->tensors[t].w *
		               g->tensors[t].c);
	for (auto &v : gold[g->input])
		v = static_cast<int8_t>(rng());
	std::vector<int8_t *> gb(g->num_tensors);
	for (uint32_t t = 0; t < g->num_tensors; t++)
		gb[t] = gold[t].data();
	for (uint32_t i = 0; i < g->num_layers; i++)
		npui_ref_run_layer(plan.get(), g.get(), i, gb.data());

	npui_caps caps;
	npui_caps_preset(&caps, nc.small ? 1 : 0);
	std::vector<size_t> off(g->num_tensors);
	size_t asize = 0;
	if (npui_sched_arena_plan(g.get(), &caps, off.data(), &asize) != NPU_OK)
		return "arena plan";
	npui_sched *sp = nullptr;
	if (npui_sched_build(g.get(), plan.get(), &caps, off.data(), &sp, why, sizeof(why)) !=
	    NPU_OK)
		return std::string("sched_build: ") + why;
	std::unique_ptr<npui_sched, void (*)(npui_sched *)> s(sp, npui_sched_free);
	placed->plan = npu_test::EngineCounts(s.get(), g->num_layers);
	placed->ran.resize(g->num_layers);
	for (uint32_t i = 0; i < g->num_layers; i++) {
		const uint64_t macs = npui_layer_macs(g.get(), &g->layers[i]);
		placed->ran[i] = {g->layers[i].name, "cpu", s->placement[i].folded != 0, 0, macs};
		placed->model_macs += macs;
	}

	const npu_backend_ops *sim_ops = npu_backend_find("sim", 3);
	if (!sim_ops)
		return "this build has no sim backend";
	npu_hw *hwp = nullptr;
	if (npu_hw_open(sim_ops, nc.small ? "config=small" : "config=default", &hwp) != NPU_OK)
		return "npu_hw_open(sim)";
	std::unique_ptr<npu_hw, void (*)(npu_hw *)> hw(hwp, npu_hw_close);
	npu_dev dev;
	if (npu_dev_open(&dev, hw.get(), 3) != NPU_OK)
		return "npu_dev_open: refused (" + std::to_string(dev.refusal) + ")";

	// Ring, constants and arena in DMA buffers; noise everywhere in the
	// arena the schedule does not write.
	DmaBuf ring(hw.get()), consts(hw.get()), arena(hw.get());
	if (npu_hw_buf_alloc(hw.get(), kRingEntries * NPU_HW_DESC_BYTES, NPU_HW_BUF_DEV_READ,
	                     &ring.b) ||
	    (s->const_size &&
	     npu_hw_buf_alloc(hw.get(), s->const_size, NPU_HW_BUF_DEV_READ, &consts.b)) ||
	    npu_hw_buf_alloc(hw.get(), asize ? asize : 64,
	                     NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE, &arena.b))
		return "npu_hw_buf_alloc";
	for (size_t b = 0; b < arena.b.size; b++)
		arena.host()[b] = static_cast<uint8_t>(rng());
	if (s->const_size)
		std::memcpy(consts.host(), s->const_blob, s->const_size);
	std::vector<int8_t *> bufs(g->num_tensors);
	for (uint32_t t = 0; t < g->num_tensors; t++)
		bufs[t] = reinterpret_cast<int8_t *>(arena.host()) + off[t];
	std::memcpy(bufs[g->input], gold[g->input].data(), gold[g->input].size());
	const uint32_t rd = NPU_REG_WIN_CTRL_READ_MASK, wr = NPU_REG_WIN_CTRL_WRITE_MASK;
	const npu_dev_window win[3] = {npu_dev_window_of(&ring.b, rd),
	                               npu_dev_window_of(&consts.b, rd),
	                               npu_dev_window_of(&arena.b, rd | wr)};
	if (npu_dev_ring_init(&dev, &ring.b, kRingEntries, kWatchdogCycles) != NPU_OK ||
	    npu_dev_set_windows(&dev, win, 3) != NPU_OK)
		return "ring or windows";
	const bool step = std::getenv("NPU_NET_STEP") != nullptr;

	*npu_layers = *cpu_layers = 0;
	for (uint32_t k = 0; k < s->num_segments; k++) {
		const npui_segment &sg = s->segments[k];
		if (sg.kind == NPUI_SEG_CPU) {
			for (uint32_t i = sg.first_layer; i < sg.first_layer + sg.num_layers; i++)
				npui_ref_run_layer(plan.get(), g.get(), i, bufs.data());
			*cpu_layers += sg.num_layers;
			continue;
		}
		for (uint32_t i = sg.first_layer; i < sg.first_layer + sg.num_layers; i++)
			placed->ran[i].engine = s->placement[i].engine;
		std::vector<uint32_t> d(static_cast<size_t>(sg.num_desc) * NPU_HW_DESC_WORDS);
		if (npui_relocate_segment(&sg, arena.b.dev_addr, consts.b.dev_addr, d.data()) !=
		    NPU_OK)
			return npu_last_error();
		uint32_t i = 0;
		while (i < sg.num_desc) {
			uint32_t layer = sg.layer_of_desc[i], n = 0;
			while (i + n < sg.num_desc && sg.layer_of_desc[i + n] == layer)
				n++;
			if (step && layer < g->num_layers)
				for (uint32_t q = 0; q < g->layers[layer].num_inputs; q++) {
					int32_t t = g->layers[layer].inputs[q];
					if (std::memcmp(bufs[t], gold[t].data(), gold[t].size()))
						std::printf("  step: layer %u input %d (tensor %d) "
						            "differs "
						            "before it runs\n",
						            layer, q, t);
				}
			// One layer per batch, streamed through the ring and waited for
			// until RING_HEAD reaches the tail (a segment's last layer
			// carries the scheduler's FENCE | IRQ before the closing one).
			npu_dev_perf perf = {};
			const int rc =
			        npu_dev_stream(&dev, &d[static_cast<size_t>(i) * NPU_HW_DESC_WORDS],
			                       n, kLayerTimeoutMs, &perf);
			if (rc != NPU_OK) {
				std::ostringstream os;
				os << "layer " << layer << " (" << g->layers[layer].name
				   << "): " << npu_status_name(rc) << ", error kind "
				   << dev.err.kind << " IRQ_STATUS " << dev.err.irq_status
				   << " ERR_CODE " << dev.err.code << " ("
				   << npu_dev_err_name(dev.err.code) << ") ERR_INDEX "
				   << dev.err.index << " ERR_ADDR 0x" << std::hex << dev.err.addr;
				return os.str();
			}
			if (layer < g->num_layers)
				placed->ran[layer].work += perf.cycles;
			if (step && layer < g->num_layers) {
				int32_t t = g->layers[layer].output;
				if (std::memcmp(bufs[t], gold[t].data(), gold[t].size())) {
					if (std::getenv("NPU_NET_DUMP")) {
						for (uint32_t q = i; q < i + n; q++) {
							std::printf("desc %u:", q);
							const uint32_t *dq =
							        &d[static_cast<size_t>(q) *
							           NPU_HW_DESC_WORDS];
							for (unsigned w = 0; w < NPU_HW_DESC_WORDS;
							     w++)
								std::printf(" %x", dq[w]);
							std::printf("\n");
							// a PARAM load from the constants: print
							// its int32s
							npu_desc_dma ld{};
							if (npu_desc_dma_unpack(dq, &ld) == 0 &&
							    ld.opcode == NPU_HW_OP_DMA_LOAD &&
							    ld.sram_sel == NPU_HW_SRAM_PARAM &&
							    ld.host_addr >= consts.b.dev_addr &&
							    ld.host_addr - consts.b.dev_addr <
							            consts.b.size) {
								const int32_t *pv = reinterpret_cast<
								        const int32_t *>(
								        consts.host() +
								        (ld.host_addr -
								         consts.b.dev_addr));
								for (uint32_t e = 0;
								     e < ld.chans / 4; e++)
									std::printf(" %d", pv[e]);
								std::printf("\n");
							}
						}
						size_t nb = 0;
						for (size_t b = 0; b < gold[t].size(); b++)
							if (bufs[t][b] != gold[t][b] && nb++ < 10)
								std::printf(
								        "byte %zu got %d want %d\n",
								        b, bufs[t][b], gold[t][b]);
						std::printf("%zu of %zu bytes differ; tensor %d "
						            "%dx%dx%d\n",
						            nb, gold[t].size(), t, g->tensors[t].h,
						            g->tensors[t].w, g->tensors[t].c);
					}
					std::printf(
					        "  step: layer %u (%s, %s) output differs (folded "
					        "outputs live elsewhere: not necessarily wrong)\n",
					        layer, g->layers[layer].name,
					        s->placement[layer].engine);
				}
			}
			i += n;
		}
		*npu_layers += sg.num_layers;
	}
	*cycles = npu_sim_cycles(npu_sim_backend_device(hw.get()));
	const std::vector<int8_t> &want = gold[g->output];
	const int8_t *got = bufs[g->output];
	for (size_t b = 0; b < want.size(); b++)
		if (got[b] != want[b]) {
			std::ostringstream os;
			os << "output byte " << b << " of " << want.size() << ": got "
			   << int(got[b]) << " want " << int(want[b]);
			return os.str();
		}
	return "";
}

// The names in a ",a,b," list that are not zoo nets ("" when all are).
std::string UnknownNets(const std::string &list)
{
	unsigned n = 0;
	const zoo_net *zn = zoo_nets(&n);
	std::string bad;
	size_t at = 1;
	for (size_t comma; (comma = list.find(',', at)) != std::string::npos; at = comma + 1) {
		std::string name = list.substr(at, comma - at);
		bool known = false;
		for (unsigned i = 0; i < n; i++)
			known = known || name == zn[i].name;
		if (!known)
			bad += (bad.empty() ? "" : " ") + ("'" + name + "'");
	}
	return bad;
}

class NetTest : public ::testing::TestWithParam<NetCase>
{
};

TEST_P(NetTest, BitExactOnDevice)
{
	const NetCase &nc = GetParam();
	// NPU_NET_NETS=a,b narrows the run to those nets; a name that is no
	// zoo net fails every case, so a typo cannot turn the suite into skips.
	std::string nets = "," + Env("NPU_NET_NETS", "") + ",";
	if (nets != ",,") {
		std::string bad = UnknownNets(nets);
		ASSERT_EQ(bad, "") << "NPU_NET_NETS names no zoo net: " << bad;
		if (nets.find("," + nc.net + ",") == std::string::npos)
			GTEST_SKIP() << "not in NPU_NET_NETS";
	}
	int size = static_cast<int>(npu_test_env_int("NPU_NET_SIZE", 32, 16, 1024));
	uint64_t cyc = 0;
	uint32_t nl = 0, cl = 0;
	Placed placed;
	auto t0 = std::chrono::steady_clock::now();
	std::string e = RunNet(nc, size, &cyc, &nl, &cl, &placed);
	double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	EXPECT_EQ(e, "") << nc.net << " " << (nc.small ? "small" : "default");
	// Bytes alone would match with every layer on the CPU (its kernels are
	// the golden ones): placement, cycles and MACs as well.
	if (e.empty())
		npu_test::ExpectPlacement(placed.ran, placed.plan,
		                          npu_test::ExpectedZooPlacement(nc.net, nc.small, size),
		                          placed.model_macs);
	std::printf("[ net ] %-20s %-7s %dx%d: %s, %u NPU + %u CPU layers, %" PRIu64
	            " device cycles, %.1f s\n",
	            nc.net.c_str(), nc.small ? "small" : "default", size, size,
	            e.empty() ? "bit-exact" : "FAILED", nl, cl, cyc, sec);
}

std::vector<NetCase> Cases()
{
	std::vector<NetCase> v;
	unsigned n = 0;
	const zoo_net *nets = zoo_nets(&n);
	for (int small = 1; small >= 0; small--)
		for (unsigned i = 0; i < n; i++)
			v.push_back({nets[i].name, small != 0});
	return v;
}

INSTANTIATE_TEST_SUITE_P(Zoo, NetTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<NetCase> &i) {
	                         return i.param.net + (i.param.small ? "_small" : "_default");
                         });

} // namespace
