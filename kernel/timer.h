/*
 * The kernel's timer (timer.c): one deadline in the arch's one-shot timer,
 * serving the periodic tick the scheduler runs on and any earlier
 * interrupt the scheduler asks for. Times are arch_time_ns() values.
 */
#pragma once

#include "arch.h"
#include "types.h"

#include <bulkhead/abi.h>

/* Nanoseconds between ticks: BK_TICK_HZ ticks a second. */
#define TIMER_TICK_NS (1000000000ull / BK_TICK_HZ)

/* Starts the tick: the first one TIMER_TICK_NS from now, then every
 * TIMER_TICK_NS on that grid. Before this, the timer serves requests only
 * (the boot self-tests use that). */
void timer_start(void);

/* Asks for a timer interrupt at or after `deadline_ns` and as soon as
 * possible after it: the timer is programmed for the earliest of the
 * requests not yet served and the next tick. A request is forgotten once
 * an interrupt at or after its time has come; a later request does not
 * cancel an earlier one (that interrupt then finds nothing due). */
void timer_request(uint64_t deadline_ns);

/* Ends a timer interrupt's handling: sets the arch's deadline, once, for
 * the earliest of the requests made since the interrupt came (they were
 * only noted meanwhile) and the next tick. The interrupt's handler calls
 * it before it returns or leaves the kernel. */
void timer_commit(void);

/* The counter reading from which the timer's deadline is near (below), or
 * 0 once the deadline moved and it must be computed again (timer.c). */
extern uint64_t timer_near_from;
bool timer_deadline_near_slow(void);

/* Whether the timer's next deadline is PREEMPT_LOOKAHEAD_NS away or less
 * (preempt.h): a long call then ends its batch before the deadline rather
 * than a step after it. Only the boot CPU's deadline (timer.c's) is looked
 * at; another CPU answers false. Every poll of a long call asks: a counter
 * read and a compare, and the rest out of line (the threshold computed
 * once per deadline). */
static inline bool timer_deadline_near(void)
{
    return arch_counter() >= timer_near_from && timer_deadline_near_slow();
}

/* After a batch ended for a deadline near: waits, with interrupts off,
 * until an interrupt is pending, for at most twice PREEMPT_LOOKAHEAD_NS
 * (the deadline may have moved meanwhile). Returns at once otherwise. */
void timer_wait_if_near(void);

/* A long call stopped at a preemption point (invoke.c) and its timer's
 * interrupt was pending (arch_take_pending_interrupts_but_timer()
 * consumed it): served as one from user mode is, from the reading that
 * charges the caller to the choice of who runs and one setting of the
 * timer, since the caller's registers already wait at its syscall as an
 * interrupted thread's do. On the boot CPU it leaves the kernel; on
 * another, whose timer smp.c serves, it returns. */
void kernel_timer_at_preemption(void);

/* For the self-tests and the debugger: timer interrupts taken so far, and
 * the time at which the last one was taken (its arch_time_ns() reading). */
uint64_t timer_interrupt_count(void);
uint64_t timer_last_interrupt_ns(void);
