/*
 * Tenants spawned by the memory server (Mem: Spawn, Start, Stop;
 * docs/memory.md, "Spawning tenants").
 *
 * The administrator names a program, a quota and the thread's priority
 * and time; the server opens the account and makes everything the tenant
 * needs from its own memory, each object from a page (its VSpace from a
 * unit of two) charged to the account by kind, so the tenant's kernel
 * objects are inside its quota like its pages:
 *
 *  - its VSpace, with an ASID from a pool the administrator gave us;
 *  - its CNode of 64 slots: itself (guarded to full-depth addresses), its
 *    thread, its VSpace (which maps nothing it holds no frame of: what a
 *    server maps into it for a session, IO: Open, needs it), its tenant
 *    cap to us, the cap the administrator gave, and with SPAWN_DEBUG our
 *    Debug cap;
 *  - its TCB, paged by us (fault endpoint: our endpoint badged
 *    MEM_FAULT_BADGE | id), at the priority asked (our own TCB is the
 *    authority, so never above our MCP);
 *  - its SchedContext, configured through our SchedControl: a thread runs
 *    only on one (docs/scheduling.md); with SPAWN_NO_SCHED none: the
 *    administrator hands the thread (Mem: Thread) to a scheduler server,
 *    which binds one of its own, and then starts it;
 *  - regions: its IPC buffer (backed now: the kernel writes it without
 *    faulting), a stack backed on demand, the program's images and its
 *    start-info page.
 *
 * The kernel objects go in the tenant's books like its frames, so
 * DestroyAccount deletes them with the rest (its thread first, its space
 * last) and returns every byte.
 */
#include "server.h"

#define TENANT_CNODE_BITS 6
#define TENANT_GUARD BK_CNODE_GUARD(BK_WORD_BITS - TENANT_CNODE_BITS, 0)
#define KERNEL_OBJECTS 4 /* VSpace, CNode, TCB, SchedContext */
/* The tenant's cap to us: grant-reply too, for the caps Make answers with. */
#define TENANT_CAP_RIGHTS (BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY)

/* Page tables a fresh space lacks on the way to a page: every level below
 * its root (x86-64's PDPT, PD and PT; Sv39's two). */
#if defined(__x86_64__)
#define FRESH_SPACE_TABLES 3
#else
#define FRESH_SPACE_TABLES 2
#endif

static unsigned asid_hint; /* the pool that gave the last ASID */

/* A copy of object `n` of `a` in our SCRATCH_SRC (to invoke it). */
long object_borrow(const struct account *a, unsigned n)
{
    struct where at = book_slot(a, n, 0);
    return sys_cnode_copy(BK_CAP_ROOT_CNODE, SCRATCH_SRC, W, at.root, at.index, at.depth,
                          BK_RIGHTS_ALL);
}

void object_unborrow(void)
{
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_SRC, W);
}

/* The VSpace in SCRATCH_OBJ gets an ASID from one of our pools, the last
 * that gave one first. */
static bool assign_asid(void)
{
    for (unsigned i = 0; i < ASID_POOLS; i++) {
        unsigned k = (asid_hint + i) % ASID_POOLS;
        if (sys_asid_pool_assign(ASID_POOL_SLOT(k), SCRATCH_OBJ) == 0) {
            asid_hint = k;
            return true;
        }
    }
    return false;
}

/* The tenant's VSpace, from a whole unit, recorded, and a copy of it the
 * cached space (SPACE_CUR): every map of the spawn names it there. */
