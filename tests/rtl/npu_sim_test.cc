// Device tests of the whole NPU (npu_top) on the sim backend, driven by the
// driver core (driver/npu_dev.h: CAPS, ring, windows, waits) and the
// harness C ABI (rtl-sim/harness/npu_sim.h: registers, memory, fault hooks):
// register reset values, rings of DMA_LOAD -> DW_CONV / PW_CONV -> DMA_STORE
// jobs compared bit-exact with lib/ref's int32 accumulator convolution
// (npu_ref_s8_conv2d_acc32), DMA window and bus faults, watchdog and soft
// reset recovery, on both configurations ("default", "small").
//
// Environment: NPU_SIM_CASES (random jobs per engine and configuration,
// default 130), NPU_TB_SEED (default 1). A failure names the case and the
// first differing element.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "driver/backend.h"
#include "driver/npu_desc.h"
#include "driver/npu_dev.h"
#include "driver/npu_regs.h"
#include "driver/sim.h"
#include "ref/quant.h"
#include "ref/ref.h"
#include "rtl-sim/harness/npu_sim.h"
#include "rtl-sim/tb/tb_util.h"
#include "tests/common/test_env.h"

namespace
{

constexpr uint64_t kDevBase = 0x80000000ull; // device address of host memory
constexpr size_t kMemBytes = 4u << 20;
constexpr uint32_t kRingEntries = 64;
// One wait for an interrupt gives up after this many device cycles (the
// sim backend's max_cycles) or this much host time.
constexpr uint32_t kWaitCycles = 20000000;
constexpr int kWaitMs = 600000;
constexpr size_t kDataOff = 64 * 1024; // after the ring

// A size or seed knob; a value that would shrink a suite to nothing stops
// the run (tests/common/test_env.h).
int env_int(const char *name, int def, int min = 1)
{
	return static_cast<int>(npu_test_env_int(name, def, min, INT_MAX));
}

// Descriptors are packed by the generated driver/npu_desc.h; a value that
// does not fit its field fails the test instead of being truncated.
struct Desc {
	uint32_t w[NPU_HW_DESC_WORDS] = {};
};

Desc dma(uint32_t op, uint64_t host, uint32_t sel, uint32_t sram, uint32_t chans, uint32_t cols,
         uint32_t rows, uint32_t hcs, uint32_t hps, uint32_t hrs, uint32_t sps, uint32_t srs,
         uint32_t flags = 0)
{
	npu_desc_dma s{};
	s.opcode = op;
	s.flags = flags;
	s.host_addr = host;
	s.sram_sel = sel;
	s.sram_addr = sram;
	s.chans = chans;
	s.cols = cols;
	s.rows = rows;
	s.host_chan_stride = hcs;
	s.host_pix_stride = hps;
	s.host_row_stride = hrs;
	s.sram_pix_stride = sps;
	s.sram_row_stride = srs;
	Desc d;
	EXPECT_EQ(npu_desc_dma_pack(&s, d.w), 0);
	return d;
}

Desc conv(const npu_desc_conv &s)
{
	Desc d;
	EXPECT_EQ(npu_desc_conv_pack(&s, d.w), 0);
	return d;
}

// Only a header: SYNC (with its queue), FENCE, or for the decoder tests an
// opcode no layout has, or another version.
Desc simple(uint32_t op, uint32_t flags, uint32_t queue = 0, uint32_t version = NPU_HW_DESC_VERSION)
{
	Desc d;
	int rc;
	if (op == NPU_HW_OP_SYNC && version == NPU_HW_DESC_VERSION) {
		npu_desc_sync s{};
		s.flags = flags;
		s.queue = queue;
		rc = npu_desc_sync_pack(&s, d.w);
	} else {
		npu_desc_hdr h{};
		h.opcode = op;
		h.version = version;
		h.flags = flags;
		rc = npu_desc_hdr_pack(&h, d.w);
	}
	EXPECT_EQ(rc, 0);
	return d;
}

// One device plus 4 MiB of host memory mapped at kDevBase, window 0 over
// all of it (read/write), a 64-entry ring at its start. The device is the
// sim backend's; the memory is mapped through its harness device
// (npu_sim_backend_device) at a fixed address the tests compute with.
class Dev
{
      public:
	explicit Dev(const char *config, uint32_t latency = 0, uint32_t bpc = 0) : mem(kMemBytes, 0)
	{
		std::string args = std::string("config=") + config +
		                   ",max_cycles=" + std::to_string(kWaitCycles);
		if (latency)
			args += ",latency=" + std::to_string(latency);
		if (bpc)
			args += ",bw=" + std::to_string(bpc);
		const npu_backend_ops *sim_ops = npu_backend_find("sim", 3);
		ok = sim_ops && npu_hw_open(sim_ops, args.c_str(), &hw) == NPU_OK;
		if (!ok)
			return;
		sim = npu_sim_backend_device(hw);
		ok = npu_sim_map(sim, kDevBase, mem.data(), mem.size()) == 0 &&
		     npu_dev_open(&core, hw, 1) == NPU_OK;
		if (!ok)
			return;
		rows = core.caps.pw_rows;
		cols = core.caps.pw_cols;
		lanes = core.caps.dw_lanes;
		act_bytes = core.caps.act_kb * 1024;
		wgt_bytes = core.caps.wgt_kb * 1024;
		acc_bytes = core.caps.acc_kb * 1024;
		param_bytes = core.caps.param_kb * 1024;
		dma_bytes = core.caps.dma_bytes;
		ring.host = mem.data();
		ring.dev_addr = kDevBase;
		ring.size = kRingEntries * NPU_HW_DESC_BYTES;
		ring.flags = NPU_HW_BUF_DEV_READ;
		setup();
	}
	~Dev()
	{
		if (hw)
			npu_hw_close(hw);
	}
	uint32_t rd(uint32_t off)
	{
		uint32_t v = 0xDEADBEEF;
		EXPECT_EQ(npu_sim_reg_read(sim, off, &v), 0) << "off=" << off;
		return v;
	}
	void wr(uint32_t off, uint32_t v)
	{
		EXPECT_EQ(npu_sim_reg_write(sim, off, v), 0) << "off=" << off;
	}
	// The post-open state (also the recovery sequence after a soft reset):
	// ring, interrupts, watchdog off, fetching on (npu_dev_ring_init), and
	// window 0 over the first win_size bytes, every other window closed.
	void setup(uint64_t win_size = kMemBytes)
	{
		const npu_dev_window win = {kDevBase, win_size,
		                            NPU_REG_WIN_CTRL_READ_MASK |
		                                    NPU_REG_WIN_CTRL_WRITE_MASK};
		EXPECT_EQ(npu_dev_ring_init(&core, &ring, kRingEntries, 0), NPU_OK);
		EXPECT_EQ(npu_dev_set_windows(&core, &win, 1), NPU_OK);
	}
	// Append descriptors and ring the doorbell.
	void publish(const std::vector<Desc> &ds)
	{
		for (const Desc &d : ds)
			EXPECT_EQ(npu_dev_ring_put(&core, d.w, 0), NPU_OK);
		EXPECT_EQ(npu_dev_ring_submit(&core), NPU_OK);
	}
	// Run until every descriptor has retired (RING_HEAD == tail,
	// npu_dev_drain; every IRQ on the way acknowledged); returns
	// NPU_REG_IRQ_STATUS_DONE_MASK, the IRQ_STATUS of an error, or 0 when
	// no interrupt came in time.
	uint32_t drain()
	{
		return status(npu_dev_drain(&core, kWaitMs));
	}
	// publish, then drain.
	uint32_t submit(const std::vector<Desc> &ds)
	{
		publish(ds);
		return drain();
	}
	// Run until the IRQ line is high (at once if it already is) and
	// acknowledge: the IRQ_STATUS read, or as drain.
	uint32_t wait_irq()
	{
		uint32_t st = 0;
		const int rc = npu_dev_wait_irq(&core, kWaitMs, &st);
		return rc == NPU_OK ? st : status(rc);
	}
	uint32_t head()
	{
		uint32_t h = ~0u;
		EXPECT_EQ(npu_dev_read_head(&core, &h), NPU_OK);
		return h;
	}
	uint64_t dev(size_t off) const
	{
		return kDevBase + off;
	}

