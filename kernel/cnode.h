/*
 * CNodes and the CSpace: tables of capability slots, guarded multi-level
 * lookup, and the slot operations copy, mint, move, mutate, delete and
 * revoke.
 *
 * The operations take slots the caller has already looked up (the syscall
 * layer resolves the user's (root, cptr, depth) triples with
 * cspace_lookup_slot()). Each one first checks everything and returns an
 * error with nothing changed, then performs a change that cannot fail.
 * Delete and revoke cannot fail at all; they work in bounded batches.
 */
#pragma once

#include "cap.h"
#include "cdt.h"
#include "errors.h"
#include "types.h"

/* A capability address: the bits a lookup consumes from the top of its
 * `depth` low-order bits. */
typedef uint64_t cptr_t;

#define CSPACE_DEPTH_MIN 1
#define CSPACE_DEPTH_MAX 64

/* The slots of the CNode a CNODE cap names. */
static inline struct cte *cnode_slots(const cap_t *cnode_cap)
{
    return (struct cte *)cap_object(cnode_cap);
}

/* The `data` word mint and mutate take for a CNode cap: a BK_CNODE_GUARD
 * word (kernel/abi.toml [[words]]). */
static inline uint64_t cnode_guard_data(uint64_t guard, unsigned guard_size)
{
    return BK_CNODE_GUARD(guard_size, guard);
}

/* The slot a 64-bit lookup of `cptr` finds when `root` is the usual root
 * CNode cap, one level of 64 bits with a zero guard (cap.h's flat bit):
 * then the slot index is cptr itself. False for any other root or a cptr
 * with bits in the guard's place; the full walk (cnode.c) handles those
 * and reports their errors. Shared by the walk and the IPC fast path. */
static inline bool cspace_flat_slot(const cap_t *root, cptr_t cptr, struct cte **slot)
{
    if (!cap_is_flat_cnode(root) || cptr >> cap_cnode_radix(root) != 0)
        return false;
    *slot = cnode_slots(root) + cptr;
    return true;
}

/* The walks behind cspace_lookup_slot() and cspace_lookup_cap() (cnode.c),
 * for the roots and addresses the flat shortcut does not take. */
kerror_t cspace_walk_slot(const cap_t *root, cptr_t cptr, unsigned depth, struct cte **slot,
                          struct lookup_fault *fault);
kerror_t cspace_walk_cap(const cap_t *root, cptr_t cptr, struct cte **slot,
                         struct lookup_fault *fault);

/* Finds the slot `cptr` names in the CSpace whose root is the CNode cap
 * `root`, consuming exactly `depth` bits (see cnode.c for the walk).
 * Returns KERR_RANGE if depth is not in [1, 64], KERR_FAILED_LOOKUP with
 * *fault filled in if the walk fails; the slot found may be empty. The
 * usual 64-bit lookup in a flat root is inline: as a call it cost about
 * 37 instructions (the walk's frame and saved registers), and a Call that
 * carries a cap makes three or more lookups. */
static inline kerror_t cspace_lookup_slot(const cap_t *root, cptr_t cptr, unsigned depth,
                                          struct cte **slot, struct lookup_fault *fault)
{
    if (depth == CSPACE_DEPTH_MAX && cspace_flat_slot(root, cptr, slot))
        return KERR_OK;
    return cspace_walk_slot(root, cptr, depth, slot, fault);
}

/* Finds the cap a thread invokes: like cspace_lookup_slot() with depth 64,
 * except that the walk also succeeds when it reaches a non-empty slot that
 * holds no CNode cap with bits left over (seL4's rule for invoked caps), so
 * a cptr need not spell out guards below its target. Inline in a flat root,
 * as above. */
static inline kerror_t cspace_lookup_cap(const cap_t *root, cptr_t cptr, struct cte **slot,
                                         struct lookup_fault *fault)
{
    if (cspace_flat_slot(root, cptr, slot))
        return KERR_OK;
    return cspace_walk_cap(root, cptr, slot, fault);
}

/* The `count` consecutive slots from index `offset` of the CNode `cnode`
 * (a destination window, as retype uses). KERR_INVALID_CAPABILITY if cnode
 * is not a CNode cap, KERR_RANGE if the window does not fit. */
kerror_t cnode_slot_range(const cap_t *cnode, uint64_t offset, uint64_t count,
                          struct cte **first, struct kerror_info *info);

