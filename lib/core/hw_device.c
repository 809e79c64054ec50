/*
 * The hardware device: any driver backend (driver/backend.c: sim, null)
 * behind the same core. Open checks the device's identity and reads its
 * CAPS; model load runs the scheduler for exactly those CAPS and places
 * the model's constants in one DMA buffer and one DMA arena per execution
 * context (descriptors relocated against each); every schedule segment is
 * one step of a job: NPU segments run on the device's NPU lane, on the ring
 * layer by layer, CPU segments on its CPU lane with the reference kernels,
 * so one frame's CPU fallback overlaps the next frame's NPU work.
 *
 * Only the NPU lane touches the device while jobs run; model load and free
 * (DMA buffers) take the same io_lock, so backend calls never race.
 *
 * Every device access goes through the npu_hw_* wrappers (driver/backend.h),
 * so fault injection reaches every path here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/runtime.h"
#include "driver/backend.h"
#include "driver/npu_regs.h"
#include "ref/ref.h"
#include "sched/sched.h"

extern const struct npui_device_ops npui_hw_device_ops;

#define RING_ENTRIES 1024u
#define DESC_WORDS   (NPU_HW_DESC_BYTES / 4)
/* Host memory model / DDR3 board: bytes per NPU cycle for the bound. */
#define DRAM_BYTES_PER_CYCLE 8.0
/* Device time limit for one layer's descriptors, host milliseconds. */
#define LAYER_TIMEOUT_MS 60000
/* Watchdog: cycles without a descriptor retiring before the device gives
 * up on its own (a hung job is an error IRQ, not a silent spin). */
#define WDOG_BUDGET_CYCLES 50000000u

/* Windows the driver programs for a job: ring, constants, arena. */
enum { WIN_RING = 0, WIN_CONST = 1, WIN_ARENA = 2, WIN_USED = 3 };

struct hw_dev {
	struct npu_hw *hw;
	struct npui_caps caps;
	struct npu_hw_buf ring;
	/* Serializes every backend call: the NPU lane holds it for a whole
	 * NPU segment, model load/free for their buffer work. Everything
	 * below is guarded by it. */
	pthread_mutex_t io_lock;
	uint32_t tail; /* next ring slot the host fills */
	/* The (base, size) the constant and arena windows are programmed
	 * with, valid when win_valid: a segment of the same context skips
	 * reprogramming. Reset and recovery invalidate it. */
	int win_valid;
	uint64_t win_base[WIN_USED];
	size_t win_size[WIN_USED];
	/* A recovery after an error failed: retry before the next segment. */
	int need_recover;
};

/* One execution context's device memory. */
struct hw_ctx {
	struct npu_hw_buf arena;
	/* Every NPU segment's descriptors, concatenated, relocated against
	 * this arena (and the shared constants). */
	uint32_t *desc;
};

struct hw_model {
	struct npui_sched *sched;
	struct npu_hw_buf consts; /* shared by the contexts: read-only */
	uint32_t *seg_first;      /* per segment: index of its first descriptor */
	uint32_t total_desc;
	struct hw_ctx ctx[NPUI_MODEL_CONTEXTS];
};

static int rd(struct hw_dev *d, uint32_t off, uint32_t *v)
{
	return npu_hw_reg_read(d->hw, off, v);
}

static int wr(struct hw_dev *d, uint32_t off, uint32_t v)
{
	return npu_hw_reg_write(d->hw, off, v);
}

static int rd64(struct hw_dev *d, uint32_t lo_off, uint64_t *v)
{
	uint32_t lo, hi;
	int rc = rd(d, lo_off, &lo);

	if (rc == NPU_OK)
		rc = rd(d, lo_off + 4, &hi);
	if (rc == NPU_OK)
		*v = (uint64_t)hi << 32 | lo;
	return rc;
}

/* Put the device in its post-open state: ring programmed, IRQs unmasked,
 * watchdog armed, fetching enabled. Also the recovery path after a fault. */
