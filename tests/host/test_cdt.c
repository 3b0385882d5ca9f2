/* Host tests of the capability derivation tree (kernel/cdt.c) and of what
 * rides on it in kernel/cnode.c and kernel/object.c: delete, revoke, the
 * final cap, CNode destruction; then a long randomized run after each step
 * of which every invariant is checked. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capworld.h"
#include "check.h"
#include "revoke_all.h"
#include "cnode.h"
#include "object.h"
#include "untyped.h"

/* ---- The tree alone -------------------------------------------------------- */

/* Any cap will do for link surgery; this one names no object. */
static cap_t marker(void)
{
    return cap_make_object(CAP_DOMAIN, NULL, CAP_RIGHTS_ALL);
}

/* Makes kids[0..n) the children of p, in that order. */
static void add_children(struct cte *p, struct cte *const *kids, size_t n)
{
    while (n--)
        cdt_install(kids[n], marker(), p);
}

/* True if p's child list is exactly want[0..n), with consistent links. */
static bool children_are(const struct cte *p, struct cte *const *want, size_t n)
{
    const struct cte *prev = NULL, *c = cte_first_child(p);
    for (size_t i = 0; i < n; i++, prev = c, c = cte_next_sibling(c)) {
        if (c != want[i] || cte_parent(c) != p || cte_prev_sibling(c) != prev)
            return false;
    }
    return c == NULL;
}

static bool unlinked(const struct cte *s)
{
    return !cte_parent(s) && !cte_first_child(s) && !cte_next_sibling(s) &&
           !cte_prev_sibling(s);
}

static void test_remove_splices_children_in_order(void)
{
    struct cte t[16] = { 0 };
    cdt_install(&t[0], marker(), NULL);
    add_children(&t[0], (struct cte *[]){ &t[1], &t[2], &t[3] }, 3);
    add_children(&t[2], (struct cte *[]){ &t[4], &t[5], &t[6] }, 3);
    cdt_remove(&t[2]); /* in the middle */
    CHECK(children_are(&t[0], (struct cte *[]){ &t[1], &t[4], &t[5], &t[6], &t[3] }, 5));
    CHECK(unlinked(&t[2]));
    add_children(&t[1], (struct cte *[]){ &t[7], &t[8] }, 2);
    cdt_remove(&t[1]); /* the head */
    add_children(&t[3], (struct cte *[]){ &t[9] }, 1);
    cdt_remove(&t[3]); /* the tail */
    CHECK(children_are(&t[0],
                       (struct cte *[]){ &t[7], &t[8], &t[4], &t[5], &t[6], &t[9] }, 6));
    cdt_remove(&t[5]); /* a leaf */
    struct cte *left[] = { &t[7], &t[8], &t[4], &t[6], &t[9] };
    CHECK(children_are(&t[0], left, 5));
    cdt_remove(&t[0]); /* a root: its children become roots */
    for (size_t i = 0; i < ARRAY_SIZE(left); i++)
        CHECK(unlinked(left[i]));
    CHECK(unlinked(&t[0]));
}

static void test_move_keeps_position_and_children(void)
{
    struct cte t[16] = { 0 };
    cdt_install(&t[0], marker(), NULL);
    add_children(&t[0], (struct cte *[]){ &t[1], &t[2], &t[3] }, 3);
    add_children(&t[2], (struct cte *[]){ &t[4], &t[5] }, 2);
    cdt_move(&t[2], &t[10]);
    CHECK(children_are(&t[0], (struct cte *[]){ &t[1], &t[10], &t[3] }, 3));
    CHECK(children_are(&t[10], (struct cte *[]){ &t[4], &t[5] }, 2));
    CHECK(unlinked(&t[2]));
    cdt_move(&t[1], &t[11]);
    CHECK(children_are(&t[0], (struct cte *[]){ &t[11], &t[10], &t[3] }, 3));
    cdt_move(&t[0], &t[12]);
    CHECK(children_are(&t[12], (struct cte *[]){ &t[11], &t[10], &t[3] }, 3));
    CHECK(!cte_parent(&t[12]) && unlinked(&t[0]));
}

