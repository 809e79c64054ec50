/*
 * Generic PCI device access from userspace (driver/vfio_dev.h): sysfs,
 * VFIO with the type1 IOMMU, and the kernel log's IOMMU fault lines.
 *
 * What the kernel wants, in order (Documentation/driver-api/vfio.rst):
 * the device bound to vfio-pci; its group node DEV/vfio/N opened; the
 * group viable (every device of the group bound to vfio-pci or pci-stub,
 * or to nothing); a container DEV/vfio/vfio of the same API version with
 * the type1 IOMMU; the group attached to it, the IOMMU model set (this
 * is where an IOMMU without interrupt remapping says EPERM); then the
 * device fd, whose regions (BARs, config space) are read, written and
 * mapped at the offsets VFIO_DEVICE_GET_REGION_INFO gives.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "driver/backend.h"
#include "driver/vfio_dev.h"

/* The x86 MSI window: a DMA there is an interrupt, never memory. */
#define VD_MSI_START 0xfee00000ull
#define VD_MSI_LAST  0xfeefffffull
/* Without an IOVA range capability (kernels before 5.4): 1 MiB..2^39,
 * which every x86 IOMMU in use can address. */
#define VD_IOVA_DEFAULT_START 0x100000ull
#define VD_IOVA_DEFAULT_LAST  ((1ull << 39) - 1)
#define VD_REGIONS            VFIO_PCI_NUM_REGIONS
#define VD_IRQS               VFIO_PCI_NUM_IRQS

struct vd_region {
	int known; /* info fetched */
	uint64_t size, offset;
	uint32_t flags;
	void *map; /* npu_vfio_map_region's mapping, or NULL */
};

struct vd_irq {
	int *fds; /* eventfds of vectors 0..count-1, -1 where none */
	unsigned count;
};

struct vd_dma {
	uint64_t iova, size;
};

struct npu_vfio {
	char bdf[NPU_PCI_BDF_LEN];
	int group_fd, container_fd, device_fd, kmsg_fd;
	uint32_t dev_flags, num_regions, num_irqs;
	struct vd_region region[VD_REGIONS];
	struct vd_irq irq[VD_IRQS];
	struct npu_iova iova;
	struct vd_dma *dma;
	size_t ndma, dma_cap;
};

/* The one exit for failures: the detail for npu_last_error() and, with
 * NPU_DEBUG, the same line on stderr. */
int npu_pci_fail(int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	npu_hw_set_detail("%s", msg);
	if (getenv("NPU_DEBUG"))
		fprintf(stderr, "libnpu: %s\n", msg);
	return code;
}

static const char *env_root(const char *var, const char *def)
{
	const char *s = getenv(var);

	return s && *s ? s : def;
}

const char *npu_sysfs_root(void)
{
	return env_root("NPU_SYSFS_ROOT", "/sys");
}

const char *npu_dev_root(void)
{
	return env_root("NPU_DEV_ROOT", "/dev");
}

/* SYSFS/bus/pci/devices/BDF[/leaf]; 0, or -1 when it does not fit. */
static int pci_path(char *out, size_t len, const char *bdf, const char *leaf)
{
	int n = snprintf(out, len, "%s/bus/pci/devices/%s%s%s", npu_sysfs_root(), bdf,
	                 leaf ? "/" : "", leaf ? leaf : "");

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- PCI through sysfs ---------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int npu_pci_bdf_parse(const char *s, char bdf[NPU_PCI_BDF_LEN])
{
	/* 'x' a hex digit, others literal. */
	static const char form[] = "xxxx:xx:xx.x";
	char out[NPU_PCI_BDF_LEN];

	if (!s || strlen(s) != sizeof(form) - 1)
		return NPU_ERR_INVALID_ARG;
	for (size_t i = 0; i < sizeof(form) - 1; i++) {
		if (form[i] != 'x') {
			if (s[i] != form[i])
				return NPU_ERR_INVALID_ARG;
			out[i] = s[i];
			continue;
		}
		if (hexval(s[i]) < 0)
			return NPU_ERR_INVALID_ARG;
		out[i] = "0123456789abcdef"[hexval(s[i])];
	}
	out[sizeof(form) - 1] = 0;
	/* device 0..0x1f, function 0..7 */
	if (hexval(out[8]) > 1 || hexval(out[11]) > 7)
		return NPU_ERR_INVALID_ARG;
	memcpy(bdf, out, NPU_PCI_BDF_LEN);
	return NPU_OK;
}

/* A sysfs attribute holding one hex number ("0x1af4\n"). */
static int read_hex(const char *path, unsigned long *v)
{
	char buf[32], *end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	errno = 0;
	*v = strtoul(buf, &end, 16);
	return errno || end == buf ? -1 : 0;
}

static int bdf_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int npu_pci_find(uint16_t vendor, uint16_t device, unsigned index, char bdf[NPU_PCI_BDF_LEN])
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	char(*found)[NPU_PCI_BDF_LEN] = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = NPU_ERR_NO_DEVICE;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices", npu_sysfs_root());
	if (!(d = opendir(dir)))
		return npu_pci_fail(NPU_ERR_NO_DEVICE, "no PCI bus in sysfs (%s: %s)", dir,
		                    strerror(errno));
	while ((e = readdir(d))) {
		char b[NPU_PCI_BDF_LEN];
		unsigned long ven, dev;

		if (npu_pci_bdf_parse(e->d_name, b))
			continue;
		snprintf(path, sizeof(path), "%s/%s/vendor", dir, b);
		if (read_hex(path, &ven) || ven != vendor)
			continue;
		snprintf(path, sizeof(path), "%s/%s/device", dir, b);
		if (read_hex(path, &dev) || dev != device)
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 8;
			void *p = realloc(found, nc * sizeof(*found));

			if (!p) {
				rc = NPU_ERR_NO_MEM;
				goto out;
			}
			found = p;
			cap = nc;
		}
		memcpy(found[n++], b, NPU_PCI_BDF_LEN);
	}
	if (n > index) {
		qsort(found, n, sizeof(*found), bdf_cmp);
		memcpy(bdf, found[index], NPU_PCI_BDF_LEN);
		rc = NPU_OK;
	} else {
		npu_pci_fail(rc, "no PCI device %04x:%04x number %u (%zu found)", vendor, device,
		             index, n);
	}
