/*
 * cpu_isolation: the Linux side of the CPU-isolation benchmark (issue 12).
 *
 * Built as a static x86-64 Linux program and run as the only workload of the
 * bench's Linux guest (tools/bench/linux.py: QEMU TCG, one vCPU,
 * `-icount shift=0,sleep=off`, so CLOCK_MONOTONIC is virtual time and one
 * nanosecond is one guest instruction; idle time is skipped, not counted).
 * It is the counterpart of bench_cpu_victim() in tests/bench/bulkhead/bench.c.
 *
 * Two cgroup v2 groups under /sys/fs/cgroup (cgroup2 is mounted there when it
 * is not yet, and the cpu controller enabled in the root's subtree_control):
 *   hog     cpu.max "70000 100000" (at most 70 % of the CPU, CFS bandwidth
 *           control), holding one process with HOG_THREADS threads that spin;
 *   victim  no cpu.max ("max"), default cpu.weight: this process, whose only
 *           thread loops on clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)
 *           on a 1 ms grid with its timer slack set to 1 ns
 *           (prctl(PR_SET_TIMERSLACK): the 50 us default would dominate),
 *           SCHED_OTHER, and records how late each wake-up is (now minus
 *           the deadline) for WAKES wake-ups after WARMUP.
 * It runs once alone and once beside the hog (started HOG_SETTLE_MS before
 * the victim's warm-up), then, as a note only, beside the hog once more with
 * the victim at SCHED_FIFO.
 *
 * Output, one line each, "BENCH " and a JSON object (the format of
 * pingpong.c, unit "ns", with the maximum too; percentiles by nearest rank):
 *   cpu_victim_wake_alone, cpu_victim_wake_beside_hog
 *   cpu_share_victim, cpu_share_hog: each group's CPU time (cpu.stat
 *     usage_usec) over the beside-hog run's timed wake-ups against the
 *     elapsed CLOCK_MONOTONIC time, in percent, with the group's policy.
 * and "# " lines for the SCHED_FIFO note and what the groups were set to.
 *
 *   cpu_isolation [-n WAKES] [-w WARMUP] [-F]
 *
 * -F leaves the SCHED_FIFO note out. It needs root (it configures cgroups)
 * and changes the cgroup tree it finds: run it in a guest or a throw-away
 * machine. Exits 0 when everything was measured, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define VICTIM_GROUP CGROUP_ROOT "/victim"
#define HOG_GROUP CGROUP_ROOT "/hog"
#define HOG_CPU_MAX "70000 100000" /* quota and period, us: 70 % */
#define HOG_PERCENT 70
#define HOG_THREADS 2
#define HOG_SETTLE_MS 300 /* three CFS bandwidth periods before the warm-up */
#define PERIOD_NS 1000000ll /* the victim's grid: 1 ms */
#define FIFO_PRIORITY 50

enum { DEFAULT_WAKES = 500, DEFAULT_WARMUP = 20 };

static long g_wakes = DEFAULT_WAKES;
static long g_warmup = DEFAULT_WARMUP;

static void fail(const char *what)
{
    fprintf(stderr, "cpu_isolation: %s: %s\n", what, strerror(errno));
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static struct timespec to_timespec(int64_t ns)
{
    return (struct timespec){ .tv_sec = ns / 1000000000ll, .tv_nsec = ns % 1000000000ll };
}

static void sleep_ns(int64_t ns)
{
    struct timespec t = to_timespec(ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &t, &t) == EINTR)
        ;
}

/* ---- cgroup v2 files ------------------------------------------------------ */

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cpu_isolation: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok; /* cgroup files report a refused write at close */
    if (!ok)
        fprintf(stderr, "cpu_isolation: write '%s' to %s: %s\n", text, path, strerror(errno));
    return ok ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cpu_isolation: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    if (n && buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    return 0;
}

/* The group's CPU time so far (cpu.stat's usage_usec), in us; -1 on error. */
static int64_t usage_us(const char *group)
{
    char path[256], buf[1024];
    snprintf(path, sizeof path, "%s/cpu.stat", group);
    if (read_file(path, buf, sizeof buf) < 0)
        return -1;
    const char *p = strstr(buf, "usage_usec ");
    return p ? strtoll(p + strlen("usage_usec "), NULL, 10) : -1;
}

static int make_group(const char *group)
{
    if (mkdir(group, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "cpu_isolation: mkdir %s: %s\n", group, strerror(errno));
        return -1;
    }
    return 0;
}

/* Moves the calling process into `group` ("0" names the writer). */
static int join_group(const char *group)
{
    char path[256];
    snprintf(path, sizeof path, "%s/cgroup.procs", group);
    return write_file(path, "0");
}

