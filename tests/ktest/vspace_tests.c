/*
 * Frames, page tables and VSpaces: mapping into the root task's own
 * address space and reading and writing through the mapping, rights and
 * W^X, every map error with its details, unmap and remap, 2 MiB frames,
 * deletion and revocation taking mappings with them, and threads running
 * in a second address space built from scratch.
 *
 * The root task's space has no tables at BASE_VA (its second GiB): two
 * page tables (levels 2 and 1) make a 2 MiB window there. Accesses that
 * should fault are made by a helper thread with a fault endpoint (a fault
 * in the root task would end the run); the fault message says where and
 * how it faulted.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define VS BK_CAP_ROOT_VSPACE
#define PAGE 0x1000ull
#define LARGE (1ull << 21)
#define BASE_VA 0x40000000ull
#define CODE_VA 0x200000ull /* where the helper program runs in a new space */
#define RW (BK_VM_READ | BK_VM_WRITE)
#define RX (BK_VM_READ | BK_VM_EXEC)
#define PATTERN 0x5eb0a1d5c0ffee42ull
#define ROOT_MISSING_LEVEL 2 /* at BASE_VA in the root task: below the root */

#if defined(__x86_64__)
#define USER_VADDR_MAX 0x0000800000000000ull
#define TABLE_LEVELS 3 /* PDPT, PD, PT below the PML4 */
#else
#define USER_VADDR_MAX 0x0000004000000000ull
#define TABLE_LEVELS 2 /* Sv39: two levels below the root */
#endif

/* ---- The helper program -------------------------------------------------
 * Copied into frames and run by threads: it signals the notification cap
 * whose address arrives in the first argument register (the IPC
 * destination register), then spins.
 *   x86-64:  mov $9, %eax     (BK_SYS_SEND)   b8 09 00 00 00
 *            syscall                          0f 05
 *       1:   jmp 1b                           eb fe
 *   RISC-V:  li a7, 9         (BK_SYS_SEND)   00900893
 *            ecall                            00000073
 *       1:   j 1b                             0000006f
 */
_Static_assert(BK_SYS_SEND == 9, "the helper program encodes the send syscall number");
#if defined(__x86_64__)
static const uint8_t signal_program[] = { 0xb8, 0x09, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xfe };
#else
static const uint32_t signal_program[] = { 0x00900893, 0x00000073, 0x0000006f };
#endif

/* ---- Helpers ----------------------------------------------------------------- */

static uint8_t probe_stack[8192] __attribute__((aligned(16)));
static volatile uint64_t probe_stage, probe_value;

static volatile uint64_t *at(uint64_t va)
{
    return (volatile uint64_t *)(uintptr_t)va;
}

/* arg: an address, bit 0 set to write. Stage 1 before the access, 2 after. */
static void prober(uint64_t arg)
{
    volatile uint64_t *p = at(arg & ~7ull);
    probe_stage = 1;
    if (arg & 1)
        *p = PATTERN;
    else
        probe_value = *p;
    probe_stage = 2;
    sys_thread_exit(0);
}

/* Runs prober on `va` in a helper (TCB at slot, fault endpoint at slot + 1)
 * that preempts us, so it is done when this returns. 1: the access
 * worked; 0: it faulted and *fault is the fault message; -1: no start. */
static int probe(struct ktest_env *env, uint64_t slot, uint64_t va, int write,
                 struct bk_msg *fault)
{
    *fault = (struct bk_msg){ 0 };
    if (kt_retype(env, BK_OBJ_TCB, 0, slot, 1) || kt_retype(env, BK_OBJ_ENDPOINT, 0, slot + 1, 1) ||
        sys_tcb_set_fault_endpoint(slot, slot + 1))
        return -1;
    probe_stage = 0;
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100);
    long r = bk_thread_start(slot, ROOT, VS, prober, va | (write ? 1 : 0), probe_stack,
                             sizeof(probe_stack), 0, 200);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    if (r != 0 || probe_stage == 0)
        return -1;
    if (probe_stage == 2)
        return 1;
    sys_nbrecv(slot + 1, fault); /* the fault, queued as a Call */
    struct bk_msg reply = { .info = bk_msginfo(1, 0) };
    sys_reply(0, &reply); /* a non-zero label: the helper stays stopped */
    return 0;
}

/* The fault message says: a page fault at `va` by an access of `kind`. */
static int is_page_fault(const struct bk_msg *f, uint64_t va, uint64_t kind)
{
    return BK_MSGINFO_LABEL(f->info) == BK_FAULT_PAGE && f->mr[1] == va && f->mr[2] == kind;
}

/* Maps two page tables (slots slot, slot + 1) at BASE_VA in our space. */
static int root_tables(struct ktest_env *env, uint64_t slot)
{
    if (kt_retype(env, BK_OBJ_PAGE_TABLE, 0, slot, 2))
        return 1;
    return sys_page_table_map(slot, VS, BASE_VA) != 0 ||
           sys_page_table_map(slot + 1, VS, BASE_VA) != 0;
}

