/*
 * The parts of the fake architecture the capability tests need: host memory
 * stands in for physical memory, and the direct map is the identity, so a
 * "physical address" in these tests is simply a host pointer; and the
 * interrupts the long operations poll for (fake.h, struct fake_pending).
 */
#include "fake.h"
#include "smp.h"

#include <stdlib.h>

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
    if (fake_timer.deadline_ns <= fake_timer.now_ns)
        return true; /* the timer's interrupt, as the ports' pending bits show it */
    if (p->every == 0)
        return false;
    if (p->polls < p->every)
        p->polls++;
    return p->polls == p->every;
}

/* One CPU: the host tests' kernel never starts another (kernel/smp.c is
 * built, smp_start() is not called). */
unsigned arch_cpu_index(void)
{
    return 0;
}

/* Weak: the tests that do not link kernel/smp.c never ask for it. */
#pragma weak cpus
struct cpu *fake_kernel_cpu(void)
{
    return &cpus[0];
}

void arch_cpu_smp_mode(void)
{
}

void arch_tlb_flush_all(void)
{
}

void arch_fpu_release(void)
{
}

bool arch_cpu_start(unsigned index, uint64_t arch_id)
{
    (void)index;
    (void)arch_id;
    return false;
}

void arch_cpu_start_waiting(unsigned index, uint64_t arch_id)
{
    (void)index;
    (void)arch_id;
}

void arch_cpu_send_ipi(unsigned index)
{
    (void)index;
}

void arch_cpu_park(void)
{
    abort();
}
