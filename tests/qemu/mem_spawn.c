/*
 * Tenants spawned by the memory server (servers/mem, issue 13): the root
 * task spawns mem-server with 16 MiB, SchedControl and an ASID pool, is
 * its administrator, seals the program mem-spawn-tenant from its ELF file
 * (tests/qemu/mem_spawn_tenant.c) and has the server spawn tenants of it,
 * each talking to us over an endpoint of its own. It checks:
 *
 *  - bad programs: garbage, a file for another machine, a file larger than
 *    its region, a tenant asking, an unknown region: each refused with its
 *    text, and the server serves the next request;
 *  - three tenants run from one program: each reads the program's data,
 *    its kernel objects are charged by kind (VSpace 8 KiB, TCB and
 *    SchedContext a page each) and every tenant's usage is the same;
 *  - a write is seen by its writer alone: the data page copied into the
 *    writer's account (shared - 1, private + 1), the others and a tenant
 *    that never wrote still read the program's data;
 *  - a spawn over its quota fails with the quota error naming the tenant
 *    and the numbers, and takes nothing; bad requests (unknown program, bad
 *    flags, priority above the server's, a budget SchedControl refuses, a
 *    tenant spawning, Start of an account with no thread, forged and closed
 *    ids) are refused with their text while the tenants keep answering;
 *  - a tenant spawned without a SchedContext (for a scheduler server):
 *    start with it and a budget refused; none charged; Cpu refused; its
 *    thread's cap handed to us (Thread), we bind a SchedContext of our own
 *    and Start it: it says hello; killed, its usage back and our copy of
 *    its thread's cap gone with it;
 *  - Stop and Start; a tenant killed while running (ready, spinning) and
 *    one killed stopped in a refused fault return exactly their usage;
 *  - twenty tenants more, spawned and killed; the program's owner cannot
 *    close while tenants map it; then every byte is back: the server's
 *    free memory and its bookkeeping are what they were, exactly.
 */
#include <bulkhead/sys.h>
#include <protocols/mem_client.h>

#define W BK_WORD_BITS
#define SERVER_PRIORITY 200
#define TENANT_PRIORITY 10
#define MEM_POOL_SLOT 13           /* servers/mem/server.h: POOL_SLOT */
#define MEM_ASID_POOL_SLOT 40      /* servers/mem/server.h: ASID_POOL_SLOT(0) */
#define SERVER_CNODE_BITS 8
#define SPAWN_DEBUG 1
#define SPAWN_START 2
#define SPAWN_NO_SCHED 4
#define KiB 1024ull
#define GiB (1024 * 1024 * KiB)
#define PAGE 4096ull
#define FILE_BASE (4 * GiB)        /* the ELF file, in our own space */
#define JUNK_BASE (5 * GiB)        /* a region of garbage */
#define PERIOD_NS 10000000ull      /* a whole CPU: budget = period */
#define QUOTA (256 * KiB)
#define TENANTS 3
#define MORE 20
#define DATA_FIRST 0x5eed0000ull   /* mem_spawn_tenant.c */
#define HELLO 0x101
#define WRITE 0x102
#define READ 0x103
#define SPIN 0x104
#define STRAY 0x105
#define USAGE 0x106
#define MAKE 0x107

struct tenant {
    uint64_t id, ctrl;
};

struct usage {
    uint64_t quota, used, frames, tables, cnodes, faults, refused, shared, private_pages;
    uint64_t vspaces, tcbs, sched_contexts, ipc;
};

static int failures;
static uint64_t ep, supervisor, owner, program;
static struct tenant tenants[TENANTS];

