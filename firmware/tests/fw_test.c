/*
 * The firmware core's tests (firmware/fw.h) over the fake board
 * (fake_hal.h). Plain C, freestanding but for test_io.h: the same file
 * runs on the host (make fw-test-host) and on a Cortex-M3 under QEMU
 * (make fw-test). The exit status is the number of failed checks.
 *
 * Every exchange goes through the t_* helpers, which also record it as a
 * trace (firmware/fw_trace.h): with FW_TEST_TRACE_DIR set the host run
 * writes each case's session there, the fuzz target's seeds.
 */
#include <string.h>

#include "firmware/fw.h"
#include "firmware/fw_trace.h"
#include "firmware/tests/fake_hal.h"
#include "firmware/tests/test_io.h"

static struct fake F;
static struct fw FW;
static unsigned failures;
static const char *case_name;

/* ---- output without printf ---------------------------------------------- */

static void put_u(uint32_t v)
{
	char s[11];
	int i = 10;

	s[i] = 0;
	do {
		s[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	test_puts(s + i);
}

static void fail(int line, const char *expr)
{
	failures++;
	test_puts("FAIL ");
	test_puts(case_name);
	test_puts(": fw_test.c:");
	put_u((uint32_t)line);
	test_puts(": ");
	test_puts(expr);
	test_puts("\n");
}

#define CHECK(e)       ((e) ? (void)0 : fail(__LINE__, #e))
#define CHECK_EQ(a, b) ((uint64_t)(a) == (uint64_t)(b) ? (void)0 : fail(__LINE__, #a " == " #b))

/* ---- the session, recorded as a trace ----------------------------------- */

static uint8_t trace[16384];
static size_t trace_n;
static int trace_full; /* too big for a seed: not saved */

static void rec(uint8_t kind, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t n = an + bn;

	if (trace_full || n > 0xffff || trace_n + FW_TRACE_HDR_BYTES + n > sizeof(trace)) {
		trace_full = 1;
		return;
	}
	trace[trace_n] = kind;
	npu_usb_put16(trace + trace_n + 1, (uint16_t)n);
	trace_n += FW_TRACE_HDR_BYTES;
	if (an)
		memcpy(trace + trace_n, a, an);
	if (bn)
		memcpy(trace + trace_n + an, b, bn);
	trace_n += n;
}

static int t_control(uint8_t type, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
                     const uint8_t *out, uint8_t *in, size_t in_max)
{
	uint8_t setup[8] = {type, req};

	npu_usb_put16(setup + 2, value);
	npu_usb_put16(setup + 4, index);
	npu_usb_put16(setup + 6, length);
	rec(FW_TRACE_CONTROL, setup, 8, out, type == NPU_USB_RT_OUT && out ? length : 0);
	return fw_control(&FW, setup, out, in, in_max);
}

/* One piece of a bulk OUT transfer. */
static void t_out(const uint8_t *p, size_t n, int end)
{
	rec(end ? FW_TRACE_BULK_OUT : FW_TRACE_BULK_MORE, p, n, NULL, 0);
	fw_bulk_out(&FW, p, n, end);
}

static size_t t_in(uint8_t *buf, uint16_t max, int *end)
{
	uint8_t m[2];

	npu_usb_put16(m, max);
	rec(FW_TRACE_BULK_IN, m, 2, NULL, 0);
	return fw_bulk_in(&FW, buf, max, end);
}

static size_t t_intr(uint8_t *buf, size_t max)
{
	rec(FW_TRACE_INTR_IN, NULL, 0, NULL, 0);
	return fw_intr_in(&FW, buf, max);
}

static void t_irq(int level)
{
	uint8_t v = (uint8_t)level;

	rec(FW_TRACE_IRQ, &v, 1, NULL, 0);
	F.irq = level;
}

static void t_poll(void)
{
	rec(FW_TRACE_POLL, NULL, 0, NULL, 0);
	fw_poll(&FW);
}

/* A fault of the fake board switched (FAKE_CSR_FAIL, FAKE_DRAM_FAIL,
 * FAKE_RESET_FAIL), recorded so that the seed replays it. */
static void t_fake(uint8_t what, uint32_t v)
{
	uint8_t p[5] = {what};

	npu_usb_put32(p + 1, v);
	rec(FW_TRACE_FAKE, p, sizeof(p), NULL, 0);
	fake_apply(&F, p, sizeof(p));
}

/* A register of the block an event reads (IRQ_STATUS .. ERR_INDEX). */
static void t_fake_reg(uint32_t off, uint32_t v)
{
	uint8_t p[6] = {FAKE_SET_REG, (uint8_t)((off - NPU_REG_IRQ_STATUS) / 4)};

	npu_usb_put32(p + 2, v);
	rec(FW_TRACE_FAKE, p, sizeof(p), NULL, 0);
	fake_apply(&F, p, sizeof(p));
}

/* ---- requests and replies ----------------------------------------------- */

static uint8_t big[NPU_USB_REQ_BYTES + FW_MAX_XFER + 8];
static uint8_t rbuf[NPU_USB_RSP_BYTES + FW_MAX_XFER + 8];

static void put_req(uint8_t *p, uint8_t op, uint32_t seq, uint32_t len, uint64_t addr)
{
	struct npu_usb_req q = {
	        .magic = NPU_USB_REQ_MAGIC, .op = op, .seq = seq, .len = len, .addr = addr};

	npu_usb_req_put(p, &q);
}

/* A whole transfer: header, then data bytes (a WRITE's), in one piece. */
static void send(uint8_t op, uint32_t seq, uint32_t len, uint64_t addr, const uint8_t *data,
                 uint32_t data_n)
{
	put_req(big, op, seq, len, addr);
	if (data_n)
		memcpy(big + NPU_USB_REQ_BYTES, data, data_n);
	t_out(big, NPU_USB_REQ_BYTES + data_n, 1);
}

/* The next reply, read in pieces of at most chunk bytes into rbuf; the
 * header decoded into *rsp. Returns the bytes of the reply (0: none). */
static size_t recv_chunked(struct npu_usb_rsp *rsp, uint16_t chunk)
{
	size_t n = 0, k;
	int end = 0;

	memset(rsp, 0, sizeof(*rsp));
	while (!end && n < sizeof(rbuf)) {
		uint16_t want = (uint16_t)(sizeof(rbuf) - n < chunk ? sizeof(rbuf) - n : chunk);

		k = t_in(rbuf + n, want, &end);
		if (!k && !end)
			break;
		n += k;
	}
	if (n >= NPU_USB_RSP_BYTES)
		npu_usb_rsp_get(rbuf, rsp);
	return n;
}

static size_t recv(struct npu_usb_rsp *rsp)
{
	return recv_chunked(rsp, 0xffff);
}

/* An IN request with wValue and wIndex 0 answered with exactly n bytes
 * into b (else b is zeroed). */
static void ctl_in(uint8_t req, uint8_t *b, uint16_t n)
{
	if (t_control(NPU_USB_RT_IN, req, 0, 0, n, NULL, b, n) != n)
		memset(b, 0, n);
}

static struct npu_usb_status get_status(void)
{
	uint8_t b[NPU_USB_STATUS_BYTES];
	struct npu_usb_status st;

	ctl_in(NPU_USB_REQ_GET_STATUS, b, sizeof(b));
	npu_usb_status_get(b, &st);
	return st;
}

/* A reply's header fields, and that nothing else is queued after it. */
#define CHECK_RSP(rsp, op_, status_, seq_, len_)                                                   \
	do {                                                                                       \
		CHECK_EQ((rsp).magic, NPU_USB_RSP_MAGIC);                                          \
		CHECK_EQ((rsp).op, op_);                                                           \
		CHECK_EQ((rsp).status, status_);                                                   \
		CHECK_EQ((rsp).seq, seq_);                                                         \
		CHECK_EQ((rsp).len, len_);                                                         \
		CHECK_EQ((rsp).rsvd, 0);                                                           \
	} while (0)

static void pattern(uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131u + seed) ^ (i >> 8));
}

