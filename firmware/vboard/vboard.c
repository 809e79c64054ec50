/*
 * The virtual dev board (firmware/vboard/vboard.h, docs/USB_BOARD.md).
 *
 * Two threads meet here:
 *   - umockdev's thread runs on_ioctl() for every ioctl a client (libusb)
 *     makes on the board's usbdevfs node. It only queues and dequeues
 *     URBs under vb->lock and signals vb->cond; it never touches the NPU
 *     or the firmware. A reap with nothing to reap is parked (answered
 *     later by the board thread) instead of spinning the client.
 *   - the board thread (board_main) is the board's microcontroller: it
 *     hands the queued URBs to the firmware core (fw_control,
 *     fw_bulk_out, fw_bulk_in, fw_intr_in, fw_poll), clocks the NPU while
 *     it has work, completes the URBs and answers parked reaps. With no
 *     work it sleeps on vb->cond.
 * URB buffers are umockdev's local copies of the client's memory: the
 * board thread reads and fills them outside the lock while the URB is off
 * every queue (busy), and umockdev writes them back to the client when the
 * URB is reaped.
 */
#include <dirent.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>
#include <umockdev.h>

#include "firmware/vboard/vboard.h"

#include "driver/npu_usb_proto.h"
#include "firmware/fw.h"
#include "firmware/fw_trace.h"
#include "firmware/vboard/vboard_hal.h"
#include "rtl-sim/harness/npu_sim.h"

#define VBOARD_DEFAULT_DRAM (256ull << 20)
#define VBOARD_DRAM_MAX     (64ull << 30)
/* NPU cycles per slice between looks at the URB queues. */
#define VBOARD_SLICE_CYCLES 5000u
/* Bytes handed to fw_bulk_out/fw_bulk_in per call (a DMA chunk of a real
 * USB device controller; keeps every trace record below 64 KiB). */
#define VBOARD_CHUNK 16384u
/* EP0 data stage buffer: longer control OUT requests are STALLed. */
#define VBOARD_EP0_MAX 4096u
/* Largest URB buffer accepted (the kernel's usbfs_memory_mb is 16 MiB). */
#define VBOARD_URB_MAX (16u << 20)
/* How long a reap with nothing to reap waits for a completion before it
 * answers EAGAIN (NPU_VBOARD_REAP_WAIT_US overrides; 0 = at once). */
#define VBOARD_REAP_WAIT_US 1000

struct vb_urb {
	struct vb_urb *next;
	UMockdevIoctlClient *client; /* the open file it was submitted on */
	UMockdevIoctlData *data;     /* local copy of the struct usbdevfs_urb */
	struct usbdevfs_urb *u;      /* data->data */
	uint8_t *buf;                /* local copy of its buffer (NULL if empty) */
	uint32_t len;                /* buffer_length */
	uint32_t fill;               /* IN bytes so far */
	gulong client_addr;          /* the URB's address in the client */
	uint64_t boot;               /* the plug-in it was submitted to */
	int discarded;               /* DISCARDURB came while the board had it */
};

struct vb_queue {
	struct vb_urb *head, *tail;
};

/* A REAPURB(NDELAY) waiting for a completion. */
struct vb_reaper {
	struct vb_reaper *next;
	UMockdevIoctlClient *client;
	UMockdevIoctlData *arg; /* the client's struct usbdevfs_urb ** */
	int64_t deadline_us;    /* 0: none (REAPURB blocks) */
};

/* What the umockdev signal handler reaches: cleared at destroy, so that a
 * late ioctl finds no board rather than a freed one. */
struct vb_link {
	pthread_mutex_t m;
	struct vboard *vb;
};

struct vboard {
	char npu_config[16];
	uint32_t mem_latency, mem_bpc;
	uint64_t dram_size;
	unsigned bus;
	int64_t reap_wait_us;
	char *record;

	UMockdevIoctlBase *handler;
	struct vb_link *link;
	GPtrArray *attached; /* device nodes the handler serves (char *) */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	/* Under lock: */
	int quit;
	int plugged;
	unsigned devnum, next_devnum;
	char devnode[32];
	char remove_node[32];  /* the node an unplug left to remove */
	uint64_t boot;         /* plug-ins so far: the board boots once per plug-in */
	int sysfs_remove;      /* an unplug whose sysfs removal is still to do */
	uint64_t unplug_after; /* URBs until a fault-injected unplug, 0: none */
	struct vb_queue ctrl, out, in, intr, done;
	struct vb_reaper *reapers;
	struct vboard_stats st;
	int in_maybe, ev_maybe; /* the firmware may have a reply / an event */
	/* IN URBs off their queue while the board thread fills them */
	struct vb_urb *busy_in, *busy_intr;

	/* Board thread only (and create/destroy around it): */
	uint64_t booted; /* vb->boot this power-on belongs to, 0: off */
	int powered, broken;
	struct vboard_npu npu;
	struct fw fw;
	int npu_active;
	FILE *rec;
	int rec_irq; /* the line as last recorded, -1: none yet */
	uint64_t prev_cycles, prev_dram_w, prev_dram_r; /* of earlier power-ons */
};

/* ---- the testbed, one per process, shared by the boards ------------- */

static pthread_mutex_t tb_lock = PTHREAD_MUTEX_INITIALIZER;
static UMockdevTestbed *tb;
static unsigned tb_users;
static uint8_t tb_bus_used[128];

static int preload_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, "libumockdev-preload"))
		*(int *)data = 1;
	return 0;
}

static int preload_loaded(void)
{
	int found = 0;

	dl_iterate_phdr(preload_cb, &found);
	return found;
}

/* Take a bus number and the testbed (made on first use). */
static int tb_get(unsigned *bus)
{
	unsigned b;

	pthread_mutex_lock(&tb_lock);
	for (b = 1; b < 128 && tb_bus_used[b]; b++)
		;
	if (b == 128) {
		pthread_mutex_unlock(&tb_lock);
		fprintf(stderr, "vboard: no free USB bus number\n");
		return -1;
	}
	if (!tb) {
		tb = umockdev_testbed_new();
		if (!tb) {
			pthread_mutex_unlock(&tb_lock);
			fprintf(stderr, "vboard: umockdev_testbed_new failed\n");
			return -1;
		}
	}
	tb_bus_used[b] = 1;
	tb_users++;
	*bus = b;
	pthread_mutex_unlock(&tb_lock);
	return 0;
}

static void tb_put(unsigned bus)
{
	pthread_mutex_lock(&tb_lock);
	tb_bus_used[bus] = 0;
	if (--tb_users == 0) {
		g_object_unref(tb); /* removes the directory, unsets UMOCKDEV_DIR */
		tb = NULL;
	}
	pthread_mutex_unlock(&tb_lock);
}

