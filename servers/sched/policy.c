/*
 * The scheduler server's policy (docs/scheduling.md, "The scheduler
 * server"): admission and the rebalance arithmetic, on the tenant table
 * alone; main.c gives the results to the kernel.
 *
 * A rebalance, once a period, on each CPU apart (a tenant's policy holds
 * on each of its CPUs; its threads on one CPU never run on another):
 *  1. a tenant is hungry if it ran out of budget since the last one or
 *     the one before, or used at least 90 % of its budget;
 *  2. spare = capacity - the reservations of the hungry - what the others
 *     actually used (at most their reservation): an idle tenant's unused
 *     reservation is lent;
 *  3. the spare is divided among the hungry by weight, each getting at
 *     most limit - reservation; what a capped tenant cannot take is divided
 *     again among the rest (water-filling);
 *  4. budget = reservation + its part; a tenant with a part above 0
 *     borrows and runs in the lower band, so a lender that wakes again
 *     preempts it and gets its whole reservation in that period.
 */
#include "server.h"

struct tenant tenants[TENANTS];

static uint64_t percent_ns(uint64_t percent)
{
    return PERIOD_NS / 100 * percent;
}

uint32_t permille_of_periods(uint64_t ns, uint64_t periods)
{
    return periods ? (uint32_t)(ns * 1000 / (periods * PERIOD_NS)) : 0;
}

uint32_t capacity_left(const struct tenant *except, unsigned cpu)
{
    uint32_t reserved = 0;
    for (unsigned i = 0; i < TENANTS; i++) {
        if (tenants[i].active && &tenants[i] != except && (tenants[i].cpus >> cpu & 1))
            reserved += tenants[i].reservation;
    }
    return reserved >= CAPACITY_PERCENT ? 0 : CAPACITY_PERCENT - reserved;
}

uint64_t reserved_budget(const struct tenant *t, unsigned cpu)
{
    unsigned threads = t->core[cpu].threads;
    uint64_t floor = (uint64_t)BK_SCHED_MIN_BUDGET_NS * (threads ? threads : 1);
    uint64_t b = percent_ns(t->reservation);
    return b > floor ? b : floor;
}

uint32_t recent_share(const struct tenant *t, unsigned cpu)
{
    uint64_t n = t->periods < HISTORY ? t->periods : HISTORY, sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += t->core[cpu].history[i];
    return permille_of_periods(sum, n);
}

/* Two rebalances, not one: the rebalancer's period and the tenant's are
 * not in step, so a rebalance can fall in the middle of a busy tenant's
 * run; the interval before it then holds part of the run and the next
 * one the rest and the throttle. With one interval the first looked idle,
 * the budget fell back to the reservation and rose again at the next: a
 * reconfiguration each period, each starting the budget afresh. */
static bool is_hungry(const struct core_share *s)
{
    return s->throttled > 0 || s->throttled_before > 0 || s->used_ns * 10 >= s->budget_ns * 9;
}

/* Whether tenant `t` has threads on CPU `cpu` to give time to. */
static bool runs_on(const struct tenant *t, unsigned cpu)
{
    return t->active && t->core[cpu].threads > 0;
}

/* The time of CPU `cpu` no reservation of a hungry tenant and no actual
 * use of an idle one takes (ns per period; 0 if none). */
static uint64_t spare_time(unsigned cpu, const bool *hungry)
{
    uint64_t taken = 0;
    for (unsigned i = 0; i < TENANTS; i++) {
        const struct tenant *t = &tenants[i];
        if (!runs_on(t, cpu))
            continue;
        uint64_t r = reserved_budget(t, cpu), used = t->core[cpu].used_ns;
        taken += hungry[i] ? r : (used < r ? used : r);
    }
    uint64_t capacity = percent_ns(CAPACITY_PERCENT);
    return taken < capacity ? capacity - taken : 0;
}

/* Divides `spare` of CPU `cpu` among the hungry by weight, each up to its
 * room there (limit - reservation), into extra[]. */
static void water_fill(unsigned cpu, uint64_t spare, const bool *hungry, uint64_t *extra)
{
    bool full[TENANTS] = { false };
    for (unsigned round = 0; round < TENANTS && spare > 0; round++) {
        uint64_t weights = 0, given = 0;
        for (unsigned i = 0; i < TENANTS; i++)
            weights += hungry[i] && !full[i] ? tenants[i].weight : 0;
        if (weights == 0)
            return;
        bool capped = false;
        for (unsigned i = 0; i < TENANTS; i++) {
            if (!hungry[i] || full[i])
                continue;
            uint64_t room =
                percent_ns(tenants[i].limit) - reserved_budget(&tenants[i], cpu) - extra[i];
            uint64_t part = spare / weights * tenants[i].weight;
            if (part >= room) {
                part = room;
                full[i] = capped = true;
            }
            extra[i] += part;
            given += part;
        }
        spare -= given;
        if (!capped)
            return; /* all took their part: what is left is rounding */
    }
}

void policy_rebalance(unsigned cpu)
{
    bool hungry[TENANTS] = { false };
    uint64_t extra[TENANTS] = { 0 };
    for (unsigned i = 0; i < TENANTS; i++) {
        hungry[i] = runs_on(&tenants[i], cpu) && is_hungry(&tenants[i].core[cpu]) &&
                    percent_ns(tenants[i].limit) > reserved_budget(&tenants[i], cpu);
    }
    water_fill(cpu, spare_time(cpu, hungry), hungry, extra);
    for (unsigned i = 0; i < TENANTS; i++) {
        struct tenant *t = &tenants[i];
        if (!t->active || !(t->cpus >> cpu & 1))
            continue;
        struct core_share *s = &t->core[cpu];
        uint64_t budget = reserved_budget(t, cpu) + extra[i];
        unsigned band = extra[i] > 0 ? BAND_BORROWING : BAND_RESERVED;
        if (budget != s->budget_ns || band != s->band)
            s->applied = false;
        s->budget_ns = budget;
        s->band = band;
    }
}
