/*
 * CNode methods: copy, mint, move, mutate, delete, revoke; rights that only
 * shrink, badge and guard rules, multi-level addressing, the derivation
 * tree, and a CSpace of more than 2^20 slots.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS

static int copy(uint64_t dest, uint64_t src, uint64_t rights)
{
    return (int)sys_cnode_copy(ROOT, dest, W, ROOT, src, W, rights);
}

static int test_copy(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(copy(s + 1, s, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s + 1) == BK_OBJ_ENDPOINT && kt_rights(s + 1) == BK_RIGHTS_ALL);
    KT_CHECK(kt_type(s) == BK_OBJ_ENDPOINT);
    return 0;
}

static int test_copy_rights_only_shrink(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(copy(s + 1, s, BK_RIGHT_READ | BK_RIGHT_GRANT));
    KT_CHECK(kt_rights(s + 1) == (BK_RIGHT_READ | BK_RIGHT_GRANT));
    KT_OK(copy(s + 2, s + 1, BK_RIGHTS_ALL));
    KT_CHECK(kt_rights(s + 2) == (BK_RIGHT_READ | BK_RIGHT_GRANT));
    KT_OK(copy(s + 3, s + 2, BK_RIGHT_WRITE));
    KT_CHECK(kt_type(s + 3) == BK_OBJ_ENDPOINT && kt_rights(s + 3) == 0);
    return 0;
}

static int test_copy_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r;
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 2));
    KT_EXPECT_ERR(copy(s + 1, s, BK_RIGHTS_ALL), BK_ERR_DELETE_FIRST);
    /* An empty source: FAILED_LOOKUP, marked as the source. */
    uint64_t w[6] = { s + 3, W, ROOT, s + 2, W, BK_RIGHTS_ALL };
    kt_invoke(ROOT, BK_LABEL_CNODE_COPY, 6, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_FAILED_LOOKUP && r.mr[0] == 1);
    KT_CHECK(kt_type(s + 3) == 0);
    /* The source root must be a CNode. */
    KT_EXPECT_ERR(sys_cnode_copy(ROOT, s + 3, W, s, 0, W, BK_RIGHTS_ALL),
                  BK_ERR_INVALID_CAPABILITY);
    return 0;
}

static int test_depth_range_and_mismatch(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r;
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_EXPECT_ERR(sys_cnode_delete(ROOT, s, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_cnode_delete(ROOT, s, 65), BK_ERR_RANGE);
    /* The root needs all 64 bits (52 guard + 12 radix): depth 12 is too few. */
    uint64_t w[2] = { s, 12 };
    kt_invoke(ROOT, BK_LABEL_CNODE_DELETE, 2, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_FAILED_LOOKUP);
    KT_CHECK(r.mr[1] == BK_LOOKUP_FAULT_DEPTH_MISMATCH);
    KT_CHECK(kt_type(s) == BK_OBJ_ENDPOINT);
    return 0;
}

static int test_mint_badge(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(sys_cnode_mint(ROOT, s + 1, W, ROOT, s, W, BK_RIGHTS_ALL, 0x1234));
    KT_CHECK(kt_type(s + 1) == BK_OBJ_ENDPOINT);
    /* A badged cap cannot be badged again, by mint or by mutate. */
    KT_EXPECT_ERR(sys_cnode_mint(ROOT, s + 2, W, ROOT, s + 1, W, BK_RIGHTS_ALL, 0x99),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_cnode_mutate(ROOT, s + 2, W, ROOT, s + 1, W, 0x99),
                  BK_ERR_ILLEGAL_OPERATION);
    /* Copying a badged cap is fine. */
    KT_OK(copy(s + 2, s + 1, BK_RIGHT_WRITE));
    KT_CHECK(kt_rights(s + 2) == BK_RIGHT_WRITE);
    return 0;
}

static int test_mint_rights_on_notification(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s, 1));
    KT_OK(sys_cnode_mint(ROOT, s + 1, W, ROOT, s, W, BK_RIGHT_WRITE, 1));
    KT_CHECK(kt_type(s + 1) == BK_OBJ_NOTIFICATION && kt_rights(s + 1) == BK_RIGHT_WRITE);
    return 0;
}

static int test_move(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 2));
    KT_OK(sys_cnode_move(ROOT, s + 5, W, ROOT, s, W));
    KT_CHECK(kt_type(s) == 0 && kt_type(s + 5) == BK_OBJ_ENDPOINT);
    KT_EXPECT_ERR(sys_cnode_move(ROOT, s + 1, W, ROOT, s + 5, W), BK_ERR_DELETE_FIRST);
    KT_EXPECT_ERR(sys_cnode_move(ROOT, s + 6, W, ROOT, s, W), BK_ERR_FAILED_LOOKUP);
    /* The moved cap is still a child of the untyped: revoke reaches it. */
    KT_OK(sys_cnode_revoke(ROOT, env->untyped, W));
    KT_CHECK(kt_type(s + 5) == 0 && kt_type(s + 1) == 0);
    return 0;
}

