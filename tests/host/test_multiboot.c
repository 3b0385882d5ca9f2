/*
 * Host tests of the multiboot v1/v2 parser (arch/x86_64/multiboot.c): good
 * information from both versions, and malformed information that must
 * give a precise error without reading outside the window. Each parse runs
 * on a heap copy of exactly the window's size, so AddressSanitizer catches
 * any read past its end.
 */
#include "check.h"
#include "multiboot.h" /* arch/x86_64/multiboot.h */

#include <stdlib.h>
#include <string.h>

/* Fake physical memory: [MEM_PA, MEM_PA + MEM_SIZE). */
#define MEM_PA 0x10000u
#define MEM_SIZE 0x4000u
static uint8_t mem[MEM_SIZE];

/* Where the builders put things. */
#define INFO_PA 0x10000u   /* v1 info / v2 info */
#define MMAP_PA 0x10400u   /* v1 memory map */
#define MODS_PA 0x10C00u   /* v1 module list */
#define STR_PA 0x11000u    /* v1 strings */

#define MB1_FLAG_MEM (1u << 0)
#define MB1_FLAG_CMDLINE (1u << 2)
#define MB1_FLAG_MODS (1u << 3)
#define MB1_FLAG_MMAP (1u << 6)
#define MB1_FLAG_LOADER (1u << 9)

static struct boot_params bp;
static uint64_t where;

static void put32(uint64_t pa, uint32_t v)
{
    memcpy(&mem[pa - MEM_PA], &v, 4); /* the host is little-endian, like x86 */
}

static void put64(uint64_t pa, uint64_t v)
{
    memcpy(&mem[pa - MEM_PA], &v, 8);
}

static void put_bytes(uint64_t pa, const void *p, size_t n)
{
    memcpy(&mem[pa - MEM_PA], p, n);
}

/* Parses with a window of the first `size` bytes of mem, copied to a heap
 * block of exactly that size. */
static const char *parse_window(uint32_t magic, uint64_t info_pa, uint64_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, mem, size);
    struct multiboot_window w = { copy, MEM_PA, size };
    memset(&bp, 0, sizeof(bp));
    where = 0;
    const char *err = multiboot_parse(magic, info_pa, &w, &bp, &where);
    free(copy);
    return err;
}

static const char *parse(uint32_t magic, uint64_t info_pa)
{
    return parse_window(magic, info_pa, MEM_SIZE);
}

static bool has(const char *err, const char *part)
{
    if (!err) {
        printf("  expected an error containing '%s', got success\n", part);
        return false;
    }
    if (!strstr(err, part)) {
        printf("  expected an error containing '%s', got '%s'\n", part, err);
        return false;
    }
    return true;
}

static bool ok(const char *err)
{
    if (err)
        printf("  unexpected error: %s (at 0x%llx)\n", err, (unsigned long long)where);
    return err == NULL;
}

/* ---- Multiboot v1 builders ---------------------------------------------- */

struct mmap_entry {
    uint64_t base, len;
    uint32_t type;
};

static void mb1_mmap(const struct mmap_entry *e, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t pa = MMAP_PA + 24 * i;
        put32(pa, 20);
        put64(pa + 4, e[i].base);
        put64(pa + 12, e[i].len);
        put32(pa + 20, e[i].type);
    }
    put32(INFO_PA + 44, 24 * n);
    put32(INFO_PA + 48, MMAP_PA);
}

/* A typical QEMU information block: memory map, two modules, command line
 * and loader name. */
static void mb1_build_good(void)
{
    static const struct mmap_entry map[] = {
        { 0, 0x9FC00, 1 },           { 0x9FC00, 0x400, 2 },         { 0xF0000, 0x10000, 2 },
        { 0x100000, 0x1FEE0000, 1 }, { 0x1FFE0000, 0x20000, 2 },    { 0xFFFC0000, 0x40000, 2 },
        { 0x100000000, 0x40000000, 1 },
    };
    memset(mem, 0, sizeof(mem));
    put32(INFO_PA, MB1_FLAG_MEM | MB1_FLAG_CMDLINE | MB1_FLAG_MODS | MB1_FLAG_MMAP |
                       MB1_FLAG_LOADER);
    put32(INFO_PA + 4, 639);
    put32(INFO_PA + 8, 523136);
    mb1_mmap(map, sizeof(map) / sizeof(map[0]));
    put32(INFO_PA + 16, STR_PA);
    put_bytes(STR_PA, "kernel.elf bulkhead.selftest=none", 34);
    put32(INFO_PA + 64, STR_PA + 0x40);
    put_bytes(STR_PA + 0x40, "qemu", 5);
    put32(INFO_PA + 20, 2);
    put32(INFO_PA + 24, MODS_PA);
    put32(MODS_PA + 0, 0x200000);
    put32(MODS_PA + 4, 0x209123);
    put32(MODS_PA + 8, STR_PA + 0x80);
    put_bytes(STR_PA + 0x80, "bootimage.img", 14);
    put32(MODS_PA + 16, 0x20A000); /* an empty module without a string */
    put32(MODS_PA + 20, 0x20A000);
    put32(MODS_PA + 24, 0);
}

