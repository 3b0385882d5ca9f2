/*
 * The memory server (servers/mem/protocol.toml, docs/memory.md): owns the
 * untyped memory its spawner gives it and spends it for tenants, each
 * within its account's quota; backs their anonymous regions on page fault.
 *
 * Started by bk_process_spawn() with its endpoint (unbadged) in
 * BK_PROCESS_CAP_ARG, at a priority above its tenants' threads; its
 * spawner then moves one untyped cap into POOL_SLOT (slot 13): a copy of an
 * untyped cap cannot be retyped, and IPC copies, so memory cannot come as
 * a request. The server splits it into pages at the first request that
 * finds it (pages.c).
 *
 * One thread, one endpoint: requests are protocol labels (mem_dispatch);
 * a tenant thread's fault comes as a Call with a kernel fault label
 * through a cap badged MEM_FAULT_BADGE | id. The answer to a fault is the
 * reply: label 0 restarts the thread, 1 leaves it stopped. The loop never
 * sends to anyone but by reply, by a non-blocking signal to a supervisor
 * and by its swap session's kicks to the IO server, so no tenant can make
 * it wait. While a swap transfer waits for the disk it keeps serving
 * (serve_until): the transfer's requester is held in a Reply object and
 * answered when its page is in.
 */
#include "server.h"

const struct bk_bootinfo *server_info;

/* True if the cap in `slot` is a VSpace holding an ASID: Frame: Map of the
 * probe at a misaligned address passes the checks of the VSpace (type,
 * ASID) and stops at the address, changing nothing. */
static bool usable_space(uint64_t slot)
{
    return sys_frame_map(PROBE_FRAME, slot, 1, BK_VM_READ, 0) == -BK_ERR_INVALID_ARGUMENT;
}

/* ---- Backing pages ------------------------------------------------------ */

static int back_image_page(struct mem_call *call, struct account *a, const struct mem_region *r,
                           uint64_t page, bool write, bool *mapped);

static uint64_t served; /* requests served while transfers waited (serve_until) */
static bool defer_wanted; /* serve_defer(): the request being served waits for transfers */

/* A page of `a` the clock unmapped or sent to swap, mapped again (*mapped
 * then): it is charged already. 0, or no_memory when no page could be
 * freed for it or the swap read failed. */
static int restore(struct mem_call *call, struct account *a, const struct mem_region *r,
                   uint64_t vaddr, bool *mapped)
{
    long back = evict_restore(a, vaddr, r->rights);
    *mapped = back > 0;
    return back < 0 ? mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes()) : 0;
}

/* Backs page `vaddr` of region `r` of `a` unless it is mapped already
 * (*mapped then). Checks, in order: the address space answers, the quota
 * pays for the frame, the missing tables and the books, the server has
 * those pages. 0 or the error. */
static int back_one(struct mem_call *call, struct account *a, const struct mem_region *r,
                    uint64_t vaddr, bool *mapped)
{
    if (r->image)
        return back_image_page(call, a, r, vaddr, false, mapped);
again:;
    uint64_t seen = served;
    int err = restore(call, a, r, vaddr, mapped);
    if (err || *mapped)
        return err;
    unsigned tables;
    enum backing b = pages_probe(a, vaddr, &tables);
    *mapped = b == BACK_MAPPED;
    if (b == BACK_MAPPED)
        return 0;
    if (b == BACK_FAILED)
        return mem_fail_not_a_space(call, a->name);
    uint64_t asked = mem_backing_pages(pages_recorded(a), a->books, tables) * MEM_PAGE;
    uint64_t left = mem_left(&a->charges);
    if (asked > left)
        return mem_fail_quota(call, a->name, a->charges.quota, asked, left);
    if (!evict_make_room(asked))
        return mem_fail_no_memory(call, a->name, asked, pages_free_bytes());
    if (served != seen)
        goto again; /* others were served while it evicted: the probe and quota may be stale */
    if (pages_back(a, vaddr, r->rights, tables) != 0)
        return mem_fail_no_memory(call, a->name, asked, pages_free_bytes());
    return 0;
}

