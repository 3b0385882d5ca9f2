/*
 * blk-server: the virtio-blk driver as a process of its own (docs/io.md).
 * Its spawner (spawn.c) left in its CNode the endpoint it serves, the
 * device's register pages, the candidate interrupt lines bound to one
 * notification, 128 KiB of RAM untyped and a start page saying where each
 * virtio structure lies (blk.h), and with an IOMMU the disk's IOSpace. Its spawner runs above it, so all of that
 * is there before it runs; it does not count on that, and looks only once
 * the first request arrives (sent after the handover): it maps those, makes its
 * three DMA frames from that memory (so it may learn their physical
 * addresses), starts the device and serves the blk protocol until stopped.
 */
#include "blk.h"

#define START_VADDR 0x5fe00000ull
#define REGS_VADDR 0x60000000ull
#define BUFFERS_VADDR 0x58000000ull

static struct blk_config cfg;

/* libsys's allocators over the memory we were given: the start-info page
 * lists no untyped, so we describe ours. */
static void memory_init(const struct bk_bootinfo *info, unsigned memory_bits)
{
    static struct bk_bootinfo mine;
    mine = *info;
    mine.untyped_count = 1;
    mine.untyped[0] = (struct bk_untyped_desc){ .slot = BLK_SLOT_MEMORY, /* spawn.c's size */
                                                .size_bits = (uint8_t)memory_bits };
    mine.first_free_slot = BLK_SLOT_FREE;
    bk_objects_init(&mine);
    bk_slots_init(BLK_SLOT_FREE, BLK_DRIVER_CNODE_SLOTS);
}

static const struct blk_start *read_start(void)
{
    if (bk_map_frame(BK_CAP_ROOT_VSPACE, BLK_SLOT_START, START_VADDR, BK_VM_READ, 0) != 0)
        return NULL;
    const struct blk_start *s = (const struct blk_start *)(uintptr_t)START_VADDR;
    bool ok = s->magic == BLK_START_MAGIC && s->reg_pages >= 1 &&
              s->reg_pages <= BLK_MAX_REG_PAGES && s->line_count <= BLK_MAX_LINES &&
              (s->transport == BLK_MMIO || s->transport == BLK_PCI);
    return ok ? s : NULL;
}

/* The register window, uncached, and the structures in it. */
static const char *map_device(const struct blk_start *s)
{
    for (uint32_t k = 0; k < s->reg_pages; k++) {
        if (bk_map_frame(BK_CAP_ROOT_VSPACE, BLK_SLOT_REGS + k, REGS_VADDR + k * 4096ull,
                         BK_VM_READ | BK_VM_WRITE, BK_VM_UNCACHED) != 0)
            return "cannot map the device's register pages";
    }
    volatile uint8_t *w = (volatile uint8_t *)(uintptr_t)REGS_VADDR;
    uint32_t limit = s->reg_pages * 4096u;
    if (s->regs >= limit || s->common >= limit || s->notify >= limit || s->isr >= limit ||
        s->config >= limit)
        return "the start page places a structure outside the register window";
    struct blk_hw *d = &cfg.device;
    d->transport = (enum blk_transport)s->transport;
    d->regs = w + s->regs;
    d->common = w + s->common;
    d->notify = w + s->notify;
    d->isr = w + s->isr;
    d->config = w + s->config;
    d->notify_multiplier = s->notify_multiplier;
    memcpy(d->where, s->where, sizeof(d->where) - 1);
    return NULL;
}

static const char *take_lines(const struct blk_start *s)
{
    cfg.irq.notification = BLK_SLOT_NOTIFICATION;
    cfg.irq.count = s->line_count;
    unsigned held = 0;
    for (unsigned i = 0; i < s->line_count; i++) {
        cfg.irq.handlers[i] = s->lines[i] ? BLK_SLOT_IRQ + i : 0;
        cfg.irq.lines[i] = s->lines[i];
        held += s->lines[i] ? 1 : 0;
    }
    cfg.irq.known = held == 1;
    return held ? NULL : "no interrupt line was handed over";
}

/* With an IOSpace from the spawner (an IOMMU translates DMA), the three
 * DMA frames go into it at BLK_IOVA on, through IO page tables made from
 * our memory (root, level 2, level 1), and the device is given those IO
 * addresses: it reaches nothing else. An empty slot (no IOMMU) leaves
 * physical addresses. The IO mappings are copies of the frame caps: the
 * originals map the frames for us. */
