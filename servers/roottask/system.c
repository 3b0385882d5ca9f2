/*
 * Building the system the capability table describes (docs/policy.md,
 * "The root task builds the table"), in an order that starts nothing
 * before everything exists:
 *   1. every object, in table order, retyped from the root task's untyped
 *      (a VSpace also gets an ASID, or nothing could be mapped into it; an
 *      ASID pool is made by ASIDControl: MakePool from an untyped);
 *   2. every component's CSpace: each cap of the table minted from the
 *      root task's cap into the component's CNode slot, with the table's
 *      rights and badge (a CNode cap gets the guard that makes its radix
 *      resolve a full word), and the Debug cap in BK_CAP_DEBUG; an
 *      untyped in its owner's CSpace moved there, last, and ASIDControl
 *      (move_originals);
 *   3. every component's address space: its program (the boot module the
 *      table names), a stack, the table's IPC buffer frame and a start-info
 *      page whose cmdline is the component's name and arguments;
 *   4. every thread: CSpace, VSpace, IPC buffer, priority and MCP, and its
 *      SchedContext configured through SchedControl with the table's budget
 *      and period, then bound;
 *   4b. a driver's device (docs/policy.md, "Devices"): found now, from
 *      what the kernel handed over (the device tree, or ACPI and the PCI
 *      bus), and its register pages, interrupt handlers (bound to the
 *      table's notification of the driver), IOSpace and start page put in
 *      the slots the driver reads; a machine without the device ends the
 *      build, named; the tenant manager's console (`device =
 *      "console"`): the serial line's receive interrupt (manager.c);
 *   5. the servers started, in table order, with one summary line each;
 *   6. the administrator's set-up calls of the table (a tenant's account
 *      with the memory server, its reservation with the scheduler server),
 *      each through the server's generated client stub on its unbadged
 *      endpoint, the id it answers checked against the badge the table
 *      minted on the tenant's channel; the tenant manager's programs
 *      sealed and named to it (manager.c); any refusal ends the build,
 *      named;
 *   7. the tenants started, each with its line: nothing of a tenant runs
 *      before its servers know it.
 * Then the wait for the tenants, during which a driver that dies is
 * restarted and its IO server told (supervise.c).
 * Only the stacks, start-info pages and page tables are the root task's
 * own additions: the table does not list them (docs/policy.md).
 */
#include <bulkhead/format.h>
#include <protocols/io_client.h>
#include <protocols/mem_client.h>
#include <protocols/sched_client.h>
#include <protocols/tenants_client.h>

#include "manager.h"
#include "supervise.h"
#include "system.h"
#include "wait.h"

#define PAGE ((uint64_t)BK_PAGE_SIZE)
#define STACK_PAGES 4
#define W BK_WORD_BITS

/* The root task's slot of each object of the table, by index. */
static uint64_t object_slot[CAPTABLE_MAX_OBJECTS];
/* Each component's program entry point, from its ELF file. */
static uint64_t entry_point[CAPTABLE_MAX_COMPONENTS];

static int fail(const struct table *t, uint32_t c, const char *step, long r)
{
    debug_printf("roottask: FAILED: component %u '%s': %s: %s\n", c,
                 table_string(t, t->components[c].name), step, bk_error_name(r));
    return -1;
}

/* An ASID pool, from an untyped of its size (ASIDControl: MakePool): its
 * slot, or 0 with the error in `r`. */
static uint64_t make_asid_pool(long *r)
{
    uint64_t untyped = bk_alloc_object(BK_OBJ_UNTYPED, BK_ASID_POOL_BITS);
    uint64_t slot = untyped ? bk_slot_alloc() : 0;
    *r = slot ? sys_asid_control_make_pool(BK_CAP_ASID_CONTROL, untyped, BK_CAP_ROOT_CNODE, slot,
                                           W)
              : -BK_ERR_NOT_ENOUGH_MEMORY;
    return *r ? 0 : slot;
}

