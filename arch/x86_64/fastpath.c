/*
 * The IPC fast path's way out on x86-64: arch_fastpath_switch()
 * (kernel/arch.h), which kernel/fastpath.c leaves by once it has made
 * `to` the current thread.
 *
 * It runs before anything saved `from`'s FS and GS bases, which user
 * code may change at any time (wrfsbase, wrgsbase), so it reads them
 * first. The common case is resume_user() (user.c) without the checks
 * that cannot fail then: `to` blocked in a syscall, so it was resumed
 * before and its frame is aligned, its selectors do not matter to
 * sysretq, and its rflags are as the syscall entry kept them (trap.S).
 * What is checked, in order:
 *  - the CPU's fastpath_key (x86.h): it equals to's counters_off only
 *    when the CPU has FSGSBASE and runs with to's counter policy
 *    already (one compare while the policy stays, as it does between
 *    threads that all keep the default); otherwise the general way out;
 *  - to's GS base is the one `from` left (threads rarely set it), `to`
 *    entered by syscall (sysretq restores only what a syscall saved) and
 *    its rip is one sysretq can take (a syscall at the very top of the
 *    user half leaves one it cannot): otherwise the general way out;
 *  - to's FS base (its TLS) is loaded when it differs, as it does between
 *    processes;
 *  - the FPU (x86_fpu_prepare_exit()): one compare while neither thread
 *    uses it, or while `to` owns it;
 *  - the address space: CR3 is written when it changes.
 * The bases it reads are not recorded in hw_fs_base and hw_gs_base on
 * this way: the next entry from user mode reads them again before
 * anything compares with those (x86.h).
 *
 * Built without frame pointers (arch.cmake), like kernel/fastpath.c:
 * nothing here returns, so a frame would be pure cost on every IPC. The
 * common case costs about 36 instructions, the sysretq stub 19 more
 * (kernel/fastpath.c has the whole budget).
 */
#include "smp.h"
#include "x86.h"

/* The ways out other than the common one take the same arguments as
 * arch_fastpath_switch() and are called last, so each call is a jump with
 * the arguments left where they are. Like arch_fastpath_switch() itself
 * they never return, but are declared without NORETURN: a call to a
 * NORETURN function is no tail call, and would need a stack frame (the
 * compiler finds that out for itself from a body in the same file, so
 * the general way out, which ends in resume_user(), is user.c's
 * x86_fastpath_exit_general()). External, so that the compiler keeps
 * their arguments as they are. */
void x86_fastpath_exit_space(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs);
void x86_fastpath_exit_fpu(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs);

/* An SMP way out's last steps (exit_sysret()): the CPU joins the space's
 * ran_on and lets go of the kernel lock, or of its flag when `unlocked`
 * (smp_exit_to_user_in(), smp_exit_to_user_unlocked_in()), then the
 * sysretq stub without the lock's step. */
static inline __attribute__((always_inline)) void exit_sysret_smp_end(struct x86_cpu *cpu,
                                                                      arch_regs_t *to,
                                                                      const arch_vspace_t *vs,
                                                                      bool unlocked)
{
    if (unlocked)
        smp_exit_to_user_unlocked_in(vs);
    else
        smp_exit_to_user_in(vs);
    ((void (*)(arch_regs_t *))cpu->unlocked_sysret)(to);
}

/* This CPU's FPU state belongs to a thread other than `to`: given up
 * first (x86_fpu_release_others()). Out of line, so that the common way
 * calls nothing before its jump to the stub and keeps no frame. */
static __attribute__((noinline)) void exit_sysret_fpu_release(struct x86_cpu *cpu,
                                                              arch_regs_t *to,
                                                              const arch_vspace_t *vs,
                                                              bool unlocked)
{
    arch_fpu_release();
    exit_sysret_smp_end(cpu, to, vs, unlocked);
}

/* The end of every fast way out: the trap frame for the next entry, then
 * sysretq (x86_return_sysret or its kpti form, trap.S). The stub is
 * called as a plain function for the same reason as above. With several
 * CPUs (smp) the common way does here what return_sysret_smp() (user.c)
 * would, with the space it enters known: no other thread's FPU state stays
 * live, the CPU joins the space's ran_on and lets go of the kernel lock,
 * or of its flag from the way without the lock (`unlocked`), then the
 * stub without the lock's step. The rarer ways (x86_fastpath_exit_space(),
 * x86_fastpath_exit_fpu()) take return_sysret, which is
 * return_sysret_smp() then. */
static inline __attribute__((always_inline)) void exit_sysret(struct x86_cpu *cpu,
                                                              arch_regs_t *to,
                                                              const arch_vspace_t *vs, bool smp,
                                                              bool unlocked)
{
    cpu->tss.rsp[0] = (uint64_t)to + REGS_FRAME_END; /* also CPU_RSP0 */
    if (!smp) {
        ((void (*)(arch_regs_t *))cpu->return_sysret)(to);
    } else if (__builtin_expect(cpu->fpu_owner && cpu->fpu_owner != to, 0)) {
        exit_sysret_fpu_release(cpu, to, vs, unlocked);
    } else {
        exit_sysret_smp_end(cpu, to, vs, unlocked);
    }
}

