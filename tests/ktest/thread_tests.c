/*
 * Threads, the scheduler, endpoints and notifications: threads made from
 * untyped memory run in the root task's address space and CSpace, talk to
 * it through IPC, and are checked for priority order, preemption,
 * timeslicing, suspension, deletion and rights.
 *
 * Helper threads use only register-sized messages (4 words) unless they
 * were given their own IPC buffer, since libsys's IPC buffer pointer is the
 * root task's (per-thread storage comes later).
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192
#define HELPERS 4

static uint8_t stacks[HELPERS][STACK_SIZE] __attribute__((aligned(16)));
/* One page each: an IPC buffer must be page aligned. */
static struct page_buffer {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) helper_buffers[HELPERS];
static volatile uint64_t shared[8];

/* Slots of the objects a test made: s + 0.. TCBs, s + 8.. endpoints,
 * s + 16.. notifications. */
#define TCB(s, i) ((s) + (i))
#define EP(s, i) ((s) + 8 + (i))
#define NTFN(s, i) ((s) + 16 + (i))

static int make_objects(struct ktest_env *env, uint64_t s, unsigned tcbs, unsigned eps,
                        unsigned ntfns)
{
    if (tcbs && kt_retype(env, BK_OBJ_TCB, 0, TCB(s, 0), tcbs))
        return 1;
    if (eps && kt_retype(env, BK_OBJ_ENDPOINT, 0, EP(s, 0), eps))
        return 1;
    if (ntfns && kt_retype(env, BK_OBJ_NOTIFICATION, 0, NTFN(s, 0), ntfns))
        return 1;
    return 0;
}

static long start(uint64_t tcb, unsigned i, void (*fn)(uint64_t), uint64_t arg, unsigned prio)
{
    return bk_thread_start(tcb, ROOT, BK_CAP_ROOT_VSPACE, fn, arg, stacks[i], STACK_SIZE, 0, prio);
}

/* Sets the root task's own priority (it starts at 255). */
static long set_root_priority(unsigned prio)
{
    return sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, prio);
}

/* ---- Helper thread bodies (arg: the slot base s) ------------------------ */

static void signaller(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_send(NTFN(s, 0), &m);
    sys_thread_exit(0);
}

/* Answers each Call on EP(s, 0) with mr0 + 1 and the badge in mr1. */
static void adder_server(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_recv(EP(s, 0), &m);
    for (;;) {
        uint64_t badge = m.badge;
        m.mr[0] += 1;
        m.mr[1] = badge;
        m.info = bk_msginfo(0, 2);
        sys_reply_recv(EP(s, 0), &m);
    }
}

/* Sends its priority-tagged message to EP(s, 0) and exits. */
static void tagged_sender(uint64_t arg)
{
    struct bk_msg m = { 0 };
    m.mr[0] = arg & 0xff;
    m.info = bk_msginfo(0, 1);
    sys_send(EP(arg >> 8, 0), &m);
    sys_thread_exit(0);
}

/* Marks that it ran, then blocks for good on NTFN(s, 0). */
static void marker(uint64_t s)
{
    struct bk_msg m = { 0 };
    shared[0] = 1;
    sys_recv(NTFN(s, 0), &m);
    sys_thread_exit(0);
}

static void spinner(uint64_t i)
{
    for (;;)
        shared[i]++;
}

/* Waits on EP(s, 0) and reports the label it woke with through NTFN(s, 0)
 * (badged with the label + 1). */
static void waiter_reporting_label(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_recv(EP(s, 0), &m);
    shared[0] = BK_MSGINFO_LABEL(m.info) + 1;
    sys_send(NTFN(s, 1), &m);
    sys_thread_exit(0);
}

/* Receives a long message into its own IPC buffer (arg: index << 32 | s)
 * and replies with the sum of its words. */
static void summing_server(uint64_t arg)
{
    uint64_t s = arg & 0xffffffff;
    struct bk_ipc_buffer *buf = &helper_buffers[arg >> 32].b;
    struct bk_msg m = { 0 };
    sys_recv(EP(s, 0), &m);
    uint64_t sum = m.mr[0] + m.mr[1] + m.mr[2] + m.mr[3];
    for (unsigned i = 4; i < BK_MSGINFO_LENGTH(m.info); i++)
        sum += buf->mr[i];
    m.mr[0] = sum;
    m.mr[1] = BK_MSGINFO_LENGTH(m.info);
    m.info = bk_msginfo(0, 2);
    sys_reply(0, &m);
    sys_thread_exit(0);
}

