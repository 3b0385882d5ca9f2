/*
 * The scheduler: per-priority ready queues with a two-level bitmap, round
 * robin within a priority, a timeslice per thread (see thread.h for the
 * invariants).
 *
 * Each CPU has its own (struct cpu, kernel/smp.h), all under the kernel
 * lock; a thread waits on its CPU's (thread_cpu()), and is current on at
 * most one CPU (docs/smp.md). A thread made runnable for another CPU is
 * queued there and that CPU gets an IPI.
 *
 * Finding the highest ready priority: bit p of ready_words[p / 64] is
 * set iff queue p is non-empty, and bit w of ready_summary iff
 * ready_words[w] is non-zero. Two searches for the highest set bit give
 * the answer (ready.h): one instruction each on x86-64 (lzcnt/bsr); on
 * RV64 without Zbb a table look-up for the summary's 4 bits and a de
 * Bruijn multiply for the word, about 30 in all, where clang 14's count of
 * leading zeros was about 34 each (67 a search).
 * The answer is kept in ready_top, exact at all times:
 * an enqueue can only raise it, and it is recomputed only when the queue
 * at the top empties. The IPC fast path and choose() read it with one
 * load.
 */
#include "ipc.h"
#include "kernel.h"
#include "log.h"
#include "ready.h"
#include "smp.h"
#include "thread.h"
#include "timer.h"

static volatile uint64_t ticks; /* at BK_TICK_HZ (100): 5.8 billion years to a wrap */

/* ready.h's highest_set_bit() without a count-zeros instruction: the
 * index of the bit that a single bit times READY_DEBRUIJN puts in the top
 * six bits (the constant's 64 six-bit windows are all different). Made by
 * for i in 0..63: table[((1 << i) * READY_DEBRUIJN mod 2^64) >> 58] = i. */
const uint8_t ready_debruijn_index[64] = {
    0,  1,  48, 2,  57, 49, 28, 3,  61, 58, 50, 42, 38, 29, 17, 4,  62, 55, 59, 36, 53, 51,
    43, 22, 45, 39, 33, 30, 24, 18, 12, 5,  63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21,
    44, 32, 23, 11, 46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,  13, 8,  7,  6,
};

/* ready.h's highest_summary_word() without a count-zeros instruction:
 * the highest set bit of each 4-bit summary (0 has none: never read). */
const uint8_t ready_summary_top[16] = { 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3 };

/* ready.h's: another CPU hears of a thread queued there by IPI. */
void sched_ready_notify(const struct cpu *c)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the queue, then the IPI */
    arch_cpu_send_ipi(c->index);
}

/* The CPU other than this one whose current thread `t` is, or -1: with
 * several CPUs online, only the one it last went to user mode on can be
 * (thread.h, last_cpu). */
static int current_elsewhere(const struct thread *t)
{
    unsigned i = t->last_cpu;
    if (cpus[i].current != t || i == cpu_here()->index)
        return -1;
    return (int)i;
}

bool sched_is_current_somewhere(const struct thread *t)
{
    return t == current_thread || (smp_others_online && current_elsewhere(t) >= 0);
}

/* The current thread of another CPU, `cpu`, changed: that CPU's choose()
 * must look at it again, and hears of it by IPI. Out of line, as all the
 * work for other CPUs: the paths of one CPU test smp_others_online once
 * and pay nothing more. */
static __attribute__((noinline)) void current_changed_elsewhere(unsigned cpu)
{
    cpus[cpu].slice_expired = true;
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the change, then the IPI */
    arch_cpu_send_ipi(cpu);
}

/* With several CPUs: if `t` is another CPU's current thread, tells that
 * CPU it changed and says so. */
static __attribute__((noinline)) bool changed_elsewhere(const struct thread *t)
{
    int cpu = current_elsewhere(t);
    if (cpu < 0)
        return false;
    current_changed_elsewhere((unsigned)cpu);
    return true;
}

