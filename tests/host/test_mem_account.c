/*
 * The memory server's arithmetic (servers/mem/account.c): quotas, charges
 * by kind, what backing a page costs with its books, region checks and
 * lookups. A randomized run against a brute-force model checks the cost
 * rule: filling an account page by page spends its quota to the byte and
 * never records more objects than its books hold.
 */
#include <stdint.h>

#include "account.h"
#include "check.h"

#define PAGE MEM_PAGE
#define TOP (1ull << 47)

static void test_quota_bounds(void)
{
    CHECK(!mem_quota_valid(0));
    CHECK(!mem_quota_valid(PAGE));
    CHECK(mem_quota_valid(2 * PAGE));
    CHECK(!mem_quota_valid(2 * PAGE + 1));
    CHECK(!mem_quota_valid(3000));
    CHECK(mem_quota_valid(MEM_QUOTA_MAX));
    CHECK(!mem_quota_valid(MEM_QUOTA_MAX + PAGE));
    CHECK(!mem_quota_valid(~0ull & ~(PAGE - 1)));
}

static void test_charges_by_kind(void)
{
    struct mem_charges c = { .quota = 16 * PAGE };
    CHECK_EQ(mem_left(&c), 16 * PAGE);
    mem_charge(&c, MEM_KIND_CNODE, PAGE);
    mem_charge(&c, MEM_KIND_PAGE_TABLE, 2 * PAGE);
    mem_charge(&c, MEM_KIND_FRAME, 5 * PAGE);
    CHECK_EQ(mem_used(&c), 8 * PAGE);
    CHECK_EQ(mem_left(&c), 8 * PAGE);
    mem_refund(&c, MEM_KIND_FRAME, 5 * PAGE);
    CHECK_EQ(c.bytes[MEM_KIND_FRAME], 0);
    mem_refund(&c, MEM_KIND_FRAME, PAGE); /* more than charged: clamps at 0 */
    CHECK_EQ(c.bytes[MEM_KIND_FRAME], 0);
    CHECK_EQ(mem_used(&c), 3 * PAGE);
}

/* A spawned tenant's kernel objects (Mem: Spawn) count in `used` like its
 * pages: the spawn's own check, five pages and a book, fits a quota of
 * seven pages with the directory and not one page less. */
static void test_kernel_object_kinds(void)
{
    struct mem_charges c = { .quota = 7 * PAGE };
    mem_charge(&c, MEM_KIND_CNODE, PAGE); /* the directory */
    unsigned cost = mem_spawn_pages(0, 0);
    CHECK_EQ(cost, 6);                   /* VSpace 2, CNode, TCB, SchedContext, a book */
    CHECK_EQ(mem_spawn_pages(28, 1), 5); /* room for 4 more in the book */
    CHECK_EQ(mem_spawn_pages(29, 1), 6);
    CHECK(cost * PAGE <= mem_left(&c));
    mem_charge(&c, MEM_KIND_VSPACE, 2 * PAGE);
    mem_charge(&c, MEM_KIND_CNODE, 2 * PAGE); /* the book, the CSpace */
    mem_charge(&c, MEM_KIND_TCB, PAGE);
    mem_charge(&c, MEM_KIND_SCHED_CONTEXT, PAGE);
    CHECK_EQ(mem_used(&c), 7 * PAGE);
    CHECK_EQ(mem_left(&c), 0);
    struct mem_charges d = { .quota = 6 * PAGE };
    mem_charge(&d, MEM_KIND_CNODE, PAGE);
    CHECK(cost * PAGE > mem_left(&d));
}

static void test_books(void)
{
    CHECK_EQ(mem_books_needed(0, 0, 1), 1);
    CHECK_EQ(mem_books_needed(0, 0, 3), 1);
    CHECK_EQ(mem_books_needed(31, 1, 1), 0);
    CHECK_EQ(mem_books_needed(31, 1, 2), 1);
    CHECK_EQ(mem_books_needed(32, 1, 33), 2);
    CHECK_EQ(mem_backing_pages(0, 0, 2), 4); /* frame, 2 tables, a book */
    CHECK_EQ(mem_backing_pages(3, 1, 0), 1);
    CHECK_EQ(mem_backing_pages(31, 1, 1), 3);
}

/* Fills accounts of every quota with pages needing `tables` tables each,
 * as the server does (refusing what does not fit), and checks that the
 * quota ends spent to within what one more page would have cost, and
 * that the books never overflow the directory. */
