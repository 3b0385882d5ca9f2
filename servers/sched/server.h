/*
 * The scheduler server's state (docs/scheduling.md, "The scheduler
 * server"): the tenant table, each tenant's policy, threads and usage
 * history, and the policy arithmetic of policy.c that main.c applies with
 * SchedControl; the slots of its CNode, its threads (threads.c) and what
 * its timeout handler counts.
 *
 * Writers: the request handler (main.c, running on its callers' time)
 * alone writes the tenant table and thread_gen; the timeout handler
 * (threads.c) alone the counters in `counts`, except `rescued`, which the
 * rebalancer clears. All the server's threads run at SERVER_PRIORITY on
 * CPU 0; the tenants' threads on the CPUs of their tenant.
 *
 * Invariants, per CPU c the server holds (cpu_held):
 *  - the reservations of the active tenants with c in their `cpus` sum to
 *    at most CAPACITY_PERCENT;
 *  - reservation <= limit <= 100 and weight >= 1 for every active tenant,
 *    and its `cpus` is a non-empty set of held CPUs;
 *  - a tenant's thread runs on one of its CPUs, and core[c].threads counts
 *    its threads on c;
 *  - an active tenant's budget on c (per period, its threads on c
 *    together) lies between its reservation and its limit; a tenant whose
 *    budget on c is above its reservation runs its threads there in the
 *    borrowing band, every other in the reserved band above it.
 */
#pragma once

#include <bulkhead/proto.h>
#include <bulkhead/sys.h>

#define PERIOD_NS 10000000ull   /* every tenant SchedContext's period: 10 ms */
#define CAPACITY_PERCENT 95u    /* the most the reservations may sum to */
#define TENANTS 8
#define THREADS_PER_TENANT 4
#define CPUS 8                  /* the kernel's CPU numbers 0 to 7 (bk_bootinfo.sched_control_cpu) */
#define HISTORY 100             /* periods of usage kept: one second */
/* Refills of every SchedContext the server configures: the most the
 * kernel keeps (BK_SCHED_MAX_REFILLS). Every interrupt that comes while a
 * thread runs (the 10 ms tick, the server's own threads waking) cuts its
 * refill in two; once the list is full, pieces merge and come back late.
 * With 8, spinning tenants in tests/qemu/sched_server.c got down to 92 %
 * of their budgets on RISC-V (C 473 of 512 per mille), with 4 to 75 %.
 * The rebalancer's clock needs more than two in any case: it blocks in the
 * middle of its budget (its Call), and with two what it used before merged
 * into the rest and took it a period later: it woke every 10 and 20 ms in
 * turn. */
#define REFILLS BK_SCHED_MAX_REFILLS
#define NAME_MAX_CHARS 16

/* Priorities. The server's own threads run at SERVER_PRIORITY (its
 * spawner must give it at least that MCP); tenants' threads run in two
 * bands below it. */
#define SERVER_PRIORITY 200u
#define BAND_RESERVED 120u      /* budget <= reservation: never preempted by borrowers */
#define BAND_BORROWING 110u     /* budget > reservation: runs on others' unused time */

struct sched_thread {
    bool used;
    unsigned cpu;                           /* the CPU its SchedContext is for */
    uint64_t last_consumed, last_throttled; /* at the last rebalance */
    /* The timeout handler's counts for its slot when it was added. */
    uint64_t base_timeouts, base_request_timeouts;
};

/* A tenant's time on one CPU: its policy holds on each of its CPUs
 * apart, so each has its own budget, band and history. */
struct core_share {
    unsigned threads;       /* its threads on this CPU */
    uint64_t budget_ns;     /* per period, shared by those threads equally */
    unsigned band;          /* BAND_RESERVED or BAND_BORROWING */
    bool applied;           /* budget_ns and band are what the kernel has */
    /* Since the last rebalance (filled by main.c's sampling), and the
     * throttles of the rebalance before. */
    uint64_t used_ns, throttled, throttled_before;
    uint64_t consumed_total;   /* over its life here, threads removed included */
    uint64_t history[HISTORY]; /* ns used per rebalance, a ring */
};

