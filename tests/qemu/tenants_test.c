/*
 * The tenant manager (servers/tenants, issue 15): the root task spawns
 * mem-server (16 MiB, SchedControl, an ASID pool), seals the program
 * tenant-worker (tests/qemu/tenant_worker.c) as its administrator, spawns
 * tenants-server with the memory server's endpoint, a channel for its
 * tenants and the console's receive interrupt, and configures its
 * allowance (2 MiB, 50 % of the CPU). Then, through the generated stubs:
 *
 *  - a badged caller, bad names, a program named twice, CPU 0 and 101 %:
 *    each refused with its text;
 *  - two tenants created; each says hello from its own thread (Tenants:
 *    Hello, which the manager passes on to the channel); the
 *    allowance counts them; a third over the memory left and one over the
 *    CPU left refused with the numbers; a quota the memory server refuses
 *    (not whole pages) comes back with its text, nothing handed out;
 *  - List shows both with the memory their accounts use (as Mem: Usage
 *    reads it) and CPU time consumed;
 *  - SetQuota: a memory quota within the allowance (Mem: Usage shows it),
 *    one above it, one below the tenant's use (the memory server's
 *    refusal), a CPU quota above what is left, one within (the thread's
 *    budget as Mem: Cpu reads it), an unknown tenant;
 *  - the tenants' own calls: Hello and Io through a cap badged as alpha's
 *    (its id; no IO, so Io is refused), and from the administrator or an
 *    unknown badge refused; IO asked of a manager without an IO server
 *    (Create with a disk, SetQuota with rates, ConfigureIo) refused, and
 *    rates without a disk;
 *  - Kill returns what the account used, to the byte; killing twice and
 *    a forged id refused; after both, the memory server's free memory and
 *    the allowance are what they were.
 *
 * Then the console: the root task says "console: your turn" and waits on
 * a notification the console's `exit` signals; the test runner types the
 * commands on the serial line (tests/qemu/tests.cmake lists them and what
 * must come back). Afterwards no tenant is left and every byte is back.
 */
#include <bulkhead/sys.h>
#include <protocols/mem_client.h>
#include <protocols/tenants_client.h>

#define W BK_WORD_BITS
#define MEM_PRIORITY 200
#define MANAGER_PRIORITY 150
#define MEM_POOL_SLOT 13      /* servers/mem/server.h: POOL_SLOT */
#define MEM_ASID_POOL_SLOT 40 /* servers/mem/server.h: ASID_POOL_SLOT(0) */
#define CHILD_CNODE_BITS 8
/* servers/tenants/tenants.h */
#define TENANTS_SLOT_MEM 11
#define TENANTS_SLOT_CHANNEL 12
#define TENANTS_SLOT_IRQ 13
#define TENANTS_SLOT_SIGNAL 14
#define TENANTS_SLOT_DONE 15
#define TENANTS_CONSOLE_BIT 1ull
#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define PAGE 4096ull
#define FILE_BASE (4 * GiB)
#define ALLOWANCE (2 * MiB)
#define ALLOWANCE_CPU 50
#define HELLO 0x201 /* tenant_worker.c */
#define TOUCHED (32 * KiB)

static int failures;
static uint64_t mem_ep, mgr, channel, done;
static uint64_t program_owner;

