// Unit test of rtl-sim/rtl/npu_csr.sv at its default parameters, through
// the register offsets of the generated driver/npu_regs.h (so the RTL, the
// header and the .def they both come from are checked to agree).
//
// Covers: reset values of every register with a known reset, CAPS from the
// parameters, read/write masks, read-only and unmapped/misaligned accesses,
// doorbell and ring-configuration error, head advance and wrap, DONE and
// ERROR interrupts with mask and ack, first-error latching, watchdog fire
// and non-fire, soft reset (what it clears and what it keeps), DMA window
// outputs, performance counters with the LO/HI latch and PERF_CLEAR.
// Exit status 1 on any failure; the last line is "csr: N passed, N failed".
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>

#include "Vnpu_csr.h"
#include "driver/npu_regs.h"
#include "tb_util.h"
#include "verilated.h"

namespace
{

class CsrTb
{
      public:
	CsrTb() : ctx_(new VerilatedContext), top_(new Vnpu_csr(ctx_.get()))
	{
		Vnpu_csr &t = *top_;
		t.clk_i = 0;
		t.rst_ni = 0;
		t.reg_req_i = 0;
		t.retire_i = 0;
		t.retire_irq_i = 0;
		t.err_valid_i = 0;
		t.busy_i = 0;
		t.rd_bytes_i = 0;
		t.wr_bytes_i = 0;
		t.stall_dep_i = 0;
		t.stall_mem_i = 0;
		t.eval();
		tick();
		t.rst_ni = 1;
		t.eval();
	}
	~CsrTb()
	{
		top_->final();
	}

	Vnpu_csr &t()
	{
		return *top_;
	}

	// One clock: inputs already set (clock low); rising edge; back low.
	void tick()
	{
		top_->clk_i = 1;
		top_->eval();
		top_->clk_i = 0;
		top_->eval();
		++cycles_;
	}

	// Bus access: request in one cycle, response the next.
	uint32_t access(bool we, uint32_t addr, uint32_t wdata, bool *err)
	{
		top_->reg_req_i = 1;
		top_->reg_we_i = we;
		top_->reg_addr_i = addr;
		top_->reg_wdata_i = wdata;
		tick();
		top_->reg_req_i = 0;
		top_->eval();
		if (!top_->reg_rvalid_o)
			std::printf("note: no response at %#x\n", addr);
		if (err)
			*err = top_->reg_err_o;
		return top_->reg_rdata_o;
	}
	uint32_t rd(uint32_t addr, bool *err = nullptr)
	{
		return access(false, addr, 0, err);
	}
	void wr(uint32_t addr, uint32_t v, bool *err = nullptr)
	{
		access(true, addr, v, err);
	}

	uint64_t cycles() const
	{
		return cycles_;
	}

