/*
 * A first-fit allocator of device memory in granules the caller chooses
 * (4 KiB on the usb and card backends): the free ranges sorted by address,
 * neighbours merged on free. It hands out addresses only; the caller owns
 * the memory. Internal to driver/ (driver/usb.c, driver/card.c).
 */
#ifndef NPU_DRIVER_DRAM_ALLOC_H
#define NPU_DRIVER_DRAM_ALLOC_H

#include <stddef.h>
#include <stdint.h>

struct npui_dram_range {
	uint64_t addr, size;
};

struct npui_dram {
	struct npui_dram_range *free; /* sorted by address, none adjacent */
	size_t nfree, cap;
};

/* Start with [base, base+size) free. Returns 0, or -1 (size 0, no memory). */
int npui_dram_init(struct npui_dram *d, uint64_t base, uint64_t size);
void npui_dram_fini(struct npui_dram *d);
/* First fit of size bytes (a multiple of the caller's granule). Returns 0
 * and *addr, or -1 when no free range is large enough. */
int npui_dram_alloc(struct npui_dram *d, uint64_t size, uint64_t *addr);
/* Give [addr, addr+size) back, merged with its free neighbours. Returns -1
 * only when the list cannot grow (the range is then lost to this
 * allocator, not corrupted). */
int npui_dram_free(struct npui_dram *d, uint64_t addr, uint64_t size);

#endif /* NPU_DRIVER_DRAM_ALLOC_H */
