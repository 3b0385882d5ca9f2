/*
 * Threads on several CPUs (docs/smp.md): a thread runs on the CPU whose
 * SchedControl configured its SchedContext and moves when another CPU's
 * does; IPC and notifications wake threads on other CPUs; a thread
 * suspended while it runs on another CPU stops there before the call
 * returns; an unmap is seen by every CPU before it returns (TLB
 * shootdown). On a machine of one CPU there is nothing to check: each
 * test says so and passes (ktest-smp-4 runs them on four).
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define VS BK_CAP_ROOT_VSPACE
#define STACK_SIZE 8192
#define MS 1000000ull
#define WAIT_NS (5000 * MS) /* generous: TCG vCPUs on a loaded host */
#define PAGE_VA 0x50000000ull
#define RW (BK_VM_READ | BK_VM_WRITE)

static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));
static volatile uint64_t count, seen_cpu, woken;
static volatile uint64_t *volatile page;

static uint64_t cpu_index(void)
{
    uint64_t cpu = ~0ull;
    sys_debug_cpu_index(BK_CAP_DEBUG, &cpu);
    return cpu;
}

static uint64_t now_ns(void)
{
    uint64_t ns = 0;
    sys_debug_time(BK_CAP_DEBUG, &ns);
    return ns;
}

/* Polls until *v == want (or, with at_least, *v >= want), WAIT_NS at most. */
static int wait_for(volatile uint64_t *v, uint64_t want, int at_least)
{
    uint64_t end = now_ns() + WAIT_NS;
    while (at_least ? *v < want : *v != want)
        if (now_ns() > end)
            return -1;
    return 0;
}

static int one_cpu(struct ktest_env *env)
{
    if (env->bi->cpu_count > 1)
        return 0;
    debug_printf("    one CPU: nothing to check across CPUs\n");
    return 1;
}

/* A TCB at `tcb` on a whole-CPU SchedContext at `sc` configured through
 * CPU `cpu`'s SchedControl, started at `fn(arg)` (priority 100). */
static long start_on(struct ktest_env *env, uint64_t tcb, uint64_t sc, unsigned cpu,
                     void (*fn)(uint64_t), uint64_t arg)
{
    long r = sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, tcb, 1);
    if (r == 0)
        r = sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, sc, 1);
    if (r == 0)
        r = sys_sched_control_configure(env->bi->sched_control + cpu, sc, 10 * MS, 10 * MS, 1, 0);
    if (r == 0)
        r = sys_sched_context_bind(sc, tcb);
    if (r == 0)
        r = bk_thread_start(tcb, ROOT, VS, fn, arg, stack, STACK_SIZE, 0, 100);
    return r;
}

static void spin_and_report(uint64_t arg)
{
    (void)arg;
    for (;;) {
        seen_cpu = cpu_index();
        count++;
    }
}

static int test_thread_runs_and_moves(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots();
    count = 0;
    seen_cpu = ~0ull;
    KT_CHECK(cpu_index() == 0);
    KT_OK(start_on(env, s, s + 1, 1, spin_and_report, 0));
    /* Runs beside us, on the CPU of the second SchedControl (CPU 1 unless
     * one was left out at start-up: the boot info's map says). */
    KT_CHECK(wait_for(&seen_cpu, env->bi->sched_control_cpu[1], 0) == 0);
    unsigned last = env->bi->cpu_count - 1;
    KT_OK(sys_sched_control_configure(env->bi->sched_control + last, s + 1, 10 * MS, 10 * MS, 1,
                                      0));
    KT_CHECK(wait_for(&seen_cpu, env->bi->sched_control_cpu[last], 0) == 0);
    /* Suspended while it runs there: it has stopped when Suspend returns. */
    KT_OK(sys_tcb_suspend(s));
    uint64_t at_stop = count;
    uint64_t end = now_ns() + 20 * MS;
    while (now_ns() < end)
        ;
    debug_printf("    ran on CPU %u then CPU %u; %llu turns after Suspend\n",
                 env->bi->sched_control_cpu[1], env->bi->sched_control_cpu[last],
                 (unsigned long long)(count - at_stop));
    KT_CHECK(count == at_stop);
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* Answers each Call on `ep` with the first word plus one and its CPU. */
static void add_one_server(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        m.info = bk_msginfo(0, 2);
        m.mr[1] = cpu_index();
        m.mr[0]++;
        sys_reply_recv(ep, &m);
    }
}

