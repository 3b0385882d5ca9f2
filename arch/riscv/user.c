/*
 * User threads: the register state (arch_regs_t), syscall argument
 * decoding and the switch to user mode, with the counters the thread may
 * read (scounteren). Syscall convention (kernel/abi.toml, arch.riscv64):
 * number in a7, arguments in a0..a5, result in a0. The F/D state in
 * arch_regs_t is fpu.c's.
 */
#include "port.h"

#include "kernel.h"
#include "riscv.h"
#include "smp.h"

#define REG_SP 2
#define REG_A0 10

/* f0-f31 and fcsr zero are the ABI's initial FP state (round to nearest,
 * no flags); fpu_fs zero is Off, so the thread takes the FPU at its first
 * FP instruction. Its old state may still be live in the hart: dropped. */
void arch_regs_init(arch_regs_t *regs, vaddr_t entry, vaddr_t sp, uintptr_t arg)
{
    uint64_t counters_off = regs->counters_off; /* a policy, not a register */
    fpu_forget(regs);
    memset(regs, 0, sizeof(*regs));
    regs->counters_off = counters_off;
    regs->pc = entry;
    regs->gpr[REG_SP] = sp;
    regs->gpr[REG_A0] = arg;
}

unsigned long arch_syscall_number(const arch_regs_t *regs)
{
    return arch_regs_syscall_number(regs);
}

unsigned long arch_syscall_arg(const arch_regs_t *regs, unsigned index)
{
    return index < 6 ? regs->gpr[REG_A0 + index] : 0;
}

void arch_syscall_set_result(arch_regs_t *regs, unsigned long value)
{
    regs->gpr[REG_A0] = value;
}

/* trap.S saved pc = sepc + 4, past the ecall (4 bytes: it has no
 * compressed form). a7 and a0..a5 still hold the number and the arguments
 * (no result was set); the registers a syscall clobbers (abi.toml) are
 * the stub's to reload. */
void arch_regs_restart_syscall(arch_regs_t *regs)
{
    regs->pc -= 4;
}

/* trap.S's entry saved every user register a syscall keeps, and the
 * thread pointer is one of them: nothing is left in the hart. */
void arch_fastpath_to_scheduler(arch_regs_t *regs)
{
    (void)regs;
}

vaddr_t arch_regs_sp(const arch_regs_t *regs)
{
    return regs->gpr[REG_SP];
}

vaddr_t arch_regs_pc(const arch_regs_t *regs)
{
    return regs->pc;
}

void arch_syscall_set_arg(arch_regs_t *regs, unsigned index, unsigned long value)
{
    if (index < 6)
        regs->gpr[REG_A0 + index] = value;
}

