/*
 * libsys's runtime: thread-local storage, threads made and joined by
 * bk_thread_create()/bk_thread_join(), many threads of one address space
 * doing IPC with full-length messages at once, mutexes, condition
 * variables and run-once under contention (counts exact, no lost
 * wake-up), and the process heap (stress with integrity checks, from many
 * threads at once, and a bad free reported).
 */
#include <bulkhead/assert.h>
#include <bulkhead/heap.h>
#include <bulkhead/sync.h>
#include <bulkhead/threads.h>

#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define WORKERS 8
#define WORKER_PRIORITY 100

static void yield(void)
{
    struct bk_msg m = { 0 };
    sys_yield(0, &m);
}

/* Starts `n` threads running fn(i) and joins them; returns the number of
 * threads whose result was not 0 (or that could not be made or joined). */
static unsigned run_workers(unsigned n, void *(*fn)(void *))
{
    bk_thread_handle_t *h[WORKERS];
    unsigned bad = 0, started = 0;
    for (unsigned i = 0; i < n; i++) {
        long r = bk_thread_create(&h[i], fn, (void *)(uintptr_t)i, WORKER_PRIORITY);
        if (r != 0) {
            debug_printf("    bk_thread_create %u: %s\n", i, bk_error_name(-r));
            bad++;
            break;
        }
        started++;
    }
    for (unsigned i = 0; i < started; i++) {
        void *result = (void *)1;
        if (bk_thread_join(h[i], &result) != 0 || result != NULL) {
            debug_printf("    worker %u returned %p\n", i, result);
            bad++;
        }
    }
    return bad;
}

/* ---- Thread-local storage ------------------------------------------------- */

static _Thread_local uint64_t tls_initialised = 0x5eed;
/* In a struct rather than as an array: the x86-64 ABI gives an array
 * variable of 16 bytes or more an alignment of 16, which would round the
 * program's TLS segment and hide the case below. */
static _Thread_local struct {
    uint64_t w[16];
} tls_zeroed_block;
#define tls_zeroed (tls_zeroed_block.w)
/* A third word, so that the program's TLS size is not a multiple of 16:
 * x86-64 places the data round_up(size, its alignment of 8) below fs, and
 * a block laid out with a larger rounding would move every initial value. */
static _Thread_local volatile uint64_t tls_odd_word = 0x0dd; /* volatile: never written, so not folded */

static void *tls_worker(void *arg)
{
    uint64_t me = (uint64_t)(uintptr_t)arg;
    if (tls_initialised != 0x5eed || tls_odd_word != 0x0dd)
        return (void *)2;
    for (unsigned i = 0; i < 16; i++)
        if (tls_zeroed[i] != 0)
            return (void *)3;
    struct bk_thread *self = bk_thread_self();
    if (self->self != self || bk_ipc_buffer == NULL)
        return (void *)4;
    tls_initialised = me;
    for (unsigned round = 0; round < 50; round++) {
        for (unsigned i = 0; i < 16; i++)
            tls_zeroed[i] = me * 100 + i + round;
        yield(); /* let the others write theirs */
        for (unsigned i = 0; i < 16; i++)
            if (tls_zeroed[i] != me * 100 + i + round || tls_initialised != me)
                return (void *)5;
    }
    return NULL;
}

static int test_tls_is_per_thread(struct ktest_env *env)
{
    kt_init_allocators(env);
    /* The first thread has its own copy too, set up by the startup code. */
    KT_CHECK(tls_odd_word == 0x0dd); /* the startup code copied the template */
    uint64_t saved = tls_initialised;
    tls_initialised = 77;
    KT_CHECK(bk_thread_self()->self == bk_thread_self());
    KT_CHECK(run_workers(WORKERS, tls_worker) == 0);
    KT_CHECK(tls_initialised == 77);
    tls_initialised = saved;
    return 0;
}

/* A thread may set its own thread pointer (that is how TLS is set up), but
 * no other register of its own. */
