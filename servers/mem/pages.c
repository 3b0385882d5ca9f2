/*
 * What the memory server spends for accounts (server.h has the
 * invariants; units.c the free memory it spends from).
 *
 * Every object the server makes for an account (a frame, a page table, a
 * CNode, and for a tenant it spawned a TCB and a SchedContext) is made
 * from a page of its own, a VSpace from a whole unit of two pages, so
 * giving the memory back is exact: revoking the page's cap deletes the one
 * object (a frame or table leaves its address space, a thread stops), and
 * the page goes back to its unit. Objects are made in the scratch slots of
 * our CNode (a cap is invoked through our CNode only), then moved with
 * their page into the account's books: CNodes of 64 slots, one page each,
 * that hold the caps of 32 objects (object n in book n / 32, slots
 * 2 (n % 32) and 2 (n % 32) + 1); the account's directory holds the books
 * (slots 0-31) and the books' pages (32-63), and lives in ACCOUNTS_CNODE
 * with the account's address space and supervisor. Books and directory
 * are charged to the account like anything else; what the server keeps in
 * its own memory about them (struct account, 16 bytes an entry) comes
 * from its reserved area.
 *
 * What a page costs is found before anything is made: the zero page
 * PROBE_FRAME is mapped read-only at the address, and Frame: Map's answer
 * says whether the page is mapped already, or at which level a table is
 * missing (then every level below it is too). A successful probe is
 * unmapped at once; the server runs on one CPU above its tenants, so no
 * tenant thread runs while it is mapped, and it is a page of zeros anyway.
 */
#include "server.h"

#define CHUNK_BITS 9 /* a book's entries: 32 of 16 bytes */

static bool scratch_held;          /* SCRATCH_UT holds a page taken from a unit */
static uint32_t scratch_unit;
static struct account *space_account; /* whose address space is in SPACE_CUR */

/* ---- Where an account's caps are ---------------------------------------- */

struct where account_slot(const struct account *a, unsigned which)
{
    return (struct where){ ACCOUNTS_CNODE, (uint64_t)a->slot << 2 | which, accounts_bits + 2 };
}

static struct where dir_slot(const struct account *a, unsigned s)
{
    struct where d = account_slot(a, ACCOUNT_DIR);
    return (struct where){ d.root, d.index << BOOK_BITS | s, d.depth + BOOK_BITS };
}

/* Where object n's cap (which 0) or its page's (which 1) lies below the
 * account's directory, at depth BOOK_DEPTH. */
uint64_t pages_book_index(unsigned n, unsigned which)
{
    return (uint64_t)(n / MEM_BOOK_OBJECTS) << BOOK_BITS | (2 * (n % MEM_BOOK_OBJECTS) + which);
}

struct where book_slot(const struct account *a, unsigned n, unsigned which)
{
    struct where d = account_slot(a, ACCOUNT_DIR);
    return (struct where){ d.root, d.index << BOOK_DEPTH | pages_book_index(n, which),
                           d.depth + BOOK_DEPTH };
}

struct entry *entry_at(const struct account *a, unsigned n)
{
    return &a->book[n / MEM_BOOK_OBJECTS][n % MEM_BOOK_OBJECTS];
}

/* The cap in our slot `slot` moved to `w`. */
static long put(struct where w, uint64_t slot)
{
    return sys_cnode_move(w.root, w.index, w.depth, BK_CAP_ROOT_CNODE, slot, W);
}

/* The cap at `w` moved into our slot `slot`. */
static long take(uint64_t slot, struct where w)
{
    return sys_cnode_move(BK_CAP_ROOT_CNODE, slot, W, w.root, w.index, w.depth);
}

/* ---- The cached address space ------------------------------------------- */

/* Frame: Map and PageTable: Map name the address space by a cap of our
 * CNode; an account's lies in ACCOUNTS_CNODE, so the last one used waits
 * in SPACE_CUR (a fault storm of one tenant moves nothing). */
uint64_t space_of(struct account *a)
{
    if (space_account != a) {
        if (space_account)
            put(account_slot(space_account, ACCOUNT_SPACE), SPACE_CUR);
        take(SPACE_CUR, account_slot(a, ACCOUNT_SPACE));
        space_account = a;
    }
    return SPACE_CUR;
}

long space_cache_copy(struct account *a, uint64_t slot)
{
    space_uncache();
    long r = sys_cnode_copy(BK_CAP_ROOT_CNODE, SPACE_CUR, W, BK_CAP_ROOT_CNODE, slot, W,
                            BK_RIGHTS_ALL);
    if (r == 0)
        space_account = a;
    return r;
}