/* ---- descriptors and the sysfs device ---------------------------------- */

/* Written as the bytes go on the wire, one descriptor (or field group) a
 * line. */
/* clang-format off */
static const uint8_t dev_desc[18] = {
	18, USB_DT_DEVICE, 0x00, 0x02,          /* bcdUSB 2.00 */
	0xff, 0x00, 0x00, 64,                   /* vendor class, bMaxPacketSize0 64 */
	NPU_USB_VID & 0xff, NPU_USB_VID >> 8,
	NPU_USB_PID & 0xff, NPU_USB_PID >> 8,
	0x00, 0x01,                             /* bcdDevice: firmware 1.0 */
	0, 0, 0,                                /* no strings */
	1,                                      /* bNumConfigurations */
};

#define CONF_TOTAL (9 + 9 + 3 * 7)
static const uint8_t conf_desc[CONF_TOTAL] = {
	9, USB_DT_CONFIG, CONF_TOTAL, 0, 1, 1, 0, 0x80, 50, /* config 1, bus powered, 100 mA */
	9, USB_DT_INTERFACE, NPU_USB_INTERFACE, 0, 3, 0xff, 0x00, 0x00, 0,
	7, USB_DT_ENDPOINT, NPU_USB_EP_BULK_OUT, USB_ENDPOINT_XFER_BULK,
	   NPU_USB_BULK_PACKET & 0xff, NPU_USB_BULK_PACKET >> 8, 0,
	7, USB_DT_ENDPOINT, NPU_USB_EP_BULK_IN, USB_ENDPOINT_XFER_BULK,
	   NPU_USB_BULK_PACKET & 0xff, NPU_USB_BULK_PACKET >> 8, 0,
	7, USB_DT_ENDPOINT, NPU_USB_EP_INTR_IN, USB_ENDPOINT_XFER_INT,
	   NPU_USB_INTR_PACKET & 0xff, NPU_USB_INTR_PACKET >> 8, 4, /* every 2^(4-1) microframes: 1 ms */
};
/* clang-format on */

static void sys_path(const struct vboard *vb, char *p, size_t n)
{
	snprintf(p, n, "/sys/devices/lwnpu-vboard/usb%u", vb->bus);
}

/* Attach the ioctl handler to the new node, then add the device (in this
 * order: a client may open it as soon as it exists). Under tb_lock. */
static int sysfs_add(struct vboard *vb, unsigned devnum)
{
	char node[32], hex[2 * (sizeof(dev_desc) + sizeof(conf_desc)) + 1];
	GError *err = NULL;
	gchar *text;
	size_t i, o = 0;
	int ok;

	snprintf(node, sizeof(node), "/dev/bus/usb/%03u/%03u", vb->bus, devnum);
	if (!umockdev_testbed_attach_ioctl(tb, node, vb->handler, &err)) {
		fprintf(stderr, "vboard: attach_ioctl %s: %s\n", node, err ? err->message : "?");
		g_clear_error(&err);
		return -1;
	}
	g_ptr_array_add(vb->attached, g_strdup(node));
	for (i = 0; i < sizeof(dev_desc); i++, o += 2)
		snprintf(hex + o, 3, "%02x", dev_desc[i]);
	for (i = 0; i < sizeof(conf_desc); i++, o += 2)
		snprintf(hex + o, 3, "%02x", conf_desc[i]);
	text = g_strdup_printf("P: /devices/lwnpu-vboard/usb%u\n"
	                       "N: bus/usb/%03u/%03u\n"
	                       "E: SUBSYSTEM=usb\n"
	                       "E: DEVTYPE=usb_device\n"
	                       "E: DRIVER=usb\n"
	                       "E: BUSNUM=%03u\n"
	                       "E: DEVNUM=%03u\n"
	                       "E: DEVNAME=/dev/bus/usb/%03u/%03u\n"
	                       "E: PRODUCT=%x/%x/100\n"
	                       "A: busnum=%u\\n\n"
	                       "A: devnum=%u\\n\n"
	                       "A: speed=480\\n\n"
	                       "A: bConfigurationValue=1\\n\n"
	                       "A: bNumConfigurations=1\\n\n"
	                       "A: idVendor=%04x\\n\n"
	                       "A: idProduct=%04x\\n\n"
	                       "A: product=lwnpu virtual dev board\\n\n"
	                       "H: descriptors=%s\n",
	                       vb->bus, vb->bus, devnum, vb->bus, devnum, vb->bus, devnum,
	                       NPU_USB_VID, NPU_USB_PID, vb->bus, devnum, NPU_USB_VID, NPU_USB_PID,
	                       hex);
	ok = umockdev_testbed_add_from_string(tb, text, &err);
	g_free(text);
	if (!ok) {
		fprintf(stderr, "vboard: adding the device: %s\n", err ? err->message : "?");
		g_clear_error(&err);
		return -1;
	}
	return 0;
}

/* The removal an unplug left to do, if any: the "remove" uevent (while
 * the device's properties are still there to send), then the device. The
 * node's ioctl socket stays until the next plug-in (detach_old): clients
 * connected before keep their connection and get ENODEV. */
static void sysfs_sync(struct vboard *vb)
{
	char sp[64];
	int remove_now;

	pthread_mutex_lock(&tb_lock);
	pthread_mutex_lock(&vb->lock);
	remove_now = vb->sysfs_remove;
	vb->sysfs_remove = 0;
	pthread_mutex_unlock(&vb->lock);
	if (remove_now) {
		sys_path(vb, sp, sizeof(sp));
		umockdev_testbed_uevent(tb, sp, "remove");
		umockdev_testbed_remove_device(tb, sp);
	}
	pthread_mutex_unlock(&tb_lock);
}

/* The descriptor of this process listening on the ioctl socket of node,
 * or -1. Under tb_lock. */
static int listener_fd(const char *node)
{
	gchar *root = umockdev_testbed_get_root_dir(tb);
	gchar *path = g_strdup_printf("%s/ioctl%s", root, node);
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -1;

	while (d && found < 0 && (e = readdir(d))) {
		struct sockaddr_un a;
		socklen_t al = sizeof(a), ol;
		int fd = atoi(e->d_name), on = 0;

		ol = sizeof(on);
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d) ||
		    getsockname(fd, (struct sockaddr *)&a, &al) != 0 || a.sun_family != AF_UNIX ||
		    al <= offsetof(struct sockaddr_un, sun_path) ||
		    strncmp(a.sun_path, path, sizeof(a.sun_path)) ||
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) != 0 || !on)
			continue;
		found = fd;
	}
	if (d)
		closedir(d);
	g_free(path);
	g_free(root);
	return found;
}