/* Frame: Map with the details of the reply (FAILED_LOOKUP words). */
static uint64_t map_raw(uint64_t frame, uint64_t vspace, uint64_t va, uint64_t rights,
                        struct bk_msg *r)
{
    uint64_t w[4] = { vspace, va, rights, 0 };
    kt_invoke(frame, BK_LABEL_FRAME_MAP, 4, w, r);
    return BK_MSGINFO_LABEL(r->info);
}

/* True if the reply is FAILED_LOOKUP for a missing table of `level`. */
static int missing_table(const struct bk_msg *r, unsigned level)
{
    return BK_MSGINFO_LABEL(r->info) == BK_ERR_FAILED_LOOKUP && r->mr[0] == 0 &&
           r->mr[1] == 2 && r->mr[2] == 12 + 9 * level && r->mr[3] == level;
}

/* The frame's physical address, 0 if GetAddress refused. */
static uint64_t frame_address(uint64_t frame)
{
    uint64_t pa = 0;
    return sys_frame_get_address(frame, &pa) == 0 ? pa : 0;
}

/* Puts the helper program into `frame` through a temporary mapping at
 * `va` (tables must be there), then unmaps it again. */
static int load_program(uint64_t frame, uint64_t va)
{
    if (sys_frame_map(frame, VS, va, RW, 0) != 0)
        return 1;
    memcpy((void *)(uintptr_t)va, signal_program, sizeof(signal_program));
#if defined(__riscv)
    __asm__ volatile("fence.i" ::: "memory"); /* instruction fetch sees the stores */
#endif
    return sys_frame_unmap(frame) != 0;
}

/* ---- Mapping into our own space -------------------------------------------- */

static int test_missing_tables_reported(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r;
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s, 1));
    KT_OK(kt_retype(env, BK_OBJ_PAGE_TABLE, 0, s + 1, 2));
    map_raw(s, VS, BASE_VA, RW, &r);
    KT_CHECK(missing_table(&r, ROOT_MISSING_LEVEL));
    KT_OK(sys_page_table_map(s + 1, VS, BASE_VA));
    map_raw(s, VS, BASE_VA, RW, &r);
    KT_CHECK(missing_table(&r, 1));
    KT_OK(sys_page_table_map(s + 2, VS, BASE_VA + 0x5000)); /* any address in its span */
    KT_OK(sys_frame_map(s, VS, BASE_VA, RW, 0));
    return 0;
}

static int test_read_write_through_mapping(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    KT_CHECK(*at(BASE_VA) == 0 && *at(BASE_VA + PAGE - 8) == 0); /* retype zeroed it */
    *at(BASE_VA + 0x100) = PATTERN;
    KT_CHECK(*at(BASE_VA + 0x100) == PATTERN);
    /* A copy maps the same memory a second time, here read-only. */
    KT_OK(sys_cnode_copy(ROOT, s + 3, W, ROOT, s + 2, W, BK_RIGHTS_ALL));
    KT_OK(sys_frame_map(s + 3, VS, BASE_VA + PAGE, BK_VM_READ, 0));
    KT_CHECK(*at(BASE_VA + PAGE + 0x100) == PATTERN);
    *at(BASE_VA + 0x108) = ~PATTERN;
    KT_CHECK(*at(BASE_VA + PAGE + 0x108) == ~PATTERN);
    /* Uncached RAM works the same, only slower. */
    KT_OK(sys_cnode_copy(ROOT, s + 4, W, ROOT, s + 2, W, BK_RIGHTS_ALL));
    KT_OK(sys_frame_map(s + 4, VS, BASE_VA + 2 * PAGE, RW, BK_VM_UNCACHED));
    KT_CHECK(*at(BASE_VA + 2 * PAGE + 0x100) == PATTERN);
    return 0;
}

static int test_frame_map_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 2));
    uint64_t f = s + 2;
    KT_EXPECT_ERR(sys_frame_map(f, VS, BASE_VA + 8, RW, 0), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_frame_map(f, VS, 0xffffffff80000000ull, BK_VM_READ, 0),
                  BK_ERR_INVALID_ARGUMENT); /* the kernel half */
    KT_EXPECT_ERR(sys_frame_map(f, VS, USER_VADDR_MAX, BK_VM_READ, 0), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_frame_map(f, VS, BASE_VA, RW | BK_VM_EXEC, 0), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_frame_map(f, VS, BASE_VA, 8, 0), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_frame_map(f, VS, BASE_VA, RW, 2), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_frame_map(f, ROOT, BASE_VA, RW, 0), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_frame_map(f, s + 200, BASE_VA, RW, 0), BK_ERR_FAILED_LOOKUP);
    KT_OK(sys_frame_map(f, VS, BASE_VA, RW, 0));
    KT_EXPECT_ERR(sys_frame_map(f, VS, BASE_VA + PAGE, RW, 0), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_frame_map(f + 1, VS, BASE_VA, RW, 0), BK_ERR_DELETE_FIRST);
    /* A frame cap without the read right maps nothing. */
    KT_OK(sys_cnode_copy(ROOT, s + 4, W, ROOT, f + 1, W, BK_RIGHT_GRANT));
    KT_EXPECT_ERR(sys_frame_map(s + 4, VS, BASE_VA + PAGE, BK_VM_READ, 0),
                  BK_ERR_INSUFFICIENT_RIGHTS);
    return 0;
}

