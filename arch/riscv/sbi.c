/*
 * Calls into the SBI firmware (RISC-V Supervisor Binary Interface spec
 * v1.0): ecall with the extension id in a7, the function id in a6 and
 * arguments in a0..a5; error in a0 and value in a1 on return. Legacy
 * (v0.1) extensions return only a0.
 */
#include "port.h"

#include "kernel.h"
#include "lib/format.h"

#define SBI_EXT_LEGACY_SET_TIMER 0x00
#define SBI_EXT_LEGACY_PUTCHAR 0x01
#define SBI_EXT_LEGACY_SHUTDOWN 0x08
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45 /* "TIME" */
#define SBI_EXT_SRST 0x53525354 /* "SRST" */
#define SBI_EXT_IPI 0x735049    /* "sPI" */
#define SBI_EXT_HSM 0x48534D    /* "HSM" */
#define SBI_EXT_LEGACY_SEND_IPI 0x04
#define SBI_HSM_HART_START 0

#define SBI_BASE_SPEC_VERSION 0
#define SBI_BASE_IMPL_ID 1
#define SBI_BASE_IMPL_VERSION 2
#define SBI_BASE_PROBE 3

#define SRST_SHUTDOWN 0
#define SRST_REASON_NONE 0
#define SRST_REASON_FAILURE 1

struct sbiret {
    long error;
    long value;
};

static struct {
    unsigned long spec_version; /* major in bits 30:24, minor in 23:0 */
    unsigned long impl_id, impl_version;
    bool has_time, has_srst, has_ipi, has_hsm;
} sbi;

static struct sbiret sbi_call(unsigned long ext, unsigned long fn, unsigned long arg0,
                              unsigned long arg1)
{
    register unsigned long a0 __asm__("a0") = arg0;
    register unsigned long a1 __asm__("a1") = arg1;
    register unsigned long a6 __asm__("a6") = fn;
    register unsigned long a7 __asm__("a7") = ext;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){ (long)a0, (long)a1 };
}

static unsigned long base_call(unsigned long fn, unsigned long arg)
{
    struct sbiret r = sbi_call(SBI_EXT_BASE, fn, arg, 0);
    return r.error ? 0 : (unsigned long)r.value;
}

BOOT_CODE void sbi_init(void)
{
    sbi.spec_version = base_call(SBI_BASE_SPEC_VERSION, 0);
    sbi.impl_id = base_call(SBI_BASE_IMPL_ID, 0);
    sbi.impl_version = base_call(SBI_BASE_IMPL_VERSION, 0);
    sbi.has_time = base_call(SBI_BASE_PROBE, SBI_EXT_TIME) != 0;
    sbi.has_srst = base_call(SBI_BASE_PROBE, SBI_EXT_SRST) != 0;
    sbi.has_ipi = base_call(SBI_BASE_PROBE, SBI_EXT_IPI) != 0;
    sbi.has_hsm = base_call(SBI_BASE_PROBE, SBI_EXT_HSM) != 0;
}

/* HSM hart_start (SBI v1.0, 9.1): the hart begins at physical `start_pa`
 * in S-mode, paging off, with a0 = its hart id and a1 = `opaque`. Returns
 * the SBI error (0: the start is under way), or -2 (SBI_ERR_NOT_SUPPORTED)
 * without HSM. */
long sbi_hart_start(uint64_t hart_id, paddr_t start_pa, uint64_t opaque)
{
    if (!sbi.has_hsm)
        return -2;
    register unsigned long a0 __asm__("a0") = hart_id;
    register unsigned long a1 __asm__("a1") = start_pa;
    register unsigned long a2 __asm__("a2") = opaque;
    register unsigned long a6 __asm__("a6") = SBI_HSM_HART_START;
    register unsigned long a7 __asm__("a7") = SBI_EXT_HSM;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return (long)a0;
}

/* A supervisor software interrupt (sip.SSIP) on hart `hart_id`: the IPI
 * extension's send_ipi(hart_mask, hart_mask_base) (SBI v1.0, 7.1), or the
 * legacy call, which takes the address of a mask of harts 0..63. */
void sbi_send_ipi(uint64_t hart_id)
{
    if (sbi.has_ipi) {
        sbi_call(SBI_EXT_IPI, 0, 1, hart_id);
        return;
    }
    unsigned long mask = hart_id < 64 ? 1ul << hart_id : 0;
    sbi_call(SBI_EXT_LEGACY_SEND_IPI, 0, (unsigned long)&mask, 0);
}

void sbi_console_putchar(char c)
{
    sbi_call(SBI_EXT_LEGACY_PUTCHAR, 0, (unsigned char)c, 0);
}

void sbi_set_timer(uint64_t when)
{
    if (sbi.has_time)
        sbi_call(SBI_EXT_TIME, 0, when, 0);
    else
        sbi_call(SBI_EXT_LEGACY_SET_TIMER, 0, when, 0);
}

void sbi_system_reset(bool failure)
{
    if (sbi.has_srst)
        sbi_call(SBI_EXT_SRST, 0, SRST_SHUTDOWN,
                 failure ? SRST_REASON_FAILURE : SRST_REASON_NONE);
    sbi_call(SBI_EXT_LEGACY_SHUTDOWN, 0, 0, 0);
}

/* ---- Describing the firmware ------------------------------------------ */

struct text {
    char *buf;
    size_t size, len;
};

static void text_sink(char c, void *ctx)
{
    struct text *t = ctx;
    if (t->len + 1 < t->size)
        t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
}

static void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format(text_sink, t, fmt, ap);
    va_end(ap);
}

/* Implementation ids from the SBI spec, chapter 4.9. */
static const char *impl_name(unsigned long id)
{
    static const char *const names[] = { "Berkeley Boot Loader", "OpenSBI", "Xvisor", "KVM",
                                         "RustSBI", "Diosix", "Coffer", "Xen" };
    return id < ARRAY_SIZE(names) ? names[id] : NULL;
}

BOOT_CODE void sbi_describe(char *buf, size_t size)
{
    struct text t = { buf, size, 0 };
    const char *name = impl_name(sbi.impl_id);
    buf[0] = '\0';
    if (name)
        text_printf(&t, "%s", name);
    else
        text_printf(&t, "SBI implementation %lu", sbi.impl_id);
    if (sbi.impl_id == 1) /* OpenSBI: major << 16 | minor */
        text_printf(&t, " %lu.%lu", sbi.impl_version >> 16, sbi.impl_version & 0xFFFF);
    else
        text_printf(&t, " version 0x%lx", sbi.impl_version);
    text_printf(&t, " (SBI %lu.%lu)", (sbi.spec_version >> 24) & 0x7F,
                sbi.spec_version & 0xFFFFFF);
}
