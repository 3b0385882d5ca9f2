/*
 * Untyped memory and retype.
 *
 * An untyped cap names 2^size_bits bytes of physical memory from `base` and
 * carries free_index, the watermark: objects are carved upward from it, each
 * aligned to its own size, and the gaps alignment leaves are not reused
 * until the untyped is empty again.
 *
 * Invariants:
 *  - every live object made from an untyped lies in [base, base +
 *    free_index) of its closest untyped ancestor in the derivation tree,
 *    and no two live objects there overlap;
 *  - hence: if an untyped's slot has no children, nothing made from its
 *    memory is alive, and its watermark may go back to 0. Retype and revoke
 *    both do that. (Children that lose their untyped parent to a delete move
 *    up to the untyped above it, whose range and watermark cover them.)
 *  - only the original cap retypes. Copies (marked in the cap) may be
 *    deleted and revoked but never retyped: two caps handing out the same
 *    memory from two watermarks would overlap objects. An untyped can be
 *    copied only while it has no children (cnode.c), as in seL4;
 *  - device untyped memory becomes only frames and smaller device
 *    untypeds, never kernel objects, and the kernel never writes to it;
 *  - [free_index, clean) holds zeros (clean, in the cap, may be below
 *    free_index: then nothing above it is known to be zero).
 *
 * Objects must start zeroed, and a tenant decides how much memory one
 * Retype asks for (up to 256 frames of 2 MiB, or a CNode of 1 GiB). So
 * Retype zeroes what it needs a piece of RETYPE_ZERO_CHUNK bytes per
 * kernel entry, moving clean up, and restarts in between (KERR_RESTART,
 * as Revoke does); once clean reaches the end of the objects it makes
 * them all at once, which costs O(count). The progress is the watermark
 * itself, so a restart that finds the untyped changed (another Retype
 * used the zeroed memory, or a Revoke reset it) simply goes on from what
 * the cap says. Memory that becomes an untyped or a device frame is not
 * zeroed here: a smaller untyped inherits what its parent knew.
 */
#include "untyped.h"

#include "kernel.h"
#include "object.h"

/* Bytes zeroed per kernel entry: about 64 Ki stores of a byte's worth of
 * work each way (the kernel's memset writes words), tens of microseconds
 * with interrupts off, against a restart's few hundred instructions. */
#define RETYPE_ZERO_CHUNK (64u * 1024u)

/* What decode worked out for invoke. */
struct retype_plan {
    unsigned obj_bits; /* log2 bytes of one object */
    uint64_t offset;   /* where the first object starts, from base */
};

static bool device_may_become(enum cap_type type)
{
    return type == CAP_FRAME || type == CAP_UNTYPED;
}

static kerror_t check_count(size_t count, struct kerror_info *info)
{
    if (count >= 1 && count <= BK_RETYPE_MAX_OBJECTS)
        return KERR_OK;
    info->range_min = 1;
    info->range_max = BK_RETYPE_MAX_OBJECTS;
    return KERR_RANGE;
}

static kerror_t check_dest_empty(const struct cte *dest, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!cap_is_null(&dest[i].cap))
            return KERR_DELETE_FIRST;
    }
    return KERR_OK;
}

/* Finds room for `count` objects of 2^obj_bits bytes above the watermark
 * (from 0 if the untyped has no children), each aligned to its size in
 * physical memory. Sizes are at most 2^47 and count at most 256, so no sum
 * here can overflow. */
static kerror_t place_objects(const struct cte *ut, size_t count, struct retype_plan *plan,
                              struct kerror_info *info)
{
    const cap_t *cap = &ut->cap;
    paddr_t base = cap_untyped_base(cap);
    uint64_t size = 1ull << cap_untyped_size_bits(cap);
    uint64_t obj_size = 1ull << plan->obj_bits;
    uint64_t start = cte_has_children(ut) ? cap_untyped_free_index(cap) : 0;
    uint64_t aligned = ALIGN_UP(base + start, obj_size) - base;
    uint64_t asked = (uint64_t)count << plan->obj_bits;
    uint64_t left = aligned < size ? size - aligned : 0;
    if (asked > left) {
        info->mem_asked = asked;
        info->mem_left = left;
        return KERR_NOT_ENOUGH_MEMORY;
    }
    plan->offset = aligned;
    return KERR_OK;
}

