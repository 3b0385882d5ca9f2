/*
 * The Bulkhead side of the IPC benchmark: a root task that times kernel
 * operations with the CPU's instruction counter. Run under QEMU with
 * `-icount shift=0` (tools/bench/run.py), x86-64's TSC and RISC-V's
 * instret advance by exactly one per guest instruction, so a difference is
 * an instruction count (user and kernel, both threads, stubs included).
 *
 * Each operation: a warm-up, then ITERATIONS timed repetitions, each timed
 * on its own; the result line is
 *   BENCH {"arch": ..., "system": "bulkhead", "operation": ..., "unit":
 *          "instructions", "min": ..., "median": ..., "p99": ..., "iterations": ...}
 * The kernel command line may say "bench.iterations=N".
 */
#include <bulkhead/format.h>
#include <bulkhead/sys.h>

#define MAX_ITERATIONS 20000
#define WARMUP 1000
#define STACK_SIZE 8192

static uint64_t samples[MAX_ITERATIONS];
static unsigned iterations = 10000;
static uint8_t server_stack[STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) server_buffer;

static void sort(uint64_t *v, unsigned n)
{
    /* Shell sort: no recursion, fine for 20,000 values. */
    for (unsigned gap = n / 2; gap; gap /= 2) {
        for (unsigned i = gap; i < n; i++) {
            uint64_t x = v[i];
            unsigned j = i;
            for (; j >= gap && v[j - gap] > x; j -= gap)
                v[j] = v[j - gap];
            v[j] = x;
        }
    }
}

static void report(const struct bk_bootinfo *bi, const char *op)
{
    sort(samples, iterations);
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": \"%s\", "
                 "\"unit\": \"instructions\", \"min\": %llu, \"median\": %llu, \"p99\": %llu, "
                 "\"iterations\": %u}\n",
                 bi->arch, op, (unsigned long long)samples[0],
                 (unsigned long long)samples[iterations / 2],
                 (unsigned long long)samples[iterations * 99 / 100], iterations);
}

static uint64_t make(uint64_t type)
{
    uint64_t slot = bk_alloc_object(type, 0);
    if (!slot) {
        debug_printf("bench: cannot make object type %llu\n", (unsigned long long)type);
        sys_thread_exit(1);
    }
    return slot;
}

/* ---- Operations ---------------------------------------------------------- */

/* Enter and leave the kernel: yield, with no other thread to run yet (it
 * runs first), the syscall that does least. */
static void bench_null_syscall(const struct bk_bootinfo *bi)
{
    for (unsigned i = 0; i < WARMUP + iterations; i++) {
        struct bk_msg m = { 0 };
        uint64_t t0 = bk_counter();
        sys_yield(0, &m);
        uint64_t t1 = bk_counter();
        if (i >= WARMUP)
            samples[i - WARMUP] = t1 - t0;
    }
    report(bi, "null_syscall");
}

static uint64_t server_ep;

/* Answers every Call at once: the server loop of a round-trip benchmark. */
static void echo_server(uint64_t words)
{
    struct bk_msg m = { 0 };
    sys_recv(server_ep, &m);
    for (;;) {
        m.info = bk_msginfo(0, words);
        sys_reply_recv(server_ep, &m);
    }
}

/* Times Call round trips on `ep`; `between` (or NULL) runs before each
 * call, outside the timed window. */
static void bench_calls(const struct bk_bootinfo *bi, uint64_t ep, unsigned words,
                        unsigned caps, void (*between)(void), const char *op)
{
    for (unsigned i = 0; i < WARMUP + iterations; i++) {
        struct bk_msg m = { .info = BK_MSGINFO(words, caps, 0, 0), .mr = { 1, 2, 3, 4 } };
        if (between)
            between();
        uint64_t t0 = bk_counter();
        sys_call(ep, &m);
        uint64_t t1 = bk_counter();
        if (i >= WARMUP)
            samples[i - WARMUP] = t1 - t0;
    }
    report(bi, op);
}

static void bench_call(const struct bk_bootinfo *bi, uint64_t ep, unsigned words,
                       unsigned caps, const char *op)
{
    bench_calls(bi, ep, words, caps, NULL, op);
}

static void start_server(uint64_t tcb, void (*fn)(uint64_t), uint64_t arg)
{
    long err;
    if (!bk_sched_whole_cpu(tcb, &err) ||
        bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, fn, arg, server_stack,
                        STACK_SIZE, (uint64_t)(uintptr_t)&server_buffer.b, 255) != 0) {
        debug_puts("bench: cannot start the server thread\n");
        sys_thread_exit(1);
    }
}

