/*
 * The Debug capability (issue 10): the console, the tick counter, cap
 * identification and the invariant walk are methods of a cap the root
 * task holds in BK_CAP_DEBUG and may give, no longer syscalls any thread
 * can make. A thread whose CSpace has no Debug cap is refused everything
 * (and prints nothing: tests/qemu/tests.cmake rejects the line it would
 * write); with a copy of the cap the same thread can do it all.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192
#define CSPACE_BITS 4 /* the helper's own CNode: 16 slots, BK_CAP_DEBUG among them */
#define ROOT_LOW 50
#define HELPER_PRIORITY 100

static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));

/* The line the helper writes without a Debug cap (the ktest system test
 * rejects it) and the one it writes with a copy. */
static const char line_without[] = "ktest: this line was written without a Debug cap\n";
static const char line_with[] = "ktest: this line was written with a copy of the Debug cap\n";

/* What the helper thread got from each Debug method. */
static volatile long write_result, walk_result, ticks_result, time_result;

/* Runs in a CSpace of its own (see own_cspace): tries every Debug method
 * on its slot BK_CAP_DEBUG (writing the line `arg` points to), then exits. */
static void debug_user(uint64_t arg)
{
    const char *line = (const char *)(uintptr_t)arg;
    uint64_t written = 0, violations = 0, ticks = 0, ns = 0;
    write_result = sys_debug_write(BK_CAP_DEBUG, arg, strlen(line), &written);
    walk_result = sys_debug_check_invariants(BK_CAP_DEBUG, &violations);
    ticks_result = sys_debug_ticks(BK_CAP_DEBUG, &ticks);
    time_result = sys_debug_time(BK_CAP_DEBUG, &ns);
    /* The method results, when they succeeded: bytes written, violations. */
    if (write_result == 0)
        write_result = (long)written;
    if (walk_result == 0)
        walk_result = (long)violations;
    sys_thread_exit(0);
}

/* A CNode of 2^CSPACE_BITS slots at `s`, and at s + 1 a copy guarded so
 * that slot n is the address n at depth BK_WORD_BITS, as in the root's. */
static int own_cspace(struct ktest_env *env, uint64_t s)
{
    if (kt_retype(env, BK_OBJ_CNODE, CSPACE_BITS, s, 1) != 0)
        return 1;
    uint64_t guard_data = W - CSPACE_BITS; /* guard 0 of 60 bits, encoded as for mint */
    return sys_cnode_mint(ROOT, s + 1, W, ROOT, s, W, BK_RIGHTS_ALL, guard_data) != 0;
}

/* Runs debug_user(line) in the CSpace at s + 1 to completion (it outranks us). */
static int run_debug_user(struct ktest_env *env, uint64_t s, const char *line)
{
    write_result = walk_result = ticks_result = time_result = 1;
    if (kt_retype(env, BK_OBJ_TCB, 0, s + 2, 1) != 0)
        return 1;
    if (sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_LOW) != 0)
        return 1;
    long r = bk_thread_start(s + 2, s + 1, BK_CAP_ROOT_VSPACE, debug_user,
                             (uint64_t)(uintptr_t)line, stack, STACK_SIZE, 0, HELPER_PRIORITY);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    return r != 0;
}

static int test_no_debug_cap_no_console(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(own_cspace(env, s) == 0);
    KT_CHECK(run_debug_user(env, s, line_without) == 0);
    /* The slot is empty: every method fails the lookup, before any output. */
    KT_CHECK(write_result == -BK_ERR_FAILED_LOOKUP);
    KT_CHECK(walk_result == -BK_ERR_FAILED_LOOKUP);
    KT_CHECK(ticks_result == -BK_ERR_FAILED_LOOKUP);
    KT_CHECK(time_result == -BK_ERR_FAILED_LOOKUP);
    return 0;
}

static int test_debug_cap_given(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(own_cspace(env, s) == 0);
    /* A copy of ours, in its slot BK_CAP_DEBUG (depth CSPACE_BITS of the
     * unguarded cap at s). */
    KT_OK(sys_cnode_copy(s, BK_CAP_DEBUG, CSPACE_BITS, ROOT, BK_CAP_DEBUG, W, BK_RIGHTS_ALL));
    KT_CHECK(run_debug_user(env, s, line_with) == 0);
    KT_CHECK(write_result == (long)strlen(line_with));
    /* The walk ran and found no violations, or this kernel has none. */
    KT_CHECK(walk_result == (kt_kernel_has_walk() ? 0 : -BK_ERR_ILLEGAL_OPERATION));
    KT_CHECK(ticks_result == 0);
    KT_CHECK(time_result == 0);
    return 0;
}