/* ---- Multiboot v2 builder ---------------------------------------------- */

static uint64_t mb2_off;

static void mb2_begin(void)
{
    memset(mem, 0, sizeof(mem));
    mb2_off = 8;
}

/* Appends a tag header; returns the tag's physical address. */
static uint64_t mb2_tag(uint32_t type, uint32_t size)
{
    uint64_t pa = INFO_PA + mb2_off;
    put32(pa, type);
    put32(pa + 4, size);
    mb2_off += (size + 7) & ~7u;
    return pa;
}

static uint64_t mb2_string_tag(uint32_t type, const char *s)
{
    uint64_t pa = mb2_tag(type, 8 + (uint32_t)strlen(s) + 1);
    put_bytes(pa + 8, s, strlen(s) + 1);
    return pa;
}

static uint64_t mb2_module(uint32_t start, uint32_t end, const char *s)
{
    uint64_t pa = mb2_tag(3, 16 + (uint32_t)strlen(s) + 1);
    put32(pa + 8, start);
    put32(pa + 12, end);
    put_bytes(pa + 16, s, strlen(s) + 1);
    return pa;
}

static uint64_t mb2_mmap(const struct mmap_entry *e, unsigned n)
{
    uint64_t pa = mb2_tag(6, 16 + 24 * n);
    put32(pa + 8, 24);
    put32(pa + 12, 0);
    for (unsigned i = 0; i < n; i++) {
        put64(pa + 16 + 24 * i, e[i].base);
        put64(pa + 24 + 24 * i, e[i].len);
        put32(pa + 32 + 24 * i, e[i].type);
    }
    return pa;
}

static void mb2_finish(void)
{
    mb2_tag(0, 8);
    put32(INFO_PA, (uint32_t)mb2_off);
}

static void mb2_build_good(void)
{
    static const struct mmap_entry map[] = {
        { 0, 0x9FC00, 1 }, { 0x100000, 0x7FF00000, 1 }, { 0xFEC00000, 0x1000, 2 },
        { 0x100000000, 0x80000000, 1 },
    };
    mb2_begin();
    mb2_string_tag(1, "bulkhead.console=ttyS0");
    mb2_string_tag(2, "GRUB 2.06");
    mb2_module(0x300000, 0x301000, "bootimage");
    mb2_tag(4, 16); /* basic memory info: ignored when a memory map exists */
    mb2_mmap(map, 4);
    mb2_tag(21, 12); /* load base address: not needed, skipped */
    mb2_finish();
}

/* ---- Good information ------------------------------------------------- */

static void test_mb1_good(void)
{
    mb1_build_good();
    CHECK(ok(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA)));
    CHECK_EQ(bp.ram_count, 2);
    CHECK_EQ(bp.ram[0].base, 0x100000);
    CHECK_EQ(bp.ram[0].size, 0x1FEE0000);
    CHECK_EQ(bp.ram[1].base, 0x100000000);
    CHECK_EQ(bp.ram[1].size, 0x40000000);
    CHECK_EQ(bp.module_count, 2);
    CHECK_EQ(bp.modules[0].base, 0x200000);
    CHECK_EQ(bp.modules[0].size, 0x9123);
    CHECK(strcmp(bp.modules[0].name, "bootimage.img") == 0);
    CHECK_EQ(bp.modules[1].size, 0);
    CHECK(strcmp(bp.modules[1].name, "") == 0);
    CHECK_EQ(bp.reserved_count, 1); /* the empty module reserves nothing */
    CHECK_EQ(bp.reserved[0].base, 0x200000);
    CHECK_EQ(bp.reserved[0].size, 0xA000);
    CHECK(strcmp(bp.cmdline, "kernel.elf bulkhead.selftest=none") == 0);
    CHECK(strcmp(bp.loader, "qemu") == 0);
}

