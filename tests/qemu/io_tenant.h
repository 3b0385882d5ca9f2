/* What tests/qemu/io_session.c and the tenant process it starts
 * (io_tenant.c) agree on. */
#pragma once

#define TENANT_SLOT_NOTIFICATION 16u   /* in the tenant's CNode, past what spawning fills:
                                          where IO: Open's notification lands */
#define IO_TENANT_VADDR 0x40000000ull  /* where it maps its session */
#define IO_TENANT_BLOCKS 64u           /* pages of its disk it writes */
#define IO_TENANT_SEED 0x7e0000ull     /* page k holds pattern_fill(seed + k) */
