/*
 * Starting the driver (blk.h, "spawn.c / main.c"): the spawner found the
 * disk and holds its pages, lines and memory; blk-server gets exactly
 * those, in the slots blk.h names, and a struct blk_start that says where
 * each structure lies. It runs below the spawner's priority, so it starts
 * only once the spawner blocks, by then holding everything.
 */
#include "blk.h"

#define CHILD_CNODE_BITS 8u /* bk_process_spawn()'s CNode: 256 slots */
#define PAGE 4096ull

struct handover {
    struct bk_process p;
    struct blk_start start;
    char *err;
    size_t errlen;
};

/* Moves our cap `src` into the driver's slot `dest`; false with a
 * sentence on failure. */
static bool give(struct handover *h, uint64_t src, unsigned dest, const char *what)
{
    long r = src ? sys_cnode_move(h->p.cnode, dest, CHILD_CNODE_BITS, BK_CAP_ROOT_CNODE, src,
                                  BK_WORD_BITS)
                 : -BK_ERR_NOT_ENOUGH_MEMORY;
    if (r != 0)
        bk_snprintf(h->err, h->errlen, "blk: handing over %s failed: %s", what,
                    bk_error_name(-r));
    return r == 0;
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

/* Every candidate line the kernel has, on one notification, line i with
 * badge 1 << (BLK_IRQ_BADGE_SHIFT + i): the driver keeps the one its device raises. */
static bool give_lines(struct handover *h, const struct blk_hw *hw)
{
    uint64_t n = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
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
    return give(h, n, BLK_SLOT_NOTIFICATION, "the notification");
}

static bool give_start(struct handover *h)
{
    uint64_t f = bk_alloc_object(BK_OBJ_FRAME, 12);
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

const char *blk_spawn(const struct bk_bootinfo *bi, const struct blk_hw *hw, unsigned priority,
                      uint64_t *endpoint, char *err, size_t errlen)
{
    static struct handover h;
    h = (struct handover){ .err = err, .errlen = errlen };
    h.start = (struct blk_start){ .magic = BLK_START_MAGIC, .transport = hw->transport,
                                  .notify_multiplier = hw->notify_multiplier };
    memcpy(h.start.where, hw->where, sizeof(h.start.where));
    *endpoint = bk_alloc_object(BK_OBJ_ENDPOINT, 0);
    if (!*endpoint)
        return "blk: no memory for the driver's endpoint";
    if (bk_process_spawn(bi, "blk-server", priority, *endpoint,
                         BK_SPAWN_GIVE_DEBUG | BK_SPAWN_GIVE_VSPACE, &h.p) != 0) {
        bk_snprintf(err, errlen, "%s", h.p.error);
        return err;
    }
    bool ok = give_registers(&h, hw) && give_lines(&h, hw) &&
              give(&h, bk_alloc_object(BK_OBJ_UNTYPED, BLK_MEMORY_BITS), BLK_SLOT_MEMORY,
                   "the driver's memory") &&
              give_iospace(&h, hw) && give_start(&h);
    return ok ? NULL : err;
}
