/*
 * Threads (the body of TCB objects) and the scheduler.
 *
 * A TCB object is 2^OBJ_TCB_BITS bytes of retyped memory holding one
 * struct thread; the root task's TCB is made the same way at boot. The
 * scheduler is preemptive, fixed-priority round robin: 256 priorities, a
 * timeslice of THREAD_TIMESLICE_TICKS, and a bitmap of non-empty ready
 * queues so the highest runnable priority is found in a constant number of
 * steps on both arches.
 *
 * Invariants:
 *  - `current_thread` is the thread whose registers the next trap from user
 *    mode saves into; it is never on a ready queue;
 *  - a thread is on the ready queue of its priority iff it is RUNNABLE,
 *    schedulable (sched_is_schedulable(): it has a SchedContext with
 *    budget) and not current;
 *  - a thread in a BLOCKED_* state is on exactly one wait queue (of the
 *    endpoint or notification in `blocked_on`), except BLOCKED_REPLY, which
 *    waits on the thread in `reply_from` or, once that thread saved the
 *    Call, on the Reply object in `reply_object` (one of the two);
 *  - t->caller != NULL  <=>  t received a Call it has not answered (nor
 *    saved), and then t->caller->state == BLOCKED_REPLY and
 *    t->caller->reply_from == t.
 */
#pragma once

#include <bulkhead/abi.h>

#include "arch.h"
#include "cdt.h"
#include "object.h"
#include "sched_context.h"
#include "smp.h"
#include "types.h"
#include "untyped.h"
#include "vspace.h"

#define THREAD_PRIORITIES 256
#define THREAD_TIMESLICE_TICKS 5
/* A TCB holds three caps (CSpace root, fault endpoint, timeout endpoint)
 * in a table of four: zombies (cnode.c) empty tables of 2^radix slots. */
#define TCB_SLOTS_RADIX 2

/* The numbers are ABI (TCB: ReadRegisters reports them): they come from
 * kernel/abi.toml's [[thread_states]] through the generated header. */
enum thread_state {
    THREAD_INACTIVE = BK_THREAD_STATE_INACTIVE, /* made by retype, or suspended: never scheduled */
    THREAD_RUNNABLE = BK_THREAD_STATE_RUNNABLE,
    THREAD_BLOCKED_SEND = BK_THREAD_STATE_BLOCKED_SEND, /* queued on an endpoint to send or call */
    THREAD_BLOCKED_RECV = BK_THREAD_STATE_BLOCKED_RECV, /* queued on an endpoint to receive */
    THREAD_BLOCKED_REPLY = BK_THREAD_STATE_BLOCKED_REPLY, /* made a Call; waits for the answer */
    /* waits on a notification */
    THREAD_BLOCKED_NOTIFICATION = BK_THREAD_STATE_BLOCKED_NOTIFICATION,
    THREAD_EXITED = BK_THREAD_STATE_EXITED, /* called thread_exit */
    THREAD_FAULTED = BK_THREAD_STATE_FAULTED, /* stopped by an unhandled fault */
};

struct notification;
struct reply;

