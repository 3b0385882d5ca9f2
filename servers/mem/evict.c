/*
 * Eviction under memory pressure (docs/memory.md, "Oversubscription"): when
 * a page the server must make finds no free memory, a clock over the
 * accounts' anonymous frames picks pages of accounts holding more resident
 * frames than their minimum, writes each to a swap slot (swap.c) and gives
 * its memory back; a fault on such a page reads it back into a new frame.
 *
 * The reference bit: the kernel tells user space nothing about the
 * hardware's accessed bits (no method reads them), so the clock makes its
 * own. A sweep that passes a mapped frame unmaps it and marks it cold
 * (ENTRY_COLD, the frame kept); the tenant's next access faults and maps it
 * again, warm (evict_restore: no copy, no IO, one map). A sweep that finds a
 * frame still cold evicts it: nobody touched it for a whole turn of the
 * clock. That is second chance, paid for with one extra fault per page in
 * use per turn, and only under pressure: without it nothing is unmapped.
 *
 * Not evicted: image pages (a SHARED mapping has no page of its own, and
 * the SEALED page behind it serves every tenant mapping it: unmapping it
 * from all of them to save one page is not worth the faults), page
 * tables, books and kernel objects, and a tenant's IPC buffer (the kernel
 * writes it without faulting, so it must stay mapped). A private copy of
 * an image page is anonymous memory like any other and is evicted.
 *
 * Accounting: a page in swap stays charged to its account as a frame (the
 * quota bounds what a tenant may hold, wherever it lies); its memory goes
 * back to the server's free memory, and it no longer counts as resident
 * (evict_resident()), so the minimum is about memory, the quota about
 * everything.
 */
#include "server.h"

static unsigned hand_account; /* the clock's hand: a place in account_table ... */
static unsigned hand_entry;   /* ... and an entry of that account */

uint64_t evict_resident(const struct account *a)
{
    return a->charges.bytes[MEM_KIND_FRAME] - (uint64_t)a->swapped * MEM_PAGE;
}

static bool evictable(const struct account *a)
{
    return evict_resident(a) > a->minimum;
}

/* An anonymous frame of the account's the clock may take. */
static bool candidate(const struct entry *e)
{
    uint64_t page = e->what & ~(MEM_PAGE - 1);
    return (e->what & (MEM_PAGE - 1)) == PRIVATE && (e->kind & ~ENTRY_COLD) == MEM_KIND_FRAME &&
           page != BK_ROOT_IPC_BUFFER_VADDR;
}

/* Entry n's frame cap into SCRATCH_OBJ (a cap is invoked through our CNode
 * only), and back. */
static long frame_out(const struct account *a, unsigned n)
{
    struct where w = book_slot(a, n, 0);
    return sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W, w.root, w.index, w.depth);
}

static void frame_back(const struct account *a, unsigned n)
{
    struct where w = book_slot(a, n, 0);
    sys_cnode_move(w.root, w.index, w.depth, BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W);
}

/* The first pass: unmapped from the tenant, the frame kept. */
static void cool(struct account *a, unsigned n)
{
    if (frame_out(a, n) != 0)
        return;
    sys_frame_unmap(SCRATCH_OBJ);
    frame_back(a, n);
    entry_at(a, n)->kind |= ENTRY_COLD;
    a->cold++;
}

/* The second pass finds it cold: its 4 KiB to a swap slot (read through
 * our copy window), its page back to the free memory. False if no slot or
 * buffer is free or the write failed (the page stays, cold). While the
 * write waits the entry is ENTRY_BUSY: a fault on it waits (serve_defer)
 * rather than map a frame about to go. */
static bool page_out(struct account *a, unsigned n)
{
    uint64_t t0 = bk_counter(), w0 = swap_waited();
    long b = swap_begin();
    if (b < 0) {
        serve_defer(); /* every buffer in flight: try again when they are done */
        return false;
    }
    long slot = swap_slot_take();
    if (slot < 0 || frame_out(a, n) != 0) {
        if (slot >= 0)
            swap_slot_free((uint32_t)slot);
        swap_end((unsigned)b);
        return false;
    }
    long r = sys_frame_map(SCRATCH_OBJ, BK_CAP_ROOT_VSPACE, COPY_WINDOW + MEM_PAGE, BK_VM_READ, 0);
    if (r == 0) {
        memcpy(swap_buffer((unsigned)b), (const void *)(uintptr_t)(COPY_WINDOW + MEM_PAGE),
               MEM_PAGE);
        sys_frame_unmap(SCRATCH_OBJ);
    }
    frame_back(a, n);
    entry_at(a, n)->kind |= ENTRY_BUSY;
    if (r == 0)
        r = swap_write((unsigned)b, (uint32_t)slot);
    entry_at(a, n)->kind &= ~ENTRY_BUSY;
    swap_end((unsigned)b);
    if (r != 0) {
        swap_slot_free((uint32_t)slot);
        return false;
    }
    struct entry *e = entry_at(a, n);
    struct where page = book_slot(a, n, 1);
    unit_give_page(e->unit, page.root, page.index, page.depth); /* deletes the frame */
    *e = (struct entry){ (e->what & ~(MEM_PAGE - 1)) | SWAPPED, (uint32_t)slot, MEM_KIND_FRAME };
    a->cold--;
    a->swapped++;
    a->evicted++;
    a->out_ticks += bk_counter() - t0 - (swap_waited() - w0); /* the disk's wait left out */
    return true;
}

