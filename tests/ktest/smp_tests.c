/*
 * Threads on several CPUs (docs/smp.md): a thread runs on the CPU whose
 * SchedControl configured its SchedContext and moves when another CPU's
 * does; IPC and notifications wake threads on other CPUs; a thread
 * suspended while it runs on another CPU stops there before the call
 * returns; an unmap is seen by every CPU before it returns (TLB
 * shootdown). On a machine of one CPU there is nothing to check: each
 * test says so and passes (ktest-smp-4 runs them on four).
 *
 * The root task never polls while another CPU works for it: it blocks on a
 * notification that the thread it waits for signals, and a watchdog bounds
 * each wait. Under QEMU -icount the vCPUs run in turn and a busy CPU 0
 * keeps every other CPU from running at all (docs/smp.md, "QEMU under
 * -icount with several CPUs"); ktest-smp-2-icount and -4-icount run them so.
 */
#include "fpu_arch.h"
#include "smp_support.h"

#define PAGE_VA 0x50000000ull
#define RW (BK_VM_READ | BK_VM_WRITE)

static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));
static volatile uint64_t count, seen_cpu, woken;
static volatile uint64_t *volatile page;

/* start_thread() on the one stack of the tests with one thread, at 100. */
static long start_on(struct ktest_env *env, uint64_t tcb, uint64_t sc, unsigned cpu,
                     void (*fn)(uint64_t), uint64_t arg)
{
    return start_thread(env, tcb, sc, cpu, fn, arg, stack, 100);
}

/* Counts for ever; says on which CPU it runs, signalling the root's
 * notification `ntfn` whenever that changes. */
static void spin_and_report(uint64_t ntfn)
{
    for (;;) {
        uint64_t cpu = cpu_index();
        if (cpu != seen_cpu) {
            seen_cpu = cpu;
            notify(ntfn);
        }
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
    KT_OK(start_watchdog(env, s + 2));
    KT_OK(start_on(env, s, s + 1, 1, spin_and_report, s + 2));
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
    sleep_ns(20 * MS); /* its CPU free to run it, were it not stopped */
    debug_printf("    ran on CPU %u then CPU %u; %llu turns after Suspend\n",
                 env->bi->sched_control_cpu[1], env->bi->sched_control_cpu[last],
                 (unsigned long long)(count - at_stop));
    KT_CHECK(count == at_stop);
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
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

/* Waits on the notification at `ntfn`, counting wake-ups, on its CPU;
 * tells the root's notification after each. */
static void waiter(uint64_t ntfn)
{
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(ntfn, &m);
        seen_cpu = cpu_index();
        woken++;
        notify(watch.ntfn);
    }
}

static int test_signal_wakes_other_cpu(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots();
    woken = 0;
    seen_cpu = ~0ull;
    KT_OK(start_watchdog(env, s + 3));
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

/* Reads the page for ever, counting, and signals the root's notification
 * `ntfn` at READS_BEFORE_UNMAP; faults (and stops: no handler) once the
 * page is gone from its CPU's TLB. */
#define READS_BEFORE_UNMAP 1000
static void reader(uint64_t ntfn)
{
    for (;;) {
        (void)*page;
        if (++count == READS_BEFORE_UNMAP)
            notify(ntfn);
    }
}

/* Maps frame `f` at PAGE_VA in `vs` with page tables from `tables` on. */
static long map_page_in(struct ktest_env *env, uint64_t vs, uint64_t f, uint64_t tables)
{
    long r = sys_frame_map(f, vs, PAGE_VA, RW, 0);
    for (unsigned i = 0; r != 0 && i < 3; i++) {
        r = sys_untyped_retype(env->untyped, BK_OBJ_PAGE_TABLE, 0, ROOT, 0, 0, tables + i, 1);
        if (r == 0)
            r = sys_page_table_map(tables + i, vs, PAGE_VA);
        if (r == 0)
            r = sys_frame_map(f, vs, PAGE_VA, RW, 0);
    }
    return r;
}

static long map_page(struct ktest_env *env, uint64_t f, uint64_t tables)
{
    return map_page_in(env, VS, f, tables);
}

static int test_unmap_seen_by_every_cpu(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots();
    KT_OK(start_watchdog(env, s + 6));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_FRAME, 12, ROOT, 0, 0, s + 2, 1));
    KT_OK(map_page(env, s + 2, s + 3));
    page = (volatile uint64_t *)PAGE_VA;
    *page = 1;
    count = 0;
    KT_OK(start_on(env, s, s + 1, 1, reader, s + 6));
    /* It reads through CPU 1's TLB. */
    KT_CHECK(wait_for(&count, READS_BEFORE_UNMAP, 1) == 0);
    KT_OK(sys_frame_unmap(s + 2));
    uint64_t at_unmap = count;
    sleep_ns(20 * MS); /* CPU 1 free to read on, had it kept the mapping */
    /* At most the turn under way when CPU 1 flushed: then it faults. */
    debug_printf("    %llu reads after the unmap returned\n",
                 (unsigned long long)(count - at_unmap));
    KT_CHECK(count - at_unmap <= 1);
    KT_OK(sys_tcb_suspend(s));
    return 0;
}

