/*
 * Driver restart (issue 14; servers/blk/spawn.c, servers/io/backend.c,
 * docs/io.md "Driver restart"). The root task finds the disk, starts
 * blk-server under its supervision (its faults come here) and io-server in
 * front of it, and is the administrator of both. Three tenants, processes
 * of their own (blk_restart_tenant.c), write patterned pages and read them
 * back while the driver dies:
 *
 *   - killed between requests (before the tenants start, and after);
 *   - killed with requests in the device, at a fixed point of the load and
 *     at a seeded random one (fault injection: the incarnation tells the
 *     supervisor's fault watcher when it posts its Nth Submit, and the
 *     watcher, above it, stops it there);
 *   - faulting by itself with requests in the device (fault injection: it
 *     stores to an unmapped page after its 10th Submit), the fault coming
 *     here as a message;
 *   - faulting during start-up, before its device is up (so two deaths in
 *     a row);
 *   - hanging with requests in the device (fault injection: after its 12th
 *     Submit it stops answering, holding io-server's Call): io-server's
 *     watch (IO: WatchDriver, HANG_TIMEOUT_MS) tells the supervisor's
 *     fault watcher, which stops it as if it had faulted.
 *
 * The events are ordered by what happened, never by counts of completed
 * operations or by time: each death arms the next incarnation's (kill,
 * hang, kill, fault, death in start-up, random kill), so every one comes
 * while the tenants still have work, whatever the host's speed; the
 * incarnations from the hang's on are armed at their 9th Submit or later,
 * and io-server keeps at most 8 in the device, so each completed a
 * request before it dies.
 *
 * Each time the supervisor restarts it with the same device caps and tells
 * io-server, which re-issues what was in the device. Every tenant must see
 * every request OK and every byte back. IO: WatchDriver's and IO:
 * DriverRestarted's refusals are tried (by a tenant, by a cap badged as
 * no tenant, with bad caps and timeouts) and change nothing. Then many
 * restarts in a row (more than the supervisor's free slots would have
 * allowed when each incarnation's objects stayed behind): each incarnation
 * is made of the arena the last one was reclaimed from, so the
 * supervisor's memory and free slots after each are exactly those after
 * the first, and our own 8 pages read back intact from each. Then the limit: a driver that dies
 * at every start is given up on after 4 deaths in a row, the requests
 * waiting for it complete with IO_ST_DRIVER_GONE and open says why, instead
 * of anything hanging.
 */
#include <protocols/io_client.h>

#include "../../servers/blk/blk.h"
#include "../../servers/io/io.h"
#include "blk_restart.h"
#include "io_ring_client.h"

#include <bulkhead/threads.h>

#define W BK_WORD_BITS
#define WATCHER_PRIORITY 210
#define DRIVER_PRIORITY 200
#define SERVER_PRIORITY 190
#define TENANT_PRIORITY 100
#define ROOT_LOW_PRIORITY 50
#define MY_TENANT 4u
#define MY_VADDR 0x48000000ull
#define SEED 0x5eed2026ull
#define HANG_TIMEOUT_MS 200u /* io-server's watch: kernel-clock ms with nothing completed */
#define SPIN_PRIORITY 1
#define FIRST_KILL_SUBMITS 20u  /* the first incarnation under load: killed at this Submit */
#define HANG_SUBMITS 12u        /* the next hangs at this one */
#define SECOND_KILL_SUBMITS 12u /* the next is killed at this one */
#define FAULT_SUBMITS 10u       /* the next faults at this one */
#define RANDOM_KILL_MIN 9u      /* after a start-up death, killed at a seeded one from here */
#define RANDOM_KILL_SPAN 48u
#define SPIN_SUBMITS 3u          /* the spinning incarnation spins at this Submit */
#define MANY_RESTARTS 50u       /* at least; more if the old leak would have lasted longer */

