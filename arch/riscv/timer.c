/*
 * The periodic tick: the supervisor timer interrupt (scause 5), armed
 * through the SBI TIME extension (legacy set_timer when absent) in units
 * of the `time` CSR, which counts at the device tree's
 * /cpus/timebase-frequency. Programming the next deadline also clears the
 * pending STIP bit.
 */
#include "port.h"

#include "kernel.h"
#include "riscv.h"

static uint64_t timebase_hz;

BOOT_CODE void timer_init(uint64_t hz)
{
    timebase_hz = hz;
}

void arch_timer_start(unsigned hz)
{
    struct riscv_cpu *cpu = this_cpu();
    if (timebase_hz == 0)
        panic("timer: the device tree gives no /cpus timebase-frequency");
    uint64_t interval = hz ? timebase_hz / hz : 0;
    if (interval == 0)
        panic("timer: cannot tick at %u Hz with a %llu Hz timebase", hz,
              (unsigned long long)timebase_hz);
    cpu->timer_interval = interval;
    cpu->timer_next = read_time() + cpu->timer_interval;
    sbi_set_timer(cpu->timer_next);
    csr_set(sie, SIE_STIE);
}

/* Deadlines advance by whole intervals so ticks do not drift; ticks missed
 * while the kernel was busy are skipped rather than delivered in a burst. */
void timer_interrupt(void)
{
    struct riscv_cpu *cpu = this_cpu();
    if (cpu->timer_interval == 0) {
        sbi_set_timer(UINT64_MAX);
        return;
    }
    uint64_t now = read_time();
    cpu->timer_next += cpu->timer_interval;
    if (cpu->timer_next <= now)
        cpu->timer_next = now + cpu->timer_interval;
    sbi_set_timer(cpu->timer_next);
}
