/*
 * Internal interface of the x86-64 port: the per-CPU structure, CPU
 * feature flags, small instruction wrappers (port I/O, MSRs, control
 * registers, CPUID) and the functions the port's files call in each other.
 * Generic kernel code never includes this file.
 */
#pragma once

#include "arch.h"
#include "boot/boot_params.h"
#include "kernel.h"
#include "x86_defs.h"

#include <stddef.h>

#define PTE_NX (1ull << 63)
#define CR3_NOFLUSH (1ull << 63) /* with CR4.PCIDE: keep the PCID's TLB entries */
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ull

/* ---- CPU features, filled once by x86_cpu_detect() ---------------------- */
struct x86_features {
    bool nx;           /* CPUID 80000001h EDX[20]: execute-disable */
    bool page1g;       /* CPUID 80000001h EDX[26]: 1 GiB pages */
    bool pge;          /* CPUID 1 EDX[13]: global pages */
    bool pcid;         /* CPUID 1 ECX[17] */
    bool x2apic;       /* CPUID 1 ECX[21] (not used yet) */
    bool tsc_deadline; /* CPUID 1 ECX[24]: the APIC timer's TSC-deadline mode */
    bool invariant_tsc; /* CPUID 80000007h EDX[8]: TSC rate constant in every state */
    bool hypervisor;   /* CPUID 1 ECX[31] */
    bool fsgsbase;     /* CPUID 7.0 EBX[0] */
    bool smep;         /* CPUID 7.0 EBX[7] */
    bool smap;         /* CPUID 7.0 EBX[20] */
    bool umip;         /* CPUID 7.0 ECX[2] */
    char vendor[13];
    char hypervisor_id[13];
};
extern struct x86_features x86_features;

/* ---- Per-CPU state ------------------------------------------------------ */

/* The 64-bit TSS (Intel SDM vol. 3, 8.7): only the stack pointers matter. */
struct x86_tss {
    uint32_t reserved0;
    uint64_t rsp[3]; /* rsp[0]: stack for traps from user mode */
    uint64_t reserved1;
    uint64_t ist[7]; /* ist[n - 1]: stack of IDT gates with IST = n */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base; /* past the limit: no I/O permission bitmap */
} PACKED;

#define PCID_COUNT 4096

/* A way back to user mode (trap.S). */
typedef void x86_exit_fn(arch_regs_t *regs) __attribute__((noreturn));

/* A fastpath_key no thread's counters_off matches (those are 0 or
 * CR4_TSD). */
#define X86_FASTPATH_KEY_NONE UINT64_MAX

/* One per CPU, reached through GS base in kernel mode. The first fields
 * are read by trap.S at the offsets in x86_defs.h.
 *
 * The first page is what the CPU and the entry code touch while a user
 * space's page tables may be loaded (GDT, TSS, the entry fields and the
 * entry stack): under kpti.c's Meltdown window it is the only part of the
 * structure mapped in user spaces, so it holds nothing but kernel
 * addresses. Everything from vspace on is on later pages. */
struct x86_cpu {
    struct x86_cpu *self;   /* CPU_SELF */
    uint64_t kernel_rsp;    /* CPU_KERNEL_RSP */
    /* CPU_FAST_YIELD_NR: the syscall number the entry sends to the Yield
     * fast path, BK_SYS_YIELD while this CPU is the only one, a number no
     * syscall has once several run user threads (as fast_call_nr below). */
    uint64_t fast_yield_nr;
    uint64_t user_rsp;      /* CPU_USER_RSP */
    uint64_t user_cr3;      /* CPU_USER_CR3: with kpti, CR3 for the way out */
    uint64_t entry_stack_top; /* CPU_ENTRY_STACK_TOP: end of entry_stack */
    struct cpu *kcpu;       /* CPU_KCPU: &cpus[index] (arch_kernel_cpu()) */
    /* CPU_FAST_CALL_NR, CPU_FAST_REPLY_RECV_NR: the syscall numbers the
     * entry sends to the IPC fast path, BK_SYS_CALL and BK_SYS_REPLY_RECV
     * while this CPU is the only one, a number no syscall has once several
     * run user threads (arch_cpu_smp_mode()). */
    uint64_t fast_call_nr;
    uint64_t fast_reply_recv_nr;
    /* kernel_syscall, or kernel_syscall_smp once several CPUs run user
     * threads (arch_cpu_smp_mode(); kernel/arch.h says why). */
    void (*syscall_entry)(void); /* does not return */
    /* CPU_FAST_RECV_NR, CPU_FAST_SEND_NR: BK_SYS_RECV and BK_SYS_SEND for
     * the notification fast paths, as fast_call_nr. */
    uint64_t fast_recv_nr;
    uint64_t fast_send_nr;
    uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
    /* The TSS the task register names without kpti; C code keeps its
     * rsp[0] at the current thread's frame. */
    struct x86_tss tss __attribute__((aligned(16)));
    /* The TSS loaded with kpti: rsp[0] stays at the entry stack. */
    struct x86_tss entry_tss __attribute__((aligned(16)));
    uint8_t entry_stack[ENTRY_STACK_SIZE] __attribute__((aligned(16)));

