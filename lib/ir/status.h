/*
 * The calling thread's detail message for npu_last_error() (status.c).
 * Status codes themselves are public: npu.h.
 */
#ifndef NPUI_STATUS_H
#define NPUI_STATUS_H

/* Set the detail npu_last_error() returns on this thread (printf-style). */
void npui_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* NPUI_STATUS_H */
