/*
 * The IO server (docs/io.md): what its files share.
 *
 *   main.c     the protocol's handlers and the loop
 *   session.c  a tenant's session: its memory, the ring, reading requests
 *              and writing completions
 *   backend.c  the driver behind the server: feeding it what the scheduler
 *              (iosched.c) picks, as many at once as the device's speed
 *              allows (iodepth.c), taking its completions back
 *   timer.c    a wake-up when a limit lapses with the device idle
 *   watchdog.c noticing a driver that stops answering (IO: WatchDriver)
 *   spawn.c    starting io-server (linked into whoever starts it)
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <bulkhead/format.h>
#include <bulkhead/sys.h>

#include "iodepth.h"
#include "iosched.h"
#include "ring.h"

/* Where io-server finds what its spawner gave it, in its 256-slot CNode. */
#define IO_SLOT_ENDPOINT BK_PROCESS_CAP_ARG /* the endpoint it serves (unbadged) */
/* (Slots 8-15 hold what bk_process_spawn() gives: SchedControl, the first
 * thread's SchedContext.) */
#define IO_SLOT_DRIVER 16u                  /* the blk driver's endpoint, a client cap with grant */
#define IO_SLOT_POOL 17u                    /* RAM untyped: the tenants' session memory */
#define IO_SLOT_MEMORY 18u                  /* RAM untyped: its own (notification, page tables) */
#define IO_SLOT_RECV 19u                    /* where a method's capability arrives */
#define IO_SLOT_SESSION 20u                 /* .. + IOSCHED_TENANTS: each tenant's session untyped */
/* A memory server's cap badged as this server's (Mem: TakeGrant, EndGrant),
 * with the grant-reply right; empty when tenants cannot pay (open_granted
 * refused). */
#define IO_SLOT_MEM_SERVER (IO_SLOT_SESSION + IOSCHED_TENANTS)
#define IO_SLOT_FREE (IO_SLOT_MEM_SERVER + 1)
/* What Mem: TakeGrant's CNode holds: 8 untypeds (4 KiB, then 7 of 8 KiB). */
#define IO_GRANT_UNTYPEDS 8u
#define IO_GRANT_CNODE_BITS 3u
#define IO_CNODE_SLOTS 256u
#define IO_SESSION_BITS 16u                 /* 64 KiB a tenant */
#define IO_POOL_BITS (IO_SESSION_BITS + 3u) /* 8 of them */
#define IO_MEMORY_BITS 18u /* 256 KiB: the timer thread's stack, notifications, tables */

/* Starts "io-server" at `priority` (below the caller's) serving a fresh
 * endpoint (*endpoint, unbadged: the administrator's), handing it
 * `driver` (a blk client cap with the grant right, moved), a copy of the
 * caller's SchedControl (for its timer thread's time) and its memory:
 * 512 KiB for sessions and 256 KiB of its own, from the caller's untyped.
 * Returns NULL or a sentence in err. */
const char *io_spawn(const struct bk_bootinfo *bi, unsigned priority, uint64_t driver,
                     uint64_t *endpoint, char *err, size_t errlen);
/* As io_spawn(), and `mem` (a memory server's cap badged MEM_SERVER_BADGE
 * | n, with the grant-reply right, moved) lets tenants pay for their
 * sessions (IO: OpenGranted). */
const char *io_spawn_trading(const struct bk_bootinfo *bi, unsigned priority, uint64_t driver,
                             uint64_t mem, uint64_t *endpoint, char *err, size_t errlen);

/* ---- inside io-server ------------------------------------------------ */

enum request_state { REQ_FREE, REQ_QUEUED, REQ_DEVICE };

/* A request of a session, one per buffer: a buffer holds one at a time. */
struct request {
    enum request_state state;
    uint64_t tag;
    bool write;
    uint64_t sector; /* the device's */
    uint32_t count;  /* sectors */
    struct iosched_request sched; /* as dispatched, for iosched_complete() */
};

struct session {
    bool open, closing;
    uint64_t first_sector, sectors; /* the virtual disk; sectors 0: none */
    uint64_t untyped;               /* IO_SLOT_SESSION + t: our memory for it */
    uint64_t grant;                 /* or, when not 0, the tenant's grant (Mem: TakeGrant) */
    uint64_t granted;               /* then its untypeds: IO_GRANT_UNTYPEDS slots from here */
    uint64_t slots;                 /* the first of SESSION_CAPS slots for its caps */
    uint64_t vspace;                /* the tenant's */
    uint64_t notification, notification_copy; /* ours, and the tenant's (wait only) */
    uint64_t doorbell;              /* our notification badged KICK_BIT | its bit, or 0 */
    uint64_t ring_frame, ring_copy, data[IO_RING_BUFFERS];
    uint32_t driver_buffer[IO_RING_BUFFERS];
    unsigned tables;                /* page tables made in the tenant's space */
    unsigned caps_used;             /* of the SESSION_CAPS slots from `slots` */
    volatile struct io_ring *ring;  /* our mapping */
    uint32_t sq_head, cq_tail;      /* ours: the ring's copies are for the tenant */
    unsigned queued, in_device;
    bool to_signal;
    struct request req[IO_RING_BUFFERS];
};

