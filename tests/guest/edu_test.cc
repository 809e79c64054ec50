// The IOMMU path, on QEMU's edu device (PCI 1234:11e8) bound to vfio-pci
// in the guest, through the generic VFIO layer (driver/vfio_dev.h): the
// co-simulated NPU card cannot DMA into host memory (ivshmem has no DMA),
// edu can, and the emulated Intel IOMMU translates and checks every one of
// its accesses.
//
//   GuestEdu.Identity                 the device's ID and liveness registers
//   GuestEdu.DmaRoundTripThroughIommu RAM -> edu -> RAM through two mapped
//                                     IOVAs, bytes checked, INTx as eventfd
//   GuestEdu.UnmappedIovaIsAFault     a DMA from an IOVA that was unmapped is
//                                     blocked, logged as a DMAR fault that the
//                                     fault scan finds (address and count),
//                                     and the device and guest go on working
//
// edu's registers (QEMU's docs/specs/edu.txt): 0x00 ID, 0x04 liveness
// (reads back inverted), 0x24 interrupt status, 0x64 interrupt ack, 0x80
// DMA source, 0x88 DMA destination, 0x90 count, 0x98 command (bit 0
// start, bit 1 edu -> RAM, bit 2 interrupt 0x100 when done); its DMA
// buffer is at edu address 0x40000, 4 KiB. QEMU 7.2's edu aborts on a DMA
// that ends exactly at the buffer's end: the tests stay below it.
#include <gtest/gtest.h>

#include <linux/vfio.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "npu.h"
#include "driver/backend.h"
#include "driver/vfio_dev.h"
#include "tests/guest/guest.h"

namespace
{

constexpr uint64_t kEduId = 0x00, kEduLive = 0x04, kEduIrqStatus = 0x24, kEduIrqAck = 0x64;
constexpr uint64_t kEduDmaSrc = 0x80, kEduDmaDst = 0x88, kEduDmaCount = 0x90, kEduDmaCmd = 0x98;
constexpr uint64_t kEduDmaStart = 0x1, kEduDmaToRam = 0x2, kEduDmaIrq = 0x4;
constexpr uint64_t kEduBuf = 0x40000;
constexpr uint32_t kEduDmaDoneIrq = 0x100;
constexpr size_t kPage = 4096;
// Below the buffer's 4 KiB (see the head comment).
constexpr size_t kDmaBytes = 3000;

struct PageDeleter {
	void operator()(void *p) const
	{
		free(p);
	}
};
using Pages = std::unique_ptr<uint8_t, PageDeleter>;

Pages AllocPages(size_t n)
{
	void *p = aligned_alloc(kPage, n);
	if (p)
		memset(p, 0, n);
	return Pages(static_cast<uint8_t *>(p));
}

// edu opened through VFIO with its INTx as an eventfd.
class GuestEdu : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		const std::string bdf = npu_guest::Env("NPU_GUEST_EDU");
		ASSERT_FALSE(bdf.empty());
		const int rc = npu_vfio_open(bdf.c_str(), &v_);
		ASSERT_EQ(rc, NPU_OK)
		        << bdf << ": " << npu_status_name(rc) << ": " << npu_last_error();
		ASSERT_EQ(npu_vfio_irq_eventfd(v_, VFIO_PCI_INTX_IRQ_INDEX, 0, &irq_fd_), NPU_OK)
		        << npu_last_error();
	}
	void TearDown() override
	{
		npu_vfio_close(v_);
	}

	uint32_t Read32(uint64_t off)
	{
		uint32_t x = 0;
		EXPECT_EQ(npu_vfio_region_read(v_, VFIO_PCI_BAR0_REGION_INDEX, off, &x, 4), NPU_OK);
		return x;
	}
	void Write32(uint64_t off, uint32_t x)
	{
		EXPECT_EQ(npu_vfio_region_write(v_, VFIO_PCI_BAR0_REGION_INDEX, off, &x, 4),
		          NPU_OK);
	}
	void Write64(uint64_t off, uint64_t x)
	{
		EXPECT_EQ(npu_vfio_region_write(v_, VFIO_PCI_BAR0_REGION_INDEX, off, &x, 8),
		          NPU_OK);
	}

	// One DMA of n bytes with the done interrupt; true when the interrupt
	// came (as an eventfd event) within 2 s and was acknowledged.
	bool Dma(uint64_t src, uint64_t dst, size_t n, bool to_ram)
	{
		Write64(kEduDmaSrc, src);
		Write64(kEduDmaDst, dst);
		Write64(kEduDmaCount, n);
		Write64(kEduDmaCmd, kEduDmaStart | kEduDmaIrq | (to_ram ? kEduDmaToRam : 0));
		pollfd p = {irq_fd_, POLLIN, 0};
		if (poll(&p, 1, 2000) != 1)
			return false;
		uint64_t events;
		EXPECT_EQ(read(irq_fd_, &events, 8), 8);
		const uint32_t status = Read32(kEduIrqStatus);
		EXPECT_EQ(status & kEduDmaDoneIrq, kEduDmaDoneIrq) << "interrupt status " << status;
		Write32(kEduIrqAck, status);
		// The kernel masked INTx when it fired; edu has dropped the line.
		EXPECT_EQ(npu_vfio_irq_unmask(v_, VFIO_PCI_INTX_IRQ_INDEX), NPU_OK);
		EXPECT_EQ(Read32(kEduDmaCmd) & kEduDmaStart, 0u)
		        << "DMA still busy after its interrupt";
		return true;
	}

	// RAM -> edu -> RAM through two fresh mappings; the bytes that came
	// back, compared with what went.
	void RoundTrip(uint8_t seed)
	{
		Pages src = AllocPages(kPage), dst = AllocPages(kPage);
		ASSERT_TRUE(src && dst);
		for (size_t i = 0; i < kPage; i++)
			src.get()[i] = static_cast<uint8_t>(i * 7 + seed);
		uint64_t src_iova = 0, dst_iova = 0;
		ASSERT_EQ(npu_vfio_dma_map(v_, src.get(), kPage, NPU_VFIO_DMA_READ, &src_iova),
		          NPU_OK)
		        << npu_last_error();
		ASSERT_EQ(npu_vfio_dma_map(v_, dst.get(), kPage, NPU_VFIO_DMA_WRITE, &dst_iova),
		          NPU_OK)
		        << npu_last_error();
		EXPECT_NE(src_iova, dst_iova);
		ASSERT_TRUE(Dma(src_iova, kEduBuf, kDmaBytes, false))
		        << "no interrupt after RAM -> edu";
		ASSERT_TRUE(Dma(kEduBuf, dst_iova, kDmaBytes, true))
		        << "no interrupt after edu -> RAM";
		EXPECT_EQ(memcmp(src.get(), dst.get(), kDmaBytes), 0)
		        << "the bytes changed on the way";
		for (size_t i = kDmaBytes; i < kPage; i++)
			ASSERT_EQ(dst.get()[i], 0) << "edu wrote past its count at byte " << i;
		EXPECT_EQ(npu_vfio_dma_unmap(v_, src_iova, kPage), NPU_OK);
		EXPECT_EQ(npu_vfio_dma_unmap(v_, dst_iova, kPage), NPU_OK);
	}

	npu_vfio *v_ = nullptr;
	int irq_fd_ = -1;
};

