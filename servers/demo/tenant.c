/*
 * A tenant of the demo policy (policies/demo.toml; built as the programs
 * "web" and "db"): started by the root task from the capability table, it
 * lists the capabilities it was given, then uses each of its channels. The
 * command line names them (`--channels mem:10,sched:11,io:12`: the
 * protocol of the server behind each and the slot of its cap), so the
 * program finds its servers wherever the table put them:
 *  - the memory server: its account's quota (Mem: Usage), then a region
 *    of twice that populated until the server refuses with the quota
 *    error, the pages it did back written and read back, and the usage
 *    after (used within the quota); then the region removed (its pages
 *    back to the quota);
 *  - the scheduler server: its tenant's usage (Sched: Usage), whose
 *    budget the server derived from the reservation the root task gave;
 *  - the IO server: a session (IO: Open, its ring and buffers mapped into
 *    our space; with `--io-grant HOLDER:TENANT` paid from our own memory
 *    quota instead: Mem: Grant toward the IO server, then IO: OpenGranted,
 *    the account's use printed before and after), two blocks written at both ends of the virtual disk the
 *    root task gave us and read back, a write past its end refused, and
 *    the statistics the server kept of us (IO: Stats);
 *  - any other server (a stand-in): a call answered with the badge the
 *    server saw, which is the channel's badge if the root task minted it
 *    as the table says.
 * Last, its workers (`--worker SLOT`: threads the root task made without
 * a SchedContext, one for each CPU the scheduler server admitted us on,
 * `--worker-cpu CPU` after it when not 0) are registered with the
 * scheduler server (Sched: AddThread) for their CPUs and spin; once the
 * kernel has throttled them for a while the budget the server gives each
 * on its CPU is printed: its reservation plus what it borrows there, at
 * most its limit.
 * tools/policyboot.py compares every number printed with the table. Then
 * it exits; the root task waits for every tenant.
 */
#include <protocols/io_client.h>
#include <protocols/mem_client.h>
#include <protocols/sched_client.h>

#include "component.h"
#include "../io/ring.h"

/* The region the tenant asks the memory server for: far above its program,
 * stack and IPC buffer, below both arches' user top (Sv39: 256 GiB). */
#define MEM_BASE 0x2000000000ull
#define PAGE ((uint64_t)BK_PAGE_SIZE)
#define ERROR_TEXT 160
/* Where the IO session's ring and buffers are mapped: above the region. */
#define IO_BASE 0x3000000000ull

static void call_channel(const char *name, uint64_t slot)
{
    struct bk_msg m = { 0 };
    m.info = bk_msginfo(1, 1);
    m.mr[0] = slot;
    sys_call(slot, &m);
    char server[9];
    component_word_name(m.mr[1], server);
    if (BK_MSGINFO_LABEL(m.info) != 0 || BK_MSGINFO_LENGTH(m.info) != COMPONENT_ANSWER_WORDS) {
        debug_printf("%s: FAILED: slot %llu: the call came back with label %llu, length %llu\n",
                     name, (unsigned long long)slot, (unsigned long long)BK_MSGINFO_LABEL(m.info),
                     (unsigned long long)BK_MSGINFO_LENGTH(m.info));
        return;
    }
    debug_printf("%s: channel slot=%llu answered by %s, badge %llu\n", name,
                 (unsigned long long)slot, server, (unsigned long long)m.mr[0]);
}

/* Mem: Usage of our own account: its quota, what it uses, its private
 * frames (bytes). 0 or the error, printed. */
static int mem_account(const char *name, uint64_t ep, uint64_t *quota, uint64_t *used,
                       uint64_t *frames)
{
    uint64_t tables, cnodes, faults, refused, shared, private, vspaces, tcbs, scs, ipc;
    struct mem_error err;
    int r = mem_usage(ep, 0, quota, used, frames, &tables, &cnodes, &faults, &refused, &shared,
                      &private, &vspaces, &tcbs, &scs, &ipc, &err);
    if (r) {
        char text[ERROR_TEXT];
        mem_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: mem: Usage: %s\n", name, text);
    }
    return r;
}

/* Writes a word into each of the first `pages` pages of the region and
 * reads them back: the memory the server mapped is ours. */
static bool touch(uint64_t pages)
{
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)MEM_BASE;
    for (uint64_t i = 0; i < pages; i++)
        p[i * (PAGE / sizeof(*p))] = 0x5eed0000ull + i;
    for (uint64_t i = 0; i < pages; i++) {
        if (p[i * (PAGE / sizeof(*p))] != 0x5eed0000ull + i)
            return false;
    }
    return true;
}