out:
	closedir(d);
	free(found);
	return rc;
}

/* The last component of the symlink SYSFS/bus/pci/devices/BDF/leaf into
 * name; 0, 1 when there is no such link, -1 on other errors. */
static int link_name(const char *bdf, const char *leaf, char *name, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	if (pci_path(path, sizeof(path), bdf, leaf))
		return -1;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT ? 1 : -1;
	target[n] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -1;
	strcpy(name, base);
	return 0;
}

static int device_exists(const char *bdf)
{
	char path[PATH_MAX];
	struct stat st;

	return !pci_path(path, sizeof(path), bdf, NULL) && stat(path, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

int npu_pci_driver(const char *bdf, char *name, size_t len)
{
	char tmp[128];
	int rc;

	if (!device_exists(bdf))
		return npu_pci_fail(NPU_ERR_NO_DEVICE, "no PCI device %s (%s/bus/pci/devices)", bdf,
		                    npu_sysfs_root());
	rc = link_name(bdf, "driver", tmp, sizeof(tmp));
	if (rc < 0)
		return npu_pci_fail(NPU_ERR_IO, "%s: cannot read its driver link", bdf);
	if (rc > 0)
		tmp[0] = 0;
	if (strlen(tmp) >= len)
		return NPU_ERR_INVALID_ARG;
	strcpy(name, tmp);
	return NPU_OK;
}

int npu_pci_iommu_group(const char *bdf, int *group)
{
	char tmp[32], *end;
	long g;
	int rc;

	if (!device_exists(bdf))
		return npu_pci_fail(NPU_ERR_NO_DEVICE, "no PCI device %s (%s/bus/pci/devices)", bdf,
		                    npu_sysfs_root());
	rc = link_name(bdf, "iommu_group", tmp, sizeof(tmp));
	if (rc > 0)
		return npu_pci_fail(
		        NPU_ERR_NOT_SUPPORTED,
		        "%s has no IOMMU group: boot with intel_iommu=on (or amd_iommu=on) and "
		        "the IOMMU enabled in the firmware (QEMU: -device "
		        "intel-iommu,intremap=on); or use uio:",
		        bdf);
	errno = 0;
	g = rc ? -1 : strtol(tmp, &end, 10);
	if (rc || errno || *end || g < 0 || g > INT_MAX)
		return npu_pci_fail(NPU_ERR_IO, "%s: unreadable iommu_group link", bdf);
	*group = (int)g;
	return NPU_OK;
}

/* A file operation's errno as a status; the detail names path. */
int npu_pci_errno_status(int err, const char *path)
{
	switch (err) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return npu_pci_fail(NPU_ERR_NO_DEVICE, "%s does not exist", path);
	case EACCES:
	case EPERM:
	case EROFS:
		return npu_pci_fail(
		        NPU_ERR_PERMISSION,
		        "%s: permission denied: run as root, or give the user that node "
		        "(chown USER %s, or a udev rule) and enough locked memory (ulimit -l)",
		        path, path);
	case EBUSY:
		return npu_pci_fail(
		        NPU_ERR_BUSY,
		        "%s is in use (by another process, or already open in this one)", path);
	case ENOMEM:
		return npu_pci_fail(NPU_ERR_NO_MEM, "%s: out of memory", path);
	default:
		return npu_pci_fail(NPU_ERR_IO, "%s: %s", path, strerror(err));
	}
}

int npu_pci_enable_sysfs(const char *bdf)
{
	char path[PATH_MAX];
	uint16_t ven, cmd;
	int fd, rc = NPU_OK;

	if (pci_path(path, sizeof(path), bdf, "config"))
		return NPU_ERR_INVALID_ARG;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return npu_pci_errno_status(errno, path);
	if (pread(fd, &ven, 2, PCI_VENDOR_ID) != 2 || pread(fd, &cmd, 2, PCI_COMMAND) != 2)
		rc = npu_pci_fail(NPU_ERR_IO, "%s: cannot read config space", path);
	else if (ven == 0xffff)
		rc = npu_pci_fail(NPU_ERR_DISCONNECTED,
		                  "%s: config space reads all-ones: the device is gone", bdf);
	else if ((cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) !=
	         (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) {
		cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
		if (pwrite(fd, &cmd, 2, PCI_COMMAND) != 2)
			rc = npu_pci_fail(NPU_ERR_IO, "%s: cannot write the command register: %s",
			                  path, strerror(errno));
	}
	close(fd);
	return rc;
}

int npu_pci_map_resource(const char *bdf, unsigned n, void **p, size_t *size)
{
	char leaf[32], path[PATH_MAX];
	struct stat st;
	void *m;
	int fd;

	snprintf(leaf, sizeof(leaf), "resource%u", n);
	if (pci_path(path, sizeof(path), bdf, leaf))
		return NPU_ERR_INVALID_ARG;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return npu_pci_errno_status(errno, path);
	if (fstat(fd, &st) || st.st_size <= 0) {
		close(fd);
		return npu_pci_fail(NPU_ERR_IO, "%s: empty (BAR %u not implemented)", path, n);
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return npu_pci_fail(NPU_ERR_IO, "%s: mmap: %s", path, strerror(errno));
	*p = m;
	*size = (size_t)st.st_size;
	return NPU_OK;
}

/* ---- IOVA allocator ------------------------------------------------- */

static int iova_insert(struct npu_iova *a, size_t at, uint64_t start, uint64_t last)
{
	if (a->nfree == a->cap) {
		size_t nc = a->cap ? 2 * a->cap : 8;
		void *p = realloc(a->free, nc * sizeof(*a->free));

		if (!p)
			return NPU_ERR_NO_MEM;
		a->free = p;
		a->cap = nc;
	}
	memmove(&a->free[at + 1], &a->free[at], (a->nfree - at) * sizeof(*a->free));
	a->free[at].start = start;
	a->free[at].last = last;
	a->nfree++;
	return NPU_OK;
}

static void iova_erase(struct npu_iova *a, size_t at)
{
	memmove(&a->free[at], &a->free[at + 1], (a->nfree - at - 1) * sizeof(*a->free));
	a->nfree--;
}

/* Add [start, last] to the free space (it must not overlap it), merged
 * with a neighbour that touches it. */
static int iova_add(struct npu_iova *a, uint64_t start, uint64_t last)
{
	size_t i = 0;

	while (i < a->nfree && a->free[i].start < start)
		i++;
	if (i > 0 && a->free[i - 1].last != UINT64_MAX && a->free[i - 1].last + 1 == start) {
		a->free[i - 1].last = last;
		if (i < a->nfree && last != UINT64_MAX && last + 1 == a->free[i].start) {
			a->free[i - 1].last = a->free[i].last;
			iova_erase(a, i);
		}
		return NPU_OK;
	}
	if (i < a->nfree && last != UINT64_MAX && last + 1 == a->free[i].start) {
		a->free[i].start = start;
		return NPU_OK;
	}
	return iova_insert(a, i, start, last);
}

/* Take [start, last] out of the free space wherever it overlaps. */
static int iova_remove(struct npu_iova *a, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < a->nfree; i++) {
		struct npu_iova_range r = a->free[i];

		if (r.last < start || r.start > last)
			continue;
		if (r.start < start && r.last > last) {
			a->free[i].last = start - 1;
			return iova_insert(a, i + 1, last + 1, r.last);
		}
		if (r.start < start) {
			a->free[i].last = start - 1;
		} else if (r.last > last) {
			a->free[i].start = last + 1;
		} else {
			iova_erase(a, i);
			i--;
		}
	}
	return NPU_OK;
}

int npu_iova_init(struct npu_iova *a, uint64_t page, const struct npu_iova_range *usable,
                  size_t nusable, const struct npu_iova_range *reserved, size_t nreserved)
{
	const uint64_t mask = page - 1;
	int rc = NPU_OK;

	memset(a, 0, sizeof(*a));
	if (!page || (page & mask))
		return NPU_ERR_INVALID_ARG;
	a->page = page;
	for (size_t i = 0; i < nusable && !rc; i++) {
		uint64_t s = usable[i].start, l = usable[i].last, last;

		if (l < s)
			rc = NPU_ERR_INVALID_ARG;
		else if (s > UINT64_MAX - mask)
			continue; /* no whole page starts in it */
		s = (s + mask) & ~mask;
		/* the last byte of the last whole page (2^64 is aligned) */
		if (l == UINT64_MAX)
			last = UINT64_MAX;
		else if (((l + 1) & ~mask) <= s)
			continue;
		else
			last = ((l + 1) & ~mask) - 1;
		/* usable ranges may overlap each other: add only what is new */
		if (!(rc = iova_remove(a, s, last)))
			rc = iova_add(a, s, last);
	}
	for (size_t i = 0; i < nreserved && !rc; i++) {
		if (reserved[i].last < reserved[i].start)
			rc = NPU_ERR_INVALID_ARG;
		else
			rc = iova_remove(a, reserved[i].start & ~mask, reserved[i].last | mask);
	}
	if (rc)
		npu_iova_fini(a);
	return rc;
}

void npu_iova_fini(struct npu_iova *a)
{
	free(a->free);
	memset(a, 0, sizeof(*a));
}

int npu_iova_alloc(struct npu_iova *a, uint64_t size, uint64_t *iova)
{
	const uint64_t mask = a->page - 1;

	if (!size)
		return NPU_ERR_INVALID_ARG;
	if (size > UINT64_MAX - mask)
		return NPU_ERR_NO_MEM;
	size = (size + mask) & ~mask;
	for (size_t i = 0; i < a->nfree; i++) {
		uint64_t s = a->free[i].start;

		if (a->free[i].last - s < size - 1)
			continue;
		if (s + size - 1 == a->free[i].last)
			iova_erase(a, i);
		else
			a->free[i].start = s + size;
		*iova = s;
		return NPU_OK;
	}
	return NPU_ERR_NO_MEM;
}

int npu_iova_free(struct npu_iova *a, uint64_t iova, uint64_t size)
{
	const uint64_t mask = a->page - 1;
	uint64_t last;

	if (!size || (iova & mask) || size > UINT64_MAX - mask)
		return NPU_ERR_INVALID_ARG;
	size = (size + mask) & ~mask;
	if (iova > UINT64_MAX - (size - 1))
		return NPU_ERR_INVALID_ARG;
	last = iova + size - 1;
	for (size_t i = 0; i < a->nfree; i++)
		if (!(a->free[i].last < iova || a->free[i].start > last))
			return NPU_ERR_INVALID_ARG;
	return iova_add(a, iova, last);
}

/* ---- kernel log ------------------------------------------------------ */

/* The address after key in s (hex, with or without 0x); 0 or -1. */
static int hex_after(const char *s, const char *key, uint64_t *v)
{
	const char *p = strstr(s, key);
	char *end;

	if (!p)
		return -1;
	p += strlen(key);
	errno = 0;
	*v = strtoull(p, &end, 16);
	return errno || end == p ? -1 : 0;
}

/* s names the device id right after pre (pre "": anywhere), not as a
 * part of a longer address: no hex digit or ':' before it (pre ""), no
 * hex digit or '.' after it (a ':' may follow: "0000:00:04.0: msg"). */
static int names_device(const char *s, const char *pre, const char *id)
{
	size_t n = strlen(id), m = strlen(pre);

	for (const char *p = s; (p = strstr(p, pre)) && *p; p++) {
		const char *q = p + m;
		int before = m ? 0 : (p > s && (hexval(p[-1]) >= 0 || p[-1] == ':'));

		if (!before && strncmp(q, id, n) == 0 && !(hexval(q[n]) >= 0 || q[n] == '.'))
			return 1;
	}
	return 0;
}

int npu_iommu_fault_parse(const char *msg, const char *bdf, uint64_t *addr)
{
	const char *semi = strchr(msg, ';');
	const char *shortid = bdf + 5; /* BB:DD.F */
	uint64_t a;

	/* a kmsg record: "prio,seq,usec,flags;text" */
	if (semi && msg[0] >= '0' && msg[0] <= '9' && strcspn(msg, " ") > (size_t)(semi - msg))
		msg = semi + 1;
	if (strlen(bdf) != NPU_PCI_BDF_LEN - 1)
		return 0;
	/* Intel: "DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr
	 * 0x12345000 [fault reason 0x06] PTE Read access is not set"; the
	 * segment is printed only where it is not 0. */
	if (strstr(msg, "DMAR:") && strstr(msg, "Request device [") &&
	    (names_device(msg, "[", bdf) ||
	     (!strncmp(bdf, "0000:", 5) && names_device(msg, "[", shortid))) &&
	    !hex_after(msg, "fault addr ", &a)) {
		*addr = a;
		return 1;
	}
	/* AMD: "vfio-pci 0000:00:04.0: AMD-Vi: Event logged [IO_PAGE_FAULT
	 * domain=0x000e address=0x1000 flags=0x0000]", older kernels
	 * "[IO_PAGE_FAULT device=00:04.0 domain=... address=... flags=...]". */
	if (strstr(msg, "IO_PAGE_FAULT") &&
	    (names_device(msg, "", bdf) ||
	     (!strncmp(bdf, "0000:", 5) && names_device(msg, "device=", shortid))) &&
	    !hex_after(msg, "address=", &a)) {
		*addr = a;
		return 1;
	}
	return 0;
}

int npu_kmsg_open(void)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/kmsg", npu_dev_root());
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int npu_kmsg_faults(int fd, const char *bdf, uint64_t *addr)
{
	char buf[8192];
	int count = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		char *line, *nl;

		if (n < 0 && errno == EPIPE)
			continue; /* records overwritten before we read them */
		if (n <= 0)
			break;
		buf[n] = 0;
		/* /dev/kmsg gives one record per read, ending in '\n'; a plain
		 * file (tests) gives lines in chunks: a partial last line is
		 * read again next time. */
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			uint64_t a;

			*nl = 0;
			if (npu_iommu_fault_parse(line, bdf, &a) && count++ == 0 && addr)
				*addr = a;
		}
		if (*line) {
			lseek(fd, -(off_t)strlen(line), SEEK_CUR);
			break;
		}
	}
	return count;
}

