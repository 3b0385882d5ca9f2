/*
 * The multi-core benchmark (issue 16): IPC on several CPUs, counted per CPU.
 * Run by tools/bench/run.py with -smp 4, without -icount (the vCPUs then run
 * in parallel, as cores do), and QEMU's plugin tests/bench/plugin/vcpu_insns.c,
 * which answers each bench marker (smp_marker.h) with the instruction count
 * of the vCPU that executed it. The program prints what each marker means,
 * one line per operation:
 *   SMPOP {"operation": ..., "start": id, "end": id[, "partner": id][, "cpus": k]}
 * and run.py turns the markers into BENCH records: for each timed iteration
 * the instructions the client's CPU executed from `start` to `end`, plus,
 * with a partner (a server on another CPU that marks each request it
 * receives), the instructions the server's CPU executed from that request's
 * mark to the next one's (reply, idle, wake-up, receive).
 *
 * Operations, each a 0-word Call + ReplyRecv between two address spaces
 * (the server is the module "server_mark"):
 *   ipc_call_reply_0w_2as_smp       client and server on CPU 0, the others idle
 *   ipc_call_reply_0w_2as_smp_busy  the same with every other CPU spinning in
 *                                   user mode (the round trip must not pay for them)
 *   ipc_call_reply_0w_2as_smp_kbusy the same with every other CPU busy in the
 *                                   kernel: a cap copied and deleted in a loop,
 *                                   each under the kernel lock (what a round trip
 *                                   that takes no lock still pays for it: the
 *                                   waits for the lock to look free, counted)
 *   ipc_cross_core_roundtrip        client on CPU 0, server on CPU 1: both CPUs'
 *                                   instructions, the wake-up IPIs included
 *   ipc_scaling_<k>cpu              k independent pairs, pair c on CPU c, all at
 *                                   once: instructions per round trip on each CPU
 *                                   (linear scaling keeps them at the 1-CPU figure)
 * Then CPU isolation with the tenants on two CPUs (smp_isolation.c), in ns
 * of host time: BENCH records of their own.
 */
#include "smp_bench.h"
#include "smp_marker.h"

#include <bulkhead/format.h>

#define WARMUP 1000
#define MAX_CPUS 4
#define MS 1000000ull

/* Marker ids: plain numbers, as BENCH_MARK() puts them into the instruction. */
#define MARK_IDLE_START 1
#define MARK_IDLE_END 2
#define MARK_BUSY_START 3
#define MARK_BUSY_END 4
#define MARK_CROSS_START 5
#define MARK_CROSS_END 6
#define MARK_SERVER_RECEIVED 7
#define MARK_SCALE_START 8 /* k pairs: 8 + 2 * log2(k), and +1 for the end */
#define MARK_KBUSY_START 14
#define MARK_KBUSY_END 15
_Static_assert(MARK_SERVER_RECEIVED == 7, "server.c's MARK_RECEIVED() marks 7");
_Static_assert(MARK_SCALE_START + 5 < MARK_KBUSY_START, "marker ids apart");
_Static_assert(MARK_KBUSY_END < MARK_WAKE_SLEEP, "marker ids apart");
_Static_assert(MARK_WAKE_WOKE < 32, "the plugin knows markers 0-31");

static uint8_t stacks[MAX_CPUS][SMP_STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) buffers[MAX_CPUS];

static volatile unsigned go, finished;
volatile unsigned smp_stop;
static uint64_t server_ep[MAX_CPUS];

void smp_give_up(const char *what, long err)
{
    debug_printf("bench-smp: %s failed (%ld)\n", what, err);
    sys_thread_exit(1);
}

uint64_t smp_make(uint64_t type)
{
    uint64_t slot = bk_alloc_object(type, 0);
    if (!slot)
        smp_give_up("making an object", 0);
    return slot;
}

/* A SchedContext configured through CPU `cpu`'s SchedControl: a thread
 * bound to it runs on that CPU (docs/smp.md, affinity). */
static void run_on(uint64_t sched_context, const struct bk_bootinfo *bi, unsigned cpu,
                   uint64_t budget, uint64_t period)
{
    long r = sys_sched_control_configure(bi->sched_control + cpu, sched_context, budget, period,
                                         budget == period ? 1 : 8, 0);
    if (r != 0)
        smp_give_up("SchedControl: Configure", r);
}

uint64_t smp_start_budgeted(const struct bk_bootinfo *bi, unsigned cpu, void (*fn)(uint64_t),
                            uint64_t arg, uint8_t *stack, struct bk_ipc_buffer *ipc,
                            uint64_t budget, uint64_t period, unsigned priority,
                            uint64_t *sc_out)
{
    uint64_t tcb = smp_make(BK_OBJ_TCB), sc = smp_make(BK_OBJ_SCHED_CONTEXT);
    if (!budget && !period)
        budget = period = 10 * MS;
    run_on(sc, bi, cpu, budget, period);
    if (sc_out)
        *sc_out = sc;
    long r = sys_sched_context_bind(sc, tcb);
    if (r == 0)
        r = bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, fn, arg, stack,
                            SMP_STACK_SIZE, (uint64_t)(uintptr_t)ipc, priority);
    if (r != 0)
        smp_give_up("starting a thread", r);
    return tcb;
}

