/* Host tests of ASID pools and ASIDControl (kernel/asid_pool.c,
 * asid_control.c) through the syscall entry: a VSpace is usable only with
 * an ASID from a pool; Assign and MakePool refuse every bad argument in
 * the documented order; entries are reused with a new name; deleting a
 * pool takes its entries back a bounded batch per kernel entry, leaving
 * its VSpaces unusable and their threads stopped, also when it is given
 * up half way and its VSpaces go first; the pool's page and range come
 * back; and the number of live address spaces is bounded by memory, not
 * by a kernel table (more than 4,095 at once). */
#include <stdio.h>
#include <string.h>

#include "asid_pool.h"
#include "kworld.h"
#include "untyped.h"
#include "vspace_object.h"

#define VA 0x40000000ull
#define W64 64

static struct vspace_object *vspace_at(struct kworld *w, unsigned slot)
{
    return vspace_of_cap(&w->slots[slot].cap);
}

static uint64_t assign(struct kworld *w, unsigned pool, uint64_t vs)
{
    return kw_invoke(w, pool, BK_LABEL_ASID_POOL_ASSIGN, 1, vs, 0, 0, 0);
}

static uint64_t make_pool(struct kworld *w, uint64_t untyped, uint64_t root, uint64_t index,
                          uint64_t depth)
{
    return kw_invoke(w, KW_ASID_CONTROL, BK_LABEL_ASID_CONTROL_MAKE_POOL, 4, untyped, root, index,
                     depth);
}

static uint64_t map_table(struct kworld *w, unsigned pt, unsigned vs)
{
    return kw_invoke(w, pt, BK_LABEL_PAGE_TABLE_MAP, 2, vs, VA, 0, 0);
}

static uint64_t configure(struct kworld *w, unsigned tcb, unsigned vs)
{
    return kw_invoke(w, tcb, BK_LABEL_TCB_CONFIGURE, 4, KW_CNODE, 0, vs, 0);
}

static uint64_t delete_slot(struct kworld *w, unsigned slot)
{
    return kw_invoke(w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, slot, W64, 0, 0);
}

/* A method that may restart, made again until it ends (as user mode
 * would); returns the kernel entries it took, *err its result. */
static unsigned to_end(struct kworld *w, uint64_t cptr, uint64_t label, uint64_t a0,
                       uint64_t *err)
{
    unsigned entries = 0;
    for (;;) {
        vaddr_t pc = w->root->regs.pc;
        *err = kw_invoke(w, cptr, label, 2, a0, W64, 0, 0);
        entries++;
        CHECK_EQ(kw_invariants(w), 0);
        if (w->root->regs.pc != pc - 4)
            return entries;
        w->root->regs.pc = pc;
    }
}

/* `count` VSpaces in consecutive slots (Retype makes 256 at most). */
static unsigned vspaces(struct kworld *w, unsigned count)
{
    unsigned first = w->next_slot;
    for (unsigned made = 0; made < count; made += 256)
        kw_retype(w, CAP_VSPACE, 0, count - made < 256 ? count - made : 256);
    return first;
}

/* ---- Assign ---------------------------------------------------------------- */

