/*
 * Oversubscription (issue 13; servers/mem/evict.c, swap.c; docs/memory.md,
 * "Oversubscription"): the root task starts the memory server with 2 MiB,
 * the disk's driver and io-server, gives io-server's tenant 1 the whole
 * disk as its virtual disk and the memory server that tenant's cap as its
 * swap area (Mem: SwapOn). Then it spawns, from one sealed program
 * (mem_swap_tenant.c), a tenant "steady" whose guaranteed minimum covers
 * all it ever holds and three tenants "swap-N" whose quotas (4 MiB each)
 * sum far above the server's memory, each with a region of about two
 * thirds of the free memory: together they write twice what the server
 * has, at once (each thread on a third of the CPU, so their faults
 * interleave).
 *
 * Checked: bad minimums refused by name (above the quota; minimums summing
 * above the memory), a second SwapOn refused; every page of every tenant
 * read back equal to what it wrote (a hash of seed, page and word); each
 * swapping tenant had pages evicted and paged in (so the test cannot pass
 * with no eviction) and kept at least its minimum resident; "steady" lost
 * no page; a tenant killed with pages in swap frees exactly that many
 * slots, and after every kill all slots are free and the free memory is
 * what it was before the tenants, to the byte.
 *
 * The server never stops answering while a transfer waits (docs/memory.md,
 * "Waiting for the disk"): with its transfers held (Mem: SwapHold, a test
 * hook) one tenant's page-in stays in flight while the root task, as IO
 * tenant 2, opens a session paid by a grant (IO: OpenGranted, which makes
 * io-server Call the memory server's TakeGrant) and closes it again; both
 * complete, and once released the page-in does too, its data intact.
 * Meanwhile 24 threads send a tenant's requests that must wait (they bring
 * a cap): the server keeps what it has room for and refuses the rest at
 * once (busy), serving none; the administrator's request is kept all the
 * same; after the release every kept request is answered.
 * Before the server served its endpoint during transfers this deadlocked:
 * it waited for io-server, io-server for it. SetQuota below a minimum is
 * refused by name.
 *
 * A flood: swap-0 reads its pages back over and over, as fast as it can
 * (every read of a page in swap a page-in, every one making room a
 * page-out), while swap-1 and swap-2 read theirs back in rounds. Each round
 * of theirs must complete, with every page as written, and swap-0 must
 * have paged in during every round (so the flood ran throughout); then
 * swap-0 stops and reports its own pages intact.
 */
#include <protocols/io_client.h>
#include <protocols/mem_client.h>

#include "../../servers/blk/blk.h"
#include "../../servers/io/io.h"

#define W BK_WORD_BITS
#define DRIVER_PRIORITY 200
#define MEM_PRIORITY 195
#define IO_PRIORITY 190
#define TENANT_PRIORITY 10
#define MEM_POOL_SLOT 13           /* servers/mem/server.h: POOL_SLOT */
#define MEM_ASID_POOL_SLOT 40      /* servers/mem/server.h: ASID_POOL_SLOT(0) */
#define MEM_SERVER_BADGE (1ull << 61)
#define SERVER_CNODE_BITS 8
#define POOL_BITS 21               /* 2 MiB for the memory server */
#define SWAP_SECTORS 16320u        /* the 8 MiB disk but its last 32 KiB: 2,040 slots */
#define GRANTED_SECTORS 64u        /* the last 32 KiB: IO tenant 2's, the root task's */
#define GRANTED_VADDR 0x48000000ull /* where io-server maps our granted session */
#define ROOT_LOW_PRIORITY 5        /* below the tenants: we run when they wait */
#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define PAGE 4096ull
#define FILE_BASE (4 * GiB)
#define REGION_BASE 0x40000000ull  /* mem_swap_tenant.c */
#define PERIOD_NS 10000000ull
#define BUDGET_NS 3000000ull       /* a third of the CPU each: the tenants interleave */
#define SWAPPERS 3
#define HELLO 0x201
#define FILL 0x202
#define CHECK 0x203
#define FLOOD 0x204
#define STOP 0x205
#define FLOOD_ROUNDS 3

struct tenant {
    const char *name;
    uint64_t id, ctrl, pages, seed, minimum;
};

struct swap_stats {
    uint64_t evicted, paged_in, swapped, resident, minimum, slots_free, slots, out_ticks, in_ticks;
};

