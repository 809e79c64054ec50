/*
 * libFuzzer target: the firmware core (firmware/fw.c) over the fake board
 * (firmware/tests/fake_hal.h), driven by its input read as a trace
 * (firmware/fw_trace.h), the format the unit tests and the virtual
 * board's recorder write. Besides the sanitizers' findings it aborts on a
 * broken invariant, checked after every record:
 *   - board DRAM: no guard byte changed, no DRAM call outside DRAM;
 *   - never more than NPU_USB_MAX_INFLIGHT replies or NPU_USB_MAX_EVENTS
 *     events queued;
 *   - one reply per bulk OUT transfer (none for an empty one, one that
 *     started with the queue full, or one cut by RESET), in request
 *     order, echoing op and seq when the header was readable, well formed
 *     (magic, rsvd 0, a known status, len only on a good READ), a READ's
 *     data equal to DRAM, the reply exactly 16 + len bytes;
 *   - events in order: seq goes up by 1 + dropped (more only across a
 *     RESET, which drops events uncounted);
 *   - fw_control answers within in_max or STALLs.
 * Records of kind FW_TRACE_FAKE switch the fake board's faults and set
 * its registers (fake_apply).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/fw.h"
#include "firmware/fw_trace.h"
#include "firmware/tests/fake_hal.h"

static struct fake F;
static struct fw FW;

#define REQUIRE(e)                                                                                 \
	do {                                                                                       \
		if (!(e)) {                                                                        \
			fprintf(stderr, "fw_fuzz.c:%d: invariant broken: %s\n", __LINE__, #e);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The replies the model expects, oldest first. */
struct expect {
	uint8_t op;
	uint16_t status;
	uint32_t seq, len;
	uint64_t addr;
};

struct model {
	/* The transfer being sent: its first header bytes, whether it was
	 * refused at its start (queue full), the replies before it began. */
	uint8_t hdr[NPU_USB_REQ_BYTES];
	uint32_t hdr_n;
	int in_xfer, dropped, cut, replied;
	/* The model's own reading of it (the spec, written again): the
	 * status it has decided (0 and !decided: none yet), the data bytes
	 * a good WRITE still needs. */
	int decided;
	uint16_t status;
	struct npu_usb_req req;
	uint32_t data_left;
	uint32_t replies_before;
	uint32_t replies; /* queued by the core, as counted by the model */

	struct expect q[NPU_USB_MAX_INFLIGHT + 1];
	uint32_t q_head, q_n;

	/* The reply being read. */
	uint8_t rsp[NPU_USB_RSP_BYTES];
	uint32_t rsp_n, data_n;
	uint32_t in_fails; /* the fake's failed DRAM calls before this fw_bulk_in */
	struct npu_usb_rsp cur;
	struct expect cur_want;

	uint32_t next_ev_seq; /* the seq the next event should carry at least */
	int ev_reset;         /* a RESET dropped events since the last one */
};

static struct model M;
/* What board DRAM must hold: the model's WRITEs. */
static uint8_t shadow[FAKE_DRAM_SIZE];

/* Replies the core holds plus those the model has read: what it queued. */
static uint32_t core_replies(void)
{
	return M.replies + FW.rq_count;
}

static void expect_reply(void)
{
	struct expect e = {0, M.status, 0, 0, 0};

	REQUIRE(M.decided);
	if (M.hdr_n == NPU_USB_REQ_BYTES && M.req.magic == NPU_USB_REQ_MAGIC) {
		e.op = M.req.op;
		e.seq = M.req.seq;
		e.len = M.req.len;
		e.addr = M.req.addr;
	}
	REQUIRE(M.q_n < NPU_USB_MAX_INFLIGHT);
	M.q[(M.q_head + M.q_n) % (NPU_USB_MAX_INFLIGHT + 1)] = e;
	M.q_n++;
}

