// The backend table: lookup by name, the null backend's clean refusals,
// and the fault-injection gate every wrapper passes through.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "driver/backend.h"
#include "driver/npu_regs.h"

namespace
{

TEST(DriverBackend, FindByExactName)
{
	EXPECT_NE(npu_backend_find("null", 4), nullptr);
	EXPECT_EQ(npu_backend_find("nul", 3), nullptr);
	EXPECT_EQ(npu_backend_find("nullx", 5), nullptr);
	EXPECT_EQ(npu_backend_find("null:x", 6), nullptr);
	int n = 0;
	for (auto b = npu_backend_list(); *b; b++, n++) {
		EXPECT_NE((*b)->open, nullptr) << (*b)->name;
		EXPECT_NE((*b)->close, nullptr) << (*b)->name;
		EXPECT_NE((*b)->reg_read, nullptr) << (*b)->name;
		EXPECT_NE((*b)->reg_write, nullptr) << (*b)->name;
		EXPECT_NE((*b)->buf_alloc, nullptr) << (*b)->name;
		EXPECT_NE((*b)->buf_free, nullptr) << (*b)->name;
		EXPECT_NE((*b)->submit, nullptr) << (*b)->name;
		EXPECT_NE((*b)->wait_irq, nullptr) << (*b)->name;
		EXPECT_NE((*b)->reset, nullptr) << (*b)->name;
		EXPECT_NE((*b)->summary, nullptr) << (*b)->name;
	}
	EXPECT_GE(n, 1);
}

TEST(DriverNull, EveryOperationIsNotSupported)
{
	struct npu_hw *hw = nullptr;
	const npu_backend_ops *ops = npu_backend_find("null", 4);
	ASSERT_EQ(npu_hw_open(ops, "", &hw), NPU_OK);
	uint32_t v = 0xdeadbeef;
	EXPECT_EQ(npu_hw_reg_read(hw, NPU_REG_ID, &v), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(v, 0xdeadbeefu) << "output written on failure";
	EXPECT_EQ(npu_hw_reg_write(hw, NPU_REG_CTRL, 1), NPU_ERR_NOT_SUPPORTED);
	npu_hw_buf buf;
	memset(&buf, 0, sizeof(buf));
	EXPECT_EQ(npu_hw_buf_alloc(hw, 4096, NPU_HW_BUF_DEV_READ, &buf), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(buf.host, nullptr);
	EXPECT_EQ(npu_hw_buf_sync(hw, &buf, 0, 0, NPU_HW_SYNC_TO_DEVICE), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(npu_hw_submit(hw, 1), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(npu_hw_wait_irq(hw, 0), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(npu_hw_reset(hw), NPU_ERR_NOT_SUPPORTED);
	npu_hw_buf_free(hw, &buf); // freeing an unallocated buffer is a no-op
	npu_hw_close(hw);
}

TEST(DriverNull, OptionsAreRejectedNotIgnored)
{
	struct npu_hw *hw = reinterpret_cast<npu_hw *>(0x1);
	EXPECT_EQ(npu_hw_open(npu_backend_find("null", 4), "speed=fast", &hw), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(hw, reinterpret_cast<npu_hw *>(0x1));
	EXPECT_EQ(npu_hw_open(nullptr, "", &hw), NPU_ERR_INVALID_ARG);
	npu_hw_close(nullptr);
}

// The Nth call through the wrappers fails with the injected status, and
// only that one: the mechanism fault sweeps are built on.
TEST(DriverGate, NthCallFailsOnce)
{
	struct npu_hw *hw;
	ASSERT_EQ(npu_hw_open(npu_backend_find("null", 4), nullptr, &hw), NPU_OK);
	hw->fail_countdown = 3;
	hw->fail_status = NPU_ERR_DISCONNECTED;
	uint32_t v;
	EXPECT_EQ(npu_hw_reg_read(hw, 0, &v), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(npu_hw_submit(hw, 0), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(npu_hw_wait_irq(hw, 0), NPU_ERR_DISCONNECTED);
	EXPECT_EQ(npu_hw_reset(hw), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(hw->calls, 4u);
	npu_hw_close(hw);
}

} // namespace

namespace
{

// Through the public API: "null" names a backend, so it is a hardware
// device; its first register read fails and npu_open says so cleanly.
TEST(DriverNull, PublicOpenFailsWithNotSupported)
{
	npu_device *dev = reinterpret_cast<npu_device *>(0x1);
	EXPECT_EQ(npu_open("null", &dev), NPU_ERR_NOT_SUPPORTED);
	EXPECT_EQ(dev, reinterpret_cast<npu_device *>(0x1));
	EXPECT_EQ(npu_open("null:x=1", &dev), NPU_ERR_INVALID_ARG);
	bool listed = false;
	for (const char *const *n = npu_backend_names(); *n; n++)
		listed |= std::string(*n) == "null";
	EXPECT_TRUE(listed);
}

} // namespace
