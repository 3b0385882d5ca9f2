/* Host tests, through the syscall entry, that waking the threads queued
 * on an endpoint or notification is bounded per kernel entry (issue 12):
 * CNode: CancelBadgedSends, the end of a badge family, Delete of the final
 * cap of an endpoint or notification, the emptying of a CNode and the
 * revoke of an untyped that meet such caps, TCB: SetFaultEndpoint and
 * IRQHandler: SetNotification replacing one, walks that meet, and woken
 * senders that send again during the walk. Each kernel entry may wake at
 * most one batch (64) of threads, one once an interrupt is pending after
 * every step; between entries the cap waits in its slot as a zombie, and
 * the invariants hold; in the end every thread that should be woke with
 * CANCELLED, and no other. */
#include "kworld.h"

#include "irq.h"
#include "object.h"
#include "revoke_all.h"
#include "untyped.h"

#define CROWD 200 /* threads queued: a few batches */
#define BATCH 64  /* threads woken or looked at per kernel entry (ipc.h) */
#define PRIO 30
#define LINE 9

struct crowd {
    struct kworld w;
    struct thread *t[CROWD];
};

/* A new thread that sends (or, for a notification, waits) through the cap
 * in `via` and blocks there. */
static struct thread *queue_one(struct kworld *w, unsigned via, bool wait)
{
    struct thread *t = kw_tcb(w, kw_thread(w, KW_ROOT_VSPACE, PRIO));
    kw_park(w);
    if (wait)
        kw_recv(t, via);
    else
        kw_send(t, via, BK_MSGINFO(1, 0, 0, 0), (const uint64_t[4]){ 1 });
    kw_back_to_root(w);
    return t;
}

/* CROWD threads: thread i goes through via[i % 2]. */
static void queue_crowd(struct crowd *c, const unsigned via[2], bool wait)
{
    for (unsigned i = 0; i < CROWD; i++)
        c->t[i] = queue_one(&c->w, via[i % 2], wait);
}

static bool is_cancelled(const struct thread *t)
{
    return t->state == THREAD_RUNNABLE && BK_MSGINFO_LABEL(kw_info(t)) == BK_ERR_CANCELLED;
}

static unsigned woken(const struct crowd *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < CROWD; i++)
        n += c->t[i]->state == THREAD_RUNNABLE;
    return n;
}

struct entries {
    unsigned count;       /* kernel entries the method took */
    unsigned max_woken;   /* the most threads one of them woke */
    unsigned zombie_seen; /* entries after which `watch` held a zombie */
    uint64_t violations;  /* invariant violations seen between entries */
    uint64_t result;      /* the method's error, 0 for success */
};

/* Invokes a method that may restart (KERR_RESTART rewinds the driver to
 * its syscall instruction; the fake CPU makes it again, as user mode
 * would), counting the threads each entry wakes; between entries, checks
 * the invariants and whether `watch` (NULL: none) holds a zombie. */
static struct entries invoke_to_end(struct crowd *c, uint64_t cptr, uint64_t label, unsigned n,
                                    uint64_t a0, uint64_t a1, uint64_t a2,
                                    const struct cte *watch)
{
    struct kworld *w = &c->w;
    struct entries e = { 0 };
    for (;;) {
        vaddr_t pc = w->root->regs.pc;
        unsigned before = woken(c);
        e.result = kw_invoke(w, cptr, label, n, a0, a1, a2, 0);
        unsigned now = woken(c);
        e.max_woken = now - before > e.max_woken ? now - before : e.max_woken;
        e.count++;
        if (w->root->regs.pc != pc - 4)
            return e;
        e.zombie_seen += watch && cap_type(&watch->cap) == CAP_ZOMBIE;
        e.violations += kw_invariants(w);
        w->root->regs.pc = pc;
    }
}

static void report(const char *what, const struct entries *e)
{
    printf("  %s: %u kernel entries, at most %u threads woken in one\n", what, e->count,
           e->max_woken);
}

/* Bounded, restarted, and the zombie held the slot in between. */
static void check_bounded(const struct entries *e, unsigned at_least, bool zombie)
{
    CHECK_EQ(e->result, 0);
    CHECK(e->max_woken <= BATCH);
    CHECK(e->count >= at_least);
    CHECK_EQ(e->violations, 0);
    if (zombie)
        CHECK_EQ(e->zombie_seen, e->count - 1);
}

/* ---- The cases ------------------------------------------------------------- */

