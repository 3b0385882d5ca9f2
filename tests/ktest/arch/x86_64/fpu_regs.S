/*
 * x86-64 side of tests/ktest/fpu_arch.h: fill every x87, SSE and AVX
 * register, make a syscall, and dump them all back, with no compiled code
 * in between; and a thread entry that dumps its registers before any
 * compiled code runs. The values come from kt_fpu_pattern()
 * (fpu_pattern.c), computed before the fill.
 *
 * Dumps are in BK_FPU_REG_* order (kernel/abi.toml [arch.x86_64]); the
 * index constants below are those of the generated header, which is C and
 * cannot be included here (fpu_pattern.c checks they agree):
 *   0 fcw, 1 fsw, 2 ftw (abridged), 3 fop, 4 mxcsr, 5.. st0..st7 (64-bit
 *   mantissa, then 16-bit sign and exponent), 21.. xmm0..xmm15 (low, high
 *   half), 53.. the upper halves of ymm0..ymm15 (0 without AVX).
 */
#define REG_FCW 0
#define REG_MXCSR 4
#define REG_ST0 5
#define REG_XMM0 21
#define REG_YMMH0 53
#define REG_COUNT 85

/* The FXSAVE image (Intel SDM vol. 1, table 10-2, 64-bit layout). */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_FOP 6
#define FX_MXCSR 24
#define FX_ST0 32
#define FX_XMM0 160

/* The stack frame of both functions, 64-byte aligned: the FXSAVE image,
 * the values to fill (kt_fpu_fill_values()), the ymm upper halves, where
 * the caller's control words wait, and whether AVX is usable. */
#define F_IMAGE 0
#define F_VALUES 512
#define F_YMMH (F_VALUES + 8 * REG_COUNT + 24) /* 1216: 64-byte aligned */
#define F_SAVED_FCW (F_YMMH + 256)
#define F_SAVED_MXCSR (F_SAVED_FCW + 8)
#define F_AVX (F_SAVED_MXCSR + 8)
#define F_SIZE 1536

    .text

/* bool kt_fpu_avx_usable(void): the CPU has AVX and the kernel enabled its
 * state: CPUID.1:ECX.OSXSAVE[27] (so XGETBV exists), then XCR0 bits 1 (SSE)
 * and 2 (AVX) both set (Intel SDM vol. 1, 14.3). Touches no FPU state. */
    .globl kt_fpu_avx_usable
    .type kt_fpu_avx_usable, @function
kt_fpu_avx_usable:
    pushq %rbx                      /* cpuid writes it */
    movl $1, %eax
    xorl %ecx, %ecx
    cpuid
    popq %rbx
    xorl %eax, %eax
    btl $27, %ecx
    jnc 1f
    xorl %ecx, %ecx
    xgetbv
    andl $6, %eax
    cmpl $6, %eax
    sete %al
    movzbl %al, %eax
1:  ret
    .size kt_fpu_avx_usable, . - kt_fpu_avx_usable

/* Loads the registers from the values at F_VALUES(%rsp): st7 first, so
 * that st0 is the last one pushed onto the emptied x87 stack (fldt of a
 * normal number, exact whatever the precision control), then the control
 * word; xmm with legacy SSE loads, which keep the upper ymm halves, then
 * those halves if F_AVX(%rsp) says AVX is usable; MXCSR last. */
.macro FILL_REGISTERS
    fninit
    .irp i, 7, 6, 5, 4, 3, 2, 1, 0
    fldt (F_VALUES + 8 * (REG_ST0 + 2 * \i))(%rsp)
    .endr
    fldcw (F_VALUES + 8 * REG_FCW)(%rsp)
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    movdqu (F_VALUES + 8 * (REG_XMM0 + 2 * \i))(%rsp), %xmm\i
    .endr
    cmpq $0, F_AVX(%rsp)
    je 1f
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vinsertf128 $1, (F_VALUES + 8 * (REG_YMMH0 + 2 * \i))(%rsp), %ymm\i, %ymm\i
    .endr
