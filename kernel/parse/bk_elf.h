/*
 * ELF64 executables: the one parser of program files. The kernel checks
 * the root task with it (kernel/boot/roottask.c) and libsys every program
 * it spawns (bk_elf_load, libsys/src/process/elf.c); each then does its own
 * loading (boot pages there, frames and mappings here) over what
 * elf_check() accepted.
 *
 * Pure (kernel/parse/): it includes only compiler headers, allocates
 * nothing and calls no function of the kernel's or libsys's (not even a
 * printf: messages are written by a writer of its own), so the same source
 * builds into the kernel, into libsys and into the host tests and fuzzers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 16

/* The e_machine the caller accepts comes in struct elf_limits: the ports'
 * values are BK_ELF_MACHINE_* in kernel/abi.toml, which this pure parser
 * does not include. */

/* p_flags bits (gABI, "Segment Permissions"). */
#define ELF_PF_X 1u
#define ELF_PF_W 2u
#define ELF_PF_R 4u

/* One PT_LOAD that occupies memory (p_memsz > 0), as the file says. */
struct elf_segment {
    uint64_t vaddr;       /* p_vaddr */
    uint64_t file_offset; /* p_offset */
    uint64_t file_size;   /* p_filesz */
    uint64_t mem_size;    /* p_memsz */
    uint32_t flags;       /* p_flags & (ELF_PF_R | ELF_PF_W | ELF_PF_X) */
    uint64_t align;       /* p_align (informative: the page size rules) */
};

struct elf_info {
    uint64_t entry;   /* e_entry */
    uint16_t machine; /* e_machine */
    unsigned segment_count;
    struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/* Where a program may place its segments: [user_min, user_max). */
struct elf_limits {
    uint16_t machine; /* required e_machine */
    uint64_t user_min;
    uint64_t user_max;
    uint64_t page_size;
};

/* Validates the ELF file of `size` bytes at `data`: identification (64-bit,
 * little-endian, version 1, executable), machine, program header table
 * bounds, every PT_LOAD (inside the file, filesz <= memsz, no wrap-around,
 * inside the user range, consistent page offsets, not writable and
 * executable at once, no two segments sharing a page) and that the entry
 * point lies in an executable segment. Returns false with a sentence in
 * `err` (always terminated when errlen > 0) on the first problem. */
bool elf_check(const uint8_t *data, uint64_t size, const struct elf_limits *limits,
               struct elf_info *out, char *err, size_t errlen);

/* The file bytes segment `s` of a checked file puts into the page at user
 * address `page`: `size` bytes from file offset `file_offset`, to be
 * written at `page_offset` in that page; everything else in the page is
 * zero. */
struct elf_span {
    uint64_t page_offset;
    uint64_t file_offset;
    uint64_t size; /* 0: the page is all zeros (bss) */
};
struct elf_span elf_page_span(const struct elf_segment *s, uint64_t page, uint64_t page_size);
