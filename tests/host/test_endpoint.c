/* Host tests of endpoints (kernel/endpoint.c) through the syscall entry:
 * Send, Recv, Call, Reply, ReplyRecv, blocking both ways, the send
 * queue's order (priority, then FIFO), badges, capability transfer with
 * and without the grant right, and cancellation when an endpoint or a
 * blocked thread is deleted and by CNode: CancelBadgedSends. */
#include "kworld.h"

/* A server and a client in address spaces of their own; the driver has
 * parked, so the server (priority 100) runs and the client (50) waits. */
struct pair {
    struct kworld w;
    unsigned ep, server_tcb, client_tcb;
    struct thread *server, *client;
};

static void pair_make(struct pair *p, uint8_t server_prio, uint8_t client_prio)
{
    kw_init(&p->w);
    p->ep = kw_retype(&p->w, CAP_ENDPOINT, 0, 1);
    p->server_tcb = kw_thread(&p->w, kw_space(&p->w), server_prio);
    p->client_tcb = kw_thread(&p->w, kw_space(&p->w), client_prio);
    p->server = kw_tcb(&p->w, p->server_tcb);
    p->client = kw_tcb(&p->w, p->client_tcb);
}

static void pair_init(struct pair *p, uint8_t server_prio, uint8_t client_prio)
{
    pair_make(p, server_prio, client_prio);
    kw_park(&p->w);
}

static void test_call_reply_recv(void)
{
    struct pair p;
    pair_init(&p, 100, 50);
    unsigned badged = kw_mint(&p.w, p.ep, CAP_RIGHTS_ALL, 0x42);
    CHECK(current_thread == p.server);
    kw_recv(p.server, p.ep); /* blocks: nobody sends yet */
    CHECK_EQ(p.server->state, THREAD_BLOCKED_RECV);
    CHECK(current_thread == p.client);
    const uint64_t words[4] = { 11, 22, 33, 44 };
    kw_call(p.client, badged, BK_MSGINFO(3, 0, 0, 0x77), words);
    /* The server has the message and runs; the client waits for the answer. */
    CHECK(current_thread == p.server);
    CHECK_EQ(p.client->state, THREAD_BLOCKED_REPLY);
    CHECK_EQ(kw_badge(p.server), 0x42);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.server)), 0x77);
    CHECK_EQ(BK_MSGINFO_LENGTH(kw_info(p.server)), 3);
    CHECK_EQ(kw_mr(p.server, 0), 11);
    CHECK_EQ(kw_mr(p.server, 2), 33);
    CHECK_EQ(kw_mr(p.server, 3), 0); /* beyond the length: 0, not the sender's word */
    const uint64_t answer[4] = { 99 };
    kw_reply_recv(p.server, p.ep, BK_MSGINFO(1, 0, 0, 5), answer);
    CHECK_EQ(p.server->state, THREAD_BLOCKED_RECV);
    CHECK(current_thread == p.client);
    CHECK_EQ(kw_badge(p.client), 0); /* replies carry no badge */
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.client)), 5);
    CHECK_EQ(kw_mr(p.client, 0), 99);
    CHECK(p.server->caller == NULL && p.client->reply_from == NULL);
    kw_free(&p.w);
}

static void test_send_blocks_until_recv(void)
{
    struct pair p;
    pair_init(&p, 50, 100); /* the client runs first */
    CHECK(current_thread == p.client);
    const uint64_t words[4] = { 7 };
    kw_send(p.client, p.ep, BK_MSGINFO(1, 0, 0, 3), words);
    CHECK_EQ(p.client->state, THREAD_BLOCKED_SEND);
    CHECK(current_thread == p.server);
    kw_recv(p.server, p.ep);
    /* The sender is free again and outranks the receiver. */
    CHECK_EQ(p.client->state, THREAD_RUNNABLE);
    CHECK(current_thread == p.client);
    CHECK_EQ(kw_mr(p.server, 0), 7);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.server)), 3);
    CHECK(p.server->caller == NULL); /* a Send leaves nothing to answer */
    kw_free(&p.w);
}

