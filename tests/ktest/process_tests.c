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

/* The child's endpoint in slot s and, in s + 1, a copy badged
 * FAULT_BADGE for its faults; libsys's allocators set up. */
static int child_endpoints(struct ktest_env *env, uint64_t s)
{
    kt_init_allocators(env);
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s, 1));
    KT_OK(sys_cnode_mint(BK_CAP_ROOT_CNODE, s + 1, BK_WORD_BITS, BK_CAP_ROOT_CNODE, s,
                         BK_WORD_BITS, BK_RIGHTS_ALL, FAULT_BADGE));
    return 0;
}

static int test_child_process(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(child_endpoints(env, s));
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

/* One run of "child" in the arena: it calls us, checks our answer and its
 * start page, reports, and faults reading our memory (its fault comes on
 * our endpoint `ep`, badged). Everything it was made of is the arena's. */
static int run_child_in(struct ktest_env *env, struct bk_arena *a, uint64_t ep)
{
    struct bk_process p;
    long r = bk_process_spawn_in(a, env->bi, "child", 100, ep, BK_SPAWN_GIVE_DEBUG, &p);
    if (r != 0) {
        debug_printf("    %s\n", p.error);
        return 1;
    }
    KT_CHECK(bk_arena_holds_slot(a, p.tcb) && bk_arena_holds_slot(a, p.cnode) &&
             bk_arena_holds_slot(a, p.vspace) && bk_arena_holds_slot(a, p.sched_context));
    KT_OK(sys_tcb_set_fault_endpoint(p.tcb, ep + 1));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50)); /* the child first */
    struct bk_msg m;
    KT_CHECK(next_from_child(ep, &m, false) == 0 && m.mr[0] == 41);
    m = (struct bk_msg){ .info = bk_msginfo(0, 2), .mr = { 42, 100 } };
    sys_reply(0, &m);
    KT_CHECK(next_from_child(ep, &m, false) == 0 && m.mr[0] == 1);
    m = (struct bk_msg){ 0 };
    sys_reply(0, &m);
    KT_CHECK(next_from_child(ep, &m, true) == 0 && m.badge == FAULT_BADGE);
    return 0;
}

/* A process spawned into an arena and reclaimed 60 times takes the same
 * memory and slots each time, where plain spawns (whose objects are never
 * given back) run out of the test's 1 MiB after a handful. After a
 * reclaim the kernel agrees the arena is all free: one untyped of its
 * whole size can be made of it. */
static int test_spawn_arena_reused(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(child_endpoints(env, s));
    uint64_t priority = 0, mcp = 0;
    KT_OK(sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp));
    static struct bk_arena a;
    KT_OK(bk_arena_init(&a, 0, 17, 64));
    /* The leak the arena avoids: plain spawns until the memory is gone
     * (at priority 1, below us: they never run). */
    unsigned plain = 0;
    struct bk_process p;
    while (plain < 100 && bk_process_spawn(env->bi, "child", 1, 0, 0, &p) == 0)
        plain++;
    KT_CHECK(plain < 60);
    KT_CHECK(contains(p.error, "NOT_ENOUGH_MEMORY"));
    uint64_t bytes = 0, slots = 0, arena_bytes = 0;
    for (unsigned i = 0; i < 60; i++) {
        if (run_child_in(env, &a, s) != 0) {
            debug_printf("    spawn %u in the arena failed\n", i + 1);
            return 1;
        }
        KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, priority));
        if (i == 0) {
            bytes = bk_objects_bytes_used();
            slots = bk_slots_free_count();
            arena_bytes = a.used;
        }
        if (bk_objects_bytes_used() != bytes || bk_slots_free_count() != slots ||
            a.used != arena_bytes) {
            debug_printf("    spawn %u: %llu bytes and %llu free slots, %llu in the arena; the "
                         "first: %llu, %llu, %llu\n", i + 1,
                         (unsigned long long)bk_objects_bytes_used(),
                         (unsigned long long)bk_slots_free_count(), (unsigned long long)a.used,
                         (unsigned long long)bytes, (unsigned long long)slots,
                         (unsigned long long)arena_bytes);
            return 1;
        }
        KT_OK(bk_arena_reclaim(&a));
        KT_CHECK(a.used == 0 && a.slots_used == 0);
    }
    debug_printf("    %u plain spawns filled the test's 1 MiB; 60 in a 128 KiB arena, %llu bytes "
                 "each, took nothing more\n", plain, (unsigned long long)arena_bytes);
    /* The kernel's view: nothing of the arena is left alive. */
    KT_OK(sys_untyped_retype(a.untyped, BK_OBJ_UNTYPED, 17, BK_CAP_ROOT_CNODE, 0, 0,
                             a.first_slot, 1));
    KT_OK(bk_arena_reclaim(&a));
    return 0;
}

