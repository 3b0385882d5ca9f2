/*
 * The fuzzer's operations: one random syscall each, some shaped like real
 * use (CNode methods on live slots, retypes into the window, thread
 * starts) so they get past the first checks, the rest random labels and
 * words. Every message goes through send_message() or receive(), which
 * apply the guard and keep the root task from blocking for good.
 */
#include "fuzz.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS

/* ---- Messages -------------------------------------------------------------- */

void fz_trace(const struct fuzz *f, uint64_t nr, uint64_t dest, uint64_t info,
              const uint64_t *words, unsigned count)
{
    if (f->ops + 1 < f->trace_from)
        return;
    debug_printf("fuzz: op %llu: syscall %llu dest %llu label %llu length %llu caps %llu:",
                 (unsigned long long)(f->ops + 1), (unsigned long long)nr,
                 (unsigned long long)dest, (unsigned long long)BK_MSGINFO_LABEL(info),
                 (unsigned long long)BK_MSGINFO_LENGTH(info),
                 (unsigned long long)BK_MSGINFO_EXTRA_CAPS(info));
    for (unsigned i = 0; i < count; i++)
        debug_printf(" %llx", (unsigned long long)words[i]);
    debug_printf("\n");
}

static uint64_t random_length(struct fuzz *f)
{
    return fz_chance(f, 70) ? fz_below(f, 9) : fz_below(f, 128);
}

/* Sends `label` and `args` to `dest` with syscall `nr` (call, send or
 * nbsend). An endpoint other than the echo endpoint only gets NBSend; a
 * kernel object only what the guard allows. */
static int send_message(struct fuzz *f, uint64_t nr, uint64_t dest, uint64_t label,
                        uint64_t *args, uint64_t length)
{
    unsigned type = fz_type(dest);
    if (type == BK_OBJ_ENDPOINT && dest != f->echo)
        nr = BK_SYS_NBSEND;
    else if (type != BK_OBJ_ENDPOINT && type != BK_OBJ_NOTIFICATION &&
             !fz_invocation_ok(f, dest, type, label, args)) {
        f->skipped++;
        return 0;
    }
    fz_sanitize_caps(f);
    f->invocations++;
    f->live_targets += type != 0;
    unsigned caps = fz_chance(f, 10) ? (unsigned)fz_below(f, 4) : 0;
    struct bk_msg m = { .info = BK_MSGINFO(length & BK_MSGINFO_LENGTH_MASK, caps, 0,
                                           label & BK_MSGINFO_LABEL_MASK) };
    for (unsigned i = 0; i < FUZZ_MAX_ARGS; i++) {
        if (i < BK_MSG_CPU_WORDS)
            m.mr[i] = args[i];
        else
            bk_ipc_buffer->mr[i] = args[i];
    }
    fz_trace(f, nr, dest, m.info, args, FUZZ_MAX_ARGS);
    bk_ipc_syscall(nr, dest, &m);
    if (f->ops + 1 >= f->trace_from)
        debug_printf("fuzz: op %llu: reply label %llu\n", (unsigned long long)(f->ops + 1),
                     (unsigned long long)BK_MSGINFO_LABEL(m.info));
    fz_note(f, dest);
    if (nr == BK_SYS_CALL && type != BK_OBJ_ENDPOINT && type != BK_OBJ_NOTIFICATION &&
        label < BK_LABEL_COUNT) {
        if (BK_MSGINFO_LABEL(m.info) == 0)
            f->method_ok[label]++;
        else
            f->method_failed[label]++;
    }
    return 1;
}

/* Mostly Call (the reply shows the error), sometimes Send or NBSend. */
static uint64_t invoke_nr(struct fuzz *f)
{
    unsigned r = (unsigned)fz_below(f, 20);
    return r < 17 ? BK_SYS_CALL : r < 19 ? BK_SYS_SEND : BK_SYS_NBSEND;
}

static int invoke(struct fuzz *f, uint64_t service, uint64_t label, uint64_t *args)
{
    uint64_t length = fz_chance(f, 90) ? fz_method_args(label) : random_length(f);
    return send_message(f, invoke_nr(f), service, label, args, length);
}

/* Receive-side syscalls: the blocking forms become NBRecv on endpoints
 * and notifications (Reply first, for ReplyRecv). */
