/*
 * Host tests of the sporadic-server refills (kernel/refill.c): the promise
 * (no window of one period holds more than the budget, and a thread that
 * always wants to run gets all of it), checked by simulating threads that
 * run, block and are preempted at random, with the invariants checked after
 * every charge.
 */
#include "check.h"
#include "refill.h"

#include <stdint.h>
#include <string.h>

#define MAX_RUNS 20000

struct run {
    uint64_t start, end;
};

static struct run runs[MAX_RUNS];
static unsigned run_count;
static uint64_t rng = 0x12345678abcdefull;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return n ? (rng * 0x2545f4914f6cdd1dull) % n : 0;
}

/* The most any window [s, s + period) holds, over windows starting where a
 * run starts (the maximum is always at one of those). */
static uint64_t worst_window(uint64_t period)
{
    uint64_t worst = 0;
    unsigned j = 0;
    for (unsigned i = 0; i < run_count; i++) {
        uint64_t end = runs[i].start + period, sum = 0;
        for (j = i; j < run_count && runs[j].start < end; j++)
            sum += (runs[j].end < end ? runs[j].end : end) - runs[j].start;
        worst = sum > worst ? sum : worst;
    }
    return worst;
}

/* One simulated thread: it wants `want` ns, runs what the refills allow
 * (cut short by a preemption now and then), then blocks for a while.
 * `block_percent` sets how often it blocks rather than keeps wanting. */
static uint64_t simulate(struct refills *rs, unsigned steps, unsigned block_percent)
{
    uint64_t now = 1000, want = 0, total = 0;
    run_count = 0;
    for (unsigned i = 0; i < steps && run_count < MAX_RUNS; i++) {
        if (want == 0) {
            if (rnd(100) < block_percent)
                now += rnd(3 * rs->period);
            want = 1 + rnd(2 * rs->budget);
        }
        uint64_t avail = refill_available(rs, now);
        if (avail == 0) {
            now = refill_next_due(rs) > now ? refill_next_due(rs) : now + 1;
            continue;
        }
        uint64_t run = want < avail ? want : avail;
        if (rnd(4) == 0)
            run = 1 + rnd(run); /* preempted */
        runs[run_count++] = (struct run){ now, now + run };
        refill_charge(rs, now, run);
        CHECK(refill_check(rs));
        now += run;
        want -= run;
        total += run;
        if (rnd(5) == 0)
            now += rnd(rs->period / 4); /* someone else ran */
    }
    return total;
}

static void test_no_window_holds_more_than_the_budget(void)
{
    for (unsigned round = 0; round < 200; round++) {
        struct refills rs;
        uint64_t period = 10000 + rnd(1000000);
        uint64_t budget = 1 + rnd(period);
        unsigned max = 1 + (unsigned)rnd(REFILL_MAX);
        CHECK(refill_init(&rs, budget, period, max, 1000));
        simulate(&rs, 3000, (unsigned)rnd(100));
        uint64_t worst = worst_window(period);
        if (worst > budget)
            printf("  round %u: budget %llu period %llu max %u: a window holds %llu\n", round,
                   (unsigned long long)budget, (unsigned long long)period, max,
                   (unsigned long long)worst);
        CHECK(worst <= budget);
    }
}

/* Always wanting, never preempted: the whole budget at the start of every
 * period, so T ns of time give budget * T / period of running. */
static void test_busy_thread_gets_the_whole_budget(void)
{
    struct refills rs;
    const uint64_t budget = 3000000, period = 10000000;
    CHECK(refill_init(&rs, budget, period, 4, 0));
    uint64_t now = 0, total = 0;
    while (now < 100 * period) {
        uint64_t avail = refill_available(&rs, now);
        if (avail == 0) {
            now = refill_next_due(&rs);
            continue;
        }
        refill_charge(&rs, now, avail);
        now += avail;
        total += avail;
    }
    CHECK_EQ(total, 100 * budget);
    CHECK(refill_check(&rs));
}

/* Many short runs with blocking in between fill the list; merging keeps
 * it bounded and correct, and a busy stretch afterwards still gets the
 * budget back within two periods. */