/* ---- the cases ----------------------------------------------------------- */

static void test_handshake(void)
{
	uint8_t b[128];
	struct npu_usb_info in;

	CHECK_EQ(t_control(NPU_USB_RT_IN, NPU_USB_REQ_GET_INFO, 0, 0, NPU_USB_INFO_BYTES, NULL, b,
	                   sizeof(b)),
	         NPU_USB_INFO_BYTES);
	npu_usb_info_get(b, &in);
	CHECK_EQ(in.magic, NPU_USB_INFO_MAGIC);
	CHECK_EQ(in.proto_major, NPU_USB_PROTO_MAJOR);
	CHECK_EQ(in.proto_minor, NPU_USB_PROTO_MINOR);
	CHECK_EQ(in.board_id, FAKE_BOARD_ID);
	CHECK_EQ(in.fw_version, FW_VERSION);
	CHECK_EQ(in.max_xfer, FW_MAX_XFER);
	CHECK_EQ(in.npu_status, NPU_USB_ST_OK);
	CHECK_EQ(in.dram_base, FAKE_DRAM_BASE);
	CHECK_EQ(in.dram_size, FAKE_DRAM_SIZE);
	CHECK_EQ(in.npu_id, NPU_HW_ID_MAGIC);
	CHECK_EQ(in.npu_version, F.regs[NPU_REG_VERSION / 4]);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(in.caps[i], F.regs[NPU_REG_CAPS0 / 4 + i]);
	CHECK_EQ(in.caps_engines, F.regs[NPU_REG_CAPS_ENGINES / 4]);
	CHECK_EQ(in.rsvd, 0);
	/* A host of a later minor version asks for more: this version's 72. */
	CHECK_EQ(t_control(NPU_USB_RT_IN, NPU_USB_REQ_GET_INFO, 0, 0, 100, NULL, b, sizeof(b)),
	         NPU_USB_INFO_BYTES);
	/* The check wrote nothing to the NPU. */
	CHECK_EQ(F.csr_writes, 0);
	CHECK_EQ(get_status().last_error, 0);
}

/* A request that must STALL with BAD_REQUEST naming bRequest. */
static void stall_case(int line, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                       uint16_t length, size_t in_max)
{
	static const uint8_t out[128];
	uint8_t b[128];
	struct npu_usb_status st;

	if (t_control(type, req, value, index, length, out, b, in_max) != FW_STALL)
		fail(line, "STALL expected");
	st = get_status();
	if (st.last_error != NPU_USB_ST_BAD_REQUEST || st.last_error_seq != req)
		fail(line, "last_error BAD_REQUEST with bRequest expected");
}

static void test_control_bad(void)
{
	const uint8_t IN = NPU_USB_RT_IN, OUT = NPU_USB_RT_OUT;

	stall_case(__LINE__, IN, 0x77, 0, 0, 8, 128);                     /* unknown */
	stall_case(__LINE__, IN, 0x00, 0, 0, 8, 128);                     /* unknown */
	stall_case(__LINE__, 0x80, NPU_USB_REQ_GET_INFO, 0, 0, 72, 128);  /* standard */
	stall_case(__LINE__, 0xc1, NPU_USB_REQ_GET_INFO, 0, 0, 72, 128);  /* interface */
	stall_case(__LINE__, OUT, NPU_USB_REQ_GET_INFO, 0, 0, 72, 128);   /* direction */
	stall_case(__LINE__, IN, NPU_USB_REQ_GET_INFO, 0, 0, 71, 128);    /* wLength */
	stall_case(__LINE__, IN, NPU_USB_REQ_GET_INFO, 1, 0, 72, 128);    /* wValue */
	stall_case(__LINE__, IN, NPU_USB_REQ_GET_INFO, 0, 1, 72, 128);    /* wIndex */
	stall_case(__LINE__, IN, NPU_USB_REQ_GET_INFO, 0, 0, 72, 71);     /* board buffer */
	stall_case(__LINE__, IN, NPU_USB_REQ_REG_READ, 0, 0, 4, 128);     /* wLength */
	stall_case(__LINE__, OUT, NPU_USB_REQ_REG_READ, 0, 0, 8, 128);    /* direction */
	stall_case(__LINE__, IN, NPU_USB_REQ_REG_READ, 0, 0, 8, 7);       /* board buffer */
	stall_case(__LINE__, IN, NPU_USB_REQ_REG_WRITE, 0, 0, 4, 128);    /* direction */
	stall_case(__LINE__, OUT, NPU_USB_REQ_REG_WRITE, 0, 0, 8, 128);   /* wLength */
	stall_case(__LINE__, OUT, NPU_USB_REQ_REG_WRITE, 5, 0, 4, 128);   /* wValue */
	stall_case(__LINE__, IN, NPU_USB_REQ_GET_STATUS, 0, 0, 23, 128);  /* wLength */
	stall_case(__LINE__, OUT, NPU_USB_REQ_GET_STATUS, 0, 0, 24, 128); /* direction */
	stall_case(__LINE__, OUT, NPU_USB_REQ_RESET, 0, 0, 4, 128);       /* wLength */
	stall_case(__LINE__, IN, NPU_USB_REQ_RESET, 0, 0, 0, 128);        /* direction */
	stall_case(__LINE__, OUT, NPU_USB_REQ_RESET, 0, 3, 0, 128);       /* wIndex */
	/* OUT data missing from the USB driver. */
	CHECK_EQ(t_control(OUT, NPU_USB_REQ_REG_WRITE, 0, 0, 4, NULL, NULL, 0), FW_STALL);
	CHECK_EQ(F.resets, 0);
	CHECK_EQ(F.csr_writes, 0);
}

