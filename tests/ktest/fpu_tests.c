/*
 * FPU and vector state per thread: every thread sees only its own
 * floating-point registers across switches, within an address space and
 * between two (fpu_child.c); a new thread (even one made in the memory of
 * a deleted thread whose state was still live in the CPU) starts from the
 * ABI's initial state; a computation preempted by the timer many times
 * ends bit for bit as if it ran alone; and the registers are readable and
 * writable through the TCB.
 *
 * The fill and read-back of the registers are in assembly
 * (tests/ktest/arch/<arch>/fpu_regs.S, see fpu_arch.h): compiled C may use
 * the FPU registers itself, so no C runs between them. For the same
 * reason the thread that deletes a thread whose state is live, and starts
 * the next one, runs assembly too (kt_nofpu_calls_entry).
 */
#include "fpu_arch.h"
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192
#define HELPERS 2

static uint8_t stacks[HELPERS][STACK_SIZE] __attribute__((aligned(16)));

/* What a helper thread reports back. */
static volatile struct {
    uint64_t regs[BK_FPU_REG_COUNT];
    long result;
    int done;
} report[HELPERS];

/* Slots a test uses: s + 0.. TCBs, s + 4.. notifications, s + 8 a small
 * untyped for TCBs that must land at the same address twice. */
#define TCB(s, i) ((s) + (i))
#define NTFN(s, i) ((s) + 4 + (i))
#define SMALL_UNTYPED(s) ((s) + 8)

static long start(uint64_t tcb, unsigned i, void (*fn)(uint64_t), uint64_t arg, unsigned prio)
{
    return bk_thread_start(tcb, ROOT, BK_CAP_ROOT_VSPACE, fn, arg, stacks[i], STACK_SIZE, 0, prio);
}

/* ---- Helper thread bodies (arg: slot base s) ------------------------------ */

#define SEED_HELPER 0x1234567890abcdefull
#define SEED_ROOT 0x0fedcba987654321ull

/* Fills its FPU with SEED_HELPER, waits on NTFN(s, 0), reads its FPU back
 * into report[0], then exits. */
static void fill_wait_dump(uint64_t s)
{
    uint64_t regs[BK_FPU_REG_COUNT];
    report[0].result = kt_fpu_fill_syscall_dump(SEED_HELPER, BK_SYS_RECV, NTFN(s, 0), 0, 0, regs);
    for (unsigned i = 0; i < BK_FPU_REG_COUNT; i++)
        report[0].regs[i] = regs[i];
    report[0].done = 1;
    sys_thread_exit(0);
}

/* Waits on NTFN(s, 0) for a go, fills its FPU with SEED_HELPER and waits
 * there again, for good: its state stays live in the CPU until another
 * thread uses the FPU. */
static void wait_fill_and_block(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_recv(NTFN(s, 0), &m);
    uint64_t regs[BK_FPU_REG_COUNT];
    kt_fpu_fill_syscall_dump(SEED_HELPER, BK_SYS_RECV, NTFN(s, 0), 0, 0, regs);
    sys_thread_exit(0);
}

/* kt_fpu_dump_entry's continuation: the first thing the thread did was
 * store its FPU registers; say so and exit. */
static void dumped(struct kt_fpu_dump_entry_arg *d)
{
    (void)d;
    report[1].done = 1;
    sys_thread_exit(0);
}

static struct kt_fpu_dump_entry_arg dump_arg = { .next = dumped };

/* ---- A thread that never touches the FPU ------------------------------------ */

/* The syscalls it makes (kt_nofpu_calls_entry), and its IPC buffer, which
 * holds words 4 and up of its method invocations: all of them, as every
 * call shares the buffer, so only one call may have more than four words. */
static struct kt_nofpu_calls nofpu_calls;
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) nofpu_buffer;

/* The method invocation `label` on `cap` with `length` words (those past
 * the fourth already in nofpu_buffer). */
static struct kt_nofpu_call method(uint64_t cap, uint64_t label, unsigned length, uint64_t w0,
                                   uint64_t w1, uint64_t w2, uint64_t w3)
{
    return (struct kt_nofpu_call){ BK_SYS_CALL,
                                   { cap, BK_MSGINFO(length, 0, 0, label), w0, w1, w2, w3 } };
}

