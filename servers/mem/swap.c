/*
 * The swap area (docs/memory.md, "Oversubscription"): a virtual disk of the
 * IO server's, reached through an ordinary IO session the memory server
 * opens for itself (Mem: SwapOn). The server is a client like any tenant:
 * the administrator gives it an IO tenant number with a policy and a disk,
 * and the session's ring and buffers are made from the IO server's share
 * for that number, mapped at SWAP_WINDOW of our own space.
 *
 * The disk is cut into 4 KiB slots, free or holding one evicted page; a
 * bitmap in our data says which. A transfer takes one of the session's
 * buffers (so up to IO_RING_BUFFERS are in flight), is written in the ring
 * with the buffer's number as its tag, and kicked. Its completion is
 * waited for by serve_until() (main.c), which keeps answering the
 * endpoint meanwhile: the session's notification is bound to our thread,
 * so one Recv sees a request or the signal that completions came. That is
 * what lets the IO server Call us (Mem: TakeGrant, for a tenant's IO:
 * OpenGranted) while one of our transfers waits on it.
 */
#include <protocols/io_client.h>

#include "../io/ring.h"
#include "server.h"

#define SLOTS_MAX 16384u /* 64 MiB of swap at most */

_Static_assert(SWAP_BUFFERS == IO_RING_BUFFERS, "one transfer per buffer of the session");

static volatile struct io_ring *ring;
static uint32_t sq_tail, cq_head;
static uint64_t slots, slots_free;
static uint32_t slot_hint;
static uint8_t slot_used[SLOTS_MAX / 8];
static uint64_t waited; /* bk_counter() spent waiting for completions */

/* Buffer b's transfer: taken by swap_begin(), done when its completion
 * (tag b) is reaped, with the ring's status. */
static struct {
    bool taken, done;
    uint32_t status;
} buffer[SWAP_BUFFERS];
static unsigned buffer_count, in_flight; /* the session's buffers; transfers between kick and reap */
static bool held;                   /* SwapHold: requests written, not kicked */
static unsigned unkicked;

bool swap_ready(void)
{
    return ring != NULL;
}

uint64_t swap_slots(void)
{
    return slots;
}

uint64_t swap_slots_free(void)
{
    return slots_free;
}

uint64_t swap_waited(void)
{
    return waited;
}

uint8_t *swap_buffer(unsigned b)
{
    return (uint8_t *)(uintptr_t)(SWAP_WINDOW + (1 + b) * MEM_PAGE);
}

long swap_begin(void)
{
    for (unsigned b = 0; b < buffer_count; b++) {
        if (!buffer[b].taken) {
            buffer[b].taken = true;
            buffer[b].done = false;
            return b;
        }
    }
    return -1;
}

void swap_end(unsigned b)
{
    buffer[b].taken = false;
}

unsigned swap_in_flight(void)
{
    return in_flight;
}

int mem_handle_swap_on(struct mem_call *call, uint64_t io_slot, uint64_t *out_slots)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    if (ring)
        return mem_fail_swap_failed(call, 0, slots * MEM_PAGE);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SWAP_IO, W);
    sys_cnode_move(BK_CAP_ROOT_CNODE, SWAP_IO, W, BK_CAP_ROOT_CNODE, io_slot, W);
    uint32_t tenant = 0, buffers = 0, memory = 0;
    uint64_t disk = 0;
    struct io_error e = { 0 };
    int r = io_open(SWAP_IO, BK_CAP_ROOT_VSPACE, SWAP_WINDOW, &tenant, &disk, &buffers, &memory,
                    SWAP_NOTIFICATION, &e);
    /* Its signal ends our Recv on the endpoint: completions and requests
     * are waited for at once (serve_until). */
    if (r == 0 && disk >= MEM_PAGE)
        r = (int)-sys_tcb_bind_notification(BK_CAP_ROOT_TCB, SWAP_NOTIFICATION);
    /* We kick by signalling, never by IO: Kick: the IO server calls us
     * (Mem: TakeGrant, EndGrant), and on several CPUs our call to it and
     * its call to us could each wait for the other forever. */
    if (r == 0 && disk >= MEM_PAGE)
        r = io_doorbell(SWAP_IO, SWAP_DOORBELL, &e);
    if (r != 0 || disk < MEM_PAGE) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, SWAP_IO, W);
        return mem_fail_swap_failed(call, (uint64_t)(r ? r : 0), disk);
    }
    ring = (volatile struct io_ring *)(uintptr_t)SWAP_WINDOW;
    slots = disk / MEM_PAGE < SLOTS_MAX ? disk / MEM_PAGE : SLOTS_MAX;
    slots_free = slots;
    buffer_count = buffers < SWAP_BUFFERS ? buffers : SWAP_BUFFERS;
    *out_slots = slots;
    return 0;
}

