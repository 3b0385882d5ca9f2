/*
 * Host tests of the ACPI table reader (kernel/parse/acpi.c): an RSDP of
 * each revision, an XSDT and an RSDT, an MCFG, and damaged copies of each
 * that must give a precise sentence. Every check runs on a heap copy of
 * exactly the bytes said to be readable, so AddressSanitizer catches a
 * read past them.
 */
#include "bk_acpi.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* the host is little-endian, like ACPI */
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* Sets byte `at` so that bytes [0, len) add up to 0. */
static void fix_sum(uint8_t *p, size_t len, size_t at)
{
    uint8_t s = 0;
    p[at] = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    p[at] = (uint8_t)-s;
}

static void make_rsdp(uint8_t r[36], uint8_t revision, uint32_t rsdt, uint64_t xsdt)
{
    memset(r, 0, 36);
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "BOCHS ", 6);
    r[15] = revision;
    put32(r + 16, rsdt);
    put32(r + 20, 36);
    put64(r + 24, xsdt);
    fix_sum(r, 20, 8);
    fix_sum(r, 36, 32);
}

/* A table of `len` bytes with a valid header. */
static void make_table(uint8_t *t, uint32_t len, const char *sig)
{
    memset(t, 0, ACPI_HEADER_SIZE);
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = 1;
    fix_sum(t, len, 9);
}

/* The checks, each on an exact heap copy. */
static const char *rsdp_on_copy(const uint8_t *p, size_t n, struct acpi_rsdp *out)
{
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, p, n);
    const char *err = acpi_rsdp_check(c, n, out);
    free(c);
    return err;
}

static const char *table_on_copy(const uint8_t *p, size_t n, const char *sig)
{
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, p, n);
    struct acpi_table t;
    const char *err = acpi_table_check(c, n, sig, &t);
    free(c);
    return err;
}

static void test_rsdp_good(void)
{
    uint8_t r[36];
    struct acpi_rsdp out;
    make_rsdp(r, 2, 0x7ffe1000, 0x7ffe2000);
    CHECK(rsdp_on_copy(r, 36, &out) == NULL);
    CHECK_EQ(out.revision, 2);
    CHECK_EQ(out.rsdt, 0x7ffe1000);
    CHECK_EQ(out.xsdt, 0x7ffe2000);
    CHECK(strcmp(out.oem_id, "BOCHS ") == 0);
    make_rsdp(r, 0, 0x7ffe1000, 0);
    CHECK(rsdp_on_copy(r, 20, &out) == NULL); /* revision 0 needs only 20 bytes */
    CHECK_EQ(out.xsdt, 0);
}

static void test_rsdp_bad(void)
{
    uint8_t r[36];
    struct acpi_rsdp out;
    make_rsdp(r, 2, 0x1000, 0x2000);
    CHECK(rsdp_on_copy(r, 19, &out) != NULL);
    CHECK(strstr(rsdp_on_copy(r, 35, &out), "cut short") != NULL);
    r[0] = 'X';
    CHECK(strstr(rsdp_on_copy(r, 36, &out), "signature") != NULL);
    make_rsdp(r, 2, 0x1000, 0x2000);
    r[16] ^= 1; /* the first checksum covers the RSDT address */
    CHECK(strstr(rsdp_on_copy(r, 36, &out), "checksum (first 20") != NULL);
    make_rsdp(r, 2, 0x1000, 0x2000);
    r[24] ^= 1; /* only the extended checksum covers the XSDT address */
    CHECK(strstr(rsdp_on_copy(r, 36, &out), "extended checksum") != NULL);
    make_rsdp(r, 2, 0x1000, 0x2000);
    put32(r + 20, 40); /* Length past the readable bytes */
    fix_sum(r, 36, 32);
    CHECK(strstr(rsdp_on_copy(r, 36, &out), "Length") != NULL);
    make_rsdp(r, 2, 0x1000, 0x2000);
    put32(r + 20, 12);
    CHECK(strstr(rsdp_on_copy(r, 36, &out), "Length") != NULL);
    make_rsdp(r, 0, 0, 0);
    CHECK(strstr(rsdp_on_copy(r, 20, &out), "no RSDT") != NULL);
    make_rsdp(r, 2, 0, 0);
    CHECK(strstr(rsdp_on_copy(r, 36, &out), "neither") != NULL);
}

