/*
 * User faults. A thread with a fault endpoint is stopped and its fault is
 * sent there as a Call from it (labels BK_FAULT_*, see kernel/abi.toml;
 * a timeout fault goes to the thread's timeout endpoint if it has one);
 * its handler's reply restarts it or leaves it stopped (endpoint.c). A
 * thread without one is stopped and reported on the console in one line
 * (and a "stopped" line); if it is the root task, the machine shuts down
 * after showing that the kernel still runs.
 *
 * Whoever holds a thread's TCB cap can restart it after a fault, so a
 * tenant can make faults at will: their reports are rate-limited and go
 * through the log ring, never straight to the UART (log.c),
 * and a tenant's registers never go to the shared console (its fault
 * handler, or the holder of its TCB cap, reads them with TCB:
 * ReadRegister). Only the root task's fault, which ends the run and so
 * happens once, shows its registers.
 */
#include <bulkhead/abi.h>

#include "arch.h"
#include "ipc.h"
#include "kernel.h"
#include "lib/format.h"
#include "log.h"
#include "smp.h"
#include "thread.h"

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

static const char *thread_name(const struct thread *t)
{
    return t->name[0] ? t->name : "unnamed";
}

/* The one-line fault report (the system tests in tests/qemu read it),
 * formatted into `line` so that it can go out synchronously (the root
 * task) or through the log ring (a tenant). */
static void report(char *line, size_t size, const struct thread *t, const struct user_fault *f)
{
    char where[64] = "";
    if (f->kind == USER_FAULT_PAGE) {
        unsigned a = f->access;
        snformat(where, sizeof(where), " at address 0x%lx%s%s%s%s%s", f->addr, a ? " (" : "",
                 (a & FAULT_ACCESS_READ) ? "read" : "", (a & FAULT_ACCESS_WRITE) ? "write" : "",
                 (a & FAULT_ACCESS_EXEC) ? "execute" : "", a ? ")" : "");
    }
    snformat(line, size,
             "bulkhead: user fault: thread '%s': %s%s, pc 0x%lx [%s code 0x%llx detail 0x%llx]\n",
             thread_name(t), fault_kind_name(f->kind), where, f->pc, ARCH_NAME,
             (unsigned long long)f->arch_code, (unsigned long long)f->arch_detail);
}

#define REPORT_MAX 256 /* more than the longest report line (about 200 bytes) */

/* The root task is the system's own program, not a tenant, and its fault
 * ends the run: its report is never limited and shows its registers. */
static NORETURN void root_task_faulted(struct thread *t, const struct user_fault *f)
{
    char line[REPORT_MAX];
    report(line, sizeof(line), t, f);
    log_flush();
    kprintf("%s", line);
    arch_regs_print(&t->regs);
    thread_stop(t, THREAD_FAULTED);
    kprintf("bulkhead: thread '%s' stopped (no fault handler)\n", thread_name(t));
    kernel_idle_then_shutdown(2, KERNEL_EXIT_USER_FAULT, "root task stopped by a fault");
}

/* Where a fault of `label` goes: a timeout fault to the timeout endpoint
 * if the thread has one (a scheduler that watches budgets need not take
 * the thread's other faults), every fault else to the fault endpoint. */
static const cap_t *fault_destination(const struct thread *t, uint64_t label)
{
    if (label == BK_FAULT_TIMEOUT && cap_type(&t->timeout_endpoint.cap) == CAP_ENDPOINT)
        return &t->timeout_endpoint.cap;
    return &t->fault_endpoint.cap;
}

bool fault_send(struct thread *t, uint64_t label, const uint64_t words[BK_FAULT_WORDS])
{
    const cap_t *ep = fault_destination(t, label);
    if (cap_type(ep) != CAP_ENDPOINT || !(cap_rights(ep) & CAP_RIGHT_WRITE))
        return false;
    t->in_fault = true;
    t->fault_label = label;
    for (unsigned i = 0; i < BK_FAULT_WORDS; i++)
        t->fault_words[i] = words[i];
    endpoint_send(t, ep, true, true);
    return true;
}

void kernel_user_fault(const struct user_fault *f)
{
    smp_thread_entry();
    struct thread *t = current_thread;
    bool page = f->kind == USER_FAULT_PAGE;
    uint64_t words[BK_FAULT_WORDS] = {
        f->pc, page ? f->addr : (uint64_t)f->kind, page ? f->access : 0, f->arch_code,
        f->arch_detail,
    };
    if (fault_send(t, page ? BK_FAULT_PAGE : BK_FAULT_EXCEPTION, words))
        thread_resume_current();
    if (t->is_root)
        root_task_faulted(t, f);
    thread_stop(t, THREAD_FAULTED);
    if (log_may_print()) {
        char line[REPORT_MAX];
        report(line, sizeof(line), t, f);
        log_printf("%sbulkhead: thread '%s' stopped (no fault handler)\n", line, thread_name(t));
    }
    thread_resume_current();
}