/* Starts `tcb` at `priority` running nofpu_calls, with no stack (it needs
 * none) and straight at the assembly: no libsys start-up code, which is
 * compiled C and may use the FPU. */
static long start_nofpu(uint64_t tcb, unsigned priority)
{
    nofpu_calls.done = 0;
    uint64_t ipc_buffer = (uint64_t)(uintptr_t)&nofpu_buffer.b;
    long r = sys_tcb_configure(tcb, ROOT, 0, BK_CAP_ROOT_VSPACE, ipc_buffer);
    if (r == 0)
        r = sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, priority);
    if (r == 0)
        r = sys_tcb_write_registers(tcb, 1, (uint64_t)(uintptr_t)kt_nofpu_calls_entry, 0,
                                    (uint64_t)(uintptr_t)&nofpu_calls);
    return r;
}

/* Prints and counts the calls in nofpu_calls that were not made or, for
 * method invocations, failed. */
static unsigned nofpu_failures(void)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < nofpu_calls.count; i++) {
        const struct kt_nofpu_call *c = &nofpu_calls.call[i];
        uint64_t err = c->nr == BK_SYS_CALL ? kt_nofpu_call_error(c) : 0;
        if (i >= nofpu_calls.done)
            debug_printf("    no-FPU thread: call %u not made\n", i);
        else if (err)
            debug_printf("    no-FPU thread: call %u failed: %s\n", i, bk_error_name((long)err));
        else
            continue;
        bad++;
    }
    return bad;
}

/* ---- Tests ------------------------------------------------------------------- */

/* A helper of higher priority fills its FPU and blocks; the root task fills
 * its own and signals, which switches to the helper at once; each then
 * reads back only its own values. */
static int test_fpu_state_is_per_thread(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, TCB(s, 0), 1));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, NTFN(s, 0), 1));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    report[0].done = 0;
    KT_OK(start(TCB(s, 0), 0, fill_wait_dump, s, 200)); /* runs until it waits */
    uint64_t mine[BK_FPU_REG_COUNT];
    kt_fpu_fill_syscall_dump(SEED_ROOT, BK_SYS_SEND, NTFN(s, 0), 0, 0, mine);
    KT_CHECK(report[0].done == 1);
    KT_CHECK(kt_fpu_pattern_mismatches(report[0].regs, SEED_HELPER, "helper") == 0);
    KT_CHECK(kt_fpu_pattern_mismatches(mine, SEED_ROOT, "root task") == 0);
    return 0;
}

/* A thread that never used the FPU starts from the ABI's initial values,
 * whatever the thread that ran before it left in the registers. */
static int test_new_thread_starts_with_initial_fpu_state(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, TCB(s, 0), 1));
    uint64_t mine[BK_FPU_REG_COUNT];
    /* The root task's state is live now (NBRecv on nothing returns at once). */
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, NTFN(s, 0), 1));
    kt_fpu_fill_syscall_dump(SEED_ROOT, BK_SYS_NBRECV, NTFN(s, 0), 0, 0, mine);
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    report[1].done = 0;
    KT_OK(start(TCB(s, 0), 1, kt_fpu_dump_entry, (uint64_t)(uintptr_t)&dump_arg, 200));
    KT_CHECK(report[1].done == 1);
    KT_CHECK(kt_fpu_initial_mismatches(dump_arg.regs, "new thread") == 0);
    return 0;
}

/* Plans the no-FPU thread's calls for the test below: wake H, revoke the
 * small untyped (H dies with its state live), retype a TCB from it (at H's
 * address), configure it and start it above us at kt_fpu_dump_entry. */
