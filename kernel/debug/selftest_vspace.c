/*
 * Self-test of the paging-structure hooks (kernel/arch.h, "Paging-structure
 * objects"), run at boot with "bulkhead.selftest=vspace". Arch-neutral: it
 * builds a fresh address space out of zeroed pages from the boot memory map
 * exactly as a user-level pager will through PageTable and Frame objects,
 * and checks every answer through arch_vspace_translate(). The space is
 * never entered (that needs user mode); memory is written through the
 * physmap and read back at the physical address the translation gives.
 *
 * Layout used (user addresses from the second GiB on; on x86-64 one root
 * slot spans 512 GiB, so FAR_VA shares the PDPT and needs only a PD):
 *   SMALL_VA  a 4 KiB page            LARGE_VA  a 2 MiB page, same GiB
 *   FAR_VA    the next GiB, no tables
 *   BOOT_VA   arch_vspace_map()'s page, under the next root slot
 */
#include "selftest.h"

#include "arch.h"
#include "kernel.h"

#define SMALL_VA 0x40201000ul
#define LARGE_VA 0x40400000ul
#define FAR_VA 0x80000000ul
#define ROOT_SLOT_SIZE (1ul << (12 + 9 * ARCH_PT_LEVELS)) /* what a root entry maps */
#define BOOT_VA (ALIGN_DOWN(SMALL_VA, ROOT_SLOT_SIZE) + ROOT_SLOT_SIZE + 0x3000)
#define SMALL_SIZE_BITS 12u
#define LARGE_SIZE (1ul << ARCH_LARGE_PAGE_BITS)
#define PATTERN 0x5eb0a1d5c0ffee42ull

struct vspace_test {
    struct memmap *mem;
    arch_vspace_t vs;
    paddr_t root;
    paddr_t tables[ARCH_PT_LEVELS + 1]; /* tables[level] covers SMALL_VA */
    paddr_t small_frame;
    paddr_t large_frame;
    paddr_t boot_page; /* mapped at BOOT_VA by arch_vspace_map() */
    unsigned passed, failed;
};

/* ---- Reporting ------------------------------------------------------------ */

/* Prints one line, "selftest vspace: ok: <what>" or "... FAILED: <what>". */
static void __attribute__((format(printf, 3, 4)))
check(struct vspace_test *t, bool ok, const char *what, ...)
{
    va_list ap;
    va_start(ap, what);
    kprintf("selftest vspace: %s: ", ok ? "ok" : "FAILED");
    kvprintf(what, ap);
    kprintf("\n");
    va_end(ap);
    if (ok)
        t->passed++;
    else
        t->failed++;
}

static const char *result_name(enum arch_map_result r)
{
    switch (r) {
    case ARCH_MAP_OK: return "OK";
    case ARCH_MAP_BAD_ADDRESS: return "BAD_ADDRESS";
    case ARCH_MAP_MISSING_TABLE: return "MISSING_TABLE";
    case ARCH_MAP_ALREADY_MAPPED: return "ALREADY_MAPPED";
    }
    return "?";
}

/* Checks a map result (and, for MISSING_TABLE, the level) against what
 * was expected; prints what came back when it differs. */
static void check_result(struct vspace_test *t, const char *what, enum arch_map_result got,
                         enum arch_map_result want, unsigned got_level, unsigned want_level)
{
    bool ok = got == want && (want != ARCH_MAP_MISSING_TABLE || got_level == want_level);
    if (!ok)
        kprintf("selftest vspace:   got %s (level %u), expected %s (level %u)\n",
                result_name(got), got_level, result_name(want), want_level);
    check(t, ok, "%s", what);
}

/* True if `va` translates to `pa` with exactly `rights`. */
static bool maps(const struct vspace_test *t, vaddr_t va, paddr_t pa, unsigned rights)
{
    paddr_t got_pa;
    unsigned got_rights;
    if (!arch_vspace_translate(&t->vs, va, &got_pa, &got_rights))
        return false;
    return got_pa == pa && got_rights == rights;
}

static bool unmapped(const struct vspace_test *t, vaddr_t va)
{
    paddr_t pa;
    unsigned rights;
    return !arch_vspace_translate(&t->vs, va, &pa, &rights);
}

/* ---- Memory ------------------------------------------------------------------ */

static paddr_t zeroed_page(struct vspace_test *t)
{
    paddr_t pa = memmap_alloc_page(t->mem, 0);
    if (pa == 0)
        panic("selftest vspace: out of memory");
    memset(arch_phys_to_virt(pa), 0, ARCH_PAGE_SIZE);
    return pa;
}

/* An allocator for arch_vspace_map(). */
static paddr_t alloc_table(void *ctx)
{
    return zeroed_page(ctx);
}

