/*
 * The driver behind the IO server (docs/io.md, "The path of a request"):
 * what the scheduler picks goes to blk-server with Block: Submit, straight
 * into the session's buffer page the driver holds a cap to, while the
 * device has a free slot (DEVICE_DEPTH in flight); the driver signals our
 * notification when some finish and Block: Reap brings them back, each
 * then completed in its tenant's ring. How many go into the device at once
 * follows the device's measured speed and the tenants' tightest latency
 * target (iodepth.c), at most DEVICE_DEPTH.
 *
 * A request's driver tag is its tenant and buffer: tenant t's buffer b is
 * t * IO_RING_BUFFERS + b. A session is reclaimed only once none of its
 * requests is in the device, so a tag never outlives its request.
 */
#include <protocols/blk_client.h>

#include "io.h"

#define DEVICE_DEPTH 8u /* the driver's request slots (servers/blk: BLK_SLOTS) */
#define SECTOR_SHIFT 9u

const char *backend_start(uint64_t notification)
{
    uint64_t sectors = 0;
    uint32_t sector_size = 0, max = 0;
    if (blk_info(io.driver, &sectors, &sector_size, &max, NULL) != 0 ||
        sector_size != IO_RING_SECTOR)
        return "the block driver does not answer Block: Info (or its sectors are not 512 bytes)";
    if (blk_subscribe(io.driver, notification, NULL) != 0)
        return "the block driver refused our notification";
    io.driver_notification = notification;
    io.device_sectors = sectors;
    iodepth_init(&io.depth, DEVICE_DEPTH);
    return NULL;
}

/* Sends one dispatched request to the driver; on refusal it completes at
 * once with the driver's error. */
static void send(const struct iosched_request *r)
{
    unsigned t = r->tenant, b = (unsigned)r->cookie;
    struct session *s = &io.sessions[t];
    struct request *q = &s->req[b];
    q->sched = *r;
    s->queued--;
    struct blk_error e;
    watch_call_begin();
    int err = blk_submit(io.driver, t * IO_RING_BUFFERS + b, q->write, q->sector, q->count,
                         s->driver_buffer[b], &e);
    if (err == BK_PROTO_ERR_IPC) {
        io.driver_down = true; /* it died: the request counts as in the device, re-issued later */
    } else if (err != 0) {
        q->state = REQ_FREE;
        iosched_complete(&io.sched, r, debug_time_ns());
        session_complete(t, q->tag, IO_ST_DEVICE | 255u << 8, 0);
        watch_settle(false, 0);
        return;
    }
    q->state = REQ_DEVICE;
    s->in_device++;
    io.in_device++;
    watch_settle(false, 0);
    iodepth_dispatched(&io.depth, r->dispatch);
    /* Each new most, from 2 (the tests look for it): how deep the device
     * got depends on the host too (a loaded host's disk may finish the
     * first before the eighth goes out), so they ask for several. */
    static unsigned most;
    if (io.in_device > most && io.in_device >= 2) {
        most = io.in_device;
        debug_printf("io-server: %u requests in the device at once\n", most);
    }
}

/* The driver was given up on: what the scheduler dispatches fails at
 * once, with the status that says so. Limits still pace it (the caller
 * arms the timer for the rest): the scheduler's tags stay true. */
static void fail_queued(uint64_t now)
{
    struct iosched_request r;
    while (iosched_dispatch(&io.sched, now, &r)) {
        if (r.tenant >= IOSCHED_TENANTS || r.cookie >= IO_RING_BUFFERS)
            continue;
        struct session *s = &io.sessions[r.tenant];
        s->req[r.cookie].state = REQ_FREE;
        s->queued--;
        iosched_complete(&io.sched, &r, now);
        session_complete(r.tenant, s->req[r.cookie].tag, IO_ST_DRIVER_GONE, 0);
    }
}

void backend_pump(void)
{
    struct iosched_request r;
    uint64_t now = debug_time_ns(); /* one reading for the batch: one kernel call */
    if (io.driver_gone)
        fail_queued(now);
    while (!io.driver_down && !io.driver_gone && io.in_device < DEVICE_DEPTH && iodepth_room(&io.depth) &&
           iosched_dispatch(&io.sched, now, &r)) {
        if (r.tenant >= IOSCHED_TENANTS || r.cookie >= IO_RING_BUFFERS ||
            io.sessions[r.tenant].req[r.cookie].state != REQ_QUEUED)
            continue; /* cannot happen: the scheduler gives back what we queued */
        send(&r);
    }
    /* Requests held by their limits with the device idle: only the clock
     * will let them go. (With requests in the device, their completions
     * bring us back here.) */
    if (io.in_device == 0) {
        uint64_t next = iosched_next_eligible(&io.sched, now);
        if (next != UINT64_MAX)
            timer_arm(next);
    }
    session_signal_all();
}

/* The depth moved: said on the console, the first few times only (a
 * device whose speed sits at a boundary could move it on every window). */
