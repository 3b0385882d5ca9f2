/*
 * Program images shared copy-on-write (docs/memory.md, "Copy-on-write
 * images"; server.h has the invariants).
 *
 * An image is a region of its owner's account, backed and written, then
 * sealed: its frames are unmapped and stay in the owner's books. A Frame
 * cap maps once, so each mapping of an image page in a tenant's space is
 * a copy of the page's cap (a child of it in the derivation tree), kept in
 * the tenant's book like any object but with no page of its own: the
 * tenant pays for the tables and the book entries, the owner for the page.
 * The copy is mapped read-only; a write to it faults, and the server makes
 * a frame from a page of the writer's, maps it and the image page in its
 * own copy window, copies the 4 KiB, unmaps both, drops the shared copy and
 * maps the new frame writable in the writer's space, at the same address.
 */
#include "server.h"

struct image images[IMAGES];

static bool window_ready;

/* ---- The windows -------------------------------------------------------- */

/* Level of the first table missing on the way to `vaddr` in our own
 * space (1-3), 0 if none, -1 if the space does not answer. */
static int window_missing(uint64_t vaddr)
{
    long r = pages_probe_space(BK_CAP_ROOT_VSPACE, vaddr);
    return r >= 0 ? (int)r : -1;
}

/* The tables on the way to `vaddr`, from the untyped in `pool`. */
static bool window_tables(uint64_t pool, uint64_t vaddr, uint64_t *used, unsigned *made)
{
    for (;;) {
        int missing = window_missing(vaddr);
        if (missing <= 0)
            return missing == 0;
        if (*made == WINDOW_TABLES ||
            sys_untyped_retype(pool, BK_OBJ_PAGE_TABLE, 0, BK_CAP_ROOT_CNODE, 0, 0,
                               WINDOW_TABLE(*made), 1) != 0 ||
            sys_page_table_map(WINDOW_TABLE(*made), BK_CAP_ROOT_VSPACE, vaddr) != 0)
            return false;
        (*made)++;
        (*used)++;
    }
}

bool pages_window_init(uint64_t pool, uint64_t *used, uint64_t meta_pages)
{
    unsigned made = 0;
    window_ready = window_tables(pool, COPY_WINDOW, used, &made) &&
                   window_tables(pool, ELF_WINDOW, used, &made);
    /* One table maps 2 MiB: one for each 512 pages of the reserved area. */
    for (uint64_t p = 0; window_ready && p < meta_pages; p += 512)
        window_ready = window_tables(pool, META_WINDOW + p * MEM_PAGE, used, &made);
    return window_ready;
}

/* ---- Sealing ------------------------------------------------------------ */

int pages_entry_of(const struct account *a, uint64_t vaddr)
{
    return pages_find(a, vaddr | PRIVATE, vaddr | PRIVATE);
}

uint64_t pages_backed_in(const struct account *a, uint64_t base, uint64_t size)
{
    uint64_t count = 0;
    for (uint64_t off = 0; off < size; off += MEM_PAGE)
        count += pages_entry_of(a, base + off) >= 0;
    return count;
}

void pages_seal(struct account *a, uint64_t base, uint64_t size, struct image *im)
{
    im->pages = (unsigned)(size / MEM_PAGE);
    for (unsigned i = 0; i < im->pages; i++) {
        int n = pages_entry_of(a, base + (uint64_t)i * MEM_PAGE);
        struct where at = book_slot(a, (unsigned)n, 0);
        /* A cap is invoked through our CNode only: out, unmapped, back. */
        if (sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W, at.root, at.index, at.depth) == 0) {
            sys_frame_unmap(SCRATCH_OBJ);
            sys_cnode_move(at.root, at.index, at.depth, BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W);
        }
        struct entry *e = entry_at(a, (unsigned)n);
        if (e->kind & ENTRY_COLD) { /* the clock's mark goes: a sealed page is never evicted */
            e->kind &= ~ENTRY_COLD;
            a->cold--;
        }
        e->what = SEALED;
        im->entry[i] = (uint16_t)n;
    }
}

