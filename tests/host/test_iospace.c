/*
 * Host tests of kernel/iospace.c and Frame: MapIO (kernel/frame.c) against
 * the fake IOMMU (tests/host/fake_iommu.c): the refusals without an IOMMU;
 * Issue's checks; IO page tables becoming root, level 2 and level 1 and
 * their errors; MapIO's rights; unmapping, deleting a frame cap and
 * deleting a table removing exactly what they made (a stale record never
 * removes a newer mapping); TakeFault's word. Under ASan and UBSan.
 */
#include "iospace.h"
#include "object.h"
#include "kworld.h"

#define IOSPACE_CONTROL 13 /* a root slot kw_init() leaves free */
#define RID 0x10u
#define IOVA 0x10000000ull
#define RW (BK_VM_READ | BK_VM_WRITE)

static void world(struct kworld *w, bool iommu)
{
    kw_init(w);
    fake_iommu_reset(iommu);
    cnode_boot_install(&w->slots[IOSPACE_CONTROL],
                       cap_make_object(CAP_IOSPACE_CONTROL, NULL, CAP_RIGHTS_ALL));
}

static uint64_t issue(struct kworld *w, uint64_t rid, unsigned dest)
{
    return kw_invoke(w, IOSPACE_CONTROL, BK_LABEL_IOSPACE_CONTROL_ISSUE, 4, rid, KW_CNODE, dest,
                     64);
}

static uint64_t pt_map(struct kworld *w, unsigned pt, unsigned space, uint64_t iova)
{
    return kw_invoke(w, pt, BK_LABEL_IO_PAGE_TABLE_MAP, 2, space, iova, 0, 0);
}

static uint64_t map_io(struct kworld *w, unsigned frame, unsigned space, uint64_t iova,
                       uint64_t rights)
{
    return kw_invoke(w, frame, BK_LABEL_FRAME_MAP_IO, 3, space, iova, rights, 0);
}

static uint64_t del(struct kworld *w, unsigned slot)
{
    return kw_invoke(w, KW_CNODE, BK_LABEL_CNODE_DELETE, 2, slot, 64, 0, 0);
}

/* An IOSpace for RID with its three tables at IOVA; the tables' slots. */
static unsigned space_with_tables(struct kworld *w, unsigned pts[3])
{
    unsigned space = w->next_slot++;
    CHECK_EQ(issue(w, RID, space), 0);
    for (unsigned i = 0; i < 3; i++) {
        pts[i] = kw_retype(w, CAP_IO_PAGE_TABLE, 0, 1);
        CHECK_EQ(pt_map(w, pts[i], space, IOVA), 0);
    }
    return space;
}

