/*
 * The driver core (driver/npu_dev.h): identity and CAPS, the ring, the DMA
 * windows, interrupts and faults, recovery, relocation. Freestanding: no
 * libc, no allocation, no clock (the header's rules).
 */
#include "driver/npu_dev.h"
#include "driver/npu_desc.h"

/* Field f of register value v, by the generated MASK/SHIFT pair. */
#define FIELD(v, reg, f) (((v)&NPU_REG_##reg##_##f##_MASK) >> NPU_REG_##reg##_##f##_SHIFT)

static int rd(struct npu_dev *d, uint32_t off, uint32_t *v)
{
	return npu_hw_reg_read(d->hw, off, v);
}

static int wr(struct npu_dev *d, uint32_t off, uint32_t v)
{
	return npu_hw_reg_write(d->hw, off, v);
}

/* A 64-bit register pair, LO first (reading LO latches HI). */
static int rd64(struct npu_dev *d, uint32_t lo_off, uint64_t *v)
{
	uint32_t lo, hi;
	int rc = rd(d, lo_off, &lo);

	if (rc == NPU_OK)
		rc = rd(d, lo_off + 4, &hi);
	if (rc == NPU_OK)
		*v = (uint64_t)hi << 32 | lo;
	return rc;
}

static int read_caps(struct npu_dev *d)
{
	struct npu_dev_caps *c = &d->caps;
	uint32_t c0, c1, c2, c3;
	int rc;

	if ((rc = rd(d, NPU_REG_ID, &c->id)))
		return rc;
	if (c->id != NPU_HW_ID_MAGIC) {
		d->refusal = NPU_DEV_REFUSE_ID;
		return NPU_ERR_NOT_SUPPORTED;
	}
	if ((rc = rd(d, NPU_REG_VERSION, &c->version)) || (rc = rd(d, NPU_REG_CAPS0, &c0)) ||
	    (rc = rd(d, NPU_REG_CAPS1, &c1)) || (rc = rd(d, NPU_REG_CAPS2, &c2)) ||
	    (rc = rd(d, NPU_REG_CAPS3, &c3)) || (rc = rd(d, NPU_REG_CAPS_ENGINES, &c->engines)))
		return rc;
	c->pw_rows = FIELD(c0, CAPS0, PW_ROWS);
	c->pw_cols = FIELD(c0, CAPS0, PW_COLS);
	c->dw_lanes = FIELD(c0, CAPS0, DW_LANES);
	c->ppu_lanes = FIELD(c0, CAPS0, PPU_LANES);
	c->act_kb = FIELD(c1, CAPS1, ACT_KB);
	c->wgt_kb = FIELD(c1, CAPS1, WGT_KB);
	c->acc_kb = FIELD(c2, CAPS2, ACC_KB);
	c->param_kb = FIELD(c2, CAPS2, PARAM_KB);
	c->dma_bytes = FIELD(c3, CAPS3, DMA_BYTES);
	c->num_windows = FIELD(c3, CAPS3, NUM_WINDOWS);
	/* Fields a VERSION.MINOR < 2 device leaves 0: what those built. */
	c->dma_outstanding = FIELD(c3, CAPS3, DMA_OUTST) ? 1u << FIELD(c3, CAPS3, DMA_OUTST) : 8u;
	c->epi_lanes = FIELD(c3, CAPS3, EPI_LANES) ? FIELD(c3, CAPS3, EPI_LANES) : c->ppu_lanes;
	return NPU_OK;
}

int npu_dev_open(struct npu_dev *d, struct npu_hw *hw, unsigned min_windows)
{
	const uint32_t need = NPU_REG_CAPS_ENGINES_CP_MASK | NPU_REG_CAPS_ENGINES_DMA_MASK;
	int rc;

	*d = (struct npu_dev){0};
	d->hw = hw;
	if ((rc = read_caps(d)))
		return rc;
	if (FIELD(d->caps.version, VERSION, MAJOR) != NPU_HW_VERSION_MAJOR ||
	    FIELD(d->caps.version, VERSION, DESC) < NPU_HW_DESC_VERSION) {
		d->refusal = NPU_DEV_REFUSE_VERSION;
		return NPU_ERR_NOT_SUPPORTED;
	}
	if ((d->caps.engines & need) != need || d->caps.num_windows < min_windows) {
		d->refusal = NPU_DEV_REFUSE_ENGINES;
		return NPU_ERR_NOT_SUPPORTED;
	}
	return NPU_OK;
}

void npu_dev_close(struct npu_dev *d)
{
	(void)wr(d, NPU_REG_CTRL, 0);
}