/* One turn of the clock at most twice round (every frame seen cold once):
 * true if a page went to swap. */
static bool evict_one(void)
{
    if (!swap_ready() || !account_table || swap_slots_free() == 0)
        return false;
    unsigned places = 1u << accounts_bits;
    for (unsigned visits = 0; visits <= 2 * places + 1; visits++) {
        struct account *a = account_table[hand_account % places];
        while (a && hand_entry < a->objects && evictable(a)) {
            unsigned n = hand_entry++;
            if (!candidate(entry_at(a, n)))
                continue;
            if (!(entry_at(a, n)->kind & ENTRY_COLD))
                cool(a, n);
            else
                return page_out(a, n);
        }
        hand_account = (hand_account + 1) % places;
        hand_entry = 0;
    }
    return false;
}

bool evict_make_room(uint64_t bytes)
{
    while (pages_free_bytes() < bytes) {
        if (!evict_one())
            return false;
    }
    return true;
}

/* A cold frame mapped again where it was: the clock's reference bit set. */
static long warm(struct account *a, unsigned n, uint64_t vaddr, uint32_t rights)
{
    long r = frame_out(a, n);
    if (r == 0) {
        r = sys_frame_map(SCRATCH_OBJ, space_of(a), vaddr, rights, 0);
        frame_back(a, n);
    }
    if (r != 0)
        return r;
    entry_at(a, n)->kind &= ~ENTRY_COLD;
    a->cold--;
    return 1;
}

/* A page in swap read back into a new frame, mapped, its slot freed. The
 * read comes first and the room for the frame after it: free memory seen
 * before the wait may have gone to requests served meanwhile, and from
 * evict_make_room()'s success to the frame's making nothing waits. The
 * entry is ENTRY_BUSY throughout (the eviction may wait too): a fault on
 * the same page meanwhile waits for this one instead of reading it twice. */
static long page_in(struct account *a, unsigned n, uint64_t vaddr, uint32_t rights)
{
    uint32_t slot = entry_at(a, n)->unit;
    long b = swap_begin();
    if (b < 0) {
        serve_defer();
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    }
    uint64_t t0 = bk_counter(), w0 = swap_waited();
    entry_at(a, n)->kind |= ENTRY_BUSY;
    long r = swap_read((unsigned)b, slot) == 0 ? 0 : -BK_ERR_INVALID_ARGUMENT;
    uint64_t ticks = bk_counter() - t0 - (swap_waited() - w0); /* the disk's wait left out */
    if (r == 0 && !evict_make_room(MEM_PAGE))
        r = -BK_ERR_NOT_ENOUGH_MEMORY;
    t0 = bk_counter(); /* the eviction that made room is counted as a page-out */
    if (r == 0)
        r = pages_make_frame();
    if (r == 0)
        r = pages_fill(0, swap_buffer((unsigned)b), MEM_PAGE);
    swap_end((unsigned)b);
    if (r == 0)
        r = sys_frame_map(SCRATCH_OBJ, space_of(a), vaddr, rights, 0);
    entry_at(a, n)->kind &= ~ENTRY_BUSY;
    if (r == 0)
        r = pages_record_frame_at(a, n, vaddr | PRIVATE);
    if (r != 0) {
        pages_scratch_clear();
        return r;
    }
    swap_slot_free(slot);
    a->swapped--;
    a->paged_in++;
    a->in_ticks += ticks + bk_counter() - t0;
    return 1;
}

long evict_restore(struct account *a, uint64_t vaddr, uint32_t rights)
{
    if (a->cold == 0 && a->swapped == 0)
        return 0;
    int n = pages_find(a, vaddr | PRIVATE, vaddr | SWAPPED);
    if (n < 0)
        return 0;
    const struct entry *e = entry_at(a, (unsigned)n);
    if (e->kind & ENTRY_BUSY) {
        serve_defer(); /* on its way to or from swap: asked again when it is there */
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    }
    if (e->what & SWAPPED)
        return page_in(a, (unsigned)n, vaddr, rights);
    if (e->kind & ENTRY_COLD)
        return warm(a, (unsigned)n, vaddr, rights);
    return 0;
}

void evict_forget_swapped(struct account *a, unsigned n)
{
    swap_slot_free(entry_at(a, n)->unit);
    a->swapped--;
}
