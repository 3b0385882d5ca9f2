/*
 * The root task's first capabilities (see rootcaps.h).
 */
#include "boot/rootcaps.h"

#include "asid_pool.h"
#include "boot/bootinfo.h"
#include "cnode.h"
#include "kernel.h"
#include "smp.h"
#include "object.h"
#include "vspace_object.h"

/* Keep kernel objects made at boot out of the first MiB (firmware, DMA). */
#define ROOTCAPS_ALLOC_MIN MB(1)

static struct cte *root_slots;

/* The root task runs on a SchedContext with the whole CPU, made here like
 * its CNode; its cap goes to slot BK_CAP_ROOT_SCHED_CONTEXT. */
static BOOT_CODE void create_root_sched_context(struct thread *t, struct memmap *mem)
{
    paddr_t pa = memmap_alloc_aligned(mem, OBJ_SCHED_CONTEXT_BITS, ROOTCAPS_ALLOC_MIN);
    if (!pa)
        panic("root task: no memory for its SchedContext");
    cap_t cap = object_create(CAP_SCHED_CONTEXT, pa, OBJ_SCHED_CONTEXT_BITS, false);
    struct sched_context *sc = sched_context_of(&cap);
    sched_context_set(sc, BK_SCHED_ROOT_PERIOD_NS, BK_SCHED_ROOT_PERIOD_NS, 1);
    cnode_boot_install(&root_slots[BK_CAP_ROOT_SCHED_CONTEXT], cap);
    sched_context_bind(sc, t);
}

/* The ASID space's authority, and its first pool, whose first entry the
 * root task's VSpace takes: the root task keeps the pool for what it
 * spawns (libsys's bk_vspace_alloc()), and makes more with ASIDControl. */
static BOOT_CODE void create_asid_caps(const cap_t *vspace_cap, struct memmap *mem)
{
    paddr_t pa = memmap_alloc_aligned(mem, OBJ_ASID_POOL_BITS, ROOTCAPS_ALLOC_MIN);
    if (!pa)
        panic("root task: no memory for its ASID pool");
    cap_t pool = asid_pool_boot(pa, vspace_of_cap(vspace_cap));
    cnode_boot_install(&root_slots[BK_CAP_ROOT_ASID_POOL], pool);
    cnode_boot_install(&root_slots[BK_CAP_ASID_CONTROL],
                       cap_make_object(CAP_ASID_CONTROL, NULL, CAP_RIGHTS_ALL));
}

BOOT_CODE void rootcaps_create_cspace(struct thread *t, cap_t tcb_cap, cap_t vspace_cap,
                                      struct memmap *mem)
{
    unsigned bits = BK_ROOT_CNODE_BITS + CNODE_SLOT_BITS;
    paddr_t pa = memmap_alloc_aligned(mem, bits, ROOTCAPS_ALLOC_MIN);
    if (!pa)
        panic("root task: no %llu KiB block for its CNode", (unsigned long long)(1ull << bits) >> 10);
    cap_t cap = object_create(CAP_CNODE, pa, bits, false);
    /* The guard fills the remaining address bits with zeros, so every slot
     * number is a full-depth (BK_WORD_BITS) capability address. */
    cap_cnode_set_guard(&cap, BK_WORD_BITS - BK_ROOT_CNODE_BITS, 0);
    root_slots = cnode_slots(&cap);
    cnode_boot_install(&root_slots[BK_CAP_ROOT_CNODE], cap);
    cnode_boot_install(&root_slots[BK_CAP_ROOT_TCB], tcb_cap);
    cnode_boot_install(&root_slots[BK_CAP_ROOT_VSPACE], vspace_cap);
    create_asid_caps(&vspace_cap, mem);
    /* The control caps name no object: they are the authority itself. */
    cnode_boot_install(&root_slots[BK_CAP_IRQ_CONTROL],
                       cap_make_object(CAP_IRQ_CONTROL, NULL, CAP_RIGHTS_ALL));
#ifdef ARCH_HAS_IOPORTS
    cnode_boot_install(&root_slots[BK_CAP_IOPORT_CONTROL],
                       cap_make_object(CAP_IOPORT_CONTROL, NULL, CAP_RIGHTS_ALL));
#endif
    /* On both arches: where no IOMMU translates, its method says so. */
    cnode_boot_install(&root_slots[BK_CAP_IOSPACE_CONTROL],
                       cap_make_object(CAP_IOSPACE_CONTROL, NULL, CAP_RIGHTS_ALL));
    /* The one Debug cap: the root task decides who else may use the console. */
    cnode_boot_install(&root_slots[BK_CAP_DEBUG], cap_make_object(CAP_DEBUG, NULL, CAP_RIGHTS_ALL));
    /* One CPU today: one SchedControl cap, and the root task's budget. */
    cnode_boot_install(&root_slots[BK_CAP_SCHED_CONTROL], cap_make_sched_control(0));
    create_root_sched_context(t, mem);
    struct kerror_info info;
    if (cnode_copy(&root_slots[BK_CAP_ROOT_CNODE], &t->cspace_root, CAP_RIGHTS_ALL, &info) !=
        KERR_OK)
        panic("root task: cannot copy its CNode cap into its thread");
}

