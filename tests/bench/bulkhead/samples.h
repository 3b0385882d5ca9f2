/*
 * The samples of one timed operation and their BENCH record, the same in
 * every Bulkhead bench image (bench.c with cpu.c, mem.c, io.c, density.c):
 * tools/bench/run.py reads the records.
 */
#pragma once

#include <bulkhead/sys.h>

#define MAX_ITERATIONS 20000

/* The timed repetitions of one operation, and how many there are
 * (bench.iterations= on the kernel command line). */
extern uint64_t samples[MAX_ITERATIONS];
extern unsigned iterations;

/* Sorts v[0..n) in place. */
void sort(uint64_t *v, unsigned n);

/* Sorts v[0..n) and prints the BENCH record of `op` on `arch`: the
 * minimum, median and 99th percentile, in instructions. */
void report_counts(const char *arch, const char *op, uint64_t *v, unsigned n);

/* Prints the BENCH record of `op` from samples[0..iterations). */
void report(const struct bk_bootinfo *bi, const char *op);

/* What follows `key` (e.g. "bench.iterations=") on the kernel command
 * line, or NULL when it is not there. */
const char *bench_option(const char *cmdline, const char *key);

/* N of "bench.iterations=N" on the kernel command line, kept within
 * [100, most]; 10,000 without it. */
unsigned parse_iterations(const char *cmdline, unsigned most);
