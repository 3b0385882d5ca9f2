/*
 * Synchronisation between the threads of one address space: mutexes,
 * condition variables and run-once initialisation, built on notifications.
 *
 * The common case never enters the kernel: an uncontended lock or unlock
 * is one atomic instruction. A thread that must wait blocks in Recv on the
 * object's notification (no spinning), and the thread that releases it
 * signals that notification once. A notification remembers a signal sent
 * before its waiter blocked, so no wake-up is lost; a waiter woken for
 * nothing checks again and blocks again.
 *
 * Each mutex and condition variable owns a notification, allocated by its
 * init function through libsys's object allocator: a program must have
 * called bk_alloc_init() first. There is no destroy: the notification is
 * reclaimed with the untyped it came from (revoke).
 */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

typedef struct {
    _Atomic uint32_t state; /* 0 free, 1 held, 2 held and maybe waited for */
    uint64_t notification;  /* slot of its notification cap */
} bk_mutex_t;

typedef struct {
    _Atomic uint32_t sequence; /* bumped by every signal and broadcast */
    _Atomic uint32_t waiters;  /* threads inside bk_cond_wait() */
    uint64_t notification;
} bk_cond_t;

typedef struct {
    _Atomic uint32_t state; /* 0 not run, 2 done */
} bk_once_t;

#define BK_ONCE_INIT { 0 }

/* Makes a free mutex. Returns 0, or -BK_ERR_NOT_ENOUGH_MEMORY when no
 * notification could be made. */
long bk_mutex_init(bk_mutex_t *m);

/* Takes the mutex, blocking while another thread holds it. Not recursive:
 * a thread that takes a mutex it holds waits forever. */
void bk_mutex_lock(bk_mutex_t *m);

/* Takes the mutex if it is free; returns whether it did. */
int bk_mutex_trylock(bk_mutex_t *m);

/* Releases the mutex (the caller holds it) and wakes one waiter, if any. */
void bk_mutex_unlock(bk_mutex_t *m);

/* Makes a condition variable; returns 0 or -BK_ERR_NOT_ENOUGH_MEMORY. */
long bk_cond_init(bk_cond_t *c);

/* Releases `m` (held by the caller), waits until bk_cond_signal() or
 * bk_cond_broadcast() is called after this call began, and takes `m`
 * again. As with every condition variable, recheck the predicate in a
 * loop: another thread may have taken the state first. */
void bk_cond_wait(bk_cond_t *c, bk_mutex_t *m);

/* Wakes at least one thread waiting on `c`, if there is one. */
void bk_cond_signal(bk_cond_t *c);

/* Wakes every thread waiting on `c`. */
void bk_cond_broadcast(bk_cond_t *c);

/* Runs fn() exactly once for `once` however many threads call this, and
 * returns only after it has run. fn must not call bk_once() itself. Uses
 * one libsys-wide mutex when threads race (bk_alloc_init() makes it). */
void bk_once(bk_once_t *once, void (*fn)(void));

/* libsys's own lock around its allocators (slots, objects, the heap):
 * one mutex, which the thread holding it may take again (calls nest).
 * It exists once bk_alloc_init() made it; before that (one thread only)
 * both calls do nothing. */
void bk_runtime_enter(void);
void bk_runtime_leave(void);

/* Makes libsys's own mutexes (called by bk_alloc_init()); 0 or -BK_ERR_*. */
long bk_sync_init(void);
