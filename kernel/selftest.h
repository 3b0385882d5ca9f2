/*
 * In-kernel self-tests, run at boot when the command line says
 * "bulkhead.selftest=<name>". They exercise arch hooks that user space
 * cannot reach yet (or reaches only indirectly), print one line per check
 * and "N passed, N failed", then shut the machine down with pass or fail.
 */
#pragma once

#include "boot/boot_params.h"
#include "boot/memmap.h"

/* Page-table object hooks (arch_vspace_map_table/_frame/..., kernel/arch.h),
 * with pages taken from the boot memory map. */
NORETURN void selftest_vspace(struct memmap *mem);

/* Device interrupts reach kernel_irq() and are masked until acknowledged. */
NORETURN void selftest_irq(const struct boot_params *bp);
