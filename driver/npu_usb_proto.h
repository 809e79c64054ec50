/*
 * The lwnpu dev-board USB protocol, version 1 (docs/USB_PROTOCOL.md).
 *
 * Shared by the host's usb backend (driver/usb.c) and the board's
 * firmware (firmware/). Data only: constants and wire layouts, no code.
 * Every multi-byte field is little-endian on the wire, at the offsets the
 * _put/_get helpers at the end write and read, fields in the order the
 * structs list them, packed. The structs are the decoded form only: never
 * cast a byte buffer to one (alignment, endianness, padding).
 *
 * The board: one USB device, one vendor-specific interface (0) with three
 * endpoints besides control endpoint 0:
 *   EP 0x01 bulk OUT   requests to board memory (WRITE with its data, READ)
 *   EP 0x82 bulk IN    one reply per request, in request order
 *   EP 0x83 interrupt IN  events: the NPU's interrupt line rose
 * Registers go over vendor control requests on EP0.
 */
#ifndef NPU_DRIVER_NPU_USB_PROTO_H
#define NPU_DRIVER_NPU_USB_PROTO_H

#include <stdint.h>

/* Protocol version. A host refuses a board of another major version; a
 * minor version only adds (new requests, new fields at the end of INFO). */
#define NPU_USB_PROTO_MAJOR 1u
#define NPU_USB_PROTO_MINOR 0u

/* USB identity of a dev board. 0x1209 is the pid.codes vendor ID for open
 * hardware; PID 0x0001 is one of its test PIDs, for development boards
 * only: a board that ships needs a PID of its own. */
#define NPU_USB_VID 0x1209u
#define NPU_USB_PID 0x0001u

#define NPU_USB_INTERFACE   0u
#define NPU_USB_EP_BULK_OUT 0x01u
#define NPU_USB_EP_BULK_IN  0x82u
#define NPU_USB_EP_INTR_IN  0x83u
/* wMaxPacketSize of the endpoints at high speed. */
#define NPU_USB_BULK_PACKET 512u
#define NPU_USB_INTR_PACKET 64u

/* ---- Vendor control requests (EP0) ----------------------------------- */

/* bmRequestType: vendor, device recipient. */
#define NPU_USB_RT_IN  0xc0u /* device to host */
#define NPU_USB_RT_OUT 0x40u /* host to device */

/* bRequest values. */
enum npu_usb_request {
	/* IN, wValue 0, wIndex 0, wLength NPU_USB_INFO_BYTES or more (a host
	 * of a later minor version asks for its longer INFO): struct
	 * npu_usb_info, the handshake, as long as the board's INFO is (a short
	 * reply). Always answered, whatever the state. */
	NPU_USB_REQ_GET_INFO = 0x01,
	/* IN, wValue 0, wIndex = CSR byte offset (4-aligned, below
	 * NPU_HW_CSR_BYTES), wLength 8: struct npu_usb_reg_reply. An
	 * out-of-range offset or a bus error is answered with its status
	 * (value 0), not a STALL. */
	NPU_USB_REQ_REG_READ = 0x02,
	/* OUT, wValue 0, wIndex = CSR byte offset, wLength 4: the value. A bad
	 * offset or a bus error STALLs the status stage; GET_STATUS says why. */
	NPU_USB_REQ_REG_WRITE = 0x03,
	/* IN, wValue 0, wIndex 0, wLength NPU_USB_STATUS_BYTES: struct
	 * npu_usb_status (the last error, counters). Reading does not clear. */
	NPU_USB_REQ_GET_STATUS = 0x04,
	/* OUT, wValue 0, wIndex 0, wLength 0: soft-reset the NPU (CTRL
	 * SOFT_RESET, then wait until its bus is idle), drop every queued bulk
	 * request and reply and every undelivered event, and clear the last
	 * error. The next event's seq continues from where it was. */
	NPU_USB_REQ_RESET = 0x05,
};

