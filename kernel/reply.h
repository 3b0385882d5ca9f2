/*
 * Reply objects: where the answer to one saved Call goes (reply.c).
 */
#pragma once

#include <bulkhead/abi.h>

#include "cap.h"
#include "object.h"
#include "types.h"

#define OBJ_REPLY_BITS BK_REPLY_BITS

struct thread;

struct reply {
    struct kobj_header header; /* first: the object's reference count */
    /* The thread whose Call this holds (BLOCKED_REPLY, its reply_object
     * naming this), or NULL. */
    struct thread *caller;
};

_Static_assert(sizeof(struct reply) <= (1u << OBJ_REPLY_BITS), "a reply fits its object");

static inline struct reply *reply_of(const cap_t *cap)
{
    return cap_object(cap);
}

/* Answers the Call saved in the Reply object cap `cap` with t's current
 * message (send on a Reply cap); nothing if it holds none. */
void reply_send(struct thread *t, const cap_t *cap);

/* Runs when the final cap to a Reply object goes: its caller, if any, is
 * woken with CANCELLED. */
void reply_destroy(const cap_t *final_cap);
