/* Host tests that the derivation tree's work per kernel entry does not
 * grow with what a tenant controls (issue 10): Move and Delete of a cap
 * with thousands of children touch none of the children in between, and
 * Revoke of thousands of descendants (and the deletion of a large CNode)
 * finishes across many bounded calls, each leaving a consistent tree,
 * also when an interrupt pending after every step ends each call early
 * (issue 12). */
#include <stdlib.h>
#include <string.h>

#include "capworld.h"
#include "check.h"
#include "fake.h"
#include "cnode.h"
#include "object.h"
#include "revoke_all.h"
#include "untyped.h"

#define MANY 8000

static cap_t marker(void)
{
    return cap_make_object(CAP_DOMAIN, NULL, CAP_RIGHTS_ALL);
}

/* True if p's children, in order, are exactly kids[first .. last], with
 * consistent links (the accessors' view). */
static bool children_run(const struct cte *p, const struct cte *kids, int first, int last)
{
    const struct cte *c = cte_first_child(p), *prev = NULL;
    for (int i = first; i <= last; i++, prev = c, c = cte_next_sibling(c)) {
        if (c != &kids[i] || cte_prev_sibling(c) != prev || (i == first) != (c->parent == p))
            return false;
    }
    return c == NULL;
}

/* A server's cap s with MANY children spliced under it (a client's
 * copies), moved and deleted: the children between the first and the
 * last are not written at all, and the lists stay right. */
static void test_surgery_leaves_middle_children_alone(void)
{
    static struct cte kids[MANY];
    struct cte root = { 0 }, s = { 0 }, moved = { 0 }, client = { 0 };
    memset(kids, 0, sizeof(kids));
    cdt_install(&root, marker(), NULL);
    cdt_install(&s, marker(), &root);
    cdt_install(&client, marker(), &s);
    for (int i = MANY - 1; i >= 0; i--)
        cdt_install(&kids[i], marker(), &client);
    cdt_remove(&client); /* the client's copies move up under s */
    CHECK(children_run(&s, kids, 0, MANY - 1));
    struct cte middle = kids[MANY / 2];
    cdt_move(&s, &moved);
    CHECK(memcmp(&middle, &kids[MANY / 2], sizeof(middle)) == 0);
    CHECK(children_run(&moved, kids, 0, MANY - 1) && cte_parent(&moved) == &root);
    cdt_remove(&moved); /* and up again, under root */
    CHECK(memcmp(&middle, &kids[MANY / 2], sizeof(middle)) == 0);
    CHECK(children_run(&root, kids, 0, MANY - 1));
    CHECK(cte_parent(&kids[MANY - 1]) == &root && cdt_is_ancestor(&root, &kids[MANY / 2]));
    cdt_remove(&kids[MANY - 1]); /* the last: the first learns its new last */
    cdt_remove(&kids[0]);        /* the first: the next one takes the parent */
    CHECK(children_run(&root, kids, 1, MANY - 2));
    size_t walked = 0;
    for (struct cte *w = &root; w; w = cdt_walk_next(&root, w))
        walked++;
    CHECK_EQ(walked, MANY - 1);
}


static void make(struct world *w, enum cap_type type, unsigned size_arg, struct cte *dest)
{
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&w->boot[0], type, size_arg, dest, 1, &info), KERR_OK);
}

static void copy(struct cte *src, struct cte *dest)
{
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(src, dest, CAP_RIGHTS_ALL, &info), KERR_OK);
}

/* How many caps hang below `s`, by a walk (which also proves the links
 * lead somewhere sane). */
static size_t descendants(const struct cte *s)
{
    size_t n = 0;
    for (const struct cte *w = cdt_walk_next(s, s); w; w = cdt_walk_next(s, w))
        n++;
    return n;
}

/* MANY descendants, copies of copies in a bushy shape (each copy made
 * from one a few steps back), revoked one bounded batch per call: many
 * calls, fewer descendants after each, all gone at the end, the object's
 * count back to one. */
static void test_revoke_restarts_in_batches(void)
{
    struct world w;
    world_init(&w, 21, 14);
    struct cte *s = cnode_slots(&w.boot[1].cap);
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    for (int i = 1; i <= MANY; i++)
        copy(&s[(i - 1) / 3], &s[i]);
    CHECK_EQ(descendants(&s[0]), MANY);
    size_t left = MANY, calls = 1;
    bool shrinking = true;
    while (!cnode_revoke(&s[0])) {
        size_t now = descendants(&s[0]);
        shrinking &= now < left && now > 0;
        left = now;
        calls++;
    }
    printf("  %d descendants revoked in %zu calls\n", MANY, calls);
    CHECK(shrinking && calls >= MANY / 64 && calls <= MANY / 64 + 2);
    CHECK(!cte_has_children(&s[0]));
    CHECK_EQ(*object_refs(&s[0].cap), 1);
    CHECK(world_free(&w));
}

