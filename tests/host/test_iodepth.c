/*
 * The device's depth (servers/io/iodepth.c) with the IO scheduler
 * (iosched.c) in front of a deterministic device, looped as io-server's
 * backend.c does: dispatch while the depth allows, complete, measure.
 *
 * The device serves what it holds in arrival order on `channels` channels
 * of a fixed service time: 1 channel is the noisy-neighbour bench's
 * throttled disk (QEMU serves the requests it holds in order, one every
 * 2 ms at 500 IOPS); 8 channels a device that serves all the driver's
 * slots at once. Tenants are closed loops: a tenant keeps `depth` requests
 * outstanding and resubmits `think` ns after each completion, so a
 * queue-depth-1 victim's next request arrives just after the server has
 * handed the freed slot to someone else (the worst case for it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "iodepth.h"
#include "iosched.h"

#define US 1000ull
#define MS 1000000ull
#define SEC IOSCHED_NS
#define VICTIM 1
#define FLOODER 2
#define SAMPLES_MAX 100000u

struct tenant_load {
    unsigned depth;
    uint64_t think;
    unsigned outstanding, pending; /* pending: resubmissions waiting for `think` */
    uint64_t resubmit_at[IODEPTH_MOST];
};

struct sim {
    struct iosched s;
    struct iodepth d;
    unsigned fixed_depth; /* 0: the measured depth; else this one (a control) */
    unsigned channels;
    uint64_t service_ns;
    uint64_t channel_free[IODEPTH_MOST]; /* when each channel's last request ends */
    struct iosched_request inflight[IODEPTH_MOST];
    uint64_t done_at[IODEPTH_MOST];
    unsigned in_device;
    struct tenant_load load[IOSCHED_TENANTS];
    uint64_t now, measure_from;
    uint64_t busy_ns, busy_since; /* the device holding a request, from measure_from */
    uint64_t done[IOSCHED_TENANTS];
    uint64_t *latency[IOSCHED_TENANTS]; /* ns, completions from measure_from */
    uint64_t *finish[IOSCHED_TENANTS];  /* their completion times */
    size_t n[IOSCHED_TENANTS];
    unsigned most_in_device;
};

static struct sim *sim_new(unsigned channels, uint64_t service_ns)
{
    struct sim *m = calloc(1, sizeof(*m));
    m->channels = channels;
    m->service_ns = service_ns;
    CHECK(iosched_init(&m->s, (uint32_t)(SEC * channels / service_ns)));
    iodepth_init(&m->d, IODEPTH_MOST);
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        m->latency[t] = calloc(SAMPLES_MAX, sizeof(uint64_t));
        m->finish[t] = calloc(SAMPLES_MAX, sizeof(uint64_t));
    }
    return m;
}

static void sim_free(struct sim *m)
{
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        free(m->latency[t]);
        free(m->finish[t]);
    }
    free(m);
}

static void tenant(struct sim *m, unsigned t, uint32_t reservation, uint32_t weight,
                   uint64_t target_ns, unsigned depth, uint64_t think)
{
    struct iosched_policy p = { .reservation_iops = reservation, .limit_iops = IOSCHED_IOPS_MAX,
                                .weight = weight, .latency_target_ns = target_ns };
    CHECK_EQ(iosched_set_policy(&m->s, t, &p, m->now, NULL), IOSCHED_OK);
    m->load[t] = (struct tenant_load){ .depth = depth, .think = think };
}

static bool room(const struct sim *m)
{
    if (m->fixed_depth)
        return m->in_device < m->fixed_depth;
    return iodepth_room(&m->d);
}

/* The device takes a request: it starts when a channel is free, on the
 * channel free first (with one service time, that keeps arrival order). */
static void device_take(struct sim *m, const struct iosched_request *r)
{
    unsigned first = 0;
    for (unsigned c = 1; c < m->channels; c++)
        first = m->channel_free[c] < m->channel_free[first] ? c : first;
    uint64_t *ch = &m->channel_free[first];
    uint64_t start = *ch > m->now ? *ch : m->now;
    *ch = start + m->service_ns;
    m->inflight[m->in_device] = *r;
    m->done_at[m->in_device] = *ch;
    if (m->in_device++ == 0)
        m->busy_since = m->now;
    m->most_in_device = m->in_device > m->most_in_device ? m->in_device : m->most_in_device;
    iodepth_dispatched(&m->d, m->now);
}

