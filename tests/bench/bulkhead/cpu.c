/*
 * The scheduling side of the Bulkhead benchmark (issue 12), called from
 * bench.c's main(): CPU isolation between two tenants, with a spinning
 * and a syscall-making hog, and the timeout fault's way to its handler.
 * Same conventions as bench.c: under -icount a count is an instruction
 * and a nanosecond of virtual time.
 */
#include "bench.h"
#include "wake_clock.h"

#include <bulkhead/format.h>

/* ---- CPU isolation (issue 12) ----------------------------------------------
 *
 * Tenant A: one interactive thread on 300 us of every 1 ms at priority 200
 * (its reservation: 30 %) that yields the rest of its budget, so it wakes
 * once a period, and records how late each wake-up came: its reading of
 * the counter the kernel's clock counts (the TSC, RISC-V's time CSR: read
 * in user mode, no kernel call) as it wakes, minus the instant its refill
 * came due in that counter (SchedContext: Released), in ns: the lateness
 * Linux's side measures against its deadline. (Until 2026-12-06 it was measured
 * against its last wake-up plus a period, which since the refill join
 * (871d2ab) is this wake-up's lateness less the last one's: kept as the
 * fields p50_vs_last and p99_vs_last; docs/performance.md.) Tenant B: two threads at 150 that spin on 346.5 us of every
 * 990 us each (70 % in all). A's wake-up latency alone and beside B: B
 * must not make A late. Beside B, each tenant's share of the CPU too: what
 * its SchedContexts consumed (SchedContext: Consumed) over the kernel's
 * clock (Debug: Time) while A took its timed wake-ups.
 * tests/bench/linux/cpu_isolation.c is the same scenario on Linux.
 *
 * B's period differs from A's, so that A's wake-ups, 1 ms apart, move by
 * 10 us a period against B's budgets and over 500 of them fall at every
 * point of B's work: inside B's spinning (or calls), at B's budget ends
 * and refills, and in the time B leaves. With equal periods they fall at
 * the same point each time (one layout of the bench put them all where B
 * was throttled, so A never had to take the CPU from B).
 *
 * The bench's own thread (priority 100, below both) yields in a loop while
 * A is timed, so the CPU never idles: instruction counts (x86-64's TSC and
 * RISC-V's instret under -icount) are time only while instructions run.
 * "Alone" is A's wake-up beside that loop.
 *
 * The second kind of B (HOG_SYSCALLS) has the same two threads and budgets,
 * but instead of spinning they make the longest kernel calls a tenant can,
 * in a loop (syscall_hog() below): A's wake-ups then land while the kernel
 * works for B, and show how long a kernel entry can last now that long
 * calls restart at bounded intervals (docs/scheduling.md, Kernel latency).
 */
#define VICTIM_PERIOD 1000000ull /* counts: ns under -icount */
#define VICTIM_WAKES 500
#define VICTIM_WARMUP 20
#define VICTIM_BUDGET 300000ull /* ns of every VICTIM_PERIOD */
#define HOG_THREADS 2
#define HOG_PERIOD 990000ull
#define HOG_BUDGET 346500ull /* ns of every HOG_PERIOD, each: 70 % in all */

static volatile unsigned victim_done;
static volatile unsigned victim_timing; /* set at the last warm-up wake-up */
static volatile uint64_t victim_sc_slot;  /* set before its first wake-up */
static uint64_t vs_last[VICTIM_WAKES];    /* lateness against the last wake-up + a period */
static unsigned not_released;             /* timed wake-ups that were no release */
static uint8_t victim_stack[STACK_SIZE] __attribute__((aligned(16)));
static uint8_t hog_stacks[HOG_THREADS][STACK_SIZE] __attribute__((aligned(16)));

static struct wake_clock wclock;
static struct wake_record victim_wake;

/* wake_lateness(), with the wake-ups that were no release counted when
 * timed (it does not happen with this pattern: counted to show it). */
