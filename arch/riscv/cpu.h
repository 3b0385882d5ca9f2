/*
 * Per-hart state of the RISC-V port, kept in one struct per hart so SMP
 * only adds more of them. In kernel mode tp holds this hart's struct
 * riscv_cpu; in user mode sscratch does (and is 0 while in the kernel), so
 * the trap vector can tell where it came from and where to save.
 *
 * The CPU_* offsets are used by trap.S; cpu.c checks them against the
 * struct at compile time.
 */
#pragma once

#define CPU_KERNEL_SP 0  /* top of this hart's kernel stack */
#define CPU_USER_REGS 8  /* arch_regs_t the next user trap saves into */
#define CPU_SCRATCH 16   /* trap entry spills t0 here */
#define CPU_USER_VSPACE 24 /* arch_vspace_t of user_regs' thread */
#define CPU_SATP 32      /* what satp holds now */
#define CPU_FPU_OWNER 40 /* arch_regs_t whose F/D state is live, or 0 */
#define CPU_COUNTERS_OFF 56 /* scounteren bits cleared now (arch_regs_t's) */
#define CPU_EXIT_KEY 64  /* counters_off, | CPU_EXIT_KEY_FPU if fpu_owner */
#define CPU_KCPU 80      /* the kernel's struct cpu (arch_kernel_cpu()) */
#define CPU_FAST_CALL_NR 88 /* syscall number that tries the fast path's Call */
#define CPU_FAST_REPLY_RECV_NR 96 /* ... and its ReplyRecv */
#define CPU_SYSCALL_ENTRY 104 /* kernel_syscall or kernel_syscall_smp */
#define CPU_FAST_YIELD_NR 120 /* syscall number that tries the Yield fast path */
#define CPU_FAST_RECV_NR 128 /* ... the notification Wait fast path */
#define CPU_FAST_SEND_NR 136 /* ... and its Signal */

/* struct riscv_ap_start offsets. */
#define AP_START_SATP 0
#define AP_START_SP 8
#define AP_START_CPU 16

/* struct riscv_parked_hart (entry.S's lottery losers; cpu.c). */
#define RISCV_PARK_SLOTS 16 /* more harts than the kernel starts: a spare loser parks for good */
#define PARK_SLOT_SHIFT 4   /* 16 bytes a slot */
#define PARK_HART_ID 0
#define PARK_STATE 8
#define PARK_EMPTY 0
#define PARK_WAITING 1  /* the hart waits in entry.S, its id written */
#define PARK_RELEASED 2 /* the boot hart sent it on to riscv_ap_entry */

/* exit_key's bit for "some thread owns the FPU": above SCOUNTEREN_USER,
 * which is all counters_off can hold (cpu.c checks). */
#define CPU_EXIT_KEY_FPU 8

/* arch_vspace_t offsets (arch_types.h). */
#define VS_ASID_GENERATION 8
#define VS_SATP 16

/* arch_regs_t offsets: gpr[n] at 8 * n, then pc, f0..f31 and fcsr. */
#define REGS_PC 256
#define REGS_FPR 264
#define REGS_FCSR 520
#define REGS_FPU_FS 528
#define REGS_FPU_EAGER 536
#define REGS_COUNTERS_OFF 544

/* The frame trap.S pushes for a trap taken in kernel mode. */
#define KFRAME_SEPC 256
#define KFRAME_SSTATUS 264
#define KFRAME_SCAUSE 272
#define KFRAME_STVAL 280
#define KFRAME_SIZE 288

#ifndef __ASSEMBLER__
#include "arch.h"

