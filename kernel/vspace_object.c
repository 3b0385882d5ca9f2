/*
 * VSpace objects: address space roots made from untyped memory, the ASID
 * table that lets frame and page-table caps name them safely, and the list
 * of threads each one runs (see vspace_object.h for the layout).
 *
 * Invariants:
 *  - asid_table[i] is the live VSpace whose ASID has index i, or NULL; a
 *    VSpace leaves the table when it is destroyed, before its memory can
 *    be reused, so vspace_by_asid() never returns a dead object;
 *  - t->vspace == &vs->arch  <=>  t is on vs->threads exactly once;
 *  - a destroyed VSpace has no threads: each was stopped (INACTIVE) and
 *    left with vspace NULL, so it cannot run until configured again.
 */
#include "vspace.h"
#include "vspace_object.h"

#include "invoke.h"
#include "kernel.h"
#include "log.h"
#include "thread.h"

static struct vspace_object *asid_table[VSPACE_ASID_COUNT];
/* How often each slot was handed out: the high bits of the next ASID.
 * Only 4 bits (16 - VSPACE_ASID_INDEX_BITS), so a name comes back after
 * its slot's 16th reuse; a stale frame or table cap that meets it removes
 * only a mapping of its own frame or table at its own address (frame.c,
 * page_table.c), so the wrap harms nobody. */
static uint8_t asid_generation[VSPACE_ASID_COUNT];
static unsigned next_asid_index = 1;

#define ASID_GENERATIONS (1u << (16 - VSPACE_ASID_INDEX_BITS))

/* A fresh ASID for `vs`, or 0 if all VSPACE_ASID_COUNT - 1 slots are in
 * use. Slots are handed out round robin, so a freed name is reused as late
 * as possible. */
static uint16_t asid_alloc(struct vspace_object *vs)
{
    unsigned i = next_asid_index;
    for (unsigned n = 1; n < VSPACE_ASID_COUNT; n++) {
        if (!asid_table[i]) {
            asid_table[i] = vs;
            next_asid_index = i + 1 < VSPACE_ASID_COUNT ? i + 1 : 1;
            asid_generation[i] = (uint8_t)((asid_generation[i] + 1) % ASID_GENERATIONS);
            return (uint16_t)(asid_generation[i] << VSPACE_ASID_INDEX_BITS | i);
        }
        i = i + 1 < VSPACE_ASID_COUNT ? i + 1 : 1;
    }
    return 0;
}

struct vspace_object *vspace_by_asid(unsigned asid)
{
    struct vspace_object *vs = asid_table[asid % VSPACE_ASID_COUNT];
    return asid != 0 && vs && vs->asid == asid ? vs : NULL;
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
    vs->asid = asid_alloc(vs);
    /* Anyone with an untyped can retype VSpaces by the hundred: limited. */
    if (!vs->asid && log_may_print())
        log_printf("bulkhead: warning: all %u ASIDs in use: the new VSpace cannot map anything\n",
                   VSPACE_ASID_COUNT - 1);
}

void vspace_destroy(const cap_t *final_cap)
{
    struct vspace_object *vs = vspace_of_cap(final_cap);
    while (vs->threads) {
        struct thread *t = vs->threads;
        vspace_remove_thread(t);
        thread_stop(t, THREAD_INACTIVE);
        t->ipc_buffer_vaddr = 0; /* it was a page of the dead space */
        if (t->is_root)
            kprintf("bulkhead: warning: the root task's VSpace was destroyed; it stopped\n");
    }
    if (vs->asid)
        asid_table[vs->asid % VSPACE_ASID_COUNT] = NULL;
    vs->asid = 0;
    arch_vspace_destroy(&vs->arch);
    vspace_translations_changed();
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
