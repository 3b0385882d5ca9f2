/* Host tests of the boot-image parser (kernel/boot/bootimage.c) against
 * well-formed and damaged images built here. */
#include "boot/bootimage.h"
#include "check.h"
#include "lib/crc32.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMG_SIZE (4 * 4096)

static uint8_t *image;
static char err[256];

struct bootimage_header *hdr(void);
struct bootimage_entry *entry(unsigned i);
void reseal(void);

struct bootimage_header *hdr(void) { return (struct bootimage_header *)image; }
struct bootimage_entry *entry(unsigned i)
{
    return (struct bootimage_entry *)(image + BOOTIMAGE_HEADER_SIZE) + i;
}

/* Recomputes the table and header CRCs after a test edited fields, so the
 * parser reaches the check under test. */
void reseal(void)
{
    hdr()->table_crc = crc32(entry(0), hdr()->module_count * BOOTIMAGE_ENTRY_SIZE);
    hdr()->header_crc = 0;
    hdr()->header_crc = crc32(hdr(), BOOTIMAGE_HEADER_SIZE);
}

static void set_module(unsigned i, const char *name, uint64_t off, uint64_t size, uint32_t flags)
{
    struct bootimage_entry *e = entry(i);
    memset(e, 0, sizeof(*e));
    strcpy(e->name, name);
    e->offset = off;
    e->size = size;
    e->flags = flags;
    memset(image + off, (int)(0x40 + i), size);
    e->crc = crc32(image + off, size);
}

/* Two modules: "root" at 0x1000 (100 bytes) and "other" at 0x2000 (5000 bytes). */
static void make_good(void)
{
    free(image);
    image = aligned_alloc(4096, IMG_SIZE);
    memset(image, 0, IMG_SIZE);
    memcpy(hdr()->magic, BOOTIMAGE_MAGIC, 8);
    hdr()->version = BOOTIMAGE_VERSION;
    hdr()->header_size = BOOTIMAGE_HEADER_SIZE;
    hdr()->entry_size = BOOTIMAGE_ENTRY_SIZE;
    hdr()->module_count = 2;
    hdr()->image_size = 0x2000 + 5000;
    strcpy(hdr()->arch, "x86_64");
    set_module(0, "root", 0x1000, 100, BOOTIMAGE_FLAG_ROOT);
    set_module(1, "other", 0x2000, 5000, 0);
    reseal();
}

static bool parse(uint64_t avail)
{
    struct bootimage img;
    err[0] = '\0';
    return bootimage_parse(image, avail, "x86_64", &img, err, sizeof(err));
}

static bool rejects(const char *needle)
{
    bool ok = parse(IMG_SIZE);
    if (!ok && !strstr(err, needle))
        printf("  message was: %s\n", err);
    return !ok && strstr(err, needle) != NULL;
}

static void test_good_image(void)
{
    struct bootimage img;
    make_good();
    CHECK(bootimage_parse(image, IMG_SIZE, "x86_64", &img, err, sizeof(err)));
    CHECK_EQ(img.module_count, 2);
    CHECK_EQ(img.root_index, 0);
    CHECK(strcmp(img.modules[1].name, "other") == 0);
    CHECK(img.modules[1].data == image + 0x2000);
    CHECK_EQ(img.modules[1].size, 5000);
    CHECK(!img.modules[1].is_root);
    /* Exactly the declared size is enough. */
    CHECK(parse(0x2000 + 5000));
}

static void test_truncated(void)
{
    make_good();
    CHECK(!parse(0));
    CHECK(strstr(err, "the header alone is 64"));
    CHECK(!parse(63));
    CHECK(!parse(0x2000 + 4999));
    CHECK(strstr(err, "truncated: header says 13192 bytes, boot loader delivered 13191"));
    CHECK(!bootimage_parse(NULL, 100, "x86_64", &(struct bootimage){ 0 }, err, sizeof(err)));
}

static void test_bad_magic_version_sizes(void)
{
    make_good();
    image[0] = 'X';
    CHECK(rejects("bad magic"));
    make_good();
    hdr()->version = 2;
    reseal();
    CHECK(rejects("version 2"));
    make_good();
    hdr()->entry_size = 32;
    reseal();
    CHECK(rejects("entry size 32"));
}

