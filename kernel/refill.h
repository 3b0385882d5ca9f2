/*
 * Refills: the budget of a scheduling context as a sporadic server.
 *
 * A scheduling context promises its thread `budget` ns of CPU in every
 * window of `period` ns, and no more, however the thread runs, blocks and
 * wakes. The budget is held as a short list of refills, each an amount of
 * time and the instant from which it may be used. The rule that keeps the
 * promise (the POSIX sporadic server's): time used is given back exactly
 * one period after the instant its use began. Time used in [s, s + u) is
 * thus unavailable until s + period, so a window of one period can never
 * hold more than the budget, wherever it starts, and a thread that keeps
 * running gets the whole budget every period.
 *
 * Time used in one run comes back as one refill, however many times the
 * scheduler charged it in between (every interrupt that lets the thread go
 * on charges it): a charge that begins where the last one ended joins the
 * tail refill, at the tail's instant. That is the refill one charge of the
 * whole run would have made, so it keeps the promise; without it, each
 * interrupt cut the budget in one more piece, the list filled and merging
 * delayed time: a spinning tenant lost 2 to 3 % of a 70 % share. A charge
 * that begins less than `min` after the last one ended joins the tail too
 * (unless the tail is the head in use), its instant moved later by the
 * pause: the refill of one run begun that much later, so again only a
 * delay. Without it a pause of a few counts (the kernel's work between a
 * budget piece's end and the next piece's release) split the budget in
 * two for good, throttled twice a period (riscv64/cpu-budget, session 28).
 *
 * The list is bounded (REFILL_MAX entries, the caller's choice up to that):
 * when it is full, a refill that should be added is merged into the last
 * one, at the later of the two instants. Merging only ever delays time, so
 * it keeps the promise; what it costs is some of the budget in a period
 * where the thread blocked often (it gets it later). A head refill below
 * REFILL_MIN_NS is merged into the next one the same way, so the kernel
 * never schedules a thread for a sliver it cannot use.
 *
 * Invariants (refill_check()): 1 <= count <= max; every amount is positive
 * and they sum to the budget; the instants do not decrease from head to
 * tail; the head holds at least REFILL_MIN_NS unless it is the only one.
 *
 * Pure: no kernel state, no locks, no allocation; time is an argument, in
 * ns here and in the tests; the scheduler uses its clock's counts and sets
 * `min` to REFILL_MIN_NS in counts after refill_init(). The caller (the
 * scheduler) charges what a thread used when it stops running, and asks
 * when the next refill is due.
 */
#pragma once

#include "types.h"

#define REFILL_MAX 16
#define REFILL_MIN_COUNT 2 /* refill_init() keeps at least this many (see refill.c) */
#define REFILL_MIN_NS 2000ull /* about what a kernel entry and exit cost */

struct refill {
    uint64_t when;   /* the instant from which `amount` may be used */
    uint64_t amount; /* ns */
};

struct refills {
    uint64_t budget, period; /* budget <= period */
    uint64_t min;            /* the smallest head refill: REFILL_MIN_NS unless set */
    /* Where the use that the tail refill gives back ended (UINT64_MAX: the
     * tail gives back no use, as the first refill). A charge that begins
     * there is the same run, cut by an interrupt, and joins the tail. */
    uint64_t tail_used_end;
    unsigned head, count, max;
    struct refill r[REFILL_MAX];
};

/* Starts with the whole budget usable at `now`. `max` is clamped to
 * [REFILL_MIN_COUNT, REFILL_MAX]. Returns false (and leaves `rs` unusable) unless
 * 0 < budget <= period. */
bool refill_init(struct refills *rs, uint64_t budget, uint64_t period, unsigned max,
                 uint64_t now);

/* How much may be used from `now` on without a new refill: the head's
 * amount if it is due, else 0. */
uint64_t refill_available(const struct refills *rs, uint64_t now);

/* When the head refill is due (<= now if some time is available now). */
uint64_t refill_next_due(const struct refills *rs);

/* Charges `used` ns of running that began at `start`. Nothing if no
 * refill was available at `start`. More than refill_available(rs, start)
 * allowed (the caller's timer should have stopped the thread there, but
 * interrupts come a little late) is an overrun: it comes out of the next
 * refills, so the thread pays it back; at most the whole budget is taken. */
void refill_charge(struct refills *rs, uint64_t start, uint64_t used);

/* Checks the invariants above; returns false on the first broken one. */
bool refill_check(const struct refills *rs);
