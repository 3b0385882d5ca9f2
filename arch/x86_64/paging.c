/*
 * Page tables (4-level paging, Intel SDM vol. 3, ch. 4): the table walk
 * every address space uses (pagetable.h), the kernel's own tables built at
 * boot, the direct map of RAM, and arch_phys_to_virt and its inverse. User
 * address spaces (the arch_vspace_* hooks) are in vspace.c.
 *
 * Kernel half, shared by every address space (PML4 slots 256..511, copied
 * into each new root; never changed after boot):
 *   PHYSMAP_BASE + pa   all RAM (1 GiB pages when the CPU has them, else
 *                       2 MiB, 4 KiB at unaligned edges), RW, NX, global;
 *                       boot modules outside RAM (below 1 MiB); device
 *                       pages (local APIC, IOAPIC) uncached
 *   KERNEL_VBASE + pa   the kernel image in 4 KiB pages: text RX, rodata R,
 *                       data and bss RW; stack guard pages left unmapped
 * User half (slots 0..255): only what vspace.c puts there.
 */
#include "pagetable.h"

/* Tables for the kernel half come from this pool in .bss. Each GiB of RAM
 * costs one page with 2 MiB pages (none with 1 GiB pages), so this covers
 * ~100 GiB even on CPUs without 1 GiB pages. */
