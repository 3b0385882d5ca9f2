/*
 * The Meltdown window ("kpti"): on a CPU that can leak kernel memory to
 * user mode, user address spaces map only what entry and exit need.
 *
 * Meltdown (CVE-2017-5754): on affected Intel CPUs a user-mode load from a
 * kernel page faults, but only after its value has reached the cache, so
 * any mapped kernel byte can be read, the direct map of all RAM included.
 * The fix is not to map it. Every user PML4 then holds, in its last slot,
 * the window instead of the kernel half: these pages at their kernel
 * addresses, none global, none user-accessible:
 *   - trap.S's code (section .text.entry), read and execute;
 *   - the IDT and the kernel's CR3 value (.data.entry), read only;
 *   - the first page of each struct x86_cpu (GDT, TSS, the fields the
 *     entry code reads, the entry stack), read and write (the CPU writes
 *     the GDT's accessed and busy bits, the entry stack takes frames);
 *   - the IST stacks (#DF, NMI, #MC switch to them in any mode).
 * Nothing there is a secret: code, descriptors and kernel addresses. The
 * entry loads the kernel's CR3 first and the exit the user's last
 * (trap.S, the _kpti variants); the kernel itself runs on its own tables,
 * which map no user page (it reaches user memory through the direct map,
 * paging.c), so the kernel needs no second PML4 per space.
 *
 * Which CPUs: Intel parts without RDCL_NO (IA32_ARCH_CAPABILITIES bit 0)
 * are affected; AMD's and others' are not (AMD: "not susceptible"; Intel
 * SDM vol. 4, IA32_ARCH_CAPABILITIES). "bulkhead.kpti=on|off|auto" on the
 * command line overrides the choice (auto is the default); the boot log
 * says what was chosen and why. Without PCIDs every kernel entry and exit
 * then flushes the TLB: the cost is in the bench (docs/performance.md).
 */
#include "pagetable.h"
#include "smp.h"

#define MSR_ARCH_CAPABILITIES 0x10A
#define ARCH_CAP_RDCL_NO (1ull << 0)

bool x86_kpti;
bool x86_vspace_switch_slow;

/* What was chosen and why, for the boot log. */
static const char *kpti_reason;

/* The window's own tables: a PML4 whose last slot user spaces copy, and
 * the tables below it: a PDPT, a PD (the image lies within one GiB) and a
 * page table per 2 MiB region the window's pages touch: three for the
 * boot CPU's pages, and with every CPU's struct and IST stacks (the APs'
 * lie in their own arrays, smp.c) up to five more here. An image that
 * needs more stops the boot with a message naming this limit. */
