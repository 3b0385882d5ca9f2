/*
 * Intel VT-d remapping units: found from ACPI's DMAR at boot, then driven
 * through their registers (VT-d rev. 4.1, chapter 11 "Register
 * Descriptions"; section numbers below are that document's).
 *
 * What the kernel asks of a unit: legacy-mode root and context tables
 * (RTADDR.TTM = 00), second-level translation with 3-level (39-bit)
 * tables (CAP.SAGAW bit 1), register-based invalidation (no queued
 * invalidation) and primary fault recording with a fault event
 * interrupt. Interrupt remapping is left off: interrupts keep the
 * compatibility format the IOAPIC uses (QEMU then needs no split irqchip).
 *
 * Invariants:
 *  - translation is on in every unit or in none (units_on);
 *  - every unit points at the one root table of iommu_tables.c, so a
 *    device's context is the same whichever unit serves it;
 *  - a DMA the tables do not allow is blocked by the unit and recorded;
 *    the fault interrupt logs and clears every record.
 */
#include "iommu.h"

#include "bk_dmar.h"
#include "boot/boot_params.h"
#include "x86.h"

/* Register offsets (11.4). */
#define REG_VER 0x00
#define REG_CAP 0x08
#define REG_ECAP 0x10
#define REG_GCMD 0x18
#define REG_GSTS 0x1c
#define REG_RTADDR 0x20
#define REG_CCMD 0x28
#define REG_FSTS 0x34
#define REG_FECTL 0x38
#define REG_FEDATA 0x3c
#define REG_FEADDR 0x40
#define REG_FEUADDR 0x44

/* CAP (11.4.2) and ECAP (11.4.3) fields. */
#define CAP_ND(c) ((unsigned)((c) & 7))
#define CAP_RWBF (1ull << 4)
#define CAP_CM (1ull << 7)
#define CAP_SAGAW_39 (1ull << 9) /* SAGAW bit 1: 3-level tables, 39-bit */
#define CAP_FRO(c) ((unsigned)(((c) >> 24) & 0x3ff) * 16u)
#define CAP_NFR(c) ((unsigned)(((c) >> 40) & 0xff) + 1u)
#define ECAP_C (1ull << 0)
#define ECAP_IRO(e) ((unsigned)(((e) >> 8) & 0x3ff) * 16u)

/* GCMD / GSTS bits (11.4.4, 11.4.5): a command bit and its status share
 * a position. The persistent ones are written back with every command. */
#define GCMD_TE (1u << 31)
#define GCMD_SRTP (1u << 30)
#define GCMD_WBF (1u << 27)
#define GSTS_PERSISTENT (GCMD_TE | (1u << 26) | (1u << 25) | (1u << 23)) /* TE QIE IRE CFI */

/* CCMD (11.4.7): invalidate, globally. */
#define CCMD_ICC (1ull << 63)
#define CCMD_GLOBAL (1ull << 61)

/* IOTLB invalidate register (11.4.8.1), at ECAP.IRO + 8. */
#define IOTLB_IVT (1ull << 63)
#define IOTLB_GLOBAL (1ull << 60)
#define IOTLB_DRAIN (3ull << 48) /* DR, DW */

/* FSTS (11.4.9.1), FECTL (11.4.9.2). */
#define FSTS_PFO (1u << 0)
#define FSTS_PPF (1u << 1)
#define FECTL_IM (1u << 31)

/* A fault record (11.4.14): 128 bits; in its high qword F is bit 63,
 * T (1: a read, 0: a write) bit 62, the reason bits 39:32, the source id
 * bits 15:0. The low qword holds the page address. */
#define FRCD_F (1ull << 63)
#define FRCD_READ (1ull << 62)

#define POLL_LIMIT 10000000u /* register handshakes finish in a few reads */

struct unit {
    paddr_t base;
    volatile uint8_t *regs;
    uint64_t cap, ecap;
    uint16_t segment;
    bool include_pci_all;
    /* Requester ids of the one-hop endpoints of its scope (bus:dev.fn). */
    uint16_t endpoints[16];
    unsigned endpoint_count;
};

