/*
 * Filling struct boot_params: small helpers the arch boot code uses so that
 * every table is bounds-checked in one place.
 */
#include "boot/boot_params.h"

static bool add_region(struct phys_region *table, unsigned *count, unsigned max,
                       paddr_t base, uint64_t size)
{
    if (*count >= max || size == 0)
        return false;
    table[*count] = (struct phys_region){ base, size };
    (*count)++;
    return true;
}

bool boot_params_add_ram(struct boot_params *bp, paddr_t base, uint64_t size)
{
    return add_region(bp->ram, &bp->ram_count, BOOT_MAX_RAM_REGIONS, base, size);
}

bool boot_params_add_reserved(struct boot_params *bp, paddr_t base, uint64_t size)
{
    return add_region(bp->reserved, &bp->reserved_count, BOOT_MAX_RESERVED_REGIONS,
                      base, size);
}

bool boot_params_add_device(struct boot_params *bp, paddr_t base, uint64_t size)
{
    return add_region(bp->devices, &bp->device_count, BOOT_MAX_DEVICE_REGIONS, base, size);
}

void boot_params_set_string(char dst[BOOT_MAX_STRING], const char *src)
{
    unsigned i = 0;
    for (; src && src[i] && i < BOOT_MAX_STRING - 1; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

bool boot_params_add_module(struct boot_params *bp, paddr_t base, uint64_t size,
                            const char *name)
{
    if (bp->module_count >= BOOT_MAX_MODULES)
        return false;
    struct boot_module *m = &bp->modules[bp->module_count++];
    m->base = base;
    m->size = size;
    boot_params_set_string(m->name, name);
    return true;
}
