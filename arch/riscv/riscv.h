/*
 * RISC-V hardware facts the port uses: CSR access, the bits of sstatus,
 * sie/sip, scause, satp and Sv39 page-table entries (RISC-V Privileged
 * Architecture v1.12, chapter 4), and the kernel's virtual memory layout.
 * Usable from assembly for the plain constants.
 */
#pragma once

#include <bulkhead/abi.h> /* the page size; usable from assembly too */

/* ---- Kernel virtual memory layout (Sv39: 39-bit VAs, sign-extended) ----
 * Root-table slot 256..509  physmap: all RAM at PHYSMAP_BASE + pa (254 GiB)
 *                 510       kernel image at its link address
 *                 511       MMIO window for devices the kernel drives
 * The lower half (slots 0..255) belongs to user space. */
#define PHYSMAP_BASE 0xFFFFFFC000000000
#define PHYSMAP_SIZE 0x0000003F80000000 /* 254 GiB */
#define KERNEL_WINDOW_BASE 0xFFFFFFFF80000000
#define DEVICE_WINDOW_BASE 0xFFFFFFFFC0000000
#define DEVICE_WINDOW_SIZE 0x40000000

#define KERNEL_STACK_SIZE 16384
#define RISCV_MAX_CPUS 8 /* KERNEL_MAX_CPUS (kernel/smp.h): one struct riscv_cpu per hart */

/* sstatus (Privileged 4.1.1) */
#define SSTATUS_SIE (1 << 1)  /* S-mode interrupts enabled */
#define SSTATUS_SPIE (1 << 5) /* SIE before the trap; restored by sret */
#define SSTATUS_SPP (1 << 8)  /* privilege before the trap: 1 = S, 0 = U */
#define SSTATUS_VS (3 << 9)   /* vector state; kept Off: V instructions trap */
#define SSTATUS_FS (3 << 13)  /* FPU state; Off makes FP instructions trap */
#define SSTATUS_SUM (1 << 18) /* S-mode may touch U pages; never set here */

/* The values of the FS (and VS) field (Privileged 3.1.6.6, table 3.3):
 * Off traps every FP instruction, fcsr access included; the hart moves
 * Initial or Clean to Dirty on any write to an f register or fcsr, and
 * never moves it back. Here in FS's position in sstatus. */
#define SSTATUS_FS_OFF 0
#define SSTATUS_FS_INITIAL (1 << 13)
#define SSTATUS_FS_CLEAN (2 << 13)
#define SSTATUS_FS_DIRTY (3 << 13)

/* scounteren (Privileged 4.1.5): a clear bit makes U-mode reads of that
 * counter (cycle, time, instret, hpmcounter3..31) illegal instructions,
 * whatever M-mode's mcounteren allows. The kernel allows the first three
 * (SCOUNTEREN_USER) and never the performance-monitoring ones. */
#define SCOUNTEREN_CY (1 << 0)
#define SCOUNTEREN_TM (1 << 1)
#define SCOUNTEREN_IR (1 << 2)
#define SCOUNTEREN_USER (SCOUNTEREN_CY | SCOUNTEREN_TM | SCOUNTEREN_IR)

/* sie / sip bits (Privileged 4.1.3) */
#define SIE_SSIE (1 << 1)
#define SIE_STIE (1 << 5)
#define SIE_SEIE (1 << 9)

/* scause (Privileged 4.1.9, table 4.2): bit 63 set for interrupts. */
#define SCAUSE_INTERRUPT (1ull << 63)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9
#define EXC_INST_MISALIGNED 0
#define EXC_INST_ACCESS 1
#define EXC_ILLEGAL 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_ECALL_S 9
#define EXC_INST_PAGE 12
#define EXC_LOAD_PAGE 13
#define EXC_STORE_PAGE 15

/* satp (Privileged 4.1.11): MODE[63:60], ASID[59:44], PPN[43:0]. */
#define SATP_MODE_SV39 0x8000000000000000 /* MODE 8 */
#define SATP_ASID_SHIFT 44
#define SATP_ASID_MASK 0xFFFFull
#define SATP_PPN_MASK ((1ull << 44) - 1)

/* Sv39 page-table entries (Privileged 4.4.1): PPN in bits 53:10. A, D are
 * set up front because hardware may trap instead of setting them. */
#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)
#define PTE_PPN_SHIFT 10
#define PAGE_SHIFT BK_PAGE_BITS /* the hardware page is the ABI's (kernel/abi.toml) */
#define PT_ENTRIES 512
#define MEGAPAGE_SIZE 0x200000
#define GIGAPAGE_SIZE 0x40000000

#ifndef __ASSEMBLER__
#include "types.h"

#define csr_read(csr)                                            \
    ({                                                           \
        uint64_t csr_value_;                                     \
        __asm__ volatile("csrr %0, " #csr : "=r"(csr_value_));   \
        csr_value_;                                              \
    })
#define csr_write(csr, value) __asm__ volatile("csrw " #csr ", %0" ::"rK"((uint64_t)(value)) : "memory")
#define csr_set(csr, bits) __asm__ volatile("csrs " #csr ", %0" ::"rK"((uint64_t)(bits)) : "memory")
#define csr_clear(csr, bits) __asm__ volatile("csrc " #csr ", %0" ::"rK"((uint64_t)(bits)) : "memory")

/* sfence.vma orders page-table writes before later translations and drops
 * cached ones (Privileged 4.2.1). Global mappings are flushed only by the
 * forms without an ASID. */
static inline void sfence_vma_all(void)
{
    __asm__ volatile("sfence.vma zero, zero" ::: "memory");
}

static inline void sfence_vma_addr(uint64_t va)
{
    __asm__ volatile("sfence.vma %0, zero" ::"r"(va) : "memory");
}

static inline uint64_t read_time(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}
#endif
