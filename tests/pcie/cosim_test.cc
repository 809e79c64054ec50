// The co-simulated PCIe card (npu-cosim, rtl-sim/cosim) through the cosim
// backend (driver/cosim.c over driver/card.c): the card runs as a child
// process, $NPU_BUILD/bin/npu-cosim, on a socket in a fresh directory.
//
//   CosimOpen    URI forms, missing socket, not a card, a second host
//   CosimHw      the ops table directly: registers through the mailbox (and
//                its round trip), the DRAM allocator, buffers in the BAR
//   CosimZoo     every zoo net bit-exact against cpu, with its placement,
//                and MSI-X interrupts delivered as eventfd writes
//   CosimZoo224  MobileNetV2 at 224 once
//   CosimGone    the card killed in the middle of a job (its own
//                --kill-after-cycles), killed between calls, frozen
//                (SIGSTOP: only the heartbeat tells), stopped in order
//
// Sizes: NPU_COSIM_TEST_SIZE (default 32) for the zoo.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "npu.h"
#include "core/runtime.h"
#include "driver/backend.h"
#include "driver/card.h"
#include "driver/cosim.h"
#include "driver/npu_card.h"
#include "driver/npu_regs.h"
// The card runs the Verilated NPU: these tests are built with sim only.
#include "rtl-sim/harness/npu_sim.h"
#include "tests/common/backends.h"
#include "tests/common/inputs.h"
#include "tests/common/placement.h"
#include "tests/common/shell.h"
#include "tests/common/test_env.h"
#include "tests/sim/zoo_model.h"

