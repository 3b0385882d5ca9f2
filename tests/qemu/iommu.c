/*
 * DMA isolation on x86-64 (docs/security.md, issue 14), as a root task on
 * q35 with an Intel IOMMU (tools/runtest.py --iommu) and a virtio-blk disk
 * whose DMA goes through it. The root task finds the disk, takes an
 * IOSpace for it (IOSpaceControl: Issue), builds its IO page tables from
 * untyped memory and maps three frames into it (Frame: MapIO), then drives
 * the disk in-process with the driver's own virtio code
 * (servers/blk/virtio.c) told to use IO addresses: a pattern written and
 * read back must match. Then the data frame's IO mapping is removed and
 * the disk is asked to read into it again: the IOMMU must block the DMA
 * (the frame keeps its poison) and the kernel
 * must report it: a line on its console naming the device and the IO
 * address (ctest looks for it), and to a user-level handler, whose
 * notification the fault line signals and which reads the fault back
 * with IOSpaceControl: TakeFault. On the way, every invalid argument of the three
 * methods, each with its error.
 */
#include "../../servers/blk/blk.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS
#define IOVA 0x10000000ull  /* where the three DMA frames go in the device's space */
#define IOVA_LIMIT (1ull << 39)
#define SECTOR 5u

static int failures, passes;

static void expect(bool ok, const char *what)
{
    if (ok)
        passes++;
    else
        failures++;
    debug_printf("iommu: %s: %s\n", ok ? "ok" : "FAILED", what);
}

static void expect_err(long got, long want, const char *what)
{
    if (got != want)
        debug_printf("iommu: %s: got %s, wanted %s\n", what, bk_error_name(-got),
                     bk_error_name(-want));
    expect(got == want, what);
}

static uint64_t copy_cap(uint64_t cap, uint64_t rights)
{
    uint64_t s = bk_slot_alloc();
    sys_cnode_copy(ROOT, s, W, ROOT, cap, W, rights);
    return s;
}

static long issue(uint64_t rid, uint64_t slot)
{
    return sys_iospace_control_issue(BK_CAP_IOSPACE_CONTROL, rid, ROOT, slot, W);
}

/* ---- The bad arguments, each refused with its error --------------------- */

static void issue_errors(void)
{
    uint64_t s = bk_slot_alloc();
    expect_err(issue(0x10000, s), -BK_ERR_RANGE, "Issue: a requester id above 0xffff is RANGE");
    expect_err(issue(0x4000, s), -BK_ERR_INVALID_ARGUMENT,
               "Issue: a device the DMAR does not put behind the IOMMU (40:00.0) is refused");
    expect_err(issue(0, BK_CAP_DEBUG), -BK_ERR_DELETE_FIRST, "Issue: a full slot is DELETE_FIRST");
    expect_err(sys_cnode_copy(ROOT, s, W, ROOT, BK_CAP_IOSPACE_CONTROL, W, BK_RIGHTS_ALL),
               -BK_ERR_ILLEGAL_OPERATION, "IOSpaceControl cannot be copied");
}

/* Tables: the first is the root, the next two the levels below; a fourth
 * finds every level present. */
