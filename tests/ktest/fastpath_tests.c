/*
 * The IPC fast path (kernel/fastpath.c): Call and ReplyRecv give the same
 * results whether the fast path or the general path handles them. Each
 * test sets up one of the fast path's conditions, or breaks one so that the
 * general path must run, and checks what both sides see: the words (those
 * beyond the length arrive as 0), the info word (caps_unwrapped bits of the
 * sender never arrive), the badge, and which thread runs next.
 *
 * The server is a helper thread at priority 100 that echoes every Call
 * with ReplyRecv; the root task calls it from priority 50 (fast path) or
 * 150 (a lower-priority server: general path for the Call).
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192
#define SERVER_PRIO 100
#define LABEL 0x100 /* calls use labels from here; lower ones are wake-ups */

static uint8_t stacks[2][STACK_SIZE] __attribute__((aligned(16)));
static struct page_buffer {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) buffers[2];

/* Slots: s + 0 server TCB, s + 1 endpoint, s + 2 notification, s + 3 a
 * second helper TCB, s + 4.. per test. */
#define SERVER(s) ((s) + 0)
#define EP(s) ((s) + 1)
#define NTFN(s) ((s) + 2)
#define HELPER(s) ((s) + 3)
#define RECV_SLOT(s) ((s) + 7) /* the server's receive slot for caps */

/* What the server saw and how it behaves. */
struct seen {
    uint64_t badge, info, mr[5];
};
enum server_mode { ECHO, NOTIFY_SELF_ONCE, HOLD_FIRST };
static volatile struct seen last;
static volatile unsigned served;
static volatile uint64_t woke_badge, woke_info;
static volatile unsigned mode;
static volatile uint64_t recv_cap;     /* the cap the server's ReplyRecv names */
static volatile unsigned reply_length; /* 0..5 words */
static volatile uint64_t helper_result[6];
static volatile unsigned spins;

static void record(const struct bk_msg *m, const struct bk_ipc_buffer *b)
{
    last.badge = m->badge;
    last.info = m->info;
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        last.mr[i] = m->mr[i];
    last.mr[4] = BK_MSGINFO_LENGTH(m->info) > 4 ? b->mr[4] : 0;
    served++;
}

/* The answer to a call: label + 1, the words it got plus 0x1000 (those
 * beyond reply_length must arrive as 0), the fifth in the buffer. */
static void make_reply(struct bk_msg *m, struct bk_ipc_buffer *b)
{
    m->info = BK_MSGINFO(reply_length, 0, 0, BK_MSGINFO_LABEL(m->info) + 1);
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        m->mr[i] = last.mr[i] + 0x1000;
    b->mr[4] = last.mr[4] + 0x1000;
}

static void server(uint64_t s)
{
    struct bk_ipc_buffer *b = &buffers[0].b;
    b->receive_cnode = ROOT;
    b->receive_index = RECV_SLOT(s);
    b->receive_depth = W;
    struct bk_msg m = { 0 };
    sys_recv(EP(s), &m);
    for (;;) {
        record(&m, b);
        if (mode == HOLD_FIRST && served == 1) { /* keep the caller waiting */
            m = (struct bk_msg){ 0 };
            sys_recv(EP(s), &m);
            continue;
        }
        if (mode == NOTIFY_SELF_ONCE && served == 1) {
            struct bk_msg n = { 0 };
            sys_send(s + 4, &n); /* a badged cap to our bound notification */
        }
        make_reply(&m, b);
        sys_reply_recv(recv_cap, &m);
        /* A receive that ended without a call: note it, receive again. */
        while (BK_MSGINFO_LABEL(m.info) < LABEL) {
            woke_badge = m.badge;
            woke_info = m.info;
            m = (struct bk_msg){ 0 };
            sys_recv(EP(s), &m);
        }
    }
}

static void set_root_priority(unsigned prio)
{
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, prio);
}

/* Makes the objects and starts the server; it blocks in Recv at once, since
 * the root drops to priority 50 first. */
