/*
 * Copy-on-write images in the memory server (servers/mem, issue 13). The
 * root task spawns mem-server with 16 MiB, is its administrator, builds an
 * image (an account over its own address space: a region populated,
 * written, sealed) and spawns tenants (tests/qemu/mem_cow_tenant.c), each
 * in an address space of its own with an account that maps the image
 * twice: read-write (copy-on-write) and read-only. It orders each tenant
 * through an endpoint of its own to hash or fill pages, and checks:
 *
 *  - bad requests: sealing by a tenant, a region that is not there or not
 *    wholly backed, mapping an image that does not exist, overlapping;
 *  - every tenant reads the image's data, and its pages stay shared:
 *    Usage counts them shared, and no frame is charged to the tenant;
 *  - the first write to a page copies it into the writer's account: the
 *    writer sees its data, no other tenant (nor the image) ever does, and
 *    the counts of shared and private pages move by exactly one;
 *  - a write to a page never read copies it at once; a write to the
 *    read-only mapping is refused; a copy the quota cannot pay for is
 *    refused with the quota error, the page staying shared;
 *  - the image's owner cannot close while others map it;
 *  - reclaim: tenants closed, one of them stopped in a refused fault,
 *    then the owner: the server's free memory is what it was, exactly.
 */
#include <bulkhead/sys.h>
#include <protocols/mem_client.h>

#define W BK_WORD_BITS
#define SERVER_PRIORITY 200
#define TENANT_PRIORITY 10
#define MEM_POOL_SLOT 13          /* servers/mem/server.h: POOL_SLOT */
#define SERVER_CNODE_BITS 8
#define MEM_FAULT_BADGE (1ull << 62)
#define CTRL_SLOT BK_PROCESS_FIRST_FREE_SLOT /* mem_cow_tenant.c */
#define ORDER_HASH 1
#define ORDER_FILL 2
#define ORDER_MAP 3
#define KiB 1024ull
#define GiB (1024 * 1024 * KiB)
#define PAGE 4096ull
#define IMAGE_PAGES 8
#define IMAGE_BASE (4 * GiB)      /* in our own space */
#define HALF_BASE (8 * GiB)       /* a region left half backed */
#define DATA (1 * GiB)            /* in each tenant's space: the image, copy-on-write */
#define TEXT (2 * GiB)            /* and read-only */
#define TENANTS 4

struct tenant {
    uint64_t id, ctrl, cap;
};

static int failures;
static uint64_t ep, supervisor, image_owner, image;
static struct tenant tenants[TENANTS];

