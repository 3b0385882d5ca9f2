/*
 * The multi-core stress test (docs/smp.md, "Stress test"). Two worker
 * threads per CPU (each through that CPU's SchedControl) make random,
 * seeded operations for a fixed count: Retype from an untyped of their
 * own, Delete, Copy, Revoke of a cap or of the whole untyped, Call to an
 * echo server on a random CPU, and Map/Unmap of a frame (each Unmap, and
 * each Delete of a mapped frame, is a TLB shootdown of every other CPU).
 * All of them take the kernel lock at once from every CPU, which is what
 * finds races; the kernel's invariant walk runs every CHECK_EVERY
 * operations of each worker (debug kernel), and once more at the end.
 *
 * Each worker keeps a model of its slots (what each holds, which cap it
 * was copied from, which frame is mapped) and checks every result and
 * every touched slot (Debug CapIdentify) against it: what a worker does
 * depends only on its seed and its own objects, never on how the CPUs
 * interleave, so a result the model did not predict is a kernel bug. It
 * runs the same operations twice (ROUNDS) and checks that both rounds
 * gave the same results (a digest of every operation and result) and the
 * same counts. At the end of a round it revokes its untyped: then every
 * slot of its window must be empty, every object it made destroyed, and
 * the untyped whole again (one untyped of its full size can be retyped
 * from it).
 *
 * Options: bulkhead.seed=N (decimal), bulkhead.stressops=N per round.
 * Ends with "smp-stress: ... 0 mismatches, 0 invariant violations" and
 * "1 passed, 0 failed"; exit status: the number of problems.
 */
#include "smp_common.h"

#define MAX_CPUS 8
#define THREADS_PER_CPU 2
#define MAX_WORKERS (MAX_CPUS * THREADS_PER_CPU)
#define WORKER_SLOTS 24
#define WORKER_UT_BITS 16 /* 64 KiB: fills up now and then (NOT_ENOUGH_MEMORY) */
#define STACK_SIZE 8192
/* Everything at the root task's priority, which waits blocked. (Lowering
 * the root task's priority instead made the other CPUs' threads never run
 * on a loaded host: docs/smp.md, "Not done".) */
#define WORKER_PRIORITY 255
#define ECHO_PRIORITY 255
#define WATCH_PRIORITY 255
#define WATCH_BUDGET_NS (1 * SMPT_MS)
#define WATCH_PERIOD_NS (100 * SMPT_MS) /* how often the root task looks at the clock */
#define ROUNDS 2
#define CHECK_EVERY 128
#define DEFAULT_OPS 1000
#define DEFAULT_SEED 20261206
#define MAX_REPORTS 4 /* mismatches printed per worker */
#define STRESS_VA 0x60000000ull
#define WAIT_NS (300000 * SMPT_MS) /* the ctest's own timeout comes first */
#define RW (BK_VM_READ | BK_VM_WRITE)
#define W BK_WORD_BITS
#define NONE (-1)

enum op { OP_RETYPE, OP_DELETE, OP_COPY, OP_REVOKE, OP_REVOKE_ALL, OP_CALL, OP_MAP, OP_UNMAP,
          OP_KINDS };
static const char *const op_names[OP_KINDS] = { "retype", "delete", "copy", "revoke",
                                                "revoke-all", "call", "map", "unmap" };

struct slot_model {
    uint8_t type;  /* BK_OBJ_*, 0: empty */
    int8_t parent; /* the slot it was copied from, NONE: made by Retype */
    uint16_t obj;  /* the object's number (the Retype that made it) */
};

struct tally {
    uint32_t ops[OP_KINDS];
    uint32_t full;     /* Retypes refused with NOT_ENOUGH_MEMORY */
    uint32_t skipped;  /* operations with nothing to act on (no cap, no frame) */
    uint32_t made;     /* objects made */
    uint32_t destroyed; /* objects whose last cap went */
    uint64_t digest;
};

struct worker {
    unsigned id, cpu;           /* cpu: the kernel's number, from the boot info */
    uint64_t untyped, first;    /* its untyped and first slot of its window */
    uint64_t rng;
    uint64_t va;
    int mapped;                 /* slot whose frame is mapped at va, or NONE */
    unsigned mismatches, violations;
    uint16_t next_obj;
    struct slot_model s[WORKER_SLOTS];
    struct tally t[ROUNDS];
    volatile uint64_t done;
    volatile uint64_t progress; /* operations made, both rounds */
};

