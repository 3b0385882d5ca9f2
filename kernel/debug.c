/*
 * The Debug capability: the kernel's debugging aids (the shared console,
 * the tick counter and the clock, capability identification and the
 * invariant walk) as
 * the methods of kernel/abi.toml's "debug" object. They were syscalls that
 * any thread could make; as methods of a capability the root task holds
 * (slot BK_CAP_DEBUG) and may copy, a tenant without one can neither fill
 * the console nor start the walk over everything it can reach.
 *
 * Invariants:
 *  - a Debug cap names no object and carries nothing (w1 = w2 = 0): the
 *    cap is the authority itself. The kernel makes one, at boot; every
 *    other is a copy of it, so revoking the root task's cap removes all;
 *  - every method checks all of its arguments before it writes a byte or
 *    walks anything (a refused Write prints nothing);
 *  - Debug: CheckInvariants and Debug: IpcPathCounts run only in kernels
 *    built with BULKHEAD_KERNEL_DEBUG; other builds refuse them and keep
 *    no walk and no counters.
 *
 * The console output of these methods is neither rate-limited nor buffered
 * (log.c): whoever holds the cap was trusted with the console by the root
 * task, and its output goes out at once, in order with the kernel's own.
 */
#include <bulkhead/abi.h>

#include "cnode.h"
#include "debug/invariants.h"
#include "invoke.h"
#include "ipc.h"
#include "kernel.h"
#include "smp.h"
#include "vspace.h"

kerror_t debug_invoke_put_char(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    kprintf("%c", (char)inv->args[0]);
    return KERR_OK;
}

/* Checks the whole buffer first, then copies it through a small bounce
 * buffer: user memory is read only through vspace_copy_from_user. */
kerror_t debug_invoke_write(struct invocation *inv, struct kerror_info *info)
{
    struct thread *t = inv->caller;
    vaddr_t buf = inv->args[0];
    uint64_t len = inv->args[1];
    if (len > BK_DEBUG_WRITE_MAX) {
        info->range_min = 0;
        info->range_max = BK_DEBUG_WRITE_MAX;
        return KERR_RANGE;
    }
    if (!vspace_user_range_ok(t->vspace, buf, len, VM_READ))
        return KERR_INVALID_ADDRESS;
    char chunk[64];
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
        vspace_copy_from_user(t->vspace, chunk, buf + done, n);
        for (size_t i = 0; i < n; i++)
            kprintf("%c", chunk[i]);
        done += n;
    }
    inv->results[0] = len;
    inv->result_count = 1;
    return KERR_OK;
}

kerror_t debug_invoke_ticks(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    inv->results[0] = kernel_ticks();
    inv->result_count = 1;
    return KERR_OK;
}

kerror_t debug_invoke_cpu_index(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    inv->results[0] = cpu_here()->index;
    inv->result_count = 1;
    return KERR_OK;
}

kerror_t debug_invoke_time(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    inv->results[0] = arch_time_ns();
    inv->result_count = 1;
    return KERR_OK;
}

/* Answers for any address: an empty slot or a failed lookup is 0, not an
 * error, so a test can ask about a slot it just emptied. */
kerror_t debug_invoke_cap_identify(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    struct cte *slot;
    struct lookup_fault fault;
    uint64_t identity = 0;
    if (cspace_lookup_cap(&inv->caller->cspace_root.cap, inv->args[0], &slot, &fault) == KERR_OK)
        identity = BK_CAP_IDENTITY(cap_type(&slot->cap), cap_rights(&slot->cap));
    inv->results[0] = identity;
    inv->result_count = 1;
    return KERR_OK;
}

kerror_t debug_invoke_check_invariants(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    if (!BULKHEAD_KERNEL_DEBUG)
        return KERR_ILLEGAL_OPERATION; /* a release kernel has no walk to run */
    struct invariant_report report;
    inv->results[0] = invariants_check(inv->caller, &report);
    inv->result_count = 1;
    return KERR_OK;
}

/* Debug: IpcPathCounts' and its siblings' answer: the pair of counters. */
static kerror_t path_counts(struct invocation *inv, const struct ipc_path_counts *counts)
{
    if (!BULKHEAD_KERNEL_DEBUG)
        return KERR_ILLEGAL_OPERATION;
    inv->results[0] = counts->fast;
    inv->results[1] = counts->general;
    inv->result_count = 2;
    return KERR_OK;
}

/* The counters are kept only in debug kernels (ipc.h): elsewhere there is
 * nothing true to report. */
kerror_t debug_invoke_ipc_path_counts(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    return path_counts(inv, &ipc_path_counts);
}

kerror_t debug_invoke_unlocked_counts(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    if (!BULKHEAD_KERNEL_DEBUG)
        return KERR_ILLEGAL_OPERATION;
    inv->results[0] = ipc_path_counts.fast_unlocked;
    inv->results[1] = yield_path_counts.fast_unlocked;
    inv->results[2] = notification_path_counts.fast_unlocked;
    inv->result_count = 3;
    return KERR_OK;
}

kerror_t debug_invoke_yield_path_counts(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    return path_counts(inv, &yield_path_counts);
}

kerror_t debug_invoke_notification_path_counts(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    return path_counts(inv, &notification_path_counts);
}

kerror_t debug_invoke_shootdown_counts(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    inv->results[0] = smp_shootdowns;
    inv->results[1] = smp_shootdown_ipis;
    inv->result_count = 2;
    return KERR_OK;
}

/* Up to 8 received bytes, packed low byte first: a console reader asks
 * once per interrupt and rarely gets more than a line's worth. */
kerror_t debug_invoke_console_read(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    uint64_t bytes = 0, count = 0;
    for (int c; count < 8 && (c = arch_console_getc()) >= 0; count++)
        bytes |= (uint64_t)(uint8_t)c << (8 * count);
    inv->results[0] = bytes;
    inv->results[1] = count;
    inv->result_count = 2;
    return KERR_OK;
}

kerror_t debug_invoke_console_line(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    int line = arch_console_rx_line();
    if (line < 0)
        return KERR_ILLEGAL_OPERATION;
    inv->results[0] = (uint64_t)line;
    inv->result_count = 1;
    return KERR_OK;
}
