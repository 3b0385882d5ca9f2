/*
 * Host tests of the DMAR reader (kernel/parse/dmar.c): a table laid out as
 * QEMU's q35 with `-device intel-iommu` makes it (one unit that includes
 * every PCI device, with the I/O APIC in its scope), plus an RMRR and an
 * ATSR; then one damaged copy per rule of acpi_dmar_check(), each giving
 * its sentence. Tables are exact heap copies, so ASan catches any read
 * past the Length the header check accepted.
 */
#include "bk_dmar.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2); /* the host is little-endian, like ACPI */
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static void seal(uint8_t *t, uint32_t len)
{
    memcpy(t, "DMAR", 4);
    memcpy(t + 4, &len, 4);
    t[9] = 0;
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + t[i]);
    t[9] = (uint8_t)-s;
}

/* Offsets of the good table's parts, for the damage below. */
enum {
    DRHD_AT = 48,       /* 16 fixed bytes + an IOAPIC scope of 8 */
    DRHD_LEN = 24,
    RMRR_AT = DRHD_AT + DRHD_LEN, /* 24 fixed bytes + an endpoint scope of 8 */
    RMRR_LEN = 32,
    ATSR_AT = RMRR_AT + RMRR_LEN, /* 8 bytes, walked over */
    GOOD_LEN = ATSR_AT + 8,
};

static void make_good(uint8_t t[GOOD_LEN])
{
    memset(t, 0, GOOD_LEN);
    t[36] = 38; /* 39-bit host addresses */
    t[37] = 1;  /* INTR_REMAP */
    uint8_t *d = t + DRHD_AT;
    put16(d, 0), put16(d + 2, DRHD_LEN);
    d[4] = 1; /* INCLUDE_PCI_ALL */
    put64(d + 8, 0xfed90000);
    d[16] = 3, d[17] = 8, d[20] = 0, d[21] = 0xff, d[22] = 0, d[23] = 0; /* IOAPIC 0 */
    uint8_t *r = t + RMRR_AT;
    put16(r, 1), put16(r + 2, RMRR_LEN);
    put64(r + 8, 0x7f000000);
    put64(r + 16, 0x7f00ffff);
    r[24] = 1, r[25] = 8, r[29] = 0, r[30] = 0x1d, r[31] = 7; /* 00:1d.7 */
    uint8_t *a = t + ATSR_AT;
    put16(a, 2), put16(a + 2, 8);
    seal(t, GOOD_LEN);
}

/* acpi_dmar_check() on an exact heap copy of `t`'s `len` bytes. */
static const char *check_copy(const uint8_t *t, uint32_t len, struct acpi_dmar *out)
{
    uint8_t *c = malloc(len);
    memcpy(c, t, len);
    struct acpi_table tab;
    const char *err = acpi_table_check(c, len, "DMAR", &tab);
    if (err == NULL)
        err = acpi_dmar_check(&tab, out);
    free(c);
    return err;
}

static bool says(const char *err, const char *words)
{
    return err != NULL && strstr(err, words) != NULL;
}

static void test_qemu_like_table(void)
{
    uint8_t t[GOOD_LEN];
    make_good(t);
    struct acpi_table tab;
    struct acpi_dmar d;
    CHECK(acpi_table_check(t, GOOD_LEN, "DMAR", &tab) == NULL);
    CHECK(acpi_dmar_check(&tab, &d) == NULL);
    CHECK_EQ(d.address_bits, 39);
    CHECK_EQ(d.flags, 1);
    CHECK_EQ(d.units, 1);
    CHECK_EQ(d.rmrrs, 1);

    struct acpi_dmar_unit u;
    CHECK(acpi_dmar_unit(&tab, 0, &u) == NULL);
    CHECK_EQ(u.register_base, 0xfed90000);
    CHECK(u.include_pci_all);
    CHECK_EQ(u.segment, 0);
    CHECK_EQ(u.scope_length, 8);
    CHECK(says(acpi_dmar_unit(&tab, 1, &u), "no such DRHD"));

    struct acpi_dmar_scope s;
    CHECK(acpi_dmar_scope(u.scope, u.scope_length, 0, &s) == NULL);
    CHECK(s.type == ACPI_DMAR_SCOPE_IOAPIC && s.enumeration_id == 0 && s.start_bus == 0xff);
    CHECK(says(acpi_dmar_scope(u.scope, u.scope_length, 1, &s), "no such entry"));

    struct acpi_dmar_rmrr r;
    CHECK(acpi_dmar_rmrr(&tab, 0, &r) == NULL);
    CHECK(r.base == 0x7f000000 && r.limit == 0x7f00ffff);
    CHECK(acpi_dmar_scope(r.scope, r.scope_length, 0, &s) == NULL);
    CHECK(s.type == ACPI_DMAR_SCOPE_PCI_ENDPOINT && s.start_bus == 0 && s.device == 0x1d &&
          s.function == 7 && s.path_count == 1);
    CHECK(says(acpi_dmar_rmrr(&tab, 1, &r), "no such RMRR"));
}

