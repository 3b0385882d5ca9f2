/*
 * The ready queues' operations (struct cpu's queues, kernel/smp.h): the
 * scheduler's (sched.c), and the fast paths' (fastpath.c), which take a
 * thread off or put one on without the rest of the scheduler. Inline: they
 * are the common path of every switch. sched.c's comment says how the
 * bitmap finds the highest ready priority.
 */
#pragma once

#include "kernel.h"
#include "smp.h"
#include "thread.h"

/* Another CPU hears of a thread queued there by IPI (sched.c). Out of
 * line: one CPU never calls it. */
__attribute__((noinline)) void sched_ready_notify(const struct cpu *c);

/* Each CPU has its own ready queues (struct cpu): a thread waits on those
 * of its CPU (thread_cpu(): its SchedContext's), and remembers which, in
 * ready_on, for as long as it is queued there (ready_queued). The flag
 * makes the test one load (the links alone would need the queue's head
 * too, found through ready_on). */
static inline bool on_ready_queue(const struct thread *t)
{
    return t->ready_queued;
}

/* Queues `t` at the tail of its priority's queue on `c`, its CPU. */
static inline __attribute__((always_inline)) void ready_enqueue_on(struct cpu *c, struct thread *t)
{
    unsigned p = t->priority;
    struct thread *tail = c->ready_tail[p]; /* read once: t's stores might alias it */
    t->ready_on = c;
    t->ready_queued = true;
    t->ready_next = NULL;
    t->ready_prev = tail;
    if (tail)
        tail->ready_next = t;
    else
        c->ready_head[p] = t;
    c->ready_tail[p] = t;
    c->ready_words[p / 64] |= 1ull << (p % 64);
    c->ready_summary |= 1ull << (p / 64);
    if ((int)p > c->ready_top)
        c->ready_top = (int)p;
}

/* ready_enqueue() less the woken thread's turn (below). */
static inline __attribute__((always_inline)) void ready_enqueue_now(struct thread *t)
{
    struct cpu *c = &cpus[t->sc->cpu];
    ready_enqueue_on(c, t);
    if (c != cpu_here())
        sched_ready_notify(c);
}

/* ---- The woken thread ------------------------------------------------------
 * A Call that finds its receiver waiting wakes it and blocks the caller,
 * and the answer of a ReplyRecv wakes the caller before the server blocks
 * in its receive: queueing the woken thread only for choose() to take it
 * straight off again was about 90 instructions of every such general-path
 * IPC (the queue's links, the bitmap set and cleared, the top searched
 * again). With one CPU online, sched_make_runnable_next() leaves it
 * unqueued in the CPU's `woken` instead, made RUNNABLE;
 * thread_resume_current(), which ends every syscall and fault, runs it at
 * once if it then outranks every queued thread and the current thread
 * blocked, and otherwise queues it first and chooses as ever (the timer's
 * entry, which may send a timeout fault, always queues it first). Every
 * other enqueue on the CPU queues it first (ready_enqueue()), so the
 * queues' order is the one eager queueing gives, and a thread that stopped
 * being RUNNABLE or schedulable meanwhile, or got queued by its own way,
 * is dropped from `woken` (ready_woken_valid()). Nothing reads the queues
 * between: the fast paths run before the general path, and the one reader
 * before the choice, the timer interrupt's may_defer(), queues it first. */
static inline bool ready_woken_valid(const struct thread *w)
{
    return w->state == THREAD_RUNNABLE && !on_ready_queue(w) && sched_is_schedulable(w);
}

/* Queues `here`'s woken thread, if any, unless it is `except` (which the
 * caller queues itself). */
static inline __attribute__((always_inline)) void ready_queue_woken(struct cpu *here,
                                                                    const struct thread *except)
{
    struct thread *w = here->woken;
    here->woken = NULL;
    if (w && w != except && ready_woken_valid(w))
        ready_enqueue_now(w);
}

/* Makes `t` RUNNABLE; the current thread is about to block (a Call to t,
 * or the answer of a ReplyRecv to t), so t may well run next: with one
 * CPU online it is left to thread_resume_current() unqueued, and queued at
 * once otherwise (or when another is left there already). Inline: every
 * general-path Call and ReplyRecv makes one. */
static inline __attribute__((always_inline)) void sched_make_runnable_next(struct thread *t)
{
    struct cpu *c = cpu_here();
    if (smp_others_online || c->woken || t == current_thread || on_ready_queue(t)) {
        sched_make_runnable(t);
        return;
    }
    t->state = THREAD_RUNNABLE;
    t->blocked_on = NULL;
    c->woken = t;
}

/* ready_enqueue() with a woken thread left: it goes first. Out of line
 * (sched.c), and called last, so that the common way keeps no register. */
