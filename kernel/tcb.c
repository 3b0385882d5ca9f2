/*
 * TCB objects: a thread's configuration and life cycle, and the TCB
 * methods of kernel/abi.toml (configure, write_registers, resume, suspend,
 * set_priority, set_mc_priority, set_counter_access, ...).
 *
 * Invariants (besides thread.h's): a thread can run only once configured
 * (vspace != NULL); no thread ever gets a priority or MCP above the MCP of
 * the TCB cap used as authority.
 */
#include "cnode.h"
#include "invoke.h"
#include "ipc.h"
#include "kernel.h"
#include "ready.h"
#include "thread.h"
#include "vspace.h"
#include "vspace_object.h"

static struct thread *invoked_thread(const struct invocation *inv)
{
    return tcb_thread(&inv->slot->cap);
}

/* Whether `t` is inside a blocking IPC syscall of its own (a fault's
 * message is not: its registers are its user state). */
static bool in_ipc_syscall(const struct thread *t)
{
    return !t->in_fault &&
           (t->state == THREAD_BLOCKED_SEND || t->state == THREAD_BLOCKED_RECV ||
            t->state == THREAD_BLOCKED_REPLY || t->state == THREAD_BLOCKED_NOTIFICATION);
}

void thread_stop(struct thread *t, enum thread_state state)
{
    /* Resumed, a thread stopped in a wait returns from its syscall: with
     * CANCELLED, as from a wait cancelled any other way, not with its own
     * arguments (still in its result registers) as if a message came. */
    if (in_ipc_syscall(t))
        ipc_set_header(t, 0, BK_MSGINFO(0, 0, 0, BK_ERR_CANCELLED));
    ipc_cancel_wait(t);
    t->in_fault = false;
    ipc_forget_answer(t); /* it waited for an answer: the answerer forgets it */
    if (t->caller) { /* it owed an answer: the caller gets CANCELLED */
        struct thread *c = t->caller;
        sched_context_return(t, c);
        t->caller = NULL;
        c->reply_from = NULL;
        ipc_wake_with_error(c, BK_ERR_CANCELLED);
    }
    sched_set_blocked(t, state);
    sched_stop_elsewhere(t); /* not running anywhere when this returns */
}

/* Runs when the final TCB cap becomes a zombie (cnode.c): the thread stops
 * before its slots (CSpace root, fault and timeout endpoints) are emptied, a batch per
 * kernel entry, by that zombie, so it never runs with half a CSpace. */
void tcb_destroy(const cap_t *final_cap)
{
    struct thread *t = tcb_thread(final_cap);
    thread_stop(t, THREAD_INACTIVE);
    sched_forget_destroyed(t);
    sched_context_drop_loan(t);
    if (t->own_sc)
        sched_context_disown(t->own_sc);
    /* Its FPU state may still be live in the CPU: a TCB made later at
     * this address must not inherit it. */
    arch_regs_release(&t->regs);
    if (t->bound_notification) {
        t->bound_notification->bound_thread = NULL;
        t->bound_notification = NULL;
    }
    vspace_remove_thread(t);
}

/* The kernel view of the IPC buffer at user address `va` of `vs`: a
 * page-aligned page mapped read-write, else NULL. */
static struct bk_ipc_buffer *lookup_ipc_buffer(const arch_vspace_t *vs, vaddr_t va)
{
    paddr_t pa;
    unsigned rights;
    if (va == 0 || !vs || !IS_ALIGNED(va, (vaddr_t)ARCH_PAGE_SIZE) ||
        !arch_vspace_translate(vs, va, &pa, &rights) ||
        (rights & (VM_READ | VM_WRITE)) != (VM_READ | VM_WRITE) || !phys_is_ram(pa))
        return NULL; /* device memory is not in the direct map: never a buffer */
    return arch_phys_to_virt(pa);
}

/* thread_ipc_buffer() when the epoch moved on: the walk runs once per
 * translation epoch, as IPC with a long message or caps would otherwise
 * pay for two walks per message. A missing buffer is not cached (mapping
 * it later does not advance the epoch). */
struct bk_ipc_buffer *thread_ipc_buffer_walk(struct thread *t)
{
    struct bk_ipc_buffer *b = lookup_ipc_buffer(t->vspace, t->ipc_buffer_vaddr);
    if (b) {
        t->ipc_buffer = b;
        t->ipc_buffer_epoch = vspace_epoch;
    }
    return b;
}