/* A 2 MiB-aligned run of free RAM, taken out of the memory map. */
static paddr_t large_frame(struct memmap *mem)
{
    for (unsigned i = 0; i < mem->count; i++) {
        const struct phys_region *r = &mem->ranges[i];
        paddr_t base = ALIGN_UP(r->base, (paddr_t)LARGE_SIZE);
        if (base >= r->base && base - r->base <= r->size &&
            r->size - (base - r->base) >= LARGE_SIZE && memmap_remove(mem, base, LARGE_SIZE))
            return base;
    }
    panic("selftest vspace: no free 2 MiB-aligned run of RAM");
}

static enum arch_map_result map_small(struct vspace_test *t, vaddr_t va, unsigned rights,
                                      unsigned *level)
{
    *level = 0;
    return arch_vspace_map_frame(&t->vs, va, t->small_frame, SMALL_SIZE_BITS, rights, false,
                                 level);
}

/* ---- The checks, in order ---------------------------------------------------- */

static void test_tables(struct vspace_test *t)
{
    unsigned level = 0;
    enum arch_map_result r = map_small(t, SMALL_VA, VM_READ | VM_WRITE, &level);
    check_result(t, "4 KiB frame without tables: MISSING_TABLE at level ARCH_PT_LEVELS", r,
                 ARCH_MAP_MISSING_TABLE, level, ARCH_PT_LEVELS);
    for (unsigned want = ARCH_PT_LEVELS; want >= 1; want--) {
        paddr_t table = zeroed_page(t);
        level = 0;
        r = arch_vspace_map_table(&t->vs, SMALL_VA, table, &level);
        check(t, r == ARCH_MAP_OK && level == want,
              "table %u maps: %s at level %u (expected OK at level %u)",
              ARCH_PT_LEVELS + 1 - want, result_name(r), level, want);
        t->tables[want] = table;
    }
    r = arch_vspace_map_table(&t->vs, SMALL_VA, zeroed_page(t), &level);
    check_result(t, "one table more: ALREADY_MAPPED", r, ARCH_MAP_ALREADY_MAPPED, 0, 0);
}

static void test_small_frame(struct vspace_test *t)
{
    unsigned level;
    enum arch_map_result r = map_small(t, SMALL_VA, VM_READ | VM_WRITE, &level);
    check_result(t, "4 KiB frame maps", r, ARCH_MAP_OK, level, 0);
    check(t, maps(t, SMALL_VA + 0x123, t->small_frame + 0x123, VM_READ | VM_WRITE),
          "translate sees its physical address and rights RW");
    r = map_small(t, SMALL_VA, VM_READ, &level);
    check_result(t, "second frame at the same va: ALREADY_MAPPED", r, ARCH_MAP_ALREADY_MAPPED,
                 level, 0);

    /* Write through the physmap, read back where the translation points. */
    volatile uint64_t *w = arch_phys_to_virt(t->small_frame + 0x840);
    *w = PATTERN;
    paddr_t pa;
    unsigned rights;
    bool ok = arch_vspace_translate(&t->vs, SMALL_VA + 0x840, &pa, &rights) &&
              *(volatile uint64_t *)arch_phys_to_virt(pa) == PATTERN;
    check(t, ok, "a word written through the physmap reads back through the translation");
}

static void test_remap_unmap(struct vspace_test *t)
{
    paddr_t other = t->small_frame + ARCH_PAGE_SIZE;
    check(t, arch_vspace_remap_frame(&t->vs, SMALL_VA, t->small_frame, SMALL_SIZE_BITS, VM_READ),
          "remap to read-only succeeds");
    check(t, maps(t, SMALL_VA, t->small_frame, VM_READ), "translate sees read-only");
    check(t, !arch_vspace_remap_frame(&t->vs, SMALL_VA, other, SMALL_SIZE_BITS, VM_READ) &&
                 !arch_vspace_remap_frame(&t->vs, SMALL_VA, t->small_frame,
                                          ARCH_LARGE_PAGE_BITS, VM_READ),
          "remap with the wrong pa or size is refused");
    arch_vspace_unmap_frame(&t->vs, SMALL_VA, other, SMALL_SIZE_BITS);
    arch_vspace_unmap_frame(&t->vs, SMALL_VA, t->small_frame, ARCH_LARGE_PAGE_BITS);
    check(t, maps(t, SMALL_VA, t->small_frame, VM_READ),
          "unmap with the wrong pa or size leaves the mapping");
    arch_vspace_unmap_frame(&t->vs, SMALL_VA, t->small_frame, SMALL_SIZE_BITS);
    check(t, unmapped(t, SMALL_VA), "unmap with the right pa removes it");
    unsigned level;
    enum arch_map_result r = map_small(t, SMALL_VA, VM_READ | VM_EXEC, &level);
    check_result(t, "the same va maps again (RX)", r, ARCH_MAP_OK, level, 0);
    check(t, maps(t, SMALL_VA, t->small_frame, VM_READ | VM_EXEC), "translate sees RX");
}

