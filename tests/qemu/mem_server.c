/*
 * The memory server (servers/mem, issue 13). The root task spawns
 * mem-server, gives it 16 MiB of untyped memory, is its administrator (the
 * unbadged endpoint cap) and plays its tenants: each tenant is an account
 * and threads of the root task whose fault endpoint is the server's,
 * badged for the account; each account's regions lie in a GiB window of
 * the root task's address space of its own (a copy of the root VSpace cap
 * is every account's space), so the server's page tables for one tenant
 * are never another's. Checks:
 *
 *  - bad requests: quotas, spaces that are not, names, a tenant calling
 *    the administrator's methods, unknown accounts, regions misaligned,
 *    empty, wrapping, past the top, with bad rights, overlapping, too many;
 *    Populate outside every region; garbage; each with its text;
 *  - the pager: a tenant's pages arrive zero-filled on fault, and Usage
 *    charges exactly the frames, page tables and CNodes made;
 *  - two hostile tenants, an allocation loop (Populate) and a page-table
 *    explosion (one byte per 2 MiB), each stop at exactly their quota with
 *    the quota error, while a third keeps running with its data intact and
 *    its usage unchanged;
 *  - kernel objects a tenant has made (Mem: Make): bad types and sizes,
 *    another's account, an address space without the server's ASIDControl,
 *    refused with their text; a notification made works, stays charged
 *    when the tenant deletes its copy, and Unmake deletes every copy; a
 *    CNode explosion and an address-space explosion (Make in a loop) stop
 *    at exactly their quotas with the quota error while the good tenant
 *    keeps running, and another tenant still gets a space with an ASID;
 *  - a removed region's frames go back at once, and a read there is a
 *    fault outside every region;
 *  - faults the pager refuses (a write to a read-only region, a read
 *    outside every region) stop the thread, signal the supervisor and come
 *    back through TakeFault with their text;
 *  - a tenant in an address space of its own (tests/qemu/mem_tenant.c)
 *    declares its region itself, gets its pages zero-filled there, and its
 *    page-table explosion is stopped at exactly its quota;
 *  - reclaim: closing every account returns every byte (the server's free
 *    memory is what it was before the first account); pages a tenant
 *    dirtied come back to the next one zero-filled.
 */
#include <bulkhead/sys.h>
#include <protocols/mem_client.h>

#define W BK_WORD_BITS
#define SERVER_PRIORITY 200
#define TENANT_PRIORITY 10
#define MEM_POOL_SLOT 13          /* servers/mem/server.h: POOL_SLOT */
#define MEM_ASID_CONTROL_SLOT 30  /* servers/mem/server.h: ASID_CONTROL */
#define SERVER_CNODE_BITS 8
#define MEM_FAULT_BADGE (1ull << 62)
#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define PAGE 4096ull
#define STACK_SIZE 16384
#define WORKERS 8
#define GOOD_PAGES 16
#define GOOD_ROUNDS 200
#define FRESH_PAGES 200

/* Each account's window of the root task's address space. */
#define GOOD_BASE (4 * GiB)
#define ALLOC_BASE (8 * GiB)
#define EXPLODE_BASE (16 * GiB)
#define STRAY_BASE (20 * GiB)
#define FRESH_BASE (24 * GiB)

struct worker {
    void (*fn)(struct worker *);
    uint64_t tcb, done, cap;   /* its TCB, the notification it signals at its end, its account's cap */
    volatile uint64_t result;  /* what it counted */
    int code;                  /* the error it met */
    struct mem_error err;
};

static int failures;
static uint64_t ep, supervisor;
static struct worker workers[WORKERS];
static unsigned worker_count;
static uint8_t stacks[WORKERS][STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(PAGE))) buffers[WORKERS];

