/*
 * The DMAR reader (bk_dmar.h; Intel VT-d rev. 4.1, chapter 8). Offsets
 * are the specification's tables 8-3 (DMAR), 8-6 (DRHD), 8-9 (RMRR) and
 * 8-4 (device scope). Values are little-endian, read a byte at a time;
 * every read is preceded by a check against the table's checked Length.
 */
#include "bk_dmar.h"

#define DMAR_WIDTH 36u /* Host Address Width: the width minus one */
#define DMAR_FLAGS 37u

#define STRUCT_HEADER 4u /* Type (2 bytes), Length (2 bytes) */

#define DRHD_FLAGS 4u
#define DRHD_SEGMENT 6u
#define DRHD_BASE 8u
#define DRHD_SCOPE 16u
#define DRHD_INCLUDE_PCI_ALL 0x1u

#define RMRR_SEGMENT 6u
#define RMRR_BASE 8u
#define RMRR_LIMIT 16u
#define RMRR_SCOPE 24u

#define SCOPE_MIN 6u /* Type, Length, 2 reserved, Enumeration ID, Start Bus */
#define SCOPE_ENUM_ID 4u
#define SCOPE_START_BUS 5u

#define PAGE_MASK 0xfffull

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 8; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* The remapping structure at `at`: its type and length, or a sentence. */
static const char *struct_at(const struct acpi_table *t, uint32_t at, unsigned *type,
                             uint32_t *length)
{
    if (t->length - at < STRUCT_HEADER)
        return "dmar: a remapping structure's header runs past the table";
    *type = le16(t->data + at);
    *length = le16(t->data + at + 2);
    if (*length < STRUCT_HEADER || *length > t->length - at)
        return "dmar: a remapping structure's Length is below 4 or runs past the table";
    return NULL;
}

/* Reads the scope entry at offset `at` of a scope of `length` bytes (at
 * < length) into `out`; its length in *step, or a sentence. */
static const char *scope_entry(const uint8_t *scope, uint32_t length, uint32_t at,
                               struct acpi_dmar_scope *out, uint32_t *step)
{
    const uint8_t *e = scope + at;
    if (length - at < SCOPE_MIN || e[1] > length - at)
        return "dmar: a device scope entry runs past its structure";
    if (e[1] < SCOPE_MIN + 2 || (e[1] - SCOPE_MIN) % 2)
        return "dmar: a device scope entry's Length is not 6 + 2n with a path of n >= 1 hops";
    *out = (struct acpi_dmar_scope){
        .type = e[0], .enumeration_id = e[SCOPE_ENUM_ID], .start_bus = e[SCOPE_START_BUS],
        .path_count = (uint8_t)((e[1] - SCOPE_MIN) / 2), .device = e[SCOPE_MIN],
        .function = e[SCOPE_MIN + 1],
    };
    if (out->device > 31 || out->function > 7)
        return "dmar: a device scope path names a device above 31 or a function above 7";
    *step = e[1];
    return NULL;
}

const char *acpi_dmar_scope(const uint8_t *scope, uint32_t length, unsigned index,
                            struct acpi_dmar_scope *out)
{
    for (uint32_t at = 0, step = 0; at < length; at += step) {
        const char *err = scope_entry(scope, length, at, out, &step);
        if (err || index-- == 0)
            return err;
    }
    return "dmar: the device scope has no such entry";
}

/* Every entry of a scope, to its last byte. */
static const char *check_scope(const uint8_t *scope, uint32_t length)
{
    struct acpi_dmar_scope s;
    for (uint32_t at = 0, step = 0; at < length; at += step) {
        const char *err = scope_entry(scope, length, at, &s, &step);
        if (err)
            return err;
    }
    return NULL;
}

static const char *read_unit(const struct acpi_table *t, uint32_t at, uint32_t length,
                             struct acpi_dmar_unit *out)
{
    const uint8_t *d = t->data + at;
    if (length < DRHD_SCOPE)
        return "dmar: a DRHD is shorter than its 16 fixed bytes";
    *out = (struct acpi_dmar_unit){
        .register_base = le64(d + DRHD_BASE), .segment = le16(d + DRHD_SEGMENT),
        .include_pci_all = d[DRHD_FLAGS] & DRHD_INCLUDE_PCI_ALL,
        .scope = d + DRHD_SCOPE, .scope_length = length - DRHD_SCOPE,
    };
    if (out->register_base == 0 || (out->register_base & PAGE_MASK))
        return "dmar: a DRHD's register base is 0 or not 4 KiB aligned";
    return NULL;
}

