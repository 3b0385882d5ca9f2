/*
 * The invariant checker (see invariants.h): the rules cdt.h, cnode.c,
 * object.h, thread.h, ipc.h and notification.c state, checked on the live
 * kernel state a thread can reach.
 *
 * What it checks, in order:
 *  1. the ready queues and their two-level bitmap (thread.h, sched.c);
 *  2. the current thread: the caller, runnable, configured, not queued;
 *  3. from the caller's CSpace root on, every slot of every CNode reached
 *     (through CNode caps, and the CSpace roots of threads met through TCB
 *     caps, ready queues and wait queues): derivation-tree links (cdt.h:
 *     circular sibling lists, the parent stored in first children only,
 *     each list walked once from its first child), a child naming its
 *     parent's object (with its badge, if it has one) or lying inside its
 *     parent untyped, cap fields in range, the spare words of a live CNode
 *     (cnode.c), and zombies (cap.h, cnode.c): their fields, and their
 *     tables' slots, emptied in order and walked like a CNode's, or a
 *     waiters zombie's object and its queue; and each object met, once:
 *     counted objects alive (refs >= 1), threads' states against ready and
 *     wait queues, Call pairings (caller / reply_from), bound notifications,
 *     endpoint and notification queues (send queues in priority order, with
 *     their runs linked as endpoint.c says, and a cancellation's walk on one
 *     of their senders), VSpaces' and ASID pools' entries (their files'
 *     rules: vspace_asid_broken(), asid_pool_broken());
 *  4. no counted object has fewer references than the caps found to it
 *     (more is fine: caps may sit where the walk does not reach).
 *
 * Its own rules: it only reads; it allocates nothing (its work lists and
 * the table of objects met are fixed arrays); it recurses only a few
 * levels (threads and CNodes are listed, then checked from the top loop);
 * every walk has a bound, and reaching one is reported (`truncated`), not
 * treated as a violation, except for list walks, where it means a cycle.
 */
#include "invariants.h"

#include <stdarg.h>

#include "cdt.h"
#include "cnode.h"
#include "asid_pool.h"
#include "ipc.h"
#include "kernel.h"
#include "object.h"
#include "reply.h"
#include "vspace_object.h"

#define INV_MAX_CNODES 256        /* CNodes walked per check */
#define INV_MAX_SLOTS (1u << 17)  /* slots examined per check */
#define INV_MAX_QUEUE 4096        /* longest ready or wait queue walked */
#define INV_MAX_PRINTED 8         /* violations printed per check */
#define INV_MAX_OBJECTS 1024      /* objects tracked per check (a power of two) */
#define INV_MAX_THREADS 256       /* threads checked per check */

/* A table of slots to walk: a live CNode's, or a zombie's (a dead CNode's
 * or TCB's, being emptied: cnode.c). */
struct cnode_ref {
    struct cte *slots;
    unsigned radix;
    const struct cte *zombie; /* the zombie's slot; NULL for a live CNode */
};

/* An object met during the walk: how many caps to it were found, where
 * its reference count is (NULL until a cap to it is found), and whether it
 * was checked (or listed to be) already. */
struct object_seen {
    const void *obj;
    const uint64_t *refs;
    uint64_t caps;
    bool checked;
};

struct checker {
    struct invariant_report *report;
    const struct thread *caller;
    struct sched_view sched;
    struct cnode_ref cnodes[INV_MAX_CNODES]; /* found so far; walked in order */
    unsigned cnode_count;
    const struct thread *threads[INV_MAX_THREADS]; /* found so far; checked in order */
    unsigned thread_count;
    struct object_seen objects[INV_MAX_OBJECTS]; /* open-addressed by object address */
};

static void check_slot(struct checker *c, const struct cte *s);

/* ---- Reporting ------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static void violation(struct checker *c,
                                                            const char *fmt, ...)
{
    if (++c->report->violations > INV_MAX_PRINTED)
        return;
    va_list ap;
    va_start(ap, fmt);
    kprintf("bulkhead: invariant violated: ");
    kvprintf(fmt, ap);
    kprintf("\n");
    va_end(ap);
}

static const char *state_name(enum thread_state s)
{
    static const char *const names[] = {
        [THREAD_INACTIVE] = "inactive",         [THREAD_RUNNABLE] = "runnable",
        [THREAD_BLOCKED_SEND] = "blocked-send", [THREAD_BLOCKED_RECV] = "blocked-recv",
        [THREAD_BLOCKED_REPLY] = "blocked-reply",
        [THREAD_BLOCKED_NOTIFICATION] = "blocked-notification",
        [THREAD_EXITED] = "exited",             [THREAD_FAULTED] = "faulted",
    };
    return (unsigned)s <= THREAD_FAULTED ? names[s] : "invalid";
}

/* ---- Objects met ------------------------------------------------------------ */

/* Notes that the walk met `obj`: through a cap, whose object's count is
 * at `refs`, or through a queue (refs NULL). NULL if the table is full. */
