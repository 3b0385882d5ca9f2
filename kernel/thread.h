/*
 * Threads as the kernel runs them. For now there is one user thread, the
 * root task; TCB objects made from untyped memory replace the static one
 * when the object model lands.
 *
 * Invariant: `current_thread` is the thread whose registers the next trap
 * from user mode saves into; it is never NULL once the root task exists.
 */
#pragma once

#include <bulkhead/abi.h>

#include "arch.h"
#include "cdt.h"
#include "types.h"

enum thread_state {
    THREAD_INACTIVE,   /* never started */
    THREAD_RUNNABLE,
    THREAD_EXITED,     /* called thread_exit */
    THREAD_FAULTED,    /* stopped by an unhandled fault */
};

struct thread {
    arch_regs_t regs;          /* saved user registers */
    arch_vspace_t *vspace;     /* address space it runs in */
    struct cte cspace_root;    /* a copy of its root CNode cap (a child in the CDT) */
    struct bk_ipc_buffer *ipc_buffer; /* kernel view of its IPC buffer, NULL if none */
    enum thread_state state;
    long exit_status;
    char name[16];
};

extern struct thread *current_thread;

/* Returns to user mode in the current thread if it can run, else idles
 * until the system shuts down. */
NORETURN void thread_resume_current(void);

/* Ticks since the timer started. */
uint64_t kernel_ticks(void);

/* Idles with interrupts on until `ticks` more ticks arrived, then shuts the
 * machine down with `status`: shows that the kernel still runs after the
 * last thread stopped. */
NORETURN void kernel_idle_then_shutdown(unsigned ticks, int status, const char *why);
