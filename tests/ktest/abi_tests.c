/*
 * Tests of capability invocation itself: how the kernel decodes a Call on
 * an object and reports errors (labels, message length, lookups).
 */
#include "ktest.h"

static int test_empty_slot_is_failed_lookup(struct ktest_env *env)
{
    struct bk_msg r;
    uint64_t w[2] = { 1, BK_WORD_BITS };
    kt_invoke(kt_slots(), BK_LABEL_CNODE_DELETE, 2, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_FAILED_LOOKUP);
    KT_CHECK(r.mr[1] == BK_LOOKUP_FAULT_MISSING_CAPABILITY);
    return 0;
}

static int test_address_beyond_root_is_guard_mismatch(struct ktest_env *env)
{
    struct bk_msg r;
    uint64_t w[2] = { 1, BK_WORD_BITS };
    kt_invoke(1ull << 40, BK_LABEL_CNODE_DELETE, 2, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_FAILED_LOOKUP);
    KT_CHECK(r.mr[1] == BK_LOOKUP_FAULT_GUARD_MISMATCH);
    KT_CHECK(r.mr[3] == (1ull << 40) >> BK_ROOT_CNODE_BITS); /* the bits found */
    return 0;
}

static int test_unknown_label_is_illegal(struct ktest_env *env)
{
    struct bk_msg r;
    kt_invoke(BK_CAP_ROOT_CNODE, 99999, 0, NULL, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_ILLEGAL_OPERATION);
    kt_invoke(BK_CAP_ROOT_CNODE, 0, 0, NULL, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

static int test_method_of_other_type_is_illegal(struct ktest_env *env)
{
    /* Untyped: Retype on a CNode cap, CNode: Delete on an untyped cap. */
    KT_EXPECT_ERR(sys_untyped_retype(BK_CAP_ROOT_CNODE, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE,
                                     0, 0, kt_slots(), 1),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_cnode_delete(env->untyped, 1, BK_WORD_BITS), BK_ERR_ILLEGAL_OPERATION);
    KT_CHECK(kt_type(kt_slots()) == 0);
    return 0;
}

static int test_truncated_message(struct ktest_env *env)
{
    struct bk_msg r;
    uint64_t w[7] = { BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, 0, 0, kt_slots(), 1 };
    kt_invoke(env->untyped, BK_LABEL_UNTYPED_RETYPE, 6, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_TRUNCATED_MESSAGE);
    KT_CHECK(BK_MSGINFO_LENGTH(r.info) == 2 && r.mr[0] == 7 && r.mr[1] == BK_MSG_MAX_WORDS);
    KT_CHECK(kt_type(kt_slots()) == 0);
    kt_invoke(env->untyped, BK_LABEL_UNTYPED_RETYPE, 7, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == 0 && BK_MSGINFO_LENGTH(r.info) == 0);
    KT_CHECK(kt_type(kt_slots()) == BK_OBJ_ENDPOINT);
    return 0;
}

static int test_arguments_beyond_registers_come_from_ipc_buffer(struct ktest_env *env)
{
    /* Retype's 5th..7th words travel in the IPC buffer: a wrong count there
     * must be seen by the kernel. */
    struct bk_msg r;
    uint64_t w[7] = { BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, 0, 0, kt_slots(), 0 };
    kt_invoke(env->untyped, BK_LABEL_UNTYPED_RETYPE, 7, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_RANGE);
    KT_CHECK(r.mr[0] == 1 && r.mr[1] == BK_RETYPE_MAX_OBJECTS);
    return 0;
}

static int test_identify_reports_type_and_rights(struct ktest_env *env)
{
    KT_CHECK(kt_type(BK_CAP_ROOT_CNODE) == BK_OBJ_CNODE);
    KT_CHECK(kt_rights(BK_CAP_ROOT_CNODE) == BK_RIGHTS_ALL);
    KT_CHECK(kt_type(env->untyped) == BK_OBJ_UNTYPED);
    KT_CHECK(kt_type(BK_CAP_NULL) == 0);
    KT_CHECK(debug_cap_identify(~0ull) == 0);
    return 0;
}

static int test_unknown_syscall(struct ktest_env *env)
{
    (void)env;
    KT_CHECK(bk_syscall_raw(7, 0, 0, 0, 0, 0, 0) == -BK_ERR_INVALID_SYSCALL);
    /* The retired debug syscalls (now Debug methods) stay unknown. */
    static const unsigned long retired[] = { 1, 2, 3, 5, 6 };
    for (unsigned i = 0; i < sizeof(retired) / sizeof(retired[0]); i++)
        KT_CHECK(bk_syscall_raw(retired[i], 0, 0, 0, 0, 0, 0) == -BK_ERR_INVALID_SYSCALL);
    KT_CHECK(bk_syscall_raw(~0ul, 0, 0, 0, 0, 0, 0) == -BK_ERR_INVALID_SYSCALL);
    return 0;
}

static int test_slot_allocator(struct ktest_env *env)
{
    /* Beyond the tests' own window of 256 slots. */
    uint64_t first = kt_slots() + 256, end = first + 8;
    bk_slots_init(first, end);
    uint64_t a = bk_slot_alloc(), b = bk_slots_alloc_range(3), c = bk_slots_alloc_range(5);
    KT_CHECK(a == first && b == first + 1 && c == 0); /* only 4 left: no run of 5 */
    KT_CHECK(bk_slots_alloc_range(4) == first + 4);
    KT_CHECK(bk_slot_alloc() == 0);
    bk_slot_free(b + 1);
    KT_CHECK(bk_slot_alloc() == b + 1);
    /* A slot from the allocator is empty and usable. */
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, a, 1));
    KT_CHECK(kt_type(a) == BK_OBJ_ENDPOINT);
    KT_OK(sys_cnode_delete(BK_CAP_ROOT_CNODE, a, BK_WORD_BITS));
    return 0;
}