static void faulting_thread(uint64_t s)
{
    (void)s;
    shared[1] = 1;
    *(volatile int *)(uintptr_t)shared[2] = 1; /* shared[2] is 0: a null write */
    shared[1] = 2;
    sys_thread_exit(0);
}

/* ---- Tests ---------------------------------------------------------------- */

static int test_thread_runs_and_signals(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 0, 1) == 0);
    KT_CHECK(kt_type(TCB(s, 0)) == BK_OBJ_TCB);
    KT_OK(start(TCB(s, 0), 0, signaller, s, 100));
    struct bk_msg m = { 0 };
    sys_recv(NTFN(s, 0), &m); /* blocks: the helper runs and signals */
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == 0);
    return 0;
}

static int test_call_reply_ping_pong(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 1, 0) == 0);
    KT_OK(start(TCB(s, 0), 0, adder_server, s, 200));
    for (uint64_t i = 0; i < 1000; i++) {
        struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { i } };
        sys_call(EP(s, 0), &m);
        KT_CHECK(m.mr[0] == i + 1 && BK_MSGINFO_LENGTH(m.info) == 2);
    }
    return 0;
}

static int test_badges_reach_the_receiver(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 1, 0) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 30, W, ROOT, EP(s, 0), W, BK_RIGHTS_ALL, 0xbeef));
    KT_OK(sys_cnode_mint(ROOT, s + 31, W, ROOT, EP(s, 0), W, BK_RIGHTS_ALL, 42));
    KT_OK(start(TCB(s, 0), 0, adder_server, s, 200));
    struct bk_msg m = { .info = bk_msginfo(0, 1) };
    sys_call(s + 30, &m);
    KT_CHECK(m.mr[1] == 0xbeef);
    m = (struct bk_msg){ .info = bk_msginfo(0, 1) };
    sys_call(s + 31, &m);
    KT_CHECK(m.mr[1] == 42);
    m = (struct bk_msg){ .info = bk_msginfo(0, 1) };
    sys_call(EP(s, 0), &m);
    KT_CHECK(m.mr[1] == 0);
    return 0;
}

static int test_long_message_through_ipc_buffers(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 1, 0) == 0);
    KT_OK(bk_thread_start(TCB(s, 0), ROOT, BK_CAP_ROOT_VSPACE, summing_server, 1ull << 32 | s,
                          stacks[1], STACK_SIZE, (uint64_t)(uintptr_t)&helper_buffers[1].b, 200));
    struct bk_msg m = { .info = bk_msginfo(0, 20), .mr = { 1, 2, 3, 4 } };
    uint64_t want = 1 + 2 + 3 + 4;
    for (unsigned i = 4; i < 20; i++) {
        bk_ipc_buffer->mr[i] = 100 + i;
        want += 100 + i;
    }
    sys_call(EP(s, 0), &m);
    KT_CHECK(m.mr[1] == 20 && m.mr[0] == want);
    return 0;
}

static int test_senders_queue_by_priority(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 3, 1, 0) == 0);
    KT_OK(set_root_priority(5)); /* let the senders run and block first */
    static const unsigned prios[3] = { 20, 60, 40 };
    for (unsigned i = 0; i < 3; i++)
        KT_OK(start(TCB(s, i), i, tagged_sender, s << 8 | prios[i], prios[i]));
    unsigned got[3];
    for (unsigned i = 0; i < 3; i++) {
        struct bk_msg m = { 0 };
        sys_recv(EP(s, 0), &m);
        got[i] = (unsigned)m.mr[0];
    }
    KT_OK(set_root_priority(255));
    KT_CHECK(got[0] == 60 && got[1] == 40 && got[2] == 20);
    return 0;
}

static int test_higher_priority_thread_preempts(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 0, 1) == 0);
    KT_OK(set_root_priority(50));
    shared[0] = 0;
    KT_OK(start(TCB(s, 0), 0, marker, s, 49));
    KT_CHECK(shared[0] == 0); /* lower priority: has not run */
    /* Raised above the root, it runs at once, before this call returns. */
    KT_OK(sys_tcb_set_priority(TCB(s, 0), BK_CAP_ROOT_TCB, 51));
    KT_CHECK(shared[0] == 1);
    KT_OK(set_root_priority(255));
    return 0;
}

static int test_timeslices_share_one_priority(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 2, 0, 0) == 0);
    KT_OK(set_root_priority(30));
    shared[0] = shared[1] = 0;
    KT_OK(start(TCB(s, 0), 0, spinner, 0, 30));
    KT_OK(start(TCB(s, 1), 1, spinner, 1, 30));
    /* Root spins too: only timer preemption lets the others run. */
    uint64_t t0 = debug_ticks();
    while (debug_ticks() < t0 + 40 && (shared[0] == 0 || shared[1] == 0))
        ;
    KT_OK(set_root_priority(255));
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    KT_OK(sys_tcb_suspend(TCB(s, 1)));
    KT_CHECK(shared[0] > 0 && shared[1] > 0);
    return 0;
}

