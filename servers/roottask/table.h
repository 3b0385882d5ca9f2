/*
 * The capability table of the boot image (captable.h): found among the
 * boot modules and checked whole before the root task acts on any of it.
 */
#ifndef ROOTTASK_TABLE_H
#define ROOTTASK_TABLE_H

#include <bulkhead/sys.h>

#include "captable.h"

/* Views into a table module; valid once table_check() said yes. */
struct table {
    const struct captable_header *header;
    const struct captable_object *objects;
    const struct captable_component *components;
    const struct captable_cap *caps;
    const struct captable_setup *setups;
    const char *strings;
};

/* Room for a refusal: the entry, its name and the numbers. */
#define TABLE_WHY_LEN 200

/* The boot module CAPTABLE_MODULE, or NULL when the image has none. */
const struct bk_boot_module *table_module(const struct bk_bootinfo *bi);

/* The boot module called `name`, or NULL. */
const struct bk_boot_module *table_find_program(const struct bk_bootinfo *bi, const char *name);

/* Checks the module `m` as a table the root task can build, with no side
 * effects: header, sizes, every string, object, component and cap, and
 * that each program is a module of `bi`. 0 and `t` filled in, or -1 with
 * a sentence in `why` naming the first entry at fault. */
int table_check(const struct bk_bootinfo *bi, const struct bk_boot_module *m, struct table *t,
                char why[TABLE_WHY_LEN]);

/* The root CNode slot of the SchedControl of CPU `cpu` (the kernel's
 * number: bk_bootinfo.sched_control_cpu maps the caps to CPUs, which
 * differ when a CPU was left out at start-up), or 0 when that CPU is not
 * online. */
uint64_t table_sched_control(const struct bk_bootinfo *bi, uint32_t cpu);

/* The string at offset `at` of a checked table. */
static inline const char *table_string(const struct table *t, uint32_t at)
{
    return t->strings + at;
}

#endif
