// lwnpu Verilator harness (docs/HARDWARE.md, "Harness and C ABI").
//
// Each cycle the harness drives the memory port's inputs, evaluates, samples
// the handshakes, and clocks: two eval() calls per cycle and a few compares.
// Everything else (register accesses, mappings) happens only when the
// driver calls. Built against two Verilated configurations of npu_top
// (Vnpu_top_default, Vnpu_top_small); Sim<V> is the same code for both.
//
// Memory model: requests are accepted at once and queued. Read data starts
// `latency` cycles after the request; beats (DmaBytes each) are paced by a
// bandwidth budget of `bytes_per_cycle` shared by read and write beats.
// Write beats are accepted at that pace after their AW; the write response
// comes `latency` cycles after the last beat. Responses come in order per
// channel. A burst outside every mapping, or hit by an injected error, is
// answered with err on every read beat / on the write response (a write
// with an error response changes nothing).
//
// Fault injection and checks need to know where the ring and the DMA
// windows are: the harness snoops the register writes it carries (ring
// base/size, window base/size/permissions) instead of asking the RTL, so
// they cost no device cycle. Armed faults count events from the call that
// armed them (bursts, descriptor fetches, interrupt edges) and fire once.
#include "npu_sim.h"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "../../driver/npu_desc.h"
#include "../../driver/npu_regs.h"
#include "Vnpu_top_default.h"
#include "Vnpu_top_small.h"
#include "verilated.h"
#ifdef NPU_SIM_TRACE
#include "verilated_fst_c.h"
#endif

namespace
{

constexpr uint32_t kDefaultLatency = 100;
constexpr uint32_t kDefaultBpc = 8;

struct Mapping {
	uint8_t *host;
	uint64_t size;
};

struct ReadBurst {
	uint64_t addr;
	uint32_t len;
	uint32_t beat;
	uint64_t ready; // cycle of the first beat
	bool err;
	bool corrupt; // the descriptor fetch to corrupt: opcode byte inverted
};

struct WriteBurst {
	uint64_t addr;
	uint32_t len;
	uint32_t beat;
	bool err;
};

struct WriteResp {
	uint64_t ready;
	bool err;
};

// A DMA window as the driver programmed it (NPU_REG_WIN_*).
struct Window {
	uint64_t base;
	uint32_t size;
	uint32_t ctrl;
};

// Cycles the memory must stay idle before npu_sim_drain() calls it done:
// covers a write burst whose AW the DMA sends just after a soft reset.
constexpr uint64_t kDrainQuiet = 8;

} // namespace

struct npu_sim {
	virtual ~npu_sim() = default;
	virtual int reg_access(bool we, uint32_t off, uint32_t wdata, uint32_t *rdata) = 0;
	virtual int run(uint64_t max_cycles) = 0;
	virtual int drain(uint64_t max_cycles) = 0;

	std::string config;
	uint32_t latency = kDefaultLatency;
	uint32_t bpc = kDefaultBpc;
	uint64_t cycles = 0;
	std::map<uint64_t, Mapping> maps;
	bool hang = false;
	bool inject = false;
	uint64_t inject_addr = 0, inject_len = 0;
	uint64_t rd_bytes = 0, wr_bytes = 0, bus_errors = 0;

	// Armed faults: the event count at which each fires (0 = none).
	uint64_t bursts = 0, bus_error_at = 0, hang_at = 0;
	uint64_t desc_fetches = 0, corrupt_at = 0;
	uint64_t irq_edges = 0, lose_irq_at = 0;
	// Engine hang: descriptors of the engines in hold_mask fetched since
	// the call; at hold_at the hold (npu_top dbg_engine_hold_i) is set.
	unsigned hold_mask = 0;
	uint64_t hold_fetches = 0, hold_at = 0;
	uint8_t engine_hold = 0; // driven on dbg_engine_hold_i
	bool irq_prev = false;
	bool irq_hidden = false; // the line is high, but its edge was lost

	// Snooped registers and the write monitor.
	uint64_t ring_base = 0;
	uint32_t ring_size = 0;
	unsigned num_windows = 0;
	Window win[NPU_HW_MAX_WINDOWS] = {};
	uint64_t stray_bytes = 0;

