// ISA-level functional model of the lwnpu descriptors (docs/HARDWARE.md §2,
// §4, §7 with the interpretations of docs/SCHEDULER.md §3). A TEST ORACLE
// for the scheduler's command streams, NOT a device: no timing, no
// registers, no ring. It keeps the SRAMs as byte arrays filled with noise,
// executes DMA_LOAD/STORE against a map of host regions, PW_CONV, DW_CONV,
// PPU_REQUANT/ADD/POOL with lib/ref/quant.h's primitives, and runs the
// LOAD / COMPUTE / STORE queues in a seeded random interleaving that only
// the dependency tokens constrain, so a missing token shows up as a wrong
// result or a reported deadlock. Anything a descriptor asks for that the
// hardware would refuse (reserved bits, misaligned or out-of-range SRAM
// addresses, DMA outside every region, token overflow) is an error.
#ifndef LWNPU_TESTS_SCHED_ISA_MODEL_H
#define LWNPU_TESTS_SCHED_ISA_MODEL_H

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "sched/sched.h"

namespace isa
{

// What one layer's descriptors did, by their tag (word 1, the layer index).
struct LayerWork {
	uint64_t ops = 0;  // DMA, conv and PPU descriptors executed (no SYNC, FENCE)
	uint64_t macs = 0; // multiply-accumulates of its PW/DW descriptors
};

struct Stats {
	uint64_t descs = 0, loads = 0, stores = 0, pw = 0, dw = 0, ppu = 0, syncs = 0;
	uint64_t rd_bytes = 0, wr_bytes = 0, pw_macs = 0, dw_macs = 0;
	std::map<uint32_t, LayerWork> by_layer;
};

class Model
{
      public:
	Model(const npui_caps &caps, uint32_t seed);
	// A host region the DMA may touch.
	void AddRegion(uint64_t base, uint8_t *ptr, size_t size, bool writable);
	// Run a command stream to completion. Returns "" or the first error.
	std::string Run(const uint32_t *desc, uint32_t n);
	const Stats &stats() const
	{
		return stats_;
	}

      private:
	struct Region {
		uint64_t base;
		uint8_t *ptr;
		size_t size;
		bool writable;
	};
	std::string Exec(const uint32_t *d);
	std::string Dma(const uint32_t *d, bool store);
	std::string Conv(const uint32_t *d, bool dw);
	std::string Requant(const uint32_t *d);
	std::string Add(const uint32_t *d);
	std::string Pool(const uint32_t *d);
	uint8_t *Host(uint64_t addr, bool write);
	bool ActOk(uint64_t addr, uint64_t n) const
	{
		return addr + n <= act_.size();
	}

	npui_caps caps_;
	std::mt19937 rng_;
	std::vector<int8_t> act_, wgt_;
	std::vector<int32_t> acc_, param_;
	std::vector<Region> regions_;
	Stats stats_;
	uint32_t R_, Cc_, L_, PL_;
};

} // namespace isa

#endif
