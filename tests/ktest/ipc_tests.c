/*
 * Faults delivered as messages to fault endpoints, capability transfer
 * through endpoints, and notifications bound to threads.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192

static uint8_t stack[STACK_SIZE] __attribute__((aligned(16)));
static struct {
    struct bk_ipc_buffer b;
} __attribute__((aligned(BK_PAGE_SIZE))) helper_buffer;
static volatile uint64_t progress;

/* Slots: s + 0 helper TCB, s + 1 endpoint, s + 2 notification, s + 3 free. */
static int setup(struct ktest_env *env, uint64_t s)
{
    if (kt_retype(env, BK_OBJ_TCB, 0, s, 1) || kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 1, 1) ||
        kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 2, 1))
        return 1;
    progress = 0;
    return 0;
}

/* Starts the helper at priority 100 with the fault endpoint s + 1; the
 * root drops below it first so the helper runs at once. */
static long start_faulting(uint64_t s, void (*fn)(uint64_t))
{
    long r = sys_tcb_set_fault_endpoint(s, s + 1);
    if (r == 0)
        r = bk_thread_start(s, ROOT, BK_CAP_ROOT_VSPACE, fn, s, stack, STACK_SIZE,
                            (uint64_t)(uintptr_t)&helper_buffer.b, 100);
    return r;
}

static void null_reader(uint64_t s)
{
    (void)s;
    progress = 1;
    progress = *(volatile uint64_t *)(uintptr_t)(progress - 1);
    progress = 2;
    sys_thread_exit(0);
}

/* The kernel's direct map of RAM, where the kernel image lies: the
 * address a Meltdown attack would read. */
#if defined(__x86_64__)
#define KERNEL_RAM_VADDR 0xFFFF800000100000ull
#else
#define KERNEL_RAM_VADDR 0xFFFFFFC080200000ull
#endif

static void kernel_reader(uint64_t s)
{
    (void)s;
    progress = 1;
    progress = *(volatile uint64_t *)(uintptr_t)KERNEL_RAM_VADDR;
    progress = 2;
    sys_thread_exit(0);
}

static void unknown_syscaller(uint64_t s)
{
    (void)s;
    progress = 1;
    bk_syscall_raw(0x77, 0, 0, 0, 0, 0, 0);
    progress = 2;
    sys_thread_exit(0);
}

static void bad_sender(uint64_t s)
{
    struct bk_msg m = { 0 };
    progress = 1;
    sys_send(s + 3, &m); /* an empty slot */
    progress = 2;
    sys_thread_exit(0);
}

static void trapper(uint64_t s)
{
    (void)s;
    progress = 1;
    __builtin_trap();
}

/* Receives one fault on s + 1 and answers with `label`. */
static int handle_fault(uint64_t s, uint64_t label, struct bk_msg *fault)
{
    *fault = (struct bk_msg){ 0 };
    sys_recv(s + 1, fault);
    struct bk_msg reply = { .info = bk_msginfo(label, 0) };
    sys_reply(0, &reply);
    return 0;
}

/* Runs `fn` on the helper thread (above the root, which drops to 50 for
 * it) until its fault arrives in *fault, answered with `label`; *detail
 * gets the fifth fault word (the IPC buffer's, read before any other
 * call). Returns 0, or 1 if something could not be set up. */
static int run_to_fault(struct ktest_env *env, uint64_t s, void (*fn)(uint64_t), uint64_t label,
                        struct bk_msg *fault, uint64_t *detail)
{
    KT_CHECK(setup(env, s) == 0);
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50));
    KT_OK(start_faulting(s, fn));
    handle_fault(s, label, fault);
    *detail = bk_ipc_buffer->mr[4];
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    return 0;
}

static int test_page_fault_message(struct ktest_env *env)
{
    uint64_t s = kt_slots(), detail;
    struct bk_msg f;
    /* Answered with a non-zero label: the thread stays stopped. */
    KT_CHECK(run_to_fault(env, s, null_reader, 1, &f, &detail) == 0);
    KT_CHECK(BK_MSGINFO_LABEL(f.info) == BK_FAULT_PAGE);
    KT_CHECK(f.mr[1] == 0 && f.mr[2] == BK_FAULT_ACCESS_READ); /* address 0 */
    KT_CHECK(f.mr[0] >= 0x400000 && f.mr[0] < 0x10000000); /* the pc, in the program */
    KT_CHECK(progress == 1);
    return 0;
}

