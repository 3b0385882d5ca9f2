/*
 * The printf engine of libsys (see bulkhead/format.h for what it accepts).
 * Pure C with no syscalls, so the host tests compare it with the host's
 * printf; debug_printf and snprintf are sinks on top of bk_vformat.
 *
 * Doubles are converted with integer arithmetic only: decimal.c expands
 * the bits of the double into the exact decimal digits of its value, which
 * are then rounded half to even at the precision asked for, so every digit
 * printed is exact, for any value and precision.
 */
#include <bulkhead/format.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "decimal.h"

/* ---- Output ------------------------------------------------------------- */

struct out {
    bk_format_sink_fn *sink;
    void *ctx;
    size_t count;
};

static void emit(struct out *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    o->sink(o->ctx, s, n);
    o->count += n;
}

static void emit_char(struct out *o, char c)
{
    emit(o, &c, 1);
}

static void emit_repeat(struct out *o, char c, size_t n)
{
    char run[32];
    __builtin_memset(run, c, sizeof(run));
    for (; n > sizeof(run); n -= sizeof(run))
        emit(o, run, sizeof(run));
    emit(o, run, n);
}

/* ---- Specifications ----------------------------------------------------- */

enum length { LEN_INT, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_J, LEN_Z, LEN_T, LEN_LONG_DOUBLE };

struct spec {
    bool left, plus, space, alt, zero; /* the flags - + space # 0 */
    int width;                         /* 0 when absent */
    int precision;                     /* -1 when absent */
    enum length length;
    char conv;
};

/* Reads a decimal number, saturating at INT_MAX. */
static int parse_number(const char **f)
{
    int n = 0;
    for (; **f >= '0' && **f <= '9'; (*f)++) {
        int digit = **f - '0';
        n = n <= (INT_MAX - digit) / 10 ? n * 10 + digit : INT_MAX;
    }
    return n;
}

static const char *parse_flags(const char *f, struct spec *sp)
{
    for (;; f++) {
        switch (*f) {
        case '-': sp->left = true; break;
        case '+': sp->plus = true; break;
        case ' ': sp->space = true; break;
        case '#': sp->alt = true; break;
        case '0': sp->zero = true; break;
        default: return f;
        }
    }
}

static const char *parse_length(const char *f, struct spec *sp)
{
    switch (*f) {
    case 'h':
        sp->length = f[1] == 'h' ? LEN_HH : LEN_H;
        return f + (f[1] == 'h' ? 2 : 1);
    case 'l':
        sp->length = f[1] == 'l' ? LEN_LL : LEN_L;
        return f + (f[1] == 'l' ? 2 : 1);
    case 'j': sp->length = LEN_J; return f + 1;
    case 'z': sp->length = LEN_Z; return f + 1;
    case 't': sp->length = LEN_T; return f + 1;
    case 'L': sp->length = LEN_LONG_DOUBLE; return f + 1;
    default: sp->length = LEN_INT; return f;
    }
}

/* Parses what follows a '%' up to the conversion character, taking `*`
 * widths and precisions from the arguments. Returns the address of the
 * conversion character (which may be the terminating NUL). */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    *sp = (struct spec){ .precision = -1 };
    f = parse_flags(f, sp);
    if (*f == '*') {
        int w = va_arg(*ap, int);
        sp->left |= w < 0;
        sp->width = w >= 0 ? w : w == INT_MIN ? INT_MAX : -w;
        f++;
    } else {
        sp->width = parse_number(&f);
    }
    if (*f == '.') {
        f++;
        if (*f == '*') {
            int p = va_arg(*ap, int);
            sp->precision = p >= 0 ? p : -1;
            f++;
        } else {
            sp->precision = parse_number(&f);
        }
    }
    f = parse_length(f, sp);
    sp->conv = *f;
    return f;
}

/* ---- Fields --------------------------------------------------------------
 * A field is a prefix (sign, "0x"), a body, and padding up to the width:
 * spaces before (right-aligned), zeros between prefix and body (the 0
 * flag), or spaces after (the - flag). */

