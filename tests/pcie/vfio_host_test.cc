// The vfio and uio backends and the generic VFIO layer (driver/vfio_dev.h)
// on the host, without a guest: this machine has no VFIO device, so the
// tests build a fake sysfs and /dev tree in a temporary directory
// ($NPU_SYSFS_ROOT, $NPU_DEV_ROOT) and check what can be checked there:
// URI parsing, discovery by PCI IDs and its order, each refusal of
// npu_vfio_open with its status and the detail's advice, the uio backend
// all the way to a card (its BAR files are plain files a test thread
// serves as the card would), the IOVA allocator and the kernel log's
// IOMMU fault lines. The real VFIO path (ioctls, MSI-X, DMA through the
// IOMMU) runs in the PCIe guest (tests/guest/, docs/PCIE.md).
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <ftw.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "driver/backend.h"
#include "driver/npu_card.h"
#include "driver/npu_regs.h"
#include "driver/vfio_dev.h"
#include "npu.h"
#include "tests/common/backends.h"

namespace
{

bool Contains(const std::string &s, const std::string &what)
{
	return s.find(what) != std::string::npos;
}

void WriteFile(const std::string &path, const void *data, size_t n)
{
	FILE *f = fopen(path.c_str(), "wb");
	ASSERT_NE(f, nullptr) << path << ": " << strerror(errno);
	size_t wrote = n ? fwrite(data, 1, n, f) : 0;
	fclose(f);
	ASSERT_EQ(wrote, n) << path;
}

void WriteText(const std::string &path, const std::string &text)
{
	WriteFile(path, text.data(), text.size());
}

void AppendText(const std::string &path, const std::string &text)
{
	FILE *f = fopen(path.c_str(), "ab");
	ASSERT_NE(f, nullptr) << path;
	fputs(text.c_str(), f);
	fclose(f);
}

void MkdirP(const std::string &path)
{
	for (size_t i = 1; i <= path.size(); i++)
		if (i == path.size() || path[i] == '/')
			mkdir(path.substr(0, i).c_str(), 0755);
}

int RemoveOne(const char *path, const struct stat *, int, struct FTW *)
{
	return remove(path);
}

// A fake sysfs + /dev tree, set as the roots for the whole test.
class FakeTree : public ::testing::Test
{
      protected:
	std::string root, sys, dev;

	void SetUp() override
	{
		char tmpl[] = "/tmp/npu-vfio-test-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		root = tmpl;
		chmod(root.c_str(), 0755); // an unprivileged child must get in
		sys = root + "/sys";
		dev = root + "/dev";
		MkdirP(sys + "/bus/pci/devices");
		MkdirP(sys + "/class/uio");
		MkdirP(dev + "/vfio");
		setenv("NPU_SYSFS_ROOT", sys.c_str(), 1);
		setenv("NPU_DEV_ROOT", dev.c_str(), 1);
	}

	void TearDown() override
	{
		unsetenv("NPU_SYSFS_ROOT");
		unsetenv("NPU_DEV_ROOT");
		if (!root.empty())
			nftw(root.c_str(), RemoveOne, 16, FTW_DEPTH | FTW_PHYS);
	}

	std::string DevDir(const std::string &bdf)
	{
		return sys + "/bus/pci/devices/" + bdf;
	}

	// A PCI device: IDs, a 256-byte config space (vendor/device filled,
	// command 0), bound to driver ("" none), in IOMMU group ("" none).
	void AddPci(const std::string &bdf, uint16_t vendor, uint16_t device,
	            const std::string &driver, int group)
	{
		std::string d = DevDir(bdf);
		MkdirP(d);
		char buf[16];
		snprintf(buf, sizeof(buf), "0x%04x\n", vendor);
		WriteText(d + "/vendor", buf);
		snprintf(buf, sizeof(buf), "0x%04x\n", device);
		WriteText(d + "/device", buf);
		uint8_t cfg[256] = {};
		memcpy(cfg, &vendor, 2);
		memcpy(cfg + 2, &device, 2);
		WriteFile(d + "/config", cfg, sizeof(cfg));
		if (!driver.empty()) {
			ASSERT_EQ(symlink(("../../../bus/pci/drivers/" + driver).c_str(),
			                  (d + "/driver").c_str()),
			          0);
		}
		if (group >= 0) {
			std::string g = sys + "/kernel/iommu_groups/" + std::to_string(group);
			MkdirP(g + "/devices");
			ASSERT_EQ(symlink(g.c_str(), (d + "/iommu_group").c_str()), 0);
			ASSERT_EQ(symlink(d.c_str(), (g + "/devices/" + bdf).c_str()), 0);
		}
	}

	// uioN over the PCI device bdf, with its /dev node.
	void AddUio(int n, const std::string &bdf)
	{
		std::string u = sys + "/class/uio/uio" + std::to_string(n);
		MkdirP(u);
		ASSERT_EQ(symlink(DevDir(bdf).c_str(), (u + "/device").c_str()), 0);
		WriteText(dev + "/uio" + std::to_string(n), "");
	}

	// BAR n of bdf as a file of size bytes (zeros).
	void AddResource(const std::string &bdf, unsigned n, size_t size)
	{
		std::vector<uint8_t> z(size);
		WriteFile(DevDir(bdf) + "/resource" + std::to_string(n), z.data(), z.size());
	}

