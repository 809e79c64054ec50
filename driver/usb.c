/*
 * The "usb" backend: an lwnpu dev board (a microcontroller on the NPU's
 * CSR bus, interrupt line and board DRAM) reached through libusb-1.0, no
 * kernel driver of ours. The wire protocol is driver/npu_usb_proto.h
 * (docs/USB_PROTOCOL.md); docs/DRIVER.md "The usb backend" has the
 * figures.
 *
 * URIs (the text after "usb:"):
 *   (empty)     the first board with NPU_USB_VID:NPU_USB_PID
 *   BUS:ADDR    the device at that bus number and device address, decimal
 *               (1-3 digits each: libusb's bus_number/device_address)
 *   VID:PID     the first device with that vendor and product ID, hex,
 *               exactly 4 digits each (a board with a PID of its own)
 * Anything else is NPU_ERR_INVALID_ARG; no matching device is
 * NPU_ERR_NO_DEVICE; a device that fails the handshake (INFO magic,
 * protocol major, the firmware's own check of the NPU) is
 * NPU_ERR_NOT_SUPPORTED. A backend has no channel for a detail message
 * (it may not call lib/): with NPU_DEBUG set in the environment it says
 * why on stderr.
 *
 * How the ops map onto the protocol:
 *   reg_read/reg_write  one vendor control transfer each (a REG_WRITE
 *                       STALL is followed by GET_STATUS to name the cause)
 *   buf_alloc           host memory (the CPU's view) plus a range of board
 *                       DRAM from the shared allocator (driver/dram_alloc.h:
 *                       first fit, 4 KiB granules, neighbours coalesced on free)
 *   buf_sync            WRITE/READ bulk requests of at most max_xfer bytes,
 *                       USB_SLOTS of them in flight with their replies,
 *                       every reply checked (magic, op, seq, status, len)
 *   submit              RING_TAIL, then DOORBELL
 *   wait_irq            an interrupt IN transfer is kept submitted; events
 *                       are counted as they arrive, and wait_irq consumes
 *                       one, running libusb's event loop in the caller's
 *                       thread until one is there
 *   reset               the RESET request; events numbered before the
 *                       board's next_event_seq (GET_STATUS) are stale
 *
 * Coalesced uploads. The driver core syncs each ring entry on its own (64
 * bytes) before it rings the doorbell; a bulk round trip each would
 * dominate a layer. A small TO_DEVICE sync (below USB_HOLD_MAX) is
 * therefore copied aside as it is and held back; the next one that
 * continues it on the board is appended, and the bytes are written before
 * the next register write, submit, wait, reset, READ, large sync or
 * non-contiguous small one. The NPU reads board memory only for
 * descriptors made visible by a register write (RING_TAIL, DOORBELL,
 * CTRL), so it never sees the bytes before they are there. Errors of such
 * a write come back from the call that flushed it.
 *
 * Disconnects: LIBUSB_ERROR_NO_DEVICE from a control transfer,
 * LIBUSB_TRANSFER_NO_DEVICE from a bulk or interrupt transfer, or the
 * hotplug "left" callback (where libusb has hotplug) mark the board gone:
 * every later call returns NPU_ERR_DISCONNECTED without touching USB, and
 * a call that was waiting returns it as soon as libusb reports the loss.
 * Before any call returns, every transfer it submitted has completed or
 * been cancelled and reaped; close() frees everything also when the board
 * is gone. Reopening finds the board again once it is back (a new device
 * address).
 *
 * Threading: the core serializes backend calls per device (hw_device's
 * io_lock); each open has its own libusb context, so two boards (or two
 * opens) never share an event loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libusb-1.0/libusb.h>

#include "driver/backend.h"
#include "driver/dram_alloc.h"
#include "driver/npu_regs.h"
#include "driver/npu_usb_proto.h"

/* Board DRAM is handed out in these granules (4 KiB aligned). */
#define USB_ALIGN 4096ull
/* Bulk requests in flight per sync (the board takes NPU_USB_MAX_INFLIGHT). */
#define USB_SLOTS 8u
/* Largest bulk request this host makes, whatever max_xfer allows. */
#define USB_CHUNK_CAP (1u << 20)
/* A control transfer, one bulk transfer: give up after this long. */
#define USB_CTRL_TIMEOUT_MS 1000u
#define USB_BULK_TIMEOUT_MS 3000u
/* Reaping cancelled transfers never takes longer than this. */
#define USB_REAP_MS 2000
/* TO_DEVICE syncs below USB_HOLD_MAX bytes are held back and coalesced,
 * up to USB_HOLD_MAX bytes at a time. */
#define USB_HOLD_MAX  (64u << 10)
#define USB_STAGE_MIN 4096u
/* The event loop is left at least this often to look at the clock. */
#define USB_POLL_MS 100