static void test_nonblocking_variants(void)
{
    struct pair p;
    pair_init(&p, 100, 50);
    kw_nbrecv(p.server, p.ep); /* nobody sends: returns at once */
    CHECK(current_thread == p.server);
    CHECK_EQ(kw_info(p.server), 0);
    kw_nbsend(p.server, p.ep, BK_MSGINFO(0, 0, 0, 1), NULL); /* nobody receives: dropped */
    CHECK(current_thread == p.server);
    CHECK(((struct endpoint *)kw_object(&p.w, p.ep))->state == EP_IDLE);
    kw_free(&p.w);
}

/* Senders queue by priority, first come first served within one. */
static void test_send_queue_order(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    static const uint8_t prios[5] = { 30, 50, 30, 70, 50 };
    struct thread *t[5];
    for (unsigned i = 0; i < 5; i++) {
        unsigned badged = kw_mint(&w, ep, CAP_RIGHTS_ALL, 100 + i);
        t[i] = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, prios[i]));
        /* One at a time, so the order of sending is i's. */
        kw_park(&w);
        CHECK(current_thread == t[i]);
        kw_send(t[i], badged, BK_MSGINFO(0, 0, 0, 0), NULL);
        CHECK_EQ(t[i]->state, THREAD_BLOCKED_SEND);
        kw_back_to_root(&w);
    }
    static const unsigned expect[5] = { 3, 1, 4, 0, 2 };
    for (unsigned i = 0; i < 5; i++) {
        kw_nbrecv(w.root, ep);
        CHECK_EQ(kw_badge(w.root), 100 + expect[i]);
    }
    kw_free(&w);
}

/* A priority change moves a queued sender to the end of its new run. */
static void test_requeue_on_priority_change(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    unsigned tcb[3];
    for (unsigned i = 0; i < 3; i++) {
        unsigned badged = kw_mint(&w, ep, CAP_RIGHTS_ALL, 1 + i);
        tcb[i] = kw_thread(&w, KW_ROOT_VSPACE, 40);
        kw_park(&w);
        kw_send(kw_tcb(&w, tcb[i]), badged, 0, NULL);
        kw_back_to_root(&w);
    }
    CHECK_EQ(kw_invoke(&w, tcb[0], BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, 20, 0, 0), 0);
    CHECK_EQ(kw_invoke(&w, tcb[2], BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, 60, 0, 0), 0);
    CHECK_EQ(kw_invariants(&w), 0);
    static const uint64_t expect[3] = { 3, 2, 1 };
    for (unsigned i = 0; i < 3; i++) {
        kw_nbrecv(w.root, ep);
        CHECK_EQ(kw_badge(w.root), expect[i]);
    }
    kw_free(&w);
}

/* Receivers are served in arrival order. */
static void test_receivers_fifo(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    struct thread *r[3];
    for (unsigned i = 0; i < 3; i++) {
        r[i] = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 20 + 10 * i));
        kw_park(&w);
        kw_recv(r[i], ep);
        kw_back_to_root(&w);
    }
    for (unsigned i = 0; i < 3; i++) {
        const uint64_t words[4] = { i };
        kw_nbsend(w.root, ep, BK_MSGINFO(1, 0, 0, 0), words);
        CHECK_EQ(r[i]->state, THREAD_RUNNABLE);
        CHECK_EQ(kw_mr(r[i], 0), i);
    }
    kw_free(&w);
}

static void set_receive_slot(struct thread *t, unsigned slot)
{
    struct bk_ipc_buffer *b = kw_buffer(t);
    b->receive_cnode = KW_CNODE;
    b->receive_index = slot;
    b->receive_depth = 64;
}

/* A cap goes with the message only through an endpoint cap with grant;
 * an endpoint cap to the same endpoint arrives as its badge. */
