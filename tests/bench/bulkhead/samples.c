/*
 * The samples of a timed operation and their BENCH record (samples.h).
 */
#include "samples.h"

uint64_t samples[MAX_ITERATIONS];
unsigned iterations = 10000;

void sort(uint64_t *v, unsigned n)
{
    /* Shell sort: no recursion, fine for 20,000 values. */
    for (unsigned gap = n / 2; gap; gap /= 2) {
        for (unsigned i = gap; i < n; i++) {
            uint64_t x = v[i];
            unsigned j = i;
            for (; j >= gap && v[j - gap] > x; j -= gap)
                v[j] = v[j - gap];
            v[j] = x;
        }
    }
}

void report_counts(const char *arch, const char *op, uint64_t *v, unsigned n)
{
    sort(v, n);
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": \"%s\", "
                 "\"unit\": \"instructions\", \"min\": %llu, \"median\": %llu, \"p99\": %llu, "
                 "\"iterations\": %u}\n",
                 arch, op, (unsigned long long)v[0], (unsigned long long)v[n / 2],
                 (unsigned long long)v[n * 99 / 100], n);
}

void report(const struct bk_bootinfo *bi, const char *op)
{
    report_counts(bi->arch, op, samples, iterations);
}

const char *bench_option(const char *cmdline, const char *key)
{
    for (const char *p = cmdline; *p; p++) {
        unsigned k = 0;
        while (key[k] && p[k] == key[k])
            k++;
        if (!key[k])
            return p + k;
    }
    return NULL;
}

unsigned parse_iterations(const char *cmdline, unsigned most)
{
    const char *p = bench_option(cmdline, "bench.iterations=");
    if (!p)
        return 10000;
    unsigned n = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (unsigned)(*p - '0');
    return n < 100 ? 100 : n > most ? most : n;
}