/* 1. Objects, in table order. */
static int make_objects(const struct bk_bootinfo *bi, const struct table *t)
{
    for (uint32_t i = 0; i < t->header->object_count; i++) {
        const struct captable_object *o = &t->objects[i];
        long r = -BK_ERR_NOT_ENOUGH_MEMORY;
        uint64_t slot;
        if ((o->flags & CAPTABLE_OBJECT_KERNEL) && o->type == BK_OBJ_ASID_CONTROL) {
            object_slot[i] = BK_CAP_ASID_CONTROL; /* ours, moved in step 2b */
            continue;
        }
        if (o->flags & CAPTABLE_OBJECT_KERNEL) {
            /* SchedControl of CPU retype_bits (online: table_check): a copy of ours. */
            slot = bk_slot_alloc();
            r = slot ? sys_cnode_copy(BK_CAP_ROOT_CNODE, slot, W, BK_CAP_ROOT_CNODE,
                                      table_sched_control(bi, o->retype_bits), W, BK_RIGHTS_ALL)
                     : -BK_ERR_NOT_ENOUGH_MEMORY;
            if (r) {
                debug_printf("roottask: FAILED: object %u '%s': CNode: Copy of SchedControl: "
                             "%s\n", i, table_string(t, o->name), bk_error_name(r));
                return -1;
            }
            object_slot[i] = slot;
            continue;
        }
        slot = o->type == BK_OBJ_VSPACE      ? bk_vspace_alloc(&r)
               : o->type == BK_OBJ_ASID_POOL ? make_asid_pool(&r)
                                             : bk_alloc_object(o->type, o->retype_bits);
        if (!slot) {
            debug_printf("roottask: FAILED: object %u '%s': Untyped: Retype: %s\n", i,
                         table_string(t, o->name), bk_error_name(r));
            return -1;
        }
        object_slot[i] = slot;
    }
    return 0;
}

/* The guard that makes a CNode of 2^radix slots resolve a whole word. */
static uint64_t cnode_guard(unsigned radix)
{
    return BK_CNODE_GUARD(W - radix, 0);
}

/* An untyped's cap in its owner's CSpace must be the original: a copy
 * cannot be retyped (the kernel's rule, so a server's memory cannot come
 * as a request), so the root task moves its own cap there instead of
 * minting a copy, after every copy is minted. So with ASIDControl, which
 * cannot be copied at all (table_check: one cap), moved after every ASID
 * pool is made. */
static bool moved_original(const struct table *t, uint32_t c, const struct captable_cap *cap)
{
    const struct captable_object *o = &t->objects[cap->object];
    return (o->type == BK_OBJ_UNTYPED && o->owner == c) || o->type == BK_OBJ_ASID_CONTROL;
}

/* 2b. Component `c`'s own untyped and ASIDControl, moved in (above). */
static int move_originals(const struct table *t, uint32_t c)
{
    const struct captable_component *k = &t->components[c];
    for (uint32_t j = 0; j < k->cap_count; j++) {
        const struct captable_cap *cap = &t->caps[k->first_cap + j];
        if (!moved_original(t, c, cap))
            continue;
        long r = sys_cnode_move(object_slot[k->cnode], cap->slot, k->cnode_radix,
                                BK_CAP_ROOT_CNODE, object_slot[cap->object], W);
        if (r) {
            char step[80];
            bk_snprintf(step, sizeof(step), "CNode: Move of '%s' into slot %u",
                        table_string(t, t->objects[cap->object].name), cap->slot);
            return fail(t, c, step, r);
        }
    }
    return 0;
}

/* 2. Component `c`'s CSpace. */
static int fill_cspace(const struct table *t, uint32_t c)
{
    const struct captable_component *k = &t->components[c];
    uint64_t cnode = object_slot[k->cnode];
    for (uint32_t j = 0; j < k->cap_count; j++) {
        const struct captable_cap *cap = &t->caps[k->first_cap + j];
        const struct captable_object *o = &t->objects[cap->object];
        if (moved_original(t, c, cap))
            continue;
        uint64_t badge = o->type == BK_OBJ_CNODE ? cnode_guard(o->retype_bits) : cap->badge;
        long r = sys_cnode_mint(cnode, cap->slot, k->cnode_radix, BK_CAP_ROOT_CNODE,
                                object_slot[cap->object], W, cap->rights, badge);
        if (r) {
            char step[80];
            bk_snprintf(step, sizeof(step), "CNode: Mint of '%s' into slot %u",
                        table_string(t, o->name), cap->slot);
            return fail(t, c, step, r);
        }
    }
    long r = sys_cnode_copy(cnode, BK_CAP_DEBUG, k->cnode_radix, BK_CAP_ROOT_CNODE, BK_CAP_DEBUG,
                            W, BK_RIGHTS_ALL);
    return r ? fail(t, c, "CNode: Copy of the Debug cap", r) : 0;
}

