/*
 * The "uio" backend: an lwnpu PCIe card (driver/npu_card.h) bound to the
 * kernel's uio_pci_generic, for machines where VFIO is not usable (no
 * IOMMU). The fallback has three limits, each a consequence of uio:
 *   - no interrupt: uio_pci_generic offers only INTx, which the card
 *     (ivshmem with MSI-X) does not raise; driver/card.c is given no
 *     eventfd (irq_fd -1) and polls the control page's irq_line instead;
 *   - no IOMMU: nothing protects host memory from the device, so there is
 *     no buf_import either (every buffer lives in card memory);
 *   - the BARs are mapped through sysfs (resource0, resource2), and memory
 *     decoding and bus mastering are switched on through the sysfs config
 *     file (root, like the rest).
 * docs/PCIE.md "The uio fallback" has the prose.
 *
 * URIs (the text after "uio:"):
 *   (empty)  the first uio device (lowest N) that is an lwnpu card: PCI
 *            1af4:1110 with the card magic in its control page
 *   N        /dev/uioN (decimal, 1-3 digits)
 * Anything else is NPU_ERR_INVALID_ARG. NPU_ERR_NO_DEVICE: no such uio
 * device (the detail says how to bind the card to uio_pci_generic), or
 * BAR files missing; NPU_ERR_NOT_SUPPORTED: not an ivshmem device, a BAR
 * too small, not an lwnpu card; NPU_ERR_PERMISSION: /dev/uioN or the
 * sysfs files refused.
 *
 * The ops are driver/card.c's: the doorbell is a 32-bit store of
 * (peer << 16) | vector to BAR0's DOORBELL register; the card is gone
 * when its heartbeat freezes or its config space reads all-ones (asked no
 * more than every UIO_PRESENT_MS).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "driver/backend.h"
#include "driver/card.h"
#include "driver/npu_card.h"
#include "driver/vfio_dev.h"

#define UIO_PRESENT_MS 50u
#define UIO_MAX_INDEX  999

struct uio_priv {
	int dev_fd;    /* /dev/uioN, held while open */
	int config_fd; /* sysfs config, for present() */
	struct npu_card *card;
	volatile uint32_t *regs; /* BAR0 */
	size_t regs_size;
	void *mem; /* BAR2 */
	size_t mem_size;
	int present;
	uint64_t present_ms;
	char bdf[NPU_PCI_BDF_LEN];
	char name[32];
};

static uint64_t uio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int uio_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	struct uio_priv *p = ctx;

	npu_card_fence();
	p->regs[NPU_IVSHMEM_DOORBELL / 4] = (peer << 16) | (vector & 0xffffu);
	return NPU_OK;
}

static int uio_present(void *ctx)
{
	struct uio_priv *p = ctx;
	uint64_t t = uio_now_ms();
	uint16_t ven;

	if (p->present && t - p->present_ms >= UIO_PRESENT_MS) {
		p->present = pread(p->config_fd, &ven, 2, 0) == 2 && ven != 0xffff;
		p->present_ms = t;
	}
	return p->present;
}

/* Parse "N" (1-3 decimal digits). */
static int uio_parse(const char *s, int *n)
{
	size_t len = strlen(s);

	if (!len || len > 3 || strspn(s, "0123456789") != len)
		return -1;
	*n = atoi(s);
	return 0;
}

/* The PCI address of uioN, from its sysfs device link. */
static int uio_bdf(int n, char bdf[NPU_PCI_BDF_LEN])
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t len;

	snprintf(path, sizeof(path), "%s/class/uio/uio%d", npu_sysfs_root(), n);
	if (access(path, F_OK))
		return npu_pci_fail(
		        NPU_ERR_NO_DEVICE,
		        "no uio device uio%d: bind the card to uio_pci_generic: modprobe "
		        "uio_pci_generic; echo 1af4 1110 > "
		        "/sys/bus/pci/drivers/uio_pci_generic/new_id",
		        n);
	snprintf(path, sizeof(path), "%s/class/uio/uio%d/device", npu_sysfs_root(), n);
	if ((len = readlink(path, target, sizeof(target) - 1)) < 0)
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED,
		                    "uio%d has no device link: not a PCI device", n);
	target[len] = 0;
	base = strrchr(target, '/');
	if (npu_pci_bdf_parse(base ? base + 1 : target, bdf))
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED, "uio%d is not a PCI device (%s)", n,
		                    target);
	return NPU_OK;
}