static void record(struct sim *m, const struct iosched_request *r)
{
    unsigned t = r->tenant;
    m->done[t]++;
    if (m->now >= m->measure_from && m->n[t] < SAMPLES_MAX) {
        m->latency[t][m->n[t]] = m->now - r->arrival;
        m->finish[t][m->n[t]++] = m->now;
    }
}

static void sim_complete(struct sim *m)
{
    for (unsigned k = 0; k < m->in_device;) {
        if (m->done_at[k] > m->now) {
            k++;
            continue;
        }
        struct iosched_request r = m->inflight[k];
        m->in_device--;
        m->inflight[k] = m->inflight[m->in_device];
        m->done_at[k] = m->done_at[m->in_device];
        if (m->in_device == 0 && m->now > m->measure_from)
            m->busy_ns += m->now - (m->busy_since > m->measure_from ? m->busy_since
                                                                    : m->measure_from);
        if (iodepth_completed(&m->d, r.dispatch, m->now))
            iodepth_measure(&m->d, m->now, iosched_tightest_target(&m->s));
        iosched_complete(&m->s, &r, m->now);
        record(m, &r);
        struct tenant_load *l = &m->load[r.tenant];
        l->outstanding--;
        l->resubmit_at[l->pending++] = m->now + l->think;
    }
}

static void sim_submit(struct sim *m)
{
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        struct tenant_load *l = &m->load[t];
        while (l->outstanding + l->pending < l->depth) /* the first requests */
            l->resubmit_at[l->pending++] = m->now;
        for (unsigned i = 0; i < l->pending;) {
            if (l->resubmit_at[i] > m->now) {
                i++;
                continue;
            }
            CHECK_EQ(iosched_submit(&m->s, t, 0, 4096, m->now), IOSCHED_OK);
            l->outstanding++;
            l->resubmit_at[i] = l->resubmit_at[--l->pending];
        }
    }
}

static void sim_dispatch(struct sim *m)
{
    struct iosched_request r;
    while (m->in_device < IODEPTH_MOST && room(m) && iosched_dispatch(&m->s, m->now, &r))
        device_take(m, &r);
}

static uint64_t sim_next(const struct sim *m, uint64_t until)
{
    uint64_t next = until;
    for (unsigned k = 0; k < m->in_device; k++)
        next = m->done_at[k] > m->now && m->done_at[k] < next ? m->done_at[k] : next;
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++)
        for (unsigned i = 0; i < m->load[t].pending; i++) {
            uint64_t a = m->load[t].resubmit_at[i];
            next = a > m->now && a < next ? a : next;
        }
    return next;
}

static void sim_run(struct sim *m, uint64_t until)
{
    while (m->now < until) {
        sim_complete(m);
        sim_submit(m);
        sim_dispatch(m);
        m->now = sim_next(m, until);
    }
}

/* The device's busy time from measure_from to now. */
static uint64_t busy(const struct sim *m)
{
    if (m->in_device == 0)
        return m->busy_ns;
    return m->busy_ns + m->now - (m->busy_since > m->measure_from ? m->busy_since
                                                                  : m->measure_from);
}

static uint64_t max_latency(const struct sim *m, unsigned t)
{
    uint64_t most = 0;
    for (size_t i = 0; i < m->n[t]; i++)
        most = m->latency[t][i] > most ? m->latency[t][i] : most;
    return most;
}

/* The fewest completions of tenant t in any 100 ms from measure_from on. */
static uint64_t fewest_per_100ms(const struct sim *m, unsigned t, uint64_t until)
{
    uint64_t fewest = UINT64_MAX;
    for (uint64_t a = m->measure_from; a + 100 * MS <= until; a += 100 * MS) {
        uint64_t c = 0;
        for (size_t i = 0; i < m->n[t]; i++)
            c += m->finish[t][i] >= a && m->finish[t][i] < a + 100 * MS;
        fewest = c < fewest ? c : fewest;
    }
    return fewest;
}

