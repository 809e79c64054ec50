// The driver core (driver/npu_dev.h) over a fake backend: a register file
// and a toy command processor that retires ring slots when the core waits
// for an interrupt. It checks what the core must do on any backend:
// refuse a wrong device, program the ring and windows, stream more
// descriptors than the ring holds, wait for RING_HEAD rather than the
// first interrupt, decode faults, stalls and a bad head, recover, and
// patch relocations only inside the stream.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "driver/backend.h"
#include "driver/npu_desc.h"
#include "driver/npu_dev.h"
#include "driver/npu_regs.h"

namespace
{

constexpr uint32_t kWords = NPU_HW_DESC_WORDS;

// A descriptor's header word (opcode, version, flags) from the generated
// layout; the tests fill the other words freely (the fake does not decode).
uint32_t HeaderWord(uint32_t opcode, uint32_t flags = 0)
{
	npu_desc_hdr h = {};
	h.opcode = opcode;
	h.version = NPU_HW_DESC_VERSION;
	h.flags = flags;
	uint32_t w[kWords];
	EXPECT_EQ(npu_desc_hdr_pack(&h, w), 0);
	return w[NPU_DESC_HDR_OPCODE_WORD];
}

npu_desc_hdr Header(const uint32_t *w)
{
	npu_desc_hdr h = {};
	npu_desc_hdr_unpack(w, &h);
	return h;
}
constexpr uint32_t kCyclesPerDesc = 10;

// The fake device. Register reads come from regs[] unless the device
// computes them; the command processor runs only inside wait_irq.
struct Fake {
	std::map<uint32_t, uint32_t> regs;
	std::vector<uint32_t> ring_host; // the ring buffer handed to the core
	// The device's own copy of the ring, as on a board with its own DRAM:
	// only buf_sync fills it, and the command processor reads only it.
	std::vector<uint32_t> ring_dev;
	std::vector<std::pair<size_t, size_t>> syncs; // (offset, bytes) per buf_sync
	uint64_t ring_addr = 0x40000000;
	uint32_t head = 0, tail = 0, irq = 0;
	uint64_t cycles = 0;
	uint32_t retire_max = 1u << 30; // slots retired per wait
	bool stuck = false;             // retire nothing, raise nothing
	long fault_at = -1;             // retired-descriptor count that faults
	uint32_t fault_code = NPU_HW_ERR_DMA_WINDOW;
	uint64_t fault_addr = 0;
	uint32_t bad_head = 0;                   // nonzero: RING_HEAD reads this
	std::vector<std::vector<uint32_t>> seen; // retired descriptors, in order
	unsigned waits = 0, resets = 0, submits = 0, writes = 0;

