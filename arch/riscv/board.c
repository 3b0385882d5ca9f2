/*
 * What the RISC-V port reads from the device tree about the board (see
 * board.h): which devices the kernel keeps for itself, and the rate of the
 * time CSR. The generic parts (RAM, initrd, command line) are in
 * kernel/boot/fdt_boot.c, the parser in kernel/parse/fdt.c.
 */
#include "board.h"

#include "boot/fdt_boot.h"

/* The devices the kernel drives (or that only the kernel may touch), whose
 * MMIO ranges go into boot_params.devices and are never handed out. Every
 * other device lies in the physical address space the root task receives
 * as device untyped memory. */
static const char *const known_devices[] = {
    "ns16550a", "ns16550", "riscv,plic0", "sifive,plic-1.0.0", "riscv,clint0",
    "sifive,clint0", "sifive,test0", "sifive,test1",
};

/* The rate at which the time CSR counts (RISC-V privileged spec, "Machine
 * Timer Registers": its frequency is platform-given, and the tree gives it
 * as timebase-frequency), in /cpus or in each cpu node on older trees. */
static uint64_t timebase_frequency(const struct fdt *fdt)
{
    uint64_t hz = 0;
    int cpus = fdt_find_path(fdt, "/cpus");
    if (fdt_get_u64(fdt, cpus, "timebase-frequency", &hz))
        return hz;
    for (int n = fdt_first_child(fdt, cpus); n != FDT_NONE; n = fdt_next_sibling(fdt, n)) {
        if (fdt_get_u64(fdt, n, "timebase-frequency", &hz))
            return hz;
    }
    return 0;
}

const char *riscv_board_params(const struct fdt *fdt, paddr_t blob_pa, struct boot_params *bp)
{
    const char *err = fdt_boot_params(fdt, blob_pa, bp);
    if (!err)
        err = fdt_boot_devices(fdt, known_devices, ARRAY_SIZE(known_devices), bp);
    if (err)
        return err;
    bp->timer_hz = timebase_frequency(fdt);
    return NULL;
}