void ready_enqueue_after_woken(struct thread *t);

/* Queues `t` on its CPU; another CPU hears of it by IPI, as it may be
 * idle or running something `t` outranks. `t` can run, so it has a
 * SchedContext (sched_is_schedulable()). A thread woken before it is
 * queued before it. */
static inline __attribute__((always_inline)) void ready_enqueue(struct thread *t)
{
    if (cpu_here()->woken) {
        ready_enqueue_after_woken(t);
        return;
    }
    ready_enqueue_now(t);
}

/* The index of the highest set bit of x != 0 by a de Bruijn multiply:
 * the shifts and ors set every bit below the highest, x ^ (x >> 1) keeps
 * the highest alone, and the product's top six bits name it (sched.c's
 * table). About 20 instructions on RV64 without Zbb, where clang 14's
 * count of leading zeros is about 34. */
#define READY_DEBRUIJN 0x03f79d71b4cb0a89ull
extern const uint8_t ready_debruijn_index[64];

static inline unsigned highest_set_bit_debruijn(uint64_t x)
{
    x |= x >> 1;
    x |= x >> 2;
    x |= x >> 4;
    x |= x >> 8;
    x |= x >> 16;
    x |= x >> 32;
    return ready_debruijn_index[((x ^ (x >> 1)) * READY_DEBRUIJN) >> 58];
}

/* The index of the highest set bit of x != 0: one instruction where the
 * CPU counts zeros (ARCH_COUNTS_ZEROS: x86-64, RISC-V with Zbb), the
 * multiply elsewhere. */
static inline unsigned highest_set_bit(uint64_t x)
{
    return ARCH_COUNTS_ZEROS ? 63 - (unsigned)__builtin_clzll(x) : highest_set_bit_debruijn(x);
}

/* The summary has a bit for each of at most 4 words: without a
 * count-zeros instruction its highest is read from a table of 16. */
_Static_assert(CPU_PRIORITIES / 64 <= 4, "ready_summary_top[] covers 4 summary bits");
extern const uint8_t ready_summary_top[16];

static inline unsigned highest_summary_word(uint64_t summary)
{
    return ARCH_COUNTS_ZEROS ? highest_set_bit(summary) : ready_summary_top[summary];
}

/* The highest priority with a ready thread on `c`, or -1, from the bitmap:
 * the summary's highest word, then that word's highest bit. */
static inline int highest_ready(const struct cpu *c)
{
    if (!c->ready_summary)
        return -1;
    unsigned w = highest_summary_word(c->ready_summary);
    return (int)(w * 64 + highest_set_bit(c->ready_words[w]));
}

/* c's queue of priority p has just become empty: its bit goes, and
 * ready_top follows if it was the top. */
static inline __attribute__((always_inline)) void ready_level_emptied(struct cpu *c, unsigned p)
{
    c->ready_words[p / 64] &= ~(1ull << (p % 64));
    if (!c->ready_words[p / 64])
        c->ready_summary &= ~(1ull << (p / 64));
    if ((int)p == c->ready_top)
        c->ready_top = highest_ready(c);
}

/* Inlined: choose() takes the next thread off its queue on every switch. */
static inline __attribute__((always_inline)) void ready_dequeue(struct thread *t)
{
    unsigned p = t->priority;
    struct cpu *c = t->ready_on;
    t->ready_queued = false;
    if (t->ready_prev)
        t->ready_prev->ready_next = t->ready_next;
    else
        c->ready_head[p] = t->ready_next;
    if (t->ready_next)
        t->ready_next->ready_prev = t->ready_prev;
    else
        c->ready_tail[p] = t->ready_prev;
    t->ready_next = t->ready_prev = NULL;
    if (!c->ready_head[p])
        ready_level_emptied(c, p);
}

/* Takes `t` off the ready queue (if it is on it) and sets `state`. */
static inline __attribute__((always_inline)) void sched_set_blocked(struct thread *t,
                                                                    enum thread_state state)
{
    if (on_ready_queue(t))
        ready_dequeue(t);
    t->state = state;
}

/* ready_dequeue() of `t`, the head of c's queue of priority p (the thread
 * a switch picks): no predecessor to unlink. */
static inline __attribute__((always_inline)) void ready_dequeue_head(struct cpu *c, struct thread *t,
                                                                     unsigned p)
{
    struct thread *next = t->ready_next;
    t->ready_queued = false;
    c->ready_head[p] = next;
    if (next) {
        next->ready_prev = NULL;
        t->ready_next = NULL;
    } else {
        c->ready_tail[p] = NULL;
        ready_level_emptied(c, p);
    }
}
