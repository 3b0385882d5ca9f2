/*
 * Bringing up the runtime over libsys's allocators: bk_alloc_init() sets
 * up the process layer's slot and object allocators, then gives the
 * runtime a fresh start over them (thread handles and heap pages made from
 * earlier memory are forgotten) and makes libsys's locks: the runtime lock
 * then guards the allocators and the process heap alike.
 */
#include <bulkhead/heap.h>
#include <bulkhead/sync.h>
#include <bulkhead/sys.h>
#include <bulkhead/threads.h>

/* The heap's lock hooks. The heap grows through bk_alloc_object while
 * holding its lock, which takes the same lock again: it nests. */
static void heap_lock(void *ctx)
{
    (void)ctx;
    bk_runtime_enter();
}

static void heap_unlock(void *ctx)
{
    (void)ctx;
    bk_runtime_leave();
}

void bk_alloc_init(const struct bk_bootinfo *bi)
{
    bk_objects_init(bi);
    bk_threads_forget();
    bk_process_heap_reset();
    long r = bk_sync_init();
    if (r != 0) {
        debug_printf("libsys: no memory for the runtime's locks (%s): threads must not share "
                     "the allocators\n", bk_error_name(-r));
        return;
    }
    bk_objects_set_lock(bk_runtime_enter, bk_runtime_leave);
    bk_heap_set_lock(bk_process_heap(), heap_lock, heap_unlock, NULL);
}
