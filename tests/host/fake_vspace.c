/*
 * The fake architecture's address spaces: a software page table of the
 * x86-64 shape. A table is one 4 KiB page of 512 entries; the root is
 * level ARCH_PT_LEVELS + 1 and translates VA bits 47:39, a level-n table
 * bits 12 + 9n - 1 : 12 + 9(n - 1), level 1 holds 4 KiB leaves and level 2
 * may hold 2 MiB leaves. The root's upper half stands for the kernel's own
 * mappings (a marker entry the user can never reach). "Physical" addresses
 * are host addresses (fake_arch.c's identity direct map), so tables are
 * plain host memory and the kernel's own code walks nothing of it.
 */
#include "fake.h"

#define ENTRIES 512u
#define E_VALID 1ull
#define E_LEAF 2ull
#define E_RIGHTS_SHIFT 2 /* VM_READ, VM_WRITE, VM_EXEC */
#define E_DEVICE (1ull << 5)
#define E_KERNEL (1ull << 6)
#define E_PA_MASK (~0xfffull)
#define ROOT_LEVEL (ARCH_PT_LEVELS + 1)

uint64_t fake_tlb_flushes;

typedef uint64_t entry_t;

static entry_t *table_at(paddr_t pa)
{
    return arch_phys_to_virt(pa);
}

static unsigned index_at(vaddr_t va, unsigned level)
{
    return (unsigned)(va >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

static uint64_t entry_size(unsigned level)
{
    return 1ull << (12 + 9 * (level - 1));
}

/* The entry for `va` in the table of level `stop`, or, when the walk
 * ends earlier at an invalid entry or a leaf, that entry; *reached is the
 * level of the table holding it. */
static entry_t *lookup(const arch_vspace_t *vs, vaddr_t va, unsigned stop, unsigned *reached)
{
    entry_t *table = table_at(vs->root);
    unsigned level = ROOT_LEVEL;
    for (;;) {
        entry_t *e = &table[index_at(va, level)];
        if (level == stop || !(*e & E_VALID) || (*e & E_LEAF)) {
            *reached = level;
            return e;
        }
        table = table_at(*e & E_PA_MASK);
        level--;
    }
}

static entry_t leaf(paddr_t pa, unsigned rights, bool device)
{
    return pa | E_VALID | E_LEAF | (uint64_t)(rights | VM_READ) << E_RIGHTS_SHIFT |
           (device ? E_DEVICE : 0);
}

bool arch_vspace_init(arch_vspace_t *vs, paddr_t root)
{
    if (root == 0 || !IS_ALIGNED(root, (paddr_t)ARCH_PAGE_SIZE))
        return false;
    entry_t *table = table_at(root);
    for (unsigned i = 0; i < ENTRIES; i++)
        table[i] = i < ENTRIES / 2 ? 0 : E_VALID | E_KERNEL;
    *vs = (arch_vspace_t){ .root = root };
    return true;
}

/* 4 KiB (level 1) or 2 MiB (level 2); va and pa aligned, va a user address. */
static bool frame_args_ok(vaddr_t va, paddr_t pa, unsigned size_bits, unsigned *level)
{
    if (size_bits == 12)
        *level = 1;
    else if (size_bits == ARCH_LARGE_PAGE_BITS)
        *level = 2;
    else
        return false;
    uint64_t size = entry_size(*level);
    return va < ARCH_USER_VADDR_MAX && IS_ALIGNED(va, size) && IS_ALIGNED(pa, size);
}

static entry_t *find_frame(const arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits)
{
    unsigned level, reached;
    if (!frame_args_ok(va, pa, size_bits, &level))
        return NULL;
    entry_t *e = lookup(vs, va, level, &reached);
    if (reached != level || !(*e & E_VALID) || !(*e & E_LEAF) || (*e & E_PA_MASK) != pa)
        return NULL;
    return e;
}

bool arch_vspace_map(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned rights,
                     arch_table_alloc_fn alloc, void *ctx)
{
    unsigned level;
    if (!frame_args_ok(va, pa, 12, &level))
        return false;
    for (;;) {
        unsigned reached;
        entry_t *e = lookup(vs, va, 1, &reached);
        if (reached == 1) {
            if (*e & E_VALID)
                return false;
            *e = leaf(pa, rights, false);
            fake_tlb_flushes++;
            return true;
        }
        if (*e & E_VALID)
            return false; /* a large leaf covers va */
        paddr_t table = alloc(ctx);
        if (!table)
            return false;
        *e = table | E_VALID;
    }
}

bool arch_vspace_translate(const arch_vspace_t *vs, vaddr_t va, paddr_t *pa, unsigned *rights)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX)
        return false;
    entry_t e = *lookup(vs, va, 1, &reached);
    if (!(e & E_VALID) || !(e & E_LEAF))
        return false;
    *pa = (e & E_PA_MASK) + (va & (entry_size(reached) - 1));
    *rights = (unsigned)(e >> E_RIGHTS_SHIFT) & (VM_READ | VM_WRITE | VM_EXEC);
    return true;
}

enum arch_map_result arch_vspace_map_table(arch_vspace_t *vs, vaddr_t va, paddr_t table_pa,
                                           unsigned *level)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX || !table_pa || !IS_ALIGNED(table_pa, (paddr_t)ARCH_PAGE_SIZE))
        return ARCH_MAP_BAD_ADDRESS;
    entry_t *e = lookup(vs, va, 2, &reached);
    if (*e & E_VALID)
        return ARCH_MAP_ALREADY_MAPPED; /* a large leaf, or every table down to level 1 */
    *e = table_pa | E_VALID;
    fake_tlb_flushes++;
    *level = reached - 1;
    return ARCH_MAP_OK;
}

enum arch_map_result arch_vspace_map_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa,
                                           unsigned size_bits, unsigned rights, bool device,
                                           unsigned *missing_level)
{
    unsigned level, reached;
    if (!frame_args_ok(va, pa, size_bits, &level))
        return ARCH_MAP_BAD_ADDRESS;
    entry_t *e = lookup(vs, va, level, &reached);
    if (*e & E_VALID)
        return ARCH_MAP_ALREADY_MAPPED;
    if (reached > level) {
        *missing_level = reached - 1;
        return ARCH_MAP_MISSING_TABLE;
    }
    *e = leaf(pa, rights, device);
    fake_tlb_flushes++;
    return ARCH_MAP_OK;
}

bool arch_vspace_remap_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits,
                             unsigned rights)
{
    entry_t *e = find_frame(vs, va, pa, size_bits);
    if (!e)
        return false;
    *e = leaf(pa, rights, (*e & E_DEVICE) != 0);
    fake_tlb_flushes++;
    return true;
}

void arch_vspace_unmap_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits)
{
    entry_t *e = find_frame(vs, va, pa, size_bits);
    if (e) {
        *e = 0;
        fake_tlb_flushes++;
    }
}

void arch_vspace_unmap_table(arch_vspace_t *vs, vaddr_t va, unsigned level, paddr_t table_pa)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX || level < 1 || level > ARCH_PT_LEVELS)
        return;
    entry_t *e = lookup(vs, va, level + 1, &reached);
    if (reached != level + 1 || !(*e & E_VALID) || (*e & E_LEAF) ||
        (*e & E_PA_MASK) != table_pa)
        return;
    *e = 0;
    fake_tlb_flushes++;
}

void arch_vspace_destroy(arch_vspace_t *vs)
{
    vs->destroyed = true;
    fake_tlb_flushes++;
}
