/*
 * Starting the other CPUs, their idle loop and the kernel lock (see
 * smp.h for the invariants and docs/smp.md for the design).
 *
 * Start-up is one CPU at a time: the boot CPU sets the CPU's struct to
 * STARTING, asks the arch to start it (x86-64: INIT-SIPI-SIPI; RISC-V:
 * SBI HSM hart_start), and waits up to SMP_START_TIMEOUT_NS for the CPU
 * to move itself to ONLINE. A CPU that does not is marked LEFT_OUT and
 * reported; if it answers later it finds LEFT_OUT and parks. Each online
 * CPU is then checked: the boot CPU sends it an IPI and waits for it to be
 * counted, and waits for its first timer tick, so the log line "N CPUs
 * online" is only written for CPUs that really take both interrupts.
 *
 * The waits poll arch_time_ns() with interrupts off: they need no timer
 * and run before the first user thread.
 */
#include "smp.h"

#include "arch.h"
#include "boot/boot_params.h"
#include "debug/lockorder.h"
#include "kernel.h"
#include "lib/backoff_lock.h"
#include "log.h"
#include "thread.h"
#include "vspace_object.h"

#include <bulkhead/abi.h>

#define SMP_START_TIMEOUT_NS 5000000000ull /* generous: TCG on a loaded host */
#define SMP_CHECK_TIMEOUT_NS 2000000000ull /* an IPI, then a tick (10 ms) */
#define SMP_TICK_NS (1000000000ull / BK_TICK_HZ)

/* Every ready queue starts empty: ready_top -1. */
#define CPU_INIT { .ready_top = -1 }
struct cpu cpus[KERNEL_MAX_CPUS] = { CPU_INIT, CPU_INIT, CPU_INIT, CPU_INIT,
                                     CPU_INIT, CPU_INIT, CPU_INIT, CPU_INIT };
_Static_assert(KERNEL_MAX_CPUS == 8, "one CPU_INIT per CPU");
unsigned cpu_count = 1;
bool smp_others_online;

struct backoff_lock kernel_lock;
unsigned kernel_lock_owner = KERNEL_LOCK_FREE;
const struct lock_class kernel_lock_class = { "kernel", LOCK_RANK_KERNEL };

static uint32_t cpu_state(const struct cpu *c);

/* ---- The kernel lock ---------------------------------------------------- */

/* This CPU is in the kernel, out of any user thread: it answers the
 * last request (smp_sync_cpus()). Its live FPU state goes home too: the
 * requester may be about to stop, delete or read the thread it belongs
 * to, which must not stay live here (arch_fpu_release()). Memory order:
 * the requester changed
 * the page tables (or the scheduler's state) and then incremented
 * sync_req with a release; our acquire load of it makes those stores
 * visible here before the flush, so no translation we load afterwards
 * is an old one; our release store of sync_ack, read by the requester
 * with an acquire, tells it the flush is done and that our registers,
 * saved at our entry, are in the thread. */
static void answer_sync(struct cpu *c)
{
    uint64_t req = __atomic_load_n(&c->sync_req, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&c->sync_ack, __ATOMIC_RELAXED) == req)
        return;
    arch_tlb_flush_all();
    arch_fpu_release();
    __atomic_store_n(&c->sync_ack, req, __ATOMIC_RELEASE);
}

void smp_sync_cpus(uint64_t mask)
{
    uint64_t want[KERNEL_MAX_CPUS];
    for (unsigned i = 0; i < cpu_count; i++) {
        if (!(mask >> i & 1))
            continue;
        want[i] = __atomic_add_fetch(&cpus[i].sync_req, 1, __ATOMIC_RELEASE);
        arch_cpu_send_ipi(i);
    }
    for (unsigned i = 0; i < cpu_count; i++)
        while ((mask >> i & 1) && __atomic_load_n(&cpus[i].sync_ack, __ATOMIC_ACQUIRE) < want[i])
            arch_spin_pause();
}

uint64_t smp_shootdowns, smp_shootdown_ipis;

