/*
 * Formatted output: the one printf engine of libsys (libsys/src/base/format.c),
 * used by snprintf, vsnprintf and debug_printf.
 *
 * Conversions: %d %i %u %x %X %o %c %s %p %% with the length modifiers
 * hh h l ll j z t; %f %F %e %E %g %G for doubles; the flags - + space # 0;
 * width and precision, either of them `*` (from an int argument; a negative
 * width means '-', a negative precision none). Doubles are printed exactly:
 * the decimal expansion is computed with integers and rounded half to even,
 * as glibc does in the default rounding mode, for every precision.
 *
 * Deliberate differences from C's printf:
 *  - %p prints "0x" and the address in hex, also for NULL ("0x0", where
 *    glibc prints "(nil)").
 *  - %a %A %n, the L modifier (long double) and wide characters (%lc, %ls)
 *    are not supported: such a specification is copied to the output as it
 *    stands (%a and %A still consume their double, %n its pointer, which
 *    is not written; %Lf, %lc, %ls and unknown conversions consume
 *    nothing, so the arguments after them are misread: do not use them).
 *  - %s of NULL prints "(null)".
 *  - There is no locale: the decimal point is always '.', the ' flag is
 *    not recognised.
 *  - A result longer than INT_MAX gives -1 (C's EOVERFLOW), with no errno.
 *
 * Every function here is reentrant: it keeps its state on the caller's
 * stack, so threads may call it at the same time.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

/* Receives `len` characters of output (not NUL-terminated; len > 0). */
typedef void bk_format_sink_fn(void *ctx, const char *chars, size_t len);

/* Formats `fmt` with the arguments `ap`, handing the output to
 * sink(ctx, ...) in pieces. Returns the number of characters produced, or
 * -1 when that is above INT_MAX. */
int bk_vformat(bk_format_sink_fn *sink, void *ctx, const char *fmt, va_list ap);

/* Writes at most size - 1 characters of the output to `buf` and a NUL
 * after them (when size > 0; buf may be NULL when size is 0). Returns the
 * length the whole output has (so a result >= size means it was cut), or
 * -1 when that is above INT_MAX. */
int bk_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int bk_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The C names, defined in libsys/src/base/printf.c (the host tests link
 * format.c next to the host's libc, so the engine itself has bk_ names).
 * They behave exactly as bk_snprintf and bk_vsnprintf. */
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
