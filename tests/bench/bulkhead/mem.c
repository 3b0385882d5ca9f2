/*
 * The memory server's benchmark (issue 13; tools/bench/run.py boots it as
 * the root task of bench-mem-image under -icount shift=0, so a counter
 * difference is an instruction count): the root task spawns mem-server
 * with 16 MiB and one thread of its own, whose page faults go to the
 * server, times single accesses that fault:
 *
 *  - page_fault_roundtrip: a write to a fresh page of an anonymous region:
 *    the fault, the kernel's fault message (a Call to the server), the
 *    pager's checks and probe, a frame retyped (zeroed by the kernel) from
 *    a page of the account, mapped and recorded, the reply and the return
 *    to the faulting instruction, which then runs;
 *  - cow_copy: the first write to an image page mapped shared: the fault,
 *    the pager, the shared cap deleted, a frame made, the image page and the
 *    frame mapped in the server's window, 4 KiB copied, both unmapped, the
 *    frame mapped writable, the reply and the write.
 *
 * Each sample is one access; the account is recycled between rounds (its
 * quota holds 4 MiB), outside the timed windows. Prints BENCH lines as
 * bench.c does; "bench.iterations=N" on the kernel command line.
 */
#include <bulkhead/sys.h>
#include <protocols/mem_client.h>

#include "samples.h"

#define W BK_WORD_BITS
#define SERVER_PRIORITY 200
#define WORKER_PRIORITY 10
#define MEM_POOL_SLOT 13
#define SERVER_CNODE_BITS 8
#define MEM_FAULT_BADGE (1ull << 62)
#define WARMUP 100
#define PAGE 4096ull
#define GiB (1ull << 30)
#define ROUND 512                 /* faults per account before it is recycled */
#define IMAGE_PAGES 256
#define FAULT_BASE (4 * GiB)
#define IMAGE_BASE (8 * GiB)
#define COW_BASE (12 * GiB)
#define STACK_SIZE 16384

static uint64_t ep, worker_tcb, fault_slot, done_slot;
static bool failed;
static const struct bk_bootinfo *boot;
static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(PAGE))) buffer;

static void fail(const char *what, const struct mem_error *e)
{
    char text[240] = "";
    if (e)
        mem_error_format(e, text, sizeof(text));
    debug_printf("bench-mem: FAILED: %s %s\n", what, text);
    failed = true;
    if (done_slot) { /* the worker: tell the root task, which ends the run */
        struct bk_msg m = { 0 };
        sys_send(done_slot, &m);
    }
    sys_thread_exit(1);
}

/* An account over our own address space, quota 4 MiB; the worker's
 * faults go to the server badged for it from now on. */
static uint64_t open_account(const char *name)
{
    struct mem_error e;
    uint64_t space = bk_slot_alloc(), id = 0;
    if (!space || sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE,
                                 BK_CAP_ROOT_VSPACE, W, BK_RIGHTS_ALL) != 0 ||
        mem_create_account(ep, name, 4ull << 20, space, &id, &e) != 0)
        fail("open account", &e);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, space, W); /* the server keeps its copy */
    bk_slot_free(space);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, fault_slot, W);
    if (sys_cnode_mint(BK_CAP_ROOT_CNODE, fault_slot, W, BK_CAP_ROOT_CNODE, ep, W,
                       BK_RIGHT_WRITE | BK_RIGHT_GRANT, MEM_FAULT_BADGE | id) != 0 ||
        sys_tcb_set_fault_endpoint(worker_tcb, fault_slot) != 0)
        fail("point the worker's faults", NULL);
    return id;
}

/* One timed write to `address`; the sample kept past the warm-up. */
static void timed_write(uint64_t address, unsigned i)
{
    uint64_t t0 = bk_counter();
    *(volatile uint64_t *)(uintptr_t)address = i + 1;
    uint64_t t1 = bk_counter();
    if (i >= WARMUP)
        samples[i - WARMUP] = t1 - t0;
}

