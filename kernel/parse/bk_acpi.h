/*
 * A reader for the ACPI tables a device finder needs (ACPI 6.4, chapter 5.2
 * "ACPI System Description Tables"): the Root System Description Pointer,
 * the common table header, the RSDT/XSDT lists, the MADT's I/O APICs
 * (5.2.12) and the PCI Express MCFG table (PCI Firmware Specification 3.2,
 * section 4.1.2). No AML.
 *
 * Pure (kernel/parse/): it includes only compiler headers, so the kernel
 * (which looks for the RSDP at boot) and user programs (which follow it to
 * the tables, through device memory) build the same source. It reads only
 * the bytes it is given: every length is checked against what the caller
 * says is readable, every checksum is verified, and errors are static
 * sentences for the caller to print.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_RSDP_V1_SIZE 20u  /* ACPI 1.0 RSDP: up to and including RsdtAddress */
#define ACPI_RSDP_V2_SIZE 36u  /* ACPI 2.0+ RSDP: Length, XsdtAddress, extended checksum */
#define ACPI_HEADER_SIZE 36u   /* the common System Description Table header */
#define ACPI_MCFG_ENTRY_SIZE 16u

/* What an RSDP says. */
struct acpi_rsdp {
    uint8_t revision;   /* 0: ACPI 1.0 (RSDT only); 2 and up: XSDT too */
    uint32_t rsdt;      /* physical address of the RSDT */
    uint64_t xsdt;      /* physical address of the XSDT, 0 for revision 0 */
    char oem_id[7];
};

/* A table whose header and checksum were checked. */
struct acpi_table {
    const uint8_t *data; /* the whole table, header included */
    uint32_t length;
    char signature[5];
    uint8_t revision;
};

/* One MCFG allocation: the ECAM window of buses bus_start..bus_end of a
 * PCI segment. The window of bus b starts at base + (b << 20). */
struct acpi_mcfg_entry {
    uint64_t base;
    uint16_t segment;
    uint8_t bus_start, bus_end;
};

/* One I/O APIC of the MADT (ACPI 6.4, 5.2.12.3): its registers' physical
 * address and the first global system interrupt it serves. */
struct acpi_madt_ioapic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};

/* One processor of the MADT: a Processor Local APIC (5.2.12.2) or
 * Processor Local x2APIC (5.2.12.12) entry. `enabled`: the firmware says
 * the processor is usable now (flags bit 0); a clear bit means absent, or
 * only "online capable" later: not started at boot. */
struct acpi_madt_lapic {
    uint32_t apic_id;
    uint32_t uid;     /* ACPI processor UID */
    bool enabled;
};

/* Checks the RSDP at `p` (`avail` readable bytes): signature "RSD PTR ",
 * the 20-byte checksum, and for revision 2 and up the Length field and the
 * extended checksum. Returns NULL and fills `out`, or a sentence. */
const char *acpi_rsdp_check(const void *p, size_t avail, struct acpi_rsdp *out);

/* The offset of the first valid RSDP in [area, area + len), searched on
 * 16-byte boundaries as the specification says it lies (5.2.5.1), or -1. */
long acpi_rsdp_find(const void *area, size_t len);

/* The Length field of the table header at `p`, for a reader that must
 * learn how much to map before checking: false if fewer than 8 bytes. */
bool acpi_table_length(const void *p, size_t avail, uint32_t *length);

/* Checks the table at `p` (`avail` readable bytes): a whole header, a
 * Length of at least the header that fits in `avail`, the checksum over
 * Length bytes, and (when `signature` is not NULL) the signature. */
const char *acpi_table_check(const void *p, size_t avail, const char *signature,
                             struct acpi_table *out);

/* The entries of a checked RSDT (4-byte addresses) or XSDT (8-byte). */
unsigned acpi_root_entry_count(const struct acpi_table *root);
uint64_t acpi_root_entry(const struct acpi_table *root, unsigned index);

/* The allocations of a checked MCFG: the count, and entry `index`.
 * acpi_mcfg_entry() returns NULL, or a sentence for an entry that makes no
 * sense (bus_end below bus_start, a base not aligned to 1 MiB). */
unsigned acpi_mcfg_count(const struct acpi_table *mcfg);
const char *acpi_mcfg_entry(const struct acpi_table *mcfg, unsigned index,
                            struct acpi_mcfg_entry *out);

/* The `index`-th I/O APIC entry of a checked MADT ("APIC"): NULL and `out`
 * filled, or a sentence: no such entry, or an entry whose length is not
 * an I/O APIC's or runs past the table (the walk stops at the first such). */
const char *acpi_madt_ioapic(const struct acpi_table *madt, unsigned index,
                             struct acpi_madt_ioapic *out);

/* The `index`-th processor entry (local APIC or local x2APIC, in table
 * order) of a checked MADT: NULL and `out` filled, or a sentence: no such
 * entry, or one whose length is wrong or runs past the table. */
const char *acpi_madt_lapic(const struct acpi_table *madt, unsigned index,
                            struct acpi_madt_lapic *out);
