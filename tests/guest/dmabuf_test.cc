// dma-buf import in the PCIe guest (docs/API.md, "Buffers"): vgem's GEM
// dumb buffers (created on its primary node, card0 style: the render node
// refuses dumb buffers with EACCES), filled through their own mapping,
// exported with drmPrimeHandleToFD and imported as a model's input and
// output. On sim (the Verilated NPU in this binary) the device maps them:
// output bit-exact against cpu, no copy, and a change of the GEM buffer
// is followed without a new import. On the co-simulated card behind
// vfio-pci the card cannot reach guest memory: the library stages, one
// counted copy each way per run, bytes still exact.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "npu.h"
#include "core/runtime.h"
#include "tests/api/buffer_model.h"
#include "tests/guest/guest.h"

namespace
{

// The model: small enough for the NPU under TCG (measured in the test).
const int H = 16, W = 16;
const size_t IN_N = H * W * 4, OUT_N = H * W * 8;

// vgem's primary node, found with drmGetDevices2 and drmGetVersion.
int OpenVgem()
{
	drmDevicePtr devs[16];
	int n = drmGetDevices2(0, devs, 16), fd = -1;
	EXPECT_GT(n, 0) << "drmGetDevices2 found no DRM device";
	for (int i = 0; i < n && fd < 0; i++) {
		if (!(devs[i]->available_nodes & (1 << DRM_NODE_PRIMARY)))
			continue;
		int f = open(devs[i]->nodes[DRM_NODE_PRIMARY], O_RDWR | O_CLOEXEC);
		drmVersionPtr v = f >= 0 ? drmGetVersion(f) : nullptr;
		if (v && std::string(v->name, v->name_len) == "vgem")
			fd = f;
		else if (f >= 0)
			close(f);
		if (v)
			drmFreeVersion(v);
	}
	if (n > 0)
		drmFreeDevices(devs, n);
	EXPECT_GE(fd, 0) << "no vgem primary node (modprobe vgem in /init?)";
	return fd;
}

// A GEM dumb buffer of at least size bytes, its CPU mapping through the
// card and its PRIME fd.
struct Dumb {
	int card;
	uint32_t handle = 0;
	uint64_t size = 0;
	int8_t *p = nullptr;
	int prime = -1;
	Dumb(int card_fd, size_t bytes) : card(card_fd)
	{
		drm_mode_create_dumb c = {};
		c.height = 1;
		c.width = static_cast<uint32_t>(bytes);
		c.bpp = 8;
		EXPECT_EQ(drmIoctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &c), 0) << strerror(errno);
		handle = c.handle;
		size = c.size;
		drm_mode_map_dumb m = {};
		m.handle = handle;
		EXPECT_EQ(drmIoctl(card, DRM_IOCTL_MODE_MAP_DUMB, &m), 0) << strerror(errno);
		void *v = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, card,
		               static_cast<off_t>(m.offset));
		EXPECT_NE(v, MAP_FAILED) << strerror(errno);
		p = v == MAP_FAILED ? nullptr : static_cast<int8_t *>(v);
		EXPECT_EQ(drmPrimeHandleToFD(card, handle, DRM_CLOEXEC | DRM_RDWR, &prime), 0)
		        << strerror(errno);
	}
	~Dumb()
	{
		if (p)
			munmap(p, size);
		if (prime >= 0)
			close(prime);
		drm_mode_destroy_dumb d = {};
		d.handle = handle;
		drmIoctl(card, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
	}
};