namespace
{

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A card: npu-cosim as a child process, its socket in a directory of its
// own. Gone with the object (SIGTERM, then SIGKILL).
class Card
{
      public:
	explicit Card(std::vector<std::string> extra = {})
	{
		char tmpl[] = "/tmp/npu-cosim-test-XXXXXX";
		if (!mkdtemp(tmpl)) {
			why_ = "mkdtemp failed";
			return;
		}
		dir_ = tmpl;
		path_ = dir_ + "/card.sock";
		const std::string bin = npu_test::bin("npu-cosim");
		if (!npu_test::exists(bin)) {
			why_ = bin + " is not built (make tools)";
			return;
		}
		std::vector<std::string> args = {bin,       "--socket",   path_,
		                                 "--quiet", "--mem-size", "64M"};
		args.insert(args.end(), extra.begin(), extra.end());
		std::vector<char *> argv;
		for (auto &a : args)
			argv.push_back(&a[0]);
		argv.push_back(nullptr);
		pid_ = fork();
		if (pid_ == 0) {
			// The card stands for hardware, which no scheduler starves:
			// ahead of the other processes of a loaded box (a card that
			// does not run for NPU_CARD_DEAD_MS is gone). Best effort.
			if (setpriority(PRIO_PROCESS, 0, -5) != 0)
				perror("npu-cosim test: setpriority");
			execv(argv[0], argv.data());
			_exit(127);
		}
		// The socket appears once the card listens.
		for (int i = 0; i < 2000; i++) {
			struct stat st;
			if (stat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
				return;
			int status;
			if (waitpid(pid_, &status, WNOHANG) == pid_) {
				pid_ = -1;
				why_ = "npu-cosim exited before it listened";
				return;
			}
			usleep(10000);
		}
		why_ = "npu-cosim did not listen within 20 s";
	}
	~Card()
	{
		if (pid_ > 0) {
			kill(pid_, SIGCONT);
			kill(pid_, SIGTERM);
			if (reap(5000) < 0) {
				kill(pid_, SIGKILL);
				reap(-1);
			}
		}
		if (!path_.empty())
			unlink(path_.c_str());
		if (!dir_.empty())
			rmdir(dir_.c_str());
	}
	bool ok() const
	{
		return why_.empty();
	}
	const std::string &why() const
	{
		return why_;
	}
	std::string uri() const
	{
		return "cosim:" + path_;
	}
	const std::string &path() const
	{
		return path_;
	}
	pid_t pid() const
	{
		return pid_;
	}
	// Wait up to ms (< 0: no limit) for the card to end. Returns its wait
	// status, -1 if it still runs.
	int reap(int ms)
	{
		for (int waited = 0; pid_ > 0; waited++) {
			int status;
			if (waitpid(pid_, &status, ms < 0 ? 0 : WNOHANG) == pid_) {
				pid_ = -1;
				return status;
			}
			if (ms >= 0 && waited >= ms)
				return -1;
			usleep(1000);
		}
		return -1;
	}
	void signal(int sig)
	{
		if (pid_ > 0)
			kill(pid_, sig);
	}

      private:
	std::string dir_, path_, why_;
	pid_t pid_ = -1;
};

#define REQUIRE_CARD(c)                                                                            \
	do {                                                                                       \
		NPU_TEST_REQUIRE_BACKEND("cosim");                                                 \
		ASSERT_TRUE((c).ok()) << (c).why();                                                \
	} while (0)

// A model on a device, run with int8 I/O (as tests/usb/usb_backend_test.cc).
struct NetRun {
	int rc = NPU_OK;
	std::vector<int8_t> out;
	std::vector<npu_layer_profile> prof;
	struct npu_model_cost cost {
	};
	double run_ms = 0;
};

NetRun run_model(npu_device *dev, const std::vector<uint8_t> &file, const std::vector<int8_t> &x)
{
	NetRun r;
	npu_model *m = nullptr;
	r.rc = npu_model_load_memory(dev, file.data(), file.size(), &m);
	if (r.rc != NPU_OK)
		return r;
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements, 0x5a);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	auto t0 = Clock::now();
	r.rc = npu_run(m, &io);
	r.run_ms = ms_since(t0);
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

long first_mismatch(const std::vector<int8_t> &a, const std::vector<int8_t> &b)
{
	if (a.size() != b.size())
		return 0;
	for (size_t i = 0; i < a.size(); i++)
		if (a[i] != b[i])
			return static_cast<long>(i);
	return -1;
}

// A zoo model, built once per name and size for the whole program.
const std::vector<uint8_t> &cached_model(const std::string &net, int size)
{
	static std::map<std::pair<std::string, int>, std::vector<uint8_t>> cache;
	auto &m = cache[{net, size}];
	if (m.empty())
		m = npu_test::zoo_model(net.c_str(), size);
	return m;
}

// The control page of the card under an open cosim device.
const volatile struct npu_card_ctrl *ctrl_of(npu_device *dev)
{
	npu_card *c = npu_cosim_backend_card(npui_device_hw(dev));
	return c ? npu_card_ctrl(c) : nullptr;
}

// A Unix socket server that is not a card: it accepts one connection,
// sends bytes, and closes after hold_ms.
class FakeServer
{
      public:
	FakeServer(std::string bytes, int hold_ms) : bytes_(std::move(bytes)), hold_ms_(hold_ms)
	{
		char tmpl[] = "/tmp/npu-cosim-fake-XXXXXX";
		if (!mkdtemp(tmpl))
			return;
		dir_ = tmpl;
		path_ = dir_ + "/fake.sock";
		fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_un a;
		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		strcpy(a.sun_path, path_.c_str());
		if (bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a)) || listen(fd_, 2))
			return;
		th_ = std::thread([this] {
			int c = accept(fd_, nullptr, nullptr);
			if (c < 0)
				return;
			if (!bytes_.empty() && write(c, bytes_.data(), bytes_.size()) < 0)
				perror("fake server write");
			usleep(hold_ms_ * 1000);
			close(c);
		});
	}
	~FakeServer()
	{
		if (th_.joinable()) {
			shutdown(fd_, SHUT_RDWR); // a test that never connected
			th_.join();
		}
		close(fd_);
		unlink(path_.c_str());
		rmdir(dir_.c_str());
	}
	std::string uri() const
	{
		return "cosim:" + path_;
	}

