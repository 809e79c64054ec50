// The virtual board (firmware/vboard, docs/USB_BOARD.md) through Debian's
// unmodified libusb-1.0, raw: no lwnpu host code between the test and the
// board. What runs is the firmware core's host build over the Verilated
// NPU, behind umockdev's emulation of the kernel's usbdevfs interface.
#include <gtest/gtest.h>

#include <libusb-1.0/libusb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "driver/npu_regs.h"
#include "driver/npu_usb_proto.h"
#include "firmware/fw.h"
#include "firmware/fw_trace.h"
#include "firmware/vboard/vboard.h"

namespace
{

constexpr uint64_t kDramBase = 0x80000000ull;
constexpr uint64_t kDramSize = 16ull << 20; // the tests' board: 16 MiB
constexpr unsigned kTimeoutMs = 5000;

double NowS()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double CpuS()
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

std::vector<uint8_t> Request(uint8_t op, uint32_t seq, uint32_t len, uint64_t addr,
                             const uint8_t *data = nullptr, size_t data_len = 0)
{
	struct npu_usb_req r = {};
	r.magic = NPU_USB_REQ_MAGIC;
	r.op = op;
	r.seq = seq;
	r.len = len;
	r.addr = addr;
	std::vector<uint8_t> b(NPU_USB_REQ_BYTES + data_len);
	npu_usb_req_put(b.data(), &r);
	if (data_len)
		memcpy(b.data() + NPU_USB_REQ_BYTES, data, data_len);
	return b;
}

std::vector<uint8_t> Pattern(size_t n, unsigned seed)
{
	std::vector<uint8_t> v(n);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		v[i] = (uint8_t)(x >> 24);
	}
	return v;
}

// GET_INFO on a handle (zeros if it failed).
struct npu_usb_info InfoOf(libusb_device_handle *h)
{
	uint8_t b[NPU_USB_INFO_BYTES] = {};
	struct npu_usb_info in = {};
	EXPECT_EQ(libusb_control_transfer(h, NPU_USB_RT_IN, NPU_USB_REQ_GET_INFO, 0, 0, b,
	                                  sizeof(b), kTimeoutMs),
	          (int)NPU_USB_INFO_BYTES);
	npu_usb_info_get(b, &in);
	return in;
}

// One board per test, opened and claimed through libusb.
class VboardTest : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		Create();
		Open();
	}

	void TearDown() override
	{
		Close();
		vboard_destroy(vb_);
		vb_ = nullptr;
	}

	virtual void Create()
	{
		struct vboard_config cfg = {};
		cfg.dram_size = kDramSize;
		ASSERT_EQ(vboard_create(&cfg, &vb_), 0);
	}

	void Open()
	{
		ASSERT_EQ(libusb_init(&ctx_), 0);
		h_ = libusb_open_device_with_vid_pid(ctx_, NPU_USB_VID, NPU_USB_PID);
		ASSERT_NE(h_, nullptr) << "the board is not visible to libusb";
		ASSERT_EQ(libusb_claim_interface(h_, NPU_USB_INTERFACE), 0);
	}

	void Close()
	{
		if (h_) {
			libusb_release_interface(h_, NPU_USB_INTERFACE);
			libusb_close(h_);
		}
		h_ = nullptr;
		if (ctx_)
			libusb_exit(ctx_);
		ctx_ = nullptr;
	}

	struct npu_usb_info Info()
	{
		return InfoOf(h_);
	}

	struct npu_usb_status Status()
	{
		uint8_t b[NPU_USB_STATUS_BYTES] = {};
		struct npu_usb_status st = {};
		EXPECT_EQ(libusb_control_transfer(h_, NPU_USB_RT_IN, NPU_USB_REQ_GET_STATUS, 0, 0,
		                                  b, sizeof(b), kTimeoutMs),
		          (int)NPU_USB_STATUS_BYTES);
		npu_usb_status_get(b, &st);
		return st;
	}

	// REG_READ: the reply's status; *value its value.
	uint32_t RegRead(uint32_t off, uint32_t *value)
	{
		uint8_t b[8] = {};
		EXPECT_EQ(libusb_control_transfer(h_, NPU_USB_RT_IN, NPU_USB_REQ_REG_READ, 0,
		                                  (uint16_t)off, b, sizeof(b), kTimeoutMs),
		          8);
		*value = npu_usb_get32(b + 4);
		return npu_usb_get32(b);
	}

	// REG_WRITE: 0, or libusb's error (LIBUSB_ERROR_PIPE for a STALL).
	int RegWrite(uint32_t off, uint32_t value)
	{
		uint8_t b[4];
		npu_usb_put32(b, value);
		int rc = libusb_control_transfer(h_, NPU_USB_RT_OUT, NPU_USB_REQ_REG_WRITE, 0,
		                                 (uint16_t)off, b, sizeof(b), kTimeoutMs);
		return rc == (int)sizeof(b) ? 0 : rc < 0 ? rc : LIBUSB_ERROR_OTHER;
	}

	int BulkOut(const std::vector<uint8_t> &b)
	{
		int done = 0;
		int rc = libusb_bulk_transfer(h_, NPU_USB_EP_BULK_OUT,
		                              const_cast<uint8_t *>(b.data()), (int)b.size(), &done,
		                              kTimeoutMs);
		EXPECT_EQ(done, rc == 0 ? (int)b.size() : done);
		return rc;
	}

	// One reply: its header, and data into *data (resized to what came).
	struct npu_usb_rsp Reply(size_t data_max, std::vector<uint8_t> *data = nullptr)
	{
		std::vector<uint8_t> b(NPU_USB_RSP_BYTES + data_max);
		struct npu_usb_rsp r = {};
		int done = 0;
		EXPECT_EQ(libusb_bulk_transfer(h_, NPU_USB_EP_BULK_IN, b.data(), (int)b.size(),
		                               &done, kTimeoutMs),
		          0);
		EXPECT_GE(done, (int)NPU_USB_RSP_BYTES);
		if (done >= (int)NPU_USB_RSP_BYTES)
			npu_usb_rsp_get(b.data(), &r);
		EXPECT_EQ(r.magic, NPU_USB_RSP_MAGIC);
		if (data)
			data->assign(b.begin() + NPU_USB_RSP_BYTES,
			             b.begin() + (done > (int)NPU_USB_RSP_BYTES
			                                  ? done
			                                  : (int)NPU_USB_RSP_BYTES));
		return r;
	}

	void Write(uint64_t addr, const std::vector<uint8_t> &d, uint32_t seq)
	{
		ASSERT_EQ(BulkOut(Request(NPU_USB_OP_WRITE, seq, (uint32_t)d.size(), addr, d.data(),
		                          d.size())),
		          0);
		struct npu_usb_rsp r = Reply(0);
		EXPECT_EQ(r.status, NPU_USB_ST_OK);
		EXPECT_EQ(r.op, NPU_USB_OP_WRITE);
		EXPECT_EQ(r.seq, seq);
		EXPECT_EQ(r.len, 0u);
	}

	std::vector<uint8_t> Read(uint64_t addr, uint32_t len, uint32_t seq)
	{
		std::vector<uint8_t> d;
		EXPECT_EQ(BulkOut(Request(NPU_USB_OP_READ, seq, len, addr)), 0);
		struct npu_usb_rsp r = Reply(len, &d);
		EXPECT_EQ(r.status, NPU_USB_ST_OK);
		EXPECT_EQ(r.seq, seq);
		EXPECT_EQ(r.len, len);
		EXPECT_EQ(d.size(), len);
		return d;
	}

	struct vboard *vb_ = nullptr;
	libusb_context *ctx_ = nullptr;
	libusb_device_handle *h_ = nullptr;
};

