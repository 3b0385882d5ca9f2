/*
 * The root task: the first user program, started by the kernel with every
 * free page of RAM as untyped memory. It reports what the kernel told it in
 * the boot-info page and checks that the kernel rejects bad syscalls with
 * the documented errors and that the timer ticks while it runs in user
 * mode. Then, if the boot image holds a capability table (the module
 * "captable", made by `tools/bulkhead image POLICY.toml`), it checks the
 * table, builds exactly the system it describes, starts it and waits for
 * its tenants (system.c), then for the tenant manager's console, if the
 * table gives it one, to end; without a table it exits after its checks.
 */
#include <bulkhead/sys.h>

#include "system.h"

/* How long the tenants of a table may run before the root task gives up
 * on them (a test must end, never hang). */
#define TENANT_SECONDS 60

static int failures;

static void expect(int ok, const char *what)
{
    debug_printf("roottask: %s: %s\n", ok ? "ok" : "FAILED", what);
    if (!ok)
        failures++;
}

static const char *region_kind(uint32_t kind)
{
    switch (kind) {
    case BK_REGION_UNTYPED: return "untyped";
    case BK_REGION_DEVICE: return "device";
    case BK_REGION_RESERVED: return "reserved";
    default: return "?";
    }
}

static void print_bootinfo(const struct bk_bootinfo *bi)
{
    debug_printf("roottask: kernel %s %s on %s, booted by %s, platform %s\n", bi->kernel_name,
                 bi->kernel_version, bi->arch, bi->loader, bi->platform);
    debug_printf("roottask: %u memory regions, %llu KiB untyped:\n", bi->region_count,
                 (unsigned long long)(bi->untyped_bytes >> 10));
    for (uint32_t i = 0; i < bi->region_count; i++) {
        const struct bk_mem_region *r = &bi->regions[i];
        debug_printf("roottask:   %-8s 0x%012llx - 0x%012llx (%llu KiB)\n", region_kind(r->kind),
                     (unsigned long long)r->base, (unsigned long long)(r->base + r->size),
                     (unsigned long long)(r->size >> 10));
    }
    for (uint32_t i = 0; i < bi->module_count; i++) {
        const struct bk_boot_module *m = &bi->modules[i];
        debug_printf("roottask:   module %s at 0x%llx, %llu bytes%s\n", m->name,
                     (unsigned long long)m->vaddr, (unsigned long long)m->size,
                     (m->flags & BK_MODULE_ROOT) ? " (root task)" : "");
    }
}

static void check_bootinfo(const struct bk_bootinfo *bi)
{
    expect(bi->magic == BK_BOOTINFO_MAGIC && bi->version == BK_BOOTINFO_VERSION &&
               bi->size == sizeof(*bi),
           "boot-info page has the right magic, version and size");
    expect(bi->untyped_bytes > 0 && bi->region_count > 0, "boot info lists untyped memory");
    int root_found = 0;
    for (uint32_t i = 0; i < bi->module_count; i++) {
        const struct bk_boot_module *m = &bi->modules[i];
        /* The boot image is mapped for us: our own ELF must be readable there. */
        const unsigned char *elf = (const unsigned char *)(uintptr_t)m->vaddr;
        if ((m->flags & BK_MODULE_ROOT) && m->size >= 4 && elf[0] == 0x7f && elf[1] == 'E')
            root_found = 1;
    }
    expect(root_found, "own ELF image readable through the mapped boot image");
}

/* The firmware tables user space finds devices with (docs/io.md): on a
 * device-tree machine the tree itself, mapped read-only, whose header
 * (big-endian magic 0xd00dfeed, then totalsize) matches what the boot info
 * says; on a PC a copy of the ACPI RSDP (BIOS or UEFI alike). */
static void check_firmware_tables(const struct bk_bootinfo *bi)
{
    if (bi->fdt_vaddr) {
        const unsigned char *h = (const unsigned char *)(uintptr_t)bi->fdt_vaddr;
        uint32_t magic = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
        uint32_t total = (uint32_t)h[4] << 24 | h[5] << 16 | h[6] << 8 | h[7];
        debug_printf("roottask: device tree at 0x%llx, %llu bytes\n",
                     (unsigned long long)bi->fdt_vaddr, (unsigned long long)bi->fdt_size);
        expect(magic == 0xd00dfeedu && total == bi->fdt_size && bi->acpi_rsdp_size == 0,
               "the device tree is mapped for us, its header as the boot info says");
        return;
    }
    static const char signature[8] = "RSD PTR ";
    bool good = bi->fdt_size == 0 && (bi->acpi_rsdp_size == 20 || bi->acpi_rsdp_size == 36);
    for (unsigned i = 0; i < 8; i++)
        good = good && bi->acpi_rsdp[i] == (uint8_t)signature[i];
    debug_printf("roottask: ACPI RSDP of %u bytes, revision %u\n", bi->acpi_rsdp_size,
                 bi->acpi_rsdp[15]);
    expect(good, "the kernel handed over the ACPI RSDP");
}

/* The object model in a few calls: carve an endpoint out of the smallest
 * untyped, copy its cap, then revoke the untyped and see both caps go. */
