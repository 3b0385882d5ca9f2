/*
 * CNode objects, CSpace lookup and the slot operations (see cnode.h).
 *
 * Invariants of a CNode of radix r (1 <= r <= 24):
 *  - it is 2^r slots of 64 bytes, 2^(r+6) bytes aligned to its size;
 *  - while it lives, slot 0's spare word is its object header (refs = the
 *    number of CNode caps naming it) and the other spare words are 0;
 *  - once its final cap is deleted, that cap stays in its slot as a zombie
 *    until every slot is empty (emptied a batch per kernel entry, and so
 *    are a TCB's own slots when its final cap goes; see "Zombies" below);
 *    no CNode cap names it, so no lookup can reach it meanwhile;
 *  - a CNode cap's guard_size + radix <= 64 and its guard fits guard_size;
 *  - the final cap of an endpoint or notification that threads wait on,
 *    and the last cap of a badge family of an endpoint with sends queued,
 *    stay in their slot as waiters zombies until those threads are woken,
 *    a batch per kernel entry (see "Waiters zombies" below).
 *
 * Deleting the final cap of a CNode must delete every cap inside it, and
 * those may be final caps of further CNodes (or TCBs, which hold caps
 * too), to any depth. Kernel stacks are small, so nothing recurses, and a
 * kernel entry does a bounded batch of that work: the zombies below keep
 * the progress between entries, in the objects themselves.
 *
 * A CNode holding the only cap to itself (or CNodes holding each other's
 * only caps, or a CNode holding the only cap to the thread whose CSpace
 * root it is) can no longer be reached by any lookup, and its count never
 * drops to 0 by deleting caps from outside. Such memory is not lost: the
 * cycle's caps are descendants of the untyped the objects came from, and
 * revoking that untyped deletes them, which destroys the objects, in
 * bounded batches like any other delete.
 */
#include "cnode.h"

#include "ipc.h"
#include "kernel.h"
#include "object.h"
#include "preempt.h"
#include "thread.h"
#include "untyped.h"

/* ---- Lookup ------------------------------------------------------------ */

/* Bits [shift + width - 1 : shift] of `cptr`; width 0 gives 0. */
static uint64_t cptr_bits(cptr_t cptr, unsigned shift, unsigned width)
{
    if (width == 0)
        return 0;
    uint64_t mask = width >= 64 ? ~0ull : (1ull << width) - 1;
    return (cptr >> shift) & mask;
}

static kerror_t lookup_fail(struct lookup_fault *f, enum lookup_fault_kind kind,
                            unsigned bits_left)
{
    *f = (struct lookup_fault){ .kind = kind, .bits_left = bits_left };
    return KERR_FAILED_LOOKUP;
}

/* One level of the walk: with `left` bits still to consume, the top
 * guard_size of them must equal the CNode cap's guard, and the next radix
 * bits select the slot. */
static kerror_t resolve_level(const cap_t *cn, cptr_t cptr, unsigned left, struct cte **slot,
                              struct lookup_fault *f)
{
    unsigned radix = cap_cnode_radix(cn), guard_size = cap_cnode_guard_size(cn);
    if (radix + guard_size > left) {
        lookup_fail(f, LOOKUP_FAULT_DEPTH_MISMATCH, left);
        f->bits_needed = radix + guard_size;
        return KERR_FAILED_LOOKUP;
    }
    uint64_t guard = cptr_bits(cptr, left - guard_size, guard_size);
    if (guard != cap_cnode_guard(cn)) {
        lookup_fail(f, LOOKUP_FAULT_GUARD_MISMATCH, left);
        f->guard_size = guard_size;
        f->guard_found = guard;
        f->guard_expected = cap_cnode_guard(cn);
        return KERR_FAILED_LOOKUP;
    }
    *slot = cnode_slots(cn) + cptr_bits(cptr, left - guard_size - radix, radix);
    return KERR_OK;
}

/* The walk: level after level until `depth` bits are consumed. Every level
 * consumes at least one bit (radix >= 1), so at most 64 levels, even
 * through a CNode that holds a cap to itself. With `invoked`, reaching a
 * non-empty, non-CNode slot early ends the walk successfully. */
