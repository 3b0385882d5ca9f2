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
 * The poll comes only after a step is done, never before the first one of
 * a kernel entry, so every entry makes progress: an interrupt that stays
 * pending (or one that comes again as soon as it is taken) slows a long
 * call down to a step per entry but cannot stop it. The fixed batch
 * limits stay, as the bound of an entry when no interrupt comes.
 *
 * A preempted call takes the pending interrupts before it leaves the
 * kernel (invoke.c): the thread they wake runs next, without the way out
 * to the caller's user mode and the trap back in.
 */
#pragma once

#include "arch.h"

/* Ends the batch whose steps left are *budget (sets it to 0) if an
 * interrupt is pending. Call it only once a step is done. */
static inline void batch_preempt(unsigned *budget)
{
    if (*budget > 0 && arch_interrupt_pending())
        *budget = 0;
}

/* A step of the batch is done: it counts, and the batch ends early if an
 * interrupt is pending. */
static inline void batch_step(unsigned *budget)
{
    (*budget)--;
    batch_preempt(budget);
}