/* Before a plug-in: the ioctl sockets of earlier nodes go (each holds a
 * listening descriptor: a board re-plugged hundreds of times by a fault
 * sweep must not keep them). umockdev closes a detached socket a moment
 * later on its own thread; this waits for that (up to 1 s), so that the
 * process's descriptors are settled when vboard_plug returns (the usb
 * backend's tests count them around a re-plug). Under tb_lock. */
static void detach_old(struct vboard *vb)
{
	for (guint i = 0; i < vb->attached->len; i++) {
		const char *node = g_ptr_array_index(vb->attached, i);
		int fd = listener_fd(node);

		umockdev_testbed_detach_ioctl(tb, node, NULL);
		for (int n = 0; fd >= 0 && n < 200 && listener_fd(node) == fd; n++)
			usleep(5000);
	}
	g_ptr_array_set_size(vb->attached, 0);
}

/* ---- URB queues (under vb->lock) ------------------------------------- */

static void q_push(struct vb_queue *q, struct vb_urb *u)
{
	u->next = NULL;
	if (q->tail)
		q->tail->next = u;
	else
		q->head = u;
	q->tail = u;
}

static void q_push_front(struct vb_queue *q, struct vb_urb *u)
{
	u->next = q->head;
	q->head = u;
	if (!q->tail)
		q->tail = u;
}

static struct vb_urb *q_pop(struct vb_queue *q)
{
	struct vb_urb *u = q->head;

	if (u) {
		q->head = u->next;
		if (!q->head)
			q->tail = NULL;
		u->next = NULL;
	}
	return u;
}

/* Remove the first URB that matches client (and addr unless 0). */
static struct vb_urb *q_take(struct vb_queue *q, UMockdevIoctlClient *c, gulong addr)
{
	struct vb_urb **pp, *prev = NULL;

	for (pp = &q->head; *pp; prev = *pp, pp = &(*pp)->next) {
		struct vb_urb *u = *pp;

		if (u->client != c || (addr && u->client_addr != addr))
			continue;
		*pp = u->next;
		if (q->tail == u)
			q->tail = prev;
		u->next = NULL;
		return u;
	}
	return NULL;
}

static int q_has_client(const struct vb_queue *q, UMockdevIoctlClient *c)
{
	for (const struct vb_urb *u = q->head; u; u = u->next)
		if (u->client == c)
			return 1;
	return 0;
}

static void urb_free(struct vb_urb *u)
{
	umockdev_ioctl_data_unref(u->data);
	g_object_unref(u->client);
	free(u);
}

/* The next URB of q whose file is still open. The URBs of a closed file
 * go, as the kernel kills them when a usbfs file is closed: a stale IN URB
 * would take the next client's reply. (umockdev 0.17 tells no one when a
 * client goes; its stream reads as closed.) */
static struct vb_urb *q_pop_live(struct vb_queue *q)
{
	struct vb_urb *u;

