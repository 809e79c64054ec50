/* The runtime's one clock: profile times and deadlines (runtime.h). */
#include <time.h>

#include "core/runtime.h"

uint64_t npui_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