/* Deleting the old CSpace root may empty a CNode (its final cap): that
 * goes a batch per kernel entry, the call restarting, and each restart is
 * looked up through the caller's CSpace. So a thread cannot do it to its
 * own root (its restart would find a CNode being emptied); the error names
 * what to do instead (keep a copy of the old root, or have another thread
 * do it). */
static kerror_t check_old_root(const struct invocation *inv, const struct thread *t)
{
    if (t == inv->caller && cnode_delete_needs_batches(&t->cspace_root))
        return KERR_ILLEGAL_OPERATION;
    return KERR_OK;
}

kerror_t tcb_invoke_configure(struct invocation *inv, struct kerror_info *info)
{
    struct thread *t = invoked_thread(inv);
    struct cte *root;
    kerror_t err = invoke_lookup_cap_arg(inv, inv->args[0], &root, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&root->cap) != CAP_CNODE)
        return KERR_INVALID_CAPABILITY;
    struct vspace_object *vs;
    err = vspace_cap_arg(inv, inv->args[2], &vs, info);
    if (err != KERR_OK)
        return err;
    if (!vspace_has_asid(vs))
        return KERR_ILLEGAL_OPERATION; /* never assigned, or its pool went */
    /* The IPC buffer is an address of the thread's new space. */
    if (inv->args[3] && !lookup_ipc_buffer(&vs->arch, inv->args[3]))
        return KERR_INVALID_ARGUMENT;
    err = check_old_root(inv, t);
    if (err != KERR_OK)
        return err;
    /* Checked what can be checked; the new root cap may still be refused
     * (a bad guard): make it in a scratch slot first, then swap it in. */
    struct cte fresh = { 0 };
    err = inv->args[1] ? cnode_mint(root, &fresh, CAP_RIGHTS_ALL, inv->args[1], info)
                       : cnode_copy(root, &fresh, CAP_RIGHTS_ALL, info);
    if (err != KERR_OK)
        return err;
    /* The old root goes first, in batches if it is the final cap of a
     * CNode; the scratch copy (never final: `root` names the same CNode)
     * goes in one step, and the restart makes it again. Nothing else has
     * changed yet, so a restart that finds an argument gone fails clean,
     * the thread left without a CSpace root. (The emptying cannot destroy
     * the new space: its cap was looked up through the caller's CSpace,
     * which does not pass through a CNode whose final cap is t's root.) */
    if (!cnode_delete_bounded(&t->cspace_root)) {
        cnode_delete(&fresh);
        return KERR_RESTART;
    }
    t->ipc_buffer_vaddr = inv->args[3];
    vspace_add_thread(vs, t); /* forgets the buffer pointer found before */
    cnode_move(&fresh, &t->cspace_root, info);
    return KERR_OK;
}

static kerror_t resume(struct thread *t)
{
    if (!t->vspace)
        return KERR_ILLEGAL_OPERATION;
    if (t->state == THREAD_INACTIVE || t->state == THREAD_FAULTED)
        sched_make_runnable(t);
    return KERR_OK;
}

kerror_t tcb_invoke_write_registers(struct invocation *inv, struct kerror_info *info)
{
    struct thread *t = invoked_thread(inv);
    (void)info;
    if (t == inv->caller)
        return KERR_ILLEGAL_OPERATION; /* its registers are the syscall's results */
    if (inv->args[0] && !t->vspace)
        return KERR_ILLEGAL_OPERATION;
    arch_regs_init(&t->regs, inv->args[1], inv->args[2], inv->args[3]);
    return inv->args[0] ? resume(t) : KERR_OK;
}

kerror_t tcb_invoke_resume(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    return resume(invoked_thread(inv));
}

kerror_t tcb_invoke_suspend(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    struct thread *t = invoked_thread(inv);
    if (t->is_root)
        return KERR_ILLEGAL_OPERATION; /* the root task ends with thread_exit */
    thread_stop(t, THREAD_INACTIVE);
    return KERR_OK;
}

