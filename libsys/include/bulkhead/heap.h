/*
 * The libsys heap, in two layers.
 *
 * The allocator core (libsys/src/runtime/heap.c and heap_check.c) manages one
 * contiguous region that grows upward through a page-source callback. It
 * is plain C with no syscalls, so the host tests run it under ASan and
 * UBSan. Blocks carry boundary tags with a canary; misuse (a double free, a
 * pointer the heap never returned, a header overwritten by an overrun of
 * the block before it) is detected and handed to a report callback instead
 * of corrupting the heap further. Each allocated block costs a 16-byte
 * header; the smallest block is 32 bytes.
 *
 * The process heap (libsys/src/runtime/heap_pages.c) is one such heap whose pages
 * are fresh frames mapped into the caller's own address space; malloc,
 * free, calloc, realloc and aligned_alloc use it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bulkhead/abi.h>

/* Every pointer the heap returns is aligned to this many bytes; it is also
 * the size of a block header (the overhead of each allocated block). */
#define BK_HEAP_ALIGN 16u

/* The page size the core rounds its grow requests to. */
#define BK_HEAP_PAGE ((unsigned)BK_PAGE_SIZE)

/* The core asks for at least this much when it grows. */
#define BK_HEAP_GROW_MIN (16u * 1024u)

/* Largest region one heap can manage (block offsets are kept in 32 bits of
 * 16-byte units). A single allocation is at most half of it. */
#define BK_HEAP_REGION_MAX (1ull << 36)

/* Exit status of a thread stopped by the process heap's default report. */
#define BK_HEAP_EXIT_STATUS 0x4eab

/* Number of free-list bins (see heap.c, bin_of). */
#define BK_HEAP_BINS 168

/* What a heap found wrong. */
enum bk_heap_error {
    BK_HEAP_OK = 0,
    BK_HEAP_FOREIGN_POINTER,   /* not a pointer this heap returned: outside the region,
                                * misaligned, or pointing inside a block */
    BK_HEAP_DOUBLE_FREE,       /* the block is already free */
    BK_HEAP_CORRUPT_HEADER,    /* a block header fails its canary or disagrees with its
                                * neighbours: the block before it overran its end */
    BK_HEAP_CORRUPT_FREE_LIST, /* a free block's list links are inconsistent: it was
                                * written to after it was freed */
    BK_HEAP_BAD_GROW,          /* grow returned memory that does not extend the region */
    BK_HEAP_BAD_STATS,         /* the counters disagree with the blocks (bk_heap_check) */
};

/* One report, as passed to the report callback. */
struct bk_heap_report {
    enum bk_heap_error error;
    const char *operation; /* "malloc", "free", "realloc", "check" ... */
    const void *pointer;   /* what the caller passed (NULL when it passed none) */
    const void *block;     /* payload address of the block found bad, or NULL */
    const void *previous;  /* for CORRUPT_HEADER: the block before it (the likely
                            * culprit), or NULL */
    uintptr_t freed_by;    /* for DOUBLE_FREE: return address recorded by the first
                            * free (0 if unknown) */
};

/* Extends the heap region by `bytes` (a multiple of BK_HEAP_PAGE): returns
 * the start of the new memory, which must be page-aligned and, after the
 * first call, exactly the end of the previous extension; or NULL when no
 * memory is left. Called with the heap's lock held. */
typedef void *bk_heap_grow_fn(void *ctx, size_t bytes);

/* Told about each misuse or corruption the heap detects. Called without the
 * heap's lock held, after the operation has refused to act. It may return
 * (the operation then fails: free does nothing, allocators return NULL) or
 * stop the thread. */
typedef void bk_heap_report_fn(void *ctx, const struct bk_heap_report *report);

/* Takes or releases the heap's lock. */
typedef void bk_heap_lock_fn(void *lock_ctx);

/* Usage counters. */
struct bk_heap_stats {
    size_t in_use;        /* bytes of allocated blocks usable by their owners */
    size_t peak_in_use;   /* the most in_use has ever been */
    size_t mapped;        /* bytes of region obtained from grow */
    size_t blocks_in_use; /* allocated blocks */
};

/* A heap. Callers provide the storage and treat the fields as private; a
 * heap zeroed but for grow, report and ctx is a valid empty heap, so a
 * static one can be set up with a designated initializer. */
struct bk_heap {
    bk_heap_grow_fn *grow;
    bk_heap_report_fn *report; /* NULL: misuse is refused silently */
    void *ctx;                 /* passed to grow and report */
    bk_heap_lock_fn *lock;     /* NULL: no locking */
    bk_heap_lock_fn *unlock;
    void *lock_ctx;
    char *base;                /* the region [base, end); NULL until the first grow */
    char *end;
    uint64_t nonempty[(BK_HEAP_BINS + 63) / 64]; /* bit per bin with blocks */
    uint32_t bins[BK_HEAP_BINS];                 /* first free block of each bin */
    struct bk_heap_stats stats;
};

/* ---- The allocator core (libsys/src/runtime/heap.c, heap_check.c) --------------
 * Not thread safe by itself: every function takes the heap's lock (see
 * bk_heap_set_lock) around its work, and does nothing else to exclude
 * other threads. */

/* Makes `heap` an empty heap that takes memory from grow(ctx, bytes) and
 * reports misuse to report(ctx, ...). Nothing is mapped until the first
 * allocation. */
void bk_heap_init(struct bk_heap *heap, bk_heap_grow_fn *grow, bk_heap_report_fn *report,
                  void *ctx);

