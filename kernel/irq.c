/*
 * Device interrupts reaching the generic kernel: a count per line (for the
 * boot self-test) and the per-line record of the IRQHandler objects, to
 * which each interrupt is delivered (see irq.h; the methods are in
 * irq_handler.c). The arch half (masking until arch_irq_ack) is unchanged
 * by delivery: the line stays masked until the driver acks.
 *
 * Invariants: counts only grow; the arch calls the entry points below with
 * interrupts disabled and the line masked, on one CPU, so plain updates
 * are enough. A line outside 0 .. IRQ_LINES-1 is ignored (the arch never
 * reports one: see kernel/irq.h). An interrupt on a line with no handler
 * cap (the self-test enables lines through the arch directly) is counted
 * and otherwise dropped; `pending` is only ever set on an issued line.
 */
#include "irq.h"

#include "arch.h"
#include "ipc.h"
#include "smp.h"
#include "thread.h"

/* Interrupts per line since boot: at one per microsecond, 584,000 years
 * before a wrap. */
static uint64_t irq_counts[IRQ_LINES];
static struct irq_line lines[IRQ_LINES];

struct irq_line *irq_line(unsigned irq)
{
    return &lines[irq];
}

void irq_deliver(struct irq_line *line)
{
    const cap_t *cap = &line->notification.cap;
    if (cap_type(cap) != CAP_NOTIFICATION) { /* none, or a zombie (irq_handler.c) */
        line->pending = true;
        return;
    }
    line->pending = false;
    notification_deliver(cap_object(cap), cap_badge(cap));
}

static void irq_record(unsigned irq)
{
    if (irq >= IRQ_LINES)
        return;
    irq_counts[irq]++;
    if (lines[irq].handler_caps)
        irq_deliver(&lines[irq]);
}

uint64_t irq_pending_count(unsigned irq)
{
    return irq < IRQ_LINES ? irq_counts[irq] : 0;
}

/* Device lines are routed to the boot CPU. Inside its idle wait it does
 * not hold the kernel lock: take it. */
void kernel_irq(unsigned irq)
{
    if (!smp_others_online) { /* alone: the lock is ours all along */
        irq_record(irq);
        return;
    }
    bool took = kernel_lock_handler_begin();
    irq_record(irq);
    kernel_lock_handler_done(took);
}

/* kernel_irq_from_user() with several CPUs: the lock first. Out of line
 * and not returning, so that one CPU's path makes no call for it and
 * keeps `irq` in no saved register. */
static __attribute__((noinline)) NORETURN void irq_from_user_smp(unsigned irq)
{
    kernel_lock_acquire();
    irq_record(irq);
    thread_resume_current();
}

void kernel_irq_from_user(unsigned irq)
{
    if (smp_others_online)
        irq_from_user_smp(irq);
    irq_record(irq);
    thread_resume_current();
}