static void expect(int ok, const char *what)
{
    debug_printf("memsrv: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

/* True if the text of `e` is `expected`; prints it either way. */
static bool text_is(const struct mem_error *e, const char *expected)
{
    char buf[240];
    mem_error_format(e, buf, sizeof(buf));
    debug_printf("memsrv:   '%s'\n", buf);
    return expected == NULL || strcmp(buf, expected) == 0;
}

/* A copy of the server's endpoint badged `badge` (write and grant, and
 * grant-reply: Make answers with a cap). */
static uint64_t badged(uint64_t badge)
{
    uint64_t slot = bk_slot_alloc();
    if (slot && sys_cnode_mint(BK_CAP_ROOT_CNODE, slot, W, BK_CAP_ROOT_CNODE, ep, W,
                               BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY, badge) != 0)
        return 0;
    return slot;
}

/* A copy of our VSpace cap to send as an account's space. */
static uint64_t space_copy(void)
{
    uint64_t slot = bk_slot_alloc();
    if (slot && sys_cnode_copy(BK_CAP_ROOT_CNODE, slot, W, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE,
                               W, BK_RIGHTS_ALL) != 0)
        return 0;
    return slot;
}

/* Opens account `name` over our address space, its supervisor our
 * notification (badged with the account's id), and returns its id. */
static uint64_t open_account(const char *name, uint64_t quota)
{
    uint64_t id = 0, space = space_copy(), sup = bk_slot_alloc();
    struct mem_error e;
    if (mem_create_account(ep, name, quota, space, &id, &e) != 0) {
        text_is(&e, NULL);
        return 0;
    }
    if (sys_cnode_mint(BK_CAP_ROOT_CNODE, sup, W, BK_CAP_ROOT_CNODE, supervisor, W,
                       BK_RIGHT_WRITE, 1ull << id) != 0 ||
        mem_set_supervisor(ep, id, sup, &e) != 0)
        return 0;
    return id;
}

/* ---- Tenant threads ----------------------------------------------------- */

static void worker_entry(uint64_t arg)
{
    struct worker *w = (struct worker *)(uintptr_t)arg;
    w->fn(w);
    struct bk_msg m = { 0 };
    sys_send(w->done, &m);
}

/* Starts a thread of account `id` at fn(w): its fault endpoint is the
 * server's, badged for the account; it runs below us on a whole CPU. */
static struct worker *start_worker(void (*fn)(struct worker *), uint64_t id)
{
    unsigned i = worker_count++;
    struct worker *w = &workers[i];
    long err = 0;
    w->fn = fn;
    w->cap = badged(id);
    w->tcb = bk_alloc_object(BK_OBJ_TCB, 0);
    w->done = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    uint64_t fault = badged(MEM_FAULT_BADGE | id);
    bool ok = w->cap && w->tcb && w->done && fault &&
              bk_thread_start(w->tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, worker_entry,
                              (uint64_t)(uintptr_t)w, stacks[i], STACK_SIZE,
                              (uint64_t)(uintptr_t)&buffers[i], TENANT_PRIORITY) == 0 &&
              sys_tcb_set_fault_endpoint(w->tcb, fault) == 0 && bk_sched_whole_cpu(w->tcb, &err);
    expect(ok && err == 0, "a tenant thread started with the server as its pager");
    return w;
}

static void wait_done(struct worker *w)
{
    struct bk_msg m = { 0 };
    sys_recv(w->done, &m);
}

/* Waits for the server to signal that it refused a fault of account
 * `id` (each account's supervisor cap is badged 1 << id). */
static void wait_supervisor(uint64_t id)
{
    struct bk_msg m = { 0 };
    do
        sys_recv(supervisor, &m);
    while (!(m.badge & (1ull << id)));
}

struct usage {
    uint64_t quota, used, frames, tables, cnodes, faults, refused, shared, private_pages;
    uint64_t vspaces, tcbs, sched_contexts, ipc;
};

static struct usage usage_of(uint64_t id)
{
    struct usage u = { 0 };
    struct mem_error e;
    mem_usage(ep, id, &u.quota, &u.used, &u.frames, &u.tables, &u.cnodes, &u.faults, &u.refused,
              &u.shared, &u.private_pages, &u.vspaces, &u.tcbs, &u.sched_contexts, &u.ipc, &e);
    debug_printf("memsrv:   account %llu: quota %llu, used %llu = frames %llu + tables %llu + "
                 "cnodes %llu; faults %llu, refused %llu\n",
                 (unsigned long long)id, (unsigned long long)u.quota, (unsigned long long)u.used,
                 (unsigned long long)u.frames, (unsigned long long)u.tables,
                 (unsigned long long)u.cnodes, (unsigned long long)u.faults,
                 (unsigned long long)u.refused);
    return u;
}

static uint64_t free_memory(void)
{
    uint64_t free = 0, total = 0;
    struct mem_error e;
    mem_memory(ep, &free, &total, &e);
    return free;
}

/* ---- What the tenants do ------------------------------------------------ */

/* Nonzero words in `pages` pages from `base`. */
static uint64_t nonzero_words(uint64_t base, uint64_t pages)
{
    uint64_t n = 0;
    const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)base;
    for (uint64_t i = 0; i < pages * PAGE / 8; i++)
        n += p[i] != 0;
    return n;
}

static uint64_t pattern(uint64_t i)
{
    return i * 0x9e3779b97f4a7c15ull + 1;
}

/* The first time, touches its pages (each must arrive zero) and fills
 * them; every time, checks them round after round, yielding between (the
 * second time while the hogs run). */
static void good_tenant(struct worker *w)
{
    static bool filled;
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)GOOD_BASE;
    uint64_t words = GOOD_PAGES * PAGE / 8, bad = 0;
    if (!filled) {
        bad = nonzero_words(GOOD_BASE, GOOD_PAGES);
        for (uint64_t i = 0; i < words; i++)
            p[i] = pattern(i);
        filled = true;
    }
    for (unsigned round = 0; round < GOOD_ROUNDS; round++) {
        for (uint64_t i = 0; i < words; i++)
            bad += p[i] != pattern(i);
        struct bk_msg y = { 0 };
        sys_yield(0, &y);
    }
    w->result = bad;
}

/* Populates its region 64 KiB at a time until refused, then dirties every
 * page it got (for the reclaim check). */
