/*
 * The tenant manager (servers/tenants/protocol.toml, docs/tenants.md):
 * what main.c (the requests and the loop) and console.c (the serial
 * console) share.
 *
 * What the spawner gives (bk_process_spawn with BK_SPAWN_GIVE_DEBUG, its
 * endpoint unbadged in BK_PROCESS_CAP_ARG, then caps moved into our CNode
 * of 2^8 slots; the manager needs no memory of its own):
 *  - TENANTS_SLOT_MEM: the memory server's endpoint, unbadged (its
 *    administrator's) with the grant right: Spawn sends a cap;
 *  - TENANTS_SLOT_CHANNEL: an endpoint; each tenant gets a copy badged
 *    with its index + 1 (whoever receives on it hears the tenants);
 *  - TENANTS_SLOT_IRQ: the IRQHandler of the console's receive line
 *    (Debug: ConsoleLine), whose notification is TENANTS_SLOT_SIGNAL,
 *    badged with TENANTS_CONSOLE_BIT: we bind it to our thread, so a
 *    received byte ends our Recv on the endpoint;
 *  - TENANTS_SLOT_DONE: a notification we signal when the console's
 *    `exit` ends the console (optional).
 * Without the IRQHandler or the notification there is no console; the
 * protocol still works.
 */
#pragma once

#include <bulkhead/sys.h>
#include <protocols/mem_client.h>
#include <protocols/tenants_server.h>

#define TENANTS_SLOT_ENDPOINT BK_PROCESS_CAP_ARG
#define TENANTS_SLOT_MEM 11
#define TENANTS_SLOT_CHANNEL 12
#define TENANTS_SLOT_IRQ 13
#define TENANTS_SLOT_SIGNAL 14
#define TENANTS_SLOT_DONE 15
#define TENANTS_SLOT_RECV 16    /* where a request's cap would arrive (none does) */
#define TENANTS_SLOT_SCRATCH 17 /* the badged channel cap Spawn moves away */
#define TENANTS_CONSOLE_BIT 1ull

#define TENANTS_MAX 16
#define TENANTS_PROGRAMS 8
#define TENANTS_NAME 16              /* bytes, NUL included */
#define TENANTS_PERIOD_NS 10000000ull /* the CPU quota is a percent of this */
#define TENANTS_PRIORITY 10          /* of the tenants' threads */

struct tenant {
    bool live;
    uint64_t id;                 /* the memory server's account id */
    char name[TENANTS_NAME];
    uint64_t memory;             /* quota, bytes */
    uint32_t cpu;                /* quota, percent of each period */
    uint64_t last_ns, last_time; /* CPU consumed and clock at the last List */
};

struct manager {
    uint64_t memory, memory_given; /* the allowance, and what is handed out */
    uint32_t cpu, cpu_given;
    struct tenant tenants[TENANTS_MAX];
    struct {
        char name[TENANTS_NAME];
        uint64_t id;
    } programs[TENANTS_PROGRAMS];
    unsigned program_count;
};

extern struct manager manager;

/* One tenant's live figures, as List and the console's `list` show them. */
struct tenant_usage {
    uint64_t memory_used, cpu_ns;
    uint32_t cpu_permille;
};

/* The tenant called `name`, or NULL. */
struct tenant *tenant_by_name(const char *name);

/* Reads `t`'s usage from the memory server; the CPU share is over the time
 * since the last reading, which becomes this one. 0 or an error. */
int tenant_usage(struct tenants_call *call, struct tenant *t, struct tenant_usage *u);

/* console.c: sets the console up (false: no console: a cap is missing);
 * prints its prompt; handles its interrupt (reads the bytes, runs the
 * commands they end). */
bool console_start(void);
void console_prompt(void);
void console_interrupt(void);
