/*
 * Per-hart state (struct riscv_cpu, one per hart, with its kernel stack),
 * the start of the other harts through SBI HSM and their IPIs (SBI IPI,
 * sip.SSIP), the idle wait and the pending interrupts the kernel polls
 * for. tp holds the running hart's struct in kernel mode.
 */
#include "cpu.h"

#include "kernel.h"
#include "port.h"
#include "riscv.h"
#include "smp.h"

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
_Static_assert(offsetof(struct riscv_cpu, kcpu) == CPU_KCPU, "CPU_KCPU (arch_types.h reads it)");
_Static_assert(offsetof(struct riscv_cpu, fast_call_nr) == CPU_FAST_CALL_NR, "CPU_FAST_CALL_NR");
_Static_assert(offsetof(struct riscv_cpu, fast_reply_recv_nr) == CPU_FAST_REPLY_RECV_NR,
               "CPU_FAST_REPLY_RECV_NR");
_Static_assert(offsetof(struct riscv_cpu, syscall_entry) == CPU_SYSCALL_ENTRY, "CPU_SYSCALL_ENTRY");
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

_Static_assert(offsetof(struct riscv_ap_start, satp) == AP_START_SATP, "AP_START_SATP");
_Static_assert(offsetof(struct riscv_ap_start, sp) == AP_START_SP, "AP_START_SP");
_Static_assert(offsetof(struct riscv_ap_start, cpu) == AP_START_CPU, "AP_START_CPU");
_Static_assert(RISCV_MAX_CPUS == KERNEL_MAX_CPUS, "one struct riscv_cpu per kernel CPU");

static struct riscv_cpu harts[RISCV_MAX_CPUS];

/* The kernel stacks of the other harts (the boot hart's is entry.S's). */
static uint8_t ap_stacks[RISCV_MAX_CPUS - 1][KERNEL_STACK_SIZE] __attribute__((aligned(16)));

/* Read by riscv_ap_entry (entry.S) of the hart being started; the boot
 * hart starts one at a time and waits for it (kernel/smp.c). */
struct riscv_ap_start riscv_ap_start;

extern char boot_stack_top[]; /* entry.S */
extern char riscv_ap_entry[]; /* entry.S: where a started hart begins */

/* Runs first on the boot hart: tp = its struct, sscratch = 0 (we are in
 * the kernel), and the trap vector, so faults from here on are reported. */
