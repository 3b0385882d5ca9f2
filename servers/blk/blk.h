/*
 * The user-level virtio-blk driver (docs/io.md): what its files share.
 *
 * The driver is its own process, blk-server (main.c, virtio.c, server.c).
 * Whoever holds the machine's device memory (the root task) finds the
 * disk and starts the driver with the files of the other side:
 *
 *   devmem.c    physical device pages mapped through device untyped memory
 *   discover.c  finding the disk: the device tree (virtio-mmio) or ACPI's
 *               MCFG and PCI configuration space (virtio-pci)
 *   pci.c       reading a PCI function's virtio capabilities (pure: the host
 *               tests build it)
 *   spawn.c     starting blk-server and handing it the device
 *
 *   main.c      the driver's start: what its spawner left in its CNode
 *   virtio.c    the two transports, device start-up and the one split queue
 *   server.c    the blk protocol's handlers and the driver's loop
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLK_SECTOR 512u
#define BLK_BUFFER 4096u
#define BLK_CLIENTS 8u
#define BLK_SLOTS 8u          /* requests in flight in the virtqueue */
#define BLK_DMA_BUFFERS 64u   /* DMA frames clients may register (add_buffer) */
/* Interrupt line i signals the driver's notification with badge bit
 * BLK_IRQ_BADGE_SHIFT + i: above every client badge, so a wake-up by an
 * interrupt never reads as a client's message. */
#define BLK_IRQ_BADGE_SHIFT 48u

#include "pci.h"
#include <bulkhead/format.h>
#include <bulkhead/sys.h>

/* ---- devmem.c: device memory by physical address ---------------------- */

/* Takes the device untyped caps listed in `bi` as the pool devmem_map()
 * carves from. */
void devmem_init(const struct bk_bootinfo *bi);

/* `bytes` of device memory from physical `pa` on, mapped uncached at a
 * fresh address (pages already mapped are reused); the pointer to `pa`'s
 * byte, or NULL with a sentence in *err: no device untyped covers the
 * range, or slots or page tables ran out. */
volatile void *devmem_map(uint64_t pa, size_t bytes, const char **err);

/* ---- discover.c: finding the disk ------------------------------------- */

enum blk_transport { BLK_MMIO = 1, BLK_PCI = 2 };

#define BLK_MAX_LINES 16u

struct blk_hw {
    enum blk_transport transport;
    /* Physical addresses of what the pointers below map (PCI: the common,
     * notify, ISR and device-config structures; MMIO: the registers in
     * regs_pa alone), for handing the pages to the driver. */
    uint64_t regs_pa, common_pa, notify_pa, isr_pa, config_pa;
    char where[96];                   /* for messages: "virtio-mmio at 0x10008000, PLIC 8" */
    volatile uint8_t *regs;           /* virtio-mmio: the register page */
    volatile uint8_t *common, *notify, *isr, *config; /* virtio-pci structures */
    uint32_t notify_multiplier;
    unsigned lines[BLK_MAX_LINES];    /* interrupt lines that may be the device's */
    unsigned line_count;              /* 1 when known; more to probe (PCI INTx) */
    uint16_t pci_rid;                 /* PCI: bus << 8 | device << 3 | function (its IOSpace) */
};

/* Finds the first virtio block device the firmware tables describe: on a
 * machine with a device tree, a "virtio,mmio" node whose registers say
 * version 2 and device 2; with ACPI, the MCFG's ECAM window, a PCI walk
 * of its first bus and the buses behind bridges, and a function of vendor
 * 0x1af4, device 0x1042 (or transitional 0x1001) with virtio's capabilities.
 * Returns NULL, or a sentence saying what was missing or malformed. */
const char *blk_discover(const struct bk_bootinfo *bi, struct blk_hw *dev);

/* ---- spawn.c / main.c: starting the driver ---------------------------- */

/* Where blk-server finds what its spawner gave it, in its own CNode (a
 * 256-slot CNode from bk_process_spawn()). */
#define BLK_SLOT_ENDPOINT BK_PROCESS_CAP_ARG /* the endpoint it serves (unbadged) */
#define BLK_SLOT_START 8u                    /* a frame holding struct blk_start */
#define BLK_SLOT_MEMORY 9u                   /* RAM untyped: DMA frames, page tables */
#define BLK_SLOT_NOTIFICATION 10u            /* its interrupt lines signal this */
#define BLK_SLOT_RECV 11u                    /* where attach's frame arrives */
#define BLK_SLOT_IRQ 12u                     /* .. + BLK_MAX_LINES: line i's handler */
#define BLK_SLOT_REGS (BLK_SLOT_IRQ + BLK_MAX_LINES) /* .. + BLK_MAX_REG_PAGES */
#define BLK_MAX_REG_PAGES 8u
#define BLK_SLOT_IOSPACE (BLK_SLOT_REGS + BLK_MAX_REG_PAGES) /* the disk's, with an IOMMU */
/* Fault injection (tests): a cap to the supervisor's fault watcher, given
 * only to an incarnation armed with kill_after_submits (blk_start). */
