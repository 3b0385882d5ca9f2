/*
 * The CSpace slot allocator: a bitmap over a range of slots of the root
 * CNode (by default the empty slots the boot info names), so programs can
 * ask for empty slots instead of tracking numbers by hand.
 */
#include <bulkhead/sys.h>

#include "lock.h"

#define SLOT_WORDS ((1u << BK_ROOT_CNODE_BITS) / 64)

static uint64_t used[SLOT_WORDS]; /* bit set: slot taken or outside the range */

static void mark(uint64_t slot, bool taken)
{
    if (taken)
        used[slot / 64] |= 1ull << (slot % 64);
    else
        used[slot / 64] &= ~(1ull << (slot % 64));
}

static bool is_used(uint64_t slot)
{
    return (used[slot / 64] >> (slot % 64)) & 1;
}

void bk_slots_init(uint64_t first, uint64_t end)
{
    uint64_t limit = 1ull << BK_ROOT_CNODE_BITS;
    for (uint64_t s = 0; s < limit; s++)
        mark(s, s < first || s >= end);
}

static uint64_t alloc_range(uint64_t count)
{
    uint64_t limit = 1ull << BK_ROOT_CNODE_BITS, run = 0;
    if (count == 0)
        return 0;
    for (uint64_t s = 0; s < limit; s++) {
        run = is_used(s) ? 0 : run + 1;
        if (run == count) {
            uint64_t first = s + 1 - count;
            for (uint64_t i = first; i <= s; i++)
                mark(i, true);
            return first;
        }
    }
    return 0;
}

uint64_t bk_slots_alloc_range(uint64_t count)
{
    bk__objects_lock();
    uint64_t first = alloc_range(count);
    bk__objects_unlock();
    return first;
}

uint64_t bk_slot_alloc(void)
{
    return bk_slots_alloc_range(1);
}

void bk_slot_free(uint64_t slot)
{
    bk__objects_lock();
    if (slot > 0 && slot < (1ull << BK_ROOT_CNODE_BITS))
        mark(slot, false);
    bk__objects_unlock();
}

uint64_t bk_slots_free_count(void)
{
    bk__objects_lock();
    uint64_t n = 0;
    for (uint64_t s = 0; s < (1ull << BK_ROOT_CNODE_BITS); s++)
        n += !is_used(s);
    bk__objects_unlock();
    return n;
}