/* CancelBadgedSends of badge 7 among senders of 7 and 9: the walk looks at
 * every sender, a batch per entry; the 9s stay queued, in order. */
static void test_cancel_badged_sends(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned ep = kw_retype(&c.w, CAP_ENDPOINT, 0, 1);
    unsigned via[2] = { kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 7), kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 9) };
    queue_crowd(&c, via, false);
    struct entries e =
        invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_CANCEL_BADGED_SENDS, 3, ep, 64, 7, NULL);
    report("CancelBadgedSends", &e);
    check_bounded(&e, CROWD / BATCH, false);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(i % 2 == 0 ? is_cancelled(c.t[i]) : c.t[i]->state == THREAD_BLOCKED_SEND);
    struct endpoint *o = kw_object(&c.w, ep);
    CHECK(o->cancel_badge == 0 && o->cancel_next == NULL);
    for (unsigned i = 1; i < CROWD; i += 2) {
        kw_nbrecv(c.w.root, ep);
        CHECK(kw_badge(c.w.root) == 9 && c.t[i]->state == THREAD_RUNNABLE);
    }
    CHECK(o->head == NULL);
    kw_free(&c.w);
}

/* Delete of the final cap of an endpoint (made from an untyped of its
 * own) with every thread queued: a waiters zombie holds the slot, and the
 * untyped keeps a child, until the last one is woken. */
static void test_delete_endpoint(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned sub = kw_retype(&c.w, CAP_UNTYPED, 12, 1), ep = c.w.next_slot++;
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&c.w.slots[sub], CAP_ENDPOINT, 0, &c.w.slots[ep], 1, &info), 0);
    queue_crowd(&c, (const unsigned[2]){ ep, ep }, false);
    uint64_t live = object_live_count(CAP_ENDPOINT);
    vaddr_t pc = c.w.root->regs.pc;
    (void)kw_invoke(&c.w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, ep, 64, 0, 0);
    CHECK(c.w.root->regs.pc == pc - 4 && cap_type(&c.w.slots[ep].cap) == CAP_ZOMBIE);
    CHECK(cte_has_children(&c.w.slots[sub])); /* the memory stays put */
    CHECK_EQ(object_live_count(CAP_ENDPOINT), live - 1); /* destroyed from the start */
    c.w.root->regs.pc = pc;
    struct entries e = invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, ep, 64, 0,
                                     &c.w.slots[ep]);
    report("endpoint Delete", &e);
    check_bounded(&e, CROWD / BATCH - 1, true);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(is_cancelled(c.t[i]));
    CHECK(cap_is_null(&c.w.slots[ep].cap) && !cte_has_children(&c.w.slots[sub]));
    revoke_all(&c.w.slots[sub]);
    CHECK_EQ(untyped_retype(&c.w.slots[sub], CAP_ENDPOINT, 0, &c.w.slots[ep], 1, &info), 0);
    CHECK_EQ(kw_invariants(&c.w), 0);
    kw_free(&c.w);
}

/* Delete of the final cap of a notification that every thread waits on
 * and one thread is bound to. */
static void test_delete_notification(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned n = kw_retype(&c.w, CAP_NOTIFICATION, 0, 1);
    queue_crowd(&c, (const unsigned[2]){ n, n }, true);
    unsigned bound = kw_thread(&c.w, KW_ROOT_VSPACE, PRIO);
    CHECK_EQ(kw_invoke(&c.w, bound, BK_LABEL_TCB_BIND_NOTIFICATION, 1, n, 0, 0, 0), 0);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK_EQ(c.t[i]->state, THREAD_BLOCKED_NOTIFICATION);
    struct entries e = invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, n, 64, 0,
                                     &c.w.slots[n]);
    report("notification Delete", &e);
    check_bounded(&e, CROWD / BATCH, true);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(is_cancelled(c.t[i]));
    CHECK(kw_tcb(&c.w, bound)->bound_notification == NULL && cap_is_null(&c.w.slots[n].cap));
    kw_free(&c.w);
}

/* Delete of the last cap of badge 7's family while senders of 7 and 9
 * wait: the 7s are cancelled a batch per entry, the 9s stay. */
