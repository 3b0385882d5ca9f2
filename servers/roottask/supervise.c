/*
 * The table's block driver, supervised (docs/policy.md, "The driver
 * supervised"). The root task built the driver from the table like any
 * server; here it keeps what a restart needs and watches the driver's
 * thread from its wait loop. A driver that faulted or exited is restarted
 * with the machinery of servers/blk/spawn.c (blk_restart(): the dead
 * incarnation stopped, its device reset, the device's caps and its memory
 * moved to a fresh process of the same program) at the table's priority,
 * budget and period, and its client, the IO server, is told with IO:
 * DriverRestarted on a cap minted as the table's channel says: the server
 * registers its sessions' buffers again and re-issues what the dead driver
 * held, so the tenants' requests complete as if nothing had happened.
 *
 * The watcher's signal wakes the root task's wait (wait.c), and
 * supervise_check() looks at the watcher's record and the thread's state
 * at every wake-up (a tick of 10 ms catches an exit nobody signals). The
 * root task waits at priority 0, so it acts once every other thread waits,
 * which is what a driver's death leads to: the IO server waits for
 * completions that do not come, its tenants for it.
 */
#include <protocols/io_client.h>

#include "supervise.h"
#include "wait.h"

#define W BK_WORD_BITS
#define SUBMITS_MAX 1000000
#define START_CRASHES_MAX 8

static const struct table *table;
static struct blk_driver driver;
static struct supervise_driver adopted;
static bool supervising;
static long start_crashes; /* roottask.blk_start_crashes still to come */

/* N of `option=N` in the kernel's command line, 1 to `max` (0: not
 * given); -1 with a sentence naming `what` N counts when N is not. */
static long number_option(const struct bk_bootinfo *bi, const char *option, long max,
                          const char *what, char *why, size_t whylen)
{
    size_t klen = strlen(option);
    for (const char *p = bi->cmdline; *p; p++) {
        if ((p != bi->cmdline && p[-1] != ' ') || memcmp(p, option, klen) != 0 || p[klen] != '=')
            continue;
        const char *v = p + klen + 1;
        long n = 0;
        const char *q = v;
        for (; *q >= '0' && *q <= '9' && n <= max; q++)
            n = n * 10 + (*q - '0');
        if (q == v || (*q && *q != ' ') || n < 1 || n > max) {
            unsigned len = 0;
            while (v[len] && v[len] != ' ' && len < 40)
                len++;
            bk_snprintf(why, whylen, "boot option %s=%.*s: %s, 1 to %ld", option, (int)len, v,
                        what, max);
            return -1;
        }
        return n;
    }
    return 0;
}

int supervise_options(const struct bk_bootinfo *bi, struct supervise_options *o, char *why,
                      size_t whylen)
{
    *o = (struct supervise_options){ 0 };
    o->fault_after = number_option(bi, SUPERVISE_FAULT_OPTION, SUBMITS_MAX,
                                   "the number of Block: Submits after which the driver faults",
                                   why, whylen);
    if (o->fault_after >= 0)
        o->hang_after = number_option(bi, SUPERVISE_HANG_OPTION, SUBMITS_MAX,
                                      "the number of Block: Submits after which the driver "
                                      "stops answering", why, whylen);
    if (o->fault_after >= 0 && o->hang_after >= 0)
        o->stray_dma_after = number_option(bi, SUPERVISE_STRAY_DMA_OPTION, SUBMITS_MAX,
                                           "the number of Block: Submits after which the "
                                           "driver's device is sent to an unmapped IO address",
                                           why, whylen);
    if (o->fault_after >= 0 && o->hang_after >= 0 && o->stray_dma_after >= 0)
        o->start_crashes = number_option(bi, SUPERVISE_START_CRASH_OPTION, START_CRASHES_MAX,
                                         "how many restarted incarnations die in their "
                                         "start-up", why, whylen);
    return o->fault_after < 0 || o->hang_after < 0 || o->stray_dma_after < 0 ||
                   o->start_crashes < 0
               ? -1
               : 0;
}

static const char *name_of(uint32_t c)
{
    return table_string(table, table->components[c].name);
}

