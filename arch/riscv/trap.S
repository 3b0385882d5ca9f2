/*
 * The trap vector (stvec, direct mode) and the return to user mode.
 *
 * sscratch tells the vector where the trap came from: in user mode it
 * holds this hart's struct riscv_cpu (cpu.h), in kernel mode 0. One csrrw
 * swaps it with sp, so no user register is touched before it is saved.
 *
 * From user mode all 31 registers and sepc go into the arch_regs_t of the
 * running thread (riscv_cpu.user_regs), all but the ones the syscall ABI
 * calls clobbered for an ecall, and the handler runs at the top of the
 * hart's kernel stack with tp = its struct riscv_cpu; it never returns
 * here. An ecall that is a Call or ReplyRecv goes to the IPC fast path
 * first (kernel/fastpath.c); with several harts, whose vector is
 * riscv_trap_entry_smp, the fast paths are tried without the kernel lock
 * first, then kernel_syscall_smp() takes the lock and tries them under it.
 * From kernel mode the registers go into a struct kernel_frame on the
 * current stack and the handler may return (a timer tick in
 * arch_idle_wait()).
 *
 * Calls and tail calls to C are jal and j, one instruction each: the
 * kernel is built with -mno-relax, so call and tail would stay auipc plus
 * jalr. Their reach is +-1 MiB, far more than the kernel's text; ld.lld
 * refuses to link if it ever outgrows that.
 */
#include <bulkhead/abi.h>

#include "cpu.h"
#include "riscv.h"

/* Ends frame-pointer backtraces where C code starts from user mode: in a
 * debug kernel, which keeps frame pointers. A release kernel has none
 * (cmake/bulkhead.cmake), so s0 is an ordinary register there. */
.macro END_BACKTRACE
#if BULKHEAD_KERNEL_DEBUG
    li      fp, 0
#endif
.endm

/* A syscall's registers (see .Lsyscall) but the message words a2-a5,
 * with sp = struct riscv_cpu and t0 free; leaves tp = that struct, sp =
 * the hart's kernel stack and t0 = the thread's arch_regs_t. */
.macro SYSCALL_SAVE_BUT_MESSAGE
    ld      t0, CPU_USER_REGS(sp)
    sd      x3, 3*8(t0)
    sd      x4, 4*8(t0)
    sd      x8, 8*8(t0)
    sd      x9, 9*8(t0)
    sd      x10, 10*8(t0)
    sd      x11, 11*8(t0)
    sd      x17, 17*8(t0)
    sd      x18, 18*8(t0)
    sd      x19, 19*8(t0)
    sd      x20, 20*8(t0)
    sd      x21, 21*8(t0)
    sd      x22, 22*8(t0)
    sd      x23, 23*8(t0)
    sd      x24, 24*8(t0)
    sd      x25, 25*8(t0)
    sd      x26, 26*8(t0)
    sd      x27, 27*8(t0)
    csrrw   t1, sscratch, zero      /* the user sp; from here on: kernel mode */
    sd      t1, 2*8(t0)
    csrr    t1, sepc
    addi    t1, t1, 4
    sd      t1, REGS_PC(t0)
    mv      tp, sp
    ld      sp, CPU_KERNEL_SP(tp)
.endm

/* The message words a2-a5 into the arch_regs_t at t0. */
.macro SAVE_MESSAGE
    sd      x12, 12*8(t0)
    sd      x13, 13*8(t0)
    sd      x14, 14*8(t0)
    sd      x15, 15*8(t0)
.endm

.macro SYSCALL_SAVE
    SYSCALL_SAVE_BUT_MESSAGE
    SAVE_MESSAGE
.endm

    .section .text.trap, "ax", @progbits
    .balign 4                       /* stvec BASE must be 4-byte aligned */
    .globl riscv_trap_entry
riscv_trap_entry:
    csrrw   sp, sscratch, sp
    bnez    sp, .Lfrom_user
    csrrw   sp, sscratch, sp        /* kernel: sp back, sscratch 0 again */
    j       .Lfrom_kernel