static uint64_t lateness(uint64_t now, bool timed)
{
    bool no_release;
    uint64_t late = wake_lateness(&wclock, &victim_wake, now, &no_release);
    not_released += timed && no_release;
    return late;
}

static void victim(uint64_t unused)
{
    (void)unused;
    struct bk_msg m = { 0 };
    sys_yield(0, &m);
    uint64_t last = clock_counter();
    victim_wake = (struct wake_record){ .sc = victim_sc_slot, .period_ns = VICTIM_PERIOD };
    lateness(last, false);
    for (unsigned i = 0; i < VICTIM_WARMUP + VICTIM_WAKES; i++) {
        sys_yield(0, &m); /* the rest of this period's budget: wake at the next */
        uint64_t now = clock_counter();
        bool timed = i >= VICTIM_WARMUP;
        uint64_t late = lateness(now, timed);
        if (timed) {
            samples[i - VICTIM_WARMUP] = late;
            uint64_t since = wake_clock_ns(&wclock, now - last);
            vs_last[i - VICTIM_WARMUP] = since > VICTIM_PERIOD ? since - VICTIM_PERIOD : 0;
        }
        if (i == VICTIM_WARMUP - 1)
            victim_timing = 1;
        last = now;
    }
    victim_done = 1;
    for (;;)
        sys_yield(0, &m);
}

/* Tenant B's spinning: FP work, so that switching away from it has FP
 * registers to deal with, like any real computation. */
static volatile double hog_accumulator = 2.0;

static void hog(uint64_t unused)
{
    (void)unused;
    for (;;)
        hog_accumulator += 1.0;
}

/* ---- The syscall hog ---------------------------------------------------------
 * The second kind of tenant B: the same two threads on 346.5 us of every 990 us
 * at priority 150, each making one kind of long kernel call over and over
 * (the memory they use is set up before they start, outside A's timed
 * window):
 *  - thread 0: Retype of the largest untyped the bench can get (up to
 *    2^HOG_MAX_UNTYPED_BITS bytes) into 2 MiB frames, which zeroes all of it
 *    64 KiB per kernel entry, then the Revoke of the frames (which resets
 *    the untyped, so none of its memory stays known zero);
 *  - thread 1: a CNode of 2^17 slots retyped (8 MiB zeroed), filled with
 *    131,072 endpoints by 512 Retypes of 256 from an 8 MiB untyped, the
 *    Revoke of that untyped (a derivation tree of 131,072 caps, 64 deleted
 *    per kernel entry); filled again, then the Delete of the CNode's only
 *    cap (its zombie empties 64 slots per entry).
 * The fills are Retypes too (16 KiB zeroed and 256 objects made per call),
 * not a long run of short copies: every call in the loop is a long one.
 */
#define HOG_MAX_UNTYPED_BITS 28 /* 2 MiB frames: 128, within BK_RETYPE_MAX_OBJECTS */
#define HOG_MIN_UNTYPED_BITS 22
#define HOG_FRAME_BITS 21
#define HOG_CNODE_BITS 17
#define HOG_SLOT_BITS 6     /* 64 bytes per CNode slot, and per endpoint (docs/objects.md) */
#define HOG_FILL_CALLS ((1u << HOG_CNODE_BITS) / BK_RETYPE_MAX_OBJECTS)

static struct {
    uint64_t big, big_bits, frames;        /* thread 0: its untyped, its size, the frames' slots */
    uint64_t cnode_ut, endpoint_ut, cnode; /* thread 1: its untypeds, the CNode's slot */
    volatile uint64_t retypes, revokes, deletes; /* long calls completed, of each kind */
    volatile long error;                   /* the first call that failed, or 0 */
    uint64_t fill_call;                    /* instructions of one fill Retype, timed alone */
} shog;

static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) hog_buffers[HOG_THREADS];