	// An lwnpu card's BARs: BAR0 registers, BAR2 with a ready control
	// page (magic as given) and dram_bytes of card DRAM.
	void AddCardBars(const std::string &bdf, uint32_t magic, size_t dram_bytes = 0x10000)
	{
		AddResource(bdf, NPU_CARD_BAR_REGS, 256);
		std::vector<uint8_t> mem(NPU_CARD_DRAM_OFFSET + dram_bytes);
		struct npu_card_ctrl k = {};
		k.magic = magic;
		k.version_major = NPU_CARD_VERSION_MAJOR;
		k.card_peer = 1;
		k.dram_offset = NPU_CARD_DRAM_OFFSET;
		k.dram_size = dram_bytes;
		k.dram_dev_base = NPU_CARD_DRAM_DEV_BASE;
		k.state = NPU_CARD_STATE_READY;
		memcpy(mem.data(), &k, sizeof(k));
		WriteFile(DevDir(bdf) + "/resource" + std::to_string(NPU_CARD_BAR_MEM), mem.data(),
		          mem.size());
	}

	uint16_t ConfigWord(const std::string &bdf, unsigned off)
	{
		uint16_t v = 0;
		int fd = open((DevDir(bdf) + "/config").c_str(), O_RDONLY);
		EXPECT_GE(fd, 0);
		EXPECT_EQ(pread(fd, &v, 2, off), 2);
		close(fd);
		return v;
	}
};

// ---- PCI addresses and URIs ----------------------------------------------

TEST(PcieBdf, ParsesOnlyTheFullForm)
{
	char bdf[NPU_PCI_BDF_LEN];
	ASSERT_EQ(npu_pci_bdf_parse("0000:00:04.0", bdf), NPU_OK);
	EXPECT_STREQ(bdf, "0000:00:04.0");
	ASSERT_EQ(npu_pci_bdf_parse("00AB:0C:1F.7", bdf), NPU_OK);
	EXPECT_STREQ(bdf, "00ab:0c:1f.7");
	const char *bad[] = {
	        "00:04.0",        "0000:00:04",   "0000:00:04.8", "0000:00:20.0", "0000:00:04.0 ",
	        " 0000:00:04.0",  "0000-00:04.0", "0000:0g:04.0", "junk",         "",
	        "0000:00:04.0.0", "0000:000:4.0"};
	for (const char *s : bad)
		EXPECT_EQ(npu_pci_bdf_parse(s, bdf), NPU_ERR_INVALID_ARG) << "'" << s << "'";
	std::string huge(300, '0');
	EXPECT_EQ(npu_pci_bdf_parse(huge.c_str(), bdf), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_pci_bdf_parse(nullptr, bdf), NPU_ERR_INVALID_ARG);
}

// npu_open refuses malformed vfio and uio URIs before touching anything,
// and says what the form is.
TEST_F(FakeTree, BadUrisAreInvalidArg)
{
	struct Case {
		const char *uri, *says;
	} cases[] = {
	        {"vfio:00:04.0", "vfio:DDDD:BB:DD.F"},
	        {"vfio:junk", "not a PCI address"},
	        {"vfio:0000:00:04.0:x", "not a PCI address"},
	        {"uio:x", "uio:N"},
	        {"uio:1234", "uio:N"},
	        {"uio:-1", "uio:N"},
	};
	if (!npu_test::BackendBuilt("vfio") && !npu_test::BackendBuilt("uio"))
		GTEST_SKIP() << "vfio and uio backends not built: BACKENDS="
		             << npu_test::BuiltBackends();
	for (const Case &c : cases) {
		if (!npu_test::BackendBuilt(c.uri))
			continue;
		npu_device *d = nullptr;
		EXPECT_EQ(npu_open(c.uri, &d), NPU_ERR_INVALID_ARG) << c.uri;
		EXPECT_TRUE(Contains(npu_last_error(), c.says))
		        << c.uri << ": " << npu_last_error();
	}
	std::string longuri = "vfio:" + std::string(4000, '1');
	if (npu_test::BackendBuilt(longuri)) {
		npu_device *d = nullptr;
		EXPECT_EQ(npu_open(longuri.c_str(), &d), NPU_ERR_INVALID_ARG);
	}
}

// ---- discovery ----------------------------------------------------------

TEST_F(FakeTree, FindsDevicesByIdsInAddressOrder)
{
	AddPci("0000:01:00.0", 0x1af4, 0x1110, "", -1);
	AddPci("0000:00:05.0", 0x1af4, 0x1110, "", -1);
	AddPci("0000:00:02.0", 0x8086, 0x100e, "e1000", -1);
	AddPci("0000:00:03.0", 0x1af4, 0x1110, "vfio-pci", 3);
	MkdirP(sys + "/bus/pci/devices/not-a-device");
	char bdf[NPU_PCI_BDF_LEN];
	const char *want[] = {"0000:00:03.0", "0000:00:05.0", "0000:01:00.0"};
	for (unsigned i = 0; i < 3; i++) {
		ASSERT_EQ(npu_pci_find(0x1af4, 0x1110, i, bdf), NPU_OK) << i;
		EXPECT_STREQ(bdf, want[i]) << i;
	}
	EXPECT_EQ(npu_pci_find(0x1af4, 0x1110, 3, bdf), NPU_ERR_NO_DEVICE);
	ASSERT_EQ(npu_pci_find(0x8086, 0x100e, 0, bdf), NPU_OK);
	EXPECT_STREQ(bdf, "0000:00:02.0");
	EXPECT_EQ(npu_pci_find(0x1234, 0x11e8, 0, bdf), NPU_ERR_NO_DEVICE);

	char drv[32];
	ASSERT_EQ(npu_pci_driver("0000:00:02.0", drv, sizeof(drv)), NPU_OK);
	EXPECT_STREQ(drv, "e1000");
	ASSERT_EQ(npu_pci_driver("0000:00:05.0", drv, sizeof(drv)), NPU_OK);
	EXPECT_STREQ(drv, "");
	EXPECT_EQ(npu_pci_driver("0000:00:09.0", drv, sizeof(drv)), NPU_ERR_NO_DEVICE);
	int g = -1;
	ASSERT_EQ(npu_pci_iommu_group("0000:00:03.0", &g), NPU_OK);
	EXPECT_EQ(g, 3);
	EXPECT_EQ(npu_pci_iommu_group("0000:00:05.0", &g), NPU_ERR_NOT_SUPPORTED);
}

// ---- npu_vfio_open's refusals ----------------------------------------------

TEST_F(FakeTree, VfioOpenNamesEachRefusal)
{
	struct npu_vfio *v = nullptr;
	const std::string bdf = "0000:00:04.0";

	EXPECT_EQ(npu_vfio_open("00:04.0", &v), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_vfio_open(bdf.c_str(), &v), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_hw_detail(), "no PCI device 0000:00:04.0")) << npu_hw_detail();