/* The post-open register state over d->ring (ring init and recovery). */
static int ring_program(struct npu_dev *d)
{
	const uint32_t irqs = NPU_REG_IRQ_STATUS_DONE_MASK | NPU_REG_IRQ_STATUS_ERROR_MASK;
	int rc;

	d->tail = 0;
	d->published = 0;
	d->head = 0;
	d->win_valid = 0;
	if ((rc = wr(d, NPU_REG_CTRL, 0)) ||
	    (rc = wr(d, NPU_REG_RING_BASE_LO, (uint32_t)d->ring.dev_addr)) ||
	    (rc = wr(d, NPU_REG_RING_BASE_HI, (uint32_t)(d->ring.dev_addr >> 32))) ||
	    (rc = wr(d, NPU_REG_RING_SIZE, d->ring_entries)) ||
	    (rc = wr(d, NPU_REG_RING_TAIL, 0)) || (rc = wr(d, NPU_REG_IRQ_ACK, irqs)) ||
	    (rc = wr(d, NPU_REG_IRQ_MASK, irqs)) ||
	    (rc = wr(d, NPU_REG_WDOG_BUDGET, d->wdog_cycles)) ||
	    (rc = wr(d, NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK)))
		return rc;
	return NPU_OK;
}

int npu_dev_ring_init(struct npu_dev *d, const struct npu_hw_buf *ring, uint32_t entries,
                      uint32_t wdog_cycles)
{
	/* RING_HEAD and RING_TAIL hold indices up to 65535. */
	if (entries < 2 || entries > 65536 || (entries & (entries - 1)) || !ring->host ||
	    ring->size / NPU_HW_DESC_BYTES < entries)
		return NPU_ERR_INVALID_ARG;
	d->ring = *ring;
	d->ring_entries = entries;
	d->wdog_cycles = wdog_cycles;
	return ring_program(d);
}

struct npu_dev_window npu_dev_window_of(const struct npu_hw_buf *b, uint32_t ctrl)
{
	struct npu_dev_window w = {0, 0, 0};

	if (b->host) {
		w.base = b->dev_addr;
		w.size = b->size;
		w.ctrl = ctrl;
	}
	return w;
}

static int same_windows(const struct npu_dev *d, const struct npu_dev_window *w, unsigned n)
{
	if (!d->win_valid || d->win_n != n)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (d->win[i].base != w[i].base || d->win[i].size != w[i].size ||
		    d->win[i].ctrl != w[i].ctrl)
			return 0;
	return 1;
}

int npu_dev_set_windows(struct npu_dev *d, const struct npu_dev_window *w, unsigned n)
{
	int rc;

	if (n > NPU_DEV_MAX_WINDOWS || n > d->caps.num_windows)
		return NPU_ERR_INVALID_ARG;
	for (unsigned i = 0; i < n; i++)
		if (w[i].ctrl && w[i].size > 0xffffffffu)
			return NPU_ERR_INVALID_ARG;
	if (same_windows(d, w, n))
		return NPU_OK;
	d->win_valid = 0;
	for (unsigned i = 0; i < d->caps.num_windows; i++) {
		struct npu_dev_window x = {0, 0, 0};

		if (i < n && w[i].ctrl)
			x = w[i];
		if ((rc = wr(d, NPU_REG_WIN_CTRL(i), 0)) ||
		    (rc = wr(d, NPU_REG_WIN_BASE_LO(i), (uint32_t)x.base)) ||
		    (rc = wr(d, NPU_REG_WIN_BASE_HI(i), (uint32_t)(x.base >> 32))) ||
		    (rc = wr(d, NPU_REG_WIN_SIZE(i), (uint32_t)x.size)) ||
		    (rc = wr(d, NPU_REG_WIN_CTRL(i), x.ctrl)))
			return rc;
		if (i < n)
			d->win[i] = x;
	}
	d->win_n = n;
	d->win_valid = 1;
	return NPU_OK;
}

uint32_t npu_dev_ring_space(const struct npu_dev *d)
{
	uint32_t in_flight = (d->tail + d->ring_entries - d->head) % d->ring_entries;

	return d->ring_entries - 1 - in_flight;
}

int npu_dev_ring_put(struct npu_dev *d, const uint32_t *desc, uint32_t or_flags)
{
	uint32_t *slot = (uint32_t *)d->ring.host + (size_t)d->tail * NPU_HW_DESC_WORDS;

	if (!npu_dev_ring_space(d))
		return NPU_ERR_BUSY;
	if (desc) {
		for (unsigned i = 0; i < NPU_HW_DESC_WORDS; i++)
			slot[i] = desc[i];
		slot[NPU_DESC_HDR_FLAGS_WORD] |=
		        (or_flags << NPU_DESC_HDR_FLAGS_SHIFT) & NPU_DESC_HDR_FLAGS_MASK;
	} else {
		const struct npu_desc_fence fence = {or_flags, 0};

		if (npu_desc_fence_pack(&fence, slot))
			return NPU_ERR_INVALID_ARG;
	}
	d->tail = (d->tail + 1) % d->ring_entries;
	return NPU_OK;
}

