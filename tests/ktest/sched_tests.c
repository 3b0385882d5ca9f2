/*
 * SchedContexts and SchedControl: a thread runs only on a SchedContext
 * that SchedControl gave time; binding, unbinding, deleting and the
 * accounting behave as kernel/abi.toml says; every bad argument is refused
 * with its error.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192
#define CTL BK_CAP_SCHED_CONTROL
#define MS 1000000ull

/* Slots: s + 0, 1 TCBs (made without SchedContexts), s + 2, 3
 * SchedContexts, s + 4 an endpoint, s + 5 scratch. */
#define TCB(s, i) ((s) + (i))
#define SC(s, i) ((s) + 2 + (i))
#define EP(s) ((s) + 4)

static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));
static uint8_t stack2[STACK_SIZE] __attribute__((aligned(16)));
static volatile uint64_t ran, served;

static void mark_and_exit(uint64_t arg)
{
    ran = arg;
    sys_thread_exit(0);
}

/* Receives one message on the endpoint at `ep` and records its first word. */
static void receive_and_mark(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    ran = m.mr[0];
    sys_thread_exit(0);
}

/* A server: answers each Call on the endpoint at `ep` with the first word
 * plus one, after some work; counts what it served. */
static void add_one_server(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        for (volatile unsigned i = 0; i < 20000; i++)
            ;
        served++;
        m.info = bk_msginfo(0, 1);
        m.mr[0]++;
        sys_reply_recv(ep, &m);
    }
}

/* Receives one Call and never answers: works for ever. */
static void hogging_server(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;)
        served++;
}

static void spin_forever(uint64_t arg)
{
    (void)arg;
    for (;;)
        ran++;
}

/* TCBs straight from the untyped (kt_retype() would give them time). */
static int make(struct ktest_env *env, uint64_t s)
{
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, TCB(s, 0), 2));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, SC(s, 0), 2));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, EP(s), 1));
    return 0;
}

static long whole_cpu(uint64_t sc)
{
    return sys_sched_control_configure(CTL, sc, 10 * MS, 10 * MS, 1, 0);
}

/* Starts `fn` above the root task (which is at 255 during tests: it
 * drops to 100 first, so a thread at 200 would run at once if it can). */
static long start_above(uint64_t tcb, void (*fn)(uint64_t), uint64_t arg)
{
    long r = sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100);
    if (r == 0)
        r = bk_thread_start(tcb, ROOT, BK_CAP_ROOT_VSPACE, fn, arg, stack, STACK_SIZE, 0, 200);
    return r;
}

static void yield(void)
{
    struct bk_msg m = { 0 };
    sys_yield(0, &m);
}

