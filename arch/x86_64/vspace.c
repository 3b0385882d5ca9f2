/*
 * User address spaces on x86-64: the arch_vspace_* hooks of kernel/arch.h,
 * PCID allocation and TLB invalidation.
 *
 * A space is a PML4 whose slots 256..511 are copies of the kernel's and
 * whose slots 0..255 hold only user tables (present, writable, U: the leaf
 * alone decides the rights) and user leaves: 4 KiB pages in PTs and 2 MiB
 * pages (PS = 1) in PDs. No user entry is ever global, so every TLB entry
 * of a space is tagged with its PCID (SDM 4.10.1), or, without PCIDs,
 * dropped by each CR3 write that leaves it (SDM 4.10.4.1).
 *
 * TLB rules kept here: a new entry needs no invalidation (not-present
 * entries are never cached, SDM 4.10.2.3 and 4.10.3.1); a changed or
 * removed leaf is invalidated with invlpg when its space is in CR3; a
 * space that is not in CR3 can hold TLB entries only under its PCID, and
 * forgetting that PCID's owner (pcid_owner) makes x86_vspace_load() load
 * it with a flush before the space runs again.
 */
#include "pagetable.h"

/* ---- PCIDs ----------------------------------------------------------------
 * PCID 0 is the kernel's. Live spaces get distinct PCIDs while there are
 * enough; beyond 4095 live spaces two share one, which stays correct
 * because x86_vspace_load() flushes a PCID whenever its owner changes. */

static uint64_t pcid_used[PCID_COUNT / 64]; /* bit p set: a live space holds p */
static unsigned next_pcid = 1;

static bool pcid_is_used(unsigned p)
{
    return (pcid_used[p / 64] >> (p % 64)) & 1;
}

static uint16_t pcid_alloc(void)
{
    unsigned p = next_pcid;
    for (unsigned n = 1; n < PCID_COUNT && pcid_is_used(p); n++)
        p = p == PCID_COUNT - 1 ? 1 : p + 1;
    /* p is free, or every PCID is taken and p is shared. */
    pcid_used[p / 64] |= 1ull << (p % 64);
    next_pcid = p == PCID_COUNT - 1 ? 1 : p + 1;
    return (uint16_t)p;
}

static void pcid_free(uint16_t p)
{
    if (p != 0)
        pcid_used[p / 64] &= ~(1ull << (p % 64));
}

/* ---- TLB invalidation ------------------------------------------------- */

