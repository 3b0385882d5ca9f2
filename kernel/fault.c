/*
 * User faults. Until fault endpoints exist (faults as IPC messages to a
 * user-level handler), an unhandled fault is reported on the console and
 * the thread is stopped; the kernel itself carries on.
 */
#include "arch.h"
#include "kernel.h"
#include "thread.h"
#include "ipc.h"

static const char *fault_kind_name(enum user_fault_kind kind)
{
    switch (kind) {
    case USER_FAULT_PAGE: return "page fault";
    case USER_FAULT_ILLEGAL: return "illegal instruction";
    case USER_FAULT_ALIGNMENT: return "misaligned access";
    case USER_FAULT_ARITHMETIC: return "arithmetic fault";
    case USER_FAULT_BREAKPOINT: return "breakpoint";
    case USER_FAULT_PROTECTION: return "protection fault";
    case USER_FAULT_OTHER: break;
    }
    return "exception";
}

static void print_access(unsigned access)
{
    kprintf(" (%s%s%s)", (access & FAULT_ACCESS_READ) ? "read" : "",
            (access & FAULT_ACCESS_WRITE) ? "write" : "",
            (access & FAULT_ACCESS_EXEC) ? "execute" : "");
}

void kernel_user_fault(const struct user_fault *f)
{
    struct thread *t = current_thread;
    kprintf("bulkhead: user fault: thread '%s': %s", t->name, fault_kind_name(f->kind));
    if (f->kind == USER_FAULT_PAGE) {
        kprintf(" at address 0x%lx", f->addr);
        if (f->access)
            print_access(f->access);
    }
    kprintf(", pc 0x%lx [%s code 0x%llx detail 0x%llx]\n", f->pc, ARCH_NAME,
            (unsigned long long)f->arch_code, (unsigned long long)f->arch_detail);
    arch_regs_print(&t->regs);
    thread_stop(t, THREAD_FAULTED);
    kprintf("bulkhead: thread '%s' stopped (no fault handler)\n", t->name);
    if (t->is_root)
        kernel_idle_then_shutdown(2, KERNEL_EXIT_USER_FAULT, "root task stopped by a fault");
    thread_resume_current();
}