/* One bulk request and its reply. */
struct usb_slot {
	struct libusb_transfer *out, *in;
	uint8_t *out_buf; /* header + data */
	uint8_t *in_buf;  /* header + data */
	int active;       /* transfers submitted and not yet called back */
	int done;         /* active reached 0 (libusb's completion flag) */
	uint32_t seq, len;
	uint8_t op;
	uint8_t *host; /* READ: where the data goes */
};

struct usb_priv {
	libusb_context *ctx;
	libusb_device_handle *h;
	int claimed;
	libusb_hotplug_callback_handle hotplug;
	int have_hotplug;
	int gone;   /* the board went away: every call is DISCONNECTED */
	int broken; /* a bulk transfer failed mid-request: IO until reset() */
	int wake;   /* set by callbacks, libusb's completion flag for waits */
	struct npu_usb_info info;
	uint32_t chunk; /* bytes per bulk request */
	uint32_t seq;

	/* Events: an interrupt IN transfer kept submitted. */
	struct libusb_transfer *intr;
	uint8_t intr_buf[NPU_USB_INTR_PACKET];
	int intr_active;
	int intr_error;       /* a malformed event or an endpoint error */
	uint32_t events;      /* arrived, not yet consumed by wait_irq */
	uint32_t event_floor; /* events numbered before this are stale */

	struct usb_slot slot[USB_SLOTS];

	/* Free board DRAM (driver/dram_alloc.h). */
	struct npui_dram dram;

	/* Held-back TO_DEVICE bytes: pend_len bytes for board address
	 * pend_dev, copied into stage when they were synced (0: none). */
	uint8_t *stage;
	size_t stage_cap, pend_len;
	uint64_t pend_dev;
};

static void usb_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Why an open failed or a board was lost, for someone debugging a board
 * (NPU_DEBUG): the status codes are the interface. */