/* Unmaps frame `f` (mapped in `vs`), mapping it first, and says how many
 * shootdowns and remote flushes (IPIs) that unmap made. */
static int unmap_counted(struct ktest_env *env, uint64_t vs, uint64_t f, uint64_t tables,
                         uint64_t *shootdowns, uint64_t *remote)
{
    uint64_t n0, r0, n1, r1;
    KT_OK(map_page_in(env, vs, f, tables));
    KT_OK(sys_debug_shootdown_counts(BK_CAP_DEBUG, &n0, &r0));
    KT_OK(sys_frame_unmap(f));
    KT_OK(sys_debug_shootdown_counts(BK_CAP_DEBUG, &n1, &r1));
    *shootdowns = n1 - n0;
    *remote = r1 - r0;
    return 0;
}

/* One Call to the echo server at `ep`: it answers with the label plus one. */
static int echo_once(uint64_t ep)
{
    struct bk_msg m = { .info = BK_MSGINFO(0, 0, 0, 7) };
    sys_call(ep, &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == 8);
    return 0;
}

/* A shootdown asks only the CPUs that ran the space: an echo server in
 * its own space that ran on CPU 0 alone (where we unmap) costs no IPI;
 * once it ran on the last CPU too, the unmap asks that one CPU, not the
 * others. (That the CPUs asked really flush is the test above.) */
static int test_shootdown_only_where_space_ran(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots(), n, remote;
    unsigned last = env->bi->cpu_count - 1;
    kt_init_allocators(env);
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, s, 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_FRAME, 12, ROOT, 0, 0, s + 1, 1));
    struct bk_process p;
    KT_OK(bk_process_spawn(env->bi, "echo", 100, s, 0, &p));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50)); /* it runs, to Recv */
    KT_CHECK(echo_once(s) == 0);
    KT_CHECK(unmap_counted(env, p.vspace, s + 1, s + 2, &n, &remote) == 0);
    debug_printf("    space run on CPU 0 only: %llu shootdowns, %llu remote flushes\n",
                 (unsigned long long)n, (unsigned long long)remote);
    KT_CHECK(n == 0 && remote == 0);
    KT_OK(sys_sched_control_configure(env->bi->sched_control + last, p.sched_context, 10 * MS,
                                      10 * MS, 1, 0));
    KT_CHECK(echo_once(s) == 0); /* now it runs on the last CPU */
    KT_CHECK(unmap_counted(env, p.vspace, s + 1, s + 2, &n, &remote) == 0);
    debug_printf("    then on CPU %u too: %llu shootdowns, %llu remote flushes (of %u CPUs)\n",
                 env->bi->sched_control_cpu[last], (unsigned long long)n,
                 (unsigned long long)remote, env->bi->cpu_count);
    KT_CHECK(n == 1 && remote == 1);
    KT_OK(sys_tcb_suspend(p.tcb));
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* ---- Lazy FPU state across CPUs ------------------------------------------ */