static void test_walk_is_preorder_within_subtree(void)
{
    struct cte t[8] = { 0 };
    cdt_install(&t[0], marker(), NULL);
    add_children(&t[0], (struct cte *[]){ &t[1], &t[2] }, 2);
    add_children(&t[1], (struct cte *[]){ &t[3], &t[4] }, 2);
    add_children(&t[2], (struct cte *[]){ &t[5] }, 1);
    struct cte *order[] = { &t[0], &t[1], &t[3], &t[4], &t[2], &t[5] };
    size_t n = 0;
    for (struct cte *s = &t[0]; s; s = cdt_walk_next(&t[0], s))
        CHECK(n < ARRAY_SIZE(order) && order[n++] == s);
    CHECK_EQ(n, 6);
    n = 0;
    for (struct cte *s = &t[1]; s; s = cdt_walk_next(&t[1], s))
        n++;
    CHECK_EQ(n, 3); /* t1, t3, t4: never t1's sibling */
    CHECK(cdt_is_ancestor(&t[0], &t[5]) && cdt_is_ancestor(&t[2], &t[5]));
    CHECK(!cdt_is_ancestor(&t[1], &t[5]) && !cdt_is_ancestor(&t[5], &t[5]));
    CHECK(cdt_first_leaf(&t[0]) == &t[3] && cdt_first_leaf(&t[5]) == &t[5]);
}

/* ---- With objects ---------------------------------------------------------- */


static struct cte *root_slots(struct world *w)
{
    return cnode_slots(&w->boot[1].cap);
}

static void make(struct cte *ut, enum cap_type type, unsigned size_arg, struct cte *dest)
{
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(ut, type, size_arg, dest, 1, &info), KERR_OK);
}

static void copy(struct cte *src, struct cte *dest)
{
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(src, dest, CAP_RIGHTS_ALL, &info), KERR_OK);
}

/* Runs fn(arg) on a thread with a 64 KiB stack: a recursive walk over
 * thousands of levels would overflow it and crash the test. */
struct small_stack_call {
    void (*fn)(void *);
    void *arg;
};

static void *small_stack_entry(void *p)
{
    struct small_stack_call *call = p;
    call->fn(call->arg);
    return NULL;
}