/* ---- VFIO ------------------------------------------------------------ */

static int vd_region(struct npu_vfio *v, unsigned index, struct vd_region **out)
{
	struct vd_region *r;
	struct vfio_region_info info;

	if (index >= VD_REGIONS || index >= v->num_regions)
		return npu_pci_fail(NPU_ERR_INVALID_ARG, "%s has no region %u", v->bdf, index);
	r = &v->region[index];
	if (!r->known) {
		memset(&info, 0, sizeof(info));
		info.argsz = sizeof(info);
		info.index = index;
		if (ioctl(v->device_fd, VFIO_DEVICE_GET_REGION_INFO, &info))
			return npu_pci_fail(errno == ENODEV ? NPU_ERR_DISCONNECTED : NPU_ERR_IO,
			                    "%s: VFIO_DEVICE_GET_REGION_INFO %u: %s", v->bdf, index,
			                    strerror(errno));
		r->size = info.size;
		r->offset = info.offset;
		r->flags = info.flags;
		r->known = 1;
	}
	*out = r;
	return NPU_OK;
}

int npu_vfio_region_info(struct npu_vfio *v, unsigned index, uint64_t *size, uint32_t *flags)
{
	struct vd_region *r;
	int rc = vd_region(v, index, &r);

	if (rc)
		return rc;
	*size = r->size;
	*flags = r->flags;
	return NPU_OK;
}