static kerror_t resolve(const cap_t *root, cptr_t cptr, unsigned depth, bool invoked,
                        struct cte **out, struct lookup_fault *f)
{
    if (cap_type(root) != CAP_CNODE)
        return lookup_fail(f, LOOKUP_FAULT_INVALID_ROOT, depth);
    /* (The usual flat root never gets here: cnode.h's inline lookups
     * take it. The walk finds the same slot for it.) */
    const cap_t *cn = root;
    unsigned left = depth;
    for (;;) {
        struct cte *slot;
        kerror_t err = resolve_level(cn, cptr, left, &slot, f);
        if (err)
            return err;
        left -= cap_cnode_radix(cn) + cap_cnode_guard_size(cn);
        if (left == 0 || (invoked && !cap_is_null(&slot->cap) &&
                          cap_type(&slot->cap) != CAP_CNODE)) {
            *out = slot;
            return KERR_OK;
        }
        if (cap_type(&slot->cap) != CAP_CNODE)
            return lookup_fail(f, LOOKUP_FAULT_MISSING_CAPABILITY, left);
        cn = &slot->cap;
    }
}

kerror_t cspace_walk_slot(const cap_t *root, cptr_t cptr, unsigned depth, struct cte **slot,
                          struct lookup_fault *fault)
{
    if (depth < CSPACE_DEPTH_MIN || depth > CSPACE_DEPTH_MAX)
        return KERR_RANGE;
    return resolve(root, cptr, depth, false, slot, fault);
}

kerror_t cspace_walk_cap(const cap_t *root, cptr_t cptr, struct cte **slot,
                         struct lookup_fault *fault)
{
    return resolve(root, cptr, CSPACE_DEPTH_MAX, true, slot, fault);
}

kerror_t cnode_slot_range(const cap_t *cnode, uint64_t offset, uint64_t count,
                          struct cte **first, struct kerror_info *info)
{
    if (cap_type(cnode) != CAP_CNODE)
        return KERR_INVALID_CAPABILITY;
    uint64_t slots = 1ull << cap_cnode_radix(cnode);
    if (offset >= slots) {
        info->range_min = 0;
        info->range_max = slots - 1;
        return KERR_RANGE;
    }
    if (count < 1 || count > slots - offset) {
        info->range_min = 1;
        info->range_max = slots - offset;
        return KERR_RANGE;
    }
    *first = cnode_slots(cnode) + offset;
    return KERR_OK;
}

/* ---- Checks shared by the slot operations ------------------------------ */

/* Every operation filling `dest` from `src` needs a cap in src (seL4
 * reports an empty source as a failed lookup) and an empty dest. */
static kerror_t check_src_dest(const struct cte *src, const struct cte *dest,
                               struct kerror_info *info)
{
    if (cap_is_null(&src->cap)) {
        info->lookup_was_source = true;
        info->lookup = (struct lookup_fault){ .kind = LOOKUP_FAULT_MISSING_CAPABILITY };
        return KERR_FAILED_LOOKUP;
    }
    if (!cap_is_null(&dest->cap))
        return KERR_DELETE_FIRST;
    return KERR_OK;
}

/* The cap a copy or mint of `src` starts from. An untyped cap can be copied
 * only while nothing was made from it (as in seL4), so a copy never stands
 * for memory that is partly in use. */
static kerror_t derive(const struct cte *src, cap_rights_t rights, cap_t *out)
{
    if (cap_type(&src->cap) == CAP_UNTYPED && cte_has_children(src))
        return KERR_REVOKE_FIRST;
    if (!object_derive(&src->cap, out))
        return KERR_ILLEGAL_OPERATION;
    cap_mask_rights(out, rights);
    return KERR_OK;
}

/* Sets the guard of a CNode cap from a cnode_guard_data() word. */
static kerror_t set_guard(cap_t *cap, uint64_t data, struct kerror_info *info)
{
    unsigned guard_size = (unsigned)BK_CNODE_GUARD_SIZE(data);
    uint64_t guard = BK_CNODE_GUARD_VALUE(data);
    unsigned radix = cap_cnode_radix(cap);
    if (guard_size + radix > 64) {
        info->range_min = 0;
        info->range_max = 64 - radix;
        return KERR_RANGE;
    }
    /* seL4 silently drops guard bits above guard_size; a guard that does
     * not fit is almost certainly a mistake, so say so. */
    if (guard >> guard_size != 0)
        return KERR_INVALID_ARGUMENT;
    cap_cnode_set_guard(cap, guard_size, guard);
    return KERR_OK;
}