static int failures, passes;
static uint64_t mem_ep, io_admin, program, owner;
static struct tenant steady = { "steady", 0, 0, 16, 0x5700, 256 * KiB };
static struct tenant swappers[SWAPPERS] = { { "swap-0", 0, 0, 0, 0x5000, 32 * KiB },
                                            { "swap-1", 0, 0, 0, 0x5100, 32 * KiB },
                                            { "swap-2", 0, 0, 0, 0x5200, 32 * KiB } };

static void expect(bool ok, const char *what)
{
    failures += !ok;
    passes += ok;
    debug_printf("memswap: %s: %s\n", ok ? "ok" : "FAILED", what);
}

static uint64_t mint(uint64_t ep, uint64_t badge)
{
    uint64_t s = bk_slot_alloc();
    sys_cnode_mint(BK_CAP_ROOT_CNODE, s, W, BK_CAP_ROOT_CNODE, ep, W,
                   BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY, badge);
    return s;
}

/* A refusal with its code and the start of its text. */
static void refused(int r, const struct mem_error *e, int code, const char *start)
{
    char got[240] = "", what[300];
    mem_error_format(e, got, sizeof(got));
    bk_snprintf(what, sizeof(what), "refused: \"%s\"", r ? got : "(it worked)");
    bool same = true;
    for (size_t i = 0; start[i] && same; i++)
        same = got[i] == start[i];
    expect(r == code && same, what);
}

static uint64_t free_memory(void)
{
    uint64_t free = 0, total = 0;
    mem_memory(mem_ep, &free, &total, NULL);
    return free;
}

static struct swap_stats stats_of(uint64_t id)
{
    struct swap_stats s = { 0 };
    mem_swap_stats(mem_ep, id, &s.evicted, &s.paged_in, &s.swapped, &s.resident, &s.minimum,
                   &s.slots_free, &s.slots, &s.out_ticks, &s.in_ticks, NULL);
    return s;
}

/* ---- Starting the servers ------------------------------------------------ */

static const char *start_mem(const struct bk_bootinfo *bi)
{
    struct bk_process p;
    mem_ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    uint64_t pool = bk_alloc_object(BK_OBJ_UNTYPED, POOL_BITS);
    uint64_t asids = bk_alloc_object(BK_OBJ_UNTYPED, BK_ASID_POOL_BITS);
    if (!mem_ep || !pool || !asids ||
        bk_process_spawn(bi, "mem-server", MEM_PRIORITY, mem_ep,
                         BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE | BK_SPAWN_GIVE_SCHED_CONTROL,
                         &p) != 0 ||
        sys_cnode_move(p.cnode, MEM_POOL_SLOT, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE, pool, W) != 0 ||
        sys_asid_control_make_pool(BK_CAP_ASID_CONTROL, asids, p.cnode, MEM_ASID_POOL_SLOT,
                                   SERVER_CNODE_BITS) != 0)
        return "cannot start mem-server with 2 MiB";
    return NULL;
}

static const char *setup(const struct bk_bootinfo *bi)
{
    static struct blk_hw hw;
    static char err[BK_PROCESS_ERROR_LEN];
    uint64_t blk_ep;
    bk_alloc_init(bi);
    devmem_init(bi);
    const char *e = start_mem(bi);
    if (!e)
        e = blk_discover(bi, &hw);
    if (!e)
        e = blk_spawn(bi, &hw, DRIVER_PRIORITY, &blk_ep, err, sizeof(err));
    if (!e)
        e = io_spawn_trading(bi, IO_PRIORITY, mint(blk_ep, 1), mint(mem_ep, MEM_SERVER_BADGE | 1),
                             &io_admin, err, sizeof(err));
    return e;
}

/* io-server's tenant 1 over the whole disk, with a reservation of its own
 * (100 requests a second) and no limit that matters, its cap to the memory
 * server as the swap area; a second SwapOn refused. */