union ipc_page {
    struct bk_ipc_buffer b;
    uint8_t bytes[4096];
};

static struct worker workers[MAX_WORKERS];
static uint8_t stacks[MAX_WORKERS][STACK_SIZE] __attribute__((aligned(16)));
static uint8_t echo_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));
static union ipc_page ipc_pages[MAX_WORKERS] __attribute__((aligned(4096)));
static uint8_t watch_stack[4096] __attribute__((aligned(16)));
static uint64_t echo_ep[MAX_CPUS];
static uint64_t done_ntfn; /* each worker signals it as it ends; the watch, once a period */
static uint64_t echo_cpu[MAX_CPUS];
static unsigned cpus, ops_per_round;
static uint64_t seed;

/* ---- The workers' side -------------------------------------------------- */

static uint64_t next_random(struct worker *w)
{
    /* xorshift64*: the worker's stream, from its seed alone */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 0x2545f4914f6cdd1dull;
}

static unsigned below(struct worker *w, unsigned n)
{
    return (unsigned)(next_random(w) % n);
}

static void mismatch(struct worker *w, unsigned i, enum op op, const char *what, long got,
                     long want)
{
    if (w->mismatches++ < MAX_REPORTS)
        debug_printf("smp-stress: FAILED: thread %u op %u (%s): %s: got %ld (%s), expected %ld\n",
                     w->id, i, op_names[op], what, got, bk_error_name(got), want);
}

/* The cap at slot k is what the model says (type 0: empty). */
static void check_slot(struct worker *w, unsigned i, enum op op, int k)
{
    unsigned type = (unsigned)BK_CAP_IDENTITY_TYPE(debug_cap_identify(w->first + (unsigned)k));
    if (type != w->s[k].type)
        mismatch(w, i, op, "slot type", (long)type, (long)w->s[k].type);
}

/* A slot the model says is empty (want_used 0) or used, from a random
 * start; NONE if there is none. With `type`, only slots of that type. */
static int pick_slot(struct worker *w, int want_used, unsigned type)
{
    unsigned start = below(w, WORKER_SLOTS);
    for (unsigned j = 0; j < WORKER_SLOTS; j++) {
        int k = (int)((start + j) % WORKER_SLOTS);
        int used = w->s[k].type != 0;
        if (used == want_used && (!type || w->s[k].type == type))
            return k;
    }
    return NONE;
}

/* Slot k's cap is gone: its copies move up to its parent (as the kernel's
 * derivation tree does), and the object goes with its last cap. */
static void forget_slot(struct worker *w, struct tally *t, int k)
{
    int others = 0;
    for (int j = 0; j < WORKER_SLOTS; j++) {
        if (j == k || !w->s[j].type)
            continue;
        if (w->s[j].parent == k)
            w->s[j].parent = w->s[k].parent;
        others += w->s[j].obj == w->s[k].obj;
    }
    if (!others)
        t->destroyed++;
    if (w->mapped == k)
        w->mapped = NONE;
    w->s[k] = (struct slot_model){ 0 };
}

static int descends_from(const struct worker *w, int j, int k)
{
    for (int p = w->s[j].parent; p != NONE; p = w->s[p].parent)
        if (p == k)
            return 1;
    return 0;
}

static long op_retype(struct worker *w, struct tally *t, unsigned i)
{
    static const unsigned types[] = { BK_OBJ_ENDPOINT, BK_OBJ_NOTIFICATION, BK_OBJ_FRAME,
                                      BK_OBJ_CNODE, BK_OBJ_TCB };
    unsigned type = types[below(w, sizeof(types) / sizeof(types[0]))];
    int k = pick_slot(w, 0, 0);
    if (k == NONE)
        return t->skipped++, 0;
    unsigned bits = type == BK_OBJ_FRAME ? 12 : type == BK_OBJ_CNODE ? 2 : 0;
    long r = sys_untyped_retype(w->untyped, type, bits, SMPT_ROOT, 0, 0, w->first + (unsigned)k, 1);
    if (r == -BK_ERR_NOT_ENOUGH_MEMORY) {
        t->full++;
    } else if (r != 0) {
        mismatch(w, i, OP_RETYPE, "Retype", r, 0);
    } else {
        w->s[k] = (struct slot_model){ (uint8_t)type, NONE, w->next_obj++ };
        t->made++;
    }
    check_slot(w, i, OP_RETYPE, k);
    return r;
}

