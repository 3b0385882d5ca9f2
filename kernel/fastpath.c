/*
 * The IPC fast path: Call and ReplyRecv in their common shape, switching
 * straight to the thread on the other side without the scheduler. And,
 * below it, the fast paths of Yield and of Signal and Wait on a
 * notification, tried by the same entry.
 *
 * The arch's syscall entry calls kernel_fastpath_call() or
 * kernel_fastpath_reply_recv() first, chosen in assembly on the syscall
 * number (the numbers come from <bulkhead/abi.h>), with the user
 * registers saved and nothing else done; other syscalls pay two compares.
 * The fast path applies when all of these hold
 * (checked in this order, with one side effect: a Call saves the first word
 * of its endpoint cap in call_cap_word as soon as it finds the cap, a field
 * only the answer to a Call reads and the general path writes for every
 * Call), and otherwise returns so the general path (syscall.c, endpoint.c)
 * handles the syscall:
 *  - the message fits the CPU registers (length <= BK_MSG_CPU_WORDS) and
 *    names no extra caps;
 *  - the cptr resolves in one level of the thread's root CNode with a zero
 *    guard (guard_size + radix = 64, the usual root CNode cap) to an
 *    endpoint cap with the right the operation needs (write for Call, read
 *    for ReplyRecv);
 *  - Call: a receiver waits on the endpoint, holds no unanswered Call, has
 *    at least the caller's priority, and no ready thread has its priority
 *    or more; the receiver has no SchedContext (a passive server: the
 *    Call lends it the caller's), or it and the caller both run on
 *    whole-CPU ones;
 *  - ReplyRecv: the thread has a caller to answer, that caller is not
 *    stopped by a fault, no sender waits on the endpoint, the thread's bound
 *    notification (if any) is not signalled, and no ready thread has the
 *    caller's priority or more; the caller has no SchedContext and the
 *    thread runs on a lent one (the answer gives it back, one step down a
 *    chain of passive servers), or both run on whole-CPU ones.
 * Under these conditions the general path would move the same registers,
 * leave the same queues and states and then pick the same thread to run
 * (the one switched to outranks every ready thread), so both paths give
 * identical results; tests/ktest/fastpath_tests.c checks this.
 *
 * Budget (guest instructions under QEMU -icount, 0 message words, between
 * two address spaces, kernel only, per direction Call / ReplyRecv, with
 * both threads on whole-CPU SchedContexts; a per-PC trace, session 28):
 * x86-64 165 / 170 = entry stub with dispatch 28 / 30 + this file 82 / 85
 * + arch_fastpath_switch (arch/x86_64/fastpath.c) 36 (the CPU and its
 * fastpath_key 4, the bases read back and saved 6, checks of `to` 7, its
 * FS base (its TLS) 4, the FPU check 3, CR3 7, the frame for the next
 * entry and the jump 5) + the sysretq stub 19; RISC-V 155 / 160 (a
 * trace of session 38) = entry with dispatch 34 / 36, which leaves the
 * message words unsaved + this file 69 / 72 + arch_fastpath_deliver
 * (trap.S) 52: the words past the length zeroed 7, the counter policy
 * and FPU owner in one check 3, satp 9 (3 when it holds the space
 * already), the CPU's frame and space 2, 27 register loads (not a2-a5,
 * which hold the words), sepc, sscratch and sret. To a passive server
 * and back (the SchedContext lent and given back, nothing charged) this
 * file costs 73 / 76 on x86-64. The Call's save of its cap's word (for an
 * answer that carries caps) costs 2 on x86-64 and 1 on RISC-V. This file
 * is built without frame pointers and leaves by a tail call, so it
 * touches no stack. Round trips, user code included: x86-64 343 in one
 * address space, 351 across two, 333 to a passive server; RISC-V 315,
 * 327 and 311.
 * Threads that use the FPU between calls pay for its switch
 * (ipc_call_reply_0w_2as_fpu in docs/performance.md).
 *
 * With several CPUs online the entry does not come here (the arch's
 * per-CPU syscall numbers name no syscall then): the arch's entry for
 * several CPUs first tries the fast paths without the kernel lock
 * (kernel_fastpath_unlocked(), at the end of this file; for a Call or
 * ReplyRecv on an arch that keeps the words in registers,
 * kernel_fastpath_unlocked_call() and its sibling), then
 * kernel_syscall_smp() takes the lock, as for every entry, and calls
 * kernel_fastpath_smp(). Both run the same checks and effects with one
 * more condition, that the thread switched to runs on this CPU and is no
 * other CPU's current thread (same_cpu_ok()), and their own ways out
 * (arch_fastpath_switch_smp(), which lets go of the lock last;
 * arch_fastpath_switch_unlocked(), which lowers the flag instead). Without
 * the lock, the endpoint must also be this CPU's (endpoint_here()); under
 * it, the fast path makes it so. Everything else
 * they read and write is then changed by no other CPU meanwhile (smp.h,
 * "The IPC fast path without the lock"; docs/smp.md), so the two paths
 * still give identical results. The code of one CPU is the same as
 * without it (smp is a constant false there).
 * tools/bench/run.py counts them; tools/bench/ceilings.json keeps them
 * from growing. These figures are of a release kernel: debug kernels
 * (BULKHEAD_KERNEL_DEBUG) add the IPC path counter's increment in
 * switch_to() (ipc.h), 4 instructions per direction on RISC-V, 1 on x86-64.
 */