static void plan_delete_and_reuse(uint64_t s, uint64_t sc, unsigned priority)
{
    struct kt_nofpu_call *c = nofpu_calls.call;
    uint64_t stack_top = (uint64_t)(uintptr_t)(stacks[1] + STACK_SIZE);
    c[0] = (struct kt_nofpu_call){ BK_SYS_SEND, { NTFN(s, 0) } };
    c[1] = method(ROOT, BK_LABEL_CNODE_REVOKE, 2, SMALL_UNTYPED(s), W, 0, 0);
    nofpu_buffer.b.mr[4] = 0; /* node_depth, node_offset, num_objects */
    nofpu_buffer.b.mr[5] = TCB(s, 0);
    nofpu_buffer.b.mr[6] = 1;
    c[2] = method(SMALL_UNTYPED(s), BK_LABEL_UNTYPED_RETYPE, 7, BK_OBJ_TCB, 0, ROOT, 0);
    c[3] = method(TCB(s, 0), BK_LABEL_TCB_CONFIGURE, 4, ROOT, 0, BK_CAP_ROOT_VSPACE, 0);
    c[4] = method(TCB(s, 0), BK_LABEL_TCB_SET_PRIORITY, 2, BK_CAP_ROOT_TCB, priority, 0, 0);
    /* H's SchedContext outlived H (it came from the test's untyped). */
    c[5] = method(sc, BK_LABEL_SCHED_CONTEXT_BIND, 1, TCB(s, 0), 0, 0, 0);
    c[6] = method(TCB(s, 0), BK_LABEL_TCB_WRITE_REGISTERS, 4, 1,
                  (uint64_t)(uintptr_t)kt_fpu_dump_entry, stack_top,
                  (uint64_t)(uintptr_t)&dump_arg);
    nofpu_calls.count = 7;
}

/* A thread's FPU state may still be live in the CPU when its TCB is
 * deleted; a TCB made later in the same memory must not inherit it. The
 * small untyped makes the second TCB land at the first one's address.
 *
 * Only a thread that never touches the FPU may do the deleting and the
 * restarting: had any thread using the FPU run in between (the root task
 * does: compiled code uses SSE registers in passing), it would have taken
 * the FPU and saved the dead thread's state first, and the deletion would
 * find nothing live. So helper H (200) fills its FPU and blocks, woken by
 * the no-FPU thread R (150), which then does everything; we (100) run
 * again only once both are done. The new thread T (200) dumps its
 * registers with its first instructions. */
static int test_deleted_thread_state_never_leaks(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, 12, SMALL_UNTYPED(s), 1));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, NTFN(s, 0), 1));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, TCB(s, 1), 1)); /* R */
    KT_OK(sys_untyped_retype(SMALL_UNTYPED(s), BK_OBJ_TCB, 0, ROOT, 0, 0, TCB(s, 0), 1));
    uint64_t sc;
    KT_OK(kt_give_cpu(env, TCB(s, 0), &sc));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    KT_OK(start(TCB(s, 0), 0, wait_fill_and_block, s, 200)); /* H: waits for R */
    plan_delete_and_reuse(s, sc, 200);
    report[1].done = 0;
    KT_OK(start_nofpu(TCB(s, 1), 150));
    KT_CHECK(nofpu_failures() == 0);
    KT_CHECK(report[1].done == 1);
    KT_CHECK(kt_fpu_initial_mismatches(dump_arg.regs, "thread in a dead thread's memory") == 0);
    return 0;
}

/* TCB: ReadFpuRegister sees what a blocked thread left in its FPU,
 * WriteFpuRegister changes what it sees when it runs again, and both
 * check their arguments. */
