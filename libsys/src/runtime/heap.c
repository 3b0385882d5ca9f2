/*
 * The heap's allocator core: boundary-tagged blocks in one region that grows
 * upward through the heap's grow callback, free blocks kept in segregated
 * bins. No syscalls here (see heap_pages.c for the process heap's pages).
 * The block layout and the invariants are in heap_block.h; heap_check.c
 * walks the whole heap.
 *
 * Every operation first checks the headers and links it will rely on and
 * only then changes the heap, so a detected misuse leaves the heap as it was.
 * Headers absorbed by a merge stay in memory marked free, which lets a later
 * second free of that pointer still be recognised as a double free.
 */
#include "heap_block.h"

/* Units of a block with room for `size` bytes; 0 when no region could hold
 * one (at most half the largest region). */
static uint32_t units_for(size_t size)
{
    if (size > BK_HEAP_REGION_MAX / 2)
        return 0;
    size_t units = (size + UNIT - 1) / UNIT + 1;
    return units < MIN_UNITS ? MIN_UNITS : (uint32_t)units;
}

/* ---- Reports and counters ---------------------------------------------- */

void bk__heap_fail(const struct bk_heap *h, struct bk_heap_report *r, enum bk_heap_error error,
               const struct block *b, const struct block *before)
{
    if (r->error != BK_HEAP_OK)
        return;
    r->error = error;
    r->block = b ? (const void *)(b + 1) : NULL;
    r->previous = before && (const char *)before != h->base ? (const void *)(before + 1) : NULL;
}

static void count_alloc(struct bk_heap *h, const struct block *b)
{
    h->stats.in_use += payload_bytes(b);
    h->stats.blocks_in_use++;
    if (h->stats.in_use > h->stats.peak_in_use)
        h->stats.peak_in_use = h->stats.in_use;
}

static void count_free(struct bk_heap *h, const struct block *b)
{
    h->stats.in_use -= payload_bytes(b);
    h->stats.blocks_in_use--;
}

/* ---- Bins --------------------------------------------------------------- */

/* The first bin at or above `from` with a block, or BK_HEAP_BINS. */
static unsigned first_nonempty(const struct bk_heap *h, unsigned from)
{
    const unsigned words = sizeof(h->nonempty) / sizeof(h->nonempty[0]);
    for (unsigned w = from / 64; w < words; w++) {
        uint64_t bits = h->nonempty[w];
        if (w == from / 64)
            bits &= ~0ull << (from % 64);
        if (bits) {
            unsigned bin = w * 64 + (unsigned)__builtin_ctzll(bits);
            return bin < BK_HEAP_BINS ? bin : BK_HEAP_BINS;
        }
    }
    return BK_HEAP_BINS;
}

static void bin_insert(struct bk_heap *h, struct block *b)
{
    unsigned bin = bin_of(b->units);
    uint32_t offset = offset_of(h, b), head = h->bins[bin];
    links_of(b)->next = head;
    links_of(b)->prev = 0;
    if (head)
        links_of(block_at(h, head))->prev = offset;
    h->bins[bin] = offset;
    h->nonempty[bin / 64] |= 1ull << (bin % 64);
}

/* Takes `b` out of its list (checked first with free_block_ok). */
static void bin_remove(struct bk_heap *h, struct block *b)
{
    unsigned bin = bin_of(b->units);
    const struct free_links *l = links_of(b);
    if (l->prev)
        links_of(block_at(h, l->prev))->next = l->next;
    else
        h->bins[bin] = l->next;
    if (l->next)
        links_of(block_at(h, l->next))->prev = l->prev;
    if (!h->bins[bin])
        h->nonempty[bin / 64] &= ~(1ull << (bin % 64));
}