static void test_checksums(void)
{
    make_good();
    hdr()->module_count = 1; /* without resealing */
    CHECK(rejects("header checksum mismatch"));
    make_good();
    entry(1)->flags = 0; /* same value: still fine */
    entry(1)->name[0] = 'O';
    hdr()->header_crc = 0;
    hdr()->header_crc = crc32(hdr(), BOOTIMAGE_HEADER_SIZE);
    CHECK(rejects("module table checksum mismatch"));
    make_good();
    image[0x2000 + 4999] ^= 1;
    CHECK(rejects("module 1 'other' checksum mismatch"));
}

static void test_arch_and_counts(void)
{
    make_good();
    strcpy(hdr()->arch, "riscv64");
    reseal();
    CHECK(rejects("built for architecture 'riscv64', this kernel is x86_64"));
    make_good();
    memset(hdr()->arch, 'x', sizeof(hdr()->arch)); /* unterminated */
    reseal();
    CHECK(rejects("built for architecture"));
    make_good();
    hdr()->module_count = 0;
    reseal();
    CHECK(rejects("0 modules, must be 1 to 16"));
    make_good();
    hdr()->module_count = 17;
    reseal();
    CHECK(rejects("17 modules"));
    make_good();
    hdr()->module_count = 16;
    hdr()->image_size = 512; /* table of 16 entries needs 64 + 1024 */
    reseal();
    CHECK(rejects("module table (1088 bytes) runs past the image end (512)"));
}

static void test_module_bounds(void)
{
    make_good();
    entry(1)->size = UINT64_MAX - 0x1000; /* offset + size overflows */
    reseal();
    CHECK(rejects("module 1 'other'"));
    CHECK(strstr(err, "lies outside the image data"));
    make_good();
    entry(0)->offset = 0; /* inside the header */
    reseal();
    CHECK(rejects("is not 4 KiB aligned") || strstr(err, "outside the image data"));
    make_good();
    entry(1)->offset = 0x1800;
    reseal();
    CHECK(rejects("not 4 KiB aligned"));
    make_good();
    entry(1)->offset = 0x1000; /* overlaps module 0 */
    entry(1)->size = 100;
    entry(1)->crc = crc32(image + 0x1000, 100);
    reseal();
    CHECK(rejects("modules 0 'root' and 1 'other' overlap"));
}

static void test_names_flags_roots(void)
{
    make_good();
    entry(1)->name[0] = '\0';
    reseal();
    CHECK(rejects("module 1 has an empty or unterminated name"));
    make_good();
    memset(entry(1)->name, 'a', BOOTIMAGE_NAME_LEN);
    reseal();
    CHECK(rejects("module 1 has an empty or unterminated name"));
    make_good();
    entry(1)->flags = 0x80;
    reseal();
    CHECK(rejects("unknown flags 0x80"));
    make_good();
    entry(0)->flags = 0;
    reseal();
    CHECK(rejects("0 modules are marked as the root task"));
    make_good();
    entry(1)->flags = BOOTIMAGE_FLAG_ROOT;
    reseal();
    CHECK(rejects("2 modules are marked as the root task"));
}

static void test_random_damage_never_crashes(void)
{
    /* Flip random bytes of the header and table: the parser must reject or
     * accept, but never read out of bounds (ASan watches). */
    srand(1234);
    for (int round = 0; round < 2000; round++) {
        make_good();
        for (int k = 0; k < 4; k++)
            image[rand() % (BOOTIMAGE_HEADER_SIZE + 2 * BOOTIMAGE_ENTRY_SIZE)] = (uint8_t)rand();
        if (round % 2 && hdr()->module_count <= 2)
            reseal();
        uint64_t avail = (uint64_t)(rand() % IMG_SIZE);
        (void)parse(avail);
    }
    free(image);
    image = NULL;
}

TEST_MAIN(TEST(test_good_image), TEST(test_truncated), TEST(test_bad_magic_version_sizes),
          TEST(test_checksums), TEST(test_arch_and_counts), TEST(test_module_bounds),
          TEST(test_names_flags_roots), TEST(test_random_damage_never_crashes))