	npu_hw *hw = nullptr;
	npu_sim *sim = nullptr;
	npu_dev core;
	npu_hw_buf ring = {};
	bool ok = false;
	std::vector<uint8_t> mem;
	uint32_t rows = 0, cols = 0, lanes = 0, dma_bytes = 0;
	uint32_t act_bytes = 0, wgt_bytes = 0, acc_bytes = 0, param_bytes = 0;

      private:
	uint32_t status(int rc)
	{
		if (rc == NPU_OK)
			return NPU_REG_IRQ_STATUS_DONE_MASK;
		return core.err.kind == NPU_DEV_ERR_FAULT ? core.err.irq_status : 0;
	}
};

const uint32_t kJobFlagsLast = NPU_HW_FLAG_PUSH_NEXT;

struct ConvCase {
	bool dw;
	int h, w, ic, oc, kh, kw, sh, sw, pt, pl, oh, ow, groups, zp;
};

// The conv descriptor fields of case k (opcode, shape, kernel, groups,
// input zero point); the caller adds flags, addresses, strides and the
// output quantization.
npu_desc_conv conv_case(const ConvCase &k)
{
	const int G = k.groups;
	npu_desc_conv cv{};
	cv.opcode = k.dw ? NPU_HW_OP_DW_CONV : NPU_HW_OP_PW_CONV;
	cv.in_h = k.h;
	cv.in_w = k.w;
	cv.in_c = k.dw ? k.ic : k.ic / G;
	cv.out_c = k.dw ? k.oc : k.oc / G;
	cv.out_h = k.oh;
	cv.out_w = k.ow;
	cv.kh = k.kh;
	cv.kw = k.kw;
	cv.stride_h = k.sh;
	cv.stride_w = k.sw;
	cv.pad_t = k.pt;
	cv.pad_l = k.pl;
	cv.groups = k.dw ? 0 : G;
	cv.in_zp = k.zp;
	return cv;
}

std::string describe(const ConvCase &k)
{
	char b[200];
	std::snprintf(b, sizeof b,
	              "%s h=%d w=%d ic=%d oc=%d k=%dx%d s=%d,%d pad=%d,%d out=%dx%d g=%d zp=%d",
	              k.dw ? "dw" : "pw", k.h, k.w, k.ic, k.oc, k.kh, k.kw, k.sh, k.sw, k.pt, k.pl,
	              k.oh, k.ow, k.groups, k.zp);
	return b;
}

// Runs one conv job on the device and compares the whole int32 output.
// Returns false (with a gtest failure) on a mismatch, timeout or error.
bool run_conv(Dev &d, const ConvCase &k, TbRng &rng, uint64_t *macs = nullptr)
{
	const int L = d.lanes, R = d.rows, C = d.cols;
	const int G = k.groups;
	const int icg = k.ic / G, ocg = k.oc / G;
	// SRAM geometry (words): DW uses lanes-wide words, PW cols/rows.
	const int icgs = k.dw ? (k.ic + L - 1) / L : (icg + C - 1) / C;
	const int ocgs = k.dw ? icgs : (ocg + R - 1) / R;
	const int in_pix = k.dw ? icgs : G * icgs;  // ACT words per pixel
	const int out_pix = k.dw ? icgs : G * ocgs; // ACC words per pixel
	const int act_w = C;                        // ACT word bytes
	const int acc_w = R * 4;                    // ACC word bytes

	std::vector<int8_t> in(static_cast<size_t>(k.h) * k.w * k.ic);
	std::vector<int8_t> wt(static_cast<size_t>(k.oc) * k.kh * k.kw * (k.dw ? 1 : icg));
	std::vector<int32_t> bias(k.oc), ref(static_cast<size_t>(k.oh) * k.ow * k.oc);
	for (auto &v : in)
		v = static_cast<int8_t>(rng.u32());
	for (auto &v : wt)
		v = static_cast<int8_t>(rng.u32());
	for (auto &v : bias)
		v = static_cast<int32_t>(rng.range(-(1 << 20), 1 << 20));
	npu_ref_conv_params p = {};
	p.in_h = k.h;
	p.in_w = k.w;
	p.in_c = k.ic;
	p.out_h = k.oh;
	p.out_w = k.ow;
	p.out_c = k.oc;
	p.kh = k.kh;
	p.kw = k.kw;
	p.stride_h = k.sh;
	p.stride_w = k.sw;
	p.pad_t = k.pt;
	p.pad_l = k.pl;
	p.groups = k.dw ? k.ic : G;
	p.in_zp = k.zp;
	npu_ref_s8_conv2d_acc32(&p, in.data(), wt.data(), bias.data(), ref.data());

	// Host buffers: input NHWC, engine-order weight and bias images, output.
	size_t off_in = kDataOff, off_w = off_in + ((in.size() + 4095) & ~size_t(4095));
	std::vector<uint8_t> wimg, bimg;
	if (k.dw) {
		wimg.assign(static_cast<size_t>(k.kh) * k.kw * icgs * L, 0);
		for (int c = 0; c < k.ic; ++c)
			for (int t = 0; t < k.kh * k.kw; ++t)
				wimg[static_cast<size_t>(t * icgs + c / L) * L + c % L] =
				        static_cast<uint8_t>(
				                wt[static_cast<size_t>(c) * k.kh * k.kw + t]);
		bimg.assign(static_cast<size_t>(icgs) * L * 4, 0);
		for (int c = 0; c < k.ic; ++c)
			std::memcpy(&bimg[static_cast<size_t>(c) * 4], &bias[c], 4);
	} else {
		const size_t rowb = static_cast<size_t>(R) * C;
		const int rows_per_g = ocgs * k.kh * k.kw * icgs;
		wimg.assign(static_cast<size_t>(G) * rows_per_g * rowb, 0);
		for (int g = 0; g < G; ++g)
			for (int oo = 0; oo < ocg; ++oo)
				for (int ky = 0; ky < k.kh; ++ky)
					for (int kx = 0; kx < k.kw; ++kx)
						for (int ii = 0; ii < icg; ++ii) {
							size_t row = static_cast<size_t>(g) *
							                     rows_per_g +
							             ((oo / R * k.kh + ky) * k.kw +
							              kx) * icgs +
							             ii / C;
							int oc = g * ocg + oo;
							wimg[row * rowb + (oo % R) * C + ii % C] =
							        static_cast<uint8_t>(
							                wt[((static_cast<size_t>(
							                             oc) *
							                             k.kh +
							                     ky) * k.kw +
							                    kx) * icg +
							                   ii]);
						}
		bimg.assign(static_cast<size_t>(G) * ocgs * R * 4, 0);
		for (int g = 0; g < G; ++g)
			for (int oo = 0; oo < ocg; ++oo)
				std::memcpy(&bimg[(static_cast<size_t>(g) * ocgs * R + oo) * 4],
				            &bias[g * ocg + oo], 4);
	}
	size_t off_b = off_w + ((wimg.size() + 4095) & ~size_t(4095));
	size_t off_o = off_b + ((bimg.size() + 4095) & ~size_t(4095));
	size_t out_bytes = static_cast<size_t>(k.oh) * k.ow * out_pix * acc_w;
	if (off_o + out_bytes + 4096 > kMemBytes)
		return true; // does not fit the host buffer: skip (never in practice)
	std::memcpy(&d.mem[off_in], in.data(), in.size());
	std::memcpy(&d.mem[off_w], wimg.data(), wimg.size());
	std::memcpy(&d.mem[off_b], bimg.data(), bimg.size());
	std::memset(&d.mem[off_o], 0xA5, out_bytes + 4096); // poison, incl. a guard page

	std::vector<Desc> job;
	// Input: one load per group, each group's channels from a word boundary.
	const int groups_ld = k.dw ? 1 : G;
	const int ch_ld = k.dw ? k.ic : icg;
	for (int g = 0; g < groups_ld; ++g)
		job.push_back(dma(NPU_HW_OP_DMA_LOAD, d.dev(off_in + g * ch_ld), NPU_HW_SRAM_ACT,
		                  g * icgs * act_w, ch_ld, k.w, k.h, 1, k.ic, k.w * k.ic,
		                  in_pix * act_w, k.w * in_pix * act_w));
	// Weights and bias: contiguous images, as rows of one WGT row each.
	const uint32_t wrowb = k.dw ? L : R * C;
	job.push_back(dma(NPU_HW_OP_DMA_LOAD, d.dev(off_w), NPU_HW_SRAM_WGT, 0, wrowb,
	                  wimg.size() / wrowb, 1, 1, wrowb, 0, wrowb, 0));
	job.push_back(dma(NPU_HW_OP_DMA_LOAD, d.dev(off_b), NPU_HW_SRAM_PARAM, 0, bimg.size(), 1, 1,
	                  1, 0, 0, 0, 0, kJobFlagsLast));
	npu_desc_conv cv = conv_case(k);
	cv.flags = NPU_HW_FLAG_POP_PREV | NPU_HW_FLAG_PUSH_NEXT;
	cv.act_min = -128; // unused without EPILOGUE
	cv.act_max = 127;
	cv.in_row_stride = k.w * in_pix * act_w;
	cv.in_pix_stride = in_pix * act_w;
	cv.out_row_stride = k.ow * out_pix;
	cv.out_pix_stride = out_pix;
	job.push_back(conv(cv));
	job.push_back(dma(NPU_HW_OP_DMA_STORE, d.dev(off_o), NPU_HW_SRAM_ACC, 0, out_pix * acc_w,
	                  k.ow, k.oh, 1, out_pix * acc_w, k.ow * out_pix * acc_w, out_pix * acc_w,
	                  k.ow * out_pix * acc_w, NPU_HW_FLAG_POP_PREV));
	job.push_back(simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ));

