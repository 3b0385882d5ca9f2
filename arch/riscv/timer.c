/*
 * The clock and the one-shot timer: arch_time_ns() is the time CSR since
 * boot, scaled from its rate (the device tree's /cpus/timebase-frequency)
 * with kernel/lib/clock.h; arch_timer_set_deadline() sets the time value at
 * which the supervisor timer interrupt (scause 5, sie.STIE) is raised.
 *
 * Two ways to set it (Privileged spec 3.1.10, and the Sstc extension):
 *  - Sstc: the stimecmp CSR (0x14D), written directly, when the hart's
 *    riscv,isa string or riscv,isa-extensions list names sstc and the
 *    firmware lets S-mode at it (menvcfg.STCE; a write that traps as an
 *    illegal instruction means it did not);
 *  - otherwise the SBI TIME extension (legacy set_timer when absent), an
 *    ecall to M-mode, which programs the machine timer for us.
 * Either way sip.STIP is raised while time >= the value set, and cleared
 * only by setting a later one: the interrupt stays pending until the
 * kernel sets the next deadline in its handler, which it always does.
 */
#include "port.h"

#include "board.h"
#include "kernel.h"
#include "lib/clock.h"
#include "riscv.h"


static struct clock_rate timebase;
static uint64_t time_at_boot; /* the time CSR when arch_time_ns() read 0 */
static bool use_sstc;
static bool sstc_listed; /* the device tree names Sstc for the boot hart */

/* Reads the boot hart's extensions while the tree is still mapped. */
BOOT_CODE void timer_find(const struct fdt *fdt, uint64_t hart_id)
{
    sstc_listed = riscv_board_hart_has_extension(fdt, hart_id, "sstc");
}

BOOT_CODE void timer_init(uint64_t hz)
{
    if (hz == 0)
        panic("timer: the device tree gives no /cpus timebase-frequency");
    clock_rate_init(&timebase, hz);
    time_at_boot = read_time();
    /* A first write of stimecmp, far in the future, shows whether the
     * firmware lets S-mode at it (trap.c skips it if it traps). */
    use_sstc = sstc_listed && riscv_csr_probe_write_stimecmp(UINT64_MAX);
    if (!use_sstc)
        sbi_set_timer(UINT64_MAX);
    csr_set(sie, SIE_STIE);
    kprintf("riscv64: clock: time CSR at %llu Hz; timer: %s\n", (unsigned long long)hz,
            use_sstc ? "Sstc (stimecmp)"
            : sstc_listed ? "SBI set_timer (Sstc listed, but stimecmp traps: firmware left menvcfg.STCE clear)"
                          : "SBI set_timer (no Sstc)");
}

/* Whether the timer is the hart's own stimecmp (riscv_spin_yield() in
 * cpu.c makes it pending for a moment). */
bool riscv_timer_has_sstc(void)
{
    return use_sstc;
}

void riscv_timer_init_hart(void)
{
    if (use_sstc)
        csr_write(0x14D, UINT64_MAX); /* stimecmp */
    else
        sbi_set_timer(UINT64_MAX);
}

uint64_t arch_time_ns(void)
{
    return arch_counter_time_ns(read_time());
}

uint64_t arch_counter_time_ns(uint64_t counter)
{
    return clock_rate_ns(&timebase, counter - time_at_boot);
}

uint64_t arch_counter_ns(uint64_t counts)
{
    return clock_rate_ns(&timebase, counts);
}

uint64_t arch_ns_counts(uint64_t ns)
{
    return clock_rate_count_at(&timebase, ns);
}

/* The time CSR value at which arch_time_ns() first reads `ns` (see
 * clock_rate_count_at), or UINT64_MAX for never. */
static uint64_t time_at(uint64_t ns)
{
    if (ns == UINT64_MAX)
        return UINT64_MAX;
    uint64_t count = clock_rate_count_at(&timebase, ns);
    return count > UINT64_MAX - time_at_boot ? UINT64_MAX : time_at_boot + count;
}

void arch_timer_set_deadline(uint64_t ns)
{
    uint64_t when = time_at(ns);
    if (use_sstc)
        csr_write(0x14D, when); /* stimecmp: clang 14 does not know the name */
    else
        sbi_set_timer(when);
}