/* Puts a new cap to the object `src` names into the empty slot `dest`,
 * with the rights of src that are also in `rights`, as a child of src.
 * Errors: src empty (KERR_FAILED_LOOKUP, source), dest full
 * (KERR_DELETE_FIRST), a type that cannot be copied (REPLY, IRQ_CONTROL,
 * IOPORT_CONTROL: KERR_ILLEGAL_OPERATION), an untyped cap that has children
 * (KERR_REVOKE_FIRST). */
kerror_t cnode_copy(struct cte *src, struct cte *dest, cap_rights_t rights,
                    struct kerror_info *info);

/* cnode_copy() that also sets `data`: the badge of an unbadged endpoint or
 * notification cap (a badged one: KERR_ILLEGAL_OPERATION), the guard of a
 * CNode cap (cnode_guard_data(); a guard wider than its size:
 * KERR_INVALID_ARGUMENT, guard + radix over 64 bits: KERR_RANGE). Ignored
 * for other types. */
kerror_t cnode_mint(struct cte *src, struct cte *dest, cap_rights_t rights, uint64_t data,
                    struct kerror_info *info);

/* Moves the cap in `src` to the empty slot `dest`; its place in the
 * derivation tree moves with it. Errors as for copy (src empty, dest full). */
kerror_t cnode_move(struct cte *src, struct cte *dest, struct kerror_info *info);

/* cnode_move() that also sets `data`: the guard of a CNode cap, or the
 * badge of an unbadged endpoint or notification cap. Any other type, or a
 * badged cap: KERR_ILLEGAL_OPERATION; a badge on a cap with children:
 * KERR_REVOKE_FIRST (cdt.h's badge rule). */
kerror_t cnode_mutate(struct cte *src, struct cte *dest, uint64_t data,
                      struct kerror_info *info);

/* Empties `slot` in bounded steps (nothing happens if it is empty). Its
 * children move up to its parent. Deleting the final cap to an object
 * destroys it; the final cap of a CNode or TCB, whose slots must be
 * emptied too, becomes a zombie (cnode.c) that stays in `slot` while they
 * are, a batch per call. Deleting the last cap of a badge family (cdt.h)
 * to an endpoint that lives on cancels the sends queued with that badge;
 * when that, or the final cap of an endpoint or notification, leaves
 * threads to wake, the cap stays in `slot` as a waiters zombie while they
 * are woken, a batch per call. A batch is at most 64 steps, and ends
 * after any step once an interrupt is pending (preempt.h). Returns false
 * while work is left: call again (the invocation restarts the syscall)
 * until it returns true and the slot is empty. */
bool cnode_delete_bounded(struct cte *slot);

/* Whether deleting the cap in `slot` may take more than one call of
 * cnode_delete_bounded(): the final cap of a CNode or TCB, a cap whose
 * deletion leaves waiters, or a zombie. */
bool cnode_delete_needs_batches(const struct cte *slot);

/* cnode_delete_bounded() until the slot is empty. For kernel paths whose
 * caps take one step (a scratch copy that is never final), and host tests;
 * an invocation that may need batches restarts instead (TCB: Configure,
 * TCB: SetFaultEndpoint, IRQHandler: SetNotification and Clear). */
void cnode_delete(struct cte *slot);

/* The first step of deleting a cap that holds no slots, for a hook that
 * runs inside another delete's step (an interrupt line's notification): a
 * cap that leaves waiters stays as a waiters zombie, whoever deletes or
 * revokes the slot next going on with it. O(1). */
void cnode_delete_start(struct cte *slot);

/* Deletes caps derived from the cap in `slot`, the first child first (its
 * children take its place); the cap itself stays. Deletes a bounded batch
 * per call (as cnode_delete_bounded() does, ending early once an interrupt
 * is pending) and returns false if descendants remain: call it again (the
 * invocation restarts the syscall) until it returns true. Revoking an
 * untyped cap resets its watermark once the last descendant is gone, so
 * all its memory can be retyped again. Iterative: any depth is fine. */
bool cnode_revoke(struct cte *slot);

/* Boot only: puts `cap`, made by the kernel (an untyped, IRQ-control,
 * IOPort-control, domain or sched-control cap, or the first cap to an
 * object made with object_create(), which counts it already), into the
 * empty `slot` as a root of the derivation tree. */
void cnode_boot_install(struct cte *slot, cap_t cap);

