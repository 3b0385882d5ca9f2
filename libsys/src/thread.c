/*
 * Starting threads: configure a TCB, give it a priority, set its first
 * registers and resume it, in the order the kernel requires.
 */
#include <bulkhead/sys.h>

long bk_thread_start(bk_cptr_t tcb, bk_cptr_t cspace, bk_cptr_t vspace,
                     void (*entry)(uint64_t), uint64_t arg, void *stack, size_t stack_size,
                     uint64_t ipc_buffer, unsigned priority)
{
    long r = sys_tcb_configure(tcb, cspace, 0, vspace, ipc_buffer);
    if (r == 0)
        r = sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, priority);
    if (r == 0)
        r = sys_tcb_write_registers(tcb, 1, (uint64_t)(uintptr_t)entry, bk_stack_top(stack, stack_size),
                                    arg);
    return r;
}
