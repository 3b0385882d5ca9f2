/*
 * blkio: the Linux side of the IO benchmarks (issue 14).
 *
 * Built as a static x86-64 Linux program and run as the only workload of the
 * bench's Linux guest (tools/bench/linux.py), on a virtio-blk disk. Two modes:
 *
 *   blkio noisy -d DEV -c CAPACITY_IOPS -r RESERVATION_IOPS -t SECONDS
 *     The noisy-neighbour scenario, run WITHOUT -icount: QEMU's throttle
 *     (throttling.iops-total=CAPACITY) runs on host real time, and so does
 *     the guest's CLOCK_MONOTONIC then. Two cgroup v2 groups under
 *     /sys/fs/cgroup: "victim" (this process: one queue-depth-1 stream of
 *     4 KiB random O_DIRECT reads) and "flooder" (FLOODERS processes, each
 *     one queue-depth-1 stream of the same reads). For each set-up in
 *     SETUPS the victim runs SECONDS alone, then SECONDS beside the flooder
 *     (started SETTLE_MS before, so the throttle's queue is full), after
 *     DRAIN_READS untimed reads that empty the throttle's burst bucket.
 *   blkio read4k -d DEV -n N -w WARMUP
 *     The guest instructions of one 4 KiB O_DIRECT pread, run UNDER
 *     -icount shift=0,sleep=off, where the TSC counts instructions plus the
 *     idle time QEMU skips: when the vCPU halts, sleep=off jumps the clock to
 *     the next guest timer, which then fires inside the window. So a read
 *     counts only when the kernel's idle and iowait time (/proc/timer_list,
 *     read before and after the window) did not grow across it: the device
 *     (the host's IO thread) answered before the vCPU ran out of work. Which
 *     comes first is a race in host time; the reads that lost it are
 *     reported apart (halted_reads, and their median less the idle time,
 *     which still holds a timer interrupt and the idle entry and exit).
 *
 * Output: "BENCH " and a JSON object per record (the format of pingpong.c),
 * "# " lines for what each set-up was, and "blkio: ..." lines for errors.
 * Needs root, changes the disk's scheduler and the cgroup tree it finds: run
 * it only in a guest. Exits 0 when every record was measured, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define FLOODERS 16
#define DRAIN_READS 100 /* the throttle's bucket holds a tenth of a second's ops: 50 at 500 */
#define SETTLE_MS 1000  /* the flooder runs this long before the victim is timed */
#define CGROUP_ROOT "/sys/fs/cgroup"
#define VICTIM_GROUP CGROUP_ROOT "/victim"
#define FLOODER_GROUP CGROUP_ROOT "/flooder"
/* Weights for the set-ups that have them: the most each lets the victim
 * have against the flooder (BFQ's io.bfq.weight range is 1..1000, io.cost's
 * io.weight 1..10000; 10:1 in both). */
#define VICTIM_WEIGHT 1000
#define FLOODER_WEIGHT 100
/* io.cost's latency target for reads and writes (us, at the 95th
 * percentile): a few device periods at the capacity (2 ms at 500 IOPS). */
#define IOCOST_LAT_US 10000

static const char *g_dev;
static int g_fd = -1;
static uint64_t g_blocks;
static char g_devnum[32]; /* "MAJ:MIN", how cgroup io files name the disk */
static char g_disk[32];   /* "vda": its /sys/block name */
static char g_default_sched[32];

struct shared {
    volatile int stop;
    volatile int window; /* the victim's timed window is open */
    uint64_t ops_in_window[FLOODERS]; /* each flooder's reads finished in the window */
};
static struct shared *g_shared;

static void fail(const char *what)
{
    fprintf(stderr, "blkio: %s: %s\n", what, strerror(errno));
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000l };
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* xorshift64*: each stream its own seed, so streams read different blocks. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* One 4 KiB O_DIRECT read of a random block; 0, or -1 (said why). */
static int read_random_block(void *buf, uint64_t *rng)
{
    off_t at = (off_t)(next_random(rng) % g_blocks) * BLOCK;
    ssize_t n = pread(g_fd, buf, BLOCK, at);
    if (n != BLOCK) {
        fprintf(stderr, "blkio: pread %s at %lld: %s\n", g_dev, (long long)at,
                n < 0 ? strerror(errno) : "short read");
        return -1;
    }
    return 0;
}

