/*
 * A hardware counter that runs at a fixed rate (the x86 TSC, the RISC-V
 * time CSR) read as nanoseconds, and a time in nanoseconds turned back into
 * the counter value at which a timer should fire. Both directions are a
 * multiply and a shift, value * mult >> shift with the product in 128 bits:
 * no division on the paths that read the clock (every kernel entry, later)
 * or program the timer. The division happens once, at boot, in
 * clock_rate_init().
 *
 * Precision. The multipliers are rounded up and as large as 64 bits allow
 * (2^63 <= mult < 2^64), so for a count c at `hz`, with exact = c * 10^9 /
 * hz, clock_rate_ns() returns floor(exact) or floor(exact) + 1: never
 * behind the exact value, at most 1 ns ahead, for the first 2^63 ns (292
 * years) of uptime at any rate; beyond that it saturates at UINT64_MAX
 * rather than wrap. It is monotonic in c (the multiply is). The 128-bit
 * product cannot overflow: both factors are below 2^64.
 * tests/host/test_clock.c checks all of this against exact arithmetic.
 */
#pragma once

#include <stdint.h>

/* value * mult >> shift: a ratio of two rates. */
struct clock_scale {
    uint64_t mult;
    unsigned shift;
};

/* A counter at `hz` counts per second, in both directions. */
struct clock_rate {
    uint64_t hz;
    struct clock_scale to_ns;   /* counts -> ns */
    struct clock_scale from_ns; /* ns -> counts */
};

/* Sets `rate` for a counter at `hz` (1 Hz .. 2^63 Hz). Boot only: it does
 * two long divisions, bit by bit (the kernel has no 128-bit division). */
void clock_rate_init(struct clock_rate *rate, uint64_t hz);

/* value * s->mult >> s->shift, UINT64_MAX if that does not fit 64 bits. */
static inline uint64_t clock_scale_apply(const struct clock_scale *s, uint64_t value)
{
    unsigned __int128 product = (unsigned __int128)value * s->mult;
    product >>= s->shift;
    return (product >> 64) ? UINT64_MAX : (uint64_t)product;
}

/* Nanoseconds in `count` counts (see the top of this file). */
static inline uint64_t clock_rate_ns(const struct clock_rate *rate, uint64_t count)
{
    return clock_scale_apply(&rate->to_ns, count);
}

/* The count at which clock_rate_ns() first reads `ns` or more, or one count
 * later (so a timer set to fire at that count never fires before `ns`).
 * UINT64_MAX if no 64-bit count gets there. The estimate from from_ns is
 * never above the exact ceiling's predecessor, so one check and one step
 * reach the ceiling. */
static inline uint64_t clock_rate_count_at(const struct clock_rate *rate, uint64_t ns)
{
    uint64_t count = clock_scale_apply(&rate->from_ns, ns);
    if (count != UINT64_MAX && clock_rate_ns(rate, count) < ns)
        count++;
    return count;
}
