/*
 * The IO server's first part (servers/io, issue 14): the root task spawns
 * io-server, is its administrator (the unbadged endpoint cap) and plays a
 * tenant (a copy badged 1). Checks the policy methods' refusals with their
 * texts (bad limit, reservation above the limit, weight, latency target,
 * admission with what is left), the administrator's methods refused to a
 * tenant, a tenant reading its own statistics but not another's, and a
 * closed tenant's reservation freed.
 */
#include <bulkhead/sys.h>
#include <protocols/io_client.h>

#define W BK_WORD_BITS
#define SERVER_PRIORITY 200
#define TARGET_US 10000

static int failures;
static uint64_t ep;

static void expect(int ok, const char *what)
{
    debug_printf("iosrv: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

/* True if the call failed with error `code` and the text `text`. */
static bool refused(int r, const struct io_error *e, int code, const char *text)
{
    char buf[240];
    if (r == 0)
        return false;
    io_error_format(e, buf, sizeof(buf));
    debug_printf("iosrv:   '%s'\n", buf);
    return r == code && strcmp(buf, text) == 0;
}

static int set(uint64_t server, uint64_t tenant, uint32_t res, uint32_t limit, uint32_t weight,
               uint32_t *left, struct io_error *e)
{
    return io_set_policy(server, tenant, res, limit, 0, weight, TARGET_US, left, e);
}

static void check_policies(void)
{
    struct io_error e;
    uint32_t left = 0;
    expect(refused(set(ep, 1, 0, 0, 1, &left, &e), &e, IO_ERR_BAD_LIMIT,
                   "limit 0 IOPS, 0 bytes/s: the IOPS limit must be 1 to 10000000 and the "
                   "bytes limit at most 2^40"), "a limit of 0 refused");
    expect(refused(set(ep, 1, 600, 500, 1, &left, &e), &e, IO_ERR_OVER_LIMIT,
                   "a reservation of 600 IOPS is above the limit of 500 IOPS"),
           "a reservation above the limit refused");
    expect(refused(set(ep, 1, 0, 500, 0, &left, &e), &e, IO_ERR_BAD_WEIGHT,
                   "weight 0: a weight is 1 to 10000"), "weight 0 refused");
    expect(refused(io_set_policy(ep, 1, 0, 500, 0, 1, 0, &left, &e), &e, IO_ERR_BAD_TARGET,
                   "latency target 0 us: a target is 1 us to 10 s"), "a latency target of 0 refused");
    expect(refused(set(ep, 9, 0, 500, 1, &left, &e), &e, IO_ERR_UNKNOWN_TENANT,
                   "no tenant 9 (tenants are 1 to 8, with a policy set)"), "tenant 9 refused");
    expect(set(ep, 1, 600, 1000, 1, &left, &e) == 0 && left == 400, "tenant 1 reserves 600: 400 left");
    expect(refused(set(ep, 2, 500, 1000, 1, &left, &e), &e, IO_ERR_ADMISSION,
                   "tenant 2: reservation 500 IOPS refused (400 IOPS left of 1000)"),
           "tenant 2's 500 refused: 400 left");
    expect(set(ep, 2, 400, 1000, 3, &left, &e) == 0 && left == 0, "tenant 2 reserves 400: 0 left");
}

static void check_tenant_view(void)
{
    uint64_t mine = bk_slot_alloc();
    expect(mine && sys_cnode_mint(BK_CAP_ROOT_CNODE, mine, W, BK_CAP_ROOT_CNODE, ep, W,
                                  BK_RIGHT_WRITE | BK_RIGHT_GRANT, 1) == 0,
           "a cap badged for tenant 1");
    struct io_error e;
    uint32_t left;
    expect(refused(set(mine, 1, 0, 1000, 1, &left, &e), &e, IO_ERR_NOT_ADMIN,
                   "the caller (badge 1) is a tenant: the method is the administrator's"),
           "a tenant cannot set a policy");
    uint64_t ops = 1, bytes = 1, queue = 1, p50 = 1, p99 = 1, misses = 1;
    expect(io_stats(mine, 0, &ops, &bytes, &queue, &p50, &p99, &misses, &e) == 0 &&
               ops == 0 && bytes == 0 && queue == 0 && p50 == 0 && p99 == 0 && misses == 0,
           "a tenant reads its own statistics (nothing done yet)");
    expect(refused(io_stats(mine, 2, &ops, &bytes, &queue, &p50, &p99, &misses, &e), &e,
                   IO_ERR_NOT_ADMIN,
                   "the caller (badge 1) is a tenant: the method is the administrator's"),
           "but not another's");
    uint32_t cancelled = 9, in_device = 9;
    expect(io_close_tenant(ep, 1, &cancelled, &in_device, &e) == 0 && cancelled == 0 &&
               in_device == 0,
           "tenant 1 closed");
    expect(refused(io_stats(mine, 0, &ops, &bytes, &queue, &p50, &p99, &misses, &e), &e,
                   IO_ERR_UNKNOWN_TENANT, "no tenant 1 (tenants are 1 to 8, with a policy set)"),
           "a closed tenant has no statistics");
    expect(set(ep, 3, 600, 1000, 1, &left, &e) == 0 && left == 0,
           "its 600 went to tenant 3");
}

int main(const struct bk_bootinfo *bi)
{
    bk_alloc_init(bi);
    struct bk_process p;
    ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    expect(ep && bk_process_spawn(bi, "io-server", SERVER_PRIORITY, ep, BK_SPAWN_GIVE_DEBUG,
                                  &p) == 0,
           "spawned io-server");
    check_policies();
    check_tenant_view();
    debug_printf("iosrv: %s\n", failures ? "checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