      private:
	std::unique_ptr<VerilatedContext> ctx_;
	std::unique_ptr<Vnpu_csr> top_;
	uint64_t cycles_ = 0;
};

TbTally tally;
char msg[256];

#define EXPECT_EQ(got, want, ...)                                                                  \
	do {                                                                                       \
		uint64_t g_ = (got), w_ = (want);                                                  \
		std::snprintf(msg, sizeof msg, "%s:%d: " __VA_ARGS__);                             \
		char full_[400];                                                                   \
		std::snprintf(full_, sizeof full_, "%s got %#" PRIx64 " want %#" PRIx64, msg, g_,  \
		              w_);                                                                 \
		tally.check(g_ == w_, full_);                                                      \
	} while (0)

// Default parameters of npu_csr (the testbench builds it without -G).
constexpr uint32_t kCaps0 = 16u | 16u << 8 | 16u << 16 | 4u << 24; // 4 PPU lanes
constexpr uint32_t kCaps1 = 128u | 128u << 16;
constexpr uint32_t kCaps2 = 64u | 8u << 16;
// 8-byte DMA, 4 windows, 2^5 = 32 bursts in flight, 32 address bits, 8
// epilogue lanes.
constexpr uint32_t kCaps3 = 8u | 4u << 8 | 5u << 12 | 32u << 16 | 8u << 24;
constexpr uint32_t kEngines = 0x190;
constexpr unsigned kWindows = 4;

void test_reset_values()
{
	CsrTb tb;
#define CHECK_RESET(name, off, count, stride, access, reset, known)                                \
	if (known && std::strcmp(access, "wo") != 0 && std::strcmp(access, "w1c") != 0) {          \
		for (unsigned i = 0; i < (count); ++i) {                                           \
			bool err = true;                                                           \
			uint32_t v = tb.rd((off) + i * (stride), &err);                            \
			EXPECT_EQ(v, reset, "reset NPU_REG_" #name "[%u]", __FILE__, __LINE__, i); \
			EXPECT_EQ(err, 0, "reset read error NPU_REG_" #name, __FILE__, __LINE__);  \
		}                                                                                  \
	}
	NPU_REG_LIST(CHECK_RESET)
#undef CHECK_RESET
	EXPECT_EQ(tb.rd(NPU_REG_VERSION),
	          NPU_HW_VERSION_MINOR | NPU_HW_VERSION_MAJOR << 8 | NPU_HW_DESC_VERSION << 16,
	          "VERSION", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_CAPS0), kCaps0, "CAPS0", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_CAPS1), kCaps1, "CAPS1", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_CAPS2), kCaps2, "CAPS2", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_CAPS3), kCaps3, "CAPS3", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_CAPS_ENGINES), kEngines, "CAPS_ENGINES", __FILE__, __LINE__);
	EXPECT_EQ((tb.rd(NPU_REG_CAPS3) & NPU_REG_CAPS3_NUM_WINDOWS_MASK) >>
	                  NPU_REG_CAPS3_NUM_WINDOWS_SHIFT,
	          kWindows, "CAPS3.NUM_WINDOWS", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_STATUS), 0, "STATUS idle", __FILE__, __LINE__);
	EXPECT_EQ(tb.t().irq_o, 0, "irq_o after reset", __FILE__, __LINE__);
}