#define BLK_SLOT_KILL_POINT (BLK_SLOT_IOSPACE + 1)
#define BLK_SLOT_FREE (BLK_SLOT_IOSPACE + 2)
#define BLK_IOVA 0x10000000ull /* where the driver maps its DMA frames in that IOSpace */
#define BLK_DRIVER_CNODE_SLOTS 256u
#define BLK_MEMORY_BITS 17u /* 128 KiB */
/* Each incarnation's process (its endpoint, VSpace, page tables, program,
 * stack, IPC buffer, start-info and start pages, CNode, TCB and
 * SchedContext: about 150 KiB in about 40 objects) is made of one arena
 * of the supervisor's, this big, reclaimed whole at the next restart. */
#define BLK_INCARNATION_BITS 18u /* 256 KiB */
#define BLK_INCARNATION_SLOTS 64u

#define BLK_START_MAGIC 0x74726174736b6c62ull /* "blkstart" */

/* The device as the driver is told it: its register pages, in slots
 * BLK_SLOT_REGS onward, are one physically contiguous window; each
 * structure is an offset into it. */
struct blk_start {
    uint64_t magic;
    uint32_t transport;          /* enum blk_transport */
    uint32_t reg_pages;          /* 1..BLK_MAX_REG_PAGES */
    uint64_t window_pa;          /* physical address of the window (for messages) */
    uint32_t regs, common, notify, isr, config; /* offsets in the window */
    uint32_t notify_multiplier;
    uint32_t line_count;         /* handlers in BLK_SLOT_IRQ + i, i < line_count */
    uint32_t lines[BLK_MAX_LINES]; /* their line numbers; 0: that slot is empty */
    char where[96];
    uint32_t incarnation;        /* 1 for the first start, one more for each restart */
    /* Fault injection for the restart tests (0 in normal use): the driver
     * faults on purpose (a store to an unmapped page, so its supervisor
     * hears of it as of any fault) before it starts the device, or right
     * after posting its crash_after_submits-th Block: Submit. */
    uint32_t crash_at_start;
    uint32_t crash_after_submits;
    /* Fault injection for the hang test (0 in normal use): right after
     * posting its hang_after_submits-th Block: Submit the driver stops
     * answering for good, without a fault (it waits on a notification
     * nobody signals, keeping that Submit's caller waiting): a hung driver,
     * which only io-server's watch (IO: WatchDriver) notices. */
    uint32_t hang_after_submits;
    /* Fault injection for the restart tests (0 in normal use): right after
     * posting its kill_after_submits-th Block: Submit, before answering it,
     * the driver signals BLK_SLOT_KILL_POINT; the fault watcher, above it,
     * stops it there. A kill by the supervisor with requests in the device,
     * at a point counted in Submits, not in time: a test can order its
     * kills by what happened, whatever the host's speed. */
    uint32_t kill_after_submits;
    /* Fault injection for the spin test (0 in normal use): right after
     * posting its spin_after_submits-th Block: Submit the driver spins for
     * good without answering or waiting: a hung driver that keeps its CPU.
     * Its SchedContext is less than a whole CPU (BLK_DRIVER_BUDGET_NS), so
     * io-server's watch, below it, still runs and reports it. */
    uint32_t spin_after_submits;
    /* Fault injection for the DMA-fault test (0 in normal use): its
     * stray_dma_after_submits-th Block: Submit goes to the device with an
     * IO address nothing is mapped at (BLK_STRAY_IOVA) in place of the
     * buffer's: the IOMMU blocks the device's access and reports it, and
     * the request never completes. Only behind an IOSpace: without one the
     * address would be physical memory, and the driver refuses to. */
    uint32_t stray_dma_after_submits;
};

/* The IO address a stray DMA goes to: far past the driver's frames and
 * its clients' buffers at BLK_IOVA on, so never mapped. */
#define BLK_STRAY_IOVA (BLK_IOVA + 0x40000000ull)