	while ((u = q_pop(q)) && !umockdev_ioctl_client_get_connected(u->client))
		urb_free(u);
	return u;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Hand a completed URB to a reap: the client's pointer is set to it, and
 * umockdev writes the URB and its buffer back as the ioctl completes. */
static void give(UMockdevIoctlData *arg, UMockdevIoctlClient *c, struct vb_urb *u)
{
	g_object_set_data(G_OBJECT(c), "vboard-reaped", GINT_TO_POINTER(1));
	umockdev_ioctl_data_set_ptr(arg, 0, u->data);
	umockdev_ioctl_client_complete(c, 0, 0);
	urb_free(u);
}

/* A URB is done: to the done queue, or straight to a reap parked for its
 * client. */
static void urb_complete(struct vboard *vb, struct vb_urb *u, int status, uint32_t actual)
{
	struct vb_reaper **pp;

	if (!umockdev_ioctl_client_get_connected(u->client)) {
		urb_free(u); /* its file was closed: nobody will reap it */
		return;
	}
	u->u->status = status;
	u->u->actual_length = (int)actual;
	for (pp = &vb->reapers; *pp; pp = &(*pp)->next) {
		struct vb_reaper *r = *pp;

		if (r->client != u->client)
			continue;
		*pp = r->next;
		give(r->arg, r->client, u);
		umockdev_ioctl_data_unref(r->arg);
		g_object_unref(r->client);
		free(r);
		return;
	}
	q_push(&vb->done, u);
}

static int client_live(struct vboard *vb, UMockdevIoctlClient *c)
{
	const char *node = umockdev_ioctl_client_get_devnode(c);

	return vb->plugged && node && !strcmp(node, vb->devnode);
}

/* Answer parked reaps: past their deadline with EAGAIN; of a client with
 * nothing left in flight on an unplugged board with ENODEV (all = every
 * one, at destroy). Returns the nearest remaining deadline, or 0. */
static int64_t reapers_expire(struct vboard *vb, int all)
{
	struct vb_reaper **pp = &vb->reapers;
	int64_t now = now_us(), next = 0;

	while (*pp) {
		struct vb_reaper *r = *pp;
		int err = 0;

		if (all ||
		    (!client_live(vb, r->client) && !q_has_client(&vb->ctrl, r->client) &&
		     !q_has_client(&vb->out, r->client) && !q_has_client(&vb->in, r->client) &&
		     !q_has_client(&vb->intr, r->client)))
			err = ENODEV;
		else if (r->deadline_us && r->deadline_us <= now)
			err = EAGAIN;
		if (!err) {
			if (r->deadline_us && (!next || r->deadline_us < next))
				next = r->deadline_us;
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		umockdev_ioctl_client_complete(r->client, -1, err);
		umockdev_ioctl_data_unref(r->arg);
		g_object_unref(r->client);
		free(r);
	}
	return next;
}

/* Power is gone: every URB still queued completes with -ENODEV. */
static void unplug_locked(struct vboard *vb)
{
	struct vb_queue *qs[] = {&vb->ctrl, &vb->out, &vb->in, &vb->intr};
	struct vb_urb *u;

	vb->plugged = 0;
	vb->sysfs_remove = 1;
	vb->unplug_after = 0;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		while ((u = q_pop(qs[i])))
			urb_complete(vb, u, -ENODEV, 0);
	reapers_expire(vb, 0);
	pthread_cond_broadcast(&vb->cond);
}

/* ---- the ioctl handler (umockdev's thread) ---------------------------- */

static void done_errno(UMockdevIoctlClient *c, int err)
{
	umockdev_ioctl_client_complete(c, err ? -1 : 0, err);
}

/* The ioctl's argument as a pointer to n bytes of the client's memory. */
static UMockdevIoctlData *arg_data(UMockdevIoctlClient *c, size_t n)
{
	return umockdev_ioctl_data_resolve(umockdev_ioctl_client_get_arg(c), 0, n, NULL);
}

static uint32_t arg_u32(UMockdevIoctlClient *c, int *ok)
{
	UMockdevIoctlData *d = arg_data(c, sizeof(uint32_t));
	uint32_t v = 0;

	*ok = d != NULL;
	if (d)
		memcpy(&v, d->data, sizeof(v));
	return v;
}

static int urb_check(const struct usbdevfs_urb *u)
{
	if (u->buffer_length < 0 || (uint32_t)u->buffer_length > VBOARD_URB_MAX)
		return EINVAL;
	switch (u->endpoint) {
	case 0x00:
	case 0x80:
		if (u->type != USBDEVFS_URB_TYPE_CONTROL)
			return EINVAL;
		return u->buffer_length < 8 ? EINVAL : 0;
	case NPU_USB_EP_BULK_OUT:
	case NPU_USB_EP_BULK_IN:
		return u->type == USBDEVFS_URB_TYPE_BULK ? 0 : EINVAL;
	case NPU_USB_EP_INTR_IN:
		return u->type == USBDEVFS_URB_TYPE_INTERRUPT ? 0 : EINVAL;
	default:
		return ENOENT;
	}
}

static void on_submit(struct vboard *vb, UMockdevIoctlClient *c)
{
	UMockdevIoctlData *d = arg_data(c, sizeof(struct usbdevfs_urb));
	struct usbdevfs_urb *u;
	UMockdevIoctlData *b = NULL;
	struct vb_urb *urb;
	int err;

	if (!d) {
		done_errno(c, EFAULT);
		return;
	}
	u = (struct usbdevfs_urb *)d->data;
	err = urb_check(u);
	if (!err && u->buffer_length > 0) {
		b = umockdev_ioctl_data_resolve(d, offsetof(struct usbdevfs_urb, buffer),
		                                (size_t)u->buffer_length, NULL);
		if (!b)
			err = EFAULT;
	}
	if (!err && u->type == USBDEVFS_URB_TYPE_CONTROL) {
		uint16_t wlength = npu_usb_get16(b->data + 6);

		if (wlength > (uint32_t)u->buffer_length - 8)
			err = EINVAL;
	}

	pthread_mutex_lock(&vb->lock);
	if (!err && !client_live(vb, c))
		err = ENODEV;
	if (!err && vb->unplug_after && --vb->unplug_after == 0) {
		unplug_locked(vb);
		err = ENODEV;
	}
	if (err) {
		pthread_mutex_unlock(&vb->lock);
		done_errno(c, err);
		return;
	}
	urb = calloc(1, sizeof(*urb));
	if (!urb) {
		pthread_mutex_unlock(&vb->lock);
		done_errno(c, ENOMEM);
		return;
	}
	urb->client = g_object_ref(c);
	urb->data = umockdev_ioctl_data_ref(d);
	urb->u = u;
	urb->buf = b ? b->data : NULL;
	urb->len = (uint32_t)u->buffer_length;
	urb->client_addr = d->client_addr;
	urb->boot = vb->boot;
	/* status and actual_length stay as the client wrote them until the
	 * URB completes: umockdev writes back only bytes that differ from the
	 * client's memory as it was read at submission, so an intermediate
	 * value written back with the SUBMIT's answer would stay there if
	 * the final one equals the original (a zero-length control OUT). */
	vb->st.urbs++;
	if (u->type == USBDEVFS_URB_TYPE_CONTROL) {
		vb->st.control++;
		q_push(&vb->ctrl, urb);
	} else if (u->endpoint == NPU_USB_EP_BULK_OUT) {
		q_push(&vb->out, urb);
	} else if (u->endpoint == NPU_USB_EP_BULK_IN) {
		q_push(&vb->in, urb);
	} else {
		q_push(&vb->intr, urb);
	}
	pthread_cond_broadcast(&vb->cond);
	pthread_mutex_unlock(&vb->lock);
	done_errno(c, 0);
}

/* What a reap gets without a URB: 0 (a URB of c is done, or the reap
 * waits for one) or the errno it is answered with at once. Under lock. */
static int reap_verdict(struct vboard *vb, UMockdevIoctlClient *c, int block)
{
	if (q_has_client(&vb->done, c))
		return 0;
	/* A client reaps until EAGAIN after each wake-up (libusb does): the
	 * reap after one that found a URB ends that loop at once; the next
	 * one, after its poll, waits. */
	if (g_object_get_data(G_OBJECT(c), "vboard-reaped")) {
		g_object_set_data(G_OBJECT(c), "vboard-reaped", NULL);
		return EAGAIN;
	}
	if (!client_live(vb, c) && !q_has_client(&vb->ctrl, c) && !q_has_client(&vb->out, c) &&
	    !q_has_client(&vb->in, c) && !q_has_client(&vb->intr, c))
		return ENODEV;
	return !block && vb->reap_wait_us <= 0 ? EAGAIN : 0;
}

static void on_reap(struct vboard *vb, UMockdevIoctlClient *c, int block)
{
	UMockdevIoctlData *arg;
	struct vb_reaper *r;
	struct vb_urb *u;
	int err;

	/* Answer at once where the client's pointer is not needed: a round
	 * trip to the client saved. */
	pthread_mutex_lock(&vb->lock);
	err = reap_verdict(vb, c, block);
	pthread_mutex_unlock(&vb->lock);
	if (err) {
		done_errno(c, err);
		return;
	}
	arg = arg_data(c, sizeof(void *));
	if (!arg) {
		done_errno(c, EFAULT);
		return;
	}
	pthread_mutex_lock(&vb->lock);
	u = q_take(&vb->done, c, 0);
	if (u) {
		give(arg, c, u);
		pthread_mutex_unlock(&vb->lock);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		pthread_mutex_unlock(&vb->lock);
		done_errno(c, block ? ENOMEM : EAGAIN);
		return;
	}
	r->client = g_object_ref(c);
	r->arg = umockdev_ioctl_data_ref(arg);
	r->deadline_us = block ? 0 : now_us() + vb->reap_wait_us;
	r->next = vb->reapers;
	vb->reapers = r;
	pthread_cond_broadcast(&vb->cond); /* the board thread keeps the time */
	pthread_mutex_unlock(&vb->lock);
}

/* DISCARDURB: a URB still queued completes with -ENOENT; one the board
 * is working on or has finished is not found (EINVAL), as in the kernel
 * when the discard comes too late. */
static void on_discard(struct vboard *vb, UMockdevIoctlClient *c)
{
	gulong addr = *(gulong *)umockdev_ioctl_client_get_arg(c)->data;
	struct vb_queue *qs[] = {&vb->ctrl, &vb->out, &vb->in, &vb->intr};
	struct vb_urb *u = NULL;

	struct vb_urb *busy[2];
	int found = 0;

	pthread_mutex_lock(&vb->lock);
	busy[0] = vb->busy_in;
	busy[1] = vb->busy_intr;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]) && !u; i++)
		u = q_take(qs[i], c, addr);
	if (u) {
		urb_complete(vb, u, -ENOENT, u->fill);
		found = 1;
	}
	/* An IN URB the board is looking at: it completes with -ENOENT
	 * unless it fills first. */
	for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]) && !found; i++) {
		if (busy[i] && busy[i]->client == c && busy[i]->client_addr == addr) {
			busy[i]->discarded = 1;
			found = 1;
		}
	}
	pthread_mutex_unlock(&vb->lock);
	done_errno(c, found ? 0 : EINVAL);
}