static int receive(struct fuzz *f, uint64_t nr, uint64_t src)
{
    unsigned type = fz_type(src);
    struct bk_msg m = { .info = BK_MSGINFO(random_length(f), 0, 0, fz_word(f) & 0xffff) };
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        m.mr[i] = fz_word(f);
    if (type == BK_OBJ_ENDPOINT || type == BK_OBJ_NOTIFICATION) {
        if (nr == BK_SYS_REPLY_RECV) {
            fz_trace(f, BK_SYS_REPLY, 0, m.info, m.mr, BK_MSG_CPU_WORDS);
            bk_ipc_syscall(BK_SYS_REPLY, 0, &m);
        }
        if (nr == BK_SYS_RECV || nr == BK_SYS_REPLY_RECV)
            nr = BK_SYS_NBRECV;
    }
    fz_trace(f, nr, src, m.info, m.mr, BK_MSG_CPU_WORDS);
    bk_ipc_syscall(nr, src, &m);
    return 1;
}

/* ---- Shaped operations ----------------------------------------------------- */

/* A CNode and the (index, depth) of one of its slots. */
static void pick_slot(struct fuzz *f, uint64_t *cnode, uint64_t *index, uint64_t *depth)
{
    if (fz_chance(f, 55)) {
        *cnode = ROOT;
        *index = fz_chance(f, 70) ? fz_window_slot(f) : fz_cptr(f);
        *depth = fz_chance(f, 85) ? W : fz_word(f) & 0x7f;
        return;
    }
    *cnode = fz_cptr_of(f, BK_OBJ_CNODE);
    unsigned radix = 0;
    if (*cnode >= f->window && *cnode < f->window + FUZZ_WINDOW)
        radix = f->radix[*cnode - f->window];
    if (!radix)
        radix = 1 + (unsigned)fz_below(f, 8);
    *index = fz_below(f, 1ull << radix);
    *depth = fz_chance(f, 75) ? radix : fz_word(f) & 0x7f;
}

static uint64_t badge_or_guard(struct fuzz *f)
{
    unsigned r = (unsigned)fz_below(f, 10);
    if (r < 4)
        return 1 + fz_below(f, 1000);
    if (r < 7)
        return BK_CNODE_GUARD(fz_below(f, 64), fz_below(f, 8)); /* some too wide to fit */
    return fz_word(f);
}

static int cnode_op(struct fuzz *f)
{
    uint64_t label = BK_LABEL_CNODE_REVOKE + fz_below(f, 6);
    uint64_t cnode, a[FUZZ_MAX_ARGS] = { 0 };
    pick_slot(f, &cnode, &a[0], &a[1]);
    pick_slot(f, &a[2], &a[3], &a[4]);
    if (a[2] == ROOT && fz_chance(f, 60))
        a[3] = fz_cptr(f); /* a source that holds something, more often */
    uint64_t rights = fz_chance(f, 70) ? BK_RIGHTS_ALL : fz_below(f, 16);
    a[5] = label == BK_LABEL_CNODE_MUTATE ? badge_or_guard(f) : rights;
    a[6] = badge_or_guard(f);
    int done = invoke(f, cnode, label, a);
    fz_note(f, a[0]);
    fz_note(f, a[3]);
    return done;
}

static uint64_t retype_service(struct fuzz *f)
{
    unsigned r = (unsigned)fz_below(f, 20);
    if (r < 9)
        return f->untyped;
    if (r < 12 && f->bi->untyped_count)
        return f->bi->untyped[fz_below(f, f->bi->untyped_count)].slot;
    return r < 17 ? fz_cptr_of(f, BK_OBJ_UNTYPED) : fz_cptr(f);
}

static uint64_t retype_size(struct fuzz *f, uint64_t type)
{
    if (fz_chance(f, 15))
        return fz_word(f);
    switch (type) {
    case BK_OBJ_UNTYPED:
        return 12 + fz_below(f, 10);
    case BK_OBJ_CNODE:
        return 1 + fz_below(f, 9);
    case BK_OBJ_FRAME:
        return fz_chance(f, 90) ? 12 : 21;
    default:
        return fz_below(f, 3);
    }
}