static void test_assign_makes_a_vspace_usable(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned vs = kw_retype(&w, CAP_VSPACE, 0, 1), pt = kw_retype(&w, CAP_PAGE_TABLE, 0, 1);
    unsigned frame = kw_retype(&w, CAP_FRAME, 12, 1), tcb = kw_retype(&w, CAP_TCB, 0, 1);
    CHECK_EQ(vspace_at(&w, vs)->asid, 0);
    /* No ASID: nothing maps into it, no thread is configured into it. */
    CHECK_EQ(map_table(&w, pt, vs), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_MAP, 4, vs, VA, BK_VM_READ, 0),
             BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(configure(&w, tcb, vs), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(assign(&w, KW_ASID_POOL, vs), 0);
    uint32_t asid = vspace_at(&w, vs)->asid;
    CHECK(asid != 0 && vspace_by_asid(asid) == vspace_at(&w, vs));
    CHECK_EQ(map_table(&w, pt, vs), 0);
    CHECK_EQ(pt_cap_mapped_asid(&w.slots[pt].cap), asid); /* the 32-bit name, recorded */
    CHECK_EQ(configure(&w, tcb, vs), 0);
    /* One ASID per VSpace: a second is refused, from any pool. */
    CHECK_EQ(assign(&w, KW_ASID_POOL, vs), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(assign(&w, kw_asid_pool(&w), vs), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(vspace_at(&w, vs)->asid, asid);
    /* The ASID is a name, not the hardware's tag: two spaces, two names. */
    unsigned other = kw_vspace(&w);
    CHECK(vspace_at(&w, other)->asid != asid);
    kw_free(&w);
}

/* Every refusal of Assign, in the order of docs/objects.md, changes
 * nothing. */
static void test_assign_errors(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned vs = kw_retype(&w, CAP_VSPACE, 0, 1), empty = w.next_slot++;
    CHECK_EQ(assign(&w, KW_ASID_POOL, empty), BK_ERR_FAILED_LOOKUP);
    CHECK_EQ(kw_result(&w, 0), 1); /* the source (argument) failed */
    CHECK_EQ(assign(&w, KW_ASID_POOL, KW_CNODE), BK_ERR_INVALID_CAPABILITY);
    CHECK_EQ(assign(&w, KW_ASID_POOL, KW_ASID_POOL), BK_ERR_INVALID_CAPABILITY);
    CHECK_EQ(assign(&w, KW_ASID_POOL, KW_ROOT_VSPACE), BK_ERR_ILLEGAL_OPERATION); /* has one */
    /* The method of a pool on other caps, and a message too short. */
    CHECK_EQ(assign(&w, KW_CNODE, vs), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(assign(&w, KW_ASID_CONTROL, vs), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(kw_invoke(&w, KW_ASID_POOL, BK_LABEL_ASID_POOL_ASSIGN, 0, 0, 0, 0, 0),
             BK_ERR_TRUNCATED_MESSAGE);
    CHECK_EQ(kw_result(&w, 0), 1);
    CHECK_EQ(vspace_at(&w, vs)->asid, 0);
    /* Copies of a pool assign from the same entries; the pool is counted. */
    unsigned copy = kw_mint(&w, KW_ASID_POOL, CAP_RIGHT_READ, 0x5);
    CHECK_EQ(assign(&w, copy, vs), 0);
    CHECK_EQ(*object_refs(&w.slots[KW_ASID_POOL].cap), 2);
    kw_free(&w);
}

/* ---- MakePool -------------------------------------------------------------- */

static void test_make_pool_errors(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned page = kw_retype(&w, CAP_UNTYPED, 12, 1), big = kw_retype(&w, CAP_UNTYPED, 13, 1);
    unsigned used = kw_retype(&w, CAP_UNTYPED, 12, 1), dest = w.next_slot++;
    unsigned copy = kw_mint(&w, kw_retype(&w, CAP_UNTYPED, 12, 1), CAP_RIGHTS_ALL, 0);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&w.slots[used], CAP_ENDPOINT, 0, &w.slots[w.next_slot++], 1, &info),
             KERR_OK);
    CHECK_EQ(make_pool(&w, w.next_slot + 5, KW_CNODE, dest, W64), BK_ERR_FAILED_LOOKUP);
    CHECK_EQ(make_pool(&w, ep, KW_CNODE, dest, W64), BK_ERR_INVALID_CAPABILITY);
    CHECK_EQ(make_pool(&w, copy, KW_CNODE, dest, W64), BK_ERR_ILLEGAL_OPERATION);
    /* Device memory: an untyped cap of device memory in a free slot. */
    unsigned dev = w.next_slot++;
    cnode_boot_install(&w.slots[dev], cap_make_untyped(0xfe000000ull, 12, true));
    CHECK_EQ(make_pool(&w, dev, KW_CNODE, dest, W64), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(make_pool(&w, big, KW_CNODE, dest, W64), BK_ERR_RANGE);
    CHECK_EQ(kw_result(&w, 0), 12);
    CHECK_EQ(kw_result(&w, 1), 12);
    CHECK_EQ(make_pool(&w, used, KW_CNODE, dest, W64), BK_ERR_REVOKE_FIRST);
    CHECK_EQ(make_pool(&w, page, ep, dest, W64), BK_ERR_INVALID_CAPABILITY);
    CHECK_EQ(make_pool(&w, page, KW_CNODE, dest, 0), BK_ERR_RANGE);
    CHECK_EQ(make_pool(&w, page, KW_CNODE, dest, 65), BK_ERR_RANGE);
    CHECK_EQ(make_pool(&w, page, KW_CNODE, ep, W64), BK_ERR_DELETE_FIRST);
    CHECK(cap_is_null(&w.slots[dest].cap));
    CHECK(!cte_has_children(&w.slots[page]));
    /* ASIDControl is not copied (only moved), like the other controls. */
    CHECK_EQ(cnode_copy(&w.slots[KW_ASID_CONTROL], &w.slots[dest], CAP_RIGHTS_ALL, &info),
             KERR_ILLEGAL_OPERATION);
    /* Retype never makes a pool: only ASIDControl hands out ranges. */
    CHECK_EQ(untyped_retype(&w.slots[page], CAP_ASID_POOL, 0, &w.slots[dest], 1, &info),
             KERR_INVALID_ARGUMENT);
    /* It works: the page is the pool, and Retype finds it full. */
    CHECK_EQ(make_pool(&w, page, KW_CNODE, dest, W64), 0);
    CHECK_EQ(cap_type(&w.slots[dest].cap), CAP_ASID_POOL);
    CHECK(cte_first_child(&w.slots[page]) == &w.slots[dest]);
    CHECK_EQ(untyped_retype(&w.slots[page], CAP_ENDPOINT, 0, &w.slots[w.next_slot], 1, &info),
             KERR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(make_pool(&w, page, KW_CNODE, w.next_slot, W64), BK_ERR_REVOKE_FIRST);
    /* Deleting the pool gives the page back to Retype. */
    CHECK_EQ(delete_slot(&w, dest), 0);
    CHECK_EQ(untyped_retype(&w.slots[page], CAP_ENDPOINT, 0, &w.slots[dest], 1, &info), KERR_OK);
    kw_free(&w);
}

/* ---- Entries: full, reused --------------------------------------------------- */

static void test_pool_fills_then_reuses_freed_entries(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned pool = kw_asid_pool(&w);
    unsigned first = vspaces(&w, ASID_POOL_ENTRIES);
    for (unsigned i = 0; i < ASID_POOL_ENTRIES; i++)
        CHECK_EQ(assign(&w, pool, first + i), 0);
    unsigned extra = kw_retype(&w, CAP_VSPACE, 0, 1);
    CHECK_EQ(assign(&w, pool, extra), BK_ERR_DELETE_FIRST);
    CHECK_EQ(vspace_at(&w, extra)->asid, 0);
    CHECK_EQ(asid_pool_of_cap(&w.slots[pool].cap)->assigned, ASID_POOL_ENTRIES);
    /* A frame mapped in space 7, whose entry is then freed. */
    unsigned victim = first + 7, pt = kw_retype(&w, CAP_PAGE_TABLE, 0, 3);
    unsigned frame = kw_retype(&w, CAP_FRAME, 12, 1);
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(map_table(&w, pt + i, victim), 0);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_MAP, 4, victim, VA, BK_VM_READ, 0), 0);
    uint32_t old = vspace_at(&w, victim)->asid;
    CHECK_EQ(delete_slot(&w, victim), 0);
    CHECK(vspace_by_asid(old) == NULL);
    /* The entry goes to the next VSpace, under a new name (its generation). */
    CHECK_EQ(assign(&w, pool, extra), 0);
    uint32_t now = vspace_at(&w, extra)->asid;
    CHECK(now != old && (now & 0x1fffff) == (old & 0x1fffff));
    CHECK(vspace_by_asid(now) == vspace_at(&w, extra) && vspace_by_asid(old) == NULL);
    /* The stale frame cap finds nothing under its old name: unmapping and
     * deleting it is harmless, remapping it refused. */
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_REMAP, 1, BK_VM_READ, 0, 0, 0),
             BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(kw_invoke(&w, frame, BK_LABEL_FRAME_UNMAP, 0, 0, 0, 0, 0), 0);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* ---- Deleting a pool ----------------------------------------------------------- */

struct pooled {
    unsigned pool, first_space, spaces;
    unsigned tcbs[8];
};

/* `spaces` address spaces from a new pool; a running thread in each of
 * the first eight. */
static void pooled_spaces(struct kworld *w, struct pooled *p, unsigned spaces)
{
    p->pool = kw_asid_pool(w);
    p->spaces = spaces;
    p->first_space = vspaces(w, spaces);
    for (unsigned i = 0; i < spaces; i++)
        CHECK_EQ(assign(w, p->pool, p->first_space + i), 0);
    for (unsigned i = 0; i < 8; i++) {
        unsigned vs = p->first_space + i * (spaces / 8);
        unsigned tcb = kw_retype(w, CAP_TCB, 0, 1);
        kw_give_cpu(w, tcb);
        CHECK_EQ(configure(w, tcb, vs), 0);
        CHECK_EQ(kw_invoke(w, tcb, BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, 10, 0, 0), 0);
        CHECK_EQ(kw_invoke(w, tcb, BK_LABEL_TCB_WRITE_REGISTERS, 4, 1, KW_ENTRY, KW_STACK, 0), 0);
        p->tcbs[i] = tcb;
    }
}

/* Each of the pool's spaces is unusable now, for good, and its thread
 * stopped with no address space. */
static void check_revoked(struct kworld *w, const struct pooled *p)
{
    for (unsigned i = 0; i < p->spaces; i++) {
        struct vspace_object *vs = vspace_at(w, p->first_space + i);
        CHECK(vs->asid == 0 && vs->asid_revoked && vs->threads == NULL);
    }
    for (unsigned i = 0; i < 8; i++) {
        struct thread *t = kw_tcb(w, p->tcbs[i]);
        CHECK(t->vspace == NULL && t->state == THREAD_INACTIVE);
        CHECK_EQ(kw_invoke(w, p->tcbs[i], BK_LABEL_TCB_RESUME, 0, 0, 0, 0, 0),
                 BK_ERR_ILLEGAL_OPERATION);
    }
    unsigned vs = p->first_space, pt = kw_retype(w, CAP_PAGE_TABLE, 0, 1);
    CHECK_EQ(map_table(w, pt, vs), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(configure(w, p->tcbs[0], vs), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(assign(w, KW_ASID_POOL, vs), BK_ERR_ILLEGAL_OPERATION); /* never again */
}

static void test_deleting_a_pool_takes_entries_back_in_batches(void)
{
    struct kworld w;
    kw_init(&w);
    struct pooled p;
    pooled_spaces(&w, &p, 400);
    unsigned page = p.pool - 1; /* kw_asid_pool()'s untyped */
    const struct asid_pool *pool = asid_pool_of_cap(&w.slots[p.pool].cap);
    /* 400 entries and 8 threads at 64 steps a kernel entry: each entry
     * takes back at most 64, and the call restarts in between. */
    unsigned entries = 0, most = 0;
    for (;;) {
        vaddr_t pc = w.root->regs.pc;
        unsigned before = pool->assigned;
        uint64_t err = delete_slot(&w, p.pool);
        entries++;
        most = before - pool->assigned > most ? before - pool->assigned : most;
        CHECK_EQ(kw_invariants(&w), 0);
        if (w.root->regs.pc != pc - 4) {
            CHECK_EQ(err, 0);
            break;
        }
        w.root->regs.pc = pc;
    }
    printf("  a pool of 400 spaces (8 with a thread) went in %u kernel entries, "
           "at most %u entries in one\n", entries, most);
    CHECK(entries >= (400 + 8) / 64 && most <= 64);
    CHECK(cap_is_null(&w.slots[p.pool].cap));
    check_revoked(&w, &p);
    /* The page and the range are free again. */
    CHECK(!cte_has_children(&w.slots[page]));
    unsigned again = w.next_slot++;
    CHECK_EQ(make_pool(&w, page, KW_CNODE, again, W64), 0);
    CHECK(asid_pool_of_cap(&w.slots[again].cap)->range != 0);
    /* Deleting a revoked VSpace is an ordinary delete. */
    CHECK_EQ(delete_slot(&w, p.first_space), 0);
    kw_free(&w);
}

/* A deletion given up after one kernel entry; then the pool's spaces are
 * deleted by other means (each frees its own entry), then the pool's
 * untyped revoked: every entry goes once, the range comes back once. */
static void test_pool_deletion_given_up_half_way(void)
{
    struct kworld w;
    kw_init(&w);
    struct pooled p;
    pooled_spaces(&w, &p, 300);
    struct asid_pool *pool = asid_pool_of_cap(&w.slots[p.pool].cap);
    vaddr_t pc = w.root->regs.pc;
    (void)delete_slot(&w, p.pool); /* no reply yet: */
    CHECK_EQ(w.root->regs.pc, pc - 4); /* it would restart */
    w.root->regs.pc = pc;
    CHECK_EQ(cap_type(&w.slots[p.pool].cap), CAP_ZOMBIE);
    CHECK(cap_zombie_is_asid_pool(&w.slots[p.pool].cap));
    CHECK(pool->header.refs == 0 && pool->assigned > 0 && pool->assigned < 300);
    CHECK_EQ(kw_invariants(&w), 0);
    /* The spaces not reached yet still work; delete half of them. */
    unsigned last = p.first_space + 299;
    CHECK(vspace_at(&w, last)->asid != 0);
    for (unsigned i = 150; i < 300; i++)
        CHECK_EQ(delete_slot(&w, p.first_space + i), 0);
    CHECK_EQ(kw_invariants(&w), 0);
    /* The untyped of the pool: its revoke finishes the zombie. */
    uint64_t err;
    to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, p.pool - 1, &err);
    CHECK_EQ(err, 0);
    CHECK(cap_is_null(&w.slots[p.pool].cap));
    CHECK_EQ(vspace_at(&w, p.first_space)->asid, 0);
    CHECK(vspace_at(&w, p.first_space)->asid_revoked);
    /* Its page and range are free: a new pool in the same page takes a
     * range, and the table names no pool that is gone (the walk). */
    unsigned fresh = w.next_slot++;
    CHECK_EQ(make_pool(&w, p.pool - 1, KW_CNODE, fresh, W64), 0);
    CHECK_EQ(asid_pool_of_cap(&w.slots[fresh].cap)->assigned, 0);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* The pool and its spaces from one untyped, revoked together: whichever
 * goes first, nothing is left named. */
static void test_revoking_pool_and_spaces_together(void)
{
    for (int spaces_first = 0; spaces_first < 2; spaces_first++) {
        struct kworld w;
        kw_init(&w);
        unsigned sub = kw_retype(&w, CAP_UNTYPED, 20, 1), page = w.next_slot++;
        unsigned pool = w.next_slot++, vs = w.next_slot;
        struct kerror_info info = { 0 };
        if (spaces_first)
            w.next_slot += 8;
        CHECK_EQ(untyped_retype(&w.slots[sub], CAP_UNTYPED, 12, &w.slots[page], 1, &info),
                 KERR_OK);
        if (!spaces_first)
            w.next_slot += 8;
        CHECK_EQ(untyped_retype(&w.slots[sub], CAP_VSPACE, 0, &w.slots[vs], 8, &info), KERR_OK);
        CHECK_EQ(make_pool(&w, page, KW_CNODE, pool, W64), 0);
        for (unsigned i = 0; i < 8; i++)
            CHECK_EQ(assign(&w, pool, vs + i), 0);
        uint64_t err;
        to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, sub, &err);
        CHECK_EQ(err, 0);
        CHECK(cap_is_null(&w.slots[pool].cap) && cap_is_null(&w.slots[vs].cap));
        CHECK(!cte_has_children(&w.slots[sub]));
        kw_free(&w);
    }
}

/* ---- Bounded by memory ----------------------------------------------------------- */

/* More live address spaces than the old kernel table held (4,095), each
 * with its own ASID and a thread configured in it, from pools made on
 * demand: 64 MiB of memory, 5,000 spaces. */
static void test_more_spaces_than_the_old_table(void)
{
    enum { SPACES = 5000 };
    struct kworld w;
    kw_init_sized(&w, 26, 14);
    unsigned tcb = kw_retype(&w, CAP_TCB, 0, 1), pool = KW_ASID_POOL, made = 0;
    kw_give_cpu(&w, tcb);
    unsigned first = w.next_slot;
    for (unsigned i = 0; i < SPACES; i++) {
        unsigned vs = kw_retype(&w, CAP_VSPACE, 0, 1);
        uint64_t err = assign(&w, pool, vs);
        if (err == BK_ERR_DELETE_FIRST) {
            pool = kw_asid_pool(&w);
            made++;
            err = assign(&w, pool, vs);
        }
        CHECK_EQ(err, 0);
        CHECK_EQ(configure(&w, tcb, vs), 0); /* runnable in it */
    }
    CHECK(made >= SPACES / ASID_POOL_ENTRIES);
    /* Every name is distinct and names its own space. */
    for (unsigned s = first; s < w.next_slot; s++) {
        if (cap_type(&w.slots[s].cap) != CAP_VSPACE)
            continue;
        uint32_t asid = vspace_at(&w, s)->asid;
        CHECK(asid != 0 && vspace_by_asid(asid) == vspace_at(&w, s));
    }
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* The ranges are finite (BK_ASID_POOL_RANGES pools at once), and ASIDControl
 * says so once they are all taken; a deleted pool's range comes back. */
static void test_every_range_in_use(void)
{
    struct kworld w;
    kw_init_sized(&w, 25, 14);
    unsigned pools = 0, last = 0;
    for (;;) {
        unsigned page = kw_retype(&w, CAP_UNTYPED, 12, 1), pool = w.next_slot++;
        uint64_t err = make_pool(&w, page, KW_CNODE, pool, W64);
        if (err == BK_ERR_DELETE_FIRST)
            break;
        CHECK_EQ(err, 0);
        last = pool;
        pools++;
        if (pools > BK_ASID_POOL_RANGES)
            break;
    }
    CHECK(pools < BK_ASID_POOL_RANGES && pools > BK_ASID_POOL_RANGES - 16);
    unsigned page = w.next_slot - 2, spare = w.next_slot - 1;
    uint16_t range = asid_pool_of_cap(&w.slots[last].cap)->range;
    CHECK_EQ(delete_slot(&w, last), 0);
    CHECK_EQ(make_pool(&w, page, KW_CNODE, spare, W64), 0);
    CHECK_EQ(asid_pool_of_cap(&w.slots[spare].cap)->range, range);
    kw_free(&w);
}

TEST_MAIN(TEST(test_assign_makes_a_vspace_usable), TEST(test_assign_errors),
          TEST(test_make_pool_errors), TEST(test_pool_fills_then_reuses_freed_entries),
          TEST(test_deleting_a_pool_takes_entries_back_in_batches),
          TEST(test_pool_deletion_given_up_half_way),
          TEST(test_revoking_pool_and_spaces_together),
          TEST(test_more_spaces_than_the_old_table), TEST(test_every_range_in_use))
