/*
 * ASIDControl: the one capability that makes ASID pools, and its method
 * of kernel/abi.toml (make_pool). The kernel makes it at boot, in the root
 * task's CNode; it names no object and cannot be copied (object.c), only
 * moved, so whoever holds it decides who gets pools, as the holder of
 * IRQControl decides who gets interrupt lines.
 *
 * Invariants:
 *  - a pool is made only from a whole untyped of one page with nothing
 *    made from it: its cap is the untyped's only child, and the untyped's
 *    watermark is at its end while the pool (or the zombie its last cap
 *    became) lives, so Retype cannot hand the page out twice; when the
 *    pool goes, the untyped has no children and Retype starts it from 0;
 *  - a pool covers a range from the moment it is made (asid_pool.c).
 */
#include "asid_pool.h"

#include "cdt.h"
#include "invoke.h"
#include "kernel.h"

/* The checks on the `untyped` argument, in the order of docs/objects.md. */
static kerror_t check_untyped(struct invocation *inv, struct cte **ut, struct kerror_info *info)
{
    kerror_t err = invoke_lookup_cap_arg(inv, inv->args[0], ut, info);
    if (err != KERR_OK)
        return err;
    const cap_t *cap = &(*ut)->cap;
    if (cap_type(cap) != CAP_UNTYPED)
        return KERR_INVALID_CAPABILITY;
    if (cap_untyped_is_copy(cap))
        return KERR_ILLEGAL_OPERATION; /* only the original hands memory out */
    if (cap_untyped_is_device(cap))
        return KERR_INVALID_ARGUMENT; /* never a kernel object */
    if (cap_untyped_size_bits(cap) != OBJ_ASID_POOL_BITS) {
        info->range_min = OBJ_ASID_POOL_BITS;
        info->range_max = OBJ_ASID_POOL_BITS;
        return KERR_RANGE;
    }
    if (cte_has_children(*ut))
        return KERR_REVOKE_FIRST; /* some of its memory is in use */
    return KERR_OK;
}

kerror_t asid_control_invoke_make_pool(struct invocation *inv, struct kerror_info *info)
{
    struct cte *ut, *dest;
    kerror_t err = check_untyped(inv, &ut, info);
    if (err != KERR_OK)
        return err;
    err = invoke_lookup_empty_slot(inv, inv->args[1], inv->args[2], inv->args[3], &dest, info);
    if (err != KERR_OK)
        return err;
    if (!asid_range_available())
        return KERR_DELETE_FIRST; /* every range has a pool: delete one */
    /* One page to zero: bounded, no restart needed. */
    paddr_t pa = cap_untyped_base(&ut->cap);
    cap_t cap = object_create(CAP_ASID_POOL, pa, OBJ_ASID_POOL_BITS, false);
    asid_pool_take_range(asid_pool_of_cap(&cap));
    cap_untyped_set_free_index(&ut->cap, 1ull << OBJ_ASID_POOL_BITS);
    cdt_install(dest, cap, ut);
    return KERR_OK;
}
