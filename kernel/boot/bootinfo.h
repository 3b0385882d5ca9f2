/*
 * Filling the boot-info page (struct bk_bootinfo, defined in kernel/abi.toml).
 */
#pragma once

#include <bulkhead/abi.h>

#include "boot/boot_params.h"
#include "boot/bootimage.h"
#include "boot/memmap.h"

_Static_assert(sizeof(struct bk_bootinfo) <= BK_BOOTINFO_SIZE, "boot info must fit its pages");

/* Describes the kernel, the memory map (free memory as untyped, devices,
 * reserved ranges; sorted by address) and the boot image's modules. */
/* Lists the device-memory ranges (handed out as device untyped) in the
 * memory map, as BK_REGION_DEVICE. */
void bootinfo_add_device_regions(struct bk_bootinfo *bi, const struct memmap *dev);

void bootinfo_fill(struct bk_bootinfo *bi, const struct boot_params *bp,
                   const struct bootimage *img, const struct memmap *free_mem);
