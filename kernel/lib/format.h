/*
 * The printf engine behind kprintf (and the host tests): formats into a
 * caller-supplied character sink, so it needs no buffer and no allocation.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

typedef void (*format_sink_fn)(char c, void *ctx);

/* Supports %d %i %u %x %X %p %s %c %%, length modifiers l, ll, z, a field
 * width, the '0' and '-' flags and a precision for %s. Returns the number of
 * characters emitted. Unknown conversions are printed literally. */
int format(format_sink_fn sink, void *ctx, const char *fmt, va_list ap);

/* Formats into `buf` (size `size`, always NUL-terminated when size > 0),
 * truncating if needed. Returns the length the full text would have. */
int snformat(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
