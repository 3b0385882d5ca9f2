/*
 * The tenant manager (servers/tenants/protocol.toml, docs/tenants.md):
 * tenants created from programs sealed in the memory server, listed with
 * their live usage, their quotas changed, killed. This file is the
 * requests and the loop; console.c is the serial console, which runs the
 * same handlers.
 *
 * The manager holds no memory and no kernel object of a tenant's: the
 * memory server makes them all (Mem: Spawn) and charges them to the
 * tenant's account, so Kill (Mem: DestroyAccount) returns every byte. What
 * the manager keeps is its table and its allowance: the memory and CPU it
 * may hand out, which no Create or SetQuota exceeds, and the IO (io.c).
 * Every check is made before a server is asked, so a refusal changes
 * nothing.
 */
#include "tenants.h"

#define W BK_WORD_BITS

struct manager manager;

/* ---- Names and lookups ------------------------------------------------- */

/* Letters, digits, '-', '_', '.': a name the console can type and print. */
static bool name_ok(const char *name)
{
    if (!name[0])
        return false;
    for (const char *c = name; *c; c++) {
        bool alnum = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9');
        if (!alnum && *c != '-' && *c != '_' && *c != '.')
            return false;
    }
    return true;
}

/* Copies a NUL-terminated name of fewer than TENANTS_NAME bytes (the
 * dispatch checked its length): the request's words live in our IPC
 * buffer, which our own calls to the memory server overwrite. */
static void name_copy(char *dst, const char *src)
{
    size_t n = strlen(src);
    memcpy(dst, src, n + 1);
}

struct tenant *tenant_by_name(const char *name)
{
    for (unsigned i = 0; i < TENANTS_MAX; i++) {
        if (manager.tenants[i].live && strcmp(manager.tenants[i].name, name) == 0)
            return &manager.tenants[i];
    }
    return NULL;
}

static struct tenant *tenant_by_id(uint64_t id)
{
    for (unsigned i = 0; id && i < TENANTS_MAX; i++) {
        if (manager.tenants[i].live && manager.tenants[i].id == id)
            return &manager.tenants[i];
    }
    return NULL;
}

struct tenant *tenant_by_badge(uint64_t badge)
{
    uint64_t place = badge / TENANTS_TENANT_BADGE;
    if (badge % TENANTS_TENANT_BADGE || place < 1 || place > TENANTS_MAX)
        return NULL;
    struct tenant *t = &manager.tenants[place - 1];
    return t->live && !t->table ? t : NULL;
}

static const uint64_t *program_by_name(const char *name)
{
    for (unsigned i = 0; i < manager.program_count; i++) {
        if (strcmp(manager.programs[i].name, name) == 0)
            return &manager.programs[i].id;
    }
    return NULL;
}

/* The memory server's refusal, as our error: its text names the numbers. */
static int refused(struct tenants_call *call, const char *tenant, const struct mem_error *e)
{
    char reason[96];
    mem_error_format(e, reason, sizeof(reason));
    return tenants_fail_refused(call, tenant, reason);
}

/* ---- The allowance ------------------------------------------------------ */

static bool cpu_ok(uint32_t cpu)
{
    return cpu >= 1 && cpu <= 100;
}

/* Whether `memory` and `cpu` fit once `t`'s present quotas (if any) are
 * given back: 0, or the error naming what is left. */
static int fits(struct tenants_call *call, const char *name, const struct tenant *t,
                uint64_t memory, uint32_t cpu)
{
    uint64_t memory_left = manager.memory - manager.memory_given + (t ? t->memory : 0);
    uint32_t cpu_left = manager.cpu - manager.cpu_given + (t ? t->cpu : 0);
    if (memory > memory_left)
        return tenants_fail_over_memory(call, name, memory, memory_left, manager.memory);
    if (cpu > cpu_left)
        return tenants_fail_over_cpu(call, name, cpu, cpu_left, manager.cpu);
    return 0;
}

static uint64_t budget_of(uint32_t cpu)
{
    return TENANTS_PERIOD_NS / 100 * cpu;
}

/* The CPUs may change under live tenants: one on a CPU taken out of the
 * set keeps running there. */
