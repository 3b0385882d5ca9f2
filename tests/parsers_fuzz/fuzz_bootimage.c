/*
 * libFuzzer target: the boot-image parser (kernel/boot/bootimage.c) on
 * arbitrary bytes, for both architectures. The parser must never read
 * outside the buffer (ASan), never hit undefined behaviour (UBSan), and a
 * parse it accepts must describe modules that lie inside the image.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bootimage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so any read past the end is caught. */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    static const char *const arches[] = { "x86_64", "riscv64" };
    for (unsigned a = 0; a < 2; a++) {
        struct bootimage img;
        char err[160];
        if (!bootimage_parse(copy, size, arches[a], &img, err, sizeof(err)))
            continue;
        if (img.module_count > BOOTIMAGE_MAX_MODULES || img.root_index >= img.module_count)
            abort();
        for (unsigned i = 0; i < img.module_count; i++)
            if (img.modules[i].offset + img.modules[i].size > size)
                abort();
    }
    free(copy);
    return 0;
}
