/*
 * VT-d translation tables (VT-d rev. 4.1, 3.4 "Root and Context tables",
 * 9.1-9.3 entry formats, 9.8 second-level paging entries) and the
 * arch_iommu_* hooks of kernel/arch.h over them.
 *
 * The root table (256 entries, one per bus) and the context tables (256
 * entries, one per device.function of a bus) live in the kernel image:
 * a fixed set of IOMMU_CONTEXT_TABLES, given to buses as devices on them
 * are claimed (IOSpaceControl: Issue), so the kernel needs no memory after
 * boot. The second-level tables below a context entry are IO page table
 * objects retyped from untyped memory by user space (kernel/iospace.c).
 *
 * Invariants:
 *  - a context entry is present only while an IO page table is its root;
 *    a device without one has no present entry, and its DMA faults;
 *  - every claimed device has its own domain id (its claim's index + 1),
 *    so no two devices share IOTLB entries;
 *  - a leaf maps exactly the frame it was given, readable, and writable
 *    only when asked; non-leaf entries allow read and write, so a leaf
 *    alone decides (9.8: the walk ANDs the rights of every level).
 */
#include "iommu.h"

#include "x86.h"

#define IOMMU_CONTEXT_TABLES 4
#define IOMMU_MAX_DEVICES 64
#define IO_LEVELS 3            /* 39-bit IO addresses, CAP.SAGAW bit 1 */
#define IOVA_LIMIT (1ull << 39)

#define ENTRY_PRESENT 1ull     /* root and context entries: P */
#define SL_READ (1ull << 0)    /* second-level entries: R, W */
#define SL_WRITE (1ull << 1)
#define CONTEXT_AW_39 1ull     /* context entry, high qword bits 2:0 */
#define CONTEXT_DID_SHIFT 8    /* context entry, high qword bits 23:8 */

struct entry128 {
    uint64_t lo, hi;
};

static struct entry128 root_table[256] __attribute__((aligned(PAGE_SIZE)));
static struct entry128 context_tables[IOMMU_CONTEXT_TABLES][256]
    __attribute__((aligned(PAGE_SIZE)));
static int16_t context_bus[IOMMU_CONTEXT_TABLES] = { -1, -1, -1, -1 };
static uint16_t claimed[IOMMU_MAX_DEVICES]; /* requester ids; index + 1: domain id */
static unsigned claimed_count;

_Static_assert(sizeof(root_table) == PAGE_SIZE, "a root table is one page");
_Static_assert(sizeof(context_bus) / sizeof(context_bus[0]) == IOMMU_CONTEXT_TABLES &&
                   IOMMU_CONTEXT_TABLES == 4, "every context table starts without a bus (-1)");

paddr_t x86_iommu_root_table(void)
{
    return arch_virt_to_phys(root_table);
}

static struct entry128 *context_of(unsigned rid)
{
    for (unsigned i = 0; i < IOMMU_CONTEXT_TABLES; i++) {
        if (context_bus[i] == (int)(rid >> 8))
            return &context_tables[i][rid & 0xff];
    }
    return NULL;
}

static unsigned domain_of(unsigned rid)
{
    for (unsigned i = 0; i < claimed_count; i++) {
        if (claimed[i] == rid)
            return i + 1;
    }
    return 0;
}

/* Gives bus `bus` a context table, if it has none and one is free. */
static bool give_bus_a_table(unsigned bus)
{
    for (unsigned i = 0; i < IOMMU_CONTEXT_TABLES; i++) {
        if (context_bus[i] == (int)bus)
            return true;
    }
    for (unsigned i = 0; i < IOMMU_CONTEXT_TABLES; i++) {
        if (context_bus[i] < 0) {
            context_bus[i] = (int16_t)bus;
            root_table[bus].lo = arch_virt_to_phys(context_tables[i]) | ENTRY_PRESENT;
            x86_iommu_flush_entry(&root_table[bus]);
            x86_iommu_context_changed();
            return true;
        }
    }
    return false;
}

bool arch_iommu_present(void)
{
    return x86_iommu_on();
}

uint64_t arch_iommu_iova_limit(void)
{
    return IOVA_LIMIT;
}

bool arch_iommu_claim_device(unsigned rid)
{
    if (!x86_iommu_on() || rid > 0xffff || !x86_iommu_in_scope(rid))
        return false;
    if (domain_of(rid))
        return true;
    if (claimed_count == IOMMU_MAX_DEVICES || claimed_count + 1 >= x86_iommu_domain_count() ||
        !give_bus_a_table(rid >> 8))
        return false;
    claimed[claimed_count++] = (uint16_t)rid;
    return true;
}

/* ---- Second-level walks ------------------------------------------------- */

static uint64_t *table_at(paddr_t pa)
{
    return arch_phys_to_virt(pa);
}

static unsigned index_at(uint64_t iova, unsigned level)
{
    return (unsigned)(iova >> (12 + 9 * (level - 1))) & 511;
}

