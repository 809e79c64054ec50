/*
 * The driver core: what every user of an lwnpu device does the same way,
 * whatever backend reaches it (docs/DRIVER.md, "Two layers"). Identity and
 * CAPS, the descriptor ring (publish, stream, wait for retirement), the DMA
 * windows, interrupt and fault decoding, soft-reset recovery, and the
 * relocation of a descriptor stream to device addresses.
 *
 * Rules, so that the dev-board firmware can run this file as it is:
 *   - No OS calls: no allocation, no clock, no printing, no libc at all
 *     (it compiles with -ffreestanding -nostdinc). Memory comes from the
 *     caller (struct npu_dev is embedded by its user; the ring is a DMA
 *     buffer the caller allocated), time from the backend's wait_irq
 *     timeout, and errors are answered as data (struct npu_dev_error) for
 *     the caller to word.
 *   - The hardware is reached only through the npu_hw_* wrappers of
 *     driver/backend.h (so fault injection covers every path here).
 *   - Not thread-safe: one struct npu_dev is used by one thread at a time
 *     (lib/core serializes with its io_lock).
 *
 * Users: lib/core/hw_device.c (every backend: sim, and usb/vfio once they
 * exist), the device tests in tests/rtl, and later the firmware.
 */
#ifndef NPU_DRIVER_NPU_DEV_H
#define NPU_DRIVER_NPU_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "driver/backend.h"
#include "driver/npu_regs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Windows npu_dev_set_windows() takes and remembers. */
#define NPU_DEV_MAX_WINDOWS 4u

/* The CAPS registers, decoded (sizes as the device reports them). */
struct npu_dev_caps {
	uint32_t id, version;            /* ID, VERSION as read */
	uint32_t pw_rows, pw_cols;       /* CAPS0 */
	uint32_t dw_lanes, ppu_lanes;    /* CAPS0 */
	uint32_t act_kb, wgt_kb;         /* CAPS1: SRAM sizes in KiB */
	uint32_t acc_kb, param_kb;       /* CAPS2 */
	uint32_t dma_bytes, num_windows; /* CAPS3 */
	uint32_t dma_outstanding;        /* CAPS3: bursts in flight per direction */
	uint32_t epi_lanes;              /* CAPS3: conv epilogue results per cycle */
	uint32_t engines;                /* CAPS_ENGINES bits */
};

/* Why npu_dev_open() refused a device (NPU_ERR_NOT_SUPPORTED). */
enum npu_dev_refusal {
	NPU_DEV_ACCEPTED = 0,
	NPU_DEV_REFUSE_ID,      /* ID is not NPU_HW_ID_MAGIC */
	NPU_DEV_REFUSE_VERSION, /* VERSION.MAJOR differs, or VERSION.DESC too old */
	NPU_DEV_REFUSE_ENGINES, /* no command processor or DMA, or too few windows */
};

/* What the last failing wait saw, for the caller to word (no printf here). */
enum npu_dev_error_kind {
	NPU_DEV_ERR_NONE = 0, /* the failure was a backend call's own status */
	NPU_DEV_ERR_FAULT,    /* IRQ_STATUS.ERROR: code, addr, index latched */
	NPU_DEV_ERR_STALL,    /* no interrupt in time: status, irq_status, head */
	NPU_DEV_ERR_HEAD,     /* RING_HEAD outside the ring: head */
};

struct npu_dev_error {
	enum npu_dev_error_kind kind;
	uint32_t irq_status; /* FAULT, STALL: IRQ_STATUS as read */
	uint32_t code;       /* FAULT: ERR_CODE (an NPU_HW_ERR_* value) */
	uint64_t addr;       /* FAULT: ERR_ADDR */
	uint32_t index;      /* FAULT: ERR_INDEX, the ring slot of the descriptor */
	uint32_t status;     /* STALL: STATUS */
	uint32_t head, tail; /* STALL, HEAD: RING_HEAD read, the host's tail */
};

/* One DMA window: [base, base + size) with NPU_REG_WIN_CTRL_* permissions;
 * ctrl 0 closes it (base and size are then written as 0). */