int account_back(struct mem_call *call, struct account *a, const struct mem_region *r,
                 uint64_t vaddr)
{
    bool mapped;
    return back_one(call, a, r, vaddr, &mapped);
}

/* ---- Image pages -------------------------------------------------------- */

static const struct image *image_of(const struct mem_region *r)
{
    return r->image ? &images[r->image - 1] : NULL;
}

int account_can_pay(struct mem_call *call, const struct account *a, unsigned pages)
{
    uint64_t asked = pages * MEM_PAGE, left = mem_left(&a->charges);
    if (asked > left)
        return mem_fail_quota(call, a->name, a->charges.quota, asked, left);
    if (!evict_make_room(asked))
        return mem_fail_no_memory(call, a->name, asked, pages_free_bytes());
    return 0;
}

/* Page `page` of image region `r` of `a`, for an access that writes or
 * not. Not mapped: a read maps the image page shared (the tables and
 * books paid), a write maps a private copy (the frame too). Mapped shared
 * and written: the first write, which replaces it with a private copy (one
 * frame; its book entry reused). Mapped by us otherwise: a race, restart.
 * 0 or the error. */
static int back_image_page(struct mem_call *call, struct account *a, const struct mem_region *r,
                           uint64_t page, bool write, bool *mapped)
{
    const struct image *im = image_of(r);
    unsigned index = (unsigned)((page - r->base) / MEM_PAGE), tables, ours;
again:;
    uint64_t seen = served;
    int restored = restore(call, a, r, page, mapped);
    if (restored || *mapped)
        return restored;
    enum backing b = pages_probe(a, page, &tables);
    *mapped = b == BACK_MAPPED;
    if (b == BACK_FAILED)
        return mem_fail_not_a_space(call, a->name);
    if (b == BACK_MAPPED) {
        ours = pages_mapped_by_us(a, page);
        if (ours != SHARED || !write)
            return 0; /* a race, or someone else's mapping: resolve_fault tells */
        int err = account_can_pay(call, a, mem_backing_pages(pages_recorded(a) - 1, a->books, 0));
        if (err)
            return err;
        if (served != seen)
            goto again;
        pages_unshare(a, page);
        *mapped = false;
        if (pages_copy(a, page, im, index, r->rights, 0) != 0)
            return mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
        return 0;
    }
    unsigned cost = mem_backing_pages(pages_recorded(a), a->books, tables) - !write;
    int err = account_can_pay(call, a, cost);
    if (err)
        return err;
    if (served != seen)
        goto again;
    long r2 = write ? pages_copy(a, page, im, index, r->rights, tables)
                    : pages_share(a, page, im, index, r->rights, tables);
    return r2 == 0 ? 0 : mem_fail_no_memory(call, a->name, cost * MEM_PAGE, pages_free_bytes());
}

/* ---- The administrator's methods ---------------------------------------- */

int mem_handle_create_account(struct mem_call *call, const char *name, uint64_t quota,
                              uint64_t space_slot, uint64_t *tenant)
{
    int err = account_checks(call, name, quota);
    if (err)
        return err;
    if (!usable_space(space_slot))
        return mem_fail_not_a_space(call, name);
    struct account *a;
    err = account_new(call, name, quota, &a);
    if (err)
        return err;
    struct where space = account_slot(a, ACCOUNT_SPACE);
    sys_cnode_move(space.root, space.index, space.depth, BK_CAP_ROOT_CNODE, space_slot, W);
    *tenant = a->id;
    return 0;
}

