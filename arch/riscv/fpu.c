/*
 * Per-thread F/D state, switched lazily with sstatus.FS, and the vector
 * unit, kept off (Privileged 3.1.6.6 for FS and VS).
 *
 * Ownership. Each hart has an FPU owner (riscv_cpu.fpu_owner): the thread
 * whose values f0-f31 and fcsr hold, or none. Only the owner runs with FS
 * on. Every other thread runs with FS = Off, so its first FP instruction
 * (frcsr and fscsr included) traps as an illegal instruction, and
 * fpu_first_use() hands it the FPU: the owner's registers are stored only
 * if its FS is Dirty (the hart sets Dirty on any write to them; Clean
 * means the saved copy is current), the thread's are loaded, and it
 * resumes at the same instruction with FS = Clean. No instruction is
 * decoded: an illegal instruction from the owner, which runs with FS on,
 * is a real fault, and so is a non-FP one from another thread once it
 * traps again as the owner. Threads that never use the FPU cost nothing
 * on a switch; the IPC fast path (trap.S) sees that no thread owns the
 * FPU in the same compare as the counter policy (riscv_cpu.exit_key,
 * which drop_owner() and hand_fpu_to() keep), and otherwise compares the
 * owner with the two threads.
 *
 * Where the owner's FS is kept. While the owner runs, and in the kernel
 * after it trapped, sstatus.FS is its live value; capture_owner_fs() moves
 * it into owner->fpu_fs and turns FS Off, which every way out to user mode
 * to another thread does first (fpu_user_fs(), trap.S's fast path). So in
 * the kernel, FS on means the owner ran last and that is its FS; FS Off
 * means owner->fpu_fs is current. A thread that is not the owner always
 * has fpu_fs Off; the owner's is Clean or Dirty. An owner that leaves the
 * CPU Clean gives up the FPU (nothing to store), so one that stopped
 * using floating point does not keep the switch paths on their slower
 * branches.
 *
 * A thread that wrote its FP registers during its last turn as owner
 * (fpu_eager) gets the FPU eagerly on the way back to it, which saves a
 * trap per switch when both sides of an IPC compute in floating point; a
 * turn without writes puts it back on the lazy path.
 *
 * The vector unit. No vector state is kept per thread, so sstatus.VS is
 * Off for every user thread (set here at boot, cleared again by
 * arch_user_enter()): any vector instruction or vector CSR access traps
 * and is reported as an illegal instruction. OpenSBI turns VS on when the
 * hart has V, which would let vector registers pass between threads.
 *
 * One hart for now. With SMP, a thread that moves to another hart must
 * first have its state stored and its ownership dropped on the old one.
 */
#include "port.h"

#include "board.h"
#include "bk_fdt.h" /* kernel/parse/bk_fdt.h */
#include "kernel.h"
#include "riscv.h"

#define FPU_REG_FCSR 32  /* kernel/abi.toml: f0..f31, then fcsr */
#define FCSR_BITS 0xffu  /* frm (7:5) and fflags (4:0); the rest is reserved */
#define FCSR_FRM_SHIFT 5
#define FRM_MAX_VALID 4  /* 5 and 6 are reserved, 7 (DYN) is invalid in frm */

static bool fpu_present;    /* F and D: threads have f0-f31 and fcsr */
static bool vector_present; /* V: present, but kept off */

/* ---- Boot ------------------------------------------------------------ */

/* Whether the single-letter part of a riscv,isa string ("rv64imafdcvh_
 * zicsr...") names extension `ext`. Canonical order puts F, D and V before
 * every S, Z or X extension and the first '_'; "g" stands for imafd. */
static BOOT_CODE bool isa_has(const char *isa, char ext)
{
    if (strncmp(isa, "rv64", 4) != 0)
        return false;
    for (const char *p = isa + 4; *p && *p != '_' && *p != 's' && *p != 'z' && *p != 'x'; p++)
        if (*p == ext || (*p == 'g' && (ext == 'f' || ext == 'd')))
            return true;
    return false;
}

