/*
 * Starting a program of the boot image as a process of its own: a new
 * VSpace (the program, a stack, an IPC buffer and a start-info page), a new
 * CSpace (one CNode) and a thread. The child's main() receives the
 * start-info page, a struct bk_bootinfo in which only the identity, the IPC
 * buffer and the first free slot are filled in. A spawn that fails says
 * why in struct bk_process's `error`, naming the module and the step (for
 * a program the ELF parser refuses, the parser's own reason).
 */
#include <bulkhead/format.h>
#include <bulkhead/sys.h>

#include "lock.h"

#define PAGE ((uint64_t)BK_PAGE_SIZE) /* kernel/abi.toml */
#define CHILD_STACK_PAGES 4
#define CHILD_CNODE_BITS 8

/* The boot-image module called `name`, or NULL. */
static const struct bk_boot_module *find_module(const struct bk_bootinfo *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->module_count; i++) {
        if (strcmp(bi->modules[i].name, name) == 0)
            return &bi->modules[i];
    }
    return NULL;
}

/* `pages` fresh frames mapped read-write at `vaddr` of `vspace`. */
static long map_fresh(uint64_t vspace, uint64_t vaddr, unsigned pages)
{
    for (unsigned i = 0; i < pages; i++) {
        uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, 12);
        if (!frame)
            return -BK_ERR_NOT_ENOUGH_MEMORY;
        long r = bk_map_frame(vspace, frame, vaddr + i * PAGE, BK_VM_READ | BK_VM_WRITE, 0);
        if (r)
            return r;
    }
    return 0;
}

void bk_start_info_init(struct bk_bootinfo *info, const struct bk_bootinfo *bi)
{
    memset(info, 0, sizeof(*info));
    info->magic = BK_BOOTINFO_MAGIC;
    info->version = BK_BOOTINFO_VERSION;
    info->size = sizeof(*info);
    memcpy(info->kernel_name, bi->kernel_name, sizeof(info->kernel_name));
    memcpy(info->kernel_version, bi->kernel_version, sizeof(info->kernel_version));
    memcpy(info->arch, bi->arch, sizeof(info->arch));
    info->tick_hz = bi->tick_hz;
    info->ipc_buffer = BK_ROOT_IPC_BUFFER_VADDR;
    info->first_free_slot = BK_PROCESS_FIRST_FREE_SLOT;
}

long bk_map_start_info(uint64_t vspace, const struct bk_bootinfo *info)
{
    for (uint64_t off = 0; off < sizeof(*info); off += PAGE) {
        uint64_t frame = bk_alloc_object(BK_OBJ_FRAME, BK_PAGE_BITS);
        size_t n = sizeof(*info) - off < PAGE ? sizeof(*info) - off : PAGE;
        long r = frame ? bk_copy_to_frame(frame, 0, (const char *)info + off, n)
                       : -BK_ERR_NOT_ENOUGH_MEMORY;
        if (r == 0)
            r = bk_map_frame(vspace, frame, BK_ROOT_BOOTINFO_VADDR + off, BK_VM_READ, 0);
        if (r)
            return r;
    }
    return 0;
}

/* The start-info page: what the child's libsys start code reads. */
static long map_start_info(const struct bk_bootinfo *bi, uint64_t vspace)
{
    static struct bk_bootinfo info; /* too big for the stack */
    bk_start_info_init(&info, bi);
    return bk_map_start_info(vspace, &info);
}

/* The child's CNode: its own cap in BK_CAP_ROOT_CNODE, its thread in
 * BK_CAP_ROOT_TCB (its startup sets its thread pointer through it), a copy
 * of `give` (if any) in BK_PROCESS_CAP_ARG and, if asked, of our Debug cap
 * in BK_CAP_DEBUG; guarded to full-depth addresses. */