/* "on", "off" or NULL (auto): what the command line asks of the x86-64
 * Meltdown window (arch/x86_64/kpti.c). */
static const char *kpti_option(const struct ktest_env *env)
{
    static const char key[] = "bulkhead.kpti=";
    const char *c = env->bi->cmdline;
    size_t n = strlen(c), k = sizeof(key) - 1;
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(c + i, key, k) != 0)
            continue;
        const char *v = c + i + k;
        if (memcmp(v, "on", 2) == 0 && (v[2] == ' ' || v[2] == '\0'))
            return "on";
        if (memcmp(v, "off", 3) == 0 && (v[3] == ' ' || v[3] == '\0'))
            return "off";
    }
    return NULL;
}

/* A user read of kernel memory faults. On x86-64 the #PF error code also
 * says whether the page was mapped (bit 0, P): under the Meltdown window
 * the kernel's direct map is absent from user page tables, so P is clear;
 * without it the kernel half is mapped (supervisor-only) and P is set. */
static int test_kernel_memory_unreachable(struct ktest_env *env)
{
    uint64_t s = kt_slots(), detail;
    struct bk_msg f;
    KT_CHECK(run_to_fault(env, s, kernel_reader, 1, &f, &detail) == 0);
    KT_CHECK(BK_MSGINFO_LABEL(f.info) == BK_FAULT_PAGE && progress == 1);
    KT_CHECK(f.mr[1] == KERNEL_RAM_VADDR && f.mr[2] == BK_FAULT_ACCESS_READ);
#if defined(__x86_64__)
    const char *kpti = kpti_option(env);
    bool present = detail & 1;
    debug_printf("    kpti %s: kernel RAM %s in user page tables\n", kpti ? kpti : "auto",
                 present ? "mapped (supervisor-only)" : "not mapped");
    KT_CHECK(!kpti || present == (strcmp(kpti, "off") == 0));
#else
    (void)kpti_option;
    (void)detail;
#endif
    return 0;
}

static int test_unknown_syscall_restarts_after_reply(struct ktest_env *env)
{
    uint64_t s = kt_slots(), detail;
    struct bk_msg f;
    /* Answered with label 0: the thread goes on after the syscall. */
    KT_CHECK(run_to_fault(env, s, unknown_syscaller, 0, &f, &detail) == 0);
    KT_CHECK(BK_MSGINFO_LABEL(f.info) == BK_FAULT_UNKNOWN_SYSCALL && f.mr[1] == 0x77);
    KT_CHECK(progress == 2);
    return 0;
}

static int test_cap_fault_message(struct ktest_env *env)
{
    uint64_t s = kt_slots(), detail;
    struct bk_msg f;
    KT_CHECK(run_to_fault(env, s, bad_sender, 0, &f, &detail) == 0);
    KT_CHECK(BK_MSGINFO_LABEL(f.info) == BK_FAULT_CAP);
    KT_CHECK(f.mr[1] == s + 3 && f.mr[2] == 0 && f.mr[3] == BK_LOOKUP_FAULT_MISSING_CAPABILITY);
    KT_CHECK(progress == 2);
    return 0;
}

static int test_exception_fault_message(struct ktest_env *env)
{
    uint64_t s = kt_slots(), detail;
    struct bk_msg f;
    KT_CHECK(run_to_fault(env, s, trapper, 1, &f, &detail) == 0);
    KT_CHECK(BK_MSGINFO_LABEL(f.info) == BK_FAULT_EXCEPTION &&
             f.mr[1] == BK_EXCEPTION_ILLEGAL_INSTRUCTION);
    return 0;
}

static int test_fault_endpoint_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(setup(env, s) == 0);
    KT_EXPECT_ERR(sys_tcb_set_fault_endpoint(s, s + 2), BK_ERR_INVALID_CAPABILITY);
    KT_OK(sys_cnode_copy(ROOT, s + 3, W, ROOT, s + 1, W, BK_RIGHT_READ));
    KT_EXPECT_ERR(sys_tcb_set_fault_endpoint(s, s + 3), BK_ERR_INSUFFICIENT_RIGHTS);
    KT_OK(sys_tcb_set_fault_endpoint(s, s + 1));
    KT_OK(sys_tcb_set_fault_endpoint(s, 0));
    return 0;
}