.Lfrom_user:
    /* sp = struct riscv_cpu, sscratch = user sp. Free t0 for the cause:
     * a syscall saves fewer registers (.Lsyscall). Otherwise t0 points at
     * the thread's arch_regs_t and everything is saved. */
    sd      t0, CPU_SCRATCH(sp)
    csrr    t0, scause
    addi    t0, t0, -EXC_ECALL_U
    beqz    t0, .Lsyscall
.Lfrom_user_trap:
    ld      t0, CPU_USER_REGS(sp)
    sd      x1, 1*8(t0)
    sd      x3, 3*8(t0)
    sd      x4, 4*8(t0)
    sd      x6, 6*8(t0)
    sd      x7, 7*8(t0)
    sd      x8, 8*8(t0)
    sd      x9, 9*8(t0)
    sd      x10, 10*8(t0)
    sd      x11, 11*8(t0)
    sd      x12, 12*8(t0)
    sd      x13, 13*8(t0)
    sd      x14, 14*8(t0)
    sd      x15, 15*8(t0)
    sd      x16, 16*8(t0)
    sd      x17, 17*8(t0)
    sd      x18, 18*8(t0)
    sd      x19, 19*8(t0)
    sd      x20, 20*8(t0)
    sd      x21, 21*8(t0)
    sd      x22, 22*8(t0)
    sd      x23, 23*8(t0)
    sd      x24, 24*8(t0)
    sd      x25, 25*8(t0)
    sd      x26, 26*8(t0)
    sd      x27, 27*8(t0)
    sd      x28, 28*8(t0)
    sd      x29, 29*8(t0)
    sd      x30, 30*8(t0)
    sd      x31, 31*8(t0)
    csrrw   t1, sscratch, zero      /* the user sp; from here on: kernel mode */
    sd      t1, 2*8(t0)
    ld      t1, CPU_SCRATCH(sp)
    sd      t1, 5*8(t0)             /* user t0 */
    csrr    t1, sepc
    sd      t1, REGS_PC(t0)
    mv      tp, sp
    ld      sp, CPU_KERNEL_SP(tp)
    END_BACKTRACE
    li      ra, 0
    j       riscv_user_trap         /* does not return */

    /* A syscall (ecall from U-mode). kernel/abi.toml declares that it
     * clobbers ra, t0-t6 and a6 (riscv64 clobbers), so only the other
     * registers are saved: the skipped slots keep older values of this
     * same thread, which the way out may restore without leaking anything.
     * Then: resume after the ecall (never compressed), try the fast path
     * for Call, ReplyRecv, Yield, Recv or Send, chosen on the number in a7
     * (each returns only if the general path must run), and go on to the
     * general path.
     *
     * The fast paths get the message words still in a2-a5, unsaved: a0-a5
     * as the ecall left them are the C arguments of kernel_fastpath_call()
     * and the others (ARCH_FASTPATH_MESSAGE_IN_CPU), which pass the words
     * on to their ways out (arch_fastpath_deliver,
     * arch_fastpath_resume_words) in the same registers, or store them in
     * the frame where they decline or the thread blocks. Every other
     * syscall stores them before the general path. */
.Lsyscall:
    SYSCALL_SAVE_BUT_MESSAGE
    /* The numbers come from the hart's struct (BK_SYS_CALL and the others,
     * or none once several harts run user threads:
     * arch_cpu_smp_mode()), at the cost of the li they replace. */
    ld      t1, CPU_FAST_CALL_NR(tp)
    beq     a7, t1, .Lfast_call
    ld      t1, CPU_FAST_REPLY_RECV_NR(tp)
    beq     a7, t1, .Lfast_reply_recv
    ld      t1, CPU_FAST_YIELD_NR(tp)
    beq     a7, t1, .Lfast_yield
    ld      t1, CPU_FAST_RECV_NR(tp)
    beq     a7, t1, .Lfast_recv
    ld      t1, CPU_FAST_SEND_NR(tp)
    beq     a7, t1, .Lfast_send
    SAVE_MESSAGE
    END_BACKTRACE
    /* kernel_syscall, or kernel_syscall_smp (the lock first) once several
     * harts run user threads: one load here instead of a test there. */
    ld      t1, CPU_SYSCALL_ENTRY(tp)
    jr      t1                      /* does not return */

    /* A fast path that returns leaves the syscall to the general path of
     * one CPU, since a number matched, so this hart runs alone
     * (arch_cpu_smp_mode() takes the numbers away, points syscall_entry
     * at kernel_syscall_smp and moves the hart to the vector below at
     * once, on the hart itself, in one kernel entry): kernel_ipc_syscall,
     * or kernel_syscall for a Yield. */
