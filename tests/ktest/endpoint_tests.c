/*
 * Endpoints shared between tenants (issue 10): what one tenant's threads
 * can do to another's IPC through a shared endpoint.
 *
 *  - Queueing one more sender costs the same whether the endpoint is empty
 *    or other tenants have parked 1500 senders on it, whatever their
 *    priorities: the cost is timed with the CPU's counter (x86-64 rdtsc,
 *    RISC-V rdinstret, as tests/bench does) and must stay within
 *    MAX_RATIO of the cost on an empty endpoint.
 *  - Senders still leave in priority order, first come first served among
 *    equals, through cancels and priority changes.
 *  - Deleting or revoking the last capability with a badge cancels the
 *    sends queued with that badge, so a client that gets the badge next
 *    never receives the old client's requests; deleting one of several
 *    leaves them queued; CNode: CancelBadgedSends cancels them on demand.
 *
 * The root task runs below its helpers (priority 40) while they block, so
 * each helper runs the moment it is started or woken.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define ENDPOINT_RIGHTS (BK_RIGHT_READ | BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY)
#define ROOT_LOW 40 /* the root task's priority while helpers run */

static long set_root_priority(unsigned prio)
{
    return sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, prio);
}

/* The guest's counter, as tests/bench/bulkhead/bench.c reads it: x86-64's
 * TSC, RISC-V's instret. Under -icount (the bench) both count guest
 * instructions; the ktest runs without it, where TCG derives both from
 * the host clock. Either way the least of SAMPLES runs is stable enough
 * for a ratio: the old queue walk made it 10x (RISC-V) to 46x (x86-64)
 * behind 1500 senders. */
/* Starts `tcb` at entry(arg) with registers alone (no TLS: the helpers
 * here call only syscall stubs), in the root task's spaces. */
static long start_bare(uint64_t tcb, void (*entry)(uint64_t), uint64_t arg, void *stack,
                       size_t size, unsigned prio)
{
    long r = sys_tcb_configure(tcb, ROOT, 0, BK_CAP_ROOT_VSPACE, 0);
    if (r == 0)
        r = sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, prio);
    if (r == 0)
        r = sys_tcb_write_registers(tcb, 1, (uint64_t)(uintptr_t)entry, bk_stack_top(stack, size),
                                    arg);
    return r;
}

/* ---- The cost of queueing a sender ----------------------------------------- */

#define QUEUE_UNTYPED_BITS 23 /* 8 MiB from the pool: the parked threads and their CNode */
#define PARKED_CNODE_BITS 12  /* 4096 slots for the parked threads' TCB and SchedContext caps */
#define PARKED 1500           /* 3 MiB of TCBs */
#define PARKED_PRIORITY 100
#define SAMPLES 15
#define MAX_RATIO 3 /* queueing behind PARKED senders vs. on an empty endpoint */

/* The parked threads never run past their Send (the test's revoke destroys
 * them), one at a time, so they share one stack. */
static uint8_t parked_stack[1024] __attribute__((aligned(16)));
static uint8_t measured_stack[4096] __attribute__((aligned(16)));
static volatile uint64_t send_started;

static void parked_sender(uint64_t ep)
{
    struct bk_msg m = { .info = bk_msginfo(1, 0) };
    sys_send(ep, &m);
    sys_thread_exit(0);
}

/* Reads the counter and sends: it blocks, queued, and the root task, below
 * it, runs on and reads the counter again. */
static void measured_sender(uint64_t ep)
{
    struct bk_msg m = { .info = bk_msginfo(2, 0) };
    send_started = bk_counter();
    sys_send(ep, &m);
    sys_thread_exit(0);
}

/* The least time, over SAMPLES runs, from the measured sender's counter
 * read before its Send to the root task's after the sender blocked: the
 * Send with the queueing, a switch and a return to user mode. The sender
 * is suspended after each run, which takes it off the queue. */
