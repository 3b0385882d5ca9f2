/*
 * Synchronous IPC on endpoints and signals on notifications, as the IPC
 * syscalls use them. Each operation changes thread states and queues only;
 * the syscall layer then calls thread_resume_current(), which picks who
 * runs next.
 */
#pragma once

#include "cap.h"
#include "thread.h"

/* Endpoint object (2^OBJ_ENDPOINT_BITS bytes of retyped memory). Its wait
 * queue holds senders or receivers, never both: `state` says which. */
enum endpoint_state { EP_IDLE = 0, EP_SENDING, EP_RECEIVING };

struct endpoint {
    struct kobj_header header;
    enum endpoint_state state;
    /* With several CPUs, the CPU whose IPC fast path may run on it without
     * the kernel lock (kernel/fastpath.c, endpoint_here()); written only
     * under the lock. */
    uint32_t fast_cpu;
    struct thread *head, *tail;
    /* The cancellation of one badge's sends under way (endpoint.c,
     * Cancelling): its badge (0: none), the next queued sender to look at
     * (NULL: none is left), and the stamp the next sender to queue was to
     * get when it started (the senders queued before it have lower ones). */
    uint64_t cancel_badge;
    struct thread *cancel_next;
    uint64_t cancel_stamp;
    uint64_t next_stamp; /* the stamp of the next sender to queue */
};

/* Notification object: a word of signal bits, whether it has been
 * signalled since the last wait (a signal through an unbadged cap adds no
 * bits but still counts), and the threads waiting for a signal. */
struct notification {
    struct kobj_header header;
    uint64_t word;
    bool active;
    /* With several CPUs, the CPU whose fast paths may use it without the
     * kernel lock (as struct endpoint's; kernel/fastpath.c). */
    uint32_t fast_cpu;
    struct thread *head, *tail;
    struct thread *bound_thread; /* see TCB: bind_notification */
};

/* `t`, the running thread, joins the tail of n's waiters (notification.c's
 * Wait and the fast path's). A thread on no wait queue has NULL links
 * (the invariants checker's rule), so only its new links are written. */
static inline __attribute__((always_inline)) void notification_append_waiter(struct notification *n,
                                                                             struct thread *t)
{
    t->wait_prev = n->tail;
    if (n->tail)
        n->tail->wait_next = t;
    else
        n->head = t;
    n->tail = t;
    t->blocked_on = n;
}

_Static_assert(sizeof(struct endpoint) <= (1u << OBJ_ENDPOINT_BITS), "endpoint size");
_Static_assert(sizeof(struct notification) <= (1u << OBJ_NOTIFICATION_BITS), "notification size");

/* Send (or Call, or NBSend when !blocking) the current message of `t`
 * through the endpoint cap `ep_cap`. */
void endpoint_send(struct thread *t, const cap_t *ep_cap, bool is_call, bool blocking);

/* Receive on the endpoint cap (NBRecv when !blocking). */
void endpoint_recv(struct thread *t, const cap_t *ep_cap, bool blocking);

/* Answers t's pending Call with t's current message, if there is one. */
void endpoint_reply(struct thread *t);

/* Delivers t's current message to `c`, whose Call t answers (unlinked
 * already), and wakes it; a fault's answer restarts or stops it. */
void ipc_answer(struct thread *t, struct thread *c);

/* `t` no longer waits for an answer: the thread or Reply object that
 * would have given it forgets it. */
void ipc_forget_answer(struct thread *t);

/* Takes `t` off whatever endpoint or notification queue it waits on. */
void ipc_cancel_wait(struct thread *t);

/* Delivers an empty message whose label is `err` to a blocked thread and
 * makes it runnable. */
void ipc_wake_with_error(struct thread *t, uint64_t err);

/* Signal / Wait / Poll on a notification cap (Signal needs the write
 * right, Wait and Poll the read right). */
void notification_signal(struct thread *t, const cap_t *cap);
void notification_wait(struct thread *t, const cap_t *cap, bool blocking);

