/*
 * The firmware tests' platform on the host (test_io.h): stderr, and the
 * sessions written as fuzz seeds into $FW_TEST_TRACE_DIR when it is set.
 */
#include <stdio.h>
#include <stdlib.h>

#include "firmware/tests/test_io.h"

void test_puts(const char *s)
{
	fputs(s, stderr);
}

void test_save_trace(const char *name, const uint8_t *p, size_t n)
{
	const char *dir = getenv("FW_TEST_TRACE_DIR");
	char path[512];
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.trace", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "fw-test: cannot write %s\n", path);
		exit(125);
	}
}