#define BIG_RADIX 12 /* 4096 slots */

/* Fills every slot of the CNode in `cn` but `skip` with a copy of `ep`. */
static void fill(struct cte *cn, struct cte *ep, size_t skip)
{
    struct cte *in = cnode_slots(&cn->cap);
    for (size_t i = 0; i < (size_t)1 << cap_cnode_radix(&cn->cap); i++) {
        if (i != skip)
            copy(ep, &in[i]);
    }
}

/* The final cap of a 4096-slot CNode, which holds the final cap of a
 * 1024-slot one, both full of endpoint copies, deleted a bounded batch per
 * call: meanwhile the slot holds a zombie that stays in the tree (so the
 * untyped cannot be reset under it) and refuses to move or be copied; at
 * the end every copy is gone and both CNodes are destroyed. */
static void test_cnode_delete_restarts(void)
{
    struct world w;
    world_init(&w, 21, 4);
    struct cte *s = cnode_slots(&w.boot[1].cap);
    struct kerror_info info = { 0 };
    uint64_t live = object_live_count(CAP_CNODE);
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    make(&w, CAP_CNODE, BIG_RADIX, &s[1]);
    make(&w, CAP_CNODE, 10, &cnode_slots(&s[1].cap)[7]);
    fill(&cnode_slots(&s[1].cap)[7], &s[0], ~(size_t)0);
    fill(&s[1], &s[0], 7);
    CHECK_EQ(*object_refs(&s[0].cap), 1 + 4095 + 1024);
    size_t calls = 1;
    bool zombie_ok = true;
    while (!cnode_delete_bounded(&s[1])) {
        calls++;
        zombie_ok &= cap_type(&s[1].cap) == CAP_ZOMBIE && cte_parent(&s[1]) == &w.boot[0];
        zombie_ok &= cnode_move(&s[1], &s[2], &info) == KERR_ILLEGAL_OPERATION;
        zombie_ok &= cnode_copy(&s[1], &s[2], CAP_RIGHTS_ALL, &info) == KERR_ILLEGAL_OPERATION;
    }
    printf("  a CNode of 4096 slots (and one of 1024 in it) deleted in %zu calls\n", calls);
    CHECK(zombie_ok && calls >= (4096 + 1024) / 64);
    CHECK(cap_is_null(&s[1].cap) && !cte_parent(&s[1]) && !cte_has_children(&s[0]));
    CHECK_EQ(*object_refs(&s[0].cap), 1);
    CHECK_EQ(object_live_count(CAP_CNODE), live);
    CHECK(world_free(&w));
}

/* Caps deleted so far, for the bound per kernel entry: every cap these
 * tests delete is a copy of one endpoint or the final cap of a CNode, so
 * the endpoint's count and the live CNodes tell how many went. */
struct tally {
    const cap_t *ep;
    uint64_t ep_refs, cnodes;
};

static struct tally tally_now(const cap_t *ep)
{
    return (struct tally){ ep, *object_refs(ep), object_live_count(CAP_CNODE) };
}

static uint64_t deleted_since(const struct tally *t)
{
    return t->ep_refs - *object_refs(t->ep) + t->cnodes - object_live_count(CAP_CNODE);
}

/* One batch is 64 steps (kernel/cnode.c), each deleting at most one cap;
 * the final cap that starts a delete is one more. */
#define MAX_PER_ENTRY 65

/* revoke_all() that also finds the most caps one call (one kernel entry
 * of a restarted Revoke) deleted. Returns the number of calls. */
static unsigned revoke_counting(struct cte *slot, const cap_t *ep, uint64_t *max_per_call)
{
    unsigned calls = 0;
    bool done;
    *max_per_call = 0;
    do {
        struct tally t = tally_now(ep);
        done = cnode_revoke(slot);
        uint64_t gone = deleted_since(&t);
        *max_per_call = gone > *max_per_call ? gone : *max_per_call;
        calls++;
    } while (!done);
    return calls;
}

/* Revoking the untyped of a 4096-slot CNode that holds the only cap to
 * itself: bounded batches too, its own slot emptied last. */