static int retype_op(struct fuzz *f)
{
    static const uint64_t types[] = { BK_OBJ_UNTYPED, BK_OBJ_CNODE, BK_OBJ_TCB, BK_OBJ_ENDPOINT,
                                      BK_OBJ_NOTIFICATION, BK_OBJ_FRAME, BK_OBJ_PAGE_TABLE,
                                      BK_OBJ_VSPACE, BK_OBJ_SCHED_CONTEXT };
    uint64_t a[FUZZ_MAX_ARGS] = { 0 };
    a[0] = fz_chance(f, 85) ? types[fz_below(f, sizeof(types) / sizeof(types[0]))] : fz_word(f);
    a[1] = retype_size(f, a[0]);
    if (fz_chance(f, 80)) {
        a[2] = ROOT; /* depth 0: the root CNode itself, whose slot n is offset n */
        a[5] = fz_chance(f, 90) ? fz_window_slot(f) : fz_word(f);
    } else {
        pick_slot(f, &a[2], &a[3], &a[4]);
        a[4] = fz_chance(f, 60) ? 0 : a[4];
        a[5] = fz_below(f, 16);
    }
    a[6] = fz_chance(f, 85) ? 1 + fz_below(f, 4) : fz_word(f);
    int done = invoke(f, retype_service(f), BK_LABEL_UNTYPED_RETYPE, a);
    /* Remember the radix of new CNodes, so slot arguments can name their slots. */
    for (uint64_t i = 0; a[2] == ROOT && a[4] == 0 && i < a[6] && i < 4; i++) {
        uint64_t slot = a[5] + i;
        fz_note(f, slot);
        if (a[0] == BK_OBJ_CNODE && slot >= f->window && slot < f->window + FUZZ_WINDOW &&
            f->type[slot - f->window] == BK_OBJ_CNODE)
            f->radix[slot - f->window] = (uint8_t)a[1];
    }
    return done;
}

static uint64_t priority(struct fuzz *f)
{
    return fz_chance(f, 80) ? fz_below(f, 256) : fz_word(f);
}

/* Arguments for a TCB method `label`. */
static void tcb_args(struct fuzz *f, uint64_t label, uint64_t *a)
{
    switch (label) {
    case BK_LABEL_TCB_CONFIGURE:
        a[0] = fz_chance(f, 50) ? ROOT : fz_chance(f, 60) ? fz_cptr_of(f, BK_OBJ_CNODE) : fz_cptr(f);
        a[1] = fz_chance(f, 80) ? 0 : badge_or_guard(f);
        a[2] = fz_chance(f, 70) ? BK_CAP_ROOT_VSPACE : fz_cptr_of(f, BK_OBJ_VSPACE);
        a[3] = fz_ipc_buffer(f);
        break;
    case BK_LABEL_TCB_WRITE_REGISTERS:
        a[0] = fz_chance(f, 85);
        fz_thread_regs(f, &a[1], &a[2], &a[3]);
        break;
    case BK_LABEL_TCB_SET_PRIORITY:
    case BK_LABEL_TCB_SET_MC_PRIORITY:
        a[0] = fz_chance(f, 80) ? BK_CAP_ROOT_TCB : fz_cptr_of(f, BK_OBJ_TCB);
        a[1] = priority(f);
        break;
    case BK_LABEL_TCB_SET_FAULT_ENDPOINT:
        a[0] = fz_chance(f, 20) ? 0 : fz_chance(f, 80) ? fz_cptr_of(f, BK_OBJ_ENDPOINT) : fz_cptr(f);
        break;
    case BK_LABEL_TCB_BIND_NOTIFICATION:
        a[0] = fz_chance(f, 80) ? fz_cptr_of(f, BK_OBJ_NOTIFICATION) : fz_cptr(f);
        break;
    default:
        break;
    }
}

/* Configure, prioritise and start a thread, as a program would. */
static int start_thread(struct fuzz *f, uint64_t tcb)
{
    static const uint64_t steps[] = { BK_LABEL_TCB_CONFIGURE, BK_LABEL_TCB_SET_PRIORITY,
                                      BK_LABEL_TCB_WRITE_REGISTERS };
    int done = 0;
    for (unsigned i = 0; i < 3; i++) {
        uint64_t a[FUZZ_MAX_ARGS] = { 0 };
        tcb_args(f, steps[i], a);
        done |= send_message(f, BK_SYS_CALL, tcb, steps[i], a, fz_method_args(steps[i]));
    }
    return done;
}

static int tcb_op(struct fuzz *f)
{
    uint64_t tcb = fz_chance(f, 90) ? fz_cptr_of(f, BK_OBJ_TCB) : fz_cptr(f);
    if (fz_chance(f, 30))
        return start_thread(f, tcb);
    uint64_t label = fz_label_for(f, BK_OBJ_TCB);
    uint64_t a[FUZZ_MAX_ARGS] = { 0 };
    tcb_args(f, label, a);
    return invoke(f, tcb, label, a);
}

/* Arguments of frame and page-table map (vspace, vaddr, rights, attributes):
 * mostly a few pages of two 1 GiB regions, where tables made for one map
 * serve the next, in a VSpace the fuzzer made or its own (where every page
 * it uses is mapped already, so a map there only fills holes). */
