/*
 * The scheduler server's own threads (docs/scheduling.md, "The server's
 * threads"), all at SERVER_PRIORITY:
 *
 *  - the request handler: answers every request on the caller's time (it
 *    has no SchedContext: a Call lends it the caller's, the answer gives
 *    it back), and rebalances when the rebalancer calls;
 *  - the timeout handler, on a small SchedContext of its own: receives
 *    the timeout faults of every tenant thread and of the request handler,
 *    counts them and lets the thread go on at its next refill;
 *  - the rebalancer, on a SchedContext of its own: calls the request
 *    handler to rebalance, lending it that SchedContext, whenever
 *  - the clock, on a tiny SchedContext of its own, calls it: once a
 *    period. Two threads, so that what the rebalance costs, which varies,
 *    is not charged to the SchedContext that keeps the period: the clock
 *    gives up the rest of its refill each period (Yield), and a budget
 *    used in uneven pieces (a rebalance cut by interrupts, or stopped at
 *    its budget's end) came back in pieces and woke it several times in
 *    one period, or once in two.
 *
 * The program's first thread (main.c's main()) runs on the whole-CPU
 * SchedContext its spawner gave it; it answers requests itself until the
 * memory for the four threads has come (the spawner moves untyped caps
 * in after spawning it), then starts them, hands the endpoint over and
 * exits. The request handler needs time to reach its Recv: it starts on
 * RESCUE_SC, which is taken back once it waits there. After a rescue
 * (request_timed_out()) the rebalancer makes it passive again.
 */
#include "server.h"

#define STACK_SIZE 16384
/* What the server's SchedContexts get of every period, from the 5 % that
 * admission leaves: the rebalancer's is many rebalances (the request
 * handler does one on its loan, some microseconds); the timeout handler
 * answers a timeout in about one; the rescue's finishes a request and the
 * few queued behind it; the clock's is a call and a Yield. docs/
 * scheduling.md has the measured costs. */
#define REBALANCER_BUDGET_NS 100000ull
#define TIMEOUTS_BUDGET_NS 100000ull
#define RESCUE_BUDGET_NS 100000ull
#define CLOCK_BUDGET_NS 20000ull /* a call and a Yield a period */
#define TCB_BYTES 2048ull     /* docs/objects.md, Untyped: Retype */
#define ENDPOINT_BYTES 64ull
#define START_YIELDS 1000     /* the request handler reaches its Recv well within */
#define HANDSHAKES 16         /* tries a period to find it back in Recv after a rescue */

enum own_thread { HANDLER, TIMEOUTS, REBALANCER, CLOCK, OWN_THREADS };

volatile uint64_t thread_gen[TENANTS][THREADS_PER_TENANT];
struct timeout_counts counts;

static uint8_t stacks[OWN_THREADS][STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) buffers[OWN_THREADS];

/* ---- Memory ----------------------------------------------------------- */

long server_make_object(uint64_t type, uint64_t slot)
{
    long r = -BK_ERR_NOT_ENOUGH_MEMORY;
    for (unsigned p = 0; p < POOLS; p++) {
        /* An empty pool slot fails the lookup and is passed over. */
        r = sys_untyped_retype(POOL_SLOT(p), type, 0, BK_CAP_ROOT_CNODE, 0, 0, slot, 1);
        if (r == 0)
            return 0;
    }
    return r;
}

static const struct {
    uint64_t type, slot, bytes;
} own_objects[] = {
    { BK_OBJ_TCB, HANDLER_TCB, TCB_BYTES },
    { BK_OBJ_SCHED_CONTEXT, RESCUE_SC, SC_BYTES },
    { BK_OBJ_TCB, TIMEOUTS_TCB, TCB_BYTES },
    { BK_OBJ_SCHED_CONTEXT, TIMEOUTS_SC, SC_BYTES },
    { BK_OBJ_ENDPOINT, TIMEOUT_EP, ENDPOINT_BYTES },
    { BK_OBJ_TCB, REBALANCER_TCB, TCB_BYTES },
    { BK_OBJ_SCHED_CONTEXT, REBALANCER_SC, SC_BYTES },
    { BK_OBJ_TCB, CLOCK_TCB, TCB_BYTES },
    { BK_OBJ_SCHED_CONTEXT, CLOCK_SC, SC_BYTES },
    { BK_OBJ_ENDPOINT, CLOCK_EP, ENDPOINT_BYTES },
};
#define OWN_OBJECTS (sizeof(own_objects) / sizeof(own_objects[0]))
static bool own_made[OWN_OBJECTS];