	uint32_t st = d.submit(job);
	if (st != NPU_REG_IRQ_STATUS_DONE_MASK) {
		ADD_FAILURE() << describe(k) << ": IRQ_STATUS " << st << " ERR_CODE "
		              << d.rd(NPU_REG_ERR_CODE) << " ERR_INDEX " << d.rd(NPU_REG_ERR_INDEX)
		              << " ERR_ADDR " << std::hex << d.rd(NPU_REG_ERR_ADDR_LO);
		return false;
	}
	for (int y = 0; y < k.oh; ++y)
		for (int x = 0; x < k.ow; ++x)
			for (int oc = 0; oc < k.oc; ++oc) {
				int word, lane;
				if (k.dw) {
					word = oc / L;
					lane = oc % L;
				} else {
					int g = oc / ocg, oo = oc % ocg;
					word = g * ocgs + oo / R;
					lane = oo % R;
				}
				int32_t got;
				std::memcpy(&got,
				            &d.mem[off_o +
				                   ((static_cast<size_t>(y) * k.ow + x) * out_pix +
				                    word) * acc_w +
				                   lane * 4],
				            4);
				int32_t want = ref[(static_cast<size_t>(y) * k.ow + x) * k.oc + oc];
				if (got != want) {
					ADD_FAILURE() << describe(k) << ": first mismatch y=" << y
					              << " x=" << x << " c=" << oc << " got " << got
					              << " want " << want;
					return false;
				}
			}
	for (size_t i = 0; i < 4096; ++i)
		if (d.mem[off_o + out_bytes + i] != 0xA5) {
			ADD_FAILURE() << describe(k) << ": write past the output at +" << i;
			return false;
		}
	if (macs)
		*macs += static_cast<uint64_t>(k.oh) * k.ow * k.oc * k.kh * k.kw * (k.dw ? 1 : icg);
	return true;
}

// A random case that fits the device's SRAMs.
ConvCase random_case(const Dev &d, bool dw, TbRng &rng)
{
	static const int gs[] = {1, 1, 2, 3, 4, 8};
	for (;;) {
		ConvCase k = {};
		k.dw = dw;
		if (dw) {
			k.kh = k.kw = rng.range(0, 2) ? 3 : 5;
			k.sh = k.sw = static_cast<int>(rng.range(1, 2));
			k.ic = k.oc = static_cast<int>(rng.range(1, 3 * d.lanes + 3));
			k.groups = k.ic;
		} else {
			static const int ks[] = {1, 1, 1, 3, 3, 5};
			k.kh = ks[rng.range(0, 5)];
			k.kw = rng.range(0, 4) == 0 ? ks[rng.range(0, 5)] : k.kh;
			k.sh = static_cast<int>(rng.range(1, 2));
			k.sw = rng.range(0, 3) == 0 ? static_cast<int>(rng.range(1, 2)) : k.sh;
			k.groups = gs[rng.range(0, 5)];
			int icg = static_cast<int>(rng.range(1, 2 * d.cols + 3));
			int ocg = static_cast<int>(rng.range(1, 2 * d.rows + 3));
			if (k.groups > 2) {
				icg = static_cast<int>(rng.range(1, d.cols + 2));
				ocg = static_cast<int>(rng.range(1, d.rows + 2));
			}
			k.ic = icg * k.groups;
			k.oc = ocg * k.groups;
		}
		k.h = static_cast<int>(rng.range(1, 13));
		k.w = static_cast<int>(rng.range(1, 13));
		if (!dw && rng.range(0, 9) == 0)
			k.h = k.w = 1, k.kh = k.kw = 1, k.sh = k.sw = 1; // FC-shaped
		k.pt = static_cast<int>(rng.range(0, k.kh - 1));
		k.pl = static_cast<int>(rng.range(0, k.kw - 1));
		int pb = static_cast<int>(rng.range(0, k.kh - 1));
		int pr = static_cast<int>(rng.range(0, k.kw - 1));
		int eh = k.h + k.pt + pb - k.kh, ew = k.w + k.pl + pr - k.kw;
		if (eh < 0 || ew < 0)
			continue;
		k.oh = eh / k.sh + 1;
		k.ow = ew / k.sw + 1;
		k.zp = static_cast<int>(rng.range(-128, 127));
		// Fit: ACT input, WGT rows, ACC output, PARAM bias.
		int L = d.lanes, R = d.rows, C = d.cols, G = k.groups;
		int icgs = dw ? (k.ic + L - 1) / L : (k.ic / G + C - 1) / C;
		int ocgs = dw ? icgs : (k.oc / G + R - 1) / R;
		int in_pix = dw ? icgs : G * icgs, out_pix = dw ? icgs : G * ocgs;
		size_t act = static_cast<size_t>(k.h) * k.w * in_pix * C;
		size_t wgt = dw ? static_cast<size_t>(k.kh) * k.kw * icgs * L
		                : static_cast<size_t>(G) * ocgs * k.kh * k.kw * icgs * R * C;
		size_t acc = static_cast<size_t>(k.oh) * k.ow * out_pix * R * 4;
		size_t par = static_cast<size_t>(out_pix) * R * 4;
		if (act > d.act_bytes || wgt > d.wgt_bytes || acc > d.acc_bytes ||
		    par > d.param_bytes || wgt / (dw ? L : R * C) > 65535)
			continue;
		return k;
	}
}

class SimTest : public ::testing::TestWithParam<const char *>
{
};

TEST_P(SimTest, ResetValues)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	// A fresh device (setup() wrote some registers: check a new one).
	npu_sim *s = nullptr;
	npu_sim_config c = {GetParam(), 0, 0, nullptr};
	ASSERT_EQ(npu_sim_create(&c, &s), 0);
	int checked = 0;
#define X(name, off, count, stride, access, reset, has_reset)                                      \
	if ((has_reset) && std::strcmp(access, "wo") != 0) {                                       \
		for (unsigned i = 0; i < (count); ++i) {                                           \
			uint32_t v = 0xDEADBEEF;                                                   \
			ASSERT_EQ(npu_sim_reg_read(s, (off) + i * (stride), &v), 0) << #name;      \
			EXPECT_EQ(v, (uint32_t)(reset)) << #name << "[" << i << "]";               \
			++checked;                                                                 \
		}                                                                                  \
	}
	NPU_REG_LIST(X)