static long make_cspace(struct bk_process *p, uint64_t give, unsigned flags)
{
    p->cnode = bk_alloc_object(BK_OBJ_CNODE, CHILD_CNODE_BITS);
    if (!p->cnode)
        return -BK_ERR_NOT_ENOUGH_MEMORY;
    uint64_t guard_data = BK_CNODE_GUARD(BK_WORD_BITS - CHILD_CNODE_BITS, 0);
    long r = sys_cnode_mint(p->cnode, BK_CAP_ROOT_CNODE, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE,
                            p->cnode, BK_WORD_BITS, BK_RIGHTS_ALL, guard_data);
    if (r == 0)
        r = sys_cnode_copy(p->cnode, BK_CAP_ROOT_TCB, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE, p->tcb,
                           BK_WORD_BITS, BK_RIGHTS_ALL);
    if (r == 0 && give)
        r = sys_cnode_copy(p->cnode, BK_PROCESS_CAP_ARG, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE, give,
                           BK_WORD_BITS, BK_RIGHTS_ALL);
    if (r == 0 && (flags & BK_SPAWN_GIVE_DEBUG))
        r = sys_cnode_copy(p->cnode, BK_CAP_DEBUG, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE,
                           BK_CAP_DEBUG, BK_WORD_BITS, BK_RIGHTS_ALL);
    if (r == 0 && (flags & BK_SPAWN_GIVE_SCHED_CONTROL))
        r = sys_cnode_copy(p->cnode, BK_CAP_SCHED_CONTROL, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE,
                           BK_CAP_SCHED_CONTROL, BK_WORD_BITS, BK_RIGHTS_ALL);
    if (r == 0 && (flags & BK_SPAWN_GIVE_VSPACE))
        r = sys_cnode_copy(p->cnode, BK_CAP_ROOT_VSPACE, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE,
                           p->vspace, BK_WORD_BITS, BK_RIGHTS_ALL);
    p->cspace_data = guard_data;
    return r;
}

/* A failed spawn: "spawn '<module>': <what>: <detail>" in p->error for
 * the caller to print, and `r` back. */
static long failed(struct bk_process *p, const char *module, const char *what,
                   const char *detail, long r)
{
    bk_snprintf(p->error, sizeof(p->error), "spawn '%s': %s: %s", module, what, detail);
    return r;
}

/* The child's address space: the program, its stack, its IPC buffer and
 * its start-info page. */
static long make_vspace(const struct bk_bootinfo *bi, const struct bk_boot_module *m,
                        struct bk_process *p)
{
    /* The ELF parser's sentence, when it is the one refusing the file. */
    char why[160];
    long r = bk_elf_load(p->vspace, (const void *)(uintptr_t)m->vaddr, m->size, &p->entry, why,
                         sizeof(why));
    if (r && why[0]) {
        /* Its sentences start "ELF: ", which our own words already say. */
        bool prefixed = strlen(why) > 5 && memcmp(why, "ELF: ", 5) == 0;
        return failed(p, m->name, "ELF refused", prefixed ? why + 5 : why, r);
    }
    if (r)
        return failed(p, m->name, "loading the program", bk_error_name(r), r);
    r = map_fresh(p->vspace, BK_ROOT_STACK_TOP - CHILD_STACK_PAGES * PAGE, CHILD_STACK_PAGES);
    if (r)
        return failed(p, m->name, "mapping its stack", bk_error_name(r), r);
    r = map_fresh(p->vspace, BK_ROOT_IPC_BUFFER_VADDR, 1);
    if (r)
        return failed(p, m->name, "mapping its IPC buffer", bk_error_name(r), r);
    r = map_start_info(bi, p->vspace);
    if (r)
        return failed(p, m->name, "mapping its start-info page", bk_error_name(r), r);
    return 0;
}

/* The child's thread: its CSpace, VSpace and IPC buffer, `priority` as
 * priority and MCP, started at the program's entry. */
static long start_thread(struct bk_process *p, const char *module, unsigned priority)
{
    long r = sys_tcb_configure(p->tcb, p->cnode, p->cspace_data, p->vspace,
                               BK_ROOT_IPC_BUFFER_VADDR);
    if (r == 0)
        r = sys_tcb_set_priority(p->tcb, BK_CAP_ROOT_TCB, priority);
    /* Its MCP is its priority: the child may start threads of its own up
     * to it (bk_thread_create() takes the child's TCB as authority), and
     * can never outrank what its parent gave it. */
    if (r == 0)
        r = sys_tcb_set_mc_priority(p->tcb, BK_CAP_ROOT_TCB, priority);
    if (r == 0)
        p->sched_context = bk_sched_whole_cpu(p->tcb, &r);
    if (r == 0)
        r = sys_tcb_write_registers(p->tcb, 1, p->entry, BK_ROOT_STACK_TOP,
                                    BK_ROOT_BOOTINFO_VADDR);
    return r ? failed(p, module, "starting its thread", bk_error_name(r), r) : 0;
}

