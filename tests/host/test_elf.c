/* Host tests of the one ELF parser (kernel/parse/elf.c), shared by the
 * kernel and libsys, with files built here. */
#include "check.h"
#include "bk_elf.h" /* kernel/parse/bk_elf.h */

#include <bulkhead/abi.h> /* the ports' ELF machines and the page size */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FILE_SIZE 0x3000

struct ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static uint8_t file[FILE_SIZE];
static char err[256];
static const struct elf_limits limits = { BK_ELF_MACHINE_X86_64, 0x400000, 0x10000000,
                                          BK_PAGE_SIZE };

static struct ehdr *eh(void) { return (struct ehdr *)file; }
static struct phdr *ph(unsigned i) { return (struct phdr *)(file + 64) + i; }

/* text r-x: 0x400000, file 0x1000..0x1100; data rw-: 0x402000, 0x10 bytes of
 * file at 0x2000 then zeros up to 0x2000 bytes. */
static void make_good(void)
{
    memset(file, 0, sizeof(file));
    memcpy(eh()->ident, "\x7f" "ELF\x02\x01\x01", 7);
    eh()->type = 2;
    eh()->machine = BK_ELF_MACHINE_X86_64;
    eh()->version = 1;
    eh()->entry = 0x400010;
    eh()->phoff = 64;
    eh()->ehsize = 64;
    eh()->phentsize = sizeof(struct phdr);
    eh()->phnum = 3;
    *ph(0) = (struct phdr){ 1, 5, 0x1000, 0x400000, 0x400000, 0x100, 0x100, 0x1000 };
    *ph(1) = (struct phdr){ 1, 6, 0x2000, 0x402000, 0x402000, 0x10, 0x2000, 0x1000 };
    *ph(2) = (struct phdr){ 0x6474e551, 6, 0, 0, 0, 0, 0, 16 }; /* PT_GNU_STACK: skipped */
    memset(file + 0x1000, 0xAA, 0x100);
    memset(file + 0x2000, 0xBB, 0x10);
}

static bool check(void)
{
    struct elf_info info;
    err[0] = '\0';
    return elf_check(file, FILE_SIZE, &limits, &info, err, sizeof(err));
}

static bool rejects(const char *needle)
{
    bool ok = check();
    if (ok || !strstr(err, needle))
        printf("  message was: '%s'\n", err);
    return !ok && strstr(err, needle) != NULL;
}

static void test_good(void)
{
    struct elf_info info;
    make_good();
    CHECK(elf_check(file, FILE_SIZE, &limits, &info, err, sizeof(err)));
    CHECK_EQ(info.entry, 0x400010);
    CHECK_EQ(info.segment_count, 2);
    CHECK_EQ(info.machine, 62);
    CHECK_EQ(info.segments[0].flags, ELF_PF_R | ELF_PF_X);
    CHECK_EQ(info.segments[1].flags, ELF_PF_R | ELF_PF_W);
    CHECK_EQ(info.segments[1].mem_size, 0x2000);
    CHECK_EQ(info.segments[1].file_offset, 0x2000);
    CHECK_EQ(info.segments[1].align, 0x1000);
}

struct pages {
    uint8_t mem[8][4096];
    uint64_t va[8];
    uint32_t flags[8];
    unsigned count;
};

/* Loads a checked file as the kernel and libsys do: a zeroed page per page
 * of each segment, the bytes elf_page_span() names copied into it. */
static void load(const struct elf_info *info, struct pages *p)
{
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_segment *s = &info->segments[i];
        for (uint64_t va = s->vaddr & ~0xfffull; va < s->vaddr + s->mem_size; va += 4096) {
            if (p->count == 8)
                return;
            struct elf_span span = elf_page_span(s, va, 4096);
            p->va[p->count] = va;
            p->flags[p->count] = s->flags;
            memset(p->mem[p->count], 0, 4096);
            memcpy(p->mem[p->count] + span.page_offset, file + span.file_offset, span.size);
            p->count++;
        }
    }
}

static void test_load_copies_and_zero_fills(void)
{
    struct elf_info info;
    static struct pages p;
    make_good();
    CHECK(elf_check(file, FILE_SIZE, &limits, &info, err, sizeof(err)));
    p = (struct pages){ 0 };
    load(&info, &p);
    CHECK_EQ(p.count, 3); /* one text page, two data pages */
    CHECK_EQ(p.va[0], 0x400000);
    CHECK_EQ(p.mem[0][0], 0xAA);
    CHECK_EQ(p.mem[0][0xff], 0xAA);
    CHECK_EQ(p.mem[0][0x100], 0);
    CHECK_EQ(p.va[1], 0x402000);
    CHECK_EQ(p.mem[1][0xf], 0xBB);
    CHECK_EQ(p.mem[1][0x10], 0);
    CHECK_EQ(p.va[2], 0x403000);
    CHECK_EQ(p.flags[2], ELF_PF_R | ELF_PF_W);
    /* The second data page holds no file bytes at all. */
    CHECK_EQ(elf_page_span(&info.segments[1], 0x403000, 4096).size, 0);
}