static int test_debug_cap_in_root(struct ktest_env *env)
{
    (void)env;
    KT_CHECK(kt_type(BK_CAP_DEBUG) == BK_OBJ_DEBUG);
    uint64_t t0 = debug_ticks(), ticks = 0;
    KT_OK(sys_debug_ticks(BK_CAP_DEBUG, &ticks));
    KT_CHECK(ticks >= t0 && t0 > 0);
    KT_CHECK(debug_check_invariants() == (kt_kernel_has_walk() ? 0 : -BK_ERR_ILLEGAL_OPERATION));
    uint64_t written = 0;
    KT_EXPECT_ERR(sys_debug_write(BK_CAP_DEBUG, 0x1000, 1, &written), BK_ERR_INVALID_ADDRESS);
    KT_EXPECT_ERR(sys_debug_write(BK_CAP_DEBUG, 0x1000, BK_DEBUG_WRITE_MAX + 1, &written),
                  BK_ERR_RANGE);
    /* A method of another type on it, a Debug method on another cap. */
    KT_EXPECT_ERR(sys_cnode_delete(BK_CAP_DEBUG, 1, W), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_debug_ticks(ROOT, &ticks), BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

/* Copies work (that is how a child gets one) and revoking the root's cap
 * takes them back, leaving the root's own. */
static int test_debug_cap_copy_and_revoke(struct ktest_env *env)
{
    (void)env;
    uint64_t s = kt_slots();
    KT_OK(sys_cnode_copy(ROOT, s, W, ROOT, BK_CAP_DEBUG, W, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s) == BK_OBJ_DEBUG);
    uint64_t ticks = 0;
    KT_OK(sys_debug_ticks(s, &ticks));
    KT_CHECK(ticks > 0);
    KT_OK(sys_cnode_revoke(ROOT, BK_CAP_DEBUG, W));
    KT_CHECK(kt_type(s) == 0);
    KT_CHECK(kt_type(BK_CAP_DEBUG) == BK_OBJ_DEBUG);
    return 0;
}

/* bk_process_spawn gives a child the Debug and SchedControl caps and its
 * own VSpace only when asked. The children run below our priority: they are inspected,
 * not run. */
static int test_spawn_gives_debug_only_when_asked(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    static struct bk_bootinfo fake; /* the libsys allocators: this test's untyped */
    memset(&fake, 0, sizeof(fake));
    fake.first_free_slot = s + 256;
    fake.untyped_count = 1;
    fake.untyped[0] = (struct bk_untyped_desc){ .slot = env->untyped,
                                                .size_bits = (uint8_t)env->untyped_bits };
    bk_alloc_init(&fake);
    struct bk_process quiet, loud, own, refused;
    KT_OK(bk_process_spawn(env->bi, "child", 1, 0, 0, &quiet));
    KT_OK(bk_process_spawn(env->bi, "child", 1, 0, BK_SPAWN_GIVE_DEBUG, &loud));
    KT_OK(bk_process_spawn(env->bi, "child", 1, 0, BK_SPAWN_GIVE_SCHED_CONTROL, &quiet));
    KT_OK(bk_process_spawn(env->bi, "child", 1, 0, BK_SPAWN_GIVE_VSPACE, &own));
    /* A failed spawn rewrites its struct bk_process (it says why there). */
    KT_EXPECT_ERR(bk_process_spawn(env->bi, "child", 1, 0, 8, &refused),
                  BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(refused.error[0] != 0);
    /* Copy out of each child's slots (its CNode has 2^8 slots). */
    sys_cnode_copy(ROOT, s, W, quiet.cnode, BK_CAP_DEBUG, 8, BK_RIGHTS_ALL);
    KT_CHECK(kt_type(s) == 0);
    KT_OK(sys_cnode_copy(ROOT, s + 1, W, loud.cnode, BK_CAP_DEBUG, 8, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s + 1) == BK_OBJ_DEBUG);
    sys_cnode_copy(ROOT, s + 2, W, loud.cnode, BK_CAP_SCHED_CONTROL, 8, BK_RIGHTS_ALL);
    KT_CHECK(kt_type(s + 2) == 0);
    KT_OK(sys_cnode_copy(ROOT, s + 3, W, quiet.cnode, BK_CAP_SCHED_CONTROL, 8, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s + 3) == BK_OBJ_SCHED_CONTROL);
    sys_cnode_copy(ROOT, s + 4, W, loud.cnode, BK_CAP_ROOT_VSPACE, 8, BK_RIGHTS_ALL);
    KT_CHECK(kt_type(s + 4) == 0);
    KT_OK(sys_cnode_copy(ROOT, s + 5, W, own.cnode, BK_CAP_ROOT_VSPACE, 8, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s + 5) == BK_OBJ_VSPACE);
    /* Each child's first thread runs on a SchedContext of its own. */
    KT_CHECK(kt_type(loud.sched_context) == BK_OBJ_SCHED_CONTEXT);
    return 0;
}

const struct ktest debug_tests[] = {
    { "debug: the root task holds the Debug cap; its methods check their arguments",
      test_debug_cap_in_root },
    { "debug: without a Debug cap a thread cannot write, walk or read ticks or the clock",
      test_no_debug_cap_no_console },
    { "debug: with a copy of the Debug cap the same thread can", test_debug_cap_given },
    { "debug: Debug caps are copied, and revoked with the root task's",
      test_debug_cap_copy_and_revoke },
    { "debug: bk_process_spawn gives the Debug, SchedControl and VSpace caps only when asked",
      test_spawn_gives_debug_only_when_asked },
};
const unsigned debug_test_count = sizeof(debug_tests) / sizeof(debug_tests[0]);
