/*
 * Device memory by physical address. Untyped: Retype carves from an
 * untyped's watermark up, so a page in the middle of a device untyped is
 * reached by halving: the half that holds the page is halved again until
 * one page is left, which becomes a frame; each half not taken stays in
 * the pool for later pages. A page costs two slots per halving, about 40
 * for the first page of a 2 GiB untyped and a few for its neighbours.
 */
#include "blk.h"

#define DEVMEM_VADDR 0x60000000ull /* 256 MiB of the finder's space for device pages */
#define DEVMEM_VSIZE 0x10000000ull
#define MAX_PIECES 256u
#define MAX_PAGES 512u /* a PCI walk maps a page per function it looks at */
#define PAGE 4096ull

struct piece {
    uint64_t slot, pa;
    unsigned bits;
};

static struct piece pieces[MAX_PIECES];
static unsigned piece_count;
static struct { uint64_t pa, va; } pages[MAX_PAGES]; /* mapped, in mapping order */
static unsigned page_count;
struct frame {
    uint64_t pa, cap;
};
static struct frame frames[MAX_PAGES]; /* each page's first frame cap */
static unsigned frame_count;
static uint64_t next_va = DEVMEM_VADDR;

void devmem_init(const struct bk_bootinfo *bi)
{
    piece_count = page_count = frame_count = 0;
    next_va = DEVMEM_VADDR;
    for (uint32_t i = 0; i < bi->untyped_count && piece_count < MAX_PIECES; i++) {
        const struct bk_untyped_desc *u = &bi->untyped[i];
        if (u->is_device)
            pieces[piece_count++] = (struct piece){ u->slot, u->paddr, u->size_bits };
    }
}

static int piece_holding(uint64_t pa)
{
    for (unsigned i = 0; i < piece_count; i++) {
        if (pa >= pieces[i].pa && pa - pieces[i].pa < (1ull << pieces[i].bits))
            return (int)i;
    }
    return -1;
}

/* Halves the piece holding `pa` until it is that one page, which becomes
 * a frame; returns the frame's cap, or 0. */
static uint64_t device_frame(uint64_t pa)
{
    int i = piece_holding(pa);
    if (i < 0)
        return 0;
    while (pieces[i].bits > 12) {
        uint64_t s = bk_slots_alloc_range(2);
        unsigned half = pieces[i].bits - 1;
        if (piece_count == MAX_PIECES || !s ||
            sys_untyped_retype(pieces[i].slot, BK_OBJ_UNTYPED, half, BK_CAP_ROOT_CNODE, 0, 0, s,
                               2) != 0)
            return 0;
        /* Both halves join the pool in place of the whole. */
        pieces[piece_count++] = (struct piece){ s + 1, pieces[i].pa + (1ull << half), half };
        pieces[i] = (struct piece){ s, pieces[i].pa, half };
        if (pa >= pieces[piece_count - 1].pa)
            i = (int)piece_count - 1;
    }
    uint64_t f = bk_slot_alloc();
    if (!f || sys_untyped_retype(pieces[i].slot, BK_OBJ_FRAME, 12, BK_CAP_ROOT_CNODE, 0, 0, f,
                                 1) != 0)
        return 0;
    pieces[i] = pieces[--piece_count]; /* the page is a frame now */
    return f;
}

/* A frame cap for the page at `pa` that is not mapped yet: the page's
 * first cap, or a copy of it (a frame cap maps its frame once). */
static uint64_t unmapped_frame(uint64_t pa)
{
    for (unsigned i = 0; i < frame_count; i++) {
        if (frames[i].pa != pa)
            continue;
        uint64_t c = bk_slot_alloc();
        if (!c || sys_cnode_copy(BK_CAP_ROOT_CNODE, c, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                                 frames[i].cap, BK_WORD_BITS, BK_RIGHTS_ALL) != 0)
            return 0;
        return c;
    }
    if (frame_count == MAX_PAGES)
        return 0;
    uint64_t f = device_frame(pa);
    if (f)
        frames[frame_count++] = (struct frame){ pa, f };
    return f;
}

uint64_t devmem_frame(uint64_t pa)
{
    return unmapped_frame(pa & ~(PAGE - 1));
}

/* Maps the page at `pa` at the next free address; 0 with *err on failure. */
static uint64_t map_page(uint64_t pa, const char **err)
{
    if (page_count == MAX_PAGES || next_va >= DEVMEM_VADDR + DEVMEM_VSIZE) {
        *err = "devmem: the driver's table of device pages is full";
        return 0;
    }
    uint64_t f = unmapped_frame(pa);
    if (!f) {
        *err = "devmem: no device untyped memory covers the address (or slots ran out)";
        return 0;
    }
    if (bk_map_frame(BK_CAP_ROOT_VSPACE, f, next_va, BK_VM_READ | BK_VM_WRITE, BK_VM_UNCACHED)) {
        *err = "devmem: mapping a device page failed";
        return 0;
    }
    pages[page_count].pa = pa;
    pages[page_count++].va = next_va;
    next_va += PAGE;
    return next_va - PAGE;
}

/* Where `pa`'s page is mapped as the first of `n` pages mapped in a row,
 * or 0. */
static uint64_t mapped_run(uint64_t pa, uint64_t n)
{
    for (unsigned i = 0; i < page_count; i++) {
        if (pages[i].pa != pa || i + n > page_count)
            continue;
        bool run = true;
        for (unsigned k = 1; k < n && run; k++)
            run = pages[i + k].pa == pa + k * PAGE && pages[i + k].va == pages[i].va + k * PAGE;
        if (run)
            return pages[i].va;
    }
    return 0;
}

volatile void *devmem_map(uint64_t pa, size_t bytes, const char **err)
{
    uint64_t first = pa & ~(PAGE - 1);
    uint64_t last = (pa + (bytes ? bytes : 1) - 1) & ~(PAGE - 1);
    if (last < first) {
        *err = "devmem: the range wraps around the address space";
        return NULL;
    }
    uint64_t n = (last - first) / PAGE + 1;
    uint64_t va0 = mapped_run(first, n);
    for (uint64_t k = 0; !va0 && k < n; k++) {
        uint64_t va = map_page(first + k * PAGE, err); /* in a row: next_va only grows */
        if (!va)
            return NULL;
        if (k == n - 1)
            va0 = va - (n - 1) * PAGE;
    }
    return (volatile uint8_t *)(uintptr_t)(va0 + (pa - first));
}
