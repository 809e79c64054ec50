// Buffers (npu.h, "buffers"): alloc/map/free, import of an mmap()able fd
// (a memfd stands in for a dma-buf: this host has no vgem; the guest test
// tests/guest/dmabuf_test.cc imports a real GEM buffer), runs with
// buffers bit-exact against cpu and against npu_run with pointers, the
// copies counted (none on sim, where the device maps the buffers; one per
// staged tensor on sim:memory=separate and cpu), zero-copy shown without
// trusting the counters (the arena's input and output bytes stay
// untouched while the result is right, and an imported buffer changed
// between runs is followed without a new import), mapped buffers staged
// where the CPU lane reads the input or makes the output, every zoo net
// bit-exact with buffers on sim, and argument errors.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "npu.h"
#include "core/runtime.h"
#include "tests/api/buffer_model.h"
#include "tests/common/backends.h"
#include "tests/sim/zoo_model.h"

namespace
{

const int H = 8, W = 8;
const size_t IN_N = H * W * 4, OUT_N = H * W * 8;

// A memfd of size bytes, mapped; the caller's own view of it.
struct Memfd {
	int fd = -1;
	int8_t *p = nullptr;
	size_t size = 0;
	explicit Memfd(size_t n) : size(n)
	{
		fd = memfd_create("npu-buffer-test", MFD_CLOEXEC);
		EXPECT_GE(fd, 0);
		EXPECT_EQ(ftruncate(fd, static_cast<off_t>(n)), 0);
		if (!n)
			return;
		void *m = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		EXPECT_NE(m, MAP_FAILED);
		p = static_cast<int8_t *>(m);
	}
	~Memfd()
	{
		if (p)
			munmap(p, size);
		close(fd);
	}
};

// A device with the test model loaded.
struct Loaded {
	npu_device *dev = nullptr;
	npu_model *m = nullptr;
	explicit Loaded(const char *uri)
	{
		std::vector<uint8_t> file = npu_test::BufferModel(H, W, 7);
		EXPECT_EQ(npu_open(uri, &dev), NPU_OK) << uri << ": " << npu_last_error();
		if (dev) {
			EXPECT_EQ(npu_model_load_memory(dev, file.data(), file.size(), &m), NPU_OK)
			        << npu_last_error();
		}
	}
	~Loaded()
	{
		npu_model_free(m);
		npu_close(dev);
	}
	std::vector<int8_t> RunPointers(const int8_t *x)
	{
		std::vector<int8_t> y(OUT_N, 0x5a);
		npu_io io = {NPU_IO_INT8, x, IN_N, NPU_IO_INT8, y.data(), y.size()};
		EXPECT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
		return y;
	}
};

std::vector<int8_t> CpuResult(const int8_t *x)
{
	Loaded cpu("cpu");
	return cpu.RunPointers(x);
}

struct npu_buffer_stats Stats(const npu_buffer *b)
{
	struct npu_buffer_stats s;
	EXPECT_EQ(npu_buffer_stats(b, &s), NPU_OK);
	return s;
}

std::vector<int8_t> Bytes(const npu_buffer *b, size_t off, size_t n)
{
	const int8_t *p = static_cast<const int8_t *>(npu_buffer_map(const_cast<npu_buffer *>(b)));
	return std::vector<int8_t>(p + off, p + off + n);
}

TEST(BufferApi, AllocMapFreeOnCpuAndSim)
{
	for (const char *uri : {"cpu", "sim"}) {
		if (std::string(uri) == "sim" && !npu_test::BackendBuilt(uri))
			continue;
		npu_device *d;
		npu_buffer *b = reinterpret_cast<npu_buffer *>(0x1);
		ASSERT_EQ(npu_open(uri, &d), NPU_OK);
		EXPECT_EQ(npu_buffer_alloc(d, 0, &b), NPU_ERR_INVALID_ARG);
		EXPECT_EQ(npu_buffer_alloc(nullptr, 10, &b), NPU_ERR_INVALID_ARG);
		EXPECT_EQ(npu_buffer_alloc(d, 10, nullptr), NPU_ERR_INVALID_ARG);
		EXPECT_EQ(b, reinterpret_cast<npu_buffer *>(0x1)) << "output written on failure";
		ASSERT_EQ(npu_buffer_alloc(d, 1000, &b), NPU_OK);
		EXPECT_EQ(npu_buffer_size(b), 1000u);
		auto *p = static_cast<uint8_t *>(npu_buffer_map(b));
		ASSERT_NE(p, nullptr);
		for (size_t i = 0; i < 1000; i++)
			ASSERT_EQ(p[i], 0) << uri << ": not zeroed at " << i;
		memset(p, 0xa5, 1000);
		struct npu_buffer_stats s = Stats(b);
		EXPECT_EQ(s.device_mapped, std::string(uri) == "sim" ? 1u : 0u) << uri;
		EXPECT_EQ(s.uses + s.copies + s.bytes_copied + s.in_place, 0u);
		// The buffer keeps the device: close first, free last.
		npu_close(d);
		EXPECT_EQ(p[999], 0xa5);
		npu_buffer_free(b);
	}
	npu_buffer_free(nullptr);
	EXPECT_EQ(npu_buffer_map(nullptr), nullptr);
	EXPECT_EQ(npu_buffer_size(nullptr), 0u);
	EXPECT_EQ(npu_buffer_stats(nullptr, nullptr), NPU_ERR_INVALID_ARG);
}

TEST(BufferImport, MemfdIsTheSameMemoryAndOutlivesTheCallersFd)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	npu_device *d;
	npu_buffer *b;
	Memfd mf(5000);
	ASSERT_EQ(npu_open("sim", &d), NPU_OK);
	mf.p[0] = 11;
	mf.p[4999] = 22;
	ASSERT_EQ(npu_buffer_import_dmabuf(d, mf.fd, &b), NPU_OK) << npu_last_error();
	EXPECT_EQ(npu_buffer_size(b), 5000u);
	auto *p = static_cast<int8_t *>(npu_buffer_map(b));
	EXPECT_EQ(p[0], 11);
	EXPECT_EQ(p[4999], 22);
	p[1] = 33; // shared both ways
	EXPECT_EQ(mf.p[1], 33);
	EXPECT_EQ(Stats(b).device_mapped, 1u);
	npu_buffer_free(b);
	npu_close(d);
}

