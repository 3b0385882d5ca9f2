/* Host tests, through the syscall entry, of the preemption points of the
 * long kernel calls (kernel/preempt.h): a call stops after any step once
 * an interrupt is pending (the fake's fake_pending), restarts, and ends
 * as an uninterrupted one would:
 *  - Untyped: Retype stopped while making its objects restarts as the
 *    call for the rest (its offset and count, in the caller's IPC buffer,
 *    moved on), and makes the same objects at the same addresses; a
 *    destination filled meanwhile fails the rest, the objects made stay;
 *    its check of the destination slots stops and goes on in steps too;
 *  - the interrupt is taken before the kernel leaves, so the thread it
 *    wakes runs next, not the caller;
 *  - with an interrupt pending after every step, each kernel entry still
 *    does a step: Revoke, Delete of a CNode that holds a CNode, and
 *    CancelBadgedSends all finish;
 *  - another CPU waiting for the kernel lock ends a batch as an interrupt
 *    does. */
#include "kworld.h"

#include "object.h"
#include "preempt.h"
#include "smp.h"
#include "untyped.h"

#define OBJECTS 64
#define SUB_BITS 16 /* 64 KiB: 64 endpoints and room to spare */
#define LINE 9

/* ---- Retype, one kernel entry at a time ------------------------------------ */

/* Retype as libsys's stub makes it: words 0-3 in registers, 4-6 in the
 * IPC buffer (node_depth 0: the root CNode itself). */
static enum fake_exit retype_entry(struct kworld *w, unsigned ut, unsigned first, unsigned n)
{
    struct bk_ipc_buffer *b = kw_buffer(w->root);
    b->mr[4] = 0;
    b->mr[5] = first;
    b->mr[6] = n;
    return kw_sys(w->root, BK_SYS_CALL, ut, BK_MSGINFO(7, 0, 0, BK_LABEL_UNTYPED_RETYPE),
                  CAP_ENDPOINT, 0, KW_CNODE, 0);
}

/* Makes the syscall instruction again, as user mode does after a restart,
 * with the registers and IPC buffer as the kernel left them. */