	uint32_t reg(uint32_t off)
	{
		auto it = regs.find(off);
		return it == regs.end() ? 0 : it->second;
	}
	uint32_t entries()
	{
		return reg(NPU_REG_RING_SIZE);
	}
	// Retire up to retire_max slots; DONE when one with FLAG_IRQ retired.
	void run()
	{
		for (uint32_t k = 0; k < retire_max && head != tail && !(irq & 2); k++) {
			const uint32_t *slot = &ring_dev[static_cast<size_t>(head) * kWords];
			if (fault_at >= 0 && seen.size() == static_cast<size_t>(fault_at)) {
				irq |= NPU_REG_IRQ_STATUS_ERROR_MASK;
				regs[NPU_REG_ERR_CODE] = fault_code;
				regs[NPU_REG_ERR_ADDR_LO] = static_cast<uint32_t>(fault_addr);
				regs[NPU_REG_ERR_ADDR_HI] = static_cast<uint32_t>(fault_addr >> 32);
				regs[NPU_REG_ERR_INDEX] = head;
				return;
			}
			seen.emplace_back(slot, slot + kWords);
			cycles += kCyclesPerDesc;
			if ((slot[0] >> 16) & NPU_HW_FLAG_IRQ)
				irq |= NPU_REG_IRQ_STATUS_DONE_MASK;
			head = (head + 1) % entries();
		}
	}
};

Fake *F(npu_hw *hw)
{
	return static_cast<Fake *>(hw->priv);
}

int fake_open(npu_hw *, const char *)
{
	return NPU_OK;
}

void fake_close(npu_hw *)
{
}

int fake_reg_read(npu_hw *hw, uint32_t off, uint32_t *v)
{
	Fake *f = F(hw);
	switch (off) {
	case NPU_REG_RING_HEAD:
		*v = f->bad_head ? f->bad_head : f->head;
		break;
	case NPU_REG_IRQ_STATUS:
		*v = f->irq;
		break;
	case NPU_REG_PERF_CYCLES_LO:
		*v = static_cast<uint32_t>(f->cycles);
		break;
	case NPU_REG_PERF_CYCLES_HI:
		*v = static_cast<uint32_t>(f->cycles >> 32);
		break;
	case NPU_REG_STATUS:
		*v = f->head != f->tail ? NPU_REG_STATUS_BUSY_MASK : 0;
		break;
	default:
		*v = f->reg(off);
	}
	return NPU_OK;
}

int fake_reg_write(npu_hw *hw, uint32_t off, uint32_t v)
{
	Fake *f = F(hw);
	f->writes++;
	if (off == NPU_REG_IRQ_ACK)
		f->irq &= ~v;
	else if (off == NPU_REG_RING_TAIL)
		f->tail = v;
	f->regs[off] = v;
	return NPU_OK;
}

int fake_buf_alloc(npu_hw *, size_t, uint32_t, npu_hw_buf *)
{
	return NPU_ERR_NOT_SUPPORTED; // the tests hand the core its ring
}

void fake_buf_free(npu_hw *, npu_hw_buf *)
{
}

int fake_buf_sync(npu_hw *hw, npu_hw_buf *buf, size_t off, size_t len, npu_hw_sync_dir dir)
{
	Fake *f = F(hw);
	EXPECT_EQ(dir, NPU_HW_SYNC_TO_DEVICE);
	EXPECT_EQ(buf->host, f->ring_host.data());
	EXPECT_LE(off + len, f->ring_host.size() * 4);
	memcpy(reinterpret_cast<uint8_t *>(f->ring_dev.data()) + off,
	       reinterpret_cast<const uint8_t *>(f->ring_host.data()) + off, len);
	f->syncs.emplace_back(off, len);
	return NPU_OK;
}

int fake_submit(npu_hw *hw, uint32_t tail)
{
	F(hw)->submits++;
	return fake_reg_write(hw, NPU_REG_RING_TAIL, tail);
}

int fake_wait_irq(npu_hw *hw, int)
{
	Fake *f = F(hw);
	f->waits++;
	if (!f->stuck)
		f->run();
	return f->irq ? NPU_OK : NPU_ERR_TIMEOUT;
}

int fake_reset(npu_hw *hw)
{
	Fake *f = F(hw);
	f->resets++;
	f->head = f->tail = f->irq = 0;
	f->regs[NPU_REG_ERR_CODE] = 0;
	return NPU_OK;
}

const npu_backend_ops kFakeOps = {
        "fake",         "a register file for the driver core's tests",
        sizeof(Fake),   fake_open,
        fake_close,     fake_reg_read,
        fake_reg_write, fake_buf_alloc,
        fake_buf_free,  fake_buf_sync,
        fake_submit,    fake_wait_irq,
        fake_reset,     nullptr,
};

// A fake device that passes npu_dev_open: 16x16 PW, 4 windows.
class DriverCore : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		hw.ops = &kFakeOps;
		hw.priv = &fake;
		fake.regs[NPU_REG_ID] = NPU_HW_ID_MAGIC;
		fake.regs[NPU_REG_VERSION] = NPU_HW_VERSION_MAJOR << NPU_REG_VERSION_MAJOR_SHIFT |
		                             NPU_HW_DESC_VERSION << NPU_REG_VERSION_DESC_SHIFT;
		fake.regs[NPU_REG_CAPS0] = 0x08101010u;
		fake.regs[NPU_REG_CAPS1] = 64u << NPU_REG_CAPS1_WGT_KB_SHIFT | 32u;
		fake.regs[NPU_REG_CAPS3] = 4u << NPU_REG_CAPS3_NUM_WINDOWS_SHIFT | 16u;
		fake.regs[NPU_REG_CAPS_ENGINES] = 0x1FFu;
	}
	// Open the core and give it a ring of `entries` slots.
	void Ring(uint32_t entries)
	{
		ASSERT_EQ(npu_dev_open(&dev, &hw, 3), NPU_OK);
		fake.ring_host.assign(static_cast<size_t>(entries) * kWords, 0);
		fake.ring_dev.assign(static_cast<size_t>(entries) * kWords, 0);
		ring.host = fake.ring_host.data();
		ring.dev_addr = fake.ring_addr;
		ring.size = fake.ring_host.size() * 4;
		ring.flags = NPU_HW_BUF_DEV_READ;
		ASSERT_EQ(npu_dev_ring_init(&dev, &ring, entries, 1234), NPU_OK);
	}
	// Stream n distinct descriptors (no perf): npu_dev_stream's status.
	int Run(uint32_t n)
	{
		std::vector<uint32_t> d = Stream(n);
		return npu_dev_stream(&dev, d.data(), n, 100, nullptr);
	}
	// n distinct descriptors, no flags.
	static std::vector<uint32_t> Stream(uint32_t n)
	{
		std::vector<uint32_t> d(static_cast<size_t>(n) * kWords);
		for (uint32_t i = 0; i < n; i++) {
			d[i * kWords] = HeaderWord(NPU_HW_OP_SYNC);
			for (uint32_t w = 1; w < kWords; w++)
				d[i * kWords + w] = i * 100 + w;
		}
		return d;
	}

	Fake fake;
	npu_hw hw = {};
	npu_dev dev = {};
	npu_hw_buf ring = {};
};