static int failures, passes;
static uint64_t admin, fault_signal;
static struct blk_driver drv;
static struct bk_process tenants[RESTART_TENANTS];
static unsigned restarts, hangs;
static uint64_t restart_ns_min = UINT64_MAX, restart_ns_max;
static bool crash_every_start; /* the limit's test: every incarnation dies in its start-up */
static uint32_t last_deaths;    /* deaths in a row, as the last driver_restarted answered */
/* Fault injection for the next incarnation that is not to die in its
 * start-up (restart_at_mcp() hands it over): how the next death comes. */
static struct {
    uint32_t kill, hang, crash;
} armed;

static void expect(bool ok, const char *what)
{
    failures += !ok;
    passes += ok;
    debug_printf("restart: %s: %s\n", ok ? "ok" : "FAILED", what);
}

static uint64_t mint(uint64_t ep, uint64_t badge)
{
    uint64_t s = bk_slot_alloc();
    sys_cnode_mint(BK_CAP_ROOT_CNODE, s, W, BK_CAP_ROOT_CNODE, ep, W,
                   BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY, badge);
    return s;
}

static const char *setup(const struct bk_bootinfo *bi)
{
    static struct blk_hw hw;
    static char err[BK_PROCESS_ERROR_LEN];
    bk_alloc_init(bi);
    devmem_init(bi);
    fault_signal = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    const char *e = blk_discover(bi, &hw);
    uint64_t signal = bk_slot_alloc(); /* badged: a signal must set a bit */
    if (!e && sys_cnode_mint(BK_CAP_ROOT_CNODE, signal, W, BK_CAP_ROOT_CNODE, fault_signal, W,
                             BK_RIGHT_WRITE, 1) != 0)
        e = "cannot mint the fault signal";
    if (!e)
        e = blk_supervise(bi, &hw, DRIVER_PRIORITY, WATCHER_PRIORITY, signal, &drv, err,
                          sizeof(err));
    if (!e)
        e = io_spawn(bi, SERVER_PRIORITY, mint(drv.endpoint, 1), &admin, err, sizeof(err));
    return e;
}

/* Below everything: runs only when every other thread waits. Under
 * QEMU's -icount sleep=off an idle guest's clock jumps to its next timer,
 * so a disk write the loaded host is slow over would pass for any length
 * of guest time, and io-server's watch would take a healthy driver for a
 * hung one; with this thread the guest never idles and its clock counts
 * instructions, as the test needs. */
static void *spin(void *arg)
{
    (void)arg;
    for (;;) {
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
    }
    return NULL;
}

/* IO: WatchDriver as `caller` with `cap` (moved away: the server keeps or
 * deletes it); the error code and its text. */
static int watch_as(uint64_t caller, uint64_t cap, uint32_t timeout_ms, char *text, size_t size)
{
    struct io_error e;
    int r = io_watch_driver(caller, cap, timeout_ms, &e);
    io_error_format(&e, text, size);
    return r;
}

/* io-server watches the driver for hangs, reporting to our fault watcher;
 * its refusals first: a tenant, a cap that is no notification, timeouts
 * out of bounds. */
static void watch(void)
{
    char text[240], what[320];
    bk_thread_handle_t *spinner;
    expect(bk_thread_create(&spinner, spin, NULL, SPIN_PRIORITY) == 0,
           "a thread spins below everything: the guest's clock counts instructions");
    int r = watch_as(mint(admin, 1), blk_hang_report_cap(&drv), 500, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "IO: WatchDriver by tenant 1 refused: \"%s\"", text);
    expect(r == IO_ERR_NOT_ADMIN, what);
    r = watch_as(admin, mint(drv.endpoint, 7), 500, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "IO: WatchDriver with an endpoint cap refused: \"%s\"", text);
    expect(r == IO_ERR_BAD_WATCH, what);
    r = watch_as(admin, blk_hang_report_cap(&drv), 9, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "IO: WatchDriver with a 9 ms timeout refused: \"%s\"", text);
    expect(r == IO_ERR_BAD_WATCH &&
               strcmp(text, "cannot watch the driver with a cap of object type 5 and a timeout "
                            "of 9 ms (a writable notification and 10 to 60000 ms)") == 0,
           what);
    r = watch_as(admin, blk_hang_report_cap(&drv), 60001, text, sizeof(text));
    expect(r == IO_ERR_BAD_WATCH, "IO: WatchDriver with a 60001 ms timeout refused");
    r = watch_as(admin, blk_hang_report_cap(&drv), HANG_TIMEOUT_MS, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "io-server watches the driver (timeout %u ms)",
                HANG_TIMEOUT_MS);
    expect(r == 0, what);
}

