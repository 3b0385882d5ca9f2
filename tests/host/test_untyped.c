/* Host tests of untyped memory (kernel/untyped.c): retype, alignment,
 * exhaustion, reuse, device memory, splitting, zeroing a bounded piece
 * per call, and stopping after a step while an interrupt is pending. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake.h"
#include "revoke_all.h"
#include "cnode.h"
#include "object.h"
#include "untyped.h"

#define FILL 0xa5

/* Host memory as untyped memory: boot[0] holds the untyped cap, boot[1]
 * the root CNode (radix 6 unless asked: the first 4 KiB of the region). */
struct world {
    uint8_t *mem;
    paddr_t base;
    struct cte boot[4];
};

static void world_init_device(struct world *w, unsigned ut_bits, bool device,
                              unsigned root_radix)
{
    size_t size = (size_t)1 << ut_bits;
    w->mem = aligned_alloc(size, size);
    memset(w->mem, FILL, size);
    w->base = (paddr_t)(uintptr_t)w->mem;
    memset(w->boot, 0, sizeof(w->boot));
    cnode_boot_install(&w->boot[0], cap_make_untyped(w->base, ut_bits, device));
    struct kerror_info info = { 0 };
    if (root_radix)
        CHECK_EQ(untyped_retype(&w->boot[0], CAP_CNODE, root_radix, &w->boot[1], 1, &info),
                 KERR_OK);
}

static void world_init(struct world *w, unsigned ut_bits)
{
    world_init_device(w, ut_bits, false, 6);
}

static void world_free(struct world *w)
{
    revoke_all(&w->boot[0]);
    free(w->mem);
}

static struct cte *slots(struct world *w)
{
    return cnode_slots(&w->boot[1].cap);
}

static uint64_t watermark(const struct cte *ut)
{
    return cap_untyped_free_index(&ut->cap);
}

static bool all_bytes(const void *p, uint8_t value, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != value)
            return false;
    }
    return true;
}

static kerror_t retype(struct cte *ut, enum cap_type type, unsigned size_arg, struct cte *dest,
                       size_t count)
{
    struct kerror_info info = { 0 };
    return untyped_retype(ut, type, size_arg, dest, count, &info);
}

static void test_retype_endpoints(void)
{
    struct world w;
    world_init(&w, 16);
    struct cte *s = slots(&w);
    uint64_t live = object_live_count(CAP_ENDPOINT);
    CHECK_EQ(watermark(&w.boot[0]), 4096); /* the root CNode */
    CHECK_EQ(retype(&w.boot[0], CAP_ENDPOINT, 0, &s[3], 3), KERR_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(cap_type(&s[3 + i].cap), CAP_ENDPOINT);
        CHECK((uint8_t *)cap_object(&s[3 + i].cap) == w.mem + 4096 + 64 * i);
        CHECK_EQ(cap_rights(&s[3 + i].cap), CAP_RIGHTS_ALL);
        CHECK_EQ(cap_badge(&s[3 + i].cap), 0);
        CHECK(cte_parent(&s[3 + i]) == &w.boot[0]);
        CHECK_EQ(*object_refs(&s[3 + i].cap), 1);
    }
    /* Zeroed except the header (refs = 1); the bytes after untouched. */
    CHECK(all_bytes(w.mem + 4096 + 8, 0, 56));
    CHECK(all_bytes(w.mem + 4096 + 192, FILL, 64));
    CHECK_EQ(watermark(&w.boot[0]), 4096 + 192);
    CHECK_EQ(object_live_count(CAP_ENDPOINT), live + 3);
    world_free(&w);
    CHECK_EQ(object_live_count(CAP_ENDPOINT), live);
}

