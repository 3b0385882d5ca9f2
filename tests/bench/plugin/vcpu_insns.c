/*
 * A QEMU TCG plugin that counts the instructions each vCPU executes and
 * prints the count whenever a vCPU executes a bench marker: the per-CPU
 * counter the multi-core benchmark needs (issue 16). Under -icount all vCPUs
 * share one virtual clock, so a TSC or instret difference read on one CPU
 * includes whatever the others ran meanwhile; this count does not.
 *
 * A marker is an instruction that does nothing, with a number in it that no
 * compiler emits (tests/bench/bulkhead/smp_marker.h):
 *   x86-64:  nopl 0x424b4d00+id(%rax)       bytes 0f 1f 80 <disp32>
 *   RISC-V:  slti x0, x0, 0x7a0+id          (a HINT: writes x0)
 * with id 0..31. Each execution prints one line to QEMU's log (-d plugin):
 *   BKMARK <vcpu> <id> <instructions this vCPU executed before the marker>
 * and tools/bench/run.py pairs the lines into per-operation counts.
 *
 * Counting: every translation block adds its length to its vCPU's count when
 * it starts, so a marker subtracts the instructions of its block that follow
 * it (they are counted but have not run yet). A block left early by an
 * exception is counted whole: the bench's timed loops take none.
 *
 * QEMU's plugin header is not packaged by Debian; the plugin API is a stable
 * C interface (version 1 in QEMU 7.2), so the few functions used here are
 * declared in qemu_plugin_api.h, from its documentation.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "qemu_plugin_api.h"

EXPORT int qemu_plugin_version = 1;

/* ---- Counting ------------------------------------------------------------ */

#define MAX_VCPUS 64
#define MARKER_IDS 32 /* RISC-V: 0x7a0 + 31 stays a positive 12-bit immediate */
#define X86_MARKER_BASE 0x424b4d00u
#define RISCV_MARKER_BASE 0x7a0u

/* Each vCPU's count is written only by the thread that runs that vCPU; a
 * cache line each, so that parallel vCPUs (MTTCG) do not share one. */
static struct {
    uint64_t executed;
} __attribute__((aligned(64))) count[MAX_VCPUS];

static void block_runs(unsigned int vcpu, void *length)
{
    if (vcpu < MAX_VCPUS)
        count[vcpu].executed += (uint64_t)(uintptr_t)length;
}

/* udata: the marker's id in bits 0-7, the instructions after it in its
 * block from bit 8 on. */
static void marker_runs(unsigned int vcpu, void *udata)
{
    if (vcpu >= MAX_VCPUS)
        return;
    uint64_t packed = (uint64_t)(uintptr_t)udata;
    char line[80];
    snprintf(line, sizeof line, "BKMARK %u %u %" PRIu64 "\n", vcpu, (unsigned)(packed & 0xff),
             count[vcpu].executed - (packed >> 8));
    qemu_plugin_outs(line);
}

/* The marker id of `insn`, or -1 when it is no marker. */
static int marker_id(const struct qemu_plugin_insn *insn)
{
    const uint8_t *b = qemu_plugin_insn_data(insn);
    size_t size = qemu_plugin_insn_size(insn);
    uint32_t word;
    if (size == 7 && b[0] == 0x0f && b[1] == 0x1f && b[2] == 0x80) {
        memcpy(&word, b + 3, sizeof word);
        if (word - X86_MARKER_BASE < MARKER_IDS)
            return (int)(word - X86_MARKER_BASE);
    } else if (size == 4) {
        memcpy(&word, b, sizeof word);
        uint32_t imm = word >> 20;
        if ((word & 0xfffff) == 0x02013 && imm - RISCV_MARKER_BASE < MARKER_IDS)
            return (int)(imm - RISCV_MARKER_BASE);
    }
    return -1;
}

static void block_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, block_runs, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        int marker = marker_id(insn);
        if (marker >= 0) {
            uint64_t after = n - i - 1;
            qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_runs, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)(after << 8 | (unsigned)marker));
        }
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