struct thread {
    struct kobj_header header;      /* first: the TCB object's reference count */
    arch_regs_t regs;               /* saved user registers */
    arch_vspace_t *vspace;          /* address space it runs in; NULL until configured */
    /* The other threads of its VSpace object (vspace_object.c), so that
     * destroying the space can stop them. */
    struct thread *vspace_next, *vspace_prev;
    /* The thread's own cap slots, one table so that a zombie (cnode.c)
     * names them as it names a CNode's: its CSpace root (a copy of a CNode
     * cap, a child in the CDT), where its faults are sent and where its
     * timeout faults are sent if not there (copies of endpoint caps, or
     * empty); the fourth is always empty. Their spare words are 0 while it
     * lives. */
    union {
        struct cte slots[1u << TCB_SLOTS_RADIX];
        struct {
            struct cte cspace_root;
            struct cte fault_endpoint;
            struct cte timeout_endpoint;
        };
    };
    /* Its IPC buffer's user address (0: none), and the kernel pointer to it
     * that thread_ipc_buffer() found in translation epoch
     * ipc_buffer_epoch (vspace.h); the pointer is used only while that
     * epoch is current, so once the frame is unmapped or its memory
     * reused, the thread simply has no buffer. Whoever changes
     * ipc_buffer_vaddr or the thread's space sets ipc_buffer_epoch to 0. */
    vaddr_t ipc_buffer_vaddr;
    struct bk_ipc_buffer *ipc_buffer;
    uint64_t ipc_buffer_epoch;
    enum thread_state state;
    uint8_t priority;               /* 0..255: every value is a priority */
    uint8_t mcp;                    /* highest priority it may give any thread */
    /* Ticks of its timeslice used, 0 to THREAD_TIMESLICE_TICKS - 1: 0 is
     * a fresh slice, so a new TCB (zeroed memory) has one, and a thread
     * switched to never needs its slice looked at. */
    uint8_t slice_used;
    /* The SchedContext it runs on (sched_context.h), or NULL: then it
     * does not run at all; and the one bound to it (Bind), which it lends
     * when it calls a passive server. */
    struct sched_context *sc;
    struct sched_context *own_sc;
    bool is_root;
    bool timeout_faults;            /* running out of budget is a fault (SetTimeoutFaults) */
    /* Its last invocation waited for the timer's deadline before doing
     * anything (invoke.c): the next one does at least a step. */
    bool deferred_for_deadline;
    /* Ready queue links, whether they are in use, and the CPU whose queue
     * they are of (sched.c). */
    struct thread *ready_next, *ready_prev;
    struct cpu *ready_on;
    bool ready_queued;
    /* With several CPUs online: the CPU it last went to user mode on,
     * written on the way out under the kernel lock (smp_exit_to_user_held(),
     * and the IPC fast path's switch_to()). A thread becomes a CPU's
     * current one only on its way out there, so the only CPU whose current
     * thread it can be is this one, even while that CPU idles with it as
     * its current (sched.c, current_elsewhere()); 0 in a new thread, which
     * is no CPU's current. Not kept with one CPU, which never reads it. */
    uint8_t last_cpu;
    /* Wait queue of the endpoint or notification in blocked_on. */
    void *blocked_on;
    struct thread *wait_next, *wait_prev;
    /* BLOCKED_SEND, first or last of a run of equal-priority senders:
     * the other end of the run (itself when alone); NULL otherwise
     * (endpoint.c explains the runs). */
    struct thread *run_end;
    uint64_t send_badge;            /* BLOCKED_SEND: badge of the cap it sent with */
    uint64_t send_stamp;            /* BLOCKED_SEND: when it was queued (endpoint.c, Cancelling) */
    bool send_is_call;              /* BLOCKED_SEND: it made a Call */
    bool send_can_grant;            /* BLOCKED_SEND: its cap had the grant right */
    /* A caller: the first word of the cap its Call went through, whose
     * rights say whether the answer may carry caps (BK_RIGHT_GRANT_REPLY).
     * Set by every Call, the fast path's included, which saves the word
     * as it is rather than pay for taking the right out of it. */
    uint64_t call_cap_word;
    /* One-shot reply: the thread that called us and waits for our answer,
     * and, for a caller, whom it waits for. */
    struct thread *caller;
    struct thread *reply_from;
    /* A caller whose Call was saved (reply.c): the Reply object holding it. */
    struct reply *reply_object;
    /* Faults: the message while one is in flight (in_fault: the thread is
     * stopped until its handler replies); where they go is fault_endpoint,
     * and timeout faults timeout_endpoint when it holds one. */
    bool in_fault;
    uint64_t fault_label;
    uint64_t fault_words[BK_FAULT_WORDS];
    /* How far the destination check of its Retype got, for the same call
     * made again after a restart (untyped.h). */
    struct retype_check retype_check;
    /* The notification bound to this thread: its signals also end a Recv
     * on an endpoint. */
    struct notification *bound_notification;
    long exit_status;
    char name[16];
};

_Static_assert(sizeof(struct thread) <= (1u << OBJ_TCB_BITS), "a thread fits its TCB object");
_Static_assert(offsetof(struct thread, fault_endpoint) == offsetof(struct thread, slots[1]) &&
                   offsetof(struct thread, timeout_endpoint) ==
                       offsetof(struct thread, slots[2]),
               "the named slots are the table's");

/* The thread the running CPU runs (kernel/smp.h's struct cpu): one load
 * after the per-CPU pointer. A name, not a function, so that the code of
 * one CPU reads as it did. */
#define current_thread (cpu_here()->current)

/* The CPU a thread runs on: its SchedContext's (the SchedControl that
 * configured it names it), the lent one's for a passive server; a thread
 * with none does not run, and counts as CPU 0's. */