static int test_read_only_mapping_faults_writer(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f;
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, BK_VM_READ, 0));
    KT_CHECK(*at(BASE_VA + 0x40) == 0);
    KT_CHECK(probe(env, s + 10, BASE_VA + 0x40, 0, &f) == 1);
    KT_CHECK(probe(env, s + 12, BASE_VA + 0x40, 1, &f) == 0);
    KT_CHECK(is_page_fault(&f, BASE_VA + 0x40, BK_FAULT_ACCESS_WRITE));
    return 0;
}

static int test_cap_rights_bound_mapping(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f;
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_OK(sys_cnode_copy(ROOT, s + 3, W, ROOT, s + 2, W, BK_RIGHT_READ));
    KT_OK(sys_frame_map(s + 3, VS, BASE_VA, RW, 0)); /* write is dropped */
    KT_CHECK(probe(env, s + 10, BASE_VA, 1, &f) == 0);
    KT_CHECK(is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_WRITE));
    KT_CHECK(probe(env, s + 12, BASE_VA, 0, &f) == 1);
    return 0;
}

static int test_unmap_then_map_again(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f;
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    *at(BASE_VA) = PATTERN;
    KT_OK(sys_frame_unmap(s + 2));
    KT_CHECK(probe(env, s + 10, BASE_VA, 0, &f) == 0);
    KT_CHECK(is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_READ));
    KT_OK(sys_frame_unmap(s + 2)); /* unmapped already: nothing to do */
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA + 3 * PAGE, RW, 0));
    KT_CHECK(*at(BASE_VA + 3 * PAGE) == PATTERN); /* the memory stayed */
    return 0;
}

static int test_remap_only_removes_rights(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f;
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_EXPECT_ERR(sys_frame_remap(s + 2, BK_VM_READ), BK_ERR_ILLEGAL_OPERATION); /* unmapped */
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    KT_CHECK(probe(env, s + 10, BASE_VA, 1, &f) == 1);
    KT_CHECK(*at(BASE_VA) == PATTERN);
    KT_EXPECT_ERR(sys_frame_remap(s + 2, RW | BK_VM_EXEC), BK_ERR_INVALID_ARGUMENT);
    KT_OK(sys_frame_remap(s + 2, BK_VM_READ));
    KT_CHECK(probe(env, s + 12, BASE_VA, 1, &f) == 0 &&
             is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_WRITE));
    KT_OK(sys_frame_remap(s + 2, RW)); /* asks for write back: still read-only */
    KT_CHECK(probe(env, s + 14, BASE_VA, 1, &f) == 0 &&
             is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_WRITE));
    KT_CHECK(probe(env, s + 16, BASE_VA, 0, &f) == 1 && probe_value == PATTERN);
    return 0;
}

static int test_exec_rights(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f, m = { 0 };
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 3, 1));
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s + 3, W, BK_RIGHT_WRITE, 0x21));
    KT_CHECK(load_program(s + 2, BASE_VA) == 0);
    /* Mapped RX, the program runs and signals. */
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA + PAGE, RX, 0));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 10, 1));
    KT_OK(sys_tcb_configure(s + 10, ROOT, 0, VS, 0));
    KT_OK(sys_tcb_set_priority(s + 10, BK_CAP_ROOT_TCB, 100));
    KT_OK(sys_tcb_write_registers(s + 10, 1, BASE_VA + PAGE, 0, s + 4));
    sys_recv(s + 3, &m);
    KT_CHECK(m.badge == 0x21);
    KT_OK(sys_tcb_suspend(s + 10));
    /* Read-only, fetching from it faults (an execute access at the pc). */
    KT_OK(sys_frame_remap(s + 2, BK_VM_READ));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 11, 1));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 12, 1));
    KT_OK(sys_tcb_set_fault_endpoint(s + 11, s + 12));
    KT_OK(sys_tcb_configure(s + 11, ROOT, 0, VS, 0));
    KT_OK(sys_tcb_set_priority(s + 11, BK_CAP_ROOT_TCB, 100));
    KT_OK(sys_tcb_write_registers(s + 11, 1, BASE_VA + PAGE, 0, s + 4));
    sys_recv(s + 12, &f);
    struct bk_msg reply = { .info = bk_msginfo(1, 0) };
    sys_reply(0, &reply);
    KT_CHECK(is_page_fault(&f, BASE_VA + PAGE, BK_FAULT_ACCESS_EXEC) && f.mr[0] == BASE_VA + PAGE);
    return 0;
}

