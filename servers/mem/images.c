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

#define BOOK_DEPTH (2 * BOOK_BITS)

struct image images[IMAGES];

static bool window_ready;

static uint64_t index_of(const struct account *a)
{
    return (uint64_t)(a - accounts);
}

/* ---- The copy window ---------------------------------------------------- */

/* Level of the first table missing on the way to COPY_WINDOW in our own
 * space (1-3), 0 if none, -1 if the space does not answer. */
static int window_missing(void)
{
    long r = pages_probe_space(BK_CAP_ROOT_VSPACE, COPY_WINDOW);
    return r >= 0 ? (int)r : -1;
}

bool pages_window_init(uint64_t *used)
{
    for (unsigned k = 0; k < 3; k++) {
        int missing = window_missing();
        if (missing <= 0) {
            window_ready = missing == 0;
            return window_ready;
        }
        if (sys_untyped_retype(POOL_SLOT, BK_OBJ_PAGE_TABLE, 0, BK_CAP_ROOT_CNODE, 0, 0,
                               WINDOW_TABLE(k), 1) != 0 ||
            sys_page_table_map(WINDOW_TABLE(k), BK_CAP_ROOT_VSPACE, COPY_WINDOW) != 0)
            return false;
        *used += MEM_PAGE;
    }
    window_ready = window_missing() == 0;
    return window_ready;
}

/* ---- Sealing ------------------------------------------------------------ */

/* The book entry of `a`'s frame mapped at `vaddr`, or -1. */
static int entry_of(const struct account *a, uint64_t vaddr)
{
    for (unsigned n = 0; n < a->objects; n++) {
        if (a->page_of[n] == (vaddr | PRIVATE))
            return (int)n;
    }
    return -1;
}

uint64_t pages_backed_in(const struct account *a, uint64_t base, uint64_t size)
{
    uint64_t count = 0;
    for (uint64_t off = 0; off < size; off += MEM_PAGE)
        count += entry_of(a, base + off) >= 0;
    return count;
}

void pages_seal(struct account *a, uint64_t base, uint64_t size, struct image *im)
{
    uint64_t dir = DIR_SLOT(index_of(a));
    im->pages = (unsigned)(size / MEM_PAGE);
    for (unsigned i = 0; i < im->pages; i++) {
        int n = entry_of(a, base + (uint64_t)i * MEM_PAGE);
        uint64_t at = pages_book_index((unsigned)n, 0);
        /* A cap is invoked through our CNode only: out, unmapped, back. */
        if (sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W, dir, at, BOOK_DEPTH) == 0) {
            sys_frame_unmap(SCRATCH_OBJ);
            sys_cnode_move(dir, at, BOOK_DEPTH, BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W);
        }
        a->page_of[n] = SEALED;
        im->entry[i] = (uint16_t)n;
    }
}

/* ---- Sharing and copying ------------------------------------------------ */

/* A copy of image page `page`'s cap into our `slot`. */
static long copy_image_cap(const struct image *im, unsigned page, uint64_t slot)
{
    return sys_cnode_copy(BK_CAP_ROOT_CNODE, slot, W, DIR_SLOT(index_of(im->owner)),
                          pages_book_index(im->entry[page], 0), BOOK_DEPTH, BK_RIGHTS_ALL);
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
        r = sys_frame_map(SCRATCH_OBJ, SPACE_SLOT(index_of(a)), vaddr,
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
    for (unsigned n = 0; n < a->objects; n++) {
        if (a->page_of[n] == (vaddr | SHARED)) {
            sys_cnode_delete(DIR_SLOT(index_of(a)), pages_book_index(n, 0), BOOK_DEPTH);
            pages_forget(a, n);
            a->shared--;
            return;
        }
    }
}
