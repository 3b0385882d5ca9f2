/*
 * Host tests of the libsys heap core (libsys/src/runtime/heap.c): each test makes a
 * heap over an arena of host memory handed out by a test page source, and
 * installs a report callback that records instead of stopping the thread.
 */
#include "check.h"

#include <bulkhead/heap.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BYTES (64u << 20)

/* A page source over one host allocation, handing out contiguous pieces up
 * to `limit` bytes; `gap` makes the next grow return non-contiguous memory. */
struct arena {
    char *mem;
    size_t used, limit;
    int grows;
    bool gap;
};

/* What the report callback saw. */
struct reports {
    int count;
    struct bk_heap_report last;
};

struct fixture {
    struct bk_heap heap;
    struct arena arena;
    struct reports reports;
};

static void *arena_grow(void *ctx, size_t bytes)
{
    struct fixture *f = ctx;
    struct arena *a = &f->arena;
    CHECK(bytes % BK_HEAP_PAGE == 0);
    if (bytes > a->limit - a->used)
        return NULL;
    if (a->gap) {
        a->used += BK_HEAP_PAGE;
        a->gap = false;
    }
    char *p = a->mem + a->used;
    a->used += bytes;
    a->grows++;
    return p;
}

static void record_report(void *ctx, const struct bk_heap_report *r)
{
    struct fixture *f = ctx;
    f->reports.count++;
    f->reports.last = *r;
}

static struct fixture *fixture_new(size_t limit)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->arena.mem = aligned_alloc(BK_HEAP_PAGE, ARENA_BYTES);
    f->arena.limit = limit;
    bk_heap_init(&f->heap, arena_grow, record_report, f);
    return f;
}

static void fixture_free(struct fixture *f)
{
    free(f->arena.mem);
    free(f);
}

/* ---- Basics ----------------------------------------------------------- */

static void test_malloc_zero_and_free_null(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    void *a = bk_heap_alloc(&f->heap, 0), *b = bk_heap_alloc(&f->heap, 0);
    CHECK(a != NULL && b != NULL && a != b);
    CHECK(bk_heap_usable_size(&f->heap, a) >= 1);
    bk_heap_free(&f->heap, NULL, 0);
    bk_heap_free(&f->heap, a, 0);
    bk_heap_free(&f->heap, b, 0);
    CHECK_EQ(f->reports.count, 0);
    CHECK(bk_heap_check(&f->heap));
    fixture_free(f);
}

static void test_empty_heap_check(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    CHECK(bk_heap_check(&f->heap));
    CHECK_EQ(f->arena.grows, 0);
    fixture_free(f);
}

static void test_alignment(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    void *p[200];
    for (size_t i = 0; i < 200; i++) {
        p[i] = bk_heap_alloc(&f->heap, i * 7);
        CHECK(p[i] && (uintptr_t)p[i] % BK_HEAP_ALIGN == 0);
        memset(p[i], 0x5a, i * 7);
    }
    for (size_t align = 1; align <= 65536; align *= 2) {
        for (size_t size = 1; size < 5000; size = size * 3 + 1) {
            char *q = bk_heap_memalign(&f->heap, align, size);
            CHECK(q && (uintptr_t)q % align == 0);
            CHECK(bk_heap_usable_size(&f->heap, q) >= size);
            memset(q, 0x33, size);
            CHECK(bk_heap_check(&f->heap));
            bk_heap_free(&f->heap, q, 0);
        }
    }
    CHECK(bk_heap_memalign(&f->heap, 24, 10) == NULL);
    for (size_t i = 0; i < 200; i += 2)
        bk_heap_free(&f->heap, p[i], 0);
    CHECK(bk_heap_check(&f->heap));
    CHECK_EQ(f->reports.count, 0);
    fixture_free(f);
}

