/*
 * Endpoints: synchronous rendezvous between a sender and a receiver (see
 * ipc.h). Senders queue in priority order (FIFO among equals), receivers
 * in arrival order. A Call blocks the caller until the receiver answers
 * with Reply; the receiver holds the one-shot right to answer in
 * t->caller (thread.h states the invariant).
 *
 * The send queue is shared by every tenant holding a cap to the endpoint,
 * so queueing must not cost one step per queued sender: a tenant could
 * park thousands of threads there and slow every other tenant's Send and
 * Call. The queue is one list, highest priority first, made of *runs* of
 * senders of one priority. The first and the last sender of each run point
 * at each other (t->run_end; a run of one points at itself; the senders
 * inside a run hold NULL). A new sender walks back from the tail one whole
 * run per step, past the runs of lower priority, and joins the end of its
 * own run (or starts one there). Cost: one step per *distinct* priority
 * lower than the sender's among the queued senders, so O(1) when they all
 * share a priority or the sender's is the lowest, and never more than 255
 * steps however many threads are queued (a tenant can use only the
 * priorities up to its MCP). Removing a sender (received, cancelled,
 * suspended, destroyed) is O(1). Invariants (checked by invariants.c):
 *  - senders are in non-increasing priority order;
 *  - the first and last sender of each maximal run of equal priority
 *    point at each other through run_end, the others hold NULL, and
 *    every thread not queued to send holds NULL;
 *  - so a sender's priority does not change while it is queued:
 *    sched_set_priority() moves it with endpoint_requeue_sender().
 *
 * Cancelling. A tenant decides how many threads wait here, so nothing
 * wakes them all in one kernel entry: each call below wakes or looks at
 * IPC_CANCEL_BATCH threads at most, fewer once an interrupt is pending
 * (preempt.h), and its caller restarts it (the syscall returns
 * KERR_RESTART; a delete keeps the cap as a zombie meanwhile, cnode.c).
 * Deleting the final cap wakes the head until the queue is empty.
 * Cancelling one badge's sends walks the queue once: the endpoint holds
 * the walk (cancel_badge, and cancel_next, the next sender to look at,
 * moved on when that sender leaves the queue), so a restart goes on where
 * the last entry stopped. One walk at a time: a cancellation of another
 * badge that finds one under way finishes it first, then starts its own.
 * Invariants:
 *  - cancel_next is NULL or a sender queued here, and NULL when
 *    cancel_badge is 0;
 *  - each sender holds a stamp, from a counter of the endpoint, taken
 *    when it queued; the walk cancels only the senders of its badge
 *    queued before it started (stamp below cancel_stamp), so a thread
 *    it woke that sends again at once is not cancelled again (else
 *    threads that resend faster than the walk goes would keep it going
 *    for ever); it looks at those queued since, as at any sender, once;
 *  - no sender between the head and cancel_next carries cancel_badge
 *    with a stamp below cancel_stamp; so such a sender whose priority
 *    changes is cancelled rather than moved, lest it jump back past the
 *    walk.
 *
 * The message travels from the sender's registers and IPC buffer to the
 * receiver's: words 0..BK_MSG_CPU_WORDS-1 register to register, the rest
 * buffer to buffer (truncated to the register words when either thread has
 * no IPC buffer). Capabilities travel only with a send or call through an
 * endpoint cap that has the grant right, and with the answer to a Call made
 * through one that has BK_RIGHT_GRANT_REPLY (as seL4's canGrantReply:
 * whoever handed out the caller's cap decides whether caps may flow back
 * along it; the caller still chooses where they land, or refuses them by
 * naming no receive slot). Through an endpoint, an
 * endpoint cap to the same endpoint arrives "unwrapped" as its badge; any
 * other cap (every cap of an answer) is copied into the receiver's
 * receive slot (one per message);
 * transfer stops at the first cap that cannot be delivered, and the info
 * word says how many arrived.
 */
#include "ipc.h"

#include "cnode.h"
#include "kernel.h"
#include "preempt.h"
#include "ready.h"
#include "reply.h"

static struct endpoint *ep_of(const cap_t *cap)
{
    return (struct endpoint *)cap_object(cap);
}

/* The message registers are the syscall argument registers, reached
 * through arch_regs_args() (inline) rather than one call per word. */
void ipc_set_header(struct thread *t, uint64_t badge, uint64_t info)
{
    uint64_t *args = arch_regs_args(&t->regs);
    args[0] = badge;
    args[1] = info;
}

/* A fault message is made by the kernel, not read from the faulting
 * thread's registers (which hold its user state). */