static struct unit units[IOMMU_MAX_UNITS];
static unsigned unit_count;
static bool units_on;
static bool walk_coherent = true; /* every unit's ECAP.C */

/* The faults kept for IOSpaceControl: TakeFault, oldest first; when full,
 * the oldest goes and is counted as lost. */
#define FAULTS_KEPT 16
static struct arch_dma_fault faults[FAULTS_KEPT];
static unsigned faults_first, faults_count;
static uint64_t faults_lost;

/* The interrupt line of fault events (one past the IOAPIC's pins): its
 * handler's notification is signalled at a fault, and the units' fault
 * event stays masked (FECTL.IM) until the handler acks. A fault while
 * masked sets FECTL.IP, and the unmask delivers it (11.4.9.2). */
static struct {
    unsigned number;
    bool enabled;    /* an IRQHandler exists for it */
    bool in_service; /* reported, not acked yet */
} fault_line;

static uint32_t rd32(const struct unit *u, unsigned reg)
{
    return *(volatile uint32_t *)(u->regs + reg);
}

static uint64_t rd64(const struct unit *u, unsigned reg)
{
    return *(volatile uint64_t *)(u->regs + reg);
}

static void wr32(const struct unit *u, unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(u->regs + reg) = v;
}

static void wr64(const struct unit *u, unsigned reg, uint64_t v)
{
    *(volatile uint64_t *)(u->regs + reg) = v;
}

/* ---- Boot: the DMAR ------------------------------------------------------ */

/* The one-hop PCI endpoints of the unit's scope (the DMAR is readable at
 * boot only: they are copied). */
static BOOT_CODE void keep_endpoints(struct unit *u, const struct acpi_dmar_unit *du)
{
    struct acpi_dmar_scope s;
    for (unsigned i = 0; acpi_dmar_scope(du->scope, du->scope_length, i, &s) == NULL; i++) {
        if (s.type != ACPI_DMAR_SCOPE_PCI_ENDPOINT || s.path_count != 1 ||
            u->endpoint_count == ARRAY_SIZE(u->endpoints))
            continue; /* behind bridges: not served (said in docs/security.md) */
        u->endpoints[u->endpoint_count++] =
            (uint16_t)(s.start_bus << 8 | s.device << 3 | s.function);
    }
}

static BOOT_CODE void report_rmrrs(const struct acpi_table *dmar, unsigned count)
{
    struct acpi_dmar_rmrr r;
    for (unsigned i = 0; i < count && acpi_dmar_rmrr(dmar, i, &r) == NULL; i++)
        kprintf("x86_64: IOMMU: firmware reserves 0x%llx-0x%llx for DMA (RMRR); its devices "
                "are blocked from it like from all memory until given an IO space\n",
                (unsigned long long)r.base, (unsigned long long)r.limit);
}

BOOT_CODE void x86_iommu_find(const struct acpi_table *dmar, const char *why_none,
                              struct boot_params *bp)
{
    struct acpi_dmar d;
    const char *err = dmar ? acpi_dmar_check(dmar, &d) : why_none;
    if (err) {
        kprintf("x86_64: no IOMMU (%s): device DMA is not isolated, drivers are trusted\n",
                err);
        return;
    }
    for (unsigned i = 0; i < d.units; i++) {
        struct acpi_dmar_unit du;
        if (i == IOMMU_MAX_UNITS || acpi_dmar_unit(dmar, i, &du) != NULL) {
            kprintf("x86_64: IOMMU: %u remapping units, more than the %u kept: none used\n",
                    d.units, IOMMU_MAX_UNITS);
            unit_count = 0;
            return;
        }
        units[i] = (struct unit){ .base = du.register_base, .segment = du.segment,
                                  .include_pci_all = du.include_pci_all };
        keep_endpoints(&units[i], &du);
        if (!boot_params_add_device(bp, du.register_base, PAGE_SIZE))
            panic("x86_64: boot parameter tables are full");
        kprintf("x86_64: IOMMU: VT-d unit at 0x%llx, segment %u, serves %s (%u PCI "
                "endpoints listed)\n", (unsigned long long)du.register_base, du.segment,
                du.include_pci_all ? "every PCI device not another unit's"
                                   : "the devices its scope lists",
                units[i].endpoint_count);
    }
    unit_count = d.units;
    report_rmrrs(dmar, d.rmrrs);
}

