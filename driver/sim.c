/*
 * The "sim" backend: the lwnpu RTL, verilated, in this process
 * (rtl-sim/harness, docs/HARDWARE.md "Harness and C ABI"). No hardware is
 * needed; this is the device CI runs on.
 *
 * URI options, comma-separated after "sim:":
 *   config=default|small   the RTL configuration (16x16 or 4x4 array)
 *   latency=N              host-memory latency in cycles (default 100)
 *   bw=N                   host-memory bytes per cycle (default 8)
 *   max_cycles=N           give up on a job after N simulated cycles
 *                          (default: only the host timeout applies)
 *   memory=shared|separate shared (default): the device reads and writes
 *                          the host's buffers in place, like an integrated
 *                          NPU, and buf_sync has nothing to do. separate:
 *                          each buffer has a device copy of its own, as on
 *                          a card or board with its own DRAM (usb, PCIe),
 *                          and only buf_sync moves bytes between the two:
 *                          what the driver forgets to sync is wrong on the
 *                          other side. npu_sim_backend_sync_bytes() counts
 *                          the bytes moved.
 *   watchdog=N             the device's watchdog budget (WDOG_BUDGET) is
 *                          N cycles: every driver write of WDOG_BUDGET is
 *                          replaced by N (the driver arms 50 M, i.e. about
 *                          a minute of simulation before a hang is seen)
 *
 * Fault injection (tests; docs/DRIVER.md "The sim backend"). Each fault
 * fires once per open; events are counted from open. A "burst" is any read
 * or write burst the device issues, descriptor fetches included.
 *   bus_error=ADDR[:LEN]   the first burst overlapping [ADDR, ADDR+LEN)
 *                          (LEN default 1; decimal or 0x hex) is answered
 *                          with a bus error: ERR_DMA_BUS, burst address
 *   bus_error_after=N      bursts 1..N are answered, burst N+1 gets a bus
 *                          error
 *   hang_after=N           at burst N+1 the memory stops answering (that
 *                          burst and all in flight): the DMA waits, no
 *                          descriptor retires, the watchdog reports
 *                          ERR_WATCHDOG (use with watchdog=N); the memory
 *                          answers again when the driver resets the device
 *   corrupt_desc=N         the Nth descriptor fetched (1 = the first)
 *                          reaches the device with its opcode byte inverted:
 *                          ERR_DESC_OPCODE at that descriptor's address;
 *                          the ring in memory is intact
 *   lose_irq=N             the Nth interrupt (rising edge of the line) is
 *                          lost: the driver's wait sees nothing and ends at
 *                          its timeout, NPU_ERR_TIMEOUT (use with
 *                          max_cycles=N; else the host timeout, 60 s a
 *                          layer); the reset that follows clears it
 *   hang_engine=E[:N]      E = pw, dw or ppu: when the Nth descriptor for
 *                          that engine is fetched (N >= 1, default 1) the
 *                          engine is held (npu_top dbg_engine_hold_i): the
 *                          descriptor running on it never completes, the
 *                          watchdog reports ERR_WATCHDOG at it (use with
 *                          watchdog=N); the driver's reset releases it
 *
 * Imports (buf_import): with memory=shared the caller's memory itself is
 * mapped at a fresh device address, like any buffer: the simulated NPU
 * reads and writes it in place, nothing is copied, and buf_free only
 * unmaps it. With memory=separate the device reaches only its own
 * memory, as a card whose DMA cannot reach the host: NPU_ERR_NOT_SUPPORTED
 * (the library then stages through a buffer of its own, and counts it).
 *
 * DMA buffers are host memory mapped into the simulated device's address
 * space at addresses this backend hands out; the RTL can reach nothing
 * else (unmapped addresses answer with a bus error, and the driver's DMA
 * windows cover only the buffers of the running job). Buffers get addresses
 * from 0x10000000 up, in allocation order, 4 KiB aligned with a 4 KiB gap
 * between them, so one sequence of calls gives the same addresses on every
 * open (a test can find an address to inject a fault at).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver/sim.h"

#include "driver/backend.h"
#include "driver/npu_regs.h"
#include "rtl-sim/harness/npu_sim.h"

/* Device addresses start away from 0 so that a zeroed address field in a
 * descriptor can never hit a buffer. 4 KiB aligned, 4 KiB guard gaps. */
#define SIM_DEV_BASE 0x10000000ull
#define SIM_ALIGN    4096ull
/* Cycles simulated between looks at the host clock while waiting. */
#define SIM_SLICE_CYCLES 200000ull
/* A reset waits at most this long for the memory to answer every burst
 * the device issued before it. */
#define SIM_DRAIN_CYCLES 1000000ull