static void link_free(gpointer data, GClosure *closure)
{
	struct vb_link *l = data;

	(void)closure;
	pthread_mutex_destroy(&l->m);
	free(l);
}

static gboolean on_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer user)
{
	struct vb_link *l = user;
	struct vboard *vb;
	gulong req = umockdev_ioctl_client_get_request(c);
	int ok, live;
	uint32_t v;

	(void)h;
	pthread_mutex_lock(&l->m);
	vb = l->vb;
	if (!vb) {
		pthread_mutex_unlock(&l->m);
		done_errno(c, ENODEV);
		return TRUE;
	}
	if (req == USBDEVFS_REAPURB || req == USBDEVFS_REAPURBNDELAY) {
		on_reap(vb, c, req == USBDEVFS_REAPURB);
		pthread_mutex_unlock(&l->m);
		return TRUE;
	}
	pthread_mutex_lock(&vb->lock);
	live = client_live(vb, c);
	pthread_mutex_unlock(&vb->lock);
	if (!live) {
		pthread_mutex_unlock(&l->m);
		done_errno(c, ENODEV);
		return TRUE;
	}
	switch (req) {
	case USBDEVFS_SUBMITURB:
		on_submit(vb, c);
		break;
	case USBDEVFS_DISCARDURB:
		on_discard(vb, c);
		break;
	case USBDEVFS_GET_CAPABILITIES: {
		UMockdevIoctlData *d = arg_data(c, sizeof(uint32_t));
		/* NO_PACKET_SIZE_LIM and BULK_SCATTER_GATHER: libusb sends a
		 * bulk transfer of any length as one URB, so one OUT URB is
		 * one transfer (one request) for the firmware. */
		uint32_t caps = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION |
		                USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_BULK_SCATTER_GATHER |
		                USBDEVFS_CAP_REAP_AFTER_DISCONNECT;

		if (d)
			memcpy(d->data, &caps, sizeof(caps));
		done_errno(c, d ? 0 : EFAULT);
		break;
	}
	case USBDEVFS_CLAIMINTERFACE:
		v = arg_u32(c, &ok);
		done_errno(c, !ok ? EFAULT : v != NPU_USB_INTERFACE ? ENOENT : 0);
		break;
	case USBDEVFS_RELEASEINTERFACE:
		v = arg_u32(c, &ok);
		done_errno(c, !ok ? EFAULT : v != NPU_USB_INTERFACE ? EINVAL : 0);
		break;
	case USBDEVFS_DISCONNECT_CLAIM:
		v = arg_u32(c, &ok); /* struct usbdevfs_disconnect_claim: interface first */
		done_errno(c, !ok ? EFAULT : v != NPU_USB_INTERFACE ? ENOENT : 0);
		break;
	case USBDEVFS_SETINTERFACE: {
		UMockdevIoctlData *d = arg_data(c, sizeof(struct usbdevfs_setinterface));
		struct usbdevfs_setinterface si;

		if (d)
			memcpy(&si, d->data, sizeof(si));
		done_errno(c, !d                                                        ? EFAULT
		              : si.interface != NPU_USB_INTERFACE || si.altsetting != 0 ? EINVAL
		                                                                        : 0);
		break;
	}
	case USBDEVFS_SETCONFIGURATION:
		v = arg_u32(c, &ok);
		done_errno(c, !ok ? EFAULT : v != 1 ? EINVAL : 0);
		break;
	case USBDEVFS_CLEAR_HALT:
	case USBDEVFS_RESETEP:
		v = arg_u32(c, &ok);
		done_errno(c, !ok ? EFAULT
		              : v == NPU_USB_EP_BULK_OUT || v == NPU_USB_EP_BULK_IN ||
		                              v == NPU_USB_EP_INTR_IN || v == 0
		                      ? 0
		                      : ENOENT);
		break;
	case USBDEVFS_RESET:
		/* A port reset: the USB side re-enumerates, the board's
		 * firmware state stays (docs/USB_BOARD.md). */
		done_errno(c, 0);
		break;
	case USBDEVFS_GETDRIVER:
	case USBDEVFS_IOCTL:
		done_errno(c, ENODATA); /* no kernel driver bound */
		break;
	case USBDEVFS_GET_SPEED:
		umockdev_ioctl_client_complete(c, USB_SPEED_HIGH, 0);
		break;
	default:
		done_errno(c, ENOTTY);
		break;
	}
	pthread_mutex_unlock(&l->m);
	return TRUE;
}

/* ---- the recorder (firmware/fw_trace.h) ------------------------------- */

static void rec(struct vboard *vb, int kind, const uint8_t *p, size_t n)
{
	uint8_t hdr[FW_TRACE_HDR_BYTES] = {(uint8_t)kind, (uint8_t)n, (uint8_t)(n >> 8)};

	if (!vb->rec)
		return;
	fwrite(hdr, 1, sizeof(hdr), vb->rec);
	if (n)
		fwrite(p, 1, n, vb->rec);
}

/* Before each call into the firmware: the line it would see, if changed. */
static void rec_irq(struct vboard *vb)
{
	uint8_t line;

	if (!vb->rec)
		return;
	line = (uint8_t)vb->npu.hal.irq_line(vb->npu.hal.ctx);
	if (line != vb->rec_irq) {
		rec(vb, FW_TRACE_IRQ, &line, 1);
		vb->rec_irq = line;
	}
}

static void rec_open(struct vboard *vb, uint64_t boot)
{
	char *path;

	vb->rec_irq = -1;
	if (!vb->record)
		return;
	/* One trace per boot: FILE, then FILE.2, FILE.3 after re-plugs. */
	path = boot <= 1 ? g_strdup(vb->record)
	                 : g_strdup_printf("%s.%llu", vb->record, (unsigned long long)boot);
	vb->rec = fopen(path, "wb");
	if (!vb->rec)
		fprintf(stderr, "vboard: cannot write the trace %s: %s\n", path, strerror(errno));
	g_free(path);
}

static void rec_close(struct vboard *vb)
{
	if (vb->rec)
		fclose(vb->rec);
	vb->rec = NULL;
}