    /* ---- kernel-only from here (never in a user space) ---- */
    /* The address space user mode runs in next. */
    arch_vspace_t *vspace __attribute__((aligned(PAGE_SIZE)));
    uint64_t cr3;           /* its root (without kpti: CR3 without PCID and no-flush bits) */
    /* The ways back to user mode (trap.S), chosen at boot (kpti.c); once
     * several CPUs run user threads, x86_exits_smp() puts in front of
     * them the release of the kernel lock, and these name them. */
    x86_exit_fn *return_sysret;
    x86_exit_fn *return_iret;
    x86_exit_fn *unlocked_sysret;
    x86_exit_fn *unlocked_iret;
    /* The user FS base in its MSR and the user GS base in KERNEL_GS_BASE,
     * as every entry from user mode reads them (user code may change
     * them); exact from there to the way out, which compares them with
     * the next thread's. A way out that loads one need not record it:
     * the next entry reads both again (the IPC fast path's does not). */
    uint64_t hw_fs_base;
    uint64_t hw_gs_base;
    uint64_t counters_off;  /* CR4.TSD as it is now (arch_regs_t.counters_off) */
    /* The IPC fast path's way out (fastpath.c) applies when a thread's
     * counters_off equals this: the CPU's counters_off when the CPU has
     * FSGSBASE, else a value no thread has (X86_FASTPATH_KEY_NONE). */
    uint64_t fastpath_key;
    /* Lazy FPU switching (fpu.c). fpu_owner: the thread whose FPU state
     * the registers hold (its saved copy may be stale), or NULL.
     * fpu_enabled: fpu_owner while CR0.TS is clear, NULL while TS is set;
     * it is the cached TS bit, so CR0 is never read to learn it. */
    arch_regs_t *fpu_owner;
    arch_regs_t *fpu_enabled;
    struct user_fault fault; /* a fault arch_user_enter() raises itself */
    unsigned index;          /* the kernel's number of this CPU (arch_cpu_index) */
    uint32_t apic_id;        /* its local APIC's ID */
    uint64_t timer_deadline; /* timer.c: what this CPU's timer was asked for */
    /* arch_take_pending_interrupts_but_timer(): while timer_noting, a
     * timer interrupt in kernel mode sets timer_noted and is not served. */
    bool timer_noting, timer_noted;
    /* pcid_owner[p]: the PML4 whose entries PCID p may hold in the TLB. */
    uint64_t pcid_owner[PCID_COUNT];
};

/* This CPU's stacks, each below a guard page that paging.c leaves
 * unmapped, so an overflow faults instead of corrupting memory. */
struct x86_stacks {
    uint8_t guard0[PAGE_SIZE];
    uint8_t kernel[KERNEL_STACK_SIZE];
    uint8_t guard1[PAGE_SIZE];
    uint8_t ist_df[IST_STACK_SIZE];
    uint8_t guard2[PAGE_SIZE];
    uint8_t ist_nmi[IST_STACK_SIZE];
    uint8_t guard3[PAGE_SIZE];
    uint8_t ist_mc[IST_STACK_SIZE];
} __attribute__((aligned(PAGE_SIZE)));

extern struct x86_cpu x86_cpu0;
extern struct x86_stacks x86_cpu0_stacks;
/* CPU `index`'s struct and stacks (0: the boot CPU's, x86_cpu0 and
 * x86_cpu0_stacks; KERNEL_MAX_CPUS of each, started or not: smp.c). */
const struct x86_cpu *x86_cpu_struct(unsigned index);
const struct x86_stacks *x86_cpu_stacks(unsigned index);

