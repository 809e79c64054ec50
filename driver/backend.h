/*
 * The backend boundary: one table of function pointers per way of
 * reaching an lwnpu device (sim, null, usb, cosim, vfio, uio;
 * docs/GOALS.md). The library core calls a backend only through the
 * npu_hw_* inline wrappers at the end of this file, the one place for
 * tracing and fault injection.
 *
 * Porting a backend (docs/DRIVER.md): fill a struct npu_backend_ops named
 * npu_<name>_backend in driver/<name>.c and add the name to
 * NPU_BACKENDS_KNOWN in the Makefile; the registry (driver/backend.c)
 * lists the backends the build chose (BACKENDS). Register access is itself
 * the backend's: a function call into the simulator on sim, USB control
 * transfers on usb, the PCIe card's mailbox on cosim, vfio and uio (MMIO
 * on a card with memory-mapped CSRs); the core driver code is the same.
 */
#ifndef NPU_DRIVER_BACKEND_H
#define NPU_DRIVER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "npu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct npu_hw;

/* A DMA buffer: host mapping plus the address the device uses for it. */
struct npu_hw_buf {
	void *host;        /* CPU mapping, size bytes */
	uint64_t dev_addr; /* device address of host[0] */
	size_t size;
	uint32_t flags; /* NPU_HW_BUF_* the buffer was allocated with */
	void *priv;     /* backend bookkeeping */
};

/* Device access the buffer allows; the driver programs a DMA window with
 * exactly these permissions over exactly this buffer. */
#define NPU_HW_BUF_DEV_READ  0x1u
#define NPU_HW_BUF_DEV_WRITE 0x2u

enum npu_hw_sync_dir {
	NPU_HW_SYNC_TO_DEVICE = 1,   /* CPU wrote, device will read */
	NPU_HW_SYNC_FROM_DEVICE = 2, /* device wrote, CPU will read */
};

struct npu_backend_ops {
	/* URI scheme, e.g. "sim". */
	const char *name;
	/* One line for listings. */
	const char *summary;
	/* Bytes of backend state allocated (zeroed) for each open device and
	 * reachable as npu_hw_priv(hw). */
	size_t priv_size;

	/* Open the device named by args (text after "name:"). May block
	 * (device enumeration, firmware handshake). Returns NPU_OK,
	 * NPU_ERR_NO_DEVICE (nothing there), NPU_ERR_INVALID_ARG (bad
	 * options), NPU_ERR_NOT_SUPPORTED, NPU_ERR_NO_MEM, NPU_ERR_IO.
	 * On failure leaves nothing allocated. Required. */
	int (*open)(struct npu_hw *hw, const char *args);
	/* Release everything open() acquired. Never fails. Required. */
	void (*close)(struct npu_hw *hw);

	/* 32-bit register read/write at a byte offset in the CSR window
	 * (NPU_REG_*). Do not block beyond one bus/USB round trip. Return
	 * NPU_OK, NPU_ERR_INVALID_ARG (offset outside the window or not
	 * aligned), NPU_ERR_DISCONNECTED, NPU_ERR_IO. Required. */
	int (*reg_read)(struct npu_hw *hw, uint32_t offset, uint32_t *value);
	int (*reg_write)(struct npu_hw *hw, uint32_t offset, uint32_t value);

	/* Allocate a DMA buffer of size bytes the device can reach with the
	 * given NPU_HW_BUF_* access; fills *buf. May block. Returns NPU_OK,
	 * NPU_ERR_NO_MEM, NPU_ERR_INVALID_ARG. Required. */
	int (*buf_alloc)(struct npu_hw *hw, size_t size, uint32_t flags, struct npu_hw_buf *buf);
	/* Free a buffer from buf_alloc. Required. */
	void (*buf_free)(struct npu_hw *hw, struct npu_hw_buf *buf);
	/* Make [offset, offset+len) of buf coherent in one direction: flush
	 * CPU caches before the device reads, invalidate before the CPU reads
	 * what the device wrote, or copy over USB. Returns NPU_OK or
	 * NPU_ERR_IO / NPU_ERR_DISCONNECTED. Optional: NULL means coherent
	 * (sim). */
	int (*buf_sync)(struct npu_hw *hw, struct npu_hw_buf *buf, size_t offset, size_t len,
	                enum npu_hw_sync_dir dir);

	/* Hand descriptors [old tail, tail) of the ring to the device: the
	 * backend's way of "write RING_TAIL, barrier, write DOORBELL". Never
	 * waits for completion. Returns NPU_OK, NPU_ERR_DISCONNECTED,
	 * NPU_ERR_IO. Required. */
	int (*submit)(struct npu_hw *hw, uint32_t tail);
	/* Wait until the device raises its interrupt line (an IRQ_STATUS bit
	 * under IRQ_MASK) or timeout_ms passes (< 0: no limit). On the
	 * simulator this is where simulated time advances. Returns NPU_OK
	 * (interrupt pending; the caller reads IRQ_STATUS), NPU_ERR_TIMEOUT,
	 * NPU_ERR_DISCONNECTED. Required. */
	int (*wait_irq)(struct npu_hw *hw, int timeout_ms);
	/* Bring a hung or faulted device back to its post-open state without
	 * closing it (soft reset; re-program windows is the caller's job).
	 * May block. Returns NPU_OK or an error. Required. */
	int (*reset)(struct npu_hw *hw);

