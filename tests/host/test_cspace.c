/* Host tests of CSpace lookup and the CNode slot operations (kernel/cnode.c):
 * copy, mint, move and mutate and their rules. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "revoke_all.h"
#include "cnode.h"
#include "object.h"
#include "untyped.h"

/* A small world: host memory as one untyped region, and slots outside any
 * CNode (as boot code has them): boot[0] holds the untyped, boot[1] the
 * root CNode, the others are spare. */
struct world {
    void *mem;
    struct cte boot[4];
};

static void world_init(struct world *w, unsigned ut_bits, unsigned root_radix)
{
    size_t size = (size_t)1 << ut_bits;
    w->mem = aligned_alloc(size, size);
    memset(w->mem, 0xa5, size); /* retype must zero what it hands out */
    memset(w->boot, 0, sizeof(w->boot));
    cnode_boot_install(&w->boot[0], cap_make_untyped((paddr_t)(uintptr_t)w->mem, ut_bits, false));
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&w->boot[0], CAP_CNODE, root_radix, &w->boot[1], 1, &info), KERR_OK);
}

static void world_free(struct world *w)
{
    revoke_all(&w->boot[0]);
    free(w->mem);
}

/* Slot i of the root CNode. */
static struct cte *root_slot(struct world *w, size_t i)
{
    return cnode_slots(&w->boot[1].cap) + i;
}

/* Retypes one object of `type` from the world's untyped into `dest`. */
static void make(struct world *w, enum cap_type type, unsigned size_arg, struct cte *dest)
{
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&w->boot[0], type, size_arg, dest, 1, &info), KERR_OK);
}

static struct lookup_fault lookup_fails(const cap_t *root, cptr_t cptr, unsigned depth)
{
    struct lookup_fault f = { 0 };
    struct cte *slot = NULL;
    CHECK_EQ(cspace_lookup_slot(root, cptr, depth, &slot, &f), KERR_FAILED_LOOKUP);
    CHECK(slot == NULL);
    return f;
}

static struct cte *lookup_ok(const cap_t *root, cptr_t cptr, unsigned depth)
{
    struct lookup_fault f = { 0 };
    struct cte *slot = NULL;
    CHECK_EQ(cspace_lookup_slot(root, cptr, depth, &slot, &f), KERR_OK);
    return slot;
}

/* ---- Lookup -------------------------------------------------------------- */

static void test_lookup_one_level(void)
{
    struct world w;
    world_init(&w, 16, 8);
    const cap_t *root = &w.boot[1].cap;
    CHECK(lookup_ok(root, 5, 8) == root_slot(&w, 5));
    CHECK(lookup_ok(root, 0x7ff, 8) == root_slot(&w, 0xff)); /* bits above depth ignored */

    /* Depth 64 through one level needs a guard covering the other 56 bits. */
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_mint(&w.boot[1], &w.boot[2], CAP_RIGHTS_ALL, cnode_guard_data(0x12, 56),
                        &info), KERR_OK);
    CHECK(lookup_ok(&w.boot[2].cap, 0x12ull << 8 | 5, 64) == root_slot(&w, 5));
    struct lookup_fault f = lookup_fails(&w.boot[2].cap, 0x13ull << 8 | 5, 64);
    CHECK_EQ(f.kind, LOOKUP_FAULT_GUARD_MISMATCH);
    CHECK_EQ(f.bits_left, 64);
    CHECK_EQ(f.guard_size, 56);
    CHECK_EQ(f.guard_found, 0x13);
    CHECK_EQ(f.guard_expected, 0x12);
    world_free(&w);
}