/* The other online CPUs among `candidates`. */
static uint64_t others_online(uint64_t candidates)
{
    uint64_t mask = 0;
    for (unsigned i = 0; i < cpu_count; i++)
        if ((candidates >> i & 1) && &cpus[i] != cpu_here() && cpu_state(&cpus[i]) == CPU_ONLINE)
            mask |= 1ull << i;
    return mask;
}

static void shoot_down(uint64_t mask)
{
    smp_shootdowns++;
    smp_shootdown_ipis += (uint64_t)__builtin_popcountll(mask);
    smp_sync_cpus(mask);
}

void smp_tlb_shootdown_locked(void)
{
    shoot_down(others_online(~0ull));
}

/* Which CPUs can hold a translation of `space`: only one whose TLB was
 * filled from its tables, which needs the space loaded (CR3, satp), which
 * only a way out to user mode into it does, under the lock; that way out
 * sets the CPU's bit first (smp_exit_to_user_held()). So with the lock held here,
 * a CPU outside *ran_on has no translation of it, and cannot get one
 * before it takes the lock after us, when the tables are already changed.
 * A CPU in the mask flushes everything (answer_sync()); if its loaded
 * space (cpus[i].space, written under the lock at its last way out, so
 * stable now) is another one, nothing refills the TLB from `space`'s
 * tables until it enters `space` again and sets its bit again: it leaves
 * the mask. Its bit is cleared after its acknowledgement (acquire), so the
 * flush is done when the bit goes. This CPU's own TLB is the arch's to
 * flush (arch_vspace_unmap_*), and its bit stays. */
void smp_tlb_shootdown_space_locked(uint64_t *ran_on, const arch_vspace_t *space)
{
    uint64_t mask = others_online(*ran_on);
    if (!mask)
        return;
    shoot_down(mask);
    for (unsigned i = 0; i < cpu_count; i++)
        if ((mask >> i & 1) && cpus[i].space != space)
            *ran_on &= ~(1ull << i);
}

void smp_exit_to_user_held(void)
{
    struct cpu *c = cpu_here();
    struct thread *t = c->current;
    if (t)
        t->last_cpu = (uint8_t)c->index;
    if (t && t->vspace)
        smp_exit_to_user_in(t->vspace);
    else
        smp_release_here(c);
}

void kernel_lock_wait_unlocked(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* after the lock word's store (smp.h) */
    for (unsigned i = 0; i < cpu_count; i++)
        while (__atomic_load_n(&cpus[i].unlocked, __ATOMIC_ACQUIRE))
            arch_spin_pause();
}

/* Long enough for a general path's hold (a few thousand instructions); a
 * holder whose vCPU the host descheduled is not waited for longer. */
#define SMP_UNLOCKED_WAIT_SPINS 4096u

uint32_t kernel_lock_waiting;

bool smp_unlocked_wait(struct cpu *c)
{
    bool free = false;
    __atomic_fetch_add(&kernel_lock_waiting, 1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < SMP_UNLOCKED_WAIT_SPINS; i++) {
        if (__atomic_load_n(&c->sync_req, __ATOMIC_ACQUIRE) !=
            __atomic_load_n(&c->sync_ack, __ATOMIC_RELAXED))
            break;
        if (backoff_lock_looks_free(&kernel_lock)) {
            free = true;
            break;
        }
        arch_spin_pause();
    }
    __atomic_fetch_sub(&kernel_lock_waiting, 1, __ATOMIC_RELAXED);
    return free;
}

void smp_unlocked_to_lock(void)
{
    smp_unlocked_end(cpu_here());
    kernel_lock_acquire();
    thread_resume_current();
}

/* The holder may be waiting for this CPU to answer a stop request: every
 * turn of the wait answers it, or the two would wait for each other. The
 * lock is a test-and-test-and-set lock with bounded exponential backoff
 * (lib/backoff_lock.h; docs/smp.md says why not a ticket lock). Called
 * once kernel_lock_acquire()'s first try lost. */
