/*
 * User threads' register state (arch_regs_*), syscall argument decoding and
 * the way into user mode (arch_user_enter), including the FS/GS base
 * registers, which live in MSRs rather than in the trap frame.
 *
 * Syscall ABI (kernel/abi.toml): number in rax, arguments in rdi, rsi,
 * rdx, r10, r8, r9, result in rax; the syscall instruction clobbers rcx
 * (return rip) and r11 (rflags).
 */
#include "x86.h"

void arch_regs_init(arch_regs_t *regs, vaddr_t entry, vaddr_t sp, uintptr_t arg)
{
    *regs = (arch_regs_t){
        .rip = entry,
        .rsp = sp,
        .rdi = arg,
        .rflags = RFLAGS_FIXED | RFLAGS_IF,
        .cs = USER_CS,
        .ss = USER_SS,
        .vector = ENTRY_NONE, /* iretq: all registers as set here */
    };
}

unsigned long arch_syscall_number(const arch_regs_t *regs)
{
    return regs->rax;
}

unsigned long arch_syscall_arg(const arch_regs_t *regs, unsigned index)
{
    switch (index) {
    case 0: return regs->rdi;
    case 1: return regs->rsi;
    case 2: return regs->rdx;
    case 3: return regs->r10;
    case 4: return regs->r8;
    case 5: return regs->r9;
    default: return 0;
    }
}

void arch_syscall_set_result(arch_regs_t *regs, unsigned long value)
{
    regs->rax = value;
}

vaddr_t arch_regs_pc(const arch_regs_t *regs)
{
    return regs->rip;
}

void arch_syscall_set_arg(arch_regs_t *regs, unsigned index, unsigned long value)
{
    switch (index) {
    case 0: regs->rdi = value; break;
    case 1: regs->rsi = value; break;
    case 2: regs->rdx = value; break;
    case 3: regs->r10 = value; break;
    case 4: regs->r8 = value; break;
    case 5: regs->r9 = value; break;
    default: break;
    }
}

void arch_regs_print(const arch_regs_t *r)
{
    kprintf("  rip %016lx  rsp %016lx  rflags %08lx\n", r->rip, r->rsp, r->rflags);
    kprintf("  rax %016lx  rbx %016lx  rcx %016lx\n", r->rax, r->rbx, r->rcx);
    kprintf("  rdx %016lx  rsi %016lx  rdi %016lx\n", r->rdx, r->rsi, r->rdi);
    kprintf("  rbp %016lx  r8  %016lx  r9  %016lx\n", r->rbp, r->r8, r->r9);
    kprintf("  r10 %016lx  r11 %016lx  r12 %016lx\n", r->r10, r->r11, r->r12);
    kprintf("  r13 %016lx  r14 %016lx  r15 %016lx\n", r->r13, r->r14, r->r15);
    kprintf("  fs_base %016lx  gs_base %016lx\n", r->fs_base, r->gs_base);
}

/* ---- FS and GS base ------------------------------------------------------
 * User code may change them (wrfsbase/wrgsbase when CR4.FSGSBASE is on, or
 * by loading a segment register), so they are read back on every entry.
 * While the kernel runs, the user's GS base sits in KERNEL_GS_BASE
 * (swapgs). The MSRs are written on exit only when they differ. */

void x86_save_user_bases(struct x86_cpu *cpu, arch_regs_t *regs)
{
    regs->fs_base = cpu->hw_fs_base = rdmsr(MSR_FS_BASE);
    regs->gs_base = cpu->hw_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
}

static void load_user_bases(struct x86_cpu *cpu, arch_regs_t *regs)
{
    /* A non-canonical base would make wrmsr raise #GP in the kernel. */
    if (!x86_canonical(regs->fs_base))
        regs->fs_base = 0;
    if (!x86_canonical(regs->gs_base))
        regs->gs_base = 0;
    if (cpu->hw_fs_base != regs->fs_base) {
        wrmsr(MSR_FS_BASE, regs->fs_base);
        cpu->hw_fs_base = regs->fs_base;
    }
    if (cpu->hw_gs_base != regs->gs_base) {
        wrmsr(MSR_KERNEL_GS_BASE, regs->gs_base);
        cpu->hw_gs_base = regs->gs_base;
    }
}

/* ---- Entering user mode -------------------------------------------------- */

/* A thread whose rip is not a user address would fault in the kernel on
 * sysretq (Intel: #GP in ring 0 for a non-canonical rcx) or iretq, so the
 * fault it would have taken in user mode, an instruction fetch page fault,
 * is raised here, on a fresh kernel stack. */
static NORETURN void raise_bad_rip(void)
{
    kernel_user_fault(&x86_this_cpu()->fault);
}

/* Returns to `regs` in the address space already loaded. */
void x86_resume_user(struct x86_cpu *cpu, arch_regs_t *regs)
{
    if (!IS_ALIGNED((uintptr_t)regs, 16))
        panic("arch_user_enter: arch_regs_t at %p is not 16-byte aligned", (void *)regs);
    cpu->user_regs = regs;
    cpu->rsp0 = (uint64_t)(regs + 1);
    cpu->tss.rsp[0] = cpu->rsp0;
    if (regs->rip >= ARCH_USER_VADDR_MAX) {
        cpu->fault = (struct user_fault){
            .kind = USER_FAULT_PAGE,
            .pc = regs->rip,
            .addr = regs->rip,
            .access = FAULT_ACCESS_EXEC,
            .arch_code = VECTOR_PF,
            .arch_detail = 0x14, /* #PF error code: user, instruction fetch */
        };
        x86_call_on_kernel_stack(raise_bad_rip);
    }
    /* Only these selectors and flags may reach iretq/sysretq. */
    regs->cs = USER_CS;
    regs->ss = USER_SS;
    regs->rflags = (regs->rflags & RFLAGS_USER_MASK) | RFLAGS_IF | RFLAGS_FIXED;
    load_user_bases(cpu, regs);
    if (regs->vector == ENTRY_SYSCALL)
        x86_return_sysret(regs);
    x86_return_iret(regs);
}

void arch_user_enter(arch_regs_t *regs, arch_vspace_t *vs)
{
    struct x86_cpu *cpu = x86_this_cpu();
    x86_vspace_load(cpu, vs);
    x86_resume_user(cpu, regs);
}
