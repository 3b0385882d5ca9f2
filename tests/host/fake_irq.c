/*
 * The fake architecture's interrupt controller: FAKE_IRQ_LINES lines
 * (line 0 reserved, as PLIC source 0 is), each enabled or not and masked
 * from its arrival until the kernel acks it, as kernel/arch.h describes.
 * A device raises a line with fake_irq_raise(); an interrupt that cannot
 * be taken yet (line disabled or masked) waits on the line, and an idle
 * CPU takes it as soon as the line allows.
 */
#include <string.h>

#include "fake.h"

struct fake_irq_line fake_irq_lines[FAKE_IRQ_LINES];


unsigned arch_irq_count(void)
{
    return FAKE_IRQ_LINES;
}

bool arch_irq_enable(unsigned irq)
{
    if (irq == 0 || irq >= FAKE_IRQ_LINES)
        return false;
    fake_irq_lines[irq].enabled = true;
    fake_irq_lines[irq].masked = false;
    return true;
}

void arch_irq_disable(unsigned irq)
{
    fake_irq_lines[irq].enabled = false;
}

void arch_irq_ack(unsigned irq)
{
    fake_irq_lines[irq].masked = false;
    fake_irq_lines[irq].acks++;
}

static bool can_take(const struct fake_irq_line *l)
{
    return l->enabled && !l->masked;
}

enum fake_exit fake_irq_raise(unsigned irq)
{
    struct fake_irq_line *l = &fake_irq_lines[irq];
    if (!can_take(l)) {
        l->waiting = true;
        return FAKE_EXIT_NONE;
    }
    l->masked = true;
    l->delivered++;
    /* An idle CPU takes it in the kernel's idle loop, not from user mode. */
    return fake_cpu.exit == FAKE_EXIT_IDLE ? fake_irq_while_idle(irq) : fake_irq_from_user(irq);
}

/* For arch_idle_wait(): the first waiting interrupt that may be taken now
 * (masked as it is taken), or 0. */
unsigned fake_irq_take_waiting(void)
{
    for (unsigned irq = 1; irq < FAKE_IRQ_LINES; irq++) {
        struct fake_irq_line *l = &fake_irq_lines[irq];
        if (l->waiting && can_take(l)) {
            l->waiting = false;
            l->masked = true;
            l->delivered++;
            return irq;
        }
    }
    return 0;
}

void fake_irq_reset(void)
{
    memset(fake_irq_lines, 0, sizeof(fake_irq_lines));
}