static void expect(int ok, const char *what)
{
    debug_printf("tenantstest: %s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

static bool text_is(const struct tenants_error *e, const char *expected)
{
    char buf[240];
    tenants_error_format(e, buf, sizeof(buf));
    debug_printf("tenantstest:   '%s'\n", buf);
    return expected == NULL || strcmp(buf, expected) == 0;
}

static uint64_t copy_of(uint64_t cap, uint64_t rights, uint64_t badge)
{
    uint64_t slot = bk_slot_alloc();
    if (!slot || sys_cnode_mint(BK_CAP_ROOT_CNODE, slot, W, BK_CAP_ROOT_CNODE, cap, W, rights,
                                badge) != 0)
        return 0;
    return slot;
}

static uint64_t free_memory(void)
{
    uint64_t free = 0, total = 0;
    mem_memory(mem_ep, &free, &total, NULL);
    return free;
}

static uint64_t used_by(uint64_t id)
{
    uint64_t u[13] = { 0 };
    mem_usage(mem_ep, id, &u[0], &u[1], &u[2], &u[3], &u[4], &u[5], &u[6], &u[7], &u[8], &u[9],
              &u[10], &u[11], &u[12], NULL);
    return u[1];
}

static uint64_t quota_of(uint64_t id)
{
    uint64_t u[13] = { 0 };
    mem_usage(mem_ep, id, &u[0], &u[1], &u[2], &u[3], &u[4], &u[5], &u[6], &u[7], &u[8], &u[9],
              &u[10], &u[11], &u[12], NULL);
    return u[0];
}

struct allowance {
    uint64_t memory, memory_given, cpus;
    uint32_t cpu, cpu_given, tenants;
};

static struct allowance allowance(void)
{
    struct allowance a = { 0 };
    tenants_allowance(mgr, &a.memory, &a.cpu, &a.cpus, &a.memory_given, &a.cpu_given, &a.tenants,
                      NULL);
    return a;
}

/* ---- Setting up ------------------------------------------------------------ */

static const struct bk_boot_module *module(const struct bk_bootinfo *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->module_count; i++) {
        if (strcmp(bi->modules[i].name, name) == 0)
            return &bi->modules[i];
    }
    return NULL;
}

static bool start_mem(const struct bk_bootinfo *bi)
{
    struct bk_process p;
    mem_ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    uint64_t pool = bk_alloc_object(BK_OBJ_UNTYPED, 24);
    uint64_t asids = bk_alloc_object(BK_OBJ_UNTYPED, BK_ASID_POOL_BITS);
    return mem_ep && pool && asids &&
           bk_process_spawn(bi, "mem-server", MEM_PRIORITY, mem_ep,
                            BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE |
                                BK_SPAWN_GIVE_SCHED_CONTROL,
                            &p) == 0 &&
           sys_cnode_move(p.cnode, MEM_POOL_SLOT, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE, pool,
                          W) == 0 &&
           sys_asid_control_make_pool(BK_CAP_ASID_CONTROL, asids, p.cnode, MEM_ASID_POOL_SLOT,
                                      CHILD_CNODE_BITS) == 0;
}

/* tenant-worker's ELF file into a region of account "programs", sealed. */
static uint64_t seal_worker(const struct bk_bootinfo *bi)
{
    struct mem_error e;
    const struct bk_boot_module *m = module(bi, "tenant-worker");
    uint64_t space = bk_slot_alloc(), program = 0, pages, n;
    uint32_t regions;
    if (!m || sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE,
                             W, BK_RIGHTS_ALL) != 0 ||
        mem_create_account(mem_ep, "programs", 4 * MiB, space, &program_owner, &e) != 0)
        return 0;
    uint64_t region = (m->size + PAGE - 1) & ~(PAGE - 1);
    if (mem_add_region(mem_ep, program_owner, FILE_BASE, region, BK_VM_READ | BK_VM_WRITE,
                       &regions, &e) ||
        mem_populate(mem_ep, program_owner, FILE_BASE, region, &n, &e))
        return 0;
    memcpy((void *)(uintptr_t)FILE_BASE, (const void *)(uintptr_t)m->vaddr, m->size);
    if (mem_seal_program(mem_ep, program_owner, FILE_BASE, m->size, &program, &pages, &e) ||
        mem_remove_region(mem_ep, program_owner, FILE_BASE, &n, &e))
        return 0;
    return program;
}

static bool give(const struct bk_process *p, uint64_t src, unsigned dest)
{
    return src && sys_cnode_move(p->cnode, dest, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE, src, W) ==
                      0;
}

/* The console's receive line: an IRQHandler signalling a notification
 * with TENANTS_CONSOLE_BIT; both go to the manager, which binds it. */