static void bench_ipc_one_address_space(const struct bk_bootinfo *bi)
{
    uint64_t tcb = make(BK_OBJ_TCB);
    server_ep = make(BK_OBJ_ENDPOINT);
    start_server(tcb, echo_server, 0);
    bench_call(bi, server_ep, 0, 0, "ipc_call_reply_0w_1as");
    sys_tcb_suspend(tcb);

    uint64_t tcb4 = make(BK_OBJ_TCB);
    start_server(tcb4, echo_server, 4);
    bench_call(bi, server_ep, 4, 0, "ipc_call_reply_4w_1as");
    sys_tcb_suspend(tcb4);

    /* The general path: one capability (a badged cap to the same endpoint,
     * which arrives unwrapped as its badge) travels with each call. */
    uint64_t granted = bk_slot_alloc();
    sys_cnode_mint(BK_CAP_ROOT_CNODE, granted, BK_WORD_BITS, BK_CAP_ROOT_CNODE, server_ep,
                   BK_WORD_BITS, BK_RIGHTS_ALL, 7);
    bk_ipc_buffer->caps[0] = granted;
    uint64_t tcb_cap = make(BK_OBJ_TCB);
    start_server(tcb_cap, echo_server, 0);
    bench_call(bi, granted, 0, 1, "ipc_slowpath_cap_transfer");
    sys_tcb_suspend(tcb_cap);
}

/* Starts boot-image module `module` as a server process answering Calls
 * on the endpoint it returns. */
static uint64_t spawn_server(const struct bk_bootinfo *bi, const char *module,
                             struct bk_process *server)
{
    uint64_t ep = make(BK_OBJ_ENDPOINT);
    long r = bk_process_spawn(bi, module, 255, ep, BK_SPAWN_GIVE_DEBUG, server);
    if (r != 0) {
        debug_printf("bench: cannot start the %s process: %s\n", module, server->error);
        sys_thread_exit(1);
    }
    return ep;
}

/* The same round trips with the server in another address space (a
 * process started from the boot image module "server"). */
static void bench_ipc_two_address_spaces(const struct bk_bootinfo *bi)
{
    struct bk_process server;
    uint64_t ep = spawn_server(bi, "server", &server);
    bench_call(bi, ep, 0, 0, "ipc_call_reply_0w_2as");
    bench_call(bi, ep, 4, 0, "ipc_call_reply_4w_2as");
    /* The server waits in its ReplyRecv: without its SchedContext it is
     * passive, and each Call lends it ours (docs/scheduling.md). */
    if (sys_sched_context_unbind(server.sched_context) != 0) {
        debug_puts("bench: cannot make the server passive\n");
        sys_thread_exit(1);
    }
    bench_call(bi, ep, 0, 0, "ipc_call_reply_0w_2as_passive");
    sys_tcb_suspend(server.tcb);
}

static volatile double client_accumulator = 2.0;

static void use_fpu(void)
{
    client_accumulator = client_accumulator * 0.9999999 + 0.25;
}

/* The 0-word round trip between two address spaces whose threads both use
 * the FPU between calls (the server module "server_fpu" before each
 * reply, this thread before each call, outside the timed window), so each
 * switch finds the other thread's FPU state live and dirty. */
static void bench_ipc_fpu_two_address_spaces(const struct bk_bootinfo *bi)
{
    struct bk_process server;
    uint64_t ep = spawn_server(bi, "server_fpu", &server);
    bench_calls(bi, ep, 0, 0, use_fpu, "ipc_call_reply_0w_2as_fpu");
    sys_tcb_suspend(server.tcb);
}

static uint64_t ping_ntfn, pong_ntfn;

static void pong_thread(uint64_t unused)
{
    (void)unused;
    struct bk_msg m = { 0 };
    for (;;) {
        sys_recv(ping_ntfn, &m);
        sys_send(pong_ntfn, &m);
    }
}

static void bench_notification(const struct bk_bootinfo *bi)
{
    uint64_t tcb = make(BK_OBJ_TCB);
    ping_ntfn = make(BK_OBJ_NOTIFICATION);
    pong_ntfn = make(BK_OBJ_NOTIFICATION);
    start_server(tcb, pong_thread, 0);
    for (unsigned i = 0; i < WARMUP + iterations; i++) {
        struct bk_msg m = { 0 };
        uint64_t t0 = bk_counter();
        sys_send(ping_ntfn, &m);
        sys_recv(pong_ntfn, &m);
        uint64_t t1 = bk_counter();
        if (i >= WARMUP)
            samples[i - WARMUP] = t1 - t0;
    }
    sys_tcb_suspend(tcb);
    report(bi, "notification_roundtrip");
}

/* ---- irq_to_user ----------------------------------------------------------
 * One device interrupt's whole life: the MMIO write that makes the device
 * interrupt at once, delivery to this thread (the user-level driver) through
 * its IRQ handler's notification, the device clear and the ack. Each arch
 * uses a device of its QEMU machine that can interrupt on demand without
 * the vCPU idling (which -icount would count as time):
 *  - RISC-V virt: the goldfish RTC, an alarm set in the past (PLIC 11);
 *  - x86-64 q35: the HPET's timer 0, one-shot, level-triggered, routed to
 *    an IOAPIC pin of 16 and up; a comparator in the past fires one counter
 *    tick (10 ns, ten instructions under -icount) later (QEMU hw/timer/hpet.c).
 */
#define DEVICE_VADDR 0x50000000ull

#if defined(__riscv)
#define DEVICE_PADDR 0x101000ull /* goldfish RTC */
#define RTC_ALARM_LOW 2
#define RTC_ALARM_HIGH 3
#define RTC_IRQ_ENABLED 4
#define RTC_CLEAR_INTERRUPT 7

/* Returns the interrupt line, or -1 if the device is not usable. */
static int device_start(volatile uint32_t *rtc)
{
    rtc[RTC_CLEAR_INTERRUPT] = 1;
    rtc[RTC_IRQ_ENABLED] = 1;
    return 11;
}