/* Make slots [from, to) of the ring visible to the device: one sync, or
 * two where the range wraps. */
static int ring_sync(struct npu_dev *d, uint32_t from, uint32_t to)
{
	uint32_t end = to > from ? to : d->ring_entries;
	int rc = npu_hw_buf_sync(d->hw, &d->ring, (size_t)from * NPU_HW_DESC_BYTES,
	                         (size_t)(end - from) * NPU_HW_DESC_BYTES, NPU_HW_SYNC_TO_DEVICE);

	if (rc || to > from || !to)
		return rc;
	return npu_hw_buf_sync(d->hw, &d->ring, 0, (size_t)to * NPU_HW_DESC_BYTES,
	                       NPU_HW_SYNC_TO_DEVICE);
}

int npu_dev_ring_submit(struct npu_dev *d)
{
	int rc;

	if (d->published != d->tail && (rc = ring_sync(d, d->published, d->tail)))
		return rc;
	d->published = d->tail;
	return npu_hw_submit(d->hw, d->tail);
}

int npu_dev_read_head(struct npu_dev *d, uint32_t *head)
{
	uint32_t h;
	int rc = rd(d, NPU_REG_RING_HEAD, &h);

	if (rc)
		return rc;
	h = FIELD(h, RING_HEAD, INDEX);
	if (h >= d->ring_entries) {
		d->err = (struct npu_dev_error){0};
		d->err.kind = NPU_DEV_ERR_HEAD;
		d->err.head = h;
		d->err.tail = d->tail;
		return NPU_ERR_DEVICE_FAULT;
	}
	d->head = h;
	*head = h;
	return NPU_OK;
}

/* Decode a latched device error (left latched: recovery clears it). */
static int fault(struct npu_dev *d, uint32_t irq_status)
{
	struct npu_dev_error *e = &d->err;

	*e = (struct npu_dev_error){0};
	e->kind = NPU_DEV_ERR_FAULT;
	e->irq_status = irq_status;
	/* Best effort: what cannot be read stays 0. */
	(void)rd(d, NPU_REG_ERR_CODE, &e->code);
	(void)rd64(d, NPU_REG_ERR_ADDR_LO, &e->addr);
	(void)rd(d, NPU_REG_ERR_INDEX, &e->index);
	e->code = FIELD(e->code, ERR_CODE, CODE);
	return e->code == NPU_HW_ERR_WATCHDOG ? NPU_ERR_TIMEOUT : NPU_ERR_DEVICE_FAULT;
}

/* The device's state when no interrupt came: the caller tells a lost
 * interrupt (a cause latched) from a busy or an idle device. */
static void stall(struct npu_dev *d)
{
	struct npu_dev_error *e = &d->err;

	*e = (struct npu_dev_error){0};
	e->kind = NPU_DEV_ERR_STALL;
	(void)rd(d, NPU_REG_STATUS, &e->status);
	(void)rd(d, NPU_REG_IRQ_STATUS, &e->irq_status);
	(void)rd(d, NPU_REG_RING_HEAD, &e->head);
	e->head = FIELD(e->head, RING_HEAD, INDEX);
	e->tail = d->tail;
}

int npu_dev_wait_irq(struct npu_dev *d, int timeout_ms, uint32_t *irq_status)
{
	uint32_t st;
	int rc;

	d->err.kind = NPU_DEV_ERR_NONE;
	rc = npu_hw_wait_irq(d->hw, timeout_ms);
	if (rc == NPU_ERR_TIMEOUT)
		stall(d);
	if (rc)
		return rc;
	if ((rc = rd(d, NPU_REG_IRQ_STATUS, &st)))
		return rc;
	if (st & NPU_REG_IRQ_STATUS_ERROR_MASK)
		return fault(d, st);
	if ((rc = wr(d, NPU_REG_IRQ_ACK, st)))
		return rc;
	*irq_status = st;
	return NPU_OK;
}

int npu_dev_drain(struct npu_dev *d, int timeout_ms)
{
	uint32_t head, st;
	int rc;

	d->err.kind = NPU_DEV_ERR_NONE;
	for (;;) {
		if ((rc = npu_dev_read_head(d, &head)))
			return rc;
		if (head == d->tail)
			return NPU_OK;
		if ((rc = npu_dev_wait_irq(d, timeout_ms, &st)))
			return rc;
	}
}

int npu_dev_read_perf(struct npu_dev *d, struct npu_dev_perf *p)
{
	int rc;

	if ((rc = rd64(d, NPU_REG_PERF_CYCLES_LO, &p->cycles)) ||
	    (rc = rd64(d, NPU_REG_PERF_RD_BYTES_LO, &p->rd_bytes)) ||
	    (rc = rd64(d, NPU_REG_PERF_WR_BYTES_LO, &p->wr_bytes)))
		return rc;
	return NPU_OK;
}