static void test_rule(void)
{
    /* depth = floor(rate * target), within 1 .. most */
    CHECK_EQ(iodepth_for(500, 3 * MS, 8), 1);   /* 1.5 requests' time: 1 */
    CHECK_EQ(iodepth_for(500, 6 * MS, 8), 3);
    CHECK_EQ(iodepth_for(500, 10 * MS, 8), 5);  /* 5 / 500 s = 10 ms */
    CHECK_EQ(iodepth_for(500, 100 * MS, 8), 8); /* 50, the driver's 8 */
    CHECK_EQ(iodepth_for(500, 100 * MS, 3), 3);
    CHECK_EQ(iodepth_for(8000, 3 * MS, 8), 8);
    CHECK_EQ(iodepth_for(1000, 1 * US, 8), 1);  /* never 0: the device must work */
    CHECK_EQ(iodepth_for(0, 1 * MS, 8), 8);     /* not measured yet */
    CHECK_EQ(iodepth_for(500, UINT64_MAX, 8), 8); /* no tenant, no target */
    CHECK_EQ(iodepth_for(UINT64_MAX, 1 * MS, 8), 8); /* no overflow */
    CHECK_EQ(iodepth_for(1, 10 * SEC, 8), 8);
    CHECK_EQ(iodepth_for(1, 2 * SEC, 8), 2);
    CHECK_EQ(iodepth_for(1, 1999 * MS, 8), 1);
    struct iodepth d;
    iodepth_init(&d, 0);
    CHECK_EQ(d.depth, IODEPTH_MOST);
    iodepth_init(&d, 3);
    CHECK_EQ(d.depth, 3);
    CHECK(!iodepth_completed(&d, 0, 10)); /* nothing in the device: ignored */
    CHECK_EQ(d.window_done, 0);
    CHECK(!iodepth_measure(&d, 10, 1 * MS)); /* an empty window changes nothing */
    CHECK_EQ(d.depth, 3);
    CHECK_EQ(d.rate, 0);
}

static void test_tightest_target(void)
{
    struct iosched s;
    CHECK(iosched_init(&s, 1000));
    CHECK_EQ(iosched_tightest_target(&s), UINT64_MAX);
    struct iosched_policy p = { .limit_iops = 100, .weight = 1, .latency_target_ns = 10 * MS };
    CHECK_EQ(iosched_set_policy(&s, 2, &p, 0, NULL), IOSCHED_OK);
    p.latency_target_ns = 3 * MS;
    CHECK_EQ(iosched_set_policy(&s, 5, &p, 0, NULL), IOSCHED_OK);
    CHECK_EQ(iosched_tightest_target(&s), 3 * MS);
    iosched_close(&s, 5);
    CHECK_EQ(iosched_tightest_target(&s), 10 * MS);
}

/* The one-at-a-time device of the bench (2 ms a request, 500 IOPS): a victim
 * reserving 100 IOPS with a 3 ms target beside a flooder with 8 requests
 * always outstanding. */
static struct sim *slow_device(unsigned fixed_depth, uint64_t victim_target)
{
    struct sim *m = sim_new(1, 2 * MS);
    m->fixed_depth = fixed_depth;
    m->measure_from = 1 * SEC; /* after the first windows */
    tenant(m, VICTIM, 100, 1000, victim_target, 1, 10 * US);
    tenant(m, FLOODER, 0, 100, 10 * MS, 8, 0);
    sim_run(m, 11 * SEC);
    return m;
}

static void test_slow_device_depth_one(void)
{
    struct sim *m = slow_device(0, 3 * MS);
    CHECK_EQ(m->d.depth, 1);
    CHECK(m->d.rate >= 495 && m->d.rate <= 505);
    /* The device never idles: 10 s busy, 5,000 requests. */
    CHECK_EQ(busy(m), 10 * SEC);
    CHECK(m->n[VICTIM] + m->n[FLOODER] >= 4999);
    /* The victim waits for the one request in the device, then its own:
     * at most 2 services, where depth 8 makes it 9. */
    CHECK(max_latency(m, VICTIM) <= 4 * MS);
    CHECK(fewest_per_100ms(m, VICTIM, 11 * SEC) >= 10); /* its 100 IOPS */
    CHECK(m->n[VICTIM] >= 2400);                        /* a 4 ms cycle: 250 IOPS */
    sim_free(m);
}

/* The control: the same load with 8 in the device (as before iodepth.c),
 * to show the checks above can fail. */
static void test_slow_device_fixed_depth_control(void)
{
    struct sim *m = slow_device(IODEPTH_MOST, 3 * MS);
    CHECK_EQ(m->most_in_device, IODEPTH_MOST);
    CHECK(max_latency(m, VICTIM) >= 16 * MS); /* 8 ahead of it: 9 services */
    CHECK(m->n[VICTIM] < 1000);               /* 56 IOPS in the bench; here ~ 55 */
    CHECK(fewest_per_100ms(m, VICTIM, 11 * SEC) < 10);
    sim_free(m);
}

