/*
 * libFuzzer target: the kernel's ELF checker and loader (kernel/elf.c) on
 * arbitrary bytes. A file elf_check() accepts is then loaded into pages
 * from a bounded pool, which must only ever be written inside: the loader
 * trusts what the checker accepted, so a gap between the two shows up here
 * as an out-of-bounds write.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small user range keeps the page pool small. */
static const struct elf_limits limits = { 62, 0x400000, 0x500000, 4096 };

#define POOL_PAGES 64
static uint8_t pool[POOL_PAGES][4096];
static unsigned pool_used;

static void *get_page(void *ctx, vaddr_t va, unsigned rights)
{
    (void)ctx;
    (void)rights;
    if (va < limits.user_min || va >= limits.user_max || va % 4096 || pool_used == POOL_PAGES)
        return NULL;
    memset(pool[pool_used], 0, 4096);
    return pool[pool_used++];
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
        elf_load(copy, &info, 4096, get_page, NULL);
    }
    free(copy);
    return 0;
}
