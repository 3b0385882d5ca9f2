/*
 * What the RISC-V port reads from the device tree about the board (see
 * board.h): which devices the kernel keeps for itself, and the rate of the
 * time CSR. The generic parts (RAM, initrd, command line) are in
 * kernel/boot/fdt_boot.c, the parser in kernel/parse/fdt.c.
 */
#include "board.h"

#include "boot/fdt_boot.h"
#include "kernel.h"

/* The devices the kernel drives (or that only the kernel may touch), whose
 * MMIO ranges go into boot_params.devices and are never handed out. Every
 * other device lies in the physical address space the root task receives
 * as device untyped memory. */
static const char *const known_devices[] = {
    "ns16550a", "ns16550", "riscv,plic0", "sifive,plic-1.0.0", "riscv,clint0",
    "sifive,clint0", "sifive,test0", "sifive,test1",
    /* the ACLINT's parts (virt with aclint=on): the firmware's MSWI and
     * MTIMER, the kernel's SSWI (sswi.c) */
    "riscv,aclint-mswi", "riscv,aclint-mtimer", "riscv,aclint-sswi",
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

const char *riscv_board_hart_isa(const struct fdt *fdt, uint64_t hart_id)
{
    int cpus = fdt_find_path(fdt, "/cpus");
    if (cpus == FDT_NONE)
        return NULL;
    uint32_t address_cells = fdt_address_cells(fdt, cpus), size_cells = fdt_size_cells(fdt, cpus);
    for (int n = fdt_first_child(fdt, cpus); n != FDT_NONE; n = fdt_next_sibling(fdt, n)) {
        uint64_t reg, size;
        if (fdt_read_reg(fdt, n, 0, address_cells, size_cells, &reg, &size) && reg == hart_id)
            return fdt_get_string(fdt, n, "riscv,isa");
    }
    return NULL;
}

/* A hart the kernel may start: a /cpus child with device_type "cpu" (not
 * cpu-map), status okay, and a hart id in reg. */
static bool usable_hart(const struct fdt *fdt, int node, uint32_t address_cells,
                        uint32_t size_cells, uint64_t *hart_id)
{
    const char *type = fdt_get_string(fdt, node, "device_type");
    uint64_t size;
    return type && strcmp(type, "cpu") == 0 && fdt_node_enabled(fdt, node) &&
           fdt_read_reg(fdt, node, 0, address_cells, size_cells, hart_id, &size);
}

unsigned riscv_board_harts(const struct fdt *fdt, uint64_t boot_hart, uint64_t *ids,
                           unsigned max)
{
    int cpus = fdt_find_path(fdt, "/cpus");
    unsigned found = 0, kept = 1;
    ids[0] = boot_hart;
    if (cpus == FDT_NONE)
        return 1;
    uint32_t address_cells = fdt_address_cells(fdt, cpus), size_cells = fdt_size_cells(fdt, cpus);
    for (int n = fdt_first_child(fdt, cpus); n != FDT_NONE; n = fdt_next_sibling(fdt, n)) {
        uint64_t id;
        if (!usable_hart(fdt, n, address_cells, size_cells, &id) || id == boot_hart)
            continue;
        found++;
        if (kept < max)
            ids[kept++] = id;
    }
    return found + 1;
}

/* Whether the '_'-separated multi-letter part of `isa` ("rv64imac_zicsr_
 * sstc") has the token `ext`. */
static bool isa_string_has(const char *isa, const char *ext)
{
    size_t len = strlen(ext);
    for (const char *p = isa; *p; p++) {
        if (*p == '_' && strncmp(p + 1, ext, len) == 0 && (p[1 + len] == '_' || p[1 + len] == '\0'))
            return true;
    }
    return false;
}

/* Whether the string list `list` of `size` bytes holds `ext`. */
static bool string_list_has(const char *list, uint32_t size, const char *ext)
{
    for (uint32_t at = 0; at < size;) {
        const char *s = list + at;
        size_t n = strnlen(s, size - at);
        if (n == strlen(ext) && strncmp(s, ext, n) == 0)
            return true;
        at += (uint32_t)n + 1;
    }
    return false;
}

bool riscv_board_hart_has_extension(const struct fdt *fdt, uint64_t hart_id, const char *ext)
{
    const char *isa = riscv_board_hart_isa(fdt, hart_id);
    if (isa && isa_string_has(isa, ext))
        return true;
    int cpus = fdt_find_path(fdt, "/cpus");
    uint32_t address_cells = fdt_address_cells(fdt, cpus), size_cells = fdt_size_cells(fdt, cpus);
    for (int n = fdt_first_child(fdt, cpus); cpus != FDT_NONE && n != FDT_NONE;
         n = fdt_next_sibling(fdt, n)) {
        uint64_t reg, size;
        uint32_t len;
        const char *list = fdt_get_prop(fdt, n, "riscv,isa-extensions", &len);
        if (list && fdt_read_reg(fdt, n, 0, address_cells, size_cells, &reg, &size) &&
            reg == hart_id)
            return string_list_has(list, len, ext);
    }
    return false;
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

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The node whose "phandle" (or, in old trees, "linux,phandle") is `ph`. */
static int node_by_phandle(const struct fdt *fdt, uint32_t ph)
{
    for (int n = fdt_next_node(fdt, FDT_NONE); n != FDT_NONE; n = fdt_next_node(fdt, n)) {
        uint32_t v;
        if ((fdt_get_u32(fdt, n, "phandle", &v) || fdt_get_u32(fdt, n, "linux,phandle", &v)) &&
            v == ph)
            return n;
    }
    return FDT_NONE;
}

int riscv_board_hart_intc(const struct fdt *fdt, uint64_t hart_id)
{
    int cpus = fdt_find_path(fdt, "/cpus");
    for (int cpu = fdt_first_child(fdt, cpus); cpu != FDT_NONE; cpu = fdt_next_sibling(fdt, cpu)) {
        uint32_t reg;
        if (!fdt_get_u32(fdt, cpu, "reg", &reg) || reg != hart_id)
            continue;
        for (int c = fdt_first_child(fdt, cpu); c != FDT_NONE; c = fdt_next_sibling(fdt, c)) {
            if (fdt_is_compatible(fdt, c, "riscv,cpu-intc"))
                return c;
        }
    }
    return FDT_NONE;
}

int riscv_board_irq_index(const struct fdt *fdt, int node, int intc, uint32_t cause)
{
    uint32_t len;
    const uint8_t *p = fdt_get_prop(fdt, node, "interrupts-extended", &len);
    unsigned cells = p ? len / 4 : 0, i = 0;
    for (int index = 0; i < cells; index++) {
        int target = node_by_phandle(fdt, be32(p + 4 * i));
        uint32_t n;
        if (target == FDT_NONE || !fdt_get_u32(fdt, target, "#interrupt-cells", &n) || n == 0 ||
            n > cells - i - 1)
            return -1; /* malformed: we cannot tell where the next entry starts */
        if (target == intc && be32(p + 4 * (i + 1)) == cause)
            return index;
        i += 1 + n;
    }
    return -1;
}