      private:
	std::string bytes_, dir_, path_;
	int hold_ms_;
	int fd_ = -1;
	std::thread th_;
};

std::string le64(int64_t v)
{
	std::string s(8, '\0');
	for (int i = 0; i < 8; i++)
		s[i] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * i));
	return s;
}

// ---- CosimOpen -------------------------------------------------------

TEST(CosimOpen, UriFormsAndErrors)
{
	NPU_TEST_REQUIRE_BACKEND("cosim");
	npu_device *const untouched = reinterpret_cast<npu_device *>(0x1);
	npu_device *d = untouched;

	unsetenv("NPU_COSIM_SOCKET");
	EXPECT_EQ(npu_open("cosim", &d), NPU_ERR_NO_DEVICE);
	EXPECT_NE(std::string(npu_last_error()).find("NPU_COSIM_SOCKET"), std::string::npos)
	        << npu_last_error();
	EXPECT_EQ(npu_open(("cosim:/tmp/" + std::string(200, 'x')).c_str(), &d),
	          NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_open("cosim:/nonexistent/npu-cosim.sock", &d), NPU_ERR_NO_DEVICE);
	EXPECT_NE(std::string(npu_last_error()).find("cosim"), std::string::npos)
	        << npu_last_error();
	// A plain file where the socket should be.
	char f[] = "/tmp/npu-cosim-file-XXXXXX";
	int fd = mkstemp(f);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(npu_open((std::string("cosim:") + f).c_str(), &d), NPU_ERR_NO_DEVICE);
	unlink(f);
	EXPECT_EQ(d, untouched);

	Card card;
	REQUIRE_CARD(card);
	ASSERT_EQ(npu_open(card.uri().c_str(), &d), NPU_OK) << npu_last_error();
	EXPECT_EQ(npu_device_uri(d), card.uri());
	npu_close(d);
	setenv("NPU_COSIM_SOCKET", card.path().c_str(), 1);
	ASSERT_EQ(npu_open("cosim", &d), NPU_OK) << npu_last_error();
	npu_close(d);
	unsetenv("NPU_COSIM_SOCKET");
}

TEST(CosimOpen, NotACard)
{
	NPU_TEST_REQUIRE_BACKEND("cosim");
	npu_device *d = nullptr;
	{
		FakeServer s("this is not an ivshmem server\n", 300);
		EXPECT_EQ(npu_open(s.uri().c_str(), &d), NPU_ERR_NOT_SUPPORTED);
		EXPECT_NE(std::string(npu_last_error()).find("ivshmem"), std::string::npos)
		        << npu_last_error();
	}
	{
		// Version and ID, then the memory message without its fd.
		FakeServer s(le64(0) + le64(1) + le64(-1), 300);
		EXPECT_EQ(npu_open(s.uri().c_str(), &d), NPU_ERR_NOT_SUPPORTED);
	}
	{
		// Another protocol version.
		FakeServer s(le64(1) + le64(1), 300);
		EXPECT_EQ(npu_open(s.uri().c_str(), &d), NPU_ERR_NOT_SUPPORTED);
	}
	{
		// Closed before a word: a card busy with another host says so.
		FakeServer s("", 0);
		EXPECT_EQ(npu_open(s.uri().c_str(), &d), NPU_ERR_BUSY);
	}
}

TEST(CosimOpen, SecondHostRefusedUntilTheFirstLeaves)
{
	Card card;
	REQUIRE_CARD(card);
	npu_device *a = nullptr, *b = nullptr;
	ASSERT_EQ(npu_open(card.uri().c_str(), &a), NPU_OK) << npu_last_error();
	EXPECT_EQ(npu_open(card.uri().c_str(), &b), NPU_ERR_BUSY);
	EXPECT_NE(std::string(npu_last_error()).find("another host"), std::string::npos)
	        << npu_last_error();
	npu_close(a);
	// The card notices the first host's leaving on its next look (1 ms).
	int rc = NPU_ERR_BUSY;
	for (int i = 0; i < 200 && rc == NPU_ERR_BUSY; i++) {
		rc = npu_open(card.uri().c_str(), &b);
		if (rc == NPU_ERR_BUSY)
			usleep(10000);
	}
	ASSERT_EQ(rc, NPU_OK) << npu_last_error();
	npu_close(b);
}

