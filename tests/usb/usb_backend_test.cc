// The usb backend (driver/usb.c) over the virtual board
// (firmware/vboard/vboard.h): the board is created in this process before
// libusb is initialized (each open initializes its own context), and
// Debian's libusb reaches it through umockdev's usbdevfs.
//
//   UsbOpen      URI forms, malformed URIs, no board
//   UsbHw        the ops table directly: registers, board DRAM allocator,
//                bulk copies both ways, interrupts, stale events, loss of
//                the board in every kind of call
//   UsbZoo       every zoo net bit-exact against cpu with its placement
//   UsbJob       the board lost in the middle of a job (latency), replug,
//                reopen, bit-exact again; constants uploaded once per model
//   UsbFaults    the board unplugged at every Nth transfer of a whole
//                MobileNetV2 load + run
//   UsbBench     (disabled: a measurement, not a test) bytes and host time
//                per inference, usb against sim; docs/DRIVER.md
//
// Sizes: NPU_USB_TEST_SIZE (default 64) for the zoo, NPU_USB_SWEEP_SIZE
// (default 32) and NPU_USB_SWEEP_POINTS (default 6: one point costs two
// loads and two runs, about 30 s on a busy 2-core machine) for the sweep.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "npu.h"
#include "driver/backend.h"
#include "driver/npu_dev.h"
#include "driver/npu_regs.h"
#include "firmware/vboard/vboard.h"
#include "ir/graph.h"
#include "ref/ref.h"
#include "sched/sched.h"
#include "tests/common/backends.h"
#include "tests/common/inputs.h"
#include "tests/common/placement.h"
#include "tests/common/test_env.h"
// The zoo models of the sim tests (tests/usb/usb.mk links zoo_model.o).
#include "tests/sim/zoo_model.h"

namespace
{

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int test_size(const char *var, int def)
{
	return static_cast<int>(npu_test_env_int(var, def, 32, 1024));
}

std::vector<int8_t> seeded_input(size_t n, uint32_t seed)
{
	return npu_test::SeededInput(n, seed);
}

// Open file descriptors of this process: what a leaked libusb context or
// device handle would leave behind.
int open_fds()
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

// open_fds() once it is at most want, or after 2 s: a board's unplug is
// finished by umockdev's and libusb's threads (uevent sockets, the udev
// monitor), a moment after the call that caused it returned.
int open_fds_settled(int want)
{
	int n = open_fds();
	for (int i = 0; i < 200 && n > want; i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
		n = open_fds();
	}
	return n;
}

// What they are, for a failure message.
std::string fd_list()
{
	std::string s;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return s;
	while (dirent *e = readdir(d)) {
		char link[300] = "", path[300];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0)
			s += std::string(" ") + e->d_name + "=" + std::string(link, (size_t)n);
	}
	closedir(d);
	return s;
}

// One virtual board, plugged in, for one test.
class Board
{
      public:
	explicit Board(uint64_t dram_size = 0)
	{
		vboard_config c;
		memset(&c, 0, sizeof(c));
		c.dram_size = dram_size;
		ok_ = vboard_create(&c, &vb_) == 0;
	}
	~Board()
	{
		vboard_destroy(vb_);
	}
	bool ok() const
	{
		return ok_;
	}
	vboard *vb()
	{
		return vb_;
	}
	vboard_stats stats()
	{
		vboard_stats s;
		vboard_get_stats(vb_, &s);
		return s;
	}
	std::string addr_uri()
	{
		unsigned bus, addr;
		vboard_address(vb_, &bus, &addr);
		return "usb:" + std::to_string(bus) + ":" + std::to_string(addr);
	}

      private:
	vboard *vb_ = nullptr;
	bool ok_ = false;
};

#define REQUIRE_BOARD(b)                                                                           \
	do {                                                                                       \
		NPU_TEST_REQUIRE_BACKEND("usb");                                                   \
		ASSERT_TRUE((b).ok()) << "vboard_create failed (see stderr)";                      \
	} while (0)

// A model on a device, run with int8 I/O.
struct NetRun {
	int rc = NPU_OK;         // the first failing call's status
	std::vector<int8_t> out; // empty unless it ran
	std::vector<npu_layer_profile> prof;
	struct npu_model_cost cost {
	};
};

NetRun run_model(npu_device *dev, const std::vector<uint8_t> &file, const std::vector<int8_t> &x,
                 int repeat = 1, int wait_ms = 120000)
{
	NetRun r;
	npu_model *m = nullptr;
	r.rc = npu_model_load_memory(dev, file.data(), file.size(), &m);
	if (r.rc != NPU_OK)
		return r;
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements, 0x5a);
	for (int i = 0; i < repeat && r.rc == NPU_OK; i++) {
		npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
		npu_job *job = nullptr;
		r.rc = npu_submit(m, &io, &job);
		if (r.rc == NPU_OK) {
			r.rc = npu_wait(job, wait_ms);
			// A job still running after wait_ms is a hang: the test
			// fails on it rather than waiting forever below.
			EXPECT_NE(r.rc, NPU_ERR_TIMEOUT)
			        << "job did not end within " << wait_ms << " ms";
			if (r.rc == NPU_ERR_TIMEOUT)
				return r; // the model cannot be freed under a live job
		}
	}
	if (r.rc == NPU_OK) {
		r.out = y;
		unsigned n = npu_model_num_layers(m);
		r.prof.resize(n);
		npu_model_profile(m, r.prof.data(), n, &n);
		EXPECT_EQ(npu_model_cost(m, &r.cost), NPU_OK);
	}
	npu_model_free(m);
	return r;
}