static uint32_t reg_read(uint16_t off, uint32_t *status)
{
	uint8_t b[8];

	CHECK_EQ(t_control(NPU_USB_RT_IN, NPU_USB_REQ_REG_READ, 0, off, 8, NULL, b, sizeof(b)), 8);
	*status = npu_usb_get32(b);
	return npu_usb_get32(b + 4);
}

static int reg_write(uint16_t off, uint32_t v)
{
	uint8_t b[4];

	npu_usb_put32(b, v);
	return t_control(NPU_USB_RT_OUT, NPU_USB_REQ_REG_WRITE, 0, off, 4, b, NULL, 0);
}

static void test_registers(void)
{
	uint32_t status, v;
	struct npu_usb_status st;

	t_fake_reg(NPU_REG_ERR_INDEX, 0xdeadbeefu);
	CHECK_EQ(reg_read(NPU_REG_ID, &status), NPU_HW_ID_MAGIC);
	CHECK_EQ(status, NPU_USB_ST_OK);
	CHECK_EQ(reg_read(NPU_REG_ERR_INDEX, &status), 0xdeadbeefu);
	CHECK_EQ(reg_read(NPU_HW_CSR_BYTES - 4, &status), 0);
	CHECK_EQ(status, NPU_USB_ST_OK);

	/* Bad offsets: answered with BAD_REG and value 0, never a bus access. */
	v = F.csr_reads;
	CHECK_EQ(reg_read(2, &status), 0);
	CHECK_EQ(status, NPU_USB_ST_BAD_REG);
	CHECK_EQ(reg_read(NPU_HW_CSR_BYTES, &status), 0);
	CHECK_EQ(status, NPU_USB_ST_BAD_REG);
	CHECK_EQ(reg_read(0xfffc, &status), 0);
	CHECK_EQ(status, NPU_USB_ST_BAD_REG);
	CHECK_EQ(F.csr_reads, v);
	st = get_status();
	CHECK_EQ(st.last_error, NPU_USB_ST_BAD_REG);
	CHECK_EQ(st.last_error_seq, NPU_USB_REQ_REG_READ);

	/* A bus error. */
	t_fake(FAKE_CSR_FAIL, NPU_REG_ERR_CODE);
	CHECK_EQ(reg_read(NPU_REG_ERR_CODE, &status), 0);
	CHECK_EQ(status, NPU_USB_ST_BUS_ERROR);
	CHECK_EQ(get_status().last_error, NPU_USB_ST_BUS_ERROR);

	/* Writes. */
	CHECK_EQ(reg_write(NPU_REG_IRQ_MASK, 0x3), 0);
	CHECK_EQ(F.regs[NPU_REG_IRQ_MASK / 4], 0x3);
	CHECK_EQ(reg_write(NPU_HW_CSR_BYTES - 4, 0x12345678u), 0);
	CHECK_EQ(F.regs[NPU_HW_CSR_BYTES / 4 - 1], 0x12345678u);
	v = F.csr_writes;
	CHECK_EQ(reg_write(NPU_REG_IRQ_MASK + 1, 0x1), FW_STALL);
	CHECK_EQ(reg_write(NPU_HW_CSR_BYTES, 0x1), FW_STALL);
	CHECK_EQ(F.csr_writes, v);
	st = get_status();
	CHECK_EQ(st.last_error, NPU_USB_ST_BAD_REG);
	CHECK_EQ(st.last_error_seq, NPU_USB_REQ_REG_WRITE);
	CHECK_EQ(reg_write(NPU_REG_ERR_CODE, 0x1), FW_STALL);
	CHECK_EQ(get_status().last_error, NPU_USB_ST_BUS_ERROR);
	/* Register requests are not bulk requests. */
	CHECK_EQ(get_status().requests, 0);
}

static uint8_t data[FW_MAX_XFER];

static void test_dram_roundtrip(void)
{
	struct npu_usb_rsp rsp;
	struct npu_usb_status st;
	const uint64_t end = FAKE_DRAM_BASE + FAKE_DRAM_SIZE;

	pattern(data, 100, 1);
	send(NPU_USB_OP_WRITE, 11, 100, FAKE_DRAM_BASE + 5, data, 100);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_OK, 11, 0);
	CHECK(!memcmp(fake_dram(&F, FAKE_DRAM_BASE + 5), data, 100));
	CHECK_EQ(*fake_dram(&F, FAKE_DRAM_BASE + 4), 0);
	CHECK_EQ(*fake_dram(&F, FAKE_DRAM_BASE + 105), 0);

	send(NPU_USB_OP_READ, 12, 100, FAKE_DRAM_BASE + 5, NULL, 0);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES + 100);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 12, 100);
	CHECK(!memcmp(rbuf + NPU_USB_RSP_BYTES, data, 100));

	/* max_xfer, ending at DRAM's last byte. */
	pattern(data, FW_MAX_XFER, 7);
	send(NPU_USB_OP_WRITE, 13, FW_MAX_XFER, end - FW_MAX_XFER, data, FW_MAX_XFER);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_OK, 13, 0);
	CHECK(!memcmp(fake_dram(&F, end - FW_MAX_XFER), data, FW_MAX_XFER));
	send(NPU_USB_OP_READ, 14, FW_MAX_XFER, end - FW_MAX_XFER, NULL, 0);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES + FW_MAX_XFER);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 14, FW_MAX_XFER);
	CHECK(!memcmp(rbuf + NPU_USB_RSP_BYTES, data, FW_MAX_XFER));

	/* One byte, DRAM's first and last. */
	send(NPU_USB_OP_WRITE, 15, 1, FAKE_DRAM_BASE, (const uint8_t *)"\x5a", 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_OK, 15, 0);
	CHECK_EQ(*fake_dram(&F, FAKE_DRAM_BASE), 0x5a);
	send(NPU_USB_OP_READ, 16, 1, end - 1, NULL, 0);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES + 1);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 16, 1);
	CHECK_EQ(rbuf[NPU_USB_RSP_BYTES], data[FW_MAX_XFER - 1]);

	/* The reply, read 7 bytes at a time: *end only on its last byte. */
	send(NPU_USB_OP_READ, 17, 100, FAKE_DRAM_BASE + 5, NULL, 0);
	CHECK_EQ(recv_chunked(&rsp, 7), NPU_USB_RSP_BYTES + 100);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 17, 100);
	pattern(data, 100, 1);
	CHECK(!memcmp(rbuf + NPU_USB_RSP_BYTES, data, 100));

	st = get_status();
	CHECK_EQ(st.requests, 7);
	CHECK_EQ(st.errors, 0);
	CHECK_EQ(st.last_error, 0);
	CHECK_EQ(recv(&rsp), 0);
}