static uint64_t time_one_send(uint64_t tcb, uint64_t ep, unsigned prio)
{
    uint64_t best = ~0ull;
    if (sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, prio) != 0)
        return 0;
    for (unsigned i = 0; i < SAMPLES; i++) {
        /* Resume: the sender outranks the root task and runs at once. */
        if (sys_tcb_write_registers(tcb, 1, (uint64_t)(uintptr_t)measured_sender,
                                    bk_stack_top(measured_stack, sizeof(measured_stack)), ep))
            return 0;
        uint64_t end = bk_counter();
        if (end - send_started < best)
            best = end - send_started;
        if (sys_tcb_suspend(tcb) != 0)
            return 0;
    }
    return best;
}

/* Parks PARKED senders of PARKED_PRIORITY on `ep`; their TCB and
 * SchedContext caps go to the CNode at `cnode` (slots i and PARKED + i)
 * through the empty slots `scratch` and `scratch` + 1. */
static int park_senders(uint64_t untyped, uint64_t ep, uint64_t cnode, uint64_t scratch)
{
    uint64_t sc = scratch + 1;
    for (unsigned i = 0; i < PARKED; i++) {
        KT_OK(sys_untyped_retype(untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, scratch, 1));
        KT_OK(sys_untyped_retype(untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, sc, 1));
        KT_OK(sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, BK_SCHED_ROOT_PERIOD_NS,
                                          BK_SCHED_ROOT_PERIOD_NS, 1, 0));
        KT_OK(sys_sched_context_bind(sc, scratch));
        KT_OK(start_bare(scratch, parked_sender, ep, parked_stack, sizeof(parked_stack),
                         PARKED_PRIORITY));
        KT_OK(sys_cnode_move(cnode, i, PARKED_CNODE_BITS, ROOT, scratch, W));
        KT_OK(sys_cnode_move(cnode, PARKED + i, PARKED_CNODE_BITS, ROOT, sc, W));
    }
    return 0;
}

/* `what` took `full` against `empty` on an empty endpoint: within
 * MAX_RATIO? Prints the ratio either way, for the record. */
static int ratio_ok(const char *what, uint64_t full, uint64_t empty)
{
    uint64_t tenths = empty ? full * 10 / empty : ~0ull;
    debug_printf("    %s: %llu vs %llu on an empty endpoint (%llu.%llux)\n", what,
                 (unsigned long long)full, (unsigned long long)empty,
                 (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10));
    return empty && full < MAX_RATIO * empty;
}

/* Slots: s + 0 the 8 MiB untyped, s + 1 the endpoint, s + 2 the CNode of
 * parked threads, s + 3 the measured sender's TCB, s + 4 and s + 5 scratch. */
static int test_queueing_cost_independent_of_parked_senders(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    if (env->pool_bits <= QUEUE_UNTYPED_BITS) {
        debug_printf("    (pool too small: 2^%u bytes)\n", env->pool_bits);
        return 1;
    }
    KT_OK(sys_untyped_retype(env->pool, BK_OBJ_UNTYPED, QUEUE_UNTYPED_BITS, ROOT, 0, 0, s, 1));
    KT_OK(sys_untyped_retype(s, BK_OBJ_CNODE, PARKED_CNODE_BITS, ROOT, 0, 0, s + 2, 1));
    KT_OK(sys_untyped_retype(s, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, s + 1, 1));
    KT_OK(sys_untyped_retype(s, BK_OBJ_TCB, 0, ROOT, 0, 0, s + 3, 1));
    KT_OK(kt_give_cpu(env, s + 3, NULL));
    KT_OK(start_bare(s + 3, measured_sender, s + 1, measured_stack, sizeof(measured_stack),
                     PARKED_PRIORITY));
    KT_OK(sys_tcb_suspend(s + 3)); /* time_one_send() resumes it */
    KT_OK(set_root_priority(ROOT_LOW));
    uint64_t empty = time_one_send(s + 3, s + 1, PARKED_PRIORITY);
    int parked = park_senders(s, s + 1, s + 2, s + 4);
    /* Behind equals (FIFO), ahead of them all, behind them all. */
    uint64_t equal = time_one_send(s + 3, s + 1, PARKED_PRIORITY);
    uint64_t higher = time_one_send(s + 3, s + 1, PARKED_PRIORITY + 50);
    uint64_t lower = time_one_send(s + 3, s + 1, ROOT_LOW + 10);
    long violations = kt_check_invariants();
    KT_OK(set_root_priority(255));
    KT_CHECK(parked == 0 && empty != 0 && violations == 0);
    int ok = ratio_ok("behind 1500 of equal priority", equal, empty);
    ok &= ratio_ok("ahead of 1500 of lower priority", higher, empty);
    ok &= ratio_ok("behind 1500 of higher priority", lower, empty);
    KT_OK(sys_cnode_revoke(ROOT, s, W));
    KT_CHECK(ok);
    return 0;
}