static void allocation_loop(struct worker *w)
{
    uint64_t pages = 0;
    for (uint64_t off = 0; off < 64 * MiB; off += 64 * KiB) {
        w->code = mem_populate(w->cap, 0, ALLOC_BASE + off, 64 * KiB, &pages, &w->err);
        if (w->code != 0)
            break;
    }
    struct usage u = { 0 };
    mem_usage(w->cap, 0, &u.quota, &u.used, &u.frames, &u.tables, &u.cnodes, &u.faults,
              &u.refused, &u.shared, &u.private_pages, &u.vspaces, &u.tcbs, &u.sched_contexts,
              &u.ipc, &w->err);
    memset((void *)(uintptr_t)ALLOC_BASE, 0xa5, u.frames);
    w->result = u.frames / PAGE;
}

/* One byte every 2 MiB: a frame and a page table each; stopped by the
 * pager when the quota runs out. */
static void page_table_explosion(struct worker *w)
{
    for (uint64_t i = 0;; i++) {
        *(volatile uint8_t *)(uintptr_t)(EXPLODE_BASE + i * 2 * MiB) = 1;
        w->result = i + 1;
    }
}

/* Reads its read-only page (zero), then writes it: refused. */
static void write_read_only(struct worker *w)
{
    w->result = nonzero_words(STRAY_BASE, 1) + 1;
    *(volatile uint64_t *)(uintptr_t)STRAY_BASE = 1;
    w->result = 99; /* never: the pager does not restart it */
}

/* Reads the page of a region removed after it was backed: unmapped. */
static void read_outside(struct worker *w)
{
    w->result = *(volatile uint64_t *)(uintptr_t)(STRAY_BASE + MiB);
    w->result = 99;
}

static void fresh_tenant(struct worker *w)
{
    w->result = nonzero_words(FRESH_BASE, FRESH_PAGES);
}

/* ---- Bad requests ------------------------------------------------------- */

static void check_accounts_refused(void)
{
    struct mem_error e;
    uint64_t id;
    int r = mem_create_account(ep, "big", 5 * MiB, space_copy(), &id, &e);
    expect(r == MEM_ERR_BAD_QUOTA &&
               text_is(&e, "tenant big: quota 5 MiB refused (whole pages, from 8 KiB to 4 MiB)"),
           "a quota above 4 MiB refused");
    r = mem_create_account(ep, "odd", 3000, space_copy(), &id, &e);
    expect(r == MEM_ERR_BAD_QUOTA && e.bad_quota.quota == 3000, "a quota of part of a page refused");
    r = mem_create_account(ep, "none", 0, space_copy(), &id, &e);
    expect(r == MEM_ERR_BAD_QUOTA, "a quota of 0 refused");
    r = mem_create_account(ep, "ntfn", 64 * KiB, supervisor, &id, &e);
    expect(r == MEM_ERR_NOT_A_SPACE &&
               text_is(&e, "tenant ntfn: no usable address space (a VSpace cap with an ASID)"),
           "a notification is no address space");
    r = mem_create_account(ep, "no-asid", 64 * KiB, bk_alloc_object(BK_OBJ_VSPACE, 0), &id, &e);
    expect(r == MEM_ERR_NOT_A_SPACE, "a VSpace without an ASID refused");
    uint64_t a = open_account("web-1", 64 * KiB);
    r = mem_create_account(ep, "web-1", 64 * KiB, space_copy(), &id, &e);
    expect(a && r == MEM_ERR_NAME_TAKEN &&
               text_is(&e, "tenant web-1: the name is taken (by account 1)"),
           "a name taken refused");
    uint64_t cap = badged(a), forged = badged(999);
    r = mem_create_account(cap, "web-2", 64 * KiB, space_copy(), &id, &e);
    expect(r == MEM_ERR_NOT_ADMIN &&
               text_is(&e, "the caller (badge 1) is a tenant: the method is the administrator's"),
           "a tenant cannot open accounts");
    uint64_t q, used, f, t, c, faults, refused, sh, pr, vs, tc, sc, ipc;
    r = mem_usage(cap, 7, &q, &used, &f, &t, &c, &faults, &refused, &sh, &pr, &vs, &tc, &sc,
                  &ipc, &e);
    expect(r == MEM_ERR_NOT_ADMIN, "a tenant cannot read another's usage");
    r = mem_usage(forged, 0, &q, &used, &f, &t, &c, &faults, &refused, &sh, &pr, &vs, &tc, &sc,
                  &ipc, &e);
    expect(r == MEM_ERR_UNKNOWN_TENANT && text_is(&e, "no account 999"),
           "a cap badged with an id never given is refused");
    r = mem_usage(cap, 0, &q, &used, &f, &t, &c, &faults, &refused, &sh, &pr, &vs, &tc, &sc,
                  &ipc, &e);
    expect(r == 0 && q == 64 * KiB && used == PAGE && c == PAGE,
           "a new account is charged its directory page, as a CNode");
    expect(mem_destroy_account(ep, a, &used, &e) == 0 && used == PAGE, "closed, a page returned");
    r = mem_usage(cap, 0, &q, &used, &f, &t, &c, &faults, &refused, &sh, &pr, &vs, &tc, &sc,
                  &ipc, &e);
    expect(r == MEM_ERR_UNKNOWN_TENANT && text_is(&e, "no account 1"),
           "a closed account's cap is useless");
}