/* One malformed request: its error reply, nothing written, and the next
 * good request still works. */
static void bad_case(int line, const uint8_t *hdr, size_t n, uint16_t status, uint8_t op,
                     uint32_t seq)
{
	struct npu_usb_rsp rsp;
	uint32_t writes = F.dram_writes, errors = get_status().errors;

	t_out(hdr, n, 1);
	if (recv(&rsp) != NPU_USB_RSP_BYTES || rsp.magic != NPU_USB_RSP_MAGIC ||
	    rsp.status != status || rsp.op != op || rsp.seq != seq || rsp.len != 0)
		fail(line, "error reply expected");
	if (F.dram_writes != writes)
		fail(line, "DRAM written");
	if (get_status().errors != errors + 1 || get_status().last_error != status)
		fail(line, "errors/last_error not counted");
	send(NPU_USB_OP_READ, 99, 4, FAKE_DRAM_BASE, NULL, 0);
	if (recv(&rsp) != NPU_USB_RSP_BYTES + 4 || rsp.status != NPU_USB_ST_OK || rsp.seq != 99)
		fail(line, "the next request failed");
}

static void bad_hdr(int line, uint32_t magic, uint8_t op, uint8_t flags, uint16_t rsvd,
                    uint32_t len, uint64_t addr, uint16_t status)
{
	uint8_t h[NPU_USB_REQ_BYTES + 64];
	struct npu_usb_req q = {magic, op, flags, rsvd, 0x1234, len, addr};

	npu_usb_req_put(h, &q);
	memset(h + NPU_USB_REQ_BYTES, 0xee, 64);
	/* A WRITE's data follows in the same transfer: discarded. */
	bad_case(line, h, NPU_USB_REQ_BYTES + (op == NPU_USB_OP_WRITE ? 64 : 0), status,
	         status == NPU_USB_ST_BAD_MAGIC ? 0 : op,
	         status == NPU_USB_ST_BAD_MAGIC ? 0 : 0x1234);
}

static void test_malformed(void)
{
	const uint32_t M = NPU_USB_REQ_MAGIC;
	const uint8_t W = NPU_USB_OP_WRITE, R = NPU_USB_OP_READ;
	const uint64_t B = FAKE_DRAM_BASE, S = FAKE_DRAM_SIZE;

	bad_hdr(__LINE__, M ^ 1, W, 0, 0, 64, B, NPU_USB_ST_BAD_MAGIC);
	bad_hdr(__LINE__, NPU_USB_RSP_MAGIC, R, 0, 0, 64, B, NPU_USB_ST_BAD_MAGIC);
	bad_hdr(__LINE__, M, 0, 0, 0, 64, B, NPU_USB_ST_BAD_OP);
	bad_hdr(__LINE__, M, 3, 0, 0, 64, B, NPU_USB_ST_BAD_OP);
	bad_hdr(__LINE__, M, 0xff, 0, 0, 64, B, NPU_USB_ST_BAD_OP);
	bad_hdr(__LINE__, M, W, 1, 0, 64, B, NPU_USB_ST_BAD_OP);
	bad_hdr(__LINE__, M, R, 0x80, 0, 64, B, NPU_USB_ST_BAD_OP);
	bad_hdr(__LINE__, M, W, 0, 1, 64, B, NPU_USB_ST_BAD_OP);
	bad_hdr(__LINE__, M, R, 0, 0x8000, 64, B, NPU_USB_ST_BAD_OP);
	bad_hdr(__LINE__, M, W, 0, 0, 0, B, NPU_USB_ST_BAD_LEN);
	bad_hdr(__LINE__, M, R, 0, 0, 0, B, NPU_USB_ST_BAD_LEN);
	bad_hdr(__LINE__, M, W, 0, 0, FW_MAX_XFER + 1, B, NPU_USB_ST_BAD_LEN);
	bad_hdr(__LINE__, M, R, 0, 0, 0xffffffffu, B, NPU_USB_ST_BAD_LEN);
	bad_hdr(__LINE__, M, W, 0, 0, 64, B - 1, NPU_USB_ST_BAD_ADDR);
	bad_hdr(__LINE__, M, W, 0, 0, 64, 0, NPU_USB_ST_BAD_ADDR);
	bad_hdr(__LINE__, M, W, 0, 0, 64, B + S, NPU_USB_ST_BAD_ADDR);
	bad_hdr(__LINE__, M, W, 0, 0, 64, B + S - 63, NPU_USB_ST_BAD_ADDR);
	bad_hdr(__LINE__, M, R, 0, 0, 1, B + S, NPU_USB_ST_BAD_ADDR);
	bad_hdr(__LINE__, M, R, 0, 0, 2, B + S - 1, NPU_USB_ST_BAD_ADDR);
	/* addr + len wraps past 2^64: must not look small. */
	bad_hdr(__LINE__, M, W, 0, 0, 64, 0xffffffffffffffe0ull, NPU_USB_ST_BAD_ADDR);
	bad_hdr(__LINE__, M, R, 0, 0, FW_MAX_XFER, 0xffffffffffffffffull, NPU_USB_ST_BAD_ADDR);
	bad_hdr(__LINE__, M, R, 0, 0, 0x10, B + 0xfffffffffffffff8ull, NPU_USB_ST_BAD_ADDR);
	/* The checks' order: magic before op before len before addr. */
	bad_hdr(__LINE__, M ^ 1, 9, 1, 1, 0, 0, NPU_USB_ST_BAD_MAGIC);
	bad_hdr(__LINE__, M, 9, 0, 0, 0, 0, NPU_USB_ST_BAD_OP);
	bad_hdr(__LINE__, M, W, 0, 0, 0, 0, NPU_USB_ST_BAD_LEN);
	CHECK_EQ(get_status().errors, 25);
	CHECK_EQ(get_status().requests, 50);
}