/* Puts `t` on a ready queue if it can run there. */
static inline __attribute__((always_inline)) void make_ready(struct thread *t)
{
    if (!on_ready_queue(t) && sched_is_schedulable(t))
        ready_enqueue(t);
}

/* sched_make_runnable() with several CPUs: `t` may be another CPU's
 * current thread (idle, waiting for this). Out of line, and a tail call:
 * one CPU's path makes no call and saves no register for it. */
static __attribute__((noinline)) void make_runnable_smp(struct thread *t)
{
    if (!changed_elsewhere(t))
        make_ready(t);
}

void sched_make_runnable(struct thread *t)
{
    t->state = THREAD_RUNNABLE;
    t->blocked_on = NULL;
    if (t == current_thread)
        return;
    if (smp_others_online)
        make_runnable_smp(t);
    else
        make_ready(t);
}

void ready_enqueue_after_woken(struct thread *t)
{
    ready_queue_woken(cpu_here(), t);
    ready_enqueue_now(t);
}

/* Puts `t` on its CPU's ready queue or takes it off, as its state says;
 * `current`: it is some CPU's current thread (which is on no queue). */
static inline __attribute__((always_inline)) void requeue(struct thread *t, bool current)
{
    bool queued = on_ready_queue(t);
    bool belongs = t->state == THREAD_RUNNABLE && !current && sched_is_schedulable(t);
    /* On the wrong CPU's queue (its SchedContext moved): off, then on.
     * (A thread that belongs has a SchedContext.) */
    if (queued && (!belongs || t->ready_on != &cpus[t->sc->cpu])) {
        ready_dequeue(t);
        queued = false;
    }
    /* The woken thread stays thread_resume_current()'s (a passive server
     * given its caller's SchedContext after the wake) while it runs here. */
    if (!queued && belongs && !(t == cpu_here()->woken && thread_cpu(t) == cpu_here()->index))
        ready_enqueue(t);
}

/* sched_reconsider() with several CPUs, for a thread not current here
 * (out of line, as make_runnable_smp()). */
static __attribute__((noinline)) void reconsider_smp(struct thread *t)
{
    requeue(t, changed_elsewhere(t));
}

void sched_reconsider(struct thread *t)
{
    if (t == current_thread) {
        cpu_here()->slice_expired = true; /* choose() must look at it again */
        requeue(t, true);
    } else if (smp_others_online) {
        reconsider_smp(t);
    } else {
        requeue(t, false);
    }
}

void sched_set_priority(struct thread *t, uint8_t priority)
{
    if (t->state == THREAD_BLOCKED_SEND) {
        endpoint_requeue_sender(t, priority); /* send queues are in priority order */
        return;
    }
    bool queued = on_ready_queue(t);
    if (queued)
        ready_dequeue(t);
    t->priority = priority;
    if (queued)
        ready_enqueue(t);
}

/* ---- Budgets ------------------------------------------------------------
 *
 * The CPU's time is charged to one SchedContext at a time, charged_sc
 * (the current thread's, NULL while idle), from charged_since on, in the
 * counts of arch_counter() (ns only at the ABI: Configure, Consumed). Each
 * switch to a thread on another SchedContext, each timer interrupt and
 * each method that reads or changes the current one charges what was
 * used. A partial SchedContext (budget < period) whose head refill is
 * used up is throttled: it waits on the release queue, sorted by the
 * instant its next refill is due, and its thread leaves the ready queue
 * until then. The queue's length is bounded by the SchedContexts that
 * SchedControl configured: the scheduler server's to bound.
 */
/* One release queue for all CPUs, under the kernel lock; its due times
 * are the boot CPU's timer requests (timer.c). */
static struct sched_context *release_head;

uint64_t sched_now(void)
{
    return arch_counter();
}

/* Timer requests are in the clock's ns; the scheduler's times are counts.
 * A due time converts exactly: reading the clock again and adding what
 * was left at some earlier `now` would move every deadline later by the
 * time between the two reads (hundreds of instructions on a wake-up). */