static void check_regions_refused(void)
{
    struct mem_error e;
    uint32_t n;
    uint64_t a = open_account("web-3", 64 * KiB), cap = badged(a), pages;
    const uint64_t rw = BK_VM_READ | BK_VM_WRITE;
    int r = mem_add_region(cap, 0, GOOD_BASE + 1, PAGE, rw, &n, &e);
    expect(r == MEM_ERR_BAD_REGION && text_is(&e, NULL), "a misaligned region refused");
    expect(mem_add_region(cap, 0, GOOD_BASE, 0, rw, &n, &e) == MEM_ERR_BAD_REGION,
           "an empty region refused");
    expect(mem_add_region(cap, 0, GOOD_BASE, ~0xfffull, rw, &n, &e) == MEM_ERR_BAD_REGION,
           "a region that wraps around refused");
    expect(mem_add_region(cap, 0, 1ull << 50, PAGE, rw, &n, &e) == MEM_ERR_BAD_REGION,
           "a region past the top of user space refused");
    r = mem_add_region(cap, 0, GOOD_BASE, PAGE, BK_VM_WRITE, &n, &e);
    expect(r == MEM_ERR_BAD_RIGHTS &&
               text_is(&e, "tenant web-3: rights 0x2 refused (read, with write or execute but not both)"),
           "write without read refused");
    expect(mem_add_region(cap, 0, GOOD_BASE, PAGE, 7, &n, &e) == MEM_ERR_BAD_RIGHTS,
           "write with execute refused");
    expect(mem_add_region(cap, 0, 32 * GiB, 2 * MiB, rw, &n, &e) == 0 && n == 1,
           "a region declared by its tenant");
    r = mem_add_region(ep, a, 32 * GiB + 2 * MiB - PAGE, 2 * PAGE, rw, &n, &e);
    expect(r == MEM_ERR_OVERLAP &&
               text_is(&e, "tenant web-3: region 0x8001ff000 size 0x2000 overlaps region "
                           "0x800000000 size 0x200000"),
           "an overlapping region refused");
    for (unsigned i = 1; i < 8; i++)
        mem_add_region(ep, a, 40 * GiB + i * MiB, PAGE, BK_VM_READ, &n, &e);
    r = mem_add_region(cap, 0, 48 * GiB, PAGE, BK_VM_READ, &n, &e);
    expect(r == MEM_ERR_TOO_MANY_REGIONS && n == 8 &&
               text_is(&e, "tenant web-3: too many regions (all 8 places taken)"),
           "a ninth region refused");
    r = mem_populate(cap, 0, 32 * GiB + MiB, 2 * MiB, &pages, &e);
    expect(r == MEM_ERR_NO_REGION &&
               text_is(&e, "tenant web-3: no region holds 0x800100000 size 0x200000"),
           "Populate across a region's end refused");
    expect(mem_populate(cap, 0, 32 * GiB, 0, &pages, &e) == MEM_ERR_BAD_REGION,
           "Populate of nothing refused");
    uint64_t returned;
    expect(mem_destroy_account(ep, a, &returned, &e) == 0 && returned == PAGE,
           "regions cost nothing until backed");
}

/* A hand-made request; true if the reply is shared error `code`. */
static bool garbage(uint64_t label, unsigned length, unsigned caps, int code)
{
    struct bk_msg m = { .info = BK_MSGINFO(length, caps, 0, label) };
    for (unsigned i = 0; i < length; i++)
        bk_proto_set_word(&m, i, ~0ull);
    sys_call(ep, &m);
    return BK_MSGINFO_LABEL(m.info) == BK_PROTO_ERROR_LABEL(MEM_PROTOCOL_ID, code);
}

static void check_garbage(void)
{
    expect(garbage(MEM_LABEL_MEMORY + 77, 1, 0, BK_PROTO_ERR_UNKNOWN_METHOD) &&
               garbage(BK_FAULT_PAGE, 5, 0, BK_PROTO_ERR_UNKNOWN_METHOD),
           "unknown methods (a fault message sent as a request too) refused");
    expect(garbage(MEM_LABEL_USAGE, 3, 0, BK_PROTO_ERR_BAD_LENGTH) &&
               garbage(MEM_LABEL_SET_SUPERVISOR, 1, 0, BK_PROTO_ERR_BAD_CAPS),
           "wrong lengths and missing caps refused");
    bk_ipc_buffer->caps[0] = supervisor;
    expect(garbage(MEM_LABEL_MEMORY, 0, 1, BK_PROTO_ERR_BAD_CAPS), "an unexpected cap refused");
    expect(garbage(MEM_LABEL_ADD_REGION, 4, 0, BK_PROTO_ERR_BAD_VALUE), "a bad u32 refused");
}

/* ---- Tenants ------------------------------------------------------------ */

struct tenants {
    uint64_t good, alloc, explode, stray, proc, cnodes, spaces;
    struct usage good_usage;
};

/* The good tenant alone first: 16 pages on fault, each zero, charged
 * exactly: 16 frames, the 2 page tables a fresh GiB needs on both
 * architectures, its directory and one book. */