#undef X
	uint32_t v = 0;
	EXPECT_EQ(npu_sim_reg_read(s, 0xFFC, &v), -1) << "unmapped offset answers an error";
	EXPECT_EQ(npu_sim_reg_read(s, 0x002, &v), -1) << "misaligned offset answers an error";
	ASSERT_EQ(npu_sim_reg_read(s, NPU_REG_CAPS_ENGINES, &v), 0);
	EXPECT_EQ(v, 0x1FFu) << "CP, DMA, PW, DW, REQUANT, ADD, POOL, WDOG, PERF built";
	ASSERT_EQ(npu_sim_reg_read(s, NPU_REG_CAPS0, &v), 0);
	const bool small = std::strcmp(GetParam(), "small") == 0;
	// PW rows, cols, DW lanes, then 4 PPU lanes in both configurations.
	EXPECT_EQ(v, small ? 0x04040404u : 0x04101010u);
	ASSERT_EQ(npu_sim_reg_read(s, NPU_REG_CAPS3, &v), 0);
	EXPECT_EQ((v & NPU_REG_CAPS3_DMA_OUTST_MASK) >> NPU_REG_CAPS3_DMA_OUTST_SHIFT, 5u)
	        << "32 DMA bursts in flight";
	EXPECT_EQ((v & NPU_REG_CAPS3_EPI_LANES_MASK) >> NPU_REG_CAPS3_EPI_LANES_SHIFT,
	          small ? 4u : 8u)
	        << "conv epilogue lanes";
	EXPECT_GT(checked, 20);
	npu_sim_destroy(s);
	npu_sim_config bad = {"huge", 0, 0, nullptr};
	EXPECT_EQ(npu_sim_create(&bad, &s), -1);
}

TEST_P(SimTest, MapRejectsOverlap)
{
	npu_sim *s = nullptr;
	npu_sim_config c = {GetParam(), 0, 0, nullptr};
	ASSERT_EQ(npu_sim_create(&c, &s), 0);
	std::vector<uint8_t> a(8192), b(8192);
	EXPECT_EQ(npu_sim_map(s, 0x1000, a.data(), a.size()), 0);
	EXPECT_EQ(npu_sim_map(s, 0x2000, b.data(), b.size()), -1);
	EXPECT_EQ(npu_sim_map(s, 0x0000, b.data(), 0x1001), -1);
	EXPECT_EQ(npu_sim_map(s, 0x3000, b.data(), b.size()), 0);
	EXPECT_EQ(npu_sim_map(s, 0x9000, b.data(), 0), -1);
	EXPECT_EQ(npu_sim_unmap(s, 0x1000), 0);
	EXPECT_EQ(npu_sim_unmap(s, 0x1000), -1);
	npu_sim_destroy(s);
}

void random_conv_suite(const char *config, bool dw)
{
	Dev d(config);
	ASSERT_TRUE(d.ok);
	TbRng rng(static_cast<uint64_t>(env_int("NPU_TB_SEED", 1, 0)) * 1000 + (dw ? 1 : 2) +
	          (std::strcmp(config, "small") == 0 ? 10 : 0));
	int n = env_int("NPU_SIM_CASES", 130);
	int pass = 0;
	for (int i = 0; i < n; ++i) {
		ConvCase k = random_case(d, dw, rng);
		if (!run_conv(d, k, rng)) {
			ADD_FAILURE() << "case " << i;
			break;
		}
		++pass;
	}
	std::printf("[ %s %s ] %d random cases bit-exact, %" PRIu64 " device cycles\n", config,
	            dw ? "DW_CONV" : "PW_CONV", pass, npu_sim_cycles(d.sim));
}

TEST_P(SimTest, DwConvRandom)
{
	random_conv_suite(GetParam(), true);
}

TEST_P(SimTest, PwConvRandom)
{
	random_conv_suite(GetParam(), false);
}

// Unaligned host addresses, channel offsets and channel strides through a
// LOAD/STORE round trip (ACT SRAM), incl. bursts cut at 4 KiB.
TEST_P(SimTest, DmaStridedRoundTrip)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	TbRng rng(77);
	for (int n = 0; n < 40; ++n) {
		int chans = static_cast<int>(rng.range(1, 70)),
		    cols = static_cast<int>(rng.range(1, 9)),
		    rows = static_cast<int>(rng.range(1, 6));
		int hcs = rng.range(0, 3) == 0 ? static_cast<int>(rng.range(2, 4)) : 1;
		int hps = chans * hcs + static_cast<int>(rng.range(0, 5));
		int hrs = cols * hps + static_cast<int>(rng.range(0, 9));
		int sps = ((chans + 15) & ~15) + 16 * static_cast<int>(rng.range(0, 1));
		int srs = cols * sps;
		int sram =
		        16 * static_cast<int>(rng.range(0, 8)) + static_cast<int>(rng.range(0, 3));
		size_t src =
		        kDataOff + 4096 - static_cast<size_t>(rng.range(1, 200)); // across 4 KiB
		size_t dst = kDataOff + 65536 + static_cast<size_t>(rng.range(0, 4200));
		size_t span = static_cast<size_t>(rows) * hrs + 64;
		for (size_t i = 0; i < span; ++i) {
			d.mem[src + i] = static_cast<uint8_t>(rng.u32());
			d.mem[dst + i] = 0x5A;
		}
		std::vector<Desc> job = {
		        dma(NPU_HW_OP_DMA_LOAD, d.dev(src), NPU_HW_SRAM_ACT, sram, chans, cols,
		            rows, hcs, hps, hrs, sps, srs, NPU_HW_FLAG_PUSH_NEXT),
		        simple(NPU_HW_OP_SYNC, NPU_HW_FLAG_POP_PREV | NPU_HW_FLAG_PUSH_NEXT,
		               NPU_HW_QUEUE_COMPUTE),
		        dma(NPU_HW_OP_DMA_STORE, d.dev(dst), NPU_HW_SRAM_ACT, sram, chans, cols,
		            rows, hcs, hps, hrs, sps, srs, NPU_HW_FLAG_POP_PREV),
		        simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ)};
		ASSERT_EQ(d.submit(job), NPU_REG_IRQ_STATUS_DONE_MASK) << "n=" << n;
		for (int r = 0; r < rows; ++r)
			for (int c = 0; c < cols; ++c)
				for (int ch = 0; ch < chans; ++ch) {
					size_t o =
					        static_cast<size_t>(r) * hrs + c * hps + ch * hcs;
					ASSERT_EQ(d.mem[dst + o], d.mem[src + o])
					        << "n=" << n << " r=" << r << " c=" << c
					        << " ch=" << ch;
					d.mem[dst + o] = 0x5A;
				}
		for (size_t i = 0; i < span; ++i)
			ASSERT_EQ(d.mem[dst + i], 0x5A) << "n=" << n << " stray write at +" << i;
	}
}

TEST_P(SimTest, DmaWindowFault)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	// Window 0 covers only the first 1 MiB; memory above it is mapped but
	// the device may not touch it.
	d.wr(NPU_REG_WIN_SIZE(0), 1u << 20);
	size_t outside = (1u << 20) + 4096;
	std::memset(&d.mem[outside - 64], 0x33, 8192);
	std::vector<Desc> job = {dma(NPU_HW_OP_DMA_LOAD, d.dev(kDataOff), NPU_HW_SRAM_ACT, 0, 64, 4,
	                             1, 1, 64, 0, 64, 0, NPU_HW_FLAG_PUSH_NEXT),
	                         simple(NPU_HW_OP_SYNC,
	                                NPU_HW_FLAG_POP_PREV | NPU_HW_FLAG_PUSH_NEXT,
	                                NPU_HW_QUEUE_COMPUTE),
	                         // The store straddles the window end: its first burst is inside,
	                         // a later one outside.
	                         dma(NPU_HW_OP_DMA_STORE, d.dev((1u << 20) - 128), NPU_HW_SRAM_ACT,
	                             0, 64, 4, 1, 1, 64, 0, 64, 0, NPU_HW_FLAG_POP_PREV),
	                         simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ)};
	uint32_t st = d.submit(job);
	EXPECT_EQ(st & NPU_REG_IRQ_STATUS_ERROR_MASK, NPU_REG_IRQ_STATUS_ERROR_MASK);
	EXPECT_EQ(d.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_DMA_WINDOW);
	EXPECT_EQ(d.rd(NPU_REG_ERR_ADDR_LO), static_cast<uint32_t>(d.dev(1u << 20)));
	EXPECT_EQ(d.rd(NPU_REG_ERR_INDEX), 2u);
	EXPECT_NE(d.rd(NPU_REG_STATUS) & NPU_REG_STATUS_HALTED_MASK, 0u);
	for (size_t i = 64; i < 8192; ++i)
		ASSERT_EQ(d.mem[outside - 64 + i], 0x33) << "written outside the window at +" << i;
	// Descriptor pointing outside every window: a LOAD from there.
	d.wr(NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
	d.setup(1u << 20);
	job = {dma(NPU_HW_OP_DMA_LOAD, 0x1000, NPU_HW_SRAM_ACT, 0, 16, 1, 1, 1, 16, 0, 16, 0),
	       simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ)};
	st = d.submit(job);
	EXPECT_EQ(st, NPU_REG_IRQ_STATUS_ERROR_MASK);
	EXPECT_EQ(d.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_DMA_WINDOW);
	EXPECT_EQ(d.rd(NPU_REG_ERR_ADDR_LO), 0x1000u);
	EXPECT_EQ(d.rd(NPU_REG_ERR_INDEX), 0u);
	// Recovery: soft reset, set up again, a good job.
	d.wr(NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
	d.setup();
	TbRng rng(5);
	EXPECT_TRUE(run_conv(d, random_case(d, true, rng), rng));
}

