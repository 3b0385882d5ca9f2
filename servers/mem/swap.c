/*
 * The swap area (docs/memory.md, "Oversubscription"): a virtual disk of the
 * IO server's, reached through an ordinary IO session the memory server
 * opens for itself (Mem: SwapOn). The server is a client like any tenant:
 * the administrator gives it an IO tenant number with a policy and a disk,
 * and the session's ring and buffers are made from the IO server's share
 * for that number, mapped at SWAP_WINDOW of our own space.
 *
 * The disk is cut into 4 KiB slots, free or holding one evicted page; a
 * bitmap in our data says which. One page moves at a time, through the
 * session's first buffer: the request is written in the ring, kicked, and
 * the server waits on the session's notification for its completion. The
 * wait blocks the server's one thread, so faults queue meanwhile (each
 * costs one disk transfer's latency). Known limit: IO: OpenGranted makes
 * the IO server Call us (Mem: TakeGrant); if that happens while we wait
 * for a swap completion, each waits for the other. A tenant opening a
 * granted session while another is paging deadlocks both servers; the
 * cure (waiting on our endpoint and the notification at once, serving the
 * IO server's call meanwhile) is not done (docs/memory.md, "Not done yet").
 */
#include <protocols/io_client.h>

#include "../io/ring.h"
#include "server.h"

#define SLOTS_MAX 16384u /* 64 MiB of swap at most */

static volatile struct io_ring *ring;
static uint32_t sq_tail, cq_head;
static uint64_t slots, slots_free;
static uint32_t slot_hint;
static uint8_t slot_used[SLOTS_MAX / 8];
static uint64_t waited; /* bk_counter() spent waiting for completions */

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

uint8_t *swap_buffer(void)
{
    return (uint8_t *)(uintptr_t)(SWAP_WINDOW + MEM_PAGE);
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
    if (r != 0 || disk < MEM_PAGE) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, SWAP_IO, W);
        return mem_fail_swap_failed(call, (uint64_t)(r ? r : 0), disk);
    }
    ring = (volatile struct io_ring *)(uintptr_t)SWAP_WINDOW;
    slots = disk / MEM_PAGE < SLOTS_MAX ? disk / MEM_PAGE : SLOTS_MAX;
    slots_free = slots;
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

/* One request on buffer 0, kicked, its completion waited for: 0 or the
 * ring's status (IO_ST_*, or 0x100 | the IO error of a refused kick). */
static long transfer(uint16_t op, uint32_t slot)
{
    volatile struct io_sqe *q = &ring->sq[sq_tail % IO_RING_SQ];
    q->tag = slot;
    q->offset = (uint64_t)slot * MEM_PAGE;
    q->bytes = (uint32_t)MEM_PAGE;
    q->op = op;
    q->buffer = 0;
    q->reserved = 0;
    sq_tail++;
    __atomic_store_n(&ring->sq_tail, sq_tail, __ATOMIC_RELEASE);
    uint32_t accepted = 0, completions = 0;
    int k = io_kick(SWAP_IO, &accepted, &completions, NULL);
    if (k != 0)
        return 0x100 | k;
    /* Our one request is the only one in flight: the next completion is it. */
    uint64_t t0 = bk_counter();
    while (__atomic_load_n(&ring->cq_tail, __ATOMIC_ACQUIRE) == cq_head) {
        struct bk_msg m = { 0 };
        sys_recv(SWAP_NOTIFICATION, &m);
    }
    waited += bk_counter() - t0;
    uint32_t status = ring->cq[cq_head % IO_RING_CQ].status;
    cq_head++;
    __atomic_store_n(&ring->cq_head, cq_head, __ATOMIC_RELEASE);
    return status;
}

long swap_write(uint32_t slot)
{
    return transfer(IO_OP_WRITE, slot);
}

long swap_read(uint32_t slot)
{
    return transfer(IO_OP_READ, slot);
}