/* ---- the board thread -------------------------------------------------- */

static void fw_poll_rec(struct vboard *vb)
{
	rec_irq(vb);
	rec(vb, FW_TRACE_POLL, NULL, 0);
	fw_poll(&vb->fw);
}

static int power_on(struct vboard *vb, uint64_t boot)
{
	struct npu_sim_config scfg;

	memset(&scfg, 0, sizeof(scfg));
	scfg.config = vb->npu_config;
	scfg.mem_latency = vb->mem_latency;
	scfg.mem_bytes_per_cycle = vb->mem_bpc;
	if (vboard_npu_power_on(&vb->npu, &scfg, vb->dram_size) != 0) {
		fprintf(stderr, "vboard: cannot power on: NPU config '%s', %llu bytes of DRAM\n",
		        vb->npu_config, (unsigned long long)vb->dram_size);
		return -1;
	}
	memset(&vb->fw, 0, sizeof(vb->fw));
	if (fw_init(&vb->fw, &vb->npu.hal) != 0) {
		fprintf(stderr, "vboard: fw_init failed\n");
		vboard_npu_power_off(&vb->npu);
		return -1;
	}
	rec_open(vb, boot);
	vb->powered = 1;
	vb->booted = boot;
	vb->npu_active = 0;
	vb->in_maybe = vb->ev_maybe = 1;
	return 0;
}

static void power_off(struct vboard *vb)
{
	if (!vb->powered)
		return;
	vb->prev_cycles += npu_sim_cycles(vb->npu.sim);
	vb->prev_dram_w += vb->npu.dram_written;
	vb->prev_dram_r += vb->npu.dram_read;
	vboard_npu_power_off(&vb->npu);
	rec_close(vb);
	vb->powered = 0;
}

static void stats_update(struct vboard *vb)
{
	if (!vb->powered)
		return;
	vb->st.npu_cycles = vb->prev_cycles + npu_sim_cycles(vb->npu.sim);
	vb->st.dram_written = vb->prev_dram_w + vb->npu.dram_written;
	vb->st.dram_read = vb->prev_dram_r + vb->npu.dram_read;
}

/* A URB the board has finished, unless the board was unplugged meanwhile. */
static void finish(struct vboard *vb, struct vb_urb *u, int status, uint32_t actual)
{
	if (!vb->plugged || u->boot != vb->boot)
		urb_complete(vb, u, -ENODEV, 0);
	else
		urb_complete(vb, u, status, actual);
}

/* The standard requests, answered by the board's USB device stack (the
 * vendor ones go to the firmware core). Returns the IN length or -1. */
static int std_request(const uint8_t *setup, uint8_t *data)
{
	uint8_t rt = setup[0], req = setup[1];
	uint16_t wvalue = npu_usb_get16(setup + 2), wlength = npu_usb_get16(setup + 6);
	const uint8_t *src = NULL;
	size_t n = 0;
	static const uint8_t zero2[2], one = 1, langs[4] = {4, USB_DT_STRING, 0x09, 0x04};

	if (!(rt & USB_DIR_IN)) {
		switch (req) {
		case USB_REQ_SET_CONFIGURATION:
			return wvalue <= 1 ? 0 : -1;
		case USB_REQ_SET_INTERFACE:
		case USB_REQ_CLEAR_FEATURE:
		case USB_REQ_SET_FEATURE:
			return 0;
		default:
			return -1;
		}
	}
	switch (req) {
	case USB_REQ_GET_DESCRIPTOR:
		switch (wvalue >> 8) {
		case USB_DT_DEVICE:
			src = dev_desc, n = sizeof(dev_desc);
			break;
		case USB_DT_CONFIG:
			src = conf_desc, n = sizeof(conf_desc);
			break;
		case USB_DT_STRING:
			if ((wvalue & 0xff) == 0)
				src = langs, n = sizeof(langs);
			break;
		}
		break;
	case USB_REQ_GET_STATUS:
		src = zero2, n = 2;
		break;
	case USB_REQ_GET_CONFIGURATION:
		src = &one, n = 1;
		break;
	case USB_REQ_GET_INTERFACE:
		src = zero2, n = 1;
		break;
	}
	if (!src)
		return -1;
	if (n > wlength)
		n = wlength;
	memcpy(data, src, n);
	return (int)n;
}

static void do_control(struct vboard *vb, struct vb_urb *u)
{
	const uint8_t *setup = u->buf;
	uint16_t wlength = npu_usb_get16(setup + 6);
	int in = setup[0] & USB_DIR_IN, n;
	uint8_t scratch[1];

	if ((setup[0] & USB_TYPE_MASK) == USB_TYPE_STANDARD) {
		n = std_request(setup, u->buf + 8);
	} else if ((setup[0] & USB_TYPE_MASK) != USB_TYPE_VENDOR ||
	           (!in && wlength > VBOARD_EP0_MAX)) {
		n = -1;
	} else {
		rec_irq(vb);
		rec(vb, FW_TRACE_CONTROL, u->buf, 8 + (in ? 0 : wlength));
		n = fw_control(&vb->fw, setup, in ? NULL : u->buf + 8, in ? u->buf + 8 : scratch,
		               in ? wlength : 0);
		fw_poll_rec(vb); /* a register write may have moved the line */
	}
	pthread_mutex_lock(&vb->lock);
	if (n < 0)
		finish(vb, u, -EPIPE, 0);
	else
		finish(vb, u, 0, in ? (uint32_t)n : wlength);
	vb->in_maybe = vb->ev_maybe = 1; /* a RESET drops replies and events */
	pthread_mutex_unlock(&vb->lock);
}

static void do_bulk_out(struct vboard *vb, struct vb_urb *u)
{
	static const uint8_t empty[1];
	uint32_t off = 0;

	do {
		uint32_t n = u->len - off > VBOARD_CHUNK ? VBOARD_CHUNK : u->len - off;
		int end = off + n == u->len;
		const uint8_t *p = u->buf ? u->buf + off : empty;

		rec_irq(vb);
		rec(vb, end ? FW_TRACE_BULK_OUT : FW_TRACE_BULK_MORE, p, n);
		fw_bulk_out(&vb->fw, p, n, end);
		off += n;
	} while (off < u->len);
	pthread_mutex_lock(&vb->lock);
	vb->st.bulk_out_bytes += u->len;
	finish(vb, u, 0, u->len);
	vb->in_maybe = 1;
	pthread_mutex_unlock(&vb->lock);
}

