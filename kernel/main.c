/*
 * kernel_main: the generic half of boot. The arch has set up paging, the
 * console and struct boot_params; from here the kernel validates the boot
 * image, builds the root task from it, hands every remaining free page to
 * the root task (described in its boot-info page) and enters user mode. The
 * kernel allocates no memory after this.
 */
#include "arch.h"
#include "boot/boot_params.h"
#include "boot/bootimage.h"
#include "boot/memmap.h"
#include "boot/roottask.h"
#include "kernel.h"
#include "smp.h"
#include "debug/selftest.h"
#include "thread.h"
#include "timer.h"
#include "vspace.h"

#include <bulkhead/abi.h>

static struct memmap boot_memory;

/* Read through a volatile so the compiler cannot prove the access invalid
 * and replace it with a trap: the self-test wants a real page fault. */
static volatile uintptr_t selftest_bad_address = 0x8;

static BOOT_CODE void print_boot_params(const struct boot_params *bp)
{
    uint64_t ram = 0;
    for (unsigned i = 0; i < bp->ram_count; i++)
        ram += bp->ram[i].size;
    kprintf("bulkhead: loader: %s; platform: %s\n", bp->loader[0] ? bp->loader : "unknown",
            bp->platform[0] ? bp->platform : "unknown");
    kprintf("bulkhead: command line: '%s'\n", bp->cmdline);
    if (bp->cmdline_length >= BOOT_MAX_CMDLINE)
        kprintf("bulkhead: warning: the command line has %u characters; only the first %u "
                "are kept (options after that are ignored)\n",
                (unsigned)bp->cmdline_length, (unsigned)(BOOT_MAX_CMDLINE - 1));
    kprintf("bulkhead: RAM: %llu MiB in %u regions; %u reserved ranges; %u boot modules\n",
            (unsigned long long)(ram >> 20), bp->ram_count, bp->reserved_count,
            bp->module_count);
}

/* Finds "bulkhead.selftest=<name>" on the command line; NULL if absent. */
static BOOT_CODE const char *selftest_name(const char *cmdline)
{
    return boot_cmdline_option(cmdline, "bulkhead.selftest");
}

static BOOT_CODE bool selftest_is(const char *name, const char *test)
{
    return boot_option_is(name, test);
}

/* Self-tests that need the boot memory map run after it is built. */
static BOOT_CODE void run_late_selftest(const struct boot_params *bp)
{
    const char *name = selftest_name(bp->cmdline);
    if (!name)
        return;
    if (!BULKHEAD_KERNEL_DEBUG)
        panic("self-test '%s' asked for, but this kernel was built without them "
              "(BULKHEAD_KERNEL_DEBUG off)", name);
    if (selftest_is(name, "vspace"))
        selftest_vspace(&boot_memory);
    if (selftest_is(name, "irq"))
        selftest_irq(bp);
    if (selftest_is(name, "timer"))
        selftest_timer();
    if (selftest_is(name, "lockorder-again"))
        selftest_lockorder("again");
    if (selftest_is(name, "lockorder-rank"))
        selftest_lockorder("rank");
    panic("unknown self-test '%s' (known: kernel-pagefault, kernel-illegal, vspace, irq, timer, "
          "lockorder-again, lockorder-rank)",
          name);
}

/* "bulkhead.slow_console" (a word of its own on the command line): the
 * console takes a real UART's line time per byte (console_slow_line()). */
static BOOT_CODE void set_console_speed(const char *cmdline)
{
    if (!boot_cmdline_flag(cmdline, "bulkhead.slow_console"))
        return;
    console_slow_line();
    kprintf("bulkhead: console: bulkhead.slow_console: a 115,200-baud line's time per byte\n");
}

/* "bulkhead.selftest=kernel-*" makes the kernel fault on purpose, to test
 * that kernel exceptions are reported, not silent. */
