/*
 * What the multi-core ktests (smp_tests.c, smp_fastpath_tests.c) share:
 * smp_support.c.
 */
#pragma once

#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define VS BK_CAP_ROOT_VSPACE
#define STACK_SIZE 8192
#define MS 1000000ull
#define WAIT_NS (5000 * MS) /* generous: TCG vCPUs on a loaded host */

/* The CPU the caller runs on (Debug: CpuIndex; the clock is libsys's
 * debug_time_ns()). */
uint64_t cpu_index(void);

/* A machine of one CPU: says there is nothing to check, and returns 1. */
int one_cpu(struct ktest_env *env);

/* A TCB at `tcb` on a SchedContext at `sc` of `budget` every `period`
 * configured through CPU `cpu`'s SchedControl, started at `fn(arg)` on
 * `stk` (STACK_SIZE bytes) at `prio`; start_thread() on a whole CPU. */
long start_with_budget(struct ktest_env *env, uint64_t tcb, uint64_t sc, unsigned cpu,
                       uint64_t budget, uint64_t period, void (*fn)(uint64_t), uint64_t arg,
                       uint8_t *stk, unsigned prio);
long start_thread(struct ktest_env *env, uint64_t tcb, uint64_t sc, unsigned cpu,
                  void (*fn)(uint64_t), uint64_t arg, uint8_t *stk, unsigned prio);

/* The root's notification, which the threads a test waits for signal, and
 * the watchdog's deadline (smp_support.c, "Blocking waits"). */
struct smp_watch {
    uint64_t ntfn;               /* the root's notification */
    volatile uint64_t deadline;  /* 0: not armed */
    volatile uint64_t fired;
};
extern struct smp_watch watch;

void notify(uint64_t ntfn);
long start_watchdog(struct ktest_env *env, uint64_t slot);
void arm(uint64_t ns); /* the watchdog fires `ns` from now */
int wait_until(volatile uint64_t *v, uint64_t want, int at_least, uint64_t ns);
int wait_for(volatile uint64_t *v, uint64_t want, int at_least);
void sleep_ns(uint64_t ns);

/* Answers each Call on `ep` with the first word plus one and its CPU;
 * counts in words_past_length the one-word Calls whose other words did
 * not arrive as 0. */
void add_one_server(uint64_t ep);
extern volatile uint64_t words_past_length;

/* smp_fastpath_tests.c's tests, in smp_tests.c's lists. */
int test_fastpath_same_cpu(struct ktest_env *env);
int test_fastpath_not_across_cpus(struct ktest_env *env);
int test_fastpath_beside_cross_traffic(struct ktest_env *env);
int test_fastpath_two_cpus_unlocked(struct ktest_env *env);
int test_fastpath_shared_endpoint(struct ktest_env *env);
int test_fastpath_unlocked_general_exit(struct ktest_env *env);
int test_two_cpus_call_one_server(struct ktest_env *env);
int test_yield_unlocked(struct ktest_env *env);
int test_notification_unlocked(struct ktest_env *env);
int test_fastpath_bound_notification_unlocked(struct ktest_env *env);
