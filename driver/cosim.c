/*
 * The "cosim" backend: the co-simulated PCIe card (npu-cosim,
 * rtl-sim/cosim) reached from this host directly, as an ivshmem client
 * doing what QEMU's ivshmem-doorbell device does for a guest: connect to
 * the card's socket, receive its memory and eventfds, map the memory;
 * then the NPU is reset, whatever the last host left.
 * From there driver/card.c speaks the card protocol (driver/npu_card.h)
 * exactly as it does under vfio and uio in a guest; docs/PCIE.md has the
 * protocol and the figures.
 *
 * URIs (the text after "cosim:"):
 *   PATH        the card's Unix socket (npu-cosim --socket PATH)
 *   (empty)     $NPU_COSIM_SOCKET; unset or empty is NPU_ERR_NO_DEVICE (no
 *               card named, as `usb` with no board plugged in)
 * A path too long for a Unix socket is NPU_ERR_INVALID_ARG; no socket
 * there, or nothing listening, NPU_ERR_NO_DEVICE; a card that closes the
 * connection before its greeting (it serves another host) NPU_ERR_BUSY;
 * anything that does not speak the ivshmem server protocol as this card
 * does (version 0, one peer with NPU_CARD_VECTORS doorbells, our own
 * NPU_CARD_VECTORS interrupt eventfds, an lwnpu control page) within
 * COSIM_MSG_MS a message, NPU_ERR_NOT_SUPPORTED. The reason goes to
 * npu_last_error() through npu_hw_set_detail() and, with NPU_DEBUG set in
 * the environment, to stderr.
 *
 * How the transport maps onto the card's (struct npu_card_io):
 *   ring        write 1 to the card's eventfd of that vector (QEMU does
 *               this when a guest writes the doorbell register)
 *   irq_fd      our eventfd of vector NPU_CARD_MSIX_IRQ (QEMU turns it
 *               into the MSI-X message)
 *   present     the socket has not hung up: a card process that exits or
 *               dies closes it, and the host knows at once (the heartbeat
 *               would tell too, NPU_CARD_DEAD_MS later)
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "driver/cosim.h"

#include "driver/backend.h"
#include "driver/card.h"
#include "driver/npu_card.h"

/* The card sends its greeting at once; wait this long for each message. */
#define COSIM_MSG_MS 2000

struct cosim_priv {
	int sock;
	int shm_fd;
	void *mem;
	size_t mem_size;
	int64_t own_id, peer_id;
	int peer_fd[NPU_CARD_VECTORS]; /* ring the card */
	int own_fd[NPU_CARD_VECTORS];  /* the card interrupts us */
	struct npu_card *card;
	char name[64];
};

static void cosim_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The reason of a refused open: npu_last_error() and, with NPU_DEBUG, stderr. */
static void cosim_note(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	npu_hw_set_detail("%s", msg);
	if (getenv("NPU_DEBUG"))
		fprintf(stderr, "libnpu: cosim: %s\n", msg);
}

/* One server message: an int64 and at most one fd (*fd = -1 without).
 * Returns 0, 1 on end of stream before the first byte, -1 on garbage or
 * a timeout. */
static int recv_msg(int sock, int64_t *value, int *fd)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t le[8];
	size_t got = 0;

	*fd = -1;
	while (got < sizeof(le)) {
		struct pollfd pfd = {sock, POLLIN, 0};
		struct iovec iov = {le + got, sizeof(le) - got};
		struct msghdr m;
		ssize_t n;

		if (poll(&pfd, 1, COSIM_MSG_MS) <= 0)
			goto bad;
		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 && got == 0 && *fd < 0)
				return 1;
			goto bad;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			size_t nfd;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (*fd < 0)
					*fd = f;
				else
					close(f); /* more than one: the message is garbage */
			}
			if (nfd > 1)
				goto bad;
		}
		got += (size_t)n;
	}
	*value = 0;
	for (int i = 7; i >= 0; i--)
		*value = (int64_t)(((uint64_t)*value << 8) | le[i]);
	return 0;

bad:
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return -1;
}

/* The greeting: version, our ID, the memory, the card's doorbells, our
 * interrupt eventfds. Returns NPU_OK, NPU_ERR_BUSY or NOT_SUPPORTED. */
