/*
 * How many requests the IO server keeps in the device (docs/io.md, "The
 * device's depth"). The scheduler orders requests only until they enter
 * the device; a device that serves what it holds in order makes a request
 * that arrives now wait behind all of it. So the server keeps in the
 * device only as many requests as keep it busy within the tightest
 * latency target of its tenants, measured, not assumed:
 *
 *   depth = clamp(floor(X * T), 1, most)
 *
 * X: the device's completions per second while it holds a request (a
 * moving estimate over windows of IODEPTH_WINDOW completions), T: the
 * tightest latency target of the tenants. It is Little's law: a device
 * that completes X a second and holds X * T requests keeps each in it
 * for T. On a device that serves what it holds one at a time, in order,
 * a request due first waits at most one service (1 / X) for a slot and
 * then depth / X <= T in the device. A device that serves requests in
 * parallel completes more per second the more it holds, so X, and the
 * depth, grow until `most` (the driver's slots), as long as T is at
 * least twice its time for one request.
 *
 * Pure C like iosched.c: no syscall, no clock; the caller passes the time
 * in ns, so the host tests (tests/host/test_iodepth.c) run it against a
 * deterministic device.
 *
 * Invariants: 1 <= depth <= most <= IODEPTH_MOST; in_device counts the
 * requests dispatched and not completed; busy_since is meaningful only
 * while in_device > 0.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define IODEPTH_MOST 8u    /* the driver's request slots (servers/blk: BLK_SLOTS) */
#define IODEPTH_WINDOW 64u /* completions per measurement (see iodepth.c) */
#define IODEPTH_RATE_MAX 10000000u /* completions per second believed at most */

struct iodepth {
    unsigned most, depth, in_device;
    uint64_t busy_since;   /* ns: when the device last went from empty to busy */
    uint64_t busy_ns;      /* busy time of the window, up to busy_since */
    unsigned window_done;  /* completions in the window */
    uint64_t window_latency_ns; /* their dispatch-to-completion times, summed */
    uint64_t rate;         /* estimate: completions per second while busy; 0 unknown */
    uint64_t latency_ns;   /* estimate: a request's time in the device */
    uint64_t target_ns;    /* the target of the last measurement */
};

/* Starts with the depth at `most` (1 .. IODEPTH_MOST, else IODEPTH_MOST):
 * until a measurement says otherwise, the device's throughput comes first. */
void iodepth_init(struct iodepth *d, unsigned most);

/* Whether one more request may enter the device. */
bool iodepth_room(const struct iodepth *d);

/* A request entered the device at `now`. */
void iodepth_dispatched(struct iodepth *d, uint64_t now);

/* A request dispatched at `dispatched` completed at `now`. True when that
 * ends a window: then the caller calls iodepth_measure(). */
bool iodepth_completed(struct iodepth *d, uint64_t dispatched, uint64_t now);

/* Ends the window at `now`: new estimates and depth, with `target_ns` the
 * tightest latency target of the tenants (UINT64_MAX: none). True if the
 * depth changed. (Apart from iodepth_completed() so that the caller looks
 * the target up once a window, not once a request.) */
bool iodepth_measure(struct iodepth *d, uint64_t now, uint64_t target_ns);

/* The depth for a device completing `rate` requests per second with the
 * tightest latency target `target_ns`, at most `most` (the rule above). */
unsigned iodepth_for(uint64_t rate, uint64_t target_ns, unsigned most);
