/*
 * Device interrupts on RISC-V: the platform-level interrupt controller
 * (RISC-V PLIC Specification v1.0.0), found in the device tree as
 * "riscv,plic0" or "sifive,plic-1.0.0" (reg, riscv,ndev). Interrupt lines
 * are PLIC sources 1 .. ndev; source 0 means "no interrupt" and is refused.
 *
 * The kernel drives one PLIC context: the boot hart's supervisor one. The
 * PLIC node's interrupts-extended lists one (interrupt controller, cause)
 * entry per context, in context order; ours is the entry that points at
 * the boot hart's "riscv,cpu-intc" with cause 9, the supervisor external
 * interrupt (Privileged 4.1.9). The context's threshold stays 0 and an
 * enabled source has priority 1, so any enabled source interrupts.
 *
 * Masking (the kernel_irq() contract): a claimed source is not forwarded
 * again until its completion (PLIC spec, "Interrupt Gateways"), so the
 * claim taken in plic_claim() is the mask and arch_irq_ack() is the
 * completion. The PLIC ignores a completion for a source that is not
 * enabled for the context, so a claim still open when the line is disabled
 * is completed when the line is enabled again, after its enable bit is set.
 */
#include "plic.h"

#include "bk_fdt.h" /* kernel/parse/bk_fdt.h */
#include "board.h"
#include "kernel.h"
#include "port.h"
#include "riscv.h"

/* Register offsets from the PLIC base (PLIC spec, "Memory Map"). */
#define PLIC_PRIORITY 0x0                          /* 32 bits per source */
#define PLIC_ENABLE(ctx) (0x2000 + 0x80 * (ctx))   /* 1 bit per source */
#define PLIC_CONTEXT(ctx) (0x200000 + 0x1000 * (ctx))
#define CTX_THRESHOLD 0 /* 32-bit words of a context's block */
#define CTX_CLAIM 1     /* read: claim; write: complete */
#define CTX_BYTES 8

#define PLIC_MAX_SOURCES 1024 /* source 0 included */
#define PRIORITY_OFF 0        /* priority 0: never interrupts */
#define PRIORITY_ON 1

/* What plic_find() learned; problem != NULL if no PLIC can be used. */
static struct {
    const char *problem;
    paddr_t base;
    uint64_t size;
    unsigned sources; /* riscv,ndev + 1 */
    unsigned context;
} found = { .problem = "no PLIC in the device tree" };

struct source {
    bool enabled;    /* arch_irq_enable'd and not disabled since */
    bool in_service; /* claimed, not completed yet */
};

static volatile uint32_t *priority; /* priority[n]: source n */
static volatile uint32_t *enable;   /* this context's enable bits */
static volatile uint32_t *context;  /* this context's threshold and claim */
static unsigned source_count;       /* 0 until plic_init() succeeds */
static struct source sources[PLIC_MAX_SOURCES];

/* ---- Finding the PLIC and our context in the device tree -------------- */

static BOOT_CODE const char *find_context(const struct fdt *fdt, int node)
{
    int intc = riscv_board_hart_intc(fdt, this_cpu()->hart_id);
    if (intc == FDT_NONE)
        return "no riscv,cpu-intc for the boot hart in the device tree";
    /* its supervisor external interrupt's context */
    int ctx = riscv_board_irq_index(fdt, node, intc, IRQ_S_EXT);
    if (ctx < 0)
        return "the PLIC's interrupts-extended has no S-mode context for the boot hart";
    found.context = (unsigned)ctx;
    if (found.size < PLIC_CONTEXT(found.context) + CTX_BYTES)
        return "the PLIC's reg is too small for the boot hart's S-mode context";
    return NULL;
}

