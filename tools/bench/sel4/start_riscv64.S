/* Entry of the seL4 bench root task on RISC-V: seL4 starts the root task
 * with no stack and the boot info pointer in a0 (its capRegister). The image
 * is linked with --no-relax, so gp is never used. */
    .section .text.start, "ax"
    .globl _start
_start:
    la sp, root_stack + 16384   /* STACK_SIZE in roottask.c */
    call main
1:  j 1b
    .section .note.GNU-stack, "", @progbits
