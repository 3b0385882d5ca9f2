/*
 * Kernel objects on demand: a simple allocator over the root task's RAM
 * untyped caps. It retypes from the first untyped with room, keeping its
 * own estimate of each untyped's watermark (the kernel's is authoritative:
 * when the kernel says NOT_ENOUGH_MEMORY the allocator moves on). Objects
 * are never given back individually; revoke an untyped to reclaim it.
 */
#include <bulkhead/sys.h>

#include "lock.h"

#define POOL_MAX BK_BOOTINFO_MAX_UNTYPED

static struct pool_entry {
    uint64_t slot;
    uint64_t used;      /* bytes handed out, by our count */
    uint8_t size_bits;
} pool[POOL_MAX];
static unsigned pool_count;

/* The lock around the slot and object allocators: set by the runtime
 * (libsys/src/runtime/init.c) once it has made one; no-ops until then. */
static void no_lock(void)
{
}

static void (*lock_fn)(void) = no_lock;
static void (*unlock_fn)(void) = no_lock;

void bk_objects_set_lock(void (*lock)(void), void (*unlock)(void))
{
    lock_fn = lock ? lock : no_lock;
    unlock_fn = unlock ? unlock : no_lock;
}

void bk__objects_lock(void)
{
    lock_fn();
}

void bk__objects_unlock(void)
{
    unlock_fn();
}

void bk_objects_init(const struct bk_bootinfo *bi)
{
    bk_slots_init(bi->first_free_slot, 1ull << BK_ROOT_CNODE_BITS);
    pool_count = 0;
    for (uint32_t i = 0; i < bi->untyped_count && pool_count < POOL_MAX; i++) {
        if (bi->untyped[i].is_device)
            continue;
        pool[pool_count++] = (struct pool_entry){ bi->untyped[i].slot, 0, bi->untyped[i].size_bits };
    }
}

/* log2 of the bytes one object of `type` takes (as the kernel counts);
 * arena.c counts with it too. */
unsigned bk__object_bits(uint64_t type, unsigned size_bits);
unsigned bk__object_bits(uint64_t type, unsigned size_bits)
{
    switch (type) {
    case BK_OBJ_TCB: return 11;
    case BK_OBJ_ENDPOINT:
    case BK_OBJ_NOTIFICATION: return 6;
    case BK_OBJ_PAGE_TABLE: return 12;
    case BK_OBJ_VSPACE: return 13;
    case BK_OBJ_SCHED_CONTEXT: return BK_SCHED_CONTEXT_BITS;
    case BK_OBJ_CNODE: return size_bits + 6;
    default: return size_bits; /* untyped, frames */
    }
}

static uint64_t alloc_object(uint64_t type, unsigned size_bits);

uint64_t bk_alloc_object(uint64_t type, unsigned size_bits)
{
    bk__objects_lock();
    uint64_t slot = alloc_object(type, size_bits);
    bk__objects_unlock();
    return slot;
}

static uint64_t alloc_object(uint64_t type, unsigned size_bits)
{
    struct bk_arena *arena = bk__arena_selected(); /* a spawn into an arena (arena.c) */
    if (arena)
        return bk_arena_alloc(arena, type, size_bits);
    uint64_t slot = bk_slot_alloc();
    if (!slot)
        return 0;
    uint64_t bytes = 1ull << bk__object_bits(type, size_bits);
    for (unsigned i = 0; i < pool_count; i++) {
        struct pool_entry *p = &pool[i];
        uint64_t start = (p->used + bytes - 1) & ~(bytes - 1);
        if (start + bytes > (1ull << p->size_bits))
            continue;
        long r = sys_untyped_retype(p->slot, type, size_bits, BK_CAP_ROOT_CNODE, 0, 0, slot, 1);
        if (r == 0) {
            p->used = start + bytes;
            return slot;
        }
        if (r != -BK_ERR_NOT_ENOUGH_MEMORY)
            break;
        p->used = 1ull << p->size_bits; /* the kernel knows better: full */
    }
    bk_slot_free(slot);
    return 0;
}

uint64_t bk_objects_bytes_used(void)
{
    bk__objects_lock();
    uint64_t used = 0;
    for (unsigned i = 0; i < pool_count; i++)
        used += pool[i].used;
    bk__objects_unlock();
    return used;
}
