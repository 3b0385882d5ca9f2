/*
 * Untyped: Retype — object creation, placement, exhaustion, reuse after
 * revoke, and every error with its details.
 */
#include "ktest.h"

static int test_retype_each_type(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 1, 1));
    KT_OK(kt_retype(env, BK_OBJ_CNODE, 4, s + 2, 1));
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 3, 1));
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, 14, s + 4, 1));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 5, 1));
    KT_OK(kt_retype(env, BK_OBJ_PAGE_TABLE, 0, s + 6, 1));
    KT_OK(kt_retype(env, BK_OBJ_VSPACE, 0, s + 7, 1));
    static const unsigned want[] = { BK_OBJ_ENDPOINT, BK_OBJ_NOTIFICATION, BK_OBJ_CNODE,
                                     BK_OBJ_FRAME, BK_OBJ_UNTYPED, BK_OBJ_TCB,
                                     BK_OBJ_PAGE_TABLE, BK_OBJ_VSPACE };
    for (unsigned i = 0; i < 8; i++)
        KT_CHECK(kt_type(s + i) == want[i]);
    return 0;
}

static int test_retype_many_into_consecutive_slots(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s, 100));
    for (uint64_t i = 0; i < 100; i++)
        KT_CHECK(kt_type(s + i) == BK_OBJ_NOTIFICATION);
    KT_CHECK(kt_type(s + 100) == 0);
    return 0;
}

static int test_retype_into_full_slot_changes_nothing(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 2, 1));
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 3), BK_ERR_DELETE_FIRST);
    KT_CHECK(kt_type(s) == 0 && kt_type(s + 1) == 0);
    /* The failed call used no memory: after the endpoint (64 bytes at the
     * bottom), the 255 page-aligned frames above it still fit exactly. */
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 3, 255));
    return 0;
}

static int test_retype_bad_type(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_EXPECT_ERR(kt_retype(env, 0, 0, s, 1), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(kt_retype(env, 17, 0, s, 1), BK_ERR_INVALID_ARGUMENT); /* zombies */
    KT_EXPECT_ERR(kt_retype(env, 99, 0, s, 1), BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(kt_type(s) == 0);
    return 0;
}

static int test_retype_size_ranges(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_CNODE, 0, s, 1), BK_ERR_RANGE);
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_CNODE, 25, s, 1), BK_ERR_RANGE);
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_UNTYPED, 11, s, 1), BK_ERR_RANGE);
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_FRAME, 13, s, 1), BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(kt_type(s) == 0);
    return 0;
}

static int test_retype_count_range(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 257), BK_ERR_RANGE);
    /* The window must fit the destination CNode. */
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_ENDPOINT, 0, (1u << BK_ROOT_CNODE_BITS) - 1, 2),
                  BK_ERR_RANGE);
    return 0;
}

static int test_not_enough_memory_reports_sizes(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r;
    /* 1 MiB untyped: a 512 KiB frame... there is no such size; use untypeds. */
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, 19, s, 1));
    uint64_t w[7] = { BK_OBJ_UNTYPED, 20, BK_CAP_ROOT_CNODE, 0, 0, s + 1, 1 };
    kt_invoke(env->untyped, BK_LABEL_UNTYPED_RETYPE, 7, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_NOT_ENOUGH_MEMORY);
    KT_CHECK(r.mr[0] == (1ull << 20)); /* asked */
    KT_CHECK(r.mr[1] == 0);            /* left at 1 MiB alignment */
    KT_CHECK(kt_type(s + 1) == 0);
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, 19, s + 1, 1)); /* the other half fits */
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 2, 1), BK_ERR_NOT_ENOUGH_MEMORY);
    return 0;
}

static int test_exhaust_then_revoke_reuses_memory(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    /* 1 MiB = 256 frames exactly. */
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s, 256));
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_FRAME, 12, s + 256, 1), BK_ERR_NOT_ENOUGH_MEMORY);
    KT_OK(sys_cnode_revoke(BK_CAP_ROOT_CNODE, env->untyped, BK_WORD_BITS));
    for (uint64_t i = 0; i < 256; i++)
        KT_CHECK(kt_type(s + i) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s, 256));
    KT_CHECK(kt_type(s + 255) == BK_OBJ_FRAME);
    return 0;
}

static int test_deleting_all_children_makes_memory_reusable(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, 20, s, 1));
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_UNTYPED, 20, s + 1, 1), BK_ERR_NOT_ENOUGH_MEMORY);
    KT_OK(sys_cnode_delete(BK_CAP_ROOT_CNODE, s, BK_WORD_BITS));
    /* No children left: the next retype starts from the bottom again. */
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, 20, s + 1, 1));
    return 0;
}

