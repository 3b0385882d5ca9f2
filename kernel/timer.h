/*
 * The kernel's timer (timer.c): one deadline in the arch's one-shot timer,
 * serving the periodic tick the scheduler runs on and any earlier
 * interrupt the scheduler asks for. Times are arch_time_ns() values.
 */
#pragma once

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

/* For the self-tests and the debugger: timer interrupts taken so far, and
 * the time at which the last one was taken (its arch_time_ns() reading). */
uint64_t timer_interrupt_count(void);
uint64_t timer_last_interrupt_ns(void);
