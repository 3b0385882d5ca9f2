/*
 * The CPUs of the machine and the kernel lock (docs/smp.md).
 *
 * Every CPU the firmware reports is started at boot (smp_start) and gets a
 * struct cpu, numbered 0 .. n-1 in the order of boot_params.cpu_ids (0 is
 * the boot CPU); arch_cpu_index() finds the running CPU's number with one
 * load from the arch's per-CPU structure (x86-64: GS base; RISC-V: tp),
 * which also holds the CPU's kernel stack, trap state and the timer
 * deadline it has armed.
 *
 * Once the others are online (arch_cpu_smp_mode()) every CPU runs user
 * threads: each has its own scheduler state (struct cpu: the current
 * thread, ready queues, timer deadlines), and a thread runs on the CPU of
 * its SchedContext (docs/smp.md).
 *
 * The kernel lock (a test-and-test-and-set lock with bounded backoff,
 * kernel/lib/backoff_lock.h) covers all kernel state that is not per CPU.
 * While the boot CPU is the only one online it holds the lock from boot
 * on, across user mode too, so one CPU's entries never pay for it. With
 * others online every entry from user mode takes it and every exit lets
 * go of it, except the Call, ReplyRecv, Yield, Signal and Wait fast paths
 * between threads of one CPU, which run without it under a per-CPU flag
 * that every taker of the lock waits for ("The IPC fast path without the
 * lock" below).
 *
 * Invariants:
 *  - cpus[i].state moves ABSENT -> STARTING -> ONLINE, or STARTING ->
 *    LEFT_OUT, by compare-and-swap: a CPU that answers after the boot CPU
 *    gave up on it finds LEFT_OUT and parks itself (arch_cpu_park);
 *  - kernel_lock_owner is the index of the CPU that holds the lock, or
 *    KERNEL_LOCK_FREE; only the holder writes it.
 */
#pragma once

#include "arch.h"
#include "debug/lockorder.h"
#include "lib/backoff_lock.h"
#include "types.h"
#include "vspace_object.h"

struct boot_params;
struct lock_class;
struct sched_context;
struct thread;

#define KERNEL_MAX_CPUS 8
/* kernel/thread.h's THREAD_PRIORITIES: each CPU has a ready queue per
 * priority. */
#define CPU_PRIORITIES 256

enum cpu_state {
    CPU_ABSENT = 0,
    CPU_STARTING, /* the start request went out; not answered yet */
    CPU_ONLINE,   /* runs kernel_ap_main() (or is the boot CPU) */
    CPU_LEFT_OUT, /* did not answer in time, or the firmware refused */
};

struct cpu {
    /* The scheduler's state of this CPU (sched.c; thread.h has the
     * invariants). Written under the kernel lock only, by any CPU for the
     * ready queues (a thread made runnable on another CPU), by this CPU
     * alone for the rest. The fields every kernel entry touches come
     * first: RISC-V reaches an offset below 2 KiB with the load itself,
     * one beyond it costs three more instructions per access (lui, addiw,
     * add), so the ready-queue arrays (4 KiB) come last. */
    struct thread *current; /* the thread it runs (or last ran, while idle) */
    int ready_top;          /* highest non-empty queue, or -1 */
    bool slice_expired;     /* choose() must look at the current thread again */
    unsigned index;         /* its place in cpus[] */
    /* 1 while this CPU runs the IPC fast path without the kernel lock
     * (smp_unlocked_try()); written by this CPU, read by a CPU that
     * takes the lock (kernel_lock_wait_unlocked()). */
    uint32_t unlocked;
    /* The SchedContext this CPU's time is charged to (NULL while idle),
     * since arch_counter() read charged_from (thread.h names them
     * charged_sc and charged_since). */
    struct sched_context *charging;
    uint64_t charged_from;
    /* A partial SchedContext's charge left for later (sched.c, "The
     * deferred charge"): `used` counts from `from` still to go into its
     * refills; NULL when there is none. */
    struct sched_context *deferred;
    uint64_t deferred_from, deferred_used;
    uint64_t ready_summary;                    /* bit w: ready_words[w] != 0 */
    uint64_t ready_words[CPU_PRIORITIES / 64]; /* bit p: queue p is non-empty */
    /* Requests to this CPU (smp_sync_cpus()): leave the current thread
     * if another CPU set it aside, flush the TLB; and the last one it
     * answered, from the kernel (kernel_ipi(), or waiting for the lock). */
    uint64_t sync_req, sync_ack;
    /* The space its last way out to user mode entered (smp_exit_to_user_held(),
     * under the lock): the one its TLB may refill from after a flush. */
    const arch_vspace_t *space;
    /* Its current thread was destroyed in this kernel entry (it deleted
     * its own TCB): sched_forget_destroyed(); forgotten at the idle wait. */
    const struct thread *current_gone;
    /* A thread this kernel entry woke and did not queue (ready.h, "The
     * woken thread"): thread_resume_current() runs it or queues it. One
     * CPU online only. */
    struct thread *woken;

