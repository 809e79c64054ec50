/*
 * The "vfio" backend: an lwnpu PCIe card (driver/npu_card.h) driven from
 * userspace through VFIO, no kernel driver of ours: the card's BARs are
 * mapped from the vfio-pci device, its MSI-X interrupt arrives on an
 * eventfd, and host memory it may DMA to is mapped through the IOMMU
 * (type1). driver/vfio_dev.c does the VFIO work; driver/card.c the card
 * protocol; docs/PCIE.md "The vfio backend" has the prose.
 *
 * URIs (the text after "vfio:"):
 *   (empty)        the first card: PCI 1af4:1110 devices in address order,
 *                  bound to vfio-pci, whose control page has the card magic
 *   DDDD:BB:DD.F   the device at that PCI address (exactly that form)
 * Anything else is NPU_ERR_INVALID_ARG. Each refusal says why and what to
 * do through npu_hw_set_detail() (npu_last_error() after npu_open):
 * NPU_ERR_NO_DEVICE (no such device, or not bound to vfio-pci: the detail
 * has the commands), NPU_ERR_NOT_SUPPORTED (no IOMMU group; not an lwnpu
 * card), NPU_ERR_PERMISSION (/dev/vfio/N), NPU_ERR_BUSY (group in use or
 * not viable).
 *
 * Open, step by step: the VFIO group and container (type1 IOMMU), the
 * device fd, memory decoding and bus mastering on (vfio-pci leaves bus
 * mastering off, and QEMU then drops the device's MSI-X), BAR2 (control
 * page and card DRAM) mmapped, BAR0 (the ivshmem registers) mmapped when
 * VFIO allows it or else written with pwrite, MSI-X vector
 * NPU_CARD_MSIX_IRQ onto an eventfd; then npu_card_open() and a reset of
 * the NPU (the card stays up between opens: the last host may have left a
 * ring half run or an interrupt pending).
 *
 * The ops are driver/card.c's over that transport: the doorbell is a
 * 32-bit write of (peer << 16) | vector to BAR0's DOORBELL register, the
 * interrupt the eventfd. buf_import maps the caller's memory through the
 * IOMMU and gives its IOVA as the device address, but only for a card
 * whose DMA can reach host memory (ctrl.card_flags NPU_CARD_F_HOST_DMA);
 * the co-simulated card cannot, and the library then stages through card
 * memory (NPU_ERR_NOT_SUPPORTED here).
 *
 * IOMMU faults: vfio tells userspace nothing of a blocked DMA; the kernel
 * logs it. When wait_irq returns (an interrupt or a timeout) the kernel
 * log is read for fault lines naming the device since the last look
 * (a non-blocking read of /dev/kmsg, root only); any fault turns the
 * result into NPU_ERR_IOMMU_FAULT, with the address in the detail.
 *
 * Surprise removal: the card's frozen heartbeat (driver/card.c), or its
 * config space reading all-ones (looked at no more than every
 * VFIO_PRESENT_MS), make every later call NPU_ERR_DISCONNECTED.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/vfio.h>

#include "driver/backend.h"
#include "driver/card.h"
#include "driver/npu_card.h"
#include "driver/vfio_dev.h"

/* How often present() really asks the device (a config read is a trap
 * into the hypervisor in a guest). */
#define VFIO_PRESENT_MS 50u

struct vfio_priv {
	struct npu_vfio *v;
	struct npu_card *card;
	volatile uint32_t *regs; /* BAR0 mapped, or NULL: pwrite */
	void *mem;
	size_t mem_size;
	int host_dma;
	int present;
	uint64_t present_ms; /* when present was last asked */
	char name[32];
};

/* A buffer of buf_import: its priv points here. */
static const char vfio_imported;

