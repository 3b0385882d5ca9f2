/*
 * x86-64 constants shared by the assembly (entry.S, trap.S) and the C files
 * of the port: the memory layout, segment selectors, vectors, MSR numbers,
 * control register bits and the offsets of the structures the assembly
 * touches (checked against the C definitions with static asserts in x86.h).
 * Only #defines here, so both languages can include it.
 */
#pragma once

#include <bulkhead/abi.h> /* the page size; usable from assembly too */

/* ---- Memory layout ---------------------------------------------------- */

/* The kernel image is linked at KERNEL_VBASE + its physical address and
 * loaded at 1 MiB; -mcmodel=kernel needs it in the top 2 GiB. */
#define KERNEL_VBASE 0xFFFFFFFF80000000
#define KERNEL_PBASE 0x100000
/* Direct map of all RAM: virtual PHYSMAP_BASE + pa (PML4 slot 256, the
 * first kernel-half slot). It may cover physical addresses below
 * PHYSMAP_LIMIT, 254 PML4 slots of 512 GiB. */
#define PHYSMAP_BASE 0xFFFF800000000000
#define PHYSMAP_LIMIT 0x00007F0000000000

/* The hardware page is the ABI's (kernel/abi.toml). */
#define PAGE_SIZE BK_PAGE_SIZE
#define PAGE_SHIFT BK_PAGE_BITS

/* ---- Segment selectors (the GDT built in cpu.c) ------------------------ */
/* syscall loads CS = STAR[47:32] and SS = that + 8; sysret loads
 * CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, both with RPL 3 (Intel
 * SDM vol. 2, SYSCALL/SYSRET). Hence kernel code, kernel data, an unused
 * slot, user data, user code, in that order. */
#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_SYSRET_BASE 0x18 /* unused slot: never a valid segment */
#define GDT_USER_DATA 0x20
#define GDT_USER_CODE 0x28
#define GDT_TSS 0x30 /* 16-byte descriptor: slots 6 and 7 */
#define GDT_ENTRIES 8
#define USER_CS (GDT_USER_CODE | 3)
#define USER_SS (GDT_USER_DATA | 3)

/* ---- Interrupt vectors -------------------------------------------------- */
#define VECTOR_DE 0   /* divide error */
#define VECTOR_DB 1
#define VECTOR_NMI 2
#define VECTOR_BP 3
#define VECTOR_OF 4
#define VECTOR_UD 6
#define VECTOR_NM 7   /* device not available (FPU instruction with CR0.TS set) */
#define VECTOR_DF 8   /* double fault */
#define VECTOR_NP 11
#define VECTOR_SS 12
#define VECTOR_GP 13
#define VECTOR_PF 14
#define VECTOR_MF 16
#define VECTOR_AC 17
#define VECTOR_MC 18
#define VECTOR_XM 19
#define VECTOR_PIC_BASE 0x20 /* the masked 8259s, remapped: spurious only */
#define VECTOR_TIMER 0x40    /* local APIC timer */
#define VECTOR_IOMMU_FAULT 0x48 /* the IOMMU's fault event (iommu.c) */
#define VECTOR_IPI 0x41      /* the kernel's IPI (smp.c): in the IRR words
                                arch_interrupt_pending() reads */
#define VECTOR_SPURIOUS 0xFF /* local APIC spurious vector (SVR) */
#define IDT_ENTRIES 256
/* Size of each entry stub in trap.S; the IDT points at stubs + 16 * n. */
#define VECTOR_STUB_SIZE 16

/* arch_regs_t.vector values above 255: how the thread entered the kernel
 * when it was not through the IDT. */
#define ENTRY_SYSCALL 0x100 /* syscall instruction: return with sysret */
#define ENTRY_NONE 0x101    /* fresh registers: return with iretq */

/* IST slots in the TSS (1-based, as in the IDT gate's IST field). */
#define IST_DF 1
#define IST_NMI 2
#define IST_MC 3

/* ---- arch_regs_t offsets (include/arch_types.h) ------------------------ */
#define REGS_FS_BASE 0
#define REGS_GS_BASE 8
#define REGS_RCX 16 /* the first general register slot, then r11 */
#define REGS_R15 32 /* the first one a syscall saves */
#define REGS_RAX 128
#define REGS_VECTOR 136
#define REGS_ERROR 144
#define REGS_RIP 152
#define REGS_CS 160
#define REGS_RFLAGS 168
#define REGS_RSP 176
#define REGS_SS 184
#define REGS_FRAME_END 192 /* just past ss: TSS.RSP0 while the thread runs */
#define REGS_SIZE 1088     /* the frame, FPU bookkeeping, the 64-byte-aligned FPU area */