/* Policies and disks: tenants 1-3 RESTART_PAGES pages each from sector 0
 * on, ours (4) and a fifth further on. */
static bool disks(void)
{
    struct io_error e;
    uint32_t left;
    bool ok = true;
    for (unsigned t = 1; t <= MY_TENANT + 1; t++) {
        uint64_t first = t <= RESTART_TENANTS ? (t - 1) * RESTART_PAGES * 8ull : t * 1024ull;
        ok = ok && io_set_policy(admin, t, 0, 10000000, 0, 1, 100000, &left, &e) == 0 &&
             io_set_disk(admin, t, first, RESTART_PAGES * 8ull, &e) == 0;
    }
    return ok;
}

/* Says which incarnation faulted and how (the watcher's record of the
 * kernel's fault message, or of io-server's hang report). */
static void say_fault(const char *when)
{
    uint32_t label = __atomic_load_n(&drv.fault_label, __ATOMIC_ACQUIRE);
    uint32_t incarnation = __atomic_load_n(&drv.fault_incarnation, __ATOMIC_ACQUIRE);
    if (label == BLK_FAULT_HUNG)
        debug_printf("restart: incarnation %u hung %s: io-server reported it to the fault "
                     "watcher, which stopped it\n",
                     incarnation, when);
    else if (label == BLK_FAULT_KILLED)
        debug_printf("restart: incarnation %u stopped at its kill point %s: the fault watcher "
                     "stopped it\n",
                     incarnation, when);
    else
        debug_printf("restart: incarnation %u faulted (fault kind %u) %s: the fault came as a "
                     "message\n",
                     incarnation, label, when);
}

/* Waits for the watcher's signal of a fault (it stopped the incarnation). */
static void await_fault(void)
{
    struct bk_msg m = { 0 };
    sys_recv(fault_signal, &m);
    say_fault("during start-up");
}

/* restart()'s work, timed from the decision to io-server's answer. */
static int restart_at_mcp(const char *why, char *err, size_t errlen)
{
    uint64_t t0 = debug_time_ns();
    for (;;) {
        if (crash_every_start)
            drv.crash_at_start = 1;
        if (!drv.crash_at_start) {
            drv.kill_after_submits = armed.kill;
            drv.hang_after_submits = armed.hang;
            drv.crash_after_submits = armed.crash;
            armed.kill = armed.hang = armed.crash = 0;
        }
        const char *e = blk_restart(&drv, err, errlen);
        if (e) {
            debug_printf("restart: FAILED: %s\n", e);
            failures++;
            return -1;
        }
        restarts++;
        uint32_t deaths = 0, reissued = 0;
        struct io_error ie;
        uint64_t cap = mint(drv.endpoint, 1);
        int r = io_driver_restarted(admin, cap, &deaths, &reissued, &ie);
        sys_cnode_delete(BK_CAP_ROOT_CNODE, cap, W);
        bk_slot_free(cap);
        char text[240];
        io_error_format(&ie, text, sizeof(text));
        if (r == 0) {
            last_deaths = deaths;
            uint64_t ns = debug_time_ns() - t0;
            restart_ns_min = ns < restart_ns_min ? ns : restart_ns_min;
            restart_ns_max = ns > restart_ns_max ? ns : restart_ns_max;
            debug_printf("restart: incarnation %u up after %s: %u requests re-issued, %u deaths "
                         "in a row, %llu us from the death to io-server's answer\n",
                         drv.incarnation, why, reissued, deaths,
                         (unsigned long long)(ns / 1000));
            return 0;
        }
        debug_printf("restart: io-server: %s\n", text);
        if (r != IO_ERR_DRIVER_DOWN)
            return r;
        await_fault(); /* it died in its start-up: the watcher stopped it */
        why = "a death during start-up";
    }
}