static void build_tables(uint64_t space, uint64_t frame)
{
    uint64_t pt[4];
    for (unsigned i = 0; i < 4; i++)
        pt[i] = bk_alloc_object(BK_OBJ_IO_PAGE_TABLE, 0);
    expect_err(sys_frame_map_io(frame, space, IOVA, BK_VM_READ), -BK_ERR_FAILED_LOOKUP,
               "MapIO: without IO page tables is FAILED_LOOKUP");
    expect_err(sys_io_page_table_map(pt[0], frame, IOVA), -BK_ERR_INVALID_CAPABILITY,
               "IOPageTable: Map: a frame cap as the IOSpace is INVALID_CAPABILITY");
    expect_err(sys_io_page_table_map(pt[0], bk_slot_alloc(), IOVA), -BK_ERR_FAILED_LOOKUP,
               "IOPageTable: Map: an empty slot as the IOSpace is FAILED_LOOKUP");
    expect_err(sys_io_page_table_map(pt[0], space, IOVA_LIMIT), -BK_ERR_INVALID_ARGUMENT,
               "IOPageTable: Map: an IO address at the IOMMU's limit is INVALID_ARGUMENT");
    bool ok = true;
    for (unsigned i = 0; i < 3; i++)
        ok = ok && sys_io_page_table_map(pt[i], space, IOVA) == 0;
    expect(ok, "three IO page tables (root, level 2, level 1) mapped for the disk");
    expect_err(sys_io_page_table_map(pt[3], space, IOVA), -BK_ERR_DELETE_FIRST,
               "IOPageTable: Map: every level present is DELETE_FIRST");
    expect_err(sys_io_page_table_map(pt[0], space, IOVA + (1ull << 30)),
               -BK_ERR_ILLEGAL_OPERATION, "IOPageTable: Map: a mapped table is ILLEGAL_OPERATION");
    expect_err(sys_cnode_copy(ROOT, bk_slot_alloc(), W, ROOT, pt[0], W, BK_RIGHTS_ALL),
               -BK_ERR_ILLEGAL_OPERATION, "an IO page table cap cannot be copied");
}

static void map_io_errors(uint64_t space, uint64_t frame)
{
    uint64_t f = copy_cap(frame, BK_RIGHTS_ALL), ro = copy_cap(frame, BK_RIGHT_READ);
    uint64_t none = copy_cap(frame, BK_RIGHT_WRITE), large = bk_alloc_object(BK_OBJ_FRAME, 21);
    uint64_t rw = BK_VM_READ | BK_VM_WRITE, at = IOVA + 0x5000;
    expect_err(sys_frame_map_io(f, BK_CAP_DEBUG, at, rw), -BK_ERR_INVALID_CAPABILITY,
               "MapIO: a Debug cap as the IOSpace is INVALID_CAPABILITY");
    expect_err(sys_frame_map_io(none, space, at, rw), -BK_ERR_INSUFFICIENT_RIGHTS,
               "MapIO: a frame cap without the read right is INSUFFICIENT_RIGHTS");
    expect_err(sys_frame_map_io(f, space, at + 8, rw), -BK_ERR_INVALID_ARGUMENT,
               "MapIO: a misaligned IO address is INVALID_ARGUMENT");
    expect_err(sys_frame_map_io(f, space, IOVA_LIMIT, rw), -BK_ERR_INVALID_ARGUMENT,
               "MapIO: an IO address at the limit is INVALID_ARGUMENT");
    expect_err(sys_frame_map_io(f, space, at, 0), -BK_ERR_INVALID_ARGUMENT,
               "MapIO: rights without read are INVALID_ARGUMENT");
    expect_err(sys_frame_map_io(f, space, at, BK_VM_READ | BK_VM_EXEC), -BK_ERR_INVALID_ARGUMENT,
               "MapIO: execute is INVALID_ARGUMENT");
    expect_err(sys_frame_map_io(large, space, IOVA + (2ull << 20), rw), -BK_ERR_INVALID_ARGUMENT,
               "MapIO: a 2 MiB frame is INVALID_ARGUMENT");
    expect_err(sys_frame_map_io(ro, space, at, rw), -BK_ERR_INSUFFICIENT_RIGHTS,
               "MapIO: write through a read-only frame cap is INSUFFICIENT_RIGHTS");
    expect_err(sys_frame_map_io(ro, space, at, BK_VM_READ), 0, "MapIO: read-only through it");
    expect_err(sys_frame_map_io(ro, space, at + 0x1000, BK_VM_READ), -BK_ERR_ILLEGAL_OPERATION,
               "MapIO: a mapped frame cap is ILLEGAL_OPERATION");
    expect_err(sys_frame_map_io(f, space, at, rw), -BK_ERR_DELETE_FIRST,
               "MapIO: an IO address in use is DELETE_FIRST");
    expect_err(sys_frame_remap(ro, BK_VM_READ), -BK_ERR_ILLEGAL_OPERATION,
               "Frame: Remap of an IO mapping is ILLEGAL_OPERATION");
    expect_err(sys_frame_unmap(ro), 0, "Frame: Unmap of an IO mapping");
    expect_err(sys_frame_map_io(f, space, at, rw), 0, "the IO address is free again after Unmap");
    expect_err(sys_cnode_delete(ROOT, f, W), 0, "deleting a mapped frame cap unmaps it");
}