/* Thread 0's pair: the Retype of the whole untyped, then its Revoke. */
static long hog_retype_largest(void)
{
    uint64_t frames = 1ull << (shog.big_bits - HOG_FRAME_BITS);
    long r = sys_untyped_retype(shog.big, BK_OBJ_FRAME, HOG_FRAME_BITS, BK_CAP_ROOT_CNODE, 0, 0,
                                shog.frames, frames);
    if (r == 0) {
        shog.retypes++;
        r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, shog.big, BK_WORD_BITS);
    }
    return r;
}

/* Fills every slot of the hog's CNode with a new endpoint. */
static long hog_fill_cnode(void)
{
    long r = 0;
    for (unsigned i = 0; i < HOG_FILL_CALLS && r == 0; i++)
        r = sys_untyped_retype(shog.endpoint_ut, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, shog.cnode,
                               BK_WORD_BITS, (uint64_t)i * BK_RETYPE_MAX_OBJECTS,
                               BK_RETYPE_MAX_OBJECTS);
    return r;
}

/* Thread 1's round: a full CNode, the Revoke of its 131,072 endpoints'
 * untyped; full again, and the Delete of the CNode. Both untypeds are
 * childless after it, so the next Retypes start from their beginning. */
static long hog_revoke_and_delete(void)
{
    long r = sys_untyped_retype(shog.cnode_ut, BK_OBJ_CNODE, HOG_CNODE_BITS, BK_CAP_ROOT_CNODE, 0,
                                0, shog.cnode, 1);
    if (r == 0)
        r = hog_fill_cnode();
    if (r == 0)
        r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, shog.endpoint_ut, BK_WORD_BITS);
    if (r == 0) {
        shog.revokes++;
        r = hog_fill_cnode();
    }
    if (r == 0)
        r = sys_cnode_delete(BK_CAP_ROOT_CNODE, shog.cnode, BK_WORD_BITS);
    if (r == 0)
        shog.deletes++;
    return r;
}

/* Hog thread `thread` (0 or 1): its calls until one fails (then it spins). */
static void syscall_hog(uint64_t thread)
{
    long r;
    do
        r = thread == 0 ? hog_retype_largest() : hog_revoke_and_delete();
    while (r == 0);
    shog.error = r;
    hog(0);
}

/* One Retype of the fill, timed with nothing else running: its 16 KiB are
 * below RETYPE_ZERO_CHUNK, so it is one kernel entry, the hog's longest.
 * The CNode is deleted again: the hog's loop starts as it always does. */
static long time_fill_call(void)
{
    long r = sys_untyped_retype(shog.cnode_ut, BK_OBJ_CNODE, HOG_CNODE_BITS, BK_CAP_ROOT_CNODE, 0,
                                0, shog.cnode, 1);
    uint64_t t0 = bk_counter();
    if (r == 0)
        r = sys_untyped_retype(shog.endpoint_ut, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, shog.cnode,
                               BK_WORD_BITS, 0, BK_RETYPE_MAX_OBJECTS);
    shog.fill_call = bk_counter() - t0;
    return r == 0 ? sys_cnode_delete(BK_CAP_ROOT_CNODE, shog.cnode, BK_WORD_BITS) : r;
}

/* The hog's memory and slots, before its threads start. */
static void syscall_hog_setup(void)
{
    shog.big = 0;
    for (shog.big_bits = HOG_MAX_UNTYPED_BITS; !shog.big && shog.big_bits >= HOG_MIN_UNTYPED_BITS;)
        if (!(shog.big = bk_alloc_object(BK_OBJ_UNTYPED, (unsigned)shog.big_bits)))
            shog.big_bits--;
    shog.frames = bk_slots_alloc_range(1ull << (shog.big_bits - HOG_FRAME_BITS));
    shog.cnode_ut = bk_alloc_object(BK_OBJ_UNTYPED, HOG_CNODE_BITS + HOG_SLOT_BITS);
    shog.endpoint_ut = bk_alloc_object(BK_OBJ_UNTYPED, HOG_CNODE_BITS + HOG_SLOT_BITS);
    shog.cnode = bk_slot_alloc();
    shog.retypes = shog.revokes = shog.deletes = 0;
    shog.error = 0;
    if (!shog.big || !shog.frames || !shog.cnode_ut || !shog.endpoint_ut || !shog.cnode ||
        time_fill_call() != 0) {
        debug_puts("bench: not enough memory or slots for the syscall hog\n");
        sys_thread_exit(1);
    }
}