static int test_thread_pointer_is_self_writable(struct ktest_env *env)
{
    (void)env;
    uint64_t tp = 0;
    KT_OK(sys_tcb_read_register(BK_CAP_ROOT_TCB, BK_REG_THREAD_POINTER, &tp));
    KT_CHECK(tp != 0);
    KT_OK(sys_tcb_write_register(BK_CAP_ROOT_TCB, BK_REG_THREAD_POINTER, tp));
    KT_CHECK(bk_thread_self()->self == bk_thread_self());
    /* Index 1: rsp on x86-64, ra on RISC-V. */
    KT_EXPECT_ERR(sys_tcb_write_register(BK_CAP_ROOT_TCB, 1, 0), BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

/* ---- Many threads doing IPC with full-length messages ---------------------- */

static uint64_t echo_endpoint;
#define CALLS_PER_WORKER 100

/* Answers each Call with every word plus one, as long as messages come. */
static void *echo_server(void *arg)
{
    (void)arg;
    struct bk_msg m = { 0 };
    sys_recv(echo_endpoint, &m);
    for (;;) {
        unsigned len = (unsigned)BK_MSGINFO_LENGTH(m.info);
        if (BK_MSGINFO_LABEL(m.info) == 0xdead)
            break;
        for (unsigned i = 0; i < len; i++) {
            if (i < BK_MSG_CPU_WORDS)
                m.mr[i] += 1;
            else
                bk_ipc_buffer->mr[i] += 1;
        }
        m.info = bk_msginfo(0, len);
        sys_reply_recv(echo_endpoint, &m);
    }
    m.info = bk_msginfo(0, 0);
    sys_reply(0, &m);
    return NULL;
}

static void *ipc_worker(void *arg)
{
    uint64_t me = (uint64_t)(uintptr_t)arg;
    for (uint64_t n = 0; n < CALLS_PER_WORKER; n++) {
        struct bk_msg m = { .info = bk_msginfo(1, BK_MSG_MAX_WORDS) };
        for (unsigned i = 0; i < BK_MSG_MAX_WORDS; i++) {
            uint64_t v = me << 48 | n << 16 | i;
            if (i < BK_MSG_CPU_WORDS)
                m.mr[i] = v;
            else
                bk_ipc_buffer->mr[i] = v;
        }
        sys_call(echo_endpoint, &m);
        if (BK_MSGINFO_LENGTH(m.info) != BK_MSG_MAX_WORDS)
            return (void *)2;
        for (unsigned i = 0; i < BK_MSG_MAX_WORDS; i++) {
            uint64_t got = i < BK_MSG_CPU_WORDS ? m.mr[i] : bk_ipc_buffer->mr[i];
            if (got != (me << 48 | n << 16 | i) + 1)
                return (void *)3;
        }
        if (n % 8 == me % 8)
            yield();
    }
    return NULL;
}

static int test_threads_ipc_full_length_at_once(struct ktest_env *env)
{
    kt_init_allocators(env);
    echo_endpoint = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    KT_CHECK(echo_endpoint != 0);
    bk_thread_handle_t *server;
    KT_OK(bk_thread_create(&server, echo_server, NULL, WORKER_PRIORITY));
    KT_CHECK(run_workers(WORKERS, ipc_worker) == 0);
    struct bk_msg m = { .info = bk_msginfo(0xdead, 0) };
    sys_call(echo_endpoint, &m);
    void *result = (void *)1;
    KT_OK(bk_thread_join(server, &result));
    KT_CHECK(result == NULL);
    return 0;
}

/* ---- Mutexes, condition variables, once -------------------------------------- */

static bk_mutex_t counter_lock;
static volatile uint64_t counter;
#define INCREMENTS 2000

/* A read-modify-write split by a yield: without the lock, increments
 * would be lost as soon as two threads interleave. */
static void *locked_incrementer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < INCREMENTS; i++) {
        bk_mutex_lock(&counter_lock);
        uint64_t v = counter;
        if (i % 16 == 0)
            yield();
        counter = v + 1;
        bk_mutex_unlock(&counter_lock);
    }
    return NULL;
}

static int test_mutex_under_contention(struct ktest_env *env)
{
    kt_init_allocators(env);
    KT_OK(bk_mutex_init(&counter_lock));
    counter = 0;
    KT_CHECK(run_workers(WORKERS, locked_incrementer) == 0);
    KT_CHECK(counter == (uint64_t)WORKERS * INCREMENTS);
    KT_CHECK(bk_mutex_trylock(&counter_lock));
    KT_CHECK(!bk_mutex_trylock(&counter_lock));
    bk_mutex_unlock(&counter_lock);
    return 0;
}

/* A bounded queue: producers wait while it is full, consumers while it is
 * empty; every item is consumed exactly once. */