static uint64_t vfio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int vfio_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	struct vfio_priv *p = ctx;
	uint32_t val = (peer << 16) | (vector & 0xffffu);

	/* The mailbox's stores to BAR2 before the doorbell. */
	npu_card_fence();
	if (p->regs) {
		p->regs[NPU_IVSHMEM_DOORBELL / 4] = val;
		return NPU_OK;
	}
	return npu_vfio_region_write(p->v, NPU_CARD_BAR_REGS, NPU_IVSHMEM_DOORBELL, &val, 4);
}

static int vfio_present(void *ctx)
{
	struct vfio_priv *p = ctx;
	uint64_t t = vfio_now_ms();

	if (p->present && t - p->present_ms >= VFIO_PRESENT_MS) {
		p->present = npu_vfio_present(p->v);
		p->present_ms = t;
	}
	return p->present;
}

/* Map the card's BARs and its interrupt, then talk to the card. */
static int vfio_attach(struct vfio_priv *p)
{
	struct npu_card_io io;
	void *regs;
	size_t regs_size;
	int irq_fd = -1, rc;

	snprintf(p->name, sizeof(p->name), "vfio %s", npu_vfio_bdf(p->v));
	rc = npu_vfio_map_region(p->v, VFIO_PCI_BAR0_REGION_INDEX + NPU_CARD_BAR_MEM, &p->mem,
	                         &p->mem_size);
	if (rc == NPU_ERR_INVALID_ARG)
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED, "%s has no BAR%u: not an lwnpu card",
		                    npu_vfio_bdf(p->v), NPU_CARD_BAR_MEM);
	if (rc)
		return rc;
	if (p->mem_size < NPU_CARD_CTRL_BYTES) {
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED,
		                    "%s: BAR%u is %zu bytes, too small for a card",
		                    npu_vfio_bdf(p->v), NPU_CARD_BAR_MEM, p->mem_size);
	}
	/* A sub-page BAR0 may not be mappable: the doorbell is then a pwrite. */
	if (npu_vfio_map_region(p->v, VFIO_PCI_BAR0_REGION_INDEX + NPU_CARD_BAR_REGS, &regs,
	                        &regs_size) == NPU_OK &&
	    regs_size >= NPU_IVSHMEM_DOORBELL + 4)
		p->regs = regs;
	npu_hw_set_detail("%s", "");
	if ((rc = npu_vfio_irq_eventfd(p->v, VFIO_PCI_MSIX_IRQ_INDEX, NPU_CARD_MSIX_IRQ, &irq_fd)))
		return rc;
	p->present = 1;
	p->present_ms = vfio_now_ms();
	memset(&io, 0, sizeof(io));
	io.mem = p->mem;
	io.mem_size = p->mem_size;
	io.ring = vfio_ring;
	io.irq_fd = irq_fd;
	io.present = vfio_present;
	io.ctx = p;
	io.name = p->name;
	if ((rc = npu_card_open(&io, &p->card)))
		return rc;
	/* A known state whatever the last host left (a ring half run, an
	 * interrupt pending): the card outlives its hosts' opens. */
	if ((rc = npu_card_reset(p->card)))
		return npu_pci_fail(rc, "%s: the card's reset at open failed (status %d)", p->name,
		                    rc);
	p->host_dma = !!(npu_card_ctrl(p->card)->card_flags & NPU_CARD_F_HOST_DMA);
	return NPU_OK;
}

/* A card's magic at BAR2 offset 0: 1, 0 (not a card), or a status. */
static int vfio_is_card(struct npu_vfio *v)
{
	uint32_t magic;
	int rc = npu_vfio_region_read(v, VFIO_PCI_BAR0_REGION_INDEX + NPU_CARD_BAR_MEM, 0, &magic,
	                              4);

	return rc ? rc : magic == NPU_CARD_MAGIC;
}

/* "vfio": the first 1af4:1110 device bound to vfio-pci that is a card.
 * Devices not bound to vfio-pci are skipped; when there is no card, the
 * first refusal (or the bind commands for the first device) is the
 * answer. */