TEST(BufferImport, FdsThatCannotBeBuffersAreInvalidArgs)
{
	npu_device *d;
	npu_buffer *b = reinterpret_cast<npu_buffer *>(0x1);
	int pfd[2];
	ASSERT_EQ(npu_open("cpu", &d), NPU_OK);
	EXPECT_EQ(npu_buffer_import_dmabuf(d, -1, &b), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_buffer_import_dmabuf(nullptr, 0, &b), NPU_ERR_INVALID_ARG);
	// Closed fd.
	int fd = memfd_create("closed", MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(npu_buffer_import_dmabuf(d, fd, &b), NPU_ERR_INVALID_ARG);
	// Empty memory.
	Memfd empty(0);
	EXPECT_EQ(npu_buffer_import_dmabuf(d, empty.fd, &b), NPU_ERR_INVALID_ARG);
	EXPECT_NE(std::string(npu_last_error()).find("empty"), std::string::npos)
	        << npu_last_error();
	// A pipe cannot be mapped.
	ASSERT_EQ(pipe(pfd), 0);
	EXPECT_EQ(npu_buffer_import_dmabuf(d, pfd[0], &b), NPU_ERR_INVALID_ARG);
	EXPECT_NE(std::string(npu_last_error()).size(), 0u);
	close(pfd[0]);
	close(pfd[1]);
	// Memory with a size that cannot be mapped for writing (read-only).
	Memfd mf(4096);
	const std::string path = "/proc/self/fd/" + std::to_string(mf.fd);
	int ro = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	ASSERT_GE(ro, 0);
	EXPECT_EQ(npu_buffer_import_dmabuf(d, ro, &b), NPU_ERR_INVALID_ARG);
	EXPECT_NE(std::string(npu_last_error()).find("cannot be mapped"), std::string::npos)
	        << npu_last_error();
	close(ro);
	EXPECT_EQ(b, reinterpret_cast<npu_buffer *>(0x1)) << "output written on failure";
	npu_close(d);
}

// Put `byte` in the input's and output's bytes of every context's arena.
void PoisonArena(npu_model *m, int8_t byte)
{
	for (unsigned i = 0; i < m->num_ctx; i++) {
		memset(m->ctx[i].bufs[m->g->input], byte, IN_N);
		memset(m->ctx[i].bufs[m->g->output], byte, OUT_N);
	}
}

bool ArenaStillPoisoned(const npu_model *m, int8_t byte)
{
	for (unsigned i = 0; i < m->num_ctx; i++) {
		for (size_t k = 0; k < IN_N; k++)
			if (m->ctx[i].bufs[m->g->input][k] != byte)
				return false;
		for (size_t k = 0; k < OUT_N; k++)
			if (m->ctx[i].bufs[m->g->output][k] != byte)
				return false;
	}
	return true;
}

TEST(BufferRun, SimReadsAndWritesBuffersInPlace)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	Loaded sim("sim");
	ASSERT_NE(sim.m, nullptr);
	Memfd in(IN_N + 64);
	npu_buffer *bin, *bout;
	npu_test::FillInput(in.p + 64, IN_N, 1);
	ASSERT_EQ(npu_buffer_import_dmabuf(sim.dev, in.fd, &bin), NPU_OK) << npu_last_error();
	ASSERT_EQ(npu_buffer_alloc(sim.dev, OUT_N + 128, &bout), NPU_OK);
	const std::vector<int8_t> want = CpuResult(in.p + 64);
	EXPECT_EQ(sim.RunPointers(in.p + 64), want);

	// The device's own arena bytes for input and output are never
	// touched: it read and wrote the buffers.
	PoisonArena(sim.m, 0x3c);
	npu_buffer_io io = {bin, 64, bout, 128};
	ASSERT_EQ(npu_run_buffers(sim.m, &io), NPU_OK) << npu_last_error();
	EXPECT_EQ(Bytes(bout, 128, OUT_N), want);
	EXPECT_TRUE(ArenaStillPoisoned(sim.m, 0x3c)) << "the run went through the arena";

	// Changed in place, not imported again: the next run follows.
	npu_test::FillInput(in.p + 64, IN_N, 2);
	ASSERT_EQ(npu_run_buffers(sim.m, &io), NPU_OK) << npu_last_error();
	EXPECT_EQ(Bytes(bout, 128, OUT_N), CpuResult(in.p + 64));
	EXPECT_TRUE(ArenaStillPoisoned(sim.m, 0x3c));

	for (npu_buffer *b : {bin, bout}) {
		struct npu_buffer_stats s = Stats(b);
		EXPECT_EQ(s.device_mapped, 1u);
		EXPECT_EQ(s.uses, 2u);
		EXPECT_EQ(s.in_place, 2u);
		EXPECT_EQ(s.copies, 0u);
		EXPECT_EQ(s.bytes_copied, 0u);
	}
	// A run with pointers afterwards still uses the arena correctly.
	EXPECT_EQ(sim.RunPointers(in.p + 64), CpuResult(in.p + 64));
	npu_buffer_free(bin);
	npu_buffer_free(bout);
}

