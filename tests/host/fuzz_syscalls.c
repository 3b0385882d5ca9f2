/*
 * libFuzzer on the syscall layer: the whole generic kernel on the host fake
 * (kworld.h), driven by syscalls the fuzzer's bytes choose, with the
 * kernel's invariant walk after every one.
 *
 * Each input starts from the same small system: the driver thread, four
 * threads of other priorities in two address spaces, endpoints (one badged
 * copy, one without the write right), notifications, a CNode, an untyped,
 * frames and page tables, ASIDControl, the world's ASID pool, a second
 * pool and a page of untyped a third could be made from. Each 16-byte record of the input is one syscall
 * made by whichever thread the kernel runs then: its number (the IPC
 * syscalls, Yield, thread exit, numbers no syscall has), the cap it names
 * (mostly one of the system's, sometimes any slot), a label (mostly a real
 * method's) and six words biased to boundaries. Timer ticks arrive now and
 * then, and for one record in eight an interrupt is pending after a few
 * steps of a long call (fake_pending), which then stops early and
 * restarts. After every syscall the kernel must have left to user mode or
 * idle, and, while a thread runs, the invariant walk
 * (kernel/debug/invariants.c) run as that thread must find nothing;
 * anything else aborts, which libFuzzer reports with the input and what
 * the kernel printed. An input ends early when no thread can run.
 *
 *   build/all/tests/host/fuzz_syscalls -max_total_time=3600 DIR tests/host/fuzz_corpus/syscalls
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kworld.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the kernel printed for this input (the invariant walk names each
 * violation), then the abort libFuzzer reports. */
static void fail(void)
{
    fprintf(stderr, "fuzz_syscalls: kernel console:\n%s\n", fake_console);
    abort();
}

#define RECORD 16
#define MAX_RECORDS 256

struct system {
    struct kworld w;
    unsigned caps[24]; /* the slots syscalls mostly name */
    unsigned ncaps;
};

static void add_cap(struct system *s, unsigned slot)
{
    s->caps[s->ncaps++] = slot;
}

static void build(struct system *s)
{
    static const uint8_t prios[4] = { 200, 100, 100, 50 };
    struct kworld *w = &s->w;
    memset(s, 0, sizeof(*s));
    kw_init(w);
    unsigned ep = kw_retype(w, CAP_ENDPOINT, 0, 2);
    unsigned n = kw_retype(w, CAP_NOTIFICATION, 0, 1);
    unsigned space = kw_space(w);
    add_cap(s, ep);
    add_cap(s, ep + 1);
    add_cap(s, kw_mint(w, ep, CAP_RIGHTS_ALL, 0x11));
    add_cap(s, kw_mint(w, ep + 1, CAP_RIGHT_WRITE, 0));
    add_cap(s, n);
    add_cap(s, kw_mint(w, n, CAP_RIGHT_WRITE, 0x4));
    add_cap(s, kw_retype(w, CAP_CNODE, 4, 1));
    add_cap(s, kw_retype(w, CAP_UNTYPED, 14, 1));
    add_cap(s, kw_retype(w, CAP_FRAME, BK_PAGE_BITS, 1));
    add_cap(s, kw_retype(w, CAP_PAGE_TABLE, 0, 1));
    add_cap(s, space);
    add_cap(s, KW_CNODE);
    for (unsigned i = 0; i < 4; i++)
        add_cap(s, kw_thread(w, i % 2 ? space : KW_ROOT_VSPACE, prios[i]));
    add_cap(s, KW_ASID_CONTROL);
    add_cap(s, KW_ASID_POOL);
    add_cap(s, kw_asid_pool(w));
    add_cap(s, kw_retype(w, CAP_UNTYPED, BK_ASID_POOL_BITS, 1)); /* for another */
    add_cap(s, kw_retype(w, CAP_VSPACE, 0, 1)); /* no ASID yet */
}

static uint64_t word_from(const uint8_t *b)
{
    uint16_t v = (uint16_t)(b[0] | b[1] << 8);
    switch (v >> 13) { /* the top three bits choose the shape */
    case 0: return v & 0xff;                       /* small */
    case 1: return 1ull << (v & 63);              /* a power of two */
    case 2: return (1ull << (v & 63)) - 1;        /* a mask */
    case 3: return ~0ull - (v & 0xff);            /* near the top */
    case 4: return KW_IPC_BUFFER + (v & 0xfff);   /* in or near the IPC buffer */
    default: return (uint64_t)v * 0x9e3779b97f4a7c15ull; /* anything */
    }
}

/* The syscall number a record's first byte names: mostly the IPC ones. */
static unsigned long syscall_nr(uint8_t b)
{
    static const unsigned long nrs[] = {
        BK_SYS_CALL, BK_SYS_CALL, BK_SYS_CALL, BK_SYS_SEND, BK_SYS_NBSEND, BK_SYS_RECV,
        BK_SYS_NBRECV, BK_SYS_REPLY, BK_SYS_REPLY_RECV, BK_SYS_YIELD, BK_SYS_THREAD_EXIT,
        BK_SYS_COUNT, 0,
    };
    return nrs[b % (sizeof(nrs) / sizeof(nrs[0]))];
}

/* Makes the record's syscall as the running thread; returns how the
 * kernel left (to user mode, or idle when no thread can run). */
static enum fake_exit one_syscall(struct system *s, const uint8_t *r)
{
    struct thread *t = current_thread;
    unsigned long nr = syscall_nr(r[0]);
    uint64_t cptr = r[1] < 224 ? s->caps[r[1] % s->ncaps] : (uint64_t)r[1] * 5;
    uint64_t label = (r[2] | r[3] << 8) % 80;
    uint64_t info = BK_MSGINFO(r[4] & 7, (r[4] >> 3) & 3, 0, label);
    fake_pending = (struct fake_pending){ .every = r[14] < 32 ? 1 + r[14] % 8 : 0 };
    enum fake_exit how = kw_sys(t, nr, cptr, info, word_from(r + 5), word_from(r + 7),
                                word_from(r + 9), word_from(r + 11));
    if (how != FAKE_EXIT_USER && how != FAKE_EXIT_FASTPATH && how != FAKE_EXIT_IDLE) {
        /* The kernel left some other way: a shutdown, or no exit. */
        fprintf(stderr, "fuzz_syscalls: syscall %lu by '%s' left the kernel by exit %d\n", nr,
                t->name, (int)how);
        fail();
    }
    if (how != FAKE_EXIT_IDLE && r[13] < 16)
        how = fake_tick();
    return how;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct system s;
    build(&s);
    fake_console_reset();
    for (size_t i = 0; i + RECORD <= size && i / RECORD < MAX_RECORDS; i += RECORD) {
        enum fake_exit how = one_syscall(&s, data + i);
        if (how == FAKE_EXIT_IDLE)
            break; /* everyone blocked or gone; the walk runs as a running thread */
        uint64_t violations = kw_invariants(&s.w); /* as the running thread */
        if (violations || check_failures_in_test) {
            fprintf(stderr, "fuzz_syscalls: record %zu: %llu invariant violations, %d failed "
                    "checks\n", i / RECORD, (unsigned long long)violations,
                    check_failures_in_test);
            fail();
        }
    }
    kw_free(&s.w);
    if (check_failures_in_test) {
        fprintf(stderr, "fuzz_syscalls: %d checks failed tearing the system down\n",
                check_failures_in_test);
        fail();
    }
    return 0;
}