/* SPACE_CUR back in its account's slot. */
void space_uncache(void)
{
    if (space_account)
        put(account_slot(space_account, ACCOUNT_SPACE), SPACE_CUR);
    space_account = NULL;
}

/* ---- Pages in and out --------------------------------------------------- */

long pages_take_page(void)
{
    long k = unit_take_page();
    if (k < 0)
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    scratch_held = true;
    scratch_unit = (uint32_t)k;
    return 0;
}

/* After a failure half way (the kernel refused what the checks let
 * through): the scratch slots emptied, the page back. */
void pages_scratch_clear(void)
{
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_SRC, W);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_OBJ2, W);
    if (scratch_held)
        unit_give_page(scratch_unit, BK_CAP_ROOT_CNODE, SCRATCH_UT, W);
    scratch_held = false;
}

/* An object of `type` in our `slot`, made from a fresh page (in
 * SCRATCH_UT). Retype zeroes it: a frame reaches its tenant as zeros. */
long pages_make_object_in(uint64_t type, unsigned size_bits, uint64_t slot)
{
    long r = pages_take_page();
    if (r == 0)
        r = sys_untyped_retype(SCRATCH_UT, type, size_bits, BK_CAP_ROOT_CNODE, 0, 0, slot, 1);
    return r;
}

long pages_make_object(uint64_t type, unsigned size_bits)
{
    return pages_make_object_in(type, size_bits, SCRATCH_OBJ);
}

/* The account's next entry: a hole first, else the next never used. */
static unsigned next_entry(const struct account *a)
{
    /* The hole last made first: a copy on write reuses the entry of the
     * shared page it replaces without a search. */
    if (a->hole_count && a->hole_hint < a->objects && entry_at(a, a->hole_hint)->what == HOLE)
        return a->hole_hint;
    int n = a->hole_count ? pages_find(a, HOLE, HOLE) : -1;
    return n < 0 ? a->objects : (unsigned)n;
}

static unsigned last_entry;

unsigned pages_last_entry(void)
{
    return last_entry;
}

static void use_entry(struct account *a, unsigned n, struct entry e)
{
    last_entry = n;
    if (n < a->objects)
        a->hole_count--;
    else
        a->objects++;
    *entry_at(a, n) = e;
}

/* Moves the scratch object and the untyped it came from into book entry
 * n's two slots; the scratch pair is free again. */
static long book_scratch(const struct account *a, unsigned n)
{
    long r = put(book_slot(a, n, 0), SCRATCH_OBJ);
    if (r == 0)
        r = put(book_slot(a, n, 1), SCRATCH_UT);
    if (r == 0)
        scratch_held = false;
    return r;
}

long pages_record_object(struct account *a, enum mem_kind kind, uint64_t what)
{
    unsigned n = next_entry(a);
    long r = book_scratch(a, n);
    if (r != 0)
        return r;
    use_entry(a, n, (struct entry){ what, scratch_unit, kind });
    mem_charge(&a->charges, kind, MEM_PAGE);
    return 0;
}

long pages_record_page(struct account *a, enum mem_kind kind, unsigned *n)
{
    *n = next_entry(a);
    long r = put(book_slot(a, *n, 1), SCRATCH_UT);
    if (r != 0)
        return r;
    scratch_held = false;
    use_entry(a, *n, (struct entry){ KERNEL_OBJECT, scratch_unit, kind });
    mem_charge(&a->charges, kind, MEM_PAGE);
    return 0;
}

long pages_place_object(const struct account *a, unsigned n, uint64_t slot)
{
    return put(book_slot(a, n, 0), slot);
}

long pages_record_whole(struct account *a, uint32_t unit, enum mem_kind kind)
{
    unsigned n = next_entry(a);
    long r = put(book_slot(a, n, 0), SCRATCH_OBJ);
    if (r != 0)
        return r;
    use_entry(a, n, (struct entry){ KERNEL_OBJECT, unit | WHOLE_UNIT, kind });
    mem_charge(&a->charges, kind, 2 * MEM_PAGE);
    return 0;
}

/* The object in SCRATCH_OBJ, a copy of an image page's cap mapped at
 * `what` (vaddr | SHARED), into the account's next book entry: it has no
 * page of its own and is charged nothing. */
long pages_record(struct account *a, uint64_t what)
{
    unsigned n = next_entry(a);
    long r = put(book_slot(a, n, 0), SCRATCH_OBJ);
    if (r != 0)
        return r;
    use_entry(a, n, (struct entry){ what, NO_UNIT, MEM_KIND_FRAME });
    a->shared++;
    return 0;
}

/* Entry n of `a` becomes a hole, reused first. */
void pages_forget(struct account *a, unsigned n)
{
    *entry_at(a, n) = (struct entry){ HOLE, NO_UNIT, 0 };
    a->hole_count++;
    a->hole_hint = n;
}