static void expect(int ok, const char *what)
{
    debug_printf("memspawn: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

static bool text_is(const struct mem_error *e, const char *expected)
{
    char buf[240];
    mem_error_format(e, buf, sizeof(buf));
    debug_printf("memspawn:   '%s'\n", buf);
    return expected == NULL || strcmp(buf, expected) == 0;
}

static uint64_t badged(uint64_t badge)
{
    uint64_t slot = bk_slot_alloc();
    if (slot && sys_cnode_mint(BK_CAP_ROOT_CNODE, slot, W, BK_CAP_ROOT_CNODE, ep, W,
                               BK_RIGHT_WRITE | BK_RIGHT_GRANT, badge) != 0)
        return 0;
    return slot;
}

static struct usage usage_of(uint64_t id)
{
    struct usage u = { 0 };
    mem_usage(ep, id, &u.quota, &u.used, &u.frames, &u.tables, &u.cnodes, &u.faults, &u.refused,
              &u.shared, &u.private_pages, &u.vspaces, &u.tcbs, &u.sched_contexts, &u.ipc, NULL);
    debug_printf("memspawn:   account %llu: used %llu = frames %llu + tables %llu + cnodes %llu "
                 "+ vspaces %llu + tcbs %llu + sched contexts %llu; shared %llu, private %llu\n",
                 (unsigned long long)id, (unsigned long long)u.used, (unsigned long long)u.frames,
                 (unsigned long long)u.tables, (unsigned long long)u.cnodes,
                 (unsigned long long)u.vspaces, (unsigned long long)u.tcbs,
                 (unsigned long long)u.sched_contexts, (unsigned long long)u.shared,
                 (unsigned long long)u.private_pages);
    return u;
}

/* Every byte charged is in one of the kinds, and frames are private pages. */
static bool sums_up(const struct usage *u)
{
    return u->used == u->frames + u->tables + u->cnodes + u->vspaces + u->tcbs +
                          u->sched_contexts &&
           u->frames == u->private_pages * PAGE;
}

static uint64_t free_memory(void)
{
    uint64_t free = 0, total = 0;
    mem_memory(ep, &free, &total, NULL);
    return free;
}

static uint64_t bookkeeping(void)
{
    uint64_t reserved = 0, used = 0, accounts = 0, max = 0;
    mem_overhead(ep, &reserved, &used, &accounts, &max, NULL);
    return used;
}

/* An order to tenant `t`; with `answer`, its answer's words (label back). */
static bool order(const struct tenant *t, uint64_t what, uint64_t arg, bool answer,
                  struct bk_msg *reply)
{
    struct bk_msg m = { .info = BK_MSGINFO(1, 0, 0, what) };
    m.mr[0] = arg;
    sys_send(t->ctrl, &m);
    if (!answer)
        return true;
    sys_recv(t->ctrl, reply);
    return BK_MSGINFO_LABEL(reply->info) == what;
}

static bool reads(const struct tenant *t, uint64_t first, uint64_t last)
{
    struct bk_msg m = { 0 };
    return order(t, READ, 0, true, &m) && m.mr[0] == first && m.mr[1] == last;
}

/* ---- The program --------------------------------------------------------- */

static const struct bk_boot_module *module(const struct bk_bootinfo *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->module_count; i++) {
        if (strcmp(bi->modules[i].name, name) == 0)
            return &bi->modules[i];
    }
    return NULL;
}

/* `size` bytes of `bytes` into a new region of `owner` at `base`. */
static bool region_with(uint64_t base, uint64_t region_size, const void *bytes, uint64_t size)
{
    struct mem_error e;
    uint32_t regions;
    uint64_t n;
    if (mem_add_region(ep, owner, base, region_size, BK_VM_READ | BK_VM_WRITE, &regions, &e) ||
        mem_populate(ep, owner, base, region_size, &n, &e))
        return false;
    memcpy((void *)(uintptr_t)base, bytes, size);
    return true;
}

static void bad_programs(const struct bk_boot_module *m)
{
    struct mem_error e;
    uint64_t id, pages, n;
    static uint8_t junk[2 * PAGE];
    memset(junk, 0x5a, sizeof(junk));
    bool ok = region_with(JUNK_BASE, 2 * PAGE, junk, sizeof(junk));
    int r = mem_seal_program(ep, owner, JUNK_BASE, sizeof(junk), &id, &pages, &e);
    expect(ok && r == MEM_ERR_BAD_ELF && text_is(&e, NULL) && e.bad_elf.reason[0],
           "garbage is not a program: the parser's reason");
    /* The program for the other machine: e_machine (offset 18) changed. */
    memcpy((void *)(uintptr_t)JUNK_BASE, (const void *)(uintptr_t)m->vaddr, 2 * PAGE);
    ((volatile uint8_t *)(uintptr_t)JUNK_BASE)[18] ^= 0x55;
    r = mem_seal_program(ep, owner, JUNK_BASE, m->size, &id, &pages, &e);
    expect(r == MEM_ERR_BAD_ELF && text_is(&e, NULL),
           "a file larger than its region refused, with the numbers");
    r = mem_seal_program(ep, owner, JUNK_BASE, 2 * PAGE, &id, &pages, &e);
    expect(r == MEM_ERR_BAD_ELF && text_is(&e, NULL), "a file for another machine refused");
    r = mem_seal_program(badged(owner), owner, FILE_BASE, m->size, &id, &pages, &e);
    expect(r == MEM_ERR_NOT_ADMIN, "a tenant cannot seal a program");
    r = mem_seal_program(ep, owner, 7 * GiB, m->size, &id, &pages, &e);
    expect(r == MEM_ERR_UNKNOWN_REGION, "no program from a region that is not there");
    expect(mem_remove_region(ep, owner, JUNK_BASE, &n, &e) == 0 && n == 2,
           "the garbage's region removed, its 2 frames back");
}

/* Account "programs" over our own space; mem-spawn-tenant's file copied
 * into a region of it and sealed; the refusals on the way. */
static void seal(const struct bk_bootinfo *bi)
{
    struct mem_error e;
    const struct bk_boot_module *m = module(bi, "mem-spawn-tenant");
    uint64_t space = bk_slot_alloc(), pages = 0, n;
    bool ok = m && sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE,
                                  BK_CAP_ROOT_VSPACE, W, BK_RIGHTS_ALL) == 0 &&
              mem_create_account(ep, "programs", 4096 * KiB, space, &owner, &e) == 0;
    uint64_t region = m ? (m->size + PAGE - 1) & ~(PAGE - 1) : 0;
    ok = ok && region_with(FILE_BASE, region, (const void *)(uintptr_t)m->vaddr, m->size);
    expect(ok, "the program's file copied into a region of account programs");
    if (!ok)
        return;
    bad_programs(m);
    int r = mem_seal_program(ep, owner, FILE_BASE, m->size, &program, &pages, &e);
    debug_printf("memspawn: program %llu: %llu pages\n", (unsigned long long)program,
                 (unsigned long long)pages);
    expect(r == 0 && pages >= 3, "mem-spawn-tenant sealed: a program of its segments' images");
    expect(mem_remove_region(ep, owner, FILE_BASE, &n, &e) == 0 && n == region / PAGE,
           "the file's region removed, its frames back");
}

