/*
 * Syscall dispatch. The syscalls are few (kernel/abi.toml's syscall_rule):
 * the IPC operations, yield and thread_exit. Each handler decodes and
 * checks all of its arguments before it acts, so a failing call has no
 * side effects; errors come back as -BK_ERR_* (see kernel/abi.toml).
 */
#include <bulkhead/abi.h>

#include "arch.h"
#include "cnode.h"
#include "invoke.h"
#include "ipc.h"
#include "kernel.h"
#include "log.h"
#include "reply.h"
#include "smp.h"
#include "thread.h"

static long sys_thread_exit(struct thread *t)
{
    t->exit_status = (long)arch_syscall_arg(&t->regs, 0);
    if (t->is_root) {
        log_flush(); /* what tenants made the kernel say comes before the end */
        kprintf("bulkhead: thread '%s' exited with status %ld\n", t->name, t->exit_status);
        kernel_shutdown(t->exit_status == 0 ? KERNEL_EXIT_PASS : KERNEL_EXIT_FAIL,
                        "root task exited");
    }
    thread_stop(t, THREAD_EXITED);
    return 0;
}

typedef long (*syscall_fn)(struct thread *t);

/* The plain syscalls: those that act on the caller itself and move no
 * message (kernel/abi.toml's syscall_rule). Everything else is a method of
 * a capability, reached through the call syscall (invoke.c). */
static const syscall_fn syscall_table[BK_SYS_COUNT] = {
    [BK_SYS_THREAD_EXIT] = sys_thread_exit,
};

/* A Wait and a Signal on a notification that reached the general path:
 * counted for Debug: NotificationPathCounts when the fast path had them
 * first (Recv and Send; the non-blocking forms have none). */
static void general_notification_wait(struct thread *t, const cap_t *cap, unsigned long nr)
{
    if (BULKHEAD_KERNEL_DEBUG && nr == BK_SYS_RECV)
        notification_path_counts.general++;
    notification_wait(t, cap, nr != BK_SYS_NBRECV);
}

static void general_notification_signal(struct thread *t, const cap_t *cap, unsigned long nr)
{
    if (BULKHEAD_KERNEL_DEBUG && nr == BK_SYS_SEND)
        notification_path_counts.general++;
    notification_signal(t, cap);
}

/* The IPC syscalls name a capability in argument 0: an endpoint, a
 * notification or (call and send) any object. Inlined into its one
 * caller, kernel_ipc_syscall(), where nothing but the resumption follows
 * it: out of line it restored five registers on every general IPC and
 * invocation for nothing (13 instructions on RISC-V, 9 on x86-64). */
static inline __attribute__((always_inline)) void ipc_syscall(struct thread *t, unsigned long nr)
{
    /* The fast path declined it (or the arch has none for it): counted
     * for Debug: IpcPathCounts, in debug kernels (ipc.h). */
    if (BULKHEAD_KERNEL_DEBUG && (nr == BK_SYS_CALL || nr == BK_SYS_REPLY_RECV))
        ipc_path_counts.general++;
    if (nr == BK_SYS_REPLY || nr == BK_SYS_REPLY_RECV)
        endpoint_reply(t);
    if (nr == BK_SYS_REPLY)
        return;
    /* The error record is built only on the error paths: zeroing it on
     * every IPC was a tenth of a notification round trip. */
    struct cte *slot;
    struct lookup_fault fault; /* written by every failed lookup */
    uint64_t cptr = arch_regs_args(&t->regs)[0]; /* inline: a call here was 8 on RISC-V */
    kerror_t err = cspace_lookup_cap(&t->cspace_root.cap, cptr, &slot, &fault);
    if (err == KERR_OK && cap_is_null(&slot->cap)) {
        fault = (struct lookup_fault){ .kind = LOOKUP_FAULT_MISSING_CAPABILITY };
        err = KERR_FAILED_LOOKUP;
    }
    bool receive = nr == BK_SYS_RECV || nr == BK_SYS_NBRECV || nr == BK_SYS_REPLY_RECV;
    if (err != KERR_OK) {
        uint64_t words[BK_FAULT_WORDS] = { arch_regs_pc(&t->regs), cptr, receive,
                                           (uint64_t)fault.kind, fault.bits_left };
        struct kerror_info info = { .lookup = fault };
        if (!fault_send(t, BK_FAULT_CAP, words))
            invoke_reply_error(t, err, &info);
        return;
    }
    enum cap_type type = cap_type(&slot->cap);
    if (type == CAP_ENDPOINT && receive)
        endpoint_recv(t, &slot->cap, nr != BK_SYS_NBRECV);
    else if (type == CAP_ENDPOINT)
        endpoint_send(t, &slot->cap, nr == BK_SYS_CALL, nr != BK_SYS_NBSEND);
    else if (type == CAP_NOTIFICATION && receive)
        general_notification_wait(t, &slot->cap, nr);
    else if (type == CAP_NOTIFICATION)
        general_notification_signal(t, &slot->cap, nr);
    else if (type == CAP_REPLY && nr != BK_SYS_CALL && !receive)
        reply_send(t, &slot->cap);
    else if (!receive)
        invoke_call(t, slot);
    else
        invoke_reply_error(t, KERR_ILLEGAL_OPERATION, &(struct kerror_info){ 0 });
}

/* Also kernel_syscall()'s way for the IPC syscalls (one copy of
 * ipc_syscall()). */
void kernel_ipc_syscall(void)
{
    struct thread *t = current_thread;
    ipc_syscall(t, arch_regs_syscall_number(&t->regs));
    thread_resume_current();
}

/* The arch's entry tried the fast paths without the lock before
 * (kernel_fastpath_unlocked()): here they are tried again under it. */
void kernel_syscall_smp(void)
{
    thread_entry_locked(); /* the lock (the arch called us for that) */
    kernel_fastpath_smp(arch_regs_syscall_number(&current_thread->regs));
    kernel_syscall();
}

void kernel_syscall(void)
{
    struct thread *t = current_thread;
    unsigned long nr = arch_regs_syscall_number(&t->regs); /* inline: a call was 9 on RISC-V */
    /* Yield is of kind "ipc" in abi.toml for its stub's shape (a message
     * in and out, untouched), but names no capability: it goes first. */
    if (nr == BK_SYS_YIELD) {
        if (BULKHEAD_KERNEL_DEBUG) /* kernel_fastpath_yield() declined it */
            yield_path_counts.general++;
        sched_yield_current();
        thread_resume_current();
    }
    if (BK_SYS_IS_IPC(nr))
        kernel_ipc_syscall();
    long result = -BK_ERR_INVALID_SYSCALL;
    if (nr < BK_SYS_COUNT && syscall_table[nr]) {
        result = syscall_table[nr](t);
    } else {
        uint64_t words[BK_FAULT_WORDS] = { arch_regs_pc(&t->regs), nr, 0, 0, 0 };
        if (fault_send(t, BK_FAULT_UNKNOWN_SYSCALL, words))
            thread_resume_current();
    }
    arch_syscall_set_result(&t->regs, (unsigned long)result);
    thread_resume_current();
}