static void expect(int ok, const char *what)
{
    debug_printf("memcow: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

static bool text_is(const struct mem_error *e, const char *expected)
{
    char buf[240];
    mem_error_format(e, buf, sizeof(buf));
    debug_printf("memcow:   '%s'\n", buf);
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

/* ---- The image's data and what the tenants report ------------------------ */

static uint64_t pattern(uint64_t page, uint64_t word)
{
    return (page << 32 | word) * 0x9e3779b97f4a7c15ull + 1;
}

/* FNV-1a over a page's words, as mem_cow_tenant.c computes it. */
static uint64_t hash_words(uint64_t page, bool filled, uint64_t value)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < PAGE / 8; i++)
        h = (h ^ (filled ? value : pattern(page, i))) * 0x100000001b3ull;
    return h;
}

/* Sends tenant `t` an order (it waits for one in Recv); with `answer`,
 * waits for its answer and returns it. */
static uint64_t order(const struct tenant *t, uint64_t what, uint64_t address, uint64_t a1,
                      uint64_t a2, bool answer)
{
    struct bk_msg m = { .info = BK_MSGINFO(3, 0, 0, what) };
    m.mr[0] = address;
    m.mr[1] = a1;
    m.mr[2] = a2;
    sys_send(t->ctrl, &m);
    if (!answer)
        return 0;
    sys_recv(t->ctrl, &m);
    return m.mr[0];
}

static bool reads_image(const struct tenant *t, uint64_t base, uint64_t page)
{
    return order(t, ORDER_HASH, base + page * PAGE, 0, 0, true) == hash_words(page, false, 0);
}

static bool reads_fill(const struct tenant *t, uint64_t page, uint64_t value)
{
    return order(t, ORDER_HASH, DATA + page * PAGE, 0, 0, true) == hash_words(page, true, value);
}

struct usage {
    uint64_t quota, used, frames, tables, cnodes, faults, refused, shared, private_pages;
    uint64_t vspaces, tcbs, sched_contexts, ipc;
};

static struct usage usage_of(uint64_t id)
{
    struct usage u = { 0 };
    mem_usage(ep, id, &u.quota, &u.used, &u.frames, &u.tables, &u.cnodes, &u.faults, &u.refused,
              &u.shared, &u.private_pages, &u.vspaces, &u.tcbs, &u.sched_contexts, &u.ipc, NULL);
    debug_printf("memcow:   account %llu: used %llu = frames %llu + tables %llu + cnodes %llu; "
                 "shared %llu, private %llu; faults %llu, refused %llu\n",
                 (unsigned long long)id, (unsigned long long)u.used,
                 (unsigned long long)u.frames, (unsigned long long)u.tables,
                 (unsigned long long)u.cnodes, (unsigned long long)u.shared,
                 (unsigned long long)u.private_pages, (unsigned long long)u.faults,
                 (unsigned long long)u.refused);
    return u;
}

static bool counts_are(uint64_t id, uint64_t shared, uint64_t private_pages)
{
    struct usage u = usage_of(id);
    return u.shared == shared && u.private_pages == private_pages &&
           u.frames == private_pages * PAGE && u.used == u.frames + u.tables + u.cnodes;
}

static uint64_t free_memory(void)
{
    uint64_t free = 0, total = 0;
    mem_memory(ep, &free, &total, NULL);
    return free;
}

static void wait_supervisor(uint64_t id)
{
    struct bk_msg m = { 0 };
    do
        sys_recv(supervisor, &m);
    while (!(m.badge & (1ull << id)));
}

/* ---- The image ----------------------------------------------------------- */

/* Account "image" over our own space: a region of 8 pages populated,
 * written and sealed; the refusals on the way. */
static void build_image(void)
{
    struct mem_error e;
    uint64_t space = bk_slot_alloc(), n = 0, pages = 0, id = 0;
    uint32_t regions;
    bool ok = sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE,
                             W, BK_RIGHTS_ALL) == 0 &&
              mem_create_account(ep, "image", 256 * KiB, space, &image_owner, &e) == 0 &&
              mem_add_region(ep, image_owner, IMAGE_BASE, IMAGE_PAGES * PAGE,
                             BK_VM_READ | BK_VM_WRITE, &regions, &e) == 0 &&
              mem_populate(ep, image_owner, IMAGE_BASE, IMAGE_PAGES * PAGE, &n, &e) == 0 &&
              n == IMAGE_PAGES;
    expect(ok, "account image over our space, its region of 8 pages backed");
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)IMAGE_BASE;
    for (uint64_t k = 0; ok && k < IMAGE_PAGES; k++)
        for (uint64_t i = 0; i < PAGE / 8; i++)
            p[k * PAGE / 8 + i] = pattern(k, i);

    int r = mem_seal_image(badged(image_owner), image_owner, IMAGE_BASE, &id, &pages, &e);
    expect(r == MEM_ERR_NOT_ADMIN, "a tenant cannot seal an image");
    ok = mem_add_region(ep, image_owner, HALF_BASE, 4 * PAGE, BK_VM_READ | BK_VM_WRITE, &regions,
                        &e) == 0 &&
         mem_populate(ep, image_owner, HALF_BASE, 2 * PAGE, &n, &e) == 0;
    r = mem_seal_image(ep, image_owner, HALF_BASE, &id, &pages, &e);
    expect(ok && r == MEM_ERR_NOT_BACKED &&
               text_is(&e, "tenant image: region 0x200000000 cannot become an image: 2 of its 4 "
                           "pages backed"),
           "a region not wholly backed cannot be sealed");
    expect(mem_remove_region(ep, image_owner, HALF_BASE, &n, &e) == 0 && n == 2,
           "the half-backed region removed, its 2 frames back");

    r = mem_seal_image(ep, image_owner, IMAGE_BASE, &image, &pages, &e);
    expect(r == 0 && pages == IMAGE_PAGES, "sealed: image of 8 pages");
    r = mem_seal_image(ep, image_owner, IMAGE_BASE, &id, &pages, &e);
    expect(r == MEM_ERR_UNKNOWN_REGION &&
               text_is(&e, "tenant image: no region starts at 0x100000000"),
           "a sealed region is no longer a region of its owner");
    expect(counts_are(image_owner, 0, IMAGE_PAGES),
           "the image's 8 frames are charged to its owner, as private pages");
}