static void test_retype_every_type(void)
{
    struct world w;
    world_init(&w, 20);
    struct cte *s = slots(&w);
    static const struct {
        enum cap_type type;
        unsigned size_arg, bytes;
    } cases[] = {
        { CAP_UNTYPED, 12, 4096 },      { CAP_CNODE, 3, 512 },       { CAP_TCB, 0, 2048 },
        { CAP_ENDPOINT, 0, 64 },        { CAP_NOTIFICATION, 0, 64 }, { CAP_FRAME, 12, 4096 },
        { CAP_PAGE_TABLE, 0, 4096 },    { CAP_VSPACE, 0, 8192 },
        { CAP_FRAME, ARCH_LARGE_PAGE_BITS, 1u << ARCH_LARGE_PAGE_BITS },
    };
    CHECK_EQ(retype(&w.boot[0], CAP_FRAME, ARCH_LARGE_PAGE_BITS, &s[20], 1),
             KERR_NOT_ENOUGH_MEMORY); /* 2 MiB does not fit in 1 MiB */
    for (size_t i = 0; i + 1 < ARRAY_SIZE(cases); i++) {
        uint64_t before = watermark(&w.boot[0]);
        CHECK_EQ(retype(&w.boot[0], cases[i].type, cases[i].size_arg, &s[1 + i], 1), KERR_OK);
        CHECK_EQ(cap_type(&s[1 + i].cap), cases[i].type);
        CHECK_EQ(watermark(&w.boot[0]), ALIGN_UP(before, (uint64_t)cases[i].bytes) +
                                            cases[i].bytes);
    }
    CHECK_EQ(cap_cnode_radix(&s[2].cap), 3);
    CHECK_EQ(cap_frame_size_bits(&s[6].cap), 12);
    CHECK(!cap_frame_is_device(&s[6].cap));
    world_free(&w);
}

static void test_retype_aligns_each_object(void)
{
    struct world w;
    world_init(&w, 16);
    struct cte *s = slots(&w);
    CHECK_EQ(retype(&w.boot[0], CAP_ENDPOINT, 0, &s[1], 1), KERR_OK); /* [4096, 4160) */
    CHECK_EQ(retype(&w.boot[0], CAP_CNODE, 4, &s[2], 2), KERR_OK);   /* 1 KiB each */
    CHECK((uint8_t *)cap_object(&s[2].cap) == w.mem + 5120);
    CHECK((uint8_t *)cap_object(&s[3].cap) == w.mem + 6144);
    CHECK_EQ(retype(&w.boot[0], CAP_FRAME, 12, &s[4], 1), KERR_OK);
    CHECK_EQ(cap_frame_base(&s[4].cap), w.base + 8192);
    CHECK_EQ(watermark(&w.boot[0]), 12288);
    /* The gap [4160, 5120) stays unused until the untyped is empty. */
    CHECK(all_bytes(w.mem + 4160, FILL, 5120 - 4160));
    world_free(&w);
}

static void test_retype_exhaustion_reports_numbers(void)
{
    struct world w;
    world_init(&w, 14); /* 16 KiB, 4 KiB taken by the root CNode */
    struct cte *s = slots(&w);
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_ENDPOINT, 0, &s[1], 1, &info), KERR_OK);
    /* Watermark 4160: four frames need 16384 bytes; from 8192 to the end
     * there are 8192. */
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_FRAME, 12, &s[2], 4, &info),
             KERR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(info.mem_asked, 16384);
    CHECK_EQ(info.mem_left, 8192);
    CHECK_EQ(watermark(&w.boot[0]), 4160);
    for (int i = 2; i < 6; i++)
        CHECK(cap_is_null(&s[i].cap));
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_FRAME, 12, &s[2], 3, &info),
             KERR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(info.mem_asked, 12288);
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_FRAME, 12, &s[2], 2, &info), KERR_OK);
    CHECK_EQ(watermark(&w.boot[0]), 16384);
    /* Full: even the smallest object reports 0 bytes left. */
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_ENDPOINT, 0, &s[5], 1, &info),
             KERR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(info.mem_asked, 64);
    CHECK_EQ(info.mem_left, 0);
    /* An object larger than the whole untyped. */
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_UNTYPED, 47, &s[5], 1, &info),
             KERR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(info.mem_asked, 1ull << 47);
    world_free(&w);
}

