/*
 * The blk protocol's handlers and the driver's loop (protocol.toml,
 * docs/io.md). A client is its badge, 1 to BLK_CLIENTS; its state is the
 * buffer frame it attached (mapped at a page of our own), the DMA frames it
 * registered and the notification it subscribed. Each request is checked
 * whole (who, buffer, sectors, offset, size) before the device sees it.
 * read and write copy through the driver's bounce frame and answer when
 * done; submit posts into a registered frame and answers at once, its
 * completion waiting in its slot until the client reaps it. The device
 * reaches only the driver's own DMA frames and the frames clients
 * registered.
 */
#include <protocols/blk_server.h>

#include "blk.h"

struct client {
    uint64_t frame; /* the attached buffer's cap in our CNode, 0: none */
    uint8_t *buffer;
    uint64_t notification; /* subscribe's cap, 0: none */
    bool to_signal;        /* a request of its own finished since the last signal */
};

/* A request slot of the virtqueue: free, in flight, or done and not yet
 * reaped (async) or collected (sync). */
struct slot {
    bool busy, done, sync;
    unsigned client; /* badge */
    uint32_t tag, buffer;
    unsigned status;
};

/* A registered DMA frame: the client's cap (moved to us) and its address. */
struct dma_buffer {
    uint64_t cap, pa; /* pa: the device's address of it (an IO address behind an IOMMU) */
    uint64_t io_copy; /* behind an IOMMU: the copy of cap that maps it in the IOSpace */
    unsigned client; /* badge; 0: the entry is free */
    bool busy;       /* a request into it is in a slot */
};

struct driver {
    struct blk_config *cfg;
    bool broken; /* the device did not start: every request gets a device error */
    uint32_t submits; /* Block: Submit requests posted (fault injection counts them) */
    uint64_t sectors;
    struct client clients[BLK_CLIENTS];
    struct slot slots[BLK_SLOTS];
    struct dma_buffer buffers[BLK_DMA_BUFFERS];
};

/* The device finished slot `k` (virtio_blk_harvest()'s callback). */
static void slot_done(void *arg, unsigned k, unsigned status)
{
    struct driver *d = arg;
    struct slot *s = &d->slots[k];
    if (!s->busy || s->done)
        return; /* the device named a chain twice: keep the first answer */
    s->done = true;
    s->status = status;
    if (!s->sync)
        d->clients[s->client - 1].to_signal = true;
}

/* Takes what the device finished into the slots and signals each client
 * with a finished async request. */
static void collect(struct driver *d)
{
    virtio_blk_harvest(slot_done, d);
    for (unsigned i = 0; i < BLK_CLIENTS; i++) {
        struct client *c = &d->clients[i];
        if (!c->to_signal)
            continue;
        c->to_signal = false;
        if (c->notification) {
            struct bk_msg m = { 0 };
            sys_send(c->notification, &m); /* a signal: never blocks */
        }
    }
}

static int free_slot(const struct driver *d)
{
    for (unsigned k = 0; k < BLK_SLOTS; k++) {
        if (!d->slots[k].busy)
            return (int)k;
    }
    return -1;
}

/* Runs one copying request in a slot of its own and waits for it,
 * collecting other slots' completions meanwhile. The status, or
 * NO_DEVICE when the queue is full or the device never answered (its slot
 * then stays taken: the device may still write into it). */
static unsigned transfer_now(struct driver *d, bool write, uint64_t sector, unsigned count)
{
    int k = free_slot(d);
    if (k < 0)
        return BLK_NO_DEVICE;
    struct slot *s = &d->slots[k];
    *s = (struct slot){ .busy = true, .sync = true };
    struct blk_config *cfg = d->cfg;
    virtio_blk_post(&cfg->device, (unsigned)k, write, sector, count, virtio_blk_bounce_pa());
    uint64_t start = debug_ticks();
    for (;;) {
        collect(d);
        if (s->done)
            break;
        if (!virtio_blk_wait(&cfg->device, &cfg->irq, start))
            return BLK_NO_DEVICE;
    }
    s->busy = false;
    return s->status;
}

