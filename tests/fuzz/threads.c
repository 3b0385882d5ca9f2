/*
 * The threads of the robustness test besides the root task.
 *
 * The echo thread answers every message on the echo endpoint with the
 * message itself (a fault message, whose label is never 0, thus leaves
 * the faulting thread stopped). The fuzzer cannot reach it: its TCB cap
 * and the original endpoint cap live in a 4-slot CNode whose only cap is
 * the thread's own CSpace root, and both objects come from the protected
 * pool untyped. The root task's cap to the endpoint is never copied,
 * moved or sent (guard.c), and no helper receives on it, so the echo
 * thread is its only receiver: the root task may block in Call or Send
 * there, someone always answers.
 *
 * Threads the fuzzer starts run the helper loop: receive, answer, stop
 * after a few rounds or at the first error. Each gets a stack of its own
 * and touches no memory but that stack, so whatever the fuzzer does to it
 * cannot reach the root task. A stack is handed out again only after
 * fz_reset() destroyed every thread the fuzzer made (a stopped thread
 * may be resumed later, so nothing sooner is safe). Every other start
 * address faults at once.
 */
#include "fuzz.h"

#define HELPER_STACKS 64
#define HELPER_STACK_SIZE 1024
#define HELPER_PAGES 4
#define HELPER_ROUNDS 64
#define ECHO_PRIORITY 200
#define BLOCKED_HELPER_PRIORITY 150 /* fz_populate()'s helpers, above the root while it waits */
#define ROOT_PRIORITY 255           /* the root task's, which the kernel gives it at boot */

union ipc_page {
    struct bk_ipc_buffer b;
    uint8_t bytes[4096];
};

static uint8_t helper_stacks[HELPER_STACKS][HELPER_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t echo_stack[2048] __attribute__((aligned(16)));
static union ipc_page helper_pages[HELPER_PAGES] __attribute__((aligned(BK_PAGE_SIZE)));
static union ipc_page echo_page __attribute__((aligned(BK_PAGE_SIZE)));
static volatile uint64_t helper_cptrs[HELPER_STACKS]; /* what the thread on stack i receives on */
static unsigned stacks_used;

/* Answers any Call it holds (a non-zero label), then receives on its
 * address, HELPER_ROUNDS times; stops at the first kernel error (an empty
 * message carrying an error code). The address comes from the table, not
 * the entry argument: a thread restarted here while blocked finds a
 * message, not its argument, in that register when it wakes. */
static void helper_main(uint64_t unused)
{
    volatile uint8_t probe = 0;
    uint64_t k = ((uintptr_t)&probe - (uintptr_t)helper_stacks) / HELPER_STACK_SIZE;
    uint64_t cptr = k < HELPER_STACKS ? helper_cptrs[k] : 0; /* 0: empty, the first recv fails */
    (void)unused;
    struct bk_msg m = { .info = bk_msginfo(1, 0) };
    for (unsigned i = 0; i < HELPER_ROUNDS; i++) {
        sys_reply_recv(cptr, &m);
        uint64_t label = BK_MSGINFO_LABEL(m.info);
        if (m.badge == 0 && BK_MSGINFO_LENGTH(m.info) == 0 && label >= 1 && label <= 13)
            break;
        m = (struct bk_msg){ .info = bk_msginfo(label | 1, 0) };
    }
    sys_thread_exit(0);
}

/* Answers each message with itself, forever. */
static void echo_main(uint64_t cptr)
{
    struct bk_msg m = { 0 };
    sys_recv(cptr, &m);
    for (;;)
        sys_reply_recv(cptr, &m);
}

void fz_threads_reset(void)
{
    stacks_used = 0;
}

uint64_t fz_helper_pc(void)
{
    return (uint64_t)(uintptr_t)helper_main;
}

/* Addresses no code of the fuzzer lives at: unmapped low memory, the
 * kernel half, non-canonical ones. */
static const uint64_t faulting_pcs[] = { 0, 1, 0x1000, 0x3ff000, 0xffffffff80000000ull,
                                         1ull << 47, 1ull << 63, ~0ull & ~0xfull };

int fz_pc_faults(uint64_t pc)
{
    for (unsigned i = 0; i < sizeof(faulting_pcs) / sizeof(faulting_pcs[0]); i++) {
        if (pc == faulting_pcs[i])
            return 1;
    }
    return 0;
}

void fz_thread_regs(struct fuzz *f, uint64_t *pc, uint64_t *sp, uint64_t *arg)
{
    if (stacks_used < HELPER_STACKS && fz_chance(f, 60)) {
        unsigned k = stacks_used++;
        unsigned r = (unsigned)fz_below(f, 10);
        uint64_t cptr = r < 5 ? fz_cptr_of(f, BK_OBJ_ENDPOINT)
                              : r < 8 ? fz_cptr_of(f, BK_OBJ_NOTIFICATION) : fz_cptr(f);
        /* Never the echo endpoint: the echo thread must be the only
         * receiver there, or the root task's Call could reach a thread
         * that never answers. */
        helper_cptrs[k] = cptr == f->echo ? 0 : cptr;
        *pc = fz_helper_pc();
        *sp = bk_stack_top(helper_stacks[k], HELPER_STACK_SIZE);
        *arg = fz_word(f);
        f->granted_sp = *sp;
        return;
    }
    *pc = faulting_pcs[fz_below(f, sizeof(faulting_pcs) / sizeof(faulting_pcs[0]))];
    *sp = fz_word(f);
    *arg = fz_word(f);
}

long fz_start_blocked_helper(struct fuzz *f, uint64_t tcb, uint64_t cptr)
{
    if (stacks_used == HELPER_STACKS || cptr == f->echo)
        return -BK_ERR_RANGE;
    unsigned k = stacks_used++;
    helper_cptrs[k] = cptr;
    uint64_t buffer = (uint64_t)(uintptr_t)&helper_pages[k % HELPER_PAGES].b;
    long r = sys_tcb_configure(tcb, BK_CAP_ROOT_CNODE, 0, BK_CAP_ROOT_VSPACE, buffer);
    if (!r)
        r = sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, BLOCKED_HELPER_PRIORITY);
    if (!r)
        r = sys_tcb_write_registers(tcb, 1, fz_helper_pc(),
                                    bk_stack_top(helper_stacks[k], HELPER_STACK_SIZE), 0);
    return r;
}

