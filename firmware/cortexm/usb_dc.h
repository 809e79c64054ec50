/*
 * What the board's main loop (main.c) needs of a USB device controller
 * driver. None is included: the controller is the board's choice (a
 * Cortex-M's on-chip OTG core, or an external high-speed PHY/controller
 * on the FPGA), each has its own registers, and QEMU's mps2-an385 has no
 * USB device to test one against. A board port adds usb_dc_<chip>.c with
 * these functions; without one, lwnpu-fw.elf says so and stops.
 *
 * Contract: the driver handles bus events (reset, suspend) and the
 * standard requests (GET_DESCRIPTOR from struct usb_dc_desc, SET_ADDRESS,
 * SET_CONFIGURATION, SET_INTERFACE, CLEAR_FEATURE(ENDPOINT_HALT)) itself,
 * in its interrupt handler, and passes vendor requests on. It enables its
 * interrupt: the main loop sleeps (WFI) when nothing is to be done. None
 * of these calls blocks.
 */
#ifndef LWNPU_FIRMWARE_CORTEXM_USB_DC_H
#define LWNPU_FIRMWARE_CORTEXM_USB_DC_H

#include <stddef.h>
#include <stdint.h>

struct usb_dc_desc {
	const uint8_t *device; /* device descriptor, 18 bytes */
	const uint8_t *config; /* configuration with its interface and endpoints */
	size_t config_len;
	const uint8_t *const *strings; /* string descriptors, index 0 the language IDs */
	unsigned num_strings;
};

/* Attach to the bus with these descriptors. Returns 0 or -1. */
int usb_dc_init(const struct usb_dc_desc *desc);

/* A vendor SETUP on EP0: returns 1 with its 8 bytes in setup and, for an
 * OUT request, its data stage (wLength bytes, at most out_max) in out;
 * 0 when none is pending. */
int usb_dc_setup(uint8_t setup[8], uint8_t *out, size_t out_max);
/* End that control transfer: len >= 0 sends len bytes of IN data (or
 * the OUT request's status stage when 0); len < 0 STALLs. */
void usb_dc_setup_done(const uint8_t *in, int len);

/* OUT endpoint: one received packet into buf (at most max bytes), its
 * length (0: a zero-length packet), or -1 when none is waiting. */
int usb_dc_read(uint8_t ep, uint8_t *buf, size_t max);
/* OUT endpoint: on = 0 NAKs every packet not yet acknowledged. */
void usb_dc_accept(uint8_t ep, int on);

/* IN endpoint: 1 when it can take a packet now. */
int usb_dc_ready(uint8_t ep);
/* IN endpoint: send one packet of len bytes (at most wMaxPacketSize; 0
 * sends a zero-length packet). A packet shorter than wMaxPacketSize ends
 * the host's transfer. */
void usb_dc_write(uint8_t ep, const uint8_t *buf, size_t len);

#endif /* LWNPU_FIRMWARE_CORTEXM_USB_DC_H */
