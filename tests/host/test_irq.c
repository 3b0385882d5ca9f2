/* Host tests of interrupts (kernel/irq.c, irq_handler.c) against the fake
 * arch's interrupt controller (tests/host/fake_irq.c): IRQControl: Get
 * and its checks, IRQHandler: SetNotification, Ack and Clear, delivery
 * as a signal of the bound notification with the line masked until the
 * driver acks, an interrupt kept pending while no notification is bound,
 * and the line disabled when its last handler cap goes. */
#include "irq.h"
#include "kworld.h"

#define LINE 9

static uint64_t get(struct kworld *w, uint64_t irq, unsigned dest)
{
    return kw_invoke(w, KW_IRQ_CONTROL, BK_LABEL_IRQ_CONTROL_GET, 4, irq, KW_CNODE, dest, 64);
}

static void test_get_checks(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned dest = w.next_slot++;
    CHECK_EQ(get(&w, FAKE_IRQ_LINES, dest), BK_ERR_RANGE);
    CHECK_EQ(kw_result(&w, 1), FAKE_IRQ_LINES - 1);
    CHECK_EQ(get(&w, 0, dest), BK_ERR_INVALID_ARGUMENT); /* reserved by the controller */
    CHECK_EQ(get(&w, LINE, KW_CNODE), BK_ERR_DELETE_FIRST);
    CHECK(!fake_irq_lines[LINE].enabled); /* the refusals enabled nothing */
    CHECK_EQ(get(&w, LINE, dest), 0);
    CHECK_EQ(cap_type(&w.slots[dest].cap), CAP_IRQ_HANDLER);
    CHECK(fake_irq_lines[LINE].enabled && !fake_irq_lines[LINE].masked);
    CHECK_EQ(get(&w, LINE, w.next_slot++), BK_ERR_REVOKE_FIRST); /* issued already */
    kw_free(&w);
    CHECK(!fake_irq_lines[LINE].enabled); /* the last handler cap went with the world */
}

/* A driver waits on the bound notification; the interrupt wakes it with
 * the badge, and the line stays masked until its Ack. */
static void test_delivery_and_ack(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned handler = w.next_slot++;
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    unsigned badged = kw_mint(&w, n, CAP_RIGHTS_ALL, 0x40);
    unsigned read_only = kw_mint(&w, n, CAP_RIGHT_READ, 0);
    CHECK_EQ(get(&w, LINE, handler), 0);
    CHECK_EQ(kw_invoke(&w, handler, BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION, 1, read_only, 0, 0,
                       0), BK_ERR_INSUFFICIENT_RIGHTS);
    CHECK_EQ(kw_invoke(&w, handler, BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION, 1, KW_CNODE, 0, 0, 0),
             BK_ERR_INVALID_CAPABILITY);
    CHECK_EQ(kw_invoke(&w, handler, BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION, 1, badged, 0, 0, 0),
             0);
    struct thread *driver = kw_tcb(&w, kw_thread(&w, kw_space(&w), 120));
    unsigned quiet = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    kw_park(&w);
    kw_recv(driver, n);
    CHECK_EQ(driver->state, THREAD_BLOCKED_NOTIFICATION);
    CHECK(current_thread == w.waker);
    uint64_t arrived = irq_pending_count(LINE); /* counted since the process began */
    /* The device interrupts the waker; the driver outranks it. */
    CHECK_EQ(fake_irq_raise(LINE), FAKE_EXIT_USER);
    CHECK(current_thread == driver);
    CHECK_EQ(kw_badge(driver), 0x40);
    CHECK(fake_irq_lines[LINE].masked);
    CHECK_EQ(irq_pending_count(LINE), arrived + 1);
    /* Masked: a second interrupt waits in the controller. */
    CHECK_EQ(fake_irq_raise(LINE), FAKE_EXIT_NONE);
    CHECK_EQ(fake_irq_lines[LINE].delivered, 1);
    kw_sys(driver, BK_SYS_CALL, handler, BK_MSGINFO(0, 0, 0, BK_LABEL_IRQ_HANDLER_ACK), 0, 0, 0,
           0);
    CHECK_EQ(BK_MSGINFO_LABEL(kw_info(driver)), 0);
    CHECK(!fake_irq_lines[LINE].masked);
    CHECK_EQ(fake_irq_lines[LINE].acks, 1);
    /* The waiting one arrives once the CPU idles: the driver wakes again. */
    kw_recv(driver, n);
    CHECK(current_thread == w.waker);
    CHECK_EQ(kw_recv(w.waker, quiet), FAKE_EXIT_USER);
    CHECK(current_thread == driver);
    CHECK_EQ(kw_badge(driver), 0x40);
    CHECK_EQ(fake_irq_lines[LINE].delivered, 2);
    CHECK(fake_irq_lines[LINE].masked);
    CHECK(fake_cpu.idle_waits > 0);
    kw_send(driver, KW_PARK, 0, NULL);
    CHECK(current_thread == w.root);
    kw_free(&w);
}