static int test_boot_caps(struct ktest_env *env)
{
    /* One SchedControl per CPU from bi->sched_control on; alone, it is
     * BK_CAP_SCHED_CONTROL, which always holds CPU 0's. */
    KT_CHECK(env->bi->cpu_count >= 1);
    KT_CHECK(env->bi->cpu_count > 1 || env->bi->sched_control == BK_CAP_SCHED_CONTROL);
    for (unsigned i = 0; i < env->bi->cpu_count; i++)
        KT_CHECK(kt_type(env->bi->sched_control + i) == BK_OBJ_SCHED_CONTROL);
    KT_CHECK(kt_type(BK_CAP_SCHED_CONTROL) == BK_OBJ_SCHED_CONTROL);
    KT_CHECK(kt_type(BK_CAP_ROOT_SCHED_CONTEXT) == BK_OBJ_SCHED_CONTEXT);
    uint64_t consumed, throttled, budget, period, later;
    KT_OK(sys_sched_context_consumed(BK_CAP_ROOT_SCHED_CONTEXT, &consumed, &throttled, &budget,
                                     &period));
    KT_CHECK(budget == BK_SCHED_ROOT_PERIOD_NS && period == BK_SCHED_ROOT_PERIOD_NS);
    KT_CHECK(throttled == 0);
    /* Our own time, read twice with work in between: it grows. */
    for (volatile unsigned i = 0; i < 100000; i++)
        ;
    KT_OK(sys_sched_context_consumed(BK_CAP_ROOT_SCHED_CONTEXT, &later, &throttled, &budget,
                                     &period));
    KT_CHECK(later >= consumed);
    /* The root's SchedContext is bound: to no second thread. */
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_EXPECT_ERR(sys_sched_context_bind(BK_CAP_ROOT_SCHED_CONTEXT, TCB(s, 0)),
                  BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

static int test_configure_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots(), sc;
    KT_OK(make(env, s));
    sc = SC(s, 0);
    KT_EXPECT_ERR(sys_sched_control_configure(CTL, sc, 1 * MS, 0, 1, 0),
                  BK_ERR_INVALID_ARGUMENT); /* period 0 */
    KT_EXPECT_ERR(sys_sched_control_configure(CTL, sc, 2 * MS, 1 * MS, 1, 0),
                  BK_ERR_INVALID_ARGUMENT); /* budget > period */
    KT_EXPECT_ERR(sys_sched_control_configure(CTL, sc, BK_SCHED_MIN_BUDGET_NS - 1, MS, 1, 0),
                  BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_sched_control_configure(CTL, sc, MS, BK_SCHED_MAX_PERIOD_NS + 1, 1, 0),
                  BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_sched_control_configure(CTL, sc, MS, 10 * MS, 0, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_sched_control_configure(CTL, sc, MS, 10 * MS, BK_SCHED_MAX_REFILLS + 1, 0),
                  BK_ERR_RANGE);
    /* Not a SchedContext; not SchedControl (an endpoint would take it as
     * a message); nothing there. */
    KT_EXPECT_ERR(sys_sched_control_configure(CTL, EP(s), MS, 10 * MS, 1, 0),
                  BK_ERR_INVALID_CAPABILITY);
    KT_CHECK(sys_sched_control_configure(sc, sc, MS, 10 * MS, 1, 0) < 0);
    KT_CHECK(sys_sched_control_configure(TCB(s, 0), sc, MS, 10 * MS, 1, 0) < 0);
    KT_EXPECT_ERR(sys_sched_control_configure(CTL, s + 5, MS, 10 * MS, 1, 0),
                  BK_ERR_FAILED_LOOKUP);
    /* The edges that are allowed: the minimum budget, budget = period. */
    KT_OK(sys_sched_control_configure(CTL, sc, BK_SCHED_MIN_BUDGET_NS, 10 * MS,
                                      BK_SCHED_MAX_REFILLS, 7));
    KT_OK(sys_sched_control_configure(CTL, sc, BK_SCHED_MAX_PERIOD_NS, BK_SCHED_MAX_PERIOD_NS, 1,
                                      7));
    uint64_t consumed, throttled, budget, period;
    KT_OK(sys_sched_context_consumed(sc, &consumed, &throttled, &budget, &period));
    KT_CHECK(budget == BK_SCHED_MAX_PERIOD_NS && period == BK_SCHED_MAX_PERIOD_NS);
    KT_CHECK(consumed == 0 && throttled == 0);
    return 0;
}

static int test_bind_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_EXPECT_ERR(sys_sched_context_unbind(SC(s, 0)), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_sched_context_bind(SC(s, 0), EP(s)), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_sched_context_bind(SC(s, 0), s + 5), BK_ERR_FAILED_LOOKUP);
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 0)));
    KT_EXPECT_ERR(sys_sched_context_bind(SC(s, 0), TCB(s, 1)), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_sched_context_bind(SC(s, 1), TCB(s, 0)), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_sched_context_bind(SC(s, 1), BK_CAP_ROOT_TCB), BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_sched_context_unbind(SC(s, 0)));
    KT_OK(sys_sched_context_bind(SC(s, 1), TCB(s, 0)));
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 1)));
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* A thread with no SchedContext, or an unconfigured one, never runs, even
 * above everything else; given time, it runs at once. */
static int test_no_time_no_run(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    ran = 0;
    KT_OK(start_above(TCB(s, 0), mark_and_exit, 1));
    yield();
    KT_CHECK(ran == 0);
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 0))); /* bound, but no time yet */
    yield();
    KT_CHECK(ran == 0);
    KT_CHECK(kt_check_invariants() == 0);
    KT_OK(whole_cpu(SC(s, 0))); /* now it outranks us and runs before this returns */
    KT_CHECK(ran == 1);
    uint64_t consumed, throttled, budget, period;
    KT_OK(sys_sched_context_consumed(SC(s, 0), &consumed, &throttled, &budget, &period));
    KT_CHECK(consumed > 0);
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    return 0;
}

/* Taking a running thread's SchedContext away (Unbind, or deleting it)
 * stops it where it is; binding another lets it go on. */