static uint64_t time_ns_at(uint64_t when)
{
    return arch_counter_time_ns(when);
}

static void release_insert(struct sched_context *sc)
{
    uint64_t due = refill_next_due(&sc->refills);
    struct sched_context **link = &release_head;
    while (*link && refill_next_due(&(*link)->refills) <= due)
        link = &(*link)->release_next;
    sc->release_next = *link;
    *link = sc;
    timer_request(time_ns_at(due));
}

/* Asks for a timer interrupt when `sc`, the SchedContext being charged,
 * runs out of the refill it runs on (a whole-CPU one never does). */
static void arm_budget_end_of(struct sched_context *sc, uint64_t now)
{
    if (sc && !sc->waiting && !sc->whole)
        timer_request(time_ns_at(now + refill_available(&sc->refills, now)));
}

static void arm_budget_end(uint64_t now)
{
    arm_budget_end_of(charged_sc, now);
}

/* `sc` has no budget until its next refill is due. */
static void wait_for_refill(struct sched_context *sc)
{
    sc->waiting = true;
    release_insert(sc);
    if (sc->thread)
        sched_reconsider(sc->thread);
    if (sc == charged_sc)
        cpu_here()->slice_expired = true;
}

/* `sc` ran out of budget. */
static void throttle(struct sched_context *sc)
{
    sc->throttled++;
    wait_for_refill(sc);
}

/* Gives the SchedContexts whose refill is due at `now` their time back;
 * returns whether one of them has a thread. */
static bool release_due(uint64_t now)
{
    bool woke = false;
    while (release_head && refill_next_due(&release_head->refills) <= now) {
        struct sched_context *sc = release_head;
        sc->released_due = refill_next_due(&sc->refills);
        sc->releases++;
        release_head = sc->release_next;
        sc->release_next = NULL;
        sc->waiting = false;
        if (sc->thread) {
            sched_reconsider(sc->thread);
            woke = true;
        }
    }
    return woke;
}

void sched_release_remove(struct sched_context *sc)
{
    struct sched_context **link = &release_head;
    while (*link && *link != sc)
        link = &(*link)->release_next;
    if (*link)
        *link = sc->release_next;
    sc->release_next = NULL;
    sc->waiting = false;
}

/* `used` counts from `start` go into partial SchedContext `sc`'s refills;
 * it is throttled if that leaves it nothing. */
static void charge_refills(struct sched_context *sc, uint64_t start, uint64_t used)
{
    refill_charge(&sc->refills, start, used);
    if (!sc->waiting && refill_available(&sc->refills, start + used) == 0)
        throttle(sc);
}

static void charge_until(uint64_t now)
{
    struct sched_context *sc = charged_sc;
    uint64_t used = now - charged_since;
    charged_since = now;
    if (!sc || used == 0)
        return;
    sc->consumed += used;
    if (!sc->whole)
        charge_refills(sc, now - used, used);
}

/* ---- The deferred charge ----------------------------------------------------
 * A timer interrupt that releases a thread's refill while a partial
 * SchedContext runs (the woken thread of a tenant that reserved its time,
 * beside another's busy one) charged the interrupted one first: its
 * refill list's arithmetic, some 100 instructions that the woken thread
 * waited for, though it outranks the interrupted one and runs next
 * whatever that charge says. So when the interrupt woke a thread and a
 * ready thread outranks the interrupted one, only the consumed time is
 * counted there; the rest of the charge (refill_charge(), and the throttle
 * it may bring) waits in the CPU's `deferred` until something could look
 * at that SchedContext's budget: the next choice that is not the common
 * one (choose(): the interrupted thread could be chosen there), the next
 * timer interrupt, or a method or a deletion of that SchedContext
 * (sched_settle()). It is then charged exactly as it would have been at the
 * interrupt, with the same start and count. Not when the interrupted
 * thread has timeout faults on: a throttle at the interrupt sends its
 * fault before any choice, where IPC may run (maybe_timeout_fault()). */
