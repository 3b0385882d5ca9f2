/*
 * IOSpaceControl, IOSpace and IOPageTable: DMA isolation (see
 * docs/objects.md, "IOSpaceControl, IOSpace, IOPageTable", and
 * docs/security.md). An IOSpace is the DMA address space of one PCI
 * device; the IOMMU (arch_iommu_*) translates the device's DMA through IO
 * page tables that user space retypes from untyped memory and maps into
 * it, and lets it reach only the frames mapped there (Frame: MapIO).
 *
 * Invariants:
 *  - no IOSpace cap exists unless the IOMMU translates DMA and has
 *    claimed the device (arch_iommu_claim_device), so every method on an
 *    IOSpace may call the arch;
 *  - an IOSpace holds no memory and is not counted: caps to one device
 *    name the same space, and deleting them changes no translation; the
 *    mappings belong to the caps that made them (an IO page table's, a
 *    frame's), and go when those are unmapped or deleted;
 *  - an IO page table has one cap and is hooked in at most one place, the
 *    one its cap records; unhooked, it is zeroed (unmap clears it) or
 *    unreachable for good (as page_table.c's tables);
 *  - a mapping is removed only where the device still maps this frame or
 *    table (the arch checks), so a stale record removes nothing else.
 */
#include "iospace.h"

#include "cnode.h"
#include "invoke.h"
#include "kernel.h"
#include "vspace_object.h"

#define IO_PT_LEVEL_SHIFT 16
#define IO_PT_LEVEL_MASK 0x3ull
#define IO_PT_IOVA_MASK (~0ull << ARCH_LARGE_PAGE_BITS)
#define RID_MAX 0xffffu

/* ---- IOSpaceControl: Issue -------------------------------------------------- */

kerror_t iospace_control_invoke_issue(struct invocation *inv, struct kerror_info *info)
{
    uint64_t rid = inv->args[0];
    if (!arch_iommu_present())
        return KERR_ILLEGAL_OPERATION; /* no IOMMU: DMA cannot be confined here */
    if (rid > RID_MAX) {
        info->range_min = 0;
        info->range_max = RID_MAX;
        return KERR_RANGE;
    }
    struct cte *dest;
    kerror_t err = invoke_lookup_empty_slot(inv, inv->args[1], inv->args[2], inv->args[3], &dest,
                                            info);
    if (err != KERR_OK)
        return err;
    if (!arch_iommu_claim_device((unsigned)rid))
        return KERR_INVALID_ARGUMENT; /* not behind the IOMMU, or no room for its context */
    /* A child of IOSpaceControl: revoking it takes every IOSpace cap back. */
    cdt_install(dest, cap_make_iospace((unsigned)rid), inv->slot);
    return KERR_OK;
}

/* ---- IOSpaceControl: TakeFault ----------------------------------------------- */

kerror_t iospace_control_invoke_take_fault(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    if (!arch_iommu_present())
        return KERR_ILLEGAL_OPERATION;
    struct arch_dma_fault f;
    uint64_t lost;
    bool found = arch_iommu_take_fault(&f, &lost);
    inv->results[0] = found ? BK_DMA_FAULT(f.rid, f.write ? BK_FAULT_ACCESS_WRITE
                                                          : BK_FAULT_ACCESS_READ,
                                           f.reason, 1)
                            : 0;
    inv->results[1] = found ? f.iova : 0;
    inv->results[2] = lost;
    inv->results[3] = arch_iommu_fault_line();
    inv->result_count = 4;
    return KERR_OK;
}

/* Resolves an IOSpace cap argument: FAILED_LOOKUP or INVALID_CAPABILITY. */
static kerror_t iospace_cap_arg(struct invocation *inv, uint64_t cptr, unsigned *rid,
                                struct kerror_info *info)
{
    struct cte *slot;
    kerror_t err = invoke_lookup_cap_arg(inv, cptr, &slot, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&slot->cap) != CAP_IOSPACE)
        return KERR_INVALID_CAPABILITY;
    *rid = cap_iospace_device(&slot->cap);
    return KERR_OK;
}

/* ---- IOPageTable: Map, Unmap ---------------------------------------------- */

static unsigned io_pt_device_plus_one(const cap_t *pt)
{
    return cap_mapped_asid(pt);
}

static unsigned io_pt_level(const cap_t *pt)
{
    return (unsigned)((pt->w[2] >> IO_PT_LEVEL_SHIFT) & IO_PT_LEVEL_MASK);
}