static int test_unbind_and_delete_stop_a_thread(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_OK(whole_cpu(SC(s, 0)));
    KT_OK(whole_cpu(SC(s, 1)));
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 0)));
    ran = 0;
    /* At our priority: the spinner and we share the CPU by timeslices. */
    KT_OK(bk_thread_start(TCB(s, 0), ROOT, BK_CAP_ROOT_VSPACE, spin_forever, 0, stack,
                          STACK_SIZE, 0, 255));
    while (ran == 0)
        yield();
    KT_OK(sys_sched_context_unbind(SC(s, 0)));
    uint64_t frozen = ran;
    for (unsigned i = 0; i < 20; i++)
        yield();
    KT_CHECK(ran == frozen);
    KT_CHECK(kt_check_invariants() == 0);
    KT_OK(sys_sched_context_bind(SC(s, 1), TCB(s, 0)));
    while (ran == frozen)
        yield();
    KT_OK(sys_cnode_delete(ROOT, SC(s, 1), W)); /* the final cap: the SchedContext goes */
    frozen = ran;
    for (unsigned i = 0; i < 20; i++)
        yield();
    KT_CHECK(ran == frozen);
    KT_CHECK(kt_check_invariants() == 0);
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    return 0;
}

/* A blocked thread keeps its state without a SchedContext: it is woken
 * (the message is delivered) but runs only once it has time again. */
static int test_blocked_thread_survives_losing_its_time(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_OK(whole_cpu(SC(s, 0)));
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 0)));
    ran = 0;
    KT_OK(start_above(TCB(s, 0), receive_and_mark, EP(s))); /* runs up to its Recv */
    KT_OK(sys_sched_context_unbind(SC(s, 0)));
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { 42 } };
    sys_send(EP(s), &m); /* delivered at once: it was waiting */
    yield();
    KT_CHECK(ran == 0);
    KT_CHECK(kt_check_invariants() == 0);
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 0))); /* outranks us: runs now */
    KT_CHECK(ran == 42);
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    return 0;
}


/* Starts `fn` as a server above us on SC(s, i), lets it reach its Recv,
 * and takes the SchedContext away: a passive server. */
static int start_passive(uint64_t s, unsigned i, void (*fn)(uint64_t), uint64_t arg,
                         uint8_t *stk)
{
    KT_OK(whole_cpu(SC(s, i)));
    KT_OK(sys_sched_context_bind(SC(s, i), TCB(s, i)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    KT_OK(bk_thread_start(TCB(s, i), ROOT, BK_CAP_ROOT_VSPACE, fn, arg, stk, STACK_SIZE, 0, 200));
    KT_OK(sys_sched_context_unbind(SC(s, i))); /* it waits in Recv: passive now */
    return 0;
}

static uint64_t consumed_of(uint64_t sc)
{
    uint64_t consumed = 0, throttled, budget, period;
    sys_sched_context_consumed(sc, &consumed, &throttled, &budget, &period);
    return consumed;
}

/* A passive server runs only on its callers' time: a Call lends the
 * caller's SchedContext, the answer gives it back, and the server's work
 * shows up as the caller's consumed time. A message with no caller wakes
 * it but it does not run. */
static int test_passive_server_runs_on_callers_time(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    served = 0;
    KT_OK(start_passive(s, 0, add_one_server, EP(s), stack));
    uint64_t server_before = consumed_of(SC(s, 0));
    uint64_t ours_before = consumed_of(BK_CAP_ROOT_SCHED_CONTEXT);
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { 41 } };
    sys_call(EP(s), &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == 0 && m.mr[0] == 42 && served == 1);
    uint64_t ours = consumed_of(BK_CAP_ROOT_SCHED_CONTEXT) - ours_before;
    KT_CHECK(consumed_of(SC(s, 0)) == server_before); /* not a nanosecond on its own */
    debug_printf("    one call with the server's work: %llu ns on the caller's SchedContext\n",
                 (unsigned long long)ours);
    KT_CHECK(kt_check_invariants() == 0);
    /* We have our SchedContext back: a second Call works the same. */
    m = (struct bk_msg){ .info = bk_msginfo(0, 1), .mr = { 1 } };
    sys_call(EP(s), &m);
    KT_CHECK(m.mr[0] == 2 && served == 2);
    /* A Send wakes it with no caller to run on: it does not run. */
    m = (struct bk_msg){ .info = bk_msginfo(0, 1), .mr = { 7 } };
    sys_send(EP(s), &m);
    yield();
    KT_CHECK(served == 2);
    KT_CHECK(kt_check_invariants() == 0);
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    return 0;
}

/* Through two passive servers: our SchedContext goes down the chain and
 * comes back step by step. */
static int test_nested_chain_returns_every_loan(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, s + 5, 1));
    served = 0;
    KT_OK(start_passive(s, 1, add_one_server, s + 5, stack2)); /* the inner one */
    KT_OK(start_passive(s, 0, kt_forwarding_server, (s + 5) << 16 | EP(s), stack));
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { 10 } };
    sys_call(EP(s), &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == 0 && m.mr[0] == 12 && served == 1);
    KT_CHECK(kt_check_invariants() == 0);
    /* Both are passive again: each takes a SchedContext of its own. */
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 0)));
    KT_OK(sys_sched_context_bind(SC(s, 1), TCB(s, 1)));
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    KT_OK(sys_tcb_suspend(TCB(s, 1)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    return 0;
}

static volatile long client_result;

static void client(uint64_t ep)
{
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { 1 } };
    sys_call(ep, &m);
    client_result = (long)BK_MSGINFO_LABEL(m.info);
    ran = 1;
    sys_thread_exit(0);
}