struct tenant {
    bool active;
    uint64_t id; /* the badge of its endpoint caps */
    char name[NAME_MAX_CHARS + 1];
    uint32_t reservation, limit, weight; /* percent, percent, relative: on each CPU */
    uint64_t cpus;                       /* bit c: admitted on CPU c */
    unsigned threads;                    /* on all its CPUs */
    struct sched_thread thread[THREADS_PER_TENANT];
    struct core_share core[CPUS];
    uint64_t throttled_total; /* over its life, on every CPU */
    uint64_t periods;         /* rebalances since it was made */
};

extern struct tenant tenants[TENANTS];

/* The CPUs the server holds SchedControl for (bit c: CPU c), found once
 * the first request comes (main.c). */
extern uint64_t cpu_held;

/* The per mille of `ns` in `periods` periods. */
uint32_t permille_of_periods(uint64_t ns, uint64_t periods);

/* Percent of CPU `cpu`'s capacity free for tenant `except` (NULL: a new
 * tenant): CAPACITY_PERCENT less the reservations of the others admitted
 * there. */
uint32_t capacity_left(const struct tenant *except, unsigned cpu);

/* A new budget and band on CPU `cpu` for every active tenant with threads
 * there, from what each used there since the last rebalance
 * (core_share.used_ns, .throttled): reservations always; the spare time
 * to the hungry tenants by weight, each up to its limit. Marks the shares
 * whose budget or band changed as not applied. */
void policy_rebalance(unsigned cpu);

/* The budget of a tenant that borrows nothing on CPU `cpu`: its
 * reservation, and at least the kernel's smallest budget for each of its
 * threads there. */
uint64_t reserved_budget(const struct tenant *t, unsigned cpu);

/* Tenant share of CPU `cpu` over the last second (per mille). */
uint32_t recent_share(const struct tenant *t, unsigned cpu);

/* ---- The server's CNode, threads and badges (main.c, threads.c) -------- */

#define W BK_WORD_BITS
#define ENDPOINT BK_PROCESS_CAP_ARG
#define RECV_SLOT (BK_PROCESS_FIRST_FREE_SLOT + 1) /* FIRST_FREE_SLOT holds SchedControl */
#define TICK_SLOT (RECV_SLOT + 1)                  /* the rebalancer's badged endpoint cap */
#define POOLS 4
#define POOL_SLOT(i) (TICK_SLOT + 1 + (i)) /* 11-14: the untyped caps the spawner moves in */
#define REBALANCER_TCB POOL_SLOT(POOLS)
#define REBALANCER_SC (REBALANCER_TCB + 1)
/* The copy of tenant t's thread i's TCB and the SchedContext the server
 * made for it (kept once made, reused after a removal). */
#define THREAD_TCB(t, i) (REBALANCER_SC + 1 + 2 * ((t) * THREADS_PER_TENANT + (i)))
#define THREAD_SC(t, i) (THREAD_TCB(t, i) + 1)
#define HANDLER_TCB THREAD_TCB(TENANTS, 0) /* the request handler */
#define RESCUE_SC (HANDLER_TCB + 1)        /* its start-up time, then its rescue */
#define TIMEOUTS_TCB (RESCUE_SC + 1)       /* the timeout handler */
#define TIMEOUTS_SC (TIMEOUTS_TCB + 1)
#define TIMEOUT_EP (TIMEOUTS_SC + 1) /* where timeout faults arrive, badged per thread */
#define SCRATCH_SLOT (TIMEOUT_EP + 1)
#define HANDSHAKE_SLOT (SCRATCH_SLOT + 1) /* the rebalancer's other badged endpoint cap */
#define CLOCK_TCB (HANDSHAKE_SLOT + 1)     /* the rebalancer's clock */
#define CLOCK_SC (CLOCK_TCB + 1)
#define CLOCK_EP (CLOCK_SC + 1)            /* where the clock calls the rebalancer */
/* SchedControl of CPU c: CPU 0's where bk_process_spawn() puts it
 * (BK_SPAWN_GIVE_SCHED_CONTROL), every other CPU's where the spawner
 * copies it (docs/scheduling.md, "Starting it"): slots 97 to 103. */
#define CPU_SLOTS 96
#define CPU_SLOT(c) ((c) == 0 ? (uint64_t)BK_CAP_SCHED_CONTROL : (uint64_t)(CPU_SLOTS + (c)))
_Static_assert(CLOCK_EP < CPU_SLOTS, "the CPUs' slots lie above the server's own");