#include <bulkhead/abi.h>

#include "arch.h"
#include "cnode.h"
#include "ipc.h"
#include "kernel.h"
#include "ready.h"
#include "smp.h"
#include "thread.h"

/* Only messages that travel in CPU registers and carry no caps, and whose
 * caps_unwrapped field (which only the kernel sets on delivery) is 0. The
 * extra_caps field lies just above length and caps_unwrapped above that,
 * so all three are one compare: the fields together are at most
 * BK_MSG_CPU_WORDS iff extra_caps and caps_unwrapped are 0 and length <=
 * BK_MSG_CPU_WORDS. With caps_unwrapped 0 the info is delivered as it
 * came, with no mask to clear it (the general path clears a sender's). */
_Static_assert(BK_MSGINFO_LENGTH_SHIFT == 0 && BK_MSGINFO_EXTRA_CAPS_SHIFT == 7 &&
                   BK_MSGINFO_LENGTH_MASK == 0x7f && BK_MSGINFO_CAPS_UNWRAPPED_SHIFT == 9 &&
                   BK_MSGINFO_LABEL_SHIFT == 12,
               "extra_caps and caps_unwrapped are the fields right above length");

static inline bool message_fits(uint64_t info)
{
    uint64_t fields = (1ull << BK_MSGINFO_LABEL_SHIFT) - 1;
    return (info & fields) <= BK_MSG_CPU_WORDS;
}

/* Finds the endpoint cap `cptr` names when t's root CNode is the usual
 * one-level 64-bit one (cspace_flat_slot(): then cspace_lookup_cap()
 * finds the same slot) and the cap has `right`; `word` gets the cap's
 * first word (its rights). False for any other shape or cap, which the
 * general path handles. */
static inline bool endpoint_direct(const struct thread *t, uint64_t cptr, cap_rights_t right,
                                   struct endpoint **ep, uint64_t *badge, uint64_t *word)
{
    struct cte *slot;
    if (!cspace_flat_slot(&t->cspace_root.cap, cptr, &slot))
        return false;
    const cap_t *cap = &slot->cap;
    if (cap_type(cap) != CAP_ENDPOINT || !(cap_rights(cap) & right))
        return false;
    *ep = (struct endpoint *)cap_object(cap);
    *badge = cap_badge(cap);
    *word = cap->w[0];
    return true;
}

/* A syscall's message as a fast path reads it: the cap address, the info
 * and, where they stay in the CPU (in_cpu), the words.
 *
 * in_cpu: whether the message words are `words` rather than in the
 * caller's frame: on an arch whose syscall entry hands them over in the C
 * argument registers (ARCH_FASTPATH_MESSAGE_IN_CPU, arch_types.h), from the
 * entry of one CPU and the Call and ReplyRecv entries without the lock of
 * several (kernel_fastpath_unlocked_call()). The fast path then passes
 * them on to the way out in the same registers, and the caller's frame
 * holds them only once the fast path declines or the thread blocks
 * (keep_words()). Otherwise (x86-64; the other entries of several CPUs,
 * which save every register) they are in the frame, and copied from
 * there. Every entry sets it to a constant and the fast paths are inlined
 * into it, so the other way is never compiled in. */
struct fast_message {
    uint64_t cptr, info;
    uint64_t words[BK_MSG_CPU_WORDS];
    bool in_cpu;
};

/* Whether m's words are in the CPU: a constant once inlined, and 0 at
 * compile time on an arch whose entries never leave them there, so that
 * its ways out for them need not exist (the host tests' sanitizers keep
 * the compiler from folding m->in_cpu alone). */
#define WORDS_IN_CPU(m) (ARCH_FASTPATH_MESSAGE_IN_CPU && (m)->in_cpu)

/* The message as the syscall entry saved it in the frame `args`. */
static inline __attribute__((always_inline)) struct fast_message message_in_frame(
    const uint64_t *args)
{
    return (struct fast_message){.cptr = args[0], .info = args[1]};
}

/* Moves a register message as endpoint.c's transfer() does: the words
 * beyond its length arrive as 0, and the info keeps length and label
 * (message_fits() let through only an info with no other field set).
 * Words still in the CPU are written by the way out, not here.
 * Always inlined, like switch_to(): a call costs more than the copy. */
static inline __attribute__((always_inline)) void copy_message(const uint64_t *from, uint64_t *to,
                                                               uint64_t badge,
                                                               const struct fast_message *m)
{
    if (!WORDS_IN_CPU(m)) {
        uint64_t length = BK_MSGINFO_LENGTH(m->info);
        for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
            to[2 + i] = i < length ? from[2 + i] : 0;
    }
    to[0] = badge;
    to[1] = m->info;
}

struct ipc_path_counts ipc_path_counts;
struct ipc_path_counts yield_path_counts;
struct ipc_path_counts notification_path_counts;

