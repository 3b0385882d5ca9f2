/*
 * What the table's tenant manager needs beyond its caps (docs/policy.md,
 * "The tenant manager"; docs/tenants.md): its console, the serial line's
 * receive interrupt, handed over at boot like a driver's device; the
 * programs it may spawn, sealed with the memory server it administers and
 * named to it (set-up calls); and, once the table's tenants have finished,
 * the wait for its console's `exit`, which ends the run.
 */
#include <bulkhead/format.h>
#include <protocols/mem_client.h>
#include <protocols/tenants_client.h>

#include "manager.h"
#include "supervise.h"
#include "wait.h"

#define W BK_WORD_BITS
#define PAGE ((uint64_t)BK_PAGE_SIZE)
/* Where the root task reads a program's file in while the memory server
 * seals it: its own space, clear of libsys's heap and the device window. */
#define FILE_BASE (4ull << 30)
#define PROGRAMS_ACCOUNT "programs"

static int console_failed(const struct table *t, uint32_t c, const char *step, long r)
{
    debug_printf("roottask: FAILED: component %u '%s': device console: %s: %s\n", c,
                 table_string(t, t->components[c].name), step, bk_error_name(r));
    return -1;
}

int manager_give_console(const struct table *t, uint32_t c, uint64_t cnode, uint64_t signal)
{
    uint64_t line = 0, handler = bk_slot_alloc(), badged = bk_slot_alloc();
    if (!handler || !badged)
        return console_failed(t, c, "no slot", -BK_ERR_NOT_ENOUGH_MEMORY);
    long r = sys_debug_console_line(BK_CAP_DEBUG, &line);
    if (r)
        return console_failed(t, c, "Debug: ConsoleLine", r);
    r = sys_irq_control_get(BK_CAP_IRQ_CONTROL, line, BK_CAP_ROOT_CNODE, handler, W);
    if (r)
        return console_failed(t, c, "IRQControl: Get", r);
    /* The handler signals the owner's notification with the console's bit. */
    r = sys_cnode_mint(BK_CAP_ROOT_CNODE, badged, W, BK_CAP_ROOT_CNODE, signal, W,
                       BK_RIGHT_WRITE, CAPTABLE_CONSOLE_BADGE);
    if (r == 0)
        r = sys_irq_handler_set_notification(handler, badged);
    if (r)
        return console_failed(t, c, "IRQHandler: SetNotification", r);
    r = sys_cnode_move(cnode, CAPTABLE_CONSOLE_SLOT_IRQ, t->components[c].cnode_radix,
                       BK_CAP_ROOT_CNODE, handler, W);
    if (r)
        return console_failed(t, c, "CNode: Move of the handler", r);
    debug_printf("roottask: device console of '%s': the serial line's receive interrupt, line "
                 "%llu\n", table_string(t, t->components[c].name), (unsigned long long)line);
    return 0;
}

/* ---- Programs ----------------------------------------------------------- */

static int program_failed(const struct table *t, const struct captable_setup *s,
                          const char *program, const char *call, const char *text)
{
    debug_printf("roottask: FAILED: component %u '%s': set-up of its program '%s': %s: %s\n",
                 s->server, table_string(t, t->components[s->server].name), program, call,
                 text);
    return -1;
}

static int mem_failed(const struct table *t, const struct captable_setup *s, const char *program,
                      const char *call, const struct mem_error *e)
{
    char text[160];
    mem_error_format(e, text, sizeof(text));
    return program_failed(t, s, program, call, text);
}

/* The account that owns the programs, opened with the first one on the
 * root task's own space (the file is read there), with the table's quota. */
static int programs_account(const struct table *t, const struct captable_setup *s,
                            uint64_t mem, const char *program, uint64_t *owner)
{
    static uint64_t account, account_mem;
    struct mem_error e;
    if (account && account_mem == mem) {
        *owner = account;
        return 0;
    }
    uint64_t space = bk_slot_alloc();
    if (!space || sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE,
                                 BK_CAP_ROOT_VSPACE, W, BK_RIGHTS_ALL) != 0)
        return program_failed(t, s, program, "a copy of its VSpace cap", "no slot");
    if (mem_create_account(mem, PROGRAMS_ACCOUNT, s->args[2], space, &account, &e))
        return mem_failed(t, s, program, "Mem: CreateAccount", &e);
    account_mem = mem;
    *owner = account;
    return 0;
}