/* Receives on s + 1 with its receive slot at s + 3 and reports the info
 * word and caps[0] through `progress` and a reply. */
static void cap_receiver(uint64_t s)
{
    struct bk_ipc_buffer *b = &helper_buffer.b;
    b->receive_cnode = ROOT;
    b->receive_index = s + 3;
    b->receive_depth = W;
    struct bk_msg m = { 0 };
    sys_recv(s + 1, &m);
    m.mr[0] = m.info;
    m.mr[1] = b->caps[0];
    m.mr[2] = m.badge;
    m.info = bk_msginfo(0, 3);
    sys_reply(0, &m);
    sys_thread_exit(0);
}

/* Calls the receiver through `ep` with one extra cap `cap`. */
static void call_with_cap(uint64_t ep, uint64_t cap, struct bk_msg *m)
{
    bk_ipc_buffer->caps[0] = cap;
    *m = (struct bk_msg){ .info = BK_MSGINFO(0, 1, 0, 0) };
    sys_call(ep, m);
}

static int start_receiver(uint64_t s)
{
    return (int)bk_thread_start(s, ROOT, BK_CAP_ROOT_VSPACE, cap_receiver, s, stack, STACK_SIZE,
                                (uint64_t)(uintptr_t)&helper_buffer.b, 100);
}

static int test_cap_transfer_with_grant(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(setup(env, s) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s + 2, W, BK_RIGHT_WRITE, 0x77));
    KT_CHECK(start_receiver(s) == 0);
    call_with_cap(s + 1, s + 4, &m);
    KT_CHECK(BK_MSGINFO_EXTRA_CAPS(m.mr[0]) == 1 && BK_MSGINFO_CAPS_UNWRAPPED(m.mr[0]) == 0);
    KT_CHECK(kt_type(s + 3) == BK_OBJ_NOTIFICATION && kt_rights(s + 3) == BK_RIGHT_WRITE);
    /* The received cap is a copy: the sender's stays. */
    KT_CHECK(kt_type(s + 4) == BK_OBJ_NOTIFICATION);
    return 0;
}

static int test_no_grant_no_caps(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(setup(env, s) == 0);
    KT_OK(sys_cnode_copy(ROOT, s + 5, W, ROOT, s + 1, W, BK_RIGHT_WRITE | BK_RIGHT_READ));
    KT_CHECK(start_receiver(s) == 0);
    call_with_cap(s + 5, s + 2, &m);
    KT_CHECK(BK_MSGINFO_EXTRA_CAPS(m.mr[0]) == 0);
    KT_CHECK(kt_type(s + 3) == 0);
    return 0;
}

static int test_same_endpoint_cap_arrives_unwrapped(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(setup(env, s) == 0);
    KT_OK(sys_cnode_mint(ROOT, s + 5, W, ROOT, s + 1, W, BK_RIGHTS_ALL, 0xabc));
    KT_CHECK(start_receiver(s) == 0);
    call_with_cap(s + 1, s + 5, &m);
    KT_CHECK(BK_MSGINFO_EXTRA_CAPS(m.mr[0]) == 1 && BK_MSGINFO_CAPS_UNWRAPPED(m.mr[0]) == 1);
    KT_CHECK(m.mr[1] == 0xabc);
    KT_CHECK(kt_type(s + 3) == 0); /* nothing went into the receive slot */
    return 0;
}

static int test_full_receive_slot_drops_cap(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    struct bk_msg m;
    KT_CHECK(setup(env, s) == 0);
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 3, 1)); /* the receive slot is taken */
    KT_CHECK(start_receiver(s) == 0);
    call_with_cap(s + 1, s + 2, &m);
    KT_CHECK(BK_MSGINFO_EXTRA_CAPS(m.mr[0]) == 0);
    KT_CHECK(kt_type(s + 3) == BK_OBJ_ENDPOINT);
    return 0;
}

/* Answers one Call on s + 1 with the notification s + 2 as an extra cap. */
static void cap_replier(uint64_t s)
{
    helper_buffer.b.caps[0] = s + 2;
    struct bk_msg m = { 0 };
    sys_recv(s + 1, &m);
    m.info = BK_MSGINFO(0, 1, 0, 0);
    sys_reply(0, &m);
    sys_thread_exit(0);
}