static int hw_init_ring(struct hw_dev *d)
{
	int rc;

	d->tail = 0;
	d->win_valid = 0;
	if ((rc = wr(d, NPU_REG_CTRL, 0)) ||
	    (rc = wr(d, NPU_REG_RING_BASE_LO, (uint32_t)d->ring.dev_addr)) ||
	    (rc = wr(d, NPU_REG_RING_BASE_HI, (uint32_t)(d->ring.dev_addr >> 32))) ||
	    (rc = wr(d, NPU_REG_RING_SIZE, RING_ENTRIES)) || (rc = wr(d, NPU_REG_RING_TAIL, 0)) ||
	    (rc = wr(d, NPU_REG_IRQ_ACK,
	             NPU_REG_IRQ_STATUS_DONE_MASK | NPU_REG_IRQ_STATUS_ERROR_MASK)) ||
	    (rc = wr(d, NPU_REG_IRQ_MASK,
	             NPU_REG_IRQ_STATUS_DONE_MASK | NPU_REG_IRQ_STATUS_ERROR_MASK)) ||
	    (rc = wr(d, NPU_REG_WDOG_BUDGET, WDOG_BUDGET_CYCLES)) ||
	    (rc = wr(d, NPU_REG_CTRL, NPU_REG_CTRL_ENABLE_MASK)))
		return rc;
	return NPU_OK;
}

static int hw_read_caps(struct hw_dev *d)
{
	uint32_t id, ver, c0, c1, c2, c3, eng;
	int rc;

	if ((rc = rd(d, NPU_REG_ID, &id)))
		return rc;
	if (id != NPU_HW_ID_MAGIC) {
		npui_set_detail("device ID 0x%08x is not an lwnpu (0x%08x)", id, NPU_HW_ID_MAGIC);
		return NPU_ERR_NOT_SUPPORTED;
	}
	if ((rc = rd(d, NPU_REG_VERSION, &ver)) || (rc = rd(d, NPU_REG_CAPS0, &c0)) ||
	    (rc = rd(d, NPU_REG_CAPS1, &c1)) || (rc = rd(d, NPU_REG_CAPS2, &c2)) ||
	    (rc = rd(d, NPU_REG_CAPS3, &c3)) || (rc = rd(d, NPU_REG_CAPS_ENGINES, &eng)))
		return rc;
	if ((ver & NPU_REG_VERSION_MAJOR_MASK) >> NPU_REG_VERSION_MAJOR_SHIFT !=
	            NPU_HW_VERSION_MAJOR ||
	    (ver & NPU_REG_VERSION_DESC_MASK) >> NPU_REG_VERSION_DESC_SHIFT < NPU_HW_DESC_VERSION) {
		npui_set_detail("device version 0x%08x: need major %u, descriptors >= %u", ver,
		                NPU_HW_VERSION_MAJOR, NPU_HW_DESC_VERSION);
		return NPU_ERR_NOT_SUPPORTED;
	}
	struct npui_caps *c = &d->caps;
	memset(c, 0, sizeof(*c));
	c->pw_rows = (c0 & NPU_REG_CAPS0_PW_ROWS_MASK) >> NPU_REG_CAPS0_PW_ROWS_SHIFT;
	c->pw_cols = (c0 & NPU_REG_CAPS0_PW_COLS_MASK) >> NPU_REG_CAPS0_PW_COLS_SHIFT;
	c->dw_lanes = (c0 & NPU_REG_CAPS0_DW_LANES_MASK) >> NPU_REG_CAPS0_DW_LANES_SHIFT;
	c->ppu_lanes = (c0 & NPU_REG_CAPS0_PPU_LANES_MASK) >> NPU_REG_CAPS0_PPU_LANES_SHIFT;
	c->act_bytes = ((c1 & NPU_REG_CAPS1_ACT_KB_MASK) >> NPU_REG_CAPS1_ACT_KB_SHIFT) * 1024u;
	c->wgt_bytes = ((c1 & NPU_REG_CAPS1_WGT_KB_MASK) >> NPU_REG_CAPS1_WGT_KB_SHIFT) * 1024u;
	c->acc_bytes = ((c2 & NPU_REG_CAPS2_ACC_KB_MASK) >> NPU_REG_CAPS2_ACC_KB_SHIFT) * 1024u;
	c->param_bytes =
	        ((c2 & NPU_REG_CAPS2_PARAM_KB_MASK) >> NPU_REG_CAPS2_PARAM_KB_SHIFT) * 1024u;
	c->dma_bytes = (c3 & NPU_REG_CAPS3_DMA_BYTES_MASK) >> NPU_REG_CAPS3_DMA_BYTES_SHIFT;
	c->num_windows = (c3 & NPU_REG_CAPS3_NUM_WINDOWS_MASK) >> NPU_REG_CAPS3_NUM_WINDOWS_SHIFT;
	c->engines = eng;
	c->clock_mhz = NPU_HW_NOMINAL_CLOCK_MHZ; /* the device reports none */
	c->dram_bytes_per_cycle = DRAM_BYTES_PER_CYCLE;
	if ((eng & (NPU_REG_CAPS_ENGINES_CP_MASK | NPU_REG_CAPS_ENGINES_DMA_MASK)) !=
	            (NPU_REG_CAPS_ENGINES_CP_MASK | NPU_REG_CAPS_ENGINES_DMA_MASK) ||
	    c->num_windows < WIN_USED) {
		npui_set_detail("device has no command processor/DMA or fewer than %d DMA windows "
		                "(CAPS_ENGINES 0x%x, %u windows)",
		                WIN_USED, eng, c->num_windows);
		return NPU_ERR_NOT_SUPPORTED;
	}
	return NPU_OK;
}