// ---- enumeration and the handshake ---------------------------------------

TEST_F(VboardTest, EnumeratesWithItsEndpoints)
{
	libusb_device **list;
	ssize_t n = libusb_get_device_list(ctx_, &list);
	int found = 0;
	unsigned bus = 0, addr = 0;

	vboard_address(vb_, &bus, &addr);
	ASSERT_GT(n, 0);
	for (ssize_t i = 0; i < n; i++) {
		struct libusb_device_descriptor dd;
		struct libusb_config_descriptor *cd;

		ASSERT_EQ(libusb_get_device_descriptor(list[i], &dd), 0);
		if (dd.idVendor != NPU_USB_VID || dd.idProduct != NPU_USB_PID)
			continue;
		found++;
		EXPECT_EQ(libusb_get_bus_number(list[i]), bus);
		EXPECT_EQ(libusb_get_device_address(list[i]), addr);
		EXPECT_EQ(libusb_get_device_speed(list[i]), LIBUSB_SPEED_HIGH);
		ASSERT_EQ(libusb_get_active_config_descriptor(list[i], &cd), 0);
		ASSERT_EQ(cd->bNumInterfaces, 1);
		const struct libusb_interface_descriptor &id = cd->interface[0].altsetting[0];
		EXPECT_EQ(id.bInterfaceNumber, NPU_USB_INTERFACE);
		EXPECT_EQ(id.bInterfaceClass, LIBUSB_CLASS_VENDOR_SPEC);
		ASSERT_EQ(id.bNumEndpoints, 3);
		EXPECT_EQ(id.endpoint[0].bEndpointAddress, NPU_USB_EP_BULK_OUT);
		EXPECT_EQ(id.endpoint[0].bmAttributes & 3, LIBUSB_TRANSFER_TYPE_BULK);
		EXPECT_EQ(id.endpoint[0].wMaxPacketSize, NPU_USB_BULK_PACKET);
		EXPECT_EQ(id.endpoint[1].bEndpointAddress, NPU_USB_EP_BULK_IN);
		EXPECT_EQ(id.endpoint[1].bmAttributes & 3, LIBUSB_TRANSFER_TYPE_BULK);
		EXPECT_EQ(id.endpoint[1].wMaxPacketSize, NPU_USB_BULK_PACKET);
		EXPECT_EQ(id.endpoint[2].bEndpointAddress, NPU_USB_EP_INTR_IN);
		EXPECT_EQ(id.endpoint[2].bmAttributes & 3, LIBUSB_TRANSFER_TYPE_INTERRUPT);
		EXPECT_EQ(id.endpoint[2].wMaxPacketSize, NPU_USB_INTR_PACKET);
		EXPECT_EQ(id.endpoint[2].bInterval, 4) << "1 ms at high speed";
		libusb_free_config_descriptor(cd);
	}
	libusb_free_device_list(list, 1);
	EXPECT_EQ(found, 1);
	// Another interface is not there to claim.
	EXPECT_EQ(libusb_claim_interface(h_, 1), LIBUSB_ERROR_NOT_FOUND);
}

TEST_F(VboardTest, GetInfoDescribesBoardAndNpu)
{
	struct npu_usb_info in = Info();
	uint32_t v = 0;

	EXPECT_EQ(in.magic, NPU_USB_INFO_MAGIC);
	EXPECT_EQ(in.proto_major, NPU_USB_PROTO_MAJOR);
	EXPECT_EQ(in.fw_version, FW_VERSION);
	EXPECT_EQ(in.max_xfer, FW_MAX_XFER);
	EXPECT_EQ(in.npu_status, NPU_USB_ST_OK);
	EXPECT_EQ(in.dram_base, kDramBase);
	EXPECT_EQ(in.dram_size, kDramSize);
	EXPECT_EQ(in.npu_id, NPU_REG_ID_RESET);
	// The registers as the bridge reads them now.
	ASSERT_EQ(RegRead(NPU_REG_VERSION, &v), NPU_USB_ST_OK);
	EXPECT_EQ(in.npu_version, v);
	for (unsigned i = 0; i < 4; i++) {
		ASSERT_EQ(RegRead(NPU_REG_CAPS0 + 4 * i, &v), NPU_USB_ST_OK);
		EXPECT_EQ(in.caps[i], v) << "CAPS" << i;
	}
	ASSERT_EQ(RegRead(NPU_REG_CAPS_ENGINES, &v), NPU_USB_ST_OK);
	EXPECT_EQ(in.caps_engines, v);
	EXPECT_NE(in.caps_engines & NPU_REG_CAPS_ENGINES_CP_MASK, 0u);
}

