/*
 * debug_printf: formatted output for user programs. Characters collect in a
 * small buffer on the caller's stack that is flushed with one debug_write
 * syscall when full and at the end of the call, so a line costs one kernel
 * entry rather than one per character.
 */
#include <bulkhead/sys.h>

#include <stdbool.h>

struct pbuf {
    char data[256];
    unsigned len;
    int total;
};

static void flush(struct pbuf *b)
{
    if (b->len)
        sys_debug_write(b->data, b->len);
    b->len = 0;
}

static void put(struct pbuf *b, char c)
{
    if (b->len == sizeof(b->data))
        flush(b);
    b->data[b->len++] = c;
    b->total++;
}

static void put_repeated(struct pbuf *b, char c, int n)
{
    for (; n > 0; n--)
        put(b, c);
}

/* Writes `digits` (most significant first) with sign and padding. */
static void put_field(struct pbuf *b, const char *digits, int len, bool neg, int width,
                      bool left, bool zero)
{
    int pad = width - len - (neg ? 1 : 0);
    if (!left && !zero)
        put_repeated(b, ' ', pad);
    if (neg)
        put(b, '-');
    if (!left && zero)
        put_repeated(b, '0', pad);
    for (int i = 0; i < len; i++)
        put(b, digits[i]);
    if (left)
        put_repeated(b, ' ', pad);
}

static void put_unsigned(struct pbuf *b, unsigned long long v, unsigned base, bool neg,
                         int width, bool left, bool zero)
{
    char tmp[24];
    int i = sizeof(tmp);
    do {
        tmp[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    put_field(b, tmp + i, (int)sizeof(tmp) - i, neg, width, left, zero);
}

static unsigned long long take_arg(va_list *ap, int longs, bool is_signed)
{
    if (longs >= 2)
        return va_arg(*ap, unsigned long long);
    if (longs == 1)
        return va_arg(*ap, unsigned long);
    return is_signed ? (unsigned long long)(long long)va_arg(*ap, int)
                     : va_arg(*ap, unsigned int);
}

int debug_vprintf(const char *fmt, va_list ap)
{
    struct pbuf b = { .len = 0, .total = 0 };
    va_list args;
    va_copy(args, ap);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&b, *p);
            continue;
        }
        bool left = false, zero = false;
        int width = 0, longs = 0;
        for (p++; *p == '-' || *p == '0'; p++)
            *p == '-' ? (left = true) : (zero = true);
        for (; *p >= '0' && *p <= '9'; p++)
            width = width * 10 + (*p - '0');
        for (; *p == 'l' || *p == 'z'; p++)
            longs += (*p == 'z') ? 2 : 1;
        if (*p == 'd' || *p == 'i') {
            long long v = (long long)take_arg(&args, longs, true);
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            put_unsigned(&b, mag, 10, v < 0, width, left, zero);
        } else if (*p == 'u' || *p == 'x') {
            put_unsigned(&b, take_arg(&args, longs, false), *p == 'u' ? 10 : 16, false, width,
                         left, zero);
        } else if (*p == 'p') {
            put(&b, '0');
            put(&b, 'x');
            put_unsigned(&b, (uintptr_t)va_arg(args, void *), 16, false, width, left, zero);
        } else if (*p == 's') {
            const char *s = va_arg(args, const char *);
            s = s ? s : "(null)";
            put_field(&b, s, (int)strlen(s), false, width, left, false);
        } else if (*p == 'c') {
            put(&b, (char)va_arg(args, int));
        } else {
            put(&b, '%');
            if (!*p)
                break;
            put(&b, *p);
        }
    }
    va_end(args);
    flush(&b);
    return b.total;
}

int debug_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = debug_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

void debug_puts(const char *s)
{
    sys_debug_write(s, strlen(s));
}
