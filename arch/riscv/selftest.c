/*
 * The RISC-V device for the irq self-test (kernel/debug/selftest_irq.c): the
 * goldfish RTC ("google,goldfish-rtc", on QEMU's virt machine), found in
 * the device tree with its PLIC source (its one-cell "interrupts"). Its
 * alarm raises the interrupt; the line stays asserted until the
 * CLEAR_INTERRUPT register is written. The alarm is one-shot, so each
 * clear arms the next one a millisecond later, making it periodic.
 * Registers (Android goldfish RTC, as QEMU implements it): the time and the
 * alarm in nanoseconds as low/high 32-bit halves; reading TIME_LOW latches
 * TIME_HIGH, and writing ALARM_LOW arms the alarm.
 */
#include "debug/selftest.h"

#include "bk_fdt.h" /* kernel/parse/bk_fdt.h */
#include "plic.h"
#include "port.h"

#define RTC_TIME_LOW 0x00
#define RTC_TIME_HIGH 0x04
#define RTC_ALARM_LOW 0x08
#define RTC_ALARM_HIGH 0x0C
#define RTC_IRQ_ENABLED 0x10
#define RTC_CLEAR_INTERRUPT 0x1C
#define RTC_REGS_SIZE 0x20

#define ALARM_PERIOD_NS 1000000ull

static struct {
    paddr_t base;
    uint64_t size; /* 0: not found */
    uint32_t source;
} rtc_found;

static volatile uint32_t *rtc;

BOOT_CODE void selftest_rtc_find(const struct fdt *fdt)
{
    int node = fdt_find_compatible(fdt, FDT_NONE, "google,goldfish-rtc");
    if (node == FDT_NONE || !fdt_node_enabled(fdt, node) ||
        !fdt_reg(fdt, node, 0, &rtc_found.base, &rtc_found.size) ||
        rtc_found.size < RTC_REGS_SIZE ||
        !fdt_get_u32(fdt, node, "interrupts", &rtc_found.source))
        rtc_found.size = 0;
}

static void rtc_write(unsigned reg, uint32_t value)
{
    rtc[reg / 4] = value;
}

/* The alarm fires ALARM_PERIOD_NS from now. */
static void arm_alarm(void)
{
    uint64_t now = rtc[RTC_TIME_LOW / 4];
    now |= (uint64_t)rtc[RTC_TIME_HIGH / 4] << 32;
    uint64_t when = now + ALARM_PERIOD_NS;
    rtc_write(RTC_ALARM_HIGH, (uint32_t)(when >> 32));
    rtc_write(RTC_ALARM_LOW, (uint32_t)when);
}

/* Self-tests run at boot only, so mapping the device here is boot code. */
BOOT_CODE bool arch_selftest_irq_source(unsigned *irq)
{
    if (rtc_found.size == 0 || rtc_found.source >= arch_irq_count())
        return false;
    if (!rtc)
        rtc = paging_map_device(rtc_found.base, RTC_REGS_SIZE);
    rtc_write(RTC_CLEAR_INTERRUPT, 1);
    rtc_write(RTC_IRQ_ENABLED, 1);
    arm_alarm();
    *irq = rtc_found.source;
    return true;
}

void arch_selftest_irq_clear(void)
{
    rtc_write(RTC_CLEAR_INTERRUPT, 1);
    arm_alarm();
}
