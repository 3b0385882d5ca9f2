/*
 * The scheduler server (servers/sched, issue 12), run under -icount (time
 * is instructions: exact and repeatable). The root task spawns
 * sched-server, is its administrator (the unbadged endpoint cap) and plays
 * its tenants (badged copies); the tenants' threads are the root task's
 * own, registered with the server and spinning. The root task runs below
 * every tenant band, on its whole-CPU SchedContext, and measures shares as
 * a tenant's consumed time (Sched: Usage) over the clock. Checks:
 *
 *  - admission and the other policy errors, with their texts; a tenant's
 *    thread errors (not a TCB, registered twice, too many); garbage
 *    requests get errors and the server serves on;
 *  - usage matches the kernel: what the root task did not run, a lone
 *    spinning tenant did (within 2 % of the time, the server's and the
 *    kernel's own share);
 *  - work conservation: with tenant A idle, busy tenant B gets more than
 *    its reservation and its limit within SHARE_TOLERANCE, never more;
 *  - a policy change is in force within two periods (a lower, then a
 *    higher limit);
 *  - weights divide spare time; a lender that wakes gets its reservation
 *    back from the borrowers at once;
 *  - the share over the last second that Usage reports matches.
 */
#include "sched_test.h"

#define W BK_WORD_BITS
#define ROOT_PRIORITY 100
#define PERIOD_NS 10000000ull   /* the server's period */
#define SETTLE_NS 30000000ull   /* three periods: a change is in force by then */
#define WINDOW_NS 200000000ull  /* a share is measured over 200 ms */
#define SHARE_TOLERANCE 20      /* per mille */
#define STACK_SIZE 16384
#define SPINNERS 3

static int failures;
static uint64_t ep, ntfn;
static uint8_t stacks[SPINNERS][STACK_SIZE] __attribute__((aligned(16)));
static uint64_t spinner_tcb[SPINNERS];