int npu_vfio_map_region(struct npu_vfio *v, unsigned index, void **p, size_t *size)
{
	struct vd_region *r;
	void *m;
	int rc = vd_region(v, index, &r);

	if (rc)
		return rc;
	if (!r->size)
		return npu_pci_fail(NPU_ERR_INVALID_ARG, "%s: region %u is empty", v->bdf, index);
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED, "%s: region %u cannot be mmapped",
		                    v->bdf, index);
	if (!r->map) {
		m = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device_fd,
		         (off_t)r->offset);
		if (m == MAP_FAILED)
			return npu_pci_fail(errno == ENODEV ? NPU_ERR_DISCONNECTED : NPU_ERR_IO,
			                    "%s: mmap of region %u: %s", v->bdf, index,
			                    strerror(errno));
		r->map = m;
	}
	*p = r->map;
	*size = r->size;
	return NPU_OK;
}

static int vd_rw(struct npu_vfio *v, unsigned index, uint64_t off, void *buf, size_t len, int write)
{
	struct vd_region *r;
	ssize_t n;
	int rc = vd_region(v, index, &r);

	if (rc)
		return rc;
	if (off > r->size || len > r->size - off)
		return npu_pci_fail(NPU_ERR_INVALID_ARG,
		                    "%s: %zu bytes at 0x%llx outside region %u", v->bdf, len,
		                    (unsigned long long)off, index);
	n = write ? pwrite(v->device_fd, buf, len, (off_t)(r->offset + off))
	          : pread(v->device_fd, buf, len, (off_t)(r->offset + off));
	if (n == (ssize_t)len)
		return NPU_OK;
	if (n < 0 && errno == ENODEV)
		return npu_pci_fail(NPU_ERR_DISCONNECTED, "%s is gone (region %u access: ENODEV)",
		                    v->bdf, index);
	return npu_pci_fail(NPU_ERR_IO, "%s: region %u %s at 0x%llx: %s", v->bdf, index,
	                    write ? "write" : "read", (unsigned long long)off,
	                    n < 0 ? strerror(errno) : "short");
}

