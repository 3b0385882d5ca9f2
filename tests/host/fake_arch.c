/*
 * The parts of the fake architecture the capability tests need: host memory
 * stands in for physical memory, and the direct map is the identity, so a
 * "physical address" in these tests is simply a host pointer; and the
 * interrupts the long operations poll for (fake.h, struct fake_pending).
 */
#include "fake.h"

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

struct fake_pending fake_pending;

bool arch_interrupt_pending(void)
{
    struct fake_pending *p = &fake_pending;
    p->polls_total++;
    if (p->every == 0)
        return false;
    if (p->polls < p->every)
        p->polls++;
    return p->polls == p->every;
}