static void test_rsdp_find(void)
{
    enum { AREA = 4096 };
    uint8_t *area = calloc(AREA, 1);
    uint8_t r[36];
    make_rsdp(r, 2, 0x1000, 0x2000);
    memcpy(area + 0x105, r, 36); /* not on a 16-byte boundary: not found */
    CHECK_EQ(acpi_rsdp_find(area, AREA), -1);
    memcpy(area + 0x200, r, 36);
    area[0x208] ^= 0x55; /* a damaged copy first is skipped */
    memcpy(area + 0x400, r, 36);
    CHECK_EQ(acpi_rsdp_find(area, AREA), 0x400);
    CHECK_EQ(acpi_rsdp_find(area, 0x410), -1); /* cut by the area's end */
    CHECK_EQ(acpi_rsdp_find(area, 0), -1);
    free(area);
}

static void test_xsdt_and_rsdt(void)
{
    uint8_t x[ACPI_HEADER_SIZE + 16];
    memset(x, 0, sizeof(x));
    put64(x + ACPI_HEADER_SIZE, 0x7ffe3000);
    put64(x + ACPI_HEADER_SIZE + 8, 0x17ffe4000ull);
    make_table(x, sizeof(x), "XSDT");
    struct acpi_table t;
    CHECK(acpi_table_check(x, sizeof(x), "XSDT", &t) == NULL);
    CHECK_EQ(acpi_root_entry_count(&t), 2);
    CHECK_EQ(acpi_root_entry(&t, 1), 0x17ffe4000ull);
    CHECK_EQ(acpi_root_entry(&t, 2), 0);
    CHECK(strcmp(t.signature, "XSDT") == 0);

    uint8_t r[ACPI_HEADER_SIZE + 11]; /* two 4-byte entries and 3 stray bytes */
    memset(r, 0, sizeof(r));
    put32(r + ACPI_HEADER_SIZE + 4, 0x7ffe5000);
    make_table(r, sizeof(r), "RSDT");
    CHECK(acpi_table_check(r, sizeof(r), "RSDT", &t) == NULL);
    CHECK_EQ(acpi_root_entry_count(&t), 2);
    CHECK_EQ(acpi_root_entry(&t, 0), 0);
    CHECK_EQ(acpi_root_entry(&t, 1), 0x7ffe5000);
    uint32_t len = 0;
    CHECK(acpi_table_length(r, 8, &len) && len == sizeof(r));
    CHECK(!acpi_table_length(r, 7, &len));
}

static void test_table_bad(void)
{
    uint8_t t[64];
    memset(t, 0, sizeof(t));
    make_table(t, 64, "MCFG");
    CHECK(table_on_copy(t, 64, "MCFG") == NULL);
    CHECK(strstr(table_on_copy(t, 35, NULL), "fewer than 36") != NULL);
    CHECK(strstr(table_on_copy(t, 63, NULL), "past the readable") != NULL);
    CHECK(strstr(table_on_copy(t, 64, "APIC"), "signature") != NULL);
    t[40] = 1;
    CHECK(strstr(table_on_copy(t, 64, "MCFG"), "checksum") != NULL);
    make_table(t, 20, "MCFG");
    CHECK(strstr(table_on_copy(t, 64, "MCFG"), "smaller than its header") != NULL);
    put32(t + 4, 0xffffffffu); /* a huge Length never reads past `avail` */
    CHECK(table_on_copy(t, 64, "MCFG") != NULL);
}

