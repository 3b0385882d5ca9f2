/*
 * The in-QEMU kernel test suite: a root task that exercises every object
 * method through the real syscall interface, one result line per test and
 * the closing line "N passed, N failed" (like sel4test). Tests get a fresh
 * environment (empty slots, an untyped to carve from) and clean up after
 * themselves by revoking it.
 */
#pragma once

#include <bulkhead/sys.h>

struct ktest_env {
    const struct bk_bootinfo *bi;
    uint64_t untyped;      /* slot of a fresh untyped cap reserved for this test */
    unsigned untyped_bits;
    uint64_t pool;         /* the big untyped every test's untyped comes from */
    unsigned pool_bits;
};

/* A test returns 0 if every check passed; KT_CHECK prints what failed. */
typedef int (*ktest_fn)(struct ktest_env *env);

#define KT_CHECK(cond)                                                        \
    do {                                                                      \
        if (!(cond)) {                                                        \
            debug_printf("    check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            return 1;                                                         \
        }                                                                     \
    } while (0)

#define KT_EXPECT_ERR(call, err)                                              \
    do {                                                                      \
        long kt_r_ = (call);                                                  \
        if (kt_r_ != -(long)(err)) {                                          \
            debug_printf("    %s:%d: %s returned %ld (%s), expected -%s\n", __FILE__, __LINE__, \
                         #call, kt_r_, bk_error_name(kt_r_), #err);           \
            return 1;                                                         \
        }                                                                     \
    } while (0)

#define KT_OK(call) KT_EXPECT_ERR(call, 0)

/* The type (BK_OBJ_*) of the cap at `slot` of the root CNode, 0 if empty. */
static inline unsigned kt_type(uint64_t slot)
{
    return (unsigned)BK_CAP_IDENTITY_TYPE(debug_cap_identify(slot));
}

/* Its rights (BK_RIGHT_*). */
static inline unsigned kt_rights(uint64_t slot)
{
    return (unsigned)BK_CAP_IDENTITY_RIGHTS(debug_cap_identify(slot));
}

/* First slot of a window of free root-CNode slots for the running test. */
uint64_t kt_slots(void);

/* A thread body for a middle server in a chain: answers each Call on
 * `arg & 0xffff` with what the server on `arg >> 16` answers, plus one. */
void kt_forwarding_server(uint64_t arg);

/* Debug: CheckInvariants (the violations, or an error), except that a
 * kernel built without the walk (BULKHEAD_KERNEL_DEBUG off refuses it with
 * ILLEGAL_OPERATION) counts as 0: the suite runs on release kernels too
 * (<arch>/ktest-kernel-nodebug), where it checks behaviour, not state. */
long kt_check_invariants(void);
/* True if this kernel has the walk. */
int kt_kernel_has_walk(void);

/* Gives thread `tcb` a SchedContext with the whole CPU (from the test's
 * untyped, in a slot past the test's window, put in *sc_slot unless that
 * is NULL): a thread runs only on one. */
long kt_give_cpu(struct ktest_env *env, uint64_t tcb, uint64_t *sc_slot);

/* Retypes `count` objects into the root CNode from the test's untyped;
 * each new TCB gets a whole-CPU SchedContext (kt_give_cpu()), so that
 * tests of other things need not say so. */
long kt_retype(struct ktest_env *env, uint64_t type, uint64_t size_bits, uint64_t slot,
               uint64_t count);

/* Points libsys's allocators (slots, objects, the heap, threads) at this
 * test's untyped and a slot window past the test's own: what
 * bk_process_spawn(), bk_thread_create() and malloc() take from. */
void kt_init_allocators(struct ktest_env *env);

/* Sends a method invocation by hand (label, words) and returns the reply. */
void kt_invoke(uint64_t service, uint64_t label, unsigned length, const uint64_t *words,
               struct bk_msg *reply);

struct ktest {
    const char *name;
    ktest_fn fn;
};

extern const struct ktest untyped_tests[];
extern const unsigned untyped_test_count;
extern const struct ktest cnode_tests[];
extern const unsigned cnode_test_count;
extern const struct ktest process_tests[];
extern const unsigned process_test_count;
extern const struct ktest proto_tests[];
extern const unsigned proto_test_count;
extern const struct ktest reply_tests[];
extern const unsigned reply_test_count;
extern const struct ktest ipc_tests[];
extern const unsigned ipc_test_count;
extern const struct ktest endpoint_tests[];
extern const unsigned endpoint_test_count;
extern const struct ktest cdt_tests[];
extern const unsigned cdt_test_count;
extern const struct ktest sched_tests[];
extern const struct ktest smp_tests[];
extern const unsigned smp_test_count;
extern const struct ktest smp_contended_tests[]; /* only when named: ktest.only= */
extern const unsigned smp_contended_test_count;
extern const unsigned sched_test_count;
extern const struct ktest timeout_tests[];
extern const unsigned timeout_test_count;
extern const struct ktest fastpath_tests[];
extern const unsigned fastpath_test_count;
extern const struct ktest counter_tests[];
extern const unsigned counter_test_count;
extern const struct ktest irq_tests[];
extern const unsigned irq_test_count;
extern const struct ktest iospace_tests[];
extern const unsigned iospace_test_count;
extern const struct ktest vspace_tests[];
extern const unsigned vspace_test_count;
extern const struct ktest asid_tests[];
extern const unsigned asid_test_count;
extern const struct ktest thread_tests[];
extern const unsigned thread_test_count;
extern const struct ktest runtime_tests[];
extern const unsigned runtime_test_count;
extern const struct ktest fpu_tests[];
extern const unsigned fpu_test_count;
extern const struct ktest abi_tests[];
extern const unsigned abi_test_count;
extern const struct ktest debug_tests[];
extern const unsigned debug_test_count;
extern const struct ktest clock_tests[];
extern const unsigned clock_test_count;