static void device_fire(volatile uint32_t *rtc)
{
    rtc[RTC_ALARM_HIGH] = 0; /* high, then low: time 0 is long past */
    rtc[RTC_ALARM_LOW] = 0;
}

static void device_clear(volatile uint32_t *rtc)
{
    rtc[RTC_CLEAR_INTERRUPT] = 1;
}

static void device_stop(volatile uint32_t *rtc)
{
    rtc[RTC_IRQ_ENABLED] = 0;
}
#else
#define DEVICE_PADDR 0xfed00000ull /* HPET (IA-PC HPET spec 1.0a, 2.3) */
#define HPET_CONFIG (0x010 / 4)
#define HPET_STATUS (0x020 / 4)
#define HPET_T0_CONFIG (0x100 / 4)
#define HPET_T0_ROUTE_CAP (0x104 / 4)
#define HPET_T0_COMPARATOR_LOW (0x108 / 4)
#define HPET_T0_COMPARATOR_HIGH (0x10c / 4)
#define HPET_ENABLE 1u
#define HPET_TN_LEVEL (1u << 1)
#define HPET_TN_INT_ENABLE (1u << 2)
#define HPET_TN_ROUTE_SHIFT 9

static int device_start(volatile uint32_t *hpet)
{
    /* Pins 16 and up are level-triggered PCI lines (arch/x86_64/ioapic.c). */
    uint32_t routes = hpet[HPET_T0_ROUTE_CAP];
    int pin = 31;
    while (pin >= 16 && !(routes >> pin & 1))
        pin--;
    if (pin < 16)
        return -1;
    hpet[HPET_CONFIG] = 0;
    hpet[HPET_T0_COMPARATOR_HIGH] = 0;
    hpet[HPET_T0_CONFIG] = HPET_TN_LEVEL | HPET_TN_INT_ENABLE | (uint32_t)pin << HPET_TN_ROUTE_SHIFT;
    hpet[HPET_STATUS] = 1;
    hpet[HPET_CONFIG] = HPET_ENABLE;
    return pin;
}

static void device_fire(volatile uint32_t *hpet)
{
    hpet[HPET_T0_COMPARATOR_LOW] = 0; /* the counter is past 0: fires at once */
}

static void device_clear(volatile uint32_t *hpet)
{
    hpet[HPET_STATUS] = 1; /* timer 0's level interrupt: write 1 to clear */
}

static void device_stop(volatile uint32_t *hpet)
{
    hpet[HPET_T0_CONFIG] = 0;
    hpet[HPET_CONFIG] = 0;
}
#endif

/* Maps the device's page at DEVICE_VADDR from the device untyped that
 * starts there; false if there is none. */
static bool map_device(const struct bk_bootinfo *bi)
{
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        if (!bi->untyped[i].is_device || bi->untyped[i].paddr != DEVICE_PADDR)
            continue;
        uint64_t frame = bk_slot_alloc();
        return sys_untyped_retype(bi->untyped[i].slot, BK_OBJ_FRAME, 12, BK_CAP_ROOT_CNODE, 0, 0,
                                  frame, 1) == 0 &&
               bk_map_frame(BK_CAP_ROOT_VSPACE, frame, DEVICE_VADDR, BK_VM_READ | BK_VM_WRITE,
                            BK_VM_UNCACHED) == 0;
    }
    return false;
}

static void bench_irq_to_user(const struct bk_bootinfo *bi)
{
    volatile uint32_t *dev = (volatile uint32_t *)(uintptr_t)DEVICE_VADDR;
    uint64_t ntfn = make(BK_OBJ_NOTIFICATION), handler = bk_slot_alloc();
    int irq = map_device(bi) ? device_start(dev) : -1;
    if (irq < 0 ||
        sys_irq_control_get(BK_CAP_IRQ_CONTROL, (uint64_t)irq, BK_CAP_ROOT_CNODE, handler,
                            BK_WORD_BITS) != 0 ||
        sys_irq_handler_set_notification(handler, ntfn) != 0) {
        debug_puts("bench: no usable interrupting device; irq_to_user skipped\n");
        return;
    }
    for (unsigned i = 0; i < WARMUP + iterations; i++) {
        struct bk_msg m = { 0 };
        uint64_t t0 = bk_counter();
        device_fire(dev);
        sys_recv(ntfn, &m);
        device_clear(dev);
        sys_irq_handler_ack(handler);
        uint64_t t1 = bk_counter();
        if (i >= WARMUP)
            samples[i - WARMUP] = t1 - t0;
    }
    device_stop(dev);
    report(bi, "irq_to_user");
}

static unsigned parse_iterations(const char *cmdline)
{
    static const char key[] = "bench.iterations=";
    for (const char *p = cmdline; *p; p++) {
        unsigned k = 0;
        while (key[k] && p[k] == key[k])
            k++;
        if (key[k])
            continue;
        unsigned n = 0;
        for (p += k; *p >= '0' && *p <= '9'; p++)
            n = n * 10 + (unsigned)(*p - '0');
        return n < 100 ? 100 : n > MAX_ITERATIONS ? MAX_ITERATIONS : n;
    }
    return 10000;
}