struct npu_dev_window {
	uint64_t base;
	uint64_t size;
	uint32_t ctrl;
};

/* PERF counters (64-bit, read LO then HI). */
struct npu_dev_perf {
	uint64_t cycles, rd_bytes, wr_bytes;
};

/* One open device. The caller owns the memory; fields are read-only to it. */
struct npu_dev {
	struct npu_hw *hw;
	struct npu_dev_caps caps;
	enum npu_dev_refusal refusal; /* after npu_dev_open */

	/* Ring: the caller's DMA buffer, entries descriptors (power of two). */
	struct npu_hw_buf ring;
	uint32_t ring_entries;
	uint32_t wdog_cycles; /* WDOG_BUDGET armed by every ring init; 0 = off */
	uint32_t tail;        /* next slot the host fills */
	uint32_t published;   /* slots before it are synced and submitted */
	uint32_t head;        /* RING_HEAD as last read */

	/* Windows as last programmed, valid while win_valid (a ring init or
	 * recovery clears it, so the next npu_dev_set_windows writes all). */
	int win_valid;
	unsigned win_n;
	struct npu_dev_window win[NPU_DEV_MAX_WINDOWS];

	/* A recovery failed: npu_dev_recover() again before the ring is used. */
	int need_recover;
	struct npu_dev_error err; /* of the last failing wait */
};

/*
 * Check the device behind hw and read its CAPS into d (all of d is
 * (re)initialized; the ring is set up by npu_dev_ring_init). The device
 * must be an lwnpu (ID), of the major version this core knows, accept
 * descriptors of version NPU_HW_DESC_VERSION or later, have a command
 * processor and DMA, and at least min_windows DMA windows. Returns NPU_OK,
 * NPU_ERR_NOT_SUPPORTED (d->refusal says why; d->caps holds what was read)
 * or the backend's error.
 */
int npu_dev_open(struct npu_dev *d, struct npu_hw *hw, unsigned min_windows);

/* Stop descriptor fetching (CTRL = 0). The ring buffer stays the
 * caller's. Never fails (a backend error is ignored: the device is going). */
void npu_dev_close(struct npu_dev *d);

/*
 * Use ring (the caller's buffer, device-readable, at least entries *
 * NPU_HW_DESC_BYTES bytes) with entries descriptors (a power of two, 2 ..
 * 65536) and put the device in its post-open state: fetching stopped, ring
 * programmed, tail 0, interrupts acknowledged and unmasked (DONE, ERROR),
 * watchdog armed with wdog_cycles (0: off), fetching enabled. Forgets the
 * programmed windows. Returns NPU_OK, NPU_ERR_INVALID_ARG (entries or
 * size) or the backend's error.
 */
int npu_dev_ring_init(struct npu_dev *d, const struct npu_hw_buf *ring, uint32_t entries,
                      uint32_t wdog_cycles);

/*
 * Program windows 0 .. n-1 as w[] and close every other window the device
 * has; skipped when they are already programmed so. Each window is closed
 * while it is rewritten. Returns NPU_OK, NPU_ERR_INVALID_ARG (n above
 * NPU_DEV_MAX_WINDOWS or the device's count, or a size that WIN_SIZE
 * cannot hold) or the backend's error.
 */
int npu_dev_set_windows(struct npu_dev *d, const struct npu_dev_window *w, unsigned n);

/* The window over buffer b with permissions ctrl (closed when b holds no
 * buffer). */
struct npu_dev_window npu_dev_window_of(const struct npu_hw_buf *b, uint32_t ctrl);

/* Slots the host may fill now (one stays empty: head == tail is "empty"),
 * as of the last RING_HEAD read. */
uint32_t npu_dev_ring_space(const struct npu_dev *d);

/*
 * Copy one descriptor (NPU_HW_DESC_BYTES) into the slot at the tail, OR
 * or_flags (NPU_HW_FLAG_*) into its flags byte and advance the tail; desc
 * NULL puts a FENCE. The device sees it only after npu_dev_ring_submit.
 * Returns NPU_OK, NPU_ERR_BUSY (ring full as of the last RING_HEAD read)
 * or NPU_ERR_INVALID_ARG (flags a FENCE cannot carry).
 */