static void run_on_small_stack(void (*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t thread;
    struct small_stack_call call = { fn, arg };
    CHECK_EQ(pthread_attr_init(&attr), 0);
    CHECK_EQ(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
    CHECK_EQ(pthread_create(&thread, &attr, small_stack_entry, &call), 0);
    CHECK_EQ(pthread_join(thread, NULL), 0);
    pthread_attr_destroy(&attr);
}

static void revoke_fn(void *slot)
{
    revoke_all(slot);
}

static void delete_fn(void *slot)
{
    cnode_delete(slot);
}

static void test_delete_moves_children_up(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slots(&w);
    make(&w.boot[0], CAP_ENDPOINT, 0, &s[0]);
    copy(&s[0], &s[1]);
    copy(&s[0], &s[2]);
    copy(&s[1], &s[3]);
    copy(&s[1], &s[4]); /* s0: [s2, s1: [s4, s3]] */
    cnode_delete(&s[1]);
    CHECK(cap_is_null(&s[1].cap) && unlinked(&s[1]));
    CHECK(children_are(&s[0], (struct cte *[]){ &s[2], &s[4], &s[3] }, 3));
    CHECK_EQ(*object_refs(&s[0].cap), 4);
    /* Deleting the original: the copies keep the object alive and now hang
     * off the untyped, where the original was. */
    uint64_t live = object_live_count(CAP_ENDPOINT);
    cnode_delete(&s[0]);
    CHECK(children_are(&w.boot[0], (struct cte *[]){ &s[2], &s[4], &s[3], &w.boot[1] }, 4));
    CHECK_EQ(*object_refs(&s[2].cap), 3);
    CHECK_EQ(object_live_count(CAP_ENDPOINT), live);
    cnode_delete(&s[0]); /* empty: nothing happens */
    CHECK_EQ(object_live_count(CAP_ENDPOINT), live);
    world_free(&w);
}

static void test_final_cap_destroys_exactly_once(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slots(&w);
    uint64_t live = object_live_count(CAP_NOTIFICATION);
    make(&w.boot[0], CAP_NOTIFICATION, 0, &s[0]);
    copy(&s[0], &s[1]);
    copy(&s[1], &s[2]);
    copy(&s[0], &s[3]);
    CHECK_EQ(object_live_count(CAP_NOTIFICATION), live + 1);
    static const int order[] = { 1, 0, 3 };
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        cnode_delete(&s[order[i]]);
        CHECK_EQ(object_live_count(CAP_NOTIFICATION), live + 1);
    }
    CHECK_EQ(*object_refs(&s[2].cap), 1);
    cnode_delete(&s[2]);
    CHECK_EQ(object_live_count(CAP_NOTIFICATION), live);
    for (int i = 0; i < 4; i++)
        cnode_delete(&s[i]);
    CHECK_EQ(object_live_count(CAP_NOTIFICATION), live);
    world_free(&w);
}

/* The final CNode cap takes the caps inside with it; a copy elsewhere
 * keeps the CNode (and its contents) alive. */
static void test_cnode_destroy_deletes_contents(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slots(&w);
    make(&w.boot[0], CAP_CNODE, 3, &s[0]);
    make(&w.boot[0], CAP_ENDPOINT, 0, &s[1]);
    struct cte *inner = cnode_slots(&s[0].cap);
    for (int i = 0; i < 8; i++)
        copy(&s[1], &inner[i]);
    copy(&s[0], &s[2]);
    uint64_t live = object_live_count(CAP_CNODE);
    cnode_delete(&s[0]);
    CHECK_EQ(object_live_count(CAP_CNODE), live);
    CHECK_EQ(*object_refs(&s[1].cap), 9);
    cnode_delete(&s[2]);
    CHECK_EQ(object_live_count(CAP_CNODE), live - 1);
    CHECK_EQ(*object_refs(&s[1].cap), 1);
    CHECK(!cte_has_children(&s[1]));
    world_free(&w);
}

#define CHAIN 10000

/* Revoke of a chain of 10,000 copies, each made from the one before, on a
 * 64 KiB stack: proves revoke does not recurse. */
static void test_revoke_deep_chain(void)
{
    struct world w;
    world_init(&w, 21, 14); /* 16384 slots */
    struct cte *s = root_slots(&w);
    make(&w.boot[0], CAP_ENDPOINT, 0, &s[0]);
    struct kerror_info info = { 0 };
    unsigned failures = 0;
    for (int i = 0; i < CHAIN; i++)
        failures += cnode_mint(&s[i], &s[i + 1], CAP_RIGHTS_ALL, 0, &info) != KERR_OK;
    CHECK_EQ(failures, 0);
    CHECK(cdt_is_ancestor(&s[0], &s[CHAIN]));
    CHECK_EQ(*object_refs(&s[0].cap), CHAIN + 1);
    run_on_small_stack(revoke_fn, &s[0]);
    CHECK_EQ(*object_refs(&s[0].cap), 1);
    unsigned left = 0;
    for (int i = 1; i <= CHAIN; i++)
        left += !cap_is_null(&s[i].cap) || !unlinked(&s[i]);
    CHECK_EQ(left, 0);
    CHECK(!cte_has_children(&s[0]));

    /* Deleting the top of a deep chain moves one child up: no walk. */
    for (int i = 0; i < CHAIN; i++)
        copy(&s[i], &s[i + 1]);
    run_on_small_stack(delete_fn, &s[0]);
    CHECK(cte_parent(&s[1]) == &w.boot[0]);
    CHECK_EQ(*object_refs(&s[1].cap), CHAIN);
    run_on_small_stack(revoke_fn, &w.boot[0]);
    CHECK_EQ(cap_untyped_free_index(&w.boot[0].cap), 0);
    world_free(&w);
}

/* 10,000 CNodes, each holding the only cap to the next, the last one an
 * endpoint cap: deleting the first destroys them all, on a 64 KiB stack. */
static void test_cnode_destroy_cascades_without_recursion(void)
{
    struct world w;
    world_init(&w, 21, 2);
    struct cte *s = root_slots(&w);
    uint64_t live = object_live_count(CAP_CNODE);
    make(&w.boot[0], CAP_ENDPOINT, 0, &s[1]);
    make(&w.boot[0], CAP_CNODE, 1, &s[0]);
    struct cte *holder = &s[0];
    for (int i = 1; i < CHAIN; i++) {
        struct cte *inner = cnode_slots(&holder->cap);
        make(&w.boot[0], CAP_CNODE, 1, &inner[0]);
        holder = &inner[0];
    }
    copy(&s[1], &cnode_slots(&holder->cap)[1]);
    CHECK_EQ(object_live_count(CAP_CNODE), live + CHAIN);
    CHECK_EQ(*object_refs(&s[1].cap), 2);
    run_on_small_stack(delete_fn, &s[0]);
    CHECK_EQ(object_live_count(CAP_CNODE), live);
    CHECK_EQ(*object_refs(&s[1].cap), 1);
    /* Only the root CNode and the endpoint are left under the untyped. */
    CHECK(children_are(&w.boot[0], (struct cte *[]){ &s[1], &w.boot[1] }, 2));
    world_free(&w);
}

/* A CNode holding the only cap to itself is unreachable but alive; revoking
 * the untyped it came from destroys it. Likewise two CNodes that hold each
 * other's only caps. */
static void test_cnode_holding_its_own_cap(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slots(&w);
    uint64_t live = object_live_count(CAP_CNODE);
    make(&w.boot[0], CAP_UNTYPED, 14, &s[0]);
    make(&s[0], CAP_CNODE, 2, &s[1]);
    copy(&s[1], &cnode_slots(&s[1].cap)[1]);
    cnode_delete(&s[1]);
    CHECK_EQ(object_live_count(CAP_CNODE), live + 1);

    make(&s[0], CAP_CNODE, 2, &s[2]);
    make(&s[0], CAP_CNODE, 2, &s[3]);
    copy(&s[2], &cnode_slots(&s[3].cap)[0]);
    copy(&s[3], &cnode_slots(&s[2].cap)[0]);
    cnode_delete(&s[2]);
    cnode_delete(&s[3]);
    CHECK_EQ(object_live_count(CAP_CNODE), live + 3);

    revoke_all(&s[0]);
    CHECK_EQ(object_live_count(CAP_CNODE), live);
    CHECK_EQ(cap_untyped_free_index(&s[0].cap), 0);
    CHECK(!cte_has_children(&s[0]));
    world_free(&w);
}

/* Revoking an untyped whose own slot lies in a CNode made from it: the
 * revoke destroys that CNode, which empties the revoked slot itself.
 * Revoke stops there; what it had not reached yet moves up a level. */
static void test_revoke_of_slot_inside_destroyed_cnode(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slots(&w);
    struct kerror_info info = { 0 };
    make(&w.boot[0], CAP_UNTYPED, 14, &s[0]);
    make(&s[0], CAP_ENDPOINT, 0, &s[3]);
    make(&s[0], CAP_CNODE, 2, &s[1]); /* newest child: the first revoke deletes */
    struct cte *a = cnode_slots(&s[1].cap);
    CHECK_EQ(cnode_move(&s[0], &a[0], &info), KERR_OK);
    uint64_t live = object_live_count(CAP_CNODE);
    revoke_all(&a[0]);
    CHECK_EQ(object_live_count(CAP_CNODE), live - 1);
    CHECK(cap_is_null(&s[1].cap));
    CHECK_EQ(cap_type(&s[3].cap), CAP_ENDPOINT);
    CHECK(cte_parent(&s[3]) == &w.boot[0]);
    world_free(&w);
}

/* Revoke deletes a leaf whose parent lives in the CNode the leaf is the
 * final cap of: the cascade empties the parent's slot, so revoke must not
 * continue from there. Here: U1 (in CNode A) made A; revoking U1's parent
 * deletes A's cap first, which deletes U1, whose other child moves up. */
static void test_revoke_survives_cascade_deleting_parent(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slots(&w);
    struct kerror_info info = { 0 };
    make(&w.boot[0], CAP_UNTYPED, 15, &s[0]);
    make(&s[0], CAP_UNTYPED, 14, &s[2]);
    make(&s[2], CAP_ENDPOINT, 0, &s[3]);
    make(&s[2], CAP_CNODE, 2, &s[1]);
    struct cte *a = cnode_slots(&s[1].cap);
    CHECK_EQ(cnode_move(&s[2], &a[0], &info), KERR_OK);
    uint64_t live_cnodes = object_live_count(CAP_CNODE);
    uint64_t live_eps = object_live_count(CAP_ENDPOINT);
    run_on_small_stack(revoke_fn, &s[0]);
    CHECK(!cte_has_children(&s[0]));
    CHECK_EQ(cap_untyped_free_index(&s[0].cap), 0);
    CHECK(cap_is_null(&s[1].cap) && cap_is_null(&s[3].cap));
    CHECK_EQ(object_live_count(CAP_CNODE), live_cnodes - 1);
    CHECK_EQ(object_live_count(CAP_ENDPOINT), live_eps - 1);
    world_free(&w);
}

/* ---- Randomized operations against the invariants --------------------------- */

#define RANDOM_STEPS 100000u
#define RANDOM_SEED 0x5eedc0de2024ull
#define MAX_CAPS 4096

static struct random_world {
    struct world w;
    uint64_t rng;
    uint64_t base_live[CAP_TYPE_COUNT];
    /* Refreshed by check_invariants() after every step. */
    struct cte *caps[MAX_CAPS]; /* every cap, in a walk of the tree from boot[0] */
    size_t n_caps;
    struct cte *slots[MAX_CAPS]; /* every slot of every live CNode */
    size_t slot_room[MAX_CAPS];  /* slots from this one to the end of its CNode */
    size_t n_slots;
    unsigned failures; /* steps whose checks failed */
    unsigned ok_ops, failed_ops;
} rw;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rw.rng ^= rw.rng >> 12;
    rw.rng ^= rw.rng << 25;
    rw.rng ^= rw.rng >> 27;
    return rw.rng * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* The memory an object occupies, from its cap. */
static void object_range(const cap_t *c, uint64_t *start, uint64_t *len)
{
    switch (cap_type(c)) {
    case CAP_UNTYPED:
        *start = cap_untyped_base(c);
        *len = 1ull << cap_untyped_size_bits(c);
        return;
    case CAP_FRAME:
        *start = cap_frame_base(c);
        *len = 1ull << cap_frame_size_bits(c);
        return;
    case CAP_CNODE:
        *start = (uint64_t)(uintptr_t)cap_object(c);
        *len = 1ull << (cap_cnode_radix(c) + CNODE_SLOT_BITS);
        return;
    default: {
        unsigned bits = 0;
        struct kerror_info info;
        object_size_bits(cap_type(c), 0, &bits, &info);
        *start = (uint64_t)(uintptr_t)cap_object(c);
        *len = 1ull << bits;
    }
    }
}

static bool same_object(const cap_t *a, const cap_t *b)
{
    uint64_t sa, la, sb, lb;
    object_range(a, &sa, &la);
    object_range(b, &sb, &lb);
    return cap_type(a) == cap_type(b) && sa == sb && la == lb;
}

static bool is_boot_slot(const struct cte *s)
{
    return s >= rw.w.boot && s < rw.w.boot + ARRAY_SIZE(rw.w.boot);
}

/* Tree links around one cap: its children point back to it and their
 * sibling list is consistent, through the accessors and in the raw
 * fields (cdt.h): circular both ways, the parent in the first only. */
static bool links_ok(const struct cte *n)
{
    const struct cte *prev = NULL;
    for (const struct cte *c = cte_first_child(n); c; prev = c, c = cte_next_sibling(c)) {
        if (cte_parent(c) != n || cte_prev_sibling(c) != prev)
            return false;
        if (c->next_sibling->prev_sibling != c || c->prev_sibling->next_sibling != c ||
            (c->parent != NULL) != (c == n->first_child))
            return false;
    }
    if (prev && prev->next_sibling != n->first_child)
        return false;
    return !cte_parent(n) == (n == &rw.w.boot[0]);
}

/* How a cap relates to its parent: a copy of the same object, or an object
 * carved from the parent untyped below its watermark (copies of untyped
 * caps never retype, so they have only copies as children). */
static bool parent_ok(const struct cte *n)
{
    const struct cte *p = cte_parent(n);
    if (!p)
        return true;
    if (cap_type(&p->cap) != CAP_UNTYPED)
        return same_object(&p->cap, &n->cap);
    if (cap_type(&n->cap) == CAP_UNTYPED && cap_untyped_is_copy(&n->cap) &&
        same_object(&p->cap, &n->cap))
        return true;
    if (cap_untyped_is_copy(&p->cap))
        return false;
    uint64_t start, len, base = cap_untyped_base(&p->cap);
    object_range(&n->cap, &start, &len);
    return start >= base && start + len <= base + cap_untyped_free_index(&p->cap);
}

static bool cnode_cap_ok(const cap_t *c)
{
    unsigned size = cap_cnode_guard_size(c), radix = cap_cnode_radix(c);
    return radix >= CNODE_RADIX_MIN && radix <= CNODE_RADIX_MAX && size + radix <= 64 &&
           (cap_cnode_guard(c) >> size) == 0;
}

struct range {
    uint64_t start, len;
    const cap_t *cap;
};

static int range_cmp(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->len > y->len) - (x->len < y->len);
}