static int test_yield_lets_equal_priority_run(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 0, 0) == 0);
    KT_OK(set_root_priority(30));
    shared[0] = 0;
    KT_OK(start(TCB(s, 0), 0, spinner, 0, 30));
    struct bk_msg m = { 0 };
    sys_yield(0, &m); /* the spinner runs until the next timer tick */
    KT_OK(set_root_priority(255));
    KT_OK(sys_tcb_suspend(TCB(s, 0)));
    KT_CHECK(shared[0] > 0);
    return 0;
}

static int test_send_and_nonblocking_variants(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 0, 1, 0) == 0);
    struct bk_msg m = { .info = bk_msginfo(7, 1), .mr = { 9 } };
    sys_nbsend(EP(s, 0), &m); /* nobody waits: dropped, no block */
    m = (struct bk_msg){ .badge = 5, .info = 5 };
    sys_nbrecv(EP(s, 0), &m);
    KT_CHECK(m.info == 0 && m.badge == 0);
    return 0;
}

static int test_deleting_endpoint_wakes_waiters(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 1, 2) == 0);
    shared[0] = 0;
    KT_OK(set_root_priority(100)); /* the waiter runs at once and blocks */
    KT_OK(start(TCB(s, 0), 0, waiter_reporting_label, s, 200));
    /* The waiter blocked in recv; delete the only endpoint cap. */
    KT_OK(sys_cnode_delete(ROOT, EP(s, 0), W));
    struct bk_msg m = { 0 };
    sys_recv(NTFN(s, 1), &m);
    KT_CHECK(shared[0] == BK_ERR_CANCELLED + 1);
    KT_OK(set_root_priority(255));
    return 0;
}

static int test_rights_on_endpoints(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 0, 1, 0) == 0);
    KT_OK(sys_cnode_copy(ROOT, s + 30, W, ROOT, EP(s, 0), W, BK_RIGHT_READ));
    KT_OK(sys_cnode_copy(ROOT, s + 31, W, ROOT, EP(s, 0), W, BK_RIGHT_WRITE));
    struct bk_msg m = { .info = bk_msginfo(0, 1) };
    sys_call(s + 30, &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == BK_ERR_INSUFFICIENT_RIGHTS);
    m = (struct bk_msg){ 0 };
    sys_nbrecv(s + 31, &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == BK_ERR_INSUFFICIENT_RIGHTS);
    return 0;
}

static int test_notification_bits(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 0, 0, 1) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 30, W, ROOT, NTFN(s, 0), W, BK_RIGHT_WRITE, 0x1));
    KT_OK(sys_cnode_mint(ROOT, s + 31, W, ROOT, NTFN(s, 0), W, BK_RIGHT_WRITE, 0x4));
    struct bk_msg m = { 0 };
    sys_nbrecv(NTFN(s, 0), &m);
    KT_CHECK(m.badge == 0);
    sys_send(s + 30, &m);
    sys_send(s + 31, &m);
    sys_send(s + 31, &m);
    sys_recv(NTFN(s, 0), &m); /* does not block: bits are set */
    KT_CHECK(m.badge == 0x5);
    sys_nbrecv(NTFN(s, 0), &m);
    KT_CHECK(m.badge == 0);
    /* A send-only cap cannot wait. */
    sys_nbrecv(s + 30, &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == BK_ERR_INSUFFICIENT_RIGHTS);
    return 0;
}

static int test_priority_bounded_by_mcp(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 2, 0, 0) == 0);
    /* A fresh TCB has MCP 0: as authority it allows priority 0 only. */
    struct bk_msg r;
    uint64_t w[2] = { TCB(s, 1), 10 };
    kt_invoke(TCB(s, 0), BK_LABEL_TCB_SET_PRIORITY, 2, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_RANGE && r.mr[0] == 0 && r.mr[1] == 0);
    KT_OK(sys_tcb_set_priority(TCB(s, 0), TCB(s, 1), 0));
    KT_OK(sys_tcb_set_mc_priority(TCB(s, 1), BK_CAP_ROOT_TCB, 50));
    KT_OK(sys_tcb_set_priority(TCB(s, 0), TCB(s, 1), 50));
    KT_EXPECT_ERR(sys_tcb_set_priority(TCB(s, 0), TCB(s, 1), 51), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_tcb_set_priority(TCB(s, 0), EP(s, 0), 1), BK_ERR_FAILED_LOOKUP);
    KT_EXPECT_ERR(sys_tcb_set_priority(TCB(s, 0), BK_CAP_ROOT_CNODE, 1),
                  BK_ERR_INVALID_CAPABILITY);
    return 0;
}