static int test_child_untyped_can_be_retyped(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, 16, s, 2));
    KT_OK(sys_untyped_retype(s, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, 0, 0, s + 2, 4));
    KT_OK(sys_untyped_retype(s + 1, BK_OBJ_CNODE, 8, BK_CAP_ROOT_CNODE, 0, 0, s + 6, 1));
    KT_CHECK(kt_type(s + 5) == BK_OBJ_ENDPOINT && kt_type(s + 6) == BK_OBJ_CNODE);
    /* Revoking the parent removes grandchildren too. */
    KT_OK(sys_cnode_revoke(BK_CAP_ROOT_CNODE, env->untyped, BK_WORD_BITS));
    KT_CHECK(kt_type(s) == 0 && kt_type(s + 2) == 0 && kt_type(s + 6) == 0);
    return 0;
}

static int test_copied_untyped_cannot_be_retyped(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(sys_cnode_copy(BK_CAP_ROOT_CNODE, s, BK_WORD_BITS, BK_CAP_ROOT_CNODE, env->untyped,
                         BK_WORD_BITS, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s) == BK_OBJ_UNTYPED);
    KT_EXPECT_ERR(sys_untyped_retype(s, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, 0, 0, s + 1, 1),
                  BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

static int test_copy_of_untyped_with_children_is_refused(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_EXPECT_ERR(sys_cnode_copy(BK_CAP_ROOT_CNODE, s + 1, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                                 env->untyped, BK_WORD_BITS, BK_RIGHTS_ALL),
                  BK_ERR_REVOKE_FIRST);
    return 0;
}

static int test_retype_into_nested_cnode(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_CNODE, 4, s, 1));
    /* Destination by depth: the CNode cap at (s, 64) below the root. */
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, s,
                             BK_WORD_BITS, 3, 2));
    /* Destination as the root argument itself (depth 0). */
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_NOTIFICATION, 0, s, 0, 0, 15, 1));
    KT_EXPECT_ERR(sys_untyped_retype(env->untyped, BK_OBJ_NOTIFICATION, 0, s, 0, 0, 15, 2),
                  BK_ERR_RANGE);
    /* Move one out to see it: (3, depth 4) inside the nested CNode. */
    KT_OK(sys_cnode_move(BK_CAP_ROOT_CNODE, s + 1, BK_WORD_BITS, s, 3, 4));
    KT_OK(sys_cnode_move(BK_CAP_ROOT_CNODE, s + 2, BK_WORD_BITS, s, 15, 4));
    KT_CHECK(kt_type(s + 1) == BK_OBJ_ENDPOINT && kt_type(s + 2) == BK_OBJ_NOTIFICATION);
    return 0;
}

static int test_retype_root_must_be_cnode(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_EXPECT_ERR(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, s, 0, 0, s + 1, 1),
                  BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, s,
                                     BK_WORD_BITS, 0, 1),
                  BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_untyped_retype(env->untyped, BK_OBJ_ENDPOINT, 0, s + 9, 0, 0, 0, 1),
                  BK_ERR_FAILED_LOOKUP);
    return 0;
}

static int test_large_frame_alignment(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    /* One 4 KiB frame first: the 2 MiB frame needs 2 MiB alignment, and a
     * 1 MiB test untyped cannot hold one at all. */
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_FRAME, 21, s, 1), BK_ERR_NOT_ENOUGH_MEMORY);
    KT_OK(sys_untyped_retype(env->pool, BK_OBJ_UNTYPED, 22, BK_CAP_ROOT_CNODE, 0, 0, s, 1));
    KT_OK(sys_untyped_retype(s, BK_OBJ_FRAME, 12, BK_CAP_ROOT_CNODE, 0, 0, s + 1, 1));
    KT_OK(sys_untyped_retype(s, BK_OBJ_FRAME, 21, BK_CAP_ROOT_CNODE, 0, 0, s + 2, 1));
    KT_EXPECT_ERR(sys_untyped_retype(s, BK_OBJ_FRAME, 21, BK_CAP_ROOT_CNODE, 0, 0, s + 3, 1),
                  BK_ERR_NOT_ENOUGH_MEMORY);
    KT_CHECK(kt_type(s + 2) == BK_OBJ_FRAME);
    return 0;
}

/* ---- A large Retype restarts while it zeroes ------------------------------ */

#define BIG_BITS 24        /* 16 MiB, zeroed 64 KiB per kernel entry */
#define LARGE_FRAME_BITS 21
#define PERIOD_NS 250000ull
#define TICKER_STACK 8192

static uint8_t ticker_stack[TICKER_STACK] __attribute__((aligned(16)));
static volatile uint64_t ticks;

/* Runs 25 us of every 250 us above the root task: counts, then yields the
 * rest of its budget, which waits for the next refill. */
static void ticker(uint64_t arg)
{
    (void)arg;
    struct bk_msg m = { 0 };
    for (;;) {
        ticks++;
        sys_yield(0, &m);
    }
}

