/*
 * Host tests of the virtio-pci capability reader (servers/blk/pci.c): a
 * configuration space like QEMU's virtio-blk-pci, and damaged ones (no
 * list, pointers into the header or past the space, a loop, short or
 * missing capabilities, bad BARs) that must each give their sentence.
 * Every read happens on a heap copy of exactly 256 bytes (ASan).
 */
#include "check.h"
#include "pci.h" /* servers/blk/pci.h */

#include <stdlib.h>
#include <string.h>

static uint8_t space[256];

static void put32(unsigned at, uint32_t v)
{
    memcpy(space + at, &v, 4);
}

/* A vendor capability at `at` of kind `type` in BAR 4, linked to `next`. */
static void cap(unsigned at, unsigned next, uint8_t type, uint32_t off, uint8_t len)
{
    space[at] = 0x09;
    space[at + 1] = (uint8_t)next;
    space[at + 2] = len;
    space[at + 3] = type;
    space[at + 4] = 4;
    put32(at + 8, off);
    put32(at + 12, 0x1000);
}

/* A layout like QEMU's: MSI-X at 0x98 first, then common, ISR, device,
 * notify and the PCI access capability, each ending where the next starts. */
static void good_space(void)
{
    memset(space, 0, sizeof(space));
    space[0x06] = 0x10; /* status: capability list */
    space[0x34] = 0x98;
    space[0x98] = 0x11; /* MSI-X, skipped */
    space[0x99] = 0x74;
    cap(0x74, 0x64, 1, 0x0000, 16);
    cap(0x64, 0x54, 3, 0x1000, 16);
    cap(0x54, 0x40, 4, 0x2000, 16);
    cap(0x40, 0x84, 2, 0x3000, 20);
    put32(0x40 + 16, 4);
    cap(0x84, 0x00, 5, 0, 20); /* PCI access capability: not used */
    put32(0x20, 0xfebf000c); /* BAR 4: 64-bit, prefetchable */
    put32(0x24, 0x1);
}

static const char *layout_on_copy(struct virtio_pci_layout *l)
{
    uint8_t *c = malloc(256);
    memcpy(c, space, 256);
    const char *err = virtio_pci_layout(c, l);
    free(c);
    return err;
}

static void test_good(void)
{
    struct virtio_pci_layout l;
    good_space();
    CHECK(layout_on_copy(&l) == NULL);
    CHECK_EQ(l.common.offset, 0);
    CHECK_EQ(l.isr.offset, 0x1000);
    CHECK_EQ(l.device.offset, 0x2000);
    CHECK_EQ(l.notify.offset, 0x3000);
    CHECK_EQ(l.notify_multiplier, 4);
    CHECK_EQ(l.common.bar, 4);
    uint64_t a = 0;
    CHECK(pci_bar_address(space, 4, &a) && a == 0x1febf0000ull);
}

static bool says(const char *err, const char *part)
{
    return err && strstr(err, part);
}

static void test_damaged(void)
{
    struct virtio_pci_layout l;
    good_space();
    space[0x06] = 0;
    CHECK(says(layout_on_copy(&l), "no capability list"));
    good_space();
    space[0x34] = 0x20;
    CHECK(says(layout_on_copy(&l), "into the header"));
    good_space();
    space[0x85] = 0x98; /* the last capability links back to the first */
    CHECK(says(layout_on_copy(&l), "loops"));
    good_space();
    space[0x74 + 2] = 8;
    CHECK(says(layout_on_copy(&l), "shorter than 16"));
    good_space();
    space[0x40 + 2] = 16;
    CHECK(says(layout_on_copy(&l), "notify_off_multiplier"));
    good_space();
    space[0x54 + 4] = 6;
    CHECK(says(layout_on_copy(&l), "past BAR 5"));
    good_space();
    space[0x64 + 3] = 7; /* no ISR structure left */
    CHECK(says(layout_on_copy(&l), "lacks one of"));
    good_space();
    space[0xf0] = 0x09; /* a capability whose length runs past the space */
    space[0xf2] = 0x20;
    space[0x85] = 0xf0;
    CHECK(says(layout_on_copy(&l), "runs past the space"));
}

static void test_bars(void)
{
    uint64_t a;
    good_space();
    put32(0x10, 0xc001); /* an I/O BAR */
    CHECK(!pci_bar_address(space, 0, &a));
    put32(0x24, 0xfe000004); /* BAR 5 says 64-bit: no BAR 6 for the high half */
    CHECK(!pci_bar_address(space, 5, &a));
    CHECK(!pci_bar_address(space, 6, &a));
    put32(0x18, 0xfe001000); /* 32-bit memory BAR */
    CHECK(pci_bar_address(space, 2, &a) && a == 0xfe001000);
}

/* Random bytes in place of the capabilities: never a read outside. */
static void test_random(void)
{
    srand(14);
    struct virtio_pci_layout l;
    for (int round = 0; round < 20000; round++) {
        good_space();
        for (int k = 0; k < 1 + rand() % 6; k++)
            space[0x34 + rand() % (256 - 0x34)] = (uint8_t)rand();
        (void)layout_on_copy(&l);
    }
    CHECK(1);
}

TEST_MAIN(TEST(test_good), TEST(test_damaged), TEST(test_bars), TEST(test_random))