// ---- CosimHw: the ops table directly ---------------------------------

TEST(CosimHw, RegistersMailboxAndBuffers)
{
	Card card;
	REQUIRE_CARD(card);
	const npu_backend_ops *ops = npu_backend_find("cosim", 5);
	ASSERT_NE(ops, nullptr);
	npu_hw *hw = nullptr;
	const std::string path = card.path();
	ASSERT_EQ(npu_hw_open(ops, path.c_str(), &hw), NPU_OK) << npu_hw_detail();
	npu_card *c = npu_cosim_backend_card(hw);
	ASSERT_NE(c, nullptr);
	const volatile struct npu_card_ctrl *k = npu_card_ctrl(c);
	EXPECT_EQ(k->magic, NPU_CARD_MAGIC);
	EXPECT_EQ(k->state, NPU_CARD_STATE_READY);
	EXPECT_EQ(k->dram_offset, NPU_CARD_DRAM_OFFSET);
	EXPECT_EQ(k->dram_size, (64ull << 20) - NPU_CARD_DRAM_OFFSET);
	EXPECT_EQ(k->dram_dev_base, NPU_CARD_DRAM_DEV_BASE);

	// Registers: what the card read at boot, through the mailbox.
	uint32_t v = 0;
	ASSERT_EQ(npu_hw_reg_read(hw, NPU_REG_ID, &v), NPU_OK);
	EXPECT_EQ(v, k->npu_id);
	ASSERT_EQ(npu_hw_reg_read(hw, NPU_REG_CAPS0, &v), NPU_OK);
	EXPECT_EQ(v, k->npu_caps);
	for (uint32_t w : {1u, 0u}) {
		ASSERT_EQ(npu_hw_reg_write(hw, NPU_REG_IRQ_MASK, w), NPU_OK);
		ASSERT_EQ(npu_hw_reg_read(hw, NPU_REG_IRQ_MASK, &v), NPU_OK);
		EXPECT_EQ(v, w);
	}
	for (uint32_t off : {NPU_HW_CSR_BYTES, NPU_HW_CSR_BYTES + 4u, 2u, 0xfffffffcu}) {
		EXPECT_EQ(npu_hw_reg_read(hw, off, &v), NPU_ERR_INVALID_ARG) << off;
		EXPECT_EQ(npu_hw_reg_write(hw, off, 0), NPU_ERR_INVALID_ARG) << off;
	}
	// Round trip: the card is idle, so each request waits on the doorbell.
	const uint64_t req0 = k->mb_requests, bells0 = k->doorbells;
	const int n = 2000;
	auto t0 = Clock::now();
	for (int i = 0; i < n; i++)
		ASSERT_EQ(npu_hw_reg_read(hw, NPU_REG_ID, &v), NPU_OK);
	const double us = ms_since(t0) * 1000.0 / n;
	EXPECT_EQ(k->mb_requests - req0, static_cast<uint64_t>(n));
	EXPECT_GE(k->doorbells - bells0, 1u) << "the card never saw a doorbell";
	printf("cosim mailbox round trip: %.1f us (%d register reads)\n", us, n);
	RecordProperty("mailbox_round_trip_us", std::to_string(us));

	// Buffers: card DRAM, first fit, 4 KiB granules, the BAR mapping.
	npu_hw_buf a, b, big;
	EXPECT_EQ(npu_hw_buf_alloc(hw, 0, NPU_HW_BUF_DEV_READ, &a), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_hw_buf_alloc(hw, 100, 0, &a), NPU_ERR_INVALID_ARG);
	EXPECT_EQ(npu_hw_buf_alloc(hw, 64ull << 20, NPU_HW_BUF_DEV_READ, &a), NPU_ERR_NO_MEM);
	ASSERT_EQ(npu_hw_buf_alloc(hw, 100, NPU_HW_BUF_DEV_READ, &a), NPU_OK);
	ASSERT_EQ(npu_hw_buf_alloc(hw, 5000, NPU_HW_BUF_DEV_WRITE, &b), NPU_OK);
	EXPECT_EQ(a.dev_addr, NPU_CARD_DRAM_DEV_BASE);
	EXPECT_EQ(b.dev_addr, NPU_CARD_DRAM_DEV_BASE + 4096);
	const uint8_t *dram =
	        reinterpret_cast<const uint8_t *>(const_cast<struct npu_card_ctrl *>(k)) +
	        NPU_CARD_DRAM_OFFSET;
	EXPECT_EQ(static_cast<uint8_t *>(a.host), dram);
	EXPECT_EQ(static_cast<uint8_t *>(b.host), dram + 4096);
	memset(b.host, 0x77, b.size);
	EXPECT_EQ(npu_hw_buf_sync(hw, &b, 0, b.size, NPU_HW_SYNC_TO_DEVICE), NPU_OK);
	EXPECT_EQ(npu_hw_buf_sync(hw, &b, 1, b.size, NPU_HW_SYNC_TO_DEVICE), NPU_ERR_INVALID_ARG);
	npu_hw_buf_free(hw, &a);
	// The rest of card DRAM (after a's freed granule and b's two) in one
	// buffer; then only a's granule is left.
	const size_t rest = k->dram_size - 3 * 4096;
	ASSERT_EQ(npu_hw_buf_alloc(hw, rest, NPU_HW_BUF_DEV_READ, &big), NPU_OK);
	EXPECT_EQ(big.dev_addr, NPU_CARD_DRAM_DEV_BASE + 3 * 4096);
	EXPECT_EQ(npu_hw_buf_alloc(hw, 4097, NPU_HW_BUF_DEV_READ, &a), NPU_ERR_NO_MEM);
	ASSERT_EQ(npu_hw_buf_alloc(hw, 4096, NPU_HW_BUF_DEV_READ, &a), NPU_OK);
	EXPECT_EQ(a.dev_addr, NPU_CARD_DRAM_DEV_BASE);
	// A new buffer reads as zeros.
	npu_hw_buf_free(hw, &b);
	ASSERT_EQ(npu_hw_buf_alloc(hw, 5000, NPU_HW_BUF_DEV_READ, &b), NPU_OK);
	EXPECT_EQ(b.dev_addr, NPU_CARD_DRAM_DEV_BASE + 4096);
	EXPECT_EQ(static_cast<uint8_t *>(b.host)[0], 0);
	npu_hw_buf_free(hw, &a);
	npu_hw_buf_free(hw, &b);
	npu_hw_buf_free(hw, &big);

	// Nothing pending: a wait times out on time.
	ASSERT_EQ(npu_hw_reset(hw), NPU_OK);
	t0 = Clock::now();
	EXPECT_EQ(npu_hw_wait_irq(hw, 50), NPU_ERR_TIMEOUT);
	EXPECT_LT(ms_since(t0), 1000.0);
	EXPECT_FALSE(npu_card_gone(c));
	npu_hw_close(hw);
}

