/*
 * A small, allocation-free printf engine. Kept separate from the console so
 * host unit tests can exercise it.
 */
#include "format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spec {
    bool left;        /* '-' flag */
    bool zero;        /* '0' flag */
    int width;
    int precision;    /* -1 when absent */
    int length;       /* 0 int, 1 long, 2 long long, 3 size_t */
};

struct out {
    format_sink_fn sink;
    void *ctx;
    int count;
};

static void emit(struct out *o, char c)
{
    o->sink(c, o->ctx);
    o->count++;
}

static void emit_padding(struct out *o, int n, char c)
{
    while (n-- > 0)
        emit(o, c);
}

static void emit_string(struct out *o, const struct spec *sp, const char *s)
{
    int len = 0;
    if (!s)
        s = "(null)";
    while (s[len] && (sp->precision < 0 || len < sp->precision))
        len++;
    if (!sp->left)
        emit_padding(o, sp->width - len, ' ');
    for (int i = 0; i < len; i++)
        emit(o, s[i]);
    if (sp->left)
        emit_padding(o, sp->width - len, ' ');
}

static void emit_number(struct out *o, const struct spec *sp, uint64_t value,
                        bool negative, unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    int n = 0;
    do {
        buf[n++] = digits[value % base];
        value /= base;
    } while (value);
    int len = n + (negative ? 1 : 0);
    if (!sp->left && !sp->zero)
        emit_padding(o, sp->width - len, ' ');
    if (negative)
        emit(o, '-');
    if (!sp->left && sp->zero)
        emit_padding(o, sp->width - len, '0');
    while (n)
        emit(o, buf[--n]);
    if (sp->left)
        emit_padding(o, sp->width - len, ' ');
}

static const char *parse_spec(const char *f, struct spec *sp)
{
    *sp = (struct spec){ .precision = -1 };
    for (;; f++) {
        if (*f == '-')
            sp->left = true;
        else if (*f == '0')
            sp->zero = true;
        else
            break;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (*f++ - '0');
    if (*f == '.') {
        sp->precision = 0;
        for (f++; *f >= '0' && *f <= '9'; f++)
            sp->precision = sp->precision * 10 + (*f - '0');
    }
    if (*f == 'z') {
        sp->length = 3;
        f++;
    } else {
        while (*f == 'l' && sp->length < 2) {
            sp->length++;
            f++;
        }
    }
    return f;
}

static uint64_t fetch_unsigned(const struct spec *sp, va_list *ap)
{
    switch (sp->length) {
    case 0: return va_arg(*ap, unsigned int);
    case 1: return va_arg(*ap, unsigned long);
    case 2: return va_arg(*ap, unsigned long long);
    default: return va_arg(*ap, size_t);
    }
}

static int64_t fetch_signed(const struct spec *sp, va_list *ap)
{
    switch (sp->length) {
    case 0: return va_arg(*ap, int);
    case 1: return va_arg(*ap, long);
    case 2: return va_arg(*ap, long long);
    default: return (int64_t)va_arg(*ap, size_t);
    }
}

static void convert(struct out *o, const struct spec *sp, char conv, va_list *ap)
{
    switch (conv) {
    case 'd':
    case 'i': {
        int64_t v = fetch_signed(sp, ap);
        uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        emit_number(o, sp, mag, v < 0, 10, false);
        break;
    }
    case 'u': emit_number(o, sp, fetch_unsigned(sp, ap), false, 10, false); break;
    case 'x': emit_number(o, sp, fetch_unsigned(sp, ap), false, 16, false); break;
    case 'X': emit_number(o, sp, fetch_unsigned(sp, ap), false, 16, true); break;
    case 'p':
        emit(o, '0');
        emit(o, 'x');
        emit_number(o, sp, (uintptr_t)va_arg(*ap, void *), false, 16, false);
        break;
    case 's': emit_string(o, sp, va_arg(*ap, const char *)); break;
    case 'c': emit(o, (char)va_arg(*ap, int)); break;
    case '%': emit(o, '%'); break;
    default:
        emit(o, '%');
        if (conv)
            emit(o, conv);
        break;
    }
}

int format(format_sink_fn sink, void *ctx, const char *fmt, va_list ap)
{
    struct out o = { sink, ctx, 0 };
    va_list args;
    va_copy(args, ap);
    while (*fmt) {
        if (*fmt != '%') {
            emit(&o, *fmt++);
            continue;
        }
        struct spec sp;
        fmt = parse_spec(fmt + 1, &sp);
        char conv = *fmt;
        if (conv)
            fmt++;
        convert(&o, &sp, conv, &args);
    }
    va_end(args);
    return o.count;
}

struct bounded {
    char *buf;
    size_t size;
    size_t len;
};

static void bounded_sink(char c, void *ctx)
{
    struct bounded *b = ctx;
    if (b->len + 1 < b->size)
        b->buf[b->len++] = c;
}

int snformat(char *buf, size_t size, const char *fmt, ...)
{
    struct bounded b = { buf, size, 0 };
    va_list ap;
    va_start(ap, fmt);
    int n = format(bounded_sink, &b, fmt, ap);
    va_end(ap);
    if (size)
        buf[b.len] = '\0';
    return n;
}
