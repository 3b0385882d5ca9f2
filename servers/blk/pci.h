/*
 * Reading a PCI function's virtio structures from its configuration space
 * (pci.c). Pure C with no libsys: the host tests build it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- pci.c: virtio-pci capabilities (virtio 1.1, 4.1.4) --------------- */

/* Where one virtio structure lies: BAR number and offset in it. */
struct virtio_pci_region {
    uint8_t bar;
    uint32_t offset, length;
    bool found;
};

struct virtio_pci_layout {
    struct virtio_pci_region common, notify, isr, device;
    uint32_t notify_multiplier;
};

/* Walks the capability list of a function's 256-byte configuration space
 * `cfg` and fills `out` with the first structure of each kind. Returns
 * NULL, or a sentence: no capability list, a pointer outside the space or
 * into the header, a loop, a capability cut short, a BAR number past 5,
 * or one of the four structures missing. */
const char *virtio_pci_layout(const uint8_t cfg[256], struct virtio_pci_layout *out);

/* The base address BAR `bar` holds (a 64-bit BAR takes the next one too);
 * false for an I/O BAR, a BAR past 5, or a 64-bit BAR in slot 5. */
bool pci_bar_address(const uint8_t cfg[256], unsigned bar, uint64_t *address);

static inline uint16_t cfg16(const uint8_t *cfg, unsigned off)
{
    return (uint16_t)(cfg[off] | cfg[off + 1] << 8);
}

static inline uint32_t cfg32(const uint8_t *cfg, unsigned off)
{
    return (uint32_t)cfg16(cfg, off) | (uint32_t)cfg16(cfg, off + 2) << 16;
}
