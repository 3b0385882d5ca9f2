/*
 * A tenant's session (docs/io.md, "Sessions"): its memory, its ring, and
 * the requests read from it.
 *
 * Memory: each tenant number has a 64 KiB untyped of the server's pool
 * (IO_SLOT_SESSION + t); or the tenant pays (open_granted): the memory
 * server hands us the tenant's grant, 64 KiB of its account as 8 untypeds
 * (Mem: TakeGrant; docs/memory.md, "Quota travels with requests"). A
 * session retypes from its memory a ring page, 8 buffer pages, its
 * notification and the page tables its mapping needs in the tenant's
 * space, and nothing else; closing revokes it, which deletes every one of
 * those caps, the copies the driver holds included, so a session never
 * costs more than its 64 KiB and leaves nothing behind; a grant is then
 * ended (Mem: EndGrant), and the memory server returns its bytes to the
 * tenant's account.
 *
 * The ring is shared with a tenant that may write anything at any time, so
 * every index and entry is copied once, checked as a copy, and the work of
 * one kick is bounded by the ring's size.
 */
#include <protocols/blk_client.h>
#include <protocols/mem_client.h>

#include "io.h"

#define PAGE 4096ull
#define RING_VADDR 0x50000000ull /* our mapping of tenant t's ring: + t pages */
#define SESSION_CAPS 17u /* vspace, ring and copy, notification and copy, 8 buffers, 4 tables */
#define MAX_TABLES 4u

static void end_grant(struct session *s);

/* An object of the session's memory: from our untyped, or from the first
 * of the grant's untypeds with room for it. */
static long retype(struct session *s, uint64_t type, unsigned bits, uint64_t slot)
{
    if (!s->grant)
        return sys_untyped_retype(s->untyped, type, bits, BK_CAP_ROOT_CNODE, 0, 0, slot, 1);
    long r = -BK_ERR_NOT_ENOUGH_MEMORY;
    for (unsigned i = 0; i < IO_GRANT_UNTYPEDS && r == -BK_ERR_NOT_ENOUGH_MEMORY; i++)
        r = sys_untyped_retype(s->granted + i, type, bits, BK_CAP_ROOT_CNODE, 0, 0, slot, 1);
    return r;
}

int session_take_grant(unsigned t, uint64_t grant)
{
    struct session *s = &io.sessions[t];
    uint64_t slots = bk_slots_alloc_range(IO_GRANT_UNTYPEDS + 1), bytes = 0;
    if (!slots)
        return -1;
    uint64_t cnode = slots + IO_GRANT_UNTYPEDS;
    struct mem_error e = { 0 };
    int r = mem_take_grant(IO_SLOT_MEM_SERVER, grant, t + 1, &bytes, cnode, &e);
    if (r != 0) { /* not ours: nothing taken, nothing to end */
        for (unsigned i = 0; i <= IO_GRANT_UNTYPEDS; i++)
            bk_slot_free(slots + i);
        return r < 0 ? -1 : r;
    }
    s->grant = grant;
    s->granted = slots;
    /* The untypeds are originals: moved out, they are ours to retype (the
     * memory server keeps what they were made from). */
    for (unsigned i = 0; r == 0 && i < IO_GRANT_UNTYPEDS; i++)
        r = (int)-sys_cnode_move(BK_CAP_ROOT_CNODE, slots + i, BK_WORD_BITS, cnode, i,
                                 IO_GRANT_CNODE_BITS);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, cnode, BK_WORD_BITS);
    bk_slot_free(cnode);
    if (r != 0)
        end_grant(s); /* taken but unusable: given back at once */
    return r;
}

/* The next free one of the session's cap slots (they are used in order). */
static uint64_t next_slot(struct session *s, unsigned *used)
{
    return *used < SESSION_CAPS ? s->slots + (*used)++ : 0;
}

/* Maps `frame` at `vaddr` of the tenant's space, making missing page
 * tables from the session's memory (so they are charged to it). */
