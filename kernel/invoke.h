/*
 * Capability invocation: what the Call syscall does when the invoked
 * capability is a kernel object (not an endpoint). The method is the
 * message label, its arguments are the message words; the kernel answers
 * with a reply whose label is the error code and whose words carry the
 * error's details (see docs/abi.md).
 */
#pragma once

#include "errors.h"
#include "thread.h"

#define INVOKE_MAX_ARGS 8

/* One decoded invocation: everything is read from registers and the IPC
 * buffer once, up front, so user code cannot change an argument while the
 * kernel checks it. */
/* invoke_call() does not zero it: decode() sets caller, slot, label,
 * length, restart_args, result_count and args[0 .. arg_words - 1], all a
 * method may read; results[] up to the result_count it sets are its own. */
struct invocation {
    struct thread *caller;
    struct cte *slot;           /* the invoked capability's slot */
    uint64_t label;
    unsigned length;            /* message words the caller sent */
    /* Set by a method that returns KERR_RESTART after part of its work
     * and changed args[] so that the restarted call asks for what is
     * left: bit i for args[i]. invoke_call() writes those back where the
     * caller put them, a register or its IPC buffer. The caller sees the
     * change only if it reads its own message back after the call. */
    unsigned restart_args;
    uint64_t args[INVOKE_MAX_ARGS];
    /* Set by a method that returns values: on success the reply carries
     * results[0 .. result_count-1] as its first words. */
    unsigned result_count;
    uint64_t results[BK_MSG_CPU_WORDS];
};

/* Performs the Call syscall on the capability in `slot`, which the
 * syscall's dispatch found (not null) in the current thread's CSpace, and
 * writes the reply into its registers. The slot is passed rather than
 * looked up again: every method paid for the second lookup, and a long
 * call, which restarts after every pending interrupt, paid it before each
 * restart's first preemption point. */
void invoke_call(struct thread *t, struct cte *slot);

/* Writes a reply carrying error `err` (KERR_OK: an empty success reply)
 * with the details docs/abi.md lists for it. */
void invoke_reply_error(struct thread *t, kerror_t err, const struct kerror_info *info);


/* Method handlers, one per method of kernel/abi.toml (generated list
 * BK_METHODS); each decodes its arguments, checks them, then acts. */
kerror_t untyped_invoke_retype(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_configure(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_write_registers(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_read_registers(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_read_register(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_write_register(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_read_fpu_register(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_write_fpu_register(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_resume(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_suspend(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_set_priority(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_set_mc_priority(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_set_fault_endpoint(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_set_timeout_endpoint(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_read_priority(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_bind_notification(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_unbind_notification(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_set_timeout_faults(struct invocation *inv, struct kerror_info *info);
kerror_t tcb_invoke_set_counter_access(struct invocation *inv, struct kerror_info *info);
kerror_t cnode_invoke_revoke(struct invocation *inv, struct kerror_info *info);
kerror_t cnode_invoke_delete(struct invocation *inv, struct kerror_info *info);
kerror_t cnode_invoke_copy(struct invocation *inv, struct kerror_info *info);
kerror_t cnode_invoke_mint(struct invocation *inv, struct kerror_info *info);
kerror_t cnode_invoke_move(struct invocation *inv, struct kerror_info *info);
kerror_t cnode_invoke_mutate(struct invocation *inv, struct kerror_info *info);
kerror_t cnode_invoke_cancel_badged_sends(struct invocation *inv, struct kerror_info *info);
kerror_t frame_invoke_map(struct invocation *inv, struct kerror_info *info);
kerror_t frame_invoke_unmap(struct invocation *inv, struct kerror_info *info);
kerror_t frame_invoke_remap(struct invocation *inv, struct kerror_info *info);
kerror_t frame_invoke_get_address(struct invocation *inv, struct kerror_info *info);
kerror_t page_table_invoke_map(struct invocation *inv, struct kerror_info *info);
kerror_t page_table_invoke_unmap(struct invocation *inv, struct kerror_info *info);
kerror_t asid_control_invoke_make_pool(struct invocation *inv, struct kerror_info *info);
kerror_t asid_pool_invoke_assign(struct invocation *inv, struct kerror_info *info);
kerror_t irq_control_invoke_get(struct invocation *inv, struct kerror_info *info);
kerror_t irq_handler_invoke_set_notification(struct invocation *inv, struct kerror_info *info);
kerror_t irq_handler_invoke_clear(struct invocation *inv, struct kerror_info *info);
kerror_t irq_handler_invoke_ack(struct invocation *inv, struct kerror_info *info);
kerror_t frame_invoke_map_io(struct invocation *inv, struct kerror_info *info);
kerror_t iospace_control_invoke_issue(struct invocation *inv, struct kerror_info *info);
kerror_t iospace_control_invoke_take_fault(struct invocation *inv, struct kerror_info *info);
kerror_t io_page_table_invoke_map(struct invocation *inv, struct kerror_info *info);
kerror_t io_page_table_invoke_unmap(struct invocation *inv, struct kerror_info *info);
kerror_t ioport_control_invoke_issue(struct invocation *inv, struct kerror_info *info);
kerror_t ioport_invoke_in8(struct invocation *inv, struct kerror_info *info);
kerror_t ioport_invoke_in16(struct invocation *inv, struct kerror_info *info);
kerror_t ioport_invoke_in32(struct invocation *inv, struct kerror_info *info);
kerror_t ioport_invoke_out8(struct invocation *inv, struct kerror_info *info);
kerror_t ioport_invoke_out16(struct invocation *inv, struct kerror_info *info);
kerror_t ioport_invoke_out32(struct invocation *inv, struct kerror_info *info);
kerror_t sched_control_invoke_configure(struct invocation *inv, struct kerror_info *info);
kerror_t sched_context_invoke_bind(struct invocation *inv, struct kerror_info *info);
kerror_t sched_context_invoke_unbind(struct invocation *inv, struct kerror_info *info);
kerror_t sched_context_invoke_consumed(struct invocation *inv, struct kerror_info *info);
kerror_t sched_context_invoke_released(struct invocation *inv, struct kerror_info *info);
kerror_t reply_invoke_save(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_put_char(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_write(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_ticks(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_cap_identify(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_check_invariants(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_ipc_path_counts(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_unlocked_counts(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_yield_path_counts(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_notification_path_counts(struct invocation *inv,
                                              struct kerror_info *info);
kerror_t debug_invoke_time(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_cpu_index(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_shootdown_counts(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_console_read(struct invocation *inv, struct kerror_info *info);
kerror_t debug_invoke_console_line(struct invocation *inv, struct kerror_info *info);

/* Resolves a capability argument (an address in the caller's CSpace). */
kerror_t invoke_lookup_cap_arg(struct invocation *inv, uint64_t cptr, struct cte **slot,
                               struct kerror_info *info);

/* Resolves a destination slot given as (root, index, depth): `root` is a
 * CNode cap argument (else KERR_INVALID_CAPABILITY), `depth` 1..64 (else
 * KERR_RANGE), and the slot found must be empty (else KERR_DELETE_FIRST). */
kerror_t invoke_lookup_empty_slot(struct invocation *inv, uint64_t root, uint64_t index,
                                  uint64_t depth, struct cte **slot, struct kerror_info *info);
