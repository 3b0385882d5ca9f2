/*
 * The only kernel code that touches the F/D registers: stores and loads a
 * thread's f0-f31 and fcsr (arch_regs_t.fpr, .fcsr) for fpu.c's lazy
 * switch. This file alone is assembled with -march=rv64imafdc (arch.cmake);
 * its ABI flag stays lp64 like every other kernel object, so the kernel
 * links as one soft-float image and the compiled C never uses f registers.
 *
 * The caller sets sstatus.FS to a value other than Off first: FS = Off
 * makes FP instructions illegal in S-mode as well as in U-mode
 * (Privileged 3.1.6.6). Both use only a0 and t0 (and ra to return): the
 * IPC fast path (trap.S) calls them with its other registers live.
 */
#include "cpu.h"

    .section .text, "ax", @progbits

/* riscv_fpu_save(regs): a0 = the arch_regs_t to store into. Reading the
 * registers leaves FS as it is. */
    .globl riscv_fpu_save
riscv_fpu_save:
    fsd     f0, REGS_FPR + 0*8(a0)
    fsd     f1, REGS_FPR + 1*8(a0)
    fsd     f2, REGS_FPR + 2*8(a0)
    fsd     f3, REGS_FPR + 3*8(a0)
    fsd     f4, REGS_FPR + 4*8(a0)
    fsd     f5, REGS_FPR + 5*8(a0)
    fsd     f6, REGS_FPR + 6*8(a0)
    fsd     f7, REGS_FPR + 7*8(a0)
    fsd     f8, REGS_FPR + 8*8(a0)
    fsd     f9, REGS_FPR + 9*8(a0)
    fsd     f10, REGS_FPR + 10*8(a0)
    fsd     f11, REGS_FPR + 11*8(a0)
    fsd     f12, REGS_FPR + 12*8(a0)
    fsd     f13, REGS_FPR + 13*8(a0)
    fsd     f14, REGS_FPR + 14*8(a0)
    fsd     f15, REGS_FPR + 15*8(a0)
    fsd     f16, REGS_FPR + 16*8(a0)
    fsd     f17, REGS_FPR + 17*8(a0)
    fsd     f18, REGS_FPR + 18*8(a0)
    fsd     f19, REGS_FPR + 19*8(a0)
    fsd     f20, REGS_FPR + 20*8(a0)
    fsd     f21, REGS_FPR + 21*8(a0)
    fsd     f22, REGS_FPR + 22*8(a0)
    fsd     f23, REGS_FPR + 23*8(a0)
    fsd     f24, REGS_FPR + 24*8(a0)
    fsd     f25, REGS_FPR + 25*8(a0)
    fsd     f26, REGS_FPR + 26*8(a0)
    fsd     f27, REGS_FPR + 27*8(a0)
    fsd     f28, REGS_FPR + 28*8(a0)
    fsd     f29, REGS_FPR + 29*8(a0)
    fsd     f30, REGS_FPR + 30*8(a0)
    fsd     f31, REGS_FPR + 31*8(a0)
    frcsr   t0
    sd      t0, REGS_FCSR(a0)
    ret

/* riscv_fpu_load(regs): a0 = the arch_regs_t to load from. fld moves the
 * 64 bits unchanged (no NaN canonicalisation), so a thread gets back
 * exactly what it had. The writes make FS Dirty; the caller resets it. */
    .globl riscv_fpu_load
riscv_fpu_load:
    fld     f0, REGS_FPR + 0*8(a0)
    fld     f1, REGS_FPR + 1*8(a0)
    fld     f2, REGS_FPR + 2*8(a0)
    fld     f3, REGS_FPR + 3*8(a0)
    fld     f4, REGS_FPR + 4*8(a0)
    fld     f5, REGS_FPR + 5*8(a0)
    fld     f6, REGS_FPR + 6*8(a0)
    fld     f7, REGS_FPR + 7*8(a0)
    fld     f8, REGS_FPR + 8*8(a0)
    fld     f9, REGS_FPR + 9*8(a0)
    fld     f10, REGS_FPR + 10*8(a0)
    fld     f11, REGS_FPR + 11*8(a0)
    fld     f12, REGS_FPR + 12*8(a0)
    fld     f13, REGS_FPR + 13*8(a0)
    fld     f14, REGS_FPR + 14*8(a0)
    fld     f15, REGS_FPR + 15*8(a0)
    fld     f16, REGS_FPR + 16*8(a0)
    fld     f17, REGS_FPR + 17*8(a0)
    fld     f18, REGS_FPR + 18*8(a0)
    fld     f19, REGS_FPR + 19*8(a0)
    fld     f20, REGS_FPR + 20*8(a0)
    fld     f21, REGS_FPR + 21*8(a0)
    fld     f22, REGS_FPR + 22*8(a0)
    fld     f23, REGS_FPR + 23*8(a0)
    fld     f24, REGS_FPR + 24*8(a0)
    fld     f25, REGS_FPR + 25*8(a0)
    fld     f26, REGS_FPR + 26*8(a0)
    fld     f27, REGS_FPR + 27*8(a0)
    fld     f28, REGS_FPR + 28*8(a0)
    fld     f29, REGS_FPR + 29*8(a0)
    fld     f30, REGS_FPR + 30*8(a0)
    fld     f31, REGS_FPR + 31*8(a0)
    ld      t0, REGS_FCSR(a0)
    fscsr   t0
    ret
