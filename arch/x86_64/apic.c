/*
 * Interrupt hardware: the legacy 8259 PICs (remapped, then masked for
 * good), the local APIC in xAPIC mode (MMIO page, mapped uncached in the
 * physmap), and its timer, calibrated together with the TSC against PIT
 * channel 2 and programmed by timer.c (one-shot or TSC-deadline mode).
 * Also arch_idle_wait() and the pending interrupts the kernel's long
 * operations poll for (arch_interrupt_pending()). (x2APIC is absent under
 * QEMU 7.2 TCG, hence xAPIC.)
 */
#include "x86.h"

/* Local APIC registers, byte offsets in its 4 KiB page (Intel SDM vol. 3,
 * table 11-1). */
#define LAPIC_ID 0x020  /* bits 31:24 in xAPIC mode */
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_IRR 0x200 /* 8 registers 0x10 apart: bit v % 32 of register v / 32 */
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LOW 0x300  /* writing it sends the interrupt */
#define LAPIC_ICR_HIGH 0x310 /* bits 31:24: destination APIC ID */
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3E0

#define APIC_BASE_ENABLE (1ull << 11) /* IA32_APIC_BASE bit 11: global enable */
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_TSC_DEADLINE (2u << 17) /* timer mode, bits 18:17 (SDM vol. 3, 11.5.1) */
#define TIMER_DIVIDE_16 0x3 /* divide configuration 0b0011 */

/* Interrupt command register, low dword (SDM vol. 3, 11.6.1): delivery
 * mode in bits 10:8, bit 12 send pending, bit 14 level assert. */
#define ICR_FIXED (0u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_SEND_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)

/* 8259 PIC ports and initialisation words (Intel 8259A datasheet). */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1

/* PIT (8254): 1.193182 MHz input; channel 2's gate and output are bits 0
 * and 5 of port 0x61. */
#define PIT_HZ 1193182u
#define PIT_CMD 0x43
#define PIT_CH2 0x42
#define PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20
#define CALIBRATE_MS 10

static volatile uint32_t *lapic;
static uint64_t timer_rate; /* APIC timer ticks per second after the divider */
/* The last IRR register that holds vectors the kernel takes: the APIC
 * timer's and, from x86_apic_watch_vectors(), the device lines'. */
_Static_assert(VECTOR_TIMER / 32 == 2, "arch_interrupt_pending() reads IRR registers 2 and 3");
static unsigned irr_last = 3;

static inline uint32_t lapic_read(unsigned reg)
{
    return lapic[reg / 4];
}

static inline void lapic_write(unsigned reg, uint32_t value)
{
    lapic[reg / 4] = value;
}

uint64_t x86_apic_base(void)
{
    return rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK;
}

void x86_apic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

/* Remaps the PICs to vectors 0x20..0x2f (so a spurious IRQ 7/15 cannot look
 * like an exception) and masks every line: the local APIC takes over. */
static BOOT_CODE void pic_disable(void)
{
    outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, VECTOR_PIC_BASE);     /* ICW2: vector base */
    outb(PIC2_DATA, VECTOR_PIC_BASE + 8);
    outb(PIC1_DATA, 0x04); /* ICW3: slave on IRQ 2 */
    outb(PIC2_DATA, 0x02); /* ICW3: slave identity */
    outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xFF); /* OCW1: mask all */
    outb(PIC2_DATA, 0xFF);
}

struct calibration {
    uint64_t apic_hz, tsc_hz; /* both 0: no PIT */
};

/* One PIT interval as the TSC saw it. Each end is known only between two
 * TSC reads: the gate's rise between the reads around its port write, the
 * output's rise between the last read that found it low and the one after
 * the read that found it high. On a busy host the vCPU thread can be
 * descheduled inside either bracket (QEMU's TSC and PIT follow host time
 * without -icount), which once made the rate 25 % too high and the guest's
 * clock that much slow; `doubt` is the bracket widths, so a bad interval is
 * seen and measured again. */
struct pit_interval {
    uint64_t tsc;   /* TSC counts from the middle of one bracket to the other's */
    uint64_t doubt; /* the two brackets' widths together */
    uint64_t apic;  /* APIC timer counts between two reads beside TSC reads */
    uint64_t apic_tsc; /* TSC counts between those two reads */
};

#define CALIBRATE_TRIES 8
/* An interval whose ends are known to 1/2000 of its length is kept at once. */
#define CALIBRATE_GOOD_DOUBT 2000

