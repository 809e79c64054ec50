// Device faults inside the simulated NPU (the `sim` URI's fault options,
// driver/sim.c) seen through the public API: npu_run() fails with the named
// status, npu_last_error() names the layer, the device's error and its
// address, no byte lands outside the job's DMA windows (the harness's bus
// monitor), the caller's output is untouched, and the next run on the same
// device gives exactly the bytes of the cpu device.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "npu.h"
#include "ir/graph.h"
#include "core/runtime.h"
#include "driver/backend.h"
#include "driver/npu_desc.h"
#include "driver/npu_regs.h"
#include "driver/sim.h"
#include "rtl-sim/harness/npu_sim.h"
extern "C" {
#include "quant/zb.h" // no C++ guards of its own
}

namespace
{

using Bytes = std::vector<int8_t>;

// Watchdog budget for the hang: far above any descriptor of the net below,
// far below the driver's 50 M cycles.
constexpr uint32_t kWatchdog = 20000;
constexpr int8_t kPoison = 0x5a;

// A small net on every engine: a 3x3 conv (PW, im2col), depthwise s1 and
// s2, 1x1 convs, a residual ADD, max pool, global average pool and an FC.
// About ten NPU layers and a few tens of thousands of device cycles, so
// each run is a fraction of a second.
std::vector<uint8_t> small_model()
{
	zb *b = zb_new_input("fault_net", 16, 16, 8, 7);
	int stem = zb_conv(b, "stem", zb_input(b), 16, 3, 1, 1, 1, NPUI_ACT_RELU, ZB_BN);
	int dw1 = zb_dw(b, "dw1", stem, 3, 1, NPUI_ACT_RELU, ZB_BN);
	int pw1 = zb_conv(b, "pw1", dw1, 16, 1, 1, 0, 1, NPUI_ACT_NONE, ZB_BN);
	int add = zb_add(b, "add", stem, pw1, NPUI_ACT_NONE);
	int dw2 = zb_dw(b, "dw2", add, 3, 2, NPUI_ACT_RELU, ZB_BN);
	int pw2 = zb_conv(b, "pw2", dw2, 32, 1, 1, 0, 1, NPUI_ACT_RELU, ZB_BN);
	int pool = zb_maxpool(b, "pool", pw2, 3, 2, 1, 0);
	int fc = zb_fc(b, "fc", zb_gap(b, "gap", pool), 10, NPUI_ACT_NONE, ZB_PLAIN);
	npui_graph *g = nullptr;
	char why[160] = "";
	int rc = zb_finish(b, fc, 2, &g, why, sizeof(why));
	zb_free(b);
	EXPECT_EQ(rc, NPU_OK) << why;
	void *data = nullptr;
	size_t len = 0;
	if (rc == NPU_OK) {
		EXPECT_EQ(npui_model_serialize(g, &data, &len), NPU_OK);
	}
	npui_graph_free(g);
	std::vector<uint8_t> v(static_cast<uint8_t *>(data), static_cast<uint8_t *>(data) + len);
	free(data);
	return v;
}

uint64_t reg64(npu_hw *hw, uint32_t lo)
{
	uint32_t l = 0, h = 0;
	EXPECT_EQ(npu_hw_reg_read(hw, lo, &l), NPU_OK);
	EXPECT_EQ(npu_hw_reg_read(hw, lo + 4, &h), NPU_OK);
	return uint64_t{h} << 32 | l;
}

// The address after "at address 0x" in a detail, or ~0 if there is none.
uint64_t detail_addr(const std::string &d)
{
	size_t at = d.find("at address 0x");
	return at == std::string::npos ? ~0ull : std::strtoull(d.c_str() + at + 13, nullptr, 16);
}

// What every fault test shares: the model, its cpu output, and what a
// clean run on sim shows (NPU layers in ring order, window placement;
// buffers get the same device addresses on every open).
struct Reference {
	std::vector<uint8_t> file;
	Bytes x, want;
	Bytes x2, want2; // a second frame, for two in flight
	std::vector<std::string> npu_layers;
	uint64_t max_layer_cycles = 0;
	uint64_t ring_base = 0, arena_base = 0;
	uint32_t arena_size = 0;
};

Bytes run_once(npu_model *m, const Bytes &x, size_t out_n, int *rc)
{
	Bytes y(out_n, kPoison);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	*rc = npu_run(m, &io);
	return y;
}

class SimFaultInject : public ::testing::Test
{
      protected:
	static Reference *ref_;

