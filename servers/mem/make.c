/*
 * Kernel objects a tenant has made from its quota (Mem: Make, Unmake;
 * docs/memory.md, "Objects a tenant makes").
 *
 * A tenant holds no untyped memory, so every kernel object it has is one
 * someone made for it. Spawn makes its thread and spaces; Make makes the
 * rest it may want, from our memory, charged to its account like a page:
 * endpoints, notifications and Reply objects (to serve or signal its own
 * threads and peers), CNodes of up to 64 slots (to keep the caps it
 * receives) and address spaces. Each object takes a page of its own (an
 * address space a unit of two) and a book entry marked MADE, so:
 *  - the tenant gets a copy of the cap; we keep the original with the page
 *    it was made from, so deleting its copy frees nothing, and Unmake or
 *    the account's close deletes the object with every copy of its cap,
 *    wherever the tenant passed it;
 *  - a tenant making objects in a loop stops at its quota with the quota
 *    error, as one touching pages does: no object is outside the quota.
 *
 * Address spaces need ASIDs. Taken from the pools the administrator gave us
 * for Spawn, a tenant's spaces would use up ASIDs other tenants' spawns
 * need. So each account that makes a space gets an ASID pool of its own,
 * made from a page of its quota with the ASIDControl cap the spawner gave
 * us: its 510 entries are more spaces than the largest quota can pay for
 * (4 MiB / 8 KiB = 512, less the account's own pages), so the account
 * never needs a second, and it fills nobody's pool but its own. The pool's
 * page stays charged until the account closes.
 */
#include "server.h"

/* Pages object `type` takes, or 0 if a tenant may not have it made with
 * `size_bits`. */
static unsigned object_pages(uint32_t type, uint32_t size_bits)
{
    switch (type) {
    case BK_OBJ_ENDPOINT:
    case BK_OBJ_NOTIFICATION:
    case BK_OBJ_REPLY:
        return size_bits == 0 ? 1 : 0;
    case BK_OBJ_CNODE:
        /* 64 slots of 64 bytes fill a page: larger CNodes would need
         * memory in pieces larger than the units of our books. */
        return size_bits >= 1 && size_bits <= BOOK_BITS ? 1 : 0;
    case BK_OBJ_VSPACE:
        return size_bits == 0 ? 2 : 0;
    default:
        return 0;
    }
}

static enum mem_kind object_kind(uint32_t type)
{
    if (type == BK_OBJ_CNODE)
        return MEM_KIND_CNODE;
    return type == BK_OBJ_VSPACE ? MEM_KIND_VSPACE : MEM_KIND_IPC;
}

/* The account's own ASID pool, made from a page of its quota (the caller
 * checked that the quota and memory pay for it). */
static int make_asid_pool(struct mem_call *call, struct account *a)
{
    /* The pool is the page's only child, so revoking the page (only the
     * account's close does) deletes it like any object of ours. */
    long r = pages_take_page();
    if (r == 0)
        r = sys_asid_control_make_pool(ASID_CONTROL, SCRATCH_UT, BK_CAP_ROOT_CNODE, SCRATCH_OBJ,
                                       W);
    if (r == 0)
        r = pages_record_object(a, MEM_KIND_VSPACE, KERNEL_OBJECT);
    if (r != 0) {
        pages_scratch_clear();
        if (r == -BK_ERR_INVALID_CAPABILITY || r == -BK_ERR_FAILED_LOOKUP)
            return mem_fail_no_asid_control(call, a->name);
        if (r == -BK_ERR_DELETE_FIRST) /* every range of the kernel's has a pool */
            return mem_fail_no_asid(call, a->name, 0);
        return mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
    }
    a->asid_pool_entry = (int)pages_last_entry();
    return 0;
}

/* An address space from a whole unit, given an ASID from the account's
 * pool, recorded as MADE. */
static int make_space(struct mem_call *call, struct account *a)
{
    long k = unit_take_whole();
    if (k < 0)
        return mem_fail_no_memory(call, a->name, 2 * MEM_PAGE, pages_free_bytes());
    long r = unit_retype((uint32_t)k, BK_OBJ_VSPACE, 0, SCRATCH_OBJ, 1);
    if (r == 0)
        r = object_borrow(a, (unsigned)a->asid_pool_entry);
    if (r == 0)
        r = sys_asid_pool_assign(SCRATCH_SRC, SCRATCH_OBJ);
    object_unborrow();
    if (r == 0)
        r = pages_record_whole(a, (uint32_t)k, MEM_KIND_VSPACE);
    if (r != 0) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_OBJ, W);
        unit_give_whole((uint32_t)k); /* deletes the VSpace */
        return mem_fail_no_asid(call, a->name, 1); /* its own pool: full, or gone */
    }
    return 0;
}

/* Any other object from a page, recorded as MADE. */
static int make_page_object(struct mem_call *call, struct account *a, uint32_t type,
                            uint32_t size_bits)
{
    long r = pages_make_object(type, size_bits);
    if (r == 0)
        r = pages_record_object(a, object_kind(type), MADE);
    if (r != 0) {
        pages_scratch_clear();
        return mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
    }
    return 0;
}

int mem_handle_make(struct mem_call *call, uint64_t tenant, uint32_t type, uint32_t size_bits,
                    uint64_t *object, bk_cptr_t *cap)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    unsigned pages = object_pages(type, size_bits);
    if (pages == 0)
        return mem_fail_bad_object(call, a->name, type, size_bits);
    bool pool = type == BK_OBJ_VSPACE && a->asid_pool_entry < 0;
    unsigned entries = pool ? 2 : 1;
    /* All or nothing: the object, its pool, and the book recording them. */
    err = account_can_pay(call, a, pages + pool + mem_books_needed(pages_recorded(a), a->books,
                                                                    entries));
    if (err)
        return err;
    if (pages_make_books(a, entries) != 0)
        return mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
    if (pool)
        err = make_asid_pool(call, a);
    if (!err)
        err = type == BK_OBJ_VSPACE ? make_space(call, a)
                                    : make_page_object(call, a, type, size_bits);
    if (err)
        return err;
    unsigned n = pages_last_entry();
    entry_at(a, n)->what = MADE;
    struct where at = book_slot(a, n, 0);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, MAKE_OUT, W); /* the last Make's copy, sent */
    if (sys_cnode_copy(BK_CAP_ROOT_CNODE, MAKE_OUT, W, at.root, at.index, at.depth,
                       BK_RIGHTS_ALL) != 0) {
        pages_free_entry(a, n);
        return mem_fail_no_memory(call, a->name, 0, pages_free_bytes());
    }
    *object = n;
    *cap = MAKE_OUT;
    return 0;
}

int mem_handle_unmake(struct mem_call *call, uint64_t tenant, uint64_t object,
                      uint64_t *returned)
{
    struct account *a;
    int err = account_named(call, tenant, &a);
    if (err)
        return err;
    if (object >= a->objects || entry_at(a, (unsigned)object)->what != MADE)
        return mem_fail_unknown_object(call, a->name, object);
    *returned = pages_free_entry(a, (unsigned)object);
    return 0;
}