std::vector<int8_t> cpu_output(const std::vector<uint8_t> &file, const std::vector<int8_t> &x)
{
	npu_device *cpu;
	EXPECT_EQ(npu_open("cpu", &cpu), NPU_OK);
	NetRun r = run_model(cpu, file, x);
	npu_close(cpu);
	EXPECT_EQ(r.rc, NPU_OK) << npu_last_error();
	return r.out;
}

// The first differing output byte, or -1.
long first_mismatch(const std::vector<int8_t> &a, const std::vector<int8_t> &b)
{
	if (a.size() != b.size())
		return 0;
	for (size_t i = 0; i < a.size(); i++)
		if (a[i] != b[i])
			return static_cast<long>(i);
	return -1;
}

// Bytes of the model's constants on the board's NPU (the default
// configuration): what the scheduler places in the constants buffer.
size_t const_bytes(const std::vector<uint8_t> &file)
{
	char why[200] = "";
	npui_graph *g = nullptr;
	npui_ref_plan *plan = nullptr;
	npui_sched *s = nullptr;
	npui_caps caps;
	size_t size = 0, n = 0;
	if (npui_model_parse(file.data(), file.size(), &g, why, sizeof(why)) != NPU_OK)
		return 0;
	npui_caps_preset(&caps, 0);
	std::vector<size_t> off(g->num_tensors);
	if (npui_ref_prepare(g, &plan, why, sizeof(why)) == NPU_OK &&
	    npui_sched_arena_plan(g, &caps, off.data(), &size) == NPU_OK &&
	    npui_sched_build(g, plan, &caps, off.data(), &s, why, sizeof(why)) == NPU_OK)
		n = s->const_size;
	npui_sched_free(s);
	npui_ref_plan_free(plan);
	npui_graph_free(g);
	return n;
}

// ---- UsbOpen ---------------------------------------------------------

TEST(UsbOpen, UriFormsAndErrors)
{
	Board b;
	REQUIRE_BOARD(b);
	npu_device *d = nullptr;
	ASSERT_EQ(npu_open("usb", &d), NPU_OK) << npu_last_error();
	EXPECT_STREQ(npu_device_uri(d), "usb");
	npu_close(d);
	const std::string by_addr = b.addr_uri();
	ASSERT_EQ(npu_open(by_addr.c_str(), &d), NPU_OK) << by_addr;
	npu_close(d);
	ASSERT_EQ(npu_open("usb:1209:0001", &d), NPU_OK);
	npu_close(d);

	npu_device *const untouched = reinterpret_cast<npu_device *>(0x1);
	for (const char *uri : {"usb:1209:0002", "usb:dead:beef", "usb:255:127"}) {
		d = untouched;
		EXPECT_EQ(npu_open(uri, &d), NPU_ERR_NO_DEVICE) << uri;
		EXPECT_EQ(d, untouched) << uri;
	}
	for (const char *uri : {"usb:x", "usb:1:2:3", "usb:12345:1", "usb:1209:01", "usb:bogus=1",
	                        "usb:-1:2", "usb:1:", "usb::", "usb:1209:00012", "usb:256:1",
	                        "usb:1:128", "usb:12g4:0001", "usb: 1:2"}) {
		d = untouched;
		EXPECT_EQ(npu_open(uri, &d), NPU_ERR_INVALID_ARG) << uri;
		EXPECT_EQ(d, untouched) << uri;
	}
	// Unplugged: nothing there, by any name.
	ASSERT_EQ(vboard_unplug(b.vb()), 0);
	for (const std::string &uri : {std::string("usb"), by_addr, std::string("usb:1209:0001")}) {
		d = untouched;
		EXPECT_EQ(npu_open(uri.c_str(), &d), NPU_ERR_NO_DEVICE) << uri;
		EXPECT_EQ(d, untouched);
	}
	ASSERT_EQ(vboard_plug(b.vb()), 0);
	ASSERT_EQ(npu_open("usb", &d), NPU_OK) << npu_last_error();
	npu_close(d);
}

// ---- UsbHw: the ops table directly ------------------------------------