    uint64_t arch_id;  /* APIC ID / hart id */
    uint32_t state;    /* enum cpu_state, read and written with __atomic */
    /* Its own tick, on the other CPUs (the boot CPU's is timer.c's). */
    uint64_t next_tick_ns;
    uint64_t ticks;    /* timer interrupts taken in kernel_ap_main() */
    /* Another CPU than the boot CPU: the earliest deadline its scheduler
     * asked for (a budget end, a refill), UINT64_MAX for none; its timer
     * holds the earlier of this and next_tick_ns. Written by this CPU
     * only, with interrupts off (smp.c). */
    uint64_t timer_requested;
    uint64_t ipis;     /* kernel_ipi() calls */

    struct thread *ready_head[CPU_PRIORITIES], *ready_tail[CPU_PRIORITIES];
};

extern struct cpu cpus[KERNEL_MAX_CPUS];
extern unsigned cpu_count; /* entries of cpus[] in use, left-out CPUs included */
/* Some CPU besides the boot CPU came online (set once, before the first
 * user thread). Until then nobody else can want the kernel lock, so the
 * boot CPU keeps it through its idle waits too, and a machine of one CPU
 * pays one load and branch per idle wait and interrupt for all of this. */
extern bool smp_others_online;

/* How many CPUs wait for the kernel lock now: in its contended wait
 * (kernel_lock_acquire_contended()) or a fast path's wait for a gap
 * (smp_unlocked_wait()). A holder in a long operation ends its batch after
 * the step in progress while any does (preemption_due(), preempt.h), so
 * that a CPU that wants the lock waits for a step, not for a batch: the
 * operation restarts, and its CPU lets go of the lock on the way out. */
extern uint32_t kernel_lock_waiting;

static inline bool kernel_lock_wanted(void)
{
    return smp_others_online && __atomic_load_n(&kernel_lock_waiting, __ATOMIC_RELAXED) != 0;
}

/* Starts every CPU of `bp` but the boot CPU, checks that each takes a
 * timer tick and an IPI, and logs "N CPUs online" with their ids. Boot
 * CPU, kernel lock held. */
void smp_start(const struct boot_params *bp);

/* How many CPUs are online (the boot CPU included). */
unsigned smp_cpus_online(void);

/* The running CPU's struct: one load (arch_kernel_cpu(), arch_types.h). */
static inline struct cpu *cpu_here(void)
{
    return arch_kernel_cpu();
}

static inline bool smp_on_boot_cpu(void)
{
    return arch_cpu_index() == 0;
}

/* ---- The kernel lock ---------------------------------------------------- */

/* Its class for the lock-order check (debug/lockorder.h). */
extern const struct lock_class kernel_lock_class;
/* For the invariant walk, under the kernel lock: whether `t` heads one of
 * any CPU's ready queues. */
bool smp_heads_a_ready_queue(const struct thread *t);

/* The lock itself and the index of the CPU that holds it (KERNEL_LOCK_FREE
 * when none does): smp.c's, here for the inline forms below. */
#define KERNEL_LOCK_FREE (~0u)
extern struct backoff_lock kernel_lock;
extern unsigned kernel_lock_owner;

/* kernel_lock_acquire() when the first try lost: waits (smp.c). */
void kernel_lock_acquire_contended(void);

/* ---- The IPC fast path without the lock ------------------------------------
 * (docs/smp.md, "The fast path without the lock".) A Call or ReplyRecv
 * between two threads of one CPU (and a Yield, Signal or Wait whose
 * threads are that CPU's) runs without the kernel lock: its CPU
 * raises its `unlocked` word and goes on only while no CPU holds the
 * lock; whoever takes the lock then waits until every CPU's word is down.
 * So a holder of the lock never runs beside such a fast path (the lock
 * still covers everything the general path touches), and fast paths on
 * different CPUs run side by side, each on objects only its own CPU's
 * fast paths may write (an endpoint's or notification's fast_cpu,
 * kernel/fastpath.c).
 *
 * Memory order (Dekker's: each side stores its flag, then a full fence,
 * then reads the other's): the fast path stores `unlocked`, fences, then
 * loads the lock word with acquire; the taker's exchange sets the lock
 * word, it fences, then loads every `unlocked` with acquire. With both
 * fences sequentially consistent at least one side sees the other's
 * store (C17 7.17.4): the fast path sees the lock taken and gives up, or
 * the taker sees the flag and waits for it. The acquire load of a free
 * lock word pairs with the last holder's release, so the fast path sees
 * all it wrote; the release store that lowers the flag pairs with the
 * taker's acquire load, so the taker sees all the fast path wrote. */