void test_read_write()
{
	CsrTb tb;
	bool err = true;
	struct {
		uint32_t off, wval, rval;
	} rw[] = {
	        {NPU_REG_RING_BASE_LO, 0xFFFFFFFF, 0xFFFFFFC0}, // 64-byte aligned
	        {NPU_REG_RING_BASE_HI, 0x12345678, 0x12345678},
	        {NPU_REG_RING_SIZE, 0xFFFFFFFF, 0x1FFFF},
	        {NPU_REG_RING_TAIL, 0xABCD1234, 0x1234},
	        {NPU_REG_IRQ_MASK, 0xFFFFFFFF, 0x3},
	        {NPU_REG_WDOG_BUDGET, 0xDEADBEEF, 0xDEADBEEF},
	        {NPU_REG_CTRL, 0xFFFFFFF9, NPU_REG_CTRL_ENABLE_MASK}, // pulses read 0
	        {NPU_REG_DOORBELL, 0, 0},
	        {NPU_REG_IRQ_ACK, 0xFFFFFFFF, 0},
	};
	for (auto &r : rw) {
		tb.wr(r.off, r.wval, &err);
		EXPECT_EQ(err, 0, "write error at %#x", __FILE__, __LINE__, r.off);
		EXPECT_EQ(tb.rd(r.off), r.rval, "readback at %#x", __FILE__, __LINE__, r.off);
	}
	tb.wr(NPU_REG_CTRL, 0);
	// Read-only registers ignore writes.
	const uint32_t ro[] = {NPU_REG_ID,        NPU_REG_CAPS0,  NPU_REG_RING_HEAD,
	                       NPU_REG_ERR_CODE,  NPU_REG_STATUS, NPU_REG_WDOG_COUNT,
	                       NPU_REG_IRQ_STATUS};
	for (uint32_t off : ro) {
		uint32_t before = tb.rd(off);
		tb.wr(off, 0x5A5A5A5A, &err);
		EXPECT_EQ(err, 0, "ro write error flag at %#x", __FILE__, __LINE__, off);
		EXPECT_EQ(tb.rd(off), before, "ro register changed at %#x", __FILE__, __LINE__,
		          off);
	}
	// Unmapped and misaligned addresses answer with an error.
	const uint32_t bad[] = {0x01C, 0x048, 0x080, 0x0FC, 0x180, 0x258, 0xFFC, 0x002, 0x041};
	for (uint32_t off : bad) {
		uint32_t v = tb.rd(off, &err);
		EXPECT_EQ(err, 1, "no error reading %#x", __FILE__, __LINE__, off);
		EXPECT_EQ(v, 0, "unmapped read data at %#x", __FILE__, __LINE__, off);
		tb.wr(off, 0xFFFFFFFF, &err);
		EXPECT_EQ(err, 1, "no error writing %#x", __FILE__, __LINE__, off);
	}
	// Windows: implemented slots store and drive the outputs; the rest read 0.
	for (unsigned i = 0; i < NPU_HW_MAX_WINDOWS; ++i) {
		tb.wr(NPU_REG_WIN_BASE_LO(i), 0x1000u * (i + 1));
		tb.wr(NPU_REG_WIN_BASE_HI(i), i);
		tb.wr(NPU_REG_WIN_SIZE(i), 0x100u + i);
		tb.wr(NPU_REG_WIN_CTRL(i), 0xFFFFFFFC | (i & 3));
	}
	for (unsigned i = 0; i < NPU_HW_MAX_WINDOWS; ++i) {
		bool impl = i < kWindows;
		EXPECT_EQ(tb.rd(NPU_REG_WIN_BASE_LO(i), &err), impl ? 0x1000u * (i + 1) : 0,
		          "WIN_BASE_LO(%u)", __FILE__, __LINE__, i);
		EXPECT_EQ(err, 0, "WIN read error %u", __FILE__, __LINE__, i);
		EXPECT_EQ(tb.rd(NPU_REG_WIN_BASE_HI(i)), impl ? i : 0, "WIN_BASE_HI(%u)", __FILE__,
		          __LINE__, i);
		EXPECT_EQ(tb.rd(NPU_REG_WIN_SIZE(i)), impl ? 0x100u + i : 0, "WIN_SIZE(%u)",
		          __FILE__, __LINE__, i);
		EXPECT_EQ(tb.rd(NPU_REG_WIN_CTRL(i)), impl ? (i & 3) : 0, "WIN_CTRL(%u)", __FILE__,
		          __LINE__, i);
		if (impl) {
			const uint32_t *base = &tb.t().win_base_o[0];
			uint64_t b = base[2 * i] | static_cast<uint64_t>(base[2 * i + 1]) << 32;
			EXPECT_EQ(b, (static_cast<uint64_t>(i) << 32) | 0x1000u * (i + 1),
			          "win_base_o[%u]", __FILE__, __LINE__, i);
			EXPECT_EQ(tb.t().win_size_o[i], 0x100u + i, "win_size_o[%u]", __FILE__,
			          __LINE__, i);
			EXPECT_EQ((tb.t().win_rd_o >> i) & 1, i & 1, "win_rd_o[%u]", __FILE__,
			          __LINE__, i);
			EXPECT_EQ((tb.t().win_wr_o >> i) & 1, (i >> 1) & 1, "win_wr_o[%u]",
			          __FILE__, __LINE__, i);
		}
	}
}

// Ring of 8 entries, enabled, IRQs unmasked.
void setup_ring(CsrTb &tb, uint32_t tail)
{
	tb.wr(NPU_REG_RING_BASE_LO, 0x80000000);
	tb.wr(NPU_REG_RING_SIZE, 8);
	tb.wr(NPU_REG_IRQ_MASK, NPU_REG_IRQ_STATUS_DONE_MASK | NPU_REG_IRQ_STATUS_ERROR_MASK);
	tb.wr(NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK);
	tb.wr(NPU_REG_RING_TAIL, tail);
}