/* No two live objects among an original untyped's children overlap; equal
 * ranges are two caps to one object (copies moved up by a delete). */
static bool children_disjoint(const struct cte *ut)
{
    static struct range r[MAX_CAPS];
    size_t n = 0;
    for (const struct cte *c = cte_first_child(ut); c; c = cte_next_sibling(c)) {
        if (cap_type(&c->cap) == CAP_UNTYPED && cap_untyped_is_copy(&c->cap))
            continue;
        object_range(&c->cap, &r[n].start, &r[n].len);
        r[n++].cap = &c->cap;
    }
    qsort(r, n, sizeof(r[0]), range_cmp);
    for (size_t i = 1; i < n; i++) {
        bool same = r[i].start == r[i - 1].start && same_object(r[i].cap, r[i - 1].cap);
        if (!same && r[i].start < r[i - 1].start + r[i - 1].len)
            return false;
    }
    return true;
}

struct counted {
    void *obj;
    const cap_t *cap;
};

static int counted_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct counted *)a)->obj;
    uintptr_t y = (uintptr_t)((const struct counted *)b)->obj;
    return (x > y) - (x < y);
}

/* A table of slots: a live CNode's, or one a zombie is emptying (a dead
 * CNode's or TCB's, left by a delete that broke a cycle: kernel/cnode.c). */
