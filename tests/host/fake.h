/*
 * What host tests see of the fake architecture (tests/host/fake_*.c): the
 * state of the fake CPU, and the ways to enter the kernel as the arch trap
 * code does. Every kernel entry leaves through a hook that does not return
 * (arch_user_enter, arch_fastpath_switch, an idle CPU, arch_shutdown); the
 * fake turns each into a longjmp back to the fake_* call that entered the
 * kernel, which then says how the kernel left.
 */
#pragma once

#include "arch.h"

enum fake_exit {
    FAKE_EXIT_NONE = 0,
    FAKE_EXIT_USER,     /* arch_user_enter(): back to user mode in cpu.entered */
    FAKE_EXIT_FASTPATH, /* arch_fastpath_switch(): the fast path switched threads */
    FAKE_EXIT_IDLE,     /* nothing could run: arch_idle_wait() with no interrupt pending */
    FAKE_EXIT_SHUTDOWN, /* arch_shutdown() (cpu.shutdown_status) */
};

struct fake_cpu {
    /* Whether the fake syscall entry tries the fast paths first, as
     * both ports do for Call, ReplyRecv and Yield. */
    bool fastpath_enabled;
    enum fake_exit exit;
    arch_regs_t *entered;   /* the registers user mode continues with */
    arch_vspace_t *vspace;  /* the address space it continues in */
    int shutdown_status;
    uint64_t user_enters, fastpath_switches, fastpath_resumes, idle_waits;
};

extern struct fake_cpu fake_cpu;

/* The clock and the one-shot timer: arch_time_ns() reads now_ns, which
 * only the tests move; arch_timer_set_deadline() stores deadline_ns
 * (UINT64_MAX: none). Not reset between tests: like the kernel's timer
 * state (timer.c), time only goes on. */
struct fake_timer {
    uint64_t now_ns;
    uint64_t deadline_ns;
    uint64_t deadlines_set; /* arch_timer_set_deadline() calls */
    uint64_t counter_step;  /* ns each arch_counter() read moves the clock on (0: none) */
    uint64_t counter_reads; /* arch_counter() calls */
};

extern struct fake_timer fake_timer;

/* The syscall instruction in the current thread: `nr` and the six
 * argument registers are written into current_thread's registers, then
 * the kernel is entered as the arch's syscall entry does (the fast path
 * first for Call and ReplyRecv when fake_cpu.fastpath_enabled). */
enum fake_exit fake_syscall(unsigned long nr, const uint64_t args[6]);

/* Time moves on to the timer's deadline, if one is set and later than
 * now, and the timer interrupt arrives from user mode: with the tick
 * running (kw_init() starts it, as kernel_main() does), one tick. */
enum fake_exit fake_tick(void);
/* The timer interrupt from user mode, at the current time (an interrupt
 * that finds nothing due, or one a test has moved the time for). */
enum fake_exit fake_timer_interrupt(void);
/* A device interrupt from user mode. */
/* The current thread faults in user mode (what the ports' trap code makes
 * of an exception). */
enum fake_exit fake_user_fault(const struct user_fault *fault);
enum fake_exit fake_irq_from_user(unsigned irq);

/* The CPU went idle (FAKE_EXIT_IDLE): an interrupt arrives there, and the
 * idle loop goes on (picks a thread or idles again). */
enum fake_exit fake_irq_while_idle(unsigned irq);

/* The console: everything the kernel printed since the last reset. */
extern char fake_console[8192];
extern size_t fake_console_len;
void fake_console_reset(void);

/* ---- The interrupt controller (fake_irq.c) --------------------------------
 * Lines 0 .. FAKE_IRQ_LINES-1; line 0 is reserved, as PLIC source 0 is. */
#define FAKE_IRQ_LINES 64u

struct fake_irq_line {
    bool enabled; /* arch_irq_enable() ran, arch_irq_disable() did not since */
    bool masked;  /* an interrupt arrived and was not acked yet */
    bool waiting; /* raised while masked or disabled: arrives when possible */
    uint64_t delivered, acks;
};

extern struct fake_irq_line fake_irq_lines[FAKE_IRQ_LINES];

/* A device asserts `irq`. If the line is enabled and unmasked, the
 * interrupt is taken now (the line masks and the kernel's
 * kernel_irq_from_user(), or kernel_irq() in the idle loop if the CPU
 * idles, runs; returns how the kernel left); otherwise it waits and
 * FAKE_EXIT_NONE is returned. */
enum fake_exit fake_irq_raise(unsigned irq);

/* For arch_idle_wait(): takes the first waiting interrupt the controller
 * may deliver now (masking its line) and returns its line, or 0. */
unsigned fake_irq_take_waiting(void);
void fake_irq_reset(void);

/* ---- The IOMMU (fake_iommu.c) ---------------------------------------------
 * Off after fake_iommu_reset(false), as on a machine without one. On:
 * requester ids below FAKE_IOMMU_DEVICES are behind it. */
#define FAKE_IOMMU_DEVICES 256u

extern bool fake_iommu_on;
extern unsigned fake_iommu_invalidations; /* removals the device can no longer use */
void fake_iommu_reset(bool on);

/* What device `rid` reaches at `iova`: the frame and its VM_* rights. */
bool fake_iommu_translate(unsigned rid, uint64_t iova, paddr_t *pa, unsigned *rights);

/* The device's root IO page table, 0 for none. */
paddr_t fake_iommu_root(unsigned rid);

/* A DMA the IOMMU blocked, kept for IOSpaceControl: TakeFault (4 kept). */
void fake_iommu_fault(unsigned rid, uint64_t iova, bool write, unsigned reason);

/* ---- The software page table (fake_vspace.c) ------------------------------ */

/* TLB flushes the page-table hooks did: one per changed entry. */
extern uint64_t fake_tlb_flushes;

/* ---- Interrupts as the long kernel operations poll for them --------------
 * arch_interrupt_pending() (fake_arch.c): with `every` n > 0, an interrupt
 * is pending from the n-th poll after the last one was taken; 0: never.
 * arch_take_pending_interrupts() (fake_user.c) takes it, and delivers what
 * waits on the device lines and a timer deadline that has passed, as the
 * ports take interrupts in kernel mode. */
struct fake_pending {
    unsigned every;
    unsigned polls;       /* since the last one was taken */
    uint64_t polls_total; /* arch_interrupt_pending() calls */
    uint64_t taken;       /* arch_take_pending_interrupts*() calls that found one */
    uint64_t timer_reported; /* deadlines arch_take_pending_interrupts_but_timer() reported */
};

extern struct fake_pending fake_pending;

/* Resets the fake CPU, interrupt controller and counters for a new test. */
void fake_reset(void);
