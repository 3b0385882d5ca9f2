/*
 * libFuzzer target: the one ELF parser (kernel/parse/elf.c, shared by the
 * kernel and libsys) on arbitrary bytes. A file elf_check() accepts is then
 * loaded as both loaders do, page by page with elf_page_span(), into pages
 * from a bounded pool, which must only ever be written inside: the loaders
 * trust what the checker accepted, so a gap between the two shows up here
 * as an out-of-bounds read or write.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bulkhead/abi.h>

#include "bk_elf.h" /* kernel/parse/bk_elf.h */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small user range keeps the page pool small. */
static const struct elf_limits limits = { BK_ELF_MACHINE_X86_64, 0x400000, 0x500000,
                                          BK_PAGE_SIZE };

#define POOL_PAGES 256 /* the whole user range: segments share no page */
static uint8_t pool[POOL_PAGES][4096];
static unsigned pool_used;

static uint8_t *get_page(uint64_t va)
{
    if (va < limits.user_min || va >= limits.user_max || va % 4096 || pool_used == POOL_PAGES)
        abort();
    memset(pool[pool_used], 0, 4096);
    return pool[pool_used++];
}

/* The loop of the kernel's and libsys's loaders, over the pool. */
static void load(const uint8_t *file, uint64_t size, const struct elf_info *info)
{
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_segment *s = &info->segments[i];
        for (uint64_t va = s->vaddr & ~0xfffull; va < s->vaddr + s->mem_size; va += 4096) {
            uint8_t *page = get_page(va);
            struct elf_span span = elf_page_span(s, va, 4096);
            if (span.page_offset > 4096 || span.size > 4096 - span.page_offset ||
                span.file_offset > size || span.size > size - span.file_offset)
                abort();
            memcpy(page + span.page_offset, file + span.file_offset, span.size);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    struct elf_info info;
    char err[160];
    if (elf_check(copy, size, &limits, &info, err, sizeof(err))) {
        if (info.entry < limits.user_min || info.entry >= limits.user_max)
            abort();
        pool_used = 0;
        load(copy, size, &info);
    }
    free(copy);
    return 0;
}