	// No IOMMU group: the IOMMU is off.
	AddPci(bdf, 0x1af4, 0x1110, "ivshmem", -1);
	EXPECT_EQ(npu_vfio_open(bdf.c_str(), &v), NPU_ERR_NOT_SUPPORTED);
	EXPECT_TRUE(Contains(npu_hw_detail(), "no IOMMU group")) << npu_hw_detail();
	EXPECT_TRUE(Contains(npu_hw_detail(), "intel_iommu=on")) << npu_hw_detail();
	EXPECT_TRUE(Contains(npu_hw_detail(), "uio:")) << npu_hw_detail();
	EXPECT_EQ(v, nullptr);
}

TEST_F(FakeTree, VfioOpenSaysHowToBind)
{
	struct npu_vfio *v = nullptr;
	const std::string bdf = "0000:00:04.0";
	AddPci(bdf, 0x1af4, 0x1110, "uio_pci_generic", 5);
	EXPECT_EQ(npu_vfio_open(bdf.c_str(), &v), NPU_ERR_NO_DEVICE);
	std::string d = npu_hw_detail();
	EXPECT_TRUE(Contains(d, "0000:00:04.0: bound to uio_pci_generic; for vfio-pci")) << d;
	EXPECT_TRUE(
	        Contains(d, "echo vfio-pci > /sys/bus/pci/devices/0000:00:04.0/driver_override"))
	        << d;
	EXPECT_TRUE(Contains(d, "echo 0000:00:04.0 > /sys/bus/pci/drivers/uio_pci_generic/unbind"))
	        << d;
	EXPECT_TRUE(Contains(d, "echo 0000:00:04.0 > /sys/bus/pci/drivers_probe")) << d;

	// Unbound: nothing to unbind.
	AddPci("0000:00:06.0", 0x1af4, 0x1110, "", 6);
	EXPECT_EQ(npu_vfio_open("0000:00:06.0", &v), NPU_ERR_NO_DEVICE);
	d = npu_hw_detail();
	EXPECT_TRUE(Contains(d, "bound to no driver")) << d;
	EXPECT_FALSE(Contains(d, "unbind")) << d;
	EXPECT_TRUE(Contains(d, "driver_override")) << d;

	// The same through npu_open: the status and the text reach the API.
	NPU_TEST_REQUIRE_BACKEND("vfio");
	npu_device *dev = nullptr;
	EXPECT_EQ(npu_open("vfio:0000:00:04.0", &dev), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_last_error(), "driver_override")) << npu_last_error();
	// "vfio" finds the device by its IDs and gives the same advice.
	EXPECT_EQ(npu_open("vfio", &dev), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_last_error(), "vfio: 0000:00:04.0: bound to uio_pci_generic"))
	        << npu_last_error();
	EXPECT_TRUE(Contains(npu_last_error(), "drivers_probe")) << npu_last_error();
}

TEST_F(FakeTree, VfioOpenGroupNode)
{
	struct npu_vfio *v = nullptr;
	const std::string bdf = "0000:00:04.0";
	AddPci(bdf, 0x1af4, 0x1110, "vfio-pci", 7);

	// Bound, but no /dev/vfio/7: vfio-pci is not really there.
	EXPECT_EQ(npu_vfio_open(bdf.c_str(), &v), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_hw_detail(), dev + "/vfio/7 does not exist")) << npu_hw_detail();
	EXPECT_TRUE(Contains(npu_hw_detail(), "modprobe vfio-pci")) << npu_hw_detail();

	// A node that is no VFIO group (the group ioctl fails).
	WriteText(dev + "/vfio/7", "");
	EXPECT_EQ(npu_vfio_open(bdf.c_str(), &v), NPU_ERR_NOT_SUPPORTED);
	EXPECT_TRUE(Contains(npu_hw_detail(), "not a VFIO group")) << npu_hw_detail();
	EXPECT_EQ(v, nullptr);

	// "vfio" with nothing of the card's IDs at all.
	NPU_TEST_REQUIRE_BACKEND("vfio");
	nftw((sys + "/bus/pci/devices/" + bdf).c_str(), RemoveOne, 16, FTW_DEPTH | FTW_PHYS);
	npu_device *d = nullptr;
	EXPECT_EQ(npu_open("vfio", &d), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_last_error(), "no PCI device 1af4:1110")) << npu_last_error();
}