/* What ap_boot.S's x86_ap_entry64 loads (offsets AP_BOOT_* in x86_defs.h). */
struct x86_ap_boot {
    uint64_t cr3;           /* the kernel's own tables */
    uint64_t stack;         /* top of the AP's kernel stack */
    struct x86_cpu *cpu;    /* x86_ap_main()'s argument */
};
_Static_assert(offsetof(struct x86_ap_boot, cr3) == AP_BOOT_CR3, "AP_BOOT_CR3");
_Static_assert(offsetof(struct x86_ap_boot, stack) == AP_BOOT_STACK, "AP_BOOT_STACK");
_Static_assert(offsetof(struct x86_ap_boot, cpu) == AP_BOOT_CPU, "AP_BOOT_CPU");

_Static_assert(offsetof(struct x86_cpu, self) == CPU_SELF, "CPU_SELF");
_Static_assert(offsetof(struct x86_cpu, kernel_rsp) == CPU_KERNEL_RSP, "CPU_KERNEL_RSP");
_Static_assert(offsetof(struct x86_cpu, tss) + offsetof(struct x86_tss, rsp) == CPU_RSP0,
               "CPU_RSP0 is tss.rsp[0]");
_Static_assert(offsetof(struct x86_cpu, user_rsp) == CPU_USER_RSP, "CPU_USER_RSP");
_Static_assert(offsetof(struct x86_cpu, user_cr3) == CPU_USER_CR3, "CPU_USER_CR3");
_Static_assert(offsetof(struct x86_cpu, kcpu) == CPU_KCPU && CPU_KCPU == X86_CPU_KCPU, "CPU_KCPU");
_Static_assert(offsetof(struct x86_cpu, fast_call_nr) == CPU_FAST_CALL_NR, "CPU_FAST_CALL_NR");
_Static_assert(offsetof(struct x86_cpu, fast_yield_nr) == CPU_FAST_YIELD_NR, "CPU_FAST_YIELD_NR");
_Static_assert(offsetof(struct x86_cpu, fast_reply_recv_nr) == CPU_FAST_REPLY_RECV_NR,
               "CPU_FAST_REPLY_RECV_NR");
_Static_assert(offsetof(struct x86_cpu, syscall_entry) == CPU_SYSCALL_ENTRY, "CPU_SYSCALL_ENTRY");
_Static_assert(offsetof(struct x86_cpu, fast_recv_nr) == CPU_FAST_RECV_NR, "CPU_FAST_RECV_NR");
_Static_assert(offsetof(struct x86_cpu, fast_send_nr) == CPU_FAST_SEND_NR, "CPU_FAST_SEND_NR");
_Static_assert(offsetof(struct x86_cpu, entry_stack_top) == CPU_ENTRY_STACK_TOP,
               "CPU_ENTRY_STACK_TOP");
_Static_assert(offsetof(struct x86_cpu, vspace) == PAGE_SIZE,
               "the entry part of struct x86_cpu is its first page");
_Static_assert(sizeof(struct x86_tss) == 104, "TSS layout");
_Static_assert(offsetof(struct x86_stacks, guard1) == STACKS_KERNEL_TOP, "stack top");
_Static_assert(offsetof(arch_regs_t, rcx) == REGS_RCX, "REGS_RCX");
_Static_assert(offsetof(arch_regs_t, r11) == REGS_RCX + 8, "r11 after rcx");
_Static_assert(offsetof(arch_regs_t, r15) == REGS_R15, "REGS_R15");
_Static_assert(offsetof(arch_regs_t, rax) == REGS_RAX, "REGS_RAX");
_Static_assert(offsetof(arch_regs_t, vector) == REGS_VECTOR, "REGS_VECTOR");
_Static_assert(offsetof(arch_regs_t, rip) == REGS_RIP, "REGS_RIP");
_Static_assert(offsetof(arch_regs_t, cs) == REGS_CS, "REGS_CS");
_Static_assert(offsetof(arch_regs_t, rflags) == REGS_RFLAGS, "REGS_RFLAGS");
_Static_assert(offsetof(arch_regs_t, rsp) == REGS_RSP, "REGS_RSP");
_Static_assert(offsetof(arch_regs_t, ss) == REGS_SS, "REGS_SS");
_Static_assert(offsetof(arch_regs_t, ss) + 8 == REGS_FRAME_END, "REGS_FRAME_END");
_Static_assert(sizeof(arch_regs_t) == REGS_SIZE, "REGS_SIZE");
_Static_assert(offsetof(arch_regs_t, fpu) % 64 == 0, "XSAVE needs a 64-byte-aligned area");

