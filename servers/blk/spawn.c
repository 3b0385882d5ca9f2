/*
 * Starting the driver (blk.h, "spawn.c / main.c"): the spawner found the
 * disk and holds its pages, lines and memory; blk-server gets exactly
 * those, in the slots blk.h names, and a struct blk_start that says where
 * each structure lies. It runs below the spawner's priority, so it starts
 * only once the spawner blocks, by then holding everything.
 */
#include "blk.h"

#include <bulkhead/threads.h>

#define CHILD_CNODE_BITS 8u /* bk_process_spawn()'s CNode: 256 slots */
#define PAGE 4096ull

struct handover {
    struct bk_process p;
    struct blk_start start;
    struct bk_arena *arena; /* the incarnation's objects come from it (NULL: ours) */
    char *err;
    size_t errlen;
};

/* Moves our cap `src` into the driver's slot `dest`, giving the emptied
 * slot back (unless it is the arena's, which a reclaim reuses); false
 * with a sentence on failure. */
static bool give(struct handover *h, uint64_t src, unsigned dest, const char *what)
{
    long r = src ? sys_cnode_move(h->p.cnode, dest, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE, src,
                                  BK_WORD_BITS)
                 : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (r != 0)
        bk_snprintf(h->err, h->errlen, "blk: handing over %s failed: %s", what,
                    bk_error_name(-r));
    else if (!h->arena || !bk_arena_holds_slot(h->arena, src))
        bk_slot_free(src);
    return r == 0;
}

/* A new object of the incarnation's: of its arena when it has one. */
static uint64_t incarnation_object(struct handover *h, uint64_t type, unsigned size_bits)
{
    return h->arena ? bk_arena_alloc(h->arena, type, size_bits)
                    : bk_alloc_object(type, size_bits);
}

/* The register window: every page from the lowest structure's to the
 * highest's, physically contiguous (one BAR, or the MMIO slot). */
static bool give_registers(struct handover *h, const struct blk_hw *hw)
{
    uint64_t pas[4] = { hw->common_pa, hw->notify_pa, hw->isr_pa, hw->config_pa };
    unsigned n = 4;
    if (hw->transport == BLK_MMIO) {
        pas[0] = hw->regs_pa;
        n = 1;
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < n; i++) {
        lo = pas[i] < lo ? pas[i] : lo;
        hi = pas[i] > hi ? pas[i] : hi;
    }
    uint64_t window = lo & ~(PAGE - 1), pages = (hi - window) / PAGE + 1;
    if (pages > BLK_MAX_REG_PAGES) {
        bk_snprintf(h->err, h->errlen, "blk: the device's structures span %llu pages (at most %u)",
                    (unsigned long long)pages, BLK_MAX_REG_PAGES);
        return false;
    }
    struct blk_start *s = &h->start;
    s->reg_pages = (uint32_t)pages;
    s->window_pa = window;
    s->regs = (uint32_t)(hw->regs_pa - window);
    if (hw->transport == BLK_PCI) {
        s->common = (uint32_t)(hw->common_pa - window);
        s->notify = (uint32_t)(hw->notify_pa - window);
        s->isr = (uint32_t)(hw->isr_pa - window);
        s->config = (uint32_t)(hw->config_pa - window);
        s->regs = 0;
    }
    for (uint64_t k = 0; k < pages; k++) {
        if (!give(h, devmem_frame(window + k * PAGE), BLK_SLOT_REGS + (unsigned)k,
                  "a register page"))
            return false;
    }
    return true;
}

/* Every candidate line the kernel has, on notification `n` (ours), line i
 * with badge 1 << (BLK_IRQ_BADGE_SHIFT + i): the driver keeps the one its
 * device raises. */
