/*
 * Per-hart state (struct riscv_cpu, one per hart, with its kernel stack),
 * the start of the other harts through SBI HSM and their IPIs (SBI IPI,
 * or the ACLINT SSWI where there is one: sip.SSIP), the idle wait and the
 * pending interrupts the kernel polls for. tp holds the running hart's
 * struct in kernel mode.
 */
#include "cpu.h"

#include "boot/boot_params.h"
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
_Static_assert(offsetof(struct riscv_cpu, fast_yield_nr) == CPU_FAST_YIELD_NR, "CPU_FAST_YIELD_NR");
_Static_assert(offsetof(struct riscv_cpu, fast_recv_nr) == CPU_FAST_RECV_NR, "CPU_FAST_RECV_NR");
_Static_assert(offsetof(struct riscv_cpu, fast_send_nr) == CPU_FAST_SEND_NR, "CPU_FAST_SEND_NR");
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
    cpu->fast_yield_nr = BK_SYS_YIELD;
    cpu->fast_recv_nr = BK_SYS_RECV;
    cpu->fast_send_nr = BK_SYS_SEND;
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

/* The timer's STIP stays set until the deadline moves, so it is kept out
 * of the window by its enable bit and read after. */
bool arch_take_pending_interrupts_but_timer(void)
{
    if (csr_read(sip) & csr_read(sie) & ~(uint64_t)SIE_STIE) {
        csr_clear(sie, SIE_STIE);
        arch_take_pending_interrupts();
        csr_set(sie, SIE_STIE);
    }
    return (csr_read(sip) & SIE_STIE) != 0; /* STIP is STIE's bit */
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

bool riscv_spin_yields; /* set once a second hart is asked to start */

/* One turn of a spin wait once several harts run (arch_spin_pause()).
 * Under QEMU's -icount one host thread runs the harts in turn, and in
 * QEMU 7.2 each turn lasts until the next virtual-clock deadline, the
 * first hart first; a hart leaves its turn early only by wfi (x86-64:
 * hlt or pause). A hart that spins without one uses the whole time to
 * the deadline, the next gets none, and the round starts again at the
 * first: a boot hart polling for hart 1 never lets it run (docs/smp.md,
 * "QEMU under -icount with several CPUs"). So each turn is a wfi that
 * cannot sleep: stimecmp at 0 makes the timer interrupt pending, enabled
 * in sie but not taken (sstatus.SIE is clear in the kernel), so the wfi
 * returns at once on hardware and at the hart's next turn under QEMU;
 * the deadline is then put back, which leaves sip.STIP as the clock
 * says. Without Sstc, or with STIE off (a parked hart), it is a nop. */
void riscv_spin_yield(void)
{
    if (!riscv_timer_has_sstc() || !(csr_read(sie) & SIE_STIE)) {
        __asm__ volatile("nop");
        return;
    }
    uint64_t deadline = csr_read(0x14D); /* stimecmp: clang 14 does not know the name */
    csr_write(0x14D, 0);
    __asm__ volatile("wfi" ::: "memory");
    csr_write(0x14D, deadline);
}

unsigned arch_cpu_index(void)
{
    return this_cpu()->index;
}

/* SBI v1.0 (3.2): hart_start of a hart that is not stopped. OpenSBI 1.1
 * answers ALREADY_AVAILABLE; the later spec names ALREADY_STARTED. */
#define SBI_ERR_ALREADY_AVAILABLE (-6)
#define SBI_ERR_ALREADY_STARTED (-7)
#define PARKED_WAIT_NS 2000000000ull /* generous: TCG on a loaded host */

/* bulkhead.riscv_start_at_entry=late|again (a test; riscv_cpu_start_at_entry()) */
static enum { START_AT_AP_ENTRY, START_AT_ENTRY_LATE, START_AT_ENTRY_AGAIN } start_at;

extern char _start[]; /* entry.S */

/* "late": hart_start sends the hart to _start, as OpenSBI 1.1 under
 * fw_jump seems to have done once (arch_cpu_start_waiting()): it parks, and the boot hart's wait
 * for it releases it (arch_cpu_start_waiting()). "again": once it parked,
 * hart_start is asked again and answers that the hart runs already, as for
 * a hart the firmware entered the kernel on at boot. Anything else is
 * named and ignored. */
BOOT_CODE void riscv_cpu_start_at_entry(const char *how)
{
    if (boot_option_is(how, "late"))
        start_at = START_AT_ENTRY_LATE;
    else if (boot_option_is(how, "again"))
        start_at = START_AT_ENTRY_AGAIN;
    else
        kprintf("riscv64: bulkhead.riscv_start_at_entry: 'late' or 'again', not what was "
                "given; ignored\n");
}

/* The slot of a hart parked in entry.S (PARK_WAITING), or NULL. The slot
 * count and the state are read with acquire: the hart wrote its id before
 * its release of PARK_WAITING. */
static struct riscv_parked_hart *find_parked(uint64_t hart_id)
{
    uint32_t n = __atomic_load_n(&riscv_parked_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < RISCV_PARK_SLOTS; i++) {
        struct riscv_parked_hart *p = &riscv_parked[i];
        if (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == PARK_WAITING && p->hart_id == hart_id)
            return p;
    }
    return NULL;
}

/* Sends a parked hart on to riscv_ap_entry. The release store orders
 * riscv_ap_start before the state the hart acquires; the IPI (or its
 * 0.1 s timer) wakes it. */
static void release(struct riscv_parked_hart *p, uint64_t hart_id)
{
    __atomic_store_n(&p->state, PARK_RELEASED, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the store before the SBI call's IPI */
    sbi_send_ipi(hart_id);
    kprintf("riscv64: hart %lu lost the boot lottery in _start and waited there: released\n",
            hart_id);
}

/* Waits until the hart parks (the firmware entered _start on it and it
 * lost the lottery, but may still be on its way to its slot). */
static struct riscv_parked_hart *wait_parked(uint64_t hart_id)
{
    uint64_t end = arch_time_ns() + PARKED_WAIT_NS;
    struct riscv_parked_hart *p;
    while (!(p = find_parked(hart_id))) {
        if (arch_time_ns() >= end)
            return NULL;
        arch_spin_pause();
    }
    return p;
}

static bool release_parked(uint64_t hart_id)
{
    struct riscv_parked_hart *p = wait_parked(hart_id);
    if (p)
        release(p, hart_id);
    return p != NULL;
}

/* A hart sent through hart_start may still come in at _start: one run of
 * smp-boot-virt-fw-jump-2, before the lottery, had hart 1 boot and then
 * hart 0 run the cold boot too. The likeliest path (not confirmed here) is
 * a firmware race that sends a hart being started to its default next
 * address, which under fw_jump is the kernel's _start. Such a hart now
 * parks, and it is released here while the boot hart waits for it. */
void arch_cpu_start_waiting(unsigned index, uint64_t hart_id)
{
    (void)index;
    struct riscv_parked_hart *p = find_parked(hart_id);
    if (p)
        release(p, hart_id);
}

/* Starts the hart through HSM at `entry`; a hart the firmware already
 * let into the kernel (hart_start says it is running) is released from
 * its parking slot instead. */
static bool start_hart(uint64_t hart_id, paddr_t entry)
{
    long err = sbi_hart_start(hart_id, entry, 0);
    if (err == 0)
        return true;
    if (err != SBI_ERR_ALREADY_AVAILABLE && err != SBI_ERR_ALREADY_STARTED) {
        kprintf("riscv64: SBI HSM hart_start(%lu) failed: error %ld\n", hart_id, err);
        return false;
    }
    kprintf("riscv64: HSM hart_start(%lu): error %ld, the hart runs already: looking for it "
            "in the kernel's entry\n", hart_id, err);
    if (release_parked(hart_id))
        return true;
    kprintf("riscv64: hart %lu is running (HSM hart_start: error %ld) but did not park in "
            "the kernel within %llu ms\n", hart_id, err, PARKED_WAIT_NS / 1000000);
    return false;
}

/* SBI HSM starts the hart at riscv_ap_entry's physical address with
 * paging off; entry.S turns on the boot page table (which maps the image
 * both 1:1 and at its link address), jumps to the link address, then
 * loads riscv_ap_start's satp, sp and tp and calls riscv_ap_main(). The
 * fence makes riscv_ap_start visible before the hart can read it (the SBI
 * call is no barrier the kernel may count on).
 *
 * A hart that is parked in entry.S already (the firmware entered _start on
 * it too) is released through its slot, without HSM: OpenSBI counts it as
 * started. With bulkhead.riscv_start_at_entry the hart is started at _start
 * itself, as such a firmware would: it loses the lottery and parks, and is
 * released the same way (the test of that path). */
bool arch_cpu_start(unsigned index, uint64_t hart_id)
{
    if (index == 0 || index >= RISCV_MAX_CPUS)
        return false;
    riscv_spin_yields = true; /* the waits for it must let it run */
    struct riscv_cpu *cpu = &harts[index];
    *cpu = (struct riscv_cpu){ .hart_id = hart_id, .index = index, .kcpu = &cpus[index],
                               .syscall_entry = kernel_syscall_smp,
                               .return_to_user = riscv_return_to_user_smp,
                               .sswi = sswi_register(hart_id) };
    cpu->kernel_sp = (uint64_t)(ap_stacks[index - 1] + KERNEL_STACK_SIZE);
    cpu->satp = SATP_MODE_SV39 | arch_virt_to_phys(paging_kernel_root()) >> PAGE_SHIFT;
    riscv_ap_start = (struct riscv_ap_start){
        .satp = cpu->satp, /* what satp holds there once entry.S is done */
        .sp = cpu->kernel_sp,
        .cpu = cpu,
    };
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    struct riscv_parked_hart *p = find_parked(hart_id);
    if (p) {
        release(p, hart_id);
        return true;
    }
    if (start_at == START_AT_AP_ENTRY)
        return start_hart(hart_id, arch_virt_to_phys(riscv_ap_entry));
    if (!start_hart(hart_id, arch_virt_to_phys(_start)))
        return false;
    if (start_at == START_AT_ENTRY_LATE)
        return true; /* arch_cpu_start_waiting() releases it */
    if (!wait_parked(hart_id)) {
        kprintf("riscv64: hart %lu, started at _start, did not park within %llu ms\n",
                hart_id, PARKED_WAIT_NS / 1000000);
        return false;
    }
    return start_hart(hart_id, arch_virt_to_phys(riscv_ap_entry));
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
    cpu->fast_yield_nr = ~0ull;
    cpu->fast_recv_nr = ~0ull;
    cpu->fast_send_nr = ~0ull;
    csr_write(stvec, (uint64_t)riscv_trap_entry_smp); /* its syscalls: kernel_syscall_smp() */
    csr_set(sie, SIE_SSIE);
}

/* What the IPI announces (a queued thread, a changed current thread, a
 * sync request: kernel/sched.c, kernel/smp.c) was stored before this
 * call; the fence makes those stores visible to every hart before the
 * ecall that asks OpenSBI for the IPI, so the kernel does not count on
 * the firmware's own barrier (OpenSBI orders its MSIP write after its
 * mailbox store, not after ours), or before the store to the target's
 * ACLINT SSWI register (sswi.c), a device write the memory fence does not
 * order: hence `fence rw, o` too. The target clears sip.SSIP before it
 * reads any of it (trap.c), so a request stored after that read raises
 * SSIP again and is not lost; and its idle wait sleeps with wfi, which
 * wakes on a pending SSIP even with sstatus.SIE clear (arch_idle_wait()). */
void arch_cpu_send_ipi(unsigned index)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (index >= RISCV_MAX_CPUS)
        return;
    volatile uint32_t *setssip = harts[index].sswi;
    if (setssip) {
        __asm__ volatile("fence rw, o" ::: "memory");
        *setssip = 1;
    } else {
        sbi_send_ipi(harts[index].hart_id);
    }
}

void arch_cpu_park(void)
{
    csr_write(sie, 0);
    for (;;)
        __asm__ volatile("wfi");
}
