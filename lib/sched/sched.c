/*
 * The scheduler's entry points: placement (place.c), tiling and emission
 * (tile.c), then segments, relocations and the bounds (docs/PERFORMANCE.md,
 * "The bound") here. docs/SCHEDULER.md is the description.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu.h"
#include "driver/npu_desc.h"
#include "driver/npu_regs.h"
#include "ir/arena.h"
#include "sched/sched_int.h"

void npui_caps_preset(struct npui_caps *caps, int small)
{
	memset(caps, 0, sizeof(*caps));
	caps->pw_rows = caps->pw_cols = small ? 4 : 16;
	caps->dw_lanes = small ? 4 : 16;
	caps->ppu_lanes = 4;
	caps->epi_lanes = small ? 4 : 8;
	caps->act_bytes = (small ? 16 : 128) * 1024;
	caps->wgt_bytes = (small ? 16 : 128) * 1024;
	caps->acc_bytes = (small ? 4 : 64) * 1024;
	caps->param_bytes = (small ? 2 : 8) * 1024;
	caps->dma_bytes = 8;
	caps->num_windows = 4;
	caps->dma_outstanding = 32;
	caps->engines = NPU_REG_CAPS_ENGINES_CP_MASK | NPU_REG_CAPS_ENGINES_DMA_MASK |
	                NPU_REG_CAPS_ENGINES_PW_MASK | NPU_REG_CAPS_ENGINES_DW_MASK |
	                NPU_REG_CAPS_ENGINES_REQUANT_MASK | NPU_REG_CAPS_ENGINES_ADD_MASK |
	                NPU_REG_CAPS_ENGINES_POOL_MASK | NPU_REG_CAPS_ENGINES_WDOG_MASK |
	                NPU_REG_CAPS_ENGINES_PERF_MASK;
	caps->clock_mhz = NPU_HW_NOMINAL_CLOCK_MHZ;
	caps->dram_bytes_per_cycle = 8.0;
}

/* Caps the tiler can work with: non-zero shapes, SRAMs that hold at least
 * a few words of every kind. */
static int caps_sane(const struct npui_caps *c)
{
	uint32_t ww = c->pw_rows * c->pw_cols;

	if (!c->pw_rows || !c->pw_cols || c->pw_rows > 255 || c->pw_cols > 255 || !c->dw_lanes ||
	    c->dw_lanes > 255)
		return 0;
	return c->act_bytes >= 8 * c->pw_cols && c->wgt_bytes >= 2 * ww &&
	       c->param_bytes >= 24u * 4 * (c->pw_rows > c->dw_lanes ? c->pw_rows : c->dw_lanes) &&
	       c->acc_bytes >= 4 * c->pw_rows;
}

static uint64_t udiv_up(uint64_t a, uint64_t b)
{
	return b ? (a + b - 1) / b : 0;
}

static uint64_t tbytes(const struct npui_graph *g, int32_t t)
{
	const struct npui_tensor *x = &g->tensors[t];

	return (uint64_t)x->h * x->w * x->c;
}

static double dram_rate(const struct npui_caps *caps)
{
	if (caps->dram_bytes_per_cycle > 0)
		return caps->dram_bytes_per_cycle;
	return caps->dma_bytes ? caps->dma_bytes : 8;
}

/*
 * Per-layer bound (docs/PERFORMANCE.md) with the per-layer DRAM convention: weights
 * and bias once, every input the layer reads once, its output once. Folded
 * layers move nothing; CPU layers are not NPU work (0, 0); a DMA copy moves
 * what it copies twice (read + write).
 */