// ---- the register bridge ---------------------------------------------------

TEST_F(VboardTest, RegisterReadWrite)
{
	uint32_t v = 0;

	ASSERT_EQ(RegRead(NPU_REG_ID, &v), NPU_USB_ST_OK);
	EXPECT_EQ(v, NPU_REG_ID_RESET);
	for (uint32_t x : {0x12345000u, 0xfffff000u, 0u}) {
		ASSERT_EQ(RegWrite(NPU_REG_WIN_BASE_LO(1), x), 0);
		ASSERT_EQ(RegRead(NPU_REG_WIN_BASE_LO(1), &v), NPU_USB_ST_OK);
		EXPECT_EQ(v, x);
	}
	struct npu_usb_status st = Status();
	EXPECT_EQ(st.last_error, NPU_USB_ST_OK);
}

TEST_F(VboardTest, BadRegisterOffsets)
{
	uint32_t v = 1;

	EXPECT_EQ(RegRead(NPU_HW_CSR_BYTES, &v), NPU_USB_ST_BAD_REG);
	EXPECT_EQ(v, 0u);
	v = 1;
	EXPECT_EQ(RegRead(NPU_REG_VERSION + 2, &v), NPU_USB_ST_BAD_REG);
	EXPECT_EQ(v, 0u);

	EXPECT_EQ(RegWrite(NPU_HW_CSR_BYTES + 4, 1), LIBUSB_ERROR_PIPE);
	struct npu_usb_status st = Status();
	EXPECT_EQ(st.last_error, NPU_USB_ST_BAD_REG);
	EXPECT_EQ(st.last_error_seq, (uint32_t)NPU_USB_REQ_REG_WRITE);
	EXPECT_EQ(RegWrite(1, 1), LIBUSB_ERROR_PIPE);

	// A wrong length or an unknown request is refused too; the board
	// still answers afterwards.
	uint8_t b[8];
	EXPECT_EQ(libusb_control_transfer(h_, NPU_USB_RT_IN, NPU_USB_REQ_REG_READ, 0, 0, b, 4,
	                                  kTimeoutMs),
	          LIBUSB_ERROR_PIPE);
	EXPECT_EQ(libusb_control_transfer(h_, NPU_USB_RT_IN, 0x7f, 0, 0, b, 8, kTimeoutMs),
	          LIBUSB_ERROR_PIPE);
	EXPECT_EQ(Info().magic, NPU_USB_INFO_MAGIC);
}

// ---- the DRAM bridge -------------------------------------------------------

TEST_F(VboardTest, DramRoundTrips)
{
	std::vector<uint8_t> one = {0xa5};
	Write(kDramBase + 7, one, 1);
	EXPECT_EQ(Read(kDramBase + 7, 1, 2), one);

	std::vector<uint8_t> big = Pattern(FW_MAX_XFER, 3);
	Write(kDramBase + kDramSize - FW_MAX_XFER, big, 3);
	std::vector<uint8_t> back = Read(kDramBase + kDramSize - FW_MAX_XFER, FW_MAX_XFER, 4);
	ASSERT_EQ(back.size(), big.size());
	for (size_t i = 0; i < big.size(); i++)
		ASSERT_EQ(back[i], big[i]) << "i=" << i;

	// Untouched DRAM reads as zero (a fresh board).
	std::vector<uint8_t> z = Read(kDramBase + 4096, 256, 5);
	EXPECT_EQ(z, std::vector<uint8_t>(256, 0));

	struct vboard_stats st;
	vboard_get_stats(vb_, &st);
	EXPECT_EQ(st.dram_written, 1u + FW_MAX_XFER);
	EXPECT_EQ(st.dram_read, 1u + FW_MAX_XFER + 256);
}

struct Xfer {
	int done = 0;
	enum libusb_transfer_status status = LIBUSB_TRANSFER_ERROR;
	int actual = 0;
	std::vector<uint8_t> buf;
	struct libusb_transfer *t = nullptr;
};

void LIBUSB_CALL XferDone(struct libusb_transfer *t)
{
	Xfer *x = static_cast<Xfer *>(t->user_data);
	x->status = t->status;
	x->actual = t->actual_length;
	x->done = 1;
}

void Submit(libusb_device_handle *h, Xfer *x, unsigned char ep, unsigned char type)
{
	x->t = libusb_alloc_transfer(0);
	ASSERT_NE(x->t, nullptr);
	if (type == LIBUSB_TRANSFER_TYPE_INTERRUPT)
		libusb_fill_interrupt_transfer(x->t, h, ep, x->buf.data(), (int)x->buf.size(),
		                               XferDone, x, kTimeoutMs);
	else
		libusb_fill_bulk_transfer(x->t, h, ep, x->buf.data(), (int)x->buf.size(), XferDone,
		                          x, kTimeoutMs);
	ASSERT_EQ(libusb_submit_transfer(x->t), 0);
}

// Handle events until every transfer is done or the time is up.
bool WaitAll(libusb_context *ctx, std::vector<Xfer> &xs, double seconds)
{
	double end = NowS() + seconds;
	for (;;) {
		bool all = true;
		for (auto &x : xs)
			all = all && x.done;
		if (all)
			return true;
		if (NowS() > end)
			return false;
		struct timeval tv = {0, 10000};
		libusb_handle_events_timeout(ctx, &tv);
	}
}

void FreeAll(std::vector<Xfer> &xs)
{
	for (auto &x : xs)
		libusb_free_transfer(x.t);
}

