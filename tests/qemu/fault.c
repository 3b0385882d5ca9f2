/*
 * A root task that faults on purpose, one way per build (FAULT_KIND), to
 * test that user faults are reported and stop only the faulting thread:
 * the kernel must carry on (its timer keeps ticking) and shut down with the
 * "user fault" status.
 */
#include <bulkhead/sys.h>

#define FAULT_NULL_READ 1
#define FAULT_WRITE_CODE 2
#define FAULT_EXEC_DATA 3
#define FAULT_ILLEGAL 4
#define FAULT_PRIVILEGED 5
#define FAULT_KERNEL_READ 6
#define FAULT_WRITE_BOOTINFO 7
#define FAULT_VECTOR 8 /* RISC-V only, on a hart with V: the kernel keeps it off */

#ifndef FAULT_KIND
#error "FAULT_KIND must be defined"
#endif

/* A "function" in a writable, non-executable data page. */
static unsigned char data_code[16] = { 0xc3 };

static void privileged_instruction(void)
{
#if defined(__x86_64__)
    __asm__ volatile("hlt");
#else
    unsigned long v;
    __asm__ volatile("csrr %0, sstatus" : "=r"(v));
    (void)v;
#endif
}

/* vsetvli t0, zero, e64 (V spec 1.0, 6.1): the first instruction any vector
 * code runs. With sstatus.VS off it is an illegal instruction (RISC-V
 * privileged spec 3.1.6.6); if the kernel left VS as the firmware set it,
 * it would run, and the vector registers would be shared by all threads. */
static void vector_instruction(void)
{
#if defined(__riscv)
    __asm__ volatile(".word 0x018072d7" ::: "t0", "memory");
#endif
}

int main(const struct bk_bootinfo *bi)
{
    /* Addresses go through a volatile so the compiler emits the access. */
    volatile uintptr_t addr = 0;
    debug_printf("faulttest: kind %d, faulting now\n", FAULT_KIND);
    switch (FAULT_KIND) {
    case FAULT_NULL_READ: (void)*(volatile int *)addr; break;
    case FAULT_WRITE_CODE: addr = (uintptr_t)&main; *(volatile char *)addr = 0; break;
    case FAULT_EXEC_DATA: addr = (uintptr_t)data_code; ((void (*)(void))addr)(); break;
    case FAULT_ILLEGAL: __builtin_trap();
    case FAULT_PRIVILEGED: privileged_instruction(); break;
    case FAULT_KERNEL_READ: addr = 0xffffffff80000000ull; (void)*(volatile int *)addr; break;
    case FAULT_WRITE_BOOTINFO: addr = (uintptr_t)bi; *(volatile uint64_t *)addr = 0; break;
    case FAULT_VECTOR: vector_instruction(); break;
    }
    debug_puts("faulttest: survived the fault?!\n");
    return 1;
}