#define FPU_SEED 0x5eed0f5eed0f5eedull
static volatile uint64_t fpu_regs[BK_FPU_REG_COUNT];
static volatile uint64_t fpu_filling, fpu_done, fpu_cpu_before, fpu_cpu_after;

/* Fills every FPU register on its CPU and waits on `ntfn` (nothing else
 * uses the FPU there, so the state stays live in that CPU's registers);
 * once woken, on the CPU its SchedContext moved to meanwhile, reads them
 * all back before any compiled code runs. It tells the root's notification
 * before it fills and once it has read them back. */
static void fpu_mover(uint64_t ntfn)
{
    uint64_t regs[BK_FPU_REG_COUNT];
    fpu_cpu_before = cpu_index();
    fpu_filling = 1;
    notify(watch.ntfn);
    kt_fpu_fill_syscall_dump(FPU_SEED, BK_SYS_RECV, ntfn, 0, 0, regs);
    fpu_cpu_after = cpu_index();
    for (unsigned i = 0; i < BK_FPU_REG_COUNT; i++)
        fpu_regs[i] = regs[i];
    fpu_done = 1;
    notify(watch.ntfn);
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(ntfn, &m);
    }
}

/* The thread's FPU values were live in CPU 1's registers when it moved to
 * the last CPU: that CPU must not run it on its older saved copy (nor
 * CPU 1 keep them as live for it). Whether it had blocked by the time it
 * moved, or was still on its way there, the values must all come back. */
static int test_fpu_state_moves_with_thread(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots();
    unsigned last = env->bi->cpu_count - 1;
    fpu_filling = fpu_done = 0;
    fpu_cpu_before = fpu_cpu_after = ~0ull;
    KT_OK(start_watchdog(env, s + 3));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_NOTIFICATION, 0, ROOT, 0, 0, s + 2, 1));
    KT_OK(start_on(env, s, s + 1, 1, fpu_mover, s + 2));
    KT_CHECK(wait_for(&fpu_filling, 1, 0) == 0);
    KT_OK(sys_sched_control_configure(env->bi->sched_control + last, s + 1, 10 * MS, 10 * MS, 1,
                                      0));
    struct bk_msg m = { 0 };
    sys_send(s + 2, &m);
    KT_CHECK(wait_for(&fpu_done, 1, 0) == 0);
    debug_printf("    filled on CPU %llu, read back on CPU %llu\n",
                 (unsigned long long)fpu_cpu_before, (unsigned long long)fpu_cpu_after);
    KT_CHECK(fpu_cpu_before == 1 && fpu_cpu_after == last);
    KT_CHECK(kt_fpu_pattern_mismatches(fpu_regs, FPU_SEED, "moved thread") == 0);
    KT_OK(sys_tcb_suspend(s));
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* ---- A syscall number no syscall has, on another CPU ----------------------
 * Syscall 0 by a thread on CPU 1, naming an endpoint the root waits on: an
 * unknown-syscall fault for the thread's handler (the root, on that same
 * endpoint), as on CPU 0, never a message. The entry of a CPU compares the
 * number with its fast-path numbers first, which arch_cpu_smp_mode() sets
 * to one no syscall has; an AP whose struct kept a 0 there (its zeroed
 * start) would take syscall 0 for a Call, on the one-CPU fast path without
 * the kernel lock: this test then reads the message's label (checked by
 * breaking it so). */
#define ZERO_LABEL 0x5a5 /* what the message would carry if it were a Call */
static void syscall_zero(uint64_t ep)
{
    while (count == 0) /* until the root has made itself its handler */
        ;
    uint64_t until = debug_time_ns() + 20 * MS; /* and waits in its Recv */
    while (debug_time_ns() < until)
        ;
    bk_syscall_raw(0, ep, BK_MSGINFO(0, 0, 0, ZERO_LABEL), 0, 0, 0, 0);
    count = 2; /* the handler's answer let it go on */
    notify(watch.ntfn);
    sys_thread_exit(0);
}

