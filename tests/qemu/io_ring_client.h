/*
 * The tenant's side of an IO session's ring (servers/io/ring.h), for the
 * in-QEMU tests: push requests, kick, wait for and pop completions, and
 * the data patterns they check.
 */
#pragma once

#include <bulkhead/sys.h>
#include <protocols/io_client.h>

#include "../../servers/io/ring.h"

struct tenant {
    volatile struct io_ring *ring;
    uint8_t *buf[IO_RING_BUFFERS];
    uint64_t ep, ntfn;
    uint32_t sq_tail, cq_head;
};

/* The session mapped at `vaddr`: ring first, then the buffers. */
static inline void tenant_attach(struct tenant *t, uint64_t ep, uint64_t ntfn, uint64_t vaddr)
{
    t->ring = (volatile struct io_ring *)(uintptr_t)vaddr;
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++)
        t->buf[b] = (uint8_t *)(uintptr_t)(vaddr + (1 + b) * 4096ull);
    t->ep = ep;
    t->ntfn = ntfn;
    t->sq_tail = t->cq_head = 0;
}

static inline void tenant_push(struct tenant *t, uint64_t tag, uint16_t op, uint64_t offset,
                               uint32_t bytes, uint16_t buffer, uint64_t reserved)
{
    volatile struct io_sqe *q = &t->ring->sq[t->sq_tail % IO_RING_SQ];
    q->tag = tag;
    q->offset = offset;
    q->bytes = bytes;
    q->op = op;
    q->buffer = buffer;
    q->reserved = reserved;
    t->sq_tail++;
    __atomic_store_n(&t->ring->sq_tail, t->sq_tail, __ATOMIC_RELEASE);
}

static inline bool tenant_pop(struct tenant *t, struct io_cqe *out)
{
    uint32_t tail = __atomic_load_n(&t->ring->cq_tail, __ATOMIC_ACQUIRE);
    if (tail == t->cq_head)
        return false;
    const volatile struct io_cqe *e = &t->ring->cq[t->cq_head % IO_RING_CQ];
    out->tag = e->tag;
    out->status = e->status;
    out->bytes = e->bytes;
    t->cq_head++;
    __atomic_store_n(&t->ring->cq_head, t->cq_head, __ATOMIC_RELEASE);
    return true;
}

static inline int tenant_kick(struct tenant *t, uint32_t *accepted, struct io_error *e)
{
    uint32_t a = 0, c = 0;
    int r = io_kick(t->ep, &a, &c, e);
    if (accepted)
        *accepted = a;
    return r;
}

/* Pops `n` completions into out[], waiting on the notification between. */
static inline void tenant_wait(struct tenant *t, struct io_cqe *out, unsigned n)
{
    unsigned got = 0;
    while (got < n) {
        while (got < n && tenant_pop(t, &out[got]))
            got++;
        if (got < n) {
            struct bk_msg m = { 0 };
            sys_recv(t->ntfn, &m);
        }
    }
}

static inline uint64_t pattern_sum(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static inline void pattern_fill(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 56);
    }
}
