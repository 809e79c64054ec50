/*
 * The co-simulated PCIe card (rtl-sim/cosim/cosim.h, docs/PCIE.md).
 *
 * One loop on one thread:
 *   - poll() the listening socket, the client's socket, the doorbell
 *     eventfds and a wake eventfd; with the NPU idle it sleeps there at
 *     most COSIM_IDLE_MS (a host without a doorbell, uio, is answered
 *     that fast), with work it only looks;
 *   - answer a mailbox request (ctrl.mb_seq != ctrl.mb_done), and the
 *     ones that follow it within COSIM_MB_LINGER_NS each;
 *   - clock the NPU one slice while it has work, the slice sized so that
 *     one takes about COSIM_SLICE_TARGET_NS of host time (the mailbox
 *     waits for it);
 *   - on a rising edge of the NPU's interrupt line, ctrl.irq_line and
 *     irq_edges, then the client's MSI-X eventfd;
 *   - npu_cycles (the heartbeat has a thread of its own, beat_main).
 *
 * The ivshmem server protocol (QEMU's docs/specs/ivshmem-spec.rst): to
 * each client, little-endian int64 messages, a file descriptor attached
 * with SCM_RIGHTS where said: 0 (the protocol version); the client's peer
 * ID; -1 with the memory's fd; the card's peer ID NPU_CARD_VECTORS times,
 * each with the eventfd the client writes to ring that vector of the
 * card; the client's own ID NPU_CARD_VECTORS times, each with the eventfd
 * the card writes to raise that interrupt vector at the client. A second
 * client while one is connected is closed at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rtl-sim/cosim/cosim.h"

#include "driver/npu_card.h"
#include "driver/npu_regs.h"
#include "rtl-sim/harness/npu_sim.h"

/* The card is always peer 0; clients get 1, 2, ... (ivshmem IDs are
 * 16-bit). */
#define COSIM_CARD_PEER 0u
#define COSIM_MAX_PEER  65535u
/* Idle: sleep in poll() at most this long. */
#define COSIM_IDLE_MS 1
/* Host time one NPU slice should take, and the slice's bounds in cycles.
 * The bound matters more than the target: a slice grown while the NPU
 * ran cheap cycles (waiting on memory) must not take NPU_CARD_DEAD_MS
 * once the engines are busy and each cycle costs the model far more
 * (MobileNetV2-224 averages 200,000-300,000 cycles per second on a
 * loaded 2-core machine, its heaviest phases less). */
#define COSIM_SLICE_TARGET_NS 2000000ll
#define COSIM_SLICE_MIN       500ull
#define COSIM_SLICE_MAX       8000ull
/* After a mailbox answer, watch for the next request this long. */
#define COSIM_MB_LINGER_NS 30000ll
/* A reset waits at most this long for the NPU's outstanding bursts,
 * looking up every COSIM_DRAIN_SLICE cycles. */
#define COSIM_DRAIN_CYCLES 1000000ull
#define COSIM_DRAIN_SLICE  20000ull

struct npu_cosim {
	char *path;
	int quiet;
	uint64_t kill_after;
	int memfd;
	uint8_t *mem;
	uint64_t mem_size;
	struct npu_card_ctrl *ctrl;
	struct npu_sim *sim;
	int listen_fd;
	int wake_fd;
	int doorbell[NPU_CARD_VECTORS]; /* the card's: clients write them */
	int client_fd;                  /* -1: no client */
	uint32_t client_id, next_id;
	int client_irq[NPU_CARD_VECTORS]; /* the client's: the card writes them */
	volatile int stop;
	/* The heartbeat's own thread: the card is there as long as its process
	 * is (a pulled card, SIGKILL or SIGSTOP stops it with everything else),
	 * however long one NPU slice or reset of the main loop takes. */
	pthread_t beat;
	int beating;
	volatile int beat_stop;
	int npu_active, kicked, irq_prev;
	uint64_t slice;
};