static int test_syscall_zero_elsewhere(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots(), ep = s + 2;
    count = 0;
    KT_OK(start_watchdog(env, s + 3));
    KT_OK(sys_tcb_bind_notification(BK_CAP_ROOT_TCB, watch.ntfn)); /* bounds the Recv */
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, ep, 1));
    KT_OK(start_on(env, s, s + 1, 1, syscall_zero, ep));
    KT_OK(sys_tcb_set_fault_endpoint(s, ep));
    count = 1;
    arm(WAIT_NS);
    struct bk_msg f = { 0 };
    sys_recv(ep, &f);
    watch.deadline = 0;
    KT_OK(sys_tcb_unbind_notification(BK_CAP_ROOT_TCB));
    debug_printf("    syscall 0 on CPU 1: label %llu, word 1 %llu\n",
                 (unsigned long long)BK_MSGINFO_LABEL(f.info), (unsigned long long)f.mr[1]);
    KT_CHECK(!watch.fired);
    KT_CHECK(BK_MSGINFO_LABEL(f.info) == BK_FAULT_UNKNOWN_SYSCALL && f.mr[1] == 0);
    struct bk_msg reply = { .info = bk_msginfo(0, 0) };
    sys_reply(0, &reply);
    KT_CHECK(wait_for(&count, 2, 0) == 0);
    KT_OK(sys_tcb_suspend(s));
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* Deletes the only cap to its own TCB, in `slot` of the root CNode: the
 * call never returns. */
static void delete_own_tcb(uint64_t slot)
{
    sys_cnode_delete(ROOT, slot, 64);
    for (;;)
        count++; /* not reached: the thread is gone */
}

static volatile uint64_t strays;

/* Counts for ever on CPU `cpu`, and counts the turns it found itself on
 * another. */
static void spin_on(uint64_t cpu)
{
    for (;;) {
        if (cpu_index() != cpu)
            strays++;
        count++;
    }
}

/* A thread that deletes its own TCB on CPU 1 stays that CPU's current
 * thread to the end of the kernel entry; CPU 1 must forget it when it
 * idles (sched.c, sched_forget_destroyed()). Its memory, made a new thread
 * that runs on CPU 0, must not look like CPU 1's current thread (the
 * checks ask only the CPU a thread last went to user mode on: thread.h,
 * last_cpu), nor be run or queued there. Both TCBs come from the same
 * small untyped, empty again in between, so both lie at its start. */