// ---- CosimZoo --------------------------------------------------------

void expect_bit_exact_with_placement(npu_device *dev, const char *net, int size, uint32_t seed,
                                     NetRun *out = nullptr)
{
	auto file = npu_test::zoo_model(net, size);
	auto x = npu_test::SeededInput(static_cast<size_t>(size) * size * 3, seed);
	auto want = cpu_output(file, x);
	const volatile struct npu_card_ctrl *k = ctrl_of(dev);
	ASSERT_NE(k, nullptr);
	const uint64_t irqs0 = k->irqs_sent;
	NetRun r = run_model(dev, file, x);
	ASSERT_EQ(r.rc, NPU_OK) << npu_status_name(r.rc) << ": " << npu_last_error();
	ASSERT_FALSE(want.empty());
	EXPECT_EQ(first_mismatch(r.out, want), -1) << "first mismatch at output byte";
	npu_test::ExpectPlacement(npu_test::ProfileRuns(r.prof),
	                          npu_test::zoo_plan_counts(file, false),
	                          npu_test::ExpectedZooPlacement(net, false, size), r.cost.macs);
	// The job's interrupts came as MSI-X eventfd writes.
	EXPECT_GT(k->irqs_sent, irqs0);
	if (out)
		*out = r;
}

class CosimZoo : public ::testing::TestWithParam<const char *>
{
};