// /dev/vfio/N that the caller may not open: PERMISSION naming the node
// and the ways out. Root opens anything, so the open runs in a child that
// drops to an unprivileged user first.
TEST_F(FakeTree, VfioOpenPermissionDenied)
{
	const std::string bdf = "0000:00:04.0";
	AddPci(bdf, 0x1af4, 0x1110, "vfio-pci", 7);
	WriteText(dev + "/vfio/7", "");
	chmod((dev + "/vfio/7").c_str(), 0);

	int pfd[2];
	ASSERT_EQ(pipe(pfd), 0);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(3);
		struct npu_vfio *v = nullptr;
		int rc = npu_vfio_open(bdf.c_str(), &v);
		std::string out = std::to_string(rc) + " " + npu_hw_detail();
		(void)!write(pfd[1], out.data(), out.size());
		_exit(0);
	}
	close(pfd[1]);
	std::string got;
	char buf[512];
	ssize_t n;
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		got.append(buf, (size_t)n);
	close(pfd[0]);
	int status = 0;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		GTEST_SKIP() << "root, and cannot drop to uid 65534 to be refused";
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
	EXPECT_EQ(atoi(got.c_str()), NPU_ERR_PERMISSION) << got;
	EXPECT_TRUE(Contains(got, dev + "/vfio/7: permission denied")) << got;
	EXPECT_TRUE(Contains(got, "chown")) << got;
}

TEST(PcieErrno, MapsToStatuses)
{
	EXPECT_EQ(npu_pci_errno_status(EACCES, "/dev/vfio/3"), NPU_ERR_PERMISSION);
	EXPECT_TRUE(Contains(npu_hw_detail(), "/dev/vfio/3: permission denied"));
	EXPECT_EQ(npu_pci_errno_status(EPERM, "/dev/vfio/3"), NPU_ERR_PERMISSION);
	EXPECT_EQ(npu_pci_errno_status(EBUSY, "/dev/vfio/3"), NPU_ERR_BUSY);
	EXPECT_TRUE(Contains(npu_hw_detail(), "is in use (by another process"));
	EXPECT_EQ(npu_pci_errno_status(ENOENT, "/dev/vfio/3"), NPU_ERR_NO_DEVICE);
	EXPECT_EQ(npu_pci_errno_status(ENOMEM, "/dev/vfio/3"), NPU_ERR_NO_MEM);
	EXPECT_EQ(npu_pci_errno_status(EIO, "/dev/vfio/3"), NPU_ERR_IO);
	EXPECT_TRUE(Contains(npu_hw_detail(), strerror(EIO)));
}

// ---- uio ------------------------------------------------------------------

class FakeUio : public FakeTree
{
      protected:
	const struct npu_backend_ops *uio = nullptr;

	void SetUp() override
	{
		FakeTree::SetUp();
		uio = npu_backend_find("uio", 3);
		if (!uio)
			GTEST_SKIP()
			        << "uio backend not built: BACKENDS=" << npu_test::BuiltBackends();
	}

	// npu_hw_open's status and detail.
	int Open(const char *args, struct npu_hw **hw)
	{
		return npu_hw_open(uio, args, hw);
	}
};

TEST_F(FakeUio, RefusalsAreNamed)
{
	struct npu_hw *hw = nullptr;
	EXPECT_EQ(Open("3", &hw), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_hw_detail(), "no uio device uio3")) << npu_hw_detail();
	EXPECT_TRUE(Contains(npu_hw_detail(), "uio_pci_generic")) << npu_hw_detail();
	EXPECT_EQ(Open("", &hw), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_hw_detail(), "no uio devices")) << npu_hw_detail();

	// Not the card's IDs.
	AddPci("0000:00:02.0", 0x8086, 0x100e, "uio_pci_generic", -1);
	AddUio(0, "0000:00:02.0");
	EXPECT_EQ(Open("0", &hw), NPU_ERR_NOT_SUPPORTED);
	EXPECT_TRUE(Contains(npu_hw_detail(), "not PCI 1af4:1110")) << npu_hw_detail();

	// The card's IDs, but BAR files missing, empty or too small.
	const std::string bdf = "0000:00:04.0";
	AddPci(bdf, 0x1af4, 0x1110, "uio_pci_generic", -1);
	AddUio(1, bdf);
	EXPECT_EQ(Open("1", &hw), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_hw_detail(), "resource0 does not exist")) << npu_hw_detail();
	AddResource(bdf, 0, 0);
	EXPECT_EQ(Open("1", &hw), NPU_ERR_IO);
	EXPECT_TRUE(Contains(npu_hw_detail(), "resource0: empty")) << npu_hw_detail();
	AddResource(bdf, 0, 256);
	EXPECT_EQ(Open("1", &hw), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_hw_detail(), "resource2 does not exist")) << npu_hw_detail();
	AddResource(bdf, 2, 100);
	EXPECT_EQ(Open("1", &hw), NPU_ERR_NOT_SUPPORTED);
	EXPECT_TRUE(Contains(npu_hw_detail(), "too small for a card")) << npu_hw_detail();

	// Big enough, but the control page has no card magic: card.c says so.
	AddCardBars(bdf, 0x12345678);
	EXPECT_EQ(Open("1", &hw), NPU_ERR_NOT_SUPPORTED);
	EXPECT_TRUE(Contains(npu_hw_detail(), "not an lwnpu card")) << npu_hw_detail();
	// The open switched memory decoding and bus mastering on all the same.
	EXPECT_EQ(ConfigWord(bdf, 4) & 6, 6);

	// "uio" looks at every uio device and reports the first refusal.
	EXPECT_EQ(Open("", &hw), NPU_ERR_NO_DEVICE);
	EXPECT_TRUE(Contains(npu_hw_detail(), "no lwnpu card among 2 uio device(s)"))
	        << npu_hw_detail();

	// A device whose config space reads all-ones is gone.
	uint8_t ones[256];
	memset(ones, 0xff, sizeof(ones));
	WriteFile(DevDir(bdf) + "/config", ones, sizeof(ones));
	AddCardBars(bdf, NPU_CARD_MAGIC);
	EXPECT_EQ(Open("1", &hw), NPU_ERR_DISCONNECTED);
	EXPECT_TRUE(Contains(npu_hw_detail(), "all-ones")) << npu_hw_detail();
}