/* Applies mint's or mutate's `data` to `cap`. Mint ignores it for types
 * that carry no badge or guard (as seL4 does); mutate refuses them. */
static kerror_t apply_data(cap_t *cap, uint64_t data, bool is_mutate,
                           struct kerror_info *info)
{
    switch (cap_type(cap)) {
    case CAP_ENDPOINT:
    case CAP_NOTIFICATION:
        /* A badge, once set, is fixed: a server tells clients apart by it. */
        if (cap_badge(cap) != 0)
            return KERR_ILLEGAL_OPERATION;
        cap_set_badge(cap, data);
        return KERR_OK;
    case CAP_CNODE:
        return set_guard(cap, data, info);
    default:
        return is_mutate ? KERR_ILLEGAL_OPERATION : KERR_OK;
    }
}

/* ---- Copy, mint, move, mutate ------------------------------------------ */

static void install_derived(struct cte *src, struct cte *dest, cap_t cap)
{
    object_cap_added(&cap);
    cdt_install(dest, cap, src);
}

kerror_t cnode_copy(struct cte *src, struct cte *dest, cap_rights_t rights,
                    struct kerror_info *info)
{
    cap_t cap;
    kerror_t err = check_src_dest(src, dest, info);
    if (!err)
        err = derive(src, rights, &cap);
    if (err)
        return err;
    install_derived(src, dest, cap);
    return KERR_OK;
}

kerror_t cnode_mint(struct cte *src, struct cte *dest, cap_rights_t rights, uint64_t data,
                    struct kerror_info *info)
{
    cap_t cap;
    kerror_t err = check_src_dest(src, dest, info);
    if (!err)
        err = derive(src, rights, &cap);
    if (!err)
        err = apply_data(&cap, data, false, info);
    if (err)
        return err;
    install_derived(src, dest, cap);
    return KERR_OK;
}

static void move_slot(struct cte *src, struct cte *dest, cap_t cap)
{
    dest->cap = cap;
    cdt_move(src, dest);
    src->cap = cap_null();
}

kerror_t cnode_move(struct cte *src, struct cte *dest, struct kerror_info *info)
{
    kerror_t err = check_src_dest(src, dest, info);
    if (err)
        return err;
    /* A zombie's chain names its slot (see Zombies below). */
    if (cap_type(&src->cap) == CAP_ZOMBIE)
        return KERR_ILLEGAL_OPERATION;
    move_slot(src, dest, src->cap);
    return KERR_OK;
}

kerror_t cnode_mutate(struct cte *src, struct cte *dest, uint64_t data,
                      struct kerror_info *info)
{
    kerror_t err = check_src_dest(src, dest, info);
    if (err)
        return err;
    cap_t cap = src->cap;
    err = apply_data(&cap, data, true, info);
    if (err)
        return err;
    /* A badge set above existing copies would leave unbadged caps below a
     * badged one, against cdt.h's badge rule. */
    if (cap_is_badged(&cap) && cte_has_children(src))
        return KERR_REVOKE_FIRST;
    move_slot(src, dest, cap);
    return KERR_OK;
}

/* ---- Delete, destroy and revoke ---------------------------------------- */

/* Whether `other` (NULL: no such slot) holds `cap`'s badge to its object. */
static bool carries_badge(const struct cte *other, const cap_t *cap)
{
    return other && cap_type(&other->cap) == cap_type(cap) &&
           cap_object(&other->cap) == cap_object(cap) && cap_badge(&other->cap) == cap_badge(cap);
}

/* Whether the cap in `slot` is the last of its badge family: the caps
 * copied, directly or not, from one badged cap that Mint or Mutate made.
 * Copies are children and carry their source's badge (cdt.h's badge
 * rule), and the members of a family that are siblings are adjacent
 * (cdt.h), so a family ends with a badged cap that has no children, no
 * adjacent sibling with its badge to its object and, if it is an only
 * child, a parent without it. (A sibling lacking the badge proves the
 * parent lacks it too: every child of a badged cap carries its badge.)
 * O(1): the parent is read only from an only child, which is a first
 * child and stores it. A badge minted twice on one object makes two
 * families; the kernel does not tell them apart (docs/objects.md,
 * Badges). */
