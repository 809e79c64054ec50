/* Semihosting (semihost.h): BKPT 0xAB with the operation in r0 and its
 * argument in r1. */
#include <stdint.h>

#include "firmware/cortexm/semihost.h"

#define SYS_WRITE0        0x04u
#define SYS_EXIT_EXTENDED 0x20u
/* ADP_Stopped_ApplicationExit: a normal exit, its status in the block. */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uintptr_t sh_call(uint32_t op, const void *arg)
{
	register uintptr_t r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void sh_write0(const char *s)
{
	(void)sh_call(SYS_WRITE0, s);
}

void sh_exit(int code)
{
	const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};

	for (;;)
		(void)sh_call(SYS_EXIT_EXTENDED, block);
}
