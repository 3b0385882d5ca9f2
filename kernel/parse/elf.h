/*
 * ELF64 program loading for user programs. elf_check() validates a file
 * completely before anything is mapped; elf_load() then cannot fail halfway
 * except for running out of memory.
 */
#pragma once

#include "types.h"

#define ELF_MAX_SEGMENTS 16

struct elf_segment {
    vaddr_t vaddr;          /* p_vaddr */
    uint64_t file_offset;   /* p_offset */
    uint64_t file_size;     /* p_filesz */
    uint64_t mem_size;      /* p_memsz */
    unsigned rights;        /* VM_READ | VM_WRITE | VM_EXEC */
};

struct elf_info {
    vaddr_t entry;
    unsigned segment_count;
    struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/* Where a program may place its segments: [user_min, user_max). */
struct elf_limits {
    uint16_t machine;       /* required e_machine */
    vaddr_t user_min;
    vaddr_t user_max;
    uint64_t page_size;
};

/* Validates the ELF file of `size` bytes at `data`: identification (64-bit,
 * little-endian, version 1, executable), machine, program header table
 * bounds, every PT_LOAD (inside the file, filesz <= memsz, no wrap-around,
 * inside the user range, consistent page offsets, not writable and
 * executable at once, no two segments sharing a page) and that the entry
 * point lies in an executable segment. Returns false with a sentence in
 * `err` on the first problem. */
bool elf_check(const uint8_t *data, uint64_t size, const struct elf_limits *limits,
               struct elf_info *out, char *err, size_t errlen);

/* Supplies the kernel-writable, zeroed page that will be mapped at user
 * address `va` with `rights`, or NULL when memory ran out. */
typedef void *(*elf_page_fn)(void *ctx, vaddr_t va, unsigned rights);

/* Copies every segment of a checked file into pages from `get_page`,
 * page by page, zero-filling the rest. Returns false if get_page failed. */
bool elf_load(const uint8_t *data, const struct elf_info *info, uint64_t page_size,
              elf_page_fn get_page, void *ctx);