TEST_F(VboardTest, RequestsInFlight)
{
	const unsigned n = NPU_USB_MAX_INFLIGHT;
	std::vector<Xfer> outs(n), ins(n);

	// n WRITEs and n READs of the same blocks: every request queued at
	// once, the replies read by n IN transfers submitted up front.
	for (unsigned i = 0; i < n; i++) {
		std::vector<uint8_t> d = Pattern(4096 + i, i);
		outs[i].buf = Request(NPU_USB_OP_WRITE, 100 + i, (uint32_t)d.size(),
		                      kDramBase + 8192 * i, d.data(), d.size());
		ins[i].buf.assign(NPU_USB_RSP_BYTES, 0);
	}
	for (unsigned i = 0; i < n; i++)
		Submit(h_, &ins[i], NPU_USB_EP_BULK_IN, LIBUSB_TRANSFER_TYPE_BULK);
	for (unsigned i = 0; i < n; i++)
		Submit(h_, &outs[i], NPU_USB_EP_BULK_OUT, LIBUSB_TRANSFER_TYPE_BULK);
	ASSERT_TRUE(WaitAll(ctx_, outs, 10));
	ASSERT_TRUE(WaitAll(ctx_, ins, 10));
	for (unsigned i = 0; i < n; i++) {
		struct npu_usb_rsp r;
		EXPECT_EQ(outs[i].status, LIBUSB_TRANSFER_COMPLETED);
		ASSERT_EQ(ins[i].status, LIBUSB_TRANSFER_COMPLETED);
		ASSERT_EQ(ins[i].actual, (int)NPU_USB_RSP_BYTES);
		npu_usb_rsp_get(ins[i].buf.data(), &r);
		EXPECT_EQ(r.status, NPU_USB_ST_OK) << "i=" << i;
		EXPECT_EQ(r.seq, 100 + i) << "replies in request order";
	}
	FreeAll(outs);
	FreeAll(ins);

	std::vector<Xfer> rq(n), rs(n);
	for (unsigned i = 0; i < n; i++) {
		rq[i].buf = Request(NPU_USB_OP_READ, 200 + i, 4096 + i, kDramBase + 8192 * i);
		rs[i].buf.assign(NPU_USB_RSP_BYTES + 4096 + i, 0);
		Submit(h_, &rq[i], NPU_USB_EP_BULK_OUT, LIBUSB_TRANSFER_TYPE_BULK);
		Submit(h_, &rs[i], NPU_USB_EP_BULK_IN, LIBUSB_TRANSFER_TYPE_BULK);
	}
	ASSERT_TRUE(WaitAll(ctx_, rq, 10));
	ASSERT_TRUE(WaitAll(ctx_, rs, 10));
	for (unsigned i = 0; i < n; i++) {
		struct npu_usb_rsp r;
		ASSERT_EQ(rs[i].actual, (int)(NPU_USB_RSP_BYTES + 4096 + i));
		npu_usb_rsp_get(rs[i].buf.data(), &r);
		EXPECT_EQ(r.seq, 200 + i);
		std::vector<uint8_t> want = Pattern(4096 + i, i);
		EXPECT_TRUE(
		        std::equal(want.begin(), want.end(), rs[i].buf.begin() + NPU_USB_RSP_BYTES))
		        << "i=" << i;
	}
	FreeAll(rq);
	FreeAll(rs);
}

// A cancelled IN transfer (DISCARDURB) completes as cancelled and takes
// no reply from the next one.
TEST_F(VboardTest, CancelledInTransferTakesNoReply)
{
	std::vector<Xfer> xs(1);
	xs[0].buf.assign(NPU_USB_RSP_BYTES, 0);
	Submit(h_, &xs[0], NPU_USB_EP_BULK_IN, LIBUSB_TRANSFER_TYPE_BULK);
	struct timeval tv = {0, 20000};
	libusb_handle_events_timeout(ctx_, &tv);
	ASSERT_EQ(libusb_cancel_transfer(xs[0].t), 0);
	ASSERT_TRUE(WaitAll(ctx_, xs, 2.0));
	EXPECT_EQ(xs[0].status, LIBUSB_TRANSFER_CANCELLED);
	FreeAll(xs);
	Write(kDramBase, Pattern(8, 1), 41); // its reply reaches this transfer
}

// A handle closed with an IN transfer still pending: as the kernel kills
// the URBs of a closed usbfs file, the board forgets it, and the next
// handle gets its own replies.
TEST_F(VboardTest, ClosedHandleLeavesNoStaleUrb)
{
	struct libusb_transfer *t = libusb_alloc_transfer(0);
	std::vector<uint8_t> buf(NPU_USB_RSP_BYTES);
	Xfer x;
	ASSERT_NE(t, nullptr);
	libusb_fill_bulk_transfer(t, h_, NPU_USB_EP_BULK_IN, buf.data(), (int)buf.size(), XferDone,
	                          &x, kTimeoutMs);
	ASSERT_EQ(libusb_submit_transfer(t), 0);
	struct timeval tv = {0, 20000};
	libusb_handle_events_timeout(ctx_, &tv);
	libusb_set_option(ctx_, LIBUSB_OPTION_LOG_LEVEL, LIBUSB_LOG_LEVEL_NONE); // it says so
	Close();
	libusb_free_transfer(t);
	Open();
	Write(kDramBase, Pattern(8, 2), 42);
	EXPECT_EQ(Read(kDramBase, 8, 43), Pattern(8, 2));
}

// ---- malformed requests, straight to the board ------------------------------