void retire(CsrTb &tb, bool irq)
{
	tb.t().retire_i = 1;
	tb.t().retire_irq_i = irq;
	tb.tick();
	tb.t().retire_i = 0;
	tb.t().retire_irq_i = 0;
	tb.t().eval();
}

void test_ring_and_irq()
{
	CsrTb tb;
	setup_ring(tb, 3);
	// Doorbell with a good configuration: one pulse on doorbell_o.
	tb.t().reg_req_i = 1;
	tb.t().reg_we_i = 1;
	tb.t().reg_addr_i = NPU_REG_DOORBELL;
	tb.t().reg_wdata_i = 1;
	tb.tick();
	tb.t().reg_req_i = 0;
	tb.t().eval();
	EXPECT_EQ(tb.t().doorbell_o, 1, "doorbell pulse", __FILE__, __LINE__);
	tb.tick();
	EXPECT_EQ(tb.t().doorbell_o, 0, "doorbell pulse is one cycle", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_STATUS) & NPU_REG_STATUS_BUSY_MASK, NPU_REG_STATUS_BUSY_MASK,
	          "busy with pending work", __FILE__, __LINE__);
	// Retire 3 (the last with IRQ): head follows, DONE raises the line.
	retire(tb, false);
	retire(tb, false);
	EXPECT_EQ(tb.t().irq_o, 0, "no irq before the flagged retire", __FILE__, __LINE__);
	retire(tb, true);
	EXPECT_EQ(tb.rd(NPU_REG_RING_HEAD), 3, "head after 3 retires", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_IRQ_STATUS), NPU_REG_IRQ_STATUS_DONE_MASK, "DONE latched", __FILE__,
	          __LINE__);
	EXPECT_EQ(tb.t().irq_o, 1, "irq line", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_STATUS) & NPU_REG_STATUS_BUSY_MASK, 0, "idle when head == tail",
	          __FILE__, __LINE__);
	// Masked: status stays, line drops; unmasked again: line returns; ack clears.
	tb.wr(NPU_REG_IRQ_MASK, 0);
	tb.tick();
	EXPECT_EQ(tb.t().irq_o, 0, "masked irq line", __FILE__, __LINE__);
	tb.wr(NPU_REG_IRQ_MASK, 3);
	tb.tick();
	EXPECT_EQ(tb.t().irq_o, 1, "unmasked irq line", __FILE__, __LINE__);
	tb.wr(NPU_REG_IRQ_ACK, NPU_REG_IRQ_STATUS_DONE_MASK);
	tb.tick();
	EXPECT_EQ(tb.rd(NPU_REG_IRQ_STATUS), 0, "ack clears DONE", __FILE__, __LINE__);
	EXPECT_EQ(tb.t().irq_o, 0, "irq line after ack", __FILE__, __LINE__);
	// Wrap: tail 1 after head 3 in a ring of 8 -> 6 retires bring head to 1.
	tb.wr(NPU_REG_RING_TAIL, 1);
	for (int i = 0; i < 6; ++i)
		retire(tb, false);
	EXPECT_EQ(tb.rd(NPU_REG_RING_HEAD), 1, "head wraps", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_NONE, "no error so far", __FILE__, __LINE__);
}

void test_bad_ring_config()
{
	const uint32_t sizes[] = {0, 6, 8};
	const uint32_t tails[] = {0, 0, 8};
	for (int k = 0; k < 3; ++k) {
		CsrTb tb;
		tb.wr(NPU_REG_RING_SIZE, sizes[k]);
		tb.wr(NPU_REG_RING_TAIL, tails[k]);
		tb.wr(NPU_REG_IRQ_MASK, NPU_REG_IRQ_STATUS_ERROR_MASK);
		tb.wr(NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK);
		tb.wr(NPU_REG_DOORBELL, 1);
		EXPECT_EQ(tb.t().doorbell_o, 0, "no doorbell pulse for bad ring %d", __FILE__,
		          __LINE__, k);
		tb.tick();
		EXPECT_EQ(tb.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_RING_CONFIG, "RING_CONFIG %d",
		          __FILE__, __LINE__, k);
		EXPECT_EQ(tb.rd(NPU_REG_STATUS) & NPU_REG_STATUS_HALTED_MASK,
		          NPU_REG_STATUS_HALTED_MASK, "halted %d", __FILE__, __LINE__, k);
		EXPECT_EQ(tb.t().irq_o, 1, "error irq %d", __FILE__, __LINE__, k);
	}
}