/* Accounts other than `except` with a region of image `k`. */
static unsigned image_users(unsigned k, const struct account *except)
{
    unsigned users = 0;
    for (uint64_t i = 0; i < (1ull << accounts_bits); i++) {
        const struct account *u = account_table[i];
        bool maps = false;
        for (unsigned j = 0; u && u != except && j < u->region_count; j++)
            maps |= u->regions[j].image == k + 1;
        users += maps;
    }
    return users;
}

int mem_handle_destroy_account(struct mem_call *call, uint64_t tenant, uint64_t *returned)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    struct account *a = account_by_id(tenant);
    if (!a)
        return mem_fail_unknown_tenant(call, tenant);
    for (unsigned k = 0; k < IMAGES; k++) {
        unsigned users = images[k].live && images[k].owner == a ? image_users(k, a) : 0;
        if (users)
            return mem_fail_image_in_use(call, a->name, images[k].id, users);
    }
    uint64_t granted = 0;
    int err = grants_close(call, a, &granted);
    if (err)
        return err;
    *returned = granted + account_close(a);
    return 0;
}

/* Lowering a quota takes nothing back: it refuses the next charges. Never
 * below the minimum, which promises memory the quota must let it hold. */
int mem_handle_set_quota(struct mem_call *call, uint64_t tenant, uint64_t quota, uint64_t *used)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    struct account *a = account_by_id(tenant);
    if (!a)
        return mem_fail_unknown_tenant(call, tenant);
    if (!mem_quota_valid(quota))
        return mem_fail_bad_quota(call, a->name, quota, MEM_QUOTA_MAX);
    *used = mem_used(&a->charges);
    if (quota < *used)
        return mem_fail_below_use(call, a->name, quota, *used);
    /* SetMinimum keeps minimum <= quota; lowering the quota must too. */
    if (quota < a->minimum)
        return mem_fail_quota_below_minimum(call, a->name, quota, a->minimum);
    a->charges.quota = quota;
    return 0;
}

/* The minimums of every open account but `except`. */
static uint64_t minimums_but(const struct account *except)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < (1ull << accounts_bits); i++) {
        const struct account *u = account_table[i];
        sum += u && u != except ? u->minimum : 0;
    }
    return sum;
}

/* Checks, in order: the caller, the account, whole pages within the
 * quota, the minimums' sum within the memory (so eviction can always
 * honour every guarantee at once). Nothing is evicted now: a minimum is
 * what eviction leaves, not what it brings back. */
int mem_handle_set_minimum(struct mem_call *call, uint64_t tenant, uint64_t minimum)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    struct account *a = account_by_id(tenant);
    if (!a)
        return mem_fail_unknown_tenant(call, tenant);
    if (minimum % MEM_PAGE != 0 || minimum > a->charges.quota)
        return mem_fail_minimum_above_quota(call, a->name, minimum, a->charges.quota);
    uint64_t others = minimums_but(a), memory = pages_total_bytes();
    if (minimum > memory || others > memory - minimum)
        return mem_fail_minimums_above_memory(call, a->name, minimum, others, memory);
    a->minimum = minimum;
    return 0;
}

int mem_handle_swap_stats(struct mem_call *call, uint64_t tenant, uint64_t *evicted,
                          uint64_t *paged_in, uint64_t *swapped, uint64_t *resident,
                          uint64_t *minimum, uint64_t *slots_free, uint64_t *slots,
                          uint64_t *out_ticks, uint64_t *in_ticks)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    *evicted = a->evicted;
    *paged_in = a->paged_in;
    *swapped = a->swapped;
    *resident = evict_resident(a);
    *minimum = a->minimum;
    *slots_free = swap_slots_free();
    *slots = swap_slots();
    *out_ticks = a->out_ticks;
    *in_ticks = a->in_ticks;
    return 0;
}

int mem_handle_set_supervisor(struct mem_call *call, uint64_t tenant, uint64_t notification_slot)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    struct account *a = account_by_id(tenant);
    if (!a)
        return mem_fail_unknown_tenant(call, tenant);
    struct where slot = account_slot(a, ACCOUNT_SUPERVISOR);
    sys_cnode_delete(slot.root, slot.index, slot.depth);
    a->supervised = sys_cnode_move(slot.root, slot.index, slot.depth, BK_CAP_ROOT_CNODE,
                                   notification_slot, W) == 0;
    return 0;
}