TEST_F(GuestEdu, Identity)
{
	// 0xRRrr00ed: edu's ID with QEMU's major/minor version.
	EXPECT_EQ(Read32(kEduId) & 0xffffu, 0x00edu);
	Write32(kEduLive, 0x12345678u);
	EXPECT_EQ(Read32(kEduLive), ~0x12345678u);
	uint64_t size = 0;
	uint32_t flags = 0;
	ASSERT_EQ(npu_vfio_region_info(v_, VFIO_PCI_BAR0_REGION_INDEX, &size, &flags), NPU_OK);
	EXPECT_EQ(size, 1u << 20) << "edu's BAR0 is 1 MiB";
	EXPECT_TRUE(npu_vfio_present(v_));
}

TEST_F(GuestEdu, DmaRoundTripThroughIommu)
{
	RoundTrip(3);
	uint64_t addr = 0;
	EXPECT_EQ(npu_vfio_iommu_faults(v_, &addr), 0) << "a fault at " << std::hex << addr;
}

TEST_F(GuestEdu, UnmappedIovaIsAFault)
{
	// An IOVA that was mapped a moment ago, so that it lies where the
	// allocator hands addresses out, then unmapped: the IOMMU has no
	// translation for it any more.
	Pages buf = AllocPages(kPage);
	ASSERT_TRUE(buf);
	uint64_t iova = 0;
	ASSERT_EQ(npu_vfio_dma_map(v_, buf.get(), kPage, NPU_VFIO_DMA_READ, &iova), NPU_OK);
	ASSERT_EQ(npu_vfio_dma_unmap(v_, iova, kPage), NPU_OK);

	// edu finishes the DMA whatever the bus answered: the interrupt still
	// comes; the IOMMU refused the read and logged it.
	const uint64_t bad = iova + 0x100;
	ASSERT_TRUE(Dma(bad, kEduBuf, 256, false)) << "no interrupt after the refused DMA";
	uint64_t addr = 0;
	int n = 0;
	// The fault line reaches the kernel log from the IOMMU's fault
	// interrupt: give it a moment.
	const auto t0 = npu_guest::Clock::now();
	while ((n = npu_vfio_iommu_faults(v_, &addr)) == 0 && npu_guest::MsSince(t0) < 2000)
		usleep(10000);
	ASSERT_GT(n, 0) << (n < 0 ? npu_status_name(n) : "no DMAR fault logged for the device");
	// Intel DMAR reports the faulting page.
	EXPECT_EQ(addr & ~(kPage - 1), bad & ~(kPage - 1))
	        << std::hex << "fault at 0x" << addr << ", DMA from 0x" << bad;
	// Counted once: nothing new now. The backend's status for a fault is
	// named, and its detail says where: a second refused DMA shows it.
	EXPECT_EQ(npu_vfio_iommu_faults(v_, &addr), 0);
	EXPECT_EQ(npu_vfio_check_faults(v_), NPU_OK);
	ASSERT_TRUE(Dma(bad, kEduBuf, 256, false)) << "no interrupt after the second refused DMA";
	int rc = NPU_OK;
	const auto t1 = npu_guest::Clock::now();
	while ((rc = npu_vfio_check_faults(v_)) == NPU_OK && npu_guest::MsSince(t1) < 2000)
		usleep(10000);
	EXPECT_STREQ(npu_status_name(rc), "NPU_ERR_IOMMU_FAULT");
	char want[32];
	snprintf(want, sizeof(want), "0x%llx", (unsigned long long)addr); // as the log said
	EXPECT_NE(std::string(npu_hw_detail()).find(want), std::string::npos) << npu_hw_detail();
	// The device and the guest go on.
	EXPECT_TRUE(npu_vfio_present(v_));
	Write32(kEduLive, 0xa5a5a5a5u);
	EXPECT_EQ(Read32(kEduLive), ~0xa5a5a5a5u);
	RoundTrip(9);
}

} // namespace
