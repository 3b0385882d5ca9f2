/* Host tests of TCB objects (kernel/tcb.c) through the syscall entry:
 * Configure and its checks, the registers read and written through the
 * fake register file (tests/host/fake_user.c: pc, then x1..x31 as on
 * RISC-V; f0..f31 and fcsr), counter access, and the plain syscalls
 * thread_exit and an unknown number. */
#include "kworld.h"

static uint64_t invoke(struct kworld *w, unsigned tcb, uint64_t label, unsigned n, uint64_t a0,
                       uint64_t a1)
{
    return kw_invoke(w, tcb, label, n, a0, a1, 0, 0);
}

static void test_configure(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned space = kw_space(&w);
    unsigned tcb = kw_retype(&w, CAP_TCB, 0, 1);
    struct thread *t = kw_tcb(&w, tcb);
    /* Not configured: it cannot run. */
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_RESUME, 0, 0, 0), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_CONFIGURE, 4, space, 0, space, 0),
             BK_ERR_INVALID_CAPABILITY); /* the CSpace root must be a CNode */
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_CONFIGURE, 4, KW_CNODE, 0, KW_CNODE, 0),
             BK_ERR_INVALID_CAPABILITY); /* the VSpace must be one */
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_CONFIGURE, 4, KW_CNODE, 0, space, 0x20000000),
             BK_ERR_INVALID_ARGUMENT); /* no buffer mapped there */
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_CONFIGURE, 4, KW_CNODE, 0, space,
                       KW_IPC_BUFFER + 8), BK_ERR_INVALID_ARGUMENT); /* not page aligned */
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_CONFIGURE, 3, KW_CNODE, 0, space, 0),
             BK_ERR_TRUNCATED_MESSAGE);
    CHECK(t->vspace == NULL); /* the refusals changed nothing */
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_CONFIGURE, 4, KW_CNODE, 0, space, KW_IPC_BUFFER),
             0);
    CHECK(t->vspace != NULL && t->vspace != w.root->vspace);
    CHECK(cap_object(&t->cspace_root.cap) == w.slots);
    CHECK(kw_buffer(t) != NULL && kw_buffer(t) != kw_buffer(w.root));
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_RESUME, 0, 0, 0), 0);
    CHECK_EQ(t->state, THREAD_RUNNABLE);
    kw_free(&w);
}

static void test_registers(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned tcb = kw_thread(&w, KW_ROOT_VSPACE, 10);
    struct thread *t = kw_tcb(&w, tcb);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_READ_REGISTERS, 0, 0, 0), 0);
    CHECK_EQ(kw_result(&w, 0), KW_ENTRY);
    CHECK_EQ(kw_result(&w, 1), KW_STACK);
    CHECK_EQ(kw_result(&w, 2), tcb); /* kw_thread() passes its slot as the argument */
    CHECK_EQ(kw_result(&w, 3), BK_THREAD_STATE_RUNNABLE);
    /* One register at a time, by the ABI's index: 0 is pc, n is xn. */
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_WRITE_REGISTER, 2, 9, 0x1234), 0);
    CHECK_EQ(t->regs.gpr[9], 0x1234);
    CHECK(t->regs.full_restore);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_READ_REGISTER, 1, 9, 0), 0);
    CHECK_EQ(kw_result(&w, 0), 0x1234);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_WRITE_REGISTER, 2, 0, 0x500000), 0);
    CHECK_EQ(t->regs.pc, 0x500000);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_WRITE_REGISTER, 2, 0, 0x500001),
             BK_ERR_INVALID_ARGUMENT); /* a pc the fake CPU cannot take */
    CHECK_EQ(t->regs.pc, 0x500000);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_READ_REGISTER, 1, 32, 0), BK_ERR_RANGE);
    CHECK_EQ(kw_result(&w, 1), 31);
    /* WriteRegisters restarts it from scratch, without resuming. */
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_WRITE_REGISTERS, 4, 0, 0x600000, 0x1000, 7), 0);
    CHECK_EQ(t->regs.pc, 0x600000);
    CHECK_EQ(t->regs.gpr[2], 0x1000);
    CHECK_EQ(t->regs.gpr[10], 7);
    CHECK_EQ(t->regs.gpr[9], 0);
    kw_free(&w);
}