	// Host pointer of [addr, addr+len) if one mapping holds it all, else NULL.
	uint8_t *resolve(uint64_t addr, uint64_t len)
	{
		auto it = maps.upper_bound(addr);
		if (it == maps.begin())
			return nullptr;
		--it;
		uint64_t off = addr - it->first;
		if (off >= it->second.size || len > it->second.size - off)
			return nullptr;
		return it->second.host + off;
	}
	// Bus-error decision for a new burst (consumes a matching injection);
	// counts the burst for the faults armed in bursts.
	bool burst_err(uint64_t addr, uint64_t len)
	{
		bool err = resolve(addr, len) == nullptr;
		if (inject && addr < inject_addr + inject_len && inject_addr < addr + len) {
			inject = false;
			err = true;
		}
		++bursts;
		if (bursts == bus_error_at) {
			bus_error_at = 0;
			err = true;
		}
		if (bursts == hang_at) {
			hang_at = 0;
			hang = true;
		}
		if (err)
			++bus_errors;
		return err;
	}
	// A read burst: is it the descriptor fetch armed for corruption? The
	// command processor fetches each descriptor as one 64-byte burst.
	bool desc_corrupt(uint64_t addr)
	{
		uint64_t off = addr - ring_base;
		if (addr < ring_base || off >= uint64_t{NPU_HW_DESC_BYTES} * ring_size ||
		    off % NPU_HW_DESC_BYTES)
			return false;
		hold_check(addr);
		if (++desc_fetches != corrupt_at)
			return false;
		corrupt_at = 0;
		return true;
	}
	// A descriptor fetch at addr: the engine hang armed for its engine?
	// The opcode is read from memory as the fetch is issued.
	void hold_check(uint64_t addr)
	{
		if (!hold_at)
			return;
		const uint8_t *p = resolve(addr, 1);
		if (!p)
			return;
		unsigned eng = 0;
		if (*p == NPU_HW_OP_PW_CONV)
			eng = NPU_SIM_ENGINE_PW;
		else if (*p == NPU_HW_OP_DW_CONV)
			eng = NPU_SIM_ENGINE_DW;
		else if (*p == NPU_HW_OP_PPU_REQUANT || *p == NPU_HW_OP_PPU_ADD ||
		         *p == NPU_HW_OP_PPU_POOL)
			eng = NPU_SIM_ENGINE_PPU;
		if (!(eng & hold_mask) || ++hold_fetches != hold_at)
			return;
		hold_at = 0;
		engine_hold |= static_cast<uint8_t>(hold_mask);
	}
	// The interrupt line after a clock edge, as the host sees it.
	bool irq_seen(bool irq)
	{
		if (irq && !irq_prev && ++irq_edges == lose_irq_at) {
			lose_irq_at = 0;
			irq_hidden = true;
		}
		if (!irq)
			irq_hidden = false;
		irq_prev = irq;
		return irq && !irq_hidden;
	}
	// Keep the shadow of the registers the faults and the monitor use.
	void snoop_write(uint32_t off, uint32_t v)
	{
		if (off == NPU_REG_RING_BASE_LO)
			ring_base = (ring_base & ~0xffffffffull) | (v & ~63u);
		else if (off == NPU_REG_RING_BASE_HI)
			ring_base = (ring_base & 0xffffffffull) | uint64_t{v} << 32;
		else if (off == NPU_REG_RING_SIZE)
			ring_size = v & NPU_REG_RING_SIZE_ENTRIES_MASK;
		else if (off == NPU_REG_CTRL && (v & NPU_REG_CTRL_SOFT_RESET_MASK))
			engine_hold = 0;
		if (off < NPU_REG_WIN_BASE_LO(0) || off >= NPU_REG_WIN_BASE_LO(num_windows))
			return;
		const unsigned i = (off - NPU_REG_WIN_BASE_LO(0)) / NPU_REG_WIN_BASE_LO_STRIDE;
		Window &w = win[i];
		if (off == NPU_REG_WIN_BASE_LO(i))
			w.base = (w.base & ~0xffffffffull) | v;
		else if (off == NPU_REG_WIN_BASE_HI(i))
			w.base = (w.base & 0xffffffffull) | uint64_t{v} << 32;
		else if (off == NPU_REG_WIN_SIZE(i))
			w.size = v;
		else if (off == NPU_REG_WIN_CTRL(i))
			w.ctrl = v;
	}
	// Bytes [addr, addr+n) landed in memory: inside a writable window?
	void check_write(uint64_t addr, uint64_t n)
	{
		for (unsigned i = 0; i < num_windows; ++i) {
			const Window &w = win[i];
			if ((w.ctrl & NPU_REG_WIN_CTRL_WRITE_MASK) && addr >= w.base &&
			    addr - w.base <= w.size && n <= w.size - (addr - w.base))
				return;
		}
		stray_bytes += n;
	}
};

