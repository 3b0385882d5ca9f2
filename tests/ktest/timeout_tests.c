/*
 * Timeout faults beyond a thread's own budget (docs/scheduling.md,
 * "Timeout faults" and "Losing a loan"): TCB: SetTimeoutEndpoint sends
 * them apart from the thread's other faults; a passive server that runs
 * out of its caller's budget is told and goes on at the caller's next
 * refill; one whose loan is taken away mid-request (the caller's
 * SchedContext deleted) is told too, with budget 0, and goes on once its
 * handler binds it time. TCB: ReadPriority shows what a TCB cap's MCP
 * allows.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192
#define CTL BK_CAP_SCHED_CONTROL
#define MS 1000000ull
#define HANDLER_PRIORITY 250
#define SERVER_PRIORITY 200
#define CLIENT_PRIORITY 150

/* Slots from kt_slots(): three TCBs, four SchedContexts, two endpoints, a
 * notification, a spare. */
#define SERVER(s) ((s) + 0)
#define HANDLER(s) ((s) + 1)
#define CLIENT(s) ((s) + 2)
#define SERVER_SC(s) ((s) + 3) /* the server's to start with, later its rescue */
#define HANDLER_SC(s) ((s) + 4)
#define CLIENT_SC(s) ((s) + 5)
#define CLIENT_SC2(s) ((s) + 6)
#define EP(s) ((s) + 7)         /* the server's */
#define TIMEOUT_EP(s) ((s) + 8) /* the handler's */
#define NTFN(s) ((s) + 9)
#define SPARE(s) ((s) + 10)

static uint8_t server_stack[STACK_SIZE] __attribute__((aligned(16)));
static uint8_t handler_stack[STACK_SIZE] __attribute__((aligned(16)));
static uint8_t client_stack[STACK_SIZE] __attribute__((aligned(16)));

/* What the handler saw: the first fault's label and words, the last
 * fault's badge, how many. */
static volatile uint64_t fault_label, fault_badge, fault_words[BK_MSG_CPU_WORDS], faults_seen;
static volatile uint64_t last_badge;
/* The handler gives the thread whose faults carry badge b the SchedContext
 * rescue_sc[b] before it answers (0: none). */
#define BADGES 16
static volatile uint64_t rescue_sc[BADGES], rescue_tcb[BADGES];
static volatile uint64_t served, release, client_done, client_label, client_value;

static long whole_cpu(uint64_t sc, uint64_t badge)
{
    return sys_sched_control_configure(CTL, sc, 10 * MS, 10 * MS, 1, badge);
}

static void set_root_priority(unsigned p)
{
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, p);
}

static void yield(void)
{
    struct bk_msg m = { 0 };
    sys_yield(0, &m);
}

/* Yields until *flag != 0 or `ms` passed; returns the flag. */
static uint64_t wait_for(volatile uint64_t *flag, uint64_t ms)
{
    uint64_t start = debug_time_ns();
    while (!*flag && debug_time_ns() - start < ms * MS)
        yield();
    return *flag;
}

static uint64_t state_of(uint64_t tcb)
{
    uint64_t pc, sp, arg, state = ~0ull;
    sys_tcb_read_registers(tcb, &pc, &sp, &arg, &state);
    return state;
}

static uint64_t consumed_of(uint64_t sc)
{
    uint64_t consumed = 0, throttled, budget, period;
    sys_sched_context_consumed(sc, &consumed, &throttled, &budget, &period);
    return consumed;
}

/* A timeout handler on `ep`: records the first fault, gives the faulted
 * thread the rescue SchedContext if one is set, answers label 0. */
static void handler(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        if (faults_seen == 0) {
            fault_label = BK_MSGINFO_LABEL(m.info);
            fault_badge = m.badge;
            for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
                fault_words[i] = m.mr[i];
        }
        faults_seen++;
        last_badge = m.badge;
        if (m.badge < BADGES && rescue_sc[m.badge])
            sys_sched_context_bind(rescue_sc[m.badge], rescue_tcb[m.badge]);
        m.info = bk_msginfo(0, 0);
        sys_reply_recv(ep, &m);
    }
}

/* A server on `arg & 0xffff` that signals the notification `arg >> 16`
 * when a request starts and works until `release` is set; answers the
 * first word plus one. */