static int cosim_greeting(struct cosim_priv *p, const char *path)
{
	int64_t v;
	int fd, rc;

	rc = recv_msg(p->sock, &v, &fd);
	if (rc == 1) {
		cosim_note("%s closed the connection: the card serves another host", path);
		return NPU_ERR_BUSY;
	}
	if (rc || v != 0 || fd >= 0) {
		if (fd >= 0)
			close(fd);
		cosim_note("%s: not an ivshmem server of protocol version 0", path);
		return NPU_ERR_NOT_SUPPORTED;
	}
	if (recv_msg(p->sock, &p->own_id, &fd) || fd >= 0 || p->own_id < 0 || p->own_id > 65535)
		goto bad;
	if (recv_msg(p->sock, &v, &p->shm_fd) || v != -1 || p->shm_fd < 0)
		goto bad;
	for (unsigned i = 0; i < NPU_CARD_VECTORS; i++) {
		if (recv_msg(p->sock, &v, &p->peer_fd[i]) || p->peer_fd[i] < 0 || v < 0 ||
		    v > 65535 || v == p->own_id || (i && v != p->peer_id))
			goto bad;
		p->peer_id = v;
	}
	for (unsigned i = 0; i < NPU_CARD_VECTORS; i++)
		if (recv_msg(p->sock, &v, &p->own_fd[i]) || p->own_fd[i] < 0 || v != p->own_id)
			goto bad;
	return NPU_OK;

bad:
	cosim_note("%s: the ivshmem greeting is not that of an lwnpu card (one peer, %u "
	           "vectors)",
	           path, NPU_CARD_VECTORS);
	return NPU_ERR_NOT_SUPPORTED;
}

static int cosim_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	struct cosim_priv *p = ctx;
	uint64_t one = 1;

	if (peer != (uint32_t)p->peer_id || vector >= NPU_CARD_VECTORS)
		return NPU_ERR_INVALID_ARG;
	return write(p->peer_fd[vector], &one, sizeof(one)) == sizeof(one) ? NPU_OK : NPU_ERR_IO;
}

/* The card process holds the other end: when it exits or dies the socket
 * hangs up. Anything it sends after the greeting is ignored. */
static int cosim_present(void *ctx)
{
	struct cosim_priv *p = ctx;
	struct pollfd pfd = {p->sock, POLLIN | POLLRDHUP, 0};
	char buf[64];

	if (poll(&pfd, 1, 0) <= 0)
		return 1;
	if (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR))
		return 0;
	return recv(p->sock, buf, sizeof(buf), MSG_DONTWAIT) != 0;
}

static void cosim_close(struct npu_hw *hw);

static int cosim_open(struct npu_hw *hw, const char *args)
{
	struct cosim_priv *p = npu_hw_priv(hw);
	const char *path = *args ? args : getenv("NPU_COSIM_SOCKET");
	struct sockaddr_un a;
	struct npu_card_io io;
	struct stat st;
	int rc;

	p->sock = p->shm_fd = -1;
	for (unsigned i = 0; i < NPU_CARD_VECTORS; i++)
		p->peer_fd[i] = p->own_fd[i] = -1;
	if (!path || !*path) {
		cosim_note("no card named: give cosim:PATH or set NPU_COSIM_SOCKET "
		           "(npu-cosim --socket PATH serves one)");
		return NPU_ERR_NO_DEVICE;
	}
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path)) {
		cosim_note("socket path longer than %zu bytes", sizeof(a.sun_path) - 1);
		return NPU_ERR_INVALID_ARG;
	}
	strcpy(a.sun_path, path);
	p->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->sock < 0) {
		cosim_note("socket: %s", strerror(errno));
		return errno == ENOMEM || errno == ENOBUFS ? NPU_ERR_NO_MEM : NPU_ERR_IO;
	}
	if (connect(p->sock, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;

		cosim_note("%s: %s", path, strerror(e));
		rc = e == EACCES || e == EPERM ? NPU_ERR_PERMISSION : NPU_ERR_NO_DEVICE;
		goto err;
	}
	if ((rc = cosim_greeting(p, path)) != NPU_OK)
		goto err;
	rc = NPU_ERR_NOT_SUPPORTED;
	if (fstat(p->shm_fd, &st) || st.st_size < (off_t)NPU_CARD_CTRL_BYTES) {
		cosim_note("%s: the shared memory is too small for a card", path);
		goto err;
	}
	p->mem_size = (size_t)st.st_size;
	p->mem = mmap(NULL, p->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->shm_fd, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		cosim_note("mapping the card's memory: %s", strerror(errno));
		rc = NPU_ERR_NO_MEM;
		goto err;
	}
	snprintf(p->name, sizeof(p->name), "cosim peer %lld", (long long)p->own_id);
	memset(&io, 0, sizeof(io));
	io.mem = p->mem;
	io.mem_size = p->mem_size;
	io.ring = cosim_ring;
	io.irq_fd = p->own_fd[NPU_CARD_MSIX_IRQ];
	io.present = cosim_present;
	io.ctx = p;
	io.name = p->name;
	if ((rc = npu_card_open(&io, &p->card)) != NPU_OK)
		goto err;
	if (npu_card_ctrl(p->card)->card_peer != (uint32_t)p->peer_id) {
		cosim_note("%s: the card says it is peer %u, the server said %lld", path,
		           npu_card_ctrl(p->card)->card_peer, (long long)p->peer_id);
		rc = NPU_ERR_NOT_SUPPORTED;
		goto err;
	}
	/* A known NPU whatever happened before (as vfio and uio do). */
	if ((rc = npu_card_reset(p->card)) != NPU_OK) {
		cosim_note("%s: the card's reset failed (%d)", path, rc);
		goto err;
	}
	return NPU_OK;

err:
	cosim_close(hw);
	return rc;
}