	static void SetUpTestSuite()
	{
		ref_ = new Reference;
		Reference &r = *ref_;
		r.file = small_model();
		ASSERT_FALSE(r.file.empty());
		npu_device *cpu = nullptr, *sim = nullptr;
		npu_model *mc = nullptr, *ms = nullptr;
		ASSERT_EQ(npu_open("cpu", &cpu), NPU_OK);
		ASSERT_EQ(npu_model_load_memory(cpu, r.file.data(), r.file.size(), &mc), NPU_OK);
		npu_tensor_info in, out;
		npu_model_input(mc, &in);
		npu_model_output(mc, &out);
		r.x.resize(in.elements);
		uint32_t s = 12345;
		for (auto &v : r.x) {
			s = s * 1664525u + 1013904223u;
			v = static_cast<int8_t>(s >> 24);
		}
		int rc;
		r.want = run_once(mc, r.x, out.elements, &rc);
		ASSERT_EQ(rc, NPU_OK);
		r.x2.assign(r.x.rbegin(), r.x.rend());
		r.want2 = run_once(mc, r.x2, out.elements, &rc);
		ASSERT_EQ(rc, NPU_OK);
		npu_model_free(mc);
		npu_close(cpu);

		ASSERT_EQ(npu_open("sim", &sim), NPU_OK) << npu_last_error();
		ASSERT_EQ(npu_model_load_memory(sim, r.file.data(), r.file.size(), &ms), NPU_OK);
		ASSERT_EQ(run_once(ms, r.x, out.elements, &rc), r.want);
		ASSERT_EQ(rc, NPU_OK);
		std::vector<npu_layer_profile> prof(npu_model_num_layers(ms));
		unsigned n = 0;
		npu_model_profile(ms, prof.data(), static_cast<unsigned>(prof.size()), &n);
		for (auto &p : prof) {
			if (p.cycles)
				r.npu_layers.push_back(p.name);
			r.max_layer_cycles = std::max(r.max_layer_cycles, p.cycles);
		}
		npu_hw *hw = npui_device_hw(sim);
		r.ring_base = reg64(hw, NPU_REG_WIN_BASE_LO(0));
		r.arena_base = reg64(hw, NPU_REG_WIN_BASE_LO(2));
		EXPECT_EQ(npu_hw_reg_read(hw, NPU_REG_WIN_SIZE(2), &r.arena_size), NPU_OK);
		npu_model_free(ms);
		npu_close(sim);
		ASSERT_GE(r.npu_layers.size(), 2u);
		ASSERT_NE(r.arena_size, 0u);
	}
	static void TearDownTestSuite()
	{
		delete ref_;
		ref_ = nullptr;
	}