/* ---- Per-CPU structure offsets (struct x86_cpu in x86.h, at GS base) --- */
#define CPU_SELF 0
#define CPU_KERNEL_RSP 8 /* top of this CPU's kernel stack */
#define CPU_RSP0 164     /* tss.rsp[0]: end of the current thread's trap frame */
#define CPU_USER_RSP 24  /* scratch: user rsp during the syscall entry */
#define CPU_USER_CR3 32  /* kpti.c: CR3 of the user space the next exit enters */
#define CPU_ENTRY_STACK_TOP 40 /* kpti.c: top of this CPU's entry stack */
#define CPU_KCPU 48      /* the kernel's struct cpu (arch_types.h) */
#define CPU_FAST_YIELD_NR 16 /* syscall number that tries the Yield fast path */
#define CPU_FAST_CALL_NR 56 /* syscall number that tries the fast path's Call */
#define CPU_FAST_REPLY_RECV_NR 64 /* ... and its ReplyRecv */
#define CPU_SYSCALL_ENTRY 72 /* kernel_syscall or kernel_syscall_smp */
#define CPU_FAST_RECV_NR 80 /* syscall number that tries the notification Wait fast path */
#define CPU_FAST_SEND_NR 88 /* ... and its Signal */

/* Bytes of the per-CPU entry stack that kpti.c's trap entry uses while the
 * user's page tables are loaded: a trap frame, the vector and a register. */
#define ENTRY_STACK_SIZE 512

/* ---- Per-CPU stacks (struct x86_stacks in x86.h), guard pages between -- */
#define KERNEL_STACK_SIZE 16384
#define IST_STACK_SIZE 4096
/* Offset of the top of the kernel stack in struct x86_stacks: one guard
 * page, then the stack. */
#define STACKS_KERNEL_TOP (PAGE_SIZE + KERNEL_STACK_SIZE)

/* ---- Starting the other CPUs (smp.c, ap_boot.S) ------------------------ */
/* The page the STARTUP IPI starts them in: below 1 MiB, page aligned. */
#define AP_TRAMPOLINE_PA 0x8000
/* struct x86_ap_boot offsets. */
#define AP_BOOT_CR3 0
#define AP_BOOT_STACK 8
#define AP_BOOT_CPU 16

/* ---- MSRs (Intel SDM vol. 4) ------------------------------------------ */
#define MSR_APIC_BASE 0x1B
#define MSR_TSC_DEADLINE 0x6E0 /* IA32_TSC_DEADLINE */
#define MSR_EFER 0xC0000080
#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_SFMASK 0xC0000084
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102

#define EFER_SCE (1 << 0)  /* syscall/sysret enable */
#define EFER_LME (1 << 8)  /* long mode enable */
#define EFER_NXE (1 << 11) /* execute-disable bit in page tables */

/* ---- Control registers -------------------------------------------------- */
#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)  /* no FPU: x87 instructions raise #NM */
#define CR0_TS (1 << 3)  /* task switched: FPU/SSE/AVX instructions raise #NM */
#define CR0_NE (1 << 5)  /* x87 errors as #MF, not the legacy IRQ 13 */
#define CR0_WP (1 << 16) /* supervisor writes honour read-only pages */
#define CR0_PG 0x80000000

#define CR4_TSD (1 << 2) /* rdtsc and rdtscp raise #GP outside ring 0 */
#define CR4_PAE (1 << 5)
#define CR4_PGE (1 << 7)
#define CR4_PCE (1 << 8) /* rdpmc allowed outside ring 0; kept clear */
#define CR4_OSFXSR (1 << 9)      /* FXSAVE/FXRSTOR save SSE state; SSE allowed */
#define CR4_OSXMMEXCPT (1 << 10) /* unmasked SSE exceptions raise #XM, not #UD */
#define CR4_UMIP (1 << 11)
#define CR4_FSGSBASE (1 << 16)
#define CR4_PCIDE (1 << 17)
#define CR4_OSXSAVE (1 << 18) /* XSAVE, XRSTOR, XGETBV, XSETBV allowed */
#define CR4_SMEP (1 << 20)
#define CR4_SMAP (1 << 21)

/* XCR0 state components (Intel SDM vol. 1, 13.1): the ones a thread's
 * FPU area holds. */
#define XCR0_X87 (1 << 0)
#define XCR0_SSE (1 << 1)
#define XCR0_AVX (1 << 2)

/* ---- RFLAGS --------------------------------------------------------------- */
#define RFLAGS_FIXED 0x2 /* bit 1 always reads 1 */
#define RFLAGS_TF 0x100
#define RFLAGS_IF 0x200
#define RFLAGS_DF 0x400
#define RFLAGS_IOPL 0x3000
#define RFLAGS_NT 0x4000
#define RFLAGS_RF 0x10000
#define RFLAGS_AC 0x40000
/* Flags a user thread may hold: CF PF AF ZF SF TF DF OF AC ID. */
#define RFLAGS_USER_MASK 0x240DD5

/* ---- Page table entry bits (Intel SDM vol. 3, 4.5) ---------------------- */
#define PTE_P (1 << 0)
#define PTE_W (1 << 1)
#define PTE_U (1 << 2)
#define PTE_PWT (1 << 3)
#define PTE_PCD (1 << 4)
#define PTE_PS (1 << 7) /* 1 GiB / 2 MiB page in a PDPTE / PDE */
#define PTE_G (1 << 8)
#define PTE_SW_EXEC (1 << 9) /* software bit: the mapping asked for VM_EXEC */

/* ---- Multiboot magics (multiboot specifications v1 and v2) --------------- */
#define MB1_HEADER_MAGIC 0x1BADB002
#define MB1_BOOT_MAGIC 0x2BADB002
#define MB2_HEADER_MAGIC 0xE85250D6
#define MB2_BOOT_MAGIC 0x36D76289
