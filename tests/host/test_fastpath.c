/* Host tests of the IPC fast path (kernel/fastpath.c): the same Call and
 * ReplyRecv scenarios run once with the fake syscall entry trying the fast
 * path first (as both ports do) and once going straight to the general
 * path, and must leave identical observable results after every syscall:
 * the message registers, badges and info words, thread states, who waits
 * for whom, which thread runs. The kernel's IPC path counters (ipc.h,
 * Debug: IpcPathCounts) show which path ran each time. */
#include <string.h>

#include "kworld.h"

#define MAX_STEPS 16
#define THREADS 4 /* server, client, third, waker */

struct thread_view {
    uint64_t state, regs[6];
    int caller, reply_from;
};

struct step {
    struct thread_view t[THREADS];
    int current;
    uint64_t ep_state;
};

struct trace {
    struct step steps[MAX_STEPS];
    unsigned count;
    uint64_t fast, general;  /* IPC path counts over the scenario */
    uint64_t switches;       /* arch_fastpath_switch() calls */
    uint64_t yield_fast, yield_general, resumes; /* Yield paths, arch_fastpath_resume() */
    uint64_t ntfn_fast, ntfn_general;            /* notification paths */
};

struct scene {
    struct kworld w;
    struct thread *t[THREADS];
    unsigned ep, server_tcb, ntfn;
    unsigned spare[3]; /* unbound notifications */
    struct trace *trace;
};

static int index_of(const struct scene *s, const struct thread *t)
{
    for (int i = 0; i < THREADS; i++) {
        if (s->t[i] == t)
            return i;
    }
    return t ? 99 : -1;
}

/* What user code and the kernel's state show now; no pointers (the two
 * runs allocate their memory at different addresses). */
static void record(struct scene *s)
{
    struct trace *tr = s->trace;
    struct step *st = &tr->steps[tr->count++ % MAX_STEPS];
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < THREADS; i++) {
        const struct thread *t = s->t[i];
        st->t[i].state = t->state;
        memcpy(st->t[i].regs, &t->regs.gpr[10], sizeof(st->t[i].regs));
        st->t[i].caller = index_of(s, t->caller);
        st->t[i].reply_from = index_of(s, t->reply_from);
    }
    st->current = index_of(s, current_thread);
    st->ep_state = ((struct endpoint *)kw_object(&s->w, s->ep))->state;
    CHECK_EQ(kw_invariants(&s->w), 0);
}

/* Server (priority `server_prio`, own space) waits in Recv; client
 * (priority 50, own space) runs; a third thread at `third_prio` is ready. */
static void scene_start(struct scene *s, struct trace *tr, bool fast, uint8_t server_prio,
                        uint8_t third_prio)
{
    kw_init(&s->w);
    fake_cpu.fastpath_enabled = fast;
    s->trace = tr;
    memset(tr, 0, sizeof(*tr));
    s->ep = kw_retype(&s->w, CAP_ENDPOINT, 0, 1);
    s->ntfn = kw_retype(&s->w, CAP_NOTIFICATION, 0, 1);
    for (unsigned i = 0; i < 3; i++)
        s->spare[i] = kw_retype(&s->w, CAP_NOTIFICATION, 0, 1);
    s->server_tcb = kw_thread(&s->w, kw_space(&s->w), server_prio);
    s->t[0] = kw_tcb(&s->w, s->server_tcb);
    s->t[1] = kw_tcb(&s->w, kw_thread(&s->w, kw_space(&s->w), 50));
    s->t[2] = kw_tcb(&s->w, kw_thread(&s->w, kw_space(&s->w), third_prio));
    s->t[3] = s->w.waker;
    CHECK_EQ(kw_invoke(&s->w, s->server_tcb, BK_LABEL_TCB_BIND_NOTIFICATION, 1, s->ntfn, 0, 0,
                       0), 0);
    kw_park(&s->w);
    tr->fast = ipc_path_counts.fast;
    tr->general = ipc_path_counts.general;
    tr->switches = fake_cpu.fastpath_switches;
    tr->yield_fast = yield_path_counts.fast;
    tr->yield_general = yield_path_counts.general;
    tr->resumes = fake_cpu.fastpath_resumes;
    tr->ntfn_fast = notification_path_counts.fast;
    tr->ntfn_general = notification_path_counts.general;
}