static bool ends_badge_family(const struct cte *slot)
{
    const cap_t *cap = &slot->cap;
    if (!cap_is_badged(cap) || cte_has_children(slot))
        return false;
    const struct cte *prev = cte_prev_sibling(slot), *next = cte_next_sibling(slot);
    if (prev || next)
        return !carries_badge(prev, cap) && !carries_badge(next, cap);
    return !carries_badge(cte_parent(slot), cap);
}

/* Empties a slot that holds no zombie, no final cap of an object with
 * slots and none whose deletion leaves waiters (those go through the
 * zombies below): the cap leaves the tree (its children move up), then the
 * object hears of it, and of the end of its badge family. One step: no
 * destroy hook deletes caps or wakes threads. */
static void delete_one(struct cte *slot, bool family_ends)
{
    cap_t cap = slot->cap;
    cdt_remove(slot);
    slot->cap = cap_null();
    (void)object_cap_deleted(&cap, family_ends);
}

/* Takes a zombie whose work is done out of its slot and the tree. */
static void remove_zombie(struct cte *slot)
{
    cdt_remove(slot);
    slot->cap = cap_null();
}

/* ---- Waiters zombies: threads woken across kernel entries --------------- */

/*
 * Deleting the final cap of an endpoint or notification wakes every thread
 * waiting on it, and the last cap of an endpoint's badge family cancels
 * the sends queued with its badge (object.h). A tenant decides how many
 * threads wait, so such a cap becomes a waiters zombie (cap.h) in its own
 * slot: the object hears of the deletion at once (its count drops; a
 * destroyed notification unbinds its thread), and the zombie stays in the
 * slot and in the derivation tree while the threads are woken, a batch per
 * kernel entry (each thread looked at or woken is a step of the batch),
 * the syscall restarting in between. Because it is still a descendant of
 * the object's untyped, the memory the waiting threads are linked through
 * is not reset and retyped meanwhile. It holds no caps and has no children
 * (a final cap or the last of a badge family has none), so it never joins
 * a chain: wherever a delete meets it (the slot deleted, the first child a
 * revoke deletes, the slot a zombie empties) it works on it in place and
 * the zombie goes when no thread is left. No thread can join the queue of
 * a destroyed object (no cap names it); for a badge, the walk is the
 * endpoint's (endpoint.c, Cancelling).
 */

/* Deletes the cap in `s`, which holds no slots and is no chain zombie, in
 * the step the caller counted, and wakes up to *budget of the threads its
 * deletion leaves. False while the waiters zombie it is (or became) still
 * has threads to wake. */
static bool delete_leaf(struct cte *s, unsigned *budget)
{
    if (cap_is_null(&s->cap))
        return true;
    if (cap_type(&s->cap) != CAP_ZOMBIE) {
        bool family_ends = ends_badge_family(s);
        if (!object_delete_leaves_waiters(&s->cap, family_ends)) {
            delete_one(s, family_ends);
            return true;
        }
        cap_t cap = s->cap;
        s->cap = object_waiters_zombie(&cap, object_cap_deleted(&cap, family_ends));
    }
    if (!object_wake_waiters(&s->cap, budget))
        return false;
    remove_zombie(s);
    return true;
}

/* ---- Zombies: objects with slots, emptied across kernel entries --------- */