TEST_P(CosimZoo, BitExactAgainstCpu)
{
	Card card;
	REQUIRE_CARD(card);
	const int size = static_cast<int>(npu_test_env_int("NPU_COSIM_TEST_SIZE", 32, 32, 1024));
	npu_device *dev;
	ASSERT_EQ(npu_open(card.uri().c_str(), &dev), NPU_OK) << npu_last_error();
	expect_bit_exact_with_placement(dev, GetParam(), size, 7);
	npu_close(dev);
}

INSTANTIATE_TEST_SUITE_P(Zoo, CosimZoo,
                         ::testing::Values("squeezenet1_0", "squeezenet1_1", "mobilenet_v1",
                                           "shufflenet_v1_g3", "mobilenet_v2", "mobilenet_v3_large",
                                           "mobilenet_v3_small", "shufflenet_v2_x1_0"));

TEST(CosimZoo224, MobileNetV2)
{
	Card card;
	REQUIRE_CARD(card);
	npu_device *dev;
	ASSERT_EQ(npu_open(card.uri().c_str(), &dev), NPU_OK) << npu_last_error();
	NetRun r;
	const volatile struct npu_card_ctrl *k = ctrl_of(dev);
	ASSERT_NE(k, nullptr);
	const uint64_t req0 = k->mb_requests, irq0 = k->irqs_sent;
	expect_bit_exact_with_placement(dev, "mobilenet_v2", 224, 11, &r);
	uint64_t cycles = 0;
	for (const auto &p : r.prof)
		cycles += p.cycles;
	printf("cosim MobileNetV2-224: %llu layer cycles, run %.0f ms wall; load and run: %llu "
	       "mailbox requests, %llu interrupts\n",
	       static_cast<unsigned long long>(cycles), r.run_ms,
	       static_cast<unsigned long long>(k->mb_requests - req0),
	       static_cast<unsigned long long>(k->irqs_sent - irq0));
	RecordProperty("mobilenet_v2_224_cycles", std::to_string(cycles));
	RecordProperty("mobilenet_v2_224_run_ms", std::to_string(r.run_ms));
	npu_close(dev);
}

// ---- CosimGone: surprise removal --------------------------------------

