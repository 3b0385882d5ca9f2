/*
 * The lock-order check (debug kernels; docs/smp.md, "Lock order"). Every
 * kernel lock has a class: a name and a rank. A CPU takes locks in rising
 * rank only, and never one it already holds; either mistake would one day
 * deadlock (two CPUs each waiting for the lock the other holds, or one
 * CPU waiting for itself), so the check panics at once, naming both
 * locks, before the CPU starts to wait. Each CPU keeps the classes it
 * holds, innermost last; a release must be of the innermost.
 *
 * Release kernels (BULKHEAD_KERNEL_DEBUG 0) compile the calls to nothing.
 *
 * Ranks: the kernel lock is LOCK_RANK_KERNEL. A lock taken inside it gets
 * a higher rank; one taken before it (none today) a lower one.
 */
#pragma once

#include <stdbool.h>

#include "kernel.h" /* BULKHEAD_KERNEL_DEBUG */

struct lock_class {
    const char *name;
    unsigned rank;
};

#define LOCK_RANK_KERNEL 10u
/* How many locks one CPU may hold at once before the check gives up. */
#define LOCKORDER_MAX_HELD 4u

#if BULKHEAD_KERNEL_DEBUG
/* Before waiting for a lock of class `l`: panics if this CPU holds it or
 * a lock of the same or a higher rank, else records it as held. */
void lockorder_acquire(const struct lock_class *l);
/* After letting go of it: panics unless it is this CPU's innermost lock. */
void lockorder_release(const struct lock_class *l);
#else
static inline void lockorder_acquire(const struct lock_class *l)
{
    (void)l;
}
static inline void lockorder_release(const struct lock_class *l)
{
    (void)l;
}
#endif