bool bk__heap_free_block_ok(const struct bk_heap *h, struct block *b, struct bk_heap_report *r)
{
    if (!header_ok(b) || is_used(b) || b->units < MIN_UNITS) {
        bk__heap_fail(h, r, BK_HEAP_CORRUPT_HEADER, b, NULL);
        return false;
    }
    const struct free_links *l = links_of(b);
    uint32_t self = offset_of(h, b);
    bool ok = (l->next == 0 || offset_ok(h, l->next)) && (l->prev == 0 || offset_ok(h, l->prev));
    if (ok && l->prev)
        ok = links_of(block_at(h, l->prev))->next == self;
    else if (ok)
        ok = h->bins[bin_of(b->units)] == self;
    if (ok && l->next)
        ok = links_of(block_at(h, l->next))->prev == self;
    if (!ok)
        bk__heap_fail(h, r, BK_HEAP_CORRUPT_FREE_LIST, b, NULL);
    return ok;
}

/* ---- Freeing and splitting -------------------------------------------- */

/* Turns `b` (in no list; its neighbours checked) into a free block merged
 * with free neighbours, and bins the result. */
static void make_free(struct bk_heap *h, struct block *b, uintptr_t caller)
{
    struct block *next = next_of(b), *prev = prev_of(b);
    uint32_t units = b->units;
    /* Marked free first: if it is absorbed, its header still says "freed". */
    write_header(b, 0, units, b->prev_units);
    links_of(b)->freed_by = caller;
    if (!is_used(next)) {
        bin_remove(h, next);
        units += next->units;
    }
    if (!is_used(prev)) {
        bin_remove(h, prev);
        units += prev->units;
        b = prev;
    }
    write_header(b, 0, units, b->prev_units);
    links_of(b)->freed_by = caller;
    set_prev_units(next_of(b), units);
    bin_insert(h, b);
}

/* Shortens the used block `b` to `units`, freeing the rest when it can
 * make a block of its own. */
static void trim(struct bk_heap *h, struct block *b, uint32_t units)
{
    if (b->units - units < MIN_UNITS)
        return;
    struct block *tail = (struct block *)((char *)b + units * UNIT);
    write_header(tail, BLOCK_USED, b->units - units, units);
    write_header(b, BLOCK_USED, units, b->prev_units);
    make_free(h, tail, 0);
}

/* ---- Growing ------------------------------------------------------------ */

/* Lays out a fresh region: prologue, one block, epilogue. */
static void start_region(struct bk_heap *h, char *mem, size_t bytes)
{
    h->base = mem;
    h->end = mem + bytes;
    uint32_t units = region_units(h) - 2;
    struct block *b = block_at(h, 1);
    write_header(block_at(h, 0), BLOCK_USED | BLOCK_EDGE, 1, 0);
    write_header(b, BLOCK_USED, units, 1);
    write_header(epilogue(h), BLOCK_USED | BLOCK_EDGE, 1, units);
    make_free(h, b, 0);
}

/* Appends `bytes` at the end: the old epilogue becomes a block's header. */
static void extend_region(struct bk_heap *h, size_t bytes)
{
    struct block *b = epilogue(h);
    uint32_t units = (uint32_t)(bytes / UNIT);
    h->end += bytes;
    write_header(b, BLOCK_USED, units, b->prev_units);
    write_header(epilogue(h), BLOCK_USED | BLOCK_EDGE, 1, units);
    make_free(h, b, 0);
}

/* Units a free last block would add to an extension (0 if it is used);
 * checks it, since the extension will merge with it. */
static bool free_tail_units(const struct bk_heap *h, uint32_t *units, struct bk_heap_report *r)
{
    *units = 0;
    if (!h->base)
        return true;
    struct block *end = epilogue(h);
    if (!header_ok(end)) {
        bk__heap_fail(h, r, BK_HEAP_CORRUPT_HEADER, end, NULL);
        return false;
    }
    struct block *last = prev_of(end);
    if (!header_ok(last)) {
        bk__heap_diagnose(h, last, r);
        return false;
    }
    if (!is_used(last)) {
        if (!bk__heap_free_block_ok(h, last, r))
            return false;
        *units = last->units;
    }
    return true;
}

/* Grows the region so that a free block of at least `units` ends it.
 * False when grow has no memory, or (reported) a check fails. */