/*
 * Two kinds of object hold caps: a CNode (2^radix slots, up to 2^24) and a
 * TCB (its CSpace root and fault endpoint, thread.h's slots[]). Deleting
 * the final cap of either must delete every cap inside, and those may be
 * final caps of further CNodes and TCBs, to any depth. So that no kernel
 * entry does more than DELETE_BATCH steps, the final cap stays in its slot
 * and in the derivation tree as a zombie (CAP_ZOMBIE, as seL4 does) while
 * the object's slots are emptied, a batch per entry, the syscall (Delete,
 * Revoke, TCB: Configure) restarting in between. No lookup passes a
 * zombie, no method, copy or move takes one, and its untyped still has a
 * descendant, so the object's memory cannot be reset and retyped while
 * its slots hold caps linked into the tree. The object counts as
 * destroyed from the start (its count is 0; a thread is stopped first, by
 * its destroy hook, so it never runs with a half-emptied CSpace); the
 * zombie goes with the last slot emptied. A zombie names its slots as a
 * table of 2^radix, says whose they are, and holds the index of the next
 * slot to empty (cap.h).
 *
 * Every delete goes this way, so no destroy hook deletes caps and nothing
 * is ever emptied at once: cnode_delete() runs the same bounded steps to
 * the end, for callers whose caps take one step.
 *
 * Chains. A final CNode or TCB cap met inside a zombie must be emptied
 * before the zombie can go on past its slot. It becomes a zombie in its own
 * slot, and the two trade places: the new one moves to the slot being
 * deleted, the top of the chain, and the one it was found in waits in the
 * slot it emptied, inside its own table (its next index points there). So
 * the top slot always holds the zombie being emptied now, and a restart
 * resumes in O(1). When the top one is done, the one waiting below moves
 * back up into the top slot and goes on past the slot it waited in. A
 * zombie met inside another (the top of a chain whose Delete stopped
 * halfway, in a CNode that then died) is handled the same way: its whole
 * chain goes on top.
 *
 * The links live in the spare words of the first two slots of each
 * zombie's table, so they stay put when its cap moves: slot 0's names the
 * slot of the zombie just below (the bottom one names the top slot
 * instead); slot 1's, in a waiting zombie, the slot of the one just above,
 * and in the top one, tagged, the slot of the bottom one. Every move
 * updates the one or two neighbours that name the slot, so everything is
 * O(1), and a revoke that meets a waiting zombie (a descendant of the
 * untyped it revokes) takes it out of its chain in O(1), its neighbours
 * joined, and empties it as a chain of its own: its table no longer holds
 * the zombies that were above it (they left when it started waiting).
 *
 * Objects that hold each other's only caps (CNodes, or a CNode and the
 * thread whose CSpace root it is) have no order that empties each before
 * its own cap goes. None of them can be reached by a lookup, so only a
 * revoke of an untyped starts on them: a zombie in its own slots is what a
 * CNode holding its only cap to itself is, and that slot is emptied last,
 * with the zombie. When the top slot lies inside the top zombie's own table
 * and zombies wait below it, the chain cannot come back up into that slot
 * (the object's memory is about to be free): its top moves down into the
 * slot the one below waits in instead, where whoever revokes the untyped
 * of any of its zombies finishes it, as before.
 */
/* Caps deleted, zombies made, moved or removed, and threads woken by a
 * waiters zombie, per kernel entry at most: fewer once an interrupt is
 * pending, as the batch then ends after the step in progress
 * (preempt.h). */
#define DELETE_BATCH 64

/* Whether deleting the cap in `slot` destroys an object that holds caps. */
static bool is_final_cap_of_slots(const struct cte *slot)
{
    enum cap_type type = cap_type(&slot->cap);
    return (type == CAP_CNODE || type == CAP_TCB) && *object_refs(&slot->cap) == 1;
}

/* Whether `slot` holds a zombie of slots (not a waiters zombie). */
static bool holds_chain_zombie(const struct cte *slot)
{
    return cap_type(&slot->cap) == CAP_ZOMBIE && !cap_zombie_is_waiters(&slot->cap);
}

static struct cte *zombie_slots(const cap_t *zombie)
{
    return cap_object(zombie);
}

static uint64_t zombie_size(const cap_t *zombie)
{
    return 1ull << cap_zombie_radix(zombie);
}

/* Link words of the zombie in `slot` (see Chains above). */
static struct cte **below_word(const struct cte *slot)
{
    return &zombie_slots(&slot->cap)[0].spare.zombie_below;
}

static struct cte *zombie_below(const struct cte *slot)
{
    return *below_word(slot);
}

static void set_below(struct cte *slot, struct cte *below)
{
    *below_word(slot) = below;
}

static void set_above(struct cte *slot, struct cte *above)
{
    zombie_slots(&slot->cap)[1].spare.zombie_link = zombie_link_above(above);
}

static void set_bottom(struct cte *slot, struct cte *bottom)
{
    zombie_slots(&slot->cap)[1].spare.zombie_link = zombie_link_top(bottom);
}

static uint64_t link_of(const struct cte *slot)
{
    return zombie_slots(&slot->cap)[1].spare.zombie_link;
}

