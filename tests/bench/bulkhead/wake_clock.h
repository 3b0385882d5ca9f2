/*
 * How late a periodic thread's wake-up came: the counter the kernel's
 * clock counts, read in user mode with no kernel call (x86-64's TSC,
 * RISC-V's time CSR), against the instant its SchedContext's refill came
 * due in that counter (SchedContext: Released), in ns. The CPU-isolation
 * scenarios' measure: cpu.c on one CPU under -icount, smp_isolation.c on
 * two CPUs without it.
 */
#pragma once

#include <bulkhead/sys.h>

static inline uint64_t clock_counter(void)
{
#if defined(__x86_64__)
    return bk_counter(); /* rdtsc */
#else
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
#endif
}

/* ns per 1,024 counts, calibrated against Debug: Time. */
struct wake_clock {
    uint64_t ns_per_1024_counts;
};

/* Over 1 ms of the kernel's clock: RISC-V's time CSR counts in 100 ns. */
static inline void wake_clock_calibrate(struct wake_clock *c)
{
    uint64_t t0 = debug_time_ns(), c0 = clock_counter(), t1;
    while ((t1 = debug_time_ns()) - t0 < 1000000)
        ;
    uint64_t counts = clock_counter() - c0;
    c->ns_per_1024_counts = counts ? ((t1 - t0) * 1024 + counts / 2) / counts : 1024;
}

static inline uint64_t wake_clock_ns(const struct wake_clock *c, uint64_t counts)
{
    return counts * c->ns_per_1024_counts / 1024;
}

/* A periodic thread on SchedContext `sc` and its last wake-up. */
struct wake_record {
    uint64_t sc, period_ns;
    uint64_t last_due, last_releases;
};

/* How late the wake-up at `now` (clock_counter()) came, in ns: against the
 * due instant of the refill that woke it; a wake-up that was no release
 * (a refill due already: true is returned in *not_released) against the
 * last due instant plus a period. */
static inline uint64_t wake_lateness(const struct wake_clock *c, struct wake_record *w,
                                     uint64_t now, bool *not_released)
{
    uint64_t due_ns = 0, releases = 0, due = 0;
    sys_sched_context_released(w->sc, &due_ns, &releases, &due);
    *not_released = releases == w->last_releases;
    if (*not_released)
        due = w->last_due + w->period_ns * 1024 / c->ns_per_1024_counts;
    w->last_due = due;
    w->last_releases = releases;
    return now > due ? wake_clock_ns(c, now - due) : 0;
}