static bool give_lines_to(struct handover *h, const struct blk_hw *hw, uint64_t n)
{
    h->start.line_count = hw->line_count;
    for (unsigned i = 0; n && i < hw->line_count; i++) {
        uint64_t handler = bk_slot_alloc(), badged = bk_slot_alloc();
        if (sys_irq_control_get(BK_CAP_IRQ_CONTROL, hw->lines[i], BK_CAP_ROOT_CNODE, handler,
                                BK_WORD_BITS) != 0)
            continue; /* a line the kernel lacks, or one in use: not a candidate */
        if (sys_cnode_mint(BK_CAP_ROOT_CNODE, badged, BK_WORD_BITS, BK_CAP_ROOT_CNODE, n,
                           BK_WORD_BITS, BK_RIGHT_WRITE, 1ull << (BLK_IRQ_BADGE_SHIFT + i)) != 0 ||
            sys_irq_handler_set_notification(handler, badged) != 0 ||
            !give(h, handler, BLK_SLOT_IRQ + i, "an interrupt handler"))
            return false;
        h->start.lines[i] = hw->lines[i];
    }
    return n != 0;
}

/* The lines on a fresh notification, which the driver gets too. */
static bool give_lines(struct handover *h, const struct blk_hw *hw)
{
    uint64_t n = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    return give_lines_to(h, hw, n) && give(h, n, BLK_SLOT_NOTIFICATION, "the notification");
}

static bool give_start(struct handover *h)
{
    uint64_t f = incarnation_object(h, BK_OBJ_FRAME, 12);
    long r = f ? bk_copy_to_frame(f, 0, &h->start, sizeof(h->start)) : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (r != 0) {
        bk_snprintf(h->err, h->errlen, "blk: writing the start page failed: %s",
                    bk_error_name(-r));
        return false;
    }
    return give(h, f, BLK_SLOT_START, "the start page");
}

/* An IOSpace for a PCI disk, where the IOMMU translates DMA: the driver
 * then maps its DMA frames there, and its device reaches nothing else. No
 * IOMMU (ILLEGAL_OPERATION) or a virtio-mmio disk: nothing to give. */
static bool give_iospace(struct handover *h, const struct blk_hw *hw)
{
    if (hw->transport != BLK_PCI)
        return true;
    uint64_t space = bk_slot_alloc();
    long r = sys_iospace_control_issue(BK_CAP_IOSPACE_CONTROL, hw->pci_rid, BK_CAP_ROOT_CNODE,
                                       space, BK_WORD_BITS);
    if (r == -BK_ERR_ILLEGAL_OPERATION)
        return true;
    if (r != 0) {
        bk_snprintf(h->err, h->errlen, "blk: no IOSpace for the disk (requester id 0x%04x): %s",
                    hw->pci_rid, bk_error_name(-r));
        return false;
    }
    return give(h, space, BLK_SLOT_IOSPACE, "the disk's IOSpace");
}

/* The running incarnation's faults go to d->fault_endpoint (if it has
 * one), badged with the incarnation number, so the watcher tells a
 * fault of the running incarnation from a stale one. */
static bool set_fault_endpoint(struct handover *h, const struct blk_driver *d)
{
    if (!d->fault_endpoint)
        return true;
    uint64_t badged = bk_slot_alloc();
    long r = badged ? sys_cnode_mint(BK_CAP_ROOT_CNODE, badged, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                                     d->fault_endpoint, BK_WORD_BITS,
                                     BK_RIGHT_WRITE | BK_RIGHT_GRANT, d->incarnation)
                    : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (r == 0)
        r = sys_tcb_set_fault_endpoint(d->p.tcb, badged); /* the kernel keeps a copy */
    if (badged) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, badged, BK_WORD_BITS);
        bk_slot_free(badged);
    }
    if (r != 0)
        bk_snprintf(h->err, h->errlen, "blk: setting the driver's fault endpoint failed: %s",
                    bk_error_name(-r));
    return r == 0;
}

/* A new process of blk-server, at d->priority, serving a fresh endpoint;
 * its faults go to d->fault_endpoint (if any), badged with its
 * incarnation. */
static bool new_process(struct handover *h, struct blk_driver *d)
{
    d->endpoint = incarnation_object(h, BK_OBJ_ENDPOINT, 0);
    if (!d->endpoint) {
        bk_snprintf(h->err, h->errlen, "blk: no memory for the driver's endpoint");
        return false;
    }
    if (bk_process_spawn_in(&d->arena, d->bi, "blk-server", d->priority, d->endpoint,
                            BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE, &h->p) != 0) {
        bk_snprintf(h->err, h->errlen, "%s", h->p.error);
        return false;
    }
    d->p = h->p;
    long sr = sys_sched_control_configure(BK_CAP_SCHED_CONTROL, h->p.sched_context,
                                          BLK_DRIVER_BUDGET_NS, BLK_DRIVER_PERIOD_NS,
                                          BK_SCHED_MAX_REFILLS, 0);
    if (sr != 0) {
        bk_snprintf(h->err, h->errlen, "blk: giving the driver %llu of every %llu ns failed: %s",
                    BLK_DRIVER_BUDGET_NS, BLK_DRIVER_PERIOD_NS, bk_error_name(-sr));
        return false;
    }
    return set_fault_endpoint(h, d);
}

