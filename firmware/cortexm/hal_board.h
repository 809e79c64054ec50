/* The board's HAL (board.h's wiring) for the firmware core. */
#ifndef LWNPU_FIRMWARE_CORTEXM_HAL_BOARD_H
#define LWNPU_FIRMWARE_CORTEXM_HAL_BOARD_H

#include "firmware/fw_hal.h"

/* The HAL over the board's NPU, DRAM and interrupt line; unmasks the
 * NPU's interrupt (it only wakes the main loop). */
const struct fw_hal *board_hal(void);

#endif /* LWNPU_FIRMWARE_CORTEXM_HAL_BOARD_H */
