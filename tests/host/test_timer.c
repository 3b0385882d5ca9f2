/*
 * Host tests of the timer (kernel/timer.c) on the fake arch's clock: the
 * tick is emulated on the one-shot deadline, BK_TICK_HZ a second on a
 * fixed grid (ticks taken late are skipped, the grid does not move), and
 * timer_request() brings the deadline forward without adding ticks.
 */
#include "kworld.h"
#include "sched_context.h"
#include "thread.h"
#include "timer.h"

#define TICK TIMER_TICK_NS

/* kw_init() started the tick at the fake time then: the deadline is one
 * period later, and each interrupt there is one tick and the next
 * deadline one period on. */
static void test_tick_on_a_grid(void)
{
    struct kworld w;
    kw_init(&w);
    uint64_t start = fake_timer.now_ns, ticks = kernel_ticks();
    CHECK_EQ(fake_timer.deadline_ns, start + TICK);
    for (unsigned i = 1; i <= 5; i++) {
        CHECK_EQ(fake_tick(), FAKE_EXIT_USER);
        CHECK_EQ(fake_timer.now_ns, start + i * TICK);
        CHECK_EQ(kernel_ticks(), ticks + i);
        CHECK_EQ(fake_timer.deadline_ns, start + (i + 1) * TICK);
    }
    kw_free(&w);
}

/* Interrupts 3.5 periods late: one tick, not four, and the next deadline
 * is the next point of the grid. */
static void test_late_ticks_skipped_without_drift(void)
{
    struct kworld w;
    kw_init(&w);
    uint64_t start = fake_timer.now_ns, ticks = kernel_ticks();
    fake_timer.now_ns = start + 4 * TICK + TICK / 2;
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    CHECK_EQ(kernel_ticks(), ticks + 1);
    CHECK_EQ(fake_timer.deadline_ns, start + 5 * TICK);
    kw_free(&w);
}

/* An interrupt before anything is due (early, or stale): no tick, and
 * the deadline is set again as it was (the arch's one is used up). */
static void test_interrupt_with_nothing_due(void)
{
    struct kworld w;
    kw_init(&w);
    uint64_t start = fake_timer.now_ns, ticks = kernel_ticks(), sets = fake_timer.deadlines_set;
    fake_timer.now_ns = start + TICK / 3;
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    CHECK_EQ(kernel_ticks(), ticks);
    CHECK_EQ(fake_timer.deadline_ns, start + TICK);
    CHECK_EQ(fake_timer.deadlines_set, sets + 1);
    kw_free(&w);
}

/* A request before the next tick moves the deadline forward; its
 * interrupt takes no tick and the deadline goes back to the tick. A
 * request after the tick waits for it, and a later request does not
 * replace an earlier one. */
static void test_requests(void)
{
    struct kworld w;
    kw_init(&w);
    uint64_t start = fake_timer.now_ns, ticks = kernel_ticks();
    timer_request(start + TICK / 4);
    CHECK_EQ(fake_timer.deadline_ns, start + TICK / 4);
    timer_request(start + TICK / 2); /* later: the earlier one stays */
    CHECK_EQ(fake_timer.deadline_ns, start + TICK / 4);
    CHECK_EQ(fake_tick(), FAKE_EXIT_USER);
    CHECK_EQ(kernel_ticks(), ticks);
    CHECK_EQ(fake_timer.deadline_ns, start + TICK);
    timer_request(start + TICK + TICK / 2);
    CHECK_EQ(fake_timer.deadline_ns, start + TICK);
    CHECK_EQ(fake_tick(), FAKE_EXIT_USER);
    CHECK_EQ(kernel_ticks(), ticks + 1);
    CHECK_EQ(fake_timer.deadline_ns, start + TICK + TICK / 2);
    CHECK_EQ(fake_tick(), FAKE_EXIT_USER);
    CHECK_EQ(kernel_ticks(), ticks + 1);
    CHECK_EQ(fake_timer.deadline_ns, start + 2 * TICK);
    CHECK_EQ(timer_last_interrupt_ns(), start + TICK + TICK / 2);
    kw_free(&w);
}

/* A request already passed asks for an interrupt at once. */
static void test_request_in_the_past(void)
{
    struct kworld w;
    kw_init(&w);
    fake_timer.now_ns += TICK / 2;
    uint64_t now = fake_timer.now_ns, count = timer_interrupt_count();
    timer_request(now - 1);
    CHECK_EQ(fake_timer.deadline_ns, now - 1);
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    CHECK_EQ(timer_interrupt_count(), count + 1);
    CHECK(fake_timer.deadline_ns > now);
    kw_free(&w);
}

/* The tick due 300 ns after a request is served by the request's
 * interrupt (the handler waits for it: the fake clock moves a ns per turn
 * of the wait); 3 us after one, by an interrupt of its own. */