	// Open sim with `opts`, run once (the fault fires), require status
	// want, then run again on the same device and require the cpu bytes.
	// Returns the first run's npu_last_error().
	std::string fault_then_clean(const std::string &opts, int want)
	{
		const Reference &r = *ref_;
		npu_device *dev = nullptr;
		npu_model *m = nullptr;
		std::string uri = "sim:" + opts, detail;
		int rc = npu_open(uri.c_str(), &dev);
		EXPECT_EQ(rc, NPU_OK) << uri << ": " << npu_last_error();
		if (rc != NPU_OK)
			return "";
		npu_sim *sim = npu_sim_backend_device(npui_device_hw(dev));
		EXPECT_NE(sim, nullptr);
		rc = npu_model_load_memory(dev, r.file.data(), r.file.size(), &m);
		EXPECT_EQ(rc, NPU_OK) << npu_last_error();
		if (rc == NPU_OK && sim) {
			Bytes y = run_once(m, r.x, r.want.size(), &rc);
			detail = npu_last_error();
			EXPECT_EQ(rc, want) << npu_status_name(rc) << " instead of "
			                    << npu_status_name(want) << ": " << detail;
			EXPECT_EQ(y, Bytes(r.want.size(), kPoison))
			        << "a failed run wrote the output";
			EXPECT_EQ(npu_sim_stray_write_bytes(sim), 0u)
			        << "written outside the windows";

			y = run_once(m, r.x, r.want.size(), &rc);
			EXPECT_EQ(rc, NPU_OK) << "next run: " << npu_last_error();
			EXPECT_EQ(y, r.want) << "next run differs from cpu";
			EXPECT_EQ(npu_sim_stray_write_bytes(sim), 0u)
			        << "written outside the windows";
		}
		npu_model_free(m);
		npu_close(dev);
		return detail;
	}

