/*
 * Error codes of the object methods, and the details a failing method
 * reports besides its code.
 *
 * The codes are defined once, in kernel/abi.toml; this enum gives the
 * kernel a typed name for each generated BK_ERR_* value, so a switch over
 * kerror_t is checked by the compiler. The syscall layer returns them to
 * user space.
 */
#pragma once

#include "types.h"

#include <bulkhead/abi.h>

typedef enum kerror {
    KERR_OK = 0,                                          /* success */
    KERR_INVALID_SYSCALL = BK_ERR_INVALID_SYSCALL,        /* unknown syscall number */
    KERR_INVALID_ARGUMENT = BK_ERR_INVALID_ARGUMENT,      /* a value the method never accepts */
    KERR_INVALID_ADDRESS = BK_ERR_INVALID_ADDRESS,        /* a user buffer is not mapped */
    KERR_RANGE = BK_ERR_RANGE,                            /* outside [range_min, range_max] */
    KERR_INVALID_CAPABILITY = BK_ERR_INVALID_CAPABILITY,  /* a cap argument of the wrong type */
    KERR_ILLEGAL_OPERATION = BK_ERR_ILLEGAL_OPERATION,    /* the cap's type/state forbids it */
    KERR_INSUFFICIENT_RIGHTS = BK_ERR_INSUFFICIENT_RIGHTS, /* the cap lacks a needed right */
    KERR_FAILED_LOOKUP = BK_ERR_FAILED_LOOKUP,            /* no slot or an empty one; see lookup */
    KERR_DELETE_FIRST = BK_ERR_DELETE_FIRST,              /* a destination slot is not empty */
    KERR_REVOKE_FIRST = BK_ERR_REVOKE_FIRST,              /* derived children must go first */
    KERR_NOT_ENOUGH_MEMORY = BK_ERR_NOT_ENOUGH_MEMORY,    /* untyped too full; see mem_* */
    KERR_TRUNCATED_MESSAGE = BK_ERR_TRUNCATED_MESSAGE,    /* message shorter than the arguments */
    /* Kernel-internal, never seen by user space: the method did a bounded
     * part of its work and the rest is still to do. invoke.c then rewinds
     * the caller to its syscall instruction (arch_regs_restart_syscall()),
     * so the same invocation runs again on its next return to user mode. */
    KERR_RESTART = 0x100,
} kerror_t;

/* Why a capability-space lookup failed (kind), with what a fault handler
 * needs to tell the user which bits were wrong. */
enum lookup_fault_kind {
    LOOKUP_FAULT_NONE = 0,
    LOOKUP_FAULT_INVALID_ROOT,       /* the root capability is not a CNode cap */
    LOOKUP_FAULT_MISSING_CAPABILITY, /* bits were left but the slot holds no CNode cap,
                                        or the slot named is empty */
    LOOKUP_FAULT_DEPTH_MISMATCH,     /* fewer bits were left than the next CNode needs */
    LOOKUP_FAULT_GUARD_MISMATCH,     /* the address bits differ from a CNode's guard */
};

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