/* ---- The disk through its IO space -------------------------------------- */

/* Every candidate line on one notification, line i with the badge the
 * driver code looks for: 1 << (BLK_IRQ_BADGE_SHIFT + i). */
static void take_lines(const struct blk_hw *hw, struct blk_irq *irq)
{
    irq->notification = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    for (unsigned i = 0; i < hw->line_count; i++) {
        uint64_t handler = bk_slot_alloc(), badged = bk_slot_alloc();
        if (sys_irq_control_get(BK_CAP_IRQ_CONTROL, hw->lines[i], ROOT, handler, W) != 0)
            continue;
        sys_cnode_mint(ROOT, badged, W, ROOT, irq->notification, W, BK_RIGHT_WRITE,
                       1ull << (BLK_IRQ_BADGE_SHIFT + i));
        sys_irq_handler_set_notification(handler, badged);
        irq->handlers[irq->count] = handler;
        irq->lines[irq->count++] = hw->lines[i];
    }
    irq->known = irq->count == 1;
}

static void fill(uint8_t *p, unsigned seed)
{
    for (unsigned i = 0; i < BLK_SECTOR; i++)
        p[i] = (uint8_t)(i * 7 + seed);
}

static bool matches(const uint8_t *p, unsigned seed)
{
    for (unsigned i = 0; i < BLK_SECTOR; i++) {
        if (p[i] != (uint8_t)(i * 7 + seed))
            return false;
    }
    return true;
}

/* A user-level handler for DMA faults: the line TakeFault names, bound to
 * a notification of its own. Returns the handler cap (0: failed). */
static uint64_t fault_handler(uint64_t *notification)
{
    uint64_t fault, iova, lost, line, handler = bk_slot_alloc(), badged = bk_slot_alloc();
    long r = sys_iospace_control_take_fault(BK_CAP_IOSPACE_CONTROL, &fault, &iova, &lost, &line);
    expect(r == 0 && BK_DMA_FAULT_VALID(fault) == 0 && lost == 0,
           "TakeFault before any fault: none, none lost");
    *notification = bk_alloc_object(BK_OBJ_NOTIFICATION, 0);
    bool ok = sys_irq_control_get(BK_CAP_IRQ_CONTROL, line, ROOT, handler, W) == 0 &&
              sys_cnode_mint(ROOT, badged, W, ROOT, *notification, W, BK_RIGHT_WRITE, 0x40) == 0 &&
              sys_irq_handler_set_notification(handler, badged) == 0;
    debug_printf("iommu: DMA faults arrive on interrupt line %llu\n", (unsigned long long)line);
    expect(ok, "a handler for the DMA fault line, bound to a notification");
    return ok ? handler : 0;
}

/* After the stray DMA: the handler's notification was signalled, and
 * TakeFault names the device, the IO address and a write. */