struct sim_priv {
	struct npu_sim *sim;
	uint64_t next_addr;
	uint64_t max_cycles; /* 0: no cycle limit per wait */
	uint32_t watchdog;   /* 0: WDOG_BUDGET as the driver writes it */
	int separate;        /* memory=separate: buffers have a device copy */
	uint64_t synced[2];  /* bytes buf_sync moved: to the device, from it */
};

/* A decimal or 0x-hex number filling v[0..len). */
static int parse_u64(const char *v, size_t len, uint64_t *out)
{
	char buf[24];
	char *end;
	int hex = len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X');

	if (len == 0 || len >= sizeof(buf) || v[0] < '0' || v[0] > '9')
		return -1; /* strtoull would take a sign or blanks */
	memcpy(buf, v, len);
	buf[len] = 0;
	errno = 0;
	*out = strtoull(hex ? buf + 2 : buf, &end, hex ? 16 : 10);
	return *end || errno || end == (hex ? buf + 2 : buf) ? -1 : 0;
}

static int parse_u32(const char *v, size_t len, uint32_t *out)
{
	uint64_t x;

	if (parse_u64(v, len, &x) || x > 0xffffffffull)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* ADDR[:LEN] of bus_error=, LEN >= 1 (default 1). */
static int parse_range(const char *v, size_t len, uint64_t *addr, uint64_t *n)
{
	const char *colon = memchr(v, ':', len);

	*n = 1;
	if (!colon)
		return parse_u64(v, len, addr);
	if (parse_u64(v, (size_t)(colon - v), addr) ||
	    parse_u64(colon + 1, len - (size_t)(colon - v) - 1, n))
		return -1;
	return *n ? 0 : -1;
}

/* E[:N] of hang_engine=: E = pw|dw|ppu (an NPU_SIM_ENGINE_* bit), N >= 1
 * (default 1). */
static int parse_engine(const char *v, size_t len, unsigned *mask, uint32_t *n)
{
	const char *colon = memchr(v, ':', len);
	size_t elen = colon ? (size_t)(colon - v) : len;

	*n = 1;
	if (elen == 2 && !memcmp(v, "pw", 2))
		*mask = NPU_SIM_ENGINE_PW;
	else if (elen == 2 && !memcmp(v, "dw", 2))
		*mask = NPU_SIM_ENGINE_DW;
	else if (elen == 3 && !memcmp(v, "ppu", 3))
		*mask = NPU_SIM_ENGINE_PPU;
	else
		return -1;
	if (colon && parse_u32(colon + 1, len - elen - 1, n))
		return -1;
	return *n ? 0 : -1;
}

/* The faults of one open, armed once the device exists. */
struct sim_faults {
	int bus_error;
	uint64_t bus_addr, bus_len;
	uint32_t bus_error_after, hang_after, corrupt_desc, lose_irq;
	int has_bus_error_after, has_hang_after;
	unsigned hang_engine; /* NPU_SIM_ENGINE_* bit, 0: none */
	uint32_t hang_engine_n;
};

static void sim_arm(struct npu_sim *sim, const struct sim_faults *f)
{
	if (f->bus_error)
		npu_sim_inject_bus_error(sim, f->bus_addr, f->bus_len);
	if (f->has_bus_error_after)
		npu_sim_inject_bus_error_after(sim, f->bus_error_after);
	if (f->has_hang_after)
		npu_sim_inject_hang_after(sim, f->hang_after);
	npu_sim_inject_corrupt_desc(sim, f->corrupt_desc);
	npu_sim_inject_lose_irq(sim, f->lose_irq);
	if (f->hang_engine)
		npu_sim_inject_engine_hang(sim, f->hang_engine, f->hang_engine_n);
}

#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(s, k, sizeof(k) - 1))

static int sim_open(struct npu_hw *hw, const char *args)
{
	struct sim_priv *p = npu_hw_priv(hw);
	struct npu_sim_config cfg;
	char config[16] = "default";
	struct sim_faults f;
	const char *s = args;

	memset(&cfg, 0, sizeof(cfg));
	memset(&f, 0, sizeof(f));
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		size_t klen = eq ? (size_t)(eq - s) : len;
		const char *v = eq ? eq + 1 : s + len;
		size_t vlen = len - klen - (eq ? 1 : 0);
		uint32_t x;
		unsigned m;

		if (KEY("config") && vlen && vlen < sizeof(config)) {
			memcpy(config, v, vlen);
			config[vlen] = 0;
		} else if (KEY("latency") && !parse_u32(v, vlen, &x)) {
			cfg.mem_latency = x;
		} else if (KEY("bw") && !parse_u32(v, vlen, &x) && x) {
			cfg.mem_bytes_per_cycle = x;
		} else if (KEY("max_cycles") && !parse_u32(v, vlen, &x)) {
			p->max_cycles = x;
		} else if (KEY("memory") && vlen == 6 && !memcmp(v, "shared", 6)) {
			p->separate = 0;
		} else if (KEY("memory") && vlen == 8 && !memcmp(v, "separate", 8)) {
			p->separate = 1;
		} else if (KEY("watchdog") && !parse_u32(v, vlen, &x) && x) {
			p->watchdog = x;
		} else if (KEY("bus_error") && !parse_range(v, vlen, &f.bus_addr, &f.bus_len)) {
			f.bus_error = 1;
		} else if (KEY("bus_error_after") && !parse_u32(v, vlen, &f.bus_error_after)) {
			f.has_bus_error_after = 1;
		} else if (KEY("hang_after") && !parse_u32(v, vlen, &f.hang_after)) {
			f.has_hang_after = 1;
		} else if (KEY("corrupt_desc") && !parse_u32(v, vlen, &x) && x) {
			f.corrupt_desc = x;
		} else if (KEY("lose_irq") && !parse_u32(v, vlen, &x) && x) {
			f.lose_irq = x;
		} else if (KEY("hang_engine") && !parse_engine(v, vlen, &m, &x)) {
			f.hang_engine = m;
			f.hang_engine_n = x;
		} else {
			return NPU_ERR_INVALID_ARG;
		}
		s += len;
		if (*s == ',')
			s++;
	}
	if (strcmp(config, "default") && strcmp(config, "small"))
		return NPU_ERR_INVALID_ARG;
	cfg.config = config;
	if (npu_sim_create(&cfg, &p->sim) != 0)
		return NPU_ERR_NO_MEM;
	sim_arm(p->sim, &f);
	p->next_addr = SIM_DEV_BASE;
	return NPU_OK;
}

