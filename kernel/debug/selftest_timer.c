/*
 * The timer self-test, run with "bulkhead.selftest=timer": the clock
 * (arch_time_ns) never goes backwards and advances; a deadline D ns ahead,
 * asked for through timer_request(), interrupts no earlier than D and at
 * most LATE_NS_MAX (plus LATE_PPM of D) after it, for D from the past to
 * 100 ms; arch_timer_set_deadline() replaces an earlier deadline and
 * UINT64_MAX disarms one; and the emulated tick (timer_start) comes every
 * TIMER_TICK_NS with no drift over 20 ticks.
 *
 * The bounds hold under QEMU's -icount shift=0 (the ctest runs it so,
 * tests/qemu/tests.cmake), where the TSC and the time CSR advance exactly
 * with virtual time and an interrupt is taken when it is due. Without
 * icount, virtual time follows the host and a busy host makes interrupts
 * late: "no earlier than D" still holds, the lateness bounds may not.
 * One line per check, with the lateness measured, then "N passed, N
 * failed" and shutdown.
 */
#include "selftest.h"

#include "arch.h"
#include "kernel.h"
#include "lib/format.h"
#include "thread.h"
#include "timer.h"

/* The bound on lateness: interrupt entry and the handler's clock read
 * (a few thousand instructions, 1 ns each under -icount shift=0), and on
 * x86-64 the APIC timer's rate measured apart from the TSC's (LATE_PPM). */
#define LATE_NS_MAX 20000ull
#define LATE_PPM 100ull
#define TICKS_CHECKED 20u

struct timer_test {
    unsigned passed, failed;
};

static void check(struct timer_test *t, bool ok, const char *what)
{
    kprintf("selftest timer: %s: %s\n", ok ? "ok" : "FAILED", what);
    if (ok)
        t->passed++;
    else
        t->failed++;
}

static uint64_t late_bound(uint64_t ahead)
{
    return LATE_NS_MAX + ahead / 1000000 * LATE_PPM; /* LATE_PPM of `ahead` */
}

/* Idles until the timer has interrupted `count` times. Every wait here
 * has a deadline set, so it ends. */
static void idle_until_interrupts(uint64_t count)
{
    while (timer_interrupt_count() < count)
        arch_idle_wait();
}

static void check_clock_monotonic(struct timer_test *t)
{
    uint64_t first = arch_time_ns(), prev = first;
    bool backwards = false;
    for (unsigned i = 0; i < 100000; i++) {
        uint64_t now = arch_time_ns();
        backwards |= now < prev;
        prev = now;
    }
    kprintf("selftest timer: 100000 clock reads took %llu ns\n",
            (unsigned long long)(prev - first));
    check(t, !backwards, "arch_time_ns never goes backwards (100000 reads)");
    check(t, prev > first, "arch_time_ns advances");
}

/* timer_request(now + ahead): one interrupt, at or after that time. */
static void check_deadline(struct timer_test *t, uint64_t ahead, bool past)
{
    uint64_t count = timer_interrupt_count(), now = arch_time_ns();
    uint64_t deadline = past ? now - ahead : now + ahead;
    timer_request(deadline);
    idle_until_interrupts(count + 1);
    uint64_t at = timer_last_interrupt_ns();
    uint64_t late = at >= deadline ? at - deadline : deadline - at;
    char what[128];
    snformat(what, sizeof(what), "a deadline %llu ns %s interrupts %s%llu ns after it",
             (unsigned long long)ahead, past ? "in the past" : "ahead", at >= deadline ? "" : "-",
             (unsigned long long)late);
    check(t, at >= deadline && at - deadline <= late_bound(past ? 0 : ahead), what);
}

/* A second deadline replaces the first; UINT64_MAX disarms. */
static void check_replace_and_disarm(struct timer_test *t)
{
    uint64_t count = timer_interrupt_count(), now = arch_time_ns();
    arch_timer_set_deadline(now + 1000000);
    arch_timer_set_deadline(now + 20000000);
    idle_until_interrupts(count + 1);
    uint64_t at = timer_last_interrupt_ns();
    check(t, at >= now + 20000000 && at - (now + 20000000) <= late_bound(20000000),
          "a later deadline replaces an earlier one (1 ms, then 20 ms: one interrupt, at 20 ms)");
    now = arch_time_ns();
    arch_timer_set_deadline(now + 1000000);
    arch_timer_set_deadline(UINT64_MAX);
    timer_request(now + 30000000);
    idle_until_interrupts(count + 2);
    check(t, timer_last_interrupt_ns() >= now + 30000000 && timer_interrupt_count() == count + 2,
          "UINT64_MAX disarms (1 ms disarmed: the next interrupt is the 30 ms one)");
}

/* The tick: TICKS_CHECKED ticks, each TIMER_TICK_NS after the one before
 * (within the bound), and the last at TICKS_CHECKED periods after the
 * first (no drift). Under -icount nothing makes a tick late beyond the
 * interrupt's latency; elsewhere a late tick is followed by one due at
 * the next point of the grid, less than a period later. */
static void check_tick(struct timer_test *t)
{
    uint64_t start = arch_time_ns(), ticks = kernel_ticks(), first = 0, prev = 0;
    uint64_t worst = 0;
    timer_start();
    for (unsigned i = 0; i <= TICKS_CHECKED; i++) {
        while (kernel_ticks() == ticks + i)
            arch_idle_wait();
        uint64_t at = timer_last_interrupt_ns();
        uint64_t gap = i ? at - prev : at - start;
        uint64_t off = gap > TIMER_TICK_NS ? gap - TIMER_TICK_NS : TIMER_TICK_NS - gap;
        worst = i && off > worst ? off : worst;
        first = i ? first : at;
        prev = at;
    }
    /* Each tick is taken a little after its grid point, by a latency
     * that varies (by a count of the clock: 100 ns at 10 MHz), so the
     * span may be short of the periods by as much as it may be long. */
    uint64_t span = prev - first, expected = TICKS_CHECKED * TIMER_TICK_NS;
    uint64_t drift = span > expected ? span - expected : expected - span;
    kprintf("selftest timer: %u ticks in %llu ns, worst gap %llu ns off %llu ns\n",
            TICKS_CHECKED, (unsigned long long)span, (unsigned long long)worst,
            (unsigned long long)TIMER_TICK_NS);
    check(t, first >= start + TIMER_TICK_NS, "the first tick comes a tick period after timer_start");
    check(t, worst <= late_bound(TIMER_TICK_NS), "ticks come a tick period apart");
    check(t, drift <= late_bound(TIMER_TICK_NS), "no drift: 20 ticks span 20 periods");
}

void selftest_timer(void)
{
    static const uint64_t ahead[] = { 1000, 50000, 1000000, 10000000, 100000000 };
    struct timer_test t = { 0 };
    kprintf("selftest timer: clock and one-shot deadline (kernel/timer.c, arch_time_ns, "
            "arch_timer_set_deadline)\n");
    check_clock_monotonic(&t);
    check_deadline(&t, 1000, true);
    for (unsigned i = 0; i < ARRAY_SIZE(ahead); i++)
        check_deadline(&t, ahead[i], false);
    check_replace_and_disarm(&t);
    check_tick(&t);
    kprintf("selftest timer: %u passed, %u failed\n", t.passed, t.failed);
    kernel_shutdown(t.failed ? KERNEL_EXIT_FAIL : KERNEL_EXIT_PASS, "selftest timer");
}
