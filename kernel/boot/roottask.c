/*
 * Building the root task at boot (see roottask.h). Every page comes from the
 * boot memory map; what is left afterwards is described in the boot-info
 * page as the root task's untyped memory.
 */
#include "boot/roottask.h"

#include <bulkhead/abi.h>

#include "arch.h"
#include "boot/bootinfo.h"
#include "boot/rootcaps.h"
#include "bk_elf.h" /* kernel/parse/bk_elf.h, shared with libsys */
#include "kernel.h"
#include "object.h"
#include "vspace_object.h"

/* Keep the root task's pages out of the first MiB (firmware and DMA areas). */
#define BOOT_ALLOC_MIN MB(1)

struct loader {
    struct memmap *mem;
    arch_vspace_t *vs;
};

static paddr_t alloc_zeroed_page(void *ctx)
{
    struct loader *l = ctx;
    paddr_t pa = memmap_alloc_page(l->mem, BOOT_ALLOC_MIN);
    if (pa)
        memset(arch_phys_to_virt(pa), 0, ARCH_PAGE_SIZE);
    return pa;
}

static void *map_new_page(void *ctx, vaddr_t va, unsigned rights)
{
    struct loader *l = ctx;
    paddr_t pa = alloc_zeroed_page(l);
    if (!pa)
        panic("root task: out of memory while loading");
    if (!arch_vspace_map(l->vs, va, pa, rights, alloc_zeroed_page, l))
        panic("root task: cannot map 0x%lx", va);
    return arch_phys_to_virt(pa);
}

static unsigned segment_rights(uint32_t flags)
{
    return VM_READ | ((flags & ELF_PF_W) ? VM_WRITE : 0) | ((flags & ELF_PF_X) ? VM_EXEC : 0);
}

/* Copies every segment of a checked file into fresh zeroed pages, page by
 * page: elf_page_span() says which file bytes each page holds. */
static void load_segments(struct loader *l, const uint8_t *data, const struct elf_info *info)
{
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_segment *s = &info->segments[i];
        vaddr_t end = s->vaddr + s->mem_size;
        for (vaddr_t va = ALIGN_DOWN(s->vaddr, ARCH_PAGE_SIZE); va < end; va += ARCH_PAGE_SIZE) {
            uint8_t *dst = map_new_page(l, va, segment_rights(s->flags));
            struct elf_span span = elf_page_span(s, va, ARCH_PAGE_SIZE);
            if (span.size)
                memcpy(dst + span.page_offset, data + span.file_offset, span.size);
        }
    }
}

static void load_program(struct loader *l, const struct bootimage_module *m, vaddr_t *entry)
{
    struct elf_limits limits = {
        .machine = ARCH_ELF_MACHINE,
        .user_min = BK_USER_IMAGE_MIN,
        .user_max = BK_ROOT_STACK_TOP - BK_ROOT_STACK_SIZE, /* below stack and boot info */
        .page_size = ARCH_PAGE_SIZE,
    };
    struct elf_info info;
    char err[160];
    if (!elf_check(m->data, m->size, &limits, &info, err, sizeof(err)))
        panic("root task '%s': %s", m->name, err);
    load_segments(l, m->data, &info); /* map_new_page() panics when memory runs out */
    *entry = info.entry;
    kprintf("bulkhead: root task '%s': %u segments, entry 0x%lx\n", m->name,
            info.segment_count, info.entry);
}

static void map_stack(struct loader *l)
{
    for (vaddr_t va = BK_ROOT_STACK_TOP - BK_ROOT_STACK_SIZE; va < BK_ROOT_STACK_TOP;
         va += ARCH_PAGE_SIZE)
        map_new_page(l, va, VM_READ | VM_WRITE);
}

/* The boot image stays where the loader put it; the root task sees it
 * read-only, so it can load further programs from it. */
static void map_boot_image(struct loader *l, paddr_t image_pa, uint64_t size)
{
    if (size > BK_ROOT_FDT_VADDR - BK_ROOT_BOOTIMAGE_VADDR)
        panic("root task: the boot image (%llu bytes) is larger than its window at 0x%llx "
              "(%llu bytes)",
              (unsigned long long)size, (unsigned long long)BK_ROOT_BOOTIMAGE_VADDR,
              (unsigned long long)(BK_ROOT_FDT_VADDR - BK_ROOT_BOOTIMAGE_VADDR));
    for (uint64_t off = 0; off < size; off += ARCH_PAGE_SIZE) {
        if (!arch_vspace_map(l->vs, BK_ROOT_BOOTIMAGE_VADDR + off, image_pa + off, VM_READ,
                             alloc_zeroed_page, l))
            panic("root task: cannot map the boot image");
    }
}

/* The firmware's device tree stays where it is (it is reserved); the root
 * task sees its pages read-only and finds its devices in it. The blob need
 * not start on a page: the root task's view starts where the blob does. */