int npu_vfio_region_read(struct npu_vfio *v, unsigned index, uint64_t off, void *buf, size_t len)
{
	return vd_rw(v, index, off, buf, len, 0);
}

int npu_vfio_region_write(struct npu_vfio *v, unsigned index, uint64_t off, const void *buf,
                          size_t len)
{
	return vd_rw(v, index, off, (void *)buf, len, 1);
}

/* vfio-pci answers the vendor and device IDs from its own copy of config
 * space; the class/revision dword comes from the device, and reads as
 * all-ones once the device is gone. */
static int vd_gone(struct npu_vfio *v)
{
	const struct vd_region *r = &v->region[VFIO_PCI_CONFIG_REGION_INDEX];
	uint32_t cr;

	return !r->known ||
	       pread(v->device_fd, &cr, 4, (off_t)r->offset + PCI_CLASS_REVISION) != 4 ||
	       cr == 0xffffffffu;
}

/* Memory decoding and bus mastering on, through the config region: the
 * device's DMA (and MSI-X, a DMA write) needs the bus-master bit. */
static int vd_enable(struct npu_vfio *v)
{
	struct vd_region *r;
	uint16_t cmd;
	int rc;

	if ((rc = vd_region(v, VFIO_PCI_CONFIG_REGION_INDEX, &r)))
		return rc;
	if (vd_gone(v))
		return npu_pci_fail(NPU_ERR_DISCONNECTED,
		                    "%s: config space reads all-ones: the device is gone", v->bdf);
	if ((rc = npu_vfio_region_read(v, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd, 2)))
		return rc;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return npu_vfio_region_write(v, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd, 2);
}

int npu_vfio_present(struct npu_vfio *v)
{
	return !vd_gone(v);
}

/* VFIO_DEVICE_SET_IRQS with count eventfds (or none: count 0 disables). */
static int vd_set_irqs(struct npu_vfio *v, unsigned index, uint32_t flags, const int *fds,
                       unsigned count)
{
	size_t bytes = sizeof(struct vfio_irq_set) + (size_t)count * sizeof(int);
	struct vfio_irq_set *s = calloc(1, bytes);
	int rc = 0;

	if (!s)
		return NPU_ERR_NO_MEM;
	s->argsz = (uint32_t)bytes;
	s->flags = flags;
	s->index = index;
	s->start = 0;
	s->count = count;
	if (count && fds)
		memcpy(s->data, fds, (size_t)count * sizeof(int));
	if (ioctl(v->device_fd, VFIO_DEVICE_SET_IRQS, s))
		rc = npu_pci_fail(errno == ENODEV ? NPU_ERR_DISCONNECTED : NPU_ERR_IO,
		                  "%s: VFIO_DEVICE_SET_IRQS (index %u, %u vectors): %s", v->bdf,
		                  index, count, strerror(errno));
	free(s);
	return rc;
}

