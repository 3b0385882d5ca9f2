/*
 * The CPU's cycle and time counters in user mode as a per-thread policy
 * (TCB: SetCounterAccess, issue 10): every thread reads them by default
 * (the benchmarks need them), a thread that is denied them faults on each
 * read (x86-64 rdtsc and rdtscp: #GP, a protection fault; RISC-V rdcycle,
 * rdtime and rdinstret: an illegal instruction), and the setting follows
 * the thread through the scheduler and the IPC fast path without leaking
 * to the next thread. The performance-monitoring counters fault for
 * everyone. One exception, outside the kernel's reach: on RISC-V a denied
 * time read traps to M-mode first, and OpenSBI answers it there without
 * looking at scounteren, so under OpenSBI rdtime stays readable.
 *
 * Faults are seen through fault endpoints (a fault in the root task would
 * end the run); helpers run above the root task, so each is done or
 * stopped when the call that started it returns.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192
#define HELPERS 3

/* BK_FAULT_EXCEPTION word 1, the kind, and the arch
 * code (word 3) a denied counter read raises. */
#if defined(__x86_64__)
#define DENIED_KIND BK_EXCEPTION_PROTECTION
#define DENIED_CODE 13 /* #GP */
#else
#define DENIED_KIND BK_EXCEPTION_ILLEGAL_INSTRUCTION
#define DENIED_CODE 2 /* scause: illegal instruction */
#endif

/* ---- The counter reads ------------------------------------------------------
 * Each is a function whose first instruction reads the counter, so a
 * fault's pc can be checked against the function's address. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl kt_read_tsc\n"
        "kt_read_tsc:\n"
        "    rdtsc\n"
        "    shlq $32, %rdx\n"
        "    orq %rdx, %rax\n"
        "    ret\n"
        ".globl kt_read_tscp\n"
        "kt_read_tscp:\n"
        "    rdtscp\n"
        "    shlq $32, %rdx\n"
        "    orq %rdx, %rax\n"
        "    ret\n"
        ".globl kt_read_pmc0\n"
        "kt_read_pmc0:\n"
        "    xorl %ecx, %ecx\n" /* counter 0; rdpmc itself is what faults */
        "    rdpmc\n"
        "    shlq $32, %rdx\n"
        "    orq %rdx, %rax\n"
        "    ret\n");
uint64_t kt_read_tsc(void);
uint64_t kt_read_tscp(void);
uint64_t kt_read_pmc0(void);
#define PMC_INSN_OFFSET 2 /* rdpmc follows the 2-byte xorl */
#else
__asm__(".text\n"
        ".globl kt_read_cycle\n"
        "kt_read_cycle:\n"
        "    rdcycle a0\n"
        "    ret\n"
        ".globl kt_read_time\n"
        "kt_read_time:\n"
        "    rdtime a0\n"
        "    ret\n"
        ".globl kt_read_instret\n"
        "kt_read_instret:\n"
        "    rdinstret a0\n"
        "    ret\n"
        ".globl kt_read_hpm3\n"
        "kt_read_hpm3:\n"
        "    csrr a0, hpmcounter3\n"
        "    ret\n");
uint64_t kt_read_cycle(void);
uint64_t kt_read_time(void);
uint64_t kt_read_instret(void);
uint64_t kt_read_hpm3(void);
#define PMC_INSN_OFFSET 0
#endif

struct counter {
    const char *name;
    uint64_t (*read)(void);
    /* A denied read may be answered by M-mode firmware (RISC-V time:
     * OpenSBI emulates it without checking scounteren). */
    bool firmware_answers;
};

/* The counters the policy governs. */
static const struct counter counters[] = {
#if defined(__x86_64__)
    { "rdtsc", kt_read_tsc, false },
    { "rdtscp", kt_read_tscp, false },
#else
    { "rdcycle", kt_read_cycle, false },
    { "rdtime", kt_read_time, true },
    { "rdinstret", kt_read_instret, false },
#endif
};
#define COUNTERS (sizeof(counters) / sizeof(counters[0]))

/* A performance-monitoring counter: never readable in user mode. */
#if defined(__x86_64__)
static const struct counter pmc = { "rdpmc", kt_read_pmc0, false };
#else
static const struct counter pmc = { "hpmcounter3", kt_read_hpm3, false };
#endif

/* Whether counter i exists on this CPU (rdtscp is CPUID 80000001h:EDX[27];
 * QEMU's TCG "max" CPU has it, KVM here does not). */
