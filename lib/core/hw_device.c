/*
 * The hardware device: "a model as steps on a device", for any driver
 * backend (driver/backend.c: sim, null). Everything that talks to the
 * device itself -- identity and CAPS, the ring, the DMA windows, faults,
 * recovery, the patching of device addresses -- is the driver core's
 * (driver/npu_dev.h); this file decides what to ask of it. Model load
 * runs the scheduler for the device's CAPS and places the model's
 * constants in one DMA buffer and one DMA arena per execution context
 * (descriptors relocated against each); every schedule segment is one
 * step of a job: NPU segments run on the device's NPU lane, on the ring
 * layer by layer, CPU segments on its CPU lane with the reference kernels,
 * so one frame's CPU fallback overlaps the next frame's NPU work.
 *
 * Only the NPU lane touches the device while jobs run; model load and free
 * (DMA buffers) take the same io_lock, so backend calls never race.
 *
 * Every device access goes through the npu_hw_* wrappers (driver/backend.h),
 * so fault injection reaches every path here and in the core.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/runtime.h"
#include "driver/backend.h"
#include "driver/npu_dev.h"
#include "driver/npu_regs.h"
#include "ref/ref.h"
#include "sched/sched.h"

extern const struct npui_device_ops npui_hw_device_ops;

#define RING_ENTRIES 1024u
#define DESC_WORDS   NPU_HW_DESC_WORDS
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
	 * NPU segment, model load/free for their buffer work. core is
	 * guarded by it. */
	pthread_mutex_t io_lock;
	struct npu_dev core; /* ring, windows, faults, recovery */
};

/* Bytes of the arena one NPU segment exchanges with the host: [off, off+len). */
struct hw_range {
	size_t off, len;
};

/* What crosses the host/device boundary around one NPU segment: the bytes
 * the host wrote since the previous NPU segment (the job's input, CPU
 * layers' outputs), and the bytes CPU layers read before the next one
 * (and the job's output after the last). Offsets are the same in every
 * context's arena. */
struct hw_seg_sync {
	struct hw_range *to_dev, *from_dev;
	uint32_t n_to_dev, n_from_dev;
};

/* One execution context's device memory. */
struct hw_ctx {
	struct npu_hw_buf arena;
	/* Every NPU segment's descriptors, concatenated, relocated against
	 * this arena (and the shared constants). */
	uint32_t *desc;
};

/* An address field of a context's descriptors that names the input or
 * output tensor: patched to the buffer's address on a run that reaches
 * it in place, back to the arena's otherwise. */
struct hw_breloc {
	uint32_t desc; /* index in hw_ctx.desc (all segments) */
	uint8_t word;
	uint8_t side;    /* NPUI_IN_PLACE_INPUT or _OUTPUT */
	uint64_t offset; /* from the tensor's first byte */
};

/* What the descriptors of one layer address besides the ring and the
 * constants (decides the windows of a run in place). */
enum { USE_ARENA = 1, USE_IN = 2, USE_OUT = 4 };

struct hw_model {
	struct npui_sched *sched;
	struct npu_hw_buf consts; /* shared by the contexts: read-only */
	uint32_t *seg_first;      /* per segment: index of its first descriptor */
	struct hw_seg_sync *sync; /* per segment (CPU segments: none) */
	uint32_t total_desc;
	struct hw_ctx ctx[NPUI_MODEL_CONTEXTS];
	/* Buffer runs (hw_plan_buffers): the input's and output's address
	 * fields, their arena offsets, each layer's USE_* bits (index
	 * num_layers: descriptors after the last layer), and which
	 * NPUI_IN_PLACE_* combinations (index: the bits) can run in place. */
	struct hw_breloc *brel;
	uint32_t num_brel;
	size_t in_arena_off, out_arena_off;
	uint8_t *layer_use;
	uint8_t in_place_ok[4];
};

/* The driver core's CAPS in the scheduler's terms; why a device was
 * refused in npu_last_error(). */