static int make_vspace(struct mem_call *call, struct account *a)
{
    long k = unit_take_whole();
    if (k < 0)
        return mem_fail_no_memory(call, a->name, 2 * MEM_PAGE, pages_free_bytes());
    if (unit_retype((uint32_t)k, BK_OBJ_VSPACE, 0, SCRATCH_OBJ, 1) != 0) {
        unit_give_whole((uint32_t)k);
        return mem_fail_no_memory(call, a->name, 2 * MEM_PAGE, pages_free_bytes());
    }
    if (!assign_asid()) {
        unit_give_whole((uint32_t)k); /* deletes the VSpace */
        return mem_fail_no_asid(call, a->name, ASID_POOLS);
    }
    if (space_cache_copy(a, SCRATCH_OBJ) != 0 ||
        pages_record_whole(a, (uint32_t)k, MEM_KIND_VSPACE) != 0) {
        unit_give_whole((uint32_t)k);
        return mem_fail_no_memory(call, a->name, 2 * MEM_PAGE, pages_free_bytes());
    }
    return 0;
}

/* Our slot `from` (minted with `badge` when `badge` is not ~0) into slot
 * `to` of the tenant's CNode (in SCRATCH_OBJ2). */
static long give(uint64_t to, uint64_t from, uint64_t rights, uint64_t badge)
{
    if (badge == ~0ull)
        return sys_cnode_copy(SCRATCH_OBJ2, to, TENANT_CNODE_BITS, BK_CAP_ROOT_CNODE, from, W,
                              rights);
    return sys_cnode_mint(SCRATCH_OBJ2, to, TENANT_CNODE_BITS, BK_CAP_ROOT_CNODE, from, W, rights,
                          badge);
}

/* The tenant's CNode in SCRATCH_OBJ2 (its page recorded, entry *n): itself,
 * its VSpace, its cap to us, the administrator's cap, and our Debug cap if
 * asked. */
static int make_cnode(struct mem_call *call, struct account *a, const struct spawn_args *args,
                      unsigned *n)
{
    long r = pages_make_object_in(BK_OBJ_CNODE, TENANT_CNODE_BITS, SCRATCH_OBJ2);
    if (r == 0)
        r = give(BK_CAP_ROOT_CNODE, SCRATCH_OBJ2, BK_RIGHTS_ALL, TENANT_GUARD);
    if (r == 0)
        r = give(BK_PROCESS_CAP_ARG, ENDPOINT, TENANT_CAP_RIGHTS, a->id);
    if (r == 0) /* for a server that maps a session into it (IO: Open) */
        r = give(BK_CAP_ROOT_VSPACE, space_of(a), BK_RIGHTS_ALL, ~0ull);
    if (r == 0)
        r = sys_cnode_move(SCRATCH_OBJ2, BK_PROCESS_FIRST_FREE_SLOT, TENANT_CNODE_BITS,
                           BK_CAP_ROOT_CNODE, args->give_slot, W);
    if (r == 0 && (args->flags & SPAWN_DEBUG))
        give(BK_CAP_DEBUG, BK_CAP_DEBUG, BK_RIGHTS_ALL, ~0ull); /* none: it prints nothing */
    if (r == 0)
        r = pages_record_page(a, MEM_KIND_CNODE, n);
    return r == 0 ? 0 : mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
}

/* The thread in SCRATCH_SRC (its page recorded, entry *n): priority and
 * MCP, our endpoint as its pager, its cap in its CNode. Its CSpace, VSpace
 * and IPC buffer come once its time is bound (configure()). */
static int make_tcb(struct mem_call *call, struct account *a, uint32_t priority, unsigned *n)
{
    if (pages_make_object_in(BK_OBJ_TCB, 0, SCRATCH_SRC) != 0)
        return mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
    if (sys_tcb_set_priority(SCRATCH_SRC, BK_CAP_ROOT_TCB, priority) != 0 ||
        sys_tcb_set_mc_priority(SCRATCH_SRC, BK_CAP_ROOT_TCB, priority) != 0)
        return mem_fail_bad_priority(call, a->name, priority);
    long r = sys_cnode_mint(BK_CAP_ROOT_CNODE, SCRATCH_CAP, W, BK_CAP_ROOT_CNODE, ENDPOINT, W,
                            BK_RIGHT_WRITE | BK_RIGHT_GRANT, MEM_FAULT_BADGE | a->id);
    if (r == 0)
        r = sys_tcb_set_fault_endpoint(SCRATCH_SRC, SCRATCH_CAP);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, SCRATCH_CAP, W);
    if (r == 0)
        r = give(BK_CAP_ROOT_TCB, SCRATCH_SRC, BK_RIGHTS_ALL, ~0ull);
    if (r == 0)
        r = pages_record_page(a, MEM_KIND_TCB, n);
    return r == 0 ? 0 : mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
}

