/*
 * Address-space identifiers (Privileged 4.1.11: satp.ASID, up to 16 bits,
 * as many as the hart implements) and the TLB flushes of user spaces.
 *
 * TLB entries are tagged with the ASID, so switching between spaces that
 * hold valid ASIDs needs no flush. A space gets an ASID when first entered
 * and gives it back when destroyed (asid_release flushes it first); the
 * next free one is taken in round-robin order. When every ASID is held, a
 * new generation starts: the whole TLB is flushed once and every space
 * gets a fresh ASID when next entered (arch_vspace_t.asid_generation tells
 * stale ones apart). ASID 0 is the kernel's boot table. Without ASIDs
 * every switch flushes, so only the space in satp has TLB entries.
 *
 * User entries are never global (G clear), so sfence.vma with an ASID in
 * rs2 drops exactly one space's entries and keeps the kernel's (4.2.1).
 *
 * Several harts: the allocator runs under the kernel lock (asid_activate()
 * is called on the way to user mode, which lets go of it last). A rollover
 * flushes every other hart too and waits for them (smp_tlb_shootdown(),
 * whose answer also clears each hart's cpu->satp: arch_tlb_flush_all()),
 * so no hart keeps entries, or runs on, an ASID of the old generation
 * that a space of the new one may be given; the flushes of one space
 * reach the other harts through the kernel's shootdown (vspace.c).
 */
#include "port.h"

#include "kernel.h"
#include "riscv.h"
#include "smp.h"

#define ASID_COUNT (SATP_ASID_MASK + 1)

static unsigned implemented_bits;
static uint32_t max_asid;        /* 0: no ASIDs */
static uint32_t next_asid = 1;   /* where the search for a free one starts */
static uint64_t generation = 1;  /* vspaces start with generation 0 = none */
static uint64_t asid_used[ASID_COUNT / 64]; /* bit a: held in this generation */

/* The generation in which a space's ASID is still good, for the fast
 * path's inline check (user.c): `generation` when ASIDs exist, else a
 * value no space ever has, so the check always sends it to asid_activate(). */
uint64_t asid_live_generation = ~0ull;

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
    asid_live_generation = max_asid ? generation : ~0ull;
}

unsigned asid_bits(void)
{
    return implemented_bits;
}

/* ---- sfence.vma forms (Privileged 4.2.1) ---------------------------------
 * The ASID is copied to t0 so that rs2 is never x0, even for ASID 0: with
 * rs2 = x0 the fence would also drop the kernel's global entries. */

static void sfence_asid(uint64_t asid)
{
    __asm__ volatile("mv t0, %0\n\tsfence.vma zero, t0" ::"r"(asid) : "t0", "memory");
}

static void sfence_asid_addr(uint64_t asid, vaddr_t va)
{
    __asm__ volatile("mv t0, %1\n\tsfence.vma %0, t0" ::"r"(va), "r"(asid) : "t0", "memory");
}

/* ---- Allocation ------------------------------------------------------------ */

static bool asid_is_used(uint32_t a)
{
    return (asid_used[a / 64] >> (a % 64)) & 1;
}

/* A free ASID in 1..max_asid, searching on from next_asid; 0 if none. */
static uint32_t find_free_asid(void)
{
    uint32_t a = next_asid;
    for (uint32_t n = 0; n < max_asid; n++, a = a == max_asid ? 1 : a + 1) {
        if (!asid_is_used(a))
            return a;
    }
    return 0;
}

static void new_generation(struct riscv_cpu *cpu)
{
    generation++;
    asid_live_generation = generation;
    memset(asid_used, 0, sizeof(asid_used));
    next_asid = 1;
    sfence_vma_all();
    cpu->satp = 0; /* force the satp write that follows */
    smp_tlb_shootdown(); /* the other harts, which must re-activate their space too */
}

/* Kept out of line: asid_activate() runs on every address-space switch and
 * should pay for this rare path only when it is taken. */
__attribute__((noinline)) static void assign_asid(arch_vspace_t *vs, struct riscv_cpu *cpu)
{
    uint32_t a = find_free_asid();
    if (a == 0) {
        new_generation(cpu);
        a = 1;
    }
    asid_used[a / 64] |= 1ull << (a % 64);
    next_asid = a == max_asid ? 1 : a + 1;
    vs->asid = (uint16_t)a;
    vs->asid_generation = generation;
}

/* Also leaves the value in vs->satp for the IPC fast path (trap.S), which
 * switches without calling here when cpu->satp == vs->satp (then satp
 * holds vs already: cpu->satp only ever holds a value written in the
 * current generation, and a recycled root clears it) or when vs's ASID
 * generation is asid_live_generation (then the satp write below is all
 * that would happen). */
void asid_activate(struct riscv_cpu *cpu, arch_vspace_t *vs)
{
    uint64_t satp = SATP_MODE_SV39 | vs->root >> PAGE_SHIFT;
    if (max_asid == 0) {
        vs->satp = satp;
        if (satp != cpu->satp) {
            csr_write(satp, satp);
            sfence_asid(0);
            cpu->satp = satp;
        }
        return;
    }
    if (vs->asid_generation != generation)
        assign_asid(vs, cpu);
    satp |= (uint64_t)vs->asid << SATP_ASID_SHIFT;
    vs->satp = satp;
    if (satp != cpu->satp) {
        csr_write(satp, satp);
        cpu->satp = satp;
    }
}

/* ---- Flushes ----------------------------------------------------------------- */

static bool satp_holds_root(uint64_t satp, paddr_t root)
{
    return (satp & SATP_PPN_MASK) == root >> PAGE_SHIFT;
}

/* The ASID under which the TLB may hold entries of `vs`; false if it can
 * hold none: a stale generation was flushed at the rollover, and without
 * ASIDs only the space in satp has entries. */
static bool tlb_tag(const arch_vspace_t *vs, uint64_t *asid)
{
    if (max_asid == 0) {
        *asid = 0;
        return satp_holds_root(csr_read(satp), vs->root);
    }
    *asid = vs->asid;
    return vs->asid_generation == generation;
}

void asid_flush_page(const arch_vspace_t *vs, vaddr_t va)
{
    uint64_t asid;
    if (tlb_tag(vs, &asid))
        sfence_asid_addr(asid, va);
}

void asid_flush_space(const arch_vspace_t *vs)
{
    uint64_t asid;
    if (tlb_tag(vs, &asid))
        sfence_asid(asid);
}

/* The page at `root` starts a new space: if satp still holds it (a
 * recycled root), the next asid_activate() must write satp again. */
void asid_forget_root(paddr_t root)
{
    struct riscv_cpu *cpu = this_cpu();
    if (satp_holds_root(cpu->satp, root))
        cpu->satp = 0;
}

/* Leaves `vs` for the kernel's table if the hart is in it, drops its TLB
 * entries and frees its ASID. */
void asid_release(arch_vspace_t *vs)
{
    struct riscv_cpu *cpu = this_cpu();
    uint64_t asid;
    bool tagged = tlb_tag(vs, &asid);
    if (satp_holds_root(csr_read(satp), vs->root)) {
        uint64_t kernel = SATP_MODE_SV39 | arch_virt_to_phys(paging_kernel_root()) >> PAGE_SHIFT;
        csr_write(satp, kernel);
        cpu->satp = kernel;
    }
    if (tagged)
        sfence_asid(asid);
    if (max_asid != 0 && vs->asid_generation == generation)
        asid_used[vs->asid / 64] &= ~(1ull << (vs->asid % 64));
    vs->asid = 0;
    vs->asid_generation = 0;
    vs->satp = ARCH_SATP_NONE;
}