/* One restart as a supervisor does it: the dead incarnation stopped and
 * the next started with its device caps, then io-server told (it
 * re-registers its buffers and re-issues what was in the device). A new
 * incarnation that dies before answering is waited for and restarted
 * again. Returns the IO error of the last driver_restarted (0, or
 * IO_ERR_DRIVER_GIVEN_UP). */
static int restart(const char *why)
{
    static char err[BK_PROCESS_ERROR_LEN];
    /* Above the tenants while we restart, so the time measured is the
     * restart's, not theirs. */
    uint64_t priority = 0, mcp = 0;
    sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, mcp);
    int r = restart_at_mcp(why, err, sizeof(err));
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, priority);
    return r;
}

/* A kill: blk_restart() stops the running incarnation first. */
static void kill_and_restart(const char *why)
{
    expect(restart(why) == 0, why);
}

static uint64_t ops_of(unsigned t)
{
    uint64_t ops = 0, bytes, queue, p50, p99, misses;
    io_stats(admin, t, &ops, &bytes, &queue, &p50, &p99, &misses, NULL);
    return ops;
}

static uint64_t total_ops(void)
{
    uint64_t n = 0;
    for (unsigned t = 1; t <= RESTART_TENANTS; t++)
        n += ops_of(t);
    return n;
}

static bool start_tenants(const struct bk_bootinfo *bi)
{
    for (unsigned i = 0; i < RESTART_TENANTS; i++) {
        if (bk_process_spawn(bi, "blk-restart-tenant", TENANT_PRIORITY, mint(admin, i + 1),
                             BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE, &tenants[i]) != 0) {
            debug_printf("restart: FAILED: %s\n", tenants[i].error);
            return false;
        }
    }
    return true;
}

/* The deaths under load, in the order they must come: each one's restart
 * arms the next incarnation, so none can overtake another, and each comes
 * at a Submit count the tenants' work reaches long before its end (the
 * counts add up to about 150 Submits of their 864 operations). */
enum death { KILL_ARMING_HANG, HANG, KILL_ARMING_FAULT, FAULT, RANDOM_KILL, DEATHS };

static const char *const death_name[DEATHS] = {
    "a kill with requests in flight", "a hang with requests in flight",
    "a kill with requests in flight", "a fault with requests in flight",
    "a kill at the random point, requests in flight",
};

static enum death death_of(uint32_t label)
{
    if (label == BLK_FAULT_HUNG)
        return HANG;
    if (label == BLK_FAULT_KILLED)
        return KILL_ARMING_HANG; /* one of the kills: which one, next_death says */
    return FAULT;
}

static bool same_kind(enum death a, enum death b)
{
    bool kill_a = a == KILL_ARMING_HANG || a == KILL_ARMING_FAULT || a == RANDOM_KILL;
    bool kill_b = b == KILL_ARMING_HANG || b == KILL_ARMING_FAULT || b == RANDOM_KILL;
    return a == b || (kill_a && kill_b);
}

/* The incarnation that died the death `d` (the next expected): restarted,
 * the one after armed. */
static void handle_death(enum death d, uint32_t random_kill)
{
    if (d == KILL_ARMING_HANG)
        armed.hang = HANG_SUBMITS;
    if (d == HANG) {
        hangs++;
        armed.kill = SECOND_KILL_SUBMITS;
    }
    if (d == KILL_ARMING_FAULT)
        armed.crash = FAULT_SUBMITS;
    if (d == FAULT) {
        drv.crash_at_start = 1; /* and its successor dies in its start-up */
        armed.kill = random_kill;
    }
    int r = restart(death_name[d]);
    if (d == HANG)
        expect(r == 0, "restarted after io-server reported it hung");
    else if (d == FAULT)
        expect(r == 0, "restarted after its fault, and again after a death during start-up");
    else
        expect(r == 0, death_name[d]);
}