static void test_cap_transfer(void)
{
    struct pair p;
    pair_make(&p, 100, 50);
    struct kworld *w = &p.w;
    unsigned ntfn = kw_retype(w, CAP_NOTIFICATION, 0, 1);
    unsigned no_grant = kw_mint(w, p.ep, CAP_RIGHT_READ | CAP_RIGHT_WRITE, 0);
    unsigned badged = kw_mint(w, p.ep, CAP_RIGHTS_ALL, 9);
    unsigned dest = w->next_slot++, dest2 = w->next_slot++;
    kw_park(w);
    set_receive_slot(p.server, dest);
    kw_recv(p.server, p.ep);
    kw_buffer(p.client)->caps[0] = ntfn;
    kw_send(p.client, p.ep, BK_MSGINFO(0, 1, 0, 0), NULL);
    CHECK(current_thread == p.server);
    CHECK_EQ(BK_MSGINFO_EXTRA_CAPS(kw_info(p.server)), 1);
    CHECK_EQ(BK_MSGINFO_CAPS_UNWRAPPED(kw_info(p.server)), 0);
    CHECK_EQ(cap_type(&w->slots[dest].cap), CAP_NOTIFICATION);
    CHECK(cap_object(&w->slots[dest].cap) == kw_object(w, ntfn));
    /* Without grant the cap stays home. */
    set_receive_slot(p.server, dest2);
    kw_recv(p.server, p.ep);
    kw_send(p.client, no_grant, BK_MSGINFO(0, 1, 0, 0), NULL);
    CHECK_EQ(BK_MSGINFO_EXTRA_CAPS(kw_info(p.server)), 0);
    CHECK(cap_is_null(&w->slots[dest2].cap));
    /* The endpoint's own cap is unwrapped into its badge. */
    kw_recv(p.server, p.ep);
    kw_buffer(p.client)->caps[0] = badged;
    kw_send(p.client, p.ep, BK_MSGINFO(0, 1, 0, 0), NULL);
    CHECK_EQ(BK_MSGINFO_EXTRA_CAPS(kw_info(p.server)), 1);
    CHECK_EQ(BK_MSGINFO_CAPS_UNWRAPPED(kw_info(p.server)), 1);
    CHECK_EQ(kw_buffer(p.server)->caps[0], 9);
    CHECK(cap_is_null(&w->slots[dest2].cap));
    kw_free(w);
}

/* Long messages travel buffer to buffer; without a buffer they are cut
 * to the register words. */
static void test_long_message(void)
{
    struct pair p;
    pair_init(&p, 100, 50);
    kw_recv(p.server, p.ep);
    struct bk_ipc_buffer *b = kw_buffer(p.client);
    for (unsigned i = 0; i < 10; i++)
        b->mr[i] = 1000 + i;
    const uint64_t words[4] = { 1, 2, 3, 4 };
    kw_send(p.client, p.ep, BK_MSGINFO(10, 0, 0, 0), words);
    CHECK_EQ(BK_MSGINFO_LENGTH(kw_info(p.server)), 10);
    CHECK_EQ(kw_mr(p.server, 3), 4);
    CHECK_EQ(kw_buffer(p.server)->mr[9], 1009);
    kw_free(&p.w);
}

static void test_badges_delivered(void)
{
    struct pair p;
    pair_make(&p, 100, 50);
    unsigned b1 = kw_mint(&p.w, p.ep, CAP_RIGHTS_ALL, 0x1111);
    unsigned b2 = kw_mint(&p.w, p.ep, CAP_RIGHT_WRITE, 0x2222);
    kw_park(&p.w);
    kw_recv(p.server, p.ep);
    kw_call(p.client, b1, 0, NULL);
    CHECK_EQ(kw_badge(p.server), 0x1111);
    kw_reply_recv(p.server, p.ep, 0, NULL);
    kw_call(p.client, b2, 0, NULL);
    CHECK_EQ(kw_badge(p.server), 0x2222);
    kw_reply_recv(p.server, p.ep, 0, NULL);
    kw_call(p.client, p.ep, 0, NULL);
    CHECK_EQ(kw_badge(p.server), 0);
    /* A cap without write cannot send; one without read cannot receive. */
    kw_reply_recv(p.server, b2, 0, NULL);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.server)), BK_ERR_INSUFFICIENT_RIGHTS);
    kw_free(&p.w);
}