static long map_charged(struct session *s, uint64_t frame, uint64_t vaddr, unsigned *used)
{
    for (unsigned tries = 0; tries < MAX_TABLES + 1; tries++) {
        long r = sys_frame_map(frame, s->vspace, vaddr, BK_VM_READ | BK_VM_WRITE, 0);
        if (r != -BK_ERR_FAILED_LOOKUP)
            return r;
        uint64_t table = next_slot(s, used);
        if (!table || s->tables == MAX_TABLES)
            return -BK_ERR_NOT_ENOUGH_MEMORY;
        if ((r = retype(s, BK_OBJ_PAGE_TABLE, 0, table)) != 0 ||
            (r = sys_page_table_map(table, s->vspace, vaddr)) != 0)
            return r;
        s->tables++;
    }
    return -BK_ERR_FAILED_LOOKUP;
}

/* The ring page, mapped in both spaces, and its header for the tenant. */
static long make_ring(unsigned t, uint64_t vaddr, unsigned *used)
{
    struct session *s = &io.sessions[t];
    s->ring_frame = next_slot(s, used);
    s->ring_copy = next_slot(s, used);
    long r = retype(s, BK_OBJ_FRAME, 12, s->ring_frame);
    if (r == 0)
        r = sys_cnode_copy(BK_CAP_ROOT_CNODE, s->ring_copy, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                           s->ring_frame, BK_WORD_BITS, BK_RIGHT_READ | BK_RIGHT_WRITE);
    if (r == 0)
        r = bk_map_frame(BK_CAP_ROOT_VSPACE, s->ring_frame, RING_VADDR + t * PAGE,
                         BK_VM_READ | BK_VM_WRITE, 0);
    if (r == 0)
        r = map_charged(s, s->ring_copy, vaddr, used);
    if (r != 0)
        return r;
    s->ring = (volatile struct io_ring *)(uintptr_t)(RING_VADDR + t * PAGE);
    s->ring->sq_entries = IO_RING_SQ;
    s->ring->cq_entries = IO_RING_CQ;
    s->ring->buffers = IO_RING_BUFFERS;
    s->ring->buffer_bytes = IO_RING_BUFFER_BYTES;
    s->ring->disk_bytes = s->sectors * IO_RING_SECTOR;
    return 0;
}

/* The buffer pages: the driver gets a child cap of each (its DMA target),
 * the tenant a mapping; we never map them, so data moves disk <-> tenant
 * with no copy. */
static long make_buffers(struct session *s, uint64_t vaddr, unsigned *used, uint64_t *blk_error)
{
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
        s->data[b] = next_slot(s, used);
        long r = retype(s, BK_OBJ_FRAME, 12, s->data[b]);
        if (r != 0)
            return r;
        struct blk_error e;
        watch_call_begin();
        int br = blk_add_buffer(io.driver, s->data[b], &s->driver_buffer[b], &e);
        watch_settle(false, 0);
        if (br != 0) {
            *blk_error = (uint64_t)br;
            return SESSION_DRIVER_REFUSED;
        }
        if ((r = map_charged(s, s->data[b], vaddr + (1 + b) * PAGE, used)) != 0)
            return r;
    }
    return 0;
}

int session_register_buffers(unsigned t)
{
    struct session *s = &io.sessions[t];
    if (!s->open)
        return 0;
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
        int br = blk_add_buffer(io.driver, s->data[b], &s->driver_buffer[b], NULL);
        if (br != 0)
            return br;
    }
    return 0;
}

/* A grant's untypeds revoked (everything made of them deleted) and let
 * go, then the grant ended: the memory server takes the memory back and
 * returns its bytes to the tenant's account. */
static void end_grant(struct session *s)
{
    if (!s->grant)
        return;
    for (unsigned i = 0; i < IO_GRANT_UNTYPEDS; i++) {
        sys_cnode_revoke(BK_CAP_ROOT_CNODE, s->granted + i, BK_WORD_BITS);
        sys_cnode_delete(BK_CAP_ROOT_CNODE, s->granted + i, BK_WORD_BITS);
        bk_slot_free(s->granted + i);
    }
    uint64_t returned = 0;
    mem_end_grant(IO_SLOT_MEM_SERVER, s->grant, &returned, NULL);
    s->grant = 0;
}

/* Lets go of everything the session holds: the driver's buffers, then the
 * session's memory (revoking it deletes every cap made from it; a grant
 * ends), then the tenant's caps. */
