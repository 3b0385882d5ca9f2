/*
 * Host tests of the counter <-> nanosecond conversion (kernel/lib/clock.h):
 * at the rates the ports meet (QEMU virt's 10 MHz timebase, a 1 GHz TSC
 * as under -icount, 2.5 GHz and an odd 3.123456 GHz TSC) and a few odd
 * ones, clock_rate_ns() is checked against exact 128-bit arithmetic
 * (floor(exact) or one above, never behind) from boot to past 100 years of
 * uptime, is monotonic, saturates rather than wraps, and
 * clock_rate_count_at() gives a count at which the clock reads the time
 * asked for, no later than one count past the exact ceiling (UINT64_MAX
 * when no 64-bit count gets there: 5.8 GHz overflows 64 bits in 100 years).
 */
#include "check.h"
#include "lib/clock.h"

#include <stdint.h>

typedef unsigned __int128 u128;

#define NS_PER_S 1000000000ull
#define YEAR_S (365ull * 24 * 3600 + 6 * 3600) /* a Julian year */
#define UPTIME_YEARS 110ull

static const uint64_t rates[] = {
    10000000ull,   /* QEMU virt timebase */
    1000000000ull, /* TSC under -icount shift=0 */
    2500000000ull,
    3123456000ull,
    1ull, 32768ull, 1193182ull, 24000000ull, 999999937ull, 5800000000ull,
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static u128 exact_ns_floor(uint64_t count, uint64_t hz)
{
    return (u128)count * NS_PER_S / hz;
}

/* The last count within UPTIME_YEARS at `hz` (capped at 2^64 - 1). */
static uint64_t max_count(uint64_t hz)
{
    u128 c = (u128)hz * YEAR_S * UPTIME_YEARS;
    return c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
}

static int checked_failures;

static void check_ns(const struct clock_rate *r, uint64_t count)
{
    u128 exact = exact_ns_floor(count, r->hz);
    uint64_t ns = clock_rate_ns(r, count);
    if ((u128)ns < exact || (u128)ns > exact + 1) {
        if (checked_failures++ < 5)
            printf("  %llu Hz, count %llu: %llu ns, exact floor %llu\n",
                   (unsigned long long)r->hz, (unsigned long long)count,
                   (unsigned long long)ns, (unsigned long long)exact);
        CHECK(0);
    }
}

/* Counts spread over the whole range: small ones, powers of two and their
 * neighbours, random ones at every magnitude, and the end of the range. */
static void test_ns_within_one_of_exact(void)
{
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        struct clock_rate r;
        clock_rate_init(&r, rates[i]);
        uint64_t end = max_count(rates[i]);
        for (uint64_t c = 0; c < 100000 && c <= end; c++)
            check_ns(&r, c);
        for (unsigned b = 0; b < 64; b++) {
            uint64_t p = 1ull << b;
            for (uint64_t c = p > 2 ? p - 2 : 0; c <= p + 2 && c <= end; c++)
                check_ns(&r, c);
        }
        for (unsigned k = 0; k < 200000; k++) {
            uint64_t c = rnd() >> (rnd() % 64);
            if (c <= end)
                check_ns(&r, c);
        }
        for (uint64_t c = end - 1000; c < end; c++)
            check_ns(&r, c);
    }
}

/* 100 years of uptime at each rate is below 2^63 ns: no saturation there,
 * and the clock still reads 100 years. */
static void test_no_overflow_at_100_years(void)
{
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        struct clock_rate r;
        clock_rate_init(&r, rates[i]);
        uint64_t c = (uint64_t)((u128)rates[i] * YEAR_S * 100);
        uint64_t ns = clock_rate_ns(&r, c);
        CHECK(ns != UINT64_MAX);
        CHECK(ns >= YEAR_S * 100 * NS_PER_S && ns <= YEAR_S * 100 * NS_PER_S + 1);
    }
}

/* Past 2^64 ns the result saturates instead of wrapping (only slow
 * counters get there within 64 bits of counts). */
static void test_saturates(void)
{
    struct clock_rate r;
    clock_rate_init(&r, 10000000ull);
    CHECK_EQ(clock_rate_ns(&r, UINT64_MAX), UINT64_MAX);
    clock_rate_init(&r, 1ull);
    CHECK_EQ(clock_rate_ns(&r, UINT64_MAX / 1000), UINT64_MAX);
    CHECK_EQ(clock_rate_count_at(&r, UINT64_MAX), UINT64_MAX / NS_PER_S + 1);
}

/* Consecutive counts never go backwards, at every magnitude. */
static void test_monotonic(void)
{
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        struct clock_rate r;
        clock_rate_init(&r, rates[i]);
        uint64_t end = max_count(rates[i]);
        for (unsigned k = 0; k < 20000; k++) {
            uint64_t c = rnd() >> (rnd() % 64);
            if (c > end - 1000)
                continue;
            uint64_t prev = clock_rate_ns(&r, c);
            for (uint64_t j = c + 1; j < c + 50; j++) {
                uint64_t ns = clock_rate_ns(&r, j);
                CHECK(ns >= prev);
                prev = ns;
            }
        }
    }
}

static void check_count_at(const struct clock_rate *r, uint64_t ns)
{
    uint64_t c = clock_rate_count_at(r, ns);
    if (ns > clock_rate_ns(r, UINT64_MAX)) {
        CHECK_EQ(c, UINT64_MAX); /* no 64-bit count gets there */
        return;
    }
    u128 ceil = ((u128)ns * r->hz + NS_PER_S - 1) / NS_PER_S;
    CHECK(clock_rate_ns(r, c) >= ns);
    CHECK((u128)c <= ceil + 1);
}

/* A timer set to clock_rate_count_at(ns) never fires before ns, and not
 * more than a count after the exact time. */
static void test_count_at(void)
{
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        struct clock_rate r;
        clock_rate_init(&r, rates[i]);
        uint64_t end = YEAR_S * UPTIME_YEARS * NS_PER_S;
        for (uint64_t ns = 0; ns < 20000; ns++)
            check_count_at(&r, ns);
        for (unsigned k = 0; k < 200000; k++) {
            uint64_t ns = rnd() >> (rnd() % 64);
            if (ns <= end)
                check_count_at(&r, ns);
        }
    }
}

/* The rates whose period is a whole number of nanoseconds convert
 * exactly: the multiplier is then a power of two times that number. */
static void test_exact_rates(void)
{
    struct clock_rate r;
    clock_rate_init(&r, 10000000ull);
    CHECK_EQ(clock_rate_ns(&r, 123456789ull), 12345678900ull);
    CHECK_EQ(clock_rate_count_at(&r, 12345678900ull), 123456789ull);
    CHECK_EQ(clock_rate_count_at(&r, 12345678901ull), 123456790ull);
    clock_rate_init(&r, 1000000000ull);
    CHECK_EQ(clock_rate_ns(&r, 987654321987654321ull), 987654321987654321ull);
    CHECK_EQ(clock_rate_count_at(&r, 987654321987654321ull), 987654321987654321ull);
}

TEST_MAIN(TEST(test_ns_within_one_of_exact), TEST(test_no_overflow_at_100_years),
          TEST(test_saturates), TEST(test_monotonic), TEST(test_count_at), TEST(test_exact_rates))
