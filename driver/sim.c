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
 *
 * DMA buffers are host memory mapped into the simulated device's address
 * space at addresses this backend hands out; the RTL can reach nothing
 * else (unmapped addresses answer with a bus error, and the driver's DMA
 * windows cover only the buffers of the running job).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver/backend.h"
#include "driver/npu_regs.h"
#include "rtl-sim/harness/npu_sim.h"

/* Device addresses start away from 0 so that a zeroed address field in a
 * descriptor can never hit a buffer. 4 KiB aligned, 4 KiB guard gaps. */
#define SIM_DEV_BASE 0x10000000ull
#define SIM_ALIGN    4096ull
/* Cycles simulated between looks at the host clock while waiting. */
#define SIM_SLICE_CYCLES 200000ull

struct sim_priv {
	struct npu_sim *sim;
	uint64_t next_addr;
	uint64_t max_cycles; /* 0: no cycle limit per wait */
};

static int parse_u32(const char *v, size_t len, uint32_t *out)
{
	char buf[24];
	char *end;
	unsigned long long x;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = 0;
	x = strtoull(buf, &end, 10);
	if (*end || x > 0xffffffffull)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int sim_open(struct npu_hw *hw, const char *args)
{
	struct sim_priv *p = npu_hw_priv(hw);
	struct npu_sim_config cfg;
	char config[16] = "default";
	const char *s = args;

	memset(&cfg, 0, sizeof(cfg));
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		size_t klen = eq ? (size_t)(eq - s) : len;
		const char *v = eq ? eq + 1 : s + len;
		size_t vlen = len - klen - (eq ? 1 : 0);
		uint32_t x;

		if (klen == 6 && !memcmp(s, "config", 6) && vlen && vlen < sizeof(config)) {
			memcpy(config, v, vlen);
			config[vlen] = 0;
		} else if (klen == 7 && !memcmp(s, "latency", 7) && !parse_u32(v, vlen, &x)) {
			cfg.mem_latency = x;
		} else if (klen == 2 && !memcmp(s, "bw", 2) && !parse_u32(v, vlen, &x) && x) {
			cfg.mem_bytes_per_cycle = x;
		} else if (klen == 10 && !memcmp(s, "max_cycles", 10) && !parse_u32(v, vlen, &x)) {
			p->max_cycles = x;
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
	return npu_sim_reg_write(p->sim, off, v) == 0 ? NPU_OK : NPU_ERR_IO;
}

static int sim_buf_alloc(struct npu_hw *hw, size_t size, uint32_t flags, struct npu_hw_buf *buf)
{
	struct sim_priv *p = npu_hw_priv(hw);
	size_t rounded;
	void *host;

	if (!size || !flags || (flags & ~(NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE)))
		return NPU_ERR_INVALID_ARG;
	rounded = (size + SIM_ALIGN - 1) & ~(size_t)(SIM_ALIGN - 1);
	host = aligned_alloc(SIM_ALIGN, rounded);
	if (!host)
		return NPU_ERR_NO_MEM;
	memset(host, 0, rounded);
	if (npu_sim_map(p->sim, p->next_addr, host, size) != 0) {
		free(host);
		return NPU_ERR_NO_MEM;
	}
	buf->host = host;
	buf->dev_addr = p->next_addr;
	buf->size = size;
	buf->flags = flags;
	buf->priv = NULL;
	p->next_addr += rounded + SIM_ALIGN;
	return NPU_OK;
}

static void sim_buf_free(struct npu_hw *hw, struct npu_hw_buf *buf)
{
	struct sim_priv *p = npu_hw_priv(hw);

	npu_sim_unmap(p->sim, buf->dev_addr);
	free(buf->host);
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

static int sim_reset(struct npu_hw *hw)
{
	return sim_reg_write(hw, NPU_REG_CTRL, NPU_REG_CTRL_SOFT_RESET_MASK);
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
        .buf_sync = NULL,
        .submit = sim_submit,
        .wait_irq = sim_wait_irq,
        .reset = sim_reset,
};
