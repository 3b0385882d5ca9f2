/*
 * The memory server's pages: its free memory and what it spends for
 * accounts (server.h has the invariants).
 *
 * The untyped cap the administrator moves into POOL_SLOT is split once
 * into one-page untyped caps, kept in FREE_CNODE as a stack. Every object
 * the server makes for an account (a frame, a page table, a CNode) is made
 * from a page of its own, so giving the page back is exact: revoking the
 * page's cap deletes the one object (a frame or table leaves its address
 * space), the page's watermark goes back to 0, and the cap returns to the
 * stack. Objects are made in the scratch slots of our CNode (a cap is
 * invoked through our CNode only), mapped, then moved with their page into
 * the account's books: CNodes of 64 slots, one page each, that hold the
 * caps of 32 objects (object n in book n / 32, slots 2 (n % 32) and
 * 2 (n % 32) + 1); the account's directory holds the books (slots 0-31)
 * and the books' pages (32-63). Books and directory are charged to the
 * account like anything else.
 *
 * What a page costs is found before anything is made: the zero page
 * PROBE_FRAME is mapped read-only at the address, and Frame: Map's answer
 * says whether the page is mapped already, or at which level a table is
 * missing (then every level below it is too). A successful probe is
 * unmapped at once; the server runs on one CPU above its tenants, so no
 * tenant thread runs while it is mapped, and it is a page of zeros anyway.
 */
#include "server.h"

#define BOOK_DEPTH (2 * BOOK_BITS) /* directory slot, then book slot */
#define POOL_TRY_BITS 40           /* the largest pool the server looks for */

struct account accounts[ACCOUNTS];

static bool ready;
static unsigned free_bits;          /* FREE_CNODE has 2^free_bits slots */
static uint64_t free_count, total_pages;
static bool scratch_held;           /* SCRATCH_UT holds a page taken from the stack */

static uint64_t index_of(const struct account *a)
{
    return (uint64_t)(a - accounts);
}

/* ---- Setting up --------------------------------------------------------- */

/* The size of the untyped in POOL_SLOT, in bits: the largest untyped a
 * Retype can carve from it (made and revoked at once), or 0. */
static unsigned pool_bits(void)
{
    for (unsigned b = POOL_TRY_BITS; b >= BK_PAGE_BITS; b--) {
        if (sys_untyped_retype(POOL_SLOT, BK_OBJ_UNTYPED, b, BK_CAP_ROOT_CNODE, 0, 0, SCRATCH_UT,
                               1) == 0) {
            sys_cnode_revoke(BK_CAP_ROOT_CNODE, POOL_SLOT, W);
            return b;
        }
    }
    return 0;
}

/* The pool, at most 2^POOL_MAX_BITS of it: first FREE_CNODE (one slot per
 * page, 64 bytes a slot, so 1/64 of the pool), then PROBE_FRAME, then the
 * pages, 256 per Retype, into FREE_CNODE. */
static bool split_pool(unsigned bits)
{
    free_bits = bits - BK_PAGE_BITS;
    if (sys_untyped_retype(POOL_SLOT, BK_OBJ_CNODE, free_bits, BK_CAP_ROOT_CNODE, 0, 0,
                           FREE_CNODE, 1) != 0 ||
        sys_untyped_retype(POOL_SLOT, BK_OBJ_FRAME, BK_PAGE_BITS, BK_CAP_ROOT_CNODE, 0, 0,
                           PROBE_FRAME, 1) != 0)
        return false;
    uint64_t used = (1ull << (bits - 6)) + MEM_PAGE;
    pages_window_init(&used);
    uint64_t pages = ((1ull << bits) - used) / MEM_PAGE;
    for (uint64_t i = 0; i < pages; i += BK_RETYPE_MAX_OBJECTS) {
        uint64_t n = pages - i < BK_RETYPE_MAX_OBJECTS ? pages - i : BK_RETYPE_MAX_OBJECTS;
        if (sys_untyped_retype(POOL_SLOT, BK_OBJ_UNTYPED, BK_PAGE_BITS, FREE_CNODE, 0, 0, i, n) !=
            0)
            return false;
    }
    free_count = total_pages = pages;
    return true;
}