static int test_fpu_registers_through_the_tcb(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, TCB(s, 0), 2));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, NTFN(s, 0), 1));
    /* A configured thread that never ran reads the initial state. */
    KT_OK(sys_tcb_configure(TCB(s, 1), ROOT, 0, BK_CAP_ROOT_VSPACE, 0));
    for (unsigned i = 0; i < BK_FPU_REG_COUNT; i++) {
        uint64_t v = ~0ull;
        KT_OK(sys_tcb_read_fpu_register(TCB(s, 1), i, &v));
        KT_CHECK(v == kt_fpu_initial(i));
    }
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    report[0].done = 0;
    KT_OK(start(TCB(s, 0), 0, fill_wait_dump, s, 200));
    unsigned changed = BK_FPU_REG_COUNT;
    uint64_t changed_value = 0;
    for (unsigned i = 0; i < BK_FPU_REG_COUNT; i++) {
        uint64_t want, v = 0;
        if (!kt_fpu_pattern(SEED_HELPER, i, &want))
            continue;
        KT_OK(sys_tcb_read_fpu_register(TCB(s, 0), i, &v));
        KT_CHECK(v == want);
        if (changed == BK_FPU_REG_COUNT && i >= BK_FPU_REG_COUNT / 2) { /* a data register */
            changed = i;
            changed_value = ~want;
        }
    }
    KT_CHECK(changed < BK_FPU_REG_COUNT);
    KT_OK(sys_tcb_write_fpu_register(TCB(s, 0), changed, changed_value));
    uint64_t v = 0;
    KT_OK(sys_tcb_read_fpu_register(TCB(s, 0), changed, &v));
    KT_CHECK(v == changed_value);
    /* Errors: index past the last, the caller itself, a value the CPU refuses. */
    KT_EXPECT_ERR(sys_tcb_read_fpu_register(TCB(s, 0), BK_FPU_REG_COUNT, &v), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_tcb_write_fpu_register(TCB(s, 0), ~0ull, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_tcb_write_fpu_register(BK_CAP_ROOT_TCB, changed, 0),
                  BK_ERR_ILLEGAL_OPERATION);
    unsigned bad_index;
    uint64_t bad_value;
    kt_fpu_bad_value(&bad_index, &bad_value);
    KT_EXPECT_ERR(sys_tcb_write_fpu_register(TCB(s, 0), bad_index, bad_value),
                  BK_ERR_INVALID_ARGUMENT);
    /* Wake it: it sees the written value and its own pattern elsewhere. */
    struct bk_msg m = { 0 };
    sys_send(NTFN(s, 0), &m);
    KT_CHECK(report[0].done == 1);
    KT_CHECK(report[0].regs[changed] == changed_value);
    uint64_t want;
    KT_CHECK(kt_fpu_pattern(SEED_HELPER, changed, &want));
    report[0].regs[changed] = want; /* so that the rest compares with the pattern */
    KT_CHECK(kt_fpu_pattern_mismatches(report[0].regs, SEED_HELPER, "helper") == 0);
    return 0;
}

/* ---- Another address space ---------------------------------------------------- */

/* fpu-child (fpu_child.c) fills its FPU and Calls us; we fill ours with
 * another seed and Reply, which runs the child (above us) between our fill
 * and our dump: it dumps its registers and Calls again with the count of
 * those that changed. Each must see only its own values, whichever of the
 * two address spaces the FPU was last used in. */
static int test_fpu_state_is_per_address_space(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    kt_init_allocators(env);
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    /* Spawned below us, it runs only once its faults go to the endpoint,
     * where they fail the label checks rather than leave us waiting. */
    struct bk_process p;
    KT_OK(bk_process_spawn(env->bi, "fpu-child", 50, s, BK_SPAWN_GIVE_DEBUG, &p));
    KT_OK(sys_tcb_set_fault_endpoint(p.tcb, s));
    /* Raised above us, it runs at once, fills its FPU and blocks in its
     * Call (no one receives yet) with its state live in the CPU. */
    KT_OK(sys_tcb_set_priority(p.tcb, BK_CAP_ROOT_TCB, 150));
    struct bk_msg m = { 0 };
    sys_recv(s, &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == KT_FPU_CHILD_FILLED);
    uint64_t mine[BK_FPU_REG_COUNT];
    kt_fpu_fill_syscall_dump(SEED_ROOT, BK_SYS_REPLY, 0, bk_msginfo(0, 0), 0, mine);
    /* Its report must be waiting already: it ran inside our Reply. */
    m = (struct bk_msg){ 0 };
    sys_nbrecv(s, &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == KT_FPU_CHILD_REPORT && BK_MSGINFO_LENGTH(m.info) == 1);
    KT_CHECK(m.mr[0] == 0); /* it printed which registers were not its own */
    KT_CHECK(kt_fpu_pattern_mismatches(mine, SEED_ROOT, "root task") == 0);
    m = (struct bk_msg){ 0 };
    sys_reply(0, &m); /* it exits */
    return 0;
}

/* ---- Preempted floating-point work ----------------------------------------- */

#define CHUNK 2048
#define MIN_CHUNKS 64
#define MAX_CHUNKS 16384

static volatile uint64_t progress[HELPERS];   /* chunks done */
static volatile uint64_t interleavings[HELPERS]; /* times the other one moved meanwhile */
static volatile uint64_t outcome[HELPERS];

/* Eight dependent chains of multiply-adds, kept in FPU registers across
 * the timer interrupts that preempt the loop. The result is exact for a
 * given seed and chunk count, whatever runs in between. */