static void scene_end(struct scene *s)
{
    struct trace *tr = s->trace;
    tr->fast = ipc_path_counts.fast - tr->fast;
    tr->general = ipc_path_counts.general - tr->general;
    tr->switches = fake_cpu.fastpath_switches - tr->switches;
    tr->yield_fast = yield_path_counts.fast - tr->yield_fast;
    tr->yield_general = yield_path_counts.general - tr->yield_general;
    tr->resumes = fake_cpu.fastpath_resumes - tr->resumes;
    tr->ntfn_fast = notification_path_counts.fast - tr->ntfn_fast;
    tr->ntfn_general = notification_path_counts.general - tr->ntfn_general;
    fake_cpu.fastpath_enabled = true;
    kw_free(&s->w);
}

enum variant {
    PLAIN,             /* nothing in the way */
    SIGNAL_FIRST,      /* the server's bound notification is signalled before it answers */
    STRAY_UNWRAPPED,   /* the client's info has caps_unwrapped bits, which never arrive */
};

/* The server answers three calls of `length` words through a badged cap. */
static void call_reply_scenario(struct trace *tr, bool fast, unsigned length, enum variant v)
{
    struct scene s;
    scene_start(&s, tr, fast, 100, 10);
    struct thread *server = s.t[0], *client = s.t[1];
    unsigned badged = kw_mint(&s.w, s.ep, CAP_RIGHT_WRITE, 0xbad);
    unsigned signal = kw_mint(&s.w, s.ntfn, CAP_RIGHT_WRITE, 0x5);
    kw_recv(server, s.ep);
    record(&s);
    for (unsigned round = 0; round < 3; round++) {
        const uint64_t words[4] = { round, 2, 3, 4 };
        uint64_t unwrapped = v == STRAY_UNWRAPPED ? 7 : 0;
        kw_call(client, badged, BK_MSGINFO(length, 0, unwrapped, 0x10 + round), words);
        record(&s);
        CHECK_EQ(kw_info(server), BK_MSGINFO(length, 0, 0, 0x10 + round));
        if (v == SIGNAL_FIRST)
            kw_send(server, signal, 0, NULL);
        const uint64_t answer[4] = { 100 + round, 200, 300, 400 };
        kw_reply_recv(server, s.ep, BK_MSGINFO(length, 0, 0, 0x20 + round), answer);
        record(&s);
        if (v == SIGNAL_FIRST) { /* the Recv ended with the signal: receive again */
            CHECK_EQ(kw_badge(server), 0x5);
            kw_recv(server, s.ep);
            record(&s);
        }
    }
    scene_end(&s);
}

/* The driver (priority 255) calls the server (100): the Call must take the
 * general path (the server does not outrank the caller), the answer may
 * take the fast one (the caller outranks everyone). */
static void caller_above_server_scenario(struct trace *tr, bool fast)
{
    struct scene s;
    scene_start(&s, tr, fast, 100, 10);
    struct thread *server = s.t[0], *root = s.w.root;
    kw_recv(server, s.ep);
    kw_recv(s.t[1], KW_PARK); /* behind the driver: the waker's send wakes the driver */
    kw_recv(s.t[2], KW_PARK);
    kw_back_to_root(&s.w);
    record(&s);
    const uint64_t words[4] = { 1, 2 };
    kw_call(root, s.ep, BK_MSGINFO(2, 0, 0, 0x33), words);
    record(&s);
    kw_reply_recv(server, s.ep, BK_MSGINFO(1, 0, 0, 0x44), words);
    record(&s);
    CHECK(current_thread == root);
    scene_end(&s);
}