/* `pages` fresh frames mapped read-write at `vaddr`. */
static long map_fresh(uint64_t vspace, uint64_t vaddr, unsigned pages)
{
    for (unsigned i = 0; i < pages; i++) {
        uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, BK_PAGE_BITS);
        long r = frame ? bk_map_frame(vspace, frame, vaddr + i * PAGE, BK_VM_READ | BK_VM_WRITE, 0)
                       : -BK_ERR_NOT_ENOUGH_MEMORY;
        if (r)
            return r;
    }
    return 0;
}

/* The start-info page (docs/libsys.md, "Program entry"), with the
 * component's name and arguments as its command line. */
static long map_start_info(const struct bk_bootinfo *bi, const struct table *t, uint32_t c,
                           uint64_t vspace)
{
    static struct bk_bootinfo info; /* too big for the stack */
    const struct captable_component *k = &t->components[c];
    bk_start_info_init(&info, bi);
    bk_snprintf(info.loader, sizeof(info.loader), "roottask, from the capability table");
    bk_snprintf(info.cmdline, sizeof(info.cmdline), "%s", table_string(t, k->cmdline));
    if (k->cap_count)
        info.first_free_slot = t->caps[k->first_cap + k->cap_count - 1].slot + 1;
    return bk_map_start_info(vspace, &info);
}

/* 3. Component `c`'s address space. */
static int fill_vspace(const struct bk_bootinfo *bi, const struct table *t, uint32_t c)
{
    const struct captable_component *k = &t->components[c];
    const struct bk_boot_module *m = table_find_program(bi, table_string(t, k->program));
    uint64_t vspace = object_slot[k->vspace];
    char why[160];
    long r = bk_elf_load(vspace, (const void *)(uintptr_t)m->vaddr, m->size, &entry_point[c], why,
                         sizeof(why));
    if (r) {
        debug_printf("roottask: FAILED: component %u '%s': program '%s': %s\n", c,
                     table_string(t, k->name), m->name, why[0] ? why : bk_error_name(r));
        return -1;
    }
    r = map_fresh(vspace, BK_ROOT_STACK_TOP - STACK_PAGES * PAGE, STACK_PAGES);
    if (r)
        return fail(t, c, "mapping its stack", r);
    r = bk_map_frame(vspace, object_slot[k->ipc_buffer], BK_ROOT_IPC_BUFFER_VADDR,
                     BK_VM_READ | BK_VM_WRITE, 0);
    if (r)
        return fail(t, c, "mapping its IPC buffer", r);
    r = map_start_info(bi, t, c, vspace);
    return r ? fail(t, c, "mapping its start-info page", r) : 0;
}

/* 4, a worker of component `c` (captable.h, CAPTABLE_WORKER_MCP): its
 * spaces, no SchedContext, a priority the scheduler server accepts. */
static int make_worker(const struct table *t, uint32_t c, uint64_t tcb)
{
    const struct captable_component *k = &t->components[c];
    uint32_t priority = k->priority < CAPTABLE_WORKER_MCP ? k->priority : CAPTABLE_WORKER_MCP;
    long r = sys_tcb_configure(tcb, object_slot[k->cnode], cnode_guard(k->cnode_radix),
                               object_slot[k->vspace], BK_ROOT_IPC_BUFFER_VADDR);
    if (r)
        return fail(t, c, "TCB: Configure (a worker)", r);
    r = sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, priority);
    if (r == 0)
        r = sys_tcb_set_mc_priority(tcb, BK_CAP_ROOT_TCB, priority);
    return r ? fail(t, c, "TCB: SetPriority (a worker)", r) : 0;
}