/* A looser target buys depth, and the victim's time in the device stays
 * within it: one service for a slot, then 5 * 2 ms = 10 ms. */
static void test_slow_device_target_bounds_wait(void)
{
    struct sim *m = slow_device(0, 10 * MS);
    CHECK_EQ(m->d.depth, 5);
    CHECK(max_latency(m, VICTIM) <= 10 * MS + 2 * MS);
    CHECK(max_latency(m, VICTIM) > 4 * MS); /* it did wait behind several */
    CHECK_EQ(busy(m), 10 * SEC);
    sim_free(m);
}

/* A device that serves all 8 slots at once (1 ms each, 8,000 IOPS) keeps
 * depth 8 even with the 3 ms target: throughput is not lost. */
static void test_fast_device_keeps_depth(void)
{
    struct sim *m = sim_new(IODEPTH_MOST, 1 * MS);
    m->measure_from = 1 * SEC;
    tenant(m, VICTIM, 100, 1000, 3 * MS, 1, 10 * US);
    tenant(m, FLOODER, 0, 100, 10 * MS, 8, 0);
    sim_run(m, 11 * SEC);
    CHECK_EQ(m->d.depth, IODEPTH_MOST);
    CHECK(m->d.rate >= 7900);
    CHECK(m->d.latency_ns >= 1 * MS && m->d.latency_ns <= 1 * MS + 10 * US);
    /* As many as 8 channels of 1 ms can do in 10 s, less the victim's think
     * time once per request of its own (its slot is empty for 10 us). */
    CHECK(m->n[VICTIM] + m->n[FLOODER] >= 79000);
    CHECK(max_latency(m, VICTIM) <= 2 * MS);
    sim_free(m);
}

/* A device that speeds up (a throttle lifted: from one request at a time,
 * 2 ms each, to 8 at once, 1 ms each) gets its depth back: the estimate at
 * depth 1 (1,000/s with a 3 ms target: 3) lets it show more, and so on. */
static void test_depth_climbs_back(void)
{
    struct sim *m = sim_new(1, 2 * MS);
    tenant(m, VICTIM, 100, 1000, 3 * MS, 1, 10 * US);
    tenant(m, FLOODER, 0, 100, 10 * MS, 8, 0);
    sim_run(m, 1 * SEC);
    CHECK_EQ(m->d.depth, 1);
    m->channels = IODEPTH_MOST;
    m->service_ns = 1 * MS;
    sim_run(m, 2 * SEC);
    CHECK_EQ(m->d.depth, IODEPTH_MOST);
    CHECK(m->d.rate >= 7000);
    sim_free(m);
}

/* A device idle most of the time (a tenant limited to 100 IOPS on a 1 ms
 * device) is measured over its busy time: 1,000/s, not 100. */
static void test_idle_time_not_slowness(void)
{
    struct sim *m = sim_new(1, 1 * MS);
    struct iosched_policy p = { .limit_iops = 100, .weight = 1, .latency_target_ns = 10 * MS };
    CHECK_EQ(iosched_set_policy(&m->s, FLOODER, &p, 0, NULL), IOSCHED_OK);
    m->load[FLOODER] = (struct tenant_load){ .depth = 8 };
    /* sim_next() does not know the limit's times: step through them. */
    for (uint64_t t = 0; t < 2 * SEC; t += 1 * MS)
        sim_run(m, t + 1 * MS);
    CHECK(m->done[FLOODER] >= 195 && m->done[FLOODER] <= 202);
    CHECK(m->d.rate >= 990 && m->d.rate <= 1010);
    CHECK_EQ(m->d.depth, 8); /* 1,000 * 10 ms - 1 */
    sim_free(m);
}

int main(void)
{
    static const struct check_test tests[] = {
        { "rule", test_rule },
        { "tightest_target", test_tightest_target },
        { "slow_device_depth_one", test_slow_device_depth_one },
        { "slow_device_fixed_depth_control", test_slow_device_fixed_depth_control },
        { "slow_device_target_bounds_wait", test_slow_device_target_bounds_wait },
        { "fast_device_keeps_depth", test_fast_device_keeps_depth },
        { "depth_climbs_back", test_depth_climbs_back },
        { "idle_time_not_slowness", test_idle_time_not_slowness },
    };
    return check_run_all(tests, sizeof(tests) / sizeof(tests[0]));
}
