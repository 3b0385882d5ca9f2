/*
 * Device interrupts on x86-64: the IOAPIC (Intel 82093AA datasheet), one
 * interrupt line per input pin, each delivered to this CPU's local APIC on
 * its own vector (IRQ_VECTOR_BASE + pin). The kernel_irq() contract: a
 * line that interrupted stays masked until arch_irq_ack().
 *
 * Trigger mode and polarity: the ACPI MADT (with its interrupt source
 * overrides) is not read yet, so pins 0-15 are taken as ISA lines, edge
 * triggered and active high, and pins 16 and up as PCI lines, level
 * triggered and active low, as on QEMU's q35 and most PCs.
 *
 * Masking differs by trigger mode:
 *  - level: the pin's mask bit is set before the EOI (otherwise the EOI
 *    would let the still-asserted line in again at once) and cleared by the
 *    ack; a line still asserted then interrupts again.
 *  - edge: the IOAPIC drops an edge that arrives while its pin is masked
 *    (82093AA, 3.2.4), and a device that keeps its line high until serviced
 *    would then never interrupt again. So an edge line stays unmasked and
 *    is masked in software: an edge that arrives while the line is in
 *    service is noted, and the ack replays it as a self-IPI on the line's
 *    vector.
 * arch_irq_disable() sets the mask bit; an interrupt the local APIC had
 * already accepted for a disabled line is dropped.
 */
#include "ioapic.h"

#include "iommu.h"
#include "x86.h"

/* IOAPIC registers: an index register and a data window (82093AA, 3.1),
 * and the indirect registers behind them (3.2). */
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPICVER 0x01  /* bits 23:16: maximum redirection entry */
#define IOREDTBL(pin) (0x10 + 2 * (pin)) /* low dword; the high one follows */

/* Redirection entry, low dword (82093AA, 3.2.4); delivery mode 000 (fixed)
 * and destination mode 0 (physical) are zero. High dword: bits 63:56 are
 * the destination APIC ID. */
#define REDIR_ACTIVE_LOW (1u << 13)
#define REDIR_LEVEL (1u << 15)
#define REDIR_MASKED (1u << 16)
#define REDIR_DEST_SHIFT 24

#define ISA_PINS 16 /* pins 0-15: ISA IRQs, edge, active high */

/* Pins with a vector: IRQ_VECTOR_BASE up to 0xfe (0xff is spurious). */
#define MAX_PINS (VECTOR_SPURIOUS - IRQ_VECTOR_BASE)
_Static_assert(IRQ_VECTOR_BASE > VECTOR_TIMER && IRQ_VECTOR_BASE >= VECTOR_PIC_BASE + 16,
               "device vectors overlap the 8259 or APIC timer vectors");

/* Local APIC interrupt command register, low dword (Intel SDM vol. 3,
 * 11.6.1): destination shorthand 01 (self), level "assert", fixed mode. */
#define LAPIC_ICR_LOW 0x300
#define ICR_ASSERT (1u << 14)
#define ICR_SELF (1u << 18)

struct pin {
    bool enabled;    /* arch_irq_enable'd and not disabled since */
    bool in_service; /* reported to kernel_irq(), not acknowledged yet */
    bool replay;     /* edge pin: an edge arrived while in service */
};

static volatile uint32_t *ioapic;
static volatile uint32_t *lapic;
static unsigned pin_count;
static uint32_t dest_apic_id;
static struct pin pins[MAX_PINS];

static uint32_t ioapic_read(unsigned reg)
{
    ioapic[IOREGSEL / 4] = reg;
    return ioapic[IOWIN / 4];
}

static void ioapic_write(unsigned reg, uint32_t value)
{
    ioapic[IOREGSEL / 4] = reg;
    ioapic[IOWIN / 4] = value;
}

static bool pin_is_level(unsigned pin)
{
    return pin >= ISA_PINS;
}

/* The low dword of `pin`'s redirection entry, masked or not. */
static uint32_t redirection(unsigned pin, bool masked)
{
    uint32_t low = IRQ_VECTOR_BASE + pin;
    if (pin_is_level(pin))
        low |= REDIR_LEVEL | REDIR_ACTIVE_LOW;
    if (masked)
        low |= REDIR_MASKED;
    return low;
}

