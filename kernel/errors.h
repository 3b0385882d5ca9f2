/*
 * Kernel-internal error codes of the object methods, and the details a
 * failing method reports besides its code.
 *
 * The values 1..4 are the ones kernel/abi.toml already gives
 * (BK_ERR_INVALID_SYSCALL .. BK_ERR_RANGE); the others continue the same
 * numbering so the ABI can adopt them unchanged. The syscall layer returns
 * the negated code to user space. Until the ABI generator carries these,
 * this file is their only definition.
 */
#pragma once

#include "types.h"

typedef enum kerror {
    KERR_OK = 0,                  /* success */
    KERR_INVALID_SYSCALL = 1,     /* the syscall number is unknown (ABI) */
    KERR_INVALID_ARGUMENT = 2,    /* an argument is a value the method never accepts */
    KERR_INVALID_ADDRESS = 3,     /* a user buffer is not mapped as needed (ABI) */
    KERR_RANGE = 4,               /* a size, count or depth lies outside [range_min, range_max] */
    KERR_INVALID_CAPABILITY = 5,  /* a capability argument has the wrong type for it */
    KERR_ILLEGAL_OPERATION = 6,   /* the capability's type or state does not allow the method */
    KERR_INSUFFICIENT_RIGHTS = 7, /* the capability lacks a right the method needs */
    KERR_FAILED_LOOKUP = 8,       /* a slot could not be found or was empty; see `lookup` */
    KERR_DELETE_FIRST = 9,        /* a destination slot is not empty */
    KERR_REVOKE_FIRST = 10,       /* the capability has derived children that must go first */
    KERR_NOT_ENOUGH_MEMORY = 11,  /* the untyped has too little free space; see mem_* */
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
