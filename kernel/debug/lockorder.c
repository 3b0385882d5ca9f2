/*
 * The lock-order check (lockorder.h). The held list is per CPU and only
 * its own CPU touches it, with interrupts off (every kernel lock is taken
 * with them off), so it needs no lock of its own.
 */
#include "debug/lockorder.h"

#include "arch.h"
#include "kernel.h"
#include "smp.h"

#if BULKHEAD_KERNEL_DEBUG

struct held_locks {
    const struct lock_class *held[LOCKORDER_MAX_HELD];
    unsigned count;
};

static struct held_locks held_by_cpu[KERNEL_MAX_CPUS];

void lockorder_acquire(const struct lock_class *l)
{
    unsigned cpu = arch_cpu_index();
    struct held_locks *h = &held_by_cpu[cpu];
    for (unsigned i = 0; i < h->count; i++) {
        const struct lock_class *o = h->held[i];
        if (o == l)
            panic("lock order: cpu %u takes '%s' (rank %u) again while it holds it", cpu,
                  l->name, l->rank);
        if (o->rank >= l->rank)
            panic("lock order: cpu %u takes '%s' (rank %u) while it holds '%s' (rank %u): "
                  "locks are taken in rising rank only",
                  cpu, l->name, l->rank, o->name, o->rank);
    }
    if (h->count == LOCKORDER_MAX_HELD)
        panic("lock order: cpu %u takes '%s' while it holds %u locks already", cpu, l->name,
              h->count);
    h->held[h->count++] = l;
}

void lockorder_release(const struct lock_class *l)
{
    unsigned cpu = arch_cpu_index();
    struct held_locks *h = &held_by_cpu[cpu];
    if (h->count == 0 || h->held[h->count - 1] != l)
        panic("lock order: cpu %u lets go of '%s', which is not the last lock it took (%s)", cpu,
              l->name, h->count ? h->held[h->count - 1]->name : "it holds none");
    h->count--;
}

#endif
