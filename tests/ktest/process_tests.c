/*
 * Processes: a boot-image program started by libsys in an address space
 * and CSpace of its own, talking to the suite through an endpoint, and
 * unable to reach the suite's memory.
 */
#include "ktest.h"

static int test_child_process(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    kt_init_allocators(env);
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 1, 1));
    struct bk_process p;
    KT_OK(bk_process_spawn(env->bi, "child", 100, s, BK_SPAWN_GIVE_DEBUG, &p));
    KT_OK(sys_tcb_set_fault_endpoint(p.tcb, s + 1));
    struct bk_msg m = { 0 };
    sys_recv(s, &m);
    KT_CHECK(BK_MSGINFO_LENGTH(m.info) == 1 && m.mr[0] == 41);
    m = (struct bk_msg){ .info = bk_msginfo(0, 1), .mr = { 42 } };
    sys_reply_recv(s, &m);
    KT_CHECK(BK_MSGINFO_LENGTH(m.info) == 6 && m.mr[0] == 1 && m.mr[3] == 3);
    KT_CHECK(bk_ipc_buffer->mr[4] == 4 && bk_ipc_buffer->mr[5] == 5);
    m = (struct bk_msg){ 0 };
    sys_reply(0, &m);
    /* Its read of our boot image's address arrives as a page fault. */
    sys_recv(s + 1, &m);
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == BK_FAULT_PAGE && m.mr[1] == BK_ROOT_BOOTIMAGE_VADDR);
    return 0;
}

static int test_spawn_errors(struct ktest_env *env)
{
    struct bk_process p;
    kt_init_allocators(env);
    KT_EXPECT_ERR(bk_process_spawn(env->bi, "no-such-program", 100, 0, 0, &p),
                  BK_ERR_INVALID_ARGUMENT);
    /* Our own root ELF is fine, a module that is not an ELF is refused. */
    static const uint8_t junk[64] = { 0x7f, 'E', 'L', 'F', 1 };
    uint64_t entry;
    uint64_t vs = bk_alloc_object(BK_OBJ_VSPACE, 0);
    KT_CHECK(vs != 0);
    KT_EXPECT_ERR(bk_elf_load(vs, junk, sizeof(junk), &entry), BK_ERR_INVALID_ARGUMENT);
    return 0;
}

const struct ktest process_tests[] = {
    { "process: a program in its own address space and CSpace calls us", test_child_process },
    { "process: spawn and ELF errors", test_spawn_errors },
};
const unsigned process_test_count = sizeof(process_tests) / sizeof(process_tests[0]);