static void bench_page_fault(void)
{
    struct mem_error e;
    uint32_t regions;
    uint64_t id = 0, returned;
    for (unsigned i = 0; i < WARMUP + iterations; i++) {
        if (i % ROUND == 0) {
            if (id && mem_destroy_account(ep, id, &returned, &e) != 0)
                fail("close account", &e);
            id = open_account("fault");
            if (mem_add_region(ep, id, FAULT_BASE, GiB, BK_VM_READ | BK_VM_WRITE, &regions, &e))
                fail("add region", &e);
        }
        timed_write(FAULT_BASE + (uint64_t)(i % ROUND) * PAGE, i);
    }
    report(boot, "page_fault_roundtrip");
    mem_destroy_account(ep, id, &returned, &e);
}

/* An image of IMAGE_PAGES pages of nonzero data, sealed from an account
 * over our own space. Returns its id. */
static uint64_t make_image(uint64_t *owner)
{
    struct mem_error e;
    uint32_t regions;
    uint64_t n, image, pages;
    *owner = open_account("image");
    if (mem_add_region(ep, *owner, IMAGE_BASE, IMAGE_PAGES * PAGE, BK_VM_READ | BK_VM_WRITE,
                       &regions, &e) != 0 ||
        mem_populate(ep, *owner, IMAGE_BASE, IMAGE_PAGES * PAGE, &n, &e) != 0)
        fail("image region", &e);
    for (uint64_t k = 0; k < IMAGE_PAGES * PAGE / 8; k++)
        ((volatile uint64_t *)(uintptr_t)IMAGE_BASE)[k] = k * 0x9e3779b97f4a7c15ull + 1;
    if (mem_seal_image(ep, *owner, IMAGE_BASE, &image, &pages, &e) != 0)
        fail("seal", &e);
    return image;
}

static void bench_cow_copy(void)
{
    struct mem_error e;
    uint32_t regions;
    uint64_t owner, image = make_image(&owner), id = open_account("cow"), returned, pages;
    uint64_t sum = 0;
    for (unsigned i = 0; i < WARMUP + iterations; i++) {
        unsigned k = i % IMAGE_PAGES;
        if (k == 0) {
            if (i && mem_remove_region(ep, id, COW_BASE, &pages, &e) != 0)
                fail("remove region", &e);
            if (mem_map_image(ep, id, image, COW_BASE, BK_VM_READ | BK_VM_WRITE, &regions, &e))
                fail("map image", &e);
            for (unsigned p = 0; p < IMAGE_PAGES; p++) /* every page shared first */
                sum += *(volatile uint64_t *)(uintptr_t)(COW_BASE + p * PAGE);
        }
        timed_write(COW_BASE + (uint64_t)k * PAGE + 8, i);
    }
    report(boot, "cow_copy");
    if (sum == 0)
        fail("the image read as zeros", NULL);
    mem_destroy_account(ep, id, &returned, &e);
    mem_destroy_account(ep, owner, &returned, &e);
}

static void worker(uint64_t done)
{
    bench_page_fault();
    bench_cow_copy();
    struct bk_msg m = { 0 };
    sys_send(done, &m);
    sys_thread_exit(0);
}

int main(const struct bk_bootinfo *bi)
{
    boot = bi;
    iterations = parse_iterations(bi->cmdline, MAX_ITERATIONS - WARMUP);
    bk_alloc_init(bi);
    struct bk_process p;
    ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    uint64_t pool = bk_alloc_object(BK_OBJ_UNTYPED, 24), done = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0), fault = bk_slot_alloc();
    long err = 0;
    if (!ep || !pool || !done || !tcb || !fault ||
        bk_process_spawn(bi, "mem-server", SERVER_PRIORITY, ep,
                         BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE, &p) != 0 ||
        sys_cnode_move(p.cnode, MEM_POOL_SLOT, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE, pool, W) != 0)
        fail("spawn mem-server", NULL);
    debug_printf("bench-mem: %u iterations per operation after %u warm-up, on %s\n", iterations,
                 WARMUP, bi->arch);
    worker_tcb = tcb;
    done_slot = done;
    fault_slot = fault;
    if (bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, worker, done, stack,
                        STACK_SIZE, (uint64_t)(uintptr_t)&buffer, WORKER_PRIORITY) != 0 ||
        !bk_sched_whole_cpu(tcb, &err) || err != 0)
        fail("start the worker", NULL);
    struct bk_msg m = { 0 };
    sys_recv(done, &m);
    debug_puts(failed ? "bench-mem: FAILED\n" : "bench-mem: done\n");
    return failed ? 1 : 0;
}