static void *block_buffer(void)
{
    void *buf = NULL;
    if (posix_memalign(&buf, BLOCK, BLOCK) != 0)
        return NULL;
    memset(buf, 0, BLOCK);
    return buf;
}

/* ---- files: sysfs and cgroup v2 ---------------------------------------- */

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "blkio: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok; /* sysfs and cgroup files refuse at close */
    if (!ok)
        fprintf(stderr, "blkio: write '%s' to %s: %s\n", text, path, strerror(errno));
    return ok ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "blkio: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    while (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return 0;
}

/* Writes "<the disk's MAJ:MIN> <setting>" to a cgroup io file. */
static int write_disk_setting(const char *path, const char *setting)
{
    char text[256];
    snprintf(text, sizeof text, "%s %s", g_devnum, setting);
    return write_file(path, text);
}

static int make_group(const char *group)
{
    if (mkdir(group, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "blkio: mkdir %s: %s\n", group, strerror(errno));
        return -1;
    }
    return 0;
}

static int join_group(const char *group)
{
    char path[256];
    snprintf(path, sizeof path, "%s/cgroup.procs", group);
    return write_file(path, "0");
}

static int set_scheduler(const char *name)
{
    char path[128], now[256];
    snprintf(path, sizeof path, "/sys/block/%s/queue/scheduler", g_disk);
    if (write_file(path, name) < 0 || read_file(path, now, sizeof now) < 0)
        return -1;
    printf("# blkio: %s scheduler: %s\n", g_disk, now);
    return 0;
}

/* The scheduler in use, the name between [ ] in the scheduler file. */
static int current_scheduler(char *out, size_t size)
{
    char path[128], text[256];
    snprintf(path, sizeof path, "/sys/block/%s/queue/scheduler", g_disk);
    if (read_file(path, text, sizeof text) < 0)
        return -1;
    char *open = strchr(text, '['), *close = open ? strchr(open, ']') : NULL;
    if (!close)
        return -1;
    *close = '\0';
    snprintf(out, size, "%s", open + 1);
    return 0;
}

/* ---- set-ups ------------------------------------------------------------ */

struct setup {
    const char *name;
    const char *policy; /* in words, for the records */
    int (*apply)(long reservation, long capacity);
    int (*undo)(void);
};

static int apply_nothing(long reservation, long capacity)
{
    (void)reservation;
    (void)capacity;
    return set_scheduler(g_default_sched);
}

static int undo_nothing(void)
{
    return 0;
}

/* io.max on the flooder: the capacity less the victim's reservation. */
static int apply_iomax(long reservation, long capacity)
{
    char setting[64];
    snprintf(setting, sizeof setting, "riops=%ld", capacity - reservation);
    return set_scheduler(g_default_sched) < 0 ? -1
           : write_disk_setting(FLOODER_GROUP "/io.max", setting);
}

static int undo_iomax(void)
{
    return write_disk_setting(FLOODER_GROUP "/io.max", "riops=max");
}

static int apply_bfq(long reservation, long capacity)
{
    (void)reservation;
    (void)capacity;
    char weight[32];
    if (set_scheduler("bfq") < 0)
        return -1;
    snprintf(weight, sizeof weight, "%d", VICTIM_WEIGHT);
    if (write_file(VICTIM_GROUP "/io.bfq.weight", weight) < 0)
        return -1;
    snprintf(weight, sizeof weight, "%d", FLOODER_WEIGHT);
    return write_file(FLOODER_GROUP "/io.bfq.weight", weight);
}

static int undo_bfq(void)
{
    return set_scheduler(g_default_sched);
}