static void test_short_overflow(void)
{
	uint8_t b[NPU_USB_REQ_BYTES + 40];
	struct npu_usb_rsp rsp;

	pattern(data, 40, 3);
	/* A WRITE whose transfer ends after 10 of its 20 data bytes: SHORT
	 * (the 10 are written). */
	put_req(b, NPU_USB_OP_WRITE, 21, 20, FAKE_DRAM_BASE + 64);
	memcpy(b + NPU_USB_REQ_BYTES, data, 10);
	t_out(b, NPU_USB_REQ_BYTES + 10, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_SHORT, 21, 0);
	CHECK(!memcmp(fake_dram(&F, FAKE_DRAM_BASE + 64), data, 10));
	CHECK_EQ(*fake_dram(&F, FAKE_DRAM_BASE + 74), 0);
	/* Only a header: SHORT too. */
	t_out(b, NPU_USB_REQ_BYTES, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_SHORT, 21, 0);
	/* A header cut short: nothing of it is trusted. */
	put_req(b, NPU_USB_OP_READ, 22, 4, FAKE_DRAM_BASE);
	t_out(b, 23, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, 0, NPU_USB_ST_SHORT, 0, 0);
	t_out(b, 1, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, 0, NPU_USB_ST_SHORT, 0, 0);
	CHECK_EQ(get_status().last_error, NPU_USB_ST_SHORT);

	/* A READ with one byte more: OVERFLOW, and no data. */
	put_req(b, NPU_USB_OP_READ, 23, 4, FAKE_DRAM_BASE);
	t_out(b, NPU_USB_REQ_BYTES + 1, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OVERFLOW, 23, 0);
	/* A WRITE with 20 more bytes: OVERFLOW, its data written, not more. */
	put_req(b, NPU_USB_OP_WRITE, 24, 20, FAKE_DRAM_BASE + 128);
	memcpy(b + NPU_USB_REQ_BYTES, data, 40);
	t_out(b, NPU_USB_REQ_BYTES + 40, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_OVERFLOW, 24, 0);
	CHECK(!memcmp(fake_dram(&F, FAKE_DRAM_BASE + 128), data, 20));
	CHECK_EQ(*fake_dram(&F, FAKE_DRAM_BASE + 148), 0);
	/* The extra byte in a piece of its own: the same. */
	put_req(b, NPU_USB_OP_READ, 25, 4, FAKE_DRAM_BASE);
	t_out(b, NPU_USB_REQ_BYTES, 0);
	CHECK_EQ(recv(&rsp), 0); /* not answered before the transfer ends */
	t_out(b, 1, 0);
	t_out(b, 5, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OVERFLOW, 25, 0);
	CHECK_EQ(recv(&rsp), 0);
	/* A zero-length transfer is no request. */
	t_out(NULL, 0, 1);
	t_out(b, 0, 1);
	CHECK_EQ(recv(&rsp), 0);
	CHECK_EQ(get_status().requests, 7);
	CHECK_EQ(get_status().errors, 7);
}

/* Data past 512 bytes: offsets of both parities in every range. */
#define BYTEWISE_LEN 700

static void test_bytewise(void)
{
	uint8_t b[NPU_USB_REQ_BYTES + BYTEWISE_LEN];
	struct npu_usb_rsp rsp;
	size_t i, n;
	int end;

	pattern(data, BYTEWISE_LEN, 5);
	put_req(b, NPU_USB_OP_WRITE, 31, BYTEWISE_LEN, FAKE_DRAM_BASE + 1000);
	memcpy(b + NPU_USB_REQ_BYTES, data, BYTEWISE_LEN);
	for (i = 0; i < sizeof(b); i++) {
		t_out(b + i, 1, i + 1 == sizeof(b));
		if (i + 1 < sizeof(b))
			CHECK_EQ(fw_bulk_out_expect(&FW), i + 1 < NPU_USB_REQ_BYTES
			                                          ? NPU_USB_REQ_BYTES - i - 1
			                                          : sizeof(b) - i - 1);
	}
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_OK, 31, 0);
	CHECK(!memcmp(fake_dram(&F, FAKE_DRAM_BASE + 1000), data, BYTEWISE_LEN));
	CHECK_EQ(F.dram_writes, BYTEWISE_LEN); /* written as it came, one byte a call */

	/* A READ byte by byte, its transfer ended by an empty piece; the
	 * reply read one byte at a time. */
	put_req(b, NPU_USB_OP_READ, 32, BYTEWISE_LEN, FAKE_DRAM_BASE + 1000);
	for (i = 0; i < NPU_USB_REQ_BYTES; i++)
		t_out(b + i, 1, 0);
	CHECK_EQ(fw_bulk_out_expect(&FW), 0);
	t_out(b, 0, 1);
	n = 0;
	end = 0;
	while (!end && n < sizeof(rbuf)) {
		if (t_in(rbuf + n, 1, &end) != 1)
			break;
		n++;
		if (!end)
			CHECK(n < NPU_USB_RSP_BYTES + BYTEWISE_LEN);
	}
	CHECK_EQ(n, NPU_USB_RSP_BYTES + BYTEWISE_LEN);
	npu_usb_rsp_get(rbuf, &rsp);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 32, BYTEWISE_LEN);
	CHECK(!memcmp(rbuf + NPU_USB_RSP_BYTES, data, BYTEWISE_LEN));

	/* A bad magic by bytes: the error once the header is whole; expect
	 * says the rest is discarded. */
	put_req(b, NPU_USB_OP_READ, 33, 4, FAKE_DRAM_BASE);
	b[3] ^= 0x40;
	for (i = 0; i < NPU_USB_REQ_BYTES; i++)
		t_out(b + i, 1, 0);
	CHECK_EQ(fw_bulk_out_expect(&FW), FW_EXPECT_UNKNOWN);
	t_out(b, 10, 0);
	t_out(b, 10, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, 0, NPU_USB_ST_BAD_MAGIC, 0, 0);
	CHECK_EQ(recv(&rsp), 0);
	CHECK_EQ(fw_bulk_out_expect(&FW), NPU_USB_REQ_BYTES);
}

/* As a USB controller delivers them: 512-byte packets, the transfer's end
 * found as the board's main loop finds it (a short packet, or the core
 * saying the request is complete), the reply read a packet at a time. */