/* ---- Priority order ---------------------------------------------------------- */

#define ORDER_SENDERS 8
static uint8_t order_stacks[ORDER_SENDERS][1024] __attribute__((aligned(16)));

/* Sends its tag (arg: tag << 16 | endpoint slot) and exits. */
static void tagged_sender(uint64_t arg)
{
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { arg >> 16 } };
    sys_send(arg & 0xffff, &m);
    sys_thread_exit(0);
}

/* Receives `count` messages on `ep` into tags[]. */
static void receive_tags(uint64_t ep, unsigned count, uint64_t *tags)
{
    for (unsigned i = 0; i < count; i++) {
        struct bk_msg m = { 0 };
        sys_recv(ep, &m);
        tags[i] = m.mr[0];
    }
}

/* Slots: s + 0.. 7 senders (tag i + 1), s + 8 the endpoint. */
static int test_priority_order_through_cancel_and_change(struct ktest_env *env)
{
    uint64_t s = kt_slots(), ep = s + 8;
    static const unsigned prios[ORDER_SENDERS] = { 100, 50, 100, 150, 50, 150, 100, 60 };
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s, ORDER_SENDERS));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, ep, 1));
    KT_OK(set_root_priority(ROOT_LOW));
    for (unsigned i = 0; i < ORDER_SENDERS; i++)
        KT_OK(start_bare(s + i, tagged_sender, (i + 1) << 16 | ep, order_stacks[i],
                         sizeof(order_stacks[i]), prios[i]));
    /* Queued: 4 6 | 1 3 7 | 8 | 2 5 (priority 150, 100, 60, 50). */
    long v0 = kt_check_invariants();
    KT_OK(sys_tcb_suspend(s + 2));                            /* 3 leaves: 4 6 1 7 8 2 5 */
    KT_OK(sys_tcb_set_priority(s + 4, BK_CAP_ROOT_TCB, 100)); /* 5 to the 100s: 4 6 1 7 5 8 2 */
    KT_OK(sys_tcb_set_priority(s + 3, BK_CAP_ROOT_TCB, 60));  /* 4 to the 60s: 6 1 7 5 8 4 2 */
    KT_OK(sys_tcb_set_priority(s + 5, BK_CAP_ROOT_TCB, 150)); /* unchanged: 6 1 7 5 8 4 2 */
    long v1 = kt_check_invariants();
    uint64_t tags[7];
    receive_tags(ep, 7, tags);
    KT_OK(set_root_priority(255));
    KT_CHECK(v0 == 0 && v1 == 0);
    static const uint64_t want[7] = { 6, 1, 7, 5, 8, 4, 2 };
    for (unsigned i = 0; i < 7; i++)
        KT_CHECK(tags[i] == want[i]);
    return 0;
}

/* ---- Badges that go away -------------------------------------------------------- */

static uint8_t client_stacks[2][1024] __attribute__((aligned(16)));
static volatile uint64_t client_answer[2]; /* the label of the answer + 1; 0: none yet */