static void layer_bound(const struct sp_ctx *c, uint32_t i, struct npui_placement *pl)
{
	const struct npui_graph *g = c->g;
	const struct npui_layer *l = &g->layers[i];
	const struct npui_caps *caps = c->caps;
	uint64_t macs = npui_layer_macs(g, l), dram = 0, pw = 0, dw = 0, dr;

	switch (c->kind[i]) {
	case SP_CPU:
	case SP_FOLD:
		pl->bound_cycles = 0;
		pl->dram_bytes = 0;
		return;
	case SP_COPY:
		if (l->op == NPUI_OP_CONCAT) {
			for (unsigned k = 0; k < l->num_inputs; k++)
				if (c->homed[l->inputs[k]] != 1)
					dram += 2 * tbytes(g, l->inputs[k]);
		} else {
			dram = 2 * tbytes(g, l->output);
		}
		break;
	default:
		for (unsigned k = 0; k < l->num_inputs; k++)
			dram += tbytes(g, l->inputs[k]);
		dram += tbytes(g, l->output);
		if (l->op == NPUI_OP_CONV || l->op == NPUI_OP_FC)
			dram += l->weights_count + 4ull * (uint64_t)g->tensors[l->output].c;
		break;
	}
	if (c->kind[i] == SP_PW)
		pw = udiv_up(macs, (uint64_t)caps->pw_rows * caps->pw_cols);
	if (c->kind[i] == SP_DW)
		dw = udiv_up(macs, caps->dw_lanes);
	dr = (uint64_t)((double)dram / dram_rate(caps) + 0.999999);
	pl->dram_bytes = dram;
	pl->bound_cycles = pw > dw ? pw : dw;
	if (dr > pl->bound_cycles)
		pl->bound_cycles = dr;
}

void npui_sched_free(struct npui_sched *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->num_segments; i++) {
		free(s->segments[i].desc);
		free(s->segments[i].relocs);
		free(s->segments[i].layer_of_desc);
	}
	free(s->segments);
	free(s->placement);
	free(s->const_blob);
	free(s);
}

static void ctx_free(struct sp_ctx *c)
{
	free(c->kind);
	free(c->tile);
	free(c->producer);
	free(c->first);
	free(c->last);
	free(c->loc);
	free(c->homed);
	free(c->forbid);
	free(c->perm);
	free(c->ord);
	free(c->ordbuf);
	free(c->viewed);
	free(c->noview);
	free(c->desc);
	free(c->lod);
	free(c->rel);
	free(c->blob);
}

/* Base lifetimes, as the runtime's arena plan (lib/ir/arena.c), and the
 * layer that writes each tensor. */
static void lifetimes(struct sp_ctx *c)
{
	const struct npui_graph *g = c->g;

	npui_arena_lifetimes(g, c->first, c->last);
	for (uint32_t t = 0; t < g->num_tensors; t++)
		c->producer[t] = -1;
	for (uint32_t i = 0; i < g->num_layers; i++)
		c->producer[g->layers[i].output] = (int32_t)i;
}

static int ctx_init(struct sp_ctx *c, const struct npui_graph *g, const struct npui_caps *caps,
                    const size_t *arena_off)
{
	uint32_t nl = g->num_layers ? g->num_layers : 1, nt = g->num_tensors;
	size_t nch = 0;

	memset(c, 0, sizeof(*c));
	c->g = g;
	c->caps = caps;
	c->arena_off = arena_off;
	sp_geom_init(&c->geo, caps);
	c->kind = calloc(nl, 1);
	c->tile = calloc(nl, sizeof(*c->tile));
	c->producer = calloc(nt, sizeof(*c->producer));
	c->first = calloc(nt, sizeof(*c->first));
	c->last = calloc(nt, sizeof(*c->last));
	c->loc = calloc(nt, sizeof(*c->loc));
	c->homed = calloc(nt, 1);
	c->forbid = calloc(nt, 1);
	for (uint32_t t = 0; t < nt; t++)
		nch += (size_t)g->tensors[t].c;
	c->perm = calloc(nt ? nt : 1, 1);
	c->ord = calloc(nt ? nt : 1, sizeof(*c->ord));
	c->ordbuf = calloc(nch ? nch : 1, sizeof(*c->ordbuf));
	c->viewed = calloc(nl, 1);
	c->noview = calloc(nl, 1);
	if (!c->kind || !c->tile || !c->producer || !c->first || !c->last || !c->loc || !c->homed ||
	    !c->forbid || !c->perm || !c->ord || !c->ordbuf || !c->viewed || !c->noview)
		return NPU_ERR_NO_MEM;
	nch = 0;
	for (uint32_t t = 0; t < nt; t++) {
		c->ord[t] = c->ordbuf + nch;
		nch += (size_t)g->tensors[t].c;
	}
	lifetimes(c);
	return NPU_OK;
}