static void map_args(struct fuzz *f, uint64_t *a)
{
    a[0] = fz_chance(f, 70) ? fz_cptr_of(f, BK_OBJ_VSPACE) : BK_CAP_ROOT_VSPACE;
    a[1] = fz_chance(f, 80) ? (1 + fz_below(f, 2)) << 30 | fz_below(f, 8) << 12 : fz_word(f);
    a[2] = fz_chance(f, 80) ? fz_below(f, 8) : fz_word(f);
    a[3] = fz_chance(f, 80) ? fz_below(f, 2) : fz_word(f);
}

/* MakePool's arguments: mostly a page of untyped made for it now (a pool
 * takes a whole untyped of that size with nothing made from it), and a
 * window slot. */
static void pool_args(struct fuzz *f, uint64_t *a)
{
    a[0] = fz_cptr_of(f, BK_OBJ_UNTYPED);
    a[1] = ROOT;
    a[2] = fz_window_slot(f);
    a[3] = W;
    for (unsigned i = 0; i < 4 && fz_type(a[2]) != 0; i++)
        a[2] = fz_window_slot(f); /* mostly an empty one */
    uint64_t page = fz_window_slot(f);
    if (fz_chance(f, 60) && fz_type(page) == 0 &&
        sys_untyped_retype(f->untyped, BK_OBJ_UNTYPED, BK_ASID_POOL_BITS, ROOT, 0, 0, page, 1) ==
            0) {
        fz_note(f, page);
        a[0] = page;
    }
}

/* A method of the type a window slot holds, with random words. */
static int typed_op(struct fuzz *f)
{
    uint64_t service = fz_cptr(f);
    unsigned type = fz_type(service);
    uint64_t label = type ? fz_label_for(f, type) : fz_any_label(f);
    uint64_t a[FUZZ_MAX_ARGS];
    for (unsigned i = 0; i < FUZZ_MAX_ARGS; i++)
        a[i] = fz_chance(f, 40) ? fz_cptr(f) : fz_word(f);
    if (type == BK_OBJ_FRAME || type == BK_OBJ_PAGE_TABLE)
        map_args(f, a);
    if (type == BK_OBJ_ASID_POOL && fz_chance(f, 80))
        a[0] = fz_cptr_of(f, BK_OBJ_VSPACE); /* Assign: a VSpace the fuzzer made */
    if (type == BK_OBJ_ASID_CONTROL && fz_chance(f, 80)) /* MakePool into the window */
        pool_args(f, a);
    return invoke(f, service, label, a);
}

/* ASID pools: a MakePool, or an Assign of a VSpace the fuzzer made (from
 * one of its pools, or the boot pool, whose VSpaces the resets delete). */
static int asid_op(struct fuzz *f)
{
    uint64_t a[FUZZ_MAX_ARGS] = { 0 };
    if (fz_chance(f, 40)) {
        pool_args(f, a);
        int done = invoke(f, BK_CAP_ASID_CONTROL, BK_LABEL_ASID_CONTROL_MAKE_POOL, a);
        fz_note(f, a[2]);
        return done;
    }
    uint64_t pool = fz_chance(f, 70) ? fz_cptr_of(f, BK_OBJ_ASID_POOL) : BK_CAP_ROOT_ASID_POOL;
    a[0] = fz_chance(f, 90) ? fz_cptr_of(f, BK_OBJ_VSPACE) : fz_cptr(f);
    return invoke(f, pool, BK_LABEL_ASID_POOL_ASSIGN, a);
}

static int random_invocation(struct fuzz *f)
{
    uint64_t label = fz_chance(f, 70) ? fz_any_label(f) : fz_word(f);
    uint64_t a[FUZZ_MAX_ARGS];
    for (unsigned i = 0; i < FUZZ_MAX_ARGS; i++)
        a[i] = fz_word(f);
    uint64_t length = fz_chance(f, 60) ? fz_method_args(label) : random_length(f);
    return send_message(f, invoke_nr(f), fz_cptr(f), label, a, length);
}

/* ---- IPC, plain syscalls, buffers ---------------------------------------- */

static uint64_t ipc_target(struct fuzz *f)
{
    unsigned r = (unsigned)fz_below(f, 10);
    return r < 3 ? fz_cptr_of(f, BK_OBJ_ENDPOINT)
                 : r < 5 ? fz_cptr_of(f, BK_OBJ_NOTIFICATION) : r < 7 ? f->echo : fz_cptr(f);
}

