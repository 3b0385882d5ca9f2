/*
 * The heap's blocks (private to heap.c and heap_check.c): the header
 * structure, its accessors, and the checks both files make.
 *
 * The region [base, end), base page-aligned:
 *
 *   prologue | block | block | ... | block | epilogue
 *
 * Every block starts with a 16-byte header (struct block) and its payload
 * follows, so payloads are 16-byte aligned and the header is the whole
 * overhead of an allocated block. The prologue and the epilogue are bare
 * headers marked used, so no block ever merges past them. A free block
 * keeps, at the start of its payload, its list links and the return
 * address of the free that released it, so the smallest block is two units
 * (32 bytes).
 *
 * Invariants (bk_heap_check, in heap_check.c, verifies each):
 *  1. The headers tile the region: from the prologue, each header plus its
 *     `units` * 16 bytes is the next header, and the epilogue ends it.
 *  2. Each header's canary matches its address and fields. The canary comes
 *     first, so an overrun from the block before hits it first.
 *  3. Each header's prev_units equals the units of the block before it, so
 *     a block finds its left neighbour without a footer.
 *  4. No two free blocks touch: free merges with free neighbours.
 *  5. Each free block is in the list of bin_of(units), doubly linked by
 *     offsets from base in units (0, the prologue, means none).
 *  6. stats.in_use / blocks_in_use count the used blocks' payloads.
 */
#pragma once

#include <bulkhead/heap.h>

#define UNIT ((size_t)BK_HEAP_ALIGN)
#define MIN_UNITS 2u                 /* header + free links */
#define CANARY_SEED 0x6865617063616e61ull

/* Header flags. */
#define BLOCK_USED 1u
#define BLOCK_EDGE 2u                /* the prologue or the epilogue */

struct block {
    uint32_t canary;                 /* canary_of(this header) */
    uint32_t flags;                  /* BLOCK_* */
    uint32_t units;                  /* size in 16-byte units, header included */
    uint32_t prev_units;             /* units of the block before (0: the prologue) */
};

/* At the start of a free block's payload. */
struct free_links {
    uint32_t next, prev;             /* offsets of list neighbours; 0: none */
    uintptr_t freed_by;              /* caller of the free that released it */
};

_Static_assert(sizeof(struct block) == BK_HEAP_ALIGN, "a header is one unit");
_Static_assert(sizeof(struct free_links) <= (MIN_UNITS - 1) * BK_HEAP_ALIGN,
               "links fit in the smallest block");
_Static_assert(BK_HEAP_REGION_MAX / BK_HEAP_ALIGN - 1 <= UINT32_MAX, "offsets fit 32 bits");

/* ---- Headers ----------------------------------------------------------- */

/* A hash of the header's address and fields: a header copied, shifted or
 * partly overwritten no longer matches. */
static inline uint32_t canary_of(const struct block *b)
{
    uint64_t x = (uint64_t)(uintptr_t)b ^ CANARY_SEED;
    x ^= ((uint64_t)b->units << 32 | b->prev_units) * 0x9e3779b97f4a7c15ull;
    x ^= (uint64_t)b->flags * 0xc2b2ae3d27d4eb4full;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return (uint32_t)(x >> 32);
}

static inline void write_header(struct block *b, uint32_t flags, uint32_t units,
                                uint32_t prev_units)
{
    b->flags = flags;
    b->units = units;
    b->prev_units = prev_units;
    b->canary = canary_of(b);
}

static inline bool header_ok(const struct block *b)
{
    return b->canary == canary_of(b);
}

static inline bool is_used(const struct block *b)
{
    return b->flags & BLOCK_USED;
}

static inline void set_prev_units(struct block *b, uint32_t prev_units)
{
    write_header(b, b->flags, b->units, prev_units);
}

static inline struct block *next_of(const struct block *b)
{
    return (struct block *)((char *)b + b->units * UNIT);
}

static inline struct block *prev_of(const struct block *b)
{
    return (struct block *)((char *)b - b->prev_units * UNIT);
}

static inline struct block *block_at(const struct bk_heap *h, uint32_t offset)
{
    return (struct block *)(h->base + offset * UNIT);
}

static inline uint32_t offset_of(const struct bk_heap *h, const struct block *b)
{
    return (uint32_t)(((const char *)b - h->base) / UNIT);
}

static inline struct block *epilogue(const struct bk_heap *h)
{
    return (struct block *)(h->end - UNIT);
}

static inline uint32_t region_units(const struct bk_heap *h)
{
    return (uint32_t)((size_t)(h->end - h->base) / UNIT);
}

static inline struct free_links *links_of(struct block *b)
{
    return (struct free_links *)(b + 1);
}

static inline size_t payload_bytes(const struct block *b)
{
    return (b->units - 1) * UNIT;
}

/* ---- Bins --------------------------------------------------------------
 * One bin per size below 64 units (1 KiB), then four bins per power of
 * two: bin 64 + 4 * (log2(units) - 6) + the next two bits of units. */

static inline unsigned bin_of(uint32_t units)
{
    if (units < 64)
        return units;
    unsigned log = 31u - (unsigned)__builtin_clz(units);
    return 64u + (log - 6u) * 4u + ((units >> (log - 2u)) & 3u);
}

/* Whether `offset` may be a free block's: past the prologue and leaving
 * room for a smallest block before the epilogue. */
static inline bool offset_ok(const struct bk_heap *h, uint32_t offset)
{
    return offset >= 1 && (uint64_t)offset + MIN_UNITS < region_units(h);
}

/* Starts an operation: takes the lock, if the heap has one. */
static inline void heap_lock(struct bk_heap *h)
{
    if (h->lock)
        h->lock(h->lock_ctx);
}

/* Ends an operation: drops the lock, then reports what went wrong. */
static inline void heap_finish(struct bk_heap *h, const struct bk_heap_report *r)
{
    if (h->unlock)
        h->unlock(h->lock_ctx);
    if (r->error != BK_HEAP_OK && h->report)
        h->report(h->ctx, r);
}

/* Records the first problem of an operation: `b` is the block found bad,
 * `before` the block before it (named as the likely overrun). */
void bk__heap_fail(const struct bk_heap *h, struct bk_heap_report *r, enum bk_heap_error error,
               const struct block *b, const struct block *before);

/* Checks the free block `b` before the heap follows or changes its links:
 * its header, and list neighbours that point back at it. False (and `r`
 * filled) when something is wrong. */
bool bk__heap_free_block_ok(const struct bk_heap *h, struct block *b, struct bk_heap_report *r);

/* After a header at `b` failed its canary: walks the heap from the
 * prologue to tell a real block whose header was overwritten (by the block
 * before it; CORRUPT_HEADER) from a pointer into the middle of a block
 * (FOREIGN_POINTER), and fills `r` (heap_check.c). */
void bk__heap_diagnose(const struct bk_heap *h, const struct block *b, struct bk_heap_report *r);
