/*
 * CPU budgets (issue 12), run under -icount (time is instructions: exact
 * and repeatable). A thread on a SchedContext of BUDGET_NS every PERIOD_NS
 * runs above the root task, which measures:
 *
 *  - share: a thread that spins for good gets BUDGET/PERIOD of the CPU
 *    within 1 % over PERIODS periods (the kernel's consumed time against
 *    the clock), and runs out of budget once a period;
 *  - the same while the CPU idles: with the root task blocked instead of
 *    spinning below it, a throttled spinner stays throttled until its
 *    refill (the idle loop once took the current thread back unchecked
 *    at the next interrupt, and a 30 % spinner got the whole CPU);
 *  - the sporadic rule: a thread that runs in short bursts and blocks
 *    between them (the root wakes it again at once), the pattern that would
 *    game a budget refilled at fixed instants, never runs more than
 *    BUDGET_NS (and a little slack for the kernel's own entries) in any
 *    window of PERIOD_NS. The thread records when it runs: a gap between
 *    two readings of the counter longer than GAP_NS (preemption, the
 *    timer), or a wait, starts a new run; the windows are checked over
 *    that record.
 *
 *  - a periodic thread: on a SchedContext of less than the whole CPU,
 *    Yield gives up the rest of the budget, so a thread that works a
 *    little and yields wakes once a period, on time.
 *
 * The root task needs the CPU for the rest: it runs at a lower priority,
 * on its whole-CPU SchedContext.
 *
 * With several CPUs (`x86_64/cpu-budget-smp2`) the measured thread runs on
 * the last CPU, the root task on the first, blocked while it is measured
 * (other_cpu): a CPU other than the boot CPU ends budgets and serves
 * refills on its own timer. The share beside a busy root task and the
 * sporadic check (which measures runs with the counter, per hart on
 * RISC-V) are left out there.
 */
#include <bulkhead/sys.h>

#define PERIOD_NS 1000000ull /* 1 ms */
#define BUDGET_NS 300000ull  /* 30 % */
#define PERIODS 1000
#define GAP_NS 2000ull       /* more than a kernel entry for a tick */
#define SLACK_NS 5000ull     /* a window may hold this much over the budget */
#define BURST_NS 50000ull    /* the bursty thread runs this long, then blocks */
#define MAX_RUNS 32768
#define THREAD_PRIORITY 200
#define ROOT_PRIORITY 100
#define STACK_SIZE 16384

static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));
static int failures;

/* When the measured thread ran: [start[i], end[i]] in counter readings. */
static struct {
    volatile uint64_t count;
    uint64_t start[MAX_RUNS], end[MAX_RUNS];
} runs;

static uint64_t ntfn;
static uint64_t sched_control = BK_CAP_SCHED_CONTROL; /* of the CPU the thread runs on */