static bool give_console(const struct bk_process *p)
{
    uint64_t line = 0, handler = bk_slot_alloc();
    uint64_t signal = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    if (sys_debug_console_line(BK_CAP_DEBUG, &line) != 0 || !handler || !signal ||
        sys_irq_control_get(BK_CAP_IRQ_CONTROL, line, BK_CAP_ROOT_CNODE, handler, W) != 0)
        return false;
    debug_printf("tenantstest: the console receives on interrupt line %llu\n",
                 (unsigned long long)line);
    uint64_t badged = copy_of(signal, BK_RIGHT_WRITE, TENANTS_CONSOLE_BIT);
    return badged && sys_irq_handler_set_notification(handler, badged) == 0 &&
           give(p, handler, TENANTS_SLOT_IRQ) && give(p, signal, TENANTS_SLOT_SIGNAL);
}

static bool start_manager(const struct bk_bootinfo *bi)
{
    struct bk_process p;
    mgr = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    channel = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    done = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    return mgr && channel && done &&
           bk_process_spawn(bi, "tenants-server", MANAGER_PRIORITY, mgr, BK_SPAWN_GIVE_DEBUG,
                            &p) == 0 &&
           give(&p, copy_of(mem_ep, BK_RIGHTS_ALL, 0), TENANTS_SLOT_MEM) &&
           give(&p, copy_of(channel, BK_RIGHTS_ALL, 0), TENANTS_SLOT_CHANNEL) &&
           give(&p, copy_of(done, BK_RIGHT_WRITE, 0), TENANTS_SLOT_DONE) && give_console(&p);
}

/* ---- Through the protocol --------------------------------------------------- */

static void configure_and_programs(uint64_t program)
{
    struct tenants_error e;
    uint64_t given;
    uint32_t cpu_given, programs;
    expect(tenants_configure(mgr, ALLOWANCE, ALLOWANCE_CPU, 0, &given, &cpu_given, &e) == 0 &&
               given == 0 && cpu_given == 0,
           "allowance configured: 2 MiB, 50 % of the CPU");
    int r = tenants_configure(mgr, ALLOWANCE, 0, 0, &given, &cpu_given, &e);
    expect(r == TENANTS_ERR_BAD_CPU && text_is(&e, "tenant (allowance): CPU 0 % refused (1 to "
                                                   "100)"),
           "an allowance of 0 % refused");
    expect(tenants_add_program(mgr, "worker", program, &programs, &e) == 0 && programs == 1,
           "program worker named");
    r = tenants_add_program(mgr, "worker", program, &programs, &e);
    expect(r == TENANTS_ERR_PROGRAM_TAKEN && text_is(&e, NULL), "a program named twice refused");
    r = tenants_add_program(mgr, "a b", program, &programs, &e);
    expect(r == TENANTS_ERR_BAD_NAME && text_is(&e, "name 'a b' refused (1 to 15 letters, "
                                                    "digits, '-', '_' or '.')"),
           "a name with a space refused");
    uint64_t id;
    r = tenants_create(copy_of(mgr, BK_RIGHTS_ALL, 7), "sneaky", "worker", 64 * KiB, 5, 0, 0, 0, 0,
                       0, 0, &id, &e);
    expect(r == TENANTS_ERR_NOT_ADMIN && text_is(&e, "the caller (badge 7) is not the manager's "
                                                     "administrator"),
           "a badged caller cannot create");
}

/* The tenant's hello from its own thread, passed on by the manager on the
 * channel: its place + 1 and the stack it touched. */
static bool hello(uint64_t place)
{
    struct bk_msg m = { 0 };
    sys_recv(channel, &m);
    return BK_MSGINFO_LABEL(m.info) == HELLO && m.badge == 0 && m.mr[0] == place &&
           m.mr[1] == TOUCHED;
}

