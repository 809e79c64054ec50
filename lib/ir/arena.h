/*
 * The activation arena planner: every activation tensor of a graph gets a
 * byte offset in one arena, and two tensors that are alive at the same
 * time never share a byte. The one planner of libnpu: the runtime plans
 * each model's host arena with it (lib/core/model.c), the scheduler the
 * DMA arena of a hardware device, on lifetimes stretched by its folds
 * (lib/sched/sched.c, npui_sched_arena_plan). docs/ARCHITECTURE.md,
 * "Arena".
 *
 * Lifetimes are in layer indices: tensor t is alive from first[t] (the
 * layer that writes it; -1, "before layer 0", for the graph input) to
 * last[t] (the last layer that reads it; num_layers, "after the last
 * layer", for the graph output), both ends included. last[t] < first[t]
 * means the tensor needs no bytes.
 */
#ifndef NPUI_ARENA_H
#define NPUI_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every tensor starts on this boundary and takes a multiple of it. */
#define NPUI_ARENA_ALIGN 64

/* off[t] of a tensor that needs no bytes. */
#define NPUI_ARENA_NONE ((size_t)-1)

/*
 * The order in which tensors are placed, largest first; ties keep tensor
 * order. The two orders differ only between tensors whose sizes round up
 * to the same footprint, and each caller keeps the order it has always
 * used, so that a model's arena (and with it every descriptor address)
 * stays what it was.
 */
enum npui_arena_order {
	/* By footprint: h*w*c rounded up to NPUI_ARENA_ALIGN (the runtime). */
	NPUI_ARENA_BY_FOOTPRINT = 0,
	/* By the exact h*w*c (the scheduler's plan). */
	NPUI_ARENA_BY_BYTES = 1,
};

/*
 * The base lifetimes of g's tensors, as defined above: first[] and last[]
 * have g->num_tensors entries. A tensor nothing writes nor reads gets
 * last < first.
 */
void npui_arena_lifetimes(const struct npui_graph *g, int64_t *first, int64_t *last);

/*
 * Plan the arena for lifetimes first[] / last[] (g->num_tensors entries
 * each; npui_arena_lifetimes or stretched ones): first fit in the given
 * order, each tensor at the lowest offset where it overlaps no tensor
 * placed before it whose lifetime overlaps its own. off[t] gets tensor t's
 * offset (a multiple of NPUI_ARENA_ALIGN) or NPUI_ARENA_NONE; *size the
 * arena's bytes (NPUI_ARENA_ALIGN when no tensor needs any).
 * Returns NPU_OK, NPU_ERR_NO_MEM (off and *size untouched).
 */
int npui_arena_plan(const struct npui_graph *g, const int64_t *first, const int64_t *last,
                    enum npui_arena_order order, size_t *off, size_t *size);

#ifdef __cplusplus
}
#endif

#endif /* NPUI_ARENA_H */
