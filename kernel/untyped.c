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
 *    untypeds, never kernel objects, and the kernel never writes to it.
 */
#include "untyped.h"

#include "kernel.h"
#include "object.h"

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

static void retype_invoke(struct cte *ut, enum cap_type type, struct cte *dest, size_t count,
                          const struct retype_plan *plan)
{
    paddr_t first = cap_untyped_base(&ut->cap) + plan->offset;
    bool is_device = cap_untyped_is_device(&ut->cap);
    for (size_t i = 0; i < count; i++) {
        paddr_t pa = first + ((uint64_t)i << plan->obj_bits);
        cdt_install(&dest[i], object_create(type, pa, plan->obj_bits, is_device), ut);
    }
    cap_untyped_set_free_index(&ut->cap, plan->offset + ((uint64_t)count << plan->obj_bits));
}

kerror_t untyped_retype(struct cte *untyped, enum cap_type type, unsigned size_arg,
                        struct cte *dest, size_t count, struct kerror_info *info)
{
    struct retype_plan plan;
    kerror_t err = retype_decode(untyped, type, size_arg, dest, count, &plan, info);
    if (err)
        return err;
    retype_invoke(untyped, type, dest, count, &plan);
    return KERR_OK;
}

void untyped_reset(struct cte *slot)
{
    cap_untyped_set_free_index(&slot->cap, 0);
}
