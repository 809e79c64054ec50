/* First-fit device memory allocator (driver/dram_alloc.h). */
#include <stdlib.h>
#include <string.h>

#include "driver/dram_alloc.h"

static int range_insert(struct npui_dram *d, size_t at, uint64_t addr, uint64_t size)
{
	if (d->nfree == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct npui_dram_range *r = realloc(d->free, cap * sizeof(*r));

		if (!r)
			return -1;
		d->free = r;
		d->cap = cap;
	}
	memmove(&d->free[at + 1], &d->free[at], (d->nfree - at) * sizeof(*d->free));
	d->free[at] = (struct npui_dram_range){addr, size};
	d->nfree++;
	return 0;
}

static void range_remove(struct npui_dram *d, size_t at)
{
	memmove(&d->free[at], &d->free[at + 1], (d->nfree - at - 1) * sizeof(*d->free));
	d->nfree--;
}

int npui_dram_init(struct npui_dram *d, uint64_t base, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	return size ? range_insert(d, 0, base, size) : -1;
}

void npui_dram_fini(struct npui_dram *d)
{
	free(d->free);
	memset(d, 0, sizeof(*d));
}

int npui_dram_alloc(struct npui_dram *d, uint64_t size, uint64_t *addr)
{
	for (size_t i = 0; i < d->nfree; i++) {
		struct npui_dram_range *r = &d->free[i];

		if (r->size < size)
			continue;
		*addr = r->addr;
		r->addr += size;
		r->size -= size;
		if (!r->size)
			range_remove(d, i);
		return 0;
	}
	return -1;
}

int npui_dram_free(struct npui_dram *d, uint64_t addr, uint64_t size)
{
	size_t i = 0;

	while (i < d->nfree && d->free[i].addr < addr)
		i++;
	if (i > 0 && d->free[i - 1].addr + d->free[i - 1].size == addr) {
		d->free[i - 1].size += size;
		if (i < d->nfree && addr + size == d->free[i].addr) {
			d->free[i - 1].size += d->free[i].size;
			range_remove(d, i);
		}
		return 0;
	}
	if (i < d->nfree && addr + size == d->free[i].addr) {
		d->free[i].addr = addr;
		d->free[i].size += size;
		return 0;
	}
	return range_insert(d, i, addr, size);
}
