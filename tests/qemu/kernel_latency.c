/*
 * Long kernel operations restart at bounded intervals (issue 12), run
 * under -icount (time is instructions: exact and repeatable). A thread on
 * 25 us of every 250 us runs above the root task and notes how late each
 * of its wake-ups comes; meanwhile the root task, below it, makes the
 * longest calls a tenant can:
 *
 *  - Retype of 16 MiB of large frames from memory that held objects (the
 *    kernel zeroes it in steps and restarts in between);
 *  - Retype of 256 endpoints, 16 times (the kernel makes them one a step
 *    and restarts as the call for the rest);
 *  - Revoke of a cap with 50,000 copies (64 deleted per entry);
 *  - Delete of the final cap of a CNode of 2^16 slots full of copies (the
 *    zombie empties 64 slots per entry);
 *  - CancelBadgedSends of a badge 2,100 queued senders carry (among 300
 *    of another badge), and Delete of the final cap of an endpoint those
 *    2,100 then wait on (64 threads looked at or woken per entry).
 *
 * Each must let the thread run many times in the middle (one kernel entry
 * for the whole call would let it run at most once, after), and end as an
 * uninterrupted call would. Each cancellation takes about one period, so
 * for them the thread above runs on 10 us of every 20 us; it also looks, each time it runs, at the first and the last thread to be
 * woken: it must find the first woken and the last still waiting. The
 * senders run on one SchedContext lent to each in turn, so those woken do
 * not run until it is lent again: then each notes what its Send returned. The worst lateness is printed per operation:
 * the kernel's latency bound in instructions for this arch
 * (docs/scheduling.md); the bench, not this test, holds the numbers.
 */
#include <bulkhead/sys.h>

#define PERIOD_NS 250000ull
#define BUDGET_NS 25000ull
#define THREAD_PRIORITY 200
#define ROOT_PRIORITY 100
#define STACK_SIZE 16384
#define FRAMES_BITS 24      /* 16 MiB */
#define LARGE_FRAME_BITS 21
#define COPIES 50000
#define COPIES_RADIX 16     /* a CNode of 65,536 slots holds them */
#define MIN_WAKES 10        /* far fewer than each call's length in periods */
#define SENDERS 2400        /* a TCB cap each: the root CNode holds 4,096 slots */
#define SENDER_PRIORITY 150 /* above the root task: each runs as soon as it can */
#define SENDER_STACK 1024
#define BADGE 7
#define OTHER_BADGE 9       /* every eighth sender's */
#define NO_LABEL (~0ull)
/* A cancellation of 2,100 threads takes about one period of 250 us: for
 * those two calls the thread above wakes every 20 us, on 10 us, and must
 * find each half done at least MIN_WAKES / 2 times. */
#define SHORT_PERIOD_NS 20000ull
#define SHORT_BUDGET_NS 10000ull

static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));
static int failures;

static volatile uint64_t wakes, worst_late;
static uint64_t ticker_sc;
static volatile uint64_t period_ns = PERIOD_NS;

/* What the thread above looks at while a cancellation runs (TCB caps; 0:
 * nothing), and how often it found the first woken and the last not. */
static volatile uint64_t probe_first, probe_last, probe_middle;
static volatile bool probe_first_woken;
/* While a Retype of many objects runs: the first and last slot it fills
 * (0: none), and how often the first held its object and the last not. */
static volatile uint64_t probe_made_first, probe_made_last, probe_made_middle;

