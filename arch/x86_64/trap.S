/*
 * Kernel entry and exit: the 256 IDT entry stubs, the common trap path,
 * the syscall entry and the two ways back to user mode (iretq, sysretq).
 *
 * Traps from user mode save straight into the current thread's
 * arch_regs_t: TSS.RSP0 (= %gs:CPU_RSP0) points just past its trap frame
 * (REGS_FRAME_END), so the CPU pushes ss, rsp, rflags, cs, rip (and an
 * error code) into the frame's last fields, and the stubs push the rest
 * below (the FPU state after the frame is fpu.c's). The C handler then
 * runs on this CPU's kernel stack and never returns: the kernel leaves
 * through arch_user_enter() or arch_fastpath_switch(). The syscall entry
 * saves all but rcx and r11 (the syscall instruction clobbers them) and
 * tries the IPC fast path (kernel/fastpath.c) for Call and ReplyRecv before
 * anything else. Traps from kernel mode (faults, or the timer inside
 * arch_idle_wait()) build the same frame on the current stack and return.
 */
#include <bulkhead/abi.h>

#include "x86_defs.h"

    .text
    .code64

/* The order of arch_regs_t (include/arch_types.h), last field first: the
 * syscall argument registers rdi, rsi, rdx, r10, r8, r9 end up consecutive,
 * and rcx, r11 (which a syscall clobbers) lowest, after the rest. */
.macro PUSH_GPRS_BUT_RCX_R11
    pushq %rax
    pushq %r9
    pushq %r8
    pushq %r10
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

.macro PUSH_GPRS
    PUSH_GPRS_BUT_RCX_R11
    pushq %r11
    pushq %rcx
.endm

.macro POP_GPRS_BUT_RCX_R11
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    popq %rdi
    popq %rsi
    popq %rdx
    popq %r10
    popq %r8
    popq %r9
    popq %rax
.endm

.macro POP_GPRS
    popq %rcx
    popq %r11
    POP_GPRS_BUT_RCX_R11
.endm

/* ---- IDT entry stubs --------------------------------------------------------
 * One VECTOR_STUB_SIZE-byte stub per vector: push a zero error code where
 * the CPU pushes none (it does for 8, 10-14, 17, 21, 29, 30: SDM vol. 3,
 * table 6-1), push the vector, go to the common path. */
    .balign VECTOR_STUB_SIZE
    .globl x86_vector_stubs
x86_vector_stubs:
    .set vec, 0
    .rept IDT_ENTRIES
    .balign VECTOR_STUB_SIZE
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp x86_trap_common
    .set vec, vec + 1
    .endr
x86_vector_stubs_end:

/* Stack here: vector, error code, rip, cs, rflags, rsp, ss. */
x86_trap_common:
    PUSH_GPRS
    testb $3, (REGS_CS - REGS_RCX)(%rsp)
    jz 1f

    /* From user mode: rsp is inside the thread's arch_regs_t. */
    swapgs
    leaq -REGS_RCX(%rsp), %rdi
    movq %gs:CPU_KERNEL_RSP, %rsp
    /* Kernel flags: the trap left DF and AC as the user had them; the C
     * ABI needs DF clear and SMAP needs AC clear. */
    pushq $RFLAGS_FIXED
    popfq
    xorl %ebp, %ebp
    call x86_trap_from_user
    ud2

1:  /* From kernel mode: reserve the fs/gs base slots so rsp is a whole
     * trap frame (arch_regs_t up to ss), 16-byte aligned (the CPU aligned
     * the frame). */
    subq $REGS_RCX, %rsp
    movq %rsp, %rdi
    call x86_trap_from_kernel
    addq $REGS_RCX, %rsp
    POP_GPRS
    addq $16, %rsp                  /* vector, error code */
    iretq

/* ---- syscall -----------------------------------------------------------------
 * The CPU put the user rip in rcx and rflags in r11, loaded kernel CS/SS
 * and cleared the SFMASK flags (IF, DF, AC...); rsp is still the user's.
 * Build the same frame a trap would, in the thread's arch_regs_t. */
    .globl x86_syscall_entry
x86_syscall_entry:
    swapgs
    movq %rsp, %gs:CPU_USER_RSP
    movq %gs:CPU_RSP0, %rsp
    pushq $USER_SS
    pushq %gs:CPU_USER_RSP
    pushq %r11                      /* rflags */
    pushq $USER_CS
    pushq %rcx                      /* rip of the next instruction */
    pushq $0                        /* error code */
    pushq $ENTRY_SYSCALL
    /* rcx and r11 hold rip and rflags (saved above): their own slots are
     * left as they are, and the kernel stack replaces rsp at once. */
    PUSH_GPRS_BUT_RCX_R11
    leaq -REGS_R15(%rsp), %rbx      /* the arch_regs_t (user rbx is saved) */
    movq %gs:CPU_KERNEL_RSP, %rsp
    xorl %ebp, %ebp
    /* The IPC fast path first for Call and ReplyRecv, chosen on the
     * syscall number; it returns only if the general path must handle the
     * syscall. */
    cmpq $BK_SYS_CALL, %rax
    je 1f
    cmpq $BK_SYS_REPLY_RECV, %rax
    je 2f
3:  movq %rbx, %rdi
    call x86_syscall_from_user
    ud2
1:  call kernel_fastpath_call
    jmp 3b
2:  call kernel_fastpath_reply_recv
    jmp 3b

/* ---- Back to user mode -------------------------------------------------------
 * Both take an arch_regs_t whose cs, ss, rip and rflags arch_user_enter()
 * has checked (rip canonical, IF set, IOPL 0), with interrupts off and the
 * kernel's GS base loaded. */

/* void x86_return_iret(arch_regs_t *regs): restores every register. */
    .globl x86_return_iret
x86_return_iret:
    leaq REGS_RCX(%rdi), %rsp
    POP_GPRS
    addq $16, %rsp                  /* vector, error code */
    swapgs
    iretq

/* void x86_return_sysret(arch_regs_t *regs): after a syscall; rcx and r11
 * are clobbered (they carry rip and rflags). sysretq with a non-canonical
 * rcx would fault in kernel mode on Intel CPUs: the C caller checked it. */
    .globl x86_return_sysret
x86_return_sysret:
    leaq REGS_R15(%rdi), %rsp       /* past the rcx and r11 slots */
    POP_GPRS_BUT_RCX_R11
    movq (REGS_RIP - REGS_VECTOR)(%rsp), %rcx
    movq (REGS_RFLAGS - REGS_VECTOR)(%rsp), %r11
    movq (REGS_RSP - REGS_VECTOR)(%rsp), %rsp
    swapgs
    sysretq

/* void x86_call_on_kernel_stack(void (*fn)(void)): calls fn (which must not
 * return) with the kernel stack reset to its top. */
    .globl x86_call_on_kernel_stack
x86_call_on_kernel_stack:
    movq %gs:CPU_KERNEL_RSP, %rsp
    xorl %ebp, %ebp
    call *%rdi
    ud2