/* ---- Register handshakes ------------------------------------------------- */

static bool poll_gsts(const struct unit *u, uint32_t bit, bool want)
{
    for (unsigned i = 0; i < POLL_LIMIT; i++) {
        if (((rd32(u, REG_GSTS) & bit) != 0) == want)
            return true;
    }
    kprintf("x86_64: IOMMU at 0x%llx: status bit 0x%x did not become %u\n",
            (unsigned long long)u->base, bit, want);
    return false;
}

/* Issues the one-shot command `bit` with the persistent state kept. */
static bool command(const struct unit *u, uint32_t bit, bool done_when_set)
{
    wr32(u, REG_GCMD, (rd32(u, REG_GSTS) & GSTS_PERSISTENT) | bit);
    return poll_gsts(u, bit, done_when_set);
}

static bool poll64_clear(const struct unit *u, unsigned reg, uint64_t bit)
{
    for (unsigned i = 0; i < POLL_LIMIT; i++) {
        if (!(rd64(u, reg) & bit))
            return true;
    }
    kprintf("x86_64: IOMMU at 0x%llx: invalidation at 0x%x did not finish\n",
            (unsigned long long)u->base, reg);
    return false;
}

/* Makes the unit see table writes still in a write buffer (6.8). */
static void flush_write_buffer(const struct unit *u)
{
    if (u->cap & CAP_RWBF)
        (void)command(u, GCMD_WBF, false);
}

static void invalidate_context_cache(const struct unit *u)
{
    flush_write_buffer(u);
    wr64(u, REG_CCMD, CCMD_ICC | CCMD_GLOBAL);
    (void)poll64_clear(u, REG_CCMD, CCMD_ICC);
}

static void invalidate_iotlb(const struct unit *u)
{
    unsigned reg = ECAP_IRO(u->ecap) + 8;
    flush_write_buffer(u);
    wr64(u, reg, IOTLB_IVT | IOTLB_GLOBAL | IOTLB_DRAIN);
    (void)poll64_clear(u, reg, IOTLB_IVT);
}

void x86_iommu_context_changed(void)
{
    for (unsigned i = 0; i < unit_count && units_on; i++) {
        invalidate_context_cache(&units[i]);
        invalidate_iotlb(&units[i]);
    }
}

/* Not-present to present needs no invalidation unless the unit caches
 * not-present entries (CAP.CM, 6.1); every removal or change does. */
void x86_iommu_mapping_changed(bool added)
{
    for (unsigned i = 0; i < unit_count && units_on; i++) {
        if (!added || (units[i].cap & CAP_CM))
            invalidate_iotlb(&units[i]);
        else
            flush_write_buffer(&units[i]);
    }
}

/* A unit whose walks do not snoop the CPU caches (ECAP.C clear) reads
 * memory: the line written must reach it first. */
void x86_iommu_flush_entry(const void *entry)
{
    if (!walk_coherent)
        __asm__ volatile("clflush (%0)" ::"r"(entry) : "memory");
    __asm__ volatile("sfence" ::: "memory");
}

/* ---- Boot: translation on ---------------------------------------------- */

static BOOT_CODE const char *unit_unusable(const struct unit *u)
{
    if (!(u->cap & CAP_SAGAW_39))
        return "no 3-level (39-bit) second-level tables (CAP.SAGAW bit 1)";
    if (rd32(u, REG_GSTS) & GCMD_TE)
        return "translation is on already (left so by firmware)";
    if (ECAP_IRO(u->ecap) + 16 > PAGE_SIZE || CAP_FRO(u->cap) + 16 * CAP_NFR(u->cap) > PAGE_SIZE)
        return "registers past its first page";
    return NULL;
}