int mem_handle_overhead(struct mem_call *call, uint64_t *reserved, uint64_t *bookkeeping,
                        uint64_t *accounts, uint64_t *max_accounts)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    pages_ready();
    *reserved = meta_reserved_bytes();
    *bookkeeping = meta_used_bytes();
    *accounts = accounts_open();
    *max_accounts = account_table ? 1ull << accounts_bits : 0;
    return 0;
}

int mem_handle_memory(struct mem_call *call, uint64_t *free, uint64_t *total)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    *free = pages_free_bytes();
    *total = pages_total_bytes();
    return 0;
}

/* ---- Regions ------------------------------------------------------------ */

int mem_handle_add_region(struct mem_call *call, uint64_t tenant, uint64_t base, uint64_t size,
                          uint32_t rights, uint32_t *regions)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    err = account_add_region(call, a, (struct mem_region){ base, size, rights, 0 });
    *regions = a->region_count;
    return err;
}

int account_add_region(struct mem_call *call, struct account *a, struct mem_region nr)
{
    uint64_t base = nr.base, size = nr.size;
    uint32_t rights = nr.rights;
    enum mem_region_check c = mem_region_check(base, size, rights, USER_TOP);
    if (c == MEM_REGION_BAD_RANGE)
        return mem_fail_bad_region(call, a->name, base, size, USER_TOP);
    if (c == MEM_REGION_BAD_RIGHTS)
        return mem_fail_bad_rights(call, a->name, rights);
    const struct mem_region *o = mem_region_overlapping(a->regions, a->region_count, base, size);
    if (o)
        return mem_fail_overlap(call, a->name, base, size, o->base, o->size);
    if (a->region_count == REGIONS)
        return mem_fail_too_many_regions(call, a->name, REGIONS);
    a->regions[a->region_count++] = nr;
    return 0;
}

int mem_handle_remove_region(struct mem_call *call, uint64_t tenant, uint64_t base,
                             uint64_t *pages)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    unsigned i = 0;
    while (i < a->region_count && a->regions[i].base != base)
        i++;
    if (i == a->region_count)
        return mem_fail_unknown_region(call, a->name, base);
    *pages = pages_release(a, base, a->regions[i].size);
    a->regions[i] = a->regions[--a->region_count];
    return 0;
}

int mem_handle_populate(struct mem_call *call, uint64_t tenant, uint64_t base, uint64_t size,
                        uint64_t *pages)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    if (mem_region_check(base, size, BK_VM_READ, USER_TOP) != MEM_REGION_OK)
        return mem_fail_bad_region(call, a->name, base, size, USER_TOP);
    const struct mem_region *r = mem_region_holding(a->regions, a->region_count, base, size);
    if (!r)
        return mem_fail_no_region(call, a->name, base, size);
    *pages = 0;
    for (uint64_t off = 0; off < size; off += MEM_PAGE) {
        bool mapped;
        err = back_one(call, a, r, base + off, &mapped);
        if (err)
            return err;
        *pages += !mapped;
    }
    return 0;
}

/* ---- Images ------------------------------------------------------------- */