/* The device's root table, or NULL (no context entry yet). */
static uint64_t *io_root(const struct entry128 *ctx)
{
    return (ctx && (ctx->lo & ENTRY_PRESENT)) ? table_at(ctx->lo & PTE_ADDR_MASK) : NULL;
}

/* Walks from the root down to the table at `level` for `iova`; NULL with
 * the first missing level in *missing if a table on the way is absent. */
static uint64_t *walk_to(const struct entry128 *ctx, uint64_t iova, unsigned level,
                         unsigned *missing)
{
    uint64_t *t = io_root(ctx);
    *missing = IO_LEVELS;
    for (unsigned l = IO_LEVELS; t && l > level; l--) {
        uint64_t e = t[index_at(iova, l)];
        *missing = l - 1;
        t = (e & (SL_READ | SL_WRITE)) ? table_at(e & PTE_ADDR_MASK) : NULL;
    }
    return t;
}

static void set_root(struct entry128 *ctx, unsigned rid, paddr_t table_pa)
{
    ctx->hi = CONTEXT_AW_39 | (uint64_t)domain_of(rid) << CONTEXT_DID_SHIFT;
    ctx->lo = table_pa | ENTRY_PRESENT; /* TT 00: second-level translation only */
    x86_iommu_flush_entry(ctx);
    x86_iommu_context_changed();
}

enum arch_map_result arch_iommu_map_table(unsigned rid, uint64_t iova, paddr_t table_pa,
                                          unsigned *level)
{
    struct entry128 *ctx = context_of(rid);
    if (!ctx || !domain_of(rid) || iova >= IOVA_LIMIT)
        return ARCH_MAP_BAD_ADDRESS;
    if (!io_root(ctx)) {
        set_root(ctx, rid, table_pa);
        *level = IO_LEVELS;
        return ARCH_MAP_OK;
    }
    unsigned missing;
    for (unsigned l = IO_LEVELS; l > 1; l--) {
        uint64_t *t = walk_to(ctx, iova, l, &missing);
        uint64_t *e = &t[index_at(iova, l)];
        if (!(*e & (SL_READ | SL_WRITE))) {
            *e = table_pa | SL_READ | SL_WRITE;
            x86_iommu_flush_entry(e);
            x86_iommu_mapping_changed(true);
            *level = l - 1;
            return ARCH_MAP_OK;
        }
    }
    return ARCH_MAP_ALREADY_MAPPED;
}

enum arch_map_result arch_iommu_map_frame(unsigned rid, uint64_t iova, paddr_t pa,
                                          unsigned rights, unsigned *missing_level)
{
    struct entry128 *ctx = context_of(rid);
    if (!ctx || !IS_ALIGNED(iova, PAGE_SIZE) || iova >= IOVA_LIMIT)
        return ARCH_MAP_BAD_ADDRESS;
    uint64_t *t = walk_to(ctx, iova, 1, missing_level);
    if (!t)
        return ARCH_MAP_MISSING_TABLE;
    uint64_t *e = &t[index_at(iova, 1)];
    if (*e & (SL_READ | SL_WRITE))
        return ARCH_MAP_ALREADY_MAPPED;
    *e = pa | SL_READ | ((rights & VM_WRITE) ? SL_WRITE : 0);
    x86_iommu_flush_entry(e);
    x86_iommu_mapping_changed(true);
    return ARCH_MAP_OK;
}

void arch_iommu_unmap_frame(unsigned rid, uint64_t iova, paddr_t pa)
{
    unsigned missing;
    uint64_t *t = walk_to(context_of(rid), iova, 1, &missing);
    if (!t)
        return;
    uint64_t *e = &t[index_at(iova, 1)];
    if ((*e & (SL_READ | SL_WRITE)) && (*e & PTE_ADDR_MASK) == pa) {
        *e = 0;
        x86_iommu_flush_entry(e);
        x86_iommu_mapping_changed(false);
    }
}

void arch_iommu_unmap_table(unsigned rid, uint64_t iova, unsigned level, paddr_t table_pa)
{
    struct entry128 *ctx = context_of(rid);
    if (level == IO_LEVELS) {
        if (ctx && (ctx->lo & ENTRY_PRESENT) && (ctx->lo & PTE_ADDR_MASK) == table_pa) {
            ctx->lo = 0;
            ctx->hi = 0;
            x86_iommu_flush_entry(ctx);
            x86_iommu_context_changed();
        }
        return;
    }
    unsigned missing;
    uint64_t *t = walk_to(ctx, iova, level + 1, &missing);
    if (!t)
        return;
    uint64_t *e = &t[index_at(iova, level + 1)];
    if ((*e & (SL_READ | SL_WRITE)) && (*e & PTE_ADDR_MASK) == table_pa) {
        *e = 0;
        x86_iommu_flush_entry(e);
        x86_iommu_mapping_changed(false);
    }
}