int npu_vfio_irq_eventfd(struct npu_vfio *v, unsigned irq_index, unsigned vector, int *fd)
{
	struct vfio_irq_info info;
	struct vd_irq *q;
	int *fds, efd, rc;
	unsigned n;

	if (irq_index >= VD_IRQS || irq_index >= v->num_irqs)
		return npu_pci_fail(NPU_ERR_INVALID_ARG, "%s has no interrupt index %u", v->bdf,
		                    irq_index);
	q = &v->irq[irq_index];
	if (vector < q->count && q->fds[vector] >= 0) {
		*fd = q->fds[vector];
		return NPU_OK;
	}
	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	info.index = irq_index;
	if (ioctl(v->device_fd, VFIO_DEVICE_GET_IRQ_INFO, &info))
		return npu_pci_fail(NPU_ERR_IO, "%s: VFIO_DEVICE_GET_IRQ_INFO %u: %s", v->bdf,
		                    irq_index, strerror(errno));
	if (vector >= info.count || !(info.flags & VFIO_IRQ_INFO_EVENTFD))
		return npu_pci_fail(
		        NPU_ERR_INVALID_ARG,
		        "%s: interrupt index %u has %u vectors (no vector %u, or no eventfd)",
		        v->bdf, irq_index, info.count, vector);
	n = vector + 1 > q->count ? vector + 1 : q->count;
	if (!(fds = realloc(q->fds, n * sizeof(int))))
		return NPU_ERR_NO_MEM;
	q->fds = fds;
	for (unsigned i = q->count; i < n; i++)
		fds[i] = -1;
	if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return npu_pci_fail(NPU_ERR_IO, "eventfd: %s", strerror(errno));
	fds[vector] = efd;
	/* MSI/MSI-X cannot grow while enabled: off, then on with every
	 * vector asked for so far. */
	if (q->count && n > q->count &&
	    (rc = vd_set_irqs(v, irq_index, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
	                      NULL, 0)))
		goto err;
	q->count = n;
	if ((rc = vd_set_irqs(v, irq_index, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
	                      fds, n)))
		goto err;
	if (irq_index == VFIO_PCI_INTX_IRQ_INDEX && (rc = npu_vfio_irq_unmask(v, irq_index)))
		goto err;
	*fd = efd;
	return NPU_OK;

err:
	fds[vector] = -1;
	close(efd);
	return rc;
}

int npu_vfio_irq_unmask(struct npu_vfio *v, unsigned irq_index)
{
	return vd_set_irqs(v, irq_index, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, NULL,
	                   1);
}

int npu_vfio_reset(struct npu_vfio *v)
{
	if (!(v->dev_flags & VFIO_DEVICE_FLAGS_RESET))
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED,
		                    "%s offers no reset (VFIO_DEVICE_FLAGS_RESET)", v->bdf);
	if (ioctl(v->device_fd, VFIO_DEVICE_RESET))
		return npu_pci_fail(errno == ENODEV ? NPU_ERR_DISCONNECTED : NPU_ERR_IO,
		                    "%s: VFIO_DEVICE_RESET: %s", v->bdf, strerror(errno));
	return vd_enable(v);
}

const char *npu_vfio_bdf(const struct npu_vfio *v)
{
	return v->bdf;
}

/* The usable IOVA ranges and the smallest IOMMU page, from
 * VFIO_IOMMU_GET_INFO (its capability chain when there is one). */
static int vd_iommu_info(struct npu_vfio *v)
{
	static const struct npu_iova_range reserved[] = {
	        {0, 0}, /* page 0: a zeroed address never reaches memory */
	        {VD_MSI_START, VD_MSI_LAST},
	};
	static const struct npu_iova_range fallback = {VD_IOVA_DEFAULT_START, VD_IOVA_DEFAULT_LAST};
	struct vfio_iommu_type1_info *info = calloc(1, sizeof(*info));
	const struct npu_iova_range *ranges = &fallback;
	struct npu_iova_range *caps = NULL;
	size_t nranges = 1;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int rc;

	if (!info)
		return NPU_ERR_NO_MEM;
	info->argsz = sizeof(*info);
	if (ioctl(v->container_fd, VFIO_IOMMU_GET_INFO, info))
		goto err_io;
	if (info->argsz > sizeof(*info)) {
		uint32_t sz = info->argsz;
		void *p = realloc(info, sz);

		if (!p) {
			free(info);
			return NPU_ERR_NO_MEM;
		}
		info = p;
		memset(info, 0, sz);
		info->argsz = sz;
		if (ioctl(v->container_fd, VFIO_IOMMU_GET_INFO, info))
			goto err_io;
	}
	if ((info->flags & VFIO_IOMMU_INFO_PGSIZES) && info->iova_pgsizes) {
		uint64_t min = info->iova_pgsizes & -info->iova_pgsizes;

		if (min > page)
			page = min;
	}
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset) {
		uint32_t off = info->cap_offset;

		while (off && off + sizeof(struct vfio_info_cap_header) <= info->argsz) {
			struct vfio_info_cap_header *h = (void *)((char *)info + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
				struct vfio_iommu_type1_info_cap_iova_range *c = (void *)h;

				if (c->nr_iovas && (caps = calloc(c->nr_iovas, sizeof(*caps)))) {
					for (uint32_t i = 0; i < c->nr_iovas; i++) {
						caps[i].start = c->iova_ranges[i].start;
						caps[i].last = c->iova_ranges[i].end;
					}
					ranges = caps;
					nranges = c->nr_iovas;
				}
				break;
			}
			if (h->next <= off)
				break;
			off = h->next;
		}
	}
	rc = npu_iova_init(&v->iova, page, ranges, nranges, reserved, 2);
	free(caps);
	free(info);
	if (rc == NPU_OK && !v->iova.nfree)
		rc = npu_pci_fail(NPU_ERR_NOT_SUPPORTED,
		                  "%s: the IOMMU reports no usable IOVA range", v->bdf);
	return rc;

err_io:
	free(info);
	return npu_pci_fail(NPU_ERR_IO, "%s: VFIO_IOMMU_GET_INFO: %s", v->bdf, strerror(errno));
}