/* Emits everything before the body; returns the spaces owed after it. */
static size_t field_start(struct out *o, const struct spec *sp, const char *prefix, size_t body_len,
                          bool zero_pad)
{
    size_t prefix_len = __builtin_strlen(prefix);
    size_t len = prefix_len + body_len;
    size_t pad = (size_t)sp->width > len ? (size_t)sp->width - len : 0;
    if (!sp->left && !zero_pad)
        emit_repeat(o, ' ', pad);
    emit(o, prefix, prefix_len);
    if (!sp->left && zero_pad)
        emit_repeat(o, '0', pad);
    return sp->left ? pad : 0;
}

static void format_string(struct out *o, const struct spec *sp, const char *s)
{
    if (!s) /* as glibc: "(null)" when the precision lets it show whole */
        s = sp->precision < 0 || sp->precision >= 6 ? "(null)" : "";
    size_t len = 0;
    while ((sp->precision < 0 || len < (size_t)sp->precision) && s[len])
        len++;
    size_t after = field_start(o, sp, "", len, false);
    emit(o, s, len);
    emit_repeat(o, ' ', after);
}

static void format_char(struct out *o, const struct spec *sp, char c)
{
    size_t after = field_start(o, sp, "", 1, false);
    emit_char(o, c);
    emit_repeat(o, ' ', after);
}

/* ---- Integers ----------------------------------------------------------- */

static uint64_t take_unsigned(const struct spec *sp, va_list *ap)
{
    switch (sp->length) {
    case LEN_HH: return (unsigned char)va_arg(*ap, unsigned int);
    case LEN_H: return (unsigned short)va_arg(*ap, unsigned int);
    case LEN_L: return va_arg(*ap, unsigned long);
    case LEN_LL: return va_arg(*ap, unsigned long long);
    case LEN_J: return va_arg(*ap, uintmax_t);
    case LEN_Z: return va_arg(*ap, size_t);
    case LEN_T: return (uint64_t)va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, unsigned int);
    }
}

static int64_t take_signed(const struct spec *sp, va_list *ap)
{
    switch (sp->length) {
    case LEN_HH: return (signed char)va_arg(*ap, int);
    case LEN_H: return (short)va_arg(*ap, int);
    case LEN_L: return va_arg(*ap, long);
    case LEN_LL: return va_arg(*ap, long long);
    case LEN_J: return va_arg(*ap, intmax_t);
    case LEN_Z: return (int64_t)va_arg(*ap, size_t);
    case LEN_T: return va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, int);
    }
}

/* The prefix of a number: its sign, or what '+' / ' ' ask for. */
static const char *sign_prefix(const struct spec *sp, bool negative)
{
    return negative ? "-" : sp->plus ? "+" : sp->space ? " " : "";
}

/* Prints `value` (the magnitude) per the spec: precision is the minimum
 * number of digits (0 with value 0 prints none), '#' makes octal start
 * with 0 and puts 0x/0X before non-zero hex. */
static unsigned base_of(char conv)
{
    return conv == 'o' ? 8 : conv == 'x' || conv == 'X' || conv == 'p' ? 16 : 10;
}

static void format_integer(struct out *o, const struct spec *sp, uint64_t value, bool negative)
{
    unsigned base = base_of(sp->conv);
    const char *set = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    size_t n = 0;
    for (uint64_t v = value; v != 0 || (n == 0 && sp->precision != 0); v /= base)
        buf[sizeof(buf) - ++n] = set[v % base];
    const char *digits = buf + sizeof(buf) - n;
    size_t zeros = sp->precision > 0 && (size_t)sp->precision > n ? (size_t)sp->precision - n : 0;
    if (sp->conv == 'o' && sp->alt && zeros == 0 && (n == 0 || digits[0] != '0'))
        zeros = 1;
    const char *prefix;
    if (sp->conv == 'd' || sp->conv == 'i')
        prefix = sign_prefix(sp, negative);
    else if (sp->conv == 'p' || (sp->alt && value != 0 && base == 16))
        prefix = sp->conv == 'X' ? "0X" : "0x";
    else
        prefix = "";
    size_t after = field_start(o, sp, prefix, zeros + n, sp->zero && sp->precision < 0);
    emit_repeat(o, '0', zeros);
    emit(o, digits, n);
    emit_repeat(o, ' ', after);
}

