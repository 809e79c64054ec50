/*
 * Generic PCI device access from userspace: sysfs discovery, VFIO
 * (group, container, type1 IOMMU, regions, interrupts as eventfds, reset)
 * and the kernel log's IOMMU fault lines. Nothing here knows the NPU: the
 * vfio and uio backends (driver/vfio.c, driver/uio.c) build on it, and so
 * do the PCIe guest tests for QEMU's edu device. Internal to driver/;
 * docs/PCIE.md "The vfio backend" has the prose.
 *
 * Paths: sysfs is "/sys" and device nodes "/dev", unless $NPU_SYSFS_ROOT
 * or $NPU_DEV_ROOT name other directories (the host tests build a fake
 * tree there; nothing else should set them).
 *
 * Errors: every function returns NPU_OK or an NPU_ERR_* and, on failure,
 * says what happened and what to do through npu_hw_set_detail() (so that
 * npu_last_error() has it after a failed npu_open); with NPU_DEBUG set in
 * the environment the same line goes to stderr. Output parameters are
 * written only on success.
 */
#ifndef NPU_DRIVER_VFIO_DEV_H
#define NPU_DRIVER_VFIO_DEV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "DDDD:BB:DD.F" and its NUL. */
#define NPU_PCI_BDF_LEN 13

/* Set the detail npu_last_error() will show (npu_hw_set_detail) and,
 * with NPU_DEBUG set, print it on stderr; returns code. */