static void release(struct session *s)
{
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
        if (s->driver_buffer[b] != UINT32_MAX) {
            watch_call_begin();
            blk_remove_buffer(io.driver, s->driver_buffer[b], NULL);
            watch_settle(false, 0);
        }
        s->driver_buffer[b] = UINT32_MAX;
    }
    if (s->doorbell) { /* minted from our notification, not the session's memory */
        sys_cnode_revoke(BK_CAP_ROOT_CNODE, s->doorbell, BK_WORD_BITS);
        sys_cnode_delete(BK_CAP_ROOT_CNODE, s->doorbell, BK_WORD_BITS);
        bk_slot_free(s->doorbell);
        s->doorbell = 0;
    }
    if (s->grant)
        end_grant(s);
    else
        sys_cnode_revoke(BK_CAP_ROOT_CNODE, s->untyped, BK_WORD_BITS);
    for (unsigned i = 0; i < SESSION_CAPS; i++)
        sys_cnode_delete(BK_CAP_ROOT_CNODE, s->slots + i, BK_WORD_BITS); /* the vspace */
    for (unsigned i = 0; i < SESSION_CAPS; i++)
        bk_slot_free(s->slots + i);
    s->slots = 0;
    s->notification = s->notification_copy = 0;
    s->ring = NULL;
    s->open = s->closing = false;
}

/* The session's notification, and a copy with the wait right alone for the
 * tenant (open's answer carries it): only the server signals it. */
static long make_notification(struct session *s, unsigned *used)
{
    s->notification = next_slot(s, used);
    s->notification_copy = next_slot(s, used);
    long r = retype(s, BK_OBJ_NOTIFICATION, 0, s->notification);
    if (r == 0)
        r = sys_cnode_copy(BK_CAP_ROOT_CNODE, s->notification_copy, BK_WORD_BITS,
                           BK_CAP_ROOT_CNODE, s->notification, BK_WORD_BITS, BK_RIGHT_READ);
    return r;
}

long session_open(unsigned t, uint64_t vspace_slot, uint64_t vaddr, uint64_t *blk_error)
{
    struct session *s = &io.sessions[t];
    s->slots = bk_slots_alloc_range(SESSION_CAPS);
    if (!s->slots) {
        end_grant(s);
        return BK_ERR_NOT_ENOUGH_MEMORY;
    }
    unsigned *used = &s->caps_used;
    *used = 0;
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++)
        s->driver_buffer[b] = UINT32_MAX;
    s->vspace = next_slot(s, used);
    long r = sys_cnode_move(BK_CAP_ROOT_CNODE, s->vspace, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                            vspace_slot, BK_WORD_BITS);
    s->tables = 0;
    s->sq_head = s->cq_tail = 0;
    s->queued = s->in_device = 0;
    s->notification = 0;
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++)
        s->req[b].state = REQ_FREE;
    if (r == 0)
        r = make_notification(s, used);
    if (r == 0)
        r = make_ring(t, vaddr, used);
    if (r == 0)
        r = make_buffers(s, vaddr, used, blk_error);
    if (r != 0) {
        release(s);
        return r == SESSION_DRIVER_REFUSED || r > 0 ? r : -r;
    }
    s->open = true;
    return 0;
}

/* ---- requests in ------------------------------------------------------- */