/* ---- Tenants ------------------------------------------------------------- */

static int spawn(const char *name, uint64_t quota, uint64_t prog, uint32_t priority,
                 uint64_t budget, uint32_t flags, struct tenant *t, struct mem_error *e)
{
    t->ctrl = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    return mem_spawn(ep, name, quota, prog, priority, budget, PERIOD_NS, flags, t->ctrl, &t->id,
                     e);
}

static bool hello(const struct tenant *t)
{
    struct bk_msg m = { 0 };
    sys_recv(t->ctrl, &m);
    return BK_MSGINFO_LABEL(m.info) == HELLO && m.mr[0] == DATA_FIRST &&
           m.mr[1] == DATA_FIRST + 1;
}

static void spawn_three(void)
{
    struct mem_error e;
    char name[] = "web-0";
    bool ok = true;
    for (unsigned i = 0; i < TENANTS; i++) {
        name[4] = (char)('0' + i);
        int r = spawn(name, QUOTA, program, TENANT_PRIORITY, PERIOD_NS,
                      SPAWN_DEBUG | SPAWN_START, &tenants[i], &e);
        ok &= (r == 0 || !text_is(&e, NULL)) && hello(&tenants[i]);
    }
    expect(ok, "three tenants spawned from one program said hello with the program's data");
    if (!ok) {
        debug_printf("memspawn: all checks FAILED: no tenant to go on with\n");
        sys_thread_exit(1);
    }
    struct usage u0 = usage_of(tenants[0].id), u1 = usage_of(tenants[1].id);
    struct usage u2 = usage_of(tenants[2].id);
    expect(u0.vspaces == 8 * KiB && u0.tcbs == PAGE && u0.sched_contexts == PAGE &&
               u0.cnodes >= 3 * PAGE && u0.shared >= 2 && u0.private_pages >= 2 && sums_up(&u0),
           "charged by kind: VSpace 8 KiB, TCB and SchedContext a page each, CNodes, "
           "shared and private pages");
    expect(u1.used == u0.used && u2.used == u0.used && u1.shared == u0.shared &&
               u2.private_pages == u0.private_pages && u1.tables == u0.tables,
           "every tenant of the program is charged the same, to the byte");
    struct bk_msg m = { 0 };
    bool asked = order(&tenants[0], USAGE, 0, true, &m);
    u0 = usage_of(tenants[0].id);
    expect(asked && m.mr[0] == 0 && m.mr[1] == u0.used && m.mr[2] == u0.shared,
           "a tenant reads its own usage through its cap");
    asked = order(&tenants[0], MAKE, 0, true, &m);
    struct usage made = usage_of(tenants[0].id);
    uint64_t returned = 0;
    expect(asked && m.mr[0] == 0 && m.mr[1] == 0 && made.used == u0.used + PAGE &&
               made.cnodes == u0.cnodes + PAGE,
           "a spawned tenant makes a CNode through its cap, gets it and uses it, a page charged");
    expect(mem_unmake(ep, tenants[0].id, m.mr[2], &returned, &e) == 0 && returned == PAGE &&
               usage_of(tenants[0].id).used == u0.used,
           "unmade by the administrator, its page back");
}

