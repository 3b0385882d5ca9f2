/*
 * bk_thread_create / join / exit (see <bulkhead/threads.h>). Each handle
 * owns a one-MiB window of the threads region:
 *
 *   +0        guard page (never mapped: a stack overflow faults)
 *   +4 KiB    stack, 64 KiB; its top holds the TLS block (bk_thread_start)
 *   +68 KiB   guard page
 *   +72 KiB   IPC buffer page
 *
 * and a TCB and a notification that the thread signals when it finishes.
 * The window stays mapped and the objects stay made after a join, so the
 * next thread reuses them without another allocation.
 */
#include <bulkhead/sync.h>
#include <bulkhead/sys.h>
#include <bulkhead/threads.h>
#include <bulkhead/tls.h>

#define PAGE ((uint64_t)BK_PAGE_SIZE) /* kernel/abi.toml */
#define WINDOW (1ull << 20)
#define STACK_OFFSET PAGE
#define IPC_BUFFER_OFFSET (STACK_OFFSET + BK_THREAD_STACK_SIZE + PAGE)

enum handle_state {
    HANDLE_UNMADE = 0, /* nothing mapped or made yet */
    HANDLE_FREE,       /* window mapped, objects made, no thread */
    HANDLE_IN_USE,     /* a thread was started and is not yet joined */
    HANDLE_BROKEN,     /* making it failed halfway: never used */
};

struct bk_thread_handle {
    enum handle_state state;
    uint64_t tcb, done, sched_context; /* cap slots */
    void *(*fn)(void *);
    void *arg;
    void *result;
};

static struct bk_thread_handle handles[BK_THREADS_MAX];

static uint64_t window_of(const struct bk_thread_handle *h)
{
    return BK_THREADS_VADDR + (uint64_t)(h - handles) * WINDOW;
}

static long map_fresh_pages(uint64_t va, unsigned pages)
{
    for (unsigned i = 0; i < pages; i++) {
        uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, 12);
        if (!frame)
            return -BK_ERR_NOT_ENOUGH_MEMORY;
        long r = bk_map_frame(BK_CAP_ROOT_VSPACE, frame, va + i * PAGE,
                              BK_VM_READ | BK_VM_WRITE, 0);
        if (r != 0)
            return r;
    }
    return 0;
}

/* Maps h's window and makes its objects. */
static long make_handle(struct bk_thread_handle *h)
{
    uint64_t base = window_of(h);
    long r = map_fresh_pages(base + STACK_OFFSET, BK_THREAD_STACK_SIZE / PAGE);
    if (r == 0)
        r = map_fresh_pages(base + IPC_BUFFER_OFFSET, 1);
    if (r == 0) {
        h->tcb = bk_alloc_object(BK_OBJ_TCB, 0);
        h->done = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
        if (!h->tcb || !h->done)
            r = -BK_ERR_NOT_ENOUGH_MEMORY;
    }
    if (r == 0) /* bound for good: the handle's next threads run on it too */
        h->sched_context = bk_sched_whole_cpu(h->tcb, &r);
    h->state = r == 0 ? HANDLE_FREE : HANDLE_BROKEN;
    return r;
}

/* A free handle, made if need be, marked in use; NULL and *err if none. */
static struct bk_thread_handle *take_handle(long *err)
{
    struct bk_thread_handle *unmade = NULL;
    *err = -BK_ERR_NOT_ENOUGH_MEMORY;
    bk_runtime_enter();
    for (unsigned i = 0; i < BK_THREADS_MAX; i++) {
        if (handles[i].state == HANDLE_FREE) {
            handles[i].state = HANDLE_IN_USE;
            bk_runtime_leave();
            return &handles[i];
        }
        if (handles[i].state == HANDLE_UNMADE && !unmade)
            unmade = &handles[i];
    }
    if (unmade) {
        *err = make_handle(unmade);
        if (*err == 0)
            unmade->state = HANDLE_IN_USE;
        else
            unmade = NULL;
    }
    bk_runtime_leave();
    return unmade;
}

static void thread_main(uint64_t arg)
{
    struct bk_thread_handle *h = (struct bk_thread_handle *)(uintptr_t)arg;
    bk_thread_self()->pool_slot = h;
    bk_thread_exit(h->fn(h->arg));
}

long bk_thread_create(bk_thread_handle_t **out, void *(*fn)(void *), void *arg,
                      unsigned priority)
{
    long r;
    struct bk_thread_handle *h = take_handle(&r);
    if (!h)
        return r;
    h->fn = fn;
    h->arg = arg;
    h->result = NULL;
    struct bk_msg m = { 0 };
    sys_nbrecv(h->done, &m); /* no signal left from an earlier thread */
    uint64_t base = window_of(h);
    *out = h;
    r = bk_thread_start(h->tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, thread_main,
                        (uint64_t)(uintptr_t)h, (void *)(uintptr_t)(base + STACK_OFFSET),
                        BK_THREAD_STACK_SIZE, base + IPC_BUFFER_OFFSET, priority);
    if (r != 0) {
        *out = NULL;
        bk_runtime_enter();
        h->state = HANDLE_FREE;
        bk_runtime_leave();
    }
    return r;
}

long bk_thread_join(bk_thread_handle_t *t, void **result)
{
    if (t < handles || t >= handles + BK_THREADS_MAX || t->state != HANDLE_IN_USE)
        return -BK_ERR_INVALID_ARGUMENT;
    struct bk_msg m = { 0 };
    sys_recv(t->done, &m);
    /* It may not have reached its thread_exit yet: stop it here, so the
     * TCB is idle before a new thread reuses it. */
    long r = sys_tcb_suspend(t->tcb);
    if (result)
        *result = t->result;
    bk_runtime_enter();
    t->state = HANDLE_FREE;
    bk_runtime_leave();
    return r;
}

_Noreturn void bk_thread_exit(void *result)
{
    struct bk_thread_handle *h = bk_thread_self()->pool_slot;
    if (h) {
        h->result = result;
        struct bk_msg m = { 0 };
        sys_send(h->done, &m);
    }
    sys_thread_exit(0);
}

void bk_threads_forget(void)
{
    for (unsigned i = 0; i < BK_THREADS_MAX; i++)
        handles[i] = (struct bk_thread_handle){ .state = HANDLE_UNMADE };
}