static struct client *client_of(struct blk_call *call)
{
    struct driver *d = call->server->state;
    if (call->badge == 0 || call->badge > BLK_CLIENTS)
        return NULL;
    return &d->clients[call->badge - 1];
}

int blk_handle_info(struct blk_call *call, uint64_t *sectors, uint32_t *sector_size,
                    uint32_t *max_sectors)
{
    struct driver *d = call->server->state;
    if (!client_of(call))
        return blk_fail_unknown_client(call, call->badge);
    if (d->broken)
        return blk_fail_device(call, BLK_NO_DEVICE, 0);
    *sectors = d->sectors;
    *sector_size = BLK_SECTOR;
    *max_sectors = BLK_BUFFER / BLK_SECTOR;
    return 0;
}

/* Maps the frame in the receive slot as client `c`'s buffer; 0 or the
 * kernel's error. The old buffer, if any, is unmapped and let go. */
static long take_buffer(struct client *c, uint64_t slot, uint64_t vaddr)
{
    uint64_t mine = bk_slot_alloc();
    if (!mine)
        return BK_ERR_NOT_ENOUGH_MEMORY;
    long r = sys_cnode_move(BK_CAP_ROOT_CNODE, mine, BK_WORD_BITS, BK_CAP_ROOT_CNODE, slot,
                            BK_WORD_BITS);
    if (r == 0 && c->frame) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, c->frame, BK_WORD_BITS); /* unmaps it */
        bk_slot_free(c->frame);
        c->frame = 0;
    }
    if (r == 0)
        r = bk_map_frame(BK_CAP_ROOT_VSPACE, mine, vaddr, BK_VM_READ | BK_VM_WRITE, 0);
    if (r != 0) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, mine, BK_WORD_BITS);
        bk_slot_free(mine);
        return r < 0 ? -r : r;
    }
    c->frame = mine;
    c->buffer = (uint8_t *)(uintptr_t)vaddr;
    return 0;
}

int blk_handle_attach(struct blk_call *call, uint64_t buffer_slot, uint32_t *bytes)
{
    struct driver *d = call->server->state;
    struct client *c = client_of(call);
    if (!c)
        return blk_fail_unknown_client(call, call->badge);
    /* A method called on an endpoint or notification cap is IPC (a Call
     * nobody may answer), so the type is checked first, by Debug:
     * CapIdentify, never by calling Frame: Map on whatever came. */
    uint64_t id = debug_cap_identify(buffer_slot);
    if ((id & 0xff) != BK_OBJ_FRAME)
        return blk_fail_bad_buffer(call, call->badge, BK_ERR_INVALID_CAPABILITY);
    if (!((id >> 8) & BK_RIGHT_WRITE)) /* Map would drop write, and our copy would fault */
        return blk_fail_bad_buffer(call, call->badge, BK_ERR_INSUFFICIENT_RIGHTS);
    uint64_t vaddr = d->cfg->buffer_vaddr + (call->badge - 1) * BLK_BUFFER;
    long r = take_buffer(c, buffer_slot, vaddr);
    if (r != 0)
        return blk_fail_bad_buffer(call, call->badge, (uint64_t)r);
    *bytes = BLK_BUFFER;
    return 0;
}

/* Every check of a read or write, in the order the protocol lists them. */
static int check_request(struct blk_call *call, struct client **out, uint64_t sector,
                         uint32_t count, uint32_t offset)
{
    struct driver *d = call->server->state;
    struct client *c = client_of(call);
    if (!c)
        return blk_fail_unknown_client(call, call->badge);
    if (!c->frame)
        return blk_fail_no_buffer(call, call->badge);
    if (count == 0)
        return blk_fail_empty(call, sector);
    if (sector >= d->sectors || count > d->sectors - sector)
        return blk_fail_out_of_range(call, sector, count, d->sectors);
    if (offset % BLK_SECTOR)
        return blk_fail_misaligned(call, offset, BLK_SECTOR);
    if (offset > BLK_BUFFER || count > (BLK_BUFFER - offset) / BLK_SECTOR)
        return blk_fail_too_large(call, count, offset, BLK_BUFFER);
    *out = c;
    return 0;
}

