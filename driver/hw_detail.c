/*
 * A backend's word on its last failure (driver/backend.h,
 * npu_hw_set_detail): a unit of its own, below every backend, so that a
 * backend calling it does not call back into the registry that names it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "driver/backend.h"

/* Long enough for a path and the shell commands that fix it. */
static _Thread_local char hw_detail[512];

void npu_hw_set_detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hw_detail, sizeof(hw_detail), fmt, ap);
	va_end(ap);
}

const char *npu_hw_detail(void)
{
	return hw_detail;
}
