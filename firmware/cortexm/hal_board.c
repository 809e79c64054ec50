/*
 * The firmware HAL of the dev board (board.h): the NPU's CSR window and
 * board DRAM memory-mapped on the FPGA expansion bus, errors from the
 * glue's sticky flag, the interrupt line from the glue's status and edge
 * counter.
 */
#include <stdint.h>
#include <string.h>

#include "driver/npu_regs.h"
#include "firmware/cortexm/board.h"
#include "firmware/cortexm/hal_board.h"

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define GLUE(off) REG(BOARD_GLUE_BASE + (off))

/* Cortex-M3 NVIC: set-enable, clear-enable, clear-pending. */
#define NVIC_ISER0 0xe000e100u
#define NVIC_ICER0 0xe000e180u
#define NVIC_ICPR0 0xe000e280u

/* Glue polls a reset may take: far beyond the NPU's longest burst. */
#define RESET_IDLE_POLLS 1000000u

struct board {
	uint32_t edges_seen; /* GLUE_IRQ_EDGES at the last look */
	int line_said;       /* what irq_line answered last */
};

static struct board board;

/* The access's error, and the flag cleared for the next one. */
static int bus_error(void)
{
	if (!(GLUE(GLUE_STATUS) & GLUE_STATUS_BUSERR))
		return 0;
	GLUE(GLUE_BUSERR_CLR) = 1;
	return -1;
}

static int hal_csr_read(void *ctx, uint32_t off, uint32_t *value)
{
	uint32_t v = REG(BOARD_NPU_CSR_BASE + off);

	(void)ctx;
	if (bus_error())
		return -1;
	*value = v;
	return 0;
}

static int hal_csr_write(void *ctx, uint32_t off, uint32_t value)
{
	(void)ctx;
	REG(BOARD_NPU_CSR_BASE + off) = value;
	return bus_error();
}

/* The core has checked [addr, addr + len) inside DRAM. */
static void *dram_cpu(uint64_t addr)
{
	return (void *)(uintptr_t)(BOARD_DRAM_CPU_BASE + (uint32_t)(addr - BOARD_DRAM_NPU_BASE));
}

static int hal_dram_write(void *ctx, uint64_t addr, const uint8_t *src, uint32_t len)
{
	(void)ctx;
	memcpy(dram_cpu(addr), src, len);
	return bus_error();
}

static int hal_dram_read(void *ctx, uint64_t addr, uint8_t *dst, uint32_t len)
{
	(void)ctx;
	memcpy(dst, dram_cpu(addr), len);
	return bus_error();
}

/*
 * The line's level, except that an edge the main loop could not see as a
 * level change (the line fell and rose again, or rose and fell, between
 * two looks) is answered as a change first: the core makes one event for
 * it instead of none. While the line is high its interrupt stays masked
 * (the host acknowledges, which may take long); it is unmasked once the
 * line is seen low, so that the next rise wakes the main loop.
 */
static int hal_irq_line(void *ctx)
{
	uint32_t edges = GLUE(GLUE_IRQ_EDGES);
	int level = (GLUE(GLUE_STATUS) & GLUE_STATUS_IRQ) != 0;

	(void)ctx;
	if (edges != board.edges_seen) {
		board.edges_seen = edges;
		if (board.line_said) {
			board.line_said = 0;
			return 0; /* next look: high again, a rise */
		}
		level = 1;
	}
	if (!level) {
		REG(NVIC_ICPR0) = 1u << BOARD_NPU_IRQ;
		REG(NVIC_ISER0) = 1u << BOARD_NPU_IRQ;
	}
	board.line_said = level;
	return level;
}

/* The line rose: the main loop is awake now; it looks at the line. */
void npu_irq_handler(void)
{
	REG(NVIC_ICER0) = 1u << BOARD_NPU_IRQ;
}

static int hal_npu_reset(void *ctx)
{
	(void)ctx;
	REG(BOARD_NPU_CSR_BASE + NPU_REG_CTRL) = NPU_REG_CTRL_SOFT_RESET_MASK;
	if (bus_error())
		return -1;
	/* The DMA finishes the bursts already on the bus: wait for them. */
	for (uint32_t i = 0; i < RESET_IDLE_POLLS; i++)
		if (GLUE(GLUE_STATUS) & GLUE_STATUS_IDLE)
			return 0;
	return -1;
}

static const struct fw_hal hal = {
        .ctx = &board,
        .csr_read = hal_csr_read,
        .csr_write = hal_csr_write,
        .dram_base = BOARD_DRAM_NPU_BASE,
        .dram_size = BOARD_DRAM_SIZE,
        .dram_write = hal_dram_write,
        .dram_read = hal_dram_read,
        .irq_line = hal_irq_line,
        .npu_reset = hal_npu_reset,
        .board_id = BOARD_ID,
};

const struct fw_hal *board_hal(void)
{
	board.edges_seen = GLUE(GLUE_IRQ_EDGES);
	board.line_said = 0;
	GLUE(GLUE_BUSERR_CLR) = 1;
	REG(NVIC_ICPR0) = 1u << BOARD_NPU_IRQ;
	REG(NVIC_ISER0) = 1u << BOARD_NPU_IRQ;
	return &hal;
}