TEST_P(SimTest, BadDescriptors)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	struct {
		Desc desc;
		uint32_t err;
	} cases[] = {
	        {simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ), NPU_HW_ERR_NONE},
	        {simple(0x7E, 0), NPU_HW_ERR_DESC_OPCODE},
	        {simple(NPU_HW_OP_FENCE, 0x20), NPU_HW_ERR_DESC_FLAGS},
	        {simple(NPU_HW_OP_SYNC, 0, 3), NPU_HW_ERR_DESC_PARAM},
	        {simple(NPU_HW_OP_SYNC, NPU_HW_FLAG_POP_PREV, NPU_HW_QUEUE_LOAD),
	         NPU_HW_ERR_DESC_FLAGS},
	        {dma(NPU_HW_OP_DMA_LOAD, d.dev(kDataOff), 7, 0, 16, 1, 1, 1, 16, 0, 16, 0),
	         NPU_HW_ERR_DESC_PARAM},
	        {dma(NPU_HW_OP_DMA_LOAD, d.dev(kDataOff), NPU_HW_SRAM_PARAM, d.param_bytes - 8, 16,
	             1, 1, 1, 16, 0, 16, 0),
	         NPU_HW_ERR_SRAM_RANGE},
	};
	for (auto &c : cases) {
		Desc v = c.desc;
		std::vector<Desc> job = {v};
		if (c.err == NPU_HW_ERR_NONE) {
			EXPECT_EQ(d.submit(job), NPU_REG_IRQ_STATUS_DONE_MASK);
			continue;
		}
		job.push_back(simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ));
		EXPECT_EQ(d.submit(job), NPU_REG_IRQ_STATUS_ERROR_MASK) << c.err;
		EXPECT_EQ(d.rd(NPU_REG_ERR_CODE), c.err);
		d.wr(NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
		d.setup();
	}
	Desc v = simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ, 0, 2);
	EXPECT_EQ(d.submit({v}), NPU_REG_IRQ_STATUS_ERROR_MASK);
	EXPECT_EQ(d.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_DESC_VERSION);
	EXPECT_EQ(d.rd(NPU_REG_ERR_ADDR_LO),
	          static_cast<uint32_t>(d.dev(NPU_HW_DESC_BYTES * (d.core.tail - 1))));
}

TEST_P(SimTest, WatchdogAndRecovery)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	d.wr(NPU_REG_WDOG_BUDGET, 5000);
	// A compute SYNC that pops a token nobody pushes: the queue hangs.
	std::vector<Desc> job = {simple(NPU_HW_OP_SYNC, NPU_HW_FLAG_POP_PREV, NPU_HW_QUEUE_COMPUTE),
	                         simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ)};
	uint64_t c0 = npu_sim_cycles(d.sim);
	EXPECT_EQ(d.submit(job), NPU_REG_IRQ_STATUS_ERROR_MASK);
	EXPECT_EQ(d.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_WATCHDOG);
	EXPECT_EQ(d.rd(NPU_REG_ERR_INDEX), 0u);
	EXPECT_GE(npu_sim_cycles(d.sim) - c0, 5000u);
	EXPECT_LT(npu_sim_cycles(d.sim) - c0, 6000u);
	d.wr(NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
	EXPECT_EQ(d.rd(NPU_REG_ERR_CODE), 0u);
	EXPECT_EQ(d.rd(NPU_REG_RING_HEAD), 0u);
	d.setup();
	d.wr(NPU_REG_WDOG_BUDGET, 1000000); // a conv may run longer than 5000 cycles
	TbRng rng(9);
	EXPECT_TRUE(run_conv(d, random_case(d, false, rng), rng));
	d.wr(NPU_REG_WDOG_BUDGET, 5000);

	// Memory that stops answering mid-job: the watchdog reports it; after
	// the memory recovers, soft reset drains the old bursts and a new job runs.
	npu_sim_inject_hang(d.sim, 1);
	job = {dma(NPU_HW_OP_DMA_LOAD, d.dev(kDataOff), NPU_HW_SRAM_ACT, 0, 64, 64, 1, 1, 64, 0, 64,
	           0),
	       simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ)};
	EXPECT_EQ(d.submit(job), NPU_REG_IRQ_STATUS_ERROR_MASK);
	EXPECT_EQ(d.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_WATCHDOG);
	d.wr(NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
	npu_sim_inject_hang(d.sim, 0);
	d.setup();
	d.wr(NPU_REG_WDOG_BUDGET, 0);
	EXPECT_TRUE(run_conv(d, random_case(d, true, rng), rng));
}

// npu_top's engine hold (dbg_engine_hold_i, npu_sim_inject_engine_hang):
// a conv whose engine is held when its descriptor is fetched never
// completes and the watchdog reports it; a soft reset releases the engine.
// A hold on the other engine does not touch a conv.
TEST_P(SimTest, EngineHoldWatchdogAndRecovery)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	TbRng rng(11);
	for (bool dw : {false, true}) {
		SCOPED_TRACE(dw ? "dw" : "pw");
		d.wr(NPU_REG_WDOG_BUDGET, 20000);
		npu_sim_inject_engine_hang(d.sim, dw ? NPU_SIM_ENGINE_DW : NPU_SIM_ENGINE_PW, 1);
		::testing::TestPartResultArray failures;
		bool ok;
		{
			::testing::ScopedFakeTestPartResultReporter rep(
			        ::testing::ScopedFakeTestPartResultReporter::
			                INTERCEPT_ONLY_CURRENT_THREAD,
			        &failures);
			ok = run_conv(d, random_case(d, dw, rng), rng);
		}
		EXPECT_FALSE(ok);
		ASSERT_EQ(failures.size(), 1);
		const std::string msg = failures.GetTestPartResult(0).message();
		EXPECT_NE(msg.find("ERR_CODE " + std::to_string(NPU_HW_ERR_WATCHDOG) + " "),
		          std::string::npos)
		        << msg;
		d.wr(NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
		ASSERT_EQ(npu_sim_drain(d.sim, 100000), 0);
		d.setup();
		d.wr(NPU_REG_WDOG_BUDGET, 0);
		npu_sim_inject_engine_hang(d.sim, dw ? NPU_SIM_ENGINE_PW : NPU_SIM_ENGINE_DW, 0);
		EXPECT_TRUE(run_conv(d, random_case(d, dw, rng), rng));
		d.wr(NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
		d.setup();
	}
}

TEST_P(SimTest, BusError)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	npu_sim_inject_bus_error(d.sim, d.dev(kDataOff + 100), 1);
	std::vector<Desc> job = {dma(NPU_HW_OP_DMA_LOAD, d.dev(kDataOff), NPU_HW_SRAM_ACT, 0, 256,
	                             4, 1, 1, 256, 0, 256, 0),
	                         simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ)};
	EXPECT_EQ(d.submit(job), NPU_REG_IRQ_STATUS_ERROR_MASK);
	EXPECT_EQ(d.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_DMA_BUS);
	uint32_t a = d.rd(NPU_REG_ERR_ADDR_LO);
	EXPECT_LE(a, static_cast<uint32_t>(d.dev(kDataOff + 100)));
	EXPECT_GT(a + 16 * d.dma_bytes, static_cast<uint32_t>(d.dev(kDataOff + 100)));
	d.wr(NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
	d.setup();
	TbRng rng(3);
	EXPECT_TRUE(run_conv(d, random_case(d, true, rng), rng));
}