static uint64_t delete_slot(struct kworld *w, unsigned slot)
{
    return kw_invoke(w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, slot, 64, 0, 0);
}

/* Deleting an endpoint wakes everyone queued on it with CANCELLED. */
static void test_cancel_on_endpoint_delete(void)
{
    struct pair p;
    pair_make(&p, 100, 50);
    unsigned ep2 = kw_retype(&p.w, CAP_ENDPOINT, 0, 1);
    kw_park(&p.w);
    kw_recv(p.server, p.ep);
    kw_call(p.client, ep2, BK_MSGINFO(0, 0, 0, 1), NULL);
    CHECK_EQ(p.client->state, THREAD_BLOCKED_SEND);
    kw_back_to_root(&p.w);
    CHECK_EQ(delete_slot(&p.w, p.ep), 0);
    CHECK_EQ(p.server->state, THREAD_RUNNABLE);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.server)), BK_ERR_CANCELLED);
    CHECK_EQ(delete_slot(&p.w, ep2), 0);
    CHECK_EQ(p.client->state, THREAD_RUNNABLE);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.client)), BK_ERR_CANCELLED);
    CHECK(p.client->reply_from == NULL);
    CHECK_EQ(kw_invariants(&p.w), 0);
    kw_free(&p.w);
}

/* A deleted thread leaves the queue it waited on, and its caller (the
 * Call it had not answered) gets CANCELLED. */
static void test_cancel_on_thread_delete(void)
{
    struct pair p;
    pair_make(&p, 100, 50);
    struct kworld *w = &p.w;
    unsigned other = kw_thread(w, KW_ROOT_VSPACE, 40);
    struct thread *sender = kw_tcb(w, other);
    unsigned ep2 = kw_retype(w, CAP_ENDPOINT, 0, 1);
    kw_park(w);
    kw_recv(p.server, p.ep);
    kw_call(p.client, p.ep, 0, NULL); /* the server now owes the client an answer */
    CHECK(p.server->caller == p.client);
    kw_recv(p.server, p.ep);          /* ...and waits for more, still owing it */
    CHECK(current_thread == sender);
    kw_send(sender, ep2, 0, NULL);
    kw_back_to_root(w);
    CHECK_EQ(delete_slot(w, other), 0);
    struct endpoint *e2 = kw_object(w, ep2);
    CHECK(e2->head == NULL && e2->state == EP_IDLE);
    CHECK_EQ(delete_slot(w, p.server_tcb), 0);
    CHECK_EQ(p.client->state, THREAD_RUNNABLE);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.client)), BK_ERR_CANCELLED);
    struct endpoint *e = kw_object(w, p.ep);
    CHECK(e->head == NULL && e->state == EP_IDLE);
    CHECK_EQ(kw_invariants(w), 0);
    kw_free(w);
}

static void test_cancel_badged_sends(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    static const uint64_t badges[3] = { 5, 7, 5 };
    struct thread *t[3];
    for (unsigned i = 0; i < 3; i++) {
        unsigned badged = kw_mint(&w, ep, CAP_RIGHTS_ALL, badges[i]);
        t[i] = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 30));
        kw_park(&w);
        kw_call(t[i], badged, 0, NULL);
        kw_back_to_root(&w);
    }
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_CANCEL_BADGED_SENDS, 3, ep, 64, 0, 0),
             BK_ERR_INVALID_ARGUMENT); /* badge 0 is nobody's */
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_CANCEL_BADGED_SENDS, 3, ep, 64, 5, 0), 0);
    CHECK_EQ(t[0]->state, THREAD_RUNNABLE);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(t[0])), BK_ERR_CANCELLED);
    CHECK_EQ(t[2]->state, THREAD_RUNNABLE);
    CHECK_EQ(t[1]->state, THREAD_BLOCKED_SEND);
    kw_nbrecv(w.root, ep);
    CHECK_EQ(kw_badge(w.root), 7);
    CHECK(w.root->caller == t[1]);
    kw_free(&w);
}