/* The thread's time: a SchedContext configured and bound to it. */
static int make_sched_context(struct mem_call *call, struct account *a,
                              const struct spawn_args *args)
{
    if (pages_make_object(BK_OBJ_SCHED_CONTEXT, 0) != 0)
        return mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
    long r = sys_sched_control_configure(SCHED_CONTROL, SCRATCH_OBJ, args->budget, args->period,
                                         1, a->id);
    if (r == -BK_ERR_INVALID_CAPABILITY || r == -BK_ERR_FAILED_LOOKUP)
        return mem_fail_no_sched_control(call, a->name);
    if (r != 0)
        return mem_fail_bad_budget(call, a->name, args->budget, args->period);
    r = sys_sched_context_bind(SCRATCH_OBJ, SCRATCH_SRC);
    if (r == 0)
        r = pages_record_object(a, MEM_KIND_SCHED_CONTEXT, KERNEL_OBJECT);
    if (r == 0)
        a->sc_entry = (int)pages_last_entry(); /* for Cpu and SetCpu */
    return r == 0 ? 0 : mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
}

/* The IPC buffer's page in the fresh space: the tables on its way (the
 * first two from one Retype), then the frame. Checked first: the quota
 * and the memory pay for it once the kernel objects still to come
 * (`later` pages) are paid. */
static int back_ipc_buffer(struct mem_call *call, struct account *a, unsigned later)
{
    unsigned pages = mem_backing_pages(pages_recorded(a) + later, a->books, FRESH_SPACE_TABLES);
    uint64_t asked = pages * MEM_PAGE, left = mem_left(&a->charges) - later * MEM_PAGE;
    if (asked > left)
        return mem_fail_quota(call, a->name, a->charges.quota, asked, left);
    uint64_t vaddr = BK_ROOT_IPC_BUFFER_VADDR;
    long r = pages_make_books(a, later + 1 + FRESH_SPACE_TABLES); /* the objects' entries too */
    if (r == 0)
        r = pages_make_tables_paired(a, vaddr, FRESH_SPACE_TABLES);
    if (r == 0)
        r = pages_make_frame();
    if (r == 0)
        r = pages_record_frame(a, vaddr, BK_VM_READ | BK_VM_WRITE);
    return r == 0 ? 0 : mem_fail_no_memory(call, a->name, asked, pages_free_bytes());
}

/* The tenant's regions: the program's images, its start-info page, its
 * stack, its IPC buffer (backed now: TCB: Configure wants it mapped). */
static int make_space(struct mem_call *call, struct account *a, const struct program *p,
                      unsigned later)
{
    int err = 0;
    for (unsigned i = 0; !err && i < p->segments; i++)
        err = account_add_region(call, a, p->segment[i]);
    if (!err)
        err = account_add_region(call, a, p->info);
    struct mem_region stack = { STACK_BOTTOM, STACK_BYTES, BK_VM_READ | BK_VM_WRITE, 0 };
    struct mem_region ipc = { BK_ROOT_IPC_BUFFER_VADDR, MEM_PAGE, BK_VM_READ | BK_VM_WRITE, 0 };
    if (!err)
        err = account_add_region(call, a, stack);
    if (!err)
        err = account_add_region(call, a, ipc);
    if (!err)
        err = back_ipc_buffer(call, a, later);
    return err;
}