.Lfast_call:
    jal     kernel_fastpath_call    /* returns only for the general path */
    END_BACKTRACE
    j       kernel_ipc_syscall
.Lfast_reply_recv:
    jal     kernel_fastpath_reply_recv
    END_BACKTRACE
    j       kernel_ipc_syscall
.Lfast_yield:
    jal     kernel_fastpath_yield
    END_BACKTRACE
    j       kernel_syscall
.Lfast_recv:
    jal     kernel_fastpath_recv
    END_BACKTRACE
    j       kernel_ipc_syscall
.Lfast_send:
    jal     kernel_fastpath_send
    END_BACKTRACE
    j       kernel_ipc_syscall

    /* The vector once several harts run user threads (stvec, set on each
     * hart by arch_cpu_smp_mode()): the one above, but a syscall tries the
     * fast paths without the kernel lock, then goes to
     * kernel_syscall_smp(), which takes the lock and tries them under it;
     * the compares above could not match then (arch_cpu_smp_mode() gives
     * them numbers no syscall has). A Call or ReplyRecv goes as one
     * hart's does, the message words unsaved in a2-a5
     * (kernel_fastpath_unlocked_call(), which stores them where it
     * returns); any other syscall saves every register and
     * kernel_fastpath_unlocked() tries the rest (Yield, Recv, Send: it
     * returns at once for the others). */
    .balign 4
    .globl riscv_trap_entry_smp
riscv_trap_entry_smp:
    csrrw   sp, sscratch, sp
    bnez    sp, 1f
    csrrw   sp, sscratch, sp        /* kernel: sp back, sscratch 0 again */
    j       .Lfrom_kernel
1:  sd      t0, CPU_SCRATCH(sp)
    csrr    t0, scause
    addi    t0, t0, -EXC_ECALL_U
    bnez    t0, .Lfrom_user_trap
    SYSCALL_SAVE_BUT_MESSAGE
    END_BACKTRACE
    li      t1, BK_SYS_CALL
    beq     a7, t1, .Lsmp_call
    li      t1, BK_SYS_REPLY_RECV
    beq     a7, t1, .Lsmp_reply_recv
    SAVE_MESSAGE
    mv      a0, a7
    jal     kernel_fastpath_unlocked
    j       kernel_syscall_smp      /* does not return */
.Lsmp_call:
    jal     kernel_fastpath_unlocked_call /* returns with the words in the frame */
    j       kernel_syscall_smp
.Lsmp_reply_recv:
    jal     kernel_fastpath_unlocked_reply_recv
    j       kernel_syscall_smp

.Lfrom_kernel:
    addi    sp, sp, -KFRAME_SIZE
    sd      x1, 1*8(sp)
    sd      x3, 3*8(sp)
    sd      x4, 4*8(sp)
    sd      x5, 5*8(sp)
    sd      x6, 6*8(sp)
    sd      x7, 7*8(sp)
    sd      x8, 8*8(sp)
    sd      x9, 9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
    addi    t0, sp, KFRAME_SIZE
    sd      t0, 2*8(sp)             /* sp before the trap */
    sd      zero, 0(sp)
    csrr    t0, sepc
    sd      t0, KFRAME_SEPC(sp)
    csrr    t0, sstatus
    sd      t0, KFRAME_SSTATUS(sp)
    csrr    t0, scause
    sd      t0, KFRAME_SCAUSE(sp)
    csrr    t0, stval
    sd      t0, KFRAME_STVAL(sp)
    mv      a0, sp
    jal     riscv_kernel_trap
    ld      t0, KFRAME_SEPC(sp)
    csrw    sepc, t0
    ld      t0, KFRAME_SSTATUS(sp)
    csrw    sstatus, t0
    ld      x1, 1*8(sp)
    ld      x3, 3*8(sp)
    ld      x4, 4*8(sp)
    ld      x5, 5*8(sp)
    ld      x6, 6*8(sp)
    ld      x7, 7*8(sp)
    ld      x8, 8*8(sp)
    ld      x9, 9*8(sp)
    ld      x10, 10*8(sp)
    ld      x11, 11*8(sp)
    ld      x12, 12*8(sp)
    ld      x13, 13*8(sp)
    ld      x14, 14*8(sp)
    ld      x15, 15*8(sp)
    ld      x16, 16*8(sp)
    ld      x17, 17*8(sp)
    ld      x18, 18*8(sp)
    ld      x19, 19*8(sp)
    ld      x20, 20*8(sp)
    ld      x21, 21*8(sp)
    ld      x22, 22*8(sp)
    ld      x23, 23*8(sp)
    ld      x24, 24*8(sp)
    ld      x25, 25*8(sp)
    ld      x26, 26*8(sp)
    ld      x27, 27*8(sp)
    ld      x28, 28*8(sp)
    ld      x29, 29*8(sp)
    ld      x30, 30*8(sp)
    ld      x31, 31*8(sp)
    addi    sp, sp, KFRAME_SIZE
    sret

