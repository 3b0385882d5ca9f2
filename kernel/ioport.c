/*
 * IOPortControl and IOPort: x86 I/O ports for user-level drivers (see
 * docs/objects.md, "IOPortControl, IOPort"). The kernel performs each
 * access itself through arch_ioport_in/out; user code never gets I/O
 * privilege, so a cap's range is the whole of what its holder can touch.
 *
 * Invariants:
 *  - an IOPort cap names ports first..last with first <= last <= 0xffff,
 *    none of which the kernel drives itself (arch_ioport_range_ok);
 *  - every access of `size` bytes at `port` lies inside the cap's range:
 *    first <= port and port + size - 1 <= last;
 *  - a port without I/O ports (ARCH_HAS_IOPORTS undefined, RISC-V) has no
 *    IOPortControl cap, and every method fails with ILLEGAL_OPERATION
 *    before touching the arch.
 *
 * Unlike seL4, the same ports may be issued more than once: who gets which
 * ports is the root task's policy, and IOPort caps carry no state.
 */
#include "arch.h"
#include "cnode.h"
#include "invoke.h"

#define IOPORT_MAX 0xffffu

#ifdef ARCH_HAS_IOPORTS
#define HAVE_IOPORTS true
static uint32_t port_in(unsigned port, unsigned size)
{
    return arch_ioport_in(port, size);
}

static void port_out(unsigned port, unsigned size, uint32_t value)
{
    arch_ioport_out(port, size, value);
}

static bool range_ok(unsigned first, unsigned last)
{
    return arch_ioport_range_ok(first, last);
}
#else
/* Never reached: the methods return first (see the invariants). */
#define HAVE_IOPORTS false
static uint32_t port_in(unsigned port, unsigned size)
{
    (void)port;
    (void)size;
    return 0;
}

static void port_out(unsigned port, unsigned size, uint32_t value)
{
    (void)port;
    (void)size;
    (void)value;
}

static bool range_ok(unsigned first, unsigned last)
{
    (void)first;
    (void)last;
    return false;
}
#endif

/* ---- IOPortControl: Issue --------------------------------------------------- */

kerror_t ioport_control_invoke_issue(struct invocation *inv, struct kerror_info *info)
{
    uint64_t first = inv->args[0], last = inv->args[1];
    if (!HAVE_IOPORTS)
        return KERR_ILLEGAL_OPERATION;
    if (last > IOPORT_MAX) {
        info->range_min = 0;
        info->range_max = IOPORT_MAX;
        return KERR_RANGE;
    }
    if (first > last || !range_ok((unsigned)first, (unsigned)last))
        return KERR_INVALID_ARGUMENT;
    struct cte *dest;
    kerror_t err = invoke_lookup_empty_slot(inv, inv->args[2], inv->args[3], inv->args[4], &dest,
                                            info);
    if (err != KERR_OK)
        return err;
    /* A child of IOPortControl, as in seL4: revoking it takes every IOPort
     * cap back. */
    cdt_install(dest, cap_make_ioport((uint16_t)first, (uint16_t)last), inv->slot);
    return KERR_OK;
}

/* ---- IOPort: In, Out -------------------------------------------------------- */

/* Checks that `size` bytes at args[0] lie inside the invoked cap's range. */
static kerror_t check_access(const struct invocation *inv, unsigned size, unsigned *port,
                             struct kerror_info *info)
{
    const cap_t *cap = &inv->slot->cap;
    uint64_t p = inv->args[0], first = cap_ioport_first(cap), last = cap_ioport_last(cap);
    if (!HAVE_IOPORTS)
        return KERR_ILLEGAL_OPERATION;
    if (p < first || p > last || last - p < size - 1) {
        info->range_min = first;
        info->range_max = last;
        return KERR_RANGE;
    }
    *port = (unsigned)p;
    return KERR_OK;
}

static kerror_t port_read(struct invocation *inv, unsigned size, struct kerror_info *info)
{
    unsigned port;
    kerror_t err = check_access(inv, size, &port, info);
    if (err != KERR_OK)
        return err;
    inv->results[0] = port_in(port, size);
    inv->result_count = 1;
    return KERR_OK;
}

/* Writes the low `size` bytes of args[1]; higher bits are ignored. */
static kerror_t port_write(struct invocation *inv, unsigned size, struct kerror_info *info)
{
    unsigned port;
    kerror_t err = check_access(inv, size, &port, info);
    if (err != KERR_OK)
        return err;
    uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    port_out(port, size, (uint32_t)inv->args[1] & mask);
    return KERR_OK;
}

kerror_t ioport_invoke_in8(struct invocation *inv, struct kerror_info *info)
{
    return port_read(inv, 1, info);
}

kerror_t ioport_invoke_in16(struct invocation *inv, struct kerror_info *info)
{
    return port_read(inv, 2, info);
}

kerror_t ioport_invoke_in32(struct invocation *inv, struct kerror_info *info)
{
    return port_read(inv, 4, info);
}

kerror_t ioport_invoke_out8(struct invocation *inv, struct kerror_info *info)
{
    return port_write(inv, 1, info);
}

kerror_t ioport_invoke_out16(struct invocation *inv, struct kerror_info *info)
{
    return port_write(inv, 2, info);
}

kerror_t ioport_invoke_out32(struct invocation *inv, struct kerror_info *info)
{
    return port_write(inv, 4, info);
}
