/*
 * A tenant of the swap test (tests/qemu/mem_swap.c): spawned by the memory
 * server, its tenant cap in BK_PROCESS_CAP_ARG and an endpoint to the test
 * in BK_PROCESS_FIRST_FREE_SLOT. It says hello, then carries out two orders
 * on the anonymous region the test declared for it at REGION_BASE: FILL
 * writes every page with a pattern of (seed, page), CHECK reads every page
 * back and counts the pages that differ in any byte. Each page it touches
 * faults to the memory server, which may have written it to swap and reads
 * it back meanwhile: the tenant sees nothing but the time it takes.
 * FLOOD reads every page back, over and over, as fast as it can, until the
 * test sends STOP (polled between pages): it answers the pages that
 * differed and the passes it made.
 */
#include <bulkhead/sys.h>

#define CTRL_SLOT BK_PROCESS_FIRST_FREE_SLOT
#define PAGE 4096ull
#define REGION_BASE 0x40000000ull /* mem_swap.c */
#define HELLO 0x201
#define FILL 0x202  /* word 0 the seed, word 1 the pages */
#define CHECK 0x203 /* the same; answers the bad pages and the first bad one */
#define FLOOD 0x204 /* the same; answers the bad pages and the passes, at STOP */
#define STOP 0x205

static void answer(uint64_t label, uint64_t w0, uint64_t w1)
{
    struct bk_msg m = { .info = BK_MSGINFO(2, 0, 0, label) };
    m.mr[0] = w0;
    m.mr[1] = w1;
    sys_send(CTRL_SLOT, &m);
}

/* Word i of page p: a hash of the seed, the page and the word, so a page
 * read back from another page's slot, or another tenant's, differs. */
static uint64_t word(uint64_t seed, uint64_t p, uint64_t i)
{
    uint64_t x = seed ^ (p << 20) ^ i;
    x = (x ^ (x >> 31)) * 0x7fb5d329728ea185ull;
    return x ^ (x >> 27);
}

static void fill(uint64_t seed, uint64_t pages)
{
    for (uint64_t p = 0; p < pages; p++) {
        volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)(REGION_BASE + p * PAGE);
        for (uint64_t i = 0; i < PAGE / 8; i++)
            w[i] = word(seed, p, i);
    }
    answer(FILL, 0, 0);
}

static bool page_intact(uint64_t seed, uint64_t p)
{
    const volatile uint64_t *w = (const volatile uint64_t *)(uintptr_t)(REGION_BASE + p * PAGE);
    bool same = true;
    for (uint64_t i = 0; i < PAGE / 8; i++)
        same &= w[i] == word(seed, p, i);
    return same;
}

static void check(uint64_t seed, uint64_t pages)
{
    uint64_t bad = 0, first = ~0ull;
    for (uint64_t p = 0; p < pages; p++) {
        bool same = page_intact(seed, p);
        bad += !same;
        first = !same && first == ~0ull ? p : first;
    }
    answer(CHECK, bad, first);
}

static void flood(uint64_t seed, uint64_t pages)
{
    uint64_t bad = 0, passes = 0;
    for (;; passes++) {
        for (uint64_t p = 0; p < pages; p++) {
            struct bk_msg m = { 0 };
            sys_nbrecv(CTRL_SLOT, &m);
            if (BK_MSGINFO_LABEL(m.info) == STOP) {
                answer(FLOOD, bad, passes);
                return;
            }
            bad += !page_intact(seed, p);
        }
    }
}

int main(const struct bk_bootinfo *bi)
{
    (void)bi;
    answer(HELLO, 0, 0);
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(CTRL_SLOT, &m);
        uint64_t label = BK_MSGINFO_LABEL(m.info);
        if (label == FILL)
            fill(m.mr[0], m.mr[1]);
        else if (label == CHECK)
            check(m.mr[0], m.mr[1]);
        else if (label == FLOOD)
            flood(m.mr[0], m.mr[1]);
    }
}