/* Emits digit positions [from, to) of `d` (position 0 is the first
 * significant digit); positions outside the held digits are zeros. */
static void emit_digits(struct out *o, const struct decimal *d, long from, long to)
{
    if (from >= to)
        return;
    long zeros = from < 0 ? (to < 0 ? to : 0) - from : 0;
    emit_repeat(o, '0', (size_t)zeros);
    from += zeros;
    long held = to < d->count ? to : d->count;
    if (from < held) {
        emit(o, d->digit + from, (size_t)(held - from));
        from = held;
    }
    emit_repeat(o, '0', (size_t)(to - from));
}

/* ---- Floating point ----------------------------------------------------- */

/* How a double is shown: fixed (%f) or with an exponent (%e), with
 * `decimals` digits after the point. */
struct layout {
    bool exponent_style;
    long decimals;
    bool point; /* show the decimal point */
    int exponent;
};

/* Digits of the exponent: at least two. */
static int exponent_digits(int e)
{
    e = e < 0 ? -e : e;
    return e >= 100 ? 3 : 2;
}

static size_t body_length(const struct decimal *d, const struct layout *l)
{
    size_t len = (size_t)l->decimals + (l->point ? 1 : 0);
    if (l->exponent_style)
        return len + 1 + 2 + (size_t)exponent_digits(l->exponent);
    return len + (size_t)(d->point > 0 ? d->point : 1);
}

static void emit_body(struct out *o, const struct decimal *d, const struct layout *l, bool upper)
{
    if (l->exponent_style) {
        emit_digits(o, d, 0, 1);
        if (l->point)
            emit_char(o, '.');
        emit_digits(o, d, 1, 1 + l->decimals);
        int e = l->exponent < 0 ? -l->exponent : l->exponent;
        char text[6] = { upper ? 'E' : 'e', l->exponent < 0 ? '-' : '+' };
        int n = exponent_digits(l->exponent);
        for (int i = n - 1; i >= 0; i--, e /= 10)
            text[2 + i] = (char)('0' + e % 10);
        emit(o, text, 2 + (size_t)n);
        return;
    }
    emit_digits(o, d, d->point > 0 ? 0 : -1, d->point > 0 ? d->point : 0);
    if (l->point)
        emit_char(o, '.');
    emit_digits(o, d, d->point, d->point + l->decimals);
}

/* Rounds `d` for the conversion and decides how it is laid out. */
static struct layout plan_layout(struct decimal *d, const struct spec *sp)
{
    long precision = sp->precision < 0 ? 6 : sp->precision;
    struct layout l = { .decimals = precision };
    char conv = (char)(sp->conv | 0x20); /* lower case */
    if (conv == 'f') {
        bk__decimal_round(d, d->point + precision);
    } else if (conv == 'e') {
        l.exponent_style = true;
        bk__decimal_round(d, precision + 1);
        l.exponent = d->count ? d->point - 1 : 0;
    } else { /* g: P significant digits, style by the exponent X */
        long p = precision ? precision : 1;
        bk__decimal_round(d, p);
        int x = d->count ? d->point - 1 : 0;
        l.exponent_style = !(p > x && x >= -4);
        l.exponent = x;
        l.decimals = l.exponent_style ? p - 1 : p - 1 - x;
        if (!sp->alt) { /* no trailing zeros */
            long held = l.exponent_style ? d->count - 1 : d->count - d->point;
            l.decimals = held < l.decimals ? (held > 0 ? held : 0) : l.decimals;
        }
    }
    l.point = l.decimals > 0 || sp->alt;
    return l;
}