/* ld xN, N*8(base) for each N of `regs`: a thread's registers from its
 * arch_regs_t. */
.macro LOAD_REGS base:req, regs:vararg
    .irp r, \regs
    ld      x\r, \r*8(\base)
    .endr
.endm

/*
 * riscv_return_to_user(regs): a0 = the arch_regs_t to resume. The caller
 * has set satp and sstatus (SPP = U, SPIE = 1) with interrupts off and tp
 * = this hart's struct riscv_cpu, which goes into sscratch for the next
 * trap as late as possible (a fault before that is still a kernel fault).
 * The loads go through a1, as the fast path leaves it, after the fast
 * path's code; a1 is loaded last since it points at the registers.
 */
    .globl riscv_return_to_user
    .globl arch_fastpath_resume
riscv_return_to_user:
/* arch_fastpath_resume(regs) (kernel/arch.h), the Yield fast path's way
 * out, is the same: the thread that made the ecall goes on, with satp,
 * sstatus (SPP = U, SPIE = 1 from the ecall; FS as it ran) and scounteren
 * its own already. */
arch_fastpath_resume:
    mv      a1, a0
    j       .Lreturn_from_a1

/*
 * arch_fastpath_switch(from, to, vs) (kernel/arch.h): a0 = the registers
 * of the blocked thread, a1 = those of the thread to resume, a2 = its
 * address space, tp = this hart's struct riscv_cpu. The IPC fast path's
 * way out, in assembly so that it needs no stack frame: nothing of `from`
 * stays in the CPU (its registers were saved on entry).
 *
 * The counters and the FPU first, with one compare in the common case:
 * the hart's exit_key (cpu.h) equals to's counters_off only when no thread
 * owns the FPU and the hart runs with to's counters already, and then
 * neither needs anything (3 instructions). Otherwise .Lfast_exit_slow does
 * both, as follows, and comes back to .Lfast_space.
 *
 * scounteren is written only when `to` runs with other counters than the
 * hart has now (TCB: SetCounterAccess; user.c).
 *
 * The FPU by fpu.c's rules. When the hart's FPU owner is neither thread,
 * sstatus.FS is Off (from ran with it Off) and stays Off for `to`. When
 * `to` is the owner it gets its recorded FS back. When `from` is, FS is
 * its live value: Dirty is recorded (its registers stay live), anything
 * else gives the FPU up (the saved copy is current); and a `to` that wrote
 * its FP registers in its last turn (fpu_eager) gets them loaded here
 * rather than at a trap. exit_key follows every change of counters_off or
 * of whether there is an owner (a hand-over keeps one).
 *
 * satp is left alone when it holds vs already (cpu->satp == vs->satp) and
 * written without asid_activate() when vs's ASID is of the live generation
 * (asid.c says why both are exact), falling through to the resume in both
 * cases; anything else goes to riscv_fastpath_new_asid() (user.c). The
 * rest of sstatus needs nothing: the ecall from U-mode left SPP = 0 and
 * SPIE = 1, and SUM and VS never change. Then it falls into the return to
 * user mode. The common case costs 14 instructions to here with a satp
 * write (3 + 9 for satp + 2 stores), 8 without (3 + 3 + 2), and the
 * return 35 more (kernel/fastpath.c has the whole budget).
 */
    .globl arch_fastpath_switch
