/*
 * The scheduler server's policy (docs/scheduling.md, "The scheduler
 * server"): admission and the rebalance arithmetic, on the tenant table
 * alone; main.c gives the results to the kernel.
 *
 * A rebalance, once a period:
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

uint32_t capacity_left(const struct tenant *except)
{
    uint32_t reserved = 0;
    for (unsigned i = 0; i < TENANTS; i++) {
        if (tenants[i].active && &tenants[i] != except)
            reserved += tenants[i].reservation;
    }
    return reserved >= CAPACITY_PERCENT ? 0 : CAPACITY_PERCENT - reserved;
}

uint64_t reserved_budget(const struct tenant *t)
{
    uint64_t floor = (uint64_t)BK_SCHED_MIN_BUDGET_NS * (t->threads ? t->threads : 1);
    uint64_t b = percent_ns(t->reservation);
    return b > floor ? b : floor;
}

uint32_t recent_share(const struct tenant *t)
{
    uint64_t n = t->periods < HISTORY ? t->periods : HISTORY, sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += t->history[i];
    return permille_of_periods(sum, n);
}

/* Two rebalances, not one: the rebalancer's period and the tenant's are
 * not in step, so a rebalance can fall in the middle of a busy tenant's
 * run; the interval before it then holds part of the run and the next
 * one the rest and the throttle. With one interval the first looked idle,
 * the budget fell back to the reservation and rose again at the next: a
 * reconfiguration each period, each starting the budget afresh. */
static bool is_hungry(const struct tenant *t)
{
    return t->throttled > 0 || t->throttled_before > 0 || t->used_ns * 10 >= t->budget_ns * 9;
}

/* The time no reservation of a hungry tenant and no actual use of an
 * idle one takes (ns per period; 0 if none). */
static uint64_t spare_time(const bool *hungry)
{
    uint64_t taken = 0;
    for (unsigned i = 0; i < TENANTS; i++) {
        const struct tenant *t = &tenants[i];
        if (!t->active || t->threads == 0)
            continue;
        uint64_t r = reserved_budget(t);
        taken += hungry[i] ? r : (t->used_ns < r ? t->used_ns : r);
    }
    uint64_t capacity = percent_ns(CAPACITY_PERCENT);
    return taken < capacity ? capacity - taken : 0;
}

/* Divides `spare` among the hungry by weight, each up to its room
 * (limit - reservation), into extra[]. */
static void water_fill(uint64_t spare, const bool *hungry, uint64_t *extra)
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
            uint64_t room = percent_ns(tenants[i].limit) - reserved_budget(&tenants[i]) - extra[i];
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

void policy_rebalance(void)
{
    bool hungry[TENANTS] = { false };
    uint64_t extra[TENANTS] = { 0 };
    for (unsigned i = 0; i < TENANTS; i++) {
        hungry[i] = tenants[i].active && tenants[i].threads > 0 && is_hungry(&tenants[i]) &&
                    percent_ns(tenants[i].limit) > reserved_budget(&tenants[i]);
    }
    water_fill(spare_time(hungry), hungry, extra);
    for (unsigned i = 0; i < TENANTS; i++) {
        struct tenant *t = &tenants[i];
        if (!t->active)
            continue;
        uint64_t budget = reserved_budget(t) + extra[i];
        unsigned band = extra[i] > 0 ? BAND_BORROWING : BAND_RESERVED;
        if (budget != t->budget_ns || band != t->band)
            t->applied = false;
        t->budget_ns = budget;
        t->band = band;
    }
}