static enum fake_exit again(struct kworld *w)
{
    w->root->regs.pc += 4;
    const uint64_t *a = &w->root->regs.gpr[10];
    return kw_sys(w->root, BK_SYS_CALL, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static bool restarted(const struct kworld *w, vaddr_t pc)
{
    return w->root->regs.pc == pc - 4;
}

struct retype_run {
    unsigned entries, restarts_with_objects;
    uint64_t result;
};

/* A Retype of `n` endpoints into [first, ...) made to its end, checking
 * after each restart that the IPC buffer asks for the rest. */
static struct retype_run retype_to_end(struct kworld *w, unsigned ut, unsigned first, unsigned n)
{
    struct retype_run r = { 0 };
    vaddr_t pc = w->root->regs.pc;
    CHECK_EQ(retype_entry(w, ut, first, n), FAKE_EXIT_USER);
    for (r.entries = 1; restarted(w, pc); r.entries++) {
        const struct bk_ipc_buffer *b = kw_buffer(w->root);
        unsigned made = 0;
        while (made < n && !cap_is_null(&w->slots[first + made].cap))
            made++;
        CHECK_EQ(b->mr[5], first + made);
        CHECK_EQ(b->mr[6], n - made);
        r.restarts_with_objects += made > 0 && made < n;
        CHECK_EQ(kw_invariants(w), 0);
        CHECK_EQ(again(w), FAKE_EXIT_USER);
    }
    r.result = BK_MSGINFO_LABEL(kw_info(w->root));
    return r;
}

/* Where each object lies in its untyped. */
static void offsets(const struct kworld *w, unsigned ut, unsigned first, uint64_t *out)
{
    for (unsigned i = 0; i < OBJECTS; i++)
        out[i] = (uint64_t)(uintptr_t)cap_object(&w->slots[first + i].cap) -
                 cap_untyped_base(&w->slots[ut].cap);
}

/* With an interrupt every 8 polls (taken at each restart), the Retype of
 * 64 endpoints stops in its zeroing and while making them, restarts as
 * the call for the rest, and ends with the objects, the watermark and
 * what is known zero exactly those of the same Retype uninterrupted. */
static void test_retype_restarts_as_the_call_for_the_rest(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned plain = kw_retype(&w, CAP_UNTYPED, SUB_BITS, 1);
    unsigned cut = kw_retype(&w, CAP_UNTYPED, SUB_BITS, 1);
    unsigned first = w.next_slot, other = first + OBJECTS;
    w.next_slot += 2 * OBJECTS;
    struct retype_run r = retype_to_end(&w, plain, other, OBJECTS);
    CHECK(r.entries == 1 && r.result == 0);
    fake_pending.every = 8;
    r = retype_to_end(&w, cut, first, OBJECTS);
    fake_pending.every = 0;
    CHECK_EQ(r.result, 0);
    CHECK(r.restarts_with_objects >= 4);
    CHECK_EQ(fake_pending.taken, r.entries - 1);
    uint64_t a[OBJECTS], b[OBJECTS];
    offsets(&w, plain, other, a);
    offsets(&w, cut, first, b);
    for (unsigned i = 0; i < OBJECTS; i++) {
        CHECK_EQ(cap_type(&w.slots[first + i].cap), CAP_ENDPOINT);
        CHECK_EQ(b[i], a[i]);
    }
    CHECK_EQ(cap_untyped_free_index(&w.slots[cut].cap),
             cap_untyped_free_index(&w.slots[plain].cap));
    CHECK_EQ(cap_untyped_clean(&w.slots[cut].cap), cap_untyped_clean(&w.slots[plain].cap));
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* The call for the rest is decoded anew: a destination slot filled
 * between two entries fails it (DELETE_FIRST), and the objects the first
 * entries made stay, children of the untyped. */
static void test_retype_rest_is_decoded_again(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ut = kw_retype(&w, CAP_UNTYPED, SUB_BITS, 1);
    unsigned first = w.next_slot;
    w.next_slot += OBJECTS;
    unsigned blocker = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    uint64_t endpoints = object_live_count(CAP_ENDPOINT);
    fake_pending.every = 40; /* past the zeroing, into the objects */
    vaddr_t pc = w.root->regs.pc;
    CHECK_EQ(retype_entry(&w, ut, first, OBJECTS), FAKE_EXIT_USER);
    while (restarted(&w, pc) && cap_is_null(&w.slots[first].cap))
        CHECK_EQ(again(&w), FAKE_EXIT_USER);
    fake_pending.every = 0;
    CHECK(restarted(&w, pc));
    uint64_t made = kw_buffer(w.root)->mr[5] - first;
    CHECK(made > 0 && made < OBJECTS);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(&w.slots[blocker], &w.slots[first + made], CAP_RIGHTS_ALL, &info),
             KERR_OK);
    CHECK_EQ(again(&w), FAKE_EXIT_USER);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(w.root)), BK_ERR_DELETE_FIRST);
    for (unsigned i = 0; i < made; i++)
        CHECK_EQ(cap_type(&w.slots[first + i].cap), CAP_ENDPOINT);
    CHECK_EQ(object_live_count(CAP_ENDPOINT), endpoints + made);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* With an interrupt pending after every poll, a Retype of the most objects
 * at once checks its slots RETYPE_CHECK_STEP (32) a kernel entry, its
 * arguments untouched and nothing made, and the same call made again goes
 * on from where the check stopped: 7 entries check, the 8th checks the
 * last 32, then one step each: 16 KiB zeroed in 16, one object each. */
static void test_retype_checks_its_slots_in_steps(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ut = kw_retype(&w, CAP_UNTYPED, SUB_BITS, 1);
    unsigned first = w.next_slot, n = BK_RETYPE_MAX_OBJECTS;
    w.next_slot += n;
    fake_pending.every = 1;
    vaddr_t pc = w.root->regs.pc;
    CHECK_EQ(retype_entry(&w, ut, first, n), FAKE_EXIT_USER);
    unsigned entries = 1;
    for (; entries < 8; entries++) {
        CHECK(restarted(&w, pc));
        CHECK(cap_is_null(&w.slots[first].cap) && !cte_has_children(&w.slots[ut]));
        CHECK(kw_buffer(w.root)->mr[5] == first && kw_buffer(w.root)->mr[6] == n);
        CHECK_EQ(w.root->retype_check.checked, 32u * entries);
        CHECK_EQ(again(&w), FAKE_EXIT_USER);
    }
    while (restarted(&w, pc)) {
        CHECK_EQ(again(&w), FAKE_EXIT_USER);
        entries++;
    }
    fake_pending.every = 0;
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(w.root)), 0);
    CHECK_EQ(entries, 8u + 16 + n - 1);
    for (unsigned i = 0; i < n; i++)
        CHECK_EQ(cap_type(&w.slots[first + i].cap), CAP_ENDPOINT);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* A slot the check passed in an earlier entry and filled before the next:
 * the objects before it are made, its cap is kept, the call fails
 * (DELETE_FIRST), and the next Retype checks from the start again. */
