/*
 * Notifications: a word of signal bits (see ipc.h). Signal ORs the badge of
 * the cap used into the word and marks it active, or, if a thread waits,
 * hands the bits to the first waiter at once; Wait returns the word and
 * clears it, or blocks while the notification is not active; Poll never
 * blocks.
 *
 * Invariant: a notification with waiters is not active and has a zero word.
 *
 * Deleting the final cap unbinds the bound thread at once; the waiters,
 * whose number a tenant decides, are woken a batch per kernel entry by
 * the zombie the cap becomes (cnode.c), through notification_cancel_all().
 */
#include "ipc.h"

#include "kernel.h"
#include "preempt.h"
#include "ready.h"

static struct notification *ntfn_of(const cap_t *cap)
{
    return (struct notification *)cap_object(cap);
}

static void remove_waiter(struct notification *n, struct thread *t)
{
    if (t->wait_prev)
        t->wait_prev->wait_next = t->wait_next;
    else
        n->head = t->wait_next;
    if (t->wait_next)
        t->wait_next->wait_prev = t->wait_prev;
    else
        n->tail = t->wait_prev;
    t->wait_next = t->wait_prev = NULL;
    t->blocked_on = NULL;
}

void notification_deliver(struct notification *n, uint64_t badge)
{
    uint64_t bits = n->word | badge;
    struct thread *w = n->head;
    if (!w && n->bound_thread && n->bound_thread->state == THREAD_BLOCKED_RECV)
        w = n->bound_thread; /* the bound thread waits on an endpoint: end that wait */
    if (!w) {
        n->word = bits;
        n->active = true;
        return;
    }
    ipc_cancel_wait(w); /* off the notification's or the endpoint's queue */
    n->word = 0;
    n->active = false;
    ipc_set_header(w, bits, 0);
    sched_make_runnable(w);
    if (!w->sc) /* a server that lost its loan while it waited */
        sched_context_woken(w);
}

void notification_signal(struct thread *t, const cap_t *cap)
{
    if (!(cap_rights(cap) & CAP_RIGHT_WRITE)) {
        ipc_set_header(t, 0, BK_MSGINFO(0, 0, 0, BK_ERR_INSUFFICIENT_RIGHTS));
        return;
    }
    ipc_set_header(t, 0, 0);
    notification_deliver(ntfn_of(cap), cap_badge(cap));
}

void notification_wait(struct thread *t, const cap_t *cap, bool blocking)
{
    struct notification *n = ntfn_of(cap);
    if (!(cap_rights(cap) & CAP_RIGHT_READ)) {
        ipc_set_header(t, 0, BK_MSGINFO(0, 0, 0, BK_ERR_INSUFFICIENT_RIGHTS));
        return;
    }
    if (n->active || !blocking) {
        ipc_set_header(t, n->word, 0);
        n->word = 0;
        n->active = false;
        return;
    }
    sched_set_blocked(t, THREAD_BLOCKED_NOTIFICATION);
    notification_append_waiter(n, t);
}

void notification_cancel_wait(struct thread *t)
{
    remove_waiter((struct notification *)t->blocked_on, t);
}

bool notification_take_bound(struct thread *t)
{
    struct notification *n = t->bound_notification;
    if (!n || !n->active)
        return false;
    ipc_set_header(t, n->word, 0);
    n->word = 0;
    n->active = false;
    return true;
}

void notification_destroy(const cap_t *final_cap)
{
    struct notification *n = ntfn_of(final_cap);
    if (n->bound_thread) {
        n->bound_thread->bound_notification = NULL;
        n->bound_thread = NULL;
    }
}

bool notification_cancel_all(struct notification *n, unsigned *budget)
{
    for (; n->head; batch_step(budget)) {
        if (*budget == 0)
            return false;
        ipc_wake_with_error(n->head, BK_ERR_CANCELLED);
    }
    return true;
}