/* The driver's SchedContext: BLK_DRIVER_BUDGET_NS of every
 * BLK_DRIVER_PERIOD_NS, not a whole CPU. It runs above io-server, so a
 * driver that spins instead of waiting would otherwise keep io-server's
 * watch thread (IO: WatchDriver) from ever running, and its hang would go
 * unseen; a healthy driver waits long before it uses 9 ms in a row. With
 * the most refills the kernel allows: the driver runs many short times a
 * period, and with 2 a full refill list deferred its budget until it
 * stalled for up to a period (docs/io.md, "A driver that spins"). */
#define BLK_DRIVER_PERIOD_NS 10000000ull
#define BLK_DRIVER_BUDGET_NS 9000000ull

/* Starts the boot-image program "blk-server" at `priority` (below the
 * caller's: it must not run before everything is handed over) and gives it
 * the disk `hw` found, 128 KiB of the caller's memory, every candidate
 * interrupt line, and, where an IOMMU translates DMA, an IOSpace for the
 * disk (the caller holds IOSpaceControl: the root task). *endpoint: an unbadged cap to the endpoint it serves, for
 * the caller to mint client caps from. Returns NULL or a sentence. */
const char *blk_spawn(const struct bk_bootinfo *bi, const struct blk_hw *hw, unsigned priority,
                      uint64_t *endpoint, char *err, size_t errlen);

/* The start page's fault injections for a driver blk_give_device() starts
 * (struct blk_start says what each does; 0: none). */
struct blk_faults {
    uint32_t crash_after_submits, hang_after_submits, stray_dma_after_submits;
};

/* For a driver whose process someone else made (the root task, from a
 * capability table: docs/policy.md, "Devices"), with its endpoint, its
 * memory in BLK_SLOT_MEMORY and `notification` (the caller's cap to the
 * one in BLK_SLOT_NOTIFICATION of the driver's 256-slot CNode `cnode`):
 * gives it what only the disk `hw` decides: the register pages, a handler
 * for every candidate line bound to `notification`, the IOSpace where an
 * IOMMU translates DMA, and the start page, with `faults`' injections (0
 * in normal use: a supervisor's test of a death, a hang or a stray DMA).
 * NULL or a sentence in err. */
const char *blk_give_device(const struct blk_hw *hw, uint64_t cnode, uint64_t notification,
                            const struct blk_faults *faults, char *err, size_t errlen);

/* ---- spawn.c: supervising the driver (docs/io.md, "Driver restart") ---- */

/* What the driver's supervisor (whoever called blk_supervise()) keeps to
 * start it again: the disk, the running incarnation's process and
 * endpoint, and the arena every incarnation is made of. The device's
 * lines, its IOSpace and the driver's memory live in the incarnation's
 * CNode and move to the next one (through slots of the supervisor's while
 * the arena is reclaimed); register pages are fresh caps each time (a
 * frame cap maps once). */
struct blk_driver {
    const struct bk_bootinfo *bi;
    struct blk_hw hw;
    unsigned priority;
    uint64_t fault_endpoint; /* its faults arrive here, badged with the incarnation */
    uint64_t fault_signal;   /* the supervisor's notification, signalled on a fault */
    struct bk_process p;     /* the running incarnation; p.tcb 0 once stopped */
    /* What every incarnation is made of (BLK_INCARNATION_BITS and _SLOTS),
     * set aside at the first start or restart and reclaimed at each. */
    struct bk_arena arena;
    uint64_t endpoint;       /* its endpoint (the original: clients' caps derive from it) */
    uint32_t incarnation;
    uint32_t crash_at_start, crash_after_submits; /* for the next start (tests) */
    uint32_t hang_after_submits, kill_after_submits, spin_after_submits; /* likewise */
    uint32_t stray_dma_after_submits;                                    /* likewise */
    /* The IOMMU's DMA fault line, when the supervisor holds IOSpaceControl
     * and an IOMMU translates the disk's DMA: its handler signals the
     * watcher's notification (BLK_DMA_BADGE); 0 without. */
    uint64_t dma_fault_handler;
    /* Bound to the fault watcher: io-server signals it (through a cap
     * blk_hang_report_cap() mints) when the driver owes it answers and
     * completed nothing for its timeout (IO: WatchDriver). */
    uint64_t hang_notification;
    /* Written by the fault watcher: faults seen, the last one's kind
     * (BK_FAULT_*, or BLK_FAULT_HUNG) and incarnation; the last
     * incarnation it stopped (a hang report for it comes too late). */
    uint32_t faults, fault_label, fault_incarnation, stopped_incarnation;
};

/* The watcher's record of a hang report: not a kernel fault label (those
 * are small numbers, BK_FAULT_*). */
