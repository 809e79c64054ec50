/*
 * The virtual dev board (docs/USB_BOARD.md): the
 * firmware's host build (firmware/fw.c) over a Verilator NPU and board
 * DRAM, presented to libusb as a USB device through umockdev.
 *
 * vboard_create() makes a umockdev testbed in this process (it sets
 * UMOCKDEV_DIR), adds the board's sysfs device and its usbdevfs node
 * /dev/bus/usb/BBB/DDD, and answers that node's ioctls (SUBMITURB,
 * REAPURB, REAPURBNDELAY, DISCARDURB, CLAIMINTERFACE, GET_CAPABILITIES,
 * ...) by handing the URBs to the firmware. Debian's unmodified
 * libusb-1.0 then enumerates, opens and transfers as on a real board.
 * This emulates the kernel's usbdevfs interface, not the USB wire:
 * packet sizes, NAK timing and bus errors of a real cable are not
 * modelled.
 *
 * The process must have libumockdev-preload loaded first (link it first,
 * -Wl,--no-as-needed -lumockdev-preload, or run under LD_PRELOAD), and
 * libusb must be initialized after vboard_create(). Another process
 * reaches the board when it runs with this process's UMOCKDEV_DIR and the
 * preload library (tools/npu-vboard does that for a command).
 *
 * The NPU runs on the board's own thread; the ioctl handler runs on
 * umockdev's thread. Every function here may be called from any thread.
 *
 * Environment, read by vboard_create: NPU_VBOARD_RECORD=FILE records each
 * boot's session as a firmware trace (firmware/fw_trace.h; FILE, then
 * FILE.2, ... after re-plugs); NPU_VBOARD_REAP_WAIT_US=N is how long a
 * reap with nothing to reap waits for a completion (default 1000, 0: at
 * once, and libusb's event loop spins).
 */
#ifndef LWNPU_FIRMWARE_VBOARD_H
#define LWNPU_FIRMWARE_VBOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vboard;

struct vboard_config {
	const char *npu_config;       /* "default" (NULL) or "small" */
	uint64_t dram_size;           /* board DRAM bytes; 0: 256 MiB */
	uint32_t mem_latency;         /* NPU memory latency, cycles; 0: the harness default */
	uint32_t mem_bytes_per_cycle; /* 0: the harness default */
};

/* Create the board and plug it in. Returns 0, or -1 (message on stderr):
 * a bad config, no umockdev preload, the simulator could not start. */
int vboard_create(const struct vboard_config *cfg, struct vboard **out);
/* Unplug (if plugged) and free everything; NULL is a no-op. */
void vboard_destroy(struct vboard *vb);

/* Unplug: the device node and sysfs entry go, a "remove" uevent is sent,
 * every pending URB completes with -ENODEV and every later ioctl on an
 * open handle fails with ENODEV. The board powers off: its DRAM and NPU
 * state are lost. Returns 0, or -1 if not plugged. */
int vboard_unplug(struct vboard *vb);
/* Plug back in (an "add" uevent; a new device number, as a real
 * re-enumeration gives): firmware and NPU boot afresh, DRAM zeroed.
 * Returns 0, or -1 if already plugged. */
int vboard_plug(struct vboard *vb);
/* Fault injection: unplug when the nth URB from now (1 = the next) is
 * submitted; that URB fails with ENODEV. 0 disarms. */
void vboard_unplug_after_urbs(struct vboard *vb, uint64_t n);

/* Counters since create. */
struct vboard_stats {
	uint64_t urbs;           /* URBs submitted */
	uint64_t control;        /* control transfers */
	uint64_t bulk_out_bytes; /* bytes the host sent on bulk OUT */
	uint64_t bulk_in_bytes;  /* bytes the board sent on bulk IN */
	uint64_t events;         /* interrupt IN events delivered */
	uint64_t npu_cycles;     /* NPU cycles simulated (all boots) */
	uint64_t dram_written;   /* bytes the firmware wrote to board DRAM */
	uint64_t dram_read;      /* bytes the firmware read from board DRAM */
};
void vboard_get_stats(struct vboard *vb, struct vboard_stats *st);

/* The board's bus number and current device number (libusb's
 * bus_number/device_address, the URI usb:BUS:ADDR). */
void vboard_address(struct vboard *vb, unsigned *bus, unsigned *addr);

#ifdef __cplusplus
}
#endif

#endif /* LWNPU_FIRMWARE_VBOARD_H */