void kernel_lock_acquire_contended(void)
{
    struct cpu *c = cpu_here();
    lockorder_acquire(&kernel_lock_class); /* before the wait it would deadlock in */
    __atomic_fetch_add(&kernel_lock_waiting, 1, __ATOMIC_RELAXED);
    uint32_t spins = 1;
    do {
        for (uint32_t i = 0; i < spins; i++) {
            answer_sync(c);
            arch_spin_pause();
        }
        spins = backoff_lock_next(spins);
        while (!backoff_lock_looks_free(&kernel_lock)) {
            answer_sync(c);
            arch_spin_pause();
        }
    } while (!backoff_lock_try(&kernel_lock));
    __atomic_fetch_sub(&kernel_lock_waiting, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&kernel_lock_owner, c->index, __ATOMIC_RELAXED);
    kernel_lock_wait_unlocked();
}

/* A try never waits, so it cannot deadlock: it is checked only once it
 * got the lock (for the order of what this CPU takes inside it). */
bool kernel_lock_try(void)
{
    if (!backoff_lock_try(&kernel_lock))
        return false;
    lockorder_acquire(&kernel_lock_class);
    __atomic_store_n(&kernel_lock_owner, arch_cpu_index(), __ATOMIC_RELAXED);
    kernel_lock_wait_unlocked();
    return true;
}

/* ---- The other CPUs' side ------------------------------------------------ */

static uint32_t cpu_state(const struct cpu *c)
{
    return __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
}

/* The arch calls this on CPU `index` once its traps, stacks and timer are
 * set up, interrupts off. It claims its place (or parks if the boot CPU
 * gave up on it) and idles: interrupts come in through the arch's idle
 * wait, outside the kernel lock. */
void kernel_ap_main(unsigned index)
{
    struct cpu *c = &cpus[index];
    uint32_t expected = CPU_STARTING;
    if (index == 0 || index >= KERNEL_MAX_CPUS ||
        !__atomic_compare_exchange_n(&c->state, &expected, CPU_ONLINE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        arch_cpu_park();
    c->next_tick_ns = arch_time_ns() + SMP_TICK_NS;
    c->timer_requested = UINT64_MAX;
    arch_timer_set_deadline(c->next_tick_ns);
    /* User threads come once the boot CPU has started every CPU. */
    while (!__atomic_load_n(&smp_others_online, __ATOMIC_ACQUIRE))
        arch_idle_wait();
    arch_cpu_smp_mode();
    kernel_lock_acquire();
    thread_resume_current(); /* no current thread: idles until one is queued here */
}

/* ---- The timer of a CPU other than the boot CPU --------------------------
 * Its tick (SMP_TICK_NS, on a grid from its start), and the deadlines its
 * own scheduler asks for: the budget end of the SchedContext it runs, and
 * the refills it put on the release queue. Before, only the boot CPU's
 * timer served requests, and another CPU charged its SchedContext at its
 * tick: a 300 us budget ran 10 ms at a time, and the refill that followed
 * was already due, so a spinner on a partial SchedContext there was never
 * held to its share (`<arch>/cpu-budget-smp2`). Only this CPU writes its
 * own fields, with interrupts off. */

/* The earlier of its tick and its requests (set again at every interrupt:
 * on RISC-V the interrupt stays pending until the deadline moves). */
static void arm_timer(const struct cpu *c)
{
    uint64_t next = c->timer_requested < c->next_tick_ns ? c->timer_requested : c->next_tick_ns;
    arch_timer_set_deadline(next);
}

void smp_timer_request(uint64_t deadline_ns)
{
    struct cpu *c = cpu_here();
    if (deadline_ns >= c->timer_requested)
        return;
    c->timer_requested = deadline_ns;
    if (deadline_ns < c->next_tick_ns)
        arch_timer_set_deadline(deadline_ns);
}

/* What the interrupt at `now` finds due: the tick (counted; the next on
 * the grid, ticks missed skipped as timer.c does) in *tick, and whether
 * a request is (forgotten here: the caller serves it). */
static bool expire(struct cpu *c, uint64_t now, bool *tick)
{
    *tick = c->next_tick_ns <= now;
    if (*tick) {
        __atomic_fetch_add(&c->ticks, 1, __ATOMIC_RELEASE);
        while (c->next_tick_ns <= now)
            c->next_tick_ns += SMP_TICK_NS;
    }
    bool due = c->timer_requested <= now;
    if (due)
        c->timer_requested = UINT64_MAX;
    return due;
}

/* In kernel mode: its idle wait, or a long call's preemption point. A
 * request due is served under the lock (the release queue is shared). A
 * tick alone drains the shared log only if the lock is free now, never
 * waited for, so a tick never holds this CPU up behind another. */
void smp_cpu_tick(void)
{
    struct cpu *c = cpu_here();
    uint64_t count = arch_counter();
    bool tick;
    if (expire(c, arch_counter_time_ns(count), &tick)) {
        bool took = kernel_lock_handler_begin();
        if (sched_time_passed(count, false))
            sched_arm_budget_end();
        arm_timer(c);
        kernel_lock_handler_done(took);
        return;
    }
    arm_timer(c);
    if (tick && kernel_lock_try()) {
        log_drain();
        kernel_lock_release();
    }
}

/* From user mode: the running SchedContext charged up to the interrupt's
 * reading of the clock (throttled if its budget ended), refills due
 * served, then the choice. */
void smp_cpu_tick_from_user(void)
{
    struct cpu *c = cpu_here();
    uint64_t count = arch_counter();
    bool tick;
    expire(c, arch_counter_time_ns(count), &tick);
    kernel_lock_acquire();
    if (sched_time_passed(count, false))
        sched_arm_budget_end();
    if (tick)
        sched_cpu_tick();
    arm_timer(c);
    thread_resume_current();
}

void kernel_ipi(void)
{
    struct cpu *c = cpu_here();
    __atomic_fetch_add(&c->ipis, 1, __ATOMIC_RELEASE);
    answer_sync(c);
}

void kernel_ipi_from_user(void)
{
    kernel_ipi();
    kernel_lock_acquire();
    thread_resume_current();
}

/* ---- The boot CPU's side ------------------------------------------------- */

/* Polls until *counter is non-zero or `timeout_ns` passed. The pause
 * lets QEMU run another vCPU under -icount (it runs them in turn, and a
 * vCPU that never pauses or halts keeps its turn for long). */
static bool wait_nonzero(const uint64_t *counter, uint64_t timeout_ns)
{
    uint64_t end = arch_time_ns() + timeout_ns;
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) == 0) {
        if (arch_time_ns() >= end)
            return false;
        arch_spin_pause();
    }
    return true;
}

