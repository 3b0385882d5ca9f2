/*
 * The lock-order self-test, run with "bulkhead.selftest=lockorder-again"
 * or "lockorder-rank" (debug kernels only, as every self-test). At this
 * point of boot the boot CPU holds the kernel lock (kernel_main() took
 * it). First a lock ranked above it is taken and let go of: that order is
 * allowed and must pass. Then the mistake: the kernel lock taken again
 * through kernel_lock_acquire(), or a lock ranked below the kernel lock
 * taken inside it. The check must panic with both names (the ctest
 * expects the panic line); if it lets the mistake through, the "rank"
 * case says so and fails, and the "again" case waits for itself until
 * the test's time runs out: either way the test fails.
 */
#include "selftest.h"

#include "debug/lockorder.h"
#include "kernel.h"
#include "lib/backoff_lock.h"
#include "smp.h"

static const struct lock_class inner_class = { "selftest-inner", LOCK_RANK_KERNEL + 1 };
static const struct lock_class outer_class = { "selftest-outer", LOCK_RANK_KERNEL - 1 };
static struct backoff_lock test_lock;

static void take(const struct lock_class *c)
{
    lockorder_acquire(c);
    backoff_lock_acquire_with(&test_lock, arch_spin_pause);
}

static void let_go(const struct lock_class *c)
{
    backoff_lock_release(&test_lock);
    lockorder_release(c);
}

void selftest_lockorder(const char *mistake)
{
    kprintf("selftest lockorder: cpu 0 holds '%s' (rank %u): %s\n", kernel_lock_class.name,
            kernel_lock_class.rank, kernel_lock_held_here() ? "yes" : "no");
    take(&inner_class);
    let_go(&inner_class);
    kprintf("selftest lockorder: ok: '%s' (rank %u) taken and let go of inside it\n",
            inner_class.name, inner_class.rank);
    if (mistake[0] == 'a') {
        kprintf("selftest lockorder: taking '%s' again\n", kernel_lock_class.name);
        kernel_lock_acquire();
    } else {
        kprintf("selftest lockorder: taking '%s' (rank %u) inside it\n", outer_class.name,
                outer_class.rank);
        take(&outer_class);
        let_go(&outer_class);
    }
    kprintf("selftest lockorder: FAILED: the check let the mistake through\n");
    kernel_shutdown(KERNEL_EXIT_FAIL, "self-test failed");
}
