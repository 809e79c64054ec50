/*
 * Scheduler internals shared by place.c (placement, folding, arena
 * safety), tile.c (tiling and descriptor emission) and sched.c (segments,
 * bounds, the public entry points). docs/SCHEDULER.md describes the model.
 */
#ifndef NPUI_SCHED_INT_H
#define NPUI_SCHED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

/* A tensor whose channels are scattered over other tensors' buffers has at
 * most this many pieces; a fold that would need more is done as a copy. */
#define SP_MAX_PIECES 16

/* Logical channels [c0, c0 + n) of a tensor live in the arena buffer of
 * tensor `phys`, channel c at phys channel off + (c - c0) * stride. */
struct sp_piece {
	int32_t c0, n;
	int32_t phys;
	int32_t off, stride;
};

struct sp_loc {
	int32_t n;
	struct sp_piece p[SP_MAX_PIECES];
};

enum sp_kind {
	SP_CPU = 0,
	SP_PW,   /* CONV / FC on the PW array */
	SP_DW,   /* depthwise CONV on the DW engine */
	SP_POOL, /* MAXPOOL / AVGPOOL / GAP on the PPU */
	SP_ADD,  /* ADD on the PPU */
	SP_FOLD, /* SHUFFLE / SPLIT / CONCAT in addressing: no descriptors */
	SP_COPY, /* SHUFFLE / SPLIT / CONCAT (part) as a DMA copy via ACT SRAM */
};

/* A tiling of one layer (tile.c). Output tiles are boxes th x tw of one
 * channel tile of ct channels; PW K-splits the input channels in kc. */
struct sp_tile {
	int32_t th, tw, ct, kc;
	uint32_t in_sz, out_sz; /* bytes of one IN / one OUT ACT buffer */
	double cost;            /* the tiler's estimate, cycles */
	/* 1: a stride-2 PW conv run as a stride-1 conv over its input
	 * space-to-depth by 2, done by the loads (docs/SCHEDULER.md, "The
	 * stem"); th, tw, ct, kc are of that conv */
	uint8_t s2d;
};

/* Derived SRAM geometry of a build (docs/SCHEDULER.md §3). */
struct sp_geom {
	uint32_t R, Cc;     /* PW rows (out channels), cols (in channels) */
	uint32_t L;         /* DW lanes */
	uint32_t aw;        /* ACT word bytes (Cc) */
	uint32_t ww;        /* WGT word bytes (R * Cc) */
	uint32_t pl;        /* PARAM word lanes: max(R, L) */
	uint32_t pwb;       /* PARAM word bytes: 4 * pl */
	uint32_t act;       /* ACT bytes */
	uint32_t wgt_half;  /* one WGT half, bytes, multiple of ww */
	uint32_t par_half;  /* one PARAM half, in words */
	uint32_t acc_words; /* ACC words of R int32 */
	uint32_t dw_cpad;   /* DW channel padding unit: max(L, aw) */
	uint32_t ppl;       /* PPU requant lanes */
	uint32_t epl;       /* conv epilogue requant lanes */
	uint32_t outst;     /* DMA bursts in flight per direction */
	uint32_t dmab;      /* DMA bytes per beat */
};

struct sp_ctx {
	const struct npui_graph *g;
	const struct npui_caps *caps;
	const size_t *arena_off;
	struct sp_geom geo;

	uint8_t *kind;        /* [layers] enum sp_kind */
	struct sp_tile *tile; /* [layers] */
	int32_t *producer;    /* [tensors] layer, -1 for the graph input */
	int64_t *first;       /* [tensors] base lifetime (as the runtime) */
	int64_t *last;
	struct sp_loc *loc; /* [tensors] */
	uint8_t *homed;     /* [tensors] 1: lives in another tensor's buffer */
	uint8_t *forbid;    /* [tensors] 1: may not host or be viewed */

	/* Channel order (docs/SCHEDULER.md §4): a tensor's location maps
	 * *slots* to bytes; slot s holds logical channel ord[t][s]. perm[t] 0:
	 * the identity (slot = channel, ord unused). Only consumers that can
	 * absorb an order (weights permuted at load) ever see one. */
	uint8_t *perm;   /* [tensors] */
	int32_t **ord;   /* [tensors] -> C entries each, in ordbuf */
	int32_t *ordbuf; /* sum of all tensors' channels */
	uint8_t *viewed; /* [layers] 1: fold is a view (relabelled, no bytes move) */
	uint8_t *noview; /* [layers] 1: view refused; folded as before or copied */

	/* emission of the current NPU segment */
	uint32_t layer;
	uint32_t *desc;
	uint32_t *lod;
	uint32_t ndesc, desc_cap;
	struct npui_reloc *rel;
	uint32_t nrel, rel_cap;
	uint8_t *blob;
	size_t blob_size, blob_cap;
	int err; /* sticky NPU_ERR_NO_MEM */
};

/* place.c */
void sp_geom_init(struct sp_geom *geo, const struct npui_caps *caps);
int sp_place(struct sp_ctx *c, struct npui_placement *pl);
void sp_ext_lifetimes(const struct sp_ctx *c, int64_t *ef, int64_t *el);
/* Runs of consecutive slots holding input group gi (channels [gi*cin_g,
 * (gi+1)*cin_g)) of tensor t: the loads a grouped PW layer needs per tile. */
int sp_group_runs(const struct sp_ctx *c, int32_t t, int32_t cin_g, int32_t gi);

/* tile.c */
int sp_plan_tile(const struct sp_ctx *c, uint32_t li, int kind, struct sp_tile *t);
void sp_emit_layer(struct sp_ctx *c, uint32_t li);
void sp_emit_fence(struct sp_ctx *c, uint32_t flags);
/* The tiling of PW layer li as a stride-1 conv over its input space-to-
 * depth by 2 (t->s2d = 1), if its shape allows that; 0 if not. The caller
 * checks that the input is its own contiguous buffer and compares costs. */
int sp_plan_stem(const struct sp_ctx *c, uint32_t li, struct sp_tile *t);

/* loc.c: logical channels [c0, c0 + n) of L, renumbered from 0; -1 if
 * that takes more than SP_MAX_PIECES pieces. */
int sp_loc_slice(const struct sp_loc *L, int32_t c0, int32_t n, struct sp_loc *out);
/* loc.c: the location of a SHUFFLE's input given its output's location. */
int sp_loc_unshuffle(const struct sp_loc *Lo, int32_t C, int32_t groups, struct sp_loc *out);
/* loc.c: slots [s0, s0 + n) of L appended to out as slots from out's end
 * (shifted by `at`); adjacent pieces merge. -1 past SP_MAX_PIECES. */
int sp_loc_append(struct sp_loc *out, const struct sp_loc *L, int32_t s0, int32_t n, int32_t at);

#endif /* NPUI_SCHED_INT_H */
