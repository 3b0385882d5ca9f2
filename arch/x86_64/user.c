/*
 * User threads' register state (arch_regs_*), syscall argument decoding and
 * the way into user mode (arch_user_enter), including the FS/GS base
 * registers, which live in MSRs rather than in the trap frame, and the
 * thread's access to the time-stamp counter (CR4.TSD).
 *
 * Syscall ABI (kernel/abi.toml): number in rax, arguments in rdi, rsi,
 * rdx, r10, r8, r9, result in rax; the syscall instruction clobbers rcx
 * (return rip) and r11 (rflags).
 */
#include "smp.h"
#include "x86.h"

/* The FPU state starts as the ABI's initial one (fpu_valid false, see
 * fpu.c) with the FPU off for the thread until its first FPU instruction
 * (fpu_self NULL); a state of the old thread still live in the CPU is
 * dropped first. */
void arch_regs_init(arch_regs_t *regs, vaddr_t entry, vaddr_t sp, uintptr_t arg)
{
    uint64_t counters_off = regs->counters_off; /* a policy, not a register */
    arch_regs_release(regs);
    *regs = (arch_regs_t){
        .rip = entry,
        .rsp = sp,
        .rdi = arg,
        .rflags = RFLAGS_FIXED | RFLAGS_IF,
        .cs = USER_CS,
        .ss = USER_SS,
        .vector = ENTRY_NONE, /* iretq: all registers as set here */
        .counters_off = counters_off,
    };
}

unsigned long arch_syscall_number(const arch_regs_t *regs)
{
    return arch_regs_syscall_number(regs);
}

unsigned long arch_syscall_arg(const arch_regs_t *regs, unsigned index)
{
    return index < 6 ? regs->args[index] : 0;
}

void arch_syscall_set_result(arch_regs_t *regs, unsigned long value)
{
    regs->rax = value;
}

/* The syscall entry saved rip = the instruction after `syscall` (the CPU
 * put it in rcx), and `syscall` is 2 bytes (0f 05). rax still holds the
 * number and rdi..r9 the arguments (no result was set), and rcx, r11 are
 * clobbered by the syscall anyway, so the thread repeats the call as it
 * made it. */
void arch_regs_restart_syscall(arch_regs_t *regs)
{
    regs->rip -= 2;
}

vaddr_t arch_regs_sp(const arch_regs_t *regs)
{
    return regs->rsp;
}

vaddr_t arch_regs_pc(const arch_regs_t *regs)
{
    return regs->rip;
}

void arch_syscall_set_arg(arch_regs_t *regs, unsigned index, unsigned long value)
{
    if (index < 6)
        regs->args[index] = value;
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
 * by loading a segment register), so they are read back on every entry
 * that may switch threads. While the kernel runs, the user's GS base sits
 * in KERNEL_GS_BASE (swapgs). The MSRs are written on exit only when they
 * differ. */

static inline void save_user_bases(struct x86_cpu *cpu, arch_regs_t *regs)
{
    uint64_t fs, gs;
    if (x86_features.fsgsbase) {
        /* Shorter than rdmsr. The user's GS base is in KERNEL_GS_BASE, so
         * it is read between two swapgs; interrupts are off, and an NMI
         * or #MC in between is fatal and uses no per-CPU state. */
        __asm__ volatile("rdfsbase %0" : "=r"(fs));
        __asm__ volatile("swapgs\n\trdgsbase %0\n\tswapgs" : "=r"(gs));
    } else {
        fs = rdmsr(MSR_FS_BASE);
        gs = rdmsr(MSR_KERNEL_GS_BASE);
    }
    regs->fs_base = cpu->hw_fs_base = fs;
    regs->gs_base = cpu->hw_gs_base = gs;
}

void x86_save_user_bases(struct x86_cpu *cpu, arch_regs_t *regs)
{
    save_user_bases(cpu, regs);
}

/* A non-canonical base would make wrmsr raise #GP in the kernel; it is
 * checked only when the MSR must be written, which is rare. */
static void load_user_base(uint32_t msr, uint64_t *base, uint64_t *hw)
{
    if (!x86_canonical(*base))
        *base = 0;
    if (*hw != *base) {
        wrmsr(msr, *base);
        *hw = *base;
    }
}

