/*
 * Quota trading for IO sessions (issue 13, "Quota travels with requests";
 * servers/mem/grants.c, servers/io/session.c, docs/memory.md): the root
 * task starts the memory server, the disk's driver and io-server (with a
 * cap of the memory server's badged as server 1), is the administrator of
 * both, and plays IO tenant 1, whose memory account "io-t1" pays for its
 * session.
 *
 * Checked: a grant charges the tenant's account 64 KiB and takes 64 KiB of
 * the server's free memory; a grant the quota cannot pay is refused with
 * the numbers; a bad server number; a tenant cannot take a grant (only a
 * server's cap can), another IO tenant cannot open with it (the memory
 * server refuses: made for tenant 1), and IO: OpenGranted without a grant
 * is refused; the session opened with the grant works (8 writes and reads
 * back by checksum, through buffers made of the granted memory); while it
 * is open the tenant cannot end the grant and its account cannot close;
 * closing the session returns the 64 KiB to the account exactly; a grant
 * no server took is cancelled by the tenant, or ended with its account;
 * the administrator ending a grant under a live session (a dead server's
 * case) takes the session's pages out of the tenant's space with it (so
 * the session was made of the grant); a tenant "killed" with a session open (the administrator closes the
 * session, then the account) returns every byte: the memory server's
 * free memory is back to what it was before the accounts, to the byte.
 */
#include <protocols/blk_client.h>
#include <protocols/mem_client.h>

#include "../../servers/blk/blk.h"
#include "../../servers/io/io.h"
#include "io_ring_client.h"

#define W BK_WORD_BITS
#define DRIVER_PRIORITY 200
#define MEM_PRIORITY 195
#define SERVER_PRIORITY 190
#define MEM_POOL_SLOT 13          /* servers/mem/server.h: POOL_SLOT */
#define MEM_SERVER_BADGE (1ull << 61) /* servers/mem/server.h */
#define SERVER_CNODE_BITS 8
#define KiB 1024ull
#define GRANT (64 * KiB)
#define MY_VADDR 0x48000000ull
#define MY_SECTORS 2048u
#define SEED 0x7000ull

static int failures, passes;
static uint64_t io_admin, one, two, mem_ep, t1, t1_cap;
static struct tenant me;

static void expect(bool ok, const char *what)
{
    failures += !ok;
    passes += ok;
    debug_printf("trade: %s: %s\n", ok ? "ok" : "FAILED", what);
}

static uint64_t mint(uint64_t ep, uint64_t badge)
{
    uint64_t s = bk_slot_alloc();
    sys_cnode_mint(BK_CAP_ROOT_CNODE, s, W, BK_CAP_ROOT_CNODE, ep, W,
                   BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY, badge);
    return s;
}

static void mem_refused(int r, const struct mem_error *e, int code, const char *text)
{
    char got[240] = "", what[300];
    mem_error_format(e, got, sizeof(got));
    bk_snprintf(what, sizeof(what), "refused: \"%s\"", r ? got : "(it worked)");
    expect(r == code && strcmp(got, text) == 0, what);
    if (r != code || strcmp(got, text) != 0)
        debug_printf("trade:   expected %d \"%s\", got %d\n", code, text, r);
}

static void io_refused(int r, const struct io_error *e, int code, const char *text)
{
    char got[240] = "", what[300];
    io_error_format(e, got, sizeof(got));
    bk_snprintf(what, sizeof(what), "refused: \"%s\"", r ? got : "(it worked)");
    expect(r == code && strcmp(got, text) == 0, what);
    if (r != code || strcmp(got, text) != 0)
        debug_printf("trade:   expected %d \"%s\", got %d\n", code, text, r);
}

/* The memory server with 16 MiB, its VSpace for its bookkeeping. */
static const char *start_mem(const struct bk_bootinfo *bi)
{
    struct bk_process p;
    mem_ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    uint64_t pool = bk_alloc_object(BK_OBJ_UNTYPED, 24);
    if (!mem_ep || !pool ||
        bk_process_spawn(bi, "mem-server", MEM_PRIORITY, mem_ep,
                         BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE, &p) != 0 ||
        sys_cnode_move(p.cnode, MEM_POOL_SLOT, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE, pool, W) != 0)
        return "cannot start mem-server with 16 MiB";
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
        e = io_spawn_trading(bi, SERVER_PRIORITY, mint(blk_ep, 1),
                             mint(mem_ep, MEM_SERVER_BADGE | 1), &io_admin, err, sizeof(err));
    if (e)
        return e;
    one = mint(io_admin, 1);
    two = mint(io_admin, 2);
    return NULL;
}

static uint64_t free_memory(void)
{
    uint64_t free = 0, total = 0;
    mem_memory(mem_ep, &free, &total, NULL);
    return free;
}

