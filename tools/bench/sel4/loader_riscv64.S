/* Entry of the RISC-V loader (loader_riscv64.c): OpenSBI (fw_dynamic) enters
 * here in S-mode with the hart ID in a0 and the device tree's address in a1. */
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la sp, loader_stack + 4096
    .option pop
    call load
1:  wfi
    j 1b
    .section .note.GNU-stack, "", @progbits