#define REBALANCE_BADGE 0x5c4edull /* the rebalancer's calls: above any tenant id */
#define HANDSHAKE_BADGE 0x5c4eeull /* the rebalancer's "are you back in Recv?" */
/* The request handler's timeout faults, and the badges of the rescue and
 * rebalancer SchedContexts: low byte 0, so no thread's (below). */
#define HANDLER_FAULT_BADGE 0x5c400ull
#define OWN_SC_BADGE 0x5c500ull
#define SC_BYTES (1ull << BK_SCHED_CONTEXT_BITS)

/* Bumped each time a thread slot is given a thread (AddThread): a timeout
 * of the slot's previous thread, still on its way, is not counted for the
 * next one. */
extern volatile uint64_t thread_gen[TENANTS][THREADS_PER_TENANT];

/* A tenant thread's badge, on its timeout endpoint cap and its
 * SchedContext (which timeout faults carry): its slot, 1 to 32, in the low
 * byte, the slot's generation above. */
static inline uint64_t thread_badge(unsigned t, unsigned i)
{
    return thread_gen[t][i] << 8 | (t * THREADS_PER_TENANT + i + 1);
}

/* The slot of `badge` if it names a current tenant thread. */
static inline bool thread_of_badge(uint64_t badge, unsigned *t, unsigned *i)
{
    uint64_t slot = badge & 0xff;
    if (slot == 0 || slot > TENANTS * THREADS_PER_TENANT)
        return false;
    *t = (unsigned)(slot - 1) / THREADS_PER_TENANT;
    *i = (unsigned)(slot - 1) % THREADS_PER_TENANT;
    return badge >> 8 == thread_gen[*t][*i];
}

/* What the timeout handler counts (ever-growing, like the kernel's
 * consumed time; usage.c reads them against the values at AddThread). */
struct timeout_counts {
    /* A tenant thread's budget ended while it ran. */
    volatile uint64_t timeouts[TENANTS][THREADS_PER_TENANT];
    /* The caller's budget ended while the request handler worked on its
     * loan: a tenant thread's, or another's (the administrator's, the
     * rebalancer's, a caller the server did not give time). */
    volatile uint64_t request_timeouts[TENANTS][THREADS_PER_TENANT];
    volatile uint64_t other_request_timeouts;
    /* A caller's SchedContext was taken away mid-request: the request
     * handler finished on RESCUE_SC, which it keeps (`rescued`) until the
     * rebalancer finds it waiting in Recv again and takes it back. */
    volatile uint64_t rescues;
    volatile bool rescued;
};

extern struct timeout_counts counts;

/* ---- What main.c keeps and the usage reports (usage.c) read ----------- */

static inline unsigned index_of(const struct tenant *t)
{
    return (unsigned)(t - tenants);
}

/* Whether CPU `cpu` is one of `t`'s. */
static inline bool on_cpu(const struct tenant *t, unsigned cpu)
{
    return cpu < CPUS && (t->cpus >> cpu & 1);
}

/* Looks for the SchedControl caps the spawner put in CPU_SLOT() since the
 * last look, into cpu_held. */
void find_cpus(void);

/* The active tenant of id `id` (a badge), or NULL. */
struct tenant *tenant_by_id(uint64_t id);

/* What thread i of `t` used and ran out of since the last sample, added to
 * *used and *throttled; with `advance`, that sample becomes the new last
 * one. */
void sample_thread(struct tenant *t, unsigned i, bool advance, uint64_t *used,
                   uint64_t *throttled);

/* Makes what the server's threads need from its pools (idempotent): true
 * once all is made; `missing` gets the bytes still to make. */
bool server_objects_ready(uint64_t *missing);

/* Starts the timeout handler, the request handler (which then waits in
 * Recv with no SchedContext: passive) and the rebalancer. 0 or the
 * kernel's error. */
long server_hand_over(void);

/* Sends tcb's timeout faults to the timeout handler with `badge`, or
 * stops doing so. */
long server_watch_timeouts(uint64_t tcb, uint64_t badge);
void server_unwatch_timeouts(uint64_t tcb);

/* One object of `type` in `slot`, from the first pool with room: 0 or the
 * kernel's last error. */
long server_make_object(uint64_t type, uint64_t slot);

/* The request handler's work on one message (main.c): a rebalance or an
 * empty answer for the rebalancer, else the request's dispatch; the reply
 * is left in `m`. */
void server_serve(const struct bk_proto_server *server, struct bk_msg *m);
