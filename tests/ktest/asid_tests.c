/*
 * ASID pools and ASIDControl through the real syscall interface: a VSpace
 * is mapped into and run only once ASIDPool: Assign gave it an ASID;
 * Assign and MakePool refuse each bad capability and argument with the
 * documented error; deleting a pool stops the threads of its spaces for
 * good and gives its page back; libsys's bk_vspace_alloc() hands out
 * usable spaces. (tests/qemu/many_spaces.c runs 12,000 spaces at once;
 * tests/host/test_asid_pool.c the batches and the ranges.)
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define POOL BK_CAP_ROOT_ASID_POOL
#define CONTROL BK_CAP_ASID_CONTROL
#define CODE_VA 0x200000ull
#define RX (BK_VM_READ | BK_VM_EXEC)

#if defined(__x86_64__)
#define TABLE_LEVELS 3
/* mov $BK_SYS_SEND (9), %eax; syscall; jmp . (as in vspace_tests.c) */
static const uint8_t program[] = { 0xb8, 0x09, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xfe };
#else
#define TABLE_LEVELS 2
/* li a7, 9 (BK_SYS_SEND); ecall; j . */
static const uint32_t program[] = { 0x00900893, 0x00000073, 0x0000006f };
#endif
_Static_assert(BK_SYS_SEND == 9, "the program encodes the send syscall number");

/* Slots from s: the space's tables (s + 1 ..), the program's frame (s + 8),
 * a TCB (s + 9), a notification and a badged copy (s + 10, s + 11). */
static int make_program_parts(struct ktest_env *env, uint64_t s)
{
    kt_init_allocators(env);
    return kt_retype(env, BK_OBJ_PAGE_TABLE, 0, s + 1, TABLE_LEVELS) ||
           kt_retype(env, BK_OBJ_FRAME, 12, s + 8, 1) ||
           bk_copy_to_frame(s + 8, 0, program, sizeof(program)) ||
           kt_retype(env, BK_OBJ_TCB, 0, s + 9, 1) ||
           kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 10, 1) ||
           sys_cnode_mint(ROOT, s + 11, W, ROOT, s + 10, W, BK_RIGHT_WRITE, 0x33) ||
           sys_tcb_set_priority(s + 9, BK_CAP_ROOT_TCB, 100);
}

/* Maps the parts into the space `vs` and runs the thread there until it
 * signals: 0, or the first error. */
static long run_program(uint64_t s, uint64_t vs)
{
    long r = 0;
    for (unsigned i = 0; r == 0 && i < TABLE_LEVELS; i++)
        r = sys_page_table_map(s + 1 + i, vs, CODE_VA);
    if (r == 0)
        r = sys_frame_map(s + 8, vs, CODE_VA, RX, 0);
    if (r == 0)
        r = sys_tcb_configure(s + 9, ROOT, 0, vs, 0);
    if (r == 0)
        r = sys_tcb_write_registers(s + 9, 1, CODE_VA, 0, s + 11);
    if (r == 0) {
        struct bk_msg m = { 0 };
        sys_recv(s + 10, &m);
        r = m.badge == 0x33 ? 0 : -BK_ERR_INVALID_ARGUMENT;
    }
    return r;
}

