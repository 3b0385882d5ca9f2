/*
 * The boot image: one file, the same on every architecture, that bundles the
 * root task and the other user programs. tools/mkbootimage.py writes it; the
 * boot loader hands it to the kernel as a module (QEMU -initrd, GRUB module2);
 * bootimage_parse() checks every byte of it before the kernel trusts any.
 *
 * Layout (all integers little-endian), see docs/boot.md:
 *   header      64 bytes at offset 0
 *   module table  module_count entries of 64 bytes, right after the header
 *   module data   each module at a 4 KiB-aligned offset, after the table
 *
 * This file is the format's one definition: tools/bootimage.py (the
 * writer) reads the BOOTIMAGE_* constants and the two structures below
 * from it, with a parser that refuses what it does not fully understand.
 * So keep to its forms: `#define BOOTIMAGE_X <decimal>[u]` or `"STRING"`,
 * fields `uint32_t`, `uint64_t` or `char name[N or BOOTIMAGE_X]`, one per
 * line, naturally aligned with no padding. ctest tools/bootimage-format
 * checks it.
 */
#pragma once

#include "types.h"

#define BOOTIMAGE_MAGIC "BKBOOTIM"
#define BOOTIMAGE_VERSION 1
#define BOOTIMAGE_HEADER_SIZE 64
#define BOOTIMAGE_ENTRY_SIZE 64
#define BOOTIMAGE_MAX_MODULES 16
#define BOOTIMAGE_NAME_LEN 32
#define BOOTIMAGE_ALIGN 4096
#define BOOTIMAGE_FLAG_ROOT 1u

struct bootimage_header {
    char magic[8];            /* "BKBOOTIM" */
    uint32_t version;         /* BOOTIMAGE_VERSION */
    uint32_t header_size;     /* BOOTIMAGE_HEADER_SIZE */
    uint32_t module_count;    /* 1..BOOTIMAGE_MAX_MODULES */
    uint32_t entry_size;      /* BOOTIMAGE_ENTRY_SIZE */
    uint64_t image_size;      /* bytes, header included */
    uint32_t table_crc;       /* CRC-32 of the module table */
    uint32_t header_crc;      /* CRC-32 of this header with header_crc = 0 */
    char arch[16];            /* "x86_64" or "riscv64", NUL-padded */
    uint64_t reserved;        /* zero */
};

struct bootimage_entry {
    char name[BOOTIMAGE_NAME_LEN]; /* NUL-terminated, non-empty */
    uint64_t offset;          /* from the start of the image, 4 KiB aligned */
    uint64_t size;            /* bytes */
    uint32_t crc;             /* CRC-32 of the module's bytes */
    uint32_t flags;           /* BOOTIMAGE_FLAG_* */
    uint64_t reserved;        /* zero */
};

_Static_assert(sizeof(struct bootimage_header) == BOOTIMAGE_HEADER_SIZE, "header layout");
_Static_assert(sizeof(struct bootimage_entry) == BOOTIMAGE_ENTRY_SIZE, "entry layout");

/* A validated module: points into the image. */
struct bootimage_module {
    const char *name;
    const uint8_t *data;
    uint64_t offset;
    uint64_t size;
    bool is_root;
};

struct bootimage {
    uint64_t size;            /* the header's image_size */
    unsigned module_count;
    unsigned root_index;
    struct bootimage_module modules[BOOTIMAGE_MAX_MODULES];
};

/* Checks the image of `avail` bytes at `data` for architecture `arch`.
 * On success fills `out` and returns true. On failure returns false with a
 * sentence naming the problem in `err` (size `errlen`). Reads nothing
 * outside [data, data + avail). */
bool bootimage_parse(const uint8_t *data, uint64_t avail, const char *arch,
                     struct bootimage *out, char *err, size_t errlen);
