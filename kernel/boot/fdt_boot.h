/*
 * What any device-tree boot takes from the tree into struct boot_params:
 * memory, the boot image, the command line and the platform's name. What
 * a port drives itself (its devices, its timer) it reads in its own tree,
 * with the same parser (arch/riscv/board.c).
 */
#pragma once

#include "boot/boot_params.h"
#include "bk_fdt.h" /* kernel/parse/bk_fdt.h */
#include "types.h"

/* Adds RAM (/memory nodes), reserved ranges (the blob itself at physical
 * address `blob_pa`, the memory-reservation block, /reserved-memory
 * children, the initrd), the initrd as module "initrd", the command line
 * (/chosen/bootargs) and the platform (root "model", else "compatible").
 * RAM is rounded inwards and reserved ranges outwards to 4 KiB pages.
 * Returns NULL or a message. */
const char *fdt_boot_params(const struct fdt *fdt, paddr_t blob_pa, struct boot_params *bp);

/* Adds, as device ranges (rounded outwards to pages), every reg entry of
 * every enabled node compatible with one of compatibles[0 .. count).
 * Returns NULL or a message. */
const char *fdt_boot_devices(const struct fdt *fdt, const char *const *compatibles, size_t count,
                             struct boot_params *bp);
