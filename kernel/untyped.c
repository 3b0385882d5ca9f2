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
 * Retype asks for (up to 256 frames of 2 MiB, or a CNode of 1 GiB) and how
 * many objects (up to BK_RETYPE_MAX_OBJECTS). So Retype works in steps
 * (preempt.h), and stops after any of them once an interrupt is pending,
 * restarting (KERR_RESTART, as Revoke does):
 *  - first it checks that the destination slots are empty, 32 a step;
 *    the thread keeps how far it got (struct retype_check), and the same
 *    call made again goes on from there;
 *  - then it zeroes the memory the objects need, RETYPE_ZERO_STEP bytes a
 *    step and at most RETYPE_ZERO_CHUNK a kernel entry, moving clean up.
 *    The progress is the watermark itself, so a restart that finds the
 *    untyped changed (another Retype used the zeroed memory, or a Revoke
 *    reset it) simply goes on from what the cap says;
 *  - then it makes the objects, one a step, in order, each moving
 *    free_index past it. Stopped after k of them, it says so (*made), and
 *    the syscall restarts as the call for the rest: the invocation
 *    rewrites its offset and count (untyped_invoke.c), and that call
 *    finds its memory right at the watermark, already zero. It is a call
 *    the caller could have made itself, so it needs no state of its own.
 * Memory that becomes an untyped or a device frame is not zeroed here: a
 * smaller untyped inherits what its parent knew.
 */
#include "untyped.h"

#include "kernel.h"
#include "object.h"
#include "preempt.h"

/* Bytes zeroed per kernel entry at most, against a restart's few hundred
 * instructions: 8 Ki word stores. */
#define RETYPE_ZERO_CHUNK (64u * 1024u)

/* Bytes zeroed between two polls for a pending interrupt: 128 word
 * stores, about as long as making one object (docs/scheduling.md, Kernel
 * latency). */
#define RETYPE_ZERO_STEP 1024u

/* Destination slots checked between two polls: about 110 instructions,
 * less than making one object. */
#define RETYPE_CHECK_STEP 32u

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

/* Whether dest[0 .. count) are all empty: four slots a test (CAP_NULL is
 * 0) make that about 3.5 instructions a slot instead of 6 on RISC-V. */
static bool slots_empty(const struct cte *dest, size_t count)
{
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        if (cap_type(&dest[i].cap) | cap_type(&dest[i + 1].cap) | cap_type(&dest[i + 2].cap) |
            cap_type(&dest[i + 3].cap))
            return false;
    }
    for (; i < count; i++) {
        if (!cap_is_null(&dest[i].cap))
            return false;
    }
    return true;
}

/* Checks that the slots the call fills are empty, going on where the same
 * call's check stopped in an earlier entry (*check), RETYPE_CHECK_STEP
 * slots a step, and stopping after a step once an interrupt is pending
 * (KERR_RESTART): 256 slots checked in one piece were the longest stretch
 * of a Retype with no poll (Kernel latency, docs/scheduling.md). Every
 * entry checks at least one step's worth: progress. */