static long op_delete(struct worker *w, struct tally *t, unsigned i)
{
    int k = pick_slot(w, 1, 0);
    if (k == NONE)
        return t->skipped++, 0;
    long r = sys_cnode_delete(SMPT_ROOT, w->first + (unsigned)k, W);
    if (r != 0)
        mismatch(w, i, OP_DELETE, "Delete", r, 0);
    else
        forget_slot(w, t, k);
    check_slot(w, i, OP_DELETE, k);
    return r;
}

static long op_copy(struct worker *w, struct tally *t, unsigned i)
{
    int from = pick_slot(w, 1, 0), to = pick_slot(w, 0, 0);
    if (from == NONE || to == NONE || from == w->mapped)
        return t->skipped++, 0;
    long r = sys_cnode_copy(SMPT_ROOT, w->first + (unsigned)to, W, SMPT_ROOT,
                            w->first + (unsigned)from, W, BK_RIGHTS_ALL);
    if (r != 0)
        mismatch(w, i, OP_COPY, "Copy", r, 0);
    else
        w->s[to] = (struct slot_model){ w->s[from].type, (int8_t)from, w->s[from].obj };
    check_slot(w, i, OP_COPY, to);
    return r;
}

static void check_all_slots(struct worker *w, unsigned i, enum op op)
{
    for (int k = 0; k < WORKER_SLOTS; k++)
        check_slot(w, i, op, k);
}

static long op_revoke(struct worker *w, struct tally *t, unsigned i)
{
    int k = pick_slot(w, 1, 0);
    if (k == NONE)
        return t->skipped++, 0;
    long r = sys_cnode_revoke(SMPT_ROOT, w->first + (unsigned)k, W);
    if (r != 0) {
        mismatch(w, i, OP_REVOKE, "Revoke", r, 0);
        return r;
    }
    /* Deepest first, so each copy's parent is still known when it goes. */
    for (int again = 1; again;) {
        again = 0;
        for (int j = 0; j < WORKER_SLOTS; j++) {
            if (!w->s[j].type || !descends_from(w, j, k))
                continue;
            int leaf = 1;
            for (int c = 0; c < WORKER_SLOTS; c++)
                leaf &= !(w->s[c].type && w->s[c].parent == j);
            if (leaf) {
                forget_slot(w, t, j);
                again = 1;
            }
        }
    }
    check_all_slots(w, i, OP_REVOKE);
    return r;
}

static long revoke_untyped(struct worker *w, struct tally *t, unsigned i)
{
    long r = sys_cnode_revoke(SMPT_ROOT, w->untyped, W);
    if (r != 0) {
        mismatch(w, i, OP_REVOKE_ALL, "Revoke of the untyped", r, 0);
        return r;
    }
    for (int k = 0; k < WORKER_SLOTS; k++)
        if (w->s[k].type)
            forget_slot(w, t, k);
    check_all_slots(w, i, OP_REVOKE_ALL);
    return r;
}

static long op_call(struct worker *w, unsigned i)
{
    unsigned to = below(w, cpus);
    uint64_t word = next_random(w) >> 1;
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { word } };
    sys_call(echo_ep[to], &m);
    /* A kernel error would come back as a label (its code) and no words. */
    long r = -(long)BK_MSGINFO_LABEL(m.info);
    if (r != 0 || BK_MSGINFO_LENGTH(m.info) != 2)
        mismatch(w, i, OP_CALL, "Call's answer (label, -length)", r,
                 -(long)BK_MSGINFO_LENGTH(m.info));
    else if (m.mr[0] != word + 1)
        mismatch(w, i, OP_CALL, "the echo's answer", (long)(m.mr[0] - word), 1);
    else if (m.mr[1] != echo_cpu[to])
        mismatch(w, i, OP_CALL, "the echo's CPU", (long)m.mr[1], (long)echo_cpu[to]);
    return r;
}

/* Maps a frame at the worker's page and writes through it, or unmaps the
 * one there (a shootdown of every other CPU before Unmap returns). */