	// The detail starts with "layer N (NAME): " for an NPU layer; NAME.
	static std::string layer_of(const std::string &detail)
	{
		size_t open = detail.find(" ("), close = detail.find("): ");
		if (detail.rfind("layer ", 0) != 0 || open == std::string::npos ||
		    close == std::string::npos || close < open)
			return "";
		return detail.substr(open + 2, close - open - 2);
	}
	static bool is_npu_layer(const std::string &name)
	{
		for (auto &l : ref_->npu_layers)
			if (l == name)
				return true;
		return false;
	}
};

Reference *SimFaultInject::ref_ = nullptr;

TEST_F(SimFaultInject, OptionsParsedAndMalformedRejected)
{
	npu_device *d = nullptr;
	for (const char *ok :
	     {"sim:bus_error=0x10000000", "sim:bus_error=268435456:64",
	      "sim:bus_error_after=0,hang_after=7", "sim:corrupt_desc=3,lose_irq=1",
	      "sim:watchdog=1000,max_cycles=5000,config=small", "sim:hang_engine=pw",
	      "sim:hang_engine=dw:2", "sim:hang_engine=ppu:0x10,watchdog=100"}) {
		EXPECT_EQ(npu_open(ok, &d), NPU_OK) << ok << ": " << npu_last_error();
		npu_close(d);
	}
	for (const char *bad :
	     {"sim:bus_error", "sim:bus_error=", "sim:bus_error=0x", "sim:bus_error=16:0",
	      "sim:bus_error=16:", "sim:bus_error=1:2:3", "sim:bus_error=-4", "sim:bus_error=0xg",
	      "sim:bus_error_after=", "sim:bus_error_after=4294967296", "sim:hang_after=x",
	      "sim:corrupt_desc=0", "sim:lose_irq=0", "sim:lose_irq=-1", "sim:watchdog=0",
	      "sim:watchdog=1e6", "sim:fault=bus", "sim:hang=pw"}) {
		d = nullptr;
		EXPECT_EQ(npu_open(bad, &d), NPU_ERR_INVALID_ARG) << bad;
		EXPECT_EQ(d, nullptr) << bad;
	}
	for (const char *bad :
	     {"sim:hang_engine", "sim:hang_engine=", "sim:hang_engine=PW", "sim:hang_engine=dma",
	      "sim:hang_engine=pw:", "sim:hang_engine=pw:0", "sim:hang_engine=dw:-1",
	      "sim:hang_engine=ppu:1:2", "sim:hang_engine=pw|dw", "sim:hang_engine=:3"}) {
		d = nullptr;
		EXPECT_EQ(npu_open(bad, &d), NPU_ERR_INVALID_ARG) << bad;
		EXPECT_EQ(d, nullptr) << bad;
	}
}

// A bus error on the first burst touching the job's arena: a device fault
// naming the DMA bus error and the burst's address inside the arena.
TEST_F(SimFaultInject, BusErrorAtArenaAddress)
{
	const Reference &r = *ref_;
	char opt[64];
	std::snprintf(opt, sizeof(opt), "bus_error=0x%" PRIx64 ":%u", r.arena_base, r.arena_size);
	std::string d = fault_then_clean(opt, NPU_ERR_DEVICE_FAULT);
	EXPECT_NE(d.find("device error 7 (DMA bus error) at address 0x"), std::string::npos) << d;
	EXPECT_TRUE(is_npu_layer(layer_of(d))) << d;
	uint64_t a = detail_addr(d);
	EXPECT_GE(a, r.arena_base) << d;
	EXPECT_LT(a, r.arena_base + r.arena_size) << d;
}

// A bus error on burst N+1 of the run, wherever it falls: a read or a
// write, ring, constants or arena.
TEST_F(SimFaultInject, BusErrorAfterNBursts)
{
	for (int n : {0, 40, 200}) {
		SCOPED_TRACE(n);
		std::string d = fault_then_clean("bus_error_after=" + std::to_string(n),
		                                 NPU_ERR_DEVICE_FAULT);
		EXPECT_NE(d.find("device error 7 (DMA bus error) at address 0x"), std::string::npos)
		        << d;
		EXPECT_TRUE(is_npu_layer(layer_of(d))) << d;
		// Burst 1 is the first descriptor fetch: the ring's first slot.
		if (n == 0)
			EXPECT_EQ(detail_addr(d), ref_->ring_base) << d;
		else
			EXPECT_NE(detail_addr(d), 0u) << d;
	}
}

// Memory that stops answering mid-run: no descriptor retires, the device's
// watchdog (budget from the watchdog= option) reports it within a fraction
// of a second of CPU (the driver's own 50 M cycles would take a minute):
// NPU_ERR_TIMEOUT naming the watchdog.
TEST_F(SimFaultInject, MemoryHangWatchdog)
{
	std::clock_t t0 = std::clock();
	std::string d = fault_then_clean("hang_after=300,watchdog=" + std::to_string(kWatchdog),
	                                 NPU_ERR_TIMEOUT);
	double s = static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
	EXPECT_NE(d.find("device error 8 (watchdog) at address 0x"), std::string::npos) << d;
	EXPECT_TRUE(is_npu_layer(layer_of(d))) << d;
	EXPECT_LT(s, 5.0) << "the watchdog= budget did not reach the device";
	std::printf("[ hang ] %s (%.2f s of CPU with two runs)\n", d.c_str(), s);

	npu_device *dev = nullptr;
	ASSERT_EQ(npu_open("sim:watchdog=1234", &dev), NPU_OK);
	uint32_t v = 0;
	EXPECT_EQ(npu_hw_reg_read(npui_device_hw(dev), NPU_REG_WDOG_BUDGET, &v), NPU_OK);
	EXPECT_EQ(v, 1234u);
	npu_close(dev);
}

// An engine that never finishes (npu_top's dbg_engine_hold_i, set by the
// harness when the engine's Nth descriptor is fetched): the compute queue
// stops, the watchdog reports it in a layer on that engine, the reset
// releases the engine and the next run is exact. The net's layers per
// engine (small_model): the first of each list is the first descriptor of
// that engine in ring order.
TEST_F(SimFaultInject, EngineHangWatchdog)
{
	const struct {
		const char *engine;
		std::vector<std::string> layers;
	} engines[] = {{"pw", {"stem", "pw1", "pw2", "fc"}},
	               {"dw", {"dw1", "dw2"}},
	               {"ppu", {"add", "pool", "gap"}}};
	std::clock_t t0 = std::clock();
	int runs = 0;
	for (const auto &e : engines) {
		for (int n : {1, 2}) {
			std::string opt = std::string("hang_engine=") + e.engine + ":" +
			                  std::to_string(n) +
			                  ",watchdog=" + std::to_string(kWatchdog);
			SCOPED_TRACE(opt);
			std::string d = fault_then_clean(opt, NPU_ERR_TIMEOUT);
			runs += 2;
			EXPECT_NE(d.find("device error 8 (watchdog) at address 0x"),
			          std::string::npos)
			        << d;
			std::string l = layer_of(d);
			EXPECT_TRUE(is_npu_layer(l)) << d;
			EXPECT_NE(std::find(e.layers.begin(), e.layers.end(), l), e.layers.end())
			        << "not a " << e.engine << " layer: " << d;
			if (n == 1) {
				EXPECT_EQ(l, e.layers[0]) << d;
			}
			std::printf("[ hang %s:%d ] %s\n", e.engine, n, d.c_str());
		}
	}
	double s = static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
	EXPECT_LT(s, 0.5 * runs) << "the watchdog= budget did not reach the device";
	std::printf("[ engine hangs ] %d runs, %.2f s of CPU\n", runs, s);
}

// Two frames in flight, so the second runs in the other context's arena
// (other windows): the first meets a memory hang; nothing of it lands
// outside the windows, and the second frame is exact.
TEST_F(SimFaultInject, HangWithTheNextFrameQueued)
{
	const Reference &r = *ref_;
	std::string uri = "sim:watchdog=" + std::to_string(kWatchdog) + ",hang_after=250";
	npu_device *dev = nullptr;
	npu_model *m = nullptr;
	ASSERT_EQ(npu_open(uri.c_str(), &dev), NPU_OK);
	ASSERT_EQ(npu_model_load_memory(dev, r.file.data(), r.file.size(), &m), NPU_OK);
	std::vector<Bytes> ys(2, Bytes(r.want.size(), kPoison));
	npu_io io[2] = {
	        {NPU_IO_INT8, r.x.data(), r.x.size(), NPU_IO_INT8, ys[0].data(), ys[0].size()},
	        {NPU_IO_INT8, r.x2.data(), r.x2.size(), NPU_IO_INT8, ys[1].data(), ys[1].size()}};
	npu_job *jobs[2] = {};
	ASSERT_EQ(npu_submit(m, &io[0], &jobs[0]), NPU_OK);
	ASSERT_EQ(npu_submit(m, &io[1], &jobs[1]), NPU_OK);
	EXPECT_EQ(npu_wait(jobs[0], -1), NPU_ERR_TIMEOUT);
	EXPECT_EQ(npu_wait(jobs[1], -1), NPU_OK) << npu_last_error();
	EXPECT_EQ(ys[1], r.want2);
	EXPECT_EQ(npu_sim_stray_write_bytes(npu_sim_backend_device(npui_device_hw(dev))), 0u);
	npu_model_free(m);
	npu_close(dev);
}

// The first descriptor fetched reaches the device with an unknown opcode:
// the command processor's descriptor fault, at the ring's first slot, in
// the first NPU layer.
TEST_F(SimFaultInject, CorruptDescriptor)
{
	const Reference &r = *ref_;
	std::string d = fault_then_clean("corrupt_desc=1", NPU_ERR_DEVICE_FAULT);
	char want[96];
	std::snprintf(want, sizeof(want),
	              "device error 2 (descriptor opcode) at address 0x%" PRIx64 ", ring index 0",
	              r.ring_base);
	EXPECT_NE(d.find(want), std::string::npos) << d;
	EXPECT_EQ(layer_of(d), r.npu_layers[0]) << d;
}

// The first interrupt never reaches the host: the wait ends at max_cycles
// with NPU_ERR_TIMEOUT in the first NPU layer, the detail says the cause
// was latched (a lost interrupt, not a busy device), and the reset after it
// lets the next run through. max_cycles: twice the longest layer, so the
// clean run never meets it.
TEST_F(SimFaultInject, LostInterruptTimesOut)
{
	const uint64_t max_cycles = 2 * ref_->max_layer_cycles + 10000;
	std::string d = fault_then_clean("lose_irq=1,max_cycles=" + std::to_string(max_cycles),
	                                 NPU_ERR_TIMEOUT);
	EXPECT_NE(d.find("interrupt lost"), std::string::npos) << d;
	EXPECT_EQ(layer_of(d), ref_->npu_layers[0]) << d;
}

// The bus monitor the tests above rely on: a store issued inside a
// writable window whose bytes land after the window was closed counts;
// the same store with the window left open does not.
TEST(SimFaultMonitor, CountsWritesLandingOutsideTheWindows)
{
	for (bool close_window : {false, true}) {
		SCOPED_TRACE(close_window);
		npu_sim_config cfg = {};
		cfg.config = "default";
		npu_sim *sim = nullptr;
		ASSERT_EQ(npu_sim_create(&cfg, &sim), 0);
		const uint64_t ring = 0x10000, out = 0x20000;
		alignas(64) static uint32_t ring_mem[4 * NPU_HW_DESC_WORDS];
		alignas(64) static uint8_t out_mem[4096];
		std::memset(ring_mem, 0, sizeof(ring_mem));
		// DMA_STORE of 64 ACT bytes to out, then FENCE | IRQ.
		npu_desc_dma store{};
		store.opcode = NPU_HW_OP_DMA_STORE;
		store.host_addr = out;
		store.sram_sel = NPU_HW_SRAM_ACT;
		store.chans = 64;
		store.cols = 1;
		store.rows = 1;
		store.host_chan_stride = 1;
		store.host_pix_stride = store.host_row_stride = 64;
		store.sram_pix_stride = store.sram_row_stride = 64;
		ASSERT_EQ(npu_desc_dma_pack(&store, &ring_mem[0]), 0);
		npu_desc_fence fe{};
		fe.flags = NPU_HW_FLAG_IRQ;
		ASSERT_EQ(npu_desc_fence_pack(&fe, &ring_mem[NPU_HW_DESC_WORDS]), 0);
		ASSERT_EQ(npu_sim_map(sim, ring, ring_mem, sizeof(ring_mem)), 0);
		ASSERT_EQ(npu_sim_map(sim, out, out_mem, sizeof(out_mem)), 0);
		const uint32_t regs[][2] = {
		        {NPU_REG_RING_BASE_LO, static_cast<uint32_t>(ring)},
		        {NPU_REG_RING_SIZE, 4},
		        {NPU_REG_WIN_BASE_LO(0), static_cast<uint32_t>(ring)},
		        {NPU_REG_WIN_SIZE(0), sizeof(ring_mem)},
		        {NPU_REG_WIN_CTRL(0), NPU_REG_WIN_CTRL_READ_MASK},
		        {NPU_REG_WIN_BASE_LO(1), static_cast<uint32_t>(out)},
		        {NPU_REG_WIN_SIZE(1), sizeof(out_mem)},
		        {NPU_REG_WIN_CTRL(1), NPU_REG_WIN_CTRL_WRITE_MASK},
		        {NPU_REG_IRQ_MASK,
		         NPU_REG_IRQ_STATUS_DONE_MASK | NPU_REG_IRQ_STATUS_ERROR_MASK},
		        {NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK},
		        {NPU_REG_RING_TAIL, 2},
		        {NPU_REG_DOORBELL, 1}};
		// Bursts 1 and 2 fetch the descriptors; the store's is burst 3.
		npu_sim_inject_hang_after(sim, 2);
		for (auto &rv : regs)
			ASSERT_EQ(npu_sim_reg_write(sim, rv[0], rv[1]), 0);
		EXPECT_EQ(npu_sim_run(sim, 3000), 0);
		if (close_window) {
			ASSERT_EQ(npu_sim_reg_write(sim, NPU_REG_WIN_CTRL(1), 0), 0);
		}
		npu_sim_inject_hang(sim, 0);
		EXPECT_EQ(npu_sim_run(sim, 10000), 1);
		uint32_t st = 0;
		EXPECT_EQ(npu_sim_reg_read(sim, NPU_REG_IRQ_STATUS, &st), 0);
		EXPECT_EQ(st, NPU_REG_IRQ_STATUS_DONE_MASK);
		EXPECT_EQ(npu_sim_stray_write_bytes(sim), close_window ? 64u : 0u);
		npu_sim_destroy(sim);
	}
}

} // namespace