int npu_pci_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The roots in use ("/sys", "/dev" or the environment's). */
const char *npu_sysfs_root(void);
const char *npu_dev_root(void);

/* ---- PCI through sysfs ---------------------------------------------- */

/* Parse a PCI address written exactly as DDDD:BB:DD.F (hex, 4:2:2.1
 * digits, device <= 0x1f, function <= 7; upper or lower case) into its
 * canonical lower-case form. Returns NPU_OK or NPU_ERR_INVALID_ARG. */
int npu_pci_bdf_parse(const char *s, char bdf[NPU_PCI_BDF_LEN]);

/* The index-th device (0 = first) with these IDs under
 * SYSFS/bus/pci/devices, in BDF order. Returns NPU_OK or
 * NPU_ERR_NO_DEVICE (fewer than index+1 such devices). */
int npu_pci_find(uint16_t vendor, uint16_t device, unsigned index, char bdf[NPU_PCI_BDF_LEN]);

/* The driver bound to bdf ("vfio-pci", "uio_pci_generic"; "" when none).
 * Returns NPU_OK, NPU_ERR_NO_DEVICE (no such device), NPU_ERR_INVALID_ARG
 * (len too small). */
int npu_pci_driver(const char *bdf, char *name, size_t len);

/* bdf's IOMMU group number. Returns NPU_OK, NPU_ERR_NO_DEVICE (no such
 * device), NPU_ERR_NOT_SUPPORTED (no group: the IOMMU is off). */
int npu_pci_iommu_group(const char *bdf, int *group);

/* Set the memory-space and bus-master bits of bdf's PCI command register
 * through SYSFS/bus/pci/devices/BDF/config (the uio path; vfio does it
 * through its config region). Returns NPU_OK, NPU_ERR_NO_DEVICE,
 * NPU_ERR_PERMISSION, NPU_ERR_DISCONNECTED (config space reads as
 * all-ones), NPU_ERR_IO. */
int npu_pci_enable_sysfs(const char *bdf);

/* Map BAR n of bdf through SYSFS/bus/pci/devices/BDF/resourceN (read and
 * write, shared); *size is the file's size (the BAR's). Unmap with
 * munmap(*p, *size). Returns NPU_OK, NPU_ERR_NO_DEVICE (no such file),
 * NPU_ERR_PERMISSION, NPU_ERR_IO (empty or not mappable). */
int npu_pci_map_resource(const char *bdf, unsigned n, void **p, size_t *size);

/* ---- VFIO ------------------------------------------------------------ */

struct npu_vfio;

/* Open bdf through VFIO: its group (DEV/vfio/N), a container
 * (DEV/vfio/vfio) with the type1 IOMMU (v2 when offered), the device fd;
 * then memory decoding and bus mastering on (vfio-pci leaves bus
 * mastering off, and the device's DMA and MSI-X are then dropped). Also
 * notes where the kernel log ends, for npu_vfio_iommu_faults(). Returns:
 *   NPU_OK
 *   NPU_ERR_INVALID_ARG    bdf is not DDDD:BB:DD.F
 *   NPU_ERR_NO_DEVICE      no such device, or not bound to vfio-pci (the
 *                          detail has the commands that bind it)
 *   NPU_ERR_NOT_SUPPORTED  no IOMMU group (IOMMU off), not a VFIO group,
 *                          no type1 IOMMU
 *   NPU_ERR_PERMISSION     DEV/vfio/N not accessible (named), or the
 *                          IOMMU refused (interrupt remapping off)
 *   NPU_ERR_BUSY           another process has the group, or the group is
 *                          not viable (its other devices, named, are bound
 *                          to other drivers)
 *   NPU_ERR_DISCONNECTED   config space reads as all-ones
 *   NPU_ERR_NO_MEM, NPU_ERR_IO */
int npu_vfio_open(const char *bdf, struct npu_vfio **out);
/* Disable interrupts, unmap DMA, close everything. NULL is a no-op. */
void npu_vfio_close(struct npu_vfio *v);
const char *npu_vfio_bdf(const struct npu_vfio *v);

/* Region indices are VFIO's: VFIO_PCI_BAR0_REGION_INDEX..BAR5 (0..5),
 * VFIO_PCI_CONFIG_REGION_INDEX (7). */

/* Size and VFIO_REGION_INFO_FLAG_* of a region. Returns NPU_OK,
 * NPU_ERR_INVALID_ARG (no such region), NPU_ERR_DISCONNECTED. */
int npu_vfio_region_info(struct npu_vfio *v, unsigned index, uint64_t *size, uint32_t *flags);
/* mmap a whole region (read/write, shared). Unmapped by npu_vfio_close.
 * Returns NPU_OK, NPU_ERR_INVALID_ARG (no such region or empty),
 * NPU_ERR_NOT_SUPPORTED (the region cannot be mmapped: use
 * npu_vfio_region_read/write), NPU_ERR_DISCONNECTED, NPU_ERR_IO. */
int npu_vfio_map_region(struct npu_vfio *v, unsigned index, void **p, size_t *size);
/* pread/pwrite len bytes at off of a region (a 1, 2, 4 or 8 byte
 * access is one access of that width, as registers want). Returns NPU_OK,
 * NPU_ERR_INVALID_ARG (outside the region), NPU_ERR_DISCONNECTED (ENODEV:
 * the device is gone), NPU_ERR_IO. */
int npu_vfio_region_read(struct npu_vfio *v, unsigned index, uint64_t off, void *buf, size_t len);
int npu_vfio_region_write(struct npu_vfio *v, unsigned index, uint64_t off, const void *buf,
                          size_t len);

/* An eventfd that one interrupt signals: irq_index VFIO_PCI_MSIX_IRQ_INDEX
 * (vector: enables MSI-X with vectors 0..vector, the others unused) or
 * VFIO_PCI_INTX_IRQ_INDEX (vector 0; INTx is masked by the kernel at each
 * interrupt: call npu_vfio_irq_unmask after handling it). Read 8 bytes
 * from *fd to clear it. The fd belongs to v (closed by npu_vfio_close);
 * asking twice for the same vector returns the same fd. Returns NPU_OK,
 * NPU_ERR_INVALID_ARG (no such interrupt or vector), NPU_ERR_NO_MEM,
 * NPU_ERR_DISCONNECTED, NPU_ERR_IO. */
int npu_vfio_irq_eventfd(struct npu_vfio *v, unsigned irq_index, unsigned vector, int *fd);
/* Unmask INTx after an interrupt. Returns NPU_OK or NPU_ERR_IO. */
int npu_vfio_irq_unmask(struct npu_vfio *v, unsigned irq_index);

/* VFIO_DEVICE_RESET (function-level or similar reset), then memory and
 * bus master on again. Returns NPU_OK, NPU_ERR_NOT_SUPPORTED (the device
 * offers no reset), NPU_ERR_DISCONNECTED, NPU_ERR_IO. */
int npu_vfio_reset(struct npu_vfio *v);

/* 1 while the device answers config reads (the class/revision dword, which
 * vfio-pci reads from the device, is not all-ones). */
int npu_vfio_present(struct npu_vfio *v);

/* Device access for npu_vfio_dma_map. */
#define NPU_VFIO_DMA_READ  0x1u /* the device reads the memory */
#define NPU_VFIO_DMA_WRITE 0x2u /* the device writes it */

/* Make [host, host+size) reachable by the device's DMA at *iova through
 * the IOMMU: host and size page aligned; the IOVA is the first fit in
 * the ranges the IOMMU reports (VFIO_IOMMU_GET_INFO's IOVA ranges, less
 * the MSI window 0xfee00000-0xfeefffff and page 0). Returns NPU_OK,
 * NPU_ERR_INVALID_ARG (unaligned, prot 0), NPU_ERR_NO_MEM (no IOVA space
 * or the kernel's pinning limit, RLIMIT_MEMLOCK), NPU_ERR_IO. */
int npu_vfio_dma_map(struct npu_vfio *v, void *host, size_t size, unsigned prot, uint64_t *iova);
/* Undo one npu_vfio_dma_map (same iova and size). Returns NPU_OK,
 * NPU_ERR_INVALID_ARG (no such mapping), NPU_ERR_IO. */
int npu_vfio_dma_unmap(struct npu_vfio *v, uint64_t iova, size_t size);

/* IOMMU faults the kernel logged for this device since npu_vfio_open
 * (vfio reports none to userspace; DEV/kmsg has them: Intel DMAR and
 * AMD-Vi IO_PAGE_FAULT lines naming the device). Returns the count (0:
 * none) and, when there is one, the first fault's address in *addr; or
 * NPU_ERR_NOT_SUPPORTED when the log cannot be read (not root, or
 * dmesg_restrict; no detail is set). Each fault is counted once: a
 * second call reports only newer ones. */
int npu_vfio_iommu_faults(struct npu_vfio *v, uint64_t *addr);
/* The same as a status: NPU_OK (no new fault), NPU_ERR_IOMMU_FAULT with a
 * detail naming the device, the count and the first address (for
 * npu_last_error(), via npu_hw_detail()), or NPU_ERR_NOT_SUPPORTED as
 * above. */
int npu_vfio_check_faults(struct npu_vfio *v);

/* ---- pieces, exposed for the host tests -------------------------------- */

/* An IOVA allocator: first fit over free ranges, page granular. Ranges
 * are [start, last] (inclusive, as VFIO reports them). */
struct npu_iova_range {
	uint64_t start, last;
};
struct npu_iova {
	struct npu_iova_range *free; /* sorted, disjoint, neighbours merged */
	size_t nfree, cap;
	uint64_t page; /* a power of two */
};
/* Free space = usable ranges less reserved ones, each range shrunk to
 * whole pages. Returns NPU_OK, NPU_ERR_INVALID_ARG (page not a power of
 * two, a range with last < start), NPU_ERR_NO_MEM. */
int npu_iova_init(struct npu_iova *a, uint64_t page, const struct npu_iova_range *usable,
                  size_t nusable, const struct npu_iova_range *reserved, size_t nreserved);
void npu_iova_fini(struct npu_iova *a);
/* size bytes (rounded up to pages) at the lowest free address that
 * fits. Returns NPU_OK, NPU_ERR_INVALID_ARG (size 0), NPU_ERR_NO_MEM. */
int npu_iova_alloc(struct npu_iova *a, uint64_t size, uint64_t *iova);
/* Give back [iova, iova+size) (size rounded up to pages), merging with
 * its neighbours. Returns NPU_OK, NPU_ERR_INVALID_ARG (unaligned, or
 * overlapping free space: a double free), NPU_ERR_NO_MEM. */
int npu_iova_free(struct npu_iova *a, uint64_t iova, uint64_t size);

/* One kernel log message (a /dev/kmsg record "prio,seq,ts,flags;text" or
 * plain text): 1 when it reports an IOMMU fault of the device bdf
 * (DDDD:BB:DD.F), with the faulting address in *addr; else 0. */
int npu_iommu_fault_parse(const char *msg, const char *bdf, uint64_t *addr);

/* The kernel log from now on: open DEV/kmsg at its end (-1 when it
 * cannot be read), and count the fault lines of bdf in what was logged
 * since (the first address in *addr; the fd advances past them). */
int npu_kmsg_open(void);
int npu_kmsg_faults(int fd, const char *bdf, uint64_t *addr);

/* What an errno from opening a device node or sysfs file means, as a
 * status and a detail naming path (EACCES/EPERM -> PERMISSION, EBUSY ->
 * BUSY, ENOENT -> NO_DEVICE, ...). */
int npu_pci_errno_status(int err, const char *path);
#ifdef __cplusplus
}
#endif

#endif /* NPU_DRIVER_VFIO_DEV_H */