/* 4. Component `c`'s thread, configured but not started; its workers. */
static int make_thread(const struct bk_bootinfo *bi, const struct table *t, uint32_t c)
{
    const struct captable_component *k = &t->components[c];
    uint64_t tcb = object_slot[k->tcb], sc = object_slot[k->sched_context];
    long r = sys_tcb_configure(tcb, object_slot[k->cnode], cnode_guard(k->cnode_radix),
                               object_slot[k->vspace], BK_ROOT_IPC_BUFFER_VADDR);
    if (r)
        return fail(t, c, "TCB: Configure", r);
    r = sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, k->priority);
    if (r == 0)
        r = sys_tcb_set_mc_priority(tcb, BK_CAP_ROOT_TCB, k->priority);
    if (r)
        return fail(t, c, "TCB: SetPriority", r);
    /* The most refills: a server runs many short times a period, and with
     * few a full refill list defers its budget until it stalls for up to a
     * period (docs/scheduling.md, "Not done yet"). Through the SchedControl
     * of its CPU (online: table_check), which the kernel runs it on. */
    r = sys_sched_control_configure(table_sched_control(bi, k->cpu), sc, k->budget_ns,
                                    k->period_ns, BK_SCHED_MAX_REFILLS, 0);
    if (r)
        return fail(t, c, "SchedControl: Configure", r);
    r = sys_sched_context_bind(sc, tcb);
    if (r)
        return fail(t, c, "SchedContext: Bind", r);
    for (uint32_t i = 0; i < t->header->object_count; i++) {
        const struct captable_object *o = &t->objects[i];
        if (o->type == BK_OBJ_TCB && o->owner == c && i != k->tcb &&
            !(o->flags & CAPTABLE_OBJECT_KERNEL) && make_worker(t, c, object_slot[i]))
            return -1;
    }
    return 0;
}

/* The root task's cap to the object in slot `slot` of component `c`, or 0. */
static uint64_t cap_in_slot(const struct table *t, uint32_t c, uint32_t slot, uint32_t type)
{
    const struct captable_component *k = &t->components[c];
    for (uint32_t j = 0; j < k->cap_count; j++) {
        const struct captable_cap *cap = &t->caps[k->first_cap + j];
        if (cap->slot == slot && t->objects[cap->object].type == type)
            return object_slot[cap->object];
    }
    return 0;
}

/* The table's index of the object in slot `slot` of component `c`, or ~0u. */
static uint32_t object_in_slot(const struct table *t, uint32_t c, uint32_t slot)
{
    const struct captable_component *k = &t->components[c];
    for (uint32_t j = 0; j < k->cap_count; j++) {
        if (t->caps[k->first_cap + j].slot == slot)
            return t->caps[k->first_cap + j].object;
    }
    return ~0u;
}

/* Driver `c`, started on `hw`, handed to the supervisor with its client:
 * the io-server that holds a cap to its endpoint (a channel of the
 * table), if any. */
static const char *adopt_driver(const struct bk_bootinfo *bi, const struct table *t, uint32_t c,
                                const struct blk_hw *hw, long start_crashes, char *err,
                                size_t errlen)
{
    const struct captable_component *k = &t->components[c];
    uint32_t ep = object_in_slot(t, c, BK_PROCESS_CAP_ARG);
    struct supervise_driver d = { .component = c, .tcb = object_slot[k->tcb],
                                  .cnode = object_slot[k->cnode],
                                  .sched_context = object_slot[k->sched_context],
                                  .endpoint = ep == ~0u ? 0 : object_slot[ep], .client = ~0u,
                                  .start_crashes = start_crashes };
    for (uint32_t i = 0; i < t->header->component_count && ep != ~0u; i++) {
        const struct captable_component *o = &t->components[i];
        if (i == c || strcmp(table_string(t, o->program), "io-server") != 0)
            continue;
        for (uint32_t j = 0; j < o->cap_count; j++) {
            const struct captable_cap *cap = &t->caps[o->first_cap + j];
            if (cap->object != ep)
                continue;
            d.client = i;
            d.client_admin = cap_in_slot(t, i, BK_PROCESS_CAP_ARG, BK_OBJ_ENDPOINT);
            d.client_rights = cap->rights;
            d.client_badge = cap->badge;
        }
    }
    return supervise_adopt(bi, t, &d, hw, err, errlen);
}

/* 4b. The disk of component `c`, a virtio-blk driver: found on this
 * machine and handed over in the slots blk-server reads, then supervised
 * (supervise.c). */