static void test_large_frame(struct vspace_test *t)
{
    unsigned level = 0;
    enum arch_map_result r = arch_vspace_map_frame(&t->vs, LARGE_VA, t->large_frame,
                                                   ARCH_LARGE_PAGE_BITS, VM_READ | VM_WRITE,
                                                   false, &level);
    check_result(t, "2 MiB frame maps at level 2", r, ARCH_MAP_OK, level, 0);
    vaddr_t off = LARGE_SIZE - ARCH_PAGE_SIZE + 0x10;
    check(t, maps(t, LARGE_VA + off, t->large_frame + off, VM_READ | VM_WRITE),
          "translate sees an offset inside the 2 MiB frame");
    *(volatile uint64_t *)arch_phys_to_virt(t->large_frame + off) = ~PATTERN;
    paddr_t pa;
    unsigned rights;
    bool ok = arch_vspace_translate(&t->vs, LARGE_VA + off, &pa, &rights) &&
              *(volatile uint64_t *)arch_phys_to_virt(pa) == ~PATTERN;
    check(t, ok, "a word written inside it reads back through the translation");

    r = arch_vspace_map_frame(&t->vs, LARGE_VA + ARCH_PAGE_SIZE, t->small_frame,
                              SMALL_SIZE_BITS, VM_READ, false, &level);
    check_result(t, "4 KiB frame inside the 2 MiB one: ALREADY_MAPPED", r,
                 ARCH_MAP_ALREADY_MAPPED, level, 0);
    r = arch_vspace_map_table(&t->vs, LARGE_VA, zeroed_page(t), &level);
    check_result(t, "table inside the 2 MiB frame: ALREADY_MAPPED", r,
                 ARCH_MAP_ALREADY_MAPPED, level, 0);
    r = arch_vspace_map_frame(&t->vs, ALIGN_DOWN(SMALL_VA, LARGE_SIZE), t->large_frame,
                              ARCH_LARGE_PAGE_BITS, VM_READ, false, &level);
    check_result(t, "2 MiB frame over a level-1 table: ALREADY_MAPPED", r,
                 ARCH_MAP_ALREADY_MAPPED, level, 0);
    r = arch_vspace_map_frame(&t->vs, FAR_VA, t->large_frame, ARCH_LARGE_PAGE_BITS, VM_READ,
                              false, &level);
    check_result(t, "2 MiB frame in a GiB without tables: MISSING_TABLE at level 2", r,
                 ARCH_MAP_MISSING_TABLE, level, 2);

    arch_vspace_unmap_frame(&t->vs, LARGE_VA, t->large_frame, SMALL_SIZE_BITS);
    check(t, maps(t, LARGE_VA, t->large_frame, VM_READ | VM_WRITE),
          "unmap of the 2 MiB frame as 4 KiB leaves it");
    check(t, arch_vspace_remap_frame(&t->vs, LARGE_VA, t->large_frame, ARCH_LARGE_PAGE_BITS,
                                     VM_READ) &&
                 maps(t, LARGE_VA + off, t->large_frame + off, VM_READ),
          "remap of the 2 MiB frame to read-only");
}

static void check_bad(struct vspace_test *t, const char *what, vaddr_t va, paddr_t pa,
                      unsigned size_bits)
{
    unsigned level = 0;
    enum arch_map_result r =
        arch_vspace_map_frame(&t->vs, va, pa, size_bits, VM_READ, false, &level);
    check_result(t, what, r, ARCH_MAP_BAD_ADDRESS, level, 0);
}

static void test_bad_addresses(struct vspace_test *t)
{
    vaddr_t kernel_va = (vaddr_t)arch_phys_to_virt(t->small_frame);
    check_bad(t, "misaligned 4 KiB va: BAD_ADDRESS", SMALL_VA + 8, t->small_frame,
              SMALL_SIZE_BITS);
    check_bad(t, "2 MiB frame at a 4 KiB-aligned va: BAD_ADDRESS", LARGE_VA + LARGE_SIZE +
              ARCH_PAGE_SIZE, t->large_frame, ARCH_LARGE_PAGE_BITS);
    check_bad(t, "2 MiB frame at a 4 KiB-aligned pa: BAD_ADDRESS", LARGE_VA + LARGE_SIZE,
              t->large_frame + ARCH_PAGE_SIZE, ARCH_LARGE_PAGE_BITS);
    check_bad(t, "kernel va: BAD_ADDRESS", ALIGN_DOWN(kernel_va, (vaddr_t)ARCH_PAGE_SIZE),
              t->small_frame, SMALL_SIZE_BITS);
    check_bad(t, "va = ARCH_USER_VADDR_MAX: BAD_ADDRESS", (vaddr_t)ARCH_USER_VADDR_MAX,
              t->small_frame, SMALL_SIZE_BITS);
    check_bad(t, "unsupported size (1 GiB): BAD_ADDRESS", 0, 0, 30);
    unsigned level = 0;
    enum arch_map_result r = arch_vspace_map_table(&t->vs, (vaddr_t)ARCH_USER_VADDR_MAX,
                                                   zeroed_page(t), &level);
    check_result(t, "table above the user half: BAD_ADDRESS", r, ARCH_MAP_BAD_ADDRESS, level, 0);
}

