/*
 * Kernel test suite driver: runs every test group, each test with its own
 * untyped and slot window, and prints one line per test and the closing
 * "N passed, N failed". Exit status: the number of failures.
 */
#include "ktest.h"

#define TEST_UNTYPED_BITS 20 /* 1 MiB per test */
#define TEST_SLOTS 256
/* Past the window: the SchedContexts kt_retype() gives new threads, then
 * libsys's allocators' slots. */
#define SC_SLOTS 64

static uint64_t slot_window;
static uint64_t sc_slots_used;

uint64_t kt_slots(void)
{
    return slot_window;
}

/* A middle server (the scheduling tests' chains): answers each Call on `arg & 0xffff` with what the
 * server on `arg >> 16` answers, plus one. */
void kt_forwarding_server(uint64_t arg)
{
    uint64_t ep = arg & 0xffff, next = arg >> 16;
    struct bk_msg m = { 0 };
    sys_recv(ep, &m);
    for (;;) {
        struct bk_msg inner = { .info = bk_msginfo(0, 1), .mr = { m.mr[0] } };
        sys_call(next, &inner);
        m.info = bk_msginfo(0, 1);
        m.mr[0] = inner.mr[0] + 1;
        sys_reply_recv(ep, &m);
    }
}

void kt_invoke(uint64_t service, uint64_t label, unsigned length, const uint64_t *words,
               struct bk_msg *reply)
{
    struct bk_msg m = { 0 };
    m.info = BK_MSGINFO(length, 0, 0, label);
    for (unsigned i = 0; i < length; i++) {
        if (i < BK_MSG_CPU_WORDS)
            m.mr[i] = words[i];
        else
            bk_ipc_buffer->mr[i] = words[i];
    }
    bk_ipc_syscall(BK_SYS_CALL, service, &m);
    *reply = m;
}

void kt_init_allocators(struct ktest_env *env)
{
    static struct bk_bootinfo fake;
    memset(&fake, 0, sizeof(fake));
    fake.first_free_slot = kt_slots() + TEST_SLOTS + SC_SLOTS;
    fake.untyped_count = 1;
    fake.untyped[0] = (struct bk_untyped_desc){ .slot = env->untyped,
                                                .size_bits = (uint8_t)env->untyped_bits };
    bk_alloc_init(&fake);
}

int kt_kernel_has_walk(void)
{
    return debug_check_invariants() != -BK_ERR_ILLEGAL_OPERATION;
}

long kt_check_invariants(void)
{
    long v = debug_check_invariants();
    return v == -BK_ERR_ILLEGAL_OPERATION ? 0 : v;
}

long kt_give_cpu(struct ktest_env *env, uint64_t tcb, uint64_t *sc_slot)
{
    if (sc_slots_used == SC_SLOTS)
        return -BK_ERR_RANGE;
    uint64_t sc = slot_window + TEST_SLOTS + sc_slots_used++;
    if (sc_slot)
        *sc_slot = sc;
    long r = sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, BK_CAP_ROOT_CNODE, 0, 0,
                                sc, 1);
    if (r == 0)
        r = sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, BK_SCHED_ROOT_PERIOD_NS,
                                        BK_SCHED_ROOT_PERIOD_NS, 1, 0);
    if (r == 0)
        r = sys_sched_context_bind(sc, tcb);
    return r;
}

long kt_retype(struct ktest_env *env, uint64_t type, uint64_t size_bits, uint64_t slot,
               uint64_t count)
{
    long r = sys_untyped_retype(env->untyped, type, size_bits, BK_CAP_ROOT_CNODE, 0, 0, slot, count);
    for (uint64_t i = 0; r == 0 && type == BK_OBJ_TCB && i < count; i++)
        r = kt_give_cpu(env, slot + i, NULL);
    return r;
}

/* The largest RAM untyped from the boot info; tests carve theirs from it. */
static uint64_t pick_pool(const struct bk_bootinfo *bi, unsigned *bits)
{
    uint64_t best = 0;
    *bits = 0;
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        if (!bi->untyped[i].is_device && bi->untyped[i].size_bits > *bits) {
            *bits = bi->untyped[i].size_bits;
            best = bi->untyped[i].slot;
        }
    }
    return best;
}

