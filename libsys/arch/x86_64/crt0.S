/*
 * x86-64 program entry. The kernel starts a thread with rsp at the top of
 * its stack (16-byte aligned) and the argument in rdi. The C ABI expects
 * rsp + 8 to be 16-byte aligned at a function's first instruction, as after
 * a `call`, which the call below provides.
 */
    .section .text._start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    xorl %ebp, %ebp          /* end of the frame-pointer chain */
    andq $-16, %rsp
    call bk_start
    ud2                      /* bk_start never returns */
    .size _start, . - _start
    .section .note.GNU-stack, "", @progbits
