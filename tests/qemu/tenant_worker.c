/*
 * A tenant the tenant manager creates (tests/qemu/tenants_test.c, and the
 * demo's `programs`): the program "worker". It touches 32 KiB of its
 * stack (backed on demand by the memory server, so charged to its
 * account: memory the manager's list shows and Kill returns), says hello
 * to the manager (Tenants: Hello, on the cap Spawn put in
 * BK_PROCESS_FIRST_FREE_SLOT; the manager passes the word on to whoever
 * hears its tenants). A tenant without IO then spins for good, using the
 * CPU its quota allows.
 *
 * A tenant with IO (Hello names its number with the IO server) opens its
 * session the way any tenant does, paid from its own account: the IO cap
 * from the manager (Tenants: Io), a grant of its account toward the IO
 * server (Mem: Grant, on its cap to the memory server in
 * BK_PROCESS_CAP_ARG), IO: OpenGranted into its own VSpace (which Spawn
 * gave it). Then it writes and reads back the blocks of its disk in
 * turn, for good, as fast as its IO policy lets it: the manager's list
 * shows its operations grow. A block that reads back wrong, or a refused
 * step, ends the IO (it spins instead): the operations stop growing.
 */
#include <bulkhead/sys.h>
#include <protocols/io_client.h>
#include <protocols/mem_client.h>
#include <protocols/tenants_client.h>

#include "../../servers/io/ring.h"

#define MANAGER_SLOT BK_PROCESS_FIRST_FREE_SLOT
#define MEM_SLOT BK_PROCESS_CAP_ARG
#define IO_SLOT (BK_PROCESS_FIRST_FREE_SLOT + 1)
#define NOTIFY_SLOT (BK_PROCESS_FIRST_FREE_SLOT + 2)
#define TOUCHED (32 * 1024)
#define IO_BASE 0x3000000000ull /* the session's ring, then its buffers */
#define PAGE 4096ull
/* A number just closed opens once its old requests complete: asked again
 * once a period (Yield on our budget waits for the next refill), at most
 * this often. Counted, not timed: we hold no Debug cap to read the clock
 * with (and a call on an empty slot is a fault, which ends us). */
#define OPEN_TRIES 2000

static uint64_t touch_stack(void)
{
    volatile uint8_t block[TOUCHED];
    for (unsigned i = 0; i < TOUCHED; i += 4096)
        block[i] = (uint8_t)i;
    return block[0] + TOUCHED;
}

static _Noreturn void spin(void)
{
    for (volatile uint64_t spins = 0;; spins++)
        ;
}

/* The session: the IO cap, a grant of our account, IO: OpenGranted, asked
 * again while the server says the number is still closing or the driver
 * is down. */
static bool open_session(uint32_t io_tenant, uint32_t holder, uint64_t *disk)
{
    struct tenants_error te;
    struct mem_error me;
    struct io_error ie;
    uint64_t grant;
    uint32_t tenant, buffers, memory;
    if (tenants_io(MANAGER_SLOT, IO_SLOT, &te) ||
        mem_grant(MEM_SLOT, 0, holder, io_tenant, &grant, &me))
        return false;
    for (unsigned tries = 1;; tries++) {
        int r = io_open_granted(IO_SLOT, BK_CAP_ROOT_VSPACE, IO_BASE, grant, &tenant, disk,
                                &buffers, &memory, NOTIFY_SLOT, &ie);
        if (r == 0)
            return true;
        if ((r != IO_ERR_CLOSING && r != IO_ERR_DRIVER_DOWN) || tries == OPEN_TRIES)
            return false;
        /* The server may have taken the grant and ended it (the driver died
         * while it registered our buffers): a fresh one for the next try. */
        uint64_t returned;
        mem_end_grant(MEM_SLOT, grant, &returned, NULL); /* unknown_grant: ended already */
        if (mem_grant(MEM_SLOT, 0, holder, io_tenant, &grant, &me))
            return false;
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
    }
}

struct ring {
    volatile struct io_ring *r;
    uint32_t sq_tail, cq_head;
};

/* One request of a whole buffer, kicked, and its completion waited for:
 * its status. */
static uint32_t one_request(struct ring *q, uint16_t op, uint64_t offset)
{
    volatile struct io_sqe *e = &q->r->sq[q->sq_tail % IO_RING_SQ];
    e->tag = q->sq_tail;
    e->offset = offset;
    e->bytes = IO_RING_BUFFER_BYTES;
    e->op = op;
    e->buffer = 0;
    e->reserved = 0;
    q->sq_tail++;
    __atomic_store_n(&q->r->sq_tail, q->sq_tail, __ATOMIC_RELEASE);
    struct io_error err;
    uint32_t accepted, waiting;
    if (io_kick(IO_SLOT, &accepted, &waiting, &err) || accepted != 1)
        return ~0u;
    while (__atomic_load_n(&q->r->cq_tail, __ATOMIC_ACQUIRE) == q->cq_head) {
        struct bk_msg m = { 0 };
        sys_recv(NOTIFY_SLOT, &m);
    }
    uint32_t status = q->r->cq[q->cq_head % IO_RING_CQ].status;
    q->cq_head++;
    __atomic_store_n(&q->r->cq_head, q->cq_head, __ATOMIC_RELEASE);
    return status;
}

/* Each block of the disk written with its own pattern and read back, in
 * turn, for good; returns on the first failure. */
static void use_disk(uint64_t disk)
{
    struct ring q = { .r = (volatile struct io_ring *)(uintptr_t)IO_BASE };
    volatile uint64_t *buffer = (volatile uint64_t *)(uintptr_t)(IO_BASE + PAGE);
    const unsigned words = IO_RING_BUFFER_BYTES / sizeof(uint64_t);
    for (uint64_t n = 0;; n++) {
        uint64_t offset = n * IO_RING_BUFFER_BYTES % disk;
        for (unsigned i = 0; i < words; i++)
            buffer[i] = n * words + i;
        if (one_request(&q, IO_OP_WRITE, offset) != IO_ST_OK)
            return;
        for (unsigned i = 0; i < words; i++)
            buffer[i] = 0;
        if (one_request(&q, IO_OP_READ, offset) != IO_ST_OK)
            return;
        for (unsigned i = 0; i < words; i++) {
            if (buffer[i] != n * words + i)
                return;
        }
    }
}

int main(const struct bk_bootinfo *bi)
{
    (void)bi;
    struct tenants_error e;
    uint64_t id, disk;
    uint32_t io_tenant = 0, holder = 0;
    if (tenants_hello(MANAGER_SLOT, touch_stack(), &id, &io_tenant, &holder, &disk, &e) == 0 &&
        io_tenant && open_session(io_tenant, holder, &disk) && disk >= IO_RING_BUFFER_BYTES)
        use_disk(disk);
    spin();
}
