/*
 * The IO server's per-tenant scheduler (docs/io.md, "The IO scheduler"), in
 * the spirit of mClock: per tenant a reservation (operations per second
 * guaranteed), a limit (operations and bytes per second never exceeded), a
 * weight (its share of the capacity the reservations leave) and a latency
 * target. Pure C: no syscall, no allocation, no clock. The caller passes
 * the time in ns on every call, so the host tests run it against a
 * deterministic device (tests/host/test_iosched.c).
 *
 * The caller's loop: iosched_submit() when a tenant's request arrives;
 * while the device has room, iosched_dispatch() and hand the request to the
 * device; iosched_complete() when it finishes. When iosched_dispatch()
 * gives nothing although requests are queued, every queued tenant is held
 * by its limit: iosched_next_eligible() says when to try again.
 *
 * Invariants (kept by the functions):
 *  - every active tenant has 1 <= limit_iops, reservation_iops <= limit_iops,
 *    1 <= weight <= IOSCHED_WEIGHT_MAX, and a latency target in range;
 *  - the reservations of the active tenants sum to at most the capacity
 *    given to iosched_init();
 *  - a tenant's queue holds at most IOSCHED_QUEUE requests, in arrival order;
 *  - `vtime` never decreases.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define IOSCHED_TENANTS 8
#define IOSCHED_QUEUE 32            /* requests queued per tenant */
#define IOSCHED_NS 1000000000ull    /* ns per second */
#define IOSCHED_IOPS_MAX 10000000u  /* the most a capacity or limit may be */
#define IOSCHED_BYTES_MAX (1ull << 40) /* the most a bytes/s limit may be */
#define IOSCHED_REQUEST_MAX (1u << 20) /* the largest request, bytes */
#define IOSCHED_WEIGHT_MAX 10000u
#define IOSCHED_TARGET_MIN 1000ull       /* latency target: 1 µs ... */
#define IOSCHED_TARGET_MAX (10 * IOSCHED_NS) /* ... to 10 s */
#define IOSCHED_BUCKETS 256         /* latency histogram (iosched_bucket()) */

/* What an administrator sets for a tenant (iosched_set_policy()). */
struct iosched_policy {
    uint32_t reservation_iops; /* guaranteed; 0 for none */
    uint32_t limit_iops;       /* never exceeded; 1 .. IOSCHED_IOPS_MAX */
    uint64_t limit_bytes;      /* bytes per second never exceeded; 0 for none */
    uint32_t weight;           /* share of the spare; 1 .. IOSCHED_WEIGHT_MAX */
    uint64_t latency_target_ns; /* IOSCHED_TARGET_MIN .. IOSCHED_TARGET_MAX */
};

enum iosched_error {
    IOSCHED_OK,
    IOSCHED_ERR_TENANT,      /* no such tenant, or it has no policy */
    IOSCHED_ERR_LIMIT,       /* limit_iops 0 or above IOSCHED_IOPS_MAX, or
                                limit_bytes above IOSCHED_BYTES_MAX */
    IOSCHED_ERR_RESERVATION, /* reservation above the limit */
    IOSCHED_ERR_WEIGHT,      /* weight 0 or above IOSCHED_WEIGHT_MAX */
    IOSCHED_ERR_TARGET,      /* latency target out of range */
    IOSCHED_ERR_ADMISSION,   /* the reservations would exceed the capacity */
    IOSCHED_ERR_SIZE,        /* a request of 0 bytes or above IOSCHED_REQUEST_MAX */
    IOSCHED_ERR_QUEUE_FULL,  /* the tenant has IOSCHED_QUEUE requests queued */
};

/* A request as the scheduler hands it out and takes it back. */
struct iosched_request {
    unsigned tenant;
    uint64_t cookie;   /* the caller's, given back unchanged */
    uint32_t bytes;
    uint64_t arrival;  /* ns, when submitted */
    uint64_t dispatch; /* ns, when dispatched */
    bool reserved;     /* dispatched by reservation (else by weight) */
};

struct iosched_stats {
    uint64_t ops, bytes;        /* completed */
    uint64_t queue_ns;          /* sum over dispatched requests of dispatch - arrival */
    uint64_t dispatched, by_reservation;
    uint64_t target_misses;     /* completed later than the latency target */
    uint64_t max_latency_ns;
    uint32_t latency[IOSCHED_BUCKETS]; /* completions by iosched_bucket(latency) */
};

struct iosched_entry {
    uint64_t cookie, arrival;
    uint32_t bytes;
};

struct iosched_tenant {
    bool active;
    struct iosched_policy policy;
    uint64_t r_step, l_step, p_step; /* tag increments per operation */
    uint64_t r_tag, l_tag, b_tag, p_tag;
    struct iosched_entry queue[IOSCHED_QUEUE];
    unsigned head, count;
    struct iosched_stats stats;
};

struct iosched {
    uint32_t capacity_iops;
    uint32_t reserved_iops; /* sum over active tenants */
    uint64_t vtime;         /* where the last weight dispatch started */
    struct iosched_tenant tenants[IOSCHED_TENANTS];
};

/* Starts an empty scheduler for a device of `capacity_iops` (what the
 * reservations may sum to); false if 0 or above IOSCHED_IOPS_MAX. */
bool iosched_init(struct iosched *s, uint32_t capacity_iops);

/* Sets (or changes, at run time) a tenant's policy. Checks, in order: the
 * tenant number; the limit; reservation <= limit; the weight; the latency
 * target; admission (the reservations, this one's replacing its old one,
 * fit the capacity). On error nothing changes and, for ADMISSION, *left
 * (if not NULL) is the reservation still free. */
enum iosched_error iosched_set_policy(struct iosched *s, unsigned tenant,
                                      const struct iosched_policy *p, uint64_t now,
                                      uint32_t *left);

/* Ends a tenant: its queued requests are dropped (their number is
 * returned) and its reservation freed. Requests in flight are still
 * completed with iosched_complete(). */
unsigned iosched_close(struct iosched *s, unsigned tenant);

/* Queues a request of `bytes` for `tenant` arriving at `now`. */
enum iosched_error iosched_submit(struct iosched *s, unsigned tenant, uint64_t cookie,
                                  uint32_t bytes, uint64_t now);

/* Picks the next request at `now`; false if none may go now. */
bool iosched_dispatch(struct iosched *s, uint64_t now, struct iosched_request *out);

/* The earliest time at or after `now` when iosched_dispatch() may give a
 * request; UINT64_MAX if nothing is queued. */
uint64_t iosched_next_eligible(const struct iosched *s, uint64_t now);

/* The tightest latency target of the tenants with a policy, idle or not
 * (a queue-depth-1 tenant is idle between its requests, and its next one
 * should not find the device full); UINT64_MAX if there is none. */
uint64_t iosched_tightest_target(const struct iosched *s);

/* Records the completion at `now` of a request iosched_dispatch() gave. */
void iosched_complete(struct iosched *s, const struct iosched_request *r, uint64_t now);

/* A tenant's statistics (NULL for a bad tenant number), and the latency at
 * percentile `pct` (1..100) of its completions: the upper end of the
 * histogram bucket that holds it (at most 25 % above the true value), 0 if
 * nothing completed. */
const struct iosched_stats *iosched_stats(const struct iosched *s, unsigned tenant);
uint64_t iosched_percentile(const struct iosched_stats *st, unsigned pct);

/* The histogram bucket of a latency: exact below 4 ns, then four buckets
 * per power of two. */
unsigned iosched_bucket(uint64_t ns);

/* A sentence for an error. */
const char *iosched_error_text(enum iosched_error e);