/* ---- Tenants ------------------------------------------------------------- */

/* Spawns mem-cow-tenant as tenant `i` with `quota`: an account over its
 * own space, its tenant cap, its order endpoint, the server as its pager;
 * the image mapped copy-on-write at DATA, and read-only at TEXT if `text`. */
static void spawn_tenant(const struct bk_bootinfo *bi, unsigned i, uint64_t quota, bool text)
{
    struct tenant *t = &tenants[i];
    struct bk_process p;
    struct mem_error e;
    char name[] = "cow-0";
    name[4] = (char)('0' + i);
    uint64_t space = bk_slot_alloc(), sup = bk_slot_alloc();
    uint32_t regions;
    t->ctrl = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    bool ok = t->ctrl && bk_process_spawn(bi, "mem-cow-tenant", TENANT_PRIORITY, 0,
                                          BK_SPAWN_GIVE_DEBUG, &p) == 0 &&
              sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE, p.vspace, W,
                             BK_RIGHTS_ALL) == 0 &&
              mem_create_account(ep, name, quota, space, &t->id, &e) == 0;
    uint64_t fault = ok ? badged(MEM_FAULT_BADGE | t->id) : 0;
    t->cap = ok ? badged(t->id) : 0;
    ok = ok && fault && t->cap &&
         sys_cnode_mint(p.cnode, BK_PROCESS_CAP_ARG, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE, ep, W,
                        BK_RIGHT_WRITE | BK_RIGHT_GRANT, t->id) == 0 &&
         sys_cnode_copy(p.cnode, CTRL_SLOT, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE, t->ctrl, W,
                        BK_RIGHTS_ALL) == 0 &&
         sys_tcb_set_fault_endpoint(p.tcb, fault) == 0 &&
         sys_cnode_mint(BK_CAP_ROOT_CNODE, sup, W, BK_CAP_ROOT_CNODE, supervisor, W,
                        BK_RIGHT_WRITE, 1ull << t->id) == 0 &&
         mem_set_supervisor(ep, t->id, sup, &e) == 0 &&
         mem_map_image(ep, t->id, image, DATA, BK_VM_READ | BK_VM_WRITE, &regions, &e) == 0 &&
         (!text || mem_map_image(ep, t->id, image, TEXT, BK_VM_READ, &regions, &e) == 0);
    expect(ok, "a tenant spawned in its own space, the image mapped copy-on-write");
}

/* Every tenant reads every page of both mappings: the image's data, and
 * nothing charged for them but tables and CNodes. */
static void check_shared(void)
{
    bool same = true;
    for (unsigned i = 0; i < 3; i++)
        for (uint64_t k = 0; k < IMAGE_PAGES; k++)
            same &= reads_image(&tenants[i], DATA, k) && reads_image(&tenants[i], TEXT, k);
    expect(same, "three tenants read the image's data through both mappings");
    bool counts = true;
    for (unsigned i = 0; i < 3; i++) {
        struct usage u = usage_of(tenants[i].id);
        counts &= counts_are(tenants[i].id, 2 * IMAGE_PAGES, 0) && u.tables == 4 * PAGE &&
                  u.cnodes == 2 * PAGE && u.faults == 2 * IMAGE_PAGES;
    }
    expect(counts, "each: 16 pages shared, 0 private, 4 page tables and 2 CNode pages charged");
}

/* The first write to a page copies it for the writer alone. */
static void check_first_writes(void)
{
    const struct tenant *t0 = &tenants[0], *t1 = &tenants[1], *t2 = &tenants[2];
    order(t0, ORDER_FILL, DATA + 3 * PAGE, 0x1111, 0, true);
    expect(reads_fill(t0, 3, 0x1111) && reads_image(t0, TEXT, 3),
           "cow-0 wrote page 3: it reads its data there, the image through its other mapping");
    expect(reads_image(t1, DATA, 3) && reads_image(t2, DATA, 3),
           "cow-1 and cow-2 still read the image's page 3");
    expect(counts_are(t0->id, 15, 1) && counts_are(t1->id, 16, 0) && counts_are(t2->id, 16, 0),
           "cow-0: 15 shared, 1 private; the others unchanged");
    order(t1, ORDER_FILL, DATA + 3 * PAGE, 0x2222, 0, true);
    order(t1, ORDER_FILL, DATA + 5 * PAGE, 0x3333, 0, true);
    expect(reads_fill(t1, 3, 0x2222) && reads_fill(t1, 5, 0x3333) && reads_fill(t0, 3, 0x1111) &&
               reads_image(t0, DATA, 5) && reads_image(t2, DATA, 3) && reads_image(t2, DATA, 5),
           "cow-1 wrote pages 3 and 5: each tenant reads its own page 3, only cow-1 its page 5");
    uint64_t faults = usage_of(t0->id).faults;
    order(t0, ORDER_FILL, DATA + 3 * PAGE, 0x4444, 0, true);
    expect(reads_fill(t0, 3, 0x4444) && usage_of(t0->id).faults == faults &&
               counts_are(t0->id, 15, 1) && counts_are(t1->id, 14, 2),
           "a second write to a private copy does not fault; cow-1: 14 shared, 2 private");
}