static struct object_seen *meet(struct checker *c, const void *obj, const uint64_t *refs)
{
    unsigned h = (unsigned)((uintptr_t)obj >> CNODE_SLOT_BITS) & (INV_MAX_OBJECTS - 1);
    for (unsigned i = 0; i < INV_MAX_OBJECTS; i++) {
        struct object_seen *o = &c->objects[(h + i) & (INV_MAX_OBJECTS - 1)];
        if (o->obj == obj || !o->obj) {
            o->obj = obj;
            if (refs) {
                o->refs = refs;
                o->caps++;
            }
            return o;
        }
    }
    c->report->truncated = true;
    return NULL;
}

/* True the first time it is asked about an object: each is checked once. */
static bool first_time(struct object_seen *o)
{
    if (!o || o->checked)
        return false;
    o->checked = true;
    return true;
}

/* Lists a thread to be checked (once), wherever it was met. */
static void push_thread(struct checker *c, const struct thread *t)
{
    if (!first_time(meet(c, t, NULL)))
        return;
    if (c->thread_count == INV_MAX_THREADS) {
        c->report->truncated = true;
        return;
    }
    c->threads[c->thread_count++] = t;
}

/* A reference count below the caps found to an object would destroy it
 * while caps still name it. (Above is fine here: caps may sit where the
 * walk does not reach.) */
static void check_counts(struct checker *c)
{
    for (unsigned i = 0; i < INV_MAX_OBJECTS; i++) {
        const struct object_seen *o = &c->objects[i];
        if (o->refs && o->caps > *o->refs)
            violation(c, "object %p: %llu caps to it found, but its count is %llu", o->obj,
                      (unsigned long long)o->caps, (unsigned long long)*o->refs);
    }
}

/* ---- The scheduler ---------------------------------------------------------- */

static bool on_ready_queue(const struct checker *c, const struct thread *t)
{
    return t->ready_prev || c->sched.head[t->priority] == t || smp_heads_a_ready_queue(t);
}

static void check_ready_queue(struct checker *c, unsigned p)
{
    const struct thread *prev = NULL;
    unsigned n = 0;
    for (const struct thread *t = c->sched.head[p]; t; t = t->ready_next) {
        if (++n > INV_MAX_QUEUE) {
            violation(c, "ready queue %u: longer than %u threads (a cycle?)", p, INV_MAX_QUEUE);
            return;
        }
        if (t->ready_prev != prev)
            violation(c, "ready queue %u: thread %p: ready_prev %p, expected %p", p,
                      (const void *)t, (const void *)t->ready_prev, (const void *)prev);
        if (t->priority != p || t->state != THREAD_RUNNABLE || t == current_thread)
            violation(c, "ready queue %u: thread '%s' has priority %u, state %s%s", p, t->name,
                      t->priority, state_name(t->state), t == current_thread ? ", current" : "");
        push_thread(c, t);
        prev = t;
    }
    if (c->sched.tail[p] != prev)
        violation(c, "ready queue %u: tail %p, last thread %p", p, (const void *)c->sched.tail[p],
                  (const void *)prev);
}

static void check_scheduler(struct checker *c)
{
    int top = -1;
    for (unsigned w = 0; w < THREAD_PRIORITIES / 64; w++)
        if (((c->sched.summary >> w) & 1) != (c->sched.words[w] != 0))
            violation(c, "ready bitmap: summary bit %u disagrees with word 0x%llx", w,
                      (unsigned long long)c->sched.words[w]);
    for (unsigned p = 0; p < THREAD_PRIORITIES; p++) {
        bool bit = (c->sched.words[p / 64] >> (p % 64)) & 1;
        if (bit != (c->sched.head[p] != NULL) || (c->sched.head[p] == NULL) != (c->sched.tail[p] == NULL))
            violation(c, "ready queue %u: bit %d, head %p, tail %p", p, bit,
                      (const void *)c->sched.head[p], (const void *)c->sched.tail[p]);
        if (c->sched.head[p])
            top = (int)p;
        check_ready_queue(c, p);
    }
    if (c->sched.top != top)
        violation(c, "ready top %d, highest non-empty queue %d", c->sched.top, top);
}

static void check_current(struct checker *c)
{
    const struct thread *t = current_thread;
    if (t != c->caller) {
        violation(c, "current thread %p is not the caller %p", (const void *)t,
                  (const void *)c->caller);
        return;
    }
    if (t->state != THREAD_RUNNABLE || on_ready_queue(c, t) || !t->vspace ||
        !sched_is_schedulable(t))
        violation(c, "current thread '%s': state %s, %s, vspace %p, %s", t->name,
                  state_name(t->state), on_ready_queue(c, t) ? "queued" : "not queued",
                  (const void *)t->vspace, sched_is_schedulable(t) ? "schedulable" : "no budget");
    if (smp_others_online && t->last_cpu != cpu_here()->index) /* it made this call here */
        violation(c, "current thread '%s' last in user mode on CPU %u", t->name, t->last_cpu);
    if (charged_sc != t->sc)
        violation(c, "current thread '%s' runs on SchedContext %p, the CPU's time goes to %p",
                  t->name, (const void *)t->sc, (const void *)charged_sc);
}

/* ---- Wait queues ---------------------------------------------------------------- */

