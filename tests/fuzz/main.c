/*
 * The robustness test's driver (issue 3; fuzz.h explains the rules it
 * keeps). It takes its seed from the kernel command line
 * ("bulkhead.seed=N", decimal or 0x hex) or uses FUZZ_DEFAULT_SEED, prints
 * it, sets up the echo thread and the starting state (populate.c), then
 * issues random operations until FUZZ_DEFAULT_OPS ("bulkhead.fuzzops=N")
 * were made or FUZZ_MAX_TICKS passed, asking the kernel to check its
 * invariants after every FUZZ_CHECK_EVERY operations (every one: a bug
 * is caught by the operation that made it, at the price of fewer
 * operations per run). It ends with "fuzz: N operations, N
 * violations" and "1 passed, 0 failed" when the kernel reported no
 * violation (a panic never gets that far).
 *
 * To rerun a seed, with each operation printed from the K-th on:
 *   tools/runtest.py --arch A --kernel build/D/A/kernel.elf
 *     --image build/D/A/fuzz-image.img --status pass
 *     --append "bulkhead.seed=N bulkhead.fuzztrace=K"
 * The same seed and build make the same operations. Another build may
 * take another path (the addresses of the fuzzer's buffers are among the
 * arguments), and the timer decides how threads of the root task's
 * priority interleave with it and where the time bound stops the run.
 */
#include "fuzz.h"

#define FUZZ_DEFAULT_SEED 0x5eed2024ull
#define FUZZ_DEFAULT_OPS 60000
#define FUZZ_MAX_TICKS (12 * BK_TICK_HZ) /* keeps a TCG run near 15 s */
#define FUZZ_CHECK_EVERY 1
#define FUZZ_REFRESH_EVERY 200
#define FUZZ_RESET_EVERY 5000
#define FUZZ_PROGRESS_EVERY 2500
#define FUZZ_UNTYPED_BITS 22 /* 4 MiB for the fuzz untyped */

static struct fuzz fuzz;

/* The value of `key` ("name=") on the command line; false if absent. */
static int parse_option(const char *cmdline, const char *key, uint64_t *value)
{
    size_t key_len = strlen(key);
    for (const char *p = cmdline; *p; p++) {
        if (memcmp(p, key, key_len) != 0)
            continue;
        p += key_len;
        unsigned base = 10;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
            base = 16;
            p += 2;
        }
        uint64_t v = 0;
        for (;; p++) {
            unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0')
                         : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10)
                         : *p >= 'A' && *p <= 'F' ? (unsigned)(*p - 'A' + 10) : 99;
            if (d >= base)
                break;
            v = v * base + d;
        }
        *value = v;
        return 1;
    }
    return 0;
}

/* The largest RAM untyped: everything the fuzzer makes comes from it. */
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

/* Slots from the first free one: the fuzz untyped, the echo endpoint,
 * three for setting up the echo thread, then the window. */
static int setup(struct fuzz *f)
{
    unsigned pool_bits;
    f->pool = pick_pool(f->bi, &pool_bits);
    f->untyped = f->bi->first_free_slot;
    f->echo = f->untyped + 1;
    f->window = f->untyped + 8;
    if (!fz_abi_as_expected()) {
        debug_printf("fuzz: the TCB or CNode methods changed shape: update tests/fuzz/guard.c\n");
        return -1;
    }
    if (!f->pool || pool_bits <= FUZZ_UNTYPED_BITS ||
        f->window + FUZZ_WINDOW > (1ull << BK_ROOT_CNODE_BITS)) {
        debug_printf("fuzz: no room: pool untyped 2^%u bytes, window at %llu\n", pool_bits,
                     (unsigned long long)f->window);
        return -1;
    }
    long r = sys_untyped_retype(f->pool, BK_OBJ_UNTYPED, FUZZ_UNTYPED_BITS, BK_CAP_ROOT_CNODE, 0,
                                0, f->untyped, 1);
    if (!r)
        r = fz_start_echo(f, f->untyped + 2);
    if (r) {
        debug_printf("fuzz: setup failed: %s\n", bk_error_name(r));
        return -1;
    }
    struct bk_msg m = { .info = bk_msginfo(7, 1), .mr = { 42 } };
    sys_call(f->echo, &m);
    if (BK_MSGINFO_LABEL(m.info) != 7 || m.mr[0] != 42) {
        debug_printf("fuzz: the echo thread does not answer\n");
        return -1;
    }
    unsigned live = fz_populate(f);
    fz_let_helpers_block();
    debug_printf("fuzz: starting state: %u live caps in the window (%llu steps, %llu refused)\n",
                 live, (unsigned long long)f->populated_steps,
                 (unsigned long long)f->populate_failures);
    debug_printf("fuzz: pool untyped slot %llu (2^%u bytes), fuzz untyped slot %llu, echo "
                 "endpoint slot %llu, window %llu..%llu\n",
                 (unsigned long long)f->pool, pool_bits, (unsigned long long)f->untyped,
                 (unsigned long long)f->echo, (unsigned long long)f->window,
                 (unsigned long long)(f->window + FUZZ_WINDOW - 1));
    return 0;
}

