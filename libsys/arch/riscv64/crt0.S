/*
 * RISC-V program entry. The kernel starts a thread with sp at the top of its
 * stack (16-byte aligned, as the psABI requires) and the argument in a0.
 */
    .section .text._start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    li fp, 0                 /* end of the frame-pointer chain */
    li ra, 0
    andi sp, sp, -16
    call bk_start
    unimp                    /* bk_start never returns */
    .size _start, . - _start