// Regression (the "mobilenet_v3 SE project conv" failure of the whole-schedule
// tests, docs/HARDWARE.md §14.4): IRQ_STATUS.DONE means "a descriptor with
// FLAG_IRQ retired", not "the batch is done". The net test used to stop at
// the first IRQ: a segment's last layer carries the scheduler's FENCE | IRQ
// and the test's own FENCE | IRQ, the second retired after the first IRQ was
// acknowledged -- in fact only once the next batch clocked the device after
// a CPU segment -- and its DONE ended the next layer's wait at once, before
// its store had written anything. The waits now end at RING_HEAD == tail
// (npu_dev_drain, which lib/core and the net test use as well); this checks
// both shapes: an IRQ in the middle of a batch (a store still running
// behind it) and two FENCE | IRQ at a batch end with the device not clocked
// before the next batch.
TEST_P(SimTest, IrqIsNotBatchDone)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	const uint32_t n = 16 * 64; // 64 pixels of 16 channels
	const size_t src = kDataOff, dst = kDataOff + 8192;
	// A scheduler-shaped layer (docs/SCHEDULER.md §2): two SYNCs priming
	// c2l and s2c, load -> compute (a SYNC) -> store with the buffer
	// tokens, the tokens taken back, FENCE.
	const uint32_t pp = NPU_HW_FLAG_POP_PREV, pn = NPU_HW_FLAG_POP_NEXT,
	               up = NPU_HW_FLAG_PUSH_PREV, un = NPU_HW_FLAG_PUSH_NEXT;
	auto copy_job = [&](uint32_t irq_mid, uint32_t irq_end, uint32_t second_end) {
		std::vector<Desc> job = {
		        simple(NPU_HW_OP_SYNC, up, NPU_HW_QUEUE_COMPUTE),
		        simple(NPU_HW_OP_SYNC, up, NPU_HW_QUEUE_COMPUTE),
		        simple(NPU_HW_OP_SYNC, up, NPU_HW_QUEUE_STORE),
		        simple(NPU_HW_OP_SYNC, up, NPU_HW_QUEUE_STORE),
		        dma(NPU_HW_OP_DMA_LOAD, d.dev(src), NPU_HW_SRAM_ACT, 0, 16, 64, 1, 1, 16, 0,
		            16, 0, pn | un),
		        simple(NPU_HW_OP_SYNC, pp | pn | up | un | irq_mid, NPU_HW_QUEUE_COMPUTE),
		        dma(NPU_HW_OP_DMA_STORE, d.dev(dst), NPU_HW_SRAM_ACT, 0, 16, 64, 1, 1, 16,
		            0, 16, 0, pp | up),
		        simple(NPU_HW_OP_SYNC, pn, NPU_HW_QUEUE_LOAD),
		        simple(NPU_HW_OP_SYNC, pn, NPU_HW_QUEUE_LOAD),
		        simple(NPU_HW_OP_SYNC, pn, NPU_HW_QUEUE_COMPUTE),
		        simple(NPU_HW_OP_SYNC, pn, NPU_HW_QUEUE_COMPUTE),
		        simple(NPU_HW_OP_FENCE, irq_end)};
		if (second_end)
			job.push_back(simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ));
		return job;
	};
	auto fill = [&](uint32_t seed) {
		for (uint32_t i = 0; i < n; ++i) {
			d.mem[src + i] = static_cast<uint8_t>(i * 7 + seed);
			d.mem[dst + i] = 0x5A;
		}
	};
	auto copied = [&]() { return std::memcmp(&d.mem[src], &d.mem[dst], n) == 0; };

	// An IRQ in the middle of a batch: the store behind it is still running
	// when the line goes up, so "IRQ seen" would read a stale output.
	fill(1);
	d.publish(copy_job(NPU_HW_FLAG_IRQ, NPU_HW_FLAG_IRQ, 0));
	ASSERT_EQ(d.wait_irq(), NPU_REG_IRQ_STATUS_DONE_MASK);
	EXPECT_NE(d.head(), d.core.tail);
	EXPECT_FALSE(copied()) << "the first IRQ came after the store: the test lost its point";
	ASSERT_EQ(d.drain(), NPU_REG_IRQ_STATUS_DONE_MASK);
	EXPECT_TRUE(copied());

	// Two FENCE | IRQ at the end of a short batch (a scheduler segment's last
	// layer plus the runner's closing fence): the first retires before the
	// second is even fetched (DescDepth 2, ~100 cycles of memory latency),
	// the host takes the first IRQ and runs a CPU segment (the device is not
	// clocked), so the second retires only when the next batch starts and
	// its DONE would end that batch's wait at once.
	fill(2);
	d.publish({simple(NPU_HW_OP_SYNC, 0, NPU_HW_QUEUE_COMPUTE),
	           simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ),
	           simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ)});
	ASSERT_EQ(d.wait_irq(), NPU_REG_IRQ_STATUS_DONE_MASK);
	EXPECT_NE(d.head(), d.core.tail)
	        << "the second FENCE | IRQ retired before the acknowledge: the test lost "
	           "its point";
	d.publish(copy_job(0, NPU_HW_FLAG_IRQ, 0));
	ASSERT_EQ(d.wait_irq(), NPU_REG_IRQ_STATUS_DONE_MASK);
	EXPECT_FALSE(copied()) << "the stale DONE did not come first: the test lost its point";
	ASSERT_EQ(d.drain(), NPU_REG_IRQ_STATUS_DONE_MASK);
	EXPECT_TRUE(copied());

	// The same through Dev::submit (which drains): every output is there.
	for (uint32_t k = 0; k < 3; ++k) {
		d.publish({simple(NPU_HW_OP_SYNC, 0, NPU_HW_QUEUE_COMPUTE),
		           simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ),
		           simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ)});
		ASSERT_EQ(d.wait_irq(), NPU_REG_IRQ_STATUS_DONE_MASK);
		fill(3 + k);
		ASSERT_EQ(d.submit(copy_job(0, NPU_HW_FLAG_IRQ, k & 1)),
		          NPU_REG_IRQ_STATUS_DONE_MASK)
		        << "k=" << k;
		EXPECT_TRUE(copied()) << "k=" << k;
		EXPECT_EQ(d.head(), d.core.tail) << "k=" << k;
	}
}

INSTANTIATE_TEST_SUITE_P(Configs, SimTest, ::testing::Values("default", "small"),
                         [](const ::testing::TestParamInfo<const char *> &i) {
	                         return std::string(i.param);
                         });

// Simulation speed on the default configuration: simulated cycles and
// MACs per host second over a mix of PW and DW layers (run with
// --gtest_also_run_disabled_tests, or make rtl-sim-bench).
TEST(Bench, DISABLED_DefaultConfig)
{
	Dev d("default");
	ASSERT_TRUE(d.ok);
	TbRng rng(1234);
	uint64_t macs = 0;
	uint64_t c0 = npu_sim_cycles(d.sim);
	auto t0 = std::chrono::steady_clock::now();
	ConvCase pw = {false, 14, 14, 64, 64, 1, 1, 1, 1, 0, 0, 14, 14, 1, 3};
	ConvCase pw3 = {false, 12, 12, 32, 32, 3, 3, 1, 1, 1, 1, 12, 12, 1, -5};
	ConvCase dw = {true, 20, 20, 32, 32, 3, 3, 1, 1, 1, 1, 20, 20, 32, 7};
	for (int i = 0; i < 3; ++i) {
		ASSERT_TRUE(run_conv(d, pw, rng, &macs));
		ASSERT_TRUE(run_conv(d, pw3, rng, &macs));
		ASSERT_TRUE(run_conv(d, dw, rng, &macs));
	}
	double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	uint64_t cyc = npu_sim_cycles(d.sim) - c0;
	std::printf("bench default: %" PRIu64 " cycles, %" PRIu64 " MACs in %.2f s host: "
	            "%.0f cycles/s, %.3g MACs/s (%.1f MACs/cycle incl. DMA)\n",
	            cyc, macs, s, cyc / s, macs / s, static_cast<double>(macs) / cyc);
}

} // namespace