static void test_revoke_of_self_holding_cnode(void)
{
    struct world w;
    world_init(&w, 21, 4);
    struct cte *s = cnode_slots(&w.boot[1].cap);
    struct kerror_info info = { 0 };
    uint64_t live = object_live_count(CAP_CNODE);
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    make(&w, CAP_UNTYPED, 19, &s[2]);
    CHECK_EQ(untyped_retype(&s[2], CAP_CNODE, BIG_RADIX, &s[3], 1, &info), KERR_OK);
    fill(&s[3], &s[0], 9);
    CHECK_EQ(cnode_move(&s[3], &cnode_slots(&s[3].cap)[9], &info), KERR_OK);
    uint64_t max;
    unsigned calls = revoke_counting(&s[2], &s[0].cap, &max);
    printf("  revoked a self-holding CNode of 4096 slots in %u calls, at most %llu caps in one\n",
           calls, (unsigned long long)max);
    CHECK(calls >= 4096 / 64 && max <= MAX_PER_ENTRY);
    CHECK_EQ(object_live_count(CAP_CNODE), live);
    CHECK_EQ(*object_refs(&s[0].cap), 1);
    CHECK_EQ(cap_untyped_free_index(&s[2].cap), 0);
    CHECK(world_free(&w));
}

/* `n` CNodes of 4096 slots full of endpoint copies, each holding the only
 * cap to the next and the last the only cap to the first (the first also
 * the only cap to a CNode of 1024 slots), so no lookup reaches any of
 * them: revoking their untyped frees them all, no call deleting more than
 * a batch, and the untyped's memory can be retyped again. */
static void revoke_cycle_of(unsigned n)
{
    struct world w;
    world_init(&w, 22, 4);
    struct cte *s = cnode_slots(&w.boot[1].cap);
    struct kerror_info info = { 0 };
    uint64_t live = object_live_count(CAP_CNODE);
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    make(&w, CAP_UNTYPED, 21, &s[1]);
    for (unsigned i = 0; i < n; i++)
        CHECK_EQ(untyped_retype(&s[1], CAP_CNODE, BIG_RADIX, &s[4 + i], 1, &info), KERR_OK);
    struct cte *in[3];
    for (unsigned i = 0; i < n; i++) {
        fill(&s[4 + i], &s[0], 5 + i);
        in[i] = cnode_slots(&s[4 + i].cap);
    }
    cnode_delete(&in[0][2]);
    CHECK_EQ(untyped_retype(&s[1], CAP_CNODE, 10, &in[0][2], 1, &info), KERR_OK);
    fill(&in[0][2], &s[0], ~(size_t)0);
    for (unsigned i = 0; i < n; i++) /* CNode i holds the cap to CNode i + 1, in slot 5 + i */
        CHECK_EQ(cnode_move(&s[4 + (i + 1) % n], &in[i][5 + i], &info), KERR_OK);
    CHECK_EQ(object_live_count(CAP_CNODE), live + n + 1);
    uint64_t max;
    unsigned calls = revoke_counting(&s[1], &s[0].cap, &max);
    printf("  revoked %u CNodes holding each other's only caps in %u calls, at most %llu caps "
           "in one\n", n, calls, (unsigned long long)max);
    CHECK(calls >= (n * 4096 + 1024) / 64 && max <= MAX_PER_ENTRY);
    CHECK_EQ(object_live_count(CAP_CNODE), live);
    CHECK_EQ(*object_refs(&s[0].cap), 1);
    CHECK_EQ(cap_untyped_free_index(&s[1].cap), 0);
    CHECK_EQ(untyped_retype(&s[1], CAP_CNODE, 15, &s[4], 1, &info), KERR_OK); /* all of it */
    CHECK(world_free(&w));
}

static void test_revoke_of_two_cnodes_holding_each_other(void)
{
    revoke_cycle_of(2);
}

static void test_revoke_of_three_cnodes_in_a_ring(void)
{
    revoke_cycle_of(3);
}

/* A Delete interrupted halfway leaves a zombie in a slot of CNode P;
 * then P's own final cap goes. Deleted in bounded steps, P's emptying
 * takes the zombie's unfinished work over; so does cnode_delete(), which
 * runs the same steps to the end. */
static void test_interrupted_delete_inside_dying_cnode(void)
{
    for (int at_once = 0; at_once < 2; at_once++) {
        struct world w;
        world_init(&w, 21, 4);
        struct cte *s = cnode_slots(&w.boot[1].cap);
        uint64_t live = object_live_count(CAP_CNODE);
        make(&w, CAP_ENDPOINT, 0, &s[0]);
        make(&w, CAP_CNODE, 4, &s[1]);
        struct cte *p = cnode_slots(&s[1].cap);
        make(&w, CAP_CNODE, BIG_RADIX, &p[3]);
        fill(&p[3], &s[0], ~(size_t)0);
        fill(&s[1], &s[0], 3);
        CHECK(!cnode_delete_bounded(&p[3]) && cap_type(&p[3].cap) == CAP_ZOMBIE);
        if (at_once) {
            cnode_delete(&s[1]);
        } else {
            size_t calls = 1;
            while (!cnode_delete_bounded(&s[1]))
                calls++;
            CHECK(calls > 4096 / 64 - 2);
        }
        CHECK(cap_is_null(&s[1].cap) && cap_is_null(&p[3].cap));
        CHECK_EQ(*object_refs(&s[0].cap), 1);
        CHECK_EQ(object_live_count(CAP_CNODE), live);
        CHECK(world_free(&w));
    }
}