TEST(BufferRun, ImportedOutputIsWrittenInPlace)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	Loaded sim("sim");
	ASSERT_NE(sim.m, nullptr);
	Memfd in(IN_N), out(OUT_N);
	npu_buffer *bin, *bout;
	npu_test::FillInput(in.p, IN_N, 3);
	memset(out.p, 0x77, OUT_N);
	ASSERT_EQ(npu_buffer_import_dmabuf(sim.dev, in.fd, &bin), NPU_OK);
	ASSERT_EQ(npu_buffer_import_dmabuf(sim.dev, out.fd, &bout), NPU_OK);
	npu_buffer_io io = {bin, 0, bout, 0};
	ASSERT_EQ(npu_run_buffers(sim.m, &io), NPU_OK) << npu_last_error();
	// The caller's own mapping of the output fd holds the result.
	EXPECT_EQ(std::vector<int8_t>(out.p, out.p + OUT_N), CpuResult(in.p));
	EXPECT_EQ(Stats(bout).in_place, 1u);
	EXPECT_EQ(Stats(bin).copies + Stats(bout).copies, 0u);
	npu_buffer_free(bin);
	npu_buffer_free(bout);
}

// memory=separate: the device cannot reach host memory, so an import is
// staged (one counted copy a run) while a buffer of its own is mapped.
TEST(BufferRun, SeparateMemoryStagesImportsAndCountsTheCopies)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	Loaded sim("sim:memory=separate");
	ASSERT_NE(sim.m, nullptr);
	Memfd in(IN_N), out(OUT_N);
	npu_buffer *bin, *bout, *bown;
	npu_test::FillInput(in.p, IN_N, 4);
	ASSERT_EQ(npu_buffer_import_dmabuf(sim.dev, in.fd, &bin), NPU_OK) << npu_last_error();
	ASSERT_EQ(npu_buffer_import_dmabuf(sim.dev, out.fd, &bout), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(sim.dev, OUT_N, &bown), NPU_OK);
	EXPECT_EQ(Stats(bin).device_mapped, 0u);
	EXPECT_EQ(Stats(bown).device_mapped, 1u);
	const std::vector<int8_t> want = CpuResult(in.p);

	npu_buffer_io io = {bin, 0, bout, 0};
	for (int run = 0; run < 2; run++)
		ASSERT_EQ(npu_run_buffers(sim.m, &io), NPU_OK) << npu_last_error();
	EXPECT_EQ(std::vector<int8_t>(out.p, out.p + OUT_N), want);
	struct npu_buffer_stats si = Stats(bin), so = Stats(bout);
	EXPECT_EQ(si.copies, 2u);
	EXPECT_EQ(si.bytes_copied, 2 * IN_N);
	EXPECT_EQ(so.copies, 2u);
	EXPECT_EQ(so.bytes_copied, 2 * OUT_N);
	EXPECT_EQ(si.in_place + so.in_place, 0u);

	// Staged input, the device's own buffer as output: written in place
	// (the backend's buf_sync brings it to the host: no library copy).
	io.output = bown;
	ASSERT_EQ(npu_run_buffers(sim.m, &io), NPU_OK) << npu_last_error();
	EXPECT_EQ(Bytes(bown, 0, OUT_N), want);
	EXPECT_EQ(Stats(bown).in_place, 1u);
	EXPECT_EQ(Stats(bown).copies, 0u);
	EXPECT_EQ(Stats(bin).copies, 3u);
	npu_buffer_free(bin);
	npu_buffer_free(bout);
	npu_buffer_free(bown);
}