#define QUEUE_SIZE 4
#define ITEMS_PER_PRODUCER 300
static struct {
    bk_mutex_t lock;
    bk_cond_t not_full, not_empty;
    uint64_t items[QUEUE_SIZE];
    unsigned head, count;
    uint64_t consumed_sum, consumed_count;
} queue;

static void *producer(void *arg)
{
    uint64_t me = (uint64_t)(uintptr_t)arg;
    for (uint64_t n = 1; n <= ITEMS_PER_PRODUCER; n++) {
        bk_mutex_lock(&queue.lock);
        while (queue.count == QUEUE_SIZE)
            bk_cond_wait(&queue.not_full, &queue.lock);
        queue.items[(queue.head + queue.count) % QUEUE_SIZE] = me * 1000000 + n;
        queue.count++;
        bk_cond_signal(&queue.not_empty);
        bk_mutex_unlock(&queue.lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (unsigned n = 0; n < ITEMS_PER_PRODUCER; n++) {
        bk_mutex_lock(&queue.lock);
        while (queue.count == 0)
            bk_cond_wait(&queue.not_empty, &queue.lock);
        queue.consumed_sum += queue.items[queue.head];
        queue.consumed_count++;
        queue.head = (queue.head + 1) % QUEUE_SIZE;
        queue.count--;
        bk_cond_signal(&queue.not_full);
        bk_mutex_unlock(&queue.lock);
    }
    return NULL;
}

/* Even workers produce, odd ones consume. */
static void *queue_worker(void *arg)
{
    uint64_t i = (uint64_t)(uintptr_t)arg;
    return i % 2 ? consumer(arg) : producer((void *)(uintptr_t)(i / 2));
}

static int test_condition_variables_lose_no_wakeup(struct ktest_env *env)
{
    kt_init_allocators(env);
    memset(&queue, 0, sizeof(queue));
    KT_OK(bk_mutex_init(&queue.lock));
    KT_OK(bk_cond_init(&queue.not_full));
    KT_OK(bk_cond_init(&queue.not_empty));
    KT_CHECK(run_workers(WORKERS, queue_worker) == 0);
    uint64_t want = 0;
    for (uint64_t p = 0; p < WORKERS / 2; p++)
        for (uint64_t n = 1; n <= ITEMS_PER_PRODUCER; n++)
            want += p * 1000000 + n;
    KT_CHECK(queue.consumed_count == (uint64_t)(WORKERS / 2) * ITEMS_PER_PRODUCER);
    KT_CHECK(queue.consumed_sum == want && queue.count == 0);
    return 0;
}

/* Broadcast releases every waiter. */
static struct {
    bk_mutex_t lock;
    bk_cond_t go;
    unsigned waiting;
    int open;
} gate;

static void *gate_waiter(void *arg)
{
    (void)arg;
    bk_mutex_lock(&gate.lock);
    gate.waiting++;
    while (!gate.open)
        bk_cond_wait(&gate.go, &gate.lock);
    bk_mutex_unlock(&gate.lock);
    return NULL;
}

static int test_broadcast_wakes_every_waiter(struct ktest_env *env)
{
    kt_init_allocators(env);
    memset(&gate, 0, sizeof(gate));
    KT_OK(bk_mutex_init(&gate.lock));
    KT_OK(bk_cond_init(&gate.go));
    bk_thread_handle_t *h[WORKERS];
    for (unsigned i = 0; i < WORKERS; i++)
        KT_OK(bk_thread_create(&h[i], gate_waiter, NULL, WORKER_PRIORITY));
    /* Below the waiters' priority, so they all reach their wait first. */
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, WORKER_PRIORITY - 1));
    KT_CHECK(gate.waiting == WORKERS);
    bk_mutex_lock(&gate.lock);
    gate.open = 1;
    bk_cond_broadcast(&gate.go);
    bk_mutex_unlock(&gate.lock);
    for (unsigned i = 0; i < WORKERS; i++)
        KT_OK(bk_thread_join(h[i], NULL));
    return 0;
}

static bk_once_t once = BK_ONCE_INIT;
static volatile unsigned once_runs;

static void run_once_body(void)
{
    unsigned v = once_runs;
    yield(); /* a window for a second runner, if the lock let one in */
    once_runs = v + 1;
}

static void *once_caller(void *arg)
{
    (void)arg;
    bk_once(&once, run_once_body);
    return once_runs == 1 ? NULL : (void *)2;
}