static inline unsigned thread_cpu(const struct thread *t)
{
    return t->sc ? t->sc->cpu : 0;
}

/* The thread whose slots[] table is `slots` (a zombie names a dead TCB's
 * slots: cnode.c). */
static inline struct thread *container_of_slots(struct cte *slots)
{
    return (struct thread *)((char *)slots - offsetof(struct thread, slots));
}

/* The thread a TCB cap names. */
static inline struct thread *tcb_thread(const cap_t *cap)
{
    return (struct thread *)cap_object(cap);
}

/* ---- Scheduler (sched.c) ------------------------------------------------ */

/* Makes `t` RUNNABLE and queues it (at the tail of its priority). */
void sched_make_runnable(struct thread *t);
/* For a thread woken by a syscall whose caller blocks next (a Call's
 * receiver, a ReplyRecv's caller), which may well run next,
 * sched_make_runnable_next() (ready.h, "The woken thread") leaves it
 * unqueued where it can. How thread_resume_current() then dealt with the
 * woken threads is counted in debug kernels (host tests check that the
 * way exists and keeps the order): run at once, or queued first. */
struct sched_woken_counts {
    uint64_t direct;
    uint64_t queued;
};
extern struct sched_woken_counts sched_woken_counts;

/* sched_set_blocked(t, state), which takes `t` off its ready queue (if it
 * is on one) and sets `state`, is inline in ready.h: every blocking IPC
 * calls it. */

/* Changes t's priority, requeueing it if it is ready or queued to send
 * (at the end of the senders of its new priority). */
void sched_set_priority(struct thread *t, uint8_t priority);

/* Whether `t` may run when it is RUNNABLE: it has a SchedContext that has
 * been given time and is not waiting for a refill. */
static inline bool sched_is_schedulable(const struct thread *t)
{
    return t->sc && sched_context_configured(t->sc) && !t->sc->waiting;
}

/* Puts `t` on its ready queue or takes it off, as its state and
 * schedulability now say (after its SchedContext changed). */
void sched_reconsider(struct thread *t);

/* A timer interrupt came (timer.c) and read arch_counter() `now`: charges
 * the running SchedContext up to there, gives the ones whose refill is
 * due their time back, and asks for the next budget end unless it woke a
 * thread (then the caller asks, with sched_arm_budget_end(), once it is
 * known who runs). Returns whether a refill went to a thread.
 * `choice_next`: the entry goes on to thread_resume_after_timer() and
 * nothing else, so the interrupted SchedContext's refills may be charged
 * later (sched.c, "The deferred charge"). */
bool sched_time_passed(uint64_t now, bool choice_next);

/* Asks for the budget end of the SchedContext charged now. */
void sched_arm_budget_end(void);

/* The scheduler's clock: ns since boot. */
uint64_t sched_now(void);

/* Charges the time since the last charge to the SchedContext the current
 * thread runs on, and throttles it if its budget ran out. */
void sched_charge_current(void);

/* Takes `sc` off the release queue, if it waits there (Configure gives it
 * a fresh budget). */
void sched_release_remove(struct sched_context *sc);

/* The scheduler drops every reference to `sc` (it is being destroyed),
 * after charging it what it used. */
void sched_forget(struct sched_context *sc);
/* Charges what a timer interrupt left for later of `sc`'s use (sched.c,
 * "The deferred charge"): before anything reads or changes its budget. */
void sched_settle(const struct sched_context *sc);

/* The SchedContext the CPU's time is charged to now (NULL while idle),
 * since arch_counter() read charged_since; sched.c's, and the IPC fast
 * path's, which switches only between whole-CPU SchedContexts. */
#define charged_sc (cpu_here()->charging)
#define charged_since (cpu_here()->charged_from)

/* What the fast path does on a switch to a thread on `to`: charges the
 * time since the last switch to `from`, the SchedContext that had it
 * (charged_sc, passed by the caller, which has it in hand; a whole-CPU
 * one: only its consumed time counts). */
static inline __attribute__((always_inline)) void sched_fast_charge(struct sched_context *from,
                                                                    struct sched_context *to)
{
    struct cpu *c = cpu_here();
    uint64_t now = arch_counter();
    from->consumed += now - c->charged_from;
    c->charged_from = now;
    c->charging = to;
}

/* From now on the CPU's time goes to `sc` (NULL: to nobody, idle), after
 * charging the previous one. */