int mem_handle_seal_image(struct mem_call *call, uint64_t tenant, uint64_t base, uint64_t *image,
                          uint64_t *pages)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    struct account *a = account_by_id(tenant);
    if (!a)
        return mem_fail_unknown_tenant(call, tenant);
    unsigned i = 0;
    while (i < a->region_count && (a->regions[i].base != base || a->regions[i].image))
        i++;
    if (i == a->region_count)
        return mem_fail_unknown_region(call, a->name, base);
    uint64_t size = a->regions[i].size, count = size / MEM_PAGE;
    struct image *im = NULL;
    for (unsigned k = 0; k < IMAGES && !im; k++)
        im = images[k].live ? NULL : &images[k];
    if (!im || count > IMAGE_PAGES)
        return mem_fail_too_many_images(call, a->name, IMAGES, count, IMAGE_PAGES);
    uint64_t backed = pages_backed_in(a, base, size);
    if (backed != count)
        return mem_fail_not_backed(call, a->name, base, count, backed);
    pages_seal(a, base, size, im);
    im->live = true;
    im->owner = a;
    im->id = image_next_id();
    a->regions[i] = a->regions[--a->region_count];
    *image = im->id;
    *pages = count;
    return 0;
}

int mem_handle_map_image(struct mem_call *call, uint64_t tenant, uint64_t image, uint64_t base,
                         uint32_t rights, uint32_t *regions)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    unsigned k = 0;
    while (k < IMAGES && !(images[k].live && images[k].id == image))
        k++;
    if (k == IMAGES)
        return mem_fail_unknown_image(call, a->name, image);
    struct mem_region nr = { base, (uint64_t)images[k].pages * MEM_PAGE, rights, k + 1 };
    err = account_add_region(call, a, nr);
    *regions = a->region_count;
    return err;
}

/* ---- Reports ------------------------------------------------------------ */

int mem_handle_usage(struct mem_call *call, uint64_t tenant, uint64_t *quota, uint64_t *used,
                     uint64_t *frames, uint64_t *page_tables, uint64_t *cnodes,
                     uint64_t *faults, uint64_t *refused, uint64_t *shared,
                     uint64_t *private_pages, uint64_t *vspaces, uint64_t *tcbs,
                     uint64_t *sched_contexts, uint64_t *ipc_objects)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    *quota = a->charges.quota;
    *used = mem_used(&a->charges);
    *frames = a->charges.bytes[MEM_KIND_FRAME];
    *page_tables = a->charges.bytes[MEM_KIND_PAGE_TABLE];
    *cnodes = a->charges.bytes[MEM_KIND_CNODE];
    *faults = a->faults;
    *refused = a->refused;
    *shared = a->shared;
    *private_pages = a->charges.bytes[MEM_KIND_FRAME] / MEM_PAGE;
    *vspaces = a->charges.bytes[MEM_KIND_VSPACE];
    *tcbs = a->charges.bytes[MEM_KIND_TCB];
    *sched_contexts = a->charges.bytes[MEM_KIND_SCHED_CONTEXT];
    *ipc_objects = a->charges.bytes[MEM_KIND_IPC];
    return 0;
}

int mem_handle_take_fault(struct mem_call *call, uint64_t tenant, uint64_t *refused)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    *refused = a->refused;
    if (a->pending_count == 0)
        return 0;
    call->error = a->pending[0];
    a->pending_count--;
    memmove(&a->pending[0], &a->pending[1], a->pending_count * sizeof(a->pending[0]));
    return call->error.code;
}

/* ---- The pager ---------------------------------------------------------- */

/* Resolves the fault in `m` (a kernel fault message: label the fault type,
 * words pc, address, access, ...) for `a`: 0, or the error that refuses
 * it. Checks, in order: a page fault; inside a region; an access the
 * region allows; then as back_one(). A page mapped already is a fault
 * that raced with another thread's on the same page if the server mapped
 * it (restart), else someone else's mapping the region cannot change. */
