/*
 * Starting threads: configure a TCB, give it a priority, lay out its
 * thread-local storage at the top of its stack, set its first registers
 * and thread pointer, and resume it, in the order the kernel requires.
 */
#include <bulkhead/sys.h>
#include <bulkhead/tls.h>

/* Every thread bk_thread_start() makes begins here, with its thread
 * pointer already set: it takes its IPC buffer into its own TLS, then
 * runs the caller's entry. */
static _Noreturn void thread_entry(uint64_t arg)
{
    struct bk_thread *t = (struct bk_thread *)(uintptr_t)arg;
    bk_ipc_buffer = t->start_ipc_buffer;
    t->entry(t->entry_arg);
    sys_thread_exit(0); /* the entry should not return; if it does, exit */
}

long bk_thread_start(bk_cptr_t tcb, bk_cptr_t cspace, bk_cptr_t vspace,
                     void (*entry)(uint64_t), uint64_t arg, void *stack, size_t stack_size,
                     uint64_t ipc_buffer, unsigned priority)
{
    uint64_t tp;
    struct bk_thread *t = bk_tls_init(stack, stack_size, &tp);
    if (!t)
        return -BK_ERR_INVALID_ARGUMENT; /* no room for the TLS block */
    t->tcb = tcb;
    t->start_ipc_buffer = (struct bk_ipc_buffer *)(uintptr_t)ipc_buffer;
    t->entry = entry;
    t->entry_arg = arg;
    /* The stack proper ends below the TLS block. */
    size_t below = stack_size - bk_tls_block_size();
    long r = sys_tcb_configure(tcb, cspace, 0, vspace, ipc_buffer);
    if (r == 0)
        r = sys_tcb_set_priority(tcb, BK_CAP_ROOT_TCB, priority);
    if (r == 0)
        r = sys_tcb_write_registers(tcb, 0, (uint64_t)(uintptr_t)thread_entry,
                                    bk_stack_top(stack, below), (uint64_t)(uintptr_t)t);
    if (r == 0)
        r = sys_tcb_write_register(tcb, BK_REG_THREAD_POINTER, tp);
    if (r == 0)
        r = sys_tcb_resume(tcb);
    return r;
}
