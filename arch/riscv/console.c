/*
 * The boot console: an NS16550A-compatible UART found through the device
 * tree (its registers spaced by 1 << reg-shift bytes and accessed
 * reg-io-width bytes wide), polled. The firmware has already set the line
 * up (baud rate, 8N1), so only the transmitter is used. Until the UART is
 * mapped, bytes go through the SBI legacy putchar.
 */
#include "port.h"

#define UART_THR 0         /* transmit holding register */
#define UART_LSR 5         /* line status register */
#define UART_LSR_THRE 0x20 /* THR empty: the next byte may be written */

static struct {
    volatile uint8_t *regs;
    unsigned shift;
    unsigned width;
} uart;

static uint32_t uart_read(unsigned reg)
{
    volatile uint8_t *p = uart.regs + ((uintptr_t)reg << uart.shift);
    if (uart.width == 4)
        return *(volatile uint32_t *)p;
    if (uart.width == 2)
        return *(volatile uint16_t *)p;
    return *p;
}

static void uart_write(unsigned reg, uint8_t value)
{
    volatile uint8_t *p = uart.regs + ((uintptr_t)reg << uart.shift);
    if (uart.width == 4)
        *(volatile uint32_t *)p = value;
    else if (uart.width == 2)
        *(volatile uint16_t *)p = value;
    else
        *p = value;
}

BOOT_CODE void uart_init(void *regs, unsigned reg_shift, unsigned reg_width)
{
    uart.shift = reg_shift;
    uart.width = reg_width;
    uart.regs = regs;
}

void arch_console_putc(char c)
{
    if (!uart.regs) {
        sbi_console_putchar(c);
        return;
    }
    while ((uart_read(UART_LSR) & UART_LSR_THRE) == 0)
        ;
    uart_write(UART_THR, (uint8_t)c);
}
