/*
 * The fake architecture's IOMMU: off unless a test turns it on
 * (fake_iommu_on), like a machine without one (RISC-V, a PC without
 * VT-d); on, a software model of the contract in kernel/arch.h: devices
 * with requester ids below FAKE_IOMMU_DEVICES can be claimed, each has a
 * root IO page table or none, and the walk goes through the IO page table
 * objects' own memory (3 levels, 9 bits each, entries "pa | rights | 1"),
 * as VT-d's second-level tables do. Invalidations are counted, and faults
 * are injected by fake_iommu_fault().
 */
#include <string.h>

#include "fake.h"

#define FAKE_IO_LEVELS 3
#define ENTRY_PRESENT 1ull
#define ENTRY_ADDR (~0xfffull)

bool fake_iommu_on;
unsigned fake_iommu_invalidations;
static paddr_t roots[FAKE_IOMMU_DEVICES];
static bool claimed[FAKE_IOMMU_DEVICES];
static struct arch_dma_fault kept[4];
static unsigned kept_count;
static uint64_t kept_lost;

void fake_iommu_reset(bool on)
{
    fake_iommu_on = on;
    fake_iommu_invalidations = 0;
    memset(roots, 0, sizeof(roots));
    memset(claimed, 0, sizeof(claimed));
    kept_count = 0;
    kept_lost = 0;
}

bool arch_iommu_present(void)
{
    return fake_iommu_on;
}

bool arch_iommu_claim_device(unsigned rid)
{
    if (!fake_iommu_on || rid >= FAKE_IOMMU_DEVICES)
        return false;
    claimed[rid] = true;
    return true;
}

uint64_t arch_iommu_iova_limit(void)
{
    return 1ull << 39;
}

static unsigned index_at(uint64_t iova, unsigned level)
{
    return (unsigned)(iova >> (12 + 9 * (level - 1))) & 511;
}

/* The table at `level` for `iova`, or NULL with the missing level. */
static uint64_t *walk(unsigned rid, uint64_t iova, unsigned level, unsigned *missing)
{
    uint64_t *t = roots[rid] ? arch_phys_to_virt(roots[rid]) : NULL;
    *missing = FAKE_IO_LEVELS;
    for (unsigned l = FAKE_IO_LEVELS; t && l > level; l--) {
        uint64_t e = t[index_at(iova, l)];
        *missing = l - 1;
        t = (e & ENTRY_PRESENT) ? arch_phys_to_virt(e & ENTRY_ADDR) : NULL;
    }
    return t;
}

enum arch_map_result arch_iommu_map_table(unsigned rid, uint64_t iova, paddr_t table_pa,
                                          unsigned *level)
{
    if (rid >= FAKE_IOMMU_DEVICES || !claimed[rid])
        return ARCH_MAP_BAD_ADDRESS;
    if (!roots[rid]) {
        roots[rid] = table_pa;
        *level = FAKE_IO_LEVELS;
        return ARCH_MAP_OK;
    }
    unsigned missing;
    for (unsigned l = FAKE_IO_LEVELS; l > 1; l--) {
        uint64_t *e = &walk(rid, iova, l, &missing)[index_at(iova, l)];
        if (!(*e & ENTRY_PRESENT)) {
            *e = table_pa | ENTRY_PRESENT;
            *level = l - 1;
            return ARCH_MAP_OK;
        }
    }
    return ARCH_MAP_ALREADY_MAPPED;
}

enum arch_map_result arch_iommu_map_frame(unsigned rid, uint64_t iova, paddr_t pa,
                                          unsigned rights, unsigned *missing_level)
{
    if (rid >= FAKE_IOMMU_DEVICES || !claimed[rid])
        return ARCH_MAP_BAD_ADDRESS;
    uint64_t *t = walk(rid, iova, 1, missing_level);
    if (!t)
        return ARCH_MAP_MISSING_TABLE;
    uint64_t *e = &t[index_at(iova, 1)];
    if (*e & ENTRY_PRESENT)
        return ARCH_MAP_ALREADY_MAPPED;
    *e = pa | (uint64_t)(rights & 6) | ENTRY_PRESENT;
    return ARCH_MAP_OK;
}

bool fake_iommu_translate(unsigned rid, uint64_t iova, paddr_t *pa, unsigned *rights)
{
    unsigned missing;
    uint64_t *t = rid < FAKE_IOMMU_DEVICES ? walk(rid, iova, 1, &missing) : NULL;
    uint64_t e = t ? t[index_at(iova, 1)] : 0;
    if (!(e & ENTRY_PRESENT))
        return false;
    *pa = e & ENTRY_ADDR;
    *rights = (unsigned)(e & 6) | 1u; /* VM_READ always */
    return true;
}

paddr_t fake_iommu_root(unsigned rid)
{
    return rid < FAKE_IOMMU_DEVICES ? roots[rid] : 0;
}

void arch_iommu_unmap_frame(unsigned rid, uint64_t iova, paddr_t pa)
{
    unsigned missing;
    uint64_t *t = rid < FAKE_IOMMU_DEVICES ? walk(rid, iova, 1, &missing) : NULL;
    uint64_t *e = t ? &t[index_at(iova, 1)] : NULL;
    if (e && (*e & ENTRY_PRESENT) && (*e & ENTRY_ADDR) == pa) {
        *e = 0;
        fake_iommu_invalidations++;
    }
}

void arch_iommu_unmap_table(unsigned rid, uint64_t iova, unsigned level, paddr_t table_pa)
{
    if (rid >= FAKE_IOMMU_DEVICES)
        return;
    if (level == FAKE_IO_LEVELS) {
        if (roots[rid] == table_pa) {
            roots[rid] = 0;
            fake_iommu_invalidations++;
        }
        return;
    }
    unsigned missing;
    uint64_t *t = walk(rid, iova, level + 1, &missing);
    uint64_t *e = t ? &t[index_at(iova, level + 1)] : NULL;
    if (e && (*e & ENTRY_PRESENT) && (*e & ENTRY_ADDR) == table_pa) {
        *e = 0;
        fake_iommu_invalidations++;
    }
}

void fake_iommu_fault(unsigned rid, uint64_t iova, bool write, unsigned reason)
{
    if (kept_count == 4) {
        memmove(kept, kept + 1, 3 * sizeof(kept[0]));
        kept_count--;
        kept_lost++;
    }
    kept[kept_count++] = (struct arch_dma_fault){ rid, iova & ~0xfffull, write, reason };
}

bool arch_iommu_take_fault(struct arch_dma_fault *out, uint64_t *lost)
{
    *lost = kept_lost;
    kept_lost = 0;
    if (!kept_count)
        return false;
    *out = kept[0];
    memmove(kept, kept + 1, --kept_count * sizeof(kept[0]));
    return true;
}

unsigned arch_iommu_fault_line(void)
{
    return FAKE_IRQ_LINES - 1;
}