/* arch_vspace_map(), the boot-time hook, shares the space. */
static void test_boot_map(struct vspace_test *t)
{
    paddr_t page = t->boot_page = zeroed_page(t);
    check(t, arch_vspace_map(&t->vs, BOOT_VA, page, VM_READ | VM_WRITE, alloc_table, t) &&
                 maps(t, BOOT_VA, page, VM_READ | VM_WRITE),
          "arch_vspace_map() with an allocator maps beside them");
    check(t, !arch_vspace_map(&t->vs, BOOT_VA, page, VM_READ, alloc_table, t),
          "arch_vspace_map() refuses a mapped va");
}

static void test_unmap_tables(struct vspace_test *t)
{
    arch_vspace_unmap_table(&t->vs, SMALL_VA, 1, t->tables[2]);
    check(t, maps(t, SMALL_VA, t->small_frame, VM_READ | VM_EXEC),
          "unmap_table with the wrong table leaves it");
    arch_vspace_unmap_table(&t->vs, SMALL_VA, 1, t->tables[1]);
    unsigned level;
    enum arch_map_result r = map_small(t, SMALL_VA, VM_READ, &level);
    check(t, unmapped(t, SMALL_VA) && r == ARCH_MAP_MISSING_TABLE && level == 1,
          "unmap_table of level 1 removes its pages; MISSING_TABLE at level 1 again");
    check(t, maps(t, LARGE_VA, t->large_frame, VM_READ),
          "the 2 MiB frame beside it stays");
    arch_vspace_unmap_table(&t->vs, SMALL_VA, ARCH_PT_LEVELS, t->tables[ARCH_PT_LEVELS]);
    r = map_small(t, SMALL_VA, VM_READ, &level);
    check(t, unmapped(t, LARGE_VA) && unmapped(t, LARGE_VA + LARGE_SIZE - 1) &&
                 r == ARCH_MAP_MISSING_TABLE && level == ARCH_PT_LEVELS,
          "unmap_table of level ARCH_PT_LEVELS removes everything below it");
    check(t, maps(t, BOOT_VA, t->boot_page, VM_READ | VM_WRITE),
          "the mapping under the next root slot stays");
}

static void test_destroy_reinit(struct vspace_test *t)
{
    arch_vspace_destroy(&t->vs);
    memset(arch_phys_to_virt(t->root), 0, ARCH_PAGE_SIZE);
    check(t, arch_vspace_init(&t->vs, t->root), "destroy, then init on the same root page");
    check(t, unmapped(t, BOOT_VA) && unmapped(t, SMALL_VA), "the new space is empty");
    bool ok = true;
    for (unsigned want = ARCH_PT_LEVELS; want >= 1; want--) {
        unsigned level = 0;
        ok &= arch_vspace_map_table(&t->vs, SMALL_VA, zeroed_page(t), &level) == ARCH_MAP_OK &&
              level == want;
    }
    unsigned level;
    ok &= map_small(t, SMALL_VA, VM_READ, &level) == ARCH_MAP_OK &&
          maps(t, SMALL_VA, t->small_frame, VM_READ);
    check(t, ok, "tables and a frame map in it again");
    arch_vspace_destroy(&t->vs);
}

void selftest_vspace(struct memmap *mem)
{
    static struct vspace_test test;
    struct vspace_test *t = &test;
    t->mem = mem;
    kprintf("selftest vspace: %u levels below the root, large pages of %lu KiB\n",
            (unsigned)ARCH_PT_LEVELS, LARGE_SIZE >> 10);
    t->root = zeroed_page(t);
    t->small_frame = zeroed_page(t); /* the page after it is the "wrong pa": never mapped */
    t->large_frame = large_frame(mem);
    check(t, arch_vspace_init(&t->vs, t->root), "arch_vspace_init on a zeroed page");
    test_tables(t);
    test_small_frame(t);
    test_remap_unmap(t);
    test_large_frame(t);
    test_bad_addresses(t);
    test_boot_map(t);
    test_unmap_tables(t);
    test_destroy_reinit(t);
    kprintf("selftest vspace: %u passed, %u failed\n", t->passed, t->failed);
    kernel_shutdown(t->failed ? KERNEL_EXIT_FAIL : KERNEL_EXIT_PASS, "selftest vspace done");
}