/* A thread on `budget` ns of every `period` in up to `refills` pieces at
 * `priority`, started at fn(arg) with IPC buffer `ipc_buffer` (or 0); its
 * SchedContext in *sc_out. */
static uint64_t start_budgeted(void (*fn)(uint64_t), uint64_t arg, uint8_t *stack,
                               uint64_t ipc_buffer, uint64_t budget, uint64_t period,
                               unsigned refills, unsigned priority, uint64_t *sc_out)
{
    uint64_t tcb = make(BK_OBJ_TCB), sc = make(BK_OBJ_SCHED_CONTEXT);
    *sc_out = sc;
    if (sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, budget, period, refills, 0) != 0 ||
        sys_sched_context_bind(sc, tcb) != 0 ||
        bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, fn, arg, stack, STACK_SIZE,
                        ipc_buffer, priority) != 0) {
        debug_puts("bench: cannot start a budgeted thread\n");
        sys_thread_exit(1);
    }
    return tcb;
}

/* The tenants' CPU use at one instant: the kernel's clock and what each
 * SchedContext consumed, in ns; and the syscall hog's calls so far. */
struct cpu_use {
    uint64_t ns, victim, hog;
    uint64_t victim_throttles, hog_throttles;
    uint64_t retypes, revokes, deletes;
};

/* What `sc` consumed (ns); how often it ran out is added to *throttles. */
static uint64_t consumed(uint64_t sc, uint64_t *throttles)
{
    uint64_t used, throttled, budget, period;
    if (sys_sched_context_consumed(sc, &used, &throttled, &budget, &period) != 0)
        return 0;
    *throttles += throttled;
    return used;
}

static void cpu_use(struct cpu_use *u, uint64_t victim_sc, const uint64_t *hog_scs)
{
    u->ns = debug_time_ns();
    u->victim_throttles = u->hog_throttles = 0;
    u->victim = consumed(victim_sc, &u->victim_throttles);
    u->hog = 0;
    for (unsigned i = 0; i < HOG_THREADS; i++)
        u->hog += hog_scs[i] ? consumed(hog_scs[i], &u->hog_throttles) : 0;
    u->retypes = shog.retypes;
    u->revokes = shog.revokes;
    u->deletes = shog.deletes;
}

/* Lateness in ns, which it is under -icount: min, median, p99 (nearest
 * rank, as the Linux side reports them) and max of VICTIM_WAKES samples;
 * `extra` ("" or more JSON fields, each after ", ") ends the record. */
static void report_lateness(const struct bk_bootinfo *bi, const char *op, const char *extra)
{
    unsigned n = VICTIM_WAKES;
    sort(samples, n);
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": \"%s\", "
                 "\"unit\": \"ns\", \"min\": %llu, \"median\": %llu, \"p99\": %llu, "
                 "\"max\": %llu, \"iterations\": %u%s}\n",
                 bi->arch, op, (unsigned long long)samples[0],
                 (unsigned long long)samples[(n * 50 + 99) / 100 - 1],
                 (unsigned long long)samples[(n * 99 + 99) / 100 - 1],
                 (unsigned long long)samples[n - 1], n, extra);
}

/* A tenant's share of the CPU in percent (two decimals) beside its policy,
 * and how often its SchedContexts ran out of budget in the window. */