/* Reads the boot hart's extensions while the tree is still mapped. D
 * implies F; F alone (32-bit registers) is not supported: user programs
 * are built for lp64d. */
BOOT_CODE void fpu_find(const struct fdt *fdt, uint64_t hart_id)
{
    const char *isa = riscv_board_hart_isa(fdt, hart_id);
    if (!isa)
        return;
    fpu_present = isa_has(isa, 'f') && isa_has(isa, 'd');
    vector_present = isa_has(isa, 'v');
}

/* FS and VS Off: no user thread owns anything yet, and OpenSBI may have
 * left both on. FS is WARL and may be read-only zero without an FPU
 * (3.1.6.6): a tree that claims F+D is believed only if FS takes a value. */
BOOT_CODE void fpu_init(void)
{
    csr_clear(sstatus, SSTATUS_FS | SSTATUS_VS);
    if (fpu_present) {
        csr_set(sstatus, SSTATUS_FS_INITIAL);
        fpu_present = (csr_read(sstatus) & SSTATUS_FS) != SSTATUS_FS_OFF;
        csr_clear(sstatus, SSTATUS_FS);
    }
    kprintf("bulkhead: fpu: %s, %s\n",
            fpu_present ? "F+D per thread (lazy, sstatus.FS)"
                        : "no F+D (riscv,isa): FP instructions fault",
            vector_present ? "vector unit present: kept off (VS=Off)" : "no vector unit");
}

/* ---- Ownership ------------------------------------------------------- */

/* Moves the live sstatus.FS, if on, into the owner's fpu_fs and turns FS
 * Off (see the top of this file). Dirty: the owner wrote its registers
 * in this turn, so it will get them eagerly next time. */
static void capture_owner_fs(struct riscv_cpu *cpu)
{
    uint64_t live = csr_read(sstatus) & SSTATUS_FS;
    if (live == SSTATUS_FS_OFF)
        return;
    arch_regs_t *owner = cpu->fpu_owner;
    if (owner) {
        owner->fpu_fs = live;
        if (live == SSTATUS_FS_DIRTY)
            owner->fpu_eager = true;
    }
    csr_clear(sstatus, SSTATUS_FS);
}

/* Brings the owner's saved copy up to date: stores the registers if it
 * wrote them since they were loaded or last stored. FS is Off on entry
 * (captured) and on return. */
static void save_owner_if_dirty(struct riscv_cpu *cpu)
{
    arch_regs_t *owner = cpu->fpu_owner;
    if (!owner || owner->fpu_fs != SSTATUS_FS_DIRTY)
        return;
    csr_set(sstatus, SSTATUS_FS_INITIAL);
    riscv_fpu_save(owner);
    csr_clear(sstatus, SSTATUS_FS);
    owner->fpu_fs = SSTATUS_FS_CLEAN;
}

/* The owner's registers stop counting as live: its saved copy (made
 * current or not, as the caller decided) is what it gets next. */
static void drop_owner(struct riscv_cpu *cpu)
{
    if (!cpu->fpu_owner)
        return;
    cpu->fpu_owner->fpu_fs = SSTATUS_FS_OFF;
    cpu->fpu_owner = NULL;
    cpu_update_exit_key(cpu);
}

/* Makes `regs` the owner for a new turn: the old owner's changes stored,
 * regs' values loaded, FS = Clean recorded for it (FS itself stays Off). */
static void hand_fpu_to(struct riscv_cpu *cpu, arch_regs_t *regs)
{
    capture_owner_fs(cpu);
    save_owner_if_dirty(cpu);
    drop_owner(cpu);
    csr_set(sstatus, SSTATUS_FS_INITIAL);
    riscv_fpu_load(regs);
    csr_clear(sstatus, SSTATUS_FS);
    cpu->fpu_owner = regs;
    cpu_update_exit_key(cpu);
    regs->fpu_fs = SSTATUS_FS_CLEAN;
    regs->fpu_eager = false; /* until it writes in this turn */
}

