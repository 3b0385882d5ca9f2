/*
 * libFuzzer target: the multiboot v1/v2 parser (arch/x86_64/multiboot.c).
 * The first byte picks the loader's magic (v1 or v2) and where in the
 * window the information starts; the rest is the window of "physical
 * memory" the parser may read, copied to a heap block of exactly its size
 * so that ASan catches any read outside.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot_params.h"
#include "multiboot.h" /* arch/x86_64/multiboot.h */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WINDOW_PA 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t magic = data[0] & 1 ? MULTIBOOT2_BOOTLOADER_MAGIC : MULTIBOOT1_BOOTLOADER_MAGIC;
    uint64_t info_pa = WINDOW_PA + (uint64_t)(data[0] >> 1) * 8;
    size--;
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data + 1, size);
    struct multiboot_window w = { copy, WINDOW_PA, size };
    static struct boot_params bp;
    memset(&bp, 0, sizeof(bp));
    uint64_t where = 0;
    (void)multiboot_parse(magic, info_pa, &w, &bp, &where);
    free(copy);
    return 0;
}