static void test_mcfg(void)
{
    uint8_t m[ACPI_HEADER_SIZE + 8 + 2 * 16];
    memset(m, 0, sizeof(m));
    uint8_t *e = m + ACPI_HEADER_SIZE + 8;
    put64(e, 0xb0000000);
    e[10] = 0;
    e[11] = 0xff;
    put64(e + 16, 0xc0000000 + 0x80000); /* not 1 MiB aligned */
    e[16 + 8] = 1;
    make_table(m, sizeof(m), "MCFG");
    struct acpi_table t;
    struct acpi_mcfg_entry a;
    CHECK(acpi_table_check(m, sizeof(m), "MCFG", &t) == NULL);
    CHECK_EQ(acpi_mcfg_count(&t), 2);
    CHECK(acpi_mcfg_entry(&t, 0, &a) == NULL);
    CHECK_EQ(a.base, 0xb0000000);
    CHECK_EQ(a.bus_end, 0xff);
    CHECK(strstr(acpi_mcfg_entry(&t, 1, &a), "1 MiB") != NULL);
    CHECK(acpi_mcfg_entry(&t, 2, &a) != NULL);
    e[10] = 5;
    e[11] = 4;
    make_table(m, sizeof(m), "MCFG");
    CHECK(acpi_table_check(m, sizeof(m), "MCFG", &t) == NULL);
    CHECK(strstr(acpi_mcfg_entry(&t, 0, &a), "ends below") != NULL);
    make_table(m, ACPI_HEADER_SIZE + 4, "MCFG"); /* no room for its reserved bytes */
    CHECK(acpi_table_check(m, sizeof(m), "MCFG", &t) == NULL);
    CHECK_EQ(acpi_mcfg_count(&t), 0);
}

/* An MADT of a local APIC entry, an I/O APIC, an override and a second
 * I/O APIC, as QEMU's q35 lays it out; then broken entry lengths. */
static void test_madt_ioapics(void)
{
    uint8_t m[ACPI_HEADER_SIZE + 8 + 8 + 12 + 10 + 12];
    memset(m, 0, sizeof(m));
    uint8_t *e = m + ACPI_HEADER_SIZE + 8;
    e[0] = 0, e[1] = 8;       /* a processor local APIC */
    e[8] = 1, e[9] = 12;      /* I/O APIC 0 at 0xfec00000, GSIs from 0 */
    e[10] = 0;
    put32(e + 12, 0xfec00000);
    e[20] = 2, e[21] = 10;    /* an interrupt source override */
    e[30] = 1, e[31] = 12;    /* I/O APIC 5 at 0xfec01000, GSIs from 24 */
    e[32] = 5;
    put32(e + 34, 0xfec01000);
    put32(e + 38, 24);
    make_table(m, sizeof(m), "APIC");
    struct acpi_table t;
    struct acpi_madt_ioapic io;
    CHECK(acpi_table_check(m, sizeof(m), "APIC", &t) == NULL);
    CHECK(acpi_madt_ioapic(&t, 0, &io) == NULL);
    CHECK(io.id == 0 && io.address == 0xfec00000 && io.gsi_base == 0);
    CHECK(acpi_madt_ioapic(&t, 1, &io) == NULL);
    CHECK(io.id == 5 && io.address == 0xfec01000 && io.gsi_base == 24);
    CHECK(strstr(acpi_madt_ioapic(&t, 2, &io), "no such") != NULL);
    e[31] = 11; /* the second I/O APIC one byte short */
    make_table(m, sizeof(m), "APIC");
    CHECK(acpi_table_check(m, sizeof(m), "APIC", &t) == NULL);
    CHECK(acpi_madt_ioapic(&t, 0, &io) == NULL);
    CHECK(strstr(acpi_madt_ioapic(&t, 1, &io), "12 bytes") != NULL);
    e[21] = 0; /* a zero length would loop for ever */
    make_table(m, sizeof(m), "APIC");
    CHECK(acpi_table_check(m, sizeof(m), "APIC", &t) == NULL);
    CHECK(strstr(acpi_madt_ioapic(&t, 1, &io), "runs past") != NULL);
    e[21] = 60; /* past the table's end */
    make_table(m, sizeof(m), "APIC");
    CHECK(acpi_table_check(m, sizeof(m), "APIC", &t) == NULL);
    CHECK(strstr(acpi_madt_ioapic(&t, 1, &io), "runs past") != NULL);
    make_table(m, ACPI_HEADER_SIZE + 8, "APIC"); /* no entries at all */
    CHECK(acpi_table_check(m, sizeof(m), "APIC", &t) == NULL);
    CHECK(strstr(acpi_madt_ioapic(&t, 0, &io), "no such") != NULL);
}

