/*
 * Kernel messages that a user action can trigger (a fault in a thread
 * without a handler): rate-limited and
 * buffered, so a tenant can neither flood the console nor make the kernel
 * wait for the UART. See log.c for the limit, the ring and why.
 */
#pragma once

#include "types.h"

/* Whether a message that a user action triggered may go to the console
 * now. Each true answer is one message (a line or two); the caller then
 * writes it with log_printf(). A false answer counts the message as
 * suppressed; the count goes out before the next message that may. */
bool log_may_print(void);

/* Formats a message into the kernel's log ring (never the UART): all of
 * it, or, when the ring is full, none of it (its bytes are counted and
 * reported as dropped). One call is one message: end it with '\n'. */
void log_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes a few buffered bytes (at most a UART FIFO's worth) while the
 * UART takes them without waiting; never spins. From the timer tick and
 * the idle loop. */
void log_drain(void);

/* Writes out, synchronously, the rest of a ring line that a drain left
 * half written: before any synchronous console output, so that output
 * never lands in the middle of a buffered line. */
void log_finish_line(void);

/* Writes out, synchronously, everything in the ring, then the counts of
 * dropped bytes and suppressed messages: before panic and shutdown lines
 * and the root task's end, so a run's log holds every buffered line. */
void log_flush(void);
