/*
 * Address-space identifiers (Privileged 4.1.11: satp.ASID, up to 16 bits,
 * as many as the hart implements). TLB entries are tagged with the ASID,
 * so switching between spaces that hold valid ASIDs needs no flush. ASIDs
 * are handed out in order; when they run out, a new generation starts: the
 * whole TLB is flushed once and every space gets a fresh ASID when next
 * entered (arch_vspace_t.asid_generation tells stale ones apart). ASID 0
 * is the kernel's boot table. Without ASIDs every switch flushes.
 *
 * SMP note: a rollover must then flush every hart, and the allocator needs
 * a lock.
 */
#include "port.h"

#include "riscv.h"

static unsigned implemented_bits;
static uint32_t max_asid;        /* 0: no ASIDs */
static uint32_t next_asid = 1;
static uint64_t generation = 1;  /* vspaces start with generation 0 = none */

/* Writing all ones to satp.ASID and reading it back shows which bits
 * exist (the field is WARL; implemented bits are the low ones). The kernel
 * mappings are global, so running with a changed ASID for two
 * instructions is harmless. */
BOOT_CODE void asid_init(void)
{
    uint64_t satp = csr_read(satp);
    csr_write(satp, satp | SATP_ASID_MASK << SATP_ASID_SHIFT);
    uint64_t probed = csr_read(satp);
    csr_write(satp, satp);
    sfence_vma_all();
    max_asid = (uint32_t)((probed >> SATP_ASID_SHIFT) & SATP_ASID_MASK);
    implemented_bits = 0;
    while (max_asid >> implemented_bits)
        implemented_bits++;
}

unsigned asid_bits(void)
{
    return implemented_bits;
}

/* sfence.vma with rs2 = a register holding ASID 0 (not x0) flushes that
 * ASID's non-global entries and keeps the kernel's global ones. */
static void flush_asid0(void)
{
    __asm__ volatile("li t0, 0\n\tsfence.vma zero, t0" ::: "t0", "memory");
}

static void assign_asid(arch_vspace_t *vs, struct riscv_cpu *cpu)
{
    if (next_asid > max_asid) {
        generation++;
        next_asid = 1;
        sfence_vma_all();
        cpu->satp = 0; /* force the satp write below */
    }
    vs->asid = (uint16_t)next_asid++;
    vs->asid_generation = generation;
}

void asid_activate(struct riscv_cpu *cpu, arch_vspace_t *vs)
{
    uint64_t satp = SATP_MODE_SV39 | vs->root >> PAGE_SHIFT;
    if (max_asid == 0) {
        if (satp != cpu->satp) {
            csr_write(satp, satp);
            flush_asid0();
            cpu->satp = satp;
        }
        return;
    }
    if (vs->asid_generation != generation)
        assign_asid(vs, cpu);
    satp |= (uint64_t)vs->asid << SATP_ASID_SHIFT;
    if (satp != cpu->satp) {
        csr_write(satp, satp);
        cpu->satp = satp;
    }
}