/* Whether a switch from a thread on `from` to one on `to` may take the fast
 * path as far as time goes: both are whole-CPU SchedContexts, which no
 * budget limits, so only their consumed time changes (any other switch
 * between two SchedContexts goes through sched.c, which charges refills
 * and sets the budget's timer). `from` is the current thread's, which the
 * CPU's time is charged to (charged_sc == current_thread->sc while a
 * thread runs: debug/invariants.c checks it at every syscall). A switch
 * that moves the running SchedContext along with the CPU (a Call lending
 * it to a passive server, the answer giving it back) changes nothing about
 * time, whatever its budget: see hand_over(). */
static inline __attribute__((always_inline)) bool fast_charge_ok(const struct sched_context *from,
                                                                 const struct sched_context *to)
{
    return to->whole && from->whole;
}

/* The running SchedContext `sc` goes from `from` to `to` (sched_context.c's
 * donate and return, for the cases the fast path takes: neither thread is
 * on a ready queue, and the CPU's time stays on the same SchedContext). */
static inline __attribute__((always_inline)) void hand_over(struct sched_context *sc,
                                                            struct thread *from,
                                                            struct thread *to)
{
    from->sc = NULL;
    to->sc = sc;
    sc->thread = to;
}

/* Counts a fast path's completion in debug kernels: with several CPUs,
 * other CPUs may count beside us without the lock. */
static inline __attribute__((always_inline)) void count_fast(struct ipc_path_counts *counts,
                                                             bool smp, bool unlocked)
{
    if (!smp) {
        counts->fast++;
        return;
    }
    __atomic_fetch_add(&counts->fast, 1, __ATOMIC_RELAXED);
    if (unlocked)
        __atomic_fetch_add(&counts->fast_unlocked, 1, __ATOMIC_RELAXED);
}

/* Runs `to` next; `from` (the current thread) has blocked. What
 * thread_resume_current() does once choose() picked `to` (whose timeslice
 * goes on where it stopped). Counts the fast path's completions in debug
 * kernels (ipc.h says why only there). */
static inline __attribute__((always_inline)) void switch_to(struct thread *from,
                                                            struct thread *to, bool smp,
                                                            bool unlocked,
                                                            const struct fast_message *m)
{
    if (BULKHEAD_KERNEL_DEBUG)
        count_fast(&ipc_path_counts, smp, unlocked);
    current_thread = to;
    if (smp) {
        /* As run() does: another CPU may have set it for `from` (its
         * SchedContext changed), which blocks now; `to` starts clean. */
        struct cpu *c = cpu_here();
        c->slice_expired = false;
        to->last_cpu = (uint8_t)c->index; /* as smp_exit_to_user_held() */
        /* the lock (or the flag of the way without it) let go last */
        if (unlocked && WORDS_IN_CPU(m))
            arch_fastpath_deliver_unlocked(&to->regs, to->vspace, m->words[0], m->words[1],
                                           m->words[2], m->words[3]);
        else if (unlocked)
            arch_fastpath_switch_unlocked(&from->regs, &to->regs, to->vspace);
        else
            arch_fastpath_switch_smp(&from->regs, &to->regs, to->vspace);
    } else if (WORDS_IN_CPU(m)) {
        arch_fastpath_deliver(&to->regs, to->vspace, m->words[0], m->words[1], m->words[2],
                              m->words[3]);
    } else {
        arch_fastpath_switch(&from->regs, &to->regs, to->vspace);
    }
}

/* Whether `to`, a thread that waits in the kernel, is some CPU's current
 * thread: sched_is_current_somewhere() less its call and its tests that
 * cannot hold here (`to` is not this CPU's current thread, the caller is,
 * and several CPUs are online). The CPU it last went to user mode on is
 * the only one it can be current on (thread.h, last_cpu). Without the
 * lock, that CPU's own fast path may change its current thread meanwhile
 * (an aligned word: the load sees the old or the new one), never to `to`,
 * which must run here to pass same_cpu_ok(). */
static inline __attribute__((always_inline)) bool current_on_a_cpu(const struct thread *to)
{
    return __atomic_load_n(&cpus[to->last_cpu].current, __ATOMIC_RELAXED) == to;
}

/* Whether this CPU's fast path may change the endpoint or notification
 * whose fast_cpu field is `fast_cpu`. With one CPU, or under the kernel
 * lock (which also makes the object this CPU's: the next round trip here
 * then needs the lock no more), always. Without the lock, only if the
 * object is this CPU's: then no other CPU's fast path writes it
 * meanwhile, and theirs decline after reading this field alone. A holder
 * of the lock runs beside none of them (smp.h), so the field changes only
 * while no fast path reads it. */
static inline __attribute__((always_inline)) bool object_here(uint32_t *fast_cpu, bool smp,
                                                              bool unlocked)
{
    if (!smp)
        return true;
    uint32_t here = cpu_here()->index;
    if (unlocked)
        return __atomic_load_n(fast_cpu, __ATOMIC_RELAXED) == here;
    __atomic_store_n(fast_cpu, here, __ATOMIC_RELAXED);
    return true;
}

static inline __attribute__((always_inline)) bool endpoint_here(struct endpoint *ep, bool smp,
                                                                bool unlocked)
{
    return object_here(&ep->fast_cpu, smp, unlocked);
}

/* The same for a notification: its word and its waiters. */
static inline __attribute__((always_inline)) bool notification_here(struct notification *n,
                                                                    bool smp, bool unlocked)
{
    return object_here(&n->fast_cpu, smp, unlocked);
}