static long op_map_or_unmap(struct worker *w, struct tally *t, unsigned i, enum op *op)
{
    long r;
    if (w->mapped != NONE) {
        *op = OP_UNMAP;
        r = sys_frame_unmap(w->first + (unsigned)w->mapped);
        if (r != 0)
            mismatch(w, i, OP_UNMAP, "Unmap", r, 0);
        else
            w->mapped = NONE;
        return r;
    }
    *op = OP_MAP;
    int k = pick_slot(w, 1, BK_OBJ_FRAME);
    if (k == NONE)
        return t->skipped++, 0;
    r = sys_frame_map(w->first + (unsigned)k, BK_CAP_ROOT_VSPACE, w->va, RW, 0);
    if (r != 0) {
        mismatch(w, i, OP_MAP, "Map", r, 0);
        return r;
    }
    w->mapped = k;
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)w->va;
    uint64_t word = next_random(w);
    *p = word;
    if (*p != word)
        mismatch(w, i, OP_MAP, "a word written through the mapping", 0, 1);
    return r;
}

/* One operation: the kind from the stream, then its arguments. */
static void one_op(struct worker *w, struct tally *t, unsigned i)
{
    unsigned roll = below(w, 100);
    enum op op = roll < 28   ? OP_RETYPE
                 : roll < 42 ? OP_DELETE
                 : roll < 54 ? OP_COPY
                 : roll < 62 ? OP_REVOKE
                 : roll < 64 ? OP_REVOKE_ALL
                 : roll < 84 ? OP_CALL
                             : OP_MAP;
    long r;
    switch (op) {
    case OP_RETYPE: r = op_retype(w, t, i); break;
    case OP_DELETE: r = op_delete(w, t, i); break;
    case OP_COPY: r = op_copy(w, t, i); break;
    case OP_REVOKE: r = op_revoke(w, t, i); break;
    case OP_REVOKE_ALL: r = revoke_untyped(w, t, i); break;
    case OP_CALL: r = op_call(w, i); break;
    default: r = op_map_or_unmap(w, t, i, &op); break;
    }
    t->ops[op]++;
    t->digest = (t->digest ^ ((uint64_t)op << 32 ^ (uint64_t)r)) * 0x100000001b3ull;
}

/* The end of a round: everything goes with the untyped, which must then be
 * whole again: an untyped of its full size fits in it. */
static void end_round(struct worker *w, struct tally *t)
{
    revoke_untyped(w, t, ops_per_round);
    if (t->made != t->destroyed)
        mismatch(w, ops_per_round, OP_REVOKE_ALL, "objects destroyed", (long)t->destroyed,
                 (long)t->made);
    uint64_t whole = w->first; /* empty after the revoke */
    long r = sys_untyped_retype(w->untyped, BK_OBJ_UNTYPED, WORKER_UT_BITS, SMPT_ROOT, 0, 0,
                                whole, 1);
    if (r != 0)
        mismatch(w, ops_per_round, OP_RETYPE, "Retype of the whole untyped", r, 0);
    else
        r = sys_cnode_delete(SMPT_ROOT, whole, W);
    if (r != 0)
        mismatch(w, ops_per_round, OP_DELETE, "Delete of the whole untyped's child", r, 0);
}

static void worker_main(uint64_t id)
{
    struct worker *w = &workers[id];
    if (smpt_cpu_index() != w->cpu)
        mismatch(w, 0, OP_CALL, "the worker's CPU", (long)smpt_cpu_index(), (long)w->cpu);
    for (unsigned round = 0; round < ROUNDS; round++) {
        struct tally *t = &w->t[round];
        w->rng = (seed ^ (id + 1) * 0x9e3779b97f4a7c15ull) | 1;
        w->next_obj = 0;
        t->digest = 0xcbf29ce484222325ull;
        for (unsigned i = 0; i < ops_per_round; i++) {
            one_op(w, t, i);
            w->progress++;
            if ((i + 1) % CHECK_EVERY == 0) {
                long v = debug_check_invariants();
                w->violations += v > 0 ? (unsigned)v : v < 0;
            }
        }
        end_round(w, t);
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    struct bk_msg m = { 0 };
    sys_send(done_ntfn, &m);
    sys_thread_exit(0);
}

/* Answers each Call with its word plus one and the CPU it runs on. */
static void echo_main(uint64_t ep)
{
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        m.info = bk_msginfo(0, 2);
        m.mr[0]++;
        m.mr[1] = smpt_cpu_index();
        sys_reply_recv(ep, &m);
    }
}

/* ---- The root task's side ----------------------------------------------- */

/* Maps and unmaps a frame at STRESS_VA, leaving the page tables there for
 * every worker's page (all in one 2 MiB range). Slots: first the frame,
 * then up to three page tables. */
