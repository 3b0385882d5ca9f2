/*
 * The timer: the kernel's one user of the arch's one-shot deadline
 * (arch_timer_set_deadline), which it keeps set to the earliest of
 *  - the next tick: the scheduler still counts time in ticks (sched.c:
 *    timeslices, kernel_ticks(), the log's rate limit), so the periodic
 *    tick is emulated here, BK_TICK_HZ a second on a fixed grid from
 *    timer_start(): tick n is due at start + n * TIMER_TICK_NS. A tick
 *    taken late is not made up for: the ticks missed are skipped, and the
 *    next one is the next point of the grid, so the tick never drifts;
 *  - the earliest request (timer_request) whose time has not passed:
 *    budget expiry, refills and timeslice ends of the scheduling contexts
 *    to come, in nanoseconds, without touching the arch.
 *
 * Invariants:
 *  - `programmed` is what the arch holds: min(tick_next, requested), or
 *    UINT64_MAX for nothing, except inside expire() and while `deferring`;
 *  - tick_next is later than the last interrupt's time and on the grid
 *    (UINT64_MAX before timer_start());
 *  - requested is UINT64_MAX or later than the last interrupt's time.
 *
 * Every timer interrupt arrives here (kernel_timer_interrupt*) and sets the
 * deadline again, since the arch's last one is used up (on RISC-V the
 * interrupt stays pending until the deadline moves).
 */
#include "timer.h"

#include "arch.h"
#include "kernel.h"
#include "preempt.h"
#include "smp.h"
#include "thread.h"

#include <bulkhead/abi.h>

/* See serve_due(). */
#define TIMER_COALESCE_NS 500
#define TIMER_COALESCE_MAX 3

static uint64_t tick_next = UINT64_MAX;
static uint64_t requested = UINT64_MAX;
static uint64_t programmed = UINT64_MAX;
static uint64_t interrupts, last_interrupt_ns;
/* Inside a timer interrupt, from expire() to timer_commit(): requests are
 * only noted, and the arch is set once, for the earliest, at the end. A
 * wake-up beside a budget-limited thread asks for three deadlines (that
 * thread's budget end, the next refill, the woken thread's budget end),
 * and setting each as it came cost an SBI call each on RISC-V without
 * Sstc and a clock read and scaling each on x86-64's one-shot APIC. */
static bool deferring;
/* The counter reading PREEMPT_LOOKAHEAD_NS before `programmed`, or 0 when
 * programmed moved since it was computed (timer_deadline_near_slow()). */
uint64_t timer_near_from;

static uint64_t earliest(void)
{
    return tick_next < requested ? tick_next : requested;
}

void timer_start(void)
{
    tick_next = arch_time_ns() + TIMER_TICK_NS;
    programmed = earliest();
    timer_near_from = 0;
    arch_timer_set_deadline(programmed);
}

/* The requests here are the boot CPU's; another CPU's go to its own timer
 * (smp_timer_request(), docs/smp.md): whichever CPU asked serves them, a
 * budget end on the CPU that runs it, to the instant. */
void timer_request(uint64_t deadline_ns)
{
    if (smp_others_online && cpu_here() != &cpus[0]) {
        smp_timer_request(deadline_ns);
        return;
    }
    if (deadline_ns >= requested)
        return;
    requested = deadline_ns;
    if (deferring)
        return;
    if (requested < programmed) {
        programmed = requested;
        timer_near_from = 0;
        arch_timer_set_deadline(programmed);
    }
}

uint64_t timer_interrupt_count(void)
{
    return interrupts;
}

uint64_t timer_last_interrupt_ns(void)
{
    return last_interrupt_ns;
}

/* The next point of the tick grid after `now` (tick_next <= now). */
static uint64_t next_tick_after(uint64_t now)
{
    uint64_t missed = (now - tick_next) / TIMER_TICK_NS; /* a constant: a multiply */
    return tick_next + (missed + 1) * TIMER_TICK_NS;
}

/* Serves what is due at the interrupt; the next deadline is set by
 * timer_commit(). Returns whether a tick is due. */
static bool expire(uint64_t now)
{
    deferring = true;
    interrupts++;
    last_interrupt_ns = now;
    if (requested <= now)
        requested = UINT64_MAX;
    bool tick = tick_next <= now;
    if (tick)
        tick_next = next_tick_after(now);
    return tick;
}

/* The arch's deadline was used up by the interrupt (on RISC-V it stays
 * pending until it moves): always set again, even to the same value. */
void timer_commit(void)
{
    deferring = false;
    programmed = earliest();
    timer_near_from = 0;
    arch_timer_set_deadline(programmed);
}