static void report_share(const struct bk_bootinfo *bi, const char *op, uint64_t used,
                         uint64_t elapsed, uint64_t throttles, unsigned policy_percent,
                         const char *policy)
{
    uint64_t hundredths = elapsed ? (used * 10000 + elapsed / 2) / elapsed : 0;
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": \"%s\", "
                 "\"unit\": \"percent\", \"value\": %llu.%02llu, \"policy_percent\": %u, "
                 "\"policy\": \"%s\", \"used_ns\": %llu, \"elapsed_ns\": %llu, "
                 "\"throttles\": %llu}\n",
                 bi->arch, op, (unsigned long long)(hundredths / 100),
                 (unsigned long long)(hundredths % 100), policy_percent, policy,
                 (unsigned long long)used, (unsigned long long)elapsed,
                 (unsigned long long)throttles);
}

/* What the syscall hog did in A's timed window, as fields of the lateness
 * record: the size of each call and how many of each ended in the window;
 * and the instructions of one fill Retype (time_fill_call()). */
static void syscall_hog_fields(char *buf, size_t size, const struct cpu_use *start,
                               const struct cpu_use *end)
{
    snprintf(buf, size,
             ", \"retype_bytes\": %llu, \"retypes\": %llu, \"revoke_caps\": %u, \"revokes\": %llu, "
             "\"delete_cnode_slots\": %u, \"deletes\": %llu, \"fill_call_instructions\": %llu",
             1ull << shog.big_bits, (unsigned long long)(end->retypes - start->retypes),
             1u << HOG_CNODE_BITS, (unsigned long long)(end->revokes - start->revokes),
             1u << HOG_CNODE_BITS, (unsigned long long)(end->deletes - start->deletes),
             (unsigned long long)shog.fill_call);
}

/* Starts tenant B of `kind` (nothing for NO_HOG); its SchedContexts in
 * hog_scs, its TCBs returned in hogs. */
static void start_hog(enum hog_kind kind, uint64_t *hogs, uint64_t *hog_scs)
{
    bool calls = kind == SYSCALL_HOG;
    if (calls)
        syscall_hog_setup();
    for (unsigned i = 0; kind != NO_HOG && i < HOG_THREADS; i++)
        hogs[i] = start_budgeted(calls ? syscall_hog : hog, i, hog_stacks[i],
                                 (uint64_t)(uintptr_t)&hog_buffers[i].b,
                                 HOG_BUDGET, HOG_PERIOD, 8, 150, &hog_scs[i]);
}

static void report_cpu_victim(const struct bk_bootinfo *bi, enum hog_kind kind,
                              const struct cpu_use *start, const struct cpu_use *end)
{
    static const char *const wake[] = { "cpu_victim_wake_alone", "cpu_victim_wake_beside_hog",
                                        "cpu_victim_wake_beside_syscall_hog" };
    char fields[384] = "";
    sort(vs_last, VICTIM_WAKES);
    int n = snprintf(fields, sizeof(fields),
                     ", \"p50_vs_last\": %llu, \"p99_vs_last\": %llu, \"not_released\": %u",
                     (unsigned long long)vs_last[(VICTIM_WAKES * 50 + 99) / 100 - 1],
                     (unsigned long long)vs_last[(VICTIM_WAKES * 99 + 99) / 100 - 1],
                     not_released);
    if (kind == SYSCALL_HOG && n > 0 && (size_t)n < sizeof(fields))
        syscall_hog_fields(fields + n, sizeof(fields) - (size_t)n, start, end);
    report_lateness(bi, wake[kind], fields);
    if (kind == NO_HOG)
        return;
    uint64_t elapsed = end->ns - start->ns;
    report_share(bi, kind == SYSCALL_HOG ? "cpu_share_victim_beside_syscall_hog"
                                         : "cpu_share_victim",
                 end->victim - start->victim, elapsed,
                 end->victim_throttles - start->victim_throttles,
                 (unsigned)(VICTIM_BUDGET * 100 / VICTIM_PERIOD),
                 "reservation: 300 us of every 1 ms at priority 200");
    report_share(bi, kind == SPINNING_HOG ? "cpu_share_hog" : "cpu_share_syscall_hog",
                 end->hog - start->hog, elapsed, end->hog_throttles - start->hog_throttles,
                 (unsigned)(HOG_THREADS * HOG_BUDGET * 100 / HOG_PERIOD),
                 "limit: 2 threads x 346.5 us of every 990 us at priority 150");
}