/* With several CPUs online (smp), the fast path runs under the kernel
 * lock (kernel_fastpath_smp()) and only between two threads of this CPU:
 * `to`, the thread it switches to, must run here once it has `sc` (its
 * own SchedContext, or the one the switch lends or gives back to it), and
 * must be no other CPU's current thread (a CPU keeps the thread it left
 * for its idle wait as its current one, and would run it again once it
 * is runnable, beside us: sched.c's may_have_work()). Anything else takes
 * the general path, which wakes `to` on its own CPU by IPI. One CPU
 * (smp false) tests nothing. */
static inline __attribute__((always_inline)) bool same_cpu_ok(bool smp,
                                                              const struct sched_context *sc,
                                                              const struct thread *to)
{
    return !smp || (sc->cpu == cpu_here()->index && !current_on_a_cpu(to));
}

/* The Call's effects once every check passed: r, the head, leaves the
 * receive queue (endpoint.c's queue_remove) with the message, and t waits
 * for its answer (link_call). */
static inline __attribute__((always_inline)) void deliver_call(struct thread *t, struct thread *r,
                                                               struct endpoint *ep,
                                                               const uint64_t *args,
                                                               uint64_t badge,
                                                               const struct fast_message *m,
                                                               bool smp)
{
    ep->head = r->wait_next;
    if (ep->head) {
        ep->head->wait_prev = NULL;
    } else {
        ep->tail = NULL;
        ep->state = EP_IDLE;
    }
    r->wait_next = NULL;
    r->blocked_on = NULL;
    copy_message(args, arch_regs_args(&r->regs), badge, m);
    r->state = THREAD_RUNNABLE;
    r->caller = t;
    t->reply_from = r;
    t->state = THREAD_BLOCKED_REPLY;
}

/* The time of the Call: r runs on its own whole-CPU SchedContext, which
 * the CPU's time goes to from now on (only consumed time counts), or has
 * none (a passive server) and runs on ours, lent with the Call. The two
 * ways are written out whole, each with its own copy of the Call's
 * effects, so the choice is tested once. */
static inline __attribute__((always_inline)) bool fastpath_call(struct thread *t, bool smp,
                                                                bool unlocked,
                                                                const struct fast_message *m)
{
    uint64_t *args = arch_regs_args(&t->regs);
    uint64_t badge;
    if (!message_fits(m->info))
        return false;
    struct endpoint *ep;
    if (!endpoint_direct(t, m->cptr, CAP_RIGHT_WRITE, &ep, &badge, &t->call_cap_word) ||
        !endpoint_here(ep, smp, unlocked) || ep->state != EP_RECEIVING)
        return false;
    struct thread *r = ep->head;
    if (r->caller || r->priority < t->priority || sched_ready_at_or_above(r->priority))
        return false;
    struct sched_context *t_sc = t->sc, *r_sc = r->sc;
    if (!same_cpu_ok(smp, r_sc ? r_sc : t_sc, r))
        return false;
    if (!r_sc) {
        deliver_call(t, r, ep, args, badge, m, smp);
        hand_over(t_sc, t, r);
    } else if (fast_charge_ok(t_sc, r_sc)) {
        deliver_call(t, r, ep, args, badge, m, smp);
        sched_fast_charge(t_sc, r_sc);
    } else {
        return false;
    }
    switch_to(t, r, smp, unlocked, m);
    return true;
}

/* The ReplyRecv's effects once every check passed: the reply
 * (endpoint_reply: c gets the message, badge 0), then the receive (t joins
 * the tail of the receive queue: endpoint_recv). */
static inline __attribute__((always_inline)) void deliver_reply_recv(struct thread *t,
                                                                     struct thread *c,
                                                                     struct endpoint *ep,
                                                                     const uint64_t *args,
                                                                     const struct fast_message *m,
                                                                     bool smp)
{
    t->caller = NULL;
    c->reply_from = NULL;
    copy_message(args, arch_regs_args(&c->regs), 0, m);
    c->state = THREAD_RUNNABLE;
    /* c, waiting for its answer, and t, running, are on no wait queue:
     * their blocked_on and wait links are NULL already (the invariants
     * checker's "still linked on a wait queue"), so only t's new links
     * are written. */
    t->wait_prev = ep->tail;
    if (ep->tail)
        ep->tail->wait_next = t;
    else
        ep->head = t;
    ep->tail = t;
    ep->state = EP_RECEIVING;
    t->blocked_on = ep;
    t->state = THREAD_BLOCKED_RECV;
}

/* The time of the answer: c has its own SchedContext (then so has t: a
 * thread with a caller runs on its own or on that caller's), which the
 * CPU's time goes to, or c lent us ours and gets it back; not when we run
 * on our own and c simply has none. Written out whole per way, as for the
 * Call. */
