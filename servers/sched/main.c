/*
 * The scheduler server (servers/sched/protocol.toml, docs/scheduling.md):
 * holds SchedControl and gives tenants' threads CPU time by policy. This
 * file is the request handler's work: the requests, the rebalance, and
 * what is given to the kernel; threads.c starts the server's threads.
 *
 * Started by bk_process_spawn() with its endpoint (unbadged) in
 * BK_PROCESS_CAP_ARG and the flags BK_SPAWN_GIVE_SCHED_CONTROL and
 * BK_SPAWN_GIVE_VSPACE, at priority SERVER_PRIORITY or above; its spawner
 * then moves one to POOLS untyped caps into POOL_SLOT(0) onward (slots 11
 * to 14): a copy of an untyped cap cannot be retyped, and IPC copies, so
 * memory cannot come as a request. It copies each other CPU's
 * SchedControl it wants handed out into CPU_SLOT(c) (find_cpus()); every
 * tenant has a set of those CPUs, and its policy holds on each apart.
 * main() answers requests on the spawner's SchedContext until that memory
 * is there, then hands over to the request handler, which runs on its
 * callers' time (threads.c). The
 * rebalancer calls the endpoint once a period with REBALANCE_BADGE: the
 * request handler then samples every SchedContext and gives the kernel
 * the new budgets. So the tenant table has one writer, the request
 * handler, and the rebalancer is only a clock.
 */
#include <protocols/sched_server.h>

#include "server.h"

static bool sc_made[TENANTS][THREADS_PER_TENANT];
static uint64_t next_id = 1;
uint64_t cpu_held;

/* ---- The CPUs ----------------------------------------------------------- */

/* Looks for the SchedControl caps the spawner put in CPU_SLOT() since the
 * last look (it may copy them in after the spawn, as it moves the untyped
 * in). A copy of the slot to SCRATCH_SLOT succeeds only if it holds a cap;
 * the cap's type is the spawner's word, as the pools' are (a trusted
 * spawner fills both), and Configure through it must still work before a
 * thread is bound to a SchedContext of that CPU (sched_handle_add_thread). */
void find_cpus(void)
{
    for (unsigned c = 0; c < CPUS; c++) {
        if (cpu_held >> c & 1)
            continue;
        if (sys_cnode_copy(BK_CAP_ROOT_CNODE, SCRATCH_SLOT, W, BK_CAP_ROOT_CNODE, CPU_SLOT(c), W,
                           BK_RIGHTS_ALL) == 0) {
            cpu_held |= 1ull << c;
            sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_SLOT, W);
        }
    }
}

/* The checks of a CPU set (bad_cpus, unknown_cpu): 0 or the error. */
static int check_cpus(struct sched_call *call, uint64_t cpus)
{
    if (cpus == 0 || cpus >> CPUS != 0)
        return sched_fail_bad_cpus(call, cpus);
    find_cpus();
    for (unsigned c = 0; c < CPUS; c++) {
        if ((cpus >> c & 1) && !(cpu_held >> c & 1))
            return sched_fail_unknown_cpu(call, c);
    }
    return 0;
}

/* A CPU the tenant starts on: its reservation as budget, nothing used;
 * what it consumed there before (it may come back to a CPU) kept for its
 * totals. */
static void join_cpu(struct tenant *t, unsigned cpu)
{
    struct core_share *s = &t->core[cpu];
    uint64_t consumed = s->consumed_total;
    *s = (struct core_share){ .band = BAND_RESERVED, .applied = true,
                              .consumed_total = consumed };
    s->budget_ns = reserved_budget(t, cpu);
}

/* ---- Giving budgets to the kernel ------------------------------------- */

/* Gives each thread of `t` on CPU `cpu` its part of the budget there and
 * the band, through that CPU's SchedControl. */
static void apply_on(struct tenant *t, unsigned cpu)
{
    struct core_share *s = &t->core[cpu];
    if (s->applied || s->threads == 0) {
        s->applied = true;
        return;
    }
    unsigned ti = index_of(t);
    uint64_t each = s->budget_ns / s->threads;
    if (each < BK_SCHED_MIN_BUDGET_NS)
        each = BK_SCHED_MIN_BUDGET_NS;
    for (unsigned i = 0; i < THREADS_PER_TENANT; i++) {
        if (!t->thread[i].used || t->thread[i].cpu != cpu)
            continue;
        sys_sched_control_configure(CPU_SLOT(cpu), THREAD_SC(ti, i), each, PERIOD_NS, REFILLS,
                                    thread_badge(ti, i));
        sys_tcb_set_priority(THREAD_TCB(ti, i), BK_CAP_ROOT_TCB, s->band);
    }
    s->applied = true;
}