class UsbHw : public ::testing::Test
{
      protected:
	// The board outlives every handle on it: the test's handles are
	// closed in TearDown, before the board goes.
	Board &board(uint64_t dram_size = 0)
	{
		board_.reset(new Board(dram_size));
		return *board_;
	}
	void open_hw()
	{
		ops_ = npu_backend_find("usb", 3);
		ASSERT_NE(ops_, nullptr);
		ASSERT_EQ(npu_hw_open(ops_, "", &hw_), NPU_OK);
	}
	void TearDown() override
	{
		close_hw();
		board_.reset();
	}
	void close_hw()
	{
		for (auto &buf : bufs_)
			npu_hw_buf_free(hw_, &buf);
		bufs_.clear();
		npu_hw_close(hw_);
		hw_ = nullptr;
	}
	int ring_window(npu_dev *d, const npu_hw_buf *ring)
	{
		const npu_dev_window w = npu_dev_window_of(ring, NPU_REG_WIN_CTRL_READ_MASK);
		return npu_dev_set_windows(d, &w, 1);
	}
	npu_hw_buf *alloc(size_t size, uint32_t flags = NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE,
	                  int *rc_out = nullptr)
	{
		npu_hw_buf buf;
		memset(&buf, 0, sizeof(buf));
		int rc = npu_hw_buf_alloc(hw_, size, flags, &buf);
		if (rc_out)
			*rc_out = rc;
		else
			EXPECT_EQ(rc, NPU_OK) << "size " << size;
		if (rc != NPU_OK)
			return nullptr;
		bufs_.push_back(buf);
		return &bufs_.back();
	}
	void free_buf(npu_hw_buf *b)
	{
		npu_hw_buf_free(hw_, b);
	}
	std::unique_ptr<Board> board_;
	const npu_backend_ops *ops_ = nullptr;
	npu_hw *hw_ = nullptr;
	std::deque<npu_hw_buf> bufs_; // stable addresses
};

