/*
 * A tenant of the IO server as a process of its own (tests/qemu/io_session.c
 * starts it): its IO endpoint cap in BK_PROCESS_CAP_ARG (with the
 * grant-reply right), its own VSpace. It opens a session, whose
 * notification lands in TENANT_SLOT_NOTIFICATION, writes
 * IO_TENANT_BLOCKS pages of a pattern to its virtual disk and reads them
 * back, then floods: it rewrites the same pages, 8 in flight, forever,
 * until the test suspends it (kills it) mid-request. Rewriting the same
 * content means any mix of finished and cancelled writes leaves the
 * pattern on disk, which is what the test checks after the kill.
 */
#include "io_ring_client.h"
#include "io_tenant.h"

static struct tenant t;

static void write_block(unsigned k, unsigned b)
{
    pattern_fill(t.buf[b], 4096, IO_TENANT_SEED + k);
    tenant_push(&t, k, IO_OP_WRITE, (uint64_t)k * 4096, 4096, (uint16_t)b, 0);
}

/* Writes blocks [first, first + 8), then waits for the 8 completions. */
static unsigned write_eight(unsigned first)
{
    struct io_cqe c[IO_RING_BUFFERS];
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++)
        write_block((first + b) % IO_TENANT_BLOCKS, b);
    tenant_kick(&t, NULL, NULL);
    tenant_wait(&t, c, IO_RING_BUFFERS);
    unsigned bad = 0;
    for (unsigned i = 0; i < IO_RING_BUFFERS; i++)
        bad += c[i].status != IO_ST_OK;
    return bad;
}

static unsigned read_back(void)
{
    unsigned bad = 0;
    struct io_cqe c[IO_RING_BUFFERS];
    for (unsigned k = 0; k < IO_TENANT_BLOCKS; k += IO_RING_BUFFERS) {
        for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
            memset(t.buf[b], 0, 4096);
            tenant_push(&t, k + b, IO_OP_READ, (uint64_t)(k + b) * 4096, 4096, (uint16_t)b, 0);
        }
        tenant_kick(&t, NULL, NULL);
        tenant_wait(&t, c, IO_RING_BUFFERS);
        for (unsigned i = 0; i < IO_RING_BUFFERS; i++) {
            unsigned b = (unsigned)(c[i].tag - k);
            uint8_t want[4096];
            pattern_fill(want, sizeof(want), IO_TENANT_SEED + c[i].tag);
            bad += c[i].status != IO_ST_OK || b >= IO_RING_BUFFERS ||
                   pattern_sum(t.buf[b], 4096) != pattern_sum(want, 4096);
        }
    }
    return bad;
}

int main(const struct bk_bootinfo *bi)
{
    (void)bi;
    uint32_t tenant = 0, buffers = 0, memory = 0;
    uint64_t disk = 0;
    struct io_error e;
    int r = io_open(BK_PROCESS_CAP_ARG, BK_CAP_ROOT_VSPACE, IO_TENANT_VADDR, &tenant, &disk,
                    &buffers, &memory, TENANT_SLOT_NOTIFICATION, &e);
    if (r != 0) {
        char text[200];
        io_error_format(&e, text, sizeof(text));
        debug_printf("io-tenant: FAILED to open a session: %s\n", text);
        return 1;
    }
    tenant_attach(&t, BK_PROCESS_CAP_ARG, TENANT_SLOT_NOTIFICATION, IO_TENANT_VADDR);
    unsigned bad = 0;
    for (unsigned k = 0; k < IO_TENANT_BLOCKS; k += IO_RING_BUFFERS)
        bad += write_eight(k);
    bad += read_back();
    debug_printf("io-tenant %u: %u pages written and read back, %u bad. flooding\n", tenant,
                 IO_TENANT_BLOCKS, bad);
    for (unsigned k = 0;; k += IO_RING_BUFFERS)
        write_eight(k);
}
