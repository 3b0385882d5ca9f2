/*
 * The system of a checked capability table, built and started by the root
 * task (system.c), and the wait for its tenants to finish.
 */
#ifndef ROOTTASK_SYSTEM_H
#define ROOTTASK_SYSTEM_H

#include "table.h"

/* Builds every object, CSpace, address space and thread of the checked
 * table `t` and starts each component, printing one line per component.
 * 0, or -1 after printing which component and step failed. */
int system_build(const struct bk_bootinfo *bi, const struct table *t);

/* Lowers the root task below every component and waits (wait.c) until
 * each tenant has exited, looking at each wake-up: 0; -1 (printed) when one faulted or `seconds` passed first.
 * Servers are left running: the machine stops when the root task exits. */
int system_wait_tenants(const struct table *t, uint64_t seconds);

/* For each component with a console (CAPTABLE_DEVICE_CONSOLE) and a
 * notification in CAPTABLE_CONSOLE_SLOT_DONE: waits until its console ends
 * (its `exit` signals it), the disk driver supervised meanwhile. 0 at once
 * without one; -1 (printed) when a driver could not be restarted. */
int system_wait_console(const struct table *t);

#endif
