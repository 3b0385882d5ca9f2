/*
 * The density benchmark (issue 13; tools/bench/run.py boots it as the root
 * task of bench-density-image in a 256 MiB guest under -icount shift=0, so
 * a counter difference is an instruction count): the root task gives the
 * memory server every untyped it can spare, SchedControl and 16 ASID pools,
 * seals one program (tests/qemu/mem_spawn_tenant.c) and has the server
 * spawn tenants of it until it refuses. Each tenant runs: it says hello
 * (its code and constants mapped shared, its stack and libsys's data
 * private) and then waits in Recv for good, idle. Reports:
 *
 *  - tenants_in_256mib: how many the server spawned before it refused (the
 *    refusal's text says why: its memory, normally);
 *  - tenant_private_bytes: what an idle tenant is charged (Mem: Usage
 *    `used`: its kernel objects, its page tables, its books and its private
 *    pages; the pages it shares are its program owner's), the same for
 *    every tenant, and how it splits by kind;
 *  - tenant_spawn: instructions of one Mem: Spawn call (the request, every
 *    kernel object made and recorded, the regions, the IPC buffer backed,
 *    the reply), min / median / p99 over every spawn;
 *  - tenant_first_run: instructions from the spawn's return to the
 *    tenant's hello (the tenant's first faults, each resolved by the
 *    server: code and constants shared, stack and data private).
 *
 * Then every tenant is killed and the server's free memory must be what
 * it was before the first, to the byte. BENCH lines as bench.c prints.
 */
#include <bulkhead/sys.h>
#include <bulkhead/format.h>
#include <protocols/mem_client.h>

#include "samples.h"

#define W BK_WORD_BITS
#define SERVER_PRIORITY 200
#define TENANT_PRIORITY 10
#define SERVER_CNODE_BITS 8
#define MEM_POOL_SLOT 13          /* servers/mem/server.h: POOL_SLOT */
#define MEM_POOL_EXTRA 32         /* POOL_EXTRA(0), 8 of them */
#define MEM_POOLS 9
#define MEM_ASID_POOL_SLOT 40     /* ASID_POOL_SLOT(0), 16 of them */
#define ASID_POOLS 16
#define SPAWN_START 2
#define PERIOD_NS 10000000ull
#define QUOTA (256 * 1024ull)
#define MAX_TENANTS 8192
#define PAGE 4096ull
#define FILE_BASE (4ull << 30)
#define HELLO 0x101               /* tests/qemu/mem_spawn_tenant.c */

static uint64_t spawn_cost[MAX_TENANTS], run_cost[MAX_TENANTS], ids[MAX_TENANTS];
static uint64_t ep, kept, supervisor; /* a notification bound to us, badged 1 */
static const struct bk_bootinfo *boot;
static bool failed;

static void fail(const char *what, const struct mem_error *e)
{
    char text[240] = "";
    if (e)
        mem_error_format(e, text, sizeof(text));
    debug_printf("bench-density: FAILED: %s %s\n", what, text);
    failed = true;
}

/* The server, with every untyped we can spare (largest first, nine at
 * most), SchedControl and ASID pools. */
static void start_server(void)
{
    struct bk_process p;
    ep = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    uint64_t note = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    supervisor = bk_slot_alloc();
    if (!ep || !note || !supervisor ||
        sys_cnode_mint(BK_CAP_ROOT_CNODE, supervisor, W, BK_CAP_ROOT_CNODE, note, W,
                       BK_RIGHT_WRITE, 1) != 0 ||
        sys_tcb_bind_notification(BK_CAP_ROOT_TCB, note) != 0 ||
        bk_process_spawn(boot, "mem-server", SERVER_PRIORITY, ep,
                         BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE | BK_SPAWN_GIVE_SCHED_CONTROL,
                         &p) != 0) {
        fail("spawn mem-server", NULL);
        return;
    }
    for (unsigned k = 0; k < ASID_POOLS; k++) {
        uint64_t ut = bk_alloc_object(BK_OBJ_UNTYPED, BK_ASID_POOL_BITS);
        if (!ut || sys_asid_control_make_pool(BK_CAP_ASID_CONTROL, ut, p.cnode,
                                              MEM_ASID_POOL_SLOT + k, SERVER_CNODE_BITS) != 0)
            fail("make an ASID pool", NULL);
    }
    unsigned given = 0;
    uint64_t bytes = 0;
    /* A MiB stays ours, for the tenants' endpoints (64 bytes each). */
    kept = bk_alloc_object(BK_OBJ_UNTYPED, 20);
    for (unsigned bits = 30; bits >= 16 && given < MEM_POOLS; bits--) {
        uint64_t ut;
        while (given < MEM_POOLS && (ut = bk_alloc_object(BK_OBJ_UNTYPED, bits)) != 0) {
            uint64_t slot = given == 0 ? MEM_POOL_SLOT : MEM_POOL_EXTRA + given - 1;
            if (sys_cnode_move(p.cnode, slot, SERVER_CNODE_BITS, BK_CAP_ROOT_CNODE, ut, W) != 0)
                fail("give untyped", NULL);
            given++;
            bytes += 1ull << bits;
        }
    }
    debug_printf("bench-density: gave the server %u untyped caps, %llu KiB\n", given,
                 (unsigned long long)(bytes >> 10));
}

