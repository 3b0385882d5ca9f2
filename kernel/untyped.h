/*
 * Untyped memory: the only source of kernel objects. See untyped.c.
 */
#pragma once

#include "cap.h"
#include "cdt.h"
#include "errors.h"
#include "types.h"

/*
 * How far the destination check of one Retype call got, kept from one
 * kernel entry to the next (a thread's, thread.h): the check looks at
 * RETYPE_CHECK_STEP slots a step and stops once an interrupt is pending
 * (untyped.c). The call is known by its untyped, first slot and count,
 * compared and never followed, so a stale record costs nothing: the next
 * call that is not the same starts the check again.
 */
struct retype_check {
    const struct cte *untyped, *dest;
    size_t count;
    size_t checked; /* dest[0 .. checked) were found empty */
};

/*
 * Carves `count` objects of `type` out of the untyped cap in `untyped` and
 * puts caps to them into the empty slots dest[0 .. count-1] (consecutive
 * slots of one CNode: cnode_slot_range() finds them), as children of the
 * untyped's slot. `size_arg` is the size argument of object_size_bits().
 *
 * Checks, in order, each with nothing changed on failure:
 *   not an untyped cap .............................. KERR_INVALID_CAPABILITY
 *   a copy of an untyped cap ........................ KERR_ILLEGAL_OPERATION
 *   type not retypable .............................. KERR_INVALID_ARGUMENT
 *   size_arg outside the type's range ............... KERR_RANGE (bounds in *info)
 *   device memory into anything but FRAME, UNTYPED .. KERR_INVALID_ARGUMENT
 *   count not in [1, BK_RETYPE_MAX_OBJECTS] ......... KERR_RANGE (bounds in *info)
 *   a destination slot holds a cap .................. KERR_DELETE_FIRST
 *     (checked RETYPE_CHECK_STEP slots a step: with an interrupt pending
 *     before the end, KERR_RESTART with *made 0 and *check recording how
 *     far it got, so that the same call made again goes on from there)
 *   not enough room after the watermark, aligned .... KERR_NOT_ENOUGH_MEMORY
 *                                                     (bytes asked and left in *info)
 *
 * The memory is zeroed first, at most RETYPE_ZERO_CHUNK bytes per call:
 * until all of it is, untyped_retype_bounded() returns KERR_RESTART (the
 * syscall restarts, as Revoke does) with *made 0. Then the objects are
 * made in order; once an interrupt is pending (preempt.h) it may stop
 * after *made of them (at least one) and return KERR_RESTART: the call
 * for the rest is the one for dest + *made and count - *made, which finds
 * its memory zeroed, right after the objects made, and slots already
 * checked (*check says so). On KERR_OK *made is count; on an error, 0,
 * except for the one error a call that goes on can meet late: a slot
 * checked in an earlier entry and filled since, found as its object is
 * about to be made (KERR_DELETE_FIRST, with the objects before it made:
 * *made of them, and the cap in the slot kept).
 */
kerror_t untyped_retype_bounded(struct cte *untyped, enum cap_type type, unsigned size_arg,
                                struct cte *dest, size_t count, struct retype_check *check,
                                size_t *made, struct kerror_info *info);

/* untyped_retype_bounded() to the end (boot code and host tests). */
kerror_t untyped_retype(struct cte *untyped, enum cap_type type, unsigned size_arg,
                        struct cte *dest, size_t count, struct kerror_info *info);

/* Sets the watermark of the untyped cap in `slot`, which has no children,
 * back to 0: all of its memory is free again, none known zero (revoke
 * calls this). */
void untyped_reset(struct cte *slot);
