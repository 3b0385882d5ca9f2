/*
 * Per-thread x87, SSE and AVX state, switched lazily.
 *
 * Each thread's FPU state has a home in its arch_regs_t (the area `fpu`,
 * in XSAVE's standard layout), but the CPU keeps the state of one thread,
 * its fpu_owner, live in its registers, and copies it home only when the
 * registers are needed for another thread or TCB: ReadFpuRegister asks.
 * CR0.TS makes every x87, SSE and AVX instruction raise #NM (device not
 * available; Intel SDM vol. 3, 2.5 and 13.4), so TS stays set except while
 * the owner runs. On every way to user mode for thread T
 * (x86_fpu_prepare_exit() in x86.h, then x86_fpu_switch() here):
 *  - T is not known to use the FPU: TS set. Its first FPU instruction
 *    raises #NM, which saves the owner's state, loads T's, makes T the
 *    owner and marks it an FPU user; the instruction then runs again.
 *  - T owns the live state: TS clear.
 *  - T is known to use the FPU, another thread owns the registers: the
 *    owner's state is saved and T's loaded at once, as T will likely use
 *    it again (a #NM round trip costs more than the load).
 * "Known" decays: after the FPU was turned on FPU_EAGER_LOADS times for T
 * ahead of use (by a load, or by clearing TS for the owner), T goes back
 * to the first case and must raise #NM again. Compiled user code touches
 * SSE registers in passing (a vectorised memset at startup), and without
 * the decay such a thread would cost a save and a load at every switch
 * forever. Threads not using the FPU never save or load any FPU state,
 * and IPC between them pays one compare per direction
 * (arch_regs_t.fpu_self).
 *
 * The kernel itself is built with -mgeneral-regs-only: the saves and loads
 * here are its only FPU instructions.
 *
 * With several CPUs a thread's state is live only in the CPU whose current
 * thread it is (kernel/arch.h, arch_fpu_release()): each SMP exit drops an
 * owner other than the thread it resumes (x86_fpu_release_others()), and a
 * CPU that gives up its current thread otherwise (moved away, stopped or
 * read by another CPU, which then syncs with it first) stores it home. So
 * the thread's TCB holds its values whenever another CPU may run, read or
 * free it, and arch_regs_release() need only look at this CPU.
 */
#include "x86.h"

/* ---- The area: byte offsets of the legacy region (Intel SDM vol. 1, table
 * 10-2, the 64-bit layout FXSAVE64/XSAVE64 write) and of the XSAVE header
 * (SDM vol. 1, 13.4.2). */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4 /* abridged tag: one bit per register, 1 = valid */
#define FX_FOP 6
#define FX_FIP 8
#define FX_FDP 16
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_ST0 32   /* st0..st7, 16 bytes each: 64-bit mantissa, 16-bit sign+exponent */
#define FX_XMM0 160 /* xmm0..xmm15, 16 bytes each */
#define LEGACY_SIZE 512
#define XSTATE_BV 512 /* header: which components the area holds (others are initial) */
#define AVX_SIZE 256  /* ymm0..ymm15 bits 255:128, 16 bytes each */

/* Initial values (SDM vol. 1, 8.1.5 for FNINIT's FCW; 10.2.3 for MXCSR),
 * which are also the SysV ABI's: round to nearest, all exceptions masked,
 * 64-bit x87 precision. */
#define FCW_INITIAL 0x37F
#define MXCSR_INITIAL 0x1F80
/* SDM vol. 1, 11.6.6: a zero MXCSR_MASK in the FXSAVE image means this one. */
#define MXCSR_MASK_DEFAULT 0xFFBF

/* Times the FPU is turned on for a thread ahead of use per #NM (see the
 * top of the file). A thread using the FPU at every switch pays one #NM
 * per this many switches; one that stopped pays at most this many
 * needless saves and loads. */
#define FPU_EAGER_LOADS 32

/* Register indices: kernel/abi.toml [arch.x86_64].fpu_registers. */
enum {
    FPU_REG_FCW,
    FPU_REG_FSW,
    FPU_REG_FTW,
    FPU_REG_FOP,
    FPU_REG_MXCSR,
    FPU_REG_ST0,                        /* st0_lo, st0_hi, ..., st7_hi */
    FPU_REG_XMM0 = FPU_REG_ST0 + 2 * 8, /* xmm0_lo, xmm0_hi, ..., xmm15_hi */
    FPU_REG_YMMH0 = FPU_REG_XMM0 + 2 * 16,
    FPU_REG_COUNT = FPU_REG_YMMH0 + 2 * 16,
};