static int hw_open(npu_device *dev, const char *args)
{
	struct hw_dev *d;
	int rc;

	d = calloc(1, sizeof(*d));
	if (!d)
		return NPU_ERR_NO_MEM;
	if (pthread_mutex_init(&d->io_lock, NULL)) {
		free(d);
		return NPU_ERR_NO_MEM;
	}
	rc = npu_hw_open(dev->backend, args, &d->hw);
	if (rc != NPU_OK)
		goto err_free;
	rc = hw_read_caps(d);
	if (rc != NPU_OK)
		goto err_close;
	rc = npu_hw_buf_alloc(d->hw, RING_ENTRIES * NPU_HW_DESC_BYTES, NPU_HW_BUF_DEV_READ,
	                      &d->ring);
	if (rc != NPU_OK)
		goto err_close;
	rc = hw_init_ring(d);
	if (rc != NPU_OK)
		goto err_free_ring;
	dev->priv = d;
	return NPU_OK;

err_free_ring:
	npu_hw_buf_free(d->hw, &d->ring);
err_close:
	npu_hw_close(d->hw);
err_free:
	pthread_mutex_destroy(&d->io_lock);
	free(d);
	return rc;
}

static void hw_close(npu_device *dev)
{
	struct hw_dev *d = dev->priv;

	wr(d, NPU_REG_CTRL, 0);
	npu_hw_buf_free(d->hw, &d->ring);
	npu_hw_close(d->hw);
	pthread_mutex_destroy(&d->io_lock);
	free(d);
}

/* io_lock held. */
static void hw_model_free(struct hw_dev *d, struct hw_model *hm)
{
	if (!hm)
		return;
	for (unsigned i = 0; i < NPUI_MODEL_CONTEXTS; i++) {
		npu_hw_buf_free(d->hw, &hm->ctx[i].arena);
		free(hm->ctx[i].desc);
	}
	npu_hw_buf_free(d->hw, &hm->consts);
	free(hm->seg_first);
	npui_sched_free(hm->sched);
	free(hm);
}

/* Copy every NPU segment's descriptors into hc->desc, patching addresses
 * against hc's arena and the shared constants. */
static int hw_relocate(struct hw_model *hm, struct hw_ctx *hc)
{
	const struct npui_sched *s = hm->sched;

	hc->desc = calloc((size_t)hm->total_desc * DESC_WORDS + 1, sizeof(uint32_t));
	if (!hc->desc)
		return NPU_ERR_NO_MEM;
	for (uint32_t si = 0; si < s->num_segments; si++) {
		const struct npui_segment *seg = &s->segments[si];
		uint32_t *base = hc->desc + (size_t)hm->seg_first[si] * DESC_WORDS;

		if (seg->kind != NPUI_SEG_NPU)
			continue;
		memcpy(base, seg->desc, (size_t)seg->num_desc * NPU_HW_DESC_BYTES);
		for (uint32_t r = 0; r < seg->num_relocs; r++) {
			const struct npui_reloc *rl = &seg->relocs[r];
			uint64_t a;

			if (rl->desc >= seg->num_desc || rl->word + 1u >= DESC_WORDS) {
				npui_set_detail("scheduler: relocation %u out of range", r);
				return NPU_ERR_INTERNAL;
			}
			a = (rl->kind == NPUI_RELOC_ARENA ? hc->arena.dev_addr
			                                  : hm->consts.dev_addr) +
			    rl->offset;
			base[(size_t)rl->desc * DESC_WORDS + rl->word] = (uint32_t)a;
			base[(size_t)rl->desc * DESC_WORDS + rl->word + 1] = (uint32_t)(a >> 32);
		}
	}
	return NPU_OK;
}

