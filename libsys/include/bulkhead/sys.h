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

/* The name of error code `code` (positive, as in BK_ERR_*), or "?". */
const char *bk_error_name(long code);

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