static __attribute__((noinline)) void settle_deferred(struct cpu *c)
{
    struct sched_context *sc = c->deferred;
    c->deferred = NULL;
    charge_refills(sc, c->deferred_from, c->deferred_used);
}

static inline __attribute__((always_inline)) void settle(struct cpu *c)
{
    if (c->deferred)
        settle_deferred(c);
}

void sched_settle(const struct sched_context *sc)
{
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpus[i].deferred == sc)
            settle_deferred(&cpus[i]);
}

/* At a timer interrupt that woke a thread: whether the charge of `sc`, the
 * interrupted thread's partial SchedContext, may wait (above). */
static bool may_defer(const struct cpu *c, const struct sched_context *sc)
{
    const struct thread *t = c->current;
    return sc && !sc->whole && !sc->waiting && t && t->sc == sc &&
           t->state == THREAD_RUNNABLE && !t->timeout_faults && c->ready_top > (int)t->priority;
}

/* The interrupt's charge up to `now` of the running SchedContext, its
 * refills' part deferred if it may be (above): `woken` says that the
 * interrupt woke a thread and that nothing but the choice of the next
 * thread follows in this entry (thread_resume_after_timer()), so nothing
 * charges the interrupted SchedContext before the deferred part. */
static void charge_at_interrupt(uint64_t now, bool woken)
{
    struct cpu *c = cpu_here();
    struct sched_context *sc = c->charging;
    if (woken && c->woken)
        ready_queue_woken(c, NULL); /* may_defer() reads the queues */
    if (!woken || !may_defer(c, sc)) {
        charge_until(now);
        return;
    }
    uint64_t used = now - c->charged_from;
    c->charged_from = now;
    sc->consumed += used;
    c->deferred = sc;
    c->deferred_from = now - used;
    c->deferred_used = used;
}

void sched_charge_current(void)
{
    uint64_t now = sched_now();
    charge_until(now);
    arm_budget_end(now);
}

/* Another CPU charging `sc` (its thread stopped there, see thread_stop())
 * loses the time since its last charge. */
void sched_forget(struct sched_context *sc)
{
    sched_settle(sc);
    if (sc == charged_sc) {
        charge_until(sched_now());
        charged_sc = NULL;
    }
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpus[i].charging == sc)
            cpus[i].charging = NULL;
    sched_release_remove(sc);
}

/* After a timer interrupt (sched_time_passed() charged up to its reading
 * of the clock): from that reading on, the CPU's time goes to `sc`. Once
 * per entry, as seL4's MCS kernel charges: the interrupt's own work up to
 * here is the next thread's, not a second charge of the interrupted
 * SchedContext (another clock read, refill_charge() and
 * refill_available() on the woken thread's way). No count is charged
 * twice or lost: charged_since stays where the last charge ended. */
static inline __attribute__((always_inline)) void charge_switch_at_entry(struct sched_context *sc)
{
    arch_kernel_cpu_again()->charging = sc;
}

/* The budget end of the SchedContext charged now, after a timer interrupt
 * whose choice changed it or that woke a thread (sched_time_passed() then
 * leaves it to the choice). */
void sched_arm_budget_end(void)
{
    arm_budget_end(charged_since);
}

void charge_switch(struct sched_context *sc)
{
    if (sc == charged_sc)
        return;
    uint64_t now = sched_now();
    charge_until(now);
    /* The CPU's struct read again: kept across charge_until()'s calls, it
     * would cost a saved register on every switch. */
    arch_kernel_cpu_again()->charging = sc;
    arm_budget_end_of(sc, now);
}

/* On a partial SchedContext, Yield also gives up the rest of the refill
 * it runs on: the thread runs again at its next one (periodic threads).
 * Out of line: a whole-CPU Yield pays one test. */
