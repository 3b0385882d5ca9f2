/* Host tests of the boot memory map (kernel/boot/memmap.c). */
#include "boot/memmap.h"
#include "check.h"

/* Checks the invariant: page aligned, non-empty, sorted, disjoint, not touching. */
static int invariant_ok(const struct memmap *m)
{
    for (unsigned i = 0; i < m->count; i++) {
        const struct phys_region *r = &m->ranges[i];
        if (r->size == 0 || r->base % MEMMAP_PAGE || r->size % MEMMAP_PAGE)
            return 0;
        if (i && m->ranges[i - 1].base + m->ranges[i - 1].size >= r->base)
            return 0;
    }
    return 1;
}

static void test_add_aligns_inward_and_merges(void)
{
    struct memmap m;
    memmap_init(&m);
    CHECK(memmap_add(&m, 0x1001, 0x3000)); /* -> [0x2000, 0x4000) */
    CHECK_EQ(m.count, 1);
    CHECK_EQ(m.ranges[0].base, 0x2000);
    CHECK_EQ(m.ranges[0].size, 0x2000);
    CHECK(memmap_add(&m, 0x8000, 0x1000));
    CHECK(memmap_add(&m, 0x4000, 0x4000)); /* bridges both */
    CHECK_EQ(m.count, 1);
    CHECK_EQ(m.ranges[0].size, 0x7000);
    CHECK(memmap_add(&m, 0x100, 0x200)); /* smaller than a page: ignored */
    CHECK_EQ(m.count, 1);
    CHECK(invariant_ok(&m));
}

static void test_add_overlapping_out_of_order(void)
{
    struct memmap m;
    memmap_init(&m);
    CHECK(memmap_add(&m, 0x100000, 0x100000));
    CHECK(memmap_add(&m, 0x10000, 0x1000));
    CHECK(memmap_add(&m, 0x180000, 0x200000));
    CHECK_EQ(m.count, 2);
    CHECK_EQ(m.ranges[1].base, 0x100000);
    CHECK_EQ(m.ranges[1].size, 0x280000);
    CHECK(invariant_ok(&m));
}

static void test_remove_splits_and_grows_outward(void)
{
    struct memmap m;
    memmap_init(&m);
    CHECK(memmap_add(&m, 0, 0x10000));
    CHECK(memmap_remove(&m, 0x3010, 0x10)); /* removes page 0x3000 */
    CHECK_EQ(m.count, 2);
    CHECK_EQ(m.ranges[0].size, 0x3000);
    CHECK_EQ(m.ranges[1].base, 0x4000);
    CHECK_EQ(memmap_total(&m), 0xf000);
    CHECK(memmap_remove(&m, 0x0, 0x100000)); /* everything */
    CHECK_EQ(m.count, 0);
}

static void test_remove_across_ranges_and_huge(void)
{
    struct memmap m;
    memmap_init(&m);
    CHECK(memmap_add(&m, 0x1000, 0x1000));
    CHECK(memmap_add(&m, 0x5000, 0x5000));
    CHECK(memmap_add(&m, 0x20000, 0x1000));
    CHECK(memmap_remove(&m, 0x1800, 0x6000)); /* [0x1000, 0x8000) */
    CHECK_EQ(m.count, 2);
    CHECK_EQ(m.ranges[0].base, 0x8000);
    CHECK(memmap_remove(&m, 0x10000, ~0ull)); /* wraps: clamps to the top */
    CHECK_EQ(m.count, 1);
    CHECK(invariant_ok(&m));
}

static void test_alloc_respects_minimum(void)
{
    struct memmap m;
    memmap_init(&m);
    CHECK(memmap_add(&m, 0x1000, 0x2000));
    CHECK(memmap_add(&m, 0x100000, 0x3000));
    CHECK_EQ(memmap_alloc_page(&m, 0x100000), 0x100000);
    CHECK_EQ(memmap_alloc_page(&m, 0x101800), 0x102000); /* carved from the middle */
    CHECK_EQ(memmap_alloc_page(&m, 0), 0x1000);
    CHECK_EQ(memmap_total(&m), 0x2000);
    CHECK(invariant_ok(&m));
    CHECK_EQ(memmap_alloc_page(&m, 0x200000), 0); /* nothing that high */
}

static void test_alloc_until_empty(void)
{
    struct memmap m;
    memmap_init(&m);
    CHECK(memmap_add(&m, 0x1000, 0x3000));
    unsigned n = 0;
    while (memmap_alloc_page(&m, 0))
        n++;
    CHECK_EQ(n, 3);
    CHECK_EQ(m.count, 0);
}

static void test_table_full(void)
{
    struct memmap m;
    memmap_init(&m);
    for (unsigned i = 0; i < MEMMAP_MAX_RANGES; i++)
        CHECK(memmap_add(&m, (uint64_t)i * 0x10000, 0x1000));
    CHECK(!memmap_add(&m, 0x10000000, 0x1000));
    CHECK_EQ(m.count, MEMMAP_MAX_RANGES);
    CHECK(memmap_add(&m, 0x0, 0x10000 + 0x1000)); /* merging needs no slot */
    CHECK(invariant_ok(&m));
}

static void test_alloc_aligned(void)
{
    struct memmap m;
    memmap_init(&m);
    CHECK(memmap_add(&m, 0x1000, 0x3000));   /* too small for 16 KiB aligned */
    CHECK(memmap_add(&m, 0x11000, 0x20000)); /* holds [0x14000, 0x18000) */
    CHECK_EQ(memmap_alloc_aligned(&m, 14, 0), 0x14000);
    CHECK_EQ(memmap_total(&m), 0x3000 + 0x20000 - 0x4000);
    CHECK_EQ(memmap_alloc_aligned(&m, 14, 0x20000), 0x20000);
    CHECK_EQ(memmap_alloc_aligned(&m, 20, 0), 0); /* 1 MiB: nowhere */
    CHECK(invariant_ok(&m));
}

TEST_MAIN(TEST(test_alloc_aligned), TEST(test_add_aligns_inward_and_merges), TEST(test_add_overlapping_out_of_order),
          TEST(test_remove_splits_and_grows_outward), TEST(test_remove_across_ranges_and_huge),
          TEST(test_alloc_respects_minimum), TEST(test_alloc_until_empty), TEST(test_table_full))