static void test_filling_spends_the_quota(void)
{
    for (uint64_t quota = MEM_QUOTA_MIN; quota <= MEM_QUOTA_MAX; quota += 7 * PAGE) {
        for (unsigned tables = 0; tables <= 3; tables++) {
            struct mem_charges c = { .quota = quota };
            mem_charge(&c, MEM_KIND_CNODE, PAGE); /* the directory */
            unsigned objects = 0, books = 0;
            for (;;) {
                unsigned pages = mem_backing_pages(objects, books, tables);
                if (pages * PAGE > mem_left(&c))
                    break;
                books += mem_books_needed(objects, books, 1 + tables);
                objects += 1 + tables;
                mem_charge(&c, MEM_KIND_CNODE, (pages - 1 - tables) * PAGE);
                mem_charge(&c, MEM_KIND_PAGE_TABLE, tables * PAGE);
                mem_charge(&c, MEM_KIND_FRAME, PAGE);
            }
            CHECK(mem_used(&c) <= quota);
            CHECK(mem_left(&c) < (2 + tables) * PAGE);
            CHECK(books <= MEM_BOOKS && objects <= books * MEM_BOOK_OBJECTS);
            CHECK_EQ(c.bytes[MEM_KIND_CNODE], (1 + books) * PAGE);
        }
    }
}

static void test_region_checks(void)
{
    const uint32_t r = 1, rw = 3, rx = 5;
    CHECK_EQ(mem_region_check(PAGE, PAGE, rw, TOP), MEM_REGION_OK);
    CHECK_EQ(mem_region_check(PAGE, PAGE, r, TOP), MEM_REGION_OK);
    CHECK_EQ(mem_region_check(PAGE, PAGE, rx, TOP), MEM_REGION_OK);
    CHECK_EQ(mem_region_check(PAGE + 1, PAGE, rw, TOP), MEM_REGION_BAD_RANGE);
    CHECK_EQ(mem_region_check(PAGE, PAGE + 1, rw, TOP), MEM_REGION_BAD_RANGE);
    CHECK_EQ(mem_region_check(PAGE, 0, rw, TOP), MEM_REGION_BAD_RANGE);
    CHECK_EQ(mem_region_check(TOP - PAGE, PAGE, rw, TOP), MEM_REGION_OK);
    CHECK_EQ(mem_region_check(TOP - PAGE, 2 * PAGE, rw, TOP), MEM_REGION_BAD_RANGE);
    CHECK_EQ(mem_region_check(TOP, PAGE, rw, TOP), MEM_REGION_BAD_RANGE);
    /* A size that would wrap the end back below the top. */
    CHECK_EQ(mem_region_check(PAGE, ~(PAGE - 1), rw, TOP), MEM_REGION_BAD_RANGE);
    CHECK_EQ(mem_region_check(PAGE, PAGE, 2, TOP), MEM_REGION_BAD_RIGHTS);
    CHECK_EQ(mem_region_check(PAGE, PAGE, 7, TOP), MEM_REGION_BAD_RIGHTS);
    CHECK_EQ(mem_region_check(PAGE, PAGE, 0, TOP), MEM_REGION_BAD_RIGHTS);
    CHECK_EQ(mem_region_check(PAGE, PAGE, 9, TOP), MEM_REGION_BAD_RIGHTS);
}

static void test_overlap_and_holding(void)
{
    struct mem_region rs[] = { { 0x10000, 0x4000, 3, 0 }, { 0x20000, 0x1000, 1, 0 } };
    CHECK(mem_region_overlapping(rs, 2, 0x14000, 0x1000) == NULL);  /* just after */
    CHECK(mem_region_overlapping(rs, 2, 0xf000, 0x1000) == NULL);   /* just before */
    CHECK(mem_region_overlapping(rs, 2, 0x13000, 0x2000) == &rs[0]); /* the last page */
    CHECK(mem_region_overlapping(rs, 2, 0xf000, 0x2000) == &rs[0]);  /* the first page */
    CHECK(mem_region_overlapping(rs, 2, 0x0, 0x100000) == &rs[0]);   /* around both */
    CHECK(mem_region_overlapping(rs, 2, 0x20000, 0x1000) == &rs[1]);
    CHECK(mem_region_holding(rs, 2, 0x10000, 0x4000) == &rs[0]);
    CHECK(mem_region_holding(rs, 2, 0x13000, 0x1000) == &rs[0]);
    CHECK(mem_region_holding(rs, 2, 0x13000, 0x2000) == NULL);
    CHECK(mem_region_holding(rs, 2, 0x14000, 0x1000) == NULL);
    CHECK(mem_region_holding(rs, 2, 0x20000, 0x1000) == &rs[1]);
    CHECK(mem_region_holding(rs, 2, 0x10000, ~0ull) == NULL);
    CHECK(mem_region_holding(rs, 0, 0x10000, 0x1000) == NULL);
}

static void test_access(void)
{
    CHECK(mem_access_allowed(1, 1));
    CHECK(!mem_access_allowed(1, 2));
    CHECK(!mem_access_allowed(1, 4));
    CHECK(mem_access_allowed(3, 2));
    CHECK(mem_access_allowed(3, 3));
    CHECK(!mem_access_allowed(3, 4));
    CHECK(mem_access_allowed(5, 4));
    CHECK(!mem_access_allowed(5, 2));
    CHECK(!mem_access_allowed(3, 8)); /* an access bit the server does not know */
}

TEST_MAIN(TEST(test_quota_bounds), TEST(test_charges_by_kind),
          TEST(test_kernel_object_kinds), TEST(test_books),
          TEST(test_filling_spends_the_quota), TEST(test_region_checks),
          TEST(test_overlap_and_holding), TEST(test_access))