void test_errors_and_soft_reset()
{
	CsrTb tb;
	setup_ring(tb, 5);
	tb.wr(NPU_REG_WDOG_BUDGET, 1000);
	tb.wr(NPU_REG_WIN_SIZE(0), 0x4000);
	retire(tb, false);
	// Two errors in successive cycles: the first is kept.
	tb.t().err_valid_i = 1;
	tb.t().err_code_i = NPU_HW_ERR_DMA_WINDOW;
	tb.t().err_addr_i = 0x123456789ABCull;
	tb.t().err_index_i = 1;
	tb.tick();
	tb.t().err_code_i = NPU_HW_ERR_DMA_BUS;
	tb.t().err_addr_i = 0x42;
	tb.t().err_index_i = 2;
	tb.tick();
	tb.t().err_valid_i = 0;
	tb.t().eval();
	EXPECT_EQ(tb.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_DMA_WINDOW, "first error code", __FILE__,
	          __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_ERR_ADDR_LO), 0x56789ABCu, "err addr lo", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_ERR_ADDR_HI), 0x1234u, "err addr hi", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_ERR_INDEX), 1, "err index", __FILE__, __LINE__);
	EXPECT_EQ(tb.t().halted_o, 1, "halted_o", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_IRQ_STATUS), NPU_REG_IRQ_STATUS_ERROR_MASK, "ERROR irq", __FILE__,
	          __LINE__);
	// A doorbell while halted does nothing.
	tb.wr(NPU_REG_DOORBELL, 1);
	EXPECT_EQ(tb.t().doorbell_o, 0, "no doorbell while halted", __FILE__, __LINE__);
	// Soft reset: one-cycle pulse; "clr" registers reset, "keep" ones kept.
	tb.t().reg_req_i = 1;
	tb.t().reg_we_i = 1;
	tb.t().reg_addr_i = NPU_REG_CTRL;
	tb.t().reg_wdata_i = NPU_REG_CTRL_SOFT_RESET_MASK | NPU_REG_CTRL_ENABLE_MASK;
	tb.tick();
	tb.t().reg_req_i = 0;
	tb.t().eval();
	EXPECT_EQ(tb.t().soft_reset_o, 1, "soft reset pulse", __FILE__, __LINE__);
	tb.tick();
	EXPECT_EQ(tb.t().soft_reset_o, 0, "soft reset pulse is one cycle", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_NONE, "error cleared", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_ERR_ADDR_LO), 0, "err addr cleared", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_STATUS), 0, "not halted, not busy", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_IRQ_STATUS), 0, "irq status cleared", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_CTRL), 0, "enable cleared", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_RING_HEAD), 0, "head cleared", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_RING_TAIL), 0, "tail cleared", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_RING_SIZE), 8, "ring size kept", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_RING_BASE_LO), 0x80000000u, "ring base kept", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_IRQ_MASK), 3, "irq mask kept", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_WDOG_BUDGET), 1000, "wdog budget kept", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_WIN_SIZE(0)), 0x4000, "window kept", __FILE__, __LINE__);
	// The device works again.
	tb.wr(NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK);
	tb.wr(NPU_REG_RING_TAIL, 2);
	tb.wr(NPU_REG_DOORBELL, 1);
	EXPECT_EQ(tb.t().doorbell_o, 1, "doorbell after recovery", __FILE__, __LINE__);
}