static int give_device(const struct bk_bootinfo *bi, const struct table *t, uint32_t c)
{
    static struct blk_hw hw;
    static bool devmem_ready;
    const char *name = table_string(t, t->components[c].name);
    uint64_t notification = cap_in_slot(t, c, BLK_SLOT_NOTIFICATION, BK_OBJ_NOTIFICATION);
    if (!notification) {
        debug_printf("roottask: FAILED: component %u '%s': a virtio-blk driver needs its "
                     "notification in slot %u\n", c, name, BLK_SLOT_NOTIFICATION);
        return -1;
    }
    if (!devmem_ready)
        devmem_init(bi);
    devmem_ready = true;
    char err[160];
    struct supervise_options o;
    const char *e = supervise_options(bi, &o, err, sizeof(err)) ? err : blk_discover(bi, &hw);
    struct blk_faults faults = { .crash_after_submits = (uint32_t)o.fault_after,
                                 .hang_after_submits = (uint32_t)o.hang_after,
                                 .stray_dma_after_submits = (uint32_t)o.stray_dma_after };
    if (!e)
        e = blk_give_device(&hw, object_slot[t->components[c].cnode], notification, &faults, err,
                            sizeof(err));
    if (!e) {
        debug_printf("roottask: device virtio-blk of '%s': %s\n", name, hw.where);
        if (o.fault_after > 0)
            debug_printf("roottask: '%s' faults on purpose after its Block: Submit number %ld "
                         "(%s)\n", name, o.fault_after, SUPERVISE_FAULT_OPTION);
        if (o.hang_after > 0)
            debug_printf("roottask: '%s' stops answering on purpose after its Block: Submit "
                         "number %ld (%s)\n", name, o.hang_after, SUPERVISE_HANG_OPTION);
        if (o.stray_dma_after > 0)
            debug_printf("roottask: '%s' sends its Block: Submit number %ld to an unmapped IO "
                         "address on purpose (%s)\n", name, o.stray_dma_after,
                         SUPERVISE_STRAY_DMA_OPTION);
        e = adopt_driver(bi, t, c, &hw, o.start_crashes, err, sizeof(err));
    }
    if (e) {
        debug_printf("roottask: FAILED: component %u '%s': device virtio-blk: %s\n", c, name, e);
        return -1;
    }
    return 0;
}

/* 4b. The console of component `c`: its notification in the slot the
 * handler's signal goes to, that slot for the handler empty. */
static int give_console(const struct table *t, uint32_t c)
{
    uint64_t signal = cap_in_slot(t, c, CAPTABLE_CONSOLE_SLOT_SIGNAL, BK_OBJ_NOTIFICATION);
    if (!signal || object_in_slot(t, c, CAPTABLE_CONSOLE_SLOT_IRQ) != ~0u) {
        debug_printf("roottask: FAILED: component %u '%s': a console needs its notification in "
                     "slot %u and slot %u free for the handler\n", c,
                     table_string(t, t->components[c].name), CAPTABLE_CONSOLE_SLOT_SIGNAL,
                     CAPTABLE_CONSOLE_SLOT_IRQ);
        return -1;
    }
    return manager_give_console(t, c, object_slot[t->components[c].cnode], signal);
}

static void print_component(const struct table *t, uint32_t c)
{
    const struct captable_component *k = &t->components[c];
    unsigned objects = 0;
    for (uint32_t i = 0; i < t->header->object_count; i++)
        objects += t->objects[i].owner == c;
    debug_printf("roottask: start %s '%s': %u objects, %u caps, program %s, priority %u, "
                 "budget %llu of %llu us on CPU %u\n",
                 k->kind == CAPTABLE_KIND_SERVER ? "server" : "tenant", table_string(t, k->name),
                 objects, k->cap_count, table_string(t, k->program), k->priority,
                 (unsigned long long)(k->budget_ns / 1000),
                 (unsigned long long)(k->period_ns / 1000), k->cpu);
}

static int start(const struct table *t, uint32_t c)
{
    print_component(t, c);
    long r = sys_tcb_write_registers(object_slot[t->components[c].tcb], 1, entry_point[c],
                                     BK_ROOT_STACK_TOP, BK_ROOT_BOOTINFO_VADDR);
    return r ? fail(t, c, "TCB: WriteRegisters (start)", r) : 0;
}

/* A set-up call refused: by the server (its error, formatted by its
 * stub's formatter, in `text`) or by the id it answered. */
static int setup_failed(const struct table *t, const struct captable_setup *s, const char *call,
                        const char *text)
{
    if (s->subject == s->server)
        debug_printf("roottask: FAILED: component %u '%s': set-up of its allowance: %s: %s\n",
                     s->server, table_string(t, t->components[s->server].name), call, text);
    else
        debug_printf("roottask: FAILED: component %u '%s': set-up for tenant '%s': %s: %s\n",
                     s->server, table_string(t, t->components[s->server].name),
                     table_string(t, t->components[s->subject].name), call, text);
    return -1;
}

static int setup_id(const struct table *t, const struct captable_setup *s, const char *call,
                    uint64_t id)
{
    if (id == s->id)
        return 0;
    char text[96];
    bk_snprintf(text, sizeof(text), "the server numbered the tenant %llu, its channel's badge is "
                "%llu", (unsigned long long)id, (unsigned long long)s->id);
    return setup_failed(t, s, call, text);
}

