/*
 * Per-hart state (struct riscv_cpu, one per hart), the idle wait and the
 * pending interrupts the kernel polls for. Only the boot hart runs for
 * now; SMP adds a stack and a struct per hart.
 */
#include "cpu.h"

#include "kernel.h"
#include "port.h"
#include "riscv.h"

#include <stddef.h>

/* trap.S addresses these fields by number. */
_Static_assert(offsetof(struct riscv_cpu, kernel_sp) == CPU_KERNEL_SP, "CPU_KERNEL_SP");
_Static_assert(offsetof(struct riscv_cpu, user_regs) == CPU_USER_REGS, "CPU_USER_REGS");
_Static_assert(offsetof(struct riscv_cpu, scratch) == CPU_SCRATCH, "CPU_SCRATCH");
_Static_assert(offsetof(struct riscv_cpu, user_vspace) == CPU_USER_VSPACE, "CPU_USER_VSPACE");
_Static_assert(offsetof(struct riscv_cpu, satp) == CPU_SATP, "CPU_SATP");
_Static_assert(offsetof(struct riscv_cpu, fpu_owner) == CPU_FPU_OWNER, "CPU_FPU_OWNER");
_Static_assert(offsetof(struct riscv_cpu, counters_off) == CPU_COUNTERS_OFF, "CPU_COUNTERS_OFF");
_Static_assert(offsetof(struct riscv_cpu, exit_key) == CPU_EXIT_KEY, "CPU_EXIT_KEY");
_Static_assert((CPU_EXIT_KEY_FPU & SCOUNTEREN_USER) == 0,
               "exit_key's FPU bit is none of counters_off's");
_Static_assert(offsetof(arch_vspace_t, asid_generation) == VS_ASID_GENERATION,
               "VS_ASID_GENERATION");
_Static_assert(offsetof(arch_vspace_t, satp) == VS_SATP, "VS_SATP");
_Static_assert(offsetof(arch_regs_t, gpr[10]) == 10 * 8, "arch_regs_t.gpr");
_Static_assert(offsetof(arch_regs_t, pc) == REGS_PC, "REGS_PC");
_Static_assert(offsetof(arch_regs_t, fpr) == REGS_FPR, "REGS_FPR");
_Static_assert(offsetof(arch_regs_t, fcsr) == REGS_FCSR, "REGS_FCSR");
_Static_assert(offsetof(arch_regs_t, fpu_fs) == REGS_FPU_FS, "REGS_FPU_FS");
_Static_assert(offsetof(arch_regs_t, fpu_eager) == REGS_FPU_EAGER, "REGS_FPU_EAGER");
_Static_assert(offsetof(arch_regs_t, counters_off) == REGS_COUNTERS_OFF, "REGS_COUNTERS_OFF");
_Static_assert(offsetof(struct kernel_frame, sepc) == KFRAME_SEPC, "KFRAME_SEPC");
_Static_assert(offsetof(struct kernel_frame, stval) == KFRAME_STVAL, "KFRAME_STVAL");
_Static_assert(sizeof(struct kernel_frame) == KFRAME_SIZE && KFRAME_SIZE % 16 == 0,
               "KFRAME_SIZE (the stack stays 16-byte aligned)");

static struct riscv_cpu cpus[RISCV_MAX_CPUS];

extern char boot_stack_top[]; /* entry.S */

/* Runs first on the boot hart: tp = its struct, sscratch = 0 (we are in
 * the kernel), and the trap vector, so faults from here on are reported. */
BOOT_CODE void cpu_init_boot_hart(uint64_t hart_id)
{
    struct riscv_cpu *cpu = &cpus[0];
    cpu->hart_id = hart_id;
    cpu->kernel_sp = (uint64_t)boot_stack_top;
    __asm__ volatile("mv tp, %0" ::"r"(cpu));
    csr_write(sscratch, 0);
    csr_write(stvec, (uint64_t)riscv_trap_entry); /* MODE 0: direct */
    csr_write(sie, 0);
}

/* The counters U-mode may read are the kernel's policy, not what the
 * firmware left (OpenSBI sets scounteren to 7): cycle, time and instret
 * by default, never the hpmcounters; a thread denied them runs with the
 * bits of its counters_off cleared (user.c, trap.S). A refused read is an
 * illegal instruction, which goes to M-mode first (OpenSBI does not
 * delegate illegal instructions, so that it can emulate CSRs): OpenSBI
 * passes refused cycle and instret reads on to us, but answers time reads
 * itself without looking at scounteren, so under OpenSBI a thread cannot
 * be denied time. */
BOOT_CODE void cpu_init_counters(void)
{
    uint64_t found = csr_read(scounteren);
    csr_write(scounteren, SCOUNTEREN_USER);
    this_cpu()->counters_off = 0;
    cpu_update_exit_key(this_cpu());
    kprintf("riscv64: counters: found scounteren 0x%lx; set 0x%lx (cycle, time, instret "
            "readable in U-mode unless a thread is denied them, though M-mode firmware may "
            "still answer time; no hpmcounters)\n",
            found, (uint64_t)SCOUNTEREN_USER);
}

/* An interrupt is taken in S-mode when it is pending in sip, enabled in
 * sie and sstatus.SIE is set (Privileged 4.1.3): the kernel keeps SIE
 * clear, so sip & sie is what waits. The timer's STIP is raised by the
 * hart (Sstc) or by OpenSBI when the machine timer fires; SEIP by the
 * PLIC. */
bool arch_interrupt_pending(void)
{
    return (csr_read(sip) & csr_read(sie)) != 0;
}

/* The handlers run (riscv_kernel_trap()) while SIE is set. */
void arch_take_pending_interrupts(void)
{
    csr_set(sstatus, SSTATUS_SIE);
    __asm__ volatile("nop");
    csr_clear(sstatus, SSTATUS_SIE);
}

/* wfi wakes when an interrupt is pending and enabled in sie, even with
 * sstatus.SIE clear (Privileged 3.3.3), so the hart sleeps with SIE clear
 * and only opens the window once something is pending: nothing can slip
 * in between the check and the sleep. */
void arch_idle_wait(void)
{
    while (!arch_interrupt_pending())
        __asm__ volatile("wfi");
    arch_take_pending_interrupts();
}
