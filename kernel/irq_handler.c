/*
 * IRQControl and IRQHandler: user-level drivers' access to device
 * interrupt lines (see docs/objects.md, "IRQControl, IRQHandler").
 *
 * IRQControl: Get hands out an IRQHandler cap for one line, as a child of
 * the IRQControl cap in the derivation tree (so revoking IRQControl takes
 * every handler back), and unmasks the line. IRQHandler caps may be copied
 * and moved like any other; the line stays issued while any of them
 * exists. An interrupt signals the notification bound to the line and
 * leaves the line masked until IRQHandler: Ack.
 *
 * Invariants (per line, struct irq_line in irq.h):
 *  - handler_caps equals the number of IRQHandler caps naming the line
 *    (Get sets it to 1, copies add one, deletions remove one; 64 bits, so
 *    it cannot wrap: irq.h); the line is issued, and enabled in the arch,
 *    exactly while it is non-zero;
 *  - notification is empty, a copy of a notification cap with the write
 *    right, or a waiters zombie of one (left by the line's last handler
 *    cap, irq_handler_cap_deleted()); never such a copy while
 *    handler_caps is 0;
 *  - pending is false whenever handler_caps is 0 or a notification is
 *    bound: an interrupt with nowhere to go waits for the next binding.
 */
#include "irq.h"

#include "arch.h"
#include "cnode.h"
#include "invoke.h"
#include "ipc.h"

/* Lines that exist: arch_irq_count(), never more than the kernel records. */
static unsigned line_count(void)
{
    unsigned count = arch_irq_count();
    return count < IRQ_LINES ? count : IRQ_LINES;
}

static struct irq_line *line_of(const cap_t *handler_cap)
{
    return irq_line(cap_irq_number(handler_cap));
}

/* ---- Signalling from the kernel ------------------------------------------ */

/* ---- IRQControl: Get ------------------------------------------------------ */

kerror_t irq_control_invoke_get(struct invocation *inv, struct kerror_info *info)
{
    uint64_t irq = inv->args[0];
    unsigned count = line_count();
    if (irq >= count) {
        /* No lines at all reads as the empty range 1..0. */
        info->range_min = count ? 0 : 1;
        info->range_max = count ? count - 1 : 0;
        return KERR_RANGE;
    }
    struct irq_line *line = irq_line((unsigned)irq);
    if (line->handler_caps)
        return KERR_REVOKE_FIRST; /* as seL4: delete the line's handler caps first */
    struct cte *dest;
    kerror_t err = invoke_lookup_empty_slot(inv, inv->args[1], inv->args[2], inv->args[3], &dest,
                                            info);
    if (err != KERR_OK)
        return err;
    /* The last check acts too: it unmasks the line, or refuses a line the
     * platform reserves (PLIC source 0) and then has changed nothing. No
     * interrupt can arrive before the cap is in place: the kernel runs with
     * interrupts disabled. */
    if (!arch_irq_enable((unsigned)irq))
        return KERR_INVALID_ARGUMENT;
    line->handler_caps = 1;
    line->pending = false;
    cdt_install(dest, cap_make_irq_handler((unsigned)irq), inv->slot);
    return KERR_OK;
}

/* ---- IRQHandler methods ---------------------------------------------------- */

kerror_t irq_handler_invoke_set_notification(struct invocation *inv, struct kerror_info *info)
{
    struct cte *ntfn;
    kerror_t err = invoke_lookup_cap_arg(inv, inv->args[0], &ntfn, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&ntfn->cap) != CAP_NOTIFICATION)
        return KERR_INVALID_CAPABILITY;
    if (!(cap_rights(&ntfn->cap) & CAP_RIGHT_WRITE))
        return KERR_INSUFFICIENT_RIGHTS; /* delivering an interrupt is a signal */
    struct irq_line *line = line_of(&inv->slot->cap);
    /* The old cap may be the final one of a notification that threads
     * wait on: they are woken a batch per entry, the call restarting
     * (nothing else has changed yet). */
    if (!cnode_delete_bounded(&line->notification))
        return KERR_RESTART;
    /* Cannot fail: the source holds a notification cap (derivable) and
     * the destination was just emptied. */
    (void)cnode_copy(ntfn, &line->notification, CAP_RIGHTS_ALL, info);
    if (line->pending)
        irq_deliver(line);
    return KERR_OK;
}

kerror_t irq_handler_invoke_clear(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    return cnode_delete_bounded(&line_of(&inv->slot->cap)->notification) ? KERR_OK
                                                                          : KERR_RESTART;
}

kerror_t irq_handler_invoke_ack(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    arch_irq_ack(cap_irq_number(&inv->slot->cap));
    return KERR_OK;
}

/* ---- Per-cap hooks (object.c) ---------------------------------------------- */

void irq_handler_cap_added(const cap_t *cap)
{
    line_of(cap)->handler_caps++;
}

/* The last handler cap of a line masks the line and frees it for the next
 * Get. Runs inside a delete's step, so the binding's notification cap goes
 * in one step too: if it was the final cap of a notification that threads
 * wait on, it stays as a waiters zombie (cnode.c), which the next
 * SetNotification or Clear of the line, or a revoke of its untyped,
 * finishes; no interrupt is delivered through it meanwhile (irq.c). */
void irq_handler_cap_deleted(const cap_t *cap)
{
    struct irq_line *line = line_of(cap);
    if (--line->handler_caps != 0)
        return;
    arch_irq_disable(cap_irq_number(cap));
    line->pending = false;
    cnode_delete_start(&line->notification);
}