/* Each rule of acpi_dmar_check(), broken once on a good table. */
static void test_bad_tables(void)
{
    uint8_t t[GOOD_LEN];
    struct acpi_dmar d;

    make_good(t);
    seal(t, 44);
    CHECK(says(check_copy(t, 44, &d), "48 fixed bytes"));

    make_good(t);
    t[36] = 20;
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "host address width"));

    make_good(t); /* a structure of length 2 would never advance */
    put16(t + RMRR_AT + 2, 2);
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "below 4 or runs past"));

    make_good(t);
    put16(t + ATSR_AT + 2, 9); /* one byte past the table */
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "below 4 or runs past"));

    make_good(t);
    seal(t, ATSR_AT + 2); /* the ATSR's header cut in half */
    CHECK(says(check_copy(t, ATSR_AT + 2, &d), "header runs past"));

    make_good(t);
    put64(t + DRHD_AT + 8, 0xfed90800);
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "register base is 0 or not 4 KiB"));

    make_good(t);
    put64(t + DRHD_AT + 8, 0);
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "register base is 0"));

    make_good(t); /* a DRHD of 12 bytes, then 12 bytes of padding structure */
    put16(t + DRHD_AT + 2, 12);
    put16(t + DRHD_AT + 12, 3), put16(t + DRHD_AT + 14, 12);
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "shorter than its 16"));

    make_good(t);
    put64(t + RMRR_AT + 16, 0x7f00fffe);
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "RMRR's base or limit"));

    make_good(t);
    put64(t + RMRR_AT + 8, 0x7f010000);
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "limit is below its base"));

    make_good(t);
    t[DRHD_AT + 17] = 9; /* the IOAPIC scope runs past its DRHD */
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "runs past its structure"));

    make_good(t);
    t[RMRR_AT + 25] = 6; /* a scope with no path at all */
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "6 + 2n"));

    make_good(t);
    t[RMRR_AT + 30] = 32;
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "device above 31"));

    make_good(t); /* the DRHD turned into a reserved type: no unit left */
    put16(t + DRHD_AT, 7);
    seal(t, GOOD_LEN);
    CHECK(says(check_copy(t, GOOD_LEN, &d), "no remapping hardware unit"));
}

/* Random damage never reads outside the table, and a table the check
 * accepts answers every index without error past the counts. */
static void test_random_damage(void)
{
    srand(14);
    for (int round = 0; round < 20000; round++) {
        uint8_t t[GOOD_LEN];
        make_good(t);
        for (int k = 0; k < 1 + rand() % 4; k++)
            t[36 + rand() % (GOOD_LEN - 36)] = (uint8_t)rand();
        uint32_t n = 36 + (uint32_t)(rand() % (GOOD_LEN - 35));
        seal(t, n);
        uint8_t *c = malloc(n);
        memcpy(c, t, n);
        struct acpi_table tab;
        struct acpi_dmar d;
        if (acpi_table_check(c, n, "DMAR", &tab) == NULL && acpi_dmar_check(&tab, &d) == NULL) {
            struct acpi_dmar_unit u;
            struct acpi_dmar_scope s;
            for (unsigned i = 0; i < d.units; i++) {
                CHECK(acpi_dmar_unit(&tab, i, &u) == NULL);
                for (unsigned j = 0; acpi_dmar_scope(u.scope, u.scope_length, j, &s) == NULL; j++)
                    CHECK(j < u.scope_length);
            }
            CHECK(acpi_dmar_unit(&tab, d.units, &u) != NULL);
        }
        free(c);
    }
    CHECK(1);
}

TEST_MAIN(TEST(test_qemu_like_table), TEST(test_bad_tables), TEST(test_random_damage))