static int counter_present(unsigned i)
{
#if defined(__x86_64__)
    if (counters[i].read == kt_read_tscp) {
        uint32_t a = 0x80000001, b, c = 0, d;
        __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
        return (d >> 27) & 1;
    }
#endif
    (void)i;
    return 1;
}

/* ---- Helper threads ---------------------------------------------------------- */

static uint8_t stacks[HELPERS][STACK_SIZE] __attribute__((aligned(16)));
static struct page_buffer {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) buffers[HELPERS];
static volatile uint64_t progress, value;
static const struct counter *volatile reader_counter;

/* Reads reader_counter once: progress 1 before, 2 after. */
static void reader(uint64_t arg)
{
    (void)arg;
    progress = 1;
    value = reader_counter->read();
    progress = 2;
    sys_thread_exit(0);
}

/* Slots: s + 0 the reader's TCB, s + 1 its fault endpoint. */
static int make_reader(struct ktest_env *env, uint64_t s)
{
    if (kt_retype(env, BK_OBJ_TCB, 0, s, 1) || kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 1, 1))
        return 1;
    return sys_tcb_set_fault_endpoint(s, s + 1) != 0;
}

/* Starts the reader on `c` above the root task. 1: the read worked; 0: it
 * faulted, *fault is the fault message and the reader waits for the
 * handler's answer; -1: it did not start. */
static int run_reader(uint64_t s, const struct counter *c, struct bk_msg *fault)
{
    *fault = (struct bk_msg){ 0 };
    progress = value = 0;
    reader_counter = c;
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50);
    long r = bk_thread_start(s, ROOT, BK_CAP_ROOT_VSPACE, reader, 0, stacks[0], STACK_SIZE,
                             (uint64_t)(uintptr_t)&buffers[0].b, 100);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    if (r != 0 || progress == 0)
        return -1;
    if (progress == 2)
        return 1;
    sys_nbrecv(s + 1, fault); /* the fault, queued as a Call */
    return 0;
}

/* Answers the fault the reader waits with: label 0 restarts the read,
 * anything else leaves the reader stopped. The reader outranks us, so it
 * has run by the time this returns. */
static void answer_fault(uint64_t label)
{
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50);
    struct bk_msg reply = { .info = bk_msginfo(label, 0) };
    sys_reply(0, &reply);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
}

/* The fault says: a denied read of `c`, at its reading instruction. */
static int is_denied_read(const struct bk_msg *f, const struct counter *c, uint64_t insn_offset)
{
    return BK_MSGINFO_LABEL(f->info) == BK_FAULT_EXCEPTION &&
           f->mr[0] == (uint64_t)(uintptr_t)c->read + insn_offset && f->mr[1] == DENIED_KIND &&
           f->mr[3] == DENIED_CODE;
}

/* ---- Tests -------------------------------------------------------------------- */

static int test_default_allows_counters(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f;
    for (unsigned i = 0; i < COUNTERS; i++) {
        if (!counter_present(i))
            continue;
        /* The root task reads them... */
        uint64_t a = counters[i].read(), b = counters[i].read();
        KT_CHECK(b >= a);
        /* ...and so does a new thread nobody set a policy for. */
        KT_CHECK(make_reader(env, s + 2 * i) == 0);
        int r = run_reader(s + 2 * i, &counters[i], &f);
        if (r == 0)
            debug_printf("    %s faulted in a new thread (kind %llu)\n", counters[i].name,
                         (unsigned long long)f.mr[1]);
        KT_CHECK(r == 1 && value != 0);
    }
    return 0;
}

/* A new thread denied the counters reads counter i: 0 if that faulted as
 * it should (the thread is left stopped), 1 if not. */
static int denied_read_faults(struct ktest_env *env, uint64_t t, unsigned i)
{
    struct bk_msg f;
    KT_CHECK(make_reader(env, t) == 0);
    /* Set before bk_thread_start(): its WriteRegisters keeps it. */
    KT_OK(sys_tcb_set_counter_access(t, 0));
    int r = run_reader(t, &counters[i], &f);
    if (r == 1 && counters[i].firmware_answers) {
        debug_printf("    %s: read by the denied thread: the firmware answered it\n",
                     counters[i].name);
        return 0;
    }
    if (r != 0)
        debug_printf("    %s: the denied thread %s\n", counters[i].name,
                     r == 1 ? "read the counter" : "did not start");
    KT_CHECK(r == 0);
    answer_fault(1); /* leave it stopped */
    KT_CHECK(is_denied_read(&f, &counters[i], 0) && progress == 1);
    return 0;
}

