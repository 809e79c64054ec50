/*
 * The activation arena planner (lib/ir/arena.h): first fit, largest
 * first, over lifetimes in layer indices.
 */
#include <stdlib.h>

#include "npu.h"
#include "ir/arena.h"

void npui_arena_lifetimes(const struct npui_graph *g, int64_t *first, int64_t *last)
{
	for (uint32_t t = 0; t < g->num_tensors; t++) {
		first[t] = -1;
		last[t] = -2; /* unused tensors need no memory */
	}
	for (uint32_t i = 0; i < g->num_layers; i++) {
		const struct npui_layer *l = &g->layers[i];

		first[l->output] = i;
		if (last[l->output] < (int64_t)i)
			last[l->output] = i;
		for (unsigned k = 0; k < l->num_inputs; k++)
			last[l->inputs[k]] = i;
	}
	first[g->input] = -1;
	if (last[g->input] < -1)
		last[g->input] = -1;
	last[g->output] = g->num_layers;
}

static size_t tensor_bytes(const struct npui_graph *g, uint32_t t)
{
	const struct npui_tensor *x = &g->tensors[t];

	return (size_t)x->h * x->w * x->c;
}

static size_t footprint(size_t bytes)
{
	return (bytes + NPUI_ARENA_ALIGN - 1) & ~(size_t)(NPUI_ARENA_ALIGN - 1);
}

int npui_arena_plan(const struct npui_graph *g, const int64_t *first, const int64_t *last,
                    enum npui_arena_order order, size_t *off, size_t *size)
{
	uint32_t nt = g->num_tensors, nplaced = 0;
	size_t *key = malloc((nt ? nt : 1) * sizeof(*key));
	size_t *at = malloc((nt ? nt : 1) * sizeof(*at));
	uint32_t *seq = malloc((nt ? nt : 1) * sizeof(*seq));
	uint32_t *placed = malloc((nt ? nt : 1) * sizeof(*placed));
	size_t total = 0;
	int rc = NPU_ERR_NO_MEM;

	if (!key || !at || !seq || !placed)
		goto out;
	for (uint32_t t = 0; t < nt; t++) {
		size_t b = tensor_bytes(g, t);

		key[t] = order == NPUI_ARENA_BY_BYTES ? b : footprint(b);
		seq[t] = t;
	}
	/* Insertion sort, descending and stable: tensor counts are small. */
	for (uint32_t i = 1; i < nt; i++) {
		uint32_t v = seq[i], j = i;

		while (j > 0 && key[seq[j - 1]] < key[v]) {
			seq[j] = seq[j - 1];
			j--;
		}
		seq[j] = v;
	}

	for (uint32_t k = 0; k < nt; k++) {
		uint32_t t = seq[k];
		size_t sz = footprint(tensor_bytes(g, t)), pos = 0;
		int moved = 1;

		at[t] = NPUI_ARENA_NONE;
		if (last[t] < first[t])
			continue;
		/* Slide past every conflicting placement until none is hit. */
		while (moved) {
			moved = 0;
			for (uint32_t p = 0; p < nplaced; p++) {
				uint32_t u = placed[p];
				size_t usz = footprint(tensor_bytes(g, u));

				if (last[u] < first[t] || last[t] < first[u])
					continue;
				if (pos < at[u] + usz && at[u] < pos + sz) {
					pos = at[u] + usz;
					moved = 1;
				}
			}
		}
		at[t] = pos;
		placed[nplaced++] = t;
		if (pos + sz > total)
			total = pos + sz;
	}

	for (uint32_t t = 0; t < nt; t++)
		off[t] = at[t];
	*size = total ? total : NPUI_ARENA_ALIGN;
	rc = NPU_OK;
out:
	free(key);
	free(at);
	free(seq);
	free(placed);
	return rc;
}
