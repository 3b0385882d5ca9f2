/*
 * The boot console: COM1, a 16550-compatible UART at I/O port 0x3f8,
 * 115200 baud 8N1, written by polling, with its 16-byte FIFOs on. Input
 * is read by user level (Debug: ConsoleRead): the UART raises ISA IRQ 4
 * when a byte arrives, a line the kernel never enables itself; a reader
 * with an IRQHandler for it is woken by it.
 */
#include "x86.h"

#define COM1 0x3F8
/* 16550 register offsets from the base port (PC16550D datasheet). */
#define UART_THR 0 /* transmit holding (write) */
#define UART_RBR 0 /* receive buffer (read) */
#define UART_IER 1 /* interrupt enable */
#define UART_DLL 0 /* divisor latch low, when LCR.DLAB = 1 */
#define UART_DLM 1 /* divisor latch high, when LCR.DLAB = 1 */
#define UART_FCR 2 /* FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear both */
/* OUT2 gates the UART's interrupt output onto the PC's IRQ line. */
#define MCR_DTR_RTS_OUT2 0x0B
#define IER_RX_DATA 0x01 /* interrupt when received data is available */
#define LSR_DR 0x01   /* data ready: the receive FIFO holds a byte */
#define LSR_THRE 0x20 /* transmit holding register empty */
#define COM1_IRQ 4    /* ISA IRQ of COM1: IOAPIC pin 4 (no override on q35) */
/* With FIFOs on, LSR.THRE means the whole transmit FIFO is empty: 16
 * bytes may follow without another look (PC16550D, "FIFO mode"). */
#define TX_FIFO_BYTES 16

/* Bytes the transmit FIFO is known to take without a look at LSR. */
static unsigned tx_room;

static bool tx_ready(void)
{
    if (tx_room == 0 && (inb(COM1 + UART_LSR) & LSR_THRE))
        tx_room = TX_FIFO_BYTES;
    return tx_room != 0;
}

/* The UART clock is 1.8432 MHz / 16 = 115200: divisor 1 gives 115200. */
#define BAUD_DIVISOR 1

BOOT_CODE void x86_serial_init(void)
{
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DLL, BAUD_DIVISOR & 0xFF);
    outb(COM1 + UART_DLM, BAUD_DIVISOR >> 8);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
    outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
    /* Only the receive interrupt: output stays polled. The line itself
     * stays masked in the IOAPIC until a reader's IRQHandler enables it. */
    outb(COM1 + UART_IER, IER_RX_DATA);
}

void arch_console_putc(char c)
{
    /* Bounded wait: on a machine without COM1 the port reads 0xff (THRE
     * set) or never drains; output is then lost rather than hanging. */
    for (unsigned spins = 0; spins < 100000 && !tx_ready(); spins++)
        ;
    outb(COM1 + UART_THR, (uint8_t)c);
    if (tx_room)
        tx_room--;
}

bool arch_console_try_putc(char c)
{
    if (!tx_ready())
        return false;
    outb(COM1 + UART_THR, (uint8_t)c);
    tx_room--;
    return true;
}

int arch_console_getc(void)
{
    /* A missing COM1 reads 0xff: LSR then claims data, and RBR 0xff.
     * Treat an all-ones LSR as "no UART". */
    uint8_t lsr = inb(COM1 + UART_LSR);
    if (lsr == 0xff || !(lsr & LSR_DR))
        return -1;
    return inb(COM1 + UART_RBR);
}

int arch_console_rx_line(void)
{
    return COM1_IRQ;
}
