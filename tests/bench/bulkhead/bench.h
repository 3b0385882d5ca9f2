/*
 * What the Bulkhead benchmark's files share (bench.c times IPC and the
 * kernel's paths, cpu.c scheduling): the samples of the operation being
 * timed and how they are reported.
 */
#pragma once

#include <bulkhead/sys.h>

#define MAX_ITERATIONS 20000
#define WARMUP 1000
#define STACK_SIZE 8192

/* The timed repetitions of one operation, and how many there are
 * (bench.iterations= on the kernel command line). */
extern uint64_t samples[MAX_ITERATIONS];
extern unsigned iterations;

/* Sorts v[0..n) in place. */
void sort(uint64_t *v, unsigned n);

/* Prints the BENCH record of `op` from samples[0..iterations). */
void report(const struct bk_bootinfo *bi, const char *op);

/* A new object of `type` in a fresh slot (exits the bench if none). */
uint64_t make(uint64_t type);

/* Tenant B beside the victim: none, two spinning threads, or two threads
 * making the longest kernel calls. */
enum hog_kind { NO_HOG, SPINNING_HOG, SYSCALL_HOG };

/* The victim's wake-up lateness beside `kind`, and the shares (cpu.c). */
void bench_cpu_victim(const struct bk_bootinfo *bi, enum hog_kind kind);

/* A timeout fault to its handler and back (cpu.c). */
void bench_timeout_fault(const struct bk_bootinfo *bi);