static void creates(uint64_t *alpha, uint64_t *beta)
{
    struct tenants_error e;
    uint64_t free_before = free_memory(), id;
    expect(tenants_create(mgr, "alpha", "worker", 512 * KiB, 20, 0, 0, 0, 0, 0, 0, alpha, &e) ==
                   0 &&
               hello(1),
           "alpha created (512 KiB, 20 %): its thread said hello");
    expect(tenants_create(mgr, "beta", "worker", 1 * MiB, 20, 0, 0, 0, 0, 0, 0, beta, &e) == 0 &&
               hello(2),
           "beta created (1 MiB, 20 %): its thread said hello");
    struct allowance a = allowance();
    expect(a.memory_given == 1536 * KiB && a.cpu_given == 40 && a.tenants == 2 &&
               free_memory() < free_before,
           "the allowance counts them: 1.5 MiB and 40 % handed out");
    int r = tenants_create(mgr, "gamma", "worker", 1 * MiB, 5, 0, 0, 0, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_OVER_MEMORY &&
               text_is(&e, "tenant gamma: memory 1 MiB exceeds the manager's allowance (512 KiB "
                           "left of 2 MiB)"),
           "a tenant over the memory left refused with the numbers");
    r = tenants_create(mgr, "gamma", "worker", 256 * KiB, 20, 0, 0, 0, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_OVER_CPU &&
               text_is(&e, "tenant gamma: CPU 20 % exceeds the manager's allowance (10 % left of "
                           "50 %)"),
           "a tenant over the CPU left refused with the numbers");
    r = tenants_create(mgr, "gamma", "worker", 5000, 5, 0, 0, 0, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_REFUSED &&
               text_is(&e, "tenant gamma: the memory server refused: tenant gamma: quota 5000 B "
                           "refused (whole pages, from 8 KiB to 4 MiB)") &&
               allowance().memory_given == 1536 * KiB,
           "a quota the memory server refuses: its text, nothing handed out");
    r = tenants_create(mgr, "gamma", "editor", 64 * KiB, 5, 0, 0, 0, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_UNKNOWN_PROGRAM &&
               text_is(&e, "tenant gamma: no program named 'editor'"),
           "an unknown program refused");
    r = tenants_create(mgr, "alpha", "worker", 64 * KiB, 5, 0, 0, 0, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_NAME_TAKEN && text_is(&e, NULL), "a name taken refused");
    r = tenants_create(mgr, "gamma", "worker", 64 * KiB, 101, 0, 0, 0, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_BAD_CPU && text_is(&e, "tenant gamma: CPU 101 % refused (1 to 100)"),
           "CPU 101 % refused");
}

static void lists(uint64_t alpha, uint64_t beta)
{
    struct tenants_error e;
    uint32_t index = 0, seen = 0, next, cpu, permille;
    bool ok = true;
    for (;;) {
        uint64_t id, memory, used, cpu_ns;
        char name[16];
        uint32_t io_iops, io_limit;
        uint64_t disk, io_ops, io_bytes;
        uint32_t cpu_limit, weight, on_cpu = 9;
        uint32_t stopped = 1;
        if (tenants_list(mgr, index, &next, &id, name, &stopped, &memory, &used, &cpu,
                         &cpu_limit, &weight, &on_cpu, &cpu_ns, &permille, &io_iops, &io_limit,
                         &disk, &io_ops, &io_bytes, &e) != 0 ||
            id == 0)
            break;
        debug_printf("tenantstest:   %s (tenant %llu): %llu of %llu bytes, CPU %u %%, %llu ns\n",
                     name, (unsigned long long)id, (unsigned long long)used,
                     (unsigned long long)memory, cpu, (unsigned long long)cpu_ns);
        bool is_alpha = id == alpha && strcmp(name, "alpha") == 0 && memory == 512 * KiB;
        bool is_beta = id == beta && strcmp(name, "beta") == 0 && memory == 1 * MiB;
        ok &= (is_alpha || is_beta) && !stopped && on_cpu == 0 && used == used_by(id) &&
              used >= TOUCHED && cpu == 20 &&
              cpu_limit == cpu && weight == 0 && cpu_ns > 0 && permille <= 1000 && !io_iops &&
              !io_limit && !disk && !io_ops && !io_bytes;
        seen++;
        index = next;
    }
    expect(ok && seen == 2, "List: both tenants, the memory their accounts use, CPU time used, "
                            "no IO");
}

/* Lets `ticks` ticks pass below the tenants (priority 10), so a tenant
 * that can run does: we look again only when they are throttled. */
static void wait_ticks(uint64_t ticks)
{
    uint64_t priority = 0, mcp = 0, end = debug_ticks() + ticks;
    sys_tcb_read_priority(BK_CAP_ROOT_TCB, &priority, &mcp);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 1);
    while (debug_ticks() < end) {
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
    }
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, priority);
}

/* ---- A tenant that floods the manager ------------------------------------- */

