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

/* The riscv,isa string of the cpu node whose reg is `hart_id`, or NULL. */
const char *riscv_board_hart_isa(const struct fdt *fdt, uint64_t hart_id);

/* The harts of /cpus the kernel may start, the boot hart first (it is
 * whichever the firmware chose, so it is passed in): up to `max` ids
 * into `ids`. Returns how many there are, which may exceed `max`. */
unsigned riscv_board_harts(const struct fdt *fdt, uint64_t boot_hart, uint64_t *ids,
                           unsigned max);

/* Whether the hart `hart_id` has the multi-letter extension `ext` (lower
 * case, e.g. "sstc"): a '_'-separated token of its riscv,isa string, or an
 * entry of its riscv,isa-extensions list (the newer binding). */
bool riscv_board_hart_has_extension(const struct fdt *fdt, uint64_t hart_id, const char *ext);

/* The "riscv,cpu-intc" node of the /cpus child whose reg is `hart_id`, or
 * FDT_NONE. */
int riscv_board_hart_intc(const struct fdt *fdt, uint64_t hart_id);

/* The place of the (`intc`, `cause`) entry in `node`'s interrupts-extended
 * list (a PLIC's context, an ACLINT SSWI's register), or -1 when it has
 * none or the list is malformed. Each entry is a phandle and the
 * #interrupt-cells its target asks for. */
int riscv_board_irq_index(const struct fdt *fdt, int node, int intc, uint32_t cause);