// A card over uio whose BAR files a thread serves as the card would
// (mailbox answered, heartbeat going): the doorbell lands in BAR0, CSR
// reads come back through the mailbox, the interrupt is polled from the
// control page (uio has none), and a card that stops is DISCONNECTED.
class UioCard : public FakeUio
{
      protected:
	const std::string bdf = "0000:00:04.0";
	std::atomic<bool> stop{false};
	std::atomic<int> resets{0};
	std::thread card;
	struct npu_card_ctrl *ctrl = nullptr;
	uint32_t *regs = nullptr;
	size_t mem_size = 0;

	void SetUp() override
	{
		FakeUio::SetUp();
		if (IsSkipped())
			return;
		AddPci("0000:00:02.0", 0x8086, 0x100e, "uio_pci_generic", -1);
		AddUio(0, "0000:00:02.0");
		AddPci(bdf, 0x1af4, 0x1110, "uio_pci_generic", -1);
		AddUio(2, bdf);
		AddCardBars(bdf, NPU_CARD_MAGIC);
		ctrl = static_cast<struct npu_card_ctrl *>(Map(2, &mem_size));
		size_t n;
		regs = static_cast<uint32_t *>(Map(0, &n));
		card = std::thread([this] { Serve(); });
	}

	void TearDown() override
	{
		stop = true;
		if (card.joinable())
			card.join();
		if (ctrl)
			munmap(ctrl, mem_size);
		if (regs)
			munmap(regs, 256);
		FakeUio::TearDown();
	}