TEST_F(DriverCore, OpenDecodesCaps)
{
	ASSERT_EQ(npu_dev_open(&dev, &hw, 3), NPU_OK);
	EXPECT_EQ(dev.refusal, NPU_DEV_ACCEPTED);
	EXPECT_EQ(dev.caps.pw_rows, 16u);
	EXPECT_EQ(dev.caps.pw_cols, 16u);
	EXPECT_EQ(dev.caps.dw_lanes, 16u);
	EXPECT_EQ(dev.caps.ppu_lanes, 8u);
	EXPECT_EQ(dev.caps.act_kb, 32u);
	EXPECT_EQ(dev.caps.wgt_kb, 64u);
	EXPECT_EQ(dev.caps.dma_bytes, 16u);
	EXPECT_EQ(dev.caps.num_windows, 4u);
	EXPECT_EQ(dev.caps.engines, 0x1FFu);
	/* CAPS3 without DMA_OUTST and EPI_LANES (a VERSION.MINOR 1 device):
	 * what that RTL built, 8 bursts and the PPU's lanes. */
	EXPECT_EQ(dev.caps.dma_outstanding, 8u);
	EXPECT_EQ(dev.caps.epi_lanes, 8u);
}

TEST_F(DriverCore, OpenDecodesOutstandingAndEpilogueLanes)
{
	fake.regs[NPU_REG_CAPS0] = 0x04101010u;
	fake.regs[NPU_REG_CAPS3] |=
	        5u << NPU_REG_CAPS3_DMA_OUTST_SHIFT | 8u << NPU_REG_CAPS3_EPI_LANES_SHIFT;
	ASSERT_EQ(npu_dev_open(&dev, &hw, 3), NPU_OK);
	EXPECT_EQ(dev.caps.ppu_lanes, 4u);
	EXPECT_EQ(dev.caps.dma_outstanding, 32u);
	EXPECT_EQ(dev.caps.epi_lanes, 8u);
	EXPECT_EQ(dev.caps.num_windows, 4u);
	EXPECT_EQ(dev.caps.dma_bytes, 16u);
}