static uint64_t io_pt_iova(const cap_t *pt)
{
    return pt->w[2] & IO_PT_IOVA_MASK;
}

static void io_pt_set_mapping(cap_t *pt, uint64_t iova, unsigned level, unsigned device_plus_one)
{
    cap_set_mapped_asid(pt, device_plus_one);
    pt->w[2] = (iova & IO_PT_IOVA_MASK) | ((uint64_t)level & IO_PT_LEVEL_MASK) << IO_PT_LEVEL_SHIFT;
}

static paddr_t io_pt_pa(const cap_t *pt)
{
    return arch_virt_to_phys(cap_object(pt));
}

static void remove_table(const cap_t *pt)
{
    arch_iommu_unmap_table(io_pt_device_plus_one(pt) - 1, io_pt_iova(pt), io_pt_level(pt),
                           io_pt_pa(pt));
}

kerror_t io_page_table_invoke_map(struct invocation *inv, struct kerror_info *info)
{
    cap_t *pt = &inv->slot->cap;
    if (io_pt_device_plus_one(pt))
        return KERR_ILLEGAL_OPERATION; /* in one place at most (see the top) */
    unsigned rid;
    kerror_t err = iospace_cap_arg(inv, inv->args[0], &rid, info);
    if (err != KERR_OK)
        return err;
    uint64_t iova = inv->args[1];
    if (iova >= arch_iommu_iova_limit())
        return KERR_INVALID_ARGUMENT;
    unsigned level = 0;
    err = vspace_map_error(arch_iommu_map_table(rid, iova, io_pt_pa(pt), &level), 0, info);
    if (err == KERR_OK)
        io_pt_set_mapping(pt, ALIGN_DOWN(iova, 1ull << vspace_level_span_bits(level)), level,
                          rid + 1);
    return err;
}

kerror_t io_page_table_invoke_unmap(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    cap_t *pt = &inv->slot->cap;
    if (!io_pt_device_plus_one(pt))
        return KERR_OK;
    remove_table(pt);
    /* Its entries must not come back wherever it is mapped next. */
    memset(cap_object(pt), 0, ARCH_PAGE_SIZE);
    io_pt_set_mapping(pt, 0, 0, 0);
    return KERR_OK;
}

void io_page_table_cap_deleted(const cap_t *cap)
{
    if (io_pt_device_plus_one(cap))
        remove_table(cap);
}

/* ---- Frame: MapIO ------------------------------------------------------------ */

/* Only BK_VM_READ and BK_VM_WRITE, and read always: VT-d second-level
 * entries have no execute for DMA, and a write-only page would be a
 * mapping no MMU-side rule describes. */
static kerror_t check_io_rights(const cap_t *frame, uint64_t rights)
{
    if (!(rights & VM_READ) || (rights & ~(uint64_t)(VM_READ | VM_WRITE)))
        return KERR_INVALID_ARGUMENT;
    if ((rights & VM_WRITE) && !(cap_rights(frame) & CAP_RIGHT_WRITE))
        return KERR_INSUFFICIENT_RIGHTS;
    return KERR_OK;
}

kerror_t iospace_map_frame(struct invocation *inv, struct kerror_info *info)
{
    cap_t *frame = &inv->slot->cap;
    unsigned rid;
    kerror_t err = iospace_cap_arg(inv, inv->args[0], &rid, info);
    if (err != KERR_OK)
        return err;
    uint64_t iova = inv->args[1];
    if (cap_frame_size_bits(frame) != OBJ_FRAME_BITS || !IS_ALIGNED(iova, ARCH_PAGE_SIZE) ||
        iova >= arch_iommu_iova_limit())
        return KERR_INVALID_ARGUMENT;
    if ((err = check_io_rights(frame, inv->args[2])) != KERR_OK)
        return err;
    unsigned missing_level = 0;
    enum arch_map_result r = arch_iommu_map_frame(rid, iova, cap_frame_base(frame),
                                                  (unsigned)inv->args[2], &missing_level);
    err = vspace_map_error(r, missing_level, info);
    if (err == KERR_OK)
        cap_frame_set_io_mapping(frame, iova, rid);
    return err;
}

void iospace_remove_frame(const cap_t *frame)
{
    arch_iommu_unmap_frame(cap_mapped_asid(frame) - 1, cap_frame_mapped_vaddr(frame),
                           cap_frame_base(frame));
}