static uint64_t used_by(uint64_t id)
{
    uint64_t q, used = 0, f, pt, cn, faults, refused, sh, pr, vs, tcb, sc, ipc;
    mem_usage(mem_ep, id, &q, &used, &f, &pt, &cn, &faults, &refused, &sh, &pr, &vs, &tcb, &sc,
              &ipc, NULL);
    return used;
}

/* Account `name` over our own address space (we never fault in its
 * regions: it only pays). */
static uint64_t account(const char *name, uint64_t quota)
{
    uint64_t space = bk_slot_alloc(), id = 0;
    struct mem_error e;
    sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, W,
                   BK_RIGHTS_ALL);
    if (mem_create_account(mem_ep, name, quota, space, &id, &e) != 0)
        expect(false, "an account");
    return id;
}

static void io_tenants(void)
{
    struct io_error e;
    uint32_t left;
    expect(io_set_policy(io_admin, 1, 100, 10000, 0, 1, 100000, &left, &e) == 0 &&
               io_set_policy(io_admin, 2, 0, 10000, 0, 1, 100000, &left, &e) == 0 &&
               io_set_disk(io_admin, 1, 0, MY_SECTORS, &e) == 0 &&
               io_set_disk(io_admin, 2, MY_SECTORS, MY_SECTORS, &e) == 0,
           "IO tenants 1 and 2: policies and disks");
}

static int open_granted(uint64_t cap, uint64_t grant, uint64_t *ntfn, uint32_t *memory,
                        struct io_error *e)
{
    uint32_t tenant, buffers;
    uint64_t disk;
    *ntfn = bk_slot_alloc();
    return io_open_granted(cap, BK_CAP_ROOT_VSPACE, MY_VADDR, grant, &tenant, &disk, &buffers,
                           memory, *ntfn, e);
}

/* 8 writes of patterns, then 8 reads checked: the bad completions. */
static unsigned round_trip(void)
{
    unsigned bad = 0;
    struct io_cqe c[IO_RING_BUFFERS];
    for (int pass = 0; pass < 2; pass++) {
        uint16_t op = pass == 0 ? IO_OP_WRITE : IO_OP_READ;
        for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
            if (op == IO_OP_WRITE)
                pattern_fill(me.buf[b], 4096, SEED + b);
            else
                memset(me.buf[b], 0, 4096);
            tenant_push(&me, b, op, (uint64_t)b * 4096, 4096, (uint16_t)b, 0);
        }
        uint32_t accepted = 0;
        bad += tenant_kick(&me, &accepted, NULL) != 0 || accepted != IO_RING_BUFFERS;
        tenant_wait(&me, c, IO_RING_BUFFERS);
        for (unsigned k = 0; k < IO_RING_BUFFERS && op == IO_OP_READ; k++) {
            uint8_t want[4096];
            pattern_fill(want, sizeof(want), SEED + c[k].tag);
            bad += c[k].status != IO_ST_OK || memcmp(want, me.buf[c[k].tag], 4096) != 0;
        }
    }
    return bad;
}

static void refusals(uint64_t grant)
{
    struct mem_error e;
    struct io_error ie;
    uint64_t bytes, slot = bk_slot_alloc(), ntfn, small = account("io-small", 64 * KiB), g;
    uint32_t memory;
    mem_refused(mem_grant(mint(mem_ep, small), 0, 1, 1, &g, &e), &e, MEM_ERR_QUOTA,
                "tenant io-small: memory quota 64 KiB exhausted (asked 64 KiB, 60 KiB left)");
    mem_refused(mem_grant(t1_cap, 0, 0, 1, &g, &e), &e, MEM_ERR_BAD_SERVER,
                "tenant io-t1: no server 0 (servers are 1 to 15)");
    mem_refused(mem_take_grant(t1_cap, grant, 1, &bytes, slot, &e), &e, MEM_ERR_NOT_SERVER,
                "the caller (badge 1) is not a server: only a server takes a grant");
    io_refused(open_granted(two, grant, &ntfn, &memory, &ie), &ie, IO_ERR_GRANT_REFUSED,
               "tenant 2: grant 1 refused by the memory server (error 65)");
    io_refused(open_granted(one, 0, &ntfn, &memory, &ie), &ie, IO_ERR_GRANT_REFUSED,
               "tenant 1: grant 0 refused by the memory server (error 0)");
    uint64_t returned;
    expect(mem_destroy_account(mem_ep, small, &returned, &e) == 0 && returned == 4 * KiB,
           "io-small closed: its directory page back");
}