/* io.cost needs a model of the device (here its real capacity, for every
 * kind of IO) and a QoS line that enables it; then io.weight shares. */
static int apply_iocost(long reservation, long capacity)
{
    (void)reservation;
    char text[256];
    if (set_scheduler(g_default_sched) < 0)
        return -1;
    snprintf(text, sizeof text,
             "%s ctrl=user model=linear rbps=%ld rseqiops=%ld rrandiops=%ld wbps=%ld "
             "wseqiops=%ld wrandiops=%ld", g_devnum, capacity * BLOCK, capacity, capacity,
             capacity * BLOCK, capacity, capacity);
    if (write_file(CGROUP_ROOT "/io.cost.model", text) < 0)
        return -1;
    snprintf(text, sizeof text, "%s enable=1 ctrl=user rpct=95.00 rlat=%d wpct=95.00 wlat=%d "
             "min=50.00 max=150.00", g_devnum, IOCOST_LAT_US, IOCOST_LAT_US);
    if (write_file(CGROUP_ROOT "/io.cost.qos", text) < 0)
        return -1;
    snprintf(text, sizeof text, "default %d", VICTIM_WEIGHT);
    if (write_file(VICTIM_GROUP "/io.weight", text) < 0)
        return -1;
    snprintf(text, sizeof text, "default %d", FLOODER_WEIGHT);
    return write_file(FLOODER_GROUP "/io.weight", text);
}

static int undo_iocost(void)
{
    return write_disk_setting(CGROUP_ROOT "/io.cost.qos", "enable=0");
}

static const struct setup SETUPS[] = {
    { "nocontrol", "none: the kernel's default scheduler, no cgroup IO control", apply_nothing,
      undo_nothing },
    { "iomax", "io.max riops on the flooder: the capacity less the victim's reservation",
      apply_iomax, undo_iomax },
    { "bfq", "BFQ, io.bfq.weight victim 1000, flooder 100", apply_bfq, undo_bfq },
    { "iocost", "io.cost (linear model at the capacity, rlat 10 ms at p95), io.weight victim "
      "1000, flooder 100", apply_iocost, undo_iocost },
};

/* ---- the tenants -------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values. */
static int64_t percentile(const int64_t *v, long n, int pct)
{
    long rank = (pct * n + 99) / 100;
    return v[rank < 1 ? 0 : rank - 1];
}

static void flooder(int index)
{
    void *buf = block_buffer();
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(index + 2);
    if (!buf || join_group(FLOODER_GROUP) < 0)
        _exit(1);
    while (!g_shared->stop) {
        if (read_random_block(buf, &rng) < 0)
            _exit(1);
        if (g_shared->window)
            __atomic_add_fetch(&g_shared->ops_in_window[index], 1, __ATOMIC_RELAXED);
    }
    _exit(0);
}

static int start_flooders(pid_t *pids)
{
    memset(g_shared, 0, sizeof *g_shared);
    fflush(stdout);
    for (int i = 0; i < FLOODERS; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            fail("fork");
            return -1;
        }
        if (pids[i] == 0)
            flooder(i);
    }
    return 0;
}

static int stop_flooders(const pid_t *pids)
{
    int ok = 1;
    g_shared->stop = 1;
    for (int i = 0; i < FLOODERS; i++) {
        int status;
        if (pids[i] <= 0 || waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "blkio: flooder %d failed\n", i);
            ok = 0;
        }
    }
    return ok ? 0 : -1;
}

struct run {
    long samples;
    int64_t elapsed_ns;
    int64_t *lat_ns; /* sorted */
    double iops;
};

