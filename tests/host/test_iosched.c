/*
 * The IO server's scheduler (servers/io/iosched.c) against a deterministic
 * device: a fixed service time per request and a fixed number of requests
 * in flight. Tenants are closed loops that keep a given number of requests
 * outstanding over a time interval. Every dispatch time is recorded, so
 * limits are checked over every window, not on average.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "iosched.h"

#define MS 1000000ull
#define SEC IOSCHED_NS
#define SLOTS_MAX 4
#define KIB 1024u

struct load {
    unsigned depth; /* requests kept outstanding (queued or in flight) */
    uint32_t bytes;
    uint64_t on, off; /* it tops up in [on, off) */
};

struct sim {
    struct iosched s;
    uint64_t service_ns;
    unsigned slots;
    bool busy[SLOTS_MAX];
    uint64_t done_at[SLOTS_MAX];
    struct iosched_request inflight[SLOTS_MAX];
    struct load load[IOSCHED_TENANTS];
    unsigned outstanding[IOSCHED_TENANTS];
    uint64_t *times[IOSCHED_TENANTS]; /* dispatch times */
    size_t n[IOSCHED_TENANTS];
    uint64_t now, busy_ns, refused;
};

#define TIMES_MAX 200000u

static struct sim *sim_new(uint64_t service_ns, unsigned slots)
{
    struct sim *m = calloc(1, sizeof(*m));
    m->service_ns = service_ns;
    m->slots = slots;
    CHECK(iosched_init(&m->s, (uint32_t)(SEC * slots / service_ns)));
    for (unsigned i = 0; i < IOSCHED_TENANTS; i++)
        m->times[i] = calloc(TIMES_MAX, sizeof(uint64_t));
    return m;
}

static void sim_free(struct sim *m)
{
    for (unsigned i = 0; i < IOSCHED_TENANTS; i++)
        free(m->times[i]);
    free(m);
}

static struct iosched_policy policy(uint32_t res, uint32_t limit, uint32_t weight)
{
    return (struct iosched_policy){ .reservation_iops = res, .limit_iops = limit,
                                    .weight = weight, .latency_target_ns = 10 * MS };
}

static void tenant(struct sim *m, unsigned t, struct iosched_policy p, struct load l)
{
    CHECK_EQ(iosched_set_policy(&m->s, t, &p, m->now, NULL), IOSCHED_OK);
    m->load[t] = l;
}

static void sim_complete(struct sim *m)
{
    for (unsigned k = 0; k < m->slots; k++) {
        if (m->busy[k] && m->done_at[k] <= m->now) {
            iosched_complete(&m->s, &m->inflight[k], m->now);
            m->outstanding[m->inflight[k].tenant]--;
            m->busy[k] = false;
        }
    }
}

static void sim_submit(struct sim *m)
{
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        const struct load *l = &m->load[t];
        if (m->now < l->on || m->now >= l->off)
            continue;
        while (m->outstanding[t] < l->depth) {
            if (iosched_submit(&m->s, t, m->outstanding[t], l->bytes, m->now) != IOSCHED_OK) {
                m->refused++;
                break;
            }
            m->outstanding[t]++;
        }
    }
}

static void sim_dispatch(struct sim *m)
{
    for (unsigned k = 0; k < m->slots; k++) {
        if (m->busy[k])
            continue;
        struct iosched_request r;
        if (!iosched_dispatch(&m->s, m->now, &r))
            return;
        CHECK(r.dispatch == m->now && r.arrival <= m->now);
        m->inflight[k] = r;
        m->busy[k] = true;
        m->done_at[k] = m->now + m->service_ns;
        m->busy_ns += m->service_ns;
        if (m->n[r.tenant] < TIMES_MAX)
            m->times[r.tenant][m->n[r.tenant]++] = m->now;
    }
}

static uint64_t min_after(uint64_t best, uint64_t t, uint64_t now)
{
    return t > now && t < best ? t : best;
}

/* The next time anything can happen: a completion, a load turning on or
 * off, a tenant's limit lapsing. */