static inline __attribute__((always_inline)) bool fastpath_reply_recv(struct thread *t, bool smp,
                                                                      bool unlocked,
                                                                      const struct fast_message *m)
{
    uint64_t *args = arch_regs_args(&t->regs);
    uint64_t badge;
    struct thread *c = t->caller;
    if (!message_fits(m->info) || !c || c->in_fault)
        return false;
    struct endpoint *ep;
    uint64_t cap_word;
    if (!endpoint_direct(t, m->cptr, CAP_RIGHT_READ, &ep, &badge, &cap_word) ||
        !endpoint_here(ep, smp, unlocked) || ep->state == EP_SENDING)
        return false;
    /* A signalled bound notification is the general path's to deliver.
     * Without the lock a Signal on another CPU could make it active
     * between this read and t's wait on the endpoint, and the signal would
     * wait with it: so the notification must be this CPU's
     * (notification_here()), as the endpoint is, which sends every other
     * CPU's Signal to the lock (and the fast path under the lock makes it
     * so: a server with one, an IO server's interrupts, keeps its round
     * trips off the lock from the second on). */
    struct notification *bound = t->bound_notification;
    if (bound && (!notification_here(bound, smp, unlocked) || bound->active))
        return false;
    if (sched_ready_at_or_above(c->priority))
        return false;
    struct sched_context *t_sc = t->sc, *c_sc = c->sc;
    if (!same_cpu_ok(smp, c_sc ? c_sc : t_sc, c))
        return false;
    if (!c_sc) {
        if (t_sc->home == t)
            return false;
        deliver_reply_recv(t, c, ep, args, m, smp);
        hand_over(t_sc, t, c);
    } else if (fast_charge_ok(t_sc, c_sc)) {
        deliver_reply_recv(t, c, ep, args, m, smp);
        sched_fast_charge(t_sc, c_sc);
    } else {
        return false;
    }
    switch_to(t, c, smp, unlocked, m);
    return true;
}

/* The message as the entry handed it over in the syscall's argument
 * registers (kernel/arch.h): its words too where they stay in the CPU. */
static inline __attribute__((always_inline)) struct fast_message message_from_entry(
    uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3)
{
    return (struct fast_message){.cptr = cptr, .info = info, .words = {w0, w1, w2, w3},
                                 .in_cpu = ARCH_FASTPATH_MESSAGE_IN_CPU};
}

/* What the entry did not save of t's message, its words, into its frame
 * (nothing to do where the entry saved them). */
static inline __attribute__((always_inline)) void keep_words(struct thread *t,
                                                             const struct fast_message *m)
{
    if (!WORDS_IN_CPU(m))
        return;
    uint64_t *args = arch_regs_args(&t->regs);
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        args[2 + i] = m->words[i];
}

/* kernel_fastpath_call() and the other entry points (kernel/arch.h): the
 * fast path `try` with the message as the entry handed it over, on one
 * CPU (`smp` and `unlocked` false); each `try` returns false where the
 * general path must run, which then finds the whole message in the
 * frame. */
#define FASTPATH_ENTRY(name, try)                                                             \
    void name(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1, uint64_t w2,           \
              uint64_t w3)                                                                    \
    {                                                                                         \
        struct thread *t = current_thread;                                                    \
        struct fast_message m = message_from_entry(cptr, info, w0, w1, w2, w3);               \
        if (!try(t, false, false, &m))                                                        \
            keep_words(t, &m);                                                                \
    }

FASTPATH_ENTRY(kernel_fastpath_call, fastpath_call)
FASTPATH_ENTRY(kernel_fastpath_reply_recv, fastpath_reply_recv)

/* The current thread `t` goes on after its syscall, nothing else changed:
 * with several CPUs by the general way out, which lets go of the lock (or
 * lowers the flag of the way without it). */
static inline __attribute__((always_inline)) void resume_current(struct thread *t, bool smp,
                                                                 const struct fast_message *m,
                                                                 uint64_t info)
{
    if (smp) {
        if (WORDS_IN_CPU(m)) { /* the general way out finds all in the frame */
            keep_words(t, m);
            arch_regs_args(&t->regs)[1] = info;
        }
        /* the entry for several CPUs saved no FS/GS base (x86-64) */
        arch_fastpath_to_scheduler(&t->regs);
        arch_user_enter(&t->regs, t->vspace);
    } else if (WORDS_IN_CPU(m)) {
        arch_fastpath_resume_words(&t->regs, info, m->words[0], m->words[1], m->words[2],
                                   m->words[3]);
    } else {
        arch_fastpath_resume(&t->regs);
    }
}

/* The syscall's result in t's info register is `info`: written into its
 * frame, or (words in the CPU) passed to the way out by resume_current(). */
static inline __attribute__((always_inline)) void set_info(struct thread *t,
                                                           const struct fast_message *m,
                                                           uint64_t info)
{
    if (!WORDS_IN_CPU(m))
        arch_regs_args(&t->regs)[1] = info;
}

/* ---- Yield with nothing to yield to ---------------------------------------
 * The cheapest syscall (the bench's null_syscall): a Yield when no ready
 * thread has the caller's priority or more, by a thread on a whole-CPU
 * SchedContext, with the CPU's slice not ended already (slice_expired is
 * also how a change to the thread's SchedContext reaches the scheduler,
 * which must then look at it). The general path (kernel_syscall():
 * sched_yield_current(), then choose() and run()) would take the same
 * thread back at once: its queue holds no other thread to go before it,
 * a whole-CPU SchedContext has no refill to give up and nothing to
 * charge while the CPU's time stays on it, and the slice goes on as it
 * was (choose() resets it only for a thread that goes behind another).
 * So the thread goes on, its registers as the entry saved them, with the
 * rest of the CPU's state untouched. Otherwise this returns and the
 * general path runs. As the IPC fast path, the arch's entry tries it
 * while this CPU is the only one running user threads; with several,
 * kernel_fastpath_unlocked() tries it without the kernel lock first (it
 * reads this CPU's state and the thread's SchedContext, which changes
 * only under the lock), then kernel_fastpath_smp() under it. Both leave
 * by the general way out, which lets go of the lock or lowers the flag
 * (where it would take a new ASID or fault, it takes the lock first:
 * smp_unlocked_to_lock()). It costs about 10
 * instructions here on top of the entry and the exit (docs/performance.md). */
