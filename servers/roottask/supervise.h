/*
 * The table's block driver supervised by the root task (supervise.c;
 * docs/policy.md, "The driver supervised"): a driver that dies is
 * restarted on its device and its client, the IO server, told, so the
 * tenants' sessions go on.
 */
#ifndef ROOTTASK_SUPERVISE_H
#define ROOTTASK_SUPERVISE_H

#include "table.h"

#include "../blk/blk.h"

/* Boot options for the supervisor's tests (fault injection), each N from
 * 1 to its maximum in the kernel's command line: the driver's first
 * incarnation faults right after its Nth Block: Submit (servers/blk/blk.h,
 * crash_after_submits: a death with requests in the device), or stops
 * answering after it (hang_after_submits: a hang, which only the IO
 * server's watch sees), or sends it to an unmapped IO address
 * (stray_dma_after_submits: a DMA the IOMMU blocks, whose fault line the
 * fault watcher hears; only where an IOMMU translates the disk's DMA);
 * the next N incarnations the supervisor starts die
 * in their start-up, before the device starts (crash_at_start: deaths in a
 * row, a restart's restart). */
#define SUPERVISE_FAULT_OPTION "roottask.blk_fault_after"
#define SUPERVISE_HANG_OPTION "roottask.blk_hang_after"
#define SUPERVISE_STRAY_DMA_OPTION "roottask.blk_stray_dma_after"
#define SUPERVISE_START_CRASH_OPTION "roottask.blk_start_crashes"

struct supervise_options {
    long fault_after, hang_after, stray_dma_after, start_crashes; /* 0: not given */
};

/* Reads the four options: 0, or -1 with a sentence in `why` naming the
 * first one whose N is not 1 to its maximum (1000000 Submits, 8
 * incarnations). */
int supervise_options(const struct bk_bootinfo *bi, struct supervise_options *o, char *why,
                      size_t whylen);

/* What the root task knows of the driver it built from the table. */
struct supervise_driver {
    uint32_t component;            /* the driver's, in the table */
    uint64_t tcb, cnode, sched_context, endpoint; /* the root task's caps to its objects */
    uint32_t client;               /* the IO server's component, or ~0u */
    uint64_t client_admin;         /* its unbadged endpoint cap */
    uint64_t client_rights, client_badge; /* of its channel to the driver */
    long start_crashes;            /* roottask.blk_start_crashes (tests; 0) */
};

/* Adopts driver `d` of table `t`, started on the disk `hw` (copied): its
 * faults go to a fault watcher of the root task's (blk_watch(), a thread
 * just below the root task's MCP, above every component that calls the
 * driver), which stops a faulted incarnation at once. NULL, or a sentence
 * in err when the watcher could not be made. */
const char *supervise_adopt(const struct bk_bootinfo *bi, const struct table *t,
                            const struct supervise_driver *d, const struct blk_hw *hw, char *err,
                            size_t errlen);

/* Once the driver's client, the IO server, is set up: IO: WatchDriver, so
 * that a driver that stops answering is reported to the fault watcher
 * after its table entry's hang_timeout_ms and restarted like a faulted one. 0, or
 * -1 (printed). Nothing to do without a client. */
int supervise_watch(void);

/* Called from the root task's wait loop: if the adopted driver died (its
 * watcher stopped it after a fault or a hang report, or it exited), it is
 * restarted and its client told (one line). 0; -1 (printed) when the
 * restart failed. */
int supervise_check(void);

#endif