static void swap_on(void)
{
    struct io_error ie;
    struct mem_error e;
    uint32_t left;
    uint64_t slots = 0;
    expect(io_set_policy(io_admin, 1, 100, 10000000, 0, 1, 100000, &left, &ie) == 0 &&
               io_set_disk(io_admin, 1, 0, SWAP_SECTORS, &ie) == 0,
           "io-server tenant 1: a reservation and the whole disk, for the memory server");
    int r = mem_swap_on(mem_ep, mint(io_admin, 1), &slots, &e);
    debug_printf("memswap: swap on: %llu slots of 4 KiB\n", (unsigned long long)slots);
    expect(r == 0 && slots == SWAP_SECTORS / 8,
           "the memory server opened its own IO session: 8 MiB less 32 KiB of swap, 2040 slots");
    refused(mem_swap_on(mem_ep, mint(io_admin, 2), &slots, &e), &e, MEM_ERR_SWAP_FAILED,
            "no swap area: the IO session did not open (IO error 0");
}

/* ---- The program and the tenants ---------------------------------------- */

static const struct bk_boot_module *module(const struct bk_bootinfo *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->module_count; i++) {
        if (strcmp(bi->modules[i].name, name) == 0)
            return &bi->modules[i];
    }
    return NULL;
}

/* mem-swap-tenant's file into a region of account "programs" (over our
 * own space), sealed, the file's region removed. */
static bool seal(const struct bk_bootinfo *bi)
{
    struct mem_error e;
    const struct bk_boot_module *m = module(bi, "mem-swap-tenant");
    uint64_t space = bk_slot_alloc(), pages = 0, n;
    uint32_t regions;
    if (!m || sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE,
                             W, BK_RIGHTS_ALL) != 0 ||
        mem_create_account(mem_ep, "programs", 4 * MiB, space, &owner, &e) != 0)
        return false;
    uint64_t region = (m->size + PAGE - 1) & ~(PAGE - 1);
    if (mem_add_region(mem_ep, owner, FILE_BASE, region, BK_VM_READ | BK_VM_WRITE, &regions, &e) ||
        mem_populate(mem_ep, owner, FILE_BASE, region, &n, &e))
        return false;
    memcpy((void *)(uintptr_t)FILE_BASE, (const void *)(uintptr_t)m->vaddr, m->size);
    return mem_seal_program(mem_ep, owner, FILE_BASE, m->size, &program, &pages, &e) == 0 &&
           mem_remove_region(mem_ep, owner, FILE_BASE, &n, &e) == 0;
}

static bool spawn(struct tenant *t, uint64_t quota)
{
    struct mem_error e;
    struct bk_msg m = { 0 };
    t->ctrl = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    if (mem_spawn(mem_ep, t->name, quota, program, TENANT_PRIORITY, BUDGET_NS, PERIOD_NS,
                  2 /* start */, t->ctrl, &t->id, &e) != 0)
        return false;
    sys_recv(t->ctrl, &m);
    return BK_MSGINFO_LABEL(m.info) == HELLO;
}

static void order(const struct tenant *t, uint64_t what)
{
    struct bk_msg m = { .info = BK_MSGINFO(2, 0, 0, what) };
    m.mr[0] = t->seed;
    m.mr[1] = t->pages;
    sys_send(t->ctrl, &m);
}

static uint64_t answer(const struct tenant *t, uint64_t what)
{
    struct bk_msg m = { 0 };
    sys_recv(t->ctrl, &m);
    return BK_MSGINFO_LABEL(m.info) == what ? m.mr[0] : ~0ull;
}

/* Minimums: two refusals by name, then each tenant's. */
static void minimums(void)
{
    struct mem_error e;
    refused(mem_set_minimum(mem_ep, swappers[0].id, 5 * MiB, &e), &e, MEM_ERR_MINIMUM_ABOVE_QUOTA,
            "tenant swap-0: a minimum of 5 MiB is not whole pages at most its quota of 4 MiB");
    refused(mem_set_minimum(mem_ep, swappers[0].id, 4 * MiB, &e), &e,
            MEM_ERR_MINIMUMS_ABOVE_MEMORY,
            "tenant swap-0: a minimum of 4 MiB with the other accounts' 256 KiB would exceed "
            "the server's");
    bool ok = true;
    for (unsigned i = 0; i < SWAPPERS; i++)
        ok &= mem_set_minimum(mem_ep, swappers[i].id, swappers[i].minimum, &e) == 0;
    expect(ok, "each swapping tenant guaranteed 32 KiB resident");
    uint64_t used = 0;
    refused(mem_set_quota(mem_ep, steady.id, 128 * KiB, &used, &e), &e,
            MEM_ERR_QUOTA_BELOW_MINIMUM,
            "tenant steady: a quota of 128 KiB is below its guaranteed minimum of 256 KiB");
    expect(mem_set_quota(mem_ep, steady.id, 256 * KiB, &used, &e) == 0 && used < 128 * KiB,
           "a quota at the minimum accepted (steady uses less than 128 KiB yet)");
}

