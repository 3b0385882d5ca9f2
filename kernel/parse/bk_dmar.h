/*
 * A reader for ACPI's DMA Remapping table, "DMAR" (Intel Virtualization
 * Technology for Directed I/O, rev. 4.1, chapter 8 "BIOS Considerations"):
 * the remapping hardware units (DRHD, 8.3), the memory regions firmware
 * keeps DMA to (RMRR, 8.4) and the device scopes of both (8.3.1). The
 * other structures (ATSR, RHSA, ANDD, SATC) are walked over, not read.
 *
 * Pure, like bk_acpi.h: only compiler headers, reads only the bytes of a
 * table acpi_table_check() accepted, and every error is a static sentence
 * for the caller to print. acpi_dmar_check() walks the whole table once
 * and refuses it if any structure is malformed, so a kernel either trusts
 * all of a DMAR or none of it (a unit left out by a half-read table would
 * be a device left able to DMA anywhere).
 */
#pragma once

#include "bk_acpi.h"

#define ACPI_DMAR_FIRST_STRUCT 48u /* header, width, flags, 10 reserved bytes */

/* Remapping structure types (8.2, table 8-1). */
#define ACPI_DMAR_DRHD 0u
#define ACPI_DMAR_RMRR 1u

/* Device scope types (8.3.1, table 8-2). */
#define ACPI_DMAR_SCOPE_PCI_ENDPOINT 1u
#define ACPI_DMAR_SCOPE_PCI_SUBHIERARCHY 2u
#define ACPI_DMAR_SCOPE_IOAPIC 3u
#define ACPI_DMAR_SCOPE_HPET 4u
#define ACPI_DMAR_SCOPE_NAMESPACE 5u

/* What the DMAR's fixed part says. */
struct acpi_dmar {
    unsigned address_bits; /* the Host Address Width field + 1: DMA can reach 2^bits */
    uint8_t flags;         /* bit 0 INTR_REMAP, bit 1 X2APIC_OPT_OUT, bit 2 DMA_CTRL_OPT_IN */
    unsigned units;        /* DRHD structures */
    unsigned rmrrs;        /* RMRR structures */
};

/* One DMA remapping hardware unit (DRHD). */
struct acpi_dmar_unit {
    uint64_t register_base;  /* its remapping registers, 4 KiB aligned */
    uint16_t segment;        /* the PCI segment it serves */
    bool include_pci_all;    /* flag bit 0: every device of the segment not another unit's */
    const uint8_t *scope;    /* its device scope entries */
    uint32_t scope_length;   /* bytes of them */
};

/* One reserved memory region report (RMRR): memory the devices in scope
 * use for DMA behind the operating system's back (USB legacy, for one). */
struct acpi_dmar_rmrr {
    uint64_t base;           /* first byte, 4 KiB aligned */
    uint64_t limit;          /* last byte; limit + 1 is 4 KiB aligned */
    uint16_t segment;
    const uint8_t *scope;
    uint32_t scope_length;
};

/* One device scope entry. The device is reached from start_bus through
 * path_count (device, function) hops; a one-hop path names the endpoint
 * start_bus:device.function directly, a longer one goes through bridges
 * whose secondary bus numbers only PCI configuration space knows. */
struct acpi_dmar_scope {
    uint8_t type;            /* ACPI_DMAR_SCOPE_* */
    uint8_t enumeration_id;  /* IOAPIC or HPET id */
    uint8_t start_bus;
    uint8_t path_count;
    uint8_t device, function; /* the first hop */
};

/* Checks the DMAR `t` (signature "DMAR", checked header): room for the
 * fixed part, an address width of 32 to 64 bits, and every remapping
 * structure: a length of at least 4 that stays inside the table, DRHDs of
 * at least 16 bytes with a non-zero 4 KiB aligned register base, RMRRs of
 * at least 24 bytes with 4 KiB aligned bounds and base <= limit, and
 * every device scope entry of both (a length of 6 + 2n, n >= 1, inside
 * its structure). NULL and `out` filled, or a sentence. */
const char *acpi_dmar_check(const struct acpi_table *t, struct acpi_dmar *out);

/* The `index`-th DRHD / RMRR of a DMAR acpi_dmar_check() accepted: NULL
 * and `out` filled, or a sentence (no such structure). */
const char *acpi_dmar_unit(const struct acpi_table *t, unsigned index,
                           struct acpi_dmar_unit *out);
const char *acpi_dmar_rmrr(const struct acpi_table *t, unsigned index,
                           struct acpi_dmar_rmrr *out);

/* The `index`-th entry of a device scope (a unit's or an RMRR's scope and
 * scope_length): NULL and `out` filled, or a sentence (no such entry, or
 * an entry that breaks the rules acpi_dmar_check() applies). */
const char *acpi_dmar_scope(const uint8_t *scope, uint32_t length, unsigned index,
                            struct acpi_dmar_scope *out);
