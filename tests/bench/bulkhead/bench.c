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
#include "bench.h"

#include <bulkhead/format.h>

static uint8_t server_stack[STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) server_buffer;

uint64_t make(uint64_t type)
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

static uint64_t sink_slot;
static volatile uint64_t sink_deleted;

/* Takes a capability with every Call into its receive slot (a real copy:
 * a new slot linked into the derivation tree) and deletes it before
 * answering, so the slot is free for the next. Counts the deletes that
 * found a cap there. */
static void cap_sink_server(uint64_t unused)
{
    (void)unused;
    server_buffer.b.receive_cnode = BK_CAP_ROOT_CNODE;
    server_buffer.b.receive_index = sink_slot;
    server_buffer.b.receive_depth = BK_WORD_BITS;
    struct bk_msg m = { 0 };
    sys_recv(server_ep, &m);
    for (;;) {
        if (sys_cnode_delete(BK_CAP_ROOT_CNODE, sink_slot, BK_WORD_BITS) == 0)
            sink_deleted++;
        m.info = bk_msginfo(0, 0);
        sys_reply_recv(server_ep, &m);
    }
}

/* The general path with a real capability transfer (issue 17), not a
 * badged cap to the same endpoint that arrives unwrapped: each Call
 * carries a notification cap the server receives into a slot and deletes.
 * The round trip includes that Delete, so the same Delete of a copy of
 * the cap is timed alone beside it (cnode_delete_copy). */
static void bench_real_cap_transfer(const struct bk_bootinfo *bi)
{
    uint64_t ntfn = make(BK_OBJ_NOTIFICATION), copy = bk_slot_alloc();
    sink_slot = bk_slot_alloc();
    for (unsigned i = 0; i < WARMUP + iterations; i++) {
        sys_cnode_copy(BK_CAP_ROOT_CNODE, copy, BK_WORD_BITS, BK_CAP_ROOT_CNODE, ntfn,
                       BK_WORD_BITS, BK_RIGHTS_ALL);
        uint64_t t0 = bk_counter();
        long r = sys_cnode_delete(BK_CAP_ROOT_CNODE, copy, BK_WORD_BITS);
        uint64_t t1 = bk_counter();
        if (r != 0) {
            debug_printf("bench: deleting a copied cap failed (%ld)\n", r);
            sys_thread_exit(1);
        }
        if (i >= WARMUP)
            samples[i - WARMUP] = t1 - t0;
    }
    report(bi, "cnode_delete_copy");

    sink_deleted = 0;
    uint64_t tcb = make(BK_OBJ_TCB);
    server_ep = make(BK_OBJ_ENDPOINT);
    start_server(tcb, cap_sink_server, 0);
    bk_ipc_buffer->caps[0] = ntfn;
    bench_call(bi, server_ep, 0, 1, "ipc_call_reply_cap_copy_1as");
    sys_tcb_suspend(tcb);
    /* Every Call's cap arrived as a cap, or the row measured something else. */
    if (sink_deleted != WARMUP + iterations) {
        debug_printf("bench: the server received %llu caps in %u Calls\n",
                     (unsigned long long)sink_deleted, WARMUP + iterations);
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
    bench_real_cap_transfer(bi);
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
    /* One word more than the CPU registers carry: the Call and the answer
     * (the server echoes the length) both take the general path, the
     * honest measure of it beside the fast path (issue 17). */
    _Static_assert(BK_MSG_CPU_WORDS == 4, "the row's name says 5 words");
    bench_call(bi, ep, BK_MSG_CPU_WORDS + 1, 0, "ipc_call_reply_5w_2as_general");
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
    iterations = parse_iterations(bi->cmdline, MAX_ITERATIONS);
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
