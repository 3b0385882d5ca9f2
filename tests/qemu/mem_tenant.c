/*
 * A tenant of the memory server in an address space of its own
 * (tests/qemu/mem_server.c spawns it): its account's tenant cap arrives in
 * BK_PROCESS_CAP_ARG, its fault endpoint is the server's. It declares its
 * own region, checks that the pages it touches arrive zero-filled and
 * charged, then touches one byte every 2 MiB until the pager stops it at
 * its quota (its supervisor checks the rest).
 */
#include <bulkhead/sys.h>
#include <protocols/mem_client.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PAGE 4096ull
#define REGION (1 * GiB)
#define REGION_SIZE (8 * GiB)
#define PAGES 8

static int failures;

static void expect(int ok, const char *what)
{
    debug_printf("memtenant: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

static uint64_t nonzero_words(uint64_t base, uint64_t pages)
{
    uint64_t n = 0;
    const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)base;
    for (uint64_t i = 0; i < pages * PAGE / 8; i++)
        n += p[i] != 0;
    return n;
}

int main(const struct bk_bootinfo *bi)
{
    (void)bi;
    uint64_t server = BK_PROCESS_CAP_ARG;
    struct mem_error e;
    uint32_t regions = 0;
    expect(mem_add_region(server, 0, REGION, REGION_SIZE, BK_VM_READ | BK_VM_WRITE, &regions,
                          &e) == 0 &&
               regions == 1,
           "declared its own region of 8 GiB");
    uint64_t bad = nonzero_words(REGION, PAGES);
    for (uint64_t i = 0; i < PAGES; i++)
        *(volatile uint64_t *)(uintptr_t)(REGION + i * PAGE) = i + 1;
    for (uint64_t i = 0; i < PAGES; i++)
        bad += *(volatile uint64_t *)(uintptr_t)(REGION + i * PAGE) != i + 1;
    expect(bad == 0, "8 pages of its own space arrived zero-filled and hold what it wrote");
    uint64_t q, used, frames, tables, cnodes, faults, refused, shared, private_pages, vs, tc, sc, ipc;
    expect(mem_usage(server, 0, &q, &used, &frames, &tables, &cnodes, &faults, &refused, &shared,
                     &private_pages, &vs, &tc, &sc, &ipc, &e) == 0 &&
               shared == 0 && private_pages == PAGES &&
               frames == PAGES * PAGE && tables == 2 * PAGE && cnodes == 2 * PAGE &&
               faults == PAGES,
           "its usage: 8 frames, 2 page tables, 2 CNode pages, 8 faults");
    debug_printf("memtenant: %s; now one byte every 2 MiB\n",
                 failures ? "checks FAILED" : "checks passed");
    for (uint64_t i = 0;; i++)
        *(volatile uint8_t *)(uintptr_t)(REGION + GiB + i * 2 * MiB) = 1;
}
