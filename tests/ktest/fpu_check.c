/*
 * Comparing dumped FPU registers with what a thread should see, shared by
 * the FPU tests (fpu_tests.c) and the program they start in an address
 * space of its own (fpu_child.c); and the checks that the layouts the
 * assembly in tests/ktest/arch/<arch>/fpu_regs.S hard-codes are the C ones.
 */
#include "fpu_arch.h"

#include <stddef.h>

#include <bulkhead/sys.h>

_Static_assert(offsetof(struct kt_nofpu_calls, done) == 8 &&
                   offsetof(struct kt_nofpu_calls, call) == 16 &&
                   sizeof(struct kt_nofpu_call) == 7 * 8 &&
                   offsetof(struct kt_nofpu_call, regs) == 8,
               "fpu_regs.S: kt_nofpu_calls_entry's CALL_SIZE and offsets");
_Static_assert(BK_SYS_THREAD_EXIT == 4, "fpu_regs.S: SYS_THREAD_EXIT");

unsigned kt_fpu_pattern_mismatches(const volatile uint64_t *regs, uint64_t seed, const char *who)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < BK_FPU_REG_COUNT; i++) {
        uint64_t want;
        if (!kt_fpu_pattern(seed, i, &want) || regs[i] == want)
            continue;
        if (bad++ < 4)
            debug_printf("    %s: fpu register %u is %llx, expected %llx\n", who, i,
                         (unsigned long long)regs[i], (unsigned long long)want);
    }
    return bad;
}

unsigned kt_fpu_initial_mismatches(const volatile uint64_t *regs, const char *who)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < BK_FPU_REG_COUNT; i++) {
        if (regs[i] == kt_fpu_initial(i))
            continue;
        if (bad++ < 4)
            debug_printf("    %s: fpu register %u is %llx, expected the initial %llx\n", who, i,
                         (unsigned long long)regs[i], (unsigned long long)kt_fpu_initial(i));
    }
    return bad;
}