BOOT_CODE void cpu_init_boot_hart(uint64_t hart_id)
{
    struct riscv_cpu *cpu = &harts[0];
    cpu->hart_id = hart_id;
    cpu->index = 0;
    cpu->kcpu = &cpus[0];
    cpu->fast_call_nr = BK_SYS_CALL;
    cpu->syscall_entry = kernel_syscall;
    cpu->return_to_user = riscv_return_to_user;
    cpu->fast_reply_recv_nr = BK_SYS_REPLY_RECV;
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

/* ---- The other harts -------------------------------------------------------- */

unsigned arch_cpu_index(void)
{
    return this_cpu()->index;
}

/* SBI HSM starts the hart at riscv_ap_entry's physical address with
 * paging off; entry.S turns on the boot page table (which maps the image
 * both 1:1 and at its link address), jumps to the link address, then
 * loads riscv_ap_start's satp, sp and tp and calls riscv_ap_main(). The
 * fence makes riscv_ap_start visible before the hart can read it (the SBI
 * call is no barrier the kernel may count on). */
bool arch_cpu_start(unsigned index, uint64_t hart_id)
{
    if (index == 0 || index >= RISCV_MAX_CPUS)
        return false;
    struct riscv_cpu *cpu = &harts[index];
    *cpu = (struct riscv_cpu){ .hart_id = hart_id, .index = index, .kcpu = &cpus[index],
                               .syscall_entry = kernel_syscall_smp,
                               .return_to_user = riscv_return_to_user_smp };
    cpu->kernel_sp = (uint64_t)(ap_stacks[index - 1] + KERNEL_STACK_SIZE);
    cpu->satp = SATP_MODE_SV39 | arch_virt_to_phys(paging_kernel_root()) >> PAGE_SHIFT;
    riscv_ap_start = (struct riscv_ap_start){
        .satp = cpu->satp, /* what satp holds there once entry.S is done */
        .sp = cpu->kernel_sp,
        .cpu = cpu,
    };
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    long err = sbi_hart_start(hart_id, arch_virt_to_phys(riscv_ap_entry), 0);
    if (err)
        kprintf("riscv64: SBI HSM hart_start(%lu) failed: error %ld\n", hart_id, err);
    return err == 0;
}

/* On the new hart, tp = its struct, on its own stack and the kernel's
 * tables (entry.S). It takes the timer and the kernel's IPI (sip.SSIP)
 * and no device interrupts (the PLIC routes them to the boot hart); the
 * FPU and the vector unit stay off, and the counters are the kernel's
 * policy, as on the boot hart. (The boot hart leaves sie.SSIE clear: no
 * CPU sends it an IPI until user threads run on several harts.) */
void riscv_ap_main(struct riscv_cpu *cpu)
{
    csr_write(sscratch, 0);
    csr_write(stvec, (uint64_t)riscv_trap_entry);
    csr_write(sie, 0);
    csr_clear(sstatus, SSTATUS_FS | SSTATUS_VS | SSTATUS_SIE);
    csr_write(scounteren, SCOUNTEREN_USER);
    cpu->counters_off = 0;
    cpu_update_exit_key(cpu);
    riscv_timer_init_hart();
    csr_set(sie, SIE_STIE | SIE_SSIE);
    kernel_ap_main(cpu->index);
}

/* Privileged spec 4.2.1: sfence.vma with rs1 = rs2 = x0 orders all
 * earlier page-table stores and drops every translation, of every ASID.
 * cpu->satp is cleared too, so the next way to user mode goes through
 * asid_activate(): after another hart's ASID rollover (asid.c) the space
 * this hart ran must get an ASID of the new generation before it runs
 * again. */
void arch_tlb_flush_all(void)
{
    __asm__ volatile("sfence.vma zero, zero" ::: "memory");
    this_cpu()->satp = 0;
}

/* Several harts run user threads: the entry's fast path is off (a number
 * no syscall has: trap.S compares a7 with these; kernel_syscall_smp()
 * tries it once it has the kernel lock), and the boot hart takes
 * the kernel's IPIs too (remote wake-up). */
void arch_cpu_smp_mode(void)
{
    struct riscv_cpu *cpu = this_cpu();
    cpu->fast_call_nr = ~0ull;
    cpu->syscall_entry = kernel_syscall_smp;
    cpu->return_to_user = riscv_return_to_user_smp;
    cpu->fast_reply_recv_nr = ~0ull;
    csr_set(sie, SIE_SSIE);
}

/* What the IPI announces (a queued thread, a changed current thread, a
 * sync request: kernel/sched.c, kernel/smp.c) was stored before this
 * call; the fence makes those stores visible to every hart before the
 * ecall that asks OpenSBI for the IPI, so the kernel does not count on
 * the firmware's own barrier (OpenSBI orders its MSIP write after its
 * mailbox store, not after ours). The target clears sip.SSIP before it
 * reads any of it (trap.c), so a request stored after that read raises
 * SSIP again and is not lost; and its idle wait sleeps with wfi, which
 * wakes on a pending SSIP even with sstatus.SIE clear (arch_idle_wait()). */
void arch_cpu_send_ipi(unsigned index)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (index < RISCV_MAX_CPUS)
        sbi_send_ipi(harts[index].hart_id);
}

void arch_cpu_park(void)
{
    csr_write(sie, 0);
    for (;;)
        __asm__ volatile("wfi");
}
