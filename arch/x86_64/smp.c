/*
 * Starting the other CPUs (APs) and the kernel's IPI on x86-64.
 *
 * The APIC IDs come from ACPI's MADT (early.c). Each AP gets a struct
 * x86_cpu (its GDT, TSS, entry stack and kernel-only state, reached
 * through GS base as on the boot CPU) and a struct x86_stacks (kernel
 * stack and the #DF, NMI and #MC IST stacks, each below an unmapped guard
 * page). It is started with INIT-SIPI-SIPI (apic.c) in the trampoline
 * page (ap_boot.S), which takes it to long mode on a small table that
 * maps that page 1:1 and the kernel's half as the kernel's tables do;
 * x86_ap_main() then sets up the CPU as the boot CPU is, its local APIC
 * and its timer, and enters the generic kernel (kernel_ap_main).
 *
 * The trampoline page, AP_TRAMPOLINE_PA (0x8000): a STARTUP IPI can only
 * name a page below 1 MiB. 0x8000 is conventional memory above the real-
 * mode interrupt table and BIOS data area (0-0x4ff) and below the EBDA
 * and video memory (0x9fc00 and up), which BIOS and UEFI firmware report
 * as usable RAM and leave alone once the OS runs. It is safe only if the
 * boot loader's memory map says it is RAM and nothing the kernel still
 * needs lies there: x86_smp_reserve_trampoline() checks both against the
 * boot parameters (RAM, reserved ranges, boot modules) and reserves the
 * page for good, so it never becomes user memory; if the check fails the
 * machine runs on the boot CPU alone, with a line saying why. (The
 * multiboot information may lie in low memory too; it is only read
 * before x86_paging_init(), long before the page is written.)
 */
#include "pagetable.h"
#include "smp.h"
#include "x86.h"

_Static_assert(AP_TRAMPOLINE_PA % PAGE_SIZE == 0 && AP_TRAMPOLINE_PA < 0x100000,
               "a STARTUP IPI names a page below 1 MiB");

extern const char ap_trampoline_start[], ap_trampoline_end[]; /* ap_boot.S */
extern uint32_t ap_slot_cr3, ap_slot_efer;

static struct x86_cpu ap_cpus[KERNEL_MAX_CPUS - 1];
static struct x86_stacks ap_stacks[KERNEL_MAX_CPUS - 1]
    __attribute__((section(".bss.stacks")));

/* The 1:1 + kernel-half table the trampoline switches to (below 4 GiB:
 * in the image, loaded at 1 MiB). */
static uint64_t tramp_pml4[512] __attribute__((aligned(PAGE_SIZE)));
static uint64_t tramp_pdpt[512] __attribute__((aligned(PAGE_SIZE)));
static uint64_t tramp_pd[512] __attribute__((aligned(PAGE_SIZE)));

struct x86_ap_boot x86_ap_boot; /* read by ap_boot.S */
static bool trampoline_ok;
/* The boot CPU's CR0 and CR4 once fully set up: the APs take the same. */
static uint64_t boot_cr0, boot_cr4;

/* ---- The trampoline page ---------------------------------------------------- */

static BOOT_CODE void trampoline_install(void);

static BOOT_CODE bool overlaps(paddr_t a, uint64_t a_size, paddr_t b, uint64_t b_size)
{
    return a < b + b_size && b < a + a_size;
}

static BOOT_CODE const char *trampoline_page_problem(const struct boot_params *bp)
{
    const paddr_t pa = AP_TRAMPOLINE_PA;
    const struct phys_region *low = &bp->low_ram;
    if (!(low->base <= pa && pa + PAGE_SIZE <= low->base + low->size))
        return "the loader's memory map does not list it as available RAM";
    for (unsigned i = 0; i < bp->reserved_count; i++)
        if (overlaps(pa, PAGE_SIZE, bp->reserved[i].base, bp->reserved[i].size))
            return "it is reserved";
    for (unsigned i = 0; i < bp->module_count; i++)
        if (overlaps(pa, PAGE_SIZE, bp->modules[i].base, bp->modules[i].size))
            return "a boot module lies there";
    return NULL;
}

BOOT_CODE void x86_smp_reserve_trampoline(struct boot_params *bp)
{
    if (bp->cpu_count <= 1)
        return;
    const char *why = trampoline_page_problem(bp);
    if (!why && !boot_params_add_reserved(bp, AP_TRAMPOLINE_PA, PAGE_SIZE))
        why = "the reserved-range table is full";
    if (why) {
        kprintf("x86_64: the AP start page 0x%x is unusable (%s): the boot CPU alone\n",
                AP_TRAMPOLINE_PA, why);
        bp->cpu_count = 1;
        return;
    }
    trampoline_ok = true;
    trampoline_install();
}