long swap_slot_take(void)
{
    if (slots_free == 0)
        return -1;
    for (uint64_t i = 0; i < slots; i++) {
        uint32_t s = (uint32_t)((slot_hint + i) % slots);
        if (!(slot_used[s / 8] & (1u << (s % 8)))) {
            slot_used[s / 8] |= (uint8_t)(1u << (s % 8));
            slots_free--;
            slot_hint = s + 1;
            return s;
        }
    }
    return -1;
}

void swap_slot_free(uint32_t slot)
{
    if (slot < slots && (slot_used[slot / 8] & (1u << (slot % 8)))) {
        slot_used[slot / 8] &= (uint8_t)~(1u << (slot % 8));
        slots_free++;
    }
}

/* Every completion the ring holds marks its buffer's transfer done. */
void swap_reap(void)
{
    if (!ring)
        return;
    while (__atomic_load_n(&ring->cq_tail, __ATOMIC_ACQUIRE) != cq_head) {
        volatile struct io_cqe *c = &ring->cq[cq_head % IO_RING_CQ];
        uint64_t b = c->tag;
        if (b < SWAP_BUFFERS && buffer[b].taken && !buffer[b].done) {
            buffer[b].status = c->status;
            buffer[b].done = true;
            in_flight--;
        }
        cq_head++;
    }
    __atomic_store_n(&ring->cq_head, cq_head, __ATOMIC_RELEASE);
}

/* Hands the requests written so far to the IO server: its doorbell rung,
 * a signal, which never blocks us and has no answer (the session is the
 * administrator's to keep open while we use it: closing it takes the
 * ring from under us too, docs/memory.md). */
static void kick(void)
{
    struct bk_msg signal = { 0 };
    unkicked = 0;
    sys_send(SWAP_DOORBELL, &signal);
}

int mem_handle_swap_hold(struct mem_call *call, bool hold, uint64_t *in_flight_now)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    *in_flight_now = (uint64_t)swap_hold(hold);
    return 0;
}

long swap_hold(bool hold)
{
    held = hold;
    if (!hold && unkicked)
        kick();
    return in_flight;
}

/* Buffer b to or from slot `slot`, kicked, its completion waited for
 * while the server answers everyone else: 0 or the ring's status
 * (IO_ST_*: a request the IO server refuses completes with its error). */
static long transfer(unsigned b, uint16_t op, uint32_t slot)
{
    volatile struct io_sqe *q = &ring->sq[sq_tail % IO_RING_SQ];
    q->tag = b;
    q->offset = (uint64_t)slot * MEM_PAGE;
    q->bytes = (uint32_t)MEM_PAGE;
    q->op = op;
    q->buffer = (uint16_t)b;
    q->reserved = 0;
    sq_tail++;
    __atomic_store_n(&ring->sq_tail, sq_tail, __ATOMIC_RELEASE);
    in_flight++;
    unkicked++;
    if (!held)
        kick();
    /* The wait's length replaces what the waits served inside it added:
     * each instant counts once, so a cost less the waits is the work. */
    uint64_t t0 = bk_counter(), w0 = waited;
    serve_until(&buffer[b].done);
    waited = w0 + (bk_counter() - t0);
    return buffer[b].status;
}

long swap_write(unsigned b, uint32_t slot)
{
    return transfer(b, IO_OP_WRITE, slot);
}

long swap_read(unsigned b, uint32_t slot)
{
    return transfer(b, IO_OP_READ, slot);
}
