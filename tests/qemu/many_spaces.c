/*
 * More address spaces than the old kernel table held (4,095), all live at
 * once, each of which runs a thread (issue 13's kernel part): ASIDs come
 * from pools made of untyped memory (ASIDControl: MakePool, 510 entries a
 * page), so what bounds the number of spaces is memory.
 *
 * The root task makes SPACES VSpaces in a CNode of its own (its root CNode
 * holds 4,096 slots), from the largest untyped it has, and for each one in
 * turn: gives it an ASID from the pool it made last (a new pool, from a page
 * of the same untyped, when that one is full), maps page tables and a copy
 * of a frame holding a few instructions (Send to the notification in the
 * first argument register, then spin), runs a thread there until it
 * signals, and takes the tables and the frame back out for the next one.
 * The spaces stay, each with its ASID. Then threads run again in a few
 * of the earliest and latest, with all of them live. If memory runs out
 * first (a smaller machine), Retype says NOT_ENOUGH_MEMORY and nothing
 * else: the test then shows the bound is memory, and fails only if it
 * could not pass 4,095 with the memory it had.
 */
#include <bulkhead/sys.h>

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define SPACES 12000
#define SPACES_RADIX 14 /* 16,384 slots */
#define CODE_VA 0x200000ull
#define OLD_TABLE 4095
#define THREAD_PRIORITY 100
#define BADGE 0x5a
#define MAX_POOLS 32

#if defined(__x86_64__)
#define TABLE_LEVELS 3
/* mov $BK_SYS_SEND (9), %eax; syscall; jmp . (the cap is in rdi already) */
static const uint8_t program[] = { 0xb8, 0x09, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xfe };
#else
#define TABLE_LEVELS 2
/* li a7, 9 (BK_SYS_SEND); ecall; j . (the cap is in a0 already) */
static const uint32_t program[] = { 0x00900893, 0x00000073, 0x0000006f };
#endif

static int failures;

