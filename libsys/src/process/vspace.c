/*
 * Address spaces from user space: a new VSpace with an ASID from the
 * caller's pools, and mapping a frame into a VSpace, making the page
 * tables the kernel reports missing on the way (Frame: Map says which
 * level is missing; a new PageTable goes in at the first missing level).
 */
#include <bulkhead/sys.h>

#include "lock.h"

/* The pool bk_vspace_alloc() made last, when the one in
 * BK_CAP_ROOT_ASID_POOL was full; 0: none. */
static uint64_t extra_pool;

/* A new pool from a page of our untyped memory, made with the ASIDControl
 * cap in BK_CAP_ASID_CONTROL, becomes extra_pool. */
static long make_pool(void)
{
    uint64_t ut = bk_alloc_object(BK_OBJ_UNTYPED, BK_ASID_POOL_BITS);
    uint64_t slot = ut ? bk_slot_alloc() : 0;
    if (!slot)
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    long r = sys_asid_control_make_pool(BK_CAP_ASID_CONTROL, ut, BK_CAP_ROOT_CNODE, slot,
                                        BK_WORD_BITS);
    if (r == 0)
        extra_pool = slot;
    return r;
}

/* Gives `vs` an ASID: from the boot pool while it has room, then from the
 * pool made last, then from a new one. Assign says DELETE_FIRST for a full
 * pool; any other error on extra_pool means it is gone (its memory was
 * revoked, the slot holds something else now), so it is forgotten. */
static long assign(uint64_t vs)
{
    long r = sys_asid_pool_assign(BK_CAP_ROOT_ASID_POOL, vs);
    if (r != -BK_ERR_DELETE_FIRST)
        return r;
    if (extra_pool) {
        r = sys_asid_pool_assign(extra_pool, vs);
        if (r != -BK_ERR_DELETE_FIRST && r != -BK_ERR_FAILED_LOOKUP &&
            r != -BK_ERR_ILLEGAL_OPERATION)
            return r;
    }
    extra_pool = 0;
    /* A pool serves every later VSpace: never of an arena's memory, which
     * goes when the arena's process does. */
    struct bk_arena *arena = bk__arena_select(NULL);
    r = make_pool();
    bk__arena_select(arena);
    return r ? r : sys_asid_pool_assign(extra_pool, vs);
}

uint64_t bk_vspace_alloc(long *err)
{
    bk__objects_lock();
    uint64_t vs = bk_alloc_object(BK_OBJ_VSPACE, 0);
    *err = vs ? assign(vs) : -BK_ERR_NOT_ENOUGH_MEMORY;
    bk__objects_unlock();
    return *err == 0 ? vs : 0;
}

long bk_map_frame(uint64_t vspace, uint64_t frame, uint64_t vaddr, uint64_t rights,
                  uint64_t attributes)
{
    /* At most one table per level below the root is ever missing. */
    for (unsigned tries = 0; tries < 8; tries++) {
        long r = sys_frame_map(frame, vspace, vaddr, rights, attributes);
        if (r != -BK_ERR_FAILED_LOOKUP)
            return r;
        uint64_t table = bk_alloc_object(BK_OBJ_PAGE_TABLE, 0);
        if (!table)
            return -BK_ERR_NOT_ENOUGH_MEMORY;
        r = sys_page_table_map(table, vspace, vaddr);
        if (r != 0)
            return r;
    }
    return -BK_ERR_FAILED_LOOKUP;
}

/* A scratch window in the caller's own space where frames are mapped to be
 * filled (see bk_copy_to_frame). */
#define SCRATCH_VADDR 0x7f000000ull

/* The frame size the helper knows: the scratch window is one page, and
 * every frame libsys makes is one. */
#define FRAME_BYTES ((uint64_t)BK_PAGE_SIZE) /* kernel/abi.toml */

long bk_copy_to_frame(uint64_t frame, uint64_t offset, const void *src, size_t len)
{
    /* Checked before anything is made or mapped, in this order: an offset
     * past the end, then a length past the end. The length is compared
     * with the room left, never added to the offset, so no huge `len`
     * can wrap the sum back inside the page. */
    if (offset > FRAME_BYTES)
        return -BK_ERR_INVALID_ARGUMENT;
    if (len > FRAME_BYTES - offset)
        return -BK_ERR_RANGE;
    /* One scratch window per address space: threads take turns through
     * the process layer's (re-entrant) lock instead of failing. */
    bk__objects_lock();
    /* A copy of the frame cap maps it here while the original stays free
     * to be mapped elsewhere. */
    uint64_t view = bk_slot_alloc();
    if (!view) {
        bk__objects_unlock();
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    }
    long r = sys_cnode_copy(BK_CAP_ROOT_CNODE, view, BK_WORD_BITS, BK_CAP_ROOT_CNODE, frame,
                            BK_WORD_BITS, BK_RIGHTS_ALL);
    /* The window's page table is in our own space and stays: not of an
     * arena a spawn may have selected. */
    struct bk_arena *arena = bk__arena_select(NULL);
    if (r == 0)
        r = bk_map_frame(BK_CAP_ROOT_VSPACE, view, SCRATCH_VADDR, BK_VM_READ | BK_VM_WRITE, 0);
    bk__arena_select(arena);
    if (r == 0)
        memcpy((char *)(uintptr_t)SCRATCH_VADDR + offset, src, len);
    /* Deleting the copy unmaps it. */
    sys_cnode_delete(BK_CAP_ROOT_CNODE, view, BK_WORD_BITS);
    bk_slot_free(view);
    bk__objects_unlock();
    return r;
}