/* Mem: CreateAccount for the tenant, with its quota and its VSpace. */
static int setup_mem_account(const struct table *t, const struct captable_setup *s)
{
    const struct captable_component *tenant = &t->components[s->subject];
    const char *name = table_string(t, tenant->name);
    struct mem_error err;
    uint64_t id = 0;
    int r = mem_create_account(object_slot[s->endpoint], name,
                               s->args[0], object_slot[tenant->vspace], &id, &err);
    if (r) {
        char text[160];
        mem_error_format(&err, text, sizeof(text));
        return setup_failed(t, s, "Mem: CreateAccount", text);
    }
    debug_printf("roottask: set-up '%s': Mem: CreateAccount '%s', quota %llu bytes: account "
                 "%llu\n", table_string(t, t->components[s->server].name), name,
                 (unsigned long long)s->args[0], (unsigned long long)id);
    return setup_id(t, s, "Mem: CreateAccount", id);
}

/* Sched: CreateTenant for the tenant, with its reservation, limit, weight
 * and CPU set (args[2]: the weight, the set from bit 32; the table gives
 * the server each of those CPUs' SchedControl). */
static int setup_sched_tenant(const struct table *t, const struct captable_setup *s)
{
    const char *name = table_string(t, t->components[s->subject].name);
    struct sched_error err;
    uint64_t id = 0;
    uint32_t weight = (uint32_t)s->args[2];
    uint64_t cpus = s->args[2] >> 32;
    int r = sched_create_tenant(object_slot[s->endpoint], name, (uint32_t)s->args[0],
                                (uint32_t)s->args[1], weight, cpus, &id, &err);
    if (r) {
        char text[160];
        sched_error_format(&err, text, sizeof(text));
        return setup_failed(t, s, "Sched: CreateTenant", text);
    }
    debug_printf("roottask: set-up '%s': Sched: CreateTenant '%s', reservation %llu %%, limit "
                 "%llu %%, weight %u, CPUs %#llx: tenant %llu\n",
                 table_string(t, t->components[s->server].name), name,
                 (unsigned long long)s->args[0], (unsigned long long)s->args[1], weight,
                 (unsigned long long)cpus, (unsigned long long)id);
    return setup_id(t, s, "Sched: CreateTenant", id);
}

static int tenants_failed(const struct table *t, const struct captable_setup *s,
                          const char *call, const struct tenants_error *err)
{
    char text[160];
    tenants_error_format(err, text, sizeof(text));
    return setup_failed(t, s, call, text);
}

/* Tenants: Configure with the manager's allowance, then Tenants: Allowance
 * read back: the line shows what the manager itself holds. */
static int setup_tenants_allowance(const struct table *t, const struct captable_setup *s)
{
    uint64_t ep = object_slot[s->endpoint], memory = 0, memory_given = 0, cpus = 0;
    uint32_t cpu = 0, cpu_given = 0, tenants = 0;
    struct tenants_error err;
    int r = tenants_configure(ep, s->args[0], (uint32_t)s->args[1], s->args[2], &memory_given,
                              &cpu_given, &err);
    if (r == 0)
        r = tenants_allowance(ep, &memory, &cpu, &cpus, &memory_given, &cpu_given, &tenants,
                              &err);
    if (r)
        return tenants_failed(t, s, "Tenants: Configure", &err);
    debug_printf("roottask: set-up '%s': Tenants: Configure, allowance %llu bytes and %llu %%: "
                 "the manager holds %llu bytes and %u %% on CPUs %#llx, %llu bytes and %u %% "
                 "given to %u tenants\n",
                 table_string(t, t->components[s->server].name), (unsigned long long)s->args[0],
                 (unsigned long long)s->args[1], (unsigned long long)memory, cpu,
                 (unsigned long long)cpus, (unsigned long long)memory_given, cpu_given, tenants);
    return 0;
}

/* Tenants: ConfigureIo with the IO the manager may hand out (args[0]
 * packs the reservation, the IO server's number with the memory server
 * and the IO tenant numbers: captable.h). */
