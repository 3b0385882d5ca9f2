/*
 * The fake architecture used by host unit tests: the same names every port
 * defines in its <arch_types.h>, with host-friendly values. Its registers
 * are laid out like RISC-V's (gpr[n] is xn, syscall number in x17, the
 * arguments in x10..x15), its page tables are a software radix tree of the
 * x86-64 shape (a root and three levels below it), and its interrupt
 * controller is a table of lines (tests/host/fake_irq.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <bulkhead/abi.h>

#define ARCH_NAME "host"
#define ARCH_ELF_MACHINE BK_ELF_MACHINE_X86_64 /* tests use x86-64 ELF files */
#define ARCH_PAGE_SIZE ((unsigned)BK_PAGE_SIZE)
#define ARCH_USER_VADDR_MAX 0x0000800000000000ull
#define ARCH_PT_LEVELS 3
#define ARCH_LARGE_PAGE_BITS 21
#define ARCH_COUNTS_ZEROS 1 /* the host's; test_sched checks the other search */
#define ARCH_FASTPATH_MESSAGE_IN_CPU 0 /* the words through the frames */

/* FPU registers f0..f31 and fcsr, as on RISC-V (kernel/abi.toml's
 * [arch.riscv64].fpu_registers order). */
#define FAKE_FPU_REGS 33

typedef struct arch_regs {
    uint64_t gpr[32]; /* gpr[0] stays 0; gpr[2] is sp, gpr[4] the thread pointer */
    uint64_t pc;
    uint64_t fpr[FAKE_FPU_REGS];
    bool counters_off;  /* TCB: SetCounterAccess(0) */
    bool full_restore;  /* arch_regs_set() ran: the next entry restores all */
    bool released;      /* arch_regs_release() ran */
} arch_regs_t;

/* The syscall argument registers: gpr[10..15], as on RISC-V. */
static inline uint64_t *arch_regs_args(arch_regs_t *regs)
{
    return &regs->gpr[10];
}

/* The syscall number of `regs`, gpr[17] (a7), as on RISC-V: arch_syscall_number() (kernel/arch.h)
 * inline, for the syscall entry with several CPUs (kernel_syscall_smp()). */
static inline unsigned long arch_regs_syscall_number(const arch_regs_t *regs)
{
    return regs->gpr[17];
}

/* The kernel's struct cpu of the running CPU: cpus[0], the host tests'
 * kernel has one (fake_arch.c). */
struct cpu;
struct cpu *fake_kernel_cpu(void);
static inline struct cpu *arch_kernel_cpu(void)
{
    return fake_kernel_cpu();
}

static inline struct cpu *arch_kernel_cpu_again(void)
{
    return fake_kernel_cpu();
}

/* The fake counter: the fake clock's nanoseconds (fake_user.c). */
uint64_t fake_counter(void);
static inline uint64_t arch_counter(void)
{
    return fake_counter();
}

/* A wait for the clock (kernel/timer.c): the fake clock moves only when a
 * test moves it, so a wait moves it by a nanosecond a turn. */
void fake_spin_pause(void);
static inline void arch_spin_pause(void)
{
    fake_spin_pause();
}

/* A software page table: `root` is the "physical" (host) address of the
 * root table; destroyed is set by arch_vspace_destroy(). */
typedef struct arch_vspace {
    uint64_t root;
    bool destroyed;
} arch_vspace_t;