static __attribute__((noinline)) void yield_budget(struct sched_context *sc)
{
    if (sc != charged_sc || sc->waiting)
        return;
    uint64_t now = sched_now();
    charge_until(now);
    if (!sc->waiting) { /* the rest of the refill counts as used: wait for the next */
        refill_charge(&sc->refills, now, refill_available(&sc->refills, now));
        wait_for_refill(sc);
    }
}

void sched_yield_current(void)
{
    cpu_here()->slice_expired = true;
    struct sched_context *sc = current_thread->sc; /* it runs: it has one */
    if (!sc->whole)
        yield_budget(sc);
}

/* A budget held in refills (refill.h) ends at each one; the thread has run
 * out of time only if its next refill is not due almost at once. */
#define TIMEOUT_GAP_DIVISOR 16

/* The current thread ran out of budget on `sc` at this interrupt: with
 * timeout faults on, that is a fault for its handler (only here, before
 * any choice of the next thread, where IPC may safely run). Not if `sc`
 * has its next refill within a sixteenth of its period (or already: the
 * refills due were released first): the thread waits for the next piece
 * of a budget split by interrupts, not for its next period. Stopping it
 * for its handler there delays that piece by the fault's way there and
 * back, the refill rule keeps the delay for good, and the gaps add up: a
 * spinning tenant of the scheduler server lost a tenth of its share
 * (tests/qemu/sched_server.c, RISC-V). */
static void maybe_timeout_fault(struct sched_context *sc, uint64_t now)
{
    struct thread *t = current_thread;
    if (!t || t->sc != sc || t->state != THREAD_RUNNABLE || !t->timeout_faults ||
        !sc->waiting ||
        refill_next_due(&sc->refills) - now < sc->refills.period / TIMEOUT_GAP_DIVISOR)
        return;
    uint64_t words[BK_FAULT_WORDS] = { sc->badge, arch_counter_ns(sc->consumed), sc->budget_ns,
                                       sc->period_ns, arch_regs_pc(&t->regs) };
    (void)fault_send(t, BK_FAULT_TIMEOUT, words);
}

bool sched_time_passed(uint64_t now, bool choice_next)
{
    settle(cpu_here());
    struct sched_context *sc = charged_sc;
    uint64_t throttled = sc ? sc->throttled : 0;
    /* The releases first, so that the charge knows whether one woke a
     * thread: a running SchedContext that is not waiting is on no release
     * queue, and a charge that throttles it never makes its next refill
     * due by `now` (it would then have budget), so for it the order
     * changes nothing else. One that is waiting already (throttled in a
     * long call that went on to its preemption point) is charged first,
     * as always, then perhaps released. */
    bool woke;
    if (sc && sc->waiting) {
        charge_until(now);
        woke = release_due(now);
    } else {
        woke = release_due(now);
        charge_at_interrupt(now, woke && choice_next);
    }
    if (sc && sc->throttled != throttled)
        maybe_timeout_fault(sc, now);
    /* A thread woken may take the CPU: the choice after the interrupt asks
     * for the budget end of whoever runs then (thread_resume_after_timer(),
     * serve_in_kernel() in timer.c). Asked for here, the interrupted one's
     * would cost the woken thread its computation (refill_available(), a
     * conversion to ns) and stay requested after it lost the CPU. */
    if (!woke)
        arm_budget_end(now);
    /* The timer keeps only the earliest request: ask again for the next
     * refill (a request made while an earlier one was pending is gone). */
    if (release_head)
        timer_request(time_ns_at(refill_next_due(&release_head->refills)));
    return woke;
}

uint64_t kernel_ticks(void)
{
    return ticks;
}

/* Also drains a few bytes of buffered kernel messages (log.c): the tick is
 * what guarantees they go out while user threads keep the CPU busy. */
