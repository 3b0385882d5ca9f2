/*
 * x86-64 definitions of the per-architecture names kernel/arch.h requires:
 * constants, the saved user register state and the address-space handle.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <bulkhead/abi.h>

#define ARCH_NAME "x86_64"
/* The ELF machine and the page size are ABI facts (kernel/abi.toml). */
#define ARCH_ELF_MACHINE BK_ELF_MACHINE_X86_64
#define ARCH_PAGE_SIZE ((unsigned)BK_PAGE_SIZE)
/* 4-level paging: user space is the lower canonical half, bits 47..0. */
#define ARCH_USER_VADDR_MAX 0x0000800000000000ull
/* Translation levels below the root (PDPT, PD, PT; the PML4 is the root)
 * and the size of a large page: a PD entry with PS = 1 maps 2 MiB. */
#define ARCH_PT_LEVELS 3
#define ARCH_LARGE_PAGE_BITS 21
/* x86 has an I/O port space: IOPort caps and the arch_ioport_* hooks. */
#define ARCH_HAS_IOPORTS 1
/* The IPC fast path's message words go through the threads' frames: the
 * syscall entry pushes every register anyway (kernel/arch.h). */
#define ARCH_FASTPATH_MESSAGE_IN_CPU 0
/* lzcnt (or bsr) counts leading zeros in one instruction. */
#define ARCH_COUNTS_ZEROS 1

/*
 * A thread's FPU and vector registers, in the layout XSAVE uses in its
 * standard (non-compacted) format (Intel SDM vol. 1, 13.4): the 512-byte
 * legacy region FXSAVE writes too (x87 and SSE state, SDM vol. 1, table
 * 10-2), the 64-byte XSAVE header, then the AVX state (the upper halves of
 * ymm0-ymm15, 256 bytes, at 576 on every CPU so far; fpu.c checks
 * CPUID). XSAVE needs it 64-byte aligned (FXSAVE 16). Only fpu.c reads
 * and writes it, by byte offset.
 */
#define X86_FPU_AREA_SIZE 832
struct x86_fpu_area {
    uint8_t bytes[X86_FPU_AREA_SIZE];
} __attribute__((aligned(64)));

/*
 * A user thread's registers. It starts with the trap frame itself: on a
 * trap from user mode the CPU pushes ss..rip at the end of the frame
 * (TSS.RSP0 points just past ss), the entry stub pushes error_code, vector
 * and the general registers below that. The syscall path builds the same
 * frame by hand. fs_base and gs_base are saved by C code. The CPU aligns
 * RSP0 down to 16 bytes before pushing (Intel SDM vol. 3, 6.14.2), so the
 * frame must be 16-byte aligned and a multiple of 16 bytes long;
 * arch_user_enter() checks the alignment. Traps from kernel mode and the
 * IST vectors build only the frame, on a stack: their handlers read no
 * field past ss. Offsets are mirrored in arch/x86_64/x86_defs.h for the
 * assembly.
 *
 * The FPU state follows the frame (arch/x86_64/fpu.c): it is switched
 * lazily, so a CPU may hold it live in its registers instead.
 */
typedef struct arch_regs {
    uint64_t fs_base, gs_base;
    /* rcx and r11 first: the syscall instruction clobbers them (they carry
     * rip and rflags), so the syscall entry and sysretq skip their slots. */
    uint64_t rcx, r11;
    uint64_t r15, r14, r13, r12, rbp, rbx;
    /* The syscall argument registers, in ABI order, so that IPC code can
     * move a message as an array (arch_regs_args()). */
    union {
        struct {
            uint64_t rdi, rsi, rdx, r10, r8, r9;
        };
        uint64_t args[6];
    };
    uint64_t rax;
    uint64_t vector;     /* how the thread last entered the kernel */
    uint64_t error_code; /* exception error code, else 0 */
    uint64_t rip, cs, rflags, rsp, ss;
    /* End of the trap frame. This structure's own address while the
     * thread is known to use the FPU, NULL otherwise: the way out to user
     * mode compares it with the CPU's fpu_enabled, so that its common
     * cases (a thread not using the FPU while CR0.TS is set, or the owner
     * of the live state while TS is clear) cost one compare. */
    struct arch_regs *fpu_self;
    /* Times the FPU may still be turned on for it ahead of use before the
     * thread must show again, by a #NM, that it uses the FPU (fpu.c). */
    uint8_t fpu_eager_loads;
    /* False in fresh (zeroed) memory: the thread's FPU state is then the
     * ABI's initial one, written into fpu when first needed. */
    bool fpu_valid;
    /* CR4.TSD (the bit) while the thread is denied the time-stamp counter
     * in user mode (TCB: SetCounterAccess), else 0, as in fresh memory.
     * The way out to user mode compares it with the CPU's counters_off. */
    uint64_t counters_off;
    struct x86_fpu_area fpu;
} arch_regs_t;
/* The six syscall argument registers of `regs` (kernel/abi.toml order:
 * rdi, rsi, rdx, r10, r8, r9); see kernel/arch.h. */
static inline uint64_t *arch_regs_args(arch_regs_t *regs)
{
    return regs->args;
}

/* The syscall number of `regs`, rax: arch_syscall_number() (kernel/arch.h)
 * inline, for the syscall entry with several CPUs (kernel_syscall_smp()). */
static inline unsigned long arch_regs_syscall_number(const arch_regs_t *regs)
{
    return regs->rax;
}

/* One turn of a short wait for the clock (kernel/timer.c). */
static inline void arch_spin_pause(void)
{
    __asm__ volatile("pause");
}

/* The kernel's struct cpu of the running CPU (kernel/smp.h): one load,
 * %gs-relative, from struct x86_cpu's kcpu (X86_CPU_KCPU, checked in
 * x86.h); kernel mode only. */
#define X86_CPU_KCPU 48
struct cpu;
static inline struct cpu *arch_kernel_cpu(void)
{
    struct cpu *c;
    __asm__("movq %%gs:48, %0" : "=r"(c));
    return c;
}

/* The same, read again rather than kept from an earlier read: after a
 * call, one load is cheaper than a register saved across it. */
static inline struct cpu *arch_kernel_cpu_again(void)
{
    struct cpu *c;
    __asm__ volatile("movq %%gs:48, %0" : "=r"(c));
    return c;
}

/* The constant-rate counter the scheduler charges time in (the TSC; see
 * kernel/arch.h): read on every switch between threads, so inline. */
static inline uint64_t arch_counter(void)
{
    /* rdtsc clears the upper halves of rax and rdx (SDM vol. 2B, RDTSC),
     * so the two combine without a zero extension. */
    uint64_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return hi << 32 | lo;
}

/* An address space: the physical address of its PML4 and the PCID that
 * tags its TLB entries (0 when the CPU has no PCID support). */
typedef struct arch_vspace {
    uint64_t pml4;
    uint16_t pcid;
} arch_vspace_t;
