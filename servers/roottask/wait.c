/*
 * The root task's waits once the system runs (docs/policy.md, "The root
 * task's waits"). It has three things to notice: a tenant that ended, the
 * disk driver's death (its fault watcher's record) and the console
 * closed. Only the watcher signals on its own; a thread's end reaches
 * nobody, and the console's `done` is a notification of the table's. So
 * the root task waits on a notification of its own that the watcher
 * signals (WAIT_DRIVER) and a ticker thread signals every WAIT_TICK_MS
 * (WAIT_TICK), and looks at all three at each wake-up. Between two, the
 * CPU is the components' or idle.
 *
 * It used to poll (Yield in a loop): the guest never idled, not even with
 * the console open and nothing to do. It still waits at priority 0, below
 * every component, so that it never runs in the middle of the watcher's
 * stop of a driver; tenants that fill the CPU can therefore still delay a
 * restart (docs/policy.md, "Not done yet").
 *
 * The ticker runs on a SchedContext of its own, WAIT_TICK_BUDGET_NS of
 * every WAIT_TICK_MS (1 of 10 ms), just below the root task's MCP (as
 * the watcher): Yield gives up the rest of its budget, so it wakes once a
 * period whatever runs below it, and the budget bounds what it can take.
 */
#include "wait.h"

#include <bulkhead/sys.h>

/* A Yield and a signal, with a wide margin: a tick that outruns its budget
 * ends in the next period and its Yield gives that period up
 * (servers/io/watchdog.c, WATCH_BUDGET_NS). Only a bound: it uses a few
 * microseconds of it. */
#define WAIT_TICK_BUDGET_NS 1000000ull
#define WAIT_TICKER_STACK 4096u

static uint64_t wake;         /* the notification the root task waits on */
static uint64_t ticker_cap;   /* a copy of it badged WAIT_TICK, the ticker's */
static uint8_t ticker_stack[WAIT_TICKER_STACK] __attribute__((aligned(16)));

static void ticker(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct bk_msg m = { 0 };
        sys_yield(0, &m); /* until the next refill: one period */
        m = (struct bk_msg){ 0 };
        sys_send(ticker_cap, &m); /* a signal: never blocks */
    }
}

/* A copy of `wake` with the write right alone, badged `badge`; 0 if no
 * slot or memory was left. */
static uint64_t badged_copy(uint64_t badge)
{
    uint64_t slot = bk_slot_alloc();
    if (slot && sys_cnode_mint(BK_CAP_ROOT_CNODE, slot, BK_WORD_BITS, BK_CAP_ROOT_CNODE, wake,
                               BK_WORD_BITS, BK_RIGHT_WRITE, badge) == 0)
        return slot;
    if (slot)
        bk_slot_free(slot);
    return 0;
}

const char *wait_start(void)
{
    if (wake)
        return NULL;
    uint64_t priority = 0, mcp = 0;
    wake = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0);
    uint64_t sc = bk_alloc_object(BK_OBJ_SCHED_CONTEXT, 0);
    ticker_cap = wake ? badged_copy(WAIT_TICK) : 0;
    if (!wake || !tcb || !sc || !ticker_cap)
        return "no memory for the root task's wake-up notification and ticker";
    if (sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp) != 0 || mcp == 0)
        return "no priority for the root task's ticker (the root task's MCP is 0)";
    if (sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, WAIT_TICK_BUDGET_NS,
                                    WAIT_TICK_MS * 1000000ull, 2, 0) != 0 ||
        sys_sched_context_bind(sc, tcb) != 0 ||
        bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, ticker, 0, ticker_stack,
                        WAIT_TICKER_STACK, 0, (unsigned)mcp - 1) != 0)
        return "cannot start the root task's ticker";
    return NULL;
}

uint64_t wait_signal_cap(uint64_t badge)
{
    return wake ? badged_copy(badge) : 0;
}

uint64_t wait_next(void)
{
    struct bk_msg m = { 0 };
    sys_recv(wake, &m);
    return m.badge;
}