#define BLK_FAULT_HUNG 0x100u
/* The badge of io-server's hang reports on the watcher's notification:
 * above any fault message's badge (an incarnation number). */
#define BLK_HANG_BADGE (1ull << 40)
/* The watcher's record of a stop at an incarnation's kill point
 * (blk_start.kill_after_submits), and the badge of the cap the driver
 * signals it with: beside io-server's hang reports on the same
 * notification. */
#define BLK_FAULT_KILLED 0x101u
#define BLK_KILL_BADGE (1ull << 41)
/* The watcher's record of a DMA of the disk's that the IOMMU blocked
 * (IOSpaceControl: TakeFault names its requester id), and the badge of the
 * DMA fault line's signal on the same notification. */
#define BLK_FAULT_DMA 0x102u
#define BLK_DMA_BADGE (1ull << 42)

/* A new cap (write right, badged BLK_HANG_BADGE) to the watcher's hang
 * notification of a driver started by blk_supervise() with a watcher, for
 * io-server (IO: WatchDriver, moved there); 0 if none could be made. A
 * report suspends the running incarnation and goes to the supervisor as a
 * fault of kind BLK_FAULT_HUNG. */
uint64_t blk_hang_report_cap(struct blk_driver *d);

/* As blk_spawn(), supervised: the driver's faults go to an endpoint of
 * ours, where a thread of ours at `watcher_priority` (above every thread
 * that calls the driver) waits for them. A fault of the running
 * incarnation is recorded in `d`, the incarnation suspended at once (so a
 * client's Call it held ends with CANCELLED: a faulted thread otherwise
 * keeps its caller waiting for a handler's reply), and `fault_signal` (a
 * notification of the caller's, write right) signalled: the supervisor
 * then calls blk_restart(). The watcher never calls a server, so a
 * supervisor blocked in a Call to one (IO: DriverRestarted) is never what a
 * fault waits for. `d` keeps what blk_restart() needs. */
const char *blk_supervise(const struct bk_bootinfo *bi, const struct blk_hw *hw,
                          unsigned priority, unsigned watcher_priority, uint64_t fault_signal,
                          struct blk_driver *d, char *err, size_t errlen);

/* The fault watcher of blk_supervise(), for a driver whose first
 * incarnation someone else made (the root task, from a capability table:
 * blk_give_device()): `d` holds that incarnation (p.tcb, p.cnode,
 * p.sched_context, endpoint, incarnation 1 and what blk_restart() needs),
 * whose faults now go to a fault endpoint of ours, badged with its
 * incarnation, as every later incarnation's do; a thread of ours at
 * `watcher_priority` takes them and io-server's hang reports
 * (blk_hang_report_cap()) as blk_supervise()'s does, and signals
 * `fault_signal`. With p.tcb 0 (blk_supervise(), before the first
 * incarnation) only the endpoint, the notification and the thread are
 * made. NULL or a sentence in err. */
const char *blk_watch(struct blk_driver *d, unsigned watcher_priority, uint64_t fault_signal,
                      char *err, size_t errlen);

/* Ends the running incarnation (it faulted, or is killed now): its thread
 * stopped, the device reset (so it writes nothing more into the dead
 * driver's memory), its endpoint deleted (a client's Call waiting on it
 * ends with CANCELLED, later ones fail at once), the device's caps and
 * its memory taken back, everything else in its CNode deleted. */
void blk_stop(struct blk_driver *d);

/* blk_stop() if still running, then starts the next incarnation of
 * blk-server with the same device caps: the device's caps taken out of the
 * dead incarnation's CNode, the arena reclaimed (every object the dead one
 * was made of deleted), the new one made of it: a restart takes none of
 * the supervisor's memory or slots. A new endpoint in d->endpoint (the
 * caller mints client caps from it again). NULL or a sentence. */
const char *blk_restart(struct blk_driver *d, char *err, size_t errlen);

/* A fresh, unmapped frame cap for the device page at `pa` (devmem.c), or
 * 0 when no device untyped covers it. */
uint64_t devmem_frame(uint64_t pa);

/* ---- virtio.c: the device ------------------------------------------- */

struct blk_dma {
    uint64_t queue_frame, request_frame, data_frame; /* caps with the phys-address right */
    /* 0: the device reaches the frames by physical address. Otherwise the
     * holder of the device's IOSpace mapped them at IO addresses iova,
     * iova + 4096 and iova + 8192 (Frame: MapIO, docs/security.md), and
     * the frames need no phys-address right. */
    uint64_t iova;
};

