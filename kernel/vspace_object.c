/*
 * VSpace objects: address space roots made from untyped memory, and the
 * list of threads each one runs (see vspace_object.h for the layout). Their
 * ASIDs come from ASID pools (asid_pool.c).
 *
 * Invariants:
 *  - t->vspace == &vs->arch  <=>  t is on vs->threads exactly once, and
 *    then vs holds an ASID (TCB: Configure takes only such a space, and a
 *    space that loses its ASID loses its threads first);
 *  - a destroyed VSpace has no threads and no ASID: each thread was
 *    stopped (INACTIVE) and left with vspace NULL, so it cannot run until
 *    configured again, and its pool entry is free.
 */
#include "vspace.h"
#include "vspace_object.h"

#include "asid_pool.h"
#include "invoke.h"
#include "kernel.h"
#include "preempt.h"
#include "thread.h"

struct vspace_object *vspace_by_asid(uint32_t asid)
{
    return asid_lookup(asid);
}

void vspace_object_init(const cap_t *cap, paddr_t pa)
{
    struct vspace_object *vs = vspace_of_cap(cap);
    /* Retype gives RAM the direct map covers, which both ports accept as
     * a root; a refusal means the memory map itself is wrong. */
    if (!arch_vspace_init(&vs->arch, pa + VSPACE_ROOT_OFFSET))
        panic("vspace: the arch refused root table 0x%llx of a new VSpace",
              (unsigned long long)(pa + VSPACE_ROOT_OFFSET));
    vs->threads = NULL;
    vs->asid = 0; /* until ASIDPool: Assign */
    vs->asid_revoked = false;
    vs->ran_on = 0; /* no CPU has entered it yet */
}

/* The first thread configured in `vs` stops, with no address space. */
static void stop_first_thread(struct vspace_object *vs)
{
    struct thread *t = vs->threads;
    vspace_remove_thread(t);
    thread_stop(t, THREAD_INACTIVE);
    t->ipc_buffer_vaddr = 0; /* it was a page of the lost space */
    if (t->is_root)
        kprintf("bulkhead: warning: the root task's VSpace is gone; it stopped\n");
}

bool vspace_stop_threads(struct vspace_object *vs, unsigned *budget)
{
    for (; vs->threads; batch_step(budget)) {
        if (*budget == 0)
            return false;
        stop_first_thread(vs);
    }
    return true;
}

/* The others may hold the removed translation too if a thread of `vs`
 * ran there (vs->ran_on): those flush before the method returns
 * (docs/smp.md, TLB shootdown). */
void vspace_translations_changed(struct vspace_object *vs)
{
    vspace_epoch++;
    smp_tlb_shootdown_space(&vs->ran_on, &vs->arch);
}

void vspace_destroy(const cap_t *final_cap)
{
    struct vspace_object *vs = vspace_of_cap(final_cap);
    /* One step per thread, all in the destroy hook's one step, as it
     * always was (docs/security.md lists it under what is left open). */
    while (vs->threads)
        stop_first_thread(vs);
    asid_release_entry(vs);
    arch_vspace_destroy(&vs->arch);
    vspace_translations_changed(vs);
}

const char *vspace_asid_broken(const struct vspace_object *vs)
{
    if (vs->asid && vspace_by_asid(vs->asid) != vs)
        return "its ASID names no VSpace, or another";
    if (vs->asid && vs->asid_revoked)
        return "it holds an ASID after losing one with its pool";
    if (!vs->asid && vs->threads)
        return "threads are configured in it, but it has no ASID";
    return NULL;
}

kerror_t vspace_cap_arg(struct invocation *inv, uint64_t cptr, struct vspace_object **out,
                        struct kerror_info *info)
{
    struct cte *slot;
    kerror_t err = invoke_lookup_cap_arg(inv, cptr, &slot, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&slot->cap) != CAP_VSPACE)
        return KERR_INVALID_CAPABILITY;
    *out = vspace_of_cap(&slot->cap);
    return KERR_OK;
}

/* ---- Threads of a space ----------------------------------------------------- */

static struct vspace_object *vspace_of_thread(const struct thread *t)
{
    uintptr_t arch = (uintptr_t)t->vspace;
    return (struct vspace_object *)(arch - offsetof(struct vspace_object, arch));
}

void vspace_add_thread(struct vspace_object *vs, struct thread *t)
{
    vspace_remove_thread(t);
    t->vspace_prev = NULL;
    t->vspace_next = vs->threads;
    if (vs->threads)
        vs->threads->vspace_prev = t;
    vs->threads = t;
    t->vspace = &vs->arch;
    t->ipc_buffer_epoch = 0; /* its buffer is a page of this space now */
}

void vspace_remove_thread(struct thread *t)
{
    if (!t->vspace)
        return;
    struct vspace_object *vs = vspace_of_thread(t);
    if (t->vspace_prev)
        t->vspace_prev->vspace_next = t->vspace_next;
    else
        vs->threads = t->vspace_next;
    if (t->vspace_next)
        t->vspace_next->vspace_prev = t->vspace_prev;
    t->vspace_next = t->vspace_prev = NULL;
    t->vspace = NULL;
    t->ipc_buffer_epoch = 0;
}

kerror_t vspace_map_error(enum arch_map_result r, unsigned missing_level,
                          struct kerror_info *info)
{
    switch (r) {
    case ARCH_MAP_OK:
        return KERR_OK;
    case ARCH_MAP_BAD_ADDRESS:
        return KERR_INVALID_ARGUMENT;
    case ARCH_MAP_MISSING_TABLE:
        /* Reported the way seL4 reports a missing table: a lookup that
         * stopped with the address bits the absent table would translate
         * still to go; the fourth reply word is its level. */
        info->lookup_was_source = false;
        info->lookup.kind = LOOKUP_FAULT_MISSING_CAPABILITY;
        info->lookup.bits_left = vspace_level_span_bits(missing_level);
        info->lookup.bits_needed = missing_level;
        return KERR_FAILED_LOOKUP;
    case ARCH_MAP_ALREADY_MAPPED:
        return KERR_DELETE_FIRST;
    }
    return KERR_INVALID_ARGUMENT;
}