static bool grow_region(struct bk_heap *h, uint32_t units, struct bk_heap_report *r)
{
    uint32_t have;
    if (!h->grow || !free_tail_units(h, &have, r))
        return false;
    size_t bytes = (units > have ? units - have : 0) * UNIT + (h->base ? 0 : 2 * UNIT);
    if (bytes < BK_HEAP_GROW_MIN)
        bytes = BK_HEAP_GROW_MIN;
    bytes = (bytes + BK_HEAP_PAGE - 1) & ~(size_t)(BK_HEAP_PAGE - 1);
    size_t mapped = h->base ? (size_t)(h->end - h->base) : 0;
    if (bytes > BK_HEAP_REGION_MAX - UNIT - mapped)
        return false;
    char *mem = h->grow(h->ctx, bytes);
    if (!mem)
        return false;
    if ((uintptr_t)mem % BK_HEAP_PAGE != 0 || (h->base && mem != h->end)) {
        bk__heap_fail(h, r, BK_HEAP_BAD_GROW, NULL, NULL);
        r->block = mem;
        return false;
    }
    if (h->base)
        extend_region(h, bytes);
    else
        start_region(h, mem, bytes);
    h->stats.mapped += bytes;
    return true;
}

/* ---- Finding blocks ----------------------------------------------------- */

/* A free block of at least `units`: first fit within the request's own bin
 * (a wide bin holds smaller sizes too), else the head of the first larger
 * non-empty bin, whose every block fits. */
static struct block *find_free(struct bk_heap *h, uint32_t units, struct bk_heap_report *r)
{
    unsigned bin = bin_of(units);
    for (uint32_t offset = h->bins[bin]; offset != 0;) {
        struct block *b = block_at(h, offset);
        if (!bk__heap_free_block_ok(h, b, r))
            return NULL;
        if (b->units >= units)
            return b;
        offset = links_of(b)->next;
    }
    bin = first_nonempty(h, bin + 1);
    if (bin == BK_HEAP_BINS)
        return NULL;
    struct block *b = block_at(h, h->bins[bin]);
    return bk__heap_free_block_ok(h, b, r) ? b : NULL;
}

/* A used block of at least `units` (not yet counted in the stats), from
 * the bins or by growing. NULL when out of memory or `r` holds a problem. */
static struct block *take_block(struct bk_heap *h, uint32_t units, struct bk_heap_report *r)
{
    struct block *b = h->base ? find_free(h, units, r) : NULL;
    if (!b && r->error == BK_HEAP_OK && grow_region(h, units, r))
        b = find_free(h, units, r);
    if (!b)
        return NULL;
    bin_remove(h, b);
    write_header(b, BLOCK_USED, b->units, b->prev_units);
    trim(h, b, units);
    return b;
}

/* The used block whose payload is `ptr`, after every check free() needs:
 * the pointer is the payload of a live block, which is in use, and the
 * neighbours it may merge with are sound. NULL with `r` filled otherwise. */
static struct block *used_block(struct bk_heap *h, const void *ptr, struct bk_heap_report *r)
{
    const char *p = ptr;
    if (!h->base || p < h->base + 2 * UNIT || p >= h->end || (uintptr_t)p % UNIT != 0) {
        bk__heap_fail(h, r, BK_HEAP_FOREIGN_POINTER, NULL, NULL);
        return NULL;
    }
    struct block *b = (struct block *)(uintptr_t)ptr - 1;
    if (!header_ok(b)) {
        bk__heap_diagnose(h, b, r);
        return NULL;
    }
    if (!is_used(b)) {
        bk__heap_fail(h, r, BK_HEAP_DOUBLE_FREE, b, NULL);
        r->freed_by = links_of(b)->freed_by;
        return NULL;
    }
    struct block *next = next_of(b), *prev = prev_of(b);
    if ((const char *)next > h->end - UNIT || !header_ok(next) || next->prev_units != b->units) {
        bk__heap_fail(h, r, BK_HEAP_CORRUPT_HEADER, next, b); /* b ran over its end */
        return NULL;
    }
    if ((const char *)prev < h->base || !header_ok(prev) || prev->units != b->prev_units) {
        bk__heap_diagnose(h, prev, r);
        return NULL;
    }
    if ((!is_used(next) && !bk__heap_free_block_ok(h, next, r)) ||
        (!is_used(prev) && !bk__heap_free_block_ok(h, prev, r)))
        return NULL;
    return b;
}