bool pages_ready(void)
{
    if (ready)
        return true;
    unsigned bits = pool_bits();
    if (bits < 16) /* room for the free CNode, the probe and a few pages */
        return false;
    ready = split_pool(bits > POOL_MAX_BITS ? POOL_MAX_BITS : bits);
    if (!ready) {
        sys_cnode_revoke(BK_CAP_ROOT_CNODE, POOL_SLOT, W);
        free_count = total_pages = 0;
    }
    return ready;
}

uint64_t pages_free_bytes(void)
{
    return free_count * MEM_PAGE;
}

uint64_t pages_total_bytes(void)
{
    return total_pages * MEM_PAGE;
}

/* ---- Pages in and out --------------------------------------------------- */

/* The page on top of the free stack, into SCRATCH_UT. */
static long take_page(void)
{
    if (free_count == 0)
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    long r = sys_cnode_move(BK_CAP_ROOT_CNODE, SCRATCH_UT, W, FREE_CNODE, free_count - 1,
                            free_bits);
    if (r == 0) {
        free_count--;
        scratch_held = true;
    }
    return r;
}

/* The page at (`cnode`, `index`, `depth`): whatever was made from it is
 * deleted, and it goes back on top of the stack. */
static void give_page(uint64_t cnode, uint64_t index, uint64_t depth)
{
    if (sys_cnode_revoke(cnode, index, depth) == 0 &&
        sys_cnode_move(FREE_CNODE, free_count, free_bits, cnode, index, depth) == 0)
        free_count++;
}

/* After a failure half way (the kernel refused what the checks let
 * through): the scratch slots emptied, the page back. */
void pages_scratch_clear(void)
{
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_SRC, W);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W);
    if (scratch_held)
        give_page(BK_CAP_ROOT_CNODE, SCRATCH_UT, W);
    scratch_held = false;
}

/* An object of `type` in SCRATCH_OBJ, made from a fresh page (in
 * SCRATCH_UT). Retype zeroes it: a frame reaches its tenant as zeros. */
static long make_object(uint64_t type, unsigned size_bits)
{
    long r = take_page();
    if (r == 0)
        r = sys_untyped_retype(SCRATCH_UT, type, size_bits, BK_CAP_ROOT_CNODE, 0, 0, SCRATCH_OBJ,
                               1);
    return r;
}

/* Where object n's cap (which 0) or its page's (which 1) lies below the
 * account's directory, at depth BOOK_DEPTH. */
uint64_t pages_book_index(unsigned n, unsigned which)
{
    return (uint64_t)(n / MEM_BOOK_OBJECTS) << BOOK_BITS | (2 * (n % MEM_BOOK_OBJECTS) + which);
}

/* The object in SCRATCH_OBJ and its page into the account's next book
 * entry (a hole first, else the next never used), charged as `kind`;
 * `page` is a frame's address | 1, else 0. */
static long record_object(struct account *a, enum mem_kind kind, uint64_t page)
{
    unsigned n = a->hole_count ? a->holes[a->hole_count - 1] : a->objects;
    uint64_t dir = DIR_SLOT(index_of(a));
    long r = sys_cnode_move(dir, pages_book_index(n, 0), BOOK_DEPTH, BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W);
    if (r == 0)
        r = sys_cnode_move(dir, pages_book_index(n, 1), BOOK_DEPTH, BK_CAP_ROOT_CNODE, SCRATCH_UT, W);
    if (r != 0)
        return r;
    scratch_held = false;
    a->page_of[n] = page;
    if (a->hole_count)
        a->hole_count--;
    else
        a->objects++;
    mem_charge(&a->charges, kind, MEM_PAGE);
    return 0;
}

/* The object in SCRATCH_OBJ, a copy of an image page's cap mapped at
 * `page` (vaddr | SHARED), into the account's next book entry: it has no
 * page of its own and is charged nothing. */
