/*
 * A program the FPU tests (fpu_tests.c) start in an address space of its
 * own: it fills its FPU with the pattern of KT_FPU_SEED_CHILD and Calls
 * its parent, which uses the FPU with values of its own before it
 * replies; then it reports how many of its registers were not its own
 * any more (see fpu_arch.h for the protocol).
 */
#include "fpu_arch.h"

#include <bulkhead/sys.h>

int main(const struct bk_bootinfo *info)
{
    (void)info;
    uint64_t regs[BK_FPU_REG_COUNT];
    /* Fill, Call (blocked until the reply), dump: all in assembly. */
    kt_fpu_fill_syscall_dump(KT_FPU_SEED_CHILD, BK_SYS_CALL, BK_PROCESS_CAP_ARG,
                             bk_msginfo(KT_FPU_CHILD_FILLED, 0), 0, regs);
    struct bk_msg m = { .info = bk_msginfo(KT_FPU_CHILD_REPORT, 1) };
    m.mr[0] = kt_fpu_pattern_mismatches(regs, KT_FPU_SEED_CHILD, "fpu-child");
    sys_call(BK_PROCESS_CAP_ARG, &m);
    return 0;
}
