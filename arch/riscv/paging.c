/*
 * The kernel's own Sv39 page tables, built once at boot (layout in
 * riscv.h): the image at its link address in 4 KiB pages with per-section
 * rights (text RX, rodata R, data and bss RW), all RAM in the physmap with
 * the largest pages that fit (RW, never executable), and a window for
 * device registers. Every kernel mapping is global (G), so one TLB entry
 * serves all address spaces, and lives in root slots 256..511, which user
 * address spaces copy (vspace.c). Tables come from a static pool; all the
 * second-level tables user spaces share are made here, before any copy.
 */
#include "pagetable.h"
#include "port.h"

#include "boot/boot_params.h"
#include "kernel.h"

#define BOOT_TABLES 24
#define PTE_KERNEL (PTE_V | PTE_A | PTE_D | PTE_G)

extern char __kernel_start[], __text_end[], __rodata_end[], __kernel_end[];

static pte_t kernel_root[PT_ENTRIES] __attribute__((aligned(4096)));
static pte_t boot_tables[BOOT_TABLES][PT_ENTRIES] __attribute__((aligned(4096)));
static unsigned boot_tables_used;

static paddr_t kernel_phys;        /* where __kernel_start was loaded */
static vaddr_t device_window_next = DEVICE_WINDOW_BASE;
static const struct boot_params *ram_map; /* RAM the physmap covers */

static uint64_t image_size(void)
{
    return (uintptr_t)__kernel_end - (uintptr_t)__kernel_start;
}

BOOT_CODE void paging_set_kernel_phys(paddr_t kernel_pa)
{
    kernel_phys = kernel_pa;
}

paddr_t paging_kernel_phys(void)
{
    return kernel_phys;
}

uint64_t paging_kernel_size(void)
{
    return image_size();
}

const uint64_t *paging_kernel_root(void)
{
    return kernel_root;
}

void *arch_phys_to_virt(paddr_t pa)
{
    return (void *)(uintptr_t)(PHYSMAP_BASE + pa);
}

paddr_t arch_virt_to_phys(const void *va)
{
    uintptr_t v = (uintptr_t)va;
    if (v >= (uintptr_t)__kernel_start && v < (uintptr_t)__kernel_end)
        return kernel_phys + (v - (uintptr_t)__kernel_start);
    if (v >= PHYSMAP_BASE && v - PHYSMAP_BASE < PHYSMAP_SIZE)
        return v - PHYSMAP_BASE;
    panic("arch_virt_to_phys: 0x%lx is neither in the kernel image nor in the physmap", v);
}

/* Tables in the image (the boot pool) are reached at their link address,
 * which works before the physmap exists; any other through the physmap. */
pte_t *pt_table(paddr_t pa)
{
    if (pa >= kernel_phys && pa - kernel_phys < image_size())
        return (pte_t *)(__kernel_start + (pa - kernel_phys));
    return arch_phys_to_virt(pa);
}

pte_t *pt_lookup(pte_t *root, vaddr_t va, unsigned level, unsigned *reached)
{
    pte_t *table = root;
    unsigned l = PT_ROOT_LEVEL;
    for (; l > level; l--) {
        pte_t e = table[pt_index(va, l)];
        if (!(e & PTE_V) || pte_is_leaf(e))
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
        if (*e & PTE_V)
            return NULL; /* a larger leaf covers va */
        paddr_t pa = alloc ? alloc(ctx) : 0;
        if (pa == 0 || !IS_ALIGNED(pa, (paddr_t)ARCH_PAGE_SIZE))
            return NULL;
        *e = pte_make(pa, PTE_V); /* non-leaf: V only (Privileged 4.4.1) */
    }
}

static paddr_t boot_table_alloc(void *ctx)
{
    (void)ctx;
    if (boot_tables_used == BOOT_TABLES)
        return 0;
    return arch_virt_to_phys(boot_tables[boot_tables_used++]);
}

/* The table level whose leaves are the largest pages that va and pa are
 * both aligned to and that fit in `size`. */