/* Runs PIT channel 2 in mode 0 (output rises at terminal count) for
 * `pit_count` input clocks; false if its output does not behave (no PIT,
 * e.g. -M microvm: high at once, or never). */
static BOOT_CODE bool pit_measure(uint32_t pit_count, struct pit_interval *iv)
{
    uint8_t port_b = inb(PORT_B);
    outb(PORT_B, port_b & ~(PORT_B_GATE2 | PORT_B_SPEAKER)); /* gate low */
    outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH2, pit_count & 0xFF);
    outb(PIT_CH2, pit_count >> 8);
    lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VECTOR_TIMER);
    lapic_write(LAPIC_TIMER_INITIAL, 0xFFFFFFFF);

    uint64_t gate_before = rdtsc();
    outb(PORT_B, (port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2); /* count from here */
    uint64_t gate_after = rdtsc();
    uint32_t apic_start = lapic_read(LAPIC_TIMER_CURRENT);
    bool present = !(inb(PORT_B) & PORT_B_OUT2), done = false;
    uint64_t seen_low = gate_after, seen_high = 0;
    for (uint32_t spins = 0; present && !done && spins < 100000000; spins++) {
        uint64_t t = rdtsc();
        done = inb(PORT_B) & PORT_B_OUT2;
        if (done)
            seen_high = rdtsc();
        else
            seen_low = t;
    }
    uint32_t apic_end = lapic_read(LAPIC_TIMER_CURRENT);
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    outb(PORT_B, port_b);
    if (!done)
        return false;
    iv->tsc = (seen_low + seen_high) / 2 - (gate_before + gate_after) / 2;
    iv->doubt = (seen_high - seen_low) + (gate_after - gate_before);
    iv->apic = apic_start - apic_end;
    iv->apic_tsc = seen_high - gate_after;
    return true;
}

/* Measures CALIBRATE_MS of PIT time with the TSC, again while the ends'
 * doubt is more than 1/CALIBRATE_GOOD_DOUBT of it (up to CALIBRATE_TRIES),
 * keeping the surest. The APIC timer's rate follows from the TSC's, both
 * read side by side. Zeros if there is no PIT. */
static BOOT_CODE struct calibration timer_calibrate(void)
{
    const uint32_t pit_count = PIT_HZ / (1000 / CALIBRATE_MS);
    struct pit_interval best = { 0 }, iv;
    unsigned tries = 0;
    while (tries < CALIBRATE_TRIES && pit_measure(pit_count, &iv)) {
        tries++;
        if (best.tsc == 0 || iv.doubt < best.doubt)
            best = iv;
        if (best.doubt * CALIBRATE_GOOD_DOUBT <= best.tsc)
            break;
    }
    if (best.tsc == 0 || best.apic_tsc == 0)
        return (struct calibration){ 0, 0 };
    if (tries > 1)
        kprintf("x86_64: clock calibration: %u tries (the host held the CPU back); the "
                "surest interval is known to %lu of %lu TSC counts\n",
                tries, best.doubt, best.tsc);
    /* No overflow below 15 THz (TSC) and, for the APIC, below 10 GHz with
     * a TSC below 100 GHz: a rate beyond that is not a timer's. */
    uint64_t apic_hz = (uint64_t)best.apic * PIT_HZ / pit_count;
    if (apic_hz > 10000000000ull)
        return (struct calibration){ 0, 0 };
    return (struct calibration){
        .apic_hz = apic_hz * best.tsc / best.apic_tsc,
        .tsc_hz = best.tsc * PIT_HZ / pit_count,
    };
}

/* Enabled, the spurious vector set, LINT0 and errors masked, no priority
 * threshold: on every CPU. */
static BOOT_CODE void lapic_enable(void)
{
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE);
    lapic_write(LAPIC_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED); /* ExtINT from the (masked) PIC */
    lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
    lapic_write(LAPIC_ESR, 0); /* ESR is cleared by back-to-back writes */
    lapic_write(LAPIC_ESR, 0);
    x86_apic_eoi();
}

BOOT_CODE void x86_apic_init_ap(void)
{
    lapic_enable();
}

uint32_t x86_apic_id(void)
{
    return lapic_read(LAPIC_ID) >> 24;
}

/* Writes the ICR (destination first: the low dword's write sends) and
 * waits until the APIC has sent it. */
static void icr_send(uint32_t apic_id, uint32_t low)
{
    lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
    lapic_write(LAPIC_ICR_LOW, low);
    while (lapic_read(LAPIC_ICR_LOW) & ICR_SEND_PENDING)
        __asm__ volatile("pause");
}