int tenants_handle_configure(struct tenants_call *call, uint64_t memory, uint32_t cpu,
                             uint64_t cpus, uint64_t *memory_given, uint32_t *cpu_given)
{
    if (call->badge != 0)
        return tenants_fail_not_admin(call, call->badge);
    if (!cpu_ok(cpu))
        return tenants_fail_bad_cpu(call, "(allowance)", cpu);
    if (cpus >> TENANTS_CPUS)
        return tenants_fail_bad_cpus(call, cpus);
    *memory_given = manager.memory_given;
    *cpu_given = manager.cpu_given;
    if (memory < manager.memory_given || cpu < manager.cpu_given)
        return tenants_fail_below_given(call, memory, cpu, manager.memory_given,
                                        manager.cpu_given);
    manager.memory = memory;
    manager.cpu = cpu;
    manager.cpus = cpus ? cpus : 1;
    return 0;
}

int tenants_handle_allowance(struct tenants_call *call, uint64_t *memory, uint32_t *cpu,
                             uint64_t *cpus, uint64_t *memory_given, uint32_t *cpu_given,
                             uint32_t *tenants)
{
    if (call->badge != 0)
        return tenants_fail_not_admin(call, call->badge);
    *memory = manager.memory;
    *cpu = manager.cpu;
    *cpus = manager.cpus;
    *memory_given = manager.memory_given;
    *cpu_given = manager.cpu_given;
    *tenants = tenants_created();
    return 0;
}

int tenants_handle_add_program(struct tenants_call *call, const char *name, uint64_t program,
                               uint32_t *programs)
{
    if (call->badge != 0)
        return tenants_fail_not_admin(call, call->badge);
    if (!name_ok(name))
        return tenants_fail_bad_name(call, name);
    const uint64_t *same = program_by_name(name);
    if (same)
        return tenants_fail_program_taken(call, name, *same);
    if (manager.program_count == TENANTS_PROGRAMS)
        return tenants_fail_too_many_programs(call, TENANTS_PROGRAMS);
    unsigned k = manager.program_count++;
    name_copy(manager.programs[k].name, name);
    manager.programs[k].id = program;
    *programs = manager.program_count;
    return 0;
}

unsigned tenants_created(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < TENANTS_MAX; i++)
        n += manager.tenants[i].live && !manager.tenants[i].table;
    return n;
}

/* ---- Create, SetQuota, Kill ------------------------------------------- */

/* The administrator's change to tenant `tenant`, one the manager made (a
 * table's is refused): 0 with *out, or the error. */
static int ours_to_change(struct tenants_call *call, uint64_t tenant, struct tenant **out)
{
    if (call->badge != 0)
        return tenants_fail_not_admin(call, call->badge);
    *out = tenant_by_id(tenant);
    if (!*out)
        return tenants_fail_unknown_tenant(call, tenant);
    return (*out)->table ? tenants_fail_not_ours(call, (*out)->name) : 0;
}

/* One of the allowance's CPUs, and CPU 0 without a scheduler server (a
 * fixed budget is the memory server's, made with CPU 0's SchedControl). */
static bool on_cpu_ok(uint32_t on_cpu)
{
    return on_cpu < TENANTS_CPUS && (manager.cpus >> on_cpu & 1) &&
           (on_cpu == 0 || tenant_sched_on());
}

/* The administrator's new tenant `name`: a name that is fine and free. */
static int new_name_checks(struct tenants_call *call, const char *name)
{
    if (call->badge != 0)
        return tenants_fail_not_admin(call, call->badge);
    if (!name_ok(name))
        return tenants_fail_bad_name(call, name);
    const struct tenant *same = tenant_by_name(name);
    return same ? tenants_fail_name_taken(call, name, same->id) : 0;
}

static int create_checks(struct tenants_call *call, const char *name, const char *program,
                         uint64_t memory, uint32_t cpu, uint32_t cpu_limit, uint32_t weight,
                         uint32_t on_cpu, uint32_t io_iops, uint32_t io_limit, uint64_t disk)
{
    int err = new_name_checks(call, name);
    if (err)
        return err;
    if (!program_by_name(program))
        return tenants_fail_unknown_program(call, name, program);
    if (!cpu_ok(cpu))
        return tenants_fail_bad_cpu(call, name, cpu);
    if (!on_cpu_ok(on_cpu))
        return tenants_fail_bad_on_cpu(call, name, on_cpu, manager.cpus);
    err = tenant_cpu_checks(call, name, cpu_limit, weight);
    if (!err)
        err = tenant_io_checks(call, name, io_iops, io_limit, disk);
    return err ? err : fits(call, name, NULL, memory, cpu);
}