static int test_denied_thread_faults(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    int bad = 0;
    for (unsigned i = 0; i < COUNTERS; i++) {
        if (!counter_present(i))
            continue;
        bad |= denied_read_faults(env, s + 2 * i, i);
        /* The root task, which ran in between, still reads it. */
        uint64_t a = counters[i].read();
        KT_CHECK(counters[i].read() >= a);
    }
    return bad;
}

static int test_allowing_again_restarts_read(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f;
    KT_CHECK(make_reader(env, s) == 0);
    KT_OK(sys_tcb_set_counter_access(s, 0));
    KT_CHECK(run_reader(s, &counters[0], &f) == 0);
    KT_CHECK(is_denied_read(&f, &counters[0], 0));
    /* The handler allows it and restarts the instruction: it reads. */
    KT_OK(sys_tcb_set_counter_access(s, 1));
    answer_fault(0);
    KT_CHECK(progress == 2 && value != 0);
    return 0;
}

static int test_performance_counters_always_fault(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg f;
    KT_CHECK(make_reader(env, s) == 0);
    KT_OK(sys_tcb_set_counter_access(s, 1));
    KT_CHECK(run_reader(s, &pmc, &f) == 0);
    KT_CHECK(is_denied_read(&f, &pmc, PMC_INSN_OFFSET));
    answer_fault(1);
    return 0;
}

static int test_set_counter_access_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, s, 1));
    KT_EXPECT_ERR(sys_tcb_set_counter_access(s, 2), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_tcb_set_counter_access(s, ~0ull), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(sys_tcb_set_counter_access(ROOT, 0), BK_ERR_ILLEGAL_OPERATION); /* a CNode */
    KT_OK(sys_tcb_set_counter_access(s, 0));
    KT_OK(sys_tcb_set_counter_access(s, 1));
    KT_OK(sys_tcb_set_counter_access(BK_CAP_ROOT_TCB, 1)); /* on itself: allowed already */
    uint64_t a = counters[0].read();
    KT_CHECK(counters[0].read() >= a);
    return 0;
}

/* ---- Through the IPC fast path ------------------------------------------------
 * A client C (priority 50) calls a server S (100) that is denied the
 * counters; both switches of each round trip take the fast path. A handler
 * H (200) gets both threads' faults, told apart by the badges of their
 * fault endpoint caps: S's fault is answered by allowing S and restarting
 * it, C's (there should be none) leaves C stopped. */

#define FP_SERVER(s) ((s) + 0)
#define FP_CLIENT(s) ((s) + 1)
#define FP_HANDLER(s) ((s) + 2)
#define FP_EP(s) ((s) + 3)
#define FP_FAULT_EP(s) ((s) + 4)
#define FP_SERVER_FAULTS(s) ((s) + 5) /* FP_FAULT_EP minted with badge 1 */
#define FP_CLIENT_FAULTS(s) ((s) + 6) /* ... with badge 2 */
#define FP_ROUNDS 3

static volatile unsigned server_faults, client_faults, client_rounds;
static volatile uint64_t server_fault_kind;

/* Reads the first counter when a call's mr0 asks for it. */
static void fp_server(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_recv(FP_EP(s), &m);
    for (;;) {
        m.mr[1] = m.mr[0] ? counters[0].read() : 0;
        m.info = bk_msginfo(0, 2);
        sys_reply_recv(FP_EP(s), &m);
    }
}

/* Sets S's policy and calls it, three rounds (the table). After each round
 * trip C reads the counter itself: the fast path back to C must have given
 * it back the counters S was denied. */
static void fp_client(uint64_t s)
{
    static const struct { uint64_t deny_server, server_reads; } rounds[FP_ROUNDS] = {
        { 1, 1 }, /* S faults once; H allows it; its read goes on */
        { 1, 0 }, /* S runs denied without reading; C must read after it */
        { 0, 1 }, /* S allowed: it reads without a fault */
    };
    for (unsigned i = 0; i < FP_ROUNDS; i++) {
        if (rounds[i].deny_server && sys_tcb_set_counter_access(FP_SERVER(s), 0) != 0)
            break;
        if (!rounds[i].deny_server && sys_tcb_set_counter_access(FP_SERVER(s), 1) != 0)
            break;
        struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { rounds[i].server_reads } };
        sys_call(FP_EP(s), &m);
        if (rounds[i].server_reads && m.mr[1] == 0)
            break;
        uint64_t a = counters[0].read();
        if (counters[0].read() < a)
            break;
        client_rounds = i + 1;
    }
    sys_thread_exit(0);
}