static int setup_tenants_io(const struct table *t, const struct captable_setup *s)
{
    uint32_t iops = (uint32_t)s->args[0], holder = (uint32_t)(s->args[0] >> 32) & 0xff;
    uint32_t numbers = ((uint32_t)(s->args[0] >> 40) & 0xff) << 1; /* bit n for number n */
    struct tenants_error err;
    if (tenants_configure_io(object_slot[s->endpoint], iops, numbers, s->args[1],
                             s->args[2], holder, &err))
        return tenants_failed(t, s, "Tenants: ConfigureIo", &err);
    debug_printf("roottask: set-up '%s': Tenants: ConfigureIo, %u IOPS of reservations, IO "
                 "tenant numbers %#x, %llu sectors from sector %llu, the IO server is the "
                 "memory server's server %u\n",
                 table_string(t, t->components[s->server].name), iops, numbers,
                 (unsigned long long)s->args[2], (unsigned long long)s->args[1], holder);
    return 0;
}

/* Tenants: Watch: a tenant of the table in the manager's list, its
 * figures unpacked as captable.h says. */
static int setup_tenants_watch(const struct table *t, const struct captable_setup *s)
{
    const char *name = table_string(t, t->components[s->subject].name);
    uint64_t a = s->args[0], b = s->args[1], id = 0;
    uint32_t cpu = (a >> 16) & 0xff, limit = (a >> 24) & 0xff, weight = (uint32_t)(a >> 32);
    uint32_t io = b & 0xff, iops = (b >> 8) & 0xfffffff, io_limit = (uint32_t)(b >> 36);
    struct tenants_error err;
    if (tenants_watch(object_slot[s->endpoint], name, s->id, a & 0xffff, cpu, limit, weight, io,
                      iops, io_limit, &id, &err))
        return tenants_failed(t, s, "Tenants: Watch", &err);
    debug_printf("roottask: set-up '%s': Tenants: Watch '%s': account %llu, scheduler tenant "
                 "%llu, IO tenant %u\n", table_string(t, t->components[s->server].name), name,
                 (unsigned long long)s->id, (unsigned long long)(a & 0xffff), io);
    return setup_id(t, s, "Tenants: Watch", id);
}

static int io_failed(const struct table *t, const struct captable_setup *s, const char *call,
                     const struct io_error *err)
{
    char text[160];
    io_error_format(err, text, sizeof(text));
    return setup_failed(t, s, call, text);
}

/* IO: SetPolicy for the tenant: reservation, limit, weight, latency target
 * (args[2]'s high word); the answer is the reservation left for others. */
static int setup_io_policy(const struct table *t, const struct captable_setup *s)
{
    const char *name = table_string(t, t->components[s->subject].name);
    uint32_t weight = (uint32_t)s->args[2], latency = (uint32_t)(s->args[2] >> 32), left = 0;
    struct io_error err;
    int r = io_set_policy(object_slot[s->endpoint], s->id, (uint32_t)s->args[0],
                          (uint32_t)s->args[1], 0, weight, latency, &left, &err);
    if (r)
        return io_failed(t, s, "IO: SetPolicy", &err);
    debug_printf("roottask: set-up '%s': IO: SetPolicy '%s' as tenant %llu, reservation %llu "
                 "IOPS, limit %llu IOPS, weight %u, latency target %u us: %u IOPS left\n",
                 table_string(t, t->components[s->server].name), name,
                 (unsigned long long)s->id, (unsigned long long)s->args[0],
                 (unsigned long long)s->args[1], weight, latency, left);
    return 0;
}

/* IO: SetDisk for the tenant: its sectors of the device. */
static int setup_io_disk(const struct table *t, const struct captable_setup *s)
{
    const char *name = table_string(t, t->components[s->subject].name);
    struct io_error err;
    int r = io_set_disk(object_slot[s->endpoint], s->id, s->args[0], s->args[1], &err);
    if (r)
        return io_failed(t, s, "IO: SetDisk", &err);
    debug_printf("roottask: set-up '%s': IO: SetDisk '%s' as tenant %llu, %llu sectors from "
                 "sector %llu\n", table_string(t, t->components[s->server].name), name,
                 (unsigned long long)s->id, (unsigned long long)s->args[1],
                 (unsigned long long)s->args[0]);
    return 0;
}