struct riscv_cpu {
    uint64_t kernel_sp;
    arch_regs_t *user_regs;
    uint64_t scratch;
    arch_vspace_t *user_vspace; /* address space of user_regs' thread */
    uint64_t satp;              /* what satp holds now */
    arch_regs_t *fpu_owner;     /* whose F/D state f0-f31/fcsr hold (fpu.c) */
    uint64_t hart_id;
    uint64_t counters_off;      /* SCOUNTEREN_USER less scounteren (user.c) */
    /* counters_off | (fpu_owner ? CPU_EXIT_KEY_FPU : 0), kept by
     * cpu_update_exit_key() wherever either changes. The fast path's exit
     * (trap.S) compares it with the next thread's counters_off: equal
     * means no FPU owner and the counters right for that thread, so
     * neither needs work (one compare for both). */
    uint64_t exit_key;
    unsigned index; /* the kernel's number of this hart (arch_cpu_index) */
    struct cpu *kcpu; /* &cpus[index] (kernel/smp.h) */
    /* The syscall numbers trap.S sends to the IPC fast path: BK_SYS_CALL
     * and BK_SYS_REPLY_RECV while this hart is the only one, a number no
     * syscall has once several run user threads (arch_cpu_smp_mode()). */
    uint64_t fast_call_nr;
    uint64_t fast_reply_recv_nr;
    /* Where trap.S sends the general path's syscalls: kernel_syscall, or
     * kernel_syscall_smp once several harts run user threads
     * (arch_cpu_smp_mode(); kernel/arch.h says why). */
    void (*syscall_entry)(void); /* does not return */
    /* arch_user_enter()'s last step: riscv_return_to_user, or
     * riscv_return_to_user_smp (the kernel lock let go first) once
     * several harts run user threads; one CPU tests nothing for it. */
    void (*return_to_user)(const arch_regs_t *regs); /* does not return */
    /* The syscall number trap.S sends to the Yield fast path: BK_SYS_YIELD
     * while this hart is the only one, as fast_call_nr above. */
    uint64_t fast_yield_nr;
    /* BK_SYS_RECV and BK_SYS_SEND for the notification fast paths. */
    uint64_t fast_recv_nr;
    uint64_t fast_send_nr;
    /* Its SETSSIP register of the ACLINT SSWI (sswi.c), which other harts'
     * IPIs write; NULL: IPIs to it go through SBI. */
    volatile uint32_t *sswi;
};

/* Call after any change to cpu->counters_off or cpu->fpu_owner (trap.S
 * does the same in assembly). */
static inline void cpu_update_exit_key(struct riscv_cpu *cpu)
{
    cpu->exit_key = cpu->counters_off | (cpu->fpu_owner ? CPU_EXIT_KEY_FPU : 0);
}

/* Registers saved by trap.S for a trap taken in kernel mode. */
struct kernel_frame {
    uint64_t gpr[32]; /* gpr[2] is sp before the trap */
    uint64_t sepc, sstatus, scause, stval;
};

static inline struct riscv_cpu *this_cpu(void)
{
    struct riscv_cpu *cpu;
    __asm__("mv %0, tp" : "=r"(cpu));
    return cpu;
}

/* sswi.c: the kernel's IPIs through an ACLINT SSWI, where the device
 * tree has one: sswi_find() at boot with the tree, sswi_init() once the
 * kernel maps devices (it sets the boot hart's register), then
 * sswi_register() for each hart started (NULL without the device). */
struct fdt;
void sswi_find(const struct fdt *fdt);
void sswi_init(void);
volatile uint32_t *sswi_register(uint64_t hart_id);

/* cpu.c */
void cpu_init_boot_hart(uint64_t hart_id);
NORETURN void riscv_ap_main(struct riscv_cpu *cpu);

/* What entry.S's riscv_ap_entry reads once in the kernel's window (cpu.c
 * fills it before each hart_start; the offsets are AP_START_*). */
struct riscv_ap_start {
    uint64_t satp;           /* the kernel's own tables */
    uint64_t sp;             /* top of the hart's kernel stack */
    struct riscv_cpu *cpu;   /* goes into tp */
};
void cpu_init_counters(void);

/* One slot for each hart that lost entry.S's boot lottery (the PARK_*
 * offsets and states): the firmware let it into _start beside the boot
 * hart, and it waits there for arch_cpu_start(). */
struct riscv_parked_hart {
    uint64_t hart_id; /* valid once state is PARK_WAITING */
    uint32_t state;   /* PARK_EMPTY, PARK_WAITING, PARK_RELEASED */
    uint32_t unused;
};
extern struct riscv_parked_hart riscv_parked[RISCV_PARK_SLOTS];
extern uint32_t riscv_parked_count;
/* A test switch (bulkhead.riscv_start_at_entry=late|again, early.c): start
 * the other harts at _start, as a firmware that enters the kernel on every
 * hart would. */
void riscv_cpu_start_at_entry(const char *how);

/* trap.S */
void riscv_trap_entry(void);
void riscv_trap_entry_smp(void); /* the vector once several harts run user threads */
NORETURN void riscv_return_to_user(const arch_regs_t *regs);
NORETURN void riscv_return_to_user_smp(const arch_regs_t *regs); /* user.c */
/* The general way arch_fastpath_switch_smp() (fastpath.c) leaves by, in
 * user.c. It does not return; declared without NORETURN so that the call
 * to it is a tail call. */
void riscv_fastpath_exit_general(arch_regs_t *to, arch_vspace_t *vs);

/* user.c: called from trap.S */
NORETURN void riscv_fastpath_new_asid(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs);

/* trap.c: called from trap.S */
NORETURN void riscv_user_trap(void);
void riscv_kernel_trap(struct kernel_frame *frame);
#endif
