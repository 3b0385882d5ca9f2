/*
 * SchedContext objects and the SchedControl capability (kernel/abi.toml's
 * sched_context and sched_control methods).
 *
 * A thread runs only on a SchedContext: bound to it (Bind), or, later,
 * lent by a caller. The kernel makes one at boot for the root task; every
 * other is retyped from untyped memory and has no time until SchedControl:
 * Configure gives it a budget and a period, so the holder of SchedControl
 * (a scheduler server) is the only source of CPU time.
 *
 * Donation. A thread with no SchedContext is passive: it runs only on one
 * lent to it. A Call that reaches it lends the caller's (the caller is
 * blocked meanwhile, so it needs none), and the answer gives it back, so
 * a server's work is charged to the client it works for; a passive server
 * calling another lends it on, and each answer gives it back one step.
 * A Call cancelled (a newer Call, the server stopped) gives it back too;
 * a server whose caller vanished keeps it until it blocks, then it goes
 * home. A server whose loan is taken away (Unbind, the SchedContext
 * deleted) mid-request gets a timeout fault, if it asked for them
 * (lost_time()). The IPC fast path leaves all of this to the general path.
 *
 * Invariants:
 *  - sc->home == t  <=>  t->own_sc == sc (binding is one to one);
 *  - sc->thread == t  <=>  t->sc == sc (who runs on it);
 *  - a lent SchedContext (thread != home) is held by a thread that its
 *    home called, directly or through a chain of passive servers, or by
 *    one whose caller vanished;
 *  - a configured SchedContext's refills satisfy refill_check();
 *  - consumed never decreases; Configure keeps it.
 */
#include "sched_context.h"

#include "invoke.h"
#include "ipc.h"
#include "kernel.h"
#include "thread.h"

/* `t` runs on `sc` from now on (NULL: on nothing). When `t` is the
 * current thread and goes on running (a ReplyRecv that took a queued Call
 * runs on that caller's loan from here), the CPU's time goes to `sc` from
 * this instant, or the server's work would be charged to its previous
 * caller. Charged here rather than when the scheduler lets the current
 * thread go on, which is every syscall. */
static void run_on(struct thread *t, struct sched_context *sc)
{
    if (t->sc)
        t->sc->thread = NULL;
    t->sc = sc;
    if (sc) {
        sc->thread = t;
        if (t == current_thread)
            charge_switch(sc);
    }
    sched_reconsider(t);
}

void sched_context_bind(struct sched_context *sc, struct thread *t)
{
    sc->home = t;
    t->own_sc = sc;
    run_on(t, sc);
}

/* The timeout fault of a thread left with no time (budget word 0): from
 * `sc`, the SchedContext it lost, or with zeros when that is not known. */
static void no_time_fault(struct thread *t, const struct sched_context *sc)
{
    uint64_t words[BK_FAULT_WORDS] = { sc ? sc->badge : 0, sc ? arch_counter_ns(sc->consumed) : 0,
                                       0, sc ? sc->period_ns : 0, arch_regs_pc(&t->regs) };
    (void)fault_send(t, BK_FAULT_TIMEOUT, words);
}

/* `t` lost `sc`, the SchedContext it ran on (Unbind, or `sc` deleted). A
 * thread that works for another (on its loan, or owing it an answer) would
 * hold that work up for good, and its callers with it: with timeout faults
 * on, its handler hears of it as of a budget run out, but with budget 0,
 * and may bind it time (docs/scheduling.md, Losing a loan). Only a
 * runnable thread is stopped so; one waiting for an answer or on a
 * notification hears of it once woken (sched_context_woken()). */
static void lost_time(struct thread *t, const struct sched_context *sc, bool loan)
{
    if ((!loan && !t->caller) || t->state != THREAD_RUNNABLE || !t->timeout_faults)
        return;
    no_time_fault(t, sc);
}

void sched_context_woken(struct thread *t)
{
    if (!t->sc && t->caller && t->state == THREAD_RUNNABLE && t->timeout_faults)
        no_time_fault(t, NULL);
}

void sched_context_unbind(struct sched_context *sc)
{
    struct thread *t = sc->thread;
    bool loan = t && t != sc->home;
    if (t)
        run_on(t, NULL);
    if (sc->home)
        sc->home->own_sc = NULL;
    sc->home = NULL;
    if (t)
        lost_time(t, sc, loan);
}

void sched_context_disown(struct sched_context *sc)
{
    struct thread *home = sc->home;
    home->own_sc = NULL;
    sc->home = NULL;
    if (sc->thread == home)
        run_on(home, NULL);
}

void sched_context_donate(struct thread *caller, struct thread *callee)
{
    struct sched_context *sc = caller->sc;
    if (callee->sc || !sc)
        return;
    run_on(caller, NULL);
    run_on(callee, sc);
}

void sched_context_return(struct thread *server, struct thread *caller)
{
    struct sched_context *sc = server->sc;
    if (sc && sc->home != server && !caller->sc) {
        run_on(server, NULL);
        run_on(caller, sc);
    }
}

void sched_context_drop_loan(struct thread *t)
{
    struct sched_context *sc = t->sc;
    if (!sc || sc->home == t)
        return;
    run_on(t, NULL);
    if (sc->home && !sc->home->sc)
        run_on(sc->home, sc);
}