/* ---- Resizing and aligning -------------------------------------------- */

/* Makes the used block `b` hold `units`, absorbing a free block after it or
 * growing the region when `b` is last. False when that is not possible. */
static bool resize_in_place(struct bk_heap *h, struct block *b, uint32_t units,
                            struct bk_heap_report *r)
{
    struct block *next = next_of(b);
    uint64_t room = b->units + (is_used(next) ? 0 : next->units);
    bool last = is_used(next) ? next == epilogue(h) : next_of(next) == epilogue(h);
    if (room < units && last) {
        if (!grow_region(h, units - b->units, r))
            return false;
        next = next_of(b);
        room = b->units + next->units;
    }
    if (room < units)
        return false;
    count_free(h, b);
    if (!is_used(next)) {
        bin_remove(h, next);
        write_header(b, BLOCK_USED, (uint32_t)room, b->prev_units);
        set_prev_units(next_of(b), b->units);
    }
    trim(h, b, units);
    count_alloc(h, b);
    return true;
}

/* `b` resized to `units`: in place, or moved to a new block. */
static struct block *resize(struct bk_heap *h, struct block *b, uint32_t units, uintptr_t caller,
                            struct bk_heap_report *r)
{
    if (resize_in_place(h, b, units, r))
        return b;
    if (r->error != BK_HEAP_OK)
        return NULL;
    struct block *moved = take_block(h, units, r);
    if (!moved)
        return NULL;
    count_alloc(h, moved);
    __builtin_memcpy(moved + 1, b + 1, payload_bytes(b)); /* moved only to grow */
    count_free(h, b);
    make_free(h, b, caller);
    return moved;
}

/* Cuts the front of the fresh used block `b` (at least `units` plus
 * alignment / 16 + MIN_UNITS) off as a free block so that the payload of
 * what remains is aligned, then trims that to `units`. */
static struct block *align_block(struct bk_heap *h, struct block *b, size_t alignment,
                                 uint32_t units)
{
    uintptr_t p = (uintptr_t)(b + 1);
    uintptr_t aligned = (p + alignment - 1) & ~(uintptr_t)(alignment - 1);
    if (aligned != p && (aligned - p) / UNIT < MIN_UNITS)
        aligned += alignment; /* the front must be a block of its own */
    if (aligned != p) {
        uint32_t front = (uint32_t)((aligned - p) / UNIT);
        struct block *rest = (struct block *)aligned - 1;
        write_header(rest, BLOCK_USED, b->units - front, front);
        write_header(b, BLOCK_USED, front, b->prev_units);
        set_prev_units(next_of(rest), rest->units);
        make_free(h, b, 0);
        b = rest;
    }
    trim(h, b, units);
    return b;
}

/* ---- The interface ------------------------------------------------------ */

void bk_heap_init(struct bk_heap *heap, bk_heap_grow_fn *grow, bk_heap_report_fn *report,
                  void *ctx)
{
    __builtin_memset(heap, 0, sizeof(*heap));
    heap->grow = grow;
    heap->report = report;
    heap->ctx = ctx;
}

void bk_heap_set_lock(struct bk_heap *heap, bk_heap_lock_fn *lock_fn, bk_heap_lock_fn *unlock_fn,
                      void *lock_ctx)
{
    heap->lock = lock_fn;
    heap->unlock = unlock_fn;
    heap->lock_ctx = lock_ctx;
}

