/*
 * Boot-only construction of the root task: its address space, its program
 * (the root module of the boot image), stack, boot-info page and a
 * read-only view of the whole boot image.
 */
#pragma once

#include "boot/boot_params.h"
#include "boot/bootimage.h"
#include "boot/memmap.h"
#include "thread.h"

/* Builds the root task (its TCB and VSpace objects, CSpace) using pages
 * from `mem` and returns its thread, configured but not yet runnable;
 * panics with a clear message if the root program is malformed or memory
 * runs out. `image_pa` is the boot image's physical address. */
struct thread *roottask_create(const struct boot_params *bp, const struct bootimage *img,
                               paddr_t image_pa, struct memmap *mem);