static void test_calloc_zeroes_and_overflow(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    for (size_t n = 1; n < 3000; n = n * 2 + 3) {
        unsigned char *dirty = bk_heap_alloc(&f->heap, n * 8);
        memset(dirty, 0xee, n * 8);
        bk_heap_free(&f->heap, dirty, 0);
        unsigned char *z = bk_heap_calloc(&f->heap, n, 8);
        CHECK(z != NULL);
        size_t nonzero = 0;
        for (size_t i = 0; i < n * 8; i++)
            nonzero += z[i] != 0;
        CHECK_EQ(nonzero, 0);
        bk_heap_free(&f->heap, z, 0);
    }
    CHECK(bk_heap_calloc(&f->heap, SIZE_MAX / 2, 4) == NULL);
    CHECK(bk_heap_calloc(&f->heap, 4, SIZE_MAX / 2) == NULL);
    CHECK(bk_heap_calloc(&f->heap, (size_t)1 << 33, (size_t)1 << 33) == NULL);
    CHECK(bk_heap_alloc(&f->heap, SIZE_MAX) == NULL);
    CHECK(bk_heap_alloc(&f->heap, SIZE_MAX - 15) == NULL);
    void *z = bk_heap_calloc(&f->heap, 0, 16);
    CHECK(z != NULL);
    bk_heap_free(&f->heap, z, 0);
    CHECK_EQ(f->reports.count, 0);
    CHECK(bk_heap_check(&f->heap));
    fixture_free(f);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 131 + (i >> 8));
}

/* Whether p[0..n) still holds what fill() wrote. */
static bool holds(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (unsigned char)(seed + i * 131 + (i >> 8)))
            return false;
    }
    return true;
}

static void test_realloc_keeps_contents(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    unsigned char *p = bk_heap_realloc(&f->heap, NULL, 10, 0);
    fill(p, 10, 1);
    size_t size = 10;
    /* Growing, with a blocker after it half the time so it must move. */
    for (int step = 0; step < 25; step++) {
        void *blocker = step % 2 ? bk_heap_alloc(&f->heap, 32) : NULL;
        size_t bigger = size * 3 / 2 + 17;
        unsigned char *q = bk_heap_realloc(&f->heap, p, bigger, 0);
        CHECK(q != NULL && holds(q, size, 1));
        fill(q, bigger, 1);
        p = q;
        size = bigger;
        bk_heap_free(&f->heap, blocker, 0);
    }
    /* Shrinking stays in place. */
    while (size > 1) {
        size /= 3;
        unsigned char *q = bk_heap_realloc(&f->heap, p, size, 0);
        CHECK(q == p && holds(q, size, 1));
    }
    /* Size 0 keeps a minimal block; a huge size fails and keeps the block. */
    unsigned char *q = bk_heap_realloc(&f->heap, p, 0, 0);
    CHECK(q == p);
    fill(p, 8, 9);
    CHECK(bk_heap_realloc(&f->heap, p, SIZE_MAX, 0) == NULL);
    CHECK(holds(p, 8, 9));
    bk_heap_free(&f->heap, p, 0);
    CHECK(bk_heap_check(&f->heap));
    CHECK_EQ(f->reports.count, 0);
    fixture_free(f);
}

static void test_realloc_in_place_growth(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    unsigned char *a = bk_heap_alloc(&f->heap, 100), *b = bk_heap_alloc(&f->heap, 1000);
    void *c = bk_heap_alloc(&f->heap, 100);
    fill(a, 100, 3);
    bk_heap_free(&f->heap, b, 0);
    /* a absorbs the free block after it. */
    CHECK(bk_heap_realloc(&f->heap, a, 900, 0) == a && holds(a, 100, 3));
    /* c is the last block: it grows with the region, past GROW_MIN. */
    unsigned char *d = bk_heap_realloc(&f->heap, c, 100000, 0);
    CHECK(d == c);
    CHECK(bk_heap_check(&f->heap));
    bk_heap_free(&f->heap, a, 0);
    bk_heap_free(&f->heap, d, 0);
    CHECK(bk_heap_check(&f->heap));
    fixture_free(f);
}

