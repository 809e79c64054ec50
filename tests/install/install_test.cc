// `make install` into a temporary DESTDIR, then an application built out of
// tree with nothing but `pkg-config --cflags --libs npu`: it runs a zoo
// MobileNetV2 (written by the installed npu-zoo) on cpu and on sim through
// the installed libnpu.so, and the two outputs must be the same bytes.
// `make uninstall` must then remove exactly what install wrote.
//
// Runs from the repository root (as make test does), with the build
// directory in $NPU_BUILD.

#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "tests/common/backends.h"
#include "tests/common/shell.h"

namespace
{

std::string build_dir()
{
	const char *b = getenv("NPU_BUILD");
	return b && *b ? b : "build";
}

// The make variables the build directory was configured with: its
// backends (the registry's list is BACKENDS) and, for a sanitizer build,
// the build directory whose harness it links (NPU_SIM_BUILD, set by make
// asan). Without them, make would see another configuration and rebuild.
std::string build_config()
{
	const char *sb = getenv("NPU_SIM_BUILD");
	return "BUILD='" + build_dir() + "' BACKENDS='" + npu_test::BuiltBackends() + "'" +
	       (sb && *sb ? " SIM_BUILD='" + std::string(sb) + "'" : "");
}

std::string slurp(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// Every file and symlink under dir, relative to it.
std::set<std::string> tree(const std::string &dir)
{
	npu_test::Result r = npu_test::run("cd '" + dir + "' && find . ! -type d | sort");
	std::set<std::string> out;
	std::istringstream in(r.out);
	for (std::string line; std::getline(in, line);)
		out.insert(line.substr(2));
	return out;
}

// The application: only npu.h, linked only as pkg-config says. Output:
// the float logits of a fixed input, raw, to argv[3].
const char *kApp = R"(#include <npu.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	npu_device *dev;
	npu_model *m;
	struct npu_tensor_info ii, oi;
	int rc;
	if (argc != 4)
		return 2;
	if ((rc = npu_open(argv[1], &dev)) != NPU_OK) {
		fprintf(stderr, "npu_open: %s %s\n", npu_status_name(rc), npu_last_error());
		return 1;
	}
	if ((rc = npu_model_load_file(dev, argv[2], &m)) != NPU_OK) {
		fprintf(stderr, "load: %s %s\n", npu_status_name(rc), npu_last_error());
		return 1;
	}
	npu_model_input(m, &ii);
	npu_model_output(m, &oi);
	float *x = malloc(ii.elements * sizeof(float));
	float *y = malloc(oi.elements * sizeof(float));
	for (size_t i = 0; i < ii.elements; i++)
		x[i] = (float)((int)(i * 7919 % 2001) - 1000) / 1000.0f;
	struct npu_io io = {
		.input_type = NPU_IO_FLOAT32, .input = x, .input_size = ii.elements * sizeof(float),
		.output_type = NPU_IO_FLOAT32, .output = y, .output_size = oi.elements * sizeof(float),
	};
	if ((rc = npu_run(m, &io)) != NPU_OK) {
		fprintf(stderr, "npu_run: %s %s\n", npu_status_name(rc), npu_last_error());
		return 1;
	}
	FILE *f = fopen(argv[3], "wb");
	if (!f || fwrite(y, sizeof(float), oi.elements, f) != oi.elements || fclose(f))
		return 1;
	printf("%s: %zu outputs\n", npu_device_uri(dev), oi.elements);
	free(x);
	free(y);
	npu_model_free(m);
	npu_close(dev);
	return 0;
}
)";

class Install : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		if (!npu_test::exists("Makefile") || !npu_test::exists("lib/include/npu.h"))
			GTEST_SKIP()
			        << "not run from the repository root (make test runs it there)";
		if (npu_test::run("command -v pkg-config").status != 0)
			GTEST_SKIP()
			        << "pkg-config not installed (Debian pkg-config, tools/setup-deps)";
		char tmpl[] = "/tmp/npu-install-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		tmp_ = tmpl;
		root_ = tmp_ + "/root";
	}
	void TearDown() override
	{
		if (!tmp_.empty() && !HasFailure())
			npu_test::run("rm -rf '" + tmp_ + "'");
	}

	std::string make(const std::string &target)
	{
		return "make --no-print-directory -s " + build_config() + " DESTDIR='" + root_ +
		       "' PREFIX=/usr/local " + target;
	}

	std::string tmp_, root_;
};