/* Fill an IN URB from the reply stream. Returns 1 when it completed. */
static int do_bulk_in(struct vboard *vb, struct vb_urb *u)
{
	int end = 0;
	size_t got = 0, n;

	while (u->fill < u->len && !end) {
		uint32_t max = u->len - u->fill > VBOARD_CHUNK ? VBOARD_CHUNK : u->len - u->fill;
		uint8_t m[2] = {(uint8_t)max, (uint8_t)(max >> 8)};

		rec_irq(vb);
		rec(vb, FW_TRACE_BULK_IN, m, 2);
		n = fw_bulk_in(&vb->fw, u->buf + u->fill, max, &end);
		if (!n)
			break;
		u->fill += (uint32_t)n;
		got += n;
	}
	pthread_mutex_lock(&vb->lock);
	vb->st.bulk_in_bytes += got;
	if (!got && !end)
		vb->in_maybe = 0;
	if (end || u->fill == u->len) {
		vb->busy_in = NULL;
		finish(vb, u, 0, u->fill);
		pthread_mutex_unlock(&vb->lock);
		return 1;
	}
	vb->busy_in = NULL;
	if (u->discarded)
		urb_complete(vb, u, -ENOENT, u->fill);
	else
		q_push_front(&vb->in, u); /* stays first in line */
	pthread_mutex_unlock(&vb->lock);
	return 0;
}

static int do_intr_in(struct vboard *vb, struct vb_urb *u)
{
	uint8_t ev[NPU_USB_EVENT_BYTES];
	size_t n;

	rec_irq(vb);
	rec(vb, FW_TRACE_INTR_IN, NULL, 0);
	n = fw_intr_in(&vb->fw, ev, sizeof(ev));
	pthread_mutex_lock(&vb->lock);
	vb->busy_intr = NULL;
	if (!n) {
		vb->ev_maybe = 0;
		if (u->discarded)
			urb_complete(vb, u, -ENOENT, 0);
		else
			q_push_front(&vb->intr, u);
		pthread_mutex_unlock(&vb->lock);
		return 0;
	}
	if (u->len)
		memcpy(u->buf, ev, n < u->len ? n : u->len);
	vb->st.events++;
	finish(vb, u, n > u->len ? -EOVERFLOW : 0, (uint32_t)(n < u->len ? n : u->len));
	pthread_mutex_unlock(&vb->lock);
	return 1;
}

/* One pass over the queues; called and returns with vb->lock held.
 * Returns whether anything happened. */
static int serve(struct vboard *vb)
{
	struct vb_urb *c, *o = NULL, *i = NULL, *e = NULL;
	int work;

	c = q_pop_live(&vb->ctrl);
	if (vb->out.head && fw_bulk_out_ready(&vb->fw))
		o = q_pop_live(&vb->out);
	if (vb->in_maybe)
		i = q_pop_live(&vb->in);
	if (vb->ev_maybe)
		e = q_pop_live(&vb->intr);
	vb->busy_in = i;
	vb->busy_intr = e;
	pthread_mutex_unlock(&vb->lock);

	work = c || o;
	if (c)
		do_control(vb, c);
	if (o)
		do_bulk_out(vb, o);
	if (i)
		work |= do_bulk_in(vb, i);
	if (e)
		work |= do_intr_in(vb, e);

	/* The NPU runs while it has work, a slice at a time. */
	if (vb->npu.kicked || vb->npu_active) {
		vb->npu.kicked = 0;
		vb->npu_active = vboard_npu_busy(&vb->npu);
	}
	if (vb->npu_active) {
		vboard_npu_clock(&vb->npu, VBOARD_SLICE_CYCLES);
		work = 1;
	}
	if (work)
		fw_poll_rec(vb);
	pthread_mutex_lock(&vb->lock);
	if (work)
		vb->ev_maybe = 1;
	stats_update(vb);
	return work;
}

/* With the board off or broken nothing answers: URBs fail as on a device
 * that does not respond (-EPROTO). */
static void fail_all(struct vboard *vb, int status)
{
	struct vb_queue *qs[] = {&vb->ctrl, &vb->out, &vb->in, &vb->intr};
	struct vb_urb *u;

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		while ((u = q_pop(qs[i])))
			urb_complete(vb, u, status, 0);
}

static void *board_main(void *arg)
{
	struct vboard *vb = arg;

	pthread_mutex_lock(&vb->lock);
	while (!vb->quit) {
		int64_t next;
		int work = 0;

		if (vb->sysfs_remove) {
			pthread_mutex_unlock(&vb->lock);
			sysfs_sync(vb);
			pthread_mutex_lock(&vb->lock);
			continue;
		}
		if (vb->powered && (!vb->plugged || vb->booted != vb->boot)) {
			pthread_mutex_unlock(&vb->lock);
			power_off(vb);
			pthread_mutex_lock(&vb->lock);
			continue;
		}
		if (vb->plugged && !vb->powered && !vb->broken) {
			uint64_t boot = vb->boot;

			pthread_mutex_unlock(&vb->lock);
			vb->broken = power_on(vb, boot) != 0;
			pthread_mutex_lock(&vb->lock);
			continue;
		}
		if (vb->plugged && vb->powered)
			work = serve(vb);
		else if (vb->plugged)
			fail_all(vb, -EPROTO);
		next = reapers_expire(vb, 0);
		if (work || vb->quit)
			continue;
		if (next) {
			struct timespec ts = {(time_t)(next / 1000000),
			                      (long)(next % 1000000) * 1000};

			pthread_cond_timedwait(&vb->cond, &vb->lock, &ts);
		} else {
			pthread_cond_wait(&vb->cond, &vb->lock);
		}
	}
	pthread_mutex_unlock(&vb->lock);
	return NULL;
}

/* ---- the API ----------------------------------------------------------- */