const char *supervise_adopt(const struct bk_bootinfo *bi, const struct table *t,
                            const struct supervise_driver *d, const struct blk_hw *hw, char *err,
                            size_t errlen)
{
    const struct captable_component *k = &t->components[d->component];
    table = t;
    adopted = *d;
    driver = (struct blk_driver){ .bi = bi, .hw = *hw, .priority = k->priority,
                                  .endpoint = d->endpoint, .incarnation = 1 };
    driver.p.tcb = d->tcb;
    driver.p.cnode = d->cnode;
    driver.p.sched_context = d->sched_context;
    start_crashes = d->start_crashes;
    /* The watcher's signal wakes the root task's wait (wait.c); what
     * happened is its record in `driver`. The watcher runs below the
     * root task's MCP, at which a restart runs, so never in the middle of
     * one. */
    uint64_t priority = 0, mcp = 0;
    sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp);
    uint64_t signal = wait_signal_cap(WAIT_DRIVER);
    if (!signal || mcp == 0) {
        bk_snprintf(err, errlen, "no cap to the root task's wake-up for the fault watcher, or "
                    "no priority for it (MCP %llu)", (unsigned long long)mcp);
        return err;
    }
    const char *e = blk_watch(&driver, (unsigned)mcp - 1, signal, err, errlen);
    if (e)
        return e;
    if (start_crashes > 0)
        debug_printf("roottask: the next %ld incarnations of '%s' die in their start-up on "
                     "purpose (%s)\n", start_crashes, name_of(d->component),
                     SUPERVISE_START_CRASH_OPTION);
    supervising = true;
    return NULL;
}

/* The driver's hang timeout, from its table entry (checked: 10..60000). */
static uint32_t hang_timeout_ms(void)
{
    return table->components[adopted.component].hang_timeout_ms;
}

int supervise_watch(void)
{
    if (!supervising || adopted.client == ~0u)
        return 0;
    struct io_error e = { 0 };
    uint64_t cap = blk_hang_report_cap(&driver);
    int r = cap ? io_watch_driver(adopted.client_admin, cap, hang_timeout_ms(), &e) : -1;
    if (cap) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, cap, W); /* moved to the IO server, unless refused */
        bk_slot_free(cap);
    }
    if (r != 0) {
        char text[160] = "no slot for the hang report's cap";
        if (cap)
            io_error_format(&e, text, sizeof(text));
        debug_printf("roottask: FAILED: driver '%s': '%s' refused IO: WatchDriver: %s\n",
                     name_of(adopted.component), name_of(adopted.client), text);
        return -1;
    }
    debug_printf("roottask: driver '%s' watched: '%s' reports it hung after %u ms with requests "
                 "owed and none completed (IO: WatchDriver); its faults go to the root task's "
                 "fault watcher\n", name_of(adopted.component), name_of(adopted.client),
                 hang_timeout_ms());
    return 0;
}

static uint64_t thread_state(uint64_t tcb)
{
    uint64_t pc, sp, arg, state;
    return sys_tcb_read_registers(tcb, &pc, &sp, &arg, &state) == 0 ? state : ~0ull;
}

/* The new incarnation runs on the table's budget and period, not on the
 * whole period bk_process_spawn() gives it. */
static long table_budget(void)
{
    const struct captable_component *k = &table->components[adopted.component];
    return sys_sched_control_configure(driver.bi->sched_control, driver.p.sched_context,
                                       k->budget_ns, k->period_ns, BK_SCHED_MAX_REFILLS, 0);
}

/* IO: DriverRestarted with a cap to the new endpoint minted as the table's
 * channel; the IO error code (0: done) and its text. */
static int tell_client(uint32_t *deaths, uint32_t *reissued, char *text, size_t size)
{
    uint64_t cap = bk_slot_alloc();
    struct io_error e = { 0 };
    int r = -1;
    if (cap && sys_cnode_mint(BK_CAP_ROOT_CNODE, cap, W, BK_CAP_ROOT_CNODE, driver.endpoint, W,
                              adopted.client_rights, adopted.client_badge) == 0) {
        r = io_driver_restarted(adopted.client_admin, cap, deaths, reissued, &e);
        io_error_format(&e, text, size);
        sys_cnode_delete(BK_CAP_ROOT_CNODE, cap, W);
    } else {
        bk_snprintf(text, size, "no slot or memory for the cap to the new driver");
    }
    if (cap)
        bk_slot_free(cap);
    return r;
}

/* One incarnation started in place of the dead one, on the table's
 * budget. 0, or -1 (printed) when it could not be made. */
static int start_next(uint32_t dead)
{
    static char err[BK_PROCESS_ERROR_LEN];
    if (start_crashes > 0) { /* fault injection: this one dies before its device starts */
        driver.crash_at_start = 1;
        start_crashes--;
    }
    const char *e = blk_restart(&driver, err, sizeof(err));
    long r = e ? 0 : table_budget();
    if (e || r) {
        debug_printf("roottask: FAILED: driver '%s' died (incarnation %u): restarting it: %s\n",
                     name_of(adopted.component), dead, e ? e : bk_error_name(r));
        return -1;
    }
    return 0;
}

/* What ended the running incarnation: its thread state if it exited or
 * faulted unwatched, else the watcher's record (its fault's label, or the
 * IO server's hang report). */