/* Status codes: of replies, of REG_READ, and GET_STATUS's last error. */
enum npu_usb_status_code {
	NPU_USB_ST_OK = 0,
	NPU_USB_ST_BAD_MAGIC = 1,    /* request header magic wrong */
	NPU_USB_ST_BAD_OP = 2,       /* unknown op, or flags/reserved not 0 */
	NPU_USB_ST_BAD_LEN = 3,      /* len 0 or above max_xfer */
	NPU_USB_ST_BAD_ADDR = 4,     /* [addr, addr+len) not inside board DRAM */
	NPU_USB_ST_SHORT = 5,        /* WRITE transfer ended before len data bytes */
	NPU_USB_ST_BAD_REG = 6,      /* CSR offset unaligned or outside the window */
	NPU_USB_ST_BUS_ERROR = 7,    /* the NPU's CSR bus or DRAM answered an error */
	NPU_USB_ST_BAD_REQUEST = 8,  /* control request unknown or wrong wLength/direction */
	NPU_USB_ST_OVERFLOW = 9,     /* bytes after a complete request in one transfer */
	NPU_USB_ST_NPU_REFUSED = 10, /* the board's NPU failed the driver core's checks */
};

/* GET_INFO reply. */
#define NPU_USB_INFO_MAGIC 0x4f464e4cu /* "LNFO" */
#define NPU_USB_INFO_BYTES 72u
struct npu_usb_info {
	uint32_t magic;       /* NPU_USB_INFO_MAGIC */
	uint16_t proto_major; /* NPU_USB_PROTO_MAJOR */
	uint16_t proto_minor;
	uint32_t board_id;    /* board type/revision, board-defined */
	uint32_t fw_version;  /* firmware version, (major << 16) | minor */
	uint32_t max_xfer;    /* largest len of one bulk request, bytes */
	uint32_t npu_status;  /* NPU_USB_ST_OK; NPU_REFUSED: the NPU's ID/VERSION/CAPS failed;
	                       * BUS_ERROR: the CSR bus failed while they were read */
	uint64_t dram_base;   /* NPU address of board DRAM */
	uint64_t dram_size;   /* bytes */
	uint32_t npu_id;      /* the NPU's ID, VERSION, CAPS0..3, CAPS_ENGINES */
	uint32_t npu_version; /* registers as the firmware read them at boot */
	uint32_t caps[4];
	uint32_t caps_engines;
	uint32_t rsvd; /* 0 */
};

/* REG_READ reply. */
struct npu_usb_reg_reply {
	uint32_t status; /* npu_usb_status_code */
	uint32_t value;
};

/* GET_STATUS reply. */
#define NPU_USB_STATUS_BYTES 24u
struct npu_usb_status {
	uint32_t last_error;     /* status of the last failed request, 0 if none */
	uint32_t last_error_seq; /* its seq (bulk) or bRequest (control) */
	uint32_t requests;       /* bulk requests parsed since boot or RESET */
	uint32_t errors;         /* of them, answered with an error */
	uint32_t next_event_seq; /* seq the next event will carry */
	uint32_t flags;          /* NPU_USB_STATUS_* */
};
#define NPU_USB_STATUS_IRQ_LINE 0x1u /* the NPU's interrupt line is high now */

/* ---- Bulk requests (EP 0x01) and replies (EP 0x82) ------------------- */

/*
 * A bulk OUT transfer carries exactly one request: the header, then for a
 * WRITE exactly len data bytes. The board answers every request with one
 * reply on bulk IN, in order: the reply header, then for a successful READ
 * len data bytes. The host reads a reply with a transfer of exactly
 * NPU_USB_RSP_BYTES (+ len for a READ); an error reply to a READ is only
 * the header (a short transfer). A host may have several requests in
 * flight; the board accepts up to NPU_USB_MAX_INFLIGHT requests whose
 * replies the host has not yet read, and NAKs further OUT transfers.
 */
#define NPU_USB_REQ_MAGIC    0x5152574cu /* "LWRQ" */
#define NPU_USB_RSP_MAGIC    0x5352574cu /* "LWRS" */
#define NPU_USB_REQ_BYTES    24u
#define NPU_USB_RSP_BYTES    16u
#define NPU_USB_MAX_INFLIGHT 16u

enum npu_usb_op {
	NPU_USB_OP_WRITE = 1, /* host to board DRAM */
	NPU_USB_OP_READ = 2,  /* board DRAM to host */
};