/* A wait queue [head .. tail]: links both ways, each thread waiting on `obj` in `state`. */
static void check_wait_queue(struct checker *c, const void *obj, const char *what,
                             const struct thread *head, const struct thread *tail,
                             enum thread_state state)
{
    const struct thread *prev = NULL;
    unsigned n = 0;
    for (const struct thread *t = head; t; t = t->wait_next) {
        if (++n > INV_MAX_QUEUE) {
            violation(c, "%s %p: wait queue longer than %u (a cycle?)", what, obj, INV_MAX_QUEUE);
            return;
        }
        if (t->wait_prev != prev || t->blocked_on != obj || t->state != state)
            violation(c, "%s %p: queued thread '%s': state %s (expected %s), blocked_on %p, "
                      "wait_prev %p (expected %p)", what, obj, t->name, state_name(t->state),
                      state_name(state), t->blocked_on, (const void *)t->wait_prev,
                      (const void *)prev);
        push_thread(c, t);
        prev = t;
    }
    if (tail != prev)
        violation(c, "%s %p: wait queue tail %p, last thread %p", what, obj, (const void *)tail,
                  (const void *)prev);
}

static bool in_queue(const struct thread *head, const struct thread *t)
{
    unsigned n = 0;
    for (const struct thread *q = head; q && n < INV_MAX_QUEUE; q = q->wait_next, n++) {
        if (q == t)
            return true;
    }
    return false;
}

/* A send queue (endpoint.c): highest priority first, and the first and
 * last sender of each run of one priority pointing at each other through
 * run_end, the senders between them at NULL. Runs after
 * check_wait_queue(), which bounds the list. */
static void check_send_runs(struct checker *c, const struct endpoint *ep)
{
    const struct thread *first = NULL, *prev = NULL;
    unsigned n = 0;
    for (const struct thread *t = ep->head; t && ++n <= INV_MAX_QUEUE; t = t->wait_next) {
        if (prev && prev->priority < t->priority)
            violation(c, "endpoint %p: sender '%s' (priority %u) queued behind priority %u",
                      (const void *)ep, t->name, t->priority, prev->priority);
        bool starts = !prev || prev->priority != t->priority;
        bool ends = !t->wait_next || t->wait_next->priority != t->priority;
        if (starts)
            first = t;
        if (ends && (t->run_end != first || first->run_end != t))
            violation(c, "endpoint %p: the run of priority %u from '%s' to '%s' does not link "
                      "its ends", (const void *)ep, t->priority, first->name, t->name);
        else if (!starts && !ends && t->run_end)
            violation(c, "endpoint %p: sender '%s' inside a run has run_end %p", (const void *)ep,
                      t->name, (const void *)t->run_end);
        prev = t;
    }
}

/* The walk of a cancellation under way (endpoint.c, Cancelling): its
 * cursor on a sender queued here, and behind it no sender of its badge
 * queued before it started; every sender's stamp already handed out. */
static void check_cancel_walk(struct checker *c, const struct endpoint *ep)
{
    if (ep->cancel_next && (ep->cancel_badge == 0 || ep->state != EP_SENDING ||
                            !in_queue(ep->head, ep->cancel_next))) {
        violation(c, "endpoint %p: cancelling badge 0x%llx from %p, not a sender queued here",
                  (const void *)ep, (unsigned long long)ep->cancel_badge,
                  (const void *)ep->cancel_next);
        return;
    }
    if (ep->state != EP_SENDING)
        return;
    bool behind = ep->cancel_badge != 0;
    unsigned n = 0;
    for (const struct thread *t = ep->head; t && ++n <= INV_MAX_QUEUE; t = t->wait_next) {
        behind &= t != ep->cancel_next;
        if (t->send_stamp >= ep->next_stamp ||
            (behind && t->send_badge == ep->cancel_badge && t->send_stamp < ep->cancel_stamp))
            violation(c, "endpoint %p: sender '%s' (badge 0x%llx, stamp %llu) %s",
                      (const void *)ep, t->name, (unsigned long long)t->send_badge,
                      (unsigned long long)t->send_stamp,
                      t->send_stamp >= ep->next_stamp ? "stamped ahead of the endpoint"
                                                      : "passed by the walk of its badge");
    }
}

static void check_endpoint(struct checker *c, const struct endpoint *ep)
{
    if ((unsigned)ep->state > EP_RECEIVING || (ep->head == NULL) != (ep->state == EP_IDLE)) {
        violation(c, "endpoint %p: state %u with head %p", (const void *)ep, (unsigned)ep->state,
                  (const void *)ep->head);
        return;
    }
    check_wait_queue(c, ep, "endpoint", ep->head, ep->tail,
                     ep->state == EP_SENDING ? THREAD_BLOCKED_SEND : THREAD_BLOCKED_RECV);
    if (ep->state == EP_SENDING)
        check_send_runs(c, ep);
    check_cancel_walk(c, ep);
}

static void check_notification(struct checker *c, const struct notification *n)
{
    if (n->head && (n->active || n->word))
        violation(c, "notification %p: has waiters but is active %d, word 0x%llx",
                  (const void *)n, n->active, (unsigned long long)n->word);
    check_wait_queue(c, n, "notification", n->head, n->tail, THREAD_BLOCKED_NOTIFICATION);
    if (n->bound_thread && n->bound_thread->bound_notification != n)
        violation(c, "notification %p: bound to thread '%s', which is bound to %p",
                  (const void *)n, n->bound_thread->name,
                  (const void *)n->bound_thread->bound_notification);
}

/* ---- Threads ---------------------------------------------------------------------- */