	/* Make size bytes of memory the caller owns reachable by the device
	 * in place, without a copy: host is its CPU mapping (page aligned,
	 * size a multiple of the page size), dmabuf_fd the dma-buf it was
	 * mapped from or -1 (plain memory). Fills *buf with buf->host ==
	 * host and the device address; buf_free undoes it (and never frees
	 * host). buf_sync applies as to any buffer. Returns NPU_OK;
	 * NPU_ERR_NOT_SUPPORTED when this device cannot reach that memory
	 * (the caller then stages through a buffer of buf_alloc and copies,
	 * and says so); NPU_ERR_NO_MEM; NPU_ERR_IO. Optional: NULL means
	 * NOT_SUPPORTED. */
	int (*buf_import)(struct npu_hw *hw, void *host, size_t size, int dmabuf_fd, uint32_t flags,
	                  struct npu_hw_buf *buf);
};

/* An open hardware device. */
struct npu_hw {
	const struct npu_backend_ops *ops;
	void *priv; /* ops->priv_size bytes */
	/* Fault injection (tests): when fail_countdown reaches zero on a
	 * call, that call returns fail_status instead of running. 0 = off. */
	long fail_countdown;
	int fail_status;
	uint64_t calls; /* backend calls made, for fault sweeps */
};

/* A backend's word on its last failure, for npu_last_error(): what went
 * wrong and, where it knows, what to do ("bind 0000:00:04.0 to
 * vfio-pci"). Per thread; npu_hw_open() clears it; the library core reads
 * it after a failed backend call (empty: the backend said nothing). */
void npu_hw_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *npu_hw_detail(void);

/* Find a backend by name ("sim"); NULL when there is none. */
const struct npu_backend_ops *npu_backend_find(const char *name, size_t len);
/* All registered backends, NULL-terminated: exactly the ones this build
 * was configured with (BACKENDS). */
const struct npu_backend_ops *const *npu_backend_list(void);

/* Open/close a device through its backend (allocates priv). */
int npu_hw_open(const struct npu_backend_ops *ops, const char *args, struct npu_hw **out);
void npu_hw_close(struct npu_hw *hw);

static inline void *npu_hw_priv(struct npu_hw *hw)
{
	return hw->priv;
}

/* The single choke point every wrapper passes: counts calls and fires an
 * injected fault. */
static inline int npu_hw_gate(struct npu_hw *hw)
{
	hw->calls++;
	if (hw->fail_countdown > 0 && --hw->fail_countdown == 0)
		return hw->fail_status;
	return NPU_OK;
}

static inline int npu_hw_reg_read(struct npu_hw *hw, uint32_t off, uint32_t *v)
{
	int rc = npu_hw_gate(hw);
	return rc ? rc : hw->ops->reg_read(hw, off, v);
}

static inline int npu_hw_reg_write(struct npu_hw *hw, uint32_t off, uint32_t v)
{
	int rc = npu_hw_gate(hw);
	return rc ? rc : hw->ops->reg_write(hw, off, v);
}

static inline int npu_hw_buf_alloc(struct npu_hw *hw, size_t size, uint32_t flags,
                                   struct npu_hw_buf *buf)
{
	int rc = npu_hw_gate(hw);
	return rc ? rc : hw->ops->buf_alloc(hw, size, flags, buf);
}

static inline void npu_hw_buf_free(struct npu_hw *hw, struct npu_hw_buf *buf)
{
	if (buf->host)
		hw->ops->buf_free(hw, buf);
	buf->host = NULL;
}

static inline int npu_hw_buf_sync(struct npu_hw *hw, struct npu_hw_buf *buf, size_t off, size_t len,
                                  enum npu_hw_sync_dir dir)
{
	int rc = npu_hw_gate(hw);
	if (rc)
		return rc;
	return hw->ops->buf_sync ? hw->ops->buf_sync(hw, buf, off, len, dir) : NPU_OK;
}

static inline int npu_hw_submit(struct npu_hw *hw, uint32_t tail)
{
	int rc = npu_hw_gate(hw);
	return rc ? rc : hw->ops->submit(hw, tail);
}

static inline int npu_hw_wait_irq(struct npu_hw *hw, int timeout_ms)
{
	int rc = npu_hw_gate(hw);
	return rc ? rc : hw->ops->wait_irq(hw, timeout_ms);
}

static inline int npu_hw_buf_import(struct npu_hw *hw, void *host, size_t size, int dmabuf_fd,
                                    uint32_t flags, struct npu_hw_buf *buf)
{
	int rc = npu_hw_gate(hw);
	if (rc)
		return rc;
	if (!hw->ops->buf_import)
		return NPU_ERR_NOT_SUPPORTED;
	return hw->ops->buf_import(hw, host, size, dmabuf_fd, flags, buf);
}

static inline int npu_hw_reset(struct npu_hw *hw)
{
	int rc = npu_hw_gate(hw);
	return rc ? rc : hw->ops->reset(hw);
}

#ifdef __cplusplus
}
#endif

#endif /* NPU_DRIVER_BACKEND_H */