static void test_lookup_two_levels_with_guards(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct kerror_info info = { 0 };
    /* Root cap with guard 0xA in 4 bits: 8 bits per root level. */
    CHECK_EQ(cnode_mint(&w.boot[1], &w.boot[2], CAP_RIGHTS_ALL, cnode_guard_data(0xa, 4), &info),
             KERR_OK);
    const cap_t *root = &w.boot[2].cap;
    /* Level 2: radix 6 in root slot 2 (no guard), and a copy with guard 01
     * in slot 3 (8 bits); an endpoint in root slot 5. */
    make(&w, CAP_CNODE, 6, root_slot(&w, 2));
    CHECK_EQ(cnode_mint(root_slot(&w, 2), root_slot(&w, 3), CAP_RIGHTS_ALL,
                        cnode_guard_data(1, 2), &info), KERR_OK);
    make(&w, CAP_ENDPOINT, 0, root_slot(&w, 5));
    struct cte *l2 = cnode_slots(&root_slot(&w, 3)->cap);

    CHECK(lookup_ok(root, 0xa3ull << 8 | 1 << 6 | 42, 16) == &l2[42]);
    CHECK(lookup_ok(root, 0xa3, 8) == root_slot(&w, 3)); /* the CNode cap's own slot */

    struct lookup_fault f = lookup_fails(root, 0xa3ull << 2 | 1, 10);
    CHECK_EQ(f.kind, LOOKUP_FAULT_DEPTH_MISMATCH); /* 2 bits left, level 2 needs 8 */
    CHECK_EQ(f.bits_left, 2);
    CHECK_EQ(f.bits_needed, 8);

    f = lookup_fails(root, 0xa3ull << 8 | 2 << 6 | 42, 16);
    CHECK_EQ(f.kind, LOOKUP_FAULT_GUARD_MISMATCH);
    CHECK_EQ(f.bits_left, 8);
    CHECK_EQ(f.guard_size, 2);
    CHECK_EQ(f.guard_found, 2);
    CHECK_EQ(f.guard_expected, 1);

    f = lookup_fails(root, 0xa5ull << 8 | 7, 16); /* the endpoint, 8 bits left */
    CHECK_EQ(f.kind, LOOKUP_FAULT_MISSING_CAPABILITY);
    CHECK_EQ(f.bits_left, 8);

    f = lookup_fails(root, 0xa2ull << 8 | 42 << 2 | 3, 16); /* radix 6 leaves 2 bits */
    CHECK_EQ(f.kind, LOOKUP_FAULT_MISSING_CAPABILITY);
    CHECK_EQ(f.bits_left, 2);

    f = lookup_fails(root, 0xb3ull << 8, 16); /* root guard */
    CHECK_EQ(f.kind, LOOKUP_FAULT_GUARD_MISMATCH);
    CHECK_EQ(f.bits_left, 16);
    CHECK_EQ(f.guard_found, 0xb);
    world_free(&w);
}

/* Root radix 3 + guard 5 bits, level 2 radix 5 + guard 3 bits, level 3
 * radix 8 + guard 40 bits: exactly 64 bits. */
static cptr_t three_level_cptr(uint64_t l3_guard, unsigned index)
{
    return 0x15ull << 59 | 1ull << 56 | 0x5ull << 53 | 7ull << 48 | l3_guard << 8 | index;
}

static void test_lookup_three_levels(void)
{
    struct world w;
    world_init(&w, 18, 3);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_mint(&w.boot[1], &w.boot[2], CAP_RIGHTS_ALL, cnode_guard_data(0x15, 5), &info),
             KERR_OK);
    const cap_t *root = &w.boot[2].cap;
    make(&w, CAP_CNODE, 5, &w.boot[3]);
    CHECK_EQ(cnode_mint(&w.boot[3], root_slot(&w, 1), CAP_RIGHTS_ALL, cnode_guard_data(5, 3),
                        &info), KERR_OK);
    struct cte *l2 = cnode_slots(&root_slot(&w, 1)->cap);
    make(&w, CAP_CNODE, 8, &l2[0]);
    CHECK_EQ(cnode_mint(&l2[0], &l2[7], CAP_RIGHTS_ALL, cnode_guard_data(0x123456789ull, 40),
                        &info), KERR_OK);
    struct cte *l3 = cnode_slots(&l2[7].cap);
    make(&w, CAP_ENDPOINT, 0, &l3[200]);

    CHECK(lookup_ok(root, three_level_cptr(0x123456789ull, 200), 64) == &l3[200]);
    struct cte *slot = NULL;
    struct lookup_fault f = { 0 };
    CHECK_EQ(cspace_lookup_cap(root, three_level_cptr(0x123456789ull, 200), &slot, &f), KERR_OK);
    CHECK(slot == &l3[200]);
    f = lookup_fails(root, three_level_cptr(0x123456788ull, 200), 64);
    CHECK_EQ(f.kind, LOOKUP_FAULT_GUARD_MISMATCH);
    CHECK_EQ(f.bits_left, 48);
    CHECK_EQ(f.guard_found, 0x123456788ull);
    f = lookup_fails(root, three_level_cptr(0x123456789ull, 200) >> 8, 56);
    CHECK_EQ(f.kind, LOOKUP_FAULT_DEPTH_MISMATCH);
    CHECK_EQ(f.bits_left, 40);
    CHECK_EQ(f.bits_needed, 48);

    /* An invoked cap may sit above the last level: the walk stops at the
     * first non-CNode cap. A slot lookup with depth 64 calls that an error. */
    make(&w, CAP_ENDPOINT, 0, root_slot(&w, 2));
    cptr_t early = 0x15ull << 59 | 2ull << 56 | 0xdeadbeef;
    CHECK_EQ(cspace_lookup_cap(root, early, &slot, &f), KERR_OK);
    CHECK(slot == root_slot(&w, 2));
    f = lookup_fails(root, early, 64);
    CHECK_EQ(f.kind, LOOKUP_FAULT_MISSING_CAPABILITY);
    CHECK_EQ(f.bits_left, 56);
    /* An empty slot is never a cap to invoke. */
    CHECK_EQ(cspace_lookup_cap(root, 0x15ull << 59 | 3ull << 56, &slot, &f), KERR_FAILED_LOOKUP);
    CHECK_EQ(f.kind, LOOKUP_FAULT_MISSING_CAPABILITY);
    world_free(&w);
}

