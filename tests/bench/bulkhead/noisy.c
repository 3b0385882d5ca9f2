/*
 * The IO noisy neighbour (issue 14's benchmark; tools/bench/run.py boots
 * it as the root task of bench-noisy-image with a disk that QEMU
 * throttles to C IOPS, WITHOUT -icount): the Bulkhead side of the
 * scenario tests/bench/linux/blkio.c runs in the Linux guest. The kernel
 * command line gives "bench.noisy=C,R,S,M,L" (parse_scenario()).
 *
 * The root task finds the disk, starts blk-server and io-server behind it,
 * and is the administrator and both tenants, each with its own session
 * and its own half of the M MiB disk:
 *
 *  - tenant 1, the victim (this thread): one queue-depth-1 stream of 4 KiB
 *    random reads; policy: a reservation of R IOPS, weight VICTIM_WEIGHT,
 *    no limit, a latency target of VICTIM_TARGET_US (about 1.2 times its
 *    p99 alone, issue 14's goal: io-server bounds the requests it keeps in
 *    the device by it, servers/io/iodepth.h);
 *  - tenant 2, the flooder (a thread below it): 4 KiB random reads with
 *    all of its session's 8 buffers in flight, always; policy: no
 *    reservation, weight FLOODER_WEIGHT, a latency target of
 *    FLOODER_TARGET_US, no limit, or a limit of L IOPS
 *    when L is not 0 (the "limit" set-up: its records' operations end in
 *    "_limit"). Linux's flooder runs 16 queue-depth-1 streams; a session
 *    holds at most 8 requests (one per buffer) and the driver 8, so 8
 *    already keep every slot of the device that the victim leaves full.
 *
 * The victim runs S seconds alone, then as long beside the flooder, each
 * time after DRAIN_READS untimed reads that empty the throttle's burst
 * bucket (beside the flooder, after SETTLE_NS of untimed reads too, so the
 * throttle's queue is full). Times are Debug: Time, the kernel's clock: the
 * TSC on x86-64 (which TCG takes from the host's without -icount) and the
 * time CSR on RISC-V (10 MHz, host time), both scaled to ns: host real
 * time, on which QEMU's throttle runs too.
 *
 * Prints the records tools/bench/run.py's io_tables() reads, in the fields
 * of blkio.c's: io_victim_alone, io_victim_beside_flooder,
 * io_device_busy_percent ("unit" "us" or "percent").
 */
#include <bulkhead/threads.h>
#include <protocols/blk_client.h>

#include "../../../servers/blk/blk.h"
#include "../../../servers/io/io.h"
#include "../../qemu/io_ring_client.h"
#include "samples.h"

#define W BK_WORD_BITS
#define DRIVER_PRIORITY 200
#define SERVER_PRIORITY 190
#define FLOODER_PRIORITY 100
#define VICTIM_TENANT 1
#define FLOODER_TENANT 2
#define VICTIM_VADDR 0x48000000ull
#define FLOODER_VADDR 0x49000000ull
/* The most each policy lets the victim have against the flooder, as
 * blkio.c's BFQ and io.cost set-ups (10 : 1). */
#define VICTIM_WEIGHT 1000
#define FLOODER_WEIGHT 100
#define NO_LIMIT 10000000u /* the highest limit IO: SetPolicy takes */
#define VICTIM_TARGET_US 3000
#define FLOODER_TARGET_US 10000
#define DRAIN_READS 100
#define SETTLE_NS 1000000000ull
#define MAX_SAMPLES 16384

static const struct bk_bootinfo *boot;
static struct tenant victim, flooder;
static unsigned capacity = 500, reservation = 100, seconds = 8, flooder_limit = NO_LIMIT;
static const char *suffix = ""; /* "_limit" with a flooder limit */
static uint64_t tenant_sectors; /* each tenant's half of the disk */

/* The flooder thread's state the victim reads: whether to count, the
 * count, its failed reads, whether to go on. */
static volatile bool window, stop;
static volatile uint64_t flooder_ops, flooder_failures;

static uint64_t mint(uint64_t ep, uint64_t badge)
{
    uint64_t s = bk_slot_alloc();
    sys_cnode_mint(BK_CAP_ROOT_CNODE, s, W, BK_CAP_ROOT_CNODE, ep, W,
                   BK_RIGHT_WRITE | BK_RIGHT_GRANT | BK_RIGHT_GRANT_REPLY, badge);
    return s;
}