static bool spawn_all(void)
{
    struct mem_error e;
    bool ok = spawn(&steady, 256 * KiB) &&
              mem_set_minimum(mem_ep, steady.id, steady.minimum, &e) == 0;
    for (unsigned i = 0; i < SWAPPERS; i++)
        ok = ok && spawn(&swappers[i], 4 * MiB);
    expect(ok, "steady (quota and minimum 256 KiB) and three tenants of 4 MiB quotas spawned");
    if (!ok)
        return false;
    minimums();
    /* Each swapper's region about two thirds of the free memory: the
     * three write twice what the server has. */
    uint64_t each = free_memory() / PAGE * 2 / 3;
    uint32_t regions;
    ok = mem_add_region(mem_ep, steady.id, REGION_BASE, steady.pages * PAGE,
                        BK_VM_READ | BK_VM_WRITE, &regions, &e) == 0;
    for (unsigned i = 0; i < SWAPPERS; i++) {
        swappers[i].pages = each;
        ok &= mem_add_region(mem_ep, swappers[i].id, REGION_BASE, each * PAGE,
                             BK_VM_READ | BK_VM_WRITE, &regions, &e) == 0;
    }
    debug_printf("memswap: %llu KiB free; each swapping tenant writes %llu pages (%llu KiB), "
                 "quotas sum to %llu KiB\n",
                 (unsigned long long)(free_memory() / KiB), (unsigned long long)each,
                 (unsigned long long)(each * PAGE / KiB),
                 (unsigned long long)((SWAPPERS * 4 * MiB + 256 * KiB) / KiB));
    expect(ok && each >= 64, "regions declared: together twice the free memory");
    return ok;
}

/* FILL to all four at once, then CHECK to all four at once. */
static void run(uint64_t what, uint64_t *results)
{
    order(&steady, what);
    for (unsigned i = 0; i < SWAPPERS; i++)
        order(&swappers[i], what);
    results[SWAPPERS] = answer(&steady, what);
    for (unsigned i = 0; i < SWAPPERS; i++)
        results[i] = answer(&swappers[i], what);
}

static void pressure(void)
{
    uint64_t filled[SWAPPERS + 1], bad[SWAPPERS + 1];
    run(FILL, filled);
    run(CHECK, bad);
    bool intact = true, moved = true, kept = true;
    for (unsigned i = 0; i <= SWAPPERS; i++) {
        const struct tenant *t = i < SWAPPERS ? &swappers[i] : &steady;
        struct swap_stats s = stats_of(t->id);
        debug_printf("memswap: tenant %s: %llu pages written and read back, %llu bad, "
                     "%llu evicted, %llu paged in, %llu in swap, %llu KiB resident (minimum "
                     "%llu KiB)\n",
                     t->name, (unsigned long long)t->pages, (unsigned long long)bad[i],
                     (unsigned long long)s.evicted, (unsigned long long)s.paged_in,
                     (unsigned long long)s.swapped, (unsigned long long)(s.resident / KiB),
                     (unsigned long long)(s.minimum / KiB));
        if (s.evicted && s.paged_in)
            debug_printf("memswap: tenant %s: a page-out takes %llu ticks, a page-in %llu "
                         "(the server's counter, the disk's wait left out)\n",
                         t->name, (unsigned long long)(s.out_ticks / s.evicted),
                         (unsigned long long)(s.in_ticks / s.paged_in));
        intact &= filled[i] == 0 && bad[i] == 0;
        if (i < SWAPPERS)
            moved &= s.evicted > 0 && s.paged_in > 0 && s.resident >= s.minimum;
        else
            kept &= s.evicted == 0 && s.swapped == 0;
    }
    expect(intact, "every page of every tenant read back as written, byte for byte");
    expect(moved, "each swapping tenant had pages evicted and paged in, and kept its minimum");
    expect(kept, "steady, within its minimum, lost no page");
}

/* swap-0 floods; swap-1 and swap-2 read everything back FLOOD_ROUNDS
 * times meanwhile. */
