/*
 * Frame objects: a 4 KiB or 2 MiB page a thread maps into a VSpace, and
 * the Frame methods of kernel/abi.toml (map, unmap, remap, get_address).
 * Frames are not counted (every byte is the user's); the per-cap hook
 * frame_cap_deleted() runs on every deletion instead.
 *
 * Invariants:
 *  - a frame cap records at most one mapping, the one it made (ASID and
 *    vaddr; ASID 0: unmapped); copies start unmapped (object_derive);
 *  - a recorded mapping is removed only where the VSpace still maps this
 *    frame's address with this size (arch_vspace_unmap_frame checks), so
 *    a record left stale by a deleted table or VSpace removes nothing else;
 *  - no mapping has a right the cap lacks, nor write and execute together;
 *  - a RAM frame's physical address is told only through a cap with
 *    CAP_RIGHT_PHYS_ADDRESS (device frames always tell theirs).
 */
#include <bulkhead/abi.h>

#include "invoke.h"
#include "iospace.h"
#include "kernel.h"
#include "vspace.h"
#include "vspace_object.h"

#define VM_RIGHTS_ALL (VM_READ | VM_WRITE | VM_EXEC)

static bool frame_is_mapped(const cap_t *frame)
{
    return cap_frame_mapped_asid(frame) != 0;
}

/* A rights argument has only BK_VM_* bits and never write with execute. */
static kerror_t check_rights_arg(uint64_t rights)
{
    if (rights & ~(uint64_t)VM_RIGHTS_ALL)
        return KERR_INVALID_ARGUMENT;
    if ((rights & VM_WRITE) && (rights & VM_EXEC))
        return KERR_INVALID_ARGUMENT; /* W^X */
    return KERR_OK;
}

/* What a mapping gets: read always (no MMU here maps write- or
 * execute-only), write only if the cap has the write right. */
static unsigned mapping_rights(const cap_t *frame, uint64_t asked)
{
    unsigned rights = VM_READ | (unsigned)(asked & VM_EXEC);
    if ((asked & VM_WRITE) && (cap_rights(frame) & CAP_RIGHT_WRITE))
        rights |= VM_WRITE;
    return rights;
}

/* vaddr is aligned to the frame and the whole frame is in the user half. */
static kerror_t check_vaddr(const cap_t *frame, uint64_t vaddr)
{
    uint64_t size = 1ull << cap_frame_size_bits(frame);
    if (!IS_ALIGNED(vaddr, size) || vaddr >= ARCH_USER_VADDR_MAX ||
        ARCH_USER_VADDR_MAX - vaddr < size)
        return KERR_INVALID_ARGUMENT;
    return KERR_OK;
}

/* Removes the mapping `frame` records, if its VSpace is alive and still
 * maps the frame there (or, for an IO mapping, if the device still maps
 * it there); the record itself is the caller's. */
static void remove_mapping(const cap_t *frame)
{
    if (cap_frame_is_io_mapped(frame)) {
        iospace_remove_frame(frame);
        return;
    }
    struct vspace_object *vs = vspace_by_asid(cap_frame_mapped_asid(frame));
    if (vs) {
        arch_vspace_unmap_frame(&vs->arch, cap_frame_mapped_vaddr(frame), cap_frame_base(frame),
                                cap_frame_size_bits(frame));
        vspace_translations_changed(vs);
    }
}

/* Every check of Frame: Map on the invoked cap and the arguments, in the
 * order of the errors in docs/objects.md; finds the VSpace. */
static kerror_t check_map(struct invocation *inv, struct vspace_object **vs,
                          struct kerror_info *info)
{
    const cap_t *frame = &inv->slot->cap;
    if (frame_is_mapped(frame))
        return KERR_ILLEGAL_OPERATION; /* one mapping per cap: map a copy instead */
    if (!(cap_rights(frame) & CAP_RIGHT_READ))
        return KERR_INSUFFICIENT_RIGHTS; /* every mapping is readable */
    kerror_t err = vspace_cap_arg(inv, inv->args[0], vs, info);
    if (err != KERR_OK)
        return err;
    if (!vspace_has_asid(*vs))
        return KERR_ILLEGAL_OPERATION; /* no ASID: ASIDPool: Assign first */
    err = check_rights_arg(inv->args[2]);
    if (err != KERR_OK)
        return err;
    if (inv->args[3] & ~(uint64_t)BK_VM_UNCACHED)
        return KERR_INVALID_ARGUMENT;
    return check_vaddr(frame, inv->args[1]);
}

