/*
 * Channel locations (struct sp_loc, sched_int.h): the views of a tensor's
 * channels that placement (place.c) and the emitters (tile.c) both take.
 */
#include "sched/sched_int.h"

/* Logical channels [c0, c0 + n) of L, renumbered from 0. */
int sp_loc_slice(const struct sp_loc *L, int32_t c0, int32_t n, struct sp_loc *out)
{
	out->n = 0;
	for (int32_t k = 0; k < L->n; k++) {
		const struct sp_piece *p = &L->p[k];
		int32_t lo = p->c0 > c0 ? p->c0 : c0;
		int32_t hi = p->c0 + p->n < c0 + n ? p->c0 + p->n : c0 + n;
		struct sp_piece *q;

		if (lo >= hi)
			continue;
		if (out->n == SP_MAX_PIECES)
			return -1;
		q = &out->p[out->n++];
		q->c0 = lo - c0;
		q->n = hi - lo;
		q->phys = p->phys;
		q->off = p->off + (lo - p->c0) * p->stride;
		q->stride = p->stride;
	}
	return 0;
}

/*
 * SHUFFLE: input channel i*m + k is output channel k*g + i (C = g*m). Input
 * group i is one piece if output channels i, i+g, ... share a piece of Lo.
 */
int sp_loc_unshuffle(const struct sp_loc *Lo, int32_t C, int32_t groups, struct sp_loc *out)
{
	int32_t m = C / groups;

	if (groups > SP_MAX_PIECES)
		return -1;
	out->n = 0;
	for (int32_t i = 0; i < groups; i++) {
		int32_t j = i, jl = (m - 1) * groups + i;
		const struct sp_piece *p = NULL;

		for (int32_t k = 0; k < Lo->n; k++)
			if (j >= Lo->p[k].c0 && jl < Lo->p[k].c0 + Lo->p[k].n)
				p = &Lo->p[k];
		if (!p)
			return -1;
		out->p[out->n].c0 = i * m;
		out->p[out->n].n = m;
		out->p[out->n].phys = p->phys;
		out->p[out->n].off = p->off + (j - p->c0) * p->stride;
		out->p[out->n].stride = groups * p->stride;
		out->n++;
	}
	return 0;
}

int sp_loc_append(struct sp_loc *out, const struct sp_loc *L, int32_t s0, int32_t n, int32_t at)
{
	struct sp_loc tmp;

	if (sp_loc_slice(L, s0, n, &tmp))
		return -1;
	for (int32_t k = 0; k < tmp.n; k++) {
		struct sp_piece q = tmp.p[k], *e = out->n ? &out->p[out->n - 1] : NULL;

		q.c0 += at;
		if (e && e->phys == q.phys && e->c0 + e->n == q.c0 && e->stride == q.stride &&
		    e->off + e->n * e->stride == q.off) {
			e->n += q.n;
			continue;
		}
		if (out->n == SP_MAX_PIECES)
			return -1;
		out->p[out->n++] = q;
	}
	return 0;
}