long pages_record(struct account *a, uint64_t page)
{
    unsigned n = a->hole_count ? a->holes[a->hole_count - 1] : a->objects;
    long r = sys_cnode_move(DIR_SLOT(index_of(a)), pages_book_index(n, 0), BOOK_DEPTH,
                            BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W);
    if (r != 0)
        return r;
    a->page_of[n] = page;
    if (a->hole_count)
        a->hole_count--;
    else
        a->objects++;
    a->shared++;
    return 0;
}

/* Entry n of `a` becomes a hole, reused first. */
void pages_forget(struct account *a, unsigned n)
{
    a->page_of[n] = HOLE;
    a->holes[a->hole_count++] = (uint16_t)n;
}

/* The account's next book, made from a fresh page straight into its
 * directory, its page beside it. */
static long make_book(struct account *a)
{
    uint64_t dir = DIR_SLOT(index_of(a));
    long r = take_page();
    if (r == 0)
        r = sys_untyped_retype(SCRATCH_UT, BK_OBJ_CNODE, BOOK_BITS, dir, 0, 0, a->books, 1);
    if (r == 0)
        r = sys_cnode_move(dir, MEM_BOOKS + a->books, BOOK_BITS, BK_CAP_ROOT_CNODE, SCRATCH_UT, W);
    if (r != 0)
        return r;
    scratch_held = false;
    a->books++;
    mem_charge(&a->charges, MEM_KIND_CNODE, MEM_PAGE);
    return 0;
}

/* ---- Accounts ----------------------------------------------------------- */

long pages_open(struct account *a)
{
    uint64_t i = index_of(a);
    long r = take_page();
    if (r == 0)
        r = sys_untyped_retype(SCRATCH_UT, BK_OBJ_CNODE, BOOK_BITS, BK_CAP_ROOT_CNODE, 0, 0,
                               DIR_SLOT(i), 1);
    if (r == 0)
        r = sys_cnode_move(BK_CAP_ROOT_CNODE, DIR_UT_SLOT(i), W, BK_CAP_ROOT_CNODE, SCRATCH_UT, W);
    if (r != 0) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, DIR_SLOT(i), W);
        pages_scratch_clear();
        return r;
    }
    scratch_held = false;
    mem_charge(&a->charges, MEM_KIND_CNODE, MEM_PAGE);
    return 0;
}

uint64_t pages_close(struct account *a)
{
    uint64_t i = index_of(a), dir = DIR_SLOT(i), bytes = mem_used(&a->charges);
    /* Objects last made first: their pages go back in the order they came.
     * A hole's slots are empty: its Revoke does nothing, its Move fails. */
    for (unsigned n = a->objects; n-- > 0;) {
        if (a->page_of[n] & SHARED)
            sys_cnode_delete(dir, pages_book_index(n, 0), BOOK_DEPTH);
        give_page(dir, pages_book_index(n, 1), BOOK_DEPTH);
    }
    for (unsigned b = a->books; b-- > 0;)
        give_page(dir, MEM_BOOKS + b, BOOK_BITS);
    give_page(BK_CAP_ROOT_CNODE, DIR_UT_SLOT(i), W);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SPACE_SLOT(i), W);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SUPERVISOR_SLOT(i), W);
    a->objects = a->books = a->hole_count = a->shared = 0;
    for (unsigned k = 0; k < MEM_KINDS; k++)
        a->charges.bytes[k] = 0;
    return bytes;
}

/* ---- Backing a page ----------------------------------------------------- */

long pages_probe_space(uint64_t space, uint64_t vaddr)
{
    /* Frame: Map by hand, for the words of its FAILED_LOOKUP reply: 0, 2
     * (missing), the address bits the table would translate, its level. */
    struct bk_msg m = { 0 };
    m.info = BK_MSGINFO(4, 0, 0, BK_LABEL_FRAME_MAP);
    m.mr[0] = space;
    m.mr[1] = vaddr;
    m.mr[2] = BK_VM_READ;
    m.mr[3] = 0;
    bk_ipc_syscall(BK_SYS_CALL, PROBE_FRAME, &m);
    uint64_t err = BK_MSGINFO_LABEL(m.info);
    if (err == 0) {
        sys_frame_unmap(PROBE_FRAME);
        return 0;
    }
    if (err == BK_ERR_FAILED_LOOKUP && m.mr[3] >= 1 && m.mr[3] <= 3)
        return (long)m.mr[3];
    return -(long)err;
}