/* A passive server stopped in the middle of a request gives the caller its
 * SchedContext back with the CANCELLED answer: the caller runs on. */
static int test_stopped_server_returns_the_loan(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, s + 5, 1));
    served = 0;
    ran = 0;
    KT_OK(start_passive(s, 0, hogging_server, EP(s), stack));
    /* The client: above us, on 1 ms in every 10 of its own; the server
     * hogs that once the client's Call lends it, and we run in between. */
    KT_OK(sys_sched_control_configure(CTL, s + 5, MS, 10 * MS, 2, 0));
    KT_OK(sys_sched_context_bind(s + 5, TCB(s, 1)));
    KT_OK(bk_thread_start(TCB(s, 1), ROOT, BK_CAP_ROOT_VSPACE, client, EP(s), stack2, STACK_SIZE,
                          0, 150));
    /* Without -icount a host stall can eat the client's first budget
     * before its Call: wait for the server to have started (or give up). */
    uint64_t began = debug_time_ns();
    while (served == 0 && debug_time_ns() - began < 200 * MS)
        yield();
    KT_CHECK(served > 0 && ran == 0);
    uint64_t consumed, throttled, budget, period;
    KT_OK(sys_sched_context_consumed(s + 5, &consumed, &throttled, &budget, &period));
    KT_CHECK(throttled >= 1); /* the server's work used up the client's budget */
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    uint64_t start = debug_time_ns();
    while (!ran && debug_time_ns() - start < 100 * MS)
        yield();
    KT_CHECK(ran == 1 && client_result == BK_ERR_CANCELLED);
    KT_CHECK(kt_check_invariants() == 0);
    /* Again, and this time the client dies mid-request: the server keeps
     * the loan and goes on (its request is not stranded). */
    ran = 0;
    served = 0;
    KT_OK(start_passive(s, 0, hogging_server, EP(s), stack));
    /* A new client (an exited thread stays exited) on the same SchedContext. */
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, s + 6, 1));
    KT_OK(sys_sched_context_unbind(s + 5));
    KT_OK(sys_sched_context_bind(s + 5, s + 6));
    KT_OK(bk_thread_start(s + 6, ROOT, BK_CAP_ROOT_VSPACE, client, EP(s), stack2, STACK_SIZE, 0,
                          150));
    start = debug_time_ns();
    while (served == 0 && debug_time_ns() - start < 200 * MS)
        yield();
    KT_OK(sys_cnode_delete(ROOT, s + 6, W)); /* the client's only cap: it is gone */
    uint64_t before = served;
    start = debug_time_ns();
    while (served == before && debug_time_ns() - start < 200 * MS)
        yield();
    KT_CHECK(served > before && ran == 0);
    KT_CHECK(kt_check_invariants() == 0);
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    return 0;
}

static uint8_t stack3[STACK_SIZE] __attribute__((aligned(16)));
static volatile uint64_t queued_done;

/* A server on `arg & 0xffff` that signals the notification `arg >> 16` as
 * each request starts, works, and answers. */