/* Serves what is due now and, if that woke no thread, what comes due
 * within TIMER_COALESCE_NS after it, waiting for it with interrupts off,
 * up to TIMER_COALESCE_MAX times: a budget's end and another thread's
 * refill a few hundred ns apart otherwise cost two interrupts, and the
 * thread the second one wakes waits for the first one's whole way out
 * (a switch to some other thread included) and back in: on RISC-V some
 * 1,000 instructions, and the timer there counts in 100 ns steps, so
 * such pairs are common. The wait is shorter than that way out and in. A
 * thread woken is not kept waiting for the next event; the cap keeps a
 * tenant's staggered budgets from holding interrupts off for long. Due
 * times stay exact: nothing is served early. Returns whether a tick was
 * due; *woke says whether a thread was woken (the last round). The clock
 * is read once a round, for the timer and for charging. */
static bool serve_due(bool *woke, bool choice_next)
{
    bool tick = false;
    for (unsigned served = 0;; served++) {
        uint64_t count = arch_counter();
        tick |= expire(arch_counter_time_ns(count));
        *woke = sched_time_passed(count, choice_next);
        uint64_t next = earliest(); /* what timer_commit() will set */
        if (*woke || served + 1 == TIMER_COALESCE_MAX || next == UINT64_MAX)
            return tick;
        uint64_t now = arch_time_ns();
        if (next > now + TIMER_COALESCE_NS)
            return tick;
        while (arch_time_ns() < next)
            arch_spin_pause();
    }
}

/* An interrupt in kernel mode (idle, or a long call at a preemption
 * point): the interrupted SchedContext goes on (a switch comes later,
 * through the scheduler), so its budget end is asked for if
 * sched_time_passed() left it to a choice. */
static void serve_in_kernel(void)
{
    bool woke;
    if (serve_due(&woke, false))
        kernel_tick();
    if (woke)
        sched_arm_budget_end();
    timer_commit();
}

/* Inside an idle wait the kernel lock is not held: take it. A CPU other
 * than the boot CPU has its own tick (smp.c); this file's deadlines are
 * the boot CPU's. */
void kernel_timer_interrupt(void)
{
    if (cpu_here() != &cpus[0]) {
        smp_cpu_tick();
        return;
    }
    if (!smp_others_online) { /* alone: the lock is ours all along */
        serve_in_kernel();
        return;
    }
    bool took = kernel_lock_handler_begin();
    serve_in_kernel();
    kernel_lock_handler_done(took);
}

/* The counter reading at which arch_time_ns() reads `ns`, rounded up. */
static uint64_t counter_at(uint64_t ns)
{
    uint64_t now = arch_counter(), now_ns = arch_counter_time_ns(now);
    return ns <= now_ns ? now : now + arch_ns_counts(ns - now_ns);
}

bool timer_deadline_near_slow(void)
{
    if (smp_others_online && cpu_here() != &cpus[0])
        return false;
    if (timer_near_from == 0)
        timer_near_from = programmed == UINT64_MAX ? UINT64_MAX
                          : counter_at(programmed > PREEMPT_LOOKAHEAD_NS
                                           ? programmed - PREEMPT_LOOKAHEAD_NS : 0);
    return arch_counter() >= timer_near_from;
}

void timer_wait_if_near(void)
{
    if (!timer_deadline_near())
        return;
    uint64_t give_up = timer_near_from + 2 * arch_ns_counts(PREEMPT_LOOKAHEAD_NS);
    while (!arch_interrupt_pending() && arch_counter() < give_up)
        arch_spin_pause();
}

/* Taken through the kernel-mode handler instead (serve_in_kernel()),
 * the interrupt charged the caller and set the timer, and the way out
 * charged and set it again for whoever was chosen: on RISC-V some 600
 * instructions more between the preemption point and the woken thread
 * (docs/scheduling.md, Kernel latency). The kernel lock is held: the
 * stopped call's entry took it. */
void kernel_timer_at_preemption(void)
{
    if (cpu_here() != &cpus[0]) {
        smp_cpu_tick();
        return;
    }
    bool woke;
    if (serve_due(&woke, true))
        kernel_tick();
    thread_resume_after_timer(woke); /* and timer_commit() */
}

/* From user mode with several CPUs: another CPU's tick is smp.c's; the
 * boot CPU takes the lock. Out of line: one CPU tests smp_others_online
 * and nothing more (no user thread runs on another CPU before it is set). */
static __attribute__((noinline)) void timer_entry_smp(void)
{
    if (cpu_here() != &cpus[0])
        smp_cpu_tick_from_user();
    kernel_lock_acquire();
}

void kernel_timer_interrupt_from_user(void)
{
    if (smp_others_online)
        timer_entry_smp();
    bool woke;
    if (serve_due(&woke, true))
        kernel_tick();
    thread_resume_after_timer(woke); /* and timer_commit() */
}