static int hw_read_caps(struct hw_dev *d)
{
	const struct npu_dev_caps *dc = &d->core.caps;
	struct npui_caps *c = &d->caps;
	int rc = npu_dev_open(&d->core, d->hw, WIN_USED);

	if (rc == NPU_ERR_NOT_SUPPORTED && d->core.refusal == NPU_DEV_REFUSE_ID)
		npui_set_detail("device ID 0x%08x is not an lwnpu (0x%08x)", dc->id,
		                NPU_HW_ID_MAGIC);
	else if (rc == NPU_ERR_NOT_SUPPORTED && d->core.refusal == NPU_DEV_REFUSE_VERSION)
		npui_set_detail("device version 0x%08x: need major %u, descriptors >= %u",
		                dc->version, NPU_HW_VERSION_MAJOR, NPU_HW_DESC_VERSION);
	else if (rc == NPU_ERR_NOT_SUPPORTED)
		npui_set_detail("device has no command processor/DMA or fewer than %d DMA windows "
		                "(CAPS_ENGINES 0x%x, %u windows)",
		                WIN_USED, dc->engines, dc->num_windows);
	if (rc != NPU_OK)
		return rc;
	memset(c, 0, sizeof(*c));
	c->pw_rows = dc->pw_rows;
	c->pw_cols = dc->pw_cols;
	c->dw_lanes = dc->dw_lanes;
	c->ppu_lanes = dc->ppu_lanes;
	c->epi_lanes = dc->epi_lanes;
	c->act_bytes = dc->act_kb * 1024u;
	c->wgt_bytes = dc->wgt_kb * 1024u;
	c->acc_bytes = dc->acc_kb * 1024u;
	c->param_bytes = dc->param_kb * 1024u;
	c->dma_bytes = dc->dma_bytes;
	c->num_windows = dc->num_windows;
	c->dma_outstanding = dc->dma_outstanding;
	c->engines = dc->engines;
	c->clock_mhz = NPU_HW_NOMINAL_CLOCK_MHZ; /* the device reports none */
	c->dram_bytes_per_cycle = DRAM_BYTES_PER_CYCLE;
	return NPU_OK;
}

/* Why the backend refused to open, for npu_last_error() (a backend may not
 * word it itself: it sits below lib/; NPU_DEBUG=1 makes some say more on
 * stderr). */
static void hw_open_detail(const char *name, const char *args, int rc)
{
	if (*npu_hw_detail()) {
		/* The backend said what went wrong (and what to do). */
		npui_set_detail("%s: %s", name, npu_hw_detail());
		return;
	}
	switch (rc) {
	case NPU_ERR_NO_DEVICE:
		npui_set_detail("%s: no such device found%s%s", name, *args ? " for " : "", args);
		break;
	case NPU_ERR_INVALID_ARG:
		npui_set_detail("%s: malformed or unknown options '%s'", name, args);
		break;
	case NPU_ERR_IO:
		npui_set_detail(
		        "%s: the device could not be opened or claimed (permissions? in use "
		        "by another process?); NPU_DEBUG=1 says more",
		        name);
		break;
	case NPU_ERR_NOT_SUPPORTED:
		npui_set_detail("%s: the device answered but is not an lwnpu this library drives "
		                "(protocol or firmware version); NPU_DEBUG=1 says more",
		                name);
		break;
	case NPU_ERR_DISCONNECTED:
		npui_set_detail("%s: the device went away while it was being opened", name);
		break;
	default:
		npui_set_detail("%s: open failed: %s", name, npu_strerror(rc));
		break;
	}
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
	npui_set_detail("%s", ""); /* what follows is this open's */
	rc = npu_hw_open(dev->backend, args, &d->hw);
	if (rc != NPU_OK) {
		hw_open_detail(dev->backend->name, args, rc);
		goto err_free;
	}
	rc = hw_read_caps(d);
	if (rc != NPU_OK)
		goto err_close;
	rc = npu_hw_buf_alloc(d->hw, RING_ENTRIES * NPU_HW_DESC_BYTES, NPU_HW_BUF_DEV_READ,
	                      &d->ring);
	if (rc != NPU_OK)
		goto err_close;
	rc = npu_dev_ring_init(&d->core, &d->ring, RING_ENTRIES, WDOG_BUDGET_CYCLES);
	if (rc != NPU_OK)
		goto err_free_ring;
	dev->priv = d;
	return NPU_OK;

err_free_ring:
	npu_hw_buf_free(d->hw, &d->ring);
err_close:
	npu_hw_close(d->hw);
	{
		/* The device answered but was refused: say which device. */
		char why[256];

		snprintf(why, sizeof(why), "%s", npu_last_error());
		npui_set_detail("%s: %s", dev->backend->name, *why ? why : npu_strerror(rc));
	}
err_free:
	pthread_mutex_destroy(&d->io_lock);
	free(d);
	return rc;
}

static void hw_close(npu_device *dev)
{
	struct hw_dev *d = dev->priv;

	npu_dev_close(&d->core);
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
	for (uint32_t si = 0; hm->sync && si < hm->sched->num_segments; si++) {
		free(hm->sync[si].to_dev);
		free(hm->sync[si].from_dev);
	}
	free(hm->sync);
	free(hm->brel);
	free(hm->layer_use);
	free(hm->seg_first);
	npui_sched_free(hm->sched);
	free(hm);
}