static int test_once_runs_exactly_once(struct ktest_env *env)
{
    kt_init_allocators(env);
    once_runs = 0;
    KT_CHECK(run_workers(WORKERS, once_caller) == 0);
    KT_CHECK(once_runs == 1);
    bk_once(&once, run_once_body);
    KT_CHECK(once_runs == 1);
    return 0;
}

static void *returns_arg(void *arg)
{
    return arg;
}

static void *exits_early(void *arg)
{
    bk_thread_exit((void *)((uintptr_t)arg + 1));
}

static int test_join_returns_the_result(struct ktest_env *env)
{
    kt_init_allocators(env);
    /* More threads in turn than there are handles: each join frees one. */
    for (unsigned i = 0; i < BK_THREADS_MAX + 8; i++) {
        bk_thread_handle_t *h;
        void *result = NULL;
        KT_OK(bk_thread_create(&h, i % 2 ? exits_early : returns_arg, (void *)(uintptr_t)i,
                               WORKER_PRIORITY));
        KT_OK(bk_thread_join(h, &result));
        KT_CHECK(result == (void *)(uintptr_t)(i % 2 ? i + 1 : i));
    }
    int dummy;
    KT_EXPECT_ERR(bk_thread_join((bk_thread_handle_t *)&dummy, NULL), BK_ERR_INVALID_ARGUMENT);
    return 0;
}

/* ---- The process heap ----------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 33;
}

#define LIVE 48

struct live_block {
    unsigned char *p;
    size_t size;
    unsigned char fill;
};

static int block_intact(const struct live_block *b)
{
    for (size_t i = 0; i < b->size; i++)
        if (b->p[i] != (unsigned char)(b->fill + i))
            return 0;
    return 1;
}

static void fill_block(struct live_block *b, unsigned char fill)
{
    b->fill = fill;
    for (size_t i = 0; i < b->size; i++)
        b->p[i] = (unsigned char)(fill + i);
}

/* `ops` random malloc/calloc/realloc/free on LIVE slots, every block's
 * contents checked before it changes; returns 0 if all held. */
static int heap_stress(uint64_t seed, unsigned ops, int check_heap)
{
    struct live_block live[LIVE] = { 0 };
    uint64_t saved = rng_state;
    rng_state = seed;
    int bad = 0;
    for (unsigned n = 0; n < ops && !bad; n++) {
        struct live_block *b = &live[rng() % LIVE];
        if (b->p && !block_intact(b))
            bad = 2;
        size_t size = rng() % 3 ? rng() % 256 : rng() % 4096;
        if (!b->p) {
            int zeroed = rng() % 4 == 0;
            b->p = zeroed ? calloc(1, size) : malloc(size);
            b->size = size;
            if (!b->p)
                bad = 3;
            for (size_t i = 0; zeroed && !bad && i < size; i++)
                if (b->p[i])
                    bad = 4;
        } else if (rng() % 2) {
            unsigned char *q = realloc(b->p, size);
            if (!q) {
                bad = 5;
                break;
            }
            size_t keep = size < b->size ? size : b->size;
            b->p = q;
            b->size = keep;
            if (!block_intact(b))
                bad = 6;
            b->size = size;
        } else {
            free(b->p);
            b->p = NULL;
            continue;
        }
        if (!bad && b->p)
            fill_block(b, (unsigned char)rng());
        if (!bad && check_heap && n % 64 == 0 && !bk_heap_check(bk_process_heap()))
            bad = 7;
    }
    for (unsigned i = 0; i < LIVE; i++) {
        if (live[i].p && !bad && !block_intact(&live[i]))
            bad = 8;
        free(live[i].p);
    }
    rng_state = saved;
    if (bad)
        debug_printf("    heap stress (seed %llu) failed with code %d\n", (unsigned long long)seed,
                     bad);
    return bad;
}

static int test_heap_stress_with_integrity_checks(struct ktest_env *env)
{
    kt_init_allocators(env);
    KT_CHECK(heap_stress(1, 3000, 1) == 0);
    KT_CHECK(bk_heap_check(bk_process_heap()));
    struct bk_heap_stats st;
    bk_heap_get_stats(bk_process_heap(), &st);
    KT_CHECK(st.in_use == 0 && st.blocks_in_use == 0 && st.mapped > 0);
    void *a = aligned_alloc(256, 100);
    KT_CHECK(a && ((uintptr_t)a & 255) == 0);
    free(a);
    KT_CHECK(malloc((size_t)1 << 40) == NULL); /* more than the region */
    return 0;
}

