/*
 * IRQControl, IRQHandler, IOPortControl and IOPort: handing out interrupt
 * lines and their errors, line bookkeeping across copies, moves and
 * deletes, notification binding, and on x86-64 I/O ports and a real device
 * interrupt driven entirely from user space: the CMOS RTC's periodic
 * interrupt (ISA IRQ 8, IOAPIC pin 8), programmed through an IOPort cap for
 * ports 0x70-0x71 and delivered to a notification.
 *
 * On RISC-V the interrupt path itself is not tested here: its test device
 * (the goldfish RTC) is MMIO and needs device frames mapped into the root
 * task first.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS

/* A line no device of either QEMU machine drives: x86 ISA IRQ 5, RISC-V
 * PLIC source 5 (an empty virtio-mmio slot). */
#define QUIET_LINE 5
#define IRQ_BADGE 0x5a

/* Waits, in timer ticks (BK_TICK_HZ per second): an interrupt gets 2 s
 * (generous under TCG), a quiet window 100 ms (the RTC ticks every ~1 ms). */
#define ARRIVE_TICKS 200
#define QUIET_TICKS 10

static long irq_get(uint64_t irq, uint64_t slot)
{
    return sys_irq_control_get(BK_CAP_IRQ_CONTROL, irq, ROOT, slot, W);
}

/* Invokes `label` on `cap` with `count` words; returns -error and the
 * reply's first two words (results, or RANGE's bounds). */
static long invoke2(uint64_t cap, uint64_t label, unsigned count, const uint64_t *words,
                    uint64_t *w0, uint64_t *w1)
{
    struct bk_msg r;
    kt_invoke(cap, label, count, words, &r);
    *w0 = r.mr[0];
    *w1 = r.mr[1];
    return -(long)BK_MSGINFO_LABEL(r.info);
}

/* The number of interrupt lines, from the RANGE error of a get past them. */
static uint64_t line_count(void)
{
    uint64_t args[4] = { ~0ull, ROOT, kt_slots(), W }, lo, hi;
    if (invoke2(BK_CAP_IRQ_CONTROL, BK_LABEL_IRQ_CONTROL_GET, 4, args, &lo, &hi) !=
        -BK_ERR_RANGE)
        return 0;
    return lo == 0 ? hi + 1 : 0;
}

/* Polls notification `ntfn` for up to `ticks`; returns the word it
 * delivered (0: nothing arrived). Bound caps carry IRQ_BADGE. */
static uint64_t poll_for(uint64_t ntfn, unsigned ticks)
{
    uint64_t start = debug_ticks();
    do {
        struct bk_msg m = { 0 };
        sys_nbrecv(ntfn, &m);
        if (m.badge)
            return m.badge;
    } while (debug_ticks() - start < ticks);
    return 0;
}

/* ---- IRQControl: Get ------------------------------------------------------ */

static int test_irq_control_slot(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_CHECK(kt_type(BK_CAP_IRQ_CONTROL) == BK_OBJ_IRQ_CONTROL);
    KT_EXPECT_ERR(sys_cnode_copy(ROOT, s, W, ROOT, BK_CAP_IRQ_CONTROL, W, BK_RIGHTS_ALL),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_cnode_mint(ROOT, s, W, ROOT, BK_CAP_IRQ_CONTROL, W, BK_RIGHTS_ALL, 1),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_CHECK(kt_type(s) == 0);
    return 0;
}

static int test_get_range(struct ktest_env *env)
{
    uint64_t s = kt_slots(), lo, hi;
    (void)env;
    uint64_t count = line_count();
    KT_CHECK(count > QUIET_LINE && count <= 1024);
    uint64_t args[4] = { count, ROOT, s, W };
    KT_CHECK(invoke2(BK_CAP_IRQ_CONTROL, BK_LABEL_IRQ_CONTROL_GET, 4, args, &lo, &hi) ==
             -BK_ERR_RANGE);
    KT_CHECK(lo == 0 && hi == count - 1);
    KT_EXPECT_ERR(irq_get(1ull << 32 | QUIET_LINE, s), BK_ERR_RANGE);
    KT_CHECK(kt_type(s) == 0);
    KT_OK(irq_get(count - 1, s));
    KT_CHECK(kt_type(s) == BK_OBJ_IRQ_HANDLER);
    return 0;
}

static int test_get_twice(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_OK(irq_get(QUIET_LINE, s));
    KT_CHECK(kt_type(s) == BK_OBJ_IRQ_HANDLER);
    KT_EXPECT_ERR(irq_get(QUIET_LINE, s + 1), BK_ERR_REVOKE_FIRST);
    KT_CHECK(kt_type(s + 1) == 0);
    KT_OK(irq_get(QUIET_LINE + 1, s + 1)); /* other lines are unaffected */
    return 0;
}

static int test_get_destination_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s, 1));
    KT_EXPECT_ERR(irq_get(QUIET_LINE, s), BK_ERR_DELETE_FIRST);
    KT_EXPECT_ERR(sys_irq_control_get(BK_CAP_IRQ_CONTROL, QUIET_LINE, s, 0, 1),
                  BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_irq_control_get(BK_CAP_IRQ_CONTROL, QUIET_LINE, s + 9, 0, 1),
                  BK_ERR_FAILED_LOOKUP);
    KT_EXPECT_ERR(sys_irq_control_get(BK_CAP_IRQ_CONTROL, QUIET_LINE, ROOT, s + 1, 0),
                  BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_irq_control_get(BK_CAP_IRQ_CONTROL, QUIET_LINE, ROOT, s + 1, 65),
                  BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_irq_control_get(BK_CAP_IRQ_CONTROL, QUIET_LINE, ROOT, s + 1, 12),
                  BK_ERR_FAILED_LOOKUP); /* the root CNode needs 64 bits */
    /* None of the failures issued the line. */
    KT_OK(irq_get(QUIET_LINE, s + 1));
    return 0;
}

