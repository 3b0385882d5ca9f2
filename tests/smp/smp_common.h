/*
 * Helpers shared by the multi-core test programs (tests/smp): the CPU a
 * thread runs on, starting a thread on one CPU's SchedControl, the largest
 * untyped and the command line's numeric options. (The clock is libsys's
 * debug_time_ns().)
 */
#pragma once

#include <bulkhead/sys.h>

#define SMPT_MS 1000000ull
#define SMPT_ROOT BK_CAP_ROOT_CNODE

/* The kernel's number of the CPU this thread runs on (Debug CpuIndex). */
uint64_t smpt_cpu_index(void);

/* Retypes a TCB into root slot `tcb` and a SchedContext into `sc` from
 * `untyped`, gives the SchedContext the whole CPU through the SchedControl
 * cap in root slot `sched_control` (so the thread runs on that CPU), and
 * starts entry(arg) at `priority` on the given stack and IPC buffer
 * (0: none). Returns 0 or -BK_ERR_*. */
long smpt_start_thread(uint64_t untyped, uint64_t tcb, uint64_t sc, uint64_t sched_control,
                       void (*entry)(uint64_t), uint64_t arg, void *stack, size_t stack_size,
                       uint64_t ipc_buffer, unsigned priority);

/* The slot of the largest RAM untyped, its size in *bits. */
uint64_t smpt_pick_pool(const struct bk_bootinfo *bi, unsigned *bits);

/* The decimal value of "key=" (key with its '=') on the command line, or
 * `fallback` when it is absent. */
uint64_t smpt_option(const char *cmdline, const char *key, uint64_t fallback);