/* We run below every other thread, so we run only when the tenants wait
 * for their requests; a death comes here as a signal (polled while we
 * read the statistics). */
static void under_load(void)
{
    uint64_t lcg = SEED;
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t all = RESTART_TENANTS * RESTART_TENANT_OPS;
    uint32_t random_kill = RANDOM_KILL_MIN + (uint32_t)((lcg >> 33) % RANDOM_KILL_SPAN);
    debug_printf("restart: seed 0x%llx: the random kill at Submit %u of its incarnation\n",
                 (unsigned long long)SEED, random_kill);
    enum death next_death = KILL_ARMING_HANG;
    bool in_order = true;
    uint64_t done = 0, done_at_last_death = 0;
    uint64_t deadline = debug_time_ns() + 600ull * 1000000000ull; /* a hang fails, not stalls */
    uint64_t priority = 0, mcp = 0;
    sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_LOW_PRIORITY);
    while (done < all && debug_time_ns() < deadline) {
        struct bk_msg m = { 0 };
        sys_nbrecv(fault_signal, &m);
        if (m.badge != 0) {
            say_fault("with requests in flight");
            enum death d = death_of(__atomic_load_n(&drv.fault_label, __ATOMIC_ACQUIRE));
            /* Counted as the death is seen, before the restart re-issues
             * what the dead driver held: a death at the run's last
             * requests then still shows them owed (counted after, it
             * raced the re-issued requests' completion: a CI run saw 0). */
            done_at_last_death = total_ops();
            if (next_death == DEATHS || !same_kind(d, next_death)) {
                debug_printf("restart: FAILED: %s came where %s was due\n", death_name[d],
                             next_death == DEATHS ? "nothing" : death_name[next_death]);
                in_order = false;
                failures++;
                hangs += d == HANG;
                restart("a death out of order"); /* arming nothing new */
            } else {
                handle_death(next_death++, random_kill);
            }
        }
        done = total_ops();
    }
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, priority);
    char what[200];
    bk_snprintf(what, sizeof(what), "every tenant's %u operations completed",
                RESTART_TENANT_OPS);
    expect(total_ops() == all, what);
    bk_snprintf(what, sizeof(what), "the deaths came in order (kill, hang, kill, fault and a "
                "death in start-up, random kill): %u of %u, the last with %llu operations left",
                next_death, DEATHS, (unsigned long long)(all - done_at_last_death));
    expect(in_order && next_death == DEATHS && done_at_last_death < all, what);
    expect(hangs == 1, "one hang seen and restarted (the incarnation that stopped answering)");
}

/* IO: DriverRestarted from whoever is not the administrator: tenant 1
 * (with a cap to the running driver it could not have, the worst case)
 * and a cap badged 9, no tenant; then the administrator with a cap that
 * is not an endpoint. Each refused, and nothing changes: the driver keeps
 * serving (IO completes in given_up()) and the next real restart still
 * counts 1 death in a row. */
static void hostile_driver_restarted(void)
{
    char text[240], what[320];
    uint32_t deaths = 0, reissued = 0;
    struct io_error e;
    uint64_t before = total_ops();
    int r = io_driver_restarted(mint(admin, 1), mint(drv.endpoint, 1), &deaths, &reissued, &e);
    io_error_format(&e, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "IO: DriverRestarted by tenant 1 refused: \"%s\"", text);
    expect(r == IO_ERR_NOT_ADMIN &&
               strcmp(text, "the caller (badge 1) is a tenant: the method is the "
                            "administrator's") == 0,
           what);
    r = io_driver_restarted(mint(admin, 9), mint(drv.endpoint, 1), &deaths, &reissued, &e);
    io_error_format(&e, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "IO: DriverRestarted through a cap badged 9 refused: \"%s\"",
                text);
    expect(r == IO_ERR_NOT_ADMIN, what);
    r = io_driver_restarted(admin, blk_hang_report_cap(&drv), &deaths, &reissued, &e);
    io_error_format(&e, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "IO: DriverRestarted with a notification cap refused: \"%s\"",
                text);
    expect(r == IO_ERR_NOT_A_DRIVER &&
               strcmp(text, "the new driver's cap is not an endpoint (object type 5)") == 0,
           what);
    expect(total_ops() == before, "the refusals changed no tenant's statistics");
    kill_and_restart("a kill between requests, the tenants done");
    expect(last_deaths == 1, "the next real restart counts 1 death in a row: the refusals "
                             "counted none");
}

