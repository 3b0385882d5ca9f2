/*
 * riscv_boot_main: the C half of boot on the boot hart, entered from
 * entry.S on the boot stack with the boot page table active. It reads the
 * device tree (through the two physmap gigapages entry.S mapped around
 * it), fills struct boot_params, builds the kernel's real page tables,
 * brings up the UART, the exit device, the PLIC, the timebase and the FPU
 * switching, and calls kernel_main(). Nothing about the board is compiled
 * in: RAM, devices, initrd, timebase and ISA extensions all come from the
 * tree.
 */
#include "port.h"

#include "board.h"
#include "boot/boot_params.h"
#include "cpu.h"
#include "kernel.h"
#include "plic.h"
#include "riscv.h"

/* Register blocks the kernel itself drives, found in the tree before the
 * switch to the final tables (after it the tree is only reachable if it
 * lies in RAM, which nothing guarantees). */
struct mmio {
    paddr_t base;
    uint64_t size; /* 0: not found */
};

struct platform {
    struct mmio uart;
    uint32_t uart_shift, uart_width;
    int uart_irq; /* its PLIC source ("interrupts"), -1 if the tree has none */
    struct mmio test;
};

static struct boot_params boot_params;

static BOOT_CODE void open_device_tree(struct fdt *fdt, paddr_t dtb_pa)
{
    /* entry.S mapped physmap gigapages dtb >> 30 and the next one. */
    paddr_t window_end = ((dtb_pa >> 30) + 2) << 30;
    if (dtb_pa == 0 || window_end > PHYSMAP_SIZE)
        panic("device tree address 0x%llx from the firmware (a1) is unusable",
              (unsigned long long)dtb_pa);
    const char *err = fdt_open(fdt, arch_phys_to_virt(dtb_pa), window_end - dtb_pa);
    if (err)
        panic("device tree at 0x%llx: %s (at byte 0x%x)", (unsigned long long)dtb_pa, err,
              fdt->error_offset);
}

/* The physmap covers PHYSMAP_SIZE bytes of physical space; RAM above it
 * is left out so every listed region stays reachable. */
static BOOT_CODE void clip_ram_to_physmap(struct boot_params *bp)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < bp->ram_count; i++) {
        struct phys_region r = bp->ram[i];
        if (r.base >= PHYSMAP_SIZE || r.size > PHYSMAP_SIZE - r.base) {
            kprintf("riscv: RAM 0x%llx+0x%llx beyond the %llu GiB physmap: not all used\n",
                    (unsigned long long)r.base, (unsigned long long)r.size,
                    (unsigned long long)(PHYSMAP_SIZE >> 30));
            if (r.base >= PHYSMAP_SIZE)
                continue;
            r.size = PHYSMAP_SIZE - r.base;
        }
        bp->ram[kept++] = r;
    }
    bp->ram_count = kept;
}

static BOOT_CODE void fill_boot_params(const struct fdt *fdt, paddr_t dtb_pa, paddr_t kernel_pa)
{
    struct boot_params *bp = &boot_params;
    const char *err = riscv_board_params(fdt, dtb_pa, bp);
    if (err)
        panic("device tree at 0x%llx: %s", (unsigned long long)dtb_pa, err);
    bp->kernel_phys_base = kernel_pa;
    bp->kernel_phys_size = paging_kernel_size();
    if (!boot_params_add_reserved(bp, kernel_pa, bp->kernel_phys_size))
        panic("boot: no room to reserve the kernel image (BOOT_MAX_RESERVED_REGIONS)");
    sbi_describe(bp->loader, sizeof(bp->loader));
    clip_ram_to_physmap(bp);
}

/* The harts to start, from the tree; those past BOOT_MAX_CPUS are left
 * out with a line saying so. */
static BOOT_CODE void find_harts(const struct fdt *fdt, uint64_t boot_hart)
{
    struct boot_params *bp = &boot_params;
    unsigned n = riscv_board_harts(fdt, boot_hart, bp->cpu_ids, BOOT_MAX_CPUS);
    bp->cpu_count = n < BOOT_MAX_CPUS ? n : BOOT_MAX_CPUS;
    if (n > BOOT_MAX_CPUS)
        kprintf("riscv64: %u harts in the device tree; the kernel starts %u, the rest are "
                "left out\n", n, BOOT_MAX_CPUS);
}