static void check_good_tenant(struct tenants *t)
{
    struct mem_error e;
    uint32_t n;
    t->good = open_account("good", 256 * KiB);
    expect(t->good && mem_add_region(ep, t->good, GOOD_BASE, MiB, BK_VM_READ | BK_VM_WRITE, &n,
                                     &e) == 0,
           "account good (256 KiB) with a 1 MiB region");
    struct worker *w = start_worker(good_tenant, t->good);
    t->good_usage = usage_of(t->good);
    expect(t->good_usage.frames == 0, "nothing backed before the tenant runs");
    /* Let it touch its pages: it yields after each round, so a short wait
     * on its end would be as good; the usage is read when it is done. */
    wait_done(w);
    expect(w->result == 0, "16 pages arrived zero-filled and kept their data for 200 rounds");
    struct usage u = usage_of(t->good);
    expect(u.frames == GOOD_PAGES * PAGE && u.tables == 2 * PAGE && u.cnodes == 2 * PAGE &&
               u.used == u.frames + u.tables + u.cnodes && u.faults == GOOD_PAGES &&
               u.private_pages == GOOD_PAGES && u.shared == 0,
           "charged exactly: 16 frames, 2 page tables, 2 CNode pages, 16 faults");
    t->good_usage = u;
}

/* The hostile tenants, with the good one running again beside them. */
static void check_hogs(struct tenants *t)
{
    struct mem_error e;
    uint32_t n;
    uint64_t refused;
    t->alloc = open_account("hog-alloc", MiB);
    t->explode = open_account("hog-pt", MiB);
    expect(t->alloc && t->explode &&
               mem_add_region(ep, t->alloc, ALLOC_BASE, 64 * MiB, BK_VM_READ | BK_VM_WRITE, &n,
                              &e) == 0 &&
               mem_add_region(ep, t->explode, EXPLODE_BASE, 32 * GiB, BK_VM_READ | BK_VM_WRITE,
                              &n, &e) == 0,
           "accounts hog-alloc and hog-pt (1 MiB each), regions of 64 MiB and 32 GiB");
    struct worker *good = start_worker(good_tenant, t->good);
    struct worker *alloc = start_worker(allocation_loop, t->alloc);
    struct worker *explode = start_worker(page_table_explosion, t->explode);
    wait_supervisor(t->explode);
    int r = mem_take_fault(ep, t->explode, &refused, &e);
    expect(r == MEM_ERR_QUOTA &&
               text_is(&e, "tenant hog-pt: memory quota 1 MiB exhausted (asked 8 KiB, 0 left)"),
           "the page-table explosion stopped by its quota");
    struct usage u = usage_of(t->explode);
    expect(explode->result == 123 && u.used == MiB && u.frames == 123 * PAGE &&
               u.tables == 124 * PAGE,
           "after exactly 123 touches: 123 frames, 124 page tables, 1 MiB used");
    wait_done(alloc);
    expect(alloc->code == MEM_ERR_QUOTA &&
               text_is(&alloc->err,
                       "tenant hog-alloc: memory quota 1 MiB exhausted (asked 4 KiB, 0 left)"),
           "the allocation loop stopped by its quota");
    u = usage_of(t->alloc);
    expect(alloc->result == 245 && u.used == MiB, "after exactly 245 pages, 1 MiB used");
    wait_done(good);
    u = usage_of(t->good);
    expect(good->result == 0, "the good tenant kept running, its data intact");
    expect(u.used == t->good_usage.used && u.faults == t->good_usage.faults,
           "the good tenant kept its memory, nothing more charged");
}

/* ---- Objects a tenant makes (Mem: Make) --------------------------------- */

static uint64_t made_slot[2]; /* each hog's receive slot, made before it runs */
static uint64_t server_cnode; /* mem-server's CNode, to give it ASIDControl */

/* Makes objects of `type` until refused, deleting its copy of each (the
 * server keeps the original: the charge stays). */
static void make_loop(struct worker *w, uint32_t type, uint32_t bits, uint64_t slot)
{
    uint64_t object;
    for (;;) {
        w->code = mem_make(w->cap, 0, type, bits, &object, slot, &w->err);
        if (w->code != 0)
            return;
        w->result++;
        sys_cnode_delete(BK_CAP_ROOT_CNODE, slot, W);
    }
}

static void cnode_explosion(struct worker *w)
{
    make_loop(w, BK_OBJ_CNODE, 6, made_slot[0]);
}

static void space_explosion(struct worker *w)
{
    make_loop(w, BK_OBJ_VSPACE, 0, made_slot[1]);
}

/* The type of the cap in `slot` (0: empty). */
static uint64_t cap_type(uint64_t slot)
{
    return BK_CAP_IDENTITY_TYPE(debug_cap_identify(slot));
}

/* Bad requests, and what a made object is: its cap works, the charge
 * outlives the tenant's copy, Unmake takes both. */