static void fault_reported(uint64_t handler, uint64_t notification, unsigned rid)
{
    uint64_t start = debug_ticks(), fault = 0, iova = 0, lost = 0, line = 0;
    struct bk_msg m = { 0 };
    while (!m.badge && debug_ticks() - start < 200)
        sys_nbrecv(notification, &m);
    expect(m.badge == 0x40, "the DMA fault handler's notification was signalled");
    long r = sys_iospace_control_take_fault(BK_CAP_IOSPACE_CONTROL, &fault, &iova, &lost, &line);
    debug_printf("iommu: TakeFault: device 0x%04llx, access %llu, reason %llu, IO address 0x%llx\n",
                 (unsigned long long)BK_DMA_FAULT_REQUESTER_ID(fault),
                 (unsigned long long)BK_DMA_FAULT_ACCESS(fault),
                 (unsigned long long)BK_DMA_FAULT_REASON(fault), (unsigned long long)iova);
    expect(r == 0 && BK_DMA_FAULT_VALID(fault) && BK_DMA_FAULT_REQUESTER_ID(fault) == rid &&
               BK_DMA_FAULT_ACCESS(fault) == BK_FAULT_ACCESS_WRITE && iova == IOVA + 0x2000,
           "TakeFault names the disk, a write, and the unmapped IO address");
}

/* One request in virtqueue slot 0 through the driver's bounce (data)
 * frame, waited for as blk-server's copying methods wait: the virtio-blk
 * status, or 255 when the device did not answer within 2 s of polling. */
static bool request_done;
static unsigned request_status;

static void note_done(void *arg, unsigned slot, unsigned status)
{
    (void)arg;
    (void)slot;
    request_done = true;
    request_status = status;
}

static unsigned transfer(struct blk_hw *hw, struct blk_irq *irq, bool write, uint64_t sector,
                         unsigned count)
{
    request_done = false;
    virtio_blk_post(hw, 0, write, sector, count, virtio_blk_bounce_pa());
    uint64_t start = debug_ticks();
    for (;;) { /* the interrupt first: it tells which candidate line is the disk's */
        bool waiting = virtio_blk_wait(hw, irq, start);
        virtio_blk_harvest(note_done, NULL);
        if (request_done)
            return request_status;
        if (!waiting)
            return 255;
    }
}

/* Another stray read while the fault line waits for its ack: the IOMMU
 * records the fault but raises no event (masked until the ack), and
 * TakeFault must hand it over all the same, as a supervisor that reset
 * a device takes every fault the device made before the reset and must
 * not meet one later (servers/blk/spawn.c, drop_dma_faults()). After
 * the ack the taken fault is not signalled a second time. */
static unsigned take_faults_of(unsigned rid)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 64; i++) {
        uint64_t fault = 0, iova = 0, lost = 0, line = 0;
        if (sys_iospace_control_take_fault(BK_CAP_IOSPACE_CONTROL, &fault, &iova, &lost,
                                           &line) != 0 ||
            !BK_DMA_FAULT_VALID(fault))
            break;
        n += BK_DMA_FAULT_REQUESTER_ID(fault) == rid && iova == IOVA + 0x2000;
    }
    return n;
}

static void unsignalled_fault_taken(struct blk_hw *hw, struct blk_irq *irq, uint64_t handler,
                                    uint64_t notification)
{
    /* One stray request may be recorded once or twice (QEMU's IOMMU
     * drops a repeat while the first record is still pending): the
     * first one's are all taken before the second is made. */
    (void)take_faults_of(hw->pci_rid);
    irq->known = false;
    (void)transfer(hw, irq, false, SECTOR, 1);
    expect(take_faults_of(hw->pci_rid) > 0,
           "TakeFault hands over a fault made while the fault line waits for its ack");
    expect_err(sys_irq_handler_ack(handler), 0, "the handler acks the fault line");
    struct bk_msg m = { 0 };
    uint64_t start = debug_ticks();
    while (!m.badge && debug_ticks() - start < 20)
        sys_nbrecv(notification, &m);
    expect(m.badge == 0 && take_faults_of(hw->pci_rid) == 0,
           "after the ack, the faults taken early are neither signalled nor taken again");
}

