/*
 * The virtual board's HAL (firmware/fw_hal.h) over the Verilator NPU: the
 * CSR bus is npu_sim_reg_read/write, board DRAM is host memory that the
 * NPU sees through npu_sim_map at VBOARD_DRAM_BASE, the interrupt line is
 * what npu_sim_run reports, and a soft reset waits for the memory to
 * answer every burst (npu_sim_drain), as driver/sim.c resets.
 *
 * Called only from the board thread (firmware/vboard/vboard.c), like the
 * firmware core above it.
 */
#include <stdlib.h>
#include <string.h>

#include "firmware/vboard/vboard_hal.h"

#include "driver/npu_regs.h"
#include "rtl-sim/harness/npu_sim.h"

/* A reset waits at most this long for outstanding bursts (driver/sim.c). */
#define VBOARD_DRAIN_CYCLES 1000000ull

static int hal_csr_read(void *ctx, uint32_t off, uint32_t *value)
{
	struct vboard_npu *n = ctx;

	if (off >= NPU_HW_CSR_BYTES || (off & 3))
		return -1;
	return npu_sim_reg_read(n->sim, off, value) == 0 ? 0 : -1;
}

static int hal_csr_write(void *ctx, uint32_t off, uint32_t value)
{
	struct vboard_npu *n = ctx;

	if (off >= NPU_HW_CSR_BYTES || (off & 3))
		return -1;
	n->kicked = 1; /* the NPU may have work now: the board thread looks */
	return npu_sim_reg_write(n->sim, off, value) == 0 ? 0 : -1;
}

/* The core has checked the range; check again, the board is ours. */
static uint8_t *dram_at(struct vboard_npu *n, uint64_t addr, uint32_t len)
{
	if (!len || addr < n->dram_base || addr - n->dram_base > n->dram_size ||
	    len > n->dram_size - (addr - n->dram_base))
		return NULL;
	return n->dram + (addr - n->dram_base);
}

static int hal_dram_write(void *ctx, uint64_t addr, const uint8_t *src, uint32_t len)
{
	struct vboard_npu *n = ctx;
	uint8_t *p = dram_at(n, addr, len);

	if (!p)
		return -1;
	memcpy(p, src, len);
	n->dram_written += len;
	return 0;
}

static int hal_dram_read(void *ctx, uint64_t addr, uint8_t *dst, uint32_t len)
{
	struct vboard_npu *n = ctx;
	const uint8_t *p = dram_at(n, addr, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	n->dram_read += len;
	return 0;
}

static int hal_irq_line(void *ctx)
{
	struct vboard_npu *n = ctx;

	/* With no cycles to run this only reports the line. */
	return npu_sim_run(n->sim, 0) == 1;
}

static int hal_npu_reset(void *ctx)
{
	struct vboard_npu *n = ctx;

	n->kicked = 1;
	if (npu_sim_reg_write(n->sim, NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK) != 0)
		return -1;
	return npu_sim_drain(n->sim, VBOARD_DRAIN_CYCLES) == 0 ? 0 : -1;
}

int vboard_npu_power_on(struct vboard_npu *n, const struct npu_sim_config *scfg, uint64_t dram_size)
{
	memset(n, 0, sizeof(*n));
	/* calloc of a large block gets fresh zero pages from the kernel: a
	 * power cycle zeroes DRAM without touching every byte. */
	n->dram = calloc(1, dram_size);
	if (!n->dram)
		return -1;
	n->dram_base = VBOARD_DRAM_BASE;
	n->dram_size = dram_size;
	if (npu_sim_create(scfg, &n->sim) != 0)
		goto err_free_dram;
	if (npu_sim_map(n->sim, n->dram_base, n->dram, dram_size) != 0)
		goto err_destroy_sim;

	n->hal.ctx = n;
	n->hal.csr_read = hal_csr_read;
	n->hal.csr_write = hal_csr_write;
	n->hal.dram_base = n->dram_base;
	n->hal.dram_size = dram_size;
	n->hal.dram_write = hal_dram_write;
	n->hal.dram_read = hal_dram_read;
	n->hal.irq_line = hal_irq_line;
	n->hal.npu_reset = hal_npu_reset;
	n->hal.board_id = VBOARD_BOARD_ID;
	return 0;

err_destroy_sim:
	npu_sim_destroy(n->sim);
	n->sim = NULL;
err_free_dram:
	free(n->dram);
	n->dram = NULL;
	return -1;
}

void vboard_npu_power_off(struct vboard_npu *n)
{
	npu_sim_destroy(n->sim);
	free(n->dram);
	n->sim = NULL;
	n->dram = NULL;
}

int vboard_npu_busy(struct vboard_npu *n)
{
	uint32_t st, ctrl, head, tail;

	if (npu_sim_reg_read(n->sim, NPU_REG_STATUS, &st) != 0)
		return 0;
	if (st & NPU_REG_STATUS_HALTED_MASK)
		return 0; /* stopped until a soft reset */
	if (st & NPU_REG_STATUS_BUSY_MASK)
		return 1;
	/* Descriptors queued for a command processor that may fetch them. */
	if (npu_sim_reg_read(n->sim, NPU_REG_CTRL, &ctrl) != 0 ||
	    !(ctrl & NPU_REG_CTRL_ENABLE_MASK) ||
	    npu_sim_reg_read(n->sim, NPU_REG_RING_HEAD, &head) != 0 ||
	    npu_sim_reg_read(n->sim, NPU_REG_RING_TAIL, &tail) != 0)
		return 0;
	return head != tail;
}

int vboard_npu_clock(struct vboard_npu *n, uint64_t cycles)
{
	/* npu_sim_run stops at a high interrupt line; the NPU itself goes on
	 * with its queue while the line waits for the host, so then it is
	 * clocked through the drain, which ignores the line (and returns
	 * whenever the memory has been quiet a few cycles: again until the
	 * slice is used up). */
	uint64_t start = npu_sim_cycles(n->sim), ran;

	if (npu_sim_run(n->sim, 0) != 1)
		return npu_sim_run(n->sim, cycles);
	while ((ran = npu_sim_cycles(n->sim) - start) < cycles)
		npu_sim_drain(n->sim, cycles - ran);
	return 1;
}
