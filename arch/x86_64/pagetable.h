/*
 * 4-level page-table entries and the table walk shared by the kernel's own
 * tables (paging.c) and user address spaces (vspace.c). Intel SDM vol. 3,
 * 4.5: four levels of 512 eight-byte entries.
 *
 * Levels are those of kernel/arch.h: the table at level L holds entries
 * that each map pt_entry_size(L) bytes. Level 1 (PT) maps 4 KiB pages,
 * level 2 (PD) 2 MiB, level 3 (PDPT) 1 GiB, and level 4 is the PML4, the
 * root. An entry with PS set at level 2 or 3 is a large-page leaf; every
 * present level-1 entry is a leaf; any other present entry points to the
 * table one level down.
 */
#pragma once

#include "x86.h"

#define PT_LEVEL_PT 1
#define PT_LEVEL_PD 2
#define PT_LEVEL_PDPT 3
#define PT_ROOT_LEVEL 4 /* the PML4 */
#define PT_ENTRIES 512

_Static_assert(PT_ROOT_LEVEL == ARCH_PT_LEVELS + 1, "ARCH_PT_LEVELS counts the levels below the root");
_Static_assert(ARCH_LARGE_PAGE_BITS == PAGE_SHIFT + 9, "large pages are PD-level pages");

typedef uint64_t pte_t;

/* Index of `va` in a table of `level`. */
static inline unsigned pt_index(vaddr_t va, unsigned level)
{
    return (va >> (PAGE_SHIFT + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

/* Bytes one entry of a level-`level` table maps. */
static inline uint64_t pt_entry_size(unsigned level)
{
    return 1ull << (PAGE_SHIFT + 9 * (level - 1));
}

/* All tables, kernel and user, are reached through the physmap. */
static inline pte_t *pt_table(paddr_t pa)
{
    return arch_phys_to_virt(pa);
}

static inline bool pte_present(pte_t e)
{
    return (e & PTE_P) != 0;
}

/* A present entry of a level-`level` table that maps memory itself. */
static inline bool pte_is_leaf(pte_t e, unsigned level)
{
    return level == PT_LEVEL_PT || (e & PTE_PS) != 0;
}

/* Physical address a present entry points to: the next table, the 4 KiB
 * page, or the large page (bit 12 of a large-page entry is PAT, SDM 4.5,
 * table 4-17; the kernel never sets it, so the mask is the same). */
static inline paddr_t pte_pa(pte_t e)
{
    return e & PTE_ADDR_MASK;
}

/* An entry that points to the table at `pa`. Present and writable, with
 * U for user addresses: the leaf alone decides the rights (SDM 4.6). */
static inline pte_t pte_table(paddr_t pa, vaddr_t va)
{
    return pa | PTE_P | PTE_W | (va < ARCH_USER_VADDR_MAX ? PTE_U : 0);
}

/* Walks from the root towards the level-`level` entry for `va` and stops
 * early at an entry that is not present or is a leaf. Returns that entry
 * and stores the level of the table holding it in *reached (== level when
 * the walk got all the way). */
pte_t *pt_lookup(pte_t *root, vaddr_t va, unsigned level, unsigned *reached);

/* The level-`level` entry for `va`, making missing tables with `alloc`
 * (pages the physmap reaches). NULL if `alloc` fails (returns 0 or an
 * unaligned page) or a large page already covers `va` above `level`. */
pte_t *pt_walk(pte_t *root, vaddr_t va, unsigned level, arch_table_alloc_fn alloc, void *ctx);

/* paging.c: the kernel's PML4 (0 until the kernel tables are final) and
 * whether the physmap covers [pa, pa + size). */
paddr_t x86_kernel_pml4(void);
bool x86_physmap_covers(paddr_t pa, uint64_t size);
