/*
 * The blk protocol's handlers and the driver's loop (protocol.toml,
 * docs/io.md). A client is its badge, 1 to BLK_CLIENTS; its state is the
 * buffer frame it attached, mapped at a page of our own. Each request is
 * checked whole (who, buffer, sectors, offset, size) before the device
 * sees it, then copied through the driver's DMA page, so the device only
 * ever reaches the driver's three DMA frames.
 */
#include <protocols/blk_server.h>

#include "blk.h"

struct client {
    uint64_t frame; /* the attached buffer's cap in our CNode, 0: none */
    uint8_t *buffer;
};

struct driver {
    struct blk_config *cfg;
    bool broken; /* the device did not start: every request gets a device error */
    uint64_t sectors;
    struct client clients[BLK_CLIENTS];
};

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
    unsigned status = virtio_blk_transfer(&d->cfg->device, &d->cfg->irq, write, sector, count);
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
    }
    for (;;) {
        blk_dispatch(&server, &m);
        sys_reply_recv(cfg->endpoint, &m);
    }
}
