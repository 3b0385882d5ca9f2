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
 *
 * With the Meltdown window (kpti.c) user spaces map only this file's code
 * (section .text.entry, one page-aligned block), the IDT, the first page
 * of struct x86_cpu and the IST stacks. The _kpti variants below load the
 * kernel's CR3 before they touch anything else and the user's CR3 last:
 * traps from user mode land on the per-CPU entry stack (the entry TSS's
 * rsp[0]) and are copied into the thread's frame once the kernel's tables
 * are in CR3; the exits copy what iretq needs to the entry stack first.
 */
#include <bulkhead/abi.h>

#include "x86_defs.h"

    .section .text.entry, "ax"
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
 * table 6-1), push the vector, go to the common path. Two sets: without
 * and with the Meltdown window. */
.macro VECTOR_STUBS name, common
    .balign VECTOR_STUB_SIZE
    .globl \name
\name:
    .set vec, 0
    .rept IDT_ENTRIES
    .balign VECTOR_STUB_SIZE
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp \common
    .set vec, vec + 1
    .endr
.endm

    VECTOR_STUBS x86_vector_stubs, x86_trap_common
    VECTOR_STUBS x86_vector_stubs_kpti, x86_trap_common_kpti

/* Stack here: vector, error code, rip, cs, rflags, rsp, ss. */
x86_trap_common:
    PUSH_GPRS
    testb $3, (REGS_CS - REGS_RCX)(%rsp)
    jz 1f

    /* From user mode: rsp is inside the thread's arch_regs_t. */
    swapgs
trap_user_saved:
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

/* The Meltdown window's trap path (kpti.c). Stack here: vector, error
 * code, rip, cs, rflags, rsp, ss, on the entry stack (from user mode), on
 * an IST stack (#DF, NMI, #MC) or on the current kernel stack. */
x86_trap_common_kpti:
    testb $3, 24(%rsp)
    jz 1f
    /* From user mode: the kernel's tables first, then the frame moves
     * from this stack to the thread's arch_regs_t, and on as above. */
    swapgs
    pushq %rax
    movq x86_kernel_cr3(%rip), %rax
    movq %rax, %cr3
    movq %rsp, %rax
    movq %gs:CPU_RSP0, %rsp
    pushq 56(%rax)                  /* ss */
    pushq 48(%rax)                  /* rsp */
    pushq 40(%rax)                  /* rflags */
    pushq 32(%rax)                  /* cs */
    pushq 24(%rax)                  /* rip */
    pushq 16(%rax)                  /* error code */
    pushq 8(%rax)                   /* vector */
    movq (%rax), %rax
    PUSH_GPRS
    jmp trap_user_saved

1:  /* From kernel mode. The user's tables can be in CR3 only in the few
     * instructions of an entry or exit, where only NMI, #MC or a kernel
     * bug can strike: load the kernel's for the handler, and give back
     * what was there (r12 is saved in the frame and callee-saved). */
    PUSH_GPRS
    movq %cr3, %r12
    movq x86_kernel_cr3(%rip), %rax
    cmpq %rax, %r12
    je 2f
    movq %rax, %cr3
2:  subq $REGS_RCX, %rsp
    movq %rsp, %rdi
    call x86_trap_from_kernel
    addq $REGS_RCX, %rsp
    cmpq x86_kernel_cr3(%rip), %r12
    je 3f
    movq %r12, %cr3
3:  POP_GPRS
    addq $16, %rsp                  /* vector, error code */
    iretq

/* ---- syscall -----------------------------------------------------------------
 * The CPU put the user rip in rcx and rflags in r11, loaded kernel CS/SS
 * and cleared the SFMASK flags (IF, DF, AC...); rsp is still the user's.
 * Build the same frame a trap would, in the thread's arch_regs_t. */
/* The general path's first step after a syscall entry: the frame-pointer
 * chain ended, the FS and GS bases saved into the thread's frame. */
.macro SAVE_USER_BASES
    xorl %ebp, %ebp
    movq %gs:CPU_RSP0, %rsi
    subq $REGS_FRAME_END, %rsi      /* the arch_regs_t */
    movq %gs:CPU_SELF, %rdi
    call x86_save_user_bases
.endm

.macro SYSCALL_ENTRY name, kpti, smp
    .globl \name
