/*
 * The RISC-V board, as its device tree describes it: what the port takes
 * from the tree beyond what every device-tree boot takes (fdt_boot.h).
 * Pure lookups, no register touched, so the host tests build it too.
 */
#pragma once

#include "boot/boot_params.h"
#include "bk_fdt.h" /* kernel/parse/bk_fdt.h */
#include "types.h"

/* Fills `bp` from the tree at physical address `blob_pa`: everything
 * fdt_boot_params() reads, then the MMIO ranges of the devices this port
 * drives or keeps (UART, PLIC, CLINT, SiFive test device) and timer_hz
 * (the timebase-frequency of /cpus or of a cpu node, 0 if absent).
 * Returns NULL or a message. */
const char *riscv_board_params(const struct fdt *fdt, paddr_t blob_pa, struct boot_params *bp);
