/*
 * io-server: the IO server (docs/io.md; protocol.toml). It holds the
 * scheduler of iosched.c, the tenants' sessions (session.c) and the driver
 * behind them (backend.c). Authority is the badge: 0 is the administrator,
 * 1 to IOSCHED_TENANTS a tenant (the scheduler's tenant badge - 1).
 *
 * Its spawner (spawn.c) leaves its endpoint, the driver's endpoint and its
 * memory in the slots io.h names, the Debug cap (whose clock, Debug: Time,
 * is the scheduler's), its VSpace and SchedControl (for the timer
 * thread). One wait serves everyone: the notification the driver and the
 * timer signal is bound to our thread, so it ends our Recv on the
 * endpoint too.
 */
#include <protocols/io_server.h>

#include "io.h"

/* The device's capacity the reservations may sum to: configured, not
 * measured (docs/io.md, Not done yet). */
#define CAPACITY_IOPS 1000u
#define NS_PER_US 1000ull
/* The driver signals our notification with this badge: above every
 * tenant's endpoint badge, so a wake-up by it never reads as a message. */
#define DRIVER_BIT (1ull << 63)

struct io_server io;
#define sched (io.sched)

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

int io_handle_close_tenant(struct io_call *call, uint64_t tenant, uint32_t *cancelled,
                           uint32_t *in_device)
{
    if (call->badge != 0)
        return io_fail_not_admin(call, call->badge);
    int t = tenant_index(tenant);
    if (t < 0 || !sched.tenants[t].active)
        return io_fail_unknown_tenant(call, tenant);
    *cancelled = iosched_close(&sched, (unsigned)t);
    session_close((unsigned)t);
    *in_device = io.sessions[t].in_device;
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

/* ---- virtual disks and sessions --------------------------------------- */

int io_handle_set_disk(struct io_call *call, uint64_t tenant, uint64_t first_sector,
                       uint64_t sectors)
{
    if (call->badge != 0)
        return io_fail_not_admin(call, call->badge);
    int t = tenant_index(tenant);
    if (t < 0)
        return io_fail_unknown_tenant(call, tenant);
    if (sectors == 0 || first_sector >= io.device_sectors ||
        sectors > io.device_sectors - first_sector)
        return io_fail_bad_disk(call, first_sector, sectors, io.device_sectors);
    for (unsigned o = 0; o < IOSCHED_TENANTS; o++) {
        const struct session *s = &io.sessions[o];
        if (o == (unsigned)t || !s->sectors)
            continue;
        if (first_sector < s->first_sector + s->sectors && s->first_sector < first_sector + sectors)
            return io_fail_disk_overlap(call, tenant, o + 1, s->first_sector, s->sectors);
    }
    io.sessions[t].first_sector = first_sector;
    io.sessions[t].sectors = sectors;
    return 0;
}

/* The caller's tenant index if it is a tenant with a session; else fails
 * the call and gives -1. */
static int session_caller(struct io_call *call, int *fail)
{
    int t = tenant_index(call->badge);
    if (t < 0) {
        *fail = io_fail_not_tenant(call, call->badge);
        return -1;
    }
    if (!io.sessions[t].open || io.sessions[t].closing) {
        *fail = io_fail_no_session(call, call->badge);
        return -1;
    }
    return t;
}

/* What open and open_granted answer. */
struct opened {
    uint32_t *tenant;
    uint64_t *disk_bytes;
    uint32_t *buffers, *memory;
    bk_cptr_t *notification;
};

/* Takes the caller's grant from the memory server (open_granted): 0, or
 * the call failed with grant_refused (no grant named, no memory server, or
 * its refusal). */
static int take_grant(struct io_call *call, unsigned t, uint64_t grant)
{
    if (grant == 0 || (debug_cap_identify(IO_SLOT_MEM_SERVER) & 0xff) != BK_OBJ_ENDPOINT)
        return io_fail_grant_refused(call, call->badge, grant, 0);
    int r = session_take_grant(t, grant);
    return r == 0 ? 0 : io_fail_grant_refused(call, call->badge, grant, (uint64_t)r);
}

/* Open's checks, then the session from our memory, or (`granted`) from
 * the tenant's grant. */
static int open_session(struct io_call *call, uint64_t vspace, uint64_t vaddr, bool granted,
                        uint64_t grant, const struct opened *out)
{
    int t = tenant_index(call->badge);
    if (t < 0)
        return io_fail_not_tenant(call, call->badge);
    struct session *s = &io.sessions[t];
    if (!sched.tenants[t].active)
        return io_fail_unknown_tenant(call, call->badge);
    if (!s->sectors)
        return io_fail_no_disk(call, call->badge);
    if (s->closing)
        return io_fail_closing(call, call->badge, s->in_device);
    if (s->open)
        return io_fail_session_open(call, call->badge);
    if (!vaddr || vaddr % 4096 || vaddr > UINT64_MAX - IO_SESSION_PAGES * 4096ull)
        return io_fail_bad_address(call, vaddr);
    if (!io.ready)
        return io_fail_device(call, 0);
    if (io.driver_gone)
        return io_fail_driver_given_up(call, io.device_sectors, io.deaths_in_a_row);
    if (io.driver_down)
        return io_fail_driver_down(call, io.deaths_in_a_row);
    if ((debug_cap_identify(vspace) & 0xff) != BK_OBJ_VSPACE)
        return io_fail_map_failed(call, call->badge, BK_ERR_INVALID_CAPABILITY);
    if (granted) {
        int err = take_grant(call, (unsigned)t, grant);
        if (err)
            return err;
    }
    uint64_t blk_error = 0;
    long r = session_open((unsigned)t, vspace, vaddr, &blk_error);
    /* A Call to the driver that the kernel failed: the driver died while
     * we registered the buffers (its supervisor restarts it). The session
     * is undone, a grant ended with it: a client asks again, with a new
     * grant, as for driver_down before we took it. */
    if (r == SESSION_DRIVER_REFUSED && blk_error == BK_PROTO_ERR_IPC)
        return io_fail_driver_down(call, io.deaths_in_a_row);
    if (r == SESSION_DRIVER_REFUSED)
        return io_fail_device(call, blk_error);
    if (r != 0)
        return io_fail_map_failed(call, call->badge, (uint64_t)r);
    *out->tenant = (uint32_t)call->badge;
    *out->disk_bytes = s->sectors * IO_RING_SECTOR;
    *out->buffers = IO_RING_BUFFERS;
    *out->memory = 1u << IO_SESSION_BITS;
    *out->notification = s->notification_copy;
    return 0;
}

int io_handle_open(struct io_call *call, uint64_t vspace, uint64_t vaddr, uint32_t *tenant,
                   uint64_t *disk_bytes, uint32_t *buffers, uint32_t *memory,
                   bk_cptr_t *notification)
{
    struct opened out = { tenant, disk_bytes, buffers, memory, notification };
    return open_session(call, vspace, vaddr, false, 0, &out);
}

int io_handle_open_granted(struct io_call *call, uint64_t vspace, uint64_t vaddr, uint64_t grant,
                           uint32_t *tenant, uint64_t *disk_bytes, uint32_t *buffers,
                           uint32_t *memory, bk_cptr_t *notification)
{
    struct opened out = { tenant, disk_bytes, buffers, memory, notification };
    return open_session(call, vspace, vaddr, true, grant, &out);
}

int io_handle_kick(struct io_call *call, uint32_t *accepted, uint32_t *completions)
{
    int fail = 0, t = session_caller(call, &fail);
    if (t < 0)
        return fail;
    if (!session_read_requests((unsigned)t, accepted)) {
        const volatile struct io_ring *ring = io.sessions[t].ring;
        return io_fail_ring_corrupt(call, call->badge, io.sessions[t].sq_head, ring->sq_tail,
                                    ring->cq_head, io.sessions[t].cq_tail);
    }
    backend_pump();
    *completions = session_completions((unsigned)t);
    return 0;
}

/* The session's doorbell, minted from our notification the first time it
 * is asked for; the answer carries a copy (send right only), which the
 * session's close revokes. */
int io_handle_doorbell(struct io_call *call, bk_cptr_t *doorbell)
{
    int fail = 0, t = session_caller(call, &fail);
    if (t < 0)
        return fail;
    struct session *s = &io.sessions[t];
    if (!s->doorbell) {
        uint64_t slot = bk_slot_alloc();
        if (!slot || sys_cnode_mint(BK_CAP_ROOT_CNODE, slot, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                                    io.wake, BK_WORD_BITS, BK_RIGHT_WRITE,
                                    KICK_BIT | (1ull << t)) != 0) {
            if (slot)
                bk_slot_free(slot);
            return io_fail_no_session(call, call->badge); /* out of slots: as good as none */
        }
        s->doorbell = slot;
    }
    *doorbell = s->doorbell;
    return 0;
}

/* The sessions whose doorbells rang (bits 0-7 of the badge), each read as
 * a kick would read it; a ring refused (impossible indices) reads nothing,
 * and there is nobody to tell. */
static void doorbells_rang(uint64_t badge)
{
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        uint32_t accepted = 0;
        if ((badge & (1ull << t)) && io.sessions[t].open && !io.sessions[t].closing)
            (void)session_read_requests(t, &accepted);
    }
}