static void test_lookup_invalid_root_and_depth(void)
{
    struct world w;
    world_init(&w, 16, 4);
    make(&w, CAP_ENDPOINT, 0, root_slot(&w, 0));
    cap_t null = cap_null();
    struct lookup_fault f = lookup_fails(&null, 0, 4);
    CHECK_EQ(f.kind, LOOKUP_FAULT_INVALID_ROOT);
    CHECK_EQ(f.bits_left, 4);
    f = lookup_fails(&root_slot(&w, 0)->cap, 0, 4);
    CHECK_EQ(f.kind, LOOKUP_FAULT_INVALID_ROOT);

    struct cte *slot = NULL;
    CHECK_EQ(cspace_lookup_slot(&w.boot[1].cap, 0, 0, &slot, &f), KERR_RANGE);
    CHECK_EQ(cspace_lookup_slot(&w.boot[1].cap, 0, 65, &slot, &f), KERR_RANGE);
    CHECK(slot == NULL);
    world_free(&w);
}

/* A CNode holding a cap to itself: each level consumes bits, so the walk
 * ends after at most 64 of them. */
static void test_lookup_through_self_loop(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(&w.boot[1], root_slot(&w, 1), CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK(lookup_ok(&w.boot[1].cap, 0x1111111111111112ull, 64) == root_slot(&w, 2));
    /* 15 levels through slot 1, then 2 bits where 4 are needed. */
    struct lookup_fault f = lookup_fails(&w.boot[1].cap, 0x111111111111111ull << 2, 62);
    CHECK_EQ(f.kind, LOOKUP_FAULT_DEPTH_MISMATCH);
    CHECK_EQ(f.bits_left, 2);
    world_free(&w);
}

/* A CSpace of more than 2^20 slots: a root of radix 2 holding a CNode of
 * radix 20 (64 MiB) and one of radix 12, every slot filled with a copy of
 * one endpoint cap, every one found by lookup, then all revoked. */
static void test_cspace_over_a_million_slots(void)
{
    struct world w;
    world_init(&w, 27, 2);
    /* Smaller objects first: they fit below the big one's alignment. */
    make(&w, CAP_CNODE, 12, root_slot(&w, 1));
    make(&w, CAP_ENDPOINT, 0, root_slot(&w, 2));
    make(&w, CAP_CNODE, 20, root_slot(&w, 0));
    struct cte *big = cnode_slots(&root_slot(&w, 0)->cap);
    struct cte *small = cnode_slots(&root_slot(&w, 1)->cap);
    struct cte *ep = root_slot(&w, 2);
    struct kerror_info info = { 0 };
    unsigned failures = 0;
    for (uint64_t i = 0; i < (1u << 20); i++)
        failures += cnode_copy(ep, &big[i], CAP_RIGHT_WRITE, &info) != KERR_OK;
    for (uint64_t i = 0; i < (1u << 12); i++)
        failures += cnode_copy(ep, &small[i], CAP_RIGHT_WRITE, &info) != KERR_OK;
    CHECK_EQ(failures, 0);
    CHECK_EQ(*object_refs(&ep->cap), 1 + (1u << 20) + (1u << 12));

    unsigned wrong = 0;
    for (uint64_t i = 0; i < (1u << 20); i++) {
        struct cte *s = lookup_ok(&w.boot[1].cap, i, 22);
        wrong += s != &big[i] || cap_object(&s->cap) != cap_object(&ep->cap);
    }
    for (uint64_t i = 0; i < (1u << 12); i++)
        wrong += lookup_ok(&w.boot[1].cap, 1u << 12 | i, 14) != &small[i];
    CHECK_EQ(wrong, 0);

    revoke_all(ep);
    CHECK_EQ(*object_refs(&ep->cap), 1);
    unsigned left = 0;
    for (uint64_t i = 0; i < (1u << 20); i++)
        left += !cap_is_null(&big[i].cap);
    CHECK_EQ(left, 0);
    world_free(&w);
}

/* ---- Copy and mint --------------------------------------------------------- */

static void test_copy_rights_only_shrink(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(&s[0], &s[1], CAP_RIGHT_READ | CAP_RIGHT_GRANT, &info), KERR_OK);
    CHECK_EQ(cap_rights(&s[1].cap), CAP_RIGHT_READ | CAP_RIGHT_GRANT);
    CHECK_EQ(cnode_copy(&s[1], &s[2], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cap_rights(&s[2].cap), CAP_RIGHT_READ | CAP_RIGHT_GRANT);
    CHECK_EQ(cnode_mint(&s[2], &s[3], CAP_RIGHT_WRITE, 0, &info), KERR_OK);
    CHECK_EQ(cap_rights(&s[3].cap), 0);
    CHECK(cte_parent(&s[1]) == &s[0] && cte_parent(&s[2]) == &s[1]);
    CHECK(cte_parent(&s[3]) == &s[2]);
    CHECK_EQ(*object_refs(&s[0].cap), 4);
    CHECK(cap_object(&s[3].cap) == cap_object(&s[0].cap));
    world_free(&w);
}

static void test_copy_errors_change_nothing(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    make(&w, CAP_NOTIFICATION, 0, &s[1]);
    struct cte before0 = s[0], before1 = s[1];
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(&s[5], &s[6], CAP_RIGHTS_ALL, &info), KERR_FAILED_LOOKUP);
    CHECK(info.lookup_was_source);
    CHECK_EQ(info.lookup.kind, LOOKUP_FAULT_MISSING_CAPABILITY);
    CHECK_EQ(cnode_copy(&s[0], &s[1], CAP_RIGHTS_ALL, &info), KERR_DELETE_FIRST);
    CHECK_EQ(cnode_copy(&s[0], &s[0], CAP_RIGHTS_ALL, &info), KERR_DELETE_FIRST);
    CHECK_EQ(cnode_mint(&s[0], &s[1], CAP_RIGHTS_ALL, 5, &info), KERR_DELETE_FIRST);
    CHECK(memcmp(&s[0], &before0, sizeof(before0)) == 0);
    CHECK(memcmp(&s[1], &before1, sizeof(before1)) == 0);
    CHECK(cap_is_null(&s[6].cap));
    CHECK_EQ(*object_refs(&s[0].cap), 1);
    world_free(&w);
}