/* The header's checks as docs/USB_PROTOCOL.md lists them. */
static uint16_t spec_check(const struct npu_usb_req *r)
{
	if (r->magic != NPU_USB_REQ_MAGIC)
		return NPU_USB_ST_BAD_MAGIC;
	if ((r->op != NPU_USB_OP_WRITE && r->op != NPU_USB_OP_READ) || r->flags || r->rsvd)
		return NPU_USB_ST_BAD_OP;
	if (r->len < 1 || r->len > FW_MAX_XFER)
		return NPU_USB_ST_BAD_LEN;
	/* In 128-bit arithmetic, so that nothing wraps. */
	if ((unsigned __int128)r->addr < FAKE_DRAM_BASE ||
	    (unsigned __int128)r->addr + r->len >
	            (unsigned __int128)FAKE_DRAM_BASE + FAKE_DRAM_SIZE)
		return NPU_USB_ST_BAD_ADDR;
	return NPU_USB_ST_OK;
}

static void decide(uint16_t status)
{
	M.decided = 1;
	M.status = status;
}

/* The model reads a piece of the transfer; wr, wr_n get the WRITE data
 * the piece carries for DRAM at wr_off (none: wr_n 0). Returns 1 when
 * bytes follow that data in the piece: OVERFLOW, unless writing the data
 * failed first (BUS_ERROR), which only the core's call will tell. */
static int model_take(const uint8_t *p, size_t n, const uint8_t **wr, uint32_t *wr_n,
                      uint32_t *wr_off)
{
	size_t k;

	*wr_n = 0;
	while (n && !M.decided) {
		if (M.hdr_n < NPU_USB_REQ_BYTES) {
			k = NPU_USB_REQ_BYTES - M.hdr_n < n ? NPU_USB_REQ_BYTES - M.hdr_n : n;
			memcpy(M.hdr + M.hdr_n, p, k);
			M.hdr_n += (uint32_t)k;
			if (M.hdr_n == NPU_USB_REQ_BYTES) {
				npu_usb_req_get(M.hdr, &M.req);
				if (spec_check(&M.req) != NPU_USB_ST_OK)
					decide(spec_check(&M.req));
				else if (M.req.op == NPU_USB_OP_WRITE)
					M.data_left = M.req.len;
			}
		} else if (M.data_left) {
			k = M.data_left < n ? M.data_left : n;
			*wr = p;
			*wr_n = (uint32_t)k;
			*wr_off = (uint32_t)(M.req.addr - FAKE_DRAM_BASE) + M.req.len - M.data_left;
			M.data_left -= (uint32_t)k;
		} else if (*wr_n) {
			return 1;
		} else {
			decide(NPU_USB_ST_OVERFLOW);
			k = n;
		}
		p += k;
		n -= k;
	}
	return 0;
}