/* 1 when uioN's device has the card's PCI IDs. */
static int uio_ids_match(const char *bdf)
{
	char path[PATH_MAX], buf[16];
	static const char *const attr[2] = {"vendor", "device"};
	const unsigned want[2] = {NPU_CARD_PCI_VENDOR, NPU_CARD_PCI_DEVICE};

	for (int i = 0; i < 2; i++) {
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", npu_sysfs_root(), bdf,
		         attr[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return 0;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = 0;
		if (strtoul(buf, NULL, 16) != want[i])
			return 0;
	}
	return 1;
}

static void uio_close(struct npu_hw *hw);

/* Open uioN as a card. */
static int uio_attach(struct uio_priv *p, int n)
{
	struct npu_card_io io;
	char path[PATH_MAX];
	void *regs;
	int rc;

	if ((rc = uio_bdf(n, p->bdf)))
		return rc;
	snprintf(p->name, sizeof(p->name), "uio%d %s", n, p->bdf);
	snprintf(path, sizeof(path), "%s/uio%d", npu_dev_root(), n);
	if ((p->dev_fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return npu_pci_errno_status(errno, path);
	if (!uio_ids_match(p->bdf))
		return npu_pci_fail(
		        NPU_ERR_NOT_SUPPORTED,
		        "uio%d (%s) is not PCI %04x:%04x (an lwnpu card is an ivshmem device)", n,
		        p->bdf, NPU_CARD_PCI_VENDOR, NPU_CARD_PCI_DEVICE);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/config", npu_sysfs_root(), p->bdf);
	if ((p->config_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return npu_pci_errno_status(errno, path);
	if ((rc = npu_pci_enable_sysfs(p->bdf)))
		return rc;
	if ((rc = npu_pci_map_resource(p->bdf, NPU_CARD_BAR_REGS, &regs, &p->regs_size)))
		return rc;
	p->regs = regs;
	if (p->regs_size < NPU_IVSHMEM_DOORBELL + 4)
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED,
		                    "%s: BAR%u is %zu bytes, too small for ivshmem", p->name,
		                    NPU_CARD_BAR_REGS, p->regs_size);
	if ((rc = npu_pci_map_resource(p->bdf, NPU_CARD_BAR_MEM, &p->mem, &p->mem_size)))
		return rc;
	if (p->mem_size < NPU_CARD_CTRL_BYTES)
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED,
		                    "%s: BAR%u is %zu bytes, too small for a card", p->name,
		                    NPU_CARD_BAR_MEM, p->mem_size);
	p->present = 1;
	p->present_ms = uio_now_ms();
	memset(&io, 0, sizeof(io));
	io.mem = p->mem;
	io.mem_size = p->mem_size;
	io.ring = uio_ring;
	io.irq_fd = -1; /* uio_pci_generic gives the card no interrupt: card.c polls */
	io.present = uio_present;
	io.ctx = p;
	io.name = p->name;
	if ((rc = npu_card_open(&io, &p->card)))
		return rc;
	/* A known state whatever the last host left: the card outlives opens. */
	if ((rc = npu_card_reset(p->card)))
		return npu_pci_fail(rc, "%s: the card's reset at open failed (status %d)", p->name,
		                    rc);
	return NPU_OK;
}

static int uio_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* "uio": the lowest uioN that opens as a card. */
static int uio_find_card(struct npu_hw *hw)
{
	struct uio_priv *p = npu_hw_priv(hw);
	char dir[PATH_MAX], why[256] = "";
	int idx[64], n = 0, first_rc = 0;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class/uio", npu_sysfs_root());
	if ((d = opendir(dir))) {
		while ((e = readdir(d)) && n < (int)(sizeof(idx) / sizeof(idx[0]))) {
			int k;

			if (!strncmp(e->d_name, "uio", 3) && !uio_parse(e->d_name + 3, &k))
				idx[n++] = k;
		}
		closedir(d);
	}
	qsort(idx, (size_t)n, sizeof(idx[0]), uio_cmp);
	for (int i = 0; i < n; i++) {
		int rc;

		p->dev_fd = p->config_fd = -1;
		if ((rc = uio_attach(p, idx[i])) == NPU_OK)
			return NPU_OK;
		if (!first_rc) {
			first_rc = rc;
			snprintf(why, sizeof(why), "%s", npu_hw_detail());
		}
		uio_close(hw);
	}
	if (!n)
		return npu_pci_fail(NPU_ERR_NO_DEVICE,
		                    "no uio devices: bind the card to uio_pci_generic: modprobe "
		                    "uio_pci_generic; echo 1af4 1110 > "
		                    "/sys/bus/pci/drivers/uio_pci_generic/new_id");
	return npu_pci_fail(NPU_ERR_NO_DEVICE,
	                    "no lwnpu card among %d uio device(s); the first: %.180s", n, why);
}

static int uio_open(struct npu_hw *hw, const char *args)
{
	struct uio_priv *p = npu_hw_priv(hw);
	int n, rc;

	p->dev_fd = p->config_fd = -1;
	if (!args[0])
		return uio_find_card(hw);
	if (uio_parse(args, &n) || n > UIO_MAX_INDEX)
		return npu_pci_fail(NPU_ERR_INVALID_ARG,
		                    "'%.40s' is not a uio device number: use uio:N or uio", args);
	if ((rc = uio_attach(p, n)))
		uio_close(hw);
	return rc;
}

static void uio_close(struct npu_hw *hw)
{
	struct uio_priv *p = npu_hw_priv(hw);

	npu_card_close(p->card);
	if (p->mem)
		munmap(p->mem, p->mem_size);
	if (p->regs)
		munmap((void *)p->regs, p->regs_size);
	if (p->config_fd >= 0)
		close(p->config_fd);
	if (p->dev_fd >= 0)
		close(p->dev_fd);
	memset(p, 0, sizeof(*p));
	p->dev_fd = p->config_fd = -1;
}

static int uio_reg_read(struct npu_hw *hw, uint32_t off, uint32_t *v)
{
	return npu_card_reg_read(((struct uio_priv *)npu_hw_priv(hw))->card, off, v);
}

static int uio_reg_write(struct npu_hw *hw, uint32_t off, uint32_t v)
{
	return npu_card_reg_write(((struct uio_priv *)npu_hw_priv(hw))->card, off, v);
}

static int uio_buf_alloc(struct npu_hw *hw, size_t size, uint32_t flags, struct npu_hw_buf *buf)
{
	return npu_card_buf_alloc(((struct uio_priv *)npu_hw_priv(hw))->card, size, flags, buf);
}

static void uio_buf_free(struct npu_hw *hw, struct npu_hw_buf *buf)
{
	npu_card_buf_free(((struct uio_priv *)npu_hw_priv(hw))->card, buf);
}

static int uio_buf_sync(struct npu_hw *hw, struct npu_hw_buf *buf, size_t off, size_t len,
                        enum npu_hw_sync_dir dir)
{
	return npu_card_buf_sync(((struct uio_priv *)npu_hw_priv(hw))->card, buf, off, len, dir);
}

static int uio_submit(struct npu_hw *hw, uint32_t tail)
{
	return npu_card_submit(((struct uio_priv *)npu_hw_priv(hw))->card, tail);
}

static int uio_wait_irq(struct npu_hw *hw, int timeout_ms)
{
	return npu_card_wait_irq(((struct uio_priv *)npu_hw_priv(hw))->card, timeout_ms);
}

static int uio_reset(struct npu_hw *hw)
{
	return npu_card_reset(((struct uio_priv *)npu_hw_priv(hw))->card);
}

const struct npu_backend_ops npu_uio_backend = {
        .name = "uio",
        .summary = "an lwnpu PCIe card through uio_pci_generic (no IOMMU, no IRQ: polled): uio, "
                   "uio:N",
        .priv_size = sizeof(struct uio_priv),
        .open = uio_open,
        .close = uio_close,
        .reg_read = uio_reg_read,
        .reg_write = uio_reg_write,
        .buf_alloc = uio_buf_alloc,
        .buf_free = uio_buf_free,
        .buf_sync = uio_buf_sync,
        .submit = uio_submit,
        .wait_irq = uio_wait_irq,
        .reset = uio_reset,
};
