/*
 * The virtio block device through either transport, and its one split
 * virtqueue (virtio 1.1: 2.6 split virtqueues, 3.1.1 driver
 * initialisation, 4.1.4 the PCI common configuration, 4.2.2 the MMIO
 * registers, 5.2 the block device). Up to BLK_SLOTS requests in flight:
 * request slot k owns descriptors 3k (header), 3k + 1 (data) and 3k + 2
 * (status), its header at 128 k in the request frame and its status byte
 * 64 bytes after it. The device names a finished chain by its head, 3k.
 */
#include "blk.h"

#define QUEUE_SIZE 32u /* descriptors: 3 per slot, BLK_SLOTS slots */
#define SLOT_BYTES 128u /* a slot's header and status in the request frame */
_Static_assert(3 * BLK_SLOTS <= QUEUE_SIZE, "three descriptors per slot");
_Static_assert(BLK_SLOTS * SLOT_BYTES <= 4096, "the slots fit the request frame");
/* In the queue frame: descriptors, then the driver (avail) and device
 * (used) areas, each at the alignment 2.6 asks for (16, 2 and 4). */
#define DESC_OFF 0u
#define AVAIL_OFF 512u
#define USED_OFF 1024u

#define DESC_F_NEXT 1u
#define DESC_F_WRITE 2u

#define STATUS_ACKNOWLEDGE 1u
#define STATUS_DRIVER 2u
#define STATUS_DRIVER_OK 4u
#define STATUS_FEATURES_OK 8u
#define STATUS_FAILED 128u

#define BLK_T_IN 0u
#define BLK_T_OUT 1u
#define NO_ANSWER BLK_NO_DEVICE

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static volatile struct desc *desc;
static volatile uint16_t *avail; /* flags, idx, ring[QUEUE_SIZE] */
static volatile uint16_t *used;  /* flags, idx, then {u32 id, u32 len} elements */
static uint8_t *request;         /* per slot: header (16 bytes), status byte at 64 */
uint8_t *blk_data;
static uint64_t queue_pa, request_pa, data_pa;
static uint16_t last_used;

/* Orders our writes to shared memory before the device's read of them
 * (and its writes before our reads): a full fence. */