static struct tenant *free_place(void)
{
    for (unsigned i = 0; i < TENANTS_MAX; i++) {
        if (!manager.tenants[i].live)
            return &manager.tenants[i];
    }
    return NULL;
}

/* The tenant's cap to us, badged for its place (grant-reply: Io answers
 * with a cap), which Spawn moves into its CSpace. */
static uint64_t cap_for(const struct tenant *t)
{
    uint64_t badge = ((uint64_t)(t - manager.tenants) + 1) * TENANTS_TENANT_BADGE;
    sys_cnode_delete(BK_CAP_ROOT_CNODE, TENANTS_SLOT_SCRATCH, W);
    if (sys_cnode_mint(BK_CAP_ROOT_CNODE, TENANTS_SLOT_SCRATCH, W, BK_CAP_ROOT_CNODE,
                       TENANTS_SLOT_ENDPOINT, W, BK_RIGHT_WRITE | BK_RIGHT_GRANT_REPLY,
                       badge) != 0)
        return 0;
    return TENANTS_SLOT_SCRATCH;
}

/* What Create set up before a later step was refused, undone in reverse
 * (the account, if made, closed first: it holds the thread). */
static void create_undo(struct tenant *t)
{
    struct tenants_call undo = { 0 };
    struct mem_error e;
    uint64_t freed;
    if (t->id)
        mem_destroy_account(TENANTS_SLOT_MEM, t->id, &freed, &e);
    tenant_sched_remove(&undo, t);
    tenant_io_close(&undo, t);
}

/* The IO and the scheduler server's tenancy first (the tenant finds them
 * when it starts), then the spawn, then (with a scheduler server) its
 * thread handed over and started; a refused step undoes the others. */
int tenants_handle_create(struct tenants_call *call, const char *name_arg,
                          const char *program_arg, uint64_t memory, uint32_t cpu,
                          uint32_t cpu_limit, uint32_t weight, uint32_t on_cpu,
                          uint32_t io_iops, uint32_t io_limit, uint64_t disk, uint64_t *tenant)
{
    char name[TENANTS_NAME], program[TENANTS_NAME];
    name_copy(name, name_arg);
    name_copy(program, program_arg);
    int err = create_checks(call, name, program, memory, cpu, cpu_limit, weight, on_cpu,
                            io_iops, io_limit, disk);
    if (err)
        return err;
    struct tenant *t = free_place();
    if (!t)
        return tenants_fail_no_room(call, name, TENANTS_MAX);
    uint64_t cap = cap_for(t);
    if (!cap)
        return tenants_fail_refused(call, name, "no cap to us to give it");
    *t = (struct tenant){ .memory = memory, .cpu = cpu, .on_cpu = on_cpu };
    name_copy(t->name, name);
    err = tenant_io_give(call, t, io_iops, io_limit, disk);
    if (!err && tenant_sched_on())
        err = tenant_sched_create(call, t, cpu_limit, weight);
    if (err) {
        create_undo(t);
        return err;
    }
    struct mem_error e;
    bool fixed = !t->sched_id; /* else the scheduler server's time */
    if (mem_spawn(TENANTS_SLOT_MEM, name, memory, *program_by_name(program), TENANTS_PRIORITY,
                  fixed ? budget_of(cpu) : 0, fixed ? TENANTS_PERIOD_NS : 0,
                  tenant_spawn_flags(t), cap, &t->id, &e)) {
        t->id = 0;
        create_undo(t);
        return refused(call, name, &e);
    }
    err = tenant_sched_adopt(call, t);
    if (err) {
        create_undo(t);
        return err;
    }
    t->live = true;
    t->last_time = debug_time_ns();
    manager.memory_given += memory;
    manager.cpu_given += cpu;
    *tenant = t->id;
    return 0;
}

/* Every check first; then the IO rates (the IO server may refuse them:
 * nothing has changed), the memory quota (the memory server may refuse
 * it, below use: the rates are put back) and the CPU. */