static void use_memory(const char *name, uint64_t ep)
{
    uint64_t quota, used, frames;
    if (mem_account(name, ep, &quota, &used, &frames))
        return;
    debug_printf("%s: mem: account quota %llu bytes, %llu used\n", name,
                 (unsigned long long)quota, (unsigned long long)used);
    struct mem_error err;
    uint32_t regions;
    char text[ERROR_TEXT];
    int r = mem_add_region(ep, 0, MEM_BASE, 2 * quota, BK_VM_READ | BK_VM_WRITE, &regions, &err);
    if (r) {
        mem_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: mem: AddRegion: %s\n", name, text);
        return;
    }
    uint64_t pages = 0;
    r = mem_populate(ep, 0, MEM_BASE, 2 * quota, &pages, &err);
    mem_error_format(&err, text, sizeof(text));
    if (r != MEM_ERR_QUOTA) {
        debug_printf("%s: FAILED: mem: Populate of twice the quota answered %d (%s), not the "
                     "quota error\n", name, r, r ? text : "success");
        return;
    }
    debug_printf("%s: mem: populate past the quota refused: %s\n", name, text);
    if (mem_account(name, ep, &quota, &used, &frames))
        return;
    if (used > quota || frames == 0) {
        debug_printf("%s: FAILED: mem: used %llu bytes of quota %llu, %llu of frames\n", name,
                     (unsigned long long)used, (unsigned long long)quota,
                     (unsigned long long)frames);
        return;
    }
    bool ok = touch(frames / PAGE);
    debug_printf("%s: mem: used %llu of quota %llu bytes; %llu pages backed, %s\n", name,
                 (unsigned long long)used, (unsigned long long)quota,
                 (unsigned long long)(frames / PAGE),
                 ok ? "each written and read back" : "FAILED: a page read back wrong");
    /* The region goes back, so the quota can pay what comes next (the IO
     * session's memory, use_io()). */
    uint64_t returned = 0;
    r = mem_remove_region(ep, 0, MEM_BASE, &returned, &err);
    if (r == 0)
        r = mem_account(name, ep, &quota, &used, &frames);
    else {
        mem_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: mem: RemoveRegion: %s\n", name, text);
    }
    if (r == 0)
        debug_printf("%s: mem: region removed, %llu pages returned: used %llu bytes\n", name,
                     (unsigned long long)returned, (unsigned long long)used);
}

static void use_sched(const char *name, uint64_t ep)
{
    uint64_t consumed, throttled, timeouts, request_timeouts;
    uint32_t share, budget, threads;
    struct sched_error err;
    int r = sched_usage(ep, 0, &consumed, &throttled, &timeouts, &request_timeouts, &share,
                        &budget, &threads, &err);
    if (r) {
        char text[ERROR_TEXT];
        sched_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: sched: Usage: %s\n", name, text);
        return;
    }
    debug_printf("%s: sched: budget %u permille, share %u permille, %u threads\n", name, budget,
                 share, threads);
}

/* ---- the worker ------------------------------------------------------ */

/* Periods each worker must have run out of budget in before the budgets
 * are read: the server rebalances once a period, so by then it has lent
 * each worker what it can. */
#define WORKER_THROTTLES 20u
/* How many throttles each the workers wait at most for the server to lend
 * them spare time (their budget above its first value): the server's
 * rebalance runs on its own clock, and a loaded host may give the workers
 * their first WORKER_THROTTLES before it. A tenant whose limit is its
 * reservation never borrows and stops here. */
#define WORKER_THROTTLES_FOR_SPARE 80u
#define WORKER_SECONDS 10u
#define WORKER_STACK_BYTES 4096u
#define MAX_WORKERS 8u
static uint8_t worker_stack[MAX_WORKERS][WORKER_STACK_BYTES] __attribute__((aligned(16)));
static volatile uint64_t worker_spins[MAX_WORKERS];

static _Noreturn void worker_main(uint64_t i)
{
    for (;;)
        worker_spins[i]++;
}

/* A worker the command line names: "--worker SLOT", and "--worker-cpu CPU"
 * right after it for a CPU other than 0 (the CPUs the scheduler server
 * admitted us on, one worker each). */
struct worker {
    uint64_t slot;
    uint32_t cpu;
};