int npu_dev_stream(struct npu_dev *d, const uint32_t *desc, uint32_t n, int timeout_ms,
                   struct npu_dev_perf *perf)
{
	const uint32_t every = d->ring_entries / 4 ? d->ring_entries / 4 : 1;
	struct npu_dev_perf p0, p1;
	uint32_t sent = 0, head, st;
	int rc;

	d->err.kind = NPU_DEV_ERR_NONE;
	if (perf && (rc = npu_dev_read_perf(d, &p0)))
		return rc;
	for (;;) {
		uint32_t put = 0;

		/* Fill what is free, then publish: entries synced, tail,
		 * doorbell (npu_dev_ring_put, npu_dev_ring_submit). */
		while (sent <= n && npu_dev_ring_space(d)) {
			int last = sent == n;
			uint32_t fl = last || (n > d->ring_entries / 2 && sent % every == every - 1)
			                      ? NPU_HW_FLAG_IRQ
			                      : 0;

			rc = npu_dev_ring_put(
			        d, last ? NULL : desc + (size_t)sent * NPU_HW_DESC_WORDS, fl);
			if (rc)
				return rc;
			sent++;
			put++;
		}
		if (put && (rc = npu_dev_ring_submit(d)))
			return rc;
		if (sent > n)
			break;
		/* Ring full: wait for a flagged descriptor to retire. */
		if ((rc = npu_dev_wait_irq(d, timeout_ms, &st)) ||
		    (rc = npu_dev_read_head(d, &head)))
			return rc;
	}
	if ((rc = npu_dev_drain(d, timeout_ms)))
		return rc;
	if (perf) {
		if ((rc = npu_dev_read_perf(d, &p1)))
			return rc;
		perf->cycles = p1.cycles - p0.cycles;
		perf->rd_bytes = p1.rd_bytes - p0.rd_bytes;
		perf->wr_bytes = p1.wr_bytes - p0.wr_bytes;
	}
	return NPU_OK;
}

int npu_dev_recover(struct npu_dev *d)
{
	int rc = npu_hw_reset(d->hw);

	d->win_valid = 0;
	if (rc == NPU_OK)
		rc = ring_program(d);
	d->need_recover = rc != NPU_OK;
	return rc;
}

const char *npu_dev_err_name(uint32_t code)
{
	/* Indexed by the generated NPU_HW_ERR_* values (rtl-sim/regs/npu_regs.def). */
	static const char *const names[] = {
	        [NPU_HW_ERR_NONE] = "none",
	        [NPU_HW_ERR_DESC_VERSION] = "descriptor version",
	        [NPU_HW_ERR_DESC_OPCODE] = "descriptor opcode",
	        [NPU_HW_ERR_DESC_FLAGS] = "descriptor flags/reserved",
	        [NPU_HW_ERR_DESC_PARAM] = "descriptor parameter",
	        [NPU_HW_ERR_SRAM_RANGE] = "SRAM range",
	        [NPU_HW_ERR_DMA_WINDOW] = "DMA window",
	        [NPU_HW_ERR_DMA_BUS] = "DMA bus error",
	        [NPU_HW_ERR_WATCHDOG] = "watchdog",
	        [NPU_HW_ERR_RING_CONFIG] = "ring config",
	        [NPU_HW_ERR_TOKEN] = "token overflow",
	};

	return code < sizeof(names) / sizeof(names[0]) && names[code] ? names[code] : "unknown";
}

/* Whether word starts a 64-bit address field of descriptor w's layout. */
static int addr_field(const uint32_t *w, uint32_t word)
{
	uint32_t op = (w[NPU_DESC_HDR_OPCODE_WORD] & NPU_DESC_HDR_OPCODE_MASK) >>
	              NPU_DESC_HDR_OPCODE_SHIFT;

	switch (npu_desc_layout_of(op)) {
	case NPU_DESC_LAYOUT_DMA:
		return word == NPU_DESC_DMA_HOST_ADDR_WORD;
	default:
		return 0;
	}
}

int npu_dev_reloc_patch(uint32_t *stream, uint32_t num_desc, uint32_t desc, uint32_t word,
                        uint64_t addr)
{
	uint32_t *w;

	if (desc >= num_desc)
		return NPU_ERR_INVALID_ARG;
	w = stream + (size_t)desc * NPU_HW_DESC_WORDS;
	if (!addr_field(w, word))
		return NPU_ERR_INVALID_ARG;
	w[word] = (uint32_t)addr;
	w[word + 1] = (uint32_t)(addr >> 32);
	return NPU_OK;
}