static void start_page_init(struct handover *h, const struct blk_driver *d)
{
    const struct blk_hw *hw = &d->hw;
    h->start = (struct blk_start){ .magic = BLK_START_MAGIC, .transport = hw->transport,
                                   .notify_multiplier = hw->notify_multiplier,
                                   .incarnation = d->incarnation,
                                   .crash_at_start = d->crash_at_start,
                                   .crash_after_submits = d->crash_after_submits,
                                   .hang_after_submits = d->hang_after_submits,
                                   .kill_after_submits = d->kill_after_submits,
                                   .spin_after_submits = d->spin_after_submits,
                                   .stray_dma_after_submits = d->stray_dma_after_submits };
    memcpy(h->start.where, hw->where, sizeof(h->start.where));
}

/* Stops the running incarnation `incarnation` for the supervisor (a fault
 * of kind `label`, or BLK_FAULT_HUNG) and signals it; once per
 * incarnation. */
static void stop_for_supervisor(struct blk_driver *d, uint32_t incarnation, uint32_t label)
{
    if (!d->p.tcb || d->stopped_incarnation == incarnation)
        return;
    d->stopped_incarnation = incarnation;
    sys_tcb_suspend(d->p.tcb);
    __atomic_store_n(&d->fault_label, label, __ATOMIC_RELAXED);
    /* Last of the record: the supervisor, which may run at any point of
     * this (it waits above us), takes the incarnation as the sign that the
     * rest is written. */
    __atomic_store_n(&d->fault_incarnation, incarnation, __ATOMIC_RELEASE);
    __atomic_add_fetch(&d->faults, 1, __ATOMIC_RELAXED);
    struct bk_msg signal = { 0 };
    sys_send(d->fault_signal, &signal);
}

/* The oldest DMA fault the kernel kept (IOSpaceControl: TakeFault) in
 * *fault; false when none is left. */
static bool take_dma_fault(uint64_t *fault)
{
    uint64_t iova = 0, lost = 0, line = 0;
    long r = sys_iospace_control_take_fault(BK_CAP_IOSPACE_CONTROL, fault, &iova, &lost, &line);
    return r == 0 && BK_DMA_FAULT_VALID(*fault);
}

/* The DMA faults the kernel kept: one of the disk's (its requester id)
 * stops the running incarnation, whose device reached for memory it was
 * not given; others are some other device's. At most 64 a signal. */
static void take_dma_faults(struct blk_driver *d, uint32_t incarnation)
{
    uint64_t fault = 0;
    for (unsigned i = 0; i < 64 && take_dma_fault(&fault); i++) {
        if (BK_DMA_FAULT_REQUESTER_ID(fault) == d->hw.pci_rid)
            stop_for_supervisor(d, incarnation, BLK_FAULT_DMA);
    }
    sys_irq_handler_ack(d->dma_fault_handler);
}

/* The fault watcher (blk_supervise()): takes each fault message; one of
 * the running incarnation stops it and tells the supervisor. A stale one
 * (an incarnation stopped since) is dropped. io-server's hang report
 * arrives on the notification bound to this thread (info 0, badge
 * BLK_HANG_BADGE) and is taken as a fault of the running incarnation: a
 * hung driver holds io-server in a Call, and suspending it is what ends
 * that Call (with CANCELLED), so it must be done here, by a thread that
 * never calls io-server, not by the supervisor, which may be waiting in a
 * Call to io-server itself. A report for an incarnation already stopped
 * (it faulted as io-server gave up on it) is dropped. */