static void test_copy_refuses_unique_caps(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    cnode_boot_install(&s[0], cap_make_object(CAP_IRQ_CONTROL, NULL, CAP_RIGHTS_ALL));
    cnode_boot_install(&s[1], cap_make_object(CAP_IOPORT_CONTROL, NULL, CAP_RIGHTS_ALL));
    struct kerror_info info = { 0 };
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(cnode_copy(&s[i], &s[8], CAP_RIGHTS_ALL, &info), KERR_ILLEGAL_OPERATION);
        CHECK_EQ(cnode_mint(&s[i], &s[8], CAP_RIGHTS_ALL, 1, &info), KERR_ILLEGAL_OPERATION);
    }
    CHECK(cap_is_null(&s[8].cap));
    /* ...but they can be moved. */
    CHECK_EQ(cnode_move(&s[0], &s[8], &info), KERR_OK);
    CHECK_EQ(cap_type(&s[8].cap), CAP_IRQ_CONTROL);
    for (int i = 1; i < 9; i++)
        cnode_delete(&s[i]);
    world_free(&w);
}

static void test_copy_of_frame_is_unmapped(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    make(&w, CAP_FRAME, 12, &s[0]);
    cap_frame_set_mapping(&s[0].cap, 0x400000, 7);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(&s[0], &s[1], CAP_RIGHT_READ, &info), KERR_OK);
    CHECK_EQ(cap_frame_mapped_vaddr(&s[1].cap), 0);
    CHECK_EQ(cap_frame_mapped_asid(&s[1].cap), 0);
    CHECK_EQ(cap_frame_base(&s[1].cap), cap_frame_base(&s[0].cap));
    CHECK_EQ(cap_rights(&s[1].cap), CAP_RIGHT_READ);
    CHECK_EQ(cap_frame_mapped_vaddr(&s[0].cap), 0x400000);
    CHECK_EQ(cap_frame_mapped_asid(&s[0].cap), 7);
    world_free(&w);
}

