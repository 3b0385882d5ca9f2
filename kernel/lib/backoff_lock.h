/*
 * A test-and-test-and-set spin lock with bounded exponential backoff: the
 * kernel lock (kernel/smp.c; docs/smp.md, "The lock" says why it replaced
 * the ticket lock).
 *
 * A waiter reads the word until it looks free (the "test": a plain load,
 * which stays in its cache while the holder works, so waiters do not
 * bounce the line), then tries one atomic exchange (the "test-and-set").
 * After a failed exchange it waits `backoff` turns of arch_spin_pause()
 * before it looks again, and doubles `backoff` up to BACKOFF_LOCK_MAX_SPINS:
 * when many CPUs saw the lock free at once, most lose and spread out rather
 * than all storming the line at the next release.
 *
 * It is unfair: whoever runs when the lock is free gets it, not whoever
 * asked first. That is the point on an overcommitted host: with a ticket
 * lock a waiter whose virtual CPU the host has descheduled still holds its
 * place, and every later ticket waits for it even while the lock is free.
 * The bound on the backoff keeps a loser's delay short (it looks again
 * within BACKOFF_LOCK_MAX_SPINS turns), so it is not shut out for long.
 *
 * Memory order: the exchange that takes the lock is an acquire, the store
 * that frees it a release, so what the previous holder wrote before it let
 * go is visible to the next one once it holds the lock (C17 7.17.3). The
 * looks before the exchange are relaxed: they decide only when to try.
 *
 * It does not know who holds it; kernel/smp.c records the owner.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define BACKOFF_LOCK_MAX_SPINS 1024u /* a loser looks again within this many turns */

struct backoff_lock {
    uint32_t held; /* 1 while some CPU holds it */
};

/* One look and, if it looked free, one try: never waits. */
static inline bool backoff_lock_try(struct backoff_lock *l)
{
    return __atomic_load_n(&l->held, __ATOMIC_RELAXED) == 0 &&
           __atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline bool backoff_lock_looks_free(const struct backoff_lock *l)
{
    return __atomic_load_n(&l->held, __ATOMIC_RELAXED) == 0;
}

/* The next backoff after a lost try: doubled, at most the bound. */
static inline uint32_t backoff_lock_next(uint32_t spins)
{
    return spins >= BACKOFF_LOCK_MAX_SPINS / 2 ? BACKOFF_LOCK_MAX_SPINS : spins * 2;
}

/* For a caller with nothing else to do while it waits (kernel/smp.c's
 * kernel_lock_acquire() answers stop requests in its own loop). `pause`
 * is one turn of a spin wait (arch_spin_pause in the kernel). */
static inline void backoff_lock_acquire_with(struct backoff_lock *l, void (*pause)(void))
{
    uint32_t spins = 1;
    while (!backoff_lock_try(l)) {
        for (uint32_t i = 0; i < spins; i++)
            pause();
        spins = backoff_lock_next(spins);
        while (!backoff_lock_looks_free(l))
            pause();
    }
}

static inline void backoff_lock_release(struct backoff_lock *l)
{
    __atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
}