/* x1..x31 by ABI name, four to a line. */
void riscv_print_gprs(const uint64_t gpr[32])
{
    static const char *const names[32] = {
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0",
        "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5",
        "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    };
    for (unsigned i = 1; i < 32; i++)
        kprintf("  %-4s 0x%016lx%s", names[i], gpr[i], i % 4 == 3 || i == 31 ? "\n" : "");
}

void arch_regs_print(const arch_regs_t *regs)
{
    kprintf("  pc   0x%016lx\n", regs->pc);
    riscv_print_gprs(regs->gpr);
}

/* ---- Counters in U-mode ---------------------------------------------------
 * A U-mode read of cycle, time or instret whose scounteren bit is clear is
 * an illegal instruction (Privileged 4.1.5), which reaches the thread's
 * fault handler like any other. The bits are cleared only while a thread
 * that is denied the counters runs; scounteren is written only when that
 * changes from one thread to the next (here, and in trap.S's
 * arch_fastpath_switch). */

void arch_regs_set_counter_access(arch_regs_t *regs, bool allow)
{
    regs->counters_off = allow ? 0 : SCOUNTEREN_USER;
}

static void counters_switch(struct riscv_cpu *cpu, const arch_regs_t *regs)
{
    csr_write(scounteren, SCOUNTEREN_USER & ~regs->counters_off);
    cpu->counters_off = regs->counters_off;
    cpu_update_exit_key(cpu);
}

/* sret goes to U-mode (SPP = 0) with interrupts enabled there (SPIE = 1;
 * in U-mode S-level interrupts are taken whatever SIE says). FS is the
 * thread's (fpu.c): Off, so FP instructions trap, unless it owns the FPU.
 * VS = Off makes vector instructions trap, as no vector state is switched
 * (Privileged 3.1.6.6). SUM stays clear so kernel code can never touch
 * user pages directly. scounteren is the thread's: one compare while the
 * hart has its setting already. */
static inline __attribute__((always_inline)) NORETURN void user_enter_now(struct riscv_cpu *cpu,
                                                                          arch_regs_t *regs,
                                                                          arch_vspace_t *vs,
                                                                          uint64_t fs)
{
    cpu->user_regs = regs;
    cpu->user_vspace = vs;
    csr_clear(sstatus, SSTATUS_SPP | SSTATUS_SUM | SSTATUS_FS | SSTATUS_VS | SSTATUS_SIE);
    csr_set(sstatus, SSTATUS_SPIE | fs);
    cpu->return_to_user(regs); /* riscv_return_to_user(_smp) */
    __builtin_unreachable();
}

/* arch_user_enter() when something besides the registers changes: a new
 * ASID for vs, the counter policy, or the FPU (an owner, or `regs` to get
 * it eagerly). Out of line, so that the common way keeps no frame. */
static __attribute__((noinline)) NORETURN void user_enter_changed(struct riscv_cpu *cpu,
                                                                 arch_regs_t *regs,
                                                                 arch_vspace_t *vs)
{
    if (cpu->satp != vs->satp) { /* equal: satp holds vs already (asid.c) */
        /* A new ASID comes from the allocator every hart shares: a fast
         * path without the kernel lock takes it first (kernel/smp.h). */
        if (smp_unlocked_here())
            smp_unlocked_to_lock();
        asid_activate(cpu, vs);
    }
    if (regs->counters_off != cpu->counters_off)
        counters_switch(cpu, regs);
    user_enter_now(cpu, regs, vs, fpu_user_fs(cpu, regs));
}

/* The common way is the IPC fast path's (trap.S, arch_fastpath_switch): a
 * space already in satp or with an ASID of the live generation (then the
 * satp write is all asid_activate() would do), and the hart's exit_key
 * equal to the thread's counters_off (its counters already, no FPU owner),
 * which leaves FS Off unless the thread gets the FPU eagerly. Without a
 * call on it the function keeps no frame: 8 instructions a general exit,
 * and asid_activate()'s call and checks on a switch of space. */
void arch_user_enter(arch_regs_t *regs, arch_vspace_t *vs)
{
    struct riscv_cpu *cpu = this_cpu();
    uint64_t satp = vs->satp;
    if (cpu->satp != satp && vs->asid_generation == asid_live_generation) {
        csr_write(satp, satp);
        cpu->satp = satp;
    }
    if (cpu->satp != satp || regs->counters_off != cpu->exit_key || regs->fpu_eager)
        user_enter_changed(cpu, regs, vs);
    user_enter_now(cpu, regs, vs, SSTATUS_FS_OFF);
}

/* The way out once several harts run user threads: the kernel lock goes
 * last, with the thread's state all in place (smp_exit_to_user()). */
void riscv_return_to_user_smp(const arch_regs_t *regs)
{
    fpu_release_others(this_cpu(), regs);
    smp_exit_to_user();
    riscv_return_to_user(regs);
}

/* arch_fastpath_switch_smp()'s (fastpath.c) general way out, which lets
 * go of the lock itself. It may take a new ASID (asid.c's allocator is
 * shared by every hart): a fast path without the lock takes the lock
 * first (smp_unlocked_to_lock()). */
void riscv_fastpath_exit_general(arch_regs_t *to, arch_vspace_t *vs)
{
    if (smp_unlocked_here())
        smp_unlocked_to_lock();
    arch_user_enter(to, vs);
}

/* The fast path's exit (arch_fastpath_switch, trap.S) when `vs` has no
 * ASID of the current generation: what arch_user_enter() does without
 * the sstatus writes. The trap from U-mode left SPP = 0 and SPIE = 1 (SIE
 * was set in U-mode), nothing changes SUM or VS, and trap.S has set FS
 * and scounteren for `to` already. */
void riscv_fastpath_new_asid(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    (void)from;
    struct riscv_cpu *cpu = this_cpu();
    asid_activate(cpu, vs);
    cpu->user_regs = to;
    cpu->user_vspace = vs;
    riscv_return_to_user(to);
}

/* ---- Registers by index: pc, then x1..x31 (kernel/abi.toml) ------------- */

unsigned arch_regs_count(void)
{
    return 32;
}

uint64_t arch_regs_get(const arch_regs_t *regs, unsigned index)
{
    if (index == 0)
        return regs->pc;
    return index < 32 ? regs->gpr[index] : 0;
}

/* The way out restores every register from the frame, so a written one
 * takes effect even if the thread last entered through ecall. */
bool arch_regs_set(arch_regs_t *regs, unsigned index, uint64_t value)
{
    if (index >= 32)
        return false;
    if (index == 0)
        regs->pc = value;
    else
        regs->gpr[index] = value;
    return true;
}

bool arch_regs_is_thread_pointer(unsigned index)
{
    return index == 4; /* tp: x4, restored from the saved registers on every way out */
}