static inline void load_user_bases(struct x86_cpu *cpu, arch_regs_t *regs)
{
    if (cpu->hw_fs_base != regs->fs_base)
        load_user_base(MSR_FS_BASE, &regs->fs_base, &cpu->hw_fs_base);
    if (cpu->hw_gs_base != regs->gs_base)
        load_user_base(MSR_KERNEL_GS_BASE, &regs->gs_base, &cpu->hw_gs_base);
}

/* ---- The time-stamp counter in user mode -----------------------------------
 * With CR4.TSD set, rdtsc and rdtscp raise #GP(0) outside ring 0 (Intel
 * SDM vol. 3A, 2.5 "Control Registers"; vol. 2B, RDTSC and RDTSCP), which
 * reaches the thread's fault handler as a protection fault. TSD is set
 * only while a thread that is denied the counter runs, and CR4 is written
 * only when that changes from one thread to the next. rdpmc always faults
 * (CR4.PCE stays clear, cpu.c); rdpid reads IA32_TSC_AUX, not a clock. */

void arch_regs_set_counter_access(arch_regs_t *regs, bool allow)
{
    regs->counters_off = allow ? 0 : CR4_TSD;
}

void x86_fastpath_key_update(struct x86_cpu *cpu)
{
    cpu->fastpath_key = x86_features.fsgsbase ? cpu->counters_off : X86_FASTPATH_KEY_NONE;
}

/* Changing TSD alone flushes no TLB entries (SDM vol. 3A, 4.10.4.1 lists
 * the CR4 bits whose change does). Rare: kept out of line. */
static __attribute__((noinline)) void counters_switch(struct x86_cpu *cpu,
                                                      const arch_regs_t *regs)
{
    write_cr4((read_cr4() & ~(uint64_t)CR4_TSD) | regs->counters_off);
    cpu->counters_off = regs->counters_off;
    x86_fastpath_key_update(cpu);
}