static void test_reuse_after_revoke(void)
{
    struct world w;
    world_init_device(&w, 17, false, 9); /* 512 slots */
    struct cte *s = slots(&w);
    /* Fill a child untyped, revoke it, fill it again at the same place. */
    CHECK_EQ(retype(&w.boot[0], CAP_UNTYPED, 14, &s[1], 1), KERR_OK);
    uint64_t live = object_live_count(CAP_NOTIFICATION);
    CHECK_EQ(retype(&s[1], CAP_NOTIFICATION, 0, &s[2], 200), KERR_OK);
    CHECK_EQ(retype(&s[1], CAP_NOTIFICATION, 0, &s[2 + 200], 56), KERR_OK);
    CHECK_EQ(watermark(&s[1]), 16384);
    CHECK_EQ(retype(&s[1], CAP_NOTIFICATION, 0, &s[300], 1), KERR_NOT_ENOUGH_MEMORY);
    void *first = cap_object(&s[2].cap);
    memset((uint8_t *)first + 8, 0x77, 56); /* dirty it, to see the new one zeroed */
    revoke_all(&s[1]);
    CHECK_EQ(watermark(&s[1]), 0);
    CHECK(!cte_has_children(&s[1]));
    CHECK_EQ(object_live_count(CAP_NOTIFICATION), live);
    for (int i = 2; i < 258; i++)
        CHECK(cap_is_null(&s[i].cap));
    CHECK_EQ(retype(&s[1], CAP_NOTIFICATION, 0, &s[2], 1), KERR_OK);
    CHECK(cap_object(&s[2].cap) == first);
    CHECK(all_bytes((uint8_t *)first + 8, 0, 56));
    CHECK_EQ(*object_refs(&s[2].cap), 1);
    world_free(&w);
}

/* Deleting every child one by one has the same effect as revoke: the next
 * retype starts from 0 again. */
static void test_reuse_after_deleting_children(void)
{
    struct world w;
    world_init(&w, 16);
    struct cte *s = slots(&w);
    CHECK_EQ(retype(&w.boot[0], CAP_UNTYPED, 13, &s[1], 1), KERR_OK);
    CHECK_EQ(retype(&s[1], CAP_TCB, 0, &s[2], 4), KERR_OK);
    CHECK_EQ(watermark(&s[1]), 8192);
    for (int i = 2; i < 6; i++)
        cnode_delete(&s[i]);
    CHECK_EQ(watermark(&s[1]), 8192); /* nothing resets it yet... */
    CHECK_EQ(retype(&s[1], CAP_TCB, 0, &s[2], 4), KERR_OK); /* ...but retype does */
    CHECK_EQ(cap_object(&s[2].cap), w.mem + 8192);
    CHECK_EQ(watermark(&s[1]), 8192);
    world_free(&w);
}

static void test_device_untyped(void)
{
    struct world w, dev;
    world_init(&w, 16);
    world_init_device(&dev, 16, true, 0);
    struct cte *s = slots(&w);
    struct kerror_info info = { 0 };
    static const enum cap_type kernel_objects[] = { CAP_CNODE, CAP_TCB, CAP_ENDPOINT,
                                                    CAP_NOTIFICATION, CAP_PAGE_TABLE,
                                                    CAP_VSPACE };
    for (size_t i = 0; i < ARRAY_SIZE(kernel_objects); i++) {
        CHECK_EQ(untyped_retype(&dev.boot[0], kernel_objects[i], 4, &s[1], 1, &info),
                 KERR_INVALID_ARGUMENT);
    }
    CHECK_EQ(watermark(&dev.boot[0]), 0);
    CHECK(cap_is_null(&s[1].cap));
    /* Frames: device, and the memory is left exactly as it was. */
    CHECK_EQ(untyped_retype(&dev.boot[0], CAP_FRAME, 12, &s[1], 2, &info), KERR_OK);
    CHECK(cap_frame_is_device(&s[1].cap));
    CHECK_EQ(cap_frame_base(&s[2].cap), dev.base + 4096);
    CHECK(all_bytes(dev.mem, FILL, 8192));
    /* A child untyped is device memory too, with the same limits. */
    CHECK_EQ(untyped_retype(&dev.boot[0], CAP_UNTYPED, 13, &s[3], 1, &info), KERR_OK);
    CHECK(cap_untyped_is_device(&s[3].cap));
    CHECK_EQ(untyped_retype(&s[3], CAP_ENDPOINT, 0, &s[4], 1, &info), KERR_INVALID_ARGUMENT);
    CHECK_EQ(untyped_retype(&s[3], CAP_FRAME, 12, &s[4], 1, &info), KERR_OK);
    CHECK(all_bytes(dev.mem, FILL, 1u << 16));
    revoke_all(&dev.boot[0]);
    CHECK(cap_is_null(&s[1].cap) && cap_is_null(&s[3].cap) && cap_is_null(&s[4].cap));
    world_free(&dev);
    world_free(&w);
}