/* IO: Open as tenant `t`; its error code (0: opened) and text. */
static int open_as(unsigned t, uint64_t vaddr, uint64_t *ntfn, char *text, size_t size)
{
    uint32_t tenant, buffers, memory;
    uint64_t disk = 0;
    struct io_error e;
    *ntfn = bk_slot_alloc();
    int r = io_open(mint(admin, t), BK_CAP_ROOT_VSPACE, vaddr, &tenant, &disk, &buffers,
                    &memory, *ntfn, &e);
    io_error_format(&e, text, size);
    return r;
}

/* Eight requests of ours (tenant 4) in one kick; how many were accepted. */
static uint32_t my_eight(struct tenant *me, uint16_t op)
{
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
        pattern_fill(me->buf[b], 4096, b);
        tenant_push(me, b, op, b * 4096ull, 4096, (uint16_t)b, 0);
    }
    uint32_t accepted = 0;
    tenant_kick(me, &accepted, NULL);
    return accepted;
}

/* Statuses of the next 8 completions equal to `status`. */
static unsigned my_completions(struct tenant *me, uint32_t status)
{
    struct io_cqe c[IO_RING_BUFFERS];
    tenant_wait(me, c, IO_RING_BUFFERS);
    unsigned n = 0;
    for (unsigned i = 0; i < IO_RING_BUFFERS; i++)
        n += c[i].status == status;
    return n;
}

/* A driver that dies at every start: requests wait while it is down, then
 * io-server gives up after 4 deaths in a row and says so, to the
 * supervisor, to the requests that waited and to open. */
static void given_up(struct tenant *me_)
{
    char text[240], what[320];
    struct tenant me = *me_;
    int r;
    expect(my_eight(&me, IO_OP_WRITE) == 8 && my_completions(&me, IO_ST_OK) == 8,
           "its 8 writes done by a driver that works");
    blk_stop(&drv);
    expect(my_eight(&me, IO_OP_READ) == 8 && me.ring->cq_tail == me.cq_head,
           "the driver killed: 8 reads accepted, none completed: they wait");
    uint64_t n5;
    r = open_as(MY_TENANT + 1, MY_VADDR + 0x100000, &n5, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "open while the driver is down: \"%s\"", text);
    expect(r == IO_ERR_DRIVER_DOWN, what);
    crash_every_start = true;
    unsigned before = restarts;
    r = restart("a death at every start");
    bk_snprintf(what, sizeof(what), "given up at the 4th death in a row: %u incarnations started, "
                "each dead in its start-up", restarts - before);
    expect(r == IO_ERR_DRIVER_GIVEN_UP && restarts - before == 4, what);
    blk_stop(&drv);
    expect(my_completions(&me, IO_ST_DRIVER_GONE) == 8,
           "the 8 reads that waited completed with status 10 (driver given up), no hang");
    expect(my_eight(&me, IO_OP_READ) == 8 && my_completions(&me, IO_ST_DRIVER_GONE) == 8,
           "8 more: accepted and failed at once with status 10");
    r = open_as(MY_TENANT + 1, MY_VADDR + 0x100000, &n5, text, sizeof(text));
    bk_snprintf(what, sizeof(what), "open refused: \"%s\"", text);
    expect(r == IO_ERR_DRIVER_GIVEN_UP &&
               strcmp(text, "the driver of the disk of 8192 sectors died 4 times in a row and "
                            "was given up on: no more IO to this disk") == 0,
           what);
}