#define WINDOW_TABLE_PAGES 12
static uint8_t window_tables[WINDOW_TABLE_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned window_tables_used;
static unsigned window_pages; /* pages the window maps, for the boot log */

static BOOT_CODE paddr_t window_table_alloc(void *ctx)
{
    (void)ctx;
    if (window_tables_used == WINDOW_TABLE_PAGES)
        panic("x86_64: kpti: the window needs more than %u page tables", WINDOW_TABLE_PAGES);
    uint8_t *page = window_tables[window_tables_used++];
    memset(page, 0, PAGE_SIZE);
    return arch_virt_to_phys(page);
}

static pte_t *window_root(void)
{
    return (pte_t *)window_tables[0];
}

/* Maps the kernel-image pages [start, end) in the window at their own
 * addresses with `flags`. */
static BOOT_CODE void window_map(const void *start, const void *end, uint64_t flags)
{
    for (vaddr_t va = ALIGN_DOWN((vaddr_t)start, PAGE_SIZE); va < (vaddr_t)end; va += PAGE_SIZE) {
        pte_t *e = pt_walk(window_root(), va, PT_LEVEL_PT, window_table_alloc, NULL);
        if (e) {
            *e = arch_virt_to_phys((const void *)va) | flags;
            window_pages++;
        } else {
            panic("x86_64: kpti: cannot map %p in the window", (void *)va);
        }
    }
}

/* What CPU `index`'s traps from user mode touch before the kernel's CR3
 * is loaded: the first page(s) of its struct x86_cpu (GS base points
 * there) and its IST stacks. Every CPU's, started or not: an AP under kpti
 * enters through the same window (with only the boot CPU's pages there,
 * an AP's first trap from user mode faulted on its GDT, TSS or entry
 * stack, and the machine reset). */
static BOOT_CODE void window_map_cpu(unsigned index, uint64_t nx)
{
    const struct x86_cpu *cpu = x86_cpu_struct(index);
    const struct x86_stacks *st = x86_cpu_stacks(index);
    window_map(cpu, &cpu->vspace, PTE_P | PTE_W | nx);
    window_map(st->ist_df, st->ist_df + IST_STACK_SIZE, PTE_P | PTE_W | nx);
    window_map(st->ist_nmi, st->ist_nmi + IST_STACK_SIZE, PTE_P | PTE_W | nx);
    window_map(st->ist_mc, st->ist_mc + IST_STACK_SIZE, PTE_P | PTE_W | nx);
}

static BOOT_CODE void window_build(void)
{
    uint64_t nx = x86_features.nx ? PTE_NX : 0;
    (void)window_table_alloc(NULL); /* window_tables[0]: the PML4 */
    window_map(__entry_text_start, __entry_text_end, PTE_P);
    window_map(__entry_data_start, __entry_data_end, PTE_P | nx);
    for (unsigned i = 0; i < KERNEL_MAX_CPUS; i++)
        window_map_cpu(i, nx);
}

uint64_t x86_kpti_window_entry(void)
{
    return window_root()[PT_ENTRIES - 1];
}

/* Whether this CPU leaks kernel memory to user mode (see the top). */
static BOOT_CODE bool cpu_has_meltdown(void)
{
    if (strcmp(x86_features.vendor, "GenuineIntel") != 0)
        return false;
    uint32_t r[4];
    cpuid(0, 0, r);
    if (r[0] < 7)
        return true;
    cpuid(7, 0, r);
    bool has_arch_caps = r[3] & (1u << 29); /* CPUID 7.0 EDX[29] */
    return !has_arch_caps || !(rdmsr(MSR_ARCH_CAPABILITIES) & ARCH_CAP_RDCL_NO);
}

/* Decides from the command line and the CPU; returns whether to map the
 * window only, and sets kpti_reason. */
static BOOT_CODE bool kpti_wanted(const struct boot_params *bp)
{
    const char *opt = boot_cmdline_option(bp->cmdline, "bulkhead.kpti");
    if (opt && boot_option_is(opt, "on")) {
        kpti_reason = "forced on by bulkhead.kpti=on";
        return true;
    }
    if (opt && boot_option_is(opt, "off")) {
        kpti_reason = "forced off by bulkhead.kpti=off";
        return false;
    }
    if (opt && !boot_option_is(opt, "auto"))
        kprintf("x86_64: kpti: unknown value in bulkhead.kpti='%s' (on, off or auto): "
                "using auto\n", opt);
    bool affected = cpu_has_meltdown();
    kpti_reason = affected ? "this Intel CPU does not report RDCL_NO"
                           : "this CPU is not affected by Meltdown";
    return affected;
}

BOOT_CODE void x86_kpti_choose(const struct boot_params *bp)
{
    x86_kpti = kpti_wanted(bp);
    x86_vspace_switch_slow = x86_kpti || x86_features.pcid;
    if (!x86_kpti)
        return;
    /* PCID 0 is the kernel's: with PCIDs its entries survive the switch. */
    x86_kernel_cr3 = x86_kernel_pml4() | (x86_features.pcid ? CR3_NOFLUSH : 0);
    window_build();
    x86_cpu0.user_cr3 = x86_kernel_cr3; /* until a user space runs */
    x86_cpu_use_entry(&x86_cpu0, true);
}

BOOT_CODE void x86_kpti_describe(void)
{
    if (x86_kpti)
        kprintf("x86_64: meltdown: kpti on (%s): user spaces map a %u-page kernel window, "
                "CR3 switched on every entry and exit, no global pages\n",
                kpti_reason, window_pages);
    else
        kprintf("x86_64: meltdown: kpti off (%s): the kernel half is mapped in user spaces\n",
                kpti_reason);
}
