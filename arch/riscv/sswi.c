/*
 * IPIs without the firmware: the supervisor software interrupt device of
 * the RISC-V ACLINT (RISC-V Advanced Core Local Interruptor Specification
 * 1.0, "SSWI Device"), found in the device tree as "riscv,aclint-sswi"
 * (QEMU's virt with aclint=on; boards with an ACLINT). It has one 32-bit
 * SETSSIP register per hart: writing 1 makes sip.SSIP pending on that
 * hart, which clears it itself (trap.c), as it does for the firmware's IPI.
 * Register i is the hart of the i-th entry of the node's
 * interrupts-extended (its "riscv,cpu-intc" with cause 1, the supervisor
 * software interrupt).
 *
 * Without it (a plain virt, most boards' firmware-only IPIs) the kernel
 * asks OpenSBI (sbi_send_ipi()): an ecall, the firmware's M-mode software
 * interrupt on the target and its injection of SSIP there, some 800
 * instructions a side under QEMU, counted in the cross-core round trip
 * (docs/smp.md, "IPIs through the ACLINT SSWI").
 */
#include "cpu.h"

#include "board.h"
#include "kernel.h"
#include "port.h"
#include "riscv.h"

#define SSWI_REG_BYTES 4

/* What sswi_find() learned: the device and each hart's register. */
static struct {
    paddr_t base;
    uint64_t size;
    unsigned count;
    struct {
        uint64_t hart_id;
        unsigned reg; /* its SETSSIP register: base + 4 * reg */
    } harts[RISCV_MAX_CPUS];
} found;

static volatile uint32_t *regs; /* mapped by sswi_init(), NULL without it */

/* The register of each hart the tree lists (up to RISCV_MAX_CPUS of them)
 * whose entry is in the SSWI's interrupts-extended and inside its reg. */
static BOOT_CODE void find_harts(const struct fdt *fdt, int node)
{
    uint64_t ids[RISCV_MAX_CPUS];
    unsigned n = riscv_board_harts(fdt, this_cpu()->hart_id, ids, RISCV_MAX_CPUS);
    for (unsigned i = 0; i < n && i < RISCV_MAX_CPUS; i++) {
        int intc = riscv_board_hart_intc(fdt, ids[i]);
        int reg = intc == FDT_NONE ? -1 : riscv_board_irq_index(fdt, node, intc, IRQ_S_SOFT);
        if (reg < 0 || (uint64_t)(reg + 1) * SSWI_REG_BYTES > found.size)
            continue;
        found.harts[found.count].hart_id = ids[i];
        found.harts[found.count].reg = (unsigned)reg;
        found.count++;
    }
}

BOOT_CODE void sswi_find(const struct fdt *fdt)
{
    int node = fdt_find_compatible(fdt, FDT_NONE, "riscv,aclint-sswi");
    if (node == FDT_NONE || !fdt_node_enabled(fdt, node) ||
        !fdt_reg(fdt, node, 0, &found.base, &found.size))
        return;
    find_harts(fdt, node);
}

BOOT_CODE void sswi_init(void)
{
    if (!found.count) {
        kprintf("riscv64: IPIs through SBI (no riscv,aclint-sswi in the device tree)\n");
        return;
    }
    regs = paging_map_device(found.base, found.size);
    this_cpu()->sswi = sswi_register(this_cpu()->hart_id);
    kprintf("riscv64: IPIs through the ACLINT SSWI at 0x%llx (%u harts)\n",
            (unsigned long long)found.base, found.count);
}

volatile uint32_t *sswi_register(uint64_t hart_id)
{
    for (unsigned i = 0; regs && i < found.count; i++)
        if (found.harts[i].hart_id == hart_id)
            return regs + found.harts[i].reg;
    return NULL;
}
