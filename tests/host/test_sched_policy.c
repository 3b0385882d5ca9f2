/*
 * The scheduler server's policy arithmetic per CPU (servers/sched/policy.c):
 * admission, the rebalance and the last second's share, on a tenant table
 * filled by hand, without the kernel or QEMU. The QEMU tests
 * (tests/qemu/sched_smp.c, the policy boot with two CPUs) show the same
 * budgets given to real threads; here each number is exact.
 *
 * servers/sched/server.h comes with libsys's <bulkhead/sys.h>, which
 * declares a program's main(const struct bk_bootinfo *): this file and
 * policy.c are built with main renamed (tests/host/CMakeLists.txt), and the
 * test's own main comes after.
 */
#include <string.h>

#include "server.h"

#undef main
#include "check.h"

#define MS 1000000ull

/* An active tenant with its policy on the CPUs of `cpus`; `threads[c]`
 * of its threads on CPU c, each with nothing used. */
static struct tenant *tenant(unsigned i, uint32_t reservation, uint32_t limit, uint32_t weight,
                             uint64_t cpus)
{
    struct tenant *t = &tenants[i];
    *t = (struct tenant){ .active = true, .id = i + 1, .reservation = reservation,
                          .limit = limit, .weight = weight, .cpus = cpus };
    for (unsigned c = 0; c < CPUS; c++)
        t->core[c] = (struct core_share){ .band = BAND_RESERVED, .applied = true };
    return t;
}

static void clear(void)
{
    memset(tenants, 0, sizeof(tenants));
}

/* Tenant t's threads on CPU c ran out of budget since the last rebalance:
 * hungry there. */
static void hungry_on(struct tenant *t, unsigned c, unsigned threads)
{
    t->core[c].threads = threads;
    t->threads += threads;
    t->core[c].throttled = 1;
    t->core[c].used_ns = t->core[c].budget_ns;
}

/* Tenant t's threads on CPU c used nothing since the last rebalance. */
static void idle_on(struct tenant *t, unsigned c, unsigned threads)
{
    t->core[c].threads = threads;
    t->threads += threads;
}

static void test_admission_per_cpu(void)
{
    clear();
    struct tenant *a = tenant(0, 30, 50, 1, 1u << 0 | 1u << 1);
    tenant(1, 60, 90, 1, 1u << 1);
    CHECK_EQ(capacity_left(NULL, 0), 65);         /* a alone on CPU 0 */
    CHECK_EQ(capacity_left(NULL, 1), 5);          /* a and b on CPU 1 */
    CHECK_EQ(capacity_left(a, 1), 35);            /* a's own left out: its SetPolicy */
    CHECK_EQ(capacity_left(NULL, 2), CAPACITY_PERCENT); /* nobody on CPU 2 */
    tenants[1].active = false;                    /* removed: its 60 % back */
    CHECK_EQ(capacity_left(NULL, 1), 65);
}

/* A tenant on two CPUs: its reservation is its budget on each, with the
 * kernel's smallest budget per thread there as the floor. */
static void test_reserved_budget_per_cpu(void)
{
    clear();
    struct tenant *a = tenant(0, 30, 50, 1, 3);
    a->core[1].threads = 2;
    CHECK_EQ(reserved_budget(a, 0), 3 * MS);
    CHECK_EQ(reserved_budget(a, 1), 3 * MS);
    struct tenant *z = tenant(1, 0, 10, 1, 3);
    z->core[1].threads = 3;
    CHECK_EQ(reserved_budget(z, 0), BK_SCHED_MIN_BUDGET_NS);
    CHECK_EQ(reserved_budget(z, 1), 3ull * BK_SCHED_MIN_BUDGET_NS);
}

/* The two-CPU policy of policies/tests/accept/servers-two-cpus.toml: web
 * (30-50 %) on CPUs 0 and 1, db (60-90 %) on CPU 1, both hungry. CPU 1's
 * last 5 % is split by their equal weights; CPU 0's 65 % goes to web alone,
 * up to its limit; neither CPU's spare crosses to the other. */