/* Reply answers the pending Call and returns; a second Reply has nothing
 * to answer and does nothing. */
static void test_reply_then_recv(void)
{
    struct pair p;
    pair_init(&p, 100, 50);
    kw_recv(p.server, p.ep);
    kw_call(p.client, p.ep, BK_MSGINFO(0, 0, 0, 1), NULL);
    const uint64_t answer[4] = { 5, 6 };
    kw_reply(p.server, BK_MSGINFO(2, 0, 0, 9), answer);
    CHECK(current_thread == p.server); /* it outranks the client it answered */
    CHECK_EQ(p.client->state, THREAD_RUNNABLE);
    CHECK_EQ(kw_mr(p.client, 1), 6);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.client)), 9);
    kw_reply(p.server, BK_MSGINFO(1, 0, 0, 10), answer);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.client)), 9);
    kw_recv(p.server, p.ep);
    CHECK(current_thread == p.client);
    kw_free(&p.w);
}

/* A fault is a Call from the faulting thread to its fault endpoint; a
 * reply with label 0 restarts it, any other label leaves it stopped. */
static void test_fault_goes_to_handler(void)
{
    struct pair p;
    pair_make(&p, 100, 50);
    unsigned badged = kw_mint(&p.w, p.ep, CAP_RIGHTS_ALL, 0xfa);
    CHECK_EQ(kw_invoke(&p.w, p.client_tcb, BK_LABEL_TCB_SET_FAULT_ENDPOINT, 1, badged, 0, 0, 0),
             0);
    kw_park(&p.w);
    kw_recv(p.server, p.ep);
    struct user_fault f = { .kind = USER_FAULT_PAGE, .pc = 0x401000, .addr = 0xdead000,
                            .access = FAULT_ACCESS_WRITE };
    CHECK_EQ(fake_user_fault(&f), FAKE_EXIT_USER);
    CHECK(current_thread == p.server);
    CHECK_EQ(kw_badge(p.server), 0xfa);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(p.server)), BK_FAULT_PAGE);
    CHECK_EQ(kw_mr(p.server, 0), 0x401000);
    CHECK_EQ(kw_mr(p.server, 1), 0xdead000);
    CHECK_EQ(kw_mr(p.server, 2), FAULT_ACCESS_WRITE);
    CHECK_EQ(p.client->state, THREAD_BLOCKED_REPLY);
    kw_reply_recv(p.server, p.ep, 0, NULL); /* label 0: restart */
    CHECK(current_thread == p.client);
    CHECK_EQ(p.client->regs.pc, 0x400000); /* its registers untouched */
    CHECK_EQ(fake_user_fault(&f), FAKE_EXIT_USER);
    kw_reply_recv(p.server, p.ep, BK_MSGINFO(0, 0, 0, 1), NULL); /* stay stopped */
    CHECK_EQ(p.client->state, THREAD_FAULTED);
    kw_free(&p.w);
}

TEST_MAIN(TEST(test_reply_then_recv), TEST(test_fault_goes_to_handler), TEST(test_call_reply_recv), TEST(test_send_blocks_until_recv),
          TEST(test_nonblocking_variants), TEST(test_send_queue_order),
          TEST(test_requeue_on_priority_change), TEST(test_receivers_fifo),
          TEST(test_cap_transfer), TEST(test_long_message), TEST(test_badges_delivered),
          TEST(test_cancel_on_endpoint_delete), TEST(test_cancel_on_thread_delete),
          TEST(test_cancel_badged_sends))