/* A blocked thread is on the queue of the object it waits on. */
static void check_waiting(struct checker *c, const struct thread *t)
{
    const struct thread *head = NULL;
    if (!t->blocked_on) {
        violation(c, "thread '%s': %s but blocked on nothing", t->name, state_name(t->state));
        return;
    }
    if (t->state == THREAD_BLOCKED_NOTIFICATION) {
        head = ((const struct notification *)t->blocked_on)->head;
    } else {
        const struct endpoint *ep = t->blocked_on;
        enum endpoint_state want = t->state == THREAD_BLOCKED_SEND ? EP_SENDING : EP_RECEIVING;
        if (ep->state != want)
            violation(c, "thread '%s': %s on endpoint %p in state %u", t->name,
                      state_name(t->state), (const void *)ep, (unsigned)ep->state);
        head = ep->head;
    }
    if (!in_queue(head, t))
        violation(c, "thread '%s': %s on %p but not on its queue", t->name, state_name(t->state),
                  t->blocked_on);
}

/* The reply pairings (thread.h, reply.c): caller <-> reply_from, or a
 * saved Call's caller <-> its Reply object. */
static void check_call_pairing(struct checker *c, const struct thread *t)
{
    bool on_thread = t->reply_from && t->reply_from->caller == t;
    bool on_object = t->reply_object && t->reply_object->caller == t;
    if (t->state == THREAD_BLOCKED_REPLY && on_thread == on_object)
        violation(c, "thread '%s': waits for a reply from %p or Reply object %p, not one of them "
                  "owing it one", t->name, (const void *)t->reply_from,
                  (const void *)t->reply_object);
    if (t->reply_object && (t->state != THREAD_BLOCKED_REPLY || !on_object))
        violation(c, "thread '%s': %s with Reply object %p, which holds %p", t->name,
                  state_name(t->state), (const void *)t->reply_object,
                  (const void *)t->reply_object->caller);
    if (t->reply_from && t->state != THREAD_BLOCKED_REPLY)
        violation(c, "thread '%s': %s but has reply_from %p", t->name, state_name(t->state),
                  (const void *)t->reply_from);
    if (t->caller && (t->caller->state != THREAD_BLOCKED_REPLY || t->caller->reply_from != t))
        violation(c, "thread '%s': owes a reply to '%s', which is %s, waiting for %p", t->name,
                  t->caller->name, state_name(t->caller->state),
                  (const void *)t->caller->reply_from);
}

/* A thread's endpoint slot holds an endpoint cap, nothing, or the waiters
 * zombie of one TCB: SetFaultEndpoint or SetTimeoutEndpoint is deleting. */
static bool endpoint_slot_ok(const struct cte *s)
{
    enum cap_type type = cap_type(&s->cap);
    return type == CAP_NULL || type == CAP_ENDPOINT ||
           (type == CAP_ZOMBIE && cap_zombie_is_waiters(&s->cap));
}

/* The thread's own slots: its CSpace root (a CNode cap, or the zombie of one
 * TCB: Configure is emptying), its fault and timeout endpoints, an empty
 * fourth; spare words 0 while it lives (its TCB's zombie uses them: cnode.c). */
static void check_thread_slots(struct checker *c, const struct thread *t)
{
    enum cap_type root = cap_type(&t->cspace_root.cap);
    if ((root != CAP_NULL && root != CAP_CNODE && root != CAP_ZOMBIE) ||
        !endpoint_slot_ok(&t->fault_endpoint) || !endpoint_slot_ok(&t->timeout_endpoint) ||
        !cap_is_null(&t->slots[3].cap)) {
        violation(c, "thread '%s': slots of types %u, %u, %u, %u", t->name, (unsigned)root,
                  (unsigned)cap_type(&t->slots[1].cap), (unsigned)cap_type(&t->slots[2].cap),
                  (unsigned)cap_type(&t->slots[3].cap));
        return;
    }
    for (unsigned i = 0; i < 1u << TCB_SLOTS_RADIX; i++) {
        if (t->slots[i].spare.raw)
            violation(c, "thread '%s': spare word 0x%llx in its slot %u", t->name,
                      (unsigned long long)t->slots[i].spare.raw, i);
        check_slot(c, &t->slots[i]);
    }
}