static int test_call_across_cpus(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots();
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, s + 2, 1));
    KT_OK(start_on(env, s, s + 1, 1, add_one_server, s + 2));
    for (uint64_t i = 0; i < 200; i++) {
        struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { i } };
        sys_call(s + 2, &m);
        KT_CHECK(m.mr[0] == i + 1 && m.mr[1] == env->bi->sched_control_cpu[1]);
    }
    KT_CHECK(cpu_index() == 0);
    KT_OK(sys_tcb_suspend(s));
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* Waits on the notification at `ntfn`, counting wake-ups, on its CPU. */
static void waiter(uint64_t ntfn)
{
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(ntfn, &m);
        seen_cpu = cpu_index();
        woken++;
    }
}

static int test_signal_wakes_other_cpu(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots();
    woken = 0;
    seen_cpu = ~0ull;
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_NOTIFICATION, 0, ROOT, 0, 0, s + 2, 1));
    KT_OK(start_on(env, s, s + 1, 1, waiter, s + 2));
    for (uint64_t i = 1; i <= 20; i++) {
        struct bk_msg m = { 0 };
        sys_send(s + 2, &m);
        KT_CHECK(wait_for(&woken, i, 1) == 0); /* woken there, each time */
    }
    KT_CHECK(seen_cpu == env->bi->sched_control_cpu[1]);
    KT_OK(sys_tcb_suspend(s));
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* Reads the page for ever, counting; faults (and stops: no handler) once
 * the page is gone from its CPU's TLB. */
static void reader(uint64_t arg)
{
    (void)arg;
    for (;;) {
        (void)*page;
        count++;
    }
}

/* Maps frame `f` at PAGE_VA with page tables from `tables` on. */
static long map_page(struct ktest_env *env, uint64_t f, uint64_t tables)
{
    long r = sys_frame_map(f, VS, PAGE_VA, RW, 0);
    for (unsigned i = 0; r != 0 && i < 3; i++) {
        r = sys_untyped_retype(env->untyped, BK_OBJ_PAGE_TABLE, 0, ROOT, 0, 0, tables + i, 1);
        if (r == 0)
            r = sys_page_table_map(tables + i, VS, PAGE_VA);
        if (r == 0)
            r = sys_frame_map(f, VS, PAGE_VA, RW, 0);
    }
    return r;
}

static int test_unmap_seen_by_every_cpu(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots();
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_FRAME, 12, ROOT, 0, 0, s + 2, 1));
    KT_OK(map_page(env, s + 2, s + 3));
    page = (volatile uint64_t *)PAGE_VA;
    *page = 1;
    count = 0;
    KT_OK(start_on(env, s, s + 1, 1, reader, 0));
    KT_CHECK(wait_for(&count, 1000, 1) == 0); /* it reads through CPU 1's TLB */
    KT_OK(sys_frame_unmap(s + 2));
    uint64_t at_unmap = count;
    uint64_t end = now_ns() + 20 * MS;
    while (now_ns() < end)
        ;
    /* At most the turn under way when CPU 1 flushed: then it faults. */
    debug_printf("    %llu reads after the unmap returned\n",
                 (unsigned long long)(count - at_unmap));
    KT_CHECK(count - at_unmap <= 1);
    KT_OK(sys_tcb_suspend(s));
    return 0;
}

const struct ktest smp_tests[] = {
    { "smp: a thread runs on its SchedControl's CPU, moves with it, and stops when suspended",
      test_thread_runs_and_moves },
    { "smp: Call and ReplyRecv between threads on two CPUs", test_call_across_cpus },
    { "smp: a notification signalled on CPU 0 wakes a thread waiting on CPU 1",
      test_signal_wakes_other_cpu },
    { "smp: an unmap is seen by every CPU before it returns (TLB shootdown)",
      test_unmap_seen_by_every_cpu },
};
const unsigned smp_test_count = sizeof(smp_tests) / sizeof(smp_tests[0]);