/* Slots: s + 0 the 16 MiB untyped, s + 1 the ticker's TCB, s + 2 its
 * SchedContext, s + 8 .. s + 15 the frames. */
static long start_ticker(struct ktest_env *env, uint64_t s)
{
    long r = sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, BK_CAP_ROOT_CNODE, 0, 0, s + 1, 1);
    if (r == 0)
        r = sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, BK_CAP_ROOT_CNODE, 0, 0,
                               s + 2, 1);
    if (r == 0)
        r = sys_sched_control_configure(BK_CAP_SCHED_CONTROL, s + 2, PERIOD_NS / 10, PERIOD_NS,
                                        1, 0);
    if (r == 0)
        r = sys_sched_context_bind(s + 2, s + 1);
    if (r == 0)
        r = sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100);
    if (r == 0)
        r = bk_thread_start(s + 1, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, ticker, 0, ticker_stack,
                            TICKER_STACK, 0, 200);
    return r;
}

/* 16 MiB of large frames, from memory that held objects: the Retype zeroes
 * it 64 KiB per kernel entry and restarts in between, while a thread woken
 * every 250 us runs above it; what it makes is what an uninterrupted
 * Retype makes. */
static int test_large_retype_restarts(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    unsigned frames = 1u << (BIG_BITS - LARGE_FRAME_BITS);
    KT_OK(sys_untyped_retype(env->pool, BK_OBJ_UNTYPED, BIG_BITS, BK_CAP_ROOT_CNODE, 0, 0, s, 1));
    KT_OK(sys_untyped_retype(s, BK_OBJ_FRAME, LARGE_FRAME_BITS, BK_CAP_ROOT_CNODE, 0, 0, s + 8,
                             frames));
    KT_OK(sys_cnode_revoke(BK_CAP_ROOT_CNODE, s, BK_WORD_BITS)); /* none of it known zero now */
    KT_OK(start_ticker(env, s));
    uint64_t before = ticks;
    long r = sys_untyped_retype(s, BK_OBJ_FRAME, LARGE_FRAME_BITS, BK_CAP_ROOT_CNODE, 0, 0, s + 8,
                                frames);
    uint64_t during = ticks - before;
    KT_OK(sys_tcb_suspend(s + 1));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    KT_OK(r);
    /* How often it ran depends on the host here (no -icount): the bound
     * is checked in tests/qemu/kernel_latency.c, where time is exact. */
    debug_printf("    the 250 us thread ran %llu times during the Retype of 16 MiB\n",
                 (unsigned long long)during);
    for (unsigned i = 0; i < frames; i++)
        KT_CHECK(kt_type(s + 8 + i) == BK_OBJ_FRAME);
    KT_EXPECT_ERR(sys_untyped_retype(s, BK_OBJ_FRAME, 12, BK_CAP_ROOT_CNODE, 0, 0, s + 3, 1),
                  BK_ERR_NOT_ENOUGH_MEMORY); /* the watermark is at the end */
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

const struct ktest untyped_tests[] = {
    { "untyped: retype makes every object type", test_retype_each_type },
    { "untyped: retype 100 objects into consecutive slots", test_retype_many_into_consecutive_slots },
    { "untyped: retype into an occupied slot fails with DELETE_FIRST and uses no memory",
      test_retype_into_full_slot_changes_nothing },
    { "untyped: invalid object types are INVALID_ARGUMENT", test_retype_bad_type },
    { "untyped: object sizes outside their range are refused", test_retype_size_ranges },
    { "untyped: object counts and windows outside the CNode are RANGE", test_retype_count_range },
    { "untyped: NOT_ENOUGH_MEMORY reports bytes asked and left",
      test_not_enough_memory_reports_sizes },
    { "untyped: exhausted untyped is reusable after revoke", test_exhaust_then_revoke_reuses_memory },
    { "untyped: deleting every child makes the memory reusable",
      test_deleting_all_children_makes_memory_reusable },
    { "untyped: child untypeds retype, revoke removes grandchildren",
      test_child_untyped_can_be_retyped },
    { "untyped: a copy of an untyped cannot be retyped", test_copied_untyped_cannot_be_retyped },
    { "untyped: copying an untyped with children is REVOKE_FIRST",
      test_copy_of_untyped_with_children_is_refused },
    { "untyped: retype into a nested CNode, by depth and as root", test_retype_into_nested_cnode },
    { "untyped: the destination root must be a CNode", test_retype_root_must_be_cnode },
    { "untyped: large frames are aligned to their size", test_large_frame_alignment },
    { "untyped: a Retype of 16 MiB restarts as it zeroes, a 250 us thread above it",
      test_large_retype_restarts },
};
const unsigned untyped_test_count = sizeof(untyped_tests) / sizeof(untyped_tests[0]);