static void expect(int ok, const char *what)
{
    debug_printf("cpubudget: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

/* Notes the counter: extends the current run, or starts a new one after a
 * gap (the thread was not running in between). */
static uint64_t note(uint64_t last, uint64_t gap)
{
    uint64_t now = bk_counter();
    uint64_t i = runs.count;
    if (now - last > gap && i + 1 < MAX_RUNS) {
        runs.count = ++i;
        runs.start[i] = now;
    }
    runs.end[i] = now;
    return now;
}

static uint64_t gap_counts; /* GAP_NS in counter units, set before the threads start */

static void spin_forever(uint64_t arg)
{
    (void)arg;
    uint64_t last = bk_counter();
    runs.start[0] = last;
    for (;;)
        last = note(last, gap_counts);
}

/* Spins for `ns` of the clock, wakes the root task, spins for good. */
static void spin_then_wake(uint64_t ns)
{
    uint64_t t0 = debug_time_ns();
    while (debug_time_ns() - t0 < ns)
        ;
    struct bk_msg m = { 0 };
    sys_send(ntfn, &m);
    for (;;)
        ;
}

/* Notes when it runs (the clock: one on every CPU), and yields the rest of
 * its budget; again. With `wakes` not 0, it signals ntfn at that wake-up. */
static void periodic(uint64_t wakes)
{
    for (;;) {
        uint64_t i = runs.count;
        if (i < MAX_RUNS)
            runs.start[i] = debug_time_ns();
        runs.count = i + 1;
        struct bk_msg m = { 0 };
        if (i + 1 == wakes)
            sys_send(ntfn, &m);
        sys_yield(0, &m);
    }
}

/* Runs for `burst` counts, then waits on the notification; again. */
static void bursts(uint64_t burst)
{
    uint64_t last = bk_counter();
    runs.start[0] = last;
    for (;;) {
        uint64_t began = last;
        while (last - began < burst)
            last = note(last, gap_counts);
        struct bk_msg m = { 0 };
        sys_recv(ntfn, &m);
        /* A new run, however short the wait was: what ran meanwhile
         * (the root task, the kernel) is not this thread's. */
        last = note(last, 0);
    }
}

/* The most the record shows the thread ran in any window of `window`
 * counts that starts where a run starts (the worst windows do). */
static uint64_t worst_window(uint64_t window)
{
    uint64_t n = runs.count + 1, worst = 0, sum = 0, j = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t edge = runs.start[i] + window;
        /* sum: runs i .. j-1 whole; j is the first that ends past edge */
        while (j < n && runs.end[j] <= edge) {
            sum += runs.end[j] - runs.start[j];
            j++;
        }
        uint64_t part = j < n && runs.start[j] < edge ? edge - runs.start[j] : 0;
        if (sum + part > worst)
            worst = sum + part;
        if (j > i)
            sum -= runs.end[i] - runs.start[i];
        else
            j = i + 1;
    }
    return worst;
}

struct measure {
    uint64_t ns, counts, consumed, throttled;
};

static void sample(uint64_t sc, struct measure *m)
{
    uint64_t budget, period;
    m->ns = debug_time_ns();
    m->counts = bk_counter();
    if (sys_sched_context_consumed(sc, &m->consumed, &m->throttled, &budget, &period) != 0)
        m->consumed = m->throttled = 0;
}

/* With the threads on another CPU: the root task waits for them blocked
 * (its CPU idle) instead of running beside them. Under -icount QEMU runs
 * the vCPUs in turn, and a vCPU that never halts or pauses holds the
 * others off for long stretches: run_thread()'s busy wait would starve the
 * measured CPU. */
static bool other_cpu;

/* Starts `fn` on a SchedContext of BUDGET_NS/PERIOD_NS above us, lets it
 * run PERIODS periods (signalling ntfn all the while, for the bursty one;
 * with other_cpu, waiting on ntfn for fn's own signal instead) and stops
 * it; *a and *b are the samples at the ends. */
static int run_thread(void (*fn)(uint64_t), uint64_t arg, uint64_t budget, uint64_t period,
                      unsigned periods, struct measure *a, struct measure *b)
{
    uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0), sc = bk_alloc_object(BK_OBJ_SCHED_CONTEXT, 0);
    if (!tcb || !sc ||
        sys_sched_control_configure(sched_control, sc, budget, period, 8, 0) != 0 ||
        sys_sched_context_bind(sc, tcb) != 0)
        return 0;
    runs.count = 0;
    if (bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, fn, arg, stack, STACK_SIZE, 0,
                        THREAD_PRIORITY) != 0)
        return 0;
    sample(sc, a);
    struct bk_msg m = { 0 };
    if (other_cpu)
        sys_recv(ntfn, &m);
    while (!other_cpu && debug_time_ns() - a->ns < periods * period)
        sys_send(ntfn, &m);
    sample(sc, b);
    return sys_tcb_suspend(tcb) == 0;
}

/* Thousandths of `part` in `whole`. */
static uint64_t permille(uint64_t part, uint64_t whole)
{
    return whole ? part * 1000 / whole : 0;
}

static void check_share(void)
{
    struct measure a, b;
    expect(run_thread(spin_forever, 0, BUDGET_NS, PERIOD_NS, PERIODS, &a, &b), "started a spinning thread on 300 us / 1 ms");
    uint64_t elapsed = b.ns - a.ns, used = b.consumed - a.consumed;
    uint64_t want = elapsed / PERIOD_NS * BUDGET_NS;
    uint64_t off = used > want ? used - want : want - used;
    debug_printf("cpubudget: spinner: %llu ns of %llu (%llu permille; promised %llu), "
                 "throttled %llu times\n",
                 (unsigned long long)used, (unsigned long long)elapsed,
                 (unsigned long long)permille(used, elapsed),
                 (unsigned long long)permille(BUDGET_NS, PERIOD_NS),
                 (unsigned long long)(b.throttled - a.throttled));
    expect(off * 100 <= want, "the spinner got its share within 1 %");
    expect(b.throttled - a.throttled >= PERIODS - 2 && b.throttled - a.throttled <= PERIODS + 2,
           "it ran out of budget once a period");
}

/* The spinner's share while nothing else wants the CPU: the root task
 * waits on the notification the spinner signals after PERIODS periods. */