/* Calls `ep` with our receive slot at s + 3 and sets `caps` to how many
 * caps the answer carried. The replier runs first (a Call it waits for: the IPC
 * fast path) when `replier_first`, else the Call queues and the replier
 * takes it from the queue (the general path). */
static int call_for_cap(uint64_t s, uint64_t ep, bool replier_first, unsigned *caps)
{
    if (replier_first)
        KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50));
    KT_OK(bk_thread_start(s, ROOT, BK_CAP_ROOT_VSPACE, cap_replier, s, stack, STACK_SIZE,
                          (uint64_t)(uintptr_t)&helper_buffer.b, 100));
    bk_ipc_buffer->receive_cnode = ROOT;
    bk_ipc_buffer->receive_index = s + 3;
    bk_ipc_buffer->receive_depth = W;
    struct bk_msg m = { .info = BK_MSGINFO(0, 0, 0, 0) };
    sys_call(ep, &m);
    bk_ipc_buffer->receive_depth = 0;
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    KT_CHECK(BK_MSGINFO_LABEL(m.info) == 0);
    *caps = (unsigned)BK_MSGINFO_EXTRA_CAPS(m.info);
    return 0;
}

static int test_reply_carries_cap_with_grant_reply(struct ktest_env *env)
{
    for (int replier_first = 0; replier_first < 2; replier_first++) {
        uint64_t s = kt_slots() + 8 * (uint64_t)replier_first; /* fresh slots each way */
        unsigned caps;
        KT_CHECK(setup(env, s) == 0);
        KT_OK(sys_cnode_copy(ROOT, s + 5, W, ROOT, s + 1, W,
                             BK_RIGHT_WRITE | BK_RIGHT_GRANT_REPLY));
        KT_CHECK(call_for_cap(s, s + 5, replier_first, &caps) == 0 && caps == 1);
        KT_CHECK(kt_type(s + 3) == BK_OBJ_NOTIFICATION);
        KT_CHECK(kt_type(s + 2) == BK_OBJ_NOTIFICATION); /* a copy: the replier keeps its own */
    }
    return 0;
}

/* The grant right lets caps go with the Call, not come back with the
 * answer: that takes BK_RIGHT_GRANT_REPLY on the caller's cap. */
static int test_reply_without_grant_reply_carries_none(struct ktest_env *env)
{
    for (int replier_first = 0; replier_first < 2; replier_first++) {
        uint64_t s = kt_slots() + 8 * (uint64_t)replier_first; /* fresh slots each way */
        unsigned caps;
        KT_CHECK(setup(env, s) == 0);
        KT_OK(sys_cnode_copy(ROOT, s + 5, W, ROOT, s + 1, W, BK_RIGHT_WRITE | BK_RIGHT_GRANT));
        KT_CHECK(call_for_cap(s, s + 5, replier_first, &caps) == 0 && caps == 0);
        KT_CHECK(kt_type(s + 3) == 0);
    }
    return 0;
}

/* Waits on the endpoint s + 1, then on the notification s + 2; reports
 * each wait's result label in `progress` (0x100 | label, 0x200 | label). */
static void stopped_waiter(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_recv(s + 1, &m);
    progress = 0x100 | (BK_MSGINFO_LABEL(m.info) & 0xff);
    m = (struct bk_msg){ 0 };
    sys_recv(s + 2, &m);
    progress = 0x200 | (BK_MSGINFO_LABEL(m.info) & 0xff);
    sys_thread_exit(0);
}

/* Suspended in a wait and resumed, a thread returns from the wait with
 * CANCELLED rather than with its own arguments as if a message came. */
static int test_suspended_wait_returns_cancelled(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(setup(env, s) == 0);
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50));
    KT_OK(bk_thread_start(s, ROOT, BK_CAP_ROOT_VSPACE, stopped_waiter, s, stack, STACK_SIZE,
                          (uint64_t)(uintptr_t)&helper_buffer.b, 100));
    uint64_t in_recv = progress;
    KT_OK(sys_tcb_suspend(s));
    KT_OK(sys_tcb_resume(s)); /* it outranks us: runs to its next wait */
    uint64_t after_recv = progress;
    KT_OK(sys_tcb_suspend(s));
    KT_OK(sys_tcb_resume(s));
    uint64_t after_wait = progress;
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    KT_CHECK(in_recv == 0);
    KT_CHECK(after_recv == (0x100 | BK_ERR_CANCELLED));
    KT_CHECK(after_wait == (0x200 | BK_ERR_CANCELLED));
    return 0;
}