static void isolation(void)
{
    const struct tenant *t0 = &tenants[0], *t1 = &tenants[1], *t2 = &tenants[2];
    struct bk_msg m = { 0 };
    /* Each reads first: the code of its READ is mapped before we count. */
    bool warm = reads(t0, DATA_FIRST, DATA_FIRST + 1) && reads(t1, DATA_FIRST, DATA_FIRST + 1) &&
                reads(t2, DATA_FIRST, DATA_FIRST + 1);
    struct usage before = usage_of(t0->id), other = usage_of(t2->id);
    bool ok = warm && order(t0, WRITE, 0xaaaa, true, &m) && order(t1, WRITE, 0xbbbb, true, &m);
    expect(ok && reads(t0, 0xaaaa, 0xaaaa) && reads(t1, 0xbbbb, 0xbbbb),
           "web-0 and web-1 wrote their data pages, each reads its own");
    expect(reads(t2, DATA_FIRST, DATA_FIRST + 1), "web-2 still reads the program's data");
    struct usage after = usage_of(t0->id), still = usage_of(t2->id);
    expect(after.shared == before.shared - 1 && after.private_pages == before.private_pages + 1 &&
               after.used == before.used + PAGE && sums_up(&after),
           "the write copied one page: shared - 1, private + 1, 4 KiB more");
    expect(still.used == other.used && still.shared == other.shared,
           "web-2's usage did not move");
}