static long make_page_tables(uint64_t pool, uint64_t slot)
{
    long r = sys_untyped_retype(pool, BK_OBJ_FRAME, 12, SMPT_ROOT, 0, 0, slot, 1);
    if (r != 0)
        return r;
    r = sys_frame_map(slot, BK_CAP_ROOT_VSPACE, STRESS_VA, RW, 0);
    for (unsigned i = 0; r != 0 && i < 3; i++) {
        r = sys_untyped_retype(pool, BK_OBJ_PAGE_TABLE, 0, SMPT_ROOT, 0, 0, slot + 1 + i, 1);
        if (r == 0)
            r = sys_page_table_map(slot + 1 + i, BK_CAP_ROOT_VSPACE, STRESS_VA);
        if (r == 0)
            r = sys_frame_map(slot, BK_CAP_ROOT_VSPACE, STRESS_VA, RW, 0);
    }
    return r ? r : sys_frame_unmap(slot);
}

static long start_echoes(const struct bk_bootinfo *bi, uint64_t pool, uint64_t slot)
{
    for (unsigned c = 0; c < cpus; c++, slot += 3) {
        echo_ep[c] = slot;
        echo_cpu[c] = bi->sched_control_cpu[c];
        long r = sys_untyped_retype(pool, BK_OBJ_ENDPOINT, 0, SMPT_ROOT, 0, 0, slot, 1);
        if (r == 0)
            r = smpt_start_thread(pool, slot + 1, slot + 2, bi->sched_control + c, echo_main, slot,
                                  echo_stacks[c], sizeof(echo_stacks[c]), 0, ECHO_PRIORITY);
        if (r != 0)
            return r;
    }
    return 0;
}

static long start_workers(const struct bk_bootinfo *bi, uint64_t pool, uint64_t slot)
{
    for (unsigned id = 0; id < cpus * THREADS_PER_CPU; id++, slot += 3 + WORKER_SLOTS) {
        struct worker *w = &workers[id];
        unsigned c = id % cpus;
        *w = (struct worker){ .id = id, .cpu = bi->sched_control_cpu[c], .untyped = slot,
                              .first = slot + 3, .va = STRESS_VA + id * 4096ull, .mapped = NONE };
        long r = sys_untyped_retype(pool, BK_OBJ_UNTYPED, WORKER_UT_BITS, SMPT_ROOT, 0, 0, slot, 1);
        if (r == 0)
            r = smpt_start_thread(pool, slot + 1, slot + 2, bi->sched_control + c, worker_main, id,
                                  stacks[id], STACK_SIZE, (uint64_t)(uintptr_t)&ipc_pages[id].b,
                                  WORKER_PRIORITY);
        if (r != 0)
            return r;
    }
    return 0;
}

