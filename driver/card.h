/*
 * The lwnpu PCIe card's protocol, host side (driver/npu_card.h): what the
 * vfio, uio and cosim backends share once each has mapped the card's
 * shared memory and found a way to ring its doorbell. Internal to driver/.
 *
 * A transport fills struct npu_card_io; npu_card_open() checks the
 * control page and from then on the npu_card_* calls implement the
 * backend ops (driver/backend.h) on the card: CSRs through the mailbox,
 * buffers in card DRAM (first fit, 4 KiB granules, mapped for the CPU
 * through the BAR: no copies, buf_sync is a barrier), interrupts from the
 * transport's eventfd or, without one, by watching ctrl.irq_edges, and
 * surprise removal from a frozen heartbeat (or the transport's own
 * notice).
 */
#ifndef NPU_DRIVER_CARD_H
#define NPU_DRIVER_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "driver/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

struct npu_card_io {
	/* The card's memory BAR mapped for the CPU (control page at 0). */
	void *mem;
	size_t mem_size;
	/* Ring the card's doorbell: vector to the card's peer ID. Returns
	 * NPU_OK or an NPU_ERR_*. Required. */
	int (*ring)(void *ctx, uint32_t peer, uint32_t vector);
	/* An fd that becomes readable (an eventfd: read 8 bytes to clear)
	 * when the card raises its interrupt; -1 when the transport has none
	 * (uio): wait_irq then polls ctrl.irq_edges. */
	int irq_fd;
	/* Optional: 0 when the transport knows the card has gone (a closed
	 * socket, a vfio device request), else 1. */
	int (*present)(void *ctx);
	void *ctx;
	/* For messages ("vfio 0000:00:04.0"). */
	const char *name;
};

struct npu_card;
struct npu_card_ctrl;

/* A full memory barrier between the CPU's accesses to the card (its BAR
 * mappings, its registers) before and after. ThreadSanitizer refuses bare
 * fences (gcc -Werror=tsan); under it a sequentially consistent
 * read-modify-write stands in, which it understands. */
static inline void npu_card_fence(void)
{
#if defined(__SANITIZE_THREAD__)
	static uint32_t tsan_fence;
	__atomic_fetch_add(&tsan_fence, 0, __ATOMIC_SEQ_CST);
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* Check the control page (magic, major version, sizes inside mem_size,
 * state READY within a short wait), set up the DRAM allocator. Returns
 * NPU_OK; NPU_ERR_NOT_SUPPORTED (not an lwnpu card, another major
 * version); NPU_ERR_DISCONNECTED (the card never became ready);
 * NPU_ERR_NO_MEM. The io struct is copied. */
int npu_card_open(const struct npu_card_io *io, struct npu_card **out);
void npu_card_close(struct npu_card *c);

/* The backend ops on the card (driver/backend.h has their contracts). */
int npu_card_reg_read(struct npu_card *c, uint32_t offset, uint32_t *value);
int npu_card_reg_write(struct npu_card *c, uint32_t offset, uint32_t value);
int npu_card_buf_alloc(struct npu_card *c, size_t size, uint32_t flags, struct npu_hw_buf *buf);
void npu_card_buf_free(struct npu_card *c, struct npu_hw_buf *buf);
int npu_card_buf_sync(struct npu_card *c, struct npu_hw_buf *buf, size_t offset, size_t len,
                      enum npu_hw_sync_dir dir);
int npu_card_submit(struct npu_card *c, uint32_t tail);
int npu_card_wait_irq(struct npu_card *c, int timeout_ms);
int npu_card_reset(struct npu_card *c);

/* The card's control page, read-only for callers (tests, tools). */
const volatile struct npu_card_ctrl *npu_card_ctrl(const struct npu_card *c);
/* 1 once the card has been declared gone (every call then returns
 * NPU_ERR_DISCONNECTED). */
int npu_card_gone(const struct npu_card *c);

#ifdef __cplusplus
}
#endif

#endif /* NPU_DRIVER_CARD_H */
