/*
 * Trap dispatch, called from trap.S: exceptions and interrupts from user
 * mode become kernel_user_fault() / kernel_timer_interrupt_from_user() /
 * kernel_irq_from_user(); syscalls go to kernel_syscall(); in kernel mode
 * the timer and device interrupts (only inside arch_idle_wait() and
 * arch_take_pending_interrupts()) call kernel_timer_interrupt() /
 * kernel_irq() and any exception prints a full report and panics.
 */
#include "ioapic.h"
#include "iommu.h"
#include "smp.h"
#include "x86.h"

/* Exception names, SDM vol. 3, table 6-1. */
static const char *const exception_names[32] = {
    [0] = "#DE divide error",           [1] = "#DB debug",
    [2] = "NMI",                        [3] = "#BP breakpoint",
    [4] = "#OF overflow",               [5] = "#BR bound range",
    [6] = "#UD invalid opcode",         [7] = "#NM device not available",
    [8] = "#DF double fault",           [9] = "coprocessor segment overrun",
    [10] = "#TS invalid TSS",           [11] = "#NP segment not present",
    [12] = "#SS stack fault",           [13] = "#GP general protection",
    [14] = "#PF page fault",            [16] = "#MF x87 error",
    [17] = "#AC alignment check",       [18] = "#MC machine check",
    [19] = "#XM SIMD error",            [20] = "#VE virtualization",
    [21] = "#CP control protection",    [28] = "#HV hypervisor injection",
    [29] = "#VC VMM communication",     [30] = "#SX security",
};

static const char *vector_name(uint64_t vector)
{
    if (vector < 32)
        return exception_names[vector] ? exception_names[vector] : "reserved exception";
    if (vector == VECTOR_TIMER)
        return "APIC timer";
    if (vector == VECTOR_IPI)
        return "kernel IPI";
    if (x86_irq_is_vector(vector))
        return "device interrupt";
    if (vector == VECTOR_IOMMU_FAULT)
        return "IOMMU fault event";
    return "interrupt";
}

/* Vectors with their own IST stack: the frame is not the thread's, and
 * none of them can be recovered from. */
static bool is_fatal_vector(uint64_t vector)
{
    return vector == VECTOR_NMI || vector == VECTOR_DF || vector == VECTOR_MC;
}

/* ---- The kernel exception report --------------------------------------- */

/* Decodes a #PF error code (SDM vol. 3, 4.7): P, W/R, U/S, RSVD, I/D, PK, SS. */
static void print_pf_error(uint64_t error)
{
    kprintf(" [%s %s %s%s%s%s]", (error & 1) ? "protection" : "not-present",
            (error & 16) ? "fetch" : (error & 2) ? "write" : "read",
            (error & 4) ? "user" : "supervisor", (error & 8) ? " reserved-bit" : "",
            (error & 32) ? " pkey" : "", (error & 64) ? " shadow-stack" : "");
}

static void print_gprs(const arch_regs_t *r)
{
    kprintf("  rax %016lx  rbx %016lx  rcx %016lx\n", r->rax, r->rbx, r->rcx);
    kprintf("  rdx %016lx  rsi %016lx  rdi %016lx\n", r->rdx, r->rsi, r->rdi);
    kprintf("  rbp %016lx  r8  %016lx  r9  %016lx\n", r->rbp, r->r8, r->r9);
    kprintf("  r10 %016lx  r11 %016lx  r12 %016lx\n", r->r10, r->r11, r->r12);
    kprintf("  r13 %016lx  r14 %016lx  r15 %016lx\n", r->r13, r->r14, r->r15);
}

static void print_report(const arch_regs_t *f, const char *where)
{
    uint64_t cr2 = read_cr2();
    kprintf("\nx86_64: %s exception: %s (vector %lu), error code 0x%lx", where,
            vector_name(f->vector), f->vector, f->error_code);
    if (f->vector == VECTOR_PF)
        print_pf_error(f->error_code);
    kprintf("\n  rip %016lx  cs  %04lx  rflags %08lx\n", f->rip, f->cs, f->rflags);
    kprintf("  rsp %016lx  ss  %04lx\n", f->rsp, f->ss);
    kprintf("  cr0 %016lx  cr2 %016lx  cr3 %016lx  cr4 %016lx\n", read_cr0(), cr2,
            read_cr3(), read_cr4());
    print_gprs(f);
    const struct x86_stacks *s = &x86_cpu0_stacks;
    if (f->vector == VECTOR_DF && f->rsp >= (uint64_t)s->guard0 - PAGE_SIZE &&
        f->rsp < (uint64_t)s->kernel + PAGE_SIZE)
        kprintf("  (rsp is at the kernel stack's guard page: kernel stack overflow)\n");
}

/* Reports an unrecoverable trap and stops the machine. A fault while
 * reporting stops at once rather than recursing. Uses no per-CPU state:
 * GS base may be the user's if an NMI or #MC hit the entry path. */
void x86_fatal_trap(const arch_regs_t *frame, const char *where)
{
    static volatile int reporting;
    if (reporting++) {
        kprintf("\nx86_64: %s during the exception report; stopping\n",
                vector_name(frame->vector));
        arch_shutdown(KERNEL_EXIT_PANIC);
    }
    print_report(frame, where);
    panic("%s exception %s at rip 0x%lx", where, vector_name(frame->vector), frame->rip);
}