static int start_server(struct ktest_env *env, uint64_t s, unsigned server_mode)
{
    if (kt_retype(env, BK_OBJ_TCB, 0, SERVER(s), 1) || kt_retype(env, BK_OBJ_ENDPOINT, 0, EP(s), 1) ||
        kt_retype(env, BK_OBJ_NOTIFICATION, 0, NTFN(s), 1) ||
        kt_retype(env, BK_OBJ_TCB, 0, HELPER(s), 1))
        return 1;
    served = 0;
    woke_badge = woke_info = 0;
    mode = server_mode;
    recv_cap = EP(s);
    reply_length = 4;
    set_root_priority(50);
    return (int)bk_thread_start(SERVER(s), ROOT, BK_CAP_ROOT_VSPACE, server, s, stacks[0],
                                STACK_SIZE, (uint64_t)(uintptr_t)&buffers[0].b, SERVER_PRIO);
}

static void call(uint64_t cap, uint64_t info, struct bk_msg *m)
{
    *m = (struct bk_msg){ .info = info, .mr = { 11, 22, 33, 44 } };
    bk_ipc_buffer->mr[4] = 55;
    sys_call(cap, m);
}

/* Checks what the server saw of a call (length words of 11, 22, ... and
 * `badge`) and what came back (reply_length words). */
static int check_round_trip(const struct bk_msg *reply, unsigned length, uint64_t label,
                            uint64_t badge)
{
    static const uint64_t sent[5] = { 11, 22, 33, 44, 55 };
    KT_CHECK(last.badge == badge);
    KT_CHECK(last.info == BK_MSGINFO(length, 0, 0, label));
    for (unsigned i = 0; i < 5; i++)
        KT_CHECK(last.mr[i] == (i < length ? sent[i] : 0));
    KT_CHECK(reply->badge == 0);
    KT_CHECK(reply->info == BK_MSGINFO(reply_length, 0, 0, label + 1));
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        KT_CHECK(reply->mr[i] == (i < reply_length ? last.mr[i] + 0x1000 : 0));
    if (reply_length > 4)
        KT_CHECK(bk_ipc_buffer->mr[4] == last.mr[4] + 0x1000);
    return 0;
}

/* ---- Tests ---------------------------------------------------------------- */

/* 0 to 4 words each way, with caps_unwrapped bits `unwrapped` in the
 * sender's info, which never arrive. Only 0 lets the fast path take the
 * Call (message_fits(): the info is then delivered as it is); others go
 * the general way, which clears them. */
static int round_trips(uint64_t ep, uint64_t unwrapped, struct seen out[5],
                       struct bk_msg replies[5])
{
    for (unsigned len = 0; len <= 4; len++) {
        reply_length = 4 - len;
        call(ep, BK_MSGINFO(len, 0, unwrapped, LABEL + len), &replies[len]);
        KT_CHECK(check_round_trip(&replies[len], len, LABEL + len, 0) == 0);
        out[len].badge = last.badge;
        out[len].info = last.info;
        for (unsigned i = 0; i < 5; i++)
            out[len].mr[i] = last.mr[i];
    }
    return 0;
}

static int test_round_trip_words(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct seen seen[5];
    struct bk_msg replies[5];
    KT_CHECK(start_server(env, s, ECHO) == 0);
    KT_CHECK(round_trips(EP(s), 0, seen, replies) == 0);
    KT_CHECK(round_trips(EP(s), 5, seen, replies) == 0);
    KT_CHECK(served == 10);
    return 0;
}

/* The Call to a lower-priority server takes the general path. */
static int test_general_path_same_results(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct seen fast[5], slow[5];
    struct bk_msg fast_replies[5], slow_replies[5];
    KT_CHECK(start_server(env, s, ECHO) == 0);
    KT_CHECK(round_trips(EP(s), 0, fast, fast_replies) == 0);
    set_root_priority(150);
    KT_CHECK(round_trips(EP(s), 0, slow, slow_replies) == 0);
    for (unsigned i = 0; i < 5; i++) {
        KT_CHECK(fast[i].badge == slow[i].badge && fast[i].info == slow[i].info);
        for (unsigned w = 0; w < 5; w++)
            KT_CHECK(fast[i].mr[w] == slow[i].mr[w]);
        KT_CHECK(fast_replies[i].badge == slow_replies[i].badge);
        KT_CHECK(fast_replies[i].info == slow_replies[i].info);
        for (unsigned w = 0; w < BK_MSG_CPU_WORDS; w++)
            KT_CHECK(fast_replies[i].mr[w] == slow_replies[i].mr[w]);
    }
    return 0;
}

