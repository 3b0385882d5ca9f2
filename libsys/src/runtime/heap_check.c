/*
 * Whole-heap verification (bk_heap_check) and the diagnosis of a header
 * that fails its canary: both walk the blocks from the prologue, so they
 * take time linear in the heap and run only in tests or on an error path.
 */
#include "heap_block.h"

void bk__heap_diagnose(const struct bk_heap *h, const struct block *b, struct bk_heap_report *r)
{
    const struct block *before = NULL, *c = block_at(h, 0);
    for (;;) {
        if (c == b) {
            bk__heap_fail(h, r, BK_HEAP_CORRUPT_HEADER, b, before);
            return;
        }
        bool fits = c->units >= 1 && c->units <= (size_t)(h->end - (const char *)c) / UNIT;
        if (!header_ok(c) || !fits) {
            bk__heap_fail(h, r, BK_HEAP_CORRUPT_HEADER, c, before); /* broken before reaching b */
            return;
        }
        if (c == epilogue(h) || (const char *)b < (const char *)next_of(c))
            break;
        before = c;
        c = next_of(c);
    }
    bk__heap_fail(h, r, BK_HEAP_FOREIGN_POINTER, NULL, NULL);
}

/* Walks the blocks (invariants 1-4 and the free blocks' links), counting
 * what the stats and the bins must agree with. */
static void check_blocks(const struct bk_heap *h, struct bk_heap_stats *seen, size_t *free_blocks,
                         struct bk_heap_report *r)
{
    struct block *before = block_at(h, 0), *b = block_at(h, 1);
    if (!header_ok(before) || before->flags != (BLOCK_USED | BLOCK_EDGE) || before->units != 1) {
        bk__heap_fail(h, r, BK_HEAP_CORRUPT_HEADER, before, NULL);
        return;
    }
    for (; b != epilogue(h); before = b, b = next_of(b)) {
        size_t room = (size_t)((const char *)epilogue(h) - (const char *)b) / UNIT;
        if (!header_ok(b) || b->units < MIN_UNITS || b->units > room || b->flags & BLOCK_EDGE ||
            b->prev_units != before->units || (!is_used(b) && !is_used(before))) {
            bk__heap_fail(h, r, BK_HEAP_CORRUPT_HEADER, b, before);
            return;
        }
        if (!is_used(b) && !bk__heap_free_block_ok(h, b, r))
            return;
        if (is_used(b)) {
            seen->in_use += payload_bytes(b);
            seen->blocks_in_use++;
        } else {
            (*free_blocks)++;
        }
    }
    if (!header_ok(b) || b->flags != (BLOCK_USED | BLOCK_EDGE) || b->prev_units != before->units)
        bk__heap_fail(h, r, BK_HEAP_CORRUPT_HEADER, b, before);
}

/* Follows every bin's list: each member free, of the bin's size, and (with
 * check_blocks' count) every free block listed exactly once. */
static void check_bins(const struct bk_heap *h, size_t free_blocks, struct bk_heap_report *r)
{
    size_t listed = 0;
    for (unsigned bin = 0; bin < BK_HEAP_BINS; bin++) {
        bool marked = (h->nonempty[bin / 64] >> (bin % 64)) & 1;
        if (marked != (h->bins[bin] != 0)) {
            bk__heap_fail(h, r, BK_HEAP_CORRUPT_FREE_LIST, NULL, NULL);
            return;
        }
        for (uint32_t offset = h->bins[bin]; offset != 0 && listed <= free_blocks;
             offset = links_of(block_at(h, offset))->next) {
            struct block *b = block_at(h, offset);
            if (!offset_ok(h, offset) || !bk__heap_free_block_ok(h, b, r) || bin_of(b->units) != bin) {
                bk__heap_fail(h, r, BK_HEAP_CORRUPT_FREE_LIST, offset_ok(h, offset) ? b : NULL, NULL);
                return;
            }
            listed++;
        }
    }
    if (listed != free_blocks)
        bk__heap_fail(h, r, BK_HEAP_CORRUPT_FREE_LIST, NULL, NULL);
}

static void check_heap(const struct bk_heap *h, struct bk_heap_report *r)
{
    struct bk_heap_stats seen = { 0 };
    size_t free_blocks = 0;
    if (h->base) {
        check_blocks(h, &seen, &free_blocks, r);
        if (r->error == BK_HEAP_OK)
            check_bins(h, free_blocks, r);
        seen.mapped = (size_t)(h->end - h->base);
    }
    if (r->error == BK_HEAP_OK &&
        (seen.in_use != h->stats.in_use || seen.blocks_in_use != h->stats.blocks_in_use ||
         seen.mapped != h->stats.mapped || h->stats.in_use > h->stats.peak_in_use))
        bk__heap_fail(h, r, BK_HEAP_BAD_STATS, NULL, NULL);
}

bool bk_heap_check(struct bk_heap *heap)
{
    struct bk_heap_report r = { .operation = "check" };
    heap_lock(heap);
    check_heap(heap, &r);
    heap_finish(heap, &r);
    return r.error == BK_HEAP_OK;
}
