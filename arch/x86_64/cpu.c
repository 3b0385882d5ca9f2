/*
 * The CPU itself: feature detection (CPUID), the per-CPU structure, GDT,
 * TSS and IDT, the syscall MSRs, and the CR4 protection features (global
 * pages, SMEP, SMAP, PCID, FSGSBASE, UMIP) switched on when present (the
 * FPU's own CR0/CR4/XCR0 bits are set by fpu.c), and the CR4 bits that
 * decide which counters user code reads (TSD, PCE).
 */
#include "smp.h"
#include "x86.h"

struct x86_features x86_features;
struct x86_cpu x86_cpu0;
struct x86_stacks x86_cpu0_stacks __attribute__((section(".bss.stacks")));

/* One IDT for all CPUs: every vector goes to its stub in trap.S. */
struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;  /* bits 2..0: IST slot, 0 = no stack switch */
    uint8_t type; /* P, DPL, type 0xE = 64-bit interrupt gate (IF cleared) */
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} PACKED;

/* In the Meltdown window's data (kpti.c): the CPU reads it on every trap. */
static struct idt_gate idt[IDT_ENTRIES]
    __attribute__((section(".data.entry"), aligned(PAGE_SIZE)));

/* CR4.TSD and CR4.PCE as the firmware left them, for the boot log. */
static uint64_t counters_cr4_found;

struct descriptor_ptr {
    uint16_t limit;
    uint64_t base;
} PACKED;

/* ---- Feature detection ---------------------------------------------------- */

static BOOT_CODE void copy_id(char out[13], uint32_t a, uint32_t b, uint32_t c)
{
    const uint32_t words[3] = { a, b, c };
    for (unsigned i = 0; i < 12; i++)
        out[i] = (char)(words[i / 4] >> (8 * (i % 4)));
    out[12] = '\0';
}

BOOT_CODE void x86_cpu_detect(void)
{
    struct x86_features *f = &x86_features;
    uint32_t r[4];

    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    copy_id(f->vendor, r[1], r[3], r[2]); /* EBX EDX ECX: "GenuineIntel" */
    cpuid(1, 0, r);
    f->pge = r[3] & (1u << 13);
    f->pcid = r[2] & (1u << 17);
    f->x2apic = r[2] & (1u << 21);
    f->tsc_deadline = r[2] & (1u << 24);
    f->hypervisor = r[2] & (1u << 31);
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        f->fsgsbase = r[1] & (1u << 0);
        f->smep = r[1] & (1u << 7);
        f->smap = r[1] & (1u << 20);
        f->umip = r[2] & (1u << 2);
    }
    cpuid(0x80000000, 0, r);
    uint32_t max_extended = r[0];
    cpuid(0x80000001, 0, r);
    f->nx = r[3] & (1u << 20);
    f->page1g = r[3] & (1u << 26);
    if (max_extended >= 0x80000007) {
        cpuid(0x80000007, 0, r);
        f->invariant_tsc = r[3] & (1u << 8);
    }
    if (f->hypervisor) {
        /* Leaf 40000000h is defined only under a hypervisor. */
        cpuid(0x40000000, 0, r);
        copy_id(f->hypervisor_id, r[1], r[2], r[3]);
    }
}

/* One line listing what the kernel uses, for the boot log. */
BOOT_CODE void x86_cpu_describe(void)
{
    const struct x86_features *f = &x86_features;
    const struct { bool on; const char *name; } list[] = {
        { f->nx, "nx" }, { f->pge, "pge" }, { f->page1g, "1g-pages" },
        { f->pcid, "pcid" }, { f->smep, "smep" }, { f->smap, "smap" },
        { f->fsgsbase, "fsgsbase" }, { f->umip, "umip" },
    };
    kprintf("x86_64: cpu %s%s%s, using:", f->vendor, f->hypervisor ? " under " : "",
            f->hypervisor ? f->hypervisor_id : "");
    for (unsigned i = 0; i < ARRAY_SIZE(list); i++)
        if (list[i].on)
            kprintf(" %s", list[i].name);
    kprintf("; absent:");
    for (unsigned i = 0; i < ARRAY_SIZE(list); i++)
        if (!list[i].on)
            kprintf(" %s", list[i].name);
    kprintf("\n");
    x86_fpu_describe();
    x86_kpti_describe();
    kprintf("x86_64: counters: found CR4.TSD %d PCE %d; set TSD 0 (rdtsc, rdtscp readable in "
            "user mode unless a thread is denied them) and PCE 0 (rdpmc faults)\n",
            (counters_cr4_found & CR4_TSD) != 0, (counters_cr4_found & CR4_PCE) != 0);
}

/* ---- GDT and TSS --------------------------------------------------------- */

