// Helpers shared by the tests that drive the command-line tools and scripts.
#ifndef TESTS_COMMON_SHELL_H
#define TESTS_COMMON_SHELL_H

#include <string>

namespace npu_test
{

struct Result {
	int status; // exit code, or 128 + signal number
	std::string out;
};

// Runs cmd with /bin/sh, capturing stdout and stderr together.
Result run(const std::string &cmd);

// The directory of the built tools with a trailing '/': $NPU_BUILD/bin/,
// build/bin/ when NPU_BUILD is unset or empty.
std::string bin_dir();

// bin_dir() + name.
std::string bin(const std::string &name);

bool exists(const std::string &path);

} // namespace npu_test

#endif