static uint64_t sim_next(const struct sim *m, uint64_t until)
{
    uint64_t next = min_after(until, iosched_next_eligible(&m->s, m->now), m->now);
    for (unsigned k = 0; k < m->slots; k++)
        if (m->busy[k])
            next = min_after(next, m->done_at[k], m->now);
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        next = min_after(next, m->load[t].on, m->now);
        next = min_after(next, m->load[t].off, m->now);
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

/* Dispatches of tenant t in [from, to). */
static uint64_t ops_in(const struct sim *m, unsigned t, uint64_t from, uint64_t to)
{
    uint64_t c = 0;
    for (size_t i = 0; i < m->n[t]; i++)
        c += m->times[t][i] >= from && m->times[t][i] < to;
    return c;
}

/* The most dispatches of tenant t in any window [a, a + w) with a at or
 * after `from` (a window that holds the most starts at a dispatch). */
static uint64_t most_in_window(const struct sim *m, unsigned t, uint64_t w, uint64_t from)
{
    uint64_t best = 0;
    size_t j = 0;
    for (size_t i = 0; i < m->n[t]; i++) {
        if (m->times[t][i] < from)
            continue;
        if (j < i)
            j = i;
        while (j < m->n[t] && m->times[t][j] < m->times[t][i] + w)
            j++;
        best = j - i > best ? j - i : best;
    }
    return best;
}

/* The bound of iosched.c's limit tags: l*W + 2 in any window of W ns. */
static uint64_t limit_bound(uint64_t limit, uint64_t w)
{
    return limit * w / SEC + 2;
}

static void test_policy_checks(void)
{
    struct iosched s;
    CHECK(!iosched_init(&s, 0));
    CHECK(!iosched_init(&s, IOSCHED_IOPS_MAX + 1));
    CHECK(iosched_init(&s, 1000));
    struct iosched_policy p = policy(100, 500, 1);
    uint32_t left = 0;
    CHECK_EQ(iosched_set_policy(&s, IOSCHED_TENANTS, &p, 0, NULL), IOSCHED_ERR_TENANT);
    struct iosched_policy bad[] = { policy(0, 0, 1), policy(0, IOSCHED_IOPS_MAX + 1, 1),
                                    policy(501, 500, 1), policy(0, 500, 0),
                                    policy(0, 500, IOSCHED_WEIGHT_MAX + 1),
                                    policy(0, 500, 1), policy(0, 500, 1), policy(0, 500, 1),
                                    policy(0, 500, 1) };
    enum iosched_error want[] = { IOSCHED_ERR_LIMIT, IOSCHED_ERR_LIMIT, IOSCHED_ERR_RESERVATION,
                                  IOSCHED_ERR_WEIGHT, IOSCHED_ERR_WEIGHT, IOSCHED_ERR_TARGET,
                                  IOSCHED_ERR_TARGET, IOSCHED_ERR_TARGET, IOSCHED_ERR_LIMIT };
    bad[5].latency_target_ns = 0;
    bad[6].latency_target_ns = IOSCHED_TARGET_MIN - 1;
    bad[7].latency_target_ns = IOSCHED_TARGET_MAX + 1;
    bad[8].limit_bytes = IOSCHED_BYTES_MAX + 1;
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(iosched_set_policy(&s, 0, &bad[i], 0, NULL), want[i]);
    CHECK(!s.tenants[0].active);
    /* Admission: 600 + 500 > 1000; what is left is said. */
    p = policy(600, 1000, 1);
    CHECK_EQ(iosched_set_policy(&s, 0, &p, 0, NULL), IOSCHED_OK);
    p = policy(500, 1000, 1);
    CHECK_EQ(iosched_set_policy(&s, 1, &p, 0, &left), IOSCHED_ERR_ADMISSION);
    CHECK_EQ(left, 400);
    CHECK(!s.tenants[1].active);
    p.reservation_iops = 400;
    CHECK_EQ(iosched_set_policy(&s, 1, &p, 0, NULL), IOSCHED_OK);
    /* Raising one at run time is checked against the others only. */
    p.reservation_iops = 601;
    CHECK_EQ(iosched_set_policy(&s, 0, &p, 0, &left), IOSCHED_ERR_ADMISSION);
    CHECK_EQ(left, 600);
    CHECK_EQ(s.tenants[0].policy.reservation_iops, 600);
    p.reservation_iops = 100;
    CHECK_EQ(iosched_set_policy(&s, 0, &p, 0, NULL), IOSCHED_OK);
    p.reservation_iops = 900;
    CHECK_EQ(iosched_set_policy(&s, 1, &p, 0, NULL), IOSCHED_OK);
    CHECK_EQ(s.reserved_iops, 1000);
    /* Closing frees the reservation. */
    CHECK_EQ(iosched_close(&s, 1), 0);
    p.reservation_iops = 900;
    CHECK_EQ(iosched_set_policy(&s, 2, &p, 0, NULL), IOSCHED_OK);
}

static void test_submit_checks(void)
{
    struct iosched s;
    CHECK(iosched_init(&s, 1000));
    struct iosched_policy p = policy(0, 1000, 1);
    CHECK_EQ(iosched_set_policy(&s, 0, &p, 0, NULL), IOSCHED_OK);
    CHECK_EQ(iosched_submit(&s, 1, 0, 512, 0), IOSCHED_ERR_TENANT);
    CHECK_EQ(iosched_submit(&s, IOSCHED_TENANTS, 0, 512, 0), IOSCHED_ERR_TENANT);
    CHECK_EQ(iosched_submit(&s, 0, 0, 0, 0), IOSCHED_ERR_SIZE);
    CHECK_EQ(iosched_submit(&s, 0, 0, IOSCHED_REQUEST_MAX + 1, 0), IOSCHED_ERR_SIZE);
    for (unsigned i = 0; i < IOSCHED_QUEUE; i++)
        CHECK_EQ(iosched_submit(&s, 0, i, 512, 0), IOSCHED_OK);
    CHECK_EQ(iosched_submit(&s, 0, 99, 512, 0), IOSCHED_ERR_QUEUE_FULL);
    /* In order, cookies unchanged. */
    struct iosched_request r;
    CHECK(iosched_dispatch(&s, 0, &r));
    CHECK_EQ(r.cookie, 0);
    CHECK(!iosched_dispatch(&s, 0, &r)); /* the limit: 1 ms apart */
    CHECK_EQ(iosched_next_eligible(&s, 0), MS);
    CHECK(iosched_dispatch(&s, MS, &r));
    CHECK_EQ(r.cookie, 1);
    CHECK_EQ(iosched_close(&s, 0), IOSCHED_QUEUE - 2);
    CHECK_EQ(iosched_next_eligible(&s, MS), UINT64_MAX);
    CHECK(!iosched_dispatch(&s, 10 * MS, &r));
    CHECK_EQ(iosched_submit(&s, 0, 0, 512, 0), IOSCHED_ERR_TENANT);
    /* A limit's step is rounded up: 3 IOPS is one per 333,333,334 ns. */
    p = policy(0, 3, 1);
    CHECK_EQ(iosched_set_policy(&s, 0, &p, 0, NULL), IOSCHED_OK);
    CHECK_EQ(iosched_submit(&s, 0, 0, 512, 0), IOSCHED_OK);
    CHECK_EQ(iosched_submit(&s, 0, 1, 512, 0), IOSCHED_OK);
    CHECK(iosched_dispatch(&s, 0, &r));
    CHECK_EQ(iosched_next_eligible(&s, 0), 333333334);
}

/* A victim with a reservation of 300 beside a flooder of weight 100 with
 * a deep queue, on a device of 1000 IOPS: the victim gets its 300 in every
 * 100 ms, the device stays busy. */
static void test_reservation_beside_flooder(void)
{
    struct sim *m = sim_new(MS, 1);
    tenant(m, 0, policy(300, 1000, 1), (struct load){ 2, 4 * KIB, 0, 10 * SEC });
    tenant(m, 1, policy(0, 1000, 100), (struct load){ 1000, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 10 * SEC);
    uint64_t worst = UINT64_MAX;
    for (uint64_t a = 0; a + 100 * MS <= 10 * SEC; a += 100 * MS) {
        uint64_t c = ops_in(m, 0, a, a + 100 * MS);
        worst = c < worst ? c : worst;
    }
    printf("  victim: %zu ops in 10 s, worst 100 ms %llu (reserved 30), flooder %zu, "
           "refused %llu\n", m->n[0], (unsigned long long)worst, m->n[1],
           (unsigned long long)m->refused);
    CHECK(worst >= 30);
    CHECK(m->n[0] >= 3000);
    /* Its part of the spare (700 by 1:100) is small: 300 + 7. */
    CHECK(m->n[0] <= 3100);
    CHECK(m->busy_ns >= 10 * SEC - MS);
    CHECK(m->refused > 0); /* the flooder's queue was full */
    sim_free(m);
}

/* A tenant alone with a limit of 300 IOPS and a deep queue: at most
 * 300 W + 2 in every window W, and the limit is reached. */
static void test_limit_alone(void)
{
    struct sim *m = sim_new(MS, 1);
    tenant(m, 0, policy(0, 300, 1), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 10 * SEC);
    static const uint64_t windows[] = { MS, 10 * MS, 100 * MS, SEC, 5 * SEC };
    for (unsigned i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
        CHECK(most_in_window(m, 0, windows[i], 0) <= limit_bound(300, windows[i]));
    printf("  %zu ops in 10 s at a limit of 300, most in any 1 s: %llu\n", m->n[0],
           (unsigned long long)most_in_window(m, 0, SEC, 0));
    CHECK(m->n[0] >= 2990);
    sim_free(m);
}

/* The same limit beside a competitor on a device with 4 in flight: held
 * back at times by others, it catches up by one operation, never more. */
static void test_limit_beside_others(void)
{
    struct sim *m = sim_new(4 * MS, 4);
    tenant(m, 0, policy(0, 300, 100), (struct load){ 1000, 4 * KIB, 0, 10 * SEC });
    tenant(m, 1, policy(100, 1000, 1), (struct load){ 1000, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 10 * SEC);
    static const uint64_t windows[] = { MS, 3 * MS, 10 * MS, 100 * MS, SEC };
    for (unsigned i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
        CHECK(most_in_window(m, 0, windows[i], 0) <= limit_bound(300, windows[i]));
    printf("  limited: %zu, other: %zu, device busy %llu ms of 10000\n", m->n[0], m->n[1],
           (unsigned long long)(m->busy_ns / 4 / MS));
    CHECK(m->n[0] >= 2970);
    CHECK(m->n[1] >= 6990);
    sim_free(m);
}

/* 64 KiB requests under a limit of 4 MiB/s (64 operations per second). */
static void test_byte_limit(void)
{
    struct sim *m = sim_new(MS, 1);
    struct iosched_policy p = policy(0, 1000, 1);
    p.limit_bytes = 4096 * KIB;
    tenant(m, 0, p, (struct load){ 16, 64 * KIB, 0, 10 * SEC });
    tenant(m, 1, policy(0, 1000, 1), (struct load){ 16, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 10 * SEC);
    static const uint64_t windows[] = { 10 * MS, 100 * MS, SEC, 5 * SEC };
    for (unsigned i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        uint64_t bytes = most_in_window(m, 0, windows[i], 0) * 64 * KIB;
        CHECK(bytes <= p.limit_bytes * windows[i] / SEC + 2 * 64 * KIB);
    }
    printf("  %zu ops of 64 KiB in 10 s at 4 MiB/s, other %zu\n", m->n[0], m->n[1]);
    CHECK(m->n[0] >= 635);
    CHECK(m->n[1] >= 9300);
    sim_free(m);
}

/* Spare capacity in the ratio of the weights; reservations come first. */
static void test_weights(void)
{
    struct sim *m = sim_new(MS, 1);
    tenant(m, 0, policy(0, 1000, 1), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    tenant(m, 1, policy(0, 1000, 3), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 10 * SEC);
    printf("  weights 1:3: %zu and %zu\n", m->n[0], m->n[1]);
    CHECK(m->n[0] >= 2490 && m->n[0] <= 2510);
    CHECK(m->n[1] >= 7490 && m->n[1] <= 7510);
    sim_free(m);
    /* 100 and 300 reserved, the 600 left shared 1:1: 400 and 600. */
    m = sim_new(MS, 1);
    tenant(m, 0, policy(100, 1000, 1), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    tenant(m, 1, policy(300, 1000, 1), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 10 * SEC);
    printf("  reserved 100 and 300, weights 1:1: %zu and %zu\n", m->n[0], m->n[1]);
    CHECK(m->n[0] >= 3980 && m->n[0] <= 4020);
    CHECK(m->n[1] >= 5980 && m->n[1] <= 6020);
    sim_free(m);
}

/* An idle tenant's share goes to the others, each up to its limit: weights
 * 3:3:1 with the first idle and the second limited to 600 leave the third
 * 400, and the device busy. With everyone limited, it idles. */
static void test_work_conserving(void)
{
    struct sim *m = sim_new(MS, 1);
    tenant(m, 0, policy(0, 1000, 3), (struct load){ 0, 4 * KIB, 0, 0 });
    tenant(m, 1, policy(0, 600, 3), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    tenant(m, 2, policy(0, 1000, 1), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 10 * SEC);
    printf("  idle 3, limited 3, other 1: %zu, %zu, %zu; busy %llu ms of 10000\n", m->n[0],
           m->n[1], m->n[2], (unsigned long long)(m->busy_ns / MS));
    CHECK_EQ(m->n[0], 0);
    CHECK(m->n[1] >= 5990 && m->n[1] <= 6002);
    CHECK(m->n[2] >= 3990);
    CHECK(m->busy_ns >= 10 * SEC - MS);
    sim_free(m);
    m = sim_new(MS, 1);
    tenant(m, 1, policy(0, 200, 3), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    tenant(m, 2, policy(0, 300, 1), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 10 * SEC);
    CHECK(m->n[1] >= 1990 && m->n[1] <= 2002);
    CHECK(m->n[2] >= 2990 && m->n[2] <= 3002);
    sim_free(m);
}

/* A tenant floods, goes idle for 4 s while another takes the whole device,
 * and floods again: in the first 100 ms back it gets its share (res +
 * half the spare), not the 4 s it missed. */
static void check_return(uint32_t res, uint64_t expect_100ms)
{
    struct sim *m = sim_new(MS, 1);
    tenant(m, 0, policy(res, 1000, 1), (struct load){ 64, 4 * KIB, 0, 2 * SEC });
    tenant(m, 1, policy(0, 1000, 1), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 6 * SEC);
    CHECK_EQ(ops_in(m, 1, 3 * SEC, 6 * SEC), 3000); /* the idle one's share went on */
    m->load[0] = (struct load){ 64, 4 * KIB, 6 * SEC, 10 * SEC };
    sim_run(m, 10 * SEC);
    uint64_t back = ops_in(m, 0, 6 * SEC, 6 * SEC + 100 * MS);
    uint64_t most = most_in_window(m, 0, 10 * MS, 6 * SEC);
    printf("  reserved %u: first 100 ms back %llu ops (share %llu), most in 10 ms %llu\n",
           res, (unsigned long long)back, (unsigned long long)expect_100ms,
           (unsigned long long)most);
    CHECK(back <= expect_100ms + 2 && back + 2 >= expect_100ms);
    CHECK(most <= expect_100ms / 10 + 2);
    sim_free(m);
}

static void test_idle_returns_without_credit(void)
{
    check_return(0, 50);
    check_return(200, 60);
}

/* Policy changed while running: a limit lowered, then weights swapped. */
static void test_policy_at_run_time(void)
{
    struct sim *m = sim_new(MS, 1);
    tenant(m, 0, policy(0, 1000, 1), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    tenant(m, 1, policy(0, 1000, 4), (struct load){ 64, 4 * KIB, 0, 10 * SEC });
    sim_run(m, 2 * SEC);
    struct iosched_policy p = policy(0, 100, 4);
    CHECK_EQ(iosched_set_policy(&m->s, 1, &p, m->now, NULL), IOSCHED_OK);
    sim_run(m, 4 * SEC);
    CHECK(ops_in(m, 1, 0, 2 * SEC) >= 1590);
    CHECK(most_in_window(m, 1, 100 * MS, 2 * SEC) <= limit_bound(100, 100 * MS));
    CHECK(ops_in(m, 0, 2 * SEC + 10 * MS, 4 * SEC) >= 1780);
    p = policy(0, 1000, 1);
    CHECK_EQ(iosched_set_policy(&m->s, 1, &p, m->now, NULL), IOSCHED_OK);
    p = policy(0, 1000, 4);
    CHECK_EQ(iosched_set_policy(&m->s, 0, &p, m->now, NULL), IOSCHED_OK);
    sim_run(m, 6 * SEC);
    uint64_t a = ops_in(m, 0, 4 * SEC, 6 * SEC), b = ops_in(m, 1, 4 * SEC, 6 * SEC);
    printf("  after the swap to 4:1: %llu and %llu\n", (unsigned long long)a,
           (unsigned long long)b);
    CHECK(a >= 1590 && b >= 390 && b <= 410);
    sim_free(m);
}

/* Queue-depth-1 victim with a reservation beside a flooder of the same
 * weight: each request waits at most for the one in service. */
static void test_victim_latency(void)
{
    struct sim *m = sim_new(MS, 1);
    tenant(m, 0, policy(200, 1000, 1), (struct load){ 1, 4 * KIB, 0, 10 * SEC });
    sim_run(m, SEC);
    const struct iosched_stats *st = iosched_stats(&m->s, 0);
    uint64_t alone50 = iosched_percentile(st, 50), alone99 = iosched_percentile(st, 99);
    tenant(m, 1, policy(0, 1000, 1), (struct load){ 1000, 4 * KIB, 0, 10 * SEC });
    struct iosched_stats before = *st;
    sim_run(m, 10 * SEC);
    struct iosched_stats beside = *st;
    for (unsigned b = 0; b < IOSCHED_BUCKETS; b++)
        beside.latency[b] -= before.latency[b];
    uint64_t p50 = iosched_percentile(&beside, 50), p99 = iosched_percentile(&beside, 99);
    printf("  victim alone p50 %llu p99 %llu ns; beside the flooder %llu ops in 9 s, "
           "p50 %llu p99 %llu ns\n", (unsigned long long)alone50, (unsigned long long)alone99,
           (unsigned long long)(beside.ops - before.ops), (unsigned long long)p50,
           (unsigned long long)p99);
    CHECK(alone99 <= 1250 * 1000);
    CHECK(p99 <= 2500 * 1000);
    CHECK(st->max_latency_ns <= 2 * MS);
    CHECK(beside.ops - before.ops >= 9 * 200);
    CHECK(iosched_stats(&m->s, IOSCHED_TENANTS) == NULL);
    sim_free(m);
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

/* One random arrangement: a victim reserving `res` with 8 outstanding
 * throughout, an unlimited flooder with a deep queue, and two tenants with
 * random policies that switch every 50 ms between idle and random depths
 * and sizes. Every limit holds in every window, the victim gets its
 * reservation in every 100 ms, the device never idles. */
static void random_run(uint64_t seed)
{
    struct sim *m = sim_new(MS, 2);
    uint64_t x = seed;
    uint32_t res = 100 + (uint32_t)(lcg(&x) % 600), lim[4] = { 0 };
    tenant(m, 0, policy(res, 2000, 1 + (uint32_t)(lcg(&x) % 5)),
           (struct load){ 8, 4 * KIB, 0, 10 * SEC });
    tenant(m, 1, policy(0, 2000, 1 + (uint32_t)(lcg(&x) % 1000)),
           (struct load){ 1000, 4 * KIB, 0, 10 * SEC });
    for (unsigned t = 2; t < 4; t++) {
        lim[t] = 50 + (uint32_t)(lcg(&x) % 800);
        struct iosched_policy p = policy((uint32_t)lcg(&x) % (2000 - res) / 2, lim[t],
                                         1 + (uint32_t)(lcg(&x) % 100));
        if (p.reservation_iops > lim[t])
            p.reservation_iops = lim[t];
        tenant(m, t, p, (struct load){ 0, 4 * KIB, 0, 0 });
    }
    for (uint64_t at = 0; at < 2 * SEC; at += 50 * MS) {
        for (unsigned t = 2; t < 4; t++)
            m->load[t] = (struct load){ (unsigned)(lcg(&x) % 3 ? 0 : lcg(&x) % 40),
                                        (uint32_t)(1 + lcg(&x) % (64 * KIB)), at,
                                        at + 50 * MS };
        sim_run(m, at + 50 * MS);
    }
    static const uint64_t windows[] = { MS, 10 * MS, 100 * MS, SEC };
    for (unsigned t = 2; t < 4; t++)
        for (unsigned i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
            CHECK(most_in_window(m, t, windows[i], 0) <= limit_bound(lim[t], windows[i]));
    for (uint64_t a = 0; a + 100 * MS <= 2 * SEC; a += 100 * MS)
        CHECK(ops_in(m, 0, a, a + 100 * MS) >= res / 10);
    CHECK(m->busy_ns >= 2 * (2 * SEC - MS));
    sim_free(m);
}

static void test_random_arrivals(void)
{
    for (uint64_t seed = 1; seed <= 20; seed++)
        random_run(seed);
}

/* Statistics against what a closed loop on a fixed-time device must give. */
static void test_statistics(void)
{
    struct sim *m = sim_new(MS, 1);
    struct iosched_policy p = policy(0, 1000, 1);
    p.latency_target_ns = 2 * MS;
    tenant(m, 0, p, (struct load){ 1, 4 * KIB, 0, SEC });
    tenant(m, 1, p, (struct load){ 4, 8 * KIB, SEC, 2 * SEC });
    sim_run(m, 3 * SEC);
    const struct iosched_stats *a = iosched_stats(&m->s, 0), *b = iosched_stats(&m->s, 1);
    CHECK_EQ(a->ops, 1000);
    CHECK_EQ(a->bytes, 1000 * 4 * KIB);
    CHECK_EQ(a->queue_ns, 0);
    CHECK_EQ(a->max_latency_ns, MS);
    CHECK_EQ(a->target_misses, 0);
    CHECK_EQ(iosched_percentile(a, 50), 1048575); /* 1 ms in [917504, 1048575] */
    CHECK_EQ(iosched_percentile(a, 99), 1048575);
    /* Depth 4: each waits for 3 ahead of it, 4 ms in all but the first few. */
    CHECK_EQ(b->ops, 1000 + 3);
    CHECK_EQ(b->bytes, b->ops * 8 * KIB);
    CHECK(b->queue_ns >= 990 * 3 * MS && b->queue_ns <= 1003 * 3 * MS);
    CHECK_EQ(b->max_latency_ns, 4 * MS);
    CHECK_EQ(b->target_misses, b->ops - 2);
    CHECK_EQ(iosched_percentile(b, 50), 4194303);
    CHECK_EQ(iosched_percentile(b, 100), 4194303);
    CHECK_EQ(iosched_percentile(b, 0), 0);
    CHECK_EQ(iosched_percentile(b, 101), 0);
    sim_free(m);
}

static void test_buckets(void)
{
    CHECK_EQ(iosched_bucket(0), 0);
    CHECK_EQ(iosched_bucket(3), 3);
    CHECK_EQ(iosched_bucket(4), 4);
    CHECK_EQ(iosched_bucket(7), 7);
    CHECK_EQ(iosched_bucket(8), 8);
    CHECK_EQ(iosched_bucket(9), 8);
    CHECK_EQ(iosched_bucket(10), 9);
    CHECK_EQ(iosched_bucket(UINT64_MAX), IOSCHED_BUCKETS - 5);
    struct iosched_stats st;
    memset(&st, 0, sizeof(st));
    CHECK_EQ(iosched_percentile(&st, 50), 0);
    st.latency[iosched_bucket(1000)] = 98;
    st.latency[iosched_bucket(100000)] = 2;
    CHECK(iosched_percentile(&st, 98) >= 1000 && iosched_percentile(&st, 98) < 1250);
    CHECK(iosched_percentile(&st, 99) >= 100000 && iosched_percentile(&st, 99) < 125000);
    /* Of 3, the median is the 2nd (rank rounded up). */
    memset(&st, 0, sizeof(st));
    st.latency[iosched_bucket(1000)] = 1;
    st.latency[iosched_bucket(100000)] = 2;
    CHECK(iosched_percentile(&st, 50) >= 100000);
    CHECK(iosched_percentile(&st, 33) < 1250);
}

int main(void)
{
    static const struct check_test tests[] = {
        { "policy_checks", test_policy_checks },
        { "submit_checks", test_submit_checks },
        { "reservation_beside_flooder", test_reservation_beside_flooder },
        { "limit_alone", test_limit_alone },
        { "limit_beside_others", test_limit_beside_others },
        { "byte_limit", test_byte_limit },
        { "weights", test_weights },
        { "work_conserving", test_work_conserving },
        { "idle_returns_without_credit", test_idle_returns_without_credit },
        { "policy_at_run_time", test_policy_at_run_time },
        { "victim_latency", test_victim_latency },
        { "random_arrivals", test_random_arrivals },
        { "statistics", test_statistics },
        { "buckets", test_buckets },
    };
    return check_run_all(tests, sizeof(tests) / sizeof(tests[0]));
}