static kerror_t check_dest_empty(struct retype_check *check, const struct cte *ut,
                                 const struct cte *dest, size_t count)
{
    if (check->untyped != ut || check->dest != dest || check->count != count)
        *check = (struct retype_check){ .untyped = ut, .dest = dest, .count = count };
    while (check->checked < count) {
        size_t n = count - check->checked;
        n = n < RETYPE_CHECK_STEP ? n : RETYPE_CHECK_STEP;
        if (!slots_empty(dest + check->checked, n)) {
            check->untyped = NULL; /* a new call checks from the start */
            return KERR_DELETE_FIRST;
        }
        check->checked += n;
        if (check->checked < count && preemption_due())
            return KERR_RESTART;
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
                              const struct cte *dest, size_t count, struct retype_check *check,
                              struct retype_plan *plan, struct kerror_info *info)
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
        err = check_dest_empty(check, ut, dest, count);
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
 * not known to be zero yet: RETYPE_ZERO_STEP bytes at a time, up to
 * RETYPE_ZERO_CHUNK, stopping after a step once an interrupt is pending.
 * True once all of it is zero and the objects may be made in this entry
 * (no interrupt came with the last step). The gap alignment leaves below
 * offset is taken now (it would be once the objects are made), so that
 * [free_index, clean) stays zero. */
static bool zero_up_to(struct cte *ut, uint64_t offset, uint64_t end)
{
    cap_t *cap = &ut->cap;
    if (cap_untyped_free_index(cap) < offset)
        cap_untyped_set_free_index(cap, offset);
    uint64_t clean = cap_untyped_clean(cap);
    uint64_t from = clean > offset ? clean : offset;
    if (from >= end)
        return true;
    uint64_t limit = end - from > RETYPE_ZERO_CHUNK ? from + RETYPE_ZERO_CHUNK : end;
    paddr_t base = cap_untyped_base(cap);
    bool pending;
    do {
        uint64_t to = limit - from > RETYPE_ZERO_STEP ? from + RETYPE_ZERO_STEP : limit;
        memset(arch_phys_to_virt(base + from), 0, to - from);
        from = to;
        pending = preemption_due();
    } while (from < limit && !pending);
    cap_untyped_set_clean(cap, from);
    return from == end && !pending;
}

/* Makes the object at `at` (from base) into `slot`, a child of `ut`. An
 * untyped learns how much of its memory is known zero: what was below
 * the parent's clean before the Retype. */
static void make_object(struct cte *ut, enum cap_type type, struct cte *slot, uint64_t at,
                        unsigned obj_bits, uint64_t clean)
{
    bool is_device = cap_untyped_is_device(&ut->cap);
    cap_t cap = object_create_zeroed(type, cap_untyped_base(&ut->cap) + at, obj_bits, is_device);
    if (type == CAP_UNTYPED) {
        uint64_t known = clean > at ? clean - at : 0, size = 1ull << obj_bits;
        cap_untyped_set_clean(&cap, known < size ? known : size);
    }
    cdt_install(slot, cap, ut);
}

/* Makes the objects into dest[0 ..], one a step, stopping after a step
 * once an interrupt is pending, or before a slot that is not empty (one
 * checked in an earlier entry of the call and filled since); returns how
 * many it made. The watermark moves past them, and clean with it where it
 * was lower (untypeds and device frames are not zeroed: nothing above is
 * known zero then). */
static size_t retype_invoke(struct cte *ut, enum cap_type type, struct cte *dest, size_t count,
                            const struct retype_plan *plan)
{
    uint64_t clean = cap_untyped_clean(&ut->cap), at = plan->offset;
    size_t made = 0;
    do {
        if (!cap_is_null(&dest[made].cap))
            break;
        make_object(ut, type, &dest[made++], at, plan->obj_bits, clean);
        at += 1ull << plan->obj_bits;
    } while (made < count && !preemption_due());
    cap_untyped_set_free_index(&ut->cap, at);
    if (clean < at)
        cap_untyped_set_clean(&ut->cap, at);
    return made;
}

kerror_t untyped_retype_bounded(struct cte *untyped, enum cap_type type, unsigned size_arg,
                                struct cte *dest, size_t count, struct retype_check *check,
                                size_t *made, struct kerror_info *info)
{
    struct retype_plan plan;
    *made = 0;
    kerror_t err = retype_decode(untyped, type, size_arg, dest, count, check, &plan, info);
    if (err)
        return err;
    uint64_t end = plan.offset + ((uint64_t)count << plan.obj_bits);
    if (!cte_has_children(untyped) && cap_untyped_free_index(&untyped->cap) != 0)
        untyped_reset(untyped); /* the objects start at 0 (place_objects()) */
    if (needs_zeroing(untyped, type) && !zero_up_to(untyped, plan.offset, end))
        return KERR_RESTART;
    *made = retype_invoke(untyped, type, dest, count, &plan);
    if (*made == count) {
        check->untyped = NULL; /* done: the next call is a new one */
        return KERR_OK;
    }
    if (!cap_is_null(&dest[*made].cap)) {
        check->untyped = NULL;
        return KERR_DELETE_FIRST;
    }
    /* The call for the rest: its slots were all checked. */
    *check = (struct retype_check){ .untyped = untyped, .dest = dest + *made,
                                    .count = count - *made, .checked = count - *made };
    return KERR_RESTART;
}

kerror_t untyped_retype(struct cte *untyped, enum cap_type type, unsigned size_arg,
                        struct cte *dest, size_t count, struct kerror_info *info)
{
    struct retype_check check = { 0 };
    kerror_t err;
    size_t made;
    for (;;) {
        err = untyped_retype_bounded(untyped, type, size_arg, dest, count, &check, &made, info);
        if (err != KERR_RESTART)
            return err;
        dest += made; /* the call for the rest, as the syscall's restart makes it */
        count -= made;
    }
}

void untyped_reset(struct cte *slot)
{
    cap_untyped_set_free_index(&slot->cap, 0);
    cap_untyped_set_clean(&slot->cap, 0); /* the objects' memory is not zero */
}