/* Yields: the server (100) alone at its priority, twice (it goes on: the
 * Yield fast path, when enabled); then, with the server waiting, the
 * client and the third thread (both 50) yield to each other (the general
 * path, which switches). Partial SchedContexts, whose Yield gives up the
 * rest of the refill, are sched_tests' (ktest) and test_sched's. */
static void yield_scenario(struct trace *tr, bool fast)
{
    struct scene s;
    scene_start(&s, tr, fast, 100, 50);
    struct thread *server = s.t[0], *client = s.t[1], *third = s.t[2];
    CHECK(current_thread == server);
    for (unsigned i = 0; i < 2; i++) {
        CHECK_EQ(kw_yield(server), FAKE_EXIT_USER);
        record(&s);
    }
    kw_recv(server, s.ep);
    record(&s);
    struct thread *first = current_thread, *other = first == client ? third : client;
    CHECK(first == client || first == third);
    kw_yield(first);
    record(&s);
    CHECK(current_thread == other);
    kw_yield(other);
    record(&s);
    CHECK(current_thread == first);
    scene_end(&s);
}

/* Signals and Waits on three unbound notifications, n2, n3 and n4: the
 * server (100) waits on n4; the client and the third thread (both 50,
 * A the one that runs first, B the other) signal with nobody waiting,
 * take an active word, block while the other is ready, wake each other
 * (the same priority: the signaller goes on), and A wakes the server,
 * which outranks it (the general path: the server runs at once), which
 * waits again. */
static void notification_scenario(struct trace *tr, bool fast)
{
    struct scene s;
    scene_start(&s, tr, fast, 100, 50);
    struct thread *server = s.t[0];
    unsigned n2 = s.spare[0], n3 = s.spare[1], n4 = s.spare[2];
    unsigned n2_sig = kw_mint(&s.w, n2, CAP_RIGHT_WRITE, 0x10);
    unsigned n3_sig = kw_mint(&s.w, n3, CAP_RIGHT_WRITE, 0x20);
    unsigned n4_sig = kw_mint(&s.w, n4, CAP_RIGHT_WRITE, 0x40);
    CHECK(current_thread == server);
    kw_recv(server, n4); /* blocks: A runs */
    record(&s);
    struct thread *a = current_thread, *b = a == s.t[1] ? s.t[2] : s.t[1];
    CHECK(a == s.t[1] || a == s.t[2]);
    kw_send(a, n2_sig, 0, NULL); /* nobody waits: the word */
    record(&s);
    kw_send(a, n2_sig, 0, NULL); /* the same bits again */
    record(&s);
    CHECK_EQ(kw_recv(a, n2), FAKE_EXIT_USER); /* active: the word at once */
    record(&s);
    CHECK_EQ(kw_badge(a), 0x10);
    kw_recv(a, n2); /* blocks: B runs */
    record(&s);
    CHECK(current_thread == b);
    kw_send(b, n2_sig, 0, NULL); /* wakes A, which waits its turn */
    record(&s);
    CHECK(current_thread == b && a->state == THREAD_RUNNABLE && kw_badge(a) == 0x10);
    kw_recv(b, n3); /* blocks: A runs */
    record(&s);
    CHECK(current_thread == a);
    kw_send(a, n3_sig, 0, NULL); /* wakes B */
    record(&s);
    kw_send(a, n4_sig, 0, NULL); /* wakes the server, which runs at once */
    record(&s);
    CHECK(current_thread == server && kw_badge(server) == 0x40);
    kw_recv(server, n4); /* blocks again: the head of the 50s runs */
    record(&s);
    kw_yield(current_thread);
    record(&s);
    scene_end(&s);
}

static void compare(const struct trace *a, const struct trace *b)
{
    CHECK_EQ(a->count, b->count);
    for (unsigned i = 0; i < a->count && i < MAX_STEPS; i++) {
        if (memcmp(&a->steps[i], &b->steps[i], sizeof(a->steps[i])) != 0) {
            printf("  step %u differs between the fast and the general path\n", i);
            check_failures_in_test++;
        }
    }
}