/* The per-CPU structure of the running CPU (GS base, kernel mode only). */
static inline struct x86_cpu *x86_this_cpu(void)
{
    struct x86_cpu *cpu;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(cpu));
    return cpu;
}

/* This CPU's timer_deadline, in one instruction (a GS-relative store). */
static inline void x86_cpu_set_timer_deadline(uint64_t ns)
{
    __asm__ volatile("movq %0, %%gs:%c1"
                     :
                     : "r"(ns), "i"(offsetof(struct x86_cpu, timer_deadline))
                     : "memory");
}

/* ---- Instruction wrappers ----------------------------------------------- */

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
                     : "memory");
}

/* The time-stamp counter. Not serializing: a read may happen a few
 * instructions early, which a clock read does not mind. */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(subleaf));
}

#define DEFINE_CR_ACCESSORS(n)                                            \
    static inline uint64_t read_cr##n(void)                                \
    {                                                                      \
        uint64_t v;                                                        \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                  \
        return v;                                                          \
    }                                                                      \
    static inline void write_cr##n(uint64_t v)                             \
    {                                                                      \
        __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");         \
    }
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

/* True if `va` is canonical for 4-level paging (bits 63..47 all equal). */
static inline bool x86_canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* ---- Linker script symbols (kernel.ld) ---------------------------------- */
extern char __kernel_start[], __text_end[], __rodata_end[], __kernel_end[];
/* What kpti.c's window maps: trap.S's code, the IDT and the kernel's CR3. */
extern char __entry_text_start[], __entry_text_end[];
extern char __entry_data_start[], __entry_data_end[];

/* ---- Between the port's files ------------------------------------------- */

/* entry.S → early.c: the first C code, on CPU 0's kernel stack. */
NORETURN void x86_boot_main(uint32_t magic, uint32_t info_pa);

/* console.c */
void x86_serial_init(void);

/* cpu.c */
void x86_cpu_detect(void);
void x86_cpu_init(struct x86_cpu *cpu, struct x86_stacks *stacks);
void x86_cpu_use_entry(struct x86_cpu *cpu, bool kpti);
void x86_cpu_init_ap(struct x86_cpu *cpu, struct x86_stacks *stacks, uint64_t cr0,
                     uint64_t cr4);
void x86_cpu_enable_features(void);
void x86_cpu_describe(void);

/* paging.c (the table walk itself is declared in pagetable.h) */
void x86_paging_init(const struct boot_params *bp);

/* vspace.c */
void x86_vspace_load(struct x86_cpu *cpu, arch_vspace_t *vs);

/* kpti.c: the Meltdown window (see there). x86_kpti is set once at boot,
 * before any user space exists. */
extern bool x86_kpti;
/* PCIDs or kpti: a space switch is more than a CR3 write (the fast path
 * then calls x86_vspace_load()). Set with x86_kpti. */
extern bool x86_vspace_switch_slow;
void x86_kpti_choose(const struct boot_params *bp);
void x86_kpti_describe(void);
uint64_t x86_kpti_window_entry(void);

/* apic.c. x86_apic_init() returns the TSC rate it measured against the
 * PIT with the APIC timer's (0 if it could not). */
uint64_t x86_apic_init(struct boot_params *bp);
uint64_t x86_apic_base(void);
void x86_apic_eoi(void);
/* The APIC timer's mode, once at boot: one-shot (counts of bp->timer_hz)
 * or TSC-deadline (IA32_TSC_DEADLINE). Unmasks it. */
void x86_apic_timer_mode(bool tsc_deadline);
/* One-shot mode: interrupts after `count` counts; 0 stops the timer. */
void x86_apic_timer_count(uint32_t count);
/* arch_interrupt_pending() looks at vectors VECTOR_TIMER up to `last`
 * (ioapic.c: its last device vector), once at boot. */
void x86_apic_watch_vectors(unsigned last);

/* The local APIC of another CPU, as x86_apic_init() left the boot CPU's
 * (the timer's rate measured there holds for all). */
void x86_apic_init_ap(void);
/* This CPU's local APIC ID. */
uint32_t x86_apic_id(void);
/* INIT, then two STARTUP IPIs with vector `page` (the start page's
 * number) to `apic_id`, with the waits the SDM asks for between them. */
void x86_apic_start_cpu(uint32_t apic_id, uint8_t page);
/* A fixed-mode interrupt with `vector` to `apic_id`. */
void x86_apic_send_ipi(uint32_t apic_id, uint8_t vector);

/* smp.c: the page the other CPUs start in, reserved at boot; and the C
 * entry of each (from ap_boot.S). */
void x86_smp_reserve_trampoline(struct boot_params *bp);
NORETURN void x86_ap_main(struct x86_cpu *cpu);
/* Whether `va` is the guard page of some CPU's stacks (paging.c). */
bool x86_is_stack_guard(uint64_t va);

/* timer.c: the TSC clock and the deadline (see there). */
void x86_timer_init(uint64_t tsc_hz, uint64_t apic_hz);
/* Another CPU's timer: the boot CPU's mode, no deadline yet. */
void x86_timer_init_ap(void);
bool x86_timer_interrupt(void); /* true: the deadline has come */

/* trap.S (the _kpti variants switch CR3 on the way in and out: kpti.c) */
extern const char x86_vector_stubs[], x86_vector_stubs_kpti[];
void x86_syscall_entry(void);
void x86_syscall_entry_kpti(void);
/* The same once several CPUs run user threads (arch_cpu_smp_mode()):
 * without the compares that choose the fast paths, which
 * kernel_syscall_smp() tries under the kernel lock. */
void x86_syscall_entry_smp(void);
void x86_syscall_entry_kpti_smp(void);
x86_exit_fn x86_return_iret, x86_return_sysret;
x86_exit_fn x86_return_iret_kpti, x86_return_sysret_kpti;
/* user.c: makes `cpu`'s exits let go of the kernel lock (several CPUs). */
void x86_exits_smp(struct x86_cpu *cpu);
/* On an SMP exit to `next`, the FPU owner, if another thread, stores its
 * state home and gives the registers up (arch_fpu_release(), fpu.c).
 * Inline: every SMP exit asks, and there is seldom such an owner. An
 * owner that is not `next` has TS set for it already (only the owner runs
 * with TS clear), and keeps it set. */
static inline __attribute__((always_inline)) void x86_fpu_release_others(struct x86_cpu *cpu, const arch_regs_t *next)
{
    if (cpu->fpu_owner && cpu->fpu_owner != next)
        arch_fpu_release();
}
extern uint64_t x86_kernel_cr3; /* CR3 the kpti entry loads (trap.S) */
NORETURN void x86_call_on_kernel_stack(void (*fn)(void));

/* trap.c: called from trap.S */
NORETURN void x86_trap_from_user(arch_regs_t *regs);
void x86_trap_from_kernel(arch_regs_t *frame);
NORETURN void x86_fatal_trap(const arch_regs_t *frame, const char *where);

/* fpu.c */
void x86_fpu_init(void);
void x86_fpu_init_ap(void);
void x86_fpu_describe(void);
void x86_fpu_switch(struct x86_cpu *cpu, arch_regs_t *next);
void x86_fpu_device_not_available(struct x86_cpu *cpu, arch_regs_t *regs);

/* On every way to user mode for `regs`: the FPU may be on (CR0.TS clear)
 * only for the owner of the live FPU state, and a thread known to use the
 * FPU gets its state back at once (fpu.c). The common cases are this one
 * compare (see arch_regs_t.fpu_self). */
static inline void x86_fpu_prepare_exit(struct x86_cpu *cpu, arch_regs_t *regs)
{
    if (regs->fpu_self != cpu->fpu_enabled)
        x86_fpu_switch(cpu, regs);
}

/* user.c */
void x86_save_user_bases(struct x86_cpu *cpu, arch_regs_t *regs);
/* Sets cpu->fastpath_key from FSGSBASE and the CPU's counters_off: at
 * boot and whenever counters_off changes. */
void x86_fastpath_key_update(struct x86_cpu *cpu);
/* The IPC fast path's general way out (fastpath.c says when). It never
 * returns, but has no NORETURN, so that fastpath.c calls it by a jump. */
void x86_fastpath_exit_general(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs);
NORETURN void x86_resume_user(struct x86_cpu *cpu, arch_regs_t *regs);