kerror_t frame_invoke_map(struct invocation *inv, struct kerror_info *info)
{
    cap_t *frame = &inv->slot->cap;
    struct vspace_object *vs;
    kerror_t err = check_map(inv, &vs, info);
    if (err != KERR_OK)
        return err;
    /* The last check and the act in one: the arch walk either installs
     * the leaf or changes nothing and says why. */
    vaddr_t vaddr = inv->args[1];
    bool uncached = cap_frame_is_device(frame) || (inv->args[3] & BK_VM_UNCACHED);
    unsigned missing_level = 0;
    enum arch_map_result r = arch_vspace_map_frame(
        &vs->arch, vaddr, cap_frame_base(frame), cap_frame_size_bits(frame),
        mapping_rights(frame, inv->args[2]), uncached, &missing_level);
    err = vspace_map_error(r, missing_level, info);
    if (err == KERR_OK)
        cap_frame_set_mapping(frame, vaddr, vs->asid);
    return err;
}

/* Frame: MapIO: the frame cap's own checks, then iospace.c's. */
kerror_t frame_invoke_map_io(struct invocation *inv, struct kerror_info *info)
{
    const cap_t *frame = &inv->slot->cap;
    if (frame_is_mapped(frame))
        return KERR_ILLEGAL_OPERATION; /* one mapping per cap: map a copy instead */
    if (!(cap_rights(frame) & CAP_RIGHT_READ))
        return KERR_INSUFFICIENT_RIGHTS;
    return iospace_map_frame(inv, info);
}

kerror_t frame_invoke_unmap(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    cap_t *frame = &inv->slot->cap;
    if (frame_is_mapped(frame)) {
        remove_mapping(frame);
        cap_frame_set_mapping(frame, 0, 0);
    }
    return KERR_OK;
}

kerror_t frame_invoke_remap(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    const cap_t *frame = &inv->slot->cap;
    kerror_t err = check_rights_arg(inv->args[0]);
    if (err != KERR_OK)
        return err;
    if (cap_frame_is_io_mapped(frame))
        return KERR_ILLEGAL_OPERATION; /* an IO mapping: unmap and MapIO again */
    struct vspace_object *vs = vspace_by_asid(cap_frame_mapped_asid(frame));
    vaddr_t vaddr = cap_frame_mapped_vaddr(frame);
    paddr_t pa;
    unsigned now;
    if (!vs || !arch_vspace_translate(&vs->arch, vaddr, &pa, &now))
        return KERR_ILLEGAL_OPERATION; /* never mapped, or gone with its table or space */
    /* Rights only shrink: keep what was asked that the mapping has. The
     * arch refuses (changing nothing) if vaddr maps another frame now. */
    unsigned rights = mapping_rights(frame, inv->args[0]) & now;
    if (!arch_vspace_remap_frame(&vs->arch, vaddr, cap_frame_base(frame),
                                 cap_frame_size_bits(frame), rights))
        return KERR_ILLEGAL_OPERATION;
    vspace_translations_changed(vs);
    return KERR_OK;
}

/* Whether `frame` may tell its physical address. A device frame always
 * may: its address is no secret (the boot info lists device regions) and
 * drivers need it. A RAM frame needs CAP_RIGHT_PHYS_ADDRESS: where RAM
 * frames lie lets a tenant pick rows to hammer (Rowhammer) or cache sets
 * to probe (cache colouring), so only whoever owns the untyped memory
 * hands the right out (retype gives it; copies keep it only if asked). */
static bool may_tell_address(const cap_t *frame)
{
    return cap_frame_is_device(frame) || (cap_rights(frame) & CAP_RIGHT_PHYS_ADDRESS);
}

kerror_t frame_invoke_get_address(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    const cap_t *frame = &inv->slot->cap;
    if (!may_tell_address(frame))
        return KERR_INSUFFICIENT_RIGHTS;
    /* Drivers need RAM addresses too, for DMA buffers. */
    inv->results[0] = cap_frame_base(frame);
    inv->result_count = 1;
    return KERR_OK;
}

void frame_cap_deleted(const cap_t *cap)
{
    if (frame_is_mapped(cap))
        remove_mapping(cap);
}