#define OWN_CALLS 8 /* servers/tenants/tenants.h: TENANTS_OWN_CALLS */
#define FLOOD_STACK 8192
static uint8_t flood_stack[FLOOD_STACK] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(PAGE))) flood_buffer;
static volatile unsigned flood_answered;
static volatile int flood_last = -1; /* the call that did not succeed: its code */
static uint64_t flood_cap, flood_parked;

/* Calls Hello as alpha until a call does not succeed, then parks. */
static void flood(uint64_t arg)
{
    (void)arg;
    struct tenants_error e;
    uint64_t id, disk;
    uint32_t io, holder;
    int r;
    while ((r = tenants_hello(flood_cap, 0, &id, &io, &holder, &disk, &e)) == 0)
        flood_answered++;
    flood_last = r;
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(flood_parked, &m); /* a notification nobody signals */
    }
}

/* Whether List says tenant `id` is stopped (-1: not listed). */
static int listed_stopped(uint64_t id)
{
    struct tenants_error e;
    for (uint32_t index = 0, next;; index = next) {
        uint64_t tenant, memory, used, cpu_ns, disk, ops, bytes;
        uint32_t stopped, cpu, limit, weight, on_cpu, permille, iops, io_limit;
        char name[16];
        if (tenants_list(mgr, index, &next, &tenant, name, &stopped, &memory, &used, &cpu, &limit,
                         &weight, &on_cpu, &cpu_ns, &permille, &iops, &io_limit, &disk, &ops,
                         &bytes, &e) != 0 ||
            tenant == 0)
            return -1;
        if (tenant == id)
            return (int)stopped;
    }
}

/* Stop and Start: the thread's time stands still while it is stopped. */
static void stops(uint64_t alpha)
{
    struct tenants_error e;
    uint64_t before, after, throttled, budget, period;
    expect(tenants_stop(mgr, alpha, &e) == 0 && listed_stopped(alpha) == 1,
           "alpha stopped: List says so");
    int r = tenants_stop(mgr, alpha, &e);
    expect(r == TENANTS_ERR_STATE && text_is(&e, "tenant alpha: it is stopped already"),
           "stopping it again refused");
    mem_cpu(mem_ep, alpha, &before, &throttled, &budget, &period, NULL);
    wait_ticks(3);
    mem_cpu(mem_ep, alpha, &after, &throttled, &budget, &period, NULL);
    expect(after == before, "its thread used no CPU while stopped (three ticks)");
    expect(tenants_start(mgr, alpha, &e) == 0 && listed_stopped(alpha) == 0,
           "alpha started again: List says it runs");
    wait_ticks(3);
    mem_cpu(mem_ep, alpha, &after, &throttled, &budget, &period, NULL);
    expect(after > before, "and it uses the CPU again");
    r = tenants_start(mgr, alpha, &e);
    expect(r == TENANTS_ERR_STATE && text_is(&e, "tenant alpha: it is running already"),
           "starting a running tenant refused");
    r = tenants_stop(copy_of(mgr, BK_RIGHTS_ALL, 256), alpha, &e);
    expect(r == TENANTS_ERR_NOT_ADMIN, "a tenant cannot stop another (or itself)");
    r = tenants_stop(mgr, 999, &e);
    expect(r == TENANTS_ERR_UNKNOWN_TENANT, "an unknown tenant cannot be stopped");
}

