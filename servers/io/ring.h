/*
 * A session's request ring (docs/io.md, "Sessions"): the layout the IO
 * server and a tenant share. IO: Open maps the ring page at the address the
 * tenant gave and its IO_RING_BUFFERS buffer pages right after it.
 *
 * Who writes what: the tenant writes requests into sq[] and then sq_tail,
 * and cq_head once it has read completions; the server writes sq_head
 * (requests it has read), completions into cq[] and then cq_tail. Indices
 * run freely and wrap at 2^32; entry i lives at [i % entries]. The server
 * copies each index and entry once, checks the copy, and trusts nothing the
 * tenant wrote: a tenant can only hurt its own requests.
 */
#pragma once

#include <stdint.h>

#define IO_RING_SQ 16u             /* request entries */
#define IO_RING_CQ 32u             /* completion entries: room for every accepted request */
#define IO_RING_BUFFERS 8u         /* DMA buffers of a session */
#define IO_RING_BUFFER_BYTES 4096u /* one page each; the largest request */
#define IO_RING_SECTOR 512u        /* offsets and lengths are multiples of it */
#define IO_SESSION_PAGES (1u + IO_RING_BUFFERS)

enum io_ring_op {
    IO_OP_READ = 1,  /* disk -> buffer */
    IO_OP_WRITE = 2, /* buffer -> disk */
};

/* A completion's status. IO_ST_DEVICE carries the device's own status
 * (virtio-blk 1 IOERR, 2 UNSUPP, 255 no answer) in bits 8-15. */
enum io_ring_status {
    IO_ST_OK = 0,
    IO_ST_BAD_OP = 1,       /* op is neither read nor write, or `reserved` is not 0 */
    IO_ST_MISALIGNED = 2,   /* offset or bytes not a multiple of 512 */
    IO_ST_BAD_LENGTH = 3,   /* bytes 0 or above one buffer */
    IO_ST_OUT_OF_RANGE = 4, /* past the end of the tenant's virtual disk */
    IO_ST_BAD_BUFFER = 5,   /* no such buffer */
    IO_ST_BUFFER_BUSY = 6,  /* the buffer holds a request not completed yet */
    IO_ST_QUEUE_FULL = 7,   /* the tenant's queue in the scheduler is full */
    IO_ST_DEVICE = 8,       /* the device failed it */
    IO_ST_CANCELLED = 9,    /* the session closed first */
    IO_ST_DRIVER_GONE = 10, /* the disk's driver died too often in a row and was given up on */
};

struct io_sqe {
    uint64_t tag;     /* the tenant's, given back in the completion */
    uint64_t offset;  /* bytes into the tenant's virtual disk */
    uint32_t bytes;   /* 512 .. 4096, a multiple of 512 */
    uint16_t op;      /* enum io_ring_op */
    uint16_t buffer;  /* which buffer page, < IO_RING_BUFFERS; data at its start */
    uint64_t reserved; /* 0 */
};

struct io_cqe {
    uint64_t tag;
    uint32_t status; /* enum io_ring_status */
    uint32_t bytes;  /* moved: the request's length, or 0 */
};

struct io_ring {
    uint32_t sq_tail; /* tenant */
    uint32_t sq_head; /* server */
    uint32_t cq_tail; /* server */
    uint32_t cq_head; /* tenant */
    /* Written by the server at open, for the tenant to read. */
    uint32_t sq_entries, cq_entries, buffers, buffer_bytes;
    uint64_t disk_bytes;
    uint8_t pad0[24];
    struct io_sqe sq[IO_RING_SQ]; /* at 64 */
    uint8_t pad1[448];
    struct io_cqe cq[IO_RING_CQ]; /* at 1024 */
};

_Static_assert(sizeof(struct io_sqe) == 32, "sqe layout");
_Static_assert(sizeof(struct io_cqe) == 16, "cqe layout");
_Static_assert(__builtin_offsetof(struct io_ring, sq) == 64, "sq at 64");
_Static_assert(__builtin_offsetof(struct io_ring, cq) == 1024, "cq at 1024");
_Static_assert(sizeof(struct io_ring) <= 4096, "one page");