static int test_large_frame(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r;
    uint64_t big = s + 5, va = BASE_VA + LARGE;
    /* 2 MiB does not fit the test's 1 MiB untyped: take it from the pool,
     * which the runner revokes after the test. */
    KT_OK(sys_untyped_retype(env->pool, BK_OBJ_FRAME, 21, ROOT, 0, 0, big, 1));
    map_raw(big, VS, va, RW, &r);
    KT_CHECK(missing_table(&r, ROOT_MISSING_LEVEL));
    KT_EXPECT_ERR(sys_frame_map(big, VS, va + PAGE, RW, 0), BK_ERR_INVALID_ARGUMENT);
    KT_OK(kt_retype(env, BK_OBJ_PAGE_TABLE, 0, s, 2));
    KT_OK(sys_page_table_map(s, VS, va)); /* one table: a 2 MiB leaf sits in it */
    KT_OK(sys_frame_map(big, VS, va, RW, 0));
    *at(va) = PATTERN;
    *at(va + LARGE - 8) = ~PATTERN;
    KT_CHECK(*at(va) == PATTERN && *at(va + LARGE - 8) == ~PATTERN);
    uint64_t pa = frame_address(big);
    KT_CHECK(pa != 0 && (pa & (LARGE - 1)) == 0);
    /* Nothing else fits inside it. */
    KT_EXPECT_ERR(sys_page_table_map(s + 1, VS, va + PAGE), BK_ERR_DELETE_FIRST);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_EXPECT_ERR(sys_frame_map(s + 2, VS, va + PAGE, RW, 0), BK_ERR_DELETE_FIRST);
    KT_OK(sys_frame_unmap(big));
    KT_OK(sys_page_table_map(s + 1, VS, va)); /* now the level-1 table fits */
    return 0;
}

/* Retype gives a RAM frame cap every right, BK_RIGHT_PHYS_ADDRESS too, and
 * a copy that keeps that right tells the same address. */
static int test_get_address(struct ktest_env *env)
{
    uint64_t s = kt_slots(), a = 0, b = 0, untouched = 1;
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s, 2));
    KT_CHECK(kt_rights(s) == BK_RIGHTS_ALL);
    KT_OK(sys_frame_get_address(s, &a));
    KT_OK(sys_frame_get_address(s + 1, &b));
    KT_CHECK(a != 0 && (a & (PAGE - 1)) == 0 && b == a + PAGE); /* retype packs them */
    KT_OK(sys_cnode_copy(ROOT, s + 2, W, ROOT, s, W, BK_RIGHT_READ | BK_RIGHT_PHYS_ADDRESS));
    KT_CHECK(frame_address(s + 2) == a);
    KT_EXPECT_ERR(sys_frame_get_address(ROOT, &untouched), BK_ERR_ILLEGAL_OPERATION);
    KT_CHECK(untouched == 1); /* not a frame; the stub writes only on success */
    return 0;
}

/* ---- Page tables ----------------------------------------------------------- */

static int test_page_table_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_PAGE_TABLE, 0, s, 3));
    KT_EXPECT_ERR(sys_page_table_map(s, VS, 0xffffffff80000000ull), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_page_table_map(s, VS, USER_VADDR_MAX), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_page_table_map(s, ROOT, BASE_VA), BK_ERR_INVALID_CAPABILITY);
    KT_OK(sys_page_table_map(s, VS, BASE_VA));
    KT_EXPECT_ERR(sys_page_table_map(s, VS, BASE_VA + LARGE), BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_page_table_map(s + 1, VS, BASE_VA));
    KT_EXPECT_ERR(sys_page_table_map(s + 2, VS, BASE_VA), BK_ERR_DELETE_FIRST); /* all there */
    /* Each table has one cap: a copy could hook it in twice. */
    KT_EXPECT_ERR(sys_cnode_copy(ROOT, s + 3, W, ROOT, s, W, BK_RIGHTS_ALL),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_cnode_move(ROOT, s + 3, W, ROOT, s + 2, W));
    KT_CHECK(kt_type(s + 3) == BK_OBJ_PAGE_TABLE);
    return 0;
}

static int test_page_table_unmap_clears_it(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r, f;
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 2));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    *at(BASE_VA) = PATTERN;
    KT_OK(sys_page_table_unmap(s + 1)); /* the level-1 table */
    KT_CHECK(probe(env, s + 10, BASE_VA, 0, &f) == 0 &&
             is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_READ));
    map_raw(s + 3, VS, BASE_VA + PAGE, RW, &r);
    KT_CHECK(missing_table(&r, 1));
    KT_OK(sys_page_table_unmap(s + 1)); /* unmapped already: nothing to do */
    /* Mapped again, it comes back empty: the old frame is not in it. */
    KT_OK(sys_page_table_map(s + 1, VS, BASE_VA));
    KT_CHECK(probe(env, s + 12, BASE_VA, 0, &f) == 0 &&
             is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_READ));
    KT_OK(sys_frame_map(s + 3, VS, BASE_VA, RW, 0));
    /* The first frame cap still holds its old mapping until unmapped. */
    KT_EXPECT_ERR(sys_frame_map(s + 2, VS, BASE_VA + PAGE, RW, 0), BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_frame_unmap(s + 2));
    KT_CHECK(*at(BASE_VA) == 0); /* its stale unmap left the new mapping alone */
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA + PAGE, RW, 0));
    KT_CHECK(*at(BASE_VA + PAGE) == PATTERN);
    return 0;
}

/* ---- Deletion and revocation -------------------------------------------------- */