static int test_configure_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 1, 0) == 0);
    KT_EXPECT_ERR(sys_tcb_resume(TCB(s, 0)), BK_ERR_ILLEGAL_OPERATION); /* not configured */
    KT_EXPECT_ERR(sys_tcb_configure(TCB(s, 0), EP(s, 0), 0, BK_CAP_ROOT_VSPACE, 0),
                  BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_tcb_configure(TCB(s, 0), ROOT, 0, BK_CAP_ROOT_VSPACE, 0x1234),
                  BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_tcb_configure(TCB(s, 0), ROOT, 0, BK_CAP_ROOT_VSPACE, 0x7000000),
                  BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_tcb_configure(TCB(s, 0), ROOT, 0, BK_CAP_ROOT_VSPACE, BK_ROOT_BOOTINFO_VADDR),
                  BK_ERR_INVALID_ARGUMENT); /* read-only page */
    KT_OK(sys_tcb_configure(TCB(s, 0), ROOT, 0, BK_CAP_ROOT_VSPACE, 0));
    KT_EXPECT_ERR(sys_tcb_suspend(BK_CAP_ROOT_TCB), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_tcb_write_registers(BK_CAP_ROOT_TCB, 0, 0, 0, 0), BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

static int test_faulting_thread_stops_alone(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 0, 0) == 0);
    shared[1] = 0;
    shared[2] = 0;
    KT_OK(set_root_priority(100)); /* the thread runs at once */
    KT_OK(start(TCB(s, 0), 0, faulting_thread, s, 200));
    KT_CHECK(shared[1] == 1); /* it ran up to the fault and no further */
    KT_OK(set_root_priority(255));
    return 0;
}

static int test_deleting_a_running_peer(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 1, 0) == 0);
    KT_OK(set_root_priority(100)); /* the server runs at once and blocks in recv */
    KT_OK(start(TCB(s, 0), 0, adder_server, s, 200));
    KT_OK(set_root_priority(255));
    KT_OK(sys_cnode_delete(ROOT, TCB(s, 0), W)); /* the server's last TCB cap */
    struct bk_msg m = { .info = bk_msginfo(0, 1) };
    sys_nbsend(EP(s, 0), &m); /* nobody receives any more */
    m = (struct bk_msg){ 0 };
    sys_nbrecv(EP(s, 0), &m);
    KT_CHECK(m.info == 0);
    return 0;
}

static int test_read_registers(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 0, 0) == 0);
    KT_OK(sys_tcb_configure(TCB(s, 0), ROOT, 0, BK_CAP_ROOT_VSPACE, 0));
    KT_OK(sys_tcb_write_registers(TCB(s, 0), 0, 0x3000, 0x7000, 0xabc));
    uint64_t pc = 0, sp = 0, arg = 0, state = 99;
    KT_OK(sys_tcb_read_registers(TCB(s, 0), &pc, &sp, &arg, &state));
    KT_CHECK(pc == 0x3000 && sp == 0x7000 && arg == 0xabc && state == BK_THREAD_STATE_INACTIVE);
    /* Its state follows it: stopped by a fault once it runs at 0x3000,
     * where nothing is mapped (no fault handler). */
    KT_OK(sys_tcb_set_priority(TCB(s, 0), BK_CAP_ROOT_TCB, 200));
    KT_OK(set_root_priority(100));
    KT_OK(sys_tcb_resume(TCB(s, 0)));
    KT_OK(set_root_priority(255));
    KT_OK(sys_tcb_read_registers(TCB(s, 0), &pc, &sp, &arg, &state));
    KT_CHECK(state == BK_THREAD_STATE_FAULTED && pc == 0x3000);
    return 0;
}