/* An interrupt pending all along (never taken here): each call stops
 * after its first step, and still makes one. A Revoke of 500 descendants
 * takes 500 calls of one deletion each; the Delete of a 4096-slot CNode
 * holding a 1024-slot one, both full of copies, a call per slot emptied
 * or zombie made or gone, none deleting more than two caps (the first:
 * the CNode its zombie stands for, and its first slot's cap). */
static void test_one_step_per_call_while_pending(void)
{
    struct world w;
    world_init(&w, 21, 14);
    struct cte *s = cnode_slots(&w.boot[1].cap);
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    for (int i = 1; i <= 500; i++)
        copy(&s[(i - 1) / 3], &s[i]);
    fake_pending = (struct fake_pending){ .every = 1 };
    size_t left = 500, calls = 1;
    bool one_each = true;
    while (!cnode_revoke(&s[0])) {
        size_t now = descendants(&s[0]);
        one_each &= now == left - 1;
        left = now;
        calls++;
    }
    CHECK(one_each && calls == 500 && !cte_has_children(&s[0]));
    make(&w, CAP_CNODE, BIG_RADIX, &s[1]);
    make(&w, CAP_CNODE, 10, &cnode_slots(&s[1].cap)[7]);
    fill(&cnode_slots(&s[1].cap)[7], &s[0], ~(size_t)0);
    fill(&s[1], &s[0], 7);
    uint64_t most = 0;
    calls = 0;
    bool done;
    do {
        struct tally t = tally_now(&s[0].cap);
        done = cnode_delete_bounded(&s[1]);
        uint64_t gone = deleted_since(&t);
        most = gone > most ? gone : most;
        calls++;
    } while (!done);
    fake_pending.every = 0;
    CHECK(calls >= 4096 + 1024 && calls <= 4096 + 1024 + 4 && most <= 2);
    CHECK_EQ(*object_refs(&s[0].cap), 1);
    CHECK(world_free(&w));
}

/* Revoke of untyped F, whose CNode C (its only cap in a slot outside)
 * holds the final caps of large CNodes made from another untyped B. Each
 * of those becomes a zombie stacked on C's, more than a batch to empty,
 * so the revoke restarts with C's zombie waiting in its own table, and
 * cuts it out of its chain (cnode.c, cut_from_chain()). The second time
 * that happens, the chain above it had its top inside C's table: C's
 * zombie must go back and finish it, or C's memory is freed (and F
 * retyped over it) with zombies still linked in the tree. The fuzzer
 * (tests/fuzz, seed 0x5eed2024 on riscv64) found it. */
static void test_revoke_cuts_a_zombie_twice(void)
{
    static const unsigned counts[] = { 1, 2, 3, 5 }, radices[] = { 7, 9 };
    for (size_t n = 0; n < ARRAY_SIZE(counts); n++) {
        for (size_t r = 0; r < ARRAY_SIZE(radices); r++) {
            struct world f, b;
            world_init(&f, 20, 4);
            world_init(&b, 20, 4);
            make(&f, CAP_CNODE, 3, &f.boot[2]);
            struct cte *c = cnode_slots(&f.boot[2].cap);
            struct kerror_info info = { 0 };
            CHECK_EQ(untyped_retype(&b.boot[0], CAP_CNODE, radices[r], &c[1], counts[n], &info),
                     KERR_OK);
            CHECK(revoke_all(&f.boot[0]) > 1);
            for (unsigned i = 0; i < 8; i++)
                CHECK(cap_is_null(&c[i].cap) && !c[i].parent && !c[i].next_sibling &&
                      !c[i].first_child);
            /* The first cut left the chain above C's zombie where it was:
             * in f.boot[2], outside C, B's to finish (cnode.c). */
            cnode_delete(&f.boot[2]);
            CHECK(cte_first_child(&b.boot[0]) == &b.boot[1] && !cte_next_sibling(&b.boot[1]));
            CHECK(world_free(&f));
            CHECK(world_free(&b));
        }
    }
}

TEST_MAIN(TEST(test_surgery_leaves_middle_children_alone),
          TEST(test_revoke_restarts_in_batches), TEST(test_cnode_delete_restarts),
          TEST(test_revoke_of_self_holding_cnode),
          TEST(test_revoke_of_two_cnodes_holding_each_other),
          TEST(test_revoke_of_three_cnodes_in_a_ring),
          TEST(test_interrupted_delete_inside_dying_cnode),
          TEST(test_one_step_per_call_while_pending),
          TEST(test_revoke_cuts_a_zombie_twice))