static int vfio_find_card(struct vfio_priv *p)
{
	char bdf[NPU_PCI_BDF_LEN], drv[64], why[256] = "";
	int first_rc = NPU_ERR_NO_DEVICE;
	unsigned i;

	for (i = 0; npu_pci_find(NPU_CARD_PCI_VENDOR, NPU_CARD_PCI_DEVICE, i, bdf) == NPU_OK; i++) {
		int rc;

		if (npu_pci_driver(bdf, drv, sizeof(drv)) || strcmp(drv, "vfio-pci"))
			rc = npu_vfio_open(bdf, &p->v); /* fails, saying how to bind it */
		else if ((rc = npu_vfio_open(bdf, &p->v)) == NPU_OK) {
			if ((rc = vfio_is_card(p->v)) == 1)
				return NPU_OK;
			if (rc == 0) {
				npu_pci_fail(NPU_ERR_NO_DEVICE,
				             "%s (1af4:1110) is not an lwnpu card (no card magic)",
				             bdf);
				rc = NPU_ERR_NO_DEVICE;
			}
			npu_vfio_close(p->v);
			p->v = NULL;
		}
		if (!why[0]) {
			first_rc = rc;
			snprintf(why, sizeof(why), "%s", npu_hw_detail());
		}
	}
	if (!i) {
		return npu_pci_fail(NPU_ERR_NO_DEVICE,
		                    "no PCI device %04x:%04x (an lwnpu card) found",
		                    NPU_CARD_PCI_VENDOR, NPU_CARD_PCI_DEVICE);
	}
	/* The first device's refusal (it names the device): the detail has
	 * no room for more. */
	npu_pci_fail(first_rc, "%s", why);
	return first_rc;
}

static void vfio_close(struct npu_hw *hw);

static int vfio_open(struct npu_hw *hw, const char *args)
{
	struct vfio_priv *p = npu_hw_priv(hw);
	char bdf[NPU_PCI_BDF_LEN];
	int rc;

	if (!args[0])
		rc = vfio_find_card(p);
	else if (npu_pci_bdf_parse(args, bdf)) {
		return npu_pci_fail(NPU_ERR_INVALID_ARG,
		                    "'%.40s' is not a PCI address: use vfio:DDDD:BB:DD.F (e.g. "
		                    "vfio:0000:00:04.0) or vfio",
		                    args);
	} else
		rc = npu_vfio_open(bdf, &p->v);
	if (rc == NPU_OK)
		rc = vfio_attach(p);
	if (rc)
		vfio_close(hw);
	return rc;
}

static void vfio_close(struct npu_hw *hw)
{
	struct vfio_priv *p = npu_hw_priv(hw);

	npu_card_close(p->card);
	npu_vfio_close(p->v);
	memset(p, 0, sizeof(*p));
}

static int vfio_reg_read(struct npu_hw *hw, uint32_t off, uint32_t *v)
{
	return npu_card_reg_read(((struct vfio_priv *)npu_hw_priv(hw))->card, off, v);
}

static int vfio_reg_write(struct npu_hw *hw, uint32_t off, uint32_t v)
{
	return npu_card_reg_write(((struct vfio_priv *)npu_hw_priv(hw))->card, off, v);
}

static int vfio_buf_alloc(struct npu_hw *hw, size_t size, uint32_t flags, struct npu_hw_buf *buf)
{
	return npu_card_buf_alloc(((struct vfio_priv *)npu_hw_priv(hw))->card, size, flags, buf);
}