static void test_fragmented_then_busy(void)
{
    struct refills rs;
    const uint64_t budget = 500000, period = 1000000;
    CHECK(refill_init(&rs, budget, period, 4, 0));
    uint64_t now = 0;
    for (unsigned i = 0; i < 50; i++) {
        refill_charge(&rs, now, refill_available(&rs, now) ? 3000 : 0);
        CHECK(refill_check(&rs));
        CHECK(rs.count <= 4);
        now += 20000;
    }
    now += 2 * period; /* everything is due again */
    CHECK_EQ(refill_available(&rs, now) + (rs.count > 1 ? 0 : 0), rs.r[rs.head].amount);
    uint64_t got = 0;
    for (uint64_t end = now + period; now < end;) {
        uint64_t a = refill_available(&rs, now);
        if (a == 0) {
            now = refill_next_due(&rs) > now ? refill_next_due(&rs) : end;
            continue;
        }
        refill_charge(&rs, now, a);
        got += a;
        now += a;
    }
    CHECK_EQ(got, budget);
}

/* A run charged at every interrupt that let it go on comes back as one
 * refill at its start plus a period, not one piece per charge; a run that
 * began after a gap makes a refill of its own. */
static void test_one_run_one_refill(void)
{
    struct refills rs;
    const uint64_t budget = 350000, period = 1000000;
    CHECK(refill_init(&rs, budget, period, 4, 0));
    for (uint64_t now = 0; now < 300000; now += 10000) /* 30 charges of one run */
        refill_charge(&rs, now, 10000);
    CHECK(refill_check(&rs));
    CHECK_EQ(rs.count, 2);
    CHECK_EQ(refill_available(&rs, 300000), 50000);
    CHECK_EQ(rs.r[(rs.head + 1) % rs.max].when, period);
    CHECK_EQ(rs.r[(rs.head + 1) % rs.max].amount, 300000);
    refill_charge(&rs, 310000, 20000); /* after a gap: its own refill */
    CHECK_EQ(rs.count, 3);
    CHECK_EQ(rs.r[(rs.head + 2) % rs.max].when, 310000 + period);
    /* The rest of the head used by the same run (Yield charges it so):
     * joins the run's refill. */
    refill_charge(&rs, 330000, refill_available(&rs, 330000));
    CHECK(refill_check(&rs));
    CHECK_EQ(rs.count, 2);
    CHECK_EQ(refill_next_due(&rs), period);
    CHECK_EQ(refill_available(&rs, period), 300000);
    /* A periodic thread that runs a little and yields the rest wakes a
     * period after its last wake-up, not later by what it ran. */
    CHECK(refill_init(&rs, budget, period, 4, 0));
    uint64_t wake = 0;
    for (unsigned i = 0; i < 100; i++) {
        refill_charge(&rs, wake, 5000);
        refill_charge(&rs, wake + 5000, refill_available(&rs, wake + 5000));
        CHECK(refill_check(&rs));
        CHECK_EQ(refill_next_due(&rs), wake + period);
        wake = refill_next_due(&rs);
    }
}

/* The bench's victim (tests/bench/bulkhead/cpu.c): woken at its refill, it
 * runs less than the smallest refill (about 700 counts: the way to user
 * mode, its clock read, the Yield) and yields the rest. Its next refill is
 * a period after the run's start, which came `late` after the refill was
 * due (the kernel's work on the interrupt). Before the short-pause join the
 * Yield's rest became a refill of its own at the Yield's instant, the run's
 * piece, under the smallest refill, merged into it, and every period began
 * later by the whole run: the victim's wake-ups slid by ~700 ns a period
 * more than the interrupt's delay, which its lateness rows counted. */
static void test_short_run_then_yield_keeps_the_period(void)
{
    struct refills rs;
    const uint64_t budget = 300000, period = 1000000, run = 700, late = 250;
    CHECK(refill_init(&rs, budget, period, 8, 0));
    CHECK(run < rs.min);
    uint64_t start = 0;
    for (unsigned i = 0; i < 100; i++) {
        refill_charge(&rs, start, run);
        refill_charge(&rs, start + run, refill_available(&rs, start + run));
        CHECK(refill_check(&rs));
        CHECK_EQ(rs.count, 1);
        CHECK_EQ(refill_next_due(&rs), start + period);
        CHECK_EQ(refill_available(&rs, start + period), budget);
        start = refill_next_due(&rs) + late;
    }
}

/* A budget spent in two pieces with a pause shorter than the smallest
 * refill between them (the kernel's own work at the first piece's end,
 * before the second's release) comes back as one refill, later by the
 * pause: as two it would stay two every period, each throttled. A pause
 * of the smallest refill or more keeps its own refill; the head in use
 * takes nothing. */
