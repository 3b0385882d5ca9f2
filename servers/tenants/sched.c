/*
 * The tenants' CPU with a scheduler server (docs/tenants.md, "CPU"): when
 * the manager holds the scheduler server's unbadged endpoint
 * (TENANTS_SLOT_SCHED), a tenant's CPU quota is a reservation with that
 * server, with a limit and a weight (Sched: CreateTenant, on the CPU the
 * administrator chose among the allowance's), instead of a fixed budget on a SchedContext
 * of the memory server's. The memory server spawns the thread without a
 * SchedContext (Mem: Spawn's SPAWN_NO_SCHED), hands us its TCB (Mem:
 * Thread) and we hand it on (Sched: AddThread, as the tenant: a copy of
 * the server's cap badged with the tenant's id there), which binds one of
 * the server's own; then the thread starts. Its time is then the server's:
 * List reads it there (Sched: Usage), SetQuota changes the policy (Sched:
 * SetPolicy), Kill ends the tenancy (Sched: RemoveTenant).
 */
#include "tenants.h"

#define W BK_WORD_BITS
#define SPAWN_NO_SCHED 4u /* Mem: Spawn's flag (servers/mem/server.h) */
#define SPAWN_START 2u

static int sched_refused(struct tenants_call *call, const char *tenant,
                         const struct sched_error *e)
{
    char reason[96];
    sched_error_format(e, reason, sizeof(reason));
    return tenants_fail_sched_refused(call, tenant, reason);
}

bool tenant_sched_on(void)
{
    return BK_CAP_IDENTITY_TYPE(debug_cap_identify(TENANTS_SLOT_SCHED)) == BK_OBJ_ENDPOINT;
}

/* The limit and weight in force: a limit of 0 (or below the reservation)
 * follows the reservation; a weight of 0 is 1. */
static uint32_t limit_of(uint32_t cpu, uint32_t limit)
{
    return limit > cpu ? limit : cpu;
}

static uint32_t weight_of(uint32_t weight)
{
    return weight ? weight : 1;
}

int tenant_cpu_checks(struct tenants_call *call, const char *name, uint32_t limit,
                      uint32_t weight)
{
    if ((limit || weight) && !tenant_sched_on())
        return tenants_fail_no_sched(call, name, limit, weight);
    if (limit > 100)
        return tenants_fail_bad_cpu(call, name, limit);
    return 0;
}

int tenant_sched_create(struct tenants_call *call, struct tenant *t, uint32_t limit,
                        uint32_t weight)
{
    struct sched_error e;
    t->cpu_limit = limit_of(t->cpu, limit);
    t->weight = weight_of(weight);
    if (sched_create_tenant(TENANTS_SLOT_SCHED, t->name, t->cpu, t->cpu_limit, t->weight,
                            1ull << t->on_cpu, &t->sched_id, &e))
        return sched_refused(call, t->name, &e);
    return 0;
}

uint32_t tenant_spawn_flags(const struct tenant *t)
{
    return t->sched_id ? SPAWN_NO_SCHED : SPAWN_START;
}

/* Mem: Thread, then Sched: AddThread on a copy of the server's cap badged
 * as the tenant, then Mem: Start. Our copy of the TCB cap is deleted
 * whatever happens: the thread is the tenant's. */
int tenant_sched_adopt(struct tenants_call *call, struct tenant *t)
{
    if (!t->sched_id)
        return 0;
    struct mem_error me;
    struct sched_error se;
    uint32_t threads;
    sys_cnode_delete(BK_CAP_ROOT_CNODE, TENANTS_SLOT_TCB, W);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, TENANTS_SLOT_SCHED_AS, W);
    if (mem_thread(TENANTS_SLOT_MEM, t->id, TENANTS_SLOT_TCB, &me))
        return tenants_fail_refused(call, t->name, "no cap to its thread (Mem: Thread)");
    int err = 0;
    if (sys_cnode_mint(BK_CAP_ROOT_CNODE, TENANTS_SLOT_SCHED_AS, W, BK_CAP_ROOT_CNODE,
                       TENANTS_SLOT_SCHED, W, BK_RIGHT_WRITE | BK_RIGHT_GRANT,
                       t->sched_id) != 0)
        err = tenants_fail_refused(call, t->name, "no cap to the scheduler server to mint");
    else if (sched_add_thread(TENANTS_SLOT_SCHED_AS, TENANTS_SLOT_TCB, t->on_cpu, &threads, &se))
        err = sched_refused(call, t->name, &se);
    else if (mem_start(TENANTS_SLOT_MEM, t->id, &me))
        err = tenants_fail_refused(call, t->name, "its thread did not start (Mem: Start)");
    sys_cnode_delete(BK_CAP_ROOT_CNODE, TENANTS_SLOT_TCB, W);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, TENANTS_SLOT_SCHED_AS, W);
    return err;
}

int tenant_sched_policy(struct tenants_call *call, struct tenant *t, uint32_t cpu, uint32_t limit,
                        uint32_t weight)
{
    uint32_t new_limit = limit_of(cpu, limit ? limit : t->cpu_limit);
    uint32_t new_weight = weight ? weight : t->weight;
    if (!t->sched_id ||
        (cpu == t->cpu && new_limit == t->cpu_limit && new_weight == t->weight))
        return 0;
    struct sched_error e;
    if (sched_set_policy(TENANTS_SLOT_SCHED, t->sched_id, cpu, new_limit, new_weight, &e))
        return sched_refused(call, t->name, &e);
    t->cpu_limit = new_limit;
    t->weight = new_weight;
    return 0;
}

int tenant_sched_remove(struct tenants_call *call, struct tenant *t)
{
    if (!t->sched_id)
        return 0;
    struct sched_error e;
    uint32_t threads;
    if (sched_remove_tenant(TENANTS_SLOT_SCHED, t->sched_id, &threads, &e))
        return sched_refused(call, t->name, &e);
    t->sched_id = 0;
    return 0;
}

int tenant_sched_consumed(struct tenants_call *call, const struct tenant *t, uint64_t *ns)
{
    struct sched_error e;
    uint64_t throttled, timeouts, request_timeouts;
    uint32_t share, budget, threads;
    if (sched_usage(TENANTS_SLOT_SCHED, t->sched_id, ns, &throttled, &timeouts,
                    &request_timeouts, &share, &budget, &threads, &e))
        return sched_refused(call, t->name, &e);
    return 0;
}