static long spawn(const struct bk_bootinfo *bi, const char *module, unsigned priority,
                  uint64_t give, unsigned flags, struct bk_process *p)
{
    memset(p, 0, sizeof(*p));
    const struct bk_boot_module *m = find_module(bi, module);
    if (!m)
        return failed(p, module, "no such module", "the boot image has none of that name",
                      -BK_ERR_INVALID_ARGUMENT);
    if (flags & ~(BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_SCHED_CONTROL | BK_SPAWN_GIVE_VSPACE))
        return failed(p, module, "unknown flags",
                      "only BK_SPAWN_GIVE_DEBUG, _SCHED_CONTROL and _VSPACE are defined",
                      -BK_ERR_INVALID_ARGUMENT);
    long r;
    p->vspace = bk_vspace_alloc(&r);
    if (!p->vspace)
        return failed(p, module, "making its VSpace", bk_error_name(r), r);
    p->tcb = bk_alloc_object(BK_OBJ_TCB, 0);
    if (!p->tcb)
        return failed(p, module, "making its TCB", "NOT_ENOUGH_MEMORY",
                      -BK_ERR_NOT_ENOUGH_MEMORY);
    r = make_vspace(bi, m, p);
    if (r)
        return r;
    r = make_cspace(p, give, flags);
    if (r)
        return failed(p, module, "making its CSpace", bk_error_name(r), r);
#if defined(__riscv)
    __asm__ volatile("fence.i" ::: "memory"); /* the program was written as data */
#endif
    return start_thread(p, module, priority);
}

uint64_t bk_sched_whole_cpu(uint64_t tcb, long *err)
{
    uint64_t sc = bk_alloc_object(BK_OBJ_SCHED_CONTEXT, 0);
    *err = sc ? 0 : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (*err == 0)
        *err = sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, BK_SCHED_ROOT_PERIOD_NS,
                                           BK_SCHED_ROOT_PERIOD_NS, 1, 0);
    if (*err == 0)
        *err = sys_sched_context_bind(sc, tcb);
    return *err == 0 ? sc : 0;
}

/* Under the process layer's (re-entrant) lock: the start-info page is
 * built in one static buffer and programs are copied through one scratch
 * window, so concurrent spawns take turns. */
long bk_process_spawn(const struct bk_bootinfo *bi, const char *module, unsigned priority,
                      uint64_t give, unsigned flags, struct bk_process *p)
{
    bk__objects_lock();
    long r = spawn(bi, module, priority, give, flags, p);
    bk__objects_unlock();
    return r;
}

/* A spawn that did not fit its arena: what the arena holds, after the
 * step's sentence. */
static void say_arena_full(struct bk_process *p, const struct bk_arena *a)
{
    size_t n = strlen(p->error);
    if (a->refused_error)
        bk_snprintf(p->error + n, sizeof(p->error) - n,
                    " (its arena's untyped cap refused a retype: %s)",
                    bk_error_name(-a->refused_error));
    else if (a->slots_used == a->slots)
        bk_snprintf(p->error + n, sizeof(p->error) - n,
                    " (its arena's %u slots are all used; %llu of %llu bytes)", a->slots,
                    (unsigned long long)a->used, 1ull << a->size_bits);
    else
        bk_snprintf(p->error + n, sizeof(p->error) - n,
                    " (its arena's untyped of %llu bytes has %llu used: an object of %llu more "
                    "does not fit)",
                    1ull << a->size_bits, (unsigned long long)a->used,
                    (unsigned long long)a->refused_bytes);
}

long bk_process_spawn_in(struct bk_arena *arena, const struct bk_bootinfo *bi, const char *module,
                         unsigned priority, uint64_t give, unsigned flags, struct bk_process *p)
{
    if (!arena || !arena->untyped) {
        memset(p, 0, sizeof(*p));
        return failed(p, module, "no arena", "bk_arena_init() makes one",
                      -BK_ERR_INVALID_ARGUMENT);
    }
    bk__objects_lock();
    struct bk_arena *outer = bk__arena_select(arena);
    long r = spawn(bi, module, priority, give, flags, p);
    bk__arena_select(outer);
    bk__objects_unlock();
    if (r == -BK_ERR_NOT_ENOUGH_MEMORY)
        say_arena_full(p, arena);
    return r;
}
