/*
 * Arenas: an untyped set aside, with a run of root-CNode slots, from which
 * the objects of one thing that lives and dies whole (a process's
 * incarnation) are made. Reclaiming revokes the untyped: every object made
 * of it is deleted, wherever caps to it went (the kernel's derivation tree
 * holds them all below the untyped's cap), its watermark goes back to 0,
 * and the slots are handed out again from the first. So a supervisor that
 * restarts a process a thousand times uses the same memory and the same
 * slots each time, where objects from the shared allocator (alloc.c) are
 * never given back.
 *
 * While an arena is selected (bk__arena_select(), under the process
 * layer's lock), bk_alloc_object() takes from it: that is how the spawn
 * code, the ELF loader and bk_map_frame() put a process's objects there
 * without an allocator argument each. What must outlive the arena
 * (libsys's ASID pools, the page table of its own scratch window) is made
 * with the selection lifted.
 */
#include <bulkhead/sys.h>

#include "lock.h"

/* The largest arena: 1 GiB (a slot count and a byte count both fit). */
#define ARENA_MAX_BITS 30u

static struct bk_arena *selected;

struct bk_arena *bk__arena_select(struct bk_arena *a)
{
    struct bk_arena *before = selected;
    selected = a;
    return before;
}

struct bk_arena *bk__arena_selected(void)
{
    return selected;
}

long bk_arena_init(struct bk_arena *a, uint64_t untyped, unsigned size_bits, unsigned slots)
{
    memset(a, 0, sizeof(*a));
    if (size_bits < BK_PAGE_BITS || size_bits > ARENA_MAX_BITS || slots == 0 ||
        slots >= (1u << BK_ROOT_CNODE_BITS))
        return -BK_ERR_INVALID_ARGUMENT;
    /* A Retype on a cap of another type would be that object's method, or
     * a Call that never returns (an endpoint): refused here when the
     * Debug cap lets us see the type (without it, 0, and the caller is
     * trusted). */
    uint64_t identity = untyped ? debug_cap_identify(untyped) : 0;
    if (identity && BK_CAP_IDENTITY_TYPE(identity) != BK_OBJ_UNTYPED)
        return -BK_ERR_INVALID_ARGUMENT;
    bk__objects_lock();
    struct bk_arena *outer = bk__arena_select(NULL); /* never an arena inside an arena */
    uint64_t ut = untyped ? untyped : bk_alloc_object(BK_OBJ_UNTYPED, size_bits);
    uint64_t first = ut ? bk_slots_alloc_range(slots) : 0;
    bk__arena_select(outer);
    bk__objects_unlock();
    if (!first)
        return -BK_ERR_NOT_ENOUGH_MEMORY; /* an untyped we made stays ours, unused */
    *a = (struct bk_arena){ .untyped = ut, .size_bits = size_bits, .first_slot = first,
                            .slots = slots };
    return 0;
}

/* log2 of the bytes one object of `type` takes (alloc.c). */
unsigned bk__object_bits(uint64_t type, unsigned size_bits);

static uint64_t arena_alloc(struct bk_arena *a, uint64_t type, unsigned size_bits);

/* Under the process layer's (re-entrant) lock: a spawn into the same arena
 * on another thread takes turns with us. */
uint64_t bk_arena_alloc(struct bk_arena *a, uint64_t type, unsigned size_bits)
{
    bk__objects_lock();
    uint64_t slot = arena_alloc(a, type, size_bits);
    bk__objects_unlock();
    return slot;
}

static uint64_t arena_alloc(struct bk_arena *a, uint64_t type, unsigned size_bits)
{
    a->refused_error = 0;
    if (!a->untyped || a->slots_used == a->slots) {
        a->refused_bytes = 0;
        return 0;
    }
    uint64_t bytes = 1ull << bk__object_bits(type, size_bits);
    uint64_t start = (a->used + bytes - 1) & ~(bytes - 1);
    if (bytes > (1ull << a->size_bits) || start + bytes > (1ull << a->size_bits)) {
        a->refused_bytes = bytes; /* for the failing caller's sentence */
        return 0;
    }
    uint64_t slot = a->first_slot + a->slots_used;
    long r = sys_untyped_retype(a->untyped, type, size_bits, BK_CAP_ROOT_CNODE, 0, 0, slot, 1);
    if (r != 0) {
        a->refused_bytes = bytes;
        a->refused_error = r; /* not an untyped, or not the size the arena was told */
        return 0;
    }
    a->used = start + bytes;
    a->slots_used++;
    return slot;
}

bool bk_arena_holds_slot(const struct bk_arena *a, uint64_t slot)
{
    return a->slots && slot >= a->first_slot && slot < a->first_slot + a->slots;
}

long bk_arena_reclaim(struct bk_arena *a)
{
    if (!a->untyped)
        return -BK_ERR_INVALID_ARGUMENT;
    /* Every object made of it, and every cap to one: a process's CNode
     * goes with the caps it held (the kernel empties it), its VSpace with
     * its mappings and its ASID, its TCB stopped. Restarts itself while
     * long (the stub repeats the call). */
    long r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, a->untyped, BK_WORD_BITS);
    if (r == 0) {
        a->used = 0;
        a->slots_used = 0;
        a->refused_bytes = 0;
        a->refused_error = 0;
    }
    return r;
}