TEST_F(VboardTest, MalformedRequestsGetTheirErrorReply)
{
	struct Case {
		const char *name;
		std::vector<uint8_t> bytes;
		uint16_t status;
		bool seq_echoed;
	};
	std::vector<uint8_t> data(100, 0x5a);
	std::vector<Case> cases;
	std::vector<uint8_t> b;

	b = Request(NPU_USB_OP_READ, 11, 16, kDramBase);
	npu_usb_put32(b.data(), 0x12345678);
	cases.push_back({"bad magic", b, NPU_USB_ST_BAD_MAGIC, false});
	cases.push_back({"bad op", Request(3, 12, 16, kDramBase), NPU_USB_ST_BAD_OP, true});
	b = Request(NPU_USB_OP_READ, 13, 16, kDramBase);
	b[5] = 1; // flags
	cases.push_back({"flags set", b, NPU_USB_ST_BAD_OP, true});
	cases.push_back(
	        {"len 0", Request(NPU_USB_OP_READ, 14, 0, kDramBase), NPU_USB_ST_BAD_LEN, true});
	cases.push_back({"len > max_xfer", Request(NPU_USB_OP_READ, 15, FW_MAX_XFER + 1, kDramBase),
	                 NPU_USB_ST_BAD_LEN, true});
	cases.push_back({"below DRAM", Request(NPU_USB_OP_READ, 16, 16, kDramBase - 8),
	                 NPU_USB_ST_BAD_ADDR, true});
	cases.push_back({"past DRAM", Request(NPU_USB_OP_READ, 17, 16, kDramBase + kDramSize - 8),
	                 NPU_USB_ST_BAD_ADDR, true});
	cases.push_back({"wrapping", Request(NPU_USB_OP_READ, 18, 64, ~0ull - 15),
	                 NPU_USB_ST_BAD_ADDR, true});
	cases.push_back({"short WRITE",
	                 Request(NPU_USB_OP_WRITE, 19, 100, kDramBase, data.data(), 50),
	                 NPU_USB_ST_SHORT, true});
	cases.push_back({"WRITE overflow",
	                 Request(NPU_USB_OP_WRITE, 20, 50, kDramBase, data.data(), 100),
	                 NPU_USB_ST_OVERFLOW, true});
	cases.push_back({"READ overflow",
	                 Request(NPU_USB_OP_READ, 21, 16, kDramBase, data.data(), 8),
	                 NPU_USB_ST_OVERFLOW, true});

	uint32_t errors = Status().errors;
	for (const Case &c : cases) {
		SCOPED_TRACE(c.name);
		ASSERT_EQ(BulkOut(c.bytes), 0);
		std::vector<uint8_t> d;
		struct npu_usb_rsp r = Reply(64, &d);
		EXPECT_EQ(r.status, c.status);
		EXPECT_EQ(r.len, 0u);
		EXPECT_TRUE(d.empty()) << "an error reply is only the header";
		if (c.seq_echoed) {
			EXPECT_EQ(r.seq, npu_usb_get32(c.bytes.data() + 8));
		}
		struct npu_usb_status st = Status();
		EXPECT_EQ(st.last_error, c.status);
		EXPECT_EQ(st.errors, ++errors);
	}
	// Still a working board.
	EXPECT_EQ(Read(kDramBase + 4096, 100, 30), std::vector<uint8_t>(100, 0));
}

// ---- the interrupt line ------------------------------------------------------

TEST_F(VboardTest, NpuErrorInterruptBecomesEvent)
{
	std::vector<Xfer> evs(1);
	evs[0].buf.assign(NPU_USB_INTR_PACKET, 0);
	Submit(h_, &evs[0], NPU_USB_EP_INTR_IN, LIBUSB_TRANSFER_TYPE_INTERRUPT);

	// A ring of zeroed descriptors in DRAM: the first one fetched is
	// refused (version 0), the NPU latches the error and raises its line.
	ASSERT_EQ(RegWrite(NPU_REG_IRQ_MASK, NPU_REG_IRQ_STATUS_ERROR_MASK), 0);
	ASSERT_EQ(RegWrite(NPU_REG_RING_BASE_LO, (uint32_t)kDramBase), 0);
	ASSERT_EQ(RegWrite(NPU_REG_RING_BASE_HI, 0), 0);
	ASSERT_EQ(RegWrite(NPU_REG_RING_SIZE, 4), 0);
	ASSERT_EQ(RegWrite(NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK), 0);
	ASSERT_EQ(RegWrite(NPU_REG_RING_TAIL, 1), 0);
	ASSERT_EQ(RegWrite(NPU_REG_DOORBELL, 1), 0);
	ASSERT_TRUE(WaitAll(ctx_, evs, 10)) << "no event";
	ASSERT_EQ(evs[0].status, LIBUSB_TRANSFER_COMPLETED);
	ASSERT_EQ(evs[0].actual, (int)NPU_USB_EVENT_BYTES);
	struct npu_usb_event e;
	npu_usb_event_get(evs[0].buf.data(), &e);
	EXPECT_EQ(e.magic, NPU_USB_EVENT_MAGIC);
	EXPECT_NE(e.irq_status & NPU_REG_IRQ_STATUS_ERROR_MASK, 0u);
	uint32_t code = 0;
	ASSERT_EQ(RegRead(NPU_REG_ERR_CODE, &code), NPU_USB_ST_OK);
	EXPECT_NE(code, 0u);
	EXPECT_EQ(e.err_code, code);
	EXPECT_NE(Status().flags & NPU_USB_STATUS_IRQ_LINE, 0u);
	FreeAll(evs);

	// Acknowledged over the register bridge, the line falls.
	ASSERT_EQ(RegWrite(NPU_REG_IRQ_ACK, NPU_REG_IRQ_STATUS_ERROR_MASK), 0);
	EXPECT_EQ(Status().flags & NPU_USB_STATUS_IRQ_LINE, 0u);
	struct vboard_stats st;
	vboard_get_stats(vb_, &st);
	EXPECT_EQ(st.events, 1u);
	EXPECT_GT(st.npu_cycles, 0u);
}

// ---- the board's own behaviour ---------------------------------------------

TEST_F(VboardTest, IdleBoardSleeps)
{
	ASSERT_EQ(Info().magic, NPU_USB_INFO_MAGIC);
	double c0 = CpuS(), t0 = NowS();
	usleep(300 * 1000);
	double cpu = CpuS() - c0, wall = NowS() - t0;
	EXPECT_LT(cpu, 0.1 * wall)
	        << "an idle board burns the host: " << cpu << " s CPU in " << wall << " s";
}