TEST_F(UsbHw, RegistersOverControlTransfers)
{
	Board &b = board();
	REQUIRE_BOARD(b);
	open_hw();
	uint32_t v = 0;
	ASSERT_EQ(npu_hw_reg_read(hw_, NPU_REG_ID, &v), NPU_OK);
	EXPECT_EQ(v, NPU_HW_ID_MAGIC);
	// A register that keeps what is written (a window base) reads back.
	ASSERT_EQ(npu_hw_reg_write(hw_, NPU_REG_RING_BASE_LO, 0x12345000u), NPU_OK);
	ASSERT_EQ(npu_hw_reg_read(hw_, NPU_REG_RING_BASE_LO, &v), NPU_OK);
	EXPECT_EQ(v, 0x12345000u);
	v = 0xdeadbeef;
	EXPECT_EQ(npu_hw_reg_read(hw_, NPU_HW_CSR_BYTES, &v), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_hw_reg_read(hw_, 2, &v), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(v, 0xdeadbeefu) << "output written on failure";
	EXPECT_EQ(npu_hw_reg_write(hw_, NPU_HW_CSR_BYTES + 4, 1), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_hw_reg_write(hw_, 1, 1), NPU_ERR_INVALID_ARG);
}

// Bulk copies: more than the slots in flight hold, unaligned ranges, a
// partial sync touches only its range, and buffers do not overlap.
TEST_F(UsbHw, BufferSyncBothWays)
{
	Board &b = board();
	REQUIRE_BOARD(b);
	open_hw();
	const size_t n = (3u << 20) + 1234;
	npu_hw_buf *a = alloc(n), *c = alloc(5000);
	ASSERT_TRUE(a && c);
	EXPECT_EQ(a->dev_addr % 4096, 0u);
	EXPECT_EQ(c->dev_addr % 4096, 0u);
	EXPECT_TRUE(c->dev_addr >= a->dev_addr + n || a->dev_addr >= c->dev_addr + 5000)
	        << "buffers overlap on the board";
	auto *ha = static_cast<uint8_t *>(a->host), *hc = static_cast<uint8_t *>(c->host);
	for (size_t i = 0; i < n; i++)
		ha[i] = static_cast<uint8_t>(i * 131 + (i >> 11));
	memset(hc, 0x77, 5000);
	std::vector<uint8_t> want(ha, ha + n);
	const auto st0 = b.stats();
	ASSERT_EQ(npu_hw_buf_sync(hw_, a, 0, n, NPU_HW_SYNC_TO_DEVICE), NPU_OK);
	ASSERT_EQ(npu_hw_buf_sync(hw_, c, 0, 5000, NPU_HW_SYNC_TO_DEVICE), NPU_OK);
	memset(ha, 0, n);
	ASSERT_EQ(npu_hw_buf_sync(hw_, a, 0, n, NPU_HW_SYNC_FROM_DEVICE), NPU_OK);
	EXPECT_EQ(first_mismatch(std::vector<int8_t>(ha, ha + n),
	                         std::vector<int8_t>(want.begin(), want.end())),
	          -1);
	const auto st1 = b.stats();
	EXPECT_GE(st1.bulk_out_bytes - st0.bulk_out_bytes, n + 5000);
	EXPECT_GE(st1.bulk_in_bytes - st0.bulk_in_bytes, n);

	// A partial write, then the whole buffer read back: only the range
	// changed on the board.
	for (size_t i = 5001; i < 5001 + 70001; i++)
		ha[i] = static_cast<uint8_t>(~want[i]);
	ASSERT_EQ(npu_hw_buf_sync(hw_, a, 5001, 70001, NPU_HW_SYNC_TO_DEVICE), NPU_OK);
	for (size_t i = 5001; i < 5001 + 70001; i++)
		want[i] = ha[i];
	memset(ha, 0, n);
	ASSERT_EQ(npu_hw_buf_sync(hw_, a, 0, n, NPU_HW_SYNC_FROM_DEVICE), NPU_OK);
	EXPECT_EQ(memcmp(ha, want.data(), n), 0);
	// Adjacent small syncs (as the ring's entries are made) land too.
	for (size_t k = 0; k < 8; k++) {
		memset(hc + k * 64, static_cast<int>(k + 1), 64);
		ASSERT_EQ(npu_hw_buf_sync(hw_, c, k * 64, 64, NPU_HW_SYNC_TO_DEVICE), NPU_OK);
	}
	memset(hc, 0, 5000);
	ASSERT_EQ(npu_hw_buf_sync(hw_, c, 0, 5000, NPU_HW_SYNC_FROM_DEVICE), NPU_OK);
	for (size_t i = 0; i < 5000; i++)
		ASSERT_EQ(hc[i], i < 512 ? i / 64 + 1 : 0x77) << "i=" << i;
	EXPECT_EQ(npu_hw_buf_sync(hw_, c, 4000, 1001, NPU_HW_SYNC_FROM_DEVICE),
	          NPU_ERR_INVALID_ARG);
}

// First fit over board DRAM in 4 KiB granules; freed neighbours coalesce.
TEST_F(UsbHw, BoardDramAllocator)
{
	const uint64_t dram = 1u << 20;
	Board &b = board(dram);
	REQUIRE_BOARD(b);
	open_hw();
	std::vector<npu_hw_buf *> pages;
	int rc = NPU_OK;
	for (;;) {
		npu_hw_buf *p = alloc(4096, NPU_HW_BUF_DEV_READ, &rc);
		if (!p)
			break;
		pages.push_back(p);
	}
	EXPECT_EQ(rc, NPU_ERR_NO_MEM);
	// The whole DRAM, less at most the page at address 0.
	EXPECT_GE(pages.size(), dram / 4096 - 1);
	EXPECT_LE(pages.size(), dram / 4096);
	std::set<uint64_t> addrs;
	for (auto *p : pages)
		addrs.insert(p->dev_addr);
	EXPECT_EQ(addrs.size(), pages.size()) << "a page handed out twice";
	EXPECT_EQ(addrs.count(0), 0u) << "address 0 handed out";
	// Every other page free: no 8 KiB hole.
	for (size_t i = 0; i < pages.size(); i += 2)
		free_buf(pages[i]);
	EXPECT_EQ(alloc(8192, NPU_HW_BUF_DEV_READ, &rc), nullptr);
	EXPECT_EQ(rc, NPU_ERR_NO_MEM);
	// All free: one buffer of everything fits again.
	for (size_t i = 1; i < pages.size(); i += 2)
		free_buf(pages[i]);
	npu_hw_buf *all = alloc(pages.size() * 4096, NPU_HW_BUF_DEV_READ, &rc);
	EXPECT_EQ(rc, NPU_OK) << "freed pages did not coalesce";
	if (all) {
		EXPECT_EQ(all->dev_addr, *addrs.begin());
	}
	EXPECT_EQ(alloc(0, NPU_HW_BUF_DEV_READ, &rc), nullptr);
	EXPECT_EQ(rc, NPU_ERR_INVALID_ARG);
	EXPECT_EQ(alloc(4096, 0, &rc), nullptr);
	EXPECT_EQ(rc, NPU_ERR_INVALID_ARG);
}

// One interrupt through the driver core: the event arrives, is consumed
// by exactly one wait; with none pending a wait times out on time.
TEST_F(UsbHw, InterruptEventsAndStaleOnesAfterReset)
{
	Board &b = board();
	REQUIRE_BOARD(b);
	open_hw();
	npu_dev d;
	ASSERT_EQ(npu_dev_open(&d, hw_, 3), NPU_OK);
	npu_hw_buf *ring = alloc(16 * NPU_HW_DESC_BYTES, NPU_HW_BUF_DEV_READ);
	ASSERT_NE(ring, nullptr);
	ASSERT_EQ(npu_dev_ring_init(&d, ring, 16, 0), NPU_OK);
	ASSERT_EQ(ring_window(&d, ring), NPU_OK);

	auto t0 = Clock::now();
	EXPECT_EQ(npu_hw_wait_irq(hw_, 300), NPU_ERR_TIMEOUT);
	EXPECT_GE(ms_since(t0), 290);
	EXPECT_LT(ms_since(t0), 1300);

	// A FENCE with IRQ: one event, one wake.
	ASSERT_EQ(npu_dev_ring_put(&d, nullptr, NPU_HW_FLAG_IRQ), NPU_OK);
	ASSERT_EQ(npu_dev_ring_submit(&d), NPU_OK);
	uint32_t st = 0;
	ASSERT_EQ(npu_dev_wait_irq(&d, 5000, &st), NPU_OK);
	EXPECT_NE(st & NPU_REG_IRQ_STATUS_DONE_MASK, 0u);
	EXPECT_EQ(npu_hw_wait_irq(hw_, 300), NPU_ERR_TIMEOUT) << "one interrupt woke twice";

	// Another interrupt, acknowledged behind the backend's back so that
	// its event is never consumed; a reset makes it stale.
	ASSERT_EQ(npu_dev_ring_put(&d, nullptr, NPU_HW_FLAG_IRQ), NPU_OK);
	ASSERT_EQ(npu_dev_ring_submit(&d), NPU_OK);
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(npu_hw_reg_read(hw_, NPU_REG_IRQ_STATUS, &st), NPU_OK);
		if (st)
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	ASSERT_NE(st, 0u) << "the fence never raised its interrupt";
	std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the event reaches the host
	ASSERT_EQ(npu_hw_reg_write(hw_, NPU_REG_IRQ_ACK, st), NPU_OK);
	ASSERT_EQ(npu_hw_reset(hw_), NPU_OK);
	EXPECT_EQ(npu_hw_wait_irq(hw_, 300), NPU_ERR_TIMEOUT) << "an event from before the reset";
	// And the device works after it.
	ASSERT_EQ(npu_dev_recover(&d), NPU_OK);
	ASSERT_EQ(ring_window(&d, ring), NPU_OK);
	ASSERT_EQ(npu_dev_stream(&d, nullptr, 0, 5000, nullptr), NPU_OK);
	npu_dev_close(&d);
}

// The board lost while the caller waits for an interrupt: the wait ends
// within a second of the loss; then every call is DISCONNECTED at once,
// and close frees everything (no descriptor left open).
TEST_F(UsbHw, UnplugDuringWaitAndEveryCallAfter)
{
	Board &b = board();
	REQUIRE_BOARD(b);
	const int fds0 = open_fds();
	open_hw();
	npu_hw_buf *buf = alloc(65536);
	ASSERT_NE(buf, nullptr);
	std::atomic<bool> unplugged{false};
	Clock::time_point t_unplug;
	std::thread t([&] {
		std::this_thread::sleep_for(std::chrono::milliseconds(300));
		t_unplug = Clock::now();
		vboard_unplug(b.vb());
		unplugged = true;
	});
	int rc = npu_hw_wait_irq(hw_, 20000);
	auto t_ret = Clock::now();
	t.join();
	EXPECT_EQ(rc, NPU_ERR_DISCONNECTED);
	ASSERT_TRUE(unplugged.load());
	const double lat = std::chrono::duration<double, std::milli>(t_ret - t_unplug).count();
	EXPECT_LT(lat, 1000) << "wait_irq noticed the loss after " << lat << " ms";
	RecordProperty("wait_disconnect_ms", std::to_string(lat));

	auto t0 = Clock::now();
	uint32_t v = 7;
	EXPECT_EQ(npu_hw_reg_read(hw_, NPU_REG_ID, &v), NPU_ERR_DISCONNECTED);
	EXPECT_EQ(v, 7u);
	EXPECT_EQ(npu_hw_reg_write(hw_, NPU_REG_CTRL, 0), NPU_ERR_DISCONNECTED);
	EXPECT_EQ(npu_hw_buf_sync(hw_, buf, 0, 65536, NPU_HW_SYNC_TO_DEVICE), NPU_ERR_DISCONNECTED);
	EXPECT_EQ(npu_hw_buf_sync(hw_, buf, 0, 65536, NPU_HW_SYNC_FROM_DEVICE),
	          NPU_ERR_DISCONNECTED);
	EXPECT_EQ(npu_hw_submit(hw_, 1), NPU_ERR_DISCONNECTED);
	EXPECT_EQ(npu_hw_wait_irq(hw_, 5000), NPU_ERR_DISCONNECTED);
	EXPECT_EQ(npu_hw_reset(hw_), NPU_ERR_DISCONNECTED);
	EXPECT_LT(ms_since(t0), 1000);
	close_hw();
	EXPECT_EQ(open_fds_settled(fds0), fds0)
	        << "descriptors left open after close:" << fd_list();
	// Back on the bus: a new open works.
	ASSERT_EQ(vboard_plug(b.vb()), 0);
	open_hw();
	ASSERT_EQ(npu_hw_reg_read(hw_, NPU_REG_ID, &v), NPU_OK);
	EXPECT_EQ(v, NPU_HW_ID_MAGIC);
}

// A bulk copy that loses the board half way: DISCONNECTED, within a
// second, every transfer reaped.
TEST_F(UsbHw, UnplugDuringBulkCopy)
{
	Board &b = board();
	REQUIRE_BOARD(b);
	open_hw();
	const size_t n = 8u << 20;
	npu_hw_buf *buf = alloc(n);
	ASSERT_NE(buf, nullptr);
	const auto st0 = b.stats();
	ASSERT_EQ(npu_hw_buf_sync(hw_, buf, 0, n, NPU_HW_SYNC_TO_DEVICE), NPU_OK);
	ASSERT_EQ(npu_hw_buf_sync(hw_, buf, 0, n, NPU_HW_SYNC_FROM_DEVICE), NPU_OK);
	const uint64_t urbs = b.stats().urbs - st0.urbs;
	ASSERT_GT(urbs, 8u);
	for (int dir : {NPU_HW_SYNC_TO_DEVICE, NPU_HW_SYNC_FROM_DEVICE}) {
		SCOPED_TRACE(dir == NPU_HW_SYNC_TO_DEVICE ? "to device" : "from device");
		vboard_unplug_after_urbs(b.vb(), urbs / 4);
		auto t0 = Clock::now();
		int rc = npu_hw_buf_sync(hw_, buf, 0, n, static_cast<npu_hw_sync_dir>(dir));
		if (dir == NPU_HW_SYNC_TO_DEVICE) // held back until something needs it
			rc = rc ? rc : npu_hw_reg_write(hw_, NPU_REG_CTRL, 0);
		EXPECT_EQ(rc, NPU_ERR_DISCONNECTED);
		EXPECT_LT(ms_since(t0), 1000 + 1000.0 * n / (4u << 20)); // the copy itself
		close_hw();
		vboard_unplug_after_urbs(b.vb(), 0);
		ASSERT_EQ(vboard_plug(b.vb()), 0);
		open_hw();
		buf = alloc(n);
		ASSERT_NE(buf, nullptr);
	}
}

// ---- UsbZoo ----------------------------------------------------------

class UsbZoo : public ::testing::TestWithParam<const char *>
{
};

void expect_bit_exact_with_placement(npu_device *usb, const char *net, int size, uint32_t seed)
{
	auto file = npu_test::zoo_model(net, size);
	auto x = seeded_input(static_cast<size_t>(size) * size * 3, seed);
	auto want = cpu_output(file, x);
	NetRun r = run_model(usb, file, x);
	ASSERT_EQ(r.rc, NPU_OK) << npu_status_name(r.rc) << ": " << npu_last_error();
	ASSERT_FALSE(want.empty());
	EXPECT_EQ(first_mismatch(r.out, want), -1) << "first mismatch at output byte";
	npu_test::ExpectPlacement(npu_test::ProfileRuns(r.prof),
	                          npu_test::zoo_plan_counts(file, false),
	                          npu_test::ExpectedZooPlacement(net, false, size), r.cost.macs);
}

TEST_P(UsbZoo, BitExactAgainstCpu)
{
	Board b;
	REQUIRE_BOARD(b);
	const int size = test_size("NPU_USB_TEST_SIZE", 64);
	npu_device *usb;
	ASSERT_EQ(npu_open("usb", &usb), NPU_OK);
	expect_bit_exact_with_placement(usb, GetParam(), size, 7);
	npu_close(usb);
}

INSTANTIATE_TEST_SUITE_P(Zoo, UsbZoo,
                         ::testing::Values("squeezenet1_0", "squeezenet1_1", "mobilenet_v1",
                                           "shufflenet_v1_g3", "mobilenet_v2", "mobilenet_v3_large",
                                           "mobilenet_v3_small", "shufflenet_v2_x1_0"));

// The real input size once.
TEST(UsbZoo224, MobileNetV2)
{
	Board b;
	REQUIRE_BOARD(b);
	npu_device *usb;
	ASSERT_EQ(npu_open("usb", &usb), NPU_OK);
	expect_bit_exact_with_placement(usb, "mobilenet_v2", 224, 11);
	npu_close(usb);
}

// ---- UsbJob ----------------------------------------------------------

// The board pulled while a job runs: the job ends with DISCONNECTED within
// a second; closing frees everything; after replug a new open runs
// bit-exact.
TEST(UsbJob, UnplugMidJobThenReplugAndReopen)
{
	Board b;
	REQUIRE_BOARD(b);
	const int size = 64;
	auto file = npu_test::zoo_model("mobilenet_v2", size);
	auto x = seeded_input(static_cast<size_t>(size) * size * 3, 5);
	auto want = cpu_output(file, x);
	const int fds0 = open_fds();

	npu_device *usb;
	ASSERT_EQ(npu_open("usb", &usb), NPU_OK);
	npu_model *m;
	ASSERT_EQ(npu_model_load_memory(usb, file.data(), file.size(), &m), NPU_OK);
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	// A clean run first: how long one takes.
	auto t0 = Clock::now();
	ASSERT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
	const double run_ms = ms_since(t0);
	EXPECT_EQ(y, want);
	const uint64_t cycles0 = b.stats().npu_cycles;

	npu_job *job;
	ASSERT_EQ(npu_submit(m, &io, &job), NPU_OK);
	std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(run_ms / 2));
	const bool mid = b.stats().npu_cycles > cycles0;
	const auto t_unplug = Clock::now();
	ASSERT_EQ(vboard_unplug(b.vb()), 0);
	const int rc = npu_wait(job, 10000);
	const double lat = ms_since(t_unplug);
	EXPECT_TRUE(mid) << "the NPU had not started when the board was pulled";
	EXPECT_EQ(rc, NPU_ERR_DISCONNECTED) << npu_status_name(rc) << ": " << npu_last_error();
	EXPECT_LT(lat, 1000) << "the job noticed the loss after " << lat << " ms";
	RecordProperty("job_disconnect_ms", std::to_string(lat));
	RecordProperty("run_ms", std::to_string(run_ms));
	// Further jobs fail at once, by name.
	t0 = Clock::now();
	EXPECT_EQ(npu_run(m, &io), NPU_ERR_DISCONNECTED);
	EXPECT_LT(ms_since(t0), 1000);
	npu_model_free(m);
	npu_close(usb);
	EXPECT_EQ(open_fds_settled(fds0), fds0)
	        << "descriptors left open after close:" << fd_list();

	ASSERT_EQ(vboard_plug(b.vb()), 0);
	ASSERT_EQ(npu_open("usb", &usb), NPU_OK);
	NetRun r = run_model(usb, file, x);
	EXPECT_EQ(r.rc, NPU_OK) << npu_last_error();
	EXPECT_EQ(first_mismatch(r.out, want), -1);
	npu_close(usb);
}

