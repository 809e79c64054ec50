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

#include <stddef.h>
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
	uint32_t stray;      /* DRAM calls outside DRAM or of 0 bytes (refused) */
	uint32_t dram_fails; /* DRAM calls that failed (dram_fail_after ran out) */
	uint32_t last_csr_write_off, last_csr_write_val;
};

/* An accepted NPU, zeroed DRAM with guards, line low, nothing failing. */
void fake_init(struct fake *f);
/* Board DRAM at NPU address addr (inside it). */
uint8_t *fake_dram(struct fake *f, uint64_t addr);
/*
 * A FW_TRACE_FAKE record's payload (missing bytes read as 0):
 *   p[0] & 3 == 0: CSR accesses at offset p[1..4] & 0xffc fail
 *                  (0xffffffff: none)
 *   p[0] & 3 == 1: p[1..4] more DRAM calls succeed, then all fail
 *                  (0xffffffff: never)
 *   p[0] & 3 == 2: npu_reset fails when p[1] & 1
 *   p[0] & 3 == 3: register IRQ_STATUS + 4 * (p[1] & 7) = p[2..5] (the
 *                  eight words IRQ_STATUS .. ERR_INDEX, what an event reads)
 * Integers little-endian.
 */
#define FAKE_CSR_FAIL   0
#define FAKE_DRAM_FAIL  1
#define FAKE_RESET_FAIL 2
#define FAKE_SET_REG    3
#define FAKE_APPLY_MAX  6 /* payload bytes read */
void fake_apply(struct fake *f, const uint8_t *p, size_t n);

/* 1 when every guard byte is intact and no DRAM call strayed. */
int fake_dram_ok(const struct fake *f);

#endif /* LWNPU_FIRMWARE_TESTS_FAKE_HAL_H */