/* Mounts cgroup2 if needed, enables the cpu controller for the root's
 * children and makes the two groups, the hog's with its cpu.max. */
static int setup_groups(void)
{
    struct stat st;
    if (stat(CGROUP_ROOT "/cgroup.controllers", &st) < 0 &&
        mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL) < 0) {
        fail("mount cgroup2 on " CGROUP_ROOT);
        return -1;
    }
    char buf[256];
    if (write_file(CGROUP_ROOT "/cgroup.subtree_control", "+cpu") < 0 ||
        make_group(VICTIM_GROUP) < 0 || make_group(HOG_GROUP) < 0 ||
        write_file(HOG_GROUP "/cpu.max", HOG_CPU_MAX) < 0 ||
        read_file(HOG_GROUP "/cpu.max", buf, sizeof buf) < 0)
        return -1;
    printf("# cpu_isolation: hog cpu.max %s", buf);
    if (read_file(VICTIM_GROUP "/cpu.max", buf, sizeof buf) < 0)
        return -1;
    printf(", victim cpu.max %s", buf);
    if (read_file(VICTIM_GROUP "/cpu.weight", buf, sizeof buf) < 0)
        return -1;
    printf(" cpu.weight %s\n", buf);
    fflush(stdout);
    return 0;
}

/* ---- the hog -------------------------------------------------------------- */

static volatile double hog_accumulator = 2.0;

static void *spin(void *unused)
{
    (void)unused;
    for (;;)
        hog_accumulator += 1.0;
    return NULL;
}

/* A process in the hog group spinning on HOG_THREADS threads; its pid, or -1. */
static pid_t start_hog(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fail("fork");
        return -1;
    }
    if (pid == 0) {
        if (join_group(HOG_GROUP) < 0)
            _exit(2);
        for (int i = 1; i < HOG_THREADS; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, spin, NULL) != 0)
                _exit(3);
        }
        spin(NULL);
    }
    return pid;
}

static int stop_hog(pid_t pid)
{
    int status;
    kill(pid, SIGKILL);
    if (waitpid(pid, &status, 0) < 0) {
        fail("waitpid");
        return -1;
    }
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        fprintf(stderr, "cpu_isolation: the hog stopped by itself (status 0x%x)\n", status);
        return -1;
    }
    return 0;
}

/* ---- the victim ----------------------------------------------------------- */

struct window {
    int64_t start_ns, end_ns, victim_us[2], hog_us[2];
};

/* Wakes on the 1 ms grid g_warmup + g_wakes times; samples[i] is how late
 * timed wake-up i came (ns). *w gets the time and each group's CPU use at
 * the first and the last timed wake-up. */