static int run_group(const struct ktest *tests, unsigned count, struct ktest_env *env,
                     uint64_t pool, int *failed)
{
    int passed = 0;
    for (unsigned i = 0; i < count; i++) {
        /* A fresh 1 MiB untyped at env->untyped, and a window of empty slots. */
        sc_slots_used = 0;
        long r = sys_untyped_retype(pool, BK_OBJ_UNTYPED, TEST_UNTYPED_BITS, BK_CAP_ROOT_CNODE,
                                    0, 0, env->untyped, 1);
        int bad = r != 0 || tests[i].fn(env) != 0;
        debug_printf("%s %s\n", bad ? "FAIL" : "ok  ", tests[i].name);
        if (r != 0)
            debug_printf("    could not make the test's untyped: %s\n", bk_error_name(r));
        /* A failed test may have left the root task at a low priority. */
        sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
        /* Everything the test made came from its untyped: revoke, delete. */
        sys_cnode_revoke(BK_CAP_ROOT_CNODE, env->untyped, BK_WORD_BITS);
        sys_cnode_delete(BK_CAP_ROOT_CNODE, env->untyped, BK_WORD_BITS);
        for (uint64_t s = slot_window; s < slot_window + TEST_SLOTS; s++)
            sys_cnode_delete(BK_CAP_ROOT_CNODE, s, BK_WORD_BITS);
        sys_cnode_revoke(BK_CAP_ROOT_CNODE, pool, BK_WORD_BITS);
        if (bad)
            (*failed)++;
        else
            passed++;
    }
    return passed;
}

/* "ktest.only=NAME" on the command line runs the one group NAME (as
 * "smp", the file name without _tests.c): for running a group over and
 * over while chasing a rare failure, and for the groups too slow or too
 * load-sensitive for the whole suite (smp_contended), which run only when
 * named. Returns the value's start, or NULL without the option. */
static int starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

static const char *only_group(const struct bk_bootinfo *bi)
{
    static const char key[] = "ktest.only=";
    const char *c = bi->cmdline;
    for (size_t i = 0; i + sizeof(key) < sizeof(bi->cmdline) && c[i]; i++)
        if ((i == 0 || c[i - 1] == ' ') && starts_with(c + i, key))
            return c + i + sizeof(key) - 1;
    return NULL;
}

/* Whether group `name` runs: every group but the opt-in ones without
 * ktest.only, only the one named with it. */
static int group_wanted(const struct bk_bootinfo *bi, const char *name, int opt_in)
{
    const char *only = only_group(bi);
    if (!only)
        return !opt_in;
    size_t n = strlen(name);
    return starts_with(only, name) && (only[n] == ' ' || only[n] == '\0');
}

/* The groups in the order they run; an opt-in one only when named. */
static const struct group {
    const char *name;
    const struct ktest *tests;
    const unsigned *count;
    int opt_in;
} groups[] = {
    { "abi", abi_tests, &abi_test_count, 0 },
    { "clock", clock_tests, &clock_test_count, 0 },
    { "untyped", untyped_tests, &untyped_test_count, 0 },
    { "cnode", cnode_tests, &cnode_test_count, 0 },
    { "thread", thread_tests, &thread_test_count, 0 },
    { "ipc", ipc_tests, &ipc_test_count, 0 },
    { "endpoint", endpoint_tests, &endpoint_test_count, 0 },
    { "cdt", cdt_tests, &cdt_test_count, 0 },
    { "sched", sched_tests, &sched_test_count, 0 },
    { "smp", smp_tests, &smp_test_count, 0 },
    { "smp_contended", smp_contended_tests, &smp_contended_test_count, 1 },
    { "timeout", timeout_tests, &timeout_test_count, 0 },
    { "reply", reply_tests, &reply_test_count, 0 },
    { "fastpath", fastpath_tests, &fastpath_test_count, 0 },
    { "counter", counter_tests, &counter_test_count, 0 },
    { "fpu", fpu_tests, &fpu_test_count, 0 },
    { "runtime", runtime_tests, &runtime_test_count, 0 },
    { "process", process_tests, &process_test_count, 0 },
    { "proto", proto_tests, &proto_test_count, 0 },
    { "vspace", vspace_tests, &vspace_test_count, 0 },
    { "asid", asid_tests, &asid_test_count, 0 },
    { "irq", irq_tests, &irq_test_count, 0 },
    { "iospace", iospace_tests, &iospace_test_count, 0 },
    { "debug", debug_tests, &debug_test_count, 0 },
};

int main(const struct bk_bootinfo *bi)
{
    struct ktest_env env = { .bi = bi, .untyped_bits = TEST_UNTYPED_BITS };
    unsigned pool_bits;
    uint64_t pool = pick_pool(bi, &pool_bits);
    debug_printf("ktest: Bulkhead kernel test suite on %s; pool untyped slot %llu (2^%u bytes)\n",
                 bi->arch, (unsigned long long)pool, pool_bits);
    env.pool = pool;
    env.pool_bits = pool_bits;
    env.untyped = bi->first_free_slot;
    slot_window = bi->first_free_slot + 1;
    int passed = 0, failed = 0;
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        if (group_wanted(bi, groups[g].name, groups[g].opt_in))
            passed += run_group(groups[g].tests, *groups[g].count, &env, pool, &failed);
    debug_printf("ktest %s: %d passed, %d failed\n", bi->arch, passed, failed);
    debug_printf("%d passed, %d failed\n", passed, failed);
    if (passed + failed == 0) {
        debug_printf("ktest: no tests ran: a suite that tests nothing must not pass\n");
        return 1;
    }
    return failed;
}
