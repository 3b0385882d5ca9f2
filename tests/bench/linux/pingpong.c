/*
 * pingpong: the Linux side of Bulkhead's IPC benchmark (issue 4).
 *
 * Built as a static x86-64 Linux program and run as the only workload of a
 * Linux guest on QEMU TCG with `-icount shift=0,sleep=off`, where the guest TSC
 * advances by exactly one per retired guest instruction, counting everything
 * the guest executes: both processes and the kernel. Every round trip is timed
 * on its own with rdtsc, so the figures are instructions, not cycles.
 *
 * Operations, one after another:
 *   null_syscall           getppid() through glibc
 *   pipe_pingpong          two processes, two pipes, 1 byte each way
 *                          (write/read)
 *   futex_pingpong         two processes, one word in a MAP_SHARED page,
 *                          FUTEX_WAIT / FUTEX_WAKE each way
 *   unix_pingpong          socketpair(AF_UNIX, SOCK_STREAM), 1 byte each way
 *                          (send/recv)
 *   tcp_loopback_pingpong  TCP over 127.0.0.1 with TCP_NODELAY, 1 byte each way
 *                          (send/recv)
 *
 * Each operation runs a warm-up and then the timed iterations; warm-up round
 * trips are timed the same way but left out of the statistics. Output: one
 * line per operation, "BENCH " and a JSON object with min, median and p99
 * (nearest rank) of the timed iterations. Each delta includes the few
 * instructions of the rdtsc pair itself (3 under QEMU: the rdtsc that closes
 * the window plus the shift and or that build its 64-bit value).
 *
 *   pingpong [-n ITERATIONS] [-w WARMUP] [-t BLOCK] [OPERATION...]
 *
 * -t BLOCK also prints the median of every BLOCK round trips, warm-up
 * included, as "# " lines: it shows when the scheduler settles.
 * Exits 0 when every requested operation completed, 1 otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { DEFAULT_ITERATIONS = 10000, DEFAULT_WARMUP = 2000 };

static long g_iterations = DEFAULT_ITERATIONS;
static long g_warmup = DEFAULT_WARMUP;
static long g_block;

/* A compiler barrier on both sides, so no work moves into or out of the window. */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static void fail(const char *op, const char *what)
{
    fprintf(stderr, "pingpong: %s: %s: %s\n", op, what, strerror(errno));
}

/* One side of a 1-byte exchange: write/read on pipes, send/recv on sockets
 * (what socket programs use; it skips the VFS layer that write/read go through,
 * about 900 instructions per round trip on Linux 6.1). */
enum fdkind { PIPE, SOCKET };

static int send_byte(enum fdkind kind, int fd)
{
    char b = 'x';
    return (kind == SOCKET ? send(fd, &b, 1, 0) : write(fd, &b, 1)) == 1 ? 0 : -1;
}

static int recv_byte(enum fdkind kind, int fd)
{
    char b;
    return (kind == SOCKET ? recv(fd, &b, 1, 0) : read(fd, &b, 1)) == 1 ? 0 : -1;
}

/* The peer that echoes `rounds` bytes: receives one from `in`, sends one to `out`. */
static void echo_peer(enum fdkind kind, int in, int out, long rounds)
{
    for (long i = 0; i < rounds; i++) {
        if (recv_byte(kind, in) < 0 || send_byte(kind, out) < 0)
            _exit(2);
    }
    _exit(0);
}

static int wait_child(const char *op, pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) < 0) {
        fail(op, "waitpid");
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pingpong: %s: peer process failed (status 0x%x)\n", op, status);
        return -1;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array: the smallest value with at least
 * pct% of the samples at or below it. */
static uint64_t percentile(const uint64_t *sorted, long n, int pct)
{
    long rank = (n * pct + 99) / 100;
    return sorted[rank > 0 ? rank - 1 : 0];
}

static void print_blocks(const char *op, const uint64_t *samples, long n)
{
    if (g_block <= 0)
        return;
    uint64_t *tmp = malloc((size_t)g_block * sizeof *tmp);
    if (!tmp)
        return;
    for (long start = 0; start + g_block <= n; start += g_block) {
        memcpy(tmp, samples + start, (size_t)g_block * sizeof *tmp);
        qsort(tmp, (size_t)g_block, sizeof *tmp, cmp_u64);
        printf("# %s rounds %ld-%ld%s: min %llu median %llu\n", op, start, start + g_block - 1,
               start < g_warmup ? " (warm-up)" : "", (unsigned long long)tmp[0],
               (unsigned long long)percentile(tmp, g_block, 50));
    }
    free(tmp);
    fflush(stdout);
}

static uint64_t median_of(const uint64_t *samples, long n)
{
    uint64_t *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp)
        return 0;
    memcpy(tmp, samples, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_u64);
    uint64_t m = percentile(tmp, n, 50);
    free(tmp);
    return m;
}