/* A write to a page never read copies it at once; the tenant maps the
 * image again itself. */
static void check_write_first(void)
{
    const struct tenant *t2 = &tenants[2];
    struct mem_error e;
    uint64_t pages = 1;
    expect(mem_remove_region(t2->cap, 0, DATA, &pages, &e) == 0 && pages == 0 &&
               counts_are(t2->id, IMAGE_PAGES, 0),
           "cow-2 removed its copy-on-write mapping: 8 shared pages left, no frame returned");
    expect(order(t2, ORDER_MAP, DATA, image, BK_VM_READ | BK_VM_WRITE, true) == 0,
           "cow-2 mapped the image again itself");
    order(t2, ORDER_FILL, DATA + 7 * PAGE, 0x5555, 0, true);
    expect(reads_fill(t2, 7, 0x5555) && reads_image(t2, DATA, 6) &&
               reads_image(&tenants[0], DATA, 7) && counts_are(t2->id, IMAGE_PAGES + 1, 1),
           "a write to a page never read: copied at once (9 shared, 1 private)");
}

/* The server keeps 16 images: fifteen more of one page each fill its
 * table, a seventeenth is refused; the fifteen are closed with their owner. */
static void check_image_table(void)
{
    struct mem_error e;
    uint64_t space = bk_slot_alloc(), owner = 0, id, pages, n, returned;
    uint32_t regions;
    bool ok = sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE,
                             W, BK_RIGHTS_ALL) == 0 &&
              mem_create_account(ep, "images", 128 * KiB, space, &owner, &e) == 0;
    int r = 0;
    for (uint64_t k = 0; ok && k < 16; k++) {
        uint64_t base = 12 * GiB + k * PAGE;
        ok = mem_add_region(ep, owner, base, PAGE, BK_VM_READ | BK_VM_WRITE, &regions, &e) == 0 &&
             mem_populate(ep, owner, base, PAGE, &n, &e) == 0;
        r = mem_seal_image(ep, owner, base, &id, &pages, &e);
        ok = ok && (k < 15 ? r == 0 : r == MEM_ERR_TOO_MANY_IMAGES);
    }
    expect(ok && text_is(&e, "tenant images: no room for an image of 1 pages (16 images at most, "
                             "256 pages each)"),
           "fifteen more images fill the server's table; a seventeenth refused");
    expect(mem_destroy_account(ep, owner, &returned, &e) == 0,
           "their owner, whose images nobody maps, closes");
}

/* Refusals: requests, a write to the read-only mapping, a copy the quota
 * cannot pay for. */
