/* Host tests of the scheduler (kernel/sched.c) and of the TCB methods that
 * steer it, through the syscall entry: the highest priority runs, round
 * robin with a timeslice among equals, Yield, Suspend and Resume, and the
 * MCP limit of SetPriority and SetMCPriority. */
#include "kworld.h"
#include "ready.h"

static uint64_t set_priority(struct kworld *w, unsigned tcb, unsigned authority, uint64_t prio)
{
    return kw_invoke(w, tcb, BK_LABEL_TCB_SET_PRIORITY, 2, authority, prio, 0, 0);
}

/* The driver parks; the threads run highest priority first, each until
 * it blocks (here: in Recv on an endpoint nobody sends to). */
static void test_highest_priority_runs(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    static const uint8_t prios[4] = { 20, 90, 50, 90 };
    static const unsigned order[4] = { 1, 3, 2, 0 };
    struct thread *t[4];
    for (unsigned i = 0; i < 4; i++)
        t[i] = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, prios[i]));
    CHECK_EQ(cpu_here()->ready_top, 90);
    kw_park(&w);
    for (unsigned i = 0; i < 4; i++) {
        CHECK(current_thread == t[order[i]]);
        kw_recv(t[order[i]], ep);
    }
    CHECK(current_thread == w.waker);
    CHECK_EQ(cpu_here()->ready_top, -1);
    kw_back_to_root(&w);
    kw_free(&w);
}

/* Equal priorities share the CPU: a thread's slice is
 * THREAD_TIMESLICE_TICKS ticks, then the next one at its priority runs. */
static void test_round_robin(void)
{
    struct kworld w;
    kw_init(&w);
    struct thread *a = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 30));
    struct thread *b = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 30));
    kw_park(&w);
    CHECK(current_thread == a);
    for (unsigned i = 0; i + 1 < THREAD_TIMESLICE_TICKS; i++) {
        CHECK_EQ(fake_tick(), FAKE_EXIT_USER);
        CHECK(current_thread == a);
    }
    CHECK_EQ(fake_tick(), FAKE_EXIT_USER);
    CHECK(current_thread == b);
    for (unsigned i = 0; i < THREAD_TIMESLICE_TICKS; i++)
        fake_tick();
    CHECK(current_thread == a);
    CHECK_EQ(kernel_ticks() >= 2 * THREAD_TIMESLICE_TICKS, 1);
    kw_free(&w);
}

/* Yield goes behind the others of its priority, and to nobody below. */
static void test_yield(void)
{
    struct kworld w;
    kw_init(&w);
    struct thread *a = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 30));
    struct thread *b = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 30));
    struct thread *low = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 10));
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    kw_park(&w);
    CHECK(current_thread == a);
    kw_yield(a);
    CHECK(current_thread == b);
    kw_yield(b);
    CHECK(current_thread == a);
    CHECK_EQ(low->state, THREAD_RUNNABLE);
    /* Alone at the top, a yield returns to the same thread. */
    kw_recv(b == current_thread ? b : a, ep);
    CHECK(current_thread == b);
    kw_yield(b);
    CHECK(current_thread == b);
    kw_recv(b, ep);
    CHECK(current_thread == low);
    kw_free(&w);
}

/* Suspend takes a thread off the CPU and its queues; Resume brings it
 * back, and it preempts a lower one. */
static void test_suspend_resume(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned tcb = kw_thread(&w, KW_ROOT_VSPACE, 60);
    struct thread *t = kw_tcb(&w, tcb);
    struct thread *low = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 20));
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_SUSPEND, 0, 0, 0, 0, 0), 0);
    CHECK_EQ(t->state, THREAD_INACTIVE);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    kw_park(&w);
    CHECK(current_thread == low); /* the suspended thread is not picked */
    kw_recv(low, ep);
    kw_back_to_root(&w);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_RESUME, 0, 0, 0, 0, 0), 0);
    CHECK_EQ(t->state, THREAD_RUNNABLE);
    CHECK_EQ(cpu_here()->ready_top, 60);
    kw_free(&w);
}

/* No thread gets a priority or MCP above the MCP of the authority's TCB. */
static void test_mcp(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned boss = kw_thread(&w, KW_ROOT_VSPACE, 80);
    unsigned t = kw_thread(&w, KW_ROOT_VSPACE, 10);
    CHECK_EQ(kw_invoke(&w, boss, BK_LABEL_TCB_SET_MC_PRIORITY, 2, KW_ROOT_TCB, 70, 0, 0), 0);
    CHECK_EQ(kw_tcb(&w, boss)->mcp, 70);
    CHECK_EQ(set_priority(&w, t, boss, 70), 0);
    CHECK_EQ(kw_tcb(&w, t)->priority, 70);
    CHECK_EQ(set_priority(&w, t, boss, 71), BK_ERR_RANGE);
    CHECK_EQ(kw_result(&w, 0), 0);
    CHECK_EQ(kw_result(&w, 1), 70); /* the reply names the limit */
    CHECK_EQ(kw_tcb(&w, t)->priority, 70);
    CHECK_EQ(kw_invoke(&w, t, BK_LABEL_TCB_SET_MC_PRIORITY, 2, boss, 200, 0, 0), BK_ERR_RANGE);
    CHECK_EQ(set_priority(&w, t, KW_CNODE, 5), BK_ERR_INVALID_CAPABILITY);
    /* The new priority takes effect in the ready queues at once. */
    CHECK_EQ(set_priority(&w, t, KW_ROOT_TCB, 100), 0);
    CHECK_EQ(cpu_here()->ready_top, 100);
    kw_free(&w);
}

/* The de Bruijn search for the highest set bit that RISC-V without Zbb
 * uses (ready.h) agrees with the compiler's count of leading zeros: every
 * bit alone, every bit with all below it set, and 10,000 other words. */
static void test_highest_set_bit(void)
{
    for (unsigned i = 0; i < 64; i++) {
        CHECK_EQ(highest_set_bit_debruijn(1ull << i), i);
        CHECK_EQ(highest_set_bit_debruijn(~0ull >> (63 - i)), i);
        CHECK_EQ(highest_set_bit(1ull << i), i);
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned n = 0; n < 10000; n++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        CHECK_EQ(highest_set_bit_debruijn(x), 63 - (unsigned)__builtin_clzll(x));
    }
    for (unsigned summary = 1; summary < 16; summary++) /* the summary's table */
        CHECK_EQ(ready_summary_top[summary], 63 - (unsigned)__builtin_clzll(summary));
}

TEST_MAIN(TEST(test_highest_priority_runs), TEST(test_highest_set_bit), TEST(test_round_robin), TEST(test_yield),
          TEST(test_suspend_resume), TEST(test_mcp))
