/*
 * Running threads: resuming the current one, the tick counter and the idle
 * loop. (The scheduler proper arrives with TCB objects.)
 */
#include "thread.h"

#include "kernel.h"

struct thread *current_thread;
static volatile uint64_t ticks;

uint64_t kernel_ticks(void)
{
    return ticks;
}

void kernel_tick(void)
{
    ticks++;
}

void kernel_tick_from_user(void)
{
    ticks++;
    thread_resume_current();
}

void thread_resume_current(void)
{
    struct thread *t = current_thread;
    if (t && t->state == THREAD_RUNNABLE)
        arch_user_enter(&t->regs, t->vspace);
    kernel_idle_then_shutdown(2, KERNEL_EXIT_FAIL, "no runnable thread");
}

void kernel_idle_then_shutdown(unsigned wait_ticks, int status, const char *why)
{
    uint64_t start = ticks;
    while (ticks - start < wait_ticks)
        arch_idle_wait();
    kprintf("bulkhead: kernel still running: %llu timer ticks after the last thread stopped\n",
            (unsigned long long)(ticks - start));
    kernel_shutdown(status, why);
}
