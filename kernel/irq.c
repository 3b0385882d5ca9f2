/*
 * Device interrupts reaching the generic kernel: for now, a count per
 * line. The IRQHandler object replaces the count with a signal on the
 * handler's notification; the arch half (masking until arch_irq_ack) does
 * not change when it does.
 *
 * Invariants: counts only grow; the arch calls the entry points below with
 * interrupts disabled and the line masked, on one CPU, so a plain increment
 * is enough. A line outside 0 .. IRQ_LINES-1 is ignored (the arch never
 * reports one: see kernel/irq.h).
 */
#include "irq.h"

#include "arch.h"
#include "thread.h"

static uint64_t irq_counts[IRQ_LINES];

static void irq_record(unsigned irq)
{
    if (irq < IRQ_LINES)
        irq_counts[irq]++;
}

uint64_t irq_pending_count(unsigned irq)
{
    return irq < IRQ_LINES ? irq_counts[irq] : 0;
}

void kernel_irq(unsigned irq)
{
    irq_record(irq);
}

void kernel_irq_from_user(unsigned irq)
{
    irq_record(irq);
    thread_resume_current();
}