static uint32_t load(volatile uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(volatile uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Completions the tenant has not read, or more than the ring holds if it
 * wrote an impossible cq_head. */
static uint32_t unread(const struct session *s)
{
    return s->cq_tail - load(&s->ring->cq_head);
}

uint32_t session_completions(unsigned t)
{
    const struct session *s = &io.sessions[t];
    uint32_t n = s->open ? unread(s) : 0;
    return n > IO_RING_CQ ? 0 : n;
}

void session_complete(unsigned t, uint64_t tag, uint32_t status, uint32_t bytes)
{
    struct session *s = &io.sessions[t];
    if (!s->open || s->closing || unread(s) >= IO_RING_CQ)
        return; /* gone, or a tenant that lied about cq_head: only its own loss */
    volatile struct io_cqe *e = &s->ring->cq[s->cq_tail % IO_RING_CQ];
    e->tag = tag;
    e->status = status;
    e->bytes = bytes;
    s->cq_tail++;
    store(&s->ring->cq_tail, s->cq_tail);
    s->to_signal = true;
}

/* Checks one request (a copy) against the session; IO_ST_OK or why not. */
static uint32_t check(const struct session *s, const struct io_sqe *q)
{
    if ((q->op != IO_OP_READ && q->op != IO_OP_WRITE) || q->reserved != 0)
        return IO_ST_BAD_OP;
    if (q->offset % IO_RING_SECTOR || q->bytes % IO_RING_SECTOR)
        return IO_ST_MISALIGNED;
    if (q->bytes == 0 || q->bytes > IO_RING_BUFFER_BYTES)
        return IO_ST_BAD_LENGTH;
    uint64_t sector = q->offset / IO_RING_SECTOR, count = q->bytes / IO_RING_SECTOR;
    if (sector >= s->sectors || count > s->sectors - sector)
        return IO_ST_OUT_OF_RANGE;
    if (q->buffer >= IO_RING_BUFFERS)
        return IO_ST_BAD_BUFFER;
    if (s->req[q->buffer].state != REQ_FREE)
        return IO_ST_BUFFER_BUSY;
    return IO_ST_OK;
}

/* Takes one checked request: queued in the scheduler, or completed at
 * once with its error. */
static void take(unsigned t, const struct io_sqe *q)
{
    struct session *s = &io.sessions[t];
    uint32_t st = check(s, q);
    if (st == IO_ST_OK &&
        iosched_submit(&io.sched, t, q->buffer, q->bytes, debug_time_ns()) != IOSCHED_OK)
        st = IO_ST_QUEUE_FULL;
    if (st != IO_ST_OK) {
        session_complete(t, q->tag, st, 0);
        return;
    }
    s->req[q->buffer] = (struct request){ .state = REQ_QUEUED, .tag = q->tag,
                                          .write = q->op == IO_OP_WRITE,
                                          .sector = s->first_sector + q->offset / IO_RING_SECTOR,
                                          .count = q->bytes / IO_RING_SECTOR };
    s->queued++;
}

bool session_read_requests(unsigned t, uint32_t *accepted)
{
    struct session *s = &io.sessions[t];
    uint32_t tail = load(&s->ring->sq_tail); /* once: the tenant may change it meanwhile */
    uint32_t waiting = tail - s->sq_head;
    if (waiting > IO_RING_SQ || unread(s) > IO_RING_CQ)
        return false;
    uint32_t n = 0;
    /* Each request taken needs a completion entry: requests of ours not
     * completed yet plus completions unread stay within the ring. */
    while (n < waiting && unread(s) + s->queued + s->in_device < IO_RING_CQ) {
        struct io_sqe q;
        memcpy(&q, (const void *)&s->ring->sq[s->sq_head % IO_RING_SQ], sizeof(q));
        __atomic_signal_fence(__ATOMIC_SEQ_CST); /* q is ours from here on */
        take(t, &q);
        s->sq_head++;
        n++;
    }
    store(&s->ring->sq_head, s->sq_head);
    *accepted = n;
    return true;
}

/* ---- closing ------------------------------------------------------------- */

unsigned session_close(unsigned t)
{
    struct session *s = &io.sessions[t];
    unsigned cancelled = 0;
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
        if (s->req[b].state == REQ_QUEUED) {
            s->req[b].state = REQ_FREE;
            cancelled++;
        }
    }
    s->queued = 0;
    if (s->open) {
        s->closing = true;
        session_reclaim_if_idle(t);
    }
    return cancelled;
}

void session_reclaim_if_idle(unsigned t)
{
    struct session *s = &io.sessions[t];
    if (!s->closing || s->in_device)
        return;
    release(s);
    debug_printf("io-server: tenant %u: session closed, %llu bytes reclaimed\n", t + 1,
                 1ull << IO_SESSION_BITS);
}

void session_signal_all(void)
{
    for (unsigned t = 0; t < IOSCHED_TENANTS; t++) {
        struct session *s = &io.sessions[t];
        if (!s->to_signal)
            continue;
        s->to_signal = false;
        if (s->notification) {
            struct bk_msg m = { 0 };
            sys_send(s->notification, &m); /* a signal: never blocks */
        }
    }
}