static void expect(int ok, const char *what)
{
    debug_printf("kernellatency: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

static uint64_t state_of(uint64_t tcb)
{
    uint64_t pc, sp, arg, state;
    return sys_tcb_read_registers(tcb, &pc, &sp, &arg, &state) == 0 ? state : ~0ull;
}

static uint64_t type_in(uint64_t slot);

/* Objects are made only once all their memory is zero, first to last. */
static void probe_retype(void)
{
    if (probe_made_first && type_in(probe_made_first) == BK_OBJ_ENDPOINT &&
        type_in(probe_made_last) == 0)
        probe_made_middle++;
}

/* A woken sender stays woken (it has no SchedContext to run on), so once
 * the first is seen woken only the last is looked at: one syscall. */
static void probe(void)
{
    probe_retype();
    if (!probe_first)
        return;
    if (!probe_first_woken)
        probe_first_woken = state_of(probe_first) != BK_THREAD_STATE_BLOCKED_SEND;
    if (probe_first_woken && state_of(probe_last) == BK_THREAD_STATE_BLOCKED_SEND)
        probe_middle++;
}

/* Yields the rest of its budget, so it wakes at the next refill, one
 * period after the last; notes how far past that it runs. */
static void ticker(uint64_t arg)
{
    (void)arg;
    struct bk_msg m = { 0 };
    uint64_t last = debug_time_ns();
    for (;;) {
        sys_yield(0, &m);
        uint64_t now = debug_time_ns(), gap = now - last;
        last = now;
        uint64_t late = gap > period_ns ? gap - period_ns : 0;
        if (late > worst_late)
            worst_late = late;
        wakes++;
        probe();
    }
}

static uint64_t start_ticker(void)
{
    uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0), sc = bk_alloc_object(BK_OBJ_SCHED_CONTEXT, 0);
    ticker_sc = sc;
    if (!tcb || !sc ||
        sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, BUDGET_NS, PERIOD_NS, 2, 0) != 0 ||
        sys_sched_context_bind(sc, tcb) != 0 ||
        bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, ticker, 0, stack, STACK_SIZE,
                        0, THREAD_PRIORITY) != 0)
        return 0;
    return tcb;
}

struct window {
    uint64_t wakes, ns;
};

static struct window open_window(void)
{
    worst_late = 0;
    return (struct window){ wakes, debug_time_ns() };
}

/* Reports what the ticker saw while the call ran; true if it ran at least
 * `min_wakes` times. */
static int close_window_min(const struct window *w, const char *what, long result,
                            uint64_t min_wakes)
{
    uint64_t n = wakes - w->wakes, ns = debug_time_ns() - w->ns, late = worst_late;
    debug_printf("kernellatency: %s: %llu ns, the thread above woke %llu times, at most %llu ns "
                 "late\n", what, (unsigned long long)ns, (unsigned long long)n,
                 (unsigned long long)late);
    return result == 0 && n >= min_wakes;
}

static int close_window(const struct window *w, const char *what, long result)
{
    return close_window_min(w, what, result, MIN_WAKES);
}

/* The type of the cap in root slot `slot` (0: empty), or ~0 on error. */
static uint64_t type_in(uint64_t slot)
{
    uint64_t identity;
    if (sys_debug_cap_identify(BK_CAP_DEBUG, slot, &identity) != 0)
        return ~0ull;
    return BK_CAP_IDENTITY_TYPE(identity);
}

static void check_retype(void)
{
    uint64_t ut = bk_alloc_object(BK_OBJ_UNTYPED, FRAMES_BITS);
    unsigned frames = 1u << (FRAMES_BITS - LARGE_FRAME_BITS);
    uint64_t first = bk_slots_alloc_range(frames);
    /* Made once and revoked, so that none of the memory is known zero. */
    long r = sys_untyped_retype(ut, BK_OBJ_FRAME, LARGE_FRAME_BITS, BK_CAP_ROOT_CNODE, 0, 0,
                                first, frames);
    if (r == 0)
        r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, ut, BK_WORD_BITS);
    struct window w = open_window();
    if (r == 0)
        r = sys_untyped_retype(ut, BK_OBJ_FRAME, LARGE_FRAME_BITS, BK_CAP_ROOT_CNODE, 0, 0, first,
                               frames);
    expect(close_window(&w, "Retype of 16 MiB of large frames", r),
           "the Retype of 16 MiB let the thread above run in the middle");
    for (unsigned i = 0; i < frames && r == 0; i++)
        r = type_in(first + i) == BK_OBJ_FRAME ? 0 : -1;
    expect(r == 0 && sys_untyped_retype(ut, BK_OBJ_FRAME, 12, BK_CAP_ROOT_CNODE, 0, 0, first, 1) ==
                         -BK_ERR_DELETE_FIRST,
           "it made every frame, as an uninterrupted Retype does");
}

/* Gives the thread above `budget` of every `period` ns, and lets it settle
 * (its first wake-up after the change is not a period after the last). */