TEST_F(DriverCore, OpenRefusesAnotherDevice)
{
	struct {
		uint32_t reg, value;
		unsigned min_windows;
		npu_dev_refusal why;
	} cases[] = {
	        {NPU_REG_ID, 0x12345678u, 3, NPU_DEV_REFUSE_ID},
	        {NPU_REG_VERSION,
	         (NPU_HW_VERSION_MAJOR + 1) << NPU_REG_VERSION_MAJOR_SHIFT |
	                 NPU_HW_DESC_VERSION << NPU_REG_VERSION_DESC_SHIFT,
	         3, NPU_DEV_REFUSE_VERSION},
	        {NPU_REG_VERSION,
	         NPU_HW_VERSION_MAJOR << NPU_REG_VERSION_MAJOR_SHIFT |
	                 (NPU_HW_DESC_VERSION - 1) << NPU_REG_VERSION_DESC_SHIFT,
	         3, NPU_DEV_REFUSE_VERSION},
	        {NPU_REG_CAPS_ENGINES, 0x1FFu & ~NPU_REG_CAPS_ENGINES_DMA_MASK, 3,
	         NPU_DEV_REFUSE_ENGINES},
	        {NPU_REG_CAPS_ENGINES, 0x1FFu & ~NPU_REG_CAPS_ENGINES_CP_MASK, 3,
	         NPU_DEV_REFUSE_ENGINES},
	        {NPU_REG_CAPS_ENGINES, 0x1FFu, 5, NPU_DEV_REFUSE_ENGINES},
	};
	for (const auto &c : cases) {
		Fake f = fake;
		f.regs[c.reg] = c.value;
		hw.priv = &f;
		EXPECT_EQ(npu_dev_open(&dev, &hw, c.min_windows), NPU_ERR_NOT_SUPPORTED)
		        << "reg 0x" << std::hex << c.reg;
		EXPECT_EQ(dev.refusal, c.why) << "reg 0x" << std::hex << c.reg;
	}
	// A backend error is the backend's, not a refusal.
	hw.priv = &fake;
	hw.fail_countdown = 1;
	hw.fail_status = NPU_ERR_IO;
	EXPECT_EQ(npu_dev_open(&dev, &hw, 3), NPU_ERR_IO);
}

TEST_F(DriverCore, RingInitProgramsThePostOpenState)
{
	Ring(8);
	EXPECT_EQ(fake.reg(NPU_REG_RING_BASE_LO), static_cast<uint32_t>(fake.ring_addr));
	EXPECT_EQ(fake.reg(NPU_REG_RING_BASE_HI), static_cast<uint32_t>(fake.ring_addr >> 32));
	EXPECT_EQ(fake.reg(NPU_REG_RING_SIZE), 8u);
	EXPECT_EQ(fake.reg(NPU_REG_RING_TAIL), 0u);
	EXPECT_EQ(fake.reg(NPU_REG_WDOG_BUDGET), 1234u);
	EXPECT_EQ(fake.reg(NPU_REG_IRQ_MASK),
	          NPU_REG_IRQ_STATUS_DONE_MASK | NPU_REG_IRQ_STATUS_ERROR_MASK);
	EXPECT_EQ(fake.reg(NPU_REG_CTRL), NPU_REG_CTRL_ENABLE_MASK);
	for (uint32_t bad : {0u, 1u, 3u, 12u, 131072u})
		EXPECT_EQ(npu_dev_ring_init(&dev, &ring, bad, 0), NPU_ERR_INVALID_ARG) << bad;
	EXPECT_EQ(npu_dev_ring_init(&dev, &ring, 16, 0), NPU_ERR_INVALID_ARG) << "buffer too small";
}

