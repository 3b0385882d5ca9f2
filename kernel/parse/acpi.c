/*
 * ACPI table reader (ACPI 6.4, 5.2.5 "Root System Description Pointer",
 * 5.2.6 "System Description Table Header", 5.2.7/5.2.8 RSDT and XSDT,
 * 5.2.12 MADT; PCI
 * Firmware Specification 3.2, 4.1.2 MCFG). All values are little-endian
 * and read a byte at a time (tables need not be aligned). Every read is
 * preceded by a check of the length the caller gave.
 */
#include "bk_acpi.h"

/* RSDP field offsets (ACPI 6.4, table 5.3). */
#define RSDP_CHECKSUM_V1_LEN 20u
#define RSDP_OEM_ID 9u
#define RSDP_REVISION 15u
#define RSDP_RSDT 16u
#define RSDP_LENGTH 20u
#define RSDP_XSDT 24u

/* Header field offsets (table 5.4). */
#define HDR_LENGTH 4u
#define HDR_REVISION 8u

/* MCFG: the header, 8 reserved bytes, then 16-byte allocations. */
#define MCFG_FIRST_ENTRY (ACPI_HEADER_SIZE + 8u)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The bytes of a checksummed structure add up to 0 modulo 256. */
static bool sums_to_zero(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum == 0;
}

static bool same_bytes(const uint8_t *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (uint8_t)s[i])
            return false;
    }
    return true;
}

const char *acpi_rsdp_check(const void *ptr, size_t avail, struct acpi_rsdp *out)
{
    const uint8_t *p = ptr;
    if (avail < ACPI_RSDP_V1_SIZE)
        return "acpi: RSDP cut short: fewer than 20 bytes";
    if (!same_bytes(p, "RSD PTR ", 8))
        return "acpi: RSDP signature is not \"RSD PTR \"";
    if (!sums_to_zero(p, RSDP_CHECKSUM_V1_LEN))
        return "acpi: RSDP checksum (first 20 bytes) is wrong";
    *out = (struct acpi_rsdp){ .revision = p[RSDP_REVISION], .rsdt = le32(p + RSDP_RSDT) };
    for (unsigned i = 0; i < 6; i++)
        out->oem_id[i] = (p[RSDP_OEM_ID + i] >= ' ' && p[RSDP_OEM_ID + i] <= '~')
                             ? (char)p[RSDP_OEM_ID + i] : '?';
    if (out->revision < 2)
        return out->rsdt ? NULL : "acpi: RSDP (revision 0) gives no RSDT address";
    if (avail < ACPI_RSDP_V2_SIZE)
        return "acpi: RSDP of revision 2 cut short: fewer than 36 bytes";
    uint32_t length = le32(p + RSDP_LENGTH);
    if (length < ACPI_RSDP_V2_SIZE || length > avail)
        return "acpi: RSDP Length is below 36 or past the readable bytes";
    if (!sums_to_zero(p, length))
        return "acpi: RSDP extended checksum is wrong";
    out->xsdt = le64(p + RSDP_XSDT);
    if (!out->xsdt && !out->rsdt)
        return "acpi: RSDP gives neither an RSDT nor an XSDT address";
    return NULL;
}

long acpi_rsdp_find(const void *area, size_t len)
{
    const uint8_t *p = area;
    struct acpi_rsdp r;
    for (size_t off = 0; off + ACPI_RSDP_V1_SIZE <= len; off += 16) {
        if (!acpi_rsdp_check(p + off, len - off, &r))
            return (long)off;
    }
    return -1;
}

bool acpi_table_length(const void *ptr, size_t avail, uint32_t *length)
{
    if (avail < HDR_LENGTH + 4)
        return false;
    *length = le32((const uint8_t *)ptr + HDR_LENGTH);
    return true;
}

const char *acpi_table_check(const void *ptr, size_t avail, const char *signature,
                             struct acpi_table *out)
{
    const uint8_t *p = ptr;
    if (avail < ACPI_HEADER_SIZE)
        return "acpi: table cut short: fewer than 36 bytes for its header";
    uint32_t length = le32(p + HDR_LENGTH);
    if (length < ACPI_HEADER_SIZE)
        return "acpi: table Length is smaller than its header";
    if (length > avail)
        return "acpi: table Length runs past the readable bytes";
    if (signature && !same_bytes(p, signature, 4))
        return "acpi: table has the wrong signature";
    if (!sums_to_zero(p, length))
        return "acpi: table checksum is wrong";
    *out = (struct acpi_table){ .data = p, .length = length, .revision = p[HDR_REVISION] };
    for (unsigned i = 0; i < 4; i++)
        out->signature[i] = (char)p[i];
    out->signature[4] = '\0';
    return NULL;
}

/* An XSDT lists 8-byte addresses, an RSDT 4-byte ones. */
static unsigned root_entry_size(const struct acpi_table *root)
{
    return same_bytes(root->data, "XSDT", 4) ? 8u : 4u;
}

unsigned acpi_root_entry_count(const struct acpi_table *root)
{
    return (root->length - ACPI_HEADER_SIZE) / root_entry_size(root);
}