/* True if the word `word` starts at c[i] (at the line's start or after a space). */
static bool word_at(const char *c, size_t i, size_t n, const char *word, size_t len)
{
    return (i == 0 || c[i - 1] == ' ') && i + len <= n && memcmp(c + i, word, len) == 0;
}

/* The boot-info page carries the whole command line: when a test run puts
 * "ktest.long_cmdline=" on it (tests/qemu/tests.cmake pads it past 800
 * characters; on x86-64 the loader puts the kernel's path first), the word
 * that ends the line must arrive too. */
static int test_long_command_line_arrives_whole(struct ktest_env *env)
{
    static const char start[] = "ktest.long_cmdline=", end[] = " ktest.cmdline_end";
    const char *c = env->bi->cmdline;
    size_t n = 0;
    while (n < sizeof(env->bi->cmdline) && c[n])
        n++;
    KT_CHECK(n < sizeof(env->bi->cmdline)); /* terminated inside the field */
    size_t i = 0;
    while (i < n && !word_at(c, i, n, start, sizeof(start) - 1))
        i++;
    if (i == n)
        return 0; /* an ordinary run: nothing to check */
    debug_printf("ktest: the command line arrived with %u characters\n", (unsigned)n);
    KT_CHECK(n - i > 800);
    KT_CHECK(n >= sizeof(end) - 1 && memcmp(c + n - (sizeof(end) - 1), end, sizeof(end) - 1) == 0);
    return 0;
}

const struct ktest abi_tests[] = {
    { "libsys: the slot allocator hands out empty slots and runs", test_slot_allocator },
    { "abi: invoking an empty slot fails with FAILED_LOOKUP (missing capability)",
      test_empty_slot_is_failed_lookup },
    { "abi: an address beyond the root CNode fails with a guard mismatch",
      test_address_beyond_root_is_guard_mismatch },
    { "abi: an unknown label is ILLEGAL_OPERATION", test_unknown_label_is_illegal },
    { "abi: a method of another object type is ILLEGAL_OPERATION",
      test_method_of_other_type_is_illegal },
    { "abi: a message shorter than the method's arguments is TRUNCATED_MESSAGE",
      test_truncated_message },
    { "abi: message words beyond the registers come from the IPC buffer",
      test_arguments_beyond_registers_come_from_ipc_buffer },
    { "abi: Debug: CapIdentify reports type and rights", test_identify_reports_type_and_rights },
    { "abi: unknown syscall numbers fail with INVALID_SYSCALL", test_unknown_syscall },
    { "abi: the boot info carries a long command line whole",
      test_long_command_line_arrives_whole },
};
const unsigned abi_test_count = sizeof(abi_tests) / sizeof(abi_tests[0]);