static void test_badge_family_end(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned ep = kw_retype(&c.w, CAP_ENDPOINT, 0, 1);
    unsigned via[2] = { kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 7), kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 9) };
    queue_crowd(&c, via, false);
    uint64_t refs = *object_refs(&c.w.slots[ep].cap);
    struct entries e = invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, via[0], 64, 0,
                                     &c.w.slots[via[0]]);
    report("Delete ending a badge family", &e);
    check_bounded(&e, CROWD / BATCH, true);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(i % 2 == 0 ? is_cancelled(c.t[i]) : c.t[i]->state == THREAD_BLOCKED_SEND);
    CHECK_EQ(*object_refs(&c.w.slots[ep].cap), refs - 1);
    CHECK(cap_is_null(&c.w.slots[via[0]].cap));
    kw_free(&c.w);
}

/* Revoke of an untyped whose endpoint has senders (through an unbadged
 * copy and a badged one), and whose notification has waiters. */
static void test_revoke_untyped(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned sub = kw_retype(&c.w, CAP_UNTYPED, 12, 1), ep = c.w.next_slot, n = ep + 1;
    c.w.next_slot += 2;
    struct kerror_info info = { 0 };
    CHECK_EQ(untyped_retype(&c.w.slots[sub], CAP_ENDPOINT, 0, &c.w.slots[ep], 1, &info), 0);
    CHECK_EQ(untyped_retype(&c.w.slots[sub], CAP_NOTIFICATION, 0, &c.w.slots[n], 1, &info), 0);
    unsigned badged = kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 5);
    for (unsigned i = 0; i < CROWD; i++)
        c.t[i] = i < CROWD / 2 ? queue_one(&c.w, i % 2 ? badged : ep, false)
                               : queue_one(&c.w, n, true);
    struct entries e = invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, sub, 64, 0, NULL);
    report("untyped Revoke", &e);
    check_bounded(&e, CROWD / BATCH, false);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(is_cancelled(c.t[i]));
    CHECK_EQ(cap_untyped_free_index(&c.w.slots[sub].cap), 0);
    CHECK_EQ(untyped_retype(&c.w.slots[sub], CAP_CNODE, 6, &c.w.slots[ep], 1, &info), 0);
    CHECK_EQ(kw_invariants(&c.w), 0);
    kw_free(&c.w);
}

/* Delete of the final cap of a CNode holding the only caps to an endpoint
 * with senders and a notification with waiters: its zombie meets them and
 * wakes their threads in place, a batch per entry. */
static void test_cnode_emptying(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned cn = kw_retype(&c.w, CAP_CNODE, 4, 1);
    unsigned ep = kw_retype(&c.w, CAP_ENDPOINT, 0, 1), n = kw_retype(&c.w, CAP_NOTIFICATION, 0, 1);
    for (unsigned i = 0; i < CROWD; i++)
        c.t[i] = queue_one(&c.w, i % 2 ? n : ep, i % 2);
    struct cte *in = cnode_slots(&c.w.slots[cn].cap);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_move(&c.w.slots[ep], &in[2], &info), 0);
    CHECK_EQ(cnode_move(&c.w.slots[n], &in[9], &info), 0);
    struct entries e = invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, cn, 64, 0,
                                     &c.w.slots[cn]);
    report("CNode Delete", &e);
    check_bounded(&e, CROWD / BATCH, true);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(is_cancelled(c.t[i]));
    CHECK(cap_is_null(&c.w.slots[cn].cap));
    kw_free(&c.w);
}

/* TCB: SetFaultEndpoint replacing the final cap of an endpoint with
 * senders restarts until they are woken, then installs the new one. */
static void test_set_fault_endpoint(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned ep = kw_retype(&c.w, CAP_ENDPOINT, 0, 1), other = kw_retype(&c.w, CAP_ENDPOINT, 0, 1);
    queue_crowd(&c, (const unsigned[2]){ ep, ep }, false);
    unsigned tcb = kw_thread(&c.w, KW_ROOT_VSPACE, 10);
    CHECK_EQ(kw_invoke(&c.w, tcb, BK_LABEL_TCB_SUSPEND, 0, 0, 0, 0, 0), 0);
    CHECK_EQ(kw_invoke(&c.w, tcb, BK_LABEL_TCB_SET_FAULT_ENDPOINT, 1, ep, 0, 0, 0), 0);
    CHECK_EQ(kw_invoke(&c.w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, ep, 64, 0, 0), 0);
    struct thread *t = kw_tcb(&c.w, tcb);
    struct entries e = invoke_to_end(&c, tcb, BK_LABEL_TCB_SET_FAULT_ENDPOINT, 1, other, 0, 0,
                                     &t->fault_endpoint);
    report("SetFaultEndpoint", &e);
    check_bounded(&e, CROWD / BATCH, true);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(is_cancelled(c.t[i]));
    CHECK(cap_type(&t->fault_endpoint.cap) == CAP_ENDPOINT &&
          cap_object(&t->fault_endpoint.cap) == kw_object(&c.w, other));
    kw_free(&c.w);
}

