/*
 * A PCI function's virtio capabilities (virtio 1.1, 4.1.4 "Virtio Structure
 * PCI Capabilities"; PCI Local Bus 3.0, 6.7 "Capabilities List"). Pure C on
 * a copy of the configuration space, so the host tests feed it damaged
 * ones: every pointer is checked against the 256 bytes, and the walk stops
 * after 48 capabilities (the most the space holds), so a loop ends.
 */
#include "pci.h"

#define PCI_STATUS 0x06u
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_CAP_POINTER 0x34u
#define PCI_CAP_VENDOR 0x09u /* vendor-specific: virtio's structures */
#define PCI_BAR0 0x10u

/* struct virtio_pci_cap: vndr, next, len, cfg_type, bar, id, pad[2],
 * offset, length; the notify capability adds notify_off_multiplier. */
#define VCAP_SIZE 16u
#define VCAP_NOTIFY_SIZE 20u
enum { VIRTIO_COMMON = 1, VIRTIO_NOTIFY = 2, VIRTIO_ISR = 3, VIRTIO_DEVICE = 4 };

static struct virtio_pci_region *region_of(struct virtio_pci_layout *l, uint8_t type)
{
    switch (type) {
    case VIRTIO_COMMON: return &l->common;
    case VIRTIO_NOTIFY: return &l->notify;
    case VIRTIO_ISR: return &l->isr;
    case VIRTIO_DEVICE: return &l->device;
    default: return NULL;
    }
}

/* One vendor capability at `at` (already known to lie in the space). */
static const char *take_virtio_cap(const uint8_t *cfg, unsigned at, struct virtio_pci_layout *l)
{
    uint8_t len = cfg[at + 2], type = cfg[at + 3];
    if (len < VCAP_SIZE || at + len > 256)
        return "pci: a virtio capability is shorter than 16 bytes or runs past the space";
    struct virtio_pci_region *r = region_of(l, type);
    if (!r || r->found)
        return NULL; /* other kinds (PCI access), and later copies, are not used */
    if (cfg[at + 4] > 5)
        return "pci: a virtio capability names a BAR past BAR 5";
    if (type == VIRTIO_NOTIFY) {
        if (len < VCAP_NOTIFY_SIZE)
            return "pci: the virtio notify capability has no notify_off_multiplier";
        l->notify_multiplier = cfg32(cfg, at + 16);
    }
    *r = (struct virtio_pci_region){
        .bar = cfg[at + 4], .offset = cfg32(cfg, at + 8), .length = cfg32(cfg, at + 12),
        .found = true,
    };
    return NULL;
}

const char *virtio_pci_layout(const uint8_t cfg[256], struct virtio_pci_layout *out)
{
    *out = (struct virtio_pci_layout){ 0 };
    if (!(cfg16(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return "pci: the function has no capability list";
    unsigned at = cfg[PCI_CAP_POINTER] & ~3u;
    for (unsigned n = 0; at != 0; n++) {
        if (n == 48)
            return "pci: the capability list loops";
        if (at < 0x40 || at + 2 > 256)
            return "pci: a capability pointer points into the header or past the space";
        if (cfg[at] == PCI_CAP_VENDOR) {
            const char *err = take_virtio_cap(cfg, at, out);
            if (err)
                return err;
        }
        at = cfg[at + 1] & ~3u;
    }
    if (!out->common.found || !out->notify.found || !out->isr.found || !out->device.found)
        return "pci: the function lacks one of virtio's common, notify, ISR and device "
               "structures (a legacy-only device?)";
    return NULL;
}

bool pci_bar_address(const uint8_t cfg[256], unsigned bar, uint64_t *address)
{
    if (bar > 5)
        return false;
    uint32_t low = cfg32(cfg, PCI_BAR0 + 4 * bar);
    if (low & 1)
        return false; /* an I/O BAR */
    uint64_t a = low & ~0xfull;
    if (((low >> 1) & 3) == 2) { /* 64-bit memory BAR: the next one holds the high half */
        if (bar == 5)
            return false;
        a |= (uint64_t)cfg32(cfg, PCI_BAR0 + 4 * (bar + 1)) << 32;
    }
    *address = a;
    return true;
}
