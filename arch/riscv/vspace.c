/*
 * User address spaces (the arch_vspace_* hooks): Sv39 tables whose lower
 * half (root slots 0..255, VAs below ARCH_USER_VADDR_MAX) holds the user's
 * 4 KiB pages with the U bit, and whose upper half is a copy of the
 * kernel's root slots, so the kernel stays mapped (global, supervisor
 * only) in every space. Tables are reached through the physmap.
 */
#include "pagetable.h"
#include "port.h"

#include "kernel.h"

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
    *vs = (arch_vspace_t){ .root = root };
    return true;
}

/* R is always set: W without R is a reserved encoding (Privileged 4.4.1).
 * A and D are preset so no hardware has to update them. */
static pte_t user_leaf(paddr_t pa, unsigned rights)
{
    uint64_t flags = PTE_V | PTE_U | PTE_R | PTE_A;
    if (rights & VM_WRITE)
        flags |= PTE_W | PTE_D;
    if (rights & VM_EXEC)
        flags |= PTE_X;
    return pte_make(pa, flags);
}

bool arch_vspace_map(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned rights,
                     arch_table_alloc_fn alloc, void *ctx)
{
    if (!IS_ALIGNED(va, (vaddr_t)ARCH_PAGE_SIZE) || va >= ARCH_USER_VADDR_MAX ||
        !IS_ALIGNED(pa, (paddr_t)ARCH_PAGE_SIZE))
        return false;
    pte_t *e = pt_walk(root_table(vs), va, 0, alloc, ctx);
    if (!e || (*e & PTE_V))
        return false;
    *e = user_leaf(pa, rights);
    /* The space may be live in some ASID: order the new entry before later
     * translations of va (in every ASID, since this one's may change). */
    sfence_vma_addr(va);
    return true;
}

bool arch_vspace_translate(const arch_vspace_t *vs, vaddr_t va, paddr_t *pa, unsigned *rights)
{
    if (va >= ARCH_USER_VADDR_MAX)
        return false;
    const pte_t *table = root_table(vs);
    for (int level = 2; level >= 0; level--) {
        pte_t e = table[pt_index(va, level)];
        if (!(e & PTE_V))
            return false;
        if (pte_is_leaf(e)) {
            if (!(e & PTE_U))
                return false;
            *pa = pte_pa(e) + (va & (pt_level_size(level) - 1));
            *rights = (e & PTE_R ? VM_READ : 0) | (e & PTE_W ? VM_WRITE : 0) |
                      (e & PTE_X ? VM_EXEC : 0);
            return true;
        }
        table = pt_table(pte_pa(e));
    }
    return false;
}
