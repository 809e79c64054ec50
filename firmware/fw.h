/*
 * The dev board's firmware core (docs/USB_PROTOCOL.md): the USB protocol
 * of driver/npu_usb_proto.h, the register bridge, the DRAM bridge and
 * interrupt forwarding. Portable C: no OS calls, no allocation, no libc
 * beyond memset/memcpy; all state is in struct fw, which the board
 * allocates statically. The NPU is checked at fw_init by the driver core
 * (driver/npu_dev.c) over the HAL.
 *
 * The board's USB driver moves bytes between its endpoints and these
 * calls; none of them blocks. Not reentrant: one caller at a time (a real
 * board calls them from its main loop or with the USB interrupt masked).
 *
 * Every field that comes from the host is checked before it is used: a
 * malformed request gets an error reply (or a STALL on EP0), is counted
 * in GET_STATUS, and never touches memory outside board DRAM.
 */
#ifndef LWNPU_FIRMWARE_FW_H
#define LWNPU_FIRMWARE_FW_H

#include <stddef.h>
#include <stdint.h>

#include "driver/npu_usb_proto.h"
#include "firmware/fw_hal.h"

/* Firmware version reported in GET_INFO: (major << 16) | minor. */
#define FW_VERSION 0x00010000u
/* Largest len of one bulk request (GET_INFO max_xfer). */
#define FW_MAX_XFER 65536u

/* fw_control's answer for a request the board refuses: STALL EP0. */
#define FW_STALL (-1)

/* A queued reply: the request it answers. */
struct fw_reply {
	uint8_t op;
	uint16_t status;
	uint32_t seq;
	uint32_t len; /* data bytes to send after the header (good READ) */
	uint64_t addr;
};

struct fw {
	const struct fw_hal *hal;
	struct npu_usb_info info; /* GET_INFO, filled at fw_init */
	struct npu_usb_status st; /* GET_STATUS counters */

	/* Bulk OUT parser: the header collected so far, then a WRITE's data. */
	uint8_t hdr[NPU_USB_REQ_BYTES];
	uint32_t hdr_fill;
	struct npu_usb_req cur; /* the request whose data is arriving */
	uint32_t data_done;     /* bytes of cur's data written */
	int in_data;            /* collecting cur's data */
	int in_xfer;            /* a transfer has started and not ended */
	int discard;            /* rest of this transfer is dropped (after an error) */

	/* Replies not yet sent, oldest first (a ring). */
	struct fw_reply rq[NPU_USB_MAX_INFLIGHT];
	uint32_t rq_head, rq_count;
	uint32_t rsp_sent; /* bytes of the oldest reply already sent */

	/* Events not yet sent. */
	uint8_t ev[NPU_USB_MAX_EVENTS][NPU_USB_EVENT_BYTES];
	uint32_t ev_head, ev_count, ev_dropped;
	uint32_t ev_seq;
	int line_seen; /* the line was high at the last fw_poll and an event was made */
};

/*
 * Initialize fw over hal: check the NPU with the driver core
 * (npu_dev_open: ID, VERSION, CAPS), fill GET_INFO. A refused NPU still
 * gives a working USB device: GET_INFO's npu_status says NPU_REFUSED and
 * carries the registers read, so the host can say why, and the register
 * and memory bridges keep working for diagnosis. Returns 0, or -1 for a
 * NULL or incomplete hal (a NULL function, DRAM of size 0 or reaching
 * past 2^64).
 */
int fw_init(struct fw *fw, const struct fw_hal *hal);

/*
 * A control request on EP0: setup is the 8-byte setup packet; for an OUT
 * request out holds its wLength data bytes. For an IN request up to in_max
 * bytes of reply go to in. Returns the IN data length (>= 0; 0 for an OUT
 * request that succeeded) or FW_STALL. A reply longer than in_max (GET_INFO
 * needs NPU_USB_INFO_BYTES) or an OUT request without its data is a USB
 * driver's bug: STALLed, never overrun.
 */
int fw_control(struct fw *fw, const uint8_t setup[8], const uint8_t *out, uint8_t *in,
               size_t in_max);

/*
 * Bytes of one bulk OUT transfer, in as many pieces as the USB driver
 * delivers them (packets, or the whole transfer); end != 0 on its last
 * piece (a short packet or the transfer's length reached). Never blocks:
 * the driver starts a transfer only when fw_bulk_out_ready() says so (one
 * started otherwise is dropped whole, unanswered). The exact parsing rule
 * is fw.c's head comment and docs/USB_PROTOCOL.md's.
 */
void fw_bulk_out(struct fw *fw, const uint8_t *data, size_t len, int end);

/*
 * Bytes the request being received still needs: the rest of its header,
 * then of a WRITE's data; 0 when it is complete (the transfer should end
 * there), FW_EXPECT_UNKNOWN while the rest of a transfer is discarded
 * after an error (only a short packet ends it). A USB driver that cannot
 * see transfer boundaries (a packet of exactly wMaxPacketSize may be the
 * last) ends the transfer at a short packet or when this reaches 0.
 */
#define FW_EXPECT_UNKNOWN 0xffffffffu
uint32_t fw_bulk_out_expect(const struct fw *fw);

/* Whether a new bulk OUT transfer may start: the reply queue has room
 * (else the driver NAKs the host until it has). A transfer once started
 * is always taken whole. */
int fw_bulk_out_ready(const struct fw *fw);

/*
 * Up to max bytes of the reply stream for bulk IN. Returns the byte count
 * (0: nothing to send, NAK); *end is set when the bytes returned finish a
 * reply (the transfer is complete there: a reply is its own transfer).
 * Never more than one reply per call. A return of 0 with *end set ends
 * the transfer short with a zero-length packet: a READ whose DRAM failed
 * after its OK header went out (GET_STATUS says BUS_ERROR).
 */
size_t fw_bulk_in(struct fw *fw, uint8_t *buf, size_t max, int *end);

/* One event for interrupt IN into buf (max >= NPU_USB_EVENT_BYTES):
 * returns NPU_USB_EVENT_BYTES, or 0 when none is pending. */
size_t fw_intr_in(struct fw *fw, uint8_t *buf, size_t max);

/* The main loop's step: looks at the NPU's interrupt line and queues an
 * event when it has risen. */
void fw_poll(struct fw *fw);

#endif /* LWNPU_FIRMWARE_FW_H */