/* A handler put into a CNode other than the root one; deleting that CNode
 * deletes the handler, which frees the line. */
static int test_get_into_nested_cnode(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_CNODE, 4, s, 1));
    KT_OK(sys_irq_control_get(BK_CAP_IRQ_CONTROL, QUIET_LINE, s, 3, 4));
    KT_EXPECT_ERR(sys_irq_control_get(BK_CAP_IRQ_CONTROL, QUIET_LINE, s, 4, 4),
                  BK_ERR_REVOKE_FIRST);
    KT_OK(sys_cnode_delete(ROOT, s, W));
    KT_OK(irq_get(QUIET_LINE, s + 1));
    return 0;
}

static int test_line_follows_last_cap(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_OK(irq_get(QUIET_LINE, s));
    KT_OK(sys_cnode_copy(ROOT, s + 1, W, ROOT, s, W, BK_RIGHTS_ALL));
    KT_OK(sys_cnode_mint(ROOT, s + 2, W, ROOT, s + 1, W, BK_RIGHTS_ALL, 7));
    KT_CHECK(kt_type(s + 1) == BK_OBJ_IRQ_HANDLER && kt_type(s + 2) == BK_OBJ_IRQ_HANDLER);
    KT_OK(sys_cnode_delete(ROOT, s, W));
    KT_OK(sys_cnode_delete(ROOT, s + 1, W));
    KT_EXPECT_ERR(irq_get(QUIET_LINE, s + 3), BK_ERR_REVOKE_FIRST);
    KT_OK(sys_cnode_move(ROOT, s + 4, W, ROOT, s + 2, W));
    KT_OK(sys_irq_handler_ack(s + 4)); /* the moved cap still works */
    KT_EXPECT_ERR(irq_get(QUIET_LINE, s + 3), BK_ERR_REVOKE_FIRST);
    KT_OK(sys_cnode_delete(ROOT, s + 4, W));
    KT_OK(irq_get(QUIET_LINE, s + 3));
    return 0;
}

static int test_revoke_irq_control(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_OK(irq_get(QUIET_LINE, s));
    KT_OK(irq_get(QUIET_LINE + 1, s + 1));
    KT_OK(sys_cnode_copy(ROOT, s + 2, W, ROOT, s + 1, W, BK_RIGHTS_ALL));
    KT_OK(sys_cnode_revoke(ROOT, BK_CAP_IRQ_CONTROL, W));
    KT_CHECK(kt_type(s) == 0 && kt_type(s + 1) == 0 && kt_type(s + 2) == 0);
    KT_CHECK(kt_type(BK_CAP_IRQ_CONTROL) == BK_OBJ_IRQ_CONTROL);
    KT_OK(irq_get(QUIET_LINE, s));
    KT_OK(irq_get(QUIET_LINE + 1, s + 1));
    return 0;
}

/* ---- IRQHandler -------------------------------------------------------- */

