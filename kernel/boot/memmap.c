/*
 * Boot-time free-memory ranges (see memmap.h for the invariant).
 */
#include "boot/memmap.h"

#include "kernel.h"

void memmap_init(struct memmap *m)
{
    m->count = 0;
}

static void remove_at(struct memmap *m, unsigned i)
{
    memmove(&m->ranges[i], &m->ranges[i + 1], (m->count - i - 1) * sizeof(m->ranges[0]));
    m->count--;
}

static bool insert_at(struct memmap *m, unsigned i, paddr_t base, uint64_t size)
{
    if (m->count == MEMMAP_MAX_RANGES)
        return false;
    memmove(&m->ranges[i + 1], &m->ranges[i], (m->count - i) * sizeof(m->ranges[0]));
    m->ranges[i] = (struct phys_region){ base, size };
    m->count++;
    return true;
}

/* Joins range i with its successor while they touch or overlap. */
static void merge_forward(struct memmap *m, unsigned i)
{
    while (i + 1 < m->count) {
        struct phys_region *a = &m->ranges[i], *b = &m->ranges[i + 1];
        if (b->base > a->base + a->size)
            break;
        paddr_t end = b->base + b->size > a->base + a->size ? b->base + b->size
                                                             : a->base + a->size;
        a->size = end - a->base;
        remove_at(m, i + 1);
    }
}

/* Grows an existing range that [start, end) touches or overlaps; true if
 * one was found (then no new slot is needed). */
static bool extend_touching(struct memmap *m, paddr_t start, paddr_t end)
{
    for (unsigned i = 0; i < m->count; i++) {
        struct phys_region *r = &m->ranges[i];
        if (start > r->base + r->size || r->base > end)
            continue;
        paddr_t r_end = r->base + r->size > end ? r->base + r->size : end;
        r->base = r->base < start ? r->base : start;
        r->size = r_end - r->base;
        return true;
    }
    return false;
}

bool memmap_add(struct memmap *m, paddr_t base, uint64_t size)
{
    if (size == 0 || base + size < base)
        return true;
    paddr_t start = ALIGN_UP(base, (paddr_t)MEMMAP_PAGE);
    paddr_t end = ALIGN_DOWN(base + size, (paddr_t)MEMMAP_PAGE);
    if (start < base || end <= start)
        return true;
    if (!extend_touching(m, start, end)) {
        unsigned i = 0;
        while (i < m->count && m->ranges[i].base < start)
            i++;
        if (!insert_at(m, i, start, end - start))
            return false;
    }
    /* A grown range may now reach its neighbours (on either side). */
    for (unsigned j = 0; j + 1 < m->count;) {
        unsigned before = m->count;
        merge_forward(m, j);
        if (m->count == before)
            j++;
    }
    return true;
}

bool memmap_remove(struct memmap *m, paddr_t base, uint64_t size)
{
    if (size == 0)
        return true;
    paddr_t start = ALIGN_DOWN(base, (paddr_t)MEMMAP_PAGE);
    paddr_t end = base + size < base ? ~(paddr_t)0 : base + size;
    end = end > ~(paddr_t)0 - MEMMAP_PAGE ? ~(paddr_t)0 : ALIGN_UP(end, (paddr_t)MEMMAP_PAGE);
    bool ok = true;
    for (unsigned i = 0; i < m->count;) {
        struct phys_region *r = &m->ranges[i];
        paddr_t r_end = r->base + r->size;
        if (r_end <= start || r->base >= end) {
            i++;
            continue;
        }
        paddr_t left_end = start > r->base ? start : r->base;
        paddr_t right_start = end < r_end ? end : r_end;
        paddr_t r_base = r->base;
        remove_at(m, i);
        /* Put back what lies outside the removed range, left piece first to
         * keep the order, and step over what was put back. */
        if (left_end > r_base) {
            if (insert_at(m, i, r_base, left_end - r_base))
                i++;
            else
                ok = false;
        }
        if (right_start < r_end) {
            if (insert_at(m, i, right_start, r_end - right_start))
                i++;
            else
                ok = false;
        }
    }
    return ok;
}

paddr_t memmap_alloc_page(struct memmap *m, paddr_t min)
{
    for (unsigned i = 0; i < m->count; i++) {
        struct phys_region *r = &m->ranges[i];
        if (r->base + r->size <= min)
            continue;
        paddr_t page = r->base >= min ? r->base : ALIGN_UP(min, (paddr_t)MEMMAP_PAGE);
        if (page + MEMMAP_PAGE > r->base + r->size)
            continue;
        if (page == r->base) {
            r->base += MEMMAP_PAGE;
            r->size -= MEMMAP_PAGE;
            if (r->size == 0)
                remove_at(m, i);
        } else if (!memmap_remove(m, page, MEMMAP_PAGE)) {
            return 0;
        }
        return page;
    }
    return 0;
}

paddr_t memmap_alloc_aligned(struct memmap *m, unsigned bits, paddr_t min)
{
    uint64_t size = 1ull << bits;
    for (unsigned i = 0; i < m->count; i++) {
        const struct phys_region *r = &m->ranges[i];
        paddr_t lo = r->base > min ? r->base : min;
        paddr_t start = ALIGN_UP(lo, (paddr_t)size);
        if (start < lo || start >= r->base + r->size || r->base + r->size - start < size)
            continue;
        return memmap_remove(m, start, size) ? start : 0;
    }
    return 0;
}

uint64_t memmap_total(const struct memmap *m)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < m->count; i++)
        total += m->ranges[i].size;
    return total;
}