static void say(const struct npu_cosim *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void say(const struct npu_cosim *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	va_start(ap, fmt);
	fputs("npu-cosim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static uint32_t ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void st64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* ---- the NPU -------------------------------------------------------- */

/* Work queued or running: the NPU is clocked only then. */
static int npu_busy(struct npu_cosim *c)
{
	uint32_t st, ctrl, head, tail;

	if (npu_sim_reg_read(c->sim, NPU_REG_STATUS, &st) != 0)
		return 0;
	if (st & NPU_REG_STATUS_HALTED_MASK)
		return 0; /* stopped until a soft reset */
	if (st & NPU_REG_STATUS_BUSY_MASK)
		return 1;
	if (npu_sim_reg_read(c->sim, NPU_REG_CTRL, &ctrl) != 0 ||
	    !(ctrl & NPU_REG_CTRL_ENABLE_MASK) ||
	    npu_sim_reg_read(c->sim, NPU_REG_RING_HEAD, &head) != 0 ||
	    npu_sim_reg_read(c->sim, NPU_REG_RING_TAIL, &tail) != 0)
		return 0;
	return head != tail;
}

/* Clock cycles whatever the interrupt line: npu_sim_run stops at a high
 * line, but the NPU goes on with its queue while the line waits for the
 * host, so then it is clocked through npu_sim_drain, which ignores the
 * line (and returns whenever memory has been quiet a few cycles: again
 * until the slice is used up). */
static void npu_clock(struct npu_cosim *c, uint64_t cycles)
{
	uint64_t start = npu_sim_cycles(c->sim), ran;

	if (npu_sim_run(c->sim, 0) != 1) {
		npu_sim_run(c->sim, cycles);
		return;
	}
	while ((ran = npu_sim_cycles(c->sim) - start) < cycles)
		npu_sim_drain(c->sim, cycles - ran);
}

/* The interrupt line as the host sees it: the level in the control page,
 * an MSI-X message per rising edge. */
static void irq_update(struct npu_cosim *c)
{
	int line = npu_sim_run(c->sim, 0) == 1;

	if (line && !c->irq_prev) {
		uint64_t one = 1;

		st32(&c->ctrl->irq_edges, c->ctrl->irq_edges + 1);
		st32(&c->ctrl->irq_line, 1);
		if (c->client_fd >= 0 &&
		    write(c->client_irq[NPU_CARD_MSIX_IRQ], &one, sizeof(one)) == sizeof(one))
			st64(&c->ctrl->irqs_sent, c->ctrl->irqs_sent + 1);
	} else if (!line) {
		st32(&c->ctrl->irq_line, 0);
	}
	c->irq_prev = line;
}

/* The cycle count the host reads (the heartbeat is beat_main's). */
static void publish_cycles(struct npu_cosim *c)
{
	st64(&c->ctrl->npu_cycles, npu_sim_cycles(c->sim));
}

/* ctrl.heartbeat + 1 four times per NPU_CARD_HEARTBEAT_MS. */
static void *beat_main(void *arg)
{
	struct npu_cosim *c = arg;
	const struct timespec nap = {0, NPU_CARD_HEARTBEAT_MS * 1000000L / 4};

	while (!c->beat_stop) {
		st32(&c->ctrl->heartbeat, c->ctrl->heartbeat + 1);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

/* CTRL.SOFT_RESET, then every burst the NPU issued before it answered,
 * drained a piece at a time (the cycle count published in between). */
static int npu_reset(struct npu_cosim *c)
{
	uint64_t ran = 0;
	int rc = npu_sim_reg_write(c->sim, NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK) ? -1 : 1;

	while (rc > 0) {
		if (npu_sim_drain(c->sim, COSIM_DRAIN_SLICE) == 0)
			rc = 0;
		else if ((ran += COSIM_DRAIN_SLICE) >= COSIM_DRAIN_CYCLES)
			rc = -1;
		publish_cycles(c);
	}
	c->npu_active = 0;
	c->kicked = 1;
	irq_update(c);
	return rc;
}

/* ---- the mailbox ---------------------------------------------------- */

/* Answer a pending mailbox request. Returns 1 if there was one. */
static int serve_mailbox(struct npu_cosim *c)
{
	struct npu_card_ctrl *k = c->ctrl;
	uint32_t seq = ld32(&k->mb_seq), status = NPU_CARD_ST_OK, result = 0;
	uint32_t op, off, val;

	if (seq == k->mb_done)
		return 0;
	op = k->mb_op;
	off = k->mb_offset;
	val = k->mb_value;
	if ((op == NPU_CARD_OP_REG_READ || op == NPU_CARD_OP_REG_WRITE) &&
	    (off >= NPU_HW_CSR_BYTES || (off & 3))) {
		status = NPU_CARD_ST_BAD_OFFSET;
	} else if (op == NPU_CARD_OP_REG_READ) {
		if (npu_sim_reg_read(c->sim, off, &result) != 0)
			status = NPU_CARD_ST_NPU_ERROR;
	} else if (op == NPU_CARD_OP_REG_WRITE) {
		if (npu_sim_reg_write(c->sim, off, val) != 0)
			status = NPU_CARD_ST_NPU_ERROR;
		c->kicked = 1;
	} else if (op == NPU_CARD_OP_RESET) {
		if (npu_reset(c) != 0)
			status = NPU_CARD_ST_RESET_FAIL;
	} else {
		status = NPU_CARD_ST_BAD_OP;
	}
	/* A write may have lowered the line (IRQ_STATUS acknowledged): the
	 * host reads the new level once it sees the answer. */
	irq_update(c);
	st64(&k->npu_cycles, npu_sim_cycles(c->sim));
	st64(&k->mb_requests, k->mb_requests + 1);
	k->mb_status = status;
	k->mb_result = result;
	st32(&k->mb_done, seq);
	return 1;
}

/* Requests come in runs (a submit is two writes, an interrupt's handling
 * a few reads and an acknowledgement): after an answer the card watches
 * the page COSIM_MB_LINGER_NS for the next request, which is much cheaper
 * than the next doorbell's wake-up. */
static void serve_mailbox_run(struct npu_cosim *c)
{
	int64_t end;

	if (!serve_mailbox(c))
		return;
	end = now_ns() + COSIM_MB_LINGER_NS;
	while (now_ns() < end) {
		if (serve_mailbox(c)) {
			publish_cycles(c);
			end = now_ns() + COSIM_MB_LINGER_NS;
		} else {
			sched_yield(); /* the host may be waiting for this CPU */
		}
	}
}

/* ---- clients -------------------------------------------------------- */

/* One protocol message: value, and fd attached unless it is -1. */
static int send_msg(int sock, int64_t value, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t le[8];
	struct iovec iov = {le, sizeof(le)};
	struct msghdr m;

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)value >> (8 * i));
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)sizeof(le) ? 0 : -1;
}

static void client_drop(struct npu_cosim *c, const char *why)
{
	if (c->client_fd < 0)
		return;
	say(c, "host %u left (%s)", c->client_id, why);
	close(c->client_fd);
	c->client_fd = -1;
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++) {
		close(c->client_irq[v]);
		c->client_irq[v] = -1;
	}
	/* The next host finds an idle NPU and no request pending; card DRAM
	 * stays as it was. */
	npu_reset(c);
	st32(&c->ctrl->mb_done, ld32(&c->ctrl->mb_seq));
}

static void client_accept(struct npu_cosim *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	uint32_t id;

	if (fd < 0)
		return;
	if (c->client_fd >= 0) {
		say(c, "refused a second host (host %u is connected)", c->client_id);
		close(fd);
		return;
	}
	id = c->next_id;
	c->next_id = id == COSIM_MAX_PEER ? 1 : id + 1;
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		c->client_irq[v] = -1;
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		if ((c->client_irq[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			goto err;
	if (send_msg(fd, 0, -1) || send_msg(fd, id, -1) || send_msg(fd, -1, c->memfd))
		goto err;
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		if (send_msg(fd, COSIM_CARD_PEER, c->doorbell[v]))
			goto err;
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		if (send_msg(fd, id, c->client_irq[v]))
			goto err;
	c->client_fd = fd;
	c->client_id = id;
	say(c, "host %u connected", id);
	return;

err:
	say(c, "setting up a host failed: %s", strerror(errno));
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		if (c->client_irq[v] >= 0)
			close(c->client_irq[v]);
	close(fd);
}

/* The client's socket is readable: it left (or talks, which it should
 * not; what it says is dropped). */
static void client_read(struct npu_cosim *c)
{
	char buf[256];
	ssize_t n = recv(c->client_fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		client_drop(c, n == 0 ? "closed" : strerror(errno));
}

/* poll() everything once, waiting at most timeout_ms. */
static int serve_fds(struct npu_cosim *c, int timeout_ms)
{
	struct pollfd pfd[3 + NPU_CARD_VECTORS];
	unsigned n = 0, client = 0;
	uint64_t x;

	pfd[n++] = (struct pollfd){c->wake_fd, POLLIN, 0};
	pfd[n++] = (struct pollfd){c->listen_fd, POLLIN, 0};
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		pfd[n++] = (struct pollfd){c->doorbell[v], POLLIN, 0};
	if (c->client_fd >= 0) {
		client = n;
		pfd[n++] = (struct pollfd){c->client_fd, POLLIN | POLLRDHUP, 0};
	}
	if (poll(pfd, n, timeout_ms) < 0) {
		if (errno == EINTR)
			return 0;
		fprintf(stderr, "npu-cosim: poll: %s\n", strerror(errno));
		return -1;
	}
	if (pfd[0].revents && read(c->wake_fd, &x, sizeof(x)) < 0)
		(void)0; /* a wake-up with nothing to read: stop says why */
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		if (pfd[2 + v].revents & POLLIN) {
			if (read(c->doorbell[v], &x, sizeof(x)) == sizeof(x))
				st64(&c->ctrl->doorbells, c->ctrl->doorbells + x);
		}
	if (client && pfd[client].revents)
		client_read(c);
	if (pfd[1].revents & POLLIN)
		client_accept(c);
	return 0;
}

int npu_cosim_serve(struct npu_cosim *c)
{
	while (!c->stop) {
		if (serve_fds(c, c->npu_active ? 0 : COSIM_IDLE_MS))
			return -1;
		serve_mailbox_run(c);
		if (c->kicked || c->npu_active) {
			c->kicked = 0;
			c->npu_active = npu_busy(c);
		}
		if (c->npu_active) {
			int64_t t0 = now_ns(), dt;

			npu_clock(c, c->slice);
			dt = now_ns() - t0;
			if (dt < COSIM_SLICE_TARGET_NS / 2 && c->slice < COSIM_SLICE_MAX)
				c->slice *= 2;
			else if (dt > COSIM_SLICE_TARGET_NS * 2 && c->slice > COSIM_SLICE_MIN)
				c->slice /= 2;
			if (c->kill_after && npu_sim_cycles(c->sim) >= c->kill_after) {
				/* The fault: the card stops dead, as a pulled card
				 * does (no STOPPED, nothing cleaned up). */
				raise(SIGKILL);
			}
		}
		irq_update(c);
		publish_cycles(c);
	}
	return 0;
}

void npu_cosim_stop(struct npu_cosim *c)
{
	uint64_t one = 1;

	c->stop = 1;
	if (write(c->wake_fd, &one, sizeof(one)) < 0)
		(void)0; /* the loop sees stop within COSIM_IDLE_MS anyway */
}

/* ---- the card ------------------------------------------------------- */

/* Listen on path: bound and listening under a temporary name in the same
 * directory first, then renamed, so that the file appears only when a
 * client (QEMU connects as soon as it exists) can connect. */
static int cosim_listen(struct npu_cosim *c, char *why, size_t why_len)
{
	struct sockaddr_un a, tmp;
	int fd, probe;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(a.sun_path) - 16) {
		fail(why, why_len, "socket path too long (at most %zu bytes): %s",
		     sizeof(a.sun_path) - 17, c->path);
		return -1;
	}
	strcpy(a.sun_path, c->path);
	/* A live card at path already: do not take its name. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0) {
		close(probe);
		fail(why, why_len, "%s: another server is listening there", c->path);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	tmp = a;
	snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d", c->path, (int)getpid());
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fail(why, why_len, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(tmp.sun_path);
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) || listen(fd, 4)) {
		fail(why, why_len, "%s: %s", tmp.sun_path, strerror(errno));
		goto err_close;
	}
	if (rename(tmp.sun_path, c->path)) {
		fail(why, why_len, "%s: %s", c->path, strerror(errno));
		unlink(tmp.sun_path);
		goto err_close;
	}
	c->listen_fd = fd;
	return 0;

err_close:
	close(fd);
	return -1;
}

static int cosim_boot(struct npu_cosim *c, const char *config, char *why, size_t why_len)
{
	struct npu_sim_config scfg;
	struct npu_card_ctrl *k = c->ctrl;
	uint64_t dram_size = c->mem_size - NPU_CARD_DRAM_OFFSET;

	memset(&scfg, 0, sizeof(scfg));
	scfg.config = config;
	if (npu_sim_create(&scfg, &c->sim) != 0) {
		fail(why, why_len, "cannot create the NPU (config %s)", config);
		return -1;
	}
	if (npu_sim_map(c->sim, NPU_CARD_DRAM_DEV_BASE, c->mem + NPU_CARD_DRAM_OFFSET, dram_size)) {
		fail(why, why_len, "cannot map card DRAM for the NPU");
		return -1;
	}
	k->magic = NPU_CARD_MAGIC;
	k->version_major = NPU_CARD_VERSION_MAJOR;
	k->version_minor = NPU_CARD_VERSION_MINOR;
	k->card_peer = COSIM_CARD_PEER;
	if (npu_sim_reg_read(c->sim, NPU_REG_ID, &k->npu_id) ||
	    npu_sim_reg_read(c->sim, NPU_REG_VERSION, &k->npu_version) ||
	    npu_sim_reg_read(c->sim, NPU_REG_CAPS0, &k->npu_caps)) {
		fail(why, why_len, "the NPU does not answer ID/VERSION/CAPS");
		return -1;
	}
	k->dram_offset = NPU_CARD_DRAM_OFFSET;
	k->dram_size = dram_size;
	k->dram_dev_base = NPU_CARD_DRAM_DEV_BASE;
	k->card_flags = 0;
	st64(&k->npu_cycles, npu_sim_cycles(c->sim));
	st32(&k->state, NPU_CARD_STATE_READY);
	return 0;
}

int npu_cosim_create(const struct npu_cosim_config *cfg, struct npu_cosim **out, char *why,
                     size_t why_len)
{
	const char *config = cfg && cfg->npu_config ? cfg->npu_config : "default";
	struct npu_cosim *c;

	if (!cfg || !out || !cfg->socket_path || !*cfg->socket_path) {
		fail(why, why_len, "no socket path");
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(cfg->socket_path))) {
		free(c);
		fail(why, why_len, "out of memory");
		return -1;
	}
	c->memfd = c->listen_fd = c->wake_fd = c->client_fd = -1;
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		c->doorbell[v] = c->client_irq[v] = -1;
	c->quiet = cfg->quiet;
	c->kill_after = cfg->kill_after_cycles;
	c->next_id = 1;
	c->slice = 2000;
	c->mem_size = cfg->mem_size ? cfg->mem_size : NPU_COSIM_DEFAULT_MEM;
	if ((c->mem_size & (c->mem_size - 1)) || c->mem_size < 2 * NPU_CARD_DRAM_OFFSET) {
		fail(why, why_len, "memory size %llu: need a power of two of at least %u bytes",
		     (unsigned long long)c->mem_size, 2 * NPU_CARD_DRAM_OFFSET);
		goto err;
	}
	if (strcmp(config, "default") && strcmp(config, "small")) {
		fail(why, why_len, "unknown NPU configuration '%s' (default or small)", config);
		goto err;
	}
	c->memfd = memfd_create("npu-cosim", MFD_CLOEXEC);
	if (c->memfd < 0 || ftruncate(c->memfd, (off_t)c->mem_size)) {
		fail(why, why_len, "card memory (%llu bytes): %s", (unsigned long long)c->mem_size,
		     strerror(errno));
		goto err;
	}
	c->mem = mmap(NULL, c->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	if (c->mem == MAP_FAILED) {
		c->mem = NULL;
		fail(why, why_len, "mapping card memory: %s", strerror(errno));
		goto err;
	}
	c->ctrl = (struct npu_card_ctrl *)c->mem;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		c->doorbell[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		if (c->doorbell[v] < 0 || c->wake_fd < 0) {
			fail(why, why_len, "eventfd: %s", strerror(errno));
			goto err;
		}
	if (cosim_boot(c, config, why, why_len))
		goto err;
	if (pthread_create(&c->beat, NULL, beat_main, c)) {
		fail(why, why_len, "cannot start the heartbeat thread");
		goto err;
	}
	c->beating = 1;
	if (cosim_listen(c, why, why_len))
		goto err;
	say(c, "serving %s (mem %llu MiB)", c->path, (unsigned long long)(c->mem_size >> 20));
	*out = c;
	return 0;

err:
	npu_cosim_destroy(c);
	return -1;
}

void npu_cosim_destroy(struct npu_cosim *c)
{
	if (!c)
		return;
	if (c->beating) {
		c->beat_stop = 1;
		pthread_join(c->beat, NULL);
	}
	if (c->ctrl)
		st32(&c->ctrl->state, NPU_CARD_STATE_STOPPED);
	if (c->client_fd >= 0) {
		close(c->client_fd);
		for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
			close(c->client_irq[v]);
	}
	if (c->listen_fd >= 0) {
		unlink(c->path);
		close(c->listen_fd);
	}
	for (unsigned v = 0; v < NPU_CARD_VECTORS; v++)
		if (c->doorbell[v] >= 0)
			close(c->doorbell[v]);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	npu_sim_destroy(c->sim);
	if (c->mem)
		munmap(c->mem, c->mem_size);
	if (c->memfd >= 0)
		close(c->memfd);
	free(c->path);
	free(c);
}