/* The lock's taker, once it has it: waits until no other CPU runs the
 * fast path without it (each one runs a few hundred instructions and
 * never waits for anything, so this ends). */
void kernel_lock_wait_unlocked(void);

/* The lock was held at smp_unlocked_try(), this CPU's flag down again:
 * waits a while for it to look free (true), and gives up (false) at once
 * if another CPU asked this one to answer (its holder may be waiting for
 * that answer, which only the lock's own wait gives, once the entry has
 * saved everything), or after SMP_UNLOCKED_WAIT_SPINS turns (smp.c). */
bool smp_unlocked_wait(struct cpu *c);

/* One try: raises this CPU's flag; true if the lock is free, so the fast
 * path may run without it until smp_unlocked_end(); false (flag down
 * again) if some CPU holds it. */
static inline __attribute__((always_inline)) bool smp_unlocked_try(struct cpu *c)
{
    __atomic_store_n(&c->unlocked, 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&kernel_lock.held, __ATOMIC_ACQUIRE) == 0)
        return true;
    __atomic_store_n(&c->unlocked, 0, __ATOMIC_RELAXED);
    return false;
}

static inline __attribute__((always_inline)) void smp_unlocked_end(struct cpu *c)
{
    __atomic_store_n(&c->unlocked, 0, __ATOMIC_RELEASE);
}

/* The fast path without the lock found that its way out needs what CPUs
 * share (the arch's *_fastpath_exit_general(); a new ASID in RISC-V's
 * user_enter_changed(), a fault in x86-64's bad_rip()): it lowers its
 * flag, takes the lock and lets the scheduler resume
 * the CPU's current thread (the one it switched to), as the general path
 * would. The fast path's effects are all in place by then, as at the end
 * of a general-path syscall. */
NORETURN void smp_unlocked_to_lock(void);

/* Whether this CPU runs the fast path without the lock now. */
static inline bool smp_unlocked_here(void)
{
    return cpu_here()->unlocked != 0;
}

/* Inline, because every kernel entry with several CPUs online takes it
 * and the IPC fast path's pays for it twice a round trip: free, it is one
 * load, one exchange and the owner's store. A try that succeeds cannot
 * deadlock, so the lock-order check is told after it; a wait is told
 * before it (kernel_lock_acquire_contended()). */
static inline __attribute__((always_inline)) void kernel_lock_acquire(void)
{
    if (__builtin_expect(!backoff_lock_try(&kernel_lock), 0)) {
        kernel_lock_acquire_contended();
        return;
    }
    lockorder_acquire(&kernel_lock_class);
    __atomic_store_n(&kernel_lock_owner, cpu_here()->index, __ATOMIC_RELAXED);
    kernel_lock_wait_unlocked();
}

static inline __attribute__((always_inline)) void kernel_lock_release(void)
{
    lockorder_release(&kernel_lock_class);
    __atomic_store_n(&kernel_lock_owner, KERNEL_LOCK_FREE, __ATOMIC_RELAXED);
    backoff_lock_release(&kernel_lock);
}

/* Takes it if it is free now; false otherwise (never waits for the lock,
 * only, once it has it, for the fast paths under way without it). */
bool kernel_lock_try(void);

/* Whether this CPU holds it. Another CPU may write the owner at any time,
 * but never our own index: only this CPU stores that, so the answer is
 * exact for us. */
static inline bool kernel_lock_held_here(void)
{
    return __atomic_load_n(&kernel_lock_owner, __ATOMIC_RELAXED) == cpu_here()->index;
}

/* For an interrupt handler that may run with or without the lock (inside
 * the idle wait, or from arch_take_pending_interrupts()): takes it unless
 * this CPU holds it, and says whether it did, for kernel_lock_handler_done(). */
static inline bool kernel_lock_handler_begin(void)
{
    if (!smp_others_online || kernel_lock_held_here())
        return false;
    kernel_lock_acquire();
    return true;
}

static inline void kernel_lock_handler_done(bool took)
{
    if (took)
        kernel_lock_release();
}

/* The timer interrupt on a CPU other than the boot CPU (kernel/timer.c
 * sends it here): counts the tick if one is due; serves what its
 * scheduler asked for (timer_request() from this CPU: budget ends and
 * refills, under the lock) and, from user mode, charges the running
 * SchedContext and counts the timeslice; arms the next deadline; from user
 * mode goes back there. */
void smp_cpu_tick(void);
NORETURN void smp_cpu_tick_from_user(void);

/* timer_request() on a CPU other than the boot CPU, under the lock: that
 * CPU's own timer serves it. */
void smp_timer_request(uint64_t deadline_ns);

/* The kernel's IPI arrived in user mode: answers a stop request, then
 * lets the scheduler choose again (a thread was made runnable here, or
 * the current one moved or was stopped). */
