/*
 * A tenant of the memory server started from a shared image
 * (tests/qemu/mem_cow.c spawns several): its account's tenant cap arrives
 * in BK_PROCESS_CAP_ARG, an endpoint to its supervisor (the root task) in
 * CTRL_SLOT. It waits for an order on that endpoint, carries it out and
 * sends back what it found: the hash of a page, after writing a page, or
 * the result of mapping an image itself. A page it touches may fault to
 * the server: a read of an image page maps it shared, a write copies it.
 */
#include <bulkhead/sys.h>
#include <protocols/mem_client.h>

#define CTRL_SLOT BK_PROCESS_FIRST_FREE_SLOT /* it allocates no slot of its own */
#define PAGE 4096ull

/* Orders (the message label): the address in word 0. */
#define ORDER_HASH 1  /* the page's hash back in word 0 */
#define ORDER_FILL 2  /* every word of the page := word 1 */
#define ORDER_MAP 3   /* Mem: MapImage(0, word 1, address, word 2): the code back */

/* The same hash as mem_cow.c's: FNV-1a over the page's words. */
static uint64_t page_hash(uint64_t address)
{
    const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)address;
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < PAGE / 8; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t carry_out(const struct bk_msg *m)
{
    uint64_t address = m->mr[0];
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)address;
    uint32_t regions;
    switch (BK_MSGINFO_LABEL(m->info)) {
    case ORDER_HASH:
        return page_hash(address);
    case ORDER_FILL:
        for (unsigned i = 0; i < PAGE / 8; i++)
            p[i] = m->mr[1];
        return 0;
    case ORDER_MAP:
        return (uint64_t)mem_map_image(BK_PROCESS_CAP_ARG, 0, m->mr[1], address,
                                       (uint32_t)m->mr[2], &regions, NULL);
    default:
        return ~0ull;
    }
}

int main(const struct bk_bootinfo *bi)
{
    (void)bi;
    struct bk_msg m = { 0 };
    for (;;) {
        sys_recv(CTRL_SLOT, &m);
        uint64_t result = carry_out(&m);
        m = (struct bk_msg){ .info = BK_MSGINFO(1, 0, 0, 0) };
        m.mr[0] = result;
        sys_send(CTRL_SLOT, &m);
    }
}