// 37 descriptors through an 8-slot ring: the device sees each once, in
// order, then the closing FENCE | IRQ; while more remain every 2nd
// (entries / 4) carries FLAG_IRQ, so the refill is always woken.
TEST_F(DriverCore, StreamWrapsTheRing)
{
	Ring(8);
	fake.retire_max = 3;
	const uint32_t n = 37;
	std::vector<uint32_t> d = Stream(n);
	npu_dev_perf perf = {};
	ASSERT_EQ(npu_dev_stream(&dev, d.data(), n, 100, &perf), NPU_OK);
	ASSERT_EQ(fake.seen.size(), n + 1);
	for (uint32_t i = 0; i < n; i++) {
		const npu_desc_hdr h = Header(fake.seen[i].data());
		EXPECT_EQ(h.flags, i % 2 == 1 ? NPU_HW_FLAG_IRQ : 0u) << "i=" << i;
		EXPECT_EQ(h.opcode, (uint32_t)NPU_HW_OP_SYNC) << "i=" << i;
		EXPECT_EQ(h.version, (uint32_t)NPU_HW_DESC_VERSION) << "i=" << i;
		for (uint32_t w = 1; w < kWords; w++)
			ASSERT_EQ(fake.seen[i][w], d[i * kWords + w]) << "i=" << i << " w=" << w;
	}
	EXPECT_EQ(fake.seen[n][NPU_DESC_HDR_OPCODE_WORD],
	          HeaderWord(NPU_HW_OP_FENCE, NPU_HW_FLAG_IRQ));
	EXPECT_EQ(dev.tail, (n + 1) % 8);
	EXPECT_EQ(fake.head, dev.tail);
	EXPECT_EQ(perf.cycles, (n + 1) * kCyclesPerDesc);
	EXPECT_GT(fake.submits, 4u) << "37 descriptors cannot fit one 8-slot fill";
}

// A short batch carries no mid-stream IRQ flags; a full ring refuses a put.
TEST_F(DriverCore, ShortBatchAndFullRing)
{
	Ring(8);
	std::vector<uint32_t> d = Stream(4);
	ASSERT_EQ(npu_dev_stream(&dev, d.data(), 4, 100, nullptr), NPU_OK);
	for (uint32_t i = 0; i < 4; i++)
		EXPECT_EQ(Header(fake.seen[i].data()).flags, 0u) << "i=" << i;
	EXPECT_EQ(npu_dev_ring_space(&dev), 7u);
	for (uint32_t i = 0; i < 7; i++)
		ASSERT_EQ(npu_dev_ring_put(&dev, d.data(), 0), NPU_OK) << i;
	EXPECT_EQ(npu_dev_ring_space(&dev), 0u);
	EXPECT_EQ(npu_dev_ring_put(&dev, d.data(), 0), NPU_ERR_BUSY);
}

// The device sees slots only when they are submitted, and a batch is one
// buf_sync (two where it wraps), not one per descriptor: over USB that is
// one transfer instead of one per 64 bytes.
TEST_F(DriverCore, SubmitSyncsTheBatchOnceAndWrapsInTwo)
{
	Ring(8);
	std::vector<uint32_t> d = Stream(6);
	for (uint32_t i = 0; i < 3; i++)
		ASSERT_EQ(
		        npu_dev_ring_put(&dev, d.data() + i * kWords, i == 2 ? NPU_HW_FLAG_IRQ : 0),
		        NPU_OK);
	EXPECT_TRUE(fake.syncs.empty()) << "a put alone makes nothing visible";
	ASSERT_EQ(npu_dev_ring_submit(&dev), NPU_OK);
	ASSERT_EQ(fake.syncs.size(), 1u);
	EXPECT_EQ(fake.syncs[0], std::make_pair(size_t{0}, size_t{3} * NPU_HW_DESC_BYTES));
	ASSERT_EQ(npu_dev_drain(&dev, 100), NPU_OK);
	// Slots 3..7, then 0: the run wraps.
	for (uint32_t i = 0; i < 6; i++)
		ASSERT_EQ(
		        npu_dev_ring_put(&dev, d.data() + i * kWords, i == 5 ? NPU_HW_FLAG_IRQ : 0),
		        NPU_OK);
	ASSERT_EQ(npu_dev_ring_submit(&dev), NPU_OK);
	ASSERT_EQ(fake.syncs.size(), 3u);
	EXPECT_EQ(fake.syncs[1],
	          std::make_pair(size_t{3} * NPU_HW_DESC_BYTES, size_t{5} * NPU_HW_DESC_BYTES));
	EXPECT_EQ(fake.syncs[2], std::make_pair(size_t{0}, size_t{1} * NPU_HW_DESC_BYTES));
	// Nothing new: a submit syncs nothing.
	ASSERT_EQ(npu_dev_ring_submit(&dev), NPU_OK);
	EXPECT_EQ(fake.syncs.size(), 3u);
	ASSERT_EQ(npu_dev_drain(&dev, 100), NPU_OK);
	ASSERT_EQ(fake.seen.size(), 9u);
	for (uint32_t i = 0; i < 6; i++)
		EXPECT_EQ(fake.seen[3 + i][1], i * 100 + 1) << "the device read what was put";
}