/* The fault event as an MSI to this CPU's local APIC (11.4.9.3-5; the
 * address format is the SDM's, vol. 3, 11.11.1), then unmasked. */
static BOOT_CODE void route_faults(const struct unit *u, unsigned vector)
{
    uint32_t id[4];
    cpuid(1, 0, id);
    wr32(u, REG_FEDATA, vector);
    wr32(u, REG_FEADDR, 0xfee00000u | (id[1] >> 24) << 12);
    wr32(u, REG_FEUADDR, 0);
    wr32(u, REG_FSTS, FSTS_PFO); /* write 1 to clear an old overflow */
    wr32(u, REG_FECTL, 0);
}

static BOOT_CODE bool start_unit(struct unit *u, unsigned vector)
{
    wr64(u, REG_RTADDR, x86_iommu_root_table()); /* TTM 00: legacy tables */
    if (!command(u, GCMD_SRTP, true))
        return false;
    invalidate_context_cache(u);
    invalidate_iotlb(u);
    route_faults(u, vector);
    return command(u, GCMD_TE, true);
}

BOOT_CODE void x86_iommu_init(unsigned vector, unsigned line)
{
    fault_line.number = line;
    for (unsigned i = 0; i < unit_count; i++) {
        struct unit *u = &units[i];
        u->regs = arch_phys_to_virt(u->base);
        u->cap = rd64(u, REG_CAP);
        u->ecap = rd64(u, REG_ECAP);
        walk_coherent = walk_coherent && (u->ecap & ECAP_C);
        const char *why = unit_unusable(u);
        if (why) {
            kprintf("x86_64: IOMMU at 0x%llx not used: %s; device DMA is not isolated\n",
                    (unsigned long long)u->base, why);
            unit_count = 0;
            return;
        }
    }
    for (unsigned i = 0; i < unit_count; i++) {
        if (!start_unit(&units[i], vector))
            panic("x86_64: IOMMU at 0x%llx did not take its root table or turn translation "
                  "on", (unsigned long long)units[i].base);
        uint32_t ver = rd32(&units[i], REG_VER);
        kprintf("x86_64: IOMMU: unit at 0x%llx (VT-d %u.%u) translates: 39-bit IO addresses, "
                "%u domains, %u fault records; every device's DMA is blocked until it has "
                "an IO space\n", (unsigned long long)units[i].base, (ver >> 4) & 0xf, ver & 0xf,
                x86_iommu_domain_count(), CAP_NFR(units[i].cap));
    }
    units_on = unit_count > 0;
}

bool x86_iommu_on(void)
{
    return units_on;
}

bool x86_iommu_in_scope(unsigned rid)
{
    for (unsigned i = 0; i < unit_count; i++) {
        if (units[i].segment != 0)
            continue;
        if (units[i].include_pci_all)
            return true;
        for (unsigned e = 0; e < units[i].endpoint_count; e++) {
            if (units[i].endpoints[e] == rid)
                return true;
        }
    }
    return false;
}

unsigned x86_iommu_domain_count(void)
{
    unsigned n = 1u << 16;
    for (unsigned i = 0; i < unit_count; i++) {
        unsigned d = 1u << (4 + 2 * CAP_ND(units[i].cap)); /* 11.4.2: ND */
        n = d < n ? d : n;
    }
    return n;
}

/* ---- Faults ---------------------------------------------------------------- */

static const char *fault_reason(unsigned fr)
{
    switch (fr) {
    case 0x1: return "no root entry for its bus";
    case 0x2: return "no IO space (context entry not present)";
    case 0x3: return "context entry invalid";
    case 0x4: return "address beyond the IO address width";
    case 0x5: return "write not allowed: the page is not mapped, or mapped read-only";
    case 0x6: return "read not allowed: the page is not mapped";
    case 0x7: return "invalid IO page table entry";
    default: return "other (VT-d fault reason code)";
    }
}

