/*
 * Arm semihosting (the debugger's, or QEMU's with -semihosting): text
 * out and the exit status. The only output a Cortex-M image here has; on
 * QEMU it appears on stderr.
 */
#ifndef LWNPU_FIRMWARE_CORTEXM_SEMIHOST_H
#define LWNPU_FIRMWARE_CORTEXM_SEMIHOST_H

/* SYS_WRITE0: a NUL-terminated string to the host's console. */
void sh_write0(const char *s);
/* SYS_EXIT_EXTENDED: stop the program with this exit status. */
_Noreturn void sh_exit(int code);

#endif /* LWNPU_FIRMWARE_CORTEXM_SEMIHOST_H */
