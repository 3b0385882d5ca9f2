/*
 * The scheduler server's state (docs/scheduling.md, "The scheduler
 * server"): the tenant table, each tenant's policy, threads and usage
 * history, and the policy arithmetic of policy.c that main.c applies with
 * SchedControl.
 *
 * Invariants:
 *  - the reservations of the active tenants sum to at most CAPACITY_PERCENT;
 *  - reservation <= limit <= 100 and weight >= 1 for every active tenant;
 *  - an active tenant's budget (per period, all its threads together) lies
 *    between its reservation and its limit; a tenant whose budget is above
 *    its reservation runs in the borrowing band, every other in the
 *    reserved band above it.
 */
#pragma once

#include <bulkhead/sys.h>

#define PERIOD_NS 10000000ull   /* every tenant SchedContext's period: 10 ms */
#define CAPACITY_PERCENT 95u    /* the most the reservations may sum to */
#define TENANTS 8
#define THREADS_PER_TENANT 4
#define HISTORY 100             /* periods of usage kept: one second */
#define NAME_MAX_CHARS 16

/* Priorities. The server's own threads run at SERVER_PRIORITY (its
 * spawner must give it at least that MCP); tenants' threads run in two
 * bands below it. */
#define SERVER_PRIORITY 200u
#define BAND_RESERVED 120u      /* budget <= reservation: never preempted by borrowers */
#define BAND_BORROWING 110u     /* budget > reservation: runs on others' unused time */

struct sched_thread {
    bool used;
    uint64_t last_consumed, last_throttled; /* at the last rebalance */
};

struct tenant {
    bool active;
    uint64_t id; /* the badge of its endpoint caps */
    char name[NAME_MAX_CHARS + 1];
    uint32_t reservation, limit, weight; /* percent, percent, relative */
    unsigned threads;
    struct sched_thread thread[THREADS_PER_TENANT];
    uint64_t budget_ns;     /* per period, shared by its threads equally */
    unsigned band;          /* BAND_RESERVED or BAND_BORROWING */
    bool applied;           /* budget_ns and band are what the kernel has */
    /* Since the last rebalance (filled by main.c's sampling). */
    uint64_t used_ns, throttled;
    /* Totals over its life, threads removed included. */
    uint64_t consumed_total, throttled_total;
    uint64_t history[HISTORY]; /* ns used per rebalance, a ring */
    uint64_t periods;          /* rebalances since it was made */
};

extern struct tenant tenants[TENANTS];

/* The per mille of `ns` in `periods` periods. */
uint32_t permille_of_periods(uint64_t ns, uint64_t periods);

/* Percent of the capacity free for tenant `except` (NULL: a new tenant):
 * CAPACITY_PERCENT less the reservations of the others. */
uint32_t capacity_left(const struct tenant *except);

/* A new budget and band for every active tenant from what each used since
 * the last rebalance (tenant.used_ns, .throttled): reservations always;
 * the spare time to the hungry tenants by weight, each up to its limit.
 * Marks the tenants whose budget or band changed as not applied. */
void policy_rebalance(void);

/* The budget of a tenant that borrows nothing: its reservation, and at
 * least the kernel's smallest budget for each thread. */
uint64_t reserved_budget(const struct tenant *t);

/* Tenant share over the last second (per mille of the CPU). */
uint32_t recent_share(const struct tenant *t);