// Events from engines in the soft-reset pulse cycle are dropped: the
// device comes out of soft reset clean.
void test_soft_reset_drops_late_events()
{
	CsrTb tb;
	setup_ring(tb, 5);
	tb.t().reg_req_i = 1;
	tb.t().reg_we_i = 1;
	tb.t().reg_addr_i = NPU_REG_CTRL;
	tb.t().reg_wdata_i = NPU_REG_CTRL_SOFT_RESET_MASK;
	tb.tick();
	tb.t().reg_req_i = 0;
	// soft_reset_o is high now; an engine still retires and faults.
	tb.t().retire_i = 1;
	tb.t().retire_irq_i = 1;
	tb.t().err_valid_i = 1;
	tb.t().err_code_i = NPU_HW_ERR_DMA_BUS;
	tb.t().eval();
	EXPECT_EQ(tb.t().soft_reset_o, 1, "in the soft reset pulse", __FILE__, __LINE__);
	tb.tick();
	tb.t().retire_i = 0;
	tb.t().retire_irq_i = 0;
	tb.t().err_valid_i = 0;
	tb.t().eval();
	EXPECT_EQ(tb.rd(NPU_REG_RING_HEAD), 0, "late retire dropped", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_IRQ_STATUS), 0, "late irq dropped", __FILE__, __LINE__);
	EXPECT_EQ(tb.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_NONE, "late error dropped", __FILE__,
	          __LINE__);
	EXPECT_EQ(tb.t().halted_o, 0, "not halted", __FILE__, __LINE__);
}

void test_watchdog()
{
	// Retiring more often than the budget: never fires.
	{
		CsrTb tb;
		setup_ring(tb, 7);
		tb.wr(NPU_REG_WDOG_BUDGET, 50);
		for (int r = 0; r < 6; ++r) {
			for (int i = 0; i < 45; ++i)
				tb.tick();
			retire(tb, false);
		}
		EXPECT_EQ(tb.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_NONE, "watchdog quiet", __FILE__,
		          __LINE__);
		EXPECT_EQ(tb.rd(NPU_REG_RING_HEAD), 6, "head", __FILE__, __LINE__);
	}
	// A hung engine (busy, nothing retires): fires after the budget.
	{
		CsrTb tb;
		tb.wr(NPU_REG_IRQ_MASK, NPU_REG_IRQ_STATUS_ERROR_MASK);
		tb.wr(NPU_REG_WDOG_BUDGET, 100);
		tb.t().busy_i = 1u << 2; // DW busy
		int fired_after = -1;
		for (int i = 0; i < 300 && fired_after < 0; ++i) {
			tb.tick();
			if (tb.t().halted_o)
				fired_after = i + 1;
		}
		EXPECT_EQ(fired_after >= 100 && fired_after <= 103, 1,
		          "watchdog fired after %d cycles", __FILE__, __LINE__, fired_after);
		EXPECT_EQ(tb.rd(NPU_REG_ERR_CODE), NPU_HW_ERR_WATCHDOG, "WATCHDOG code", __FILE__,
		          __LINE__);
		EXPECT_EQ(tb.rd(NPU_REG_STATUS) & NPU_REG_STATUS_DW_BUSY_MASK,
		          NPU_REG_STATUS_DW_BUSY_MASK, "STATUS.DW_BUSY", __FILE__, __LINE__);
		EXPECT_EQ(tb.t().irq_o, 1, "watchdog irq", __FILE__, __LINE__);
		EXPECT_EQ(tb.rd(NPU_REG_WDOG_COUNT), 0, "counter stops when halted", __FILE__,
		          __LINE__);
	}
	// Budget 0 disables it.
	{
		CsrTb tb;
		tb.t().busy_i = 1;
		for (int i = 0; i < 500; ++i)
			tb.tick();
		EXPECT_EQ(tb.t().halted_o, 0, "watchdog off", __FILE__, __LINE__);
	}
}

uint64_t rd64(CsrTb &tb, uint32_t lo)
{
	uint64_t l = tb.rd(lo);
	return l | static_cast<uint64_t>(tb.rd(lo + 4)) << 32;
}

