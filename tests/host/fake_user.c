/*
 * The fake architecture's CPU: user registers in memory (laid out as on
 * RISC-V: tests/host/fake_arch/arch_types.h), the ways in and out of the
 * kernel, the console, power and timer. The kernel's ways back to user
 * mode never return; here they longjmp to the fake_* call that entered
 * the kernel (tests/host/fake.h).
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bulkhead/abi.h>

#include "fake.h"
#include "kernel.h"
#include "thread.h"

struct fake_cpu fake_cpu = { .fastpath_enabled = true };
char fake_console[8192];
size_t fake_console_len;

static jmp_buf kernel_exit;
static bool in_kernel;

#define REG_SP 2
#define REG_TP 4
#define REG_A0 10
#define REG_A7 17
#define FCSR_INDEX 32

/* ---- Leaving the kernel -------------------------------------------------- */

static NORETURN void leave(enum fake_exit how)
{
    if (!in_kernel) {
        fprintf(stderr, "fake arch: the kernel left (%d) while no fake_* call entered it\n", how);
        abort();
    }
    fake_cpu.exit = how;
    in_kernel = false;
    longjmp(kernel_exit, 1);
}

void arch_user_enter(arch_regs_t *regs, arch_vspace_t *vs)
{
    fake_cpu.entered = regs;
    fake_cpu.vspace = vs;
    fake_cpu.user_enters++;
    regs->full_restore = false;
    leave(FAKE_EXIT_USER);
}

void arch_fastpath_switch(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    (void)from;
    fake_cpu.entered = to;
    fake_cpu.vspace = vs;
    fake_cpu.fastpath_switches++;
    leave(FAKE_EXIT_FASTPATH);
}

/* The host tests run one CPU: kernel_fastpath_smp() and
 * kernel_fastpath_unlocked() never switch. */
static void smp_switch_ran(const char *which)
{
    fprintf(stderr, "fake arch: the SMP fast path (%s) ran with one CPU\n", which);
    abort();
}

void arch_fastpath_switch_smp(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    (void)from;
    (void)to;
    (void)vs;
    smp_switch_ran("under the lock");
}

void arch_fastpath_switch_unlocked(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    (void)from;
    (void)to;
    (void)vs;
    smp_switch_ran("without the lock");
}

/* The Yield fast path: back to user mode in the thread that yielded, as
 * arch_user_enter() would with its own registers and address space (so
 * the scenarios' results match the general path's), counted apart. */
void arch_fastpath_resume(arch_regs_t *regs)
{
    fake_cpu.entered = regs;
    fake_cpu.vspace = current_thread->vspace;
    fake_cpu.fastpath_resumes++;
    regs->full_restore = false; /* a syscall entry saved them */
    leave(FAKE_EXIT_USER);
}

/* The fake keeps no user state outside arch_regs_t. */
void arch_fastpath_to_scheduler(arch_regs_t *regs)
{
    (void)regs;
}

void arch_shutdown(int status)
{
    fake_cpu.shutdown_status = status;
    leave(FAKE_EXIT_SHUTDOWN);
}

/* The idle CPU takes an interrupt that waits on an enabled line; with
 * none, the test gets control back (FAKE_EXIT_IDLE) and may raise one
 * (fake_irq_raise()). */

void arch_idle_wait(void)
{
    fake_cpu.idle_waits++;
    unsigned irq = fake_irq_take_waiting();
    if (irq)
        kernel_irq(irq);
    else
        leave(FAKE_EXIT_IDLE);
}

/* The interrupt fake_pending made pending is taken. */
static void take_fake_pending(void)
{
    struct fake_pending *p = &fake_pending;
    if (p->every && p->polls == p->every) {
        p->polls = 0;
        p->taken++;
    }
}

static void take_device_lines(void)
{
    for (unsigned irq; (irq = fake_irq_take_waiting()) != 0;)
        kernel_irq(irq);
}

/* As the ports do in kernel mode: the timer's handler if its deadline
 * has passed, then each device line that may deliver. */
void arch_take_pending_interrupts(void)
{
    take_fake_pending();
    if (fake_timer.deadline_ns <= fake_timer.now_ns)
        kernel_timer_interrupt();
    take_device_lines();
}

/* The same, except that a deadline passed is reported, not served (the
 * ports' timer interrupt is consumed; here the deadline moves only when
 * the kernel sets the next one). */
bool arch_take_pending_interrupts_but_timer(void)
{
    take_fake_pending();
    fake_pending.timer_reported += fake_timer.deadline_ns <= fake_timer.now_ns;
    take_device_lines();
    return fake_timer.deadline_ns <= fake_timer.now_ns;
}