static void check_thread(struct checker *c, const struct thread *t)
{
    c->report->threads++;
    if ((unsigned)t->state > THREAD_FAULTED) {
        violation(c, "thread %p: invalid state %u", (const void *)t, (unsigned)t->state);
        return;
    }
    bool queued = on_ready_queue(c, t);
    bool running = sched_is_current_somewhere(t); /* an idle CPU's too: make_runnable_smp() */
    bool belongs = t->state == THREAD_RUNNABLE && !running && sched_is_schedulable(t);
    if (queued != belongs)
        violation(c, "thread '%s': %s%s and %s the ready queue", t->name, state_name(t->state),
                  sched_is_schedulable(t) ? "" : " without budget", queued ? "on" : "not on");
    if (t->sc && t->sc->thread != t)
        violation(c, "thread '%s': its SchedContext %p is run on by %p", t->name,
                  (const void *)t->sc, (const void *)t->sc->thread);
    if (t->own_sc && t->own_sc->home != t)
        violation(c, "thread '%s': its own SchedContext %p is bound to %p", t->name,
                  (const void *)t->own_sc, (const void *)t->own_sc->home);
    if (t->state == THREAD_BLOCKED_RECV && t->sc && t->sc->home != t)
        violation(c, "thread '%s': waits to receive on a lent SchedContext %p", t->name,
                  (const void *)t->sc);
    if (t->state == THREAD_RUNNABLE && !t->vspace)
        violation(c, "thread '%s': runnable but never configured", t->name);
    bool waits = t->state == THREAD_BLOCKED_SEND || t->state == THREAD_BLOCKED_RECV ||
                 t->state == THREAD_BLOCKED_NOTIFICATION;
    if (t->run_end && t->state != THREAD_BLOCKED_SEND)
        violation(c, "thread '%s': %s but has run_end %p", t->name, state_name(t->state),
                  (const void *)t->run_end);
    if (waits)
        check_waiting(c, t);
    else if (t->blocked_on || t->wait_next || t->wait_prev)
        violation(c, "thread '%s': %s but still linked on a wait queue (%p)", t->name,
                  state_name(t->state), t->blocked_on);
    if (t->in_fault && t->state != THREAD_BLOCKED_SEND && t->state != THREAD_BLOCKED_REPLY)
        violation(c, "thread '%s': a fault in flight, but %s", t->name, state_name(t->state));
    check_call_pairing(c, t);
    if (t->bound_notification && t->bound_notification->bound_thread != t)
        violation(c, "thread '%s': bound to notification %p, which is bound to %p", t->name,
                  (const void *)t->bound_notification,
                  (const void *)t->bound_notification->bound_thread);
    check_thread_slots(c, t);
}

/* ---- Slots and caps -------------------------------------------------------------- */

/* Adds a table of slots to the walk unless it is there already. */
static void push_table(struct checker *c, struct cte *slots, unsigned radix,
                       const struct cte *zombie)
{
    for (unsigned i = 0; i < c->cnode_count; i++) {
        if (c->cnodes[i].slots == slots)
            return;
    }
    if (c->cnode_count == INV_MAX_CNODES) {
        c->report->truncated = true;
        return;
    }
    c->cnodes[c->cnode_count++] = (struct cnode_ref){ slots, radix, zombie };
}

static void push_cnode(struct checker *c, const cap_t *cap)
{
    push_table(c, cnode_slots(cap), cap_cnode_radix(cap), NULL);
}

/* The physical range an object cap covers; false for the types that name
 * no memory (or whose size this file does not know). */
static bool cap_range(const cap_t *cap, paddr_t *base, uint64_t *size)
{
    enum cap_type type = cap_type(cap);
    unsigned bits;
    struct kerror_info info;
    switch (type) {
    case CAP_UNTYPED:
    case CAP_FRAME:
        bits = type == CAP_UNTYPED ? cap_untyped_size_bits(cap) : cap_frame_size_bits(cap);
        *base = cap->w[1];
        break;
    case CAP_CNODE:
        bits = cap_cnode_radix(cap) + CNODE_SLOT_BITS;
        *base = arch_virt_to_phys(cap_object(cap));
        break;
    case CAP_TCB:
    case CAP_ENDPOINT:
    case CAP_NOTIFICATION:
    case CAP_REPLY:
    case CAP_VSPACE:
    case CAP_ASID_POOL:
        if (object_size_bits(type, 0, &bits, &info) != KERR_OK || bits == 0)
            return false;
        *base = arch_virt_to_phys(cap_object(cap));
        break;
    default:
        return false;
    }
    if (bits > OBJ_UNTYPED_MAX_BITS)
        return false;
    *size = 1ull << bits;
    return true;
}

/* A child names the same object as its parent (copy, mint), or lies inside
 * its parent untyped (retype). Only the types whose derivation this file
 * knows are checked. */
static void check_derivation(struct checker *c, const struct cte *parent, const struct cte *s)
{
    enum cap_type pt = cap_type(&parent->cap), ct = cap_type(&s->cap);
    if (pt == CAP_UNTYPED) {
        paddr_t base, pbase;
        uint64_t size, psize;
        if (!cap_range(&s->cap, &base, &size) || !cap_range(&parent->cap, &pbase, &psize))
            return;
        if (base < pbase || base - pbase > psize || size > psize - (base - pbase))
            violation(c, "slot %p: %s at 0x%llx (%llu bytes) outside its parent untyped 0x%llx",
                      (const void *)s, object_type_name(ct), (unsigned long long)base,
                      (unsigned long long)size, (unsigned long long)pbase);
        return;
    }
    bool same_object = pt == CAP_CNODE || pt == CAP_TCB || pt == CAP_ENDPOINT ||
                       pt == CAP_NOTIFICATION || pt == CAP_FRAME || pt == CAP_VSPACE ||
                       pt == CAP_ASID_POOL;
    /* A waiters zombie stands where a copy of its object's cap was. */
    bool waiters = ct == CAP_ZOMBIE && cap_zombie_is_waiters(&s->cap);
    if (same_object && ((ct != pt && !waiters) || s->cap.w[1] != parent->cap.w[1]))
        violation(c, "slot %p: %s cap derived from a %s cap naming another object",
                  (const void *)s, object_type_name(ct), object_type_name(pt));
    else if (cap_is_badged(&parent->cap) && cap_badge(&s->cap) != cap_badge(&parent->cap))
        violation(c, "slot %p: badge 0x%llx below a cap with badge 0x%llx (cdt.h)",
                  (const void *)s, (unsigned long long)cap_badge(&s->cap),
                  (unsigned long long)cap_badge(&parent->cap));
}

