/*
 * Filling struct boot_params from a device tree (see fdt_boot.h): the
 * parts every device-tree platform shares. Only lookups of the pure parser
 * (kernel/parse/fdt.c) are used, so a malformed tree yields a message
 * here, never a read outside the blob.
 */
#include "boot/fdt_boot.h"

#define PAGE 4096ull

/* End of [base, base + size), saturated at the top of the address space. */
static uint64_t range_end(uint64_t base, uint64_t size)
{
    return size > UINT64_MAX - base ? UINT64_MAX : base + size;
}

/* RAM is rounded inwards: a partial page is not usable. */
static bool add_ram(struct boot_params *bp, uint64_t base, uint64_t size)
{
    uint64_t start = base > UINT64_MAX - (PAGE - 1) ? UINT64_MAX & ~(PAGE - 1)
                                                    : (base + PAGE - 1) & ~(PAGE - 1);
    uint64_t end = range_end(base, size) & ~(PAGE - 1);
    return end <= start || boot_params_add_ram(bp, start, end - start);
}

/* Reserved and device ranges are rounded outwards: a page partly in use
 * is in use. */
static bool add_rounded_out(struct boot_params *bp, uint64_t base, uint64_t size, bool device)
{
    if (size == 0)
        return true;
    uint64_t start = base & ~(PAGE - 1);
    uint64_t end = range_end(base, size);
    end = end > UINT64_MAX - (PAGE - 1) ? UINT64_MAX & ~(PAGE - 1) : (end + PAGE - 1) & ~(PAGE - 1);
    return device ? boot_params_add_device(bp, start, end - start)
                  : boot_params_add_reserved(bp, start, end - start);
}

/* "memory", or (for a node name) "memory@<unit>". */
static bool says_memory(const char *s, bool unit_allowed)
{
    static const char memory[] = "memory";
    for (size_t i = 0; i < sizeof(memory) - 1; i++) {
        if (s[i] != memory[i])
            return false;
    }
    return s[6] == '\0' || (unit_allowed && s[6] == '@');
}

static bool is_memory_node(const struct fdt *fdt, int node)
{
    const char *type = fdt_get_string(fdt, node, "device_type");
    if (type)
        return says_memory(type, false);
    return says_memory(fdt_node_name(fdt, node), true); /* old trees omit device_type */
}

static const char *fill_ram(const struct fdt *fdt, struct boot_params *bp)
{
    uint32_t ac = fdt_address_cells(fdt, fdt->root), sc = fdt_size_cells(fdt, fdt->root);
    uint64_t base, size;
    for (int n = fdt_first_child(fdt, fdt->root); n != FDT_NONE; n = fdt_next_sibling(fdt, n)) {
        if (!is_memory_node(fdt, n) || !fdt_node_enabled(fdt, n))
            continue;
        for (unsigned i = 0; fdt_read_reg(fdt, n, i, ac, sc, &base, &size); i++) {
            if (!add_ram(bp, base, size))
                return "fdt: more RAM ranges than BOOT_MAX_RAM_REGIONS";
        }
    }
    return bp->ram_count ? NULL : "fdt: no RAM: no /memory node with a usable reg";
}

static const char *fill_reserved(const struct fdt *fdt, paddr_t blob_pa, struct boot_params *bp)
{
    static const char *const full = "fdt: more reserved ranges than BOOT_MAX_RESERVED_REGIONS";
    uint64_t base, size;
    if (!add_rounded_out(bp, blob_pa, fdt->total_size, false))
        return full;
    for (unsigned i = 0; fdt_rsvmap_entry(fdt, i, &base, &size); i++) {
        if (!add_rounded_out(bp, base, size, false))
            return full;
    }
    int rm = fdt_find_path(fdt, "/reserved-memory");
    uint32_t ac = fdt_address_cells(fdt, rm), sc = fdt_size_cells(fdt, rm);
    for (int n = fdt_first_child(fdt, rm); n != FDT_NONE; n = fdt_next_sibling(fdt, n)) {
        for (unsigned i = 0; fdt_read_reg(fdt, n, i, ac, sc, &base, &size); i++) {
            if (!add_rounded_out(bp, base, size, false))
                return full;
        }
    }
    return NULL;
}

/* linux,initrd-start/-end in /chosen, each one or two cells. */
static const char *fill_initrd(const struct fdt *fdt, int chosen, struct boot_params *bp)
{
    uint64_t start, end;
    bool has_start = fdt_get_prop(fdt, chosen, "linux,initrd-start", NULL) != NULL;
    bool has_end = fdt_get_prop(fdt, chosen, "linux,initrd-end", NULL) != NULL;
    if (!has_start && !has_end)
        return NULL;
    if (!has_start || !has_end)
        return "fdt: /chosen has only one of linux,initrd-start and linux,initrd-end";
    if (!fdt_get_u64(fdt, chosen, "linux,initrd-start", &start) ||
        !fdt_get_u64(fdt, chosen, "linux,initrd-end", &end))
        return "fdt: linux,initrd-start/-end must be 4 or 8 bytes long";
    if (end < start)
        return "fdt: linux,initrd-end is below linux,initrd-start";
    if (end == start)
        return NULL;
    if (!boot_params_add_module(bp, start, end - start, "initrd"))
        return "fdt: more boot modules than BOOT_MAX_MODULES";
    if (!add_rounded_out(bp, start, end - start, false))
        return "fdt: more reserved ranges than BOOT_MAX_RESERVED_REGIONS";
    return NULL;
}

static void fill_strings(const struct fdt *fdt, int chosen, struct boot_params *bp)
{
    const char *args = fdt_get_string(fdt, chosen, "bootargs");
    boot_params_set_cmdline(bp, args ? args : "");
    const char *model = fdt_get_string(fdt, fdt->root, "model");
    if (!model)
        model = fdt_get_string(fdt, fdt->root, "compatible");
    boot_params_set_string(bp->platform, model ? model : "");
}

static bool is_one_of(const struct fdt *fdt, int node, const char *const *compatibles,
                      size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (fdt_is_compatible(fdt, node, compatibles[i]))
            return true;
    }
    return false;
}

const char *fdt_boot_devices(const struct fdt *fdt, const char *const *compatibles, size_t count,
                             struct boot_params *bp)
{
    uint64_t base, size;
    for (int n = fdt_next_node(fdt, FDT_NONE); n != FDT_NONE; n = fdt_next_node(fdt, n)) {
        if (!is_one_of(fdt, n, compatibles, count) || !fdt_node_enabled(fdt, n))
            continue;
        for (unsigned i = 0; fdt_reg(fdt, n, i, &base, &size); i++) {
            if (!add_rounded_out(bp, base, size, true))
                return "fdt: more device ranges than BOOT_MAX_DEVICE_REGIONS";
        }
    }
    return NULL;
}

const char *fdt_boot_params(const struct fdt *fdt, paddr_t blob_pa, struct boot_params *bp)
{
    if (fdt->root == FDT_NONE)
        return "fdt: blob not opened";
    int chosen = fdt_find_path(fdt, "/chosen");
    const char *err = fill_ram(fdt, bp);
    if (!err)
        err = fill_reserved(fdt, blob_pa, bp);
    if (!err)
        err = fill_initrd(fdt, chosen, bp);
    if (err)
        return err;
    fill_strings(fdt, chosen, bp);
    bp->fdt_base = blob_pa; /* user space finds its devices in it (docs/io.md) */
    bp->fdt_size = fdt->total_size;
    return NULL;
}
