/*
 * Per-thread state: every thread libsys starts has a thread-control block
 * (struct bk_thread) and a copy of the program's thread-local storage
 * (`_Thread_local` variables, among them libsys's bk_ipc_buffer), found
 * through the thread pointer:
 *
 *   x86-64 (TLS variant II): fs base = the address of struct bk_thread,
 *     whose first word points to itself (%fs:0, as the psABI requires);
 *     the TLS data lies just below it.
 *   RISC-V (variant I): tp = the start of the TLS data; struct bk_thread
 *     lies just below it.
 *
 * The block is set up by whoever starts the thread, before it runs
 * (libsys/src/runtime/tls.c): the startup code for a program's first thread, and
 * bk_thread_start() for the others. x86-64 user code cannot load fs base
 * itself on every CPU (wrfsbase needs CR4.FSGSBASE), so it is set through
 * TCB: WriteRegister, which a thread may use on its own thread pointer.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <bulkhead/abi.h>

struct bk_ipc_buffer;

/* A thread's control block. */
struct bk_thread {
    struct bk_thread *self;           /* x86-64: %fs:0 */
    uint64_t tcb;                     /* slot of a cap to its own TCB, 0 if none */
    int error;                        /* errno-like; libsys itself sets it nowhere yet */
    /* How bk_thread_start() hands the thread its first work: libsys's
     * entry sets bk_ipc_buffer, then calls entry(entry_arg). */
    struct bk_ipc_buffer *start_ipc_buffer;
    void (*entry)(uint64_t);
    uint64_t entry_arg;
    /* Owned by bk_thread_create() / bk_thread_join() (threads.c). */
    void *pool_slot;
} __attribute__((aligned(16)));

/* The thread-pointer register's index for TCB: WriteRegister. */
#if defined(__x86_64__)
#define BK_REG_THREAD_POINTER BK_REG_FS_BASE
#else
#define BK_REG_THREAD_POINTER BK_REG_TP
#endif

/* The calling thread's control block. Valid in every thread libsys
 * started; undefined in a thread started by a bare TCB: WriteRegisters. */
static inline struct bk_thread *bk_thread_self(void)
{
#if defined(__x86_64__)
    struct bk_thread *t;
    __asm__("movq %%fs:0, %0" : "=r"(t));
    return t;
#else
    char *tp;
    __asm__("mv %0, tp" : "=r"(tp));
    return (struct bk_thread *)tp - 1;
#endif
}

/* An errno-like slot per thread, for code ported from C libraries;
 * libsys's own functions return their errors and leave it alone. */
static inline int *bk_errno_location(void)
{
    return &bk_thread_self()->error;
}
#define bk_errno (*bk_errno_location())

/* Bytes a thread's TLS block needs (control block, TLS data, alignment
 * slack): what bk_tls_init() takes from the area it is given. */
size_t bk_tls_block_size(void);

/* Lays out a thread's TLS block inside [area, area + size): copies the
 * program's TLS template, zeroes the rest, fills in the control block
 * (self pointer; ipc_buffer, tcb and the others zero) and stores the value
 * the thread's thread-pointer register must hold in *thread_pointer.
 * Returns the control block, or NULL if the area is too small. The block
 * lies within the top bk_tls_block_size() bytes of the area, so a stack
 * can grow down below it. */
struct bk_thread *bk_tls_init(void *area, size_t size, uint64_t *thread_pointer);

/* Sets the calling thread's own thread pointer (x86-64: TCB:
 * WriteRegister on its TCB cap `tcb`; RISC-V: tp directly). Returns 0 or
 * -BK_ERR_*. Compiled code that has already read TLS must not run across
 * it: call it from a function that uses no TLS itself. */
long bk_tls_set_own_thread_pointer(uint64_t tcb, uint64_t thread_pointer);