static int test_set_notification_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(irq_get(QUIET_LINE, s));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 1, 2));
    KT_OK(kt_retype(env, BK_OBJ_ENDPOINT, 0, s + 3, 1));
    KT_OK(sys_cnode_copy(ROOT, s + 4, W, ROOT, s + 1, W, BK_RIGHT_READ));
    KT_EXPECT_ERR(sys_irq_handler_set_notification(s, s + 3), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_irq_handler_set_notification(s, s + 4), BK_ERR_INSUFFICIENT_RIGHTS);
    KT_EXPECT_ERR(sys_irq_handler_set_notification(s, s + 9), BK_ERR_FAILED_LOOKUP);
    KT_OK(sys_irq_handler_set_notification(s, s + 1));
    KT_OK(sys_irq_handler_set_notification(s, s + 2)); /* rebinding replaces */
    KT_OK(sys_irq_handler_clear(s));
    KT_OK(sys_irq_handler_clear(s));
    return 0;
}

/* With nothing pending, ack changes nothing and signals nothing; the
 * bound notification outlives the deletion of its only user cap. */
static int test_ack_without_interrupt(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(irq_get(QUIET_LINE, s));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 1, 1));
    KT_OK(sys_cnode_mint(ROOT, s + 2, W, ROOT, s + 1, W, BK_RIGHTS_ALL, IRQ_BADGE));
    KT_OK(sys_irq_handler_set_notification(s, s + 2));
    KT_OK(sys_irq_handler_ack(s));
    KT_OK(sys_irq_handler_ack(s));
    KT_CHECK(poll_for(s + 1, 2) == 0);
    KT_OK(sys_cnode_delete(ROOT, s + 2, W));
    KT_OK(sys_cnode_delete(ROOT, s + 1, W));
    KT_OK(sys_irq_handler_ack(s));
    KT_OK(sys_cnode_delete(ROOT, s, W)); /* drops the binding's cap too */
    return 0;
}

