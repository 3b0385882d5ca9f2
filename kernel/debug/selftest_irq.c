/*
 * The device-interrupt self-test, run with "bulkhead.selftest=irq": a
 * device of the platform (arch_selftest_irq_source, see selftest.h) raises
 * interrupts, and the checks show, through the arch_irq_* hooks alone,
 * that one arrives through kernel_irq() while the kernel idles, that its
 * line then stays masked until arch_irq_ack() even though the device
 * raises it again, that it arrives again after the ack, that
 * arch_irq_disable() stops it, and that arch_irq_enable() refuses a line
 * that does not exist. The tick (timer.c) is the clock for the waits.
 * One line per check, then "N passed, N failed" and shutdown.
 */
#include "selftest.h"

#include "arch.h"
#include "irq.h"
#include "kernel.h"
#include "thread.h"
#include "timer.h"

#include <bulkhead/abi.h>

/* Waits in timer ticks (BK_TICK_HZ per second). The test devices raise
 * their interrupt about every millisecond, so a quiet window of 10 ticks
 * spans many of them; arrival is given 2 seconds, generous under TCG. */
#define ARRIVE_TICKS 200u
#define QUIET_TICKS 10u

struct irq_test {
    unsigned irq;
    unsigned passed, failed;
};

static void check(struct irq_test *t, bool ok, const char *what)
{
    kprintf("selftest irq: %s: %s\n", ok ? "ok" : "FAILED", what);
    if (ok)
        t->passed++;
    else
        t->failed++;
}

/* Idles until the line's count exceeds `count` or `ticks` timer ticks
 * passed; returns the count then. Interrupts are taken only inside
 * arch_idle_wait(). */
static uint64_t idle_until_irq(unsigned irq, uint64_t count, unsigned ticks)
{
    uint64_t start = kernel_ticks();
    while (irq_pending_count(irq) <= count && kernel_ticks() - start < ticks)
        arch_idle_wait();
    return irq_pending_count(irq);
}

/* Idles for `ticks` timer ticks, whatever arrives; returns the count. */
static uint64_t idle_ticks(unsigned irq, unsigned ticks)
{
    uint64_t start = kernel_ticks();
    while (kernel_ticks() - start < ticks)
        arch_idle_wait();
    return irq_pending_count(irq);
}

static void check_line_numbers(struct irq_test *t)
{
    unsigned count = arch_irq_count();
    check(t, count > 0 && count <= IRQ_LINES, "the platform has device interrupt lines");
    check(t, !arch_irq_enable(count) && !arch_irq_enable(~0u),
          "arch_irq_enable refuses a line past arch_irq_count()");
}

/* Enable, then the first interrupt; the line is masked after it. The
 * device is cleared once the line is enabled: an edge-triggered line would
 * not see a condition raised before (the device keeps its line high). */
static bool check_arrival(struct irq_test *t)
{
    uint64_t before = irq_pending_count(t->irq);
    check(t, arch_irq_enable(t->irq), "arch_irq_enable accepts the device's line");
    arch_selftest_irq_clear();
    uint64_t after = idle_until_irq(t->irq, before, ARRIVE_TICKS);
    check(t, after == before + 1, "the interrupt arrives through kernel_irq() while idling");
    return after > before;
}

/* The device is cleared and raises its interrupt again during the quiet
 * window; nothing may arrive before the ack. That interrupt must not be
 * lost either: it arrives after the ack, with the device left as it is
 * (a driver that clears its device and then acks must not miss an
 * interrupt raised in between, edge-triggered lines included). */
static void check_masked_until_ack(struct irq_test *t)
{
    uint64_t before = irq_pending_count(t->irq);
    arch_selftest_irq_clear();
    check(t, idle_ticks(t->irq, QUIET_TICKS) == before,
          "no second interrupt while the line waits for arch_irq_ack");
    arch_irq_ack(t->irq);
    check(t, idle_until_irq(t->irq, before, ARRIVE_TICKS) > before,
          "the interrupt raised while masked arrives after arch_irq_ack");
}

/* Ack, clear, disable: the device raises it again but nothing arrives;
 * enabling the line again lets it through. */
static void check_disable(struct irq_test *t)
{
    arch_irq_ack(t->irq);
    arch_selftest_irq_clear();
    arch_irq_disable(t->irq);
    uint64_t before = irq_pending_count(t->irq);
    check(t, idle_ticks(t->irq, QUIET_TICKS) == before, "arch_irq_disable stops the interrupt");
    bool enabled = arch_irq_enable(t->irq);
    arch_selftest_irq_clear(); /* as in check_arrival() */
    check(t, enabled && idle_until_irq(t->irq, before, ARRIVE_TICKS) > before,
          "arch_irq_enable after arch_irq_disable lets it through again");
    arch_irq_disable(t->irq);
}

void selftest_irq(const struct boot_params *bp)
{
    struct irq_test t = { 0 };
    kprintf("selftest irq: platform '%s', %u interrupt lines\n", bp->platform,
            arch_irq_count());
    timer_start();
    check_line_numbers(&t);
    bool found = arch_selftest_irq_source(&t.irq);
    check(&t, found && t.irq < arch_irq_count(), "the platform has a test device");
    if (found && t.irq < arch_irq_count()) {
        kprintf("selftest irq: test device on line %u\n", t.irq);
        if (check_arrival(&t)) {
            check_masked_until_ack(&t);
            check_disable(&t);
        }
    }
    kprintf("selftest irq: %u passed, %u failed\n", t.passed, t.failed);
    kernel_shutdown(t.failed ? KERNEL_EXIT_FAIL : KERNEL_EXIT_PASS, "selftest irq");
}