static int test_deleting_frame_cap_unmaps(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f;
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 2));
    KT_OK(sys_cnode_copy(ROOT, s + 4, W, ROOT, s + 2, W, BK_RIGHTS_ALL));
    KT_OK(sys_frame_map(s + 4, VS, BASE_VA, RW, 0));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA + PAGE, RW, 0));
    KT_OK(sys_cnode_delete(ROOT, s + 4, W)); /* the copy's mapping goes, not the original's */
    KT_CHECK(probe(env, s + 10, BASE_VA, 0, &f) == 0 &&
             is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_READ));
    KT_CHECK(probe(env, s + 12, BASE_VA + PAGE, 0, &f) == 1);
    KT_OK(sys_frame_map(s + 3, VS, BASE_VA, RW, 0)); /* the place is free again */
    return 0;
}

static int test_deleting_page_table_cap_unmaps(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r, f;
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 2));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    KT_OK(sys_cnode_delete(ROOT, s, W)); /* the level-2 table, and all below it */
    KT_CHECK(probe(env, s + 10, BASE_VA, 0, &f) == 0 &&
             is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_READ));
    map_raw(s + 3, VS, BASE_VA + PAGE, RW, &r);
    KT_CHECK(missing_table(&r, ROOT_MISSING_LEVEL));
    return 0;
}

static int test_revoke_unmaps_everything(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg r, f;
    uint64_t child = s + 20;
    /* Tables and frames from a child untyped, mapped; then revoke it. */
    KT_OK(kt_retype(env, BK_OBJ_UNTYPED, 16, child, 1));
    KT_OK(sys_untyped_retype(child, BK_OBJ_PAGE_TABLE, 0, ROOT, 0, 0, s, 2));
    KT_OK(sys_untyped_retype(child, BK_OBJ_FRAME, 12, ROOT, 0, 0, s + 2, 2));
    KT_OK(sys_page_table_map(s, VS, BASE_VA));
    KT_OK(sys_page_table_map(s + 1, VS, BASE_VA));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    KT_OK(sys_frame_map(s + 3, VS, BASE_VA + PAGE, BK_VM_READ, 0));
    *at(BASE_VA) = PATTERN;
    KT_OK(sys_cnode_revoke(ROOT, child, W));
    KT_CHECK(kt_type(s) == 0 && kt_type(s + 2) == 0);
    KT_CHECK(probe(env, s + 10, BASE_VA, 0, &f) == 0 &&
             is_page_fault(&f, BASE_VA, BK_FAULT_ACCESS_READ));
    KT_CHECK(probe(env, s + 12, BASE_VA + PAGE, 0, &f) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 4, 1));
    map_raw(s + 4, VS, BASE_VA, RW, &r);
    KT_CHECK(missing_table(&r, ROOT_MISSING_LEVEL)); /* the tables went too */
    /* The memory is handed out again, zeroed. */
    KT_OK(sys_untyped_retype(child, BK_OBJ_PAGE_TABLE, 0, ROOT, 0, 0, s, 2));
    KT_OK(sys_untyped_retype(child, BK_OBJ_FRAME, 12, ROOT, 0, 0, s + 2, 1));
    KT_OK(sys_page_table_map(s, VS, BASE_VA));
    KT_OK(sys_page_table_map(s + 1, VS, BASE_VA));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    KT_CHECK(*at(BASE_VA) == 0);
    return 0;
}

/* ---- Other address spaces ---------------------------------------------------- */

/* Builds a VSpace at slot `vs` with the helper program mapped RX at
 * CODE_VA: tables at vs + 1.., the code frame at vs + 8. Our own window
 * at BASE_VA (tables at `scratch`, `scratch` + 1) is where it is written. */
static int make_space_with_program(struct ktest_env *env, uint64_t vs, uint64_t scratch)
{
    if (kt_retype(env, BK_OBJ_VSPACE, 0, vs, 1) ||
        sys_asid_pool_assign(BK_CAP_ROOT_ASID_POOL, vs) ||
        kt_retype(env, BK_OBJ_PAGE_TABLE, 0, vs + 1, TABLE_LEVELS) ||
        kt_retype(env, BK_OBJ_FRAME, 12, vs + 8, 1) || root_tables(env, scratch) ||
        load_program(vs + 8, BASE_VA))
        return 1;
    for (unsigned i = 0; i < TABLE_LEVELS; i++) {
        if (sys_page_table_map(vs + 1 + i, vs, CODE_VA))
            return 1;
    }
    return sys_frame_map(vs + 8, vs, CODE_VA, RX, 0) != 0;
}

static int test_thread_in_new_vspace(struct ktest_env *env)
{
    uint64_t s = kt_slots(), vs = s + 30;
    struct bk_msg r, m = { 0 };
    KT_OK(kt_retype(env, BK_OBJ_VSPACE, 0, vs + 20, 1));
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, vs + 21, 1));
    /* No ASID yet: nothing can be mapped into it, no thread run in it. */
    KT_EXPECT_ERR(sys_frame_map(vs + 21, vs + 20, CODE_VA, RX, 0), BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_asid_pool_assign(BK_CAP_ROOT_ASID_POOL, vs + 20));
    map_raw(vs + 21, vs + 20, CODE_VA, RX, &r);
    KT_CHECK(missing_table(&r, TABLE_LEVELS)); /* an empty space: only the root */
    KT_CHECK(make_space_with_program(env, vs, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 3, 1));
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s + 3, W, BK_RIGHT_WRITE, 0x77));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 10, 1));
    KT_OK(sys_tcb_configure(s + 10, ROOT, 0, vs, 0));
    KT_OK(sys_tcb_set_priority(s + 10, BK_CAP_ROOT_TCB, 100));
    KT_OK(sys_tcb_write_registers(s + 10, 1, CODE_VA, 0, s + 4));
    sys_recv(s + 3, &m); /* the helper runs while we wait */
    KT_CHECK(m.badge == 0x77);
    KT_OK(sys_tcb_suspend(s + 10));
    return 0;
}

