/*
 * The kernel's clock as a user program sees it (Debug: Time, nanoseconds
 * since boot) against the tick (Debug: Ticks, BK_TICK_HZ a second): the
 * clock never goes backwards, and the ticks, now emulated on the one-shot
 * timer (kernel/timer.c), come one period apart in the clock's time.
 *
 * How the tick is bracketed. Reading the clock (a), the tick count (t) and
 * the clock again (b) shows that tick t came before b and tick t + 1 after
 * a. Tick k is due at a point of a grid TIMER_TICK_NS apart and comes at
 * or after it, maybe late; the tick after a late one is due at the next
 * point of the grid after it (missed points are skipped, never made up
 * for), which may be less than a period away. So tick t + 2 is due after
 * tick t + 1 came, and tick u comes at least (u - t - 2) periods after
 * tick t + 1: over a window that starts with (a, t, b) and ends with
 * (c, u, d), d - a > (u - t - 2) periods, however late the host makes the
 * ticks. The other way, c - b <= (u - t + 1) periods plus the lateness of
 * ticks, holds only while no tick is skipped: without -icount QEMU's
 * virtual time follows the host, and a host busy elsewhere stalls the
 * guest and makes it skip ticks, so that bound gets a generous
 * SKIP_ALLOWANCE_NS. (A full run on a loaded host measured 20 ticks in
 * 187.0..188.7 ms: ticks 1.3 ms late at the start of the window.)
 * (The exact bounds are checked under -icount by the kernel's own
 * selftest=timer.)
 */
#include "ktest.h"

#define TICK_NS (1000000000ull / BK_TICK_HZ)
#define WINDOW_TICKS 20u
#define SKIP_ALLOWANCE_NS 1000000000ull /* a second of host stalls in 20 ticks */

static int test_clock_monotonic(struct ktest_env *env)
{
    (void)env;
    uint64_t first = debug_time_ns(), prev = first;
    for (unsigned i = 0; i < 10000; i++) {
        uint64_t now = debug_time_ns();
        KT_CHECK(now >= prev);
        prev = now;
    }
    KT_CHECK(prev > first);
    KT_CHECK(first > 0); /* the clock started at boot, before the root task */
    return 0;
}

struct bracket {
    uint64_t before, ticks, after;
};

static struct bracket read_bracket(void)
{
    struct bracket b;
    b.before = debug_time_ns();
    b.ticks = debug_ticks();
    b.after = debug_time_ns();
    return b;
}

static int test_ticks_one_period_apart(struct ktest_env *env)
{
    (void)env;
    struct bracket start = read_bracket(), end;
    do
        end = read_bracket();
    while (end.ticks - start.ticks < WINDOW_TICKS);
    uint64_t ticks = end.ticks - start.ticks;
    uint64_t outer = end.after - start.before, inner = end.before - start.after;
    debug_printf("    %llu ticks in %llu..%llu ns of the clock (a tick is %llu ns)\n",
                 (unsigned long long)ticks, (unsigned long long)inner,
                 (unsigned long long)outer, (unsigned long long)TICK_NS);
    KT_CHECK(outer > (ticks - 2) * TICK_NS);
    KT_CHECK(inner <= (ticks + 1) * TICK_NS + SKIP_ALLOWANCE_NS);
    return 0;
}

const struct ktest clock_tests[] = {
    { "clock: Debug: Time never goes backwards and advances", test_clock_monotonic },
    { "clock: ticks come a tick period apart in the clock's time", test_ticks_one_period_apart },
};
const unsigned clock_test_count = sizeof(clock_tests) / sizeof(clock_tests[0]);