namespace
{

template <class V, unsigned DmaBytes> class Sim final : public npu_sim
{
      public:
	Sim(const char *name, const char *fst) : ctx_(new VerilatedContext), top_(new V(ctx_.get()))
	{
		config = name;
#ifdef NPU_SIM_TRACE
		if (fst) {
			ctx_->traceEverOn(true);
			trace_.reset(new VerilatedFstC);
			top_->trace(trace_.get(), 99);
			trace_->open(fst);
		}
#else
		(void)fst;
#endif
		V &t = *top_;
		t.clk_i = 0;
		t.rst_ni = 0;
		t.reg_req_i = 0;
		t.reg_we_i = 0;
		t.reg_addr_i = 0;
		t.reg_wdata_i = 0;
		t.mem_ar_ready_i = 1;
		t.mem_aw_ready_i = 1;
		t.mem_r_valid_i = 0;
		t.mem_r_data_i = 0;
		t.mem_r_err_i = 0;
		t.mem_w_ready_i = 0;
		t.mem_b_valid_i = 0;
		t.mem_b_err_i = 0;
		t.dbg_engine_hold_i = 0;
		t.eval();
		for (int i = 0; i < 4; ++i)
			cycle();
		t.rst_ni = 1;
		cycle();
		uint32_t caps3 = 0;
		reg_access(false, NPU_REG_CAPS3, 0, &caps3);
		num_windows =
		        (caps3 & NPU_REG_CAPS3_NUM_WINDOWS_MASK) >> NPU_REG_CAPS3_NUM_WINDOWS_SHIFT;
		if (num_windows > NPU_HW_MAX_WINDOWS)
			num_windows = NPU_HW_MAX_WINDOWS;
	}
	~Sim() override
	{
		top_->final();
#ifdef NPU_SIM_TRACE
		if (trace_)
			trace_->close();
#endif
	}

	int reg_access(bool we, uint32_t off, uint32_t wdata, uint32_t *rdata) override
	{
		V &t = *top_;
		t.reg_req_i = 1;
		t.reg_we_i = we;
		t.reg_addr_i = off & 0xFFF;
		t.reg_wdata_i = wdata;
		cycle();
		t.reg_req_i = 0;
		t.reg_we_i = 0;
		// The response is registered: visible right after the edge.
		if (off > 0xFFF || t.reg_err_o)
			return -1;
		if (we)
			snoop_write(off, wdata);
		if (rdata)
			*rdata = t.reg_rdata_o;
		return 0;
	}

	int run(uint64_t max_cycles) override
	{
		for (uint64_t n = 0; n < max_cycles && !irq_; ++n)
			cycle();
		return irq_ ? 1 : 0;
	}

	int drain(uint64_t max_cycles) override
	{
		uint64_t quiet = 0;
		for (uint64_t n = 0; n < max_cycles && quiet < kDrainQuiet; ++n) {
			quiet = rq_.empty() && wq_.empty() && bq_.empty() ? quiet + 1 : 0;
			cycle();
		}
		return quiet >= kDrainQuiet ? 0 : -1;
	}

      private:
	// One clock cycle: drive the memory inputs, settle, sample handshakes,
	// rising edge.
	void cycle()
	{
		V &t = *top_;
		const uint64_t now = cycles;
		credit_ += bpc;
		if (credit_ > 2 * (bpc > DmaBytes ? bpc : DmaBytes))
			credit_ = 2 * (bpc > DmaBytes ? bpc : DmaBytes);

		// Read data: the head burst's next beat once it is due.
		bool r_valid = false;
		if (!hang && !rq_.empty() && rq_.front().ready <= now && credit_ >= DmaBytes) {
			ReadBurst &b = rq_.front();
			uint64_t data = 0;
			if (!b.err) {
				uint32_t off = b.beat * DmaBytes;
				uint32_t n = b.len - off < DmaBytes ? b.len - off : DmaBytes;
				const uint8_t *p = resolve(b.addr + off, n);
				if (p)
					std::memcpy(&data, p, n); // little-endian host
				// the opcode field inverted: every value >= 0xc0 is
				// unknown (the header word is in the first beat)
				static_assert(NPU_DESC_HDR_OPCODE_WORD == 0, "header in beat 0");
				if (b.corrupt && b.beat == 0)
					data ^= NPU_DESC_HDR_OPCODE_MASK;
			}
			t.mem_r_data_i = data;
			t.mem_r_err_i = b.err;
			r_valid = true;
		}
		t.mem_r_valid_i = r_valid;
		bool w_ready = !hang && !wq_.empty() && credit_ >= DmaBytes;
		t.mem_w_ready_i = w_ready;
		bool b_valid = !hang && !bq_.empty() && bq_.front().ready <= now;
		t.mem_b_valid_i = b_valid;
		t.mem_b_err_i = b_valid && bq_.front().err;
		t.dbg_engine_hold_i = engine_hold;
		t.clk_i = 0;
		t.eval();

		// Handshakes of this cycle.
		if (t.mem_ar_valid_o) {
			uint64_t a = t.mem_ar_addr_o;
			uint32_t len = t.mem_ar_len_o;
			rq_.push_back(
			        {a, len, 0, now + latency, burst_err(a, len), desc_corrupt(a)});
		}
		if (r_valid && t.mem_r_ready_o) {
			ReadBurst &b = rq_.front();
			uint32_t off = b.beat * DmaBytes;
			rd_bytes += b.len - off < DmaBytes ? b.len - off : DmaBytes;
			credit_ -= DmaBytes;
			if (off + DmaBytes >= b.len)
				rq_.pop_front();
			else
				++b.beat;
		}
		if (t.mem_aw_valid_o) {
			uint64_t a = t.mem_aw_addr_o;
			uint32_t len = t.mem_aw_len_o;
			wq_.push_back({a, len, 0, burst_err(a, len)});
		}
		if (w_ready && t.mem_w_valid_o) {
			WriteBurst &b = wq_.front();
			uint32_t off = b.beat * DmaBytes;
			uint32_t n = b.len - off < DmaBytes ? b.len - off : DmaBytes;
			if (!b.err) {
				uint64_t data = t.mem_w_data_o;
				uint8_t *p = resolve(b.addr + off, n);
				if (p)
					std::memcpy(p, &data, n);
				wr_bytes += n;
				check_write(b.addr + off, n);
			}
			credit_ -= DmaBytes;
			if (off + DmaBytes >= b.len) {
				bq_.push_back({now + latency, b.err});
				wq_.pop_front();
			} else {
				++b.beat;
			}
		}
		if (b_valid)
			bq_.pop_front();

		t.clk_i = 1;
		t.eval();
		irq_ = irq_seen(t.irq_o);
#ifdef NPU_SIM_TRACE
		if (trace_) {
			trace_->dump(2 * cycles + 1);
		}
#endif
		++cycles;
	}

	std::unique_ptr<VerilatedContext> ctx_;
	std::unique_ptr<V> top_;
#ifdef NPU_SIM_TRACE
	std::unique_ptr<VerilatedFstC> trace_;
#endif
	std::deque<ReadBurst> rq_;
	std::deque<WriteBurst> wq_;
	std::deque<WriteResp> bq_;
	int64_t credit_ = 0;
	bool irq_ = false; // interrupt line as the host sees it
};

} // namespace