static void usb_note(const char *fmt, ...)
{
	va_list ap;

	if (!getenv("NPU_DEBUG"))
		return;
	va_start(ap, fmt);
	fputs("libnpu: usb: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run the event loop until *flag is set or ms pass (at most USB_POLL_MS
 * per call, so the caller looks at its clock and at p->gone). */
static void usb_events(struct usb_priv *p, int *flag, int ms)
{
	struct timeval tv;

	if (ms > USB_POLL_MS)
		ms = USB_POLL_MS;
	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	libusb_handle_events_timeout_completed(p->ctx, &tv, flag);
}

/* A libusb status as the backend's: a lost device is DISCONNECTED from
 * here on, whatever call noticed it. */
static int usb_status(struct usb_priv *p, int rc)
{
	if (rc == LIBUSB_ERROR_NO_DEVICE)
		p->gone = 1;
	if (p->gone)
		return NPU_ERR_DISCONNECTED;
	if (rc == LIBUSB_ERROR_NO_MEM)
		return NPU_ERR_NO_MEM;
	return NPU_ERR_IO;
}

/* ---- control requests ----------------------------------------------- */

static int usb_ctrl_in(struct usb_priv *p, uint8_t req, uint16_t index, uint8_t *buf, uint16_t len)
{
	int rc = libusb_control_transfer(p->h, NPU_USB_RT_IN, req, 0, index, buf, len,
	                                 USB_CTRL_TIMEOUT_MS);

	if (rc >= 0 && rc != len)
		usb_note("request 0x%02x: %d bytes of %u", req, rc, len);
	if (rc < 0)
		return usb_status(p, rc);
	return rc == len ? NPU_OK : NPU_ERR_IO;
}

static int usb_get_status(struct usb_priv *p, struct npu_usb_status *st)
{
	uint8_t b[NPU_USB_STATUS_BYTES];
	int rc = usb_ctrl_in(p, NPU_USB_REQ_GET_STATUS, 0, b, sizeof(b));

	if (rc == NPU_OK)
		npu_usb_status_get(b, st);
	return rc;
}

/* RESET, then forget every event numbered before the board's next one. */
static int usb_board_reset(struct usb_priv *p)
{
	struct npu_usb_status st;
	int rc = libusb_control_transfer(p->h, NPU_USB_RT_OUT, NPU_USB_REQ_RESET, 0, 0, NULL, 0,
	                                 USB_CTRL_TIMEOUT_MS);

	if (rc < 0) {
		usb_note("RESET: %s", libusb_strerror(rc));
		return usb_status(p, rc);
	}
	if ((rc = usb_get_status(p, &st)))
		return rc;
	p->event_floor = st.next_event_seq;
	p->events = 0;
	p->intr_error = 0;
	p->broken = 0; /* the board dropped every queued request and reply */
	return NPU_OK;
}

/* ---- bulk requests -------------------------------------------------- */

static void LIBUSB_CALL usb_slot_cb(struct libusb_transfer *t)
{
	struct usb_slot *s = t->user_data;

	if (--s->active == 0)
		s->done = 1;
}

/* Cancel whatever of the slots is still in flight and reap it. */
static void usb_reap(struct usb_priv *p)
{
	uint64_t end = now_ms() + USB_REAP_MS;

	for (unsigned i = 0; i < USB_SLOTS; i++) {
		if (!p->slot[i].active)
			continue;
		libusb_cancel_transfer(p->slot[i].out);
		libusb_cancel_transfer(p->slot[i].in);
	}
	for (unsigned i = 0; i < USB_SLOTS; i++)
		while (p->slot[i].active && now_ms() < end)
			usb_events(p, &p->slot[i].done, (int)(end - now_ms()));
}

static int usb_slot_submit(struct usb_priv *p, struct usb_slot *s, uint8_t op, uint64_t addr,
                           uint8_t *host, uint32_t len)
{
	const struct npu_usb_req req = {NPU_USB_REQ_MAGIC, op, 0, 0, ++p->seq, len, addr};
	uint32_t out_len = NPU_USB_REQ_BYTES + (op == NPU_USB_OP_WRITE ? len : 0);
	uint32_t in_len = NPU_USB_RSP_BYTES + (op == NPU_USB_OP_READ ? len : 0);
	int rc;

	npu_usb_req_put(s->out_buf, &req);
	if (op == NPU_USB_OP_WRITE)
		memcpy(s->out_buf + NPU_USB_REQ_BYTES, host, len);
	s->seq = req.seq;
	s->len = len;
	s->op = op;
	s->host = host;
	s->done = 0;
	libusb_fill_bulk_transfer(s->out, p->h, NPU_USB_EP_BULK_OUT, s->out_buf, (int)out_len,
	                          usb_slot_cb, s, USB_BULK_TIMEOUT_MS);
	/* A request whose length is a multiple of the packet size ends with a
	 * zero-length packet: a board's USB controller sees the transfer end
	 * there even when the header was bad and the board is discarding up to
	 * the end (docs/USB_PROTOCOL.md, "How the board parses a transfer"). */
	s->out->flags = LIBUSB_TRANSFER_ADD_ZERO_PACKET;
	libusb_fill_bulk_transfer(s->in, p->h, NPU_USB_EP_BULK_IN, s->in_buf, (int)in_len,
	                          usb_slot_cb, s, USB_BULK_TIMEOUT_MS);
	if ((rc = libusb_submit_transfer(s->out)) < 0)
		return usb_status(p, rc);
	s->active = 1;
	if ((rc = libusb_submit_transfer(s->in)) < 0)
		return usb_status(p, rc); /* the caller reaps the OUT half */
	s->active = 2;
	return NPU_OK;
}

/* Both halves of a completed slot: transfer status, then the reply. A
 * reply with an error status leaves the stream in step (NPU_ERR_IO with
 * *in_step set); a transfer that failed does not. */
static int usb_slot_check(struct usb_priv *p, struct usb_slot *s, int *in_step)
{
	const struct libusb_transfer *o = s->out, *i = s->in;
	uint32_t want_out = NPU_USB_REQ_BYTES + (s->op == NPU_USB_OP_WRITE ? s->len : 0);
	struct npu_usb_rsp r;

	*in_step = 0;
	if (o->status == LIBUSB_TRANSFER_NO_DEVICE || i->status == LIBUSB_TRANSFER_NO_DEVICE)
		p->gone = 1;
	if (p->gone)
		return NPU_ERR_DISCONNECTED;
	if (o->status != LIBUSB_TRANSFER_COMPLETED || i->status != LIBUSB_TRANSFER_COMPLETED ||
	    (uint32_t)o->actual_length != want_out || i->actual_length < (int)NPU_USB_RSP_BYTES)
		return NPU_ERR_IO;
	npu_usb_rsp_get(s->in_buf, &r);
	if (r.magic != NPU_USB_RSP_MAGIC || r.seq != s->seq || r.op != s->op)
		return NPU_ERR_IO; /* not the reply to this request: out of step */
	*in_step = 1;
	if (r.status != NPU_USB_ST_OK) {
		usb_note("bulk %s of %u bytes: board status %u",
		         s->op == NPU_USB_OP_READ ? "read" : "write", s->len, r.status);
		return NPU_ERR_IO;
	}
	if (s->op == NPU_USB_OP_READ) {
		if (r.len != s->len || (uint32_t)i->actual_length != NPU_USB_RSP_BYTES + s->len) {
			*in_step = 0;
			return NPU_ERR_IO;
		}
		memcpy(s->host, s->in_buf + NPU_USB_RSP_BYTES, s->len);
	} else if (r.len != 0 || i->actual_length != (int)NPU_USB_RSP_BYTES) {
		*in_step = 0;
		return NPU_ERR_IO;
	}
	return NPU_OK;
}

/* Move len bytes between host and board DRAM at dev: op WRITE or READ,
 * split into chunks, USB_SLOTS requests in flight. Every transfer
 * submitted here has completed or been reaped when it returns. */
static int usb_bulk(struct usb_priv *p, uint8_t op, uint64_t dev, uint8_t *host, size_t len)
{
	const size_t n = (len + p->chunk - 1) / p->chunk;
	size_t next = 0, done = 0;
	int rc = NPU_OK, in_step = 1;

	if (p->gone)
		return NPU_ERR_DISCONNECTED;
	if (p->broken)
		return NPU_ERR_IO;
	while (done < n) {
		while (rc == NPU_OK && next < n && next - done < USB_SLOTS) {
			size_t off = next * p->chunk;
			uint32_t l = (uint32_t)(len - off < p->chunk ? len - off : p->chunk);

			rc = usb_slot_submit(p, &p->slot[next % USB_SLOTS], op, dev + off,
			                     host + off, l);
			next++;
			if (rc)
				in_step = 0;
		}
		if (rc != NPU_OK && !in_step)
			break;
		struct usb_slot *s = &p->slot[done % USB_SLOTS];
		uint64_t end = now_ms() + 2u * USB_BULK_TIMEOUT_MS;
		int r, ok_step;

		while (s->active && !p->gone && now_ms() < end)
			usb_events(p, &s->done, (int)(end - now_ms()));
		if (s->active) { /* gone, or libusb's own timeout did not fire */
			rc = p->gone ? NPU_ERR_DISCONNECTED : NPU_ERR_IO;
			in_step = 0;
			break;
		}
		r = usb_slot_check(p, s, &ok_step);
		done++;
		if (r != NPU_OK && rc == NPU_OK)
			rc = r;
		if (!ok_step) {
			in_step = 0;
			break;
		}
		/* An error reply keeps the stream in step: the replies to the
		 * requests in flight are read, no new ones are sent. */
		if (rc != NPU_OK && done == next)
			break;
	}
	if (!in_step) {
		usb_reap(p);
		if (!p->gone)
			p->broken = 1;
	}
	return p->gone ? NPU_ERR_DISCONNECTED : rc;
}

/* Write the held-back TO_DEVICE bytes, if any. */
static int usb_flush(struct usb_priv *p)
{
	size_t len = p->pend_len;

	if (!len)
		return NPU_OK;
	p->pend_len = 0;
	return usb_bulk(p, NPU_USB_OP_WRITE, p->pend_dev, p->stage, len);
}

/* Hold back a small TO_DEVICE sync: appended to the held-back bytes when
 * it continues them (ring entries, one after the other), else those are
 * written first. The bytes are copied now: the device must see them as
 * they were at the sync. */
static int usb_hold(struct usb_priv *p, uint64_t dev, const uint8_t *host, size_t len)
{
	int rc;

	if (p->pend_len && p->pend_dev + p->pend_len != dev && (rc = usb_flush(p)))
		return rc;
	if (!p->pend_len)
		p->pend_dev = dev;
	if (p->pend_len + len > p->stage_cap) {
		size_t cap = p->pend_len + len > USB_STAGE_MIN ? p->pend_len + len : USB_STAGE_MIN;
		uint8_t *st = realloc(p->stage, cap);

		if (!st)
			return NPU_ERR_NO_MEM;
		p->stage = st;
		p->stage_cap = cap;
	}
	memcpy(p->stage + p->pend_len, host, len);
	p->pend_len += len;
	return p->pend_len >= USB_HOLD_MAX ? usb_flush(p) : NPU_OK;
}

/* ---- events --------------------------------------------------------- */

static void LIBUSB_CALL usb_intr_cb(struct libusb_transfer *t)
{
	struct usb_priv *p = t->user_data;
	int n;

	p->intr_active = 0;
	p->wake = 1;
	switch (t->status) {
	case LIBUSB_TRANSFER_COMPLETED:
		break;
	case LIBUSB_TRANSFER_CANCELLED:
		return;
	case LIBUSB_TRANSFER_NO_DEVICE:
		p->gone = 1;
		return;
	default:
		p->intr_error = 1;
		return;
	}
	n = t->actual_length;
	if (n == 0 || n % (int)NPU_USB_EVENT_BYTES)
		p->intr_error = 1;
	for (int off = 0; off + (int)NPU_USB_EVENT_BYTES <= n; off += NPU_USB_EVENT_BYTES) {
		struct npu_usb_event e;

		npu_usb_event_get(t->buffer + off, &e);
		if (e.magic != NPU_USB_EVENT_MAGIC) {
			p->intr_error = 1;
			continue;
		}
		if ((int32_t)(e.seq - p->event_floor) < 0)
			continue; /* made before the last reset */
		p->event_floor = e.seq + 1;
		p->events++;
	}
	/* Resubmitted at once, so that the board's queue keeps draining. */
	n = libusb_submit_transfer(t);
	if (n == 0)
		p->intr_active = 1;
	else if (n == LIBUSB_ERROR_NO_DEVICE)
		p->gone = 1;
	else
		p->intr_error = 1;
}

static int usb_intr_submit(struct usb_priv *p)
{
	int rc;

	if (p->intr_active)
		return NPU_OK;
	libusb_fill_interrupt_transfer(p->intr, p->h, NPU_USB_EP_INTR_IN, p->intr_buf,
	                               sizeof(p->intr_buf), usb_intr_cb, p, 0);
	if ((rc = libusb_submit_transfer(p->intr)) < 0) {
		usb_note("event endpoint: %s", libusb_strerror(rc));
		return usb_status(p, rc);
	}
	p->intr_active = 1;
	return NPU_OK;
}

/* Cancel the interrupt transfer and wait for its callback. */
static void usb_intr_stop(struct usb_priv *p)
{
	uint64_t end = now_ms() + USB_REAP_MS;

	if (!p->intr_active)
		return;
	libusb_cancel_transfer(p->intr);
	while (p->intr_active && now_ms() < end) {
		p->wake = 0;
		usb_events(p, &p->wake, (int)(end - now_ms()));
	}
}

static int LIBUSB_CALL usb_hotplug_cb(libusb_context *ctx, libusb_device *dev,
                                      libusb_hotplug_event ev, void *arg)
{
	struct usb_priv *p = arg;

	(void)ctx;
	if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT && p->h && dev == libusb_get_device(p->h)) {
		p->gone = 1;
		p->wake = 1;
		usb_note("board left the bus");
	}
	return 0;
}