enum backing pages_probe(const struct account *a, uint64_t vaddr, unsigned *tables)
{
    long r = pages_probe_space(SPACE_SLOT(index_of(a)), vaddr);
    *tables = r > 0 ? (unsigned)r : 0;
    if (r >= 0)
        return BACK_NEEDED;
    return r == -(long)BK_ERR_DELETE_FIRST ? BACK_MAPPED : BACK_FAILED;
}

long pages_make_books(struct account *a, unsigned more)
{
    unsigned books = mem_books_needed(pages_recorded(a), a->books, more);
    long r = 0;
    for (unsigned b = 0; r == 0 && b < books; b++)
        r = make_book(a);
    return r;
}

long pages_make_tables(struct account *a, uint64_t vaddr, unsigned tables)
{
    long r = 0;
    /* Each table goes in at the first level missing on the way to vaddr. */
    for (unsigned t = 0; r == 0 && t < tables; t++) {
        r = make_object(BK_OBJ_PAGE_TABLE, 0);
        if (r == 0)
            r = sys_page_table_map(SCRATCH_OBJ, SPACE_SLOT(index_of(a)), vaddr);
        if (r == 0)
            r = record_object(a, MEM_KIND_PAGE_TABLE, 0);
    }
    return r;
}

long pages_make_frame(void)
{
    return make_object(BK_OBJ_FRAME, BK_PAGE_BITS);
}

/* The frame in SCRATCH_OBJ, mapped at `vaddr` of `a` with `rights`, into
 * the account's books, charged. */
long pages_record_frame(struct account *a, uint64_t vaddr, uint32_t rights)
{
    long r = sys_frame_map(SCRATCH_OBJ, SPACE_SLOT(index_of(a)), vaddr, rights, 0);
    if (r == 0)
        r = record_object(a, MEM_KIND_FRAME, vaddr | PRIVATE);
    return r;
}

long pages_back(struct account *a, uint64_t vaddr, uint32_t rights, unsigned tables)
{
    long r = pages_make_books(a, 1 + tables);
    if (r == 0)
        r = pages_make_tables(a, vaddr, tables);
    if (r == 0)
        r = pages_make_frame();
    if (r == 0)
        r = pages_record_frame(a, vaddr, rights);
    if (r != 0)
        pages_scratch_clear();
    return r;
}

unsigned pages_recorded(const struct account *a)
{
    return a->objects - a->hole_count;
}

uint64_t pages_release(struct account *a, uint64_t base, uint64_t size)
{
    uint64_t dir = DIR_SLOT(index_of(a)), count = 0;
    for (unsigned n = 0; n < a->objects; n++) {
        uint64_t kind = a->page_of[n] & (PRIVATE | SHARED), page = a->page_of[n] & ~(MEM_PAGE - 1);
        if (kind == 0 || page < base || page - base >= size)
            continue;
        if (kind == SHARED) {
            sys_cnode_delete(dir, pages_book_index(n, 0), BOOK_DEPTH);
            a->shared--;
        } else {
            give_page(dir, pages_book_index(n, 1), BOOK_DEPTH);
            mem_refund(&a->charges, MEM_KIND_FRAME, MEM_PAGE);
            count++;
        }
        pages_forget(a, n);
    }
    return count;
}

unsigned pages_mapped_by_us(const struct account *a, uint64_t vaddr)
{
    for (unsigned n = 0; n < a->objects; n++) {
        if (a->page_of[n] == (vaddr | PRIVATE) || a->page_of[n] == (vaddr | SHARED))
            return (unsigned)(a->page_of[n] & (PRIVATE | SHARED));
    }
    return 0;
}
