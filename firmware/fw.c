/*
 * The dev board's firmware core (firmware/fw.h, docs/USB_PROTOCOL.md).
 * Portable and freestanding: no OS, no allocation, no libc beyond the
 * memory functions; every byte from the host is checked before it is used.
 *
 * Bulk OUT, the exact rule (one reply per transfer, in order):
 *   - a transfer carries one request: its 24-byte header, then for a
 *     WRITE its len data bytes, written to DRAM piece by piece as they
 *     arrive;
 *   - the header is checked when its 24th byte arrives, in this order:
 *     magic (BAD_MAGIC), op/flags/rsvd (BAD_OP), len (BAD_LEN), addr
 *     (BAD_ADDR); a DRAM write error gives BUS_ERROR; a byte after the
 *     complete request (the header of a READ, the data of a WRITE) gives
 *     OVERFLOW (a WRITE's data is then already written);
 *   - the first error queues the error reply at once and the rest of the
 *     transfer is discarded; otherwise the reply is queued when the
 *     transfer ends: OK when the request is complete, SHORT when the
 *     header or a WRITE's data is incomplete (op 0 and seq 0 when the
 *     header was not complete, as after BAD_MAGIC: nothing of it is
 *     trusted);
 *   - a zero-length transfer is no request: ignored, no reply;
 *   - a transfer that starts while the reply queue is full (a USB driver
 *     that did not honour fw_bulk_out_ready) is discarded whole, without
 *     a reply; GET_STATUS's last error says OVERFLOW.
 */
#include <string.h>

#include "firmware/fw.h"
#include "driver/npu_dev.h"

/* ---- errors and counters ------------------------------------------------ */

static void note_error(struct fw *fw, uint16_t status, uint32_t seq)
{
	fw->st.last_error = status;
	fw->st.last_error_seq = seq;
}

/* ---- the driver core over the HAL (fw_init only) ------------------------ */

/* ID .. CAPS_ENGINES as the driver core reads them go into GET_INFO as
 * they are, so that a refused NPU's registers reach the host unchanged. */
static void keep_boot_reg(struct fw *fw, uint32_t off, uint32_t v)
{
	struct npu_usb_info *in = &fw->info;

	switch (off) {
	case NPU_REG_ID:
		in->npu_id = v;
		break;
	case NPU_REG_VERSION:
		in->npu_version = v;
		break;
	case NPU_REG_CAPS0:
	case NPU_REG_CAPS1:
	case NPU_REG_CAPS2:
	case NPU_REG_CAPS3:
		in->caps[(off - NPU_REG_CAPS0) / 4] = v;
		break;
	case NPU_REG_CAPS_ENGINES:
		in->caps_engines = v;
		break;
	default:
		break;
	}
}

static int csr_ok(uint32_t off)
{
	return !(off & 3) && off < NPU_HW_CSR_BYTES;
}

static int fw_hw_reg_read(struct npu_hw *hw, uint32_t off, uint32_t *value)
{
	struct fw *fw = hw->priv;

	if (!csr_ok(off))
		return NPU_ERR_INVALID_ARG;
	if (fw->hal->csr_read(fw->hal->ctx, off, value))
		return NPU_ERR_IO;
	keep_boot_reg(fw, off, *value);
	return NPU_OK;
}

static int fw_hw_reg_write(struct npu_hw *hw, uint32_t off, uint32_t value)
{
	struct fw *fw = hw->priv;

	if (!csr_ok(off))
		return NPU_ERR_INVALID_ARG;
	return fw->hal->csr_write(fw->hal->ctx, off, value) ? NPU_ERR_IO : NPU_OK;
}

static int hal_complete(const struct fw_hal *hal)
{
	return hal && hal->csr_read && hal->csr_write && hal->dram_write && hal->dram_read &&
	       hal->irq_line && hal->npu_reset && hal->dram_size &&
	       hal->dram_size - 1 <= UINT64_MAX - hal->dram_base;
}

/* The driver core's backend: the null backend's table (everything
 * NPU_ERR_NOT_SUPPORTED: the firmware only checks the NPU; rings, buffers
 * and waits are the host's) with the CSR bus of the HAL. */
extern const struct npu_backend_ops npu_null_backend; /* driver/null.c */
static struct npu_backend_ops fw_hw_ops;