static uint64_t number_at(const char *p)
{
    uint64_t value = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        value = value * 10 + (uint64_t)(*p - '0');
    return value;
}

/* The workers of the command line, at most MAX_WORKERS: their number. */
static unsigned workers_of(const struct bk_bootinfo *info, struct worker *w)
{
    static const char slot_flag[] = "--worker ", cpu_flag[] = "--worker-cpu ";
    unsigned n = 0;
    for (const char *p = info->cmdline; *p; p++) {
        if (memcmp(p, cpu_flag, sizeof(cpu_flag) - 1) == 0 && n > 0)
            w[n - 1].cpu = (uint32_t)number_at(p + sizeof(cpu_flag) - 1);
        else if (memcmp(p, slot_flag, sizeof(slot_flag) - 1) == 0 && n < MAX_WORKERS)
            w[n++] = (struct worker){ .slot = number_at(p + sizeof(slot_flag) - 1) };
    }
    return n;
}

/* Registers worker i with the scheduler server for its CPU: 0, or -1 with
 * the failure printed. */
static int add_worker(const char *name, uint64_t sched_ep, const struct worker *w, unsigned i)
{
    struct sched_error err;
    char text[ERROR_TEXT];
    uint32_t threads = 0;
    long r = sys_tcb_write_registers(w->slot, 0, (uint64_t)(uintptr_t)worker_main,
                                     (uint64_t)(uintptr_t)(worker_stack[i] + WORKER_STACK_BYTES -
                                                           16),
                                     i);
    int e = r ? 0 : sched_add_thread(sched_ep, w->slot, w->cpu, &threads, &err);
    if (r || e) {
        if (e)
            sched_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: sched: the worker for CPU %u: %s\n", name, w->cpu,
                     r ? bk_error_name(r) : text);
        return -1;
    }
    return 0;
}

/* Registers the workers with the scheduler server, each for its CPU, and
 * starts them; waits, below them, until the kernel throttled them
 * WORKER_THROTTLES times each and the server lent them spare time (or
 * WORKER_THROTTLES_FOR_SPARE times each); prints the budget the server
 * gives each on its CPU (Sched: UsageOnCpu); stops them. */
static void use_workers(const char *name, uint64_t sched_ep, const struct worker *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (add_worker(name, sched_ep, &w[i], i))
            return;
    }
    for (unsigned i = 0; i < n; i++)
        sys_tcb_resume(w[i].slot);
    /* Below the workers: we run when ours is throttled or the CPU is idle. */
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 1);
    struct sched_error err;
    uint64_t consumed = 0, throttled = 0, timeouts, request_timeouts;
    uint32_t share = 0, budget = 0, threads = 0, first_budget = 0;
    bool first = true;
    uint64_t deadline = debug_ticks() + WORKER_SECONDS * BK_TICK_HZ;
    while (debug_ticks() < deadline) {
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
        if (sched_usage(sched_ep, 0, &consumed, &throttled, &timeouts, &request_timeouts, &share,
                        &budget, &threads, &err) != 0)
            break;
        if (first)
            first_budget = budget;
        first = false;
        if (throttled >= WORKER_THROTTLES_FOR_SPARE * n ||
            (throttled >= WORKER_THROTTLES * n && budget > first_budget))
            break;
    }
    for (unsigned i = 0; i < n; i++)
        sys_tcb_suspend(w[i].slot);
    for (unsigned i = 0; i < n; i++) {
        uint32_t here = 0;
        if (sched_usage_on_cpu(sched_ep, 0, w[i].cpu, &consumed, &share, &budget, &here,
                               &err) != 0) {
            char text[ERROR_TEXT];
            sched_error_format(&err, text, sizeof(text));
            debug_printf("%s: FAILED: sched: UsageOnCpu %u: %s\n", name, w[i].cpu, text);
            continue;
        }
        debug_printf("%s: sched: worker on CPU %u registered (%u threads), %llu spins; "
                     "throttled %llu times, budget %u permille\n", name, w[i].cpu, threads,
                     (unsigned long long)worker_spins[i], (unsigned long long)throttled, budget);
    }
}

/* ---- the IO server ---------------------------------------------------- */

struct session {
    volatile struct io_ring *ring;
    uint64_t ep, notification;
    uint32_t sq_tail, cq_head;
};

static uint8_t *io_buffer(unsigned b)
{
    return (uint8_t *)(uintptr_t)(IO_BASE + (1 + b) * PAGE);
}