void bench_cpu_victim(const struct bk_bootinfo *bi, enum hog_kind kind)
{
    uint64_t hogs[HOG_THREADS] = { 0 }, hog_scs[HOG_THREADS] = { 0 }, victim_sc;
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100);
    start_hog(kind, hogs, hog_scs);
    victim_done = victim_timing = 0;
    not_released = 0;
    wake_clock_calibrate(&wclock);
    /* It yields first, so it reads victim_sc_slot a period after this. */
    uint64_t tcb =
        start_budgeted(victim, 0, victim_stack, 0, VICTIM_BUDGET, VICTIM_PERIOD, 8, 200, &victim_sc);
    victim_sc_slot = victim_sc;
    /* This thread runs below both tenants, so it samples in the time they
     * leave, within a period of the timed wake-ups' start and end. */
    struct cpu_use start, end;
    struct bk_msg m = { 0 };
    while (!victim_timing)
        sys_yield(0, &m);
    cpu_use(&start, victim_sc, hog_scs);
    while (!victim_done)
        sys_yield(0, &m);
    cpu_use(&end, victim_sc, hog_scs);
    sys_tcb_suspend(tcb);
    for (unsigned i = 0; i < HOG_THREADS; i++) {
        if (hogs[i])
            sys_tcb_suspend(hogs[i]);
    }
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    if (kind == SYSCALL_HOG && shog.error) {
        debug_printf("bench: a call of the syscall hog failed: error %ld\n", -shog.error);
        sys_thread_exit(1);
    }
    report_cpu_victim(bi, kind, &start, &end);
}

/* ---- timeout_fault_* -----------------------------------------------------------
 * A timeout fault's way to its handler and back, in instructions. A spinner
 * at priority 150 runs on a SchedContext of TIMEOUT_BUDGET ns with timeout
 * faults on (TCB: SetTimeoutFaults) and the bench's endpoint as its fault
 * endpoint. The handler, at 200 on a whole-CPU SchedContext, receives each
 * BK_FAULT_TIMEOUT, gives the spinner a fresh budget (SchedControl:
 * Configure, as a scheduler server would) and answers with label 0
 * (ReplyRecv), so the spinner goes on at once. The spinner reads the
 * counter in a tight loop; two readings more than TIMEOUT_GAP apart with a
 * fault counted by the handler in between are one fault:
 *  - timeout_fault_to_handler: from the spinner's last reading before the
 *    budget ended to the handler's first reading after its Recv returned
 *    the fault (the rest of that pass of the spinner's loop, the timer
 *    interrupt, charging, the fault message, the switch, the return to
 *    user mode);
 *  - timeout_fault_roundtrip: from the same reading to the spinner's first
 *    reading after it resumed: the above, the handler's bookkeeping, its
 *    Configure and ReplyRecv, the switch back and the interrupt's return.
 * Nothing idles in either window, so under -icount each is an exact
 * count of the instructions the CPU retired; the pass of the spinner's
 * loop the interrupt cut short adds at most that loop's few instructions.
 */
#define TIMEOUT_BUDGET 5000ull /* ns: 5,000 instructions of spinning per fault */
#define TIMEOUT_BADGE 12
#define TIMEOUT_GAP 100 /* counts: far above a pass of the loop, far below a fault */

static uint64_t roundtrips[MAX_ITERATIONS];
static uint64_t tf_ep, tf_sc, tf_spinner;
static volatile uint64_t tf_faults, tf_received_at, tf_recorded;
static volatile unsigned tf_done;
static volatile long tf_wrong; /* a fault that was not the spinner's timeout */
static uint8_t tf_stacks[2][STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) tf_handler_buffer; /* for Configure's fifth word */