static void fp_handler(uint64_t s)
{
    for (;;) {
        struct bk_msg f = { 0 };
        sys_recv(FP_FAULT_EP(s), &f);
        struct bk_msg reply = { .info = bk_msginfo(1, 0) }; /* stay stopped */
        if (f.badge == 1) {
            server_faults++;
            server_fault_kind = f.mr[1];
            if (sys_tcb_set_counter_access(FP_SERVER(s), 1) == 0)
                reply.info = bk_msginfo(0, 0); /* read again, allowed */
        } else {
            client_faults++;
        }
        sys_reply(0, &reply);
    }
}

static int fp_setup(struct ktest_env *env, uint64_t s)
{
    if (kt_retype(env, BK_OBJ_TCB, 0, FP_SERVER(s), 3) ||
        kt_retype(env, BK_OBJ_ENDPOINT, 0, FP_EP(s), 2))
        return 1;
    if (sys_cnode_mint(ROOT, FP_SERVER_FAULTS(s), W, ROOT, FP_FAULT_EP(s), W, BK_RIGHTS_ALL, 1) ||
        sys_cnode_mint(ROOT, FP_CLIENT_FAULTS(s), W, ROOT, FP_FAULT_EP(s), W, BK_RIGHTS_ALL, 2))
        return 1;
    return sys_tcb_set_fault_endpoint(FP_SERVER(s), FP_SERVER_FAULTS(s)) != 0 ||
           sys_tcb_set_fault_endpoint(FP_CLIENT(s), FP_CLIENT_FAULTS(s)) != 0;
}

static int test_policy_follows_fast_path(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(fp_setup(env, s) == 0);
    server_faults = client_faults = client_rounds = 0;
    server_fault_kind = 0;
    /* Below all three: each runs until it blocks, and the client's round
     * trips happen with no ready thread in the way of the fast path. */
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 10));
    long r = bk_thread_start(FP_HANDLER(s), ROOT, BK_CAP_ROOT_VSPACE, fp_handler, s, stacks[2],
                             STACK_SIZE, (uint64_t)(uintptr_t)&buffers[2].b, 200);
    if (r == 0)
        r = bk_thread_start(FP_SERVER(s), ROOT, BK_CAP_ROOT_VSPACE, fp_server, s, stacks[0],
                            STACK_SIZE, (uint64_t)(uintptr_t)&buffers[0].b, 100);
    if (r == 0)
        r = bk_thread_start(FP_CLIENT(s), ROOT, BK_CAP_ROOT_VSPACE, fp_client, s, stacks[1],
                            STACK_SIZE, (uint64_t)(uintptr_t)&buffers[1].b, 50);
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    sys_tcb_suspend(FP_SERVER(s));
    sys_tcb_suspend(FP_HANDLER(s));
    KT_OK(r);
    if (client_rounds != FP_ROUNDS || server_faults != 1 || client_faults != 0)
        debug_printf("    rounds %u of %u, server faults %u (expected 1), client faults %u\n",
                     client_rounds, FP_ROUNDS, server_faults, client_faults);
    KT_CHECK(client_faults == 0);
    KT_CHECK(server_faults == 1 && server_fault_kind == DENIED_KIND);
    KT_CHECK(client_rounds == FP_ROUNDS);
    return 0;
}

const struct ktest counter_tests[] = {
    { "counters: the root task and new threads read them (the default)",
      test_default_allows_counters },
    { "counters: a denied thread faults on each counter read", test_denied_thread_faults },
    { "counters: allowing a stopped thread again lets its read go on",
      test_allowing_again_restarts_read },
    { "counters: performance counters fault even when allowed",
      test_performance_counters_always_fault },
    { "counters: set_counter_access checks its argument", test_set_counter_access_errors },
    { "counters: the policy follows fast-path switches both ways", test_policy_follows_fast_path },
};
const unsigned counter_test_count = sizeof(counter_tests) / sizeof(counter_tests[0]);