static bool wait_online(struct cpu *c)
{
    uint64_t end = arch_time_ns() + SMP_START_TIMEOUT_NS;
    while (cpu_state(c) == CPU_STARTING) {
        if (arch_time_ns() >= end)
            break;
        arch_cpu_start_waiting(c->index, c->arch_id);
        arch_spin_pause(); /* under -icount the CPU runs only if this one pauses */
    }
    uint32_t expected = CPU_STARTING;
    /* Too late from here on: the CPU will find LEFT_OUT and park. */
    __atomic_compare_exchange_n(&c->state, &expected, CPU_LEFT_OUT, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    return cpu_state(c) == CPU_ONLINE;
}

/* An online CPU takes the kernel's IPI and its own timer tick, or it is
 * reported. It stays online either way: it runs its idle loop already. */
static void check_interrupts(struct cpu *c)
{
    arch_cpu_send_ipi(c->index);
    if (!wait_nonzero(&c->ipis, SMP_CHECK_TIMEOUT_NS))
        kprintf("bulkhead: smp: cpu %u (id %llu) took no IPI within %llu ms\n", c->index,
                (unsigned long long)c->arch_id, SMP_CHECK_TIMEOUT_NS / 1000000);
    if (!wait_nonzero(&c->ticks, SMP_CHECK_TIMEOUT_NS))
        kprintf("bulkhead: smp: cpu %u (id %llu) took no timer tick within %llu ms\n",
                c->index, (unsigned long long)c->arch_id, SMP_CHECK_TIMEOUT_NS / 1000000);
}

static void start_one(struct cpu *c)
{
    __atomic_store_n(&c->state, CPU_STARTING, __ATOMIC_RELEASE);
    if (!arch_cpu_start(c->index, c->arch_id)) {
        __atomic_store_n(&c->state, CPU_LEFT_OUT, __ATOMIC_RELEASE);
        kprintf("bulkhead: smp: cpu %u (id %llu): the start request was refused; left out\n",
                c->index, (unsigned long long)c->arch_id);
        return;
    }
    if (!wait_online(c)) {
        kprintf("bulkhead: smp: cpu %u (id %llu) did not come online within %llu ms; "
                "left out\n",
                c->index, (unsigned long long)c->arch_id, SMP_START_TIMEOUT_NS / 1000000);
        return;
    }
    check_interrupts(c);
}

unsigned smp_cpus_online(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < cpu_count; i++)
        n += cpu_state(&cpus[i]) == CPU_ONLINE;
    return n;
}