static void timeout_spinner(uint64_t unused)
{
    (void)unused;
    uint64_t last = bk_counter(), seen = tf_faults;
    for (;;) {
        uint64_t now = bk_counter();
        if (now - last > TIMEOUT_GAP && tf_faults != seen) {
            seen = tf_faults;
            if (seen > WARMUP && seen <= WARMUP + iterations) {
                samples[seen - WARMUP - 1] = tf_received_at - last;
                roundtrips[seen - WARMUP - 1] = now - last;
            }
            tf_recorded = seen;
        }
        last = now;
    }
}

/* Answers WARMUP + iterations faults with a fresh budget; at the next one
 * stops the spinner (which is waiting for the answer) and tells the bench. */
static void timeout_handler(uint64_t unused)
{
    (void)unused;
    struct bk_msg m = { 0 };
    sys_recv(tf_ep, &m);
    for (;;) {
        tf_received_at = bk_counter();
        if (BK_MSGINFO_LABEL(m.info) != BK_FAULT_TIMEOUT || m.mr[0] != TIMEOUT_BADGE)
            tf_wrong = (long)BK_MSGINFO_LABEL(m.info);
        if (++tf_faults > WARMUP + iterations)
            break;
        sys_sched_control_configure(BK_CAP_SCHED_CONTROL, tf_sc, TIMEOUT_BUDGET, VICTIM_PERIOD, 2,
                                    TIMEOUT_BADGE);
        m.info = bk_msginfo(0, 0);
        sys_reply_recv(tf_ep, &m);
    }
    sys_tcb_suspend(tf_spinner);
    tf_done = 1;
    sys_recv(tf_ep, &m); /* nothing comes */
}

void bench_timeout_fault(const struct bk_bootinfo *bi)
{
    uint64_t handler = make(BK_OBJ_TCB);
    long err;
    tf_ep = make(BK_OBJ_ENDPOINT);
    tf_spinner = make(BK_OBJ_TCB);
    tf_sc = make(BK_OBJ_SCHED_CONTEXT);
    tf_faults = tf_recorded = tf_done = 0;
    tf_wrong = 0;
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100);
    if (!bk_sched_whole_cpu(handler, &err) ||
        bk_thread_start(handler, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, timeout_handler, 0,
                        tf_stacks[0], STACK_SIZE, (uint64_t)(uintptr_t)&tf_handler_buffer.b,
                        200) != 0 ||
        sys_sched_control_configure(BK_CAP_SCHED_CONTROL, tf_sc, TIMEOUT_BUDGET, VICTIM_PERIOD, 2,
                                    TIMEOUT_BADGE) != 0 ||
        sys_sched_context_bind(tf_sc, tf_spinner) != 0 ||
        sys_tcb_set_timeout_faults(tf_spinner, 1) != 0 ||
        sys_tcb_set_fault_endpoint(tf_spinner, tf_ep) != 0 ||
        bk_thread_start(tf_spinner, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, timeout_spinner, 0,
                        tf_stacks[1], STACK_SIZE, 0, 150) != 0) {
        debug_puts("bench: cannot start the timeout-fault threads\n");
        sys_thread_exit(1);
    }
    struct bk_msg m = { 0 };
    while (!tf_done) /* this thread, at 100, runs only then */
        sys_yield(0, &m);
    sys_tcb_suspend(handler);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    if (tf_wrong || tf_recorded != WARMUP + iterations) {
        debug_printf("bench: timeout faults: %llu seen of %u, label %ld\n",
                     (unsigned long long)tf_recorded, WARMUP + iterations, tf_wrong);
        sys_thread_exit(1);
    }
    report(bi, "timeout_fault_to_handler");
    for (unsigned i = 0; i < iterations; i++)
        samples[i] = roundtrips[i];
    report(bi, "timeout_fault_roundtrip");
}
