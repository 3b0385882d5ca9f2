/* Host tests of notifications (kernel/notification.c) through the syscall
 * entry: Signal (Send on a notification cap), Wait (Recv) and Poll
 * (NBRecv), badges OR-ed into the word, the rights each needs, waiters
 * served in order, and a notification bound to a thread (TCB:
 * BindNotification) ending its Recv on an endpoint. */
#include "kworld.h"

static void test_signal_then_wait(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    unsigned b1 = kw_mint(&w, n, CAP_RIGHT_WRITE, 0x1);
    unsigned b4 = kw_mint(&w, n, CAP_RIGHT_WRITE, 0x4);
    kw_send(w.root, b1, 0, NULL);
    kw_send(w.root, b4, 0, NULL);
    kw_send(w.root, b1, 0, NULL);
    struct notification *obj = kw_object(&w, n);
    CHECK(obj->active);
    CHECK_EQ(obj->word, 0x5);
    kw_recv(w.root, n); /* active: returns at once with the word, and clears it */
    CHECK(current_thread == w.root);
    CHECK_EQ(kw_badge(w.root), 0x5);
    CHECK(!obj->active);
    CHECK_EQ(obj->word, 0);
    kw_free(&w);
}

static void test_unbadged_signal_still_counts(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    kw_nbrecv(w.root, n); /* Poll with nothing there: 0, no block */
    CHECK_EQ(kw_badge(w.root), 0);
    CHECK(current_thread == w.root);
    kw_send(w.root, n, 0, NULL);
    CHECK(((struct notification *)kw_object(&w, n))->active);
    kw_nbrecv(w.root, n);
    CHECK_EQ(kw_badge(w.root), 0);
    CHECK(!((struct notification *)kw_object(&w, n))->active);
    kw_free(&w);
}

/* Waiters block, and each signal wakes the first with the bits. */
static void test_wait_blocks_until_signal(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    unsigned b = kw_mint(&w, n, CAP_RIGHT_WRITE, 0x30);
    struct thread *t[2];
    for (unsigned i = 0; i < 2; i++) {
        t[i] = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 40));
        kw_park(&w);
        kw_recv(t[i], n);
        CHECK_EQ(t[i]->state, THREAD_BLOCKED_NOTIFICATION);
        kw_back_to_root(&w);
    }
    kw_send(w.root, b, 0, NULL);
    CHECK_EQ(t[0]->state, THREAD_RUNNABLE);
    CHECK_EQ(kw_badge(t[0]), 0x30);
    CHECK_EQ(t[1]->state, THREAD_BLOCKED_NOTIFICATION);
    CHECK(!((struct notification *)kw_object(&w, n))->active); /* handed over, not kept */
    kw_send(w.root, n, 0, NULL);
    CHECK_EQ(t[1]->state, THREAD_RUNNABLE);
    CHECK_EQ(kw_badge(t[1]), 0);
    kw_free(&w);
}

static void test_rights(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    unsigned read_only = kw_mint(&w, n, CAP_RIGHT_READ, 0);
    unsigned write_only = kw_mint(&w, n, CAP_RIGHT_WRITE, 0);
    kw_send(w.root, read_only, 0, NULL);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(w.root)), BK_ERR_INSUFFICIENT_RIGHTS);
    CHECK(!((struct notification *)kw_object(&w, n))->active);
    kw_recv(w.root, write_only);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(w.root)), BK_ERR_INSUFFICIENT_RIGHTS);
    CHECK(current_thread == w.root);
    kw_free(&w);
}

/* A bound notification ends the thread's Recv on an endpoint with its
 * word, or, already signalled, makes the next Recv return at once. */
static void test_bound_notification(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    unsigned b = kw_mint(&w, n, CAP_RIGHT_WRITE, 0x8);
    unsigned tcb = kw_thread(&w, kw_space(&w), 40);
    struct thread *t = kw_tcb(&w, tcb);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_BIND_NOTIFICATION, 1, n, 0, 0, 0), 0);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_BIND_NOTIFICATION, 1, n, 0, 0, 0),
             BK_ERR_ILLEGAL_OPERATION); /* one binding each way */
    kw_park(&w);
    kw_recv(t, ep);
    CHECK_EQ(t->state, THREAD_BLOCKED_RECV);
    kw_back_to_root(&w);
    kw_send(w.root, b, 0, NULL);
    CHECK_EQ(t->state, THREAD_RUNNABLE);
    CHECK_EQ(kw_badge(t), 0x8);
    struct endpoint *e = kw_object(&w, ep);
    CHECK(e->head == NULL && e->state == EP_IDLE);
    /* Signalled first: the Recv returns at once. */
    kw_send(w.root, b, 0, NULL);
    kw_park(&w);
    CHECK(current_thread == t);
    kw_recv(t, ep);
    CHECK(current_thread == t);
    CHECK_EQ(kw_badge(t), 0x8);
    /* Unbound, a signal no longer reaches the Recv. */
    kw_recv(t, ep);
    kw_back_to_root(&w);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_UNBIND_NOTIFICATION, 0, 0, 0, 0, 0), 0);
    kw_send(w.root, b, 0, NULL);
    CHECK_EQ(t->state, THREAD_BLOCKED_RECV);
    CHECK(((struct notification *)kw_object(&w, n))->active);
    kw_free(&w);
}

/* Deleting a notification wakes its waiters with CANCELLED and unbinds. */
static void test_delete_cancels_waiters(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    unsigned tcb = kw_thread(&w, KW_ROOT_VSPACE, 40);
    struct thread *t = kw_tcb(&w, tcb);
    CHECK_EQ(kw_invoke(&w, tcb, BK_LABEL_TCB_BIND_NOTIFICATION, 1, n, 0, 0, 0), 0);
    kw_park(&w);
    kw_recv(t, n);
    kw_back_to_root(&w);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, n, 64, 0, 0), 0);
    CHECK_EQ(t->state, THREAD_RUNNABLE);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(t)), BK_ERR_CANCELLED);
    CHECK(t->bound_notification == NULL);
    kw_free(&w);
}

TEST_MAIN(TEST(test_signal_then_wait), TEST(test_unbadged_signal_still_counts),
          TEST(test_wait_blocks_until_signal), TEST(test_rights), TEST(test_bound_notification),
          TEST(test_delete_cancels_waiters))