static kerror_t retype_decode(const struct cte *ut, enum cap_type type, unsigned size_arg,
                              const struct cte *dest, size_t count, struct retype_plan *plan,
                              struct kerror_info *info)
{
    if (cap_type(&ut->cap) != CAP_UNTYPED)
        return KERR_INVALID_CAPABILITY;
    if (cap_untyped_is_copy(&ut->cap))
        return KERR_ILLEGAL_OPERATION;
    if (!object_is_retypable(type))
        return KERR_INVALID_ARGUMENT;
    kerror_t err = object_size_bits(type, size_arg, &plan->obj_bits, info);
    if (err)
        return err;
    if (cap_untyped_is_device(&ut->cap) && !device_may_become(type))
        return KERR_INVALID_ARGUMENT;
    err = check_count(count, info);
    if (!err)
        err = check_dest_empty(dest, count);
    if (!err)
        err = place_objects(ut, count, plan, info);
    return err;
}

/* Whether objects of `type` need zeroed memory. */
static bool needs_zeroing(const struct cte *ut, enum cap_type type)
{
    return type != CAP_UNTYPED && !cap_untyped_is_device(&ut->cap);
}

/* Zeroes the next piece of [offset, end), where the objects go, that is
 * not known to be zero yet. True once all of it is. The gap alignment
 * leaves below offset is taken now (it would be once the objects are
 * made), so that [free_index, clean) stays zero. */
static bool zero_up_to(struct cte *ut, uint64_t offset, uint64_t end)
{
    cap_t *cap = &ut->cap;
    if (cap_untyped_free_index(cap) < offset)
        cap_untyped_set_free_index(cap, offset);
    uint64_t clean = cap_untyped_clean(cap);
    uint64_t from = clean > offset ? clean : offset;
    if (from >= end)
        return true;
    uint64_t to = end - from > RETYPE_ZERO_CHUNK ? from + RETYPE_ZERO_CHUNK : end;
    memset(arch_phys_to_virt(cap_untyped_base(cap) + from), 0, to - from);
    cap_untyped_set_clean(cap, to);
    return to == end;
}

static void retype_invoke(struct cte *ut, enum cap_type type, struct cte *dest, size_t count,
                          const struct retype_plan *plan)
{
    paddr_t first = cap_untyped_base(&ut->cap) + plan->offset;
    bool is_device = cap_untyped_is_device(&ut->cap);
    uint64_t clean = cap_untyped_clean(&ut->cap);
    uint64_t end = plan->offset + ((uint64_t)count << plan->obj_bits);
    for (size_t i = 0; i < count; i++) {
        uint64_t at = plan->offset + ((uint64_t)i << plan->obj_bits);
        cap_t cap = object_create_zeroed(type, first + (at - plan->offset), plan->obj_bits,
                                         is_device);
        if (type == CAP_UNTYPED) { /* what is known zero of its memory */
            uint64_t known = clean > at ? clean - at : 0, size = 1ull << plan->obj_bits;
            cap_untyped_set_clean(&cap, known < size ? known : size);
        }
        cdt_install(&dest[i], cap, ut);
    }
    cap_untyped_set_free_index(&ut->cap, end);
    if (clean < end)
        cap_untyped_set_clean(&ut->cap, end);
}

kerror_t untyped_retype_bounded(struct cte *untyped, enum cap_type type, unsigned size_arg,
                                struct cte *dest, size_t count, struct kerror_info *info)
{
    struct retype_plan plan;
    kerror_t err = retype_decode(untyped, type, size_arg, dest, count, &plan, info);
    if (err)
        return err;
    uint64_t end = plan.offset + ((uint64_t)count << plan.obj_bits);
    if (!cte_has_children(untyped) && cap_untyped_free_index(&untyped->cap) != 0)
        untyped_reset(untyped); /* the objects start at 0 (place_objects()) */
    if (needs_zeroing(untyped, type) && !zero_up_to(untyped, plan.offset, end))
        return KERR_RESTART;
    retype_invoke(untyped, type, dest, count, &plan);
    return KERR_OK;
}

kerror_t untyped_retype(struct cte *untyped, enum cap_type type, unsigned size_arg,
                        struct cte *dest, size_t count, struct kerror_info *info)
{
    kerror_t err;
    do
        err = untyped_retype_bounded(untyped, type, size_arg, dest, count, info);
    while (err == KERR_RESTART);
    return err;
}

void untyped_reset(struct cte *slot)
{
    cap_untyped_set_free_index(&slot->cap, 0);
    cap_untyped_set_clean(&slot->cap, 0); /* the objects' memory is not zero */
}