static void say_depth(unsigned old)
{
    static unsigned said;
    if (said >= 16)
        return;
    said++;
    const struct iodepth *d = &io.depth;
    debug_printf("io-server: device depth %u -> %u (%llu completions/s, %llu us in the "
                 "device, tightest latency target %llu us)\n",
                 old, d->depth, (unsigned long long)d->rate,
                 (unsigned long long)(d->latency_ns / 1000),
                 (unsigned long long)(d->target_ns / 1000));
}

/* The driver finished the request with `tag` and virtio status `status` at
 * `now`. */
static void finished(uint32_t tag, unsigned status, uint64_t now)
{
    unsigned t = tag / IO_RING_BUFFERS, b = tag % IO_RING_BUFFERS;
    if (t >= IOSCHED_TENANTS)
        return;
    struct session *s = &io.sessions[t];
    struct request *q = &s->req[b];
    if (q->state != REQ_DEVICE)
        return;
    q->state = REQ_FREE;
    s->in_device--;
    io.in_device--;
    unsigned old = io.depth.depth;
    if (iodepth_completed(&io.depth, q->sched.dispatch, now) &&
        iodepth_measure(&io.depth, now, iosched_tightest_target(&io.sched)))
        say_depth(old);
    iosched_complete(&io.sched, &q->sched, now);
    if (status == 0)
        session_complete(t, q->tag, IO_ST_OK, q->count << SECTOR_SHIFT);
    else
        session_complete(t, q->tag, IO_ST_DEVICE | (status & 0xff) << 8, 0);
    session_reclaim_if_idle(t);
}

void backend_completions(void)
{
    uint32_t n;
    do {
        uint64_t d[DEVICE_DEPTH] = { 0 };
        n = 0;
        if (io.driver_down || io.driver_gone)
            return; /* a signal from a driver that died since: its requests are re-issued */
        watch_call_begin();
        int err = blk_reap(io.driver, &n, &d[0], &d[1], &d[2], &d[3], &d[4], &d[5], &d[6],
                           &d[7], NULL);
        if (err == BK_PROTO_ERR_IPC)
            io.driver_down = true;
        if (err != 0) {
            watch_settle(false, 0);
            return;
        }
        if (n > 0)
            io.completed_since_restart = true;
        uint64_t now = debug_time_ns(); /* one reading for the batch */
        for (uint32_t i = 0; i < n && i < DEVICE_DEPTH; i++)
            finished((uint32_t)(d[i] >> 8), (unsigned)(d[i] & 0xff), now);
        watch_settle(n > 0, now);
    } while (n == DEVICE_DEPTH);
}

/* ---- driver restart (docs/io.md, "Driver restart") ---------------------- */

/* Sends request b of tenant t, which is in the device for the scheduler
 * and the depth bound already, to the new driver. False if it died. */
static bool resend(unsigned t, unsigned b)
{
    struct session *s = &io.sessions[t];
    struct request *q = &s->req[b];
    struct blk_error e;
    watch_call_begin();
    int err = blk_submit(io.driver, t * IO_RING_BUFFERS + b, q->write, q->sector, q->count,
                         s->driver_buffer[b], &e);
    if (err == BK_PROTO_ERR_IPC)
        return false;
    if (err != 0) { /* refused by a driver that started: the device's answer */
        q->state = REQ_FREE;
        s->in_device--;
        io.in_device--;
        iosched_complete(&io.sched, &q->sched, debug_time_ns());
        session_complete(t, q->tag, IO_ST_DEVICE | 255u << 8, 0);
        session_reclaim_if_idle(t);
    }
    return true;
}

bool backend_reattach(uint32_t *reissued)
{
    uint64_t sectors = 0;
    uint32_t sector_size = 0, max = 0;
    *reissued = 0;
    io.driver_down = true;
    watch_call_begin();
    if (blk_info(io.driver, &sectors, &sector_size, &max, NULL) != 0 ||
        blk_subscribe(io.driver, io.driver_notification, NULL) != 0)
        return false;
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        if (session_register_buffers(t) != 0)
            return false;
    }
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
            if (io.sessions[t].req[b].state != REQ_DEVICE)
                continue;
            if (!resend(t, b))
                return false;
            (*reissued)++;
        }
    }
    io.driver_down = false;
    return true;
}

void backend_give_up(void)
{
    io.driver_gone = true;
    uint64_t now = debug_time_ns();
    unsigned failed = 0;
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        struct session *s = &io.sessions[t];
        for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
            struct request *q = &s->req[b];
            if (q->state != REQ_DEVICE)
                continue;
            q->state = REQ_FREE;
            s->in_device--;
            io.in_device--;
            iosched_complete(&io.sched, &q->sched, now);
            session_complete(t, q->tag, IO_ST_DRIVER_GONE, 0);
            failed++;
        }
        session_reclaim_if_idle(t);
    }
    debug_printf("io-server: the driver of the disk of %llu sectors died %u times in a row: "
                 "given up, %u requests in its device failed\n",
                 (unsigned long long)io.device_sectors, io.deaths_in_a_row, failed);
    /* The queued ones: as the scheduler lets them go (a limit may hold
     * some; the timer brings those), each failed at once. */
    backend_pump();
}