TEST_F(VboardTest, UnplugMidTransferFailsItQuickly)
{
	std::vector<Xfer> xs(2);
	xs[0].buf.assign(NPU_USB_RSP_BYTES, 0); // no request: waits for a reply
	xs[1].buf.assign(NPU_USB_INTR_PACKET, 0);
	Submit(h_, &xs[0], NPU_USB_EP_BULK_IN, LIBUSB_TRANSFER_TYPE_BULK);
	Submit(h_, &xs[1], NPU_USB_EP_INTR_IN, LIBUSB_TRANSFER_TYPE_INTERRUPT);
	struct timeval tv = {0, 20000};
	libusb_handle_events_timeout(ctx_, &tv);
	EXPECT_FALSE(xs[0].done);

	double t0 = NowS();
	ASSERT_EQ(vboard_unplug(vb_), 0);
	ASSERT_TRUE(WaitAll(ctx_, xs, 2.0));
	EXPECT_LT(NowS() - t0, 1.0);
	EXPECT_EQ(xs[0].status, LIBUSB_TRANSFER_NO_DEVICE);
	EXPECT_EQ(xs[1].status, LIBUSB_TRANSFER_NO_DEVICE);
	FreeAll(xs);

	uint8_t b[NPU_USB_INFO_BYTES];
	EXPECT_EQ(libusb_control_transfer(h_, NPU_USB_RT_IN, NPU_USB_REQ_GET_INFO, 0, 0, b,
	                                  sizeof(b), kTimeoutMs),
	          LIBUSB_ERROR_NO_DEVICE);
	int done = 0;
	std::vector<uint8_t> q = Request(NPU_USB_OP_READ, 1, 4, kDramBase);
	EXPECT_EQ(libusb_bulk_transfer(h_, NPU_USB_EP_BULK_OUT, q.data(), (int)q.size(), &done,
	                               kTimeoutMs),
	          LIBUSB_ERROR_NO_DEVICE);
	EXPECT_EQ(vboard_unplug(vb_), -1) << "already unplugged";
}

TEST_F(VboardTest, UnplugAfterUrbs)
{
	ASSERT_EQ(Info().magic, NPU_USB_INFO_MAGIC);
	vboard_unplug_after_urbs(vb_, 2);
	ASSERT_EQ(Info().magic, NPU_USB_INFO_MAGIC); // URB 1
	uint8_t b[NPU_USB_INFO_BYTES];
	EXPECT_EQ(libusb_control_transfer(h_, NPU_USB_RT_IN, NPU_USB_REQ_GET_INFO, 0, 0, b,
	                                  sizeof(b), kTimeoutMs),
	          LIBUSB_ERROR_NO_DEVICE); // URB 2: the plug is pulled
	EXPECT_EQ(vboard_unplug(vb_), -1);
}

TEST_F(VboardTest, ReplugIsAFreshBoard)
{
	unsigned bus0, addr0, bus1, addr1;

	Write(kDramBase + 64, Pattern(64, 9), 1);
	ASSERT_EQ(RegWrite(NPU_REG_WIN_BASE_LO(2), 0xabcd000u), 0);
	vboard_address(vb_, &bus0, &addr0);
	ASSERT_EQ(vboard_unplug(vb_), 0);
	Close();
	ASSERT_EQ(vboard_plug(vb_), 0);
	EXPECT_EQ(vboard_plug(vb_), -1) << "already plugged";
	vboard_address(vb_, &bus1, &addr1);
	EXPECT_EQ(bus1, bus0);
	EXPECT_NE(addr1, addr0) << "a re-enumeration gives a new address";

	Open();
	ASSERT_NE(h_, nullptr);
	libusb_device *dev = libusb_get_device(h_);
	EXPECT_EQ(libusb_get_device_address(dev), addr1);
	EXPECT_EQ(Info().magic, NPU_USB_INFO_MAGIC);
	EXPECT_EQ(Read(kDramBase + 64, 64, 2), std::vector<uint8_t>(64, 0)) << "DRAM lost power";
	uint32_t v = 1;
	ASSERT_EQ(RegRead(NPU_REG_WIN_BASE_LO(2), &v), NPU_USB_ST_OK);
	EXPECT_EQ(v, 0u) << "the NPU booted afresh";
	EXPECT_EQ(Status().requests, 1u) << "the firmware booted afresh";
}