static void test_rebalance_each_cpu_apart(void)
{
    clear();
    struct tenant *web = tenant(0, 30, 50, 1, 3), *db = tenant(1, 60, 90, 1, 2);
    web->core[0].budget_ns = web->core[1].budget_ns = 3 * MS;
    db->core[1].budget_ns = 6 * MS;
    hungry_on(web, 0, 1);
    hungry_on(web, 1, 1);
    hungry_on(db, 1, 1);
    policy_rebalance(0);
    policy_rebalance(1);
    CHECK_EQ(web->core[0].budget_ns, 5 * MS);    /* its limit: CPU 0's spare is 65 % */
    CHECK_EQ(web->core[0].band, BAND_BORROWING);
    CHECK_EQ(web->core[1].budget_ns, 3250000);   /* 30 % + half of CPU 1's 5 % */
    CHECK_EQ(db->core[1].budget_ns, 6250000);
    CHECK_EQ(db->core[1].band, BAND_BORROWING);
    CHECK_EQ(db->core[0].budget_ns, 0);           /* not db's CPU: untouched */
    CHECK(!web->core[0].applied && !web->core[1].applied && !db->core[1].applied);
}

/* An idle tenant lends its reservation on its CPU only: db idle on CPU 1
 * lets web borrow up to its limit there, and a hungry tenant on CPU 0 gets
 * nothing of it. */
static void test_idle_lends_on_its_cpu(void)
{
    clear();
    struct tenant *web = tenant(0, 30, 50, 1, 2), *db = tenant(1, 60, 90, 1, 2);
    struct tenant *batch = tenant(2, 10, 100, 1, 1);
    web->core[1].budget_ns = 3 * MS;
    db->core[1].budget_ns = 6 * MS;
    batch->core[0].budget_ns = 1 * MS;
    hungry_on(web, 1, 1);
    idle_on(db, 1, 1);
    hungry_on(batch, 0, 1);
    policy_rebalance(0);
    policy_rebalance(1);
    CHECK_EQ(web->core[1].budget_ns, 5 * MS);     /* up to its limit on db's lent time */
    CHECK_EQ(db->core[1].budget_ns, 6 * MS);      /* its reservation stays its budget */
    CHECK_EQ(db->core[1].band, BAND_RESERVED);    /* so it preempts web once it wakes */
    CHECK_EQ(batch->core[0].budget_ns, 95 * MS / 10); /* CPU 0's 95 % is all batch's */
}

/* A CPU where a tenant has no thread: its reservation is kept as its budget
 * there (admitted, ready for a thread) and it takes no spare. */
static void test_cpu_without_threads(void)
{
    clear();
    struct tenant *a = tenant(0, 20, 80, 1, 3);
    a->core[0].budget_ns = a->core[1].budget_ns = 2 * MS;
    hungry_on(a, 0, 1);
    policy_rebalance(0);
    policy_rebalance(1);
    CHECK_EQ(a->core[0].budget_ns, 8 * MS);
    CHECK_EQ(a->core[1].budget_ns, 2 * MS);
    CHECK_EQ(a->core[1].band, BAND_RESERVED);
}

/* The last second's share is per CPU: each CPU's own history. */
static void test_recent_share_per_cpu(void)
{
    clear();
    struct tenant *a = tenant(0, 30, 50, 1, 3);
    a->periods = HISTORY;
    for (unsigned i = 0; i < HISTORY; i++) {
        a->core[0].history[i] = 5 * MS;
        a->core[1].history[i] = i < HISTORY / 2 ? 3 * MS : 0;
    }
    CHECK_EQ(recent_share(a, 0), 500);
    CHECK_EQ(recent_share(a, 1), 150);
    a->periods = 10; /* younger than a second: over its life */
    CHECK_EQ(recent_share(a, 1), 300);
}

TEST_MAIN(TEST(test_admission_per_cpu), TEST(test_reserved_budget_per_cpu),
          TEST(test_rebalance_each_cpu_apart), TEST(test_idle_lends_on_its_cpu),
          TEST(test_cpu_without_threads), TEST(test_recent_share_per_cpu))