void *bk_heap_alloc(struct bk_heap *heap, size_t size)
{
    struct bk_heap_report r = { .operation = "malloc" };
    uint32_t units = units_for(size);
    if (!units)
        return NULL;
    heap_lock(heap);
    struct block *b = take_block(heap, units, &r);
    if (b)
        count_alloc(heap, b);
    heap_finish(heap, &r);
    return b ? b + 1 : NULL;
}

void *bk_heap_calloc(struct bk_heap *heap, size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes))
        return NULL;
    void *p = bk_heap_alloc(heap, bytes);
    if (p)
        __builtin_memset(p, 0, bytes);
    return p;
}

void *bk_heap_memalign(struct bk_heap *heap, size_t alignment, size_t size)
{
    if (alignment & (alignment - 1))
        return NULL;
    if (alignment <= UNIT)
        return bk_heap_alloc(heap, size);
    uint32_t units = units_for(size);
    if (!units || alignment > BK_HEAP_REGION_MAX / 4)
        return NULL;
    struct bk_heap_report r = { .operation = "aligned_alloc" };
    heap_lock(heap);
    struct block *b = take_block(heap, units + (uint32_t)(alignment / UNIT) + MIN_UNITS, &r);
    if (b) {
        b = align_block(heap, b, alignment, units);
        count_alloc(heap, b);
    }
    heap_finish(heap, &r);
    return b ? b + 1 : NULL;
}

void bk_heap_free(struct bk_heap *heap, void *ptr, uintptr_t caller)
{
    if (!ptr)
        return;
    struct bk_heap_report r = { .operation = "free", .pointer = ptr };
    heap_lock(heap);
    struct block *b = used_block(heap, ptr, &r);
    if (b) {
        count_free(heap, b);
        make_free(heap, b, caller);
    }
    heap_finish(heap, &r);
}

void *bk_heap_realloc(struct bk_heap *heap, void *ptr, size_t size, uintptr_t caller)
{
    if (!ptr)
        return bk_heap_alloc(heap, size);
    struct bk_heap_report r = { .operation = "realloc", .pointer = ptr };
    uint32_t units = units_for(size);
    heap_lock(heap);
    struct block *b = used_block(heap, ptr, &r);
    if (b)
        b = units ? resize(heap, b, units, caller, &r) : NULL;
    heap_finish(heap, &r);
    return b ? b + 1 : NULL;
}

size_t bk_heap_usable_size(struct bk_heap *heap, const void *ptr)
{
    if (!ptr)
        return 0;
    struct bk_heap_report r = { .operation = "usable_size", .pointer = ptr };
    heap_lock(heap);
    const struct block *b = used_block(heap, ptr, &r);
    size_t bytes = b ? payload_bytes(b) : 0;
    heap_finish(heap, &r);
    return bytes;
}

void bk_heap_reset(struct bk_heap *heap)
{
    heap_lock(heap);
    heap->base = NULL;
    heap->end = NULL;
    __builtin_memset(heap->nonempty, 0, sizeof(heap->nonempty));
    __builtin_memset(heap->bins, 0, sizeof(heap->bins));
    __builtin_memset(&heap->stats, 0, sizeof(heap->stats));
    if (heap->unlock)
        heap->unlock(heap->lock_ctx);
}

void bk_heap_get_stats(struct bk_heap *heap, struct bk_heap_stats *out)
{
    heap_lock(heap);
    *out = heap->stats;
    if (heap->unlock)
        heap->unlock(heap->lock_ctx);
}

const char *bk_heap_error_text(enum bk_heap_error error)
{
    switch (error) {
    case BK_HEAP_OK: return "no error";
    case BK_HEAP_FOREIGN_POINTER: return "not a pointer from this heap";
    case BK_HEAP_DOUBLE_FREE: return "double free";
    case BK_HEAP_CORRUPT_HEADER: return "block header overwritten";
    case BK_HEAP_CORRUPT_FREE_LIST: return "free block written after free";
    case BK_HEAP_BAD_GROW: return "grow returned memory that does not extend the heap";
    case BK_HEAP_BAD_STATS: return "counters disagree with the blocks";
    }
    return "?";
}
