/*
 * libsys: the user library every Bulkhead program links.
 *
 * It provides the program entry (_start calls main(bootinfo) and passes its
 * result to thread_exit), the generated syscall stubs (sys_*, one per
 * syscall in kernel/abi.toml), a formatted debug console and the freestanding
 * string functions.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <bulkhead/abi.h>
#include <bulkhead/syscall_stubs.h>

/* The program's entry point, called by libsys's startup code. The root task
 * receives the boot-info page (other programs receive their creator's
 * argument). Its return value becomes the thread's exit status. */
int main(const struct bk_bootinfo *bootinfo);

/* Formatted output on the kernel debug console: %d %i %u %x %p %s %c %%
 * with l/ll/z, width and the '0'/'-' flags. Output is buffered per call and
 * written with one debug_write syscall per 256 bytes. Returns the number of
 * characters written. */
int debug_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int debug_vprintf(const char *fmt, va_list ap);

/* Writes a NUL-terminated string to the debug console. */
void debug_puts(const char *s);

/* The initial stack pointer for a thread whose stack is `size` bytes at
 * `stack`, such that its entry function sees the C ABI's stack alignment
 * (x86-64 expects rsp + 8 to be 16-byte aligned at a function's entry). */
static inline uint64_t bk_stack_top(void *stack, size_t size)
{
    uint64_t top = ((uint64_t)(uintptr_t)stack + size) & ~15ull;
#if defined(__x86_64__)
    return top - 8;
#else
    return top;
#endif
}

/* Starts thread `tcb` (a TCB cap, already retyped) in this address space
 * and CSpace root `cspace`: entry(arg) runs on the given stack at
 * `priority` (checked against the MCP of the root task's TCB, BK_CAP_ROOT_TCB);
 * `ipc_buffer` is its IPC buffer page (or 0). The entry
 * function must end with sys_thread_exit(). Returns 0 or -BK_ERR_*. */
long bk_thread_start(bk_cptr_t tcb, bk_cptr_t cspace, void (*entry)(uint64_t), uint64_t arg,
                     void *stack, size_t stack_size, uint64_t ipc_buffer, unsigned priority);

/* Message info word from its fields (length, label). */
static inline uint64_t bk_msginfo(uint64_t label, uint64_t length)
{
    return BK_MSGINFO(length, 0, 0, label);
}

/* The name of error code `code` (positive, as in BK_ERR_*), or "?". */
const char *bk_error_name(long code);

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
