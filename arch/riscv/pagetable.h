/*
 * Sv39 page-table entries and the table walk shared by the kernel's own
 * tables (paging.c) and user address spaces (vspace.c). Privileged
 * Architecture v1.12, section 4.4: three levels of 512 eight-byte entries;
 * level 2 (root) entries map 1 GiB, level 1 2 MiB, level 0 4 KiB. An entry
 * with R, W or X set is a leaf; otherwise (V set) it points to a table.
 */
#pragma once

#include "arch.h"
#include "riscv.h"

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
static inline unsigned pt_index(vaddr_t va, int level)
{
    return (va >> (PAGE_SHIFT + 9 * level)) & (PT_ENTRIES - 1);
}

static inline uint64_t pt_level_size(int level)
{
    return 1ull << (PAGE_SHIFT + 9 * level);
}

/* The kernel-virtual address of the table at physical address `pa`. */
pte_t *pt_table(paddr_t pa);

/* The entry for `va` at `level` below `root`, creating missing tables
 * with `alloc` (none when it is NULL). NULL if a table is missing and
 * cannot be made, or a larger leaf already covers `va`. */
pte_t *pt_walk(pte_t *root, vaddr_t va, int level, arch_table_alloc_fn alloc, void *ctx);
