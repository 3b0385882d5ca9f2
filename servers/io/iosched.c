/*
 * The IO scheduler (iosched.h; docs/io.md, "The IO scheduler"): tags,
 * dispatch, admission and statistics. Every tag is a time in ns except
 * the proportional tag, which counts in units of IOSCHED_P_UNIT per unit
 * of weight.
 *
 * The tags of a tenant describe its head request:
 *
 *  - the reservation tag R is when the head is due under the reservation.
 *    Each dispatch *by reservation* advances it by 1/r s; a dispatch by
 *    weight leaves it, so work given from the spare does not count against
 *    the guarantee. When a tenant becomes busy, R becomes at least the
 *    arrival time: a tenant cannot bank reservation for the time it had
 *    nothing queued. While it stays busy, an R behind the clock is the
 *    reservation it is owed, and it is served first until R catches up.
 *  - the limit tags L (operations) and B (bytes) are the earliest time the
 *    next dispatch may happen. A dispatch at d sets L = max(L, d - 1/l) +
 *    1/l: at most one interval of lag is kept, so a tenant held back by
 *    others may catch up by one operation, never more. Hence in any window
 *    of W s at most l*W + 2 operations go (docs/io.md derives it); the
 *    same for bytes, with the request's cost in place of 1/l.
 *  - the proportional tag P orders the dispatches from the spare capacity.
 *    A dispatch by weight starts at max(P, vtime) and advances P to that
 *    plus IOSCHED_P_UNIT/weight; `vtime` is the start of the last such
 *    dispatch, so it never decreases. A tenant that was idle, or that its
 *    limit held back, while the others were served has fallen behind
 *    vtime; its next dispatch starts at vtime, so the share it did not use
 *    is not credit for later (one operation of it at most: it is picked
 *    with its old tag), and it does not pay for what the others got.
 *
 * Dispatch at `now`: among tenants with a queued request and L, B <= now,
 * first the least R with R <= now (the reservations are behind), else the
 * least P (the spare, by weight). Ties go to the lower tenant number.
 */
#include "iosched.h"

#include <stddef.h>

#define IOSCHED_P_UNIT 1000000000000ull

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* ns per operation at `rate` per second, rounded up for limits (so a limit
 * is never exceeded by rounding) and down for reservations (so one is
 * never missed by it). */
static uint64_t step_up(uint64_t per_second)
{
    return (IOSCHED_NS + per_second - 1) / per_second;
}

/* The time in ns `bytes` cost against a bytes/s limit, rounded up. */
static uint64_t byte_cost(uint64_t bytes, uint64_t limit_bytes)
{
    if (limit_bytes == 0)
        return 0;
    return (bytes * IOSCHED_NS + limit_bytes - 1) / limit_bytes;
}

bool iosched_init(struct iosched *s, uint32_t capacity_iops)
{
    if (capacity_iops == 0 || capacity_iops > IOSCHED_IOPS_MAX)
        return false;
    *s = (struct iosched){ .capacity_iops = capacity_iops };
    return true;
}

static bool target_valid(uint64_t ns)
{
    return ns >= IOSCHED_TARGET_MIN && ns <= IOSCHED_TARGET_MAX;
}

/* The checks of iosched_set_policy(), in its documented order, with no
 * side effect. */
static enum iosched_error policy_check(const struct iosched *s, unsigned tenant,
                                       const struct iosched_policy *p, uint32_t *left)
{
    if (tenant >= IOSCHED_TENANTS)
        return IOSCHED_ERR_TENANT;
    if (p->limit_iops == 0 || p->limit_iops > IOSCHED_IOPS_MAX ||
        p->limit_bytes > IOSCHED_BYTES_MAX)
        return IOSCHED_ERR_LIMIT;
    if (p->reservation_iops > p->limit_iops)
        return IOSCHED_ERR_RESERVATION;
    if (p->weight == 0 || p->weight > IOSCHED_WEIGHT_MAX)
        return IOSCHED_ERR_WEIGHT;
    if (!target_valid(p->latency_target_ns))
        return IOSCHED_ERR_TARGET;
    const struct iosched_tenant *t = &s->tenants[tenant];
    uint32_t others = s->reserved_iops - (t->active ? t->policy.reservation_iops : 0);
    if (p->reservation_iops > s->capacity_iops - others) {
        if (left)
            *left = s->capacity_iops - others;
        return IOSCHED_ERR_ADMISSION;
    }
    return IOSCHED_OK;
}