static int same_tally(const struct tally *a, const struct tally *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

/* Prints each worker's counts; returns the number of problems found. */
static unsigned report(unsigned n)
{
    unsigned problems = 0;
    for (unsigned id = 0; id < n; id++) {
        struct worker *w = &workers[id];
        const struct tally *t = &w->t[0];
        int same = same_tally(&w->t[0], &w->t[1]);
        debug_printf("smp-stress: thread %u on CPU %u: retype %u (%u full), delete %u, copy %u, "
                     "revoke %u, revoke-all %u, call %u, map %u, unmap %u, skipped %u; "
                     "%u objects made, %u destroyed; digest %016llx%s\n",
                     id, w->cpu, t->ops[OP_RETYPE], t->full, t->ops[OP_DELETE], t->ops[OP_COPY],
                     t->ops[OP_REVOKE], t->ops[OP_REVOKE_ALL], t->ops[OP_CALL], t->ops[OP_MAP],
                     t->ops[OP_UNMAP], t->skipped, t->made, t->destroyed,
                     (unsigned long long)t->digest,
                     same ? ", the same in both rounds" : "; FAILED: round 2 differs");
        unsigned sum = 0;
        for (unsigned k = 0; k < OP_KINDS; k++)
            sum += t->ops[k];
        if (sum != ops_per_round) {
            debug_printf("smp-stress: FAILED: thread %u counted %u operations of %u\n", id, sum,
                         ops_per_round);
            problems++;
        }
        problems += !same + w->mismatches + w->violations;
    }
    return problems;
}

/* Signals done_ntfn once a period and yields the rest of its budget, so
 * that the root task, blocked on done_ntfn, still sees its time limit
 * pass when no worker ends. */
static void watch_main(uint64_t unused)
{
    (void)unused;
    struct bk_msg m = { 0 };
    for (;;) {
        sys_send(done_ntfn, &m);
        sys_yield(0, &m);
    }
}

/* The notification and the watch (CPU 0, WATCH_BUDGET_NS every
 * WATCH_PERIOD_NS), from `slot` on (3 slots). */
static long start_watch(const struct bk_bootinfo *bi, uint64_t pool, uint64_t slot)
{
    done_ntfn = slot;
    long r = sys_untyped_retype(pool, BK_OBJ_NOTIFICATION, 0, SMPT_ROOT, 0, 0, slot, 1);
    if (r == 0)
        r = smpt_start_thread(pool, slot + 1, slot + 2, bi->sched_control, watch_main, 0,
                              watch_stack, sizeof(watch_stack), 0, WATCH_PRIORITY);
    if (r == 0)
        r = sys_sched_control_configure(bi->sched_control, slot + 2, WATCH_BUDGET_NS,
                                        WATCH_PERIOD_NS, 2, 0);
    return r;
}

/* Waits for every worker, WAIT_NS at most; on time out, says how far
 * each got (a worker that never ran is the scheduler's fault, one that
 * stopped part way the kernel's). It waits blocked on done_ntfn, not
 * polling: under -icount QEMU runs the CPUs in turn, and a CPU 0 that
 * never idles keeps the others from running at all (docs/smp.md, "QEMU
 * under -icount with several CPUs"). */
static int wait_workers(unsigned n)
{
    uint64_t end = debug_time_ns() + WAIT_NS;
    for (unsigned id = 0; id < n; id++) {
        while (!__atomic_load_n(&workers[id].done, __ATOMIC_ACQUIRE)) {
            if (debug_time_ns() > end) {
                for (unsigned k = 0; k < n; k++)
                    debug_printf("smp-stress: FAILED: thread %u (CPU %u): %llu of %u operations "
                                 "after %llu ms\n",
                                 k, workers[k].cpu, (unsigned long long)workers[k].progress,
                                 ROUNDS * ops_per_round,
                                 (unsigned long long)(WAIT_NS / SMPT_MS));
                return -1;
            }
            struct bk_msg m = { 0 };
            sys_recv(done_ntfn, &m); /* a worker ended, or a watch period passed */
        }
    }
    return 0;
}

int main(const struct bk_bootinfo *bi)
{
    cpus = bi->cpu_count;
    seed = smpt_option(bi->cmdline, "bulkhead.seed=", DEFAULT_SEED);
    ops_per_round = (unsigned)smpt_option(bi->cmdline, "bulkhead.stressops=", DEFAULT_OPS);
    unsigned pool_bits, n = cpus * THREADS_PER_CPU;
    uint64_t pool = smpt_pick_pool(bi, &pool_bits);
    debug_printf("smp-stress: %u CPUs, %u threads, %u rounds of %u operations each, seed %llu\n",
                 cpus, n, ROUNDS, ops_per_round, (unsigned long long)seed);
    if (cpus == 0 || cpus > MAX_CPUS) {
        debug_printf("smp-stress: FAILED: cpu_count %u is not 1 to %u\n", cpus, MAX_CPUS);
        return 1;
    }
    uint64_t slot = bi->first_free_slot;
    long r = make_page_tables(pool, slot);
    if (r == 0)
        r = start_watch(bi, pool, slot + 4);
    if (r == 0)
        r = start_echoes(bi, pool, slot + 7);
    if (r == 0)
        r = start_workers(bi, pool, slot + 7 + 3 * cpus);
    if (r != 0) {
        debug_printf("smp-stress: FAILED: setting up: %s\n", bk_error_name(r));
        return 1;
    }
    if (wait_workers(n) != 0)
        return 1;
    long v = debug_check_invariants();
    unsigned problems = report(n) + (v != 0);
    unsigned mismatches = 0, violations = (unsigned)(v > 0 ? v : v < 0);
    for (unsigned id = 0; id < n; id++) {
        mismatches += workers[id].mismatches;
        violations += workers[id].violations;
    }
    debug_printf("smp-stress: %u threads on %u CPUs, %u x %u operations each: %u mismatches, "
                 "%u invariant violations%s\n",
                 n, cpus, ROUNDS, ops_per_round, mismatches, violations,
                 problems ? "" : ", every untyped whole again, both rounds the same");
    debug_printf("%d passed, %d failed\n", problems == 0, problems != 0);
    return (int)problems;
}