/* Checks `value` against the MCP of the TCB cap `authority`. */
static kerror_t check_authority(struct invocation *inv, uint64_t authority, uint64_t value,
                                struct kerror_info *info)
{
    struct cte *slot;
    kerror_t err = invoke_lookup_cap_arg(inv, authority, &slot, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&slot->cap) != CAP_TCB)
        return KERR_INVALID_CAPABILITY;
    if (value > tcb_thread(&slot->cap)->mcp) {
        info->range_min = 0;
        info->range_max = tcb_thread(&slot->cap)->mcp;
        return KERR_RANGE;
    }
    return KERR_OK;
}

kerror_t tcb_invoke_set_priority(struct invocation *inv, struct kerror_info *info)
{
    kerror_t err = check_authority(inv, inv->args[0], inv->args[1], info);
    if (err == KERR_OK)
        sched_set_priority(invoked_thread(inv), (uint8_t)inv->args[1]);
    return err;
}

kerror_t tcb_invoke_set_mc_priority(struct invocation *inv, struct kerror_info *info)
{
    kerror_t err = check_authority(inv, inv->args[0], inv->args[1], info);
    if (err == KERR_OK)
        invoked_thread(inv)->mcp = (uint8_t)inv->args[1];
    return err;
}

/* What bounds the priorities a holder of the cap can give with it as
 * authority: a scheduler checks a tenant's thread before it trusts it. */
kerror_t tcb_invoke_read_priority(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    const struct thread *t = invoked_thread(inv);
    inv->results[0] = t->priority;
    inv->results[1] = t->mcp;
    inv->result_count = 2;
    return KERR_OK;
}

kerror_t tcb_invoke_set_timeout_faults(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    if (inv->args[0] > 1)
        return KERR_INVALID_ARGUMENT;
    invoked_thread(inv)->timeout_faults = inv->args[0] == 1;
    return KERR_OK;
}

/* Puts a copy of the endpoint cap at `cptr` (0: none) into `dest`, one of
 * the thread's slots (SetFaultEndpoint, SetTimeoutEndpoint). */
static kerror_t set_endpoint_slot(struct invocation *inv, uint64_t cptr, struct cte *dest,
                                  struct kerror_info *info)
{
    struct cte *ep = NULL;
    if (cptr) {
        kerror_t err = invoke_lookup_cap_arg(inv, cptr, &ep, info);
        if (err != KERR_OK)
            return err;
        if (cap_type(&ep->cap) != CAP_ENDPOINT)
            return KERR_INVALID_CAPABILITY;
        if (!(cap_rights(&ep->cap) & CAP_RIGHT_WRITE))
            return KERR_INSUFFICIENT_RIGHTS;
    }
    /* Copy into a scratch slot first so a refused copy changes nothing. */
    struct cte fresh = { 0 };
    if (ep) {
        kerror_t err = cnode_copy(ep, &fresh, CAP_RIGHTS_ALL, info);
        if (err != KERR_OK)
            return err;
    }
    /* The old cap may be the final one of an endpoint that threads wait
     * on (or end a badge family): they are woken a batch per kernel entry,
     * the call restarting, with the scratch copy (never final nor the last
     * of its family: its source remains) dropped in one step. */
    if (!cnode_delete_bounded(dest)) {
        if (ep)
            cnode_delete(&fresh);
        return KERR_RESTART;
    }
    if (ep)
        cnode_move(&fresh, dest, info);
    return KERR_OK;
}

kerror_t tcb_invoke_set_fault_endpoint(struct invocation *inv, struct kerror_info *info)
{
    return set_endpoint_slot(inv, inv->args[0], &invoked_thread(inv)->fault_endpoint, info);
}

kerror_t tcb_invoke_set_timeout_endpoint(struct invocation *inv, struct kerror_info *info)
{
    return set_endpoint_slot(inv, inv->args[0], &invoked_thread(inv)->timeout_endpoint, info);
}

kerror_t tcb_invoke_bind_notification(struct invocation *inv, struct kerror_info *info)
{
    struct thread *t = invoked_thread(inv);
    struct cte *slot;
    kerror_t err = invoke_lookup_cap_arg(inv, inv->args[0], &slot, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&slot->cap) != CAP_NOTIFICATION)
        return KERR_INVALID_CAPABILITY;
    if (!(cap_rights(&slot->cap) & CAP_RIGHT_READ))
        return KERR_INSUFFICIENT_RIGHTS;
    struct notification *n = cap_object(&slot->cap);
    if (t->bound_notification || n->bound_thread)
        return KERR_ILLEGAL_OPERATION;
    t->bound_notification = n;
    n->bound_thread = t;
    return KERR_OK;
}

