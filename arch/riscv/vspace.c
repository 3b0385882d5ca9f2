/*
 * User address spaces (the arch_vspace_* hooks): Sv39 tables whose lower
 * half (root slots 0..255, VAs below ARCH_USER_VADDR_MAX) holds the user's
 * tables and leaves, 4 KiB pages in level-1 tables and 2 MiB megapages in
 * level-2 tables, all with U set and G clear; the upper half is a copy of
 * the kernel's root slots, so the kernel stays mapped (global, supervisor
 * only) in every space. Tables are reached through the physmap.
 *
 * TLB rules (Privileged 4.2.1): after any change to a space's tables an
 * sfence.vma orders it before later walks. A changed leaf needs the fence
 * for its address; a changed non-leaf entry needs the address-less form.
 * Both name the space's ASID, so other spaces and the kernel's global
 * entries are kept (asid.c decides whether the space can have entries).
 */
#include "pagetable.h"
#include "port.h"

#include "kernel.h"

#define PT_LEVEL_4K 1
#define PT_LEVEL_2M 2

static pte_t *root_table(const arch_vspace_t *vs)
{
    return arch_phys_to_virt(vs->root);
}

bool arch_vspace_init(arch_vspace_t *vs, paddr_t root)
{
    if (root == 0 || !IS_ALIGNED(root, (paddr_t)ARCH_PAGE_SIZE) ||
        !paging_is_ram(root, ARCH_PAGE_SIZE))
        return false;
    pte_t *table = arch_phys_to_virt(root);
    const pte_t *kernel = paging_kernel_root();
    for (unsigned i = 0; i < PT_ENTRIES / 2; i++)
        table[i] = 0;
    for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
        table[i] = kernel[i];
    *vs = (arch_vspace_t){ .root = root, .satp = ARCH_SATP_NONE }; /* no ASID until entered */
    asid_forget_root(root);
    return true;
}

/* ---- Entries ------------------------------------------------------------ */

/* R is always set: W without R is a reserved encoding (Privileged 4.4.1).
 * A and D are preset so no hardware has to update them. The same leaf
 * serves 4 KiB pages and megapages: its level makes the size. */
static pte_t user_leaf(paddr_t pa, unsigned rights)
{
    uint64_t flags = PTE_V | PTE_U | PTE_R | PTE_A;
    if (rights & VM_WRITE)
        flags |= PTE_W | PTE_D;
    if (rights & VM_EXEC)
        flags |= PTE_X;
    return pte_make(pa, flags);
}

/* Checks a frame's size (4 KiB or 2 MiB, stored as the level of the table
 * that holds its leaf), that va and pa are aligned to it (a megapage with
 * low PPN bits set is a fault, Privileged 4.3.2 step 6), that va is a user
 * address and pa fits the 44-bit PPN. */
static bool frame_args_ok(vaddr_t va, paddr_t pa, unsigned size_bits, unsigned *level)
{
    if (size_bits == PAGE_SHIFT)
        *level = PT_LEVEL_4K;
    else if (size_bits == ARCH_LARGE_PAGE_BITS)
        *level = PT_LEVEL_2M;
    else
        return false;
    uint64_t size = pt_entry_size(*level);
    return va < ARCH_USER_VADDR_MAX && IS_ALIGNED(va, size) && IS_ALIGNED(pa, size) &&
           pa >> (PAGE_SHIFT + 44) == 0;
}

/* The leaf that maps `pa` at `va` with 2^size_bits bytes, or NULL. */
static pte_t *find_frame(const arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits)
{
    unsigned level, reached;
    if (!frame_args_ok(va, pa, size_bits, &level))
        return NULL;
    pte_t *e = pt_lookup(root_table(vs), va, level, &reached);
    if (reached != level || !(*e & PTE_V) || !pte_is_leaf(*e) || pte_pa(*e) != pa)
        return NULL;
    return e;
}

/* ---- Boot-time mappings and lookups -------------------------------------- */