static void format_double(struct out *o, const struct spec *sp, double value)
{
    uint64_t bits;
    __builtin_memcpy(&bits, &value, sizeof(bits));
    unsigned exponent = (unsigned)(bits >> 52) & 0x7ff;
    uint64_t fraction = bits & ((1ull << 52) - 1);
    bool upper = sp->conv >= 'A' && sp->conv <= 'Z';
    const char *prefix = sign_prefix(sp, bits >> 63);
    if (exponent == 0x7ff) { /* inf and nan: no zero padding */
        const char *word = fraction ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
        size_t after = field_start(o, sp, prefix, 3, false);
        emit(o, word, 3);
        emit_repeat(o, ' ', after);
        return;
    }
    struct decimal d;
    bk__decimal_from_double(&d, exponent, fraction);
    struct layout l = plan_layout(&d, sp);
    size_t after = field_start(o, sp, prefix, body_length(&d, &l), sp->zero);
    emit_body(o, &d, &l, upper);
    emit_repeat(o, ' ', after);
}

/* ---- The engine ----------------------------------------------------------- */

/* Performs one conversion; false for one this engine does not know. */
static bool convert(struct out *o, const struct spec *sp, va_list *ap)
{
    switch (sp->conv) {
    case 'd':
    case 'i': {
        int64_t v = take_signed(sp, ap);
        format_integer(o, sp, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
        return true;
    }
    case 'u':
    case 'o':
    case 'x':
    case 'X': format_integer(o, sp, take_unsigned(sp, ap), false); return true;
    case 'p': format_integer(o, sp, (uintptr_t)va_arg(*ap, void *), false); return true;
    case 'c':
        if (sp->length != LEN_INT)
            return false;
        format_char(o, sp, (char)va_arg(*ap, int));
        return true;
    case 's':
        if (sp->length != LEN_INT)
            return false;
        format_string(o, sp, va_arg(*ap, const char *));
        return true;
    case '%': emit_char(o, '%'); return true;
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
        if (sp->length == LEN_LONG_DOUBLE)
            return false;
        format_double(o, sp, va_arg(*ap, double));
        return true;
    case 'a': case 'A': (void)va_arg(*ap, double); return false;
    case 'n': (void)va_arg(*ap, void *); return false;
    default: return false;
    }
}

int bk_vformat(bk_format_sink_fn *sink, void *ctx, const char *fmt, va_list ap)
{
    struct out o = { .sink = sink, .ctx = ctx, .count = 0 };
    va_list args;
    va_copy(args, ap);
    const char *p = fmt;
    while (*p) {
        const char *run = p;
        while (*p && *p != '%')
            p++;
        emit(&o, run, (size_t)(p - run));
        if (!*p)
            break;
        struct spec sp;
        const char *conv = parse_spec(p + 1, &sp, &args);
        const char *next = *conv ? conv + 1 : conv;
        if (!convert(&o, &sp, &args))
            emit(&o, p, (size_t)(next - p)); /* unknown: copied as it stands */
        p = next;
    }
    va_end(args);
    return o.count > INT_MAX ? -1 : (int)o.count;
}

/* ---- snprintf ------------------------------------------------------------- */

struct buffer {
    char *data;
    size_t size;
    size_t len; /* characters stored, at most size - 1 */
};

static void buffer_sink(void *ctx, const char *chars, size_t len)
{
    struct buffer *b = ctx;
    if (b->len + 1 >= b->size)
        return;
    size_t room = b->size - 1 - b->len;
    size_t n = len < room ? len : room;
    __builtin_memcpy(b->data + b->len, chars, n);
    b->len += n;
}

int bk_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct buffer b = { .data = buf, .size = size, .len = 0 };
    int n = bk_vformat(buffer_sink, &b, fmt, ap);
    if (size > 0)
        buf[b.len] = '\0';
    return n;
}

int bk_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = bk_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