static int place_all(struct sp_ctx *c, struct npui_placement *pl)
{
	const struct npui_graph *g = c->g;
	const uint32_t need = NPU_REG_CAPS_ENGINES_CP_MASK | NPU_REG_CAPS_ENGINES_DMA_MASK;

	if ((c->caps->engines & need) != need || !caps_sane(c->caps)) {
		for (uint32_t i = 0; i < g->num_layers; i++) {
			c->kind[i] = SP_CPU;
			snprintf(pl[i].engine, sizeof(pl[i].engine), "cpu");
			snprintf(pl[i].why, sizeof(pl[i].why), "%s",
			         (c->caps->engines & need) != need
			                 ? "no command processor/DMA in this build"
			                 : "CAPS describe no usable SRAM/array shape");
		}
		return NPU_OK;
	}
	return sp_place(c, pl);
}

/* Move the emission buffers into segment sg. */
static void take_segment(struct sp_ctx *c, struct npui_segment *sg)
{
	sg->num_desc = c->ndesc;
	sg->desc = c->desc;
	sg->layer_of_desc = c->lod;
	sg->num_relocs = c->nrel;
	sg->relocs = c->rel;
	c->desc = NULL;
	c->lod = NULL;
	c->rel = NULL;
	c->ndesc = c->desc_cap = c->nrel = c->rel_cap = 0;
}

int npui_sched_build(const struct npui_graph *g, const struct npui_ref_plan *plan,
                     const struct npui_caps *caps, const size_t *arena_off, struct npui_sched **out,
                     char *why, size_t why_len)
{
	struct sp_ctx c;
	struct npui_sched *s;
	uint32_t nseg = 0;
	int rc;

	(void)plan; /* constants are derived here, with the same helpers */
	if (!g || !caps || !arena_off || !out)
		return NPU_ERR_INVALID_ARG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NPU_ERR_NO_MEM;
	rc = ctx_init(&c, g, caps, arena_off);
	if (rc != NPU_OK)
		goto err;
	s->placement = calloc(g->num_layers ? g->num_layers : 1, sizeof(*s->placement));
	s->segments = calloc(g->num_layers ? g->num_layers : 1, sizeof(*s->segments));
	if (!s->placement || !s->segments) {
		rc = NPU_ERR_NO_MEM;
		goto err;
	}
	rc = place_all(&c, s->placement);
	if (rc != NPU_OK)
		goto err;
	for (uint32_t i = 0; i < g->num_layers; i++)
		layer_bound(&c, i, &s->placement[i]);

	for (uint32_t i = 0; i < g->num_layers;) {
		struct npui_segment *sg = &s->segments[nseg++];
		int npu = c.kind[i] != SP_CPU;
		uint32_t j = i;

		while (j < g->num_layers && (c.kind[j] != SP_CPU) == npu)
			j++;
		sg->kind = npu ? NPUI_SEG_NPU : NPUI_SEG_CPU;
		sg->first_layer = i;
		sg->num_layers = j - i;
		if (npu) {
			uint32_t *fw;
			struct npu_desc_hdr fh;

			for (uint32_t k = i; k < j; k++)
				sp_emit_layer(&c, k);
			/* the segment ends with FENCE | IRQ */
			fw = c.ndesc ? &c.desc[(c.ndesc - 1) * NPU_HW_DESC_WORDS] : NULL;
			if (fw && !c.err && !npu_desc_hdr_unpack(fw, &fh) &&
			    fh.opcode == NPU_HW_OP_FENCE) {
				fw[NPU_DESC_HDR_FLAGS_WORD] |= NPU_HW_FLAG_IRQ
				                               << NPU_DESC_HDR_FLAGS_SHIFT;
			} else {
				c.layer = j - 1;
				sp_emit_fence(&c, NPU_HW_FLAG_IRQ);
			}
			if (c.err) {
				rc = c.err;
				s->num_segments = nseg;
				goto err;
			}
			take_segment(&c, sg);
		}
		i = j;
	}
	s->num_segments = nseg;
	s->const_blob = c.blob;
	s->const_size = c.blob_size;
	c.blob = NULL;
	ctx_free(&c);
	*out = s;
	return NPU_OK;

err:
	if (why && why_len)
		snprintf(why, why_len, "scheduler: %s", npu_strerror(rc));
	ctx_free(&c);
	npui_sched_free(s);
	return rc;
}