/* io_lock held: the DMA buffers are made here. */
static int hw_model_prepare_locked(npu_device *dev, npu_model *m, struct hw_model *hm,
                                   const size_t *arena_off, size_t arena_size)
{
	struct hw_dev *d = dev->priv;
	const struct npui_graph *g = m->g;
	int rc;

	if (hm->sched->const_size) {
		rc = npu_hw_buf_alloc(d->hw, hm->sched->const_size, NPU_HW_BUF_DEV_READ,
		                      &hm->consts);
		if (rc != NPU_OK)
			return rc;
		memcpy(hm->consts.host, hm->sched->const_blob, hm->sched->const_size);
		rc = npu_hw_buf_sync(d->hw, &hm->consts, 0, hm->sched->const_size,
		                     NPU_HW_SYNC_TO_DEVICE);
		if (rc != NPU_OK)
			return rc;
	}
	/* Each context's arena lives in device-visible memory, at the
	 * scheduler's offsets; its descriptors point into it. */
	for (unsigned i = 0; i < m->num_ctx; i++) {
		struct hw_ctx *hc = &hm->ctx[i];

		rc = npu_hw_buf_alloc(d->hw, arena_size ? arena_size : 64,
		                      NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE, &hc->arena);
		if (rc != NPU_OK)
			return rc;
		rc = hw_relocate(hm, hc);
		if (rc != NPU_OK)
			return rc;
		for (uint32_t t = 0; t < g->num_tensors; t++)
			if (m->arena_off[t] != NPUI_NO_BYTES)
				m->ctx[i].bufs[t] = (int8_t *)hc->arena.host + arena_off[t];
		m->ctx[i].dev_priv = hc;
	}
	return NPU_OK;
}

static int hw_model_prepare(npu_device *dev, npu_model *m)
{
	struct hw_dev *d = dev->priv;
	const struct npui_graph *g = m->g;
	struct hw_model *hm;
	size_t *arena_off = NULL, arena_size = 0;
	char why[160] = "";
	int rc = NPU_ERR_NO_MEM;

	hm = calloc(1, sizeof(*hm));
	arena_off = calloc(g->num_tensors, sizeof(*arena_off));
	if (!hm || !arena_off)
		goto err;
	/* The scheduler's arena plan keeps every fold it wants safe (a
	 * tensor hosting folded tensors lives as long as any of them). */
	rc = npui_sched_arena_plan(g, &d->caps, arena_off, &arena_size);
	if (rc != NPU_OK)
		goto err;

	rc = npui_sched_build(g, m->plan, &d->caps, arena_off, &hm->sched, why, sizeof(why));
	if (rc != NPU_OK) {
		npui_set_detail("scheduler: %s", why);
		goto err;
	}

	/* One step per segment, on the lane of its kind. */
	rc = NPU_ERR_NO_MEM;
	hm->seg_first = calloc(hm->sched->num_segments + 1, sizeof(*hm->seg_first));
	m->step_lane = malloc(hm->sched->num_segments + 1);
	if (!hm->seg_first || !m->step_lane)
		goto err;
	for (uint32_t si = 0; si < hm->sched->num_segments; si++) {
		const struct npui_segment *seg = &hm->sched->segments[si];

		hm->seg_first[si] = hm->total_desc;
		if (seg->kind == NPUI_SEG_NPU)
			hm->total_desc += seg->num_desc;
		m->step_lane[si] = seg->kind == NPUI_SEG_NPU ? NPUI_LANE_NPU : NPUI_LANE_CPU;
	}
	m->num_steps = hm->sched->num_segments;

	pthread_mutex_lock(&d->io_lock);
	rc = hw_model_prepare_locked(dev, m, hm, arena_off, arena_size);
	if (rc != NPU_OK) {
		hw_model_free(d, hm);
		pthread_mutex_unlock(&d->io_lock);
		free(arena_off);
		return rc;
	}
	pthread_mutex_unlock(&d->io_lock);

	if (getenv("NPU_DEBUG")) {
		fprintf(stderr, "libnpu: placement of '%s' on %s (%u segments):\n", g->name,
		        dev->uri, hm->sched->num_segments);
		for (uint32_t i = 0; i < g->num_layers; i++) {
			const struct npui_placement *pl = &hm->sched->placement[i];
			fprintf(stderr, "  %4u %-28.28s %-8s -> %-4s%s  %s\n", i, g->layers[i].name,
			        npui_op_name(&g->layers[i]), pl->engine,
			        pl->folded ? " (folded)" : "", pl->why);
		}
	}

	free(arena_off);
	m->dev_priv = hm;
	return NPU_OK;
err:
	free(arena_off);
	if (hm) {
		pthread_mutex_lock(&d->io_lock);
		hw_model_free(d, hm);
		pthread_mutex_unlock(&d->io_lock);
	}
	return rc;
}

