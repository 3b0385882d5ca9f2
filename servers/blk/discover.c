/*
 * Finding the disk from the firmware's tables, never from a board's
 * addresses: the device tree the kernel maps for us (RISC-V), or the ACPI
 * RSDP it found (x86-64), whose MCFG gives the PCI Express configuration
 * window (ECAM: PCI Express Base 4.0, 7.2.2; bus b, device d, function f at
 * base + (b << 20 | d << 15 | f << 12)). Every table is checked by the
 * pure parsers in kernel/parse/ before a field of it is used.
 */
#include "bk_acpi.h"
#include "bk_fdt.h"
#include "blk.h"

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */
#define VIRTIO_ID_BLOCK 2u
#define VIRTIO_VENDOR 0x1af4u
#define PCI_MAX_BRIDGE_DEPTH 4

/* ---- the device tree: virtio-mmio (virtio 1.1, 4.2) ------------------ */

static uint32_t mmio32(volatile uint8_t *regs, unsigned off)
{
    return *(volatile uint32_t *)(regs + off);
}

/* Node `n` is a virtio,mmio slot: map it and see what is behind it. NULL
 * with *found set when it is a version-2 block device. */
static const char *probe_mmio_node(const struct fdt *fdt, int n, struct blk_hw *dev,
                                   bool *found)
{
    uint64_t base, size;
    uint32_t irq;
    const char *err = NULL;
    if (!fdt_reg(fdt, n, 0, &base, &size) || size < 0x200)
        return "fdt: a virtio,mmio node has no usable reg (at least 0x200 bytes)";
    volatile uint8_t *regs = devmem_map(base, size, &err);
    if (!regs)
        return err;
    if (mmio32(regs, 0x000) != VIRTIO_MMIO_MAGIC)
        return "virtio-mmio: the registers lack the magic value \"virt\"";
    if (mmio32(regs, 0x008) != VIRTIO_ID_BLOCK)
        return NULL; /* an empty slot (device 0) or another kind of device */
    if (mmio32(regs, 0x004) != 2)
        return "virtio-mmio: the block device is legacy (version 1); QEMU gives version 2 with "
               "-global virtio-mmio.force-legacy=false";
    if (!fdt_get_u32(fdt, n, "interrupts", &irq) || irq == 0)
        return "fdt: the virtio,mmio block device has no single-cell interrupts property";
    dev->transport = BLK_MMIO;
    dev->regs = regs;
    dev->regs_pa = base;
    dev->lines[0] = irq;
    dev->line_count = 1;
    bk_snprintf(dev->where, sizeof(dev->where), "virtio-mmio at 0x%llx, interrupt %u",
             (unsigned long long)base, irq);
    *found = true;
    return NULL;
}

static const char *discover_fdt(const struct bk_bootinfo *bi, struct blk_hw *dev)
{
    struct fdt fdt;
    const char *err = fdt_open(&fdt, (const void *)(uintptr_t)bi->fdt_vaddr, bi->fdt_size);
    if (err)
        return err;
    bool found = false;
    for (int n = fdt_find_compatible(&fdt, FDT_NONE, "virtio,mmio"); n != FDT_NONE && !found;
         n = fdt_find_compatible(&fdt, n, "virtio,mmio")) {
        if (!fdt_node_enabled(&fdt, n))
            continue;
        err = probe_mmio_node(&fdt, n, dev, &found);
        if (err)
            return err;
    }
    return found ? NULL : "fdt: no virtio,mmio node holds a block device";
}

/* ---- ACPI: the MCFG ----------------------------------------------------- */

/* The table at `pa`, mapped whole and checked. */
static const char *map_table(uint64_t pa, const char *sig, struct acpi_table *t)
{
    const char *err = NULL;
    uint32_t len;
    volatile void *h = devmem_map(pa, ACPI_HEADER_SIZE, &err);
    if (!h)
        return err;
    if (!acpi_table_length((const void *)h, ACPI_HEADER_SIZE, &len) || len > 0x100000)
        return "acpi: a table is longer than 1 MiB";
    volatile void *p = devmem_map(pa, len < ACPI_HEADER_SIZE ? ACPI_HEADER_SIZE : len, &err);
    if (!p)
        return err;
    return acpi_table_check((const void *)p, len < ACPI_HEADER_SIZE ? ACPI_HEADER_SIZE : len,
                            sig, t);
}

static const char *find_mcfg(const struct bk_bootinfo *bi, struct acpi_mcfg_entry *ecam)
{
    const char *err;
    struct acpi_rsdp rsdp;
    struct acpi_table root, t;
    if ((err = acpi_rsdp_check(bi->acpi_rsdp, bi->acpi_rsdp_size, &rsdp)))
        return err;
    bool x = rsdp.revision >= 2 && rsdp.xsdt;
    if ((err = map_table(x ? rsdp.xsdt : rsdp.rsdt, x ? "XSDT" : "RSDT", &root)))
        return err;
    for (unsigned i = 0; i < acpi_root_entry_count(&root); i++) {
        uint64_t pa = acpi_root_entry(&root, i);
        if (map_table(pa, "MCFG", &t) != NULL)
            continue; /* another table (or a damaged one: not ours to judge) */
        if (acpi_mcfg_count(&t) == 0)
            return "acpi: the MCFG lists no configuration window";
        return acpi_mcfg_entry(&t, 0, ecam);
    }
    return "acpi: no MCFG table: this machine offers no PCI Express configuration window";
}

/* ---- PCI: a virtio block function (virtio 1.1, 4.1) -------------------- */

