/*
 * CPU isolation with the tenants on two CPUs (issue 16), in the multi-core
 * bench (smp.c, no -icount): cpu.c's victim on CPU 1, tenant B on CPU 0.
 *
 * Tenant A: one thread on 300 us of every 1 ms at priority 200 on CPU 1
 * that yields the rest of its budget, so it wakes once a period, and
 * records how late each wake-up came (wake_clock.h: its reading of the
 * counter against the instant its refill came due), and marks each timed
 * wake-up's way (smp_marker.h): from before its Yield to after it returns,
 * which CPU 1's instructions the plugin counts (the Yield to the idle
 * wait, the timer interrupt, the refill, the way back; nothing while the
 * CPU halts in between, so a wait for the kernel lock is what grows it).
 * Nothing else runs on CPU 1.
 *
 * Tenant B, on CPU 0 (nothing of A's runs there):
 *   cpu_victim_wake_2cpu_alone               nothing (the root waits blocked)
 *   cpu_victim_wake_2cpu_beside_hog          two threads spinning on CPU 0
 *   cpu_victim_wake_2cpu_beside_syscall_hog  two threads making long kernel
 *       calls in a loop: the Retype of a 16 MiB untyped into 2 MiB frames
 *       (zeroed 64 KiB per kernel entry) and its Revoke; a cap copied and
 *       deleted. Each entry holds the kernel lock, which A's wake-up on CPU 1
 *       (its timer interrupt, its Yield's way to the scheduler) needs too.
 *
 * Without -icount the lateness is host time, so it holds the host's noise
 * (a vCPU thread the host wakes or runs late); the instructions are CPU 1's
 * own. What the rows compare is A alone and beside B in one run: a tenant
 * on another CPU must not make A late, and the big lock is the one thing
 * the two CPUs share.
 */
#include "smp_bench.h"
#include "smp_marker.h"
#include "wake_clock.h"

#define ISO_PERIOD 1000000ull /* ns */
#define ISO_BUDGET 300000ull
#define ISO_WAKES 500
#define ISO_WARMUP 20
#define ISO_HOGS 2
#define ISO_UNTYPED_BITS 24 /* the syscall hog's untyped: 16 MiB */
#define ISO_FRAME_BITS 21

enum iso_hog { ISO_NONE, ISO_SPIN, ISO_CALLS };

static uint8_t iso_stacks[1 + ISO_HOGS][SMP_STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) iso_buffers[ISO_HOGS]; /* the hogs' long calls */
static struct wake_clock iso_clock;
static struct {
    struct wake_record wake;
    volatile unsigned done;
    unsigned not_released;
    uint64_t notify; /* the root's notification, signalled when done */
    uint64_t late[ISO_WAKES];
} iso_victim;
static volatile long iso_error;
static volatile uint64_t iso_calls; /* long calls the syscall hog completed */
static uint64_t iso_untyped, iso_frames, iso_source, iso_slot;

static void iso_victim_thread(uint64_t unused)
{
    (void)unused;
    struct bk_msg m = { 0 };
    sys_yield(0, &m);
    bool no_release;
    wake_lateness(&iso_clock, &iso_victim.wake, clock_counter(), &no_release);
    for (unsigned i = 0; i < ISO_WARMUP + ISO_WAKES; i++) {
        bool timed = i >= ISO_WARMUP;
        if (timed)
            BENCH_MARK(MARK_WAKE_SLEEP);
        sys_yield(0, &m); /* the rest of this period's budget: wake at the next */
        uint64_t now = clock_counter();
        if (timed)
            BENCH_MARK(MARK_WAKE_WOKE);
        uint64_t late = wake_lateness(&iso_clock, &iso_victim.wake, now, &no_release);
        if (timed) {
            iso_victim.late[i - ISO_WARMUP] = late;
            iso_victim.not_released += no_release;
        }
    }
    iso_victim.done = 1;
    sys_send(iso_victim.notify, &m);
    for (;;)
        sys_yield(0, &m);
}

/* Thread 0: the Retype of the whole untyped into frames, then its Revoke;
 * thread 1: a cap copied into a slot and deleted. Until stopped, or until
 * a call fails (the bench then gives up). */
static void iso_calls_thread(uint64_t thread)
{
    uint64_t frames = 1ull << (ISO_UNTYPED_BITS - ISO_FRAME_BITS);
    while (!smp_stop) {
        long r;
        if (thread == 0) {
            r = sys_untyped_retype(iso_untyped, BK_OBJ_FRAME, ISO_FRAME_BITS, BK_CAP_ROOT_CNODE,
                                   0, 0, iso_frames, frames);
            if (r == 0)
                r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, iso_untyped, BK_WORD_BITS);
        } else {
            r = smp_copy_and_delete(iso_slot, iso_source);
        }
        if (r != 0) {
            iso_error = r;
            break;
        }
        __atomic_fetch_add(&iso_calls, 2, __ATOMIC_RELAXED);
    }
    sys_thread_exit(0);
}

