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

/* Copies at most size - 1 bytes of `src` into `dst`, terminated; returns
 * the length of the whole of `src`. */
static uint32_t copy_bounded(char *dst, uint32_t size, const char *src)
{
    uint32_t i = 0;
    for (; src && src[i] && i < size - 1; i++)
        dst[i] = src[i];
    dst[i] = '\0';
    while (src && src[i])
        i++;
    return i;
}

void boot_params_set_string(char dst[BOOT_MAX_STRING], const char *src)
{
    copy_bounded(dst, BOOT_MAX_STRING, src);
}

void boot_params_set_cmdline(struct boot_params *bp, const char *src)
{
    bp->cmdline_length = copy_bounded(bp->cmdline, BOOT_MAX_CMDLINE, src);
}

/* True if `s` starts with `prefix`. (No string library: this file is
 * pure, and host tests and fuzzers link it alone.) */
static bool starts_with(const char *s, const char *prefix)
{
    while (*prefix) {
        if (*s++ != *prefix++)
            return false;
    }
    return true;
}

const char *boot_cmdline_option(const char *cmdline, const char *key)
{
    size_t n = 0;
    while (key[n])
        n++;
    for (const char *p = cmdline; *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && starts_with(p, key) && p[n] == '=')
            return p + n + 1;
    }
    return NULL;
}

bool boot_option_is(const char *value, const char *word)
{
    while (*word) {
        if (*value++ != *word++)
            return false;
    }
    return *value == '\0' || *value == ' ';
}

bool boot_cmdline_flag(const char *cmdline, const char *flag)
{
    for (const char *p = cmdline; *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && boot_option_is(p, flag))
            return true;
    }
    return false;
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