static void transfer_fault(struct thread *from, struct thread *to, uint64_t badge)
{
    struct bk_ipc_buffer *to_buf = thread_ipc_buffer(to);
    uint64_t *to_args = arch_regs_args(&to->regs);
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        to_args[2 + i] = from->fault_words[i];
    for (unsigned i = BK_MSG_CPU_WORDS; i < BK_FAULT_WORDS && to_buf; i++)
        to_buf->mr[i] = from->fault_words[i];
    uint64_t length = to_buf ? BK_FAULT_WORDS : BK_MSG_CPU_WORDS;
    ipc_set_header(to, badge, BK_MSGINFO(length, 0, 0, from->fault_label));
}

/* The empty slot named by the receive fields of t's IPC buffer `b`, or NULL. */
static struct cte *receive_slot(struct thread *t, const struct bk_ipc_buffer *b)
{
    struct cte *root, *slot;
    struct lookup_fault fault;
    if (cspace_lookup_cap(&t->cspace_root.cap, b->receive_cnode, &root, &fault) != KERR_OK ||
        cap_type(&root->cap) != CAP_CNODE || b->receive_depth < 1 || b->receive_depth > 64 ||
        cspace_lookup_slot(&root->cap, b->receive_index, (unsigned)b->receive_depth, &slot,
                           &fault) != KERR_OK ||
        !cap_is_null(&slot->cap))
        return NULL;
    return slot;
}

/* Delivers the extra caps of from's message; returns how many arrived and
 * sets the bits of those that arrived unwrapped. */
static unsigned transfer_caps(struct thread *from, struct thread *to,
                              const struct bk_ipc_buffer *from_buf, struct bk_ipc_buffer *to_buf,
                              const struct endpoint *ep, unsigned count, unsigned *unwrapped)
{
    struct cte *dest = receive_slot(to, to_buf);
    unsigned done = 0;
    *unwrapped = 0;
    for (; done < count; done++) {
        struct cte *src;
        struct lookup_fault fault;
        struct kerror_info info;
        if (cspace_lookup_cap(&from->cspace_root.cap, from_buf->caps[done], &src, &fault) !=
                KERR_OK || cap_is_null(&src->cap))
            break;
        if (cap_type(&src->cap) == CAP_ENDPOINT && cap_object(&src->cap) == ep) {
            to_buf->caps[done] = cap_badge(&src->cap);
            *unwrapped |= 1u << done;
            continue;
        }
        if (!dest || cnode_copy(src, dest, CAP_RIGHTS_ALL, &info) != KERR_OK)
            break;
        dest = NULL;
    }
    return done;
}

/* Copies the message `from` is sending to `to`, with `badge`; `ep` is the
 * endpoint it went through and `grant` whether caps may go with it. */
