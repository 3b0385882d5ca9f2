/*
 * x86_boot_main: the first C code, entered from entry.S on CPU 0's kernel
 * stack with the trampoline's page tables. It brings up the console and
 * the CPU, turns the multiboot information into struct boot_params, finds
 * the ACPI RSDP, the I/O APIC and the CPUs (MADT) and the IOMMU (DMAR),
 * reserves the page other CPUs start in (smp.c), builds the
 * kernel's page tables, the local APIC, the IOAPIC and the IOMMU's
 * tables, then calls kernel_main().
 */
#include "bk_acpi.h" /* kernel/parse/bk_acpi.h */
#include "iommu.h"
#include "ioapic.h"
#include "multiboot.h"
#include "x86.h"

#define IOAPIC_DEFAULT_BASE 0xFEC00000ull /* the chipset's, when ACPI does not say */

static struct boot_params boot_params;
static paddr_t ioapic_base = IOAPIC_DEFAULT_BASE;

/* While the trampoline's tables are live, physical 0..4 GiB is readable
 * through the physmap: that holds all multiboot structures (their
 * addresses are 32-bit). */
static BOOT_CODE void read_multiboot(uint32_t magic, uint32_t info_pa, struct boot_params *bp)
{
    const struct multiboot_window low4g = {
        .base = arch_phys_to_virt(0),
        .pa = 0,
        .size = GB(4),
    };
    uint64_t where = 0;
    const char *err = multiboot_parse(magic, info_pa, &low4g, bp, &where);
    if (err)
        panic("multiboot: %s (structure at physical 0x%lx; magic 0x%x, information at 0x%x)",
              err, where, magic, info_pa);
}

/* The ACPI RSDP, for user space to find its devices with (docs/io.md):
 * the boot loader's copy (multiboot2 ACPI tags, read by multiboot.c), or
 * else where a BIOS leaves it (ACPI 6.4, 5.2.5.1): the first KiB of the
 * Extended BIOS Data Area, whose segment is the 16-bit word at 0x40e, then
 * the read-only BIOS area 0xe0000-0xfffff. The copy is checked here; a
 * machine without a good one gets none, with a line saying why, never a
 * panic. */
static BOOT_CODE long scan_bios_areas(const uint8_t *low)
{
    paddr_t ebda = (paddr_t)(low[0x40e] | low[0x40f] << 8) << 4;
    long off;
    if (ebda >= 0x80000 && ebda + 1024 <= 0xa0000 && (off = acpi_rsdp_find(low + ebda, 1024)) >= 0)
        return (long)ebda + off;
    off = acpi_rsdp_find(low + 0xe0000, 0x20000);
    return off >= 0 ? 0xe0000 + off : -1;
}

static BOOT_CODE void find_acpi_rsdp(struct boot_params *bp)
{
    const char *from = "the boot loader";
    if (bp->acpi_rsdp_size == 0) {
        const uint8_t *low = arch_phys_to_virt(0);
        long pa = scan_bios_areas(low);
        if (pa < 0) {
            kprintf("x86_64: no ACPI RSDP from the loader or in the BIOS areas: "
                    "user space will find no PCI devices\n");
            return;
        }
        size_t n = 0x100000 - (size_t)pa < BOOT_ACPI_RSDP_MAX ? 0x100000 - (size_t)pa
                                                                 : BOOT_ACPI_RSDP_MAX;
        memcpy(bp->acpi_rsdp, low + pa, n);
        bp->acpi_rsdp_size = (uint32_t)n;
        from = "the BIOS area";
    }
    struct acpi_rsdp r;
    const char *err = acpi_rsdp_check(bp->acpi_rsdp, bp->acpi_rsdp_size, &r);
    if (err) {
        kprintf("x86_64: the ACPI RSDP from %s is refused: %s\n", from, err);
        memset(bp->acpi_rsdp, 0, sizeof(bp->acpi_rsdp));
        bp->acpi_rsdp_size = 0;
        return;
    }
    bp->acpi_rsdp_size = r.revision >= 2 ? ACPI_RSDP_V2_SIZE : ACPI_RSDP_V1_SIZE;
    kprintf("x86_64: ACPI RSDP revision %u from %s (OEM '%s')\n", r.revision, from, r.oem_id);
}