static int test_five_words(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(start_server(env, s, ECHO) == 0);
    reply_length = 5;
    call(EP(s), BK_MSGINFO(5, 0, 0, LABEL), &m);
    KT_CHECK(check_round_trip(&m, 5, LABEL, 0) == 0);
    reply_length = 2; /* a 5-word call, a short reply */
    call(EP(s), BK_MSGINFO(5, 0, 0, LABEL + 1), &m);
    KT_CHECK(check_round_trip(&m, 5, LABEL + 1, 0) == 0);
    return 0;
}

static int test_badge(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(start_server(env, s, ECHO) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, EP(s), W, BK_RIGHT_WRITE, 0x5a5a));
    call(s + 4, BK_MSGINFO(1, 0, 0, LABEL), &m);
    KT_CHECK(check_round_trip(&m, 1, LABEL, 0x5a5a) == 0);
    call(EP(s), BK_MSGINFO(1, 0, 0, LABEL), &m);
    KT_CHECK(check_round_trip(&m, 1, LABEL, 0) == 0);
    return 0;
}

static int test_cap_transfer(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(start_server(env, s, ECHO) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, NTFN(s), W, BK_RIGHT_WRITE, 0x9));
    bk_ipc_buffer->caps[0] = s + 4;
    call(EP(s), BK_MSGINFO(2, 1, 0, LABEL), &m);
    KT_CHECK(last.info == BK_MSGINFO(2, 1, 0, LABEL));
    KT_CHECK(last.mr[0] == 11 && last.mr[1] == 22 && last.mr[2] == 0);
    KT_CHECK(kt_type(RECV_SLOT(s)) == BK_OBJ_NOTIFICATION);
    KT_CHECK(m.info == BK_MSGINFO(4, 0, 0, LABEL + 1) && m.mr[1] == 22 + 0x1000);
    return 0;
}

static void spinner(uint64_t unused)
{
    (void)unused;
    struct bk_msg m = { 0 };
    for (;;) {
        spins++;
        sys_yield(0, &m);
    }
}

/* A thread ready at the caller's priority was queued first: the general
 * path runs it before the caller gets its answer. */
static int test_ready_thread_runs_first(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(start_server(env, s, ECHO) == 0);
    spins = 0;
    /* A fresh timeslice first: without -icount a host stall can end the
     * current one right after the start, and the spinner would run. */
    sys_yield(0, &m);
    KT_OK(bk_thread_start(HELPER(s), ROOT, BK_CAP_ROOT_VSPACE, spinner, 0, stacks[1], STACK_SIZE,
                          0, 50));
    KT_CHECK(spins == 0); /* same priority: it waits its turn */
    call(EP(s), BK_MSGINFO(3, 0, 0, LABEL), &m);
    unsigned after = spins;
    KT_OK(sys_tcb_suspend(HELPER(s)));
    KT_CHECK(after >= 1);
    KT_CHECK(check_round_trip(&m, 3, LABEL, 0) == 0);
    return 0;
}

/* The server signals its own bound notification while it serves a call:
 * its ReplyRecv answers, then receives the signal instead of a call. */
static int test_pending_notification(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(start_server(env, s, NOTIFY_SELF_ONCE) == 0);
    KT_OK(sys_tcb_bind_notification(SERVER(s), NTFN(s)));
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, NTFN(s), W, BK_RIGHT_WRITE, 0x40));
    call(EP(s), BK_MSGINFO(4, 0, 0, LABEL), &m);
    KT_CHECK(check_round_trip(&m, 4, LABEL, 0) == 0);
    KT_CHECK(woke_badge == 0x40 && woke_info == 0);
    call(EP(s), BK_MSGINFO(1, 0, 0, LABEL + 1), &m); /* it serves again */
    KT_CHECK(check_round_trip(&m, 1, LABEL + 1, 0) == 0 && served == 2);
    return 0;
}

/* ReplyRecv through a cap without the read right: the reply goes out
 * first, then the receive fails. */