struct live_cnode {
    struct cte *slots;
    unsigned radix;
    bool dead;
};

/* Counts caps per counted object and compares with the objects' counts and
 * with the number of live objects per type. Also collects the live CNodes. */
static bool counts_ok(struct live_cnode *cnodes, size_t *n_cnodes)
{
    static struct counted objs[MAX_CAPS];
    size_t n = 0;
    for (size_t i = 0; i < rw.n_caps; i++) {
        const cap_t *c = &rw.caps[i]->cap;
        if (object_is_counted(cap_type(c)))
            objs[n++] = (struct counted){ cap_object(c), c };
    }
    qsort(objs, n, sizeof(objs[0]), counted_cmp);
    uint64_t distinct[CAP_TYPE_COUNT] = { 0 };
    bool ok = true;
    *n_cnodes = 0;
    for (size_t i = 0, run; i < n; i += run) {
        for (run = 1; i + run < n && objs[i + run].obj == objs[i].obj; run++)
            ok &= cap_type(objs[i + run].cap) == cap_type(objs[i].cap);
        ok &= *object_refs(objs[i].cap) == run;
        distinct[cap_type(objs[i].cap)]++;
        if (cap_type(objs[i].cap) == CAP_CNODE)
            cnodes[(*n_cnodes)++] =
                (struct live_cnode){ objs[i].obj, cap_cnode_radix(objs[i].cap), false };
    }
    for (size_t i = 0; i < rw.n_caps; i++) {
        const cap_t *c = &rw.caps[i]->cap;
        if (cap_type(c) == CAP_ZOMBIE)
            cnodes[(*n_cnodes)++] = (struct live_cnode){ cap_object(c), cap_zombie_radix(c), true };
    }
    for (int t = 0; t < CAP_TYPE_COUNT; t++) {
        if (object_is_counted((enum cap_type)t))
            ok &= distinct[t] == object_live_count((enum cap_type)t) - rw.base_live[t];
    }
    return ok;
}