static int test_mutate(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 1, 1));
    KT_OK(sys_cnode_mutate(ROOT, s + 2, W, ROOT, s, W, 7));
    KT_CHECK(kt_type(s) == 0 && kt_type(s + 2) == BK_OBJ_ENDPOINT);
    KT_EXPECT_ERR(sys_cnode_mutate(ROOT, s + 3, W, ROOT, s + 1, W, 7), BK_ERR_ILLEGAL_OPERATION);
    KT_CHECK(kt_type(s + 1) == BK_OBJ_FRAME && kt_type(s + 3) == 0);
    return 0;
}

static int test_delete(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(sys_cnode_delete(ROOT, s, W));
    KT_CHECK(kt_type(s) == 0);
    KT_OK(sys_cnode_delete(ROOT, s, W)); /* an empty slot: nothing to do */
    return 0;
}

static int test_delete_with_children_keeps_them(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(copy(s + 1, s, BK_RIGHTS_ALL));
    KT_OK(copy(s + 2, s + 1, BK_RIGHTS_ALL));
    KT_OK(sys_cnode_delete(ROOT, s + 1, W));
    KT_CHECK(kt_type(s + 2) == BK_OBJ_ENDPOINT);
    /* s + 2 moved up to s: revoking s removes it. */
    KT_OK(sys_cnode_revoke(ROOT, s, W));
    KT_CHECK(kt_type(s + 2) == 0 && kt_type(s) == BK_OBJ_ENDPOINT);
    return 0;
}

static int test_revoke_deep_tree(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s, 1));
    for (uint64_t i = 1; i < 200; i++)
        KT_OK(copy(s + i, s + i - 1, BK_RIGHTS_ALL));
    KT_OK(sys_cnode_revoke(ROOT, s + 50, W));
    KT_CHECK(kt_type(s + 50) == BK_OBJ_NOTIFICATION);
    for (uint64_t i = 51; i < 200; i++)
        KT_CHECK(kt_type(s + i) == 0);
    for (uint64_t i = 0; i < 50; i++)
        KT_CHECK(kt_type(s + i) == BK_OBJ_NOTIFICATION);
    KT_OK(sys_cnode_revoke(ROOT, s, W));
    KT_CHECK(kt_type(s + 1) == 0 && kt_type(s + 50) == 0);
    return 0;
}

static int test_revoke_wide_tree(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    for (uint64_t i = 1; i < 100; i++)
        KT_OK(sys_cnode_mint(ROOT, s + i, W, ROOT, s, W, BK_RIGHTS_ALL, i));
    KT_OK(sys_cnode_revoke(ROOT, s, W));
    for (uint64_t i = 1; i < 100; i++)
        KT_CHECK(kt_type(s + i) == 0);
    return 0;
}

static int test_two_level_addressing(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    /* A (radix 4) holds in slot 1 a cap to B (radix 4): from A, the address
     * (1 << 4 | 2) at depth 8 names B's slot 2. */
    KT_OK(kt_retype(env, BK_OBJ_CNODE, 4, s, 2));
    KT_OK(sys_cnode_move(s, 1, 4, ROOT, s + 1, W));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 2, 1));
    KT_OK(sys_cnode_copy(s, 1 << 4 | 2, 8, ROOT, s + 2, W, BK_RIGHTS_ALL));
    KT_OK(sys_cnode_copy(ROOT, s + 3, W, s, 1 << 4 | 2, 8, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s + 3) == BK_OBJ_ENDPOINT);
    /* Depth 4 stops at A's slot 1 (the CNode cap itself). */
    KT_OK(sys_cnode_copy(ROOT, s + 4, W, s, 1, 4, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s + 4) == BK_OBJ_CNODE);
    return 0;
}