/* Splitting: one untyped into four, each handing out its own quarter;
 * revoking the parent deletes the grandchildren too. */
static void test_split_into_sub_untypeds(void)
{
    struct world w;
    world_init(&w, 17);
    struct cte *s = slots(&w);
    CHECK_EQ(retype(&w.boot[0], CAP_UNTYPED, 16, &s[1], 1), KERR_OK);
    CHECK_EQ(cap_untyped_base(&s[1].cap), w.base + 65536);
    CHECK_EQ(retype(&s[1], CAP_UNTYPED, 14, &s[2], 4), KERR_OK);
    for (int i = 0; i < 4; i++) {
        struct cte *q = &s[2 + i];
        CHECK_EQ(cap_untyped_base(&q->cap), w.base + 65536 + 16384 * i);
        CHECK_EQ(cap_untyped_size_bits(&q->cap), 14);
        CHECK(cte_parent(q) == &s[1]);
        CHECK_EQ(retype(q, CAP_FRAME, 12, &s[10 + 4 * i], 4), KERR_OK);
        CHECK_EQ(cap_frame_base(&s[10 + 4 * i].cap), cap_untyped_base(&q->cap));
        CHECK_EQ(retype(q, CAP_ENDPOINT, 0, &s[40], 1), KERR_NOT_ENOUGH_MEMORY);
    }
    CHECK_EQ(watermark(&s[1]), 65536);
    CHECK_EQ(retype(&s[1], CAP_ENDPOINT, 0, &s[40], 1), KERR_NOT_ENOUGH_MEMORY);
    revoke_all(&s[1]);
    for (int i = 2; i < 26; i++)
        CHECK(cap_is_null(&s[i].cap));
    CHECK_EQ(retype(&s[1], CAP_UNTYPED, 16, &s[2], 1), KERR_OK); /* all of it again */
    world_free(&w);
}

/* A failing retype changes nothing: not the watermark, not the slots. */
static void test_retype_into_full_slot_changes_nothing(void)
{
    struct world w;
    world_init(&w, 16);
    struct cte *s = slots(&w);
    CHECK_EQ(retype(&w.boot[0], CAP_ENDPOINT, 0, &s[5], 1), KERR_OK);
    struct cte ut_before = w.boot[0], ep_before = s[5];
    uint64_t live = object_live_count(CAP_ENDPOINT);
    CHECK_EQ(retype(&w.boot[0], CAP_ENDPOINT, 0, &s[2], 4), KERR_DELETE_FIRST); /* s2..s5 */
    CHECK(memcmp(&w.boot[0], &ut_before, sizeof(ut_before)) == 0);
    CHECK(memcmp(&s[5], &ep_before, sizeof(ep_before)) == 0);
    for (int i = 2; i < 5; i++)
        CHECK(cap_is_null(&s[i].cap));
    CHECK_EQ(object_live_count(CAP_ENDPOINT), live);
    CHECK(all_bytes(w.mem + 4096 + 64, FILL, 256));
    world_free(&w);
}