static inline void invlpg(vaddr_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* True if the hardware walks `vs` now: CR3 holds its PML4 (bits 51:12;
 * bits 11:0 are the PCID with CR4.PCIDE = 1). Never under kpti, where the
 * kernel runs on its own tables and enters `vs` only on the way out. */
static bool vspace_loaded(const arch_vspace_t *vs)
{
    return !x86_kpti && (read_cr3() & PTE_ADDR_MASK) == vs->pml4;
}

/* Forgets what the TLB may hold for a space not in CR3. Without PCIDs
 * there is nothing to forget: every CR3 write drops all non-global
 * entries (under kpti, every exit writes CR3). With them, the PCID is
 * flushed when next loaded, and under kpti a space that the next exit
 * enters loses the no-flush bit of that CR3 write. */
static void flush_unloaded(const arch_vspace_t *vs)
{
    if (!x86_features.pcid)
        return;
    struct x86_cpu *cpu = x86_this_cpu();
    cpu->pcid_owner[vs->pcid] = 0;
    if (x86_kpti && cpu->cr3 == vs->pml4)
        cpu->user_cr3 &= ~CR3_NOFLUSH;
}

/* The page of any size containing `va` changed or went away. invlpg drops
 * its TLB entry, whatever the page size, and the current PCID's
 * paging-structure caches (SDM 4.10.4.1). */
static void flush_page(const arch_vspace_t *vs, vaddr_t va)
{
    if (vspace_loaded(vs))
        invlpg(va);
    else
        flush_unloaded(vs);
}

/* A table went away: drop every translation of the space. Writing CR3 with
 * bit 63 clear flushes the non-global entries of the PCID it loads (all of
 * them without PCIDs), the kernel's global ones stay (SDM 4.10.4.1). */
static void flush_space(const arch_vspace_t *vs)
{
    if (vspace_loaded(vs))
        write_cr3(vs->pml4 | (x86_features.pcid ? vs->pcid : 0));
    else
        flush_unloaded(vs);
}

/* ---- Entries ------------------------------------------------------------ */

static pte_t *root_table(const arch_vspace_t *vs)
{
    return pt_table(vs->pml4);
}

/* A user leaf at `level` (1: 4 KiB, 2: 2 MiB with PS). Without VM_EXEC it
 * is NX when the CPU has NX; PTE_SW_EXEC remembers VM_EXEC either way.
 * Device memory is uncached: PCD = PWT = 1 selects PAT entry 3, UC at its
 * power-on value, which the kernel keeps (SDM 11.12.3, table 11-11). */
static pte_t user_leaf(paddr_t pa, unsigned level, unsigned rights, bool device)
{
    pte_t e = pa | PTE_P | PTE_U;
    if (rights & VM_WRITE)
        e |= PTE_W;
    if (rights & VM_EXEC)
        e |= PTE_SW_EXEC;
    else if (x86_features.nx)
        e |= PTE_NX;
    if (device)
        e |= PTE_PCD | PTE_PWT;
    if (level > PT_LEVEL_PT)
        e |= PTE_PS;
    return e;
}

static unsigned leaf_rights(pte_t e)
{
    return VM_READ | ((e & PTE_W) ? VM_WRITE : 0) | ((e & PTE_SW_EXEC) ? VM_EXEC : 0);
}

/* Checks a frame's size (4 KiB or 2 MiB, stored as the level of the table
 * that holds its leaf), that va and pa are aligned to it, that va is a
 * user address and pa fits an entry. */
static bool frame_args_ok(vaddr_t va, paddr_t pa, unsigned size_bits, unsigned *level)
{
    if (size_bits == PAGE_SHIFT)
        *level = PT_LEVEL_PT;
    else if (size_bits == ARCH_LARGE_PAGE_BITS)
        *level = PT_LEVEL_PD;
    else
        return false;
    uint64_t size = pt_entry_size(*level);
    return va < ARCH_USER_VADDR_MAX && IS_ALIGNED(va, size) && IS_ALIGNED(pa, size) &&
           (pa & ~PTE_ADDR_MASK) == 0;
}

/* The leaf that maps `pa` at `va` with 2^size_bits bytes, or NULL. */
static pte_t *find_frame(const arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits,
                         unsigned *level)
{
    unsigned reached;
    if (!frame_args_ok(va, pa, size_bits, level))
        return NULL;
    pte_t *e = pt_lookup(root_table(vs), va, *level, &reached);
    if (reached != *level || !pte_present(*e) || !pte_is_leaf(*e, reached) || pte_pa(*e) != pa)
        return NULL;
    return e;
}

/* ---- Creating spaces and boot-time mappings ------------------------------ */

bool arch_vspace_init(arch_vspace_t *vs, paddr_t root)
{
    paddr_t kernel_root = x86_kernel_pml4();
    if (kernel_root == 0 || root == 0 || !IS_ALIGNED(root, PAGE_SIZE) ||
        !x86_physmap_covers(root, PAGE_SIZE))
        return false;
    pte_t *pml4 = pt_table(root);
    const pte_t *kernel = pt_table(kernel_root);
    for (unsigned i = 0; i < PT_ENTRIES / 2; i++)
        pml4[i] = 0;
    /* The kernel half, or under kpti only the window in the last slot. */
    for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
        pml4[i] = x86_kpti ? 0 : kernel[i];
    if (x86_kpti)
        pml4[PT_ENTRIES - 1] = x86_kpti_window_entry();
    vs->pml4 = root;
    vs->pcid = 0;
    if (x86_features.pcid) {
        vs->pcid = pcid_alloc();
        x86_this_cpu()->pcid_owner[vs->pcid] = 0; /* flush it on first load */
    }
    /* The root page may be a recycled one still in CR3: force a reload. */
    if (x86_this_cpu()->cr3 == root)
        x86_this_cpu()->cr3 = 0;
    return true;
}

/* arch_vspace_map()'s allocator, refusing pages the physmap cannot reach. */
struct checked_alloc {
    arch_table_alloc_fn alloc;
    void *ctx;
};

static paddr_t checked_table_alloc(void *p)
{
    const struct checked_alloc *c = p;
    paddr_t pa = c->alloc(c->ctx);
    return pa != 0 && x86_physmap_covers(pa, PAGE_SIZE) ? pa : 0;
}

bool arch_vspace_map(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned rights,
                     arch_table_alloc_fn alloc, void *ctx)
{
    unsigned level;
    if (!frame_args_ok(va, pa, PAGE_SHIFT, &level))
        return false;
    struct checked_alloc c = { alloc, ctx };
    pte_t *e = pt_walk(root_table(vs), va, level, checked_table_alloc, &c);
    if (!e || pte_present(*e))
        return false;
    *e = user_leaf(pa, level, rights, false); /* new: nothing to invalidate */
    return true;
}

bool arch_vspace_translate(const arch_vspace_t *vs, vaddr_t va, paddr_t *pa, unsigned *rights)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX)
        return false;
    /* The walk stops at a leaf of any size or at a missing entry. */
    pte_t e = *pt_lookup(root_table(vs), va, PT_LEVEL_PT, &reached);
    if (!pte_present(e) || !(e & PTE_U))
        return false;
    uint64_t size = pt_entry_size(reached);
    *pa = ALIGN_DOWN(pte_pa(e), size) + (va & (size - 1));
    *rights = leaf_rights(e);
    return true;
}