static void test_retype_finds_a_slot_filled_behind_its_check(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned ut = kw_retype(&w, CAP_UNTYPED, SUB_BITS, 1);
    unsigned first = w.next_slot, n = 100;
    w.next_slot += n;
    unsigned blocker = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    fake_pending.every = 1;
    vaddr_t pc = w.root->regs.pc;
    CHECK_EQ(retype_entry(&w, ut, first, n), FAKE_EXIT_USER);
    CHECK(restarted(&w, pc) && w.root->retype_check.checked == 32);
    struct kerror_info info = { 0 };
    CHECK_EQ(cnode_copy(&w.slots[blocker], &w.slots[first + 5], CAP_RIGHTS_ALL, &info), KERR_OK);
    do
        CHECK_EQ(again(&w), FAKE_EXIT_USER);
    while (restarted(&w, pc));
    fake_pending.every = 0;
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(w.root)), BK_ERR_DELETE_FIRST);
    for (unsigned i = 0; i < 5; i++)
        CHECK_EQ(cap_type(&w.slots[first + i].cap), CAP_ENDPOINT);
    CHECK_EQ(cap_type(&w.slots[first + 5].cap), CAP_NOTIFICATION);
    CHECK(cap_is_null(&w.slots[first + 6].cap));
    CHECK(w.root->retype_check.untyped == NULL);
    /* A new call is checked whole before anything is made. */
    CHECK_EQ(retype_entry(&w, ut, first + 4, 10), FAKE_EXIT_USER);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(w.root)), BK_ERR_DELETE_FIRST);
    CHECK(cap_is_null(&w.slots[first + 6].cap));
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* ---- The interrupt is taken in the kernel ---------------------------------- */

/* A thread at 150 waits for an interrupt; one at 100 revokes 200 copies.
 * The interrupt arrives during the Revoke: the kernel stops after a few
 * steps, takes it there, and leaves to the thread it woke. The Revoke
 * made again goes on from where it stopped. */
static void test_interrupt_taken_before_leaving(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned handler = w.next_slot++;
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    CHECK_EQ(kw_invoke(&w, KW_IRQ_CONTROL, BK_LABEL_IRQ_CONTROL_GET, 4, LINE, KW_CNODE, handler,
                       64), 0);
    CHECK_EQ(kw_invoke(&w, handler, BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION, 1, n, 0, 0, 0), 0);
    unsigned ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    for (unsigned i = 0; i < 200; i++)
        kw_mint(&w, ep, CAP_RIGHTS_ALL, 0);
    struct thread *driver = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 150));
    struct thread *caller = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 100));
    kw_park(&w);
    kw_recv(driver, n);
    CHECK(current_thread == caller);
    fake_irq_lines[LINE].waiting = true; /* the device interrupted */
    fake_pending.every = 5;
    vaddr_t pc = caller->regs.pc;
    CHECK_EQ(kw_sys(caller, BK_SYS_CALL, KW_CNODE, BK_MSGINFO(2, 0, 0, BK_LABEL_CNODE_REVOKE), ep,
                    64, 0, 0), FAKE_EXIT_USER);
    CHECK(current_thread == driver);
    CHECK_EQ(caller->regs.pc, pc - 4);
    CHECK_EQ(fake_pending.taken, 1);
    CHECK_EQ(fake_irq_lines[LINE].delivered, 1);
    CHECK_EQ(*object_refs(&w.slots[ep].cap), 1 + 200 - 5);
    fake_pending.every = 0;
    kw_recv(driver, n); /* waits again: the caller goes on */
    CHECK(current_thread == caller);
    caller->regs.pc = pc;
    CHECK_EQ(kw_sys(caller, BK_SYS_CALL, KW_CNODE, BK_MSGINFO(2, 0, 0, BK_LABEL_CNODE_REVOKE), ep,
                    64, 0, 0), FAKE_EXIT_USER);
    CHECK_EQ(caller->regs.pc, pc - 4); /* 195 copies: four batches of 64 */
    for (unsigned i = 0; i < 3; i++) {
        caller->regs.pc = pc;
        kw_sys(caller, BK_SYS_CALL, KW_CNODE, BK_MSGINFO(2, 0, 0, BK_LABEL_CNODE_REVOKE), ep, 64,
               0, 0);
    }
    CHECK_EQ(caller->regs.pc, pc);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(caller)), 0);
    CHECK_EQ(*object_refs(&w.slots[ep].cap), 1);
    kw_free(&w);
}

/* ---- A step per entry at least ---------------------------------------------- */

/* The driver's invocation made again until it does not restart; returns
 * the kernel entries it took, and checks that each did some work: what
 * `state` reads changed. The invocation's result is checked at the end
 * (a restarted call's registers still hold its request). */