/* Copies the trampoline to its page and fills its slots, now: the page is
 * below 1 MiB, outside the kernel's physmap, and only the boot tables'
 * map of 0..4 GiB reaches it. The table it switches to maps the first
 * 2 MiB 1:1 (the trampoline); its kernel half is added once the kernel's
 * tables exist (arch_cpu_start). */
static BOOT_CODE void trampoline_install(void)
{
    uint8_t *page = arch_phys_to_virt(AP_TRAMPOLINE_PA);
    uintptr_t start = (uintptr_t)ap_trampoline_start; /* labels of one block (ap_boot.S) */
    memcpy(page, ap_trampoline_start, (uintptr_t)ap_trampoline_end - start);
    tramp_pd[0] = 0 | PTE_P | PTE_W | PTE_PS;
    tramp_pdpt[0] = arch_virt_to_phys(tramp_pd) | PTE_P | PTE_W;
    tramp_pml4[0] = arch_virt_to_phys(tramp_pdpt) | PTE_P | PTE_W;
    uint32_t *slots = (uint32_t *)(page + ((uintptr_t)&ap_slot_cr3 - start));
    slots[0] = (uint32_t)arch_virt_to_phys(tramp_pml4);
    slots[1] = EFER_LME | (x86_features.nx ? EFER_NXE : 0);
}

/* The kernel's half of the trampoline's table: PML4 slots 256-511 (the
 * physmap and the image), the same tables the kernel's own PML4 points to. */
static BOOT_CODE void trampoline_share_kernel_half(void)
{
    const uint64_t *kernel = arch_phys_to_virt(x86_kernel_pml4());
    for (unsigned i = 256; i < 512; i++)
        tramp_pml4[i] = kernel[i];
}

/* ---- The hooks ---------------------------------------------------------------- */

unsigned arch_cpu_index(void)
{
    return x86_this_cpu()->index;
}

static struct x86_cpu *cpu_of(unsigned index)
{
    return index == 0 ? &x86_cpu0 : &ap_cpus[index - 1];
}

bool arch_cpu_start(unsigned index, uint64_t apic_id)
{
    static bool installed;
    if (!trampoline_ok || index == 0 || index >= KERNEL_MAX_CPUS || apic_id > 254)
        return false;
    if (!installed) {
        trampoline_share_kernel_half();
        installed = true;
        x86_cpu0.apic_id = x86_apic_id();
        boot_cr0 = read_cr0();
        boot_cr4 = read_cr4();
    }
    struct x86_cpu *cpu = cpu_of(index);
    cpu->index = index;
    cpu->apic_id = (uint32_t)apic_id;
    cpu->cr3 = x86_kernel_pml4();
    x86_ap_boot = (struct x86_ap_boot){
        .cr3 = x86_kernel_pml4(),
        .stack = (uint64_t)(ap_stacks[index - 1].kernel + KERNEL_STACK_SIZE),
        .cpu = cpu,
    };
    /* The AP reads all of it after the STARTUP IPI; the ICR write that
     * sends it is an uncached store, ordered after these on x86 (SDM vol.
     * 3, 8.2.2), and the fence says so to the compiler too. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    x86_apic_start_cpu(cpu->apic_id, AP_TRAMPOLINE_PA >> 12);
    return true;
}

/* On the AP, interrupts off, on its kernel stack and the kernel's tables.
 * It takes the timer and the kernel's IPI; device lines stay routed to the
 * boot CPU (ioapic.c). */
void x86_ap_main(struct x86_cpu *cpu)
{
    x86_cpu_init_ap(cpu, &ap_stacks[cpu->index - 1], boot_cr0, boot_cr4);
    x86_apic_init_ap();
    x86_timer_init_ap();
    kernel_ap_main(cpu->index);
}

/* An AP goes where its STARTUP IPI sends it: nothing to do. */
void arch_cpu_start_waiting(unsigned index, uint64_t apic_id)
{
    (void)index;
    (void)apic_id;
}

void arch_cpu_send_ipi(unsigned index)
{
    if (index < KERNEL_MAX_CPUS)
        x86_apic_send_ipi(cpu_of(index)->apic_id, VECTOR_IPI);
}

void arch_cpu_park(void)
{
    for (;;)
        __asm__ volatile("cli\n\thlt");
}

const struct x86_cpu *x86_cpu_struct(unsigned index)
{
    return cpu_of(index);
}

const struct x86_stacks *x86_cpu_stacks(unsigned index)
{
    return index == 0 ? &x86_cpu0_stacks : &ap_stacks[index - 1];
}

bool x86_is_stack_guard(uint64_t va)
{
    for (unsigned i = 0; i < KERNEL_MAX_CPUS; i++) {
        const struct x86_stacks *s = x86_cpu_stacks(i);
        if (va == (uint64_t)s->guard0 || va == (uint64_t)s->guard1 ||
            va == (uint64_t)s->guard2 || va == (uint64_t)s->guard3)
            return true;
    }
    return false;
}