static void quotas(uint64_t alpha, uint64_t beta)
{
    struct tenants_error e;
    uint64_t memory, consumed, throttled, budget, period;
    uint32_t cpu, cpu_limit, weight, iops, limit;
    expect(tenants_set_quota(mgr, alpha, 1 * MiB, 0, 0, 0, 0, 0, &memory, &cpu, &cpu_limit,
                             &weight, &iops, &limit, &e) == 0 &&
               memory == 1 * MiB && cpu == 20 && quota_of(alpha) == 1 * MiB,
           "alpha's memory quota raised to 1 MiB: the memory server holds it");
    int r = tenants_set_quota(mgr, beta, 2 * MiB, 0, 0, 0, 0, 0, &memory, &cpu, &cpu_limit,
                              &weight, &iops, &limit, &e);
    expect(r == TENANTS_ERR_OVER_MEMORY &&
               text_is(&e, "tenant beta: memory 2 MiB exceeds the manager's allowance (1 MiB "
                           "left of 2 MiB)") &&
               quota_of(beta) == 1 * MiB,
           "beta's quota above the allowance refused, unchanged");
    r = tenants_set_quota(mgr, alpha, 8 * KiB, 0, 0, 0, 0, 0, &memory, &cpu, &cpu_limit, &weight,
                          &iops, &limit, &e);
    expect(r == TENANTS_ERR_REFUSED && text_is(&e, NULL) && quota_of(alpha) == 1 * MiB &&
               allowance().memory_given == 2 * MiB,
           "a quota below alpha's use: the memory server's refusal, nothing changed");
    r = tenants_set_quota(mgr, alpha, 0, 40, 0, 0, 0, 0, &memory, &cpu, &cpu_limit, &weight,
                          &iops, &limit, &e);
    expect(r == TENANTS_ERR_OVER_CPU &&
               text_is(&e, "tenant alpha: CPU 40 % exceeds the manager's allowance (30 % left of "
                           "50 %)"),
           "alpha's CPU above what is left refused");
    expect(tenants_set_quota(mgr, alpha, 0, 30, 0, 0, 0, 0, &memory, &cpu, &cpu_limit, &weight,
                             &iops, &limit, &e) == 0 &&
               cpu == 30 &&
               mem_cpu(mem_ep, alpha, &consumed, &throttled, &budget, &period, NULL) == 0 &&
               budget == 3000000 && period == 10000000,
           "alpha's CPU set to 30 %: its thread's budget is 3 ms every 10 ms");
    r = tenants_set_quota(mgr, 999, 0, 30, 0, 0, 0, 0, &memory, &cpu, &cpu_limit, &weight, &iops,
                          &limit, &e);
    expect(r == TENANTS_ERR_UNKNOWN_TENANT && text_is(&e, "no tenant 999"),
           "an unknown tenant refused");
}

/* The tenants' own calls, through a cap the administrator mints with
 * alpha's badge (its place 1, times 256), and IO asked of a manager that
 * has no IO server. */