int fw_init(struct fw *fw, const struct fw_hal *hal)
{
	struct npu_hw hw = {.ops = &fw_hw_ops, .priv = fw};
	struct npu_dev d;
	int rc;

	fw_hw_ops = npu_null_backend;
	fw_hw_ops.name = "fw";
	fw_hw_ops.summary = "the board's CSR bus through the firmware's HAL";
	fw_hw_ops.reg_read = fw_hw_reg_read;
	fw_hw_ops.reg_write = fw_hw_reg_write;

	if (!fw)
		return -1;
	memset(fw, 0, sizeof(*fw));
	if (!hal_complete(hal))
		return -1;
	fw->hal = hal;

	fw->info.magic = NPU_USB_INFO_MAGIC;
	fw->info.proto_major = NPU_USB_PROTO_MAJOR;
	fw->info.proto_minor = NPU_USB_PROTO_MINOR;
	fw->info.board_id = hal->board_id;
	fw->info.fw_version = FW_VERSION;
	fw->info.max_xfer = FW_MAX_XFER;
	fw->info.dram_base = hal->dram_base;
	fw->info.dram_size = hal->dram_size;

	/* The register values land in info through keep_boot_reg. */
	rc = npu_dev_open(&d, &hw, 1);
	if (rc == NPU_OK)
		fw->info.npu_status = NPU_USB_ST_OK;
	else if (rc == NPU_ERR_NOT_SUPPORTED)
		fw->info.npu_status = NPU_USB_ST_NPU_REFUSED;
	else
		fw->info.npu_status = NPU_USB_ST_BUS_ERROR;
	return 0;
}

/* ---- control requests (EP0) --------------------------------------------- */

static int ctl_reg_read(struct fw *fw, uint32_t off, uint8_t *in)
{
	uint32_t status = NPU_USB_ST_OK, value = 0;

	if (!csr_ok(off))
		status = NPU_USB_ST_BAD_REG;
	else if (fw->hal->csr_read(fw->hal->ctx, off, &value))
		status = NPU_USB_ST_BUS_ERROR;
	if (status != NPU_USB_ST_OK) {
		value = 0;
		note_error(fw, (uint16_t)status, NPU_USB_REQ_REG_READ);
	}
	npu_usb_put32(in, status);
	npu_usb_put32(in + 4, value);
	return 8;
}

static int ctl_reg_write(struct fw *fw, uint32_t off, const uint8_t *out)
{
	if (!csr_ok(off)) {
		note_error(fw, NPU_USB_ST_BAD_REG, NPU_USB_REQ_REG_WRITE);
		return FW_STALL;
	}
	if (fw->hal->csr_write(fw->hal->ctx, off, npu_usb_get32(out))) {
		note_error(fw, NPU_USB_ST_BUS_ERROR, NPU_USB_REQ_REG_WRITE);
		return FW_STALL;
	}
	return 0;
}

static int ctl_get_status(struct fw *fw, uint8_t *in)
{
	struct npu_usb_status st = fw->st;

	st.next_event_seq = fw->ev_seq;
	st.flags = fw->hal->irq_line(fw->hal->ctx) ? NPU_USB_STATUS_IRQ_LINE : 0;
	npu_usb_status_put(in, &st);
	return NPU_USB_STATUS_BYTES;
}

/* RESET: the NPU, then everything queued; a transfer being received is
 * dropped with the rest of its bytes. */
static int ctl_reset(struct fw *fw)
{
	int rc = fw->hal->npu_reset(fw->hal->ctx);

	fw->hdr_fill = 0;
	fw->data_done = 0;
	fw->in_data = 0;
	fw->discard = fw->in_xfer;
	fw->rq_head = 0;
	fw->rq_count = 0;
	fw->rsp_sent = 0;
	fw->ev_head = 0;
	fw->ev_count = 0;
	fw->ev_dropped = 0;
	fw->line_seen = 0;
	fw->st.last_error = 0;
	fw->st.last_error_seq = 0;
	fw->st.requests = 0;
	fw->st.errors = 0;
	if (rc) {
		note_error(fw, NPU_USB_ST_BUS_ERROR, NPU_USB_REQ_RESET);
		return FW_STALL;
	}
	return 0;
}