static int test_deleting_vspace_stops_threads(struct ktest_env *env)
{
    uint64_t s = kt_slots(), vs = s + 30;
    struct bk_msg m = { 0 };
    KT_CHECK(make_space_with_program(env, vs, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 3, 1));
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s + 3, W, BK_RIGHT_WRITE, 1));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 10, 1));
    /* A copy of the VSpace cap keeps the space alive; the last one ends it. */
    KT_OK(sys_cnode_copy(ROOT, s + 5, W, ROOT, vs, W, BK_RIGHTS_ALL));
    KT_OK(sys_tcb_configure(s + 10, ROOT, 0, s + 5, 0));
    KT_OK(sys_tcb_set_priority(s + 10, BK_CAP_ROOT_TCB, 100));
    KT_OK(sys_tcb_write_registers(s + 10, 1, CODE_VA, 0, s + 4));
    sys_recv(s + 3, &m); /* it signalled and spins (below our priority) */
    KT_OK(sys_cnode_delete(ROOT, vs, W));
    KT_OK(sys_tcb_suspend(s + 10));
    KT_OK(sys_tcb_resume(s + 10)); /* the space is still there */
    KT_OK(sys_cnode_delete(ROOT, s + 5, W));
    KT_EXPECT_ERR(sys_tcb_resume(s + 10), BK_ERR_ILLEGAL_OPERATION); /* no space any more */
    /* The frame and table caps outlive it; their records name nothing now. */
    KT_EXPECT_ERR(sys_frame_remap(vs + 8, BK_VM_READ), BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_frame_unmap(vs + 8));
    KT_OK(sys_page_table_unmap(vs + 1));
    /* Configured again into our space, the thread can run. */
    KT_OK(sys_tcb_configure(s + 10, ROOT, 0, VS, 0));
    KT_OK(sys_tcb_suspend(s + 10));
    return 0;
}

static int test_configure_takes_a_vspace(struct ktest_env *env)
{
    uint64_t s = kt_slots(), vs = s + 30;
    KT_CHECK(make_space_with_program(env, vs, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 10, 1));
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 11, 2));
    KT_EXPECT_ERR(sys_tcb_configure(s + 10, ROOT, 0, ROOT, 0), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_tcb_configure(s + 10, ROOT, 0, s + 200, 0), BK_ERR_FAILED_LOOKUP);
    /* The IPC buffer is looked up in the thread's space, not ours. */
    uint64_t buf = CODE_VA + PAGE;
    KT_OK(sys_frame_map(s + 11, vs, buf, RW, 0));
    KT_EXPECT_ERR(sys_tcb_configure(s + 10, ROOT, 0, VS, buf), BK_ERR_INVALID_ARGUMENT);
    KT_OK(sys_tcb_configure(s + 10, ROOT, 0, vs, buf));
    KT_OK(sys_frame_map(s + 12, VS, BASE_VA + PAGE, RW, 0));
    KT_EXPECT_ERR(sys_tcb_configure(s + 10, ROOT, 0, vs, BASE_VA + PAGE),
                  BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_tcb_configure(s + 10, ROOT, 0, vs, CODE_VA), /* read-only there */
                  BK_ERR_INVALID_ARGUMENT);
    return 0;
}

static uint8_t buffer_user_stack[8192] __attribute__((aligned(16)));
static volatile uint64_t received_length;

/* Receives one message on the endpoint `ep` and records its length. */
static void length_reporter(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    received_length = BK_MSGINFO_LENGTH(m.info);
    sys_thread_exit(0);
}

/* Sends a 10-word message to a thread whose IPC buffer is the frame in
 * slot `frame`, mapped at BASE_VA; returns the length it received. */
static uint64_t long_message_to(uint64_t tcb, uint64_t ep, int unmap_first, uint64_t frame)
{
    received_length = ~0ull;
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50);
    if (bk_thread_start(tcb, ROOT, VS, length_reporter, ep, buffer_user_stack,
                        sizeof(buffer_user_stack), BASE_VA, 100) != 0)
        return ~1ull;
    if (unmap_first)
        sys_cnode_delete(ROOT, frame, W); /* unmaps the buffer and frees the frame */
    struct bk_msg m = { .info = bk_msginfo(0, 10) };
    sys_send(ep, &m);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    return received_length;
}

static int test_ipc_buffer_follows_its_mapping(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 3, 2));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 5, 1));
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    KT_CHECK(long_message_to(s + 3, s + 5, 0, s + 2) == 10);
    /* Once the frame is gone the thread has no IPC buffer: the kernel cuts
     * the message to the register words instead of writing to memory the
     * thread no longer holds. */
    KT_CHECK(long_message_to(s + 4, s + 5, 1, s + 2) == BK_MSG_CPU_WORDS);
    return 0;
}

