/*
 * The scheduler server (servers/sched/protocol.toml, docs/scheduling.md):
 * holds SchedControl and gives tenants' threads CPU time by policy.
 *
 * Started by bk_process_spawn() with its endpoint (unbadged) in
 * BK_PROCESS_CAP_ARG and the flags BK_SPAWN_GIVE_SCHED_CONTROL and
 * BK_SPAWN_GIVE_VSPACE, at priority SERVER_PRIORITY or above; its spawner
 * then moves one to POOLS untyped caps into POOL_SLOT(0) onward (slots 11
 * to 14): a copy of an untyped cap cannot be retyped, and IPC copies, so
 * memory cannot come as a request. The first tenant made starts the
 * rebalancer thread, which calls the endpoint once a period with
 * REBALANCE_BADGE: the main loop then samples every SchedContext and gives
 * the kernel the new budgets. So all state has one writer, the main loop,
 * and the rebalancer is only a clock.
 *
 * Slots of our CNode: RECV_SLOT receives caps; TICK_SLOT is the
 * rebalancer's badged endpoint cap; POOL_SLOT(i) the untyped caps;
 * REBALANCER_TCB/_SC its thread; THREAD_TCB/_SC(t, i) the copy of tenant
 * t's thread i's TCB and the SchedContext the server made for it (kept
 * once made, reused after a removal).
 */
#include <protocols/sched_server.h>

#include "server.h"

#define W BK_WORD_BITS
#define ENDPOINT BK_PROCESS_CAP_ARG
#define RECV_SLOT (BK_PROCESS_FIRST_FREE_SLOT + 1) /* FIRST_FREE_SLOT holds SchedControl */
#define TICK_SLOT (RECV_SLOT + 1)
#define POOLS 4
#define POOL_SLOT(i) (TICK_SLOT + 1 + (i))
#define REBALANCER_TCB POOL_SLOT(POOLS)
#define REBALANCER_SC (REBALANCER_TCB + 1)
#define THREAD_TCB(t, i) (REBALANCER_SC + 1 + 2 * ((t) * THREADS_PER_TENANT + (i)))
#define THREAD_SC(t, i) (THREAD_TCB(t, i) + 1)
#define REBALANCE_BADGE 0x5c4edull     /* above any tenant id the server gives */
#define REBALANCER_BUDGET_NS 100000ull /* 1 % of the period: it only calls and yields */
/* Refills of every SchedContext the server configures. The rebalancer
 * needs more than one too: it blocks in the middle of its budget (its Call),
 * and with one refill its period stretched to about 26 ms. */
#define REFILLS 8
#define SC_BYTES (1ull << BK_SCHED_CONTEXT_BITS)
#define STACK_SIZE 8192

static bool sc_made[TENANTS][THREADS_PER_TENANT];
static bool rebalancer_started;
static uint64_t next_id = 1;

static uint8_t rebalancer_stack[STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) rebalancer_buffer;

/* ---- Memory ----------------------------------------------------------- */

/* One object of `type` in `slot`, from the first pool with room (an empty
 * pool slot fails the lookup and is passed over): 0 or the kernel's last
 * error. */
static long make_object(uint64_t type, uint64_t slot)
{
    long r = -BK_ERR_NOT_ENOUGH_MEMORY;
    for (unsigned p = 0; p < POOLS; p++) {
        r = sys_untyped_retype(POOL_SLOT(p), type, 0, BK_CAP_ROOT_CNODE, 0, 0, slot, 1);
        if (r == 0)
            return 0;
    }
    return r;
}

/* ---- The rebalancer --------------------------------------------------- */

/* Once a period: a call to the main loop, which does the work, then the
 * rest of the budget given up until the next refill. */
static void rebalancer(uint64_t arg)
{
    (void)arg;
    for (;;) {
        struct bk_msg m = { .info = BK_MSGINFO(0, 0, 0, 0) };
        sys_call(TICK_SLOT, &m);
        struct bk_msg y = { 0 };
        sys_yield(0, &y);
    }
}

static long start_rebalancer(void)
{
    long r = make_object(BK_OBJ_TCB, REBALANCER_TCB);
    if (r == 0)
        r = make_object(BK_OBJ_SCHED_CONTEXT, REBALANCER_SC);
    if (r == 0)
        r = sys_sched_control_configure(BK_CAP_SCHED_CONTROL, REBALANCER_SC, REBALANCER_BUDGET_NS,
                                        PERIOD_NS, REFILLS, 0);
    if (r == 0)
        r = sys_sched_context_bind(REBALANCER_SC, REBALANCER_TCB);
    if (r == 0)
        r = bk_thread_start(REBALANCER_TCB, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, rebalancer, 0,
                            rebalancer_stack, STACK_SIZE, (uint64_t)(uintptr_t)&rebalancer_buffer,
                            SERVER_PRIORITY);
    rebalancer_started = r == 0;
    return r;
}

/* ---- Giving budgets to the kernel ------------------------------------- */

static unsigned index_of(const struct tenant *t)
{
    return (unsigned)(t - tenants);
}