static void test_mb1_minimal(void)
{
    /* Only mem_upper: RAM is [1 MiB, 1 MiB + mem_upper KiB); default loader. */
    memset(mem, 0, sizeof(mem));
    put32(INFO_PA, MB1_FLAG_MEM);
    put32(INFO_PA + 8, 64 * 1024);
    CHECK(ok(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA)));
    CHECK_EQ(bp.ram_count, 1);
    CHECK_EQ(bp.ram[0].base, 0x100000);
    CHECK_EQ(bp.ram[0].size, 64ull << 20);
    CHECK_EQ(bp.module_count, 0);
    CHECK(strcmp(bp.loader, "multiboot1") == 0);
    CHECK(strcmp(bp.cmdline, "") == 0);
}

static void test_mb2_good(void)
{
    mb2_build_good();
    CHECK(ok(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA)));
    CHECK_EQ(bp.ram_count, 2);
    CHECK_EQ(bp.ram[0].base, 0x100000);
    CHECK_EQ(bp.ram[0].size, 0x7FF00000);
    CHECK_EQ(bp.ram[1].base, 0x100000000);
    CHECK_EQ(bp.module_count, 1);
    CHECK_EQ(bp.modules[0].base, 0x300000);
    CHECK_EQ(bp.modules[0].size, 0x1000);
    CHECK(strcmp(bp.modules[0].name, "bootimage") == 0);
    CHECK_EQ(bp.reserved_count, 1);
    CHECK(strcmp(bp.cmdline, "bulkhead.console=ttyS0") == 0);
    CHECK(strcmp(bp.loader, "GRUB 2.06") == 0);
}

/* ACPI tags 14 and 15 hold copies of the RSDP: kept as they are (the
 * kernel checks them), the 2.0+ copy winning over the 1.0 one in either
 * order, at most 36 bytes taken from a longer tag. */
static void test_mb2_acpi_tags(void)
{
    for (int order = 0; order < 2; order++) {
        mb2_build_good();
        mb2_off -= 8; /* drop the end tag */
        for (int k = 0; k < 2; k++) {
            bool is_new = (k == 0) == (order == 0);
            uint64_t tag = mb2_tag(is_new ? 15 : 14, is_new ? 8 + 40 : 8 + 20);
            mem[tag + 8 - MEM_PA] = is_new ? 'N' : 'O';
            if (is_new)
                mem[tag + 8 + 35 - MEM_PA] = 0x5a;
        }
        mb2_finish();
        memset(&bp, 0, sizeof(bp));
        CHECK(ok(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA)));
        CHECK_EQ(bp.acpi_rsdp_size, 36);
        CHECK_EQ(bp.acpi_rsdp[0], 'N');
        CHECK_EQ(bp.acpi_rsdp[35], 0x5a);
    }
    mb2_build_good();
    memset(&bp, 0, sizeof(bp));
    CHECK(ok(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA)));
    CHECK_EQ(bp.acpi_rsdp_size, 0);
}

static void test_mb2_meminfo_only(void)
{
    mb2_begin();
    uint64_t tag = mb2_tag(4, 16);
    put32(tag + 8, 639);
    put32(tag + 12, 32 * 1024);
    mb2_finish();
    CHECK(ok(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA)));
    CHECK_EQ(bp.ram_count, 1);
    CHECK_EQ(bp.ram[0].size, 32ull << 20);
    CHECK(strcmp(bp.loader, "multiboot2") == 0);
}

static void test_ram_clip_and_merge(void)
{
    static const struct mmap_entry map[] = {
        { 0x80000, 0x100000, 1 },   /* straddles 1 MiB: [1 MiB, 1.5 MiB) */
        { 0x180000, 0x80000, 1 },   /* adjacent: merged */
        { 0x400800, 0x2000, 1 },    /* unaligned: shrunk to [0x401000, 0x402000) */
        { 0x600000, 0x100000, 1 },  /* A */
        { 0x800000, 0x100000, 1 },  /* C */
        { 0x700000, 0x100000, 1 },  /* B joins A and C into one */
        { 0x650000, 0x10000, 1 },   /* inside A: nothing new */
        { 0x1000800, 0x800, 1 },    /* less than a page once aligned: dropped */
    };
    mb2_begin();
    mb2_mmap(map, sizeof(map) / sizeof(map[0]));
    mb2_finish();
    CHECK(ok(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA)));
    CHECK_EQ(bp.ram_count, 3);
    CHECK_EQ(bp.ram[0].base, 0x100000);
    CHECK_EQ(bp.ram[0].size, 0x100000);
    CHECK_EQ(bp.ram[1].base, 0x401000);
    CHECK_EQ(bp.ram[1].size, 0x1000);
    CHECK_EQ(bp.ram[2].base, 0x600000);
    CHECK_EQ(bp.ram[2].size, 0x300000);
}