static void pin_set_masked(unsigned pin, bool masked)
{
    ioapic_write(IOREDTBL(pin), redirection(pin, masked));
}

/* Re-raises `pin`'s vector on this CPU; it is taken once interrupts are
 * enabled again (on the way to user mode or in the idle loop). */
static void replay_edge(unsigned pin)
{
    lapic[LAPIC_ICR_LOW / 4] = ICR_SELF | ICR_ASSERT | (IRQ_VECTOR_BASE + pin);
}

BOOT_CODE void x86_ioapic_init(paddr_t base)
{
    uint32_t id[4];
    ioapic = arch_phys_to_virt(base);
    lapic = arch_phys_to_virt(x86_apic_base());
    cpuid(1, 0, id);
    dest_apic_id = id[1] >> 24; /* CPUID.1 EBX[31:24]: initial APIC ID */
    uint32_t version = ioapic_read(IOAPICVER);
    if (version == 0xFFFFFFFF) {
        kprintf("x86_64: no IOAPIC at 0x%lx: no device interrupts\n", base);
        return;
    }
    unsigned entries = ((version >> 16) & 0xFF) + 1;
    pin_count = entries < MAX_PINS ? entries : MAX_PINS;
    for (unsigned pin = 0; pin < entries; pin++) {
        ioapic_write(IOREDTBL(pin) + 1, dest_apic_id << REDIR_DEST_SHIFT);
        ioapic_write(IOREDTBL(pin), pin < pin_count ? redirection(pin, true) : REDIR_MASKED);
    }
    x86_apic_watch_vectors(IRQ_VECTOR_BASE + pin_count - 1);
    kprintf("x86_64: IOAPIC at 0x%lx: %u pins, vectors 0x%x-0x%x, to APIC ID %u\n", base,
            entries, IRQ_VECTOR_BASE, IRQ_VECTOR_BASE + pin_count - 1, dest_apic_id);
}

/* With an IOMMU, one more line past the pins: its fault events
 * (iommu.c), so that a user-level handler binds them like a device's. */
static bool is_fault_line(unsigned irq)
{
    return irq == pin_count && x86_iommu_on();
}

unsigned arch_irq_count(void)
{
    return pin_count + (x86_iommu_on() ? 1 : 0);
}

bool arch_irq_enable(unsigned irq)
{
    if (is_fault_line(irq)) {
        x86_iommu_line_enable();
        return true;
    }
    if (irq >= pin_count)
        return false;
    pins[irq] = (struct pin){ .enabled = true };
    pin_set_masked(irq, false);
    return true;
}

void arch_irq_disable(unsigned irq)
{
    if (is_fault_line(irq))
        x86_iommu_line_disable();
    if (irq >= pin_count)
        return;
    pin_set_masked(irq, true);
    pins[irq] = (struct pin){ .enabled = false };
}

void arch_irq_ack(unsigned irq)
{
    if (is_fault_line(irq))
        x86_iommu_line_ack();
    if (irq >= pin_count || !pins[irq].enabled || !pins[irq].in_service)
        return;
    struct pin *p = &pins[irq];
    p->in_service = false;
    if (pin_is_level(irq)) {
        pin_set_masked(irq, false);
    } else if (p->replay) {
        p->replay = false;
        replay_edge(irq);
    }
}

bool x86_irq_is_vector(uint64_t vector)
{
    return vector >= IRQ_VECTOR_BASE && vector < IRQ_VECTOR_BASE + pin_count;
}

bool x86_irq_take(uint64_t vector, unsigned *irq)
{
    unsigned pin = (unsigned)(vector - IRQ_VECTOR_BASE);
    struct pin *p = &pins[pin];
    bool report = p->enabled && !p->in_service;
    if (pin_is_level(pin))
        pin_set_masked(pin, true); /* before the EOI: see the top of the file */
    else if (p->enabled && p->in_service)
        p->replay = true;
    x86_apic_eoi();
    if (report) {
        p->in_service = true;
        *irq = pin;
    }
    return report;
}