static int test_methods_need_their_caps(struct ktest_env *env)
{
    uint64_t s = kt_slots(), w0, w1, arg = QUIET_LINE;
    (void)env;
    KT_OK(irq_get(QUIET_LINE, s));
    KT_EXPECT_ERR(sys_irq_handler_ack(ROOT), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_irq_handler_clear(BK_CAP_IRQ_CONTROL), BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_irq_control_get(s, QUIET_LINE + 1, ROOT, s + 2, W),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_CHECK(invoke2(BK_CAP_IRQ_CONTROL, BK_LABEL_IRQ_CONTROL_GET, 1, &arg, &w0, &w1) ==
             -BK_ERR_TRUNCATED_MESSAGE);
    return 0;
}

#if defined(__x86_64__)

/* ---- x86-64: IOPortControl and IOPort ------------------------------------ */

#define CMOS_INDEX 0x70 /* bit 7 of the index masks NMI: kept clear */
#define CMOS_DATA 0x71
#define RTC_REG_A 0x0a  /* bits 6:4 time base (010: 32.768 kHz), 3:0 rate */
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c  /* reading it clears the flags and lowers IRQ 8 */
#define RTC_B_PIE 0x40  /* periodic interrupt enable */
#define RTC_RATE_1024HZ 0x06
#define RTC_IRQ 8

static long ioport_issue(uint64_t first, uint64_t last, uint64_t slot)
{
    return sys_ioport_control_issue(BK_CAP_IOPORT_CONTROL, first, last, ROOT, slot, W);
}

/* IOPort: In8/In16/In32 through their generated stubs, by label. */
static long port_in(uint64_t cap, uint64_t label, uint64_t port, uint64_t *value)
{
    if (label == BK_LABEL_IOPORT_IN8)
        return sys_ioport_in8(cap, port, value);
    if (label == BK_LABEL_IOPORT_IN16)
        return sys_ioport_in16(cap, port, value);
    return sys_ioport_in32(cap, port, value);
}

/* Reads CMOS register `reg` through the IOPort cap `p` (0x70-0x71);
 * returns the value, or a negative error. */
static long cmos_read(uint64_t p, uint8_t reg)
{
    uint64_t v;
    long err = sys_ioport_out8(p, CMOS_INDEX, reg);
    if (!err)
        err = port_in(p, BK_LABEL_IOPORT_IN8, CMOS_DATA, &v);
    return err ? err : (long)v;
}

static long cmos_write(uint64_t p, uint8_t reg, uint8_t value)
{
    long err = sys_ioport_out8(p, CMOS_INDEX, reg);
    return err ? err : sys_ioport_out8(p, CMOS_DATA, value);
}

/* Starts the RTC's periodic interrupt at 1024 Hz and clears a flag raised
 * before (the line must see a fresh edge: it is edge triggered). */
static int rtc_start(uint64_t p)
{
    long a = cmos_read(p, RTC_REG_A), b = cmos_read(p, RTC_REG_B);
    KT_CHECK(a >= 0 && b >= 0);
    KT_OK(cmos_write(p, RTC_REG_A, (uint8_t)((a & 0xf0) | RTC_RATE_1024HZ)));
    KT_OK(cmos_write(p, RTC_REG_B, (uint8_t)(b | RTC_B_PIE)));
    KT_CHECK(cmos_read(p, RTC_REG_C) >= 0);
    return 0;
}

static void rtc_stop(uint64_t p)
{
    long b = cmos_read(p, RTC_REG_B);
    if (b >= 0)
        cmos_write(p, RTC_REG_B, (uint8_t)(b & ~RTC_B_PIE));
    cmos_read(p, RTC_REG_C);
}

static int test_ioport_control_slot(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_CHECK(kt_type(BK_CAP_IOPORT_CONTROL) == BK_OBJ_IOPORT_CONTROL);
    KT_EXPECT_ERR(sys_cnode_copy(ROOT, s, W, ROOT, BK_CAP_IOPORT_CONTROL, W, BK_RIGHTS_ALL),
                  BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

static int test_ioport_issue_errors(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    static const uint16_t kernel_ports[][2] = {
        { 0x3f8, 0x3f8 }, { 0x3f0, 0x3f8 }, { 0x3ff, 0x400 }, { 0x40, 0x40 }, { 0x43, 0x43 },
        { 0x20, 0x21 },   { 0xa1, 0xa1 },   { 0x61, 0x61 },   { 0xf7, 0xf8 }, { 0, 0xffff },
    };
    KT_EXPECT_ERR(ioport_issue(0x71, 0x70, s), BK_ERR_INVALID_ARGUMENT);
    KT_EXPECT_ERR(ioport_issue(0x70, 0x10000, s), BK_ERR_RANGE);
    for (unsigned i = 0; i < sizeof(kernel_ports) / sizeof(kernel_ports[0]); i++)
        KT_EXPECT_ERR(ioport_issue(kernel_ports[i][0], kernel_ports[i][1], s),
                      BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(kt_type(s) == 0);
    KT_OK(ioport_issue(CMOS_INDEX, CMOS_DATA, s));
    KT_CHECK(kt_type(s) == BK_OBJ_IOPORT);
    KT_EXPECT_ERR(ioport_issue(CMOS_INDEX, CMOS_DATA, s), BK_ERR_DELETE_FIRST);
    KT_OK(ioport_issue(0x62, 0x62, s + 1)); /* next to the kernel's port B */
    return 0;
}

static int test_ioport_access_range(struct ktest_env *env)
{
    uint64_t s = kt_slots(), v, lo, hi, port = 0x72;
    (void)env;
    KT_OK(ioport_issue(CMOS_INDEX, CMOS_DATA, s));
    KT_CHECK(invoke2(s, BK_LABEL_IOPORT_IN8, 1, &port, &lo, &hi) == -BK_ERR_RANGE);
    KT_CHECK(lo == CMOS_INDEX && hi == CMOS_DATA);
    KT_CHECK(port_in(s, BK_LABEL_IOPORT_IN8, 0x6f, &v) == -BK_ERR_RANGE);
    KT_CHECK(port_in(s, BK_LABEL_IOPORT_IN16, CMOS_DATA, &v) == -BK_ERR_RANGE);
    KT_CHECK(port_in(s, BK_LABEL_IOPORT_IN32, CMOS_INDEX, &v) == -BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_ioport_out8(s, 0x72, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_ioport_out16(s, CMOS_DATA, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_ioport_out32(s, CMOS_INDEX, 0), BK_ERR_RANGE);
    KT_EXPECT_ERR(sys_ioport_out8(s, 1ull << 32 | CMOS_INDEX, 0), BK_ERR_RANGE);
    KT_CHECK(port_in(s, BK_LABEL_IOPORT_IN16, CMOS_INDEX, &v) == 0);
    return 0;
}

/* Register A through the index and data ports: the time base reads as the
 * standard 32.768 kHz, and a new rate reads back. */
static int test_ioport_cmos_roundtrip(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_OK(ioport_issue(CMOS_INDEX, CMOS_DATA, s));
    long a = cmos_read(s, RTC_REG_A);
    KT_CHECK(a >= 0 && (a & 0x70) == 0x20);
    uint8_t changed = (uint8_t)((a & 0xf0) | 0x0b);
    KT_OK(cmos_write(s, RTC_REG_A, changed));
    KT_CHECK(cmos_read(s, RTC_REG_A) == changed);
    KT_OK(cmos_write(s, RTC_REG_A, (uint8_t)a));
    KT_CHECK(cmos_read(s, RTC_REG_A) == a);
    return 0;
}

static int test_ioport_copy_and_revoke(struct ktest_env *env)
{
    uint64_t s = kt_slots(), v;
    (void)env;
    KT_OK(ioport_issue(CMOS_INDEX, CMOS_DATA, s));
    KT_OK(sys_cnode_copy(ROOT, s + 1, W, ROOT, s, W, BK_RIGHTS_ALL));
    KT_CHECK(port_in(s + 1, BK_LABEL_IOPORT_IN8, CMOS_DATA, &v) == 0);
    KT_OK(sys_cnode_revoke(ROOT, BK_CAP_IOPORT_CONTROL, W));
    KT_CHECK(kt_type(s) == 0 && kt_type(s + 1) == 0);
    KT_CHECK(kt_type(BK_CAP_IOPORT_CONTROL) == BK_OBJ_IOPORT_CONTROL);
    return 0;
}

/* ---- x86-64: the RTC interrupt in user space ------------------------------ */

/* Slots: s handler, s + 1 notification, s + 2 its badged copy, s + 3 the
 * CMOS ports. Binds the badged copy unless `bind` is false. */
static int rtc_setup(struct ktest_env *env, uint64_t s, int bind)
{
    KT_OK(irq_get(RTC_IRQ, s));
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 1, 1));
    KT_OK(sys_cnode_mint(ROOT, s + 2, W, ROOT, s + 1, W, BK_RIGHTS_ALL, IRQ_BADGE));
    if (bind)
        KT_OK(sys_irq_handler_set_notification(s, s + 2));
    KT_OK(ioport_issue(CMOS_INDEX, CMOS_DATA, s + 3));
    return rtc_start(s + 3);
}

/* Services one RTC interrupt: clears the device, then acks the line. */
static int rtc_service(uint64_t s)
{
    return cmos_read(s + 3, RTC_REG_C) < 0 || sys_irq_handler_ack(s) != 0;
}

/* Two interrupts while the root task polls (they arrive from user mode),
 * then one while it blocks in Recv (the kernel idles). The blocking wait
 * comes last, once polling has shown interrupts and acks work, so a broken
 * kernel fails this test instead of hanging the suite in most cases. */
static int test_rtc_interrupt_delivered(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    int bad = rtc_setup(env, s, 1);
    for (int i = 0; i < 2 && !bad; i++)
        bad = poll_for(s + 1, ARRIVE_TICKS) != IRQ_BADGE || rtc_service(s) ? 1 + i : 0;
    if (!bad) {
        struct bk_msg m = { 0 };
        sys_recv(s + 1, &m);
        bad = m.badge != IRQ_BADGE || BK_MSGINFO_LABEL(m.info) != 0 ? 3 : 0;
    }
    rtc_stop(s + 3);
    if (bad)
        debug_printf("    failed at step %d\n", bad);
    KT_CHECK(!bad);
    return 0;
}

/* The device raises the line again at once, but nothing arrives before the
 * ack; after it, the interrupt raised meanwhile does. */
static int test_rtc_masked_until_ack(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    int bad = rtc_setup(env, s, 1);
    if (!bad)
        bad = poll_for(s + 1, ARRIVE_TICKS) != IRQ_BADGE;
    if (!bad) {
        cmos_read(s + 3, RTC_REG_C);
        bad = poll_for(s + 1, QUIET_TICKS) != 0 ? 2 : 0;
    }
    if (!bad)
        bad = sys_irq_handler_ack(s) != 0 || poll_for(s + 1, ARRIVE_TICKS) != IRQ_BADGE ? 3 : 0;
    rtc_stop(s + 3);
    if (bad)
        debug_printf("    failed at step %d\n", bad);
    KT_CHECK(!bad);
    return 0;
}

/* Busy-waits `ticks` timer ticks: interrupts arrive from user mode. */
static void spin_ticks(unsigned ticks)
{
    uint64_t start = debug_ticks();
    while (debug_ticks() - start < ticks)
        ;
}

/* Lets an interrupt arrive on the unbound line (the device is cleared
 * first: an edge-triggered line needs a fresh edge); step 0 if nothing
 * reached the notification meanwhile, then binds and expects it at once. */
static int pend_then_bind(uint64_t s, int step)
{
    cmos_read(s + 3, RTC_REG_C);
    spin_ticks(QUIET_TICKS);
    if (poll_for(s + 1, 1) != 0)
        return step;
    if (sys_irq_handler_set_notification(s, s + 2) != 0 || poll_for(s + 1, 1) != IRQ_BADGE)
        return step + 1;
    return 0;
}

/* An interrupt that arrives with no notification bound waits for the
 * binding. Deleting the last handler cap drops the binding (a new handler
 * for the line starts unbound), and so does clear. */
static int test_rtc_pending_until_bound(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    int bad = rtc_setup(env, s, 1);
    if (!bad) /* the first one, through the first handler; not acked */
        bad = poll_for(s + 1, ARRIVE_TICKS) != IRQ_BADGE;
    if (!bad)
        bad = sys_cnode_delete(ROOT, s, W) != 0 || irq_get(RTC_IRQ, s) != 0;
    if (!bad)
        bad = pend_then_bind(s, 2);
    if (!bad) {
        bad = sys_irq_handler_clear(s) != 0 || sys_irq_handler_ack(s) != 0 ? 4 : 0;
        if (!bad)
            bad = pend_then_bind(s, 5);
    }
    rtc_stop(s + 3);
    if (bad)
        debug_printf("    failed at step %d\n", bad);
    KT_CHECK(!bad);
    return 0;
}

#else /* RISC-V */

/* PLIC source 0 means "no interrupt": the line exists in the numbering
 * but cannot be had. */
static int test_reserved_line(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_EXPECT_ERR(irq_get(0, s), BK_ERR_INVALID_ARGUMENT);
    KT_CHECK(kt_type(s) == 0);
    KT_EXPECT_ERR(irq_get(0, s), BK_ERR_INVALID_ARGUMENT); /* and it was not issued */
    return 0;
}

/* QEMU virt's goldfish RTC: the one platform fact this test assumes (the
 * root task does not get the device tree yet). Registers in 32-bit words. */
#define GOLDFISH_RTC 0x101000ull
#define GOLDFISH_IRQ 11
#define RTC_TIME_LOW 0
#define RTC_TIME_HIGH 1
#define RTC_ALARM_LOW 2
#define RTC_ALARM_HIGH 3
#define RTC_IRQ_ENABLED 4
#define RTC_CLEAR_INTERRUPT 7
#define RTC_VADDR 0x50000000ull

static volatile uint32_t *rtc_regs = (volatile uint32_t *)(uintptr_t)RTC_VADDR;

/* Maps the RTC's page, uncached, from the device untyped that starts there. */
static int map_rtc(struct ktest_env *env, uint64_t slot)
{
    const struct bk_bootinfo *bi = env->bi;
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        const struct bk_untyped_desc *u = &bi->untyped[i];
        if (!u->is_device || u->paddr != GOLDFISH_RTC)
            continue;
        if (sys_untyped_retype(u->slot, BK_OBJ_FRAME, 12, ROOT, 0, 0, slot, 1) != 0)
            return 1;
        /* Page tables for RTC_VADDR come from the test's own untyped. */
        for (unsigned level = 0; level < 3; level++) {
            long r = sys_frame_map(slot, BK_CAP_ROOT_VSPACE, RTC_VADDR, BK_VM_READ | BK_VM_WRITE,
                                   BK_VM_UNCACHED);
            if (r != -BK_ERR_FAILED_LOOKUP)
                return r != 0;
            if (kt_retype(env, BK_OBJ_PAGE_TABLE, 0, slot + 1 + level, 1) ||
                sys_page_table_map(slot + 1 + level, BK_CAP_ROOT_VSPACE, RTC_VADDR))
                return 1;
        }
        return 1;
    }
    debug_printf("    no device untyped at 0x%llx\n", (unsigned long long)GOLDFISH_RTC);
    return 1;
}

/* The alarm fires in 1 ms of the RTC's time. */
static void rtc_arm(void)
{
    uint64_t now = rtc_regs[RTC_TIME_LOW];
    now |= (uint64_t)rtc_regs[RTC_TIME_HIGH] << 32;
    uint64_t when = now + 1000000;
    rtc_regs[RTC_ALARM_HIGH] = (uint32_t)(when >> 32);
    rtc_regs[RTC_ALARM_LOW] = (uint32_t)when;
}

static int test_device_interrupt_to_user(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_CHECK(map_rtc(env, s + 10) == 0);
    KT_OK(kt_retype(env, BK_OBJ_NOTIFICATION, 0, s + 1, 1));
    KT_OK(sys_cnode_mint(ROOT, s + 2, W, ROOT, s + 1, W, BK_RIGHTS_ALL, 0x40));
    KT_OK(irq_get(GOLDFISH_IRQ, s));
    KT_OK(sys_irq_handler_set_notification(s, s + 2));
    rtc_regs[RTC_CLEAR_INTERRUPT] = 1;
    rtc_regs[RTC_IRQ_ENABLED] = 1;
    for (int round = 0; round < 2; round++) {
        rtc_arm();
        struct bk_msg m = { 0 };
        sys_recv(s + 1, &m); /* blocks: the kernel idles until the alarm */
        KT_CHECK(m.badge == 0x40);
        rtc_regs[RTC_CLEAR_INTERRUPT] = 1;
        KT_OK(sys_irq_handler_ack(s));
    }
    rtc_regs[RTC_IRQ_ENABLED] = 0;
    return 0;
}

static int test_no_ioports(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_CHECK(kt_type(BK_CAP_IOPORT_CONTROL) == 0);
    KT_EXPECT_ERR(sys_ioport_control_issue(BK_CAP_IOPORT_CONTROL, 0x70, 0x71, ROOT, s, W),
                  BK_ERR_FAILED_LOOKUP);
    KT_EXPECT_ERR(sys_ioport_control_issue(BK_CAP_IRQ_CONTROL, 0x70, 0x71, ROOT, s, W),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_OK(irq_get(QUIET_LINE, s));
    KT_EXPECT_ERR(sys_ioport_out8(s, 0x70, 0), BK_ERR_ILLEGAL_OPERATION);
    return 0;
}

#endif

const struct ktest irq_tests[] = {
    { "irq: IRQControl is in its slot and cannot be copied", test_irq_control_slot },
    { "irq: get past the last line is RANGE with the valid lines", test_get_range },
    { "irq: a line is handed out once", test_get_twice },
    { "irq: get checks its destination and issues nothing on error",
      test_get_destination_errors },
    { "irq: a handler in a deleted CNode frees its line", test_get_into_nested_cnode },
    { "irq: a line stays issued until its last handler cap goes", test_line_follows_last_cap },
    { "irq: revoking IRQControl deletes every handler", test_revoke_irq_control },
    { "irq: set_notification checks type and rights; clear", test_set_notification_errors },
    { "irq: ack with no interrupt pending signals nothing", test_ack_without_interrupt },
    { "irq: the methods need their own cap types", test_methods_need_their_caps },
#if defined(__x86_64__)
    { "ioport: IOPortControl is in its slot and cannot be copied", test_ioport_control_slot },
    { "ioport: issue refuses bad ranges and the kernel's ports", test_ioport_issue_errors },
    { "ioport: accesses outside the cap's range are RANGE", test_ioport_access_range },
    { "ioport: CMOS register A round-trips through the cap", test_ioport_cmos_roundtrip },
    { "ioport: copies work; revoking IOPortControl removes them", test_ioport_copy_and_revoke },
    { "irq: the RTC interrupt reaches a notification, polled and blocked",
      test_rtc_interrupt_delivered },
    { "irq: the RTC line stays masked until ack", test_rtc_masked_until_ack },
    { "irq: an interrupt waits for a notification to be bound", test_rtc_pending_until_bound },
#else
    { "irq: PLIC source 0 cannot be had", test_reserved_line },
    { "irq: a device's interrupt reaches its user-level driver (goldfish RTC via device frame)",
      test_device_interrupt_to_user },
    { "ioport: RISC-V has no IOPortControl and refuses IOPort methods", test_no_ioports },
#endif
};
const unsigned irq_test_count = sizeof(irq_tests) / sizeof(irq_tests[0]);