/* ---- CPU isolation (issue 12) ----------------------------------------------
 *
 * Tenant A: one interactive thread on 300 us of every 1 ms at priority 200
 * (its reservation: 30 %) that yields the rest of its budget, so it wakes
 * once a period, and records how late each wake-up came against the last
 * one plus a period (under -icount a count is a nanosecond of virtual
 * time). Tenant B: two threads at 150 that spin on 350 us of every 1 ms
 * each (70 % in all). A's wake-up latency alone and beside B: B must not
 * make A late. Beside B, each tenant's share of the CPU too: what its
 * SchedContexts consumed (SchedContext: Consumed) over the kernel's clock
 * (Debug: Time) while A took its timed wake-ups.
 * tests/bench/linux/cpu_isolation.c is the same scenario on Linux.
 *
 * The second kind of B (HOG_SYSCALLS) has the same two threads and budgets,
 * but instead of spinning they make the longest kernel calls a tenant can,
 * in a loop (syscall_hog() below): A's wake-ups then land while the kernel
 * works for B, and show how long a kernel entry can last now that long
 * calls restart at bounded intervals (docs/scheduling.md, Kernel latency).
 */
#define VICTIM_PERIOD 1000000ull /* counts: ns under -icount */
#define VICTIM_WAKES 500
#define VICTIM_WARMUP 20
#define VICTIM_BUDGET 300000ull /* ns of every VICTIM_PERIOD */
#define HOG_THREADS 2
#define HOG_BUDGET 350000ull /* ns of every VICTIM_PERIOD, each */
/* The syscall hog's period differs from A's, so that A's wake-ups, 1 ms
 * apart, move by 10 us a period against B's budgets and over 500 of them
 * fall at every point of B's work. With B's period equal to A's, as for
 * the spinning hog, they fall at the same point each time: one layout of
 * the bench put none of them inside a long call, another nearly all. */
#define SYSCALL_HOG_PERIOD 990000ull
#define SYSCALL_HOG_BUDGET 346500ull /* ns of every SYSCALL_HOG_PERIOD, each: 70 % in all */

static volatile unsigned victim_done;
static volatile unsigned victim_timing; /* set at the last warm-up wake-up */
static uint8_t victim_stack[STACK_SIZE] __attribute__((aligned(16)));
static uint8_t hog_stacks[HOG_THREADS][STACK_SIZE] __attribute__((aligned(16)));

static void victim(uint64_t unused)
{
    (void)unused;
    struct bk_msg m = { 0 };
    sys_yield(0, &m);
    uint64_t last = bk_counter();
    for (unsigned i = 0; i < VICTIM_WARMUP + VICTIM_WAKES; i++) {
        sys_yield(0, &m); /* the rest of this period's budget: wake at the next */
        uint64_t now = bk_counter();
        uint64_t late = now - last > VICTIM_PERIOD ? now - last - VICTIM_PERIOD : 0;
        if (i >= VICTIM_WARMUP)
            samples[i - VICTIM_WARMUP] = late;
        if (i == VICTIM_WARMUP - 1)
            victim_timing = 1;
        last = now;
    }
    victim_done = 1;
    for (;;)
        sys_yield(0, &m);
}

static void hog(uint64_t unused)
{
    (void)unused;
    for (;;)
        client_accumulator += 1.0;
}

/* ---- The syscall hog ---------------------------------------------------------
 * The second kind of tenant B: the same two threads on 350 us of every 1 ms
 * at priority 150, each making one kind of long kernel call over and over
 * (the memory they use is set up before they start, outside A's timed
 * window):
 *  - thread 0: Retype of the largest untyped the bench can get (up to
 *    2^HOG_MAX_UNTYPED_BITS bytes) into 2 MiB frames, which zeroes all of it
 *    64 KiB per kernel entry, then the Revoke of the frames (which resets
 *    the untyped, so none of its memory stays known zero);
 *  - thread 1: a CNode of 2^17 slots retyped (8 MiB zeroed), filled with
 *    131,072 endpoints by 512 Retypes of 256 from an 8 MiB untyped, the
 *    Revoke of that untyped (a derivation tree of 131,072 caps, 64 deleted
 *    per kernel entry); filled again, then the Delete of the CNode's only
 *    cap (its zombie empties 64 slots per entry).
 * The fills are Retypes too (16 KiB zeroed and 256 objects made per call),
 * not a long run of short copies: every call in the loop is a long one.
 */
#define HOG_MAX_UNTYPED_BITS 28 /* 2 MiB frames: 128, within BK_RETYPE_MAX_OBJECTS */
#define HOG_MIN_UNTYPED_BITS 22
#define HOG_FRAME_BITS 21
#define HOG_CNODE_BITS 17
#define HOG_SLOT_BITS 6     /* 64 bytes per CNode slot, and per endpoint (docs/objects.md) */
#define HOG_FILL_CALLS ((1u << HOG_CNODE_BITS) / BK_RETYPE_MAX_OBJECTS)

static struct {
    uint64_t big, big_bits, frames;        /* thread 0: its untyped, its size, the frames' slots */
    uint64_t cnode_ut, endpoint_ut, cnode; /* thread 1: its untypeds, the CNode's slot */
    volatile uint64_t retypes, revokes, deletes; /* long calls completed, of each kind */
    volatile long error;                   /* the first call that failed, or 0 */
    uint64_t fill_call;                    /* instructions of one fill Retype, timed alone */
} shog;

