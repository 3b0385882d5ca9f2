/*
 * The paging-structure objects: VSpace (an address space root), PageTable
 * (one translation table) and Frame (a page of memory), built on the arch
 * hooks of kernel/arch.h ("Paging-structure objects").
 *
 * VSpace object (2^OBJ_VSPACE_BITS = 8 KiB of retyped memory): the first
 * page is a struct vspace_object (counted: its kobj_header comes first),
 * the second page is the root translation table, every byte of which
 * belongs to the MMU. A VSpace is usable (mapped into, run) only while it
 * holds an ASID: an entry of an ASID pool (asid_pool.h), given by ASIDPool:
 * Assign. The ASID is a 32-bit name that frame and page-table caps record
 * instead of a pointer, so a cap that outlives its VSpace finds nothing
 * (vspace_by_asid() returns NULL) instead of reused memory.
 *
 * Where caps record a mapping:
 *   FRAME       cap.h's cap_frame_set_mapping(): the ASID (w0) and vaddr;
 *   PAGE_TABLE  the ASID in w0 (cap.h's cap_mapped_asid()), and in w2
 *               (free for object code, see cap.h) vaddr | level << 16; the
 *               vaddr is aligned to what the table translates (2 MiB at
 *               least), so its low 21 bits are free.
 * ASID 0 means "not mapped" in both.
 */
#pragma once

#include "arch.h"
#include "cap.h"
#include "errors.h"
#include "object.h"

struct thread;
struct invocation;

#define VSPACE_ROOT_OFFSET ARCH_PAGE_SIZE /* the root table: the object's second page */

struct vspace_object {
    struct kobj_header header; /* first: counted like TCBs and endpoints */
    arch_vspace_t arch;        /* what threads run in (thread->vspace points here) */
    struct thread *threads;    /* configured in it, linked by vspace_next/prev */
    uint32_t asid;             /* its pool entry's name; 0: none, unusable */
    /* Its pool was deleted while it held an entry: its tables may still
     * map frames whose caps can no longer find it, so it never gets an
     * ASID again (asid_pool.c). */
    bool asid_revoked;
    /* Bit i: CPU i may hold translations of this space in its TLB. Set,
     * under the kernel lock, by each way out to user mode into it on a
     * machine of several CPUs (smp_exit_to_user_held()); cleared for a CPU that
     * a shootdown flushed while it had another space loaded. A shootdown
     * asks only these CPUs (docs/smp.md, "TLB shootdown"). */
    uint64_t ran_on;
};

_Static_assert(sizeof(struct vspace_object) <= VSPACE_ROOT_OFFSET, "fits the first page");
_Static_assert((1u << OBJ_VSPACE_BITS) == 2 * ARCH_PAGE_SIZE, "header page + root table");

/* The CPU mask of the VSpace object whose `arch` this is (every thread's
 * vspace points into one: vspace_add_thread()). */
static inline uint64_t *vspace_ran_on(const arch_vspace_t *arch)
{
    uintptr_t obj = (uintptr_t)arch - offsetof(struct vspace_object, arch);
    return &((struct vspace_object *)obj)->ran_on;
}

static inline struct vspace_object *vspace_of_cap(const cap_t *cap)
{
    return (struct vspace_object *)cap_object(cap);
}

/* The address bits a table at `level` translates, log2 of the span it
 * covers: 21 for the table of 4 KiB pages (level 1), 9 more per level. */
static inline unsigned vspace_level_span_bits(unsigned level)
{
    return 12 + 9 * level;
}

/* ---- PAGE_TABLE cap mapping record (w2) ---------------------------------- */

#define PT_CAP_LEVEL_SHIFT 16
#define PT_CAP_LEVEL_MASK 0x3ull
#define PT_CAP_VADDR_MASK (~0ull << ARCH_LARGE_PAGE_BITS)

static inline uint32_t pt_cap_mapped_asid(const cap_t *c)
{
    return cap_mapped_asid(c);
}

static inline unsigned pt_cap_mapped_level(const cap_t *c)
{
    return (unsigned)((c->w[2] >> PT_CAP_LEVEL_SHIFT) & PT_CAP_LEVEL_MASK);
}

static inline vaddr_t pt_cap_mapped_vaddr(const cap_t *c)
{
    return (vaddr_t)(c->w[2] & PT_CAP_VADDR_MASK);
}

/* Records where the table is; (0, 0, 0) means unmapped. */
static inline void pt_cap_set_mapping(cap_t *c, vaddr_t vaddr, unsigned level, uint32_t asid)
{
    cap_set_mapped_asid(c, asid);
    c->w[2] = ((uint64_t)vaddr & PT_CAP_VADDR_MASK) |
              ((uint64_t)level & PT_CAP_LEVEL_MASK) << PT_CAP_LEVEL_SHIFT;
}

/* ---- VSpace objects (vspace_object.c) ------------------------------------ */

/* Retype hook: the zeroed 8 KiB object at physical `pa` becomes an empty
 * address space (kernel half installed), with no ASID yet. */
void vspace_object_init(const cap_t *cap, paddr_t pa);

/* Destroy hook (object.c): stops every thread configured in the space,
 * frees its pool entry and its TLB tag. */
void vspace_destroy(const cap_t *final_cap);

/* The live VSpace named `asid`, or NULL (never mapped, destroyed, or its
 * pool deleted). */
struct vspace_object *vspace_by_asid(uint32_t asid);

/* Whether `vs` holds an ASID: only then can frames and tables be mapped
 * into it and threads be configured to run in it. */
static inline bool vspace_has_asid(const struct vspace_object *vs)
{
    return vs->asid != 0;
}

/* Stops up to *budget of the threads configured in `vs` (each a step of
 * the batch, preempt.h), leaving them INACTIVE with no address space, as
 * a destroyed VSpace leaves them; true once none is left. */
bool vspace_stop_threads(struct vspace_object *vs, unsigned *budget);

/* Resolves a method's VSpace cap argument: FAILED_LOOKUP, or
 * INVALID_CAPABILITY if the cap is not a VSpace cap. */
kerror_t vspace_cap_arg(struct invocation *inv, uint64_t cptr, struct vspace_object **out,
                        struct kerror_info *info);

/* The first rule of the top of vspace_object.c about ASIDs that `vs`
 * breaks, or NULL: for the invariant walk (kernel/debug/invariants.c). */
const char *vspace_asid_broken(const struct vspace_object *vs);

/* Makes `vs` the address space `t` runs in (leaving its previous one). */
void vspace_add_thread(struct vspace_object *vs, struct thread *t);

/* `t` leaves its address space (TCB destroyed or reconfigured); its
 * vspace becomes NULL. */
void vspace_remove_thread(struct thread *t);

/* ---- Per-cap hooks (frame.c, page_table.c) -------------------------------- */

/* A frame cap was deleted: its mapping, if any, goes with it. */
void frame_cap_deleted(const cap_t *cap);

/* A page-table cap was deleted: the table leaves its VSpace. */
void page_table_cap_deleted(const cap_t *cap);

/* The error a failed arch map reports: BAD_ADDRESS is INVALID_ARGUMENT,
 * ALREADY_MAPPED is DELETE_FIRST, MISSING_TABLE is FAILED_LOOKUP with
 * the missing level (bits_needed) and the address bits it would
 * translate (bits_left). */
kerror_t vspace_map_error(enum arch_map_result r, unsigned missing_level,
                          struct kerror_info *info);