static void *heap_worker(void *arg)
{
    return heap_stress(100 + (uint64_t)(uintptr_t)arg, 400, 0) ? (void *)2 : NULL;
}

static int test_heap_from_many_threads(struct ktest_env *env)
{
    kt_init_allocators(env);
    KT_CHECK(run_workers(WORKERS, heap_worker) == 0);
    KT_CHECK(bk_heap_check(bk_process_heap()));
    struct bk_heap_stats st;
    bk_heap_get_stats(bk_process_heap(), &st);
    KT_CHECK(st.in_use == 0);
    return 0;
}

static volatile int free_returned;
static uint8_t bad_free_stack[8192] __attribute__((aligned(16)));

/* Frees a pointer into the middle of a block (arg): the heap reports it
 * and stops this thread before free returns. */
static void bad_freer(uint64_t arg)
{
    free((char *)(uintptr_t)arg + 16);
    free_returned = 1;
    sys_thread_exit(0);
}

static int test_bad_free_is_reported(struct ktest_env *env)
{
    kt_init_allocators(env);
    uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0);
    KT_CHECK(tcb != 0);
    KT_OK(kt_give_cpu(env, tcb, NULL));
    free_returned = 0;
    /* Above the root task: it runs to its end before the start returns. */
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    char *block = malloc(64);
    KT_CHECK(block != NULL);
    KT_OK(bk_thread_start(tcb, ROOT, BK_CAP_ROOT_VSPACE, bad_freer, (uint64_t)(uintptr_t)block,
                          bad_free_stack, sizeof(bad_free_stack), 0, 200));
    uint64_t pc, sp, arg, state;
    KT_OK(sys_tcb_read_registers(tcb, &pc, &sp, &arg, &state));
    KT_CHECK(state == BK_THREAD_STATE_EXITED);
    KT_CHECK(free_returned == 0);
    KT_CHECK(bk_heap_check(bk_process_heap()));
    free(block); /* the block itself is still good */
    KT_CHECK(bk_heap_check(bk_process_heap()));
    return 0;
}

static volatile int assert_returned;

static void failing_assert(uint64_t value)
{
    assert(value == 1);
    assert_returned = 1;
    sys_thread_exit(0);
}

/* A failed assert stops the thread (and says where, on the console); a
 * passing one does nothing. */
static int test_failed_assert_stops_the_thread(struct ktest_env *env)
{
    kt_init_allocators(env);
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    uint64_t pc, sp, arg, state;
    for (uint64_t value = 1; value <= 2; value++) {
        uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0); /* an exited thread stays exited */
        KT_CHECK(tcb != 0);
        KT_OK(kt_give_cpu(env, tcb, NULL));
        assert_returned = 0;
        KT_OK(bk_thread_start(tcb, ROOT, BK_CAP_ROOT_VSPACE, failing_assert, value,
                              bad_free_stack, sizeof(bad_free_stack), 0, 200));
        KT_OK(sys_tcb_read_registers(tcb, &pc, &sp, &arg, &state));
        KT_CHECK(state == BK_THREAD_STATE_EXITED);
        KT_CHECK(assert_returned == (value == 1));
    }
    return 0;
}

const struct ktest runtime_tests[] = {
    { "runtime: thread-local storage per thread", test_tls_is_per_thread },
    { "runtime: a thread sets its own thread pointer, no other register",
      test_thread_pointer_is_self_writable },
    { "runtime: 8 threads of one space do full-length IPC at once",
      test_threads_ipc_full_length_at_once },
    { "runtime: mutex under contention keeps an exact count", test_mutex_under_contention },
    { "runtime: condition variables (bounded queue) lose no wake-up",
      test_condition_variables_lose_no_wakeup },
    { "runtime: broadcast wakes every waiter", test_broadcast_wakes_every_waiter },
    { "runtime: once runs exactly once", test_once_runs_exactly_once },
    { "runtime: join returns the thread's result, handles are reused",
      test_join_returns_the_result },
    { "runtime: heap stress with integrity checks", test_heap_stress_with_integrity_checks },
    { "runtime: heap from 8 threads at once", test_heap_from_many_threads },
    { "runtime: a bad free is reported and stops the thread", test_bad_free_is_reported },
    { "runtime: a failed assert stops the thread", test_failed_assert_stops_the_thread },
};
const unsigned runtime_test_count = sizeof(runtime_tests) / sizeof(runtime_tests[0]);