/* The syscall hog's memory and slots, made once. */
static void iso_calls_setup(void)
{
    if (iso_untyped)
        return;
    iso_untyped = bk_alloc_object(BK_OBJ_UNTYPED, ISO_UNTYPED_BITS);
    iso_frames = bk_slots_alloc_range(1ull << (ISO_UNTYPED_BITS - ISO_FRAME_BITS));
    iso_source = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    iso_slot = bk_slot_alloc();
    if (!iso_untyped || !iso_frames || !iso_source || !iso_slot)
        smp_give_up("the syscall hog's memory and slots", 0);
}

static void iso_report(const struct bk_bootinfo *bi, const char *op, enum iso_hog hog)
{
    uint64_t *v = iso_victim.late;
    sort(v, ISO_WAKES);
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": \"%s\", "
                 "\"unit\": \"ns\", \"clock\": \"host time (no -icount)\", \"min\": %llu, "
                 "\"median\": %llu, \"p99\": %llu, \"max\": %llu, \"iterations\": %u, "
                 "\"not_released\": %u, \"victim_cpu\": 1, \"hog_cpu\": 0, \"hog_calls\": %llu}\n",
                 bi->arch, op, (unsigned long long)v[0],
                 (unsigned long long)v[(ISO_WAKES * 50 + 99) / 100 - 1],
                 (unsigned long long)v[(ISO_WAKES * 99 + 99) / 100 - 1],
                 (unsigned long long)v[ISO_WAKES - 1], ISO_WAKES, iso_victim.not_released,
                 (unsigned long long)(hog == ISO_CALLS ? iso_calls : 0));
}

/* One row: `op` the lateness (ns), `insns_op` CPU 1's instructions per
 * wake-up (its markers, which run.py pairs). */
static void iso_run(const struct bk_bootinfo *bi, const char *op, const char *insns_op,
                    enum iso_hog hog)
{
    uint64_t tcbs[1 + ISO_HOGS] = { 0 }, done = smp_make(BK_OBJ_NOTIFICATION);
    smp_stop = 0;
    iso_error = 0;
    iso_calls = 0;
    iso_victim.done = iso_victim.not_released = 0;
    iso_victim.notify = done;
    if (hog == ISO_CALLS)
        iso_calls_setup();
    wake_clock_calibrate(&iso_clock);
    void (*hog_fn)(uint64_t) = hog == ISO_SPIN ? smp_spin_until_stopped : iso_calls_thread;
    for (unsigned i = 0; hog != ISO_NONE && i < ISO_HOGS; i++)
        tcbs[1 + i] = smp_start_budgeted(bi, 0, hog_fn, i, iso_stacks[1 + i], &iso_buffers[i].b,
                                         0, 0, 150, NULL);
    debug_printf("SMPOP {\"operation\": \"%s\", \"start\": %u, \"end\": %u, "
                 "\"iterations\": %u}\n", insns_op, MARK_WAKE_SLEEP, MARK_WAKE_WOKE, ISO_WAKES);
    /* Its SchedContext goes into its record before it starts. */
    iso_victim.wake = (struct wake_record){ .period_ns = ISO_PERIOD };
    tcbs[0] = smp_start_budgeted(bi, 1, iso_victim_thread, 0, iso_stacks[0], NULL, ISO_BUDGET,
                                 ISO_PERIOD, 200, &iso_victim.wake.sc);
    while (!iso_victim.done) {
        struct bk_msg m = { 0 };
        sys_recv(done, &m); /* the root, at 255, preempts B once signalled */
    }
    smp_stop = 1;
    for (unsigned i = 0; i < 1 + ISO_HOGS; i++)
        if (tcbs[i])
            sys_tcb_suspend(tcbs[i]);
    if (iso_error)
        smp_give_up("a call of the syscall hog", iso_error);
    iso_report(bi, op, hog);
}

void bench_isolation_two_cpus(const struct bk_bootinfo *bi)
{
    iso_run(bi, "cpu_victim_wake_2cpu_alone", "cpu_victim_wake_insns_2cpu_alone", ISO_NONE);
    iso_run(bi, "cpu_victim_wake_2cpu_beside_hog", "cpu_victim_wake_insns_2cpu_beside_hog",
            ISO_SPIN);
    iso_run(bi, "cpu_victim_wake_2cpu_beside_syscall_hog",
            "cpu_victim_wake_insns_2cpu_beside_syscall_hog", ISO_CALLS);
}