/* A first child's list, walked once (so every list costs O(its length)
 * per check, not O(length^2)): it comes back to `first` within the bound,
 * no other member names a parent, and each member derives from `p`. */
static void check_child_list(struct checker *c, const struct cte *p, const struct cte *first)
{
    const struct cte *s = first;
    unsigned n = 0;
    do {
        if (++n > INV_MAX_SLOTS) {
            violation(c, "slot %p: its sibling list does not come back (a cycle?)",
                      (const void *)first);
            return;
        }
        if (s != first && s->parent)
            violation(c, "slot %p: names parent %p but is not a first child", (const void *)s,
                      (const void *)s->parent);
        if (!cap_is_null(&s->cap))
            check_derivation(c, p, s);
        s = s->next_sibling;
    } while (s && s != first);
}

/* Derivation-tree links of a non-empty slot (cdt.h's invariants): roots
 * have no sibling links, children both, leading back; only the first
 * child of a list names the parent, which names it back. */
static void check_links(struct checker *c, const struct cte *s)
{
    const struct cte *p = s->parent, *prev = s->prev_sibling, *next = s->next_sibling;
    if (!next && (prev || p))
        violation(c, "slot %p: a root with prev_sibling %p, parent %p", (const void *)s,
                  (const void *)prev, (const void *)p);
    if (next && (!prev || next->prev_sibling != s || prev->next_sibling != s))
        violation(c, "slot %p: sibling links %p, %p do not lead back", (const void *)s,
                  (const void *)prev, (const void *)next);
    if (p && cap_is_null(&p->cap))
        violation(c, "slot %p: its parent %p is empty", (const void *)s, (const void *)p);
    if (p && p->first_child != s)
        violation(c, "slot %p: names parent %p, whose first child is %p", (const void *)s,
                  (const void *)p, (const void *)p->first_child);
    if (s->first_child && s->first_child->parent != s)
        violation(c, "slot %p: first child %p has parent %p", (const void *)s,
                  (const void *)s->first_child, (const void *)s->first_child->parent);
    if (p && next && prev && !cap_is_null(&p->cap) && p->first_child == s)
        check_child_list(c, p, s);
}

/* A counted object is alive while a cap names it. Returns true if the
 * object is to be checked: alive, and met for the first time. */
static bool check_refs(struct checker *c, const struct cte *s)
{
    if (!cap_object(&s->cap)) {
        violation(c, "slot %p: %s cap with no object", (const void *)s,
                  object_type_name(cap_type(&s->cap)));
        return false;
    }
    uint64_t refs = *object_refs(&s->cap);
    if (refs == 0 || refs > (1ull << 40)) {
        violation(c, "slot %p: %s %p has refs %llu", (const void *)s,
                  object_type_name(cap_type(&s->cap)), cap_object(&s->cap),
                  (unsigned long long)refs);
        return false;
    }
    struct object_seen *o = meet(c, cap_object(&s->cap), object_refs(&s->cap));
    /* push_thread() keeps its own count of which threads were listed. */
    return cap_type(&s->cap) == CAP_TCB || first_time(o);
}

static void check_memory_cap(struct checker *c, const struct cte *s)
{
    const cap_t *cap = &s->cap;
    bool untyped = cap_type(cap) == CAP_UNTYPED;
    unsigned bits = untyped ? cap_untyped_size_bits(cap) : cap_frame_size_bits(cap);
    bool size_ok = untyped ? bits >= OBJ_UNTYPED_MIN_BITS && bits <= OBJ_UNTYPED_MAX_BITS
                           : bits == OBJ_FRAME_BITS || bits == OBJ_LARGE_FRAME_BITS;
    if (!size_ok || !IS_ALIGNED(cap->w[1], 1ull << (bits & 63)) ||
        (untyped && cap_untyped_free_index(cap) > (1ull << (bits & 63))))
        violation(c, "slot %p: %s at 0x%llx, 2^%u bytes, watermark %llu", (const void *)s,
                  object_type_name(cap_type(cap)), (unsigned long long)cap->w[1], bits,
                  untyped ? (unsigned long long)cap_untyped_free_index(cap) : 0ull);
}

static void check_cnode_cap(struct checker *c, const struct cte *s)
{
    unsigned radix = cap_cnode_radix(&s->cap), guard_size = cap_cnode_guard_size(&s->cap);
    uint64_t guard = cap_cnode_guard(&s->cap);
    if (radix < CNODE_RADIX_MIN || radix > CNODE_RADIX_MAX || guard_size + radix > 64 ||
        (guard_size < 64 && guard >> guard_size)) {
        violation(c, "slot %p: CNode cap with radix %u, guard 0x%llx of %u bits", (const void *)s,
                  radix, (unsigned long long)guard, guard_size);
        return;
    }
    if (cap_is_flat_cnode(&s->cap) != (radix + guard_size == 64 && guard == 0))
        violation(c, "slot %p: CNode cap's flat bit wrong for radix %u, guard 0x%llx of %u bits",
                  (const void *)s, radix, (unsigned long long)guard, guard_size);
    if (check_refs(c, s))
        push_cnode(c, &s->cap);
}

