/*
 * Stopping the machine. Under QEMU the SiFive test finisher (device tree
 * compatible "sifive,test0"/"sifive,test1") ends the process: writing
 * 0x3333 | (code << 16) to its register makes QEMU exit with `code`, so
 * kernel status s becomes exit code 0x20 + s (32 pass, 33 fail, 34 user
 * fault, 35 panic; tools decode it). Without one, the SBI system reset
 * extension powers off (QEMU then exits 0 whatever the reason), and if
 * even that returns the hart sleeps forever.
 */
#include "port.h"

#include "riscv.h"

#define TEST_FINISHER_FAIL 0x3333 /* the "fail" command carries a code */
#define EXIT_CODE_BASE 0x20

static volatile uint32_t *test_finisher;

BOOT_CODE void power_init(void *test_device)
{
    test_finisher = test_device;
}

void arch_shutdown(int status)
{
    uint32_t code = EXIT_CODE_BASE + ((uint32_t)status & 0xFF);
    if (test_finisher)
        *test_finisher = TEST_FINISHER_FAIL | code << 16;
    sbi_system_reset(status != 0);
    for (;;) {
        csr_clear(sstatus, SSTATUS_SIE);
        __asm__ volatile("wfi");
    }
}