static uint64_t fp_chunks(uint64_t seed, uint64_t chunks, unsigned me)
{
    double x[8];
    for (unsigned k = 0; k < 8; k++)
        x[k] = (double)(seed + k) * 0.001;
    double a = 1.0 + (double)(seed % 97) * 1e-9, b = 1e-7 * (double)(seed % 13 + 1);
    uint64_t seen = me < HELPERS ? progress[1 - me] : 0;
    for (uint64_t c = 0; c < chunks; c++) {
        for (unsigned i = 0; i < CHUNK; i++) {
            x[0] = x[0] * a + b; x[1] = x[1] * a - b; x[2] = x[2] * a + x[0];
            x[3] = x[3] * a - x[1]; x[4] = x[4] * a + b; x[5] = x[5] * a + x[4] * b;
            x[6] = x[6] * a - x[5] * b; x[7] = x[7] * a + x[2] * b;
        }
        if (me < HELPERS) {
            progress[me] = c + 1;
            if (progress[1 - me] != seen) {
                seen = progress[1 - me];
                interleavings[me]++;
            }
        }
    }
    uint64_t h = 0;
    for (unsigned k = 0; k < 8; k++) {
        uint64_t bits;
        __builtin_memcpy(&bits, &x[k], sizeof bits);
        h = h * 1000003u ^ bits;
    }
    return h;
}

/* Runs until the other helper was seen to make progress in the middle of
 * this one's work a few times (so the two really interleaved), with a floor
 * and a ceiling on the amount of work; reports the chunk count through
 * progress[] and the result through outcome[]. */
static void fp_worker(uint64_t arg)
{
    unsigned me = (unsigned)(arg & 1);
    uint64_t s = arg >> 1;
    uint64_t chunks = MIN_CHUNKS;
    outcome[me] = fp_chunks(1000 + me, chunks, me);
    /* Until both saw the other move: one that stopped at its own third
     * would leave the other nothing to see (a loaded host stalls long). */
    while ((interleavings[0] < 3 || interleavings[1] < 3) && chunks < MAX_CHUNKS) {
        chunks *= 2;
        outcome[me] = fp_chunks(1000 + me, chunks, me);
    }
    progress[me] = chunks;
    struct bk_msg m = { 0 };
    sys_send(NTFN(s, me), &m);
    sys_thread_exit(0);
}

static int test_preempted_fp_computation_is_exact(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, TCB(s, 0), 2));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, NTFN(s, 0), 2));
    for (unsigned i = 0; i < HELPERS; i++)
        progress[i] = interleavings[i] = outcome[i] = 0;
    /* Equal priorities: the timer's timeslices switch between them. */
    KT_OK(start(TCB(s, 0), 0, fp_worker, s << 1 | 0, 50));
    KT_OK(start(TCB(s, 1), 1, fp_worker, s << 1 | 1, 50));
    struct bk_msg m = { 0 };
    sys_recv(NTFN(s, 0), &m);
    sys_recv(NTFN(s, 1), &m);
    for (unsigned i = 0; i < HELPERS; i++) {
        debug_printf("    worker %u: %llu chunks of %u, saw the other move %llu times\n", i,
                     (unsigned long long)progress[i], CHUNK,
                     (unsigned long long)interleavings[i]);
        KT_CHECK(interleavings[i] >= 3);
        KT_CHECK(outcome[i] == fp_chunks(1000 + i, progress[i], HELPERS));
    }
    return 0;
}

const struct ktest fpu_tests[] = {
    { "fpu: state is per thread across switches", test_fpu_state_is_per_thread },
    { "fpu: a new thread starts from the initial state",
      test_new_thread_starts_with_initial_fpu_state },
    { "fpu: a deleted thread's state never reaches the next TCB in its memory",
      test_deleted_thread_state_never_leaks },
    { "fpu: registers through TCB ReadFpuRegister/WriteFpuRegister",
      test_fpu_registers_through_the_tcb },
    { "fpu: state isolation across address spaces", test_fpu_state_is_per_address_space },
    { "fpu: a computation preempted by the timer is exact",
      test_preempted_fp_computation_is_exact },
};
const unsigned fpu_test_count = sizeof(fpu_tests) / sizeof(fpu_tests[0]);