/* ---- driver restart (docs/io.md, "Driver restart") --------------------- */

/* The driver's cap in IO_SLOT_DRIVER becomes `fresh` (moved from the
 * receive slot); the dead incarnation's, if its supervisor left it, goes. */
static void take_driver(uint64_t fresh)
{
    sys_cnode_delete(BK_CAP_ROOT_CNODE, IO_SLOT_DRIVER, BK_WORD_BITS);
    sys_cnode_move(BK_CAP_ROOT_CNODE, IO_SLOT_DRIVER, BK_WORD_BITS, BK_CAP_ROOT_CNODE, fresh,
                   BK_WORD_BITS);
}

int io_handle_driver_restarted(struct io_call *call, uint64_t driver, uint32_t *deaths_in_a_row,
                               uint32_t *reissued)
{
    if (call->badge != 0)
        return io_fail_not_admin(call, call->badge);
    uint64_t type = debug_cap_identify(driver) & 0xff;
    if (type != BK_OBJ_ENDPOINT)
        return io_fail_not_a_driver(call, type);
    if (io.driver_gone) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, driver, BK_WORD_BITS);
        return io_fail_driver_given_up(call, io.device_sectors, io.deaths_in_a_row);
    }
    /* Whatever its Calls told us, the incarnation we knew is dead. */
    io.driver_down = true;
    io.deaths_in_a_row = io.completed_since_restart ? 1 : io.deaths_in_a_row + 1;
    io.completed_since_restart = false;
    if (io.deaths_in_a_row > IO_DRIVER_MAX_DEATHS) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, driver, BK_WORD_BITS);
        backend_give_up();
        return io_fail_driver_given_up(call, io.device_sectors, io.deaths_in_a_row);
    }
    take_driver(driver);
    watch_restarted(); /* a hang of the new incarnation, even in what follows, is reported */
    bool up = backend_reattach(reissued);
    watch_settle(true, 0); /* the wait starts over now (or is over: nothing owed, or down) */
    if (!up)
        return io_fail_driver_down(call, io.deaths_in_a_row);
    *deaths_in_a_row = io.deaths_in_a_row;
    backend_pump(); /* what waited while it was down */
    return 0;
}