static void bulk_out(const uint8_t *p, size_t n, int end)
{
	uint8_t *copy = malloc(n ? n : 1); /* exactly n: ASan sees an over-read */
	const uint8_t *wr = NULL;
	uint32_t k, d, wr_n = 0, wr_off = 0, fails = F.dram_fails;
	int overflow = 0;

	memcpy(copy, p, n);
	if (!M.in_xfer && n) {
		M.in_xfer = 1;
		M.dropped = !fw_bulk_out_ready(&FW);
		M.cut = 0;
		M.replied = 0;
		M.hdr_n = 0;
		M.decided = M.dropped;
		M.status = 0;
		M.data_left = 0;
		M.replies_before = core_replies();
	}
	if (M.in_xfer)
		overflow = model_take(p, n, &wr, &wr_n, &wr_off);
	fw_bulk_out(&FW, copy, n, end);
	free(copy);
	if (!M.in_xfer)
		return;
	/* WRITE data is in DRAM when the call returns, unless a DRAM call
	 * failed: then BUS_ERROR, and the shadow takes what did land. */
	if (F.dram_fails != fails) {
		if (!M.decided)
			decide(NPU_USB_ST_BUS_ERROR);
		memcpy(shadow, fake_dram(&F, FAKE_DRAM_BASE), FAKE_DRAM_SIZE);
	} else if (wr_n) {
		REQUIRE(!memcmp(fake_dram(&F, FAKE_DRAM_BASE + wr_off), wr, wr_n));
		memcpy(shadow + wr_off, wr, wr_n);
	}
	if (overflow && !M.decided)
		decide(NPU_USB_ST_OVERFLOW);
	if (end && !M.decided)
		decide(M.hdr_n < NPU_USB_REQ_BYTES || M.data_left ? NPU_USB_ST_SHORT
		                                                  : NPU_USB_ST_OK);
	/* One reply per transfer: at once for an error, else at its end. */
	d = core_replies() - M.replies_before;
	REQUIRE(d <= 1);
	if (d == 1 && !M.replied) {
		expect_reply();
		M.replied = 1;
	}
	/* What a USB driver is told the request still needs: the header's
	 * rest, or nothing knowable while the transfer is discarded. */
	k = fw_bulk_out_expect(&FW);
	if (end)
		REQUIRE(k == NPU_USB_REQ_BYTES);
	else if (M.dropped || M.cut || M.replied)
		REQUIRE(k == FW_EXPECT_UNKNOWN);
	else if (M.hdr_n < NPU_USB_REQ_BYTES)
		REQUIRE(k == NPU_USB_REQ_BYTES - M.hdr_n);
	if (end) {
		REQUIRE(d == (M.dropped || M.cut ? 0u : 1u));
		M.in_xfer = 0;
	}
}

static void check_reply_hdr(void)
{
	npu_usb_rsp_get(M.rsp, &M.cur);
	REQUIRE(M.q_n > 0);
	M.cur_want = M.q[M.q_head];
	M.q_head = (M.q_head + 1) % (NPU_USB_MAX_INFLIGHT + 1);
	M.q_n--;
	REQUIRE(M.cur.magic == NPU_USB_RSP_MAGIC);
	REQUIRE(M.cur.rsvd == 0);
	REQUIRE(M.cur.status <= NPU_USB_ST_NPU_REFUSED);
	REQUIRE(M.cur.seq == M.cur_want.seq);
	/* The model's status; a READ whose DRAM read failed in this very
	 * call says so. */
	REQUIRE(M.cur.status == M.cur_want.status ||
	        (M.cur.status == NPU_USB_ST_BUS_ERROR && M.cur_want.status == NPU_USB_ST_OK &&
	         M.cur.op == NPU_USB_OP_READ && F.dram_fails != M.in_fails));
	REQUIRE(M.cur.op == M.cur_want.op || M.cur.status == NPU_USB_ST_BAD_MAGIC);
	if (M.cur.status == NPU_USB_ST_OK && M.cur.op == NPU_USB_OP_READ)
		REQUIRE(M.cur.len == M.cur_want.len);
	else
		REQUIRE(M.cur.len == 0);
}

static void bulk_in(uint16_t max)
{
	uint8_t *buf = malloc(max ? max : 1);
	int end = 0;
	size_t n, i = 0;

	M.in_fails = F.dram_fails;
	n = fw_bulk_in(&FW, buf, max, &end);

	REQUIRE(n <= max);
	for (; i < n && M.rsp_n < NPU_USB_RSP_BYTES; i++) {
		M.rsp[M.rsp_n++] = buf[i];
		if (M.rsp_n == NPU_USB_RSP_BYTES)
			check_reply_hdr();
	}
	if (i < n) {
		/* A READ's data: what DRAM holds now. */
		REQUIRE(M.data_n + (n - i) <= M.cur.len);
		REQUIRE(!memcmp(buf + i, fake_dram(&F, M.cur_want.addr + M.data_n), n - i));
		M.data_n += (uint32_t)(n - i);
	}
	if (end) {
		/* Whole, or cut by a DRAM read that failed in this call. */
		REQUIRE(M.rsp_n == NPU_USB_RSP_BYTES);
		REQUIRE(M.data_n == M.cur.len ||
		        (F.dram_fails != M.in_fails && FW.st.last_error == NPU_USB_ST_BUS_ERROR));
		M.rsp_n = 0;
		M.data_n = 0;
		M.replies++;
	}
	free(buf);
}

