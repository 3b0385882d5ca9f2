/*
 * libFuzzer target: the ACPI reader (kernel/parse/acpi.c, used by the
 * x86-64 port at boot and by user space to find PCI) on arbitrary bytes.
 * The first byte picks what the rest is taken for: an RSDP, an area to
 * scan for one, or a table (RSDT/XSDT entries, MCFG allocations and MADT
 * I/O APICs read from any table the header check accepts). The rest is an exact heap copy,
 * so a read past what the reader was told it may read is caught by ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk_acpi.h" /* kernel/parse/bk_acpi.h */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