/* Linux's cost per round trip has two levels: for the first ~1,000 round trips
 * after fork the woken process preempts the waker, then both sides block on
 * every round trip. The warm-up is there to measure only the second state;
 * warn when the first and last tenth of the timed iterations disagree, which
 * means the state changed inside the timed window. */
static void check_drift(const char *op, const uint64_t *timed, long n)
{
    long tenth = n / 10;
    if (tenth < 100)
        return;
    uint64_t first = median_of(timed, tenth), last = median_of(timed + n - tenth, tenth);
    uint64_t lo = first < last ? first : last, hi = first < last ? last : first;
    if (hi - lo > lo / 20)
        fprintf(stderr, "pingpong: warning: %s: median %llu in the first tenth of the timed "
                "iterations, %llu in the last: the scheduler state changed while timing; "
                "raise the warm-up\n", op, (unsigned long long)first, (unsigned long long)last);
}

/* samples holds warm-up + timed rounds; statistics cover the timed ones. */
static void report(const char *op, uint64_t *samples)
{
    print_blocks(op, samples, g_warmup + g_iterations);
    uint64_t *timed = samples + g_warmup;
    check_drift(op, timed, g_iterations);
    qsort(timed, (size_t)g_iterations, sizeof *timed, cmp_u64);
    printf("BENCH {\"arch\": \"x86_64\", \"system\": \"linux\", \"operation\": \"%s\", "
           "\"unit\": \"instructions\", \"min\": %llu, \"median\": %llu, \"p99\": %llu, "
           "\"iterations\": %ld}\n",
           op, (unsigned long long)timed[0], (unsigned long long)percentile(timed, g_iterations, 50),
           (unsigned long long)percentile(timed, g_iterations, 99), g_iterations);
    fflush(stdout);
}

static int bench_null_syscall(const char *op, uint64_t *s)
{
    long rounds = g_warmup + g_iterations;
    for (long i = 0; i < rounds; i++) {
        uint64_t t0 = rdtsc();
        pid_t p = getppid();
        uint64_t t1 = rdtsc();
        __asm__ volatile("" : : "r"(p));
        s[i] = t1 - t0;
    }
    report(op, s);
    return 0;
}

/* The timed side of a fd ping-pong: sends one byte to `out`, receives the answer. */
static int fd_rounds(const char *op, enum fdkind kind, int out, int in, uint64_t *s)
{
    long rounds = g_warmup + g_iterations;
    for (long i = 0; i < rounds; i++) {
        uint64_t t0 = rdtsc();
        if (send_byte(kind, out) < 0 || recv_byte(kind, in) < 0) {
            fail(op, "round trip");
            return -1;
        }
        uint64_t t1 = rdtsc();
        s[i] = t1 - t0;
    }
    return 0;
}

static int bench_pipe(const char *op, uint64_t *s)
{
    int to_child[2], to_parent[2];
    if (pipe(to_child) < 0 || pipe(to_parent) < 0) {
        fail(op, "pipe");
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fail(op, "fork");
        return -1;
    }
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        echo_peer(PIPE, to_child[0], to_parent[1], g_warmup + g_iterations);
    }
    close(to_child[0]);
    close(to_parent[1]);
    int rc = fd_rounds(op, PIPE, to_child[1], to_parent[0], s);
    close(to_child[1]);
    close(to_parent[0]);
    if (wait_child(op, pid) < 0 || rc < 0)
        return -1;
    report(op, s);
    return 0;
}

static int bench_unix(const char *op, uint64_t *s)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        fail(op, "socketpair");
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fail(op, "fork");
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        echo_peer(SOCKET, sv[1], sv[1], g_warmup + g_iterations);
    }
    close(sv[1]);
    int rc = fd_rounds(op, SOCKET, sv[0], sv[0], s);
    close(sv[0]);
    if (wait_child(op, pid) < 0 || rc < 0)
        return -1;
    report(op, s);
    return 0;
}

