/*
 * What the multi-core bench's files share (smp.c, smp_isolation.c).
 */
#pragma once

#include "samples.h"

#define SMP_STACK_SIZE 8192

/* The CPU-isolation victim's markers (smp_isolation.c): before its Yield,
 * after it returns. smp.c's are 1-15. */
#define MARK_WAKE_SLEEP 16
#define MARK_WAKE_WOKE 17

/* Prints what failed and ends the bench (its root thread). */
__attribute__((noreturn)) void smp_give_up(const char *what, long err);

/* A new object of `type` in a fresh slot, or the bench gives up. */
uint64_t smp_make(uint64_t type);

/* Starts `fn(arg)` on CPU `cpu` at `priority` on a new SchedContext of
 * `budget` ns every `period` (0 and 0: the whole CPU), with `stack`
 * (SMP_STACK_SIZE bytes) and IPC buffer `ipc` (or NULL); the SchedContext's
 * slot goes to *sc_out (if not NULL) before the thread starts. Returns its
 * TCB, or the bench gives up. */
uint64_t smp_start_budgeted(const struct bk_bootinfo *bi, unsigned cpu, void (*fn)(uint64_t),
                            uint64_t arg, uint8_t *stack, struct bk_ipc_buffer *ipc,
                            uint64_t budget, uint64_t period, unsigned priority,
                            uint64_t *sc_out);

/* Set to end the neighbour threads of a timed row (both files' rows). */
extern volatile unsigned smp_stop;

/* A thread that spins in user mode until smp_stop, then exits. */
void smp_spin_until_stopped(uint64_t unused);

/* A CNode Copy of `source` into the empty `slot` and the Delete of the
 * copy, two general-path invocations: 0, or the first error. */
long smp_copy_and_delete(uint64_t slot, uint64_t source);

/* CPU isolation with the tenants on CPUs 0 and 1 (smp_isolation.c). */
void bench_isolation_two_cpus(const struct bk_bootinfo *bi);