// The rules refuse in place when the CPU lane reads the input or makes
// the output (here: every conv forced to the CPU at load,
// docs/SCHEDULER.md §1): mapped buffers are then staged, and counted.
TEST(BufferRun, LayersOnTheCpuLaneAreStagedEvenWithMappedBuffers)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	setenv("NPU_SCHED_FORCE_CPU", "conv", 1);
	Loaded sim("sim");
	unsetenv("NPU_SCHED_FORCE_CPU");
	ASSERT_NE(sim.m, nullptr);
	Memfd in(IN_N);
	npu_buffer *bin, *bout;
	npu_test::FillInput(in.p, IN_N, 8);
	ASSERT_EQ(npu_buffer_import_dmabuf(sim.dev, in.fd, &bin), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(sim.dev, OUT_N, &bout), NPU_OK);
	npu_buffer_io io = {bin, 0, bout, 0};
	ASSERT_EQ(npu_run_buffers(sim.m, &io), NPU_OK) << npu_last_error();
	EXPECT_EQ(Bytes(bout, 0, OUT_N), CpuResult(in.p));
	for (npu_buffer *b : {bin, bout}) {
		struct npu_buffer_stats s = Stats(b);
		EXPECT_EQ(s.device_mapped, 1u);
		EXPECT_EQ(s.in_place, 0u);
		EXPECT_EQ(s.copies, 1u);
	}
	EXPECT_EQ(Stats(bin).bytes_copied, IN_N);
	EXPECT_EQ(Stats(bout).bytes_copied, OUT_N);
	npu_buffer_free(bin);
	npu_buffer_free(bout);
}