static void releasing_server(uint64_t arg)
{
    uint64_t ep = arg & 0xffff, ntfn = arg >> 16;
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        struct bk_msg s = { .info = bk_msginfo(0, 0) };
        sys_send(ntfn, &s);
        while (!release)
            served++;
        release = 0;
        m.info = bk_msginfo(0, 1);
        m.mr[0]++;
        sys_reply_recv(ep, &m);
    }
}

/* A server that, for each request, tells the root task it has started
 * (`arg >> 16 & 0xffff`, a notification), then waits for a device (the
 * notification `arg >> 32`) before it answers the first word plus one. */
static void waiting_server(uint64_t arg)
{
    uint64_t ep = arg & 0xffff, ntfn = arg >> 16 & 0xffff, device = arg >> 32;
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        struct bk_msg s = { .info = bk_msginfo(0, 0) }, d = { 0 };
        sys_send(ntfn, &s);
        sys_recv(device, &d);
        m.info = bk_msginfo(0, 1);
        m.mr[0]++;
        sys_reply_recv(ep, &m);
    }
}

/* A server that works 10 ms of the clock on each request (its callers'
 * budget below is 1 ms of every 10), then answers the first word plus
 * one. */
static void slow_server(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        uint64_t start = debug_time_ns();
        while (debug_time_ns() - start < 10 * MS)
            served++;
        m.info = bk_msginfo(0, 1);
        m.mr[0]++;
        sys_reply_recv(ep, &m);
    }
}

static void client(uint64_t ep)
{
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { 41 } };
    sys_call(ep, &m);
    client_label = BK_MSGINFO_LABEL(m.info);
    client_value = m.mr[0];
    client_done = 1;
    sys_thread_exit(0);
}

/* Calls `ep` CLIENT_CALLS times; the last answer and the count are kept. */
#define CLIENT_CALLS 8
static void repeating_client(uint64_t ep)
{
    for (unsigned i = 0; i < CLIENT_CALLS; i++) {
        struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { 41 } };
        sys_call(ep, &m);
        client_label |= BK_MSGINFO_LABEL(m.info);
        client_value = m.mr[0];
        client_done++;
    }
    sys_thread_exit(0);
}

static void spin(uint64_t arg)
{
    (void)arg;
    for (;;)
        served++;
}

static int make(struct ktest_env *env, uint64_t s)
{
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, SERVER(s), 3));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, SERVER_SC(s), 4));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, EP(s), 2));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_NOTIFICATION, 0, ROOT, 0, 0, NTFN(s), 1));
    faults_seen = served = release = client_done = client_label = client_value = 0;
    for (unsigned b = 0; b < BADGES; b++)
        rescue_sc[b] = rescue_tcb[b] = 0;
    return 0;
}

/* The handler at HANDLER_PRIORITY on a whole CPU of its own, waiting on
 * TIMEOUT_EP (it runs once we drop below it). */
static int start_handler(uint64_t s)
{
    KT_OK(whole_cpu(HANDLER_SC(s), 0));
    KT_OK(sys_sched_context_bind(HANDLER_SC(s), HANDLER(s)));
    KT_OK(bk_thread_start(HANDLER(s), ROOT, BK_CAP_ROOT_VSPACE, handler, TIMEOUT_EP(s),
                          handler_stack, STACK_SIZE, 0, HANDLER_PRIORITY));
    return 0;
}

/* A server thread `tcb` running `fn`, its timeout faults to TIMEOUT_EP
 * with `badge`, run up to its Recv on `sc`, which is then taken away:
 * passive. Leaves the root task at 100. */
