/*
 * Reading the boot information of a multiboot v1 or v2 loader (QEMU's
 * -kernel, GRUB's multiboot / multiboot2 commands) into struct boot_params.
 *
 * The parser reads only inside the window of physical memory
 * it is given, checks every size, offset and string against it, and on
 * malformed input returns a message instead of crashing. It prints nothing
 * and never panics; the arch caller decides what to do with an error.
 *
 * It lives in the x86-64 port because only this port boots by multiboot,
 * but it names no register and no instruction: the host tests
 * (tests/host/test_multiboot.c) and the libFuzzer target
 * (tests/parsers_fuzz/fuzz_multiboot.c) build it as it is.
 */
#pragma once

#include "boot/boot_params.h"
#include "types.h"

/* EAX values at entry (multiboot specification v1 section 3.2; v2 3.3). */
#define MULTIBOOT1_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36D76289u

/* Physical memory the parser may read: physical addresses
 * [pa, pa + size) are readable at base[0 .. size). The information and
 * everything it points to (v1 memory map, module list, strings) must lie
 * inside. */
struct multiboot_window {
    const uint8_t *base;
    uint64_t pa;
    uint64_t size;
};

/*
 * Fills `bp` (which the caller zeroed) from the information at physical
 * address `info_pa`, given the loader's `magic`:
 *  - ram: memory map entries of type 1 (available), clipped to start at
 *    1 MiB, shrunk to whole pages, adjacent or overlapping ones merged
 *    (v1 without a memory map: mem_upper; v2 without one: tag 4);
 *  - low_ram: the largest part of such an entry below 1 MiB;
 *  - modules with their command lines as names, each also reserved
 *    (whole pages);
 *  - cmdline, and loader (the loader's name, else "multiboot1" or
 *    "multiboot2").
 * Returns NULL on success. Otherwise returns a message saying what is
 * malformed and, if `where` is not NULL, stores the physical address of
 * the offending structure there; `bp` is then partly filled.
 */
const char *multiboot_parse(uint32_t magic, uint64_t info_pa, const struct multiboot_window *mem,
                            struct boot_params *bp, uint64_t *where);