/* A walk for badge 7 abandoned after one entry: a sender of 7 it has not
 * reached yet that changes priority is cancelled, not moved ahead of the
 * walk; a sender of 9 moves as usual. A cancellation of badge 9 then
 * finishes the walk for 7 first: every sender is cancelled. */
static void test_walks_meet(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned ep = kw_retype(&c.w, CAP_ENDPOINT, 0, 1);
    unsigned via[2] = { kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 7), kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 9) };
    queue_crowd(&c, via, false);
    vaddr_t pc = c.w.root->regs.pc;
    (void)kw_invoke(&c.w, KW_CNODE, BK_LABEL_CNODE_CANCEL_BADGED_SENDS, 3, ep, 64, 7, 0);
    CHECK_EQ(c.w.root->regs.pc, pc - 4);
    c.w.root->regs.pc = pc; /* abandoned */
    struct endpoint *o = kw_object(&c.w, ep);
    CHECK(o->cancel_badge == 7 && o->cancel_next != NULL);
    CHECK_EQ(woken(&c), BATCH / 2);
    struct thread *late7 = c.t[CROWD - 2], *late9 = c.t[CROWD - 1];
    uint64_t late7_tcb = 0, late9_tcb = 0;
    for (unsigned s = KW_FIRST_FREE; s < c.w.next_slot; s++) {
        if (cap_type(&c.w.slots[s].cap) == CAP_TCB && kw_tcb(&c.w, s) == late7)
            late7_tcb = s;
        if (cap_type(&c.w.slots[s].cap) == CAP_TCB && kw_tcb(&c.w, s) == late9)
            late9_tcb = s;
    }
    CHECK_EQ(kw_invoke(&c.w, late7_tcb, BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, PRIO + 1, 0, 0),
             0);
    CHECK(is_cancelled(late7) && late7->priority == PRIO + 1);
    CHECK_EQ(kw_invoke(&c.w, late9_tcb, BK_LABEL_TCB_SET_PRIORITY, 2, KW_ROOT_TCB, PRIO + 1, 0, 0),
             0);
    CHECK(late9->state == THREAD_BLOCKED_SEND && o->head == late9);
    CHECK_EQ(kw_invariants(&c.w), 0);
    struct entries e =
        invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_CANCEL_BADGED_SENDS, 3, ep, 64, 9, NULL);
    report("CancelBadgedSends meeting another's walk", &e);
    check_bounded(&e, 3, false);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(is_cancelled(c.t[i]));
    CHECK(o->cancel_badge == 0 && o->head == NULL);
    kw_free(&c.w);
}

/* A walk for badge 7 given up after one entry; the 32 senders it woke
 * send again at once with badge 7 (behind the walk's cursor): when the
 * walk goes on they are looked at but not cancelled again, so a walk
 * always ends. */
static void test_resend_during_walk(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned ep = kw_retype(&c.w, CAP_ENDPOINT, 0, 1);
    unsigned via[2] = { kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 7), kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 9) };
    queue_crowd(&c, via, false);
    vaddr_t pc = c.w.root->regs.pc;
    (void)kw_invoke(&c.w, KW_CNODE, BK_LABEL_CNODE_CANCEL_BADGED_SENDS, 3, ep, 64, 7, 0);
    c.w.root->regs.pc = pc; /* abandoned */
    CHECK_EQ(woken(&c), BATCH / 2);
    kw_park(&c.w);
    unsigned resent = 0;
    while (current_thread != c.w.waker && resent <= BATCH) {
        kw_send(current_thread, via[0], BK_MSGINFO(1, 0, 0, 0), (const uint64_t[4]){ 2 });
        resent++;
    }
    kw_back_to_root(&c.w);
    CHECK_EQ(resent, BATCH / 2);
    CHECK_EQ(woken(&c), 0);
    struct entries e =
        invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_CANCEL_BADGED_SENDS, 3, ep, 64, 7, NULL);
    report("CancelBadgedSends with senders resending", &e);
    check_bounded(&e, 2, false);
    for (unsigned i = 0; i < CROWD; i++) {
        bool first_batch = i < BATCH; /* woken then, resent since: queued again */
        CHECK(i % 2 == 1 || first_batch ? c.t[i]->state == THREAD_BLOCKED_SEND
                                        : is_cancelled(c.t[i]));
    }
    kw_free(&c.w);
}