/* XSAVE state components (the bit numbers of XCR0 and XSTATE_BV); MXCSR
 * belongs to none for our purposes: XSAVE always stores it and XRSTOR
 * always loads it when SSE or AVX is requested (SDM vol. 1, 13.7, 13.8). */
enum fpu_component { COMP_X87 = 0, COMP_SSE = 1, COMP_AVX = 2, COMP_NONE = 8 };

enum fpu_save_insn { SAVE_FXSAVE, SAVE_XSAVE, SAVE_XSAVEOPT };

/* What boot chose; the same for every thread. */
static struct {
    enum fpu_save_insn save;
    uint64_t xcr0;       /* 0 without XSAVE */
    uint32_t state_size; /* bytes of the area the save instruction writes */
    uint32_t mxcsr_mask; /* MXCSR bits the CPU accepts */
    uint32_t avx_offset; /* of ymm0's upper half, when xcr0 has AVX */
} fpu;

static uint64_t area_get(const struct x86_fpu_area *a, unsigned offset, unsigned size)
{
    uint64_t v = 0;
    __builtin_memcpy(&v, a->bytes + offset, size); /* little-endian */
    return v;
}

static void area_put(struct x86_fpu_area *a, unsigned offset, unsigned size, uint64_t v)
{
    __builtin_memcpy(a->bytes + offset, &v, size);
}

/* ---- Instructions -------------------------------------------------------- */

/* Stores the live state into `a`. XSAVEOPT may skip components that are in
 * their initial configuration or unchanged since the XRSTOR that loaded
 * them from `a` (SDM vol. 1, 13.9): only the owner's own area is ever
 * saved to, and the kernel changes an area only once the state is no
 * longer live (fpu_forget()), so `a` always holds what was skipped. */
static void fpu_save(struct x86_fpu_area *a)
{
    uint32_t lo = (uint32_t)fpu.xcr0, hi = (uint32_t)(fpu.xcr0 >> 32);
    if (fpu.save == SAVE_XSAVEOPT)
        __asm__ volatile("xsaveopt64 %0" : "+m"(*a) : "a"(lo), "d"(hi));
    else if (fpu.save == SAVE_XSAVE)
        __asm__ volatile("xsave64 %0" : "+m"(*a) : "a"(lo), "d"(hi));
    else
        __asm__ volatile("fxsave64 %0" : "=m"(*a));
}

/* Loads the state in `a`. The area's MXCSR never has bits outside
 * mxcsr_mask (arch_fpu_reg_set() refuses them), which would raise #GP. */
static void fpu_restore(const struct x86_fpu_area *a)
{
    uint32_t lo = (uint32_t)fpu.xcr0, hi = (uint32_t)(fpu.xcr0 >> 32);
    if (fpu.save == SAVE_FXSAVE)
        __asm__ volatile("fxrstor64 %0" : : "m"(*a));
    else
        __asm__ volatile("xrstor64 %0" : : "m"(*a), "a"(lo), "d"(hi));
}

/* CR0.TS clear, with `owner` recorded as the thread it is clear for. */
static void ts_clear(struct x86_cpu *cpu, arch_regs_t *owner)
{
    if (!cpu->fpu_enabled)
        __asm__ volatile("clts");
    cpu->fpu_enabled = owner;
}

/* CR0.TS set: the next FPU instruction in user mode raises #NM. */
static void ts_set(struct x86_cpu *cpu)
{
    if (cpu->fpu_enabled)
        write_cr0(read_cr0() | CR0_TS);
    cpu->fpu_enabled = NULL;
}

/* ---- Switching ------------------------------------------------------------- */

/* A thread that never had FPU state stored gets the ABI's initial one. With
 * XSTATE_BV = 0 XRSTOR puts every component in its initial configuration
 * (SDM vol. 1, 13.6: FCW 0x37F, all else 0) and loads MXCSR from the area;
 * FXRSTOR loads the explicit values. */
static void area_make_valid(arch_regs_t *regs)
{
    if (regs->fpu_valid)
        return;
    memset(&regs->fpu, 0, sizeof(regs->fpu));
    area_put(&regs->fpu, FX_FCW, 2, FCW_INITIAL);
    area_put(&regs->fpu, FX_MXCSR, 4, MXCSR_INITIAL);
    regs->fpu_valid = true;
}