/* Module `m` read into a region of account `owner`, sealed, the region
 * removed: the program's id, or 0 (printed). */
static uint64_t seal(const struct table *t, const struct captable_setup *s, uint64_t mem,
                     uint64_t owner, const struct bk_boot_module *m, uint64_t *pages)
{
    struct mem_error e;
    uint64_t region = (m->size + PAGE - 1) & ~(PAGE - 1), n, program = 0;
    uint32_t regions;
    if (mem_add_region(mem, owner, FILE_BASE, region, BK_VM_READ | BK_VM_WRITE, &regions, &e)) {
        mem_failed(t, s, m->name, "Mem: AddRegion", &e);
        return 0;
    }
    bool ok = mem_populate(mem, owner, FILE_BASE, region, &n, &e) == 0;
    if (!ok)
        mem_failed(t, s, m->name, "Mem: Populate", &e);
    if (ok) {
        memcpy((void *)(uintptr_t)FILE_BASE, (const void *)(uintptr_t)m->vaddr, m->size);
        ok = mem_seal_program(mem, owner, FILE_BASE, m->size, &program, pages, &e) == 0;
        if (!ok)
            mem_failed(t, s, m->name, "Mem: SealProgram", &e);
    }
    /* The file's pages go back to the account either way. */
    if (mem_remove_region(mem, owner, FILE_BASE, &n, &e) && ok) {
        mem_failed(t, s, m->name, "Mem: RemoveRegion", &e);
        ok = false;
    }
    return ok ? program : 0;
}

int manager_add_program(const struct bk_bootinfo *bi, const struct table *t,
                        const struct captable_setup *s, uint64_t mem, uint64_t manager)
{
    const char *name = table_string(t, (uint32_t)s->args[0]);
    const struct bk_boot_module *m = table_find_program(bi, name);
    uint64_t owner = 0, pages = 0, program;
    if (programs_account(t, s, mem, name, &owner))
        return -1;
    program = seal(t, s, mem, owner, m, &pages);
    if (!program)
        return -1;
    struct tenants_error e;
    uint32_t programs = 0;
    if (tenants_add_program(manager, name, program, &programs, &e)) {
        char text[160];
        tenants_error_format(&e, text, sizeof(text));
        return program_failed(t, s, name, "Tenants: AddProgram", text);
    }
    debug_printf("roottask: set-up '%s': program '%s' sealed by '%s' (program %llu, %llu pages, "
                 "account '%s' %llu), Tenants: AddProgram: %u programs\n",
                 table_string(t, t->components[s->server].name), name,
                 table_string(t, t->components[t->objects[s->args[1]].owner].name),
                 (unsigned long long)program, (unsigned long long)pages, PROGRAMS_ACCOUNT,
                 (unsigned long long)owner, programs);
    return 0;
}

/* ---- The console's end --------------------------------------------------- */

/* `done` is looked at on each of the root task's wake-ups (wait.c: a
 * tick, or the driver's watcher) rather than waited on, because the disk
 * driver stays supervised while the console is open (supervise_check(),
 * as in system_wait_tenants()). The manager's cap to `done` carries
 * CAPTABLE_CONSOLE_DONE_BADGE, so a signal is told from nothing. */
int manager_wait_console(const struct table *t, uint32_t c, uint64_t done)
{
    const char *name = table_string(t, t->components[c].name);
    debug_printf("roottask: the console is '%s''s now: 'help' lists its commands, 'exit' ends "
                 "the run\n", name);
    for (;;) {
        struct bk_msg m = { 0 };
        sys_nbrecv(done, &m);
        if (m.badge & CAPTABLE_CONSOLE_DONE_BADGE)
            break;
        if (supervise_check() != 0)
            return -1;
        (void)wait_next();
    }
    debug_printf("roottask: '%s' closed its console\n", name);
    return 0;
}