/* ---- open / close --------------------------------------------------- */

/* s[0..len) is 1..maxd characters, all digits of base 10 or 16. */
static int parse_num(const char *s, size_t len, size_t mind, size_t maxd, int base, unsigned *out)
{
	unsigned v = 0;

	if (len < mind || len > maxd)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * (unsigned)base + (unsigned)d;
	}
	*out = v;
	return 0;
}

/* What the URI selects. */
struct usb_match {
	int by_addr;
	unsigned bus, addr; /* by_addr */
	unsigned vid, pid;  /* otherwise */
};

static int usb_parse(const char *args, struct usb_match *m)
{
	const char *colon = strchr(args, ':');
	size_t l1, l2;

	m->by_addr = 0;
	m->vid = NPU_USB_VID;
	m->pid = NPU_USB_PID;
	if (!*args)
		return 0;
	if (!colon || strchr(colon + 1, ':'))
		return -1;
	l1 = (size_t)(colon - args);
	l2 = strlen(colon + 1);
	if (l1 == 4 && l2 == 4)
		return parse_num(args, 4, 4, 4, 16, &m->vid) ||
		                       parse_num(colon + 1, 4, 4, 4, 16, &m->pid)
		               ? -1
		               : 0;
	m->by_addr = 1;
	if (parse_num(args, l1, 1, 3, 10, &m->bus) ||
	    parse_num(colon + 1, l2, 1, 3, 10, &m->addr) || m->bus > 255 || m->addr > 127)
		return -1;
	return 0;
}