// An interrupt is not "the batch is done": with the first descriptor
// flagged and one slot retired per wait, drain keeps waiting until
// RING_HEAD reaches the tail, acknowledging each interrupt.
TEST_F(DriverCore, DrainWaitsForTheHeadNotTheFirstInterrupt)
{
	Ring(8);
	fake.retire_max = 1;
	std::vector<uint32_t> d = Stream(3);
	ASSERT_EQ(npu_dev_ring_put(&dev, d.data(), NPU_HW_FLAG_IRQ), NPU_OK);
	ASSERT_EQ(npu_dev_ring_put(&dev, d.data() + kWords, NPU_HW_FLAG_IRQ), NPU_OK);
	ASSERT_EQ(npu_dev_ring_put(&dev, d.data() + 2 * kWords, NPU_HW_FLAG_IRQ), NPU_OK);
	ASSERT_EQ(npu_dev_ring_submit(&dev), NPU_OK);
	uint32_t st = 0;
	ASSERT_EQ(npu_dev_wait_irq(&dev, 100, &st), NPU_OK);
	EXPECT_EQ(st, NPU_REG_IRQ_STATUS_DONE_MASK);
	EXPECT_EQ(fake.irq, 0u) << "acknowledged";
	EXPECT_EQ(fake.head, 1u);
	ASSERT_EQ(npu_dev_drain(&dev, 100), NPU_OK);
	EXPECT_EQ(fake.head, 3u);
	EXPECT_EQ(fake.waits, 3u);
	// Nothing outstanding: drain returns without waiting.
	ASSERT_EQ(npu_dev_drain(&dev, 100), NPU_OK);
	EXPECT_EQ(fake.waits, 3u);
}

TEST_F(DriverCore, FaultIsDecodedAndLeftLatched)
{
	Ring(8);
	fake.fault_at = 2;
	fake.fault_addr = 0x123456789Aull;
	std::vector<uint32_t> d = Stream(5);
	EXPECT_EQ(npu_dev_stream(&dev, d.data(), 5, 100, nullptr), NPU_ERR_DEVICE_FAULT);
	EXPECT_EQ(dev.err.kind, NPU_DEV_ERR_FAULT);
	EXPECT_EQ(dev.err.code, NPU_HW_ERR_DMA_WINDOW);
	EXPECT_EQ(dev.err.addr, 0x123456789Aull);
	EXPECT_EQ(dev.err.index, 2u);
	EXPECT_NE(dev.err.irq_status & NPU_REG_IRQ_STATUS_ERROR_MASK, 0u);
	EXPECT_NE(fake.irq & NPU_REG_IRQ_STATUS_ERROR_MASK, 0u) << "not acknowledged";
	EXPECT_STREQ(npu_dev_err_name(dev.err.code), "DMA window");

	// The watchdog's fault is a timeout.
	ASSERT_EQ(npu_dev_recover(&dev), NPU_OK);
	fake.seen.clear();
	fake.fault_at = 0;
	fake.fault_code = NPU_HW_ERR_WATCHDOG;
	EXPECT_EQ(npu_dev_stream(&dev, d.data(), 5, 100, nullptr), NPU_ERR_TIMEOUT);
	EXPECT_EQ(dev.err.kind, NPU_DEV_ERR_FAULT);
	EXPECT_EQ(dev.err.code, NPU_HW_ERR_WATCHDOG);
}