/* Every slot of every live CNode and zombie's table: empty slots have no
 * links, full ones are all in the tree, the spare words of slots other
 * than 0 (and 1, in a zombie's table) are 0. Also fills rw.slots with the
 * live CNodes' slots (no lookup reaches a zombie's). Caps outside these
 * tables must be in boot slots. */
static bool slots_ok(const struct live_cnode *cnodes, size_t n_cnodes)
{
    size_t full = 0;
    bool ok = true;
    rw.n_slots = 0;
    for (size_t i = 0; i < n_cnodes; i++) {
        struct cte *s = cnodes[i].slots;
        size_t count = (size_t)1 << cnodes[i].radix;
        for (size_t k = 0; k < count; k++) {
            if (!cnodes[i].dead) {
                rw.slot_room[rw.n_slots] = count - k;
                rw.slots[rw.n_slots++] = &s[k];
            }
            if (cap_is_null(&s[k].cap))
                ok &= unlinked(&s[k]);
            else
                full++;
            ok &= k == 0 || (cnodes[i].dead && k == 1) || s[k].spare.raw == 0;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(rw.w.boot); i++)
        full += !cap_is_null(&rw.w.boot[i].cap);
    return ok && full == rw.n_caps;
}

/* Checks everything; returns false (and reports the step) on a violation. */
static bool check_invariants(unsigned step)
{
    static struct live_cnode cnodes[MAX_CAPS];
    size_t n_cnodes = 0;
    bool tree = true, rel = true;
    rw.n_caps = 0;
    for (struct cte *s = &rw.w.boot[0]; s; s = cdt_walk_next(&rw.w.boot[0], s)) {
        if (rw.n_caps == MAX_CAPS || cap_is_null(&s->cap)) {
            tree = false;
            break;
        }
        rw.caps[rw.n_caps++] = s;
        tree &= links_ok(s);
        rel &= parent_ok(s);
        if (cap_type(&s->cap) == CAP_CNODE)
            rel &= cnode_cap_ok(&s->cap);
        if (cap_type(&s->cap) == CAP_UNTYPED && !cap_untyped_is_copy(&s->cap))
            rel &= children_disjoint(s);
    }
    bool counts = tree && counts_ok(cnodes, &n_cnodes);
    bool slots = counts && slots_ok(cnodes, n_cnodes);
    if (tree && rel && counts && slots)
        return true;
    printf("  step %u: invariants broken: tree %d, parents/ranges %d, counts %d, slots %d\n",
           step, tree, rel, counts, slots);
    return false;
}

/* A random cap other than the untyped in boot[0], or NULL. */
static struct cte *random_cap(void)
{
    if (rw.n_caps < 2)
        return NULL;
    return rw.caps[1 + rnd_below(rw.n_caps - 1)];
}

static struct cte *random_slot(void)
{
    return rw.n_slots ? rw.slots[rnd_below(rw.n_slots)] : NULL;
}

/* A destination slot: usually an empty one, if a few tries find one. */
static struct cte *random_dest(void)
{
    struct cte *s = random_slot();
    for (int tries = 0; s && tries < 3 && !cap_is_null(&s->cap); tries++)
        s = random_slot();
    return s;
}

/* A source slot: usually a cap, sometimes any slot (maybe empty). */
static struct cte *random_src(void)
{
    return rnd_below(8) ? random_cap() : random_slot();
}

static bool unchanged(const struct cte *s, const struct cte *before)
{
    return memcmp(s, before, sizeof(*before)) == 0;
}

static void note(kerror_t err)
{
    if (err)
        rw.failed_ops++;
    else
        rw.ok_ops++;
}

/* The error an operation filling dest from src must give first, if any. */
static kerror_t expected_slot_error(const struct cte *src, const struct cte *dest)
{
    if (cap_is_null(&src->cap))
        return KERR_FAILED_LOOKUP;
    return cap_is_null(&dest->cap) ? KERR_OK : KERR_DELETE_FIRST;
}

static uint64_t random_data(void)
{
    if (rnd_below(2))
        return rnd_below(4); /* a badge, often 0 */
    return cnode_guard_data(rnd_below(4), (unsigned)rnd_below(4));
}

static bool op_copy_or_mint(bool mint)
{
    struct cte *src = random_src(), *dest = random_dest();
    if (!src || !dest)
        return true;
    struct cte src_before = *src, dest_before = *dest;
    cap_rights_t rights = (cap_rights_t)rnd_below(16);
    struct kerror_info info = { 0 };
    kerror_t err = mint ? cnode_mint(src, dest, rights, random_data(), &info)
                        : cnode_copy(src, dest, rights, &info);
    note(err);
    kerror_t first = expected_slot_error(&src_before, &dest_before);
    if (err)
        return (!first || err == first) && unchanged(src, &src_before) &&
               unchanged(dest, &dest_before);
    return !first && cte_parent(dest) == src &&
           cap_rights(&dest->cap) == (cap_rights(&src->cap) & rights) &&
           same_object(&dest->cap, &src->cap);
}

static bool op_move_or_mutate(bool mutate)
{
    struct cte *src = random_src(), *dest = random_dest();
    if (!src || !dest)
        return true;
    struct cte src_before = *src, dest_before = *dest;
    struct kerror_info info = { 0 };
    kerror_t err = mutate ? cnode_mutate(src, dest, random_data(), &info)
                          : cnode_move(src, dest, &info);
    note(err);
    kerror_t first = expected_slot_error(&src_before, &dest_before);
    if (err)
        return (!first || err == first) && unchanged(src, &src_before) &&
               unchanged(dest, &dest_before);
    return !first && cap_is_null(&src->cap) && same_object(&dest->cap, &src_before.cap) &&
           (mutate || memcmp(&dest->cap, &src_before.cap, sizeof(cap_t)) == 0);
}

static bool op_retype(void)
{
    static const struct {
        enum cap_type type;
        unsigned min, max;
    } kinds[] = {
        { CAP_UNTYPED, 12, 14 }, { CAP_CNODE, 1, 3 },     { CAP_ENDPOINT, 0, 0 },
        { CAP_NOTIFICATION, 0, 0 }, { CAP_TCB, 0, 0 },    { CAP_FRAME, 12, 12 },
        { CAP_PAGE_TABLE, 0, 0 },
    };
    struct cte *ut = rnd_below(3) ? &rw.w.boot[0] : random_cap();
    if (!ut || !rw.n_slots)
        return true;
    size_t at = rnd_below(rw.n_slots);
    struct cte *where = rw.slots[at];
    size_t k = rnd_below(ARRAY_SIZE(kinds));
    unsigned size_arg = kinds[k].min + (unsigned)rnd_below(kinds[k].max - kinds[k].min + 1);
    size_t count = 1 + rnd_below(4);
    if (count > rw.slot_room[at]) /* the window must fit in one CNode */
        count = rw.slot_room[at];
    struct cte ut_before = *ut, dest_before[4];
    memcpy(dest_before, where, count * sizeof(struct cte));
    struct kerror_info info = { 0 };
    kerror_t err = untyped_retype(ut, kinds[k].type, size_arg, where, count, &info);
    note(err);
    if (err)
        return unchanged(ut, &ut_before) &&
               memcmp(where, dest_before, count * sizeof(struct cte)) == 0;
    bool ok = cap_untyped_free_index(&ut->cap) > 0;
    for (size_t j = 0; j < count; j++)
        ok &= cte_parent(&where[j]) == ut && cap_type(&where[j].cap) == kinds[k].type;
    return ok;
}

static bool op_delete(void)
{
    struct cte *s = rnd_below(4) ? random_cap() : random_slot();
    if (!s)
        return true;
    cnode_delete(s);
    return cap_is_null(&s->cap) && unlinked(s);
}

static bool op_revoke(void)
{
    struct cte *s = rnd_below(100) ? random_cap() : &rw.w.boot[0];
    if (!s)
        return true;
    bool was_untyped = cap_type(&s->cap) == CAP_UNTYPED;
    revoke_all(s);
    if (cap_is_null(&s->cap))
        return is_boot_slot(s) || !cte_has_children(s);
    return !cte_has_children(s) && (!was_untyped || cap_untyped_free_index(&s->cap) == 0);
}

static bool random_step(void)
{
    size_t r = rnd_below(100);
    if (r < 25)
        return op_retype();
    if (r < 43)
        return op_copy_or_mint(false);
    if (r < 61)
        return op_copy_or_mint(true);
    if (r < 73)
        return op_move_or_mutate(false);
    if (r < 79)
        return op_move_or_mutate(true);
    if (r < 93)
        return op_delete();
    return op_revoke();
}

/* The root CNode in boot[1] is gone (revoked with the untyped, or moved or
 * deleted): make a new one if there is room. */
static void ensure_root(void)
{
    if (!cap_is_null(&rw.w.boot[1].cap))
        return;
    struct kerror_info info = { 0 };
    untyped_retype(&rw.w.boot[0], CAP_CNODE, 5, &rw.w.boot[1], 1, &info);
}

static void test_random_operations_keep_invariants(void)
{
    memset(&rw, 0, sizeof(rw));
    rw.rng = RANDOM_SEED;
    printf("  seed 0x%llx, %u steps\n", (unsigned long long)RANDOM_SEED, RANDOM_STEPS);
    for (int t = 0; t < CAP_TYPE_COUNT; t++)
        rw.base_live[t] = object_live_count((enum cap_type)t);
    world_init(&rw.w, 18, 5);
    CHECK(check_invariants(0));
    for (unsigned step = 1; step <= RANDOM_STEPS && rw.failures < 5; step++) {
        if (!random_step()) {
            printf("  step %u: the operation's result was wrong\n", step);
            rw.failures++;
        }
        ensure_root();
        if (!check_invariants(step))
            rw.failures++;
        if (rw.n_slots == 0) { /* nothing left to work in: start over */
            revoke_all(&rw.w.boot[0]);
            ensure_root();
            rw.failures += !check_invariants(step);
        }
    }
    CHECK_EQ(rw.failures, 0);
    printf("  %u operations succeeded, %u failed as expected\n", rw.ok_ops, rw.failed_ops);
    CHECK(rw.ok_ops > RANDOM_STEPS / 4 && rw.failed_ops > RANDOM_STEPS / 20);
    world_free(&rw.w);
    for (int t = 0; t < CAP_TYPE_COUNT; t++)
        CHECK_EQ(object_live_count((enum cap_type)t), rw.base_live[t]);
}

TEST_MAIN(TEST(test_remove_splices_children_in_order),
          TEST(test_move_keeps_position_and_children),
          TEST(test_walk_is_preorder_within_subtree), TEST(test_delete_moves_children_up),
          TEST(test_final_cap_destroys_exactly_once), TEST(test_cnode_destroy_deletes_contents),
          TEST(test_revoke_deep_chain), TEST(test_cnode_destroy_cascades_without_recursion),
          TEST(test_cnode_holding_its_own_cap), TEST(test_revoke_of_slot_inside_destroyed_cnode),
          TEST(test_revoke_survives_cascade_deleting_parent),
          TEST(test_random_operations_keep_invariants))
