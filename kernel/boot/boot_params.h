/*
 * What the architecture's early boot code learned from the firmware or boot
 * loader, in one arch-neutral form. The arch fills it from the multiboot
 * information (x86-64) or the flattened device tree (RISC-V) and hands it to
 * kernel_main(). The generic kernel turns it into the root task's untyped
 * memory and boot-info page.
 *
 * Invariants the arch guarantees when it calls kernel_main():
 *  - every RAM region listed is reachable through arch_phys_to_virt();
 *  - the kernel image, the boot modules and anything the firmware still uses
 *    (its own memory, the device tree blob) are listed as reserved, so the
 *    generic kernel never hands them out;
 *  - strings point into kernel-readable memory and are NUL-terminated.
 */
#pragma once

#include "types.h"

#define BOOT_MAX_RAM_REGIONS 32
#define BOOT_MAX_RESERVED_REGIONS 32
#define BOOT_MAX_DEVICE_REGIONS 32
#define BOOT_MAX_MODULES 8
#define BOOT_MAX_STRING 256
/* The kernel command line: as long as the boot-info page's copy (its last
 * byte the terminator), so an option near the end still reaches the root task. */
#define BOOT_MAX_CMDLINE 1024
#define BOOT_ACPI_RSDP_MAX 36 /* an ACPI 2.0+ RSDP; version 1.0's is 20 bytes */
#define BOOT_MAX_CPUS 8        /* KERNEL_MAX_CPUS (kernel/smp.h) */

/* A physical address range [base, base + size). */
struct phys_region {
    paddr_t base;
    uint64_t size;
};

/* A blob the boot loader placed in memory (a multiboot module, an initrd). */
struct boot_module {
    paddr_t base;
    uint64_t size;
    char name[BOOT_MAX_STRING]; /* the loader's command line for it; may be "" */
};

struct boot_params {
    struct phys_region ram[BOOT_MAX_RAM_REGIONS];
    unsigned ram_count;
    struct phys_region reserved[BOOT_MAX_RESERVED_REGIONS];
    unsigned reserved_count;
    /* MMIO ranges of the devices the kernel itself drives (console UART,
     * interrupt controllers, timer, exit device). They are never handed out;
     * the rest of the physical address space that is not RAM becomes the
     * root task's device untyped memory. */
    struct phys_region devices[BOOT_MAX_DEVICE_REGIONS];
    unsigned device_count;
    struct boot_module modules[BOOT_MAX_MODULES];
    unsigned module_count;
    char cmdline[BOOT_MAX_CMDLINE];    /* kernel command line, "" if none */
    uint32_t cmdline_length;           /* its length as the loader gave it: more than
                                        * BOOT_MAX_CMDLINE - 1 means it was cut */
    char loader[BOOT_MAX_STRING];      /* e.g. "multiboot1", "GRUB 2.06", "OpenSBI" */
    char platform[BOOT_MAX_STRING];    /* e.g. "QEMU q35", DT model string */
    uint64_t timer_hz;                 /* timer input frequency, 0 if unknown */
    /* The kernel image in physical memory, [base, base + size), bss
     * included. The arch sets it; the generic kernel reserves it too (a
     * duplicate entry in reserved[] is harmless). */
    paddr_t kernel_phys_base;
    uint64_t kernel_phys_size;
    /* Firmware tables user space reads to find devices (docs/io.md). The
     * flattened device tree, [fdt_base, fdt_base + fdt_size), also listed as
     * reserved, which the root task gets mapped read-only; 0 and 0 when the
     * machine has none. A copy of the ACPI RSDP (20 or 36 bytes, checksums
     * checked by the arch), from the boot loader or the BIOS area;
     * acpi_rsdp_size 0 when there is none. */
    paddr_t fdt_base;
    uint64_t fdt_size;
    uint8_t acpi_rsdp[BOOT_ACPI_RSDP_MAX];
    uint32_t acpi_rsdp_size;
    /* The CPUs the firmware reports, by hardware id (x86-64: local APIC
     * ID from ACPI's MADT; RISC-V: hart id from the device tree), the boot
     * CPU first; cpu_count 0 is read as the boot CPU alone. The arch
     * leaves out, with a line saying so, those past BOOT_MAX_CPUS. */
    uint64_t cpu_ids[BOOT_MAX_CPUS];
    unsigned cpu_count;
    /* x86-64: the largest range below 1 MiB the loader's memory map calls
     * available RAM (ram[] starts at 1 MiB), whole pages; size 0 if none.
     * Never handed out: the page the other CPUs start in is taken from it
     * (arch/x86_64/smp.c). */
    struct phys_region low_ram;
};

/* Helpers for arch boot code filling the structure; each returns false
 * (and records nothing) when the table is full. */
bool boot_params_add_ram(struct boot_params *bp, paddr_t base, uint64_t size);
bool boot_params_add_reserved(struct boot_params *bp, paddr_t base, uint64_t size);
bool boot_params_add_device(struct boot_params *bp, paddr_t base, uint64_t size);
bool boot_params_add_module(struct boot_params *bp, paddr_t base, uint64_t size,
                            const char *name);
/* Copies at most BOOT_MAX_STRING - 1 bytes and always terminates. */
void boot_params_set_string(char dst[BOOT_MAX_STRING], const char *src);
/* Copies the command line (at most BOOT_MAX_CMDLINE - 1 bytes, always
 * terminated) and records its whole length, so the kernel can say it was cut. */
void boot_params_set_cmdline(struct boot_params *bp, const char *src);

/* The value of "key=value" on the command line (`key` without the '='),
 * where the option starts a word; NULL if absent. The value runs to the
 * next space: compare it with boot_option_is(). */
const char *boot_cmdline_option(const char *cmdline, const char *key);
/* True if the option value `value` is exactly `word`. */
bool boot_option_is(const char *value, const char *word);
/* True if `flag` stands on the command line as a word of its own. */
bool boot_cmdline_flag(const char *cmdline, const char *flag);
