/*
 * The scheduler: per-priority ready queues with a two-level bitmap, round
 * robin within a priority, a timeslice per thread (see thread.h for the
 * invariants).
 *
 * Finding the highest ready priority: bit p of sched_ready_words[p / 64]
 * is set iff queue p is non-empty, and bit w of sched_ready_summary iff
 * sched_ready_words[w] is non-zero. Two count-leading-zeros give the
 * answer; clang lowers __builtin_clzll to one instruction on x86-64
 * (lzcnt/bsr) and to a short fixed sequence on RV64 without Zbb, so the
 * cost is constant on both. The answer is kept in sched_ready_top, exact
 * at all times: an enqueue can only raise it, and it is recomputed only
 * when the queue at the top empties. The IPC fast path and choose() read
 * it with one load.
 */
#include "ipc.h"
#include "kernel.h"
#include "log.h"
#include "thread.h"

struct thread *current_thread;
static struct thread *ready_head[THREAD_PRIORITIES], *ready_tail[THREAD_PRIORITIES];
/* Read by sched_ready_at_or_above() (thread.h); written only here. */
uint64_t sched_ready_words[THREAD_PRIORITIES / 64];
uint64_t sched_ready_summary;
int sched_ready_top = -1;
static volatile uint64_t ticks; /* at BK_TICK_HZ (100): 5.8 billion years to a wrap */
static bool slice_expired;

static bool on_ready_queue(const struct thread *t)
{
    return t->ready_prev || ready_head[t->priority] == t;
}

static void ready_enqueue(struct thread *t)
{
    unsigned p = t->priority;
    t->ready_next = NULL;
    t->ready_prev = ready_tail[p];
    if (ready_tail[p])
        ready_tail[p]->ready_next = t;
    else
        ready_head[p] = t;
    ready_tail[p] = t;
    sched_ready_words[p / 64] |= 1ull << (p % 64);
    sched_ready_summary |= 1ull << (p / 64);
    if ((int)p > sched_ready_top)
        sched_ready_top = (int)p;
}

/* The highest priority with a ready thread, or -1, from the bitmap. */
static int highest_ready(void)
{
    if (!sched_ready_summary)
        return -1;
    unsigned w = 63 - (unsigned)__builtin_clzll(sched_ready_summary);
    return (int)(w * 64 + 63 - (unsigned)__builtin_clzll(sched_ready_words[w]));
}

static void ready_dequeue(struct thread *t)
{
    unsigned p = t->priority;
    if (t->ready_prev)
        t->ready_prev->ready_next = t->ready_next;
    else
        ready_head[p] = t->ready_next;
    if (t->ready_next)
        t->ready_next->ready_prev = t->ready_prev;
    else
        ready_tail[p] = t->ready_prev;
    t->ready_next = t->ready_prev = NULL;
    if (!ready_head[p]) {
        sched_ready_words[p / 64] &= ~(1ull << (p % 64));
        if (!sched_ready_words[p / 64])
            sched_ready_summary &= ~(1ull << (p / 64));
        if ((int)p == sched_ready_top)
            sched_ready_top = highest_ready();
    }
}

void sched_make_runnable(struct thread *t)
{
    t->state = THREAD_RUNNABLE;
    t->blocked_on = NULL;
    if (t != current_thread && !on_ready_queue(t))
        ready_enqueue(t);
}

void sched_set_blocked(struct thread *t, enum thread_state state)
{
    if (on_ready_queue(t))
        ready_dequeue(t);
    t->state = state;
}

void sched_set_priority(struct thread *t, uint8_t priority)
{
    if (t->state == THREAD_BLOCKED_SEND) {
        endpoint_requeue_sender(t, priority); /* send queues are in priority order */
        return;
    }
    bool queued = on_ready_queue(t);
    if (queued)
        ready_dequeue(t);
    t->priority = priority;
    if (queued)
        ready_enqueue(t);
}

void sched_yield_current(void)
{
    slice_expired = true;
}

uint64_t kernel_ticks(void)
{
    return ticks;
}

/* Also drains a few bytes of buffered kernel messages (log.c): the tick is
 * what guarantees they go out while user threads keep the CPU busy. */
static void tick(void)
{
    ticks++;
    log_drain();
    struct thread *t = current_thread;
    if (t && t->state == THREAD_RUNNABLE && t->timeslice && --t->timeslice == 0)
        slice_expired = true;
}

void kernel_tick(void)
{
    tick();
}

void kernel_tick_from_user(void)
{
    tick();
    thread_resume_current();
}

/* Chooses the next thread; the previous current one goes back on its
 * queue if it can still run. */
static inline __attribute__((always_inline)) struct thread *choose(void)
{
    struct thread *cur = current_thread;
    int best = sched_ready_top;
    bool cur_ok = cur && cur->state == THREAD_RUNNABLE;
    if (cur_ok && (best < (int)cur->priority || (best == (int)cur->priority && !slice_expired)))
        return cur;
    if (best < 0)
        return cur_ok ? cur : NULL;
    if (cur_ok) {
        if (!cur->timeslice || slice_expired)
            cur->timeslice = THREAD_TIMESLICE_TICKS;
        ready_enqueue(cur);
    }
    struct thread *next = ready_head[best];
    ready_dequeue(next);
    return next;
}

/* Runs `next`; it outranks every ready thread. choose() and run() are
 * inlined into both callers: they are the common path of every syscall. */
static inline __attribute__((always_inline)) NORETURN void run(struct thread *next)
{
    slice_expired = false;
    current_thread = next;
    if (!next->timeslice)
        next->timeslice = THREAD_TIMESLICE_TICKS;
    arch_user_enter(&next->regs, next->vspace);
}

/* Nothing can run: waits for interrupts until something can. Out of line
 * so that the common path above pays nothing for the loop. */
static __attribute__((noinline)) NORETURN void idle_until_runnable(void)
{
    for (;;) {
        slice_expired = false;
        log_drain();
        arch_idle_wait();
        struct thread *next = choose();
        if (next)
            run(next);
    }
}

void thread_resume_current(void)
{
    struct thread *next = choose();
    if (next)
        run(next);
    idle_until_runnable();
}

void kernel_idle_then_shutdown(unsigned wait_ticks, int status, const char *why)
{
    uint64_t start = ticks;
    while (ticks - start < wait_ticks)
        arch_idle_wait();
    kprintf("bulkhead: kernel still running: %llu timer ticks after the last thread stopped\n",
            (unsigned long long)(ticks - start));
    kernel_shutdown(status, why);
}

/* ---- Read-only view for the invariant checker (kernel/debug/invariants.c) ---- */
#include "debug/invariants.h"

void sched_get_view(struct sched_view *view)
{
    view->head = ready_head;
    view->tail = ready_tail;
    view->words = sched_ready_words;
    view->summary = sched_ready_summary;
    view->top = sched_ready_top;
}