/* apply_on() every CPU of `t`. */
static void apply(struct tenant *t)
{
    for (unsigned c = 0; c < CPUS; c++) {
        if (on_cpu(t, c))
            apply_on(t, c);
    }
}

void sample_thread(struct tenant *t, unsigned i, bool advance, uint64_t *used,
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

/* Samples a tenant's threads into each CPU's used_ns, throttled, totals
 * and history. */
static void sample_tenant(struct tenant *t)
{
    for (unsigned c = 0; c < CPUS; c++) {
        struct core_share *s = &t->core[c];
        s->throttled_before = s->throttled;
        s->used_ns = s->throttled = 0;
    }
    for (unsigned i = 0; i < THREADS_PER_TENANT; i++) {
        struct core_share *s = &t->core[t->thread[i].cpu];
        if (t->thread[i].used)
            sample_thread(t, i, true, &s->used_ns, &s->throttled);
    }
    for (unsigned c = 0; c < CPUS; c++) {
        struct core_share *s = &t->core[c];
        s->consumed_total += s->used_ns;
        t->throttled_total += s->throttled;
        s->history[t->periods % HISTORY] = s->used_ns;
    }
    t->periods++;
}

static void rebalance(void)
{
    for (unsigned i = 0; i < TENANTS; i++) {
        if (tenants[i].active)
            sample_tenant(&tenants[i]);
    }
    for (unsigned c = 0; c < CPUS; c++) {
        if (cpu_held >> c & 1)
            policy_rebalance(c);
    }
    for (unsigned i = 0; i < TENANTS; i++) {
        if (tenants[i].active)
            apply(&tenants[i]);
    }
}

/* The rebalancer's two badges ask for a rebalance, or for nothing (it
 * looks whether we are back in Recv after a rescue, threads.c); every
 * other message is a request. */
void server_serve(const struct bk_proto_server *server, struct bk_msg *m)
{
    if (m->badge != REBALANCE_BADGE && m->badge != HANDSHAKE_BADGE) {
        sched_dispatch(server, m);
        return;
    }
    if (m->badge == REBALANCE_BADGE)
        rebalance();
    m->info = BK_MSGINFO(0, 0, 0, 0);
}

/* ---- Looking up tenants ----------------------------------------------- */

struct tenant *tenant_by_id(uint64_t id)
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

/* The checks a policy on the CPUs of `cpus` passes, in this order
 * (admission last: it is the one that depends on the others, and is made
 * on each CPU). 0 or the error. */
static int check_policy(struct sched_call *call, const struct tenant *t, const char *name,
                        uint32_t reservation, uint32_t limit, uint32_t weight, uint64_t cpus)
{
    if (limit > 100)
        return sched_fail_limit_too_high(call, name, limit);
    if (reservation > limit)
        return sched_fail_over_limit(call, name, reservation, limit);
    if (weight == 0)
        return sched_fail_zero_weight(call, name);
    for (unsigned c = 0; c < CPUS; c++) {
        uint32_t left = (cpus >> c & 1) ? capacity_left(t, c) : CAPACITY_PERCENT;
        if (reservation > left)
            return sched_fail_admission(call, name, reservation, c, left, CAPACITY_PERCENT);
    }
    return 0;
}

/* ---- The administrator's methods -------------------------------------- */

int sched_handle_create_tenant(struct sched_call *call, const char *name, uint32_t reservation,
                               uint32_t limit, uint32_t weight, uint64_t cpus, uint64_t *tenant)
{
    if (call->badge != 0)
        return sched_fail_not_admin(call, call->badge);
    int err = check_cpus(call, cpus);
    if (!err)
        err = check_policy(call, NULL, name, reservation, limit, weight, cpus);
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
    uint64_t missing;
    if (!server_objects_ready(&missing)) /* its threads: a tenant needs the rebalancer */
        return sched_fail_no_memory(call, name, missing);
    *t = (struct tenant){ .active = true, .id = next_id++, .reservation = reservation,
                          .limit = limit, .weight = weight, .cpus = cpus };
    memcpy(t->name, name, strlen(name) + 1);
    for (unsigned c = 0; c < CPUS; c++) {
        if (on_cpu(t, c))
            join_cpu(t, c);
    }
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
    int err = check_policy(call, t, t->name, reservation, limit, weight, t->cpus);
    if (err)
        return err;
    t->reservation = reservation;
    t->limit = limit;
    t->weight = weight;
    /* The new bounds hold from now, on each CPU; the spare time follows at
     * the next rebalance. */
    for (unsigned c = 0; c < CPUS; c++) {
        if (!on_cpu(t, c))
            continue;
        struct core_share *s = &t->core[c];
        uint64_t low = reserved_budget(t, c), high = PERIOD_NS / 100 * limit;
        uint64_t budget = s->budget_ns > high ? high : s->budget_ns;
        budget = budget < low ? low : budget;
        unsigned band = budget > low ? BAND_BORROWING : BAND_RESERVED;
        if (budget != s->budget_ns || band != s->band)
            s->applied = false;
        s->budget_ns = budget;
        s->band = band;
    }
    apply(t);
    return 0;
}

int sched_handle_set_cpus(struct sched_call *call, uint64_t tenant, uint64_t cpus)
{
    if (call->badge != 0)
        return sched_fail_not_admin(call, call->badge);
    struct tenant *t = tenant_by_id(tenant);
    if (!t)
        return sched_fail_unknown_tenant(call, tenant);
    int err = check_cpus(call, cpus);
    if (!err)
        err = check_policy(call, t, t->name, t->reservation, t->limit, t->weight, cpus);
    if (err)
        return err;
    for (unsigned c = 0; c < CPUS; c++) {
        if (on_cpu(t, c) && !(cpus >> c & 1) && t->core[c].threads > 0)
            return sched_fail_cpu_in_use(call, t->name, c, t->core[c].threads);
    }
    uint64_t gained = cpus & ~t->cpus;
    t->cpus = cpus;
    for (unsigned c = 0; c < CPUS; c++) {
        if (gained >> c & 1)
            join_cpu(t, c);
    }
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
        server_unwatch_timeouts(THREAD_TCB(ti, i)); /* before: losing its time is no fault */
        sys_sched_context_unbind(THREAD_SC(ti, i));
        sys_cnode_delete(BK_CAP_ROOT_CNODE, THREAD_TCB(ti, i), W);
    }
    *threads = t->threads;
    *t = (struct tenant){ .active = false };
    return 0;
}