/* Hang reports go to a notification of the supervisor's; the timeout in
 * ms, bounded so that a check every quarter of it stays cheap (10 ms) and
 * the wait stays meaningful (a minute). */
#define WATCH_MIN_MS 10u
#define WATCH_MAX_MS 60000u

int io_handle_watch_driver(struct io_call *call, uint64_t notification, uint32_t timeout_ms)
{
    if (call->badge != 0)
        return io_fail_not_admin(call, call->badge);
    uint64_t id = debug_cap_identify(notification);
    uint64_t type = id & 0xff;
    if (type != BK_OBJ_NOTIFICATION || !((id >> 8) & BK_RIGHT_WRITE) ||
        timeout_ms < WATCH_MIN_MS || timeout_ms > WATCH_MAX_MS)
        return io_fail_bad_watch(call, type, timeout_ms);
    const char *err = watch_driver(notification, timeout_ms);
    if (err) {
        debug_printf("io-server: watching the driver failed: %s\n", err);
        return io_fail_bad_watch(call, type, timeout_ms);
    }
    debug_printf("io-server: watching the driver: a hang is %u ms with requests owed and none "
                 "completed\n",
                 timeout_ms);
    return 0;
}

/* ---- start and loop --------------------------------------------------- */

/* libsys's allocators over our own memory (the start-info page lists no
 * untyped: we describe ours), the tenants' session untypeds carved from
 * the pool, and the driver: our notification bound and subscribed. */
