/*
 * Sv39 page-table entries and the table walk shared by the kernel's own
 * tables (paging.c) and user address spaces (vspace.c). Privileged
 * Architecture v1.12, section 4.4: three levels of 512 eight-byte entries.
 * An entry with R, W or X set is a leaf; otherwise (V set) it points to a
 * table.
 *
 * Levels are those of kernel/arch.h: the table at level L holds entries
 * that each map pt_entry_size(L) bytes. Level 1 maps 4 KiB pages, level 2
 * 2 MiB megapages, level 3 is the root, whose leaves are 1 GiB gigapages.
 * (The specification numbers the same tables 0, 1, 2: its "level i" is
 * level i + 1 here.)
 */
#pragma once

#include "arch.h"
#include "riscv.h"

#define PT_ROOT_LEVEL 3

_Static_assert(PT_ROOT_LEVEL == ARCH_PT_LEVELS + 1, "ARCH_PT_LEVELS counts the levels below the root");
_Static_assert(ARCH_LARGE_PAGE_BITS == PAGE_SHIFT + 9, "large pages are megapages");

typedef uint64_t pte_t;

static inline pte_t pte_make(paddr_t pa, uint64_t flags)
{
    return (pa >> PAGE_SHIFT) << PTE_PPN_SHIFT | flags;
}

static inline paddr_t pte_pa(pte_t e)
{
    return ((e >> PTE_PPN_SHIFT) & ((1ull << 44) - 1)) << PAGE_SHIFT;
}

static inline bool pte_is_leaf(pte_t e)
{
    return (e & (PTE_R | PTE_W | PTE_X)) != 0;
}

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

/* The kernel-virtual address of the table at physical address `pa`. */
pte_t *pt_table(paddr_t pa);

/* Walks from `root` towards the level-`level` entry for `va` and stops
 * early at an entry that is not valid or is a leaf. Returns that entry and
 * stores the level of the table holding it in *reached (== level when the
 * walk got all the way). */
pte_t *pt_lookup(pte_t *root, vaddr_t va, unsigned level, unsigned *reached);

/* The level-`level` entry for `va` below `root`, creating missing tables
 * with `alloc` (none when it is NULL). NULL if a table is missing and
 * cannot be made, or a larger leaf already covers `va`. */
pte_t *pt_walk(pte_t *root, vaddr_t va, unsigned level, arch_table_alloc_fn alloc, void *ctx);