static void *watch_faults(void *arg)
{
    struct blk_driver *d = arg;
    if (d->hang_notification)
        sys_tcb_bind_notification(bk_thread_self()->tcb, d->hang_notification);
    for (;;) {
        struct bk_msg m = { 0 };
        sys_recv(d->fault_endpoint, &m);
        uint32_t incarnation = __atomic_load_n(&d->incarnation, __ATOMIC_ACQUIRE);
        if (m.info != 0) { /* a fault message, badged with its incarnation */
            if (m.badge == incarnation)
                stop_for_supervisor(d, incarnation, (uint32_t)BK_MSGINFO_LABEL(m.info));
            continue;
        }
        /* The notification's bits, several at once maybe. */
        if (m.badge & BLK_DMA_BADGE)
            take_dma_faults(d, incarnation);
        if (m.badge & BLK_HANG_BADGE)
            stop_for_supervisor(d, incarnation, BLK_FAULT_HUNG);
        if (m.badge & BLK_KILL_BADGE)
            stop_for_supervisor(d, incarnation, BLK_FAULT_KILLED);
    }
    return NULL;
}

/* Where an IOMMU translates the disk's DMA and we hold IOSpaceControl
 * (TakeFault answers): a handler for the DMA fault line, signalling the
 * watcher's notification with BLK_DMA_BADGE. Faults kept from before are
 * dropped (not this incarnation's business). Without an IOMMU or a PCI
 * disk, nothing. NULL or a sentence. */
static const char *watch_dma_faults(struct blk_driver *d, char *err, size_t errlen)
{
    uint64_t fault = 0, iova = 0, lost = 0, line = 0;
    if (d->hw.transport != BLK_PCI ||
        sys_iospace_control_take_fault(BK_CAP_IOSPACE_CONTROL, &fault, &iova, &lost, &line) != 0)
        return NULL;
    while (BK_DMA_FAULT_VALID(fault) &&
           sys_iospace_control_take_fault(BK_CAP_IOSPACE_CONTROL, &fault, &iova, &lost,
                                          &line) == 0)
        ;
    uint64_t handler = bk_slot_alloc(), badged = bk_slot_alloc();
    long r = handler && badged ? sys_irq_control_get(BK_CAP_IRQ_CONTROL, line, BK_CAP_ROOT_CNODE,
                                                     handler, BK_WORD_BITS)
                               : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (r == 0)
        r = sys_cnode_mint(BK_CAP_ROOT_CNODE, badged, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                           d->hang_notification, BK_WORD_BITS, BK_RIGHT_WRITE, BLK_DMA_BADGE);
    if (r == 0)
        r = sys_irq_handler_set_notification(handler, badged);
    if (r != 0) {
        bk_snprintf(err, errlen, "blk: no handler for the IOMMU's DMA fault line %llu: %s",
                    (unsigned long long)line, bk_error_name(-r));
        return err;
    }
    d->dma_fault_handler = handler;
    return NULL;
}

/* For an incarnation armed with a kill point (tests): a cap to the
 * watcher's notification, badged BLK_KILL_BADGE, in BLK_SLOT_KILL_POINT.
 * Its signal can only come from the incarnation holding it, so the
 * watcher takes it as one of the running incarnation. */
static bool give_kill_point(struct handover *h, const struct blk_driver *d)
{
    if (!d->kill_after_submits || !d->hang_notification)
        return true;
    uint64_t cap = bk_slot_alloc();
    if (cap && sys_cnode_mint(BK_CAP_ROOT_CNODE, cap, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                              d->hang_notification, BK_WORD_BITS, BK_RIGHT_WRITE,
                              BLK_KILL_BADGE) != 0) {
        bk_slot_free(cap);
        cap = 0;
    }
    bool ok = give(h, cap, BLK_SLOT_KILL_POINT, "the kill point's cap");
    if (cap && !ok) {
        sys_cnode_delete(BK_CAP_ROOT_CNODE, cap, BK_WORD_BITS);
        bk_slot_free(cap);
    }
    return ok;
}

uint64_t blk_hang_report_cap(struct blk_driver *d)
{
    uint64_t cap = d->hang_notification ? bk_slot_alloc() : 0;
    if (cap && sys_cnode_mint(BK_CAP_ROOT_CNODE, cap, BK_WORD_BITS, BK_CAP_ROOT_CNODE,
                              d->hang_notification, BK_WORD_BITS, BK_RIGHT_WRITE,
                              BLK_HANG_BADGE) != 0) {
        bk_slot_free(cap);
        cap = 0;
    }
    return cap;
}