int tenants_handle_set_quota(struct tenants_call *call, uint64_t tenant, uint64_t memory,
                             uint32_t cpu, uint32_t cpu_limit, uint32_t weight, uint32_t io_iops,
                             uint32_t io_limit, uint64_t *memory_quota, uint32_t *cpu_quota,
                             uint32_t *cpu_limit_quota, uint32_t *weight_quota,
                             uint32_t *io_iops_quota, uint32_t *io_limit_quota)
{
    struct tenant *t;
    int err = ours_to_change(call, tenant, &t);
    if (err)
        return err;
    uint64_t new_memory = memory ? memory : t->memory;
    uint32_t new_cpu = cpu ? cpu : t->cpu;
    if (!cpu_ok(new_cpu))
        return tenants_fail_bad_cpu(call, t->name, new_cpu);
    err = tenant_cpu_checks(call, t->name, cpu_limit, weight);
    if (!err)
        err = fits(call, t->name, t, new_memory, new_cpu);
    if (err)
        return err;
    /* The IO rates before the memory, so that a refused memory quota can
     * put them back: the old reservation fitted, and nothing else ran. */
    uint32_t old_iops = t->io_iops, old_limit = t->io_limit;
    err = tenant_io_rates(call, t, io_iops, io_limit);
    if (err)
        return err;
    struct mem_error e;
    uint64_t used;
    if (new_memory != t->memory && mem_set_quota(TENANTS_SLOT_MEM, t->id, new_memory, &used, &e)) {
        struct tenants_call undo = { 0 };
        tenant_io_rates(&undo, t, old_iops, old_limit);
        return refused(call, t->name, &e);
    }
    manager.memory_given = manager.memory_given - t->memory + new_memory;
    t->memory = new_memory;
    if (t->sched_id) {
        err = tenant_sched_policy(call, t, new_cpu, cpu_limit, weight);
        if (err)
            return err;
    } else if (new_cpu != t->cpu &&
               mem_set_cpu(TENANTS_SLOT_MEM, t->id, budget_of(new_cpu), TENANTS_PERIOD_NS, &e)) {
        return refused(call, t->name, &e);
    }
    manager.cpu_given = manager.cpu_given - t->cpu + new_cpu;
    t->cpu = new_cpu;
    *memory_quota = t->memory;
    *cpu_quota = t->cpu;
    *cpu_limit_quota = t->sched_id ? t->cpu_limit : t->cpu;
    *weight_quota = t->weight;
    *io_iops_quota = t->io_iops;
    *io_limit_quota = t->io_limit;
    return 0;
}

/* Mem: DestroyAccount, asked again while the IO server still holds the
 * session's grant: IO: CloseTenant ends it once the requests the device
 * holds complete, well within KILL_WAIT_TICKS. */
#define KILL_WAIT_TICKS (2 * BK_TICK_HZ)
static int destroy(const struct tenant *t, uint64_t *freed, struct mem_error *e)
{
    uint64_t deadline = debug_ticks() + KILL_WAIT_TICKS;
    for (;;) {
        int r = mem_destroy_account(TENANTS_SLOT_MEM, t->id, freed, e);
        if (r != MEM_ERR_GRANT_IN_USE || debug_ticks() > deadline)
            return r;
        struct bk_msg m = { 0 };
        sys_yield(0, &m); /* to the next refill of our budget */
    }
}

/* Account `account`'s quota and the bytes it uses now (Mem: Usage). */
static int account_figures(uint64_t account, uint64_t *quota, uint64_t *used,
                           struct mem_error *e)
{
    uint64_t frames, tables, cnodes, faults, refusals, shared, private_pages, vspaces, tcbs, scs,
        ipc;
    return mem_usage(TENANTS_SLOT_MEM, account, quota, used, &frames, &tables, &cnodes, &faults,
                     &refusals, &shared, &private_pages, &vspaces, &tcbs, &scs, &ipc, e);
}

static int account_used(const struct tenant *t, uint64_t *used, struct mem_error *e)
{
    uint64_t quota;
    return account_figures(t->id, &quota, used, e);
}

/* What the stopped account held, then its session's memory back through
 * the IO server's EndGrant, then the rest with the account. */
int tenants_handle_kill(struct tenants_call *call, uint64_t tenant, uint64_t *freed,
                        uint64_t *session)
{
    struct tenant *t;
    int err = ours_to_change(call, tenant, &t);
    if (err)
        return err;
    struct mem_error e;
    uint64_t held;
    if (mem_stop(TENANTS_SLOT_MEM, t->id, &e) || account_used(t, &held, &e))
        return refused(call, t->name, &e);
    err = tenant_sched_remove(call, t);
    if (!err)
        err = tenant_io_close(call, t);
    if (err)
        return err;
    if (destroy(t, freed, &e))
        return refused(call, t->name, &e);
    *session = held > *freed ? held - *freed : 0;
    *freed += *session;
    manager.memory_given -= t->memory;
    manager.cpu_given -= t->cpu;
    t->live = false;
    return 0;
}