int npui_relocate_segment(const struct npui_segment *seg, uint64_t arena_addr, uint64_t const_addr,
                          uint32_t *out)
{
	memcpy(out, seg->desc, (size_t)seg->num_desc * NPU_HW_DESC_BYTES);
	for (uint32_t r = 0; r < seg->num_relocs; r++) {
		const struct npui_reloc *rl = &seg->relocs[r];
		uint64_t base = rl->kind == NPUI_RELOC_ARENA ? arena_addr : const_addr;

		if (npu_dev_reloc_patch(out, seg->num_desc, rl->desc, rl->word,
		                        base + rl->offset)) {
			npui_set_detail("scheduler: relocation %u out of range", r);
			return NPU_ERR_INTERNAL;
		}
	}
	return NPU_OK;
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
		int rc;

		if (seg->kind != NPUI_SEG_NPU)
			continue;
		rc = npui_relocate_segment(seg, hc->arena.dev_addr, hm->consts.dev_addr,
		                           hc->desc + (size_t)hm->seg_first[si] * DESC_WORDS);
		if (rc != NPU_OK)
			return rc;
	}
	return NPU_OK;
}

/* Sort ranges by offset and merge the ones that touch; returns the count. */
static int range_cmp(const void *a, const void *b)
{
	const struct hw_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static uint32_t ranges_merge(struct hw_range *r, uint32_t n)
{
	uint32_t k = 0;

	qsort(r, n, sizeof(*r), range_cmp);
	for (uint32_t i = 0; i < n; i++) {
		if (k && r[i].off <= r[k - 1].off + r[k - 1].len) {
			size_t end = r[i].off + r[i].len;

			if (end > r[k - 1].off + r[k - 1].len)
				r[k - 1].len = end - r[k - 1].off;
		} else {
			r[k++] = r[i];
		}
	}
	return k;
}

/* The ranges of the tensors marked in want[] (those with arena bytes). */
static int ranges_of(const struct npui_graph *g, const size_t *arena_off, const uint8_t *want,
                     struct hw_range **out, uint32_t *n_out)
{
	struct hw_range *r = calloc(g->num_tensors + 1, sizeof(*r));
	uint32_t n = 0;

	if (!r)
		return NPU_ERR_NO_MEM;
	for (uint32_t t = 0; t < g->num_tensors; t++) {
		const struct npui_tensor *tt = &g->tensors[t];

		if (!want[t] || arena_off[t] == NPUI_NO_BYTES)
			continue;
		r[n].off = arena_off[t];
		r[n].len = (size_t)tt->h * tt->w * tt->c;
		n++;
	}
	*out = r;
	*n_out = ranges_merge(r, n);
	return NPU_OK;
}

/*
 * The sync ranges of every NPU segment (struct hw_seg_sync). The host's
 * arena and the device's agree on every byte a reader will use: before an
 * NPU segment the device gets what the host wrote since the last one (the
 * device holds everything else already, from earlier segments or as its
 * own output), and after it the host gets what CPU layers read before the
 * next NPU segment, plus the job's output after the last. Tensors are
 * live until their last reader (the arena plan), so neither side
 * overwrites a byte the other still needs. On sim (no buf_sync) this
 * costs nothing; over USB it is most of the traffic of a job.
 */
static int hw_plan_sync(const struct npui_graph *g, const struct npui_sched *s,
                        const size_t *arena_off, struct hw_seg_sync *sync)
{
	uint8_t *dirty = calloc(g->num_tensors, 1), *want = calloc(g->num_tensors, 1);
	uint8_t *host_made = calloc(g->num_tensors, 1);
	int rc = NPU_ERR_NO_MEM;

	if (!dirty || !want || !host_made)
		goto out;
	dirty[g->input] = 1; /* written by npu_run before the first step */
	for (uint32_t si = 0; si < s->num_segments; si++) {
		const struct npui_segment *seg = &s->segments[si];
		uint32_t sj;

		if (seg->kind != NPUI_SEG_NPU) {
			for (uint32_t i = 0; i < seg->num_layers; i++)
				dirty[g->layers[seg->first_layer + i].output] = 1;
			continue;
		}
		rc = ranges_of(g, arena_off, dirty, &sync[si].to_dev, &sync[si].n_to_dev);
		if (rc != NPU_OK)
			goto out;
		memset(dirty, 0, g->num_tensors);
		/* What the CPU segments up to the next NPU segment read and did
		 * not make themselves; the output when no NPU segment follows. */
		memset(want, 0, g->num_tensors);
		memset(host_made, 0, g->num_tensors);
		for (sj = si + 1; sj < s->num_segments && s->segments[sj].kind != NPUI_SEG_NPU;
		     sj++) {
			const struct npui_segment *cs = &s->segments[sj];

			for (uint32_t i = 0; i < cs->num_layers; i++) {
				const struct npui_layer *l = &g->layers[cs->first_layer + i];

				for (unsigned k = 0; k < l->num_inputs; k++)
					if (l->inputs[k] != g->input && !host_made[l->inputs[k]])
						want[l->inputs[k]] = 1;
				host_made[l->output] = 1;
			}
		}
		if (sj == s->num_segments && !host_made[g->output])
			want[g->output] = 1;
		rc = ranges_of(g, arena_off, want, &sync[si].from_dev, &sync[si].n_from_dev);
		if (rc != NPU_OK)
			goto out;
	}
	rc = NPU_OK;
out:
	free(dirty);
	free(want);
	free(host_made);
	return rc;
}

/* Sync ranges r[0..n) of buf in one direction. */
static int hw_sync_ranges(struct hw_dev *d, struct npu_hw_buf *buf, const struct hw_range *r,
                          uint32_t n, enum npu_hw_sync_dir dir)
{
	for (uint32_t i = 0; i < n; i++) {
		int rc = npu_hw_buf_sync(d->hw, buf, r[i].off, r[i].len, dir);

		if (rc != NPU_OK)
			return rc;
	}
	return NPU_OK;
}

static int ranges_overlap(size_t a, size_t an, size_t b, size_t bn)
{
	return a < b + bn && b < a + an;
}

static size_t tensor_bytes(const struct npui_graph *g, uint32_t t)
{
	return (size_t)g->tensors[t].h * g->tensors[t].w * g->tensors[t].c;
}

/*
 * Can the input be read from a buffer of its own? Every reader of the
 * input must be an NPU layer (the CPU lane reads the arena), not folded
 * (no tensor aliases its bytes), and run before the first layer that
 * writes into the input's arena range (*first_writer), so that every
 * arena address inside that range before it is the input's.
 */
static int hw_input_in_place(const struct npui_graph *g, const struct npui_sched *s,
                             const size_t *arena_off, const uint8_t *on_npu, uint32_t *first_writer)
{
	size_t a = arena_off[g->input], n = tensor_bytes(g, g->input);
	uint32_t w = g->num_layers;
	int ok = g->num_layers > 0 && a != NPUI_NO_BYTES;

	for (uint32_t l = 0; ok && l < g->num_layers; l++) {
		const struct npui_layer *ly = &g->layers[l];
		size_t o = arena_off[ly->output];

		if (w == g->num_layers && o != NPUI_NO_BYTES &&
		    ranges_overlap(o, tensor_bytes(g, ly->output), a, n))
			w = l;
		for (unsigned k = 0; k < ly->num_inputs; k++)
			if (ly->inputs[k] == g->input &&
			    (l >= w || !on_npu[l] || s->placement[l].folded))
				ok = 0;
	}
	*first_writer = w;
	return ok;
}

/* Can the output be written to a buffer of its own? The last layer, on
 * the NPU and not folded, makes it; no layer reads it; none of that
 * layer's inputs shares its bytes. */
static int hw_output_in_place(const struct npui_graph *g, const struct npui_sched *s,
                              const size_t *arena_off, const uint8_t *on_npu)
{
	uint32_t p = g->num_layers - 1;
	const struct npui_layer *last = &g->layers[p];
	size_t a = arena_off[g->output], n = tensor_bytes(g, g->output);

	if (!g->num_layers || a == NPUI_NO_BYTES || last->output != g->output || !on_npu[p] ||
	    s->placement[p].folded)
		return 0;
	for (uint32_t l = 0; l < g->num_layers; l++)
		for (unsigned k = 0; k < g->layers[l].num_inputs; k++) {
			int32_t t = g->layers[l].inputs[k];

			if (t == g->output)
				return 0;
			if (l == p && arena_off[t] != NPUI_NO_BYTES &&
			    ranges_overlap(arena_off[t], tensor_bytes(g, t), a, n))
				return 0;
		}
	return 1;
}

/* Every layer fits the device's windows (ring, constants, then arena and
 * buffers as it uses them) when the sides in `bits` are in place. */
static int hw_windows_fit(const struct npui_graph *g, const struct hw_model *hm, unsigned bits,
                          unsigned num_windows)
{
	for (uint32_t l = 0; l <= g->num_layers; l++) {
		unsigned u = hm->layer_use[l];
		int in = (u & USE_IN) && (bits & NPUI_IN_PLACE_INPUT);
		int out = (u & USE_OUT) && (bits & NPUI_IN_PLACE_OUTPUT);
		int arena = (u & USE_ARENA) || ((u & USE_IN) && !in) || ((u & USE_OUT) && !out);

		if (2u + arena + in + out > num_windows)
			return 0;
	}
	return 1;
}

/*
 * Where a run with buffers can hand the device the buffers themselves:
 * the address fields that name the input (before anything else lives in
 * its bytes) and the output (written by the last layer), and the
 * combinations of the two the device's windows allow. A model that fails
 * a rule still runs with buffers: staged, with counted copies.
 */
static int hw_plan_buffers(const struct npui_graph *g, const struct npui_sched *s,
                           const size_t *arena_off, unsigned num_windows, struct hw_model *hm)
{
	uint8_t *on_npu = calloc(g->num_layers + 1, 1);
	uint32_t w = 0, nrel = 0;
	int in_ok, out_ok;

	hm->layer_use = calloc(g->num_layers + 1, 1);
	for (uint32_t si = 0; si < s->num_segments; si++)
		nrel += s->segments[si].kind == NPUI_SEG_NPU ? s->segments[si].num_relocs : 0;
	hm->brel = calloc(nrel + 1, sizeof(*hm->brel));
	if (!on_npu || !hm->layer_use || !hm->brel) {
		free(on_npu);
		return NPU_ERR_NO_MEM;
	}
	for (uint32_t si = 0; si < s->num_segments; si++)
		for (uint32_t i = 0;
		     s->segments[si].kind == NPUI_SEG_NPU && i < s->segments[si].num_layers; i++)
			on_npu[s->segments[si].first_layer + i] = 1;
	in_ok = hw_input_in_place(g, s, arena_off, on_npu, &w);
	out_ok = hw_output_in_place(g, s, arena_off, on_npu);
	free(on_npu);
	hm->in_arena_off = arena_off[g->input];
	hm->out_arena_off = arena_off[g->output];

	for (uint32_t si = 0; si < s->num_segments; si++) {
		const struct npui_segment *seg = &s->segments[si];

		for (uint32_t r = 0; seg->kind == NPUI_SEG_NPU && r < seg->num_relocs; r++) {
			const struct npui_reloc *rl = &seg->relocs[r];
			uint32_t l = seg->layer_of_desc[rl->desc];
			struct hw_breloc *b = &hm->brel[hm->num_brel];

			if (rl->kind != NPUI_RELOC_ARENA)
				continue;
			if (l > g->num_layers)
				l = g->num_layers;
			b->desc = hm->seg_first[si] + rl->desc;
			b->word = rl->word;
			if (in_ok && l < w &&
			    ranges_overlap(rl->offset, 1, hm->in_arena_off,
			                   tensor_bytes(g, g->input))) {
				b->side = NPUI_IN_PLACE_INPUT;
				b->offset = rl->offset - hm->in_arena_off;
				hm->layer_use[l] |= USE_IN;
				hm->num_brel++;
			} else if (out_ok && l + 1 == g->num_layers &&
			           ranges_overlap(rl->offset, 1, hm->out_arena_off,
			                          tensor_bytes(g, g->output))) {
				b->side = NPUI_IN_PLACE_OUTPUT;
				b->offset = rl->offset - hm->out_arena_off;
				hm->layer_use[l] |= USE_OUT;
				hm->num_brel++;
			} else {
				hm->layer_use[l] |= USE_ARENA;
			}
		}
	}
	if (num_windows > NPU_DEV_MAX_WINDOWS)
		num_windows = NPU_DEV_MAX_WINDOWS;
	for (unsigned bits = 0; bits < 4; bits++)
		hm->in_place_ok[bits] = (!(bits & NPUI_IN_PLACE_INPUT) || in_ok) &&
		                        (!(bits & NPUI_IN_PLACE_OUTPUT) || out_ok) &&
		                        hw_windows_fit(g, hm, bits, num_windows);
	return NPU_OK;
}

/* io_lock held: the DMA buffers are made here. */
static int hw_model_prepare_locked(npu_device *dev, npu_model *m, struct hw_model *hm,
                                   const size_t *arena_off, size_t arena_size)
{
	struct hw_dev *d = dev->priv;
	const struct npui_graph *g = m->g;
	int rc;

	hm->sync = calloc(hm->sched->num_segments + 1, sizeof(*hm->sync));
	if (!hm->sync)
		return NPU_ERR_NO_MEM;
	rc = hw_plan_sync(g, hm->sched, arena_off, hm->sync);
	if (rc == NPU_OK)
		rc = hw_plan_buffers(g, hm->sched, arena_off, d->caps.num_windows, hm);
	if (rc != NPU_OK)
		return rc;
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
 * context's arena (and the ring); npu_dev skips what already is. */
static int hw_set_windows(struct hw_dev *d, const struct hw_model *hm, const struct hw_ctx *hc)
{
	const uint32_t r = NPU_REG_WIN_CTRL_READ_MASK, w = NPU_REG_WIN_CTRL_WRITE_MASK;
	const struct npu_dev_window win[WIN_USED] = {
	        [WIN_RING] = npu_dev_window_of(&d->ring, r),
	        [WIN_CONST] = npu_dev_window_of(&hm->consts, r),
	        [WIN_ARENA] = npu_dev_window_of(&hc->arena, r | w),
	};

	return npu_dev_set_windows(&d->core, win, WIN_USED);
}

/* The buffers of context c's job as the device sees them: its in-place
 * sides (0 for a run with pointers or with staged buffers). */
static unsigned hw_job_in_place(const struct npui_ctx *c)
{
	return c->job ? c->job->in_place : 0;
}

static const struct npu_hw_buf *hw_buf_of(const struct npu_buffer *b)
{
	return b->dev_priv;
}

/* Point the input's and output's address fields of hc's descriptors at
 * the job's buffers where it runs in place, else at the arena. */
static int hw_patch_buffers(const struct hw_model *hm, struct hw_ctx *hc, const struct npu_job *job,
                            unsigned in_place)
{
	for (uint32_t i = 0; i < hm->num_brel; i++) {
		const struct hw_breloc *b = &hm->brel[i];
		int in = b->side == NPUI_IN_PLACE_INPUT;
		uint64_t addr = hc->arena.dev_addr + (in ? hm->in_arena_off : hm->out_arena_off);

		if (in_place & b->side)
			addr = in ? hw_buf_of(job->in_buf)->dev_addr + job->in_off
			          : hw_buf_of(job->out_buf)->dev_addr + job->out_off;
		if (npu_dev_reloc_patch(hc->desc, hm->total_desc, b->desc, b->word,
		                        addr + b->offset)) {
			npui_set_detail("buffer relocation %u out of range", i);
			return NPU_ERR_INTERNAL;
		}
	}
	return NPU_OK;
}

/* The windows of one layer's batch on a run in place: ring, constants,
 * then the arena and the buffers the layer addresses. */
static int hw_set_buffer_windows(struct hw_dev *d, const struct hw_model *hm,
                                 const struct hw_ctx *hc, const struct npu_job *job,
                                 unsigned in_place, unsigned use)
{
	const uint32_t r = NPU_REG_WIN_CTRL_READ_MASK, w = NPU_REG_WIN_CTRL_WRITE_MASK;
	int in = (use & USE_IN) && (in_place & NPUI_IN_PLACE_INPUT);
	int out = (use & USE_OUT) && (in_place & NPUI_IN_PLACE_OUTPUT);
	struct npu_dev_window win[NPU_DEV_MAX_WINDOWS] = {
	        npu_dev_window_of(&d->ring, r),
	        npu_dev_window_of(&hm->consts, r),
	};
	unsigned n = 2;

	if ((use & USE_ARENA) || ((use & USE_IN) && !in) || ((use & USE_OUT) && !out))
		win[n++] = npu_dev_window_of(&hc->arena, r | w);
	if (in)
		win[n++] = npu_dev_window_of(hw_buf_of(job->in_buf), r);
	if (out)
		win[n++] = npu_dev_window_of(hw_buf_of(job->out_buf), r | w);
	return npu_dev_set_windows(&d->core, win, n);
}

/* Make an in-place side's buffer coherent for segment seg: the input
 * before a segment that reads it, the output after the one that writes
 * it (what buf_sync means on this backend: nothing on sim, a cache
 * flush or invalidate on a PCIe card). */
static int hw_sync_side(struct hw_dev *d, const npu_model *m, const struct hw_model *hm,
                        const struct npui_segment *seg, const struct npu_job *job, unsigned side)
{
	struct npu_buffer *b = side == NPUI_IN_PLACE_INPUT ? job->in_buf : job->out_buf;
	size_t off = side == NPUI_IN_PLACE_INPUT ? job->in_off : job->out_off;
	uint32_t t = side == NPUI_IN_PLACE_INPUT ? m->g->input : m->g->output;
	unsigned use = side == NPUI_IN_PLACE_INPUT ? USE_IN : USE_OUT;

	if (!(job->in_place & side))
		return NPU_OK;
	for (uint32_t i = seg->first_layer; i < seg->first_layer + seg->num_layers; i++)
		if (hm->layer_use[i] & use)
			return npu_hw_buf_sync(d->hw, (struct npu_hw_buf *)hw_buf_of(b), off,
			                       tensor_bytes(m->g, t),
			                       side == NPUI_IN_PLACE_INPUT
			                               ? NPU_HW_SYNC_TO_DEVICE
			                               : NPU_HW_SYNC_FROM_DEVICE);
	return NPU_OK;
}

/* Word what the driver core saw when a wait failed (a backend error that
 * set none is named by its status later). */
static void hw_wait_detail(const struct npu_dev *core)
{
	const struct npu_dev_error *e = &core->err;

	switch (e->kind) {
	case NPU_DEV_ERR_FAULT:
		npui_set_detail("device error %u (%s) at address 0x%llx, ring index %u", e->code,
		                npu_dev_err_name(e->code), (unsigned long long)e->addr, e->index);
		break;
	case NPU_DEV_ERR_STALL:
		/* A cause latched without an interrupt reaching the host (lost),
		 * a device still busy (hung with the watchdog off, or slow), or
		 * an idle device. */
		npui_set_detail(
		        "no interrupt within %d ms or the backend's limit: %s (STATUS 0x%x, "
		        "IRQ_STATUS 0x%x, ring head %u, tail %u)",
		        LAYER_TIMEOUT_MS,
		        e->irq_status ? "interrupt lost, its cause is latched"
		        : e->status & NPU_REG_STATUS_BUSY_MASK ? "device still busy"
		                                               : "device idle",
		        e->status, e->irq_status, e->head, e->tail);
		break;
	case NPU_DEV_ERR_HEAD:
		npui_set_detail("device reports ring head %u of a %u-entry ring", e->head,
		                core->ring_entries);
		break;
	case NPU_DEV_ERR_NONE:
		break;
	}
}

/* Put the layer a failed batch ran in front of its detail (a backend error
 * that set none is named by its status). */
static void hw_layer_detail(const npu_model *m, uint32_t layer, int rc)
{
	char why[200];

	snprintf(why, sizeof(why), "%s",
	         *npu_last_error()  ? npu_last_error()
	         : *npu_hw_detail() ? npu_hw_detail()
	                            : npu_strerror(rc));
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
	unsigned in_place = hw_job_in_place(c);
	uint32_t k = 0;
	int rc;

	npu_hw_set_detail("%s", ""); /* what the backend says next is this segment's */
	if (d->core.need_recover && (rc = npu_dev_recover(&d->core)) != NPU_OK) {
		npui_set_detail("device could not be reset after an earlier error");
		return rc;
	}
	if ((rc = hw_patch_buffers(hm, hc, c->job, in_place)))
		return rc;
	if (!in_place && (rc = hw_set_windows(d, hm, hc)))
		goto err_recover;
	/* What the CPU wrote (input, CPU layers; the buffer in place). */
	if ((rc = hw_sync_ranges(d, &hc->arena, hm->sync[si].to_dev, hm->sync[si].n_to_dev,
	                         NPU_HW_SYNC_TO_DEVICE)) ||
	    (rc = hw_sync_side(d, m, hm, seg, c->job, NPUI_IN_PLACE_INPUT)))
		goto err_recover;
	/* One ring batch per layer, so cycles are attributed exactly. */
	while (k < seg->num_desc) {
		uint32_t layer = seg->layer_of_desc[k], n = 0;
		struct npu_dev_perf perf;

		while (k + n < seg->num_desc && seg->layer_of_desc[k + n] == layer)
			n++;
		if (in_place &&
		    (rc = hw_set_buffer_windows(
		             d, hm, hc, c->job, in_place,
		             hm->layer_use[layer < m->g->num_layers ? layer : m->g->num_layers])))
			goto err_recover;
		npui_set_detail("%s", "");
		rc = npu_dev_stream(&d->core, desc + (size_t)k * DESC_WORDS, n, LAYER_TIMEOUT_MS,
		                    &perf);
		if (rc != NPU_OK) {
			hw_wait_detail(&d->core);
			hw_layer_detail(m, layer, rc);
			goto err_recover;
		}
		if (layer < m->g->num_layers) {
			c->run_prof[layer].cycles += perf.cycles;
			/* Measured traffic, descriptor fetches included. */
			c->run_prof[layer].dram_bytes += perf.rd_bytes + perf.wr_bytes;
		}
		k += n;
	}
	/* What the CPU reads next (CPU layers' inputs, the output). */
	if ((rc = hw_sync_ranges(d, &hc->arena, hm->sync[si].from_dev, hm->sync[si].n_from_dev,
	                         NPU_HW_SYNC_FROM_DEVICE)) ||
	    (rc = hw_sync_side(d, m, hm, seg, c->job, NPUI_IN_PLACE_OUTPUT)))
		goto err_recover;
	return NPU_OK;

err_recover:
	/* Descriptors may still be on the ring: the next segment (another
	 * context's, maybe) needs the post-open state. The job keeps its
	 * error whatever recovery says. */
	npu_dev_recover(&d->core);
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

	for (uint32_t i = seg->first_layer; i < seg->first_layer + seg->num_layers; i++) {
		const struct npui_placement *pl = &s->placement[i];
		struct npu_layer_profile *p = &c->run_prof[i];

		/* NPU layers: cycles and DMA bytes measured during the run. */
		npui_prof_init(m, p, i, pl->engine);
		p->bound_cycles = pl->bound_cycles;
		p->folded = pl->folded;
	}
	if (seg->kind == NPUI_SEG_CPU)
		return npui_run_cpu_layers(m, c, seg->first_layer, seg->num_layers);
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

/* A buffer's device memory: a DMA buffer of the backend, or the
 * backend's own mapping of an import; an import the device cannot reach
 * (buf_import NOT_SUPPORTED) is left to staging. */
static int hw_buffer_attach(npu_device *dev, struct npu_buffer *b)
{
	struct hw_dev *d = dev->priv;
	const uint32_t flags = NPU_HW_BUF_DEV_READ | NPU_HW_BUF_DEV_WRITE;
	struct npu_hw_buf *hb = calloc(1, sizeof(*hb));
	int rc;

	if (!hb)
		return NPU_ERR_NO_MEM;
	npu_hw_set_detail("%s", "");
	pthread_mutex_lock(&d->io_lock);
	if (!b->host)
		rc = npu_hw_buf_alloc(d->hw, b->map_size, flags, hb);
	else
		rc = npu_hw_buf_import(d->hw, b->host, b->map_size, b->fd, flags, hb);
	pthread_mutex_unlock(&d->io_lock);
	if (rc == NPU_ERR_NOT_SUPPORTED && b->host) {
		if (getenv("NPU_DEBUG"))
			fprintf(stderr,
			        "libnpu: %s cannot reach the imported buffer (%s): runs copy\n",
			        dev->uri,
			        *npu_hw_detail() ? npu_hw_detail()
			                         : "its DMA cannot reach host memory");
		free(hb);
		return NPU_OK;
	}
	if (rc != NPU_OK) {
		if (*npu_hw_detail())
			npui_set_detail("%s: %s", dev->backend->name, npu_hw_detail());
		free(hb);
		return rc;
	}
	if (!b->host) {
		b->host = hb->host;
		memset(b->host, 0, b->map_size);
	}
	b->dev_priv = hb;
	b->device_mapped = 1;
	return NPU_OK;
}

static void hw_buffer_detach(npu_device *dev, struct npu_buffer *b)
{
	struct hw_dev *d = dev->priv;

	if (!b->dev_priv)
		return;
	pthread_mutex_lock(&d->io_lock);
	npu_hw_buf_free(d->hw, b->dev_priv);
	pthread_mutex_unlock(&d->io_lock);
	free(b->dev_priv);
	b->dev_priv = NULL;
}

/* The sides the device reaches itself: mapped buffers, where the model's
 * plan and the windows allow (both, else the input, else the output). */
static unsigned hw_buffers_in_place(const npu_device *dev, const npu_model *m,
                                    const struct npu_buffer *in, const struct npu_buffer *out)
{
	const struct hw_model *hm = m->dev_priv;
	unsigned want = (in && in->device_mapped ? NPUI_IN_PLACE_INPUT : 0) |
	                (out && out->device_mapped ? NPUI_IN_PLACE_OUTPUT : 0);

	(void)dev;
	if (hm->in_place_ok[want])
		return want;
	if (hm->in_place_ok[want & NPUI_IN_PLACE_INPUT])
		return want & NPUI_IN_PLACE_INPUT;
	return hm->in_place_ok[want & NPUI_IN_PLACE_OUTPUT] ? want & NPUI_IN_PLACE_OUTPUT : 0;
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
        .buffer_attach = hw_buffer_attach,
        .buffer_detach = hw_buffer_detach,
        .buffers_in_place = hw_buffers_in_place,
};
