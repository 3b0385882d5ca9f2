/*
 * The boot-time physical memory map: the set of free page ranges the kernel
 * may still hand out. Built from the RAM the firmware reported minus every
 * reserved range; the boot allocator takes pages from it for the root task,
 * and whatever is left becomes the root task's untyped memory. After boot it
 * is never consulted again (the kernel allocates nothing after boot).
 *
 * Invariant: ranges are page aligned, non-empty, sorted by base and disjoint.
 */
#pragma once

#include "boot/boot_params.h"
#include "types.h"

#define MEMMAP_MAX_RANGES 64
#define MEMMAP_PAGE 4096u

struct memmap {
    struct phys_region ranges[MEMMAP_MAX_RANGES];
    unsigned count;
};

void memmap_init(struct memmap *m);

/* Adds [base, base + size) shrunk inward to page boundaries; merges with
 * neighbours. Returns false if the table is full (the range is dropped). */
bool memmap_add(struct memmap *m, paddr_t base, uint64_t size);

/* Removes [base, base + size) grown outward to page boundaries. Returns
 * false if a split needed a slot the table does not have (then the whole
 * range containing it is dropped, which is safe: memory is lost, never
 * handed out twice). */
bool memmap_remove(struct memmap *m, paddr_t base, uint64_t size);

/* Takes one page from the lowest range at or above `min`; returns 0 when
 * none is left. */
paddr_t memmap_alloc_page(struct memmap *m, paddr_t min);

/* Takes 2^bits bytes aligned to their size from the lowest range that has
 * them at or above `min`; returns 0 when none has. */
paddr_t memmap_alloc_aligned(struct memmap *m, unsigned bits, paddr_t min);

/* Total bytes free. */
uint64_t memmap_total(const struct memmap *m);