static void signalling_server(uint64_t arg)
{
    uint64_t ep = arg & 0xffff, ntfn = arg >> 16;
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        struct bk_msg n = { .info = bk_msginfo(0, 0) };
        sys_send(ntfn, &n);
        for (volatile unsigned i = 0; i < 200000; i++)
            ;
        m.info = bk_msginfo(0, 0);
        sys_reply_recv(ep, &m);
    }
}

/* Waits for the notification `arg >> 16`, then calls the endpoint
 * `arg & 0xffff` once. */
static void late_client(uint64_t arg)
{
    struct bk_msg m = { 0 };
    sys_recv(arg >> 16, &m);
    m = (struct bk_msg){ .info = bk_msginfo(0, 0) };
    sys_call(arg & 0xffff, &m);
    queued_done++;
    sys_thread_exit(0);
}

static void one_call(uint64_t ep)
{
    struct bk_msg m = { .info = bk_msginfo(0, 0) };
    sys_call(ep, &m);
    queued_done++;
    sys_thread_exit(0);
}

/* One round of the test below: A (150) calls the passive server; the
 * server signals B (210), whose Call queues behind A's request; the
 * server's ReplyRecv answers A and takes B's Call. What A's and B's
 * SchedContexts consumed in it. */
static int queued_round(uint64_t s, uint64_t tcb_b, uint64_t sc_b, uint64_t ntfn, uint64_t *a,
                        uint64_t *b)
{
    uint64_t a0 = consumed_of(s + 5), b0 = consumed_of(sc_b);
    queued_done = 0;
    KT_OK(sys_tcb_suspend(tcb_b)); /* an exited thread starts again once inactive */
    KT_OK(sys_tcb_suspend(TCB(s, 1)));
    KT_OK(bk_thread_start(tcb_b, ROOT, BK_CAP_ROOT_VSPACE, late_client, ntfn << 16 | EP(s), stack3,
                          STACK_SIZE, 0, 210));
    KT_OK(bk_thread_start(TCB(s, 1), ROOT, BK_CAP_ROOT_VSPACE, one_call, EP(s), stack2, STACK_SIZE,
                          0, 150));
    uint64_t start = debug_time_ns();
    while (queued_done < 2 && debug_time_ns() - start < 500 * MS)
        yield();
    KT_CHECK(queued_done == 2);
    *a = consumed_of(s + 5) - a0;
    *b = consumed_of(sc_b) - b0;
    return 0;
}

/* A passive server that takes a queued Call in its ReplyRecv runs that
 * request on the new caller's SchedContext, and the CPU's time goes to it
 * from then on, not to the caller it just answered. */
static int test_queued_call_is_charged_to_its_caller(struct ktest_env *env)
{
    uint64_t s = kt_slots(), tcb_b = s + 6, sc_b = s + 7, ntfn = s + 8;
    KT_OK(make(env, s));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, tcb_b, 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, sc_b, 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_NOTIFICATION, 0, ROOT, 0, 0, ntfn, 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, s + 5, 1));
    KT_OK(start_passive(s, 0, signalling_server, ntfn << 16 | EP(s), stack));
    /* A request of ours first: without -icount the first run of the
     * server's code (QEMU translating it) would take far longer than the
     * next. Then the notification is clear again. */
    struct bk_msg m = { .info = bk_msginfo(0, 0) };
    sys_call(EP(s), &m);
    sys_nbrecv(ntfn, &m);
    KT_OK(whole_cpu(sc_b));
    KT_OK(sys_sched_context_bind(sc_b, tcb_b));
    KT_OK(whole_cpu(s + 5));
    KT_OK(sys_sched_context_bind(s + 5, TCB(s, 1)));
    /* One request's work each; were B's charged to A, B's would be almost
     * nothing. Without -icount a host stall may inflate either: a loose
     * bound, and up to six rounds (exited threads start again). */
    uint64_t a = 0, b = 0;
    for (unsigned round = 0; round < 6 && !(b * 4 >= a && a * 4 >= b && a); round++)
        KT_OK(queued_round(s, tcb_b, sc_b, ntfn, &a, &b));
    debug_printf("    the first caller's SchedContext %llu ns, the queued one's %llu ns\n",
                 (unsigned long long)a, (unsigned long long)b);
    KT_CHECK(b * 4 >= a && a * 4 >= b);
    KT_CHECK(kt_check_invariants() == 0);
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    return 0;
}