int fw_control(struct fw *fw, const uint8_t setup[8], const uint8_t *out, uint8_t *in,
               size_t in_max)
{
	const uint8_t type = setup[0], req = setup[1];
	const uint16_t value = npu_usb_get16(setup + 2), index = npu_usb_get16(setup + 4);
	const uint16_t length = npu_usb_get16(setup + 6);
	/* What each request must look like: direction, wIndex, wLength. */
	uint8_t want_type = NPU_USB_RT_IN;
	int index_any = 0;
	uint32_t want_len;

	switch (req) {
	case NPU_USB_REQ_GET_INFO:
		/* A longer wLength is a host of a later minor version: it
		 * gets this version's INFO (a short reply). */
		want_len = length >= NPU_USB_INFO_BYTES ? length : NPU_USB_INFO_BYTES;
		break;
	case NPU_USB_REQ_REG_READ:
		want_len = 8;
		index_any = 1;
		break;
	case NPU_USB_REQ_REG_WRITE:
		want_type = NPU_USB_RT_OUT;
		want_len = 4;
		index_any = 1;
		break;
	case NPU_USB_REQ_GET_STATUS:
		want_len = NPU_USB_STATUS_BYTES;
		break;
	case NPU_USB_REQ_RESET:
		want_type = NPU_USB_RT_OUT;
		want_len = 0;
		break;
	default:
		goto bad;
	}
	if (type != want_type || value != 0 || (!index_any && index != 0) || length != want_len)
		goto bad;
	/* The board's buffers: a USB driver bug, but never overrun them. */
	if (type == NPU_USB_RT_IN &&
	    (!in || in_max < (req == NPU_USB_REQ_GET_INFO ? NPU_USB_INFO_BYTES : length)))
		goto bad;
	if (type == NPU_USB_RT_OUT && length && !out)
		goto bad;

	switch (req) {
	case NPU_USB_REQ_GET_INFO:
		npu_usb_info_put(in, &fw->info);
		return NPU_USB_INFO_BYTES;
	case NPU_USB_REQ_REG_READ:
		return ctl_reg_read(fw, index, in);
	case NPU_USB_REQ_REG_WRITE:
		return ctl_reg_write(fw, index, out);
	case NPU_USB_REQ_GET_STATUS:
		return ctl_get_status(fw, in);
	default:
		return ctl_reset(fw);
	}
bad:
	note_error(fw, NPU_USB_ST_BAD_REQUEST, req);
	return FW_STALL;
}

/* ---- bulk OUT: requests ------------------------------------------------- */

int fw_bulk_out_ready(const struct fw *fw)
{
	return fw->rq_count < NPU_USB_MAX_INFLIGHT;
}

uint32_t fw_bulk_out_expect(const struct fw *fw)
{
	if (fw->discard)
		return FW_EXPECT_UNKNOWN;
	if (!fw->in_data)
		return NPU_USB_REQ_BYTES - fw->hdr_fill;
	return fw->cur.len - fw->data_done;
}

/* Queue the reply that ends the current request; the rest of the
 * transfer is discarded. Room is certain: a transfer starts only with a
 * free slot, and one transfer makes one reply. */
static void reply(struct fw *fw, uint16_t status)
{
	struct fw_reply *r = &fw->rq[(fw->rq_head + fw->rq_count) % NPU_USB_MAX_INFLIGHT];
	const int readable = fw->hdr_fill == NPU_USB_REQ_BYTES && status != NPU_USB_ST_BAD_MAGIC;

	r->op = readable ? fw->cur.op : 0;
	r->status = status;
	r->seq = readable ? fw->cur.seq : 0;
	r->len = status == NPU_USB_ST_OK && fw->cur.op == NPU_USB_OP_READ ? fw->cur.len : 0;
	r->addr = fw->cur.addr;
	fw->rq_count++;
	fw->st.requests++;
	if (status != NPU_USB_ST_OK) {
		fw->st.errors++;
		note_error(fw, status, r->seq);
	}
	fw->discard = 1;
}