static void test_stats_and_reuse(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    struct bk_heap_stats s;
    void *p = bk_heap_alloc(&f->heap, 1000);
    bk_heap_get_stats(&f->heap, &s);
    CHECK(s.in_use >= 1000 && s.in_use < 1000 + BK_HEAP_ALIGN);
    CHECK_EQ(s.blocks_in_use, 1);
    CHECK_EQ(s.mapped, BK_HEAP_GROW_MIN);
    CHECK_EQ(s.mapped, f->arena.used);
    void *q = bk_heap_alloc(&f->heap, 100000);
    bk_heap_free(&f->heap, q, 0);
    bk_heap_free(&f->heap, p, 0);
    bk_heap_get_stats(&f->heap, &s);
    CHECK_EQ(s.in_use, 0);
    CHECK_EQ(s.blocks_in_use, 0);
    CHECK(s.peak_in_use >= 101000);
    /* Everything merged back: the same request needs no more memory. */
    size_t mapped = s.mapped;
    q = bk_heap_alloc(&f->heap, 100000);
    bk_heap_get_stats(&f->heap, &s);
    CHECK_EQ(s.mapped, mapped);
    bk_heap_free(&f->heap, q, 0);
    fixture_free(f);
}

static void test_out_of_memory(void)
{
    struct fixture *f = fixture_new(64 * 1024);
    void *p[64];
    int n = 0;
    while (n < 64 && (p[n] = bk_heap_alloc(&f->heap, 4000)) != NULL)
        n++;
    CHECK(n > 5 && n < 17);
    CHECK(bk_heap_alloc(&f->heap, 100000) == NULL);
    CHECK_EQ(f->reports.count, 0);
    bk_heap_free(&f->heap, p[0], 0);
    CHECK(bk_heap_alloc(&f->heap, 4000) == p[0]);
    CHECK(bk_heap_check(&f->heap));
    fixture_free(f);
}

static int lock_depth, lock_calls;

static void test_lock(void *ctx)
{
    CHECK(ctx == &lock_depth);
    CHECK_EQ(lock_depth, 0);
    lock_depth++;
    lock_calls++;
}

static void test_unlock(void *ctx)
{
    CHECK_EQ(lock_depth, 1);
    lock_depth--;
}

static void test_lock_hook(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    bk_heap_set_lock(&f->heap, test_lock, test_unlock, &lock_depth);
    void *p = bk_heap_alloc(&f->heap, 10);
    p = bk_heap_realloc(&f->heap, p, 5000, 0);
    void *q = bk_heap_memalign(&f->heap, 256, 10);
    bk_heap_free(&f->heap, q, 0);
    bk_heap_free(&f->heap, p, 0);
    bk_heap_free(&f->heap, p, 0); /* reported after the unlock */
    CHECK(bk_heap_check(&f->heap));
    CHECK_EQ(lock_depth, 0);
    CHECK_EQ(lock_calls, 7);
    CHECK_EQ(f->reports.count, 1);
    fixture_free(f);
}

static void test_reset(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    bk_heap_set_lock(&f->heap, test_lock, test_unlock, &lock_depth);
    void *p = bk_heap_alloc(&f->heap, 5000);
    CHECK(p != NULL);
    /* The memory is taken away (here: the arena restarts at its start). */
    memset(f->arena.mem, 0xcc, f->arena.used);
    f->arena.used = 0;
    bk_heap_reset(&f->heap);
    struct bk_heap_stats s;
    bk_heap_get_stats(&f->heap, &s);
    CHECK(s.in_use == 0 && s.mapped == 0 && s.blocks_in_use == 0 && s.peak_in_use == 0);
    CHECK(bk_heap_check(&f->heap));
    /* The old pointer is foreign now; new memory comes from grow again. */
    bk_heap_free(&f->heap, p, 0);
    CHECK_EQ(f->reports.count, 1);
    CHECK_EQ(f->reports.last.error, BK_HEAP_FOREIGN_POINTER);
    void *q = bk_heap_alloc(&f->heap, 5000);
    CHECK(q == p);
    CHECK_EQ(f->arena.grows, 2);
    CHECK(bk_heap_check(&f->heap));
    CHECK_EQ(lock_depth, 0);
    bk_heap_free(&f->heap, q, 0);
    CHECK_EQ(f->reports.count, 1);
    fixture_free(f);
}

/* ---- Stress ------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Mostly small sizes, some pages, a few large ones. */
static size_t random_size(void)
{
    uint64_t r = rng() % 100;
    if (r < 70)
        return rng() % 128;
    if (r < 95)
        return rng() % 2048;
    if (r < 99)
        return rng() % 65536;
    return rng() % (1u << 18);
}