TEST_F(Install, PkgConfigAppRunsMobileNetV2OnCpuAndSimAlike)
{
	// install copies what is built. It must not rebuild anything here: this
	// make does not know the flags the build was made with (SAN, OPT).
	npu_test::Result r =
	        npu_test::run("make -q --no-print-directory " + build_config() + " shared tools");
	ASSERT_EQ(r.status, 0) << "the library or a tool in " << build_dir()
	                       << " is older than its sources (make -q shared tools): build first";
	r = npu_test::run(make("install"));
	ASSERT_EQ(r.status, 0) << r.out;

	// What install writes (the tools and their man pages by wildcard).
	std::set<std::string> files = tree(root_);
	for (const char *f :
	     {"usr/local/lib/libnpu.so.1.1.0", "usr/local/lib/libnpu.so.1",
	      "usr/local/lib/libnpu.so", "usr/local/lib/libnpu.a", "usr/local/include/npu.h",
	      "usr/local/lib/pkgconfig/npu.pc", "usr/local/bin/npu-run", "usr/local/bin/npu-zoo",
	      "usr/local/share/man/man1/npu-run.1", "usr/local/share/man/man1/npu-zoo.1"})
		EXPECT_EQ(files.count(f), 1u) << f << " not installed";
	EXPECT_EQ(npu_test::run("readlink '" + root_ + "/usr/local/lib/libnpu.so.1'").out,
	          "libnpu.so.1.1.0\n");
	EXPECT_EQ(npu_test::run("readlink '" + root_ + "/usr/local/lib/libnpu.so'").out,
	          "libnpu.so.1\n");

	// The application, out of tree, with pkg-config looking only into DESTDIR.
	std::string pc = "PKG_CONFIG_LIBDIR='" + root_ +
	                 "/usr/local/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='" + root_ +
	                 "' pkg-config";
	r = npu_test::run(pc + " --cflags --libs npu");
	ASSERT_EQ(r.status, 0) << r.out;
	EXPECT_NE(r.out.find("-I" + root_ + "/usr/local/include"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("-lnpu"), std::string::npos) << r.out;
	// npu.pc names the backends the library has; the C++ runtime (the
	// simulator's) is a private dependency only when sim is one of them.
	const bool sim = npu_test::BackendBuilt("sim");
	r = npu_test::run(pc + " --variable=backends npu");
	EXPECT_EQ(r.out, npu_test::BuiltBackends() + "\n");
	r = npu_test::run(pc + " --static --libs npu");
	ASSERT_EQ(r.status, 0) << r.out;
	EXPECT_EQ(r.out.find("-lstdc++") != std::string::npos, sim) << r.out;
	{
		std::ofstream(tmp_ + "/app.c") << kApp;
	}
	std::string san;
#if defined(__SANITIZE_ADDRESS__)
	san = " -fsanitize=address,undefined"; // the library is built with them
#endif
	r = npu_test::run("cd '" + tmp_ + "' && cc -std=c11 -Wall -Wextra -Werror" + san +
	                  " -o app app.c $(" + pc + " --cflags --libs npu) 2>&1");
	ASSERT_EQ(r.status, 0) << r.out;
	// Linked against the shared library's soname, not the archive.
	r = npu_test::run("readelf -d '" + tmp_ + "/app'");
	EXPECT_NE(r.out.find("[libnpu.so.1]"), std::string::npos) << r.out;

	// The model, by the installed npu-zoo.
	std::string bin = root_ + "/usr/local/bin/";
	r = npu_test::run("'" + bin + "npu-zoo' mobilenet_v2 --size 32 --calib 2 -o '" + tmp_ +
	                  "/mnv2.npu'");
	ASSERT_EQ(r.status, 0) << r.out;

	std::string env = "LD_LIBRARY_PATH='" + root_ + "/usr/local/lib' ";
	r = npu_test::run(env + "ldd '" + tmp_ + "/app'");
	EXPECT_NE(r.out.find(root_ + "/usr/local/lib/libnpu.so.1"), std::string::npos) << r.out;
	for (const char *dev : {"cpu", "sim"}) {
		if (!npu_test::BackendBuilt(dev))
			continue;
		r = npu_test::run(env + "'" + tmp_ + "/app' " + dev + " '" + tmp_ + "/mnv2.npu' '" +
		                  tmp_ + "/y_" + dev + ".bin'");
		ASSERT_EQ(r.status, 0) << dev << ": " << r.out;
	}
	std::string ycpu = slurp(tmp_ + "/y_cpu.bin");
	EXPECT_EQ(ycpu.size(), 1000 * sizeof(float));
	if (sim) {
		EXPECT_TRUE(ycpu == slurp(tmp_ + "/y_sim.bin")) << "cpu and sim outputs differ";
	}

	// uninstall removes exactly what install wrote: not a file of someone else's.
	std::set<std::string> installed = tree(root_);
	{
		std::ofstream(root_ + "/usr/local/lib/other.so") << "not ours";
	}
	r = npu_test::run(make("uninstall"));
	ASSERT_EQ(r.status, 0) << r.out;
	std::set<std::string> left = tree(root_);
	EXPECT_EQ(left, std::set<std::string>{"usr/local/lib/other.so"})
	        << "installed " << installed.size() << " files";
	// Everything above ran; say so when the sim half could not.
	NPU_TEST_REQUIRE_BACKEND("sim");
}

} // namespace