	void *Map(unsigned n, size_t *size)
	{
		std::string path = DevDir(bdf) + "/resource" + std::to_string(n);
		int fd = open(path.c_str(), O_RDWR);
		EXPECT_GE(fd, 0);
		struct stat st;
		fstat(fd, &st);
		*size = (size_t)st.st_size;
		void *p = mmap(nullptr, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		EXPECT_NE(p, MAP_FAILED);
		return p;
	}

	// The card: a register file of its own (value = 0x1000 + offset until
	// written), the heartbeat, and nothing else.
	void Serve()
	{
		uint32_t file[NPU_HW_CSR_BYTES / 4];
		for (uint32_t i = 0; i < NPU_HW_CSR_BYTES / 4; i++)
			file[i] = 0x1000 + 4 * i;
		while (!stop) {
			__atomic_add_fetch(&ctrl->heartbeat, 1, __ATOMIC_RELEASE);
			uint32_t seq = __atomic_load_n(&ctrl->mb_seq, __ATOMIC_ACQUIRE);
			if (seq != __atomic_load_n(&ctrl->mb_done, __ATOMIC_ACQUIRE)) {
				uint32_t off = ctrl->mb_offset / 4 % (NPU_HW_CSR_BYTES / 4);
				ctrl->mb_status = NPU_CARD_ST_OK;
				if (ctrl->mb_op == NPU_CARD_OP_REG_READ)
					ctrl->mb_result = file[off];
				else if (ctrl->mb_op == NPU_CARD_OP_REG_WRITE)
					file[off] = ctrl->mb_value;
				else if (ctrl->mb_op == NPU_CARD_OP_RESET)
					resets++;
				__atomic_store_n(&ctrl->mb_done, seq, __ATOMIC_RELEASE);
			}
			usleep(100);
		}
	}
};

TEST_F(UioCard, ServesTheCardThroughSysfs)
{
	struct npu_hw *hw = nullptr;
	// "uio" skips uio0 (not the card's IDs) and takes uio2.
	ASSERT_EQ(Open("", &hw), NPU_OK) << npu_hw_detail();
	EXPECT_EQ(ConfigWord(bdf, 4) & 6, 6);
	// The card outlives opens: each open starts from a reset NPU.
	EXPECT_EQ(resets, 1);
	uint32_t v = 0;
	ASSERT_EQ(npu_hw_reg_read(hw, NPU_REG_STATUS, &v), NPU_OK);
	EXPECT_EQ(v, 0x1000u + NPU_REG_STATUS);
	// The doorbell: (card peer 1 << 16) | mailbox vector, in BAR0.
	EXPECT_EQ(__atomic_load_n(&regs[NPU_IVSHMEM_DOORBELL / 4], __ATOMIC_ACQUIRE),
	          (1u << 16) | NPU_CARD_DOORBELL_MAILBOX);
	ASSERT_EQ(npu_hw_reg_write(hw, NPU_REG_IRQ_MASK, 0x3), NPU_OK);
	ASSERT_EQ(npu_hw_reg_read(hw, NPU_REG_IRQ_MASK, &v), NPU_OK);
	EXPECT_EQ(v, 0x3u);
	EXPECT_EQ(ctrl->mb_op, NPU_CARD_OP_REG_READ);
	EXPECT_EQ(ctrl->mb_offset, NPU_REG_IRQ_MASK);

	// No interrupt on uio: wait_irq watches irq_line.
	EXPECT_EQ(npu_hw_wait_irq(hw, 30), NPU_ERR_TIMEOUT);
	__atomic_store_n(&ctrl->irq_line, 1u, __ATOMIC_RELEASE);
	EXPECT_EQ(npu_hw_wait_irq(hw, 1000), NPU_OK);
	__atomic_store_n(&ctrl->irq_line, 0u, __ATOMIC_RELEASE);

	// No buf_import: uio has no IOMMU.
	struct npu_hw_buf b = {};
	EXPECT_EQ(npu_hw_buf_import(hw, nullptr, 4096, -1, NPU_HW_BUF_DEV_READ, &b),
	          NPU_ERR_NOT_SUPPORTED);
	// Buffers live in card memory, in the BAR.
	ASSERT_EQ(npu_hw_buf_alloc(hw, 100, NPU_HW_BUF_DEV_READ, &b), NPU_OK);
	memcpy(b.host, "card", 4);
	EXPECT_EQ(memcmp((uint8_t *)ctrl + NPU_CARD_DRAM_OFFSET +
	                         (b.dev_addr - NPU_CARD_DRAM_DEV_BASE),
	                 "card", 4),
	          0);
	npu_hw_buf_free(hw, &b);

	// The card stops: its heartbeat freezes and the next call says so.
	stop = true;
	card.join();
	EXPECT_EQ(npu_hw_reg_read(hw, NPU_REG_STATUS, &v), NPU_ERR_DISCONNECTED);
	EXPECT_EQ(npu_hw_submit(hw, 1), NPU_ERR_DISCONNECTED);
	npu_hw_close(hw);
}

TEST_F(UioCard, ConfigAllOnesIsSurpriseRemoval)
{
	struct npu_hw *hw = nullptr;
	ASSERT_EQ(Open("2", &hw), NPU_OK) << npu_hw_detail();
	uint32_t v = 0;
	ASSERT_EQ(npu_hw_reg_read(hw, NPU_REG_STATUS, &v), NPU_OK);
	uint8_t ones[256];
	memset(ones, 0xff, sizeof(ones));
	int fd = open((DevDir(bdf) + "/config").c_str(), O_WRONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(pwrite(fd, ones, sizeof(ones), 0), (ssize_t)sizeof(ones));
	close(fd);
	// The heartbeat goes on: only the config space says the card is gone.
	usleep(60 * 1000);
	EXPECT_EQ(npu_hw_reg_read(hw, NPU_REG_STATUS, &v), NPU_ERR_DISCONNECTED);
	npu_hw_close(hw);
}

// ---- IOVA allocator ---------------------------------------------------------

TEST(PcieIova, FirstFit)
{
	struct npu_iova a;
	const struct npu_iova_range r = {0x1000, 0xffff};
	ASSERT_EQ(npu_iova_init(&a, 0x1000, &r, 1, nullptr, 0), NPU_OK);
	uint64_t x, y, z;
	ASSERT_EQ(npu_iova_alloc(&a, 0x1000, &x), NPU_OK);
	EXPECT_EQ(x, 0x1000u);
	ASSERT_EQ(npu_iova_alloc(&a, 0x2000, &y), NPU_OK);
	EXPECT_EQ(y, 0x2000u);
	ASSERT_EQ(npu_iova_free(&a, x, 0x1000), NPU_OK);
	// 0x3000 bytes do not fit the hole at 0x1000: the first range that fits.
	ASSERT_EQ(npu_iova_alloc(&a, 0x3000, &z), NPU_OK);
	EXPECT_EQ(z, 0x4000u);
	// One page does: the lowest address.
	ASSERT_EQ(npu_iova_alloc(&a, 1, &x), NPU_OK);
	EXPECT_EQ(x, 0x1000u);
	npu_iova_fini(&a);
}

TEST(PcieIova, PageAlignment)
{
	struct npu_iova a;
	// A range that neither starts nor ends on a page: only whole pages.
	const struct npu_iova_range r = {0x1234, 0x4ffe};
	ASSERT_EQ(npu_iova_init(&a, 0x1000, &r, 1, nullptr, 0), NPU_OK);
	ASSERT_EQ(a.nfree, 1u);
	EXPECT_EQ(a.free[0].start, 0x2000u);
	EXPECT_EQ(a.free[0].last, 0x3fffu);
	uint64_t x, y;
	ASSERT_EQ(npu_iova_alloc(&a, 10, &x), NPU_OK);
	EXPECT_EQ(x, 0x2000u);
	ASSERT_EQ(npu_iova_alloc(&a, 10, &y), NPU_OK);
	EXPECT_EQ(y, 0x3000u);
	EXPECT_EQ(npu_iova_alloc(&a, 10, &y), NPU_ERR_NO_MEM);
	EXPECT_EQ(npu_iova_free(&a, 0x2001, 0x1000), NPU_ERR_INVALID_ARG);
	npu_iova_fini(&a);
	// A range smaller than a page gives nothing; a page size that is no
	// power of two is refused.
	const struct npu_iova_range tiny = {0x1001, 0x1fff};
	ASSERT_EQ(npu_iova_init(&a, 0x1000, &tiny, 1, nullptr, 0), NPU_OK);
	EXPECT_EQ(a.nfree, 0u);
	npu_iova_fini(&a);
	EXPECT_EQ(npu_iova_init(&a, 0x3000, &r, 1, nullptr, 0), NPU_ERR_INVALID_ARG);
	const struct npu_iova_range backwards = {0x5000, 0x1000};
	EXPECT_EQ(npu_iova_init(&a, 0x1000, &backwards, 1, nullptr, 0), NPU_ERR_INVALID_ARG);
}

TEST(PcieIova, Exhaustion)
{
	struct npu_iova a;
	const struct npu_iova_range r = {0x10000, 0x17fff}; // 8 pages
	ASSERT_EQ(npu_iova_init(&a, 0x1000, &r, 1, nullptr, 0), NPU_OK);
	uint64_t x;
	EXPECT_EQ(npu_iova_alloc(&a, 0, &x), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_iova_alloc(&a, 0x9000, &x), NPU_ERR_NO_MEM);
	EXPECT_EQ(npu_iova_alloc(&a, UINT64_MAX, &x), NPU_ERR_NO_MEM);
	for (int i = 0; i < 8; i++) {
		ASSERT_EQ(npu_iova_alloc(&a, 0x1000, &x), NPU_OK) << i;
		EXPECT_EQ(x, 0x10000u + 0x1000u * (unsigned)i);
	}
	EXPECT_EQ(npu_iova_alloc(&a, 1, &x), NPU_ERR_NO_MEM);
	EXPECT_EQ(a.nfree, 0u);
	npu_iova_fini(&a);
}

TEST(PcieIova, FreeMergesNeighbours)
{
	struct npu_iova a;
	const struct npu_iova_range r = {0x1000, 0x8fff};
	ASSERT_EQ(npu_iova_init(&a, 0x1000, &r, 1, nullptr, 0), NPU_OK);
	uint64_t p[4];
	for (uint64_t &x : p)
		ASSERT_EQ(npu_iova_alloc(&a, 0x2000, &x), NPU_OK);
	EXPECT_EQ(a.nfree, 0u);
	ASSERT_EQ(npu_iova_free(&a, p[1], 0x2000), NPU_OK);
	ASSERT_EQ(npu_iova_free(&a, p[3], 0x2000), NPU_OK);
	EXPECT_EQ(a.nfree, 2u);
	// A double free, or one overlapping free space, is refused.
	EXPECT_EQ(npu_iova_free(&a, p[1], 0x2000), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_iova_free(&a, p[0], 0x3000), NPU_ERR_INVALID_ARG);
	// p[2] joins both neighbours, p[0] the rest: one range again.
	ASSERT_EQ(npu_iova_free(&a, p[2], 0x2000), NPU_OK);
	EXPECT_EQ(a.nfree, 1u);
	ASSERT_EQ(npu_iova_free(&a, p[0], 0x2000), NPU_OK);
	ASSERT_EQ(a.nfree, 1u);
	EXPECT_EQ(a.free[0].start, 0x1000u);
	EXPECT_EQ(a.free[0].last, 0x8fffu);
	npu_iova_fini(&a);
}

TEST(PcieIova, ReservedRangesAreNeverHandedOut)
{
	struct npu_iova a;
	// What vfio_dev reserves: page 0 and the MSI window, over the low 4 GiB
	// and a second range above, given out of order and overlapping.
	const struct npu_iova_range usable[] = {{0x100000000ull, 0x1ffffffffull},
	                                        {0, 0xffffffffull},
	                                        {0x80000000ull, 0x90000fffull}};
	const struct npu_iova_range reserved[] = {{0, 0}, {0xfee00000ull, 0xfeefffffull}};
	ASSERT_EQ(npu_iova_init(&a, 0x1000, usable, 3, reserved, 2), NPU_OK);
	ASSERT_EQ(a.nfree, 2u);
	EXPECT_EQ(a.free[0].start, 0x1000u);
	EXPECT_EQ(a.free[0].last, 0xfedfffffull);
	EXPECT_EQ(a.free[1].start, 0xfef00000ull);
	EXPECT_EQ(a.free[1].last, 0x1ffffffffull);
	uint64_t x;
	ASSERT_EQ(npu_iova_alloc(&a, 0x1000, &x), NPU_OK);
	EXPECT_EQ(x, 0x1000u);
	// A request larger than what is left below the window goes above it.
	ASSERT_EQ(npu_iova_alloc(&a, 0xfee00000ull, &x), NPU_OK);
	EXPECT_EQ(x, 0xfef00000ull);
	npu_iova_fini(&a);

	// The whole 64-bit space: the top page is usable and comes back.
	const struct npu_iova_range all = {0, UINT64_MAX};
	ASSERT_EQ(npu_iova_init(&a, 0x1000, &all, 1, reserved, 1), NPU_OK);
	ASSERT_EQ(a.nfree, 1u);
	EXPECT_EQ(a.free[0].last, UINT64_MAX);
	ASSERT_EQ(npu_iova_alloc(&a, 0x1000, &x), NPU_OK);
	EXPECT_EQ(x, 0x1000u);
	ASSERT_EQ(npu_iova_free(&a, UINT64_MAX - 0xfff, 0x1000), NPU_ERR_INVALID_ARG); // free
	ASSERT_EQ(npu_iova_free(&a, x, 0x1000), NPU_OK);
	EXPECT_EQ(a.nfree, 1u);
	npu_iova_fini(&a);
}

// ---- IOMMU fault lines --------------------------------------------------------

TEST(PcieFaults, ParsesDmarAndAmdLines)
{
	const char *bdf = "0000:00:04.0";
	uint64_t a = 0;
	struct Case {
		const char *line;
		int hit;
		uint64_t addr;
	} cases[] = {
	        // Linux 6.1, Intel, as a kmsg record and as dmesg prints it.
	        {"3,1234,5678901,-;DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr "
	         "0x12345000 [fault reason 0x06] PTE Read access is not set",
	         1, 0x12345000},
	        {"DMAR: [DMA Write NO_PASID] Request device [00:04.0] fault addr 0xdead000 [fault "
	         "reason 0x05] PTE Write access is not set",
	         1, 0xdead000},
	        // Older kernels: no 0x, a PASID field.
	        {"DMAR: [DMA Read] Request device [00:04.0] PASID ffffffff fault addr 7fff0000 "
	         "[fault "
	         "reason 06] PTE Read access is not set",
	         1, 0x7fff0000},
	        // Another device, a longer function/device number, no address.
	        {"DMAR: [DMA Read NO_PASID] Request device [00:05.0] fault addr 0x1000 [fault "
	         "reason "
	         "0x06] PTE Read access is not set",
	         0, 0},
	        {"DMAR: [DMA Read NO_PASID] Request device [00:04.01] fault addr 0x1000", 0, 0},
	        {"DMAR: DRHD: handling fault status reg 3", 0, 0},
	        {"DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault reason 0x06", 0, 0},
	        // AMD, 6.1 and older.
	        {"6,99,100,-;vfio-pci 0000:00:04.0: AMD-Vi: Event logged [IO_PAGE_FAULT "
	         "domain=0x000e address=0xfffff000 flags=0x0000]",
	         1, 0xfffff000},
	        {"AMD-Vi: Event logged [IO_PAGE_FAULT device=00:04.0 domain=0x0000 address=0x1000 "
	         "flags=0x0050]",
	         1, 0x1000},
	        {"vfio-pci 0000:00:14.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x000e "
	         "address=0x1000 flags=0x0000]",
	         0, 0},
	        {"vfio-pci 10000:00:04.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x000e "
	         "address=0x1000 flags=0x0000]",
	         0, 0},
	        {"vfio-pci 0000:00:04.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x000e "
	         "address=0x1000 flags=0x0000]",
	         1, 0x1000},
	        {"usb 1-1: new high-speed USB device number 2 using xhci_hcd", 0, 0},
	        {"", 0, 0},
	};
	for (const Case &c : cases) {
		a = 0;
		EXPECT_EQ(npu_iommu_fault_parse(c.line, bdf, &a), c.hit) << c.line;
		if (c.hit) {
			EXPECT_EQ(a, c.addr) << c.line;
		}
	}
	// The short form names segment 0 only.
	EXPECT_EQ(npu_iommu_fault_parse(cases[1].line, "0001:00:04.0", &a), 0);
}

TEST_F(FakeTree, KmsgCountsFaultsSinceOpen)
{
	const std::string kmsg = dev + "/kmsg";
	EXPECT_EQ(npu_kmsg_open(), -1); // no log: faults unknown
	WriteText(kmsg, "3,1,1,-;DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr "
	                "0x111000 [fault reason 0x06] PTE Read access is not set\n");
	int fd = npu_kmsg_open();
	ASSERT_GE(fd, 0);
	uint64_t a = 0;
	EXPECT_EQ(npu_kmsg_faults(fd, "0000:00:04.0", &a), 0) << "a fault from before open counted";
	AppendText(kmsg, "6,2,2,-;vfio-pci 0000:00:04.0: enabling device (0000 -> 0003)\n"
	                 "3,3,3,-;DMAR: [DMA Write NO_PASID] Request device [00:04.0] fault addr "
	                 "0xabc000 [fault reason 0x05] PTE Write access is not set\n"
	                 " SUBSYSTEM=pci\n"
	                 "3,4,4,-;DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr "
	                 "0x222000 [fault reason 0x06] PTE Read access is not set\n"
	                 "3,5,5,-;DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr "
	                 "0xdef000 [fault reason 0x06] PTE Read access is not set\n");
	EXPECT_EQ(npu_kmsg_faults(fd, "0000:00:04.0", &a), 2);
	EXPECT_EQ(a, 0xabc000u);
	EXPECT_EQ(npu_kmsg_faults(fd, "0000:00:04.0", &a), 0) << "a fault counted twice";
	// A line still being written is read once it is whole.
	AppendText(kmsg, "3,6,6,-;DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault ad");
	EXPECT_EQ(npu_kmsg_faults(fd, "0000:00:04.0", &a), 0);
	AppendText(kmsg, "dr 0x333000 [fault reason 0x06] PTE Read access is not set\n");
	EXPECT_EQ(npu_kmsg_faults(fd, "0000:00:04.0", &a), 1);
	EXPECT_EQ(a, 0x333000u);
	close(fd);
}

} // namespace