/* Into another address space with PCIDs or kpti: x86_vspace_load()
 * decides whether the PCID's TLB entries must go, and under kpti records
 * the CR3 for the way out instead of writing it. */
__attribute__((noinline)) void x86_fastpath_exit_space(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    (void)from;
    struct x86_cpu *cpu = x86_this_cpu();
    if (x86_features.pcid) {
        x86_vspace_load(cpu, vs);
    } else {
        /* kpti without PCIDs: the way out writes CR3 (and flushes). */
        cpu->user_cr3 = vs->pml4;
        cpu->cr3 = vs->pml4;
        cpu->vspace = vs;
    }
    exit_sysret(cpu, to, vs, false, false);
}

/* The rest of the way once `to`'s FPU state is right: x86_vspace_load()
 * inline where it is short (without PCIDs or kpti a switch is only the
 * CR3 write, which drops the non-global TLB entries, SDM vol. 3,
 * 4.10.4.1, and the record of it), then sysretq. */
static inline __attribute__((always_inline)) void exit_space_sysret(struct x86_cpu *cpu,
                                                                    arch_regs_t *from,
                                                                    arch_regs_t *to,
                                                                    arch_vspace_t *vs, bool smp,
                                                                    bool unlocked)
{
    uint64_t pml4 = vs->pml4;
    if (cpu->cr3 != pml4) {
        if (x86_vspace_switch_slow) {
            x86_fastpath_exit_space(from, to, vs);
            return;
        }
        write_cr3(pml4);
        cpu->cr3 = pml4;
    }
    cpu->vspace = vs;
    exit_sysret(cpu, to, vs, smp, unlocked);
}

/* `to` needs its FPU state or CR0.TS changed (x86_fpu_switch()); the rest
 * of the way is the fast one. */
__attribute__((noinline)) void x86_fastpath_exit_fpu(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    struct x86_cpu *cpu = x86_this_cpu();
    x86_fpu_switch(cpu, to);
    exit_space_sysret(cpu, from, to, vs, false, false);
}

/* arch_fastpath_switch() and, with smp, arch_fastpath_switch_smp() or
 * (unlocked too) arch_fastpath_switch_unlocked(). */
static inline __attribute__((always_inline)) void fastpath_switch(arch_regs_t *from,
                                                                  arch_regs_t *to,
                                                                  arch_vspace_t *vs, bool smp,
                                                                  bool unlocked)
{
    struct x86_cpu *cpu = x86_this_cpu();
    if (to->counters_off != cpu->fastpath_key) {
        x86_fastpath_exit_general(from, to, vs);
        return;
    }
    /* The user's GS base is in KERNEL_GS_BASE while the kernel runs, so
     * it is read between two swapgs; interrupts are off, and an NMI or
     * #MC in between is fatal and uses no per-CPU state. */
    uint64_t fs, gs;
    __asm__ volatile("rdfsbase %0" : "=r"(fs));
    __asm__ volatile("swapgs\n\trdgsbase %0\n\tswapgs" : "=r"(gs));
    from->fs_base = fs;
    from->gs_base = gs;
    if (to->gs_base != gs || to->vector != ENTRY_SYSCALL || to->rip >= ARCH_USER_VADDR_MAX) {
        x86_fastpath_exit_general(from, to, vs);
        return;
    }
    /* The saved base came from the CPU or passed arch_regs_set(), so it
     * is canonical: wrfsbase cannot fault on it. */
    if (to->fs_base != fs)
        __asm__ volatile("wrfsbase %0" : : "r"(to->fs_base));
    if (to->fpu_self != cpu->fpu_enabled) {
        x86_fastpath_exit_fpu(from, to, vs);
        return;
    }
    exit_space_sysret(cpu, from, to, vs, smp, unlocked);
}

void arch_fastpath_switch(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    fastpath_switch(from, to, vs, false, false);
}

/* With several CPUs the way out is the same but for its end
 * (exit_sysret()): the rarer ways go through the CPU's return_sysret,
 * which is then return_sysret_smp() (user.c), the common one does the
 * same inline. The FPU and CR3 steps above are the general exit's own
 * (x86_fpu_switch(), x86_vspace_load() when PCIDs make a switch slow),
 * which hold with several CPUs as with one. */
void arch_fastpath_switch_smp(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    fastpath_switch(from, to, vs, true, false);
}

/* The way without the lock: the same, its flag lowered last. */
void arch_fastpath_switch_unlocked(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    fastpath_switch(from, to, vs, true, true);
}

/* The Yield fast path's way out: the thread that made the syscall goes on,
 * so its FS and GS bases, FPU state, counter policy and CR3 are in the CPU
 * already and tss.rsp[0] still ends its frame; only the registers the
 * entry saved come back, through sysretq, which cannot take a return
 * address outside the lower half (then the general way out, iretq). */
void arch_fastpath_resume(arch_regs_t *regs)
{
    if (regs->rip >= ARCH_USER_VADDR_MAX)
        return;
    ((void (*)(arch_regs_t *))x86_this_cpu()->return_sysret)(regs);
}

/* The general path's entry saves the bases before kernel_syscall() (trap.S);
 * a fast path that hands the thread to the scheduler does it here. */
void arch_fastpath_to_scheduler(arch_regs_t *regs)
{
    x86_save_user_bases(x86_this_cpu(), regs);
}