NORETURN void kernel_ipi_from_user(void);

/* Makes every CPU in `mask` (bit i: CPU i; never this one) answer: each
 * flushes its TLB and will not run the thread it ran in user mode before
 * it has the lock. Kernel lock held; returns once all have answered. */
void smp_sync_cpus(uint64_t mask);

/* After every translation may have changed (RISC-V's ASID rollover):
 * every other online CPU flushes its TLB before this returns. Alone: no
 * cost beyond the test. */
void smp_tlb_shootdown_locked(void);
static inline void smp_tlb_shootdown(void)
{
    if (smp_others_online)
        smp_tlb_shootdown_locked();
}

/* After a translation of `space` was removed (unmap, remap to fewer
 * rights, page table or VSpace deleted): the other CPUs in *ran_on (those
 * that entered the space since they were last known flushed) flush their
 * TLB before this returns; a CPU flushed that has another space loaded
 * leaves the mask. Kernel lock held. */
void smp_tlb_shootdown_space_locked(uint64_t *ran_on, const arch_vspace_t *space);
static inline void smp_tlb_shootdown_space(uint64_t *ran_on, const arch_vspace_t *space)
{
    if (smp_others_online)
        smp_tlb_shootdown_space_locked(ran_on, space);
}

/* For Debug: ShootdownCounts: shootdowns made, and the CPUs asked to
 * flush by them (each one an IPI), since boot. Under the kernel lock. */
extern uint64_t smp_shootdowns, smp_shootdown_ipis;

/* ---- Kernel entry and exit -----------------------------------------------
 * With more than one CPU online the kernel lock is taken on every entry
 * from user mode and released on the way back (seL4's big lock). Alone,
 * the boot CPU keeps it from boot on, and pays for it as little as can be
 * (docs/smp.md, "One CPU's cost"): syscalls and exits go through
 * per-CPU pointers the arch switches to the locking forms
 * (arch_cpu_smp_mode()), interrupts and faults test smp_others_online
 * once and do all the rest out of line. */

/* An entry of the current thread (syscall, fault): sched.c. */
void smp_thread_entry_locked(void);
static inline void smp_thread_entry(void)
{
    if (smp_others_online)
        smp_thread_entry_locked();
}

/* The arch's exits to user mode call this last, once the address space
 * is switched, before restoring the thread's registers; only once several
 * CPUs run user threads (arch_cpu_smp_mode() puts it in front of them:
 * x86_exits_smp(), riscv_return_to_user_smp()), so one CPU never tests.
 * The _held form is for a caller that knows it holds the lock (the fast
 * path's) or runs the fast path without it: this CPU is about to run its
 * current thread's space, so it joins that space's ran_on (its TLB may
 * fill with its translations from here on), then lets go of the lock (or
 * lowers its flag: smp_release_here()). */
void smp_exit_to_user_held(void);

/* What an exit lets go of last: the kernel lock, or the flag of the fast
 * path without it. */
static inline __attribute__((always_inline)) void smp_release_here(struct cpu *c)
{
    if (c->unlocked)
        smp_unlocked_end(c);
    else
        kernel_lock_release();
}

/* The step of smp_exit_to_user_held() before it lets go, for a caller
 * that knows the space it enters, the current thread's `space`: inline,
 * for the IPC fast path's ways out with several CPUs
 * (arch_fastpath_switch_smp(), arch_fastpath_switch_unlocked()), which
 * would otherwise pay a call and a frame for it twice a round trip. */
static inline __attribute__((always_inline)) void smp_join_space(struct cpu *c,
                                                                 const arch_vspace_t *space)
{
    uint64_t *ran_on = vspace_ran_on(space);
    uint64_t bit = 1ull << c->index;
    c->space = space;
    /* Atomic: fast paths without the lock on two CPUs may enter one
     * space at once (a lock holder's plain writes run beside none). */
    if (!(__atomic_load_n(ran_on, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_or(ran_on, bit, __ATOMIC_RELAXED);
}

/* smp_exit_to_user_held() with the space known: the lock, or the flag,
 * let go last. */
static inline __attribute__((always_inline)) void smp_exit_to_user_in(const arch_vspace_t *space)
{
    struct cpu *c = cpu_here();
    smp_join_space(c, space);
    smp_release_here(c);
}

/* The same from a fast path known to run without the lock: only the flag
 * to lower, no test of which. */
static inline __attribute__((always_inline)) void smp_exit_to_user_unlocked_in(
    const arch_vspace_t *space)
{
    struct cpu *c = cpu_here();
    smp_join_space(c, space);
    smp_unlocked_end(c);
}

static inline void smp_exit_to_user(void)
{
    if (smp_others_online && (kernel_lock_held_here() || smp_unlocked_here()))
        smp_exit_to_user_held();
}
