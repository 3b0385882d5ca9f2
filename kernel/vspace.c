/*
 * User-memory access through page-table walks (see vspace.h).
 */
#include "vspace.h"

#include "boot/boot_params.h"
#include "kernel.h"

/* RAM and boot modules: what the direct map covers. */
static struct phys_region ram[BOOT_MAX_RAM_REGIONS + BOOT_MAX_MODULES];
static unsigned ram_count;

uint64_t vspace_epoch = 1; /* threads start with epoch 0: nothing cached */

BOOT_CODE void vspace_note_ram(const struct boot_params *bp)
{
    ram_count = 0;
    for (unsigned i = 0; i < bp->ram_count; i++)
        ram[ram_count++] = bp->ram[i];
    for (unsigned i = 0; i < bp->module_count; i++)
        ram[ram_count++] = (struct phys_region){ bp->modules[i].base, bp->modules[i].size };
}

bool phys_is_ram(paddr_t pa)
{
    for (unsigned i = 0; i < ram_count; i++) {
        if (pa >= ram[i].base && pa - ram[i].base < ram[i].size)
            return true;
    }
    return false;
}

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
        if (!arch_vspace_translate(vs, page, &pa, &have) || (have & rights) != rights ||
            !phys_is_ram(pa))
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
