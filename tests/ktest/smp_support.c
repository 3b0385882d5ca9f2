/*
 * What the multi-core ktests share (smp_support.h): threads started on a
 * CPU, the root's blocking waits bounded by a watchdog, and a server that
 * answers Calls.
 */
#include "smp_support.h"

uint64_t cpu_index(void)
{
    uint64_t cpu = ~0ull;
    sys_debug_cpu_index(BK_CAP_DEBUG, &cpu);
    return cpu;
}

int one_cpu(struct ktest_env *env)
{
    if (env->bi->cpu_count > 1)
        return 0;
    debug_printf("    one CPU: nothing to check across CPUs\n");
    return 1;
}

/* A TCB at `tcb` on a SchedContext at `sc` of `budget` every `period`
 * configured through CPU `cpu`'s SchedControl, started at `fn(arg)` on
 * `stk` at `prio`. */
long start_with_budget(struct ktest_env *env, uint64_t tcb, uint64_t sc, unsigned cpu,
                              uint64_t budget, uint64_t period, void (*fn)(uint64_t),
                              uint64_t arg, uint8_t *stk, unsigned prio)
{
    long r = sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, tcb, 1);
    if (r == 0)
        r = sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, sc, 1);
    if (r == 0)
        r = sys_sched_control_configure(env->bi->sched_control + cpu, sc, budget, period, 1, 0);
    if (r == 0)
        r = sys_sched_context_bind(sc, tcb);
    if (r == 0)
        r = bk_thread_start(tcb, ROOT, VS, fn, arg, stk, STACK_SIZE, 0, prio);
    return r;
}

/* The same on a whole CPU. */
long start_thread(struct ktest_env *env, uint64_t tcb, uint64_t sc, unsigned cpu,
                         void (*fn)(uint64_t), uint64_t arg, uint8_t *stk, unsigned prio)
{
    return start_with_budget(env, tcb, sc, cpu, 10 * MS, 10 * MS, fn, arg, stk, prio);
}

/* ---- Blocking waits, bounded by a watchdog ---------------------------------
 * The watchdog is a thread on CPU 0 below the root's priority, on a
 * SchedContext of WATCHDOG_BUDGET every WATCHDOG_PERIOD: it runs only while
 * the root is blocked, looks at the clock, signals the root's notification
 * once the armed deadline has passed, and gives up the rest of its budget
 * (Yield), so that CPU 0 is idle between its looks. A wait wakes on every
 * signal and looks again at what it waits for. */
#define WATCHDOG_BUDGET (200 * 1000ull)
#define WATCHDOG_PERIOD (5 * MS)
#define WATCHDOG_PRIO 200 /* below the root (255), which it must not delay */

static uint8_t watchdog_stack[STACK_SIZE] __attribute__((aligned(16)));
struct smp_watch watch;

void notify(uint64_t ntfn)
{
    struct bk_msg m = { 0 };
    sys_send(ntfn, &m);
}

static void watchdog(uint64_t arg)
{
    (void)arg;
    for (;;) {
        if (watch.deadline && !watch.fired && debug_time_ns() >= watch.deadline) {
            watch.fired = 1;
            notify(watch.ntfn);
        }
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
    }
}

/* Makes the root's notification at `slot`, which the threads a test waits
 * for signal, and starts the watchdog (TCB and SchedContext in the two
 * slots after it). */
long start_watchdog(struct ktest_env *env, uint64_t slot)
{
    watch.ntfn = slot;
    watch.deadline = watch.fired = 0;
    long r = sys_untyped_retype(env->untyped, BK_OBJ_NOTIFICATION, 0, ROOT, 0, 0, slot, 1);
    if (r == 0)
        r = start_with_budget(env, slot + 1, slot + 2, 0, WATCHDOG_BUDGET, WATCHDOG_PERIOD,
                              watchdog, 0, watchdog_stack, WATCHDOG_PRIO);
    return r;
}

void arm(uint64_t ns)
{
    watch.fired = 0;
    watch.deadline = debug_time_ns() + ns;
}

/* Blocks until *v == want (or, with at_least, *v >= want): each thread
 * that changes *v signals the root's notification. `ns` at most. */
int wait_until(volatile uint64_t *v, uint64_t want, int at_least, uint64_t ns)
{
    arm(ns);
    while (at_least ? *v < want : *v != want) {
        if (watch.fired) {
            debug_printf("    waited %llu ms for %llu: the value is still %llu\n",
                         (unsigned long long)(ns / MS), (unsigned long long)want,
                         (unsigned long long)*v);
            return -1;
        }
        struct bk_msg m = { 0 };
        sys_recv(watch.ntfn, &m);
    }
    watch.deadline = 0;
    return 0;
}

int wait_for(volatile uint64_t *v, uint64_t want, int at_least)
{
    return wait_until(v, want, at_least, WAIT_NS);
}

/* Blocks for `ns`: the other CPUs run meanwhile, whatever QEMU's mode. */
void sleep_ns(uint64_t ns)
{
    arm(ns);
    while (!watch.fired) {
        struct bk_msg m = { 0 };
        sys_recv(watch.ntfn, &m);
    }
    watch.deadline = 0;
}

volatile uint64_t words_past_length;

/* Answers each Call on `ep` with the first word plus one and its CPU,
 * which it reads once (its SchedContext stays on that CPU): a Debug:
 * CpuIndex each round would take the kernel lock each round, and the
 * fast path on the other CPUs would find it held. Counts the Calls of one
 * word whose other words did not arrive as 0. */
void add_one_server(uint64_t ep)
{
    uint64_t cpu = cpu_index();
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        if (BK_MSGINFO_LENGTH(m.info) == 1 && (m.mr[1] | m.mr[2] | m.mr[3]))
            words_past_length++;
        m.info = bk_msginfo(0, 2);
        m.mr[1] = cpu;
        m.mr[0]++;
        sys_reply_recv(ep, &m);
    }
}