/* The memory and slots every incarnation is made of, set aside once (the
 * first start, or the first restart of a driver someone else built). */
static bool arena_ready(struct handover *h, struct blk_driver *d)
{
    h->arena = &d->arena;
    if (d->arena.untyped)
        return true;
    long r = bk_arena_init(&d->arena, 0, BLK_INCARNATION_BITS, BLK_INCARNATION_SLOTS);
    if (r != 0)
        bk_snprintf(h->err, h->errlen,
                    "blk: setting aside %u KiB and %u slots for the driver's incarnations "
                    "failed: %s",
                    (1u << BLK_INCARNATION_BITS) / 1024, BLK_INCARNATION_SLOTS,
                    bk_error_name(-r));
    return r == 0;
}

const char *blk_watch(struct blk_driver *d, unsigned watcher_priority, uint64_t fault_signal,
                      char *err, size_t errlen)
{
    static struct handover h;
    h = (struct handover){ .err = err, .errlen = errlen };
    bk_thread_handle_t *watcher;
    d->fault_signal = fault_signal;
    d->fault_endpoint = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    d->hang_notification = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    if (!d->fault_endpoint || !d->hang_notification) {
        bk_snprintf(err, errlen, "blk: no memory for the driver's fault endpoint and hang "
                    "notification");
        return err;
    }
    if ((d->p.tcb && !set_fault_endpoint(&h, d)) || watch_dma_faults(d, err, errlen))
        return err;
    long r = bk_thread_create(&watcher, watch_faults, d, watcher_priority);
    if (r != 0) {
        bk_snprintf(err, errlen, "blk: cannot start the driver's fault watcher: %s",
                    bk_error_name(-r));
        return err;
    }
    return NULL;
}

const char *blk_supervise(const struct bk_bootinfo *bi, const struct blk_hw *hw,
                          unsigned priority, unsigned watcher_priority, uint64_t fault_signal,
                          struct blk_driver *d, char *err, size_t errlen)
{
    static struct handover h;
    h = (struct handover){ .err = err, .errlen = errlen };
    *d = (struct blk_driver){ .bi = bi, .hw = *hw, .priority = priority,
                              .fault_signal = fault_signal, .incarnation = 1 };
    if (!arena_ready(&h, d))
        return err;
    if (fault_signal && blk_watch(d, watcher_priority, fault_signal, err, errlen))
        return err;
    start_page_init(&h, d);
    bool ok = new_process(&h, d) && give_registers(&h, hw) && give_lines(&h, hw) &&
              give(&h, bk_alloc_object(BK_OBJ_UNTYPED, BLK_MEMORY_BITS), BLK_SLOT_MEMORY,
                   "the driver's memory") &&
              give_iospace(&h, hw) && give_start(&h);
    return ok ? NULL : err;
}

const char *blk_spawn(const struct bk_bootinfo *bi, const struct blk_hw *hw, unsigned priority,
                      uint64_t *endpoint, char *err, size_t errlen)
{
    static struct blk_driver d;
    const char *e = blk_supervise(bi, hw, priority, 0, 0, &d, err, errlen);
    *endpoint = d.endpoint;
    return e;
}

const char *blk_give_device(const struct blk_hw *hw, uint64_t cnode, uint64_t notification,
                            const struct blk_faults *faults, char *err, size_t errlen)
{
    static struct handover h;
    static struct blk_driver d;
    h = (struct handover){ .err = err, .errlen = errlen };
    h.p.cnode = cnode;
    d = (struct blk_driver){ .hw = *hw, .incarnation = 1,
                             .crash_after_submits = faults->crash_after_submits,
                             .hang_after_submits = faults->hang_after_submits,
                             .stray_dma_after_submits = faults->stray_dma_after_submits };
    start_page_init(&h, &d);
    bool ok = give_registers(&h, hw) && give_lines_to(&h, hw, notification) &&
              give_iospace(&h, hw) && give_start(&h);
    return ok ? NULL : err;
}

/* ---- restarting ------------------------------------------------------- */