static void tenant_calls(uint64_t alpha)
{
    struct tenants_error e;
    uint64_t id = 0, disk = 1, memory;
    uint32_t io_tenant = 1, holder = 1, cpu, cpu_limit, weight, iops, limit;
    uint64_t as_alpha = copy_of(mgr, BK_RIGHT_WRITE | BK_RIGHT_GRANT_REPLY, 256);
    expect(tenants_hello(as_alpha, 5, &id, &io_tenant, &holder, &disk, &e) == 0 && id == alpha &&
               io_tenant == 0 && holder == 0 && disk == 0,
           "Hello on alpha's badge: its id, no IO");
    int r = tenants_io(as_alpha, bk_slot_alloc(), &e);
    expect(r == TENANTS_ERR_NO_IO && text_is(&e, "tenant alpha: no IO here (the manager has no "
                                                 "IO server, or the tenant no disk)"),
           "Io for a tenant without IO refused");
    r = tenants_hello(mgr, 5, &id, &io_tenant, &holder, &disk, &e);
    expect(r == TENANTS_ERR_NOT_TENANT &&
               text_is(&e, "the caller (badge 0) is not one of the manager's tenants"),
           "Hello from the administrator refused");
    r = tenants_io(copy_of(mgr, BK_RIGHTS_ALL, 256 * 9), bk_slot_alloc(), &e);
    expect(r == TENANTS_ERR_NOT_TENANT && text_is(&e, NULL), "Io on a badge of no tenant refused");
    r = tenants_create(as_alpha, "gamma", "worker", 64 * KiB, 5, 0, 0, 0, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_NOT_ADMIN, "a tenant cannot create");
    r = tenants_create(mgr, "gamma", "worker", 64 * KiB, 5, 0, 0, 0, 10, 20, 64 * KiB, &id, &e);
    expect(r == TENANTS_ERR_NO_IO && text_is(&e, "tenant gamma: no IO here (the manager has no IO "
                                                 "server, or the tenant no disk)"),
           "a disk asked of a manager without an IO server refused");
    r = tenants_create(mgr, "gamma", "worker", 64 * KiB, 5, 0, 0, 0, 10, 20, 0, &id, &e);
    expect(r == TENANTS_ERR_BAD_IO &&
               text_is(&e, "tenant gamma: IO reservation 10 and limit 20 IOPS with a disk of 0 "
                           "refused (a disk of whole 4 KiB pages, and 1 <= limit, reservation "
                           "<= limit)"),
           "IO rates without a disk refused");
    r = tenants_set_quota(mgr, alpha, 0, 0, 0, 0, 10, 0, &memory, &cpu, &cpu_limit, &weight,
                          &iops, &limit, &e);
    expect(r == TENANTS_ERR_NO_IO && text_is(&e, NULL), "IO rates for a tenant without IO refused");
    r = tenants_create(mgr, "gamma", "worker", 64 * KiB, 5, 10, 3, 0, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_NO_SCHED &&
               text_is(&e, "tenant gamma: a CPU limit (10 %) or weight (3) needs a scheduler "
                           "server, and the manager has none"),
           "a CPU limit and weight asked of a manager without a scheduler server refused");
    r = tenants_set_quota(mgr, alpha, 0, 0, 0, 2, 0, 0, &memory, &cpu, &cpu_limit, &weight, &iops,
                          &limit, &e);
    expect(r == TENANTS_ERR_NO_SCHED && text_is(&e, NULL), "a weight for alpha refused the same");
    r = tenants_create(mgr, "gamma", "worker", 64 * KiB, 5, 0, 0, 1, 0, 0, 0, &id, &e);
    expect(r == TENANTS_ERR_BAD_ON_CPU &&
               text_is(&e, "tenant gamma: CPU 1 refused (the manager's CPUs are 0x1; one other "
                           "than 0 needs a scheduler server)"),
           "a tenant on CPU 1 refused: not the manager's, and no scheduler server");
    uint64_t given;
    uint32_t cpu_given;
    r = tenants_configure(mgr, ALLOWANCE, ALLOWANCE_CPU, 0x100, &given, &cpu_given, &e);
    expect(r == TENANTS_ERR_BAD_CPUS &&
               text_is(&e, "CPUs 0x100 refused (bit c for CPU c, 0 to 7)") &&
               allowance().cpus == 1,
           "an allowance on CPU 8 refused; the manager's CPUs stay CPU 0's");
    /* A tenant the manager did not make, watched: the programs' account. */
    uint64_t seen = 0, freed, session;
    r = tenants_watch(copy_of(mgr, BK_RIGHTS_ALL, 5), "progs", program_owner, 0, 0, 0, 0, 0, 0,
                      0, &seen, &e);
    expect(r == TENANTS_ERR_NOT_ADMIN, "a badged caller cannot watch");
    r = tenants_watch(mgr, "ghost", 999, 0, 0, 0, 0, 0, 0, 0, &seen, &e);
    expect(r == TENANTS_ERR_REFUSED &&
               text_is(&e, "tenant ghost: the memory server refused: no account 999"),
           "watching an account the memory server does not have refused");
    expect(tenants_watch(mgr, "progs", program_owner, 0, 0, 0, 0, 0, 0, 0, &seen, &e) == 0 &&
               seen == program_owner && listed_stopped(program_owner) == 2 &&
               allowance().tenants == 2,
           "an account watched: listed as the table's, counted in no allowance");
    r = tenants_kill(mgr, program_owner, &freed, &session, &e);
    expect(r == TENANTS_ERR_NOT_OURS &&
               text_is(&e, "tenant progs: a tenant of the system's table: its quotas are the "
                           "policy's and its objects not the manager's"),
           "killing a watched tenant refused");
    r = tenants_set_quota(mgr, program_owner, 8 * MiB, 0, 0, 0, 0, 0, &memory, &cpu, &cpu_limit,
                          &weight, &iops, &limit, &e);
    expect(r == TENANTS_ERR_NOT_OURS &&
               tenants_stop(mgr, program_owner, &e) == TENANTS_ERR_NOT_OURS,
           "its quota and its thread not the manager's to change either");
    r = tenants_configure_io(mgr, 100, 0x1e, 0, 8192, 1, &e);
    expect(r == TENANTS_ERR_NO_IO && text_is(&e, "tenant (allowance): no IO here (the manager has "
                                                 "no IO server, or the tenant no disk)"),
           "an IO allowance without an IO server refused");
}

