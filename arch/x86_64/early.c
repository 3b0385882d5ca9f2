/*
 * x86_boot_main: the first C code, entered from entry.S on CPU 0's kernel
 * stack with the trampoline's page tables. It brings up the console and
 * the CPU, turns the multiboot information into struct boot_params, builds
 * the kernel's page tables, the local APIC and the IOAPIC, then calls
 * kernel_main().
 */
#include "ioapic.h"
#include "multiboot.h"
#include "x86.h"

#define IOAPIC_BASE 0xFEC00000ull /* the chipset's default; ACPI MADT not read yet */

static struct boot_params boot_params;

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

/* The kernel image (text to the end of bss) and the devices the kernel
 * maps, so the generic kernel never hands them out as memory. */
static BOOT_CODE void add_platform_regions(struct boot_params *bp)
{
    paddr_t start = arch_virt_to_phys(__kernel_start);
    paddr_t end = arch_virt_to_phys(__kernel_end);
    if (!boot_params_add_reserved(bp, start, end - start) ||
        !boot_params_add_device(bp, x86_apic_base(), PAGE_SIZE) ||
        !boot_params_add_device(bp, IOAPIC_BASE, PAGE_SIZE))
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
    add_platform_regions(bp);
    set_platform_name(bp);
    x86_paging_init(bp); /* the multiboot information is unreachable after this */
    x86_kpti_choose(bp);  /* before any user space exists */
    x86_cpu_enable_features();
    uint64_t tsc_hz = x86_apic_init(bp);
    x86_ioapic_init(IOAPIC_BASE);
    x86_cpu_describe();
    kprintf("x86_64: %s via %s, APIC timer %lu Hz\n", bp->platform, bp->loader, bp->timer_hz);
    x86_timer_init(tsc_hz, bp->timer_hz);
    kernel_main(bp);
}
