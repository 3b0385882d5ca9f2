/*
 * The scheduler server's usage reports (servers/sched/protocol.toml,
 * docs/scheduling.md, "Usage reports"): a tenant's time in all and on
 * one CPU, a CPU as the server hands it out, and the server's own time.
 * They read the tenant table and the kernel's counters and change
 * nothing (the request handler answers them, as every request: main.c).
 */
#include <protocols/sched_server.h>

#include "server.h"

/* The timeout handler's counts for the threads of `t` since they came. */
static void timeouts_of(const struct tenant *t, uint64_t *timeouts, uint64_t *request_timeouts)
{
    unsigned ti = index_of(t);
    *timeouts = *request_timeouts = 0;
    for (unsigned i = 0; i < THREADS_PER_TENANT; i++) {
        if (!t->thread[i].used)
            continue;
        *timeouts += counts.timeouts[ti][i] - t->thread[i].base_timeouts;
        *request_timeouts += counts.request_timeouts[ti][i] - t->thread[i].base_request_timeouts;
    }
}

/* The tenant a usage request is about (a tenant passes 0 or its own id,
 * the administrator any), or NULL with the error in *err. */
static struct tenant *usage_tenant(struct sched_call *call, uint64_t tenant, int *err)
{
    if (call->badge != 0 && tenant != 0 && tenant != call->badge) {
        *err = sched_fail_not_admin(call, call->badge);
        return NULL;
    }
    uint64_t id = call->badge != 0 ? call->badge : tenant;
    struct tenant *t = tenant_by_id(id);
    if (!t)
        *err = sched_fail_unknown_tenant(call, id);
    return t;
}

/* What `t`'s threads on CPU `cpu` consumed over its life there, read from
 * the kernel now; with cpu == CPUS, on every CPU (and their throttles, if
 * `throttled`). */
static uint64_t consumed_now(struct tenant *t, unsigned cpu, uint64_t *throttled)
{
    uint64_t consumed = 0, ignored = 0;
    for (unsigned c = 0; c < CPUS; c++)
        consumed += (cpu == CPUS || cpu == c) ? t->core[c].consumed_total : 0;
    for (unsigned i = 0; i < THREADS_PER_TENANT; i++) {
        if (t->thread[i].used && (cpu == CPUS || t->thread[i].cpu == cpu))
            sample_thread(t, i, false, &consumed, throttled ? throttled : &ignored);
    }
    return consumed;
}

int sched_handle_usage(struct sched_call *call, uint64_t tenant, uint64_t *consumed_ns,
                       uint64_t *throttled, uint64_t *timeouts, uint64_t *request_timeouts,
                       uint32_t *share_permille, uint32_t *budget_permille, uint32_t *threads)
{
    int err = 0;
    struct tenant *t = usage_tenant(call, tenant, &err);
    if (!t)
        return err;
    *throttled = t->throttled_total;
    *consumed_ns = consumed_now(t, CPUS, throttled);
    timeouts_of(t, timeouts, request_timeouts);
    *share_permille = *budget_permille = 0;
    for (unsigned c = 0; c < CPUS; c++) {
        if (!on_cpu(t, c))
            continue;
        *share_permille += recent_share(t, c);
        *budget_permille += permille_of_periods(t->core[c].budget_ns, 1);
    }
    *threads = t->threads;
    return 0;
}

int sched_handle_usage_on_cpu(struct sched_call *call, uint64_t tenant, uint32_t cpu,
                              uint64_t *consumed_ns, uint32_t *share_permille,
                              uint32_t *budget_permille, uint32_t *threads)
{
    int err = 0;
    struct tenant *t = usage_tenant(call, tenant, &err);
    if (!t)
        return err;
    if (!on_cpu(t, cpu))
        return sched_fail_not_on_cpu(call, t->name, cpu);
    *consumed_ns = consumed_now(t, cpu, NULL);
    *share_permille = recent_share(t, cpu);
    *budget_permille = permille_of_periods(t->core[cpu].budget_ns, 1);
    *threads = t->core[cpu].threads;
    return 0;
}

int sched_handle_cpu_usage(struct sched_call *call, uint32_t cpu, uint32_t *reserved,
                           uint32_t *capacity, uint32_t *tenants_there, uint32_t *threads,
                           uint32_t *share_permille, uint32_t *budget_permille)
{
    if (call->badge != 0)
        return sched_fail_not_admin(call, call->badge);
    if (cpu < CPUS)
        find_cpus();
    if (cpu >= CPUS || !(cpu_held >> cpu & 1))
        return sched_fail_unknown_cpu(call, cpu);
    *capacity = CAPACITY_PERCENT;
    *reserved = CAPACITY_PERCENT - capacity_left(NULL, cpu);
    *tenants_there = *threads = *share_permille = *budget_permille = 0;
    for (unsigned i = 0; i < TENANTS; i++) {
        const struct tenant *t = &tenants[i];
        if (!t->active || !on_cpu(t, cpu))
            continue;
        (*tenants_there)++;
        *threads += t->core[cpu].threads;
        *share_permille += recent_share(t, cpu);
        *budget_permille += permille_of_periods(t->core[cpu].budget_ns, 1);
    }
    return 0;
}

static uint64_t consumed_of(uint64_t sc)
{
    uint64_t consumed = 0, throttled, budget, period;
    sys_sched_context_consumed(sc, &consumed, &throttled, &budget, &period);
    return consumed;
}

int sched_handle_server_usage(struct sched_call *call, uint64_t *rebalancer_ns,
                              uint64_t *timeout_handler_ns, uint64_t *rescue_ns,
                              uint64_t *request_timeouts, uint64_t *rescues)
{
    if (call->badge != 0)
        return sched_fail_not_admin(call, call->badge);
    *rebalancer_ns = consumed_of(REBALANCER_SC) + consumed_of(CLOCK_SC);
    *timeout_handler_ns = consumed_of(TIMEOUTS_SC);
    *rescue_ns = consumed_of(RESCUE_SC);
    *request_timeouts = counts.other_request_timeouts;
    for (unsigned t = 0; t < TENANTS; t++) {
        for (unsigned i = 0; i < THREADS_PER_TENANT; i++)
            *request_timeouts += counts.request_timeouts[t][i];
    }
    *rescues = counts.rescues;
    return 0;
}