/* ---- Stop, Start --------------------------------------------------------- */

const char *tenant_state(const struct tenant *t)
{
    return t->table ? "table" : t->stopped ? "stopped" : "running";
}

/* Stop (`run` false) or Start: 0 or the error. */
static int run_or_stop(struct tenants_call *call, uint64_t tenant, bool run)
{
    struct tenant *t;
    int err = ours_to_change(call, tenant, &t);
    if (err)
        return err;
    if (t->stopped != run)
        return tenants_fail_state(call, t->name, tenant_state(t));
    struct mem_error e;
    if (run ? mem_start(TENANTS_SLOT_MEM, t->id, &e) : mem_stop(TENANTS_SLOT_MEM, t->id, &e))
        return refused(call, t->name, &e);
    t->stopped = !run;
    return 0;
}

int tenants_handle_stop(struct tenants_call *call, uint64_t tenant)
{
    return run_or_stop(call, tenant, false);
}

int tenants_handle_start(struct tenants_call *call, uint64_t tenant)
{
    return run_or_stop(call, tenant, true);
}

/* ---- List --------------------------------------------------------------- */

int tenant_usage(struct tenants_call *call, struct tenant *t, struct tenant_usage *u)
{
    struct mem_error e;
    uint64_t throttled, budget, period;
    u->cpu_ns = 0; /* a table's tenant without a scheduler tenancy: no server reads its time */
    if (account_used(t, &u->memory_used, &e) ||
        (!t->sched_id && !t->table &&
         mem_cpu(TENANTS_SLOT_MEM, t->id, &u->cpu_ns, &throttled, &budget, &period, &e)))
        return refused(call, t->name, &e);
    int err = t->sched_id ? tenant_sched_consumed(call, t, &u->cpu_ns) : 0;
    if (!err)
        err = tenant_io_usage(call, t, u);
    if (err)
        return err;
    uint64_t now = debug_time_ns();
    uint64_t ran = u->cpu_ns - t->last_ns, passed = now - t->last_time;
    u->cpu_permille = passed ? (uint32_t)(ran * 1000 / passed) : 0;
    t->last_ns = u->cpu_ns;
    t->last_time = now;
    return 0;
}

int tenants_handle_list(struct tenants_call *call, uint32_t index, uint32_t *next,
                        uint64_t *tenant, char *name, uint32_t *stopped, uint64_t *memory,
                        uint64_t *memory_used,
                        uint32_t *cpu, uint32_t *cpu_limit, uint32_t *weight,
                        uint32_t *on_cpu, uint64_t *cpu_ns,
                        uint32_t *cpu_permille,
                        uint32_t *io_iops, uint32_t *io_limit, uint64_t *disk,
                        uint64_t *io_ops, uint64_t *io_bytes)
{
    if (call->badge != 0)
        return tenants_fail_not_admin(call, call->badge);
    *tenant = 0;
    *next = TENANTS_MAX;
    for (unsigned i = index; i < TENANTS_MAX; i++) {
        struct tenant *t = &manager.tenants[i];
        if (!t->live)
            continue;
        struct tenant_usage u;
        int err = tenant_usage(call, t, &u);
        if (err)
            return err;
        *next = i + 1;
        *tenant = t->id;
        name_copy(name, t->name);
        *stopped = t->table ? 2 : t->stopped;
        *memory = t->memory;
        *memory_used = u.memory_used;
        *cpu = t->cpu;
        *cpu_limit = t->sched_id ? t->cpu_limit : t->cpu;
        *weight = t->weight;
        *on_cpu = t->on_cpu;
        *cpu_ns = u.cpu_ns;
        *cpu_permille = u.cpu_permille;
        *io_iops = t->io_iops;
        *io_limit = t->io_limit;
        *disk = t->io_tenant ? t->disk_sectors * TENANTS_SECTOR : 0;
        *io_ops = u.io_ops;
        *io_bytes = u.io_bytes;
        return 0;
    }
    return 0;
}

/* ---- The table's tenants ------------------------------------------------- */

/* Seen, not changed: the account must exist (its quota read now); the
 * scheduler server's and IO server's tenancies are read at each List. */