/* The account's next book, made from a fresh page straight into its
 * directory, its page beside it; its entries' record from our area. */
static long make_book(struct account *a)
{
    struct where d = account_slot(a, ACCOUNT_DIR);
    struct entry *chunk = meta_alloc(CHUNK_BITS);
    long r = chunk ? pages_take_page() : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (r == 0)
        r = sys_untyped_retype(SCRATCH_UT, BK_OBJ_CNODE, BOOK_BITS, d.root, d.index, d.depth,
                               a->books, 1);
    if (r == 0)
        r = put(dir_slot(a, MEM_BOOKS + a->books), SCRATCH_UT);
    if (r != 0) {
        meta_free(chunk, CHUNK_BITS);
        return r;
    }
    scratch_held = false;
    a->book[a->books] = chunk;
    a->book_unit[a->books++] = scratch_unit;
    mem_charge(&a->charges, MEM_KIND_CNODE, MEM_PAGE);
    return 0;
}

/* ---- Accounts ----------------------------------------------------------- */

long pages_open(struct account *a)
{
    struct where acc = account_slot(a, 0);
    long r = pages_take_page();
    if (r == 0)
        r = sys_untyped_retype(SCRATCH_UT, BK_OBJ_CNODE, BOOK_BITS, acc.root, 0, 0,
                               acc.index | ACCOUNT_DIR, 1);
    if (r == 0)
        r = put(account_slot(a, ACCOUNT_DIR_PAGE), SCRATCH_UT);
    if (r != 0) {
        struct where dir = account_slot(a, ACCOUNT_DIR);
        sys_cnode_delete(dir.root, dir.index, dir.depth);
        pages_scratch_clear();
        return r;
    }
    scratch_held = false;
    a->dir_unit = scratch_unit;
    mem_charge(&a->charges, MEM_KIND_CNODE, MEM_PAGE);
    return 0;
}

/* Entry n's object deleted, its memory back. */
static void give_back(struct account *a, unsigned n)
{
    const struct entry *e = entry_at(a, n);
    struct where obj = book_slot(a, n, 0), page = book_slot(a, n, 1);
    if (e->what == HOLE)
        return;
    if (e->kind & ENTRY_COLD)
        a->cold--;
    if (e->what & SWAPPED)
        evict_forget_swapped(a, n); /* no cap: its slot in swap is free again */
    else if (e->unit == NO_UNIT)
        sys_cnode_delete(obj.root, obj.index, obj.depth);
    else if (e->unit & WHOLE_UNIT)
        unit_give_whole(e->unit & ~WHOLE_UNIT);
    else
        unit_give_page(e->unit, page.root, page.index, page.depth);
}

uint64_t pages_free_entry(struct account *a, unsigned n)
{
    const struct entry *e = entry_at(a, n);
    uint64_t bytes = (e->unit & WHOLE_UNIT) ? 2 * MEM_PAGE : MEM_PAGE;
    enum mem_kind kind = (enum mem_kind)(e->kind & 0xffff);
    give_back(a, n);
    mem_refund(&a->charges, kind, bytes);
    pages_forget(a, n);
    return bytes;
}

uint64_t pages_close(struct account *a)
{
    uint64_t bytes = mem_used(&a->charges);
    struct where space = account_slot(a, ACCOUNT_SPACE), sup = account_slot(a, ACCOUNT_SUPERVISOR);
    if (space_account == a)
        space_uncache();
    /* Objects last made first: a thread goes before its address space,
     * frames before their tables, and pages go back in the order they came. */
    for (unsigned n = a->objects; n-- > 0;)
        give_back(a, n);
    for (unsigned b = a->books; b-- > 0;) {
        struct where page = dir_slot(a, MEM_BOOKS + b);
        unit_give_page(a->book_unit[b], page.root, page.index, page.depth);
        meta_free(a->book[b], CHUNK_BITS);
        a->book[b] = NULL;
    }
    struct where dir_page = account_slot(a, ACCOUNT_DIR_PAGE);
    unit_give_page(a->dir_unit, dir_page.root, dir_page.index, dir_page.depth);
    sys_cnode_delete(space.root, space.index, space.depth);
    sys_cnode_delete(sup.root, sup.index, sup.depth);
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

enum backing pages_probe(struct account *a, uint64_t vaddr, unsigned *tables)
{
    long r = pages_probe_space(space_of(a), vaddr);
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
        r = pages_make_object(BK_OBJ_PAGE_TABLE, 0);
        if (r == 0)
            r = sys_page_table_map(SCRATCH_OBJ, space_of(a), vaddr);
        if (r == 0)
            r = pages_record_object(a, MEM_KIND_PAGE_TABLE, 0);
    }
    return r;
}