static void check_make_refused(struct tenants *t)
{
    struct mem_error e;
    uint64_t cap = badged(t->good), slot = bk_slot_alloc(), object, returned;
    int r = mem_make(cap, 0, BK_OBJ_TCB, 0, &object, slot, &e);
    expect(r == MEM_ERR_BAD_OBJECT &&
               text_is(&e, "tenant good: cannot make an object of type 3 with size_bits 0 "
                           "(endpoints, notifications, replies and address spaces take 0; "
                           "CNodes 1 to 6)"),
           "a thread is not an object a tenant may make");
    expect(mem_make(cap, 0, BK_OBJ_CNODE, 7, &object, slot, &e) == MEM_ERR_BAD_OBJECT &&
               mem_make(cap, 0, BK_OBJ_CNODE, 0, &object, slot, &e) == MEM_ERR_BAD_OBJECT &&
               mem_make(cap, 0, BK_OBJ_ENDPOINT, 1, &object, slot, &e) == MEM_ERR_BAD_OBJECT &&
               mem_make(cap, 0, BK_OBJ_UNTYPED, 12, &object, slot, &e) == MEM_ERR_BAD_OBJECT,
           "CNodes of 128 slots or 1, a sized endpoint, untyped memory: refused");
    expect(mem_make(cap, t->explode, BK_OBJ_ENDPOINT, 0, &object, slot, &e) == MEM_ERR_NOT_ADMIN,
           "a tenant cannot make objects on another's account");
    r = mem_make(cap, 0, BK_OBJ_VSPACE, 0, &object, slot, &e);
    expect(r == MEM_ERR_NO_ASID_CONTROL &&
               text_is(&e, "tenant good: the memory server has no ASIDControl to make address "
                           "spaces for tenants"),
           "no address space without the server's ASIDControl");
    expect(usage_of(t->good).used == t->good_usage.used, "refused requests charged nothing");
    r = mem_make(cap, 0, BK_OBJ_NOTIFICATION, 0, &object, slot, &e);
    /* Signalled through a badged copy, polled through the cap made. */
    struct bk_msg m = { 0 };
    uint64_t copy = bk_slot_alloc();
    bool works = r == 0 && cap_type(slot) == BK_OBJ_NOTIFICATION &&
                 sys_cnode_mint(BK_CAP_ROOT_CNODE, copy, W, BK_CAP_ROOT_CNODE, slot, W,
                                BK_RIGHTS_ALL, 5) == 0;
    if (works) {
        sys_send(copy, &m);
        m.badge = 0;
        sys_nbrecv(slot, &m);
    }
    expect(works && m.badge == 5 && usage_of(t->good).ipc == PAGE,
           "a notification made, signalled and polled, a page charged");
    sys_cnode_delete(BK_CAP_ROOT_CNODE, slot, W);
    expect(usage_of(t->good).ipc == PAGE, "the tenant's copy deleted, the charge stays");
    r = mem_unmake(cap, 0, object, &returned, &e);
    expect(r == 0 && returned == PAGE && cap_type(copy) == 0 &&
               usage_of(t->good).used == t->good_usage.used,
           "Unmake returns the page and deletes every copy of the cap");
    r = mem_unmake(cap, 0, object, &returned, &e);
    expect(r == MEM_ERR_UNKNOWN_OBJECT && text_is(&e, NULL) &&
               e.unknown_object.object == object && strcmp(e.unknown_object.tenant, "good") == 0,
           "an object unmade twice: refused, named");
    expect(mem_unmake(cap, 0, 0, &returned, &e) == MEM_ERR_UNKNOWN_OBJECT &&
               mem_unmake(cap, 0, 1ull << 40, &returned, &e) == MEM_ERR_UNKNOWN_OBJECT,
           "a frame's entry and an absurd number are no objects to unmake");
}

/* A CNode explosion and an address-space explosion, the good tenant
 * running beside them. */