static int test_thread_deleting_itself(struct ktest_env *env)
{
    if (one_cpu(env))
        return 0;
    uint64_t s = kt_slots(), u = s, tcb = s + 1, sc = s + 2, sc0 = s + 6;
    count = strays = 0;
    KT_OK(start_watchdog(env, s + 3));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_UNTYPED, 16, ROOT, 0, 0, u, 1));
    KT_OK(sys_untyped_retype(u, BK_OBJ_TCB, 0, ROOT, 0, 0, tcb, 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, sc, 1));
    KT_OK(sys_sched_control_configure(env->bi->sched_control + 1, sc, 10 * MS, 10 * MS, 1, 0));
    KT_OK(sys_sched_context_bind(sc, tcb));
    KT_OK(bk_thread_start(tcb, ROOT, VS, delete_own_tcb, tcb, stack, STACK_SIZE, 0, 100));
    for (unsigned i = 0; i < 500 && kt_type(tcb) == BK_OBJ_TCB; i++)
        sleep_ns(2 * MS);
    /* Its delete stopped it at once; the rest of the delete may have been
     * left for later (a zombie cap in the slot, when an interrupt was
     * pending: cnode.c), which a delete of the slot finishes. */
    if (kt_type(tcb) != 0)
        KT_OK(sys_cnode_delete(ROOT, tcb, 64));
    KT_CHECK(kt_type(tcb) == 0 && count == 0);
    sleep_ns(20 * MS); /* CPU 1 idles */
    /* The same memory, a new thread on CPU 0, below the root: it runs
     * while the root sleeps, and CPU 1's ticks look at CPU 1's current. */
    KT_OK(sys_untyped_retype(u, BK_OBJ_TCB, 0, ROOT, 0, 0, tcb, 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, sc0, 1));
    KT_OK(sys_sched_control_configure(env->bi->sched_control, sc0, 10 * MS, 10 * MS, 1, 0));
    KT_OK(sys_sched_context_bind(sc0, tcb));
    uint64_t cpu0 = env->bi->sched_control_cpu[0];
    KT_OK(bk_thread_start(tcb, ROOT, VS, spin_on, cpu0, stack, STACK_SIZE, 0, 100));
    sleep_ns(50 * MS);
    KT_OK(sys_tcb_suspend(tcb));
    debug_printf("    the new thread: %llu turns, %llu of them on another CPU than %llu\n",
                 (unsigned long long)count, (unsigned long long)strays,
                 (unsigned long long)cpu0);
    KT_CHECK(count > 0 && strays == 0);
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

const struct ktest smp_tests[] = {
    { "smp: a thread runs on its SchedControl's CPU, moves with it, and stops when suspended",
      test_thread_runs_and_moves },
    { "smp: Call and ReplyRecv between threads on two CPUs", test_call_across_cpus },
    { "smp: syscall 0 on CPU 1 is an unknown syscall for its handler, not a Call",
      test_syscall_zero_elsewhere },
    { "smp: a notification signalled on CPU 0 wakes a thread waiting on CPU 1",
      test_signal_wakes_other_cpu },
    { "smp: an unmap is seen by every CPU before it returns (TLB shootdown)",
      test_unmap_seen_by_every_cpu },
    { "smp: an unmap asks only the CPUs that ran the space to flush",
      test_shootdown_only_where_space_ran },
    { "smp: Call and ReplyRecv between two threads of CPU 1 take the fast path",
      test_fastpath_same_cpu },
    { "smp: Call and ReplyRecv between threads of two CPUs take the general path",
      test_fastpath_not_across_cpus },
    { "smp: the same-CPU fast path beside calls between two other CPUs",
      test_fastpath_beside_cross_traffic },
    { "smp: two same-CPU pairs on two CPUs take the fast path without the lock at once",
      test_fastpath_two_cpus_unlocked },
    { "smp: one endpoint served and called from two CPUs",
      test_fastpath_shared_endpoint },
    { "smp: a fast path without the lock whose way out is the general one",
      test_fastpath_unlocked_general_exit },
    { "smp: Yield with nothing to yield to on CPU 1 takes its fast path without the lock",
      test_yield_unlocked },
    { "smp: Signal and Wait between two threads of CPU 1 take their fast paths without the lock",
      test_notification_unlocked },
    { "smp: a server with a bound notification signalled from CPU 2 keeps its ReplyRecv off the lock",
      test_fastpath_bound_notification_unlocked },
    { "smp: a thread whose FPU state is live on CPU 1 keeps it when it moves",
      test_fpu_state_moves_with_thread },
    { "smp: a thread that deletes its own TCB on CPU 1 is no CPU's thread when its memory is a new one's",
      test_thread_deleting_itself },
};
const unsigned smp_test_count = sizeof(smp_tests) / sizeof(smp_tests[0]);

const struct ktest smp_contended_tests[] = {
    { "smp: the root on CPU 0 and a client on CPU 2 call one server on CPU 3, beside CPU 1's pair",
      test_two_cpus_call_one_server },
};
const unsigned smp_contended_test_count =
    sizeof(smp_contended_tests) / sizeof(smp_contended_tests[0]);