/* Open the first device m selects. NPU_OK, NPU_ERR_NO_DEVICE, NPU_ERR_IO. */
static int usb_find(struct usb_priv *p, const struct usb_match *m)
{
	libusb_device **list;
	ssize_t n = libusb_get_device_list(p->ctx, &list);
	int rc = NPU_ERR_NO_DEVICE;

	if (n < 0)
		return usb_status(p, (int)n);
	for (ssize_t i = 0; i < n; i++) {
		struct libusb_device_descriptor dd;
		int r;

		if (m->by_addr) {
			if (libusb_get_bus_number(list[i]) != m->bus ||
			    libusb_get_device_address(list[i]) != m->addr)
				continue;
		} else if (libusb_get_device_descriptor(list[i], &dd) != 0 ||
		           dd.idVendor != m->vid || dd.idProduct != m->pid) {
			continue;
		}
		r = libusb_open(list[i], &p->h);
		if (r == 0) {
			rc = NPU_OK;
			break;
		}
		usb_note("bus %u device %u: cannot open: %s", libusb_get_bus_number(list[i]),
		         libusb_get_device_address(list[i]), libusb_strerror(r));
		rc = r == LIBUSB_ERROR_NO_DEVICE ? NPU_ERR_NO_DEVICE : NPU_ERR_IO;
		break;
	}
	libusb_free_device_list(list, 1);
	if (rc == NPU_ERR_NO_DEVICE)
		usb_note("no board%s", m->by_addr ? " at that bus:address" : " with that VID:PID");
	return rc;
}