/* Tenant 4's 8 pages asked for into cleared buffers, kicked: how many
 * requests io-server accepted. */
static uint32_t read_my_pages(struct tenant *me)
{
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
        memset(me->buf[b], 0, 4096);
        tenant_push(me, b, IO_OP_READ, b * 4096ull, 4096, (uint16_t)b, 0);
    }
    uint32_t accepted = 0;
    tenant_kick(me, &accepted, NULL);
    return accepted;
}

/* Waits for those 8 reads: how many hold the pattern my_eight() wrote. */
static unsigned my_reads_intact(struct tenant *me)
{
    static uint8_t expected[4096];
    struct io_cqe c[IO_RING_BUFFERS];
    tenant_wait(me, c, IO_RING_BUFFERS);
    unsigned intact = 0;
    for (unsigned i = 0; i < IO_RING_BUFFERS; i++) {
        unsigned b = (unsigned)c[i].tag;
        pattern_fill(expected, sizeof(expected), b);
        intact += c[i].status == IO_ST_OK && b < IO_RING_BUFFERS &&
                  memcmp(me->buf[b], expected, sizeof(expected)) == 0;
    }
    return intact;
}

/* Tenant 4's 8 pages read back: how many are intact (8: all). */
static unsigned my_pages_intact(struct tenant *me)
{
    uint32_t accepted = read_my_pages(me);
    unsigned intact = my_reads_intact(me);
    return accepted == IO_RING_BUFFERS ? intact : 0;
}

/* The supervisor's memory (the shared allocator's bytes) and free slots,
 * and the arena's fill, after a restart. */
struct usage {
    uint64_t bytes, free_slots, arena_bytes, arena_slots;
};

static struct usage usage_now(void)
{
    return (struct usage){ bk_objects_bytes_used(), bk_slots_free_count(), drv.arena.used,
                           drv.arena.slots_used };
}

static bool same_usage(struct usage a, struct usage b)
{
    return a.bytes == b.bytes && a.free_slots == b.free_slots &&
           a.arena_bytes == b.arena_bytes && a.arena_slots == b.arena_slots;
}

/* Many restarts in a row, each incarnation made of the arena the last one
 * was reclaimed from: the supervisor's memory and free slots after each
 * are exactly those after the first, and tenant 4's pages read back
 * intact from every incarnation. More restarts than the supervisor's free
 * slots would have allowed when each left its objects (and their slots)
 * behind: the arena's slots per incarnation are what each leaked then. */
static void many_restarts(struct tenant *me)
{
    char what[320];
    expect(my_eight(me, IO_OP_WRITE) == 8 && my_completions(me, IO_ST_OK) == 8,
           "tenant 4 writes 8 patterned pages");
    kill_and_restart("a kill between requests, the first of many");
    /* It completes requests, so the next death is 1 in a row, not 2. */
    expect(my_pages_intact(me) == IO_RING_BUFFERS, "the 8 pages read back intact");
    struct usage first = usage_now();
    uint64_t leak_limit = first.free_slots / (first.arena_slots ? first.arena_slots : 1);
    unsigned count = (unsigned)(leak_limit + 10 > MANY_RESTARTS ? leak_limit + 10 : MANY_RESTARTS);
    bk_snprintf(what, sizeof(what), "each incarnation is %llu bytes in %llu objects of the "
                "arena; %llu slots free: leaked a restart, they would last %llu restarts; "
                "restarting %u times", (unsigned long long)first.arena_bytes,
                (unsigned long long)first.arena_slots, (unsigned long long)first.free_slots,
                (unsigned long long)leak_limit, count);
    expect(first.arena_slots > 0 && count > leak_limit, what);
    unsigned same = 0, intact = 0, up = 0;
    for (unsigned i = 0; i < count; i++) {
        up += restart("a kill between requests, one of many") == 0;
        same += same_usage(usage_now(), first);
        intact += my_pages_intact(me) == IO_RING_BUFFERS;
    }
    struct usage last = usage_now();
    bk_snprintf(what, sizeof(what), "%u restarts more: %u up; the supervisor's memory (%llu "
                "bytes) and free slots (%llu) after each as after the first: %u of %u", count,
                up, (unsigned long long)last.bytes, (unsigned long long)last.free_slots, same,
                count);
    expect(up == count && same == count, what);
    bk_snprintf(what, sizeof(what), "tenant 4's 8 pages read back intact after every restart: "
                "%u of %u", intact, count);
    expect(intact == count, what);
}

