/*
 * The firmware's hardware abstraction (docs/USB_PROTOCOL.md, "Firmware").
 *
 * What the portable core (firmware/fw.c) needs of a board: the NPU's CSR
 * bus, board DRAM as the NPU addresses it, the NPU's interrupt line and a
 * way to soft-reset it. The USB endpoints are not here: the board's USB
 * driver calls the core's fw_control/fw_bulk_out/fw_bulk_in/fw_intr_in
 * (firmware/fw.h), so one core serves a real USB device controller, the
 * virtual board (firmware/vboard) and the unit tests alike.
 *
 * Implementations: firmware/cortexm (the mps2-an385 memory map), the
 * virtual board's (the Verilator NPU), and the unit tests' fakes.
 */
#ifndef LWNPU_FIRMWARE_FW_HAL_H
#define LWNPU_FIRMWARE_FW_HAL_H

#include <stdint.h>

struct fw_hal {
	void *ctx; /* passed to every call */

	/* One 32-bit access to the NPU CSR window at byte offset off (the
	 * core has checked it is 4-aligned and below NPU_HW_CSR_BYTES).
	 * Return 0, or -1 when the bus answers with an error. */
	int (*csr_read)(void *ctx, uint32_t off, uint32_t *value);
	int (*csr_write)(void *ctx, uint32_t off, uint32_t value);

	/* Board DRAM is [dram_base, dram_base + dram_size) in the NPU's
	 * address space. The core has checked that [addr, addr + len) lies
	 * inside it and len > 0. Return 0, or -1 on a memory error. */
	uint64_t dram_base;
	uint64_t dram_size;
	int (*dram_write)(void *ctx, uint64_t addr, const uint8_t *src, uint32_t len);
	int (*dram_read)(void *ctx, uint64_t addr, uint8_t *dst, uint32_t len);

	/* 1 when the NPU's interrupt line is high now, else 0. */
	int (*irq_line)(void *ctx);

	/* Soft-reset the NPU (write CTRL.SOFT_RESET) and wait until its bus
	 * has no transaction outstanding. Return 0, or -1 if it did not go
	 * idle. */
	int (*npu_reset)(void *ctx);

	/* Reported in GET_INFO. */
	uint32_t board_id;
};

#endif /* LWNPU_FIRMWARE_FW_HAL_H */