static const char *map_for_device(struct blk_dma *dma)
{
    long r = 0;
    for (unsigned level = 0; level < 3 && r == 0; level++) {
        uint64_t pt = bk_alloc_object(BK_OBJ_IO_PAGE_TABLE, 0);
        r = pt ? sys_io_page_table_map(pt, BLK_SLOT_IOSPACE, BLK_IOVA) : -BK_ERR_NOT_ENOUGH_MEMORY;
        if (level == 0 && r == -BK_ERR_FAILED_LOOKUP)
            return NULL; /* no IOSpace */
    }
    uint64_t frames[3] = { dma->queue_frame, dma->request_frame, dma->data_frame };
    for (unsigned i = 0; i < 3 && r == 0; i++) {
        uint64_t copy = bk_slot_alloc();
        r = sys_cnode_copy(BK_CAP_ROOT_CNODE, copy, BK_WORD_BITS, BK_CAP_ROOT_CNODE, frames[i],
                           BK_WORD_BITS, BK_RIGHT_READ | BK_RIGHT_WRITE);
        if (r == 0)
            r = sys_frame_map_io(copy, BLK_SLOT_IOSPACE, BLK_IOVA + i * 4096ull,
                                 BK_VM_READ | BK_VM_WRITE);
    }
    if (r != 0)
        return "cannot map the DMA frames into the disk's IOSpace";
    dma->iova = BLK_IOVA;
    debug_printf("blk-server: the device's DMA goes through the IOMMU, at IO addresses 0x%llx on\n",
                 BLK_IOVA);
    return NULL;
}

static const struct bk_bootinfo *start_info;

_Noreturn void blk_crash(const char *when)
{
    debug_printf("blk-server: incarnation %u faults on purpose %s (fault injection)\n",
                 cfg.incarnation, when);
    *(volatile uint64_t *)(uintptr_t)0x1000 = 0; /* page 1 is never mapped */
    for (;;) /* not reached: the fault stops this thread */
        sys_tcb_suspend(BK_CAP_ROOT_TCB);
}

_Noreturn void blk_hang(const char *when)
{
    debug_printf("blk-server: incarnation %u stops answering on purpose %s (fault injection: "
                 "a hung driver)\n",
                 cfg.incarnation, when);
    uint64_t never = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    for (;;) { /* a Recv keeps the caller we owe an answer waiting (kernel endpoint.c) */
        struct bk_msg m = { 0 };
        if (never)
            sys_recv(never, &m);
        else
            sys_tcb_suspend(BK_CAP_ROOT_TCB); /* no memory: stops (the caller then gets CANCELLED) */
    }
}

_Noreturn void blk_spin(const char *when)
{
    debug_printf("blk-server: incarnation %u spins on purpose %s (fault injection: a hung "
                 "driver that keeps its CPU)\n",
                 cfg.incarnation, when);
    for (;;)
        __asm__ volatile("" ::: "memory");
}

void blk_reach_kill_point(void)
{
    debug_printf("blk-server: incarnation %u reached its kill point, Submit %u, with requests in "
                 "the device (fault injection): its supervisor stops it here\n",
                 cfg.incarnation, cfg.kill_after_submits);
    struct bk_msg m = { 0 };
    sys_send(BLK_SLOT_KILL_POINT, &m); /* a signal; the watcher preempts us */
}

static const char *start(struct blk_config *c)
{
    (void)c; /* it is cfg */
    const struct bk_bootinfo *info = start_info;
    memory_init(info, BLK_MEMORY_BITS); /* page tables for the start page come from it */
    const struct blk_start *s = read_start();
    if (!s)
        return "no valid start page in slot BLK_SLOT_START";
    cfg.incarnation = s->incarnation;
    cfg.crash_after_submits = s->crash_after_submits;
    cfg.hang_after_submits = s->hang_after_submits;
    cfg.kill_after_submits = s->kill_after_submits;
    cfg.spin_after_submits = s->spin_after_submits;
    cfg.stray_dma_after_submits = s->stray_dma_after_submits;
    if (s->crash_at_start)
        blk_crash("during start-up, before the device starts");
    const char *err = map_device(s);
    if (!err)
        err = take_lines(s);
    if (err)
        return err;
    cfg.dma.queue_frame = bk_alloc_object(BK_OBJ_FRAME, 12);
    cfg.dma.request_frame = bk_alloc_object(BK_OBJ_FRAME, 12);
    cfg.dma.data_frame = bk_alloc_object(BK_OBJ_FRAME, 12);
    if (!cfg.dma.queue_frame || !cfg.dma.request_frame || !cfg.dma.data_frame)
        return "no memory for the DMA frames";
    if ((err = map_for_device(&cfg.dma)))
        return err;
    cfg.buffer_vaddr = BUFFERS_VADDR;
    /* Bound, the lines' notification also ends our Recv on the endpoint,
     * so one wait serves clients and the device (server.c). */
    if (sys_tcb_bind_notification(BK_CAP_ROOT_TCB, cfg.irq.notification) != 0)
        return "cannot bind the interrupt notification to our thread";
    return NULL;
}

int main(const struct bk_bootinfo *info)
{
    start_info = info;
    cfg.endpoint = BLK_SLOT_ENDPOINT;
    cfg.recv_slot = BLK_SLOT_RECV;
    memcpy(cfg.device.where, "the disk", sizeof("the disk"));
    blk_serve(&cfg, start);
}
