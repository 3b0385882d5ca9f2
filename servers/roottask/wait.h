/*
 * The root task's waits once the system runs (wait.c): on a notification
 * of its own, signalled by a ticker thread every WAIT_TICK_MS and by the
 * driver's fault watcher, instead of polling.
 */
#ifndef ROOTTASK_WAIT_H
#define ROOTTASK_WAIT_H

#include <stdint.h>

/* The badge bits a wake-up carries (several at once, maybe). */
#define WAIT_TICK 1u   /* the ticker: look at whatever is polled */
#define WAIT_DRIVER 2u /* the driver's fault watcher stopped an incarnation */

/* The period of the ticker: how late at most the root task notices a
 * tenant's end or the console closed. */
#define WAIT_TICK_MS 10u

/* Makes the notification and starts the ticker (once; again is nothing).
 * NULL, or a sentence saying what failed. */
const char *wait_start(void);

/* A cap that signals the root task's wait with `badge` (write right
 * alone): the caller's to give on. 0 before wait_start() or without a
 * slot. */
uint64_t wait_signal_cap(uint64_t badge);

/* Blocks until the next signal; its badge bits. */
uint64_t wait_next(void);

#endif