static void test_copy_of_untyped(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    make(&w, CAP_UNTYPED, 12, &s[0]);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(&s[0], &s[1], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK(cap_untyped_is_copy(&s[1].cap));
    CHECK(!cap_untyped_is_copy(&s[0].cap));
    CHECK_EQ(cap_untyped_base(&s[1].cap), cap_untyped_base(&s[0].cap));
    /* As in seL4: an untyped with children cannot be copied. */
    CHECK_EQ(cnode_copy(&s[0], &s[2], CAP_RIGHTS_ALL, &info), KERR_REVOKE_FIRST);
    CHECK(cap_is_null(&s[2].cap));
    world_free(&w);
}

static void test_mint_badge_rules(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_mint(&s[0], &s[1], CAP_RIGHTS_ALL, 0x42, &info), KERR_OK);
    CHECK_EQ(cap_badge(&s[1].cap), 0x42);
    CHECK_EQ(cap_badge(&s[0].cap), 0);
    /* A badge, once set, stays: no re-badging, not even to 0. */
    CHECK_EQ(cnode_mint(&s[1], &s[2], CAP_RIGHTS_ALL, 0x43, &info), KERR_ILLEGAL_OPERATION);
    CHECK_EQ(cnode_mint(&s[1], &s[2], CAP_RIGHTS_ALL, 0, &info), KERR_ILLEGAL_OPERATION);
    CHECK(cap_is_null(&s[2].cap));
    CHECK_EQ(*object_refs(&s[0].cap), 2);
    /* Copy keeps the badge and can still drop rights. */
    CHECK_EQ(cnode_copy(&s[1], &s[2], CAP_RIGHT_WRITE, &info), KERR_OK);
    CHECK_EQ(cap_badge(&s[2].cap), 0x42);
    CHECK_EQ(cap_rights(&s[2].cap), CAP_RIGHT_WRITE);
    /* Mint with badge 0 keeps the cap unbadged, so it can be badged later,
     * and rights never grow back. */
    CHECK_EQ(cnode_mint(&s[0], &s[3], CAP_RIGHT_READ, 0, &info), KERR_OK);
    CHECK_EQ(cap_badge(&s[3].cap), 0);
    CHECK_EQ(cnode_mint(&s[3], &s[4], CAP_RIGHTS_ALL, 7, &info), KERR_OK);
    CHECK_EQ(cap_badge(&s[4].cap), 7);
    CHECK_EQ(cap_rights(&s[4].cap), CAP_RIGHT_READ);

    make(&w, CAP_NOTIFICATION, 0, &s[8]);
    CHECK_EQ(cnode_mint(&s[8], &s[9], CAP_RIGHT_WRITE, 0x100, &info), KERR_OK);
    CHECK_EQ(cap_badge(&s[9].cap), 0x100);
    CHECK_EQ(cnode_mint(&s[9], &s[10], CAP_RIGHT_WRITE, 0x200, &info), KERR_ILLEGAL_OPERATION);

    /* Types without badge or guard ignore the data word, as in seL4. */
    make(&w, CAP_TCB, 0, &s[12]);
    CHECK_EQ(cnode_mint(&s[12], &s[13], CAP_RIGHTS_ALL, 123, &info), KERR_OK);
    CHECK(memcmp(&s[12].cap, &s[13].cap, sizeof(cap_t)) == 0);
    world_free(&w);
}

static void test_mint_cnode_guard(void)
{
    struct world w;
    world_init(&w, 16, 8);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_mint(&w.boot[1], &w.boot[2], CAP_RIGHTS_ALL, cnode_guard_data(0, 57), &info),
             KERR_RANGE);
    CHECK_EQ(info.range_min, 0);
    CHECK_EQ(info.range_max, 56);
    CHECK_EQ(cnode_mint(&w.boot[1], &w.boot[2], CAP_RIGHTS_ALL, cnode_guard_data(4, 2), &info),
             KERR_INVALID_ARGUMENT);
    CHECK(cap_is_null(&w.boot[2].cap));
    CHECK_EQ(*object_refs(&w.boot[1].cap), 1);
    CHECK_EQ(cnode_mint(&w.boot[1], &w.boot[2], CAP_RIGHTS_ALL, cnode_guard_data(3, 2), &info),
             KERR_OK);
    CHECK_EQ(cap_cnode_guard_size(&w.boot[2].cap), 2);
    CHECK_EQ(cap_cnode_guard(&w.boot[2].cap), 3);
    CHECK_EQ(cap_cnode_radix(&w.boot[2].cap), 8);
    CHECK_EQ(*object_refs(&w.boot[1].cap), 2);
    world_free(&w);
}

/* The flat bit the IPC fast path reads follows the guard and radix through
 * every way a CNode cap gets them: retype (no guard), and mint. */
