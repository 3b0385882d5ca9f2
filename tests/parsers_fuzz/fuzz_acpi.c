/*
 * libFuzzer target: the ACPI reader (kernel/parse/acpi.c, used by the
 * x86-64 port at boot and by user space to find PCI) on arbitrary bytes.
 * The first byte picks what the rest is taken for: an RSDP, an area to
 * scan for one, or a table (RSDT/XSDT entries, MCFG allocations, MADT
 * I/O APICs and the DMAR's units, RMRRs and device scopes read from any
 * table the header check accepts). The rest is an exact heap copy,
 * so a read past what the reader was told it may read is caught by ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk_dmar.h" /* kernel/parse/bk_dmar.h, bk_acpi.h */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every unit and RMRR of a DMAR the check accepted, with their scopes:
 * each index up to the counts answers, and the walks end. */
static void as_dmar(const struct acpi_table *t)
{
    struct acpi_dmar d;
    if (acpi_dmar_check(t, &d) != NULL)
        return;
    struct acpi_dmar_unit u;
    struct acpi_dmar_rmrr r;
    struct acpi_dmar_scope s;
    for (unsigned i = 0; i < d.units; i++) {
        if (acpi_dmar_unit(t, i, &u) != NULL)
            abort(); /* the check counted a unit the reader cannot find */
        for (unsigned j = 0; acpi_dmar_scope(u.scope, u.scope_length, j, &s) == NULL; j++)
            if (j > u.scope_length)
                abort();
    }
    for (unsigned i = 0; i < d.rmrrs; i++) {
        if (acpi_dmar_rmrr(t, i, &r) != NULL || r.limit < r.base)
            abort();
        for (unsigned j = 0; acpi_dmar_scope(r.scope, r.scope_length, j, &s) == NULL; j++)
            if (j > r.scope_length)
                abort();
    }
    if (acpi_dmar_unit(t, d.units, &u) == NULL || acpi_dmar_rmrr(t, d.rmrrs, &r) == NULL)
        abort(); /* more structures than the check counted */
}

static void as_table(const uint8_t *p, size_t n)
{
    struct acpi_table t;
    uint32_t len;
    (void)acpi_table_length(p, n, &len);
    if (acpi_table_check(p, n, NULL, &t) != NULL)
        return;
    if (t.length > n)
        abort(); /* the checker accepted a length it was not given */
    for (unsigned i = 0; i <= acpi_root_entry_count(&t); i++)
        (void)acpi_root_entry(&t, i);
    struct acpi_mcfg_entry e;
    for (unsigned i = 0; i <= acpi_mcfg_count(&t); i++)
        (void)acpi_mcfg_entry(&t, i, &e);
    struct acpi_madt_ioapic io;
    for (unsigned i = 0; acpi_madt_ioapic(&t, i, &io) == NULL; i++)
        if (i > t.length)
            abort(); /* more I/O APICs than bytes: the walk did not move */
    as_dmar(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, data + 1, n);
    struct acpi_rsdp r;
    switch (data[0] % 3) {
    case 0:
        (void)acpi_rsdp_check(copy, n, &r);
        break;
    case 1: {
        long off = acpi_rsdp_find(copy, n);
        if (off >= 0 && ((size_t)off >= n || off % 16))
            abort();
        break;
    }
    default:
        as_table(copy, n);
    }
    free(copy);
    return 0;
}