static int test_reply_recv_without_read_right(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(start_server(env, s, ECHO) == 0);
    KT_OK(sys_cnode_copy(ROOT, s + 4, W, ROOT, EP(s), W, BK_RIGHT_WRITE));
    recv_cap = s + 4;
    call(EP(s), BK_MSGINFO(2, 0, 0, LABEL), &m);
    KT_CHECK(check_round_trip(&m, 2, LABEL, 0) == 0);
    KT_CHECK(BK_MSGINFO_LABEL(woke_info) == BK_ERR_INSUFFICIENT_RIGHTS);
    return 0;
}

/* Calls the server through its endpoint's slot, addressed through a CSpace
 * root whose guard is 1 (the cptr carries it above the slot index). */
static void guarded_caller(uint64_t s)
{
    struct bk_msg m = { .info = BK_MSGINFO(3, 0, 0, LABEL), .mr = { 11, 22, 33, 44 } };
    sys_call(1ull << BK_ROOT_CNODE_BITS | EP(s), &m);
    helper_result[0] = m.badge;
    helper_result[1] = m.info;
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        helper_result[2 + i] = m.mr[i];
    sys_thread_exit(0);
}

static int test_guarded_cspace(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(start_server(env, s, ECHO) == 0);
    call(EP(s), BK_MSGINFO(3, 0, 0, LABEL), &m); /* the direct lookup */
    KT_CHECK(check_round_trip(&m, 3, LABEL, 0) == 0);
    uint64_t guard_data = BK_CNODE_GUARD(W - BK_ROOT_CNODE_BITS, 1); /* guard 1 */
    KT_OK(sys_tcb_configure(HELPER(s), ROOT, guard_data, BK_CAP_ROOT_VSPACE, 0));
    KT_OK(sys_tcb_set_priority(HELPER(s), BK_CAP_ROOT_TCB, 90));
    helper_result[1] = 0;
    KT_OK(sys_tcb_write_registers(HELPER(s), 1, (uint64_t)(uintptr_t)guarded_caller,
                                  bk_stack_top(stacks[1], STACK_SIZE), s));
    KT_CHECK(served == 2 && last.info == BK_MSGINFO(3, 0, 0, LABEL));
    KT_CHECK(helper_result[0] == m.badge && helper_result[1] == m.info);
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        KT_CHECK(helper_result[2 + i] == m.mr[i]);
    return 0;
}

static void held_caller(uint64_t s)
{
    struct bk_msg m = { .info = BK_MSGINFO(1, 0, 0, LABEL + 7), .mr = { 11 } };
    sys_call(EP(s), &m);
    helper_result[0] = m.info;
    sys_thread_exit(0);
}

/* The receiver still holds an older, unanswered Call: the new Call cancels
 * it (general path), and the cancelled caller runs before the root gets
 * its answer, being of higher priority. */
static int test_receiver_holding_a_call(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(start_server(env, s, HOLD_FIRST) == 0);
    helper_result[0] = 0;
    KT_OK(bk_thread_start(HELPER(s), ROOT, BK_CAP_ROOT_VSPACE, held_caller, s, stacks[1],
                          STACK_SIZE, 0, 90));
    KT_CHECK(served == 1 && helper_result[0] == 0); /* held */
    call(EP(s), BK_MSGINFO(2, 0, 0, LABEL), &m);
    KT_CHECK(helper_result[0] == BK_MSGINFO(0, 0, 0, BK_ERR_CANCELLED));
    KT_CHECK(check_round_trip(&m, 2, LABEL, 0) == 0);
    return 0;
}

/* ---- x86-64: FS and GS bases user code sets itself ------------------------ */

#if defined(__x86_64__)
/* With FSGSBASE (CPUID 7.0 EBX bit 0; the kernel then lets user code use
 * it) a thread changes its bases without the kernel: each way out must
 * read them back before it switches threads (arch/x86_64/fastpath.c). */
static bool user_fsgsbase(void)
{
    uint32_t a = 7, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return b & 1;
}

static uint64_t read_gs_base(void)
{
    uint64_t v;
    __asm__ volatile("rdgsbase %0" : "=r"(v));
    return v;
}

static void write_gs_base(uint64_t v)
{
    __asm__ volatile("wrgsbase %0" : : "r"(v) : "memory");
}

