/*
 * The clock and the one-shot timer on x86-64.
 *
 * Clock: arch_time_ns() is the TSC since boot, scaled with kernel/lib/
 * clock.h from the rate apic.c measured against the PIT. The TSC counts at
 * a constant rate in every power state on CPUs that report an invariant
 * TSC (CPUID 80000007h EDX[8], SDM vol. 3, 17.17.1); the boot log says
 * whether this one does. (QEMU TCG counts the host's TSC, or one per
 * instruction under -icount shift=0: 1 GHz exactly.)
 *
 * Timer, one of two modes of the local APIC timer (SDM vol. 3, 11.5.4):
 *  - TSC-deadline, when CPUID 1 ECX[24] offers it: the interrupt comes
 *    when the TSC reaches IA32_TSC_DEADLINE; writing 0 disarms it, and a
 *    value already passed interrupts at once;
 *  - otherwise one-shot: a 32-bit count of APIC timer counts from now,
 *    computed from the time left. A count cannot reach further than 2^32
 *    counts (about 68 s at QEMU's 62.5 MHz after the divider), and the
 *    APIC timer and the TSC were calibrated apart, so the interrupt may
 *    come before the deadline: x86_timer_interrupt() then arms the rest
 *    and the kernel is not told. This is what runs under QEMU 7.2 TCG,
 *    which has no TSC-deadline mode.
 */
#include "x86.h"

#include "lib/clock.h"

#define APIC_COUNT_MAX 0xFFFFFFFFu

static struct clock_rate tsc;
static uint64_t tsc_at_boot;         /* the TSC when arch_time_ns() read 0 */
static struct clock_scale ns_to_apic; /* ns -> APIC timer counts */
static bool use_tsc_deadline;
/* What the kernel asked for, until it came, is per CPU: each CPU has its
 * own local APIC timer (x86_cpu.timer_deadline, UINT64_MAX for none). */

BOOT_CODE void x86_timer_init(uint64_t tsc_hz, uint64_t apic_hz)
{
    if (tsc_hz < 1000000) {
        kprintf("x86_64: TSC calibration failed (%lu Hz), assuming 1 GHz\n", tsc_hz);
        tsc_hz = 1000000000;
    }
    clock_rate_init(&tsc, tsc_hz);
    struct clock_rate apic;
    clock_rate_init(&apic, apic_hz);
    ns_to_apic = apic.from_ns;
    use_tsc_deadline = x86_features.tsc_deadline;
    x86_apic_timer_mode(use_tsc_deadline);
    x86_this_cpu()->timer_deadline = UINT64_MAX;
    tsc_at_boot = rdtsc();
    kprintf("x86_64: clock: TSC at %lu Hz (%s); timer: %s\n", tsc_hz,
            x86_features.invariant_tsc ? "invariant" : "not reported invariant",
            use_tsc_deadline ? "APIC TSC-deadline mode" : "APIC one-shot (no TSC-deadline mode)");
}

BOOT_CODE void x86_timer_init_ap(void)
{
    x86_this_cpu()->timer_deadline = UINT64_MAX;
    x86_apic_timer_mode(use_tsc_deadline);
}

uint64_t arch_time_ns(void)
{
    return arch_counter_time_ns(rdtsc());
}

uint64_t arch_counter_time_ns(uint64_t counter)
{
    return clock_rate_ns(&tsc, counter - tsc_at_boot);
}

uint64_t arch_counter_ns(uint64_t counts)
{
    return clock_rate_ns(&tsc, counts);
}

uint64_t arch_ns_counts(uint64_t ns)
{
    return clock_rate_count_at(&tsc, ns);
}

/* TSC-deadline mode: the TSC value at which arch_time_ns() first reads
 * the deadline; 0 would disarm, so a deadline at boot becomes 1. */
static void arm_tsc_deadline(uint64_t deadline)
{
    uint64_t count = clock_rate_count_at(&tsc, deadline);
    uint64_t when = count > UINT64_MAX - tsc_at_boot ? UINT64_MAX : tsc_at_boot + count;
    wrmsr(MSR_TSC_DEADLINE, when ? when : 1);
}

/* One-shot mode: the time left at `now`, in APIC counts, rounded up and
 * at least 1 (a count of 0 stops the timer), at most what 32 bits hold. */
static void arm_one_shot(uint64_t deadline, uint64_t now)
{
    uint64_t left = deadline > now ? deadline - now : 0;
    uint64_t count = clock_scale_apply(&ns_to_apic, left);
    x86_apic_timer_count(count >= APIC_COUNT_MAX ? APIC_COUNT_MAX : (uint32_t)count + 1);
}

void arch_timer_set_deadline(uint64_t ns)
{
    x86_cpu_set_timer_deadline(ns);
    if (ns == UINT64_MAX && use_tsc_deadline)
        wrmsr(MSR_TSC_DEADLINE, 0);
    else if (ns == UINT64_MAX)
        x86_apic_timer_count(0);
    else if (use_tsc_deadline)
        arm_tsc_deadline(ns);
    else
        arm_one_shot(ns, arch_time_ns());
}

/* The APIC timer interrupt. True if the deadline has come: it is used up
 * and the kernel is told. False for an interrupt that came early (the
 * rest is armed) or after the deadline was replaced or disarmed. */
bool x86_timer_interrupt(void)
{
    struct x86_cpu *cpu = x86_this_cpu();
    uint64_t deadline = cpu->timer_deadline;
    if (deadline == UINT64_MAX)
        return false;
    uint64_t now = arch_time_ns();
    if (now >= deadline) {
        cpu->timer_deadline = UINT64_MAX;
        return true;
    }
    if (use_tsc_deadline)
        arm_tsc_deadline(deadline);
    else
        arm_one_shot(deadline, now);
    return false;
}