static void expect(int ok, const char *what)
{
    debug_printf("schedsrv: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

static bool text_is(const struct sched_error *e, const char *expected)
{
    return sched_test_text_is("schedsrv", e, expected);
}

static uint64_t tenant_cap(uint64_t id)
{
    return sched_test_tenant_cap(ep, id);
}

/* What Sched: Usage returns. */
struct usage {
    uint64_t consumed, throttled, timeouts, request_timeouts;
    uint32_t share, budget, threads;
};

static int usage_of(uint64_t cap, uint64_t tenant, struct usage *u, struct sched_error *e)
{
    return sched_usage(cap, tenant, &u->consumed, &u->throttled, &u->timeouts,
                       &u->request_timeouts, &u->share, &u->budget, &u->threads, e);
}

static uint64_t create(const char *name, uint32_t res, uint32_t limit, uint32_t weight)
{
    uint64_t id = 0;
    struct sched_error e;
    int r = sched_create_tenant(ep, name, res, limit, weight, 1, &id, &e);
    if (r != 0) {
        char text[200];
        sched_error_format(&e, text, sizeof(text));
        debug_printf("schedsrv: creating %s: %s\n", name, text);
    }
    return r == 0 ? id : 0;
}

static void spin(uint64_t arg)
{
    (void)arg;
    for (;;)
        __asm__ volatile("" ::: "memory");
}

/* Waits for the notification, then spins for good. */
static void idle_then_spin(uint64_t arg)
{
    (void)arg;
    struct bk_msg m = { 0 };
    sys_recv(ntfn, &m);
    spin(0);
}

/* Starts thread n at `fn` (it has no SchedContext: it waits) and registers
 * it with the tenant of cap `tenant`. */
static int start_tenant_thread(unsigned n, void (*fn)(uint64_t), uint64_t tenant)
{
    uint32_t threads = 0;
    struct sched_error e;
    spinner_tcb[n] = bk_alloc_object(BK_OBJ_TCB, 0);
    if (!spinner_tcb[n] ||
        bk_thread_start(spinner_tcb[n], BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, fn, 0, stacks[n],
                        STACK_SIZE, 0, ROOT_PRIORITY) != 0)
        return 1;
    return sched_add_thread(tenant, spinner_tcb[n], 0, &threads, &e);
}

/* ---- Errors ------------------------------------------------------------ */

static void check_admission(void)
{
    struct sched_error e;
    uint64_t id;
    uint64_t a = create("web-1", 50, 80, 1), b = create("web-2", 20, 40, 1);
    expect(a != 0 && b != 0, "created web-1 (50 %) and web-2 (20 %)");
    int r = sched_create_tenant(ep, "web-3", 40, 60, 1, 1, &id, &e);
    expect(r == SCHED_ERR_ADMISSION && e.admission.left == 25 &&
               text_is(&e, "tenant web-3: reservation 40 % refused on CPU 0 (asked 40 %, 25 % left of 95 %)"),
           "web-3's 40 % refused: 25 % left");
    r = sched_set_policy(ep, b, 50, 60, 1, &e);
    expect(r == SCHED_ERR_ADMISSION &&
               text_is(&e, "tenant web-2: reservation 50 % refused on CPU 0 (asked 50 %, 45 % left of 95 %)"),
           "raising web-2 to 50 % refused: 45 % left for it");
    expect(sched_set_policy(ep, b, 45, 60, 1, &e) == 0, "raising web-2 to 45 % fits exactly");
    r = sched_create_tenant(ep, "web-4", 30, 20, 1, 1, &id, &e);
    expect(r == SCHED_ERR_OVER_LIMIT &&
               text_is(&e, "tenant web-4: reservation 30 % is above its limit 20 %"),
           "reservation above limit refused");
    r = sched_create_tenant(ep, "web-4", 0, 101, 1, 1, &id, &e);
    expect(r == SCHED_ERR_LIMIT_TOO_HIGH && text_is(&e, "tenant web-4: limit 101 % is above 100 %"),
           "limit above 100 % refused");
    r = sched_create_tenant(ep, "web-4", 0, 10, 0, 1, &id, &e);
    expect(r == SCHED_ERR_ZERO_WEIGHT &&
               text_is(&e, "tenant web-4: weight 0 (at least 1; to get no spare time set limit = reservation)"),
           "weight 0 refused");
    r = sched_create_tenant(ep, "web-1", 0, 10, 1, 1, &id, &e);
    expect(r == SCHED_ERR_NAME_TAKEN && text_is(&e, "tenant web-1: the name is taken (by tenant 1)"),
           "a name taken refused");
    r = sched_set_policy(ep, 99, 0, 10, 1, &e);
    expect(r == SCHED_ERR_UNKNOWN_TENANT && text_is(&e, "no tenant 99"), "unknown tenant refused");
    uint64_t cap = tenant_cap(a);
    r = sched_create_tenant(cap, "web-5", 0, 10, 1, 1, &id, &e);
    expect(r == SCHED_ERR_NOT_ADMIN &&
               text_is(&e, "the caller (badge 1) is a tenant: the method is the administrator's"),
           "a tenant cannot create tenants");
    struct usage u;
    r = usage_of(cap, b, &u, &e);
    expect(r == SCHED_ERR_NOT_ADMIN, "a tenant cannot read another's usage");
    r = usage_of(cap, 0, &u, &e);
    expect(r == 0 && u.budget == 500 && u.threads == 0,
           "a tenant reads its own: budget 500 per mille");
    uint64_t own[5];
    r = sched_server_usage(cap, &own[0], &own[1], &own[2], &own[3], &own[4], &e);
    expect(r == SCHED_ERR_NOT_ADMIN, "a tenant cannot read the server's own usage");
    /* Threads: a cap that is not a TCB, an MCP that reaches above the
     * borrowing band, a thread registered twice, too many. */
    uint32_t threads = 0;
    r = sched_add_thread(cap, ntfn, 0, &threads, &e);
    expect(r == SCHED_ERR_NOT_A_THREAD &&
               text_is(&e, "tenant web-1: the capability sent is not a thread (TCB) cap"),
           "a notification is not a thread");
    uint64_t tcbs[5];
    for (unsigned i = 0; i < 5; i++)
        tcbs[i] = bk_alloc_object(BK_OBJ_TCB, 0);
    sys_tcb_set_mc_priority(tcbs[0], BK_CAP_ROOT_TCB, 111);
    r = sched_add_thread(cap, tcbs[0], 0, &threads, &e);
    expect(r == SCHED_ERR_MCP_TOO_HIGH &&
               text_is(&e, "tenant web-1: the thread's MCP 111 would let it rise above its band "
                           "(at most 110: lower it with TCB: SetMCPriority)"),
           "a thread with MCP 111 refused");
    sys_tcb_set_mc_priority(tcbs[0], BK_CAP_ROOT_TCB, 110);
    uint64_t priority = 0, mcp = 0;
    expect(sched_add_thread(cap, tcbs[0], 0, &threads, &e) == 0 && threads == 1 &&
               sys_tcb_read_priority(tcbs[0], &priority, &mcp) == 0 && priority == 120,
           "a thread with MCP 110 added, at the reserved band's priority (120)");
    r = sched_add_thread(cap, tcbs[0], 0, &threads, &e);
    expect(r == SCHED_ERR_ALREADY_SCHEDULED &&
               text_is(&e, "tenant web-1: the thread already has a SchedContext (registered twice?)"),
           "a thread registered twice refused");
    for (unsigned i = 1; i < 4; i++)
        sched_add_thread(cap, tcbs[i], 0, &threads, &e);
    r = sched_add_thread(cap, tcbs[4], 0, &threads, &e);
    expect(r == SCHED_ERR_TOO_MANY_THREADS && threads == 4 &&
               text_is(&e, "tenant web-1: too many threads (all 4 places taken)"),
           "a fifth thread refused");
    expect(sched_remove_tenant(ep, a, &threads, &e) == 0 && threads == 4 &&
               sched_remove_tenant(ep, b, &threads, &e) == 0,
           "both removed");
    r = sched_add_thread(cap, tcbs[4], 0, &threads, &e);
    expect(r == SCHED_ERR_UNKNOWN_TENANT && text_is(&e, "no tenant 1"),
           "a removed tenant's cap is useless");
    expect(sched_add_thread(ep, tcbs[4], 0, &threads, &e) == SCHED_ERR_UNKNOWN_TENANT,
           "the administrator has no threads to add");
}

static bool garbage(uint64_t label, unsigned length, unsigned caps, int code)
{
    return sched_test_garbage(ep, label, length, caps, code);
}

static void check_garbage(void)
{
    expect(garbage(SCHED_LABEL_USAGE + 77, 1, 0, BK_PROTO_ERR_UNKNOWN_METHOD) &&
               garbage(0, 0, 0, BK_PROTO_ERR_UNKNOWN_METHOD),
           "unknown methods refused");
    expect(garbage(SCHED_LABEL_USAGE, 3, 0, BK_PROTO_ERR_BAD_LENGTH) &&
               garbage(SCHED_LABEL_ADD_THREAD, 1, 0, BK_PROTO_ERR_BAD_CAPS),
           "wrong lengths and missing caps refused");
    expect(garbage(SCHED_LABEL_CREATE_TENANT, 6, 0, BK_PROTO_ERR_BAD_VALUE),
           "a name and numbers out of range refused");
    bk_ipc_buffer->caps[0] = ntfn;
    expect(garbage(SCHED_LABEL_USAGE, 1, 1, BK_PROTO_ERR_BAD_CAPS), "an unexpected cap refused");
    struct sched_error e;
    uint64_t id;
    expect(sched_create_tenant(ep, "after", 0, 1, 1, 1, &id, &e) == 0 &&
               sched_remove_tenant(ep, id, &(uint32_t){ 0 }, &e) == 0,
           "the server serves on");
}

/* ---- Shares ------------------------------------------------------------ */

struct sample {
    uint64_t ns, consumed, root, throttled, timeouts;
};

static void take(uint64_t tenant, struct sample *s)
{
    uint64_t throttled, budget, period;
    struct usage u = { 0 };
    struct sched_error e;
    s->ns = debug_time_ns();
    usage_of(ep, tenant, &u, &e);
    s->consumed = u.consumed;
    s->timeouts = u.timeouts;
    s->throttled = u.throttled;
    sys_sched_context_consumed(BK_CAP_ROOT_SCHED_CONTEXT, &s->root, &throttled, &budget, &period);
}

static void wait_ns(uint64_t ns)
{
    uint64_t t0 = debug_time_ns();
    while (debug_time_ns() - t0 < ns)
        ;
}

/* Per mille of the CPU tenant `id` got over the next `window` ns. */
static uint64_t share_of(uint64_t id, uint64_t window)
{
    struct sample a, b;
    take(id, &a);
    wait_ns(window);
    take(id, &b);
    return (b.consumed - a.consumed) * 1000 / (b.ns - a.ns);
}

static bool near(uint64_t got, uint64_t want, uint64_t tolerance)
{
    return got + tolerance >= want && got <= want + tolerance;
}

static void report(const char *what, uint64_t got, uint64_t want)
{
    debug_printf("schedsrv: %s: %llu per mille (expected %llu +- %u)\n", what,
                 (unsigned long long)got, (unsigned long long)want, SHARE_TOLERANCE);
}

static void check_usage_matches_kernel(uint64_t b)
{
    struct sample s0, s1;
    wait_ns(SETTLE_NS);
    take(b, &s0);
    wait_ns(WINDOW_NS);
    take(b, &s1);
    uint64_t elapsed = s1.ns - s0.ns, tenant = s1.consumed - s0.consumed;
    uint64_t not_root = elapsed - (s1.root - s0.root);
    debug_printf("schedsrv: usage: tenant %llu ns, not the root task %llu ns, of %llu\n",
                 (unsigned long long)tenant, (unsigned long long)not_root,
                 (unsigned long long)elapsed);
    expect(tenant <= not_root && not_root - tenant <= elapsed / 50,
           "usage: what the root task did not run, the tenant did, within 2 %");
    uint64_t ran_out = s1.throttled - s0.throttled, timeouts = s1.timeouts - s0.timeouts;
    debug_printf("schedsrv: B ran out of budget %llu times in %llu periods, %llu of them "
                 "timeout faults the server answered\n",
                 (unsigned long long)ran_out, (unsigned long long)(elapsed / PERIOD_NS),
                 (unsigned long long)timeouts);
    expect(timeouts >= elapsed / PERIOD_NS - 1 && timeouts <= ran_out && ran_out - timeouts <= 1,
           "timeouts: the server heard of each time B's budget ended as it spun");
    uint64_t share = tenant * 1000 / elapsed;
    report("B busy, A idle", share, 600);
    expect(share > 300 + SHARE_TOLERANCE, "work conservation: B got more than its reservation");
    expect(near(share, 600, SHARE_TOLERANCE) && share <= 600 + 5,
           "B got its limit (60 %) and never more");
}

static void check_policy_change(uint64_t b)
{
    struct sched_error e;
    expect(sched_set_policy(ep, b, 30, 40, 1, &e) == 0, "B's limit lowered to 40 %");
    wait_ns(2 * PERIOD_NS);
    uint64_t share = share_of(b, WINDOW_NS / 2);
    report("B limited to 40 %", share, 400);
    expect(near(share, 400, SHARE_TOLERANCE) && share <= 400 + 5,
           "B at 40 % within two periods of the change");
    expect(sched_set_policy(ep, b, 30, 90, 1, &e) == 0, "B's limit raised to 90 %");
    wait_ns(2 * PERIOD_NS);
    share = share_of(b, WINDOW_NS / 2);
    report("B limited to 90 %", share, 900);
    expect(near(share, 900, SHARE_TOLERANCE) && share <= 900 + 5,
           "B at 90 % within two periods of the change");
}

static void check_weights(uint64_t a, uint64_t b)
{
    uint64_t c = create("C", 10, 100, 3);
    expect(c != 0 && start_tenant_thread(2, spin, tenant_cap(c)) == 0,
           "tenant C (10 %, up to 100 %, weight 3) spins");
    /* Spare 95 - 30 - 10 = 55 %: B gets 1/4, C 3/4. */
    wait_ns(SETTLE_NS);
    struct sample b0, b1, c0, c1;
    take(b, &b0);
    take(c, &c0);
    wait_ns(WINDOW_NS);
    take(b, &b1);
    take(c, &c1);
    uint64_t sb = (b1.consumed - b0.consumed) * 1000 / (b1.ns - b0.ns);
    uint64_t sc = (c1.consumed - c0.consumed) * 1000 / (c1.ns - c0.ns);
    report("B (weight 1)", sb, 437);
    report("C (weight 3)", sc, 512);
    expect(near(sb, 437, SHARE_TOLERANCE) && near(sc, 512, SHARE_TOLERANCE),
           "the spare time went 1:3 by weight");
    /* A wakes: 95 - 30 - 30 - 10 = 25 % spare, 1:1:3. */
    struct bk_msg m = { 0 };
    sys_send(ntfn, &m);
    wait_ns(SETTLE_NS);
    uint64_t sa = share_of(a, WINDOW_NS);
    report("A woken", sa, 350);
    expect(near(sa, 350, SHARE_TOLERANCE), "the lender got its reservation and its part back");
}

static void check_recent_share(uint64_t a)
{
    struct sample s0, s1;
    take(a, &s0);
    wait_ns(1000000000ull);
    take(a, &s1);
    struct usage u = { 0 };
    struct sched_error e;
    usage_of(ep, a, &u, &e);
    uint64_t measured = (u.consumed - s0.consumed) * 1000 / (s1.ns - s0.ns);
    debug_printf("schedsrv: A over the last second: usage says %u per mille, measured %llu, "
                 "throttled %llu times\n",
                 u.share, (unsigned long long)measured, (unsigned long long)u.throttled);
    expect(near(u.share, measured, 10), "usage's share over the last second matches, within 1 %");
}

static void check_shares(void)
{
    uint64_t a = create("A", 30, 50, 1), b = create("B", 30, 60, 1);
    expect(a && b, "tenants A (30-50 %) and B (30-60 %)");
    expect(start_tenant_thread(0, idle_then_spin, tenant_cap(a)) == 0 &&
               start_tenant_thread(1, spin, tenant_cap(b)) == 0,
           "A's thread waits, B's spins");
    check_usage_matches_kernel(b);
    check_policy_change(b);
    check_weights(a, b);
    check_recent_share(a);
}

int main(const struct bk_bootinfo *bi)
{
    bk_alloc_init(bi);
    struct bk_process p;
    ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    ntfn = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    uint64_t pool = bk_alloc_object(BK_OBJ_UNTYPED, 16);
    expect(ep && ntfn && pool &&
               sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_PRIORITY) == 0 &&
               sched_test_spawn(bi, ep, pool, &p) == 0,
           "spawned sched-server, 64 KiB of untyped in its pool slot");
    check_admission();
    check_garbage();
    check_shares();
    debug_printf("schedsrv: %s\n", failures ? "checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
