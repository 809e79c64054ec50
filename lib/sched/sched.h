/*
 * The scheduler: places each layer of a validated graph on an NPU engine or
 * on the CPU, tiles it to the SRAM sizes the device reports, and emits the
 * descriptor stream (docs/HARDWARE.md §4). Computed once at model load for
 * the device actually opened (its CAPS), so one model file runs on every
 * configuration.
 *
 * Output: an ordered list of segments. A CPU segment is a range of layers
 * the runtime runs with npui_ref_run_layer(). An NPU segment is a list of
 * 64-byte descriptors whose device addresses are relative to two buffers
 * and are patched (relocated) by the runtime once those buffers exist:
 *   NPUI_RELOC_ARENA: the model's activation arena (tensor t lives at
 *                     arena_off[t], as the runtime planned it),
 *   NPUI_RELOC_CONST: the constant blob the scheduler produced (weights in
 *                     the engines' order, bias/mult/shift tables, LUTs).
 */
#ifndef NPUI_SCHED_H
#define NPUI_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

struct npui_ref_plan;

/* What the device reported in its CAPS registers (docs/HARDWARE.md §8). */
struct npui_caps {
	uint32_t pw_rows, pw_cols; /* PW array shape */
	uint32_t dw_lanes, ppu_lanes;
	uint32_t epi_lanes;            /* conv epilogue results per cycle */
	uint32_t act_bytes, wgt_bytes; /* SRAM sizes in bytes */
	uint32_t acc_bytes, param_bytes;
	uint32_t dma_bytes; /* DMA data bus width */
	uint32_t num_windows;
	uint32_t dma_outstanding;    /* DMA bursts in flight per direction */
	uint32_t engines;            /* NPU_REG_CAPS_ENGINES bits */
	double clock_mhz;            /* nominal clock for reporting */
	double dram_bytes_per_cycle; /* for the bound (docs/PERFORMANCE.md) */
};

enum npui_reloc_kind {
	NPUI_RELOC_ARENA = 1,
	NPUI_RELOC_CONST = 2,
};

/* One 64-bit address field inside a descriptor to patch: the low word is
 * word `word`, the high word `word + 1`; value = base(kind) + offset. */
struct npui_reloc {
	uint32_t desc; /* descriptor index in the segment */
	uint8_t word;  /* 32-bit word index in the descriptor */
	uint8_t kind;  /* enum npui_reloc_kind */
	uint64_t offset;
};

enum npui_seg_kind {
	NPUI_SEG_CPU = 1,
	NPUI_SEG_NPU = 2,
};

struct npui_segment {
	uint8_t kind;
	uint32_t first_layer, num_layers; /* layers [first, first+num) */
	/* NPU only: */
	uint32_t num_desc;
	uint32_t *desc; /* num_desc * 16 words */
	uint32_t num_relocs;
	struct npui_reloc *relocs;
	/* layer_of_desc[i]: the graph layer descriptor i belongs to (for
	 * per-layer cycle attribution from the descriptor tags). */
	uint32_t *layer_of_desc;
};

/* Per-layer placement, for NPU_DEBUG and the profile. */
struct npui_placement {
	char engine[8];        /* "pw", "dw", "ppu", "dma", "cpu" */
	uint8_t folded;        /* 1: costs no engine cycles (addressing) */
	char why[64];          /* one line: why here (e.g. "no LUT engine") */
	uint64_t bound_cycles; /* this layer's bound (docs/SCHEDULER.md §6) */
	uint64_t dram_bytes;   /* minimum traffic of this layer */
};

struct npui_sched {
	uint32_t num_segments;
	struct npui_segment *segments;
	struct npui_placement *placement; /* [num_layers] */
	uint8_t *const_blob;
	size_t const_size;
};

/*
 * Build the schedule. arena_off[t] is tensor t's byte offset in the
 * activation arena (the runtime's plan). Returns NPU_OK, NPU_ERR_NO_MEM,
 * or NPU_ERR_NOT_SUPPORTED (with why) when the device cannot run the
 * graph at all (e.g. no CP/DMA engine: then everything goes to the CPU
 * instead — that is not an error).
 */
int npui_sched_build(const struct npui_graph *g, const struct npui_ref_plan *plan,
                     const struct npui_caps *caps, const size_t *arena_off, struct npui_sched **out,
                     char *why, size_t why_len);
void npui_sched_free(struct npui_sched *s);

/* ---- additions by the scheduler (docs/SCHEDULER.md) ---------------------- */

/*
 * Fill caps with one of the two documented builds (docs/HARDWARE.md §8):
 * small != 0: 4x4 PW, 4 DW lanes, 16 KiB ACT/WGT, 4 KiB ACC, 2 KiB PARAM;
 * else the default 16x16, 16 lanes, 128 KiB ACT/WGT, 64 KiB ACC, 8 KiB
 * PARAM. Every engine bit set, 8 DRAM bytes per cycle, the nominal clock
 * NPU_HW_NOMINAL_CLOCK_MHZ (driver/npu_regs.h).
 * For tests and for a device whose CAPS are not readable yet.
 */
void npui_caps_preset(struct npui_caps *caps, int small);

/*
 * An activation arena in which every fold the scheduler wants for these
 * caps is safe: the runtime's planner (lib/ir/arena.h), but a tensor that
 * hosts folded tensors lives from the first write to the last read of any
 * of them, folded tensors take no bytes, and tensors are placed by exact
 * size (NPUI_ARENA_BY_BYTES). arena_off has g->num_tensors entries (0 for
 * tensors that need no bytes). With the runtime's own plan,
 * npui_sched_build still works: it undoes (turns into DMA copies) the
 * folds that plan cannot afford.
 * Returns NPU_OK, NPU_ERR_INVALID_ARG, NPU_ERR_NO_MEM.
 */
int npui_sched_arena_plan(const struct npui_graph *g, const struct npui_caps *caps,
                          size_t *arena_off, size_t *arena_size);

/*
 * The whole network's bound (docs/PERFORMANCE.md): max(PW MACs / (rows*cols),
 * DW MACs / lanes, DRAM / bytes per cycle) with DRAM = every CONV/FC's
 * weights and bias once + network input + network output.
 */
void npui_sched_net_bound(const struct npui_graph *g, const struct npui_caps *caps,
                          const struct npui_sched *s, uint64_t *bound_cycles, uint64_t *dram_bytes);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_SCHED_H */