static int vfio_buf_import(struct npu_hw *hw, void *host, size_t size, int dmabuf_fd,
                           uint32_t flags, struct npu_hw_buf *buf)
{
	struct vfio_priv *p = npu_hw_priv(hw);
	unsigned prot = 0;
	uint64_t iova;
	int rc;

	(void)dmabuf_fd; /* type1 maps by the CPU address: the mapping is enough */
	if (!p->host_dma) {
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED,
		                    "%s: this card's DMA reaches card memory only (no "
		                    "NPU_CARD_F_HOST_DMA): staged through card memory",
		                    p->name);
	}
	if (!host || !size || !flags || (flags & ~(NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE)))
		return NPU_ERR_INVALID_ARG;
	if (npu_card_gone(p->card))
		return NPU_ERR_DISCONNECTED;
	if (flags & NPU_HW_BUF_DEV_READ)
		prot |= NPU_VFIO_DMA_READ;
	if (flags & NPU_HW_BUF_DEV_WRITE)
		prot |= NPU_VFIO_DMA_WRITE;
	if ((rc = npu_vfio_dma_map(p->v, host, size, prot, &iova)))
		return rc;
	buf->host = host;
	buf->dev_addr = iova;
	buf->size = size;
	buf->flags = flags;
	buf->priv = (void *)&vfio_imported;
	return NPU_OK;
}

static void vfio_buf_free(struct npu_hw *hw, struct npu_hw_buf *buf)
{
	struct vfio_priv *p = npu_hw_priv(hw);

	if (buf->priv == &vfio_imported)
		npu_vfio_dma_unmap(p->v, buf->dev_addr, buf->size);
	else
		npu_card_buf_free(p->card, buf);
}

static int vfio_buf_sync(struct npu_hw *hw, struct npu_hw_buf *buf, size_t off, size_t len,
                         enum npu_hw_sync_dir dir)
{
	struct vfio_priv *p = npu_hw_priv(hw);

	if (buf->priv != &vfio_imported)
		return npu_card_buf_sync(p->card, buf, off, len, dir);
	/* Host memory the device reaches through the IOMMU: DMA on x86 is
	 * cache coherent, ordering is all there is to do. */
	if (off > buf->size || len > buf->size - off ||
	    (dir != NPU_HW_SYNC_TO_DEVICE && dir != NPU_HW_SYNC_FROM_DEVICE))
		return NPU_ERR_INVALID_ARG;
	if (npu_card_gone(p->card))
		return NPU_ERR_DISCONNECTED;
	npu_card_fence();
	return NPU_OK;
}

static int vfio_submit(struct npu_hw *hw, uint32_t tail)
{
	return npu_card_submit(((struct vfio_priv *)npu_hw_priv(hw))->card, tail);
}

static int vfio_wait_irq(struct npu_hw *hw, int timeout_ms)
{
	struct vfio_priv *p = npu_hw_priv(hw);
	int rc = npu_card_wait_irq(p->card, timeout_ms);

	if (rc != NPU_OK && rc != NPU_ERR_TIMEOUT)
		return rc;
	/* A DMA the IOMMU blocked ends in a device error or a hang: the
	 * kernel log says which. */
	if (npu_vfio_check_faults(p->v) == NPU_ERR_IOMMU_FAULT)
		return NPU_ERR_IOMMU_FAULT;
	return rc;
}

static int vfio_reset(struct npu_hw *hw)
{
	return npu_card_reset(((struct vfio_priv *)npu_hw_priv(hw))->card);
}

const struct npu_backend_ops npu_vfio_backend = {
        .name = "vfio",
        .summary = "an lwnpu PCIe card through VFIO (IOMMU, MSI-X): vfio, vfio:DDDD:BB:DD.F",
        .priv_size = sizeof(struct vfio_priv),
        .open = vfio_open,
        .close = vfio_close,
        .reg_read = vfio_reg_read,
        .reg_write = vfio_reg_write,
        .buf_alloc = vfio_buf_alloc,
        .buf_free = vfio_buf_free,
        .buf_sync = vfio_buf_sync,
        .submit = vfio_submit,
        .wait_irq = vfio_wait_irq,
        .reset = vfio_reset,
        .buf_import = vfio_buf_import,
};