uint64_t acpi_root_entry(const struct acpi_table *root, unsigned index)
{
    unsigned size = root_entry_size(root);
    if (index >= acpi_root_entry_count(root))
        return 0;
    const uint8_t *e = root->data + ACPI_HEADER_SIZE + (size_t)index * size;
    return size == 8 ? le64(e) : le32(e);
}

unsigned acpi_mcfg_count(const struct acpi_table *mcfg)
{
    if (mcfg->length < MCFG_FIRST_ENTRY)
        return 0;
    return (mcfg->length - MCFG_FIRST_ENTRY) / ACPI_MCFG_ENTRY_SIZE;
}

const char *acpi_mcfg_entry(const struct acpi_table *mcfg, unsigned index,
                            struct acpi_mcfg_entry *out)
{
    if (index >= acpi_mcfg_count(mcfg))
        return "acpi: MCFG has no such allocation";
    const uint8_t *e = mcfg->data + MCFG_FIRST_ENTRY + (size_t)index * ACPI_MCFG_ENTRY_SIZE;
    *out = (struct acpi_mcfg_entry){
        .base = le64(e),
        .segment = (uint16_t)(e[8] | e[9] << 8),
        .bus_start = e[10],
        .bus_end = e[11],
    };
    if (out->bus_end < out->bus_start)
        return "acpi: MCFG allocation ends below the bus it starts at";
    if (out->base & ((1u << 20) - 1))
        return "acpi: MCFG allocation base is not aligned to 1 MiB";
    return NULL;
}

/* The MADT (5.2.12): after the header, the local APIC address and flags
 * (4 bytes each), then entries of [type, length, ...]. */
#define MADT_FIRST_ENTRY (ACPI_HEADER_SIZE + 8u)
#define MADT_TYPE_IOAPIC 1u
#define MADT_IOAPIC_LENGTH 12u

const char *acpi_madt_ioapic(const struct acpi_table *madt, unsigned index,
                             struct acpi_madt_ioapic *out)
{
    for (uint32_t at = MADT_FIRST_ENTRY; at < madt->length;) {
        const uint8_t *e = madt->data + at;
        if (madt->length - at < 2 || e[1] < 2 || e[1] > madt->length - at)
            return "acpi: MADT entry runs past the table, or has a length below 2";
        if (e[0] == MADT_TYPE_IOAPIC) {
            if (e[1] != MADT_IOAPIC_LENGTH)
                return "acpi: MADT I/O APIC entry is not 12 bytes long";
            if (index-- == 0) {
                *out = (struct acpi_madt_ioapic){ .id = e[2], .address = le32(e + 4),
                                                  .gsi_base = le32(e + 8) };
                return NULL;
            }
        }
        at += e[1];
    }
    return "acpi: MADT has no such I/O APIC";
}

/* Processor Local APIC (type 0, 8 bytes: UID, APIC ID, flags) and
 * Processor Local x2APIC (type 9, 16 bytes: reserved, x2APIC ID, flags,
 * UID) structures, 5.2.12.2 and 5.2.12.12. Flags bit 0: enabled; bit 1:
 * online capable (may be enabled later, so not started at boot). */
#define MADT_TYPE_LAPIC 0u
#define MADT_LAPIC_LENGTH 8u
#define MADT_TYPE_X2APIC 9u
#define MADT_X2APIC_LENGTH 16u
#define MADT_LAPIC_ENABLED 1u

/* Fills `out` from the processor entry `e` of `type`, or says why not. */
static const char *madt_processor(const uint8_t *e, struct acpi_madt_lapic *out)
{
    if (e[0] == MADT_TYPE_LAPIC) {
        if (e[1] != MADT_LAPIC_LENGTH)
            return "acpi: MADT local APIC entry is not 8 bytes long";
        *out = (struct acpi_madt_lapic){ .apic_id = e[3], .uid = e[2],
                                         .enabled = le32(e + 4) & MADT_LAPIC_ENABLED };
        return NULL;
    }
    if (e[1] != MADT_X2APIC_LENGTH)
        return "acpi: MADT local x2APIC entry is not 16 bytes long";
    *out = (struct acpi_madt_lapic){ .apic_id = le32(e + 4), .uid = le32(e + 12),
                                     .enabled = le32(e + 8) & MADT_LAPIC_ENABLED };
    return NULL;
}

const char *acpi_madt_lapic(const struct acpi_table *madt, unsigned index,
                            struct acpi_madt_lapic *out)
{
    for (uint32_t at = MADT_FIRST_ENTRY; at < madt->length;) {
        const uint8_t *e = madt->data + at;
        if (madt->length - at < 2 || e[1] < 2 || e[1] > madt->length - at)
            return "acpi: MADT entry runs past the table, or has a length below 2";
        if ((e[0] == MADT_TYPE_LAPIC || e[0] == MADT_TYPE_X2APIC) && index-- == 0)
            return madt_processor(e, out);
        at += e[1];
    }
    return "acpi: MADT has no such processor";
}
