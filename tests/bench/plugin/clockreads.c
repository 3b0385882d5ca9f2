/*
 * A QEMU TCG plugin that prints the instruction count at every reading of a
 * clock: x86-64 `rdtsc`, RISC-V `rdtime` and `rdinstret` (csrrs rd, time or
 * instret, x0), in user mode and in the kernel alike. One line each to
 * QEMU's log (-d plugin):
 *   BKPC <address of the instruction, hex> <instructions executed before it>
 * tools/bench/wakeup_trace.py runs the bench image with it and takes the
 * CPU-isolation victim's wake-ups apart: from the refill's due instant to the
 * kernel's charging read, from there to the victim's reading, and on to its
 * Yield's (docs/performance.md, "Why the rows moved after the refill join").
 * One vCPU only (one count). A block left early by an exception is counted
 * whole, as in vcpu_insns.c (whose API declarations this repeats): near the
 * CPU-isolation victim the counts agree with RISC-V's instret exactly and
 * with x86-64's TSC within tens of instructions, except inside the syscall
 * hog's long calls on x86-64.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

EXPORT int qemu_plugin_version = 1;

/* ---- Counting ------------------------------------------------------------ */

static uint64_t executed; /* one vCPU: written by its thread only */

static void block_runs(unsigned int vcpu, void *length)
{
    (void)vcpu;
    executed += (uint64_t)(uintptr_t)length;
}

/* A clock read's address, and how many instructions of its block follow it
 * (counted when the block began, not run yet). */
struct site {
    uint64_t pc, after;
};

static void clock_read_runs(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    const struct site *s = udata;
    char line[80];
    snprintf(line, sizeof line, "BKPC %" PRIx64 " %" PRIu64 "\n", s->pc, executed - s->after - 1);
    qemu_plugin_outs(line);
}

/* rdtsc (0f 31), or csrrs rd, time/instret, x0 (rdtime, rdinstret). */
static bool is_clock_read(const struct qemu_plugin_insn *insn)
{
    const uint8_t *b = qemu_plugin_insn_data(insn);
    size_t size = qemu_plugin_insn_size(insn);
    if (size == 2)
        return b[0] == 0x0f && b[1] == 0x31;
    if (size != 4)
        return false;
    uint32_t word;
    memcpy(&word, b, sizeof word);
    uint32_t csr = word >> 20;
    return (word & 0x000ff07fu) == 0x00002073u && (csr == 0xc01 || csr == 0xc02);
}

static void block_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, block_runs, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (!is_clock_read(insn))
            continue;
        struct site *s = malloc(sizeof *s); /* kept: QEMU may run the block until exit */
        if (!s)
            return;
        s->pc = qemu_plugin_insn_vaddr(insn);
        s->after = n - i - 1;
        qemu_plugin_register_vcpu_insn_exec_cb(insn, clock_read_runs, QEMU_PLUGIN_CB_NO_REGS, s);
    }
}

int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc,
                        char **argv)
{
    (void)info;
    (void)argc;
    (void)argv;
    qemu_plugin_register_vcpu_tb_trans_cb(id, block_translated);
    return 0;
}