/* Client i (arg: i << 16 | cap slot) calls with label and word 0xc0 + i
 * and records the answer's label. */
static void client(uint64_t arg)
{
    unsigned i = (unsigned)(arg >> 16);
    struct bk_msg m = { .info = bk_msginfo(0xc0 + i, 1), .mr = { 0xc0 + i } };
    sys_call(arg & 0xffff, &m);
    client_answer[i] = BK_MSGINFO_LABEL(m.info) + 1;
    sys_thread_exit(0);
}

/* Starts client i (TCB `tcb`) on the cap at `cap`; it blocks in Call. */
static long start_client(uint64_t tcb, unsigned i, uint64_t cap)
{
    client_answer[i] = 0;
    return start_bare(tcb, client, (uint64_t)i << 16 | cap, client_stacks[i],
                      sizeof(client_stacks[i]), 100);
}

/* The server's next message on `ep` comes from client `i` with `badge`;
 * answer it with label 0. */
static int expect_request(uint64_t ep, unsigned i, uint64_t badge)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    KT_CHECK(m.badge == badge && BK_MSGINFO_LABEL(m.info) == 0xc0 + i && m.mr[0] == 0xc0 + i);
    m = (struct bk_msg){ .info = bk_msginfo(0, 0) };
    sys_reply(0, &m);
    KT_CHECK(client_answer[i] == 1);
    return 0;
}

/* Slots: s + 0 endpoint, s + 1, s + 2 client TCBs, s + 3 .. free. */
static int make_server(struct ktest_env *env, uint64_t s)
{
    if (kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1) || kt_retype(env, BK_OBJ_TCB, 0, s + 1, 2))
        return 1;
    return (int)set_root_priority(ROOT_LOW);
}

/* Client A's badge-7 cap is deleted while its Call waits (the server was
 * busy); badge 7 goes to client B. The server's next message is B's. */
static int test_deleting_last_badge_cancels_its_sends(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_server(env, s) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 3, W, ROOT, s, W, BK_RIGHT_WRITE, 7));
    KT_OK(start_client(s + 1, 0, s + 3));
    KT_OK(sys_cnode_delete(ROOT, s + 3, W)); /* A runs at once if cancelled */
    uint64_t a_answer = client_answer[0];
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s, W, BK_RIGHT_WRITE, 7));
    KT_OK(start_client(s + 2, 1, s + 4));
    int b_first = expect_request(s, 1, 7);
    long violations = kt_check_invariants();
    KT_OK(set_root_priority(255));
    KT_CHECK(a_answer == BK_ERR_CANCELLED + 1);
    KT_CHECK(b_first == 0 && violations == 0);
    return 0;
}

/* The server gives each client its caps through a per-client unbadged
 * copy (s + 5), and takes them back by revoking it. */
static int test_revoking_last_badge_cancels_its_sends(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_server(env, s) == 0);
    KT_OK(sys_cnode_copy(ROOT, s + 5, W, ROOT, s, W, ENDPOINT_RIGHTS));
    KT_OK(sys_cnode_mint(ROOT, s + 3, W, ROOT, s + 5, W, BK_RIGHT_WRITE, 7));
    KT_OK(sys_cnode_copy(ROOT, s + 6, W, ROOT, s + 3, W, BK_RIGHT_WRITE)); /* A copies it */
    KT_OK(start_client(s + 1, 0, s + 6));
    KT_OK(sys_cnode_revoke(ROOT, s + 5, W));
    uint64_t a_answer = client_answer[0];
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s, W, BK_RIGHT_WRITE, 7));
    KT_OK(start_client(s + 2, 1, s + 4));
    int b_first = expect_request(s, 1, 7);
    KT_OK(set_root_priority(255));
    KT_CHECK(kt_type(s + 3) == 0 && kt_type(s + 6) == 0);
    KT_CHECK(a_answer == BK_ERR_CANCELLED + 1);
    KT_CHECK(b_first == 0);
    return 0;
}