static int transfer(struct blk_call *call, bool write, uint64_t sector, uint32_t count,
                    uint32_t offset)
{
    struct driver *d = call->server->state;
    struct client *c;
    if (d->broken)
        return blk_fail_device(call, BLK_NO_DEVICE, sector);
    int r = check_request(call, &c, sector, count, offset);
    if (r != 0)
        return r;
    size_t bytes = (size_t)count * BLK_SECTOR;
    if (write)
        memcpy(blk_data, c->buffer + offset, bytes);
    unsigned status = transfer_now(d, write, sector, count);
    if (status != 0)
        return blk_fail_device(call, status, sector);
    if (!write)
        memcpy(c->buffer + offset, blk_data, bytes);
    return 0;
}

int blk_handle_read(struct blk_call *call, uint64_t sector, uint32_t count, uint32_t offset)
{
    return transfer(call, false, sector, count, offset);
}

int blk_handle_write(struct blk_call *call, uint64_t sector, uint32_t count, uint32_t offset)
{
    return transfer(call, true, sector, count, offset);
}

/* ---- DMA buffers and submitted requests ---------------------------- */

/* The driver's own DMA frames (queue, request, data) come first in the
 * disk's IOSpace; registered buffers follow, one page each. */
#define OWN_DMA_FRAMES 3u

/* Where the device reaches registered buffer `i`, whose cap is `frame`:
 * its physical address, or behind an IOMMU (dma.iova set) an IO address
 * that a copy of the cap maps it at in the disk's IOSpace (*io_copy; 0
 * without an IOMMU). The copy is a child of `frame`: RemoveBuffer's delete
 * and the IO server's revoke of the session's memory unmap it too. */
static long device_address(const struct driver *d, unsigned i, uint64_t frame, uint64_t *addr,
                           uint64_t *io_copy)
{
    *io_copy = 0;
    if (!d->cfg->dma.iova)
        return sys_frame_get_address(frame, addr);
    uint64_t copy = bk_slot_alloc();
    uint64_t iova = d->cfg->dma.iova + (uint64_t)(OWN_DMA_FRAMES + i) * BLK_BUFFER;
    long r = copy ? sys_cnode_copy(BK_CAP_ROOT_CNODE, copy, BK_WORD_BITS, BK_CAP_ROOT_CNODE, frame,
                                   BK_WORD_BITS, BK_RIGHT_READ | BK_RIGHT_WRITE)
                  : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (r == 0)
        r = sys_frame_map_io(copy, BLK_SLOT_IOSPACE, iova, BK_VM_READ | BK_VM_WRITE);
    if (r != 0) {
        if (copy) {
            sys_cnode_delete(BK_CAP_ROOT_CNODE, copy, BK_WORD_BITS);
            bk_slot_free(copy);
        }
        return r;
    }
    *addr = iova;
    *io_copy = copy;
    return 0;
}

static void forget_buffer(struct dma_buffer *b)
{
    if (b->io_copy) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, b->io_copy, BK_WORD_BITS);
        bk_slot_free(b->io_copy);
    }
    sys_cnode_delete(BK_CAP_ROOT_CNODE, b->cap, BK_WORD_BITS);
    bk_slot_free(b->cap);
    *b = (struct dma_buffer){ 0 };
}

