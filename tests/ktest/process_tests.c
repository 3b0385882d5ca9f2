/*
 * Processes: a boot-image program started by libsys in an address space
 * and CSpace of its own, talking to the suite through an endpoint, and
 * unable to reach the suite's memory.
 */
#include <bulkhead/heap.h>

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

/* True if `part` occurs in `s`. */
static bool contains(const char *s, const char *part)
{
    size_t n = strlen(s), k = strlen(part);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(s + i, part, k) == 0)
            return true;
    }
    return false;
}

static int test_spawn_errors(struct ktest_env *env)
{
    struct bk_process p;
    kt_init_allocators(env);
    KT_EXPECT_ERR(bk_process_spawn(env->bi, "no-such-program", 100, 0, 0, &p),
                  BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(contains(p.error, "spawn 'no-such-program': no such module"));
    /* A module that is not an ELF is refused, and the parser says why. */
    static const uint8_t junk[64] = { 0x7f, 'E', 'L', 'F', 1 };
    uint64_t entry;
    char why[160];
    uint64_t vs = bk_alloc_object(BK_OBJ_VSPACE, 0);
    KT_CHECK(vs != 0);
    KT_EXPECT_ERR(bk_elf_load(vs, junk, sizeof(junk), &entry, why, sizeof(why)),
                  BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(contains(why, "not a 64-bit little-endian version-1 file"));
    KT_EXPECT_ERR(bk_elf_load(vs, junk, sizeof(junk), &entry, NULL, 0), BK_ERR_INVALID_ARGUMENT);
    return 0;
}

/* A boot image whose "child" is damaged: e_machine (offset 0x12 of the ELF
 * header) says 40 (Arm), a program of another machine. The copy lives on
 * the heap; the boot info is ours with the module pointed at it. */
static int test_spawn_damaged_elf(struct ktest_env *env)
{
    static struct bk_bootinfo damaged; /* too big for the stack */
    kt_init_allocators(env);
    damaged = *env->bi;
    struct bk_boot_module *m = NULL;
    for (uint32_t i = 0; i < damaged.module_count; i++) {
        if (strcmp(damaged.modules[i].name, "child") == 0)
            m = &damaged.modules[i];
    }
    KT_CHECK(m != NULL && m->size > 0x14);
    uint8_t *copy = malloc(m->size);
    KT_CHECK(copy != NULL);
    memcpy(copy, (const void *)(uintptr_t)m->vaddr, m->size);
    copy[0x12] = 40;
    copy[0x13] = 0;
    m->vaddr = (uint64_t)(uintptr_t)copy;
    struct bk_process p;
    long r = bk_process_spawn(&damaged, "child", 100, 0, 0, &p);
    free(copy);
    KT_EXPECT_ERR(r, BK_ERR_INVALID_ARGUMENT);
    if (!contains(p.error, "spawn 'child': ELF refused: machine 40, this kernel runs machine")) {
        debug_printf("    the spawn said: %s\n", p.error);
        return 1;
    }
    return 0;
}

/* bk_copy_to_frame() refuses bytes outside the 4 KiB frame before it maps
 * anything: an offset past the end, a length past the end, and a length
 * so large that offset + len wraps around to a small number. */
static int test_copy_to_frame_bounds(struct ktest_env *env)
{
    kt_init_allocators(env);
    uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, BK_PAGE_BITS);
    KT_CHECK(frame != 0);
    static const char bytes[64] = "sixteen bytes...and sixteen more";
    /* The edges are fine: the last 16 bytes, and nothing at the very end. */
    KT_OK(bk_copy_to_frame(frame, BK_PAGE_SIZE - 16, bytes, 16));
    KT_OK(bk_copy_to_frame(frame, BK_PAGE_SIZE, bytes, 0));
    KT_OK(bk_copy_to_frame(frame, 0, bytes, 32));
    KT_EXPECT_ERR(bk_copy_to_frame(frame, BK_PAGE_SIZE + 1, bytes, 0), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(bk_copy_to_frame(frame, UINT64_MAX, bytes, 1), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(bk_copy_to_frame(frame, BK_PAGE_SIZE - 16, bytes, 17), BK_ERR_RANGE);
    KT_EXPECT_ERR(bk_copy_to_frame(frame, 0, bytes, BK_PAGE_SIZE + 1), BK_ERR_RANGE);
    /* 8 + (SIZE_MAX - 3) wraps to 4: a sum would pass, the check must not. */
    KT_EXPECT_ERR(bk_copy_to_frame(frame, 8, bytes, SIZE_MAX - 3), BK_ERR_RANGE);
    KT_EXPECT_ERR(bk_copy_to_frame(frame, BK_PAGE_SIZE, bytes, SIZE_MAX), BK_ERR_RANGE);
    return 0;
}

const struct ktest process_tests[] = {
    { "process: a program in its own address space and CSpace calls us", test_child_process },
    { "process: spawn and ELF errors", test_spawn_errors },
    { "process: spawning a damaged ELF names the parser's reason", test_spawn_damaged_elf },
    { "process: copy to a frame refuses bytes outside the frame", test_copy_to_frame_bounds },
};
const unsigned process_test_count = sizeof(process_tests) / sizeof(process_tests[0]);