/* Moves the owner's live state home and loads `next`'s: next becomes the
 * owner, with TS clear. */
static void fpu_take(struct x86_cpu *cpu, arch_regs_t *next)
{
    ts_clear(cpu, next); /* XSAVE and XRSTOR themselves raise #NM with TS set */
    if (cpu->fpu_owner)
        fpu_save(&cpu->fpu_owner->fpu);
    area_make_valid(next);
    fpu_restore(&next->fpu);
    cpu->fpu_owner = next;
}

/* The slow side of x86_fpu_prepare_exit(): `next` is about to run and the
 * cached TS does not fit it. */
void x86_fpu_switch(struct x86_cpu *cpu, arch_regs_t *next)
{
    if (next->fpu_self && !next->fpu_eager_loads)
        next->fpu_self = NULL; /* lazy again: must raise #NM to get the FPU */
    if (!next->fpu_self) {
        ts_set(cpu); /* the owner's state stays live */
        return;
    }
    next->fpu_eager_loads--;
    if (cpu->fpu_owner == next)
        ts_clear(cpu, next);
    else
        fpu_take(cpu, next);
}

/* #NM from user mode: the current thread's first FPU instruction since it
 * started, or since it went lazy. Nothing is reported to anyone: once it
 * owns the FPU, the instruction runs again. */
void x86_fpu_device_not_available(struct x86_cpu *cpu, arch_regs_t *regs)
{
    regs->fpu_self = regs; /* known to use the FPU: loaded ahead of use */
    regs->fpu_eager_loads = FPU_EAGER_LOADS;
    if (cpu->fpu_owner == regs)
        ts_clear(cpu, regs);
    else
        fpu_take(cpu, regs);
}

/* If `regs`'s state is live in this CPU, copies it home; it stays live. */
static void save_if_live(arch_regs_t *regs)
{
    struct x86_cpu *cpu = x86_this_cpu();
    if (cpu->fpu_owner != regs)
        return;
    ts_clear(cpu, regs);
    fpu_save(&regs->fpu);
}

/* No CPU holds `regs`'s state live any more: the thread, if it runs
 * again, loads its area. */
static void fpu_forget(arch_regs_t *regs)
{
    struct x86_cpu *cpu = x86_this_cpu();
    if (cpu->fpu_owner != regs)
        return;
    cpu->fpu_owner = NULL;
    ts_set(cpu);
}

void arch_fpu_release(void)
{
    struct x86_cpu *cpu = x86_this_cpu();
    arch_regs_t *owner = cpu->fpu_owner;
    if (!owner)
        return;
    ts_clear(cpu, owner); /* XSAVE itself raises #NM with TS set */
    fpu_save(&owner->fpu);
    cpu->fpu_owner = NULL;
    ts_set(cpu);
}

void arch_regs_release(arch_regs_t *regs)
{
    fpu_forget(regs);
    regs->fpu_self = NULL;
    regs->fpu_valid = false;
}

/* ---- Registers by index ------------------------------------------------- */

/* Where register `index` is stored in the area and which component holds it. */
struct fpu_reg_place {
    unsigned offset, size;
    enum fpu_component component;
};

static struct fpu_reg_place fpu_reg_place(unsigned index)
{
    static const struct fpu_reg_place control[FPU_REG_ST0] = {
        [FPU_REG_FCW] = { FX_FCW, 2, COMP_X87 },
        [FPU_REG_FSW] = { FX_FSW, 2, COMP_X87 },
        [FPU_REG_FTW] = { FX_FTW, 1, COMP_X87 },
        [FPU_REG_FOP] = { FX_FOP, 2, COMP_X87 },
        [FPU_REG_MXCSR] = { FX_MXCSR, 4, COMP_NONE },
    };
    if (index < FPU_REG_ST0)
        return control[index];
    if (index < FPU_REG_XMM0) { /* st(n / 2): mantissa (n even), sign+exponent (n odd) */
        unsigned n = index - FPU_REG_ST0;
        return (struct fpu_reg_place){ FX_ST0 + 16 * (n / 2) + 8 * (n % 2), n % 2 ? 2 : 8,
                                       COMP_X87 };
    }
    if (index < FPU_REG_YMMH0)
        return (struct fpu_reg_place){ FX_XMM0 + 8 * (index - FPU_REG_XMM0), 8, COMP_SSE };
    return (struct fpu_reg_place){ fpu.avx_offset + 8 * (index - FPU_REG_YMMH0), 8, COMP_AVX };
}

