/*
 * What the firmware tests need of their platform: a line of output and,
 * on the host only, saving a session as a trace (firmware/fw_trace.h) for
 * the fuzz corpus. firmware/tests/host_io.c implements it with stdio,
 * firmware/cortexm/semihost.c with semihosting (traces are not saved).
 */
#ifndef LWNPU_FIRMWARE_TESTS_TEST_IO_H
#define LWNPU_FIRMWARE_TESTS_TEST_IO_H

#include <stddef.h>
#include <stdint.h>

void test_puts(const char *s);
/* Save trace bytes as the named seed when the run asks for it. */
void test_save_trace(const char *name, const uint8_t *p, size_t n);

#endif /* LWNPU_FIRMWARE_TESTS_TEST_IO_H */