static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) hog_buffers[HOG_THREADS];

/* Thread 0's pair: the Retype of the whole untyped, then its Revoke. */
static long hog_retype_largest(void)
{
    uint64_t frames = 1ull << (shog.big_bits - HOG_FRAME_BITS);
    long r = sys_untyped_retype(shog.big, BK_OBJ_FRAME, HOG_FRAME_BITS, BK_CAP_ROOT_CNODE, 0, 0,
                                shog.frames, frames);
    if (r == 0) {
        shog.retypes++;
        r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, shog.big, BK_WORD_BITS);
    }
    return r;
}

/* Fills every slot of the hog's CNode with a new endpoint. */
static long hog_fill_cnode(void)
{
    long r = 0;
    for (unsigned i = 0; i < HOG_FILL_CALLS && r == 0; i++)
        r = sys_untyped_retype(shog.endpoint_ut, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, shog.cnode,
                               BK_WORD_BITS, (uint64_t)i * BK_RETYPE_MAX_OBJECTS,
                               BK_RETYPE_MAX_OBJECTS);
    return r;
}

/* Thread 1's round: a full CNode, the Revoke of its 131,072 endpoints'
 * untyped; full again, and the Delete of the CNode. Both untypeds are
 * childless after it, so the next Retypes start from their beginning. */
static long hog_revoke_and_delete(void)
{
    long r = sys_untyped_retype(shog.cnode_ut, BK_OBJ_CNODE, HOG_CNODE_BITS, BK_CAP_ROOT_CNODE, 0,
                                0, shog.cnode, 1);
    if (r == 0)
        r = hog_fill_cnode();
    if (r == 0)
        r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, shog.endpoint_ut, BK_WORD_BITS);
    if (r == 0) {
        shog.revokes++;
        r = hog_fill_cnode();
    }
    if (r == 0)
        r = sys_cnode_delete(BK_CAP_ROOT_CNODE, shog.cnode, BK_WORD_BITS);
    if (r == 0)
        shog.deletes++;
    return r;
}

/* Hog thread `thread` (0 or 1): its calls until one fails (then it spins). */
static void syscall_hog(uint64_t thread)
{
    long r;
    do
        r = thread == 0 ? hog_retype_largest() : hog_revoke_and_delete();
    while (r == 0);
    shog.error = r;
    hog(0);
}

/* One Retype of the fill, timed with nothing else running: its 16 KiB are
 * below RETYPE_ZERO_CHUNK, so it is one kernel entry, the hog's longest.
 * The CNode is deleted again: the hog's loop starts as it always does. */
static long time_fill_call(void)
{
    long r = sys_untyped_retype(shog.cnode_ut, BK_OBJ_CNODE, HOG_CNODE_BITS, BK_CAP_ROOT_CNODE, 0,
                                0, shog.cnode, 1);
    uint64_t t0 = bk_counter();
    if (r == 0)
        r = sys_untyped_retype(shog.endpoint_ut, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, shog.cnode,
                               BK_WORD_BITS, 0, BK_RETYPE_MAX_OBJECTS);
    shog.fill_call = bk_counter() - t0;
    return r == 0 ? sys_cnode_delete(BK_CAP_ROOT_CNODE, shog.cnode, BK_WORD_BITS) : r;
}

/* The hog's memory and slots, before its threads start. */
static void syscall_hog_setup(void)
{
    shog.big = 0;
    for (shog.big_bits = HOG_MAX_UNTYPED_BITS; !shog.big && shog.big_bits >= HOG_MIN_UNTYPED_BITS;)
        if (!(shog.big = bk_alloc_object(BK_OBJ_UNTYPED, (unsigned)shog.big_bits)))
            shog.big_bits--;
    shog.frames = bk_slots_alloc_range(1ull << (shog.big_bits - HOG_FRAME_BITS));
    shog.cnode_ut = bk_alloc_object(BK_OBJ_UNTYPED, HOG_CNODE_BITS + HOG_SLOT_BITS);
    shog.endpoint_ut = bk_alloc_object(BK_OBJ_UNTYPED, HOG_CNODE_BITS + HOG_SLOT_BITS);
    shog.cnode = bk_slot_alloc();
    shog.retypes = shog.revokes = shog.deletes = 0;
    shog.error = 0;
    if (!shog.big || !shog.frames || !shog.cnode_ut || !shog.endpoint_ut || !shog.cnode ||
        time_fill_call() != 0) {
        debug_puts("bench: not enough memory or slots for the syscall hog\n");
        sys_thread_exit(1);
    }
}

/* A thread on `budget` ns of every `period` at `priority`, started at
 * fn(arg) with IPC buffer `ipc_buffer` (or 0); its SchedContext in *sc_out. */
static uint64_t start_budgeted(void (*fn)(uint64_t), uint64_t arg, uint8_t *stack,
                               uint64_t ipc_buffer, uint64_t budget, uint64_t period,
                               unsigned priority, uint64_t *sc_out)
{
    uint64_t tcb = make(BK_OBJ_TCB), sc = make(BK_OBJ_SCHED_CONTEXT);
    *sc_out = sc;
    if (sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, budget, period, 8, 0) != 0 ||
        sys_sched_context_bind(sc, tcb) != 0 ||
        bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, fn, arg, stack, STACK_SIZE,
                        ipc_buffer, priority) != 0) {
        debug_puts("bench: cannot start a budgeted thread\n");
        sys_thread_exit(1);
    }
    return tcb;
}