static void test_no_iommu(void)
{
    struct kworld w;
    world(&w, false);
    unsigned dest = w.next_slot++, pt = kw_retype(&w, CAP_IO_PAGE_TABLE, 0, 1);
    CHECK_EQ(issue(&w, RID, dest), BK_ERR_ILLEGAL_OPERATION);
    CHECK(cap_is_null(&w.slots[dest].cap));
    CHECK_EQ(kw_invoke(&w, IOSPACE_CONTROL, BK_LABEL_IOSPACE_CONTROL_TAKE_FAULT, 0, 0, 0, 0, 0),
             BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(pt_map(&w, pt, IOSPACE_CONTROL, IOVA), BK_ERR_INVALID_CAPABILITY);
    kw_free(&w);
}

static void test_issue_checks(void)
{
    struct kworld w;
    world(&w, true);
    unsigned dest = w.next_slot++;
    CHECK_EQ(issue(&w, 0x10000, dest), BK_ERR_RANGE);
    CHECK_EQ(kw_result(&w, 1), 0xffff);
    CHECK_EQ(issue(&w, RID, KW_CNODE), BK_ERR_DELETE_FIRST);
    CHECK_EQ(issue(&w, FAKE_IOMMU_DEVICES, dest), BK_ERR_INVALID_ARGUMENT); /* not behind it */
    CHECK(cap_is_null(&w.slots[dest].cap));
    CHECK_EQ(issue(&w, RID, dest), 0);
    CHECK_EQ(cap_type(&w.slots[dest].cap), CAP_IOSPACE);
    CHECK_EQ(cap_iospace_device(&w.slots[dest].cap), RID);
    unsigned copy = kw_mint(&w, dest, CAP_RIGHTS_ALL, 0); /* IOSpace caps copy */
    CHECK_EQ(cap_iospace_device(&w.slots[copy].cap), RID);
    /* Revoking IOSpaceControl takes every IOSpace cap back. */
    CHECK_EQ(kw_invoke(&w, KW_CNODE, BK_LABEL_CNODE_REVOKE, 2, IOSPACE_CONTROL, 64, 0, 0), 0);
    CHECK(cap_is_null(&w.slots[dest].cap) && cap_is_null(&w.slots[copy].cap));
    kw_free(&w);
}

static void test_tables(void)
{
    struct kworld w;
    world(&w, true);
    unsigned space = w.next_slot++, pt[4];
    CHECK_EQ(issue(&w, RID, space), 0);
    for (unsigned i = 0; i < 4; i++)
        pt[i] = kw_retype(&w, CAP_IO_PAGE_TABLE, 0, 1);
    CHECK_EQ(pt_map(&w, pt[0], KW_CNODE, IOVA), BK_ERR_INVALID_CAPABILITY);
    CHECK_EQ(pt_map(&w, pt[0], space, 1ull << 39), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(pt_map(&w, pt[0], space, IOVA), 0);
    CHECK_EQ(fake_iommu_root(RID), arch_virt_to_phys(kw_object(&w, pt[0])));
    CHECK_EQ(pt_map(&w, pt[0], space, IOVA), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(pt_map(&w, pt[1], space, IOVA), 0);
    CHECK_EQ(pt_map(&w, pt[2], space, IOVA), 0);
    CHECK_EQ(pt_map(&w, pt[3], space, IOVA), BK_ERR_DELETE_FIRST);
    CHECK(!object_is_derivable(CAP_IO_PAGE_TABLE)); /* one cap, one place */
    /* Unmapping the root takes the device's context away, and clears it. */
    unsigned before = fake_iommu_invalidations;
    CHECK_EQ(kw_invoke(&w, pt[0], BK_LABEL_IO_PAGE_TABLE_UNMAP, 0, 0, 0, 0, 0), 0);
    CHECK_EQ(fake_iommu_root(RID), 0);
    CHECK_EQ(fake_iommu_invalidations, before + 1);
    const uint64_t *root = kw_object(&w, pt[0]);
    bool zero = true;
    for (unsigned i = 0; i < 512; i++)
        zero = zero && root[i] == 0;
    CHECK(zero);
    /* Deleting a mapped table unhooks it. */
    CHECK_EQ(pt_map(&w, pt[0], space, IOVA), 0);
    CHECK_EQ(del(&w, pt[0]), 0);
    CHECK_EQ(fake_iommu_root(RID), 0);
    kw_free(&w);
}

static void test_map_io(void)
{
    struct kworld w;
    world(&w, true);
    unsigned pts[3], space = space_with_tables(&w, pts);
    unsigned frame = kw_retype(&w, CAP_FRAME, 12, 1);
    unsigned ro = kw_mint(&w, frame, CAP_RIGHT_READ, 0), none = kw_mint(&w, frame, 0, 0);
    unsigned large = kw_retype(&w, CAP_FRAME, 21, 1);
    paddr_t pa = cap_frame_base(&w.slots[frame].cap), got;
    unsigned rights;
    CHECK_EQ(map_io(&w, none, space, IOVA, BK_VM_READ), BK_ERR_INSUFFICIENT_RIGHTS);
    CHECK_EQ(map_io(&w, frame, KW_CNODE, IOVA, RW), BK_ERR_INVALID_CAPABILITY);
    CHECK_EQ(map_io(&w, frame, space, IOVA + 8, RW), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_io(&w, frame, space, 1ull << 39, RW), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_io(&w, frame, space, IOVA, BK_VM_WRITE), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_io(&w, frame, space, IOVA, BK_VM_READ | BK_VM_EXEC), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_io(&w, large, space, IOVA, RW), BK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(map_io(&w, ro, space, IOVA, RW), BK_ERR_INSUFFICIENT_RIGHTS);
    CHECK_EQ(map_io(&w, frame, space, IOVA + (1ull << 21), RW), BK_ERR_FAILED_LOOKUP);
    CHECK_EQ(kw_result(&w, 3), 1); /* the missing level: the table of 4 KiB pages */
    CHECK(!fake_iommu_translate(RID, IOVA, &got, &rights)); /* no refusal mapped anything */
    CHECK_EQ(map_io(&w, ro, space, IOVA, BK_VM_READ), 0);
    CHECK(fake_iommu_translate(RID, IOVA, &got, &rights) && got == pa && rights == BK_VM_READ);
    CHECK_EQ(map_io(&w, ro, space, IOVA + 4096, BK_VM_READ), BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(map_io(&w, frame, space, IOVA, RW), BK_ERR_DELETE_FIRST);
    CHECK_EQ(kw_invoke(&w, ro, BK_LABEL_FRAME_REMAP, 1, BK_VM_READ, 0, 0, 0),
             BK_ERR_ILLEGAL_OPERATION);
    CHECK_EQ(map_io(&w, frame, space, IOVA + 4096, RW), 0);
    CHECK(fake_iommu_translate(RID, IOVA + 4096, &got, &rights) && rights == RW);
    /* Unmap and delete each remove their own mapping. */
    CHECK_EQ(kw_invoke(&w, ro, BK_LABEL_FRAME_UNMAP, 0, 0, 0, 0, 0), 0);
    CHECK(!fake_iommu_translate(RID, IOVA, &got, &rights));
    CHECK_EQ(del(&w, frame), 0);
    CHECK(!fake_iommu_translate(RID, IOVA + 4096, &got, &rights));
    kw_free(&w);
}

/* A frame cap whose table was unmapped keeps a stale record; unmapping
 * it later must not remove what was mapped there since. */
static void test_stale_record(void)
{
    struct kworld w;
    world(&w, true);
    unsigned pts[3], space = space_with_tables(&w, pts);
    unsigned a = kw_retype(&w, CAP_FRAME, 12, 1), b = kw_retype(&w, CAP_FRAME, 12, 1);
    paddr_t got;
    unsigned rights;
    CHECK_EQ(map_io(&w, a, space, IOVA, RW), 0);
    CHECK_EQ(kw_invoke(&w, pts[2], BK_LABEL_IO_PAGE_TABLE_UNMAP, 0, 0, 0, 0, 0), 0);
    CHECK(!fake_iommu_translate(RID, IOVA, &got, &rights)); /* gone with its table */
    CHECK_EQ(pt_map(&w, pts[2], space, IOVA), 0);
    CHECK_EQ(map_io(&w, b, space, IOVA, RW), 0);
    CHECK_EQ(del(&w, a), 0); /* a's stale record */
    CHECK(fake_iommu_translate(RID, IOVA, &got, &rights) &&
          got == cap_frame_base(&w.slots[b].cap));
    kw_free(&w);
}

static void test_take_fault(void)
{
    struct kworld w;
    world(&w, true);
    CHECK_EQ(kw_invoke(&w, IOSPACE_CONTROL, BK_LABEL_IOSPACE_CONTROL_TAKE_FAULT, 0, 0, 0, 0, 0),
             0);
    CHECK_EQ(BK_DMA_FAULT_VALID(kw_result(&w, 0)), 0);
    CHECK_EQ(kw_result(&w, 3), FAKE_IRQ_LINES - 1);
    for (unsigned i = 0; i < 5; i++) /* one more than the fake keeps */
        fake_iommu_fault(RID, IOVA + i * 4096 + 12, i == 4, 5);
    CHECK_EQ(kw_invoke(&w, IOSPACE_CONTROL, BK_LABEL_IOSPACE_CONTROL_TAKE_FAULT, 0, 0, 0, 0, 0),
             0);
    uint64_t f = kw_result(&w, 0);
    CHECK(BK_DMA_FAULT_VALID(f) && BK_DMA_FAULT_REQUESTER_ID(f) == RID &&
          BK_DMA_FAULT_ACCESS(f) == BK_FAULT_ACCESS_READ && BK_DMA_FAULT_REASON(f) == 5);
    CHECK_EQ(kw_result(&w, 1), IOVA + 4096); /* the first was dropped: the page */
    CHECK_EQ(kw_result(&w, 2), 1);
    for (unsigned i = 0; i < 3; i++)
        kw_invoke(&w, IOSPACE_CONTROL, BK_LABEL_IOSPACE_CONTROL_TAKE_FAULT, 0, 0, 0, 0, 0);
    CHECK_EQ(BK_DMA_FAULT_ACCESS(kw_result(&w, 0)), BK_FAULT_ACCESS_WRITE);
    CHECK_EQ(kw_result(&w, 2), 0);
    kw_free(&w);
}

TEST_MAIN(TEST(test_no_iommu), TEST(test_issue_checks), TEST(test_tables), TEST(test_map_io),
          TEST(test_stale_record), TEST(test_take_fault))
