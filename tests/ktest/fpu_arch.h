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

/* A thread entry (for TCB: WriteRegisters; it needs no stack and no
 * thread pointer) that makes the raw syscalls listed in *calls, in order,
 * counting them in calls->done, then exits with thread_exit. It is assembly that touches no FPU or
 * vector register, so a thread running it never takes the FPU from the
 * thread that owns it: the owner's state stays live in the CPU across
 * every one of these syscalls.
 *
 * Each call is a syscall number and the six argument registers (for a
 * method invocation, BK_SYS_CALL with the cap, the message info and
 * message words 0-3; words 4 and up go in the thread's IPC buffer). After
 * the syscall the argument registers are stored back into regs[]: for a
 * Call, regs[1] is then the reply's message info, whose label is 0 or the
 * BK_ERR_* (see kt_nofpu_call_error()). */
#define KT_NOFPU_CALLS_MAX 8
struct kt_nofpu_call {
    uint64_t nr;
    uint64_t regs[6];
};
struct kt_nofpu_calls {
    uint64_t count; /* to make, at most KT_NOFPU_CALLS_MAX */
    uint64_t done;  /* made so far: 0 when the thread starts */
    struct kt_nofpu_call call[KT_NOFPU_CALLS_MAX];
};
void kt_nofpu_calls_entry(uint64_t calls);

/* The error a finished kt_nofpu_calls_entry() Call returned: 0 or a BK_ERR_*. */
static inline uint64_t kt_nofpu_call_error(const struct kt_nofpu_call *c)
{
    return BK_MSGINFO_LABEL(c->regs[1]);
}

/* A register index and a value TCB: WriteFpuRegister must refuse with
 * INVALID_ARGUMENT (a reserved bit of a control register). */
void kt_fpu_bad_value(unsigned *index, uint64_t *value);

/* ---- Not arch code: the child's protocol, comparing dumps (fpu_check.c) -- */

/* fpu_child.c, the program the suite starts in an address space of its
 * own, fills its FPU with the pattern of KT_FPU_SEED_CHILD (unlike the
 * suite's seeds) and Calls its endpoint twice: with label
 * KT_FPU_CHILD_FILLED, then, after the reply, with KT_FPU_CHILD_REPORT and
 * in word 0 how many of its registers had changed meanwhile. The labels
 * differ from every fault's (BK_FAULT_*), so a fault of the child sent to
 * the same endpoint is not taken for either. */
#define KT_FPU_SEED_CHILD 0x5a5a0123c3c3fedcull
#define KT_FPU_CHILD_FILLED 0xf1
#define KT_FPU_CHILD_REPORT 0xf2

/* Counts the registers in `regs` (a dump in BK_FPU_REG_* order) that
 * differ from the pattern of `seed`, registers the pattern does not cover
 * not compared, and prints the first few, naming `who`. */
unsigned kt_fpu_pattern_mismatches(const volatile uint64_t *regs, uint64_t seed, const char *who);

/* Counts the registers in `regs` that differ from a new thread's state
 * (kt_fpu_initial()), printing the first few. */
unsigned kt_fpu_initial_mismatches(const volatile uint64_t *regs, const char *who);