/* mem-spawn-tenant's file sealed as a program of account "programs". */
static uint64_t seal(void)
{
    struct mem_error e;
    const struct bk_boot_module *m = NULL;
    for (uint32_t i = 0; i < boot->module_count && !m; i++)
        m = strcmp(boot->modules[i].name, "mem-spawn-tenant") == 0 ? &boot->modules[i] : NULL;
    uint64_t space = bk_slot_alloc(), owner = 0, program = 0, pages, n;
    uint64_t region = m ? (m->size + PAGE - 1) & ~(PAGE - 1) : 0;
    uint32_t regions;
    if (!m || sys_cnode_copy(BK_CAP_ROOT_CNODE, space, W, BK_CAP_ROOT_CNODE, BK_CAP_ROOT_VSPACE,
                             W, BK_RIGHTS_ALL) != 0 ||
        mem_create_account(ep, "programs", 4096 * 1024, space, &owner, &e) != 0 ||
        mem_add_region(ep, owner, FILE_BASE, region, BK_VM_READ | BK_VM_WRITE, &regions, &e) ||
        mem_populate(ep, owner, FILE_BASE, region, &n, &e)) {
        fail("the program's account", &e);
        return 0;
    }
    memcpy((void *)(uintptr_t)FILE_BASE, (const void *)(uintptr_t)m->vaddr, m->size);
    if (mem_seal_program(ep, owner, FILE_BASE, m->size, &program, &pages, &e) != 0 ||
        mem_remove_region(ep, owner, FILE_BASE, &n, &e) != 0)
        fail("seal", &e);
    return program;
}

static uint64_t free_memory(void)
{
    uint64_t free = 0, total = 0;
    mem_memory(ep, &free, &total, NULL);
    return free;
}

/* Spawns tenant `i` with an endpoint of its own (it waits there when
 * idle, so no two tenants share a queue): its spawn timed, then its run to
 * its hello. False when the server refuses (*e says why). */
static bool spawn_one(unsigned i, uint64_t program, struct mem_error *e)
{
    /* Our cap goes once the tenant said hello: its copy keeps the endpoint. */
    uint64_t ctrl = bk_slot_alloc();
    if (!ctrl || sys_untyped_retype(kept, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, 0, 0, ctrl, 1)) {
        fail("an endpoint for a tenant (the root task kept too little)", NULL);
        return false;
    }
    char name[16];
    bk_snprintf(name, sizeof(name), "t-%u", i);
    uint64_t t0 = bk_counter();
    /* Timed: the Spawn call alone, request to reply. */
    int r = mem_spawn(ep, name, QUOTA, program, TENANT_PRIORITY, PERIOD_NS, PERIOD_NS,
                      SPAWN_START, ctrl, &ids[i], e);
    uint64_t t1 = bk_counter();
    if (r != 0) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, ctrl, W);
        bk_slot_free(ctrl);
        return false;
    }
    /* Its first faults may be the ones memory cannot pay for: the server
     * then signals its supervisor, our bound notification, which ends the
     * Recv with the notification's word as the badge. */
    if (mem_set_supervisor(ep, ids[i], supervisor, e) != 0)
        fail("set supervisor", e);
    struct bk_msg m = { 0 };
    sys_recv(ctrl, &m);
    uint64_t t2 = bk_counter();
    sys_cnode_delete(BK_CAP_ROOT_CNODE, ctrl, W);
    bk_slot_free(ctrl);
    if (BK_MSGINFO_LABEL(m.info) != HELLO) {
        uint64_t n, returned;
        int code = mem_take_fault(ep, ids[i], &n, e);
        mem_destroy_account(ep, ids[i], &returned, NULL);
        if (code == 0)
            fail("a tenant's hello", NULL);
        return false; /* its first run refused: memory ran out there */
    }
    spawn_cost[i] = t1 - t0;
    run_cost[i] = t2 - t1;
    return true;
}