static void io_push(struct session *s, uint64_t tag, uint16_t op, uint64_t offset, uint16_t buffer)
{
    volatile struct io_sqe *q = &s->ring->sq[s->sq_tail % IO_RING_SQ];
    q->tag = tag;
    q->offset = offset;
    q->bytes = IO_RING_BUFFER_BYTES;
    q->op = op;
    q->buffer = buffer;
    q->reserved = 0;
    s->sq_tail++;
    __atomic_store_n(&s->ring->sq_tail, s->sq_tail, __ATOMIC_RELEASE);
}

/* Kicks, then waits for `n` completions; their statuses by tag (< n).
 * False if the kick was refused (printed). */
static bool io_run(const char *name, struct session *s, unsigned n, uint32_t status[])
{
    struct io_error err;
    uint32_t accepted = 0, waiting = 0;
    int r = io_kick(s->ep, &accepted, &waiting, &err);
    if (r) {
        char text[ERROR_TEXT];
        io_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: io: Kick: %s\n", name, text);
        return false;
    }
    for (unsigned got = 0; got < n;) {
        uint32_t tail = __atomic_load_n(&s->ring->cq_tail, __ATOMIC_ACQUIRE);
        if (tail == s->cq_head) {
            struct bk_msg m = { 0 };
            sys_recv(s->notification, &m);
            continue;
        }
        const volatile struct io_cqe *e = &s->ring->cq[s->cq_head % IO_RING_CQ];
        if (e->tag < n)
            status[e->tag] = e->status;
        s->cq_head++;
        __atomic_store_n(&s->ring->cq_head, s->cq_head, __ATOMIC_RELEASE);
        got++;
    }
    return true;
}

/* A page of bytes only this tenant writes: its name and the block's place. */
static void io_pattern(uint8_t *p, const char *name, uint64_t offset)
{
    uint64_t seed = component_name_word(name) ^ offset;
    for (unsigned i = 0; i < IO_RING_BUFFER_BYTES; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 56);
    }
}

static bool io_as_written(const char *name, uint64_t offset, unsigned buffer)
{
    static uint8_t want[IO_RING_BUFFER_BYTES];
    io_pattern(want, name, offset);
    return memcmp(want, io_buffer(buffer), sizeof(want)) == 0;
}

/* Two blocks written, at the first and the last page of our disk, read
 * back into other buffers, compared; a write past the end refused. */
static void io_blocks(const char *name, struct session *s, uint64_t disk)
{
    uint64_t at[2] = { 0, disk - IO_RING_BUFFER_BYTES };
    uint32_t st[4] = { 99, 99, 99, 99 };
    for (unsigned i = 0; i < 2; i++) {
        io_pattern(io_buffer(i), name, at[i]);
        io_push(s, i, IO_OP_WRITE, at[i], (uint16_t)i);
    }
    if (!io_run(name, s, 2, st))
        return;
    for (unsigned i = 0; i < 2; i++) {
        memset(io_buffer(2 + i), 0, IO_RING_BUFFER_BYTES);
        io_push(s, i, IO_OP_READ, at[i], (uint16_t)(2 + i));
    }
    if (!io_run(name, s, 2, st + 2))
        return;
    bool same = io_as_written(name, at[0], 2) && io_as_written(name, at[1], 3);
    debug_printf("%s: io: wrote 2 blocks of %u bytes at %llu and %llu, statuses %u %u, read them "
                 "back, statuses %u %u: %s\n", name, IO_RING_BUFFER_BYTES,
                 (unsigned long long)at[0], (unsigned long long)at[1], st[0], st[1], st[2], st[3],
                 same ? "as written" : "FAILED: the data differs");
    io_push(s, 0, IO_OP_WRITE, disk, 0);
    if (io_run(name, s, 1, st))
        debug_printf("%s: io: a write at %llu, past its disk's end: status %u\n", name,
                     (unsigned long long)disk, st[0]);
}

/* `--io-grant HOLDER:TENANT` (tools/captable.py, io_grant()): the IO
 * server is the memory server's server HOLDER and knows us as TENANT, so
 * our account can pay our session. False when the command line has none. */
