/*
 * The boot-time half of kernel/lib/clock.h: choosing each scale's shift and
 * computing its multiplier, ceil(to_hz * 2^shift / from_hz), with a long
 * division done bit by bit (freestanding: no 128-bit division routine).
 */
#include "lib/clock.h"

#include "kernel.h"

typedef unsigned __int128 u128;

/* floor(n / d) for a quotient known to fit 64 bits ((n >> 64) < d), and
 * the remainder: restoring division, one quotient bit per step. */
static BOOT_CODE uint64_t divide_128(u128 n, uint64_t d, uint64_t *remainder)
{
    u128 r = 0;
    uint64_t q = 0;
    for (int bit = 127; bit >= 0; bit--) {
        r = (r << 1) | (uint64_t)((n >> bit) & 1);
        if (r >= d) {
            r -= d;
            if (bit < 64)
                q |= 1ull << bit;
        }
    }
    *remainder = (uint64_t)r;
    return q;
}

/* The largest shift for which ceil(to_hz * 2^shift / from_hz) fits 64
 * bits, and that multiplier. Largest means at least 2^63 (unless the
 * shift is capped at 127), which is what makes the error bound in
 * clock.h hold. */
static BOOT_CODE struct clock_scale scale_between(uint64_t from_hz, uint64_t to_hz)
{
    for (unsigned shift = 127;; shift--) {
        u128 n = (u128)to_hz << shift;
        if ((n >> shift) != to_hz || (uint64_t)(n >> 64) >= from_hz)
            continue; /* the numerator or the quotient is too wide */
        uint64_t remainder, q = divide_128(n, from_hz, &remainder);
        if (remainder && q == UINT64_MAX)
            continue; /* rounding up would not fit */
        return (struct clock_scale){ .mult = q + (remainder != 0), .shift = shift };
    }
}

BOOT_CODE void clock_rate_init(struct clock_rate *rate, uint64_t hz)
{
    const uint64_t ns_per_s = 1000000000ull;
    rate->hz = hz;
    rate->to_ns = scale_between(hz, ns_per_s);
    rate->from_ns = scale_between(ns_per_s, hz);
}