static void hw_model_release(npu_device *dev, npu_model *m)
{
	struct hw_dev *d = dev->priv;

	pthread_mutex_lock(&d->io_lock);
	hw_model_free(d, m->dev_priv);
	pthread_mutex_unlock(&d->io_lock);
	m->dev_priv = NULL;
}

/* Program the DMA windows for exactly this model's constants and this
 * context's arena (and the ring). Skipped when they already are. */
static int hw_set_windows(struct hw_dev *d, const struct hw_model *hm, const struct hw_ctx *hc)
{
	const struct npu_hw_buf *b[WIN_USED] = {&d->ring, &hm->consts, &hc->arena};
	const uint32_t perm[WIN_USED] = {
	        NPU_REG_WIN_CTRL_READ_MASK,
	        NPU_REG_WIN_CTRL_READ_MASK,
	        NPU_REG_WIN_CTRL_READ_MASK | NPU_REG_WIN_CTRL_WRITE_MASK,
	};
	int same = d->win_valid, rc;

	for (unsigned i = 0; i < WIN_USED; i++) {
		uint64_t base = b[i]->host ? b[i]->dev_addr : 0;
		size_t size = b[i]->host ? b[i]->size : 0;

		same = same && d->win_base[i] == base && d->win_size[i] == size;
	}
	if (same)
		return NPU_OK;
	d->win_valid = 0;
	for (unsigned i = 0; i < d->caps.num_windows; i++) {
		int used = i < WIN_USED && b[i]->host;

		if ((rc = wr(d, NPU_REG_WIN_CTRL(i), 0)) ||
		    (rc = wr(d, NPU_REG_WIN_BASE_LO(i), used ? (uint32_t)b[i]->dev_addr : 0)) ||
		    (rc = wr(d, NPU_REG_WIN_BASE_HI(i),
		             used ? (uint32_t)(b[i]->dev_addr >> 32) : 0)) ||
		    (rc = wr(d, NPU_REG_WIN_SIZE(i), used ? (uint32_t)b[i]->size : 0)) ||
		    (rc = wr(d, NPU_REG_WIN_CTRL(i), used ? perm[i] : 0)))
			return rc;
		if (i < WIN_USED) {
			d->win_base[i] = used ? b[i]->dev_addr : 0;
			d->win_size[i] = used ? b[i]->size : 0;
		}
	}
	d->win_valid = 1;
	return NPU_OK;
}

/* After an error, a fault or a hang: soft reset, then the post-open state
 * again (windows are reprogrammed by the next segment). When that fails
 * too, the next NPU segment tries again before it runs. */
static int hw_recover(struct hw_dev *d)
{
	int rc = npu_hw_reset(d->hw);

	d->win_valid = 0;
	if (rc == NPU_OK)
		rc = hw_init_ring(d);
	d->need_recover = rc != NPU_OK;
	return rc;
}

