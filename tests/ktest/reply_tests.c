/*
 * Reply objects: a thread holds several unanswered Calls at once (Reply:
 * Save), answers them in any order with `send` on the Reply caps, and
 * every error and every way a saved Call can end (the object deleted, the
 * caller stopped) behaves as kernel/abi.toml says; a passive server's
 * saved caller gets its SchedContext back once the server blocks.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define STACK_SIZE 8192
#define LABEL_ANSWER 7

/* Slots: s + 0 the endpoint, s + 1, 2 the clients' TCBs, s + 3, 4 Reply
 * objects, s + 5 the server's TCB, s + 6 its SchedContext. */
#define EP(s) (s)
#define CLIENT(s, i) ((s) + 1 + (i))
#define REPLY(s, i) ((s) + 3 + (i))
#define SERVER(s) ((s) + 5)
#define SERVER_SC(s) ((s) + 6)

static uint8_t stacks[3][STACK_SIZE] __attribute__((aligned(16)));

/* What each client got back: the label and first word of the answer, and
 * when (a count shared by both), 0 until it arrives. */
static volatile uint64_t got_label[2], got_word[2], got_when[2], answers;

/* Calls the endpoint (arg: the endpoint << 8 | which client) with its
 * number + 100, notes the answer, and exits. */
static void client(uint64_t arg)
{
    unsigned i = arg & 0xff;
    struct bk_msg m = { .info = bk_msginfo(0, 1), .mr = { 100 + i } };
    sys_call(arg >> 8, &m);
    got_label[i] = BK_MSGINFO_LABEL(m.info);
    got_word[i] = m.mr[0];
    got_when[i] = ++answers;
    sys_thread_exit(0);
}

/* The endpoint, two Reply objects and two client TCBs (each on a whole
 * CPU, through kt_retype()); the clients start above us and block in their
 * Calls, 0 first. */
static int set_up(struct ktest_env *env, uint64_t s)
{
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, EP(s), 1));
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, CLIENT(s, 0), 2));
    KT_OK(kt_retype(env, BK_OBJ_REPLY, 0, REPLY(s, 0), 2));
    for (unsigned i = 0; i < 2; i++)
        got_label[i] = got_word[i] = got_when[i] = 0;
    answers = 0;
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    for (unsigned i = 0; i < 2; i++)
        KT_OK(bk_thread_start(CLIENT(s, i), ROOT, BK_CAP_ROOT_VSPACE, client, EP(s) << 8 | i,
                              stacks[i], STACK_SIZE, 0, 200));
    return 0;
}

/* Receives the next Call; true if it is client `i`'s. */
static int receive_from(uint64_t s, unsigned i)
{
    struct bk_msg m = { 0 };
    sys_recv(EP(s), &m);
    return m.mr[0] == 100 + i;
}

static void answer(uint64_t reply, uint64_t word)
{
    struct bk_msg m = { .info = bk_msginfo(LABEL_ANSWER, 1), .mr = { word } };
    sys_send(reply, &m);
}

static int tear_down(void)
{
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 255));
    KT_CHECK(kt_check_invariants() == 0);
    return 0;
}

/* Both Calls held at once (before, the second cancelled the first), the
 * second answered first; Save's errors; an answer to an empty object goes
 * nowhere. */
static int test_two_calls_held_and_answered_in_any_order(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(set_up(env, s));
    KT_CHECK(receive_from(s, 0));
    KT_OK(sys_reply_save(REPLY(s, 0)));
    KT_EXPECT_ERR(sys_reply_save(REPLY(s, 1)), BK_ERR_ILLEGAL_OPERATION); /* nothing to save */
    KT_CHECK(receive_from(s, 1));
    KT_EXPECT_ERR(sys_reply_save(REPLY(s, 0)), BK_ERR_ILLEGAL_OPERATION); /* holds one */
    KT_OK(sys_reply_save(REPLY(s, 1)));
    KT_CHECK(kt_check_invariants() == 0);
    KT_CHECK(answers == 0);
    answer(REPLY(s, 1), 222); /* client 1 outranks us: it runs now */
    KT_CHECK(got_when[1] == 1 && got_label[1] == LABEL_ANSWER && got_word[1] == 222);
    KT_CHECK(got_when[0] == 0);
    answer(REPLY(s, 0), 111);
    KT_CHECK(got_when[0] == 2 && got_label[0] == LABEL_ANSWER && got_word[0] == 111);
    answer(REPLY(s, 0), 333); /* empty now: nothing happens */
    KT_CHECK(answers == 2);
    /* Not a Reply cap: a TCB has no method of that label (on an endpoint
     * it would be a Call, waiting for a receiver). */
    KT_EXPECT_ERR(sys_reply_save(CLIENT(s, 0)), BK_ERR_ILLEGAL_OPERATION);
    return tear_down();
}

/* Deleting a Reply object that holds a Call wakes its caller with
 * CANCELLED; a caller stopped while its Call is saved leaves the object
 * empty, so it takes the next one. */
