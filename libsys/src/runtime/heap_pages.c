/*
 * The process heap: the allocator core (heap.c) over pages of the caller's
 * own address space, and the C allocation functions on top of it.
 *
 * The region starts at BK_PROCESS_HEAP_BASE (64 GiB) and may grow to
 * BK_PROCESS_HEAP_SIZE (64 GiB more). That is a user address on both
 * arches (RISC-V Sv39 user space ends at 2^38 = 256 GiB, x86-64's at
 * 2^47), and far above everything else a program's space holds today, all
 * below 2 GiB: the program at BK_USER_IMAGE_MIN (0x400000), the stack
 * below BK_ROOT_STACK_TOP (0x0fff0000), the boot info and IPC buffer at
 * BK_ROOT_BOOTINFO_VADDR / BK_ROOT_IPC_BUFFER_VADDR (0x10000000,
 * 0x10008000), the boot image at BK_ROOT_BOOTIMAGE_VADDR (0x20000000) and
 * bk_copy_to_frame's scratch page (0x7f000000). A process made by
 * bk_process_spawn has the same layout.
 *
 * Pages are 4 KiB frames from bk_alloc_object, so only a program that
 * called bk_alloc_init() can grow the heap; elsewhere grow finds no memory
 * and malloc returns NULL. Pages are never unmapped; they go only when the
 * untyped they came from is revoked, after which bk_process_heap_reset()
 * starts the heap afresh.
 */
#include <bulkhead/format.h>
#include <bulkhead/heap.h>
#include <bulkhead/sys.h>

#define PAGE ((uint64_t)BK_PAGE_SIZE) /* kernel/abi.toml */

/* The region handed out so far ([BASE, brk)) and the pages backing it
 * ([BASE, mapped)); mapped runs ahead of brk when a grow failed halfway. */
static struct page_source {
    uint64_t brk;
    uint64_t mapped;
} pages = { BK_PROCESS_HEAP_BASE, BK_PROCESS_HEAP_BASE };

/* Maps one fresh frame at `vaddr`. Returns 0 or -BK_ERR_*. */
static long map_page(uint64_t vaddr)
{
    uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, 12);
    if (!frame)
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    long r = bk_map_frame(BK_CAP_ROOT_VSPACE, frame, vaddr, BK_VM_READ | BK_VM_WRITE, 0);
    if (r != 0) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, frame, BK_WORD_BITS);
        bk_slot_free(frame);
    }
    return r;
}

/* The heap's grow callback: `bytes` more of the region, all pages mapped,
 * or NULL. */
static void *grow_pages(void *ctx, size_t bytes)
{
    struct page_source *ps = ctx;
    if (bytes > BK_PROCESS_HEAP_BASE + BK_PROCESS_HEAP_SIZE - ps->brk)
        return NULL;
    uint64_t want = ps->brk + bytes;
    for (; ps->mapped < want; ps->mapped += PAGE) {
        if (map_page(ps->mapped) != 0)
            return NULL;
    }
    void *start = (void *)(uintptr_t)ps->brk;
    ps->brk = want;
    return start;
}

/* The default report: one line on the debug console, such as
 *   libsys: heap: free(0x1000000040): double free (first freed by the caller at 0x401234)
 * then the thread stops, since the heap can no longer be trusted. */
static _Noreturn void report_and_exit(void *ctx, const struct bk_heap_report *r)
{
    char block[48] = "", previous[64] = "", freed[64] = "";
    if (r->block && r->block != r->pointer)
        bk_snprintf(block, sizeof(block), " (block %p)", r->block);
    if (r->previous)
        bk_snprintf(previous, sizeof(previous), " (overrun from the block at %p?)", r->previous);
    if (r->freed_by)
        bk_snprintf(freed, sizeof(freed), " (first freed by the caller at %p)",
                    (void *)r->freed_by);
    debug_printf("libsys: heap: %s(%p): %s%s%s%s\n", r->operation, r->pointer,
                 bk_heap_error_text(r->error), block, previous, freed);
    sys_thread_exit(BK_HEAP_EXIT_STATUS);
}

static struct bk_heap process_heap = {
    .grow = grow_pages,
    .report = report_and_exit,
    .ctx = &pages,
};

struct bk_heap *bk_process_heap(void)
{
    return &process_heap;
}

void bk_process_heap_reset(void)
{
    /* No other thread uses the heap now (the caller's promise), so the
     * page source needs no lock of its own. */
    pages.brk = BK_PROCESS_HEAP_BASE;
    pages.mapped = BK_PROCESS_HEAP_BASE;
    bk_heap_reset(&process_heap);
}

void *malloc(size_t size)
{
    return bk_heap_alloc(&process_heap, size);
}

void free(void *ptr)
{
    bk_heap_free(&process_heap, ptr, (uintptr_t)__builtin_return_address(0));
}

void *calloc(size_t count, size_t size)
{
    return bk_heap_calloc(&process_heap, count, size);
}

void *realloc(void *ptr, size_t size)
{
    return bk_heap_realloc(&process_heap, ptr, size, (uintptr_t)__builtin_return_address(0));
}

void *aligned_alloc(size_t alignment, size_t size)
{
    return bk_heap_memalign(&process_heap, alignment, size);
}