/* A thread's own registers are the syscall's results: it may set only its
 * thread pointer (tp, index 4). */
static void test_own_registers(void)
{
    struct kworld w;
    kw_init(&w);
    CHECK_EQ(invoke(&w, KW_ROOT_TCB, BK_LABEL_TCB_WRITE_REGISTER, 2, 4, 0x7000), 0);
    CHECK_EQ(w.root->regs.gpr[4], 0x7000);
    CHECK_EQ(invoke(&w, KW_ROOT_TCB, BK_LABEL_TCB_WRITE_REGISTER, 2, 5, 1),
             BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(kw_invoke(&w, KW_ROOT_TCB, BK_LABEL_TCB_WRITE_REGISTERS, 4, 0, 1, 2, 3),
             BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(invoke(&w, KW_ROOT_TCB, BK_LABEL_TCB_WRITE_FPU_REGISTER, 2, 1, 1),
             BK_ERR_ILLEGAL_OPERATION);
    kw_free(&w);
}

static void test_fpu_registers_and_counters(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned tcb = kw_thread(&w, KW_ROOT_VSPACE, 10);
    struct thread *t = kw_tcb(&w, tcb);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_WRITE_FPU_REGISTER, 2, 31, 0x4010000000000000ull), 0);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_READ_FPU_REGISTER, 1, 31, 0), 0);
    CHECK_EQ(kw_result(&w, 0), 0x4010000000000000ull);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_WRITE_FPU_REGISTER, 2, 32, 0x100),
             BK_ERR_INVALID_ARGUMENT); /* fcsr has 8 bits */
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_READ_FPU_REGISTER, 1, 33, 0), BK_ERR_RANGE);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_SET_COUNTER_ACCESS, 1, 0, 0), 0);
    CHECK(t->regs.counters_off);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_SET_COUNTER_ACCESS, 1, 2, 0), BK_ERR_INVALID_ARGUMENT);
    CHECK(t->regs.counters_off);
    /* A restart keeps the policy: it is no register. */
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_WRITE_REGISTERS, 4, 0, KW_ENTRY, KW_STACK, 0), 0);
    CHECK(t->regs.counters_off);
    CHECK_EQ(t->regs.fpr[31], 0);
    kw_free(&w);
}

static void test_exit_and_unknown_syscall(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned tcb = kw_thread(&w, KW_ROOT_VSPACE, 10);
    struct thread *t = kw_tcb(&w, tcb);
    kw_park(&w);
    kw_sys(t, 3, 0, 0, 0, 0, 0, 0); /* no syscall 3, no fault handler: an error result */
    CHECK(current_thread == t);
    CHECK_EQ(t->regs.gpr[10], (uint64_t)-BK_ERR_INVALID_SYSCALL);
    kw_sys(t, BK_SYS_THREAD_EXIT, 17, 0, 0, 0, 0, 0);
    CHECK_EQ(t->state, THREAD_EXITED);
    CHECK_EQ(t->exit_status, 17);
    CHECK(current_thread == w.waker);
    kw_back_to_root(&w);
    CHECK_EQ(invoke(&w, tcb, BK_LABEL_TCB_READ_REGISTERS, 0, 0, 0), 0);
    CHECK_EQ(kw_result(&w, 3), BK_THREAD_STATE_EXITED);
    kw_free(&w);
}

TEST_MAIN(TEST(test_configure), TEST(test_registers), TEST(test_own_registers),
          TEST(test_fpu_registers_and_counters), TEST(test_exit_and_unknown_syscall))