/* Answers each Call with the GS base it found on arrival, then sets its
 * own to the Call's first word. */
static void gs_server(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_recv(EP(s), &m);
    for (;;) {
        uint64_t found = read_gs_base();
        write_gs_base(m.mr[0]);
        m = (struct bk_msg){ .info = BK_MSGINFO(1, 0, 0, 0), .mr = { found } };
        sys_reply_recv(EP(s), &m);
    }
}

/* One Call: our GS base set to `mine` first, the server's to `next` by
 * it; the server must have found `server_had`, and ours must be back. */
static int gs_round_trip(uint64_t s, uint64_t mine, uint64_t next, uint64_t server_had)
{
    write_gs_base(mine);
    struct bk_msg m = { .info = BK_MSGINFO(1, 0, 0, LABEL), .mr = { next } };
    sys_call(EP(s), &m);
    KT_CHECK(m.mr[0] == server_had);
    KT_CHECK(read_gs_base() == mine);
    return 0;
}

/* The bases are equal (the fast way out loads none) or differ (the
 * general one loads them) in every order, each right after a way out that
 * did not record what it read. */
static int test_user_gs_base(struct ktest_env *env)
{
    if (!user_fsgsbase()) {
        debug_printf("    no FSGSBASE: user code cannot set its bases itself\n");
        return 0;
    }
    uint64_t s = kt_slots(), saved = read_gs_base();
    KT_CHECK(kt_retype(env, BK_OBJ_TCB, 0, SERVER(s), 1) == 0);
    KT_CHECK(kt_retype(env, BK_OBJ_ENDPOINT, 0, EP(s), 1) == 0);
    set_root_priority(50);
    KT_OK(bk_thread_start(SERVER(s), ROOT, BK_CAP_ROOT_VSPACE, gs_server, s, stacks[0],
                          STACK_SIZE, (uint64_t)(uintptr_t)&buffers[0].b, SERVER_PRIO));
    const uint64_t x = 0x10000, y = 0x20000, z = 0x30000;
    KT_CHECK(gs_round_trip(s, x, x, 0) == 0);     /* differ (a new thread has 0), then equal */
    KT_CHECK(gs_round_trip(s, y, y, x) == 0);     /* differ, then equal */
    KT_CHECK(gs_round_trip(s, y, z, y) == 0);     /* equal, then differ */
    KT_CHECK(gs_round_trip(s, y, z, z) == 0);     /* differ, then differ */
    write_gs_base(saved);
    KT_OK(sys_tcb_suspend(SERVER(s)));
    return 0;
}
#endif

/* ---- Which path ran (Debug: IpcPathCounts) -------------------------------- */

/* The kernel's path counters; the read is itself a Call the general path
 * takes (an invocation), so it adds one to `general`. */
static int path_counts(uint64_t *fast, uint64_t *general)
{
    KT_OK(sys_debug_ipc_path_counts(BK_CAP_DEBUG, fast, general));
    return 0;
}

/* A plain 0-word Call to a server in another address space, and the
 * server's ReplyRecv, take the fast path: the counter of fast-path IPC
 * moves by two and the general one only by the read. A 5-word Call (too
 * long for the registers) and its 5-word answer must take the general
 * path: then it is the general counter that moves by two. So a fast path
 * that never runs fails this test, not only the benchmark ceilings. */