static void test_retype_argument_errors(void)
{
    struct world w;
    world_init(&w, 16);
    struct cte *s = slots(&w);
    struct kerror_info info = { 0 };
    CHECK_EQ(retype(&w.boot[0], CAP_ENDPOINT, 0, &s[1], 1), KERR_OK);
    CHECK_EQ(untyped_retype(&s[1], CAP_ENDPOINT, 0, &s[2], 1, &info), KERR_INVALID_CAPABILITY);
    CHECK_EQ(untyped_retype(&s[9], CAP_ENDPOINT, 0, &s[2], 1, &info), KERR_INVALID_CAPABILITY);
    static const enum cap_type bad_types[] = { CAP_NULL, CAP_ZOMBIE, CAP_IRQ_CONTROL,
                                               CAP_IRQ_HANDLER, CAP_IOPORT, CAP_DOMAIN,
                                               CAP_TYPE_COUNT, (enum cap_type)99 };
    for (size_t i = 0; i < ARRAY_SIZE(bad_types); i++)
        CHECK_EQ(untyped_retype(&w.boot[0], bad_types[i], 12, &s[2], 1, &info),
                 KERR_INVALID_ARGUMENT);
    static const struct {
        enum cap_type type;
        unsigned size_arg, min, max;
    } bad_sizes[] = {
        { CAP_CNODE, 0, 1, 24 },     { CAP_CNODE, 25, 1, 24 },  { CAP_UNTYPED, 11, 12, 47 },
        { CAP_UNTYPED, 48, 12, 47 }, { CAP_FRAME, 11, 12, 21 }, { CAP_FRAME, 22, 12, 21 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
        info = (struct kerror_info){ 0 };
        CHECK_EQ(untyped_retype(&w.boot[0], bad_sizes[i].type, bad_sizes[i].size_arg, &s[2], 1,
                                &info), KERR_RANGE);
        CHECK_EQ(info.range_min, bad_sizes[i].min);
        CHECK_EQ(info.range_max, bad_sizes[i].max);
    }
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_FRAME, 13, &s[2], 1, &info), KERR_INVALID_ARGUMENT);
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_ENDPOINT, 0, &s[2], 0, &info), KERR_RANGE);
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_ENDPOINT, 0, &s[2], 257, &info), KERR_RANGE);
    CHECK_EQ(info.range_min, 1);
    CHECK_EQ(info.range_max, 256);
    /* Fixed-size types ignore the size argument, as in seL4. */
    CHECK_EQ(untyped_retype(&w.boot[0], CAP_ENDPOINT, 63, &s[2], 1, &info), KERR_OK);
    CHECK_EQ(watermark(&w.boot[0]), 4096 + 128);
    world_free(&w);
}

/* Only the original untyped cap retypes; a copy may be deleted or revoked. */
static void test_copy_of_untyped_cannot_retype(void)
{
    struct world w;
    world_init(&w, 16);
    struct cte *s = slots(&w);
    struct kerror_info info = { 0 };
    CHECK_EQ(retype(&w.boot[0], CAP_UNTYPED, 12, &s[1], 1), KERR_OK);
    CHECK_EQ(cnode_copy(&s[1], &s[2], CAP_RIGHTS_ALL, &info), KERR_OK);
    CHECK_EQ(untyped_retype(&s[2], CAP_ENDPOINT, 0, &s[3], 1, &info), KERR_ILLEGAL_OPERATION);
    CHECK(cap_is_null(&s[3].cap));
    CHECK_EQ(cnode_move(&s[2], &s[4], &info), KERR_OK); /* still a copy after a move */
    CHECK_EQ(untyped_retype(&s[4], CAP_ENDPOINT, 0, &s[3], 1, &info), KERR_ILLEGAL_OPERATION);
    /* The original still retypes; the copy (a child) keeps its watermark
     * from resetting until the copy is gone. */
    CHECK_EQ(untyped_retype(&s[1], CAP_ENDPOINT, 0, &s[3], 1, &info), KERR_OK);
    CHECK_EQ(watermark(&s[1]), 64);
    cnode_delete(&s[3]);
    CHECK_EQ(untyped_retype(&s[1], CAP_ENDPOINT, 0, &s[3], 1, &info), KERR_OK);
    CHECK_EQ(watermark(&s[1]), 128);
    cnode_delete(&s[4]);
    cnode_delete(&s[3]);
    CHECK_EQ(untyped_retype(&s[1], CAP_ENDPOINT, 0, &s[3], 1, &info), KERR_OK);
    CHECK_EQ(watermark(&s[1]), 64);
    world_free(&w);
}

