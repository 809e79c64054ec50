/*
 * The lwnpu PCIe card's protocol, host side (driver/card.h over the
 * layout of driver/npu_card.h; docs/PCIE.md "The card").
 *
 *   registers   one mailbox request each: op/offset/value, then mb_seq
 *               (release), then the doorbell; the answer is mb_done ==
 *               mb_seq (acquire). The wait spins a few microseconds, then
 *               sleeps CARD_MB_NAP_NS at a time.
 *   buffers     card DRAM, first fit in 4 KiB granules (driver/dram_alloc.h),
 *               buf->host its mapping through the BAR: the CPU writes land
 *               in card memory, nothing is copied. The BAR is coherent RAM
 *               on this card, so buf_sync is a full memory fence; a card
 *               with its own DMA engine would copy there instead.
 *   interrupts  ctrl.irq_line is the NPU's level. wait_irq returns at once
 *               while it is high, else sleeps on the transport's eventfd
 *               (the MSI-X vector) in slices of CARD_IRQ_SLICE_MS, or
 *               without one looks at the page every CARD_IRQ_NAP_NS.
 *   removal     the card is gone when its heartbeat has not moved for
 *               NPU_CARD_DEAD_MS, when it says STOPPED, or when the
 *               transport's present() says so: from then on every call
 *               returns NPU_ERR_DISCONNECTED without touching the card.
 *               Every wait looks at least every CARD_IRQ_SLICE_MS.
 *
 * Callers serialize the calls on one card (the core's io_lock does).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver/card.h"

#include "driver/dram_alloc.h"
#include "driver/npu_card.h"
#include "driver/npu_regs.h"

/* Card DRAM is handed out in these granules. */
#define CARD_ALIGN 4096ull
/* How long open waits for a BOOTING card to say READY. */
#define CARD_READY_MS 2000u
/* A register request, and a reset (which drains the NPU's memory), get
 * their answer within this long while the heartbeat goes on. */
#define CARD_MB_TIMEOUT_MS    2000u
#define CARD_RESET_TIMEOUT_MS 10000u
/* How long the mailbox wait polls mb_done before it starts to sleep
 * (a sleep costs the timer slack, 50 us by default), and the sleep. */
#define CARD_MB_SPIN_NS 40000
#define CARD_MB_NAP_NS  25000l
#define CARD_IRQ_NAP_NS 100000l
/* wait_irq looks at the heartbeat at least this often. */
#define CARD_IRQ_SLICE_MS 20

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

struct npu_card {
	struct npu_card_io io;
	struct npu_card_ctrl *ctrl;
	uint8_t *dram; /* card DRAM byte 0, mapped */
	uint64_t dram_size, dram_dev_base;
	uint32_t peer;
	uint32_t seq; /* the last mailbox request posted */
	struct npui_dram alloc;
	int gone;
	uint32_t hb;    /* heartbeat as last seen... */
	uint64_t hb_ms; /* ...and when it was first seen with that value */
};