/* Deletes the final CNode or TCB cap in `slot` as a zombie, a chain of its
 * own. Destroying the object first runs its hook: a thread stops (tcb.c). */
static void make_zombie(struct cte *slot)
{
    cap_t cap = slot->cap;
    bool is_tcb = cap_type(&cap) == CAP_TCB;
    struct cte *slots = is_tcb ? tcb_thread(&cap)->slots : cnode_slots(&cap);
    unsigned radix = is_tcb ? TCB_SLOTS_RADIX : cap_cnode_radix(&cap);
    (void)object_cap_deleted(&cap, false);
    slot->cap = cap_make_zombie(slots, radix, is_tcb);
    set_below(slot, slot); /* a CNode's count, 0 now, was there */
    set_bottom(slot, slot);
}

/* Trades the caps of `a` and `b` and their places in the tree; the spare
 * words, which belong to the slots, stay. */
static void swap_slots(struct cte *a, struct cte *b)
{
    struct cte scratch = { 0 };
    move_slot(a, &scratch, a->cap);
    move_slot(b, a, b->cap);
    move_slot(&scratch, b, scratch.cap);
}

/* The top zombie, in `top`, met the top of another chain in its slot `s`
 * (the slot its next index points at): that chain goes on top of this
 * one. The two trade places; the one from `top` waits in `s`. */
static void stack_chain(struct cte *top, struct cte *s)
{
    struct cte *my_bottom = zombie_link_slot(link_of(top));
    struct cte *their_bottom = zombie_link_slot(link_of(s));
    struct cte *mine_below = zombie_below(top) != top ? zombie_below(top) : NULL;
    struct cte *theirs_below = zombie_below(s) != s ? zombie_below(s) : NULL;
    swap_slots(top, s);
    if (mine_below)
        set_above(mine_below, s);
    if (theirs_below)
        set_above(theirs_below, top);
    /* Their bottom's below word named their top slot, s: where this one
     * waits now. */
    set_above(s, their_bottom == s ? top : their_bottom);
    set_bottom(top, my_bottom == top ? s : my_bottom);
}

/* The top zombie, in `top`, has emptied its slots and leaves. True if the
 * chain is over or moved away (`top` is empty); false if the zombie that
 * waited below came back up into `top` and goes on. */
static bool pop_zombie(struct cte *top)
{
    struct cte *slots = zombie_slots(&top->cap);
    struct cte *below = zombie_below(top), *bottom = zombie_link_slot(link_of(top));
    bool inside_itself = top >= slots && top < slots + zombie_size(&top->cap);
    slots[0].spare.raw = 0;
    slots[1].spare.raw = 0;
    remove_zombie(top);
    if (below == top)
        return true;
    if (inside_itself) {
        /* `top` is in freed memory now: the chain's top is where the
         * zombie below waits (see the cycles above). */
        set_below(bottom, below);
        set_bottom(below, bottom);
        return true;
    }
    struct cte *further = zombie_below(below) != top ? zombie_below(below) : NULL;
    move_slot(below, top, below->cap);
    cap_zombie_set_next(&top->cap, cap_zombie_next(&top->cap) + 1);
    if (further)
        set_above(further, top);
    set_bottom(top, bottom == below ? top : bottom);
    return false;
}

/* The zombie in `slot` waits in a chain: it leaves it, the zombies above
 * and below it joined, and is a chain of its own. It sits in the slot its
 * next index points at, inside its own table, so it is emptied last.
 * If it was cut out before, its top slot since was that slot of its own
 * table, so the chain's top may sit there, behind its next index, where
 * it would never be met again (and its memory freed with a chain still
 * in it): it goes back there, and meets that chain again to stack it. */
static void cut_from_chain(struct cte *slot)
{
    struct cte *above = zombie_link_slot(link_of(slot)), *below = zombie_below(slot);
    const struct cte *slots = zombie_slots(&slot->cap);
    bool bottom = zombie_link_is_top(link_of(below)); /* then below is the top */
    set_below(above, below);
    if (bottom)
        set_bottom(below, above);
    else
        set_above(below, above);
    set_below(slot, slot);
    set_bottom(slot, slot);
    if (bottom && below >= slots && (uint64_t)(below - slots) < cap_zombie_next(&slot->cap))
        cap_zombie_set_next(&slot->cap, (uint64_t)(below - slots));
}