int blk_handle_add_buffer(struct blk_call *call, uint64_t buffer_slot, uint32_t *index)
{
    struct driver *d = call->server->state;
    if (!client_of(call))
        return blk_fail_unknown_client(call, call->badge);
    if (d->broken)
        return blk_fail_device(call, BLK_NO_DEVICE, 0);
    uint64_t id = debug_cap_identify(buffer_slot); /* the type before any method: see attach */
    if ((id & 0xff) != BK_OBJ_FRAME)
        return blk_fail_bad_buffer(call, call->badge, BK_ERR_INVALID_CAPABILITY);
    uint64_t rights = id >> 8, need = BK_RIGHT_READ | BK_RIGHT_WRITE | BK_RIGHT_PHYS_ADDRESS;
    if ((rights & need) != need)
        return blk_fail_bad_buffer(call, call->badge, BK_ERR_INSUFFICIENT_RIGHTS);
    unsigned i = 0;
    while (i < BLK_DMA_BUFFERS && d->buffers[i].client)
        i++;
    if (i == BLK_DMA_BUFFERS)
        return blk_fail_table_full(call, call->badge, BLK_DMA_BUFFERS);
    uint64_t mine = bk_slot_alloc(), pa = 0, io_copy = 0;
    long r = mine ? sys_cnode_move(BK_CAP_ROOT_CNODE, mine, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                                   buffer_slot, BK_WORD_BITS)
                  : BK_ERR_NOT_ENOUGH_MEMORY;
    if (r == 0)
        r = device_address(d, i, mine, &pa, &io_copy);
    if (r != 0) {
        if (mine) {
            sys_cnode_delete(BK_CAP_ROOT_CNODE, mine, BK_WORD_BITS);
            bk_slot_free(mine);
        }
        return blk_fail_bad_buffer(call, call->badge, (uint64_t)(r < 0 ? -r : r));
    }
    d->buffers[i] = (struct dma_buffer){ .cap = mine, .pa = pa, .io_copy = io_copy,
                                         .client = (unsigned)call->badge };
    *index = i;
    return 0;
}

/* The caller's registered buffer `index`, or NULL. */
static struct dma_buffer *buffer_of(struct blk_call *call, uint32_t index)
{
    struct driver *d = call->server->state;
    if (index >= BLK_DMA_BUFFERS || d->buffers[index].client != call->badge)
        return NULL;
    return &d->buffers[index];
}

int blk_handle_remove_buffer(struct blk_call *call, uint32_t index)
{
    if (!client_of(call))
        return blk_fail_unknown_client(call, call->badge);
    struct dma_buffer *b = buffer_of(call, index);
    if (!b)
        return blk_fail_bad_index(call, call->badge, index);
    if (b->busy)
        return blk_fail_busy(call, call->badge, index);
    forget_buffer(b);
    return 0;
}

int blk_handle_subscribe(struct blk_call *call, uint64_t notification_slot)
{
    struct client *c = client_of(call);
    if (!c)
        return blk_fail_unknown_client(call, call->badge);
    uint64_t id = debug_cap_identify(notification_slot);
    if ((id & 0xff) != BK_OBJ_NOTIFICATION || !((id >> 8) & BK_RIGHT_WRITE))
        return blk_fail_not_a_notification(call, call->badge);
    uint64_t mine = bk_slot_alloc();
    if (!mine || sys_cnode_move(BK_CAP_ROOT_CNODE, mine, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                                notification_slot, BK_WORD_BITS) != 0)
        return blk_fail_not_a_notification(call, call->badge);
    if (c->notification) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, c->notification, BK_WORD_BITS);
        bk_slot_free(c->notification);
    }
    c->notification = mine;
    return 0;
}

/* Fault injection (blk_start.stray_dma_after_submits): the IO address a
 * stray DMA goes to in place of `pa`, when an IOMMU translates our DMA;
 * without one, `pa` (a stray physical address would be real memory). */
static uint64_t stray_address(const struct driver *d, uint64_t pa)
{
    if (!d->cfg->dma.iova) {
        debug_printf("blk-server: incarnation %u: no IOMMU translates our DMA: the stray DMA "
                     "asked for is not made\n", d->cfg->incarnation);
        return pa;
    }
    debug_printf("blk-server: incarnation %u sends its Submit %u to IO address 0x%llx, where "
                 "nothing is mapped, on purpose (fault injection: a stray DMA)\n",
                 d->cfg->incarnation, d->submits + 1, (unsigned long long)BLK_STRAY_IOVA);
    return BLK_STRAY_IOVA;
}