static void session(void)
{
    struct mem_error e;
    struct io_error ie;
    uint64_t free0 = free_memory(), used0 = used_by(t1), grant = 0, ntfn, returned;
    uint32_t memory = 0, cancelled, in_device;
    expect(mem_grant(t1_cap, 0, 1, 1, &grant, &e) == 0 && grant == 1 &&
               used_by(t1) == used0 + GRANT && free_memory() == free0 - GRANT,
           "a grant of 64 KiB toward server 1: the account charged, the free memory less");
    refusals(grant);
    expect(open_granted(one, grant, &ntfn, &memory, &ie) == 0 && memory == GRANT,
           "IO tenant 1 opens its session with the grant");
    tenant_attach(&me, one, ntfn, MY_VADDR);
    expect(round_trip() == 0, "8 writes and 8 reads through the granted buffers, data intact");
    expect(used_by(t1) == used0 + GRANT, "the account pays 64 KiB while the session is open");
    mem_refused(mem_end_grant(t1_cap, grant, &returned, &e), &e, MEM_ERR_GRANT_TAKEN,
                "tenant io-t1: grant 1 is held by server 1: it ends with the session");
    mem_refused(mem_destroy_account(mem_ep, t1, &returned, &e), &e, MEM_ERR_GRANT_IN_USE,
                "tenant io-t1: 64 KiB of it are still held by server 1 (grant 1): close the "
                "session first");
    expect(io_close_tenant(io_admin, 1, &cancelled, &in_device, &ie) == 0 && in_device == 0 &&
               used_by(t1) == used0 && free_memory() == free0,
           "the session closed: the 64 KiB back in the account and the free memory, exactly");
}

/* What the session is made of is the grant: the administrator ending it
 * (what it does for a dead server) takes the session's pages and tables
 * out of the tenant's space too, wherever their caps lie. */
static void admin_ends(void)
{
    struct mem_error e;
    struct io_error ie;
    uint64_t used0 = used_by(t1), grant = 0, ntfn, returned = 0;
    uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, 12), at = MY_VADDR + 4096;
    uint32_t memory, left, cancelled, in_device;
    io_set_policy(io_admin, 1, 100, 10000, 0, 1, 100000, &left, &ie);
    expect(mem_grant(t1_cap, 0, 1, 1, &grant, &e) == 0 &&
               open_granted(one, grant, &ntfn, &memory, &ie) == 0 &&
               sys_frame_map(frame, BK_CAP_ROOT_VSPACE, at, BK_VM_READ, 0) == -BK_ERR_DELETE_FIRST,
           "a session open on a new grant: its first buffer mapped in our space");
    expect(mem_end_grant(mem_ep, grant, &returned, &e) == 0 && returned == GRANT &&
               used_by(t1) == used0,
           "the administrator ends the grant under the live session: 64 KiB back");
    expect(sys_frame_map(frame, BK_CAP_ROOT_VSPACE, at, BK_VM_READ, 0) == -BK_ERR_FAILED_LOOKUP,
           "the session's buffer and the table under it are gone from our space");
    expect(io_close_tenant(io_admin, 1, &cancelled, &in_device, &ie) == 0 && in_device == 0 &&
               used_by(t1) == used0,
           "io-server closes what is left of that session, charging nothing more");
    sys_cnode_delete(BK_CAP_ROOT_CNODE, frame, W);
}

static void cancel_and_kill(uint64_t free_before)
{
    struct mem_error e;
    struct io_error ie;
    uint64_t used0 = used_by(t1), grant = 0, returned = 0, ntfn;
    uint32_t memory, left, cancelled, in_device;
    expect(mem_grant(t1_cap, 0, 1, 1, &grant, &e) == 0 &&
               mem_end_grant(t1_cap, grant, &returned, &e) == 0 && returned == GRANT &&
               used_by(t1) == used0,
           "a grant no server took, cancelled by its tenant: 64 KiB back");
    mem_refused(mem_end_grant(t1_cap, grant, &returned, &e), &e, MEM_ERR_UNKNOWN_GRANT,
                "no grant 3 for the caller (badge 0x1): unknown, another's, or taken already");
    io_set_policy(io_admin, 1, 100, 10000, 0, 1, 100000, &left, &ie);
    expect(mem_grant(t1_cap, 0, 1, 1, &grant, &e) == 0 &&
               open_granted(one, grant, &ntfn, &memory, &ie) == 0,
           "a second session opened with a new grant");
    uint64_t spare = 0;
    expect(mem_grant(t1_cap, 0, 1, 1, &spare, &e) == 0 && used_by(t1) == used0 + 2 * GRANT,
           "and one grant more, not taken: 128 KiB charged");
    /* The tenant dies with its session open: its administrator closes the
     * session, then the account (the untaken grant goes with it). */
    expect(io_close_tenant(io_admin, 1, &cancelled, &in_device, &ie) == 0 && in_device == 0 &&
               mem_destroy_account(mem_ep, t1, &returned, &e) == 0 &&
               returned == used0 + GRANT && free_memory() == free_before,
           "killed with a session open: every byte back, the free memory as before the accounts");
}

int main(const struct bk_bootinfo *bi)
{
    const char *err = setup(bi);
    if (err) {
        debug_printf("trade: FAILED: %s\n", err);
        return 1;
    }
    uint64_t free_before = free_memory();
    t1 = account("io-t1", 256 * KiB);
    t1_cap = mint(mem_ep, t1);
    io_tenants();
    session();
    admin_ends();
    cancel_and_kill(free_before);
    debug_printf("trade: %d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