/* Installs the lock hook: every operation calls lock(lock_ctx) before it
 * touches the heap and unlock(lock_ctx) after. NULL functions (the
 * default) mean no locking. Call before the heap is shared. */
void bk_heap_set_lock(struct bk_heap *heap, bk_heap_lock_fn *lock, bk_heap_lock_fn *unlock,
                      void *lock_ctx);

/* A block of at least `size` bytes aligned to BK_HEAP_ALIGN, or NULL when
 * grow fails or `size` is above BK_HEAP_REGION_MAX. size 0 gives a unique
 * minimal block. Corruption met on the way is reported and gives NULL. */
void *bk_heap_alloc(struct bk_heap *heap, size_t size);

/* Like bk_heap_alloc for `count` elements of `size` bytes, zero-filled.
 * NULL also when count * size overflows. */
void *bk_heap_calloc(struct bk_heap *heap, size_t count, size_t size);

/* A block of at least `size` bytes whose address is a multiple of
 * `alignment` (a power of two; smaller than BK_HEAP_ALIGN counts as
 * BK_HEAP_ALIGN). NULL if `alignment` is not a power of two or memory ran
 * out. The block is freed like any other. */
void *bk_heap_memalign(struct bk_heap *heap, size_t alignment, size_t size);

/* Gives back a block. NULL does nothing. A pointer this heap did not
 * return, an already free block or a damaged header is reported (with
 * operation "free") and the heap is left as it was. `caller` is recorded
 * in the freed block and shown if the block is freed again (pass
 * __builtin_return_address(0) from a wrapper, or 0). */
void bk_heap_free(struct bk_heap *heap, void *ptr, uintptr_t caller);

/* Resizes the block at `ptr` to at least `size` bytes, in place when the
 * block or its free neighbour allows, else by moving it: returns the
 * (possibly new) address with the old contents up to the smaller size.
 * ptr NULL: like bk_heap_alloc. size 0: shrinks to a minimal block (never
 * frees). On failure (memory, or a misuse reported as for bk_heap_free
 * with operation "realloc") returns NULL and leaves the block untouched. */
void *bk_heap_realloc(struct bk_heap *heap, void *ptr, size_t size, uintptr_t caller);

/* Bytes usable at `ptr` (at least what was asked for), or 0 for NULL or a
 * pointer that fails the checks of bk_heap_free (reported, operation
 * "usable_size"). */
size_t bk_heap_usable_size(struct bk_heap *heap, const void *ptr);

/* Walks the whole heap and verifies every header (canary, size, link to
 * the block before), that no two free blocks touch, that every free block
 * sits in the bin for its size with consistent links, and that the
 * counters match. Returns true when all holds; else reports the first
 * problem (operation "check") and returns false. Takes time linear in the
 * number of blocks: meant for tests and debugging. */
bool bk_heap_check(struct bk_heap *heap);

/* Forgets the region and every block: the heap is empty again, its
 * counters zero, and its next allocation asks grow for fresh memory. For
 * when the memory under the heap was taken away (its frames revoked);
 * every pointer the heap returned becomes invalid and the old region is
 * not touched. Keeps grow, report, ctx and the lock hook. */
void bk_heap_reset(struct bk_heap *heap);

/* Copies the heap's counters to `out`. */
void bk_heap_get_stats(struct bk_heap *heap, struct bk_heap_stats *out);

/* A short English description of `error` ("double free", ...). */
const char *bk_heap_error_text(enum bk_heap_error error);

/* ---- The process heap (libsys/src/runtime/heap_pages.c) ------------------------
 * Its region starts at BK_PROCESS_HEAP_BASE in the caller's own address
 * space; each page is a fresh 4 KiB frame from bk_alloc_object, mapped
 * through BK_CAP_ROOT_VSPACE. So only a program that called bk_alloc_init()
 * (the root task, ktest) can allocate today; in any other program malloc
 * returns NULL. Each page also holds a root-CNode slot for as long as the
 * program runs (pages are never given back), which bounds the heap by the
 * free slots. Misuse is printed on the debug console ("libsys: heap:
 * free(0x...): double free ...") and stops the calling thread with status
 * BK_HEAP_EXIT_STATUS.
 *
 * Thread safe: bk_alloc_init() installs libsys's runtime lock as its lock
 * (libsys/src/runtime/init.c). */

/* Where the process heap's region starts and how large it may grow. */
#define BK_PROCESS_HEAP_BASE 0x1000000000ull /* 64 GiB */
#define BK_PROCESS_HEAP_SIZE 0x1000000000ull /* so it ends at 128 GiB */

/* The process heap, for bk_heap_set_lock, bk_heap_check and statistics. */
struct bk_heap *bk_process_heap(void);

/* Empties the process heap after the memory behind it was revoked (a
 * program that calls bk_alloc_init() again over new untyped caps, as the
 * kernel tests do per test): forgets its blocks and pages (their caps are
 * gone with the revoke), so the next malloc maps fresh frames at
 * BK_PROCESS_HEAP_BASE again. Every pointer from the heap becomes
 * invalid. Call it only while no other thread uses the heap. */
void bk_process_heap_reset(void);

/* The C allocation functions over the process heap; they behave as the
 * bk_heap_* function of the same role (realloc(p, 0) keeps a minimal
 * block; aligned_alloc accepts any size). They return NULL when memory ran
 * out; there is no errno. */
void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t alignment, size_t size);