void x86_apic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    icr_send(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

static BOOT_CODE void delay_us(uint64_t us)
{
    uint64_t end = arch_time_ns() + us * 1000;
    while (arch_time_ns() < end)
        __asm__ volatile("pause");
}

/* The universal start-up algorithm (SDM vol. 3, 9.4.4.1; MP spec B.4):
 * INIT, 10 ms, STARTUP, 200 us, STARTUP. A CPU that started on the first
 * STARTUP ignores the second (it is no longer waiting for one). */
BOOT_CODE void x86_apic_start_cpu(uint32_t apic_id, uint8_t page)
{
    icr_send(apic_id, ICR_INIT | ICR_ASSERT);
    delay_us(10000);
    icr_send(apic_id, ICR_STARTUP | page);
    delay_us(200);
    icr_send(apic_id, ICR_STARTUP | page);
}

/* Enables the local APIC with everything masked but the spurious vector,
 * calibrates its timer and records it in `bp`; returns the TSC rate. The
 * APIC page must already be in the physmap (uncached): early.c lists it
 * as a device. */
BOOT_CODE uint64_t x86_apic_init(struct boot_params *bp)
{
    pic_disable();
    lapic = arch_phys_to_virt(x86_apic_base());
    lapic_enable();

    struct calibration cal = timer_calibrate();
    timer_rate = cal.apic_hz;
    if (timer_rate < 1000000) {
        kprintf("x86_64: APIC timer calibration failed (%lu Hz), assuming 100 MHz / 16\n",
                timer_rate);
        timer_rate = 100000000 / 16;
    }
    bp->timer_hz = timer_rate;
    return cal.tsc_hz;
}

/* In xAPIC mode the MMIO write that selects TSC-deadline mode and a later
 * WRMSR to IA32_TSC_DEADLINE may pass each other unless an MFENCE sits
 * between them (SDM vol. 3, 11.5.4.1). */
BOOT_CODE void x86_apic_timer_mode(bool tsc_deadline)
{
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_16);
    lapic_write(LAPIC_LVT_TIMER, (tsc_deadline ? LVT_TIMER_TSC_DEADLINE : 0) | VECTOR_TIMER);
    __asm__ volatile("mfence" ::: "memory");
}

void x86_apic_timer_count(uint32_t count)
{
    lapic_write(LAPIC_TIMER_INITIAL, count); /* starts counting down; 0 stops */
}

BOOT_CODE void x86_apic_watch_vectors(unsigned last)
{
    if (last / 32 > irr_last)
        irr_last = last / 32;
}

/* The IRR holds the interrupts the APIC accepted and the CPU has not taken
 * yet: with interrupts off, exactly those the way to user mode would take
 * (SDM vol. 3, 11.8.4). The 8259 vectors (masked) and the spurious vector
 * (never in the IRR) are not looked at. Registers 2 and 3 (vectors 0x40 to
 * 0x7f: the timer and 48 device lines, q35 has 24) are read always, two
 * uncached reads and no loop: long operations call this after every
 * step. */
bool arch_interrupt_pending(void)
{
    uint32_t any = lapic_read(LAPIC_IRR + 0x20) | lapic_read(LAPIC_IRR + 0x30);
    for (unsigned r = 4; r <= irr_last; r++)
        any |= lapic_read(LAPIC_IRR + r * 0x10);
    return any != 0;
}

/* sti takes effect after the next instruction (SDM vol. 2, STI): the nop
 * is the one instant in which the pending interrupts are delivered, on
 * this stack, to x86_trap_from_kernel(), which returns. */
void arch_take_pending_interrupts(void)
{
    __asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
}

/* The timer's interrupt is taken in the window as the others are (only
 * that empties its IRR bit), but x86_trap_from_kernel() notes it instead
 * of serving it. */
bool arch_take_pending_interrupts_but_timer(void)
{
    struct x86_cpu *c = x86_this_cpu();
    c->timer_noted = false;
    c->timer_noting = true;
    arch_take_pending_interrupts();
    c->timer_noting = false;
    return c->timer_noted;
}

void arch_idle_wait(void)
{
    /* sti delays interrupts by one instruction, so none can slip in
     * between sti and hlt and leave the CPU asleep (SDM vol. 2, STI). The
     * handler runs on this stack and returns after hlt. */
    __asm__ volatile("sti\n\thlt\n\tcli" : : : "memory");
}