// hw_device uploads a model's constants once, at load; a run moves its
// arena (and descriptors), never the constants again.
TEST(UsbJob, ConstantsUploadedOncePerModel)
{
	Board b;
	REQUIRE_BOARD(b);
	const int size = 64, runs = 3;
	auto file = npu_test::zoo_model("mobilenet_v2", size);
	const size_t consts = const_bytes(file);
	ASSERT_GT(consts, 100000u);
	auto x = seeded_input(static_cast<size_t>(size) * size * 3, 9);
	npu_device *usb;
	ASSERT_EQ(npu_open("usb", &usb), NPU_OK);
	const auto s0 = b.stats();
	npu_model *m;
	ASSERT_EQ(npu_model_load_memory(usb, file.data(), file.size(), &m), NPU_OK);
	const auto s1 = b.stats();
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	for (int i = 0; i < runs; i++)
		ASSERT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
	const auto s2 = b.stats();
	npu_model_free(m);
	npu_close(usb);
	const uint64_t load_out = s1.bulk_out_bytes - s0.bulk_out_bytes;
	const uint64_t run_out = (s2.bulk_out_bytes - s1.bulk_out_bytes) / runs;
	const uint64_t run_in = (s2.bulk_in_bytes - s1.bulk_in_bytes) / runs;
	EXPECT_GE(load_out, consts) << "constants not uploaded at load";
	EXPECT_LT(run_out, consts) << "a run uploads as much as the constants";
	RecordProperty("const_bytes", std::to_string(consts));
	RecordProperty("bulk_out_per_run", std::to_string(run_out));
	RecordProperty("bulk_in_per_run", std::to_string(run_in));
	printf("mobilenet_v2 %dx%d: constants %zu B uploaded at load (%llu B out); per run %llu B "
	       "out, %llu B in\n",
	       size, size, consts, (unsigned long long)load_out, (unsigned long long)run_out,
	       (unsigned long long)run_in);
}

