/*
 * RISC-V half of tests/ktest/fpu_arch.h: fill f0-f31 and fcsr, issue a
 * syscall, store them back, with no compiled code in between. Register
 * values travel in BK_FPU_REG_* order, f0..f31 then fcsr (fpu_pattern.c
 * checks the count and the layout of struct kt_fpu_dump_entry_arg).
 */
#define FCSR_INDEX 32
#define DUMP_NEXT (33 * 8) /* offsetof(struct kt_fpu_dump_entry_arg, next) */

/* kt_fpu_fill_syscall_dump's frame: the 33 values to load, then what it
 * must give back to its caller: ra, the s registers it uses and fs0-fs11
 * (f8, f9, f18-f27), callee-saved in lp64d, which the fill overwrites. */
#define F_VALUES 0
#define F_RA (33 * 8)
#define F_S(n) (F_RA + 8 + (n) * 8)    /* s0..s6 */
#define F_FS(n) (F_S(7) + (n) * 8)     /* fs0..fs11 */
#define FRAME ((F_FS(12) + 15) / 16 * 16)

    .section .text, "ax", @progbits

/* Stores f0-f31 and fcsr to base + 8 * index. */
.macro dump_fpu base
    fsd     f0, 0*8(\base)
    fsd     f1, 1*8(\base)
    fsd     f2, 2*8(\base)
    fsd     f3, 3*8(\base)
    fsd     f4, 4*8(\base)
    fsd     f5, 5*8(\base)
    fsd     f6, 6*8(\base)
    fsd     f7, 7*8(\base)
    fsd     f8, 8*8(\base)
    fsd     f9, 9*8(\base)
    fsd     f10, 10*8(\base)
    fsd     f11, 11*8(\base)
    fsd     f12, 12*8(\base)
    fsd     f13, 13*8(\base)
    fsd     f14, 14*8(\base)
    fsd     f15, 15*8(\base)
    fsd     f16, 16*8(\base)
    fsd     f17, 17*8(\base)
    fsd     f18, 18*8(\base)
    fsd     f19, 19*8(\base)
    fsd     f20, 20*8(\base)
    fsd     f21, 21*8(\base)
    fsd     f22, 22*8(\base)
    fsd     f23, 23*8(\base)
    fsd     f24, 24*8(\base)
    fsd     f25, 25*8(\base)
    fsd     f26, 26*8(\base)
    fsd     f27, 27*8(\base)
    fsd     f28, 28*8(\base)
    fsd     f29, 29*8(\base)
    fsd     f30, 30*8(\base)
    fsd     f31, 31*8(\base)
    frcsr   t0
    sd      t0, FCSR_INDEX*8(\base)
.endm

/* Loads f0-f31 and fcsr from base + 8 * index; fld keeps all 64 bits. */
.macro fill_fpu base
    fld     f0, 0*8(\base)
    fld     f1, 1*8(\base)
    fld     f2, 2*8(\base)
    fld     f3, 3*8(\base)
    fld     f4, 4*8(\base)
    fld     f5, 5*8(\base)
    fld     f6, 6*8(\base)
    fld     f7, 7*8(\base)
    fld     f8, 8*8(\base)
    fld     f9, 9*8(\base)
    fld     f10, 10*8(\base)
    fld     f11, 11*8(\base)
    fld     f12, 12*8(\base)
    fld     f13, 13*8(\base)
    fld     f14, 14*8(\base)
    fld     f15, 15*8(\base)
    fld     f16, 16*8(\base)
    fld     f17, 17*8(\base)
    fld     f18, 18*8(\base)
    fld     f19, 19*8(\base)
    fld     f20, 20*8(\base)
    fld     f21, 21*8(\base)
    fld     f22, 22*8(\base)
    fld     f23, 23*8(\base)
    fld     f24, 24*8(\base)
    fld     f25, 25*8(\base)
    fld     f26, 26*8(\base)
    fld     f27, 27*8(\base)
    fld     f28, 28*8(\base)
    fld     f29, 29*8(\base)
    fld     f30, 30*8(\base)
    fld     f31, 31*8(\base)
    ld      t0, FCSR_INDEX*8(\base)
    fscsr   t0
.endm

/* fs0-fs11 (f8, f9, f18-f27) to or from the frame. */
.macro save_callee_fpu
    fsd     f8, F_FS(0)(sp)
    fsd     f9, F_FS(1)(sp)
    fsd     f18, F_FS(2)(sp)
    fsd     f19, F_FS(3)(sp)
    fsd     f20, F_FS(4)(sp)
    fsd     f21, F_FS(5)(sp)
    fsd     f22, F_FS(6)(sp)
    fsd     f23, F_FS(7)(sp)
    fsd     f24, F_FS(8)(sp)
    fsd     f25, F_FS(9)(sp)
    fsd     f26, F_FS(10)(sp)
    fsd     f27, F_FS(11)(sp)
.endm

.macro restore_callee_fpu
    fld     f8, F_FS(0)(sp)
    fld     f9, F_FS(1)(sp)
    fld     f18, F_FS(2)(sp)
    fld     f19, F_FS(3)(sp)
    fld     f20, F_FS(4)(sp)
    fld     f21, F_FS(5)(sp)
    fld     f22, F_FS(6)(sp)
    fld     f23, F_FS(7)(sp)
    fld     f24, F_FS(8)(sp)
    fld     f25, F_FS(9)(sp)
    fld     f26, F_FS(10)(sp)
    fld     f27, F_FS(11)(sp)