int blk_handle_submit(struct blk_call *call, uint32_t tag, uint32_t write, uint64_t sector,
                      uint32_t count, uint32_t buffer)
{
    struct driver *d = call->server->state;
    if (!client_of(call))
        return blk_fail_unknown_client(call, call->badge);
    struct dma_buffer *b = buffer_of(call, buffer);
    if (!b)
        return blk_fail_bad_index(call, call->badge, buffer);
    if (b->busy)
        return blk_fail_busy(call, call->badge, buffer);
    if (count == 0)
        return blk_fail_empty(call, sector);
    if (sector >= d->sectors || count > d->sectors - sector)
        return blk_fail_out_of_range(call, sector, count, d->sectors);
    if (count > BLK_BUFFER / BLK_SECTOR)
        return blk_fail_too_large(call, count, 0, BLK_BUFFER);
    int k = free_slot(d);
    if (k < 0)
        return blk_fail_queue_full(call, BLK_SLOTS);
    if (d->broken)
        return blk_fail_device(call, BLK_NO_DEVICE, sector);
    d->slots[k] = (struct slot){ .busy = true, .client = (unsigned)call->badge, .tag = tag,
                                 .buffer = buffer };
    b->busy = true;
    virtio_blk_post(&d->cfg->device, (unsigned)k, write != 0, sector, count,
                    d->submits + 1 == d->cfg->stray_dma_after_submits ? stray_address(d, b->pa)
                                                                      : b->pa);
    if (++d->submits == d->cfg->crash_after_submits)
        blk_crash("with requests in the device");
    if (d->submits == d->cfg->hang_after_submits)
        blk_hang("with requests in the device");
    if (d->submits == d->cfg->kill_after_submits)
        blk_reach_kill_point();
    if (d->submits == d->cfg->spin_after_submits)
        blk_spin("with requests in the device");
    return 0;
}

int blk_handle_reap(struct blk_call *call, uint32_t *count, uint64_t *done0, uint64_t *done1,
                    uint64_t *done2, uint64_t *done3, uint64_t *done4, uint64_t *done5,
                    uint64_t *done6, uint64_t *done7)
{
    struct driver *d = call->server->state;
    if (!client_of(call))
        return blk_fail_unknown_client(call, call->badge);
    collect(d);
    uint64_t *out[BLK_SLOTS] = { done0, done1, done2, done3, done4, done5, done6, done7 };
    unsigned n = 0;
    for (unsigned k = 0; k < BLK_SLOTS; k++) {
        struct slot *s = &d->slots[k];
        if (!s->busy || !s->done || s->sync || s->client != call->badge)
            continue;
        *out[n++] = (uint64_t)s->tag << 8 | (s->status & 0xff);
        d->buffers[s->buffer].busy = false;
        *s = (struct slot){ 0 };
    }
    *count = n;
    return 0;
}

/* A wake-up by the device's interrupt rather than a message: bound
 * notifications end a Recv with info 0 and the signal bits as the badge. */
static bool is_interrupt(const struct bk_msg *m)
{
    return m->info == 0 && (m->badge >> BLK_IRQ_BADGE_SHIFT) != 0;
}

_Noreturn void blk_serve(struct blk_config *cfg, const char *(*prepare)(struct blk_config *))
{
    static struct driver d;
    d = (struct driver){ .cfg = cfg };
    struct bk_proto_server server;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, cfg->recv_slot, BK_WORD_BITS, &d);
    struct bk_msg m = { 0 };
    sys_recv(cfg->endpoint, &m);
    /* A request means the spawner is done handing things over. */
    const char *err = prepare(cfg);
    if (!err)
        err = virtio_blk_start(&cfg->device, &cfg->dma, &d.sectors);
    if (err) {
        debug_printf("blk-server: cannot serve %s: %s\n", cfg->device.where, err);
        d.broken = true;
    } else {
        debug_printf("blk-server: serving %s: %llu sectors\n", cfg->device.where,
                     (unsigned long long)d.sectors);
        if (cfg->incarnation > 1)
            debug_printf("blk-server: incarnation %u: the device reset and started again\n",
                         cfg->incarnation);
    }
    for (;;) {
        if (is_interrupt(&m)) {
            virtio_blk_interrupt(&cfg->device, &cfg->irq, m.badge);
            collect(&d);
            sys_recv(cfg->endpoint, &m); /* nobody to answer */
            continue;
        }
        blk_dispatch(&server, &m);
        sys_reply_recv(cfg->endpoint, &m);
    }
}
