/*
 * The table's tenant manager, beyond its caps (manager.c): its console
 * handed over, its programs sealed and named, the wait for its console.
 */
#ifndef ROOTTASK_MANAGER_H
#define ROOTTASK_MANAGER_H

#include "table.h"

/* Component `c` (`device = "console"`): the serial line's receive
 * interrupt taken (Debug: ConsoleLine, IRQControl: Get), bound to its
 * notification `signal` (the root task's cap) badged CAPTABLE_CONSOLE_BADGE
 * and moved into CAPTABLE_CONSOLE_SLOT_IRQ of its CNode `cnode`. 0, or -1
 * after printing the step that failed. */
int manager_give_console(const struct table *t, uint32_t c, uint64_t cnode, uint64_t signal);

/* Set-up call `s` (CAPTABLE_SETUP_TENANTS_PROGRAM): its program sealed with
 * the memory server's endpoint `mem` and named to the manager's endpoint
 * `manager` (Tenants: AddProgram). 0, or -1 after printing the refusal. */
int manager_add_program(const struct bk_bootinfo *bi, const struct table *t,
                        const struct captable_setup *s, uint64_t mem, uint64_t manager);

/* Prints that the console is component `c`'s and waits until its `exit`
 * signals `done` (the root task's cap to its CAPTABLE_CONSOLE_SLOT_DONE),
 * supervising the disk driver meanwhile: 0, or -1 (printed) when a driver
 * could not be restarted. */
int manager_wait_console(const struct table *t, uint32_t c, uint64_t done);

#endif