static uint64_t initial_value(unsigned index)
{
    return index == FPU_REG_FCW ? FCW_INITIAL : index == FPU_REG_MXCSR ? MXCSR_INITIAL : 0;
}

/* True if the area says `component` is in its initial configuration, its
 * bytes there being meaningless (XSAVE cleared its XSTATE_BV bit). */
static bool component_is_initial(const struct x86_fpu_area *a, enum fpu_component component)
{
    if (fpu.save == SAVE_FXSAVE || component == COMP_NONE)
        return false;
    return !(area_get(a, XSTATE_BV, 8) & (1ull << component));
}

/* Writes out a component the area holds as "initial", so that one of its
 * registers can be changed: x87 is bytes 0-23 (FCW 0x37F, the rest 0) and
 * the st registers, SSE the xmm registers. */
static void component_make_explicit(struct x86_fpu_area *a, enum fpu_component component)
{
    if (!component_is_initial(a, component))
        return;
    if (component == COMP_X87) {
        memset(a->bytes, 0, FX_MXCSR);
        memset(a->bytes + FX_ST0, 0, FX_XMM0 - FX_ST0);
        area_put(a, FX_FCW, 2, FCW_INITIAL);
    } else if (component == COMP_SSE) {
        memset(a->bytes + FX_XMM0, 0, 16 * 16);
    } else {
        memset(a->bytes + fpu.avx_offset, 0, AVX_SIZE);
    }
    area_put(a, XSTATE_BV, 8, area_get(a, XSTATE_BV, 8) | 1ull << component);
}

static bool avx_enabled(void)
{
    return fpu.xcr0 & XCR0_AVX;
}

/* Values the CPU would not take: MXCSR bits outside MXCSR_MASK (FXRSTOR
 * and XRSTOR raise #GP; SDM vol. 1, 11.6.6), anything wider than the field,
 * and non-zero ymm upper halves when AVX is off. */
static bool fpu_value_ok(unsigned index, uint64_t value)
{
    if (index == FPU_REG_MXCSR)
        return !(value & ~(uint64_t)fpu.mxcsr_mask);
    if (index >= FPU_REG_YMMH0 && !avx_enabled())
        return value == 0;
    unsigned size = fpu_reg_place(index).size;
    return size == 8 || value >> (8 * size) == 0;
}

unsigned arch_fpu_regs_count(void)
{
    return FPU_REG_COUNT;
}

uint64_t arch_fpu_reg_get(arch_regs_t *regs, unsigned index)
{
    if (index >= FPU_REG_COUNT || (index >= FPU_REG_YMMH0 && !avx_enabled()))
        return 0;
    save_if_live(regs);
    struct fpu_reg_place p = fpu_reg_place(index);
    if (!regs->fpu_valid || component_is_initial(&regs->fpu, p.component))
        return initial_value(index);
    return area_get(&regs->fpu, p.offset, p.size);
}

bool arch_fpu_reg_set(arch_regs_t *regs, unsigned index, uint64_t value)
{
    if (index >= FPU_REG_COUNT || !fpu_value_ok(index, value))
        return false;
    if (index >= FPU_REG_YMMH0 && !avx_enabled())
        return true; /* 0, as it reads */
    save_if_live(regs);
    fpu_forget(regs); /* the thread loads the changed area when it runs */
    area_make_valid(regs);
    struct fpu_reg_place p = fpu_reg_place(index);
    component_make_explicit(&regs->fpu, p.component);
    area_put(&regs->fpu, p.offset, p.size, value);
    return true;
}

/* ---- Boot ------------------------------------------------------------------- */