static long set_ticker(uint64_t budget, uint64_t period)
{
    long r = sys_sched_control_configure(BK_CAP_SCHED_CONTROL, ticker_sc, budget, period, 2, 0);
    period_ns = period;
    struct bk_msg m = { 0 };
    uint64_t start = debug_time_ns();
    while (debug_time_ns() - start < 4 * PERIOD_NS)
        sys_yield(0, &m);
    return r;
}

/* Every slot of [first, first + n) holds an endpoint, and the untyped
 * `ut` has no room left for one more: the objects took exactly its
 * memory, as those of an uninterrupted Retype do. */
static int all_made(uint64_t ut, uint64_t first, unsigned n)
{
    int ok = 1;
    for (unsigned i = 0; i < n; i++)
        ok &= type_in(first + i) == BK_OBJ_ENDPOINT;
    uint64_t spare = bk_slot_alloc();
    ok &= sys_untyped_retype(ut, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, 0, 0, spare, 1) ==
          -BK_ERR_NOT_ENOUGH_MEMORY;
    bk_slot_free(spare);
    return ok;
}

/* Rounds of a Retype of BK_RETYPE_MAX_OBJECTS endpoints from an untyped
 * of just their size, revoked between rounds (so its memory is zeroed
 * again each time): about 45 us each, so the thread above runs on 10 us
 * of every 20 us and must find one half made at least MIN_WAKES / 2
 * times. */
#define RETYPE_ROUNDS 16

static void check_retype_objects(void)
{
    unsigned n = BK_RETYPE_MAX_OBJECTS;
    uint64_t ut = bk_alloc_object(BK_OBJ_UNTYPED, 6 + 8); /* 256 endpoints of 64 bytes */
    uint64_t first = bk_slots_alloc_range(n);
    if (!ut || !first || set_ticker(SHORT_BUDGET_NS, SHORT_PERIOD_NS) != 0) {
        expect(0, "an untyped of 16 KiB and 256 slots for Retype rounds");
        return;
    }
    probe_made_middle = 0;
    struct window w = open_window();
    long r = 0;
    int ok = 1;
    for (unsigned round = 0; round < RETYPE_ROUNDS && r == 0; round++) {
        probe_made_last = first + n - 1;
        probe_made_first = first;
        r = sys_untyped_retype(ut, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, 0, 0, first, n);
        probe_made_first = 0;
        ok &= r == 0 && all_made(ut, first, n);
        if (r == 0)
            r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, ut, BK_WORD_BITS);
    }
    int woke = close_window_min(&w, "Retype of 256 endpoints, 16 times", r, MIN_WAKES / 2);
    debug_printf("kernellatency: Retype of 256 endpoints, 16 times: the thread above found one "
                 "half made %llu times\n", (unsigned long long)probe_made_middle);
    expect(woke && probe_made_middle >= MIN_WAKES / 2,
           "the Retypes of 256 endpoints let the thread above run while making them");
    expect(ok, "each made all 256 endpoints in their slots, as an uninterrupted Retype does");
    set_ticker(BUDGET_NS, PERIOD_NS);
}

/* A CNode of 2^COPIES_RADIX slots and `n` copies of a new endpoint in it;
 * returns the endpoint's slot (the CNode's is *cnode). */
static uint64_t fill_copies(uint64_t *cnode, unsigned n)
{
    *cnode = bk_alloc_object(BK_OBJ_CNODE, COPIES_RADIX);
    uint64_t ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    for (unsigned i = 0; i < n; i++) {
        if (sys_cnode_copy(*cnode, i, COPIES_RADIX, BK_CAP_ROOT_CNODE, ep, BK_WORD_BITS,
                           BK_RIGHTS_ALL) != 0)
            return 0;
    }
    return ep;
}

/* The endpoint has no copies left: Mutate refuses caps with children. */
static int no_copies_left(uint64_t ep)
{
    uint64_t to = bk_slot_alloc();
    return sys_cnode_mutate(BK_CAP_ROOT_CNODE, to, BK_WORD_BITS, BK_CAP_ROOT_CNODE, ep,
                            BK_WORD_BITS, 5) == 0;
}