/* The thread's CSpace (SCRATCH_OBJ2), VSpace and IPC buffer (mapped: the
 * kernel checks), then its registers: the program's entry, the stack's
 * top, the start-info page as its argument. */
static long configure(struct account *a, const struct program *p, bool start)
{
    long r = sys_tcb_configure(SCRATCH_SRC, SCRATCH_OBJ2, TENANT_GUARD, space_of(a),
                               BK_ROOT_IPC_BUFFER_VADDR);
    if (r == 0)
        r = sys_tcb_write_registers(SCRATCH_SRC, start, p->entry, BK_ROOT_STACK_TOP,
                                    BK_ROOT_BOOTINFO_VADDR);
    return r;
}

/* The objects made in order of need: the space first (its IPC buffer
 * mapped before the thread is configured), the CNode and the thread kept
 * in our scratch slots while they are set up, so each is invoked where it
 * was made, and moved into its book entry at the end. A failure leaves
 * every page recorded (the caller closes the account: revoking a page
 * deletes its object wherever its cap is) and the scratch slots emptied. */
int spawn_build(struct mem_call *call, struct account *a, const struct program *p,
                const struct spawn_args *args)
{
    /* The kernel objects' pages first, all or none: 2 for the VSpace, one
     * each for the rest, and the book that records them. */
    int err = account_can_pay(call, a, mem_spawn_pages(pages_recorded(a), a->books));
    unsigned cnode = 0, tcb = 0;
    if (!err && pages_make_books(a, KERNEL_OBJECTS) != 0)
        err = mem_fail_no_memory(call, a->name, MEM_PAGE, pages_free_bytes());
    if (!err)
        err = make_vspace(call, a);
    if (!err)
        err = make_space(call, a, p, KERNEL_OBJECTS - 1);
    if (!err)
        err = make_cnode(call, a, args, &cnode);
    if (!err)
        err = make_tcb(call, a, args->priority, &tcb);
    if (!err && !(args->flags & SPAWN_NO_SCHED))
        err = make_sched_context(call, a, args);
    if (!err && configure(a, p, (args->flags & SPAWN_START) != 0) != 0)
        err = mem_fail_no_memory(call, a->name, 0, pages_free_bytes());
    if (!err && (pages_place_object(a, cnode, SCRATCH_OBJ2) != 0 ||
                 pages_place_object(a, tcb, SCRATCH_SRC) != 0))
        err = mem_fail_no_memory(call, a->name, 0, pages_free_bytes());
    if (err) {
        pages_scratch_clear();
        return err;
    }
    a->tcb_entry = (int)tcb;
    return 0;
}

long spawn_run(struct account *a, bool run)
{
    long r = object_borrow(a, (unsigned)a->tcb_entry);
    if (r == 0)
        r = run ? sys_tcb_resume(SCRATCH_SRC) : sys_tcb_suspend(SCRATCH_SRC);
    object_unborrow();
    return r;
}

/* ---- The handlers ------------------------------------------------------- */

int mem_handle_spawn(struct mem_call *call, const char *name, uint64_t quota, uint64_t program,
                     uint32_t priority, uint64_t budget, uint64_t period, uint32_t flags,
                     uint64_t give_slot, uint64_t *tenant)
{
    int err = account_checks(call, name, quota);
    if (err)
        return err;
    const struct program *p = program_by_id(program);
    if (!p)
        return mem_fail_unknown_program(call, name, program);
    if ((flags & ~(SPAWN_DEBUG | SPAWN_START | SPAWN_NO_SCHED)) ||
        (flags & (SPAWN_START | SPAWN_NO_SCHED)) == (SPAWN_START | SPAWN_NO_SCHED))
        return mem_fail_bad_flags(call, name, flags);
    if ((flags & SPAWN_NO_SCHED) && (budget || period))
        return mem_fail_bad_budget(call, name, budget, period);
    struct account *a;
    err = account_new(call, name, quota, &a);
    if (err)
        return err;
    struct spawn_args args = { priority, flags, budget, period, give_slot };
    err = spawn_build(call, a, p, &args);
    if (err) {
        account_close(a);
        return err;
    }
    *tenant = a->id;
    return 0;
}

