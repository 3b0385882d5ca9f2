/*
 * Basic kernel types. Freestanding: only the compiler's own headers are used.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A physical address. */
typedef uint64_t paddr_t;
/* A virtual address, user or kernel. */
typedef uintptr_t vaddr_t;

#define KB(x) ((uint64_t)(x) << 10)
#define MB(x) ((uint64_t)(x) << 20)
#define GB(x) ((uint64_t)(x) << 30)

#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (__typeof__(x))(a) - 1, (a))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NORETURN _Noreturn
#define UNUSED __attribute__((unused))
#define PACKED __attribute__((packed))
#define BOOT_CODE __attribute__((section(".boot.text")))
