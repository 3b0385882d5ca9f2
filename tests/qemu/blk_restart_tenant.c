/*
 * A tenant of the driver-restart test (tests/qemu/blk_restart.c starts
 * three): its IO endpoint cap in BK_PROCESS_CAP_ARG, its own VSpace. It
 * opens a session and, RESTART_GENERATIONS times, writes every one of its
 * RESTART_PAGES pages with a pattern of that generation, 8 in flight, then
 * reads them all back and compares each page with what it wrote. The test
 * kills the driver meanwhile; a tenant sees nothing of that but latency:
 * every completion must be OK and every byte must match.
 */
#include "blk_restart.h"
#include "io_ring_client.h"

static struct tenant t;
static unsigned me, errors, bad;

/* Pages [first, first + 8): written with generation `gen`'s pattern, or
 * read back and checked against it. */
static void eight(unsigned gen, unsigned first, uint16_t op)
{
    struct io_cqe c[IO_RING_BUFFERS];
    for (unsigned b = 0; b < IO_RING_BUFFERS; b++) {
        if (op == IO_OP_WRITE)
            pattern_fill(t.buf[b], 4096, restart_seed(me, gen, first + b));
        else
            memset(t.buf[b], 0, 4096);
        tenant_push(&t, first + b, op, (uint64_t)(first + b) * 4096, 4096, (uint16_t)b, 0);
    }
    tenant_kick(&t, NULL, NULL);
    tenant_wait(&t, c, IO_RING_BUFFERS);
    uint8_t want[4096];
    for (unsigned i = 0; i < IO_RING_BUFFERS; i++) {
        unsigned page = (unsigned)c[i].tag, b = page - first;
        if (c[i].status != IO_ST_OK || b >= IO_RING_BUFFERS) {
            errors++;
            continue;
        }
        if (op == IO_OP_WRITE)
            continue;
        pattern_fill(want, sizeof(want), restart_seed(me, gen, page));
        bad += memcmp(want, t.buf[b], 4096) != 0;
    }
}

int main(const struct bk_bootinfo *bi)
{
    (void)bi;
    uint32_t tenant = 0, buffers = 0, memory = 0;
    uint64_t disk = 0;
    struct io_error e;
    if (io_open(BK_PROCESS_CAP_ARG, BK_CAP_ROOT_VSPACE, RESTART_TENANT_VADDR, &tenant, &disk,
                &buffers, &memory, RESTART_TENANT_NOTIFICATION, &e) != 0) {
        char text[200];
        io_error_format(&e, text, sizeof(text));
        debug_printf("restart-tenant: FAILED to open a session: %s\n", text);
        return 1;
    }
    me = tenant;
    tenant_attach(&t, BK_PROCESS_CAP_ARG, RESTART_TENANT_NOTIFICATION, RESTART_TENANT_VADDR);
    for (unsigned gen = 0; gen < RESTART_GENERATIONS; gen++) {
        for (unsigned p = 0; p < RESTART_PAGES; p += IO_RING_BUFFERS)
            eight(gen, p, IO_OP_WRITE);
        for (unsigned p = 0; p < RESTART_PAGES; p += IO_RING_BUFFERS)
            eight(gen, p, IO_OP_READ);
    }
    uint64_t ops = 0, bytes = 0, queue = 0, p50 = 0, p99 = 0, misses = 0;
    io_stats(BK_PROCESS_CAP_ARG, 0, &ops, &bytes, &queue, &p50, &p99, &misses, NULL);
    debug_printf("restart-tenant %u: %s: %u generations of %u pages written and read back: "
                 "%u errors, %u pages differ; %llu ops, latency p50 %llu us, p99 %llu us\n",
                 me, errors || bad ? "FAILED" : "ok", RESTART_GENERATIONS, RESTART_PAGES, errors,
                 bad, (unsigned long long)ops, (unsigned long long)(p50 / 1000),
                 (unsigned long long)(p99 / 1000));
    for (;;) /* done: the test reads our statistics; we wait for nothing */
        sys_tcb_suspend(BK_CAP_ROOT_TCB);
}