static BOOT_CODE const char *find_plic(const struct fdt *fdt)
{
    int node = fdt_find_compatible(fdt, FDT_NONE, "riscv,plic0");
    if (node == FDT_NONE)
        node = fdt_find_compatible(fdt, FDT_NONE, "sifive,plic-1.0.0");
    uint32_t ndev;
    if (node == FDT_NONE || !fdt_node_enabled(fdt, node))
        return "no PLIC in the device tree";
    if (!fdt_reg(fdt, node, 0, &found.base, &found.size))
        return "the PLIC node has no usable reg";
    if (!fdt_get_u32(fdt, node, "riscv,ndev", &ndev) || ndev == 0 ||
        ndev >= PLIC_MAX_SOURCES)
        return "the PLIC node's riscv,ndev is missing or not 1..1023";
    found.sources = ndev + 1;
    return find_context(fdt, node);
}

BOOT_CODE void plic_find(const struct fdt *fdt)
{
    found.problem = find_plic(fdt);
}

/* ---- Set-up and interrupt handling --------------------------------------- */

static void set_enabled(unsigned irq, bool on)
{
    uint32_t bit = 1u << (irq % 32);
    if (on)
        enable[irq / 32] |= bit;
    else
        enable[irq / 32] &= ~bit;
}

static void complete(unsigned irq)
{
    context[CTX_CLAIM] = irq;
}

/* Maps the three register blocks the kernel uses (the priorities, this
 * context's enable bits, its threshold and claim), masks every source for
 * this context and opens sie.SEIE. */
BOOT_CODE void plic_init(void)
{
    if (found.problem) {
        kprintf("riscv64: %s: no device interrupts\n", found.problem);
        return;
    }
    unsigned words = (found.sources + 31) / 32;
    priority = paging_map_device(found.base + PLIC_PRIORITY, 4ull * found.sources);
    enable = paging_map_device(found.base + PLIC_ENABLE(found.context), 4ull * words);
    context = paging_map_device(found.base + PLIC_CONTEXT(found.context), CTX_BYTES);
    for (unsigned w = 0; w < words; w++)
        enable[w] = 0;
    for (unsigned s = 1; s < found.sources; s++)
        priority[s] = PRIORITY_OFF;
    context[CTX_THRESHOLD] = 0;
    source_count = found.sources;
    csr_set(sie, SIE_SEIE);
    kprintf("riscv64: PLIC at 0x%llx: sources 1-%u, context %u (hart %lu, S-mode)\n",
            (unsigned long long)found.base, found.sources - 1, found.context,
            this_cpu()->hart_id);
}

unsigned arch_irq_count(void)
{
    return source_count;
}

bool arch_irq_enable(unsigned irq)
{
    if (irq == 0 || irq >= source_count)
        return false;
    struct source *s = &sources[irq];
    /* Priority last: QEMU 7.2's PLIC re-evaluates its output on priority,
     * threshold and claim/complete writes but not on enable writes, so a
     * source already pending would otherwise wait for the next event. */
    set_enabled(irq, true);
    priority[irq] = PRIORITY_ON;
    if (s->in_service) /* a claim left open by arch_irq_disable */
        complete(irq);
    *s = (struct source){ .enabled = true };
    return true;
}

void arch_irq_disable(unsigned irq)
{
    if (irq == 0 || irq >= source_count)
        return;
    set_enabled(irq, false);
    priority[irq] = PRIORITY_OFF; /* also drops SEIP at once under QEMU: see above */
    sources[irq].enabled = false;
}

void arch_irq_ack(unsigned irq)
{
    if (irq == 0 || irq >= source_count || !sources[irq].enabled || !sources[irq].in_service)
        return;
    sources[irq].in_service = false;
    complete(irq);
}

bool plic_claim(unsigned *irq)
{
    if (source_count == 0)
        return false;
    uint32_t id = context[CTX_CLAIM];
    if (id == 0 || id >= source_count)
        return false; /* nothing pending any more (PLIC spec: claim returns 0) */
    struct source *s = &sources[id];
    s->in_service = true;
    if (!s->enabled)
        return false; /* cannot happen: disabled lines are not claimable */
    *irq = id;
    return true;
}