static unsigned entries_to_end(struct kworld *w, uint64_t cptr, uint64_t label, unsigned n,
                               uint64_t a0, uint64_t a1, uint64_t (*state)(struct kworld *))
{
    vaddr_t pc = w->root->regs.pc;
    uint64_t before = state(w);
    for (unsigned entries = 1;; entries++) {
        w->root->regs.pc = pc;
        uint64_t result = kw_invoke(w, cptr, label, n, a0, a1, 0, 0);
        uint64_t now = state(w);
        CHECK(now != before);
        before = now;
        if (w->root->regs.pc != pc - 4) {
            CHECK_EQ(result, 0);
            return entries;
        }
    }
}

static unsigned copies_ep, deleted_cnode;

static uint64_t copies_left(struct kworld *w)
{
    return *object_refs(&w->slots[copies_ep].cap);
}

/* Each step of a Delete changes the cap in the slot deleted (a CNode cap,
 * then a zombie whose next index moves on or that trades places with
 * another) or destroys an endpoint. */
static uint64_t delete_state(struct kworld *w)
{
    const cap_t *c = &w->slots[deleted_cnode].cap;
    return c->w[0] ^ (c->w[1] * 3) ^ (c->w[2] * 5) ^ (object_live_count(CAP_ENDPOINT) << 40);
}

/* An interrupt pending after every step, taken at each restart: a Revoke
 * of 300 copies deletes one a kernel entry, and a Delete of a CNode of
 * 256 slots holding a CNode of 64 still finishes, every entry doing some
 * of it. */
static void test_pending_after_every_step_still_progresses(void)
{
    struct kworld w;
    kw_init(&w);
    copies_ep = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    for (unsigned i = 0; i < 300; i++)
        kw_mint(&w, copies_ep, CAP_RIGHTS_ALL, 0);
    fake_pending.every = 1;
    CHECK_EQ(entries_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, copies_ep, 64, copies_left),
             300u);
    CHECK_EQ(copies_left(&w), 1);
    fake_pending.every = 0;

    deleted_cnode = kw_retype(&w, CAP_CNODE, 8, 1);
    struct kerror_info info = { 0 };
    struct cte *in = cnode_slots(&w.slots[deleted_cnode].cap);
    CHECK_EQ(untyped_retype(&w.untyped, CAP_CNODE, 6, &in[0], 1, &info), KERR_OK);
    CHECK_EQ(untyped_retype(&w.untyped, CAP_ENDPOINT, 0, &in[1], 200, &info), KERR_OK);
    uint64_t endpoints = object_live_count(CAP_ENDPOINT), cnodes = object_live_count(CAP_CNODE);
    fake_pending.every = 1;
    unsigned entries = entries_to_end(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, deleted_cnode, 64,
                                      delete_state);
    fake_pending.every = 0;
    /* 256 + 64 slots, two zombies made and gone: about a step an entry. */
    CHECK(entries > 256 && entries <= 256 + 64 + 4);
    CHECK_EQ(object_live_count(CAP_ENDPOINT), endpoints - 200);
    CHECK_EQ(object_live_count(CAP_CNODE), cnodes - 2);
    CHECK(cap_is_null(&w.slots[deleted_cnode].cap));
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

/* ---- The timer's deadline is known ahead ---------------------------------- */

/* A world whose endpoint has `n` copies of its cap; returns its slot. */
static unsigned endpoint_with_copies(struct kworld *w, unsigned n)
{
    kw_init(w);
    unsigned ep = kw_retype(w, CAP_ENDPOINT, 0, 1);
    for (unsigned i = 0; i < n; i++)
        kw_mint(w, ep, CAP_RIGHTS_ALL, 0);
    return ep;
}

/* The Revoke of `ep` made again from `pc` until it ends (4 entries at
 * most), then the world checked (no copy left) and freed. */
static void revoke_to_end(struct kworld *w, unsigned ep, vaddr_t pc)
{
    for (unsigned i = 0; i < 4 && w->root->regs.pc != pc; i++) {
        w->root->regs.pc = pc;
        kw_invoke(w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, ep, 64, 0, 0);
    }
    CHECK_EQ(w->root->regs.pc, pc);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(w->root)), 0);
    CHECK_EQ(*object_refs(&w->slots[ep].cap), 1);
    CHECK_EQ(kw_invariants(w), 0);
    kw_free(w);
}

/* A call that starts PREEMPT_LOOKAHEAD_NS or less before the deadline does
 * nothing: it restarts, waits for the deadline and serves it as an
 * interrupt from user mode (the tick taken, the timer set once); made
 * again, it does a step at least, near a deadline or not. */
