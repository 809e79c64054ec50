// The backend table: exactly the backends the build chose, lookup by
// name, the null backend's clean refusals, and the fault-injection gate
// every wrapper passes through.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "driver/backend.h"
#include "driver/npu_regs.h"
#include "tests/common/backends.h"

// BACKENDS as make was given it (the Makefile passes it to this file).
#ifndef NPU_BUILT_BACKENDS
#error "NPU_BUILT_BACKENDS: build with the Makefile, which passes BACKENDS"
#endif

namespace
{

// The registry lists exactly the configured backends, once each, and
// npu_backend_names() is "cpu" and then the registry: a build that lost a
// backend fails here rather than skip every test that needs it.
TEST(DriverBackend, RegistryIsExactlyTheConfiguredBackends)
{
	std::set<std::string> want, listed;
	std::istringstream words(NPU_BUILT_BACKENDS);
	for (std::string w; words >> w;)
		want.insert(w);
	ASSERT_FALSE(want.empty()) << "BACKENDS=\"" NPU_BUILT_BACKENDS "\"";
	std::vector<std::string> reg;
	for (auto b = npu_backend_list(); *b; b++) {
		reg.push_back((*b)->name);
		EXPECT_TRUE(listed.insert((*b)->name).second) << (*b)->name << " listed twice";
		EXPECT_EQ(npu_backend_find((*b)->name, strlen((*b)->name)), *b) << (*b)->name;
	}
	EXPECT_EQ(listed, want) << "BACKENDS=\"" NPU_BUILT_BACKENDS "\"";
	const char *const *n = npu_backend_names();
	ASSERT_NE(n[0], nullptr);
	EXPECT_STREQ(n[0], "cpu");
	size_t i = 0;
	for (n++; *n; n++, i++) {
		ASSERT_LT(i, reg.size()) << *n;
		EXPECT_EQ(reg[i], *n);
	}
	EXPECT_EQ(i, reg.size());
}

TEST(DriverBackend, FindByExactName)
{
	NPU_TEST_REQUIRE_BACKEND("null");
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
	NPU_TEST_REQUIRE_BACKEND("null");
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
	NPU_TEST_REQUIRE_BACKEND("null");
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
	NPU_TEST_REQUIRE_BACKEND("null");
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
	NPU_TEST_REQUIRE_BACKEND("null");
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