static void check_revoke(void)
{
    uint64_t cnode, ep = fill_copies(&cnode, COPIES);
    struct window w = open_window();
    long r = ep ? sys_cnode_revoke(BK_CAP_ROOT_CNODE, ep, BK_WORD_BITS) : -1;
    expect(close_window(&w, "Revoke of 50,000 copies", r),
           "the Revoke of 50,000 copies let the thread above run in the middle");
    expect(r == 0 && no_copies_left(ep), "no copy is left, as after an uninterrupted Revoke");
}

static void check_delete(void)
{
    uint64_t cnode, ep = fill_copies(&cnode, 1u << COPIES_RADIX);
    struct window w = open_window();
    long r = ep ? sys_cnode_delete(BK_CAP_ROOT_CNODE, cnode, BK_WORD_BITS) : -1;
    expect(close_window(&w, "Delete of a CNode of 65,536 copies", r),
           "the Delete of a full CNode of 2^16 slots let the thread above run in the middle");
    expect(r == 0 && type_in(cnode) == 0 && no_copies_left(ep),
           "the slot is empty and no copy is left, as after an uninterrupted Delete");
}

/* ---- Queued senders ---------------------------------------------------- */

static uint8_t sender_stacks[SENDERS][SENDER_STACK] __attribute__((aligned(16)));
static uint64_t sender_tcb[SENDERS], sender_sc;
static volatile uint64_t sender_target[SENDERS], sender_label[SENDERS];
static volatile unsigned sender_sends[SENDERS];

/* Sends through its target, notes what each Send returned, sends again. */
static void sender(uint64_t i)
{
    for (;;) {
        struct bk_msg m = { 0 };
        sender_sends[i]++;
        sys_send(sender_target[i], &m);
        sender_label[i] = BK_MSGINFO_LABEL(m.info);
    }
}

static bool has_other_badge(unsigned i)
{
    return i % 8 == 7;
}

/* Lends sender i the SchedContext: it runs at once (above the root task)
 * and takes it back when it blocked again. */
static long run_sender(unsigned i)
{
    long r = sys_sched_context_bind(sender_sc, sender_tcb[i]);
    return r ? r : sys_sched_context_unbind(sender_sc);
}

/* SENDERS threads, each queued on the endpoint through its cap in `via`
 * (badge BADGE), or `other` for every eighth. */
static long start_senders(uint64_t via, uint64_t other)
{
    sender_sc = bk_alloc_object(BK_OBJ_SCHED_CONTEXT, 0);
    long r = sender_sc ? sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sender_sc, 1000000,
                                                     1000000, 2, 0)
                       : -1;
    for (unsigned i = 0; i < SENDERS && r == 0; i++) {
        sender_tcb[i] = bk_alloc_object(BK_OBJ_TCB, 0);
        sender_target[i] = has_other_badge(i) ? other : via;
        sender_label[i] = NO_LABEL;
        r = sender_tcb[i] ? bk_thread_start(sender_tcb[i], BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE,
                                            sender, i, sender_stacks[i], SENDER_STACK, 0,
                                            SENDER_PRIORITY)
                          : -1;
        if (r == 0)
            r = run_sender(i);
        if (r == 0 && state_of(sender_tcb[i]) != BK_THREAD_STATE_BLOCKED_SEND)
            r = -1;
    }
    return r;
}

/* Every sender of badge BADGE was woken with CANCELLED (its label still
 * unread until it runs: each runs once, notes it and sends to `next`, where
 * it waits again), and those of OTHER_BADGE still wait. */
static int check_woken(uint64_t next, unsigned sends)
{
    int ok = 1;
    for (unsigned i = 0; i < SENDERS; i++) {
        if (has_other_badge(i)) {
            ok &= state_of(sender_tcb[i]) == BK_THREAD_STATE_BLOCKED_SEND && sender_sends[i] == 1;
            continue;
        }
        ok &= state_of(sender_tcb[i]) == BK_THREAD_STATE_RUNNABLE && sender_label[i] == NO_LABEL;
        sender_target[i] = next;
        ok &= run_sender(i) == 0 && sender_label[i] == BK_ERR_CANCELLED &&
              sender_sends[i] == sends + 1 &&
              state_of(sender_tcb[i]) == BK_THREAD_STATE_BLOCKED_SEND;
        sender_label[i] = NO_LABEL;
    }
    return ok;
}