bool server_objects_ready(uint64_t *missing)
{
    *missing = 0;
    for (unsigned k = 0; k < OWN_OBJECTS; k++) {
        if (!own_made[k])
            own_made[k] = server_make_object(own_objects[k].type, own_objects[k].slot) == 0;
        *missing += own_made[k] ? 0 : own_objects[k].bytes;
    }
    return *missing == 0;
}

/* ---- Timeouts --------------------------------------------------------- */

long server_watch_timeouts(uint64_t tcb, uint64_t badge)
{
    long r = sys_cnode_mint(BK_CAP_ROOT_CNODE, SCRATCH_SLOT, W, BK_CAP_ROOT_CNODE, TIMEOUT_EP, W,
                            BK_RIGHT_WRITE, badge);
    if (r == 0) {
        r = sys_tcb_set_timeout_endpoint(tcb, SCRATCH_SLOT); /* the TCB keeps a copy */
        sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_SLOT, W);
    }
    if (r == 0)
        r = sys_tcb_set_timeout_faults(tcb, 1);
    return r;
}

void server_unwatch_timeouts(uint64_t tcb)
{
    sys_tcb_set_timeout_faults(tcb, 0);
    sys_tcb_set_timeout_endpoint(tcb, 0);
}

/* Counts one in counter[t][i] if `badge` names a current tenant thread. */
static bool count_for(uint64_t badge, volatile uint64_t (*counter)[THREADS_PER_TENANT])
{
    unsigned t, i;
    if (!thread_of_badge(badge, &t, &i))
        return false;
    counter[t][i]++;
    return true;
}

/* The request handler ran out of its caller's budget (`budget` > 0: it
 * goes on at that SchedContext's refill, the request on the caller's
 * time), or the caller's SchedContext was taken away (`budget` 0: it has
 * none, and gets the rescue to finish on). `sc_badge` is the caller's
 * SchedContext's. */
static void request_timed_out(uint64_t sc_badge, uint64_t budget)
{
    if (budget == 0) {
        sys_sched_context_bind(RESCUE_SC, HANDLER_TCB);
        counts.rescues++;
        counts.rescued = true;
        return;
    }
    if (!count_for(sc_badge, counts.request_timeouts))
        counts.other_request_timeouts++;
}

/* Receives timeout faults (words: the SchedContext's badge, its consumed
 * time, budget and period) and answers each with label 0: the thread goes
 * on at its next refill, with no more time than its budget. Anything else
 * arriving here (nothing should) is answered with label 1, which leaves
 * the thread stopped. */
static void timeout_handler(uint64_t arg)
{
    (void)arg;
    struct bk_msg m = { 0 };
    sys_recv(TIMEOUT_EP, &m);
    for (;;) {
        bool timeout = BK_MSGINFO_LABEL(m.info) == BK_FAULT_TIMEOUT;
        if (timeout && m.badge == HANDLER_FAULT_BADGE)
            request_timed_out(m.mr[0], m.mr[2]);
        else if (timeout)
            count_for(m.badge, counts.timeouts);
        m.info = BK_MSGINFO(0, 0, 0, timeout ? 0 : 1);
        sys_reply_recv(TIMEOUT_EP, &m);
    }
}

/* ---- The request handler and the rebalancer --------------------------- */

static void request_handler(uint64_t arg)
{
    (void)arg;
    struct bk_proto_server server;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, RECV_SLOT, W, NULL);
    struct bk_msg m = { 0 };
    sys_recv(ENDPOINT, &m);
    for (;;) {
        server_serve(&server, &m);
        sys_reply_recv(ENDPOINT, &m);
    }
}

static uint64_t state_of(uint64_t tcb)
{
    uint64_t pc, sp, arg, state = 0;
    sys_tcb_read_registers(tcb, &pc, &sp, &arg, &state);
    return state;
}

/* After a rescue the request handler runs on RESCUE_SC, its own: once it
 * waits in Recv again it becomes passive again. We call it (an empty
 * request, on our own time: it runs on the rescue) until we find it
 * waiting: at our priority, no caller below it gets in between its answer
 * and our look. A caller above it that does takes it mid-request: it gets
 * a timeout fault (its own SchedContext lost while it owes an answer) and
 * is rescued again. Not the timeout handler's job: it must stay free to
 * answer the request handler's own timeouts meanwhile. */