TEST_F(DriverCore, ErrorNames)
{
	EXPECT_STREQ(npu_dev_err_name(NPU_HW_ERR_NONE), "none");
	EXPECT_STREQ(npu_dev_err_name(NPU_HW_ERR_DMA_BUS), "DMA bus error");
	EXPECT_STREQ(npu_dev_err_name(NPU_HW_ERR_WATCHDOG), "watchdog");
	EXPECT_STREQ(npu_dev_err_name(NPU_HW_ERR_TOKEN), "token overflow");
	EXPECT_STREQ(npu_dev_err_name(NPU_HW_ERR_TOKEN + 1), "unknown");
	EXPECT_STREQ(npu_dev_err_name(0xFFFFFFFFu), "unknown");
}

// No interrupt: the device's state is kept for the caller to say whether
// the interrupt was lost (a cause latched) or the device busy.
TEST_F(DriverCore, StallKeepsTheDeviceState)
{
	Ring(8);
	fake.stuck = true;
	EXPECT_EQ(Run(2), NPU_ERR_TIMEOUT);
	EXPECT_EQ(dev.err.kind, NPU_DEV_ERR_STALL);
	EXPECT_EQ(dev.err.status & NPU_REG_STATUS_BUSY_MASK, NPU_REG_STATUS_BUSY_MASK);
	EXPECT_EQ(dev.err.irq_status, 0u);
	EXPECT_EQ(dev.err.head, 0u);
	EXPECT_EQ(dev.err.tail, 3u);
}

TEST_F(DriverCore, HeadOutsideTheRingIsAFault)
{
	Ring(8);
	fake.bad_head = 9;
	EXPECT_EQ(Run(2), NPU_ERR_DEVICE_FAULT);
	EXPECT_EQ(dev.err.kind, NPU_DEV_ERR_HEAD);
	EXPECT_EQ(dev.err.head, 9u);
}

// A backend error after an earlier fault is not reported as that fault.
TEST_F(DriverCore, BackendErrorClearsAnOldFault)
{
	Ring(8);
	fake.fault_at = 0;
	ASSERT_EQ(Run(2), NPU_ERR_DEVICE_FAULT);
	ASSERT_EQ(npu_dev_recover(&dev), NPU_OK);
	hw.fail_countdown = 1;
	hw.fail_status = NPU_ERR_DISCONNECTED;
	EXPECT_EQ(Run(2), NPU_ERR_DISCONNECTED);
	EXPECT_EQ(dev.err.kind, NPU_DEV_ERR_NONE);
}

// Windows: the used ones as given, every other one closed; the same set
// again writes nothing; a recovery forgets them.
TEST_F(DriverCore, WindowsAreProgrammedOnce)
{
	Ring(8);
	const uint32_t r = NPU_REG_WIN_CTRL_READ_MASK, w = NPU_REG_WIN_CTRL_WRITE_MASK;
	npu_hw_buf arena = {};
	arena.host = &fake;
	arena.dev_addr = 0x1'2000'0000ull;
	arena.size = 5000;
	npu_hw_buf none = {};
	npu_dev_window win[3] = {npu_dev_window_of(&ring, r), npu_dev_window_of(&none, r),
	                         npu_dev_window_of(&arena, r | w)};
	EXPECT_EQ(win[1].ctrl, 0u) << "no buffer: a closed window";
	fake.regs[NPU_REG_WIN_CTRL(3)] = r; // left open by someone: must be closed
	ASSERT_EQ(npu_dev_set_windows(&dev, win, 3), NPU_OK);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_BASE_LO(0)), static_cast<uint32_t>(fake.ring_addr));
	EXPECT_EQ(fake.reg(NPU_REG_WIN_SIZE(0)), 8u * NPU_HW_DESC_BYTES);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_CTRL(0)), r);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_CTRL(1)), 0u);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_BASE_LO(2)), 0x20000000u);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_BASE_HI(2)), 1u);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_SIZE(2)), 5000u);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_CTRL(2)), r | w);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_CTRL(3)), 0u);
	const unsigned writes = fake.writes;
	ASSERT_EQ(npu_dev_set_windows(&dev, win, 3), NPU_OK);
	EXPECT_EQ(fake.writes, writes) << "unchanged windows rewritten";
	win[2].size = 6000;
	ASSERT_EQ(npu_dev_set_windows(&dev, win, 3), NPU_OK);
	EXPECT_EQ(fake.reg(NPU_REG_WIN_SIZE(2)), 6000u);
	const unsigned writes2 = fake.writes;
	ASSERT_EQ(npu_dev_recover(&dev), NPU_OK);
	const unsigned writes3 = fake.writes;
	EXPECT_GT(writes3, writes2);
	ASSERT_EQ(npu_dev_set_windows(&dev, win, 3), NPU_OK);
	EXPECT_GT(fake.writes, writes3) << "a recovery must make the windows be rewritten";

	npu_dev_window five[5] = {};
	EXPECT_EQ(npu_dev_set_windows(&dev, five, 5), NPU_ERR_INVALID_ARG);
	win[2].size = 1ull << 32;
	EXPECT_EQ(npu_dev_set_windows(&dev, win, 3), NPU_ERR_INVALID_ARG);
}