static void test_fast_and_general_agree(void)
{
    static struct trace fast, general;
    for (unsigned length = 0; length <= 4; length++) {
        call_reply_scenario(&fast, true, length, PLAIN);
        call_reply_scenario(&general, false, length, PLAIN);
        compare(&fast, &general);
        /* Three calls and three answers, all on the fast path. */
        CHECK_EQ(fast.fast, 6);
        CHECK_EQ(fast.general, 0);
        CHECK_EQ(fast.switches, 6);
        CHECK_EQ(general.fast, 0);
        CHECK_EQ(general.general, 6);
        CHECK_EQ(general.switches, 0);
    }
}

/* Messages the registers cannot hold take the general path both ways. */
static void test_long_message_takes_general_path(void)
{
    static struct trace fast, general;
    call_reply_scenario(&fast, true, 5, PLAIN);
    call_reply_scenario(&general, false, 5, PLAIN);
    compare(&fast, &general);
    CHECK_EQ(fast.fast, 0);
    CHECK_EQ(fast.general, 6);
}

/* A signalled bound notification must end the server's next receive: its
 * ReplyRecv takes the general path; the Calls still take the fast one. */
static void test_signalled_notification_takes_general_path(void)
{
    static struct trace fast, general;
    call_reply_scenario(&fast, true, 1, SIGNAL_FIRST);
    call_reply_scenario(&general, false, 1, SIGNAL_FIRST);
    compare(&fast, &general);
    CHECK_EQ(fast.fast, 3);
    CHECK_EQ(fast.general, 3);
}

/* A sender's caps_unwrapped bits (only the kernel sets them) send its
 * Call the general way, which clears them; the fast path delivers the
 * info as it is. The answers take the fast path. */
static void test_stray_unwrapped_bits_take_general_path(void)
{
    static struct trace fast, general;
    call_reply_scenario(&fast, true, 2, STRAY_UNWRAPPED);
    call_reply_scenario(&general, false, 2, STRAY_UNWRAPPED);
    compare(&fast, &general);
    CHECK_EQ(fast.fast, 3);
    CHECK_EQ(fast.general, 3);
}

static void test_caller_above_server(void)
{
    static struct trace fast, general;
    caller_above_server_scenario(&fast, true);
    caller_above_server_scenario(&general, false);
    compare(&fast, &general);
    CHECK_EQ(fast.fast, 1);
    CHECK_EQ(fast.general, 1);
    CHECK_EQ(general.fast, 0);
    CHECK_EQ(general.general, 2);
}

static void test_yield_paths_agree(void)
{
    static struct trace fast, general;
    yield_scenario(&fast, true);
    yield_scenario(&general, false);
    compare(&fast, &general);
    CHECK_EQ(fast.yield_fast, 2);
    CHECK_EQ(fast.yield_general, 2);
    CHECK_EQ(fast.resumes, 2);
    CHECK_EQ(general.yield_fast, 0);
    CHECK_EQ(general.yield_general, 4);
    CHECK_EQ(general.resumes, 0);
}

/* Every Send and Recv above on a notification but the one that wakes the
 * server (it outranks the signaller) takes the fast path when it is on;
 * results agree step by step with the general path's. */
static void test_notification_paths_agree(void)
{
    static struct trace fast, general;
    notification_scenario(&fast, true);
    notification_scenario(&general, false);
    compare(&fast, &general);
    CHECK_EQ(fast.ntfn_fast, 9);
    CHECK_EQ(fast.ntfn_general, 1);
    CHECK_EQ(general.ntfn_fast, 0);
    CHECK_EQ(general.ntfn_general, 10);
}

TEST_MAIN(TEST(test_fast_and_general_agree), TEST(test_yield_paths_agree),
          TEST(test_notification_paths_agree), TEST(test_long_message_takes_general_path),
          TEST(test_signalled_notification_takes_general_path),
          TEST(test_stray_unwrapped_bits_take_general_path), TEST(test_caller_above_server))