static void test_packets(void)
{
	const uint32_t len = 3000, total = NPU_USB_REQ_BYTES + 3000;
	uint8_t b[NPU_USB_REQ_BYTES + 3000];
	struct npu_usb_rsp rsp;
	uint32_t off = 0, n;
	size_t k, got = 0;
	int end = 0, ends = 0;

	pattern(data, len, 13);
	put_req(b, NPU_USB_OP_WRITE, 71, len, FAKE_DRAM_BASE + 777);
	memcpy(b + NPU_USB_REQ_BYTES, data, len);
	while (off < total) {
		n = total - off < NPU_USB_BULK_PACKET ? total - off : NPU_USB_BULK_PACKET;
		t_out(b + off, n, 0);
		off += n;
		if (n < NPU_USB_BULK_PACKET || fw_bulk_out_expect(&FW) == 0) {
			t_out(NULL, 0, 1);
			ends++;
		}
	}
	CHECK_EQ(ends, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_OK, 71, 0);
	CHECK(!memcmp(fake_dram(&F, FAKE_DRAM_BASE + 777), data, len));
	CHECK_EQ(*fake_dram(&F, FAKE_DRAM_BASE + 776), 0);
	CHECK_EQ(*fake_dram(&F, FAKE_DRAM_BASE + 777 + len), 0);

	/* 488 data bytes end the request on a packet boundary: no short
	 * packet, the core's count ends it. */
	put_req(b, NPU_USB_OP_WRITE, 72, NPU_USB_BULK_PACKET - NPU_USB_REQ_BYTES, FAKE_DRAM_BASE);
	t_out(b, NPU_USB_BULK_PACKET, 0);
	CHECK_EQ(fw_bulk_out_expect(&FW), 0);
	t_out(NULL, 0, 1);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_OK, 72, 0);

	send(NPU_USB_OP_READ, 73, len, FAKE_DRAM_BASE + 777, NULL, 0);
	while (!end && got < sizeof(rbuf)) {
		k = t_in(rbuf + got, NPU_USB_BULK_PACKET, &end);
		CHECK(k == NPU_USB_BULK_PACKET || end);
		if (!k)
			break;
		got += k;
	}
	CHECK_EQ(got, NPU_USB_RSP_BYTES + len);
	npu_usb_rsp_get(rbuf, &rsp);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 73, len);
	CHECK(!memcmp(rbuf + NPU_USB_RSP_BYTES, data, len));
}

static void test_backpressure(void)
{
	struct npu_usb_rsp rsp;
	struct npu_usb_status st;
	uint32_t i;

	for (i = 0; i < NPU_USB_MAX_INFLIGHT; i++) {
		CHECK(fw_bulk_out_ready(&FW));
		send(NPU_USB_OP_READ, 100 + i, 8, FAKE_DRAM_BASE + 8 * i, NULL, 0);
	}
	CHECK(!fw_bulk_out_ready(&FW));
	/* A USB driver that sends anyway: the transfer is dropped whole. */
	pattern(data, 16, 9);
	send(NPU_USB_OP_WRITE, 999, 16, FAKE_DRAM_BASE, data, 16);
	CHECK_EQ(F.dram_writes, 0);
	st = get_status();
	CHECK_EQ(st.last_error, NPU_USB_ST_OVERFLOW);
	CHECK_EQ(st.requests, NPU_USB_MAX_INFLIGHT);
	/* Replies in request order; reading one frees a slot. */
	for (i = 0; i < NPU_USB_MAX_INFLIGHT; i++) {
		CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES + 8);
		CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 100 + i, 8);
		CHECK(fw_bulk_out_ready(&FW));
	}
	CHECK_EQ(recv(&rsp), 0);
	/* Full again, then one reply read: exactly one more fits. */
	for (i = 0; i < NPU_USB_MAX_INFLIGHT; i++)
		send(NPU_USB_OP_READ, 200 + i, 1, FAKE_DRAM_BASE, NULL, 0);
	CHECK(!fw_bulk_out_ready(&FW));
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES + 1);
	CHECK(fw_bulk_out_ready(&FW));
	send(NPU_USB_OP_READ, 300, 1, FAKE_DRAM_BASE, NULL, 0);
	CHECK(!fw_bulk_out_ready(&FW));
	for (i = 1; i <= NPU_USB_MAX_INFLIGHT; i++) {
		recv(&rsp);
		CHECK_EQ(rsp.seq, i < NPU_USB_MAX_INFLIGHT ? 200 + i : 300);
	}
}

static void test_bus_errors(void)
{
	struct npu_usb_rsp rsp;
	uint8_t b[NPU_USB_REQ_BYTES + 64];
	int end;

	/* A WRITE whose second data piece fails: BUS_ERROR at once, the rest
	 * of the transfer discarded. */
	pattern(data, 64, 11);
	put_req(b, NPU_USB_OP_WRITE, 41, 64, FAKE_DRAM_BASE);
	memcpy(b + NPU_USB_REQ_BYTES, data, 64);
	t_fake(FAKE_DRAM_FAIL, 1);
	t_out(b, NPU_USB_REQ_BYTES + 16, 0);
	t_out(b + NPU_USB_REQ_BYTES + 16, 16, 0);
	CHECK_EQ(F.dram_writes, 2);
	t_out(b + NPU_USB_REQ_BYTES + 32, 32, 1);
	CHECK_EQ(F.dram_writes, 2);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_WRITE, NPU_USB_ST_BUS_ERROR, 41, 0);
	CHECK_EQ(recv(&rsp), 0);
	CHECK_EQ(get_status().last_error, NPU_USB_ST_BUS_ERROR);
	CHECK_EQ(get_status().last_error_seq, 41);

	/* A READ whose data cannot be read: an error header, no data. */
	t_fake(FAKE_DRAM_FAIL, 0);
	send(NPU_USB_OP_READ, 42, 64, FAKE_DRAM_BASE, NULL, 0);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_BUS_ERROR, 42, 0);
	/* ... failing after OK went out: the transfer ends short, with a
	 * zero-length packet when nothing is left to send. */
	t_fake(FAKE_DRAM_FAIL, 1);
	send(NPU_USB_OP_READ, 43, 64, FAKE_DRAM_BASE, NULL, 0);
	CHECK_EQ(t_in(rbuf, NPU_USB_RSP_BYTES + 32, &end), NPU_USB_RSP_BYTES + 32);
	CHECK(!end);
	CHECK_EQ(t_in(rbuf, 64, &end), 0);
	CHECK(end);
	CHECK_EQ(get_status().last_error_seq, 43);
	t_fake(FAKE_DRAM_FAIL, FAKE_NO_FAIL);
	send(NPU_USB_OP_READ, 44, 4, FAKE_DRAM_BASE, NULL, 0);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES + 4);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 44, 4);
	CHECK_EQ(get_status().errors, 3);
}

