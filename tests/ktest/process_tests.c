/*
 * Processes: a boot-image program started by libsys in an address space
 * and CSpace of its own, talking to the suite through an endpoint, and
 * unable to reach the suite's memory.
 */
#include "ktest.h"

/* Faults of the child arrive on the same endpoint as its calls, with this
 * badge, so a crash shows up at once instead of as a hang. */
#define FAULT_BADGE 0xfa17

/* What the child sent next. The suite runs below the child, so when it
 * runs the child has called (and waits for the answer), faulted, or
 * stopped: a non-blocking receive then never waits on a dead child.
 * Returns 0, or 1 (having said why) if nothing came or the child faulted
 * and `fault_expected` is false. */
static int next_from_child(uint64_t ep, struct bk_msg *m, bool fault_expected)
{
    *m = (struct bk_msg){ 0 };
    sys_nbrecv(ep, m);
    if (m->badge == 0 && m->info == 0) {
        debug_printf("    the child stopped without calling us (it exited or blocked)\n");
        return 1;
    }
    if (m->badge == FAULT_BADGE && !fault_expected) {
        debug_printf("    the child faulted: label %llu, pc 0x%llx, address 0x%llx\n",
                     (unsigned long long)BK_MSGINFO_LABEL(m->info),
                     (unsigned long long)m->mr[0], (unsigned long long)m->mr[1]);
        return 1;
    }
    return 0;
}

static int test_child_process(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    kt_init_allocators(env);
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(sys_cnode_mint(BK_CAP_ROOT_CNODE, s + 1, BK_WORD_BITS, BK_CAP_ROOT_CNODE, s,
                         BK_WORD_BITS, BK_RIGHTS_ALL, FAULT_BADGE));
    struct bk_process p;
    KT_OK(bk_process_spawn(env->bi, "child", 100, s, BK_SPAWN_GIVE_DEBUG, &p));
    KT_OK(sys_tcb_set_fault_endpoint(p.tcb, s + 1));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50)); /* the child first */
    struct bk_msg m;
    KT_CHECK(next_from_child(s, &m, false) == 0);
    KT_CHECK(BK_MSGINFO_LENGTH(m.info) == 1 && m.mr[0] == 41);
    m = (struct bk_msg){ .info = bk_msginfo(0, 2), .mr = { 42, 100 } }; /* its priority */
    sys_reply(0, &m);
    KT_CHECK(next_from_child(s, &m, false) == 0);
    /* mr[0]: all the child's checks held, its MCP (= its priority) included. */
    KT_CHECK(BK_MSGINFO_LENGTH(m.info) == 6 && m.mr[0] == 1 && m.mr[3] == 3);
    KT_CHECK(bk_ipc_buffer->mr[4] == 4 && bk_ipc_buffer->mr[5] == 5);
    m = (struct bk_msg){ 0 };
    sys_reply(0, &m);
    /* Its read of our boot image's address arrives as a page fault. */
    KT_CHECK(next_from_child(s, &m, true) == 0);
    KT_CHECK(m.badge == FAULT_BADGE);
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