/* Two tables on the way to `vaddr` (the first two levels missing) from
 * one whole unit, in one Retype: entry n holds the first table and owns
 * the unit (revoking it deletes both), entry n + 1 the second, whose cap
 * alone is deleted (it is given back first: last made first). Each is
 * charged a page, as a table from a page of its own. The caller made the
 * books. */
static long make_table_pair(struct account *a, uint64_t vaddr)
{
    long k = unit_take_whole();
    if (k < 0)
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    long r = unit_retype((uint32_t)k, BK_OBJ_PAGE_TABLE, 0, SCRATCH_OBJ, 2);
    if (r == 0)
        r = sys_page_table_map(SCRATCH_OBJ, space_of(a), vaddr);
    if (r == 0)
        r = sys_page_table_map(PAIR_SECOND, space_of(a), vaddr);
    unsigned n = next_entry(a);
    if (r == 0)
        r = put(book_slot(a, n, 0), SCRATCH_OBJ);
    if (r != 0) {
        unit_give_whole((uint32_t)k); /* deletes both */
        return r;
    }
    use_entry(a, n, (struct entry){ 0, (uint32_t)k | WHOLE_UNIT, MEM_KIND_PAGE_TABLE });
    mem_charge(&a->charges, MEM_KIND_PAGE_TABLE, MEM_PAGE);
    n = next_entry(a);
    r = put(book_slot(a, n, 0), PAIR_SECOND);
    if (r != 0)
        return r; /* the first's entry deletes it with the unit */
    use_entry(a, n, (struct entry){ 0, NO_UNIT, MEM_KIND_PAGE_TABLE });
    mem_charge(&a->charges, MEM_KIND_PAGE_TABLE, MEM_PAGE);
    return 0;
}

long pages_make_tables_paired(struct account *a, uint64_t vaddr, unsigned tables)
{
    /* Without a whole unit free (the memory in halves), one a page. */
    if (tables >= 2 && make_table_pair(a, vaddr) == 0)
        tables -= 2;
    return pages_make_tables(a, vaddr, tables);
}

long pages_make_frame(void)
{
    return pages_make_object(BK_OBJ_FRAME, BK_PAGE_BITS);
}

/* The frame in SCRATCH_OBJ, mapped at `vaddr` of `a` with `rights`, into
 * the account's books, charged. */
long pages_record_frame(struct account *a, uint64_t vaddr, uint32_t rights)
{
    long r = sys_frame_map(SCRATCH_OBJ, space_of(a), vaddr, rights, 0);
    if (r == 0)
        r = pages_record_object(a, MEM_KIND_FRAME, vaddr | PRIVATE);
    return r;
}

long pages_record_frame_at(struct account *a, unsigned n, uint64_t what)
{
    long r = book_scratch(a, n);
    if (r != 0)
        return r;
    *entry_at(a, n) = (struct entry){ what, scratch_unit, MEM_KIND_FRAME };
    return 0;
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
    uint64_t count = 0;
    for (unsigned n = 0; n < a->objects; n++) {
        const struct entry *e = entry_at(a, n);
        uint64_t kind = e->what & (PRIVATE | SHARED | SWAPPED), page = e->what & ~(MEM_PAGE - 1);
        if (e->what == HOLE || kind == 0 || page < base || page - base >= size)
            continue;
        give_back(a, n);
        if (kind == SHARED) {
            a->shared--;
        } else {
            mem_refund(&a->charges, MEM_KIND_FRAME, MEM_PAGE);
            count++;
        }
        pages_forget(a, n);
    }
    return count;
}

int pages_find(const struct account *a, uint64_t what, uint64_t or_what)
{
    /* A book's entries at a time: the pager's searches are linear (an
     * index from address to entry is not done), so the loop is kept tight. */
    for (unsigned b = 0; b * MEM_BOOK_OBJECTS < a->objects; b++) {
        const struct entry *e = a->book[b];
        unsigned end = a->objects - b * MEM_BOOK_OBJECTS;
        end = end < MEM_BOOK_OBJECTS ? end : MEM_BOOK_OBJECTS;
        for (unsigned i = 0; i < end; i++) {
            if (e[i].what == what || e[i].what == or_what)
                return (int)(b * MEM_BOOK_OBJECTS + i);
        }
    }
    return -1;
}

unsigned pages_mapped_by_us(const struct account *a, uint64_t vaddr)
{
    int n = pages_find(a, vaddr | PRIVATE, vaddr | SHARED);
    return n < 0 ? 0 : (unsigned)(entry_at(a, (unsigned)n)->what & (PRIVATE | SHARED));
}