static volatile uint64_t recorded_lengths[8];
static volatile unsigned recorded_count;

/* Receives messages on `ep` for ever, recording each one's length. */
static void length_recorder(uint64_t ep)
{
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(ep, &m);
        if (recorded_count < 8)
            recorded_lengths[recorded_count] = BK_MSGINFO_LENGTH(m.info);
        recorded_count++;
    }
}

/* Sends 10 words to the recorder (words 4..9 from our IPC buffer: tag + i)
 * and returns the length it received. */
static uint64_t send_tagged(uint64_t ep, uint64_t tag)
{
    for (unsigned i = BK_MSG_CPU_WORDS; i < 10; i++)
        bk_ipc_buffer->mr[i] = tag + i;
    unsigned before = recorded_count;
    struct bk_msg m = { .info = bk_msginfo(0, 10) };
    sys_send(ep, &m);
    return recorded_count == before + 1 ? recorded_lengths[before % 8] : ~0ull;
}

/* The kernel keeps a thread's IPC buffer pointer between messages; every
 * way the translation behind it can go away or lose the write right must
 * make the next message see it, never write through the old pointer. */
static int test_ipc_buffer_pointer_follows_changes(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(root_tables(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 2, 1));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 3, 1));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 5, 1));
    KT_OK(sys_cnode_copy(ROOT, s + 6, W, ROOT, s + 2, W, BK_RIGHTS_ALL)); /* a second view */
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, 0));
    KT_OK(sys_frame_map(s + 6, VS, BASE_VA + PAGE, BK_VM_READ, 0));
    const volatile struct bk_ipc_buffer *buf = (const void *)(uintptr_t)BASE_VA;
    const volatile struct bk_ipc_buffer *view = (const void *)(uintptr_t)(BASE_VA + PAGE);
    recorded_count = 0;
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50);
    int started = bk_thread_start(s + 3, ROOT, VS, length_recorder, s + 5, buffer_user_stack,
                                  sizeof(buffer_user_stack), BASE_VA, 100);
    uint64_t got[5] = { 0 }, seen[2] = { 0 };
    if (started == 0) {
        got[0] = send_tagged(s + 5, 0x100);      /* the buffer is found, and kept */
        got[1] = send_tagged(s + 5, 0x200);      /* the kept pointer */
        seen[0] = buf->mr[5];
        sys_frame_remap(s + 2, BK_VM_READ);      /* no write right: no buffer */
        got[2] = send_tagged(s + 5, 0x300);
        seen[1] = buf->mr[5];
        sys_frame_unmap(s + 2);
        sys_frame_map(s + 2, VS, BASE_VA, RW, 0); /* mapped again: a buffer again */
        got[3] = send_tagged(s + 5, 0x400);
        sys_frame_unmap(s + 2);                  /* gone: the frame must not change */
        got[4] = send_tagged(s + 5, 0x500);
        sys_tcb_suspend(s + 3);
    }
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    KT_CHECK(started == 0);
    KT_CHECK(got[0] == 10 && got[1] == 10);
    KT_CHECK(got[2] == BK_MSG_CPU_WORDS);
    KT_CHECK(seen[0] == 0x205 && seen[1] == 0x205);
    KT_CHECK(got[3] == 10);
    KT_CHECK(got[4] == BK_MSG_CPU_WORDS);
    KT_CHECK(view->mr[5] == 0x405 && view->mr[9] == 0x409); /* the last write was 0x400's */
    return 0;
}

/* A frame of device memory (from any device untyped) in slot `slot`. */
static int device_frame(struct ktest_env *env, uint64_t slot)
{
    for (uint32_t i = 0; i < env->bi->untyped_count; i++) {
        const struct bk_untyped_desc *u = &env->bi->untyped[i];
        if (u->is_device && u->size_bits >= 12 &&
            sys_untyped_retype(u->slot, BK_OBJ_FRAME, 12, ROOT, 0, 0, slot, 1) == 0)
            return 0;
    }
    return 1;
}

static int test_kernel_never_touches_device_frames(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(root_tables(env, s) == 0);
    KT_CHECK(device_frame(env, s + 2) == 0);
    KT_OK(sys_frame_map(s + 2, VS, BASE_VA, RW, BK_VM_UNCACHED));
    /* The kernel would have to read device memory through its direct map,
     * which does not cover it: refused, not a kernel fault. */
    uint64_t written;
    KT_EXPECT_ERR(sys_debug_write(BK_CAP_DEBUG, BASE_VA, 16, &written), BK_ERR_INVALID_ADDRESS);
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s + 3, 1));
    KT_EXPECT_ERR(sys_tcb_configure(s + 3, ROOT, 0, VS, BASE_VA), BK_ERR_INVALID_ARGUMENT);
    /* (Not touched from here either: on RISC-V virt most of the device space
     * has no device behind it, and an access there is an access fault.) */
    return 0;
}

/* ---- Physical addresses ------------------------------------------------------
 * Where RAM frames lie helps Rowhammer (picking rows next to a victim's) and
 * cache colouring, so a RAM frame cap tells its address only with
 * BK_RIGHT_PHYS_ADDRESS; device frames always tell theirs (drivers). */

