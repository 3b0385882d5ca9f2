/* Entry of the seL4 bench root task on x86-64: seL4 starts the root task
 * with no stack and the boot info pointer in rdi (its capRegister). */
    .section .text.start, "ax"
    .globl _start
_start:
    leaq root_stack + 16384(%rip), %rsp   /* STACK_SIZE in roottask.c */
    call main
1:  jmp 1b
    .section .note.GNU-stack, "", @progbits