int tenants_handle_watch(struct tenants_call *call, const char *name_arg, uint64_t account,
                         uint64_t sched, uint32_t cpu, uint32_t cpu_limit, uint32_t weight,
                         uint32_t io, uint32_t io_iops, uint32_t io_limit, uint64_t *tenant)
{
    char name[TENANTS_NAME];
    name_copy(name, name_arg);
    int err = new_name_checks(call, name);
    if (err)
        return err;
    struct tenant *t = free_place();
    if (!t)
        return tenants_fail_no_room(call, name, TENANTS_MAX);
    struct mem_error e;
    uint64_t quota, used;
    if (account_figures(account, &quota, &used, &e))
        return refused(call, name, &e);
    if ((sched && !tenant_sched_on()) || (io && BK_CAP_IDENTITY_TYPE(debug_cap_identify(
                                                     TENANTS_SLOT_IO)) != BK_OBJ_ENDPOINT))
        return tenants_fail_refused(call, name, "its scheduler or IO server is not ours to ask");
    *t = (struct tenant){ .live = true, .table = true, .id = account, .memory = quota,
                          .cpu = cpu, .sched_id = sched, .cpu_limit = cpu_limit,
                          .weight = weight, .io_tenant = io, .io_iops = io_iops,
                          .io_limit = io_limit, .last_time = debug_time_ns() };
    name_copy(t->name, name);
    *tenant = account;
    return 0;
}

/* ---- The tenants' own call ---------------------------------------------- */

int tenants_handle_hello(struct tenants_call *call, uint64_t word, uint64_t *tenant,
                         uint32_t *io_tenant, uint32_t *io_holder, uint64_t *disk)
{
    struct tenant *t = tenant_by_badge(call->badge);
    if (!t)
        return tenants_fail_not_tenant(call, call->badge);
    /* Our own send reuses the IPC buffer; the answer is written after. */
    struct bk_msg m = { .info = BK_MSGINFO(2, 0, 0, TENANTS_HELLO_LABEL) };
    m.mr[0] = (uint64_t)(t - manager.tenants) + 1;
    m.mr[1] = word;
    sys_nbsend(TENANTS_SLOT_CHANNEL, &m);
    *tenant = t->id;
    *io_tenant = t->io_tenant;
    *io_holder = t->io_tenant ? manager.io.holder : 0;
    *disk = t->io_tenant ? t->disk_sectors * TENANTS_SECTOR : 0;
    return 0;
}

/* ---- The loop ------------------------------------------------------------ */

static bool is_console_signal(const struct bk_msg *m)
{
    return m->info == 0 && (m->badge & TENANTS_CONSOLE_BIT);
}

/* A tenant's call past its TENANTS_OWN_CALLS: what we spend on its
 * calls is not charged to it (we run on our own time), so a tenant that
 * calls on and on would take our time from the console and the others.
 * We answer it no more: it waits in its call until it is killed. */
static bool over_own_calls(const struct bk_msg *m)
{
    struct tenant *t = tenant_by_badge(m->badge);
    return t && t->own_calls++ >= TENANTS_OWN_CALLS;
}

int main(const struct bk_bootinfo *info)
{
    (void)info;
    struct bk_proto_server server;
    bk_proto_server_init(&server, BK_CAP_ROOT_CNODE, TENANTS_SLOT_RECV, W, NULL);
    struct bk_msg m = { 0 };
    sys_recv(TENANTS_SLOT_ENDPOINT, &m);
    /* A request means the spawner has handed everything over. Setting the
     * console up makes calls of our own, which reuse the IPC buffer where
     * the request's later words wait: keep them. */
    static struct bk_ipc_buffer first;
    first = *bk_ipc_buffer;
    bool console = console_start();
    *bk_ipc_buffer = first;
    debug_printf("tenants: serving%s\n",
                 console ? "; console ready on the serial line (help lists the commands)"
                         : " (no console: no IRQHandler or notification)");
    console_prompt();
    for (;;) {
        if (is_console_signal(&m)) {
            console_interrupt();
            sys_recv(TENANTS_SLOT_ENDPOINT, &m); /* nobody to answer */
            continue;
        }
        if (over_own_calls(&m)) {
            sys_recv(TENANTS_SLOT_ENDPOINT, &m); /* its Reply object is dropped unanswered */
            continue;
        }
        tenants_dispatch(&server, &m);
        sys_reply_recv(TENANTS_SLOT_ENDPOINT, &m);
    }
}