#define BOOT_TABLE_PAGES 128
static uint8_t table_pool[BOOT_TABLE_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned table_pool_used;

static paddr_t kernel_pml4;   /* physical address of the kernel's PML4 */
static bool paging_ready;     /* the kernel half is final */

/* Physical ranges the physmap covers, for the checks below. */
static struct phys_region mapped[BOOT_MAX_RAM_REGIONS + BOOT_MAX_DEVICE_REGIONS +
                                 BOOT_MAX_MODULES];
static unsigned mapped_count;

/* ---- Physical <-> virtual ---------------------------------------------- */

void *arch_phys_to_virt(paddr_t pa)
{
    return (void *)(PHYSMAP_BASE + pa);
}

paddr_t arch_virt_to_phys(const void *va)
{
    uint64_t v = (uint64_t)va;
    if (v >= KERNEL_VBASE)
        return v - KERNEL_VBASE;
    if (v >= PHYSMAP_BASE && v - PHYSMAP_BASE < PHYSMAP_LIMIT)
        return v - PHYSMAP_BASE;
    panic("arch_virt_to_phys: %p is neither in the kernel image nor in the physmap", va);
}

bool x86_physmap_covers(paddr_t pa, uint64_t size)
{
    for (unsigned i = 0; i < mapped_count; i++) {
        const struct phys_region *r = &mapped[i];
        if (pa >= r->base && pa - r->base <= r->size && size <= r->size - (pa - r->base))
            return true;
    }
    return false;
}

/* ---- The table walk (pagetable.h) --------------------------------------- */

pte_t *pt_lookup(pte_t *root, vaddr_t va, unsigned level, unsigned *reached)
{
    pte_t *table = root;
    unsigned l = PT_ROOT_LEVEL;
    for (; l > level; l--) {
        pte_t e = table[pt_index(va, l)];
        if (!pte_present(e) || pte_is_leaf(e, l))
            break;
        table = pt_table(pte_pa(e));
    }
    *reached = l;
    return &table[pt_index(va, l)];
}

pte_t *pt_walk(pte_t *root, vaddr_t va, unsigned level, arch_table_alloc_fn alloc, void *ctx)
{
    for (;;) {
        unsigned reached;
        pte_t *e = pt_lookup(root, va, level, &reached);
        if (reached == level)
            return e;
        if (pte_present(*e))
            return NULL; /* a large page covers va */
        paddr_t pa = alloc(ctx);
        if (pa == 0 || !IS_ALIGNED(pa, PAGE_SIZE))
            return NULL;
        /* Not-present entries are never cached (SDM 4.10.2.3, 4.10.3.1):
         * a new table needs no invalidation. */
        *e = pte_table(pa, va);
    }
}

/* ---- Building the kernel half (boot only) ------------------------------- */

static BOOT_CODE paddr_t pool_alloc(void *ctx)
{
    (void)ctx;
    if (table_pool_used == BOOT_TABLE_PAGES)
        panic("x86_64: out of boot page tables (%u pages) building the kernel mappings; "
              "raise BOOT_TABLE_PAGES in arch/x86_64/paging.c", BOOT_TABLE_PAGES);
    uint8_t *page = table_pool[table_pool_used++];
    memset(page, 0, PAGE_SIZE);
    return arch_virt_to_phys(page);
}

/* Returns the entry for `va` in the table at `level` of the kernel tables,
 * creating the tables above it. */
static BOOT_CODE pte_t *kernel_entry(vaddr_t va, unsigned level)
{
    pte_t *e = pt_walk(pt_table(kernel_pml4), va, level, pool_alloc, NULL);
    if (!e)
        panic("x86_64: %p is already inside a large page", (void *)va);
    return e;
}

/* Maps [pa, pa + size) at va with the largest pages alignment allows. */
static BOOT_CODE void kernel_map(vaddr_t va, paddr_t pa, uint64_t size, uint64_t flags)
{
    while (size) {
        unsigned level = PT_LEVEL_PT;
        if (x86_features.page1g && IS_ALIGNED(va | pa, GB(1)) && size >= GB(1))
            level = PT_LEVEL_PDPT;
        else if (IS_ALIGNED(va | pa, MB(2)) && size >= MB(2))
            level = PT_LEVEL_PD;
        uint64_t step = pt_entry_size(level);
        pte_t *e = kernel_entry(va, level);
        if (*e & PTE_P)
            panic("x86_64: kernel mapping at %p exists already", (void *)va);
        *e = pa | flags | (level > PT_LEVEL_PT ? PTE_PS : 0);
        va += step;
        pa += step;
        size -= step;
    }
}

/* The guard pages below each stack of every CPU (struct x86_stacks). */
static BOOT_CODE bool is_guard_page(vaddr_t va)
{
    return x86_is_stack_guard(va);
}

static BOOT_CODE void map_kernel_image(uint64_t nx, uint64_t global)
{
    for (vaddr_t va = (vaddr_t)__kernel_start; va < (vaddr_t)__kernel_end; va += PAGE_SIZE) {
        uint64_t flags = PTE_P | global;
        if (va >= (vaddr_t)__rodata_end)
            flags |= PTE_W | nx; /* data, bss */
        else if (va >= (vaddr_t)__text_end)
            flags |= nx; /* read-only data */
        if (!is_guard_page(va))
            kernel_map(va, va - KERNEL_VBASE, PAGE_SIZE, flags);
    }
}

static BOOT_CODE void map_physmap_region(paddr_t base, uint64_t size, uint64_t flags)
{
    if (base >= PHYSMAP_LIMIT || size > PHYSMAP_LIMIT - base)
        panic("x86_64: physical range 0x%lx+0x%lx is beyond the physmap", base, size);
    kernel_map(PHYSMAP_BASE + base, base, size, flags);
    mapped[mapped_count++] = (struct phys_region){ base, size };
}

/* Maps the pages of a boot module that no RAM region covers: UEFI GRUB
 * may load modules below 1 MiB, where boot_params lists no RAM. */
static BOOT_CODE void map_module(const struct boot_module *m, uint64_t flags)
{
    paddr_t base = ALIGN_DOWN(m->base, PAGE_SIZE);
    paddr_t end = ALIGN_UP(m->base + m->size, PAGE_SIZE);
    if (x86_physmap_covers(m->base, m->size))
        return;
    if (end > PHYSMAP_LIMIT || mapped_count == ARRAY_SIZE(mapped))
        panic("x86_64: boot module '%s' at 0x%lx cannot be mapped", m->name, m->base);
    for (paddr_t pa = base; pa < end; pa += PAGE_SIZE)
        if (!x86_physmap_covers(pa, PAGE_SIZE))
            kernel_map(PHYSMAP_BASE + pa, pa, PAGE_SIZE, flags);
    mapped[mapped_count++] = (struct phys_region){ base, end - base };
}

/* Maps RAM, the devices and the boot modules of `bp` into the physmap. */
static BOOT_CODE void map_physmap(const struct boot_params *bp, uint64_t nx, uint64_t global)
{
    for (unsigned i = 0; i < bp->ram_count; i++)
        map_physmap_region(bp->ram[i].base, bp->ram[i].size, PTE_P | PTE_W | nx | global);
    for (unsigned i = 0; i < bp->device_count; i++)
        map_physmap_region(bp->devices[i].base, bp->devices[i].size,
                           PTE_P | PTE_W | PTE_PCD | PTE_PWT | nx | global);
    for (unsigned i = 0; i < bp->module_count; i++)
        map_module(&bp->modules[i], PTE_P | PTE_W | nx | global);
}

/* Builds the kernel's tables from the boot parameters and switches to
 * them, leaving the trampoline's tables unused. */
BOOT_CODE void x86_paging_init(const struct boot_params *bp)
{
    uint64_t nx = x86_features.nx ? PTE_NX : 0;
    uint64_t global = x86_features.pge ? PTE_G : 0;

    kernel_pml4 = pool_alloc(NULL);
    map_kernel_image(nx, global);
    map_physmap(bp, nx, global);
    write_cr3(kernel_pml4);
    x86_cpu0.cr3 = kernel_pml4;
    paging_ready = true;
}

paddr_t x86_kernel_pml4(void)
{
    return paging_ready ? kernel_pml4 : 0;
}