/* An illegal-instruction trap from the current thread `regs`: true if it
 * did not own the FPU and now does, so it should retry the instruction;
 * false for a real fault (no FPU, or it owns the FPU and ran with FS on). */
bool fpu_first_use(struct riscv_cpu *cpu, arch_regs_t *regs)
{
    if (!fpu_present || regs == cpu->fpu_owner)
        return false;
    hand_fpu_to(cpu, regs);
    return true;
}

/* fpu_user_fs() (port.h) when some thread owns the FPU or `to` gets it
 * eagerly. The last owner's live FS is captured. An owner other than `to`
 * that is not Dirty gives the FPU up, as its saved copy is current: so the
 * owner pointer clears once a thread stops writing FP registers, and the
 * cheap cases apply again. `to` gets the FPU eagerly if it wrote the
 * registers during its last turn. Returns Off unless `to` owns the FPU;
 * leaves FS Off. trap.S's fast path does the same in assembly. */
uint64_t fpu_switch_on_exit(struct riscv_cpu *cpu, arch_regs_t *to)
{
    capture_owner_fs(cpu);
    arch_regs_t *owner = cpu->fpu_owner;
    if (owner && owner != to && owner->fpu_fs != SSTATUS_FS_DIRTY)
        drop_owner(cpu);
    if (to != cpu->fpu_owner && to->fpu_eager)
        hand_fpu_to(cpu, to);
    return to == cpu->fpu_owner ? to->fpu_fs : SSTATUS_FS_OFF;
}

/* `regs` is reset or destroyed: no hart may hold its registers live any
 * more, nor take a later thread at the same address for their owner. */
void fpu_forget(const arch_regs_t *regs)
{
    struct riscv_cpu *cpu = this_cpu();
    if (regs != cpu->fpu_owner)
        return;
    capture_owner_fs(cpu);
    drop_owner(cpu);
}

void arch_fpu_release(void)
{
    struct riscv_cpu *cpu = this_cpu();
    if (!cpu->fpu_owner)
        return;
    capture_owner_fs(cpu);
    save_owner_if_dirty(cpu);
    drop_owner(cpu);
}

void arch_regs_release(arch_regs_t *regs)
{
    fpu_forget(regs);
}

/* ---- Registers by index: f0..f31, then fcsr (kernel/abi.toml) --------- */

unsigned arch_fpu_regs_count(void)
{
    return FPU_REG_FCSR + 1;
}

/* fscsr takes any value, but bits above 7 are reserved and an frm of 5 to
 * 7 makes every FP instruction with dynamic rounding illegal (the
 * unprivileged spec's F chapter, "Floating-Point Control and Status
 * Register"). */
static bool fcsr_valid(uint64_t value)
{
    return value <= FCSR_BITS && value >> FCSR_FRM_SHIFT <= FRM_MAX_VALID;
}

/* Makes regs' saved copy current if the hart holds its registers live. */
static void sync_saved_copy(struct riscv_cpu *cpu, const arch_regs_t *regs)
{
    if (regs != cpu->fpu_owner)
        return;
    capture_owner_fs(cpu);
    save_owner_if_dirty(cpu);
}

uint64_t arch_fpu_reg_get(arch_regs_t *regs, unsigned index)
{
    sync_saved_copy(this_cpu(), regs);
    if (index < FPU_REG_FCSR)
        return regs->fpr[index];
    return index == FPU_REG_FCSR ? regs->fcsr : 0;
}

/* Changes the saved copy; if regs owned the FPU it no longer does, so it
 * loads the changed copy at its next FP instruction. */
bool arch_fpu_reg_set(arch_regs_t *regs, unsigned index, uint64_t value)
{
    if (index > FPU_REG_FCSR || (index == FPU_REG_FCSR && !fcsr_valid(value)))
        return false;
    struct riscv_cpu *cpu = this_cpu();
    sync_saved_copy(cpu, regs);
    if (regs == cpu->fpu_owner)
        drop_owner(cpu);
    if (index < FPU_REG_FCSR)
        regs->fpr[index] = value;
    else
        regs->fcsr = value;
    return true;
}