static void card_note(const struct npu_card *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Why a card was refused or lost, for someone debugging it (NPU_DEBUG). */
static void card_note(const struct npu_card *c, const char *fmt, ...)
{
	va_list ap;

	if (!getenv("NPU_DEBUG"))
		return;
	va_start(ap, fmt);
	fprintf(stderr, "libnpu: %s: ", c->io.name ? c->io.name : "card");
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void nap(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

static uint32_t ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* From now on the card is gone; why goes to NPU_DEBUG's stderr and, for
 * npu_last_error(), to the backend's detail. */
static void card_lost(struct npu_card *c, const char *why)
{
	if (!c->gone)
		card_note(c, "card gone: %s", why);
	npu_hw_set_detail("%s: the card is gone (%s)", c->io.name ? c->io.name : "card", why);
	c->gone = 1;
}

/* Is the card still there? Looks at the transport, the state and the
 * heartbeat; once it says no, it says no for good. */
static int card_alive(struct npu_card *c)
{
	uint64_t t;
	uint32_t hb;

	if (c->gone)
		return 0;
	if (c->io.present && !c->io.present(c->io.ctx)) {
		card_lost(c, "the transport lost it");
		return 0;
	}
	if (ld32(&c->ctrl->state) == NPU_CARD_STATE_STOPPED) {
		card_lost(c, "it stopped");
		return 0;
	}
	t = now_ms();
	hb = ld32(&c->ctrl->heartbeat);
	if (hb != c->hb) {
		c->hb = hb;
		c->hb_ms = t;
	} else if (t - c->hb_ms >= NPU_CARD_DEAD_MS) {
		char why[64];

		snprintf(why, sizeof(why), "heartbeat frozen for %llu ms",
		         (unsigned long long)(t - c->hb_ms));
		card_lost(c, why);
		return 0;
	}
	return 1;
}

/* One mailbox request; *result gets mb_result. */
static int card_mailbox(struct npu_card *c, uint32_t op, uint32_t offset, uint32_t value,
                        uint32_t *result, unsigned timeout_ms)
{
	struct npu_card_ctrl *k = c->ctrl;
	uint32_t seq = c->seq + 1;
	uint64_t start, last_look, spin_end;
	int rc;

	if (!card_alive(c))
		return NPU_ERR_DISCONNECTED;
	k->mb_op = op;
	k->mb_offset = offset;
	k->mb_value = value;
	st32(&k->mb_seq, seq);
	c->seq = seq;
	if ((rc = c->io.ring(c->io.ctx, c->peer, NPU_CARD_DOORBELL_MAILBOX)) != NPU_OK) {
		card_note(c, "doorbell failed: status %d", rc);
		return card_alive(c) ? rc : NPU_ERR_DISCONNECTED;
	}
	/* Yielding, not only pausing: on a loaded machine the card may be
	 * waiting for this very CPU. */
	spin_end = now_ns() + CARD_MB_SPIN_NS;
	do {
		for (unsigned i = 0; i < 16; i++) {
			if (ld32(&k->mb_done) == seq)
				goto done;
			cpu_relax();
		}
		sched_yield();
	} while (now_ns() < spin_end);
	start = last_look = now_ms();
	while (ld32(&k->mb_done) != seq) {
		uint64_t t = now_ms();

		if (t - last_look >= 1) {
			last_look = t;
			if (!card_alive(c))
				return NPU_ERR_DISCONNECTED;
			if (t - start >= timeout_ms) {
				card_note(c, "mailbox request %u (op %u) not answered in %u ms",
				          seq, op, timeout_ms);
				return NPU_ERR_IO;
			}
		}
		nap(CARD_MB_NAP_NS);
	}
done:
	switch (ld32(&k->mb_status)) {
	case NPU_CARD_ST_OK:
		if (result)
			*result = k->mb_result;
		return NPU_OK;
	case NPU_CARD_ST_BAD_OFFSET:
		return NPU_ERR_INVALID_ARG;
	default:
		card_note(c, "mailbox op %u at 0x%x: card status %u", op, offset, k->mb_status);
		return NPU_ERR_IO;
	}
}

int npu_card_open(const struct npu_card_io *io, struct npu_card **out)
{
	struct npu_card_ctrl *k;
	struct npu_card *c;
	uint64_t end, size;
	int rc;

	if (!io || !io->mem || !io->ring || !out || io->mem_size < NPU_CARD_CTRL_BYTES)
		return NPU_ERR_INVALID_ARG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NPU_ERR_NO_MEM;
	c->io = *io;
	c->ctrl = k = io->mem;
	rc = NPU_ERR_NOT_SUPPORTED;
	if (k->magic != NPU_CARD_MAGIC) {
		card_note(c, "control page magic 0x%08x: not an lwnpu card", k->magic);
		npu_hw_set_detail("not an lwnpu card (control page magic 0x%08x)", k->magic);
		goto err_free;
	}
	if (k->version_major != NPU_CARD_VERSION_MAJOR) {
		card_note(c, "card layout %u.%u, this host speaks %u.x", k->version_major,
		          k->version_minor, NPU_CARD_VERSION_MAJOR);
		npu_hw_set_detail("card layout version %u.%u, this library speaks %u.x",
		                  k->version_major, k->version_minor, NPU_CARD_VERSION_MAJOR);
		goto err_free;
	}
	end = now_ms() + CARD_READY_MS;
	while (ld32(&k->state) == NPU_CARD_STATE_BOOTING && now_ms() < end &&
	       (!io->present || io->present(io->ctx)))
		nap(1000000l);
	if (ld32(&k->state) != NPU_CARD_STATE_READY) {
		card_note(c, "card state %u, not READY", ld32(&k->state));
		npu_hw_set_detail("the card is not ready (state %u)", ld32(&k->state));
		rc = NPU_ERR_DISCONNECTED;
		goto err_free;
	}
	if (k->dram_offset < NPU_CARD_CTRL_BYTES || k->dram_offset % CARD_ALIGN ||
	    k->dram_offset > io->mem_size || k->dram_size > io->mem_size - k->dram_offset ||
	    k->dram_size < CARD_ALIGN || k->dram_dev_base % CARD_ALIGN || !k->dram_dev_base) {
		card_note(c,
		          "card DRAM at 0x%llx, 0x%llx bytes, device 0x%llx: not inside the %zu "
		          "byte BAR",
		          (unsigned long long)k->dram_offset, (unsigned long long)k->dram_size,
		          (unsigned long long)k->dram_dev_base, io->mem_size);
		npu_hw_set_detail("the card's DRAM layout does not fit its memory BAR");
		goto err_free;
	}
	c->peer = k->card_peer;
	c->dram = (uint8_t *)io->mem + k->dram_offset;
	c->dram_dev_base = k->dram_dev_base;
	size = k->dram_size & ~(CARD_ALIGN - 1);
	c->dram_size = size;
	rc = NPU_ERR_NO_MEM;
	if (npui_dram_init(&c->alloc, c->dram_dev_base, size))
		goto err_free;
	c->hb = ld32(&k->heartbeat);
	c->hb_ms = now_ms();
	/* A request a host before us left unanswered is the card's to finish:
	 * wait for it, then number ours after it. */
	c->seq = ld32(&k->mb_seq);
	end = now_ms() + CARD_MB_TIMEOUT_MS;
	while (ld32(&k->mb_done) != c->seq && now_ms() < end && card_alive(c))
		nap(CARD_MB_NAP_NS);
	*out = c;
	return NPU_OK;

err_free:
	free(c);
	return rc;
}

void npu_card_close(struct npu_card *c)
{
	if (!c)
		return;
	npui_dram_fini(&c->alloc);
	free(c);
}

int npu_card_reg_read(struct npu_card *c, uint32_t offset, uint32_t *value)
{
	if (offset >= NPU_HW_CSR_BYTES || (offset & 3) || !value)
		return NPU_ERR_INVALID_ARG;
	return card_mailbox(c, NPU_CARD_OP_REG_READ, offset, 0, value, CARD_MB_TIMEOUT_MS);
}

int npu_card_reg_write(struct npu_card *c, uint32_t offset, uint32_t value)
{
	if (offset >= NPU_HW_CSR_BYTES || (offset & 3))
		return NPU_ERR_INVALID_ARG;
	return card_mailbox(c, NPU_CARD_OP_REG_WRITE, offset, value, NULL, CARD_MB_TIMEOUT_MS);
}

int npu_card_buf_alloc(struct npu_card *c, size_t size, uint32_t flags, struct npu_hw_buf *buf)
{
	uint64_t rounded, addr;

	if (!size || !flags || (flags & ~(NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE)))
		return NPU_ERR_INVALID_ARG;
	if (c->gone)
		return NPU_ERR_DISCONNECTED;
	if (size > c->dram_size)
		return NPU_ERR_NO_MEM;
	rounded = (size + CARD_ALIGN - 1) & ~(CARD_ALIGN - 1);
	if (npui_dram_alloc(&c->alloc, rounded, &addr))
		return NPU_ERR_NO_MEM;
	buf->host = c->dram + (addr - c->dram_dev_base);
	/* As every backend's: a new buffer reads as zeros. */
	memset(buf->host, 0, rounded);
	buf->dev_addr = addr;
	buf->size = size;
	buf->flags = flags;
	buf->priv = NULL;
	return NPU_OK;
}

void npu_card_buf_free(struct npu_card *c, struct npu_hw_buf *buf)
{
	uint64_t rounded = (buf->size + CARD_ALIGN - 1) & ~(CARD_ALIGN - 1);

	npui_dram_free(&c->alloc, buf->dev_addr, rounded);
}

int npu_card_buf_sync(struct npu_card *c, struct npu_hw_buf *buf, size_t offset, size_t len,
                      enum npu_hw_sync_dir dir)
{
	if (offset > buf->size || len > buf->size - offset ||
	    (dir != NPU_HW_SYNC_TO_DEVICE && dir != NPU_HW_SYNC_FROM_DEVICE))
		return NPU_ERR_INVALID_ARG;
	if (c->gone)
		return NPU_ERR_DISCONNECTED;
	/* The CPU's view of card DRAM is the BAR, which is the card's memory
	 * itself: ordering is all there is to do. */
	npu_card_fence();
	return NPU_OK;
}

int npu_card_submit(struct npu_card *c, uint32_t tail)
{
	int rc = npu_card_reg_write(c, NPU_REG_RING_TAIL, tail);

	return rc ? rc : npu_card_reg_write(c, NPU_REG_DOORBELL, 1);
}

int npu_card_wait_irq(struct npu_card *c, int timeout_ms)
{
	uint64_t start = now_ms();

	for (;;) {
		uint64_t t;
		int slice = CARD_IRQ_SLICE_MS;

		if (ld32(&c->ctrl->irq_line) && !c->gone)
			return NPU_OK;
		if (!card_alive(c))
			return NPU_ERR_DISCONNECTED;
		t = now_ms();
		if (timeout_ms >= 0) {
			if (t - start >= (uint64_t)timeout_ms)
				return NPU_ERR_TIMEOUT;
			if ((uint64_t)slice > (uint64_t)timeout_ms - (t - start))
				slice = (int)((uint64_t)timeout_ms - (t - start));
		}
		if (c->io.irq_fd >= 0) {
			struct pollfd pfd = {c->io.irq_fd, POLLIN, 0};
			uint64_t n;

			if (poll(&pfd, 1, slice) > 0 && (pfd.revents & POLLIN) &&
			    read(c->io.irq_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
				card_note(c, "reading the interrupt eventfd: %s", strerror(errno));
		} else {
			nap(CARD_IRQ_NAP_NS);
		}
	}
}

int npu_card_reset(struct npu_card *c)
{
	return card_mailbox(c, NPU_CARD_OP_RESET, 0, 0, NULL, CARD_RESET_TIMEOUT_MS);
}

const volatile struct npu_card_ctrl *npu_card_ctrl(const struct npu_card *c)
{
	return c->ctrl;
}

int npu_card_gone(const struct npu_card *c)
{
	return c->gone;
}
