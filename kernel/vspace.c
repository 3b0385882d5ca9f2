/*
 * User-memory access through page-table walks (see vspace.h).
 */
#include "vspace.h"

#include "kernel.h"

bool vspace_user_range_ok(const arch_vspace_t *vs, vaddr_t va, size_t len, unsigned rights)
{
    if (len == 0)
        return true;
    if (va >= ARCH_USER_VADDR_MAX || len > ARCH_USER_VADDR_MAX - va)
        return false;
    vaddr_t end = va + len;
    for (vaddr_t page = ALIGN_DOWN(va, (vaddr_t)ARCH_PAGE_SIZE); page < end;
         page += ARCH_PAGE_SIZE) {
        paddr_t pa;
        unsigned have;
        if (!arch_vspace_translate(vs, page, &pa, &have) || (have & rights) != rights)
            return false;
    }
    return true;
}

void vspace_copy_from_user(const arch_vspace_t *vs, void *dst, vaddr_t va, size_t len)
{
    uint8_t *out = dst;
    while (len) {
        size_t in_page = ARCH_PAGE_SIZE - (va & (ARCH_PAGE_SIZE - 1));
        size_t n = len < in_page ? len : in_page;
        paddr_t pa;
        unsigned rights;
        if (!arch_vspace_translate(vs, va, &pa, &rights))
            panic("vspace_copy_from_user: 0x%lx unmapped after the range check", va);
        memcpy(out, arch_phys_to_virt(pa), n);
        out += n;
        va += n;
        len -= n;
    }
}
