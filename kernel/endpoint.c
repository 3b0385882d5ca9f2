/*
 * Endpoints: synchronous rendezvous between a sender and a receiver (see
 * ipc.h). Senders queue in priority order (FIFO among equals), receivers
 * in arrival order. A Call blocks the caller until the receiver answers
 * with Reply; the receiver holds the one-shot right to answer in
 * t->caller (thread.h states the invariant).
 *
 * The message travels from the sender's registers and IPC buffer to the
 * receiver's: words 0..BK_MSG_CPU_WORDS-1 register to register, the rest
 * buffer to buffer (truncated to the register words when either thread has
 * no IPC buffer).
 */
#include "ipc.h"

#include "kernel.h"

static struct endpoint *ep_of(const cap_t *cap)
{
    return (struct endpoint *)cap_object(cap);
}

void ipc_set_header(struct thread *t, uint64_t badge, uint64_t info)
{
    arch_syscall_set_arg(&t->regs, 0, badge);
    arch_syscall_set_arg(&t->regs, 1, info);
}

/* Copies the message `from` is sending to `to`, with `badge`. */
static void transfer(struct thread *from, struct thread *to, uint64_t badge)
{
    uint64_t info = arch_syscall_arg(&from->regs, 1);
    uint64_t length = BK_MSGINFO_LENGTH(info);
    if (length > BK_MSG_MAX_WORDS)
        length = BK_MSG_MAX_WORDS;
    if (length > BK_MSG_CPU_WORDS && (!from->ipc_buffer || !to->ipc_buffer))
        length = BK_MSG_CPU_WORDS;
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        arch_syscall_set_arg(&to->regs, 2 + i, i < length ? arch_syscall_arg(&from->regs, 2 + i) : 0);
    for (uint64_t i = BK_MSG_CPU_WORDS; i < length; i++)
        to->ipc_buffer->mr[i] = from->ipc_buffer->mr[i];
    /* Capability transfer comes later: no extra caps are delivered. */
    ipc_set_header(to, badge, BK_MSGINFO(length, 0, 0, BK_MSGINFO_LABEL(info)));
}

/* ---- Wait queues --------------------------------------------------------- */

static void queue_insert_before(struct endpoint *ep, struct thread *t, struct thread *before)
{
    t->wait_next = before;
    t->wait_prev = before ? before->wait_prev : ep->tail;
    if (t->wait_prev)
        t->wait_prev->wait_next = t;
    else
        ep->head = t;
    if (before)
        before->wait_prev = t;
    else
        ep->tail = t;
    t->blocked_on = ep;
}

/* Senders: behind every queued sender of equal or higher priority. */
static void queue_sender(struct endpoint *ep, struct thread *t)
{
    struct thread *before = ep->head;
    while (before && before->priority >= t->priority)
        before = before->wait_next;
    queue_insert_before(ep, t, before);
    ep->state = EP_SENDING;
}

static void queue_remove(struct endpoint *ep, struct thread *t)
{
    if (t->wait_prev)
        t->wait_prev->wait_next = t->wait_next;
    else
        ep->head = t->wait_next;
    if (t->wait_next)
        t->wait_next->wait_prev = t->wait_prev;
    else
        ep->tail = t->wait_prev;
    t->wait_next = t->wait_prev = NULL;
    t->blocked_on = NULL;
    if (!ep->head)
        ep->state = EP_IDLE;
}

/* ---- Operations ------------------------------------------------------------ */

/* `caller` now waits for `callee`'s answer. */
static void link_call(struct thread *caller, struct thread *callee)
{
    if (callee->caller) /* an older, unanswered Call loses its right to an answer */
        ipc_wake_with_error(callee->caller, BK_ERR_CANCELLED);
    callee->caller = caller;
    caller->reply_from = callee;
    sched_set_blocked(caller, THREAD_BLOCKED_REPLY);
}

void endpoint_send(struct thread *t, const cap_t *ep_cap, bool is_call, bool blocking)
{
    struct endpoint *ep = ep_of(ep_cap);
    if (!(cap_rights(ep_cap) & CAP_RIGHT_WRITE)) {
        ipc_set_header(t, 0, BK_MSGINFO(0, 0, 0, BK_ERR_INSUFFICIENT_RIGHTS));
        return;
    }
    if (ep->state == EP_RECEIVING) {
        struct thread *r = ep->head;
        queue_remove(ep, r);
        transfer(t, r, cap_badge(ep_cap));
        sched_make_runnable(r);
        if (is_call)
            link_call(t, r);
        return;
    }
    if (!blocking)
        return;
    t->send_badge = cap_badge(ep_cap);
    t->send_is_call = is_call;
    sched_set_blocked(t, THREAD_BLOCKED_SEND);
    queue_sender(ep, t);
}

void endpoint_recv(struct thread *t, const cap_t *ep_cap, bool blocking)
{
    struct endpoint *ep = ep_of(ep_cap);
    if (!(cap_rights(ep_cap) & CAP_RIGHT_READ)) {
        ipc_set_header(t, 0, BK_MSGINFO(0, 0, 0, BK_ERR_INSUFFICIENT_RIGHTS));
        return;
    }
    if (ep->state == EP_SENDING) {
        struct thread *s = ep->head;
        queue_remove(ep, s);
        transfer(s, t, s->send_badge);
        if (s->send_is_call)
            link_call(s, t);
        else
            sched_make_runnable(s);
        return;
    }
    if (!blocking) {
        ipc_set_header(t, 0, 0);
        return;
    }
    sched_set_blocked(t, THREAD_BLOCKED_RECV);
    queue_insert_before(ep, t, NULL);
    ep->state = EP_RECEIVING;
}

void endpoint_reply(struct thread *t)
{
    struct thread *c = t->caller;
    if (!c)
        return;
    t->caller = NULL;
    c->reply_from = NULL;
    transfer(t, c, 0);
    sched_make_runnable(c);
}

void ipc_wake_with_error(struct thread *t, uint64_t err)
{
    ipc_cancel_wait(t);
    if (t->reply_from) {
        t->reply_from->caller = NULL;
        t->reply_from = NULL;
    }
    ipc_set_header(t, 0, BK_MSGINFO(0, 0, 0, err));
    sched_make_runnable(t);
}

void ipc_cancel_wait(struct thread *t)
{
    if (t->state == THREAD_BLOCKED_SEND || t->state == THREAD_BLOCKED_RECV)
        queue_remove((struct endpoint *)t->blocked_on, t);
    else if (t->state == THREAD_BLOCKED_NOTIFICATION)
        notification_cancel_wait(t);
}

void endpoint_destroy(const cap_t *final_cap)
{
    struct endpoint *ep = ep_of(final_cap);
    while (ep->head)
        ipc_wake_with_error(ep->head, BK_ERR_CANCELLED);
}
