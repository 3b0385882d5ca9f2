/*
 * The parts of the fake architecture the capability tests need: host memory
 * stands in for physical memory, and the direct map is the identity, so a
 * "physical address" in these tests is simply a host pointer.
 */
#include "arch.h"

void *arch_phys_to_virt(paddr_t pa)
{
    return (void *)(uintptr_t)pa;
}

paddr_t arch_virt_to_phys(const void *va)
{
    return (paddr_t)(uintptr_t)va;
}

/* As on RISC-V: the syscall instruction is 4 bytes. */
void arch_regs_restart_syscall(arch_regs_t *regs)
{
    regs->pc -= 4;
}
