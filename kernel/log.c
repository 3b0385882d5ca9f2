/*
 * Kernel messages that tenants can trigger: rate-limited and buffered
 * (see log.h).
 *
 * The UART takes about 87 us a byte at 115,200 baud, and the kernel runs
 * with interrupts off: writing a two-line fault report (about 170 bytes)
 * by polling would hold the CPU for some 15 ms. A tenant can make such
 * reports at will (fault, be restarted by its own supervisor, fault
 * again), so two things stand between it and the console:
 *
 *  1. A token bucket bounds how many messages it can make the kernel
 *     print: LOG_BURST may go out at once (a burst of faults is still
 *     visible in full), then one more per LOG_REFILL_TICKS (one a second).
 *     A message over the limit is not printed but counted, and the count
 *     goes out as one line ("bulkhead: N messages suppressed") before the
 *     next message that may, and at shutdown.
 *
 *  2. A message that may go out is formatted into a ring of LOG_RING_BYTES
 *     bytes in the kernel's data (no allocation), not written to the UART.
 *     The fault path then costs the formatting, never the line time. The
 *     ring is drained by log_drain() from the timer tick and the idle loop:
 *     at most LOG_DRAIN_BYTES bytes a call (a 16550's transmit FIFO), and
 *     only while the UART takes a byte without waiting
 *     (arch_console_try_putc()), so draining never spins. A whole message
 *     goes in, or none of it: one that does not fit is dropped and its
 *     bytes counted, and the count goes into the ring as one line
 *     ("bulkhead: N bytes of kernel messages dropped") once there is room
 *     again, or out at shutdown.
 *
 * Synchronous output (boot messages, the Debug cap's console writes, the
 * root task's end, panics, shutdown) goes straight to the UART. Before it,
 * log_finish_line() writes out the rest of a ring line that a drain left
 * half written (one message, under 200 bytes), so lines are never torn;
 * panics, shutdown and the root task's end call log_flush(), which writes
 * the whole ring first, so a run's log holds every buffered line, in the
 * order the messages were made, before its last lines.
 *
 * Invariants: 0 <= tokens <= LOG_BURST; refilled_at <= kernel_ticks(), and
 * only whole refill periods are ever added to it, so no partial period is
 * lost or counted twice. ring_tail <= ring_head <= ring_tail +
 * LOG_RING_BYTES (free-running counters, the index is the counter modulo
 * the power-of-two size); the bytes between them are whole messages, but
 * for the first one when mid_line says a drain started it.
 */
#include "log.h"

#include <bulkhead/abi.h>

#include "arch.h"
#include "kernel.h"
#include "lib/format.h"
#include "thread.h"

#define LOG_BURST 10u                 /* messages that may go out back to back */
#define LOG_REFILL_TICKS BK_TICK_HZ   /* then one more per second of ticks */
#define LOG_RING_BYTES 4096u          /* twice a full burst of fault reports */
#define LOG_DRAIN_BYTES 16u           /* per drain: one 16550 transmit FIFO */

_Static_assert((LOG_RING_BYTES & (LOG_RING_BYTES - 1)) == 0, "the ring index is a mask");

static unsigned tokens = LOG_BURST;
static uint64_t refilled_at;          /* tick up to which tokens were added */
static uint64_t suppressed;           /* messages held back since the last summary */

static char ring[LOG_RING_BYTES];
static uint32_t ring_head;            /* counter of bytes put in */
static uint32_t ring_tail;            /* counter of bytes written out */
static bool mid_line;                 /* the last byte written out was not '\n' */
static uint64_t dropped_bytes;        /* bytes of messages that did not fit */

/* Adds one token per whole refill period since the last refill. */
static void refill(uint64_t now)
{
    uint64_t earned = (now - refilled_at) / LOG_REFILL_TICKS;
    if (earned == 0)
        return;
    refilled_at += earned * LOG_REFILL_TICKS;
    tokens = earned >= LOG_BURST - tokens ? LOG_BURST : tokens + (unsigned)earned;
}

/* ---- The ring ---------------------------------------------------------- */

/* A message being formatted into the ring: its bytes go after ring_head
 * and become visible only when the whole message fit (commit). */
struct ring_message {
    uint32_t len;  /* bytes it takes in the ring so far ("\n" is "\r\n") */
    bool overflow; /* some byte did not fit: the message is dropped */
};

static void ring_put(struct ring_message *m, char c)
{
    if (ring_head + m->len - ring_tail >= LOG_RING_BYTES) {
        m->overflow = true;
        m->len++;
        return;
    }
    ring[(ring_head + m->len) % LOG_RING_BYTES] = c;
    m->len++;
}

/* The console's line ending, as the synchronous console writes it. */
static void ring_sink(char c, void *ctx)
{
    if (c == '\n')
        ring_put(ctx, '\r');
    ring_put(ctx, c);
}

/* Puts one whole message in the ring, or counts its bytes as dropped. */
static bool ring_message(const char *fmt, va_list ap)
{
    struct ring_message m = { 0, false };
    format(ring_sink, &m, fmt, ap);
    if (m.overflow) {
        dropped_bytes += m.len;
        return false;
    }
    ring_head += m.len;
    return true;
}

static bool ring_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool ring_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = ring_message(fmt, ap);
    va_end(ap);
    return ok;
}

/* ---- Summaries: what the limit held back and what the ring dropped ----- */

#define SUPPRESSED_FMT \
    "bulkhead: %llu messages suppressed (rate limit: %u at once, then 1 per %u ticks)\n"
#define DROPPED_FMT \
    "bulkhead: %llu bytes of kernel messages dropped (log buffer of %u bytes full)\n"

/* Into the ring, ahead of the next message (a tenant's context: no UART
 * time). A summary that does not fit stays counted for the next try. */
static void ring_summaries(void)
{
    if (dropped_bytes) {
        uint64_t n = dropped_bytes;
        dropped_bytes = 0;
        if (!ring_printf(DROPPED_FMT, (unsigned long long)n, LOG_RING_BYTES))
            dropped_bytes = n;
    }
    if (suppressed && ring_printf(SUPPRESSED_FMT, (unsigned long long)suppressed, LOG_BURST,
                                  (unsigned)LOG_REFILL_TICKS))
        suppressed = 0;
}

bool log_may_print(void)
{
    refill(kernel_ticks());
    if (tokens == 0) {
        suppressed++;
        return false;
    }
    tokens--;
    ring_summaries();
    return true;
}

void log_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)ring_message(fmt, ap);
    va_end(ap);
}

/* ---- Out to the UART --------------------------------------------------- */

static char ring_next(void)
{
    char c = ring[ring_tail % LOG_RING_BYTES];
    ring_tail++;
    mid_line = c != '\n';
    return c;
}

void log_drain(void)
{
    for (unsigned n = 0; n < LOG_DRAIN_BYTES && ring_tail != ring_head; n++) {
        if (!arch_console_try_putc(ring[ring_tail % LOG_RING_BYTES]))
            return;
        (void)ring_next();
    }
}

void log_finish_line(void)
{
    while (mid_line && ring_tail != ring_head)
        console_put_sync(ring_next());
}

void log_flush(void)
{
    while (ring_tail != ring_head)
        console_put_sync(ring_next());
    if (dropped_bytes)
        kprintf(DROPPED_FMT, (unsigned long long)dropped_bytes, LOG_RING_BYTES);
    if (suppressed)
        kprintf(SUPPRESSED_FMT, (unsigned long long)suppressed, LOG_BURST,
                (unsigned)LOG_REFILL_TICKS);
    dropped_bytes = 0;
    suppressed = 0;
}