void fz_let_helpers_block(void)
{
    /* Below the helpers for a moment: each runs up to its first Recv. */
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, BLOCKED_HELPER_PRIORITY - 1);
    sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, ROOT_PRIORITY);
}

uint64_t fz_ipc_buffer(struct fuzz *f)
{
    static const uint64_t refused[] = { 0x1234, BK_ROOT_BOOTINFO_VADDR, 1ull << 47, 0x1000 };
    unsigned r = (unsigned)fz_below(f, 10);
    if (r < 7)
        return (uint64_t)(uintptr_t)&helper_pages[fz_below(f, HELPER_PAGES)].b;
    if (r < 8)
        return 0;
    return refused[fz_below(f, sizeof(refused) / sizeof(refused[0]))];
}

int fz_ipc_buffer_ok(uint64_t va)
{
    /* The kernel writes messages into a thread's IPC buffer: never let it
     * be the root task's own data, stack or IPC buffer. Low unmapped
     * memory (at most a frame the fuzzer mapped there), read-only pages
     * and addresses the kernel refuses are fine. */
    for (unsigned i = 0; i < HELPER_PAGES; i++) {
        if (va == (uint64_t)(uintptr_t)&helper_pages[i].b)
            return 1;
    }
    return va < 0x400000 || (va & 0xfff) != 0 || va >= (1ull << 47) ||
           va == BK_ROOT_BOOTINFO_VADDR || va == BK_ROOT_BOOTIMAGE_VADDR;
}

void fz_garble_helper_buffers(struct fuzz *f)
{
    struct bk_ipc_buffer *b = &helper_pages[fz_below(f, HELPER_PAGES)].b;
    for (unsigned i = BK_MSG_CPU_WORDS; i < BK_MSG_MAX_WORDS; i++)
        b->mr[i] = fz_word(f);
    for (unsigned i = 0; i < BK_MSG_MAX_CAPS; i++)
        b->caps[i] = fz_cptr(f);
    b->receive_cnode = fz_chance(f, 50) ? BK_CAP_ROOT_CNODE : fz_cptr(f);
    b->receive_index = fz_chance(f, 70) ? fz_window_slot(f) : fz_word(f);
    b->receive_depth = fz_chance(f, 70) ? BK_WORD_BITS : fz_word(f);
}

/* Slots: cn = scratch (the echo CNode), scratch + 1 its TCB, scratch + 2
 * the endpoint. In the echo CNode, slot 1 holds the endpoint and slot 2
 * the TCB; its 62-bit guard makes address n at depth 64 its slot n. */
long fz_start_echo(struct fuzz *f, uint64_t scratch)
{
    uint64_t cn = scratch, tcb = scratch + 1, ep = scratch + 2, sc = scratch + 3;
    const uint64_t root = BK_CAP_ROOT_CNODE, w = BK_WORD_BITS;
    long r = sys_untyped_retype(f->pool, BK_OBJ_CNODE, 2, root, 0, 0, cn, 1);
    if (!r)
        r = sys_untyped_retype(f->pool, BK_OBJ_TCB, 0, root, 0, 0, tcb, 1);
    if (!r)
        r = sys_untyped_retype(f->pool, BK_OBJ_ENDPOINT, 0, root, 0, 0, ep, 1);
    if (!r)
        r = sys_untyped_retype(f->pool, BK_OBJ_SCHED_CONTEXT, 0, root, 0, 0, sc, 1);
    if (!r)
        r = sys_sched_control_configure(BK_CAP_SCHED_CONTROL, sc, BK_SCHED_ROOT_PERIOD_NS,
                                        BK_SCHED_ROOT_PERIOD_NS, 1, 0);
    if (!r)
        r = sys_sched_context_bind(sc, tcb);
    if (!r) /* kept in the echo thread's CNode, out of the fuzzer's reach */
        r = sys_cnode_move(cn, 3, 2, root, sc, w);
    if (!r)
        r = sys_cnode_move(cn, 1, 2, root, ep, w);
    if (!r)
        r = sys_cnode_copy(root, f->echo, w, cn, 1, 2, BK_RIGHTS_ALL);
    if (!r)
        r = sys_tcb_configure(tcb, cn, 62, BK_CAP_ROOT_VSPACE, (uint64_t)(uintptr_t)&echo_page.b);
    if (!r)
        r = sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, ECHO_PRIORITY);
    if (!r)
        r = sys_tcb_write_registers(tcb, 1, (uint64_t)(uintptr_t)echo_main,
                                    bk_stack_top(echo_stack, sizeof(echo_stack)), 1);
    if (!r)
        r = sys_cnode_move(cn, 2, 2, root, tcb, w);
    if (!r)
        r = sys_cnode_delete(root, cn, w);
    return r;
}