int npui_sched_arena_plan(const struct npui_graph *g, const struct npui_caps *caps,
                          size_t *arena_off, size_t *arena_size)
{
	struct npui_placement *pl = NULL;
	struct sp_ctx c;
	int64_t *ef = NULL, *el = NULL;
	int rc;

	if (!g || !caps || !arena_off || !arena_size)
		return NPU_ERR_INVALID_ARG;
	rc = ctx_init(&c, g, caps, NULL);
	if (rc != NPU_OK)
		goto out;
	rc = NPU_ERR_NO_MEM;
	pl = calloc(g->num_layers ? g->num_layers : 1, sizeof(*pl));
	ef = calloc(g->num_tensors, sizeof(*ef));
	el = calloc(g->num_tensors, sizeof(*el));
	if (!pl || !ef || !el)
		goto out;
	rc = place_all(&c, pl);
	if (rc != NPU_OK)
		goto out;
	/* The runtime's planner on stretched lifetimes (hosts live as long as
	 * what they host, folded tensors need no bytes), in the order by exact
	 * size this plan has always used. */
	sp_ext_lifetimes(&c, ef, el);
	rc = npui_arena_plan(g, ef, el, NPUI_ARENA_BY_BYTES, arena_off, arena_size);
	if (rc != NPU_OK)
		goto out;
	for (uint32_t t = 0; t < g->num_tensors; t++)
		if (arena_off[t] == NPUI_ARENA_NONE)
			arena_off[t] = 0;
out:
	free(pl);
	free(ef);
	free(el);
	ctx_free(&c);
	return rc;
}

void npui_sched_net_bound(const struct npui_graph *g, const struct npui_caps *caps,
                          const struct npui_sched *s, uint64_t *bound_cycles, uint64_t *dram_bytes)
{
	uint64_t pw = 0, dw = 0, dram = 0, dr, b;

	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];
		uint64_t macs = npui_layer_macs(g, l);

		if (!strcmp(s->placement[i].engine, "pw"))
			pw += macs;
		else if (!strcmp(s->placement[i].engine, "dw"))
			dw += macs;
		if (l->op == NPUI_OP_CONV || l->op == NPUI_OP_FC)
			dram += l->weights_count + 4ull * (uint64_t)g->tensors[l->output].c;
	}
	dram += tbytes(g, g->input) + tbytes(g, g->output);
	pw = udiv_up(pw, (uint64_t)caps->pw_rows * caps->pw_cols);
	dw = udiv_up(dw, caps->dw_lanes);
	dr = (uint64_t)((double)dram / dram_rate(caps) + 0.999999);
	b = pw > dw ? pw : dw;
	*bound_cycles = dr > b ? dr : b;
	*dram_bytes = dram;
}