static void test_close_events_served_together(void)
{
    struct kworld w;
    kw_init(&w);
    uint64_t tick = fake_timer.deadline_ns, ticks = kernel_ticks();
    uint64_t count = timer_interrupt_count();
    timer_request(tick - 3000);
    fake_timer.now_ns = tick - 3000;
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    CHECK_EQ(timer_interrupt_count(), count + 1);
    CHECK_EQ(kernel_ticks(), ticks);
    CHECK_EQ(fake_timer.now_ns, tick - 3000);
    CHECK_EQ(fake_timer.deadline_ns, tick);

    timer_request(tick - 300);
    fake_timer.now_ns = tick - 300;
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    CHECK_EQ(timer_interrupt_count(), count + 3); /* the request, then the tick */
    CHECK_EQ(kernel_ticks(), ticks + 1);
    CHECK(fake_timer.now_ns >= tick);
    CHECK_EQ(fake_timer.deadline_ns, tick + TICK);
    kw_free(&w);
}

/* A wake-up beside a budget-limited thread: the interrupt that gives a
 * higher-priority thread its refill back charges the interrupted thread
 * for what it ran and sets the arch's deadline once, for the woken
 * thread's budget end, though several were asked for while it was served
 * (the interrupted thread's budget end, the woken one's). (The fake clock
 * stands still in the kernel: the charges are exact.) */
static void test_wakeup_beside_a_limited_thread(void)
{
    struct kworld w;
    kw_init(&w);
    struct thread *hog = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 100));
    struct thread *victim = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 200));
    sched_context_set(hog->sc, 300000, 1000000, 4);
    sched_context_set(victim->sc, 50000, 200000, 2);
    kw_park(&w);
    CHECK(current_thread == victim);
    kw_yield(victim); /* the rest of its budget: back in one period */
    CHECK(current_thread == hog);
    uint64_t refill = fake_timer.now_ns + 200000;
    /* The victim's budget end, asked for when it ran, is still set (a
     * request is not withdrawn): that interrupt finds nothing due. */
    fake_timer.now_ns = fake_timer.deadline_ns;
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    CHECK(current_thread == hog);
    CHECK_EQ(fake_timer.deadline_ns, refill);
    uint64_t consumed = hog->sc->consumed, sets = fake_timer.deadlines_set;
    uint64_t ran = refill - fake_timer.now_ns;
    fake_timer.now_ns = refill;
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    CHECK(current_thread == victim);
    CHECK_EQ(hog->sc->consumed, consumed + ran);
    CHECK_EQ(fake_timer.deadlines_set, sets + 1);
    CHECK_EQ(fake_timer.deadline_ns, fake_timer.now_ns + 50000);
    kw_yield(victim);
    CHECK(current_thread == hog);
    kw_free(&w);
}

/* The same wake-up with a clock that moves while the kernel works (each
 * read of the counter 10 ns later than the last): the interrupt reads the
 * counter once, charges the interrupted thread up to that reading, and
 * the thread it switches to is charged from there, once per kernel entry
 * (the interrupt's work is the woken thread's): nothing twice, nothing
 * lost. Its budget end is measured from that reading too. */
static void test_wakeup_charged_once(void)
{
    struct kworld w;
    kw_init(&w);
    struct thread *hog = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 100));
    struct thread *victim = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 200));
    sched_context_set(hog->sc, 300000, 1000000, 4);
    sched_context_set(victim->sc, 50000, 200000, 2);
    kw_park(&w);
    kw_yield(victim);
    CHECK(current_thread == hog);
    uint64_t refill = fake_timer.now_ns + 200000;
    fake_timer.now_ns = fake_timer.deadline_ns; /* the victim's stale budget end */
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    CHECK_EQ(fake_timer.deadline_ns, refill);
    uint64_t hog_consumed = hog->sc->consumed, victim_consumed = victim->sc->consumed;
    uint64_t ran = refill - fake_timer.now_ns, reads = fake_timer.counter_reads;
    fake_timer.now_ns = refill;
    fake_timer.counter_step = 10;
    CHECK_EQ(fake_timer_interrupt(), FAKE_EXIT_USER);
    fake_timer.counter_step = 0;
    CHECK(current_thread == victim);
    CHECK_EQ(fake_timer.counter_reads, reads + 1);
    CHECK_EQ(hog->sc->consumed, hog_consumed + ran);
    CHECK_EQ(victim->sc->consumed, victim_consumed);
    CHECK_EQ(charged_sc, victim->sc);
    CHECK_EQ(charged_since, refill);
    CHECK_EQ(fake_timer.deadline_ns, refill + 50000);
    uint64_t now = fake_timer.now_ns;
    kw_yield(victim);
    CHECK(current_thread == hog);
    CHECK_EQ(victim->sc->consumed, victim_consumed + (now - refill));
    kw_free(&w);
}

TEST_MAIN(TEST(test_tick_on_a_grid), TEST(test_late_ticks_skipped_without_drift),
          TEST(test_interrupt_with_nothing_due), TEST(test_requests),
          TEST(test_request_in_the_past), TEST(test_close_events_served_together),
          TEST(test_wakeup_beside_a_limited_thread), TEST(test_wakeup_charged_once))