extern "C" {

int npu_sim_create(const struct npu_sim_config *cfg, struct npu_sim **out)
{
	if (!cfg || !out)
		return -1;
	const char *name = cfg->config ? cfg->config : "default";
	const char *fst = cfg->fst_path ? cfg->fst_path : std::getenv("NPU_SIM_FST");
	if (fst && !*fst)
		fst = nullptr;
#ifndef NPU_SIM_TRACE
	if (cfg->fst_path)
		return -1;
	fst = nullptr; // $NPU_SIM_FST is ignored by a build without trace support
#endif
	npu_sim *s = nullptr;
	if (std::strcmp(name, "default") == 0)
		s = new Sim<Vnpu_top_default, 8>("default", fst);
	else if (std::strcmp(name, "small") == 0)
		s = new Sim<Vnpu_top_small, 4>("small", fst);
	else
		return -1;
	if (cfg->mem_latency)
		s->latency = cfg->mem_latency;
	if (cfg->mem_bytes_per_cycle)
		s->bpc = cfg->mem_bytes_per_cycle;
	*out = s;
	return 0;
}

void npu_sim_destroy(struct npu_sim *sim)
{
	delete sim;
}

int npu_sim_reg_read(struct npu_sim *sim, uint32_t offset, uint32_t *value)
{
	uint32_t v = 0;
	if (sim->reg_access(false, offset, 0, &v) != 0)
		return -1;
	if (value)
		*value = v;
	return 0;
}

int npu_sim_reg_write(struct npu_sim *sim, uint32_t offset, uint32_t value)
{
	return sim->reg_access(true, offset, value, nullptr);
}

int npu_sim_map(struct npu_sim *sim, uint64_t dev_addr, void *host, size_t size)
{
	if (!host || size == 0 || dev_addr + size < dev_addr)
		return -1;
	auto next = sim->maps.lower_bound(dev_addr);
	if (next != sim->maps.end() && next->first < dev_addr + size)
		return -1;
	if (next != sim->maps.begin()) {
		auto prev = std::prev(next);
		if (prev->first + prev->second.size > dev_addr)
			return -1;
	}
	sim->maps[dev_addr] = {static_cast<uint8_t *>(host), size};
	return 0;
}

int npu_sim_unmap(struct npu_sim *sim, uint64_t dev_addr)
{
	return sim->maps.erase(dev_addr) ? 0 : -1;
}

int npu_sim_run(struct npu_sim *sim, uint64_t max_cycles)
{
	return sim->run(max_cycles);
}

uint64_t npu_sim_cycles(const struct npu_sim *sim)
{
	return sim->cycles;
}

void npu_sim_inject_bus_error(struct npu_sim *sim, uint64_t addr, uint64_t len)
{
	sim->inject = true;
	sim->inject_addr = addr;
	sim->inject_len = len;
}

void npu_sim_inject_hang(struct npu_sim *sim, int on)
{
	sim->hang = on != 0;
}

void npu_sim_inject_bus_error_after(struct npu_sim *sim, uint64_t n)
{
	sim->bus_error_at = sim->bursts + n + 1;
}

void npu_sim_inject_hang_after(struct npu_sim *sim, uint64_t n)
{
	sim->hang_at = sim->bursts + n + 1;
}

void npu_sim_inject_engine_hang(struct npu_sim *sim, unsigned engine_mask, uint64_t n)
{
	engine_mask &= NPU_SIM_ENGINE_PW | NPU_SIM_ENGINE_DW | NPU_SIM_ENGINE_PPU;
	sim->hold_mask = engine_mask;
	sim->hold_fetches = 0;
	sim->hold_at = engine_mask ? n : 0;
	if (engine_mask && !n)
		sim->engine_hold |= static_cast<uint8_t>(engine_mask);
}

void npu_sim_inject_corrupt_desc(struct npu_sim *sim, uint64_t n)
{
	sim->corrupt_at = n ? sim->desc_fetches + n : 0;
}

void npu_sim_inject_lose_irq(struct npu_sim *sim, uint64_t n)
{
	sim->lose_irq_at = n ? sim->irq_edges + n : 0;
}

int npu_sim_drain(struct npu_sim *sim, uint64_t max_cycles)
{
	return sim->drain(max_cycles);
}

uint64_t npu_sim_stray_write_bytes(const struct npu_sim *sim)
{
	return sim->stray_bytes;
}

void npu_sim_mem_stats(const struct npu_sim *sim, uint64_t *rd_bytes, uint64_t *wr_bytes,
                       uint64_t *bus_errors)
{
	if (rd_bytes)
		*rd_bytes = sim->rd_bytes;
	if (wr_bytes)
		*wr_bytes = sim->wr_bytes;
	if (bus_errors)
		*bus_errors = sim->bus_errors;
}

const char *npu_sim_config_name(const struct npu_sim *sim)
{
	return sim->config.c_str();
}

} // extern "C"