/* The first and the last sender of badge BADGE: woken first and last. */
static void arm_probe(void)
{
    probe_middle = 0;
    probe_first_woken = false;
    probe_last = sender_tcb[SENDERS - 2];
    probe_first = sender_tcb[0];
}

/* The window is closed first: a Debug write holds the CPU for the UART
 * (docs/security.md), and the thread above would count that as
 * lateness. */
static int close_probe(struct window *w, const char *what, long result)
{
    probe_first = 0;
    int ok = close_window_min(w, what, result, MIN_WAKES / 2);
    debug_printf("kernellatency: %s: the thread above found it half done %llu times\n", what,
                 (unsigned long long)probe_middle);
    return ok && probe_middle >= MIN_WAKES / 2;
}

static void check_cancel_and_endpoint_delete(void)
{
    uint64_t ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0), ep2 = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    uint64_t park = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    uint64_t via = bk_slot_alloc(), other = bk_slot_alloc();
    long r = ep && ep2 && park && via && other ? 0 : -1;
    if (r == 0)
        r = sys_cnode_mint(BK_CAP_ROOT_CNODE, via, BK_WORD_BITS, BK_CAP_ROOT_CNODE, ep,
                           BK_WORD_BITS, BK_RIGHTS_ALL, BADGE);
    if (r == 0)
        r = sys_cnode_mint(BK_CAP_ROOT_CNODE, other, BK_WORD_BITS, BK_CAP_ROOT_CNODE, ep,
                           BK_WORD_BITS, BK_RIGHTS_ALL, OTHER_BADGE);
    if (r == 0)
        r = start_senders(via, other);
    expect(r == 0, "2,400 threads wait to send, 2,100 with one badge, 300 with another");
    if (r != 0 || set_ticker(SHORT_BUDGET_NS, SHORT_PERIOD_NS) != 0)
        return;
    struct window idle = open_window();
    struct bk_msg m = { 0 };
    while (debug_time_ns() - idle.ns < 2 * PERIOD_NS)
        sys_yield(0, &m);
    expect(close_window(&idle, "idle, waking every 20 us, for comparison", 0),
           "the thread above wakes every 20 us when idle");
    arm_probe();
    struct window w = open_window();
    r = sys_cnode_cancel_badged_sends(BK_CAP_ROOT_CNODE, ep, BK_WORD_BITS, BADGE);
    expect(close_probe(&w, "CancelBadgedSends of 2,100 of 2,400 senders", r),
           "the CancelBadgedSends of 2,100 senders let the thread above run in the middle");
    expect(r == 0 && check_woken(ep2, 1),
           "each sender of the badge woke with CANCELLED, the others wait, as before");
    arm_probe();
    w = open_window();
    r = sys_cnode_delete(BK_CAP_ROOT_CNODE, ep2, BK_WORD_BITS);
    expect(close_probe(&w, "Delete of an endpoint with 2,100 senders", r),
           "the Delete of an endpoint with 2,100 senders let the thread above run in the middle");
    expect(r == 0 && type_in(ep2) == 0 && check_woken(park, 2),
           "the slot is empty and each sender woke with CANCELLED, as before");
    set_ticker(BUDGET_NS, PERIOD_NS);
}

int main(const struct bk_bootinfo *bi)
{
    bk_alloc_init(bi);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_PRIORITY);
    uint64_t tcb = start_ticker();
    expect(tcb != 0, "started a thread on 25 us of every 250 us above the root task");
    if (!tcb)
        return 1;
    struct window idle = open_window();
    struct bk_msg m = { 0 };
    while (debug_time_ns() - idle.ns < 20 * PERIOD_NS)
        sys_yield(0, &m);
    expect(close_window(&idle, "idle, for comparison", 0), "the thread above wakes when idle");
    check_retype();
    check_retype_objects();
    check_revoke();
    check_delete();
    check_cancel_and_endpoint_delete();
    sys_tcb_suspend(tcb);
    debug_printf(failures ? "kernellatency: %d checks FAILED\n" : "kernellatency: all checks passed\n",
                 failures);
    return failures != 0;
}
