/*
 * The device's depth (iodepth.h; docs/io.md, "The device's depth"): the
 * measurement of the device's speed and the rule that turns it into how
 * many requests it may hold.
 *
 * The device's speed is measured over its busy time only (while it holds
 * at least one request): a device that idles because the tenants have
 * little to do, or because their limits hold them, is not slow. Each window
 * of IODEPTH_WINDOW completions gives a rate (completions / busy time) and
 * a mean time in the device; the estimates move a quarter of the way to
 * each window's, so one odd window (a host hiccup) moves the depth by little.
 * A window is long because a rate limiter is not a steady server: QEMU's
 * throttle lets a burst through when its timer fires late, and over a few
 * requests a device that held more then looks faster than it is (16
 * completions, 32 ms at 500 IOPS, swung the estimate from 500 to 2,800 a
 * second on a loaded host); 64 span a few of its bursts.
 */
#include "iodepth.h"

#define NS_PER_S 1000000000ull

/* ns from `from` to `to`, 0 if the clock seems to have gone back. */
static uint64_t elapsed(uint64_t from, uint64_t to)
{
    return to > from ? to - from : 0;
}

void iodepth_init(struct iodepth *d, unsigned most)
{
    if (most == 0 || most > IODEPTH_MOST)
        most = IODEPTH_MOST;
    *d = (struct iodepth){ .most = most, .depth = most, .target_ns = UINT64_MAX };
}

bool iodepth_room(const struct iodepth *d)
{
    return d->in_device < d->depth;
}

void iodepth_dispatched(struct iodepth *d, uint64_t now)
{
    if (d->in_device++ == 0)
        d->busy_since = now;
}

unsigned iodepth_for(uint64_t rate, uint64_t target_ns, unsigned most)
{
    if (rate == 0 || target_ns == UINT64_MAX)
        return most;
    if (rate > IODEPTH_RATE_MAX)
        rate = IODEPTH_RATE_MAX;
    /* rate <= 1e7 and target <= 2^64 / 1e7 ns, so the product fits; a
     * longer target (over 30 min) allows `most` anyway. */
    if (target_ns > UINT64_MAX / IODEPTH_RATE_MAX)
        return most;
    uint64_t fit = rate * target_ns / NS_PER_S; /* Little's law: X * T */
    if (fit < 1)
        return 1; /* the device must work, even if no target can be met */
    return fit < most ? (unsigned)fit : most;
}

/* A quarter of the way from `old` to `sample`; the sample alone at first. */
static uint64_t move_towards(uint64_t old, uint64_t sample)
{
    return old == 0 ? sample : (3 * old + sample) / 4;
}

bool iodepth_measure(struct iodepth *d, uint64_t now, uint64_t target_ns)
{
    if (d->window_done == 0)
        return false; /* nothing measured */
    uint64_t busy = d->busy_ns;
    if (d->in_device > 0) { /* the busy interval still open counts up to now */
        busy += elapsed(d->busy_since, now);
        d->busy_since = now;
    }
    uint64_t rate = busy ? d->window_done * NS_PER_S / busy : IODEPTH_RATE_MAX;
    d->rate = move_towards(d->rate, rate ? rate : 1);
    d->latency_ns = move_towards(d->latency_ns, d->window_latency_ns / d->window_done);
    d->target_ns = target_ns;
    d->busy_ns = 0;
    d->window_done = 0;
    d->window_latency_ns = 0;
    unsigned depth = iodepth_for(d->rate, target_ns, d->most);
    bool changed = depth != d->depth;
    d->depth = depth;
    return changed;
}

bool iodepth_completed(struct iodepth *d, uint64_t dispatched, uint64_t now)
{
    if (d->in_device == 0)
        return false; /* not ours: nothing was dispatched */
    if (--d->in_device == 0)
        d->busy_ns += elapsed(d->busy_since, now);
    d->window_done++;
    d->window_latency_ns += elapsed(dispatched, now);
    return d->window_done >= IODEPTH_WINDOW;
}