void charge_switch(struct sched_context *sc);

/* Puts the current thread at the tail of its ready queue (Yield). */
void sched_yield_current(void);

/* Each CPU's ready bitmap (struct cpu, kernel/smp.h; sched.c owns it):
 * bit p % 64 of ready_words[p / 64] is set iff the ready queue of
 * priority p is non-empty, bit w of ready_summary iff ready_words[w] != 0;
 * ready_top is the highest priority with a non-empty queue, -1 if all are
 * empty. */
_Static_assert(CPU_PRIORITIES == THREAD_PRIORITIES, "a ready queue per priority");

/* Whether some thread of priority `priority` or higher is on this CPU's
 * ready queue (the IPC fast path switches only to a thread no ready one
 * outranks): one load and a compare. */
static inline bool sched_ready_at_or_above(unsigned priority)
{
    return (int)priority <= cpu_here()->ready_top;
}

/* Whether `t` is the current thread of some CPU (running there, or the
 * one it left for its idle wait). */
bool sched_is_current_somewhere(const struct thread *t);

/* `t` is the current thread of another CPU: that CPU leaves it (IPI,
 * and a wait for its answer) before this returns (thread_stop()). */
void sched_stop_elsewhere(struct thread *t);

/* `t` is being destroyed: if it is this CPU's current thread, this CPU
 * forgets it when it next idles (sched.c). */
void sched_forget_destroyed(const struct thread *t);

/* The tick of a CPU other than the boot CPU, with the lock (smp.c). */
void sched_cpu_tick(void);

/* Picks the thread to run: the current one unless a higher-priority thread
 * is ready or its slice ran out; returns to user mode in it, or idles. */
NORETURN void thread_resume_current(void);
/* The same for a kernel entry that woke no thread by
 * sched_make_runnable_next() (ready.h, "The woken thread"): the Wait fast
 * path that blocks, whose way to the idle loop is irq_to_user's. */
NORETURN void thread_resume_nothing_woken(void);

/* smp_thread_entry_locked() (smp.h), inline for the syscall entry
 * (kernel_syscall_smp()), which every syscall with several CPUs online
 * takes: the lock; and if another CPU stopped the thread while we waited
 * for it (sched_stop_elsewhere()), another choice. */
static inline __attribute__((always_inline)) void thread_entry_locked(void)
{
    kernel_lock_acquire();
    struct thread *t = current_thread;
    if (!t || t->state != THREAD_RUNNABLE)
        thread_resume_current();
}

/* Ticks since the timer started. */
uint64_t kernel_ticks(void);

/* The scheduler's tick (sched.c), BK_TICK_HZ a second, taken by the timer
 * (timer.c) at a timer interrupt. */
void kernel_tick(void);

/* thread_resume_current() at the end of a timer interrupt from user mode:
 * the timer is set (timer_commit()) after the choice of a thread, whose
 * budget end is one of the deadlines it may be set for; a thread it
 * switches to is charged from the interrupt's reading of the clock
 * (`woke`: the interrupt woke a thread, see sched_time_passed()). */
NORETURN void thread_resume_after_timer(bool woke);

/* Idles with interrupts on until `ticks` more ticks arrived, then shuts the
 * machine down with `status`: shows that the kernel still runs after the
 * last thread stopped. */
NORETURN void kernel_idle_then_shutdown(unsigned ticks, int status, const char *why);

/* ---- Thread life cycle (tcb.c) ------------------------------------------ */

/* Stops `t` wherever it is (ready, blocked in IPC, waiting for a reply,
 * holding a caller) and leaves it in `state` (INACTIVE, EXITED, FAULTED). */
void thread_stop(struct thread *t, enum thread_state state);

/* The kernel view of t's IPC buffer, or NULL when it has none or its page
 * is no longer mapped read-write in t's address space: the one found in
 * this translation epoch (vspace.h), inline (a call was 17 instructions on
 * RISC-V, paid twice by every message with caps), or a walk (tcb.c). */
struct bk_ipc_buffer *thread_ipc_buffer_walk(struct thread *t);

static inline struct bk_ipc_buffer *thread_ipc_buffer(struct thread *t)
{
    if (t->ipc_buffer_epoch == vspace_epoch)
        return t->ipc_buffer;
    return thread_ipc_buffer_walk(t);
}

/* Destroy hook of TCB objects (object.c). */
void tcb_destroy(const cap_t *final_cap);