static void check_refused(const struct bk_bootinfo *bi)
{
    const struct tenant *t0 = &tenants[0], *t2 = &tenants[2];
    struct mem_error e;
    uint32_t regions;
    uint64_t refused;
    int r = mem_map_image(ep, t0->id, 99, 3 * GiB, BK_VM_READ, &regions, &e);
    expect(r == MEM_ERR_UNKNOWN_IMAGE && text_is(&e, "tenant cow-0: no image 99"),
           "an unknown image refused");
    r = mem_map_image(ep, t0->id, image, DATA + PAGE, BK_VM_READ, &regions, &e);
    expect(r == MEM_ERR_OVERLAP, "an image mapped over another region refused");
    r = mem_map_image(t0->cap, 0, image, 3 * GiB + 1, BK_VM_READ, &regions, &e);
    expect(r == MEM_ERR_BAD_REGION, "an image at a misaligned address refused");
    r = mem_map_image(t0->cap, 0, image, 3 * GiB, BK_VM_WRITE | BK_VM_EXEC, &regions, &e);
    expect(r == MEM_ERR_BAD_RIGHTS, "an image with bad rights refused");
    r = mem_map_image(badged(999), 0, image, 3 * GiB, BK_VM_READ, &regions, &e);
    expect(r == MEM_ERR_UNKNOWN_TENANT && text_is(&e, "no account 999"),
           "a cap badged with an id never given maps nothing");
    r = mem_map_image(t0->cap, tenants[1].id, image, 3 * GiB, BK_VM_READ, &regions, &e);
    expect(r == MEM_ERR_NOT_ADMIN, "a tenant cannot map an image into another's account");
    check_image_table();

    order(t2, ORDER_FILL, TEXT, 0x6666, 0, false);
    wait_supervisor(t2->id);
    r = mem_take_fault(ep, t2->id, &refused, &e);
    expect(r == MEM_ERR_ACCESS_DENIED && e.access_denied.address == TEXT &&
               e.access_denied.access == 2 && counts_are(t2->id, IMAGE_PAGES + 1, 1),
           "a write to the read-only mapping refused; cow-2 stopped, its counts unchanged");

    spawn_tenant(bi, 3, 24 * KiB, false);
    const struct tenant *t3 = &tenants[3];
    bool same = true;
    for (uint64_t k = 0; k < IMAGE_PAGES; k++)
        same &= reads_image(t3, DATA, k);
    order(t3, ORDER_FILL, DATA, 0x7777, 0, true);
    order(t3, ORDER_FILL, DATA + PAGE, 0x7777, 0, true);
    expect(same && counts_are(t3->id, 6, 2) && usage_of(t3->id).used == 24 * KiB,
           "cow-3 (24 KiB): 8 pages read, 2 written: 6 shared, 2 private, its quota spent");
    order(t3, ORDER_FILL, DATA + 2 * PAGE, 0x7777, 0, false);
    wait_supervisor(t3->id);
    r = mem_take_fault(ep, t3->id, &refused, &e);
    expect(r == MEM_ERR_QUOTA &&
               text_is(&e, "tenant cow-3: memory quota 24 KiB exhausted (asked 4 KiB, 0 left)") &&
               counts_are(t3->id, 6, 2),
           "its third write refused by its quota, the page still shared");
}

/* The owner stays while others map its image; then every byte back. */
static void check_reclaim(uint64_t free_before)
{
    struct mem_error e;
    uint64_t returned = 0;
    int r = mem_destroy_account(ep, image_owner, &returned, &e);
    expect(r == MEM_ERR_IMAGE_IN_USE &&
               text_is(&e, "tenant image: image 1 is still mapped by 4 other accounts"),
           "the image's owner cannot close while 4 tenants map it");
    unsigned order_closed[] = { 2, 3, 0, 1 };
    bool exact = true;
    for (unsigned k = 0; k < TENANTS; k++) {
        const struct tenant *t = &tenants[order_closed[k]];
        struct usage u = usage_of(t->id);
        exact &= mem_destroy_account(ep, t->id, &returned, &e) == 0 && returned == u.used;
        if (order_closed[k] == 0)
            exact &= reads_fill(&tenants[1], 3, 0x2222) && reads_image(&tenants[1], DATA, 4);
    }
    expect(exact, "the tenants closed (two stopped in refused faults), each returning its usage; "
                  "cow-1 kept its data while cow-0 closed");
    struct usage u = usage_of(image_owner);
    expect(mem_destroy_account(ep, image_owner, &returned, &e) == 0 && returned == u.used,
           "then the image's owner closed");
    uint64_t after = free_memory();
    debug_printf("memcow: free memory %llu before the image, %llu after the last account\n",
                 (unsigned long long)free_before, (unsigned long long)after);
    expect(after == free_before, "reclaim exact: every byte back");
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
                                BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE, &p) == 0 &&
               sys_cnode_move(p.cnode, MEM_POOL_SLOT, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE,
                              pool, W) == 0,
           "spawned mem-server with 16 MiB");
    uint64_t free_before = free_memory();
    build_image();
    for (unsigned i = 0; i < 3; i++)
        spawn_tenant(bi, i, 256 * KiB, true);
    check_shared();
    check_first_writes();
    check_write_first();
    check_refused(bi);
    check_reclaim(free_before);
    expect(debug_check_invariants() == 0, "the kernel's invariants hold");
    debug_printf("memcow: %s\n", failures ? "checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