static int test_ram_address_needs_phys_right(struct ktest_env *env)
{
    uint64_t s = kt_slots(), pa = 0;
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s, 1));
    /* A copy for a tenant: read and write, no physical address. */
    KT_OK(sys_cnode_copy(ROOT, s + 1, W, ROOT, s, W, BK_RIGHT_READ | BK_RIGHT_WRITE));
    KT_EXPECT_ERR(sys_frame_get_address(s + 1, &pa), BK_ERR_INSUFFICIENT_RIGHTS);
    KT_CHECK(pa == 0);
    /* Its holder cannot get the right back by copying with every right... */
    KT_OK(sys_cnode_copy(ROOT, s + 2, W, ROOT, s + 1, W, BK_RIGHTS_ALL));
    KT_CHECK(kt_rights(s + 2) == (BK_RIGHT_READ | BK_RIGHT_WRITE));
    KT_EXPECT_ERR(sys_frame_get_address(s + 2, &pa), BK_ERR_INSUFFICIENT_RIGHTS);
    /* ...and Mint drops it like Copy does. */
    KT_OK(sys_cnode_mint(ROOT, s + 3, W, ROOT, s, W, BK_RIGHT_READ, 0));
    KT_EXPECT_ERR(sys_frame_get_address(s + 3, &pa), BK_ERR_INSUFFICIENT_RIGHTS);
    KT_CHECK(pa == 0);
    /* The cap made by retype still tells. */
    KT_OK(sys_frame_get_address(s, &pa));
    KT_CHECK(pa != 0 && (pa & (PAGE - 1)) == 0);
    return 0;
}

/* Whether [pa, pa + PAGE) lies in a device region of the boot info. */
static int in_device_region(const struct bk_bootinfo *bi, uint64_t pa)
{
    for (uint32_t i = 0; i < bi->region_count; i++) {
        const struct bk_mem_region *r = &bi->regions[i];
        if (r->kind == BK_REGION_DEVICE && pa >= r->base && pa + PAGE <= r->base + r->size)
            return 1;
    }
    return 0;
}

static int test_device_frame_tells_address(struct ktest_env *env)
{
    uint64_t s = kt_slots(), pa = ~0ull, copy_pa = ~0ull; /* 0 is device memory on RISC-V */
    KT_CHECK(device_frame(env, s) == 0);
    KT_OK(sys_frame_get_address(s, &pa));
    KT_CHECK((pa & (PAGE - 1)) == 0 && in_device_region(env->bi, pa));
    /* Without the right too: a driver needs its registers' address. */
    KT_OK(sys_cnode_copy(ROOT, s + 1, W, ROOT, s, W, BK_RIGHT_READ | BK_RIGHT_WRITE));
    KT_OK(sys_frame_get_address(s + 1, &copy_pa));
    KT_CHECK(copy_pa == pa);
    return 0;
}

const struct ktest vspace_tests[] = {
    { "frame: the kernel refuses to read or use device frames as buffers",
      test_kernel_never_touches_device_frames },
    { "tcb: a thread's IPC buffer counts only while its frame is mapped",
      test_ipc_buffer_follows_its_mapping },
    { "tcb: the kept IPC buffer pointer follows unmap, remap and map",
      test_ipc_buffer_pointer_follows_changes },
    { "frame: mapping without tables reports the missing level", test_missing_tables_reported },
    { "frame: a mapped frame is read and written through pointers",
      test_read_write_through_mapping },
    { "frame: map errors (address, rights, W^X, twice, occupied)", test_frame_map_errors },
    { "frame: a read-only mapping faults a writer", test_read_only_mapping_faults_writer },
    { "frame: the cap's rights bound the mapping's", test_cap_rights_bound_mapping },
    { "frame: unmap removes the mapping; the cap maps again", test_unmap_then_map_again },
    { "frame: remap only removes rights", test_remap_only_removes_rights },
    { "frame: code runs from an exec mapping, faults without exec", test_exec_rights },
    { "frame: a 2 MiB frame maps with one table less", test_large_frame },
    { "frame: get_address gives the physical address", test_get_address },
    { "frame: a RAM frame's address needs BK_RIGHT_PHYS_ADDRESS",
      test_ram_address_needs_phys_right },
    { "frame: a device frame tells its address without it", test_device_frame_tells_address },
    { "page_table: map errors; a table cap cannot be copied", test_page_table_errors },
    { "page_table: unmap takes its mappings and clears it", test_page_table_unmap_clears_it },
    { "delete: deleting a frame cap unmaps its mapping", test_deleting_frame_cap_unmaps },
    { "delete: deleting a page-table cap unmaps the table", test_deleting_page_table_cap_unmaps },
    { "revoke: revoking an untyped unmaps all made from it", test_revoke_unmaps_everything },
    { "vspace: a thread runs in an address space built from scratch",
      test_thread_in_new_vspace },
    { "vspace: deleting the last VSpace cap stops its threads",
      test_deleting_vspace_stops_threads },
    { "tcb: configure takes a VSpace; the IPC buffer is found in it",
      test_configure_takes_a_vspace },
};
const unsigned vspace_test_count = sizeof(vspace_tests) / sizeof(vspace_tests[0]);