static const char *start(const struct bk_bootinfo *info)
{
    static struct bk_bootinfo mine;
    mine = *info;
    mine.untyped_count = 1;
    mine.untyped[0] = (struct bk_untyped_desc){ .slot = IO_SLOT_MEMORY,
                                                .size_bits = IO_MEMORY_BITS };
    mine.first_free_slot = IO_SLOT_FREE;
    bk_objects_init(&mine);
    bk_slots_init(IO_SLOT_FREE, IO_CNODE_SLOTS);
    if (sys_untyped_retype(IO_SLOT_POOL, BK_OBJ_UNTYPED, IO_SESSION_BITS, BK_CAP_ROOT_CNODE, 0, 0,
                           IO_SLOT_SESSION, IOSCHED_TENANTS) != 0)
        return "no session memory (a pool of 8 x 64 KiB in slot IO_SLOT_POOL)";
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++)
        io.sessions[t].untyped = IO_SLOT_SESSION + t;
    io.driver = IO_SLOT_DRIVER;
    uint64_t n = bk_alloc_object(BK_OBJ_NOTIFICATION, 0), badged = bk_slot_alloc();
    if (!n || !badged || sys_tcb_bind_notification(BK_CAP_ROOT_TCB, n) != 0 ||
        sys_cnode_mint(BK_CAP_ROOT_CNODE, badged, BK_WORD_BITS, BK_CAP_ROOT_CNODE, n,
                       BK_WORD_BITS, BK_RIGHT_WRITE, DRIVER_BIT) != 0)
        return "cannot make and bind our notification";
    io.wake = n;
    uint64_t timer = bk_slot_alloc();
    if (!timer || sys_cnode_mint(BK_CAP_ROOT_CNODE, timer, BK_WORD_BITS, BK_CAP_ROOT_CNODE, n,
                                 BK_WORD_BITS, BK_RIGHT_WRITE, TIMER_BIT) != 0)
        return "cannot make the timer's cap";
    const char *err = timer_start(timer);
    return err ? err : backend_start(badged);
}

/* A wake-up by the driver's, the timer's or a doorbell's signal rather
 * than a message (a tenant's or the administrator's badge is at most 8). */
static bool is_signal(const struct bk_msg *m)
{
    return m->info == 0 && (m->badge & (DRIVER_BIT | TIMER_BIT | KICK_BIT));
}

int main(const struct bk_bootinfo *info)
{
    iosched_init(&sched, CAPACITY_IOPS);
    struct bk_proto_server server;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, IO_SLOT_RECV, BK_WORD_BITS, NULL);
    struct bk_msg m = { 0 };
    sys_recv(IO_SLOT_ENDPOINT, &m);
    /* A request means the spawner is done handing things over. Starting
     * makes calls of our own, which reuse the IPC buffer where the
     * request's later words (and a cap's badge) wait: keep them. */
    static struct bk_ipc_buffer first;
    first = *bk_ipc_buffer;
    const char *err = start(info);
    *bk_ipc_buffer = first;
    if (err)
        debug_printf("io-server: no sessions: %s\n", err);
    else
        debug_printf("io-server: serving a disk of %llu sectors\n",
                     (unsigned long long)io.device_sectors);
    io.ready = err == NULL;
    for (;;) {
        if (is_signal(&m)) {
            if (m.badge & TIMER_BIT)
                timer_fired();
            if (m.badge & DRIVER_BIT)
                backend_completions();
            if (m.badge & KICK_BIT)
                doorbells_rang(m.badge);
            backend_pump();
            sys_recv(IO_SLOT_ENDPOINT, &m); /* nobody to answer */
            continue;
        }
        io_dispatch(&server, &m);
        sys_reply_recv(IO_SLOT_ENDPOINT, &m);
    }
}