/* Whether `s` holds a zombie of slots (not a waiters zombie). */
static bool holds_zombie(const struct cte *s)
{
    return s && cap_type(&s->cap) == CAP_ZOMBIE && !cap_zombie_is_waiters(&s->cap);
}

/* An object whose own file states its rules (`why`: the first it breaks). */
static void check_object(struct checker *c, const struct cte *s, const char *what,
                         const char *why)
{
    if (why)
        violation(c, "slot %p: %s %p: %s", (const void *)s, what, cap_object(&s->cap), why);
}

/* A waiters zombie (cnode.c, cap.h): an endpoint or notification that
 * still has threads to wake. Destroyed (badge 0) its count is 0 and no
 * cap names it; for a badge, an endpoint that may live on. Its queue is
 * checked, once, like a live object's; the zombie has no children. An
 * ASID pool's (asid_pool.c) has its entries checked instead. */
static void check_waiters_zombie(struct checker *c, const struct cte *s)
{
    const cap_t *cap = &s->cap;
    const void *obj = cap_object(cap);
    bool is_ntfn = cap_zombie_is_notification(cap);
    uint64_t badge = cap_zombie_badge(cap);
    if (!obj || (is_ntfn && badge != 0) || (badge == 0 && ((const struct kobj_header *)obj)->refs != 0) ||
        s->first_child) {
        violation(c, "slot %p: waiters zombie of %s %p, badge 0x%llx, first child %p",
                  (const void *)s, is_ntfn ? "notification" : "endpoint", obj,
                  (unsigned long long)badge, (const void *)s->first_child);
        return;
    }
    if (cap_zombie_is_asid_pool(cap)) /* taking its entries back (asid_pool.c) */
        check_object(c, s, "ASID pool", asid_pool_broken(obj));
    else if (!first_time(meet(c, obj, NULL)))
        return;
    else if (is_ntfn)
        check_notification(c, obj);
    else
        check_endpoint(c, obj);
}

/* A zombie's chain links (cnode.c, Chains): the zombie just below names
 * this one's slot as the one above it (or, below the bottom, the top one
 * names it as the bottom); a waiting zombie sits in its own table where
 * its next index points, and the one above it names its slot as below. */
static void check_zombie_links(struct checker *c, const struct cte *s)
{
    const struct cte *slots = cap_object(&s->cap);
    const struct cte *below = slots[0].spare.zombie_below;
    uint64_t link = slots[1].spare.zombie_link;
    const struct cte *other = zombie_link_slot(link);
    bool ok = holds_zombie(below) && holds_zombie(other);
    if (ok && zombie_link_is_top(link)) { /* other is the bottom: it names s */
        ok = ((const struct cte *)cap_object(&other->cap))[0].spare.zombie_below == s;
        if (ok && below != s) /* a zombie waits below: it names s as above */
            ok = ((const struct cte *)cap_object(&below->cap))[1].spare.zombie_link ==
                 zombie_link_above(s);
    } else if (ok) {
        ok = &slots[cap_zombie_next(&s->cap)] == s &&
             ((const struct cte *)cap_object(&other->cap))[0].spare.zombie_below == s;
    }
    if (!ok) {
        violation(c, "zombie %p: chain links broken (below %p, link 0x%llx)", (const void *)s,
                  (const void *)below, (unsigned long long)link);
        return;
    }
    /* The zombies waiting below sit in their own tables, which nothing
     * else names: walk them too. */
    if (below != s)
        push_table(c, cap_object(&below->cap), cap_zombie_radix(&below->cap), below);
}

/* A zombie (cnode.c, cap.h): a CNode's table of 1 to 2^24 slots, or a
 * dead TCB's two; its object already destroyed (a TCB's count is 0; a
 * CNode's slot 0 holds a chain link instead); its next slot within the
 * table. Its slots are walked: they are still in the tree. */
static void check_zombie(struct checker *c, const struct cte *s)
{
    const cap_t *cap = &s->cap;
    if (cap_zombie_is_waiters(cap)) {
        check_waiters_zombie(c, s);
        return;
    }
    struct cte *slots = cap_object(cap);
    unsigned radix = cap_zombie_radix(cap);
    bool is_tcb = cap_zombie_is_tcb(cap);
    const struct thread *t = is_tcb ? container_of_slots(slots) : NULL;
    bool ok = slots && (is_tcb ? radix == TCB_SLOTS_RADIX && t->header.refs == 0
                               : radix >= CNODE_RADIX_MIN && radix <= CNODE_RADIX_MAX);
    if (!ok || cap_zombie_next(cap) > (1ull << radix)) {
        violation(c, "slot %p: zombie of %s slots %p, radix %u, next %llu", (const void *)s,
                  is_tcb ? "TCB" : "CNode", (const void *)slots, radix,
                  (unsigned long long)cap_zombie_next(cap));
        return;
    }
    check_zombie_links(c, s);
    push_table(c, slots, radix, s);
}