/* ---- The tenants' methods --------------------------------------------- */

/* The first free thread place of `t`, THREADS_PER_TENANT if none. */
static unsigned free_place(const struct tenant *t)
{
    unsigned i = 0;
    while (i < THREADS_PER_TENANT && t->thread[i].used)
        i++;
    return i;
}

/* Thread i of `t` is bound, on CPU `cpu`: its time, timeouts and
 * SchedContext's badge count from now, and its timeout faults come to
 * us. */
static void register_thread(struct tenant *t, unsigned i, unsigned cpu)
{
    unsigned ti = index_of(t);
    thread_gen[ti][i]++;
    t->thread[i] = (struct sched_thread){
        .used = true,
        .cpu = cpu,
        .base_timeouts = counts.timeouts[ti][i],
        .base_request_timeouts = counts.request_timeouts[ti][i],
    };
    uint64_t ignored = 0;
    sample_thread(t, i, true, &ignored, &ignored);
    /* Without it we only miss its timeouts in its usage: its budget holds
     * all the same. */
    (void)server_watch_timeouts(THREAD_TCB(ti, i), thread_badge(ti, i));
    t->threads++;
    t->core[cpu].threads++;
    t->core[cpu].applied = false;
    apply_on(t, cpu);
}

/* Whether the cap in `slot` is a TCB, with nothing done. A method called
 * on a cap a client sent is not safe before: on an endpoint or a
 * notification the call is IPC (a Call that may never be answered, a
 * Signal). TCB: SetPriority takes only a TCB as authority
 * (INVALID_CAPABILITY else), and gives the request handler the priority it
 * has (or fails with RANGE if the cap's MCP is below it): no change. */
static bool is_tcb(uint64_t slot)
{
    long r = sys_tcb_set_priority(HANDLER_TCB, slot, SERVER_PRIORITY);
    return r == 0 || r == -BK_ERR_RANGE;
}

