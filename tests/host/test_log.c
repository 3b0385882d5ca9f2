/* Host tests of the kernel's tenant-triggered messages (kernel/log.c): a
 * token bucket of 10 messages, refilled by one per BK_TICK_HZ ticks, and
 * the ring they are formatted into: never written synchronously, drained
 * a FIFO's worth at a time while the UART takes bytes, whole messages in
 * order, overflow counted and reported in one line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bulkhead/abi.h>

#include "arch.h"
#include "check.h"
#include "kernel.h"
#include "log.h"
#include "thread.h"

static uint64_t now;          /* the fake tick counter */
static char uart[65536];      /* everything the fake UART sent */
static size_t uart_len;
static size_t sync_bytes;     /* of which written synchronously */
static bool uart_busy;        /* the fake UART takes no byte now */

uint64_t kernel_ticks(void)
{
    return now;
}

static void uart_put(char c)
{
    if (uart_len < sizeof(uart) - 1)
        uart[uart_len++] = c;
    uart[uart_len] = '\0';
}

bool arch_console_try_putc(char c)
{
    if (uart_busy)
        return false;
    uart_put(c);
    return true;
}

void console_put_sync(char c)
{
    sync_bytes++;
    uart_put(c);
}

/* As kernel/lib/console.c's: a buffered line a drain began goes first. */
void kprintf(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    log_finish_line();
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    for (const char *p = line; *p; p++)
        console_put_sync(*p);
}

static void uart_clear(void)
{
    uart_len = 0;
    sync_bytes = 0;
    uart[0] = '\0';
}

/* Drains until the ring is empty (every call writes at most 16 bytes). */
static unsigned drain_all(void)
{
    unsigned calls = 0;
    for (size_t before = (size_t)-1; before != uart_len; calls++) {
        before = uart_len;
        log_drain();
    }
    return calls;
}

/* How many of `count` messages at the current tick may go out. */
static unsigned allowed(unsigned count)
{
    unsigned n = 0;
    for (unsigned i = 0; i < count; i++)
        n += log_may_print();
    return n;
}

/* The tests share the log's state and run in this order. */
static void test_burst_then_suppressed(void)
{
    now = 1000;
    CHECK_EQ(allowed(10), 10); /* a full bucket */
    CHECK_EQ(allowed(5), 0);
    now = 1099;                /* not a whole second since the refill */
    CHECK_EQ(allowed(1), 0);
    drain_all();
    CHECK_EQ(uart_len, 0);     /* nothing to summarise yet */
}

static void test_message_is_buffered_after_summary(void)
{
    now = 1100;
    CHECK_EQ(allowed(1), 1);
    log_printf("bulkhead: message %d\n", 1);
    CHECK_EQ(uart_len, 0);     /* nothing went to the UART on the way */
    drain_all();
    CHECK_EQ(sync_bytes, 0);
    CHECK(strstr(uart, "bulkhead: 6 messages suppressed") == uart);
    CHECK(strstr(uart, ")\r\nbulkhead: message 1\r\n") != NULL);
    CHECK_EQ(allowed(1), 0);   /* one token a second */
    uart_clear();
}

static void test_drain_is_bounded_and_waits_for_the_uart(void)
{
    log_printf("%s\n", "0123456789abcdef0123456789abcdef");
    uart_busy = true;
    log_drain();
    CHECK_EQ(uart_len, 0);     /* a busy UART: nothing, and no waiting */
    uart_busy = false;
    log_drain();
    CHECK_EQ(uart_len, 16);    /* one FIFO's worth a call */
    log_printf("second\n");
    kprintf("sync\n");         /* finishes the half-written line first */
    CHECK_EQ(strcmp(uart, "0123456789abcdef0123456789abcdef\r\nsync\n"), 0);
    drain_all();
    CHECK(strstr(uart, "sync\nsecond\r\n") != NULL);
    uart_clear();
}

static void test_overflow_is_counted_and_reported_once(void)
{
    char line[100];
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    unsigned fit = 4096 / 101;          /* 99 bytes and "\r\n" each */
    for (unsigned i = 0; i < fit + 3; i++)
        log_printf("%s\n", line);
    CHECK_EQ(uart_len, 0);
    drain_all();
    CHECK_EQ(uart_len, fit * 101);      /* whole messages only, none torn */
    now += BK_TICK_HZ;                  /* a token for the next message */
    CHECK_EQ(allowed(1), 1);
    log_printf("after\n");
    uart_clear();
    drain_all();
    CHECK(strstr(uart, "bulkhead: 303 bytes of kernel messages dropped") == uart);
    CHECK(strstr(uart, "\r\nafter\r\n") != NULL);
    CHECK(strstr(strstr(uart, "dropped") + 1, "dropped") == NULL); /* one such line */
    uart_clear();
}

static void test_flush_writes_the_ring_then_the_counts(void)
{
    CHECK_EQ(allowed(3), 0);            /* the bucket is empty again */
    log_printf("pending\n");
    log_flush();
    CHECK(strstr(uart, "pending\r\nbulkhead: 3 messages suppressed") == uart);
    uart_clear();
    log_flush();                        /* the counts were reset */
    CHECK_EQ(uart_len, 0);
}

TEST_MAIN(TEST(test_burst_then_suppressed), TEST(test_message_is_buffered_after_summary),
          TEST(test_drain_is_bounded_and_waits_for_the_uart),
          TEST(test_overflow_is_counted_and_reported_once),
          TEST(test_flush_writes_the_ring_then_the_counts))
