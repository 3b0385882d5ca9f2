/*
 * A ticket lock: CPUs take numbered tickets (one atomic fetch-and-add on
 * `next`) and are served in order (`serving`), so no CPU waits forever
 * while others keep taking the lock, which a plain test-and-set lock
 * allows. Memory order: the load that sees `serving` equal to our ticket
 * is an acquire, the store that passes it on is a release, so everything
 * the previous holder wrote before releasing is visible to the next
 * holder after acquiring (C17 7.17.3, the release/acquire pair).
 *
 * It does not know who holds it; kernel/smp.c records the owner.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ticket_lock {
    uint32_t next;    /* the ticket the next CPU to ask takes */
    uint32_t serving; /* the ticket that holds the lock */
};

static inline void ticket_lock_acquire(struct ticket_lock *l)
{
    uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != me)
        __asm__ volatile("" ::: "memory"); /* re-read: another CPU moves it */
}

/* The two halves of ticket_lock_acquire(), for a caller that does
 * something else while it waits (kernel/smp.c answers stop requests). */
static inline uint32_t ticket_lock_take(struct ticket_lock *l)
{
    return __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
}

static inline bool ticket_lock_served(struct ticket_lock *l, uint32_t ticket)
{
    return __atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) == ticket;
}

/* Takes the lock only if nobody holds it or waits for it: the next ticket
 * must be the one served now, and nobody may take it between the two. */
static inline bool ticket_lock_try(struct ticket_lock *l)
{
    uint32_t serving = __atomic_load_n(&l->serving, __ATOMIC_ACQUIRE);
    uint32_t expected = serving;
    return __atomic_compare_exchange_n(&l->next, &expected, serving + 1, false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Only the holder writes `serving`, so a plain read of it is exact. */
static inline void ticket_lock_release(struct ticket_lock *l)
{
    __atomic_store_n(&l->serving, l->serving + 1, __ATOMIC_RELEASE);
}