static bool io_grant_numbers(const struct bk_bootinfo *info, uint64_t *holder, uint64_t *tenant)
{
    static const char flag[] = "--io-grant ";
    for (const char *p = info->cmdline; *p; p++) {
        if (memcmp(p, flag, sizeof(flag) - 1) != 0)
            continue;
        *holder = *tenant = 0;
        for (p += sizeof(flag) - 1; *p >= '0' && *p <= '9'; p++)
            *holder = *holder * 10 + (uint64_t)(*p - '0');
        if (*p++ != ':')
            return false;
        for (; *p >= '0' && *p <= '9'; p++)
            *tenant = *tenant * 10 + (uint64_t)(*p - '0');
        return *holder && *tenant;
    }
    return false;
}

/* Where our IO session's memory comes from: the IO server's own pool
 * (IO: Open), or our account, through a grant (Mem: Grant, then IO:
 * OpenGranted), when `mem_ep` is set. */
struct io_payer {
    uint64_t mem_ep, holder, tenant;
};

/* While the driver is down (its supervisor, the root task, restarting it)
 * the IO server refuses a session with driver_down: we ask again once a
 * period (Yield on our partial budget waits for the next refill), for at
 * most this long. */
#define IO_OPEN_SECONDS 20u

/* A fresh grant for the next IO: OpenGranted: the last one ended (by us,
 * if the IO server did not take it; a refused open ends a grant it took),
 * a new one made. 0 if none could be made. */
static uint64_t regrant(const struct io_payer *pay, uint64_t grant)
{
    uint64_t returned, fresh = 0;
    mem_end_grant(pay->mem_ep, grant, &returned, NULL); /* unknown_grant: ended already */
    if (mem_grant(pay->mem_ep, 0, pay->holder, pay->tenant, &fresh, NULL) != 0)
        return 0;
    return fresh;
}

/* IO: Open, or (with `pay`) IO: OpenGranted on *grant, asked again while
 * the driver is down (with a fresh grant each time: *grant is the last);
 * the last answer. */
static int io_open_waiting(const char *name, uint64_t ep, const struct io_payer *pay,
                           uint64_t *grant, uint64_t recv_slot, uint32_t *tenant, uint64_t *disk,
                           uint32_t *buffers, uint32_t *memory, struct io_error *err)
{
    uint64_t deadline = debug_ticks() + IO_OPEN_SECONDS * BK_TICK_HZ;
    unsigned refused = 0;
    for (;;) {
        int r = pay ? io_open_granted(ep, BK_CAP_ROOT_VSPACE, IO_BASE, *grant, tenant, disk,
                                      buffers, memory, recv_slot, err)
                    : io_open(ep, BK_CAP_ROOT_VSPACE, IO_BASE, tenant, disk, buffers, memory,
                              recv_slot, err);
        if (r != IO_ERR_DRIVER_DOWN || debug_ticks() > deadline ||
            (pay && !(*grant = regrant(pay, *grant)))) {
            if (refused && r == 0)
                debug_printf("%s: io: the driver was down: asked %u times, opened once it was "
                             "back\n", name, refused + 1);
            return r;
        }
        refused++;
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
    }
}

/* IO: OpenGranted on a fresh grant of our account, the account's use
 * printed before and after: the session is paid from our quota. */
static int io_open_paid(const char *name, uint64_t ep, const struct io_payer *pay,
                        uint64_t recv_slot, uint32_t *tenant, uint64_t *disk, uint32_t *buffers,
                        uint32_t *memory)
{
    uint64_t quota, before = 0, after = 0, frames, grant = 0;
    struct mem_error me;
    struct io_error err;
    char text[ERROR_TEXT];
    if (mem_account(name, pay->mem_ep, &quota, &before, &frames))
        return -1;
    if (mem_grant(pay->mem_ep, 0, pay->holder, pay->tenant, &grant, &me) != 0) {
        mem_error_format(&me, text, sizeof(text));
        debug_printf("%s: FAILED: mem: Grant toward server %llu: %s\n", name,
                     (unsigned long long)pay->holder, text);
        return -1;
    }
    int r = io_open_waiting(name, ep, pay, &grant, recv_slot, tenant, disk, buffers, memory,
                            &err);
    if (r) {
        io_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: io: OpenGranted: %s\n", name, text);
        return r;
    }
    if (mem_account(name, pay->mem_ep, &quota, &after, &frames))
        return -1;
    debug_printf("%s: io: session paid from its account (Mem: Grant %llu toward server %llu for "
                 "tenant %llu): used %llu -> %llu bytes, +%llu\n", name,
                 (unsigned long long)grant, (unsigned long long)pay->holder,
                 (unsigned long long)pay->tenant, (unsigned long long)before,
                 (unsigned long long)after, (unsigned long long)(after - before));
    return 0;
}