static int test_space_runs_only_with_an_asid(struct ktest_env *env)
{
    uint64_t s = kt_slots(), vs = s;
    KT_CHECK(make_program_parts(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_VSPACE, 0, vs, 1));
    KT_EXPECT_ERR(sys_page_table_map(s + 1, vs, CODE_VA), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_tcb_configure(s + 9, ROOT, 0, vs, 0), BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_asid_pool_assign(POOL, vs));
    KT_OK(run_program(s, vs));
    KT_OK(sys_tcb_suspend(s + 9));
    KT_EXPECT_ERR(sys_asid_pool_assign(POOL, vs), BK_ERR_ILLEGAL_OPERATION); /* has one */
    KT_EXPECT_ERR(sys_asid_pool_assign(POOL, BK_CAP_ROOT_VSPACE), BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

/* Each refusal, in the order of docs/objects.md. */
static int test_assign_and_make_pool_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r;
    KT_OK(kt_retype(env, BK_OBJ_VSPACE, 0, s, 1));
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, BK_ASID_POOL_BITS, s + 1, 1));
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, BK_ASID_POOL_BITS + 1, s + 2, 1));
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, BK_ASID_POOL_BITS, s + 3, 1));
    KT_OK(sys_untyped_retype(s + 3, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, s + 4, 1));
    /* Assign: the VSpace argument. */
    KT_EXPECT_ERR(sys_asid_pool_assign(POOL, s + 200), BK_ERR_FAILED_LOOKUP);
    KT_EXPECT_ERR(sys_asid_pool_assign(POOL, s + 4), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_asid_pool_assign(POOL, POOL), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_asid_pool_assign(s, s), BK_ERR_ILLEGAL_OPERATION); /* not a pool */
    kt_invoke(POOL, BK_LABEL_ASID_POOL_ASSIGN, 0, NULL, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_TRUNCATED_MESSAGE && r.mr[0] == 1);
    /* MakePool: the untyped, then the slot, then the ranges. */
    KT_EXPECT_ERR(sys_asid_control_make_pool(CONTROL, s + 200, ROOT, s + 5, W),
                  BK_ERR_FAILED_LOOKUP);
    KT_EXPECT_ERR(sys_asid_control_make_pool(CONTROL, s, ROOT, s + 5, W),
                  BK_ERR_INVALID_CAPABILITY);
    KT_OK(sys_cnode_copy(ROOT, s + 6, W, ROOT, s + 2, W, BK_RIGHTS_ALL));
    KT_EXPECT_ERR(sys_asid_control_make_pool(CONTROL, s + 6, ROOT, s + 5, W),
                  BK_ERR_ILLEGAL_OPERATION); /* a copy */
    uint64_t w[4] = { s + 2, ROOT, s + 5, W };
    kt_invoke(CONTROL, BK_LABEL_ASID_CONTROL_MAKE_POOL, 4, w, &r);
    KT_CHECK(BK_MSGINFO_LABEL(r.info) == BK_ERR_RANGE && r.mr[0] == BK_ASID_POOL_BITS &&
             r.mr[1] == BK_ASID_POOL_BITS);
    KT_EXPECT_ERR(sys_asid_control_make_pool(CONTROL, s + 3, ROOT, s + 5, W),
                  BK_ERR_REVOKE_FIRST);
    KT_EXPECT_ERR(sys_asid_control_make_pool(CONTROL, s + 1, s, s + 5, W),
                  BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_asid_control_make_pool(CONTROL, s + 1, ROOT, s + 5, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_asid_control_make_pool(CONTROL, s + 1, ROOT, s + 4, W),
                  BK_ERR_DELETE_FIRST);
    KT_EXPECT_ERR(sys_asid_control_make_pool(s + 1, s + 1, ROOT, s + 5, W),
                  BK_ERR_ILLEGAL_OPERATION); /* not ASIDControl */
    /* ASIDControl is not copied; Retype makes no pools. */
    KT_EXPECT_ERR(sys_cnode_copy(ROOT, s + 7, W, ROOT, CONTROL, W, BK_RIGHTS_ALL),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(kt_retype(env, BK_OBJ_ASID_POOL, 0, s + 7, 1), BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(kt_type(s + 5) == 0 && kt_type(s + 7) == 0);
    /* And then it works: the page is the pool, which gives out ASIDs. */
    KT_OK(sys_asid_control_make_pool(CONTROL, s + 1, ROOT, s + 5, W));
    KT_CHECK(kt_type(s + 5) == BK_OBJ_ASID_POOL);
    KT_OK(sys_asid_pool_assign(s + 5, s));
    KT_CHECK(kt_type(CONTROL) == BK_OBJ_ASID_CONTROL && kt_type(POOL) == BK_OBJ_ASID_POOL);
    KT_CHECK(env->bi->asid_control == CONTROL && env->bi->asid_pool == POOL);
    return 0;
}

/* A thread runs in a space of a pool of ours; deleting the pool stops it
 * for good, the space is unusable, and the pool's page is free again. */
static int test_deleting_a_pool_stops_its_spaces(struct ktest_env *env)
{
    uint64_t s = kt_slots(), vs = s, page = s + 20, pool = s + 21;
    uint64_t pc, sp, arg, state;
    KT_CHECK(make_program_parts(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_VSPACE, 0, vs, 1));
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, BK_ASID_POOL_BITS, page, 1));
    KT_OK(sys_asid_control_make_pool(CONTROL, page, ROOT, pool, W));
    KT_OK(sys_asid_pool_assign(pool, vs));
    KT_OK(run_program(s, vs)); /* it signalled, and spins below us */
    KT_OK(sys_tcb_read_registers(s + 9, &pc, &sp, &arg, &state));
    KT_CHECK(state == BK_THREAD_STATE_RUNNABLE);
    KT_OK(sys_cnode_delete(ROOT, pool, W));
    KT_OK(sys_tcb_read_registers(s + 9, &pc, &sp, &arg, &state));
    KT_CHECK(state == BK_THREAD_STATE_INACTIVE);
    KT_EXPECT_ERR(sys_tcb_resume(s + 9), BK_ERR_ILLEGAL_OPERATION); /* no space any more */
    KT_EXPECT_ERR(sys_tcb_configure(s + 9, ROOT, 0, vs, 0), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_asid_pool_assign(POOL, vs), BK_ERR_ILLEGAL_OPERATION); /* for good */
    KT_EXPECT_ERR(sys_frame_remap(s + 8, BK_VM_READ), BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_frame_unmap(s + 8)); /* stale records are harmless */
    /* The page is free: Retype hands it out again. */
    KT_OK(sys_untyped_retype(page, BK_OBJ_ENDPOINT, 0, ROOT, 0, 0, pool, 1));
    return 0;
}

static int test_libsys_vspace_alloc(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    long err;
    KT_CHECK(make_program_parts(env, s) == 0);
    uint64_t vs = bk_vspace_alloc(&err);
    KT_CHECK(vs != 0 && err == 0);
    KT_EXPECT_ERR(sys_asid_pool_assign(POOL, vs), BK_ERR_ILLEGAL_OPERATION); /* it has one */
    KT_OK(run_program(s, vs));
    KT_OK(sys_tcb_suspend(s + 9));
    return 0;
}

const struct ktest asid_tests[] = {
    { "asid: a VSpace is mapped into and run only with an ASID", test_space_runs_only_with_an_asid },
    { "asid: assign and make_pool refuse each bad cap and argument",
      test_assign_and_make_pool_errors },
    { "asid: deleting a pool stops its spaces' threads for good",
      test_deleting_a_pool_stops_its_spaces },
    { "asid: bk_vspace_alloc gives a space with an ASID", test_libsys_vspace_alloc },
};
const unsigned asid_test_count = sizeof(asid_tests) / sizeof(asid_tests[0]);
