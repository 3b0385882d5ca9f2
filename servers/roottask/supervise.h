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

/* The boot option that makes the driver's first incarnation fault on
 * purpose right after its Nth Block: Submit (servers/blk/blk.h,
 * crash_after_submits): a death with requests in the device. */
#define SUPERVISE_FAULT_OPTION "roottask.blk_fault_after"

/* N of `roottask.blk_fault_after=N` in the kernel's command line (0: not
 * given); -1 with a sentence in `why` when N is not 1 to 1000000. */
long supervise_fault_option(const struct bk_bootinfo *bi, char *why, size_t whylen);

/* The boot option that makes the next N incarnations the supervisor
 * starts die in their start-up, before the device starts (blk.h,
 * crash_at_start): deaths in a row, a restart's restart. */
#define SUPERVISE_START_CRASH_OPTION "roottask.blk_start_crashes"

/* N of `roottask.blk_start_crashes=N` (0: not given); -1 with a sentence
 * in `why` when N is not 1 to 8. */
long supervise_start_crash_option(const struct bk_bootinfo *bi, char *why, size_t whylen);

/* What the root task knows of the driver it built from the table. */
struct supervise_driver {
    uint32_t component;            /* the driver's, in the table */
    uint64_t tcb, cnode, sched_context, endpoint; /* the root task's caps to its objects */
    uint32_t client;               /* the IO server's component, or ~0u */
    uint64_t client_admin;         /* its unbadged endpoint cap */
    uint64_t client_rights, client_badge; /* of its channel to the driver */
    long start_crashes;            /* roottask.blk_start_crashes (tests; 0) */
};

/* Adopts driver `d` of table `t`, started on the disk `hw` (copied). */
void supervise_adopt(const struct bk_bootinfo *bi, const struct table *t,
                     const struct supervise_driver *d, const struct blk_hw *hw);

/* Called from the root task's wait loop: if the adopted driver died, it is
 * restarted and its client told (one line). 0; -1 (printed) when the
 * restart failed or the client gave the driver up. */
int supervise_check(void);

#endif