/* GET_INFO and the checks on it. */
static int usb_handshake(struct usb_priv *p)
{
	uint8_t b[NPU_USB_INFO_BYTES];
	struct npu_usb_info *in = &p->info;
	int rc = usb_ctrl_in(p, NPU_USB_REQ_GET_INFO, 0, b, sizeof(b));

	if (rc) {
		usb_note("GET_INFO failed");
		return rc == NPU_ERR_DISCONNECTED ? NPU_ERR_NO_DEVICE : NPU_ERR_NOT_SUPPORTED;
	}
	npu_usb_info_get(b, in);
	if (in->magic != NPU_USB_INFO_MAGIC || in->proto_major != NPU_USB_PROTO_MAJOR) {
		usb_note("not an lwnpu board of protocol %u (magic 0x%08x, protocol %u.%u)",
		         NPU_USB_PROTO_MAJOR, in->magic, in->proto_major, in->proto_minor);
		return NPU_ERR_NOT_SUPPORTED;
	}
	if (in->npu_status != NPU_USB_ST_OK || !in->max_xfer || in->dram_size < USB_ALIGN) {
		usb_note("board refuses: npu_status %u, max_xfer %u, dram_size %llu",
		         in->npu_status, in->max_xfer, (unsigned long long)in->dram_size);
		return NPU_ERR_NOT_SUPPORTED;
	}
	p->chunk = in->max_xfer < USB_CHUNK_CAP ? in->max_xfer : USB_CHUNK_CAP;
	return NPU_OK;
}

static void usb_close(struct npu_hw *hw);

static int usb_alloc_transfers(struct usb_priv *p)
{
	if (!(p->intr = libusb_alloc_transfer(0)))
		return -1;
	for (unsigned i = 0; i < USB_SLOTS; i++) {
		struct usb_slot *s = &p->slot[i];

		s->out = libusb_alloc_transfer(0);
		s->in = libusb_alloc_transfer(0);
		s->out_buf = malloc(NPU_USB_REQ_BYTES + (size_t)p->chunk);
		s->in_buf = malloc(NPU_USB_RSP_BYTES + (size_t)p->chunk);
		if (!s->out || !s->in || !s->out_buf || !s->in_buf)
			return -1;
	}
	return 0;
}

static int usb_open(struct npu_hw *hw, const char *args)
{
	struct usb_priv *p = npu_hw_priv(hw);
	struct usb_match m;
	uint64_t base, size;
	int rc;

	if (usb_parse(args, &m))
		return NPU_ERR_INVALID_ARG;
	if ((rc = libusb_init(&p->ctx)) != 0) {
		usb_note("libusb_init: %s", libusb_strerror(rc));
		p->ctx = NULL;
		return rc == LIBUSB_ERROR_NO_MEM ? NPU_ERR_NO_MEM : NPU_ERR_IO;
	}
	if ((rc = usb_find(p, &m)) != NPU_OK)
		goto err;
	libusb_set_auto_detach_kernel_driver(p->h, 1);
	if ((rc = libusb_claim_interface(p->h, NPU_USB_INTERFACE)) != 0) {
		usb_note("cannot claim interface %u: %s", NPU_USB_INTERFACE, libusb_strerror(rc));
		rc = rc == LIBUSB_ERROR_NO_DEVICE ? NPU_ERR_NO_DEVICE : NPU_ERR_IO;
		goto err;
	}
	p->claimed = 1;
	if ((rc = usb_handshake(p)) != NPU_OK)
		goto err;
	rc = NPU_ERR_NO_MEM;
	if (usb_alloc_transfers(p))
		goto err;
	/* Board DRAM; never address 0, so that a zeroed address field can
	 * never hit a buffer. */
	base = (p->info.dram_base + USB_ALIGN - 1) & ~(USB_ALIGN - 1);
	if (!base)
		base = USB_ALIGN;
	size = p->info.dram_base + p->info.dram_size > base
	               ? (p->info.dram_base + p->info.dram_size - base) & ~(USB_ALIGN - 1)
	               : 0;
	if (npui_dram_init(&p->dram, base, size))
		goto err;
	if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) &&
	    libusb_hotplug_register_callback(p->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
	                                     LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
	                                     LIBUSB_HOTPLUG_MATCH_ANY, usb_hotplug_cb, p,
	                                     &p->hotplug) == 0)
		p->have_hotplug = 1;
	/* A known state whatever the last host left: no queued requests,
	 * replies or events. */
	if ((rc = usb_board_reset(p)) != NPU_OK || (rc = usb_intr_submit(p)) != NPU_OK) {
		usb_note("RESET or the event endpoint failed: status %d", rc);
		rc = rc == NPU_ERR_DISCONNECTED ? NPU_ERR_NO_DEVICE : NPU_ERR_IO;
		goto err;
	}
	return NPU_OK;