static void test_call_near_the_deadline_waits_for_it(void)
{
    struct kworld w;
    unsigned ep = endpoint_with_copies(&w, 10);
    fake_timer.now_ns = fake_timer.deadline_ns - PREEMPT_LOOKAHEAD_NS / 2;
    fake_timer.counter_step = 1;
    uint64_t ticks = kernel_ticks(), set = fake_timer.deadlines_set, deadline = fake_timer.deadline_ns;
    vaddr_t pc = w.root->regs.pc;
    kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, ep, 64, 0, 0);
    CHECK_EQ(w.root->regs.pc, pc - 4);
    CHECK_EQ(*object_refs(&w.slots[ep].cap), 11); /* no copy deleted */
    CHECK(fake_timer.now_ns >= deadline);
    CHECK_EQ(kernel_ticks(), ticks + 1);
    CHECK_EQ(fake_timer.deadlines_set, set + 1);
    CHECK(fake_timer.deadline_ns > deadline);
    /* Made again just before the next deadline: it does a step all the
     * same (progress), then ends its batch for the deadline. */
    fake_timer.now_ns = fake_timer.deadline_ns - PREEMPT_LOOKAHEAD_NS / 2;
    fake_timer.counter_step = 0;
    w.root->regs.pc = pc;
    kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, ep, 64, 0, 0);
    CHECK_EQ(w.root->regs.pc, pc - 4);
    CHECK_EQ(*object_refs(&w.slots[ep].cap), 10);
    CHECK_EQ(kernel_ticks(), ticks + 2);
    revoke_to_end(&w, ep, pc);
}

/* A batch ends once the deadline comes near, before its fixed bound and
 * with no interrupt pending yet; the deadline is then waited for and
 * served before the kernel leaves. The Revoke made again goes on. */
static void test_batch_ends_ahead_of_the_deadline(void)
{
    struct kworld w;
    unsigned ep = endpoint_with_copies(&w, 100);
    /* Each clock read moves it on 10 ns: a poll reads it once. */
    fake_timer.now_ns = fake_timer.deadline_ns - PREEMPT_LOOKAHEAD_NS - 200;
    fake_timer.counter_step = 10;
    uint64_t ticks = kernel_ticks(), deadline = fake_timer.deadline_ns;
    vaddr_t pc = w.root->regs.pc;
    kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, ep, 64, 0, 0);
    fake_timer.counter_step = 0;
    CHECK_EQ(w.root->regs.pc, pc - 4);
    uint64_t left = *object_refs(&w.slots[ep].cap);
    CHECK(left > 101 - 64 && left < 101); /* some steps, fewer than a batch */
    CHECK(fake_timer.now_ns >= deadline);
    CHECK_EQ(kernel_ticks(), ticks + 1);
    revoke_to_end(&w, ep, pc);
}

/* Another CPU waiting for the kernel lock ends a batch after its step, as
 * a pending interrupt does (preempt.h: kernel_lock_wanted()): a Revoke of
 * 300 copies takes a kernel entry a copy, where it takes 5 batches with
 * nobody waiting; and a waiter with one CPU online (no other CPU to hold
 * the lock) changes nothing. */
static void test_lock_waiter_ends_the_batch(void)
{
    struct kworld w;
    copies_ep = endpoint_with_copies(&w, 300);
    kernel_lock_waiting = 1;
    CHECK_EQ(entries_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, copies_ep, 64, copies_left),
             5u); /* one CPU: nobody else can want the lock */
    for (unsigned i = 0; i < 300; i++)
        kw_mint(&w, copies_ep, CAP_RIGHTS_ALL, 0);
    smp_others_online = true;
    unsigned entries =
        entries_to_end(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, copies_ep, 64, copies_left);
    smp_others_online = false;
    kernel_lock_waiting = 0;
    CHECK_EQ(entries, 300u);
    CHECK_EQ(copies_left(&w), 1);
    CHECK_EQ(kw_invariants(&w), 0);
    kw_free(&w);
}

TEST_MAIN(TEST(test_retype_restarts_as_the_call_for_the_rest),
          TEST(test_retype_rest_is_decoded_again), TEST(test_retype_checks_its_slots_in_steps),
          TEST(test_retype_finds_a_slot_filled_behind_its_check), TEST(test_interrupt_taken_before_leaving),
          TEST(test_pending_after_every_step_still_progresses),
          TEST(test_call_near_the_deadline_waits_for_it), TEST(test_batch_ends_ahead_of_the_deadline),
          TEST(test_lock_waiter_ends_the_batch))
