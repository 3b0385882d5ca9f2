/*
 * ASIDs and ASID pools (asid_pool.c) and ASIDControl (asid_control.c).
 *
 * An ASID is the 32-bit name a VSpace holds while it is usable: frame and
 * page-table caps record it instead of a pointer (vspace_object.h), so a
 * cap that outlives its VSpace finds nothing. It is not the hardware's
 * ASID or PCID: the ports tag TLB entries with tags of their own, handed
 * out when a space is entered and recycled with a flush when they run out
 * (arch/riscv/asid.c, arch/x86_64/vspace.c), so the hardware's few bits
 * never limit how many spaces exist.
 *
 * Names come from pools. The ASID space is ASID_RANGES ranges of
 * ASID_POOL_ENTRIES names; an ASID pool is one page, made from untyped
 * memory by ASIDControl: MakePool, that covers one range while it lives
 * and holds one entry per name: the VSpace that has it. A name is
 *
 *   [8:0]   the entry in the pool (0 .. ASID_POOL_ENTRIES - 1)
 *   [20:9]  the range, the pool's place in the kernel's table (1 .. 4095;
 *           range 0 is never handed out, so no name is 0)
 *   [31:21] the entry's generation: how often it was assigned, so a name
 *           comes back only after the entry's 2,048th reuse, or when its
 *           range is handed out again (after every range never used, and
 *           then the longest free first). A stale cap that meets its old
 *           name again removes only a mapping of its own frame or table
 *           at its own address (frame.c, page_table.c): harmless.
 *
 * Why ranges are not a tenant's resource: docs/memory.md.
 */
#pragma once

#include <bulkhead/abi.h>

#include "cap.h"
#include "errors.h"
#include "object.h"

struct vspace_object;
struct cte;

#define ASID_ENTRY_BITS 9
#define ASID_RANGE_BITS 12
#define ASID_GENERATION_BITS (32 - ASID_RANGE_BITS - ASID_ENTRY_BITS)
#define ASID_RANGES (1u << ASID_RANGE_BITS) /* range 0 unused */
#define ASID_POOL_ENTRIES BK_ASID_POOL_ENTRIES
#define OBJ_ASID_POOL_BITS BK_ASID_POOL_BITS

/* One pool: a page of kernel memory, counted like a VSpace. An entry
 * holds the VSpace's address (8 KiB aligned: its low 13 bits are zero)
 * with the entry's generation in the low ASID_GENERATION_BITS; a free
 * entry keeps its generation, with no address. */
struct asid_pool {
    struct kobj_header header; /* first: counted */
    uint16_t range;            /* the range of names it covers */
    uint16_t assigned;         /* entries that name a VSpace */
    uint16_t next;             /* where Assign looks first: round robin */
    uint16_t reclaimed;        /* entries a deletion has taken back so far */
    uintptr_t entry[ASID_POOL_ENTRIES];
};

_Static_assert(sizeof(struct asid_pool) == 1u << OBJ_ASID_POOL_BITS, "a pool is one page");
_Static_assert(ASID_POOL_ENTRIES <= 1u << ASID_ENTRY_BITS, "entries fit their field");
_Static_assert(BK_ASID_POOL_RANGES == ASID_RANGES - 1, "the ABI's count of ranges");

static inline struct asid_pool *asid_pool_of_cap(const cap_t *cap)
{
    return (struct asid_pool *)cap_object(cap);
}

/* The live VSpace named `asid`, or NULL. */
struct vspace_object *asid_lookup(uint32_t asid);

/* True while some range is free for a new pool. */
bool asid_range_available(void);

/* The zeroed pool `pool`, just made, takes the free range that has waited
 * longest (asid_range_available() was checked). */
void asid_pool_take_range(struct asid_pool *pool);

/* Gives `vs` (no ASID, never revoked) a free entry of `pool`; false if
 * every entry is in use. */
bool asid_pool_assign(struct asid_pool *pool, struct vspace_object *vs);

/* `vs` is being destroyed: its entry is free again. */
void asid_release_entry(struct vspace_object *vs);

/* Destroy hook (object.c): the pool's last cap is gone. With no entry in
 * use its range is free at once; otherwise the waiters zombie its cap
 * became takes the entries back (asid_pool_reclaim()) and frees it. */
void asid_pool_destroy(const cap_t *final_cap);

/* Whether deleting the final cap of `pool` leaves entries to take back. */
bool asid_pool_has_entries(const struct asid_pool *pool);

/* Takes back up to *budget steps' worth of the entries of the destroyed
 * pool (an entry looked at, or a thread stopped, is a step; the batch ends
 * early once an interrupt is pending, preempt.h): each VSpace loses its
 * ASID for good and its threads stop. True once none is left and the
 * range is free. */
bool asid_pool_reclaim(struct asid_pool *pool, unsigned *budget);

/* The first rule of the top of asid_pool.c that `pool` breaks, or NULL:
 * for the invariant walk (kernel/debug/invariants.c). */
const char *asid_pool_broken(const struct asid_pool *pool);

/* Boot only: the first pool, made in the zeroed page at `pa`, with the
 * root task's VSpace in its first entry; returns its cap. */
cap_t asid_pool_boot(paddr_t pa, struct vspace_object *root_vspace);