// ---- UsbFaults -------------------------------------------------------

// The board unplugged at the nth URB of a MobileNetV2 load + run, for n
// over the whole run (every k-th when the run has more URBs than
// NPU_USB_SWEEP_POINTS): each ends with a named error and never a hang or
// a wrong output, closing leaks no descriptor, and after replug the next
// run is bit-exact.
TEST(UsbFaults, UnplugAtEveryTransfer)
{
	Board b;
	REQUIRE_BOARD(b);
	const int size = test_size("NPU_USB_SWEEP_SIZE", 32);
	const int points = static_cast<int>(npu_test_env_int("NPU_USB_SWEEP_POINTS", 6, 1, 100000));
	auto file = npu_test::zoo_model("mobilenet_v2", size);
	auto x = seeded_input(static_cast<size_t>(size) * size * 3, 13);
	auto want = cpu_output(file, x);
	// Descriptors are counted around each open ... close, so that what
	// the board's re-plug does is not the backend's.
	std::string fdl0;

	// A clean load + run: its URBs are the sweep's range.
	npu_device *usb;
	ASSERT_EQ(npu_open("usb", &usb), NPU_OK);
	const uint64_t u0 = b.stats().urbs;
	auto t0 = Clock::now();
	NetRun clean = run_model(usb, file, x);
	const double clean_ms = ms_since(t0);
	const uint64_t n_urbs = b.stats().urbs - u0;
	npu_close(usb);
	ASSERT_EQ(clean.rc, NPU_OK) << npu_last_error();
	ASSERT_EQ(first_mismatch(clean.out, want), -1);
	const uint64_t step = std::max<uint64_t>(1, (n_urbs + points - 1) / points);

	std::map<std::string, int> seen; // status name -> count
	double worst_ms = 0;
	int swept = 0;
	for (uint64_t n = 1; n <= n_urbs; n += step) {
		SCOPED_TRACE("unplug at URB " + std::to_string(n) + " of " +
		             std::to_string(n_urbs));
		const int fds0 = open_fds();
		fdl0 = fd_list();
		ASSERT_EQ(npu_open("usb", &usb), NPU_OK) << "reopen after replug";
		vboard_unplug_after_urbs(b.vb(), n);
		t0 = Clock::now();
		NetRun r = run_model(usb, file, x, 1, 20000);
		const double ms = ms_since(t0);
		worst_ms = std::max(worst_ms, ms);
		npu_close(usb);
		vboard_unplug_after_urbs(b.vb(), 0);
		seen[npu_status_name(r.rc)]++;
		if (r.rc == NPU_OK) // the run needed fewer URBs this time
			EXPECT_EQ(first_mismatch(r.out, want), -1) << "a wrong output";
		else
			EXPECT_EQ(r.rc, NPU_ERR_DISCONNECTED)
			        << npu_status_name(r.rc) << ": " << npu_last_error();
		EXPECT_LT(ms, clean_ms + 2000)
		        << "took " << ms << " ms (clean run " << clean_ms << ")";
		EXPECT_LE(open_fds_settled(fds0), fds0)
		        << "descriptors left open:\nbefore:" << fdl0 << "\nafter: " << fd_list();
		vboard_plug(b.vb()); // -1 when the fault did not fire
		// The next run after the replug is bit-exact.
		const int fds1 = open_fds();
		ASSERT_EQ(npu_open("usb", &usb), NPU_OK);
		NetRun again = run_model(usb, file, x);
		npu_close(usb);
		EXPECT_LE(open_fds_settled(fds1), fds1) << "descriptors left open by a clean run";
		ASSERT_EQ(again.rc, NPU_OK) << npu_last_error();
		ASSERT_EQ(first_mismatch(again.out, want), -1) << "after replug";
		swept++;
		if (HasFatalFailure())
			return;
	}
	std::string s;
	for (auto &kv : seen)
		s += " " + kv.first + "=" + std::to_string(kv.second);
	printf("sweep: %d points over %llu URBs (every %llu), %s\n", swept,
	       (unsigned long long)n_urbs, (unsigned long long)step, s.c_str());
	RecordProperty("sweep", s);
	EXPECT_GT(seen["NPU_ERR_DISCONNECTED"], swept / 2) << s;
}