struct live {
    unsigned char *p;
    size_t size;
    unsigned seed;
};

static void stress_step(struct fixture *f, struct live *l, unsigned seed)
{
    struct bk_heap *h = &f->heap;
    size_t size = random_size();
    switch (rng() % 6) {
    case 0:
    case 1:
        if (l->p) {
            CHECK(holds(l->p, l->size, l->seed));
            bk_heap_free(h, l->p, 0);
            l->p = NULL;
            return;
        }
        l->p = bk_heap_alloc(h, size);
        break;
    case 2: {
        unsigned char *q = bk_heap_realloc(h, l->p, size, 0);
        CHECK(q != NULL);
        if (l->p)
            CHECK(holds(q, size < l->size ? size : l->size, l->seed));
        l->p = q;
        break;
    }
    case 3:
        if (l->p)
            bk_heap_free(h, l->p, 0);
        l->p = bk_heap_calloc(h, size / 8 + 1, 8);
        size = (size / 8 + 1) * 8;
        for (size_t i = 0; l->p && i < size; i++)
            CHECK(l->p[i] == 0);
        break;
    default:
        if (l->p)
            bk_heap_free(h, l->p, 0);
        l->p = bk_heap_memalign(h, (size_t)1 << (rng() % 13), size);
        break;
    }
    CHECK(l->p != NULL);
    CHECK(bk_heap_usable_size(h, l->p) >= size);
    l->size = size;
    l->seed = seed;
    fill(l->p, size, seed);
}

static void test_stress(void)
{
    enum { SLOTS = 1000, OPS = 200000 };
    struct fixture *f = fixture_new(ARENA_BYTES);
    static struct live live[SLOTS];
    rng_state = 0x2545f4914f6cdd1dull;
    for (unsigned op = 0; op < OPS; op++) {
        stress_step(f, &live[rng() % SLOTS], op);
        if (op % 2000 == 0 && !bk_heap_check(&f->heap)) {
            CHECK(!"heap check failed");
            break;
        }
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (live[i].p)
            CHECK(holds(live[i].p, live[i].size, live[i].seed));
        bk_heap_free(&f->heap, live[i].p, 0);
        live[i].p = NULL;
    }
    struct bk_heap_stats s;
    bk_heap_get_stats(&f->heap, &s);
    CHECK_EQ(s.in_use, 0);
    CHECK_EQ(s.blocks_in_use, 0);
    CHECK(s.mapped < 32u << 20);
    CHECK(bk_heap_check(&f->heap));
    CHECK_EQ(f->reports.count, 0);
    printf("  stress: %u operations, peak %zu bytes in use, %zu mapped\n", (unsigned)OPS,
           s.peak_in_use, s.mapped);
    fixture_free(f);
}

/* ---- Misuse ------------------------------------------------------------ */

static void test_double_free(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    void *a = bk_heap_alloc(&f->heap, 40), *b = bk_heap_alloc(&f->heap, 40);
    void *c = bk_heap_alloc(&f->heap, 40);
    bk_heap_free(&f->heap, b, 0x1234);
    bk_heap_free(&f->heap, b, 0x5678);
    CHECK_EQ(f->reports.count, 1);
    CHECK_EQ(f->reports.last.error, BK_HEAP_DOUBLE_FREE);
    CHECK(f->reports.last.pointer == b);
    CHECK_EQ(f->reports.last.freed_by, 0x1234);
    CHECK(strcmp(f->reports.last.operation, "free") == 0);
    /* Freed again after it merged with its neighbours. */
    bk_heap_free(&f->heap, a, 0x1111);
    bk_heap_free(&f->heap, c, 0x2222);
    bk_heap_free(&f->heap, c, 0);
    CHECK_EQ(f->reports.count, 2);
    CHECK_EQ(f->reports.last.error, BK_HEAP_DOUBLE_FREE);
    CHECK_EQ(f->reports.last.freed_by, 0x2222);
    bk_heap_free(&f->heap, b, 0);
    CHECK_EQ(f->reports.count, 3);
    CHECK_EQ(f->reports.last.error, BK_HEAP_DOUBLE_FREE);
    /* realloc of a freed block, too. */
    CHECK(bk_heap_realloc(&f->heap, a, 100, 0) == NULL);
    CHECK_EQ(f->reports.count, 4);
    CHECK_EQ(f->reports.last.error, BK_HEAP_DOUBLE_FREE);
    CHECK(strcmp(f->reports.last.operation, "realloc") == 0);
    /* None of it damaged the heap. */
    CHECK(bk_heap_check(&f->heap));
    CHECK_EQ(f->reports.count, 4);
    fixture_free(f);
}