int npu_dev_ring_put(struct npu_dev *d, const uint32_t *desc, uint32_t or_flags);

/* Hand the slots up to the tail to the device: make the slots put since
 * the last submit visible (buf_sync, one call for the run of them, two
 * where it wraps: on a device with its own memory one transfer per batch,
 * not per descriptor), then RING_TAIL, DOORBELL. Returns NPU_OK or the
 * backend's error. */
int npu_dev_ring_submit(struct npu_dev *d);

/* Read RING_HEAD into *head and d->head. Returns NPU_OK,
 * NPU_ERR_DEVICE_FAULT (an index outside the ring: d->err, kind HEAD) or
 * the backend's error. */
int npu_dev_read_head(struct npu_dev *d, uint32_t *head);

/*
 * Wait for one interrupt (timeout_ms < 0: as long as the backend allows)
 * and return its causes in *irq_status after acknowledging them. An
 * interrupt is not "the batch is done": DONE is raised by every descriptor
 * with FLAG_IRQ that retires (npu_dev_drain waits for the batch). Returns
 * NPU_OK, NPU_ERR_DEVICE_FAULT (IRQ_STATUS.ERROR: decoded into d->err,
 * kind FAULT, and left latched), NPU_ERR_TIMEOUT (the watchdog's fault, or
 * no interrupt in time: d->err kind STALL with the device's state) or the
 * backend's error.
 */
int npu_dev_wait_irq(struct npu_dev *d, int timeout_ms, uint32_t *irq_status);

/*
 * Wait until every submitted descriptor has retired (RING_HEAD == tail),
 * acknowledging each interrupt on the way; timeout_ms bounds each wait for
 * an interrupt. Returns as npu_dev_wait_irq, or NPU_ERR_DEVICE_FAULT for a
 * RING_HEAD outside the ring.
 */
int npu_dev_drain(struct npu_dev *d, int timeout_ms);

/*
 * Run n descriptors plus a closing FENCE | FLAG_IRQ and wait until all have
 * retired. More descriptors than the ring holds are streamed, refilling the
 * slots the device has retired; while more remain, every (entries / 4)-th
 * carries FLAG_IRQ, so that a full ring always has an interrupt in flight
 * to wake the refill. perf (may be NULL) gets the PERF counters' increase
 * over the batch, descriptor fetches included. Returns as npu_dev_drain.
 * On any error the device may still hold descriptors: npu_dev_recover()
 * before the ring is used again.
 */
int npu_dev_stream(struct npu_dev *d, const uint32_t *desc, uint32_t n, int timeout_ms,
                   struct npu_dev_perf *perf);

/* Read the PERF counters. Returns NPU_OK or the backend's error. */
int npu_dev_read_perf(struct npu_dev *d, struct npu_dev_perf *p);

/*
 * After an error, a fault or a hang: soft reset (the backend's reset),
 * then the post-open state again (npu_dev_ring_init with the same ring);
 * windows are rewritten by the next npu_dev_set_windows. When it fails,
 * d->need_recover stays set for the caller to try again. Returns NPU_OK or
 * the backend's error.
 */
int npu_dev_recover(struct npu_dev *d);

/* The name of an ERR_CODE value ("watchdog"); "unknown" for others. */
const char *npu_dev_err_name(uint32_t code);

/*
 * Patch device address addr into the 64-bit address field that starts at
 * word `word` (low word first) of descriptor desc of a stream of num_desc
 * descriptors, as a relocation record names it. The field must be an
 * address field of that descriptor's layout (driver/npu_desc.h: today the
 * DMA layout's HOST_ADDR), so a wrong record can never overwrite another
 * field. Returns NPU_OK or NPU_ERR_INVALID_ARG (desc outside the stream,
 * or no address field there).
 */
int npu_dev_reloc_patch(uint32_t *stream, uint32_t num_desc, uint32_t desc, uint32_t word,
                        uint64_t addr);

#ifdef __cplusplus
}
#endif

#endif /* NPU_DRIVER_NPU_DEV_H */
