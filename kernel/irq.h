/*
 * Device interrupts as the generic kernel sees them: the arch calls
 * kernel_irq() / kernel_irq_from_user() (kernel/arch.h) with the line
 * masked; the kernel counts the interrupt (for the boot self-test) and
 * delivers it to the IRQHandler object of its line: a signal on the
 * notification bound to the line, which the user-level driver answers with
 * IRQHandler: Ack (kernel/irq_handler.c). irq.c keeps the per-line record;
 * irq_handler.c the IRQControl and IRQHandler methods.
 */
#pragma once

#include "cdt.h"
#include "types.h"

struct notification;

/* Lines the kernel keeps a record for: 1024 covers the largest PLIC (1023
 * sources plus the unused 0) and every IOAPIC vector; a port never reports
 * more lines than this from arch_irq_count(). */
#define IRQ_LINES 1024u

/* What the kernel keeps per line for its IRQHandler caps. */
struct irq_line {
    /* A copy of the bound notification cap (a child of the cap given to
     * IRQHandler: SetNotification in the derivation tree), or empty.
     * Holding a real cap keeps the notification alive while bound, and
     * revoking the user's cap unbinds the line. */
    struct cte notification;
    /* IRQHandler caps naming the line; non-zero: issued. 64 bits, like an
     * object's count (object.h): each cap fills a 64-byte slot, so it
     * cannot wrap; 32 bits could, with 256 GiB of CNodes, and then free a
     * line whose caps still exist. */
    uint64_t handler_caps;
    bool pending;          /* arrived while no notification was bound */
};

/* The record of line `irq` (< IRQ_LINES). */
struct irq_line *irq_line(unsigned irq);

/* Signals the line's notification with the badge of its cap, or, when none
 * is bound, keeps the interrupt pending until one is. */
void irq_deliver(struct irq_line *line);

/* How many interrupts have arrived on `irq` since boot (0 for a line
 * outside 0 .. IRQ_LINES-1). */
uint64_t irq_pending_count(unsigned irq);

/* Per-cap hooks of IRQHandler caps (object.c): a copy was made; a cap was
 * deleted (the last one of a line disables and frees the line). */
void irq_handler_cap_added(const cap_t *cap);
void irq_handler_cap_deleted(const cap_t *cap);
