#include "tests/common/shell.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

namespace npu_test
{

Result run(const std::string &cmd)
{
	Result r{-1, ""};
	FILE *p = popen((cmd + " 2>&1").c_str(), "r");
	if (!p)
		return r;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	int st = pclose(p);
	if (st == -1)
		return r;
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

std::string bin_dir()
{
	const char *b = getenv("NPU_BUILD");
	return std::string(b && *b ? b : "build") + "/bin/";
}

std::string bin(const std::string &name)
{
	return bin_dir() + name;
}

bool exists(const std::string &path)
{
	struct stat st;
	return stat(path.c_str(), &st) == 0;
}

} // namespace npu_test