// ---- FLAG_EPILOGUE and FLAG_ACCUMULATE + PPU_REQUANT ---------------------------------------
namespace
{

// Per-channel requant parameters as a conv layer has them.
void random_requant(TbRng &rng, int n, std::vector<int32_t> &mult, std::vector<int32_t> &shift)
{
	mult.resize(n);
	shift.resize(n);
	for (int c = 0; c < n; ++c) {
		double m = std::ldexp(1.0 + rng.range(0, 1 << 20) / double(1 << 20),
		                      -static_cast<int>(rng.range(6, 16)));
		int s = 0;
		npui_quantize_multiplier(m, &mult[c], &s);
		shift[c] = s;
	}
}

// One conv job with EPILOGUE (int8 into ACT, stored from ACT), or as a K
// split (ksplit: two PW passes over halves of the input channels, the
// second with ACCUMULATE, then PPU_REQUANT), vs npu_ref_s8_conv2d.
bool run_conv_epi(Dev &d, const ConvCase &k, TbRng &rng, bool ksplit)
{
	const int L = d.lanes, R = d.rows, C = d.cols, G = k.groups;
	const int icg = k.ic / G, ocg = k.oc / G;
	const int icgs = k.dw ? (k.ic + L - 1) / L : (icg + C - 1) / C;
	const int ocgs = k.dw ? icgs : (ocg + R - 1) / R;
	const int in_pix = k.dw ? icgs : G * icgs, out_pix = k.dw ? icgs : G * ocgs;
	const int n = out_pix; // channel groups of the PARAM table
	std::vector<int8_t> in(static_cast<size_t>(k.h) * k.w * k.ic);
	std::vector<int8_t> wt(static_cast<size_t>(k.oc) * k.kh * k.kw * (k.dw ? 1 : icg));
	std::vector<int32_t> bias(k.oc), mult, shift;
	for (auto &v : in)
		v = static_cast<int8_t>(rng.u32());
	for (auto &v : wt)
		v = static_cast<int8_t>(rng.u32());
	for (auto &v : bias)
		v = static_cast<int32_t>(rng.range(-(1 << 16), 1 << 16));
	random_requant(rng, k.oc, mult, shift);
	npu_ref_conv_params p = {};
	p.in_h = k.h;
	p.in_w = k.w;
	p.in_c = k.ic;
	p.out_h = k.oh;
	p.out_w = k.ow;
	p.out_c = k.oc;
	p.kh = k.kh;
	p.kw = k.kw;
	p.stride_h = k.sh;
	p.stride_w = k.sw;
	p.pad_t = k.pt;
	p.pad_l = k.pl;
	p.groups = k.dw ? k.ic : G;
	p.in_zp = k.zp;
	p.out_zp = static_cast<int32_t>(rng.range(-128, 127));
	p.act_min = static_cast<int32_t>(rng.range(-128, -60));
	p.act_max = static_cast<int32_t>(rng.range(60, 127));
	p.mult = mult.data();
	p.shift = shift.data();
	std::vector<int8_t> ref(static_cast<size_t>(k.oh) * k.ow * k.oc);
	npu_ref_s8_conv2d(&p, in.data(), wt.data(), bias.data(), ref.data());

	// Weight image (engine order) and PARAM table: bias at word g, mult at
	// n + g, shift at 2n + g (docs/SCHEDULER.md §3).
	std::vector<uint8_t> wimg, pimg(static_cast<size_t>(3 * n) * R * 4, 0);
	auto put = [&](int word, int lane, int32_t v) {
		std::memcpy(&pimg[(static_cast<size_t>(word) * R + lane) * 4], &v, 4);
	};
	for (int oc = 0; oc < k.oc; ++oc) {
		int word = k.dw ? oc / L : (oc / ocg) * ocgs + (oc % ocg) / R;
		int lane = k.dw ? oc % L : (oc % ocg) % R;
		put(word, lane, bias[oc]);
		put(n + word, lane, mult[oc]);
		put(2 * n + word, lane, shift[oc]);
	}
	// K split: chunk 0 = input-channel groups [0, kc), chunk 1 = the rest.
	const int kc = ksplit ? icgs / 2 : icgs;
	auto pw_img = [&](int c0, int c1) {
		const int cg = c1 - c0;
		const size_t rowb = static_cast<size_t>(R) * C;
		const int rows_per_g = ocgs * k.kh * k.kw * cg;
		std::vector<uint8_t> img(static_cast<size_t>(G) * rows_per_g * rowb, 0);
		for (int g = 0; g < G; ++g)
			for (int oo = 0; oo < ocg; ++oo)
				for (int ky = 0; ky < k.kh; ++ky)
					for (int kx = 0; kx < k.kw; ++kx)
						for (int ii = c0 * C; ii < std::min(icg, c1 * C);
						     ++ii) {
							size_t row = static_cast<size_t>(g) *
							                     rows_per_g +
							             ((oo / R * k.kh + ky) * k.kw +
							              kx) * cg +
							             (ii / C - c0);
							int oc = g * ocg + oo;
							img[row * rowb + (oo % R) * C + ii % C] =
							        static_cast<uint8_t>(
							                wt[((static_cast<size_t>(
							                             oc) *
							                             k.kh +
							                     ky) * k.kw +
							                    kx) * icg +
							                   ii]);
						}
		return img;
	};
	std::vector<uint8_t> wimg2;
	if (k.dw) {
		wimg.assign(static_cast<size_t>(k.kh) * k.kw * icgs * L, 0);
		for (int c = 0; c < k.ic; ++c)
			for (int t = 0; t < k.kh * k.kw; ++t)
				wimg[static_cast<size_t>(t * icgs + c / L) * L + c % L] =
				        static_cast<uint8_t>(
				                wt[static_cast<size_t>(c) * k.kh * k.kw + t]);
	} else {
		wimg = pw_img(0, kc);
		if (ksplit)
			wimg2 = pw_img(kc, icgs);
	}
	const size_t in_act = static_cast<size_t>(k.h) * k.w * in_pix * C;
	const uint32_t out_act = static_cast<uint32_t>((in_act + 63) & ~size_t(63));
	const size_t out_bytes = static_cast<size_t>(k.oh) * k.ow * out_pix * C;
	const uint32_t w2 = static_cast<uint32_t>((wimg.size() + R * C - 1) / (R * C) * (R * C));
	size_t off_in = kDataOff, off_w = off_in + ((in.size() + 4095) & ~size_t(4095));
	size_t off_w2 = off_w + ((wimg.size() + 4095) & ~size_t(4095));
	size_t off_p = off_w2 + ((wimg2.size() + 4095) & ~size_t(4095));
	size_t off_o = off_p + ((pimg.size() + 4095) & ~size_t(4095));
	std::memcpy(&d.mem[off_in], in.data(), in.size());
	std::memcpy(&d.mem[off_w], wimg.data(), wimg.size());
	if (!wimg2.empty())
		std::memcpy(&d.mem[off_w2], wimg2.data(), wimg2.size());
	std::memcpy(&d.mem[off_p], pimg.data(), pimg.size());
	std::memset(&d.mem[off_o], 0xA5, out_bytes + 4096);

	std::vector<Desc> job;
	const int groups_ld = k.dw ? 1 : G, ch_ld = k.dw ? k.ic : icg;
	for (int g = 0; g < groups_ld; ++g)
		job.push_back(dma(NPU_HW_OP_DMA_LOAD, d.dev(off_in + g * ch_ld), NPU_HW_SRAM_ACT,
		                  g * icgs * C, ch_ld, k.w, k.h, 1, k.ic, k.w * k.ic, in_pix * C,
		                  k.w * in_pix * C));
	const uint32_t wrowb = k.dw ? L : R * C;
	job.push_back(dma(NPU_HW_OP_DMA_LOAD, d.dev(off_w), NPU_HW_SRAM_WGT, 0, wrowb,
	                  wimg.size() / wrowb, 1, 1, wrowb, 0, wrowb, 0));
	if (!wimg2.empty())
		job.push_back(dma(NPU_HW_OP_DMA_LOAD, d.dev(off_w2), NPU_HW_SRAM_WGT, w2, wrowb,
		                  wimg2.size() / wrowb, 1, 1, wrowb, 0, wrowb, 0));
	job.push_back(dma(NPU_HW_OP_DMA_LOAD, d.dev(off_p), NPU_HW_SRAM_PARAM, 0, pimg.size(), 1, 1,
	                  1, 0, 0, 0, 0, kJobFlagsLast));
	npu_desc_conv cv = conv_case(k);
	cv.out_zp = p.out_zp;
	cv.act_min = p.act_min;
	cv.act_max = p.act_max;
	cv.in_row_stride = k.w * in_pix * C;
	cv.in_pix_stride = in_pix * C;
	if (!ksplit) {
		cv.flags = NPU_HW_FLAG_POP_PREV | NPU_HW_FLAG_PUSH_NEXT | NPU_HW_FLAG_EPILOGUE;
		cv.out_addr = out_act;
		cv.out_row_stride = k.ow * out_pix * C;
		cv.out_pix_stride = out_pix * C;
		job.push_back(conv(cv));
	} else {
		// Pass 1: chunk 0 from the bias into ACC; pass 2: chunk 1, ACCUMULATE.
		cv.flags = NPU_HW_FLAG_POP_PREV;
		cv.in_c = kc * C;
		cv.out_addr = 0;
		cv.out_row_stride = k.ow * out_pix;
		cv.out_pix_stride = out_pix;
		job.push_back(conv(cv));
		cv.flags = NPU_HW_FLAG_ACCUMULATE;
		cv.in_addr = kc * C;
		cv.wgt_addr = w2;
		cv.in_c = icg - kc * C;
		job.push_back(conv(cv));
		npu_desc_requant rq{};
		rq.flags = NPU_HW_FLAG_PUSH_NEXT;
		rq.dst_addr = out_act;
		rq.pixels = k.oh * k.ow;
		rq.channels = k.oc;
		rq.out_zp = p.out_zp;
		rq.act_min = p.act_min;
		rq.act_max = p.act_max;
		Desc rd;
		EXPECT_EQ(npu_desc_requant_pack(&rq, rd.w), 0);
		job.push_back(rd);
	}
	job.push_back(dma(NPU_HW_OP_DMA_STORE, d.dev(off_o), NPU_HW_SRAM_ACT, out_act, out_pix * C,
	                  k.ow, k.oh, 1, out_pix * C, k.ow * out_pix * C, out_pix * C,
	                  k.ow * out_pix * C, NPU_HW_FLAG_POP_PREV));
	job.push_back(simple(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ));
	std::string what = describe(k) + (ksplit ? " ksplit" : " epilogue");
	uint32_t st = d.submit(job);
	if (st != NPU_REG_IRQ_STATUS_DONE_MASK) {
		ADD_FAILURE() << what << ": IRQ_STATUS " << st << " ERR_CODE "
		              << d.rd(NPU_REG_ERR_CODE) << " ERR_INDEX " << d.rd(NPU_REG_ERR_INDEX);
		return false;
	}
	for (int y = 0; y < k.oh; ++y)
		for (int x = 0; x < k.ow; ++x)
			for (int oc = 0; oc < k.oc; ++oc) {
				int word = k.dw ? oc / L : (oc / ocg) * ocgs + (oc % ocg) / R;
				int lane = k.dw ? oc % L : (oc % ocg) % R;
				int8_t got = static_cast<int8_t>(
				        d.mem[off_o +
				              (static_cast<size_t>(y) * k.ow + x) * out_pix * C +
				              word * C + lane]);
				int8_t want = ref[(static_cast<size_t>(y) * k.ow + x) * k.oc + oc];
				if (got != want) {
					ADD_FAILURE() << what << ": first mismatch y=" << y
					              << " x=" << x << " c=" << oc << " got "
					              << int(got) << " want " << int(want);
					return false;
				}
			}
	for (size_t i = 0; i < 4096; ++i)
		if (d.mem[off_o + out_bytes + i] != 0xA5) {
			ADD_FAILURE() << what << ": write past the output at +" << i;
			return false;
		}
	return true;
}

void epilogue_suite(const char *config, bool dw, bool ksplit)
{
	Dev d(config);
	ASSERT_TRUE(d.ok);
	TbRng rng(static_cast<uint64_t>(env_int("NPU_TB_SEED", 1, 0)) * 1000 + (dw ? 3 : 4) +
	          (ksplit ? 5 : 0) + (std::strcmp(config, "small") == 0 ? 10 : 0));
	int n = std::max(1, env_int("NPU_SIM_CASES", 130) / 2);
	int pass = 0, tries = 0;
	while (pass < n && tries++ < 50 * n) {
		ConvCase k = random_case(d, dw, rng);
		const int G = k.groups;
		const int icgs = dw ? 0 : (k.ic / G + d.cols - 1) / d.cols;
		const int in_pix = dw ? (k.ic + d.lanes - 1) / d.lanes : G * icgs;
		const int out_pix = dw ? in_pix : G * ((k.oc / G + d.rows - 1) / d.rows);
		size_t in_act =
		        (static_cast<size_t>(k.h) * k.w * in_pix * d.cols + 63) & ~size_t(63);
		size_t out_act = static_cast<size_t>(k.oh) * k.ow * out_pix * d.cols;
		if (in_act + out_act > d.act_bytes ||
		    static_cast<size_t>(3 * out_pix) * d.rows * 4 > d.param_bytes)
			continue;
		if (ksplit && (G != 1 || icgs < 2)) // K split: one group, two chunks
			continue;
		if (!run_conv_epi(d, k, rng, ksplit)) {
			ADD_FAILURE() << "case " << pass;
			break;
		}
		++pass;
	}
	std::printf("[ %s %s ] %d random cases bit-exact vs npu_ref_s8_conv2d, %" PRIu64
	            " device cycles\n",
	            config,
	            ksplit ? "PW K-split+PPU_REQUANT"
	            : dw   ? "DW_CONV+EPILOGUE"
	                   : "PW_CONV+EPILOGUE",
	            pass, npu_sim_cycles(d.sim));
	EXPECT_EQ(pass, n);
}

TEST_P(SimTest, DwConvEpilogueRandom)
{
	epilogue_suite(GetParam(), true, false);
}

TEST_P(SimTest, PwConvEpilogueRandom)
{
	epilogue_suite(GetParam(), false, false);
}

TEST_P(SimTest, PwKSplitAccumulateRequant)
{
	epilogue_suite(GetParam(), false, true);
}

} // namespace