static void check_idle_share(void)
{
    struct measure a, b;
    uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0), sc = bk_alloc_object(BK_OBJ_SCHED_CONTEXT, 0);
    bool ok = tcb && sc &&
              sys_sched_control_configure(sched_control, sc, BUDGET_NS, PERIOD_NS, 8,
                                          0) == 0 &&
              sys_sched_context_bind(sc, tcb) == 0;
    sample(sc, &a);
    ok = ok && bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, spin_then_wake,
                               PERIODS * PERIOD_NS, stack, STACK_SIZE, 0, THREAD_PRIORITY) == 0;
    expect(ok, "started a spinning thread on 300 us / 1 ms, the CPU idle besides");
    struct bk_msg m = { 0 };
    if (ok)
        sys_recv(ntfn, &m);
    sample(sc, &b);
    ok = ok && sys_tcb_suspend(tcb) == 0;
    uint64_t elapsed = b.ns - a.ns, used = b.consumed - a.consumed;
    uint64_t want = elapsed / PERIOD_NS * BUDGET_NS;
    debug_printf("cpubudget: spinner beside an idle CPU: %llu ns of %llu (%llu permille)\n",
                 (unsigned long long)used, (unsigned long long)elapsed,
                 (unsigned long long)permille(used, elapsed));
    expect(ok && used <= want + want / 100 + BUDGET_NS,
           "a throttled spinner stayed throttled while the CPU idled");
}

static void check_sporadic(uint64_t counts_per_ms)
{
    struct measure a, b;
    uint64_t burst = BURST_NS * counts_per_ms / 1000000;
    expect(run_thread(bursts, burst, BUDGET_NS, PERIOD_NS, PERIODS, &a, &b), "started a bursty thread on 300 us / 1 ms");
    uint64_t window = PERIOD_NS * counts_per_ms / 1000000;
    uint64_t worst = worst_window(window) * 1000000 / counts_per_ms;
    uint64_t used = b.consumed - a.consumed, elapsed = b.ns - a.ns;
    debug_printf("cpubudget: bursty: %llu runs, %llu ns of %llu, at most %llu ns in a 1 ms "
                 "window\n",
                 (unsigned long long)runs.count + 1, (unsigned long long)used,
                 (unsigned long long)elapsed, (unsigned long long)worst);
    expect(runs.count + 1 < MAX_RUNS, "the record of its runs is whole");
    expect(worst <= BUDGET_NS + SLACK_NS, "no window of 1 ms held more than the budget");
    /* Over budget by what the kernel does for it at each budget end and
     * each wake-up (the timer's interrupt comes a little late; refill.c
     * does not make the thread pay such overruns back yet): within 1 %. */
    uint64_t allowed = (elapsed / PERIOD_NS + 1) * BUDGET_NS;
    expect(used <= allowed + allowed / 100, "nor did the whole run, within 1 %");
}

#define TICK_PERIOD_NS 2000000ull /* the periodic thread's: 2 ms */
#define TICKS 50

static void check_periodic(void)
{
    struct measure a, b;
    /* On another CPU it signals once it woke TICKS + 1 times: TICKS periods. */
    expect(run_thread(periodic, other_cpu ? TICKS + 1 : 0, 100000, TICK_PERIOD_NS, TICKS, &a, &b),
           "started a periodic thread on 100 us / 2 ms");
    uint64_t n = runs.count < MAX_RUNS ? runs.count : MAX_RUNS, shortest = UINT64_MAX, longest = 0;
    for (uint64_t i = 1; i < n; i++) {
        uint64_t gap = runs.start[i] - runs.start[i - 1];
        shortest = gap < shortest ? gap : shortest;
        longest = gap > longest ? gap : longest;
    }
    debug_printf("cpubudget: periodic: %llu wake-ups in %llu ns, %llu to %llu ns apart\n",
                 (unsigned long long)n, (unsigned long long)(b.ns - a.ns),
                 (unsigned long long)shortest, (unsigned long long)longest);
    expect(n >= TICKS - 1 && n <= TICKS + 1, "it woke once a period");
    expect(shortest >= TICK_PERIOD_NS - TICK_PERIOD_NS / 100 &&
               longest <= TICK_PERIOD_NS + TICK_PERIOD_NS / 100,
           "each wake-up came a period after the last, within 1 %");
}

int main(const struct bk_bootinfo *bi)
{
    bk_alloc_init(bi);
    ntfn = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    expect(ntfn != 0 && sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_PRIORITY) == 0,
           "made a notification and lowered our priority");
    /* The counter's rate against the clock, over 10 ms. */
    uint64_t t0 = debug_time_ns(), c0 = bk_counter();
    while (debug_time_ns() - t0 < 10000000)
        ;
    uint64_t counts_per_ms = (bk_counter() - c0) * 1000000 / (debug_time_ns() - t0);
    gap_counts = GAP_NS * counts_per_ms / 1000000;
    debug_printf("cpubudget: counter at %llu per ms\n", (unsigned long long)counts_per_ms);
    if (bi->cpu_count > 1) {
        sched_control = bi->sched_control + bi->cpu_count - 1;
        debug_printf("cpubudget: the measured threads run on CPU %u of %u\n",
                     (unsigned)bi->sched_control_cpu[bi->cpu_count - 1], (unsigned)bi->cpu_count);
    }
    other_cpu = bi->cpu_count > 1;
    check_idle_share();
    if (!other_cpu) {
        check_share();
        check_sporadic(counts_per_ms);
    }
    check_periodic();
    debug_printf("cpubudget: %s\n", failures ? "checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
