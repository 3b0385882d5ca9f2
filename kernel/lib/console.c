/*
 * Synchronous kernel console output (kprintf), panic and orderly shutdown.
 * Messages a tenant can trigger do not come here: they are buffered
 * (log.c), and this output first finishes a buffered line a drain left
 * half written, or (panic, shutdown) writes out the whole buffer.
 */
#include "arch.h"
#include "kernel.h"
#include "lib/format.h"
#include "log.h"

/* Iterations of the wait loop that stand for one byte's line time in
 * console_put_sync(); 0 unless "bulkhead.slow_console" asked for them. */
static unsigned line_wait;

void console_slow_line(void)
{
    /* The loop below is five instructions an iteration on both ports
     * (load, add, store, compare, branch on a volatile counter): 17,400
     * iterations are 87 us, one byte at 115,200 baud, under QEMU's -icount
     * (an instruction a nanosecond), on a UART model that never waits. */
    line_wait = 17400;
}

void console_put_sync(char c)
{
    for (volatile unsigned i = 0; i < line_wait; i++)
        ;
    arch_console_putc(c);
}

static void console_sink(char c, void *ctx)
{
    (void)ctx;
    if (c == '\n')
        console_put_sync('\r');
    console_put_sync(c);
}

void kvprintf(const char *fmt, va_list ap)
{
    log_finish_line();
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
    log_flush();
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
    log_flush(); /* a run's log holds every buffered line and what was dropped */
    kprintf("bulkhead: shutdown: %s (status %d: %s)\n", why, status, name);
    arch_shutdown(status);
}
