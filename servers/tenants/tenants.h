/*
 * The tenant manager (servers/tenants/protocol.toml, docs/tenants.md):
 * what main.c (the table of tenants, the requests and the loop), io.c
 * (their IO, with the IO server), sched.c (their CPU, with the scheduler
 * server) and console.c (the serial console) share.
 *
 * What the spawner gives (bk_process_spawn with BK_SPAWN_GIVE_DEBUG, its
 * endpoint unbadged in BK_PROCESS_CAP_ARG, then caps moved into our CNode
 * of 2^8 slots; the manager needs no memory of its own):
 *  - TENANTS_SLOT_MEM: the memory server's endpoint, unbadged (its
 *    administrator's) with the grant right: Spawn sends a cap;
 *  - TENANTS_SLOT_CHANNEL: an endpoint on which we pass on each tenant's
 *    Hello (whoever receives on it hears the tenants; optional);
 *  - TENANTS_SLOT_IRQ: the IRQHandler of the console's receive line
 *    (Debug: ConsoleLine), whose notification is TENANTS_SLOT_SIGNAL,
 *    badged with TENANTS_CONSOLE_BIT: we bind it to our thread, so a
 *    received byte ends our Recv on the endpoint;
 *  - TENANTS_SLOT_DONE: a notification we signal when the console's
 *    `exit` ends the console (optional);
 *  - TENANTS_SLOT_IO: the IO server's endpoint, unbadged (its
 *    administrator's) with the grant and grant-reply rights: we set our
 *    tenants' IO policies and disks and mint each its cap (optional: without
 *    it, and until Tenants: ConfigureIo, tenants get no IO);
 *  - TENANTS_SLOT_SCHED: the scheduler server's endpoint, unbadged (its
 *    administrator's) with the grant right: our tenants' CPU quotas are
 *    reservations there (sched.c; optional: without it, a fixed budget on
 *    a SchedContext the memory server makes).
 * Without the IRQHandler or the notification there is no console; the
 * protocol still works.
 */
#pragma once

#include <bulkhead/sys.h>
#include <protocols/io_client.h>
#include <protocols/mem_client.h>
#include <protocols/sched_client.h>
#include <protocols/tenants_server.h>

#define TENANTS_SLOT_ENDPOINT BK_PROCESS_CAP_ARG
#define TENANTS_SLOT_MEM 11
#define TENANTS_SLOT_CHANNEL 12
#define TENANTS_SLOT_IRQ 13
#define TENANTS_SLOT_SIGNAL 14
#define TENANTS_SLOT_DONE 15
#define TENANTS_SLOT_RECV 16    /* where a request's cap would arrive (none does) */
#define TENANTS_SLOT_SCRATCH 17 /* the tenant's cap to us, which Spawn moves away */
#define TENANTS_SLOT_IO 18
#define TENANTS_SLOT_IO_GIVE 19 /* a tenant's IO cap, while Io's answer carries it */
#define TENANTS_SLOT_SCHED 20
#define TENANTS_SLOT_SCHED_AS 21 /* the scheduler server's cap badged as a tenant */
#define TENANTS_SLOT_TCB 22      /* a tenant's thread, on its way to the scheduler server */
#define TENANTS_CONSOLE_BIT 1ull

#define TENANTS_MAX 16
#define TENANTS_PROGRAMS 8
#define TENANTS_NAME 16              /* bytes, NUL included */
#define TENANTS_PERIOD_NS 10000000ull /* the CPU quota is a percent of this */
#define TENANTS_PRIORITY 10          /* of the tenants' threads */
/* A tenant's cap to us is badged with its place + 1 times this, so the
 * console's notification bit (TENANTS_CONSOLE_BIT) is never in it. */
#define TENANTS_TENANT_BADGE 256ull
#define TENANTS_HELLO_LABEL 0x201 /* Hello passed on to the channel */
/* A tenant needs a Hello and an Io (a few more if it reopens its session):
 * past this many calls it is flooding us, and we answer it no more. */
#define TENANTS_OWN_CALLS 8
#define TENANTS_SECTOR 512u
#define TENANTS_IO_NUMBERS 0x1feu /* IO tenant numbers 1 to 8 (servers/io) */
#define TENANTS_IO_WEIGHT 1
#define TENANTS_IO_LATENCY_US 100000
#define TENANTS_CPUS 8 /* the kernel's CPUs a set names (bk_bootinfo.sched_control_cpu) */