static void test_cnode_flat_bit(void)
{
    struct world w;
    world_init(&w, 16, 8);
    struct kerror_info info = { 0 };
    CHECK(!cap_is_flat_cnode(&w.boot[1].cap)); /* radix 8, no guard: 8 bits resolved */
    CHECK_EQ(cnode_mint(&w.boot[1], &w.boot[2], CAP_RIGHTS_ALL, cnode_guard_data(0, 56), &info),
             KERR_OK);
    CHECK(cap_is_flat_cnode(&w.boot[2].cap));
    /* Lookups through it (the one-level shortcut) find what the walk finds. */
    CHECK(lookup_ok(&w.boot[2].cap, 5, 64) == root_slot(&w, 5));
    CHECK(lookup_ok(&w.boot[2].cap, 255, 64) == root_slot(&w, 255));
    struct lookup_fault f = lookup_fails(&w.boot[2].cap, 256, 64);
    CHECK_EQ(f.kind, LOOKUP_FAULT_GUARD_MISMATCH);
    CHECK_EQ(f.guard_found, 1);
    f = lookup_fails(&w.boot[2].cap, 5, 32);
    CHECK_EQ(f.kind, LOOKUP_FAULT_DEPTH_MISMATCH);
    CHECK_EQ(cnode_mint(&w.boot[2], &w.boot[3], CAP_RIGHTS_ALL, cnode_guard_data(1, 56), &info),
             KERR_OK);
    CHECK(!cap_is_flat_cnode(&w.boot[3].cap)); /* 64 bits, but a guard to match */
    cnode_delete(&w.boot[3]);
    CHECK_EQ(cnode_mint(&w.boot[2], &w.boot[3], CAP_RIGHTS_ALL, cnode_guard_data(0, 55), &info),
             KERR_OK);
    CHECK(!cap_is_flat_cnode(&w.boot[3].cap)); /* 63 bits */
    cnode_delete(&w.boot[3]);
    /* A flat cap for an endpoint's type bits is still not a CNode. */
    cap_t ep = cap_make_endpoint(NULL, 0, CAP_RIGHTS_ALL);
    ep.w[0] |= 1ull << CAP_CNODE_FLAT_BIT;
    CHECK(!cap_is_flat_cnode(&ep));
    world_free(&w);
}

/* ---- Move and mutate ------------------------------------------------------- */