static void test_unaligned_segment_start(void)
{
    struct elf_info info;
    static struct pages p;
    make_good();
    ph(0)->vaddr = 0x400080;
    ph(0)->offset = 0x1080;
    ph(0)->filesz = ph(0)->memsz = 0x80;
    eh()->entry = 0x400080;
    CHECK(elf_check(file, FILE_SIZE, &limits, &info, err, sizeof(err)));
    p = (struct pages){ 0 };
    load(&info, &p);
    CHECK_EQ(p.mem[0][0x7f], 0);
    CHECK_EQ(p.mem[0][0x80], 0xAA);
}

static void test_header_errors(void)
{
    struct elf_info info;
    CHECK(!elf_check(file, 10, &limits, &info, err, sizeof(err)));
    CHECK(strstr(err, "truncated"));
    make_good();
    file[1] = 'X';
    CHECK(rejects("bad magic"));
    make_good();
    file[4] = 1;
    CHECK(rejects("not a 64-bit little-endian"));
    make_good();
    eh()->type = 3;
    CHECK(rejects("type 3"));
    make_good();
    eh()->machine = BK_ELF_MACHINE_RISCV64;
    CHECK(rejects("machine 243, this kernel runs machine 62"));
    make_good();
    eh()->phentsize = 32;
    CHECK(rejects("program header size 32"));
    make_good();
    eh()->phnum = 0;
    CHECK(rejects("no program headers"));
    make_good();
    eh()->phoff = FILE_SIZE - 10;
    CHECK(rejects("run past the file end"));
    make_good();
    eh()->phoff = UINT64_MAX - 8;
    CHECK(rejects("run past the file end"));
}

static void test_segment_errors(void)
{
    make_good();
    ph(0)->filesz = 0x200;
    CHECK(rejects("segment 0 file size 512 exceeds memory size 256"));
    make_good();
    ph(1)->offset = FILE_SIZE;
    ph(1)->filesz = 1;
    CHECK(rejects("segment 1 (offset 0x3000, 1 bytes) runs past the file end"));
    make_good();
    ph(1)->offset = UINT64_MAX;
    CHECK(rejects("segment 1"));
    make_good();
    ph(1)->vaddr = 0xffffffff80002000ull;
    CHECK(rejects("is outside user memory"));
    make_good();
    ph(1)->memsz = UINT64_MAX; /* wraps around */
    CHECK(rejects("is outside user memory"));
    make_good();
    ph(0)->vaddr = 0x1000;
    CHECK(rejects("is outside user memory"));
    make_good();
    ph(1)->vaddr = 0x402010;
    CHECK(rejects("disagree modulo the page size"));
    make_good();
    ph(1)->flags = 7;
    CHECK(rejects("both writable and executable"));
    make_good();
    ph(1)->vaddr = 0x400000 + 0x0; /* same page as text */
    CHECK(rejects("share a page"));
}

static void test_entry_and_counts(void)
{
    make_good();
    eh()->entry = 0x402000; /* in the data segment */
    CHECK(rejects("entry point 0x402000 is not inside an executable segment"));
    make_good();
    ph(0)->type = 4;
    ph(1)->type = 4;
    CHECK(rejects("no loadable segments"));
}

/* A PT_LOAD of p_memsz 0 is not loaded, but it is checked like any other
 * (libsys's loader did so before it shared this parser). */
static void test_empty_load_segment(void)
{
    struct elf_info info;
    make_good();
    ph(2)->type = 1; /* PT_LOAD, memsz 0, at address 0 */
    CHECK(rejects("segment 2 at 0x0 (+0 bytes) is outside user memory"));
    ph(2)->vaddr = 0x404000;
    CHECK(elf_check(file, FILE_SIZE, &limits, &info, err, sizeof(err)));
    CHECK_EQ(info.segment_count, 2);
}

/* Bits outside R, W and X (PF_MASKOS, PF_MASKPROC) are not passed on. */
static void test_flags_keep_permission_bits(void)
{
    struct elf_info info;
    make_good();
    ph(0)->flags = ELF_PF_R | ELF_PF_X | 0xf0f00000u;
    CHECK(elf_check(file, FILE_SIZE, &limits, &info, err, sizeof(err)));
    CHECK_EQ(info.segments[0].flags, ELF_PF_R | ELF_PF_X);
}

/* Messages are cut to the buffer and always terminated. */
static void test_message_truncated(void)
{
    struct elf_info info;
    char small[8];
    make_good();
    file[0] = 0;
    CHECK(!elf_check(file, FILE_SIZE, &limits, &info, small, sizeof(small)));
    CHECK(strcmp(small, "ELF: ba") == 0);
    CHECK(!elf_check(file, FILE_SIZE, &limits, &info, small, 0));
}

static void test_random_damage_never_crashes(void)
{
    struct elf_info info;
    srand(99);
    for (int round = 0; round < 5000; round++) {
        make_good();
        for (int k = 0; k < 3; k++)
            file[rand() % (64 + 3 * 56)] = (uint8_t)rand();
        (void)elf_check(file, (uint64_t)(rand() % FILE_SIZE), &limits, &info, err, sizeof(err));
    }
}

TEST_MAIN(TEST(test_good), TEST(test_load_copies_and_zero_fills),
          TEST(test_unaligned_segment_start), TEST(test_header_errors),
          TEST(test_segment_errors), TEST(test_entry_and_counts),
          TEST(test_empty_load_segment), TEST(test_flags_keep_permission_bits),
          TEST(test_message_truncated),
          TEST(test_random_damage_never_crashes))