static void cosim_close(struct npu_hw *hw)
{
	struct cosim_priv *p = npu_hw_priv(hw);

	npu_card_close(p->card);
	if (p->mem)
		munmap(p->mem, p->mem_size);
	for (unsigned i = 0; i < NPU_CARD_VECTORS; i++) {
		if (p->peer_fd[i] >= 0)
			close(p->peer_fd[i]);
		if (p->own_fd[i] >= 0)
			close(p->own_fd[i]);
	}
	if (p->shm_fd >= 0)
		close(p->shm_fd);
	if (p->sock >= 0)
		close(p->sock);
	memset(p, 0, sizeof(*p));
}

static struct npu_card *card_of(struct npu_hw *hw)
{
	return ((struct cosim_priv *)npu_hw_priv(hw))->card;
}

static int cosim_reg_read(struct npu_hw *hw, uint32_t off, uint32_t *v)
{
	return npu_card_reg_read(card_of(hw), off, v);
}

static int cosim_reg_write(struct npu_hw *hw, uint32_t off, uint32_t v)
{
	return npu_card_reg_write(card_of(hw), off, v);
}

static int cosim_buf_alloc(struct npu_hw *hw, size_t size, uint32_t flags, struct npu_hw_buf *buf)
{
	return npu_card_buf_alloc(card_of(hw), size, flags, buf);
}

static void cosim_buf_free(struct npu_hw *hw, struct npu_hw_buf *buf)
{
	npu_card_buf_free(card_of(hw), buf);
}

static int cosim_buf_sync(struct npu_hw *hw, struct npu_hw_buf *buf, size_t off, size_t len,
                          enum npu_hw_sync_dir dir)
{
	return npu_card_buf_sync(card_of(hw), buf, off, len, dir);
}

static int cosim_submit(struct npu_hw *hw, uint32_t tail)
{
	return npu_card_submit(card_of(hw), tail);
}

static int cosim_wait_irq(struct npu_hw *hw, int timeout_ms)
{
	return npu_card_wait_irq(card_of(hw), timeout_ms);
}

static int cosim_reset(struct npu_hw *hw)
{
	return npu_card_reset(card_of(hw));
}

const struct npu_backend_ops npu_cosim_backend = {
        .name = "cosim",
        .summary = "the co-simulated PCIe card on this host (cosim:SOCKET of npu-cosim)",
        .priv_size = sizeof(struct cosim_priv),
        .open = cosim_open,
        .close = cosim_close,
        .reg_read = cosim_reg_read,
        .reg_write = cosim_reg_write,
        .buf_alloc = cosim_buf_alloc,
        .buf_free = cosim_buf_free,
        .buf_sync = cosim_buf_sync,
        .submit = cosim_submit,
        .wait_irq = cosim_wait_irq,
        .reset = cosim_reset,
};

struct npu_card *npu_cosim_backend_card(struct npu_hw *hw)
{
	if (!hw || hw->ops != &npu_cosim_backend)
		return NULL;
	return card_of(hw);
}
