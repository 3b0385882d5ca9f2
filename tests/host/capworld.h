/* Host memory as one untyped region for host tests of the capability core:
 * boot[0] holds the untyped, boot[1] the root CNode; the other boot slots
 * are spare. */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cnode.h"
#include "revoke_all.h"
#include "untyped.h"

struct world {
    void *mem;
    struct cte boot[4];
};

static inline void world_init(struct world *w, unsigned ut_bits, unsigned root_radix)
{
    size_t size = (size_t)1 << ut_bits;
    w->mem = aligned_alloc(size, size);
    memset(w->mem, 0xa5, size);
    memset(w->boot, 0, sizeof(w->boot));
    cnode_boot_install(&w->boot[0], cap_make_untyped((paddr_t)(uintptr_t)w->mem, ut_bits, false));
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&w->boot[0], CAP_CNODE, root_radix, &w->boot[1], 1, &info), KERR_OK);
}

/* Revokes everything made from the untyped (a restarted Revoke) and frees
 * the memory; true if the untyped was empty again. */
static inline bool world_free(struct world *w)
{
    revoke_all(&w->boot[0]);
    bool empty = cap_untyped_free_index(&w->boot[0].cap) == 0;
    free(w->mem);
    return empty;
}