// ---- UsbBench --------------------------------------------------------

// Not a test: bytes on the bus and host time per inference, usb (virtual
// board) against sim, medians of NPU_USB_BENCH_RUNS (default 5) runs at
// NPU_USB_BENCH_SIZE (default 224). Run with
//   npu-usb-tests --gtest_also_run_disabled_tests --gtest_filter='UsbBench.*'
TEST(UsbBench, DISABLED_ZooUsbAgainstSim)
{
	Board b;
	REQUIRE_BOARD(b);
	NPU_TEST_REQUIRE_BACKEND("sim");
	const int size = test_size("NPU_USB_BENCH_SIZE", 224);
	const int runs = static_cast<int>(npu_test_env_int("NPU_USB_BENCH_RUNS", 5, 1, 100));
	printf("%-20s %10s %10s %10s %10s %10s %8s %8s\n", "net", "consts", "out/inf", "in/inf",
	       "urbs/inf", "usb ms", "sim ms", "usb/sim");
	for (const char *net :
	     {"squeezenet1_0", "squeezenet1_1", "mobilenet_v1", "shufflenet_v1_g3", "mobilenet_v2",
	      "mobilenet_v3_large", "mobilenet_v3_small", "shufflenet_v2_x1_0"}) {
		auto file = npu_test::zoo_model(net, size);
		auto x = seeded_input(static_cast<size_t>(size) * size * 3, 1);
		double med[2];
		vboard_stats d0{}, d1{};
		for (int k = 0; k < 2; k++) {
			npu_device *dev;
			ASSERT_EQ(npu_open(k ? "sim" : "usb", &dev), NPU_OK);
			npu_model *m;
			ASSERT_EQ(npu_model_load_memory(dev, file.data(), file.size(), &m), NPU_OK);
			npu_tensor_info out;
			npu_model_output(m, &out);
			std::vector<int8_t> y(out.elements);
			npu_io io = {NPU_IO_INT8, x.data(), x.size(),
			             NPU_IO_INT8, y.data(), y.size()};
			ASSERT_EQ(npu_run(m, &io), NPU_OK); // warm
			std::vector<double> t;
			if (!k)
				d0 = b.stats();
			for (int i = 0; i < runs; i++) {
				auto t0 = Clock::now();
				ASSERT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();
				t.push_back(ms_since(t0));
			}
			if (!k)
				d1 = b.stats();
			std::sort(t.begin(), t.end());
			med[k] = t[t.size() / 2];
			npu_model_free(m);
			npu_close(dev);
		}
		printf("%-20s %10zu %10llu %10llu %10llu %10.0f %8.0f %8.2f\n", net,
		       const_bytes(file),
		       (unsigned long long)((d1.bulk_out_bytes - d0.bulk_out_bytes) / runs),
		       (unsigned long long)((d1.bulk_in_bytes - d0.bulk_in_bytes) / runs),
		       (unsigned long long)((d1.urbs - d0.urbs) / runs), med[0], med[1],
		       med[0] / med[1]);
		fflush(stdout);
	}
}

} // namespace