static int start_passive_at(uint64_t s, uint64_t tcb, uint64_t sc, uint64_t badge,
                            void (*fn)(uint64_t), uint64_t arg, uint8_t *stack)
{
    KT_OK(sys_cnode_mint(ROOT, SPARE(s), W, ROOT, TIMEOUT_EP(s), W, BK_RIGHT_WRITE, badge));
    KT_OK(sys_tcb_set_timeout_endpoint(tcb, SPARE(s)));
    KT_OK(sys_cnode_delete(ROOT, SPARE(s), W)); /* the TCB keeps its copy */
    KT_OK(sys_tcb_set_timeout_faults(tcb, 1));
    KT_OK(whole_cpu(sc, 0));
    KT_OK(sys_sched_context_bind(sc, tcb));
    KT_OK(bk_thread_start(tcb, ROOT, BK_CAP_ROOT_VSPACE, fn, arg, stack, STACK_SIZE, 0,
                          SERVER_PRIORITY));
    set_root_priority(100); /* the handler and the server reach their Recv */
    KT_CHECK(state_of(tcb) == BK_THREAD_STATE_BLOCKED_RECV);
    KT_OK(sys_sched_context_unbind(sc));
    return 0;
}

/* The server, as above, with badge 9 and SERVER_SC. */
static int start_passive_server(uint64_t s, void (*fn)(uint64_t), uint64_t arg)
{
    return start_passive_at(s, SERVER(s), SERVER_SC(s), 9, fn, arg, server_stack);
}

static int start_client_of(uint64_t s, uint64_t ep, uint64_t sc, unsigned priority)
{
    KT_OK(sys_sched_context_bind(sc, CLIENT(s)));
    KT_OK(bk_thread_start(CLIENT(s), ROOT, BK_CAP_ROOT_VSPACE, client, ep, client_stack,
                          STACK_SIZE, 0, priority));
    return 0;
}

static int start_client(uint64_t s, uint64_t sc, unsigned priority)
{
    return start_client_of(s, EP(s), sc, priority);
}

static void stop_all(uint64_t s)
{
    sys_tcb_suspend(SERVER(s));
    sys_tcb_suspend(HANDLER(s));
    sys_tcb_suspend(CLIENT(s));
    set_root_priority(255);
}

/* Timeout faults go to the timeout endpoint when the thread has one, to
 * its fault endpoint when not; bad endpoint caps are refused. */
static int test_timeout_endpoint(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_EXPECT_ERR(sys_tcb_set_timeout_endpoint(CLIENT(s), NTFN(s)), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_tcb_set_timeout_endpoint(CLIENT(s), SPARE(s)), BK_ERR_FAILED_LOOKUP);
    KT_OK(sys_cnode_mint(ROOT, SPARE(s), W, ROOT, TIMEOUT_EP(s), W, BK_RIGHT_READ, 0));
    KT_EXPECT_ERR(sys_tcb_set_timeout_endpoint(CLIENT(s), SPARE(s)), BK_ERR_INSUFFICIENT_RIGHTS);
    KT_OK(sys_cnode_delete(ROOT, SPARE(s), W));
    KT_OK(start_handler(s));
    /* The spinner: 1 ms every 10, badge 77; its faults go to EP(s), where
     * nobody listens, its timeout faults to the handler. */
    KT_OK(sys_sched_control_configure(CTL, CLIENT_SC(s), MS, 10 * MS, 2, 77));
    KT_OK(sys_sched_context_bind(CLIENT_SC(s), CLIENT(s)));
    KT_OK(sys_tcb_set_fault_endpoint(CLIENT(s), EP(s)));
    KT_OK(sys_tcb_set_timeout_endpoint(CLIENT(s), TIMEOUT_EP(s)));
    KT_OK(sys_tcb_set_timeout_faults(CLIENT(s), 1));
    KT_OK(bk_thread_start(CLIENT(s), ROOT, BK_CAP_ROOT_VSPACE, spin, 0, client_stack, STACK_SIZE,
                          0, CLIENT_PRIORITY));
    set_root_priority(100);
    uint64_t start = debug_time_ns();
    while (faults_seen < 2 && debug_time_ns() - start < 500 * MS)
        yield();
    KT_CHECK(faults_seen >= 2 && fault_label == BK_FAULT_TIMEOUT && fault_words[0] == 77);
    KT_CHECK(state_of(CLIENT(s)) != BK_THREAD_STATE_BLOCKED_SEND); /* none went to EP(s) */
    /* Without a timeout endpoint they go to the fault endpoint again: the
     * spinner waits there, as a fault's Call, for a receiver. */
    KT_OK(sys_tcb_set_timeout_endpoint(CLIENT(s), 0));
    start = debug_time_ns();
    while (state_of(CLIENT(s)) != BK_THREAD_STATE_BLOCKED_SEND &&
           debug_time_ns() - start < 500 * MS)
        yield();
    struct bk_msg m = { 0 };
    sys_nbrecv(EP(s), &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == BK_FAULT_TIMEOUT && m.mr[0] == 77);
    stop_all(s);
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* TCB: ReadPriority reads back what SetPriority and SetMCPriority set. */
static int test_read_priority(struct ktest_env *env)
{
    uint64_t s = kt_slots(), priority = 0, mcp = 0;
    KT_OK(make(env, s));
    KT_OK(sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp));
    KT_CHECK(priority == 255 && mcp == 255);
    KT_OK(sys_tcb_read_priority(CLIENT(s), &priority, &mcp));
    KT_CHECK(priority == 0 && mcp == 0);
    KT_OK(sys_tcb_set_priority(CLIENT(s), BK_CAP_ROOT_TCB, 42));
    KT_OK(sys_tcb_set_mc_priority(CLIENT(s), BK_CAP_ROOT_TCB, 17));
    KT_OK(sys_tcb_read_priority(CLIENT(s), &priority, &mcp));
    KT_CHECK(priority == 42 && mcp == 17);
    /* With it as authority nothing goes above 17. */
    KT_EXPECT_ERR(sys_tcb_set_priority(SERVER(s), CLIENT(s), 18), BK_ERR_RANGE);
    KT_CHECK(sys_tcb_read_priority(CLIENT_SC(s), &priority, &mcp) < 0); /* not a TCB */
    return 0;
}

