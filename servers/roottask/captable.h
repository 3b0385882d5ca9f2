/*
 * The capability table as the root task reads it: the binary boot module
 * "captable" that tools/captable.py encodes from the lowered policy
 * (docs/policy.md, "The boot table"). The format is defined here once;
 * the encoder reads the CAPTABLE_* constants from this file and checks
 * its record sizes against them, so the two cannot drift apart. Keep the
 * constants in the form `#define CAPTABLE_X <decimal>[u]` or `"STRING"`.
 *
 * Layout, little-endian, every record 8-byte aligned:
 *   struct captable_header
 *   struct captable_object     objects[object_count]
 *   struct captable_component  components[component_count]
 *   struct captable_cap        caps[cap_count]   (each component's in slot order)
 *   struct captable_setup      setups[setup_count] (in the order the root task makes them)
 *   char                       strings[strings_size]  (NUL-terminated, by offset)
 * Objects come before anything that names them, by index, as in the JSON.
 */
#ifndef ROOTTASK_CAPTABLE_H
#define ROOTTASK_CAPTABLE_H

#include <stdint.h>

#define CAPTABLE_MAGIC "BKCAPTBL"
#define CAPTABLE_VERSION 6
#define CAPTABLE_MODULE "captable"      /* the boot module's name */
#define CAPTABLE_HEADER_SIZE 40
#define CAPTABLE_OBJECT_SIZE 24
#define CAPTABLE_COMPONENT_SIZE 80
#define CAPTABLE_CAP_SIZE 24
#define CAPTABLE_SETUP_SIZE 48
#define CAPTABLE_MAX_OBJECTS 512       /* what the root task keeps slots for */
#define CAPTABLE_MAX_COMPONENTS 32
#define CAPTABLE_MAX_SETUPS 64
#define CAPTABLE_KIND_SERVER 0
#define CAPTABLE_KIND_TENANT 1
#define CAPTABLE_OBJECT_DEVICE 1u      /* not RAM: an IRQ line, I/O ports or device memory */
/* Not made at all: a copy of a cap the kernel gave the root task at boot
 * (SchedControl of CPU retype_bits). */
#define CAPTABLE_OBJECT_KERNEL 2u
/* The administrator's set-up calls (struct captable_setup.kind), each made
 * by the root task on the server's unbadged endpoint through the server's
 * generated client stub, after every component exists and the servers run,
 * before any tenant starts. */
#define CAPTABLE_SETUP_MEM_ACCOUNT 1   /* Mem: CreateAccount(subject's name, args[0] quota, its VSpace) */
#define CAPTABLE_SETUP_SCHED_TENANT 2  /* Sched: CreateTenant(subject's name, args[0..2]: */
                                       /* reservation, limit in percent, weight | CPU set << 32) */
#define CAPTABLE_SETUP_TENANTS_ALLOWANCE 3 /* Tenants: Configure(args[0] bytes, args[1] percent, */
                                           /* args[2] CPUs, bit c for CPU c); */
                                           /* subject = server, id 0 */
#define CAPTABLE_SETUP_IO_POLICY 4 /* IO: SetPolicy(tenant id, args[0] reservation, args[1] limit */
                                   /* (IOPS), args[2] weight | latency target us << 32) */
#define CAPTABLE_SETUP_IO_DISK 5   /* IO: SetDisk(tenant id, args[0] first sector, args[1] sectors) */
/* A program the tenant manager may spawn: the boot module named by string
 * args[0] sealed (Mem: SealProgram) with the memory server whose endpoint is
 * object args[1], in its account "programs" (opened with the first, args[2]
 * bytes of quota), then Tenants: AddProgram(that name, the program's id);
 * subject = server, id 0. */
#define CAPTABLE_SETUP_TENANTS_PROGRAM 6
/* The IO the tenant manager may hand out: Tenants: ConfigureIo(args[0]
 * bits 0-31 reservation IOPS, bits 32-39 the IO server's number with the
 * memory server, bits 40-47 the IO tenant numbers (bit n - 1 for n) no table
 * tenant uses; args[1] first sector, args[2] sectors); subject = server,
 * id 0. */
#define CAPTABLE_SETUP_TENANTS_IO 7
/* A tenant of the table the tenant manager lists (Tenants: Watch): the
 * subject's name, its account with the manager's memory server (id, which
 * the manager answers), args[0] its tenant id with the manager's scheduler
 * server (bits 0-15, 0 for none), its reservation (16-23) and limit
 * (24-31) in percent and its weight (32-63); args[1] its tenant number with
 * the manager's IO server (0-7, 0 for none), its IO reservation (8-35) and
 * limit (36-63) in operations per second. */
#define CAPTABLE_SETUP_TENANTS_WATCH 8
/* A TCB of a component's own other than its thread (its `tcb`) is a
 * worker: configured in the component's CSpace and VSpace with no
 * SchedContext, not started, at priority and MCP of at most this, the
 * scheduler server's borrowing band (servers/sched/server.h,
 * BAND_BORROWING), so that the component can register it there (Sched:
 * AddThread) and start it. */
#define CAPTABLE_WORKER_MCP 110

/* A component's CPU (struct captable_component.cpu) is a kernel CPU number
 * below this (the size of bk_bootinfo.sched_control_cpu); the root task
 * refuses one that is not online. */
