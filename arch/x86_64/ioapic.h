/*
 * The x86-64 port's device-interrupt functions (arch/x86_64/ioapic.c),
 * called by early.c and trap.c. The arch_irq_* hooks themselves are
 * declared in kernel/arch.h.
 */
#pragma once

#include "types.h"

/* First IDT vector of device interrupt lines: line n uses vector
 * IRQ_VECTOR_BASE + n. Above the remapped 8259s (0x20-0x2f) and the APIC
 * timer (0x40), below the spurious vector (0xff). */
#define IRQ_VECTOR_BASE 0x50

/* Takes over the IOAPIC whose registers are at physical `base` (already in
 * the physmap, uncached): every pin masked and routed to this CPU. */
void x86_ioapic_init(paddr_t base);

/* True if `vector` belongs to a device interrupt line. */
bool x86_irq_is_vector(uint64_t vector);

/* Handles device-interrupt `vector` (x86_irq_is_vector): masks its line,
 * signals the end of interrupt to the local APIC, and returns true with
 * the line in *irq when the kernel must be told; false for an interrupt of
 * a disabled line, or an edge that arrived while the line was in service
 * (replayed at arch_irq_ack). */
bool x86_irq_take(uint64_t vector, unsigned *irq);