/* The tenants' CPU use at one instant: the kernel's clock and what each
 * SchedContext consumed, in ns; and the syscall hog's calls so far. */
struct cpu_use {
    uint64_t ns, victim, hog;
    uint64_t victim_throttles, hog_throttles;
    uint64_t retypes, revokes, deletes;
};

/* What `sc` consumed (ns); how often it ran out is added to *throttles. */
static uint64_t consumed(uint64_t sc, uint64_t *throttles)
{
    uint64_t used, throttled, budget, period;
    if (sys_sched_context_consumed(sc, &used, &throttled, &budget, &period) != 0)
        return 0;
    *throttles += throttled;
    return used;
}

static void cpu_use(struct cpu_use *u, uint64_t victim_sc, const uint64_t *hog_scs)
{
    u->ns = debug_time_ns();
    u->victim_throttles = u->hog_throttles = 0;
    u->victim = consumed(victim_sc, &u->victim_throttles);
    u->hog = 0;
    for (unsigned i = 0; i < HOG_THREADS; i++)
        u->hog += hog_scs[i] ? consumed(hog_scs[i], &u->hog_throttles) : 0;
    u->retypes = shog.retypes;
    u->revokes = shog.revokes;
    u->deletes = shog.deletes;
}

/* Lateness in ns, which it is under -icount: min, median, p99 (nearest
 * rank, as the Linux side reports them) and max of VICTIM_WAKES samples;
 * `extra` ("" or more JSON fields, each after ", ") ends the record. */
static void report_lateness(const struct bk_bootinfo *bi, const char *op, const char *extra)
{
    unsigned n = VICTIM_WAKES;
    sort(samples, n);
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": \"%s\", "
                 "\"unit\": \"ns\", \"min\": %llu, \"median\": %llu, \"p99\": %llu, "
                 "\"max\": %llu, \"iterations\": %u%s}\n",
                 bi->arch, op, (unsigned long long)samples[0],
                 (unsigned long long)samples[(n * 50 + 99) / 100 - 1],
                 (unsigned long long)samples[(n * 99 + 99) / 100 - 1],
                 (unsigned long long)samples[n - 1], n, extra);
}

/* A tenant's share of the CPU in percent (two decimals) beside its policy,
 * and how often its SchedContexts ran out of budget in the window. */
static void report_share(const struct bk_bootinfo *bi, const char *op, uint64_t used,
                         uint64_t elapsed, uint64_t throttles, unsigned policy_percent,
                         const char *policy)
{
    uint64_t hundredths = elapsed ? (used * 10000 + elapsed / 2) / elapsed : 0;
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": \"%s\", "
                 "\"unit\": \"percent\", \"value\": %llu.%02llu, \"policy_percent\": %u, "
                 "\"policy\": \"%s\", \"used_ns\": %llu, \"elapsed_ns\": %llu, "
                 "\"throttles\": %llu}\n",
                 bi->arch, op, (unsigned long long)(hundredths / 100),
                 (unsigned long long)(hundredths % 100), policy_percent, policy,
                 (unsigned long long)used, (unsigned long long)elapsed,
                 (unsigned long long)throttles);
}

enum hog_kind { NO_HOG, SPINNING_HOG, SYSCALL_HOG };

/* What the syscall hog did in A's timed window, as fields of the lateness
 * record: the size of each call and how many of each ended in the window;
 * and the instructions of one fill Retype (time_fill_call()). */
static void syscall_hog_fields(char *buf, size_t size, const struct cpu_use *start,
                               const struct cpu_use *end)
{
    snprintf(buf, size,
             ", \"retype_bytes\": %llu, \"retypes\": %llu, \"revoke_caps\": %u, \"revokes\": %llu, "
             "\"delete_cnode_slots\": %u, \"deletes\": %llu, \"fill_call_instructions\": %llu",
             1ull << shog.big_bits, (unsigned long long)(end->retypes - start->retypes),
             1u << HOG_CNODE_BITS, (unsigned long long)(end->revokes - start->revokes),
             1u << HOG_CNODE_BITS, (unsigned long long)(end->deletes - start->deletes),
             (unsigned long long)shog.fill_call);
}

/* Starts tenant B of `kind` (nothing for NO_HOG); its SchedContexts in
 * hog_scs, its TCBs returned in hogs. */
static void start_hog(enum hog_kind kind, uint64_t *hogs, uint64_t *hog_scs)
{
    bool calls = kind == SYSCALL_HOG;
    if (calls)
        syscall_hog_setup();
    for (unsigned i = 0; kind != NO_HOG && i < HOG_THREADS; i++)
        hogs[i] = start_budgeted(calls ? syscall_hog : hog, i, hog_stacks[i],
                                 (uint64_t)(uintptr_t)&hog_buffers[i].b,
                                 calls ? SYSCALL_HOG_BUDGET : HOG_BUDGET,
                                 calls ? SYSCALL_HOG_PERIOD : VICTIM_PERIOD, 150, &hog_scs[i]);
}