static void check(struct fuzz *f)
{
    long v = debug_check_invariants();
    f->checks++;
    if (v == 0)
        return;
    if (v < 0) { /* a kernel without the walk, or no Debug cap: nothing was checked */
        if (f->violations == 0)
            debug_printf("fuzz: Debug: CheckInvariants failed: %s\n", bk_error_name(v));
        v = 1;
    }
    if (f->violations == 0)
        debug_printf("fuzz: first violation after operation %llu (seed 0x%llx)\n",
                     (unsigned long long)f->ops, (unsigned long long)f->seed);
    f->violations += (uint64_t)v;
}

static void run(struct fuzz *f)
{
    uint64_t start = debug_ticks(), attempts = 0;
    fz_refresh(f);
    while (f->ops < f->max_ops && attempts < 4 * f->max_ops) {
        if (debug_ticks() - start >= FUZZ_MAX_TICKS) {
            debug_printf("fuzz: time bound reached\n");
            break;
        }
        attempts++;
        if (!fz_operation(f))
            continue;
        f->ops++;
        if (f->ops % FUZZ_CHECK_EVERY == 0)
            check(f);
        if (f->ops % FUZZ_REFRESH_EVERY == 0)
            fz_refresh(f);
        if (f->ops % FUZZ_RESET_EVERY == 0)
            fz_rebuild(f);
        if (f->ops % FUZZ_PROGRESS_EVERY == 0)
            debug_printf("fuzz: %llu operations, %llu refused, %llu violations, %llu ticks\n",
                         (unsigned long long)f->ops, (unsigned long long)f->skipped,
                         (unsigned long long)f->violations,
                         (unsigned long long)(debug_ticks() - start));
    }
}

/* How often each method was carried out: evidence that the operations
 * reach live objects rather than failing their first check. */
static void print_coverage(const struct fuzz *f)
{
    debug_printf("fuzz: methods carried out / refused by the kernel:");
    for (unsigned l = 1; l < BK_LABEL_COUNT; l++) {
        if (f->method_ok[l] || f->method_failed[l])
            debug_printf(" %u:%u/%u", l, f->method_ok[l], f->method_failed[l]);
    }
    debug_printf("\n");
}

int main(const struct bk_bootinfo *bi)
{
    struct fuzz *f = &fuzz;
    uint64_t seed = FUZZ_DEFAULT_SEED;
    int from_cmdline = parse_option(bi->cmdline, "bulkhead.seed=", &seed);
    f->trace_from = ~0ull;
    parse_option(bi->cmdline, "bulkhead.fuzztrace=", &f->trace_from);
    f->max_ops = FUZZ_DEFAULT_OPS;
    parse_option(bi->cmdline, "bulkhead.fuzzops=", &f->max_ops);
    debug_printf("fuzz: Bulkhead robustness test on %s, seed %llu (0x%llx, %s)\n", bi->arch,
                 (unsigned long long)seed, (unsigned long long)seed,
                 from_cmdline ? "from bulkhead.seed=" : "the default");
    f->bi = bi;
    f->seed = seed;
    f->rng = seed ? seed : FUZZ_DEFAULT_SEED; /* xorshift needs a non-zero state */
    if (setup(f) != 0) {
        debug_printf("0 passed, 1 failed\n");
        return 1;
    }
    check(f);
    run(f);
    fz_reset(f);
    check(f);
    struct bk_msg m = { .info = bk_msginfo(5, 1), .mr = { 7 } };
    sys_call(f->echo, &m); /* the root task and its echo thread survived */
    int ok = f->violations == 0 && BK_MSGINFO_LABEL(m.info) == 5 && m.mr[0] == 7;
    print_coverage(f);
    debug_printf("fuzz: %s: %llu operations (%llu refused by the guard), %llu invariant checks; "
                 "%llu invocations, %llu of them on a live cap; starting state rebuilt with "
                 "%llu steps, %llu refused\n",
                 f->bi->arch, (unsigned long long)f->ops, (unsigned long long)f->skipped,
                 (unsigned long long)f->checks, (unsigned long long)f->invocations,
                 (unsigned long long)f->live_targets, (unsigned long long)f->populated_steps,
                 (unsigned long long)f->populate_failures);
    debug_printf("fuzz: %llu operations, %llu violations (seed %llu)\n",
                 (unsigned long long)f->ops, (unsigned long long)f->violations,
                 (unsigned long long)seed);
    debug_printf("%d passed, %d failed\n", ok, !ok);
    return ok ? 0 : 1;
}