static int test_every_register_reads_back(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 0, 0) == 0);
    KT_OK(sys_tcb_configure(TCB(s, 0), ROOT, 0, BK_CAP_ROOT_VSPACE, 0));
    for (uint64_t i = 0; i < BK_REG_COUNT; i++)
        KT_OK(sys_tcb_write_register(TCB(s, 0), i, 0x1000 + i * 8));
    for (uint64_t i = 0; i < BK_REG_COUNT; i++) {
        uint64_t v = 0;
        KT_OK(sys_tcb_read_register(TCB(s, 0), i, &v));
        KT_CHECK(v == 0x1000 + i * 8);
    }
    /* One past the last is RANGE, with the valid indices in the reply. */
    struct bk_msg r;
    uint64_t w[1] = { BK_REG_COUNT };
    kt_invoke(TCB(s, 0), BK_LABEL_TCB_READ_REGISTER, 1, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_RANGE && r.mr[1] == BK_REG_COUNT - 1);
    KT_EXPECT_ERR(sys_tcb_write_register(TCB(s, 0), BK_REG_COUNT, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_tcb_write_register(BK_CAP_ROOT_TCB, 0, 0), BK_ERR_ILLEGAL_OPERATION);
#if defined(__x86_64__)
    /* A kernel-half base would fault in the kernel's wrfsbase: refused. */
    KT_EXPECT_ERR(sys_tcb_write_register(TCB(s, 0), BK_REG_FS_BASE, 0xffff800000000000ull),
                  BK_ERR_INVALID_ARGUMENT);
#endif
    return 0;
}

/* Started by register writes alone: pc, sp and the argument register. */
static int test_thread_started_by_register_writes(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(make_objects(env, s, 1, 0, 1) == 0);
    KT_OK(sys_tcb_configure(TCB(s, 0), ROOT, 0, BK_CAP_ROOT_VSPACE, 0));
    KT_OK(sys_tcb_set_priority(TCB(s, 0), BK_CAP_ROOT_TCB, 100));
#if defined(__x86_64__)
    KT_OK(sys_tcb_write_register(TCB(s, 0), BK_REG_RIP, (uint64_t)(uintptr_t)signaller));
    KT_OK(sys_tcb_write_register(TCB(s, 0), BK_REG_RSP, bk_stack_top(stacks[0], STACK_SIZE)));
    KT_OK(sys_tcb_write_register(TCB(s, 0), BK_REG_RDI, s));
    /* Flags user code may not set are dropped on the way out (IOPL 3 here). */
    KT_OK(sys_tcb_write_register(TCB(s, 0), BK_REG_RFLAGS, 0x3202));
#else
    KT_OK(sys_tcb_write_register(TCB(s, 0), BK_REG_PC, (uint64_t)(uintptr_t)signaller));
    KT_OK(sys_tcb_write_register(TCB(s, 0), BK_REG_SP, bk_stack_top(stacks[0], STACK_SIZE)));
    KT_OK(sys_tcb_write_register(TCB(s, 0), BK_REG_A0, s));
#endif
    KT_OK(sys_tcb_resume(TCB(s, 0)));
    struct bk_msg m = { 0 };
    sys_recv(NTFN(s, 0), &m); /* the thread runs signaller(s) and signals */
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == 0);
    return 0;
}

const struct ktest thread_tests[] = {
    { "tcb: every register of the arch writes and reads back", test_every_register_reads_back },
    { "tcb: a thread started by register writes alone runs", test_thread_started_by_register_writes },
    { "tcb: read_registers reports pc, sp, argument and state", test_read_registers },
    { "tcb: a thread made from untyped runs and signals", test_thread_runs_and_signals },
    { "ipc: 1000 Call/ReplyRecv round trips", test_call_reply_ping_pong },
    { "ipc: badges reach the receiver", test_badges_reach_the_receiver },
    { "ipc: a 20-word message travels through the IPC buffers",
      test_long_message_through_ipc_buffers },
    { "ipc: senders queue in priority order", test_senders_queue_by_priority },
    { "sched: a higher-priority thread preempts", test_higher_priority_thread_preempts },
    { "sched: threads of one priority share the CPU by timeslice",
      test_timeslices_share_one_priority },
    { "sched: yield lets an equal-priority thread run", test_yield_lets_equal_priority_run },
    { "ipc: nbsend drops, nbrecv returns empty", test_send_and_nonblocking_variants },
    { "ipc: deleting an endpoint wakes its waiters with CANCELLED",
      test_deleting_endpoint_wakes_waiters },
    { "ipc: endpoint rights are enforced", test_rights_on_endpoints },
    { "notification: badges OR together; poll and wait clear", test_notification_bits },
    { "tcb: priorities are bounded by the authority's MCP", test_priority_bounded_by_mcp },
    { "tcb: configure and resume errors", test_configure_errors },
    { "tcb: a faulting thread stops, the others go on", test_faulting_thread_stops_alone },
    { "tcb: deleting a server thread's last cap takes it off the endpoint",
      test_deleting_a_running_peer },
};
const unsigned thread_test_count = sizeof(thread_tests) / sizeof(thread_tests[0]);
