/*
 * libFuzzer target: the flattened device-tree parser (kernel/parse/fdt.c)
 * on arbitrary bytes: open, walk every node and property, and fill the
 * boot parameters as the RISC-V boot does (kernel/boot/fdt_boot.c,
 * arch/riscv/board.c). Nothing may read outside the
 * blob, whatever its header claims.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "board.h" /* arch/riscv/board.h */
#include "boot/boot_params.h"
#include "bk_fdt.h" /* kernel/parse/bk_fdt.h */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Visits every node the walk finds (bounded: a malformed tree could
 * otherwise be walked for a long time) and reads a few properties. */
static void walk(const struct fdt *f)
{
    unsigned visited = 0;
    for (int n = fdt_next_node(f, FDT_NONE); n != FDT_NONE && visited < 4096;
         n = fdt_next_node(f, n), visited++) {
        uint32_t len;
        uint64_t base, sz;
        (void)fdt_node_name(f, n);
        (void)fdt_get_prop(f, n, "compatible", &len);
        (void)fdt_get_string(f, n, "status");
        (void)fdt_node_enabled(f, n);
        for (unsigned i = 0; i < 4; i++)
            (void)fdt_reg(f, n, i, &base, &sz);
    }
    (void)fdt_find_path(f, "/cpus");
    (void)fdt_stdout_node(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy aligned as a real blob is, of exactly `size` bytes. */
    uint8_t *copy = aligned_alloc(8, size ? (size + 7) & ~(size_t)7 : 8);
    memcpy(copy, data, size);
    struct fdt f;
    if (fdt_open(&f, copy, size) == NULL) {
        walk(&f);
        static struct boot_params bp;
        memset(&bp, 0, sizeof(bp));
        (void)riscv_board_params(&f, 0x87e00000, &bp);
    }
    free(copy);
    return 0;
}