struct fake_timer fake_timer = { .deadline_ns = UINT64_MAX };

uint64_t arch_time_ns(void)
{
    return fake_timer.now_ns;
}

void fake_spin_pause(void)
{
    fake_timer.now_ns++;
}

/* One count a nanosecond. With counter_step set, the clock moves on after
 * each read, as if the kernel's work between two reads took that long. */
uint64_t fake_counter(void)
{
    uint64_t now = fake_timer.now_ns;
    fake_timer.now_ns += fake_timer.counter_step;
    fake_timer.counter_reads++;
    return now;
}

uint64_t arch_counter_time_ns(uint64_t counter)
{
    return counter;
}

uint64_t arch_counter_ns(uint64_t counts)
{
    return counts;
}

uint64_t arch_ns_counts(uint64_t ns)
{
    return ns;
}

void arch_timer_set_deadline(uint64_t ns)
{
    fake_timer.deadline_ns = ns;
    fake_timer.deadlines_set++;
}

/* ---- Entering the kernel ---------------------------------------------------- */

typedef void (*kernel_entry_fn)(unsigned arg);

static enum fake_exit enter(kernel_entry_fn fn, unsigned arg)
{
    if (in_kernel) {
        fprintf(stderr, "fake arch: kernel entered twice\n");
        abort();
    }
    fake_cpu.exit = FAKE_EXIT_NONE;
    fake_cpu.entered = NULL;
    if (setjmp(kernel_exit) == 0) {
        in_kernel = true;
        fn(arg);
        fprintf(stderr, "fake arch: a kernel entry point returned\n");
        abort();
    }
    return fake_cpu.exit;
}

/* What the ports' syscall entry does: the fast path for Call, ReplyRecv,
 * Yield, Recv and Send (it returns when it does not apply), then the
 * general path. */
static void syscall_entry(unsigned nr)
{
    /* The fast paths take the syscall's argument registers as they are. */
    const uint64_t *a = arch_regs_args(&current_thread->regs);
    if (fake_cpu.fastpath_enabled && nr == BK_SYS_CALL)
        kernel_fastpath_call(a[0], a[1], a[2], a[3], a[4], a[5]);
    if (fake_cpu.fastpath_enabled && nr == BK_SYS_REPLY_RECV)
        kernel_fastpath_reply_recv(a[0], a[1], a[2], a[3], a[4], a[5]);
    if (fake_cpu.fastpath_enabled && nr == BK_SYS_YIELD)
        kernel_fastpath_yield(a[0], a[1], a[2], a[3], a[4], a[5]);
    if (fake_cpu.fastpath_enabled && nr == BK_SYS_RECV)
        kernel_fastpath_recv(a[0], a[1], a[2], a[3], a[4], a[5]);
    if (fake_cpu.fastpath_enabled && nr == BK_SYS_SEND)
        kernel_fastpath_send(a[0], a[1], a[2], a[3], a[4], a[5]);
    kernel_syscall();
}

enum fake_exit fake_syscall(unsigned long nr, const uint64_t args[6])
{
    arch_regs_t *regs = &current_thread->regs;
    regs->gpr[REG_A7] = nr;
    for (unsigned i = 0; i < 6; i++)
        regs->gpr[REG_A0 + i] = args[i];
    return enter(syscall_entry, (unsigned)nr);
}

static void timer_entry(unsigned unused)
{
    (void)unused;
    kernel_timer_interrupt_from_user();
}

enum fake_exit fake_timer_interrupt(void)
{
    return enter(timer_entry, 0);
}

enum fake_exit fake_tick(void)
{
    if (fake_timer.deadline_ns != UINT64_MAX && fake_timer.deadline_ns > fake_timer.now_ns)
        fake_timer.now_ns = fake_timer.deadline_ns;
    return fake_timer_interrupt();
}

static const struct user_fault *pending_fault;

static void fault_entry(unsigned unused)
{
    (void)unused;
    kernel_user_fault(pending_fault);
}

enum fake_exit fake_user_fault(const struct user_fault *fault)
{
    pending_fault = fault;
    return enter(fault_entry, 0);
}

static void irq_user_entry(unsigned irq)
{
    kernel_irq_from_user(irq);
}

enum fake_exit fake_irq_from_user(unsigned irq)
{
    return enter(irq_user_entry, irq);
}

/* The rest of the idle loop (sched.c's idle_until_runnable) after the
 * interrupt: choose a thread and run it, or idle again. */