static void test_short_pause_joins_the_run(void)
{
    struct refills rs;
    const uint64_t budget = 3000, period = 10000;
    CHECK(refill_init(&rs, budget, period, 8, 0));
    rs.min = 50;
    refill_charge(&rs, 0, 541);    /* the first piece, cut */
    refill_charge(&rs, 543, 2459); /* the rest after a pause of 2 */
    CHECK(refill_check(&rs));
    CHECK_EQ(rs.count, 1);
    CHECK_EQ(refill_next_due(&rs), period + 2);
    CHECK_EQ(refill_available(&rs, period + 2), budget);
    /* Period after period, one piece each: the split never comes back. */
    for (uint64_t k = 1; k <= 5; k++) {
        uint64_t due = refill_next_due(&rs);
        refill_charge(&rs, due, refill_available(&rs, due));
        CHECK_EQ(rs.count, 1);
    }
    CHECK(refill_init(&rs, budget, period, 8, 0));
    rs.min = 50;
    refill_charge(&rs, 0, 541);
    refill_charge(&rs, 591, 2459); /* a pause of the smallest refill: its own */
    CHECK(refill_check(&rs));
    CHECK_EQ(rs.count, 2);
    CHECK_EQ(refill_next_due(&rs), period);
    CHECK_EQ(refill_available(&rs, period), 541);
    /* Half the budget used, a short pause, more of the head now: the head
     * is in use (due), so the second piece is a refill of its own and the
     * head keeps its instant. */
    CHECK(refill_init(&rs, budget, period, 8, 0));
    rs.min = 50;
    refill_charge(&rs, 0, 1000);
    refill_charge(&rs, 1002, 1000);
    CHECK(refill_check(&rs));
    CHECK_EQ(refill_available(&rs, 2002), 1000);
}

static void test_bad_parameters_refused_and_clamped(void)
{
    struct refills rs;
    CHECK(!refill_init(&rs, 0, 1000, 4, 0));
    CHECK(!refill_init(&rs, 1001, 1000, 4, 0));
    CHECK(refill_init(&rs, 1000, 1000, 0, 0));
    CHECK_EQ(rs.max, REFILL_MIN_COUNT);
    /* Asked for one refill: a thread that uses part of its budget and
     * blocks still has the rest now, not a period later. */
    CHECK(refill_init(&rs, 300000, 1000000, 1, 0));
    refill_charge(&rs, 0, 100000);
    CHECK_EQ(refill_available(&rs, 500000), 200000);
    CHECK(refill_check(&rs));
    CHECK(refill_init(&rs, 1000, 1000, 1000, 0));
    CHECK_EQ(rs.max, REFILL_MAX);
    /* Charging more than the whole budget takes the budget. */
    CHECK(refill_init(&rs, 50000, 100000, 4, 0));
    refill_charge(&rs, 0, 80000);
    CHECK_EQ(refill_available(&rs, 0), 0);
    CHECK_EQ(refill_next_due(&rs), 100000);
    CHECK(refill_check(&rs));
    refill_charge(&rs, 10, 5); /* nothing available: nothing changes */
    CHECK_EQ(refill_available(&rs, 100000), 50000);
    /* An overrun past the head comes out of the next refill, not yet due:
     * the thread pays it back. */
    CHECK(refill_init(&rs, 50000, 100000, 4, 0));
    refill_charge(&rs, 0, 20000);    /* {100000: 20000} kept for later, 30000 now */
    refill_charge(&rs, 40000, 35000); /* 5000 past the head's 30000 */
    CHECK(refill_check(&rs));
    CHECK_EQ(refill_available(&rs, 75000), 0);
    CHECK_EQ(refill_next_due(&rs), 100000);
    CHECK_EQ(refill_available(&rs, 100000), 15000); /* 20000 less the 5000 over */
    CHECK_EQ(rs.r[(rs.head + 1) % rs.max].when, 140000);
    CHECK_EQ(rs.r[(rs.head + 1) % rs.max].amount, 35000);
}

TEST_MAIN(TEST(test_no_window_holds_more_than_the_budget), TEST(test_busy_thread_gets_the_whole_budget),
          TEST(test_fragmented_then_busy), TEST(test_one_run_one_refill),
          TEST(test_short_pause_joins_the_run), TEST(test_short_run_then_yield_keeps_the_period),
          TEST(test_bad_parameters_refused_and_clamped))