static inline __attribute__((always_inline)) bool fastpath_yield(struct thread *t, bool smp,
                                                                 bool unlocked,
                                                                 const struct fast_message *m)
{
    struct cpu *c = cpu_here();
    if (c->slice_expired || !t->sc->whole || c->ready_top >= (int)t->priority)
        return false;
    if (BULKHEAD_KERNEL_DEBUG)
        count_fast(&yield_path_counts, smp, unlocked);
    resume_current(t, smp, m, m->info); /* the message untouched */
    return true;
}

FASTPATH_ENTRY(kernel_fastpath_yield, fastpath_yield)

/* ---- Signal and Wait on a notification -------------------------------------
 * Send (a Signal) and Recv (a Wait) through a notification cap, in the
 * shapes that need neither the scheduler's choice nor a SchedContext's
 * budget, so the general path (syscall.c's ipc_syscall(), notification.c,
 * then choose() and run()) would give the same result:
 *  - Signal with no waiter (nor a bound thread waiting on an endpoint):
 *    the bits go into the word; the signaller goes on.
 *  - Signal to a waiter on the notification itself that runs on a
 *    whole-CPU SchedContext and does not outrank the signaller (nor does
 *    any ready thread): the waiter gets the bits and joins the tail of its
 *    ready queue, and the signaller goes on (choose() would keep it: its
 *    slice has not ended and nothing outranks it).
 *  - Wait on an active notification: the word comes back at once.
 *  - Wait that blocks, by a thread on a whole-CPU SchedContext, when the
 *    highest ready thread runs on one too: the thread joins the waiters'
 *    tail and the ready thread runs (what choose() picks when the current
 *    thread blocks: the head of the highest non-empty queue), the CPU's
 *    time charged as at any switch between whole-CPU SchedContexts.
 *  - Wait that blocks with no thread ready: the thread joins the waiters'
 *    tail and goes to thread_resume_nothing_woken(), which idles the CPU, as
 *    the general path would after notification_wait().
 * Everything else (a cap of another type or shape, rights missing, a
 * waiter that would preempt the signaller or lent its SchedContext away)
 * returns to the general path, which also
 * answers the errors. With several CPUs (under the lock, from
 * kernel_fastpath_smp()) a woken waiter must also run on this CPU and be
 * no other CPU's current thread (same_cpu_ok()); the thread a Wait
 * switches to is on this CPU's queue, so runs here. Counted for Debug: NotificationPathCounts in debug
 * kernels, as the IPC fast path is. */

/* Finds the notification cap `cptr` names through t's flat root CNode
 * (as endpoint_direct()) with `right`; its badge in *badge. */
static inline bool notification_direct(const struct thread *t, uint64_t cptr, cap_rights_t right,
                                       struct notification **n, uint64_t *badge)
{
    struct cte *slot;
    if (!cspace_flat_slot(&t->cspace_root.cap, cptr, &slot))
        return false;
    const cap_t *cap = &slot->cap;
    if (cap_type(cap) != CAP_NOTIFICATION || !(cap_rights(cap) & right))
        return false;
    *n = (struct notification *)cap_object(cap);
    *badge = cap_badge(cap);
    return true;
}

/* The current thread `t` goes on after its syscall with `badge` and info
 * 0 (the rest of its message as it was); counted. */
static inline __attribute__((always_inline)) void notification_resume(struct thread *t, bool smp,
                                                                      bool unlocked,
                                                                      const struct fast_message *m,
                                                                      uint64_t badge)
{
    if (BULKHEAD_KERNEL_DEBUG)
        count_fast(&notification_path_counts, smp, unlocked);
    arch_regs_args(&t->regs)[0] = badge;
    set_info(t, m, 0);
    resume_current(t, smp, m, 0);
}

static inline __attribute__((always_inline)) bool fastpath_send(struct thread *t, bool smp,
                                                                bool unlocked,
                                                                const struct fast_message *m)
{
    struct cpu *c = cpu_here();
    struct notification *n;
    uint64_t badge;
    if (!notification_direct(t, m->cptr, CAP_RIGHT_WRITE, &n, &badge) ||
        !notification_here(n, smp, unlocked))
        return false;
    struct thread *w = n->head;
    if (!w) {
        if (n->bound_thread && n->bound_thread->state == THREAD_BLOCKED_RECV)
            return false; /* that thread's endpoint wait ends: notification_deliver() */
        n->word |= badge;
        n->active = true;
    } else {
        /* The waiter must not go before the signaller (nor anyone else
         * ready: then choose() would not keep the signaller), and needs
         * no budget to become ready. */
        if (c->slice_expired || w->priority > t->priority || c->ready_top > (int)t->priority ||
            !w->sc || !w->sc->whole || !same_cpu_ok(smp, w->sc, w))
            return false;
        n->head = w->wait_next; /* remove_waiter() of the head */
        if (n->head)
            n->head->wait_prev = NULL;
        else
            n->tail = NULL;
        w->wait_next = NULL;
        w->blocked_on = NULL;
        /* A notification with waiters has word 0 and stays inactive
         * (notification.c's invariant, which the checker checks): the
         * bits are the badge alone, and the word needs no store. */
        uint64_t *w_args = arch_regs_args(&w->regs);
        w_args[0] = badge;
        w_args[1] = 0;
        w->state = THREAD_RUNNABLE;
        ready_enqueue_on(c, w); /* w's CPU is this one (one CPU, or same_cpu_ok()) */
    }
    notification_resume(t, smp, unlocked, m, 0); /* the signaller's header: badge and info 0 */
    return true;
}