/* The checked table at physical `pa`, readable through the trampoline's
 * map of 0..4 GiB (ACPI tables lie there on every PC firmware we boot on). */
static BOOT_CODE const char *low_table(uint64_t pa, const char *signature,
                                       struct acpi_table *out)
{
    if (pa == 0 || pa >= GB(4))
        return "a table outside the first 4 GiB";
    return acpi_table_check(arch_phys_to_virt(pa), GB(4) - pa, signature, out);
}

static const char NOT_LISTED[] = "not listed";

/* The table with `signature` that the RSDT/XSDT of the RSDP in `bp` lists,
 * found while the trampoline's map is live: NULL and `out` filled, or why
 * not. */
static BOOT_CODE const char *find_table(const struct boot_params *bp, const char *signature,
                                        struct acpi_table *out)
{
    struct acpi_rsdp r;
    struct acpi_table root;
    const char *why;
    if (!bp->acpi_rsdp_size || acpi_rsdp_check(bp->acpi_rsdp, bp->acpi_rsdp_size, &r))
        return "no ACPI RSDP";
    if ((why = low_table(r.xsdt ? r.xsdt : r.rsdt, NULL, &root)) != NULL)
        return why;
    for (unsigned i = 0; i < acpi_root_entry_count(&root); i++) {
        if (low_table(acpi_root_entry(&root, i), signature, out) == NULL)
            return NULL;
    }
    return NOT_LISTED;
}

/* The first I/O APIC of the MADT (ACPI 6.4, 5.2.12.3); 0 with `*why` set
 * if none. */
static BOOT_CODE paddr_t madt_ioapic(const struct boot_params *bp, const char **why)
{
    struct acpi_table madt;
    struct acpi_madt_ioapic io;
    if ((*why = find_table(bp, "APIC", &madt)) != NULL) {
        if (*why == NOT_LISTED)
            *why = "no MADT in the ACPI tables";
        return 0;
    }
    if ((*why = acpi_madt_ioapic(&madt, 0, &io)) != NULL || io.address == 0)
        return 0;
    return io.address;
}

/* Adds the MADT's processor `p` to bp->cpu_ids unless it is the boot CPU
 * (already first), disabled, or out of reach: xAPIC mode (all QEMU 7.2
 * TCG offers) addresses APIC IDs up to 254 only. */
static BOOT_CODE void add_cpu(struct boot_params *bp, const struct acpi_madt_lapic *p,
                              unsigned *found)
{
    if (!p->enabled || p->apic_id == bp->cpu_ids[0])
        return;
    (*found)++;
    if (p->apic_id > 254)
        kprintf("x86_64: CPU with APIC ID %u needs x2APIC mode, which the kernel does not "
                "use: left out\n", p->apic_id);
    else if (bp->cpu_count == BOOT_MAX_CPUS)
        kprintf("x86_64: CPU with APIC ID %u is past the kernel's %u CPUs: left out\n",
                p->apic_id, BOOT_MAX_CPUS);
    else
        bp->cpu_ids[bp->cpu_count++] = p->apic_id;
}

/* The CPUs to start: the boot CPU (its initial APIC ID, CPUID 1
 * EBX[31:24]) and every enabled processor of the MADT (ACPI 6.4,
 * 5.2.12.2). Without a usable MADT, the boot CPU alone, with a line. */
