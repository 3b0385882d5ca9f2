/*
 * Device interrupts in the RISC-V port, called by early.c and trap.c: the
 * PLIC (plic.c) and the device the irq self-test drives (selftest.c), both
 * found in the device tree at boot. The arch_irq_* hooks themselves are
 * declared in kernel/arch.h.
 */
#pragma once

#include "types.h"

struct fdt;

/* plic.c. plic_find() reads the tree (before the switch to the kernel's
 * page tables: the tree may be unreachable after it); plic_init() maps the
 * registers, masks every source for this hart and enables sie.SEIE. */
void plic_find(const struct fdt *fdt);
void plic_init(void);

/* After a supervisor external interrupt (scause 9): claims the highest
 * pending source for this hart and returns true with it in *irq; the
 * claim masks it until arch_irq_ack(). False when nothing is pending. */
bool plic_claim(unsigned *irq);

/* selftest.c: records the self-test device (a goldfish RTC) if the tree
 * has one; called at the same time as plic_find(). */
void selftest_rtc_find(const struct fdt *fdt);