/* Slots of the dead incarnation's CNode whose caps the next one gets. */
static bool carried_over(unsigned slot)
{
    return slot == BLK_SLOT_MEMORY || slot == BLK_SLOT_NOTIFICATION ||
           slot == BLK_SLOT_IOSPACE || (slot >= BLK_SLOT_IRQ && slot < BLK_SLOT_REGS);
}

/* Virtio reset (status 0, read back; virtio 1.1, 2.1 and 4.1.4.3 / 4.2.2):
 * the device drops its queue and finishes or abandons what it was doing,
 * so it writes nothing more into the dead driver's frames, which are about
 * to be memory of the next. Through our own mapping of its registers. */
static void reset_device(const struct blk_hw *hw)
{
    for (unsigned tries = 0; tries < 1000; tries++) {
        if (hw->transport == BLK_MMIO) {
            *(volatile uint32_t *)(hw->regs + 0x070) = 0;
            if (*(volatile uint32_t *)(hw->regs + 0x070) == 0)
                return;
        } else {
            hw->common[0x14] = 0;
            if (hw->common[0x14] == 0)
                return;
        }
    }
}

/* The DMA faults the device made up to its reset were the stopped
 * incarnation's: taken and dropped here, so that the watcher, which
 * blames a fault on the incarnation running when it takes it, never
 * stops the next one for them. TakeFault sweeps the IOMMU's records as
 * well as the kernel's list, so no fault made before the reset turns up
 * later (a record waits unsignalled while the watcher has not acked the
 * line yet). Without a fault line, nothing. */
static void drop_dma_faults(const struct blk_driver *d)
{
    uint64_t fault = 0;
    for (unsigned i = 0; d->dma_fault_handler && i < 64 && take_dma_fault(&fault); i++)
        ;
}

static void delete(uint64_t slot)
{
    if (slot) {
        sys_cnode_revoke(BK_CAP_ROOT_CNODE, slot, BK_WORD_BITS);
        sys_cnode_delete(BK_CAP_ROOT_CNODE, slot, BK_WORD_BITS);
    }
}

void blk_stop(struct blk_driver *d)
{
    if (!d->p.tcb)
        return;
    sys_tcb_suspend(d->p.tcb); /* a faulted thread stays stopped; a killed one stops here */
    reset_device(&d->hw);
    drop_dma_faults(d);
    /* The endpoint object goes with its last cap: a client queued on it
     * (the IO server's Call) is woken with CANCELLED, and its own cap,
     * derived from ours, is gone, so its next Call fails at once instead of
     * waiting for a driver that is not there. */
    delete(d->endpoint);
    d->endpoint = 0;
    /* What the driver made or was given that the next one must not find:
     * clients' buffer caps (and their IO mappings), its own copies, its TCB
     * cap. The device's caps stay for the next incarnation. */
    for (unsigned slot = 1; slot < BLK_DRIVER_CNODE_SLOTS; slot++) {
        if (!carried_over(slot))
            sys_cnode_delete(d->p.cnode, slot, CHILD_CNODE_BITS);
    }
    sys_cnode_delete(BK_CAP_ROOT_CNODE, d->p.tcb, BK_WORD_BITS); /* its last cap: unbinds */
    sys_cnode_delete(BK_CAP_ROOT_CNODE, d->p.sched_context, BK_WORD_BITS);
    d->p.tcb = 0;
}

/* The caps the next incarnation inherits, taken out of the dead one's
 * CNode into slots of ours before that CNode goes with the arena; 0 where
 * there is none (no IOMMU, a candidate line the driver let go). */
static struct inheritance {
    uint64_t memory, notification, iospace, lines[BLK_MAX_LINES];
} inherited;

/* Moves slot `slot` of the dead incarnation's CNode `old` into a slot of
 * ours; 0 if it was empty (or no slot was left). */
static uint64_t take(uint64_t old, unsigned slot)
{
    uint64_t ours = bk_slot_alloc();
    if (ours && sys_cnode_move(BK_CAP_ROOT_CNODE, ours, BK_WORD_BITS, old, slot,
                               CHILD_CNODE_BITS) == 0)
        return ours;
    if (ours)
        bk_slot_free(ours);
    return 0;
}