static int test_path_counters(struct ktest_env *env)
{
    uint64_t s = kt_slots(), f0, g0, f1, g1;
    kt_init_allocators(env);
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    struct bk_process p;
    KT_OK(bk_process_spawn(env->bi, "echo", SERVER_PRIO, s, 0, &p));
    set_root_priority(50); /* the echo server runs and waits in Recv */
    if (!kt_kernel_has_walk()) {
        /* A release kernel (BULKHEAD_KERNEL_DEBUG off) counts nothing and
         * says so; the round trip itself must still work. */
        KT_EXPECT_ERR(sys_debug_ipc_path_counts(BK_CAP_DEBUG, &f0, &g0),
                      BK_ERR_ILLEGAL_OPERATION);
        KT_EXPECT_ERR(sys_debug_unlocked_counts(BK_CAP_DEBUG, &f0, &g0, &f1),
                      BK_ERR_ILLEGAL_OPERATION);
        struct bk_msg r = { .info = BK_MSGINFO(0, 0, 0, LABEL) };
        sys_call(s, &r);
        KT_CHECK(r.info == BK_MSGINFO(0, 0, 0, LABEL + 1));
        KT_OK(sys_tcb_suspend(p.tcb));
        return 0;
    }
    KT_CHECK(path_counts(&f0, &g0) == 0);
    struct bk_msg m = { .info = BK_MSGINFO(0, 0, 0, LABEL) };
    sys_call(s, &m);
    KT_CHECK(path_counts(&f1, &g1) == 0);
    KT_CHECK(m.info == BK_MSGINFO(0, 0, 0, LABEL + 1));
    /* With several CPUs online too: the echo server runs on CPU 0's
     * SchedControl, as the root does, and the fast path takes a pair of
     * one CPU (docs/smp.md). */
    KT_CHECK(f1 - f0 == 2);
    KT_CHECK(g1 - g0 == 1);
    m = (struct bk_msg){ .info = BK_MSGINFO(5, 0, 0, LABEL), .mr = { 1, 2, 3, 4 } };
    bk_ipc_buffer->mr[4] = 5;
    sys_call(s, &m);
    KT_CHECK(path_counts(&f0, &g0) == 0);
    KT_CHECK(m.info == BK_MSGINFO(5, 0, 0, LABEL + 1) && m.mr[3] == 4);
    KT_CHECK(f0 == f1);
    KT_CHECK(g0 - g1 == 3);
    KT_OK(sys_tcb_suspend(p.tcb));
    return 0;
}

/* ---- Which Yield path ran (Debug: YieldPathCounts) ------------------------ */

static int yield_counts(uint64_t *fast, uint64_t *general)
{
    KT_OK(sys_debug_yield_path_counts(BK_CAP_DEBUG, fast, general));
    return 0;
}

/* A Yield with no other thread ready at the caller's priority goes on at
 * once through the Yield fast path: its counter moves by one a Yield and
 * the general one does not (with several CPUs online too: there it runs
 * under the kernel lock). With a thread ready at its priority
 * the general path runs that thread first, which yields back. So a Yield
 * fast path that never runs, or one that keeps the CPU from a thread of
 * the same priority, fails this test. */
#define YIELDS 3
static int test_yield_paths(struct ktest_env *env)
{
    uint64_t s = kt_slots(), f0, g0, f1, g1;
    struct bk_msg m = { 0 };
    if (!kt_kernel_has_walk()) { /* a release kernel counts nothing, and says so */
        KT_EXPECT_ERR(sys_debug_yield_path_counts(BK_CAP_DEBUG, &f0, &g0),
                      BK_ERR_ILLEGAL_OPERATION);
        sys_yield(0, &m);
        return 0;
    }
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, HELPER(s), 1));
    set_root_priority(50);
    KT_CHECK(yield_counts(&f0, &g0) == 0);
    for (unsigned i = 0; i < YIELDS; i++)
        sys_yield(0, &m);
    KT_CHECK(yield_counts(&f1, &g1) == 0);
    KT_CHECK(f1 - f0 == YIELDS);
    KT_CHECK(g1 - g0 == 0);
    spins = 0;
    KT_OK(bk_thread_start(HELPER(s), ROOT, BK_CAP_ROOT_VSPACE, spinner, 0, stacks[1], STACK_SIZE,
                          0, 50));
    KT_CHECK(spins == 0); /* same priority: it waits its turn */
    sys_yield(0, &m);     /* its turn: it counts and yields back */
    unsigned after = spins;
    KT_CHECK(yield_counts(&f0, &g0) == 0);
    KT_OK(sys_tcb_suspend(HELPER(s)));
    KT_CHECK(after >= 1);
    KT_CHECK(f0 == f1);       /* neither Yield was the fast path's */
    KT_CHECK(g0 - g1 >= 2);   /* the root's and the spinner's */
    return 0;
}

/* ---- Which notification path ran (Debug: NotificationPathCounts) ---------- */

#define PING(s) ((s) + 4)
#define PONG(s) ((s) + 5)
#define PINGS 5