/* A spawn that does not fit its arena fails with a sentence naming the
 * step and the arena's numbers, and the arena is reusable after. */
static int test_spawn_arena_too_small(struct ktest_env *env)
{
    kt_init_allocators(env);
    static struct bk_arena a;
    struct bk_process p;
    KT_EXPECT_ERR(bk_arena_init(&a, 0, 11, 64), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(bk_arena_init(&a, 0, 16, 0), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(bk_arena_init(&a, 0, 16, 1u << BK_ROOT_CNODE_BITS), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(bk_process_spawn_in(&a, env->bi, "child", 100, 0, 0, &p),
                  BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(contains(p.error, "spawn 'child': no arena"));
    KT_EXPECT_ERR(bk_arena_reclaim(&a), BK_ERR_INVALID_ARGUMENT);
    /* 16 KiB: the VSpace (8 KiB), the TCB and a frame or two fit, no more. */
    KT_OK(bk_arena_init(&a, 0, 14, 64));
    KT_EXPECT_ERR(bk_process_spawn_in(&a, env->bi, "child", 1, 0, 0, &p),
                  BK_ERR_NOT_ENOUGH_MEMORY);
    if (!contains(p.error, "spawn 'child': ") ||
        !contains(p.error, "NOT_ENOUGH_MEMORY (its arena's untyped of 16384 bytes has ") ||
        !contains(p.error, "does not fit)")) {
        debug_printf("    the spawn said: %s\n", p.error);
        return 1;
    }
    debug_printf("    %s\n", p.error);
    KT_OK(bk_arena_reclaim(&a));
    /* Out of slots: 4 in 64 KiB. */
    static struct bk_arena few;
    KT_OK(bk_arena_init(&few, 0, 16, 4));
    KT_EXPECT_ERR(bk_process_spawn_in(&few, env->bi, "child", 1, 0, 0, &p),
                  BK_ERR_NOT_ENOUGH_MEMORY);
    if (!contains(p.error, "(its arena's 4 slots are all used;")) {
        debug_printf("    the spawn said: %s\n", p.error);
        return 1;
    }
    debug_printf("    %s\n", p.error);
    KT_OK(bk_arena_reclaim(&few));
    KT_CHECK(few.used == 0 && few.slots_used == 0);
    /* A cap that is not an untyped is refused (a Retype on an endpoint
     * would be a Call that never returns); an untyped smaller than the
     * arena was told: the kernel's refusal is named. */
    static struct bk_arena wrong;
    uint64_t ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    KT_CHECK(ep != 0);
    KT_EXPECT_ERR(bk_arena_init(&wrong, ep, 16, 8), BK_ERR_INVALID_ARGUMENT);
    uint64_t page = bk_alloc_object(BK_OBJ_UNTYPED, 12);
    KT_CHECK(page != 0);
    KT_OK(bk_arena_init(&wrong, page, 16, 8));
    KT_EXPECT_ERR(bk_process_spawn_in(&wrong, env->bi, "child", 1, 0, 0, &p),
                  BK_ERR_NOT_ENOUGH_MEMORY);
    if (!contains(p.error, "spawn 'child': making its VSpace: NOT_ENOUGH_MEMORY (its arena's "
                           "untyped cap refused a retype: ")) {
        debug_printf("    the spawn said: %s\n", p.error);
        return 1;
    }
    debug_printf("    %s\n", p.error);
    return 0;
}

const struct ktest process_tests[] = {
    { "process: a program in its own address space and CSpace calls us", test_child_process },
    { "process: spawn and ELF errors", test_spawn_errors },
    { "process: spawning a damaged ELF names the parser's reason", test_spawn_damaged_elf },
    { "process: copy to a frame refuses bytes outside the frame", test_copy_to_frame_bounds },
    { "process: a spawn into an arena, reclaimed, reuses its memory and slots",
      test_spawn_arena_reused },
    { "process: a spawn too big for its arena fails with the arena's numbers",
      test_spawn_arena_too_small },
};
const unsigned process_test_count = sizeof(process_tests) / sizeof(process_tests[0]);