void sched_context_destroy(const cap_t *final_cap)
{
    struct sched_context *sc = sched_context_of(final_cap);
    sched_forget(sc);
    sched_context_unbind(sc);
}

void sched_context_set(struct sched_context *sc, uint64_t budget_ns, uint64_t period_ns,
                       unsigned refills)
{
    uint64_t budget = arch_ns_counts(budget_ns), period = arch_ns_counts(period_ns);
    uint64_t min = arch_ns_counts(REFILL_MIN_NS);
    /* Rounding up keeps 0 < budget <= period: budget_ns <= period_ns. */
    (void)refill_init(&sc->refills, budget, period, refills, sched_now());
    sc->refills.min = min ? min : 1;
    sc->whole = budget == period;
    sc->budget_ns = budget_ns;
    sc->period_ns = period_ns;
}

static struct sched_context *invoked_sc(const struct invocation *inv)
{
    return sched_context_of(&inv->slot->cap);
}

/* Charges the running SchedContext up to now if it is `sc`, which a
 * method is about to read or change. Another needs no charge, and each
 * charge splits the running one's budget into one more refill (refill.h):
 * a passive scheduler server that reads or configures dozens of
 * SchedContexts on its caller's loan would cut the caller's budget into
 * pieces, and its periodic caller would then wake once per piece. */
static void charge_if_running(const struct sched_context *sc)
{
    sched_settle(sc);
    if (sc == charged_sc)
        sched_charge_current();
}

/* ---- SchedControl: Configure -------------------------------------------- */

static kerror_t check_times(uint64_t budget, uint64_t period, uint64_t refills,
                            struct kerror_info *info)
{
    if (period == 0 || budget > period)
        return KERR_INVALID_ARGUMENT;
    if (budget < BK_SCHED_MIN_BUDGET_NS || period > BK_SCHED_MAX_PERIOD_NS) {
        info->range_min = budget < BK_SCHED_MIN_BUDGET_NS ? BK_SCHED_MIN_BUDGET_NS : 1;
        info->range_max = budget < BK_SCHED_MIN_BUDGET_NS ? period : BK_SCHED_MAX_PERIOD_NS;
        return KERR_RANGE;
    }
    if (refills == 0 || refills > BK_SCHED_MAX_REFILLS) {
        info->range_min = 1;
        info->range_max = BK_SCHED_MAX_REFILLS;
        return KERR_RANGE;
    }
    return KERR_OK;
}

kerror_t sched_control_invoke_configure(struct invocation *inv, struct kerror_info *info)
{
    struct cte *slot;
    kerror_t err = invoke_lookup_cap_arg(inv, inv->args[0], &slot, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&slot->cap) != CAP_SCHED_CONTEXT)
        return KERR_INVALID_CAPABILITY;
    uint64_t budget = inv->args[1], period = inv->args[2], refills = inv->args[3];
    err = check_times(budget, period, refills, info);
    if (err != KERR_OK)
        return err;
    struct sched_context *sc = sched_context_of(&slot->cap);
    charge_if_running(sc); /* what was used so far counts under the old budget */
    sched_release_remove(sc);
    sched_context_set(sc, budget, period, (unsigned)refills);
    sc->cpu = cap_sched_control_cpu(&inv->slot->cap);
    sc->badge = inv->args[4];
    if (sc->thread)
        sched_reconsider(sc->thread);
    return KERR_OK;
}

/* ---- SchedContext methods ------------------------------------------------ */

kerror_t sched_context_invoke_bind(struct invocation *inv, struct kerror_info *info)
{
    struct cte *slot;
    kerror_t err = invoke_lookup_cap_arg(inv, inv->args[0], &slot, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&slot->cap) != CAP_TCB)
        return KERR_INVALID_CAPABILITY;
    struct sched_context *sc = invoked_sc(inv);
    struct thread *t = tcb_thread(&slot->cap);
    if (sc->home || t->own_sc || t->sc)
        return KERR_ILLEGAL_OPERATION; /* bound; has its own; runs on a loan */
    sched_context_bind(sc, t);
    return KERR_OK;
}

kerror_t sched_context_invoke_unbind(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    struct sched_context *sc = invoked_sc(inv);
    if (!sc->home)
        return KERR_ILLEGAL_OPERATION;
    charge_if_running(sc);
    sched_context_unbind(sc);
    return KERR_OK;
}

kerror_t sched_context_invoke_released(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    const struct sched_context *sc = invoked_sc(inv);
    inv->results[0] = sc->releases ? arch_counter_time_ns(sc->released_due) : 0;
    inv->results[1] = sc->releases;
    inv->results[2] = sc->releases ? sc->released_due : 0;
    inv->result_count = 3;
    return KERR_OK;
}

kerror_t sched_context_invoke_consumed(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    const struct sched_context *sc = invoked_sc(inv);
    /* The running one's time up to now, read, not charged: a charge would
     * split its budget (charge_if_running()), and a passive server that
     * reads the SchedContext it runs on at every request would cut its
     * caller's budget into pieces. */
    uint64_t consumed = sc->consumed + (sc == charged_sc ? sched_now() - charged_since : 0);
    inv->results[0] = arch_counter_ns(consumed);
    inv->results[1] = sc->throttled;
    inv->results[2] = sc->budget_ns;
    inv->results[3] = sc->period_ns;
    inv->result_count = 4;
    return KERR_OK;
}
