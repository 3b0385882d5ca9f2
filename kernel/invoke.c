/*
 * Capability invocation (see invoke.h): decoding a Call on an object
 * capability, dispatching it through the table generated from
 * kernel/abi.toml, and encoding the reply.
 */
#include "invoke.h"

#include <bulkhead/abi.h>

#include "cnode.h"
#include "kernel.h"
#include "timer.h"

typedef kerror_t (*method_fn)(struct invocation *inv, struct kerror_info *info);

struct method {
    enum cap_type type;   /* the capability type the method belongs to */
    unsigned arg_words;   /* message words it needs */
    method_fn fn;
};

#define METHOD_ENTRY(OBJ, obj, meth, label, nargs) \
    [label] = { CAP_##OBJ, nargs, obj##_invoke_##meth },
static const struct method methods[BK_LABEL_COUNT] = { BK_METHODS(METHOD_ENTRY) };
#undef METHOD_ENTRY

#define CHECK_ARGS(OBJ, obj, meth, label, nargs) \
    _Static_assert(nargs <= INVOKE_MAX_ARGS, "INVOKE_MAX_ARGS too small");
BK_METHODS(CHECK_ARGS)
#undef CHECK_ARGS

/* Message word i as the caller sent it: the first BK_MSG_CPU_WORDS come
 * from registers (syscall arguments 2..5), the rest from its IPC buffer
 * `b` (NULL: none), which the caller found once for all the words. */
static uint64_t message_word(struct thread *t, const struct bk_ipc_buffer *b, unsigned i)
{
    if (i < BK_MSG_CPU_WORDS)
        return arch_regs_args(&t->regs)[2 + i];
    return b ? b->mr[i] : 0;
}

/* The arguments a restarting method moved on (restart_args), back where
 * message_word() read them in this kernel entry: the IPC buffer it found
 * is still mapped. */
static void write_back_args(struct thread *t, const struct invocation *inv)
{
    struct bk_ipc_buffer *b = thread_ipc_buffer(t);
    for (unsigned i = 0; i < INVOKE_MAX_ARGS; i++) {
        if (!(inv->restart_args & (1u << i)))
            continue;
        if (i < BK_MSG_CPU_WORDS)
            arch_syscall_set_arg(&t->regs, 2 + i, inv->args[i]);
        else if (b)
            b->mr[i] = inv->args[i];
    }
}

/* Writes the reply: badge 0, info (label = error, length), words. */
static void set_reply(struct thread *t, kerror_t err, const uint64_t *words, unsigned count)
{
    /* Through the inline register array: six calls of the arch's
     * out-of-line setter were 48 instructions of every invocation. */
    uint64_t *args = arch_regs_args(&t->regs);
    args[0] = 0;
    args[1] = BK_MSGINFO(count, 0, 0, (uint64_t)err);
    for (unsigned i = 0; i < BK_MSG_CPU_WORDS; i++)
        args[2 + i] = i < count ? words[i] : 0;
}

/* The details of an error, in the reply words docs/abi.md lists. */
static unsigned error_details(kerror_t err, const struct kerror_info *info, uint64_t *w)
{
    switch (err) {
    case KERR_TRUNCATED_MESSAGE:
    case KERR_RANGE:
        w[0] = info->range_min;
        w[1] = info->range_max;
        return 2;
    case KERR_NOT_ENOUGH_MEMORY:
        w[0] = info->mem_asked;
        w[1] = info->mem_left;
        return 2;
    case KERR_FAILED_LOOKUP:
        w[0] = info->lookup_was_source;
        w[1] = (uint64_t)info->lookup.kind;
        w[2] = info->lookup.bits_left;
        w[3] = info->lookup.kind == LOOKUP_FAULT_GUARD_MISMATCH ? info->lookup.guard_found
                                                                : info->lookup.bits_needed;
        return 4;
    default:
        return 0;
    }
}

/* `slot` is the invoked cap's, which the syscall's dispatch looked up
 * (not null). */
static kerror_t decode(struct thread *t, struct cte *slot, struct invocation *inv,
                       const struct method **m, struct kerror_info *info)
{
    uint64_t msginfo = arch_regs_args(&t->regs)[1];
    inv->caller = t;
    inv->restart_args = 0;
    inv->result_count = 0;
    inv->label = BK_MSGINFO_LABEL(msginfo);
    inv->length = (unsigned)BK_MSGINFO_LENGTH(msginfo);
    inv->slot = slot;
    if (inv->label >= BK_LABEL_COUNT || !methods[inv->label].fn ||
        methods[inv->label].type != cap_type(&inv->slot->cap))
        return KERR_ILLEGAL_OPERATION;
    *m = &methods[inv->label];
    if (inv->length < (*m)->arg_words) {
        info->range_min = (*m)->arg_words;
        info->range_max = BK_MSG_MAX_WORDS;
        return KERR_TRUNCATED_MESSAGE;
    }
    const struct bk_ipc_buffer *b =
        (*m)->arg_words > BK_MSG_CPU_WORDS ? thread_ipc_buffer(t) : NULL;
    for (unsigned i = 0; i < (*m)->arg_words; i++)
        inv->args[i] = message_word(t, b, i);
    return KERR_OK;
}

void invoke_reply_error(struct thread *t, kerror_t err, const struct kerror_info *info)
{
    uint64_t words[BK_MSG_CPU_WORDS] = { 0 };
    unsigned count = err == KERR_OK ? 0 : error_details(err, info, words);
    set_reply(t, err, words, count);
}

/* The error record as `{ 0 }` would leave it, field by field: as one
 * 72-byte zeroing, clang calls memset on RISC-V (about 40 instructions of
 * every invocation there) where x86-64 gets nine stores; the padding after
 * lookup_was_source is never read. */
static inline void kerror_info_clear(struct kerror_info *i)
{
    i->range_min = i->range_max = 0;
    i->mem_asked = i->mem_left = 0;
    i->lookup_was_source = false;
    i->lookup = (struct lookup_fault){ 0 };
}

/* The methods that work in steps and restart (preempt.h). */
static const bool works_in_steps[BK_LABEL_COUNT] = {
    [BK_LABEL_UNTYPED_RETYPE] = true,
    [BK_LABEL_CNODE_REVOKE] = true,
    [BK_LABEL_CNODE_DELETE] = true,
    [BK_LABEL_CNODE_CANCEL_BADGED_SENDS] = true,
    [BK_LABEL_TCB_CONFIGURE] = true,
    [BK_LABEL_TCB_SET_FAULT_ENDPOINT] = true,
    [BK_LABEL_TCB_SET_TIMEOUT_ENDPOINT] = true,
    [BK_LABEL_IRQ_HANDLER_SET_NOTIFICATION] = true,
    [BK_LABEL_IRQ_HANDLER_CLEAR] = true,
};

/* Runs the method, unless it works in steps and the timer's deadline is
 * near (preempt.h): its first step comes before its first poll, and the
 * entry's decoding before that, so the thread the deadline wakes would
 * wait for both. Then the call restarts with nothing done and waits for
 * the deadline, which is served first; the thread's next such call runs
 * whatever comes (progress), so a caller whose entries keep falling near
 * deadlines loses every other one at most. The other methods are short
 * and pay nothing for this. */
static kerror_t call_method(struct thread *t, const struct method *m, struct invocation *inv,
                            struct kerror_info *info)
{
    if (!works_in_steps[inv->label])
        return m->fn(inv, info);
    if (!t->deferred_for_deadline && timer_deadline_near()) {
        t->deferred_for_deadline = true;
        return KERR_RESTART;
    }
    t->deferred_for_deadline = false;
    return m->fn(inv, info);
}

void invoke_call(struct thread *t, struct cte *slot)
{
    /* Not zeroed whole (23 stores of every invocation): decode() sets the
     * fields every method relies on, and a method reads only the
     * arguments its arg_words covers, which decode() fills. The error
     * record is zeroed: its words reach the caller for the error the
     * method returns, and 0 is what a field the method left says. */
    struct invocation inv;
    struct kerror_info info;
    kerror_info_clear(&info);
    const struct method *m = NULL;
    kerror_t err = decode(t, slot, &inv, &m, &info);
    if (err == KERR_OK)
        err = call_method(t, m, &inv, &info);
    /* A long method stopped after a bounded batch, or earlier because an
     * interrupt is pending (preempt.h): run it again, from the syscall
     * instruction, with the registers the caller set (no reply was
     * written; a method may have moved arguments on: restart_args). The
     * interrupts are taken here, so that the thread they wake runs next
     * without the way out to this caller's user mode and the trap back
     * in; the timer's is served as one from user mode, which charges the
     * caller and sets the timer once (timer.c). The scheduler then picks
     * who runs. */
    if (err == KERR_RESTART) {
        if (inv.restart_args)
            write_back_args(t, &inv);
        arch_regs_restart_syscall(&t->regs);
        timer_wait_if_near(); /* the batch may have ended ahead of it */
        if (arch_take_pending_interrupts_but_timer()) /* a few instructions if none is */
            kernel_timer_at_preemption();
        return;
    }
    if (err == KERR_OK && inv.result_count)
        set_reply(t, KERR_OK, inv.results, inv.result_count);
    else
        invoke_reply_error(t, err, &info);
}

kerror_t invoke_lookup_cap_arg(struct invocation *inv, uint64_t cptr, struct cte **slot,
                               struct kerror_info *info)
{
    kerror_t err = cspace_lookup_cap(&inv->caller->cspace_root.cap, cptr, slot, &info->lookup);
    if (err == KERR_OK && cap_is_null(&(*slot)->cap)) {
        info->lookup.kind = LOOKUP_FAULT_MISSING_CAPABILITY;
        err = KERR_FAILED_LOOKUP;
    }
    if (err == KERR_FAILED_LOOKUP)
        info->lookup_was_source = true;
    return err;
}

kerror_t invoke_lookup_empty_slot(struct invocation *inv, uint64_t root, uint64_t index,
                                  uint64_t depth, struct cte **slot, struct kerror_info *info)
{
    struct cte *root_slot;
    kerror_t err = invoke_lookup_cap_arg(inv, root, &root_slot, info);
    if (err != KERR_OK)
        return err;
    if (cap_type(&root_slot->cap) != CAP_CNODE)
        return KERR_INVALID_CAPABILITY;
    if (depth < CSPACE_DEPTH_MIN || depth > CSPACE_DEPTH_MAX) {
        info->range_min = CSPACE_DEPTH_MIN;
        info->range_max = CSPACE_DEPTH_MAX;
        return KERR_RANGE;
    }
    err = cspace_lookup_slot(&root_slot->cap, index, (unsigned)depth, slot, &info->lookup);
    if (err != KERR_OK)
        return err;
    return cap_is_null(&(*slot)->cap) ? KERR_OK : KERR_DELETE_FIRST;
}