static int resolve_fault(struct mem_call *call, struct account *a, const struct bk_msg *m)
{
    uint64_t label = BK_MSGINFO_LABEL(m->info), pc = m->mr[0], address = m->mr[1];
    uint64_t access = m->mr[2], page = address & ~(MEM_PAGE - 1);
    if (label != BK_FAULT_PAGE)
        return mem_fail_not_a_page_fault(call, a->name, (uint32_t)label, pc, address);
    const struct mem_region *r = mem_region_holding(a->regions, a->region_count, page, MEM_PAGE);
    if (!r)
        return mem_fail_fault_outside(call, a->name, address, pc, (uint32_t)access);
    if (!mem_access_allowed(r->rights, access))
        return mem_fail_access_denied(call, a->name, address, pc, (uint32_t)access, r->rights);
    bool mapped;
    int err = r->image ? back_image_page(call, a, r, page, access & BK_VM_WRITE, &mapped)
                       : back_one(call, a, r, page, &mapped);
    if (err == 0 && mapped && !pages_mapped_by_us(a, page))
        return mem_fail_access_denied(call, a->name, address, pc, (uint32_t)access, r->rights);
    return err;
}

/* A refused fault: kept for TakeFault (the first FAULTS_KEPT waiting),
 * counted, and the supervisor signalled without blocking (NBSend: a
 * notification is signalled; anything else drops it). */
static void refuse(struct account *a, const struct mem_error *e)
{
    a->refused++;
    if (a->pending_count < FAULTS_KEPT)
        a->pending[a->pending_count++] = *e;
    if (a->supervised) {
        /* Its cap lies in ACCOUNTS_CNODE; a send names a cap of our CNode. */
        struct where slot = account_slot(a, ACCOUNT_SUPERVISOR);
        struct bk_msg s = { .info = BK_MSGINFO(0, 0, 0, 0) };
        sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_CAP, W, slot.root, slot.index, slot.depth);
        sys_nbsend(SCRATCH_CAP, &s);
        sys_cnode_move(slot.root, slot.index, slot.depth, BK_CAP_ROOT_CNODE, SCRATCH_CAP, W);
    }
}

/* The reply label for a fault: 0 restarts the thread, 1 leaves it
 * stopped (an account closed meanwhile has nobody to tell). */
static uint64_t serve_fault(const struct bk_msg *m)
{
    struct account *a = account_by_id(m->badge & ~MEM_FAULT_BADGE);
    if (!a)
        return 1;
    struct mem_call call = { .badge = m->badge };
    if (resolve_fault(&call, a, m) != 0) {
        if (!defer_wanted)
            refuse(a, &call.error);
        return 1;
    }
    a->faults++;
    return 0;
}

/* ---- Serving while transfers wait --------------------------------------- */

/* A request put off until no transfer is in flight: the message (its words
 * past the registers copied from the IPC buffer), its caller held in a
 * Reply object, the cap it brought in DEFER_CAP(k). */
struct deferred {
    struct bk_msg m;
    uint64_t words[BK_MSG_MAX_WORDS];
    uint64_t reply;
    unsigned k;
};

/* Levels of requests served one inside another's wait: each level's
 * transfer holds a buffer (two at most: a read and the write making room
 * for it), and the levels past that defer. */
#define LEVELS (SWAP_BUFFERS + 2)

static struct bk_proto_server server;
static uint32_t replies_free; /* bit k: REPLY_SLOT(k) holds no caller */
static unsigned level;        /* requests being served, one inside another's wait */
static uint64_t level_reply[LEVELS + 2]; /* the Reply object holding level's caller, or 0 */
static struct deferred arrived[LEVELS + 2]; /* level's request as it came, in case it defers */
static struct deferred deferred[REPLIES];
static unsigned deferred_count;

_Static_assert(REPLIES <= 32, "replies_free has a bit for each");

void replies_made(void)
{
    replies_free = (uint32_t)((1ull << REPLIES) - 1);
}

/* A free Reply object's number, or -1. */
static int reply_take(void)
{
    if (!replies_free)
        return -1;
    int k = __builtin_ctz(replies_free);
    replies_free &= ~(1u << k);
    return k;
}

static void reply_give(uint64_t slot)
{
    replies_free |= 1u << (slot - REPLY_SLOT(0));
}

void serve_defer(void)
{
    defer_wanted = true;
}