static void keep_fault(unsigned sid, uint64_t iova, bool write, unsigned reason)
{
    if (faults_count == FAULTS_KEPT) {
        faults_first = (faults_first + 1) % FAULTS_KEPT;
        faults_count--;
        faults_lost++;
    }
    faults[(faults_first + faults_count++) % FAULTS_KEPT] =
        (struct arch_dma_fault){ .rid = sid, .iova = iova, .write = write, .reason = reason };
}

unsigned arch_iommu_fault_line(void)
{
    return fault_line.number;
}

static void mask_fault_events(bool masked)
{
    for (unsigned i = 0; i < unit_count; i++)
        wr32(&units[i], REG_FECTL, masked ? FECTL_IM : 0);
}

void x86_iommu_line_enable(void)
{
    fault_line.enabled = true;
    fault_line.in_service = false;
    mask_fault_events(false);
}

/* Without a handler the kernel still logs and keeps every fault. */
void x86_iommu_line_disable(void)
{
    fault_line.enabled = false;
    fault_line.in_service = false;
    mask_fault_events(false);
}

void x86_iommu_line_ack(void)
{
    if (!fault_line.enabled || !fault_line.in_service)
        return;
    fault_line.in_service = false;
    mask_fault_events(false);
}

/* Logs, keeps and clears record `index` of `u` if it holds a fault. */
static bool take_record(const struct unit *u, unsigned index)
{
    unsigned at = CAP_FRO(u->cap) + 16 * index;
    uint64_t hi = rd64(u, at + 8);
    if (!(hi & FRCD_F))
        return false;
    uint64_t lo = rd64(u, at);
    unsigned sid = (unsigned)(hi & 0xffff), fr = (unsigned)((hi >> 32) & 0xff);
    kprintf("x86_64: IOMMU: DMA fault blocked: device %02x:%02x.%u %s IO address 0x%llx: %s "
            "(reason 0x%x)\n", sid >> 8, (sid >> 3) & 0x1f, sid & 7,
            (hi & FRCD_READ) ? "read from" : "wrote to", (unsigned long long)(lo & ~0xfffull),
            fault_reason(fr), fr);
    keep_fault(sid, lo & ~0xfffull, !(hi & FRCD_READ), fr);
    wr32(u, at + 12, (uint32_t)(FRCD_F >> 32)); /* write 1 to F to clear it */
    return true;
}

/* Logs, keeps and clears every unit's records; whether any held a fault. */
static bool sweep_records(void)
{
    bool any = false;
    for (unsigned i = 0; i < unit_count; i++) {
        const struct unit *u = &units[i];
        uint32_t fsts = rd32(u, REG_FSTS);
        for (unsigned r = 0; r < CAP_NFR(u->cap) && (fsts & FSTS_PPF); r++)
            any |= take_record(u, r);
        if (fsts & FSTS_PFO)
            kprintf("x86_64: IOMMU at 0x%llx: fault records overflowed: faults were lost\n",
                    (unsigned long long)u->base);
        wr32(u, REG_FSTS, FSTS_PFO); /* write 1 to clear */
    }
    return any;
}

bool x86_iommu_fault_interrupt(unsigned *line)
{
    bool any = sweep_records();
    if (!any || !fault_line.enabled || fault_line.in_service)
        return false;
    fault_line.in_service = true;
    mask_fault_events(true);
    *line = fault_line.number;
    return true;
}

/* Sweeps the records first: a fault recorded while its event is masked
 * (the line in service, not yet acked) has raised no interrupt, and a
 * taker that reset a device must get every fault the device made before
 * that reset, not have one turn up later and be blamed on whoever drives
 * the device next (servers/blk/spawn.c, blk_stop()). */
bool arch_iommu_take_fault(struct arch_dma_fault *out, uint64_t *lost)
{
    (void)sweep_records();
    *lost = faults_lost;
    faults_lost = 0;
    if (faults_count == 0)
        return false;
    *out = faults[faults_first];
    faults_first = (faults_first + 1) % FAULTS_KEPT;
    faults_count--;
    return true;
}
