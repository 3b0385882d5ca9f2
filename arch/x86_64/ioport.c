/*
 * Port I/O for IOPort caps (kernel/ioport.c): the in/out instructions of
 * each width, and the ports the kernel drives itself, which no IOPort cap
 * may include. kernel/ioport.c has checked the port range before any
 * access here.
 */
#include "x86.h"

/* Ports the kernel uses (the file that drives each one in brackets). The
 * CMOS RTC (0x70-0x71) is not among them: only the irq self-test touches
 * it, in a boot that runs no user code. */
static const struct {
    uint16_t first, last;
} kernel_ports[] = {
    { 0x20, 0x21 },   /* 8259 PIC 1, masked for good at boot (apic.c) */
    { 0x40, 0x43 },   /* PIT: calibrates the APIC timer (apic.c) */
    { 0x61, 0x61 },   /* port B: the PIT channel 2 gate (apic.c) */
    { 0xa0, 0xa1 },   /* 8259 PIC 2 (apic.c) */
    { 0xf4, 0xf7 },   /* QEMU isa-debug-exit, iosize 4: any write exits (power.c) */
    { 0x3f8, 0x3ff }, /* COM1, the boot console (console.c) */
};

bool arch_ioport_range_ok(unsigned first, unsigned last)
{
    for (size_t i = 0; i < sizeof(kernel_ports) / sizeof(kernel_ports[0]); i++) {
        if (first <= kernel_ports[i].last && kernel_ports[i].first <= last)
            return false;
    }
    return true;
}

uint32_t arch_ioport_in(unsigned port, unsigned size)
{
    uint16_t p = (uint16_t)port;
    uint32_t value = 0;
    if (size == 1) {
        uint8_t v;
        __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p));
        value = v;
    } else if (size == 2) {
        uint16_t v;
        __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p));
        value = v;
    } else {
        __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(p));
    }
    return value;
}

void arch_ioport_out(unsigned port, unsigned size, uint32_t value)
{
    uint16_t p = (uint16_t)port;
    if (size == 1)
        __asm__ volatile("outb %0, %1" : : "a"((uint8_t)value), "Nd"(p));
    else if (size == 2)
        __asm__ volatile("outw %0, %1" : : "a"((uint16_t)value), "Nd"(p));
    else
        __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(p));
}
