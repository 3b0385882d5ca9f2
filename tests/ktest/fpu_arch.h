/*
 * What the FPU tests (fpu_tests.c) need from each architecture: filling and
 * reading back every floating-point and vector register user code has,
 * written in assembly (tests/ktest/arch/<arch>/fpu_regs.S) so that no
 * compiled code, which may itself use those registers, runs between the
 * fill and the read-back.
 *
 * Register values travel as 64-bit words in the order of the arch's
 * BK_FPU_REG_* indices (kernel/abi.toml [arch.*].fpu_registers), the same
 * order TCB: ReadFpuRegister uses.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <bulkhead/syscall_stubs.h>

/* Whether kt_fpu_fill_syscall_dump() writes register `index` (data and
 * control registers the CPU offers; e.g. not ymmh without AVX), and the
 * value it writes there for `seed`. Different seeds give different values
 * in every register it writes. */
bool kt_fpu_pattern(uint64_t seed, unsigned index, uint64_t *value);

/* The value of register `index` in a thread that never used the FPU (the
 * ABI defaults: zero, except x86-64 fcw 0x37f, mxcsr 0x1f80 and the tag
 * word of an empty x87 stack). */
uint64_t kt_fpu_initial(unsigned index);

/* Fills every register kt_fpu_pattern() names with the pattern of `seed`,
 * issues syscall `nr` with arguments a0, a1, a2 (the other argument
 * registers zero), then stores every FPU register, in BK_FPU_REG_* order,
 * to out[0 .. BK_FPU_REG_COUNT-1] (registers the CPU lacks read as 0).
 * Returns the syscall's result register. */
long kt_fpu_fill_syscall_dump(uint64_t seed, unsigned long nr, unsigned long a0,
                              unsigned long a1, unsigned long a2, uint64_t *out);

/* A thread entry (for bk_thread_start) that first stores every FPU
 * register to d->regs, before any compiled code runs, then calls
 * d->next(d) on the same stack (next never returns). */
struct kt_fpu_dump_entry_arg {
    uint64_t regs[BK_FPU_REG_COUNT];
    void (*next)(struct kt_fpu_dump_entry_arg *d);
};
void kt_fpu_dump_entry(uint64_t d);

/* A register index and a value TCB: WriteFpuRegister must refuse with
 * INVALID_ARGUMENT (a reserved bit of a control register). */
void kt_fpu_bad_value(unsigned *index, uint64_t *value);
