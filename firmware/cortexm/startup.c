/*
 * Reset and the vector table of a Cortex-M3 image, by hand: no C library
 * start-up code (QEMU 7.2's semihosting answers newlib's heap query
 * wrongly on mps2-an385, and the program's output is lost). Reset copies
 * .data from its load address, zeroes .bss, runs main and exits through
 * semihosting with main's status; a fault exits with 126 + a line on the
 * console instead of hanging. The board image installs its interrupt
 * handlers with the weak names below.
 */
#include <stdint.h>

#include "firmware/cortexm/semihost.h"

extern uint32_t __data_start[], __data_end[], __data_load[], __bss_start[], __bss_end[];
extern uint32_t __stack_top[];

int main(void);
void reset_handler(void);

static void fault_handler(void)
{
	sh_write0("cortexm: fault or unexpected interrupt\n");
	sh_exit(126);
}

/* External interrupts a board uses (hal_board.c); the rest fault. */
void npu_irq_handler(void) __attribute__((weak, alias("fault_handler")));

void reset_handler(void)
{
	uint32_t *s = __data_load, *d = __data_start;

	while (d < __data_end)
		*d++ = *s++;
	for (d = __bss_start; d < __bss_end; d++)
		*d = 0;
	sh_exit(main());
}

#define NPU_IRQ_NUM 24 /* the NPU's line: external interrupt 24 (board.h) */

typedef void (*vector_fn)(void);

/* 16 system exceptions, then the AN385's 32 external interrupts. */
__attribute__((section(".vectors"), used)) static const vector_fn vectors[16 + 32] = {
        [0] = (vector_fn)(uintptr_t)__stack_top,
        [1] = reset_handler,
        [2 ... 15] = fault_handler,
        [16 ... 16 + NPU_IRQ_NUM - 1] = fault_handler,
        [16 + NPU_IRQ_NUM] = npu_irq_handler,
        [16 + NPU_IRQ_NUM + 1 ... 16 + 31] = fault_handler,
};