/* What waiting for the device needs: the notification its line(s) signal,
 * and the handler caps, lines[i] being badge bit i. */
struct blk_irq {
    uint64_t notification;
    uint64_t handlers[BLK_MAX_LINES];
    unsigned lines[BLK_MAX_LINES]; /* their line numbers, for messages */
    unsigned count;
    bool known; /* false until the first completion showed which line is ours */
};

/* Resets the device, negotiates VIRTIO_F_VERSION_1 and nothing else, sets
 * up queue 0 in dma->queue_frame, and starts it (virtio 1.1, 3.1.1).
 * Returns NULL or a sentence; *sectors is the capacity. */
const char *virtio_blk_start(struct blk_hw *dev, const struct blk_dma *dma,
                             uint64_t *sectors);

/* Starts a request in slot `slot` (< BLK_SLOTS, not in flight): `count`
 * sectors from `sector` (checked by the caller) to or from the frame at
 * physical `buffer_pa`, and tells the device. */
void virtio_blk_post(struct blk_hw *dev, unsigned slot, bool write, uint64_t sector,
                     unsigned count, uint64_t buffer_pa);

/* Calls done(arg, slot, status) for each request the device finished since
 * the last call (virtio-blk status 0 OK, 1 IOERR, 2 UNSUPP, 255 none
 * written); at most a queue's worth per call. Returns how many it read. */
unsigned virtio_blk_harvest(void (*done)(void *arg, unsigned slot, unsigned status), void *arg);

/* An interrupt came with notification bits `fired`: reads and clears the
 * device's cause, acks our line and, while the line is not known, lets go
 * of the candidates that were not ours. */
void virtio_blk_interrupt(struct blk_hw *dev, struct blk_irq *irq, uint64_t fired);

/* Waits for the device's next interrupt (once the line is known) or polls
 * once (before); false once 2 s have passed since `since_ticks` with no
 * line known, i.e. the device's interrupt reaches no candidate. */
bool virtio_blk_wait(struct blk_hw *dev, struct blk_irq *irq, uint64_t since_ticks);

/* The physical address of the driver's own bounce frame (the one
 * blk_data maps), for the copying methods read and write. */
uint64_t virtio_blk_bounce_pa(void);

/* The data frame as the driver maps it. */
extern uint8_t *blk_data;

/* ---- server.c ------------------------------------------------------- */

/* Everything the driver works with: the device, its DMA frames, its lines
 * bound to `irq.notification`, and the endpoint it serves; receive slot
 * for attach's frame. */
struct blk_config {
    struct blk_hw device;
    struct blk_dma dma;
    struct blk_irq irq;
    uint64_t endpoint;
    uint64_t recv_slot;
    uint64_t buffer_vaddr; /* where the clients' buffers get mapped (BLK_CLIENTS pages) */
    uint32_t incarnation;  /* the start page's: 1, or more after restarts */
    uint32_t crash_after_submits; /* the start page's fault injection (tests); 0: none */
    uint32_t hang_after_submits;  /* likewise */
    uint32_t kill_after_submits;  /* likewise */
    uint32_t spin_after_submits;  /* likewise */
    uint32_t stray_dma_after_submits; /* likewise */
};

/* Faults on purpose (fault injection for the restart tests, blk_start):
 * says why, then stores to an unmapped page. */
_Noreturn void blk_crash(const char *when);

/* Hangs on purpose (fault injection for the hang test, blk_start): says
 * why, then waits for good on a notification nobody signals, keeping the
 * Call it was answering unanswered. */
_Noreturn void blk_hang(const char *when);

/* Spins on purpose (fault injection for the spin test, blk_start): says
 * why, then loops for good without a system call, keeping the Call it was
 * answering unanswered and using all the CPU its SchedContext gives. */
_Noreturn void blk_spin(const char *when);

/* Tells the supervisor's fault watcher that this incarnation reached its
 * kill point (fault injection, blk_start.kill_after_submits); the watcher,
 * above us, stops us before this returns. Returns (and we go on) only if
 * no watcher was given. */
void blk_reach_kill_point(void);

/* Serves the blk protocol on cfg->endpoint forever. On the first request
 * (the spawner has handed everything over by then) it calls prepare(cfg)
 * to fill in the rest of cfg, then starts the device; if either fails it
 * says why on the console and answers every request with the device error,
 * status BLK_NO_DEVICE. */
_Noreturn void blk_serve(struct blk_config *cfg, const char *(*prepare)(struct blk_config *));

/* virtio-blk's own statuses are 0-2; this one says the device never answered
 * (or never started). */
#define BLK_NO_DEVICE 255u