int OpenFds()
{
	int n = 0;
	for (int fd = 0; fd < 4096; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

// The count once it has not changed for 20 ms (umockdev closes a gone
// client's socket on its own thread, a moment after the client).
int StableFds()
{
	int prev = -1, n = OpenFds();
	for (int i = 0; i < 100 && n != prev; i++) {
		usleep(20000);
		prev = n;
		n = OpenFds();
	}
	return n;
}

// Plugging and unplugging leaves nothing open behind: a fault sweep
// re-plugs the board hundreds of times.
TEST_F(VboardTest, ReplugLeavesNoDescriptor)
{
	Close();
	ASSERT_EQ(vboard_unplug(vb_), 0);
	ASSERT_EQ(vboard_plug(vb_), 0);
	Open();
	ASSERT_EQ(Info().magic, NPU_USB_INFO_MAGIC);
	Close();
	const int fds0 = StableFds();
	for (int i = 0; i < 5; i++) {
		const int before = StableFds();
		ASSERT_EQ(vboard_unplug(vb_), 0);
		ASSERT_EQ(vboard_plug(vb_), 0);
		EXPECT_EQ(OpenFds(), before) << "settled when vboard_plug returns";
		Open();
		ASSERT_EQ(Info().magic, NPU_USB_INFO_MAGIC);
		Close();
	}
	EXPECT_EQ(StableFds(), fds0) << "descriptors left open by 5 re-plugs";
	Open();
}

// libusb's hotplug (udev) sees the board leave and come back while a
// context stays open across the re-plug.
int LIBUSB_CALL HotplugCb(libusb_context *, libusb_device *, libusb_hotplug_event event, void *user)
{
	std::vector<int> *seen = static_cast<std::vector<int> *>(user);
	seen->push_back(event);
	return 0;
}

TEST_F(VboardTest, HotplugSeesUnplugAndPlug)
{
	if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG))
		GTEST_SKIP() << "this libusb has no hotplug support";
	std::vector<int> seen;
	libusb_hotplug_callback_handle cb;
	ASSERT_EQ(libusb_hotplug_register_callback(
	                  ctx_,
	                  (libusb_hotplug_event)(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
	                                         LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
	                  LIBUSB_HOTPLUG_NO_FLAGS, NPU_USB_VID, NPU_USB_PID,
	                  LIBUSB_HOTPLUG_MATCH_ANY, HotplugCb, &seen, &cb),
	          0);
	libusb_close(h_);
	h_ = nullptr;
	ASSERT_EQ(vboard_unplug(vb_), 0);
	ASSERT_EQ(vboard_plug(vb_), 0);
	auto wait_for = [&](size_t n) {
		double end = NowS() + 5;
		while (seen.size() < n && NowS() < end) {
			struct timeval tv = {0, 20000};
			libusb_handle_events_timeout(ctx_, &tv);
		}
	};
	wait_for(2);
	ASSERT_EQ(seen.size(), 2u);
	EXPECT_EQ(seen[0], LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT);
	EXPECT_EQ(seen[1], LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED);
	h_ = libusb_open_device_with_vid_pid(ctx_, NPU_USB_VID, NPU_USB_PID);
	ASSERT_NE(h_, nullptr);
	ASSERT_EQ(libusb_claim_interface(h_, NPU_USB_INTERFACE), 0);
	EXPECT_EQ(Info().magic, NPU_USB_INFO_MAGIC);

	// The plug pulled by fault injection (inside an ioctl) is seen too.
	vboard_unplug_after_urbs(vb_, 1);
	uint8_t b[NPU_USB_INFO_BYTES];
	EXPECT_EQ(libusb_control_transfer(h_, NPU_USB_RT_IN, NPU_USB_REQ_GET_INFO, 0, 0, b,
	                                  sizeof(b), kTimeoutMs),
	          LIBUSB_ERROR_NO_DEVICE);
	wait_for(3);
	libusb_hotplug_deregister_callback(ctx_, cb);
	ASSERT_EQ(seen.size(), 3u);
	EXPECT_EQ(seen[2], LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT);
}

TEST_F(VboardTest, TwoBoardsOnTwoBuses)
{
	struct vboard_config cfg = {};
	struct vboard *vb2 = nullptr;
	unsigned bus1, addr1, bus2, addr2;

	cfg.dram_size = 2 * kDramSize;
	cfg.npu_config = "small";
	ASSERT_EQ(vboard_create(&cfg, &vb2), 0);
	vboard_address(vb_, &bus1, &addr1);
	vboard_address(vb2, &bus2, &addr2);
	EXPECT_NE(bus1, bus2);

	// The second arrived while libusb was running (hotplug): open it by
	// its address and tell it from the first by its DRAM.
	libusb_device_handle *h2 = nullptr;
	double end = NowS() + 5;
	while (!h2 && NowS() < end) {
		libusb_device **list;
		ssize_t n = libusb_get_device_list(ctx_, &list);
		for (ssize_t i = 0; i < n; i++) {
			if (libusb_get_bus_number(list[i]) == bus2 &&
			    libusb_get_device_address(list[i]) == addr2) {
				EXPECT_EQ(libusb_open(list[i], &h2), 0);
			}
		}
		libusb_free_device_list(list, 1);
		if (!h2) {
			struct timeval tv = {0, 20000};
			libusb_handle_events_timeout(ctx_, &tv);
		}
	}
	ASSERT_NE(h2, nullptr) << "the second board is not visible";
	ASSERT_EQ(libusb_claim_interface(h2, NPU_USB_INTERFACE), 0);
	EXPECT_EQ(InfoOf(h2).dram_size, 2 * kDramSize);
	EXPECT_EQ(Info().dram_size, kDramSize);
	libusb_release_interface(h2, NPU_USB_INTERFACE);
	libusb_close(h2);
	vboard_destroy(vb2);
	EXPECT_EQ(Info().magic, NPU_USB_INFO_MAGIC) << "the first board outlives the second";
}

// A board whose NPU memory answers slowly: a job keeps the board thread
// in NPU slices, so URBs wait there for a while.
class VboardSlowMemoryTest : public VboardTest
{
      protected:
	void Create() override
	{
		struct vboard_config cfg = {};
		cfg.dram_size = kDramSize;
		cfg.mem_latency = 200000;
		ASSERT_EQ(vboard_create(&cfg, &vb_), 0);
	}
};

TEST_F(VboardSlowMemoryTest, ControlRequestsWhileTheNpuRuns)
{
	// The NPU fetches its first descriptor (the ring is in a readable
	// window): 200000 cycles of latency.
	ASSERT_EQ(RegWrite(NPU_REG_WIN_BASE_LO(0), (uint32_t)kDramBase), 0);
	ASSERT_EQ(RegWrite(NPU_REG_WIN_SIZE(0), 1u << 20), 0);
	ASSERT_EQ(RegWrite(NPU_REG_WIN_CTRL(0), NPU_REG_WIN_CTRL_READ_MASK), 0);
	ASSERT_EQ(RegWrite(NPU_REG_RING_BASE_LO, (uint32_t)kDramBase), 0);
	ASSERT_EQ(RegWrite(NPU_REG_RING_SIZE, 4), 0);
	ASSERT_EQ(RegWrite(NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK), 0);
	ASSERT_EQ(RegWrite(NPU_REG_RING_TAIL, 1), 0);
	ASSERT_EQ(RegWrite(NPU_REG_DOORBELL, 1), 0);
	uint32_t st = 0;
	ASSERT_EQ(RegRead(NPU_REG_STATUS, &st), NPU_USB_ST_OK);
	EXPECT_NE(st & NPU_REG_STATUS_BUSY_MASK, 0u);
	// A control OUT with no data stage that completes after its submission
	// has been answered: its status must still reach the client (umockdev
	// writes back only what differs from the client's memory).
	EXPECT_EQ(libusb_control_transfer(h_, NPU_USB_RT_OUT, NPU_USB_REQ_RESET, 0, 0, nullptr, 0,
	                                  kTimeoutMs),
	          0);
	EXPECT_EQ(Status().last_error, NPU_USB_ST_OK);
	struct vboard_stats vs;
	vboard_get_stats(vb_, &vs);
	EXPECT_GT(vs.npu_cycles, 200000u) << "the fetch was waited for";
}

// ---- the recorder ------------------------------------------------------------

class VboardRecordTest : public VboardTest
{
      protected:
	void Create() override
	{
		char tmpl[] = "/tmp/vboard-trace-XXXXXX";
		int fd = mkstemp(tmpl);
		ASSERT_GE(fd, 0);
		close(fd);
		path_ = tmpl;
		setenv("NPU_VBOARD_RECORD", path_.c_str(), 1);
		VboardTest::Create();
		unsetenv("NPU_VBOARD_RECORD");
	}

	void TearDown() override
	{
		VboardTest::TearDown();
		unlink(path_.c_str());
	}

	std::string path_;
};

TEST_F(VboardRecordTest, WritesTheSessionAsATrace)
{
	std::vector<uint8_t> d = Pattern(40000, 4); // more than one bulk chunk
	ASSERT_EQ(Info().magic, NPU_USB_INFO_MAGIC);
	Write(kDramBase, d, 1);
	EXPECT_EQ(Read(kDramBase, 40000, 2), d);
	Close();
	vboard_destroy(vb_); // the trace is complete once the board is off
	vb_ = nullptr;

	FILE *f = fopen(path_.c_str(), "rb");
	ASSERT_NE(f, nullptr);
	std::vector<uint8_t> t;
	int ch;
	while ((ch = fgetc(f)) != EOF)
		t.push_back((uint8_t)ch);
	fclose(f);

	// Walk the records: well formed to the end, and what the session did.
	size_t off = 0;
	int controls = 0, polls = 0;
	std::vector<uint8_t> out; // bulk OUT bytes, transfers joined
	std::vector<std::vector<uint8_t>> transfers;
	uint64_t in_asked = 0;
	while (off < t.size()) {
		ASSERT_LE(off + FW_TRACE_HDR_BYTES, t.size()) << "truncated header at " << off;
		uint8_t kind = t[off];
		size_t n = npu_usb_get16(&t[off + 1]);
		ASSERT_LE(off + FW_TRACE_HDR_BYTES + n, t.size()) << "truncated record at " << off;
		const uint8_t *p = &t[off + FW_TRACE_HDR_BYTES];
		switch (kind) {
		case FW_TRACE_CONTROL:
			ASSERT_GE(n, 8u);
			if (p[1] == NPU_USB_REQ_GET_INFO)
				controls++;
			break;
		case FW_TRACE_BULK_MORE:
		case FW_TRACE_BULK_OUT:
			out.insert(out.end(), p, p + n);
			if (kind == FW_TRACE_BULK_OUT) {
				transfers.push_back(out);
				out.clear();
			}
			break;
		case FW_TRACE_BULK_IN:
			ASSERT_EQ(n, 2u);
			in_asked += npu_usb_get16(p);
			break;
		case FW_TRACE_POLL:
			ASSERT_EQ(n, 0u);
			polls++;
			break;
		case FW_TRACE_IRQ:
			ASSERT_EQ(n, 1u);
			break;
		case FW_TRACE_INTR_IN:
			ASSERT_EQ(n, 0u);
			break;
		default:
			FAIL() << "unknown record kind " << (int)kind << " at " << off;
		}
		off += FW_TRACE_HDR_BYTES + n;
	}
	EXPECT_EQ(controls, 1);
	EXPECT_GT(polls, 0);
	ASSERT_EQ(transfers.size(), 2u);
	EXPECT_EQ(transfers[0], Request(NPU_USB_OP_WRITE, 1, 40000, kDramBase, d.data(), d.size()));
	EXPECT_EQ(transfers[1], Request(NPU_USB_OP_READ, 2, 40000, kDramBase));
	EXPECT_GE(in_asked, 2 * NPU_USB_RSP_BYTES + 40000);
}

// ---- npu-vboard: the board under another process ---------------------------

// Run only under tools/npu-vboard (the parent's board), by VboardTool.
TEST(VboardChild, ReachesTheParentsBoard)
{
	if (!getenv("NPU_VBOARD_CHILD"))
		GTEST_SKIP() << "runs under npu-vboard only (VboardTool.ChildProcessReachesBoard)";
	libusb_context *ctx;
	ASSERT_EQ(libusb_init(&ctx), 0);
	libusb_device_handle *h = libusb_open_device_with_vid_pid(ctx, NPU_USB_VID, NPU_USB_PID);
	ASSERT_NE(h, nullptr);
	ASSERT_EQ(libusb_claim_interface(h, NPU_USB_INTERFACE), 0);
	struct npu_usb_info in = InfoOf(h);
	EXPECT_EQ(in.magic, NPU_USB_INFO_MAGIC);
	EXPECT_EQ(in.dram_size, 8ull << 20) << "the parent's --dram-mib 8";
	libusb_release_interface(h, NPU_USB_INTERFACE);
	libusb_close(h);
	libusb_exit(ctx);
}

TEST(VboardTool, ChildProcessReachesBoard)
{
	const char *build = getenv("NPU_BUILD");
	if (!build)
		GTEST_SKIP() << "NPU_BUILD not set (make usb-test sets it)";
	std::string tool = std::string(build) + "/bin/npu-vboard";
	std::string self = std::string(build) + "/bin/npu-usb-tests";
	if (access(tool.c_str(), X_OK) != 0)
		GTEST_SKIP() << tool << " not built";
	std::string cmd = "NPU_VBOARD_CHILD=1 " + tool + " --dram-mib 8 -- " + self +
	                  " --gtest_filter=VboardChild.* --gtest_brief=1 >/dev/null 2>&1";
	int st = system(cmd.c_str());
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0) << cmd;
	// The tool passes the command's exit status on.
	cmd = tool + " -- sh -c 'exit 7' >/dev/null 2>&1";
	st = system(cmd.c_str());
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 7);
}

} // namespace
