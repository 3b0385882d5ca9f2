/*
 * Threads in the caller's address space, with their resources managed by
 * libsys: bk_thread_create() gives each thread a TCB, a 64 KiB stack
 * between unmapped guard pages, an IPC buffer page and its TLS block, all
 * made through libsys's object allocator (bk_alloc_init() first) and kept
 * for the next thread once this one has been joined.
 *
 * Stacks and IPC buffers live in a region of their own,
 * BK_THREADS_VADDR .. + BK_THREADS_MAX MiB, one MiB per thread: nothing
 * else libsys maps goes there.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define BK_THREADS_VADDR 0x2000000000ull /* 128 GiB: a user address on both arches */
#define BK_THREADS_MAX 64
#define BK_THREAD_STACK_SIZE (64u * 1024)

typedef struct bk_thread_handle bk_thread_handle_t;

/* Starts fn(arg) in a new thread at `priority` (bounded by the MCP of
 * BK_CAP_ROOT_TCB) and stores its handle in *out. Returns 0, or
 * -BK_ERR_NOT_ENOUGH_MEMORY (no memory, or BK_THREADS_MAX threads not yet
 * joined), or another -BK_ERR_* from starting it. */
long bk_thread_create(bk_thread_handle_t **out, void *(*fn)(void *), void *arg,
                      unsigned priority);

/* Waits until thread `t` has finished (returned from fn or called
 * bk_thread_exit()), stores its result in *result (if result is not NULL)
 * and frees its handle for a later thread. Each thread is joined once.
 * Returns 0, -BK_ERR_INVALID_ARGUMENT for a handle that is not a live
 * one, or the error of stopping the finished thread's TCB. */
long bk_thread_join(bk_thread_handle_t *t, void **result);

/* Ends the calling thread with `result` (what bk_thread_join() returns).
 * In a thread bk_thread_create() did not make it simply exits. */
_Noreturn void bk_thread_exit(void *result);

/* Forgets every handle and what was made for it (bk_alloc_init() calls it:
 * the memory they came from may be gone). No thread made by
 * bk_thread_create() may be running. */
void bk_threads_forget(void);