static void bad_requests(void)
{
    struct mem_error e;
    struct tenant t;
    uint64_t free_before = free_memory(), id;
    int r = spawn("web-3", 16 * KiB, program, TENANT_PRIORITY, PERIOD_NS, 0, &t, &e);
    expect(r == MEM_ERR_QUOTA &&
               text_is(&e, "tenant web-3: memory quota 16 KiB exhausted (asked 24 KiB, 12 KiB "
                           "left)") &&
               free_memory() == free_before,
           "a spawn over its quota refused with the numbers, nothing kept");
    r = spawn("web-4", 32 * KiB, program, TENANT_PRIORITY, PERIOD_NS, 0, &t, &e);
    expect(r == MEM_ERR_QUOTA && text_is(&e, NULL) && free_memory() == free_before,
           "a quota that pays for the kernel objects but not the IPC buffer: refused");
    r = spawn("web-9", QUOTA, 99, TENANT_PRIORITY, PERIOD_NS, 0, &t, &e);
    expect(r == MEM_ERR_UNKNOWN_PROGRAM && text_is(&e, "tenant web-9: no program 99"),
           "an unknown program refused");
    r = spawn("web-9", QUOTA, program, TENANT_PRIORITY, PERIOD_NS, 8, &t, &e);
    expect(r == MEM_ERR_BAD_FLAGS && text_is(&e, "tenant web-9: flags 0x8 refused (1 debug, 2 "
                                                 "start, 4 no SchedContext; not 2 with 4)"),
           "unknown flags refused");
    r = spawn("web-9", QUOTA, program, 250, PERIOD_NS, 0, &t, &e);
    expect(r == MEM_ERR_BAD_PRIORITY && text_is(&e, "tenant web-9: priority 250 refused (at "
                                                    "most the memory server's own)") &&
               free_memory() == free_before,
           "a priority above the server's refused, nothing kept");
    r = spawn("web-9", QUOTA, program, TENANT_PRIORITY, 0, 0, &t, &e);
    expect(r == MEM_ERR_BAD_BUDGET && text_is(&e, "tenant web-9: budget 0 ns every 10000000 ns "
                                                  "refused"),
           "a budget SchedControl refuses refused");
    r = spawn("web-0", QUOTA, program, TENANT_PRIORITY, PERIOD_NS, 0, &t, &e);
    expect(r == MEM_ERR_NAME_TAKEN, "a name taken refused");
    r = mem_spawn(badged(tenants[0].id), "web-9", QUOTA, program, TENANT_PRIORITY, PERIOD_NS,
                  PERIOD_NS, 0, tenants[0].ctrl, &id, &e);
    expect(r == MEM_ERR_NOT_ADMIN, "a tenant cannot spawn");
    r = mem_start(ep, owner, &e);
    expect(r == MEM_ERR_NOT_SPAWNED && text_is(&e, "tenant programs: has no thread spawned by "
                                                   "the memory server"),
           "Start of an account with no thread refused");
    r = mem_stop(ep, 999, &e);
    expect(r == MEM_ERR_UNKNOWN_TENANT && text_is(&e, "no account 999"), "a forged id refused");
    r = mem_stop(badged(tenants[1].id), tenants[1].id, &e);
    expect(r == MEM_ERR_NOT_ADMIN, "a tenant cannot stop itself through the server");
    expect(reads(&tenants[0], 0xaaaa, 0xaaaa) && reads(&tenants[2], DATA_FIRST, DATA_FIRST + 1),
           "the tenants kept answering");
    expect(free_memory() == free_before, "the refused spawns left the free memory as it was");
}

/* A tenant for a scheduler server: no SchedContext of the memory server's;
 * its thread given to us, who play that server. */
