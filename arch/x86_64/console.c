/*
 * The boot console: COM1, a 16550-compatible UART at I/O port 0x3f8,
 * 115200 baud 8N1, written by polling (no interrupts), with its 16-byte
 * transmit FIFO on.
 */
#include "x86.h"

#define COM1 0x3F8
/* 16550 register offsets from the base port (PC16550D datasheet). */
#define UART_THR 0 /* transmit holding (write) */
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
#define MCR_DTR_RTS 0x03
#define LSR_THRE 0x20 /* transmit holding register empty */
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
    outb(COM1 + UART_MCR, MCR_DTR_RTS);
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