/* Flat segments (Intel SDM vol. 3, 3.4.5): in 64-bit mode only the access
 * byte (P, DPL, S, type) and L matter. */
#define SEG_KERNEL_CODE 0x00AF9A000000FFFFull /* P, DPL 0, code exec/read, L */
#define SEG_KERNEL_DATA 0x00CF92000000FFFFull /* P, DPL 0, data read/write */
#define SEG_USER_DATA 0x00CFF2000000FFFFull   /* P, DPL 3, data read/write */
#define SEG_USER_CODE 0x00AFFA000000FFFFull   /* P, DPL 3, code exec/read, L */
#define SEG_TSS_TYPE 0x89ull                  /* P, DPL 0, available 64-bit TSS */

/* The TSS descriptor for `tss`, marked available (ltr marks it busy). */
static BOOT_CODE void gdt_set_tss(struct x86_cpu *cpu, const struct x86_tss *tss)
{
    uint64_t base = (uint64_t)tss;
    uint64_t limit = sizeof(*tss) - 1;
    /* A 16-byte system descriptor: limit 15..0, base 23..0, type, base
     * 31..24 in the first quadword, base 63..32 in the second. */
    cpu->gdt[GDT_TSS / 8] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
                            (SEG_TSS_TYPE << 40) | (((base >> 24) & 0xFF) << 56);
    cpu->gdt[GDT_TSS / 8 + 1] = base >> 32;
}

static BOOT_CODE void gdt_fill(struct x86_cpu *cpu)
{
    cpu->gdt[0] = 0;
    cpu->gdt[GDT_KERNEL_CODE / 8] = SEG_KERNEL_CODE;
    cpu->gdt[GDT_KERNEL_DATA / 8] = SEG_KERNEL_DATA;
    cpu->gdt[GDT_SYSRET_BASE / 8] = 0; /* no 32-bit user code: compat mode is unreachable */
    cpu->gdt[GDT_USER_DATA / 8] = SEG_USER_DATA;
    cpu->gdt[GDT_USER_CODE / 8] = SEG_USER_CODE;
    gdt_set_tss(cpu, &cpu->tss);
}

static BOOT_CODE void tss_fill(struct x86_cpu *cpu, struct x86_stacks *stacks)
{
    cpu->tss.rsp[0] = cpu->kernel_rsp;
    cpu->tss.ist[IST_DF - 1] = (uint64_t)(stacks->ist_df + IST_STACK_SIZE);
    cpu->tss.ist[IST_NMI - 1] = (uint64_t)(stacks->ist_nmi + IST_STACK_SIZE);
    cpu->tss.ist[IST_MC - 1] = (uint64_t)(stacks->ist_mc + IST_STACK_SIZE);
    cpu->tss.iomap_base = sizeof(cpu->tss);
    /* The entry TSS (kpti) has the same IST stacks; traps from user mode
     * land on the entry stack. */
    cpu->entry_tss = cpu->tss;
    cpu->entry_stack_top = (uint64_t)(cpu->entry_stack + ENTRY_STACK_SIZE);
    cpu->entry_tss.rsp[0] = cpu->entry_stack_top;
}

/* Loads the GDT, reloads CS with a far return and the data segments, then
 * loads the task register. */
static BOOT_CODE void gdt_load(struct x86_cpu *cpu)
{
    struct descriptor_ptr ptr = { sizeof(cpu->gdt) - 1, (uint64_t)cpu->gdt };
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movl %2, %%eax\n\t"
                     "movw %%ax, %%ds\n\t"
                     "movw %%ax, %%es\n\t"
                     "movw %%ax, %%ss\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "movw %%ax, %%fs\n\t"
                     "movw %%ax, %%gs\n\t"
                     "ltr %w3"
                     :
                     : "m"(ptr), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA), "r"(GDT_TSS)
                     : "rax", "memory");
}

/* ---- IDT ------------------------------------------------------------------ */

static BOOT_CODE void idt_set(const char *stubs, unsigned vector, unsigned ist, unsigned dpl)
{
    uint64_t handler = (uint64_t)(stubs + VECTOR_STUB_SIZE * vector);
    idt[vector] = (struct idt_gate){
        .offset_low = handler & 0xFFFF,
        .selector = GDT_KERNEL_CODE,
        .ist = (uint8_t)ist,
        .type = (uint8_t)(0x8E | (dpl << 5)),
        .offset_mid = (handler >> 16) & 0xFFFF,
        .offset_high = (uint32_t)(handler >> 32),
    };
}