static void intr_in(void)
{
	uint8_t buf[NPU_USB_INTR_PACKET];
	struct npu_usb_event e;

	if (!fw_intr_in(&FW, buf, sizeof(buf)))
		return;
	npu_usb_event_get(buf, &e);
	REQUIRE(e.magic == NPU_USB_EVENT_MAGIC);
	if (M.ev_reset)
		REQUIRE(e.seq >= M.next_ev_seq + e.dropped);
	else
		REQUIRE(e.seq == M.next_ev_seq + e.dropped);
	M.next_ev_seq = e.seq + 1;
	M.ev_reset = 0;
}

static void control(const uint8_t *p, size_t n)
{
	const uint16_t length = npu_usb_get16(p + 6);
	uint8_t *out = calloc(1, length ? length : 1); /* the data stage: wLength bytes */
	uint8_t *in = malloc(length ? length : 1);
	int rc;

	memcpy(out, p + 8, n - 8 < length ? n - 8 : length);
	rc = fw_control(&FW, p, out, in, length);
	REQUIRE(rc == FW_STALL || (rc >= 0 && (size_t)rc <= length));
	if (p[1] == NPU_USB_REQ_RESET && p[0] == NPU_USB_RT_OUT && length == 0 &&
	    npu_usb_get16(p + 2) == 0 && npu_usb_get16(p + 4) == 0) {
		/* Everything queued is gone; a transfer being sent is cut. */
		REQUIRE(FW.rq_count == 0 && FW.ev_count == 0);
		M.q_n = 0;
		M.rsp_n = 0;
		M.data_n = 0;
		M.ev_reset = 1;
		if (M.in_xfer) {
			M.cut = 1;
			M.decided = 1;
			M.replies_before = core_replies();
		}
	}
	free(out);
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	fake_init(&F);
	memset(&M, 0, sizeof(M));
	memset(shadow, 0, sizeof(shadow));
	REQUIRE(fw_init(&FW, &F.hal) == 0);
	while (size - off >= FW_TRACE_HDR_BYTES) {
		const uint8_t kind = data[off];
		const size_t n = npu_usb_get16(data + off + 1);
		const uint8_t *p = data + off + FW_TRACE_HDR_BYTES;

		if (size - off - FW_TRACE_HDR_BYTES < n)
			break;
		off += FW_TRACE_HDR_BYTES + n;
		switch (kind) {
		case FW_TRACE_CONTROL:
			if (n >= 8)
				control(p, n);
			break;
		case FW_TRACE_BULK_OUT:
		case FW_TRACE_BULK_MORE:
			bulk_out(p, n, kind == FW_TRACE_BULK_OUT);
			break;
		case FW_TRACE_BULK_IN:
			if (n >= 2)
				bulk_in(npu_usb_get16(p));
			break;
		case FW_TRACE_INTR_IN:
			intr_in();
			break;
		case FW_TRACE_IRQ:
			if (n >= 1)
				F.irq = p[0] & 1;
			break;
		case FW_TRACE_POLL:
			fw_poll(&FW);
			break;
		case FW_TRACE_FAKE:
			fake_apply(&F, p, n);
			break;
		default:
			break;
		}
		REQUIRE(fake_dram_ok(&F));
		REQUIRE(FW.rq_count <= NPU_USB_MAX_INFLIGHT);
		REQUIRE(FW.ev_count <= NPU_USB_MAX_EVENTS);
		/* The core holds what the model expects, and the reply being
		 * read once its header is out. */
		REQUIRE(FW.rq_count == M.q_n + (M.rsp_n == NPU_USB_RSP_BYTES ? 1u : 0u));
	}
	/* Nothing but the model's WRITEs changed DRAM. */
	REQUIRE(!memcmp(shadow, fake_dram(&F, FAKE_DRAM_BASE), FAKE_DRAM_SIZE));
	return 0;
}
