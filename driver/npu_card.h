/*
 * The lwnpu PCIe card's host interface, as the co-simulated card
 * (rtl-sim/cosim, tools/npu-cosim) implements it and the card backends
 * (driver/card.c under vfio, uio and cosim) use it. docs/PCIE.md has the
 * prose, what is real and what is emulated.
 *
 * The card is QEMU's ivshmem-doorbell device (PCI 1af4:1110) whose
 * shared memory is served by npu-cosim, a host process running the
 * Verilated NPU. Three BARs:
 *
 *   BAR0  ivshmem registers (below): the doorbell the host rings to wake
 *         the card, IVPosition (the host's own peer ID)
 *   BAR1  MSI-X table: vector NPU_CARD_MSIX_IRQ fires on each rising edge
 *         of the NPU's interrupt line
 *   BAR2  the card's memory, shared with npu-cosim: a control page at
 *         offset 0 (struct npu_card_ctrl) and the card's DRAM from
 *         ctrl.dram_offset, which the NPU reaches at device addresses
 *         ctrl.dram_dev_base.. (its DMA goes to card memory only)
 *
 * The NPU's CSRs (driver/npu_regs.h) are not memory mapped on this card:
 * each access is a mailbox request in the control page. The host fills
 * mb_op/mb_offset/mb_value, then writes mb_seq (a release store: one more
 * than the last), then rings the doorbell (peer ctrl.card_peer, vector
 * NPU_CARD_DOORBELL_MAILBOX). The card performs the access on the NPU
 * and answers with mb_status/mb_value, then mb_done = mb_seq (release).
 * One request at a time. A card that stops answering (heartbeat frozen
 * for NPU_CARD_DEAD_MS) is gone: surprise removal.
 *
 * All fields are little-endian and naturally aligned; 32-bit fields the
 * two sides share while running are accessed with atomic loads and
 * stores. The layout is versioned: a host refuses a card whose major
 * differs; minor additions go at the end of the page.
 */
#ifndef NPU_DRIVER_NPU_CARD_H
#define NPU_DRIVER_NPU_CARD_H

#include <stdint.h>

/* PCI IDs of the co-simulated card (QEMU's ivshmem): a generic device,
 * so the control page's magic decides whether it is an lwnpu card. */
#define NPU_CARD_PCI_VENDOR 0x1af4u
#define NPU_CARD_PCI_DEVICE 0x1110u

/* ivshmem-doorbell BAR0 registers (byte offsets, 32-bit). */
#define NPU_IVSHMEM_INTRMASK   0x00u
#define NPU_IVSHMEM_INTRSTATUS 0x04u
#define NPU_IVSHMEM_IVPOSITION 0x08u /* this peer's ID (read-only) */
#define NPU_IVSHMEM_DOORBELL   0x0cu /* write (peer << 16) | vector */
/* Which BAR is which. */
#define NPU_CARD_BAR_REGS 0
#define NPU_CARD_BAR_MSIX 1
#define NPU_CARD_BAR_MEM  2

/* The doorbell vector the card listens on for mailbox requests. */
#define NPU_CARD_DOORBELL_MAILBOX 0u
/* The MSI-X vector (and ivshmem interrupt vector) the card raises on a
 * rising edge of the NPU's interrupt line. */
#define NPU_CARD_MSIX_IRQ 0u
/* Vectors the card's ivshmem device is configured with (QEMU vectors=). */
#define NPU_CARD_VECTORS 2u

#define NPU_CARD_MAGIC         0x4452434eu /* "NCRD" */
#define NPU_CARD_VERSION_MAJOR 1u
#define NPU_CARD_VERSION_MINOR 0u
/* The control page, at BAR2 offset 0. */
#define NPU_CARD_CTRL_BYTES 4096u
/* Card DRAM starts at this BAR2 offset (ctrl.dram_offset says so too). */
#define NPU_CARD_DRAM_OFFSET 0x10000u
/* The NPU's address of card DRAM byte 0 (as on the USB dev board). */
#define NPU_CARD_DRAM_DEV_BASE 0x80000000ull

/* The card bumps heartbeat at least this often while it runs... */
#define NPU_CARD_HEARTBEAT_MS 20u
/* ...and a host that sees it frozen this long declares the card gone. */
#define NPU_CARD_DEAD_MS 300u

/* mailbox ops */
#define NPU_CARD_OP_REG_READ  1u
#define NPU_CARD_OP_REG_WRITE 2u
#define NPU_CARD_OP_RESET     3u /* soft-reset the NPU, wait for its memory to drain */

/* mailbox status */
#define NPU_CARD_ST_OK         0u
#define NPU_CARD_ST_BAD_OP     1u
#define NPU_CARD_ST_BAD_OFFSET 2u /* outside the CSR window or unaligned */
#define NPU_CARD_ST_NPU_ERROR  3u /* the NPU's CSR port answered with an error */
#define NPU_CARD_ST_RESET_FAIL 4u /* the memory did not drain after a soft reset */

/* card state */
#define NPU_CARD_STATE_BOOTING 0u
#define NPU_CARD_STATE_READY   1u
#define NPU_CARD_STATE_STOPPED 2u /* the card shut down in order */

struct npu_card_ctrl {
	/* Written once by the card before it sets state READY. */
	uint32_t magic; /* NPU_CARD_MAGIC */
	uint16_t version_major, version_minor;
	uint32_t card_peer;     /* the card's ivshmem peer ID: the doorbell's target */
	uint32_t npu_id;        /* NPU_REG_ID as the card read it at boot */
	uint32_t npu_version;   /* NPU_REG_VERSION */
	uint32_t npu_caps;      /* NPU_REG_CAPS0 */
	uint64_t dram_offset;   /* BAR2 offset of card DRAM */
	uint64_t dram_size;     /* bytes of card DRAM */
	uint64_t dram_dev_base; /* NPU address of card DRAM byte 0 */
	uint32_t card_flags;    /* NPU_CARD_F_* */
	uint32_t reserved0;
	/* Live state, written by the card. */
	uint32_t state;      /* NPU_CARD_STATE_* */
	uint32_t heartbeat;  /* +1 at least every NPU_CARD_HEARTBEAT_MS */
	uint32_t irq_line;   /* 1 while the NPU's interrupt line is high */
	uint32_t irq_edges;  /* rising edges of the line so far */
	uint64_t npu_cycles; /* NPU cycles simulated so far */
	/* Mailbox: host writes op/offset/value then seq; card writes
	 * status/result then done. */
	uint32_t mb_seq;
	uint32_t mb_op;
	uint32_t mb_offset;
	uint32_t mb_value;
	uint32_t mb_done;
	uint32_t mb_status;
	uint32_t mb_result;
	uint32_t reserved1;
	/* Counters since boot, for tests and tools. */
	uint64_t mb_requests; /* mailbox requests served */
	uint64_t doorbells;   /* doorbell wake-ups seen */
	uint64_t irqs_sent;   /* interrupts sent to the host */
};

/* card_flags */
/* The card's DMA can reach host memory through the IOMMU (IOVAs). The
 * co-simulated card cannot (ivshmem has no DMA): its NPU reaches card
 * DRAM only, and the host stages anything else through it. */
#define NPU_CARD_F_HOST_DMA 0x1u

#endif /* NPU_DRIVER_NPU_CARD_H */