/* The header's checks, in the documented order. */
static uint16_t check_req(const struct fw *fw, const struct npu_usb_req *q)
{
	uint64_t off;

	if (q->magic != NPU_USB_REQ_MAGIC)
		return NPU_USB_ST_BAD_MAGIC;
	if ((q->op != NPU_USB_OP_WRITE && q->op != NPU_USB_OP_READ) || q->flags || q->rsvd)
		return NPU_USB_ST_BAD_OP;
	if (q->len == 0 || q->len > FW_MAX_XFER)
		return NPU_USB_ST_BAD_LEN;
	/* [addr, addr + len) inside DRAM, without computing addr + len. */
	if (q->addr < fw->hal->dram_base)
		return NPU_USB_ST_BAD_ADDR;
	off = q->addr - fw->hal->dram_base;
	if (off >= fw->hal->dram_size || q->len > fw->hal->dram_size - off)
		return NPU_USB_ST_BAD_ADDR;
	return NPU_USB_ST_OK;
}

/* Take bytes of the current transfer; returns how many were used. */
static size_t take(struct fw *fw, const uint8_t *p, size_t n)
{
	size_t k;
	uint16_t status;

	if (!fw->in_data && fw->hdr_fill < NPU_USB_REQ_BYTES) {
		k = NPU_USB_REQ_BYTES - fw->hdr_fill;
		if (k > n)
			k = n;
		memcpy(fw->hdr + fw->hdr_fill, p, k);
		fw->hdr_fill += (uint32_t)k;
		if (fw->hdr_fill < NPU_USB_REQ_BYTES)
			return k;
		npu_usb_req_get(fw->hdr, &fw->cur);
		status = check_req(fw, &fw->cur);
		if (status != NPU_USB_ST_OK)
			reply(fw, status);
		else if (fw->cur.op == NPU_USB_OP_WRITE)
			fw->in_data = 1;
		return k;
	}
	if (fw->in_data && fw->data_done < fw->cur.len) {
		k = fw->cur.len - fw->data_done;
		if (k > n)
			k = n;
		if (fw->hal->dram_write(fw->hal->ctx, fw->cur.addr + fw->data_done, p, (uint32_t)k))
			reply(fw, NPU_USB_ST_BUS_ERROR);
		fw->data_done += (uint32_t)k;
		return k;
	}
	/* A byte after the complete request. */
	reply(fw, NPU_USB_ST_OVERFLOW);
	return n;
}

/* The transfer has ended: the reply, unless an error gave it already. */
static void end_xfer(struct fw *fw)
{
	if (!fw->discard) {
		if (fw->hdr_fill < NPU_USB_REQ_BYTES ||
		    (fw->in_data && fw->data_done < fw->cur.len))
			reply(fw, NPU_USB_ST_SHORT);
		else
			reply(fw, NPU_USB_ST_OK);
	}
	fw->in_xfer = 0;
	fw->discard = 0;
	fw->hdr_fill = 0;
	fw->in_data = 0;
	fw->data_done = 0;
	memset(&fw->cur, 0, sizeof(fw->cur));
}

void fw_bulk_out(struct fw *fw, const uint8_t *data, size_t len, int end)
{
	if (!data)
		len = 0;
	if (!fw->in_xfer) {
		if (!len) /* a zero-length transfer, or nothing yet */
			return;
		fw->in_xfer = 1;
		if (!fw_bulk_out_ready(fw)) {
			note_error(fw, NPU_USB_ST_OVERFLOW, 0);
			fw->discard = 1;
		}
	}
	while (len && !fw->discard) {
		size_t k = take(fw, data, len);

		data += k;
		len -= k;
	}
	if (end)
		end_xfer(fw);
}

/* ---- bulk IN: replies --------------------------------------------------- */

static void pop_reply(struct fw *fw)
{
	fw->rq_head = (fw->rq_head + 1) % NPU_USB_MAX_INFLIGHT;
	fw->rq_count--;
	fw->rsp_sent = 0;
}

static void put_rsp_hdr(const struct fw_reply *r, uint32_t from, uint8_t *buf, size_t n)
{
	uint8_t hdr[NPU_USB_RSP_BYTES];
	struct npu_usb_rsp rsp = {
	        .magic = NPU_USB_RSP_MAGIC,
	        .op = r->op,
	        .status = r->status,
	        .seq = r->seq,
	        .len = r->len,
	};

	if (!n) /* past the header: from may be beyond it */
		return;
	npu_usb_rsp_put(hdr, &rsp);
	memcpy(buf, hdr + from, n);
}