/* The current thread's timeslice, at each tick of its CPU. */
static void slice_tick(void)
{
    struct thread *t = current_thread;
    if (t && t->state == THREAD_RUNNABLE && ++t->slice_used == THREAD_TIMESLICE_TICKS) {
        t->slice_used = 0; /* the next slice starts now, here or at its turn */
        cpu_here()->slice_expired = true;
    }
}

static void tick(void)
{
    ticks++;
    log_drain();
    slice_tick();
}

/* The tick of a CPU other than the boot CPU, kernel lock held: charges
 * what its SchedContext used (a budget is checked there at each tick,
 * not at its end: the budget-end timer is the boot CPU's) and counts the
 * timeslice. */
void sched_cpu_tick(void)
{
    charge_until(sched_now());
    log_drain();
    slice_tick();
}

void kernel_tick(void)
{
    tick();
}

/* The current thread `cur` of `c` is to run on another CPU now (its
 * SchedContext was configured through that CPU's SchedControl): it goes
 * on that CPU's queue, and `c` has no current thread; FPU state it has
 * live here goes home first (arch_fpu_release()). Out of line: rare. */
static __attribute__((noinline)) void leave_moved(struct cpu *c, struct thread *cur)
{
    arch_fpu_release();
    c->current = NULL;
    ready_enqueue(cur);
}

/* Charges the switch to `next`, the thread chosen (choose(), and the woken
 * thread's way in resume_woken()). */
static inline __attribute__((always_inline)) void charge_chosen(struct thread *next,
                                                                 bool after_timer)
{
    if (after_timer) /* constant: inlined, each caller keeps one branch */
        charge_switch_at_entry(next->sc);
    else if (next->sc->whole && charged_sc && charged_sc->whole)
        sched_fast_charge(charged_sc, next->sc); /* no budget to charge or to time */
    else
        charge_switch(next->sc);
}

/* The woken thread (ready.h) runs next, unqueued, when it outranks every
 * queued thread and the current one blocked: what the rest of choose()
 * would pick after queueing it (with a blocked current thread neither the
 * slice nor the current SchedContext matter there). A deferred charge,
 * which may change the queues, takes the long way. */
static inline bool woken_runs_now(const struct cpu *c, const struct thread *w)
{
    const struct thread *cur = c->current;
    return !(cur && cur->state == THREAD_RUNNABLE) && !c->deferred &&
           (int)w->priority > c->ready_top && ready_woken_valid(w) && thread_cpu(w) == c->index;
}

struct sched_woken_counts sched_woken_counts;

/* Chooses the next thread; the previous current one goes back on its
 * queue if it can still run. The first test is the common case of every
 * syscall: nothing changed (no slice end, no change to the current
 * thread's SchedContext: sched_reconsider() sets slice_expired for those)
 * and nothing of higher priority is ready. */
static inline __attribute__((always_inline)) struct thread *choose(bool after_timer)
{
    struct cpu *c = cpu_here();
    struct thread *cur = c->current;
    int best = c->ready_top;
    bool cur_ok = cur && cur->state == THREAD_RUNNABLE;
    if (cur_ok && !c->slice_expired && best <= (int)cur->priority)
        return cur;
    /* The interrupt that deferred a charge chooses a thread above it; any
     * other choice settles it first, which may throttle a ready thread
     * (and so change the queues). */
    if (!after_timer && c->deferred) {
        settle_deferred(c);
        best = c->ready_top;
    }
    cur_ok = cur_ok && sched_is_schedulable(cur);
    if (cur_ok && thread_cpu(cur) != c->index) {
        leave_moved(c, cur);
        cur = NULL;
        cur_ok = false;
    }
    if (cur_ok && best < (int)cur->priority)
        return cur;
    if (best < 0)
        return cur_ok ? cur : NULL;
    if (cur_ok) {
        if (c->slice_expired) /* a Yield's or a change's: its turn ends here */
            cur->slice_used = 0;
        ready_enqueue_now(cur); /* no woken thread is left to go first (ready.h) */
    }
    struct thread *next = c->ready_head[best];
    ready_dequeue_head(c, next, (unsigned)best);
    charge_chosen(next, after_timer);
    return next;
}

