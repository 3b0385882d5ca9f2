/* Host tests of the kernel's message rate limit (kernel/log.c): a token
 * bucket of 10 messages, refilled by one per BK_TICK_HZ ticks, with the
 * held-back count printed before the next message that may go out. */
#include <stdarg.h>
#include <string.h>

#include <bulkhead/abi.h>

#include "check.h"
#include "kernel.h"
#include "log.h"
#include "thread.h"

static uint64_t now;           /* the fake tick counter */
static char last_line[256];    /* what the limiter printed last */
static unsigned lines;         /* and how many lines in all */

uint64_t kernel_ticks(void)
{
    return now;
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_line, sizeof(last_line), fmt, ap);
    va_end(ap);
    lines++;
}

/* How many of `count` messages at the current tick may go out. */
static unsigned allowed(unsigned count)
{
    unsigned n = 0;
    for (unsigned i = 0; i < count; i++)
        n += log_may_print();
    return n;
}

/* The tests share the limiter's state and run in this order. */
static void test_burst_then_suppressed(void)
{
    now = 1000;
    CHECK_EQ(allowed(10), 10); /* a full bucket */
    CHECK_EQ(lines, 0);        /* nothing to summarise yet */
    CHECK_EQ(allowed(5), 0);
    now = 1099;                /* not a whole second since the refill */
    CHECK_EQ(allowed(1), 0);
    CHECK_EQ(lines, 0);
}

static void test_refill_prints_summary_first(void)
{
    now = 1100;
    CHECK_EQ(allowed(1), 1);
    CHECK_EQ(lines, 1);
    CHECK(strstr(last_line, "bulkhead: 6 messages suppressed") == last_line);
    CHECK_EQ(allowed(1), 0); /* one token a second */
}

static void test_long_quiet_refills_only_the_burst(void)
{
    now = 1100 + 50 * BK_TICK_HZ;
    CHECK_EQ(allowed(20), 10);
    CHECK_EQ(lines, 2);
    CHECK(strstr(last_line, "bulkhead: 1 messages suppressed") == last_line);
}

static void test_print_suppressed_resets(void)
{
    log_print_suppressed(); /* the 10 refused just now */
    CHECK_EQ(lines, 3);
    CHECK(strstr(last_line, "bulkhead: 10 messages suppressed") == last_line);
    log_print_suppressed();
    CHECK_EQ(lines, 3);
}

TEST_MAIN(TEST(test_burst_then_suppressed), TEST(test_refill_prints_summary_first),
          TEST(test_long_quiet_refills_only_the_burst), TEST(test_print_suppressed_resets))