/* The account of `tenant` with a thread of ours: 0 or the error. */
static int spawned(struct mem_call *call, uint64_t tenant, struct account **out)
{
    if (call->badge != 0)
        return mem_fail_not_admin(call, call->badge);
    *out = account_by_id(tenant);
    if (!*out)
        return mem_fail_unknown_tenant(call, tenant);
    return (*out)->tcb_entry < 0 ? mem_fail_not_spawned(call, (*out)->name) : 0;
}

/* The account of `tenant` with a thread of ours on a SchedContext of ours. */
static int spawned_with_time(struct mem_call *call, uint64_t tenant, struct account **out)
{
    int err = spawned(call, tenant, out);
    if (!err && (*out)->sc_entry < 0)
        return mem_fail_no_sched_context(call, (*out)->name);
    return err;
}

/* A copy of the thread's TCB cap, sent with the answer (kept in MAKE_OUT
 * until the next Make or Thread: the answer copies it from there). */
int mem_handle_thread(struct mem_call *call, uint64_t tenant, bk_cptr_t *tcb)
{
    struct account *a;
    int err = spawned(call, tenant, &a);
    if (err)
        return err;
    struct where at = book_slot(a, (unsigned)a->tcb_entry, 0);
    sys_cnode_delete(BK_CAP_ROOT_CNODE, MAKE_OUT, W);
    if (sys_cnode_copy(BK_CAP_ROOT_CNODE, MAKE_OUT, W, at.root, at.index, at.depth,
                       BK_RIGHTS_ALL) != 0)
        return mem_fail_not_spawned(call, a->name);
    *tcb = MAKE_OUT;
    return 0;
}

int mem_handle_start(struct mem_call *call, uint64_t tenant)
{
    struct account *a;
    int err = spawned(call, tenant, &a);
    if (!err && spawn_run(a, true) != 0)
        err = mem_fail_no_memory(call, a->name, 0, pages_free_bytes());
    return err;
}

int mem_handle_stop(struct mem_call *call, uint64_t tenant)
{
    struct account *a;
    int err = spawned(call, tenant, &a);
    if (!err && spawn_run(a, false) != 0)
        err = mem_fail_no_memory(call, a->name, 0, pages_free_bytes());
    return err;
}

int mem_handle_cpu(struct mem_call *call, uint64_t tenant, uint64_t *consumed_ns,
                   uint64_t *throttled, uint64_t *budget, uint64_t *period)
{
    struct account *a;
    int err = spawned_with_time(call, tenant, &a);
    if (err)
        return err;
    long r = object_borrow(a, (unsigned)a->sc_entry);
    if (r == 0)
        r = sys_sched_context_consumed(SCRATCH_SRC, consumed_ns, throttled, budget, period);
    object_unborrow();
    return r == 0 ? 0 : mem_fail_not_spawned(call, a->name);
}

/* The SchedContext keeps its binding and what it consumed: Configure
 * changes only its budget and period (and its badge, the same id). */
int mem_handle_set_cpu(struct mem_call *call, uint64_t tenant, uint64_t budget, uint64_t period)
{
    struct account *a;
    int err = spawned_with_time(call, tenant, &a);
    if (err)
        return err;
    long r = object_borrow(a, (unsigned)a->sc_entry);
    if (r == 0)
        r = sys_sched_control_configure(SCHED_CONTROL, SCRATCH_SRC, budget, period, 1, a->id);
    object_unborrow();
    if (r == -BK_ERR_INVALID_CAPABILITY || r == -BK_ERR_FAILED_LOOKUP)
        return mem_fail_no_sched_control(call, a->name);
    return r == 0 ? 0 : mem_fail_bad_budget(call, a->name, budget, period);
}