/* Gives each thread of `t` its part of the budget and the band. */
static void apply(struct tenant *t)
{
    if (t->applied || t->threads == 0) {
        t->applied = true;
        return;
    }
    unsigned ti = index_of(t);
    uint64_t each = t->budget_ns / t->threads;
    if (each < BK_SCHED_MIN_BUDGET_NS)
        each = BK_SCHED_MIN_BUDGET_NS;
    for (unsigned i = 0; i < THREADS_PER_TENANT; i++) {
        if (!t->thread[i].used)
            continue;
        sys_sched_control_configure(BK_CAP_SCHED_CONTROL, THREAD_SC(ti, i), each, PERIOD_NS,
                                    REFILLS, t->id);
        sys_tcb_set_priority(THREAD_TCB(ti, i), BK_CAP_ROOT_TCB, t->band);
    }
    t->applied = true;
}

/* What thread i of `t` used and ran out of since the last sample; with
 * `advance`, that sample becomes the new last one. */
static void sample_thread(struct tenant *t, unsigned i, bool advance, uint64_t *used,
                          uint64_t *throttled)
{
    uint64_t consumed = 0, thr = 0, budget, period;
    struct sched_thread *th = &t->thread[i];
    sys_sched_context_consumed(THREAD_SC(index_of(t), i), &consumed, &thr, &budget, &period);
    *used += consumed - th->last_consumed;
    *throttled += thr - th->last_throttled;
    if (advance) {
        th->last_consumed = consumed;
        th->last_throttled = thr;
    }
}

/* Samples a tenant's threads into used_ns, throttled, its totals and its
 * history. */
static void sample_tenant(struct tenant *t)
{
    t->used_ns = t->throttled = 0;
    for (unsigned i = 0; i < THREADS_PER_TENANT; i++) {
        if (t->thread[i].used)
            sample_thread(t, i, true, &t->used_ns, &t->throttled);
    }
    t->consumed_total += t->used_ns;
    t->throttled_total += t->throttled;
    t->history[t->periods % HISTORY] = t->used_ns;
    t->periods++;
}

static void rebalance(void)
{
    for (unsigned i = 0; i < TENANTS; i++) {
        if (tenants[i].active)
            sample_tenant(&tenants[i]);
    }
    policy_rebalance();
    for (unsigned i = 0; i < TENANTS; i++) {
        if (tenants[i].active)
            apply(&tenants[i]);
    }
}

/* ---- Looking up tenants ----------------------------------------------- */

static struct tenant *tenant_by_id(uint64_t id)
{
    for (unsigned i = 0; i < TENANTS && id != 0; i++) {
        if (tenants[i].active && tenants[i].id == id)
            return &tenants[i];
    }
    return NULL;
}

static struct tenant *tenant_by_name(const char *name)
{
    for (unsigned i = 0; i < TENANTS; i++) {
        if (tenants[i].active && strcmp(tenants[i].name, name) == 0)
            return &tenants[i];
    }
    return NULL;
}

/* The checks a policy passes, in this order (admission last: it is the
 * one that depends on the others). 0 or the error. */
static int check_policy(struct sched_call *call, const struct tenant *t, const char *name,
                        uint32_t reservation, uint32_t limit, uint32_t weight)
{
    if (limit > 100)
        return sched_fail_limit_too_high(call, name, limit);
    if (reservation > limit)
        return sched_fail_over_limit(call, name, reservation, limit);
    if (weight == 0)
        return sched_fail_zero_weight(call, name);
    uint32_t left = capacity_left(t);
    if (reservation > left)
        return sched_fail_admission(call, name, reservation, left, CAPACITY_PERCENT);
    return 0;
}

/* ---- The administrator's methods -------------------------------------- */

int sched_handle_create_tenant(struct sched_call *call, const char *name, uint32_t reservation,
                               uint32_t limit, uint32_t weight, uint64_t *tenant)
{
    if (call->badge != 0)
        return sched_fail_not_admin(call, call->badge);
    int err = check_policy(call, NULL, name, reservation, limit, weight);
    if (err)
        return err;
    const struct tenant *same = tenant_by_name(name);
    if (same)
        return sched_fail_name_taken(call, name, same->id);
    struct tenant *t = NULL;
    for (unsigned i = 0; i < TENANTS && !t; i++)
        t = tenants[i].active ? NULL : &tenants[i];
    if (!t)
        return sched_fail_no_room(call, TENANTS);
    if (!rebalancer_started && start_rebalancer() != 0)
        return sched_fail_no_memory(call, name, SC_BYTES);
    *t = (struct tenant){ .active = true, .id = next_id++, .reservation = reservation,
                          .limit = limit, .weight = weight, .band = BAND_RESERVED,
                          .applied = true };
    memcpy(t->name, name, strlen(name) + 1);
    t->budget_ns = reserved_budget(t);
    *tenant = t->id;
    return 0;
}

