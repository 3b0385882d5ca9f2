/*
 * The boot-info page: the root task's first view of the machine.
 */
#include "boot/bootinfo.h"

#include "arch.h"
#include "kernel.h"
#include "smp.h"

extern const char kernel_version_string[];

static void copy_string(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void add_region(struct bk_bootinfo *bi, paddr_t base, uint64_t size, uint32_t kind)
{
    if (size == 0)
        return;
    if (bi->region_count == BK_BOOTINFO_MAX_REGIONS) {
        kprintf("bulkhead: warning: boot info region table full, dropping 0x%llx+0x%llx\n",
                (unsigned long long)base, (unsigned long long)size);
        return;
    }
    /* Insertion keeps the table sorted by base address. */
    unsigned i = bi->region_count++;
    while (i > 0 && bi->regions[i - 1].base > base) {
        bi->regions[i] = bi->regions[i - 1];
        i--;
    }
    bi->regions[i] = (struct bk_mem_region){ .base = base, .size = size, .kind = kind };
}

static bool region_listed(const struct bk_bootinfo *bi, paddr_t base, uint64_t size)
{
    for (unsigned i = 0; i < bi->region_count; i++) {
        if (bi->regions[i].base == base && bi->regions[i].size == size)
            return true;
    }
    return false;
}

static void fill_identity(struct bk_bootinfo *bi, const struct boot_params *bp)
{
    bi->magic = BK_BOOTINFO_MAGIC;
    bi->version = BK_BOOTINFO_VERSION;
    bi->size = sizeof(*bi);
    copy_string(bi->kernel_name, sizeof(bi->kernel_name), "Bulkhead");
    copy_string(bi->kernel_version, sizeof(bi->kernel_version), BULKHEAD_VERSION);
    copy_string(bi->arch, sizeof(bi->arch), ARCH_NAME);
    copy_string(bi->loader, sizeof(bi->loader), bp->loader);
    copy_string(bi->platform, sizeof(bi->platform), bp->platform);
    copy_string(bi->cmdline, sizeof(bi->cmdline), bp->cmdline);
    bi->tick_hz = BK_TICK_HZ;
    bi->cpu_count = smp_cpus_online();
    bi->sched_control = BK_CAP_SCHED_CONTROL;
    bi->asid_control = BK_CAP_ASID_CONTROL;
    bi->asid_pool = BK_CAP_ROOT_ASID_POOL;
}

static void fill_modules(struct bk_bootinfo *bi, const struct bootimage *img)
{
    bi->bootimage_vaddr = BK_ROOT_BOOTIMAGE_VADDR;
    bi->bootimage_size = img->size;
    for (unsigned i = 0; i < img->module_count && i < BK_BOOTINFO_MAX_MODULES; i++) {
        struct bk_boot_module *m = &bi->modules[i];
        copy_string(m->name, sizeof(m->name), img->modules[i].name);
        m->vaddr = BK_ROOT_BOOTIMAGE_VADDR + img->modules[i].offset;
        m->size = img->modules[i].size;
        m->flags = img->modules[i].is_root ? BK_MODULE_ROOT : 0;
        bi->module_count++;
    }
}

void bootinfo_fill(struct bk_bootinfo *bi, const struct boot_params *bp,
                   const struct bootimage *img, const struct memmap *free_mem)
{
    memset(bi, 0, sizeof(*bi));
    fill_identity(bi, bp);
    fill_modules(bi, img);
    for (unsigned i = 0; i < free_mem->count; i++) {
        add_region(bi, free_mem->ranges[i].base, free_mem->ranges[i].size, BK_REGION_UNTYPED);
        bi->untyped_bytes += free_mem->ranges[i].size;
    }
    /* The kernel's own devices are in use, like the kernel image. */
    for (unsigned i = 0; i < bp->device_count; i++)
        add_region(bi, bp->devices[i].base, bp->devices[i].size, BK_REGION_RESERVED);
    bi->kernel_phys_base = bp->kernel_phys_base;
    bi->kernel_phys_size = bp->kernel_phys_size;
    for (unsigned i = 0; i < bp->reserved_count; i++) {
        if (!region_listed(bi, bp->reserved[i].base, bp->reserved[i].size))
            add_region(bi, bp->reserved[i].base, bp->reserved[i].size, BK_REGION_RESERVED);
    }
}

void bootinfo_add_device_regions(struct bk_bootinfo *bi, const struct memmap *dev)
{
    for (unsigned i = 0; i < dev->count; i++)
        add_region(bi, dev->ranges[i].base, dev->ranges[i].size, BK_REGION_DEVICE);
}
