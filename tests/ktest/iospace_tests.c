/*
 * IOSpaceControl, IOPageTable and Frame: MapIO on a machine whose DMA no
 * IOMMU translates: QEMU's RISC-V virt always, and the q35 PC this suite
 * boots (no -device intel-iommu). The control cap is in its slot on both
 * arches and cannot be copied; Issue refuses with ILLEGAL_OPERATION, so no
 * IOSpace cap can exist; IO page tables are still made from untyped
 * memory, cannot be copied, and find no IOSpace to go into. With an IOMMU,
 * x86_64/iommu (tests/qemu/iommu.c) checks every method's errors and the
 * DMA itself.
 */
#include "ktest.h"

#define ROOT BK_CAP_ROOT_CNODE
#define W BK_WORD_BITS

static int test_control_slot(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    KT_CHECK(kt_type(BK_CAP_IOSPACE_CONTROL) == BK_OBJ_IOSPACE_CONTROL);
    KT_EXPECT_ERR(sys_cnode_copy(ROOT, s, W, ROOT, BK_CAP_IOSPACE_CONTROL, W, BK_RIGHTS_ALL),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_CHECK(kt_type(s) == 0);
    return 0;
}

static int test_issue_without_iommu(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    (void)env;
    /* Refused before any argument is looked at: a good device, a bad one,
     * a full slot, all the same answer. */
    KT_EXPECT_ERR(sys_iospace_control_issue(BK_CAP_IOSPACE_CONTROL, 0x10, ROOT, s, W),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_iospace_control_issue(BK_CAP_IOSPACE_CONTROL, 0x10000, ROOT, s, W),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_iospace_control_issue(BK_CAP_IOSPACE_CONTROL, 0, ROOT, BK_CAP_DEBUG, W),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_CHECK(kt_type(s) == 0);
    uint64_t fault, iova, lost, line;
    KT_EXPECT_ERR(sys_iospace_control_take_fault(BK_CAP_IOSPACE_CONTROL, &fault, &iova, &lost,
                                                 &line),
                  BK_ERR_ILLEGAL_OPERATION);
    /* Issue on another cap type is not a method of it. */
    KT_EXPECT_ERR(sys_iospace_control_issue(BK_CAP_IRQ_CONTROL, 0x10, ROOT, s, W),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_CHECK(kt_type(s) == 0);
    return 0;
}

static int test_io_page_table_without_space(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_IO_PAGE_TABLE, 0, s, 1));
    KT_CHECK(kt_type(s) == BK_OBJ_IO_PAGE_TABLE);
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s + 1, 1));
    KT_EXPECT_ERR(sys_cnode_copy(ROOT, s + 2, W, ROOT, s, W, BK_RIGHTS_ALL),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_EXPECT_ERR(sys_io_page_table_map(s, s + 1, 0x10000000), BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_io_page_table_map(s, s + 3, 0x10000000), BK_ERR_FAILED_LOOKUP);
    KT_OK(sys_io_page_table_unmap(s)); /* an unmapped table is left as it is */
    KT_OK(sys_cnode_delete(ROOT, s, W));
    return 0;
}

static int test_map_io_without_space(struct ktest_env *env)
{
    uint64_t s = kt_slots();
    KT_OK(kt_retype(env, BK_OBJ_FRAME, 12, s, 1));
    KT_EXPECT_ERR(sys_frame_map_io(s, BK_CAP_IOSPACE_CONTROL, 0x10000000, BK_VM_READ),
                  BK_ERR_INVALID_CAPABILITY);
    KT_EXPECT_ERR(sys_frame_map_io(s, s + 1, 0x10000000, BK_VM_READ), BK_ERR_FAILED_LOOKUP);
    /* A frame mapped in a VSpace is mapped: MapIO needs a copy. */
    KT_OK(bk_map_frame(BK_CAP_ROOT_VSPACE, s, 0x6f000000, BK_VM_READ, 0));
    KT_EXPECT_ERR(sys_frame_map_io(s, BK_CAP_IOSPACE_CONTROL, 0x10000000, BK_VM_READ),
                  BK_ERR_ILLEGAL_OPERATION);
    KT_OK(sys_frame_unmap(s));
    return 0;
}

const struct ktest iospace_tests[] = {
    { "iospace: IOSpaceControl is in its slot and cannot be copied", test_control_slot },
    { "iospace: without an IOMMU, Issue and TakeFault are ILLEGAL_OPERATION",
      test_issue_without_iommu },
    { "iospace: IO page tables are retyped, not copied, and need an IOSpace",
      test_io_page_table_without_space },
    { "iospace: Frame: MapIO needs an IOSpace cap and an unmapped frame cap",
      test_map_io_without_space },
};
const unsigned iospace_test_count = sizeof(iospace_tests) / sizeof(iospace_tests[0]);