/* The scenario from the kernel command line (the bootinfo keeps its first
 * 127 characters, so it is one short key): "bench.noisy=C,R,S,M,L", the
 * capacity C and the victim's reservation R in IOPS, S seconds per run,
 * an M MiB disk, and the flooder's limit L in IOPS (0: none). Returns the
 * number of values read. */
static unsigned parse_scenario(const char *cmdline, unsigned *v, unsigned most)
{
    const char *p = bench_option(cmdline, "bench.noisy=");
    unsigned got = 0;
    for (; p && got < most; p++) {
        if (*p < '0' || *p > '9')
            return got;
        v[got] = 0;
        for (; *p >= '0' && *p <= '9'; p++)
            v[got] = v[got] * 10 + (unsigned)(*p - '0');
        got++;
        if (*p != ',')
            return got;
    }
    return got;
}

/* Tenant `t`: its policy, its half of the disk, its session at `vaddr`. */
static const char *open_tenant(uint64_t admin, uint64_t t, uint32_t reserve, uint32_t limit,
                               uint32_t weight, uint64_t target_us, uint64_t vaddr,
                               struct tenant *out)
{
    struct io_error e = { 0 };
    uint64_t cap = mint(admin, t), n = bk_slot_alloc(), disk;
    uint32_t left, tenant, buffers, memory;
    if (io_set_policy(admin, t, reserve, limit, 0, weight, target_us, &left, &e) != 0 ||
        io_set_disk(admin, t, (t - 1) * tenant_sectors, tenant_sectors, &e) != 0 ||
        io_open(cap, BK_CAP_ROOT_VSPACE, vaddr, &tenant, &disk, &buffers, &memory, n, &e) != 0) {
        static char text[200];
        io_error_format(&e, text, sizeof(text));
        return text;
    }
    tenant_attach(out, cap, n, vaddr);
    return NULL;
}

/* The driver, io-server, and both tenants' policies, disks and sessions. */
static const char *setup(void)
{
    static struct blk_hw hw;
    static char err[BK_PROCESS_ERROR_LEN];
    uint64_t blk_ep, admin;
    bk_alloc_init(boot);
    devmem_init(boot);
    const char *e = blk_discover(boot, &hw);
    if (!e)
        e = blk_spawn(boot, &hw, DRIVER_PRIORITY, &blk_ep, err, sizeof(err));
    if (!e)
        e = io_spawn(boot, SERVER_PRIORITY, mint(blk_ep, 1), &admin, err, sizeof(err));
    if (!e)
        e = open_tenant(admin, VICTIM_TENANT, reservation, NO_LIMIT, VICTIM_WEIGHT,
                        VICTIM_TARGET_US, VICTIM_VADDR, &victim);
    if (!e)
        e = open_tenant(admin, FLOODER_TENANT, 0, flooder_limit, FLOODER_WEIGHT,
                        FLOODER_TARGET_US, FLOODER_VADDR, &flooder);
    return e;
}

/* A random page of a tenant's half of the disk (xorshift64). */
static uint64_t random_offset(uint64_t *rng)
{
    uint64_t x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    return (x % (tenant_sectors / 8)) * 4096;
}

/* Keeps all 8 of the flooder's buffers reading, a new read into each
 * buffer as its last one completes, until `stop`. */
static void *flood(void *arg)
{
    (void)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (uint16_t b = 0; b < IO_RING_BUFFERS; b++)
        tenant_push(&flooder, b, IO_OP_READ, random_offset(&rng), 4096, b, 0);
    tenant_kick(&flooder, NULL, NULL);
    while (!stop) {
        struct io_cqe c;
        tenant_wait(&flooder, &c, 1);
        do {
            if (c.status != IO_ST_OK)
                flooder_failures = flooder_failures + 1;
            if (window)
                flooder_ops = flooder_ops + 1;
            uint16_t b = (uint16_t)(c.tag % IO_RING_BUFFERS);
            tenant_push(&flooder, b, IO_OP_READ, random_offset(&rng), 4096, b, 0);
        } while (tenant_pop(&flooder, &c));
        tenant_kick(&flooder, NULL, NULL);
    }
    return NULL;
}

static bool victim_read(uint64_t *rng)
{
    struct io_cqe c;
    tenant_push(&victim, 0, IO_OP_READ, random_offset(rng), 4096, 0, 0);
    tenant_kick(&victim, NULL, NULL);
    tenant_wait(&victim, &c, 1);
    return c.status == IO_ST_OK;
}