static int test_saved_call_ends_with_object_or_caller(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(set_up(env, s));
    KT_CHECK(receive_from(s, 0));
    KT_OK(sys_reply_save(REPLY(s, 0)));
    KT_OK(sys_cnode_delete(ROOT, REPLY(s, 0), W));
    KT_CHECK(got_when[0] == 1 && got_label[0] == BK_ERR_CANCELLED);
    KT_CHECK(receive_from(s, 1));
    KT_OK(sys_reply_save(REPLY(s, 1)));
    KT_OK(sys_tcb_suspend(CLIENT(s, 1)));
    KT_CHECK(kt_check_invariants() == 0);
    answer(REPLY(s, 1), 1); /* its caller is gone: nowhere */
    KT_CHECK(got_when[1] == 0);
    /* Client 1 started again (an exited thread stays exited; a suspended
     * one starts over), its Call saved in the same object: it was emptied. */
    KT_OK(bk_thread_start(CLIENT(s, 1), ROOT, BK_CAP_ROOT_VSPACE, client, EP(s) << 8 | 1,
                          stacks[1], STACK_SIZE, 0, 200));
    KT_CHECK(receive_from(s, 1));
    KT_OK(sys_reply_save(REPLY(s, 1)));
    answer(REPLY(s, 1), 5);
    KT_CHECK(got_when[1] == 2 && got_word[1] == 5 && got_label[1] == LABEL_ANSWER);
    return tear_down();
}

/* A passive server (no SchedContext of its own) at 150 between us (100)
 * and the clients (200): client 0's Call lends it client 0's SchedContext;
 * it saves that Call and waits for the next, and blocking sends the
 * SchedContext home. Client 1's Call lends client 1's; on it, the server
 * answers client 0 through the Reply object, and client 0, back on its
 * own SchedContext and above the server, runs at once: before client 1
 * gets its answer. */
static void saving_server(uint64_t s)
{
    struct bk_msg m = { 0 };
    sys_recv(EP(s), &m);
    sys_reply_save(REPLY(s, 0));
    sys_recv(EP(s), &m);
    answer(REPLY(s, 0), 10);
    m = (struct bk_msg){ .info = bk_msginfo(LABEL_ANSWER, 1), .mr = { 20 } };
    sys_reply_recv(EP(s), &m);
    sys_thread_exit(0);
}

static int test_passive_server_saves_a_call(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, EP(s), 1));
    KT_OK(kt_retype(env, BK_OBJ_REPLY, 0, REPLY(s, 0), 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_TCB, 0, ROOT, 0, 0, SERVER(s), 1));
    KT_OK(sys_untyped_retype(env->untyped, BK_OBJ_SCHED_CONTEXT, 0, ROOT, 0, 0, SERVER_SC(s), 1));
    KT_OK(sys_sched_control_configure(BK_CAP_SCHED_CONTROL, SERVER_SC(s), 10000000, 10000000, 1,
                                      0));
    KT_OK(sys_sched_context_bind(SERVER_SC(s), SERVER(s)));
    KT_OK(sys_tcb_set_priority(BK_CAP_ROOT_TCB, BK_CAP_ROOT_TCB, 100));
    KT_OK(bk_thread_start(SERVER(s), ROOT, BK_CAP_ROOT_VSPACE, saving_server, s, stacks[2],
                          STACK_SIZE, 0, 150));
    KT_OK(sys_sched_context_unbind(SERVER_SC(s))); /* it waits in Recv: passive now */
    KT_OK(kt_retype(env, BK_OBJ_TCB, 0, CLIENT(s, 0), 2));
    for (unsigned i = 0; i < 2; i++)
        got_label[i] = got_word[i] = got_when[i] = 0;
    answers = 0;
    for (unsigned i = 0; i < 2; i++)
        KT_OK(bk_thread_start(CLIENT(s, i), ROOT, BK_CAP_ROOT_VSPACE, client, EP(s) << 8 | i,
                              stacks[i], STACK_SIZE, 0, 200));
    for (unsigned spins = 0; answers < 2 && spins < 1000; spins++) {
        struct bk_msg m = { 0 };
        sys_yield(0, &m);
    }
    KT_CHECK(got_when[0] == 1 && got_word[0] == 10 && got_label[0] == LABEL_ANSWER);
    KT_CHECK(got_when[1] == 2 && got_word[1] == 20 && got_label[1] == LABEL_ANSWER);
    return tear_down();
}

const struct ktest reply_tests[] = {
    { "reply: a thread holds two Calls in Reply objects and answers them in any order",
      test_two_calls_held_and_answered_in_any_order },
    { "reply: deleting the object cancels its Call; a stopped caller leaves it empty",
      test_saved_call_ends_with_object_or_caller },
    { "reply: a passive server saves a Call; its caller's SchedContext goes home",
      test_passive_server_saves_a_call },
};
const unsigned reply_test_count = sizeof(reply_tests) / sizeof(reply_tests[0]);
