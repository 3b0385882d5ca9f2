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

/* A thread of `prio` in the driver's address space, ready to run. */
static struct thread *thread_at(struct kworld *w, uint8_t prio)
{
    return kw_tcb(w, kw_thread(w, KW_ROOT_VSPACE, prio));
}

/* A message of one word more than the CPU registers carry: the general
 * IPC path, where a woken thread may run without the ready queue. */
#define GENERAL_INFO BK_MSGINFO(BK_MSG_CPU_WORDS + 1, 0, 0, 0)

/* A general-path Call wakes its receiver, which outranks every ready
 * thread once the caller blocks: it runs at once, never queued, and its
 * answer (ReplyRecv, general too) runs the caller the same way, with the
 * lower thread left ready throughout. */
static void test_woken_runs_next(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    struct thread *server = thread_at(&w, 60);
    struct thread *client = thread_at(&w, 50);
    struct thread *low = thread_at(&w, 40);
    kw_park(&w);
    kw_recv(server, ep);
    CHECK(current_thread == client);
    struct sched_woken_counts before = sched_woken_counts;
    kw_call(client, ep, GENERAL_INFO, NULL);
    CHECK(current_thread == server);
    CHECK_EQ(sched_woken_counts.direct, before.direct + 1);
    CHECK_EQ(client->state, THREAD_BLOCKED_REPLY);
    CHECK_EQ(cpu_here()->ready_top, 40);
    CHECK(cpu_here()->woken == NULL);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_reply_recv(server, ep, GENERAL_INFO, NULL);
    CHECK(current_thread == client);
    CHECK_EQ(sched_woken_counts.direct, before.direct + 2);
    CHECK_EQ(sched_woken_counts.queued, before.queued);
    CHECK_EQ(low->state, THREAD_RUNNABLE);
    CHECK_EQ(cpu_here()->ready_top, 40);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* A receiver below a ready thread: the ready thread runs, and the
 * receiver waits on its queue as if it had been queued at the wake. */
static void test_woken_below_ready_is_queued(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    unsigned side = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    struct thread *server = thread_at(&w, 30);
    struct thread *client = thread_at(&w, 50);
    struct thread *mid = thread_at(&w, 45);
    kw_park(&w);
    /* The client and mid wait on `side` so that the server, the lowest,
     * gets to wait on ep; then the waker lets the client go, and the
     * client lets mid go (mid is ready, below the client). */
    kw_recv(client, side);
    kw_recv(mid, side);
    kw_recv(server, ep);
    CHECK(current_thread == w.waker);
    kw_send(w.waker, side, BK_MSGINFO(0, 0, 0, 0), NULL);
    CHECK(current_thread == client);
    kw_send(client, side, BK_MSGINFO(0, 0, 0, 0), NULL);
    CHECK(current_thread == client);
    CHECK_EQ(mid->state, THREAD_RUNNABLE);
    struct sched_woken_counts before = sched_woken_counts;
    kw_call(client, ep, GENERAL_INFO, NULL);
    CHECK(current_thread == mid);
    CHECK_EQ(sched_woken_counts.queued, before.queued + 1);
    CHECK_EQ(sched_woken_counts.direct, before.direct);
    CHECK(on_ready_queue(server));
    CHECK(cpu_here()->ready_head[30] == server);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* The answer of a ReplyRecv leaves its caller unqueued, and the receive
 * that follows finds a sender waiting (a Send, which the server takes and
 * goes on) and makes it runnable at the caller's priority: the caller was
 * woken first, so it is first in the queue, as eager queueing would have
 * it. */
static void test_woken_keeps_queue_order(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    unsigned side = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    struct thread *server = thread_at(&w, 60);
    struct thread *client = thread_at(&w, 50);
    struct thread *sender = thread_at(&w, 50);
    struct thread *poker = thread_at(&w, 45);
    kw_park(&w);
    kw_recv(server, ep);
    CHECK(current_thread == client);
    kw_call(client, ep, GENERAL_INFO, NULL);
    CHECK(current_thread == server);
    /* The server waits elsewhere, its caller unanswered, while the sender
     * queues a Send on ep; the poker brings the server back. */
    kw_recv(server, side);
    CHECK(current_thread == sender);
    static const uint64_t words[4] = { 0x5e };
    kw_send(sender, ep, BK_MSGINFO(1, 0, 0, 0), words);
    CHECK(current_thread == poker);
    kw_send(poker, side, BK_MSGINFO(0, 0, 0, 0), NULL);
    CHECK(current_thread == server);
    CHECK_EQ(sender->state, THREAD_BLOCKED_SEND);
    kw_reply_recv(server, ep, GENERAL_INFO, NULL);
    CHECK(current_thread == server);
    CHECK_EQ(kw_mr(server, 0), 0x5e);
    CHECK(cpu_here()->ready_head[50] == client);
    CHECK(client->ready_next == sender);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_recv(server, side);
    CHECK(current_thread == client);
    kw_free(&w);
}

/* A timeout fault the timer interrupt sends (a thread's budget ran out,
 * its handler outranks it) wakes the handler by a Call from the timer's
 * entry, which may leave it as the woken thread: the timer's way out
 * queues it before choosing, so the handler runs at once, not a lower
 * thread that is ready. */
static void test_woken_by_timeout_fault_runs(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    struct thread *handler = thread_at(&w, 60);
    struct thread *low = thread_at(&w, 10);
    unsigned spinner_tcb = kw_thread(&w, KW_ROOT_VSPACE, 50);
    struct thread *spinner = kw_tcb(&w, spinner_tcb);
    unsigned spinner_sc = spinner_tcb + 1; /* kw_thread(): the TCB, then its SchedContext */
    CHECK_EQ(kw_invoke(&w, KW_SCHED_CONTROL, BK_LABEL_SCHED_CONTROL_CONFIGURE, 5, spinner_sc,
                       1000000, 10000000, 1),
             0);
    CHECK_EQ(kw_invoke(&w, spinner_tcb, BK_LABEL_TCB_SET_TIMEOUT_ENDPOINT, 1, ep, 0, 0, 0), 0);
    CHECK_EQ(kw_invoke(&w, spinner_tcb, BK_LABEL_TCB_SET_TIMEOUT_FAULTS, 1, 1, 0, 0, 0), 0);
    kw_park(&w);
    kw_recv(handler, ep);
    CHECK(current_thread == spinner);
    for (unsigned i = 0; i < 100 && current_thread == spinner; i++)
        fake_tick();
    CHECK(current_thread == handler);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(handler)), BK_FAULT_TIMEOUT);
    CHECK_EQ(low->state, THREAD_RUNNABLE);
    CHECK(cpu_here()->woken == NULL);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

TEST_MAIN(TEST(test_highest_priority_runs), TEST(test_highest_set_bit), TEST(test_round_robin), TEST(test_yield),
          TEST(test_suspend_resume), TEST(test_mcp), TEST(test_woken_runs_next),
          TEST(test_woken_below_ready_is_queued), TEST(test_woken_keeps_queue_order),
          TEST(test_woken_by_timeout_fault_runs))