err:
	usb_close(hw);
	return rc;
}

static void usb_close(struct npu_hw *hw)
{
	struct usb_priv *p = npu_hw_priv(hw);

	if (p->h) {
		usb_intr_stop(p);
		usb_reap(p);
		if (p->claimed && !p->gone)
			libusb_release_interface(p->h, NPU_USB_INTERFACE);
		libusb_close(p->h);
	}
	if (p->have_hotplug)
		libusb_hotplug_deregister_callback(p->ctx, p->hotplug);
	/* Transfers are freed only once nothing is in flight: one that could
	 * not be reaped (USB_REAP_MS) is leaked rather than freed under
	 * libusb. */
	if (!p->intr_active)
		libusb_free_transfer(p->intr);
	for (unsigned i = 0; i < USB_SLOTS; i++) {
		struct usb_slot *s = &p->slot[i];

		if (s->active)
			continue;
		libusb_free_transfer(s->out);
		libusb_free_transfer(s->in);
		free(s->out_buf);
		free(s->in_buf);
	}
	if (p->ctx)
		libusb_exit(p->ctx);
	npui_dram_fini(&p->dram);
	free(p->stage);
	memset(p, 0, sizeof(*p));
}

/* ---- registers ------------------------------------------------------ */

static int usb_reg_read(struct npu_hw *hw, uint32_t off, uint32_t *v)
{
	struct usb_priv *p = npu_hw_priv(hw);
	uint8_t b[8];
	int rc;

	if (off >= NPU_HW_CSR_BYTES || (off & 3))
		return NPU_ERR_INVALID_ARG;
	if (p->gone)
		return NPU_ERR_DISCONNECTED;
	if ((rc = usb_ctrl_in(p, NPU_USB_REQ_REG_READ, (uint16_t)off, b, sizeof(b))))
		return rc;
	switch (npu_usb_get32(b)) {
	case NPU_USB_ST_OK:
		*v = npu_usb_get32(b + 4);
		return NPU_OK;
	case NPU_USB_ST_BAD_REG:
		return NPU_ERR_INVALID_ARG;
	default:
		return NPU_ERR_IO;
	}
}

static int usb_reg_write(struct npu_hw *hw, uint32_t off, uint32_t v)
{
	struct usb_priv *p = npu_hw_priv(hw);
	struct npu_usb_status st;
	uint8_t b[4];
	int rc;

	if (off >= NPU_HW_CSR_BYTES || (off & 3))
		return NPU_ERR_INVALID_ARG;
	if (p->gone)
		return NPU_ERR_DISCONNECTED;
	if ((rc = usb_flush(p)))
		return rc;
	npu_usb_put32(b, v);
	rc = libusb_control_transfer(p->h, NPU_USB_RT_OUT, NPU_USB_REQ_REG_WRITE, 0, (uint16_t)off,
	                             b, sizeof(b), USB_CTRL_TIMEOUT_MS);
	if (rc == (int)sizeof(b))
		return NPU_OK;
	if (rc >= 0)
		return NPU_ERR_IO;
	if (rc != LIBUSB_ERROR_PIPE)
		return usb_status(p, rc);
	/* The board STALLed the status stage: ask why. */
	if ((rc = usb_get_status(p, &st)))
		return rc;
	return st.last_error == NPU_USB_ST_BAD_REG ? NPU_ERR_INVALID_ARG : NPU_ERR_IO;
}

/* ---- buffers -------------------------------------------------------- */

static int usb_buf_alloc(struct npu_hw *hw, size_t size, uint32_t flags, struct npu_hw_buf *buf)
{
	struct usb_priv *p = npu_hw_priv(hw);
	size_t rounded;
	uint64_t addr;
	void *host;

	if (!size || !flags || (flags & ~(NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE)))
		return NPU_ERR_INVALID_ARG;
	if (size > SIZE_MAX - USB_ALIGN)
		return NPU_ERR_NO_MEM;
	rounded = (size + USB_ALIGN - 1) & ~(size_t)(USB_ALIGN - 1);
	host = aligned_alloc(USB_ALIGN, rounded);
	if (!host)
		return NPU_ERR_NO_MEM;
	if (npui_dram_alloc(&p->dram, rounded, &addr)) {
		free(host);
		return NPU_ERR_NO_MEM;
	}
	memset(host, 0, rounded);
	buf->host = host;
	buf->dev_addr = addr;
	buf->size = size;
	buf->flags = flags;
	buf->priv = NULL;
	return NPU_OK;
}