// The card kills itself (--kill-after-cycles) in the middle of the job:
// the run ends with DISCONNECTED within a second of the card's death, and
// closing works.
TEST(CosimGone, KilledMidJob)
{
	const int size = 64;
	const auto &file = cached_model("mobilenet_v2", size);
	auto x = npu_test::SeededInput(static_cast<size_t>(size) * size * 3, 5);
	Card card({"--kill-after-cycles", "200000"});
	REQUIRE_CARD(card);
	npu_device *dev;
	ASSERT_EQ(npu_open(card.uri().c_str(), &dev), NPU_OK) << npu_last_error();
	npu_model *m;
	ASSERT_EQ(npu_model_load_memory(dev, file.data(), file.size(), &m), NPU_OK)
	        << npu_last_error();
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};

	// Reap the card as it dies, and note when.
	const pid_t card_pid = card.pid();
	ASSERT_GT(card_pid, 0);
	std::atomic<bool> died{false};
	Clock::time_point death;
	int status = 0;
	std::thread reaper([&] {
		// Bounded: a run that failed early never gets the card to its
		// kill; the test fails on that rather than waiting for ever.
		status = card.reap(120000);
		death = Clock::now();
		died = status != -1;
	});
	const int rc = npu_run(m, &io);
	const auto ret = Clock::now();
	if (rc != NPU_ERR_DISCONNECTED && !died)
		kill(card_pid, SIGKILL); // the job ended first: no need to wait for the reaper
	reaper.join();
	EXPECT_EQ(rc, NPU_ERR_DISCONNECTED) << npu_status_name(rc) << ": " << npu_last_error();
	ASSERT_TRUE(died);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
	const double late_ms = std::chrono::duration<double, std::milli>(ret - death).count();
	EXPECT_LT(late_ms, 1000.0) << "the run noticed the card's death late";
	printf("cosim: the run returned %.1f ms after the card died\n", late_ms);
	// Everything after is DISCONNECTED, nothing hangs, close works.
	EXPECT_EQ(npu_run(m, &io), NPU_ERR_DISCONNECTED);
	npu_model_free(m);
	npu_close(dev);
	// Nothing listens there any more.
	EXPECT_EQ(npu_open(card.uri().c_str(), &dev), NPU_ERR_NO_DEVICE);
}

class CosimGoneBetweenCalls : public ::testing::TestWithParam<int>
{
};

// The card goes while the host does nothing: SIGKILL (the socket hangs
// up), SIGTERM (state STOPPED, then the socket), SIGSTOP (only the
// heartbeat stops: NPU_CARD_DEAD_MS later the host gives up on it).
TEST_P(CosimGoneBetweenCalls, NextCallIsDisconnected)
{
	const int sig = GetParam();
	const int size = 32;
	const auto &file = cached_model("mobilenet_v1", size);
	auto x = npu_test::SeededInput(static_cast<size_t>(size) * size * 3, 3);
	Card card;
	REQUIRE_CARD(card);
	npu_device *dev;
	ASSERT_EQ(npu_open(card.uri().c_str(), &dev), NPU_OK) << npu_last_error();
	npu_model *m;
	ASSERT_EQ(npu_model_load_memory(dev, file.data(), file.size(), &m), NPU_OK);
	npu_tensor_info out;
	npu_model_output(m, &out);
	std::vector<int8_t> y(out.elements);
	npu_io io = {NPU_IO_INT8, x.data(), x.size(), NPU_IO_INT8, y.data(), y.size()};
	ASSERT_EQ(npu_run(m, &io), NPU_OK) << npu_last_error();

	card.signal(sig);
	if (sig != SIGSTOP) {
		ASSERT_NE(card.reap(5000), -1) << "the card did not end";
	}
	auto t0 = Clock::now();
	EXPECT_EQ(npu_run(m, &io), NPU_ERR_DISCONNECTED) << npu_last_error();
	const double ms = ms_since(t0);
	EXPECT_LT(ms, 1000.0 + (sig == SIGSTOP ? NPU_CARD_DEAD_MS : 0));
	if (sig == SIGSTOP) {
		// It was alive a moment ago: not before the heartbeat's time.
		EXPECT_GE(ms, NPU_CARD_DEAD_MS * 0.9);
	}
	EXPECT_EQ(npu_run(m, &io), NPU_ERR_DISCONNECTED);
	npu_model_free(m);
	npu_close(dev);
}

INSTANTIATE_TEST_SUITE_P(Signals, CosimGoneBetweenCalls,
                         ::testing::Values(SIGKILL, SIGTERM, SIGSTOP),
                         [](const ::testing::TestParamInfo<int> &i) {
	                         return std::string(i.param == SIGKILL   ? "Kill"
	                                            : i.param == SIGTERM ? "Term"
	                                                                 : "Stop");
                         });

} // namespace
