/*
 * The dev board's firmware: the core (firmware/fw.c) between the USB
 * controller (usb_dc.h) and the NPU (hal_board.c), in one main loop. The
 * controller's driver is the board port's (usb_dc.h says why none is
 * here); without one linked in, the image says so and stops.
 */
#include <stdint.h>

#include "driver/npu_usb_proto.h"
#include "firmware/cortexm/hal_board.h"
#include "firmware/cortexm/semihost.h"
#include "firmware/cortexm/usb_dc.h"
#include "firmware/fw.h"

/* A board port defines these (usb_dc_<chip>.c). */
#pragma weak usb_dc_init
#pragma weak usb_dc_setup
#pragma weak usb_dc_setup_done
#pragma weak usb_dc_read
#pragma weak usb_dc_accept
#pragma weak usb_dc_ready
#pragma weak usb_dc_write

#define LE16(v) (uint8_t)((v)&0xff), (uint8_t)((v) >> 8)

/* The descriptors, a row per field group (USB 2.0 chapter 9). */
/* clang-format off */
static const uint8_t dev_desc[18] = {
	18, 1,                          /* bLength, DEVICE */
	LE16(0x0200),                   /* bcdUSB 2.0 */
	0x00, 0x00, 0x00,               /* class per interface */
	64,                             /* bMaxPacketSize0 */
	LE16(NPU_USB_VID), LE16(NPU_USB_PID),
	LE16((FW_VERSION >> 16) << 8 | (FW_VERSION & 0xff)), /* bcdDevice major.minor */
	1, 2, 0,                        /* iManufacturer, iProduct, no serial */
	1,                              /* bNumConfigurations */
};

/* One configuration: interface 0, vendor class, with the three endpoints
 * of driver/npu_usb_proto.h at high speed. */
#define CONFIG_LEN (9 + 9 + 3 * 7)
static const uint8_t config_desc[CONFIG_LEN] = {
	9, 2, LE16(CONFIG_LEN), 1, 1, 0, /* CONFIGURATION: 1 interface, value 1 */
	0x80, 250,                       /* bus-powered, 500 mA */
	9, 4, NPU_USB_INTERFACE, 0, 3,   /* INTERFACE 0, alt 0, 3 endpoints */
	0xff, 0x00, 0x00, 0,             /* vendor-specific */
	7, 5, NPU_USB_EP_BULK_OUT, 0x02, LE16(NPU_USB_BULK_PACKET), 0,
	7, 5, NPU_USB_EP_BULK_IN, 0x02, LE16(NPU_USB_BULK_PACKET), 0,
	7, 5, NPU_USB_EP_INTR_IN, 0x03, LE16(NPU_USB_INTR_PACKET), 4, /* every 1 ms */
};

static const uint8_t str_lang[] = {4, 3, LE16(0x0409)};
static const uint8_t str_maker[] = {12, 3, 'l', 0, 'w', 0, 'n', 0, 'p', 0, 'u', 0};
static const uint8_t str_product[] = {
	32, 3, 'l', 0, 'w', 0, 'n', 0, 'p', 0, 'u', 0, ' ', 0, 'd', 0, 'e', 0,
	'v', 0, ' ', 0, 'b', 0, 'o', 0, 'a', 0, 'r', 0, 'd', 0,
};
/* clang-format on */
static const uint8_t *const strings[] = {str_lang, str_maker, str_product};

static const struct usb_dc_desc desc = {
        .device = dev_desc,
        .config = config_desc,
        .config_len = sizeof(config_desc),
        .strings = strings,
        .num_strings = 3,
};

static struct fw fw;
static uint8_t pkt[NPU_USB_BULK_PACKET];

static int step_control(void)
{
	uint8_t setup[8], out[64], in[128];

	if (!usb_dc_setup(setup, out, sizeof(out)))
		return 0;
	usb_dc_setup_done(in, fw_control(&fw, setup, out, in, sizeof(in)));
	return 1;
}

/* A packet can end a transfer without being short (the request's length
 * reached on a packet boundary): the core says when its request is
 * complete. */
static int step_bulk_out(void)
{
	int n;

	/* A new transfer only with room for its reply (NAK until then). */
	usb_dc_accept(NPU_USB_EP_BULK_OUT, fw.in_xfer || fw_bulk_out_ready(&fw));
	n = usb_dc_read(NPU_USB_EP_BULK_OUT, pkt, sizeof(pkt));
	if (n < 0)
		return 0;
	fw_bulk_out(&fw, pkt, (size_t)n, 0);
	if (n < (int)NPU_USB_BULK_PACKET || fw_bulk_out_expect(&fw) == 0)
		fw_bulk_out(&fw, NULL, 0, 1);
	return 1;
}

static int step_bulk_in(void)
{
	size_t n;
	int end;

	if (!usb_dc_ready(NPU_USB_EP_BULK_IN))
		return 0;
	n = fw_bulk_in(&fw, pkt, sizeof(pkt), &end);
	if (!n && !end)
		return 0;
	usb_dc_write(NPU_USB_EP_BULK_IN, pkt, n);
	return 1;
}

static int step_events(void)
{
	uint8_t ev[NPU_USB_EVENT_BYTES];
	size_t n;

	if (!usb_dc_ready(NPU_USB_EP_INTR_IN))
		return 0;
	n = fw_intr_in(&fw, ev, sizeof(ev));
	if (n)
		usb_dc_write(NPU_USB_EP_INTR_IN, ev, n);
	return n != 0;
}

int main(void)
{
	if (!usb_dc_init) {
		sh_write0("lwnpu-fw: no USB device controller driver in this image "
		          "(firmware/cortexm/usb_dc.h)\n");
		return 1;
	}
	if (fw_init(&fw, board_hal()) != 0 || usb_dc_init(&desc) != 0)
		return 2;
	for (;;) {
		int busy = step_control();

		busy |= step_bulk_out();
		busy |= step_bulk_in();
		fw_poll(&fw);
		busy |= step_events();
		if (!busy)
			__asm__ volatile("wfi");
	}
}
