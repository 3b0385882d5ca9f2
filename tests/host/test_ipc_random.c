/* A randomized run of the IPC syscalls, checked two ways after every
 * step: the kernel's invariant walk (kernel/debug/invariants.c) must find
 * nothing, and the run with the fast path tried first must show exactly
 * what the same run (same seed) on the general path alone shows: every
 * thread's state, message registers, Call partner and priority, and which
 * thread runs. Threads of several priorities in two address spaces make
 * random Calls, Sends, Recvs, ReplyRecvs, Replies, Signals, Waits, Polls
 * and Yields on random caps (badged and unbadged endpoints, a notification
 * bound to one of them, caps without the needed right, empty slots);
 * the driver thread now and then suspends, resumes or reprioritizes one,
 * and timer ticks arrive. */
#include <string.h>

#include "kworld.h"

#define THREADS 6
#define STEPS 3000
#define SEEDS 6

struct run {
    struct kworld w;
    unsigned tcb[THREADS];
    struct thread *t[THREADS];
    unsigned caps[10]; /* what the threads' syscalls name */
    uint64_t rng;
    uint64_t hashes[STEPS];
    uint64_t violations, fast;
};

static uint64_t next_random(struct run *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng;
}

static unsigned pick(struct run *r, unsigned n)
{
    return (unsigned)(next_random(r) % n);
}

static void setup(struct run *r, uint64_t seed, bool fast)
{
    static const uint8_t prios[THREADS] = { 100, 100, 60, 60, 30, 150 };
    struct kworld *w = &r->w;
    kw_init(w);
    fake_cpu.fastpath_enabled = fast;
    r->rng = seed;
    unsigned ep = kw_retype(w, CAP_ENDPOINT, 0, 2);
    unsigned n = kw_retype(w, CAP_NOTIFICATION, 0, 1);
    unsigned space = kw_space(w);
    const unsigned caps[10] = {
        ep, ep + 1, kw_mint(w, ep, CAP_RIGHTS_ALL, 0x11), kw_mint(w, ep, CAP_RIGHT_WRITE, 0x22),
        kw_mint(w, ep + 1, CAP_RIGHT_READ, 0), n, kw_mint(w, n, CAP_RIGHT_WRITE, 0x4),
        kw_mint(w, n, CAP_RIGHT_WRITE, 0x10), KW_CNODE, 1000, /* an empty slot */
    };
    memcpy(r->caps, caps, sizeof(caps));
    for (unsigned i = 0; i < THREADS; i++) {
        r->tcb[i] = kw_thread(w, i % 2 ? space : KW_ROOT_VSPACE, prios[i]);
        r->t[i] = kw_tcb(w, r->tcb[i]);
    }
    CHECK_EQ(kw_invoke(w, r->tcb[0], BK_LABEL_TCB_BIND_NOTIFICATION, 1, n, 0, 0, 0), 0);
    r->fast = ipc_path_counts.fast;
    kw_park(w);
}

/* The driver runs when every thread waits: it restarts one (Suspend then
 * Resume: whatever it waited for is cancelled), and now and then leaves
 * one suspended or changes a priority. */
static void driver_step(struct run *r)
{
    unsigned tcb = r->tcb[pick(r, THREADS)];
    unsigned act = pick(r, 8);
    if (act < 6)
        kw_invoke(&r->w, tcb, BK_LABEL_TCB_SUSPEND, 0, 0, 0, 0, 0);
    if (act < 5)
        kw_invoke(&r->w, tcb, BK_LABEL_TCB_RESUME, 0, 0, 0, 0, 0);
    if (act == 6)
        kw_invoke(&r->w, tcb, BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, 20 + 20 * pick(r, 8), 0,
                  0);
    kw_park(&r->w);
}

static void thread_step(struct run *r, struct thread *t)
{
    static const unsigned long ops[] = {
        BK_SYS_CALL,   BK_SYS_CALL,  BK_SYS_CALL,       BK_SYS_REPLY_RECV, BK_SYS_REPLY_RECV,
        BK_SYS_REPLY_RECV, BK_SYS_RECV, BK_SYS_RECV,    BK_SYS_SEND,       BK_SYS_NBSEND,
        BK_SYS_NBRECV, BK_SYS_REPLY, BK_SYS_YIELD,
    };
    unsigned long nr = ops[pick(r, ARRAY_SIZE(ops))];
    /* Mostly the first endpoint, so that calls meet waiting servers. */
    uint64_t cap = r->caps[pick(r, 2) ? 0 : pick(r, ARRAY_SIZE(r->caps))];
    unsigned length = pick(r, 7) == 0 ? 5 : pick(r, 5);
    uint64_t info = BK_MSGINFO(length, 0, pick(r, 8), 0x100 + pick(r, 16));
    kw_sys(t, nr, cap, info, next_random(r), next_random(r), next_random(r), next_random(r));
}

static int index_of(const struct run *r, const struct thread *t)
{
    for (int i = 0; i < THREADS; i++) {
        if (r->t[i] == t)
            return i;
    }
    return t == r->w.root ? 100 : t == r->w.waker ? 101 : t ? 102 : -1;
}

/* FNV-1a over what the step left: no pointers (the runs' memory differs). */
static uint64_t mix(uint64_t h, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        h = (h ^ ((v >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    return h;
}

static uint64_t snapshot(const struct run *r)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < THREADS; i++) {
        const struct thread *t = r->t[i];
        h = mix(h, t->state);
        h = mix(h, t->priority);
        for (unsigned k = 10; k < 16; k++)
            h = mix(h, t->regs.gpr[k]);
        h = mix(h, (uint64_t)index_of(r, t->caller));
        h = mix(h, (uint64_t)index_of(r, t->reply_from));
    }
    return mix(h, (uint64_t)index_of(r, current_thread));
}

static void run(struct run *r, uint64_t seed, bool fast)
{
    setup(r, seed, fast);
    for (unsigned step = 0; step < STEPS; step++) {
        struct thread *cur = current_thread;
        if (pick(r, 16) == 0)
            fake_tick();
        else if (cur == r->w.root)
            driver_step(r);
        else if (cur == r->w.waker)
            kw_send(cur, KW_PARK, 0, NULL);
        else
            thread_step(r, cur);
        r->hashes[step] = snapshot(r);
        uint64_t v = kw_invariants(&r->w);
        if (v && !r->violations)
            printf("  seed %llu: invariants broken after step %u\n", (unsigned long long)seed,
                   step);
        r->violations += v;
    }
    r->fast = ipc_path_counts.fast - r->fast;
    fake_cpu.fastpath_enabled = true;
    kw_free(&r->w);
}

static void test_random_ipc(void)
{
    static struct run fast, general;
    uint64_t fast_total = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        run(&fast, seed * 0x9e3779b97f4a7c15ull, true);
        run(&general, seed * 0x9e3779b97f4a7c15ull, false);
        CHECK_EQ(fast.violations, 0);
        CHECK_EQ(general.violations, 0);
        CHECK_EQ(general.fast, 0);
        fast_total += fast.fast;
        for (unsigned step = 0; step < STEPS; step++) {
            if (fast.hashes[step] != general.hashes[step]) {
                printf("  seed %llu: the paths differ after step %u\n",
                       (unsigned long long)seed, step);
                check_failures_in_test++;
                break;
            }
        }
    }
    printf("  %llu IPC syscalls took the fast path\n", (unsigned long long)fast_total);
    CHECK(fast_total > 0); /* the comparison covered the fast path */
}

TEST_MAIN(TEST(test_random_ipc))