static void transfer(struct thread *from, struct thread *to, uint64_t badge,
                     const struct endpoint *ep, bool grant)
{
    if (from->in_fault) {
        transfer_fault(from, to, badge);
        return;
    }
    const uint64_t *from_args = arch_regs_args(&from->regs);
    uint64_t *to_args = arch_regs_args(&to->regs);
    uint64_t info = from_args[1];
    uint64_t length = BK_MSGINFO_LENGTH(info);
    bool long_message = length > BK_MSG_CPU_WORDS || BK_MSGINFO_EXTRA_CAPS(info);
    /* Only messages that need them pay for the two buffer lookups. */
    struct bk_ipc_buffer *from_buf = long_message ? thread_ipc_buffer(from) : NULL;
    struct bk_ipc_buffer *to_buf = long_message ? thread_ipc_buffer(to) : NULL;
    if (length > BK_MSG_MAX_WORDS)
        length = BK_MSG_MAX_WORDS;
    if (length > BK_MSG_CPU_WORDS && (!from_buf || !to_buf))
        length = BK_MSG_CPU_WORDS;
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        to_args[2 + i] = i < length ? from_args[2 + i] : 0;
    for (uint64_t i = BK_MSG_CPU_WORDS; i < length; i++)
        to_buf->mr[i] = from_buf->mr[i];
    unsigned caps = 0, unwrapped = 0;
    if (grant && from_buf && to_buf)
        caps = transfer_caps(from, to, from_buf, to_buf, ep, (unsigned)BK_MSGINFO_EXTRA_CAPS(info),
                             &unwrapped);
    ipc_set_header(to, badge, BK_MSGINFO(length, caps, unwrapped, BK_MSGINFO_LABEL(info)));
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

/* The last queued sender of priority `p` or higher, or NULL: from the
 * tail back, a whole run of lower priority per step (see the top). */
static struct thread *last_sender_at_or_above(const struct endpoint *ep, uint8_t p)
{
    struct thread *last = ep->tail; /* queue_sender() runs on no receive queue */
    while (last && last->priority < p)
        last = last->run_end->wait_prev; /* the end of the run before */
    return last;
}

/* Senders: behind every queued sender of equal or higher priority. */
static void queue_sender(struct endpoint *ep, struct thread *t)
{
    struct thread *after = last_sender_at_or_above(ep, t->priority);
    queue_insert_before(ep, t, after ? after->wait_next : ep->head);
    if (after && after->priority == t->priority) {
        struct thread *first = after->run_end; /* t is its run's new last */
        if (after != first)
            after->run_end = NULL;
        first->run_end = t;
        t->run_end = first;
    } else {
        t->run_end = t; /* a run of its own */
    }
    t->send_stamp = ep->next_stamp++;
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

/* Takes a sender off the send queue: when it ends its run, its neighbour
 * in the run becomes the end (the runs are kept by queue_sender()). */
static void queue_remove_sender(struct endpoint *ep, struct thread *t)
{
    if (ep->cancel_next == t)
        ep->cancel_next = t->wait_next;
    struct thread *other = t->run_end;
    if (other && other != t) {
        /* t is the first of its run iff the next sender is in it too. */
        bool first = t->wait_next && t->wait_next->priority == t->priority;
        struct thread *heir = first ? t->wait_next : t->wait_prev;
        heir->run_end = other;
        other->run_end = heir;
    }
    t->run_end = NULL;
    queue_remove(ep, t);
}

void endpoint_requeue_sender(struct thread *t, uint8_t priority)
{
    struct endpoint *ep = t->blocked_on;
    if (ep->cancel_badge != 0 && t->send_badge == ep->cancel_badge &&
        t->send_stamp < ep->cancel_stamp) {
        /* It may lie ahead of the walk and would move behind it: cancel
         * it now (see Cancelling at the top). No longer a sender, it takes
         * the priority as any runnable thread does. */
        ipc_wake_with_error(t, BK_ERR_CANCELLED);
        sched_set_priority(t, priority);
        return;
    }
    queue_remove_sender(ep, t);
    t->priority = priority;
    queue_sender(ep, t);
}

/* ---- Operations ------------------------------------------------------------ */

/* `caller` now waits for `callee`'s answer. */
static void link_call(struct thread *caller, struct thread *callee)
{
    if (callee->caller) /* an older, unanswered Call loses its right to an answer */
        ipc_wake_with_error(callee->caller, BK_ERR_CANCELLED);
    /* So a thread with a caller runs on its own time or on that caller's
     * (what the IPC fast path relies on). The two calls are made only when
     * they have something to do: most callees run on their own
     * SchedContext, and out of line each was some 17 instructions of
     * every general-path Call. */
    if (callee->sc && callee->sc->home != callee)
        sched_context_drop_loan(callee);
    callee->caller = caller;
    caller->reply_from = callee;
    /* The caller is the current thread (a Call) or a sender that waited on
     * the endpoint: on no ready queue either way (thread.h), so nothing to
     * take off one (sched_set_blocked()'s step). */
    caller->state = THREAD_BLOCKED_REPLY;
    if (!callee->sc && caller->sc)
        sched_context_donate(caller, callee);
}

void endpoint_send(struct thread *t, const cap_t *ep_cap, bool is_call, bool blocking)
{
    struct endpoint *ep = ep_of(ep_cap);
    if (!(cap_rights(ep_cap) & CAP_RIGHT_WRITE)) {
        ipc_set_header(t, 0, BK_MSGINFO(0, 0, 0, BK_ERR_INSUFFICIENT_RIGHTS));
        return;
    }
    if (is_call)
        t->call_cap_word = ep_cap->w[0];
    if (ep->state == EP_RECEIVING) {
        struct thread *r = ep->head;
        queue_remove(ep, r);
        transfer(t, r, cap_badge(ep_cap), ep, cap_rights(ep_cap) & CAP_RIGHT_GRANT);
        if (is_call) {
            sched_make_runnable_next(r); /* t blocks in link_call() */
            link_call(t, r);
        } else {
            sched_make_runnable(r);
        }
        return;
    }
    if (!blocking)
        return;
    t->send_badge = cap_badge(ep_cap);
    t->send_is_call = is_call;
    t->send_can_grant = cap_rights(ep_cap) & CAP_RIGHT_GRANT;
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
    if (notification_take_bound(t))
        return;
    if (ep->state == EP_SENDING) {
        struct thread *s = ep->head;
        queue_remove_sender(ep, s);
        transfer(s, t, s->send_badge, ep, s->send_can_grant);
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
    if (!t->caller)
        sched_context_drop_loan(t);
    sched_set_blocked(t, THREAD_BLOCKED_RECV);
    queue_insert_before(ep, t, NULL);
    ep->state = EP_RECEIVING;
}

/* The answer to a fault: label 0 restarts the thread where it stopped,
 * anything else leaves it stopped. Its registers are not touched. */
static void reply_to_fault(struct thread *t, struct thread *c)
{
    c->in_fault = false;
    if (BK_MSGINFO_LABEL(arch_syscall_arg(&t->regs, 1)) == 0)
        sched_make_runnable(c);
    else
        sched_set_blocked(c, THREAD_FAULTED);
}

void ipc_answer(struct thread *t, struct thread *c)
{
    if (c->in_fault) {
        reply_to_fault(t, c);
    } else {
        transfer(t, c, 0, NULL, cap_word_rights(c->call_cap_word) & CAP_RIGHT_GRANT_REPLY);
        sched_make_runnable_next(c); /* t blocks next in a ReplyRecv */
    }
    if (!c->sc) /* a server that lost its loan meanwhile */
        sched_context_woken(c);
}

void endpoint_reply(struct thread *t)
{
    struct thread *c = t->caller;
    if (!c)
        return;
    sched_context_return(t, c);
    t->caller = NULL;
    c->reply_from = NULL;
    ipc_answer(t, c);
}

void ipc_forget_answer(struct thread *t)
{
    if (t->reply_from) {
        t->reply_from->caller = NULL;
        t->reply_from = NULL;
    }
    if (t->reply_object) {
        t->reply_object->caller = NULL;
        t->reply_object = NULL;
    }
}

void ipc_wake_with_error(struct thread *t, uint64_t err)
{
    ipc_cancel_wait(t);
    if (t->reply_from)
        sched_context_return(t->reply_from, t);
    ipc_forget_answer(t);
    if (t->in_fault) {
        /* Its fault went nowhere: it stays stopped (its registers are its
         * user state, not a reply). */
        t->in_fault = false;
        sched_set_blocked(t, THREAD_FAULTED);
        return;
    }
    ipc_set_header(t, 0, BK_MSGINFO(0, 0, 0, err));
    sched_make_runnable(t);
}

void ipc_cancel_wait(struct thread *t)
{
    if (t->state == THREAD_BLOCKED_SEND)
        queue_remove_sender((struct endpoint *)t->blocked_on, t);
    else if (t->state == THREAD_BLOCKED_RECV)
        queue_remove((struct endpoint *)t->blocked_on, t);
    else if (t->state == THREAD_BLOCKED_NOTIFICATION)
        notification_cancel_wait(t);
}

bool endpoint_cancel_all(struct endpoint *ep, unsigned *budget)
{
    for (; ep->head; batch_step(budget)) {
        if (*budget == 0)
            return false;
        ipc_wake_with_error(ep->head, BK_ERR_CANCELLED);
    }
    return true;
}

static void start_walk(struct endpoint *ep, uint64_t badge)
{
    ep->cancel_badge = badge;
    ep->cancel_next = ep->state == EP_SENDING ? ep->head : NULL;
    ep->cancel_stamp = ep->next_stamp;
}

/* Goes on with the walk under way; true once it is over (then none is). */
static bool walk(struct endpoint *ep, unsigned *budget)
{
    for (; ep->cancel_next; batch_step(budget)) {
        if (*budget == 0)
            return false;
        struct thread *t = ep->cancel_next;
        ep->cancel_next = t->wait_next; /* before t leaves the queue */
        if (t->send_badge == ep->cancel_badge && t->send_stamp < ep->cancel_stamp)
            ipc_wake_with_error(t, BK_ERR_CANCELLED);
    }
    ep->cancel_badge = 0;
    return true;
}

/* A restart that finds no walk under way cannot tell whether its own
 * ended (finished by another canceller of its badge) or never started,
 * and walks again: extra work, never a sender left behind. */
bool endpoint_cancel_badged_sends(struct endpoint *ep, uint64_t badge, unsigned *budget)
{
    if (ep->cancel_badge == 0)
        start_walk(ep, badge);
    bool own = ep->cancel_badge == badge;
    if (!walk(ep, budget))
        return false;
    if (own)
        return true;
    start_walk(ep, badge); /* the other badge's walk is over: now ours */
    return walk(ep, budget);
}

void endpoint_badge_retired(const cap_t *cap)
{
    struct endpoint *ep = ep_of(cap);
    if (ep->cancel_badge == 0 && ep->state == EP_SENDING)
        start_walk(ep, cap_badge(cap));
}