/* t, running, waits on n from now on (notification_wait()'s
 * sched_set_blocked(), which has no queue to take t off, and its append). */
static inline __attribute__((always_inline)) void block_on(struct thread *t,
                                                           struct notification *n)
{
    t->state = THREAD_BLOCKED_NOTIFICATION;
    notification_append_waiter(n, t);
}

/* A Wait that blocks with nothing else to run: the CPU idles, which is
 * the scheduler's work; t blocks here as notification_wait() would block
 * it, so the general path need not look the cap up again. Out of line and
 * declared as returning (it does not), so that the fast path's other ways
 * keep no stack frame for it, as arch_fastpath_switch(). */
static __attribute__((noinline)) void wait_idle(struct thread *t, struct notification *n)
{
    /* t's words are in its frame (keep_words()) */
    block_on(t, n);
    if (BULKHEAD_KERNEL_DEBUG) /* other CPUs may count without the lock */
        __atomic_fetch_add(&notification_path_counts.fast, 1, __ATOMIC_RELAXED);
    arch_fastpath_to_scheduler(&t->regs);
    thread_resume_nothing_woken();
}

static inline __attribute__((always_inline)) bool fastpath_recv(struct thread *t, bool smp,
                                                                bool unlocked,
                                                                const struct fast_message *m)
{
    struct cpu *c = cpu_here();
    struct notification *n;
    uint64_t badge;
    if (!notification_direct(t, m->cptr, CAP_RIGHT_READ, &n, &badge) ||
        !notification_here(n, smp, unlocked))
        return false;
    if (n->active) {
        uint64_t word = n->word;
        n->word = 0;
        n->active = false;
        notification_resume(t, smp, unlocked, m, word);
        return true;
    }
    int top = c->ready_top;
    if (top < 0) {
        if (unlocked) /* the idle wait is the scheduler's: under the lock */
            return false;
        keep_words(t, m);
        wait_idle(t, n);
        return true;
    }
    struct thread *next = c->ready_head[top];
    struct sched_context *t_sc = t->sc, *next_sc = next->sc;
    if (!fast_charge_ok(t_sc, next_sc))
        return false;
    keep_words(t, m); /* t waits: its whole message stays in its frame */
    block_on(t, n);
    ready_dequeue_head(c, next, (unsigned)top);
    sched_fast_charge(t_sc, next_sc);
    if (BULKHEAD_KERNEL_DEBUG)
        count_fast(&notification_path_counts, smp, unlocked);
    current_thread = next;
    /* A thread on this CPU's ready queue runs here and is no CPU's
     * current one: nothing more to check with several CPUs, where only
     * the slice's flag is run()'s to clear (as in switch_to()). */
    if (smp) {
        c->slice_expired = false;
        arch_fastpath_to_scheduler(&t->regs); /* t's FS/GS bases (x86-64), as above */
        arch_user_enter(&next->regs, next->vspace); /* lets go of the lock (or flag) last */
    } else {
        arch_fastpath_switch(&t->regs, &next->regs, next->vspace);
    }
    return true;
}

FASTPATH_ENTRY(kernel_fastpath_send, fastpath_send)
FASTPATH_ENTRY(kernel_fastpath_recv, fastpath_recv)

/* Yield, Recv and Send with several CPUs: out of line, so that the
 * Call's and ReplyRecv's code below keeps the registers and frame it had
 * (inlined here, they cost the IPC round trip 12 instructions on RISC-V). */
static __attribute__((noinline)) void fastpath_smp_other(struct thread *t, unsigned long nr)
{
    struct fast_message m = message_in_frame(arch_regs_args(&t->regs));
    if (nr == BK_SYS_YIELD)
        fastpath_yield(t, true, false, &m);
    else if (nr == BK_SYS_RECV)
        fastpath_recv(t, true, false, &m);
    else if (nr == BK_SYS_SEND)
        fastpath_send(t, true, false, &m);
}

void kernel_fastpath_smp(unsigned long nr)
{
    struct thread *t = current_thread;
    if (nr == BK_SYS_CALL) {
        struct fast_message m = message_in_frame(arch_regs_args(&t->regs));
        fastpath_call(t, true, false, &m);
    } else if (nr == BK_SYS_REPLY_RECV) {
        struct fast_message m = message_in_frame(arch_regs_args(&t->regs));
        fastpath_reply_recv(t, true, false, &m);
    } else {
        fastpath_smp_other(t, nr);
    }
}