/* With no notification bound an interrupt stays pending and arrives when
 * one is bound; Clear unbinds; deleting the handler disables the line. */
static void test_pending_clear_and_delete(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned handler = w.next_slot++;
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    unsigned badged = kw_mint(&w, n, CAP_RIGHTS_ALL, 0x2);
    CHECK_EQ(get(&w, LINE, handler), 0);
    unsigned tcb = kw_thread(&w, KW_ROOT_VSPACE, 10);
    kw_park(&w);
    kw_recv(kw_tcb(&w, tcb), KW_PARK); /* out of the way, behind the driver */
    CHECK_EQ(fake_irq_raise(LINE), FAKE_EXIT_USER);
    CHECK(current_thread == w.waker);
    CHECK(irq_line(LINE)->pending);
    kw_back_to_root(&w);
    struct notification *obj = kw_object(&w, n);
    CHECK(!obj->active);
    CHECK_EQ(kw_invoke(&w, handler, BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION, 1, badged, 0, 0, 0),
             0);
    CHECK(obj->active && obj->word == 0x2);
    CHECK(!irq_line(LINE)->pending);
    CHECK_EQ(kw_invoke(&w, handler, BK_LABEL_IRQ_HANDLER_CLEAR, 0, 0, 0, 0, 0), 0);
    CHECK(cap_is_null(&irq_line(LINE)->notification.cap));
    /* A copy keeps the line issued; the last cap's deletion disables it. */
    unsigned copy = kw_mint(&w, handler, CAP_RIGHTS_ALL, 0);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, handler, 64, 0, 0), 0);
    CHECK(fake_irq_lines[LINE].enabled);
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, copy, 64, 0, 0), 0);
    CHECK(!fake_irq_lines[LINE].enabled);
    CHECK_EQ(get(&w, LINE, w.next_slot++), 0); /* free for the next Get */
    kw_free(&w);
}

/* Every thread waits: the CPU idles until the device interrupts. */
static void test_interrupt_wakes_idle_cpu(void)
{
    struct kworld w;
    kw_init(&w);
    unsigned handler = w.next_slot++;
    unsigned n = kw_retype(&w, CAP_NOTIFICATION, 0, 1);
    unsigned quiet = kw_retype(&w, CAP_ENDPOINT, 0, 1);
    CHECK_EQ(get(&w, LINE, handler), 0);
    CHECK_EQ(kw_invoke(&w, handler, BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION, 1, n, 0, 0, 0), 0);
    struct thread *driver = kw_tcb(&w, kw_thread(&w, KW_ROOT_VSPACE, 120));
    kw_park(&w);
    kw_recv(driver, n);
    CHECK_EQ(kw_recv(w.waker, quiet), FAKE_EXIT_IDLE);
    CHECK_EQ(fake_irq_raise(LINE), FAKE_EXIT_USER);
    CHECK(current_thread == driver);
    CHECK_EQ(driver->state, THREAD_RUNNABLE);
    kw_send(driver, KW_PARK, 0, NULL);
    CHECK(current_thread == w.root);
    kw_free(&w);
}

TEST_MAIN(TEST(test_interrupt_wakes_idle_cpu), TEST(test_get_checks), TEST(test_delivery_and_ack), TEST(test_pending_clear_and_delete))