/* 6. Set-up call `i` of the table. */
static int setup(const struct bk_bootinfo *bi, const struct table *t, uint32_t i)
{
    const struct captable_setup *s = &t->setups[i];
    switch (s->kind) {
    case CAPTABLE_SETUP_TENANTS_PROGRAM:
        return manager_add_program(bi, t, s, object_slot[s->args[1]], object_slot[s->endpoint]);
    case CAPTABLE_SETUP_MEM_ACCOUNT: return setup_mem_account(t, s);
    case CAPTABLE_SETUP_SCHED_TENANT: return setup_sched_tenant(t, s);
    case CAPTABLE_SETUP_IO_POLICY: return setup_io_policy(t, s);
    case CAPTABLE_SETUP_IO_DISK: return setup_io_disk(t, s);
    case CAPTABLE_SETUP_TENANTS_IO: return setup_tenants_io(t, s);
    case CAPTABLE_SETUP_TENANTS_WATCH: return setup_tenants_watch(t, s);
    default: return setup_tenants_allowance(t, s);
    }
}

int system_build(const struct bk_bootinfo *bi, const struct table *t)
{
    bk_alloc_init(bi);
    if (make_objects(bi, t))
        return -1;
    uint32_t n = t->header->component_count;
    for (uint32_t c = 0; c < n; c++) {
        if (fill_cspace(t, c) || fill_vspace(bi, t, c) || make_thread(bi, t, c))
            return -1;
    }
    for (uint32_t c = 0; c < n; c++) {
        if (move_originals(t, c))
            return -1;
    }
    const char *werr = wait_start(); /* before the driver's watcher, which signals it */
    if (werr) {
        debug_printf("roottask: FAILED: %s\n", werr);
        return -1;
    }
    for (uint32_t c = 0; c < n; c++) {
        if (t->components[c].device == CAPTABLE_DEVICE_VIRTIO_BLK && give_device(bi, t, c))
            return -1;
        if (t->components[c].device == CAPTABLE_DEVICE_CONSOLE && give_console(t, c))
            return -1;
    }
#if defined(__riscv)
    __asm__ volatile("fence.i" ::: "memory"); /* the programs were written as data */
#endif
    for (uint32_t c = 0; c < n; c++) {
        if (t->components[c].kind == CAPTABLE_KIND_SERVER && start(t, c))
            return -1;
    }
    for (uint32_t i = 0; i < t->header->setup_count; i++) {
        if (setup(bi, t, i))
            return -1;
    }
    if (supervise_watch() != 0) /* the IO server is set up by now */
        return -1;
    for (uint32_t c = 0; c < n; c++) {
        if (t->components[c].kind == CAPTABLE_KIND_TENANT && start(t, c))
            return -1;
    }
    return 0;
}

/* A tenant's thread state (BK_THREAD_STATE_*), or ~0 if it cannot be read. */
static uint64_t thread_state(uint64_t tcb)
{
    uint64_t pc, sp, arg, state;
    return sys_tcb_read_registers(tcb, &pc, &sp, &arg, &state) == 0 ? state : ~0ull;
}

/* Looks at the tenants at each wake-up of wait_next() (wait.c): at each
 * tick, and when the driver's watcher stopped it. */
int system_wait_tenants(const struct table *t, uint64_t seconds)
{
    /* Below every component: the root task runs only when they all wait,
     * never in the middle of the fault watcher's stop. */
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 0);
    uint64_t deadline = debug_ticks() + seconds * BK_TICK_HZ;
    for (;;) {
        uint32_t running = 0, c;
        for (c = 0; c < t->header->component_count; c++) {
            const struct captable_component *k = &t->components[c];
            uint64_t state = thread_state(object_slot[k->tcb]);
            if (k->kind != CAPTABLE_KIND_TENANT || state == BK_THREAD_STATE_EXITED)
                continue;
            if (state == BK_THREAD_STATE_FAULTED || state == ~0ull) {
                debug_printf("roottask: FAILED: tenant '%s' stopped (thread state %llu)\n",
                             table_string(t, k->name), (unsigned long long)state);
                return -1;
            }
            running++;
        }
        if (running == 0)
            return 0;
        if (supervise_check() != 0)
            return -1;
        if (debug_ticks() > deadline) {
            debug_printf("roottask: FAILED: %u tenant(s) still running after %llu s\n", running,
                         (unsigned long long)seconds);
            return -1;
        }
        (void)wait_next();
    }
}

int system_wait_console(const struct table *t)
{
    for (uint32_t c = 0; c < t->header->component_count; c++) {
        uint64_t done = cap_in_slot(t, c, CAPTABLE_CONSOLE_SLOT_DONE, BK_OBJ_NOTIFICATION);
        if (t->components[c].device == CAPTABLE_DEVICE_CONSOLE && done &&
            manager_wait_console(t, c, done) != 0)
            return -1;
    }
    return 0;
}