/* The last IRQHandler cap of a line goes while the line's notification
 * cap is the final one of a notification with waiters: inside that
 * delete's step it becomes a waiters zombie in the line, which signals
 * nothing; the next SetNotification wakes them, restarting, then binds. */
static void test_irq_line_notification(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned n = kw_retype(&c.w, CAP_NOTIFICATION, 0, 1), n2 = kw_retype(&c.w, CAP_NOTIFICATION, 0, 1);
    queue_crowd(&c, (const unsigned[2]){ n, n }, true);
    unsigned handler = c.w.next_slot++;
    CHECK_EQ(kw_invoke(&c.w, KW_IRQ_CONTROL, BK_LABEL_IRQ_CONTROL_GET, 4, LINE, KW_CNODE, handler,
                       64), 0);
    CHECK_EQ(kw_invoke(&c.w, handler, BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION, 1, n, 0, 0, 0), 0);
    CHECK_EQ(kw_invoke(&c.w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, n, 64, 0, 0), 0);
    CHECK_EQ(kw_invoke(&c.w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, handler, 64, 0, 0), 0);
    const cap_t *bound = &irq_line(LINE)->notification.cap;
    CHECK(cap_type(bound) == CAP_ZOMBIE && cap_zombie_is_waiters(bound));
    CHECK(woken(&c) <= 1);
    CHECK_EQ(kw_invariants(&c.w), 0);
    CHECK_EQ(kw_invoke(&c.w, KW_IRQ_CONTROL, BK_LABEL_IRQ_CONTROL_GET, 4, LINE, KW_CNODE, handler,
                       64), 0);
    (void)fake_irq_raise(LINE);
    CHECK(irq_line(LINE)->pending); /* not signalled through the zombie */
    struct entries e = invoke_to_end(&c, handler, BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION, 1, n2, 0,
                                     0, &irq_line(LINE)->notification);
    report("SetNotification over a waiters zombie", &e);
    check_bounded(&e, CROWD / BATCH - 1, true);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(is_cancelled(c.t[i]));
    CHECK(cap_type(bound) == CAP_NOTIFICATION && cap_object(bound) == kw_object(&c.w, n2));
    struct notification *o2 = kw_object(&c.w, n2);
    CHECK(o2->active && !irq_line(LINE)->pending); /* the waiting interrupt came through */
    kw_free(&c.w);
}

/* An interrupt pending after every step (taken at each restart): the
 * walk of CancelBadgedSends looks at one sender per kernel entry, and
 * the end of the other badge's family then wakes its senders one per
 * entry, the zombie holding the slot in between. */
static void test_one_step_per_entry_while_pending(void)
{
    struct crowd c;
    kw_init(&c.w);
    unsigned ep = kw_retype(&c.w, CAP_ENDPOINT, 0, 1);
    unsigned via[2] = { kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 7), kw_mint(&c.w, ep, CAP_RIGHTS_ALL, 9) };
    queue_crowd(&c, via, false);
    fake_pending.every = 1;
    struct entries e =
        invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_CANCEL_BADGED_SENDS, 3, ep, 64, 7, NULL);
    report("CancelBadgedSends, an interrupt after every step", &e);
    CHECK(e.result == 0 && e.count == CROWD && e.max_woken == 1 && e.violations == 0);
    e = invoke_to_end(&c, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, via[1], 64, 0, &c.w.slots[via[1]]);
    report("a badge family's end, an interrupt after every step", &e);
    fake_pending.every = 0;
    CHECK(e.result == 0 && e.count == CROWD / 2 && e.max_woken == 1 && e.violations == 0);
    CHECK_EQ(e.zombie_seen, e.count - 1);
    for (unsigned i = 0; i < CROWD; i++)
        CHECK(is_cancelled(c.t[i]));
    kw_free(&c.w);
}

TEST_MAIN(TEST(test_cancel_badged_sends), TEST(test_delete_endpoint),
          TEST(test_delete_notification), TEST(test_badge_family_end), TEST(test_revoke_untyped),
          TEST(test_cnode_emptying), TEST(test_set_fault_endpoint), TEST(test_walks_meet),
          TEST(test_resend_during_walk), TEST(test_irq_line_notification),
          TEST(test_one_step_per_entry_while_pending))
