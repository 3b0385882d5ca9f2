/* What tests/qemu/blk_restart.c and its tenants (blk_restart_tenant.c)
 * agree on. */
#pragma once

#include <stdint.h>

#define RESTART_TENANTS 3u         /* tenants 1 to 3, processes of their own */
#define RESTART_PAGES 48u          /* 4 KiB pages each writes, from byte 0 of its disk */
#define RESTART_GENERATIONS 3u     /* each writes every page, then reads all back, 3 times */
#define RESTART_TENANT_OPS (RESTART_GENERATIONS * RESTART_PAGES * 2u)
#define RESTART_TENANT_VADDR 0x40000000ull
#define RESTART_TENANT_NOTIFICATION 16u /* in the tenant's CNode: open's notification */

/* The pattern of page `page` in generation `gen` of tenant `tenant`. */
static inline uint64_t restart_seed(unsigned tenant, unsigned gen, unsigned page)
{
    return (uint64_t)tenant << 32 | (uint64_t)gen << 16 | page;
}