struct run {
    uint64_t lat_ns[MAX_SAMPLES]; /* sorted after the run */
    unsigned n;
    uint64_t elapsed_ns;
    uint64_t milli_iops; /* IOPS x 1000 */
};

static struct run alone, beside;

/* Untimed reads for at least `settle_ns` and DRAIN_READS, then reads for
 * `seconds`, each timed from the end of the one before (just before its
 * push, as blkio.c) to its completion's pop. */
static bool victim_run(struct run *r, uint64_t settle_ns, uint64_t *rng)
{
    uint64_t settled = debug_time_ns() + settle_ns;
    for (unsigned i = 0; i < DRAIN_READS || debug_time_ns() < settled; i++)
        if (!victim_read(rng))
            return false;
    uint64_t start = debug_time_ns(), end = start + seconds * 1000000000ull, t = start;
    flooder_ops = 0;
    window = true;
    r->n = 0;
    while (t < end && r->n < MAX_SAMPLES) {
        if (!victim_read(rng))
            return false;
        uint64_t done = debug_time_ns();
        r->lat_ns[r->n++] = done - t;
        t = done;
    }
    window = false;
    r->elapsed_ns = t - start;
    r->milli_iops = r->n * 1000000000000ull / r->elapsed_ns;
    sort(r->lat_ns, r->n);
    return r->n > 0;
}

/* Nearest-rank percentile of the sorted samples, in us (as blkio.c). */
static uint64_t pct_us(const struct run *r, unsigned pct)
{
    unsigned rank = (pct * r->n + 99) / 100;
    return r->lat_ns[rank < 1 ? 0 : rank - 1] / 1000;
}

/* x / 1000 with one decimal, e.g. "412.3": JSON without floats. */
static const char *milli(uint64_t x, char *buf)
{
    uint64_t tenths = (x + 50) / 100;
    snprintf(buf, 32, "%llu.%llu", (unsigned long long)(tenths / 10),
             (unsigned long long)(tenths % 10));
    return buf;
}

/* 100 * part / whole in thousandths of a percent. */
static uint64_t percent_milli(uint64_t part, uint64_t whole)
{
    return whole ? part * 100000ull / whole : 0;
}

static char line[1024];
static size_t used;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
    va_end(ap);
    if (n > 0)
        used = used + (size_t)n < sizeof(line) ? used + (size_t)n : sizeof(line) - 1;
}

/* The victim's record; beside the flooder also the flooder's IOPS, both
 * shares of what the device did and the figures alone (blkio.c's
 * fields). One debug_printf, so no other thread's line cuts it. */
static void print_victim(const char *op, const struct run *r, const struct run *base,
                         uint64_t flooder_milli_iops)
{
    char a[32], b[32];
    used = 0;
    put("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": \"%s%s\", "
        "\"unit\": \"us\", ", boot->arch, op, base ? suffix : "");
    if (*suffix)
        put("\"setup\": \"%s\", ", suffix + 1);
    if (flooder_limit == NO_LIMIT)
        put("\"policy\": \"victim: reservation %u IOPS, weight %u, latency target %u us; "
            "flooder: weight %u, no limit, 8 reads in flight\", ", reservation, VICTIM_WEIGHT,
            VICTIM_TARGET_US, FLOODER_WEIGHT);
    else
        put("\"policy\": \"victim: reservation %u IOPS, weight %u, latency target %u us; "
            "flooder: weight %u, limit %u IOPS, 8 reads in flight\", ", reservation,
            VICTIM_WEIGHT, VICTIM_TARGET_US, FLOODER_WEIGHT, flooder_limit);
    put("\"iops\": %s, \"min\": %llu, "
        "\"median\": %llu, \"p99\": %llu, \"max\": %llu, \"iterations\": %u, \"seconds\": %s, "
        "\"capacity_iops\": %u, \"reservation_iops\": %u, \"clock\": \"Debug: Time\"",
        milli(r->milli_iops, a),
        (unsigned long long)pct_us(r, 0), (unsigned long long)pct_us(r, 50),
        (unsigned long long)pct_us(r, 99), (unsigned long long)(r->lat_ns[r->n - 1] / 1000),
        r->n, milli(r->elapsed_ns / 1000000, b), capacity, reservation);
    if (base) {
        char c[32], d[32];
        uint64_t total = r->milli_iops + flooder_milli_iops;
        put(", \"flooder_iops\": %s, \"victim_share_percent\": %s, "
            "\"flooder_share_percent\": %s, \"iops_alone\": %s, \"p50_alone\": %llu, "
            "\"p99_alone\": %llu",
            milli(flooder_milli_iops, a), milli(percent_milli(r->milli_iops, total), b),
            milli(percent_milli(flooder_milli_iops, total), c), milli(base->milli_iops, d),
            (unsigned long long)pct_us(base, 50), (unsigned long long)pct_us(base, 99));
    }
    debug_printf("%s}\n", line);
}