/* The processors of an MADT: a local APIC (enabled), an I/O APIC between,
 * a disabled local APIC and a local x2APIC; then a short x2APIC entry. */
static void test_madt_lapics(void)
{
    uint8_t m[ACPI_HEADER_SIZE + 8 + 8 + 12 + 8 + 16];
    memset(m, 0, sizeof(m));
    uint8_t *e = m + ACPI_HEADER_SIZE + 8;
    e[0] = 0, e[1] = 8, e[2] = 0, e[3] = 0; /* UID 0, APIC ID 0, enabled */
    put32(e + 4, 1);
    e[8] = 1, e[9] = 12;                    /* an I/O APIC */
    e[20] = 0, e[21] = 8, e[22] = 1, e[23] = 3; /* UID 1, APIC ID 3, online capable only */
    put32(e + 24, 2);
    e[28] = 9, e[29] = 16;                  /* x2APIC ID 0x1234, enabled, UID 7 */
    put32(e + 32, 0x1234);
    put32(e + 36, 1);
    put32(e + 40, 7);
    make_table(m, sizeof(m), "APIC");
    struct acpi_table t;
    struct acpi_madt_lapic p;
    CHECK(acpi_table_check(m, sizeof(m), "APIC", &t) == NULL);
    CHECK(acpi_madt_lapic(&t, 0, &p) == NULL);
    CHECK(p.apic_id == 0 && p.uid == 0 && p.enabled);
    CHECK(acpi_madt_lapic(&t, 1, &p) == NULL);
    CHECK(p.apic_id == 3 && p.uid == 1 && !p.enabled);
    CHECK(acpi_madt_lapic(&t, 2, &p) == NULL);
    CHECK(p.apic_id == 0x1234 && p.uid == 7 && p.enabled);
    CHECK(strstr(acpi_madt_lapic(&t, 3, &p), "no such") != NULL);
    e[29] = 15; /* the x2APIC entry a byte short */
    make_table(m, sizeof(m), "APIC");
    CHECK(acpi_table_check(m, sizeof(m), "APIC", &t) == NULL);
    CHECK(strstr(acpi_madt_lapic(&t, 2, &p), "16 bytes") != NULL);
    e[1] = 0; /* a zero length would loop for ever */
    make_table(m, sizeof(m), "APIC");
    CHECK(acpi_table_check(m, sizeof(m), "APIC", &t) == NULL);
    CHECK(strstr(acpi_madt_lapic(&t, 0, &p), "runs past") != NULL);
}

/* Random damage to a good RSDP and MCFG never reads outside them. */
static void test_random_damage(void)
{
    srand(14);
    for (int round = 0; round < 20000; round++) {
        uint8_t r[36], m[ACPI_HEADER_SIZE + 8 + 16];
        make_rsdp(r, 2, 0x1000, 0x2000);
        memset(m, 0, sizeof(m));
        make_table(m, sizeof(m), "MCFG");
        for (int k = 0; k < 1 + rand() % 4; k++) {
            r[rand() % 36] = (uint8_t)rand();
            m[rand() % (int)sizeof(m)] = (uint8_t)rand();
        }
        struct acpi_rsdp out;
        (void)rsdp_on_copy(r, (size_t)(rand() % 37), &out);
        size_t n = (size_t)(rand() % (int)(sizeof(m) + 1));
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, m, n);
        struct acpi_table t;
        struct acpi_mcfg_entry a;
        if (acpi_table_check(c, n, NULL, &t) == NULL) {
            for (unsigned i = 0; i <= acpi_mcfg_count(&t); i++)
                (void)acpi_mcfg_entry(&t, i, &a);
        }
        free(c);
    }
    CHECK(1);
}

TEST_MAIN(TEST(test_rsdp_good), TEST(test_rsdp_bad), TEST(test_rsdp_find),
          TEST(test_xsdt_and_rsdt), TEST(test_table_bad), TEST(test_mcfg),
          TEST(test_random_damage), TEST(test_madt_ioapics),
          TEST(test_madt_lapics))
