/*
 * The dev board's wiring as the firmware sees it (docs/USB_PROTOCOL.md,
 * "Board wiring"): a Cortex-M3 on the AN385 memory map with the NPU on the
 * FPGA's expansion bus. The addresses are this board's choice, in ranges
 * the AN385 leaves free:
 *
 *   0x40100000  NPU CSR window, 4 KiB, 32-bit accesses only
 *   0x40101000  NPU glue registers (below)
 *   0x60000000  board DRAM as the CPU sees it (the Cortex-M external-RAM
 *               region), 256 MiB; the NPU sees the same memory at
 *               BOARD_DRAM_NPU_BASE
 *   IRQ 24      the NPU's interrupt line, level-sensitive, active high
 *
 * The glue between the CPU's bus and the NPU turns an error response of
 * the NPU's CSR port or of DRAM into a sticky flag instead of a bus fault
 * (a BusFault would leave no way to answer the host with BUS_ERROR), and
 * sees what the firmware cannot see by reading the line: rising edges
 * that came and went between two looks, and whether the NPU's memory
 * port has a transaction outstanding (what a reset waits for).
 */
#ifndef LWNPU_FIRMWARE_CORTEXM_BOARD_H
#define LWNPU_FIRMWARE_CORTEXM_BOARD_H

#define BOARD_ID 0x00010001u /* board type 1 (Cortex-M3 + FPGA NPU), revision 1 */

#define BOARD_NPU_CSR_BASE  0x40100000u
#define BOARD_GLUE_BASE     0x40101000u
#define BOARD_DRAM_CPU_BASE 0x60000000u
#define BOARD_DRAM_NPU_BASE 0x80000000ull
#define BOARD_DRAM_SIZE     (256u << 20)
#define BOARD_NPU_IRQ       24u /* must match startup.c's vector */

/* Glue registers, offsets from BOARD_GLUE_BASE. */
#define GLUE_STATUS        0x00u /* read-only */
#define GLUE_STATUS_IRQ    0x1u  /* the NPU's interrupt line, now */
#define GLUE_STATUS_BUSERR 0x2u  /* an access since the last clear got an error */
#define GLUE_STATUS_IDLE   0x4u  /* the NPU's memory port has nothing outstanding */
#define GLUE_IRQ_EDGES     0x04u /* read-only: rising edges of the line, counted (wraps) */
#define GLUE_BUSERR_CLR    0x08u /* write 1: clear STATUS.BUSERR */

#endif /* LWNPU_FIRMWARE_CORTEXM_BOARD_H */