/* The victim: DRAIN_READS untimed reads, then reads for `seconds`, each timed. */
static int victim(struct run *r, long seconds, uint64_t *rng, void *buf, long capacity)
{
    long room = (capacity + capacity / 2) * seconds + 16;
    for (int i = 0; i < DRAIN_READS; i++)
        if (read_random_block(buf, rng) < 0)
            return -1;
    r->lat_ns = calloc((size_t)room, sizeof *r->lat_ns);
    if (!r->lat_ns) {
        fail("calloc");
        return -1;
    }
    g_shared->window = 1;
    int64_t start = now_ns(), end = start + seconds * 1000000000ll, t = start;
    r->samples = 0;
    while (t < end && r->samples < room) {
        if (read_random_block(buf, rng) < 0)
            return -1;
        int64_t done = now_ns();
        r->lat_ns[r->samples++] = done - t;
        t = done;
    }
    g_shared->window = 0;
    r->elapsed_ns = t - start;
    r->iops = r->samples * 1e9 / (double)r->elapsed_ns;
    qsort(r->lat_ns, (size_t)r->samples, sizeof *r->lat_ns, cmp_i64);
    return 0;
}

static void print_victim(const char *operation, const struct setup *s, const struct run *r,
                         const struct run *alone, double flooder_iops, long capacity,
                         long reservation)
{
    printf("BENCH {\"arch\": \"x86_64\", \"system\": \"linux\", \"operation\": \"%s\", "
           "\"unit\": \"us\", \"setup\": \"%s\", \"policy\": \"%s\", \"iops\": %.1f, "
           "\"min\": %lld, \"median\": %lld, \"p99\": %lld, \"max\": %lld, \"iterations\": %ld, "
           "\"seconds\": %.3f, \"capacity_iops\": %ld, \"reservation_iops\": %ld",
           operation, s->name, s->policy, r->iops, (long long)(r->lat_ns[0] / 1000),
           (long long)(percentile(r->lat_ns, r->samples, 50) / 1000),
           (long long)(percentile(r->lat_ns, r->samples, 99) / 1000),
           (long long)(r->lat_ns[r->samples - 1] / 1000), r->samples, r->elapsed_ns / 1e9,
           capacity, reservation);
    if (alone) {
        double total = r->iops + flooder_iops;
        printf(", \"flooder_iops\": %.1f, \"victim_share_percent\": %.2f, "
               "\"flooder_share_percent\": %.2f, \"iops_alone\": %.1f, \"p50_alone\": %lld, "
               "\"p99_alone\": %lld",
               flooder_iops, total > 0 ? 100 * r->iops / total : 0,
               total > 0 ? 100 * flooder_iops / total : 0, alone->iops,
               (long long)(percentile(alone->lat_ns, alone->samples, 50) / 1000),
               (long long)(percentile(alone->lat_ns, alone->samples, 99) / 1000));
    }
    printf("}\n");
}

static void print_busy(const struct setup *s, double victim_iops, double flooder_iops,
                       long capacity)
{
    double total = victim_iops + flooder_iops;
    printf("BENCH {\"arch\": \"x86_64\", \"system\": \"linux\", \"operation\": "
           "\"io_device_busy_percent_%s\", \"unit\": \"percent\", \"setup\": \"%s\", "
           "\"value\": %.2f, \"total_iops\": %.1f, \"capacity_iops\": %ld, "
           "\"given_up_iops\": %.1f}\n",
           s->name, s->name, 100 * total / capacity, total, capacity, capacity - total);
}

/* One set-up: the victim alone, then beside the flooder. */
static int run_setup(const struct setup *s, long seconds, long capacity, long reservation,
                     void *buf, uint64_t *rng)
{
    struct run alone = { 0 }, beside = { 0 };
    pid_t pids[FLOODERS] = { 0 };
    printf("# blkio: set-up %s: %s\n", s->name, s->policy);
    fflush(stdout);
    if (s->apply(reservation, capacity) < 0 || victim(&alone, seconds, rng, buf, capacity) < 0)
        return -1;
    if (start_flooders(pids) < 0) {
        stop_flooders(pids);
        return -1;
    }
    sleep_ms(SETTLE_MS);
    int ok = victim(&beside, seconds, rng, buf, capacity) == 0;
    uint64_t flooder_ops = 0;
    for (int i = 0; i < FLOODERS; i++)
        flooder_ops += g_shared->ops_in_window[i];
    ok = stop_flooders(pids) == 0 && ok;
    if (!ok || s->undo() < 0)
        return -1;
    double flooder_iops = flooder_ops * 1e9 / (double)beside.elapsed_ns;
    if (s == &SETUPS[0])
        print_victim("io_victim_alone_linux", s, &alone, NULL, 0, capacity, reservation);
    char name[64];
    snprintf(name, sizeof name, "io_victim_beside_flooder_%s", s->name);
    print_victim(name, s, &beside, &alone, flooder_iops, capacity, reservation);
    print_busy(s, beside.iops, flooder_iops, capacity);
    fflush(stdout);
    free(alone.lat_ns);
    free(beside.lat_ns);
    return 0;
}