/* Runs `next`; it outranks every ready thread. choose() and run() are
 * inlined into both callers: they are the common path of every syscall. */
static inline __attribute__((always_inline)) NORETURN void run(struct thread *next)
{
    struct cpu *c = cpu_here();
    c->slice_expired = false;
    c->current = next;
    arch_user_enter(&next->regs, next->vspace);
}

/* The boot CPU holds the kernel lock except while it waits here: the
 * handlers of the interrupts that end the wait take it themselves
 * (kernel_lock_handler_begin()), and other CPUs may have it meanwhile.
 * (The host tests' kernel, which has no boot, never holds it; alone, the
 * boot CPU keeps it: smp_others_online.) */
static void idle_wait_unlocked(void)
{
    bool held = smp_others_online && kernel_lock_held_here();
    if (held)
        kernel_lock_release();
    arch_idle_wait();
    if (held)
        kernel_lock_acquire();
}

/* Whether this CPU may have something to run: a thread on its queues, or
 * a current thread made runnable. Read without the lock: whoever makes
 * it true does so under the lock, then sends this CPU an IPI (after a
 * fence: ready_enqueue(), current_changed_elsewhere()), which ends the wait that
 * precedes this read. */
static bool may_have_work(const struct cpu *c)
{
    const struct thread *cur = __atomic_load_n(&c->current, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&c->ready_top, __ATOMIC_ACQUIRE) >= 0 ||
           (cur && __atomic_load_n(&cur->state, __ATOMIC_RELAXED) == THREAD_RUNNABLE);
}

/* With several CPUs: waits outside the lock until there may be work here,
 * so that an idle CPU's interrupts (its tick) do not take the lock that
 * the busy CPUs need (a ticket lock hands it on in order, and a waiter
 * whose host thread is descheduled, as under TCG, holds up all behind
 * it). */
static void idle_until_work(void)
{
    struct cpu *c = cpu_here();
    if (c->current && c->current == c->current_gone)
        c->current = NULL; /* sched_forget_destroyed() */
    c->current_gone = NULL;
    kernel_lock_release();
    do
        arch_idle_wait();
    while (!may_have_work(c));
    kernel_lock_acquire();
}

/* Nothing can run: waits for interrupts until something can. Out of line
 * so that the common path above pays nothing for the loop. While idle the
 * CPU's time is charged to nobody. */
static __attribute__((noinline)) NORETURN void idle_until_runnable(void)
{
    charge_switch(NULL);
    for (;;) {
        /* The thread we left is still current_thread. slice_expired stays
         * as it was: if that thread ran out of budget, throttling it said
         * so (sched_reconsider()), and choose() must look at its
         * SchedContext again rather than take it back on the common path.
         * (Clearing it here let a throttled thread run on while the CPU
         * was otherwise idle.) */
        log_drain();
        if (smp_others_online)
            idle_until_work();
        else
            idle_wait_unlocked();
        struct thread *next = choose(false);
        if (next) {
            charge_switch(next->sc); /* choose() returns the old current without */
            run(next);
        }
    }
}

/* A destroyed thread can stay its CPU's current one only where it
 * destroyed itself (elsewhere thread_stop() stopped it first:
 * sched_stop_elsewhere()), and only until that CPU idles, when
 * idle_until_work() forgets it: its memory may be a new thread's later,
 * which must not look like that CPU's current one to a CPU that asks the
 * thread's last_cpu (thread.h), nor be run there. An idle CPU may forget a
 * current thread that waits: it is then made runnable the way any other
 * is (make_ready()). */
void sched_forget_destroyed(const struct thread *t)
{
    if (smp_others_online && t == current_thread)
        cpu_here()->current_gone = t;
}