1:  ldmxcsr (F_VALUES + 8 * REG_MXCSR)(%rsp)
.endm

/* Captures every register into the frame: FXSAVE, then the ymm upper
 * halves (zero without AVX). */
.macro CAPTURE_REGISTERS
    fxsave64 F_IMAGE(%rsp)
    cmpq $0, F_AVX(%rsp)
    je 1f
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vextractf128 $1, %ymm\i, (F_YMMH + 16 * \i)(%rsp)
    .endr
    jmp 2f
1:  .set half, 0
    .rept 32
    movq $0, (F_YMMH + 8 * half)(%rsp)
    .set half, half + 1
    .endr
2:
.endm

/* Stores the captured registers to \out[0 .. REG_COUNT-1] in BK_FPU_REG_*
 * order, each zero-extended to 64 bits. Uses rax. */
.macro STORE_CAPTURED out
    movzwl (F_IMAGE + FX_FCW)(%rsp), %eax
    movq %rax, 0(\out)
    movzwl (F_IMAGE + FX_FSW)(%rsp), %eax
    movq %rax, 8(\out)
    movzbl (F_IMAGE + FX_FTW)(%rsp), %eax
    movq %rax, 16(\out)
    movzwl (F_IMAGE + FX_FOP)(%rsp), %eax
    movq %rax, 24(\out)
    movl (F_IMAGE + FX_MXCSR)(%rsp), %eax
    movq %rax, 32(\out)
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7
    movq (F_IMAGE + FX_ST0 + 16 * \i)(%rsp), %rax
    movq %rax, (8 * (REG_ST0 + 2 * \i))(\out)
    movzwl (F_IMAGE + FX_ST0 + 16 * \i + 8)(%rsp), %eax
    movq %rax, (8 * (REG_ST0 + 2 * \i + 1))(\out)
    .endr
    .set half, 0
    .rept 32                        /* 64-bit halves: xmm0 low, xmm0 high, ... */
    movq (F_IMAGE + FX_XMM0 + 8 * half)(%rsp), %rax
    movq %rax, (8 * (REG_XMM0 + half))(\out)
    movq (F_YMMH + 8 * half)(%rsp), %rax
    movq %rax, (8 * (REG_YMMH0 + half))(\out)
    .set half, half + 1
    .endr
.endm

/* long kt_fpu_fill_syscall_dump(uint64_t seed, unsigned long nr,
 *     unsigned long a0, unsigned long a1, unsigned long a2, uint64_t *out)
 * Arguments arrive in rdi, rsi, rdx, rcx, r8, r9. The syscall takes its
 * number in rax and arguments in rdi, rsi, rdx, r10, r8, r9; the kernel
 * keeps rbx, rbp, r12-r15 and rsp, the syscall instruction clobbers rcx
 * and r11, and IPC syscalls return words in the argument registers. The
 * caller's x87 control word and MXCSR control bits are callee-saved in the
 * SysV ABI and its x87 stack must be empty on return: both are restored. */
    .globl kt_fpu_fill_syscall_dump
    .type kt_fpu_fill_syscall_dump, @function
