/*
 * Kernel console output (kprintf), panic and orderly shutdown.
 */
#include "arch.h"
#include "kernel.h"
#include "lib/format.h"
#include "log.h"

static void console_sink(char c, void *ctx)
{
    (void)ctx;
    if (c == '\n')
        arch_console_putc('\r');
    arch_console_putc(c);
}

void kvprintf(const char *fmt, va_list ap)
{
    format(console_sink, NULL, fmt, ap);
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    va_list ap;
    kprintf("\nPANIC: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    kernel_shutdown(KERNEL_EXIT_PANIC, "kernel panic");
}

void kernel_shutdown(int status, const char *why)
{
    static const char *const names[] = { "pass", "fail", "user fault", "panic" };
    const char *name = (status >= 0 && status < (int)ARRAY_SIZE(names)) ? names[status] : "?";
    log_print_suppressed(); /* a run's log never hides that messages were dropped */
    kprintf("bulkhead: shutdown: %s (status %d: %s)\n", why, status, name);
    arch_shutdown(status);
}
