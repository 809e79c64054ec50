// The co-simulated NPU card (driver/npu_card.h) from inside the PCIe
// guest: QEMU's ivshmem-doorbell devices served by npu-cosim on the host,
// reached through the vfio and uio backends.
//
//   GuestZoo/*           every zoo net on vfio (card 0) bit-exact against
//                        the cpu device, every layer where the scheduler put
//                        it (from the device's profile)
//   GuestZoo224          MobileNetV2 at its real size, the same checks
//   GuestUio             one net on uio (card 1, bound to uio_pci_generic:
//                        no interrupt, completion polled), the same checks
//   GuestOpenErrors      vfio on a device vfio-pci does not have: named,
//                        with the commands that bind it; other bad URIs
//   GuestRemoval         card 2's npu-cosim kills itself in the middle of a
//                        job: the job ends with NPU_ERR_DISCONNECTED within
//                        1 s of the card's last heartbeat, close works after
//
// Sizes: the models in the initramfs (tests/pcie/pcie.mk: every net at
// PCIE_ZOO_SIZE, MobileNetV2 at 224 too).
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "npu.h"
#include "driver/npu_card.h"
#include "driver/vfio_dev.h"
#include "tests/guest/guest.h"

namespace
{

std::string VfioUri(const char *var)
{
	return "vfio:" + npu_guest::Env(var);
}

// ---- GuestZoo ------------------------------------------------------------

class GuestZoo : public ::testing::TestWithParam<const char *>
{
};

TEST_P(GuestZoo, BitExactOnVfio)
{
	npu_guest::ExpectBitExactWithPlacement(VfioUri("NPU_GUEST_VFIO_CARD"), GetParam(), 0, 7);
}

INSTANTIATE_TEST_SUITE_P(Zoo, GuestZoo,
                         ::testing::Values("squeezenet1_0", "squeezenet1_1", "mobilenet_v1",
                                           "shufflenet_v1_g3", "mobilenet_v2", "mobilenet_v3_large",
                                           "mobilenet_v3_small", "shufflenet_v2_x1_0"));

TEST(GuestZoo224, MobileNetV2OnVfio)
{
	npu_guest::ExpectBitExactWithPlacement(VfioUri("NPU_GUEST_VFIO_CARD"), "mobilenet_v2", 224,
	                                       11);
}

// ---- GuestUio ------------------------------------------------------------

TEST(GuestUio, MobileNetV2OnUio)
{
	npu_guest::ExpectBitExactWithPlacement("uio:" + npu_guest::Env("NPU_GUEST_UIO_INDEX"),
	                                       "mobilenet_v2", 0, 5);
}

// ---- GuestOpenErrors -------------------------------------------------------

// npu_open(uri) fails with want and npu_last_error() contains each of
// words.
void ExpectOpenError(const std::string &uri, int want, std::initializer_list<const char *> words)
{
	npu_device *dev = nullptr;
	const int rc = npu_open(uri.c_str(), &dev);
	EXPECT_EQ(rc, want) << uri << ": " << npu_status_name(rc) << ": " << npu_last_error();
	if (rc == NPU_OK) {
		npu_close(dev);
		return;
	}
	const std::string msg = npu_last_error();
	for (const char *w : words)
		EXPECT_NE(msg.find(w), std::string::npos)
		        << uri << ": npu_last_error() \"" << msg << "\" lacks \"" << w << "\"";
}

TEST(GuestOpenErrors, VfioOnADeviceNotBoundToVfioPci)
{
	// Card 1 is bound to uio_pci_generic: vfio cannot have it, and says
	// how to give it to vfio-pci.
	const std::string bdf = npu_guest::Env("NPU_GUEST_UIO_CARD");
	ExpectOpenError("vfio:" + bdf, NPU_ERR_NO_DEVICE,
	                {bdf.c_str(), "driver_override", "vfio-pci", "drivers_probe"});
}

TEST(GuestOpenErrors, NoSuchDevices)
{
	ExpectOpenError("vfio:0000:00:1f.7", NPU_ERR_NO_DEVICE, {"0000:00:1f.7"});
	ExpectOpenError("uio:97", NPU_ERR_NO_DEVICE, {"97"});
	ExpectOpenError("vfio:00:04", NPU_ERR_INVALID_ARG, {"00:04"});
}

TEST(GuestOpenErrors, EduIsNoNpuCard)
{
	// edu is bound to vfio-pci (the IOMMU tests use it) but has no
	// control page: not an lwnpu card.
	ExpectOpenError(VfioUri("NPU_GUEST_EDU"), NPU_ERR_NOT_SUPPORTED, {});
}

// ---- GuestRemoval --------------------------------------------------------

// Card 2's control page through sysfs (resource2), read-only, apart from
// the backend's own mapping: when the card's heartbeat last moved.
class HeartbeatWatch
{
      public:
	explicit HeartbeatWatch(const std::string &bdf)
	{
		void *p = nullptr;
		const int rc = npu_pci_map_resource(bdf.c_str(), NPU_CARD_BAR_MEM, &p, &size_);
		EXPECT_EQ(rc, NPU_OK) << bdf << ": " << npu_last_error();
		if (rc != NPU_OK)
			return;
		map_ = p;
		ctrl_ = static_cast<const volatile npu_card_ctrl *>(p);
		thread_ = std::thread([this] { Watch(); });
	}
	~HeartbeatWatch()
	{
		stop_ = true;
		if (thread_.joinable())
			thread_.join();
		if (map_)
			munmap(map_, size_);
	}
	bool ok() const
	{
		return ctrl_ != nullptr;
	}
	uint64_t cycles() const
	{
		return ctrl_ ? __atomic_load_n(&ctrl_->npu_cycles, __ATOMIC_ACQUIRE) : 0;
	}
	// When the heartbeat last changed, and the NPU cycles then.
	npu_guest::Clock::time_point last_beat() const
	{
		return npu_guest::Clock::time_point(npu_guest::Clock::duration(last_beat_.load()));
	}
	uint64_t cycles_at_last_beat() const
	{
		return cycles_at_last_beat_.load();
	}