/* ---- Malformed information ------------------------------------------------ */

static void test_bad_magic(void)
{
    mb2_build_good();
    CHECK(has(parse(0x12345678, INFO_PA), "unknown boot loader magic"));
}

static void test_truncated(void)
{
    /* v1: the fixed part does not fit in the window. */
    mb1_build_good();
    CHECK(has(parse_window(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA, 40), "outside readable memory"));
    /* v1: the information pointer is below the window. */
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x1000), "outside readable memory"));
    /* v2: total_size is fine but the window ends before it. */
    mb2_build_good();
    uint64_t total = mb2_off;
    CHECK(has(parse_window(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA, total - 8),
              "total_size runs past readable memory"));
    CHECK(ok(parse_window(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA, total)));
    /* v2: not even the 8-byte header fits. */
    CHECK(has(parse_window(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA, 4), "outside readable memory"));
    /* v2: total_size too small to hold an end tag. */
    put32(INFO_PA, 8);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "total_size is below 16"));
}

static void test_mb2_alignment(void)
{
    mb2_build_good();
    memmove(&mem[8], &mem[0], MEM_SIZE - 8);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA + 4), "not 8-byte aligned"));
    CHECK(ok(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA + 8)));
}

static void test_mb2_tag_sizes(void)
{
    /* A tag claiming more bytes than total_size leaves. */
    mb2_begin();
    mb2_string_tag(1, "x");
    uint64_t tag = mb2_tag(2, 16);
    mb2_finish();
    put32(tag + 4, 64);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "tag runs past total_size"));
    CHECK_EQ(where, tag);
    /* A tag smaller than its own header. */
    put32(tag + 4, 4);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "tag size is below 8"));
    /* No end tag before total_size: the last tag is a module instead. */
    mb2_begin();
    mb2_module(0x200000, 0x201000, "m");
    put32(INFO_PA, (uint32_t)mb2_off);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "no end tag"));
    /* total_size ends in the middle of a tag header. */
    mb2_build_good();
    put32(INFO_PA, (uint32_t)mb2_off - 4);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "tag header runs past total_size"));
    /* An end tag that is not 8 bytes long. */
    mb2_begin();
    uint64_t end = mb2_tag(0, 16);
    put32(INFO_PA, (uint32_t)mb2_off);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "end tag size is not 8"));
    CHECK_EQ(where, end);
}

static void test_huge_sizes(void)
{
    /* v2 total_size near 4 GiB. */
    mb2_build_good();
    put32(INFO_PA, 0xFFFFFFF8);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "total_size runs past"));
    /* v2 tag size near 4 GiB: offset + size must not wrap. */
    mb2_build_good();
    put32(INFO_PA + 8 + 4, 0xFFFFFFF8);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "tag runs past total_size"));
    /* A memory map entry whose end wraps around 2^64. */
    static const struct mmap_entry wrap[] = { { 0x100000, UINT64_MAX, 1 } };
    mb2_begin();
    mb2_mmap(wrap, 1);
    mb2_finish();
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "wraps around"));
    /* A region ending exactly at 2^64 - 1 is fine (clipped to whole pages). */
    static const struct mmap_entry top[] = { { 0xFFFFFFFFFFF00000, 0xFFFFF, 1 } };
    mb2_begin();
    mb2_mmap(top, 1);
    mb2_finish();
    CHECK(ok(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA)));
    CHECK_EQ(bp.ram[0].size, 0xFF000);
    /* v1 mmap_length and mods_count near 4 GiB. */
    mb1_build_good();
    put32(INFO_PA + 44, 0xFFFFFFFF);
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "memory map lies outside"));
    mb1_build_good();
    put32(INFO_PA + 20, 0xFFFFFFFF);
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "more than 8 boot modules"));
    /* v1 memory map entry size larger than what mmap_length leaves. */
    mb1_build_good();
    put32(MMAP_PA, 0xFFFFFFF0);
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "runs past mmap_length"));
    CHECK_EQ(where, MMAP_PA);
}

static void test_module_end_before_start(void)
{
    mb1_build_good();
    put32(MODS_PA + 16 + 4, 0x209FFF); /* second module: end < start */
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "ends before it starts"));
    CHECK_EQ(where, MODS_PA + 16);
    mb2_begin();
    uint64_t tag = mb2_module(0x300000, 0x2FF000, "bad");
    static const struct mmap_entry map[] = { { 0x100000, 0x1000000, 1 } };
    mb2_mmap(map, 1);
    mb2_finish();
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "ends before it starts"));
    CHECK_EQ(where, tag);
}

