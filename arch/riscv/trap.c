/*
 * Trap dispatch, called by trap.S. From user mode: a fault (turned into
 * struct user_fault), a timer interrupt or a device interrupt, each handed
 * to the generic kernel (syscalls go from trap.S straight to the IPC fast
 * path and kernel_syscall()). From kernel mode: a timer or device
 * interrupt inside arch_idle_wait() or arch_take_pending_interrupts(), the
 * boot's one probing CSR write, or an exception, which is reported in full
 * and ends in panic().
 */
#include "port.h"

#include "kernel.h"
#include "plic.h"
#include "riscv.h"
#include "smp.h"

/* Exception names, by scause code (Privileged 4.1.9, table 4.2). */
static const char *exception_name(uint64_t code)
{
    static const char *const names[] = {
        [EXC_INST_MISALIGNED] = "instruction address misaligned",
        [EXC_INST_ACCESS] = "instruction access fault",
        [EXC_ILLEGAL] = "illegal instruction",
        [EXC_BREAKPOINT] = "breakpoint",
        [EXC_LOAD_MISALIGNED] = "load address misaligned",
        [EXC_LOAD_ACCESS] = "load access fault",
        [EXC_STORE_MISALIGNED] = "store/AMO address misaligned",
        [EXC_STORE_ACCESS] = "store/AMO access fault",
        [EXC_ECALL_U] = "environment call from U-mode",
        [EXC_ECALL_S] = "environment call from S-mode",
        [EXC_INST_PAGE] = "instruction page fault",
        [EXC_LOAD_PAGE] = "load page fault",
        [EXC_STORE_PAGE] = "store/AMO page fault",
    };
    const char *name = code < ARRAY_SIZE(names) ? names[code] : NULL;
    return name ? name : "reserved exception";
}

/* ---- From user mode -------------------------------------------------- */

static enum user_fault_kind fault_kind(uint64_t code, unsigned *access)
{
    *access = 0;
    switch (code) {
    case EXC_INST_ACCESS:
    case EXC_INST_PAGE:
        *access = FAULT_ACCESS_EXEC;
        return USER_FAULT_PAGE;
    case EXC_LOAD_ACCESS:
    case EXC_LOAD_PAGE:
        *access = FAULT_ACCESS_READ;
        return USER_FAULT_PAGE;
    case EXC_STORE_ACCESS:
    case EXC_STORE_PAGE:
        *access = FAULT_ACCESS_WRITE;
        return USER_FAULT_PAGE;
    case EXC_ILLEGAL:
        return USER_FAULT_ILLEGAL;
    case EXC_INST_MISALIGNED:
    case EXC_LOAD_MISALIGNED:
    case EXC_STORE_MISALIGNED:
        return USER_FAULT_ALIGNMENT;
    case EXC_BREAKPOINT:
        return USER_FAULT_BREAKPOINT;
    default:
        return USER_FAULT_OTHER;
    }
}

static NORETURN void user_exception(struct riscv_cpu *cpu, uint64_t scause, uint64_t stval)
{
    struct user_fault fault = {
        .pc = cpu->user_regs->pc,
        .arch_code = scause,
        .arch_detail = stval,
    };
    fault.kind = fault_kind(scause, &fault.access);
    if (fault.kind == USER_FAULT_PAGE)
        fault.addr = stval;
    kernel_user_fault(&fault);
}

void riscv_user_trap(void)
{
    uint64_t scause = csr_read(scause), stval = csr_read(stval);
    struct riscv_cpu *cpu = this_cpu();
    if (scause & SCAUSE_INTERRUPT) {
        if ((scause & ~SCAUSE_INTERRUPT) == IRQ_S_TIMER)
            kernel_timer_interrupt_from_user(); /* sets the next deadline */
        if ((scause & ~SCAUSE_INTERRUPT) == IRQ_S_SOFT) {
            /* sip.SSIP (the sender set it through SBI) is cleared before
             * kernel_ipi() reads the requests: one stored after that read
             * comes with a new IPI, which sets it again (cpu.c). */
            csr_clear(sip, SIE_SSIE);
            kernel_ipi_from_user(); /* the scheduler may choose another thread */
        }
        unsigned irq;
        if ((scause & ~SCAUSE_INTERRUPT) == IRQ_S_EXT && plic_claim(&irq))
            kernel_irq_from_user(irq); /* the claim masks the source */
        /* Nothing else is enabled in sie: resume the thread. */
        arch_user_enter(cpu->user_regs, cpu->user_vspace);
    }
    /* Syscalls (ecall) go from trap.S to the IPC fast path and
     * kernel_syscall() directly. A thread's first FP instruction since it
     * lost the FPU traps as illegal (FS = Off): it gets the FPU and
     * retries the instruction (fpu.c). */
    if (scause == EXC_ILLEGAL && fpu_first_use(cpu, cpu->user_regs))
        arch_user_enter(cpu->user_regs, cpu->user_vspace);
    user_exception(cpu, scause, stval);
}

/* ---- From kernel mode ------------------------------------------------ */

static void report_kernel_exception(const struct kernel_frame *f)
{
    kprintf("\nKERNEL EXCEPTION: %s (scause 0x%lx) on hart %lu\n", exception_name(f->scause),
            f->scause, this_cpu()->hart_id);
    kprintf("  sepc    0x%016lx  stval 0x%016lx\n", f->sepc, f->stval);
    kprintf("  sstatus 0x%016lx  satp  0x%016lx\n", f->sstatus, csr_read(satp));
    riscv_print_gprs(f->gpr);
}

/* Set while riscv_csr_probe_write_stimecmp() runs its one instruction. */
static volatile bool probing, probe_faulted;

BOOT_CODE bool riscv_csr_probe_write_stimecmp(uint64_t value)
{
    probe_faulted = false;
    probing = true;
    __asm__ volatile("csrw 0x14D, %0" ::"r"(value) : "memory"); /* stimecmp */
    probing = false;
    return !probe_faulted;
}

void riscv_kernel_trap(struct kernel_frame *f)
{
    static bool reporting;
    if (f->scause == (SCAUSE_INTERRUPT | IRQ_S_TIMER)) {
        kernel_timer_interrupt(); /* sets the next deadline */
        return;
    }
    if (f->scause == (SCAUSE_INTERRUPT | IRQ_S_SOFT)) {
        csr_clear(sip, SIE_SSIE); /* first: as from user mode above */
        kernel_ipi();
        return;
    }
    if (f->scause == EXC_ILLEGAL && probing) {
        probe_faulted = true;
        f->sepc += 4; /* csrw has no compressed form */
        return;
    }
    if (f->scause == (SCAUSE_INTERRUPT | IRQ_S_EXT)) {
        unsigned irq;
        if (plic_claim(&irq)) /* the claim masks the source */
            kernel_irq(irq);
        return;
    }
    if (f->scause & SCAUSE_INTERRUPT) /* not enabled in sie: ignore */
        return;
    if (reporting) /* faulted while reporting a fault: just stop */
        arch_shutdown(KERNEL_EXIT_PANIC);
    reporting = true;
    report_kernel_exception(f);
    panic("%s in kernel mode at sepc 0x%lx (stval 0x%lx)", exception_name(f->scause), f->sepc,
          f->stval);
}