static const char *hw_err_name(uint32_t code)
{
	static const char *const names[] = {
	        "none",
	        "descriptor version",
	        "descriptor opcode",
	        "descriptor flags/reserved",
	        "descriptor parameter",
	        "SRAM range",
	        "DMA window",
	        "DMA bus error",
	        "watchdog",
	        "ring config",
	        "token overflow",
	};
	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}

/* Copy one descriptor into the ring slot at the tail and advance it. */
static int ring_put(struct hw_dev *d, const uint32_t *src, uint32_t or_flags)
{
	uint32_t *slot = (uint32_t *)d->ring.host + (size_t)d->tail * DESC_WORDS;

	if (src) {
		memcpy(slot, src, NPU_HW_DESC_BYTES);
	} else {
		memset(slot, 0, NPU_HW_DESC_BYTES);
		slot[0] = NPU_HW_OP_FENCE | NPU_HW_DESC_VERSION << 8;
	}
	slot[0] |= or_flags << 16;
	d->tail = (d->tail + 1) % RING_ENTRIES;
	return npu_hw_buf_sync(d->hw, &d->ring,
	                       (size_t)((d->tail + RING_ENTRIES - 1) % RING_ENTRIES) *
	                               NPU_HW_DESC_BYTES,
	                       NPU_HW_DESC_BYTES, NPU_HW_SYNC_TO_DEVICE);
}

/* Decode a latched device error and name it (the caller recovers). */
static int hw_fault(struct hw_dev *d)
{
	uint32_t code = 0, idx = 0;
	uint64_t addr = 0;

	rd(d, NPU_REG_ERR_CODE, &code);
	rd64(d, NPU_REG_ERR_ADDR_LO, &addr);
	rd(d, NPU_REG_ERR_INDEX, &idx);
	code &= NPU_REG_ERR_CODE_CODE_MASK;
	npui_set_detail("device error %u (%s) at address 0x%llx, ring index %u", code,
	                hw_err_name(code), (unsigned long long)addr, idx);
	return code == NPU_HW_ERR_WATCHDOG ? NPU_ERR_TIMEOUT : NPU_ERR_DEVICE_FAULT;
}

/* Why a wait for the interrupt timed out: a cause latched without an
 * interrupt reaching the host (lost), a device still busy (hung with the
 * watchdog off, or slow), or an idle device. */
static void hw_timeout_detail(struct hw_dev *d)
{
	uint32_t st = 0, irq = 0, head = 0;

	rd(d, NPU_REG_STATUS, &st);
	rd(d, NPU_REG_IRQ_STATUS, &irq);
	rd(d, NPU_REG_RING_HEAD, &head);
	npui_set_detail("no interrupt within %d ms or the backend's limit: %s (STATUS 0x%x, "
	                "IRQ_STATUS 0x%x, ring head %u, tail %u)",
	                LAYER_TIMEOUT_MS,
	                irq                             ? "interrupt lost, its cause is latched"
	                : st & NPU_REG_STATUS_BUSY_MASK ? "device still busy"
	                                                : "device idle",
	                st, irq, head & NPU_REG_RING_HEAD_INDEX_MASK, d->tail);
}

/*
 * Run n descriptors plus a closing FENCE|IRQ and wait for all of them.
 * A layer may need more descriptors than the ring holds: they are streamed,
 * refilling the slots the device has retired (RING_HEAD). Every
 * STREAM_IRQ_EVERY-th descriptor carries FLAG_IRQ so that a full ring
 * always has an interrupt in flight to wake the refill. Returns NPU_OK,
 * NPU_ERR_DEVICE_FAULT (detail names the error code, address and ring
 * index), NPU_ERR_TIMEOUT (the watchdog's device error, or no interrupt in
 * time: detail says whether the device was busy or its interrupt lost),
 * or a backend error; on any error the device may
 * still hold descriptors: the caller recovers it before the ring is reused.
 */