static void barrier(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- register access, per transport ------------------------------------ */

static void w32(volatile uint8_t *base, unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(base + off) = v;
}

static uint32_t r32(volatile uint8_t *base, unsigned off)
{
    return *(volatile uint32_t *)(base + off);
}

static void w16(volatile uint8_t *base, unsigned off, uint16_t v)
{
    *(volatile uint16_t *)(base + off) = v;
}

static void set_status(struct blk_hw *d, uint8_t s)
{
    if (d->transport == BLK_MMIO)
        w32(d->regs, 0x070, s);
    else
        d->common[0x14] = s;
}

static uint8_t get_status(struct blk_hw *d)
{
    return d->transport == BLK_MMIO ? (uint8_t)r32(d->regs, 0x070) : d->common[0x14];
}

/* Feature word `sel` (0: bits 0-31, 1: bits 32-63) of the device. */
static uint32_t device_features(struct blk_hw *d, unsigned sel)
{
    if (d->transport == BLK_MMIO) {
        w32(d->regs, 0x014, sel);
        return r32(d->regs, 0x010);
    }
    w32(d->common, 0x00, sel);
    return r32(d->common, 0x04);
}

static void driver_features(struct blk_hw *d, unsigned sel, uint32_t v)
{
    if (d->transport == BLK_MMIO) {
        w32(d->regs, 0x024, sel);
        w32(d->regs, 0x020, v);
    } else {
        w32(d->common, 0x08, sel);
        w32(d->common, 0x0c, v);
    }
}

static uint64_t capacity(struct blk_hw *d)
{
    volatile uint8_t *c = d->transport == BLK_MMIO ? d->regs + 0x100 : d->config;
    return (uint64_t)r32(c, 0) | (uint64_t)r32(c, 4) << 32;
}

/* Queue 0's size (at most the device's maximum) and the three areas. */
static const char *setup_queue(struct blk_hw *d)
{
    uint64_t areas[3] = { queue_pa + DESC_OFF, queue_pa + AVAIL_OFF, queue_pa + USED_OFF };
    if (d->transport == BLK_MMIO) {
        volatile uint8_t *r = d->regs;
        w32(r, 0x030, 0);
        if (r32(r, 0x044) != 0 || r32(r, 0x034) < QUEUE_SIZE)
            return "virtio: queue 0 is in use already, or smaller than 32 entries";
        w32(r, 0x038, QUEUE_SIZE);
        for (unsigned i = 0; i < 3; i++) {
            w32(r, 0x080 + 0x10 * i, (uint32_t)areas[i]);
            w32(r, 0x084 + 0x10 * i, (uint32_t)(areas[i] >> 32));
        }
        w32(r, 0x044, 1);
        return NULL;
    }
    volatile uint8_t *c = d->common;
    w16(c, 0x16, 0);
    uint16_t max = *(volatile uint16_t *)(c + 0x18);
    if (max < QUEUE_SIZE)
        return "virtio: queue 0 is smaller than 32 entries (or absent)";
    w16(c, 0x18, QUEUE_SIZE);
    w16(c, 0x1a, 0xffff); /* no MSI-X vector: interrupts go through INTx and the ISR */
    for (unsigned i = 0; i < 3; i++) {
        w32(c, 0x20 + 8 * i, (uint32_t)areas[i]);
        w32(c, 0x24 + 8 * i, (uint32_t)(areas[i] >> 32));
    }
    w16(c, 0x1c, 1);
    return NULL;
}

static void notify_queue(struct blk_hw *d)
{
    barrier();
    if (d->transport == BLK_MMIO) {
        w32(d->regs, 0x050, 0);
        return;
    }
    uint16_t off = *(volatile uint16_t *)(d->common + 0x1e);
    w16(d->notify, (unsigned)off * d->notify_multiplier, 0);
}

/* Reads and clears the device's interrupt cause (bit 0: used ring). */
static uint32_t take_interrupt_cause(struct blk_hw *d)
{
    if (d->transport == BLK_PCI)
        return *d->isr; /* reading the ISR clears it and deasserts INTx */
    uint32_t s = r32(d->regs, 0x060);
    w32(d->regs, 0x064, s);
    return s;
}

/* ---- start-up ------------------------------------------------------------ */

static const char *map_dma(const struct blk_dma *dma)
{
    static const uint64_t va = 0x5ff00000; /* the driver's three DMA pages */
    uint64_t frames[3] = { dma->queue_frame, dma->request_frame, dma->data_frame };
    uint64_t *pas[3] = { &queue_pa, &request_pa, &data_pa };
    for (unsigned i = 0; i < 3; i++) {
        if (dma->iova)
            *pas[i] = dma->iova + i * 4096; /* the device's addresses: its IOSpace's */
        else if (sys_frame_get_address(frames[i], pas[i]) != 0)
            return "virtio: a DMA frame has no physical address for us (no phys-address right)";
        if (bk_map_frame(BK_CAP_ROOT_VSPACE, frames[i], va + i * 4096, BK_VM_READ | BK_VM_WRITE,
                         0) != 0)
            return "virtio: cannot map a DMA frame";
    }
    desc = (volatile struct desc *)(uintptr_t)(va + DESC_OFF);
    avail = (volatile uint16_t *)(uintptr_t)(va + AVAIL_OFF);
    used = (volatile uint16_t *)(uintptr_t)(va + USED_OFF);
    request = (uint8_t *)(uintptr_t)(va + 4096);
    blk_data = (uint8_t *)(uintptr_t)(va + 8192);
    memset((void *)(uintptr_t)va, 0, 4096);
    last_used = 0;
    return NULL;
}

const char *virtio_blk_start(struct blk_hw *d, const struct blk_dma *dma, uint64_t *sectors)
{
    const char *err = map_dma(dma);
    if (err)
        return err;
    set_status(d, 0); /* reset; a reset device reads 0 (4.1.4.3.2, 4.2.2.1) */
    if (get_status(d) != 0)
        return "virtio: the device does not reset";
    set_status(d, STATUS_ACKNOWLEDGE);
    set_status(d, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    if (!(device_features(d, 1) & 1u)) /* VIRTIO_F_VERSION_1 is bit 32 */
        return "virtio: the device does not offer VIRTIO_F_VERSION_1 (a legacy device)";
    driver_features(d, 0, 0);
    /* VIRTIO_F_ACCESS_PLATFORM (bit 33), when offered: the device's DMA
     * goes through the platform's IOMMU, as it does for us with an IO
     * space (virtio 1.1, 6.1). */
    driver_features(d, 1, 1u | (dma->iova ? device_features(d, 1) & 2u : 0));
    set_status(d, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(get_status(d) & STATUS_FEATURES_OK)) {
        set_status(d, STATUS_FAILED);
        return "virtio: the device refused our features (FEATURES_OK did not stay set)";
    }
    if ((err = setup_queue(d))) {
        set_status(d, STATUS_FAILED);
        return err;
    }
    set_status(d, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    *sectors = capacity(d);
    return NULL;
}

/* ---- requests ------------------------------------------------------------ */

uint64_t virtio_blk_bounce_pa(void)
{
    return data_pa;
}

void virtio_blk_post(struct blk_hw *d, unsigned slot, bool write, uint64_t sector,
                     unsigned count, uint64_t buffer_pa)
{
    uint32_t type = write ? BLK_T_OUT : BLK_T_IN;
    uint8_t *h = request + slot * SLOT_BYTES;
    uint64_t h_pa = request_pa + slot * SLOT_BYTES;
    uint16_t head = (uint16_t)(3 * slot);
    memset(h, 0, 16);
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    h[64] = NO_ANSWER;
    desc[head] = (struct desc){ h_pa, 16, DESC_F_NEXT, (uint16_t)(head + 1) };
    desc[head + 1] = (struct desc){ buffer_pa, count * BLK_SECTOR,
                                    (uint16_t)(DESC_F_NEXT | (write ? 0 : DESC_F_WRITE)),
                                    (uint16_t)(head + 2) };
    desc[head + 2] = (struct desc){ h_pa + 64, 1, DESC_F_WRITE, 0 };
    uint16_t idx = avail[1];
    avail[2 + idx % QUEUE_SIZE] = head;
    barrier(); /* the chain and its ring entry before the index that publishes them */
    avail[1] = (uint16_t)(idx + 1);
    notify_queue(d);
}

unsigned virtio_blk_harvest(void (*done)(void *arg, unsigned slot, unsigned status), void *arg)
{
    unsigned n = 0;
    barrier();
    /* The used index is the device's; a device that ran it more than a
     * queue ahead is broken, and we read no more than a queue's worth. */
    while (used[1] != last_used && n < QUEUE_SIZE) {
        const volatile uint32_t *e = (const volatile uint32_t *)(used + 2) + 2 * (last_used % QUEUE_SIZE);
        uint32_t head = e[0];
        last_used = (uint16_t)(last_used + 1);
        n++;
        if (head % 3 || head / 3 >= BLK_SLOTS)
            continue; /* not a chain we made */
        done(arg, head / 3, request[(head / 3) * SLOT_BYTES + 64]);
    }
    return n;
}

static uint64_t candidate_bits(const struct blk_irq *irq)
{
    uint64_t bits = 0;
    for (unsigned i = 0; i < irq->count; i++)
        bits |= irq->handlers[i] ? 1ull << (BLK_IRQ_BADGE_SHIFT + i) : 0;
    return bits;
}

/* Acks and keeps the line(s) of `fired` that were ours; while the line is
 * not known, the others are given back, so another device's interrupt
 * never reaches us again. */
static void settle_lines(struct blk_irq *irq, uint64_t fired, bool ours)
{
    for (unsigned i = 0; i < irq->count; i++) {
        if (!(fired & (1ull << (BLK_IRQ_BADGE_SHIFT + i))) || !irq->handlers[i])
            continue;
        if (!ours && !irq->known) {
            sys_cnode_delete(BK_CAP_ROOT_CNODE, irq->handlers[i], BK_WORD_BITS);
            irq->handlers[i] = 0;
            continue;
        }
        sys_irq_handler_ack(irq->handlers[i]);
    }
    /* A wake-up naming none of our candidates (a badge minted wrong) must
     * not settle anything: taken as "ours", it would give every line
     * back, the device's own too, and the next wait would never end. */
    if (ours && !irq->known && (fired & candidate_bits(irq))) {
        for (unsigned i = 0; i < irq->count; i++) {
            if (!irq->handlers[i])
                continue;
            if (fired & (1ull << (BLK_IRQ_BADGE_SHIFT + i))) {
                debug_printf("blk-server: the device interrupts on line %u\n", irq->lines[i]);
                continue;
            }
            sys_cnode_delete(BK_CAP_ROOT_CNODE, irq->handlers[i], BK_WORD_BITS);
            irq->handlers[i] = 0;
        }
        irq->known = true;
    }
}

void virtio_blk_interrupt(struct blk_hw *d, struct blk_irq *irq, uint64_t fired)
{
    bool ours = take_interrupt_cause(d) & 1u;
    settle_lines(irq, fired, ours);
}

bool virtio_blk_wait(struct blk_hw *d, struct blk_irq *irq, uint64_t since_ticks)
{
    struct bk_msg m = { 0 };
    if (irq->known)
        sys_recv(irq->notification, &m);
    else
        sys_nbrecv(irq->notification, &m);
    if (m.badge)
        virtio_blk_interrupt(d, irq, m.badge);
    /* While the line is not known we poll, for at most 2 s (200 ticks), so
     * a device whose interrupt reaches none of the candidates is reported,
     * not hung on. */
    return irq->known || debug_ticks() - since_ticks <= 200;
}
