/*
 * The x86-64 device for the irq self-test (kernel/debug/selftest_irq.c): the
 * CMOS real-time clock's periodic interrupt, ISA IRQ 8, which reaches
 * IOAPIC pin 8 (no ISA override moves IRQ 8). Registers through the index
 * port 0x70 and the data port 0x71 (Motorola MC146818A datasheet; the
 * same in every PC chipset): register A selects the periodic rate,
 * register B enables the periodic interrupt, reading register C clears
 * the interrupt flags and lowers the IRQ line, which stays high until then.
 */
#include "debug/selftest.h"

#include "x86.h"

#define RTC_INDEX 0x70 /* bit 7 of the index disables NMI: kept clear */
#define RTC_DATA 0x71
#define RTC_REG_A 0x0A
#define RTC_REG_B 0x0B
#define RTC_REG_C 0x0C

#define RTC_A_RATE_MASK 0x0F
#define RTC_A_RATE_1024HZ 0x06 /* periodic rate 32768 >> (rate - 1) Hz */
#define RTC_B_PIE 0x40         /* periodic interrupt enable */

#define RTC_IRQ_PIN 8

static uint8_t rtc_read(uint8_t reg)
{
    outb(RTC_INDEX, reg);
    return inb(RTC_DATA);
}

static void rtc_write(uint8_t reg, uint8_t value)
{
    outb(RTC_INDEX, reg);
    outb(RTC_DATA, value);
}

bool arch_selftest_irq_source(unsigned *irq)
{
    if (arch_irq_count() <= RTC_IRQ_PIN)
        return false;
    uint8_t a = rtc_read(RTC_REG_A);
    rtc_write(RTC_REG_A, (uint8_t)((a & ~RTC_A_RATE_MASK) | RTC_A_RATE_1024HZ));
    rtc_write(RTC_REG_B, rtc_read(RTC_REG_B) | RTC_B_PIE);
    (void)rtc_read(RTC_REG_C); /* drop a flag raised before now */
    *irq = RTC_IRQ_PIN;
    return true;
}

void arch_selftest_irq_clear(void)
{
    (void)rtc_read(RTC_REG_C);
}
