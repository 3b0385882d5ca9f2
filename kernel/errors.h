/*
 * Error codes of the object methods, and the details a failing method
 * reports besides its code.
 *
 * The codes and the lookup failure kinds are defined once, in
 * kernel/abi.toml; the enums below are made from the generated lists, so
 * the kernel has a typed name for each (a switch over kerror_t is checked
 * by the compiler) and no number of its own. The syscall layer returns
 * them to user space.
 */
#pragma once

#include "types.h"

#include <bulkhead/abi.h>

/* KERR_<NAME> = BK_ERR_<NAME> for every code in kernel/abi.toml. */
#define KERR_FROM_ABI(name, value) KERR_##name = (value),
typedef enum kerror {
    KERR_OK = 0, /* success */
    BK_ERRORS(KERR_FROM_ABI)
    /* Kernel-internal, never seen by user space: the method did a bounded
     * part of its work and the rest is still to do. invoke.c then rewinds
     * the caller to its syscall instruction (arch_regs_restart_syscall()),
     * so the same invocation runs again on its next return to user mode. */
    KERR_RESTART = 0x100,
} kerror_t;
#undef KERR_FROM_ABI

/* Why a capability-space lookup failed (kind), with what a fault handler
 * needs to tell the user which bits were wrong: LOOKUP_FAULT_<NAME> =
 * BK_LOOKUP_FAULT_<NAME>, documented in kernel/abi.toml [[lookup_faults]]. */
#define LOOKUP_FAULT_FROM_ABI(name, value) LOOKUP_FAULT_##name = (value),
enum lookup_fault_kind {
    LOOKUP_FAULT_NONE = 0,
    BK_LOOKUP_FAULTS(LOOKUP_FAULT_FROM_ABI)
};
#undef LOOKUP_FAULT_FROM_ABI

struct lookup_fault {
    enum lookup_fault_kind kind;
    unsigned bits_left;      /* address bits not yet consumed where the lookup stopped */
    unsigned bits_needed;    /* depth mismatch: guard + radix bits of the CNode reached */
    unsigned guard_size;     /* guard mismatch: the guard's width in bits */
    uint64_t guard_found;    /* guard mismatch: the address bits in the guard's place */
    uint64_t guard_expected; /* guard mismatch: the CNode cap's guard */
};

/* Details of a failure, written by the method that failed (fields that do
 * not apply to the code are left untouched): enough for an error message a
 * person can act on, and for the fault message a later syscall layer sends. */
struct kerror_info {
    uint64_t range_min, range_max; /* KERR_RANGE: the accepted bounds */
    uint64_t mem_asked;            /* KERR_NOT_ENOUGH_MEMORY: bytes the objects need */
    uint64_t mem_left;             /* KERR_NOT_ENOUGH_MEMORY: bytes usable at their alignment */
    bool lookup_was_source;        /* KERR_FAILED_LOOKUP: the source (not destination) slot */
    struct lookup_fault lookup;    /* KERR_FAILED_LOOKUP: why */
};
