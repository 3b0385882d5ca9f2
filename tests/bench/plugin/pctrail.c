/*
 * A QEMU TCG plugin that keeps the addresses of the last instructions
 * executed in a ring and writes the ring out each time one of the given
 * instructions (a trigger) executes: where the instructions before a
 * clock read, a marker or a syscall went, instruction by instruction.
 * tools/bench/pc_trail.py runs an image with it and takes the trails apart
 * by function (docs/performance.md, "Taking a path apart").
 *
 * Arguments (-plugin pctrail.so,at=HEX,at=HEX,out=FILE[,ring=N]): up to 8
 * trigger addresses, the output file, the ring's length (a power of two,
 * at most 65536; 8192 by default). Each trigger's execution appends one
 * record: the number of instructions executed so far, the number of
 * addresses that follow (the ring's length, or fewer at the start), then
 * those addresses, oldest first, the trigger's last; all little-endian
 * 64-bit words. One vCPU only (one ring). A callback per instruction makes
 * QEMU some ten times slower: run the scenario's image, not a long bench.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

EXPORT int qemu_plugin_version = 1;

#define MAX_TRIGGERS 8
#define RING_MAX 65536

static uint64_t ring[RING_MAX];
static uint64_t ring_mask = 8191;
static uint64_t executed; /* one vCPU: written by its thread only */
static uint64_t triggers[MAX_TRIGGERS];
static unsigned trigger_count;
static FILE *out;

static void instruction_runs(unsigned int vcpu, void *pc)
{
    (void)vcpu;
    ring[executed++ & ring_mask] = (uint64_t)(uintptr_t)pc;
}

static void trigger_runs(unsigned int vcpu, void *pc)
{
    instruction_runs(vcpu, pc);
    uint64_t n = executed < ring_mask + 1 ? executed : ring_mask + 1;
    uint64_t header[2] = { executed, n };
    fwrite(header, sizeof(header[0]), 2, out);
    for (uint64_t i = executed - n; i < executed; i++)
        fwrite(&ring[i & ring_mask], sizeof(ring[0]), 1, out);
}

static bool is_trigger(uint64_t pc)
{
    for (unsigned i = 0; i < trigger_count; i++) {
        if (triggers[i] == pc)
            return true;
    }
    return false;
}

static void block_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        qemu_plugin_register_vcpu_insn_exec_cb(insn, is_trigger(pc) ? trigger_runs
                                                                    : instruction_runs,
                                               QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)pc);
    }
}

static bool parse(const char *arg)
{
    if (strncmp(arg, "at=", 3) == 0 && trigger_count < MAX_TRIGGERS) {
        triggers[trigger_count++] = strtoull(arg + 3, NULL, 16);
        return true;
    }
    if (strncmp(arg, "out=", 4) == 0) {
        out = fopen(arg + 4, "wb");
        return out != NULL;
    }
    if (strncmp(arg, "ring=", 5) == 0) {
        uint64_t n = strtoull(arg + 5, NULL, 10);
        if (n == 0 || n > RING_MAX || (n & (n - 1)))
            return false;
        ring_mask = n - 1;
        return true;
    }
    return false;
}

int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc,
                        char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!parse(argv[i])) {
            fprintf(stderr, "pctrail: bad argument '%s'\n", argv[i]);
            return -1;
        }
    }
    if (!out || trigger_count == 0) {
        fprintf(stderr, "pctrail: needs out=FILE and at least one at=HEX\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, block_translated);
    return 0;
}