/* Deleting an untyped cap whose objects live on: they move up to the
 * parent untyped, whose watermark already covers them, so the parent never
 * hands that memory out again while they live. */
static void test_delete_untyped_with_live_children(void)
{
    struct world w;
    world_init(&w, 16);
    struct cte *s = slots(&w);
    CHECK_EQ(retype(&w.boot[0], CAP_UNTYPED, 12, &s[1], 1), KERR_OK); /* [4096, 8192) */
    CHECK_EQ(retype(&s[1], CAP_ENDPOINT, 0, &s[2], 2), KERR_OK);
    cnode_delete(&s[1]);
    CHECK(cte_parent(&s[2]) == &w.boot[0] && cte_parent(&s[3]) == &w.boot[0]);
    CHECK_EQ(retype(&w.boot[0], CAP_FRAME, 12, &s[4], 1), KERR_OK);
    CHECK_EQ(cap_frame_base(&s[4].cap), w.base + 8192);
    CHECK_EQ(*object_refs(&s[2].cap), 1);
    world_free(&w);
}

/* ---- Retype zeroes a bounded piece per call --------------------------------- */

#define CHUNK (64 * 1024) /* RETYPE_ZERO_CHUNK in kernel/untyped.c */

/* Every slot of the CNode `cn` is empty and unlinked (its bytes are not
 * all zero: slot 0's spare word is the object header). */
static bool cnode_all_empty(const cap_t *cn)
{
    const struct cte *in = cnode_slots(cn);
    for (size_t i = 0; i < (size_t)1 << cap_cnode_radix(cn); i++) {
        if (!cap_is_null(&in[i].cap) || in[i].parent || in[i].first_child ||
            in[i].next_sibling || in[i].prev_sibling || (i > 0 && in[i].spare.raw))
            return false;
    }
    return true;
}

/* Calls untyped_retype_bounded() until it is done; returns the calls, and
 * checks that no object appeared before the last (no interrupt is pending:
 * fake_pending.every is 0). */
static unsigned retype_counting(struct cte *ut, enum cap_type type, unsigned size_arg,
                                struct cte *dest, size_t count, kerror_t *err)
{
    struct kerror_info info = { 0 };
    struct retype_check check = { 0 };
    unsigned calls = 0;
    bool early = false;
    size_t made;
    do {
        *err = untyped_retype_bounded(ut, type, size_arg, dest, count, &check, &made, &info);
        calls++;
        early |= *err == KERR_RESTART && (made || !cap_is_null(&dest[0].cap));
    } while (*err == KERR_RESTART);
    CHECK(!early);
    return calls;
}

/* A CNode of 1 MiB from memory full of 0xa5: 16 calls of 64 KiB each,
 * then the CNode, every slot empty; a second one right above takes 16
 * more; revoked, the memory (full of caps then) is zeroed again. */
static void test_retype_zeroes_in_pieces(void)
{
    struct world w;
    world_init(&w, 22);
    struct cte *s = slots(&w);
    kerror_t err;
    unsigned calls = retype_counting(&w.boot[0], CAP_CNODE, 14, &s[1], 1, &err);
    CHECK_EQ(err, KERR_OK);
    CHECK_EQ(calls, (1u << 20) / CHUNK);
    CHECK(cnode_all_empty(&s[1].cap));
    CHECK_EQ(watermark(&w.boot[0]), 2u << 20); /* after the root CNode, aligned */
    CHECK_EQ(retype_counting(&w.boot[0], CAP_CNODE, 14, &s[2], 1, &err), (1u << 20) / CHUNK);
    CHECK_EQ(err, KERR_OK);
    struct kerror_info info = { 0 };
    struct cte *in = cnode_slots(&s[1].cap);
    for (size_t i = 0; i < 1000; i++) /* the memory holds caps now */
        CHECK_EQ(cnode_copy(&w.boot[1], &in[i * 16], CAP_RIGHTS_ALL, &info), KERR_OK);
    revoke_all(&w.boot[0]);
    CHECK_EQ(retype(&w.boot[0], CAP_CNODE, 6, &w.boot[1], 1), KERR_OK);
    s = slots(&w);
    CHECK_EQ(retype_counting(&w.boot[0], CAP_CNODE, 14, &s[1], 1, &err), (1u << 20) / CHUNK);
    CHECK(err == KERR_OK && cnode_all_empty(&s[1].cap));
    world_free(&w);
}