enum iosched_error iosched_set_policy(struct iosched *s, unsigned tenant,
                                      const struct iosched_policy *p, uint64_t now,
                                      uint32_t *left)
{
    enum iosched_error e = policy_check(s, tenant, p, left);
    if (e != IOSCHED_OK)
        return e;
    struct iosched_tenant *t = &s->tenants[tenant];
    if (t->active) {
        s->reserved_iops -= t->policy.reservation_iops;
    } else {
        /* A new tenant starts level with the others, due now. */
        *t = (struct iosched_tenant){ .active = true, .r_tag = now, .p_tag = s->vtime };
    }
    s->reserved_iops += p->reservation_iops;
    t->policy = *p;
    /* The tags already given stay; the new steps apply from the next
     * dispatch, so a change takes effect within one operation. */
    t->r_step = p->reservation_iops ? IOSCHED_NS / p->reservation_iops : 0;
    t->l_step = step_up(p->limit_iops);
    t->p_step = IOSCHED_P_UNIT / p->weight;
    return IOSCHED_OK;
}

unsigned iosched_close(struct iosched *s, unsigned tenant)
{
    if (tenant >= IOSCHED_TENANTS || !s->tenants[tenant].active)
        return 0;
    struct iosched_tenant *t = &s->tenants[tenant];
    unsigned dropped = t->count;
    s->reserved_iops -= t->policy.reservation_iops;
    t->active = false;
    t->count = 0;
    return dropped;
}

enum iosched_error iosched_submit(struct iosched *s, unsigned tenant, uint64_t cookie,
                                  uint32_t bytes, uint64_t now)
{
    if (tenant >= IOSCHED_TENANTS || !s->tenants[tenant].active)
        return IOSCHED_ERR_TENANT;
    if (bytes == 0 || bytes > IOSCHED_REQUEST_MAX)
        return IOSCHED_ERR_SIZE;
    struct iosched_tenant *t = &s->tenants[tenant];
    if (t->count == IOSCHED_QUEUE)
        return IOSCHED_ERR_QUEUE_FULL;
    if (t->count == 0) /* becoming busy: no reservation banked while idle */
        t->r_tag = max_u64(t->r_tag, now);
    t->queue[(t->head + t->count) % IOSCHED_QUEUE] =
        (struct iosched_entry){ .cookie = cookie, .arrival = now, .bytes = bytes };
    t->count++;
    return IOSCHED_OK;
}

static bool limit_eligible(const struct iosched_tenant *t, uint64_t now)
{
    return t->active && t->count > 0 && t->l_tag <= now && t->b_tag <= now;
}

/* The tenant to serve at `now`, or -1; *reserved says by which rule. */
static int pick(const struct iosched *s, uint64_t now, bool *reserved)
{
    int by_r = -1, by_p = -1;
    for (unsigned i = 0; i < IOSCHED_TENANTS; i++) {
        const struct iosched_tenant *t = &s->tenants[i];
        if (!limit_eligible(t, now))
            continue;
        if (t->r_step && t->r_tag <= now &&
            (by_r < 0 || t->r_tag < s->tenants[by_r].r_tag))
            by_r = (int)i;
        if (by_p < 0 || t->p_tag < s->tenants[by_p].p_tag)
            by_p = (int)i;
    }
    *reserved = by_r >= 0;
    return by_r >= 0 ? by_r : by_p;
}

/* Advances the tags of tenant `t` for the dispatch at `now` of `e`. */
static void advance_tags(struct iosched *s, struct iosched_tenant *t,
                         const struct iosched_entry *e, bool reserved, uint64_t now)
{
    if (reserved) {
        t->r_tag += t->r_step;
    } else {
        /* A tenant whose tag fell behind vtime while its limit held it
         * starts at vtime: a limit is not credit for later. */
        s->vtime = max_u64(t->p_tag, s->vtime);
        t->p_tag = s->vtime + t->p_step;
    }
    /* Lag kept: one interval, so at most one operation of catch-up. */
    t->l_tag = max_u64(t->l_tag, now > t->l_step ? now - t->l_step : 0) + t->l_step;
    uint64_t cost = byte_cost(e->bytes, t->policy.limit_bytes);
    if (cost)
        t->b_tag = max_u64(t->b_tag, now > cost ? now - cost : 0) + cost;
}

