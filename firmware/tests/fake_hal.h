/*
 * A fake board for the firmware core's tests and its fuzz target: a
 * register file that answers like an lwnpu the driver core accepts, board
 * DRAM as an array with guard bytes on both sides (any stray write shows
 * in them), an interrupt line, and switches that make the CSR bus, DRAM
 * or the reset fail. Freestanding, like the core: it builds for the host
 * and for Cortex-M.
 */
#ifndef LWNPU_FIRMWARE_TESTS_FAKE_HAL_H
#define LWNPU_FIRMWARE_TESTS_FAKE_HAL_H

#include <stdint.h>

#include "firmware/fw_hal.h"
#include "driver/npu_regs.h"

#define FAKE_DRAM_BASE  0x80000000ull
#define FAKE_DRAM_SIZE  (128u * 1024u)
#define FAKE_GUARD      64u
#define FAKE_GUARD_BYTE 0xa5u
#define FAKE_BOARD_ID   0x00420001u
#define FAKE_NO_FAIL    0xffffffffu

struct fake {
	struct fw_hal hal;
	uint32_t regs[NPU_HW_CSR_BYTES / 4];
	uint8_t mem[FAKE_GUARD + FAKE_DRAM_SIZE + FAKE_GUARD];
	int irq;                  /* the interrupt line */
	uint32_t csr_fail_off;    /* CSR accesses at this offset fail */
	uint32_t dram_fail_after; /* DRAM calls that succeed before they fail */
	int reset_fails;          /* npu_reset returns -1 */
	uint32_t csr_reads, csr_writes, dram_writes, dram_reads, resets;
	uint32_t last_csr_write_off, last_csr_write_val;
};

/* An accepted NPU, zeroed DRAM with guards, line low, nothing failing. */
void fake_init(struct fake *f);
/* Board DRAM at NPU address addr (inside it). */
uint8_t *fake_dram(struct fake *f, uint64_t addr);
/* 1 when every guard byte is intact. */
int fake_guards_ok(const struct fake *f);

#endif /* LWNPU_FIRMWARE_TESTS_FAKE_HAL_H */