/* A restart that finds the untyped changed goes on from what its cap
 * says: between the pieces of a big Retype, small ones take memory above
 * the watermark (zeroed already, or not); everything made is zero and
 * nothing overlaps. */
static void test_retype_restart_after_other_retypes(void)
{
    struct world w;
    world_init(&w, 22);
    struct cte *s = slots(&w);
    struct kerror_info info = { 0 };
    struct retype_check check = { 0 };
    size_t made;
    CHECK_EQ(untyped_retype_bounded(&w.boot[0], CAP_CNODE, 14, &s[1], 1, &check, &made, &info),
             KERR_RESTART);
    CHECK_EQ(untyped_retype_bounded(&w.boot[0], CAP_CNODE, 14, &s[1], 1, &check, &made, &info),
             KERR_RESTART);
    CHECK_EQ(retype(&w.boot[0], CAP_FRAME, 12, &s[2], 1), KERR_OK); /* in the zeroed part */
    CHECK_EQ(retype(&w.boot[0], CAP_FRAME, 12, &s[3], 4), KERR_OK);
    kerror_t err;
    retype_counting(&w.boot[0], CAP_CNODE, 14, &s[1], 1, &err);
    CHECK_EQ(err, KERR_OK);
    CHECK(cnode_all_empty(&s[1].cap));
    for (unsigned i = 0; i < 5; i++) {
        const uint8_t *f = (const uint8_t *)(uintptr_t)cap_frame_base(&s[2 + i].cap);
        CHECK(all_bytes(f, 0, 4096));
        CHECK(f + 4096 <= (uint8_t *)cap_object(&s[1].cap) || f >= (uint8_t *)cap_object(&s[1].cap) + (1u << 20));
    }
    world_free(&w);
}

/* A sub-untyped knows what of its memory its parent had zeroed: a big
 * Retype stopped halfway, an untyped made over that memory, and a Retype
 * from it needs only the pieces that were not zeroed yet. */
static void test_sub_untyped_inherits_zeroed_memory(void)
{
    struct world w;
    world_init(&w, 22);
    struct cte *s = slots(&w);
    struct kerror_info info = { 0 };
    struct retype_check check = { 0 };
    size_t made;
    for (int i = 0; i < 4; i++) /* 256 KiB of the next MiB zeroed */
        CHECK_EQ(untyped_retype_bounded(&w.boot[0], CAP_CNODE, 14, &s[1], 1, &check, &made, &info),
                 KERR_RESTART);
    CHECK_EQ(retype(&w.boot[0], CAP_UNTYPED, 20, &s[2], 1), KERR_OK);
    CHECK_EQ(cap_untyped_clean(&s[2].cap), 256u * 1024);
    kerror_t err;
    CHECK_EQ(retype_counting(&s[2], CAP_CNODE, 14, &s[3], 1, &err), 12u);
    CHECK(err == KERR_OK && cnode_all_empty(&s[3].cap));
    world_free(&w);
}

/* ---- An interrupt pending stops Retype after a step ------------------------ */

/* Calls untyped_retype_bounded() as the restarted syscall does, each time
 * for the objects left; returns the calls and checks that none made more
 * than `most` objects. */
static unsigned retype_in_steps(struct cte *ut, enum cap_type type, unsigned size_arg,
                                struct cte *dest, size_t count, size_t most)
{
    struct kerror_info info = { 0 };
    struct retype_check check = { 0 };
    unsigned calls = 0;
    kerror_t err;
    do {
        size_t made;
        err = untyped_retype_bounded(ut, type, size_arg, dest, count, &check, &made, &info);
        CHECK(made <= most && (err != KERR_OK || made == count));
        dest += made;
        count -= made;
        calls++;
    } while (err == KERR_RESTART);
    CHECK_EQ(err, KERR_OK);
    return calls;
}