int vboard_create(const struct vboard_config *cfg, struct vboard **out)
{
	struct vboard *vb;
	pthread_condattr_t ca;
	const char *s;
	char sp[96];

	if (!out)
		return -1;
	if (!preload_loaded()) {
		fprintf(stderr, "vboard: libumockdev-preload is not loaded: link it first "
		                "(-Wl,--no-as-needed -lumockdev-preload) or run under "
		                "LD_PRELOAD=libumockdev-preload.so.0\n");
		return -1;
	}
	vb = calloc(1, sizeof(*vb));
	if (!vb)
		return -1;
	s = cfg && cfg->npu_config ? cfg->npu_config : "default";
	if (strcmp(s, "default") && strcmp(s, "small")) {
		fprintf(stderr, "vboard: unknown NPU config '%s' (default or small)\n", s);
		goto err_free;
	}
	snprintf(vb->npu_config, sizeof(vb->npu_config), "%s", s);
	vb->dram_size = cfg && cfg->dram_size ? cfg->dram_size : VBOARD_DEFAULT_DRAM;
	if (vb->dram_size > VBOARD_DRAM_MAX || vb->dram_size != (size_t)vb->dram_size) {
		fprintf(stderr, "vboard: %llu bytes of DRAM is too much\n",
		        (unsigned long long)vb->dram_size);
		goto err_free;
	}
	vb->mem_latency = cfg ? cfg->mem_latency : 0;
	vb->mem_bpc = cfg ? cfg->mem_bytes_per_cycle : 0;
	s = getenv("NPU_VBOARD_REAP_WAIT_US");
	vb->reap_wait_us = s && *s ? strtoll(s, NULL, 10) : VBOARD_REAP_WAIT_US;
	s = getenv("NPU_VBOARD_RECORD");
	vb->record = s && *s ? g_strdup(s) : NULL;
	vb->next_devnum = 2; /* 1 is the root hub on a real bus */

	pthread_mutex_init(&vb->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vb->cond, &ca);
	pthread_condattr_destroy(&ca);

	/* The first power-on here, so that a simulator that cannot start
	 * fails the create; later ones happen on the board thread. */
	vb->boot = 1;
	if (power_on(vb, 1) != 0)
		goto err_sync;

	if (tb_get(&vb->bus) != 0)
		goto err_power;
	vb->attached = g_ptr_array_new_with_free_func(g_free);
	vb->link = calloc(1, sizeof(*vb->link));
	if (!vb->link)
		goto err_tb;
	pthread_mutex_init(&vb->link->m, NULL);
	vb->link->vb = vb;
	vb->handler = umockdev_ioctl_base_new();
	/* The link goes with the handler's closure, after any ioctl still
	 * running in it. */
	g_signal_connect_data(vb->handler, "handle-ioctl", G_CALLBACK(on_ioctl), vb->link,
	                      link_free, 0);

	vb->devnum = vb->next_devnum++;
	snprintf(vb->devnode, sizeof(vb->devnode), "/dev/bus/usb/%03u/%03u", vb->bus, vb->devnum);
	vb->plugged = 1;
	pthread_mutex_lock(&tb_lock);
	if (sysfs_add(vb, vb->devnum) != 0) {
		pthread_mutex_unlock(&tb_lock);
		goto err_handler;
	}
	pthread_mutex_unlock(&tb_lock);
	/* The preload must also be first in line, or this process's own
	 * /sys is not the testbed's. */
	sys_path(vb, sp, sizeof(sp));
	strncat(sp, "/descriptors", sizeof(sp) - strlen(sp) - 1);
	if (access(sp, R_OK) != 0) {
		fprintf(stderr, "vboard: the testbed's sysfs is not visible: libumockdev-preload "
		                "must come first (-Wl,--no-as-needed -lumockdev-preload ahead of "
		                "the other libraries, or LD_PRELOAD)\n");
		goto err_handler;
	}
	if (pthread_create(&vb->thread, NULL, board_main, vb) != 0)
		goto err_handler;
	*out = vb;
	return 0;

err_handler:
	vb->plugged = 0;
	pthread_mutex_lock(&tb_lock);
	sys_path(vb, sp, sizeof(sp));
	umockdev_testbed_remove_device(tb, sp);
	detach_old(vb);
	pthread_mutex_unlock(&tb_lock);
	g_object_unref(vb->handler);
err_tb:
	g_ptr_array_free(vb->attached, TRUE);
	tb_put(vb->bus);
err_power:
	power_off(vb);
err_sync:
	pthread_cond_destroy(&vb->cond);
	pthread_mutex_destroy(&vb->lock);
	g_free(vb->record);
err_free:
	free(vb);
	return -1;
}

int vboard_unplug(struct vboard *vb)
{
	pthread_mutex_lock(&vb->lock);
	if (!vb->plugged) {
		pthread_mutex_unlock(&vb->lock);
		return -1;
	}
	unplug_locked(vb);
	pthread_mutex_unlock(&vb->lock);
	sysfs_sync(vb); /* gone from sysfs when this returns */
	return 0;
}

int vboard_plug(struct vboard *vb)
{
	unsigned devnum;
	int rc;

	sysfs_sync(vb);
	pthread_mutex_lock(&vb->lock);
	if (vb->plugged) {
		pthread_mutex_unlock(&vb->lock);
		return -1;
	}
	devnum = vb->next_devnum++;
	if (vb->next_devnum > 127)
		vb->next_devnum = 2;
	vb->devnum = devnum;
	snprintf(vb->devnode, sizeof(vb->devnode), "/dev/bus/usb/%03u/%03u", vb->bus, devnum);
	vb->plugged = 1;
	vb->broken = 0;
	vb->boot++;
	pthread_cond_broadcast(&vb->cond);
	pthread_mutex_unlock(&vb->lock);
	pthread_mutex_lock(&tb_lock);
	detach_old(vb);
	rc = sysfs_add(vb, devnum);
	pthread_mutex_unlock(&tb_lock);
	return rc;
}

void vboard_unplug_after_urbs(struct vboard *vb, uint64_t n)
{
	pthread_mutex_lock(&vb->lock);
	vb->unplug_after = n;
	pthread_mutex_unlock(&vb->lock);
}

void vboard_get_stats(struct vboard *vb, struct vboard_stats *st)
{
	pthread_mutex_lock(&vb->lock);
	*st = vb->st;
	pthread_mutex_unlock(&vb->lock);
}

void vboard_address(struct vboard *vb, unsigned *bus, unsigned *addr)
{
	pthread_mutex_lock(&vb->lock);
	if (bus)
		*bus = vb->bus;
	if (addr)
		*addr = vb->devnum;
	pthread_mutex_unlock(&vb->lock);
}

void vboard_destroy(struct vboard *vb)
{
	struct vb_urb *u;

	if (!vb)
		return;
	struct vb_queue *qs[] = {&vb->ctrl, &vb->out, &vb->in, &vb->intr, &vb->done};

	vboard_unplug(vb);
	pthread_mutex_lock(&vb->lock);
	vb->quit = 1;
	pthread_cond_broadcast(&vb->cond);
	pthread_mutex_unlock(&vb->lock);
	pthread_join(vb->thread, NULL);

	/* No ioctl reaches this board from here on. */
	pthread_mutex_lock(&vb->link->m);
	vb->link->vb = NULL;
	pthread_mutex_unlock(&vb->link->m);

	pthread_mutex_lock(&vb->lock);
	reapers_expire(vb, 1);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		while ((u = q_pop(qs[i])))
			urb_free(u);
	pthread_mutex_unlock(&vb->lock);

	pthread_mutex_lock(&tb_lock);
	detach_old(vb);
	pthread_mutex_unlock(&tb_lock);
	g_ptr_array_free(vb->attached, TRUE);
	g_object_unref(vb->handler);
	tb_put(vb->bus);
	power_off(vb);
	pthread_cond_destroy(&vb->cond);
	pthread_mutex_destroy(&vb->lock);
	g_free(vb->record);
	free(vb);
}
