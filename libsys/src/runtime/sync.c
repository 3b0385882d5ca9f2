/*
 * Mutexes, condition variables and run-once on notifications (see
 * <bulkhead/sync.h> for the rules). The mutex is the classic three-state
 * lock: 0 free, 1 held, 2 held with possible waiters. Only a thread that
 * saw the lock held sets 2 and blocks, so an unlock that reads 1 knows no
 * one waits and skips the kernel.
 */
#include <bulkhead/sync.h>
#include <bulkhead/sys.h>
#include <bulkhead/tls.h>

static void wait_on(uint64_t notification)
{
    struct bk_msg m = { 0 };
    sys_recv(notification, &m);
}

static void wake_one(uint64_t notification)
{
    struct bk_msg m = { 0 };
    sys_send(notification, &m);
}

long bk_mutex_init(bk_mutex_t *m)
{
    atomic_store_explicit(&m->state, 0, memory_order_relaxed);
    m->notification = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    return m->notification ? 0 : -BK_ERR_NOT_ENOUGH_MEMORY;
}

int bk_mutex_trylock(bk_mutex_t *m)
{
    uint32_t expected = 0;
    return atomic_compare_exchange_strong_explicit(&m->state, &expected, 1,
                                                   memory_order_acquire, memory_order_relaxed);
}

void bk_mutex_lock(bk_mutex_t *m)
{
    if (bk_mutex_trylock(m))
        return;
    /* Mark it contended; whoever held it will signal on unlock. If it
     * was free after all, the exchange took it (marked 2: one unneeded
     * signal at most). */
    while (atomic_exchange_explicit(&m->state, 2, memory_order_acquire) != 0)
        wait_on(m->notification);
}

void bk_mutex_unlock(bk_mutex_t *m)
{
    if (atomic_exchange_explicit(&m->state, 0, memory_order_release) == 2)
        wake_one(m->notification);
}

long bk_cond_init(bk_cond_t *c)
{
    atomic_store_explicit(&c->sequence, 0, memory_order_relaxed);
    atomic_store_explicit(&c->waiters, 0, memory_order_relaxed);
    c->notification = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    return c->notification ? 0 : -BK_ERR_NOT_ENOUGH_MEMORY;
}

void bk_cond_wait(bk_cond_t *c, bk_mutex_t *m)
{
    /* The sequence is read while `m` is held: a signal sent after the
     * unlock below changes it, so the loop cannot miss it, and if it lands
     * before the Recv, the notification keeps it. */
    uint32_t seen = atomic_load_explicit(&c->sequence, memory_order_acquire);
    atomic_fetch_add_explicit(&c->waiters, 1, memory_order_acq_rel);
    bk_mutex_unlock(m);
    while (atomic_load_explicit(&c->sequence, memory_order_acquire) == seen)
        wait_on(c->notification);
    atomic_fetch_sub_explicit(&c->waiters, 1, memory_order_acq_rel);
    bk_mutex_lock(m);
}

void bk_cond_signal(bk_cond_t *c)
{
    atomic_fetch_add_explicit(&c->sequence, 1, memory_order_acq_rel);
    if (atomic_load_explicit(&c->waiters, memory_order_acquire))
        wake_one(c->notification);
}

void bk_cond_broadcast(bk_cond_t *c)
{
    atomic_fetch_add_explicit(&c->sequence, 1, memory_order_acq_rel);
    /* One signal per waiter: each reaches one blocked waiter; those not yet
     * blocked see the new sequence and do not block. */
    uint32_t n = atomic_load_explicit(&c->waiters, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++)
        wake_one(c->notification);
}

static bk_mutex_t once_lock;
static bk_mutex_t runtime_lock;
static int runtime_lock_ready;
/* The thread holding runtime_lock and how deep its calls nest. Only the
 * holder writes them; another thread may read a stale owner, but never
 * its own control block. */
static struct bk_thread *runtime_owner;
static unsigned runtime_depth;

/* bk_alloc_init() may be called again with other memory (the kernel test
 * suite does so per test): the locks are made anew from it each time. */
long bk_sync_init(void)
{
    runtime_lock_ready = 0;
    runtime_owner = NULL;
    runtime_depth = 0;
    long r = bk_mutex_init(&once_lock);
    if (r == 0)
        r = bk_mutex_init(&runtime_lock);
    runtime_lock_ready = r == 0;
    return r;
}

void bk_runtime_enter(void)
{
    if (!runtime_lock_ready)
        return;
    struct bk_thread *me = bk_thread_self();
    if (runtime_owner == me) {
        runtime_depth++;
        return;
    }
    bk_mutex_lock(&runtime_lock);
    runtime_owner = me;
    runtime_depth = 1;
}

void bk_runtime_leave(void)
{
    if (!runtime_lock_ready)
        return;
    if (--runtime_depth == 0) {
        runtime_owner = NULL;
        bk_mutex_unlock(&runtime_lock);
    }
}

void bk_once(bk_once_t *once, void (*fn)(void))
{
    if (atomic_load_explicit(&once->state, memory_order_acquire) == 2)
        return;
    bk_mutex_lock(&once_lock);
    if (atomic_load_explicit(&once->state, memory_order_relaxed) != 2) {
        fn();
        atomic_store_explicit(&once->state, 2, memory_order_release);
    }
    bk_mutex_unlock(&once_lock);
}