struct pci_walk {
    struct acpi_mcfg_entry ecam;
    struct blk_hw *dev;
    const char *err;
    bool found;
};

static volatile uint8_t *function_config(struct pci_walk *w, unsigned bus, unsigned d, unsigned f)
{
    uint64_t pa = w->ecam.base + ((uint64_t)bus << 20 | d << 15 | f << 12);
    return devmem_map(pa, 4096, &w->err);
}

/* Maps one structure of the layout (its physical address in *pa); NULL
 * with w->err on failure. */
static volatile uint8_t *map_region(struct pci_walk *w, const uint8_t *cfg,
                                    const struct virtio_pci_region *r, uint64_t *pa)
{
    uint64_t bar;
    if (!pci_bar_address(cfg, r->bar, &bar) || bar == 0) {
        w->err = "pci: a virtio structure lies in an unassigned or I/O BAR";
        return NULL;
    }
    *pa = bar + r->offset;
    return devmem_map(*pa, r->length ? r->length : 1, &w->err);
}

static void take_virtio_function(struct pci_walk *w, volatile uint8_t *c, unsigned bus,
                                 unsigned d, unsigned f)
{
    uint8_t cfg[256];
    struct virtio_pci_layout l;
    for (unsigned i = 0; i < 256; i++)
        cfg[i] = c[i];
    if ((w->err = virtio_pci_layout(cfg, &l)))
        return;
    struct blk_hw *dev = w->dev;
    if (!(dev->common = map_region(w, cfg, &l.common, &dev->common_pa)) ||
        !(dev->notify = map_region(w, cfg, &l.notify, &dev->notify_pa)) ||
        !(dev->isr = map_region(w, cfg, &l.isr, &dev->isr_pa)) ||
        !(dev->config = map_region(w, cfg, &l.device, &dev->config_pa)))
        return;
    if (cfg[0x3d] == 0) {
        w->err = "pci: the virtio block function has no interrupt pin";
        return;
    }
    /* Command register: memory space (bit 1) and bus master (bit 2) on,
     * INTx disable (bit 10) off. */
    *(volatile uint16_t *)(c + 4) = (uint16_t)((cfg16(cfg, 4) | 6u) & ~(1u << 10));
    dev->transport = BLK_PCI;
    dev->pci_rid = (uint16_t)(bus << 8 | d << 3 | f);
    dev->notify_multiplier = l.notify_multiplier;
    bk_snprintf(dev->where, sizeof(dev->where), "virtio-pci at %02x:%02x.%x, INT%c#", bus, d, f,
             'A' + cfg[0x3d] - 1);
    w->found = true;
}

static void walk_bus(struct pci_walk *w, unsigned bus, int depth)
{
    for (unsigned d = 0; d < 32 && !w->found && !w->err; d++) {
        for (unsigned f = 0; f < 8 && !w->found && !w->err; f++) {
            volatile uint8_t *c = function_config(w, bus, d, f);
            if (!c)
                return;
            uint16_t vendor = *(volatile uint16_t *)c, device = *(volatile uint16_t *)(c + 2);
            if (vendor == 0xffff) {
                if (f == 0)
                    break; /* no device */
                continue;
            }
            uint8_t type = c[0x0e];
            if (vendor == VIRTIO_VENDOR && (device == 0x1042 || device == 0x1001))
                take_virtio_function(w, c, bus, d, f);
            else if ((type & 0x7f) == 1 && depth < PCI_MAX_BRIDGE_DEPTH && c[0x19] > bus &&
                     c[0x19] <= w->ecam.bus_end)
                walk_bus(w, c[0x19], depth + 1); /* a bridge: its secondary bus */
            if (f == 0 && !(type & 0x80))
                break; /* not a multi-function device */
        }
    }
}

/* PCI interrupt pins reach the IOAPIC's pins 16 to 23 on a PC (q35 routes
 * PIRQ A-H there; its IOAPIC has 24 pins); which one is ours only ACPI's
 * _PRT (AML, not read here) says, so every one of them the kernel has
 * becomes a candidate and the first completion tells (virtio.c). Lines
 * past the IOAPIC are the kernel's own: the IOMMU's DMA fault line (24 on
 * q35 with an IOMMU), which the driver's supervisor takes. */
#define PCI_FIRST_LINE 16u
#define PCI_LINES 8u
_Static_assert(PCI_LINES <= BLK_MAX_LINES, "the candidates fit blk_hw.lines");

static void pci_candidate_lines(struct blk_hw *dev)
{
    dev->line_count = 0;
    for (unsigned line = PCI_FIRST_LINE; line < PCI_FIRST_LINE + PCI_LINES; line++)
        dev->lines[dev->line_count++] = line;
}

static const char *discover_pci(const struct bk_bootinfo *bi, struct blk_hw *dev)
{
    struct pci_walk w = { .dev = dev };
    const char *err = find_mcfg(bi, &w.ecam);
    if (err)
        return err;
    walk_bus(&w, w.ecam.bus_start, 0);
    if (w.err)
        return w.err;
    if (!w.found)
        return "pci: no virtio block function (vendor 0x1af4, device 0x1042 or 0x1001)";
    pci_candidate_lines(dev);
    return NULL;
}

const char *blk_discover(const struct bk_bootinfo *bi, struct blk_hw *dev)
{
    *dev = (struct blk_hw){ 0 };
    if (bi->fdt_vaddr)
        return discover_fdt(bi, dev);
    if (bi->acpi_rsdp_size)
        return discover_pci(bi, dev);
    return "no firmware tables: the kernel handed over neither a device tree nor an ACPI RSDP";
}