/* ---- Paging-structure objects ------------------------------------------ */

enum arch_map_result arch_vspace_map_table(arch_vspace_t *vs, vaddr_t va, paddr_t table_pa,
                                           unsigned *level)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX || !IS_ALIGNED(table_pa, PAGE_SIZE) ||
        (table_pa & ~PTE_ADDR_MASK) != 0 || !x86_physmap_covers(table_pa, PAGE_SIZE))
        return ARCH_MAP_BAD_ADDRESS;
    /* Stop in the PD at the latest: its entry holds the last table. */
    pte_t *e = pt_lookup(root_table(vs), va, PT_LEVEL_PD, &reached);
    if (pte_present(*e))
        return ARCH_MAP_ALREADY_MAPPED; /* a large page, or all tables down to a PT */
    *e = pte_table(table_pa, va);
    *level = reached - 1;
    return ARCH_MAP_OK;
}

enum arch_map_result arch_vspace_map_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa,
                                           unsigned size_bits, unsigned rights, bool device,
                                           unsigned *missing_level)
{
    unsigned level, reached;
    if (!frame_args_ok(va, pa, size_bits, &level))
        return ARCH_MAP_BAD_ADDRESS;
    pte_t *e = pt_lookup(root_table(vs), va, level, &reached);
    if (pte_present(*e))
        return ARCH_MAP_ALREADY_MAPPED; /* a leaf above or at level, or a table at level */
    if (reached > level) {
        *missing_level = reached - 1;
        return ARCH_MAP_MISSING_TABLE;
    }
    *e = user_leaf(pa, level, rights, device);
    return ARCH_MAP_OK;
}

bool arch_vspace_remap_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits,
                             unsigned rights)
{
    unsigned level;
    pte_t *e = find_frame(vs, va, pa, size_bits, &level);
    if (!e)
        return false;
    *e = user_leaf(pa, level, rights, (*e & PTE_PCD) != 0);
    flush_page(vs, va);
    return true;
}

void arch_vspace_unmap_frame(arch_vspace_t *vs, vaddr_t va, paddr_t pa, unsigned size_bits)
{
    unsigned level;
    pte_t *e = find_frame(vs, va, pa, size_bits, &level);
    if (e) {
        *e = 0;
        flush_page(vs, va);
    }
}

void arch_vspace_unmap_table(arch_vspace_t *vs, vaddr_t va, unsigned level, paddr_t table_pa)
{
    unsigned reached;
    if (va >= ARCH_USER_VADDR_MAX || level < PT_LEVEL_PT || level > ARCH_PT_LEVELS)
        return;
    /* The table of `level` hangs from an entry of the table above it. */
    pte_t *e = pt_lookup(root_table(vs), va, level + 1, &reached);
    if (reached != level + 1 || !pte_present(*e) || pte_is_leaf(*e, reached) ||
        pte_pa(*e) != table_pa)
        return;
    *e = 0;
    flush_space(vs);
}

/* If `vs` is in CR3 (or, under kpti, the one the way out enters), leaves
 * it for the kernel's PML4 (PCID 0; that CR3
 * write also drops all non-global entries when there are no PCIDs). Its
 * PCID's entries are dropped on the PCID's next load (owner forgotten),
 * before any space can use them, and the PCID is free again. */
void arch_vspace_destroy(arch_vspace_t *vs)
{
    struct x86_cpu *cpu = x86_this_cpu();
    if (vspace_loaded(vs) || cpu->cr3 == vs->pml4) {
        if (x86_kpti)
            cpu->user_cr3 = x86_kernel_cr3; /* never a freed root on the way out */
        else
            write_cr3(x86_kernel_pml4());
        cpu->cr3 = x86_kernel_pml4();
        cpu->vspace = NULL;
    }
    if (x86_features.pcid) {
        cpu->pcid_owner[vs->pcid] = 0;
        pcid_free(vs->pcid);
    }
    vs->pcid = 0;
}

/* ---- Switching ------------------------------------------------------------ */

/* Puts `vs` in CR3 unless it is there already (under kpti: makes it the
 * CR3 the way out loads). With PCIDs the switch keeps the TLB entries of
 * the new PCID (CR3 bit 63, SDM 4.10.4.1) unless the PCID last held
 * another root, whose stale entries must go. */
void x86_vspace_load(struct x86_cpu *cpu, arch_vspace_t *vs)
{
    cpu->vspace = vs;
    if (cpu->cr3 == vs->pml4)
        return;
    uint64_t cr3 = vs->pml4;
    if (x86_features.pcid) {
        cr3 |= vs->pcid;
        if (cpu->pcid_owner[vs->pcid] == vs->pml4)
            cr3 |= CR3_NOFLUSH;
        cpu->pcid_owner[vs->pcid] = vs->pml4;
    }
    if (x86_kpti)
        cpu->user_cr3 = cr3;
    else
        write_cr3(cr3);
    cpu->cr3 = vs->pml4;
}