/* Serves fault or request `m` (its answer left in `m`) one level in.
 * `reply`: the Reply object already holding its caller, or 0 (the kernel
 * holds it). Returns the Reply object holding the caller now (saved while
 * the request waited), or 0: then answer by reply. */
static uint64_t serve(struct bk_msg *m, uint64_t reply)
{
    level++;
    level_reply[level] = reply;
    if (m->badge & MEM_FAULT_BADGE) {
        uint64_t label = serve_fault(m);
        bk_proto_server_done(&server, m->info);
        m->info = BK_MSGINFO(0, 0, 0, label);
    } else {
        pages_ready();
        mem_dispatch(&server, m);
    }
    reply = level_reply[level];
    level--;
    return reply;
}

static void answer(struct bk_msg *m, uint64_t reply)
{
    if (reply) {
        sys_send(reply, m);
        reply_give(reply);
    } else {
        sys_reply(0, m);
    }
}

/* The caller of the request being served moved into a Reply object, so
 * that a Recv does not cancel it: false if none is free (or the levels
 * are all in use). */
static bool hold_caller(void)
{
    if (level == 0 || level > LEVELS)
        return false;
    if (level_reply[level])
        return true;
    int k = reply_take();
    if (k < 0)
        return false;
    if (sys_reply_save(REPLY_SLOT(k)) != 0) { /* a Send: nobody to answer */
        reply_give(REPLY_SLOT(k));
        return true;
    }
    level_reply[level] = REPLY_SLOT(k);
    return true;
}

/* Reply objects a tenant's request may not take to be deferred: kept for
 * the callers of the levels (hold_caller()) and for the administrator's
 * requests, so that a tenant's flood of requests that must wait neither
 * stops the server answering nor holds the administrator's off. */
#define REPLIES_KEPT (LEVELS + 4u)

/* Keeps request `d` with its caller for later (its cap moved to
 * DEFER_CAP); `reply` as serve() returned it. False if there is no room
 * (then it is answered now: busy). */
static bool defer(const struct deferred *d, uint64_t reply)
{
    if (deferred_count == REPLIES)
        return false;
    if (!reply && d->m.badge != 0 && (unsigned)__builtin_popcount(replies_free) <= REPLIES_KEPT)
        return false;
    int k = reply ? (int)(reply - REPLY_SLOT(0)) : reply_take();
    if (k < 0)
        return false;
    if (!reply && sys_reply_save(REPLY_SLOT(k)) != 0) {
        reply_give(REPLY_SLOT(k));
        return true; /* a Send: nobody waits for it, nothing to do later */
    }
    struct deferred *to = &deferred[deferred_count++];
    *to = *d;
    to->reply = REPLY_SLOT(k);
    to->k = (unsigned)k;
    if (BK_MSGINFO_EXTRA_CAPS(d->m.info))
        sys_cnode_move(BK_CAP_ROOT_CNODE, DEFER_CAP(k), W, BK_CAP_ROOT_CNODE, RECV_SLOT, W);
    return true;
}

/* Requests put off while transfers are in flight whatever they ask: those
 * that could free pages in flight (an account's, a region's, an image's
 * source), and those bringing a cap (the receive slot must be free for
 * the next request). */
static bool waits_for_transfers(const struct bk_msg *m)
{
    uint64_t label = BK_MSGINFO_LABEL(m->info);
    if (m->badge & MEM_FAULT_BADGE)
        return false;
    return BK_MSGINFO_EXTRA_CAPS(m->info) != 0 || label == MEM_LABEL_DESTROY_ACCOUNT ||
           label == MEM_LABEL_REMOVE_REGION || label == MEM_LABEL_SEAL_IMAGE ||
           label == MEM_LABEL_SEAL_PROGRAM;
}

/* Request `m` must wait for the transfers and there is no room to keep
 * it: refused now (served now, it could free a page in flight), with the
 * number of requests kept. Its cap, if it brought one, is deleted. */