/* Waits for a signal on PING, counts it and signals PONG, for ever. */
static void ponger(uint64_t s)
{
    struct bk_msg m = { 0 };
    for (;;) {
        sys_recv(PING(s), &m);
        spins++;
        sys_send(PONG(s), &m);
    }
}

static int notification_counts(uint64_t *fast, uint64_t *general)
{
    KT_OK(sys_debug_notification_path_counts(BK_CAP_DEBUG, fast, general));
    return 0;
}

/* The bench's notification round trip between the root and a thread of
 * its priority: each Signal wakes a waiter that does not outrank the
 * signaller, each Wait blocks while the other is ready, so all four
 * syscalls of a round trip take the notification fast path (with several
 * CPUs online too: both threads are CPU 0's, as the root is). Each signal
 * wakes the ponger exactly once. */
static int test_notification_paths(struct ktest_env *env)
{
    uint64_t s = kt_slots(), f0 = 0, g0 = 0, f1 = 0, g1 = 0;
    struct bk_msg m = { 0 };
    bool counts = kt_kernel_has_walk();
    if (kt_retype(env, BK_OBJ_TCB, 0, HELPER(s), 1) ||
        kt_retype(env, BK_OBJ_NOTIFICATION, 0, PING(s), 2))
        return 1;
    set_root_priority(50);
    spins = 0;
    KT_OK(bk_thread_start(HELPER(s), ROOT, BK_CAP_ROOT_VSPACE, ponger, s, stacks[1], STACK_SIZE,
                          0, 50));
    sys_yield(0, &m); /* its turn: it waits on PING */
    if (counts)
        KT_CHECK(notification_counts(&f0, &g0) == 0);
    else /* a release kernel counts nothing, and says so */
        KT_EXPECT_ERR(sys_debug_notification_path_counts(BK_CAP_DEBUG, &f0, &g0),
                      BK_ERR_ILLEGAL_OPERATION);
    for (unsigned i = 0; i < PINGS; i++) {
        sys_send(PING(s), &m);
        KT_CHECK(m.info == 0);
        sys_recv(PONG(s), &m);
        KT_CHECK(m.info == 0 && spins == i + 1);
    }
    if (counts)
        KT_CHECK(notification_counts(&f1, &g1) == 0);
    KT_OK(sys_tcb_suspend(HELPER(s)));
    if (!counts)
        return 0;
    debug_printf("    %u round trips: notification fast path %llu, general %llu\n", PINGS,
                 (unsigned long long)(f1 - f0), (unsigned long long)(g1 - g0));
    KT_CHECK(f1 - f0 == 4 * PINGS);
    KT_CHECK(g1 - g0 == 0);
    return 0;
}

const struct ktest fastpath_tests[] = {
    { "fastpath: call and reply_recv move 0 to 4 words, labels and zeros",
      test_round_trip_words },
    { "fastpath: the general path (a lower-priority server) gives the same results",
      test_general_path_same_results },
    { "fastpath: 5-word messages take the general path both ways", test_five_words },
    { "fastpath: a badged endpoint cap delivers its badge", test_badge },
    { "fastpath: a cap transfer takes the general path", test_cap_transfer },
    { "fastpath: a ready thread at the caller's priority runs before the answer",
      test_ready_thread_runs_first },
    { "fastpath: a signalled bound notification ends the server's next receive",
      test_pending_notification },
    { "fastpath: reply_recv without the read right answers, then fails",
      test_reply_recv_without_read_right },
    { "fastpath: a CSpace root with a guard takes the general lookup", test_guarded_cspace },
    { "fastpath: a call to a receiver holding a call cancels the older one",
      test_receiver_holding_a_call },
    { "fastpath: the path counters show a 0-word call across spaces took the fast path",
      test_path_counters },
    { "fastpath: a Yield alone at its priority goes on at once (the Yield fast path)",
      test_yield_paths },
    { "fastpath: a notification ping-pong at one priority takes the notification fast path",
      test_notification_paths },
#if defined(__x86_64__)
    { "fastpath: x86-64 GS bases user code sets itself survive both ways out",
      test_user_gs_base },
#endif
};
const unsigned fastpath_test_count = sizeof(fastpath_tests) / sizeof(fastpath_tests[0]);