static vaddr_t map_device_tree(struct loader *l, paddr_t fdt_pa, uint64_t size)
{
    if (size == 0)
        return 0;
    paddr_t first = ALIGN_DOWN(fdt_pa, ARCH_PAGE_SIZE);
    uint64_t span = fdt_pa - first + size;
    for (uint64_t off = 0; off < span; off += ARCH_PAGE_SIZE) {
        if (!arch_vspace_map(l->vs, BK_ROOT_FDT_VADDR + off, first + off, VM_READ,
                             alloc_zeroed_page, l))
            panic("root task: cannot map the device tree");
    }
    return BK_ROOT_FDT_VADDR + (fdt_pa - first);
}

/* Maps `pages` pages of physically contiguous, zeroed memory at `va` and
 * returns their kernel view. */
static void *map_block(struct loader *l, vaddr_t va, unsigned pages, unsigned rights,
                       const char *what)
{
    unsigned bits = 12 + (pages > 1 ? 64 - (unsigned)__builtin_clzll(pages - 1) : 0);
    paddr_t pa = memmap_alloc_aligned(l->mem, bits, BOOT_ALLOC_MIN);
    if (!pa)
        panic("root task: no memory for its %s", what);
    memset(arch_phys_to_virt(pa), 0, (size_t)pages * ARCH_PAGE_SIZE);
    for (unsigned i = 0; i < pages; i++) {
        if (!arch_vspace_map(l->vs, va + i * ARCH_PAGE_SIZE, pa + i * ARCH_PAGE_SIZE, rights,
                             alloc_zeroed_page, l))
            panic("root task: cannot map its %s", what);
    }
    return arch_phys_to_virt(pa);
}

/* The root task's thread is a TCB object like any other, made from boot
 * memory; its cap goes into the root CNode with the others. */
static struct thread *make_root_thread(struct memmap *mem, cap_t *cap)
{
    paddr_t pa = memmap_alloc_aligned(mem, OBJ_TCB_BITS, BOOT_ALLOC_MIN);
    if (!pa)
        panic("root task: no memory for its TCB");
    *cap = object_create(CAP_TCB, pa, OBJ_TCB_BITS, false);
    struct thread *t = tcb_thread(cap);
    t->priority = THREAD_PRIORITIES - 1;
    t->mcp = THREAD_PRIORITIES - 1;
    t->is_root = true;
    memcpy(t->name, "roottask", sizeof("roottask"));
    return t;
}

/* The root task's address space is a VSpace object like any other, made
 * from boot memory; its cap goes to slot BK_CAP_ROOT_VSPACE. The tables
 * the loader adds below its root have no caps: the root task cannot unmap
 * its own image, stack or boot info. */
static cap_t make_root_vspace(struct memmap *mem)
{
    paddr_t pa = memmap_alloc_aligned(mem, OBJ_VSPACE_BITS, BOOT_ALLOC_MIN);
    if (!pa)
        panic("root task: no memory for its VSpace");
    return object_create(CAP_VSPACE, pa, OBJ_VSPACE_BITS, false);
}

struct thread *roottask_create(const struct boot_params *bp, const struct bootimage *img,
                               paddr_t image_pa, struct memmap *mem)
{
    cap_t vspace_cap = make_root_vspace(mem);
    struct vspace_object *vs = vspace_of_cap(&vspace_cap);
    struct loader l = { mem, &vs->arch };
    vaddr_t entry;
    load_program(&l, &img->modules[img->root_index], &entry);
    map_stack(&l);
    map_boot_image(&l, image_pa, img->size);
    vaddr_t fdt_vaddr = map_device_tree(&l, bp->fdt_base, bp->fdt_size);
    struct bk_bootinfo *bi = map_block(&l, BK_ROOT_BOOTINFO_VADDR,
                                       BK_BOOTINFO_SIZE / ARCH_PAGE_SIZE, VM_READ, "boot info");

    cap_t tcb_cap;
    struct thread *t = make_root_thread(mem, &tcb_cap);
    map_block(&l, BK_ROOT_IPC_BUFFER_VADDR, 1, VM_READ | VM_WRITE, "IPC buffer");
    t->ipc_buffer_vaddr = BK_ROOT_IPC_BUFFER_VADDR;
    rootcaps_create_cspace(t, tcb_cap, vspace_cap, mem);
    /* Last: what is still free becomes the root task's untyped memory. */
    bootinfo_fill(bi, bp, img, mem);
    bi->ipc_buffer = BK_ROOT_IPC_BUFFER_VADDR;
    bi->fdt_vaddr = fdt_vaddr;
    bi->fdt_size = fdt_vaddr ? bp->fdt_size : 0;
    memcpy(bi->acpi_rsdp, bp->acpi_rsdp, bp->acpi_rsdp_size);
    bi->acpi_rsdp_size = bp->acpi_rsdp_size;
    rootcaps_create_untyped(mem, bp, bi);

    vspace_add_thread(vs, t);
    arch_regs_init(&t->regs, entry, BK_ROOT_STACK_TOP, BK_ROOT_BOOTINFO_VADDR);
    return t;
}
