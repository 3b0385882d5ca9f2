/*
 * debug_printf: formatted output on the kernel debug console, and the C
 * names snprintf / vsnprintf; all of them run the one engine of format.c.
 * debug_printf collects characters in a buffer on the caller's stack that
 * is flushed with one Debug: Write invocation (on the Debug cap in slot
 * BK_CAP_DEBUG) when full (256 bytes) and at the end of the call, so a
 * line costs one kernel entry rather than one per character. A program
 * without the cap prints nothing.
 */
#include <bulkhead/format.h>
#include <bulkhead/sys.h>

struct console {
    char data[256];
    size_t len;
};

static void console_flush(struct console *c)
{
    uint64_t written;
    if (c->len)
        sys_debug_write(BK_CAP_DEBUG, (uint64_t)(uintptr_t)c->data, c->len, &written);
    c->len = 0;
}

static void console_sink(void *ctx, const char *chars, size_t len)
{
    struct console *c = ctx;
    while (len > 0) {
        if (c->len == sizeof(c->data))
            console_flush(c);
        size_t room = sizeof(c->data) - c->len;
        size_t n = len < room ? len : room;
        memcpy(c->data + c->len, chars, n);
        c->len += n;
        chars += n;
        len -= n;
    }
}

int debug_vprintf(const char *fmt, va_list ap)
{
    struct console c = { .len = 0 };
    int n = bk_vformat(console_sink, &c, fmt, ap);
    console_flush(&c);
    return n;
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
    uint64_t written;
    sys_debug_write(BK_CAP_DEBUG, (uint64_t)(uintptr_t)s, strlen(s), &written);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    return bk_vsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = bk_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