arch_fastpath_switch:
    ld      t0, REGS_COUNTERS_OFF(a1)
    ld      t1, CPU_EXIT_KEY(tp)
    bne     t0, t1, .Lfast_exit_slow
.Lfast_space:
    ld      t0, VS_SATP(a2)
    ld      t1, CPU_SATP(tp)
    beq     t0, t1, .Lfast_resume
    ld      t2, VS_ASID_GENERATION(a2)
    ld      t3, asid_live_generation
    bne     t2, t3, .Lfast_new_asid
    csrw    satp, t0
    sd      t0, CPU_SATP(tp)
.Lfast_resume:
    sd      a1, CPU_USER_REGS(tp)
    sd      a2, CPU_USER_VSPACE(tp)
    /* falls into the return to user mode, a1 = the registers */
.Lreturn_from_a1:
    ld      t0, REGS_PC(a1)
    csrw    sepc, t0
    LOAD_REGS a1, 1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    csrw    sscratch, tp
    ld      x4, 4*8(a1)
    ld      x11, 11*8(a1)
    sret

.Lfast_new_asid:
    j       riscv_fastpath_new_asid

/* The return to user mode from the arch_regs_t at a0 but a1-a5, which
 * hold what the thread gets already; a0 is loaded last, sscratch set just
 * before (as .Lreturn_from_a1 does). */
.macro RETURN_BUT_A1_TO_A5
    ld      t0, REGS_PC(a0)
    csrw    sepc, t0
    LOAD_REGS a0, 1, 2, 3, 5, 6, 7, 8, 9, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    csrw    sscratch, tp
    ld      x4, 4*8(a0)
    ld      x10, 10*8(a0)
    sret
.endm

/*
 * arch_fastpath_resume_words(regs, info, w0, w1, w2, w3) (kernel/arch.h):
 * a0 = the registers the current thread's ecall saved (all but a2-a5,
 * which the entry left in place and the fast path passed on), a1 = the
 * info it gets. The Yield's and the notification fast paths' way back to
 * the thread that made the ecall, as arch_fastpath_resume.
 */
    .globl arch_fastpath_resume_words
arch_fastpath_resume_words:
    RETURN_BUT_A1_TO_A5

/*
 * arch_fastpath_deliver(to, vs, w0, w1, w2, w3) (kernel/arch.h), the IPC
 * fast path's way out: a0 = the registers of the thread to resume, a1 =
 * its address space, a2-a5 = the message words, which the caller's ecall
 * left there and the fast path passed on (the entry did not save them).
 * The fast path wrote the badge and
 * the info into to's frame; the words past the info's length arrive as 0,
 * as the general path's transfer() leaves them, so that no word of the
 * sender's registers beyond its message reaches the receiver, then
 * everything else of to's comes from its frame. Only the common case is
 * here: the hart's exit_key equal to to's counters_off, and vs's satp
 * current or of the live ASID generation (arch_fastpath_switch says why
 * these are exact); anything else stores the words into to's frame and
 * goes the switch's way with from = the caller's frame. For 0 words the
 * words cost 7 instructions (the info's length and four zeros) where
 * their store, copy and load cost 16.
 */
    .globl arch_fastpath_deliver
arch_fastpath_deliver:
    ld      t0, 11*8(a0)
    andi    t0, t0, 0x7f            /* the length (fastpath.c asserts the mask); at most 4 there */
    beqz    t0, .Lmessage_0
    addi    t0, t0, -2
    bltz    t0, .Lmessage_1
    beqz    t0, .Lmessage_2
    addi    t0, t0, -1
    beqz    t0, .Lmessage_3
    j       .Lmessage_4
.Lmessage_0:
    li      a2, 0
.Lmessage_1:
    li      a3, 0
.Lmessage_2:
    li      a4, 0
.Lmessage_3:
    li      a5, 0