static void expect(int ok, const char *what)
{
    debug_printf("manyspaces: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

/* What the test runs with: slots of the root CNode, and the spaces'
 * CNode (its cap in `spaces`). */
struct run {
    uint64_t untyped;      /* the largest RAM untyped: everything comes from it */
    uint64_t spaces;       /* CNode of 2^SPACES_RADIX slots: space i in slot i */
    uint64_t vs;           /* where a space is moved to be worked on */
    uint64_t tables;       /* TABLE_LEVELS page tables */
    uint64_t frame;        /* the program; and a copy that maps it in each space */
    uint64_t tcb, ntfn, badged;
    uint64_t pools[MAX_POOLS];
    unsigned pool_count;
    long stop;             /* what ended the making of spaces (0: SPACES made) */
};

static uint64_t largest_untyped(const struct bk_bootinfo *bi, unsigned *bits)
{
    uint64_t best = 0;
    *bits = 0;
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        if (!bi->untyped[i].is_device && bi->untyped[i].size_bits > *bits) {
            *bits = bi->untyped[i].size_bits;
            best = bi->untyped[i].slot;
        }
    }
    return best;
}

static long retype(struct run *r, uint64_t type, uint64_t size, uint64_t slot)
{
    return sys_untyped_retype(r->untyped, type, size, ROOT, 0, 0, slot, 1);
}

/* The objects every space's turn reuses. */
static long set_up(struct run *r)
{
    r->spaces = bk_slots_alloc_range(8);
    r->vs = r->spaces + 1;
    r->tables = r->spaces + 2;
    r->frame = r->tables + TABLE_LEVELS;
    r->tcb = r->frame + 2;
    r->ntfn = bk_slots_alloc_range(2);
    r->badged = r->ntfn + 1;
    long e = sys_untyped_retype(r->untyped, BK_OBJ_CNODE, SPACES_RADIX, ROOT, 0, 0, r->spaces, 1);
    for (unsigned i = 0; e == 0 && i < TABLE_LEVELS; i++)
        e = retype(r, BK_OBJ_PAGE_TABLE, 0, r->tables + i);
    if (e == 0)
        e = retype(r, BK_OBJ_FRAME, BK_PAGE_BITS, r->frame);
    if (e == 0)
        e = bk_copy_to_frame(r->frame, 0, program, sizeof(program));
    if (e == 0)
        e = sys_cnode_copy(ROOT, r->frame + 1, W, ROOT, r->frame, W, BK_RIGHT_READ);
    if (e == 0)
        e = retype(r, BK_OBJ_TCB, 0, r->tcb);
    if (e == 0)
        bk_sched_whole_cpu(r->tcb, &e);
    if (e == 0)
        e = sys_tcb_set_priority(r->tcb, BK_CAP_ROOT_TCB, THREAD_PRIORITY);
    if (e == 0)
        e = retype(r, BK_OBJ_NOTIFICATION, 0, r->ntfn);
    if (e == 0)
        e = sys_cnode_mint(ROOT, r->badged, W, ROOT, r->ntfn, W, BK_RIGHT_WRITE, BADGE);
    return e;
}

/* A new pool from a page of the untyped (ASIDControl: MakePool). */
static long new_pool(struct run *r)
{
    if (r->pool_count == MAX_POOLS)
        return -BK_ERR_RANGE;
    uint64_t page = bk_slots_alloc_range(2);
    long e = page ? retype(r, BK_OBJ_UNTYPED, BK_ASID_POOL_BITS, page) : -BK_ERR_RANGE;
    if (e == 0)
        e = sys_asid_control_make_pool(BK_CAP_ASID_CONTROL, page, ROOT, page + 1, W);
    if (e == 0)
        r->pools[r->pool_count++] = page + 1;
    return e;
}

/* The space in r->vs gets an ASID from the last pool, or a new one. */
static long give_asid(struct run *r)
{
    long e = r->pool_count ? sys_asid_pool_assign(r->pools[r->pool_count - 1], r->vs)
                           : -BK_ERR_DELETE_FIRST;
    if (e != -BK_ERR_DELETE_FIRST)
        return e;
    e = new_pool(r);
    return e ? e : sys_asid_pool_assign(r->pools[r->pool_count - 1], r->vs);
}

/* A thread runs in the space in r->vs until it signals; the tables and
 * the frame come out again afterwards. */
static long run_in(struct run *r)
{
    long e = 0;
    for (unsigned i = 0; e == 0 && i < TABLE_LEVELS; i++)
        e = sys_page_table_map(r->tables + i, r->vs, CODE_VA);
    if (e == 0)
        e = sys_frame_map(r->frame + 1, r->vs, CODE_VA, BK_VM_READ | BK_VM_EXEC, 0);
    if (e == 0)
        e = sys_tcb_configure(r->tcb, ROOT, 0, r->vs, 0);
    if (e == 0)
        e = sys_tcb_write_registers(r->tcb, 1, CODE_VA, 0, r->badged);
    if (e == 0) {
        struct bk_msg m = { 0 };
        sys_recv(r->ntfn, &m); /* the thread runs now, below us */
        e = m.badge == BADGE ? 0 : -BK_ERR_INVALID_ARGUMENT;
        long s = sys_tcb_suspend(r->tcb);
        e = e ? e : s;
    }
    sys_frame_unmap(r->frame + 1);
    for (unsigned i = 0; i < TABLE_LEVELS; i++)
        sys_page_table_unmap(r->tables + i);
    return e;
}

static long take_out(struct run *r, uint64_t i)
{
    return sys_cnode_move(ROOT, r->vs, W, r->spaces, i, SPACES_RADIX);
}

static long put_back(struct run *r, uint64_t i)
{
    return sys_cnode_move(r->spaces, i, SPACES_RADIX, ROOT, r->vs, W);
}

/* Space i: its ASID, its thread's run; back into the spaces' CNode. */
static long one_space(struct run *r, uint64_t i)
{
    long e = take_out(r, i);
    if (e == 0)
        e = give_asid(r);
    if (e == 0)
        e = run_in(r);
    long b = put_back(r, i);
    return e ? e : b;
}

/* Makes the spaces, 256 at a time (one Retype); returns how many. */
static uint64_t make_spaces(struct run *r)
{
    uint64_t made = 0;
    while (made < SPACES) {
        uint64_t n = SPACES - made < 256 ? SPACES - made : 256;
        r->stop = sys_untyped_retype(r->untyped, BK_OBJ_VSPACE, 0, ROOT, r->spaces, W, made, n);
        if (r->stop)
            return made;
        for (uint64_t i = made; i < made + n; i++) {
            long e = one_space(r, i);
            if (e) {
                debug_printf("manyspaces: space %llu: %s\n", (unsigned long long)i,
                             bk_error_name(e));
                r->stop = e;
                return i;
            }
        }
        made += n;
    }
    return made;
}

/* With every space live, threads run again in a few of them. */
static int run_again(struct run *r, uint64_t made)
{
    const uint64_t which[] = { 0, 1, made / 2, made - 2, made - 1 };
    for (unsigned k = 0; k < sizeof(which) / sizeof(which[0]); k++) {
        long e = take_out(r, which[k]);
        if (e == 0)
            e = sys_asid_pool_assign(r->pools[0], r->vs) == -BK_ERR_ILLEGAL_OPERATION
                    ? 0
                    : -BK_ERR_INVALID_ARGUMENT; /* it has its ASID still */
        if (e == 0)
            e = run_in(r);
        long b = put_back(r, which[k]);
        if (e || b)
            return 0;
    }
    return 1;
}

int main(const struct bk_bootinfo *bi)
{
    bk_alloc_init(bi);
    struct run r = { 0 };
    unsigned bits;
    r.untyped = largest_untyped(bi, &bits);
    debug_printf("manyspaces: %s; largest untyped 2^%u bytes\n", bi->arch, bits);
    long e = set_up(&r);
    expect(e == 0, "set up: a CNode for the spaces, tables, the program, a thread");
    if (e)
        return 1;
    uint64_t made = make_spaces(&r);
    debug_printf("manyspaces: %llu address spaces live at once, each ran a thread, with "
                 "%u ASID pools (pages of untyped memory)\n",
                 (unsigned long long)made, r.pool_count);
    expect(r.stop == 0 || r.stop == -BK_ERR_NOT_ENOUGH_MEMORY,
           "only memory stopped the making of spaces, never an ASID");
    expect(made > OLD_TABLE, "more address spaces than the 4,095 of the old kernel table");
    expect(r.pool_count == (made + BK_ASID_POOL_ENTRIES - 1) / BK_ASID_POOL_ENTRIES,
           "a pool of 510 entries per 510 spaces");
    expect(made > 2 && run_again(&r, made),
           "threads run again in the first, middle and last spaces, all still live");
    debug_printf(failures ? "manyspaces: %d checks FAILED\n" : "manyspaces: all checks passed\n",
                 failures);
    return failures != 0;
}
