/*
 * The IO path's benchmark (issue 14; tools/bench/run.py boots it as the
 * root task of bench-io-image with a disk attached, under -icount
 * shift=0, so a counter difference is an instruction count): the root task
 * finds the disk, starts blk-server and io-server behind it, opens a
 * session as tenant 1 and times single 4 KiB reads, queue depth 1:
 *
 *  - io_read_4k_path: the request written into the ring, IO: Kick (the
 *    server copies and checks it, the scheduler queues and dispatches it,
 *    Block: Submit puts it in the virtqueue and notifies the device), the
 *    wait on the session's notification, the device's interrupt to the
 *    driver, its signal to the server, Block: Reap, the completion written
 *    into the ring and signalled, and the tenant reading it. The data lands
 *    in the tenant's buffer page by DMA: no copy in the window.
 *
 * The emulated device works on host threads, so while it works every
 * thread of the path waits. An idle vCPU is not instructions, and x86-64's
 * counter (rdtsc under -icount) would count the virtual time the idle
 * jumps over instead: so a spinner of the lowest priority keeps the vCPU
 * busy, counting its loops, and its instructions (SPIN_INSTRUCTIONS a
 * loop, fixed by the assembly) are taken out of each sample. What is left
 * is the path's own instructions, the switches to and from the spinner in
 * place of the kernel's idle entry and exit.
 *
 * Prints BENCH lines as bench.c does; "bench.iterations=N" on the kernel
 * command line.
 */
#include <bulkhead/threads.h>
#include <protocols/blk_client.h>

#include "../../../servers/blk/blk.h"
#include "../../../servers/io/io.h"
#include "../../qemu/io_ring_client.h"
#include "samples.h"

#define W BK_WORD_BITS
#define DRIVER_PRIORITY 200
#define SERVER_PRIORITY 190
#define SESSION_VADDR 0x48000000ull
#define WARMUP 100
#define DISK_PAGES 512u /* reads cycle over the first 2 MiB */
#define SPINNER_PRIORITY 1

static const struct bk_bootinfo *boot;
static struct tenant me;

static uint64_t mint(uint64_t ep, uint64_t badge)
{
    uint64_t s = bk_slot_alloc();
    sys_cnode_mint(BK_CAP_ROOT_CNODE, s, W, BK_CAP_ROOT_CNODE, ep, W,
                   BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY, badge);
    return s;
}

/* The driver, io-server, a policy and disk for tenant 1, and its session. */
static const char *setup(void)
{
    static struct blk_hw hw;
    static char err[BK_PROCESS_ERROR_LEN];
    uint64_t blk_ep, admin;
    bk_alloc_init(boot);
    devmem_init(boot);
    const char *e = blk_discover(boot, &hw);
    if (!e)
        e = blk_spawn(boot, &hw, DRIVER_PRIORITY, &blk_ep, err, sizeof(err));
    if (!e)
        e = io_spawn(boot, SERVER_PRIORITY, mint(blk_ep, 1), &admin, err, sizeof(err));
    if (e)
        return e;
    uint64_t one = mint(admin, 1), n = bk_slot_alloc(), disk;
    uint32_t left, tenant, buffers, memory;
    if (io_set_policy(admin, 1, 0, 10000000, 0, 1, 10000000, &left, NULL) != 0 ||
        io_set_disk(admin, 1, 0, DISK_PAGES * 8, NULL) != 0 ||
        io_open(one, BK_CAP_ROOT_VSPACE, SESSION_VADDR, &tenant, &disk, &buffers, &memory, n,
                NULL) != 0)
        return "cannot open a session as tenant 1";
    tenant_attach(&me, one, n, SESSION_VADDR);
    return NULL;
}

static volatile uint64_t spins;

#if defined(__x86_64__)
#define SPIN_INSTRUCTIONS 2u
static void *spinner(void *arg)
{
    (void)arg;
    __asm__ volatile("1: addq $1, %0\n\tjmp 1b" : "+m"(spins));
    return NULL;
}
#else
#define SPIN_INSTRUCTIONS 4u
static void *spinner(void *arg)
{
    (void)arg;
    __asm__ volatile("1: ld t0, 0(%0)\n\taddi t0, t0, 1\n\tsd t0, 0(%0)\n\tj 1b"
                     : : "r"(&spins) : "t0", "memory");
    return NULL;
}
#endif

static bool read_4k(unsigned i)
{
    struct io_cqe c;
    uint64_t s0 = spins, t0 = bk_counter();
    tenant_push(&me, i, IO_OP_READ, (uint64_t)(i % DISK_PAGES) * 4096, 4096, 0, 0);
    tenant_kick(&me, NULL, NULL);
    tenant_wait(&me, &c, 1);
    uint64_t t1 = bk_counter(), s1 = spins;
    if (i >= WARMUP)
        samples[i - WARMUP] = t1 - t0 - (s1 - s0) * SPIN_INSTRUCTIONS;
    return c.status == IO_ST_OK && c.tag == i;
}

int main(const struct bk_bootinfo *bi)
{
    boot = bi;
    iterations = parse_iterations(bi->cmdline, MAX_ITERATIONS - WARMUP);
    const char *err = setup();
    if (err) {
        debug_printf("bench-io: FAILED: %s\n", err);
        return 1;
    }
    bk_thread_handle_t *spin;
    if (bk_thread_create(&spin, spinner, NULL, SPINNER_PRIORITY) != 0) {
        debug_printf("bench-io: FAILED: no spinner thread\n");
        return 1;
    }
    for (unsigned i = 0; i < WARMUP + iterations; i++) {
        if (!read_4k(i)) {
            debug_printf("bench-io: FAILED: read %u did not complete OK\n", i);
            return 1;
        }
    }
    report(boot, "io_read_4k_path");
    return 0;
}