/* The dead incarnation's memory, revoked (its DMA frames, page tables and
 * IO page tables deleted, their IOSpace mappings with them); its lines,
 * acked (it may have died before acking one, which would stay masked);
 * the lines' notification, emptied: a bit the dead incarnation never took
 * (its device interrupted for a request the reset has since dropped)
 * would wake the next one, before it knows which candidate line is its
 * device's, with the device saying it did not interrupt: it would give
 * that line back (virtio.c, settle_lines()) and never hear its device
 * again. The device is reset by now, so no new bit comes. Its IOSpace. */
static bool take_back(struct handover *h, uint64_t old)
{
    inherited = (struct inheritance){ 0 };
    inherited.memory = take(old, BLK_SLOT_MEMORY);
    long r = inherited.memory ? sys_cnode_revoke(BK_CAP_ROOT_CNODE, inherited.memory, BK_WORD_BITS)
                              : -BK_ERR_FAILED_LOOKUP;
    if (r != 0) {
        bk_snprintf(h->err, h->errlen, "blk: taking back the driver's memory failed: %s",
                    bk_error_name(-r));
        return false;
    }
    inherited.notification = take(old, BLK_SLOT_NOTIFICATION);
    if (!inherited.notification) {
        bk_snprintf(h->err, h->errlen, "blk: taking back the lines' notification failed");
        return false;
    }
    struct bk_msg m = { 0 };
    sys_nbrecv(inherited.notification, &m);
    inherited.iospace = take(old, BLK_SLOT_IOSPACE); /* 0 without an IOMMU */
    for (unsigned i = 0; i < h->start.line_count; i++) {
        inherited.lines[i] = take(old, BLK_SLOT_IRQ + i);
        if (inherited.lines[i])
            sys_irq_handler_ack(inherited.lines[i]);
        else
            h->start.lines[i] = 0; /* a candidate the driver let go: not its line */
    }
    return true;
}

/* What take_back() kept, handed to the new incarnation. */
static bool hand_on(struct handover *h)
{
    bool ok = give(h, inherited.memory, BLK_SLOT_MEMORY, "the driver's memory") &&
              give(h, inherited.notification, BLK_SLOT_NOTIFICATION, "the notification");
    if (ok && inherited.iospace)
        ok = give(h, inherited.iospace, BLK_SLOT_IOSPACE, "the disk's IOSpace");
    for (unsigned i = 0; ok && i < h->start.line_count; i++) {
        if (inherited.lines[i])
            ok = give(h, inherited.lines[i], BLK_SLOT_IRQ + i, "an interrupt handler");
    }
    return ok;
}

/* The dead incarnation's objects deleted, all at once: everything it was
 * made of came from the arena (its endpoint, VSpace, page tables, frames,
 * CNode, TCB, SchedContext, start page), so the next one is made of the
 * same memory in the same slots. A driver someone else built (the root
 * task's table) was not: its CNode cap goes, the rest stays where it was
 * made, once. */
static bool reclaim(struct handover *h, struct blk_driver *d, uint64_t old)
{
    sys_cnode_delete(BK_CAP_ROOT_CNODE, old, BK_WORD_BITS);
    long r = bk_arena_reclaim(&d->arena);
    if (r != 0)
        bk_snprintf(h->err, h->errlen,
                    "blk: reclaiming the dead incarnation's memory failed: %s",
                    bk_error_name(-r));
    return r == 0;
}

const char *blk_restart(struct blk_driver *d, char *err, size_t errlen)
{
    static struct handover h;
    h = (struct handover){ .err = err, .errlen = errlen };
    blk_stop(d);
    uint64_t old = d->p.cnode;
    __atomic_add_fetch(&d->incarnation, 1, __ATOMIC_RELEASE);
    start_page_init(&h, d);
    h.start.line_count = d->hw.line_count;
    for (unsigned i = 0; i < d->hw.line_count; i++)
        h.start.lines[i] = d->hw.lines[i];
    bool ok = arena_ready(&h, d) && take_back(&h, old) && reclaim(&h, d, old) &&
              new_process(&h, d) && give_registers(&h, &d->hw) && hand_on(&h) &&
              give_kill_point(&h, d) && give_start(&h);
    d->crash_at_start = d->crash_after_submits = d->hang_after_submits = 0; /* once each */
    d->kill_after_submits = d->spin_after_submits = d->stray_dma_after_submits = 0;
    return ok ? NULL : err;
}