static void report_usage(unsigned count)
{
    uint64_t q, used, frames, tables, cnodes, faults, refused, shared, priv, vs, tcbs, scs, ipc;
    uint64_t used_first = 0;
    bool same = true;
    for (unsigned i = 0; i < count; i++) {
        if (mem_usage(ep, ids[i], &q, &used, &frames, &tables, &cnodes, &faults, &refused,
                      &shared, &priv, &vs, &tcbs, &scs, &ipc, NULL) != 0)
            fail("usage", NULL);
        used_first = i == 0 ? used : used_first;
        same &= used == used_first;
    }
    if (!same)
        fail("every idle tenant charged the same", NULL);
    uint64_t reserved, book, accounts, max;
    mem_overhead(ep, &reserved, &book, &accounts, &max, NULL);
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": "
                 "\"tenant_private_bytes\", \"unit\": \"bytes\", \"value\": %llu, "
                 "\"frames\": %llu, \"page_tables\": %llu, \"cnodes\": %llu, \"vspaces\": %llu, "
                 "\"tcbs\": %llu, \"sched_contexts\": %llu, \"shared_pages\": %llu, "
                 "\"faults\": %llu, \"server_bookkeeping_per_tenant\": %llu, "
                 "\"server_reserved\": %llu}\n",
                 boot->arch, (unsigned long long)used, (unsigned long long)frames,
                 (unsigned long long)tables, (unsigned long long)cnodes, (unsigned long long)vs,
                 (unsigned long long)tcbs, (unsigned long long)scs, (unsigned long long)shared,
                 (unsigned long long)faults, (unsigned long long)(book / (accounts ? accounts : 1)),
                 (unsigned long long)reserved);
}

int main(const struct bk_bootinfo *bi)
{
    boot = bi;
    bk_alloc_init(bi);
    start_server();
    uint64_t program = seal(), before = free_memory(), total = 0, free_now;
    mem_memory(ep, &free_now, &total, NULL);
    debug_printf("bench-density: program %llu sealed; the server has %llu KiB free\n",
                 (unsigned long long)program, (unsigned long long)(free_now >> 10));
    struct mem_error e = { 0 };
    unsigned count = 0;
    while (!failed && count < MAX_TENANTS && spawn_one(count, program, &e)) {
        if (++count % 500 == 0)
            debug_printf("bench-density: %u tenants\n", count);
    }
    char why[240] = "";
    mem_error_format(&e, why, sizeof(why));
    debug_printf("bench-density: %u tenants of one program in %llu KiB of the server's; "
                 "then: %s\n", count, (unsigned long long)(total >> 10), why);
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": "
                 "\"tenants_in_256mib\", \"unit\": \"tenants\", \"value\": %u, "
                 "\"server_bytes\": %llu, \"stopped_by\": \"%s\"}\n",
                 bi->arch, count, (unsigned long long)total, why);
    if (count == 0) {
        fail("no tenant", &e);
        return 1;
    }
    report_usage(count);
    report_counts(boot->arch, "tenant_spawn", spawn_cost, count);
    report_counts(boot->arch, "tenant_first_run", run_cost, count);
    for (unsigned i = 0; i < count; i++) {
        uint64_t returned;
        if (mem_destroy_account(ep, ids[i], &returned, &e) != 0)
            fail("kill", &e);
    }
    uint64_t after = free_memory();
    debug_printf("bench-density: every tenant killed: free memory %llu before, %llu after\n",
                 (unsigned long long)before, (unsigned long long)after);
    if (after != before)
        fail("reclaim exact", NULL);
    debug_puts(failed ? "bench-density: FAILED\n" : "bench-density: done\n");
    return failed ? 1 : 0;
}