int npu_vfio_dma_map(struct npu_vfio *v, void *host, size_t size, unsigned prot, uint64_t *iova)
{
	struct vfio_iommu_type1_dma_map map;
	uint64_t addr;

	if (!size || !prot || (prot & ~(NPU_VFIO_DMA_READ | NPU_VFIO_DMA_WRITE)) ||
	    ((uintptr_t)host & (v->iova.page - 1)) || (size & (v->iova.page - 1)))
		return npu_pci_fail(NPU_ERR_INVALID_ARG,
		                    "%s: DMA map of %zu bytes at %p: not whole %llu-byte pages",
		                    v->bdf, size, host, (unsigned long long)v->iova.page);
	if (v->ndma == v->dma_cap) {
		size_t nc = v->dma_cap ? 2 * v->dma_cap : 16;
		void *p = realloc(v->dma, nc * sizeof(*v->dma));

		if (!p)
			return NPU_ERR_NO_MEM;
		v->dma = p;
		v->dma_cap = nc;
	}
	if (npu_iova_alloc(&v->iova, size, &addr))
		return npu_pci_fail(NPU_ERR_NO_MEM, "%s: no IOVA space left for %zu bytes", v->bdf,
		                    size);
	memset(&map, 0, sizeof(map));
	map.argsz = sizeof(map);
	map.flags = ((prot & NPU_VFIO_DMA_READ) ? VFIO_DMA_MAP_FLAG_READ : 0) |
	            ((prot & NPU_VFIO_DMA_WRITE) ? VFIO_DMA_MAP_FLAG_WRITE : 0);
	map.vaddr = (uintptr_t)host;
	map.iova = addr;
	map.size = size;
	if (ioctl(v->container_fd, VFIO_IOMMU_MAP_DMA, &map)) {
		int err = errno;

		npu_iova_free(&v->iova, addr, size);
		if (err == ENOMEM)
			return npu_pci_fail(
			        NPU_ERR_NO_MEM,
			        "%s: VFIO_IOMMU_MAP_DMA of %zu bytes: ENOMEM (locked memory limit: "
			        "raise ulimit -l)",
			        v->bdf, size);
		return npu_pci_fail(NPU_ERR_IO, "%s: VFIO_IOMMU_MAP_DMA: %s", v->bdf,
		                    strerror(err));
	}
	v->dma[v->ndma].iova = addr;
	v->dma[v->ndma].size = size;
	v->ndma++;
	*iova = addr;
	return NPU_OK;
}

int npu_vfio_dma_unmap(struct npu_vfio *v, uint64_t iova, size_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	size_t i;

	for (i = 0; i < v->ndma; i++)
		if (v->dma[i].iova == iova && v->dma[i].size == size)
			break;
	if (i == v->ndma)
		return npu_pci_fail(NPU_ERR_INVALID_ARG,
		                    "%s: no DMA mapping of %zu bytes at IOVA 0x%llx", v->bdf, size,
		                    (unsigned long long)iova);
	memset(&unmap, 0, sizeof(unmap));
	unmap.argsz = sizeof(unmap);
	unmap.iova = iova;
	unmap.size = size;
	if (ioctl(v->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return npu_pci_fail(NPU_ERR_IO, "%s: VFIO_IOMMU_UNMAP_DMA: %s", v->bdf,
		                    strerror(errno));
	v->dma[i] = v->dma[--v->ndma];
	return npu_iova_free(&v->iova, iova, size);
}

int npu_vfio_iommu_faults(struct npu_vfio *v, uint64_t *addr)
{
	/* no detail: a caller asks after every wait, and has its own story */
	if (v->kmsg_fd < 0)
		return NPU_ERR_NOT_SUPPORTED;
	return npu_kmsg_faults(v->kmsg_fd, v->bdf, addr);
}

int npu_vfio_check_faults(struct npu_vfio *v)
{
	uint64_t addr = 0;
	int n = npu_vfio_iommu_faults(v, &addr);

	if (n <= 0)
		return n == 0 ? NPU_OK : n;
	return npu_pci_fail(NPU_ERR_IOMMU_FAULT,
	                    "%s: the IOMMU blocked %d DMA(s) of the device, the first at IOVA "
	                    "0x%llx (an address no buffer maps)",
	                    v->bdf, n, (unsigned long long)addr);
}

/* The devices of group besides bdf that keep it from being viable
 * (bound to a driver other than vfio-pci and pci-stub), as
 * "BDF (driver), ..." into out. */
static void group_blockers(const char *bdf, int group, char *out, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *e;
	size_t used = 0;
	DIR *d;

	out[0] = 0;
	snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%d/devices", npu_sysfs_root(), group);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		char drv[64];
		int n;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, bdf) ||
		    npu_pci_driver(e->d_name, drv, sizeof(drv)) || !drv[0] ||
		    !strcmp(drv, "vfio-pci") || !strcmp(drv, "pci-stub"))
			continue;
		n = snprintf(out + used, len - used, "%s%s (%s)", used ? ", " : "", e->d_name, drv);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	closedir(d);
}

/* Open DEV/vfio/leaf; the fd or a status. */
static int vd_open_node(const char *leaf, int *fd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/vfio/%s", npu_dev_root(), leaf);
	if ((*fd = open(path, O_RDWR | O_CLOEXEC)) >= 0)
		return NPU_OK;
	if (errno == ENOENT)
		return npu_pci_fail(
		        NPU_ERR_NO_DEVICE,
		        "%s does not exist: load vfio-pci (modprobe vfio-pci) and bind the "
		        "device to it",
		        path);
	return npu_pci_errno_status(errno, path);
}