static void dma_through_the_iommu(struct blk_hw *hw, uint64_t space)
{
    struct blk_dma dma = { bk_alloc_object(BK_OBJ_FRAME, 12), bk_alloc_object(BK_OBJ_FRAME, 12),
                           bk_alloc_object(BK_OBJ_FRAME, 12), IOVA };
    uint64_t frames[3] = { dma.queue_frame, dma.request_frame, dma.data_frame }, io[3];
    bool ok = true;
    for (unsigned i = 0; i < 3; i++) {
        io[i] = copy_cap(frames[i], BK_RIGHT_READ | BK_RIGHT_WRITE); /* no phys-address right */
        ok = ok && sys_frame_map_io(io[i], space, IOVA + i * 4096, BK_VM_READ | BK_VM_WRITE) == 0;
    }
    expect(ok, "the queue, request and data frames mapped at IO addresses 0x10000000..");
    static struct blk_irq irq;
    take_lines(hw, &irq);
    uint64_t sectors = 0;
    const char *err = virtio_blk_start(hw, &dma, &sectors);
    if (err)
        debug_printf("iommu: %s\n", err);
    expect(!err && sectors > SECTOR, "the disk starts with its queue at an IO address");
    if (err)
        return;
    fill(blk_data, 0x3c);
    expect(transfer(hw, &irq, true, SECTOR, 1) == 0,
           "a write from the IO-mapped data frame completes");
    memset(blk_data, 0, BLK_SECTOR);
    expect(transfer(hw, &irq, false, SECTOR, 1) == 0 && matches(blk_data, 0x3c),
           "a read into it brings the pattern back: the device's DMA went through the IOMMU");

    /* The stray DMA: the data frame leaves the device's space (the CPU
     * keeps its own mapping), and the disk is asked to read into it. */
    uint64_t notification, handler = fault_handler(&notification);
    expect_err(sys_frame_unmap(io[2]), 0, "the data frame's IO mapping removed");
    memset(blk_data, 0xa5, BLK_SECTOR);
    /* Whether the device answers is its own affair (QEMU's virtio-blk
     * completes the request, its write to memory dropped): wait at most
     * 2 s, polling, in case it does not. */
    irq.known = false;
    unsigned status = transfer(hw, &irq, false, SECTOR, 1);
    debug_printf("iommu: the device ended the read into an unmapped IO address with status %u\n",
                 status);
    bool poisoned = true;
    for (unsigned i = 0; i < BLK_SECTOR; i++)
        poisoned = poisoned && blk_data[i] == 0xa5;
    expect(poisoned, "a read into an unmapped IO address is blocked: the frame keeps its poison");
    if (!handler)
        return;
    fault_reported(handler, notification, hw->pci_rid);
    unsignalled_fault_taken(hw, &irq, handler, notification);
}

int main(const struct bk_bootinfo *bi)
{
    static struct blk_hw hw;
    bk_alloc_init(bi);
    devmem_init(bi);
    const char *err = blk_discover(bi, &hw);
    if (err) {
        debug_printf("iommu: FAILED: %s\n", err);
        return 1;
    }
    debug_printf("iommu: found %s, requester id 0x%04x\n", hw.where, hw.pci_rid);
    issue_errors();
    uint64_t space = bk_slot_alloc(), frame = bk_alloc_object(BK_OBJ_FRAME, 12);
    expect_err(issue(hw.pci_rid, space), 0, "Issue: an IOSpace for the disk");
    expect(BK_CAP_IDENTITY_TYPE(debug_cap_identify(space)) == BK_OBJ_IOSPACE,
           "the IOSpace cap identifies as BK_OBJ_IOSPACE");
    build_tables(space, frame);
    map_io_errors(space, frame);
    dma_through_the_iommu(&hw, space);
    debug_printf("iommu: %d passed, %d failed\n", passes, failures);
    return failures != 0;
}