/* The largest naturally aligned power-of-two block at `base` within `size`. */
static unsigned block_bits(paddr_t base, uint64_t size)
{
    unsigned bits = 63 - (unsigned)__builtin_clzll(size);
    unsigned align = base ? (unsigned)__builtin_ctzll(base) : 63;
    bits = align < bits ? align : bits;
    return bits > OBJ_UNTYPED_MAX_BITS ? OBJ_UNTYPED_MAX_BITS : bits;
}

/* Turns each range of `mem` into untyped caps (device or RAM) from
 * bi->first_free_slot on; returns the bytes left out for lack of slots. */
static BOOT_CODE uint64_t make_untyped(const struct memmap *mem, bool device,
                                       struct bk_bootinfo *bi)
{
    uint64_t slot = bi->first_free_slot, lost = 0;
    for (unsigned i = 0; i < mem->count; i++) {
        paddr_t base = mem->ranges[i].base, end = base + mem->ranges[i].size;
        while (base < end) {
            unsigned bits = block_bits(base, end - base);
            if (bi->untyped_count == BK_BOOTINFO_MAX_UNTYPED ||
                slot == (1ull << BK_ROOT_CNODE_BITS)) {
                lost += end - base;
                break;
            }
            cnode_boot_install(&root_slots[slot], cap_make_untyped(base, bits, device));
            bi->untyped[bi->untyped_count++] = (struct bk_untyped_desc){
                .paddr = base, .slot = slot, .size_bits = (uint8_t)bits, .is_device = device };
            slot++;
            base += 1ull << bits;
        }
    }
    bi->first_free_slot = slot;
    return lost;
}

/* Device memory: the physical address space up to DEVICE_SPACE_TOP (or the
 * top of RAM, if higher) that is neither RAM, nor reserved, nor a device the
 * kernel drives. PCI windows above 4 GiB are not covered yet. */
#define DEVICE_SPACE_TOP GB(4)

static BOOT_CODE void device_space(const struct boot_params *bp, struct memmap *dev)
{
    paddr_t top = DEVICE_SPACE_TOP;
    for (unsigned i = 0; i < bp->ram_count; i++) {
        paddr_t end = ALIGN_UP(bp->ram[i].base + bp->ram[i].size, (paddr_t)GB(1));
        top = end > top ? end : top;
    }
    memmap_init(dev);
    memmap_add(dev, 0, top);
    for (unsigned i = 0; i < bp->ram_count; i++)
        memmap_remove(dev, bp->ram[i].base, bp->ram[i].size);
    for (unsigned i = 0; i < bp->reserved_count; i++)
        memmap_remove(dev, bp->reserved[i].base, bp->reserved[i].size);
    for (unsigned i = 0; i < bp->device_count; i++)
        memmap_remove(dev, bp->devices[i].base, bp->devices[i].size);
    for (unsigned i = 0; i < bp->module_count; i++)
        memmap_remove(dev, bp->modules[i].base, bp->modules[i].size);
    memmap_remove(dev, bp->kernel_phys_base, bp->kernel_phys_size);
}

/* One SchedControl cap per online CPU, in consecutive slots from
 * bi->sched_control on (CPU 0 first). Alone, CPU 0's is the one in
 * BK_CAP_SCHED_CONTROL; with several, they follow the untyped caps and
 * BK_CAP_SCHED_CONTROL keeps a copy of CPU 0's. A CPU left out at
 * start-up gets none (nothing can run there), so the k-th cap need not be
 * CPU k's: bi->sched_control_cpu[k] names its CPU, the number Debug
 * CpuIndex reports there. */
_Static_assert(sizeof(((struct bk_bootinfo *)0)->sched_control_cpu) >= KERNEL_MAX_CPUS,
               "one entry per CPU the kernel starts");

static BOOT_CODE void sched_control_caps(struct bk_bootinfo *bi)
{
    bi->sched_control_cpu[0] = 0;
    if (smp_cpus_online() == 1)
        return;
    bi->sched_control = bi->first_free_slot;
    unsigned k = 0;
    for (unsigned i = 0; i < cpu_count; i++) {
        if (__atomic_load_n(&cpus[i].state, __ATOMIC_ACQUIRE) != CPU_ONLINE)
            continue;
        cnode_boot_install(&root_slots[bi->first_free_slot++], cap_make_sched_control(i));
        bi->sched_control_cpu[k++] = (uint8_t)i;
    }
}

BOOT_CODE void rootcaps_create_untyped(struct memmap *mem, const struct boot_params *bp,
                                       struct bk_bootinfo *bi)
{
    static struct memmap dev;
    bi->first_free_slot = BK_CAP_FIRST_UNTYPED;
    uint64_t lost = make_untyped(mem, false, bi);
    if (lost)
        kprintf("bulkhead: warning: %llu KiB of RAM left out: more than %d untyped caps needed\n",
                (unsigned long long)(lost >> 10), BK_BOOTINFO_MAX_UNTYPED);
    device_space(bp, &dev);
    lost = make_untyped(&dev, true, bi);
    if (lost)
        kprintf("bulkhead: warning: %llu KiB of device space left out of the untyped caps\n",
                (unsigned long long)(lost >> 10));
    bootinfo_add_device_regions(bi, &dev);
    sched_control_caps(bi);
}