static int victim_run(int64_t *samples, struct window *w)
{
    *w = (struct window){ .victim_us = { -1, -1 }, .hog_us = { -1, -1 } };
    int64_t deadline = now_ns() + PERIOD_NS;
    for (long i = 0; i < g_warmup + g_wakes; i++, deadline += PERIOD_NS) {
        struct timespec t = to_timespec(deadline);
        int r;
        while ((r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL)) == EINTR)
            ;
        int64_t now = now_ns();
        if (r != 0) {
            errno = r;
            fail("clock_nanosleep");
            return -1;
        }
        if (i >= g_warmup)
            samples[i - g_warmup] = now > deadline ? now - deadline : 0;
        if (i == g_warmup - 1 || i == g_warmup + g_wakes - 1) {
            int k = i >= g_warmup;
            /* Read after the timed sample: the files' cost is not in it. */
            w->victim_us[k] = usage_us(VICTIM_GROUP);
            w->hog_us[k] = usage_us(HOG_GROUP);
            *(k ? &w->end_ns : &w->start_ns) = now;
        }
    }
    if (w->victim_us[0] < 0 || w->victim_us[1] < 0 || w->hog_us[0] < 0 || w->hog_us[1] < 0) {
        fprintf(stderr, "cpu_isolation: cpu.stat has no usage_usec\n");
        return -1;
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array, as pingpong.c reports. */
static int64_t percentile(const int64_t *sorted, long n, int pct)
{
    long rank = (n * pct + 99) / 100;
    return sorted[rank > 0 ? rank - 1 : 0];
}

static void report_lateness(const char *op, int64_t *samples)
{
    qsort(samples, (size_t)g_wakes, sizeof *samples, cmp_i64);
    printf("BENCH {\"arch\": \"x86_64\", \"system\": \"linux\", \"operation\": \"%s\", "
           "\"unit\": \"ns\", \"min\": %lld, \"median\": %lld, \"p99\": %lld, \"max\": %lld, "
           "\"iterations\": %ld}\n",
           op, (long long)samples[0], (long long)percentile(samples, g_wakes, 50),
           (long long)percentile(samples, g_wakes, 99), (long long)samples[g_wakes - 1], g_wakes);
    fflush(stdout);
}

static void report_share(const char *op, int64_t used_us, int64_t elapsed_ns, int policy_percent,
                         const char *policy)
{
    double percent = 100.0 * (double)used_us * 1000.0 / (double)elapsed_ns;
    char number[16] = "null"; /* JSON for "no such policy" */
    if (policy_percent >= 0)
        snprintf(number, sizeof number, "%d", policy_percent);
    printf("BENCH {\"arch\": \"x86_64\", \"system\": \"linux\", \"operation\": \"%s\", "
           "\"unit\": \"percent\", \"value\": %.2f, \"policy_percent\": %s, "
           "\"policy\": \"%s\", \"used_ns\": %lld, \"elapsed_ns\": %lld}\n",
           op, percent, number, policy, (long long)used_us * 1000, (long long)elapsed_ns);
    fflush(stdout);
}

/* One run of the victim, beside the hog or alone, at SCHED_FIFO or not. */
static int measure(int64_t *samples, int beside_hog, struct window *w)
{
    pid_t hog = -1;
    if (beside_hog) {
        hog = start_hog();
        if (hog < 0)
            return -1;
        sleep_ns(HOG_SETTLE_MS * 1000000ll);
    }
    int r = victim_run(samples, w);
    if (hog >= 0 && stop_hog(hog) < 0)
        r = -1;
    return r;
}

static int fifo_note(int64_t *samples)
{
    /* Reset on fork: the hog forked from this process must not spin at
     * SCHED_FIFO too (it would shut the victim out). */
    struct sched_param p = { .sched_priority = FIFO_PRIORITY };
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &p) < 0) {
        fail("note: sched_setscheduler(SCHED_FIFO), no SCHED_FIFO run");
        return 0;
    }
    struct window w;
    int r = measure(samples, 1, &w);
    p.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &p);
    if (r < 0)
        return -1;
    qsort(samples, (size_t)g_wakes, sizeof *samples, cmp_i64);
    printf("# cpu_isolation: note: victim at SCHED_FIFO %d beside the hog: lateness p50 %lld "
           "p99 %lld max %lld ns (%ld wake-ups)\n",
           FIFO_PRIORITY, (long long)percentile(samples, g_wakes, 50),
           (long long)percentile(samples, g_wakes, 99), (long long)samples[g_wakes - 1], g_wakes);
    fflush(stdout);
    return 0;
}

static long parse_count(const char *s, long min)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > 1000000) {
        fprintf(stderr, "cpu_isolation: bad count '%s'\n", s);
        exit(1);
    }
    return v;
}

int main(int argc, char **argv)
{
    int opt, fifo = 1;
    while ((opt = getopt(argc, argv, "n:w:Fh")) != -1) {
        switch (opt) {
        case 'n': g_wakes = parse_count(optarg, 1); break;
        case 'w': g_warmup = parse_count(optarg, 1); break;
        case 'F': fifo = 0; break;
        default:
            fprintf(stderr, "usage: cpu_isolation [-n WAKES] [-w WARMUP] [-F]\n");
            return 1;
        }
    }
    int64_t *samples = calloc((size_t)g_wakes, sizeof *samples);
    if (!samples) {
        fprintf(stderr, "cpu_isolation: out of memory\n");
        return 1;
    }
    if (setup_groups() < 0 || join_group(VICTIM_GROUP) < 0)
        return 1;
    if (prctl(PR_SET_TIMERSLACK, 1ul, 0ul, 0ul, 0ul) < 0 || prctl(PR_GET_TIMERSLACK) != 1) {
        fail("prctl(PR_SET_TIMERSLACK, 1)");
        return 1;
    }
    struct window w;
    if (measure(samples, 0, &w) < 0)
        return 1;
    report_lateness("cpu_victim_wake_alone", samples);
    if (measure(samples, 1, &w) < 0)
        return 1;
    report_lateness("cpu_victim_wake_beside_hog", samples);
    int64_t elapsed = w.end_ns - w.start_ns;
    report_share("cpu_share_victim", w.victim_us[1] - w.victim_us[0], elapsed, -1,
                 "no cpu.max, default cpu.weight: cgroup v2 has no reservation");
    report_share("cpu_share_hog", w.hog_us[1] - w.hog_us[0], elapsed, HOG_PERCENT,
                 "limit: cpu.max " HOG_CPU_MAX);
    if (fifo && fifo_note(samples) < 0)
        return 1;
    free(samples);
    return 0;
}
