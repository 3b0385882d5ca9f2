/*
 * A tenant that faults at will (issue 10): a thread without a fault
 * handler faults, and whoever holds its TCB cap (here the root task, as a
 * tenant's own supervisor would) restarts it, STORM_FAULTS times. The
 * kernel must not let that reach the shared console or the clock:
 *
 *  - at most the rate limit's reports go out, then one "N messages
 *    suppressed" line (kernel/log.c; tests/qemu/tests.cmake counts the
 *    lines), and never the thread's registers;
 *  - a fixed piece of work takes about as many timer ticks interleaved
 *    with the storm as on its own (at most TICKS_FACTOR times as many,
 *    plus TICKS_SLACK): the kernel spends no long stretches with
 *    interrupts off printing, so ticks are neither lost nor stolen.
 *
 * After the storm it waits for the limit to refill and faults once more:
 * that report goes out, after the summary of what was held back.
 */
#include <bulkhead/sys.h>

#define STORM_FAULTS 500
#define WORK_TICKS 30     /* the work is calibrated to take at least this long */
#define TICKS_FACTOR 2
#define TICKS_SLACK 3
#define REFILL_WAIT_TICKS (BK_TICK_HZ + BK_TICK_HZ / 10) /* one token of the limit, and a bit */
#define FAULTER_PRIORITY 200
#define ROOT_PRIORITY 100
#define STACK_SIZE 16384

static uint8_t faulter_stack[STACK_SIZE] __attribute__((aligned(16)));
static volatile uint64_t sink;
static int failures;

static void expect(int ok, const char *what)
{
    debug_printf("faultstorm: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

/* Reads the address it is given (0): a page fault, every time. */
static void faulter(uint64_t address)
{
    (void)*(volatile uint64_t *)(uintptr_t)address;
    sys_thread_exit(1); /* never reached */
}

/* A fixed amount of arithmetic (an LCG step per iteration). */
static void work(uint64_t iterations)
{
    uint64_t x = sink;
    for (uint64_t i = 0; i < iterations; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink = x;
}

static uint64_t ticks_for(uint64_t iterations)
{
    uint64_t start = debug_ticks();
    work(iterations);
    return debug_ticks() - start;
}

/* Iterations that take at least WORK_TICKS ticks on this machine. */
static uint64_t calibrate(void)
{
    uint64_t n = 1u << 16;
    while (ticks_for(n) < WORK_TICKS && n < (1ull << 40))
        n *= 2;
    return n;
}

/* Restarts the faulter, which outranks us and so faults before this
 * returns; true if it is stopped by that fault. */
static int fault_once(uint64_t tcb)
{
    uint64_t sp = bk_stack_top(faulter_stack, STACK_SIZE), pc, osp, arg, state = 0;
    if (sys_tcb_write_registers(tcb, 1, (uint64_t)(uintptr_t)faulter, sp, 0) != 0)
        return 0;
    return sys_tcb_read_registers(tcb, &pc, &osp, &arg, &state) == 0 &&
           state == BK_THREAD_STATE_FAULTED;
}

/* The work again, cut in STORM_FAULTS pieces with a fault between two. */
static uint64_t ticks_during_storm(uint64_t tcb, uint64_t iterations, unsigned *faults)
{
    uint64_t start = debug_ticks();
    for (unsigned i = 0; i < STORM_FAULTS; i++) {
        work(iterations / STORM_FAULTS);
        *faults += (unsigned)fault_once(tcb);
    }
    return debug_ticks() - start;
}

static void wait_ticks(uint64_t ticks)
{
    uint64_t start = debug_ticks();
    while (debug_ticks() - start < ticks)
        ;
}

int main(const struct bk_bootinfo *bi)
{
    /* The work alone first: the storm's reports all fall in the next second. */
    uint64_t iterations = calibrate();
    uint64_t alone = ticks_for(iterations);
    bk_alloc_init(bi);
    uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0);
    long err = -BK_ERR_NOT_ENOUGH_MEMORY;
    expect(tcb != 0 && bk_sched_whole_cpu(tcb, &err) != 0,
           "made the faulting thread's TCB and SchedContext");
    if (!tcb || err)
        return 1;
    expect(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_PRIORITY) == 0,
           "lowered our priority below the faulter's");
    /* Its first run faults at once, like every later one. */
    expect(bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, faulter, 0, faulter_stack,
                           STACK_SIZE, 0, FAULTER_PRIORITY) == 0,
           "started the faulting thread");
    unsigned faults = 0;
    uint64_t storm = ticks_during_storm(tcb, iterations, &faults);
    debug_printf("faultstorm: work of %llu iterations: %llu ticks alone, %llu ticks with %u "
                 "faults in between\n", (unsigned long long)iterations,
                 (unsigned long long)alone, (unsigned long long)storm, faults);
    expect(faults == STORM_FAULTS, "500 faults, each stopped the thread");
    expect(storm <= TICKS_FACTOR * alone + TICKS_SLACK,
           "the work took at most twice its ticks (and 3) during the storm");
    /* One more report may go out once the limit has refilled. */
    wait_ticks(REFILL_WAIT_TICKS);
    expect(fault_once(tcb), "one more fault after a second of quiet");
    debug_printf("faultstorm: %s\n", failures ? "checks FAILED" : "all checks passed");
    return failures;
}
