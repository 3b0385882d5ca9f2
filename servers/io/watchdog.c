/*
 * Watching the driver for a hang (docs/io.md, "A hung driver"; IO:
 * WatchDriver). A driver that faults is seen by its supervisor; one that
 * simply stops answering is seen by nobody but us: we are the ones it
 * owes answers, and our own thread may be the one stuck in a Call to it.
 * So the main thread notes since when it has been owed something (a Call
 * not yet answered, or requests in the device) with no completion, and a
 * thread of our own, woken once per quarter of the timeout on a periodic
 * SchedContext, reads that and tells the supervisor's fault watcher when
 * it is older than the timeout. The watcher stops the driver, which ends
 * a Call we are stuck in with CANCELLED; the supervisor restarts it and
 * IO: DriverRestarted re-issues what it held, as after a fault.
 *
 * Only owed_since and reported cross between the threads (atomics); the
 * rest is the main thread's.
 */
#include "io.h"

#define WATCH_STACK 8192u
/* The watch thread's budget: what one check takes (a clock read, a compare,
 * a Yield) with a wide margin, at most a quarter of its period. A check
 * that outruns the budget is finished in the next period, and its Yield
 * then gives that whole period up: with 50 us the thread woke only every
 * 1 to 15 periods under TCG, whose clock is the host's, and one run in
 * three of the hang test saw no report in 60 s. */
#define WATCH_BUDGET_NS 1000000ull
#define NS_PER_MS 1000000ull

static struct {
    uint64_t notification; /* the supervisor's, write right; 0: not watching */
    uint64_t timeout_ns;   /* main thread's copy */
    uint64_t owed_since;   /* atomic: ns, 0 while the driver owes nothing */
    uint64_t timeout_seen; /* atomic: the watch thread's copy */
    bool reported;         /* atomic: told the supervisor; cleared by a restart */
    uint64_t tcb, sched_context;
} watch;

static uint8_t watch_stack[WATCH_STACK] __attribute__((aligned(16)));

void watch_call_begin(void)
{
    if (watch.timeout_ns && __atomic_load_n(&watch.owed_since, __ATOMIC_RELAXED) == 0)
        __atomic_store_n(&watch.owed_since, debug_time_ns(), __ATOMIC_RELEASE);
}

void watch_settle(bool completed, uint64_t now)
{
    if (!watch.timeout_ns)
        return;
    if (io.in_device == 0 || io.driver_down || io.driver_gone)
        __atomic_store_n(&watch.owed_since, 0, __ATOMIC_RELEASE);
    else if (completed)
        __atomic_store_n(&watch.owed_since, now ? now : debug_time_ns(), __ATOMIC_RELEASE);
}

void watch_restarted(void)
{
    __atomic_store_n(&watch.owed_since, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&watch.reported, false, __ATOMIC_RELEASE);
}

/* Wakes at each refill of its SchedContext (Yield gives up the rest of a
 * budget), a quarter of the timeout apart: the hang is seen between 1 and
 * 1.25 timeouts after the last completion. */
static void watch_thread(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
        /* The clock first: `since` read after it is at least as new, so a
         * wait between the two (we may be preempted there for as long as
         * anything above us runs) cannot pass a completion that cleared
         * it off as a hang. */
        uint64_t now = debug_time_ns();
        uint64_t since = __atomic_load_n(&watch.owed_since, __ATOMIC_ACQUIRE);
        uint64_t timeout = __atomic_load_n(&watch.timeout_seen, __ATOMIC_ACQUIRE);
        if (!since || !timeout || __atomic_load_n(&watch.reported, __ATOMIC_ACQUIRE) ||
            now < since || now - since < timeout)
            continue;
        __atomic_store_n(&watch.reported, true, __ATOMIC_RELEASE);
        debug_printf("io-server: the driver owes answers and completed nothing for %llu ms "
                     "(timeout %llu ms): hung; its supervisor is told\n",
                     (unsigned long long)((now - since) / NS_PER_MS),
                     (unsigned long long)(timeout / NS_PER_MS));
        m = (struct bk_msg){ 0 };
        sys_send(watch.notification, &m); /* a signal: never blocks */
    }
}

static uint64_t watch_budget(uint64_t period)
{
    return WATCH_BUDGET_NS < period / 4 ? WATCH_BUDGET_NS : period / 4;
}

/* The watch thread, at our own priority, on `period` ns. NULL or why not. */
static const char *start_thread(uint64_t period)
{
    uint64_t priority = 0, mcp = 0;
    if (!watch.tcb) {
        watch.tcb = bk_alloc_object(BK_OBJ_TCB, 0);
        watch.sched_context = bk_alloc_object(BK_OBJ_SCHED_CONTEXT, 0);
        if (!watch.tcb || !watch.sched_context ||
            sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp) != 0 ||
            sys_sched_control_configure(BK_CAP_SCHED_CONTROL, watch.sched_context,
                                        watch_budget(period), period, 2, 0) != 0 ||
            sys_sched_context_bind(watch.sched_context, watch.tcb) != 0 ||
            bk_thread_start(watch.tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, watch_thread, 0,
                            watch_stack, WATCH_STACK, 0, (unsigned)priority) != 0)
            return "cannot start the watch thread";
        return NULL;
    }
    return sys_sched_control_configure(BK_CAP_SCHED_CONTROL, watch.sched_context,
                                       watch_budget(period), period, 2, 0) == 0
               ? NULL
               : "cannot change the watch thread's period";
}

const char *watch_driver(uint64_t notification, uint32_t timeout_ms)
{
    __atomic_store_n(&watch.timeout_seen, 0, __ATOMIC_RELEASE); /* off while we swap */
    watch.timeout_ns = 0;
    if (watch.notification) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, watch.notification, BK_WORD_BITS);
        bk_slot_free(watch.notification);
        watch.notification = 0;
    }
    uint64_t mine = bk_slot_alloc();
    if (!mine || sys_cnode_move(BK_CAP_ROOT_CNODE, mine, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                                notification, BK_WORD_BITS) != 0)
        return "no slot for the notification";
    watch.notification = mine;
    uint64_t timeout = timeout_ms * NS_PER_MS;
    const char *err = start_thread(timeout / 4);
    if (err)
        return err;
    watch.timeout_ns = timeout;
    __atomic_store_n(&watch.reported, false, __ATOMIC_RELEASE);
    __atomic_store_n(&watch.owed_since, 0, __ATOMIC_RELEASE);
    watch_settle(true, 0);
    __atomic_store_n(&watch.timeout_seen, timeout, __ATOMIC_RELEASE);
    return NULL;
}