struct npu_usb_req {
	uint32_t magic; /* NPU_USB_REQ_MAGIC */
	uint8_t op;     /* npu_usb_op */
	uint8_t flags;  /* 0 */
	uint16_t rsvd;  /* 0 */
	uint32_t seq;   /* the host's number, echoed in the reply */
	uint32_t len;   /* data bytes, 1 .. max_xfer */
	uint64_t addr;  /* NPU address in board DRAM */
};

struct npu_usb_rsp {
	uint32_t magic;  /* NPU_USB_RSP_MAGIC */
	uint8_t op;      /* the request's op (0 if it was unreadable) */
	uint8_t rsvd;    /* 0 */
	uint16_t status; /* npu_usb_status_code */
	uint32_t seq;    /* the request's seq (0 if it was unreadable) */
	uint32_t len;    /* data bytes following: len of a good READ, else 0 */
};

/* ---- Events (EP 0x83) ------------------------------------------------- */

/*
 * The board sends one event each time the NPU's interrupt line rises
 * (level seen high after having been low, or high after a RESET). It does
 * not acknowledge the interrupt: the host reads IRQ_STATUS and writes it
 * back over REG_READ/REG_WRITE as on any bus, and the line falls then.
 * The fault fields are the NPU's ERR_* registers read when the event was
 * made (meaningful when irq_status has the ERROR bit).
 */
#define NPU_USB_EVENT_MAGIC 0x5645574cu /* "LWEV" */
#define NPU_USB_EVENT_BYTES 32u
#define NPU_USB_MAX_EVENTS  8u /* queued on the board; older ones are dropped */
struct npu_usb_event {
	uint32_t magic;      /* NPU_USB_EVENT_MAGIC */
	uint32_t seq;        /* event number since boot */
	uint32_t irq_status; /* the NPU's IRQ_STATUS */
	uint32_t err_code;   /* ERR_CODE */
	uint64_t err_addr;   /* ERR_ADDR_HI:LO */
	uint32_t err_index;  /* ERR_INDEX */
	uint32_t dropped;    /* events dropped since the last one delivered */
};

/* ---- Little-endian access -------------------------------------------- */

static inline uint16_t npu_usb_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t npu_usb_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t npu_usb_get64(const uint8_t *p)
{
	return (uint64_t)npu_usb_get32(p) | (uint64_t)npu_usb_get32(p + 4) << 32;
}

static inline void npu_usb_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void npu_usb_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void npu_usb_put64(uint8_t *p, uint64_t v)
{
	npu_usb_put32(p, (uint32_t)v);
	npu_usb_put32(p + 4, (uint32_t)(v >> 32));
}

/* Whole records, to/from their wire bytes. */
static inline void npu_usb_req_put(uint8_t *p, const struct npu_usb_req *r)
{
	npu_usb_put32(p + 0, r->magic);
	p[4] = r->op;
	p[5] = r->flags;
	npu_usb_put16(p + 6, r->rsvd);
	npu_usb_put32(p + 8, r->seq);
	npu_usb_put32(p + 12, r->len);
	npu_usb_put64(p + 16, r->addr);
}

static inline void npu_usb_req_get(const uint8_t *p, struct npu_usb_req *r)
{
	r->magic = npu_usb_get32(p + 0);
	r->op = p[4];
	r->flags = p[5];
	r->rsvd = npu_usb_get16(p + 6);
	r->seq = npu_usb_get32(p + 8);
	r->len = npu_usb_get32(p + 12);
	r->addr = npu_usb_get64(p + 16);
}

static inline void npu_usb_rsp_put(uint8_t *p, const struct npu_usb_rsp *r)
{
	npu_usb_put32(p + 0, r->magic);
	p[4] = r->op;
	p[5] = r->rsvd;
	npu_usb_put16(p + 6, r->status);
	npu_usb_put32(p + 8, r->seq);
	npu_usb_put32(p + 12, r->len);
}