static void flood(void)
{
    struct tenant *f = &swappers[0];
    struct swap_stats start = stats_of(f->id);
    order(f, FLOOD);
    bool intact = true, flooding = true;
    for (unsigned r = 0; r < FLOOD_ROUNDS; r++) {
        struct swap_stats a = stats_of(f->id), o1 = stats_of(swappers[1].id);
        order(&swappers[1], CHECK);
        order(&swappers[2], CHECK);
        uint64_t bad1 = answer(&swappers[1], CHECK), bad2 = answer(&swappers[2], CHECK);
        struct swap_stats z = stats_of(f->id), e1 = stats_of(swappers[1].id);
        debug_printf("memswap: flood round %u: swap-1 and swap-2 read all back (%llu and %llu "
                     "bad; swap-1 paged in %llu), swap-0 paged in %llu and out %llu meanwhile\n",
                     r, (unsigned long long)bad1, (unsigned long long)bad2,
                     (unsigned long long)(e1.paged_in - o1.paged_in),
                     (unsigned long long)(z.paged_in - a.paged_in),
                     (unsigned long long)(z.evicted - a.evicted));
        intact &= bad1 == 0 && bad2 == 0;
        flooding &= z.paged_in > a.paged_in;
    }
    struct bk_msg m = { .info = BK_MSGINFO(0, 0, 0, STOP) };
    sys_send(f->ctrl, &m);
    sys_recv(f->ctrl, &m);
    struct swap_stats end = stats_of(f->id);
    bool stopped = BK_MSGINFO_LABEL(m.info) == FLOOD;
    debug_printf("memswap: swap-0 flooded %llu passes over %llu pages: %llu paged in, %llu "
                 "bad\n",
                 (unsigned long long)m.mr[1], (unsigned long long)f->pages,
                 (unsigned long long)(end.paged_in - start.paged_in),
                 (unsigned long long)m.mr[0]);
    expect(intact, "under the flood swap-1 and swap-2 finished every round, every page intact");
    expect(flooding, "swap-0 paged in during every one of their rounds: the flood ran throughout");
    expect(stopped && m.mr[0] == 0 && m.mr[1] >= 1,
           "swap-0 stopped, every page of every pass of its flood as written");
}

/* Kills: the first swapper's slots come back exactly (then, after
 * overlap(), all). */
static void kill_first(void)
{
    struct mem_error e;
    uint64_t returned;
    struct swap_stats s0 = stats_of(swappers[0].id);
    bool ok = s0.swapped > 0 && mem_destroy_account(mem_ep, swappers[0].id, &returned, &e) == 0;
    struct swap_stats after = stats_of(steady.id);
    debug_printf("memswap: swap-0 killed with %llu pages in swap: slots free %llu -> %llu\n",
                 (unsigned long long)s0.swapped, (unsigned long long)s0.slots_free,
                 (unsigned long long)after.slots_free);
    expect(ok && after.slots_free == s0.slots_free + s0.swapped,
           "a tenant killed with pages in swap: exactly its slots free again");
}

static void kill_the_rest(uint64_t free_before)
{
    struct mem_error e;
    uint64_t returned;
    bool ok = true;
    for (unsigned i = 1; i < SWAPPERS; i++)
        ok &= mem_destroy_account(mem_ep, swappers[i].id, &returned, &e) == 0;
    ok &= mem_destroy_account(mem_ep, steady.id, &returned, &e) == 0;
    uint64_t slots_free = 0, slots = 0, x;
    mem_swap_stats(mem_ep, owner, &x, &x, &x, &x, &x, &slots_free, &slots, &x, &x, NULL);
    expect(ok && slots_free == slots && free_memory() == free_before,
           "all killed: every swap slot free, the free memory as before the tenants, exactly");
}

/* ---- A page-in in flight while io-server calls ---------------------------- */

static uint64_t in_flight(bool hold)
{
    uint64_t n = ~0ull;
    struct mem_error e;
    return mem_swap_hold(mem_ep, hold, &n, &e) == 0 ? n : ~0ull;
}

/* SwapHold on, swap-1 ordered to CHECK its pages at a priority above ours,
 * so we run again only once it waits: for a page-in, held. Returns the
 * transfers in flight then (0 if none came). */