kerror_t tcb_invoke_unbind_notification(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    struct thread *t = invoked_thread(inv);
    if (!t->bound_notification)
        return KERR_ILLEGAL_OPERATION;
    t->bound_notification->bound_thread = NULL;
    t->bound_notification = NULL;
    return KERR_OK;
}

/* The counters are a timer fine enough for cache side channels, so who
 * holds a tenant's TCB caps may take them away (docs/objects.md, TCB). */
kerror_t tcb_invoke_set_counter_access(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    uint64_t allow = inv->args[0];
    if (allow > 1)
        return KERR_INVALID_ARGUMENT;
    arch_regs_set_counter_access(&invoked_thread(inv)->regs, allow == 1);
    return KERR_OK;
}

kerror_t tcb_invoke_read_registers(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    const struct thread *t = invoked_thread(inv);
    inv->results[0] = arch_regs_pc(&t->regs);
    inv->results[1] = arch_regs_sp(&t->regs);
    inv->results[2] = arch_syscall_arg(&t->regs, 0);
    inv->results[3] = (uint64_t)t->state;
    inv->result_count = 4;
    return KERR_OK;
}

/* The register index argument, checked against `count` (the arch's
 * number of user or of FPU registers). */
static kerror_t index_below(const struct invocation *inv, struct kerror_info *info,
                            unsigned count, unsigned *index)
{
    if (inv->args[0] >= count) {
        info->range_min = 0;
        info->range_max = count - 1;
        return KERR_RANGE;
    }
    *index = (unsigned)inv->args[0];
    return KERR_OK;
}

static kerror_t register_index(const struct invocation *inv, struct kerror_info *info,
                               unsigned *index)
{
    return index_below(inv, info, arch_regs_count(), index);
}

kerror_t tcb_invoke_read_register(struct invocation *inv, struct kerror_info *info)
{
    unsigned index;
    kerror_t err = register_index(inv, info, &index);
    if (err != KERR_OK)
        return err;
    inv->results[0] = arch_regs_get(&invoked_thread(inv)->regs, index);
    inv->result_count = 1;
    return KERR_OK;
}

kerror_t tcb_invoke_write_register(struct invocation *inv, struct kerror_info *info)
{
    struct thread *t = invoked_thread(inv);
    unsigned index;
    kerror_t err = register_index(inv, info, &index);
    if (err != KERR_OK)
        return err;
    /* The caller's registers are the syscall's results, but for its
     * thread pointer, which is how a thread sets up its own TLS. */
    if (t == inv->caller && !arch_regs_is_thread_pointer(index))
        return KERR_ILLEGAL_OPERATION;
    return arch_regs_set(&t->regs, index, inv->args[1]) ? KERR_OK : KERR_INVALID_ARGUMENT;
}

static kerror_t fpu_register_index(const struct invocation *inv, struct kerror_info *info,
                                   unsigned *index)
{
    return index_below(inv, info, arch_fpu_regs_count(), index);
}

kerror_t tcb_invoke_read_fpu_register(struct invocation *inv, struct kerror_info *info)
{
    unsigned index;
    kerror_t err = fpu_register_index(inv, info, &index);
    if (err != KERR_OK)
        return err;
    inv->results[0] = arch_fpu_reg_get(&invoked_thread(inv)->regs, index);
    inv->result_count = 1;
    return KERR_OK;
}

kerror_t tcb_invoke_write_fpu_register(struct invocation *inv, struct kerror_info *info)
{
    struct thread *t = invoked_thread(inv);
    unsigned index;
    /* The caller's own FPU registers hold values its compiled code keeps
     * across the syscall (RISC-V fs0-fs11 are callee-saved). */
    if (t == inv->caller)
        return KERR_ILLEGAL_OPERATION;
    kerror_t err = fpu_register_index(inv, info, &index);
    if (err != KERR_OK)
        return err;
    return arch_fpu_reg_set(&t->regs, index, inv->args[1]) ? KERR_OK : KERR_INVALID_ARGUMENT;
}
