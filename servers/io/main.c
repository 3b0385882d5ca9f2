/*
 * io-server: the IO server's first part (docs/io.md, "The IO scheduler";
 * protocol.toml). It holds the scheduler of iosched.c and serves its
 * policy and statistics methods; tenants' sessions, their request rings and
 * the driver behind them come next. Authority is the badge: 0 is the
 * administrator, 1 to IOSCHED_TENANTS a tenant (the scheduler's tenant
 * badge - 1).
 *
 * It is spawned with its endpoint in BK_PROCESS_CAP_ARG and the Debug cap
 * (BK_SPAWN_GIVE_DEBUG), whose clock (Debug: Time) is the scheduler's time.
 * Nothing spawns it yet.
 */
#include <bulkhead/sys.h>
#include <protocols/io_server.h>

#include "iosched.h"

#define ENDPOINT BK_PROCESS_CAP_ARG
#define RECV_SLOT BK_PROCESS_FIRST_FREE_SLOT
/* The device's capacity the reservations may sum to: configured, not
 * measured (docs/io.md, Not done yet). */
#define CAPACITY_IOPS 1000u
#define NS_PER_US 1000ull

static struct iosched sched;

/* The scheduler's tenant for the protocol's `tenant` (1 to 8), or -1. */
static int tenant_index(uint64_t tenant)
{
    return tenant >= 1 && tenant <= IOSCHED_TENANTS ? (int)(tenant - 1) : -1;
}

/* Turns the scheduler's refusal into the protocol's error. */
static int refuse(struct io_call *call, enum iosched_error e, uint64_t tenant,
                  const struct iosched_policy *p, uint32_t left)
{
    switch (e) {
    case IOSCHED_ERR_LIMIT:
        return io_fail_bad_limit(call, p->limit_iops, p->limit_bytes);
    case IOSCHED_ERR_RESERVATION:
        return io_fail_over_limit(call, p->reservation_iops, p->limit_iops);
    case IOSCHED_ERR_WEIGHT:
        return io_fail_bad_weight(call, p->weight);
    case IOSCHED_ERR_TARGET:
        return io_fail_bad_target(call, p->latency_target_ns / NS_PER_US);
    case IOSCHED_ERR_ADMISSION:
        return io_fail_admission(call, tenant, p->reservation_iops, left, CAPACITY_IOPS);
    default:
        return io_fail_unknown_tenant(call, tenant);
    }
}

int io_handle_set_policy(struct io_call *call, uint64_t tenant, uint32_t reservation_iops,
                         uint32_t limit_iops, uint64_t limit_bytes, uint32_t weight,
                         uint32_t latency_target_us, uint32_t *reservation_left)
{
    if (call->badge != 0)
        return io_fail_not_admin(call, call->badge);
    int t = tenant_index(tenant);
    if (t < 0)
        return io_fail_unknown_tenant(call, tenant);
    struct iosched_policy p = { .reservation_iops = reservation_iops, .limit_iops = limit_iops,
                                .limit_bytes = limit_bytes, .weight = weight,
                                .latency_target_ns = latency_target_us * NS_PER_US };
    uint32_t left = 0;
    enum iosched_error e = iosched_set_policy(&sched, (unsigned)t, &p, debug_time_ns(), &left);
    if (e != IOSCHED_OK)
        return refuse(call, e, tenant, &p, left);
    *reservation_left = sched.capacity_iops - sched.reserved_iops;
    return 0;
}

int io_handle_close_tenant(struct io_call *call, uint64_t tenant, uint32_t *cancelled)
{
    if (call->badge != 0)
        return io_fail_not_admin(call, call->badge);
    int t = tenant_index(tenant);
    if (t < 0 || !sched.tenants[t].active)
        return io_fail_unknown_tenant(call, tenant);
    *cancelled = iosched_close(&sched, (unsigned)t);
    return 0;
}

int io_handle_stats(struct io_call *call, uint64_t tenant, uint64_t *ops, uint64_t *bytes,
                    uint64_t *queue_ns, uint64_t *p50_ns, uint64_t *p99_ns,
                    uint64_t *target_misses)
{
    if (tenant == 0)
        tenant = call->badge;
    if (call->badge != 0 && call->badge != tenant)
        return io_fail_not_admin(call, call->badge);
    int t = tenant_index(tenant);
    if (t < 0 || !sched.tenants[t].active)
        return io_fail_unknown_tenant(call, tenant);
    const struct iosched_stats *st = iosched_stats(&sched, (unsigned)t);
    *ops = st->ops;
    *bytes = st->bytes;
    *queue_ns = st->queue_ns;
    *p50_ns = iosched_percentile(st, 50);
    *p99_ns = iosched_percentile(st, 99);
    *target_misses = st->target_misses;
    return 0;
}

int main(const struct bk_bootinfo *info)
{
    (void)info;
    iosched_init(&sched, CAPACITY_IOPS);
    struct bk_proto_server server;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, RECV_SLOT, BK_WORD_BITS, NULL);
    struct bk_msg m = { 0 };
    sys_recv(ENDPOINT, &m);
    for (;;) {
        io_dispatch(&server, &m);
        sys_reply_recv(ENDPOINT, &m);
    }
}