/* ---- Sharing and copying ------------------------------------------------ */

/* A copy of image page `page`'s cap into our `slot`. */
static long copy_image_cap(const struct image *im, unsigned page, uint64_t slot)
{
    struct where at = book_slot(im->owner, im->entry[page], 0);
    return sys_cnode_copy(BK_CAP_ROOT_CNODE, slot, W, at.root, at.index, at.depth, BK_RIGHTS_ALL);
}

long pages_share(struct account *a, uint64_t vaddr, const struct image *im, unsigned page,
                 uint32_t rights, unsigned tables)
{
    long r = pages_make_books(a, 1 + tables);
    if (r == 0)
        r = pages_make_tables(a, vaddr, tables);
    if (r == 0)
        r = copy_image_cap(im, page, SCRATCH_OBJ);
    if (r == 0)
        r = sys_frame_map(SCRATCH_OBJ, space_of(a), vaddr,
                          rights & ~(uint32_t)BK_VM_WRITE, 0);
    if (r == 0)
        r = pages_record(a, vaddr | SHARED);
    if (r != 0)
        pages_scratch_clear();
    return r;
}

/* The new frame in SCRATCH_OBJ filled with image page `page`: both mapped
 * in our window, copied, both unmapped. */
static long fill_copy(const struct image *im, unsigned page)
{
    if (!window_ready)
        return -BK_ERR_INVALID_ARGUMENT;
    long r = copy_image_cap(im, page, SCRATCH_SRC);
    if (r == 0)
        r = sys_frame_map(SCRATCH_SRC, BK_CAP_ROOT_VSPACE, COPY_WINDOW, BK_VM_READ, 0);
    if (r == 0)
        r = sys_frame_map(SCRATCH_OBJ, BK_CAP_ROOT_VSPACE, COPY_WINDOW + MEM_PAGE,
                          BK_VM_READ | BK_VM_WRITE, 0);
    if (r == 0) {
        memcpy((void *)(uintptr_t)(COPY_WINDOW + MEM_PAGE), (const void *)(uintptr_t)COPY_WINDOW,
               MEM_PAGE);
        r = sys_frame_unmap(SCRATCH_OBJ);
    }
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_SRC, W); /* unmaps it */
    return r;
}

long pages_fill(uint64_t offset, const void *src, uint64_t size)
{
    if (!window_ready)
        return -BK_ERR_INVALID_ARGUMENT;
    long r = sys_frame_map(SCRATCH_OBJ, BK_CAP_ROOT_VSPACE, COPY_WINDOW + MEM_PAGE,
                           BK_VM_READ | BK_VM_WRITE, 0);
    if (r == 0) {
        memcpy((void *)(uintptr_t)(COPY_WINDOW + MEM_PAGE + offset), src, size);
        r = sys_frame_unmap(SCRATCH_OBJ);
    }
    return r;
}

long pages_copy(struct account *a, uint64_t vaddr, const struct image *im, unsigned page,
                uint32_t rights, unsigned tables)
{
    long r = pages_make_books(a, 1 + tables);
    if (r == 0)
        r = pages_make_tables(a, vaddr, tables);
    if (r == 0)
        r = pages_make_frame();
    if (r == 0)
        r = fill_copy(im, page);
    if (r == 0)
        r = pages_record_frame(a, vaddr, rights);
    if (r != 0)
        pages_scratch_clear();
    return r;
}

void pages_unshare(struct account *a, uint64_t vaddr)
{
    int n = pages_find(a, vaddr | SHARED, vaddr | SHARED);
    if (n >= 0) {
        struct where at = book_slot(a, (unsigned)n, 0);
        sys_cnode_delete(at.root, at.index, at.depth);
        pages_forget(a, (unsigned)n);
        a->shared--;
    }
}