static void usb_buf_free(struct npu_hw *hw, struct npu_hw_buf *buf)
{
	struct usb_priv *p = npu_hw_priv(hw);
	size_t rounded = (buf->size + USB_ALIGN - 1) & ~(size_t)(USB_ALIGN - 1);

	/* Held-back bytes for this buffer alone need not reach the board. */
	if (p->pend_len && p->pend_dev >= buf->dev_addr &&
	    p->pend_dev + p->pend_len <= buf->dev_addr + rounded)
		p->pend_len = 0;
	npui_dram_free(&p->dram, buf->dev_addr, rounded);
	free(buf->host);
}

static int usb_buf_sync(struct npu_hw *hw, struct npu_hw_buf *buf, size_t off, size_t len,
                        enum npu_hw_sync_dir dir)
{
	struct usb_priv *p = npu_hw_priv(hw);
	int rc;

	if (off > buf->size || len > buf->size - off)
		return NPU_ERR_INVALID_ARG;
	if (p->gone)
		return NPU_ERR_DISCONNECTED;
	if (!len)
		return NPU_OK;
	if (dir == NPU_HW_SYNC_TO_DEVICE) {
		if (len < USB_HOLD_MAX)
			return usb_hold(p, buf->dev_addr + off, (uint8_t *)buf->host + off, len);
		if ((rc = usb_flush(p)))
			return rc;
		return usb_bulk(p, NPU_USB_OP_WRITE, buf->dev_addr + off,
		                (uint8_t *)buf->host + off, len);
	}
	if (dir != NPU_HW_SYNC_FROM_DEVICE)
		return NPU_ERR_INVALID_ARG;
	if ((rc = usb_flush(p)))
		return rc;
	return usb_bulk(p, NPU_USB_OP_READ, buf->dev_addr + off, (uint8_t *)buf->host + off, len);
}

/* ---- submit, interrupts, reset -------------------------------------- */

static int usb_submit(struct npu_hw *hw, uint32_t tail)
{
	int rc = usb_reg_write(hw, NPU_REG_RING_TAIL, tail);

	return rc ? rc : usb_reg_write(hw, NPU_REG_DOORBELL, 1);
}

static int usb_wait_irq(struct npu_hw *hw, int timeout_ms)
{
	struct usb_priv *p = npu_hw_priv(hw);
	uint64_t end = timeout_ms >= 0 ? now_ms() + (uint64_t)timeout_ms : 0;
	int rc;

	if (p->gone)
		return NPU_ERR_DISCONNECTED;
	if ((rc = usb_flush(p)) || (rc = usb_intr_submit(p)))
		return rc;
	while (!p->events) {
		uint64_t t = now_ms();

		if (p->gone)
			return NPU_ERR_DISCONNECTED;
		if (p->intr_error) {
			p->intr_error = 0;
			return NPU_ERR_IO;
		}
		if (!p->intr_active && (rc = usb_intr_submit(p)))
			return rc;
		if (timeout_ms >= 0 && t >= end)
			return NPU_ERR_TIMEOUT;
		p->wake = 0;
		usb_events(p, &p->wake, timeout_ms >= 0 ? (int)(end - t) : USB_POLL_MS);
	}
	p->events--;
	return NPU_OK;
}

static int usb_reset(struct npu_hw *hw)
{
	struct usb_priv *p = npu_hw_priv(hw);
	int rc;

	if (p->gone)
		return NPU_ERR_DISCONNECTED;
	if ((rc = usb_board_reset(p)))
		return rc;
	/* The reset keeps board DRAM: what was held back still goes there. */
	if ((rc = usb_flush(p)))
		return rc;
	return usb_intr_submit(p);
}

const struct npu_backend_ops npu_usb_backend = {
        .name = "usb",
        .summary = "an lwnpu dev board over USB (libusb): usb, usb:BUS:ADDR, usb:VID:PID",
        .priv_size = sizeof(struct usb_priv),
        .open = usb_open,
        .close = usb_close,
        .reg_read = usb_reg_read,
        .reg_write = usb_reg_write,
        .buf_alloc = usb_buf_alloc,
        .buf_free = usb_buf_free,
        .buf_sync = usb_buf_sync,
        .submit = usb_submit,
        .wait_irq = usb_wait_irq,
        .reset = usb_reset,
};