/* Starts `fn(arg)` as a thread of ours on CPU `cpu` on the whole CPU (one
 * per CPU at a time: the stack and IPC buffer are the CPU's). Returns its
 * TCB. */
static uint64_t start_thread_on(const struct bk_bootinfo *bi, unsigned cpu,
                                void (*fn)(uint64_t), uint64_t arg)
{
    return smp_start_budgeted(bi, cpu, fn, arg, stacks[cpu], &buffers[cpu].b, 0, 0, 100, NULL);
}

/* The server process "server_mark" on CPU `cpu`, answering on a new
 * endpoint that it returns. */
static uint64_t start_server_on(const struct bk_bootinfo *bi, unsigned cpu)
{
    struct bk_process server;
    uint64_t ep = smp_make(BK_OBJ_ENDPOINT);
    long r = bk_process_spawn(bi, "server_mark", 255, ep, BK_SPAWN_GIVE_DEBUG, &server);
    if (r != 0) {
        debug_printf("bench-smp: %s\n", server.error);
        smp_give_up("spawning the server", r);
    }
    run_on(server.sched_context, bi, cpu, 10 * MS, 10 * MS);
    return ep;
}

static void describe(const char *op, unsigned start, unsigned end, int partner, unsigned cpus)
{
    debug_printf("SMPOP {\"operation\": \"%s\", \"start\": %u, \"end\": %u", op, start, end);
    if (partner >= 0)
        debug_printf(", \"partner\": %d", partner);
    if (cpus)
        debug_printf(", \"cpus\": %u", cpus);
    debug_puts("}\n");
}

/* WARMUP untimed Calls, then `iterations` between the markers `start` and
 * `end` (the marker ids must be constants, hence one loop per pair), then
 * one more so that a marking server's last timed request has a next. */
#define TIMED_CALLS(ep, start, end)                          \
    do {                                                     \
        for (unsigned i_ = 0; i_ < WARMUP; i_++) {           \
            struct bk_msg m_ = { 0 };                        \
            sys_call((ep), &m_);                             \
        }                                                    \
        for (unsigned i_ = 0; i_ < iterations; i_++) {       \
            struct bk_msg m_ = { 0 };                        \
            BENCH_MARK(start);                               \
            sys_call((ep), &m_);                             \
            BENCH_MARK(end);                                 \
        }                                                    \
        struct bk_msg m_ = { 0 };                            \
        sys_call((ep), &m_);                                 \
    } while (0)

void smp_spin_until_stopped(uint64_t unused)
{
    (void)unused;
    while (!smp_stop)
        __asm__ volatile("" ::: "memory");
    sys_thread_exit(0);
}

long smp_copy_and_delete(uint64_t slot, uint64_t source)
{
    long r = sys_cnode_copy(BK_CAP_ROOT_CNODE, slot, BK_WORD_BITS, BK_CAP_ROOT_CNODE, source,
                            BK_WORD_BITS, BK_RIGHTS_ALL);
    return r ? r : sys_cnode_delete(BK_CAP_ROOT_CNODE, slot, BK_WORD_BITS);
}

/* The cap the kernel-busy neighbours copy (a notification), and an empty
 * slot of each CPU's to copy it into. */
static uint64_t kbusy_source, kbusy_slot[MAX_CPUS];
static volatile uint64_t kbusy_pairs[MAX_CPUS]; /* Copy + Delete pairs made */
static volatile long kbusy_error[MAX_CPUS];     /* the first that failed */

/* A neighbour busy in the kernel: a CNode Copy of a cap into its own slot
 * and a Delete of the copy, back to back until stopped, each invocation
 * under the kernel lock for most of its length (a tenant that makes
 * general-path syscalls in a loop). */
static void syscalls_until_stopped(uint64_t cpu)
{
    uint64_t slot = kbusy_slot[cpu];
    while (!smp_stop) {
        long r = smp_copy_and_delete(slot, kbusy_source);
        if (r != 0) {
            kbusy_error[cpu] = r;
            break;
        }
        kbusy_pairs[cpu]++;
    }
    sys_thread_exit(0);
}

/* Runs `fn(cpu)` on every CPU but CPU 0 during one timed row, then stops
 * and suspends them (their stacks go to the next row's threads). */
static void start_neighbours(const struct bk_bootinfo *bi, void (*fn)(uint64_t),
                             uint64_t tcbs[MAX_CPUS])
{
    smp_stop = 0;
    for (unsigned cpu = 1; cpu < bi->cpu_count && cpu < MAX_CPUS; cpu++)
        tcbs[cpu] = start_thread_on(bi, cpu, fn, cpu);
}

static void stop_neighbours(const uint64_t tcbs[MAX_CPUS])
{
    smp_stop = 1;
    for (unsigned cpu = 1; cpu < MAX_CPUS; cpu++)
        if (tcbs[cpu])
            sys_tcb_suspend(tcbs[cpu]);
}