void test_perf()
{
	CsrTb tb;
	tb.wr(NPU_REG_CTRL, NPU_REG_CTRL_PERF_CLEAR_MASK);
	uint64_t c0 = rd64(tb, NPU_REG_PERF_CYCLES_LO);
	EXPECT_EQ(c0 < 8, 1, "cycles after clear: %" PRIu64, __FILE__, __LINE__, c0);
	// 200 cycles with PW busy, 40 of them with 8 bytes read and 3 written,
	// every 4th with a memory stall, every 5th with a dependency stall.
	uint64_t rd = 0, wr = 0, sm = 0, sd = 0;
	for (int i = 0; i < 200; ++i) {
		tb.t().busy_i = 1u << 1;
		tb.t().rd_bytes_i = i < 40 ? 8 : 0;
		tb.t().wr_bytes_i = i < 40 ? 3 : 0;
		tb.t().stall_mem_i = i % 4 == 0;
		tb.t().stall_dep_i = i % 5 == 0;
		rd += tb.t().rd_bytes_i;
		wr += tb.t().wr_bytes_i;
		sm += tb.t().stall_mem_i;
		sd += tb.t().stall_dep_i;
		tb.tick();
	}
	tb.t().busy_i = 0;
	tb.t().rd_bytes_i = 0;
	tb.t().wr_bytes_i = 0;
	tb.t().stall_mem_i = 0;
	tb.t().stall_dep_i = 0;
	tb.t().eval();
	EXPECT_EQ(rd64(tb, NPU_REG_PERF_PW_LO), 200, "PW busy", __FILE__, __LINE__);
	EXPECT_EQ(rd64(tb, NPU_REG_PERF_BUSY_LO), 200, "device busy", __FILE__, __LINE__);
	EXPECT_EQ(rd64(tb, NPU_REG_PERF_DW_LO), 0, "DW idle", __FILE__, __LINE__);
	EXPECT_EQ(rd64(tb, NPU_REG_PERF_RD_BYTES_LO), rd, "rd bytes", __FILE__, __LINE__);
	EXPECT_EQ(rd64(tb, NPU_REG_PERF_WR_BYTES_LO), wr, "wr bytes", __FILE__, __LINE__);
	EXPECT_EQ(rd64(tb, NPU_REG_PERF_STALL_MEM_LO), sm, "mem stalls", __FILE__, __LINE__);
	EXPECT_EQ(rd64(tb, NPU_REG_PERF_STALL_DEP_LO), sd, "dep stalls", __FILE__, __LINE__);
	uint64_t c1 = rd64(tb, NPU_REG_PERF_CYCLES_LO);
	uint64_t c2 = rd64(tb, NPU_REG_PERF_CYCLES_LO);
	EXPECT_EQ(c2 - c1, 2, "cycles advance by 2 per 64-bit read", __FILE__, __LINE__);
	// Drive the byte counter past 2^32 to check the carry and the HI latch.
	uint64_t before = rd64(tb, NPU_REG_PERF_RD_BYTES_LO);
	tb.t().rd_bytes_i = 255;
	long n = static_cast<long>((0x100000000ull - before) / 255 + 3);
	for (long i = 0; i < n; ++i)
		tb.tick();
	tb.t().rd_bytes_i = 0;
	tb.t().eval();
	uint64_t after = rd64(tb, NPU_REG_PERF_RD_BYTES_LO);
	EXPECT_EQ(after >> 32, 1, "counter crossed 2^32", __FILE__, __LINE__);
	EXPECT_EQ(after - before, 255ull * static_cast<uint64_t>(n), "carry into HI", __FILE__,
	          __LINE__);
	tb.wr(NPU_REG_CTRL, NPU_REG_CTRL_PERF_CLEAR_MASK);
	EXPECT_EQ(rd64(tb, NPU_REG_PERF_RD_BYTES_LO), 0, "PERF_CLEAR", __FILE__, __LINE__);
}

} // namespace

int main(int argc, char **argv)
{
	Verilated::commandArgs(argc, argv);
	test_reset_values();
	test_read_write();
	test_ring_and_irq();
	test_bad_ring_config();
	test_errors_and_soft_reset();
	test_soft_reset_drops_late_events();
	test_watchdog();
	test_perf();
	return tally.finish("csr");
}