static BOOT_CODE void xsetbv(uint32_t xcr, uint64_t value)
{
    __asm__ volatile("xsetbv" : : "c"(xcr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

/* XSAVE: enables x87, SSE and, if the CPU has it, AVX in XCR0 (never
 * more: the area holds only these; SDM vol. 1, 13.3), then checks that
 * what XSAVE writes for them fits the area. */
static BOOT_CODE void xsave_init(bool has_avx)
{
    uint32_t r[4];
    cpuid(0xD, 0, r); /* EAX: the XCR0 bits the CPU supports (SDM vol. 1, 13.2) */
    uint64_t wanted = XCR0_X87 | XCR0_SSE | (has_avx ? XCR0_AVX : 0);
    fpu.xcr0 = wanted & r[0];
    write_cr4(read_cr4() | CR4_OSXSAVE);
    xsetbv(0, fpu.xcr0);
    cpuid(0xD, 0, r); /* EBX: the area size for the XCR0 now set */
    fpu.state_size = r[1];
    if (fpu.state_size > sizeof(struct x86_fpu_area))
        panic("x86_64: fpu: XSAVE needs %u bytes for xcr0 0x%lx, the per-thread area has %zu",
              fpu.state_size, fpu.xcr0, sizeof(struct x86_fpu_area));
    if (fpu.xcr0 & XCR0_AVX) {
        cpuid(0xD, COMP_AVX, r); /* EAX: its size, EBX: its offset */
        fpu.avx_offset = r[1];
        if (r[0] != AVX_SIZE || r[1] < LEGACY_SIZE + 64 ||
            r[1] + r[0] > sizeof(struct x86_fpu_area))
            panic("x86_64: fpu: AVX state at %u, %u bytes: outside the per-thread area",
                  r[1], r[0]);
    }
    cpuid(0xD, 1, r);
    fpu.save = (r[0] & 1) ? SAVE_XSAVEOPT : SAVE_XSAVE; /* EAX[0]: XSAVEOPT */
}

/* An AP: the boot CPU's XCR0 (CR4.OSXSAVE came with the boot CPU's CR4),
 * so that the FPU switch's XSAVE and XRSTOR work there too. */
BOOT_CODE void x86_fpu_init_ap(void)
{
    if (fpu.xcr0)
        xsetbv(0, fpu.xcr0);
}

/* The MXCSR bits this CPU takes, from an FXSAVE image (SDM vol. 1, 11.6.6). */
static BOOT_CODE void read_mxcsr_mask(void)
{
    struct x86_fpu_area probe;
    memset(&probe, 0, sizeof(probe));
    __asm__ volatile("fxsave64 %0" : "=m"(probe));
    uint32_t mask = (uint32_t)area_get(&probe, FX_MXCSR_MASK, 4);
    fpu.mxcsr_mask = mask ? mask : MXCSR_MASK_DEFAULT;
}

/* Lets user code use the FPU: CR0.EM clear (no emulation), MP set (WAIT
 * honours TS), NE set (x87 errors raise #MF; SDM vol. 3, 2.5); CR4.OSFXSR
 * (SSE on, FXSAVE saves it) and OSXMMEXCPT (#XM for SSE errors; SDM vol.
 * 3, 13.1); XSAVE with XCR0 when the CPU has it. Ends with TS set and no
 * owner: each thread's state is loaded on its first FPU instruction. */
BOOT_CODE void x86_fpu_init(void)
{
    struct x86_cpu *cpu = x86_this_cpu();
    uint32_t r[4];
    cpuid(1, 0, r);
    /* EDX[24] FXSR, [25] SSE, [26] SSE2: part of every x86-64 CPU. */
    if ((r[3] & (7u << 24)) != (7u << 24))
        panic("x86_64: fpu: CPUID 1 EDX 0x%x lacks FXSR, SSE or SSE2", r[3]);
    write_cr0((read_cr0() | CR0_MP | CR0_NE) & ~(uint64_t)(CR0_EM | CR0_TS));
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    fpu.save = SAVE_FXSAVE;
    fpu.state_size = LEGACY_SIZE;
    if (r[2] & (1u << 26)) /* ECX[26] XSAVE, [28] AVX */
        xsave_init(r[2] & (1u << 28));
    read_mxcsr_mask();
    write_cr0(read_cr0() | CR0_TS);
    cpu->fpu_owner = cpu->fpu_enabled = NULL;
}

/* One line for the boot log: how FPU state is saved, and how much. */
BOOT_CODE void x86_fpu_describe(void)
{
    static const char *const insn[] = { "fxsave", "xsave", "xsaveopt" };
    kprintf("x86_64: fpu: %s", insn[fpu.save]);
    if (fpu.xcr0)
        kprintf(", xcr0 0x%lx (x87 sse%s)", fpu.xcr0, avx_enabled() ? " avx" : "");
    else
        kprintf(" (x87 sse)");
    kprintf(", %u-byte state, mxcsr mask 0x%x, lazy switching\n", fpu.state_size,
            fpu.mxcsr_mask);
}