static unsigned leaf_level(vaddr_t va, paddr_t pa, uint64_t size)
{
    for (unsigned level = PT_ROOT_LEVEL; level > 1; level--) {
        uint64_t step = pt_entry_size(level);
        if (((va | pa) & (step - 1)) == 0 && size >= step)
            return level;
    }
    return 1;
}

/* Maps [va, va + size) to pa in the kernel tables; both page aligned. */
static void map_kernel_range(vaddr_t va, paddr_t pa, uint64_t size, uint64_t rights)
{
    while (size) {
        unsigned level = leaf_level(va, pa, size);
        pte_t *e = pt_walk(kernel_root, va, level, boot_table_alloc, NULL);
        if (e && !(*e & PTE_V))
            *e = pte_make(pa, rights | PTE_KERNEL);
        else
            panic("paging: cannot map 0x%lx -> 0x%llx: %s", va, (unsigned long long)pa,
                  e ? "already mapped" : "out of boot page tables");
        va += pt_entry_size(level);
        pa += pt_entry_size(level);
        size -= pt_entry_size(level);
    }
}

static BOOT_CODE void map_image(void)
{
    struct {
        char *start, *end;
        uint64_t rights;
    } parts[] = {
        { __kernel_start, __text_end, PTE_R | PTE_X },
        { __text_end, __rodata_end, PTE_R },
        { __rodata_end, __kernel_end, PTE_R | PTE_W },
    };
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        uint64_t size = (uintptr_t)parts[i].end - (uintptr_t)parts[i].start;
        if (size)
            map_kernel_range((vaddr_t)parts[i].start, arch_virt_to_phys(parts[i].start), size,
                             parts[i].rights);
    }
}

static BOOT_CODE void map_physmap(const struct boot_params *bp)
{
    for (unsigned i = 0; i < bp->ram_count; i++) {
        const struct phys_region *r = &bp->ram[i];
        map_kernel_range(PHYSMAP_BASE + r->base, r->base, r->size, PTE_R | PTE_W);
    }
}

/* Builds the kernel tables and switches to them (ASID 0). Every RAM
 * region in `bp` must lie below PHYSMAP_SIZE and be page aligned. */
BOOT_CODE void paging_init_kernel(const struct boot_params *bp)
{
    ram_map = bp;
    map_image();
    map_physmap(bp);
    /* The device window's megapage table, shared by all spaces. */
    if (!pt_walk(kernel_root, DEVICE_WINDOW_BASE, 2, boot_table_alloc, NULL))
        panic("paging: out of boot page tables");
    uint64_t satp = SATP_MODE_SV39 | arch_virt_to_phys(kernel_root) >> PAGE_SHIFT;
    sfence_vma_all();
    csr_write(satp, satp);
    sfence_vma_all();
    this_cpu()->satp = satp;
}

/* Maps device registers [pa, pa + size) into the device window (RW, not
 * executable, global) and returns their kernel address. */
BOOT_CODE void *paging_map_device(paddr_t pa, uint64_t size)
{
    paddr_t base = ALIGN_DOWN(pa, (paddr_t)ARCH_PAGE_SIZE);
    uint64_t len = ALIGN_UP(pa + size, (paddr_t)ARCH_PAGE_SIZE) - base;
    vaddr_t va = device_window_next;
    if (size == 0 || len > DEVICE_WINDOW_BASE + DEVICE_WINDOW_SIZE - va)
        panic("paging: cannot map device 0x%llx (+0x%llx) in the device window",
              (unsigned long long)pa, (unsigned long long)size);
    map_kernel_range(va, base, len, PTE_R | PTE_W);
    device_window_next += len;
    sfence_vma_all();
    return (void *)(va + (pa - base));
}

bool paging_is_ram(paddr_t pa, uint64_t size)
{
    for (unsigned i = 0; ram_map && i < ram_map->ram_count; i++) {
        const struct phys_region *r = &ram_map->ram[i];
        if (pa >= r->base && pa - r->base <= r->size && size <= r->size - (pa - r->base))
            return true;
    }
    return false;
}
