/*
 * Size and seed knobs that tests read from the environment (NPU_TB_CASES,
 * NPU_SIM_CASES, NPU_NET_SIZE, ...). A knob is for making a run longer,
 * shorter or differently seeded, never for making it vanish: a value that
 * is not a whole number in [min, max] -- "0" cases, "", "abc", "-1" --
 * stops the test program with exit status 2 and says why, so that a
 * mistyped or hostile setting fails the run instead of passing an empty
 * suite. Header-only: the RTL testbenches, the harness tests and the
 * GoogleTest suites include it.
 */
#ifndef NPU_TEST_ENV_H
#define NPU_TEST_ENV_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* The value of environment variable name, or def when it is unset. */
static inline long long npu_test_env_int(const char *name, long long def, long long min,
                                         long long max)
{
	const char *e = getenv(name);
	char *end = NULL;
	long long v;

	if (!e)
		return def;
	errno = 0;
	v = strtoll(e, &end, 0);
	if (!*e || *end || errno || v < min || v > max) {
		fprintf(stderr, "%s=\"%s\": need a whole number in [%lld, %lld]; refusing to run\n",
		        name, e, min, max);
		exit(2);
	}
	return v;
}

#endif /* NPU_TEST_ENV_H */