static void check_capabilities(const struct bk_bootinfo *bi)
{
    debug_printf("roottask: %u untyped caps in slots %llu..%llu; first free slot %llu\n",
                 bi->untyped_count, (unsigned long long)bi->untyped[0].slot,
                 (unsigned long long)bi->untyped[bi->untyped_count - 1].slot,
                 (unsigned long long)bi->first_free_slot);
    uint64_t ut = bi->untyped[0].slot, slot = bi->first_free_slot;
    long r = sys_untyped_retype(ut, BK_OBJ_ENDPOINT, 0, BK_CAP_ROOT_CNODE, 0, 0, slot, 1);
    expect(r == 0, "Untyped: Retype made an endpoint");
    r = sys_cnode_copy(BK_CAP_ROOT_CNODE, slot + 1, BK_WORD_BITS, BK_CAP_ROOT_CNODE, slot,
                       BK_WORD_BITS, BK_RIGHT_WRITE);
    expect(r == 0 && BK_CAP_IDENTITY_TYPE(debug_cap_identify(slot + 1)) == BK_OBJ_ENDPOINT,
           "CNode: Copy made a send-only copy");
    r = sys_cnode_revoke(BK_CAP_ROOT_CNODE, ut, BK_WORD_BITS);
    expect(r == 0 && debug_cap_identify(slot) == 0 && debug_cap_identify(slot + 1) == 0,
           "CNode: Revoke of the untyped removed both");
}

static void check_syscall_errors(void)
{
    uint64_t n;
    expect(debug_cap_identify(BK_CAP_DEBUG) == BK_CAP_IDENTITY(BK_OBJ_DEBUG, BK_RIGHTS_ALL),
           "the Debug cap is in slot BK_CAP_DEBUG");
    long r = sys_debug_write(BK_CAP_DEBUG, 0x1000, 16, &n);
    expect(r == -BK_ERR_INVALID_ADDRESS, "Debug: Write of an unmapped buffer fails with INVALID_ADDRESS");
    r = sys_debug_write(BK_CAP_DEBUG, 0xffffffff80000000ull, 16, &n);
    expect(r == -BK_ERR_INVALID_ADDRESS, "Debug: Write of a kernel address fails with INVALID_ADDRESS");
    r = sys_debug_write(BK_CAP_DEBUG, (uint64_t)(uintptr_t)"x", BK_DEBUG_WRITE_MAX + 1, &n);
    expect(r == -BK_ERR_RANGE, "Debug: Write longer than BK_DEBUG_WRITE_MAX fails with RANGE");
    r = bk_syscall_raw(2, (uint64_t)(uintptr_t)"x", 1, 0, 0, 0, 0);
    expect(r == -BK_ERR_INVALID_SYSCALL, "the retired debug_write syscall (2) is gone");
    r = bk_syscall_raw(0x7fff, 1, 2, 3, 4, 5, 6);
    expect(r == -BK_ERR_INVALID_SYSCALL, "an unknown syscall number fails with INVALID_SYSCALL");
    debug_printf("roottask: (error name for %ld is %s)\n", r, bk_error_name(r));
}

/* Spins in user mode until the kernel's tick counter moves: shows that timer
 * interrupts reach the kernel while user code runs and that it returns. */
static void check_timer(void)
{
    uint64_t start = debug_ticks();
    uint64_t now = start;
    for (unsigned long spins = 0; spins < 200000000ul && now < start + 3; spins++) {
        if ((spins & 0xfff) == 0)
            now = debug_ticks();
    }
    expect(now >= start + 3, "timer ticks advance while user code runs");
}

/* The system of the boot image's capability table: checked whole, built,
 * started; then the tenants' end awaited. */
static int run_table(const struct bk_bootinfo *bi, const struct bk_boot_module *m)
{
    struct table t;
    char why[TABLE_WHY_LEN];
    if (table_check(bi, m, &t, why) != 0) {
        debug_printf("roottask: FAILED: capability table refused: %s\n", why);
        return 1;
    }
    debug_printf("roottask: capability table of %s: %u objects, %u components, %u caps\n",
                 table_string(&t, t.header->source), t.header->object_count,
                 t.header->component_count, t.header->cap_count);
    if (system_build(bi, &t) != 0 || system_wait_tenants(&t, TENANT_SECONDS) != 0)
        return 1;
    debug_puts("roottask: every tenant finished; the system ran as its table says\n");
    return system_wait_console(&t) != 0;
}

int main(const struct bk_bootinfo *bi)
{
    debug_puts("roottask: hello from user mode\n");
    print_bootinfo(bi);
    check_bootinfo(bi);
    check_firmware_tables(bi);
    check_capabilities(bi);
    check_syscall_errors();
    check_timer();
    const struct bk_boot_module *m = table_module(bi);
    debug_printf("roottask: %s, %s\n", failures ? "checks FAILED" : "all checks passed",
                 m && !failures ? "building the system of the capability table" : "exiting");
    if (failures)
        return failures;
    return m ? run_table(bi, m) : 0;
}