static void without_time(void)
{
    struct mem_error e;
    struct tenant t = { .ctrl = bk_alloc_object(BK_OBJ_ENDPOINT, 0) };
    int r = mem_spawn(ep, "bare-9", QUOTA, program, TENANT_PRIORITY, 0, 0,
                      SPAWN_NO_SCHED | SPAWN_START, t.ctrl, &t.id, &e);
    expect(r == MEM_ERR_BAD_FLAGS && text_is(&e, NULL),
           "a thread without a SchedContext started at once refused");
    r = mem_spawn(ep, "bare-9", QUOTA, program, TENANT_PRIORITY, PERIOD_NS, PERIOD_NS,
                  SPAWN_NO_SCHED, t.ctrl, &t.id, &e);
    expect(r == MEM_ERR_BAD_BUDGET && text_is(&e, "tenant bare-9: budget 10000000 ns every "
                                                  "10000000 ns refused"),
           "a budget for a thread without a SchedContext refused");
    uint64_t free_before = free_memory(), returned = 0, ns, throttled, budget, period;
    expect(mem_spawn(ep, "bare-0", QUOTA, program, TENANT_PRIORITY, 0, 0,
                     SPAWN_NO_SCHED | SPAWN_DEBUG, t.ctrl, &t.id, &e) == 0,
           "a tenant spawned without a SchedContext");
    struct usage u = usage_of(t.id);
    expect(u.sched_contexts == 0 && u.tcbs == PAGE && sums_up(&u),
           "no SchedContext charged, the rest as for any tenant");
    r = mem_cpu(ep, t.id, &ns, &throttled, &budget, &period, &e);
    expect(r == MEM_ERR_NO_SCHED_CONTEXT &&
               text_is(&e, "tenant bare-0: its thread has no SchedContext of the memory "
                           "server's (a scheduler server's sets its time)"),
           "Cpu of it refused with its text");
    uint64_t tcb = bk_slot_alloc(), sc = bk_alloc_object(BK_OBJ_SCHED_CONTEXT, 0);
    r = mem_thread(badged(t.id), t.id, tcb, &e);
    expect(r == MEM_ERR_NOT_ADMIN, "the tenant cannot have its thread's cap");
    r = mem_thread(ep, owner, tcb, &e);
    expect(r == MEM_ERR_NOT_SPAWNED, "Thread of an account with no thread refused");
    bool bound = mem_thread(ep, t.id, tcb, &e) == 0 &&
                 BK_CAP_IDENTITY_TYPE(debug_cap_identify(tcb)) == BK_OBJ_TCB && sc &&
                 sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, PERIOD_NS, PERIOD_NS, 1,
                                             0) == 0 &&
                 sys_sched_context_bind(sc, tcb) == 0;
    expect(bound && mem_start(ep, t.id, &e) == 0 && hello(&t),
           "its thread handed to us (Thread), run on our SchedContext: it said hello");
    u = usage_of(t.id);
    expect(mem_destroy_account(ep, t.id, &returned, &e) == 0 && returned == u.used &&
               free_memory() == free_before &&
               BK_CAP_IDENTITY_TYPE(debug_cap_identify(tcb)) != BK_OBJ_TCB,
           "killed: its usage back, and our cap to its thread gone with it");
}

/* Stop, Start; one killed while running, one stopped in a refused fault. */
static void kills(void)
{
    struct mem_error e;
    struct bk_msg m = { 0 };
    const struct tenant *t0 = &tenants[0], *t1 = &tenants[1], *t2 = &tenants[2];
    expect(mem_stop(ep, t0->id, &e) == 0 && mem_start(ep, t0->id, &e) == 0 &&
               reads(t0, 0xaaaa, 0xaaaa),
           "web-0 stopped and started again, its data intact");
    uint64_t free_before = free_memory(), returned = 0;
    struct usage u = usage_of(t1->id);
    bool spun = order(t1, SPIN, 0, true, &m);
    expect(spun && mem_destroy_account(ep, t1->id, &returned, &e) == 0 && returned == u.used &&
               free_memory() == free_before + returned,
           "web-1 killed while running: exactly its usage back");
    uint64_t sup = bk_slot_alloc(), refused = 0;
    expect(sys_cnode_mint(BK_CAP_ROOT_CNODE, sup, W, BK_CAP_ROOT_CNODE, supervisor, W,
                          BK_RIGHT_WRITE, 1) == 0 &&
               mem_set_supervisor(ep, t2->id, sup, &e) == 0,
           "web-2 gets a supervisor");
    order(t2, STRAY, 3 * GiB, false, &m);
    sys_recv(supervisor, &m);
    int r = mem_take_fault(ep, t2->id, &refused, &e);
    expect(r == MEM_ERR_FAULT_OUTSIDE && e.fault_outside.address == 3 * GiB && text_is(&e, NULL),
           "web-2's stray write refused: it stops in the fault");
    free_before = free_memory();
    u = usage_of(t2->id);
    expect(mem_destroy_account(ep, t2->id, &returned, &e) == 0 && returned == u.used &&
               free_memory() == free_before + returned,
           "web-2 killed stopped in a refused fault: exactly its usage back");
    r = mem_start(ep, t2->id, &e);
    expect(r == MEM_ERR_UNKNOWN_TENANT, "a closed tenant's id is useless");
    expect(reads(t0, 0xaaaa, 0xaaaa), "web-0 kept running through both kills");
}

