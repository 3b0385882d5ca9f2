/* Helpers of the multi-core test programs (smp_common.h). */
#include "smp_common.h"

uint64_t smpt_cpu_index(void)
{
    uint64_t cpu = ~0ull;
    sys_debug_cpu_index(BK_CAP_DEBUG, &cpu);
    return cpu;
}

long smpt_start_thread(uint64_t untyped, uint64_t tcb, uint64_t sc, uint64_t sched_control,
                       void (*entry)(uint64_t), uint64_t arg, void *stack, size_t stack_size,
                       uint64_t ipc_buffer, unsigned priority)
{
    long r = sys_untyped_retype(untyped, BK_OBJ_TCB, 0, SMPT_ROOT, 0, 0, tcb, 1);
    if (r == 0)
        r = sys_untyped_retype(untyped, BK_OBJ_SCHED_CONTEXT, 0, SMPT_ROOT, 0, 0, sc, 1);
    if (r == 0)
        r = sys_sched_control_configure(sched_control, sc, 10 * SMPT_MS, 10 * SMPT_MS, 1, 0);
    if (r == 0)
        r = sys_sched_context_bind(sc, tcb);
    if (r == 0)
        r = bk_thread_start(tcb, SMPT_ROOT, BK_CAP_ROOT_VSPACE, entry, arg, stack, stack_size,
                            ipc_buffer, priority);
    return r;
}

uint64_t smpt_pick_pool(const struct bk_bootinfo *bi, unsigned *bits)
{
    uint64_t best = 0;
    *bits = 0;
    for (uint32_t i = 0; i < bi->untyped_count; i++) {
        if (!bi->untyped[i].is_device && bi->untyped[i].size_bits > *bits) {
            *bits = bi->untyped[i].size_bits;
            best = bi->untyped[i].slot;
        }
    }
    return best;
}

uint64_t smpt_option(const char *cmdline, const char *key, uint64_t fallback)
{
    size_t n = strlen(key);
    for (const char *p = cmdline; *p; p++) {
        if ((p != cmdline && p[-1] != ' ') || memcmp(p, key, n) != 0)
            continue;
        uint64_t v = 0;
        for (p += n; *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (uint64_t)(*p - '0');
        return v;
    }
    return fallback;
}
