/*
 * The boot console: an NS16550A-compatible UART found through the device
 * tree (its registers spaced by 1 << reg-shift bytes and accessed
 * reg-io-width bytes wide), polled. The firmware has already set the line
 * up (baud rate, 8N1); the kernel turns the FIFOs on and uses only the
 * transmitter for output. Input is read by user level (Debug:
 * ConsoleRead); the kernel turns on the receive interrupt, whose PLIC
 * source (from the device tree) a reader enables through an IRQHandler.
 * Until the UART is mapped, or on a machine without one,
 * bytes go through the SBI legacy putchar, which waits inside the
 * firmware and cannot say "busy".
 */
#include "port.h"

#define UART_THR 0         /* transmit holding register (write) */
#define UART_RBR 0         /* receive buffer register (read) */
#define UART_IER 1         /* interrupt enable register */
#define UART_IER_RX 0x01   /* interrupt when received data is available */
#define UART_LSR_DR 0x01   /* data ready: the receive FIFO holds a byte */
#define UART_LSR 5         /* line status register */
#define UART_FCR 2         /* FIFO control register (write) */
#define UART_LSR_THRE 0x20 /* THR empty: the next byte may be written */
#define UART_LSR_TEMT 0x40 /* transmitter empty: nothing left to send */
#define UART_FCR_ENABLE 0x07 /* enable the FIFOs and clear both */
/* With FIFOs on, LSR.THRE means the whole 16-byte transmit FIFO is empty
 * (the 16550's FIFO mode, which ns16550a names). */
#define TX_FIFO_BYTES 16

static struct {
    volatile uint8_t *regs;
    unsigned shift;
    unsigned width;
    unsigned tx_room; /* bytes the FIFO takes without a look at LSR */
    int rx_line;      /* PLIC source of its interrupt, -1 if unknown */
} uart = { .rx_line = -1 };

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

BOOT_CODE void uart_init(void *regs, unsigned reg_shift, unsigned reg_width, int rx_line)
{
    uart.rx_line = rx_line;
    uart.shift = reg_shift;
    uart.width = reg_width;
    uart.regs = regs;
    /* Clearing the FIFO would cut off what the firmware still sends: wait
     * (bounded, as for a UART that never drains) until it is out. */
    for (unsigned spins = 0; spins < 100000; spins++) {
        if (uart_read(UART_LSR) & UART_LSR_TEMT)
            break;
    }
    uart_write(UART_FCR, UART_FCR_ENABLE);
    /* The PLIC keeps the source masked until a reader enables it. */
    uart_write(UART_IER, UART_IER_RX);
}

static bool tx_ready(void)
{
    if (uart.tx_room == 0 && (uart_read(UART_LSR) & UART_LSR_THRE))
        uart.tx_room = TX_FIFO_BYTES;
    return uart.tx_room != 0;
}

void arch_console_putc(char c)
{
    if (!uart.regs) {
        sbi_console_putchar(c);
        return;
    }
    while (!tx_ready())
        ;
    uart_write(UART_THR, (uint8_t)c);
    uart.tx_room--;
}

bool arch_console_try_putc(char c)
{
    /* The SBI call cannot say "busy": each byte waits in the firmware,
     * so the caller's per-drain bound is what limits the wait. */
    if (!uart.regs) {
        sbi_console_putchar(c);
        return true;
    }
    if (!tx_ready())
        return false;
    uart_write(UART_THR, (uint8_t)c);
    uart.tx_room--;
    return true;
}

int arch_console_getc(void)
{
    if (!uart.regs || !(uart_read(UART_LSR) & UART_LSR_DR))
        return -1;
    return (int)(uart_read(UART_RBR) & 0xff);
}

int arch_console_rx_line(void)
{
    return uart.regs ? uart.rx_line : -1;
}
