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
static volatile uint64_t ran;

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
    KT_CHECK(env->bi->cpu_count == 1);
    KT_CHECK(env->bi->sched_control == BK_CAP_SCHED_CONTROL);
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

const struct ktest sched_tests[] = {
    { "schedcontext: the root task runs on a SchedContext; SchedControl is in the boot info",
      test_boot_caps },
    { "schedcontext: SchedControl: Configure refuses every bad argument", test_configure_errors },
    { "schedcontext: Bind and Unbind refuse what is bound already or not a thread", test_bind_errors },
    { "schedcontext: a thread without time never runs, and runs once it has some",
      test_no_time_no_run },
    { "schedcontext: Unbind or deleting the SchedContext stops a running thread",
      test_unbind_and_delete_stop_a_thread },
    { "schedcontext: a blocked thread without time is woken but runs only once it has time",
      test_blocked_thread_survives_losing_its_time },
};
const unsigned sched_test_count = sizeof(sched_tests) / sizeof(sched_tests[0]);