/* What the device did beside the flooder against its capacity. */
static void print_busy(uint64_t victim_milli_iops, uint64_t flooder_milli_iops)
{
    char a[32], b[32], c[32];
    uint64_t total = victim_milli_iops + flooder_milli_iops, cap = capacity * 1000ull;
    debug_printf("BENCH {\"arch\": \"%s\", \"system\": \"bulkhead\", \"operation\": "
                 "\"io_device_busy_percent%s\",%s%s%s \"unit\": \"percent\", \"value\": %s, "
                 "\"total_iops\": %s, \"capacity_iops\": %u, \"given_up_iops\": %s}\n",
                 boot->arch, suffix, *suffix ? " \"setup\": \"" : "", *suffix ? suffix + 1 : "",
                 *suffix ? "\"," : "", milli(percent_milli(total, cap), a), milli(total, b),
                 capacity, total < cap ? milli(cap - total, c) : "0.0");
}

int main(const struct bk_bootinfo *bi)
{
    boot = bi;
    unsigned v[5];
    if (parse_scenario(bi->cmdline, v, 5) != 5) {
        debug_printf("bench-noisy: FAILED: no bench.noisy=CAPACITY,RESERVATION,SECONDS,DISK_MIB,"
                     "FLOODER_LIMIT on the command line (or cut off at 127 characters)\n");
        return 1;
    }
    capacity = v[0];
    reservation = v[1];
    seconds = v[2];
    tenant_sectors = (uint64_t)v[3] << 10; /* half the disk's 2048 sectors a MiB */
    if (v[4]) {
        flooder_limit = v[4];
        suffix = "_limit";
    }
    if (capacity == 0 || seconds == 0 || seconds > 60 || v[3] < 2) {
        debug_printf("bench-noisy: FAILED: capacity %u IOPS, %u s, %u MiB disk: need a "
                     "capacity, 1-60 s and 2 MiB\n", capacity, seconds, v[3]);
        return 1;
    }
    const char *err = setup();
    if (err) {
        debug_printf("bench-noisy: FAILED: %s\n", err);
        return 1;
    }
    debug_printf("bench-noisy: capacity %u IOPS, victim reservation %u IOPS, %u s per run\n",
                 capacity, reservation, seconds);
    uint64_t rng = 0x243f6a8885a308d3ull;
    /* Two marks that run.py timestamps on the host: a clock calibrated
     * under host load (the TSC against the PIT at boot) shows apart. */
    debug_printf("bench-noisy: clock mark %llu ns\n", (unsigned long long)debug_time_ns());
    if (!victim_run(&alone, 0, &rng)) {
        debug_printf("bench-noisy: FAILED: a read of the victim alone did not complete OK\n");
        return 1;
    }
    bk_thread_handle_t *thread;
    if (bk_thread_create(&thread, flood, NULL, FLOODER_PRIORITY) != 0) {
        debug_printf("bench-noisy: FAILED: no flooder thread\n");
        return 1;
    }
    if (!victim_run(&beside, SETTLE_NS, &rng)) {
        debug_printf("bench-noisy: FAILED: a read of the victim beside the flooder did not "
                     "complete OK\n");
        return 1;
    }
    debug_printf("bench-noisy: clock mark %llu ns\n", (unsigned long long)debug_time_ns());
    if (flooder_failures) {
        debug_printf("bench-noisy: FAILED: %llu of the flooder's reads did not complete OK\n",
                     (unsigned long long)flooder_failures);
        return 1;
    }
    uint64_t flooding = flooder_ops * 1000000000000ull / beside.elapsed_ns;
    stop = true;
    if (!*suffix) /* the limit set-up's beside record carries its alone figures */
        print_victim("io_victim_alone", &alone, NULL, 0);
    print_victim("io_victim_beside_flooder", &beside, &alone, flooding);
    print_busy(beside.milli_iops, flooding);
    return 0;
}
