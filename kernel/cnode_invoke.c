/*
 * The CNode methods as user space invokes them (kernel/abi.toml, object
 * "cnode"): decoding of the (index, depth) slot addresses and the source
 * root argument, then the operations of cnode.c. Destination addresses are
 * resolved from the invoked CNode; sources from the `src_root` CNode cap,
 * itself an address in the caller's CSpace.
 */
#include "cnode.h"
#include "invoke.h"
#include "ipc.h"

/* The slot at (index, depth) below the CNode cap in `cnode_slot`. */
static kerror_t lookup_in(const struct cte *cnode_slot, uint64_t index, uint64_t depth,
                          bool is_source, struct cte **slot, struct kerror_info *info)
{
    if (depth < CSPACE_DEPTH_MIN || depth > CSPACE_DEPTH_MAX) {
        info->range_min = CSPACE_DEPTH_MIN;
        info->range_max = CSPACE_DEPTH_MAX;
        return KERR_RANGE;
    }
    kerror_t err = cspace_lookup_slot(&cnode_slot->cap, index, (unsigned)depth, slot,
                                      &info->lookup);
    if (err == KERR_FAILED_LOOKUP)
        info->lookup_was_source = is_source;
    return err;
}

/* Decodes (dest_index, dest_depth, src_root, src_index, src_depth), the
 * first five arguments of copy, mint, move and mutate. */
static kerror_t decode_pair(struct invocation *inv, struct cte **dest, struct cte **src,
                            struct kerror_info *info)
{
    struct cte *src_root;
    kerror_t err = lookup_in(inv->slot, inv->args[0], inv->args[1], false, dest, info);
    if (err != KERR_OK)
        return err;
    err = invoke_lookup_cap_arg(inv, inv->args[2], &src_root, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&src_root->cap) != CAP_CNODE)
        return KERR_INVALID_CAPABILITY;
    return lookup_in(src_root, inv->args[3], inv->args[4], true, src, info);
}

kerror_t cnode_invoke_revoke(struct invocation *inv, struct kerror_info *info)
{
    struct cte *slot;
    kerror_t err = lookup_in(inv->slot, inv->args[0], inv->args[1], true, &slot, info);
    if (err != KERR_OK)
        return err;
    /* A bounded batch per kernel entry; the tree holds the progress. */
    return cnode_revoke(slot) ? KERR_OK : KERR_RESTART;
}

kerror_t cnode_invoke_delete(struct invocation *inv, struct kerror_info *info)
{
    struct cte *slot;
    kerror_t err = lookup_in(inv->slot, inv->args[0], inv->args[1], true, &slot, info);
    if (err != KERR_OK)
        return err;
    /* A large CNode is emptied a batch per kernel entry (a zombie holds
     * the slot meanwhile). */
    return cnode_delete_bounded(slot) ? KERR_OK : KERR_RESTART;
}

kerror_t cnode_invoke_copy(struct invocation *inv, struct kerror_info *info)
{
    struct cte *dest, *src;
    kerror_t err = decode_pair(inv, &dest, &src, info);
    return err != KERR_OK ? err : cnode_copy(src, dest, (cap_rights_t)inv->args[5], info);
}

kerror_t cnode_invoke_mint(struct invocation *inv, struct kerror_info *info)
{
    struct cte *dest, *src;
    kerror_t err = decode_pair(inv, &dest, &src, info);
    return err != KERR_OK ? err
                          : cnode_mint(src, dest, (cap_rights_t)inv->args[5], inv->args[6], info);
}

kerror_t cnode_invoke_move(struct invocation *inv, struct kerror_info *info)
{
    struct cte *dest, *src;
    kerror_t err = decode_pair(inv, &dest, &src, info);
    return err != KERR_OK ? err : cnode_move(src, dest, info);
}

kerror_t cnode_invoke_mutate(struct invocation *inv, struct kerror_info *info)
{
    struct cte *dest, *src;
    kerror_t err = decode_pair(inv, &dest, &src, info);
    return err != KERR_OK ? err : cnode_mutate(src, dest, inv->args[5], info);
}

/* The authority to cancel other caps' sends: an unbadged endpoint cap
 * with every endpoint right, which is what the endpoint's owner keeps and
 * mints its clients' badges from (a client's cap has a badge or lacks
 * read). seL4 takes the badge from a badged cap with all rights instead;
 * here the badge is an argument, so the cap must be one that may name any
 * badge. */
#define CANCEL_RIGHTS (CAP_RIGHT_READ | CAP_RIGHT_WRITE | CAP_RIGHT_GRANT | CAP_RIGHT_GRANT_REPLY)

static kerror_t check_cancel_authority(const struct cte *slot, uint64_t badge,
                                       struct kerror_info *info)
{
    if (cap_is_null(&slot->cap)) {
        info->lookup_was_source = true;
        info->lookup = (struct lookup_fault){ .kind = LOOKUP_FAULT_MISSING_CAPABILITY };
        return KERR_FAILED_LOOKUP;
    }
    if (cap_type(&slot->cap) != CAP_ENDPOINT)
        return KERR_INVALID_CAPABILITY;
    if (cap_badge(&slot->cap) != 0)
        return KERR_ILLEGAL_OPERATION;
    if ((cap_rights(&slot->cap) & CANCEL_RIGHTS) != CANCEL_RIGHTS)
        return KERR_INSUFFICIENT_RIGHTS;
    if (badge == 0)
        return KERR_INVALID_ARGUMENT; /* sends without a badge are nobody's to cancel */
    return KERR_OK;
}

kerror_t cnode_invoke_cancel_badged_sends(struct invocation *inv, struct kerror_info *info)
{
    struct cte *slot;
    uint64_t badge = inv->args[2];
    kerror_t err = lookup_in(inv->slot, inv->args[0], inv->args[1], true, &slot, info);
    if (err == KERR_OK)
        err = check_cancel_authority(slot, badge, info);
    if (err != KERR_OK)
        return err;
    /* A bounded batch per kernel entry; the endpoint holds the walk. */
    unsigned budget = IPC_CANCEL_BATCH;
    return endpoint_cancel_badged_sends(cap_object(&slot->cap), badge, &budget) ? KERR_OK
                                                                               : KERR_RESTART;
}
