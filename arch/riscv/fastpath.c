/*
 * The IPC fast path's ways out once several harts run user threads:
 * arch_fastpath_switch_smp() (kernel/arch.h), which kernel/fastpath.c
 * leaves by under the kernel lock, and arch_fastpath_switch_unlocked(),
 * its way without the lock, which lowers the hart's flag instead. One
 * hart's way out, arch_fastpath_switch, is trap.S's and never takes the
 * lock.
 *
 * Each is arch_user_enter() and riscv_return_to_user_smp() less what cannot
 * apply when the hart's exit_key equals to's counters_off (cpu.h: no
 * thread owns the FPU, so FS is Off as `from` ran and stays Off for `to`,
 * and the hart runs with to's counters already) and less asid_activate()
 * when vs's ASID is of the live generation (then writing vs->satp is all
 * it would do: asid.c). The ecall left SPP = 0 and SPIE = 1 and nothing on
 * the way changed them, SUM or VS. Anything else takes the general way
 * out, which lets go of the lock itself (or, from the way without it,
 * takes it first: smp_unlocked_to_lock()).
 *
 * Built without frame pointers (arch.cmake), as kernel/fastpath.c, and it
 * leaves only by tail calls to functions declared without NORETURN (user.c,
 * trap.S), so it needs no stack frame.
 */
#include <bulkhead/abi.h>

#include "port.h"

#include "cpu.h"
#include "kernel.h"
#include "riscv.h"
#include "smp.h"

/* What the ways out check first: `to` runs with the hart's counters and
 * no thread owns the FPU (exit_key), and vs's ASID, if the hart must
 * switch to it, is of the live generation. Then satp is written if it
 * changes, and the hart notes the thread and space it enters. False for
 * the general way out. */
static inline __attribute__((always_inline)) bool space_ready(struct riscv_cpu *cpu,
                                                              arch_regs_t *to,
                                                              arch_vspace_t *vs)
{
    uint64_t satp = vs->satp;
    bool switch_space = cpu->satp != satp;
    if (to->counters_off != cpu->exit_key ||
        (switch_space && vs->asid_generation != asid_live_generation))
        return false;
    if (switch_space) {
        csr_write(satp, satp);
        cpu->satp = satp;
    }
    cpu->user_regs = to;
    cpu->user_vspace = vs;
    return true;
}

static inline __attribute__((always_inline)) void fastpath_switch(arch_regs_t *to,
                                                                  arch_vspace_t *vs,
                                                                  bool unlocked)
{
    if (!space_ready(this_cpu(), to, vs)) {
        riscv_fastpath_exit_general(to, vs);
        return;
    }
    if (unlocked) /* the flag last */
        smp_exit_to_user_unlocked_in(vs);
    else /* the lock last */
        smp_exit_to_user_in(vs);
    /* trap.S's register loads, as riscv_return_to_user() (the same code),
     * by a name declared without NORETURN: a tail call. */
    arch_fastpath_resume(to);
}

void arch_fastpath_switch_smp(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    (void)from;
    fastpath_switch(to, vs, false);
}

void arch_fastpath_switch_unlocked(arch_regs_t *from, arch_regs_t *to, arch_vspace_t *vs)
{
    (void)from;
    fastpath_switch(to, vs, true);
}

/* The same with the message words in registers, as trap.S's
 * arch_fastpath_deliver does for one hart: those past the info's length
 * (in to's frame, written by the fast path) arrive as 0, and
 * arch_fastpath_resume_words loads everything else from the frame. The
 * general way out finds them in the frame. */
void arch_fastpath_deliver_unlocked(arch_regs_t *to, arch_vspace_t *vs, uint64_t w0, uint64_t w1,
                                    uint64_t w2, uint64_t w3)
{
    uint64_t info = to->gpr[11], length = BK_MSGINFO_LENGTH(info);
    w0 = length > 0 ? w0 : 0;
    w1 = length > 1 ? w1 : 0;
    w2 = length > 2 ? w2 : 0;
    w3 = length > 3 ? w3 : 0;
    if (!space_ready(this_cpu(), to, vs)) {
        to->gpr[12] = w0;
        to->gpr[13] = w1;
        to->gpr[14] = w2;
        to->gpr[15] = w3;
        riscv_fastpath_exit_general(to, vs);
        return;
    }
    smp_exit_to_user_unlocked_in(vs); /* the flag last */
    arch_fastpath_resume_words(to, info, w0, w1, w2, w3);
}
