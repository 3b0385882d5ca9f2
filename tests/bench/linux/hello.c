/*
 * hello: the trivial tenant of the VM-way density benchmark (issue 13).
 *
 * Built as a static x86-64 Linux program and run as the only program of a
 * minimal guest (tools/bench/linux.py --density: busybox, this program and
 * an /init that runs it and powers off). Its first action is to read the
 * TSC; under QEMU TCG with `-icount shift=0,sleep=off` the TSC is QEMU's
 * virtual clock, which starts at 0 when the machine starts and advances by
 * one per guest instruction, plus whatever idle time QEMU skipped (sleep=off
 * jumps the clock to the next timer when the vCPU halts). So that reading
 * is the boot's cost from QEMU start to this program, idle skips included.
 * It then reads the kernel's own idle and iowait time so far (per CPU, in
 * ns, from /proc/timer_list) so the idle skips can be taken out.
 *
 * Output, one line: "BENCH-HELLO tsc=<n> idle_ns=<n>"; idle_ns is -1 when
 * /proc/timer_list is not there. Exits 0.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* The sum over CPUs of idle_sleeptime and iowait_sleeptime, in ns; -1 when
 * /proc/timer_list cannot be read. */
static long long kernel_idle_ns(void)
{
    FILE *f = fopen("/proc/timer_list", "r");
    if (!f)
        return -1;
    char line[256];
    long long total = 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        long long ns;
        if (sscanf(line, " .idle_sleeptime : %lld nsecs", &ns) == 1 ||
            sscanf(line, " .iowait_sleeptime : %lld nsecs", &ns) == 1) {
            total += ns;
            found = 1;
        }
    }
    fclose(f);
    return found ? total : -1;
}

int main(void)
{
    uint64_t tsc = rdtsc();
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    long long idle = kernel_idle_ns();
    printf("BENCH-HELLO tsc=%llu monotonic_ns=%lld idle_ns=%lld\n", (unsigned long long)tsc,
           (long long)mono.tv_sec * 1000000000ll + mono.tv_nsec, idle);
    return 0;
}