.endm

/*
 * long kt_fpu_fill_syscall_dump(seed, nr, a0, a1, a2, out): a0 = seed,
 * a1 = nr, a2-a4 = the syscall's a0-a2, a5 = out. The values come from
 * kt_fpu_pattern() into the frame first (compiled code, before the fill),
 * then the ecall (number in a7, arguments a0-a2, a3-a5 zero; it clobbers
 * ra, t0-t6 and a6 and returns message words in a0-a5) runs between the
 * fill and the dump. Its a0 is the result.
 */
    .globl kt_fpu_fill_syscall_dump
    .type kt_fpu_fill_syscall_dump, @function
kt_fpu_fill_syscall_dump:
    addi    sp, sp, -FRAME
    sd      ra, F_RA(sp)
    sd      s0, F_S(0)(sp)
    sd      s1, F_S(1)(sp)
    sd      s2, F_S(2)(sp)
    sd      s3, F_S(3)(sp)
    sd      s4, F_S(4)(sp)
    sd      s5, F_S(5)(sp)
    sd      s6, F_S(6)(sp)
    save_callee_fpu
    mv      s0, a0                  /* seed */
    mv      s1, a1                  /* syscall number */
    mv      s2, a2
    mv      s3, a3
    mv      s4, a4
    mv      s5, a5                  /* out */
    li      s6, 0                   /* register index */
1:  mv      a0, s0
    mv      a1, s6
    slli    a2, s6, 3
    add     a2, a2, sp              /* &values[index] */
    call    kt_fpu_pattern          /* covers every index on RISC-V */
    addi    s6, s6, 1
    li      t0, FCSR_INDEX
    bleu    s6, t0, 1b

    fill_fpu sp
    mv      a0, s2
    mv      a1, s3
    mv      a2, s4
    li      a3, 0
    li      a4, 0
    li      a5, 0
    mv      a7, s1
    ecall
    dump_fpu s5

    restore_callee_fpu
    ld      s6, F_S(6)(sp)
    ld      s5, F_S(5)(sp)
    ld      s4, F_S(4)(sp)
    ld      s3, F_S(3)(sp)
    ld      s2, F_S(2)(sp)
    ld      s1, F_S(1)(sp)
    ld      s0, F_S(0)(sp)
    ld      ra, F_RA(sp)
    addi    sp, sp, FRAME
    ret
    .size kt_fpu_fill_syscall_dump, . - kt_fpu_fill_syscall_dump

/*
 * kt_fpu_dump_entry(d): a thread entry, a0 = struct kt_fpu_dump_entry_arg
 * *. Its first instructions store the FPU registers to d->regs, then it
 * tail-calls d->next(d) on the same stack.
 */
    .globl kt_fpu_dump_entry
    .type kt_fpu_dump_entry, @function
kt_fpu_dump_entry:
    dump_fpu a0
    ld      t0, DUMP_NEXT(a0)
    jr      t0
    .size kt_fpu_dump_entry, . - kt_fpu_dump_entry

/*
 * kt_nofpu_calls_entry(calls): a thread entry, a0 = struct kt_nofpu_calls
 * *: count, done, then per call the number and six argument registers
 * (CALL_SIZE bytes). Makes each syscall (number in a7, arguments in
 * a0-a5), stores a0-a5 back and counts it done; then thread_exit(0). s0
 * and s1 survive the ecall. No stack, no FP or vector instruction.
 */
#define CALLS_COUNT 0
#define CALLS_DONE 8
#define CALLS_FIRST 16
#define CALL_SIZE (7 * 8)
#define SYS_THREAD_EXIT 4  /* BK_SYS_THREAD_EXIT, checked in fpu_check.c */
    .globl kt_nofpu_calls_entry
    .type kt_nofpu_calls_entry, @function
kt_nofpu_calls_entry:
    mv      s1, a0                  /* the list */
    addi    s0, a0, CALLS_FIRST     /* the next call */
1:  ld      t0, CALLS_DONE(s1)
    ld      t1, CALLS_COUNT(s1)
    bgeu    t0, t1, 2f
    ld      a7, 0(s0)
    ld      a0, 8(s0)
    ld      a1, 16(s0)
    ld      a2, 24(s0)
    ld      a3, 32(s0)
    ld      a4, 40(s0)
    ld      a5, 48(s0)
    ecall
    sd      a0, 8(s0)
    sd      a1, 16(s0)
    sd      a2, 24(s0)
    sd      a3, 32(s0)
    sd      a4, 40(s0)
    sd      a5, 48(s0)
    ld      t0, CALLS_DONE(s1)
    addi    t0, t0, 1
    sd      t0, CALLS_DONE(s1)
    addi    s0, s0, CALL_SIZE
    j       1b
2:  li      a7, SYS_THREAD_EXIT
    li      a0, 0
    ecall
    unimp                           /* thread_exit does not return */
    .size kt_nofpu_calls_entry, . - kt_nofpu_calls_entry
