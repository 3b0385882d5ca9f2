/* What a restarted CNode: Revoke amounts to: cnode_revoke() deletes a
 * bounded batch per call (a kernel entry), and the invocation repeats
 * until it reports done. Returns the number of calls it took. */
#pragma once

#include "cnode.h"

static inline unsigned revoke_all(struct cte *slot)
{
    unsigned calls = 1;
    while (!cnode_revoke(slot))
        calls++;
    return calls;
}