/* Points every gate at its stub in `stubs` (one of trap.S's two sets). */
static BOOT_CODE void idt_fill(const char *stubs)
{
    for (unsigned v = 0; v < IDT_ENTRIES; v++)
        idt_set(stubs, v, 0, 0);
    /* #DF, NMI and #MC switch to their own stacks: a kernel stack overflow
     * (#PF that cannot push its frame becomes #DF) still gets reported. */
    idt_set(stubs, VECTOR_DF, IST_DF, 0);
    idt_set(stubs, VECTOR_NMI, IST_NMI, 0);
    idt_set(stubs, VECTOR_MC, IST_MC, 0);
    /* int3 and into are allowed from user mode (DPL 3); any other int n
     * from user mode raises #GP instead. */
    idt_set(stubs, VECTOR_BP, 0, 3);
    idt_set(stubs, VECTOR_OF, 0, 3);
}

static BOOT_CODE void idt_load(void)
{
    struct descriptor_ptr ptr = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(ptr));
}

/* ---- syscall / sysret ------------------------------------------------------ */

static BOOT_CODE void syscall_init(void)
{
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    wrmsr(MSR_STAR, ((uint64_t)GDT_SYSRET_BASE << 48) | ((uint64_t)GDT_KERNEL_CODE << 32));
    /* Flags cleared on entry: IF (the kernel runs with interrupts off),
     * TF, DF (the C ABI wants it clear), AC (keeps SMAP in force), NT,
     * IOPL, RF. */
    wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT |
                          RFLAGS_IOPL | RFLAGS_RF);
}

/* The per-CPU half of x86_cpu_use_entry(): the syscall entry, the exits
 * and the TSS. */
static BOOT_CODE void cpu_set_entry(struct x86_cpu *cpu, bool kpti)
{
    wrmsr(MSR_LSTAR, (uint64_t)(kpti ? x86_syscall_entry_kpti : x86_syscall_entry));
    cpu->return_sysret = kpti ? x86_return_sysret_kpti : x86_return_sysret;
    cpu->return_iret = kpti ? x86_return_iret_kpti : x86_return_iret;
    gdt_set_tss(cpu, kpti ? &cpu->entry_tss : &cpu->tss);
    __asm__ volatile("ltr %w0" : : "r"(GDT_TSS) : "memory");
}

/* Chooses the kernel's ways in and out for `cpu`: trap.S's plain entry
 * and exits, or those of the Meltdown window (kpti.c), with the TSS whose
 * rsp[0] they expect; the IDT, shared by all CPUs, too. Boot CPU only,
 * before the others start, interrupts off. */
BOOT_CODE void x86_cpu_use_entry(struct x86_cpu *cpu, bool kpti)
{
    idt_fill(kpti ? x86_vector_stubs_kpti : x86_vector_stubs);
    cpu_set_entry(cpu, kpti);
}

/* Sets up `cpu` (its stacks, GDT, TSS, GS base) and loads the shared IDT.
 * Runs on the temporary page tables; every address used stays valid in
 * the kernel's own tables. */
BOOT_CODE void x86_cpu_init(struct x86_cpu *cpu, struct x86_stacks *stacks)
{
    cpu->self = cpu;
    cpu->kcpu = &cpus[0];
    cpu->fast_call_nr = BK_SYS_CALL;
    cpu->syscall_entry = kernel_syscall;
    cpu->fast_reply_recv_nr = BK_SYS_REPLY_RECV;
    cpu->fast_yield_nr = BK_SYS_YIELD;
    cpu->fast_recv_nr = BK_SYS_RECV;
    cpu->fast_send_nr = BK_SYS_SEND;
    cpu->kernel_rsp = (uint64_t)(stacks->kernel + KERNEL_STACK_SIZE);
    gdt_fill(cpu);
    tss_fill(cpu, stacks);
    gdt_load(cpu);
    x86_cpu_use_entry(cpu, false); /* kpti.c may change it once paging is up */
    idt_load();
    /* Kernel mode runs with GS base = cpu; swapgs exchanges it with the
     * user's, kept in KERNEL_GS_BASE while the kernel runs. */
    wrmsr(MSR_GS_BASE, (uint64_t)cpu);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    wrmsr(MSR_FS_BASE, 0);
    syscall_init();
    /* The FPU stays off until x86_fpu_init() (from
     * x86_cpu_enable_features()) sets up per-thread state: CR0.EM makes
     * x87 instructions fault (#NM), and with CR4.OSFXSR clear SSE
     * instructions raise #UD (SDM vol. 3, 2.5 and 13.1). */
    write_cr0((read_cr0() | CR0_EM) & ~(uint64_t)(CR0_MP | CR0_TS));
}

/* Sets up another CPU (smp.c) as the boot CPU is by now: its own GDT, TSS
 * and stacks, the shared IDT (filled already: not written again), GS
 * base, the syscall MSRs, the entry the boot CPU chose (kpti or not), and
 * the boot CPU's CR0 and CR4, which hold the protection features and the
 * FPU's enable bits (with CR0.TS set: no thread's FPU state is live on it).
 * It runs on the kernel's own tables. */