/* If t's bound notification has been signalled, delivers its word to t
 * (as a Recv result) and returns true. */
bool notification_take_bound(struct thread *t);

/* Signals `n` with `badge`: the first waiter (or a bound thread blocked in
 * Recv on an endpoint) wakes with the bits, or they are kept for the next
 * Wait. Used by Signal and by interrupt delivery. */
void notification_deliver(struct notification *n, uint64_t badge);

/* Takes `t` off the notification queue it waits on. */
void notification_cancel_wait(struct thread *t);

/* Changes the priority of `t`, queued to send, and moves it to the end of
 * the senders of its new priority (sched_set_priority()). */
void endpoint_requeue_sender(struct thread *t, uint8_t priority);

/* Cancelling waits a bounded batch at a time (endpoint.c, Cancelling):
 * each function below does at most *budget steps (a queued thread looked
 * at or woken with BK_ERR_CANCELLED), takes them off *budget (all that is
 * left once an interrupt is pending after a step: preempt.h), and returns
 * true once its work is over; the caller restarts it until then. */
#define IPC_CANCEL_BATCH 64

/* Wakes every sender queued on `ep` with `badge` (not 0): their messages
 * are not delivered. Senders queued meanwhile may be cancelled too. */
bool endpoint_cancel_badged_sends(struct endpoint *ep, uint64_t badge, unsigned *budget);

/* Wakes every thread queued on `ep` or waiting on `n` (their object was
 * destroyed: no cap names it, so no thread joins). */
bool endpoint_cancel_all(struct endpoint *ep, unsigned *budget);
bool notification_cancel_all(struct notification *n, unsigned *budget);

/* Destroy hook (object.c): unbinds the thread. Its waiters are woken by
 * the zombie its final cap becomes (cnode.c). */
void notification_destroy(const cap_t *final_cap);

/* Badge hook (object.c): `cap`, a badged endpoint cap, was the last of its
 * badge family and the endpoint lives on: the cancellation of the sends
 * queued with its badge starts (O(1)); the zombie the cap becomes runs it
 * to its end (cnode.c). */
void endpoint_badge_retired(const cap_t *cap);

/* Sends a fault message from `t` to its fault endpoint (a timeout fault
 * to its timeout endpoint, if it has one) as a Call and stops it until
 * the handler replies (fault.c). False if `t` has no usable endpoint for
 * it (nothing changed then). */
bool fault_send(struct thread *t, uint64_t label, const uint64_t words[BK_FAULT_WORDS]);

/* The IPC path counters (Debug: IpcPathCounts): Call and ReplyRecv
 * syscalls the fast path completed, and those it left to the general path
 * (kernel/syscall.c). Counted only in kernels built with
 * BULKHEAD_KERNEL_DEBUG: measured under -icount, the increment makes the
 * 0-word round trip between address spaces 377 instructions on RISC-V
 * (369 without; its ceiling in tools/bench/ceilings.json is 374) and 355
 * on x86-64 (353 without), so the benchmark runs a kernel built without
 * it (kernel-nodebug.elf). */
struct ipc_path_counts {
    uint64_t fast;
    uint64_t general;
    /* Of `fast`, those that ran without the kernel lock (several CPUs;
     * Debug: UnlockedCounts). */
    uint64_t fast_unlocked;
};
extern struct ipc_path_counts ipc_path_counts;
/* The same for Yield (Debug: YieldPathCounts): kernel_fastpath_yield()'s
 * completions, and the Yields kernel_syscall() handled. */
extern struct ipc_path_counts yield_path_counts;
/* And for Signal and Wait on a notification (Debug: NotificationPathCounts):
 * the Send and Recv syscalls on notifications that kernel_fastpath_send()
 * and kernel_fastpath_recv() completed, and those they left to the general
 * path (kernel/syscall.c). */
extern struct ipc_path_counts notification_path_counts;

/* Writes a message's header into t's registers: badge and info. */
void ipc_set_header(struct thread *t, uint64_t badge, uint64_t info);