static uint64_t hold_a_page_in(void)
{
    uint64_t priority = 0, mcp = 0, n = in_flight(true);
    sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_LOW_PRIORITY);
    order(&swappers[1], CHECK);
    /* It runs whenever it can; we only when it waits or its budget is out. */
    for (unsigned i = 0; i < 100000 && n == 0; i++)
        n = in_flight(true);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, priority);
    return n;
}

/* ---- Requests that must wait, more than the server keeps ----------------- */

#define FLOODERS 24
#define FLOOD_STACK 8192
#define BUSY_TEXT "the memory server is waiting for its swap transfers with "

/* A thread calling once: a tenant's request that brings a cap (CreateAccount
 * on account programs' cap: it waits for the transfers, then is refused
 * not_admin), or the administrator's DestroyAccount of no account (waits,
 * then unknown_tenant). */
static struct caller {
    uint64_t tcb, cap, arg;
    volatile int code;
    volatile bool done;
    struct mem_error err;
} callers[FLOODERS + 1];
static uint8_t caller_stacks[FLOODERS + 1][FLOOD_STACK] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(PAGE))) caller_buffers[FLOODERS + 1];

static uint64_t parked;

static void call_once(uint64_t i)
{
    struct caller *c = &callers[i];
    uint64_t id = 0, returned = 0;
    if (i < FLOODERS)
        c->code = mem_create_account(c->cap, "flood", 64 * KiB, c->arg, &id, &c->err);
    else
        c->code = mem_destroy_account(c->cap, c->arg, &returned, &c->err);
    c->done = true;
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(parked, &m); /* a notification nobody signals */
    }
}

/* Starts caller i at `priority` (above ours) on a whole CPU: it runs at
 * once, until the server answers or keeps its request. */
static bool start_caller(unsigned i, uint64_t cap, uint64_t arg, uint64_t priority)
{
    struct caller *c = &callers[i];
    long err = 0;
    c->cap = cap;
    c->arg = arg;
    c->tcb = bk_alloc_object(BK_OBJ_TCB, 0);
    return c->tcb &&
           bk_thread_start(c->tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, call_once, i,
                           caller_stacks[i], FLOOD_STACK,
                           (uint64_t)(uintptr_t)&caller_buffers[i], priority) == 0 &&
           bk_sched_whole_cpu(c->tcb, &err) && err == 0;
}

/* While swap-1's page-in is held: FLOODERS of a tenant's requests that
 * must wait; the server keeps some (their callers wait) and refuses the
 * rest at once, busy, never serving one that could free a page in flight;
 * then the administrator's DestroyAccount is kept all the same (a
 * tenant's requests leave it room). Returns how many the server kept. */
static unsigned flood_waiting(void)
{
    uint64_t priority = 0, mcp = 0, tenant = mint(mem_ep, owner);
    parked = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    /* The callers at our priority, we below them meanwhile: each runs as
     * soon as it is started. */
    sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_LOW_PRIORITY);
    bool started = parked != 0;
    for (unsigned i = 0; i < FLOODERS && started; i++)
        started = start_caller(i, tenant, parked, priority);
    started = started && start_caller(FLOODERS, mem_ep, 999999, priority);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, priority);
    unsigned busy = 0, kept = 0;
    bool texts = true;
    for (unsigned i = 0; i < FLOODERS; i++) {
        if (!callers[i].done) {
            kept++;
            continue;
        }
        char got[240] = "";
        mem_error_format(&callers[i].err, got, sizeof(got));
        texts &= callers[i].code == MEM_ERR_BUSY &&
                 memcmp(got, BUSY_TEXT, sizeof(BUSY_TEXT) - 1) == 0;
        busy += callers[i].code == MEM_ERR_BUSY;
        if (busy == 1)
            debug_printf("memswap:   refused at once: \"%s\"\n", got);
    }
    debug_printf("memswap: %u requests that must wait: %u kept, %u refused busy at once\n",
                 FLOODERS, kept, busy);
    expect(started && kept >= 1 && busy >= 1 && busy + kept == FLOODERS && texts,
           "a flood of a tenant's requests that must wait: some kept, the rest refused busy "
           "at once, none served");
    expect(!callers[FLOODERS].done,
           "the administrator's DestroyAccount kept too (room left for it), not refused");
    return kept;
}