TEST(BufferRun, CpuDeviceCopiesEveryTensorAndIsExact)
{
	Loaded cpu("cpu");
	npu_buffer *bin, *bout;
	ASSERT_EQ(npu_buffer_alloc(cpu.dev, IN_N, &bin), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(cpu.dev, OUT_N, &bout), NPU_OK);
	auto *x = static_cast<int8_t *>(npu_buffer_map(bin));
	npu_test::FillInput(x, IN_N, 5);
	npu_buffer_io io = {bin, 0, bout, 0};
	ASSERT_EQ(npu_run_buffers(cpu.m, &io), NPU_OK) << npu_last_error();
	EXPECT_EQ(Bytes(bout, 0, OUT_N), cpu.RunPointers(x));
	EXPECT_EQ(Stats(bin).copies, 1u);
	EXPECT_EQ(Stats(bin).bytes_copied, IN_N);
	EXPECT_EQ(Stats(bout).copies, 1u);
	EXPECT_EQ(Stats(bout).uses, 1u);
	npu_buffer_free(bin);
	npu_buffer_free(bout);
}

TEST(BufferRun, BadBuffersAreNamedErrorsAndRunNothing)
{
	const char *uri = npu_test::BackendBuilt("sim") ? "sim" : "cpu";
	Loaded a(uri), other("cpu");
	npu_buffer *bin, *bout, *small, *foreign, *gone;
	npu_job *job = reinterpret_cast<npu_job *>(0x1);
	ASSERT_EQ(npu_buffer_alloc(a.dev, IN_N + 64, &bin), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(a.dev, 2 * OUT_N, &bout), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(a.dev, OUT_N - 1, &small), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(other.dev, OUT_N, &foreign), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(a.dev, OUT_N, &gone), NPU_OK);
	npu_buffer_free(gone);

	struct Case {
		npu_buffer_io io;
		int want;
		const char *what;
	} cases[] = {
	        {{bin, 0, small, 0}, NPU_ERR_SHAPE, "output one byte short"},
	        {{bin, 128, bout, 0}, NPU_ERR_SHAPE, "input runs off its buffer"},
	        {{bin, 0, bout, OUT_N + 64}, NPU_ERR_SHAPE, "output runs off its buffer"},
	        {{bin, 1 << 20, bout, 0}, NPU_ERR_SHAPE, "offset past the end"},
	        {{bin, 32, bout, 0}, NPU_ERR_INVALID_ARG, "offset not a multiple of 64"},
	        {{bin, 0, foreign, 0}, NPU_ERR_INVALID_ARG, "another device's buffer"},
	        {{bin, 0, gone, 0}, NPU_ERR_INVALID_ARG, "a freed buffer"},
	        {{bout, 0, bout, 0}, NPU_ERR_INVALID_ARG, "input and output overlap"},
	        {{nullptr, 0, bout, 0}, NPU_ERR_INVALID_ARG, "no input"},
	};
	for (const Case &c : cases) {
		EXPECT_EQ(npu_submit_buffers(a.m, &c.io, &job), c.want) << c.what;
		EXPECT_NE(std::string(npu_last_error()).size(), 0u) << c.what;
	}
	EXPECT_EQ(job, reinterpret_cast<npu_job *>(0x1)) << "job written on failure";
	EXPECT_EQ(npu_run_buffers(a.m, nullptr), NPU_ERR_INVALID_ARG);
	// Same buffer, disjoint ranges: fine. Nothing was counted by the
	// refused submissions (their pending counts were given back: free
	// below would hang otherwise).
	npu_buffer_io ok = {bout, 0, bout, OUT_N};
	EXPECT_EQ(npu_run_buffers(a.m, &ok), NPU_OK) << npu_last_error();
	EXPECT_EQ(Stats(bin).uses, 0u);
	EXPECT_EQ(Stats(bout).uses, 2u);
	for (npu_buffer *b : {bin, bout, small, foreign})
		npu_buffer_free(b);
}

