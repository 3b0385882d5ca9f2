/*
 * Untyped: Retype as user space invokes it (kernel/abi.toml, object
 * "untyped"): decoding of the destination CNode window, then
 * untyped_retype_bounded(), which checks the rest, zeroes the memory a
 * piece per kernel entry and creates the objects, restarting the call
 * meanwhile. When it stops after making some of the objects, the
 * restarted call is made to ask for the rest: its node_offset and
 * num_objects (message words 5 and 6, in the caller's IPC buffer) move on
 * by as many.
 */
#include "cnode.h"
#include "invoke.h"
#include "untyped.h"

/* Finds the destination CNode: `root` itself at depth 0 (seL4's rule), else
 * the CNode cap at (node_index, node_depth) below it. */
static kerror_t find_dest_cnode(struct invocation *inv, struct cte **cnode,
                                struct kerror_info *info)
{
    struct cte *root;
    kerror_t err = invoke_lookup_cap_arg(inv, inv->args[2], &root, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&root->cap) != CAP_CNODE)
        return KERR_INVALID_CAPABILITY;
    uint64_t index = inv->args[3], depth = inv->args[4];
    if (depth == 0) {
        *cnode = root;
        return KERR_OK;
    }
    if (depth > CSPACE_DEPTH_MAX) {
        info->range_min = 0;
        info->range_max = CSPACE_DEPTH_MAX;
        return KERR_RANGE;
    }
    err = cspace_lookup_slot(&root->cap, index, (unsigned)depth, cnode, &info->lookup);
    if (err != KERR_OK)
        return err;
    return cap_type(&(*cnode)->cap) == CAP_CNODE ? KERR_OK : KERR_INVALID_CAPABILITY;
}

kerror_t untyped_invoke_retype(struct invocation *inv, struct kerror_info *info)
{
    uint64_t type = inv->args[0], size_arg = inv->args[1];
    uint64_t offset = inv->args[5], count = inv->args[6];
    if (type == CAP_NULL || type >= CAP_TYPE_COUNT || size_arg > 64)
        return KERR_INVALID_ARGUMENT;
    struct cte *cnode, *first;
    kerror_t err = find_dest_cnode(inv, &cnode, info);
    if (err != KERR_OK)
        return err;
    if (count == 0 || count > BK_RETYPE_MAX_OBJECTS) {
        info->range_min = 1;
        info->range_max = BK_RETYPE_MAX_OBJECTS;
        return KERR_RANGE;
    }
    err = cnode_slot_range(&cnode->cap, offset, count, &first, info);
    if (err != KERR_OK)
        return err;
    size_t made;
    err = untyped_retype_bounded(inv->slot, (enum cap_type)type, (unsigned)size_arg, first,
                                 (size_t)count, &inv->caller->retype_check, &made, info);
    if (err == KERR_RESTART && made > 0) {
        inv->args[5] = offset + made;
        inv->args[6] = count - made;
        inv->restart_args = 1u << 5 | 1u << 6;
    }
    return err;
}
