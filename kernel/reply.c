/*
 * Reply objects (kernel/abi.toml, object "reply").
 *
 * A thread that receives a Call holds the right to answer it in
 * t->caller, one at a time: a newer Call cancels an unanswered older one
 * (endpoint.c). A server that must hold a Call while it takes the next
 * (it waits for a device, or for another server, on that client's
 * behalf) moves the right into a Reply object with Save, as many as it
 * has objects; `send` on the Reply cap answers later. The objects are
 * retyped from the server's own memory: the kernel allocates nothing.
 *
 * Invariants (checked by invariants.c):
 *  - r->caller == c  <=>  c->reply_object == r, and then c is BLOCKED_REPLY
 *    with no reply_from (a caller waits on a thread or on a Reply object,
 *    never both);
 *  - a saved caller's SchedContext is where donation left it: lent to the
 *    server, which keeps it until it next blocks (then it goes home,
 *    sched_context.c), or home already. Answering never moves it, so a
 *    passive server that answers with `send` keeps running on what it
 *    runs on.
 */
#include "reply.h"

#include "invoke.h"
#include "ipc.h"
#include "thread.h"

kerror_t reply_invoke_save(struct invocation *inv, struct kerror_info *info)
{
    (void)info;
    struct reply *r = reply_of(&inv->slot->cap);
    struct thread *t = inv->caller, *c = t->caller;
    if (!c || r->caller)
        return KERR_ILLEGAL_OPERATION;
    t->caller = NULL;
    c->reply_from = NULL;
    c->reply_object = r;
    r->caller = c;
    return KERR_OK;
}

void reply_send(struct thread *t, const cap_t *cap)
{
    struct reply *r = reply_of(cap);
    struct thread *c = r->caller;
    if (!c)
        return;
    r->caller = NULL;
    c->reply_object = NULL;
    ipc_answer(t, c);
}

void reply_destroy(const cap_t *final_cap)
{
    struct reply *r = reply_of(final_cap);
    if (r->caller)
        ipc_wake_with_error(r->caller, BK_ERR_CANCELLED);
}
