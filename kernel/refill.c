/*
 * Refills of a scheduling context (see refill.h for the rule and why it
 * keeps the promise). The list is a ring of rs->max entries from rs->head.
 */
#include "refill.h"

static struct refill *at(struct refills *rs, unsigned i)
{
    return &rs->r[(rs->head + i) % rs->max];
}

static const struct refill *at_const(const struct refills *rs, unsigned i)
{
    return &rs->r[(rs->head + i) % rs->max];
}

bool refill_init(struct refills *rs, uint64_t budget, uint64_t period, unsigned max,
                 uint64_t now)
{
    if (budget == 0 || budget > period)
        return false;
    rs->budget = budget;
    rs->period = period;
    rs->min = REFILL_MIN_NS;
    /* Never fewer than two: with one, time used from a refill that was
     * not used up would merge into it and take the unused rest a whole
     * period later with it (a thread that blocks mid-budget would get one
     * burst a period). Two keep the rest usable now. */
    rs->max = max < REFILL_MIN_COUNT ? REFILL_MIN_COUNT : max > REFILL_MAX ? REFILL_MAX : max;
    rs->head = 0;
    rs->count = 1;
    rs->r[0] = (struct refill){ .when = now, .amount = budget };
    rs->tail_used_end = UINT64_MAX;
    return true;
}

uint64_t refill_available(const struct refills *rs, uint64_t now)
{
    const struct refill *h = at_const(rs, 0);
    return h->when <= now ? h->amount : 0;
}

uint64_t refill_next_due(const struct refills *rs)
{
    return at_const(rs, 0)->when;
}

static void pop_head(struct refills *rs)
{
    rs->head = (rs->head + 1) % rs->max;
    rs->count--;
}

/* Gives back `used` ns of running that began at `start`, one period
 * later, as a new tail refill; or into the tail when it continues the run
 * the tail gives back (it began where that one ended, and the tail is not
 * the head being used), or when the list is full. A full list takes it at
 * the later of the two instants: that only delays time. Charges come in
 * time order, so the instants stay sorted. */
static void schedule_used(struct refills *rs, uint64_t start, uint64_t used)
{
    uint64_t when = start + rs->period;
    struct refill *tail = at(rs, rs->count - 1);
    bool tail_idle = rs->count > 1 || tail->when > start; /* not the head in use */
    uint64_t gap = start - rs->tail_used_end;
    if (tail_idle && start >= rs->tail_used_end && gap < rs->min) {
        /* The same run, cut by an interrupt, or by a pause shorter than
         * the smallest refill (the kernel's own work between a budget's
         * end and the next piece's release): it joins the tail, whose
         * instant moves by the pause. That is the refill of one run
         * begun that much later, which only delays time; as two refills
         * the pause would repeat every period, the budget spent in two
         * pieces and throttled twice for good. */
        tail->amount += used;
        tail->when += gap;
    } else if (rs->count == rs->max) {
        tail->amount += used;
        tail->when = when > tail->when ? when : tail->when;
    } else {
        *at(rs, rs->count) = (struct refill){ .when = when, .amount = used };
        rs->count++;
    }
    rs->tail_used_end = start + used;
}

/* A head too small to schedule is merged into the next refill (later, so
 * again only a delay). */
static void merge_small_head(struct refills *rs)
{
    while (rs->count > 1 && at(rs, 0)->amount < rs->min) {
        uint64_t small = at(rs, 0)->amount;
        pop_head(rs);
        at(rs, 0)->amount += small;
    }
}

/* Takes `used` out of the refills from the head on: past the head's
 * amount (an overrun: the budget end's interrupt came late, or the kernel
 * finished a step first) out of the next ones, due or not, so the thread
 * pays it back from its next time. */
static void take_used(struct refills *rs, uint64_t used)
{
    while (used > 0) {
        struct refill *h = at(rs, 0);
        uint64_t take = used < h->amount ? used : h->amount;
        h->amount -= take;
        used -= take;
        if (h->amount > 0 || rs->count == 1)
            return; /* used <= budget: the last refill covers the rest */
        pop_head(rs);
    }
}

void refill_charge(struct refills *rs, uint64_t start, uint64_t used)
{
    if (refill_available(rs, start) == 0)
        return;
    if (used > rs->budget)
        used = rs->budget;
    if (used == 0)
        return;
    take_used(rs, used);
    /* Now the head, if emptied, is gone unless it was the only refill;
     * then schedule_used() refills that very entry. */
    if (at(rs, 0)->amount == 0) {
        *at(rs, 0) = (struct refill){ .when = start + rs->period, .amount = used };
        rs->tail_used_end = start + used;
        return;
    }
    schedule_used(rs, start, used);
    merge_small_head(rs);
}

bool refill_check(const struct refills *rs)
{
    if (rs->max < REFILL_MIN_COUNT || rs->max > REFILL_MAX || rs->count < 1 || rs->count > rs->max ||
        rs->head >= rs->max || rs->budget == 0 || rs->budget > rs->period)
        return false;
    uint64_t sum = 0;
    for (unsigned i = 0; i < rs->count; i++) {
        const struct refill *r = at_const(rs, i);
        if (i > 0 && r->when < at_const(rs, i - 1)->when)
            return false;
        if (r->amount == 0)
            return false;
        sum += r->amount;
    }
    if (rs->count > 1 && at_const(rs, 0)->amount < rs->min)
        return false;
    return sum == rs->budget;
}