static int vd_container(struct npu_vfio *v, int group)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	unsigned long type;
	int rc;

	if (ioctl(v->group_fd, VFIO_GROUP_GET_STATUS, &st))
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED, "%s/vfio/%d is not a VFIO group (%s)",
		                    npu_dev_root(), group, strerror(errno));
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		char who[200];

		group_blockers(v->bdf, group, who, sizeof(who));
		return npu_pci_fail(
		        NPU_ERR_BUSY,
		        "IOMMU group %d of %s is not viable: bind its other devices to vfio-pci "
		        "(or unbind them): %s",
		        group, v->bdf, who[0] ? who : "(none found in sysfs)");
	}
	if ((rc = vd_open_node("vfio", &v->container_fd)))
		return rc;
	if (ioctl(v->container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED, "%s/vfio/vfio: not VFIO API version %d",
		                    npu_dev_root(), VFIO_API_VERSION);
	if (ioctl(v->container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		type = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(v->container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		type = VFIO_TYPE1_IOMMU;
	else
		return npu_pci_fail(NPU_ERR_NOT_SUPPORTED,
		                    "VFIO offers no type1 IOMMU (vfio_iommu_type1)");
	if (ioctl(v->group_fd, VFIO_GROUP_SET_CONTAINER, &v->container_fd))
		return npu_pci_fail(errno == EBUSY ? NPU_ERR_BUSY : NPU_ERR_IO,
		                    "group %d: VFIO_GROUP_SET_CONTAINER: %s", group,
		                    strerror(errno));
	if (ioctl(v->container_fd, VFIO_SET_IOMMU, type)) {
		if (errno == EPERM)
			return npu_pci_fail(
			        NPU_ERR_PERMISSION,
			        "VFIO_SET_IOMMU refused (EPERM): the IOMMU has no interrupt "
			        "remapping: turn it on (QEMU: -device "
			        "intel-iommu,intremap=on) or load "
			        "vfio_iommu_type1 with allow_unsafe_interrupts=1");
		return npu_pci_fail(NPU_ERR_IO, "VFIO_SET_IOMMU: %s", strerror(errno));
	}
	return vd_iommu_info(v);
}

int npu_vfio_open(const char *bdf_in, struct npu_vfio **out)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};
	char bdf[NPU_PCI_BDF_LEN], drv[64], leaf[16];
	struct npu_vfio *v;
	int group, rc;

	if (npu_pci_bdf_parse(bdf_in, bdf))
		return npu_pci_fail(NPU_ERR_INVALID_ARG, "'%s' is not a PCI address DDDD:BB:DD.F",
		                    bdf_in ? bdf_in : "(null)");
	if ((rc = npu_pci_iommu_group(bdf, &group)) || (rc = npu_pci_driver(bdf, drv, sizeof(drv))))
		return rc;
	if (strcmp(drv, "vfio-pci")) {
		char unbind[128] = "";

		/* npu_last_error() holds 255 bytes: the commands come first. */
		if (drv[0])
			snprintf(unbind, sizeof(unbind),
			         "echo %s > /sys/bus/pci/drivers/%s/unbind; ", bdf, drv);
		return npu_pci_fail(NPU_ERR_NO_DEVICE,
		                    "%s: bound to %s; for vfio-pci: echo vfio-pci > "
		                    "/sys/bus/pci/devices/%s/driver_override; %secho %s > "
		                    "/sys/bus/pci/drivers_probe",
		                    bdf, drv[0] ? drv : "no driver", bdf, unbind, bdf);
	}
	if (!(v = calloc(1, sizeof(*v))))
		return NPU_ERR_NO_MEM;
	memcpy(v->bdf, bdf, sizeof(bdf));
	v->group_fd = v->container_fd = v->device_fd = v->kmsg_fd = -1;
	/* From here on the kernel log counts: a fault logged while the
	 * device is being set up is one of ours too. */
	v->kmsg_fd = npu_kmsg_open();
	snprintf(leaf, sizeof(leaf), "%d", group);
	if ((rc = vd_open_node(leaf, &v->group_fd)) || (rc = vd_container(v, group)))
		goto err;
	if ((v->device_fd = ioctl(v->group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf)) < 0) {
		rc = npu_pci_fail(errno == EBUSY ? NPU_ERR_BUSY : NPU_ERR_IO,
		                  "%s: VFIO_GROUP_GET_DEVICE_FD: %s", bdf, strerror(errno));
		goto err;
	}
	if (ioctl(v->device_fd, VFIO_DEVICE_GET_INFO, &info)) {
		rc = npu_pci_fail(NPU_ERR_IO, "%s: VFIO_DEVICE_GET_INFO: %s", bdf, strerror(errno));
		goto err;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		rc = npu_pci_fail(NPU_ERR_NOT_SUPPORTED, "%s: not a vfio-pci device", bdf);
		goto err;
	}
	v->dev_flags = info.flags;
	v->num_regions = info.num_regions;
	v->num_irqs = info.num_irqs;
	if ((rc = vd_enable(v)))
		goto err;
	*out = v;
	return NPU_OK;

err:
	npu_vfio_close(v);
	return rc;
}

void npu_vfio_close(struct npu_vfio *v)
{
	if (!v)
		return;
	for (unsigned i = 0; i < VD_IRQS; i++) {
		if (v->irq[i].count)
			vd_set_irqs(v, i, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			            NULL, 0);
		for (unsigned k = 0; k < v->irq[i].count; k++)
			if (v->irq[i].fds[k] >= 0)
				close(v->irq[i].fds[k]);
		free(v->irq[i].fds);
	}
	for (unsigned i = 0; i < VD_REGIONS; i++)
		if (v->region[i].map)
			munmap(v->region[i].map, v->region[i].size);
	/* Closing the container unmaps every DMA mapping and unpins it. */
	if (v->device_fd >= 0)
		close(v->device_fd);
	if (v->group_fd >= 0)
		close(v->group_fd);
	if (v->container_fd >= 0)
		close(v->container_fd);
	if (v->kmsg_fd >= 0)
		close(v->kmsg_fd);
	npu_iova_fini(&v->iova);
	free(v->dma);
	free(v);
}