/* A passive server that runs out of its caller's budget mid-request: its
 * timeout handler hears of it with the caller's SchedContext's badge and
 * budget, answers, and the request completes at the caller's next refill
 * on the caller's time; nothing hangs. */
static int test_donated_budget_runs_out(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_OK(start_handler(s));
    KT_OK(start_passive_server(s, slow_server, EP(s)));
    KT_OK(sys_sched_control_configure(CTL, CLIENT_SC(s), MS, 10 * MS, 2, 55));
    /* Eight requests: without -icount a host stall longer than the
     * period can let a budget end with its refill due already (no wait,
     * no fault), and a loaded host stalls often; not all of them. */
    KT_OK(sys_sched_context_bind(CLIENT_SC(s), CLIENT(s)));
    KT_OK(bk_thread_start(CLIENT(s), ROOT, BK_CAP_ROOT_VSPACE, repeating_client, EP(s),
                          client_stack, STACK_SIZE, 0, CLIENT_PRIORITY));
    uint64_t start = debug_time_ns();
    while (client_done < CLIENT_CALLS && debug_time_ns() - start < 4000 * MS)
        yield();
    uint64_t consumed, throttled, budget, period;
    KT_OK(sys_sched_context_consumed(CLIENT_SC(s), &consumed, &throttled, &budget, &period));
    debug_printf("    %llu timeout faults; the client's SchedContext ran out %llu times, "
                 "consumed %llu ns\n",
                 (unsigned long long)faults_seen, (unsigned long long)throttled,
                 (unsigned long long)consumed);
    KT_CHECK(client_done == CLIENT_CALLS && client_label == 0 && client_value == 42);
    KT_CHECK(faults_seen >= 1 && fault_label == BK_FAULT_TIMEOUT && fault_badge == 9);
    KT_CHECK(fault_words[0] == 55 && fault_words[2] == MS && fault_words[3] == 10 * MS);
    /* The server's spinning is charged to the client, which runs out at
     * least once. Not a budget per request: the server spins for 10 ms of
     * the host's time, so a request that starts late in a budget may end
     * while that budget waits for its refill (no -icount here). */
    KT_CHECK(throttled >= 1 && consumed >= MS);
    /* Its own: only its start-up, well under one request's 10 ms of
     * spinning (a loaded host has stretched the start-up past 1 ms). */
    KT_CHECK(consumed_of(SERVER_SC(s)) < 5 * MS);
    stop_all(s);
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* A passive server whose loan is taken away mid-request (its caller's
 * SchedContext deleted) gets a timeout fault with budget 0; its handler
 * binds it a SchedContext of its own and answers; the request completes
 * and the caller, given time again, has its answer. Unbound again in its
 * Recv, the server is passive as before. */
static int test_lost_loan(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_OK(start_handler(s));
    KT_OK(start_passive_server(s, releasing_server, NTFN(s) << 16 | EP(s)));
    KT_OK(whole_cpu(CLIENT_SC(s), 66));
    KT_OK(whole_cpu(CLIENT_SC2(s), 0));
    set_root_priority(255); /* above the server: we take its loan mid-request */
    KT_OK(start_client(s, CLIENT_SC(s), CLIENT_PRIORITY));
    struct bk_msg m = { 0 };
    sys_recv(NTFN(s), &m); /* the client calls; the server starts and signals */
    KT_CHECK(state_of(SERVER(s)) == BK_THREAD_STATE_RUNNABLE); /* mid-request, preempted */
    uint64_t period = 10 * MS;
    rescue_sc[9] = SERVER_SC(s);
    rescue_tcb[9] = SERVER(s);
    KT_OK(sys_cnode_delete(ROOT, CLIENT_SC(s), W)); /* the final cap: the loan is gone */
    KT_CHECK(state_of(SERVER(s)) == BK_THREAD_STATE_BLOCKED_REPLY); /* its fault's Call */
    release = 1;
    set_root_priority(100); /* the handler binds the rescue; the server answers */
    KT_CHECK(wait_for(&faults_seen, 200) == 1);
    KT_CHECK(fault_label == BK_FAULT_TIMEOUT && fault_badge == 9 && fault_words[0] == 66);
    KT_CHECK(fault_words[2] == 0 && fault_words[3] == period);
    KT_CHECK(state_of(SERVER(s)) == BK_THREAD_STATE_BLOCKED_RECV);
    KT_CHECK(state_of(CLIENT(s)) == BK_THREAD_STATE_RUNNABLE && !client_done);
    KT_OK(sys_sched_context_bind(CLIENT_SC2(s), CLIENT(s))); /* it runs at once */
    KT_CHECK(client_done && client_label == 0 && client_value == 42);
    /* Passive again: our Call runs it on our time, not on the rescue. */
    KT_OK(sys_sched_context_unbind(SERVER_SC(s)));
    uint64_t rescue_before = consumed_of(SERVER_SC(s));
    release = 1;
    m = (struct bk_msg){ .info = bk_msginfo(0, 1), .mr = { 1 } };
    sys_call(EP(s), &m);
    KT_CHECK(m.mr[0] == 2 && consumed_of(SERVER_SC(s)) == rescue_before);
    stop_all(s);
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* Slots past make()'s for a second server in front of the first. */
#define OUTER(s) ((s) + 11)
#define OUTER_SC(s) ((s) + 12)
#define OUTER_EP(s) ((s) + 13)
static uint8_t outer_stack[STACK_SIZE] __attribute__((aligned(16)));

/* The same in a chain: the client calls an outer passive server, which
 * lends the loan on to the inner one. The inner one loses it and is
 * rescued as above; the outer one, answered with no time and owing the
 * client an answer, gets its own timeout fault then, and is rescued too. */
static int test_lost_loan_in_a_chain(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, OUTER(s), 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, OUTER_SC(s), 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, OUTER_EP(s), 1));
    KT_OK(start_handler(s));
    KT_OK(start_passive_server(s, releasing_server, NTFN(s) << 16 | EP(s)));
    KT_OK(start_passive_at(s, OUTER(s), OUTER_SC(s), 10, kt_forwarding_server,
                           EP(s) << 16 | OUTER_EP(s), outer_stack));
    KT_OK(whole_cpu(CLIENT_SC(s), 66));
    KT_OK(whole_cpu(CLIENT_SC2(s), 0));
    set_root_priority(255);
    KT_OK(start_client_of(s, OUTER_EP(s), CLIENT_SC(s), CLIENT_PRIORITY));
    struct bk_msg m = { 0 };
    sys_recv(NTFN(s), &m); /* the inner server works on the client's loan */
    rescue_sc[9] = SERVER_SC(s);
    rescue_tcb[9] = SERVER(s);
    rescue_sc[10] = OUTER_SC(s);
    rescue_tcb[10] = OUTER(s);
    KT_OK(sys_cnode_delete(ROOT, CLIENT_SC(s), W));
    release = 1;
    set_root_priority(100);
    uint64_t start = debug_time_ns();
    while (faults_seen < 2 && debug_time_ns() - start < 200 * MS)
        yield();
    KT_CHECK(faults_seen == 2 && fault_badge == 9 && fault_words[2] == 0 && last_badge == 10);
    KT_CHECK(state_of(OUTER(s)) == BK_THREAD_STATE_BLOCKED_RECV);
    KT_OK(sys_sched_context_bind(CLIENT_SC2(s), CLIENT(s)));
    KT_CHECK(client_done && client_label == 0 && client_value == 43);
    stop_all(s);
    sys_tcb_suspend(OUTER(s));
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

#define DEVICE(s) ((s) + 14)

/* A passive server that loses its loan while it waits on a notification
 * (a device) with a Call to answer: nothing is said then (it is not
 * running), but once the notification wakes it with no time, its handler
 * hears of it (budget 0, no SchedContext named), binds it its rescue, and
 * the request completes. */
static int test_lost_loan_while_waiting(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(make(env, s));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_NOTIFICATION, 0, ROOT, 0, 0, DEVICE(s), 1));
    KT_OK(start_handler(s));
    KT_OK(start_passive_server(s, waiting_server, DEVICE(s) << 32 | NTFN(s) << 16 | EP(s)));
    KT_OK(whole_cpu(CLIENT_SC(s), 66));
    KT_OK(whole_cpu(CLIENT_SC2(s), 0));
    KT_OK(start_client(s, CLIENT_SC(s), CLIENT_PRIORITY));
    struct bk_msg m = { 0 };
    sys_recv(NTFN(s), &m); /* the server works on the client's loan */
    uint64_t start = debug_time_ns();
    while (state_of(SERVER(s)) != BK_THREAD_STATE_BLOCKED_NOTIFICATION &&
           debug_time_ns() - start < 200 * MS)
        yield();
    KT_CHECK(state_of(SERVER(s)) == BK_THREAD_STATE_BLOCKED_NOTIFICATION);
    rescue_sc[9] = SERVER_SC(s);
    rescue_tcb[9] = SERVER(s);
    KT_OK(sys_cnode_delete(ROOT, CLIENT_SC(s), W)); /* the loan is gone */
    KT_CHECK(faults_seen == 0 && state_of(SERVER(s)) == BK_THREAD_STATE_BLOCKED_NOTIFICATION);
    struct bk_msg signal = { .info = bk_msginfo(0, 0) };
    sys_send(DEVICE(s), &signal); /* the device: the server wakes with no time */
    KT_CHECK(wait_for(&faults_seen, 200) == 1);
    KT_CHECK(fault_label == BK_FAULT_TIMEOUT && fault_badge == 9 && fault_words[2] == 0);
    start = debug_time_ns();
    while (state_of(SERVER(s)) != BK_THREAD_STATE_BLOCKED_RECV && debug_time_ns() - start < 200 * MS)
        yield();
    KT_CHECK(state_of(SERVER(s)) == BK_THREAD_STATE_BLOCKED_RECV); /* answered on its rescue */
    KT_OK(sys_sched_context_bind(CLIENT_SC2(s), CLIENT(s)));
    KT_CHECK(wait_for(&client_done, 200) && client_label == 0 && client_value == 42);
    stop_all(s);
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

const struct ktest timeout_tests[] = {
    { "timeouts: timeout faults go to the timeout endpoint, else to the fault endpoint",
      test_timeout_endpoint },
    { "timeouts: TCB: ReadPriority reads the priority and the MCP", test_read_priority },
    { "timeouts: a passive server out of its caller's budget is told and ends at the refill",
      test_donated_budget_runs_out },
    { "timeouts: a passive server whose loan is deleted mid-request is told, budget 0",
      test_lost_loan },
    { "timeouts: in a chain of passive servers, each is told once it could go on",
      test_lost_loan_in_a_chain },
    { "timeouts: a passive server that loses its loan while it waits on a notification is told",
      test_lost_loan_while_waiting },
};
const unsigned timeout_test_count = sizeof(timeout_tests) / sizeof(timeout_tests[0]);
