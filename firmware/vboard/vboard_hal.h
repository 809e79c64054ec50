/*
 * The virtual board's hardware: a Verilator NPU and board DRAM, and the
 * firmware HAL over them (firmware/fw_hal.h). Internal to firmware/vboard.
 */
#ifndef LWNPU_FIRMWARE_VBOARD_HAL_H
#define LWNPU_FIRMWARE_VBOARD_HAL_H

#include <stdint.h>

#include "firmware/fw_hal.h"

struct npu_sim;
struct npu_sim_config;

/* Board DRAM in the NPU's address space, as on the dev board. */
#define VBOARD_DRAM_BASE 0x80000000ull
/* GET_INFO board_id of the virtual board: "VB" and revision 1. */
#define VBOARD_BOARD_ID 0x56420001u

/* One power-on of the board. */
struct vboard_npu {
	struct npu_sim *sim;
	uint8_t *dram;
	uint64_t dram_base, dram_size;
	struct fw_hal hal;
	int kicked; /* a CSR write since the board thread last looked at STATUS */
	uint64_t dram_written, dram_read;
};

/* Power on: fresh DRAM (zeroed), a new NPU out of reset, the HAL filled.
 * Returns 0, or -1 (out of memory, or the simulator refused scfg). */
int vboard_npu_power_on(struct vboard_npu *n, const struct npu_sim_config *scfg,
                        uint64_t dram_size);
void vboard_npu_power_off(struct vboard_npu *n);
/* Whether the NPU has work: STATUS.BUSY, or RING_HEAD != RING_TAIL with
 * CTRL.ENABLE set, while not halted (up to four CSR reads, a device cycle
 * each). */
int vboard_npu_busy(struct vboard_npu *n);
/* Clock the NPU for cycles, fewer if its interrupt line rises meanwhile
 * (with the line already high, the whole slice). Returns 1 if the line is
 * high afterwards. */
int vboard_npu_clock(struct vboard_npu *n, uint64_t cycles);

#endif /* LWNPU_FIRMWARE_VBOARD_HAL_H */