static volatile uint64_t fault_label, fault_words[BK_FAULT_WORDS], faults_seen;
/* The handler's IPC buffer: a fault's fifth word arrives there. */
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) handler_buffer;

/* A timeout handler: receives faults on `ep`, records the first, answers
 * each with label 0 (go on at the next refill). */
static void timeout_handler(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        if (faults_seen++ == 0) {
            fault_label = BK_MSGINFO_LABEL(m.info);
            for (unsigned i = 0; i < BK_FAULT_WORDS; i++)
                fault_words[i] = i < BK_MSG_CPU_WORDS ? m.mr[i] : handler_buffer.b.mr[i];
        }
        m.info = bk_msginfo(0, 0);
        sys_reply_recv(ep, &m);
    }
}

/* With timeout faults on, a thread that runs out of budget stops and its
 * handler hears of it: the SchedContext's badge, what it consumed, its
 * budget and period, where it stopped; the answer lets it go on. */
static int test_timeout_fault(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    faults_seen = 0;
    ran = 0;
    /* The handler (200) on the whole CPU, waiting on the endpoint. */
    KT_OK(whole_cpu(SC(s, 1)));
    KT_OK(sys_sched_context_bind(SC(s, 1), TCB(s, 1)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    KT_OK(bk_thread_start(TCB(s, 1), ROOT, BK_CAP_ROOT_VSPACE, timeout_handler, EP(s), stack,
                          STACK_SIZE, (uint64_t)(uintptr_t)&handler_buffer.b, 200));
    /* The spinner (150): 1 ms every 10, badge 77, faults to the endpoint. */
    KT_OK(sys_sched_control_configure(CTL, SC(s, 0), MS, 10 * MS, 2, 77));
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 0)));
    KT_EXPECT_ERR(sys_tcb_set_timeout_faults(TCB(s, 0), 2), BK_ERR_INVALID_ARGUMENT);
    KT_OK(sys_tcb_set_timeout_faults(TCB(s, 0), 1));
    KT_OK(sys_tcb_set_fault_endpoint(TCB(s, 0), EP(s)));
    KT_OK(bk_thread_start(TCB(s, 0), ROOT, BK_CAP_ROOT_VSPACE, spin_forever, 0, stack2,
                          STACK_SIZE, 0, 150));
    /* Until it ran out twice and ran at all: without -icount a vCPU the
     * host holds back still spends the budget on the kernel's clock, and
     * its first budget may end before its first instruction (two of 112
     * runs, four -smp 4 QEMUs on a 2-core host). */
    uint64_t start = debug_time_ns();
    while ((faults_seen < 2 || ran == 0) && debug_time_ns() - start < 2000 * MS)
        yield();
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    KT_OK(sys_tcb_suspend(TCB(s, 1)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    debug_printf("    %llu timeout faults; the first: badge %llu, consumed %llu ns, "
                 "budget %llu, period %llu\n",
                 (unsigned long long)faults_seen, (unsigned long long)fault_words[0],
                 (unsigned long long)fault_words[1], (unsigned long long)fault_words[2],
                 (unsigned long long)fault_words[3]);
    KT_CHECK(faults_seen >= 2); /* the answer let it run, and run out, again */
    KT_CHECK(fault_label == BK_FAULT_TIMEOUT);
    KT_CHECK(fault_words[0] == 77 && fault_words[2] == MS && fault_words[3] == 10 * MS);
    KT_CHECK(fault_words[1] >= MS);
    KT_CHECK(fault_words[4] != 0 && ran > 0);
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* A periodic thread: at each wake-up (after the first) the clock and
 * SchedContext: Released of its own SchedContext, then Yield. */
#define WAKES 6
static volatile uint64_t woke_at[WAKES], asked_at[WAKES], due_at[WAKES], released_count[WAKES];
static volatile uint64_t wakes;
static uint64_t periodic_sc;

static void periodic(uint64_t arg)
{
    (void)arg;
    for (;;) {
        uint64_t i = wakes;
        if (i < WAKES) {
            woke_at[i] = debug_time_ns();
            uint64_t due = 0, releases = 0, due_count = 0;
            sys_sched_context_released(periodic_sc, &due, &releases, &due_count);
            asked_at[i] = debug_time_ns();
            due_at[i] = due;
            released_count[i] = releases;
            wakes = i + 1;
        }
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
    }
}

/* SchedContext: Released: 0 and 0 before any release; then, for a thread
 * that yields its budget each period, the due instant of the refill it
 * woke on (at or before its clock reading, later than the last) and the
 * count of releases. The latency itself is the benchmark's (tools/bench,
 * cpu_victim_*): this test runs on the host's time. */
static int test_released(struct ktest_env *env)
{
    uint64_t s = kt_slots(), due = 1, releases = 1, due_count = 1;
    KT_OK(make(env, s));
    KT_OK(sys_sched_control_configure(CTL, SC(s, 0), 200000, 2 * MS, 2, 0));
    KT_OK(sys_sched_context_released(SC(s, 0), &due, &releases, &due_count));
    KT_CHECK(due == 0 && releases == 0 && due_count == 0);
    /* Another object's cap: the method is not its own (an endpoint's would
     * be a Call, so a thread's). */
    KT_EXPECT_ERR(sys_sched_context_released(TCB(s, 1), &due, &releases, &due_count),
                  BK_ERR_ILLEGAL_OPERATION);
    periodic_sc = SC(s, 0);
    wakes = 0;
    KT_OK(sys_sched_context_bind(SC(s, 0), TCB(s, 0)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    KT_OK(bk_thread_start(TCB(s, 0), ROOT, BK_CAP_ROOT_VSPACE, periodic, 0, stack, STACK_SIZE,
                          0, 150));
    uint64_t start = debug_time_ns();
    while (wakes < WAKES && debug_time_ns() - start < 100 * MS)
        yield();
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    KT_CHECK(wakes == WAKES);
    for (unsigned i = 1; i < WAKES; i++) {
        uint64_t late = woke_at[i] - due_at[i];
        debug_printf("    wake-up %u: %llu ns after its refill came due (release %llu, "
                     "%llu ns after the last due)\n",
                     i, (unsigned long long)late, (unsigned long long)released_count[i],
                     (unsigned long long)(due_at[i] - due_at[i - 1]));
        /* Never after it woke; how long before is the latency (the
         * benchmark's, not a test's: this one runs on the host's time). */
        /* Counted up, never down; the last release's due instant never
         * after the Released call that told it. (A wake-up need not be a
         * release of its own: a second refill may be due already, and the
         * host may deschedule the vCPU past a 200 us budget, which adds
         * one, even between the wake-up's reading and the call: so the
         * bound is the reading after the call, not the wake-up's.) */
        KT_CHECK(released_count[i] >= released_count[i - 1]);
        KT_CHECK(released_count[i] == 0 || (due_at[i] != 0 && due_at[i] <= asked_at[i]));
        if (released_count[i] > released_count[i - 1] && released_count[i - 1] > 0)
            KT_CHECK(due_at[i] > due_at[i - 1]);
    }
    KT_CHECK(released_count[WAKES - 1] >= 1);
    return 0;
}

const struct ktest sched_tests[] = {
    { "schedcontext: the root task runs on a SchedContext; SchedControl is in the boot info",
      test_boot_caps },
    { "schedcontext: SchedControl: Configure refuses every bad argument", test_configure_errors },
    { "schedcontext: Released tells when a yielding thread's refill came due", test_released },
    { "schedcontext: Bind and Unbind refuse what is bound already or not a thread", test_bind_errors },
    { "schedcontext: a thread without time never runs, and runs once it has some",
      test_no_time_no_run },
    { "schedcontext: Unbind or deleting the SchedContext stops a running thread",
      test_unbind_and_delete_stop_a_thread },
    { "schedcontext: a blocked thread without time is woken but runs only once it has time",
      test_blocked_thread_survives_losing_its_time },
    { "schedcontext: a passive server runs on its caller's time, and only then",
      test_passive_server_runs_on_callers_time },
    { "schedcontext: a chain of passive servers returns every loan",
      test_nested_chain_returns_every_loan },
    { "schedcontext: a passive server stopped mid-request gives the caller its time back; "
      "one whose caller dies keeps the loan",
      test_stopped_server_returns_the_loan },
    { "schedcontext: running out of budget is a timeout fault for the handler, when asked",
      test_timeout_fault },
    { "schedcontext: a queued Call a passive server takes in ReplyRecv runs on its caller's time",
      test_queued_call_is_charged_to_its_caller },
};
const unsigned sched_test_count = sizeof(sched_tests) / sizeof(sched_tests[0]);