static void death_text(uint64_t state, char *text, size_t size)
{
    uint32_t label = __atomic_load_n(&driver.fault_label, __ATOMIC_RELAXED);
    if (state == BK_THREAD_STATE_EXITED || state == BK_THREAD_STATE_FAULTED) {
        bk_snprintf(text, size, "thread state %llu", (unsigned long long)state);
        return;
    }
    switch (label) {
    case BLK_FAULT_HUNG:
        bk_snprintf(text, size, "hung: none of the requests it owes '%s' completed in %u ms",
                    name_of(adopted.client), hang_timeout_ms());
        return;
    case BLK_FAULT_DMA:
        bk_snprintf(text, size, "its device's DMA outside its memory, which the IOMMU blocked");
        return;
    case BK_FAULT_PAGE: bk_snprintf(text, size, "a page fault"); return;
    case BK_FAULT_EXCEPTION: bk_snprintf(text, size, "an exception"); return;
    case BK_FAULT_CAP: bk_snprintf(text, size, "a capability fault"); return;
    case BK_FAULT_UNKNOWN_SYSCALL: bk_snprintf(text, size, "an unknown syscall"); return;
    default: bk_snprintf(text, size, "fault label %u", label); return;
    }
}

/* The restart itself, above every component (the new driver, below us,
 * starts only once we block in the Call to its client, holding
 * everything). An incarnation that dies in its start-up, before it took
 * the IO server's buffers back (IO: DriverRestarted answers DRIVER_DOWN),
 * is followed by another at once, as the protocol asks of a supervisor,
 * until the IO server gives the disk up after too many deaths in a row
 * (DRIVER_GIVEN_UP): then the tenants' requests end with that error and
 * the system runs on without the disk; nothing is restarted any more. */
static int restart(uint64_t state)
{
    uint32_t dead = driver.incarnation, deaths = 0, reissued = 0;
    char how[120];
    death_text(state, how, sizeof(how));
    for (;;) {
        if (start_next(dead) != 0)
            return -1;
        if (adopted.client == ~0u) {
            debug_printf("roottask: driver '%s' died (incarnation %u, %s): restarted as "
                         "incarnation %u; no client to tell\n", name_of(adopted.component), dead,
                         how, driver.incarnation);
            return 0;
        }
        char text[200];
        int ir = tell_client(&deaths, &reissued, text, sizeof(text));
        if (ir == 0)
            break;
        if (ir == IO_ERR_DRIVER_DOWN) {
            debug_printf("roottask: driver '%s' incarnation %u died in its start-up ('%s' "
                         "answered IO: DriverRestarted with: %s): starting another\n",
                         name_of(adopted.component), driver.incarnation,
                         name_of(adopted.client), text);
            dead = driver.incarnation;
            continue;
        }
        if (ir == IO_ERR_DRIVER_GIVEN_UP) {
            debug_printf("roottask: driver '%s': '%s' gave its disk up when told of incarnation "
                         "%u (%s): that one stopped, no more restarts; the system runs on "
                         "without the disk\n", name_of(adopted.component),
                         name_of(adopted.client), driver.incarnation, text);
            blk_stop(&driver);
            supervising = false;
            return 0;
        }
        debug_printf("roottask: FAILED: driver '%s' died (incarnation %u): restarted as "
                     "incarnation %u, but '%s' answered IO: DriverRestarted with: %s\n",
                     name_of(adopted.component), dead, driver.incarnation,
                     name_of(adopted.client), text);
        return -1;
    }
    debug_printf("roottask: driver '%s' died (incarnation %u, %s): restarted as incarnation "
                 "%u; '%s': IO: DriverRestarted: %u requests re-issued, %u deaths in a row\n",
                 name_of(adopted.component), dead, how, driver.incarnation,
                 name_of(adopted.client), reissued, deaths);
    return 0;
}

/* Whether the running incarnation is dead: its watcher stopped it (a
 * fault or a hang report of this incarnation: one of an earlier one is
 * stale), or it exited or faulted without the watcher (a fault the kernel
 * could not send). */
static bool driver_dead(uint64_t *state)
{
    /* The record's incarnation, written last: its label is there too,
     * whenever the root task looks (with several CPUs, or at a priority
     * that lets it run in the middle of the watcher's stop). */
    uint32_t stopped = __atomic_load_n(&driver.fault_incarnation, __ATOMIC_ACQUIRE);
    *state = thread_state(driver.p.tcb);
    return stopped == driver.incarnation ||
           *state == BK_THREAD_STATE_FAULTED || *state == BK_THREAD_STATE_EXITED;
}

int supervise_check(void)
{
    uint64_t state;
    if (!supervising || !driver_dead(&state))
        return 0;
    uint64_t priority = 0, mcp = 0;
    sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, mcp);
    int r = restart(state);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, priority);
    if (r)
        supervising = false;
    return r;
}