/* Twenty tenants more, spawned and killed, each returning its usage. */
static void many(void)
{
    struct mem_error e;
    static struct tenant more[MORE];
    char name[] = "many-00";
    uint64_t free_before = free_memory(), book_before = bookkeeping(), returned;
    bool ok = true;
    for (unsigned i = 0; i < MORE; i++) {
        name[5] = (char)('0' + i / 10);
        name[6] = (char)('0' + i % 10);
        ok &= spawn(name, QUOTA, program, TENANT_PRIORITY, PERIOD_NS, SPAWN_START, &more[i],
                    &e) == 0 &&
              hello(&more[i]);
    }
    expect(ok, "twenty tenants more spawned, each said hello");
    bool exact = true;
    for (unsigned i = 0; i < MORE; i++) {
        struct usage u = usage_of(more[i].id);
        exact &= mem_destroy_account(ep, more[i].id, &returned, &e) == 0 && returned == u.used;
    }
    expect(exact && free_memory() == free_before && bookkeeping() == book_before,
           "killed: the free memory and the server's bookkeeping as they were, exactly");
}

static void reclaim(uint64_t free_before, uint64_t book_before)
{
    struct mem_error e;
    uint64_t returned;
    int r = mem_destroy_account(ep, owner, &returned, &e);
    expect(r == MEM_ERR_IMAGE_IN_USE && text_is(&e, NULL),
           "the program's owner cannot close while a tenant maps it");
    struct usage u = usage_of(tenants[0].id);
    expect(mem_destroy_account(ep, tenants[0].id, &returned, &e) == 0 && returned == u.used,
           "web-0 killed");
    u = usage_of(owner);
    expect(mem_destroy_account(ep, owner, &returned, &e) == 0 && returned == u.used,
           "then the program's owner closed");
    uint64_t after = free_memory();
    debug_printf("memspawn: free memory %llu before, %llu after; bookkeeping %llu, %llu\n",
                 (unsigned long long)free_before, (unsigned long long)after,
                 (unsigned long long)book_before, (unsigned long long)bookkeeping());
    expect(after == free_before && bookkeeping() == book_before,
           "reclaim exact: every byte back, the bookkeeping as it was");
}

int main(const struct bk_bootinfo *bi)
{
    bk_alloc_init(bi);
    struct bk_process p;
    ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    supervisor = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    uint64_t pool = bk_alloc_object(BK_OBJ_UNTYPED, 24);
    uint64_t asids = bk_alloc_object(BK_OBJ_UNTYPED, BK_ASID_POOL_BITS);
    expect(ep && supervisor && pool && asids &&
               bk_process_spawn(bi, "mem-server", SERVER_PRIORITY, ep,
                                BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE |
                                    BK_SPAWN_GIVE_SCHED_CONTROL,
                                &p) == 0 &&
               sys_cnode_move(p.cnode, MEM_POOL_SLOT, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE,
                              pool, W) == 0 &&
               sys_asid_control_make_pool(BK_CAP_ASID_CONTROL, asids, p.cnode, MEM_ASID_POOL_SLOT,
                                          SERVER_CNODE_BITS) == 0,
           "spawned mem-server with 16 MiB, SchedControl and an ASID pool");
    uint64_t free_before = free_memory(), book_before = bookkeeping();
    seal(bi);
    spawn_three();
    isolation();
    bad_requests();
    without_time();
    kills();
    many();
    reclaim(free_before, book_before);
    expect(debug_check_invariants() == 0, "the kernel's invariants hold");
    debug_printf("memspawn: %s\n", failures ? "checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
