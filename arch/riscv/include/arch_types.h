/*
 * RISC-V 64 (RV64, Sv39) definitions the generic kernel sees through
 * <arch_types.h>: names, constants, the saved user register state and the
 * address space handle.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <bulkhead/abi.h>

#define ARCH_NAME "riscv64"
/* The ELF machine and the page size are ABI facts (kernel/abi.toml). */
#define ARCH_ELF_MACHINE BK_ELF_MACHINE_RISCV64
#define ARCH_PAGE_SIZE ((unsigned)BK_PAGE_SIZE)
/* Sv39 user half: VA bit 38 clear, so user addresses stop at 2^38. */
#define ARCH_USER_VADDR_MAX 0x0000004000000000ull
/* Sv39 translation levels below the root (the 2 MiB-entry table and the
 * 4 KiB-entry table) and the size of a large page: a megapage, a leaf in
 * the table just below the root (Privileged 4.4.1). */
#define ARCH_PT_LEVELS 2
#define ARCH_LARGE_PAGE_BITS 21
/* No ARCH_HAS_IOPORTS: RISC-V devices are all memory mapped. */
/* A count of leading zeros is one instruction only with Zbb (clz); the
 * kernel is built rv64imac, where clang 14 makes it about 34. */
#if defined(__riscv_zbb)
#define ARCH_COUNTS_ZEROS 1
#else
#define ARCH_COUNTS_ZEROS 0
#endif
/* The fast paths' message words travel in a2-a5 from the caller's ecall
 * to the sret: the syscall entry leaves them unsaved and calls a fast path
 * with the syscall's six argument registers as they are, which are its C
 * arguments, and the fast path passes the words on to
 * arch_fastpath_deliver() or arch_fastpath_resume_words() (kernel/arch.h,
 * trap.S) in the same registers. */
#define ARCH_FASTPATH_MESSAGE_IN_CPU 1

/* A user thread's registers as saved on a trap. gpr[n] is register xn
 * (gpr[0] stays 0: x0 is hard-wired); pc is where the thread resumes
 * (sepc). Then its F/D state, which arch/riscv/fpu.c switches lazily: fpr
 * and fcsr are the saved copy, current unless the thread owns its hart's
 * FPU and wrote the registers since they were loaded or stored. fpu_fs is
 * the sstatus.FS value (in its sstatus position) the thread runs with: Off
 * unless it is the FPU owner, Clean or Dirty if it is. fpu_eager: it wrote
 * the registers in its last turn as owner, so it gets the FPU eagerly on
 * its way back to user mode. sstatus is otherwise not user state:
 * arch_user_enter() sets it. counters_off: the scounteren bits the thread
 * runs without (TCB: SetCounterAccess; 0, as in fresh memory: none), which
 * every way to user mode compares with the hart's. Offsets are fixed:
 * arch/riscv/trap.S and fpu_switch.S read and write this layout (cpu.h). */
typedef struct arch_regs {
    uint64_t gpr[32];
    uint64_t pc;
    uint64_t fpr[32]; /* f0..f31, 64 bits each (D extension) */
    uint64_t fcsr;    /* frm (bits 7:5) and fflags (4:0) */
    uint64_t fpu_fs;
    uint64_t fpu_eager;
    uint64_t counters_off;
} arch_regs_t;

/* The six syscall argument registers a0..a5 (x10..x15); see kernel/arch.h. */
static inline uint64_t *arch_regs_args(arch_regs_t *regs)
{
    return &regs->gpr[10];
}

/* The syscall number of `regs`, a7 (x17): arch_syscall_number() (kernel/arch.h)
 * inline, for the syscall entry with several CPUs (kernel_syscall_smp()). */
static inline unsigned long arch_regs_syscall_number(const arch_regs_t *regs)
{
    return regs->gpr[17];
}

/* One turn of a spin wait: for the clock (kernel/timer.c), for another
 * CPU (the kernel lock, a sync acknowledgement, a hart coming online).
 * Alone, a nop (`pause`, Zihintpause, is a hint the hart may not have,
 * and clang 14 does not know it). Once a second hart was started it is
 * riscv_spin_yield() (cpu.c), which ends the hart's turn under QEMU's
 * -icount round robin, as x86-64's `pause` does there: without it the
 * waiter keeps the hart it waits for from running at all (docs/smp.md,
 * "QEMU under -icount with several CPUs"). */
extern bool riscv_spin_yields;
void riscv_spin_yield(void);
static inline void arch_spin_pause(void)
{
    if (riscv_spin_yields)
        riscv_spin_yield();
    else
        __asm__ volatile("nop");
}

/* The kernel's struct cpu of the running hart (kernel/smp.h): one load,
 * tp-relative, from struct riscv_cpu's kcpu (CPU_KCPU, checked in
 * cpu.c); kernel mode only. */
struct cpu;
static inline struct cpu *arch_kernel_cpu(void)
{
    struct cpu *c;
    __asm__("ld %0, 80(tp)" : "=r"(c));
    return c;
}

/* The same, read again rather than kept from an earlier read: after a
 * call, one load is cheaper than a register saved across it. */
static inline struct cpu *arch_kernel_cpu_again(void)
{
    struct cpu *c;
    __asm__ volatile("ld %0, 80(tp)" : "=r"(c));
    return c;
}

/* The constant-rate counter the scheduler charges time in (the time CSR,
 * at the device tree's timebase-frequency; see kernel/arch.h): read on
 * every switch between threads, so inline. */
static inline uint64_t arch_counter(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

/* An Sv39 address space: the physical address of its root table and the
 * ASID it holds. An ASID is valid only while asid_generation matches the
 * allocator's generation (arch/riscv/asid.c); 0 means "none yet". satp is
 * the value asid_activate() last wrote for it, ARCH_SATP_NONE before that
 * (a value satp never holds); the IPC fast path compares it with the
 * hart's satp. Offsets are fixed: arch/riscv/trap.S reads root's
 * neighbours by number (cpu.h). */
#define ARCH_SATP_NONE (~0ull)
typedef struct arch_vspace {
    uint64_t root;
    uint64_t asid_generation;
    uint64_t satp;
    uint16_t asid;
} arch_vspace_t;