static int test_guarded_cnode_cap(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_CNODE, 4, s, 1));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 1, 1));
    /* A copy of the CNode cap with a 4-bit guard 0x5. */
    KT_OK(sys_cnode_mint(ROOT, s + 2, W, ROOT, s, W, BK_RIGHTS_ALL, BK_CNODE_GUARD(4, 0x5)));
    KT_OK(sys_cnode_copy(s + 2, 0x5 << 4 | 3, 8, ROOT, s + 1, W, BK_RIGHTS_ALL));
    KT_EXPECT_ERR(sys_cnode_copy(s + 2, 0x6 << 4 | 4, 8, ROOT, s + 1, W, BK_RIGHTS_ALL),
                  BK_ERR_FAILED_LOOKUP);
    /* Through the unguarded cap, the same slot is (3, depth 4). */
    KT_OK(sys_cnode_copy(ROOT, s + 3, W, s, 3, 4, BK_RIGHTS_ALL));
    KT_CHECK(kt_type(s + 3) == BK_OBJ_ENDPOINT);
    /* A guard wider than its size is refused. */
    KT_EXPECT_ERR(sys_cnode_mint(ROOT, s + 4, W, ROOT, s, W, BK_RIGHTS_ALL,
                                 BK_CNODE_GUARD(4, 0x1f)),
                  BK_ERR_INVALID_ARGUMENT);
    return 0;
}

static int test_deleting_cnode_deletes_contents(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_CNODE, 4, s, 1));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 1, 1));
    KT_OK(sys_cnode_copy(s, 7, 4, ROOT, s + 1, W, BK_RIGHTS_ALL));
    /* The copy inside the CNode is a child of s + 1; destroying the CNode
     * deletes it, so revoking s + 1 then finds nothing and s + 1 stays. */
    KT_OK(sys_cnode_delete(ROOT, s, W));
    KT_OK(sys_cnode_revoke(ROOT, s + 1, W));
    KT_CHECK(kt_type(s + 1) == BK_OBJ_ENDPOINT && kt_type(s) == 0);
    return 0;
}

/* A CNode of up to 2^20 slots (64 bytes each: 64 MiB), sized to what the
 * pool holds: half of it at most, from an untyped of its own. */
static int test_million_slot_cspace(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    unsigned bits = 20;
    while (bits > 12 && bits + 6 > env->pool_bits - 1)
        bits--;
    if (bits + 6 > env->pool_bits - 1) {
        debug_printf("    (pool of 2^%u bytes too small even for a 2^12-slot CNode)\n",
                     env->pool_bits);
        return 1;
    }
    if (bits < 20)
        debug_printf("    (a 2^%u-slot CNode: the pool has 2^%u bytes, 2^20 slots need 2^27)\n",
                     bits, env->pool_bits);
    KT_OK(sys_untyped_retype(env->pool, BK_OBJ_UNTYPED, bits + 6, ROOT, 0, 0, s, 1));
    KT_OK(sys_untyped_retype(s, BK_OBJ_CNODE, bits, ROOT, 0, 0, s + 1, 1));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 2, 1));
    uint64_t last = (1ull << bits) - 1;
    KT_OK(sys_cnode_copy(s + 1, last, bits, ROOT, s + 2, W, BK_RIGHTS_ALL));
    KT_OK(sys_cnode_copy(s + 1, 0, bits, ROOT, s + 2, W, BK_RIGHTS_ALL));
    KT_OK(sys_cnode_move(ROOT, s + 3, W, s + 1, last, bits));
    KT_CHECK(kt_type(s + 3) == BK_OBJ_ENDPOINT);
    KT_EXPECT_ERR(sys_cnode_copy(s + 1, 1ull << bits, bits + 1, ROOT, s + 2, W, BK_RIGHTS_ALL),
                  BK_ERR_FAILED_LOOKUP);
    return 0;
}

const struct ktest cnode_tests[] = {
    { "cnode: copy", test_copy },
    { "cnode: rights only shrink through copies", test_copy_rights_only_shrink },
    { "cnode: copy into a full slot, from an empty one, from a non-CNode root", test_copy_errors },
    { "cnode: depth out of range and depth mismatch", test_depth_range_and_mismatch },
    { "cnode: mint sets a badge once; badged caps cannot be rebadged", test_mint_badge },
    { "cnode: mint with fewer rights on a notification", test_mint_rights_on_notification },
    { "cnode: move keeps the derivation link", test_move },
    { "cnode: mutate sets a badge while moving; not on frames", test_mutate },
    { "cnode: delete empties a slot", test_delete },
    { "cnode: deleting a cap with children keeps the children", test_delete_with_children_keeps_them },
    { "cnode: revoke of a 200-deep copy chain", test_revoke_deep_tree },
    { "cnode: revoke of 99 badged siblings", test_revoke_wide_tree },
    { "cnode: two-level addressing through a CNode in a CNode", test_two_level_addressing },
    { "cnode: guarded CNode caps", test_guarded_cnode_cap },
    { "cnode: deleting the last CNode cap deletes its contents", test_deleting_cnode_deletes_contents },
    { "cnode: a CSpace of 2^20 slots (fewer in a small machine)", test_million_slot_cspace },
};
const unsigned cnode_test_count = sizeof(cnode_tests) / sizeof(cnode_tests[0]);