static BOOT_CODE void find_cpus(struct boot_params *bp)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    bp->cpu_ids[0] = r[1] >> 24;
    bp->cpu_count = 1;
    struct acpi_table madt;
    struct acpi_madt_lapic p;
    const char *why = find_table(bp, "APIC", &madt);
    unsigned found = 0, i = 0;
    while (!why && (why = acpi_madt_lapic(&madt, i++, &p)) == NULL)
        add_cpu(bp, &p, &found);
    if (i <= 1) /* no processor entry read */
        kprintf("x86_64: no processors from the ACPI MADT (%s): the boot CPU alone\n",
                why == NOT_LISTED ? "no MADT" : why);
}

/* The IOMMU's remapping units, from ACPI's DMAR (VT-d, chapter 8). */
static BOOT_CODE void find_iommu(struct boot_params *bp)
{
    struct acpi_table dmar;
    const char *why = find_table(bp, "DMAR", &dmar);
    if (why == NOT_LISTED)
        why = "no DMAR in the ACPI tables";
    x86_iommu_find(why ? NULL : &dmar, why, bp);
}

/* Where the I/O APIC's registers are: from the MADT, or the chipset's
 * default with a line saying why. */
static BOOT_CODE void find_ioapic(const struct boot_params *bp)
{
    const char *why = NULL;
    paddr_t pa = madt_ioapic(bp, &why);
    if (pa) {
        ioapic_base = pa;
        kprintf("x86_64: I/O APIC at 0x%llx, from the ACPI MADT\n", (unsigned long long)pa);
        return;
    }
    kprintf("x86_64: I/O APIC at the chipset's default 0x%llx (ACPI: %s)\n",
            (unsigned long long)IOAPIC_DEFAULT_BASE, why ? why : "no address");
}

/* The kernel image (text to the end of bss) and the devices the kernel
 * maps, so the generic kernel never hands them out as memory. */
static BOOT_CODE void add_platform_regions(struct boot_params *bp)
{
    paddr_t start = arch_virt_to_phys(__kernel_start);
    paddr_t end = arch_virt_to_phys(__kernel_end);
    if (!boot_params_add_reserved(bp, start, end - start) ||
        !boot_params_add_device(bp, x86_apic_base(), PAGE_SIZE) ||
        !boot_params_add_device(bp, ioapic_base, PAGE_SIZE))
        panic("x86_64: boot parameter tables are full");
}

static BOOT_CODE void set_platform_name(struct boot_params *bp)
{
    const char *name = "PC";
    if (x86_features.hypervisor) {
        if (strcmp(x86_features.hypervisor_id, "TCGTCGTCGTCG") == 0)
            name = "PC (QEMU TCG)";
        else if (strncmp(x86_features.hypervisor_id, "KVMKVMKVM", 9) == 0)
            name = "PC (KVM)";
        else
            name = "PC (virtual machine)";
    }
    boot_params_set_string(bp->platform, name);
}

BOOT_CODE void x86_boot_main(uint32_t magic, uint32_t info_pa)
{
    struct boot_params *bp = &boot_params;

    x86_serial_init();
    x86_cpu_detect();
    x86_cpu_init(&x86_cpu0, &x86_cpu0_stacks); /* from here on, faults are reported */
    read_multiboot(magic, info_pa, bp);
    find_acpi_rsdp(bp); /* the trampoline's map of 0..4 GiB is still live */
    find_ioapic(bp);
    find_cpus(bp);
    find_iommu(bp);
    add_platform_regions(bp);
    x86_smp_reserve_trampoline(bp);
    set_platform_name(bp);
    x86_paging_init(bp); /* the multiboot information is unreachable after this */
    x86_kpti_choose(bp);  /* before any user space exists */
    x86_cpu_enable_features();
    uint64_t tsc_hz = x86_apic_init(bp);
    x86_ioapic_init(ioapic_base);
    x86_iommu_init(VECTOR_IOMMU_FAULT, arch_irq_count()); /* a line past the IOAPIC's */
    x86_cpu_describe();
    kprintf("x86_64: %s via %s, APIC timer %lu Hz\n", bp->platform, bp->loader, bp->timer_hz);
    x86_timer_init(tsc_hz, bp->timer_hz);
    kernel_main(bp);
}
