/*
 * The Debug capability's methods for a program that holds the cap in slot
 * BK_CAP_DEBUG (the root task from the kernel; a process when its parent
 * asked bk_process_spawn for it): ticks, the clock, cap identification and the
 * kernel's invariant walk. debug_printf and debug_puts (printf.c) write
 * the console through the same cap.
 */
#include <bulkhead/sys.h>

uint64_t debug_ticks(void)
{
    uint64_t ticks = 0;
    sys_debug_ticks(BK_CAP_DEBUG, &ticks);
    return ticks;
}

uint64_t debug_time_ns(void)
{
    uint64_t ns = 0;
    sys_debug_time(BK_CAP_DEBUG, &ns);
    return ns;
}

uint64_t debug_cap_identify(uint64_t cptr)
{
    uint64_t identity = 0;
    sys_debug_cap_identify(BK_CAP_DEBUG, cptr, &identity);
    return identity;
}

long debug_check_invariants(void)
{
    uint64_t violations = 0;
    long r = sys_debug_check_invariants(BK_CAP_DEBUG, &violations);
    return r < 0 ? r : (long)violations;
}