size_t fw_bulk_in(struct fw *fw, uint8_t *buf, size_t max, int *end)
{
	struct fw_reply *r = &fw->rq[fw->rq_head];
	size_t hdr_n = 0, data_n = 0;
	uint32_t data_off = 0;

	*end = 0;
	if (!fw->rq_count || !buf || !max)
		return 0;
	if (fw->rsp_sent < NPU_USB_RSP_BYTES) {
		hdr_n = NPU_USB_RSP_BYTES - fw->rsp_sent;
		if (hdr_n > max)
			hdr_n = max;
	}
	if (fw->rsp_sent + hdr_n >= NPU_USB_RSP_BYTES) {
		data_off = fw->rsp_sent + (uint32_t)hdr_n - NPU_USB_RSP_BYTES;
		data_n = r->len - data_off;
		if (data_n > max - hdr_n)
			data_n = max - hdr_n;
	}
	/* The data first, so that a READ whose first bytes fail is answered
	 * with an error header instead of OK. */
	if (data_n &&
	    fw->hal->dram_read(fw->hal->ctx, r->addr + data_off, buf + hdr_n, (uint32_t)data_n)) {
		fw->st.errors++;
		note_error(fw, NPU_USB_ST_BUS_ERROR, r->seq);
		if (fw->rsp_sent) {
			/* OK has gone out: end the transfer short (with a
			 * zero-length packet when no byte is left). */
			put_rsp_hdr(r, fw->rsp_sent, buf, hdr_n);
			pop_reply(fw);
			*end = 1;
			return hdr_n;
		}
		r->status = NPU_USB_ST_BUS_ERROR;
		r->len = 0;
		data_n = 0;
	}
	put_rsp_hdr(r, fw->rsp_sent, buf, hdr_n);
	fw->rsp_sent += (uint32_t)(hdr_n + data_n);
	if (fw->rsp_sent == NPU_USB_RSP_BYTES + r->len) {
		pop_reply(fw);
		*end = 1;
	}
	return hdr_n + data_n;
}

/* ---- events ------------------------------------------------------------- */

static uint32_t csr_or_0(struct fw *fw, uint32_t off)
{
	uint32_t v;

	return fw->hal->csr_read(fw->hal->ctx, off, &v) ? 0 : v;
}

static void make_event(struct fw *fw)
{
	struct npu_usb_event e = {.magic = NPU_USB_EVENT_MAGIC, .seq = fw->ev_seq++};
	uint32_t lo;

	e.irq_status = csr_or_0(fw, NPU_REG_IRQ_STATUS);
	e.err_code = csr_or_0(fw, NPU_REG_ERR_CODE);
	lo = csr_or_0(fw, NPU_REG_ERR_ADDR_LO); /* LO first: it latches HI */
	e.err_addr = (uint64_t)csr_or_0(fw, NPU_REG_ERR_ADDR_HI) << 32 | lo;
	e.err_index = csr_or_0(fw, NPU_REG_ERR_INDEX);
	if (fw->ev_count == NPU_USB_MAX_EVENTS) {
		/* Drop the oldest: every dropped event precedes every queued
		 * one, so the next delivered carries the exact gap. */
		fw->ev_head = (fw->ev_head + 1) % NPU_USB_MAX_EVENTS;
		fw->ev_count--;
		fw->ev_dropped++;
	}
	npu_usb_event_put(fw->ev[(fw->ev_head + fw->ev_count) % NPU_USB_MAX_EVENTS], &e);
	fw->ev_count++;
}

void fw_poll(struct fw *fw)
{
	int line = fw->hal->irq_line(fw->hal->ctx) != 0;

	if (line && !fw->line_seen)
		make_event(fw);
	fw->line_seen = line;
}

size_t fw_intr_in(struct fw *fw, uint8_t *buf, size_t max)
{
	if (!fw->ev_count || !buf || max < NPU_USB_EVENT_BYTES)
		return 0;
	memcpy(buf, fw->ev[fw->ev_head], NPU_USB_EVENT_BYTES);
	npu_usb_put32(buf + 28, fw->ev_dropped);
	fw->ev_dropped = 0;
	fw->ev_head = (fw->ev_head + 1) % NPU_USB_MAX_EVENTS;
	fw->ev_count--;
	return NPU_USB_EVENT_BYTES;
}