/* While a cap with the badge remains (here the server's master copy), the
 * queued Call stays and arrives with the badge. */
static int test_badge_with_caps_left_keeps_its_sends(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_server(env, s) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 5, W, ROOT, s, W, ENDPOINT_RIGHTS, 7)); /* the master */
    KT_OK(sys_cnode_copy(ROOT, s + 3, W, ROOT, s + 5, W, BK_RIGHT_WRITE));
    KT_OK(sys_cnode_copy(ROOT, s + 4, W, ROOT, s + 3, W, BK_RIGHT_WRITE));
    KT_OK(start_client(s + 1, 0, s + 4));
    KT_OK(sys_cnode_delete(ROOT, s + 3, W)); /* a copy with copies below it */
    KT_OK(sys_cnode_delete(ROOT, s + 4, W)); /* the client's own */
    uint64_t a_answer = client_answer[0];
    int a_first = expect_request(s, 0, 7);
    KT_OK(set_root_priority(255));
    KT_CHECK(a_answer == 0 && a_first == 0);
    return 0;
}

/* CancelBadgedSends on the owner's cap cancels badge 7's queued Call while
 * the server's master copy of badge 7 lives on; badge 8's stays. */
static int test_cancel_badged_sends(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_server(env, s) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 5, W, ROOT, s, W, ENDPOINT_RIGHTS, 7)); /* master of 7 */
    KT_OK(sys_cnode_copy(ROOT, s + 3, W, ROOT, s + 5, W, BK_RIGHT_WRITE));
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s, W, BK_RIGHT_WRITE, 8));
    KT_OK(start_client(s + 1, 0, s + 3));
    KT_OK(start_client(s + 2, 1, s + 4));
    KT_OK(sys_cnode_cancel_badged_sends(ROOT, s, W, 7));
    uint64_t a_answer = client_answer[0];
    int b_next = expect_request(s, 1, 8);
    KT_OK(set_root_priority(255));
    KT_CHECK(a_answer == BK_ERR_CANCELLED + 1 && b_next == 0);
    /* The authority: the owner's unbadged cap with every endpoint right. */
    KT_OK(sys_cnode_copy(ROOT, s + 6, W, ROOT, s, W, BK_RIGHT_READ | BK_RIGHT_WRITE));
    KT_EXPECT_ERR(sys_cnode_cancel_badged_sends(ROOT, s, 0, 7), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_cnode_cancel_badged_sends(ROOT, s + 7, W, 7), BK_ERR_FAILED_LOOKUP);
    KT_EXPECT_ERR(sys_cnode_cancel_badged_sends(ROOT, s + 1, W, 7), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_cnode_cancel_badged_sends(ROOT, s + 5, W, 7), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_cnode_cancel_badged_sends(ROOT, s + 6, W, 7), BK_ERR_INSUFFICIENT_RIGHTS);
    KT_EXPECT_ERR(sys_cnode_cancel_badged_sends(ROOT, s, W, 0), BK_ERR_INVALID_ARGUMENT);
    return 0;
}

const struct ktest endpoint_tests[] = {
    { "endpoint: queueing a sender costs the same behind 1500 parked senders",
      test_queueing_cost_independent_of_parked_senders },
    { "endpoint: senders keep priority order through cancels and priority changes",
      test_priority_order_through_cancel_and_change },
    { "endpoint: deleting the last cap with a badge cancels the sends queued with it",
      test_deleting_last_badge_cancels_its_sends },
    { "endpoint: revoking the last cap with a badge cancels the sends queued with it",
      test_revoking_last_badge_cancels_its_sends },
    { "endpoint: sends stay queued while a cap with their badge remains",
      test_badge_with_caps_left_keeps_its_sends },
    { "cnode: cancel_badged_sends cancels one badge's queued sends; its errors",
      test_cancel_badged_sends },
};
const unsigned endpoint_test_count = sizeof(endpoint_tests) / sizeof(endpoint_tests[0]);