/* One step of the top zombie, in `top`, on its slot i: the cap there
 * deleted (or made a zombie that goes on top of the chain). False if it is
 * a waiters zombie that still has threads to wake: next time, on from i. */
static bool empty_slot(struct cte *top, uint64_t i, unsigned *budget)
{
    struct cte *s = &zombie_slots(&top->cap)[i];
    if (s != top) { /* itself: emptied last, with it */
        if (is_final_cap_of_slots(s))
            make_zombie(s);
        if (holds_chain_zombie(s)) {
            stack_chain(top, s);
            return true;
        }
        if (!delete_leaf(s, budget))
            return false;
    }
    cap_zombie_set_next(&top->cap, i + 1);
    return true;
}

/* Works on the chain whose top zombie is in `top` for up to *budget steps
 * (a slot emptied, or a zombie made, stacked or gone), fewer once an
 * interrupt is pending (preempt.h). True once `top` is empty. */
static bool reduce_chain(struct cte *top, unsigned *budget)
{
    while (*budget > 0) {
        (*budget)--;
        uint64_t i = cap_zombie_next(&top->cap);
        if (i == zombie_size(&top->cap)) {
            if (pop_zombie(top))
                return true;
        } else if (!empty_slot(top, i, budget)) {
            return false;
        }
        batch_preempt(budget);
    }
    return false;
}

/* Deletes the cap in `slot` within *budget steps. False if it is (or
 * became) a zombie whose slots still hold caps: call again. */
static bool delete_bounded(struct cte *slot, unsigned *budget)
{
    if (is_final_cap_of_slots(slot))
        make_zombie(slot);
    if (!holds_chain_zombie(slot)) {
        (*budget)--;
        return delete_leaf(slot, budget);
    }
    if (!zombie_link_is_top(link_of(slot)))
        cut_from_chain(slot);
    return reduce_chain(slot, budget);
}

bool cnode_delete_bounded(struct cte *slot)
{
    unsigned budget = DELETE_BATCH;
    return delete_bounded(slot, &budget);
}

void cnode_delete(struct cte *slot)
{
    /* Kernel callers pass caps that take one step (a fault endpoint's, an
     * interrupt's notification); host tests pass anything. */
    while (!cnode_delete_bounded(slot))
        ;
}

bool cnode_delete_needs_batches(const struct cte *slot)
{
    return is_final_cap_of_slots(slot) || cap_type(&slot->cap) == CAP_ZOMBIE ||
           object_delete_leaves_waiters(&slot->cap, ends_badge_family(slot));
}

void cnode_delete_start(struct cte *slot)
{
    unsigned budget = 1;
    (void)delete_bounded(slot, &budget);
}

/*
 * Revoke deletes the first child of `root` until there is none. Each
 * delete is O(1): the deleted cap's children take its place at the head of
 * root's list (cdt.h), so they are deleted next, and every descendant is
 * deleted exactly once, top down, with no walk and no stack. A tenant
 * decides how many descendants a cap has, so one kernel entry does at
 * most DELETE_BATCH steps (a cap deleted or a zombie's slot emptied), and
 * none after one that finds an interrupt pending; then cnode_revoke()
 * returns false and the caller restarts the syscall (cnode_invoke.c): the
 * tree itself holds the progress, and interrupts and other threads get
 * their turn in between. When a deletion destroys a CNode, its emptying
 * may delete caps anywhere, root included: if root is then empty, revoke
 * is over (its remaining descendants moved up to root's parent, as any
 * delete does; a zombie among them is finished by whoever deletes or
 * revokes it next).
 */
bool cnode_revoke(struct cte *root)
{
    unsigned budget = DELETE_BATCH;
    while (budget > 0 && !cap_is_null(&root->cap) && cte_has_children(root)) {
        (void)delete_bounded(cte_first_child(root), &budget);
        batch_preempt(&budget);
    }
    if (cap_is_null(&root->cap))
        return true;
    if (cte_has_children(root))
        return false;
    if (cap_type(&root->cap) == CAP_UNTYPED)
        untyped_reset(root);
    return true;
}

BOOT_CODE void cnode_boot_install(struct cte *slot, cap_t cap)
{
    cdt_install(slot, cap, NULL);
}
