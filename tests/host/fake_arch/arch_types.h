/*
 * The fake architecture used by host unit tests: the same names every port
 * defines in its <arch_types.h>, with host-friendly values.
 */
#pragma once

#include <stdint.h>

#include <bulkhead/abi.h>

#define ARCH_NAME "host"
#define ARCH_ELF_MACHINE BK_ELF_MACHINE_X86_64 /* tests use x86-64 ELF files */
#define ARCH_PAGE_SIZE ((unsigned)BK_PAGE_SIZE)
#define ARCH_USER_VADDR_MAX 0x0000800000000000ull
#define ARCH_PT_LEVELS 3
#define ARCH_LARGE_PAGE_BITS 21

typedef struct arch_regs {
    uint64_t gpr[32];
    uint64_t pc;
    uint64_t sp;
} arch_regs_t;

/* The syscall argument registers: gpr[10..15], as on RISC-V. */
static inline uint64_t *arch_regs_args(arch_regs_t *regs)
{
    return &regs->gpr[10];
}

typedef struct arch_vspace {
    uint64_t root;
} arch_vspace_t;
