/*
 * PageTable objects: one 4 KiB translation table a pager hooks into a
 * VSpace, and the PageTable methods of kernel/abi.toml (map, unmap). The
 * arch decides the level at map time: the first one the address's walk
 * finds missing. Page tables are not counted (every byte is the MMU's);
 * the per-cap hook page_table_cap_deleted() runs on every deletion.
 *
 * Invariants:
 *  - a table has exactly one cap (PAGE_TABLE caps cannot be copied, only
 *    moved), so it is hooked into at most one place: the one its cap
 *    records (ASID, vaddr, level; ASID 0: unmapped). Were it hooked at
 *    two levels, a leaf written at one would read as a table pointer at
 *    the other, and user data could become page-table entries;
 *  - a table that is not hooked anywhere is either zeroed or unreachable
 *    for good: unmap clears it before it can be mapped again, and a
 *    deleted table's memory is zeroed by the retype that reuses it.
 */
#include "invoke.h"
#include "kernel.h"
#include "vspace.h"
#include "vspace_object.h"

static paddr_t table_pa(const cap_t *pt)
{
    return arch_virt_to_phys(cap_object(pt));
}

/* Unhooks the table where its cap says it is, if its VSpace is alive and
 * the table is still the one there; the record is the caller's. */
static void remove_table(const cap_t *pt)
{
    struct vspace_object *vs = vspace_by_asid(pt_cap_mapped_asid(pt));
    if (vs) {
        arch_vspace_unmap_table(&vs->arch, pt_cap_mapped_vaddr(pt), pt_cap_mapped_level(pt),
                                table_pa(pt));
        vspace_translations_changed(vs);
    }
}

kerror_t page_table_invoke_map(struct invocation *inv, struct kerror_info *info)
{
    cap_t *pt = &inv->slot->cap;
    if (pt_cap_mapped_asid(pt))
        return KERR_ILLEGAL_OPERATION; /* in one place at most (see the top) */
    struct vspace_object *vs;
    kerror_t err = vspace_cap_arg(inv, inv->args[0], &vs, info);
    if (err != KERR_OK)
        return err;
    if (!vspace_has_asid(vs))
        return KERR_ILLEGAL_OPERATION; /* no ASID: ASIDPool: Assign first */
    vaddr_t vaddr = inv->args[1];
    if (vaddr >= ARCH_USER_VADDR_MAX)
        return KERR_INVALID_ARGUMENT;
    /* Check and act in one: the arch installs the table or changes nothing. */
    unsigned level = 0;
    err = vspace_map_error(arch_vspace_map_table(&vs->arch, vaddr, table_pa(pt), &level), 0,
                           info);
    if (err == KERR_OK)
        pt_cap_set_mapping(pt, ALIGN_DOWN(vaddr, (vaddr_t)1 << vspace_level_span_bits(level)),
                           level, vs->asid);
    return err;
}

kerror_t page_table_invoke_unmap(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    cap_t *pt = &inv->slot->cap;
    if (!pt_cap_mapped_asid(pt))
        return KERR_OK;
    remove_table(pt);
    /* Its entries must not come back wherever it is mapped next. */
    memset(cap_object(pt), 0, ARCH_PAGE_SIZE);
    pt_cap_set_mapping(pt, 0, 0, 0);
    return KERR_OK;
}

void page_table_cap_deleted(const cap_t *cap)
{
    if (pt_cap_mapped_asid(cap))
        remove_table(cap);
}