/* On every way to user mode: one compare while the policy stays. */
static inline void counters_prepare_exit(struct x86_cpu *cpu, const arch_regs_t *regs)
{
    if (regs->counters_off != cpu->counters_off)
        counters_switch(cpu, regs);
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

static NORETURN void bad_rip(struct x86_cpu *cpu, arch_regs_t *regs)
{
    /* The fault is the general path's: a fast path without the kernel
     * lock takes it first (kernel/smp.h). */
    if (smp_unlocked_here())
        smp_unlocked_to_lock();
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

/* Returns to `regs` in the address space already loaded. Always inlined:
 * it is the tail of every way out, the IPC fast path's included. */
static inline __attribute__((always_inline)) NORETURN void resume_user(struct x86_cpu *cpu,
                                                                       arch_regs_t *regs)
{
    if (!IS_ALIGNED((uintptr_t)regs, 16))
        panic("arch_user_enter: arch_regs_t at %p is not 16-byte aligned", (void *)regs);
    cpu->tss.rsp[0] = (uint64_t)regs + REGS_FRAME_END; /* also CPU_RSP0 */
    if (regs->rip >= ARCH_USER_VADDR_MAX)
        bad_rip(cpu, regs);
    load_user_bases(cpu, regs);
    counters_prepare_exit(cpu, regs);
    x86_fpu_prepare_exit(cpu, regs);
    /* A frame the syscall entry saved has the flags sysretq may take
     * (trap.S keeps only those): only the syscall entry makes such a
     * frame, and arch_regs_init() and arch_regs_set() mark theirs for
     * iretq. */
    if (regs->vector == ENTRY_SYSCALL)
        cpu->return_sysret(regs);
    /* Only these flags may reach iretq, and only these selectors. */
    regs->rflags = (regs->rflags & RFLAGS_USER_MASK) | RFLAGS_IF | RFLAGS_FIXED;
    regs->cs = USER_CS;
    regs->ss = USER_SS;
    cpu->return_iret(regs);
}

/* The exits once several CPUs run user threads: the kernel lock goes
 * last, with the thread's state all in place (smp_exit_to_user()), and
 * no other thread's FPU state stays live here (fpu.c). A
 * machine of one CPU keeps trap.S's exits in return_sysret and
 * return_iret, and so tests nothing for the lock on its way out. */
static __attribute__((noreturn)) void return_sysret_smp(arch_regs_t *regs)
{
    x86_fpu_release_others(x86_this_cpu(), regs);
    smp_exit_to_user();
    x86_this_cpu()->unlocked_sysret(regs);
}

static __attribute__((noreturn)) void return_iret_smp(arch_regs_t *regs)
{
    x86_fpu_release_others(x86_this_cpu(), regs);
    smp_exit_to_user();
    x86_this_cpu()->unlocked_iret(regs);
}

void x86_exits_smp(struct x86_cpu *cpu)
{
    if (cpu->return_sysret == return_sysret_smp)
        return; /* done already */
    cpu->unlocked_sysret = cpu->return_sysret;
    cpu->unlocked_iret = cpu->return_iret;
    cpu->return_sysret = return_sysret_smp;
    cpu->return_iret = return_iret_smp;
}

void x86_resume_user(struct x86_cpu *cpu, arch_regs_t *regs)
{
    resume_user(cpu, regs);
}

/* `from`'s bases saved (the IPC fast path ran before anything saved
 * them) and `to` resumed through every check: for a CPU without FSGSBASE
 * (rdmsr reads the bases), a `to` with another counter policy than the
 * CPU's or another GS base, a frame to leave by iretq or with a bad rip
 * (fastpath.c). A bad rip makes a fault, which is the general path's: a
 * fast path without the lock takes the lock first (smp_unlocked_to_lock();
 * `from`'s bases saved before). */
void x86_fastpath_exit_general(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    struct x86_cpu *cpu = x86_this_cpu();
    save_user_bases(cpu, from);
    if (smp_unlocked_here())
        smp_unlocked_to_lock();
    x86_vspace_load(cpu, vs);
    resume_user(cpu, to);
}

void arch_user_enter(arch_regs_t *regs, arch_vspace_t *vs)
{
    struct x86_cpu *cpu = x86_this_cpu();
    x86_vspace_load(cpu, vs);
    resume_user(cpu, regs); /* lets go of the kernel lock last (x86_exits_smp()) */
}

/* ---- Registers by index (the order of kernel/abi.toml [arch.x86_64]) ---- */

static uint64_t *reg_slot(arch_regs_t *r, unsigned index)
{
    uint64_t *const slots[] = {
        &r->rip, &r->rsp, &r->rflags, &r->rax, &r->rbx, &r->rcx, &r->rdx,
        &r->rsi, &r->rdi, &r->rbp, &r->r8, &r->r9, &r->r10, &r->r11,
        &r->r12, &r->r13, &r->r14, &r->r15, &r->fs_base, &r->gs_base,
    };
    return index < ARRAY_SIZE(slots) ? slots[index] : NULL;
}

unsigned arch_regs_count(void)
{
    return 20;
}

uint64_t arch_regs_get(const arch_regs_t *regs, unsigned index)
{
    uint64_t *slot = reg_slot((arch_regs_t *)regs, index);
    return slot ? *slot : 0;
}

bool arch_regs_set(arch_regs_t *regs, unsigned index, uint64_t value)
{
    uint64_t *slot = reg_slot(regs, index);
    /* wrfsbase/wrgsbase fault on a non-canonical base; user bases stay in
     * the user half. (rip and rflags are checked on the way out.) */
    if (!slot || ((slot == &regs->fs_base || slot == &regs->gs_base) &&
                  value >= ARCH_USER_VADDR_MAX))
        return false;
    *slot = value;
    /* sysretq would take rip/rflags from rcx/r11; the bases are loaded on
     * every way out, so a thread setting its own keeps the sysretq path. */
    if (slot != &regs->fs_base && slot != &regs->gs_base)
        regs->vector = ENTRY_NONE;
    return true;
}

bool arch_regs_is_thread_pointer(unsigned index)
{
    return index == 18 || index == 19; /* fs_base, gs_base (kernel/abi.toml order) */
}