TEST(BufferRun, FreeWaitsForTheJobsThatUseTheBuffer)
{
	const char *uri = npu_test::BackendBuilt("sim") ? "sim" : "cpu";
	Loaded a(uri);
	npu_buffer *bin, *bout;
	npu_job *jobs[3];
	ASSERT_EQ(npu_buffer_alloc(a.dev, IN_N, &bin), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(a.dev, OUT_N, &bout), NPU_OK);
	npu_test::FillInput(static_cast<int8_t *>(npu_buffer_map(bin)), IN_N, 6);
	const std::vector<int8_t> want =
	        CpuResult(static_cast<const int8_t *>(npu_buffer_map(bin)));
	npu_buffer_io io = {bin, 0, bout, 0};
	for (npu_job *&j : jobs)
		ASSERT_EQ(npu_submit_buffers(a.m, &io, &j), NPU_OK);
	npu_buffer_free(bin); // returns once all three ran
	EXPECT_EQ(Bytes(bout, 0, OUT_N), want);
	EXPECT_EQ(Stats(bout).uses, 3u);
	for (npu_job *j : jobs)
		EXPECT_EQ(npu_wait(j, -1), NPU_OK);
	npu_buffer_free(bout);
}

// Every zoo net (folds, concats, skips, CPU fallbacks) with buffers on
// sim: the same bytes as with pointers, each tensor either in place or
// copied (never both, never neither). Which nets run in place is printed:
// the rules (hw_plan_buffers) decide it from the placement.
class BufferZooNet : public ::testing::TestWithParam<const char *>
{
};

TEST_P(BufferZooNet, BuffersGiveThePointerRunsBytesOnSim)
{
	NPU_TEST_REQUIRE_BACKEND("sim");
	const std::vector<uint8_t> file = npu_test::zoo_model(GetParam(), 32);
	npu_device *d;
	npu_model *m;
	npu_buffer *bin, *bout;
	npu_tensor_info ti, to;
	ASSERT_EQ(npu_open("sim", &d), NPU_OK);
	ASSERT_EQ(npu_model_load_memory(d, file.data(), file.size(), &m), NPU_OK)
	        << npu_last_error();
	ASSERT_EQ(npu_model_input(m, &ti), NPU_OK);
	ASSERT_EQ(npu_model_output(m, &to), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(d, ti.elements, &bin), NPU_OK);
	ASSERT_EQ(npu_buffer_alloc(d, to.elements, &bout), NPU_OK);
	auto *x = static_cast<int8_t *>(npu_buffer_map(bin));
	npu_test::FillInput(x, ti.elements, 9);
	std::vector<int8_t> want(to.elements);
	npu_io io = {NPU_IO_INT8, x, ti.elements, NPU_IO_INT8, want.data(), want.size()};
	ASSERT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
	npu_buffer_io bio = {bin, 0, bout, 0};
	ASSERT_EQ(npu_run_buffers(m, &bio), NPU_OK) << npu_last_error();
	EXPECT_EQ(Bytes(bout, 0, to.elements), want);
	struct npu_buffer_stats si = Stats(bin), so = Stats(bout);
	EXPECT_EQ(si.uses, 1u);
	EXPECT_EQ(si.in_place + si.copies, 1u);
	EXPECT_EQ(so.in_place + so.copies, 1u);
	printf("[ buffers ] %s-32 on sim: input %s, output %s\n", GetParam(),
	       si.in_place ? "in place" : "copied", so.in_place ? "in place" : "copied");
	npu_buffer_free(bin);
	npu_buffer_free(bout);
	npu_model_free(m);
	npu_close(d);
}

INSTANTIATE_TEST_SUITE_P(BufferZoo, BufferZooNet,
                         ::testing::Values("squeezenet1_0", "squeezenet1_1", "mobilenet_v1",
                                           "shufflenet_v1_g3", "mobilenet_v2", "mobilenet_v3_large",
                                           "mobilenet_v3_small", "shufflenet_v2_x1_0"));

} // namespace