kt_fpu_fill_syscall_dump:
    pushq %rbp
    movq %rsp, %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsi, %r12                 /* nr, then the result */
    movq %rdx, %r13                 /* a0 */
    movq %rcx, %r14                 /* a1 */
    movq %r8, %r15                  /* a2 */
    movq %r9, %rbx                  /* out */
    subq $F_SIZE, %rsp
    andq $-64, %rsp
    fnstcw F_SAVED_FCW(%rsp)
    stmxcsr F_SAVED_MXCSR(%rsp)
    leaq F_VALUES(%rsp), %rsi       /* rdi: the seed */
    call kt_fpu_fill_values
    call kt_fpu_avx_usable
    movq %rax, F_AVX(%rsp)

    FILL_REGISTERS
    movq %r12, %rax
    movq %r13, %rdi
    movq %r14, %rsi
    movq %r15, %rdx
    xorl %r10d, %r10d
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    syscall
    movq %rax, %r12
    CAPTURE_REGISTERS

    STORE_CAPTURED %rbx
    fninit                          /* empty x87 stack */
    fldcw F_SAVED_FCW(%rsp)
    ldmxcsr F_SAVED_MXCSR(%rsp)
    cmpq $0, F_AVX(%rsp)
    je 1f
    vzeroupper                      /* no dirty upper halves into SSE code */
1:  movq %r12, %rax
    leaq -40(%rbp), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size kt_fpu_fill_syscall_dump, . - kt_fpu_fill_syscall_dump

/* void kt_fpu_dump_entry(uint64_t d): d (rdi) is a struct
 * kt_fpu_dump_entry_arg: regs[REG_COUNT], then next. Dumps, then calls
 * d->next(d) on a 16-byte-aligned stack; next never returns. Reached by a
 * call, so the AVX check (no FPU state touched) may come first. */
    .globl kt_fpu_dump_entry
    .type kt_fpu_dump_entry, @function
kt_fpu_dump_entry:
    pushq %rbp
    movq %rsp, %rbp
    movq %rdi, %r12
    subq $F_SIZE, %rsp
    andq $-64, %rsp
    call kt_fpu_avx_usable
    movq %rax, F_AVX(%rsp)
    CAPTURE_REGISTERS
    STORE_CAPTURED %r12
    movq %r12, %rdi
    call *(8 * REG_COUNT)(%r12)
    ud2
    .size kt_fpu_dump_entry, . - kt_fpu_dump_entry

/* void kt_nofpu_calls_entry(uint64_t calls): a thread entry, rdi = struct
 * kt_nofpu_calls *: count, done, then per call the number and six
 * argument registers (CALL_SIZE bytes). Makes each syscall (number in
 * rax, arguments in rdi, rsi, rdx, r10, r8, r9), stores the six argument
 * registers back and counts it done; then thread_exit(0). rbx and r13
 * survive the syscalls (the kernel keeps them). No stack, no x87, SSE or
 * AVX instruction. */
#define CALLS_COUNT 0
#define CALLS_DONE 8
#define CALLS_FIRST 16
#define CALL_SIZE (7 * 8)
#define SYS_THREAD_EXIT 4  /* BK_SYS_THREAD_EXIT, checked in fpu_check.c */
    .globl kt_nofpu_calls_entry
    .type kt_nofpu_calls_entry, @function
kt_nofpu_calls_entry:
    movq %rdi, %r13                 /* the list */
    leaq CALLS_FIRST(%rdi), %rbx    /* the next call */
1:  movq CALLS_DONE(%r13), %rax
    cmpq CALLS_COUNT(%r13), %rax
    jae 2f
    movq 0(%rbx), %rax
    movq 8(%rbx), %rdi
    movq 16(%rbx), %rsi
    movq 24(%rbx), %rdx
    movq 32(%rbx), %r10
    movq 40(%rbx), %r8
    movq 48(%rbx), %r9
    syscall
    movq %rdi, 8(%rbx)
    movq %rsi, 16(%rbx)
    movq %rdx, 24(%rbx)
    movq %r10, 32(%rbx)
    movq %r8, 40(%rbx)
    movq %r9, 48(%rbx)
    incq CALLS_DONE(%r13)
    addq $CALL_SIZE, %rbx
    jmp 1b
2:  movl $SYS_THREAD_EXIT, %eax
    xorl %edi, %edi
    syscall
    ud2                             /* thread_exit does not return */
    .size kt_nofpu_calls_entry, . - kt_nofpu_calls_entry

    .section .note.GNU-stack, "", @progbits