\name:
    swapgs
    movq %rsp, %gs:CPU_USER_RSP
    .if \kpti
    /* The Meltdown window: the kernel's tables before anything else. */
    movq x86_kernel_cr3(%rip), %rsp
    movq %rsp, %cr3
    .endif
    movq %gs:CPU_RSP0, %rsp
    pushq $USER_SS
    pushq %gs:CPU_USER_RSP
    /* Only the flags user code may keep go into the frame, so that a
     * frame a syscall saved is ready for sysretq as it is (sysretq loads
     * rflags from r11: IOPL, NT and the rest must not come back). IF and
     * bit 1 are always set in user mode, so this is what resume_user()
     * makes of any other frame. */
    andl $(RFLAGS_USER_MASK | RFLAGS_IF | RFLAGS_FIXED), %r11d
    pushq %r11                      /* rflags */
    pushq $USER_CS
    pushq %rcx                      /* rip of the next instruction */
    pushq $0                        /* error code */
    pushq $ENTRY_SYSCALL
    /* rcx and r11 hold rip and rflags (saved above): their own slots are
     * left as they are, and the kernel stack replaces rsp at once. */
    PUSH_GPRS_BUT_RCX_R11
    movq %gs:CPU_KERNEL_RSP, %rsp
    /* The fast paths first for Call, ReplyRecv, Yield, Recv and Send
     * (the last two on notifications), chosen on the syscall number; each
     * returns only if the general path must handle the syscall. It needs neither a frame-pointer chain nor the frame's
     * address (it finds the thread itself), so those are the general
     * path's. */
    /* The numbers come from the CPU's struct (BK_SYS_CALL and the others,
     * or none once several CPUs run user threads:
     * arch_cpu_smp_mode()): a compare with memory, as many instructions
     * as with an immediate. The entries for several CPUs (smp, which
     * arch_cpu_smp_mode() puts in LSTAR) make none: they call
     * kernel_fastpath_unlocked(), which tests the number itself and tries
     * the fast paths without the kernel lock, before anything saved the
     * bases (as the fast paths of one CPU: they save what they need),
     * then kernel_syscall_smp(), which tries them under the lock. */
    .if !\smp
    cmpq %gs:CPU_FAST_CALL_NR, %rax
    je 1f
    cmpq %gs:CPU_FAST_REPLY_RECV_NR, %rax
    je 2f
    cmpq %gs:CPU_FAST_YIELD_NR, %rax
    je 4f
    cmpq %gs:CPU_FAST_RECV_NR, %rax
    je 5f
    cmpq %gs:CPU_FAST_SEND_NR, %rax
    je 6f
    .else
    movq %rax, %rdi
    call kernel_fastpath_unlocked   /* returns where the lock is needed */
    .endif
    /* The general path: the FS/GS bases saved, then kernel_syscall, or
     * kernel_syscall_smp (the lock first) once several CPUs run user
     * threads (CPU_SYSCALL_ENTRY: an indirect call costs no more than a
     * direct one, and the kernel then tests nothing for the lock). */
3:  SAVE_USER_BASES
    call *%gs:CPU_SYSCALL_ENTRY     /* does not return */
    ud2
    .if !\smp
    /* A fast path that returns leaves the syscall to the general path of
     * one CPU (a number matched: arch_cpu_smp_mode() takes the numbers
     * away and moves the CPU to the smp entry together, on the CPU
     * itself): kernel_ipc_syscall, or kernel_syscall for a Yield. */
1:  call kernel_fastpath_call
    jmp 7f
2:  call kernel_fastpath_reply_recv
    jmp 7f
4:  call kernel_fastpath_yield
    jmp 3b
5:  call kernel_fastpath_recv
    jmp 7f
6:  call kernel_fastpath_send
7:  SAVE_USER_BASES
    call kernel_ipc_syscall         /* does not return */
    ud2
    .endif
.endm

    SYSCALL_ENTRY x86_syscall_entry, 0, 0
    SYSCALL_ENTRY x86_syscall_entry_kpti, 1, 0
    SYSCALL_ENTRY x86_syscall_entry_smp, 0, 1
    SYSCALL_ENTRY x86_syscall_entry_kpti_smp, 1, 1

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

/* The same two with the Meltdown window: the user's CR3 (CPU_USER_CR3,
 * vspace.c) is loaded last, once nothing but this page, the per-CPU entry
 * page and the entry stack is needed. */
    .globl x86_return_iret_kpti
x86_return_iret_kpti:
    movq %gs:CPU_ENTRY_STACK_TOP, %rsp
    pushq REGS_SS(%rdi)
    pushq REGS_RSP(%rdi)
    pushq REGS_RFLAGS(%rdi)
    pushq REGS_CS(%rdi)
    pushq REGS_RIP(%rdi)
    movq %rsp, %gs:CPU_USER_RSP     /* where iretq's frame is */
    leaq REGS_RCX(%rdi), %rsp
    POP_GPRS
    movq %gs:CPU_USER_RSP, %rsp
    pushq %rax
    movq %gs:CPU_USER_CR3, %rax
    movq %rax, %cr3
    popq %rax
    swapgs
    iretq

    .globl x86_return_sysret_kpti
x86_return_sysret_kpti:
    leaq REGS_R15(%rdi), %rsp
    POP_GPRS_BUT_RCX_R11
    movq (REGS_RIP - REGS_VECTOR)(%rsp), %rcx
    movq (REGS_RFLAGS - REGS_VECTOR)(%rsp), %r11
    movq (REGS_RSP - REGS_VECTOR)(%rsp), %rsp
    movq %rsp, %gs:CPU_USER_RSP
    movq %gs:CPU_USER_CR3, %rsp
    movq %rsp, %cr3
    movq %gs:CPU_USER_RSP, %rsp
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

/* The CR3 of the kernel's own tables (paging.c), for the kpti entry:
 * in the window's data (kpti.c maps it read-only there), and read
 * RIP-relative so that no GS base is needed to find it. */
    .section .data.entry, "aw"
    .balign 8
    .globl x86_kernel_cr3
x86_kernel_cr3:
    .quad 0