static void test_move_carries_tree_position(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    struct kerror_info info = { 0 };
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    CHECK_EQ(cnode_copy(&s[0], &s[1], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cnode_copy(&s[0], &s[2], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cnode_copy(&s[0], &s[3], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cnode_copy(&s[2], &s[4], CAP_RIGHTS_ALL, &info), KERR_OK);
    /* Children of s0, newest first: s3, s2, s1. Move the middle one. */
    cap_t cap = s[2].cap;
    CHECK_EQ(cnode_move(&s[2], &s[9], &info), KERR_OK);
    CHECK(cap_is_null(&s[2].cap));
    CHECK(!cte_parent(&s[2]) && !cte_first_child(&s[2]) && !cte_next_sibling(&s[2]));
    CHECK(memcmp(&s[9].cap, &cap, sizeof(cap)) == 0);
    CHECK(cte_parent(&s[9]) == &s[0]);
    CHECK(cte_next_sibling(&s[3]) == &s[9] && cte_prev_sibling(&s[1]) == &s[9]);
    CHECK(cte_first_child(&s[9]) == &s[4] && cte_parent(&s[4]) == &s[9]);
    CHECK_EQ(*object_refs(&s[0].cap), 5);
    /* The head of a child list, and a root. */
    CHECK_EQ(cnode_move(&s[3], &s[10], &info), KERR_OK);
    CHECK(cte_first_child(&s[0]) == &s[10]);
    CHECK_EQ(cnode_move(&w.boot[0], &w.boot[3], &info), KERR_OK);
    CHECK(cte_parent(&w.boot[1]) == &w.boot[3]);
    CHECK_EQ(cnode_move(&w.boot[3], &w.boot[0], &info), KERR_OK);
    world_free(&w);
}

static void test_move_errors_change_nothing(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    struct kerror_info info = { 0 };
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    make(&w, CAP_ENDPOINT, 0, &s[1]);
    struct cte before0 = s[0], before1 = s[1];
    CHECK_EQ(cnode_move(&s[0], &s[1], &info), KERR_DELETE_FIRST);
    CHECK_EQ(cnode_move(&s[0], &s[0], &info), KERR_DELETE_FIRST);
    CHECK_EQ(cnode_move(&s[5], &s[6], &info), KERR_FAILED_LOOKUP);
    CHECK(memcmp(&s[0], &before0, sizeof(before0)) == 0);
    CHECK(memcmp(&s[1], &before1, sizeof(before1)) == 0);
    world_free(&w);
}

static void test_mutate_rules(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    struct kerror_info info = { 0 };
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    CHECK_EQ(cnode_copy(&s[0], &s[1], CAP_RIGHT_WRITE, &info), KERR_OK);
    CHECK_EQ(cnode_mutate(&s[1], &s[2], 9, &info), KERR_OK);
    CHECK(cap_is_null(&s[1].cap));
    CHECK_EQ(cap_badge(&s[2].cap), 9);
    CHECK_EQ(cap_rights(&s[2].cap), CAP_RIGHT_WRITE);
    CHECK(cte_parent(&s[2]) == &s[0]);
    CHECK_EQ(*object_refs(&s[0].cap), 2);
    struct cte before = s[2];
    CHECK_EQ(cnode_mutate(&s[2], &s[3], 10, &info), KERR_ILLEGAL_OPERATION);
    CHECK(memcmp(&s[2], &before, sizeof(before)) == 0);
    CHECK(cap_is_null(&s[3].cap));

    make(&w, CAP_CNODE, 2, &s[4]);
    CHECK_EQ(cnode_mutate(&s[4], &s[5], cnode_guard_data(5, 3), &info), KERR_OK);
    CHECK_EQ(cap_cnode_guard(&s[5].cap), 5);
    CHECK_EQ(cap_cnode_guard_size(&s[5].cap), 3);
    before = s[5];
    CHECK_EQ(cnode_mutate(&s[5], &s[6], cnode_guard_data(0, 63), &info), KERR_RANGE);
    CHECK_EQ(cnode_mutate(&s[5], &s[6], cnode_guard_data(8, 3), &info), KERR_INVALID_ARGUMENT);
    CHECK(memcmp(&s[5], &before, sizeof(before)) == 0);

    make(&w, CAP_TCB, 0, &s[7]);
    make(&w, CAP_FRAME, 12, &s[8]);
    CHECK_EQ(cnode_mutate(&s[7], &s[9], 0, &info), KERR_ILLEGAL_OPERATION);
    CHECK_EQ(cnode_mutate(&s[8], &s[9], 0, &info), KERR_ILLEGAL_OPERATION);
    CHECK(!cap_is_null(&s[7].cap) && !cap_is_null(&s[8].cap) && cap_is_null(&s[9].cap));

    /* A badge above existing copies would leave them unbadged below it;
     * without a badge, the same cap moves. */
    CHECK_EQ(cnode_copy(&s[0], &s[10], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cnode_copy(&s[10], &s[11], CAP_RIGHTS_ALL, &info), KERR_OK);
    before = s[10];
    CHECK_EQ(cnode_mutate(&s[10], &s[12], 3, &info), KERR_REVOKE_FIRST);
    CHECK(memcmp(&s[10], &before, sizeof(before)) == 0 && cap_is_null(&s[12].cap));
    CHECK_EQ(cnode_mutate(&s[10], &s[12], 0, &info), KERR_OK);
    CHECK(cte_parent(&s[11]) == &s[12]);
    world_free(&w);
}

/* How often the endpoint's badge hook ran, and with which badge
 * (fake_hooks.c records them). */
extern uint64_t fake_badges_retired, fake_last_badge_retired;

/* The badge hook runs when the last cap of a badge family goes (the caps
 * copied from one Mint) and the endpoint lives on; not for copies with
 * relatives left, not for unbadged caps, not for the final cap. */
static void test_badge_family_end(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    struct kerror_info info = { 0 };
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    fake_badges_retired = 0;
    CHECK_EQ(cnode_mint(&s[0], &s[1], CAP_RIGHTS_ALL, 7, &info), KERR_OK); /* master */
    CHECK_EQ(cnode_copy(&s[1], &s[2], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cnode_copy(&s[2], &s[3], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(cnode_copy(&s[0], &s[4], CAP_RIGHTS_ALL, &info), KERR_OK);   /* unbadged */
    CHECK_EQ(cnode_mint(&s[4], &s[5], CAP_RIGHTS_ALL, 8, &info), KERR_OK);
    cnode_delete(&s[2]); /* its copy moves up to the master */
    cnode_delete(&s[1]); /* the copy is left, now under s[0] */
    cnode_delete(&s[4]); /* unbadged */
    CHECK_EQ(fake_badges_retired, 0);
    cnode_delete(&s[3]); /* the last cap with badge 7 */
    CHECK_EQ(fake_badges_retired, 1);
    CHECK_EQ(fake_last_badge_retired, 7);
    revoke_all(&s[0]); /* deletes s[5], the last with badge 8 */
    CHECK_EQ(fake_badges_retired, 2);
    CHECK_EQ(fake_last_badge_retired, 8);
    CHECK_EQ(cnode_mint(&s[0], &s[6], CAP_RIGHTS_ALL, 9, &info), KERR_OK);
    cnode_delete(&s[0]);
    cnode_delete(&s[6]); /* the final cap: the endpoint is destroyed instead */
    CHECK_EQ(fake_badges_retired, 2);
    world_free(&w);
}

/* A family root with three children is deleted: they take its place side
 * by side under the unbadged cap, and keep the family alive for each
 * other. Deleting them one by one retires the badge only with the last,
 * whatever the order, and siblings outside the family do not count. */
static void test_badge_family_spliced_children(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct cte *s = root_slot(&w, 0);
    struct kerror_info info = { 0 };
    make(&w, CAP_ENDPOINT, 0, &s[0]);
    fake_badges_retired = 0;
    CHECK_EQ(cnode_copy(&s[0], &s[9], CAP_RIGHTS_ALL, &info), KERR_OK); /* unbadged sibling */
    CHECK_EQ(cnode_mint(&s[0], &s[1], CAP_RIGHTS_ALL, 7, &info), KERR_OK);
    CHECK_EQ(cnode_mint(&s[0], &s[8], CAP_RIGHTS_ALL, 5, &info), KERR_OK); /* other badge */
    for (int i = 2; i <= 4; i++)
        CHECK_EQ(cnode_copy(&s[1], &s[i], CAP_RIGHTS_ALL, &info), KERR_OK);
    cnode_delete(&s[1]); /* s0: [s8, s4, s3, s2, s9] */
    CHECK(cte_first_child(&s[0]) == &s[8] && cte_next_sibling(&s[8]) == &s[4]);
    CHECK(cte_next_sibling(&s[2]) == &s[9] && cte_parent(&s[2]) == &s[0]);
    static const int order[] = { 3, 2, 4 }; /* the middle, the end, the last */
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        CHECK_EQ(fake_badges_retired, 0);
        cnode_delete(&s[order[i]]);
    }
    CHECK_EQ(fake_badges_retired, 1);
    CHECK_EQ(fake_last_badge_retired, 7);
    /* An only child: its parent's badge keeps the family alive. */
    CHECK_EQ(cnode_copy(&s[8], &s[10], CAP_RIGHTS_ALL, &info), KERR_OK);
    cnode_delete(&s[10]);
    CHECK_EQ(fake_badges_retired, 1);
    cnode_delete(&s[8]);
    CHECK_EQ(fake_badges_retired, 2);
    CHECK_EQ(fake_last_badge_retired, 5);
    world_free(&w);
}

static void test_slot_range(void)
{
    struct world w;
    world_init(&w, 16, 4);
    struct kerror_info info = { 0 };
    struct cte *first = NULL;
    CHECK_EQ(cnode_slot_range(&w.boot[1].cap, 10, 6, &first, &info), KERR_OK);
    CHECK(first == root_slot(&w, 10));
    CHECK_EQ(cnode_slot_range(&w.boot[1].cap, 10, 7, &first, &info), KERR_RANGE);
    CHECK_EQ(info.range_min, 1);
    CHECK_EQ(info.range_max, 6);
    CHECK_EQ(cnode_slot_range(&w.boot[1].cap, 16, 1, &first, &info), KERR_RANGE);
    CHECK_EQ(info.range_max, 15);
    CHECK_EQ(cnode_slot_range(&w.boot[1].cap, 0, 0, &first, &info), KERR_RANGE);
    CHECK_EQ(cnode_slot_range(&w.boot[0].cap, 0, 1, &first, &info), KERR_INVALID_CAPABILITY);
    world_free(&w);
}

TEST_MAIN(TEST(test_lookup_one_level), TEST(test_lookup_two_levels_with_guards),
          TEST(test_lookup_three_levels), TEST(test_lookup_invalid_root_and_depth),
          TEST(test_lookup_through_self_loop), TEST(test_cspace_over_a_million_slots),
          TEST(test_copy_rights_only_shrink), TEST(test_copy_errors_change_nothing),
          TEST(test_copy_refuses_unique_caps), TEST(test_copy_of_frame_is_unmapped),
          TEST(test_copy_of_untyped), TEST(test_mint_badge_rules), TEST(test_mint_cnode_guard),
          TEST(test_cnode_flat_bit), TEST(test_badge_family_spliced_children),
          TEST(test_move_carries_tree_position), TEST(test_move_errors_change_nothing),
          TEST(test_mutate_rules), TEST(test_badge_family_end), TEST(test_slot_range))