static void report_cpu_victim(const struct bk_bootinfo *bi, enum hog_kind kind,
                              const struct cpu_use *start, const struct cpu_use *end)
{
    static const char *const wake[] = { "cpu_victim_wake_alone", "cpu_victim_wake_beside_hog",
                                        "cpu_victim_wake_beside_syscall_hog" };
    char fields[256] = "";
    if (kind == SYSCALL_HOG)
        syscall_hog_fields(fields, sizeof(fields), start, end);
    report_lateness(bi, wake[kind], fields);
    if (kind == NO_HOG)
        return;
    uint64_t elapsed = end->ns - start->ns;
    report_share(bi, kind == SYSCALL_HOG ? "cpu_share_victim_beside_syscall_hog"
                                         : "cpu_share_victim",
                 end->victim - start->victim, elapsed,
                 end->victim_throttles - start->victim_throttles,
                 (unsigned)(VICTIM_BUDGET * 100 / VICTIM_PERIOD),
                 "reservation: 300 us of every 1 ms at priority 200");
    if (kind == SPINNING_HOG)
        report_share(bi, "cpu_share_hog", end->hog - start->hog, elapsed,
                     end->hog_throttles - start->hog_throttles,
                     (unsigned)(HOG_THREADS * HOG_BUDGET * 100 / VICTIM_PERIOD),
                     "limit: 2 threads x 350 us of every 1 ms at priority 150");
    else
        report_share(bi, "cpu_share_syscall_hog", end->hog - start->hog, elapsed,
                     end->hog_throttles - start->hog_throttles,
                     (unsigned)(HOG_THREADS * SYSCALL_HOG_BUDGET * 100 / SYSCALL_HOG_PERIOD),
                     "limit: 2 threads x 346.5 us of every 990 us at priority 150");
}

static void bench_cpu_victim(const struct bk_bootinfo *bi, enum hog_kind kind)
{
    uint64_t hogs[HOG_THREADS] = { 0 }, hog_scs[HOG_THREADS] = { 0 }, victim_sc;
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100);
    start_hog(kind, hogs, hog_scs);
    victim_done = victim_timing = 0;
    uint64_t tcb =
        start_budgeted(victim, 0, victim_stack, 0, VICTIM_BUDGET, VICTIM_PERIOD, 200, &victim_sc);
    /* This thread runs below both tenants, so it samples in the time they
     * leave, within a period of the timed wake-ups' start and end. */
    struct cpu_use start, end;
    struct bk_msg m = { 0 };
    while (!victim_timing)
        sys_yield(0, &m);
    cpu_use(&start, victim_sc, hog_scs);
    while (!victim_done)
        sys_yield(0, &m);
    cpu_use(&end, victim_sc, hog_scs);
    sys_tcb_suspend(tcb);
    for (unsigned i = 0; i < HOG_THREADS; i++) {
        if (hogs[i])
            sys_tcb_suspend(hogs[i]);
    }
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    if (kind == SYSCALL_HOG && shog.error) {
        debug_printf("bench: a call of the syscall hog failed: error %ld\n", -shog.error);
        sys_thread_exit(1);
    }
    report_cpu_victim(bi, kind, &start, &end);
}

/* ---- timeout_fault_* -----------------------------------------------------------
 * A timeout fault's way to its handler and back, in instructions. A spinner
 * at priority 150 runs on a SchedContext of TIMEOUT_BUDGET ns with timeout
 * faults on (TCB: SetTimeoutFaults) and the bench's endpoint as its fault
 * endpoint. The handler, at 200 on a whole-CPU SchedContext, receives each
 * BK_FAULT_TIMEOUT, gives the spinner a fresh budget (SchedControl:
 * Configure, as a scheduler server would) and answers with label 0
 * (ReplyRecv), so the spinner goes on at once. The spinner reads the
 * counter in a tight loop; two readings more than TIMEOUT_GAP apart with a
 * fault counted by the handler in between are one fault:
 *  - timeout_fault_to_handler: from the spinner's last reading before the
 *    budget ended to the handler's first reading after its Recv returned
 *    the fault (the rest of that pass of the spinner's loop, the timer
 *    interrupt, charging, the fault message, the switch, the return to
 *    user mode);
 *  - timeout_fault_roundtrip: from the same reading to the spinner's first
 *    reading after it resumed: the above, the handler's bookkeeping, its
 *    Configure and ReplyRecv, the switch back and the interrupt's return.
 * Nothing idles in either window, so under -icount each is an exact
 * count of the instructions the CPU retired; the pass of the spinner's
 * loop the interrupt cut short adds at most that loop's few instructions.
 */
#define TIMEOUT_BUDGET 5000ull /* ns: 5,000 instructions of spinning per fault */
#define TIMEOUT_BADGE 12
#define TIMEOUT_GAP 100 /* counts: far above a pass of the loop, far below a fault */

static uint64_t roundtrips[MAX_ITERATIONS];
static uint64_t tf_ep, tf_sc, tf_spinner;
static volatile uint64_t tf_faults, tf_received_at, tf_recorded;
static volatile unsigned tf_done;
static volatile long tf_wrong; /* a fault that was not the spinner's timeout */
static uint8_t tf_stacks[2][STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) tf_handler_buffer; /* for Configure's fifth word */

