/*
 * Kernel-wide services: console output, panic, exit statuses and the small
 * string library the freestanding kernel needs.
 */
#pragma once

#include "types.h"
#include <stdarg.h>

/* The kernel's debugging aids, kernel/debug/ (the invariant walk behind
 * Debug: CheckInvariants, and the boot self-tests): one switch, the CMake
 * option BULKHEAD_KERNEL_DEBUG; on for builds that do not say. When off,
 * nothing calls them and --gc-sections leaves them out of the image. */
#ifndef BULKHEAD_KERNEL_DEBUG
#define BULKHEAD_KERNEL_DEBUG 1
#endif

/* The machine's exit status, passed to arch_shutdown(). The runner
 * (tools/bkqemu.py) decodes it from QEMU's exit code. */
enum kernel_exit {
    KERNEL_EXIT_PASS = 0,       /* root task exited with status 0 */
    KERNEL_EXIT_FAIL = 1,       /* root task exited with a non-zero status */
    KERNEL_EXIT_USER_FAULT = 2, /* root task stopped by an unhandled fault */
    KERNEL_EXIT_PANIC = 3,      /* the kernel panicked (bad boot image, kernel fault) */
};

/* printf subset: %d %i %u %x %X %p %s %c %%, with l/ll/z length, width,
 * '0' and '-' flags, and precision for %s. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* Writes one byte to the console, waiting until the UART takes it; '\n'
 * is not translated. The synchronous path under kprintf and log_flush(). */
void console_put_sync(char c);

/* Boot option "bulkhead.slow_console": makes console_put_sync() take the
 * line time of a 115,200-baud UART for each byte (about 87 us under
 * QEMU's -icount), which QEMU's UART model does not, so tests can see
 * what holding the kernel for the console would cost on a real machine. */
void console_slow_line(void);

/* Prints "PANIC: <message>" and stops the machine with KERNEL_EXIT_PANIC. */
NORETURN void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Stops the machine with `status` after a final console line. */
NORETURN void kernel_shutdown(int status, const char *why);

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