BOOT_CODE void x86_cpu_init_ap(struct x86_cpu *cpu, struct x86_stacks *stacks, uint64_t cr0,
                               uint64_t cr4)
{
    cpu->self = cpu;
    cpu->kcpu = &cpus[cpu->index];
    /* Several CPUs: the entry's IPC fast path is off; kernel_syscall_smp()
     * tries it under the lock (arch_cpu_smp_mode()). */
    cpu->fast_call_nr = ~0ull;
    cpu->syscall_entry = kernel_syscall_smp;
    cpu->fast_reply_recv_nr = ~0ull;
    cpu->fast_yield_nr = ~0ull;
    cpu->fast_recv_nr = ~0ull;
    cpu->fast_send_nr = ~0ull;
    cpu->kernel_rsp = (uint64_t)(stacks->kernel + KERNEL_STACK_SIZE);
    gdt_fill(cpu);
    tss_fill(cpu, stacks);
    gdt_load(cpu);
    idt_load();
    wrmsr(MSR_GS_BASE, (uint64_t)cpu);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    wrmsr(MSR_FS_BASE, 0);
    syscall_init();
    cpu_set_entry(cpu, x86_kpti);
    write_cr0(cr0 | CR0_TS);
    write_cr4(cr4);
    x86_fpu_init_ap();
    cpu->counters_off = cr4 & CR4_TSD;
    x86_fastpath_key_update(cpu);
}

/* SDM vol. 3, 4.10.4.1: a MOV to CR4 that changes PGE invalidates all
 * TLB entries, of all PCIDs, global ones included. */
void arch_tlb_flush_all(void)
{
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 ^ CR4_PGE);
    write_cr4(cr4);
}

/* Several CPUs run user threads: the entry's IPC fast path is off on this
 * one (trap.S compares the syscall number with these); kernel_syscall_smp()
 * tries it once it has the kernel lock (kernel/fastpath.c). */
void arch_cpu_smp_mode(void)
{
    struct x86_cpu *cpu = x86_this_cpu();
    cpu->fast_call_nr = ~0ull;
    cpu->syscall_entry = kernel_syscall_smp;
    cpu->fast_reply_recv_nr = ~0ull;
    cpu->fast_yield_nr = ~0ull;
    cpu->fast_recv_nr = ~0ull;
    cpu->fast_send_nr = ~0ull;
    wrmsr(MSR_LSTAR, (uint64_t)(x86_kpti ? x86_syscall_entry_kpti_smp : x86_syscall_entry_smp));
    x86_exits_smp(cpu);
}

/* Switches on the CR4 features the CPU has, once the kernel's own tables
 * (global kernel pages, no user pages) are in CR3 with PCID 0. */
BOOT_CODE void x86_cpu_enable_features(void)
{
    const struct x86_features *f = &x86_features;
    uint64_t cr4 = read_cr4();

    /* Global pages would keep the kernel's translations in the TLB while
     * user code runs, which the Meltdown window must not (kpti.c). */
    if (f->pge && !x86_kpti)
        cr4 |= CR4_PGE;
    else
        cr4 &= ~(uint64_t)CR4_PGE;
    if (f->smep)
        cr4 |= CR4_SMEP; /* no kernel execution of user pages */
    if (f->smap)
        cr4 |= CR4_SMAP; /* no kernel data access to user pages: the kernel
                            reaches user memory only through the physmap */
    if (f->fsgsbase)
        cr4 |= CR4_FSGSBASE; /* user code may use rd/wrfsbase, rd/wrgsbase */
    if (f->umip)
        cr4 |= CR4_UMIP; /* sgdt, sidt, smsw, str... fault in user mode */
    if (f->pcid)
        cr4 |= CR4_PCIDE; /* legal only while CR3[11:0] = 0 (SDM 4.10.1) */
    /* The counters user code may read are the kernel's policy, whatever
     * the firmware left: TSD clear lets rdtsc and rdtscp run in user mode
     * (user.c sets it while a thread that is denied them runs, matching
     * x86_cpu0.counters_off = 0 here); PCE clear makes rdpmc fault there
     * (SDM vol. 3A, 2.5; vol. 2B, RDPMC). */
    counters_cr4_found = cr4 & (CR4_TSD | CR4_PCE);
    cr4 &= ~(uint64_t)(CR4_TSD | CR4_PCE);
    write_cr4(cr4);
    x86_fastpath_key_update(x86_this_cpu()); /* FSGSBASE is known now */
    x86_fpu_init(); /* x87, SSE, XSAVE and AVX for user threads */
}