typedef bool fastpath_try_fn(struct thread *, bool, bool, const struct fast_message *);

/* `try` with this CPU's flag raised and the lock free. One that succeeds
 * does not return (its way out lowers the flag): its call is a jump, and
 * the callers keep no frame (the wait below is a jump too). */
static inline __attribute__((always_inline)) void run_raised(struct cpu *c, fastpath_try_fn *try)
{
    struct thread *t = c->current;
    if (t->state == THREAD_RUNNABLE) {
        struct fast_message m = message_in_frame(arch_regs_args(&t->regs));
        if (try(t, true, true, &m))
            return;
    }
    smp_unlocked_end(c);
}

/* Yield, Recv or Send (nr is one of them) with the flag raised: out of
 * line, as fastpath_smp_other(), so that the Call's and ReplyRecv's code
 * keeps its registers and its tests come first. */
static __attribute__((noinline)) void other_raised(struct cpu *c, unsigned long nr)
{
    if (nr == BK_SYS_YIELD)
        run_raised(c, fastpath_yield);
    else if (nr == BK_SYS_RECV)
        run_raised(c, fastpath_recv);
    else
        run_raised(c, fastpath_send);
}

/* The first try found the lock held (flag down again): once it looks
 * free (smp_unlocked_wait()), one more. Taking the lock at once made a
 * convoy: two pairs whose CPUs each found the other's locked fast path
 * holding it took it in turn from then on (2,761-2,869 of 8,000 fast
 * paths without it on a loaded host). Out of line: see run_raised(). */
static __attribute__((noinline)) void unlocked_after_wait(unsigned long nr)
{
    struct cpu *c = cpu_here();
    if (!smp_unlocked_wait(c) || !smp_unlocked_try(c))
        return;
    if (nr == BK_SYS_CALL)
        run_raised(c, fastpath_call);
    else if (nr == BK_SYS_REPLY_RECV)
        run_raised(c, fastpath_reply_recv);
    else
        other_raised(c, nr);
}

/* The fast path `try` of syscall nr (NULL: other_raised()'s) without the
 * lock (smp.h). The cap, the threads' SchedContexts and CPUs, the
 * caller's fault state, the bound notification and the other CPUs' ready
 * queues change only under the lock, which nobody holds now; the rest
 * only by this CPU's fast paths: its own state and queues, the endpoint
 * and notification it holds (object_here()), the threads switched between.
 * The thread's state is checked first (run_raised()): another CPU stops a
 * CPU's current thread only once that CPU answered it (in the lock's wait
 * or at an IPI, which this one took neither of since its syscall), but
 * may have changed its state before. */
static inline __attribute__((always_inline)) void try_unlocked(unsigned long nr,
                                                               fastpath_try_fn *try)
{
    struct cpu *c = cpu_here();
    if (__builtin_expect(!smp_unlocked_try(c), 0))
        unlocked_after_wait(nr);
    else if (try)
        run_raised(c, try);
    else
        other_raised(c, nr);
}

/* Yield, Recv and Send: out of line (other_raised() says why). */
static __attribute__((noinline)) void other_unlocked(unsigned long nr)
{
    if (nr == BK_SYS_YIELD || nr == BK_SYS_RECV || nr == BK_SYS_SEND)
        try_unlocked(nr, NULL);
}

void kernel_fastpath_unlocked(unsigned long nr)
{
    if (nr == BK_SYS_CALL)
        try_unlocked(nr, fastpath_call);
    else if (nr == BK_SYS_REPLY_RECV)
        try_unlocked(nr, fastpath_reply_recv);
    else if (__builtin_expect(nr >= BK_SYS_SEND, 0)) /* Send, Recv, Yield among them */
        other_unlocked(nr); /* one compare after the IPC's two: no jump table */
}

/* Call and ReplyRecv without the lock, the words in registers as one
 * CPU's entry hands them (RISC-V's calls these): on to the way out
 * (arch_fastpath_deliver_unlocked()), or into the caller's frame where the
 * fast path declines. The caller is this CPU's current thread, whose frame
 * only this CPU writes: read and stored outside the flag. */
static inline __attribute__((always_inline)) void unlocked_words(unsigned long nr,
                                                                 fastpath_try_fn *try,
                                                                 const struct fast_message *m)
{
    struct cpu *c = cpu_here();
    struct thread *t = c->current;
    if (__builtin_expect(smp_unlocked_try(c), 1)) {
        if (t->state == THREAD_RUNNABLE && try(t, true, true, m))
            return;
        smp_unlocked_end(c);
        keep_words(t, m);
        return;
    }
    keep_words(t, m);
    unlocked_after_wait(nr);
}

#define UNLOCKED_ENTRY(name, nr, try)                                                          \
    void name(uint64_t cptr, uint64_t info, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3) \
    {                                                                                         \
        struct fast_message m = message_from_entry(cptr, info, w0, w1, w2, w3);               \
        unlocked_words(nr, try, &m);                                                          \
    }

UNLOCKED_ENTRY(kernel_fastpath_unlocked_call, BK_SYS_CALL, fastpath_call)
UNLOCKED_ENTRY(kernel_fastpath_unlocked_reply_recv, BK_SYS_REPLY_RECV, fastpath_reply_recv)
