/*
 * RISC-V has no IOMMU on QEMU's virt machine (nor on the boards this port
 * knows): device DMA is not confined, drivers stay in the trusted base
 * (docs/security.md), and the IOSpace methods fail with ILLEGAL_OPERATION
 * (kernel/iospace.c asks arch_iommu_present() first). The other hooks are
 * never called; they change nothing.
 */
#include "arch.h"

bool arch_iommu_present(void)
{
    return false;
}

bool arch_iommu_claim_device(unsigned rid)
{
    (void)rid;
    return false;
}

uint64_t arch_iommu_iova_limit(void)
{
    return 0;
}

enum arch_map_result arch_iommu_map_table(unsigned rid, uint64_t iova, paddr_t table_pa,
                                          unsigned *level)
{
    (void)rid, (void)iova, (void)table_pa, (void)level;
    return ARCH_MAP_BAD_ADDRESS;
}

enum arch_map_result arch_iommu_map_frame(unsigned rid, uint64_t iova, paddr_t pa,
                                          unsigned rights, unsigned *missing_level)
{
    (void)rid, (void)iova, (void)pa, (void)rights, (void)missing_level;
    return ARCH_MAP_BAD_ADDRESS;
}

void arch_iommu_unmap_frame(unsigned rid, uint64_t iova, paddr_t pa)
{
    (void)rid, (void)iova, (void)pa;
}

void arch_iommu_unmap_table(unsigned rid, uint64_t iova, unsigned level, paddr_t table_pa)
{
    (void)rid, (void)iova, (void)level, (void)table_pa;
}

bool arch_iommu_take_fault(struct arch_dma_fault *out, uint64_t *lost)
{
    (void)out, (void)lost;
    return false;
}

unsigned arch_iommu_fault_line(void)
{
    return 0;
}