static void check_make_hogs(struct tenants *t)
{
    struct mem_error e;
    expect(sys_cnode_move(server_cnode, MEM_ASID_CONTROL_SLOT, SERVER_CNODE_BITS,
                          BK_CAP_ROOT_CNODE, BK_CAP_ASID_CONTROL, W) == 0,
           "moved ASIDControl into its slot 30: accounts may have pools of their own");
    t->cnodes = open_account("hog-cnode", 256 * KiB);
    t->spaces = open_account("hog-as", 256 * KiB);
    made_slot[0] = bk_slot_alloc();
    made_slot[1] = bk_slot_alloc();
    expect(t->cnodes && t->spaces && made_slot[1], "accounts hog-cnode and hog-as (256 KiB each)");
    struct worker *good = start_worker(good_tenant, t->good);
    struct worker *cn = start_worker(cnode_explosion, t->cnodes);
    struct worker *as = start_worker(space_explosion, t->spaces);
    wait_done(cn);
    struct usage u = usage_of(t->cnodes);
    /* 64 pages: the directory, 2 books, 61 CNodes of 64 slots. */
    expect(cn->code == MEM_ERR_QUOTA &&
               text_is(&cn->err,
                       "tenant hog-cnode: memory quota 256 KiB exhausted (asked 4 KiB, 0 left)") &&
               cn->result == 61 && u.used == 256 * KiB && u.cnodes == 256 * KiB,
           "the CNode explosion stopped by its quota after exactly 61 CNodes");
    wait_done(as);
    u = usage_of(t->spaces);
    /* The directory, a book, the account's ASID pool and 30 spaces of two
     * pages: 63 pages; the 31st space would take 2. */
    expect(as->code == MEM_ERR_QUOTA &&
               text_is(&as->err, "tenant hog-as: memory quota 256 KiB exhausted (asked 8 KiB, "
                                 "4 KiB left)") &&
               as->result == 30 && u.used == 252 * KiB && u.vspaces == 244 * KiB,
           "the address-space explosion stopped by its quota after exactly 30 spaces");
    wait_done(good);
    u = usage_of(t->good);
    expect(good->result == 0 && u.used == t->good_usage.used,
           "the good tenant kept running, its data and its charges intact");
    uint64_t object, slot = bk_slot_alloc(), returned;
    uint64_t probe_frame = bk_alloc_object(BK_OBJ_FRAME, BK_PAGE_BITS);
    int r = mem_make(badged(t->good), 0, BK_OBJ_VSPACE, 0, &object, slot, &e);
    /* A space that holds an ASID passes Frame: Map's checks of the space
     * and stops at the misaligned address. */
    expect(r == 0 && cap_type(slot) == BK_OBJ_VSPACE &&
               sys_frame_map(probe_frame, slot, 1, BK_VM_READ, 0) == -BK_ERR_INVALID_ARGUMENT &&
               usage_of(t->good).vspaces == 3 * PAGE,
           "after them, another tenant still gets a space with an ASID (its own pool)");
    expect(mem_unmake(ep, t->good, object, &returned, &e) == 0 && returned == 2 * PAGE &&
               cap_type(slot) == 0 && usage_of(t->good).used == t->good_usage.used + PAGE,
           "the administrator unmakes it: two pages back, the pool's page stays");
}

/* Faults the pager refuses: the thread stays stopped, the supervisor is
 * signalled, TakeFault tells why. */
static void check_refused_faults(struct tenants *t)
{
    struct mem_error e;
    uint32_t n;
    uint64_t refused = 0;
    t->stray = open_account("stray", 64 * KiB);
    expect(t->stray &&
               mem_add_region(ep, t->stray, STRAY_BASE, PAGE, BK_VM_READ, &n, &e) == 0,
           "account stray, a read-only page");
    struct worker *ro = start_worker(write_read_only, t->stray);
    wait_supervisor(t->stray);
    int r = mem_take_fault(ep, t->stray, &refused, &e);
    expect(r == MEM_ERR_ACCESS_DENIED && text_is(&e, NULL) &&
               e.access_denied.address == STRAY_BASE && e.access_denied.access == 2 &&
               e.access_denied.rights == BK_VM_READ && ro->result == 1,
           "read-only page read as zero, then the write refused");
    uint64_t pages = 0, free = 0;
    expect(mem_add_region(ep, t->stray, STRAY_BASE + MiB, 4 * PAGE, BK_VM_READ | BK_VM_WRITE, &n,
                          &e) == 0 &&
               mem_populate(ep, t->stray, STRAY_BASE + MiB, 4 * PAGE, &pages, &e) == 0 &&
               pages == 4,
           "a second region, its 4 pages populated");
    free = free_memory();
    r = mem_remove_region(badged(t->stray), 0, STRAY_BASE + MiB, &pages, &e);
    expect(r == 0 && pages == 4 && free_memory() == free + 4 * PAGE,
           "removed by its tenant: its 4 frames back to the free memory");
    r = mem_remove_region(ep, t->stray, STRAY_BASE + MiB, &pages, &e);
    expect(r == MEM_ERR_UNKNOWN_REGION &&
               text_is(&e, "tenant stray: no region starts at 0x500100000"),
           "a region removed twice is unknown");
    struct worker *out = start_worker(read_outside, t->stray);
    wait_supervisor(t->stray);
    r = mem_take_fault(badged(t->stray), 0, &refused, &e);
    expect(r == MEM_ERR_FAULT_OUTSIDE && text_is(&e, NULL) &&
               e.fault_outside.address == STRAY_BASE + MiB && out->result == 0,
           "a read of the removed region's page refused (unmapped, outside every region); "
           "the tenant reads the report itself");
    r = mem_take_fault(ep, t->stray, &refused, &e);
    struct usage u = usage_of(t->stray);
    expect(r == 0 && refused == 2 && u.refused == 2 && u.faults == 1 && u.frames == PAGE,
           "no more reports; 2 refused, 1 resolved");
}

/* A tenant in an address space of its own (tests/qemu/mem_tenant.c): its
 * account is opened over the VSpace the spawn made, its tenant cap put in
 * its CNode, its thread's faults sent to the server, all before it first
 * runs (below us). It declares its region, checks 8 pages, then explodes
 * its page tables: 56 touches, the first in a fresh GiB (3 pages), fill
 * its 512 KiB exactly (8 + 56 frames, 2 + 2 + 55 tables, 5 CNode pages). */