static BOOT_CODE bool is_ns16550(const struct fdt *fdt, int node)
{
    return fdt_is_compatible(fdt, node, "ns16550a") || fdt_is_compatible(fdt, node, "ns16550");
}

/* The console: /chosen/stdout-path if it names an NS16550, else the
 * first NS16550 in the tree. */
static BOOT_CODE void find_uart(const struct fdt *fdt, struct platform *p)
{
    int node = fdt_stdout_node(fdt);
    if (node == FDT_NONE || !is_ns16550(fdt, node)) {
        node = fdt_find_compatible(fdt, FDT_NONE, "ns16550a");
        if (node == FDT_NONE)
            node = fdt_find_compatible(fdt, FDT_NONE, "ns16550");
    }
    if (node == FDT_NONE || !fdt_reg(fdt, node, 0, &p->uart.base, &p->uart.size)) {
        p->uart.size = 0;
        return;
    }
    if (!fdt_get_u32(fdt, node, "reg-shift", &p->uart_shift))
        p->uart_shift = 0;
    if (!fdt_get_u32(fdt, node, "reg-io-width", &p->uart_width))
        p->uart_width = 1;
    uint32_t irq;
    p->uart_irq = fdt_get_u32(fdt, node, "interrupts", &irq) && irq > 0 ? (int)irq : -1;
    if (p->uart_shift > 4 || (p->uart_width != 1 && p->uart_width != 2 && p->uart_width != 4))
        p->uart.size = 0; /* a layout we do not know: stay on the SBI console */
}

/* The QEMU exit device. Plain "syscon" nodes are not used: on boards it
 * names arbitrary register blocks (clocks, pin control). */
static BOOT_CODE void find_test_device(const struct fdt *fdt, struct platform *p)
{
    int node = fdt_find_compatible(fdt, FDT_NONE, "sifive,test0");
    if (node == FDT_NONE)
        node = fdt_find_compatible(fdt, FDT_NONE, "sifive,test1");
    if (node == FDT_NONE || !fdt_reg(fdt, node, 0, &p->test.base, &p->test.size))
        p->test.size = 0;
}

static BOOT_CODE void start_devices(const struct platform *p)
{
    if (p->uart.size)
        uart_init(paging_map_device(p->uart.base, p->uart.size), p->uart_shift, p->uart_width,
                  p->uart_irq);
    if (p->test.size >= 4)
        power_init(paging_map_device(p->test.base, p->test.size));
}

static BOOT_CODE void print_summary(uint64_t hart_id, const struct platform *p)
{
    kprintf("riscv64: hart %lu; %s; Sv39, %u ASID bits; timebase %llu Hz\n", hart_id,
            boot_params.loader, asid_bits(), (unsigned long long)boot_params.timer_hz);
    if (p->uart.size)
        kprintf("riscv64: console ns16550a at 0x%llx (reg-shift %u, reg-io-width %u)\n",
                (unsigned long long)p->uart.base, p->uart_shift, p->uart_width);
    else
        kprintf("riscv64: no ns16550a in the device tree; console through SBI\n");
    if (!p->test.size)
        kprintf("riscv64: no sifive,test device; shutdown through SBI (exit status lost)\n");
}

BOOT_CODE void riscv_boot_main(uint64_t hart_id, paddr_t dtb_pa, paddr_t kernel_pa)
{
    struct fdt fdt;
    struct platform platform = { 0 };
    cpu_init_boot_hart(hart_id);
    paging_set_kernel_phys(kernel_pa);
    sbi_init();
    open_device_tree(&fdt, dtb_pa);
    fill_boot_params(&fdt, dtb_pa, kernel_pa);
    find_harts(&fdt, hart_id);
    const char *start_at = boot_cmdline_option(boot_params.cmdline,
                                               "bulkhead.riscv_start_at_entry");
    if (start_at)
        riscv_cpu_start_at_entry(start_at);
    find_uart(&fdt, &platform);
    find_test_device(&fdt, &platform);
    plic_find(&fdt);
    sswi_find(&fdt);
    fpu_find(&fdt, hart_id);
    timer_find(&fdt, hart_id);
    selftest_rtc_find(&fdt);
    paging_init_kernel(&boot_params);
    asid_init();
    start_devices(&platform);
    plic_init();
    sswi_init();
    timer_init(boot_params.timer_hz);
    print_summary(hart_id, &platform);
    cpu_init_counters();
    fpu_init();
    kernel_main(&boot_params);
}