static void test_foreign_pointers(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    char *a = bk_heap_alloc(&f->heap, 200);
    int on_stack;
    void *host = malloc(32);
    void *bad[] = { &on_stack, host, a + 1, a + 16, a + 64, a - 16,
                    f->arena.mem, f->arena.mem + BK_HEAP_GROW_MIN + 4096 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f->reports.count = 0;
        bk_heap_free(&f->heap, bad[i], 0);
        CHECK_EQ(f->reports.count, 1);
        CHECK_EQ(f->reports.last.error, BK_HEAP_FOREIGN_POINTER);
        CHECK(f->reports.last.pointer == bad[i]);
    }
    f->reports.count = 0;
    CHECK(bk_heap_realloc(&f->heap, a + 32, 10, 0) == NULL);
    CHECK_EQ(bk_heap_usable_size(&f->heap, a + 48), 0);
    CHECK_EQ(f->reports.count, 2);
    CHECK_EQ(f->reports.last.error, BK_HEAP_FOREIGN_POINTER);
    /* A heap that never grew owns nothing. */
    struct fixture *g = fixture_new(ARENA_BYTES);
    bk_heap_free(&g->heap, a, 0);
    CHECK_EQ(g->reports.count, 1);
    CHECK_EQ(g->reports.last.error, BK_HEAP_FOREIGN_POINTER);
    fixture_free(g);
    free(host);
    CHECK(bk_heap_check(&f->heap));
    bk_heap_free(&f->heap, a, 0);
    CHECK(bk_heap_check(&f->heap));
    fixture_free(f);
}

static void test_overrun_into_next_header(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    void *before = bk_heap_alloc(&f->heap, 64);
    unsigned char *a = bk_heap_alloc(&f->heap, 64), *b = bk_heap_alloc(&f->heap, 64);
    void *after = bk_heap_alloc(&f->heap, 64);
    size_t room = bk_heap_usable_size(&f->heap, a);
    memset(a, 0x41, room + 4); /* four bytes too many: into b's canary */
    CHECK(!bk_heap_check(&f->heap));
    CHECK_EQ(f->reports.last.error, BK_HEAP_CORRUPT_HEADER);
    CHECK(f->reports.last.block == b && f->reports.last.previous == a);
    /* Freeing the block that overran finds its neighbour's header broken. */
    bk_heap_free(&f->heap, a, 0);
    CHECK_EQ(f->reports.count, 2);
    CHECK_EQ(f->reports.last.error, BK_HEAP_CORRUPT_HEADER);
    CHECK(f->reports.last.block == b && f->reports.last.previous == a);
    /* Freeing the victim names the block before it. */
    bk_heap_free(&f->heap, b, 0);
    CHECK_EQ(f->reports.count, 3);
    CHECK_EQ(f->reports.last.error, BK_HEAP_CORRUPT_HEADER);
    CHECK(f->reports.last.block == b && f->reports.last.previous == a);
    /* The block after the victim cannot merge across it either. */
    bk_heap_free(&f->heap, after, 0);
    CHECK_EQ(f->reports.count, 4);
    CHECK_EQ(f->reports.last.error, BK_HEAP_CORRUPT_HEADER);
    CHECK(f->reports.last.block == b);
    /* Unaffected blocks still free. */
    bk_heap_free(&f->heap, before, 0);
    CHECK_EQ(f->reports.count, 4);
    fixture_free(f);
}