static void bench_same_core(const struct bk_bootinfo *bi)
{
    uint64_t ep = server_ep[0];
    describe("ipc_call_reply_0w_2as_smp", MARK_IDLE_START, MARK_IDLE_END, -1, 0);
    TIMED_CALLS(ep, MARK_IDLE_START, MARK_IDLE_END);

    uint64_t spinners[MAX_CPUS] = { 0 };
    start_neighbours(bi, smp_spin_until_stopped, spinners);
    describe("ipc_call_reply_0w_2as_smp_busy", MARK_BUSY_START, MARK_BUSY_END, -1, 0);
    TIMED_CALLS(ep, MARK_BUSY_START, MARK_BUSY_END);
    stop_neighbours(spinners);

    kbusy_source = smp_make(BK_OBJ_NOTIFICATION);
    for (unsigned cpu = 1; cpu < MAX_CPUS; cpu++)
        if (!(kbusy_slot[cpu] = bk_slot_alloc()))
            smp_give_up("a free slot", 0);
    uint64_t kernel_busy[MAX_CPUS] = { 0 };
    start_neighbours(bi, syscalls_until_stopped, kernel_busy);
    describe("ipc_call_reply_0w_2as_smp_kbusy", MARK_KBUSY_START, MARK_KBUSY_END, -1, 0);
    TIMED_CALLS(ep, MARK_KBUSY_START, MARK_KBUSY_END);
    stop_neighbours(kernel_busy);
    for (unsigned cpu = 1; cpu < bi->cpu_count && cpu < MAX_CPUS; cpu++) {
        if (kbusy_error[cpu])
            smp_give_up("a kernel-busy neighbour's Copy or Delete", kbusy_error[cpu]);
        debug_printf("bench-smp: kernel-busy CPU %u made %llu Copy + Delete pairs meanwhile\n",
                     cpu, (unsigned long long)kbusy_pairs[cpu]);
    }
}

static void bench_cross_core(const struct bk_bootinfo *bi)
{
    describe("ipc_cross_core_roundtrip", MARK_CROSS_START, MARK_CROSS_END, MARK_SERVER_RECEIVED, 0);
    TIMED_CALLS(server_ep[1], MARK_CROSS_START, MARK_CROSS_END);
}

/* One scaling client: waits for the start, then its pair's Calls. */
static void scaling_client(uint64_t arg)
{
    unsigned cpu = (unsigned)arg & 0xff, pairs = (unsigned)(arg >> 8);
    while (!go)
        __asm__ volatile("" ::: "memory");
    if (pairs == 2)
        TIMED_CALLS(server_ep[cpu], MARK_SCALE_START + 2, MARK_SCALE_START + 3);
    else
        TIMED_CALLS(server_ep[cpu], MARK_SCALE_START + 4, MARK_SCALE_START + 5);
    __atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
    sys_thread_exit(0);
}

static void bench_scaling(const struct bk_bootinfo *bi, unsigned pairs, unsigned start)
{
    char op[32];
    bk_snprintf(op, sizeof op, "ipc_scaling_%ucpu", pairs);
    describe(op, start, start + 1, -1, pairs);
    if (pairs == 1) {
        TIMED_CALLS(server_ep[0], MARK_SCALE_START, MARK_SCALE_START + 1);
        return;
    }
    go = 0;
    finished = 0;
    for (unsigned cpu = 1; cpu < pairs; cpu++)
        start_thread_on(bi, cpu, scaling_client, (uint64_t)pairs << 8 | cpu);
    go = 1;
    if (pairs == 2)
        TIMED_CALLS(server_ep[0], MARK_SCALE_START + 2, MARK_SCALE_START + 3);
    else
        TIMED_CALLS(server_ep[0], MARK_SCALE_START + 4, MARK_SCALE_START + 5);
    while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != pairs - 1)
        __asm__ volatile("" ::: "memory");
}

int main(const struct bk_bootinfo *bi)
{
    iterations = parse_iterations(bi->cmdline, MAX_ITERATIONS);
    bk_alloc_init(bi);
    unsigned cpus = bi->cpu_count < MAX_CPUS ? (unsigned)bi->cpu_count : MAX_CPUS;
    debug_printf("bench-smp: %u iterations per operation after %u warm-up, on %s, %u CPUs\n",
                 iterations, WARMUP, bi->arch, cpus);
    if (cpus < 2) {
        debug_puts("bench-smp: needs at least 2 CPUs (-smp)\n");
        return 1;
    }
    for (unsigned cpu = 0; cpu < cpus; cpu++)
        server_ep[cpu] = start_server_on(bi, cpu);
    bench_same_core(bi);
    bench_cross_core(bi);
    bench_scaling(bi, 1, MARK_SCALE_START);
    bench_scaling(bi, 2, MARK_SCALE_START + 2);
    if (cpus >= 4)
        bench_scaling(bi, 4, MARK_SCALE_START + 4);
    bench_isolation_two_cpus(bi);
    debug_puts("bench-smp: done\n");
    return 0;
}