/* Another CPU has `t` as its current thread (it runs it in user mode,
 * or left it for its idle wait): that CPU stops it before this returns.
 * It is told by IPI and answers (smp_sync_cpus()) as soon as it is in the
 * kernel: in its IPI handler, or waiting for the kernel lock, which we
 * hold, so it answers without it. From there it cannot go back to `t`:
 * it finds no current thread once it has the lock (smp_thread_entry()). */
void sched_stop_elsewhere(struct thread *t)
{
    if (!smp_others_online)
        return;
    int cpu = current_elsewhere(t);
    if (cpu < 0)
        return;
    smp_sync_cpus(1ull << cpu);
    cpus[cpu].current = NULL;
}

/* A kernel entry for the current thread (syscall, fault) on a machine of
 * several CPUs (thread.h). */
void smp_thread_entry_locked(void)
{
    thread_entry_locked();
}

static inline __attribute__((always_inline)) NORETURN void resume_chosen(void)
{
    struct thread *next = choose(false);
    if (next)
        run(next);
    idle_until_runnable();
}

/* The woken thread `w` does not run at once: it is queued (if it still
 * may run) and the choice is made as ever. */
static __attribute__((noinline)) NORETURN void resume_woken_queued(struct thread *w)
{
    if (BULKHEAD_KERNEL_DEBUG)
        sched_woken_counts.queued++;
    if (ready_woken_valid(w))
        ready_enqueue_now(w);
    resume_chosen();
}

/* thread_resume_current() with a woken thread left (ready.h): it runs
 * (charged as choose() charges a switch), or resume_woken_queued(). Out of
 * line, so that the common way saves no register for it, and the rarer
 * way apart, so that this one saves few. */
static __attribute__((noinline)) NORETURN void resume_woken(struct cpu *c)
{
    struct thread *w = c->woken;
    c->woken = NULL;
    if (!woken_runs_now(c, w))
        resume_woken_queued(w);
    if (BULKHEAD_KERNEL_DEBUG)
        sched_woken_counts.direct++;
    charge_chosen(w, false);
    run(w);
}

void thread_resume_nothing_woken(void)
{
    resume_chosen();
}

void thread_resume_current(void)
{
    /* The woken thread first: every other entry into choose() finds none
     * (only syscalls and faults leave one, and they end here; the timer's
     * entry queues it: thread_resume_after_timer()). */
    struct cpu *c = cpu_here();
    if (c->woken)
        resume_woken(c);
    resume_chosen();
}

/* At the end of a timer interrupt from user mode: the timer is set once,
 * for the earliest of the deadlines asked for while it was served and by
 * a switch here (timer_commit()), before the kernel leaves or idles. */
void thread_resume_after_timer(bool woke)
{
    struct sched_context *before = charged_sc;
    if (cpu_here()->woken) /* a timeout fault's handler, woken by the Call it sends */
        ready_queue_woken(cpu_here(), NULL);
    struct thread *next = choose(true);
    if (next && (woke || charged_sc != before))
        sched_arm_budget_end(); /* of whoever runs now, from the interrupt's reading */
    timer_commit();
    if (next)
        run(next);
    idle_until_runnable();
}

void kernel_idle_then_shutdown(unsigned wait_ticks, int status, const char *why)
{
    uint64_t start = ticks;
    while (ticks - start < wait_ticks)
        idle_wait_unlocked();
    kprintf("bulkhead: kernel still running: %llu timer ticks after the last thread stopped\n",
            (unsigned long long)(ticks - start));
    kernel_shutdown(status, why);
}

/* ---- Read-only view for the invariant checker (kernel/debug/invariants.c) ---- */
#include "debug/invariants.h"

void sched_get_view(struct sched_view *view)
{
    const struct cpu *c = cpu_here();
    view->head = c->ready_head;
    view->tail = c->ready_tail;
    view->words = c->ready_words;
    view->summary = c->ready_summary;
    view->top = c->ready_top;
}