static int setup_groups(void)
{
    struct stat st;
    if (stat(CGROUP_ROOT "/cgroup.controllers", &st) < 0 &&
        mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL) < 0) {
        fail("mount cgroup2 on " CGROUP_ROOT);
        return -1;
    }
    char controllers[256];
    if (read_file(CGROUP_ROOT "/cgroup.controllers", controllers, sizeof controllers) < 0)
        return -1;
    printf("# blkio: cgroup v2 controllers: %s\n", controllers);
    return write_file(CGROUP_ROOT "/cgroup.subtree_control", "+io") < 0 ||
           make_group(VICTIM_GROUP) < 0 || make_group(FLOODER_GROUP) < 0 ||
           join_group(VICTIM_GROUP) < 0 ? -1 : 0;
}

static int noisy(long capacity, long reservation, long seconds)
{
    g_shared = mmap(NULL, sizeof *g_shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                    -1, 0);
    void *buf = block_buffer();
    uint64_t rng = 0x243f6a8885a308d3ull;
    if (g_shared == MAP_FAILED || !buf) {
        fail("memory");
        return 1;
    }
    if (current_scheduler(g_default_sched, sizeof g_default_sched) < 0 || setup_groups() < 0)
        return 1;
    printf("# blkio: %s (%s, %llu blocks of 4 KiB), default scheduler %s, capacity %ld IOPS, "
           "victim reservation %ld IOPS, %d flooders, %ld s per run\n", g_dev, g_devnum,
           (unsigned long long)g_blocks, g_default_sched, capacity, reservation, FLOODERS,
           seconds);
    int failed = 0;
    for (size_t i = 0; i < sizeof SETUPS / sizeof SETUPS[0]; i++)
        if (run_setup(&SETUPS[i], seconds, capacity, reservation, buf, &rng) < 0) {
            fprintf(stderr, "blkio: set-up %s failed\n", SETUPS[i].name);
            failed = 1;
        }
    return failed;
}

/* ---- read4k: instructions of one read, under -icount -------------------- */

/* The kernel's idle and iowait time so far (all CPUs, ns); -1 when unknown. */
static int64_t kernel_idle_ns(void)
{
    FILE *f = fopen("/proc/timer_list", "r");
    if (!f)
        return -1;
    char line[256];
    int64_t total = 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        long long ns;
        if (sscanf(line, " .idle_sleeptime : %lld nsecs", &ns) == 1 ||
            sscanf(line, " .iowait_sleeptime : %lld nsecs", &ns) == 1) {
            total += ns;
            found++;
        }
    }
    fclose(f);
    return found ? total : -1;
}

/* Reads whose window held no idle time are the read path itself; at least
 * this many of them make a record. */
#define READ4K_MIN_COUNTED 100