bool arch_vspace_map(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned rights,
                     arch_table_alloc_fn alloc, void *ctx)
{
    unsigned level;
    if (!frame_args_ok(va, pa, PAGE_SHIFT, &level))
        return false;
    pte_t *e = pt_walk(root_table(vs), va, level, alloc, ctx);
    if (!e || (*e & PTE_V))
        return false;
    *e = user_leaf(pa, rights);
    asid_flush_page(vs, va);
    return true;
}

bool arch_vspace_translate(const arch_vspace_t *vs, vaddr_t va, paddr_t *pa, unsigned *rights)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX)
        return false;
    /* The walk stops at a leaf of any size or at an invalid entry. */
    pte_t e = *pt_lookup(root_table(vs), va, PT_LEVEL_4K, &reached);
    if (!(e & PTE_V) || !pte_is_leaf(e) || !(e & PTE_U))
        return false;
    *pa = pte_pa(e) + (va & (pt_entry_size(reached) - 1));
    *rights = (e & PTE_R ? VM_READ : 0) | (e & PTE_W ? VM_WRITE : 0) | (e & PTE_X ? VM_EXEC : 0);
    return true;
}

/* ---- Paging-structure objects ------------------------------------------ */

enum arch_map_result arch_vspace_map_table(arch_vspace_t *vs, vaddr_t va, paddr_t table_pa,
                                           unsigned *level)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX || !IS_ALIGNED(table_pa, (paddr_t)ARCH_PAGE_SIZE) ||
        !paging_is_ram(table_pa, ARCH_PAGE_SIZE))
        return ARCH_MAP_BAD_ADDRESS;
    /* Stop in the level-2 table at the latest: its entry holds the last table. */
    pte_t *e = pt_lookup(root_table(vs), va, PT_LEVEL_2M, &reached);
    if (*e & PTE_V)
        return ARCH_MAP_ALREADY_MAPPED; /* a megapage, or all tables down to level 1 */
    *e = pte_make(table_pa, PTE_V); /* non-leaf: V only (Privileged 4.4.1) */
    asid_flush_space(vs);           /* a non-leaf entry: the address-less fence */
    *level = reached - 1;
    return ARCH_MAP_OK;
}

/* No Svpbmt on QEMU 7.2 (and none required by the ISA): `device` cannot
 * be expressed in the entry. Cacheability comes from the platform's PMAs,
 * which make device regions I/O (uncached) on QEMU virt and real boards. */
enum arch_map_result arch_vspace_map_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa,
                                           unsigned size_bits, unsigned rights, bool device,
                                           unsigned *missing_level)
{
    unsigned level, reached;
    (void)device;
    if (!frame_args_ok(va, pa, size_bits, &level))
        return ARCH_MAP_BAD_ADDRESS;
    pte_t *e = pt_lookup(root_table(vs), va, level, &reached);
    if (*e & PTE_V)
        return ARCH_MAP_ALREADY_MAPPED; /* a leaf above or at level, or a table at level */
    if (reached > level) {
        *missing_level = reached - 1;
        return ARCH_MAP_MISSING_TABLE;
    }
    *e = user_leaf(pa, rights);
    asid_flush_page(vs, va);
    return ARCH_MAP_OK;
}

bool arch_vspace_remap_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits,
                             unsigned rights)
{
    pte_t *e = find_frame(vs, va, pa, size_bits);
    if (!e)
        return false;
    *e = user_leaf(pa, rights);
    asid_flush_page(vs, va);
    return true;
}

void arch_vspace_unmap_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits)
{
    pte_t *e = find_frame(vs, va, pa, size_bits);
    if (e) {
        *e = 0;
        asid_flush_page(vs, va);
    }
}

void arch_vspace_unmap_table(arch_vspace_t *vs, vaddr_t va, unsigned level, paddr_t table_pa)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX || level < PT_LEVEL_4K || level > ARCH_PT_LEVELS)
        return;
    /* The table of `level` hangs from an entry of the table above it. */
    pte_t *e = pt_lookup(root_table(vs), va, level + 1, &reached);
    if (reached != level + 1 || !(*e & PTE_V) || pte_is_leaf(*e) || pte_pa(*e) != table_pa)
        return;
    *e = 0;
    asid_flush_space(vs);
}

void arch_vspace_destroy(arch_vspace_t *vs)
{
    asid_release(vs);
}