static void sim_close(struct npu_hw *hw)
{
	struct sim_priv *p = npu_hw_priv(hw);

	npu_sim_destroy(p->sim);
	p->sim = NULL;
}

static int sim_reg_read(struct npu_hw *hw, uint32_t off, uint32_t *v)
{
	struct sim_priv *p = npu_hw_priv(hw);
	uint32_t x;

	if (off >= NPU_HW_CSR_BYTES || (off & 3))
		return NPU_ERR_INVALID_ARG;
	if (npu_sim_reg_read(p->sim, off, &x) != 0)
		return NPU_ERR_IO;
	*v = x;
	return NPU_OK;
}

static int sim_reg_write(struct npu_hw *hw, uint32_t off, uint32_t v)
{
	struct sim_priv *p = npu_hw_priv(hw);

	if (off >= NPU_HW_CSR_BYTES || (off & 3))
		return NPU_ERR_INVALID_ARG;
	if (off == NPU_REG_WDOG_BUDGET && p->watchdog)
		v = p->watchdog;
	return npu_sim_reg_write(p->sim, off, v) == 0 ? NPU_OK : NPU_ERR_IO;
}

static int sim_buf_alloc(struct npu_hw *hw, size_t size, uint32_t flags, struct npu_hw_buf *buf)
{
	struct sim_priv *p = npu_hw_priv(hw);
	size_t rounded;
	void *host, *dev = NULL;

	if (!size || !flags || (flags & ~(NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE)))
		return NPU_ERR_INVALID_ARG;
	rounded = (size + SIM_ALIGN - 1) & ~(size_t)(SIM_ALIGN - 1);
	host = aligned_alloc(SIM_ALIGN, rounded);
	if (p->separate)
		dev = aligned_alloc(SIM_ALIGN, rounded);
	if (!host || (p->separate && !dev))
		goto err;
	memset(host, 0, rounded);
	if (dev)
		memset(dev, 0, rounded);
	if (npu_sim_map(p->sim, p->next_addr, dev ? dev : host, size) != 0)
		goto err;
	buf->host = host;
	buf->dev_addr = p->next_addr;
	buf->size = size;
	buf->flags = flags;
	buf->priv = dev;
	p->next_addr += rounded + SIM_ALIGN;
	return NPU_OK;

err:
	free(host);
	free(dev);
	return NPU_ERR_NO_MEM;
}

/* buf->priv of an import: the host memory is the caller's. */
static char sim_imported;

static int sim_buf_import(struct npu_hw *hw, void *host, size_t size, int dmabuf_fd, uint32_t flags,
                          struct npu_hw_buf *buf)
{
	struct sim_priv *p = npu_hw_priv(hw);