/* ---- From kernel mode ---------------------------------------------------- */

void x86_trap_from_kernel(arch_regs_t *frame)
{
    uint64_t v = frame->vector;
    if (v == VECTOR_TIMER) {
        x86_apic_eoi(); /* first: the handler may take long */
        if (!x86_timer_interrupt()) /* early or stale, re-armed */
            return;
        struct x86_cpu *c = x86_this_cpu();
        if (c->timer_noting)
            c->timer_noted = true; /* arch_take_pending_interrupts_but_timer() */
        else
            kernel_timer_interrupt();
        return;
    }
    if (v == VECTOR_IPI) {
        x86_apic_eoi();
        kernel_ipi();
        return;
    }
    if (x86_irq_is_vector(v)) {
        unsigned irq;
        if (x86_irq_take(v, &irq)) /* masks the line and sends the EOI */
            kernel_irq(irq);
        return;
    }
    if (v == VECTOR_IOMMU_FAULT) {
        unsigned line;
        bool report = x86_iommu_fault_interrupt(&line);
        x86_apic_eoi();
        if (report)
            kernel_irq(line);
        return;
    }
    if (v == VECTOR_SPURIOUS || (v >= VECTOR_PIC_BASE && v < VECTOR_PIC_BASE + 16))
        return; /* spurious: no EOI (SDM vol. 3, 11.9) */
    if (v >= 32) {
        kprintf("x86_64: unexpected interrupt vector %lu in kernel mode, ignored\n", v);
        x86_apic_eoi();
        return;
    }
    x86_fatal_trap(frame, "kernel");
}

/* ---- From user mode ------------------------------------------------------ */

static enum user_fault_kind fault_kind(uint64_t vector)
{
    switch (vector) {
    case VECTOR_PF: return USER_FAULT_PAGE;
    case VECTOR_UD: return USER_FAULT_ILLEGAL;
    case VECTOR_GP:
    case VECTOR_SS:
    case VECTOR_NP: return USER_FAULT_PROTECTION;
    case VECTOR_DE:
    case VECTOR_MF: /* unmasked x87 exception (CR0.NE set) */
    case VECTOR_XM: /* unmasked SSE/AVX exception (CR4.OSXMMEXCPT set) */
        return USER_FAULT_ARITHMETIC;
    case VECTOR_BP: return USER_FAULT_BREAKPOINT;
    case VECTOR_AC: return USER_FAULT_ALIGNMENT;
    default: return USER_FAULT_OTHER;
    }
}

/* An exception in user mode. For #PF the address is CR2 and the access
 * comes from error code bits 1 (write) and 4 (instruction fetch). For #BP
 * (a trap) pc is the instruction after int3. */
static NORETURN void user_exception(arch_regs_t *regs)
{
    struct user_fault f = {
        .kind = fault_kind(regs->vector),
        .pc = regs->rip,
        .arch_code = regs->vector,
        .arch_detail = regs->error_code,
    };
    if (regs->vector == VECTOR_PF) {
        f.addr = read_cr2();
        f.access = (regs->error_code & 16) ? FAULT_ACCESS_EXEC
                   : (regs->error_code & 2) ? FAULT_ACCESS_WRITE
                                            : FAULT_ACCESS_READ;
    }
    kernel_user_fault(&f);
}

void x86_trap_from_user(arch_regs_t *regs)
{
    struct x86_cpu *cpu = x86_this_cpu();
    uint64_t v = regs->vector;

    if (is_fatal_vector(v))
        x86_fatal_trap(regs, "user-mode");
    x86_save_user_bases(cpu, regs);
    if (v == VECTOR_NM) {
        /* The thread's first FPU instruction with CR0.TS set (fpu.c):
         * give it its FPU state and run the instruction again. */
        x86_fpu_device_not_available(cpu, regs);
        x86_resume_user(cpu, regs);
    }
    if (v < 32)
        user_exception(regs);
    if (v == VECTOR_TIMER) {
        x86_apic_eoi();
        if (x86_timer_interrupt()) /* false: early or stale, re-armed */
            kernel_timer_interrupt_from_user();
        x86_resume_user(cpu, regs);
    }
    if (v == VECTOR_IPI) {
        x86_apic_eoi();
        kernel_ipi_from_user(); /* the scheduler may choose another thread */
    }
    if (x86_irq_is_vector(v)) {
        unsigned irq;
        if (x86_irq_take(v, &irq)) /* masks the line and sends the EOI */
            kernel_irq_from_user(irq);
        x86_resume_user(cpu, regs);
    }
    if (v == VECTOR_IOMMU_FAULT) {
        unsigned line;
        bool report = x86_iommu_fault_interrupt(&line);
        x86_apic_eoi();
        if (report)
            kernel_irq_from_user(line);
        x86_resume_user(cpu, regs);
    }
    if (v != VECTOR_SPURIOUS && !(v >= VECTOR_PIC_BASE && v < VECTOR_PIC_BASE + 16)) {
        kprintf("x86_64: unexpected interrupt vector %lu in user mode, ignored\n", v);
        x86_apic_eoi();
    }
    x86_resume_user(cpu, regs);
}