static int ipc_op(struct fuzz *f)
{
    static const uint64_t nrs[] = { BK_SYS_CALL, BK_SYS_SEND, BK_SYS_NBSEND, BK_SYS_RECV,
                                    BK_SYS_NBRECV, BK_SYS_REPLY, BK_SYS_REPLY_RECV, BK_SYS_YIELD };
    uint64_t nr = nrs[fz_below(f, sizeof(nrs) / sizeof(nrs[0]))];
    uint64_t dest = ipc_target(f);
    if (nr == BK_SYS_RECV || nr == BK_SYS_NBRECV || nr == BK_SYS_REPLY ||
        nr == BK_SYS_REPLY_RECV || nr == BK_SYS_YIELD)
        return receive(f, nr, dest);
    uint64_t a[FUZZ_MAX_ARGS];
    for (unsigned i = 0; i < FUZZ_MAX_ARGS; i++)
        a[i] = fz_word(f);
    return send_message(f, nr, dest, fz_word(f), a, random_length(f));
}

/* Syscall numbers no syscall has: 0, the retired debug syscalls (now
 * Debug methods, which the invocations reach through BK_CAP_DEBUG and its
 * copies), and numbers past the last; never thread_exit. */
static int plain_op(struct fuzz *f)
{
    static const uint64_t nrs[] = { 0, 1, 2, 3, 5, 6, BK_SYS_COUNT, BK_SYS_COUNT + 1, 1000,
                                    1ull << 32, ~0ull };
    uint64_t nr = nrs[fz_below(f, sizeof(nrs) / sizeof(nrs[0]))];
    uint64_t w[6] = { fz_word(f), fz_word(f), fz_word(f), fz_word(f), fz_word(f), fz_word(f) };
    fz_trace(f, nr, 0, 0, w, 6);
    bk_syscall_raw(nr, w[0], w[1], w[2], w[3], w[4], w[5]);
    return 1;
}

/* Garbage in the IPC buffers: message words past the registers, extra-cap
 * addresses and the receive slot (user_data is libsys's). */
static int garble_op(struct fuzz *f)
{
    struct bk_ipc_buffer *b = bk_ipc_buffer;
    for (unsigned i = BK_MSG_CPU_WORDS; i < BK_MSG_MAX_WORDS; i++)
        b->mr[i] = fz_word(f);
    for (unsigned i = 0; i < BK_MSG_MAX_CAPS; i++)
        b->caps[i] = fz_cptr(f);
    b->receive_cnode = fz_chance(f, 60) ? ROOT : fz_cptr(f);
    b->receive_index = fz_chance(f, 60) ? fz_window_slot(f) : fz_word(f);
    b->receive_depth = fz_chance(f, 70) ? W : fz_word(f);
    fz_garble_helper_buffers(f);
    return 0;
}

/* A Call the echo thread answers: a real partner for long messages. */
static int echo_op(struct fuzz *f)
{
    uint64_t a[FUZZ_MAX_ARGS];
    for (unsigned i = 0; i < FUZZ_MAX_ARGS; i++)
        a[i] = fz_word(f);
    return send_message(f, fz_chance(f, 80) ? BK_SYS_CALL : BK_SYS_SEND, f->echo, fz_word(f), a,
                        fz_below(f, 128));
}

int fz_operation(struct fuzz *f)
{
    f->granted_sp = 0;
    unsigned r = (unsigned)fz_below(f, 100);
    if (r < 25)
        return cnode_op(f);
    if (r < 37)
        return retype_op(f);
    if (r < 51)
        return tcb_op(f);
    if (r < 57)
        return typed_op(f);
    if (r < 59)
        return asid_op(f);
    if (r < 71)
        return random_invocation(f);
    if (r < 85)
        return ipc_op(f);
    if (r < 89)
        return echo_op(f);
    if (r < 96)
        return plain_op(f);
    return garble_op(f);
}

void fz_reset(struct fuzz *f)
{
    sys_cnode_revoke(ROOT, f->untyped, W);
    for (uint32_t i = 0; i < f->bi->untyped_count; i++) {
        if (f->bi->untyped[i].slot != f->pool)
            sys_cnode_revoke(ROOT, f->bi->untyped[i].slot, W);
    }
    for (uint64_t s = f->window; s < f->window + FUZZ_WINDOW; s++)
        sys_cnode_delete(ROOT, s, W);
    fz_refresh(f);
    /* Every thread the fuzzer made came from the untypeds just revoked. */
    fz_threads_reset();
}

void fz_rebuild(struct fuzz *f)
{
    fz_reset(f);
    fz_populate(f);
    fz_let_helpers_block();
}