struct Loaded {
	npu_device *dev = nullptr;
	npu_model *m = nullptr;
	explicit Loaded(const std::string &uri)
	{
		std::vector<uint8_t> file = npu_test::BufferModel(H, W, 11);
		EXPECT_EQ(npu_open(uri.c_str(), &dev), NPU_OK) << uri << ": " << npu_last_error();
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
};

std::vector<int8_t> CpuResult(const int8_t *x)
{
	Loaded cpu("cpu");
	std::vector<int8_t> y(OUT_N);
	npu_io io = {NPU_IO_INT8, x, IN_N, NPU_IO_INT8, y.data(), y.size()};
	EXPECT_EQ(npu_run(cpu.m, &io), NPU_OK) << npu_last_error();
	return y;
}

struct npu_buffer_stats Stats(const npu_buffer *b)
{
	struct npu_buffer_stats s;
	EXPECT_EQ(npu_buffer_stats(b, &s), NPU_OK);
	return s;
}

// Run the model with the two GEM buffers imported, twice (the input
// changed through its GEM mapping in between, not imported again); the
// output, read through its GEM mapping, bit-exact each time. The
// imported input and output buffers for the caller's checks.
void RunTwice(const std::string &uri, int card, struct npu_buffer_stats *in_stats,
              struct npu_buffer_stats *out_stats)
{
	Loaded dev(uri);
	ASSERT_NE(dev.m, nullptr);
	Dumb in(card, IN_N), out(card, OUT_N);
	ASSERT_NE(in.p, nullptr);
	ASSERT_NE(out.p, nullptr);
	// Freed however the test ends (a buffer keeps its device open).
	struct Guard {
		npu_buffer *b = nullptr;
		~Guard()
		{
			npu_buffer_free(b);
		}
	} gin, gout;
	ASSERT_EQ(npu_buffer_import_dmabuf(dev.dev, in.prime, &gin.b), NPU_OK) << npu_last_error();
	ASSERT_EQ(npu_buffer_import_dmabuf(dev.dev, out.prime, &gout.b), NPU_OK)
	        << npu_last_error();
	npu_buffer *bin = gin.b, *bout = gout.b;
	EXPECT_GE(npu_buffer_size(bin), IN_N);
	EXPECT_EQ(bin->dmabuf_sync, 1) << "a vgem PRIME fd is a dma-buf: DMA_BUF_IOCTL_SYNC works";
	for (uint32_t seed = 1; seed <= 2; seed++) {
		npu_test::FillInput(in.p, IN_N, seed);
		// The same input with pointers first: npu_run's answer.
		std::vector<int8_t> y(OUT_N);
		npu_io pio = {NPU_IO_INT8, in.p, IN_N, NPU_IO_INT8, y.data(), y.size()};
		ASSERT_EQ(npu_run(dev.m, &pio), NPU_OK) << uri << ": " << npu_last_error();
		EXPECT_EQ(y, CpuResult(in.p)) << uri << " with pointers";
		memset(out.p, 0x5a, OUT_N);
		npu_buffer_io io = {bin, 0, bout, 0};
		const auto t0 = npu_guest::Clock::now();
		ASSERT_EQ(npu_run_buffers(dev.m, &io), NPU_OK) << uri << ": " << npu_last_error();
		printf("[ dmabuf ] %s: %dx%dx4 two-layer run with GEM buffers: %.1f ms\n",
		       uri.c_str(), H, W, npu_guest::MsSince(t0));
		EXPECT_EQ(std::vector<int8_t>(out.p, out.p + OUT_N), CpuResult(in.p))
		        << uri << ", input " << seed;
	}
	*in_stats = Stats(bin);
	*out_stats = Stats(bout);
	printf("[ dmabuf ] %s: device_mapped in %u out %u, copies in %llu out %llu\n", uri.c_str(),
	       in_stats->device_mapped, out_stats->device_mapped,
	       (unsigned long long)in_stats->copies, (unsigned long long)out_stats->copies);
}

TEST(GuestDmabuf, VgemBuffersOnSimAreReadAndWrittenInPlace)
{
	int card = OpenVgem();
	ASSERT_GE(card, 0);
	struct npu_buffer_stats si = {}, so = {};
	RunTwice("sim", card, &si, &so);
	for (const struct npu_buffer_stats &s : {si, so}) {
		EXPECT_EQ(s.device_mapped, 1u);
		EXPECT_EQ(s.uses, 2u);
		EXPECT_EQ(s.in_place, 2u);
		EXPECT_EQ(s.copies, 0u) << "sim maps imports: no copy may be made";
		EXPECT_EQ(s.bytes_copied, 0u);
	}
	close(card);
}

TEST(GuestDmabuf, VgemBuffersOnTheVfioCardAreStagedOneCopyEachWay)
{
	int card = OpenVgem();
	ASSERT_GE(card, 0);
	struct npu_buffer_stats si = {}, so = {};
	setenv("NPU_DEBUG", "1", 1); /* the backend's word on the import, in the log */
	RunTwice("vfio:" + npu_guest::Env("NPU_GUEST_VFIO_CARD"), card, &si, &so);
	unsetenv("NPU_DEBUG");
	// The co-simulated card's DMA reaches only its own memory: buf_import
	// refuses, the library copies, and says so.
	EXPECT_EQ(si.device_mapped, 0u);
	EXPECT_EQ(so.device_mapped, 0u);
	EXPECT_EQ(si.in_place + so.in_place, 0u);
	EXPECT_EQ(si.copies, 2u);
	EXPECT_EQ(si.bytes_copied, 2 * IN_N);
	EXPECT_EQ(so.copies, 2u);
	EXPECT_EQ(so.bytes_copied, 2 * OUT_N);
	close(card);
}

} // namespace