static void set_fault(uint32_t irq_status, uint32_t code, uint64_t addr, uint32_t index)
{
	t_fake_reg(NPU_REG_IRQ_STATUS, irq_status);
	t_fake_reg(NPU_REG_ERR_CODE, code);
	t_fake_reg(NPU_REG_ERR_ADDR_LO, (uint32_t)addr);
	t_fake_reg(NPU_REG_ERR_ADDR_HI, (uint32_t)(addr >> 32));
	t_fake_reg(NPU_REG_ERR_INDEX, index);
}

static void test_events(void)
{
	uint8_t b[64];
	struct npu_usb_event e;
	uint32_t i, writes = F.csr_writes;

	t_poll();
	CHECK_EQ(t_intr(b, sizeof(b)), 0);
	set_fault(NPU_REG_IRQ_STATUS_ERROR_MASK, 5, 0x123456789aull, 7);
	t_irq(1);
	t_poll();
	t_poll(); /* still high: no second event */
	CHECK_EQ(t_intr(b, NPU_USB_EVENT_BYTES - 1), 0);
	CHECK_EQ(t_intr(b, sizeof(b)), NPU_USB_EVENT_BYTES);
	npu_usb_event_get(b, &e);
	CHECK_EQ(e.magic, NPU_USB_EVENT_MAGIC);
	CHECK_EQ(e.seq, 0);
	CHECK_EQ(e.irq_status, NPU_REG_IRQ_STATUS_ERROR_MASK);
	CHECK_EQ(e.err_code, 5);
	CHECK_EQ(e.err_addr, 0x123456789aull);
	CHECK_EQ(e.err_index, 7);
	CHECK_EQ(e.dropped, 0);
	CHECK_EQ(t_intr(b, sizeof(b)), 0);
	CHECK(get_status().flags & NPU_USB_STATUS_IRQ_LINE);
	/* The host acknowledges, not the board. */
	CHECK_EQ(F.csr_writes, writes);

	/* Low, then high again: the next event. */
	t_irq(0);
	t_poll();
	CHECK_EQ(get_status().flags & NPU_USB_STATUS_IRQ_LINE, 0);
	set_fault(NPU_REG_IRQ_STATUS_DONE_MASK, 0, 0, 0);
	t_irq(1);
	t_poll();
	CHECK_EQ(t_intr(b, sizeof(b)), NPU_USB_EVENT_BYTES);
	npu_usb_event_get(b, &e);
	CHECK_EQ(e.seq, 1);
	CHECK_EQ(e.irq_status, NPU_REG_IRQ_STATUS_DONE_MASK);

	/* Ten edges, none read: the two oldest are dropped, and the first
	 * one delivered says so. */
	for (i = 0; i < 10; i++) {
		t_irq(0);
		t_poll();
		t_fake_reg(NPU_REG_ERR_INDEX, i);
		t_irq(1);
		t_poll();
	}
	CHECK_EQ(get_status().next_event_seq, 12);
	for (i = 0; i < NPU_USB_MAX_EVENTS; i++) {
		CHECK_EQ(t_intr(b, sizeof(b)), NPU_USB_EVENT_BYTES);
		npu_usb_event_get(b, &e);
		CHECK_EQ(e.seq, 4 + i);
		CHECK_EQ(e.err_index, 2 + i);
		CHECK_EQ(e.dropped, i == 0 ? 2 : 0);
	}
	CHECK_EQ(t_intr(b, sizeof(b)), 0);
	/* An event whose registers cannot be read carries 0 there. */
	t_irq(0);
	t_poll();
	t_fake(FAKE_CSR_FAIL, NPU_REG_ERR_CODE);
	t_fake_reg(NPU_REG_ERR_CODE, 9);
	t_irq(1);
	t_poll();
	CHECK_EQ(t_intr(b, sizeof(b)), NPU_USB_EVENT_BYTES);
	npu_usb_event_get(b, &e);
	CHECK_EQ(e.seq, 12);
	CHECK_EQ(e.err_code, 0);
	CHECK_EQ(F.csr_writes, writes);
}

static int do_reset(void)
{
	return t_control(NPU_USB_RT_OUT, NPU_USB_REQ_RESET, 0, 0, 0, NULL, NULL, 0);
}

static void test_reset(void)
{
	uint8_t b[NPU_USB_REQ_BYTES + 16];
	struct npu_usb_rsp rsp;
	struct npu_usb_status st;
	struct npu_usb_event e;

	send(NPU_USB_OP_READ, 51, 4, FAKE_DRAM_BASE, NULL, 0);
	send(NPU_USB_OP_READ, 52, 4, FAKE_DRAM_BASE - 4, NULL, 0);
	t_irq(1);
	t_poll();
	/* A WRITE half received. */
	put_req(b, NPU_USB_OP_WRITE, 53, 16, FAKE_DRAM_BASE);
	memset(b + NPU_USB_REQ_BYTES, 0x77, 16);
	t_out(b, NPU_USB_REQ_BYTES + 8, 0);
	CHECK_EQ(get_status().last_error, NPU_USB_ST_BAD_ADDR);

	CHECK_EQ(do_reset(), 0);
	CHECK_EQ(F.resets, 1);
	st = get_status();
	CHECK_EQ(st.last_error, 0);
	CHECK_EQ(st.requests, 0);
	CHECK_EQ(st.errors, 0);
	CHECK_EQ(st.next_event_seq, 1);
	CHECK_EQ(recv(&rsp), 0);
	CHECK_EQ(t_intr(b, sizeof(b)), 0);
	/* The rest of the interrupted transfer is dropped, unanswered. */
	t_out(b + NPU_USB_REQ_BYTES + 8, 8, 1);
	CHECK_EQ(recv(&rsp), 0);
	CHECK_EQ(*fake_dram(&F, FAKE_DRAM_BASE + 8), 0);
	/* The line still high after RESET: an event, seq going on. */
	t_poll();
	CHECK_EQ(t_intr(b, sizeof(b)), NPU_USB_EVENT_BYTES);
	npu_usb_event_get(b, &e);
	CHECK_EQ(e.seq, 1);
	/* Everything works afterwards. */
	send(NPU_USB_OP_READ, 54, 4, FAKE_DRAM_BASE, NULL, 0);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES + 4);
	CHECK_RSP(rsp, NPU_USB_OP_READ, NPU_USB_ST_OK, 54, 4);
	/* A reset that does not go idle: STALL, BUS_ERROR. */
	t_fake(FAKE_RESET_FAIL, 1);
	CHECK_EQ(do_reset(), FW_STALL);
	st = get_status();
	CHECK_EQ(st.last_error, NPU_USB_ST_BUS_ERROR);
	CHECK_EQ(st.last_error_seq, NPU_USB_REQ_RESET);
	CHECK_EQ(st.requests, 0);
}