static int set_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int bench_tcp(const char *op, uint64_t *s)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int lsock = socket(AF_INET, SOCK_STREAM, 0);
    if (lsock < 0 || bind(lsock, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lsock, 1) < 0 ||
        getsockname(lsock, (struct sockaddr *)&addr, &len) < 0) {
        fail(op, "listen on 127.0.0.1 (is lo up?)");
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fail(op, "fork");
        return -1;
    }
    if (pid == 0) {
        int c = accept(lsock, NULL, NULL);
        if (c < 0 || set_nodelay(c) < 0)
            _exit(3);
        close(lsock);
        echo_peer(SOCKET, c, c, g_warmup + g_iterations);
    }
    close(lsock);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || set_nodelay(fd) < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fail(op, "connect to 127.0.0.1");
        kill(pid, SIGKILL);
        wait_child(op, pid);
        return -1;
    }
    int rc = fd_rounds(op, SOCKET, fd, fd, s);
    close(fd);
    if (wait_child(op, pid) < 0 || rc < 0)
        return -1;
    report(op, s);
    return 0;
}

static long futex_op(uint32_t *word, int op, uint32_t val)
{
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* Waits until *word == want; blocks in FUTEX_WAIT while it holds another value. */
static void futex_await(uint32_t *word, uint32_t want)
{
    uint32_t v;
    while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) != want)
        futex_op(word, FUTEX_WAIT, v); /* EAGAIN or EINTR: look again */
}

static void futex_post(uint32_t *word, uint32_t value)
{
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
    futex_op(word, FUTEX_WAKE, 1);
}

/* The word goes 0 -> 1 (ping, parent) -> 2 (pong, child) -> 1 -> 2 ...
 * Shared (not private) futex operations: the word is in a MAP_SHARED page
 * mapped by two processes. */
static int bench_futex(const char *op, uint64_t *s)
{
    uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (word == MAP_FAILED) {
        fail(op, "mmap");
        return -1;
    }
    *word = 0;
    long rounds = g_warmup + g_iterations;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fail(op, "fork");
        return -1;
    }
    if (pid == 0) {
        for (long i = 0; i < rounds; i++) {
            futex_await(word, 1);
            futex_post(word, 2);
        }
        _exit(0);
    }
    for (long i = 0; i < rounds; i++) {
        uint64_t t0 = rdtsc();
        futex_post(word, 1);
        futex_await(word, 2);
        uint64_t t1 = rdtsc();
        s[i] = t1 - t0;
    }
    int rc = wait_child(op, pid);
    munmap(word, 4096);
    if (rc < 0)
        return -1;
    report(op, s);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(const char *op, uint64_t *samples);
} ops[] = {
    {"null_syscall", bench_null_syscall},
    {"pipe_pingpong", bench_pipe},
    {"futex_pingpong", bench_futex},
    {"unix_pingpong", bench_unix},
    {"tcp_loopback_pingpong", bench_tcp},
};
enum { NOPS = sizeof ops / sizeof ops[0] };

static long parse_count(const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > 100000000) {
        fprintf(stderr, "pingpong: bad count '%s' (at least %ld)\n", s, min);
        exit(1);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: pingpong [-n ITERATIONS] [-w WARMUP] [-t BLOCK] [OPERATION...]\n"
                    "operations:");
    for (int i = 0; i < NOPS; i++)
        fprintf(stderr, " %s", ops[i].name);
    fprintf(stderr, "\n");
    exit(1);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "n:w:t:h")) != -1) {
        switch (opt) {
        case 'n': g_iterations = parse_count(optarg, 1); break;
        case 'w': g_warmup = parse_count(optarg, 0); break;
        case 't': g_block = parse_count(optarg, 1); break;
        default: usage();
        }
    }
    int selected[NOPS];
    for (int i = 0; i < NOPS; i++)
        selected[i] = optind == argc;
    for (int a = optind; a < argc; a++) {
        int found = 0;
        for (int i = 0; i < NOPS; i++) {
            if (strcmp(argv[a], ops[i].name) == 0)
                selected[i] = found = 1;
        }
        if (!found) {
            fprintf(stderr, "pingpong: unknown operation '%s'\n", argv[a]);
            usage();
        }
    }

    uint64_t *samples = malloc((size_t)(g_warmup + g_iterations) * sizeof *samples);
    if (!samples) {
        fprintf(stderr, "pingpong: out of memory\n");
        return 1;
    }
    /* Touch the buffer now so no page fault lands inside a timed window. */
    memset(samples, 0, (size_t)(g_warmup + g_iterations) * sizeof *samples);

    int failed = 0;
    for (int i = 0; i < NOPS; i++) {
        if (selected[i] && ops[i].run(ops[i].name, samples) < 0) {
            fprintf(stderr, "pingpong: %s failed\n", ops[i].name);
            failed = 1;
        }
    }
    free(samples);
    return failed;
}