#define STREAM_IRQ_EVERY 256u
static int hw_run_desc(struct hw_dev *d, const uint32_t *desc, uint32_t n, uint64_t *cycles,
                       uint64_t *dram_bytes)
{
	uint64_t c0, c1, r0, r1, w0, w1;
	uint32_t sent = 0, head = d->tail;
	int rc;

	if ((rc = rd64(d, NPU_REG_PERF_CYCLES_LO, &c0)) ||
	    (rc = rd64(d, NPU_REG_PERF_RD_BYTES_LO, &r0)) ||
	    (rc = rd64(d, NPU_REG_PERF_WR_BYTES_LO, &w0)))
		return rc;
	for (;;) {
		uint32_t in_flight = (d->tail + RING_ENTRIES - head) % RING_ENTRIES;
		uint32_t st, put = 0;

		/* Fill what is free (one slot stays empty: head == tail is
		 * "empty"), then publish: entries synced, tail, doorbell. */
		while (sent <= n && in_flight + put < RING_ENTRIES - 1) {
			int last = sent == n;
			uint32_t fl = last || (n > RING_ENTRIES / 2 &&
			                       sent % STREAM_IRQ_EVERY == STREAM_IRQ_EVERY - 1)
			                      ? NPU_HW_FLAG_IRQ
			                      : 0;
			rc = ring_put(d, last ? NULL : desc + (size_t)sent * DESC_WORDS, fl);
			if (rc)
				return rc;
			sent++;
			put++;
		}
		if (put && (rc = npu_hw_submit(d->hw, d->tail)))
			return rc;

		rc = npu_hw_wait_irq(d->hw, LAYER_TIMEOUT_MS);
		if (rc == NPU_ERR_TIMEOUT) {
			hw_timeout_detail(d);
			return rc;
		}
		if (rc)
			return rc;
		if ((rc = rd(d, NPU_REG_IRQ_STATUS, &st)))
			return rc;
		if (st & NPU_REG_IRQ_STATUS_ERROR_MASK)
			return hw_fault(d);
		if ((rc = wr(d, NPU_REG_IRQ_ACK, st)) || (rc = rd(d, NPU_REG_RING_HEAD, &head)))
			return rc;
		head &= NPU_REG_RING_HEAD_INDEX_MASK;
		if (head >= RING_ENTRIES) {
			npui_set_detail("device reports ring head %u of a %u-entry ring", head,
			                RING_ENTRIES);
			return NPU_ERR_DEVICE_FAULT;
		}
		if (sent > n && head == d->tail)
			break;
	}
	if ((rc = rd64(d, NPU_REG_PERF_CYCLES_LO, &c1)) ||
	    (rc = rd64(d, NPU_REG_PERF_RD_BYTES_LO, &r1)) ||
	    (rc = rd64(d, NPU_REG_PERF_WR_BYTES_LO, &w1)))
		return rc;
	*cycles = c1 - c0;
	/* Measured traffic, descriptor fetches included. */
	*dram_bytes = (r1 - r0) + (w1 - w0);
	return NPU_OK;
}