struct tenant {
    bool live;
    uint64_t id;                 /* the memory server's account id */
    char name[TENANTS_NAME];
    uint64_t memory;             /* quota, bytes */
    uint32_t cpu;                /* quota, percent of each period */
    uint64_t sched_id;           /* its id with the scheduler server; 0: none */
    uint32_t on_cpu;             /* the CPU its thread runs on */
    uint32_t cpu_limit, weight;  /* its policy there (with sched_id) */
    uint64_t last_ns, last_time; /* CPU consumed and clock at the last List */
    bool stopped;                /* by Stop, until Start */
    bool table;                  /* one of the system's table's (Watch): seen, not changed */
    uint32_t own_calls;          /* its calls answered (Hello, Io, anything): at most OWN_CALLS */
    uint32_t io_tenant;          /* its number with the IO server; 0: no IO */
    uint32_t io_iops, io_limit;  /* its IO policy: reservation and limit */
    uint64_t disk_first, disk_sectors; /* its part of the manager's sectors */
};

/* The IO the manager may hand out (Tenants: ConfigureIo). */
struct io_allowance {
    bool on;
    uint32_t iops, iops_given; /* reservations, operations per second */
    uint32_t numbers;          /* IO tenant numbers it may use, bit n for n */
    uint32_t holder;           /* the IO server's number with the memory server */
    uint32_t last_number;      /* the number given last: the next search starts after it */
    uint64_t first_sector, sectors;
};

struct manager {
    uint64_t memory, memory_given; /* the allowance, and what is handed out */
    uint32_t cpu, cpu_given;
    uint64_t cpus; /* the CPUs its tenants may run on, bit c for CPU c */
    struct io_allowance io;
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
    uint64_t io_ops, io_bytes; /* completed by its IO session (0 without IO) */
};

/* The tenant called `name`, or NULL. */
struct tenant *tenant_by_name(const char *name);

/* Reads `t`'s usage from the memory server; the CPU share is over the time
 * since the last reading, which becomes this one. 0 or an error. */
int tenant_usage(struct tenants_call *call, struct tenant *t, struct tenant_usage *u);

/* The tenants the manager made (not the table's it watches). */
unsigned tenants_created(void);

/* "running", "stopped" (by Stop), or "table" (Watch). */
const char *tenant_state(const struct tenant *t);

/* The live tenant whose cap to us carries `badge`, or NULL. */
struct tenant *tenant_by_badge(uint64_t badge);

/* io.c: the checks of a tenant's IO (`disk` 0: none) against the
 * allowance, made before anything is asked of a server; its IO set up
 * with the IO server (a number, a policy, a disk: all or nothing) or
 * closed; its rates changed (0 leaves one); its session's figures. Each
 * 0 or the error. */
int tenant_io_checks(struct tenants_call *call, const char *name, uint32_t iops, uint32_t limit,
                     uint64_t disk);
int tenant_io_give(struct tenants_call *call, struct tenant *t, uint32_t iops, uint32_t limit,
                   uint64_t disk);
int tenant_io_close(struct tenants_call *call, struct tenant *t);
int tenant_io_rates(struct tenants_call *call, struct tenant *t, uint32_t iops, uint32_t limit);
int tenant_io_usage(struct tenants_call *call, const struct tenant *t, struct tenant_usage *u);

/* sched.c: whether a scheduler server was handed over; the checks of a
 * CPU limit and weight; the tenancy there created (t->cpu the
 * reservation), the spawn's flags for it, the thread handed over and
 * started, the policy changed (0 leaves the limit or weight), the tenancy
 * ended, the CPU time consumed. Each 0 or the error (a tenant without a
 * tenancy: nothing to do). */
bool tenant_sched_on(void);
int tenant_cpu_checks(struct tenants_call *call, const char *name, uint32_t limit,
                      uint32_t weight);
int tenant_sched_create(struct tenants_call *call, struct tenant *t, uint32_t limit,
                        uint32_t weight);
uint32_t tenant_spawn_flags(const struct tenant *t);
int tenant_sched_adopt(struct tenants_call *call, struct tenant *t);
int tenant_sched_policy(struct tenants_call *call, struct tenant *t, uint32_t cpu, uint32_t limit,
                        uint32_t weight);
int tenant_sched_remove(struct tenants_call *call, struct tenant *t);
int tenant_sched_consumed(struct tenants_call *call, const struct tenant *t, uint64_t *ns);

/* console.c: sets the console up (false: no console: a cap is missing);
 * prints its prompt; handles its interrupt (reads the bytes, runs the
 * commands they end). */
bool console_start(void);
void console_prompt(void);
void console_interrupt(void);