	(void)dmabuf_fd; /* the mapping is all the simulator needs */
	if (!host || !size || (size & (SIM_ALIGN - 1)) || ((uintptr_t)host & (SIM_ALIGN - 1)) ||
	    !flags || (flags & ~(NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE)))
		return NPU_ERR_INVALID_ARG;
	if (p->separate)
		return NPU_ERR_NOT_SUPPORTED; /* it reaches only its own memory */
	if (npu_sim_map(p->sim, p->next_addr, host, size) != 0)
		return NPU_ERR_NO_MEM;
	buf->host = host;
	buf->dev_addr = p->next_addr;
	buf->size = size;
	buf->flags = flags;
	buf->priv = &sim_imported;
	p->next_addr += size + SIM_ALIGN;
	return NPU_OK;
}

static void sim_buf_free(struct npu_hw *hw, struct npu_hw_buf *buf)
{
	struct sim_priv *p = npu_hw_priv(hw);

	npu_sim_unmap(p->sim, buf->dev_addr);
	if (buf->priv == &sim_imported)
		return;
	free(buf->host);
	free(buf->priv);
}

/* memory=separate: copy between the buffer and its device copy. */
static int sim_buf_sync(struct npu_hw *hw, struct npu_hw_buf *buf, size_t off, size_t len,
                        enum npu_hw_sync_dir dir)
{
	struct sim_priv *p = npu_hw_priv(hw);
	uint8_t *dev = buf->priv;

	if (off > buf->size || len > buf->size - off)
		return NPU_ERR_INVALID_ARG;
	if (!dev || buf->priv == &sim_imported)
		return NPU_OK;
	if (dir == NPU_HW_SYNC_TO_DEVICE)
		memcpy(dev + off, (const uint8_t *)buf->host + off, len);
	else
		memcpy((uint8_t *)buf->host + off, dev + off, len);
	p->synced[dir == NPU_HW_SYNC_TO_DEVICE ? 0 : 1] += len;
	return NPU_OK;
}

static int sim_submit(struct npu_hw *hw, uint32_t tail)
{
	int rc = sim_reg_write(hw, NPU_REG_RING_TAIL, tail);

	return rc ? rc : sim_reg_write(hw, NPU_REG_DOORBELL, 1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Simulated time advances only here: clock the RTL in slices until its
 * interrupt line rises, the host timeout passes, or the cycle cap. */
static int sim_wait_irq(struct npu_hw *hw, int timeout_ms)
{
	struct sim_priv *p = npu_hw_priv(hw);
	uint64_t start = now_ms(), ran = 0;

	for (;;) {
		uint64_t slice = SIM_SLICE_CYCLES;

		if (p->max_cycles && p->max_cycles - ran < slice)
			slice = p->max_cycles - ran;
		uint64_t c0 = npu_sim_cycles(p->sim);
		if (npu_sim_run(p->sim, slice) == 1)
			return NPU_OK;
		ran += npu_sim_cycles(p->sim) - c0;
		if (p->max_cycles && ran >= p->max_cycles)
			return NPU_ERR_TIMEOUT;
		if (timeout_ms >= 0 && now_ms() - start >= (uint64_t)timeout_ms)
			return NPU_ERR_TIMEOUT;
	}
}

/* Soft reset, then let the memory answer every burst the device issued
 * before it (an injected hang ends here): the failed job's last writes
 * land now, inside the windows they were checked against, not while the
 * caller reprograms the windows or runs the next job. */
static int sim_reset(struct npu_hw *hw)
{
	struct sim_priv *p = npu_hw_priv(hw);
	int rc = sim_reg_write(hw, NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);

	if (rc)
		return rc;
	npu_sim_inject_hang(p->sim, 0);
	return npu_sim_drain(p->sim, SIM_DRAIN_CYCLES) == 0 ? NPU_OK : NPU_ERR_IO;
}

const struct npu_backend_ops npu_sim_backend = {
        .name = "sim",
        .summary = "the lwnpu RTL in Verilator, in-process (sim:config=small for 4x4)",
        .priv_size = sizeof(struct sim_priv),
        .open = sim_open,
        .close = sim_close,
        .reg_read = sim_reg_read,
        .reg_write = sim_reg_write,
        .buf_alloc = sim_buf_alloc,
        .buf_free = sim_buf_free,
        .buf_sync = sim_buf_sync,
        .submit = sim_submit,
        .wait_irq = sim_wait_irq,
        .reset = sim_reset,
        .buf_import = sim_buf_import,
};

struct npu_sim *npu_sim_backend_device(struct npu_hw *hw)
{
	if (!hw || hw->ops != &npu_sim_backend)
		return NULL;
	return ((struct sim_priv *)npu_hw_priv(hw))->sim;
}

int npu_sim_backend_sync_bytes(struct npu_hw *hw, uint64_t *to_dev, uint64_t *from_dev)
{
	struct sim_priv *p;

	if (!hw || hw->ops != &npu_sim_backend)
		return -1;
	p = npu_hw_priv(hw);
	if (!p->separate)
		return -1;
	*to_dev = p->synced[0];
	*from_dev = p->synced[1];
	return 0;
}
