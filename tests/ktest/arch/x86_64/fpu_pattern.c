/*
 * x86-64 register values for the FPU tests (tests/ktest/fpu_arch.h): the
 * pattern fpu_regs.S fills in, the initial state of a new thread, and a
 * value TCB: WriteFpuRegister must refuse.
 */
#include "../../fpu_arch.h"

/* fpu_regs.S hard-codes these indices. */
_Static_assert(BK_FPU_REG_FCW == 0 && BK_FPU_REG_MXCSR == 4 && BK_FPU_REG_ST0_LO == 5 &&
                   BK_FPU_REG_XMM0_LO == 21 && BK_FPU_REG_YMMH0_LO == 53 &&
                   BK_FPU_REG_COUNT == 85,
               "fpu_regs.S uses the BK_FPU_REG_* order of kernel/abi.toml");

#define FCW_INITIAL 0x37f   /* all x87 exceptions masked, 64-bit precision */
#define MXCSR_INITIAL 0x1f80 /* all SSE exceptions masked, round to nearest */

/* Defined in fpu_regs.S; used by it. */
bool kt_fpu_avx_usable(void);
void kt_fpu_fill_values(uint64_t seed, uint64_t *values);

/* A well-spread 64-bit value for (seed, index): multiply-xorshift rounds. */
static uint64_t mix(uint64_t seed, unsigned index)
{
    uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 31)) * 0xd6e8feb86659fd93ull;
    z = (z ^ (z >> 29)) * 0xc2b2ae3d27d4eb4full;
    return z ^ (z >> 32);
}

bool kt_fpu_pattern(uint64_t seed, unsigned index, uint64_t *value)
{
    uint64_t v = mix(seed, index);
    if (index == BK_FPU_REG_FCW) {
        /* Exceptions stay masked (bits 5-0, and 6 as FNINIT sets it);
         * precision (double or extended: bits 9-8)
         * and rounding (bits 11-10) come from the seed. */
        *value = 0x7f | (0x200 | (v & 1) << 8) | (v >> 1 & 3) << 10;
    } else if (index == BK_FPU_REG_MXCSR) {
        /* Exceptions stay masked; rounding (bits 14-13) and flush to zero
         * (bit 15) come from the seed. */
        *value = MXCSR_INITIAL | (v & 7) << 13;
    } else if (index >= BK_FPU_REG_ST0_LO && index <= BK_FPU_REG_ST7_HI) {
        /* A normal 80-bit number: the mantissa's explicit integer bit set,
         * sign and a biased exponent near 0x3fff from the seed. */
        bool sign_exponent = (index - BK_FPU_REG_ST0_LO) % 2;
        *value = sign_exponent ? (v & 0x8000) | (0x3fff - 0x100 + (v & 0x1ff)) : v | 1ull << 63;
    } else if (index >= BK_FPU_REG_XMM0_LO && index <= BK_FPU_REG_XMM15_HI) {
        *value = v;
    } else if (index >= BK_FPU_REG_YMMH0_LO && index <= BK_FPU_REG_YMMH15_HI) {
        if (!kt_fpu_avx_usable())
            return false;
        *value = v;
    } else {
        return false; /* fsw, ftw, fop: results of the fill, not inputs */
    }
    return true;
}

void kt_fpu_fill_values(uint64_t seed, uint64_t *values)
{
    for (unsigned i = 0; i < BK_FPU_REG_COUNT; i++)
        if (!kt_fpu_pattern(seed, i, &values[i]))
            values[i] = 0;
}

uint64_t kt_fpu_initial(unsigned index)
{
    /* The x87 stack is empty: tag word 0 in FXSAVE's abridged form. */
    if (index == BK_FPU_REG_FCW)
        return FCW_INITIAL;
    return index == BK_FPU_REG_MXCSR ? MXCSR_INITIAL : 0;
}

void kt_fpu_bad_value(unsigned *index, uint64_t *value)
{
    /* MXCSR bits 31-16 are reserved on every CPU: loading them is #GP. */
    *index = BK_FPU_REG_MXCSR;
    *value = MXCSR_INITIAL | 1u << 16;
}