bool iosched_dispatch(struct iosched *s, uint64_t now, struct iosched_request *out)
{
    bool reserved;
    int i = pick(s, now, &reserved);
    if (i < 0)
        return false;
    struct iosched_tenant *t = &s->tenants[i];
    struct iosched_entry e = t->queue[t->head];
    t->head = (t->head + 1) % IOSCHED_QUEUE;
    t->count--;
    advance_tags(s, t, &e, reserved, now);
    t->stats.dispatched++;
    t->stats.by_reservation += reserved;
    t->stats.queue_ns += now - e.arrival;
    *out = (struct iosched_request){ .tenant = (unsigned)i, .cookie = e.cookie,
                                     .bytes = e.bytes, .arrival = e.arrival,
                                     .dispatch = now, .reserved = reserved };
    return true;
}

uint64_t iosched_next_eligible(const struct iosched *s, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < IOSCHED_TENANTS; i++) {
        const struct iosched_tenant *t = &s->tenants[i];
        if (t->active && t->count > 0)
            next = next < max_u64(t->l_tag, t->b_tag) ? next : max_u64(t->l_tag, t->b_tag);
    }
    return next == UINT64_MAX ? next : max_u64(next, now);
}

uint64_t iosched_tightest_target(const struct iosched *s)
{
    uint64_t tightest = UINT64_MAX;
    for (unsigned i = 0; i < IOSCHED_TENANTS; i++) {
        const struct iosched_tenant *t = &s->tenants[i];
        if (t->active && t->policy.latency_target_ns < tightest)
            tightest = t->policy.latency_target_ns;
    }
    return tightest;
}

unsigned iosched_bucket(uint64_t ns)
{
    if (ns < 4)
        return (unsigned)ns;
    unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* 2 .. 63 */
    return 4 * (e - 1) + (unsigned)((ns >> (e - 2)) & 3);
}

/* The largest latency bucket `b` holds. */
static uint64_t bucket_top(unsigned b)
{
    if (b < 4)
        return b;
    unsigned e = b / 4 + 1;
    uint64_t low = (uint64_t)(4 + b % 4) << (e - 2);
    return low + ((1ull << (e - 2)) - 1);
}

void iosched_complete(struct iosched *s, const struct iosched_request *r, uint64_t now)
{
    if (r->tenant >= IOSCHED_TENANTS)
        return;
    struct iosched_tenant *t = &s->tenants[r->tenant];
    uint64_t latency = now - r->arrival;
    t->stats.ops++;
    t->stats.bytes += r->bytes;
    t->stats.latency[iosched_bucket(latency)]++;
    t->stats.max_latency_ns = max_u64(t->stats.max_latency_ns, latency);
    t->stats.target_misses += latency > t->policy.latency_target_ns;
}

const struct iosched_stats *iosched_stats(const struct iosched *s, unsigned tenant)
{
    return tenant < IOSCHED_TENANTS ? &s->tenants[tenant].stats : NULL;
}

uint64_t iosched_percentile(const struct iosched_stats *st, unsigned pct)
{
    uint64_t total = 0, seen = 0;
    for (unsigned b = 0; b < IOSCHED_BUCKETS; b++)
        total += st->latency[b];
    if (total == 0 || pct == 0 || pct > 100)
        return 0;
    uint64_t rank = (total * pct + 99) / 100; /* the rank-th smallest, from 1 */
    for (unsigned b = 0; b < IOSCHED_BUCKETS; b++) {
        seen += st->latency[b];
        if (seen >= rank)
            return bucket_top(b);
    }
    return 0;
}

const char *iosched_error_text(enum iosched_error e)
{
    switch (e) {
    case IOSCHED_OK: return "ok";
    case IOSCHED_ERR_TENANT: return "no such tenant";
    case IOSCHED_ERR_LIMIT: return "the limit is 0 or above the most allowed";
    case IOSCHED_ERR_RESERVATION: return "the reservation is above the limit";
    case IOSCHED_ERR_WEIGHT: return "the weight is 0 or above the most allowed";
    case IOSCHED_ERR_TARGET: return "the latency target is out of range";
    case IOSCHED_ERR_ADMISSION: return "the reservations would exceed the device's capacity";
    case IOSCHED_ERR_SIZE: return "a request of 0 bytes or above the largest allowed";
    case IOSCHED_ERR_QUEUE_FULL: return "the tenant's queue is full";
    }
    return "unknown error";
}