static inline void npu_usb_rsp_get(const uint8_t *p, struct npu_usb_rsp *r)
{
	r->magic = npu_usb_get32(p + 0);
	r->op = p[4];
	r->rsvd = p[5];
	r->status = npu_usb_get16(p + 6);
	r->seq = npu_usb_get32(p + 8);
	r->len = npu_usb_get32(p + 12);
}

static inline void npu_usb_info_put(uint8_t *p, const struct npu_usb_info *in)
{
	npu_usb_put32(p + 0, in->magic);
	npu_usb_put16(p + 4, in->proto_major);
	npu_usb_put16(p + 6, in->proto_minor);
	npu_usb_put32(p + 8, in->board_id);
	npu_usb_put32(p + 12, in->fw_version);
	npu_usb_put32(p + 16, in->max_xfer);
	npu_usb_put32(p + 20, in->npu_status);
	npu_usb_put64(p + 24, in->dram_base);
	npu_usb_put64(p + 32, in->dram_size);
	npu_usb_put32(p + 40, in->npu_id);
	npu_usb_put32(p + 44, in->npu_version);
	for (int i = 0; i < 4; i++)
		npu_usb_put32(p + 48 + 4 * i, in->caps[i]);
	npu_usb_put32(p + 64, in->caps_engines);
	npu_usb_put32(p + 68, in->rsvd);
}

static inline void npu_usb_info_get(const uint8_t *p, struct npu_usb_info *in)
{
	in->magic = npu_usb_get32(p + 0);
	in->proto_major = npu_usb_get16(p + 4);
	in->proto_minor = npu_usb_get16(p + 6);
	in->board_id = npu_usb_get32(p + 8);
	in->fw_version = npu_usb_get32(p + 12);
	in->max_xfer = npu_usb_get32(p + 16);
	in->npu_status = npu_usb_get32(p + 20);
	in->dram_base = npu_usb_get64(p + 24);
	in->dram_size = npu_usb_get64(p + 32);
	in->npu_id = npu_usb_get32(p + 40);
	in->npu_version = npu_usb_get32(p + 44);
	for (int i = 0; i < 4; i++)
		in->caps[i] = npu_usb_get32(p + 48 + 4 * i);
	in->caps_engines = npu_usb_get32(p + 64);
	in->rsvd = npu_usb_get32(p + 68);
}

static inline void npu_usb_status_put(uint8_t *p, const struct npu_usb_status *st)
{
	npu_usb_put32(p + 0, st->last_error);
	npu_usb_put32(p + 4, st->last_error_seq);
	npu_usb_put32(p + 8, st->requests);
	npu_usb_put32(p + 12, st->errors);
	npu_usb_put32(p + 16, st->next_event_seq);
	npu_usb_put32(p + 20, st->flags);
}

static inline void npu_usb_status_get(const uint8_t *p, struct npu_usb_status *st)
{
	st->last_error = npu_usb_get32(p + 0);
	st->last_error_seq = npu_usb_get32(p + 4);
	st->requests = npu_usb_get32(p + 8);
	st->errors = npu_usb_get32(p + 12);
	st->next_event_seq = npu_usb_get32(p + 16);
	st->flags = npu_usb_get32(p + 20);
}

static inline void npu_usb_event_put(uint8_t *p, const struct npu_usb_event *e)
{
	npu_usb_put32(p + 0, e->magic);
	npu_usb_put32(p + 4, e->seq);
	npu_usb_put32(p + 8, e->irq_status);
	npu_usb_put32(p + 12, e->err_code);
	npu_usb_put64(p + 16, e->err_addr);
	npu_usb_put32(p + 24, e->err_index);
	npu_usb_put32(p + 28, e->dropped);
}

static inline void npu_usb_event_get(const uint8_t *p, struct npu_usb_event *e)
{
	e->magic = npu_usb_get32(p + 0);
	e->seq = npu_usb_get32(p + 4);
	e->irq_status = npu_usb_get32(p + 8);
	e->err_code = npu_usb_get32(p + 12);
	e->err_addr = npu_usb_get64(p + 16);
	e->err_index = npu_usb_get32(p + 24);
	e->dropped = npu_usb_get32(p + 28);
}

#endif /* NPU_DRIVER_NPU_USB_PROTO_H */