/* A Reply object's saved Call (reply.c): its caller waits on it. */
static void check_reply(struct checker *c, const struct reply *r)
{
    const struct thread *t = r->caller;
    if (t && (t->reply_object != r || t->state != THREAD_BLOCKED_REPLY || t->reply_from))
        violation(c, "Reply object %p: holds '%s', which is %s, waiting on %p / %p",
                  (const void *)r, t->name, state_name(t->state), (const void *)t->reply_from,
                  (const void *)t->reply_object);
}

/* The cap's own fields, and the object behind it. */
static void check_cap(struct checker *c, const struct cte *s)
{
    switch (cap_type(&s->cap)) {
    case CAP_UNTYPED:
    case CAP_FRAME:
        check_memory_cap(c, s);
        break;
    case CAP_CNODE:
        check_cnode_cap(c, s);
        break;
    case CAP_TCB:
        if (check_refs(c, s))
            push_thread(c, tcb_thread(&s->cap));
        break;
    case CAP_ENDPOINT:
        if (check_refs(c, s))
            check_endpoint(c, cap_object(&s->cap));
        break;
    case CAP_NOTIFICATION:
        if (check_refs(c, s))
            check_notification(c, cap_object(&s->cap));
        break;
    case CAP_REPLY:
        if (check_refs(c, s))
            check_reply(c, reply_of(&s->cap));
        break;
    case CAP_ZOMBIE:
        check_zombie(c, s);
        break;
    case CAP_VSPACE: /* the rules of their own files */
    case CAP_ASID_POOL:
        if (check_refs(c, s))
            check_object(c, s, object_type_name(cap_type(&s->cap)),
                         cap_type(&s->cap) == CAP_VSPACE ? vspace_asid_broken(cap_object(&s->cap))
                                                         : asid_pool_broken(cap_object(&s->cap)));
        break;
    default:
        break;
    }
}

static void check_slot(struct checker *c, const struct cte *s)
{
    enum cap_type type = cap_type(&s->cap);
    c->report->slots++;
    if ((unsigned)type >= CAP_TYPE_COUNT) {
        violation(c, "slot %p: invalid cap type %u", (const void *)s, (unsigned)type);
        return;
    }
    if (type == CAP_NULL) {
        if (s->parent || s->first_child || s->next_sibling || s->prev_sibling)
            violation(c, "slot %p: empty but linked in the derivation tree", (const void *)s);
        return;
    }
    check_links(c, s);
    check_cap(c, s);
}

/* Whether slot `i` of a table may have a non-zero spare word: slot 0 of a
 * live CNode (its header, checked through the caps), slots 0 and 1 of a
 * zombie's (the chain's links, cnode.c). */
static bool spare_in_use(const struct cnode_ref *cn, uint64_t i)
{
    return i == 0 || (cn->zombie && i == 1);
}

/* A zombie empties its slots in order: those before its next one hold
 * nothing, but a zombie when its chain's top slot is there (cnode.c). */
static void check_emptied(struct checker *c, const struct cnode_ref *cn, uint64_t i)
{
    const struct cte *s = &cn->slots[i];
    if (cn->zombie && i < cap_zombie_next(&cn->zombie->cap) && !cap_is_null(&s->cap) &&
        !holds_zombie(s))
        violation(c, "zombie %p: slot %llu, already emptied, holds a %s cap",
                  (const void *)cn->zombie, (unsigned long long)i,
                  object_type_name(cap_type(&s->cap)));
}

/* Every slot of a live CNode or a zombie's table. */
static void walk_cnode(struct checker *c, const struct cnode_ref *cn)
{
    uint64_t count = 1ull << cn->radix;
    for (uint64_t i = 0; i < count; i++) {
        if (c->report->slots >= INV_MAX_SLOTS) {
            c->report->truncated = true;
            return;
        }
        if (!spare_in_use(cn, i) && cn->slots[i].spare.raw != 0)
            violation(c, "CNode %p: slot %llu has spare word 0x%llx", (const void *)cn->slots,
                      (unsigned long long)i, (unsigned long long)cn->slots[i].spare.raw);
        check_emptied(c, cn, i);
        check_slot(c, &cn->slots[i]);
    }
}

uint64_t invariants_check(struct thread *t, struct invariant_report *report)
{
    static struct checker c; /* too big for a kernel stack; syscalls do not nest */
    *report = (struct invariant_report){ 0 };
    c.report = report;
    c.caller = t;
    c.cnode_count = 0;
    c.thread_count = 0;
    memset(c.objects, 0, sizeof(c.objects));
    sched_get_view(&c.sched);
    check_scheduler(&c);
    check_current(&c);
    /* Threads list their CSpace roots, CNodes list the threads their caps
     * name: take from both lists until neither grows. The caller's CSpace
     * root is where the walk starts. */
    push_thread(&c, t);
    unsigned cn = 0, th = 0;
    while (th < c.thread_count || (cn < c.cnode_count && report->slots < INV_MAX_SLOTS)) {
        if (th < c.thread_count)
            check_thread(&c, c.threads[th++]);
        else
            walk_cnode(&c, &c.cnodes[cn++]);
    }
    check_counts(&c);
    report->cnodes = c.cnode_count;
    if (report->violations > INV_MAX_PRINTED)
        kprintf("bulkhead: ... %llu invariant violations in all\n",
                (unsigned long long)report->violations);
    return report->violations;
}
