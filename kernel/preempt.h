/*
 * Preemption points of the long kernel operations.
 *
 * The kernel runs with interrupts off, and a tenant decides how long some
 * of its calls are (Revoke of many copies, Delete of a large CNode,
 * cancelling many queued threads, a Retype of much memory or of many
 * objects). Each such call already keeps its progress in the objects and
 * restarts (KERR_RESTART: the caller is rewound to its syscall
 * instruction) after a batch of at most a fixed number of steps. A batch
 * also ends early, after any step, once an interrupt is pending
 * (arch_interrupt_pending(): the timer's deadline came or a device line
 * interrupted), as seL4's preemption points do: so the thread that
 * interrupt wakes waits for one step, not for a whole batch.
 *
 * A step is the smallest piece that leaves the objects consistent: a cap
 * deleted, a zombie made, moved or removed, a slot emptied, a thread woken
 * or looked at, an object made, or RETYPE_ZERO_STEP bytes zeroed. Each
 * costs about 100 to 400 instructions (docs/scheduling.md, Kernel
 * latency), the poll a handful: two uncached reads of the local APIC on
 * x86-64, two CSR reads on RISC-V. Polling after every step keeps the
 * wait for the step in progress below a step's cost.
 *
 * With several CPUs a batch also ends early once another CPU waits for the
 * kernel lock (kernel_lock_wanted(), smp.h): the operation restarts, its
 * CPU lets go of the lock on the way out, and the other CPU's wait (a
 * timer interrupt there, or a syscall) is a step too, not a batch of 64
 * KiB zeroed or 64 caps deleted (docs/smp.md, "CPU isolation with the
 * tenants on two CPUs").
 *
 * The poll comes only after a step is done, never before the first one of
 * a kernel entry, so every entry makes progress: an interrupt that stays
 * pending (or one that comes again as soon as it is taken) slows a long
 * call down to a step per entry but cannot stop it. The fixed batch
 * limits stay, as the bound of an entry when no interrupt comes.
 *
 * A preempted call takes the pending interrupts before it leaves the
 * kernel (invoke.c): the thread they wake runs next, without the way out
 * to the caller's user mode and the trap back in; the timer's is served
 * as one from user mode (kernel_timer_at_preemption()).
 */
#pragma once

#include "arch.h"
#include "smp.h"
#include "timer.h"

/* A batch also ends once the timer's next deadline is this close
 * (timer_deadline_near()), and the call then waits for it with interrupts
 * off (timer_wait_if_near(), invoke.c): the thread the deadline wakes
 * would otherwise wait for the step in progress and the way out of the
 * call. The deadline is known ahead, a device's interrupt is not: for it,
 * the step stays the wait. Longer than a step and that way out (some 250
 * and 100 instructions under QEMU), and short beside what a timer event
 * costs the interrupted caller anyway; the wait is charged to the caller
 * (docs/scheduling.md, Kernel latency). */
#define PREEMPT_LOOKAHEAD_NS 500

/* Whether a long call should stop after the step it just did: an
 * interrupt is pending, the timer's deadline is near, or another CPU
 * waits for the kernel lock. */
static inline bool preemption_due(void)
{
    return arch_interrupt_pending() || timer_deadline_near() || kernel_lock_wanted();
}

/* Ends the batch whose steps left are *budget (sets it to 0) if
 * preemption_due(). Call it only once a step is done. */
static inline void batch_preempt(unsigned *budget)
{
    if (*budget > 0 && preemption_due())
        *budget = 0;
}

/* A step of the batch is done: it counts, and the batch ends early if an
 * interrupt is pending. */
static inline void batch_step(unsigned *budget)
{
    (*budget)--;
    batch_preempt(budget);
}