static int read4k(long iterations, long warmup)
{
    void *buf = block_buffer();
    uint64_t rng = 0x13198a2e03707344ull;
    int64_t *counted = calloc((size_t)iterations, sizeof *counted); /* no halt in the window */
    int64_t *halted = calloc((size_t)iterations, sizeof *halted);   /* window less idle time */
    long n_counted = 0, n_halted = 0;
    if (!buf || !counted || !halted) {
        fail("memory");
        return 1;
    }
    for (long i = -warmup; i < iterations; i++) {
        int64_t idle0 = kernel_idle_ns();
        uint64_t t0 = rdtsc();
        if (read_random_block(buf, &rng) < 0)
            return 1;
        uint64_t t1 = rdtsc();
        int64_t idle1 = kernel_idle_ns();
        if (idle0 < 0 || idle1 < 0) {
            fprintf(stderr, "blkio: /proc/timer_list has no idle_sleeptime\n");
            return 1;
        }
        if (i < 0)
            continue;
        if (idle1 == idle0)
            counted[n_counted++] = (int64_t)(t1 - t0);
        else
            halted[n_halted++] = (int64_t)(t1 - t0) - (idle1 - idle0);
    }
    if (n_counted < READ4K_MIN_COUNTED) {
        fprintf(stderr, "blkio: only %ld of %ld reads completed before the vCPU halted "
                        "(need %d)\n", n_counted, iterations, READ4K_MIN_COUNTED);
        return 1;
    }
    qsort(counted, (size_t)n_counted, sizeof *counted, cmp_i64);
    qsort(halted, (size_t)n_halted, sizeof *halted, cmp_i64);
    char sched[32] = "?";
    current_scheduler(sched, sizeof sched);
    printf("BENCH {\"arch\": \"x86_64\", \"system\": \"linux\", \"operation\": \"linux_read_4k\", "
           "\"unit\": \"instructions\", \"min\": %lld, \"median\": %lld, \"p99\": %lld, "
           "\"iterations\": %ld, \"reads\": %ld, \"halted_reads\": %ld, "
           "\"halted_median_less_idle\": %lld, \"scheduler\": \"%s\"}\n",
           (long long)counted[0], (long long)percentile(counted, n_counted, 50),
           (long long)percentile(counted, n_counted, 99), n_counted, iterations, n_halted,
           n_halted ? (long long)percentile(halted, n_halted, 50) : -1ll, sched);
    return 0;
}

/* ---- main --------------------------------------------------------------- */

static int open_device(void)
{
    struct stat st;
    g_fd = open(g_dev, O_RDONLY | O_DIRECT);
    if (g_fd < 0 || fstat(g_fd, &st) < 0) {
        fail(g_dev);
        return -1;
    }
    uint64_t bytes = 0;
    if (ioctl(g_fd, BLKGETSIZE64, &bytes) < 0 || bytes < BLOCK) {
        fail("BLKGETSIZE64");
        return -1;
    }
    g_blocks = bytes / BLOCK;
    snprintf(g_devnum, sizeof g_devnum, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
    const char *slash = strrchr(g_dev, '/');
    snprintf(g_disk, sizeof g_disk, "%s", slash ? slash + 1 : g_dev);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: blkio noisy -d DEV [-c CAPACITY_IOPS] [-r RESERVATION_IOPS] "
                    "[-t SECONDS]\n       blkio read4k -d DEV [-n N] [-w WARMUP]\n");
}

int main(int argc, char **argv)
{
    long capacity = 500, reservation = 100, seconds = 8, iterations = 1000, warmup = 100;
    if (argc < 2) {
        usage();
        return 1;
    }
    const char *mode = argv[1];
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "d:c:r:t:n:w:")) != -1) {
        switch (opt) {
        case 'd': g_dev = optarg; break;
        case 'c': capacity = atol(optarg); break;
        case 'r': reservation = atol(optarg); break;
        case 't': seconds = atol(optarg); break;
        case 'n': iterations = atol(optarg); break;
        case 'w': warmup = atol(optarg); break;
        default: usage(); return 1;
        }
    }
    if (!g_dev || capacity < 1 || reservation < 0 || reservation >= capacity || seconds < 1 ||
        iterations < 1 || warmup < 0) {
        usage();
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (open_device() < 0)
        return 1;
    if (strcmp(mode, "noisy") == 0)
        return noisy(capacity, reservation, seconds);
    if (strcmp(mode, "read4k") == 0)
        return read4k(iterations, warmup);
    usage();
    return 1;
}