/* A driver that spins instead of waiting, with requests in the device: it
 * runs above io-server, but its SchedContext is less than a whole CPU
 * (BLK_DRIVER_BUDGET_NS), so io-server's watch thread still runs in the
 * rest, sees it owes answers and completed nothing for the timeout, and
 * reports it; the fault watcher stops it, we restart it, and tenant 4's
 * reads caught by it complete, intact. */
static void spinning_driver(struct tenant *me)
{
    drv.spin_after_submits = SPIN_SUBMITS;
    expect(restart("a kill between requests, arming a spin") == 0,
           "the next incarnation armed to spin at its 3rd Submit");
    uint32_t accepted = read_my_pages(me);
    struct bk_msg m = { 0 };
    sys_recv(fault_signal, &m); /* the watcher's signal: it stopped the spinning driver */
    uint32_t label = __atomic_load_n(&drv.fault_label, __ATOMIC_ACQUIRE);
    say_fault("while spinning");
    expect(label == BLK_FAULT_HUNG,
           "the spinning incarnation reported hung by io-server's watch and stopped");
    expect(restart("a spinning driver, reported hung") == 0, "restarted after it spun");
    unsigned intact = my_reads_intact(me);
    char what[200];
    bk_snprintf(what, sizeof(what), "tenant 4's %u reads caught by the spin completed, intact: "
                "%u of 8", accepted, intact);
    expect(accepted == IO_RING_BUFFERS && intact == IO_RING_BUFFERS, what);
}

int main(const struct bk_bootinfo *bi)
{
    const char *err = setup(bi);
    if (err) {
        debug_printf("restart: FAILED: %s\n", err);
        return 1;
    }
    expect(disks(), "policies and disks for tenants 1 to 5");
    watch();
    armed.kill = FIRST_KILL_SUBMITS; /* for the incarnation the tenants start with */
    kill_and_restart("a kill between requests, before any session");
    if (!start_tenants(bi))
        return 1;
    under_load();
    hostile_driver_restarted();
    debug_printf("restart: %u restarts under load and between; restart time %llu to %llu us\n",
                 restarts, (unsigned long long)(restart_ns_min / 1000),
                 (unsigned long long)(restart_ns_max / 1000));
    for (unsigned t = 1; t <= RESTART_TENANTS; t++) {
        uint64_t ops = 0, bytes, queue, p50 = 0, p99 = 0, misses;
        io_stats(admin, t, &ops, &bytes, &queue, &p50, &p99, &misses, NULL);
        debug_printf("restart: tenant %u: %llu ops, p50 %llu us, p99 %llu us\n", t,
                     (unsigned long long)ops, (unsigned long long)(p50 / 1000),
                     (unsigned long long)(p99 / 1000));
    }
    char text[240];
    uint64_t ntfn;
    static struct tenant me;
    int r = open_as(MY_TENANT, MY_VADDR, &ntfn, text, sizeof(text));
    expect(r == 0, "tenant 4 opens a session");
    if (r == 0) {
        tenant_attach(&me, mint(admin, MY_TENANT), ntfn, MY_VADDR);
        many_restarts(&me);
        spinning_driver(&me);
        given_up(&me);
    }
    debug_printf("restart: %d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