/* After the release: every kept request answered as if it came then. */
static void flood_answered(unsigned kept)
{
    unsigned answered = 0;
    for (unsigned i = 0; i < FLOODERS; i++)
        answered += callers[i].done && callers[i].code == MEM_ERR_NOT_ADMIN;
    struct caller *admin = &callers[FLOODERS];
    debug_printf("memswap: after the release: %u of %u kept answered not_admin; first code %d "
                 "(done %d); the administrator's %d (done %d)\n",
                 answered, kept, callers[0].code, (int)callers[0].done, admin->code,
                 (int)admin->done);
    expect(answered == kept && admin->done && admin->code == MEM_ERR_UNKNOWN_TENANT,
           "released: every kept request answered (tenant: not_admin; administrator: "
           "unknown_tenant)");
}

/* IO tenant 2 (the root task, paid by account "programs"): a granted
 * session opened and closed while swap-1's page-in is held. The grant
 * (64 KiB in whole units) is made before the pressure fragments them. */
static void overlap(uint64_t grant)
{
    struct io_error ie;
    uint32_t left, tenant = 0, buffers = 0, memory = 0, cancelled = 0, in_device = 0;
    uint64_t disk = 0, ntfn = bk_slot_alloc();
    bool ok = io_set_policy(io_admin, 2, 0, 10000, 0, 1, 100000, &left, &ie) == 0 &&
              io_set_disk(io_admin, 2, SWAP_SECTORS, GRANTED_SECTORS, &ie) == 0;
    expect(ok && grant != 0, "IO tenant 2 (us, account programs): 32 KiB of disk, a grant");
    struct swap_stats before = stats_of(swappers[1].id);
    uint64_t held = hold_a_page_in();
    debug_printf("memswap: swap-1 waits for a page-in: %llu transfers held in flight\n",
                 (unsigned long long)held);
    expect(before.swapped > 0 && held >= 1 && held != ~0ull,
           "swap-1 faulted on a page in swap: its page-in held in flight, the server answers");
    unsigned kept = flood_waiting();
    int r = io_open_granted(mint(io_admin, 2), BK_CAP_ROOT_VSPACE, GRANTED_VADDR, grant, &tenant,
                            &disk, &buffers, &memory, ntfn, &ie);
    if (r)
        debug_printf("memswap: IO: OpenGranted refused: error %d\n", r);
    expect(r == 0 && memory == 64 * KiB && in_flight(true) == held,
           "meanwhile IO tenant 2 opened its granted session (io-server's TakeGrant served), "
           "the page-in still held");
    r = io_close_tenant(io_admin, 2, &cancelled, &in_device, &ie);
    expect(r == 0 && in_flight(true) == held,
           "and closed it (its grant ended), the page-in still held");
    uint64_t left_after = in_flight(false);
    uint64_t bad = answer(&swappers[1], CHECK);
    struct swap_stats after = stats_of(swappers[1].id);
    debug_printf("memswap: released (%llu in flight then): swap-1 read back %llu pages, %llu bad, "
                 "%llu paged in meanwhile\n",
                 (unsigned long long)left_after, (unsigned long long)swappers[1].pages,
                 (unsigned long long)bad, (unsigned long long)(after.paged_in - before.paged_in));
    expect(bad == 0 && after.paged_in > before.paged_in,
           "released: swap-1's page-ins completed, every page read back as written");
    flood_answered(kept);
}

int main(const struct bk_bootinfo *bi)
{
    const char *err = setup(bi);
    if (err) {
        debug_printf("memswap: FAILED: %s\n", err);
        return 1;
    }
    swap_on();
    expect(seal(bi), "mem-swap-tenant sealed into a program");
    uint64_t free_before = free_memory(), grant = 0;
    struct mem_error e;
    int g = mem_grant(mint(mem_ep, owner), 0, 1, 2, &grant, &e);
    if (g) {
        char why[240] = "";
        mem_error_format(&e, why, sizeof(why));
        debug_printf("memswap: Grant refused: %s\n", why);
    }
    expect(g == 0, "account programs granted 64 KiB toward io-server's tenant 2 (us)");
    uint64_t n = 0;
    refused(mem_swap_hold(mint(mem_ep, owner), 1, &n, &e), &e, MEM_ERR_NOT_ADMIN,
            "the caller (badge ");
    if (spawn_all()) {
        pressure();
        flood();
        kill_first();
        overlap(grant);
        kill_the_rest(free_before);
    }
    debug_printf("memswap: %d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