static void report(void)
{
    unsigned n = smp_cpus_online();
    kprintf("bulkhead: smp: %u CPU%s online (ids", n, n == 1 ? "" : "s");
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpu_state(&cpus[i]) == CPU_ONLINE)
            kprintf(" %llu", (unsigned long long)cpus[i].arch_id);
    kprintf("; boot CPU %llu)\n", (unsigned long long)cpus[0].arch_id);
}

#define NO_CPU_LEFT_OUT (~0u)

/* "bulkhead.smp_leave_out=N": the CPU of kernel number N (1 to
 * cpu_count - 1, decimal) is not started, as if it had not answered. It
 * lets a test boot a machine whose SchedControl caps do not follow the
 * CPU numbers (boot info's sched_control_cpu). Anything else is named and
 * ignored. */
static BOOT_CODE unsigned cpu_to_leave_out(const char *cmdline)
{
    const char *v = boot_cmdline_option(cmdline, "bulkhead.smp_leave_out");
    if (!v)
        return NO_CPU_LEFT_OUT;
    unsigned n = 0, digits = 0;
    for (const char *p = v; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
        n = n * 10 + (unsigned)(*p - '0');
    bool ends = v[digits] == '\0' || v[digits] == ' ';
    if (digits == 0 || !ends || n == 0 || n >= cpu_count) {
        char word[16];
        unsigned len = 0;
        while (v[len] && v[len] != ' ' && len < sizeof(word) - 1) {
            word[len] = v[len];
            len++;
        }
        word[len] = '\0';
        kprintf("bulkhead: smp: bulkhead.smp_leave_out: '%s' is not a CPU that can be left "
                "out (1 to %u; the boot CPU is 0); ignored\n",
                word, cpu_count - 1);
        return NO_CPU_LEFT_OUT;
    }
    return n;
}

BOOT_CODE void smp_start(const struct boot_params *bp)
{
    cpu_count = bp->cpu_count ? bp->cpu_count : 1;
    for (unsigned i = 0; i < cpu_count; i++) {
        cpus[i].index = i;
        cpus[i].arch_id = bp->cpu_ids[i];
    }
    cpus[0].state = CPU_ONLINE;
    unsigned leave_out = cpu_to_leave_out(bp->cmdline);
    for (unsigned i = 1; i < cpu_count; i++) {
        if (i != leave_out) {
            start_one(&cpus[i]);
            continue;
        }
        cpus[i].state = CPU_LEFT_OUT;
        kprintf("bulkhead: smp: cpu %u (id %llu) left out, as bulkhead.smp_leave_out asks\n", i,
                (unsigned long long)cpus[i].arch_id);
    }
    report();
    if (smp_cpus_online() > 1) {
        arch_cpu_smp_mode();
        /* Release: the APs waiting in kernel_ap_main() read every struct
         * cpu as written above once they see it. */
        __atomic_store_n(&smp_others_online, true, __ATOMIC_RELEASE);
    }
}

/* ---- For the invariant walk (debug/invariants.c) ------------------------ */

/* Runs under the kernel lock, so every CPU's queues hold still. */
bool smp_heads_a_ready_queue(const struct thread *t)
{
    for (unsigned i = 0; i < cpu_count; i++)
        if (cpus[i].ready_head[t->priority] == t)
            return true;
    return false;
}