static void irq_idle_entry(unsigned irq)
{
    kernel_irq(irq);
    thread_resume_current();
}

enum fake_exit fake_irq_while_idle(unsigned irq)
{
    return enter(irq_idle_entry, irq);
}

/* ---- Console ---------------------------------------------------------------- */

void arch_console_putc(char c)
{
    if (c == '\r')
        return;
    if (fake_console_len + 1 < sizeof(fake_console))
        fake_console[fake_console_len++] = c;
    fake_console[fake_console_len] = '\0';
    if (getenv("FAKE_CONSOLE"))
        putchar(c);
}

/* The fake UART is never busy: kernel/log.c's drain writes what it may. */
bool arch_console_try_putc(char c)
{
    arch_console_putc(c);
    return true;
}

/* The fake console receives nothing and has no receive interrupt. */
int arch_console_getc(void)
{
    return -1;
}

int arch_console_rx_line(void)
{
    return -1;
}

void fake_console_reset(void)
{
    fake_console_len = 0;
    fake_console[0] = '\0';
}

/* ---- Registers ------------------------------------------------------------------ */

void arch_regs_init(arch_regs_t *regs, vaddr_t entry, vaddr_t sp, uintptr_t arg)
{
    bool counters_off = regs->counters_off; /* a policy, not a register */
    memset(regs, 0, sizeof(*regs));
    regs->pc = entry;
    regs->gpr[REG_SP] = sp;
    regs->gpr[REG_A0] = arg;
    regs->counters_off = counters_off;
}

void arch_regs_release(arch_regs_t *regs)
{
    regs->released = true;
}

unsigned long arch_syscall_number(const arch_regs_t *regs)
{
    return arch_regs_syscall_number(regs);
}

unsigned long arch_syscall_arg(const arch_regs_t *regs, unsigned index)
{
    return regs->gpr[REG_A0 + index];
}

void arch_syscall_set_result(arch_regs_t *regs, unsigned long value)
{
    regs->gpr[REG_A0] = value;
}

void arch_syscall_set_arg(arch_regs_t *regs, unsigned index, unsigned long value)
{
    regs->gpr[REG_A0 + index] = value;
}

vaddr_t arch_regs_pc(const arch_regs_t *regs)
{
    return regs->pc;
}

vaddr_t arch_regs_sp(const arch_regs_t *regs)
{
    return regs->gpr[REG_SP];
}

/* Index 0 is pc, 1..31 are x1..x31 (kernel/abi.toml's RISC-V order). */
unsigned arch_regs_count(void)
{
    return 32;
}

uint64_t arch_regs_get(const arch_regs_t *regs, unsigned index)
{
    return index == 0 ? regs->pc : regs->gpr[index];
}

/* The fake CPU, like one with compressed instructions, cannot run code
 * at an odd address: the one value it refuses. */
bool arch_regs_set(arch_regs_t *regs, unsigned index, uint64_t value)
{
    if (index == 0 && (value & 1))
        return false;
    if (index == 0)
        regs->pc = value;
    else
        regs->gpr[index] = value;
    regs->full_restore = true;
    return true;
}

void arch_regs_set_counter_access(arch_regs_t *regs, bool allow)
{
    regs->counters_off = !allow;
}

bool arch_regs_is_thread_pointer(unsigned index)
{
    return index == REG_TP;
}

unsigned arch_fpu_regs_count(void)
{
    return FAKE_FPU_REGS;
}

uint64_t arch_fpu_reg_get(arch_regs_t *regs, unsigned index)
{
    return regs->fpr[index];
}

/* fcsr has 8 bits (frm and fflags); the rest cannot be set. */
bool arch_fpu_reg_set(arch_regs_t *regs, unsigned index, uint64_t value)
{
    if (index == FCSR_INDEX && value > 0xff)
        return false;
    regs->fpr[index] = value;
    return true;
}

void arch_regs_print(const arch_regs_t *regs)
{
    kprintf("pc %lx sp %lx a0 %lx\n", (unsigned long)regs->pc,
            (unsigned long)regs->gpr[REG_SP], (unsigned long)regs->gpr[REG_A0]);
}

/* ---- Reset ------------------------------------------------------------------------ */

void fake_reset(void)
{
    fake_cpu = (struct fake_cpu){ .fastpath_enabled = true };
    fake_pending = (struct fake_pending){ 0 };
    fake_irq_reset();
    fake_tlb_flushes = 0;
    fake_console_reset();
}