/* Checks, in this order: the caller is a tenant, the CPU one of its, and
 * it has a free place; the cap is a TCB whose MCP cannot lift a thread
 * above the borrowing band; a SchedContext is there or can be made, and
 * the CPU's SchedControl configures it (so it is on that CPU, with the
 * smallest budget, before the thread is bound to it: a SchedContext kept
 * from a removed thread would otherwise run the new one on its old CPU
 * and budget until register_thread() configures it); Bind takes (the
 * thread has no SchedContext yet). */
int sched_handle_add_thread(struct sched_call *call, uint64_t tcb_slot, uint32_t cpu,
                            uint32_t *threads)
{
    struct tenant *t = tenant_by_id(call->badge);
    if (!t)
        return sched_fail_unknown_tenant(call, call->badge);
    if (!on_cpu(t, cpu))
        return sched_fail_not_on_cpu(call, t->name, cpu);
    unsigned ti = index_of(t), i = free_place(t);
    if (i == THREADS_PER_TENANT)
        return sched_fail_too_many_threads(call, t->name, THREADS_PER_TENANT);
    uint64_t priority, mcp;
    if (!is_tcb(tcb_slot) || sys_tcb_read_priority(tcb_slot, &priority, &mcp) != 0)
        return sched_fail_not_a_thread(call, t->name);
    if (mcp > BAND_BORROWING)
        return sched_fail_mcp_too_high(call, t->name, (uint32_t)mcp, BAND_BORROWING);
    if (!sc_made[ti][i] && server_make_object(BK_OBJ_SCHED_CONTEXT, THREAD_SC(ti, i)) != 0)
        return sched_fail_no_memory(call, t->name, SC_BYTES);
    sc_made[ti][i] = true;
    if (sys_sched_control_configure(CPU_SLOT(cpu), THREAD_SC(ti, i), BK_SCHED_MIN_BUDGET_NS,
                                    PERIOD_NS, REFILLS, 0) != 0)
        return sched_fail_unknown_cpu(call, cpu);
    /* The SchedContext gets its budget in register_thread(), from apply_on(). */
    sys_cnode_move(BK_CAP_ROOT_CNODE, THREAD_TCB(ti, i), W, BK_CAP_ROOT_CNODE, tcb_slot, W);
    if (sys_sched_context_bind(THREAD_SC(ti, i), THREAD_TCB(ti, i)) != 0) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, THREAD_TCB(ti, i), W);
        return sched_fail_already_scheduled(call, t->name);
    }
    register_thread(t, i, cpu);
    *threads = t->threads;
    return 0;
}

/* Makes the server's threads and starts them, if its memory is there,
 * keeping the reply in `m`: the syscalls on the way use the message words
 * of the IPC buffer, where a long reply lies. True once they run. */
static bool hand_over_keeping(const struct bk_msg *m)
{
    uint64_t words[BK_MSG_MAX_WORDS], length = BK_MSGINFO_LENGTH(m->info);
    for (uint64_t i = BK_MSG_CPU_WORDS; i < length && i < BK_MSG_MAX_WORDS; i++)
        words[i] = bk_ipc_buffer->mr[i];
    uint64_t missing;
    bool done = server_objects_ready(&missing) && server_hand_over() == 0;
    for (uint64_t i = BK_MSG_CPU_WORDS; i < length && i < BK_MSG_MAX_WORDS; i++)
        bk_ipc_buffer->mr[i] = words[i];
    return done;
}

/* The first thread: answers requests on its spawner's SchedContext until
 * the server's threads can be made, then starts them and, having answered
 * the request in hand, leaves the endpoint to the request handler. */
int main(const struct bk_bootinfo *info)
{
    (void)info;
    struct bk_proto_server server;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, RECV_SLOT, W, NULL);
    sys_cnode_mint(BK_CAP_ROOT_CNODE, TICK_SLOT, W, BK_CAP_ROOT_CNODE, ENDPOINT, W,
                   BK_RIGHT_WRITE, REBALANCE_BADGE);
    sys_cnode_mint(BK_CAP_ROOT_CNODE, HANDSHAKE_SLOT, W, BK_CAP_ROOT_CNODE, ENDPOINT, W,
                   BK_RIGHT_WRITE, HANDSHAKE_BADGE);
    struct bk_msg m = { 0 };
    sys_recv(ENDPOINT, &m);
    for (;;) {
        server_serve(&server, &m);
        if (hand_over_keeping(&m)) {
            sys_reply(ENDPOINT, &m);
            sys_thread_exit(0);
        }
        sys_reply_recv(ENDPOINT, &m);
    }
}
