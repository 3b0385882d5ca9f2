/*
 * What the Bulkhead benchmark's files share (bench.c times IPC and the
 * kernel's paths, cpu.c scheduling): the samples of the operation being
 * timed and how they are reported.
 */
#pragma once

#include "samples.h"

#define WARMUP 1000
#define STACK_SIZE 8192

/* A new object of `type` in a fresh slot (exits the bench if none). */
uint64_t make(uint64_t type);

/* Tenant B beside the victim: none, two spinning threads, or two threads
 * making the longest kernel calls. */
enum hog_kind { NO_HOG, SPINNING_HOG, SYSCALL_HOG };

/* The victim's wake-up lateness beside `kind`, and the shares (cpu.c). */
void bench_cpu_victim(const struct bk_bootinfo *bi, enum hog_kind kind);

/* A timeout fault to its handler and back (cpu.c). */
void bench_timeout_fault(const struct bk_bootinfo *bi);
