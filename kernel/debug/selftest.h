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

/* The clock is monotonic, deadlines interrupt on time, the tick does not
 * drift (kernel/timer.c and the arch's time hooks). */
NORETURN void selftest_timer(void);

/* The lock-order check (debug/lockorder.h) catches what it must: the
 * boot CPU, holding the kernel lock, takes a lock of a higher rank and
 * lets go of it (allowed), then makes the mistake `mistake` names:
 * "again" (takes the kernel lock again) or "rank" (takes a lock ranked
 * below it). The check must panic naming both locks; if it does not, the
 * self-test says so and fails. */
NORETURN void selftest_lockorder(const char *mistake);

/* Arch hooks for the irq self-test only (arch/<arch>/selftest.c): a device
 * of the platform that can raise interrupts on demand. */
/* Starts the device interrupting (periodically, or again each time
 * arch_selftest_irq_clear() is called) and stores its line; false if the
 * platform has no such device. */
bool arch_selftest_irq_source(unsigned *irq);
/* Clears the device's interrupt condition; it raises a new one soon after. */
void arch_selftest_irq_clear(void);
