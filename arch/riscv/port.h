/*
 * Functions shared between the files of the RISC-V port (not part of the
 * arch interface in kernel/arch.h). One section per file.
 */
#pragma once

#include "arch.h"
#include "cpu.h"
#include "riscv.h"

struct boot_params;
struct fdt;

/* early.c: the C half of boot, called by entry.S on the boot stack. */
NORETURN void riscv_boot_main(uint64_t hart_id, paddr_t dtb_pa, paddr_t kernel_pa);

/* sbi.c: calls into the SBI firmware (RISC-V SBI specification v1.0). */
void sbi_init(void);
void sbi_console_putchar(char c);
void sbi_set_timer(uint64_t when);
void sbi_system_reset(bool failure);
long sbi_hart_start(uint64_t hart_id, paddr_t start_pa, uint64_t opaque);
void sbi_send_ipi(uint64_t hart_id);
/* "OpenSBI 1.1 (SBI 1.0)" or similar, for boot_params.loader. */
void sbi_describe(char *buf, size_t size);

/* console.c: the NS16550A console. `regs` is its mapped register block. */
void uart_init(void *regs, unsigned reg_shift, unsigned reg_width, int rx_line);

/* power.c: `test_device` is the mapped SiFive test finisher, or NULL. */
void power_init(void *test_device);

/* timer.c: the clock and the one-shot timer. timer_find() reads the
 * hart's extensions from the tree (before paging_init_kernel), timer_init()
 * sets the clock's zero and chooses Sstc or SBI. */
void timer_find(const struct fdt *fdt, uint64_t hart_id);
void timer_init(uint64_t timebase_hz);
/* On each other hart: no deadline yet, the way timer_init() chose. */
void riscv_timer_init_hart(void);
bool riscv_timer_has_sstc(void);

/* paging.c: the kernel's own Sv39 tables. */
void paging_set_kernel_phys(paddr_t kernel_pa);
void paging_init_kernel(const struct boot_params *bp);
void *paging_map_device(paddr_t pa, uint64_t size);
bool paging_is_ram(paddr_t pa, uint64_t size);
const uint64_t *paging_kernel_root(void);
paddr_t paging_kernel_phys(void);
uint64_t paging_kernel_size(void);

/* asid.c */
void asid_init(void);
unsigned asid_bits(void);
void asid_activate(struct riscv_cpu *cpu, arch_vspace_t *vs);
/* A space whose asid_generation equals this has a valid ASID (asid.c). */
extern uint64_t asid_live_generation;
void asid_flush_page(const arch_vspace_t *vs, vaddr_t va); /* one page's entries */
void asid_flush_space(const arch_vspace_t *vs);            /* all the space's entries */
void asid_forget_root(paddr_t root);
void asid_release(arch_vspace_t *vs);

/* trap.c: writes `value` to stimecmp; false if that raised an illegal
 * instruction (the trap handler skips it), as it does when the firmware
 * did not give S-mode the Sstc registers (menvcfg.STCE clear). Boot. */
bool riscv_csr_probe_write_stimecmp(uint64_t value);

/* user.c */
void riscv_print_gprs(const uint64_t gpr[32]);

/* fpu.c: per-thread F/D state, switched lazily; the vector unit kept off. */
void fpu_find(const struct fdt *fdt, uint64_t hart_id); /* boot, before paging_init_kernel */
void fpu_init(void);                                     /* boot: FS and VS Off, log line */
bool fpu_first_use(struct riscv_cpu *cpu, arch_regs_t *regs);
uint64_t fpu_switch_on_exit(struct riscv_cpu *cpu, arch_regs_t *to);
void fpu_forget(const arch_regs_t *regs);
/* On an SMP exit to `to` (sstatus.FS already `to`'s: Off unless it owns
 * the FPU), after fpu_switch_on_exit() captured the owner's live FS: the
 * FPU owner, if another thread, stores its state home and gives the
 * registers up (arch_fpu_release(), fpu.c). Inline:
 * every SMP exit asks, and there is seldom such an owner. */
static inline void fpu_release_others(struct riscv_cpu *cpu, const arch_regs_t *to)
{
    if (cpu->fpu_owner && cpu->fpu_owner != to)
        arch_fpu_release();
}

/* The sstatus.FS value `to` runs with, on a way out to it; leaves FS Off.
 * Inline for the common case, a few instructions: no thread owns the FPU
 * (then FS is Off already) and `to` does not get it eagerly. Always
 * inlined: clang keeps calls on paths to a NORETURN call out of line. */
static inline __attribute__((always_inline)) uint64_t fpu_user_fs(struct riscv_cpu *cpu,
                                                                  arch_regs_t *to)
{
    if (!cpu->fpu_owner && !to->fpu_eager)
        return SSTATUS_FS_OFF;
    return fpu_switch_on_exit(cpu, to);
}

/* fpu_switch.S: f0-f31 and fcsr to or from `regs`. The caller has set
 * sstatus.FS to a value other than Off (S-mode FP instructions trap too). */
void riscv_fpu_save(arch_regs_t *regs);
void riscv_fpu_load(const arch_regs_t *regs);