/* An interrupt pending all along (never taken here): each call does one
 * step, 1 KiB zeroed or one object made. 32 endpoints (2 KiB) take 34
 * calls, and end where an uninterrupted Retype puts them, the watermark
 * and what is known zero too. */
static void test_retype_one_step_per_call_while_pending(void)
{
    struct world a, b;
    world_init(&a, 16);
    world_init(&b, 16);
    struct cte *sa = slots(&a), *sb = slots(&b);
    CHECK_EQ(retype(&a.boot[0], CAP_ENDPOINT, 0, &sa[1], 32), KERR_OK);
    fake_pending = (struct fake_pending){ .every = 1 };
    CHECK_EQ(retype_in_steps(&b.boot[0], CAP_ENDPOINT, 0, &sb[1], 32, 1), 34u);
    fake_pending.every = 0;
    for (unsigned i = 1; i <= 32; i++) {
        CHECK_EQ(cap_type(&sb[i].cap), CAP_ENDPOINT);
        CHECK_EQ((uintptr_t)cap_object(&sb[i].cap) - b.base,
                 (uintptr_t)cap_object(&sa[i].cap) - a.base);
    }
    CHECK_EQ(watermark(&b.boot[0]), watermark(&a.boot[0]));
    CHECK_EQ(cap_untyped_clean(&b.boot[0].cap), cap_untyped_clean(&a.boot[0].cap));
    world_free(&a);
    world_free(&b);
}

/* Interrupts every 10 polls (taken between calls): a Retype of 40 frames
 * of 4 KiB stops in its zeroing, then after some of the frames. A Retype
 * from the same untyped before the call for the rest takes the memory
 * right at the watermark: the rest then goes after its objects, every
 * frame zero, overlapping nothing. */
static void test_retype_rest_after_another_retype(void)
{
    struct world w;
    world_init(&w, 22);
    struct cte *s = slots(&w);
    struct kerror_info info = { 0 };
    struct retype_check check = { 0 };
    fake_pending = (struct fake_pending){ .every = 10 };
    size_t made = 0;
    kerror_t err;
    do {
        err = untyped_retype_bounded(&w.boot[0], CAP_FRAME, 12, &s[1], 40, &check, &made, &info);
        fake_pending.polls = 0; /* taken */
    } while (err == KERR_RESTART && made == 0);
    CHECK(err == KERR_RESTART && made > 0 && made < 40);
    fake_pending.every = 0;
    CHECK_EQ(retype(&w.boot[0], CAP_ENDPOINT, 0, &s[50], 4), KERR_OK); /* between the two */
    CHECK_EQ(retype(&w.boot[0], CAP_FRAME, 12, &s[1 + made], 40 - made), KERR_OK);
    uint8_t *ep = cap_object(&s[50].cap);
    for (unsigned i = 1; i <= 40; i++) {
        const uint8_t *f = (const uint8_t *)(uintptr_t)cap_frame_base(&s[i].cap);
        CHECK(all_bytes(f, 0, 4096));
        CHECK(f + 4096 <= ep || f >= ep + 4 * 64);
        if (i > made + 1)
            CHECK_EQ(f, (const uint8_t *)(uintptr_t)cap_frame_base(&s[i - 1].cap) + 4096);
    }
    CHECK((uintptr_t)cap_frame_base(&s[made + 1].cap) > (uintptr_t)ep);
    world_free(&w);
}

TEST_MAIN(TEST(test_retype_endpoints), TEST(test_retype_every_type),
          TEST(test_retype_aligns_each_object), TEST(test_retype_exhaustion_reports_numbers),
          TEST(test_reuse_after_revoke), TEST(test_reuse_after_deleting_children),
          TEST(test_device_untyped), TEST(test_split_into_sub_untypeds),
          TEST(test_retype_into_full_slot_changes_nothing), TEST(test_retype_argument_errors),
          TEST(test_copy_of_untyped_cannot_retype), TEST(test_delete_untyped_with_live_children),
          TEST(test_retype_zeroes_in_pieces), TEST(test_retype_restart_after_other_retypes),
          TEST(test_sub_untyped_inherits_zeroed_memory),
          TEST(test_retype_one_step_per_call_while_pending),
          TEST(test_retype_rest_after_another_retype))