static void timeout_spinner(uint64_t unused)
{
    (void)unused;
    uint64_t last = bk_counter(), seen = tf_faults;
    for (;;) {
        uint64_t now = bk_counter();
        if (now - last > TIMEOUT_GAP && tf_faults != seen) {
            seen = tf_faults;
            if (seen > WARMUP && seen <= WARMUP + iterations) {
                samples[seen - WARMUP - 1] = tf_received_at - last;
                roundtrips[seen - WARMUP - 1] = now - last;
            }
            tf_recorded = seen;
        }
        last = now;
    }
}

/* Answers WARMUP + iterations faults with a fresh budget; at the next one
 * stops the spinner (which is waiting for the answer) and tells the bench. */
static void timeout_handler(uint64_t unused)
{
    (void)unused;
    struct bk_msg m = { 0 };
    sys_recv(tf_ep, &m);
    for (;;) {
        tf_received_at = bk_counter();
        if (BK_MSGINFO_LABEL(m.info) != BK_FAULT_TIMEOUT || m.mr[0] != TIMEOUT_BADGE)
            tf_wrong = (long)BK_MSGINFO_LABEL(m.info);
        if (++tf_faults > WARMUP + iterations)
            break;
        sys_sched_control_configure(BK_CAP_SCHED_CONTROL, tf_sc, TIMEOUT_BUDGET, VICTIM_PERIOD, 2,
                                    TIMEOUT_BADGE);
        m.info = bk_msginfo(0, 0);
        sys_reply_recv(tf_ep, &m);
    }
    sys_tcb_suspend(tf_spinner);
    tf_done = 1;
    sys_recv(tf_ep, &m); /* nothing comes */
}

static void bench_timeout_fault(const struct bk_bootinfo *bi)
{
    uint64_t handler = make(BK_OBJ_TCB);
    long err;
    tf_ep = make(BK_OBJ_ENDPOINT);
    tf_spinner = make(BK_OBJ_TCB);
    tf_sc = make(BK_OBJ_SCHED_CONTEXT);
    tf_faults = tf_recorded = tf_done = 0;
    tf_wrong = 0;
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100);
    if (!bk_sched_whole_cpu(handler, &err) ||
        bk_thread_start(handler, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, timeout_handler, 0,
                        tf_stacks[0], STACK_SIZE, (uint64_t)(uintptr_t)&tf_handler_buffer.b,
                        200) != 0 ||
        sys_sched_control_configure(BK_CAP_SCHED_CONTROL, tf_sc, TIMEOUT_BUDGET, VICTIM_PERIOD, 2,
                                    TIMEOUT_BADGE) != 0 ||
        sys_sched_context_bind(tf_sc, tf_spinner) != 0 ||
        sys_tcb_set_timeout_faults(tf_spinner, 1) != 0 ||
        sys_tcb_set_fault_endpoint(tf_spinner, tf_ep) != 0 ||
        bk_thread_start(tf_spinner, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, timeout_spinner, 0,
                        tf_stacks[1], STACK_SIZE, 0, 150) != 0) {
        debug_puts("bench: cannot start the timeout-fault threads\n");
        sys_thread_exit(1);
    }
    struct bk_msg m = { 0 };
    while (!tf_done) /* this thread, at 100, runs only then */
        sys_yield(0, &m);
    sys_tcb_suspend(handler);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255);
    if (tf_wrong || tf_recorded != WARMUP + iterations) {
        debug_printf("bench: timeout faults: %llu seen of %u, label %ld\n",
                     (unsigned long long)tf_recorded, WARMUP + iterations, tf_wrong);
        sys_thread_exit(1);
    }
    report(bi, "timeout_fault_to_handler");
    for (unsigned i = 0; i < iterations; i++)
        samples[i] = roundtrips[i];
    report(bi, "timeout_fault_roundtrip");
}

/* Whether the kernel measured counts IPC paths (Debug: IpcPathCounts
 * answers only in kernels built with BULKHEAD_KERNEL_DEBUG): the counters
 * cost the fast path an increment per direction, so the figures say which
 * kernel they are of. tools/bench/run.py reads this line. */
static void report_path_counters(void)
{
    uint64_t fast, general;
    bool on = sys_debug_ipc_path_counts(BK_CAP_DEBUG, &fast, &general) == 0;
    debug_printf("bench: kernel IPC path counters: %s\n", on ? "on" : "off");
}

int main(const struct bk_bootinfo *bi)
{
    iterations = parse_iterations(bi->cmdline);
    bk_alloc_init(bi);
    debug_printf("bench: %u iterations per operation after %u warm-up, on %s\n", iterations,
                 WARMUP, bi->arch);
    report_path_counters();
    bench_null_syscall(bi);
    bench_ipc_two_address_spaces(bi);
    bench_ipc_fpu_two_address_spaces(bi);
    bench_ipc_one_address_space(bi);
    bench_notification(bi);
    bench_irq_to_user(bi);
    bench_cpu_victim(bi, NO_HOG);
    bench_cpu_victim(bi, SPINNING_HOG);
    bench_timeout_fault(bi);
    bench_cpu_victim(bi, SYSCALL_HOG);
    debug_puts("bench: done\n");
    return 0;
}