// ---- performance counters ------------------------------------------------------------------
namespace
{

uint64_t perf64(Dev &d, uint32_t lo)
{
	uint64_t v = d.rd(lo); // latches the HI half
	return v | static_cast<uint64_t>(d.rd(lo + 4)) << 32;
}

// PERF_PW and PERF_DW count their own engine only. The conv epilogue both
// engines share counts for the engine whose descriptor it finishes, so PW
// work (with or without EPILOGUE) leaves PERF_DW alone and DW work PERF_PW.
TEST_P(SimTest, PerfCountersCountTheirOwnEngine)
{
	Dev d(GetParam());
	ASSERT_TRUE(d.ok);
	TbRng rng(77);
	const int c = static_cast<int>(d.cols), r = static_cast<int>(d.rows);
	const int l = static_cast<int>(d.lanes);
	const ConvCase pw = {false, 8, 8, 2 * c, 2 * r, 1, 1, 1, 1, 0, 0, 8, 8, 1, 3};
	const ConvCase dw = {true, 8, 8, 2 * l, 2 * l, 3, 3, 1, 1, 1, 1, 8, 8, 2 * l, -5};
	d.wr(NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK | NPU_REG_CTRL_PERF_CLEAR_MASK);

	ASSERT_TRUE(run_conv_epi(d, pw, rng, false));
	const uint64_t pw_epi = perf64(d, NPU_REG_PERF_PW_LO);
	EXPECT_GT(pw_epi, 0u);
	EXPECT_EQ(perf64(d, NPU_REG_PERF_DW_LO), 0u) << "PW_CONV+EPILOGUE raised PERF_DW";
	ASSERT_TRUE(run_conv(d, pw, rng));
	const uint64_t pw_all = perf64(d, NPU_REG_PERF_PW_LO);
	EXPECT_GT(pw_all, pw_epi);
	EXPECT_EQ(perf64(d, NPU_REG_PERF_DW_LO), 0u) << "PW_CONV raised PERF_DW";

	ASSERT_TRUE(run_conv_epi(d, dw, rng, false));
	const uint64_t dw_epi = perf64(d, NPU_REG_PERF_DW_LO);
	EXPECT_GT(dw_epi, 0u);
	EXPECT_EQ(perf64(d, NPU_REG_PERF_PW_LO), pw_all) << "DW_CONV+EPILOGUE raised PERF_PW";
	// One compute queue: the engines never overlap, and the device was busy
	// for each of their cycles.
	EXPECT_GE(perf64(d, NPU_REG_PERF_BUSY_LO), pw_all + dw_epi);
	std::printf("[ %s ] PERF_PW %" PRIu64 " (PW+EPILOGUE %" PRIu64 "), PERF_DW %" PRIu64
	            ", PERF_BUSY %" PRIu64 "\n",
	            GetParam(), pw_all, pw_epi, dw_epi, perf64(d, NPU_REG_PERF_BUSY_LO));
}

} // namespace
