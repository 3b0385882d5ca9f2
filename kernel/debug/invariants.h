/*
 * The kernel's invariant checker: a debugging aid that walks the state a
 * thread can reach and reports every broken invariant it finds. It backs
 * Debug: CheckInvariants (debug.c; kernels built with BULKHEAD_KERNEL_DEBUG
 * only), which the robustness test (tests/fuzz) calls between random
 * syscalls.
 *
 * It reads and never writes, allocates nothing, does not recurse, and
 * every walk has a fixed bound, so it is safe at any syscall boundary even
 * on corrupted state (a cyclic list ends at the bound and is reported).
 */
#pragma once

#include "thread.h"
#include "types.h"

/* What one check found and how much it looked at. */
struct invariant_report {
    uint64_t violations; /* broken invariants found */
    uint64_t cnodes;     /* CNodes walked */
    uint64_t slots;      /* slots examined */
    uint64_t threads;    /* threads examined */
    bool truncated;      /* a bound was reached: some state was not examined */
};

/* A read-only view of the scheduler's ready queues (sched.c fills it). */
struct sched_view {
    struct thread *const *head;  /* [THREAD_PRIORITIES] first ready thread */
    struct thread *const *tail;  /* [THREAD_PRIORITIES] last ready thread */
    const uint64_t *words;       /* [THREAD_PRIORITIES / 64] non-empty queue bits */
    uint64_t summary;            /* bit w: words[w] != 0 */
    int top;                     /* highest priority with a ready thread, or -1 */
};

void sched_get_view(struct sched_view *view);

/* Checks the ready queues and bitmap, the current thread, and everything
 * reachable from `t`'s CSpace root (bounded): every slot of every CNode
 * found (derivation-tree links, cap fields, object reference counts), and
 * the threads, endpoints and notifications those caps name (wait queues
 * against thread states, Call and bound-notification pairings). Prints the
 * first few violations and returns how many it found (also in *report). */
uint64_t invariants_check(struct thread *t, struct invariant_report *report);