      private:
	void Watch()
	{
		uint32_t beat = ctrl_->heartbeat;
		last_beat_ = npu_guest::Clock::now().time_since_epoch().count();
		while (!stop_) {
			const uint32_t b = __atomic_load_n(&ctrl_->heartbeat, __ATOMIC_ACQUIRE);
			if (b != beat) {
				beat = b;
				cycles_at_last_beat_ = cycles();
				last_beat_ = npu_guest::Clock::now().time_since_epoch().count();
			}
			usleep(2000);
		}
	}

	void *map_ = nullptr;
	size_t size_ = 0;
	const volatile npu_card_ctrl *ctrl_ = nullptr;
	std::thread thread_;
	std::atomic<bool> stop_{false};
	std::atomic<npu_guest::Clock::rep> last_beat_{0};
	std::atomic<uint64_t> cycles_at_last_beat_{0};
};

TEST(GuestRemoval, CardDiesMidJob)
{
	const std::string bdf = npu_guest::Env("NPU_GUEST_DYING_CARD");
	// MobileNetV2 at the zoo size (32: about 790,000 NPU cycles); the
	// card's npu-cosim dies after tools/pcie-guest/run's
	// --kill-after-cycles (300,000), inside the job.
	int size = 0;
	const std::vector<uint8_t> file = npu_guest::LoadModel("mobilenet_v2", 0, &size);
	ASSERT_FALSE(file.empty());
	const std::vector<int8_t> x = npu_guest::Input(size, 3);

	HeartbeatWatch watch(bdf);
	ASSERT_TRUE(watch.ok());
	npu_device *dev = nullptr;
	int rc = npu_open(("vfio:" + bdf).c_str(), &dev);
	ASSERT_EQ(rc, NPU_OK) << npu_status_name(rc) << ": " << npu_last_error();
	npu_model *m = nullptr;
	rc = npu_model_load_memory(dev, file.data(), file.size(), &m);
	ASSERT_EQ(rc, NPU_OK) << npu_status_name(rc) << ": " << npu_last_error();
	npu_tensor_info info;
	npu_model_output(m, &info);
	std::vector<int8_t> y(info.elements);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};

	const uint64_t cycles0 = watch.cycles();
	npu_job *job = nullptr;
	ASSERT_EQ(npu_submit(m, &io, &job), NPU_OK) << npu_last_error();
	rc = npu_wait(job, 60000);
	const auto t_end = npu_guest::Clock::now();
	EXPECT_EQ(rc, NPU_ERR_DISCONNECTED) << npu_status_name(rc) << ": " << npu_last_error();
	const double lat =
	        std::chrono::duration<double, std::milli>(t_end - watch.last_beat()).count();
	// The heartbeat runs every NPU_CARD_HEARTBEAT_MS: the card died at
	// most that long after its last beat.
	EXPECT_LT(lat, 1000.0 + NPU_CARD_HEARTBEAT_MS)
	        << "the job noticed the card's death " << lat << " ms after its last heartbeat";
	EXPECT_GT(watch.cycles_at_last_beat(), cycles0) << "the card died before the job started";
	::testing::Test::RecordProperty("disconnect_ms", std::to_string(lat));
	printf("  job ended %s %.0f ms after the card's last heartbeat (NPU cycles %llu -> %llu)\n",
	       npu_status_name(rc), lat, static_cast<unsigned long long>(cycles0),
	       static_cast<unsigned long long>(watch.cycles_at_last_beat()));

	// Further jobs fail at once, by name; the model and device close.
	const auto t0 = npu_guest::Clock::now();
	EXPECT_EQ(npu_run(m, &io), NPU_ERR_DISCONNECTED);
	EXPECT_LT(npu_guest::MsSince(t0), 1000.0);
	npu_model_free(m);
	npu_close(dev);
	// A new open finds no card there.
	dev = nullptr;
	rc = npu_open(("vfio:" + bdf).c_str(), &dev);
	EXPECT_NE(rc, NPU_OK) << "a dead card opened";
	npu_close(dev);
}

} // namespace