/* A thread of ours with alpha's badge calls Hello on and on: the manager
 * answers alpha's first OWN_CALLS calls in all (the worker's Hello and
 * ours before counted) and then no more: the flooder waits in its call,
 * costing the manager a Recv, until another call reaches the manager and
 * cancels its wait. */
static void floods(const struct bk_bootinfo *bi)
{
    flood_cap = copy_of(mgr, BK_RIGHT_WRITE | BK_RIGHT_GRANT_REPLY, 256);
    flood_parked = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    uint64_t tcb = bk_alloc_object(BK_OBJ_TCB, 0);
    long err = 0;
    bool started = flood_cap && flood_parked && tcb &&
                   bk_thread_start(tcb, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE, flood, 0,
                                   flood_stack, FLOOD_STACK,
                                   (uint64_t)(uintptr_t)&flood_buffer, 5) == 0 &&
                   bk_sched_whole_cpu(tcb, &err) && err == 0;
    (void)bi;
    wait_ticks(3);
    unsigned answered = flood_answered;
    debug_printf("tenantstest:   the flooder's calls answered: %u\n", answered);
    /* Alpha's calls before, each counted: the worker's Hello; ours as alpha:
     * Stop (stops()), Hello, Io and Create (tenant_calls()). */
    expect(started && answered == OWN_CALLS - 5 && flood_last == -1,
           "a tenant calling the manager on and on: answered until its calls number 8, then "
           "its call waits");
    struct allowance a = allowance(); /* another call: the flooder's wait is cancelled */
    wait_ticks(1);
    expect(a.memory == ALLOWANCE && flood_answered == answered &&
               flood_last == BK_PROTO_ERR_IPC,
           "the manager still serves others; the flooder's waiting call ends cancelled, "
           "unanswered");
}

static void kills(uint64_t alpha, uint64_t beta, uint64_t free_before)
{
    struct tenants_error e;
    uint64_t freed = 0, session = 1;
    uint64_t held = used_by(beta), free_now = free_memory();
    expect(tenants_kill(mgr, beta, &freed, &session, &e) == 0 && freed == held && session == 0 &&
               free_memory() == free_now + held,
           "beta killed: the bytes freed are what it held, back in the memory server");
    int r = tenants_kill(mgr, beta, &freed, &session, &e);
    expect(r == TENANTS_ERR_UNKNOWN_TENANT && text_is(&e, NULL), "killing beta twice refused");
    held = used_by(alpha);
    expect(tenants_kill(mgr, alpha, &freed, &session, &e) == 0 && freed == held, "alpha killed");
    struct allowance a = allowance();
    expect(a.memory_given == 0 && a.cpu_given == 0 && a.tenants == 0 &&
               free_memory() == free_before,
           "nothing handed out, every byte back in the memory server");
}

/* ---- The console ------------------------------------------------------------ */

static void console(uint64_t free_before)
{
    debug_printf("tenantstest: console: your turn\n");
    struct bk_msg m = { 0 };
    sys_recv(done, &m);
    struct allowance a = allowance();
    expect(a.tenants == 0 && a.memory_given == 0 && free_memory() == free_before,
           "after the console: no tenant left, every byte back");
}

int main(const struct bk_bootinfo *bi)
{
    bk_alloc_init(bi);
    uint64_t program = 0;
    bool ok = start_mem(bi) && (program = seal_worker(bi)) != 0 && start_manager(bi);
    expect(ok, "mem-server, the program worker and tenants-server started");
    if (!ok) {
        debug_printf("tenantstest: checks FAILED\n");
        return 1;
    }
    uint64_t free_before = free_memory(), alpha = 0, beta = 0;
    configure_and_programs(program);
    creates(&alpha, &beta);
    lists(alpha, beta);
    quotas(alpha, beta);
    stops(alpha);
    tenant_calls(alpha);
    floods(bi);
    kills(alpha, beta, free_before);
    console(free_before);
    expect(debug_check_invariants() == 0, "the kernel's invariants hold");
    debug_printf("tenantstest: %s\n", failures ? "checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