static void check_own_space(const struct bk_bootinfo *bi, struct tenants *t)
{
    struct bk_process p;
    struct mem_error e;
    uint64_t space = bk_slot_alloc(), fault, refused;
    bool ok = bk_process_spawn(bi, "mem-tenant", TENANT_PRIORITY, 0, BK_SPAWN_GIVE_DEBUG,
                               &p) == 0 &&
              sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE, p.vspace, W,
                             BK_RIGHTS_ALL) == 0 &&
              mem_create_account(ep, "proc", 512 * KiB, space, &t->proc, &e) == 0;
    uint64_t sup = bk_slot_alloc();
    fault = ok ? badged(MEM_FAULT_BADGE | t->proc) : 0;
    ok = ok && fault &&
         sys_cnode_mint(p.cnode, BK_PROCESS_CAP_ARG, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE, ep, W,
                        BK_RIGHT_WRITE | BK_RIGHT_GRANT, t->proc) == 0 &&
         sys_tcb_set_fault_endpoint(p.tcb, fault) == 0 &&
         sys_cnode_mint(BK_CAP_ROOT_CNODE, sup, W, BK_CAP_ROOT_CNODE, supervisor, W,
                        BK_RIGHT_WRITE, 1ull << t->proc) == 0 &&
         mem_set_supervisor(ep, t->proc, sup, &e) == 0;
    expect(ok, "spawned mem-tenant, its account proc (512 KiB) over its own address space");
    wait_supervisor(t->proc);
    int r = mem_take_fault(ep, t->proc, &refused, &e);
    expect(r == MEM_ERR_QUOTA &&
               text_is(&e, "tenant proc: memory quota 512 KiB exhausted (asked 8 KiB, 0 left)"),
           "the tenant in its own space stopped by its quota");
    struct usage u = usage_of(t->proc);
    expect(u.used == 512 * KiB && u.frames == 64 * PAGE && u.tables == 59 * PAGE &&
               u.cnodes == 5 * PAGE && u.faults == 64,
           "charged exactly in its own space: 64 frames, 59 page tables, 5 CNode pages");
}

/* Closing every account returns every byte; the pages come back zeroed. */
static void check_reclaim(struct tenants *t, uint64_t free_before)
{
    struct mem_error e;
    /* hog-alloc's dirty pages last, so that they are the first reused. */
    uint64_t ids[] = { t->spaces, t->cnodes, t->proc, t->stray, t->good, t->explode, t->alloc };
    bool exact = true;
    for (unsigned i = 0; i < 7; i++) {
        struct usage u = usage_of(ids[i]);
        uint64_t returned = 0;
        exact &= mem_destroy_account(ep, ids[i], &returned, &e) == 0 && returned == u.used;
    }
    uint64_t after = free_memory();
    debug_printf("memsrv: free memory %llu before the first account, %llu after the last\n",
                 (unsigned long long)free_before, (unsigned long long)after);
    expect(exact && after == free_before, "reclaim exact: every byte back");
    uint32_t n;
    uint64_t fresh = open_account("fresh", MiB);
    expect(fresh && mem_add_region(ep, fresh, FRESH_BASE, MiB, BK_VM_READ | BK_VM_WRITE, &n,
                                   &e) == 0,
           "account fresh, on the pages hog-alloc filled with 0xa5");
    struct worker *w = start_worker(fresh_tenant, fresh);
    wait_done(w);
    expect(w->result == 0, "200 reused pages arrived zero-filled");
    uint64_t returned;
    expect(mem_destroy_account(ep, fresh, &returned, &e) == 0 && free_memory() == free_before,
           "and went back, exactly");
}

int main(const struct bk_bootinfo *bi)
{
    bk_alloc_init(bi);
    struct bk_process p;
    ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    supervisor = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    uint64_t pool = bk_alloc_object(BK_OBJ_UNTYPED, 24);
    expect(ep && supervisor && pool &&
               bk_process_spawn(bi, "mem-server", SERVER_PRIORITY, ep,
                                BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE, &p) == 0,
           "spawned mem-server");
    server_cnode = p.cnode;
    expect(sys_cnode_move(p.cnode, MEM_POOL_SLOT, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE, pool, W) ==
               0,
           "moved 16 MiB of untyped into its pool slot");
    uint64_t free_before = free_memory(), total = 0;
    struct mem_error e;
    mem_memory(ep, &free_before, &total, &e);
    debug_printf("memsrv: the server manages %llu bytes\n", (unsigned long long)total);
    /* The rest is its reserved area: 1/20 for its bookkeeping, and its CNodes. */
    expect(total > 14 * MiB && free_before == total, "it manages nearly all of it, all free");
    check_accounts_refused();
    check_regions_refused();
    check_garbage();
    expect(free_memory() == free_before, "refused requests cost nothing");
    struct tenants t = { 0 };
    check_good_tenant(&t);
    check_hogs(&t);
    check_make_refused(&t);
    check_make_hogs(&t);
    check_refused_faults(&t);
    check_own_space(bi, &t);
    check_reclaim(&t, free_before);
    expect(debug_check_invariants() == 0, "the kernel's invariants hold");
    debug_printf("memsrv: %s\n", failures ? "checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