static void make_handler_passive_again(void)
{
    for (unsigned tries = 0; counts.rescued && tries < HANDSHAKES; tries++) {
        if (state_of(HANDLER_TCB) == BK_THREAD_STATE_BLOCKED_RECV &&
            sys_sched_context_unbind(RESCUE_SC) == 0) {
            counts.rescued = false;
            return;
        }
        struct bk_msg m = { .info = BK_MSGINFO(0, 0, 0, 0) };
        sys_call(HANDSHAKE_SLOT, &m);
    }
}

/* At each call of the clock: a call to the request handler, which does
 * the rebalance on our loan, then the answer to the clock. */
static void rebalancer(uint64_t arg)
{
    (void)arg;
    struct bk_msg m = { 0 };
    sys_recv(CLOCK_EP, &m);
    for (;;) {
        struct bk_msg r = { .info = BK_MSGINFO(0, 0, 0, 0) };
        sys_call(TICK_SLOT, &r);
        if (counts.rescued)
            make_handler_passive_again();
        m.info = BK_MSGINFO(0, 0, 0, 0);
        sys_reply_recv(CLOCK_EP, &m);
    }
}

/* Once a period: a call to the rebalancer (which has a SchedContext of its
 * own: ours is not lent), then the rest of the budget given up until the
 * next refill. */
static void clock(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct bk_msg m = { .info = BK_MSGINFO(0, 0, 0, 0) };
        sys_call(CLOCK_EP, &m);
        struct bk_msg y = { 0 };
        sys_yield(0, &y);
    }
}

/* ---- Starting them ---------------------------------------------------- */

/* Starts `fn` in thread `which` on `sc`, given `budget` of every period. */
static long start_on(uint64_t tcb, uint64_t sc, uint64_t budget, void (*fn)(uint64_t),
                     enum own_thread which)
{
    long r = sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, budget, PERIOD_NS, REFILLS,
                                         OWN_SC_BADGE);
    if (r == 0)
        r = sys_sched_context_bind(sc, tcb);
    if (r == 0)
        r = bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, fn, 0, stacks[which],
                            STACK_SIZE, (uint64_t)(uintptr_t)&buffers[which], SERVER_PRIORITY);
    return r;
}

/* Yields (to threads of our priority) until `tcb` waits in Recv: 0, or
 * ILLEGAL_OPERATION if it never does. */
static long wait_for_recv(uint64_t tcb)
{
    for (unsigned n = 0; n < START_YIELDS; n++) {
        if (state_of(tcb) == BK_THREAD_STATE_BLOCKED_RECV)
            return 0;
        struct bk_msg y = { 0 };
        sys_yield(0, &y);
    }
    return -BK_ERR_ILLEGAL_OPERATION;
}

/* The request handler, up to its Recv on RESCUE_SC (it is at our
 * priority: our Yield lets it run), then passive. Its timeout faults go to
 * the timeout handler, so that a caller's budget ending in it is counted
 * and answered. A handler that did not get there is stopped: the first
 * thread goes on answering alone. */
static long start_request_handler(void)
{
    long r = server_watch_timeouts(HANDLER_TCB, HANDLER_FAULT_BADGE);
    if (r == 0)
        r = start_on(HANDLER_TCB, RESCUE_SC, RESCUE_BUDGET_NS, request_handler, HANDLER);
    if (r == 0)
        r = wait_for_recv(HANDLER_TCB);
    if (r == 0)
        r = sys_sched_context_unbind(RESCUE_SC);
    if (r != 0)
        sys_tcb_suspend(HANDLER_TCB);
    return r;
}

/* The timeout handler first, so that the request handler's faults have a
 * receiver from its start; the rebalancer and its clock last, once the
 * request handler answers them. */
long server_hand_over(void)
{
    long r = start_on(TIMEOUTS_TCB, TIMEOUTS_SC, TIMEOUTS_BUDGET_NS, timeout_handler, TIMEOUTS);
    if (r == 0)
        r = start_request_handler();
    if (r == 0)
        r = start_on(REBALANCER_TCB, REBALANCER_SC, REBALANCER_BUDGET_NS, rebalancer, REBALANCER);
    if (r == 0)
        r = start_on(CLOCK_TCB, CLOCK_SC, CLOCK_BUDGET_NS, clock, CLOCK);
    return r;
}