.Lmessage_4:
    ld      t0, REGS_COUNTERS_OFF(a0)
    ld      t1, CPU_EXIT_KEY(tp)
    bne     t0, t1, .Ldeliver_by_frame
    ld      t0, VS_SATP(a1)
    ld      t1, CPU_SATP(tp)
    beq     t0, t1, .Ldeliver_resume
    ld      t2, VS_ASID_GENERATION(a1)
    ld      t3, asid_live_generation
    bne     t2, t3, .Ldeliver_by_frame
    csrw    satp, t0
    sd      t0, CPU_SATP(tp)
.Ldeliver_resume:
    sd      a0, CPU_USER_REGS(tp)
    sd      a1, CPU_USER_VSPACE(tp)
    ld      x11, 11*8(a0)
    RETURN_BUT_A1_TO_A5

    /* The rare cases: the words go into to's frame (zeroed past the
     * length already), and the switch's way, which loads them from there,
     * does the rest. */
.Ldeliver_by_frame:
    sd      x12, 12*8(a0)
    sd      x13, 13*8(a0)
    sd      x14, 14*8(a0)
    sd      x15, 15*8(a0)
    mv      a2, a1
    mv      a1, a0
    ld      a0, CPU_USER_REGS(tp)   /* from: the caller's, still current */
    j       arch_fastpath_switch

    /* t0 = to's counters_off, which differs from exit_key: the counters
     * differ, or some thread owns the FPU, or both. */
.Lfast_exit_slow:
    ld      t1, CPU_COUNTERS_OFF(tp)
    beq     t0, t1, .Lfast_fpu
    /* scounteren = the kernel's counters less those `to` runs without
     * (t0), as user.c's counters_switch() writes it; exit_key keeps its
     * FPU bit. */
    li      t1, SCOUNTEREN_USER
    not     t2, t0
    and     t1, t1, t2
    csrw    scounteren, t1
    sd      t0, CPU_COUNTERS_OFF(tp)
    ld      t1, CPU_EXIT_KEY(tp)
    andi    t1, t1, CPU_EXIT_KEY_FPU
    or      t1, t1, t0
    sd      t1, CPU_EXIT_KEY(tp)
.Lfast_fpu:
    ld      t0, CPU_FPU_OWNER(tp)
    beq     t0, a0, .Lfast_from_fpu_owner
    beq     t0, a1, .Lfast_to_fpu_owner
    j       .Lfast_space

.Lfast_to_fpu_owner:
    ld      t1, REGS_FPU_FS(a1)
    csrs    sstatus, t1
    j       .Lfast_space

.Lfast_from_fpu_owner:
    csrr    t1, sstatus
    li      t2, SSTATUS_FS
    and     t1, t1, t2              /* from's live FS */
    ld      t3, REGS_FPU_EAGER(a1)
    bnez    t3, .Lfast_fpu_hand_over
    csrc    sstatus, t2             /* `to` runs with FS Off */
    bne     t1, t2, .Lfast_fpu_give_up
    sd      t1, REGS_FPU_FS(a0)     /* Dirty: its registers stay live */
    sd      t1, REGS_FPU_EAGER(a0)  /* nonzero: it wrote them this turn */
    j       .Lfast_space
.Lfast_fpu_give_up:
    sd      zero, REGS_FPU_FS(a0)   /* Off */
    sd      zero, CPU_FPU_OWNER(tp)
    ld      t1, CPU_COUNTERS_OFF(tp)
    sd      t1, CPU_EXIT_KEY(tp)    /* no owner now */
    j       .Lfast_space

    /* fpu.c's hand_fpu_to(to) after from's turn, with FS still on (from's)
     * so the FP instructions run; riscv_fpu_save/load use only a0, t0, ra.
     * There is still an owner: exit_key stays. */
.Lfast_fpu_hand_over:
    bne     t1, t2, 1f              /* from Clean: its saved copy is current */
    sd      t1, REGS_FPU_EAGER(a0)
    jal     riscv_fpu_save
1:  sd      zero, REGS_FPU_FS(a0)
    mv      a0, a1
    jal     riscv_fpu_load
    li      t1, SSTATUS_FS_CLEAN
    csrc    sstatus, t2
    csrs    sstatus, t1
    sd      t1, REGS_FPU_FS(a1)
    sd      zero, REGS_FPU_EAGER(a1) /* a new turn */
    sd      a1, CPU_FPU_OWNER(tp)
    j       .Lfast_space