static BOOT_CODE void run_selftest(const char *cmdline)
{
    const char *name = selftest_name(cmdline);
    if (!name || !BULKHEAD_KERNEL_DEBUG)
        return; /* without them, run_late_selftest() says so */
    if (selftest_is(name, "kernel-pagefault")) {
        kprintf("bulkhead: selftest: reading 0x%lx in kernel mode\n", selftest_bad_address);
        (void)*(volatile uint64_t *)selftest_bad_address;
    } else if (selftest_is(name, "kernel-illegal")) {
        kprintf("bulkhead: selftest: executing an illegal instruction in kernel mode\n");
        __builtin_trap();
    } else {
        return; /* a self-test that runs later */
    }
    panic("selftest '%s' did not fault", name);
}

static BOOT_CODE void build_memory_map(const struct boot_params *bp)
{
    memmap_init(&boot_memory);
    for (unsigned i = 0; i < bp->ram_count; i++) {
        if (!memmap_add(&boot_memory, bp->ram[i].base, bp->ram[i].size))
            kprintf("bulkhead: warning: too many RAM ranges, some RAM is unused\n");
    }
    bool ok = memmap_remove(&boot_memory, bp->kernel_phys_base, bp->kernel_phys_size);
    for (unsigned i = 0; i < bp->reserved_count; i++)
        ok &= memmap_remove(&boot_memory, bp->reserved[i].base, bp->reserved[i].size);
    for (unsigned i = 0; i < bp->module_count; i++)
        ok &= memmap_remove(&boot_memory, bp->modules[i].base, bp->modules[i].size);
    if (!ok)
        kprintf("bulkhead: warning: memory map too fragmented, some RAM is unused\n");
    if (boot_memory.count == 0)
        panic("no usable RAM left after reserving the kernel and boot modules");
}

static BOOT_CODE const struct boot_module *find_boot_image(const struct boot_params *bp)
{
    if (bp->module_count == 0)
        panic("no boot image: the boot loader passed no module "
              "(QEMU: -initrd bootimage.img; GRUB: module2 /boot/bootimage.img)");
    if (bp->module_count > 1)
        kprintf("bulkhead: warning: %u boot modules, using the first ('%s')\n",
                bp->module_count, bp->modules[0].name);
    const struct boot_module *m = &bp->modules[0];
    if (!IS_ALIGNED(m->base, (paddr_t)ARCH_PAGE_SIZE))
        panic("boot image at 0x%llx is not page aligned", (unsigned long long)m->base);
    return m;
}

static BOOT_CODE void parse_boot_image(const struct boot_module *m, struct bootimage *img)
{
    char err[192];
    if (!bootimage_parse(arch_phys_to_virt(m->base), m->size, ARCH_NAME, img, err,
                         sizeof(err)))
        panic("%s (module '%s' at 0x%llx, %llu bytes)", err, m->name,
              (unsigned long long)m->base, (unsigned long long)m->size);
    kprintf("bulkhead: boot image: %u modules, %llu bytes, root task '%s'\n",
            img->module_count, (unsigned long long)img->size,
            img->modules[img->root_index].name);
}

void kernel_main(struct boot_params *bp)
{
    static struct bootimage image;
    kernel_lock_acquire(); /* the boot CPU's from here on (smp.h) */
    kprintf("\nBulkhead %s (%s)\n", BULKHEAD_VERSION, ARCH_NAME);
    print_boot_params(bp);
    set_console_speed(bp->cmdline);
    run_selftest(bp->cmdline);

    const struct boot_module *m = find_boot_image(bp);
    parse_boot_image(m, &image);
    build_memory_map(bp);
    vspace_note_ram(bp);
    run_late_selftest(bp);
    /* Before the root task: its boot info and caps count the CPUs. */
    smp_start(bp);
    struct thread *root = roottask_create(bp, &image, m->base, &boot_memory);
    kprintf("bulkhead: %llu KiB of untyped memory for the root task\n",
            (unsigned long long)(memmap_total(&boot_memory) >> 10));

    sched_make_runnable(root);
    timer_start();
    kprintf("bulkhead: entering user mode\n");
    thread_resume_current();
}