static struct npu_usb_info info_now(void)
{
	uint8_t b[NPU_USB_INFO_BYTES];
	struct npu_usb_info in;

	ctl_in(NPU_USB_REQ_GET_INFO, b, sizeof(b));
	npu_usb_info_get(b, &in);
	return in;
}

static void test_refused(void)
{
	struct npu_usb_info in;
	struct npu_usb_rsp rsp;
	uint32_t status;

	/* Not an lwnpu: only ID was read. */
	F.regs[NPU_REG_ID / 4] = 0x12345678u;
	CHECK_EQ(fw_init(&FW, &F.hal), 0);
	in = info_now();
	CHECK_EQ(in.magic, NPU_USB_INFO_MAGIC);
	CHECK_EQ(in.npu_status, NPU_USB_ST_NPU_REFUSED);
	CHECK_EQ(in.npu_id, 0x12345678u);
	CHECK_EQ(in.npu_version, 0);
	/* The bridges still work, for diagnosis. */
	CHECK_EQ(reg_read(NPU_REG_ID, &status), 0x12345678u);
	send(NPU_USB_OP_READ, 61, 4, FAKE_DRAM_BASE, NULL, 0);
	CHECK_EQ(recv(&rsp), NPU_USB_RSP_BYTES + 4);

	/* Another major version. */
	fake_init(&F);
	F.regs[NPU_REG_VERSION / 4] ^= 1u << NPU_REG_VERSION_MAJOR_SHIFT;
	CHECK_EQ(fw_init(&FW, &F.hal), 0);
	in = info_now();
	CHECK_EQ(in.npu_status, NPU_USB_ST_NPU_REFUSED);
	CHECK_EQ(in.npu_version, F.regs[NPU_REG_VERSION / 4]);
	/* No DMA engine. */
	fake_init(&F);
	F.regs[NPU_REG_CAPS_ENGINES / 4] &= ~NPU_REG_CAPS_ENGINES_DMA_MASK;
	CHECK_EQ(fw_init(&FW, &F.hal), 0);
	in = info_now();
	CHECK_EQ(in.npu_status, NPU_USB_ST_NPU_REFUSED);
	CHECK_EQ(in.caps_engines, F.regs[NPU_REG_CAPS_ENGINES / 4]);
	CHECK_EQ(in.caps[3], F.regs[NPU_REG_CAPS3 / 4]);
	/* No DMA window. */
	fake_init(&F);
	F.regs[NPU_REG_CAPS3 / 4] &= ~NPU_REG_CAPS3_NUM_WINDOWS_MASK;
	CHECK_EQ(fw_init(&FW, &F.hal), 0);
	CHECK_EQ(info_now().npu_status, NPU_USB_ST_NPU_REFUSED);
	/* The bus fails during the check. */
	fake_init(&F);
	F.csr_fail_off = NPU_REG_CAPS2;
	CHECK_EQ(fw_init(&FW, &F.hal), 0);
	in = info_now();
	CHECK_EQ(in.npu_status, NPU_USB_ST_BUS_ERROR);
	CHECK_EQ(in.caps[1], F.regs[NPU_REG_CAPS1 / 4]);
	CHECK_EQ(in.caps[2], 0);
	CHECK_EQ(F.csr_writes, 0);
}

static void test_init_hal(void)
{
	struct fw_hal h = F.hal;

	CHECK_EQ(fw_init(&FW, NULL), -1);
	CHECK_EQ(fw_init(NULL, &h), -1);
	h.dram_read = NULL;
	CHECK_EQ(fw_init(&FW, &h), -1);
	h = F.hal;
	h.npu_reset = NULL;
	CHECK_EQ(fw_init(&FW, &h), -1);
	h = F.hal;
	h.dram_size = 0;
	CHECK_EQ(fw_init(&FW, &h), -1);
	/* DRAM that would wrap past 2^64. */
	h = F.hal;
	h.dram_base = 0xfffffffffffff000ull;
	h.dram_size = 0x1001;
	CHECK_EQ(fw_init(&FW, &h), -1);
	h.dram_size = 0x1000;
	CHECK_EQ(fw_init(&FW, &h), 0);
	CHECK_EQ(fw_init(&FW, &F.hal), 0);
}

/* ---- the runner ---------------------------------------------------------- */

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* clang-format off */
static const struct test_case cases[] = {
	{"handshake", test_handshake},
	{"control_bad", test_control_bad},
	{"registers", test_registers},
	{"dram_roundtrip", test_dram_roundtrip},
	{"malformed", test_malformed},
	{"short_overflow", test_short_overflow},
	{"bytewise", test_bytewise},
	{"packets", test_packets},
	{"backpressure", test_backpressure},
	{"bus_errors", test_bus_errors},
	{"events", test_events},
	{"reset", test_reset},
	{"refused", test_refused},
	{"init_hal", test_init_hal},
};
/* clang-format on */

int main(void)
{
	unsigned before;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		case_name = cases[i].name;
		before = failures;
		fake_init(&F);
		trace_n = 0;
		trace_full = 0;
		if (fw_init(&FW, &F.hal) != 0)
			fail(__LINE__, "fw_init");
		cases[i].fn();
		if (!fake_dram_ok(&F))
			fail(__LINE__, "DRAM written outside DRAM (guard bytes or a stray call)");
		if (!trace_full && trace_n)
			test_save_trace(case_name, trace, trace_n);
		test_puts(failures == before ? "ok   " : "FAIL ");
		test_puts(case_name);
		test_puts("\n");
	}
	test_puts(failures ? "fw-test: FAILED, " : "fw-test: all passed, ");
	put_u(failures);
	test_puts(" failed checks\n");
	return failures > 125 ? 125 : (int)failures;
}