static void prof_fill(npu_model *m, struct npui_ctx *c, uint32_t i, const struct npui_placement *pl)
{
	const struct npui_layer *l = &m->g->layers[i];
	struct npu_layer_profile *p = &c->run_prof[i];

	memset(p, 0, sizeof(*p));
	memcpy(p->name, l->name, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = 0;
	strncpy(p->op, npui_op_name(l), sizeof(p->op) - 1);
	memcpy(p->engine, pl->engine, sizeof(p->engine));
	p->engine[sizeof(p->engine) - 1] = 0;
	p->macs = npui_layer_macs(m->g, l);
	/* NPU layers: measured by the DMA counters during the run. */
	p->dram_bytes = 0;
	p->bound_cycles = pl->bound_cycles;
	p->folded = pl->folded;
}

/* Put the layer a failed batch ran in front of its detail (a backend error
 * that set none is named by its status). */
static void hw_layer_detail(const npu_model *m, uint32_t layer, int rc)
{
	char why[200];

	snprintf(why, sizeof(why), "%s", *npu_last_error() ? npu_last_error() : npu_strerror(rc));
	if (layer < m->g->num_layers)
		npui_set_detail("layer %u (%s): %s", layer, m->g->layers[layer].name, why);
	else
		npui_set_detail("descriptors after the last layer: %s", why);
}

/* One NPU segment in context c; io_lock held. */
static int hw_run_npu(struct hw_dev *d, npu_model *m, struct npui_ctx *c, uint32_t si)
{
	struct hw_model *hm = m->dev_priv;
	struct hw_ctx *hc = c->dev_priv;
	const struct npui_segment *seg = &hm->sched->segments[si];
	const uint32_t *desc = hc->desc + (size_t)hm->seg_first[si] * DESC_WORDS;
	uint32_t k = 0;
	int rc;

	if (d->need_recover && (rc = hw_recover(d)) != NPU_OK) {
		npui_set_detail("device could not be reset after an earlier error");
		return rc;
	}
	if ((rc = hw_set_windows(d, hm, hc)))
		goto err_recover;
	/* The CPU wrote the arena (input, CPU layers). */
	if ((rc = npu_hw_buf_sync(d->hw, &hc->arena, 0, hc->arena.size, NPU_HW_SYNC_TO_DEVICE)))
		goto err_recover;
	/* One ring batch per layer, so cycles are attributed exactly. */
	while (k < seg->num_desc) {
		uint32_t layer = seg->layer_of_desc[k], n = 0;
		uint64_t cyc = 0, bytes = 0;

		while (k + n < seg->num_desc && seg->layer_of_desc[k + n] == layer)
			n++;
		npui_set_detail("%s", "");
		rc = hw_run_desc(d, desc + (size_t)k * DESC_WORDS, n, &cyc, &bytes);
		if (rc != NPU_OK) {
			hw_layer_detail(m, layer, rc);
			goto err_recover;
		}
		if (layer < m->g->num_layers) {
			c->run_prof[layer].cycles += cyc;
			c->run_prof[layer].dram_bytes += bytes;
		}
		k += n;
	}
	if ((rc = npu_hw_buf_sync(d->hw, &hc->arena, 0, hc->arena.size, NPU_HW_SYNC_FROM_DEVICE)))
		goto err_recover;
	return NPU_OK;

err_recover:
	/* Descriptors may still be on the ring: the next segment (another
	 * context's, maybe) needs the post-open state. The job keeps its
	 * error whatever recovery says. */
	hw_recover(d);
	return rc;
}

/* Step si = schedule segment si: CPU segments on the CPU lane, NPU
 * segments on the NPU lane (the device runs one at a time). */
static int hw_run_step(npu_device *dev, npu_model *m, struct npui_ctx *c, uint32_t si)
{
	struct hw_dev *d = dev->priv;
	struct hw_model *hm = m->dev_priv;
	const struct npui_sched *s = hm->sched;
	const struct npui_segment *seg = &s->segments[si];
	int rc;

	for (uint32_t i = seg->first_layer; i < seg->first_layer + seg->num_layers; i++)
		prof_fill(m, c, i, &s->placement[i]);
	if (seg->kind == NPUI_SEG_CPU) {
		for (uint32_t i = seg->first_layer; i < seg->first_layer + seg->num_layers; i++) {
			uint64_t t0 = npui_now_ns();
			npui_ref_run_layer(m->plan, m->g, i, c->bufs);
			c->run_prof[i].cpu_ns = npui_now_ns() - t0;
		}
		return NPU_OK;
	}
	pthread_mutex_lock(&d->io_lock);
	rc = hw_run_npu(d, m, c, si);
	pthread_mutex_unlock(&d->io_lock);
	return rc;
}

static void hw_model_cost(const npu_device *dev, const npu_model *m, struct npu_model_cost *cost)
{
	const struct hw_dev *d = dev->priv;
	const struct hw_model *hm = m->dev_priv;

	npui_sched_net_bound(m->g, &d->caps, hm->sched, &cost->bound_cycles, &cost->min_dram_bytes);
	cost->peak_macs_per_cycle = d->caps.pw_rows * d->caps.pw_cols;
	cost->dw_macs_per_cycle = d->caps.dw_lanes;
	cost->dram_bytes_per_cycle = d->caps.dram_bytes_per_cycle;
	cost->clock_mhz = d->caps.clock_mhz;
}

struct npu_hw *npui_device_hw(npu_device *dev)
{
	if (!dev || dev->ops != &npui_hw_device_ops)
		return NULL;
	return ((struct hw_dev *)dev->priv)->hw;
}

const struct npui_device_ops npui_hw_device_ops = {
        .name = "hw",
        .summary = "an lwnpu device through a driver backend",
        .open = hw_open,
        .close = hw_close,
        .model_prepare = hw_model_prepare,
        .model_release = hw_model_release,
        .run_step = hw_run_step,
        .model_cost = hw_model_cost,
};
