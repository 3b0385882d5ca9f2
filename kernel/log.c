/*
 * Rate-limited kernel messages (see log.h).
 *
 * The kernel writes its console by polling the UART with interrupts off:
 * at 115,200 baud a byte takes 87 us, so a two-line fault report (about
 * 170 bytes) holds the CPU for some 15 ms, and a tenant that can make such
 * reports at will (fault, be restarted by its own supervisor, fault again)
 * would hold it most of the time and bury everyone's output. A token
 * bucket bounds what tenants can make the kernel print:
 *
 *   - LOG_BURST messages may go out at once (a burst of faults is still
 *     visible in full), then one more per LOG_REFILL_TICKS (one a second);
 *   - a message over the limit is not printed but counted, and the count
 *     goes out as one line ("bulkhead: N messages suppressed") before the
 *     next message that may, and at shutdown.
 *
 * So user-triggered output costs at most about 150 ms once and then about
 * 15 ms a second (1.5% of the CPU) at 115,200 baud. Messages the root
 * task's own end triggers (it happens once per boot) and the output of
 * Debug cap holders (debug.c: trusted with the console) are not limited.
 *
 * Invariants: 0 <= tokens <= LOG_BURST; refilled_at <= kernel_ticks(), and
 * only whole refill periods are ever added to it, so no partial period is
 * lost or counted twice.
 */
#include "log.h"

#include <bulkhead/abi.h>

#include "kernel.h"
#include "thread.h"

#define LOG_BURST 10u                 /* messages that may go out back to back */
#define LOG_REFILL_TICKS BK_TICK_HZ   /* then one more per second of ticks */

static unsigned tokens = LOG_BURST;
static uint64_t refilled_at;          /* tick up to which tokens were added */
static uint64_t suppressed;           /* messages held back since the last summary */

/* Adds one token per whole refill period since the last refill. */
static void refill(uint64_t now)
{
    uint64_t earned = (now - refilled_at) / LOG_REFILL_TICKS;
    if (earned == 0)
        return;
    refilled_at += earned * LOG_REFILL_TICKS;
    tokens = earned >= LOG_BURST - tokens ? LOG_BURST : tokens + (unsigned)earned;
}

bool log_may_print(void)
{
    refill(kernel_ticks());
    if (tokens == 0) {
        suppressed++;
        return false;
    }
    tokens--;
    log_print_suppressed();
    return true;
}

void log_print_suppressed(void)
{
    if (suppressed == 0)
        return;
    kprintf("bulkhead: %llu messages suppressed (rate limit: %u at once, then 1 per %u ticks)\n",
            (unsigned long long)suppressed, LOG_BURST, (unsigned)LOG_REFILL_TICKS);
    suppressed = 0;
}