// Recovery: the backend's reset, then the ring programmed again; a failed
// reset leaves need_recover set until one succeeds.
TEST_F(DriverCore, RecoverResetsAndReprograms)
{
	Ring(8);
	std::vector<uint32_t> d = Stream(3);
	ASSERT_EQ(npu_dev_stream(&dev, d.data(), 3, 100, nullptr), NPU_OK);
	EXPECT_NE(dev.tail, 0u);
	fake.regs[NPU_REG_RING_SIZE] = 0;
	hw.fail_countdown = 1;
	hw.fail_status = NPU_ERR_IO;
	EXPECT_EQ(npu_dev_recover(&dev), NPU_ERR_IO);
	EXPECT_TRUE(dev.need_recover);
	EXPECT_EQ(fake.resets, 0u);
	ASSERT_EQ(npu_dev_recover(&dev), NPU_OK);
	EXPECT_FALSE(dev.need_recover);
	EXPECT_EQ(fake.resets, 1u);
	EXPECT_EQ(dev.tail, 0u);
	EXPECT_EQ(fake.reg(NPU_REG_RING_SIZE), 8u);
	EXPECT_EQ(fake.reg(NPU_REG_CTRL), NPU_REG_CTRL_ENABLE_MASK);
	fake.seen.clear();
	ASSERT_EQ(npu_dev_stream(&dev, d.data(), 3, 100, nullptr), NPU_OK);
	EXPECT_EQ(fake.seen.size(), 4u);
}

// A relocation writes exactly the two words of an address field of the
// descriptor it names (npu_desc.h's DMA HOST_ADDR), and nothing when the
// record points outside the stream or at another field.
TEST(DriverCoreReloc, PatchesOnlyAddressFields)
{
	std::vector<uint32_t> s(2 * kWords, 0xEEEEEEEEu);
	s[0] = HeaderWord(NPU_HW_OP_SYNC);
	s[kWords] = HeaderWord(NPU_HW_OP_DMA_STORE);
	const uint32_t a = NPU_DESC_DMA_HOST_ADDR_WORD;
	ASSERT_EQ(npu_dev_reloc_patch(s.data(), 2, 1, a, 0x1122334455667788ull), NPU_OK);
	EXPECT_EQ(s[kWords + a], 0x55667788u);
	EXPECT_EQ(s[kWords + a + 1], 0x11223344u);
	EXPECT_EQ(s[kWords + a - 1], 0xEEEEEEEEu);
	EXPECT_EQ(s[kWords + a + 2], 0xEEEEEEEEu);
	std::vector<uint32_t> before = s;
	EXPECT_EQ(npu_dev_reloc_patch(s.data(), 2, 2, a, 1), NPU_ERR_INVALID_ARG) << "past the end";
	EXPECT_EQ(npu_dev_reloc_patch(s.data(), 2, 0, a, 1), NPU_ERR_INVALID_ARG) << "a SYNC";
	EXPECT_EQ(npu_dev_reloc_patch(s.data(), 2, 1, a + 1, 1), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_dev_reloc_patch(s.data(), 2, 1, kWords - 1, 1), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_dev_reloc_patch(s.data(), 2, 1, 0xFFFFFFFFu, 1), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(s, before);
}

} // namespace