#define CAPTABLE_CPUS 8

/* The devices a driver component can own (struct captable_component.device):
 * found by the root task at boot, not described by the table. */
#define CAPTABLE_DEVICE_NONE 0
#define CAPTABLE_DEVICE_VIRTIO_BLK 1 /* the first virtio block device: blk-server's slots */
/* The serial line's input (Debug: ConsoleLine): an IRQHandler of its receive
 * interrupt put in the owner's CONSOLE_SLOT_IRQ, signalling the table's
 * notification of the owner in CONSOLE_SLOT_SIGNAL badged CONSOLE_BADGE;
 * the owner signals its CONSOLE_SLOT_DONE notification when its console
 * ends, which the root task waits for once the tenants have finished
 * (servers/tenants/tenants.h: TENANTS_SLOT_IRQ, _SIGNAL, _DONE and
 * TENANTS_CONSOLE_BIT). */
#define CAPTABLE_DEVICE_CONSOLE 2
/* The bounds of a driver's hang timeout: the IO server's (servers/io/main.c,
 * WATCH_MIN_MS, WATCH_MAX_MS). */
#define CAPTABLE_HANG_TIMEOUT_MIN 10
#define CAPTABLE_HANG_TIMEOUT_MAX 60000
#define CAPTABLE_CONSOLE_SLOT_IRQ 13
#define CAPTABLE_CONSOLE_SLOT_SIGNAL 14
#define CAPTABLE_CONSOLE_SLOT_DONE 15
#define CAPTABLE_CONSOLE_BADGE 1
/* The badge of the owner's cap to its CONSOLE_SLOT_DONE notification: the
 * root task polls it (supervising meanwhile) and tells a signal from none. */
#define CAPTABLE_CONSOLE_DONE_BADGE 1

struct captable_header {
    char magic[8];            /* CAPTABLE_MAGIC, no NUL */
    uint32_t version;         /* CAPTABLE_VERSION */
    uint32_t size;            /* bytes of the whole table, strings included */
    uint32_t object_count;
    uint32_t component_count;
    uint32_t cap_count;
    uint32_t strings_size;
    uint32_t source;          /* string: the policy file it was lowered from */
    uint32_t setup_count;
};

struct captable_object {
    uint32_t type;            /* BK_OBJ_* */
    uint32_t retype_bits;     /* Untyped: Retype's size: log2 bytes (frame, untyped, the */
                              /* untyped of an ASID pool), log2 slots (CNode), 0 otherwise */
    uint32_t owner;           /* index of the component it belongs to */
    uint32_t name;            /* string: "web.tcb" */
    uint32_t flags;           /* CAPTABLE_OBJECT_* */
    uint32_t reserved;        /* zero */
};

struct captable_component {
    uint32_t name;            /* string */
    uint32_t program;         /* string: the boot module to run */
    uint32_t cmdline;         /* string: name and args, put in its start-info page */
    uint32_t kind;            /* CAPTABLE_KIND_* */
    uint32_t priority;        /* priority and MCP of its thread, 0..255 */
    uint32_t cnode_radix;     /* log2 slots of its CNode */
    uint64_t budget_ns;       /* its SchedContext, through SchedControl */
    uint64_t period_ns;
    uint32_t tcb, cnode, vspace, sched_context, ipc_buffer; /* object indices */
    uint32_t first_cap;       /* its caps: caps[first_cap .. first_cap + cap_count) */
    uint32_t cap_count;
    uint32_t device;          /* CAPTABLE_DEVICE_*: what the root task finds and hands it */
    uint32_t hang_timeout_ms; /* a virtio-blk driver's (IO: WatchDriver's timeout), */
                              /* CAPTABLE_HANG_TIMEOUT_MIN..MAX; 0 for everyone else */
    uint32_t cpu;             /* the CPU its thread runs on (the kernel's number, */
                              /* below CAPTABLE_CPUS): its SchedContext's SchedControl */
};

struct captable_cap {
    uint32_t slot;            /* in the holder's CNode */
    uint32_t object;          /* object index */
    uint32_t rights;          /* BK_RIGHT_* */
    uint32_t reserved;        /* zero */
    uint64_t badge;           /* Mint's badge (0 for a CNode: the root task sets the guard) */
};

/* One administrator's call: the server's id for the subject must come back
 * as `id`, the badge the table minted on the subject's channel to it. */
struct captable_setup {
    uint32_t kind;            /* CAPTABLE_SETUP_* */
    uint32_t server;          /* component index: whose endpoint is called */
    uint32_t subject;         /* component index: the tenant it is for */
    uint32_t endpoint;        /* object index: the server's endpoint, called unbadged */
    uint64_t id;              /* the id the server must answer */
    uint64_t args[3];         /* as the kind says */
};

_Static_assert(sizeof(struct captable_header) == CAPTABLE_HEADER_SIZE, "header size");
_Static_assert(sizeof(struct captable_object) == CAPTABLE_OBJECT_SIZE, "object size");
_Static_assert(sizeof(struct captable_component) == CAPTABLE_COMPONENT_SIZE, "component size");
_Static_assert(sizeof(struct captable_cap) == CAPTABLE_CAP_SIZE, "cap size");
_Static_assert(sizeof(struct captable_setup) == CAPTABLE_SETUP_SIZE, "setup size");

#endif