/* Bound to s + 2, waits on the endpoint s + 1; reports what woke it. */
static void bound_waiter(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_recv(s + 1, &m);
    progress = m.badge << 8 | (BK_MSGINFO_LABEL(m.info) & 0xff);
    sys_thread_exit(0);
}

static int test_bound_notification_ends_endpoint_wait(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(setup(env, s) == 0);
    KT_OK(sys_tcb_bind_notification(s, s + 2));
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s + 2, W, BK_RIGHT_WRITE, 0x8));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50));
    KT_OK(bk_thread_start(s, ROOT, BK_CAP_ROOT_VSPACE, bound_waiter, s, stack, STACK_SIZE, 0, 100));
    KT_CHECK(progress == 0); /* it blocked in recv */
    struct bk_msg m = { 0 };
    sys_send(s + 4, &m); /* the signal wakes it; it runs at once */
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    KT_CHECK(progress == (0x8 << 8));
    return 0;
}

static int test_bound_notification_already_signalled(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(setup(env, s) == 0);
    KT_OK(sys_tcb_bind_notification(s, s + 2));
    KT_OK(sys_cnode_mint(ROOT, s + 4, W, ROOT, s + 2, W, BK_RIGHT_WRITE, 0x3));
    struct bk_msg m = { 0 };
    sys_send(s + 4, &m);
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 50));
    KT_OK(bk_thread_start(s, ROOT, BK_CAP_ROOT_VSPACE, bound_waiter, s, stack, STACK_SIZE, 0, 100));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    KT_CHECK(progress == (0x3 << 8)); /* recv returned at once with the bits */
    return 0;
}

static int test_bind_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(setup(env, s) == 0);
    KT_EXPECT_ERR(sys_tcb_unbind_notification(s), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_tcb_bind_notification(s, s + 1), BK_ERR_INVALID_CAPABILITY);
    KT_OK(sys_tcb_bind_notification(s, s + 2));
    KT_EXPECT_ERR(sys_tcb_bind_notification(s, s + 2), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_tcb_bind_notification(BK_CAP_ROOT_TCB, s + 2), BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_tcb_unbind_notification(s));
    KT_OK(sys_tcb_bind_notification(BK_CAP_ROOT_TCB, s + 2));
    KT_OK(sys_tcb_unbind_notification(BK_CAP_ROOT_TCB));
    return 0;
}

const struct ktest ipc_tests[] = {
    { "fault: a page fault arrives at the fault endpoint", test_page_fault_message },
    { "fault: an unknown syscall arrives and the reply restarts the thread",
      test_unknown_syscall_restarts_after_reply },
    { "fault: a send to an empty slot arrives as a capability fault", test_cap_fault_message },
    { "fault: an illegal instruction arrives as an exception fault",
      test_exception_fault_message },
    { "fault: set_fault_endpoint checks type and rights", test_fault_endpoint_errors },
    { "fault: kernel memory is unreachable (x86-64: unmapped under kpti)",
      test_kernel_memory_unreachable },
    { "ipc: a cap travels through an endpoint with the grant right",
      test_cap_transfer_with_grant },
    { "ipc: without the grant right no cap travels", test_no_grant_no_caps },
    { "ipc: a cap to the same endpoint arrives unwrapped as its badge",
      test_same_endpoint_cap_arrives_unwrapped },
    { "ipc: a full receive slot drops the cap, not the message", test_full_receive_slot_drops_cap },
    { "ipc: an answer carries a cap to a Call made with the grant-reply right",
      test_reply_carries_cap_with_grant_reply },
    { "ipc: without the grant-reply right an answer carries no cap",
      test_reply_without_grant_reply_carries_none },
    { "notification: a bound notification ends an endpoint wait",
      test_bound_notification_ends_endpoint_wait },
    { "notification: recv returns at once if the bound notification was signalled",
      test_bound_notification_already_signalled },
    { "notification: bind and unbind errors", test_bind_errors },
    { "ipc: a thread suspended in a wait returns CANCELLED from it when resumed",
      test_suspended_wait_returns_cancelled },
};
const unsigned ipc_test_count = sizeof(ipc_tests) / sizeof(ipc_tests[0]);