static void test_overrun_one_byte(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    unsigned char *a = bk_heap_alloc(&f->heap, 48), *b = bk_heap_alloc(&f->heap, 48);
    size_t room = bk_heap_usable_size(&f->heap, a);
    a[room] ^= 1;
    bk_heap_free(&f->heap, b, 0);
    CHECK_EQ(f->reports.count, 1);
    CHECK_EQ(f->reports.last.error, BK_HEAP_CORRUPT_HEADER);
    CHECK(f->reports.last.previous == a);
    fixture_free(f);
}

static void test_overrun_into_the_end(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    /* The whole first region but its two edge headers and this header. */
    unsigned char *last = bk_heap_alloc(&f->heap, BK_HEAP_GROW_MIN - 3 * BK_HEAP_ALIGN);
    CHECK(last != NULL && (char *)last + BK_HEAP_GROW_MIN - 3 * BK_HEAP_ALIGN ==
                              f->arena.mem + BK_HEAP_GROW_MIN - BK_HEAP_ALIGN);
    last[BK_HEAP_GROW_MIN - 3 * BK_HEAP_ALIGN] ^= 0x80; /* the end marker's canary */
    CHECK(bk_heap_alloc(&f->heap, 100) == NULL);        /* must grow: finds it */
    CHECK_EQ(f->reports.count, 1);
    CHECK_EQ(f->reports.last.error, BK_HEAP_CORRUPT_HEADER);
    bk_heap_free(&f->heap, last, 0);
    CHECK_EQ(f->reports.count, 2);
    CHECK_EQ(f->reports.last.error, BK_HEAP_CORRUPT_HEADER);
    CHECK(f->reports.last.previous == last);
    CHECK_EQ(f->arena.grows, 1);
    fixture_free(f);
}

static void test_write_after_free(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    /* a and b are separated by used blocks, so they stay apart when freed. */
    unsigned char *a = bk_heap_alloc(&f->heap, 100);
    CHECK(bk_heap_alloc(&f->heap, 100) != NULL);
    unsigned char *b = bk_heap_alloc(&f->heap, 100);
    CHECK(bk_heap_alloc(&f->heap, 100) != NULL);
    bk_heap_free(&f->heap, a, 0);
    bk_heap_free(&f->heap, b, 0); /* same bin: b's next link is a */
    memset(b, 0x77, 8);           /* the dangling pointer clobbers the links */
    CHECK(bk_heap_alloc(&f->heap, 100) == NULL);
    CHECK_EQ(f->reports.count, 1);
    CHECK_EQ(f->reports.last.error, BK_HEAP_CORRUPT_FREE_LIST);
    CHECK(f->reports.last.block == b);
    CHECK(!bk_heap_check(&f->heap));
    fixture_free(f);
}

static void test_bad_grow(void)
{
    struct fixture *f = fixture_new(ARENA_BYTES);
    void *p = bk_heap_alloc(&f->heap, 100);
    f->arena.gap = true;
    CHECK(bk_heap_alloc(&f->heap, 100000) == NULL);
    CHECK_EQ(f->reports.count, 1);
    CHECK_EQ(f->reports.last.error, BK_HEAP_BAD_GROW);
    CHECK(bk_heap_check(&f->heap));
    bk_heap_free(&f->heap, p, 0);
    fixture_free(f);
}

static void test_error_texts(void)
{
    for (int e = BK_HEAP_OK; e <= BK_HEAP_BAD_STATS; e++)
        CHECK(strcmp(bk_heap_error_text((enum bk_heap_error)e), "?") != 0);
    CHECK(strcmp(bk_heap_error_text(BK_HEAP_DOUBLE_FREE), "double free") == 0);
}

TEST_MAIN(TEST(test_malloc_zero_and_free_null), TEST(test_empty_heap_check), TEST(test_alignment),
          TEST(test_calloc_zeroes_and_overflow), TEST(test_realloc_keeps_contents),
          TEST(test_realloc_in_place_growth), TEST(test_stats_and_reuse),
          TEST(test_out_of_memory), TEST(test_lock_hook), TEST(test_reset), TEST(test_stress),
          TEST(test_double_free), TEST(test_foreign_pointers),
          TEST(test_overrun_into_next_header), TEST(test_overrun_one_byte),
          TEST(test_overrun_into_the_end), TEST(test_write_after_free), TEST(test_bad_grow), TEST(test_error_texts))
