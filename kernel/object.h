/*
 * Kernel object types: their sizes, how retype creates one, how caps to one
 * are counted, and what happens when the last cap to one is deleted.
 *
 * Every kernel object lives in memory retyped from an Untyped; the kernel
 * allocates nothing. An object is reached through the kernel direct map
 * (arch_phys_to_virt), and caps store that kernel-virtual pointer.
 *
 * Counting: objects of the "counted" types (CNODE, TCB, ENDPOINT,
 * NOTIFICATION, REPLY, VSPACE, SCHED_CONTEXT, ASID_POOL) carry a struct kobj_header whose `refs` is the number of
 * caps naming the object, anywhere. Copy and mint add one, delete removes
 * one, move and mutate change nothing; the cap whose deletion takes refs to
 * 0 is the final cap and the type's destroy hook runs. The header is the
 * first 8 bytes of the object, except for a CNode, whose every byte is
 * slots: there it is the spare word of slot 0 (see cdt.h). Frames, page
 * tables and untyped memory have no room for a header (every byte belongs
 * to the user or the MMU); their per-cap hook runs on each deletion instead.
 */
#pragma once

#include "arch.h"
#include "cap.h"
#include "errors.h"
#include "types.h"

/* The ports' <arch_types.h> are gaining ARCH_LARGE_PAGE_BITS (21 on x86-64
 * and on Sv39); until every port and the host fake define it, assume 21. */
#ifndef ARCH_LARGE_PAGE_BITS
#define ARCH_LARGE_PAGE_BITS 21
#endif

/* Object sizes (log2 bytes). Fixed-size types first; then the ranges of the
 * size argument of retype for the variable-size types. */
#define OBJ_TCB_BITS 11
#define OBJ_ENDPOINT_BITS 6
#define OBJ_NOTIFICATION_BITS 6
#define OBJ_PAGE_TABLE_BITS 12
#define OBJ_IO_PAGE_TABLE_BITS 12
#define OBJ_VSPACE_BITS 13 /* a page of kernel state, then the root table */
#define OBJ_UNTYPED_MIN_BITS 12 /* 4 KiB */
#define OBJ_UNTYPED_MAX_BITS 47 /* 128 TiB */
#define OBJ_FRAME_BITS 12
#define OBJ_LARGE_FRAME_BITS ARCH_LARGE_PAGE_BITS
#define CNODE_SLOT_BITS 6       /* 64 bytes per slot (struct cte) */
#define CNODE_RADIX_MIN 1
#define CNODE_RADIX_MAX 24      /* 16 Mi slots, 1 GiB */

/* The first 8 bytes of a counted object (see above). */
struct kobj_header {
    /* Caps naming this object; 0 once it is destroyed. Cannot wrap: each
     * cap fills a 64-byte slot of retyped RAM, so there are fewer than
     * 2^58 caps in all (a 32-bit count could wrap with 256 GiB of CNodes). */
    uint64_t refs;
};

/* Human-readable type name ("endpoint"), "invalid" for a bad value. */
const char *object_type_name(enum cap_type type);

/* True if untyped_retype() can create objects of this type. */
bool object_is_retypable(enum cap_type type);

/* True if copy and mint may make another cap from a cap of this type. */
bool object_is_derivable(enum cap_type type);

/* True if caps of this type are counted in a struct kobj_header. */
bool object_is_counted(enum cap_type type);

/* The size in bytes (log2) of one object of retypable `type` whose retype
 * size argument is `size_arg` (UNTYPED, FRAME: log2 bytes; CNODE: radix;
 * ignored for fixed-size types, as in seL4). KERR_RANGE (with bounds in
 * *info) when size_arg is outside the type's range, KERR_INVALID_ARGUMENT
 * for a frame size in between the two page sizes. */
kerror_t object_size_bits(enum cap_type type, unsigned size_arg, unsigned *obj_bits,
                          struct kerror_info *info);

/* Turns the 2^obj_bits bytes at physical `pa` into a new object of
 * retypable `type` and returns the first cap to it (all rights, no badge,
 * no guard). Memory is zeroed, except for device frames and for untyped
 * memory (whose objects are zeroed when they are made). Counted objects
 * start with refs = 1. Cannot fail: untyped_retype() checked everything. */
cap_t object_create(enum cap_type type, paddr_t pa, unsigned obj_bits, bool is_device);

/* object_create() of memory the caller knows holds zeros (Retype zeroes
 * it first, a bounded piece per kernel entry: untyped.c). */
cap_t object_create_zeroed(enum cap_type type, paddr_t pa, unsigned obj_bits, bool is_device);

/* The cap a copy of `src` carries before rights and badge are applied,
 * in *out: a frame copy is unmapped, an untyped copy is marked as a copy.
 * False, *out untouched, when the type is not derivable (one call for
 * the check and the copy: every cap an IPC carries makes both). */
bool object_derive(const cap_t *src, cap_t *out);

/* The reference count of the object a counted cap names. */
uint64_t *object_refs(const cap_t *cap);

/* A new cap to the same object now exists (copy, mint). */
void object_cap_added(const cap_t *cap);

/* `cap` was just removed from its slot and from the derivation tree: runs
 * the type's per-cap hook, drops the count and, for the final cap, the
 * destroy hook; for another cap that was the last of its badge family
 * (`family_ended`, see cnode.c), the type's badge hook (an endpoint
 * cancels the sends queued with that badge). Returns true if the object
 * was destroyed. */
bool object_cap_deleted(const cap_t *cap, bool family_ended);

/* Waiters. Deleting the final cap of an endpoint or notification wakes
 * the threads waiting on it, and the last cap of a badge family of an
 * endpoint cancels the sends queued with its badge; a tenant decides how
 * many there are, so cnode.c keeps such a cap in its slot and in the tree
 * as a waiters zombie (cap.h) that does it a bounded batch per kernel
 * entry. While it stands, the object's untyped has a descendant, so the
 * memory the waiting threads are linked through cannot be reset and
 * retyped. The final cap of an ASID pool whose entries name VSpaces
 * becomes one too: its batches take those entries back (asid_pool.c). */

/* Whether deleting `cap` (`family_ended` as for object_cap_deleted())
 * leaves threads to wake: it is the final cap of an endpoint or
 * notification that threads wait on, or the last of its badge family on
 * an endpoint with sends queued; or entries to take back: the final cap
 * of an ASID pool with entries in use. O(1). */
bool object_delete_leaves_waiters(const cap_t *cap, bool family_ended);

/* The waiters zombie `cap` becomes once object_cap_deleted() ran on it
 * (`destroyed`: what that returned). */
cap_t object_waiters_zombie(const cap_t *cap, bool destroyed);

/* Wakes up to *budget of the threads waiters zombie `zombie` stands for
 * (ipc.h, IPC_CANCEL_BATCH), or takes back that many steps' worth of an
 * ASID pool's entries; true once nothing is left. */
bool object_wake_waiters(const cap_t *zombie, unsigned *budget);

/* Live objects of a counted type (created and not destroyed); a debugging
 * aid, and what host tests use to see each destroy happen exactly once. */
uint64_t object_live_count(enum cap_type type);