int sched_handle_set_policy(struct sched_call *call, uint64_t tenant, uint32_t reservation,
                            uint32_t limit, uint32_t weight)
{
    if (call->badge != 0)
        return sched_fail_not_admin(call, call->badge);
    struct tenant *t = tenant_by_id(tenant);
    if (!t)
        return sched_fail_unknown_tenant(call, tenant);
    int err = check_policy(call, t, t->name, reservation, limit, weight);
    if (err)
        return err;
    t->reservation = reservation;
    t->limit = limit;
    t->weight = weight;
    /* The new bounds hold from now; the spare time follows at the next
     * rebalance. */
    uint64_t low = reserved_budget(t), high = PERIOD_NS / 100 * limit;
    uint64_t budget = t->budget_ns > high ? high : t->budget_ns;
    budget = budget < low ? low : budget;
    unsigned band = budget > low ? BAND_BORROWING : BAND_RESERVED;
    if (budget != t->budget_ns || band != t->band)
        t->applied = false;
    t->budget_ns = budget;
    t->band = band;
    apply(t);
    return 0;
}

int sched_handle_remove_tenant(struct sched_call *call, uint64_t tenant, uint32_t *threads)
{
    if (call->badge != 0)
        return sched_fail_not_admin(call, call->badge);
    struct tenant *t = tenant_by_id(tenant);
    if (!t)
        return sched_fail_unknown_tenant(call, tenant);
    unsigned ti = index_of(t);
    for (unsigned i = 0; i < THREADS_PER_TENANT; i++) {
        if (!t->thread[i].used)
            continue;
        sys_sched_context_unbind(THREAD_SC(ti, i));
        sys_cnode_delete(BK_CAP_ROOT_CNODE, THREAD_TCB(ti, i), W);
    }
    *threads = t->threads;
    *t = (struct tenant){ .active = false };
    return 0;
}

/* ---- The tenants' methods --------------------------------------------- */

int sched_handle_add_thread(struct sched_call *call, uint64_t tcb_slot, uint32_t *threads)
{
    struct tenant *t = tenant_by_id(call->badge);
    if (!t)
        return sched_fail_unknown_tenant(call, call->badge);
    unsigned ti = index_of(t), i = 0;
    while (i < THREADS_PER_TENANT && t->thread[i].used)
        i++;
    if (i == THREADS_PER_TENANT)
        return sched_fail_too_many_threads(call, t->name, THREADS_PER_TENANT);
    if (!sc_made[ti][i] && make_object(BK_OBJ_SCHED_CONTEXT, THREAD_SC(ti, i)) != 0)
        return sched_fail_no_memory(call, t->name, SC_BYTES);
    sc_made[ti][i] = true;
    /* Bind checks the cap is a TCB and the thread has no SchedContext;
     * the SchedContext gets its budget below, from apply(). */
    sys_cnode_move(BK_CAP_ROOT_CNODE, THREAD_TCB(ti, i), W, BK_CAP_ROOT_CNODE, tcb_slot, W);
    long r = sys_sched_context_bind(THREAD_SC(ti, i), THREAD_TCB(ti, i));
    if (r != 0) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, THREAD_TCB(ti, i), W);
        if (r == -BK_ERR_ILLEGAL_OPERATION)
            return sched_fail_already_scheduled(call, t->name);
        return sched_fail_not_a_thread(call, t->name);
    }
    t->thread[i] = (struct sched_thread){ .used = true };
    uint64_t ignored = 0;
    sample_thread(t, i, true, &ignored, &ignored); /* its time starts now */
    t->threads++;
    t->applied = false;
    apply(t);
    *threads = t->threads;
    return 0;
}

int sched_handle_usage(struct sched_call *call, uint64_t tenant, uint64_t *consumed_ns,
                       uint64_t *throttled, uint32_t *share_permille, uint32_t *budget_permille,
                       uint32_t *threads)
{
    if (call->badge != 0 && tenant != 0 && tenant != call->badge)
        return sched_fail_not_admin(call, call->badge);
    uint64_t id = call->badge != 0 ? call->badge : tenant;
    struct tenant *t = tenant_by_id(id);
    if (!t)
        return sched_fail_unknown_tenant(call, id);
    *consumed_ns = t->consumed_total;
    *throttled = t->throttled_total;
    for (unsigned i = 0; i < THREADS_PER_TENANT; i++) {
        if (t->thread[i].used)
            sample_thread(t, i, false, consumed_ns, throttled);
    }
    *share_permille = recent_share(t);
    *budget_permille = permille_of_periods(t->budget_ns, 1);
    *threads = t->threads;
    return 0;
}

int main(const struct bk_bootinfo *info)
{
    (void)info;
    struct bk_proto_server server;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, RECV_SLOT, W, NULL);
    sys_cnode_mint(BK_CAP_ROOT_CNODE, TICK_SLOT, W, BK_CAP_ROOT_CNODE, ENDPOINT, W,
                   BK_RIGHT_WRITE, REBALANCE_BADGE);
    struct bk_msg m = { 0 };
    sys_recv(ENDPOINT, &m);
    for (;;) {
        if (m.badge == REBALANCE_BADGE) {
            rebalance();
            m.info = BK_MSGINFO(0, 0, 0, 0);
        } else {
            sched_dispatch(&server, &m);
        }
        sys_reply_recv(ENDPOINT, &m);
    }
}