static void test_mmap_entry_size_zero(void)
{
    mb1_build_good();
    put32(MMAP_PA + 24, 0); /* second entry */
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "entry size is below 20"));
    CHECK_EQ(where, MMAP_PA + 24);
    static const struct mmap_entry map[] = { { 0x100000, 0x1000000, 1 } };
    mb2_begin();
    uint64_t tag = mb2_mmap(map, 1);
    mb2_finish();
    put32(tag + 8, 0);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "entry_size is below 24"));
    /* A v2 tag whose size is not 16 + n * entry_size. */
    put32(tag + 8, 24);
    put32(tag + 4, 16 + 24 + 8);
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "not 16 + a multiple"));
    /* A v1 memory map cut in the middle of an entry's size field. */
    mb1_build_good();
    put32(INFO_PA + 44, 24 * 7 + 2);
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "cut off by mmap_length"));
}

static void test_unterminated_strings(void)
{
    /* v2 command line filling its tag with no NUL. */
    mb2_build_good();
    uint64_t tag = INFO_PA + 8; /* the first tag: the command line */
    put32(tag + 4, 8 + 22);     /* drop the NUL from the tag's size */
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "terminating NUL"));
    CHECK_EQ(where, tag);
    /* v2 module tag too short to hold any string. */
    mb2_begin();
    mb2_tag(3, 16);
    mb2_finish();
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "module tag string"));
    /* v1 command line running into the end of the window. */
    mb1_build_good();
    memset(&mem[MEM_SIZE - 16], 'A', 16);
    put32(INFO_PA + 16, MEM_PA + MEM_SIZE - 16);
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "command line is unterminated"));
    /* v1 loader name pointing outside the window. */
    mb1_build_good();
    put32(INFO_PA + 64, 0x900000);
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "loader name"));
    CHECK_EQ(where, 0x900000);
    /* v1 module string longer than the scan limit (4096 bytes, no NUL). */
    mb1_build_good();
    memset(&mem[0x1000], 'B', 0x2000);
    put32(MODS_PA + 8, MEM_PA + 0x1000);
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "module string"));
}

static void test_too_many_regions(void)
{
    /* BOOT_MAX_RAM_REGIONS separate regions are fine, one more is not. */
    static struct mmap_entry map[BOOT_MAX_RAM_REGIONS + 1];
    for (unsigned i = 0; i < BOOT_MAX_RAM_REGIONS + 1; i++)
        map[i] = (struct mmap_entry){ 0x100000 + 0x2000ull * i, 0x1000, 1 };
    mb2_begin();
    mb2_mmap(map, BOOT_MAX_RAM_REGIONS);
    mb2_finish();
    CHECK(ok(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA)));
    CHECK_EQ(bp.ram_count, BOOT_MAX_RAM_REGIONS);
    mb2_begin();
    uint64_t tag = mb2_mmap(map, BOOT_MAX_RAM_REGIONS + 1);
    mb2_finish();
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "more than 32 separate RAM regions"));
    CHECK_EQ(where, tag + 16 + 24 * BOOT_MAX_RAM_REGIONS);
    /* Too many modules. */
    mb2_begin();
    for (unsigned i = 0; i < BOOT_MAX_MODULES + 1; i++)
        mb2_module(0x200000 + 0x1000 * i, 0x200800 + 0x1000 * i, "m");
    mb2_mmap(map, 1);
    mb2_finish();
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "more than 8 boot modules"));
}

static void test_no_memory(void)
{
    /* Only reserved entries and RAM below 1 MiB. */
    static const struct mmap_entry map[] = { { 0, 0x9FC00, 1 }, { 0x100000, 0x100000, 2 } };
    mb2_begin();
    mb2_mmap(map, 2);
    mb2_finish();
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "no RAM above 1 MiB"));
    /* Neither a memory map nor basic memory information. */
    mb2_begin();
    mb2_finish();
    CHECK(has(parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_PA), "neither a memory map"));
    memset(mem, 0, sizeof(mem));
    CHECK(has(parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_PA), "neither a memory map"));
}

TEST_MAIN(TEST(test_mb1_good), TEST(test_mb1_minimal), TEST(test_mb2_good), TEST(test_mb2_acpi_tags),
          TEST(test_mb2_meminfo_only), TEST(test_ram_clip_and_merge), TEST(test_bad_magic),
          TEST(test_truncated), TEST(test_mb2_alignment), TEST(test_mb2_tag_sizes),
          TEST(test_huge_sizes), TEST(test_module_end_before_start),
          TEST(test_mmap_entry_size_zero), TEST(test_unterminated_strings),
          TEST(test_too_many_regions), TEST(test_no_memory))
