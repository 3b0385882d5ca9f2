/*
 * SchedContext objects: budgets of CPU time that threads run on, and the
 * SchedControl capability that alone gives them time (sched_context.c).
 */
#pragma once

#include "object.h"
#include "refill.h"
#include "types.h"

#define OBJ_SCHED_CONTEXT_BITS BK_SCHED_CONTEXT_BITS

struct thread;

struct sched_context {
    struct kobj_header header; /* first: the object's reference count */
    /* The thread bound to it (Bind), and the thread running on it now:
     * the same, unless a Call lent it to a passive server (donation). */
    struct thread *home;
    struct thread *thread;
    /* Budget and period as refills (refill.h), in arch_counter() counts;
     * budget 0 until SchedControl: Configure, and a bound thread does not
     * run meanwhile. */
    struct refills refills;
    /* The whole CPU (budget = period): never throttled, so the refills
     * need no bookkeeping and the IPC fast path may switch to it. */
    bool whole;
    unsigned cpu;              /* the CPU whose SchedControl configured it */
    uint64_t budget_ns, period_ns; /* as configured */
    uint64_t badge;            /* what its timeout faults carry */
    uint64_t consumed;         /* counts its threads ran on it, ever */
    uint64_t throttled;        /* times it ran out of budget */
    /* Out of budget: waits on the release queue (sched.c), in order of
     * its head refill's instant, and its thread does not run meanwhile. */
    bool waiting;
    struct sched_context *release_next;
    /* Its last release from that queue: the refill's due instant (counts)
     * and how many there were (SchedContext: Released). */
    uint64_t released_due, releases;
};

_Static_assert(sizeof(struct sched_context) <= (1u << OBJ_SCHED_CONTEXT_BITS),
               "a SchedContext fits its object");

static inline struct sched_context *sched_context_of(const cap_t *cap)
{
    return (struct sched_context *)cap_object(cap);
}

/* Whether `sc` has been given time by SchedControl: Configure. */
static inline bool sched_context_configured(const struct sched_context *sc)
{
    return sc->refills.budget != 0;
}

/* Gives `sc` `budget_ns` in every `period_ns` (checked by the caller),
 * with up to `refills` refills, the whole budget usable from now. */
void sched_context_set(struct sched_context *sc, uint64_t budget_ns, uint64_t period_ns,
                       unsigned refills);

/* Destroy hook of SchedContext objects (object.c): its thread loses it. */
void sched_context_destroy(const cap_t *final_cap);

/* Binds `sc` (bound to no thread) to `t` (with none, and running on
 * none), which then runs on it. */
void sched_context_bind(struct sched_context *sc, struct thread *t);

/* Takes `sc` from its thread and from whoever runs on it, if anyone; a
 * runner that works for another thread (on a loan, or owing an answer)
 * gets a timeout fault if it has them on. */
void sched_context_unbind(struct sched_context *sc);

/* `sc`'s thread is being destroyed: it is bound to nobody from now on. A
 * passive server running on it as a loan keeps it until it blocks (so a
 * client that dies mid-request does not strand the server), then it is
 * nobody's; otherwise nobody runs on it any more. */
void sched_context_disown(struct sched_context *sc);

/* Donation (see sched_context.c). A Call from `caller` reached `callee`:
 * a callee with no SchedContext (a passive server) runs on the caller's. */
void sched_context_donate(struct thread *caller, struct thread *callee);

/* `server` answered `caller`, or will not (it stopped, or the Call was
 * cancelled): the caller gets back the SchedContext it lent. */
void sched_context_return(struct thread *server, struct thread *caller);

/* `t` was just woken (its Call or its fault answered, or a notification
 * it waited on signalled) and made runnable. If it owes its own caller an
 * answer and has no SchedContext, it lost its loan while it waited: with
 * timeout faults on, it gets one (budget 0), as a runnable thread that
 * loses it does (sched_context_unbind()). Callers test `!t->sc` first:
 * the wake paths are hot, and a thread with time has nothing to hear. */
void sched_context_woken(struct thread *t);

/* `t` is about to block with no caller to answer: a SchedContext it still
 * holds on loan (its caller vanished) goes back to its own thread. */
void sched_context_drop_loan(struct thread *t);