static void use_io(const char *name, uint64_t ep, const struct io_payer *pay, uint64_t recv_slot)
{
    struct io_error err;
    char text[ERROR_TEXT];
    uint32_t tenant = 0, buffers = 0, memory = 0;
    uint64_t disk = 0;
    int r;
    if (pay->mem_ep) {
        r = io_open_paid(name, ep, pay, recv_slot, &tenant, &disk, &buffers, &memory);
        if (r)
            return;
    } else {
        r = io_open_waiting(name, ep, NULL, NULL, recv_slot, &tenant, &disk, &buffers, &memory,
                            &err);
        if (r) {
            io_error_format(&err, text, sizeof(text));
            debug_printf("%s: FAILED: io: Open: %s\n", name, text);
            return;
        }
    }
    debug_printf("%s: io: session open: tenant %u, disk %llu bytes, %u buffers, %u bytes\n", name,
                 tenant, (unsigned long long)disk, buffers, memory);
    struct session s = { .ring = (volatile struct io_ring *)(uintptr_t)IO_BASE, .ep = ep,
                         .notification = recv_slot };
    if (disk >= IO_RING_BUFFER_BYTES)
        io_blocks(name, &s, disk);
    uint64_t ops, bytes, queue, p50, p99, misses;
    r = io_stats(ep, 0, &ops, &bytes, &queue, &p50, &p99, &misses, &err);
    if (r) {
        io_error_format(&err, text, sizeof(text));
        debug_printf("%s: FAILED: io: Stats: %s\n", name, text);
        return;
    }
    debug_printf("%s: io: stats: %llu operations, %llu bytes\n", name, (unsigned long long)ops,
                 (unsigned long long)bytes);
}

/* The next "protocol:slot" of the --channels list at *p (moved past it);
 * false at its end. */
static bool next_channel(const char **p, char protocol[COMPONENT_NAME_LEN], uint64_t *slot)
{
    const char *s = *p;
    if (*s == ',')
        s++;
    unsigned n = 0;
    while (*s && *s != ':' && *s != ' ' && n + 1 < COMPONENT_NAME_LEN)
        protocol[n++] = *s++;
    protocol[n] = '\0';
    if (*s != ':')
        return false;
    s++;
    *slot = 0;
    while (*s >= '0' && *s <= '9')
        *slot = *slot * 10 + (uint64_t)(*s++ - '0');
    *p = s;
    return n > 0;
}

/* The list after "--channels " in the command line, or NULL. */
static const char *channel_list(const struct bk_bootinfo *info)
{
    static const char flag[] = "--channels ";
    for (const char *p = info->cmdline; *p; p++) {
        if (memcmp(p, flag, sizeof(flag) - 1) == 0)
            return p + sizeof(flag) - 1;
    }
    return NULL;
}

int main(const struct bk_bootinfo *info)
{
    char name[COMPONENT_NAME_LEN];
    component_name(info, name);
    uint64_t cpu = ~0ull; /* the CPU the table put us on (Debug: CpuIndex) */
    sys_debug_cpu_index(BK_CAP_DEBUG, &cpu);
    debug_printf("%s: tenant started on CPU %llu, arguments '%s'\n", name,
                 (unsigned long long)cpu, component_args(info));
    component_list_caps(name, COMPONENT_CNODE_BITS);
    const char *list = channel_list(info);
    char protocol[COMPONENT_NAME_LEN];
    uint64_t slot, sched_ep = 0, mem_ep = 0;
    struct io_payer pay = { 0 };
    bool paid = io_grant_numbers(info, &pay.holder, &pay.tenant);
    while (list && next_channel(&list, protocol, &slot)) {
        if (strcmp(protocol, "mem") == 0)
            use_memory(name, mem_ep = slot);
        else if (strcmp(protocol, "sched") == 0)
            use_sched(name, sched_ep = slot);
        else if (strcmp(protocol, "io") == 0) {
            pay.mem_ep = paid ? mem_ep : 0;
            use_io(name, slot, &pay, info->first_free_slot);
        }
        else
            call_channel(name, slot);
    }
    struct worker workers[MAX_WORKERS];
    unsigned n = workers_of(info, workers);
    if (sched_ep && n)
        use_workers(name, sched_ep, workers, n);
    debug_printf("%s: done\n", name);
    return 0;
}