static const char *read_rmrr(const struct acpi_table *t, uint32_t at, uint32_t length,
                             struct acpi_dmar_rmrr *out)
{
    const uint8_t *d = t->data + at;
    if (length < RMRR_SCOPE)
        return "dmar: an RMRR is shorter than its 24 fixed bytes";
    *out = (struct acpi_dmar_rmrr){
        .base = le64(d + RMRR_BASE), .limit = le64(d + RMRR_LIMIT),
        .segment = le16(d + RMRR_SEGMENT), .scope = d + RMRR_SCOPE,
        .scope_length = length - RMRR_SCOPE,
    };
    if ((out->base & PAGE_MASK) || (out->limit & PAGE_MASK) != PAGE_MASK ||
        out->limit < out->base)
        return "dmar: an RMRR's base or limit + 1 is not 4 KiB aligned, or its limit is below its base";
    return NULL;
}

/* Finds the `index`-th structure of `type`; its offset and length. */
static const char *find_struct(const struct acpi_table *t, unsigned want, unsigned index,
                               uint32_t *at_out, uint32_t *length_out)
{
    if (t->length < ACPI_DMAR_FIRST_STRUCT)
        return "dmar: the table is shorter than its 48 fixed bytes";
    for (uint32_t at = ACPI_DMAR_FIRST_STRUCT; at < t->length;) {
        unsigned type;
        uint32_t length;
        const char *err = struct_at(t, at, &type, &length);
        if (err)
            return err;
        if (type == want && index-- == 0) {
            *at_out = at;
            *length_out = length;
            return NULL;
        }
        at += length;
    }
    return want == ACPI_DMAR_DRHD ? "dmar: the table has no such DRHD"
                                  : "dmar: the table has no such RMRR";
}

const char *acpi_dmar_unit(const struct acpi_table *t, unsigned index,
                           struct acpi_dmar_unit *out)
{
    uint32_t at, length;
    const char *err = find_struct(t, ACPI_DMAR_DRHD, index, &at, &length);
    return err ? err : read_unit(t, at, length, out);
}

const char *acpi_dmar_rmrr(const struct acpi_table *t, unsigned index,
                           struct acpi_dmar_rmrr *out)
{
    uint32_t at, length;
    const char *err = find_struct(t, ACPI_DMAR_RMRR, index, &at, &length);
    return err ? err : read_rmrr(t, at, length, out);
}

/* Checks one structure; counts the units and RMRRs in `out`. */
static const char *check_struct(const struct acpi_table *t, uint32_t at, unsigned type,
                                uint32_t length, struct acpi_dmar *out)
{
    const char *err = NULL;
    if (type == ACPI_DMAR_DRHD) {
        struct acpi_dmar_unit u;
        if ((err = read_unit(t, at, length, &u)) == NULL)
            err = check_scope(u.scope, u.scope_length);
        out->units++;
    } else if (type == ACPI_DMAR_RMRR) {
        struct acpi_dmar_rmrr r;
        if ((err = read_rmrr(t, at, length, &r)) == NULL)
            err = check_scope(r.scope, r.scope_length);
        out->rmrrs++;
    }
    return err;
}

const char *acpi_dmar_check(const struct acpi_table *t, struct acpi_dmar *out)
{
    if (t->length < ACPI_DMAR_FIRST_STRUCT)
        return "dmar: the table is shorter than its 48 fixed bytes";
    *out = (struct acpi_dmar){ .address_bits = t->data[DMAR_WIDTH] + 1u,
                               .flags = t->data[DMAR_FLAGS] };
    if (out->address_bits < 32 || out->address_bits > 64)
        return "dmar: the host address width is not between 32 and 64 bits";
    for (uint32_t at = ACPI_DMAR_FIRST_STRUCT; at < t->length;) {
        unsigned type;
        uint32_t length;
        const char *err = struct_at(t, at, &type, &length);
        if (err == NULL)
            err = check_struct(t, at, type, length, out);
        if (err)
            return err;
        at += length;
    }
    if (out->units == 0)
        return "dmar: the table lists no remapping hardware unit (DRHD)";
    return NULL;
}