static void refuse_busy(struct bk_msg *m)
{
    struct mem_call call = { .badge = m->badge, .server = &server };
    mem_fail_busy(&call, deferred_count);
    bk_proto_server_done(&server, m->info);
    mem_error_pack(m, &call.error);
}

/* A message that came while a transfer waits: the session's signal
 * (completions reaped), or a request served at once or deferred. A Call
 * with info 0 from the administrator looks like the signal: it is reaped
 * for, then answered as any unknown label. */
static void serve_meanwhile(struct bk_msg *m)
{
    struct deferred *d = &arrived[level + 1]; /* the level it is served at */
    if (m->badge == 0 && m->info == 0)
        swap_reap();
    unsigned words = (unsigned)BK_MSGINFO_LENGTH(m->info);
    d->m = *m;
    for (unsigned i = BK_MSG_CPU_WORDS; i < words && i < BK_MSG_MAX_WORDS; i++)
        d->words[i] = bk_ipc_buffer->mr[i];
    if (waits_for_transfers(m)) {
        if (!defer(d, 0)) {
            refuse_busy(m);
            answer(m, 0);
        }
        return;
    }
    defer_wanted = false;
    served++;
    uint64_t reply = serve(m, 0);
    bool later = defer_wanted;
    defer_wanted = false;
    if (later && defer(d, reply))
        return;
    if (later && (d->m.badge & MEM_FAULT_BADGE))
        m->info = BK_MSGINFO(0, 0, 0, 0); /* no room to keep it: restarted, it faults again */
    else if (later)
        refuse_busy(m); /* its page is in flight, or every swap buffer */
    answer(m, reply);
}

void serve_until(const volatile bool *done)
{
    bool keep = defer_wanted; /* the waiting request's own, not theirs */
    bool open = hold_caller();
    while (!*done) {
        struct bk_msg m = { 0 };
        if (!open) {
            /* No Reply object for our caller: the endpoint waits until
             * the disk is done, as before there were any. */
            sys_recv(SWAP_NOTIFICATION, &m);
            swap_reap();
            continue;
        }
        sys_recv(ENDPOINT, &m);
        serve_meanwhile(&m);
    }
    defer_wanted = keep;
}

/* The requests put off, served in the order they came (each may wait
 * again, and defer others, behind transfers of its own). */
static void serve_deferred(void)
{
    while (deferred_count) {
        struct deferred *d = &deferred[0];
        struct bk_msg m = d->m;
        uint64_t reply = d->reply;
        unsigned k = d->k, words = (unsigned)BK_MSGINFO_LENGTH(m.info);
        for (unsigned i = BK_MSG_CPU_WORDS; i < words && i < BK_MSG_MAX_WORDS; i++)
            bk_ipc_buffer->mr[i] = d->words[i];
        deferred_count--;
        memmove(&deferred[0], &deferred[1], deferred_count * sizeof(deferred[0]));
        if (BK_MSGINFO_EXTRA_CAPS(m.info))
            sys_cnode_move(BK_CAP_ROOT_CNODE, RECV_SLOT, W, BK_CAP_ROOT_CNODE, DEFER_CAP(k), W);
        defer_wanted = false;
        reply = serve(&m, reply);
        answer(&m, reply);
    }
}

int main(const struct bk_bootinfo *info)
{
    server_info = info;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, RECV_SLOT, W, NULL);
    struct bk_msg m = { 0 };
    sys_recv(ENDPOINT, &m);
    for (;;) {
        if (m.badge == 0 && m.info == 0)
            swap_reap(); /* a late signal: nothing waits for it now */
        defer_wanted = false;
        uint64_t reply = serve(&m, 0);
        if (!reply && !deferred_count) {
            sys_reply_recv(ENDPOINT, &m);
            continue;
        }
        answer(&m, reply);
        serve_deferred();
        sys_recv(ENDPOINT, &m);
    }
}
