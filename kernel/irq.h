/*
 * Device interrupts as the generic kernel sees them: the arch calls
 * kernel_irq() / kernel_irq_from_user() (kernel/arch.h) with the line
 * masked, and the kernel records the interrupt here. IRQHandler objects,
 * which turn an interrupt into a signal on a notification and let a
 * user-level driver acknowledge it, come later; until then the record is a
 * counter per line, enough for the boot self-test.
 */
#pragma once

#include "types.h"

/* Lines the kernel keeps a record for: 1024 covers the largest PLIC (1023
 * sources plus the unused 0) and every IOAPIC vector; a port never reports
 * more lines than this from arch_irq_count(). */
#define IRQ_LINES 1024u

/* How many interrupts have arrived on `irq` since boot (0 for a line
 * outside 0 .. IRQ_LINES-1). */
uint64_t irq_pending_count(unsigned irq);