struct io_server {
    struct iosched sched;
    struct session sessions[IOSCHED_TENANTS];
    uint64_t device_sectors;
    unsigned in_device;   /* over all sessions, at most BLK_SLOTS */
    struct iodepth depth; /* how many the device may hold now */
    bool ready;           /* the driver answered and subscribed */
    uint64_t driver;
    uint64_t driver_notification; /* ours, badged, that the driver signals (Block: Subscribe) */
    uint64_t wake;                /* our bound notification, unbadged: doorbells are minted from it */
    /* Driver restart (docs/io.md, "Driver restart"): down from a failed
     * Call to the driver (or its supervisor's word) until the next
     * incarnation took our buffers and the re-issued requests; gone once
     * given up on. Requests in the device stay REQ_DEVICE while it is down. */
    bool driver_down, driver_gone;
    uint32_t deaths_in_a_row;
    bool completed_since_restart; /* a completion came from the current incarnation */
};

/* Deaths in a row after which the server gives up on the driver. */
#define IO_DRIVER_MAX_DEATHS 3u

extern struct io_server io;

/* A session's doorbell (IO: Doorbell) signals our notification with this
 * badge and bit t for tenant index t (below every bit of the driver's and
 * the timer's, above every tenant's endpoint badge). */
#define KICK_BIT (1ull << 61)

/* session.c */
#define SESSION_DRIVER_REFUSED (-1000L)
/* Makes tenant t's session memory (its notification among it) and maps it
 * at `vaddr` of `vspace` (moved from the receive slot); 0, or a kernel error (positive) with
 * nothing left behind, or SESSION_DRIVER_REFUSED (*blk_error says why). */
long session_open(unsigned t, uint64_t vspace_slot, uint64_t vaddr, uint64_t *blk_error);
/* Takes grant `grant` of tenant t from the memory server: its untypeds
 * become the memory session_open() uses. 0; or the memory server's error
 * code (nothing taken), -1 if the call itself failed, or the kernel's
 * error moving the untypeds out (the grant then ended at once). */
int session_take_grant(unsigned t, uint64_t grant);
/* Reads at most IO_RING_SQ new requests of tenant t's ring; false (nothing
 * read) if the indices are impossible. *accepted: how many it took. */
bool session_read_requests(unsigned t, uint32_t *accepted);
/* Completions waiting in the ring for the tenant (as far as we can tell). */
uint32_t session_completions(unsigned t);
/* Puts a completion in tenant t's ring (dropped if the tenant left no room). */
void session_complete(unsigned t, uint64_t tag, uint32_t status, uint32_t bytes);
/* Starts closing: queued requests cancelled (returned); the memory goes once
 * nothing is in the device (session_reclaim_if_idle()). */
unsigned session_close(unsigned t);
void session_reclaim_if_idle(unsigned t);
/* Signals every tenant with new completions. */
void session_signal_all(void);

/* timer.c: the server's notification is signalled with TIMER_BIT at
 * about `at` (ns, Debug: Time) once armed; an earlier arm wins. */
#define TIMER_BIT (1ull << 62)
const char *timer_start(uint64_t server_notification_badged);
void timer_arm(uint64_t at);
void timer_fired(void);

/* backend.c */
/* Asks the driver for the disk's size and subscribes to its completions;
 * NULL or a sentence. */
const char *backend_start(uint64_t notification);
/* Hands the device what the scheduler picks while it has room. */
void backend_pump(void);
/* Takes the driver's completions back (its notification was signalled);
 * backend_pump() next. */
void backend_completions(void);
/* The driver in IO_SLOT_DRIVER is a new incarnation: subscribe, register
 * every session's buffers again and re-issue what was in the device. True
 * when all of that was answered (*reissued: how many requests went);
 * false if the driver died again meanwhile (the server stays down). */
bool backend_reattach(uint32_t *reissued);
/* Gives up on the driver: every request in the device or queued completes
 * with IO_ST_DRIVER_GONE, and so will every later one. */
void backend_give_up(void);

/* session.c: registers the session's buffers with the (new) driver again;
 * 0, or the blk stub's error code. */
int session_register_buffers(unsigned t);

/* watchdog.c (docs/io.md, "A hung driver"). The main thread says when it
 * starts waiting on the driver and when the driver completes something;
 * a thread of the watchdog's tells the supervisor (IO: WatchDriver's
 * notification) when it has waited longer than the timeout. All cheap
 * no-ops until IO: WatchDriver. */
/* Before each Call to the driver: starts the wait if none is under way. */
void watch_call_begin(void);
/* After a Call, or completions (`completed`: some came, at `now`, 0: read
 * the clock): the wait ends when nothing is owed (no request in the
 * device, or the driver down or given up) and starts over at a completion. */
void watch_settle(bool completed, uint64_t now);
/* A new incarnation is taking over (IO: DriverRestarted, before it is
 * called): nothing is owed yet, and its hang is reported again. */
void watch_restarted(void);
/* Watches with `notification` (in our CNode, moved) and a timeout of
 * `timeout_ms` (checked by the caller); NULL or why not. */
const char *watch_driver(uint64_t notification, uint32_t timeout_ms);
