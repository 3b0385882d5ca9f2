/*
 * RISC-V values for the FPU tests (tests/ktest/fpu_arch.h): f0..f31 take
 * any 64-bit pattern (fld and fsd move the bits unchanged); fcsr takes frm
 * 0..4 (5-7 are refused by TCB: WriteFpuRegister) and any fflags, and
 * nothing above bit 7.
 */
#include "../../fpu_arch.h"

#include <stddef.h>

/* fpu_regs.S addresses these by number. */
_Static_assert(BK_FPU_REG_COUNT == 33 && BK_FPU_REG_FCSR == 32, "fpu_regs.S: f0..f31, then fcsr");
_Static_assert(offsetof(struct kt_fpu_dump_entry_arg, next) == 33 * 8, "fpu_regs.S: DUMP_NEXT");

/* Multiplying by an odd constant is a bijection on 64-bit words, so two
 * seeds never give one register the same value; the per-index term makes
 * the registers of one seed differ from each other. fcsr: frm from the
 * seed modulo 5 (valid modes only), fflags from its low bits. */
bool kt_fpu_pattern(uint64_t seed, unsigned index, uint64_t *value)
{
    if (index > BK_FPU_REG_FCSR)
        return false;
    if (index == BK_FPU_REG_FCSR)
        *value = (seed % 5) << 5 | (seed & 0x1f);
    else
        *value = seed * 0x9e3779b97f4a7c15ull ^ (index + 1) * 0x0101010101010101ull;
    return true;
}

/* A new RISC-V thread's f registers and fcsr are all zero (round to
 * nearest, no flags). */
uint64_t kt_fpu_initial(unsigned index)
{
    (void)index;
    return 0;
}

/* Bit 8 of fcsr is reserved. */
void kt_fpu_bad_value(unsigned *index, uint64_t *value)
{
    *index = BK_FPU_REG_FCSR;
    *value = 0x100;
}
